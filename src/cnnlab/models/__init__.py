"""PyTorch models of the lecture: the padding pair, SimpleCNN, MLP, LocallyConnected2d + LCNet,
GAPNet.

``build(name, **kw)`` (``cnn|mlp|lc|gap|classic``) is the registry every face uses. Each model's
module docstring gives its shapes ``(N, C, H, W)`` and its parameter count by formula; the matching
``*_params`` functions compute that formula and the tests check it against ``sum(p.numel())``.
"""

from cnnlab.models.classic import ClassicNet, classic_net_params
from cnnlab.models.gap import GAPNet, gap_net_params
from cnnlab.models.locally_connected import (
    LCNet,
    LocallyConnected2d,
    lc_net_params,
    locally_connected_params,
)
from cnnlab.models.mlp import MLP, mlp_params
from cnnlab.models.padding_pair import CNN_NoPadding, CNN_WithPadding, padding_pair_params
from cnnlab.models.registry import (
    MODELS,
    ModelSpec,
    build,
    build_from_spec,
    count_params,
    names,
    num_params,
)
from cnnlab.models.simple_cnn import SimpleCNN, simple_cnn_params

__all__ = [
    "CNN_NoPadding",
    "CNN_WithPadding",
    "padding_pair_params",
    "SimpleCNN",
    "simple_cnn_params",
    "MLP",
    "mlp_params",
    "LocallyConnected2d",
    "LCNet",
    "locally_connected_params",
    "lc_net_params",
    "GAPNet",
    "gap_net_params",
    "ClassicNet",
    "classic_net_params",
    "MODELS",
    "ModelSpec",
    "build",
    "build_from_spec",
    "count_params",
    "names",
    "num_params",
]
