"""The blog's convnet in Keras, layer for layer the same as `build_blog_model`."""

from __future__ import annotations

from .compat import keras

# The blog's network needs at least 6 pixels a side: 'same' conv keeps S, pooling gives
# floor(S / 2), the 2x2 'valid' conv removes one, and the second pool needs 2 left.
MIN_IMAGE_SIZE = 6


def _image_shape(image_size: object) -> tuple[int, int, int]:
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        height = width = image_size
    elif (
        isinstance(image_size, (tuple, list))
        and len(image_size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in image_size)
    ):
        height, width = image_size
    else:
        raise TypeError(
            "Invalid type for argument `image_size`. Expected an int or a pair of "
            f"ints (height, width). Received image_size={image_size!r}."
        )
    if min(height, width) < MIN_IMAGE_SIZE:
        raise ValueError(
            "Invalid value for argument `image_size`. The blog's model needs images "
            f"of at least {MIN_IMAGE_SIZE}x{MIN_IMAGE_SIZE} pixels. "
            f"Received image_size={image_size!r}."
        )
    return (height, width, 3)


def build_model(
    image_size: int | tuple[int, int] = 75,
    dropout: float = 0.25,
    seed: int | None = None,
    learning_rate: float = 1e-3,
    dropout_after_blocks: float | None = None,
) -> keras.Sequential:
    """Return the blog's model in Keras, built for RGB images and compiled.

    Input (S, S, 3) -> Conv2D 32 2x2 'same' -> relu -> MaxPooling2D 2 -> Conv2D 64 2x2
    'valid' -> relu -> MaxPooling2D 2 -> Flatten -> Dense 64 -> relu -> Dropout ->
    Dense 1 -> sigmoid, compiled with binary cross-entropy, ``RMSprop(learning_rate,
    rho=0.9, epsilon=1e-7)`` and accuracy. The activations are separate
    ``Activation`` layers, as in `build_blog_model`, so both models list the same
    layers and `get_weights` returns the same arrays in the same order.

    Parameters
    ----------
    image_size : int or (int, int), default=75
        Square side, or (height, width), of the input images; at least 6.
    dropout : float, default=0.25
        Rate of the dropout layer before the last dense layer.
    seed : int, optional
        Seed of the Glorot-uniform kernels (biases start at zero) and of the dropout
        masks. The same seed gives the same Keras weights, but not the weights that
        `build_blog_model` draws from the same seed: copy them with
        `keras_reference.copy_weights` to start both engines alike.
    learning_rate : float, default=1e-3
        RMSprop's learning rate.
    dropout_after_blocks : float, optional
        Rate of a Dropout layer added after each of the two MaxPooling2D layers, as
        in `build_blog_model`. None (the default) adds no layer. These layers draw
        their masks from seeds ``seed + 1`` and ``seed + 2``.

    Notes
    -----
    On TensorFlow, Keras computes the binary cross-entropy of this model from the
    final sigmoid's input (the logits), without clipping; the hand-written `Sequential`
    does the same. On a machine without a GPU, ``jit_compile='auto'`` turns XLA off, so
    training runs the same TensorFlow kernels as eager calls.
    """
    input_shape = _image_shape(image_size)

    def glorot(index: int) -> keras.initializers.Initializer:
        return keras.initializers.GlorotUniform(
            seed=None if seed is None else seed + index
        )

    blocks = [
        [
            keras.layers.Conv2D(32, 2, padding="same", kernel_initializer=glorot(0)),
            keras.layers.Activation("relu"),
            keras.layers.MaxPooling2D(2),
        ],
        [
            keras.layers.Conv2D(64, 2, padding="valid", kernel_initializer=glorot(1)),
            keras.layers.Activation("relu"),
            keras.layers.MaxPooling2D(2),
        ],
    ]
    if dropout_after_blocks is not None:
        for index, block in enumerate(blocks, start=1):
            # Distinct seeds, so the layers do not share one stream of masks.
            block_seed = None if seed is None else seed + index
            block.append(keras.layers.Dropout(dropout_after_blocks, seed=block_seed))
    model = keras.Sequential(
        [
            keras.Input(input_shape),
            *blocks[0],
            *blocks[1],
            keras.layers.Flatten(),
            keras.layers.Dense(64, kernel_initializer=glorot(2)),
            keras.layers.Activation("relu"),
            keras.layers.Dropout(dropout, seed=seed),
            keras.layers.Dense(1, kernel_initializer=glorot(3)),
            keras.layers.Activation("sigmoid"),
        ],
        name="blog_convnet",
    )
    model.compile(
        optimizer=keras.optimizers.RMSprop(
            learning_rate=learning_rate, rho=0.9, epsilon=1e-7
        ),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model
