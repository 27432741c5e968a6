"""cnnlab — a hands-on CNN laboratory.

Every idea of a CNN lecture (convolution, stride, padding, pooling, weight sharing, receptive fields,
translation invariance, 1-D convolution) as a runnable, measured, visible experiment, in Korean and
English, on PyTorch — with a from-scratch NumPy engine that agrees with it.

The top-level package stays import-light (no torch) so the CLI starts instantly.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
