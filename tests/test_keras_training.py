"""Training against Keras: RMSprop updates, and ten steps of the whole blog model.

RMSprop (Keras 3, not centred, no momentum), for each parameter, from v = 0::

    v = rho * v + (1 - rho) * g**2
    var -= lr * g / sqrt(v + epsilon)

Tolerances (float32):

* one optimizer on the same gradients: 1e-6 relative, since both engines run the same
  element-wise operations in the same order;
* ten training steps of the blog model from the same weights, with dropout 0, no
  augmentation and the same batches: every weight within 1e-4 of Keras's, relative
  to the largest value of its array. RMSprop divides each gradient by its running
  root mean square, so a gradient that float32 rounding changes by 1e-6 relative
  moves a weight by about 1e-6 of the learning rate per step. Ten steps stay far
  below the tolerance, while epsilon moved outside the square root (Keras 2's and
  PyTorch's formula) makes both tests here fail.
"""

import functools
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convnet_from_scratch import optimizers
from convnet_from_scratch.blog_model import build_blog_model
from convnet_from_scratch.optimizers import RMSprop
from keras_reference import build_model, copy_weights, keras, tf

OPTIMIZER_RTOL = 1e-6
TRAINING_RTOL = 1e-4
STEPS = 10


class _Parameters:
    """A stand-in layer: the optimizer reads ``params``, ``grads`` and
    ``implementation``."""

    def __init__(self, arrays, implementation="numba"):
        self.params = {f"w{i}": a.copy() for i, a in enumerate(arrays)}
        self.grads = {key: np.zeros_like(a) for key, a in self.params.items()}
        self.implementation = implementation


@st.composite
def optimizer_cases(draw):
    shapes = draw(
        st.lists(
            st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
            min_size=1,
            max_size=3,
        )
    )
    settings = {
        "learning_rate": draw(st.sampled_from([1e-3, 0.01, 0.1])),
        "rho": draw(st.sampled_from([0.0, 0.5, 0.9, 0.99])),
        "epsilon": draw(st.sampled_from([1e-7, 1e-4])),
    }
    steps = draw(st.integers(1, 5))
    # Gradient scales from 1e-6 (where epsilon dominates) to 10.
    scales = draw(
        st.lists(
            st.sampled_from([1e-6, 1e-3, 1.0, 10.0]), min_size=steps, max_size=steps
        )
    )
    seed = draw(st.integers(0, 2**32 - 1))
    return shapes, settings, scales, seed


@pytest.mark.parametrize("implementation", ["numpy", "numba"])
@given(case=optimizer_cases())
def test_rmsprop_matches_keras(case, implementation):
    shapes, settings, scales, seed = case
    rng = np.random.default_rng(seed)
    initial = [rng.normal(size=shape).astype(np.float32) for shape in shapes]

    layer = _Parameters(initial, implementation)
    ours = RMSprop(**settings)
    variables = [tf.Variable(a) for a in initial]
    theirs = keras.optimizers.RMSprop(**settings)

    # The drawn arrays are small, so let the kernel take every one of them.
    with mock.patch.object(optimizers, "_KERNEL_MIN_SIZE", 1):
        for scale in scales:
            grads = [
                (rng.normal(size=a.shape) * scale).astype(np.float32) for a in initial
            ]
            for key, grad in zip(layer.params, grads, strict=True):
                layer.grads[key] = grad
            ours.apply([layer])
            theirs.apply_gradients(zip(grads, variables, strict=True))

    for key, variable in zip(layer.params, variables, strict=True):
        np.testing.assert_allclose(
            layer.params[key], variable.numpy(), rtol=OPTIMIZER_RTOL, atol=1e-7
        )


# Ten steps of the whole model


@functools.cache
def keras_blog_model(image_size: int):
    """Return the Keras blog model without dropout, compiled once per image size."""
    return build_model(image_size, dropout=0.0, seed=0)


def reset_optimizer(model) -> None:
    """Put the model's RMSprop back to its first step: no running means, step 0."""
    optimizer = model.optimizer
    for variable in optimizer.variables:
        if variable.path.endswith("_velocity"):
            variable.assign(tf.zeros_like(variable))
    optimizer.iterations.assign(0)


@st.composite
def training_cases(draw):
    size = draw(st.sampled_from([6, 8, 12]))
    batch = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (STEPS, batch, size, size, 3)).astype(np.float32)
    y = rng.integers(0, 2, (STEPS, batch, 1)).astype(np.float32)
    return size, x, y, seed % 1000


@given(training_cases())
def test_ten_rmsprop_steps_match_keras(case):
    size, x, y, seed = case
    ours = build_blog_model(size, dropout=0.0, seed=seed)
    theirs = keras_blog_model(size)
    reset_optimizer(theirs)
    copy_weights(ours, theirs)

    for step in range(STEPS):
        our_loss, _ = ours.train_on_batch(x[step], y[step])
        their_loss = theirs.train_on_batch(x[step], y[step], return_dict=True)["loss"]
        assert our_loss == pytest.approx(their_loss, rel=TRAINING_RTOL), step

    assert int(theirs.optimizer.iterations.numpy()) == STEPS
    for index, (mine, expected) in enumerate(
        zip(ours.get_weights(), theirs.get_weights(), strict=True)
    ):
        scale = float(np.max(np.abs(expected)))
        np.testing.assert_allclose(
            mine,
            expected,
            rtol=TRAINING_RTOL,
            atol=TRAINING_RTOL * scale,
            err_msg=f"weight {index} after {STEPS} steps",
        )
