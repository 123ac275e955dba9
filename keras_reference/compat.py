"""The one place that imports TensorFlow and Keras, and finds what Keras 3 moved.

Keras 3 (here 3.15 on TensorFlow 2.21) no longer ships the image pipeline the blog
used under ``keras.preprocessing.image``: the legacy `ImageDataGenerator` lives on as
``tf.keras.preprocessing.image.ImageDataGenerator``, which is
``keras.src.legacy.preprocessing.image.ImageDataGenerator``. ``Model.fit_generator``
is gone: ``Model.fit`` takes the iterator that ``flow_from_directory`` returns, because
that iterator is a ``keras.utils.PyDataset``. Everything else in `keras_reference`
imports TensorFlow, Keras and the generator from here.
"""

from __future__ import annotations

import os

# TensorFlow prints CPU-feature and oneDNN notices on import. They are hidden unless the
# caller sets TF_CPP_MIN_LOG_LEVEL before importing this module.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

if int(keras.__version__.split(".")[0]) != 3:
    raise ImportError(
        "keras_reference needs Keras 3 (pinned in pyproject.toml). "
        f"Found keras {keras.__version__}."
    )


def _find_image_data_generator() -> type:
    try:
        return tf.keras.preprocessing.image.ImageDataGenerator
    except AttributeError:
        # Keras's own path, for a TensorFlow build whose `tf.keras` alias is missing.
        from keras.src.legacy.preprocessing.image import ImageDataGenerator

        return ImageDataGenerator


ImageDataGenerator = _find_image_data_generator()


def versions() -> dict[str, str]:
    """Return the TensorFlow and Keras versions, as recorded in run metadata."""
    return {"tensorflow": tf.__version__, "keras": keras.__version__}


__all__ = ["ImageDataGenerator", "keras", "tf", "versions"]
