"""The blog's convnet, the default architecture of both engines.

Input (S, S, 3) -> Conv2D 32 2x2 'same' -> ReLU -> MaxPool 2x2 -> Conv2D 64 2x2 'valid'
-> ReLU -> MaxPool 2x2 -> Flatten -> Dense 64 -> ReLU -> Dropout -> Dense 1 -> Sigmoid,
trained with binary cross-entropy and RMSprop. One of the blog's remedies for
overfitting adds a Dropout layer after each MaxPool as well (``dropout_after_blocks``).
"""

from __future__ import annotations

from .layers import Conv2D, Dense, Dropout, Flatten, Layer, MaxPool2D, ReLU, Sigmoid
from .model import Sequential
from .optimizers import RMSprop

BLOG_AUGMENTATION = {
    "rotation_range": 40,
    "width_shift_range": 0.2,
    "height_shift_range": 0.2,
    "shear_range": 0.2,
    "zoom_range": 0.2,
    "horizontal_flip": True,
    "fill_mode": "nearest",
}
BLOG_RESCALE = 1.0 / 255
BLOG_MODEL_NAME = "blog_convnet"


def blog_model_layers(
    dropout: float = 0.25, dropout_after_blocks: float | None = None
) -> list[Layer]:
    """Return the blog's layers, not built, so their shapes can be worked out alone.

    ``dropout`` and ``dropout_after_blocks`` are as in `build_blog_model`.
    """
    blocks = [
        [Conv2D(32, 2, padding="same"), ReLU(), MaxPool2D(2)],
        [Conv2D(64, 2, padding="valid"), ReLU(), MaxPool2D(2)],
    ]
    if dropout_after_blocks is not None:
        for block in blocks:
            block.append(Dropout(dropout_after_blocks))
    return [
        *blocks[0],
        *blocks[1],
        Flatten(),
        Dense(64),
        ReLU(),
        Dropout(dropout),
        Dense(1),
        Sigmoid(),
    ]


def build_blog_model(
    image_size: int | tuple[int, int] = 75,
    dropout: float = 0.25,
    seed: int | None = 0,
    learning_rate: float = 1e-3,
    dropout_after_blocks: float | None = None,
) -> Sequential:
    """Return the blog's model, built for ``image_size`` RGB images and compiled.

    Parameters
    ----------
    image_size : int or (int, int), default=75
        Square side, or (height, width), of the input images.
    dropout : float, default=0.25
        Rate of the dropout layer before the last dense layer.
    seed : int, optional
        Seed of the initial weights and of the dropout masks.
    learning_rate : float, default=1e-3
        RMSprop's learning rate.
    dropout_after_blocks : float, optional
        Rate of a Dropout layer added after each of the two MaxPool layers. None
        (the default) adds no layer, whereas 0.0 adds layers that drop nothing.
    """
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    model = Sequential(
        blog_model_layers(dropout, dropout_after_blocks), name=BLOG_MODEL_NAME
    )
    model.build((*image_size, 3), seed=seed)
    model.compile(RMSprop(learning_rate=learning_rate))
    return model
