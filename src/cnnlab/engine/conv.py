"""Convolution (PyTorch's cross-correlation): ``conv2d``/``conv1d`` and their backward passes.

"Slide the kernel, multiply overlapping elements, add them up" — for every output cell::

    y[n, o, i, j] = b[o] + sum_{c, a, b'} x_pad[n, c, i*sH + a*dH, j*sW + b'*dW] * w[o, c, a, b']

(``torch.nn.Conv2d`` docs). Shapes and argument order are PyTorch's: ``x (N, C_in, H, W)``,
``weight (C_out, C_in, kH, kW)``, ``bias (C_out,)``. The literal loop is in
:mod:`cnnlab.engine.reference`; this module is the fast path, checked against it and against torch.

Fast path (im2col + BLAS GEMMs):

* forward — gather every window into a matrix ``cols (N*Ho*Wo, kH*kW*C_in)`` from a channels-last
  strided view, multiply by the weight matrix ``(kH*kW*C_in, C_out)``. The matrix is built and
  multiplied a block of samples at a time (``CHUNK_BYTES``), so each GEMM reads it from cache. For
  inputs with few channels the transposed, cell-major matrix ``(C_in*kH*kW, Ho*Wo*N)`` instead,
  batch innermost (see ``CELL_MAJOR_MAX_CHANNELS``);
* weight grad — the same ``cols`` (transposed) times the output gradient, block by block, the
  blocks' products summed;
* input grad — one GEMM per kernel cell ``(a, b)``: ``g @ w[:, :, a, b]`` added into the strided
  slice of the padded input that cell touched. ``kH*kW`` dense slice-adds replace col2im's
  per-element scatter (``np.add.at``), and no ``kH*kW*C``-wide matrix is ever materialised. With
  few input channels (the cell-major layout), one GEMM gives all cells' contributions and the adds
  run batch-last, over whole output rows of the batch. With stride 1 and enough input channels
  (``FULL_CORRELATION_MIN_CHANNELS``) ``dx`` is instead the full correlation of ``g`` with the
  flipped kernel, through the forward's blocked im2col + GEMM.

Results are returned as NCHW views over the layout their path computes in — channels-last
``(N, Ho, Wo, C)`` or batch-last ``(C, Ho, Wo, N)`` memory. Pooling and ReLU keep the memory order
of their input, so in a network of few-channel convolutions (LeNet) every layer's input arrives
batch-last and the next conv's ``transpose`` to that layout is free.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from cnnlab.engine.windows import (
    Geometry,
    IntPair,
    Padding,
    args_2d,
    as_2d,
    check_float,
    check_ndim,
    geometry,
    pad_chwn,
    pad_nhwc,
    windows_chwn,
    windows_nhwc,
)
from cnnlab.errors import ShapeError

# Inputs with at most this many channels (grayscale, RGB, LeNet's 6) use the cell-major window
# matrix, batch innermost. Copying windows — and adding the input gradient back — is bound by the
# length of the innermost contiguous run: channels-last gives runs of C_in floats (1 for MNIST:
# 2.4 ms for LeNet's first layer at batch 64), a batch-first cell-major matrix runs of one output
# row (Wo floats: 0.4 ms), batch-last runs of an output row of the whole batch (Wo*N floats).
# Measured against channels-last, forward + backward at batch 64, NCHW arrays in and out: 4 channels
# (3x3) 2.3 vs 3.2 ms; LeNet's 6 (5x5) 5.0 vs 5.9 ms in benchmarks/engine_vs_torch.py, and 13.2 vs
# 15.4 ms for a whole LeNet training step, where its input arrives batch-last and the forward's
# window matrix is kept; 7 and 8 channels (5x5) slower, 7.1 vs 5.9 and 7.9 vs 5.4 ms. (A bare loop
# of conv2d + conv2d_backward on one NCHW batch measured LeNet's 6 at 6.6 vs 4.8 ms: its multi-MB
# temporaries, freed and mapped again each call, page-fault — 2.1 vs 2.4 ms with glibc's mmap
# threshold raised.)
CELL_MAJOR_MAX_CHANNELS = 6
# Bytes of window matrix built at a time (see _window_blocks): about what L2 holds, so the GEMM
# reads the block the copy has just written from cache.
CHUNK_BYTES = 1 << 20
# Stride-1 input gradients of layers with at least this many input channels are computed as a full
# correlation (_input_grad_full_correlation): its GEMM is C_in wide. Measured against the per-cell
# GEMMs: the benchmark layer (C_in = 32) 0.78-0.83x, the conv1d case (16) 1.1x, LeNet's second
# layer (6) 1.5x.
FULL_CORRELATION_MIN_CHANNELS = 32


def conv2d_geometry(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    op: str = "conv2d",
) -> Geometry:
    """Validate ``x (N, C_in, H, W)``, ``weight (C_out, C_in, kH, kW)``, ``bias`` and the
    hyperparameters; return the geometry. Shared by the fast path, the loop and the trace."""
    check_ndim(op, "input", x, 4, "(N, C_in, H, W)")
    check_ndim(op, "weight", weight, 4, "(C_out, C_in, kH, kW)")
    _check_channels(op, x, weight, bias)
    return geometry(op, x.shape[2:], weight.shape[2:], stride, padding, dilation)


def _check_channels(op: str, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> None:
    """dtype, ``x.shape[1] == weight.shape[1]`` and ``bias (C_out,)``, in the caller's shapes."""
    check_float("input", x)
    check_float("weight", weight)
    if x.shape[1] != weight.shape[1]:
        raise ShapeError(
            "engine.channel_mismatch",
            op=op,
            c_in=x.shape[1],
            w_in=weight.shape[1],
            x_shape=tuple(x.shape),
            w_shape=tuple(weight.shape),
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ShapeError("engine.bias_shape", op=op, shape=tuple(bias.shape), c_out=weight.shape[0])


def _chunk_size(n: int, sample_bytes: int) -> int:
    """How many samples of the batch one window-matrix block holds (``CHUNK_BYTES``, at least 1)."""
    return max(1, min(n, CHUNK_BYTES // max(1, sample_bytes)))


def _window_blocks(win: np.ndarray, dtype: np.dtype) -> Iterator[tuple[int, int, np.ndarray]]:
    """im2col in cache-sized blocks of the batch: yields ``(lo, hi, cols)`` with ``cols`` the window
    matrix of samples ``lo:hi``, ``((hi-lo)*Ho*Wo, kH*kW*C_in)``.

    ``win`` is the ``(N, Ho, Wo, kH, kW, C)`` view of :func:`windows_nhwc`. Every block is copied
    into the same buffer — valid until the next block — so the GEMM that consumes it reads from
    cache rather than from a matrix of the whole batch in memory (benchmark layer: forward 9.9 ms →
    7.9 ms, weight gradient 11.5 ms → 9.0 ms).
    """
    n = win.shape[0]
    per_sample = win[0].size
    b = _chunk_size(n, per_sample * dtype.itemsize)
    buf = np.empty((b, *win.shape[1:]), dtype=dtype)
    rows = win.shape[1] * win.shape[2]
    for lo in range(0, n, b):
        hi = min(n, lo + b)
        part = buf[: hi - lo]
        np.copyto(part, win[lo:hi])
        yield lo, hi, part.reshape((hi - lo) * rows, -1)


def _correlate(
    xp: np.ndarray, weight: np.ndarray, geo: Geometry, bias: np.ndarray | None = None
) -> np.ndarray:
    """im2col + GEMM on a padded channels-last input, block by block of the batch.

    ``xp (N, Hp, Wp, C_in)``, ``weight (C_out, C_in, kH, kW)`` → ``(N, Ho, Wo, C_out)``; ``bias``
    is added to each block while it is in cache.
    """
    n = xp.shape[0]
    c_out = weight.shape[0]
    ho, wo = geo.out
    dtype = np.result_type(xp, weight)
    # (kH*kW*C_in, C_out), rows in the window matrix's order
    w_t = weight.transpose(0, 2, 3, 1).reshape(c_out, -1).T.astype(dtype, copy=False)
    out = np.empty((n * ho * wo, c_out), dtype=dtype)
    for lo, hi, cols in _window_blocks(windows_nhwc(xp, geo), dtype):
        block = out[lo * ho * wo : hi * ho * wo]
        np.matmul(cols, w_t, out=block)
        if bias is not None:
            block += bias  # broadcasts over the last (channel) axis
    return out.reshape(n, ho, wo, c_out)


def conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
) -> np.ndarray:
    """2-D convolution as ``torch.nn.functional.conv2d`` (no groups).

    ``x (N, C_in, H, W)``, ``weight (C_out, C_in, kH, kW)``, ``bias (C_out,)`` or None →
    ``(N, C_out, Ho, Wo)`` with ``Ho = (H + 2*pH - dH*(kH-1) - 1) // sH + 1``.
    ``padding`` is an int, a pair, ``'same'`` (stride 1 only) or ``'valid'``.
    """
    return conv2d_with_windows(x, weight, bias, stride, padding, dilation)[0]


def conv2d_with_windows(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`conv2d`, and the window matrix it built when the backward can reuse it, else None.

    For inputs with few channels (``CELL_MAJOR_MAX_CHANNELS``) the forward builds the whole
    cell-major window matrix; a layer that keeps it and passes it to
    ``conv2d_backward(..., windows=...)`` for the same ``x`` saves the backward building it again
    (LeNet's first layer: 0.5-0.7 ms a step, a 5 MB copy). Otherwise the windows are built in
    blocks and not kept: None.
    """
    geo = conv2d_geometry(x, weight, bias, stride, padding, dilation)
    if x.shape[1] <= CELL_MAJOR_MAX_CHANNELS:
        n, c_out, (ho, wo) = x.shape[0], weight.shape[0], geo.out
        cols = _cols_cell_major(x, geo)  # (C_in*kH*kW, Ho*Wo*N)
        out: np.ndarray = weight.reshape(c_out, -1) @ cols  # (C_out, Ho*Wo*N)
        if bias is not None:
            out += bias[:, None]
        return out.reshape(c_out, ho, wo, n).transpose(3, 0, 1, 2), cols  # (N, C_out, Ho, Wo)
    out = _correlate(pad_nhwc(x, geo.pads), weight, geo, bias)  # (N, Ho, Wo, C_out)
    return out.transpose(0, 3, 1, 2), None  # (N, C_out, Ho, Wo), a view


def _cols_cell_major(x: np.ndarray, geo: Geometry) -> np.ndarray:
    """The window matrix transposed, ``(C_in*kH*kW, Ho*Wo*N)``: rows in ``weight.reshape`` order,
    columns batch innermost."""
    return windows_chwn(pad_chwn(x, geo.pads), geo).reshape(
        x.shape[1] * geo.kernel[0] * geo.kernel[1], -1
    )


def conv2d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    weight: np.ndarray,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    input_grad: bool = True,
    *,
    windows: np.ndarray | None = None,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients of :func:`conv2d` given ``grad_out = dL/dy`` ``(N, C_out, Ho, Wo)``.

    Returns ``(dx (N, C_in, H, W), dweight (C_out, C_in, kH, kW), dbias (C_out,))``. The bias
    gradient is always returned; ignore it for a bias-free layer. ``input_grad=False`` skips ``dx``
    (returned as None) — a network's first layer needs no gradient for the images, as torch skips
    it for inputs without ``requires_grad``. ``windows`` is what :func:`conv2d_with_windows`
    returned for this ``x`` (or None: built here when needed).

    * ``dbias[o] = sum_{n,i,j} g[n, o, i, j]``
    * ``dweight[o, c, a, b] = sum_{n,i,j} g[n, o, i, j] * x_pad[n, c, i*sH + a*dH, j*sW + b*dW]``
      — the forward's window matrix times ``g``: one GEMM per block of samples.
    * ``dx`` — the transposed convolution described in the module docstring.
    """
    geo = conv2d_geometry(x, weight, None, stride, padding, dilation)
    n, c_in, h, w = x.shape
    c_out = weight.shape[0]
    ho, wo = geo.out
    if grad_out.shape != (n, c_out, ho, wo):
        raise ShapeError(
            "engine.grad_shape",
            op="conv2d",
            shape=tuple(grad_out.shape),
            expected=(n, c_out, ho, wo),
        )
    if c_in <= CELL_MAJOR_MAX_CHANNELS:
        # Batch-last, as the forward computed it: then this is a view, not a copy.
        g_cm = np.ascontiguousarray(grad_out.transpose(1, 2, 3, 0)).reshape(c_out, -1)
        dbias = g_cm.sum(axis=1)  # (C_out,)
        # (C_in*kH*kW, C_out) = cols @ g^T, transposed: the long Ho*Wo*N axis is contiguous in
        # both operands in this order (LeNet conv1: 1.37 ms → 0.83 ms against g @ cols^T).
        cols = windows if windows is not None else _cols_cell_major(x, geo)
        dweight = (cols @ g_cm.T).T.reshape(weight.shape)
        if not input_grad:
            return None, dweight, dbias
        dx_cm = _input_grad_cell_major(g_cm, weight, geo, (n, h, w))  # (C_in, H, W, N)
        return dx_cm.transpose(3, 0, 1, 2), dweight, dbias
    else:
        # One channels-last copy of g serves the bias, the weight and the input gradients. (The
        # gradient a layer above hands back is often already a view of channels-last memory:
        # then this is free.)
        g = np.ascontiguousarray(grad_out.transpose(0, 2, 3, 1))  # (N, Ho, Wo, C_out)
        g_mat = g.reshape(-1, c_out)
        # A column sum as a matrix-vector product: BLAS, 4-5x faster than sum(axis=0) here.
        dbias = np.ones(g_mat.shape[0], dtype=g_mat.dtype) @ g_mat
        dweight = _weight_grad(g_mat, x, weight, geo)

    if not input_grad:
        return None, dweight, dbias
    if _full_correlation_fits(geo, c_in):
        dx = _input_grad_full_correlation(g, weight, geo, (h, w))  # (N, H, W, C_in)
    else:
        dx = _conv2d_input_grad(g, weight, geo, (h, w))
    return dx.transpose(0, 3, 1, 2), dweight, dbias


def _full_correlation_fits(geo: Geometry, c_in: int) -> bool:
    """Whether ``dx`` is computed as a full correlation (see :func:`_input_grad_full_correlation`):
    stride 1, padding within the kernel's span, and at least ``FULL_CORRELATION_MIN_CHANNELS``
    input channels — the GEMM's width."""
    if geo.stride != (1, 1) or c_in < FULL_CORRELATION_MIN_CHANNELS:
        return False
    return all(p <= s - 1 for pads, s in zip(geo.pads, geo.span) for p in pads)


def _input_grad_full_correlation(
    g: np.ndarray, weight: np.ndarray, geo: Geometry, size: tuple[int, int]
) -> np.ndarray:
    """``dx`` channels-last for stride 1: ``g (N, Ho, Wo, C_out)`` → ``(N, H, W, C_in)``.

    With stride 1 the input gradient is itself a convolution: ``g`` zero-padded by
    ``span - 1 - pad`` on each side, correlated with the kernel flipped in both axes and its channel
    axes swapped (``w'[c, o, a, b] = w[o, c, kH-1-a, kW-1-b]``, same dilation). That runs through
    the forward's blocked im2col + GEMM — one GEMM of depth ``kH*kW*C_out`` per block instead of
    ``kH*kW`` thin GEMMs and strided adds (benchmark layer: 0.78-0.83x the time of
    :func:`_conv2d_input_grad`). With few input channels the GEMM is too thin to gain:
    ``FULL_CORRELATION_MIN_CHANNELS``.
    """
    n, ho, wo, c_out = g.shape
    (span_h, span_w), ((top, bottom), (left, right)) = geo.span, geo.pads
    pt, pb, pl, pr = span_h - 1 - top, span_h - 1 - bottom, span_w - 1 - left, span_w - 1 - right
    gp = np.zeros((n, ho + pt + pb, wo + pl + pr, c_out), dtype=g.dtype)
    gp[:, pt : pt + ho, pl : pl + wo, :] = g
    flipped = weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C_in, C_out, kH, kW)
    full = Geometry(gp.shape[1:3], geo.kernel, (1, 1), geo.dilation, ((0, 0), (0, 0)), size)
    return _correlate(gp, flipped, full)


def _weight_grad(g_mat: np.ndarray, x: np.ndarray, weight: np.ndarray, geo: Geometry) -> np.ndarray:
    """``dweight (C_out, C_in, kH, kW)`` from ``g_mat (N*Ho*Wo, C_out)``: the window matrix
    transposed times ``g``, summed over blocks of the batch (one small GEMM per block, its
    window block still in cache)."""
    c_out, c_in, kh, kw = weight.shape
    ho, wo = geo.out
    dtype = np.result_type(x, weight, g_mat)
    win = windows_nhwc(pad_nhwc(x, geo.pads), geo)
    blocks = -(-x.shape[0] // _chunk_size(x.shape[0], win[0].size * dtype.itemsize))
    parts = np.empty((blocks, kh * kw * c_in, c_out), dtype=dtype)
    for i, (lo, hi, cols) in enumerate(_window_blocks(win, dtype)):
        np.matmul(cols.T, g_mat[lo * ho * wo : hi * ho * wo], out=parts[i])
    dw = parts.sum(axis=0) if blocks > 1 else parts[0]  # (kH*kW*C_in, C_out)
    return np.ascontiguousarray(dw.reshape(kh, kw, c_in, c_out).transpose(3, 2, 0, 1))


def _conv2d_input_grad(
    g: np.ndarray, weight: np.ndarray, geo: Geometry, size: tuple[int, int]
) -> np.ndarray:
    """``dx`` channels-last: ``g (N, Ho, Wo, C_out)`` → ``(N, H, W, C_in)``.

    The chain rule read backwards: kernel cell ``(a, b)`` multiplied input cell
    ``(i*sH + a*dH, j*sW + b*dW)`` into output ``(i, j)``, so it sends
    ``g[:, i, j] @ w[:, :, a, b]`` back there. One GEMM per kernel cell, accumulated into a strided
    slice of the padded gradient; then the padding is cut off. The loop runs over the ``kH*kW``
    kernel cells, never over pixels.

    Why not a transposed convolution (correlate the zero-stuffed, padded ``g`` with the flipped
    kernel)? Same FLOPs, but its im2col matrix is ``kH*kW*C_out`` wide — for the benchmark layer a
    29 MB copy — and it measured 7.7 ms against 4.8 ms for this form.
    """
    n, ho, wo, c_out = g.shape
    c_in = weight.shape[1]
    hp, wp = geo.padded_size
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    g_mat = g.reshape(-1, c_out)  # (N*Ho*Wo, C_out)
    dxp = np.zeros((n, hp, wp, c_in), dtype=g.dtype)  # gradient of the padded input
    # One buffer for every cell's product: a fresh multi-MB array per GEMM costs page faults
    # (measured 11.4 ms → 7.6 ms for the benchmark layer).
    contrib = np.empty((n * ho * wo, c_in), dtype=np.result_type(g, weight))
    # (kH, kW, C_out, C_in): each cell's matrix contiguous, which BLAS reads faster than a strided
    # slice of the weight (9 GEMMs: 6.9 ms → 6.4 ms for the benchmark layer).
    cells = np.ascontiguousarray(weight.transpose(2, 3, 0, 1))
    for a in range(geo.kernel[0]):
        for b in range(geo.kernel[1]):
            np.matmul(g_mat, cells[a, b], out=contrib)  # (N*Ho*Wo, C_in)
            rows = slice(a * dh, a * dh + sh * (ho - 1) + 1, sh)
            cols = slice(b * dw, b * dw + sw * (wo - 1) + 1, sw)
            dxp[:, rows, cols, :] += contrib.reshape(n, ho, wo, c_in)
    (top, _), (left, _) = geo.pads
    return dxp[:, top : top + size[0], left : left + size[1], :]


def _input_grad_cell_major(
    g_cm: np.ndarray, weight: np.ndarray, geo: Geometry, size: tuple[int, int, int]
) -> np.ndarray:
    """``dx`` batch-last for inputs with few channels: ``g_cm (C_out, Ho*Wo*N)`` →
    ``(C_in, H, W, N)``.

    One GEMM gives every kernel cell's contribution at once, ``w^T @ g`` ``(C_in*kH*kW, Ho*Wo*N)``
    (a matrix as small as the cell-major window matrix, since ``C_in`` is small); each cell's block
    is then added into the strided slice of the padded input it touched. With the batch innermost
    an add runs over whole output rows of the batch (``Wo*N`` floats for stride 1): LeNet's second
    layer 2.4 ms → 1.3 ms against 25 thin channels-last GEMMs, whose adds move ``C_in`` floats at a
    time, and against a batch-first layout (runs of ``Wo`` floats).
    """
    n, h, w = size
    c_out, c_in, kh, kw = weight.shape
    ho, wo = geo.out
    hp, wp = geo.padded_size
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    contrib = (weight.reshape(c_out, -1).T @ g_cm).reshape(c_in, kh, kw, ho, wo, n)
    dxp = np.zeros((c_in, hp, wp, n), dtype=contrib.dtype)
    for a in range(kh):
        for b in range(kw):
            rows = slice(a * dh, a * dh + sh * (ho - 1) + 1, sh)
            cols = slice(b * dw, b * dw + sw * (wo - 1) + 1, sw)
            dxp[:, rows, cols, :] += contrib[:, a, b]
    (top, _), (left, _) = geo.pads
    return dxp[:, top : top + h, left : left + w, :]


def _conv1d_args(
    x: np.ndarray,
    weight: np.ndarray,
    stride: IntPair,
    padding: Padding,
    dilation: IntPair,
    bias: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple[int, int], Padding, tuple[int, int]]:
    """Map conv1d arguments onto conv2d with a height of 1 (``(N, C, L)`` → ``(N, C, 1, L)``)."""
    check_ndim("conv1d", "input", x, 3, "(N, C_in, L)")
    check_ndim("conv1d", "weight", weight, 3, "(C_out, C_in, k)")
    _check_channels("conv1d", x, weight, bias)
    a = args_2d(weight.shape[-1], stride, padding, dilation)
    return as_2d(x), as_2d(weight), a.stride, a.padding, a.dilation


def conv1d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
) -> np.ndarray:
    """1-D convolution as ``torch.nn.functional.conv1d``: ``x (N, C_in, L)``,
    ``weight (C_out, C_in, k)`` → ``(N, C_out, L_out)``,
    ``L_out = (L + 2p - d*(k-1) - 1) // s + 1``."""
    x2, w2, s2, p2, d2 = _conv1d_args(x, weight, stride, padding, dilation, bias)
    return conv2d(x2, w2, bias, s2, p2, d2)[:, :, 0, :]


def conv1d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    weight: np.ndarray,
    stride: IntPair = 1,
    padding: Padding = 0,
    dilation: IntPair = 1,
    input_grad: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients of :func:`conv1d`:
    ``(dx (N, C_in, L), dweight (C_out, C_in, k), dbias (C_out,))``."""
    x2, w2, s2, p2, d2 = _conv1d_args(x, weight, stride, padding, dilation)
    dx, dw, db = conv2d_backward(as_2d(grad_out), x2, w2, s2, p2, d2, input_grad)
    return (dx[:, :, 0, :] if dx is not None else None), dw[:, :, 0, :], db


__all__ = [
    "conv2d",
    "conv2d_with_windows",
    "conv2d_backward",
    "conv1d",
    "conv1d_backward",
    "conv2d_geometry",
]
