"""Sequential and its training loop: whole-network gradients, learning, determinism, callbacks,
Ctrl-C and exact resume."""

import numpy as np
import pytest

from helpers.fd import fd_grad
from convkit._engine import conv2d as batched
from convkit.cnn import (SGD, Adam, BatchNorm2D, Callback, Conv2D, Dense, EarlyStopping, Flatten, MaxPool2D, Pool2D,
                         ModelCheckpoint, ReLU, Sequential, WeightAverage, load_checkpoint, softmax_cross_entropy)
from convkit.cnn.training import shift_images, stratified_split


def bars(n=240, seed=0):
    """8x8 images of a horizontal bar, a vertical bar or a 2x2 block at random places, plus noise."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, 1, 8, 8)).astype(np.float32) * 0.3
    y = np.arange(n) % 3
    for i in range(n):
        r, c = rng.integers(1, 6, size=2)
        if y[i] == 0:
            X[i, 0, r, 1:7] += 1
        elif y[i] == 1:
            X[i, 0, 1:7, c] += 1
        else:
            X[i, 0, r:r + 2, c:c + 2] += 1
    return X, y


def small_net(seed=0, dtype=np.float32):
    return Sequential([Conv2D(1, 4, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(), Dense(64, 3)],
                      seed=seed, dtype=dtype, input_shape=(1, 8, 8))


def test_whole_network_gradients_float64():
    model = Sequential([Conv2D(2, 3, 3, padding=1), ReLU(), MaxPool2D(2), Conv2D(3, 4, 2), ReLU(),
                        Flatten(), Dense(16, 3)], seed=3, dtype=np.float64)
    model.layers[0].needs_input_grad = True
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 2, 6, 6))
    y = np.array([0, 2])
    loss = lambda: softmax_cross_entropy(model.forward(x, True), y)[0]  # noqa: E731
    _, g = softmax_cross_entropy(model.forward(x, True), y)
    gx = model.backward(g)
    grads = {k: v.copy() for k, v in model.grads().items()}
    assert set(grads) == set(model.params()) == {"0.weight", "0.bias", "3.weight", "3.bias", "6.weight", "6.bias"}
    for key, p in list(model.params().items()) + [("x", x)]:
        np.testing.assert_allclose(gx if key == "x" else grads[key], fd_grad(loss, p), atol=1e-7, err_msg=key)


@pytest.mark.parametrize("size", [16, 40])      # second conv's output rows 4 wide (batch-last layout), 16 wide
@pytest.mark.parametrize("chunk_bytes", [2**10, 2**23])       # one sample per chunk, all in one chunk
def test_stacked_conv_gradients_through_model_backward(size, chunk_bytes, monkeypatch):
    """dL/dW of the first of two conv blocks, as a training step computes it (model.backward,
    work arrays kept inside the model), against central finite differences. The second conv's
    dL/dx must not share memory with its own work space (with several chunks, a later chunk's
    work would overwrite an earlier chunk's result)."""
    monkeypatch.setattr(batched, "CHUNK_BYTES", chunk_bytes)
    model = Sequential([Conv2D(1, 3, 5), ReLU(), MaxPool2D(2), Conv2D(3, 4, 3), ReLU(), MaxPool2D(2),
                        Flatten(), Dense(4 * ((size - 4) // 2 - 2) ** 2 // 4, 3)], seed=1, dtype=np.float64)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 1, size, size))
    y = np.array([0, 1, 2])
    loss = lambda: softmax_cross_entropy(model.forward(x, True), y)[0]  # noqa: E731
    model.backward(softmax_cross_entropy(model.forward(x, True), y)[1])
    grads = {k: v.copy() for k, v in model.grads().items()}
    for key in ("0.weight", "0.bias", "3.weight"):
        np.testing.assert_allclose(grads[key], fd_grad(loss, model.params()[key]), atol=1e-7, err_msg=key)


def test_reused_work_arrays_match_fresh_layer_calls():
    """Inside a model the layers hand each other work arrays they reuse from call to call; the
    results equal layer-by-layer calls (fresh arrays), and what the model returns stays intact."""
    layers = lambda: [Conv2D(2, 3, 3, padding=1), ReLU(), MaxPool2D(2), Conv2D(3, 4, 2), ReLU(),  # noqa: E731
                      Flatten(), Dense(16, 3)]
    model = Sequential(layers(), seed=3, dtype=np.float64)
    model.layers[0].needs_input_grad = True
    rng = np.random.default_rng(2)
    kept = []
    for n in (3, 5, 2):                                     # growing and shrinking batches
        x = rng.standard_normal((n, 2, 6, 6))
        g = rng.standard_normal((n, 3))
        logits = model.forward(x, True)
        model.forward(rng.standard_normal((4, 2, 6, 6)), False)   # an evaluation in between
        gx = model.backward(g)
        ref = Sequential(layers(), seed=3, dtype=np.float64)
        ref.set_params(model.params())
        acts = [x]
        for layer in ref.layers:
            acts.append(layer.forward(acts[-1], True))
        grad = g
        for layer in reversed(ref.layers):
            layer.needs_input_grad = True
            grad = layer.backward(grad)
        np.testing.assert_array_equal(logits, acts[-1])
        np.testing.assert_array_equal(gx, grad)
        for key, value in ref.grads().items():
            np.testing.assert_array_equal(model.grads()[key], value, err_msg=key)
        kept.append((logits, logits.copy(), gx, gx.copy()))
    for logits, logits_then, gx, gx_then in kept:
        np.testing.assert_array_equal(logits, logits_then)
        np.testing.assert_array_equal(gx, gx_then)
    assert not any(layer.reuse_output for layer in model.layers)


@pytest.mark.parametrize("op", ["max", "min"])
def test_relu_then_pooling_runs_pooling_first_with_the_same_results(op):
    """A ReLU before max/min pooling runs after it inside the model (they commute): logits, dL/dx
    and every gradient equal the layers called in their listed order, also where whole windows
    are negative (zero gradient) or tie."""
    layers = lambda: [ReLU(), Conv2D(2, 3, 3, padding=1), ReLU(), Pool2D(2, op=op), Conv2D(3, 2, 2),  # noqa: E731
                      ReLU(), MaxPool2D(2, 1), Flatten(), Dense(2, 3)]
    model = Sequential(layers(), seed=4, dtype=np.float64)
    assert model._order() == [0, 1, 3, 2, 4, 6, 5, 7, 8]
    model.layers[0].needs_input_grad = True
    rng = np.random.default_rng(5)
    x = np.round(rng.standard_normal((4, 2, 6, 6)), 1) - 0.3       # ties and negative windows
    g = rng.standard_normal((4, 3))
    logits, gx = model.forward(x, True), model.backward(g)
    acts = [x]
    for layer in model.layers:
        acts.append(layer.forward(acts[-1], True))
    grad = g
    grads = {}
    for i in range(len(model.layers) - 1, -1, -1):
        grad = model.layers[i].backward(grad)
        grads.update({f"{i}.{k}": v for k, v in model.layers[i].grads.items()})
    np.testing.assert_array_equal(logits, acts[-1])
    np.testing.assert_array_equal(gx, grad)
    model.forward(x, True)
    model.backward(g)
    for key, value in grads.items():
        np.testing.assert_array_equal(model.grads()[key], value, err_msg=key)


def test_training_reaches_high_accuracy():
    X, y = bars(300)
    Xt, yt = bars(150, seed=1)
    model = small_net()
    history = model.fit(X, y, epochs=12, batch_size=16, optimizer=Adam(0.01), seed=0,
                        validation_data=(Xt, yt))
    assert model.evaluate(Xt, yt)["accuracy"] >= 0.95
    assert history.history["loss"][-1] < history.history["loss"][0] / 3
    assert history.epoch == list(range(1, 13))
    probs = model.predict_proba(Xt)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(model.predict(Xt), probs.argmax(axis=1))


def test_evaluate_and_normalization_by_hand():
    X, y = bars(20)
    model = small_net()
    model.normalization = {"mean": 0.5, "std": 0.25}
    z = model.forward((X - 0.5) / 0.25, training=False)
    loss, _ = softmax_cross_entropy(z, y)
    got = model.evaluate(X, y, batch_size=7)
    assert got["loss"] == pytest.approx(loss, rel=1e-5)
    assert got["accuracy"] == pytest.approx(np.mean(z.argmax(axis=1) == y))


def test_same_seed_same_weights_bitwise():
    X, y = bars(96)
    runs = []
    for _ in range(2):
        model = small_net(seed=5)
        model.fit(X, y, epochs=3, batch_size=10, optimizer=SGD(0.05, momentum=0.9), seed=7, augment=1,
                  validation_split=0.25)
        runs.append(model.params())
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key])
    other = small_net(seed=5)
    other.fit(X, y, epochs=3, batch_size=10, optimizer=SGD(0.05, momentum=0.9), seed=8, augment=1,
              validation_split=0.25)
    assert not np.array_equal(other.params()["4.weight"], runs[0]["4.weight"])


class Interrupt(Callback):
    """Simulates Ctrl-C in the middle of an epoch."""

    def __init__(self, epoch, batch):
        self.at, self.epoch = (epoch, batch), 0

    def on_epoch_begin(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, batch, n_batches, loss):
        if (self.epoch, batch) == self.at:
            raise KeyboardInterrupt


def test_resume_after_interrupt_equals_uninterrupted(tmp_path):
    X, y = bars(90)
    settings = dict(epochs=5, batch_size=8, seed=3, augment=1, validation_split=0.2)
    full = small_net(seed=1)
    full.fit(X, y, optimizer=Adam(0.01), callbacks=[EarlyStopping(patience=10), ModelCheckpoint(tmp_path / "a.npz")],
             **settings)
    part = small_net(seed=1)
    ck_path = tmp_path / "b.npz"
    history = part.fit(X, y, optimizer=Adam(0.01), callbacks=[EarlyStopping(patience=10), ModelCheckpoint(ck_path),
                                                              Interrupt(3, 2)], **settings)
    assert history.interrupted and history.epoch == [1, 2]
    ck = load_checkpoint(ck_path)
    assert ck.epoch == 2 and ck.fit_state["seed"] == 3
    resumed = ck.model
    history = resumed.fit(X, y, optimizer=ck.optimizer, resume=ck_path, **settings,
                          callbacks=[EarlyStopping(patience=10), ModelCheckpoint(ck_path)])
    assert history.epoch == [1, 2, 3, 4, 5] and not history.interrupted
    for key, value in full.params().items():
        np.testing.assert_array_equal(resumed.params()[key], value, err_msg=key)
    with pytest.raises(ValueError, match="cannot resume: the checkpoint was trained with seed=3"):
        small_net(seed=1).fit(X, y, optimizer=Adam(0.01), resume=ck_path, **{**settings, "seed": 4})


def test_interrupt_rolls_back_to_last_complete_epoch():
    X, y = bars(48)
    a, b = small_net(), small_net()
    a.fit(X, y, epochs=1, batch_size=8, optimizer=SGD(0.1), seed=0)
    b.fit(X, y, epochs=3, batch_size=8, optimizer=SGD(0.1), seed=0, callbacks=[Interrupt(2, 3)])
    for key, value in a.params().items():
        np.testing.assert_array_equal(b.params()[key], value)


class Scripted(Callback):
    """Overwrites val_loss with a script and records each epoch's weights."""

    def __init__(self, values):
        self.values, self.weights = values, {}

    def on_epoch_end(self, epoch, logs):
        logs["val_loss"] = self.values[epoch - 1]
        self.weights[epoch] = {k: v.copy() for k, v in self.context.model.params().items()}
        return False


def test_early_stopping_restores_best():
    X, y = bars(40)
    model = small_net()
    script = Scripted([3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    history = model.fit(X, y, epochs=7, optimizer=SGD(0.1), seed=0, callbacks=[script, EarlyStopping(patience=2)])
    # patience 2: epochs 4 and 5 bring no improvement, so training stops after epoch 5
    assert history.epoch == [1, 2, 3, 4, 5] and history.stopped_early and history.best_epoch == 3
    for key, value in script.weights[3].items():
        np.testing.assert_array_equal(model.params()[key], value)


def test_weight_average_is_the_mean_of_the_last_epochs():
    X, y = bars(40)
    model = small_net(dtype=np.float64)
    script = Scripted([1.0] * 6)
    model.fit(X, y, epochs=6, optimizer=SGD(0.1), seed=0, callbacks=[script, WeightAverage(4)])
    for key, value in model.params().items():
        want = np.mean([script.weights[e][key] for e in (4, 5, 6)], axis=0)
        np.testing.assert_allclose(value, want, rtol=1e-13, atol=1e-15, err_msg=key)
    with pytest.raises(ValueError, match="start must be an epoch number >= 1"):
        WeightAverage(0)


def test_weight_average_resumes_exactly(tmp_path):
    """Interrupted inside the averaged epochs, then resumed: the same mean as an uninterrupted run."""
    X, y = bars(60)
    settings = dict(epochs=5, batch_size=8, seed=2, augment=1)
    full = small_net(seed=1)
    full.fit(X, y, optimizer=Adam(0.01), callbacks=[WeightAverage(3)], **settings)
    part = small_net(seed=1)
    ck_path = tmp_path / "ck.npz"
    history = part.fit(X, y, optimizer=Adam(0.01), callbacks=[WeightAverage(3), ModelCheckpoint(ck_path),
                                                              Interrupt(5, 2)], **settings)
    assert history.interrupted and history.epoch == [1, 2, 3, 4]
    ck = load_checkpoint(ck_path)
    ck.model.fit(X, y, optimizer=ck.optimizer, callbacks=[WeightAverage(3), ModelCheckpoint(ck_path)],
                 resume=ck_path, **settings)
    for key, value in full.params().items():
        np.testing.assert_array_equal(ck.model.params()[key], value, err_msg=key)
    with pytest.raises(ValueError, match="averages weights from epoch 3, this run from epoch 2, and epoch 2 is"):
        small_net(seed=1).fit(X, y, optimizer=Adam(0.01), callbacks=[WeightAverage(2), ModelCheckpoint(ck_path)],
                              resume=ck_path, **settings)
    # more epochs, averaged from a later start: the mean of epochs 6-7 (all after the checkpoint's 5)
    script = Scripted([0.0] * 7)
    again = load_checkpoint(ck_path).model
    again.fit(X, y, optimizer=load_checkpoint(ck_path).optimizer, callbacks=[WeightAverage(6), script],
              resume=ck_path, **{**settings, "epochs": 7})
    for key, value in again.params().items():
        np.testing.assert_allclose(value, (script.weights[6][key] + script.weights[7][key]) / 2, rtol=1e-6,
                                   atol=1e-7, err_msg=key)


class InterruptAfter(Callback):
    """Simulates Ctrl-C in the callbacks that run after an epoch (its logs already recorded)."""

    def __init__(self, epoch):
        self.at = epoch

    def on_epoch_end(self, epoch, logs):
        if epoch == self.at:
            raise KeyboardInterrupt
        return False


def test_interrupt_among_epoch_end_callbacks_rolls_the_epoch_back(tmp_path):
    """Ctrl-C after epoch 4's logs but inside its callbacks: history, weights, optimizer and the
    weight average return to the end of epoch 3, and resuming ends as the uninterrupted run."""
    X, y = bars(60)
    settings = dict(epochs=5, batch_size=8, seed=4, augment=1, validation_split=0.2)
    full = small_net(seed=2)
    full.fit(X, y, optimizer=Adam(0.01), callbacks=[EarlyStopping(patience=9), WeightAverage(3)], **settings)
    part = small_net(seed=2)
    ck_path = tmp_path / "ck.npz"
    callbacks = [EarlyStopping(patience=9), WeightAverage(3), InterruptAfter(4), ModelCheckpoint(ck_path)]
    history = part.fit(X, y, optimizer=Adam(0.01), callbacks=callbacks, **settings)
    assert history.interrupted and history.epoch == [1, 2, 3] and len(history.history["loss"]) == 3
    ck = load_checkpoint(ck_path)
    assert ck.epoch == 3 and ck.callback_states["1.WeightAverage"][0]["count"] == 1
    ck.model.fit(X, y, optimizer=ck.optimizer, callbacks=[EarlyStopping(patience=9), WeightAverage(3),
                                                          InterruptAfter(0), ModelCheckpoint(ck_path)],
                 resume=ck_path, **settings)
    for key, value in full.params().items():
        np.testing.assert_array_equal(ck.model.params()[key], value, err_msg=key)


def test_early_stop_keeps_the_best_epoch_over_the_average():
    X, y = bars(40)
    model = small_net()
    script = Scripted([3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    average = WeightAverage(2)
    history = model.fit(X, y, epochs=7, optimizer=SGD(0.1), seed=0,
                        callbacks=[script, EarlyStopping(patience=1), average])
    assert history.epoch == [1, 2, 3, 4] and history.stopped_early and average.count == 3
    assert not average.applies(history)
    for key, value in script.weights[3].items():
        np.testing.assert_array_equal(model.params()[key], value)


def test_layer_objects_appear_once_and_results_leave_the_model_intact():
    relu = ReLU()
    with pytest.raises(ValueError, match="each layer object may appear once"):
        Sequential([Conv2D(1, 2, 3), relu, Conv2D(2, 2, 3), relu])
    model = Sequential([Conv2D(1, 2, 3), ReLU(), Flatten()], seed=0)     # a Flatten last: a view otherwise
    rng = np.random.default_rng(0)
    first = model.forward(rng.random((2, 1, 5, 5), dtype=np.float32), True)
    kept = first.copy()
    model.forward(rng.random((2, 1, 5, 5), dtype=np.float32), True)
    np.testing.assert_array_equal(first, kept)


def test_shift_images_against_loop():
    rng = np.random.default_rng(0)
    x = rng.random((4, 2, 5, 6))
    shifts = np.array([[0, 0], [1, -2], [-2, 2], [2, 1]])
    want = np.zeros_like(x)
    for n, (dy, dx) in enumerate(shifts):
        for i in range(5):
            for j in range(6):
                if 0 <= i - dy < 5 and 0 <= j - dx < 6:
                    want[n, :, i, j] = x[n, :, i - dy, j - dx]
    np.testing.assert_array_equal(shift_images(x, shifts, 2), want)


def test_stratified_split_fractions():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    keep, held = stratified_split(y, 0.2, np.random.default_rng(0))
    assert np.bincount(y[held]).tolist() == [10, 6, 4]
    assert sorted(np.concatenate([keep, held]).tolist()) == list(range(100))


@pytest.mark.parametrize("kwargs,match", [
    ({"epochs": 0}, "epochs and batch_size must be >= 1"),
    ({"validation_split": 1.0}, r"validation_split must be in \[0, 1\)"),
    ({"augment": -1}, "augment must be"),
    ({"y": np.zeros(5, int)}, "labels for X must be 12 integers"),
    ({"X": np.zeros((12, 1, 9, 9))}, r"X samples must have shape \(1, 8, 8\)"),
    ({"optimizer": None}, "optimizer must be"),
])
def test_fit_errors(kwargs, match):
    X, y = bars(12)
    args = {"X": X, "y": y, "epochs": 1, "optimizer": SGD(0.1)}
    args.update(kwargs)
    error = TypeError if "optimizer" in kwargs else ValueError
    with pytest.raises(error, match=match):
        small_net().fit(args.pop("X"), args.pop("y"), **args)


# the messages `Sequential._check_input` gave before it became public (recorded from that code)
@pytest.mark.parametrize("X, name, message", [
    (np.zeros(5), "X", "X must be a batch (N, ...) of samples, got shape (5,)"),
    (np.zeros((2, 1, 8, 9)), "X", "X samples must have shape (1, 8, 8) (the model's input), got (1, 8, 9)"),
    (np.zeros((2, 1, 8, 9)), "validation_data",
     "validation_data samples must have shape (1, 8, 8) (the model's input), got (1, 8, 9)"),
])
def test_check_input_rejects_a_wrong_shape_with_the_message_of_every_entry_point(X, name, message):
    model = small_net()
    with pytest.raises(ValueError) as public:
        model.check_input(X, name)
    assert str(public.value) == message and "\n" not in message
    calls = {"X": [lambda: model.predict(X), lambda: model.predict_proba(X), lambda: model.evaluate(X, [0] * len(X)),
                   lambda: model.update_bn(X), lambda: model.fit(X, [0] * len(X), epochs=1, optimizer=SGD(0.1))],
             "validation_data": [lambda: model.fit(*bars(12), epochs=1, optimizer=SGD(0.1),
                                                   validation_data=(X, [0] * len(X)))]}
    for call in calls[name]:
        with pytest.raises(ValueError) as entry:
            call()
        assert str(entry.value) == message
    good = bars(4)[0]
    assert model.check_input(good) is good and model.check_input(list(good)).shape == good.shape


def test_output_shape_and_summary():
    model = small_net()
    assert model.output_shape() == (3,)
    assert "total parameters: 235" in model.summary()
    with pytest.raises(TypeError, match="layers must be"):
        Sequential([np.zeros(3)])


def test_stored_uint8_images_train_as_their_float_conversion():
    """fit / evaluate / predict_proba on uint8 images convert each batch as image files are read
    (value / 255): the same weights and scores as the float32 images, computed independently."""
    X, y = bars(64)
    raw = np.clip(X / X.max() * 255, 0, 255).astype(np.uint8)
    as_float = (raw.astype(np.float64) / 255.0).astype(np.float32)
    models = []
    for data in (raw, as_float):
        model = small_net(seed=3)
        model.normalization = {"mean": 0.2, "std": 0.3}
        model.fit(data, y, epochs=2, batch_size=8, optimizer=Adam(0.01), seed=1, augment=1,
                  validation_split=0.25)
        models.append(model)
    for key, value in models[0].params().items():
        np.testing.assert_array_equal(value, models[1].params()[key])
    np.testing.assert_array_equal(models[0].predict_proba(raw, batch_size=5),
                                  models[1].predict_proba(as_float, batch_size=5))
    expect = models[1].forward((as_float - np.float32(0.2)) / np.float32(0.3), training=False)
    loss, _ = softmax_cross_entropy(expect, y)
    assert models[0].evaluate(raw, y, batch_size=9)["loss"] == pytest.approx(loss, rel=1e-6)


@pytest.mark.parametrize("threads", [1, 2])
def test_parallel_chunks_are_bitwise_repeatable(threads, monkeypatch):
    """With a thread count fixed, the batch's chunks (each thread's share) and the order their
    weight gradients are added never change: two runs give the same weights bit for bit, and they
    match a run in one chunk to float32 rounding (SGD: Adam would blow the rounding noise of the
    conv bias before BatchNorm, whose true gradient is zero, up to whole steps)."""
    import convkit
    from convkit._engine import layer_loops
    monkeypatch.setattr(layer_loops, "PARALLEL_MIN", 1)
    X, y = bars(48)
    runs = []
    convkit.set_threads(threads)
    try:
        for _ in range(2):
            model = Sequential([Conv2D(1, 6, 3, padding=1), BatchNorm2D(6), ReLU(), MaxPool2D(2), Conv2D(6, 8, 3),
                                ReLU(), Flatten(), Dense(32, 3)], seed=2, input_shape=(1, 8, 8))
            model.fit(X, y, epochs=2, batch_size=16, optimizer=SGD(0.05, momentum=0.9), seed=4, augment=1)
            runs.append(model.params())
    finally:
        convkit.set_threads(None)
    monkeypatch.setattr(batched, "CHUNK_BYTES", 2**30)
    convkit.set_threads(1)
    try:
        single = Sequential([Conv2D(1, 6, 3, padding=1), BatchNorm2D(6), ReLU(), MaxPool2D(2), Conv2D(6, 8, 3),
                             ReLU(), Flatten(), Dense(32, 3)], seed=2, input_shape=(1, 8, 8))
        single.fit(X, y, epochs=2, batch_size=16, optimizer=SGD(0.05, momentum=0.9), seed=4, augment=1)
    finally:
        convkit.set_threads(None)
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key])
        np.testing.assert_allclose(runs[0][key], single.params()[key], rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("compiled", [True, False])
def test_inference_work_arrays_are_per_thread_not_per_chunk(monkeypatch, compiled):
    """A big inference batch cut into many chunks (groups) keeps one set of temporaries per thread
    (regression: one per chunk, ~290 MB for the default network at batch 256); the numpy engine's
    kept columns of a training forward stay per chunk, the compiled engine keeps none; results
    equal one chunk's."""
    from convkit._engine import conv_loops
    if compiled:
        monkeypatch.setattr(conv_loops, "GROUP_BYTES", 4096)          # many groups
        temporaries = "group cols"
    else:
        monkeypatch.setattr(conv_loops, "available", lambda: False)
        monkeypatch.setattr(batched, "CHUNK_BYTES", 4096)            # many chunks
        temporaries = "cols"
    model = small_net(seed=1)
    X, _ = bars(64)
    want = model.forward(X, training=False)
    conv = model.layers[0]
    names = [key for key in conv._scratch._arrays if isinstance(key, tuple) and key[0] == temporaries]
    threads = {key[1] for key in names}
    assert 1 <= len(names) <= 3 and all(isinstance(t, tuple) and t[0] == "thread" for t in threads)
    model.forward(X, training=True)
    kept = [key for key in conv._scratch._arrays if key[0] == "kept cols"]
    if compiled:
        assert kept == []
    else:
        assert len(kept) == len({key[1] for key in kept}) > 3
    monkeypatch.setattr(batched, "CHUNK_BYTES", 2**30)
    monkeypatch.setattr(conv_loops, "GROUP_BYTES", 2**30)
    np.testing.assert_allclose(model.forward(X, training=False), want, rtol=1e-6, atol=1e-6)
