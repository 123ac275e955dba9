"""Numba kernels for 2-D convolution, max-pooling and the RMSprop update.

The public functions have the signatures of their counterparts in `reference.py` and
are tested against them. Each one checks its arguments, allocates the outputs and
hands the loops to a compiled ``_..._loops`` function. Numba does not check array
bounds, so the shape checks here are what keeps a wrong call from reading or writing
outside an array.

Every compiled loop runs in parallel over the batch only. Each sample's outputs are
then written by one thread, always in the same order, so the results are bitwise
identical from run to run and for any number of threads. The kernel gradient, which
sums over the batch, is accumulated per sample and the partial sums are added up
afterwards in batch order.

The innermost loops run over the channel axis, which is contiguous in the
``(N, H, W, C)`` and ``(f_h, f_w, C_in, C_out)`` layouts, so LLVM can vectorise them.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from convnet_from_scratch.reference import check_pool_pads
from convnet_from_scratch.shapes import padded_output_size

# An AVX2 register contains 8 float32 values. Below that many input channels, a loop
# over them cannot fill one register, so dx is computed with the sum over output
# channels innermost instead.
_MIN_VECTOR_CHANNELS = 8

# Convolution


# TODO: keep a tile of outputs in registers across the sum over (a, b, c). Each term
# now loads and stores out[n, i, j, :], so a 32 -> 64 channel 2x2 layer on a batch
# of 32 took about 3x as long as tf.nn.conv2d in TensorFlow 2.21 (35 ms against
# 10 ms of time.process_time, one thread each, on an AVX2 AMD EPYC).
@njit(parallel=True, cache=True)
def _conv2d_forward_loops(x, kernel, bias, s_h, s_w, top, left, out):
    n_batch, h, w, c_in = x.shape
    f_h, f_w, _, c_out = kernel.shape
    _, h_out, w_out, _ = out.shape
    for n in prange(n_batch):
        for i in range(h_out):
            for j in range(w_out):
                for k in range(c_out):
                    out[n, i, j, k] = bias[k]
                for a in range(f_h):
                    row = i * s_h - top + a
                    if row < 0 or row >= h:
                        continue
                    for b in range(f_w):
                        col = j * s_w - left + b
                        if col < 0 or col >= w:
                            continue
                        for c in range(c_in):
                            value = x[n, row, col, c]
                            for k in range(c_out):
                                out[n, i, j, k] += value * kernel[a, b, c, k]


@njit(parallel=True, cache=True)
def _conv2d_input_grad_loops(grad_out, kernel_t, s_h, s_w, top, left, dx):
    # kernel_t is the kernel as (f_h, f_w, C_out, C_in), so the innermost loop reads
    # it along its contiguous last axis.
    n_batch, h, w, c_in = dx.shape
    f_h, f_w, c_out, _ = kernel_t.shape
    _, h_out, w_out, _ = grad_out.shape
    for n in prange(n_batch):
        for i in range(h_out):
            for j in range(w_out):
                for a in range(f_h):
                    row = i * s_h - top + a
                    if row < 0 or row >= h:
                        continue
                    for b in range(f_w):
                        col = j * s_w - left + b
                        if col < 0 or col >= w:
                            continue
                        for k in range(c_out):
                            g = grad_out[n, i, j, k]
                            for c in range(c_in):
                                dx[n, row, col, c] += g * kernel_t[a, b, k, c]


# Reassociation lets LLVM vectorise the sum over output channels. The order of the
# additions is then fixed at compile time, so results still repeat bitwise.
@njit(parallel=True, cache=True, fastmath={"reassoc", "contract"})
def _conv2d_input_grad_few_channels_loops(grad_out, kernel, s_h, s_w, top, left, dx):
    n_batch, h, w, c_in = dx.shape
    f_h, f_w, _, c_out = kernel.shape
    _, h_out, w_out, _ = grad_out.shape
    for n in prange(n_batch):
        for i in range(h_out):
            for j in range(w_out):
                for a in range(f_h):
                    row = i * s_h - top + a
                    if row < 0 or row >= h:
                        continue
                    for b in range(f_w):
                        col = j * s_w - left + b
                        if col < 0 or col >= w:
                            continue
                        for c in range(c_in):
                            total = grad_out[n, i, j, 0] * kernel[a, b, c, 0]
                            for k in range(1, c_out):
                                total += grad_out[n, i, j, k] * kernel[a, b, c, k]
                            dx[n, row, col, c] += total


@njit(parallel=True, cache=True)
def _conv2d_weight_grad_loops(
    grad_out, x, s_h, s_w, top, left, dkernel_parts, dbias_parts
):
    n_batch, h, w, c_in = x.shape
    _, f_h, f_w, _, c_out = dkernel_parts.shape
    _, h_out, w_out, _ = grad_out.shape
    for n in prange(n_batch):
        for i in range(h_out):
            for j in range(w_out):
                for k in range(c_out):
                    dbias_parts[n, k] += grad_out[n, i, j, k]
        for a in range(f_h):
            for b in range(f_w):
                for i in range(h_out):
                    row = i * s_h - top + a
                    if row < 0 or row >= h:
                        continue
                    for j in range(w_out):
                        col = j * s_w - left + b
                        if col < 0 or col >= w:
                            continue
                        for c in range(c_in):
                            value = x[n, row, col, c]
                            for k in range(c_out):
                                dkernel_parts[n, a, b, c, k] += (
                                    value * grad_out[n, i, j, k]
                                )


def _check_conv_arrays(x, kernel, strides, pads):
    if x.ndim != 4 or kernel.ndim != 4:
        raise ValueError(
            "Expected x of shape (N, H, W, C_in) and kernel of shape "
            f"(f_h, f_w, C_in, C_out). Received x.shape={x.shape} and "
            f"kernel.shape={kernel.shape}."
        )
    if kernel.shape[2] != x.shape[3]:
        raise ValueError(
            f"The kernel expects {kernel.shape[2]} input channels but x has "
            f"{x.shape[3]}. Received x.shape={x.shape} and kernel.shape={kernel.shape}."
        )
    if min(strides) < 1 or min(pads) < 0:
        raise ValueError(
            "Expected positive strides and non-negative pads. "
            f"Received strides={tuple(strides)} and pads={tuple(pads)}."
        )


def _forward_arrays(x, kernel, bias, strides, pads):
    """Check the forward arrays; return them contiguous in the dtype of ``x``."""
    x = np.ascontiguousarray(x)
    kernel = np.ascontiguousarray(kernel, dtype=x.dtype)
    bias = np.ascontiguousarray(bias, dtype=x.dtype)
    _check_conv_arrays(x, kernel, strides, pads)
    if bias.shape != (kernel.shape[3],):
        raise ValueError(
            f"Expected bias of shape ({kernel.shape[3]},), one value per output "
            f"channel. Received bias.shape={bias.shape}."
        )
    return x, kernel, bias


def _conv_output_hw(x_shape, window, strides, pads):
    top, bottom, left, right = pads
    h_out = padded_output_size(x_shape[1], window[0], strides[0], top, bottom)
    w_out = padded_output_size(x_shape[2], window[1], strides[1], left, right)
    return h_out, w_out


def conv2d_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray,
    strides: tuple[int, int],
    pads: tuple[int, int, int, int],
) -> np.ndarray:
    """Convolve a batch of images with a bank of kernels (Numba).

    Same contract as `convnet_from_scratch.reference.conv2d_forward`: ``x`` of shape
    ``(N, H, W, C_in)``, ``kernel`` ``(f_h, f_w, C_in, C_out)``, ``bias`` ``(C_out,)``,
    ``strides`` ``(s_h, s_w)``, ``pads`` ``(top, bottom, left, right)``. Returns
    ``(N, H_out, W_out, C_out)`` in the dtype of ``x``.
    """
    x, kernel, bias = _forward_arrays(x, kernel, bias, strides, pads)
    h_out, w_out = _conv_output_hw(x.shape, kernel.shape[:2], strides, pads)

    out = np.empty((x.shape[0], h_out, w_out, kernel.shape[3]), dtype=x.dtype)
    s_h, s_w = strides
    _conv2d_forward_loops(x, kernel, bias, s_h, s_w, pads[0], pads[2], out)
    return out


def conv2d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    kernel: np.ndarray,
    strides: tuple[int, int],
    pads: tuple[int, int, int, int],
    input_grad: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Return ``(dx, dkernel, dbias)`` of a convolution (Numba).

    Same contract as `convnet_from_scratch.reference.conv2d_backward`. ``dkernel`` is
    summed over the batch from per-sample partial sums, in batch order, so it does not
    depend on the number of threads. With ``input_grad=False``, ``dx`` is not computed
    and None is returned in its place: a network's first layer has no use for it.
    """
    x = np.ascontiguousarray(x)
    kernel = np.ascontiguousarray(kernel, dtype=x.dtype)
    grad_out = np.ascontiguousarray(grad_out, dtype=x.dtype)
    _check_conv_arrays(x, kernel, strides, pads)
    h_out, w_out = _conv_output_hw(x.shape, kernel.shape[:2], strides, pads)
    expected = (x.shape[0], h_out, w_out, kernel.shape[3])
    if grad_out.shape != expected:
        raise ValueError(
            f"Expected grad_out of shape {expected}, the shape of the forward output. "
            f"Received grad_out.shape={grad_out.shape}."
        )

    s_h, s_w = strides
    top, left = pads[0], pads[2]
    dx = None
    if input_grad:
        dx = np.zeros_like(x)
        if x.shape[3] < _MIN_VECTOR_CHANNELS:
            _conv2d_input_grad_few_channels_loops(
                grad_out, kernel, s_h, s_w, top, left, dx
            )
        else:
            kernel_t = np.ascontiguousarray(kernel.transpose(0, 1, 3, 2))
            _conv2d_input_grad_loops(grad_out, kernel_t, s_h, s_w, top, left, dx)

    n_batch = x.shape[0]
    dkernel_parts = np.zeros((n_batch,) + kernel.shape, dtype=x.dtype)
    dbias_parts = np.zeros((n_batch, kernel.shape[3]), dtype=x.dtype)
    _conv2d_weight_grad_loops(
        grad_out, x, s_h, s_w, top, left, dkernel_parts, dbias_parts
    )
    # NumPy's sum runs on one thread, so the order of these additions does not
    # depend on how many threads Numba used above.
    return dx, dkernel_parts.sum(axis=0), dbias_parts.sum(axis=0)


