"""Layers of the hand-written convnet, and the registry the model file loads from."""

from convnet_from_scratch.layers.activation import ReLU, Sigmoid
from convnet_from_scratch.layers.base import Layer
from convnet_from_scratch.layers.conv import Conv2D
from convnet_from_scratch.layers.core import Dense, Dropout, Flatten
from convnet_from_scratch.layers.pooling import MaxPool2D

# Class name, as written in a model file, to the class that `cls(**config)` rebuilds.
LAYER_CLASSES: dict[str, type[Layer]] = {
    "Conv2D": Conv2D,
    "MaxPool2D": MaxPool2D,
    "Dense": Dense,
    "Flatten": Flatten,
    "Dropout": Dropout,
    "ReLU": ReLU,
    "Sigmoid": Sigmoid,
}

__all__ = [
    "LAYER_CLASSES",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "Layer",
    "MaxPool2D",
    "ReLU",
    "Sigmoid",
]
