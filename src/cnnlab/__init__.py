"""cnnlab — a hands-on CNN laboratory.

Every idea of a CNN lecture (convolution, stride, padding, pooling, weight sharing, receptive
fields, translation invariance, CNN vs fully connected) as a runnable, measured, visible
experiment — each one measure → explain → draw (:mod:`cnnlab.lab`) — in Korean and English, on
PyTorch, with a from-scratch NumPy engine that agrees with it (:mod:`cnnlab.engine`).

The top-level package stays import-light (no torch) so the CLI starts instantly.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