# Max-pooling


@njit(parallel=True, cache=True)
def _max_pool2d_forward_loops(x, f_h, f_w, s_h, s_w, top, left, out, argmax):
    n_batch, h, w, channels = x.shape
    _, h_out, w_out, _ = out.shape
    for n in prange(n_batch):
        for i in range(h_out):
            row_start = i * s_h - top
            row_lo = max(row_start, 0)
            row_hi = min(row_start + f_h, h)
            for j in range(w_out):
                col_start = j * s_w - left
                col_lo = max(col_start, 0)
                col_hi = min(col_start + f_w, w)
                for k in range(channels):
                    out[n, i, j, k] = x[n, row_lo, col_lo, k]
                    argmax[n, i, j, k] = row_lo * w + col_lo
                # Scanning in row-major order and replacing only on a strictly
                # greater value keeps the first of tied maxima, as TensorFlow does.
                for row in range(row_lo, row_hi):
                    for col in range(col_lo, col_hi):
                        for k in range(channels):
                            value = x[n, row, col, k]
                            if value > out[n, i, j, k]:
                                out[n, i, j, k] = value
                                argmax[n, i, j, k] = row * w + col


@njit(parallel=True, cache=True)
def _max_pool2d_backward_loops(grad_out, argmax, dx):
    n_batch, _, w, channels = dx.shape
    _, h_out, w_out, _ = grad_out.shape
    for n in prange(n_batch):
        for i in range(h_out):
            for j in range(w_out):
                for k in range(channels):
                    index = argmax[n, i, j, k]
                    dx[n, index // w, index % w, k] += grad_out[n, i, j, k]


def max_pool2d_forward(
    x: np.ndarray,
    pool_size: tuple[int, int],
    strides: tuple[int, int],
    pads: tuple[int, int, int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Take the maximum of each pooling window (Numba).

    Same contract as `convnet_from_scratch.reference.max_pool2d_forward`, including
    the tie rule: the first maximum in row-major order wins. Returns
    ``(out, argmax)``, both of shape ``(N, H_out, W_out, C)``.
    """
    x = np.ascontiguousarray(x)
    if x.ndim != 4:
        raise ValueError(
            f"Expected x of shape (N, H, W, C). Received x.shape={x.shape}."
        )
    if min(strides) < 1:
        raise ValueError(
            f"Expected positive strides. Received strides={tuple(strides)}."
        )
    check_pool_pads(pool_size, pads)
    h_out, w_out = _conv_output_hw(x.shape, pool_size, strides, pads)

    shape = (x.shape[0], h_out, w_out, x.shape[3])
    out = np.empty(shape, dtype=x.dtype)
    argmax = np.empty(shape, dtype=np.int64)
    f_h, f_w = pool_size
    s_h, s_w = strides
    _max_pool2d_forward_loops(x, f_h, f_w, s_h, s_w, pads[0], pads[2], out, argmax)
    return out, argmax


def max_pool2d_backward(
    grad_out: np.ndarray, argmax: np.ndarray, input_shape: tuple[int, ...]
) -> np.ndarray:
    """Send each window's gradient to the input element that won it (Numba).

    Same contract as `convnet_from_scratch.reference.max_pool2d_backward`.
    """
    grad_out = np.ascontiguousarray(grad_out)
    argmax = np.ascontiguousarray(argmax, dtype=np.int64)
    n, h, w, c = input_shape
    if argmax.shape != grad_out.shape or argmax.ndim != 4:
        raise ValueError(
            "Expected grad_out and argmax of the same shape (N, H_out, W_out, C). "
            f"Received grad_out.shape={grad_out.shape} and argmax.shape={argmax.shape}."
        )
    if (grad_out.shape[0], grad_out.shape[3]) != (n, c):
        raise ValueError(
            f"Expected grad_out with the batch size and channels of input_shape="
            f"{tuple(input_shape)}. Received grad_out.shape={grad_out.shape}."
        )
    if argmax.size and (argmax.min() < 0 or argmax.max() >= h * w):
        raise ValueError(
            f"Expected argmax values in [0, {h * w}), flat indices into an input of "
            f"height {h} and width {w}. Received values from {argmax.min()} to "
            f"{argmax.max()}."
        )

    dx = np.zeros((n, h, w, c), dtype=grad_out.dtype)
    _max_pool2d_backward_loops(grad_out, argmax, dx)
    return dx


# Convolution, ReLU and max-pooling in one pass
#
# A Conv2D -> ReLU -> MaxPool2D stack with non-overlapping 'valid' pooling windows
# does not need its two large intermediate arrays. The forward pass computes the
# convolution outputs of one pooling window at a time and keeps only their maximum;
# ReLU commutes with the maximum, so it is applied once to the pooled value. Backward,
# only the winning element of each window receives a gradient, and only where ReLU
# let it through, so the loops visit one conv output in every window instead of all.

# Conv outputs computed together in the fused forward pass. Each kernel value is loaded
# once for all of them; a 2x2 pooling window is exactly one group.
_GROUP = 4


def _window_cells(pool_size):
    """Return the row and column offsets of each cell of a pooling window.

    Cells are numbered in row-major order. The kernels look the offsets up instead
    of dividing, which costs more than the arithmetic of a few input channels.
    """
    rows, cols = np.divmod(np.arange(pool_size[0] * pool_size[1]), pool_size[1])
    return rows.astype(np.int64), cols.astype(np.int64)


@njit(parallel=True, cache=True)
def _conv2d_relu_max_pool2d_forward_loops(
    xp_rows,
    kernel_rows,
    c_in,
    bias,
    s_h,
    s_w,
    p_h,
    p_w,
    cell_rows,
    cell_cols,
    out,
    store_argmax,
    argmax,
):
    # xp_rows is the input with its padding already added, so no window reads outside
    # it, and with each image row flattened to (W_p * C_in). One row of a window,
    # xp[n, r, j:j + f_w, :], is then the contiguous xp_rows[n, r, o:o + f_w * C_in],
    # and kernel_rows (f_h, f_w * C_in, C_out) is the kernel flattened the same way.
    n_batch, _, row_len = xp_rows.shape
    w_padded = row_len // c_in
    f_h, span, c_out = kernel_rows.shape
    _, h_pool, w_pool, _ = out.shape
    cells = p_h * p_w
    span_even = span - span % 2
    for n in prange(n_batch):
        acc = np.empty((_GROUP, c_out), dtype=out.dtype)
        best = np.empty(c_out, dtype=out.dtype)
        where = np.empty(c_out, dtype=argmax.dtype)
        for pool_i in range(h_pool):
            for pool_j in range(w_pool):
                for first in range(0, cells, _GROUP):
                    last = min(first + _GROUP, cells) - 1
                    # Slots past the window's last cell repeat it and are ignored.
                    top_i, left_j = pool_i * p_h, pool_j * p_w
                    cell1, cell2 = min(first + 1, last), min(first + 2, last)
                    i0, j0 = top_i + cell_rows[first], left_j + cell_cols[first]
                    i1, j1 = top_i + cell_rows[cell1], left_j + cell_cols[cell1]
                    i2, j2 = top_i + cell_rows[cell2], left_j + cell_cols[cell2]
                    i3, j3 = top_i + cell_rows[last], left_j + cell_cols[last]
                    for q in range(_GROUP):
                        for k in range(c_out):
                            acc[q, k] = bias[k]
                    for a in range(f_h):
                        r0, o0 = i0 * s_h + a, j0 * s_w * c_in
                        r1, o1 = i1 * s_h + a, j1 * s_w * c_in
                        r2, o2 = i2 * s_h + a, j2 * s_w * c_in
                        r3, o3 = i3 * s_h + a, j3 * s_w * c_in
                        # LLVM keeps acc in memory, because Numba's arrays may alias,
                        # so stores limit this loop. Two terms per load and store of
                        # acc halve the stores. The sum keeps its left-to-right order,
                        # so the result is bitwise that of one term at a time. The
                        # second block of the blog's model went from 19-20 ms to
                        # 15-16 ms (best of 15, one thread); four terms were no faster.
                        for t in range(0, span_even, 2):
                            x0, y0 = xp_rows[n, r0, o0 + t], xp_rows[n, r0, o0 + t + 1]
                            x1, y1 = xp_rows[n, r1, o1 + t], xp_rows[n, r1, o1 + t + 1]
                            x2, y2 = xp_rows[n, r2, o2 + t], xp_rows[n, r2, o2 + t + 1]
                            x3, y3 = xp_rows[n, r3, o3 + t], xp_rows[n, r3, o3 + t + 1]
                            for k in range(c_out):
                                weight = kernel_rows[a, t, k]
                                next_weight = kernel_rows[a, t + 1, k]
                                acc[0, k] = acc[0, k] + x0 * weight + y0 * next_weight
                                acc[1, k] = acc[1, k] + x1 * weight + y1 * next_weight
                                acc[2, k] = acc[2, k] + x2 * weight + y2 * next_weight
                                acc[3, k] = acc[3, k] + x3 * weight + y3 * next_weight
                        for t in range(span_even, span):
                            x0, x1 = xp_rows[n, r0, o0 + t], xp_rows[n, r1, o1 + t]
                            x2, x3 = xp_rows[n, r2, o2 + t], xp_rows[n, r3, o3 + t]
                            for k in range(c_out):
                                weight = kernel_rows[a, t, k]
                                acc[0, k] += x0 * weight
                                acc[1, k] += x1 * weight
                                acc[2, k] += x2 * weight
                                acc[3, k] += x3 * weight

                    # Cells come in row-major order and only a strictly greater value
                    # replaces the maximum, so the first of tied maxima wins. Selects
                    # instead of branches let these loops vectorise.
                    for q in range(last - first + 1):
                        i = top_i + cell_rows[first + q]
                        j = left_j + cell_cols[first + q]
                        corner = i * s_h * w_padded + j * s_w
                        if first + q == 0:
                            for k in range(c_out):
                                best[k] = acc[q, k]
                                where[k] = corner
                        else:
                            for k in range(c_out):
                                better = acc[q, k] > best[k]
                                best[k] = acc[q, k] if better else best[k]
                                where[k] = corner if better else where[k]
                for k in range(c_out):
                    out[n, pool_i, pool_j, k] = max(best[k], 0.0)
                if store_argmax:
                    for k in range(c_out):
                        argmax[n, pool_i, pool_j, k] = where[k]


@njit(parallel=True, cache=True)
def _conv2d_relu_max_pool2d_backward_loops(
    grad_out,
    out,
    argmax,
    xp_rows,
    w_padded,
    c_in,
    kernel_t,
    input_grad,
    dxp_rows,
    dkernel_t_parts,
    dbias_parts,
):
    # The padded input and its gradient come flattened to (N, H_p * W_p * C_in).
    # argmax is a flat offset into the (H_p, W_p) grid, so a window row starts at
    # (argmax + a * W_p) * C_in without dividing, and its f_w pixels follow
    # contiguously. kernel_t and dkernel_t_parts are laid out (f_h, C_out,
    # f_w * C_in) to match, so each innermost loop covers a whole window row.
    n_batch, h_pool, w_pool, c_out = grad_out.shape
    f_h, _, span = kernel_t.shape
    row_len = w_padded * c_in
    for n in prange(n_batch):
        for pool_i in range(h_pool):
            for pool_j in range(w_pool):
                for k in range(c_out):
                    # ReLU passed no gradient where the pooled value is not positive.
                    if not out[n, pool_i, pool_j, k] > 0:
                        continue
                    g = grad_out[n, pool_i, pool_j, k]
                    corner = argmax[n, pool_i, pool_j, k]
                    dbias_parts[n, k] += g
                    for a in range(f_h):
                        # Unsigned offsets spare Numba's check for negative indices,
                        # which kept LLVM from vectorising these loops (3x slower).
                        start = np.uint64(corner * c_in + a * row_len)
                        for t in range(np.uint64(span)):
                            dkernel_t_parts[n, a, k, t] += g * xp_rows[n, start + t]
                        if input_grad:
                            for t in range(np.uint64(span)):
                                dxp_rows[n, start + t] += g * kernel_t[a, k, t]


@njit(parallel=True, cache=True, fastmath={"reassoc", "contract"})
def _conv2d_relu_max_pool2d_backward_few_channels_loops(
    grad_out,
    out,
    argmax,
    xp_flat,
    w_padded,
    kernel,
    s_h,
    s_w,
    p_h,
    p_w,
    cell_rows,
    cell_cols,
    input_grad,
    dxp_flat,
    dkernel_parts,
    dbias_parts,
):
    # With few input channels a loop over them is too short to vectorise, so this
    # variant runs the innermost loops over the output channels instead. It visits
    # every cell of each pooling window and masks the channels that cell did not
    # win. Reassociation lets LLVM vectorise the sum over output channels for dx;
    # its order is fixed at compile time, so results still repeat bitwise.
    n_batch, h_pool, w_pool, c_out = grad_out.shape
    f_h, f_w, c_in, _ = kernel.shape
    for n in prange(n_batch):
        g = np.empty(c_out, dtype=grad_out.dtype)
        for pool_i in range(h_pool):
            for pool_j in range(w_pool):
                for cell in range(p_h * p_w):
                    i = pool_i * p_h + cell_rows[cell]
                    j = pool_j * p_w + cell_cols[cell]
                    corner = i * s_h * w_padded + j * s_w
                    for k in range(c_out):
                        # `&`, not `and`: no branch, so the loop vectorises.
                        won = (argmax[n, pool_i, pool_j, k] == corner) & (
                            out[n, pool_i, pool_j, k] > 0
                        )
                        g[k] = grad_out[n, pool_i, pool_j, k] if won else 0.0
                        dbias_parts[n, k] += g[k]
                    for a in range(f_h):
                        for b in range(f_w):
                            index = corner + a * w_padded + b
                            for c in range(c_in):
                                value = xp_flat[n, index, c]
                                for k in range(c_out):
                                    dkernel_parts[n, a, b, c, k] += value * g[k]
                            if input_grad:
                                for c in range(c_in):
                                    total = 0.0
                                    for k in range(c_out):
                                        total += g[k] * kernel[a, b, c, k]
                                    dxp_flat[n, index, c] += total


def _pad_input(x, pads):
    top, bottom, left, right = pads
    if not any(pads):
        return x
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))


def _fused_geometry(x_shape, kernel_shape, strides, pads, pool_size):
    """Return ``(H_conv, W_conv, H_pool, W_pool)``, checking the pooling window."""
    h_conv, w_conv = _conv_output_hw(x_shape, kernel_shape[:2], strides, pads)
    p_h, p_w = pool_size
    if min(pool_size) < 1:
        raise ValueError(
            f"Expected a positive pool_size. Received pool_size={tuple(pool_size)}."
        )
    h_pool = padded_output_size(h_conv, p_h, p_h, 0, 0)
    w_pool = padded_output_size(w_conv, p_w, p_w, 0, 0)
    return h_conv, w_conv, h_pool, w_pool


def conv2d_relu_max_pool2d_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray,
    strides: tuple[int, int],
    pads: tuple[int, int, int, int],
    pool_size: tuple[int, int],
    return_argmax: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Convolve, apply ReLU and max-pool in one pass (Numba).

    Equal, up to float rounding, to ``max_pool2d_forward(relu(conv2d_forward(x,
    kernel, bias, strides, pads)), pool_size, pool_size, (0, 0, 0, 0))[0]``: pooling
    windows of ``pool_size`` that do not overlap and 'valid' padding. The convolution
    output is never stored.

    Parameters
    ----------
    x, kernel, bias, strides, pads
        As in `conv2d_forward`: ``x`` of shape ``(N, H, W, C_in)``, ``kernel``
        ``(f_h, f_w, C_in, C_out)``.
    pool_size : (int, int)
        Pooling window ``(p_h, p_w)``, which is also the pooling stride.
    return_argmax : bool, default=True
        False skips writing ``argmax``, which only the backward pass reads and which
        is as large as ``out``, and returns None in its place.

    Returns
    -------
    out : ndarray of shape (N, H_pool, W_pool, C_out)
        ``H_pool = floor(H_conv / p_h)`` with ``H_conv`` the convolution's output
        height, and likewise ``W_pool``.
    argmax : ndarray of shape (N, H_pool, W_pool, C_out), int32
        The input window of the conv output that won each pooling window, the
        first in row-major order among ties. It is given as the flat index
        ``r * W_padded + c`` of the window's top-left corner in the padded input,
        whose width is ``W_padded = W + left + right``. Where ``out`` is 0 it may
        name any cell of the pooling window, because ReLU then passes no gradient.
    """
    x, kernel, bias = _forward_arrays(x, kernel, bias, strides, pads)
    _, _, h_pool, w_pool = _fused_geometry(
        x.shape, kernel.shape, strides, pads, pool_size
    )

    shape = (x.shape[0], h_pool, w_pool, kernel.shape[3])
    out = np.empty(shape, dtype=x.dtype)
    argmax = np.empty(shape if return_argmax else (1, 1, 1, 1), dtype=np.int32)
    s_h, s_w = strides
    p_h, p_w = pool_size
    xp = _pad_input(x, pads)
    f_h, f_w, c_in, c_out = kernel.shape
    _conv2d_relu_max_pool2d_forward_loops(
        xp.reshape(xp.shape[0], xp.shape[1], -1),
        kernel.reshape(f_h, f_w * c_in, c_out),
        c_in,
        bias,
        s_h,
        s_w,
        p_h,
        p_w,
        *_window_cells(pool_size),
        out,
        return_argmax,
        argmax,
    )
    return out, (argmax if return_argmax else None)


def conv2d_relu_max_pool2d_backward(
    grad_out: np.ndarray,
    out: np.ndarray,
    argmax: np.ndarray,
    x: np.ndarray,
    kernel: np.ndarray,
    strides: tuple[int, int],
    pads: tuple[int, int, int, int],
    pool_size: tuple[int, int],
    input_grad: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Return ``(dx, dkernel, dbias)`` of `conv2d_relu_max_pool2d_forward` (Numba).

    ``out`` and ``argmax`` are what the forward pass returned for ``x``, ``kernel``
    and the same ``strides``, ``pads`` and ``pool_size``; ``grad_out`` has their
    shape. Each window sends its gradient to the
    conv output named by ``argmax`` if ``out`` is positive there, and from it back
    along the kernel, as `conv2d_backward` would with a gradient that is zero
    everywhere else. ``dkernel`` and ``dbias`` are summed from per-sample parts in
    batch order, so they do not depend on the number of threads. With
    ``input_grad=False``, ``dx`` is None.
    """
    x = np.ascontiguousarray(x)
    kernel = np.ascontiguousarray(kernel, dtype=x.dtype)
    grad_out = np.ascontiguousarray(grad_out, dtype=x.dtype)
    out = np.ascontiguousarray(out, dtype=x.dtype)
    argmax = np.ascontiguousarray(argmax, dtype=np.int32)
    _check_conv_arrays(x, kernel, strides, pads)
    h_conv, w_conv, h_pool, w_pool = _fused_geometry(
        x.shape, kernel.shape, strides, pads, pool_size
    )
    top, bottom, left, right = pads
    h_padded, w_padded = x.shape[1] + top + bottom, x.shape[2] + left + right
    # The last corner a window can have, the one of the last conv output.
    last_corner = (h_conv - 1) * strides[0] * w_padded + (w_conv - 1) * strides[1]
    if grad_out.shape != out.shape or argmax.shape != out.shape:
        raise ValueError(
            "Expected grad_out, out and argmax of the same shape (N, H_pool, W_pool, "
            f"C_out). Received grad_out.shape={grad_out.shape}, out.shape={out.shape} "
            f"and argmax.shape={argmax.shape}."
        )
    expected = (x.shape[0], h_pool, w_pool, kernel.shape[3])
    if out.shape != expected:
        raise ValueError(
            f"Expected out of shape {expected}, the forward output for x, kernel "
            f"and pool_size. Received out.shape={out.shape}."
        )
    if argmax.size and (argmax.min() < 0 or argmax.max() > last_corner):
        raise ValueError(
            f"Expected argmax values in [0, {last_corner}], window corners in the "
            f"padded {h_padded}x{w_padded} input. Received values from "
            f"{argmax.min()} to {argmax.max()}."
        )

    n_batch, _, _, c_in = x.shape
    xp_flat = _pad_input(x, pads).reshape(n_batch, h_padded * w_padded, c_in)
    dxp_flat = np.zeros_like(xp_flat) if input_grad else np.zeros((1, 1, 1), x.dtype)
    dbias_parts = np.zeros((n_batch, kernel.shape[3]), dtype=x.dtype)
    if c_in < _MIN_VECTOR_CHANNELS:
        dkernel_parts = np.zeros((n_batch,) + kernel.shape, dtype=x.dtype)
        _conv2d_relu_max_pool2d_backward_few_channels_loops(
            grad_out,
            out,
            argmax,
            xp_flat,
            w_padded,
            kernel,
            *strides,
            *pool_size,
            *_window_cells(pool_size),
            input_grad,
            dxp_flat,
            dkernel_parts,
            dbias_parts,
        )
        # NumPy's sum runs on one thread, in batch order.
        dkernel = dkernel_parts.sum(axis=0)
    else:
        f_h, f_w, _, c_out = kernel.shape
        # (f_h, C_out, f_w * C_in): one window row of one output channel is contiguous.
        kernel_t = np.ascontiguousarray(kernel.transpose(0, 3, 1, 2)).reshape(
            f_h, c_out, f_w * c_in
        )
        dkernel_t_parts = np.zeros((n_batch,) + kernel_t.shape, dtype=x.dtype)
        _conv2d_relu_max_pool2d_backward_loops(
            grad_out,
            out,
            argmax,
            xp_flat.reshape(n_batch, -1),
            w_padded,
            c_in,
            kernel_t,
            input_grad,
            dxp_flat.reshape(dxp_flat.shape[0], -1),
            dkernel_t_parts,
            dbias_parts,
        )
        dkernel_t = dkernel_t_parts.sum(axis=0).reshape(f_h, c_out, f_w, c_in)
        dkernel = np.ascontiguousarray(dkernel_t.transpose(0, 2, 3, 1))
    dx = None
    if input_grad:
        dxp = dxp_flat.reshape(n_batch, h_padded, w_padded, c_in)
        dx = np.ascontiguousarray(
            dxp[:, top : top + x.shape[1], left : left + x.shape[2]]
        )
    return dx, dkernel, dbias_parts.sum(axis=0)


# Optimizer updates


@njit(parallel=True, cache=True)
def _rmsprop_loops(value, grad, velocity, learning_rate, rho, one_minus_rho, epsilon):
    # The same operations in the same order as RMSprop's NumPy update, each rounded
    # to the arrays' dtype, so both give bitwise the same result. With range in
    # place of prange the loop took 4.2 ms against 0.26 ms for 1.3 million weights,
    # more than one thread fewer explains, likely because only the parallel loop
    # was vectorised (the assembly was not compared).
    for i in prange(value.size):
        v = rho * velocity[i] + one_minus_rho * (grad[i] * grad[i])
        velocity[i] = v
        value[i] -= learning_rate * grad[i] / np.sqrt(v + epsilon)


def rmsprop_update(
    value: np.ndarray,
    grad: np.ndarray,
    velocity: np.ndarray,
    learning_rate: float,
    rho: float,
    epsilon: float,
) -> None:
    """Apply one RMSprop step to ``value`` and ``velocity`` in place (Numba).

    ``velocity = rho * velocity + (1 - rho) * grad**2`` and then
    ``value -= learning_rate * grad / sqrt(velocity + epsilon)``. The three arrays
    must have the same shape and dtype and be C-contiguous, because the loop writes
    through flat views of them. The scalars are rounded to that dtype first, as
    NumPy does when it mixes a Python float with a float32 array.
    """
    arrays = {"value": value, "grad": grad, "velocity": velocity}
    for name, array in arrays.items():
        if array.shape != value.shape or array.dtype != value.dtype:
            raise ValueError(
                "Expected value, grad and velocity of the same shape and dtype. "
                f"Received {name} of shape {array.shape} and dtype {array.dtype}, "
                f"value of shape {value.shape} and dtype {value.dtype}."
            )
        if not array.flags.c_contiguous:
            raise ValueError(f"Expected a C-contiguous {name} array.")
    scalar = value.dtype.type
    _rmsprop_loops(
        value.reshape(-1),
        grad.reshape(-1),
        velocity.reshape(-1),
        scalar(learning_rate),
        scalar(rho),
        scalar(1.0 - rho),
        scalar(epsilon),
    )
