"""Binary cross-entropy, from probabilities and from logits, with its gradients.

Both follow Keras 3 on TensorFlow 2.21. Each returns the mean over the batch, because
Keras's default reduction is ``'sum_over_batch_size'``; the gradients are of that mean.

From probabilities ``p`` (clipped to ``[eps, 1 - eps]`` with ``eps = 1e-7``)::

    loss = -mean(y * log(p) + (1 - y) * log(1 - p))

From logits ``z`` (TensorFlow's ``sigmoid_cross_entropy_with_logits``)::

    loss = mean(max(z, 0) - z * y + log(1 + exp(-|z|)))

The logits form never overflows and needs no clipping. Keras on TensorFlow switches to
it when the model's last layer is a sigmoid, and `Sequential` does the same.
"""

from __future__ import annotations

import numpy as np

from .activations import log_sigmoid, sigmoid

EPSILON = 1e-7


def _check_pair(y_true: np.ndarray, values: np.ndarray, name: str) -> None:
    if y_true.shape != values.shape:
        raise ValueError(
            f"`y_true` and `{name}` must have the same shape. Received "
            f"y_true.shape={y_true.shape} and {name}.shape={values.shape}."
        )
    if values.size == 0:
        raise ValueError(f"Cannot compute a loss over an empty batch: {name} is empty.")


def binary_crossentropy(
    y_true: np.ndarray, y_pred: np.ndarray, epsilon: float = EPSILON
) -> float:
    """Return the mean binary cross-entropy of probabilities ``y_pred``.

    Parameters
    ----------
    y_true : ndarray of shape (N, 1)
        Labels, 0 or 1.
    y_pred : ndarray of shape (N, 1)
        Predicted probabilities of class 1.
    epsilon : float, default=1e-7
        Probabilities are clipped to ``[epsilon, 1 - epsilon]`` first, as Keras does.
    """
    _check_pair(y_true, y_pred, "y_pred")
    p = np.clip(y_pred, epsilon, 1.0 - epsilon)
    per_sample = -(y_true * np.log(p) + (1.0 - y_true) * np.log(1.0 - p))
    return float(np.mean(per_sample))


def binary_crossentropy_gradient(
    y_true: np.ndarray, y_pred: np.ndarray, epsilon: float = EPSILON
) -> np.ndarray:
    """Return d(loss)/d(y_pred) of `binary_crossentropy`, shape (N, 1).

    Where the clip is active the gradient is zero, as TensorFlow's `clip_by_value`
    passes no gradient to clipped values.
    """
    _check_pair(y_true, y_pred, "y_pred")
    p = np.clip(y_pred, epsilon, 1.0 - epsilon)
    grad = (p - y_true) / (p * (1.0 - p)) / y_true.size
    inside = (y_pred >= epsilon) & (y_pred <= 1.0 - epsilon)
    return np.where(inside, grad, 0.0).astype(y_pred.dtype, copy=False)


def binary_crossentropy_from_logits(y_true: np.ndarray, logits: np.ndarray) -> float:
    """Return the mean binary cross-entropy of ``sigmoid(logits)``, computed stably.

    Parameters
    ----------
    y_true : ndarray of shape (N, 1)
        Labels, 0 or 1.
    logits : ndarray of shape (N, 1)
        Inputs of the final sigmoid.
    """
    _check_pair(y_true, logits, "logits")
    # log1p(exp(-|z|)), written through log_sigmoid, which never underflows in exp.
    softplus_of_minus_abs = np.minimum(logits, 0.0) - log_sigmoid(logits)
    per_sample = np.maximum(logits, 0.0) - logits * y_true + softplus_of_minus_abs
    return float(np.mean(per_sample))


def binary_crossentropy_from_logits_gradient(
    y_true: np.ndarray, logits: np.ndarray
) -> np.ndarray:
    """Return d(loss)/d(logits), which is ``(sigmoid(z) - y) / N``."""
    _check_pair(y_true, logits, "logits")
    # sigmoid(z) - y, rearranged with 1 - sigmoid(z) = sigmoid(-z) so that a
    # confident right prediction (z = 15, y = 1) loses no digits to cancellation.
    gradient = (1.0 - y_true) * sigmoid(logits) - y_true * sigmoid(-logits)
    gradient /= y_true.size
    return gradient.astype(logits.dtype, copy=False)


def binary_accuracy(
    y_true: np.ndarray, y_pred: np.ndarray, threshold: float = 0.5
) -> float:
    """Return the share of predictions on the right side of ``threshold``.

    A probability counts as class 1 when it is strictly above the threshold, as in
    Keras's ``binary_accuracy``.
    """
    _check_pair(y_true, y_pred, "y_pred")
    predicted = (y_pred > threshold).astype(y_true.dtype)
    return float(np.mean(predicted == y_true))
