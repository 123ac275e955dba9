"""NumPy reference kernels for 2-D convolution and max-pooling.

Each function loops over the output positions and does the arithmetic of one position
at a time, vectorised over the batch and the channels, so the code reads like the
formula in its docstring. The Numba kernels in `kernels.py` have the same signatures
and are tested against these.

Layout is channels last: inputs ``(N, H, W, C)``, convolution kernels
``(f_h, f_w, C_in, C_out)``. ``strides`` is ``(s_h, s_w)`` and ``pads`` is
``(top, bottom, left, right)``, the number of zero rows or columns on each side. The
arithmetic runs in the dtype of ``x`` (float32 or float64).
"""

from __future__ import annotations

import numpy as np

from convnet_from_scratch.shapes import padded_output_size


def conv2d_forward(
    x: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray,
    strides: tuple[int, int],
    pads: tuple[int, int, int, int],
) -> np.ndarray:
    """Convolve a batch of images with a bank of kernels.

    As in Keras and TensorFlow, "convolution" here is cross-correlation (the kernel is
    not flipped). With ``xp`` the zero-padded input::

        out[n, i, j, k] = bias[k]
            + sum over a, b, c of xp[n, i*s_h + a, j*s_w + b, c] * kernel[a, b, c, k]

    Parameters
    ----------
    x : ndarray of shape (N, H, W, C_in)
        Input images.
    kernel : ndarray of shape (f_h, f_w, C_in, C_out)
        Kernel weights.
    bias : ndarray of shape (C_out,)
        One bias per output channel.
    strides : (int, int)
        Step between window positions, ``(s_h, s_w)``.
    pads : (int, int, int, int)
        Zero rows or columns added ``(top, bottom, left, right)``.

    Returns
    -------
    out : ndarray of shape (N, H_out, W_out, C_out)
        ``H_out = 1 + floor((H + top + bottom - f_h) / s_h)``, and likewise ``W_out``.
    """
    kernel = np.asarray(kernel, dtype=x.dtype)
    bias = np.asarray(bias, dtype=x.dtype)
    n, h, w, _ = x.shape
    f_h, f_w, _, c_out = kernel.shape
    s_h, s_w = strides
    top, bottom, left, right = pads
    h_out = padded_output_size(h, f_h, s_h, top, bottom)
    w_out = padded_output_size(w, f_w, s_w, left, right)
    x_pad = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))

    out = np.empty((n, h_out, w_out, c_out), dtype=x.dtype)
    for i in range(h_out):
        for j in range(w_out):
            window = x_pad[:, i * s_h : i * s_h + f_h, j * s_w : j * s_w + f_w, :]
            # (N, f_h, f_w, C_in) . (f_h, f_w, C_in, C_out) -> (N, C_out)
            out[:, i, j, :] = np.tensordot(window, kernel, axes=3) + bias
    return out


