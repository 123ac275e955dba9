"""The blog's convnet in Keras 3 on TensorFlow: the reference the hand-written library
is tested against.

Importing this package imports TensorFlow. `build_model` makes the blog's model;
`to_keras`, `from_keras`, `copy_weights`, `keras_to_model_file` and
`model_file_to_keras` move weights between the two engines; ``python -m
keras_reference train`` runs the blog's training pipeline in Keras.
"""

from .compat import ImageDataGenerator, keras, tf
from .model import build_model
from .transfer import (
    copy_weights,
    from_keras,
    keras_to_model_file,
    model_file_to_keras,
    to_keras,
)

__all__ = [
    "ImageDataGenerator",
    "build_model",
    "copy_weights",
    "from_keras",
    "keras",
    "keras_to_model_file",
    "model_file_to_keras",
    "tf",
    "to_keras",
]
