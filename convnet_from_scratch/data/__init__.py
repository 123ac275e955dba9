"""Image loading, augmentation and batching, matching Keras's legacy preprocessing.

`load_image` decodes a file as Keras's ``img_to_array(load_img(...))`` does,
`ImageAugmenter` applies the transforms of ``ImageDataGenerator``, and
`DirectoryIterator` yields batches like ``flow_from_directory(class_mode='binary')``.
"""

from .augmentation import ImageAugmenter, keras_transform_parameters, transform_matrix
from .images import IMAGE_EXTENSIONS, UnreadableImageError, load_image
from .iterator import DirectoryIterator, UnreadableImageWarning
from .listing import (
    find_classes,
    fold_class_folders,
    list_class_files,
    split_class_folders,
)
from .resample import FILL_MODES, affine_resample

__all__ = [
    "FILL_MODES",
    "IMAGE_EXTENSIONS",
    "DirectoryIterator",
    "ImageAugmenter",
    "UnreadableImageError",
    "UnreadableImageWarning",
    "affine_resample",
    "find_classes",
    "fold_class_folders",
    "keras_transform_parameters",
    "list_class_files",
    "load_image",
    "split_class_folders",
    "transform_matrix",
]