def conv2d_backward(
    grad_out: np.ndarray,
    x: np.ndarray,
    kernel: np.ndarray,
    strides: tuple[int, int],
    pads: tuple[int, int, int, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the gradients of a convolution with respect to its input and weights.

    Every output position ``(i, j)`` saw one window of the padded input, so it sends
    ``grad_out[:, i, j, :]`` back along the same weights::

        dkernel[a, b, c, k] += sum over n of window[n, a, b, c] * grad_out[n, i, j, k]
        dx_pad[n, window]   += sum over k of grad_out[n, i, j, k] * kernel[a, b, c, k]

    Rows and columns of padding are cut off ``dx_pad`` at the end, and input pixels
    that no window covered keep a gradient of exactly zero.

    Parameters
    ----------
    grad_out : ndarray of shape (N, H_out, W_out, C_out)
        Gradient of the loss with respect to the output.
    x : ndarray of shape (N, H, W, C_in)
        The input of the forward pass.
    kernel : ndarray of shape (f_h, f_w, C_in, C_out)
        Kernel weights.
    strides : (int, int)
        ``(s_h, s_w)``, as in the forward pass.
    pads : (int, int, int, int)
        ``(top, bottom, left, right)``, as in the forward pass.

    Returns
    -------
    dx : ndarray of shape (N, H, W, C_in)
    dkernel : ndarray of shape (f_h, f_w, C_in, C_out)
    dbias : ndarray of shape (C_out,)
    """
    grad_out = np.asarray(grad_out, dtype=x.dtype)
    kernel = np.asarray(kernel, dtype=x.dtype)
    _, h, w, _ = x.shape
    f_h, f_w, _, _ = kernel.shape
    s_h, s_w = strides
    top, bottom, left, right = pads
    _, h_out, w_out, _ = grad_out.shape
    x_pad = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))

    dx_pad = np.zeros_like(x_pad)
    dkernel = np.zeros_like(kernel)
    for i in range(h_out):
        for j in range(w_out):
            rows = slice(i * s_h, i * s_h + f_h)
            cols = slice(j * s_w, j * s_w + f_w)
            g = grad_out[:, i, j, :]
            # (N, f_h, f_w, C_in) . (N, C_out) over N -> (f_h, f_w, C_in, C_out)
            dkernel += np.tensordot(x_pad[:, rows, cols, :], g, axes=([0], [0]))
            # (N, C_out) . (f_h, f_w, C_in, C_out) over C_out -> (N, f_h, f_w, C_in)
            dx_pad[:, rows, cols, :] += np.tensordot(g, kernel, axes=([1], [3]))

    dx = dx_pad[:, top : top + h, left : left + w, :]
    dbias = grad_out.sum(axis=(0, 1, 2))
    return dx, dkernel, dbias


def check_pool_pads(
    pool_size: tuple[int, int], pads: tuple[int, int, int, int]
) -> None:
    """Raise ValueError unless every pooling window overlaps the input.

    A pad on a side at least as long as the window would create windows that hold
    only padding, and such a window has no maximum to route a gradient to.
    'same' padding never does that.
    """
    top, bottom, left, right = pads
    f_h, f_w = pool_size
    if min(pads) < 0 or max(top, bottom) >= f_h or max(left, right) >= f_w:
        raise ValueError(
            "Invalid value for argument `pads`. Expected non-negative pads smaller "
            f"than the pool size {tuple(pool_size)} on the same axis. "
            f"Received pads={tuple(pads)}."
        )


def max_pool2d_forward(
    x: np.ndarray,
    pool_size: tuple[int, int],
    strides: tuple[int, int],
    pads: tuple[int, int, int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Take the maximum of each pooling window, channel by channel.

    Padding never wins a window, as in TensorFlow, because it is left out of the
    window instead of being filled with zeros or ``-inf``. When a window contains
    several equal maxima, the first one in row-major order wins, which is where
    TensorFlow's CPU ``MaxPoolGrad`` sends the gradient.

    Parameters
    ----------
    x : ndarray of shape (N, H, W, C)
        Input images.
    pool_size : (int, int)
        Window size ``(f_h, f_w)``.
    strides : (int, int)
        Step between windows, ``(s_h, s_w)``.
    pads : (int, int, int, int)
        ``(top, bottom, left, right)``; each must be smaller than the window along
        its axis.

    Returns
    -------
    out : ndarray of shape (N, H_out, W_out, C)
        ``H_out = 1 + floor((H + top + bottom - f_h) / s_h)``, and likewise ``W_out``.
    argmax : ndarray of int64, shape (N, H_out, W_out, C)
        Flat index ``row * W + col`` into the input of each window's winner.
    """
    check_pool_pads(pool_size, pads)
    n, h, w, c = x.shape
    f_h, f_w = pool_size
    s_h, s_w = strides
    top, bottom, left, right = pads
    h_out = padded_output_size(h, f_h, s_h, top, bottom)
    w_out = padded_output_size(w, f_w, s_w, left, right)

    out = np.empty((n, h_out, w_out, c), dtype=x.dtype)
    argmax = np.empty((n, h_out, w_out, c), dtype=np.int64)
    for i in range(h_out):
        row_start = i * s_h - top
        row_lo, row_hi = max(row_start, 0), min(row_start + f_h, h)
        for j in range(w_out):
            col_start = j * s_w - left
            col_lo, col_hi = max(col_start, 0), min(col_start + f_w, w)
            window = x[:, row_lo:row_hi, col_lo:col_hi, :]
            window_w = col_hi - col_lo
            flat = window.reshape(n, -1, c)
            # np.argmax returns the first maximum, which is TensorFlow's tie rule.
            best = flat.argmax(axis=1)
            out[:, i, j, :] = np.take_along_axis(flat, best[:, None, :], axis=1)[:, 0]
            winner_row = row_lo + best // window_w
            winner_col = col_lo + best % window_w
            argmax[:, i, j, :] = winner_row * w + winner_col
    return out, argmax


def max_pool2d_backward(
    grad_out: np.ndarray, argmax: np.ndarray, input_shape: tuple[int, ...]
) -> np.ndarray:
    """Send each window's gradient to the input element that won the window.

    Parameters
    ----------
    grad_out : ndarray of shape (N, H_out, W_out, C)
        Gradient of the loss with respect to the pooled output.
    argmax : ndarray of int, shape (N, H_out, W_out, C)
        Flat input indices ``row * W + col`` from `max_pool2d_forward`.
    input_shape : (int, int, int, int)
        ``(N, H, W, C)`` of the forward input.

    Returns
    -------
    dx : ndarray of shape (N, H, W, C)
        Zero except at the winners, where the gradients of every window that the
        element won are added up (windows overlap when the stride is smaller than
        the pool).
    """
    n, h, w, c = input_shape
    _, h_out, w_out, _ = grad_out.shape
    dx = np.zeros((n, h * w, c), dtype=grad_out.dtype)
    batch_index = np.arange(n)[:, None]
    channel_index = np.arange(c)[None, :]
    for i in range(h_out):
        for j in range(w_out):
            # Within one window position every (sample, channel) pair is distinct,
            # so this fancy-indexed += never drops a repeated index.
            dx[batch_index, argmax[:, i, j, :], channel_index] += grad_out[:, i, j, :]
    return dx.reshape(n, h, w, c)
