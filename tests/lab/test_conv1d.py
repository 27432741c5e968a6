"""conv1d: the slide from the NumPy engine's trace equals torch's conv1d in float64, the output
length formula matches torch for padding/stride/dilation, top windows are true maxima, and the
untrained control runs on the model's own initial weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnlab.data import get_dataset
from cnnlab.errors import ConfigError, ShapeError
from cnnlab.lab.conv1d import (
    Conv1dParams,
    make_cnn1d,
    measure,
    rise_kernel,
    series_tensors,
    top_windows,
)
from cnnlab.lab.registry import get
from cnnlab.train.tensors import Preprocess


def _slide(**kw: object):
    return measure(Conv1dParams(train=False, **kw))  # type: ignore[arg-type]


def test_rise_kernel_is_linspace() -> None:
    assert np.allclose(rise_kernel(5), [-1.0, -0.5, 0.0, 0.5, 1.0])
    up = np.arange(5.0)
    assert float(rise_kernel(5) @ up) > 0 > float(rise_kernel(5) @ up[::-1])


@pytest.mark.parametrize(
    ("padding", "stride", "dilation", "k"), [(0, 1, 1, 5), (2, 2, 1, 5), (3, 1, 2, 4), (1, 3, 3, 3)]
)
def test_slide_equals_torch_in_float64(padding: int, stride: int, dilation: int, k: int) -> None:
    n = _slide(index=3, kernel_size=k, padding=padding, stride=stride, dilation=dilation, bias=-0.3)
    x = get_dataset("mnist1d", train=True).series[3, 0].astype(np.float64)  # (L,)
    assert np.array_equal(n.series, x)
    ref = F.conv1d(
        torch.from_numpy(x)[None, None],
        torch.from_numpy(rise_kernel(k))[None, None],
        torch.tensor([-0.3], dtype=torch.float64),
        stride,
        padding,
        dilation,
    )[0, 0].numpy()
    assert n.output.shape == ref.shape == (n.out_length,)
    assert np.abs(n.output - ref).max() < 1e-12 and n.max_diff_torch < 1e-12
    # every step: window × kernel, summed, plus bias = the output cell
    assert np.allclose(n.products, n.windows * n.kernel[None, :], atol=0)
    assert np.allclose(np.asarray(n.sums) + n.bias, n.output, atol=1e-12)
    # window j starts at j·stride − padding; padded cells hold 0
    padded = np.pad(x, padding)
    for j in range(n.out_length):
        assert n.starts[j] == j * stride - padding
        cols = j * stride + dilation * np.arange(k)
        assert np.array_equal(n.windows[j], padded[cols])
    assert n.out_formula.endswith(f"= {n.out_length}")


def test_length_table_matches_torch() -> None:
    n = _slide(kernel_size=5)
    got = {(s.padding, s.stride, s.dilation): (s.out, s.torch_out) for s in n.settings}
    assert got[(0, 1, 1)] == (36, 36)
    assert got[(2, 1, 1)] == (40, 40)  # 'same' for k = 5
    assert got[(0, 2, 1)] == (18, 18)
    assert got[(0, 1, 2)] == (32, 32)  # span 2·4 + 1 = 9
    assert all(s.out == s.torch_out for s in n.settings)


def test_errors_name_the_value() -> None:
    with pytest.raises(ConfigError, match=r"'mnist-sample' holds images, not series.*mnist1d"):
        _slide(dataset="mnist-sample")
    with pytest.raises(ConfigError, match=r"index = 4000 is out of range; valid: 0\.\.3999"):
        _slide(index=4000)
    with pytest.raises(ConfigError, match=r"channel = 1 is out of range; valid: 0\.\.0"):
        _slide(channel=1)
    with pytest.raises(ShapeError, match=r"Kernel too large: the kernel spans 113 cells"):
        _slide(kernel_size=15, dilation=8)
    with pytest.raises(ConfigError, match=r"kernel_size = 16 is out of range"):
        get("conv1d").make_params(kernel_size=16)


def test_top_windows_are_the_maxima() -> None:
    torch.manual_seed(0)
    model = make_cnn1d(1, 10, 3, 40).eval()
    x, _ = series_tensors(get_dataset("mnist1d", train=False), 50, "n_test")  # (50, 1, 1, 40)
    pre = Preprocess([0.1], [2.0])
    kernels, windows, series, starts = top_windows(model, pre, x)
    xs = pre.apply(x)[:, 0, 0].double()  # (N, L) standardised
    layers = list(model.features)  # ([ConstantPad1d,] Conv1d, BatchNorm1d, ReLU, …)
    ci = next(i for i, layer in enumerate(layers) if isinstance(layer, torch.nn.Conv1d))
    w = layers[ci].weight.detach()[:, 0].double()  # (3, 7)
    bn = layers[ci + 1]
    gamma = bn.weight.detach().double()
    assert np.allclose(kernels, (w * gamma.sign()[:, None]).numpy())
    with torch.no_grad():
        act = F.relu(bn.eval()(F.conv1d(xs[:, None].float(), w[:, None].float(), padding=3)))
    for ch in range(3):
        n, s = series[ch], starts[ch]
        assert float(act[n, ch, s + 3]) == pytest.approx(float(act[:, ch].max()))
        idx = np.arange(s, s + 7)
        inside = (idx >= 0) & (idx < 40)
        assert np.allclose(windows[ch][inside], xs[n, idx[inside]].numpy(), atol=1e-6)
        assert np.all(windows[ch][~inside] == 0)


def test_learned_control_uses_the_initial_weights() -> None:
    params = Conv1dParams(n_train=300, n_test=100, epochs=1, channels=3, seed=5)
    n = measure(params)
    le = n.learned
    assert le is not None and le.channels == 3 and le.kernel == 7 and le.n_search == 100
    torch.manual_seed(5)
    initial = make_cnn1d(1, 10, 3, 40)
    conv = next(m for m in initial.modules() if isinstance(m, torch.nn.Conv1d))
    w0 = conv.weight.detach()[:, 0].double().numpy()  # BN γ = 1 at init
    assert np.allclose(le.kernels_untrained, w0)
    assert not np.allclose(le.kernels, w0)  # training moved them
    diff = np.asarray(le.cosine_trained) - np.asarray(le.cosine_untrained)
    assert le.difference == pytest.approx(float(diff.mean()))
    assert 0 < le.p_value <= 1
