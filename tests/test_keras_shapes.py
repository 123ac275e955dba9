"""Output sizes of Conv2D and max-pooling: the formula, our layers and Keras agree.

Along each axis, with padding ``p`` zeros on both sides ('valid' is ``p = 0``)::

    out = 1 + floor((n + 2p - f) / s)

and with 'same', ``out = ceil(n / s)``. Keras's layers take only 'valid' and 'same',
so explicit padding is ``ZeroPadding2D(p)`` followed by a 'valid' layer there. Where
the formula gives 0 or less, Keras rejects the layer with a ValueError ("Computed
output size would be zero or negative"), and so must we.

Keras is asked twice: symbolically, on a ``keras.Input`` (where Keras validates the
shape), and eagerly, on an array of zeros, for the shape TensorFlow produces.
Eager max-pooling skips Keras's check, so a rejection is read from the symbolic call.
"""

import math

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from convnet_from_scratch.layers import Conv2D, MaxPool2D
from keras_reference import keras

CHANNELS = 2
FILTERS = 3


def formula(n: int, f: int, s: int, padding) -> int:
    """Return the output length along one axis, written out from the definition."""
    if padding == "same":
        return math.ceil(n / s)
    p = 0 if padding == "valid" else padding
    return 1 + math.floor((n + 2 * p - f) / s)


@st.composite
def geometries(draw, explicit_padding: bool = True):
    """Draw (input_hw, window, strides, padding) with each axis drawn on its own."""
    input_hw = (draw(st.integers(1, 64)), draw(st.integers(1, 64)))
    window = (draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    strides = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    modes = [st.sampled_from(["valid", "same"])]
    if explicit_padding:
        modes.append(st.tuples(st.integers(0, 3), st.integers(0, 3)))
    padding = draw(st.one_of(*modes))
    return input_hw, window, strides, padding


def expected_shape(input_hw, window, strides, padding) -> tuple[int, int]:
    pads = padding if isinstance(padding, tuple) else (padding, padding)
    return tuple(
        formula(n, f, s, p)
        for n, f, s, p in zip(input_hw, window, strides, pads, strict=True)
    )


def keras_layers(kind: str, window, strides, padding) -> list:
    mode = padding
    stack = []
    if isinstance(padding, tuple):
        stack.append(keras.layers.ZeroPadding2D(padding))
        mode = "valid"
    if kind == "conv":
        stack.append(
            keras.layers.Conv2D(FILTERS, window, strides=strides, padding=mode)
        )
    else:
        stack.append(keras.layers.MaxPooling2D(window, strides=strides, padding=mode))
    return stack


def keras_output_hw(kind, input_hw, window, strides, padding):
    """Return Keras's output (H, W), or the ValueError message when Keras rejects."""
    stack = keras_layers(kind, window, strides, padding)
    symbolic = keras.Input((*input_hw, CHANNELS))
    try:
        for layer in stack:
            symbolic = layer(symbolic)
    except ValueError as error:
        return str(error)

    eager = np.zeros((1, *input_hw, CHANNELS), np.float32)
    for layer in stack:
        eager = layer(eager)
    assert tuple(eager.shape[1:3]) == tuple(symbolic.shape[1:3])
    return tuple(int(d) for d in eager.shape[1:3])


def our_layer(kind, window, strides, padding):
    if kind == "conv":
        return Conv2D(FILTERS, window, strides=strides, padding=padding)
    return MaxPool2D(window, strides=strides, padding=padding)


def check_against_keras(kind, input_hw, window, strides, padding):
    expected = expected_shape(input_hw, window, strides, padding)
    keras_result = keras_output_hw(kind, input_hw, window, strides, padding)
    layer = our_layer(kind, window, strides, padding)
    rng = np.random.default_rng(0)

    event("rejected" if min(expected) < 1 else "accepted")
    if min(expected) < 1:
        assert isinstance(keras_result, str), f"Keras accepted {keras_result}"
        assert "zero or negative" in keras_result
        with pytest.raises(ValueError, match="zero or negative"):
            layer.build((*input_hw, CHANNELS), rng)
        return

    assert keras_result == expected
    layer.build((*input_hw, CHANNELS), rng)
    channels = FILTERS if kind == "conv" else CHANNELS
    assert layer.output_shape == (*expected, channels)
    out = layer.forward(np.zeros((1, *input_hw, CHANNELS), np.float32))
    assert out.shape == (1, *expected, channels)


@given(geometries())
def test_conv_output_size_matches_keras(geometry):
    check_against_keras("conv", *geometry)


@given(geometries(explicit_padding=False))
def test_pool_output_size_matches_keras(geometry):
    check_against_keras("pool", *geometry)


@given(geometries().filter(lambda g: isinstance(g[3], tuple)))
def test_pool_explicit_padding_size(geometry):
    # Keras's MaxPooling2D has no explicit padding: ZeroPadding2D then 'valid' gives
    # the formula's size (its zeros can win a window, unlike TensorFlow's 'same'
    # padding). Our MaxPool2D rejects explicit padding, as Keras's layer does.
    input_hw, window, strides, padding = geometry
    expected = expected_shape(input_hw, window, strides, padding)
    keras_result = keras_output_hw("pool", input_hw, window, strides, padding)
    if min(expected) < 1:
        assert isinstance(keras_result, str)
        assert "zero or negative" in keras_result
    else:
        assert keras_result == expected
    with pytest.raises(TypeError, match="`padding`. Expected 'valid' or 'same'"):
        MaxPool2D(window, strides=strides, padding=padding)


# Arguments that Keras rejects, by construction or on the first call.


def keras_rejects(make, input_hw=(5, 5)) -> bool:
    try:
        layer = make()
        layer(keras.Input((*input_hw, CHANNELS)))
    except (ValueError, TypeError, ZeroDivisionError):
        return True
    return False


REJECTED = [
    ("conv padding full", "padding", dict(filters=1, kernel_size=2, padding="full")),
    ("conv strides 0", "strides", dict(filters=1, kernel_size=2, strides=0)),
    ("conv kernel 0", "kernel_size", dict(filters=1, kernel_size=0)),
    ("conv kernel of one int", "kernel_size", dict(filters=1, kernel_size=(2,))),
    ("conv filters 0", "filters", dict(filters=0, kernel_size=2)),
    ("pool padding full", "padding", dict(pool_size=2, padding="full")),
    ("pool strides 0", "strides", dict(pool_size=2, strides=0)),
    ("pool size 0", "pool_size", dict(pool_size=0)),
    ("pool explicit padding", "padding", dict(pool_size=2, padding=1)),
]


@pytest.mark.parametrize(
    ("argument", "config"),
    [case[1:] for case in REJECTED],
    ids=[case[0] for case in REJECTED],
)
def test_bad_arguments_rejected_like_keras(argument, config):
    is_conv = "filters" in config
    keras_class = keras.layers.Conv2D if is_conv else keras.layers.MaxPooling2D
    ours_class = Conv2D if is_conv else MaxPool2D
    assert keras_rejects(lambda: keras_class(**config))
    with pytest.raises((ValueError, TypeError), match=f"`{argument}`"):
        ours_class(**config)
