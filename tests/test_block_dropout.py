"""Dropout after each block, a remedy for overfitting the blog names, in both engines.

`build_blog_model` and Keras's `build_model` must add the same Dropout layers at the
same places, and both ``train`` commands must accept ``--block-dropout``.
"""

import pytest

from convnet_from_scratch.blog_model import build_blog_model
from convnet_from_scratch.cli import build_parser
from keras_reference import build_model, copy_weights, keras
from keras_reference.cli import build_parser as build_keras_parser

EXPECTED_KINDS = [
    "Conv2D",
    "ReLU",
    "MaxPool2D",
    "Dropout",
    "Conv2D",
    "ReLU",
    "MaxPool2D",
    "Dropout",
    "Flatten",
    "Dense",
    "ReLU",
    "Dropout",
    "Dense",
    "Sigmoid",
]


def keras_kind(layer) -> str:
    """Name a Keras layer as the hand-written library names the same layer."""
    names = {"MaxPooling2D": "MaxPool2D"}
    if isinstance(layer, keras.layers.Activation):
        return {"relu": "ReLU", "sigmoid": "Sigmoid"}[layer.get_config()["activation"]]
    kind = type(layer).__name__
    return names.get(kind, kind)


def dropout_rates(kinds_and_rates) -> list[float]:
    return [rate for kind, rate in kinds_and_rates if kind == "Dropout"]


def test_block_dropout_layers_match_keras():
    ours = build_blog_model(20, dropout=0.5, dropout_after_blocks=0.3)
    theirs = build_model(20, dropout=0.5, seed=0, dropout_after_blocks=0.3)

    our_layers = [(type(layer).__name__, layer.get_config()) for layer in ours.layers]
    their_layers = [(keras_kind(layer), layer.get_config()) for layer in theirs.layers]
    assert [kind for kind, _ in our_layers] == EXPECTED_KINDS
    assert [kind for kind, _ in their_layers] == EXPECTED_KINDS
    our_rates = [(kind, config.get("rate")) for kind, config in our_layers]
    their_rates = [(kind, config.get("rate")) for kind, config in their_layers]
    assert dropout_rates(our_rates) == pytest.approx([0.3, 0.3, 0.5])
    assert dropout_rates(their_rates) == pytest.approx([0.3, 0.3, 0.5])
    assert [w.shape for w in ours.get_weights()] == [
        w.shape for w in theirs.get_weights()
    ]


def test_block_dropout_keeps_predictions():
    # Dropout is the identity at inference, so the same weights predict the same.
    ours = build_blog_model(12, seed=1, dropout_after_blocks=0.5)
    plain = build_model(12, seed=2)
    copy_weights(ours, plain)
    x = keras.random.uniform((3, 12, 12, 3), seed=4).numpy()

    assert ours.predict(x) == pytest.approx(plain.predict(x, verbose=0), rel=1e-5)


def test_default_model_has_one_dropout():
    ours = build_blog_model(12)
    theirs = build_model(12)

    assert sum(type(layer).__name__ == "Dropout" for layer in ours.layers) == 1
    assert sum(keras_kind(layer) == "Dropout" for layer in theirs.layers) == 1


@pytest.mark.parametrize("parser", [build_parser, build_keras_parser])
def test_train_commands_parse_block_dropout_and_folds(parser):
    args = parser().parse_args(
        ["train", "data", "--out", "run", "--block-dropout", "0.25"]
        + ["--folds", "5", "--fold", "3"]
    )
    defaults = parser().parse_args(["train", "data", "--out", "run"])

    assert args.block_dropout == 0.25
    assert (args.folds, args.fold) == (5, 3)
    assert defaults.block_dropout is None
    assert (defaults.folds, defaults.fold) == (None, None)
