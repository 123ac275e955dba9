"""Sequential: training steps, weights, summary and input checks."""

import numpy as np
import pytest

from convnet_from_scratch.blog_model import build_blog_model
from convnet_from_scratch.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sigmoid
from convnet_from_scratch.model import Sequential
from convnet_from_scratch.optimizers import SGD

from gradcheck import numerical_gradient


def _small_model(seed=0, implementation="numba"):
    model = Sequential(
        [
            Conv2D(4, 3, strides=2, padding="same"),
            ReLU(),
            MaxPool2D(2),
            Flatten(),
            Dense(5),
            ReLU(),
            Dense(1),
            Sigmoid(),
        ]
    )
    model.build((9, 9, 2), seed=seed)
    model.compile(SGD(learning_rate=0.05))
    model.set_implementation(implementation)
    return model


def _separable_data(count=64, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(count, 9, 9, 2)).astype(np.float32)
    y = (x[:, :4, :, 0].mean(axis=(1, 2)) > 0).astype(np.float32)
    return x, y


def test_layer_names_are_made_unique_like_keras():
    model = _small_model()
    names = [layer.name for layer in model.layers]
    assert names[:3] == ["conv2d", "re_lu", "max_pooling2d"]
    assert names[5] == "re_lu_1"
    assert names[6] == "dense_1"
    assert len(set(names)) == len(names)


def test_fit_lowers_training_loss():
    model = _small_model()
    x, y = _separable_data()
    history = model.fit(x, y, epochs=40, batch_size=16, seed=0, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 40
    assert losses[-1] < 0.8 * losses[0]
    assert model.evaluate(x, y)["accuracy"] > 0.8


def test_fit_is_reproducible_with_seeds():
    x, y = _separable_data()
    first = _small_model(seed=3).fit(x, y, epochs=2, seed=5, verbose=0).history
    second = _small_model(seed=3).fit(x, y, epochs=2, seed=5, verbose=0).history
    assert first == second


def test_model_gradient_matches_finite_differences():
    # The whole model in float64: the parameter gradients that train_on_batch would
    # apply equal central differences of the loss, so the logits shortcut is exact.
    model = _small_model(implementation="numpy")
    x, y = _separable_data(count=6)
    x = x.astype(np.float64)
    y = y.reshape(-1, 1).astype(np.float64)
    for layer in model.layers:
        for key in layer.params:
            layer.params[key] = layer.params[key].astype(np.float64)

    def loss():
        logits, output = model._forward(x, training=False)
        return model._loss_and_gradient(y, logits, output)[0]

    logits, output = model._forward(x, training=False)
    _, grad, start = model._loss_and_gradient(y, logits, output)
    for layer in reversed(model.layers[:start]):
        grad = layer.backward(grad)
    for layer in model.layers:
        for key, value in layer.params.items():
            numeric = numerical_gradient(loss, value)
            np.testing.assert_allclose(
                layer.grads[key], numeric, rtol=1e-5, atol=1e-8, err_msg=layer.name
            )


def test_numpy_and_numba_models_train_alike():
    x, y = _separable_data(count=32)
    fast = _small_model(implementation="numba")
    slow = _small_model(implementation="numpy")
    fast.fit(x, y, epochs=2, batch_size=8, seed=0, verbose=0)
    slow.fit(x, y, epochs=2, batch_size=8, seed=0, verbose=0)
    for a, b in zip(fast.get_weights(), slow.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_get_and_set_weights_round_trip():
    model = _small_model(seed=0)
    other = _small_model(seed=1)
    other.set_weights(model.get_weights())
    x, _ = _separable_data(count=4)
    np.testing.assert_array_equal(model.predict(x), other.predict(x))


def test_set_weights_rejects_wrong_shapes():
    model = _small_model()
    weights = model.get_weights()
    weights[0] = np.zeros((2, 2, 2, 4), np.float32)
    with pytest.raises(ValueError, match=r"kernel.*\(3, 3, 2, 4\).*\(2, 2, 2, 4\)"):
        model.set_weights(weights)
    with pytest.raises(ValueError, match="expects 6 weight arrays. Received 1"):
        model.set_weights(weights[:1])


def test_predict_rejects_wrong_input_shape():
    model = _small_model()
    with pytest.raises(ValueError, match=r"expects inputs of shape \(N, 9, 9, 2\)"):
        model.predict(np.zeros((2, 8, 9, 2), np.float32))


def test_blog_model_summary_matches_keras_counts():
    # Keras's summary of the blog's model at 75x75: conv 3*2*2*32+32 = 416,
    # conv 32*2*2*64+64 = 8,256, dense 18*18*64*64+64 = 1,327,168, dense 65.
    model = build_blog_model(75)
    table = model.summary()
    assert "(None, 75, 75, 32)" in table
    assert "(None, 37, 37, 32)" in table
    assert "(None, 36, 36, 64)" in table
    assert "(None, 18, 18, 64)" in table
    assert "(None, 20736)" in table
    assert "1,327,168" in table
    assert model.count_params() == 416 + 8256 + 1327168 + 65
    assert "Total params: 1,335,905" in table


def test_fit_rejects_bad_arguments():
    model = _small_model()
    x, y = _separable_data(count=4)
    with pytest.raises(ValueError, match="epochs"):
        model.fit(x, y, epochs=0)
    with pytest.raises(ValueError, match="4 inputs and 3 labels"):
        model.fit(x, y[:3])
    with pytest.raises(ValueError, match="not compiled"):
        Sequential([Flatten(), Dense(1)]).build((2, 2, 1)).train_on_batch(x, y)


def test_training_with_nan_inputs_stops_with_clear_error():
    model = _small_model()
    x, y = _separable_data(count=8)
    x[0, 0, 0, 0] = np.nan
    with pytest.raises(FloatingPointError, match="non-finite values.*after epoch 1"):
        model.fit(x, y, epochs=1, verbose=0)
