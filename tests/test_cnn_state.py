"""Layer buffers and Sequential.state_dict: one mechanism carries untrained state through model
files, checkpoints, resume, Ctrl-C rollback, early stopping and weight averaging.

`Tally` is a layer with a buffer and nothing else special: if it survives every path below,
a new layer with buffers (BatchNorm2D) needs no change outside its own class."""

import json
import zipfile

import numpy as np
import pytest

from convkit.cnn import (Adam, Callback, Dense, EarlyStopping, Flatten, Layer, ModelCheckpoint, ModelFormatError,
                         Sequential, WeightAverage, load_checkpoint)
from convkit.cnn import registry


class Tally(Layer):
    """Identity; in training keeps an exponential mean of its inputs in the buffer "seen"."""

    def __init__(self, num_features):
        super().__init__()
        self.num_features = num_features
        self.buffers["seen"] = np.zeros(num_features, np.float32)

    def forward(self, x, training=True):
        if training:
            self.buffers["seen"] *= 0.5
            self.buffers["seen"] += 0.5 * x.mean(axis=0)
        return x

    def backward(self, grad):
        return grad

    def config(self):
        return {"type": "Tally", "num_features": self.num_features}


@pytest.fixture(autouse=True)
def tally_registered(monkeypatch):
    monkeypatch.setitem(registry.LAYER_TYPES, "Tally", Tally)


def net(seed=0):
    return Sequential([Flatten(), Tally(16), Dense(16, 2)], seed=seed, input_shape=(1, 4, 4))


rng = np.random.default_rng(1)
X = rng.random((24, 1, 4, 4)).astype(np.float32)
Y = (X[:, 0, :2].mean(axis=(1, 2)) > 0.5).astype(int)


class Record(Callback):
    """The buffer after every epoch."""

    def __init__(self):
        self.seen = []

    def on_epoch_end(self, epoch, logs):
        self.seen.append(self.context.model.buffers()["1.seen"].copy())
        return False


def test_state_dict_is_params_and_buffers():
    m = net()
    assert set(m.params()) == {"2.weight", "2.bias"} and set(m.buffers()) == {"1.seen"}
    assert set(m.state_dict()) == {"2.weight", "2.bias", "1.seen"}
    other = net(seed=5)
    m.fit(X, Y, epochs=1, optimizer=Adam(0.01), seed=0)
    other.load_state_dict(m.state_dict())
    for key, value in m.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[key], value, err_msg=key)


@pytest.mark.parametrize("change, match", [
    (lambda s: s.pop("1.seen"), r"missing \['1.seen'\]"),
    (lambda s: s.update({"7.extra": np.zeros(1)}), r"unexpected \['7.extra'\]"),
    (lambda s: s.update({"1.seen": np.zeros(3)}), r"state entry 1.seen must have shape \(16,\), got \(3,\)"),
])
def test_load_state_dict_errors_name_the_key(change, match):
    m = net()
    state = {k: v.copy() for k, v in m.state_dict().items()}
    before = {k: v.copy() for k, v in state.items()}
    change(state)
    with pytest.raises(ValueError, match=match):
        m.load_state_dict(state)
    for key, value in m.state_dict().items():          # nothing was written
        np.testing.assert_array_equal(value, before[key])


def test_optimizer_never_sees_buffers():
    m, opt = net(), Adam(0.01)
    m.fit(X, Y, epochs=2, optimizer=opt, seed=0)
    assert not any(key.endswith("1.seen") for key in opt.state_dict())
    assert np.abs(m.buffers()["1.seen"]).sum() > 0      # the buffer did change


def test_model_file_round_trip_keeps_buffers(tmp_path):
    m = net()
    m.fit(X, Y, epochs=2, optimizer=Adam(0.01), seed=0)
    m.save(tmp_path / "m.npz")
    with zipfile.ZipFile(tmp_path / "m.npz") as z:
        assert "buffer/1.seen.npy" in z.namelist() and "param/2.weight.npy" in z.namelist()
    again = Sequential.load(tmp_path / "m.npz")
    for key, value in m.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[key], value, err_msg=key)


def _rewrite(path, out, edit_header=None, drop=()):
    """Copy an .npz member by member, editing the JSON header and leaving out members."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            if name[:-4] in drop:
                continue
            data = src.read(name)
            if name == "__header__.npy" and edit_header:
                with np.load(path) as npz:
                    header = json.loads(npz["__header__"].tobytes())
                edit_header(header)
                raw = np.frombuffer(json.dumps(header).encode(), np.uint8)
                with dst.open(name, "w") as fh:
                    np.lib.format.write_array(fh, raw)
                continue
            dst.writestr(name, data)


def test_files_from_before_buffers_still_load(tmp_path):
    plain = Sequential([Flatten(), Dense(16, 2)], seed=0, input_shape=(1, 4, 4))
    plain.save(tmp_path / "m.npz")
    _rewrite(tmp_path / "m.npz", tmp_path / "old.npz", edit_header=lambda h: h.pop("buffers"))
    again = Sequential.load(tmp_path / "old.npz")
    np.testing.assert_array_equal(again.predict_proba(X), plain.predict_proba(X))


@pytest.mark.parametrize("how, match", [
    ({"drop": ["buffer/1.seen"]}, "array 'buffer/1.seen' is missing"),
    ({"edit_header": lambda h: h.pop("buffers")}, r"unexpected members \['buffer/1.seen'\]"),
    ({"edit_header": lambda h: h.pop("buffers"), "drop": ["buffer/1.seen"]}, "buffer list {} does not match"),
    ({"edit_header": lambda h: h["buffers"].update({"1.seen": [3]})}, "buffer list .* does not match"),
])
def test_bad_buffers_in_model_files(tmp_path, how, match):
    net().save(tmp_path / "m.npz")
    _rewrite(tmp_path / "m.npz", tmp_path / "bad.npz", **how)
    with pytest.raises(ModelFormatError, match=match):
        Sequential.load(tmp_path / "bad.npz")


def test_interrupt_rolls_buffers_back():
    rec = Record()

    class Stop(Callback):
        def on_batch_end(self, batch, n_batches, loss):
            if len(self.context.history.epoch) == 2 and batch == 2:
                raise KeyboardInterrupt

    m = net()
    history = m.fit(X, Y, epochs=4, batch_size=8, optimizer=Adam(0.01), seed=0, callbacks=[rec, Stop()])
    assert history.interrupted and len(history.epoch) == 2
    np.testing.assert_array_equal(m.buffers()["1.seen"], rec.seen[1])


def test_early_stopping_restores_the_best_buffers():
    rec = Record()
    m = net()
    history = m.fit(X, Y, epochs=6, batch_size=8, optimizer=Adam(0.05), seed=0, validation_split=0.25,
                    callbacks=[rec, EarlyStopping("val_loss", patience=10, restore_best=True)])
    best = history.best_epoch
    assert best is not None
    np.testing.assert_array_equal(m.buffers()["1.seen"], rec.seen[best - 1])


def test_weight_average_averages_buffers():
    rec = Record()
    m = net()
    m.fit(X, Y, epochs=5, batch_size=8, optimizer=Adam(0.01), seed=0, callbacks=[rec, WeightAverage(3)])
    expected = np.mean(np.array(rec.seen[2:], dtype=np.float64), axis=0)
    np.testing.assert_allclose(m.buffers()["1.seen"], expected, rtol=1e-6)


def test_resume_restores_buffers_bitwise(tmp_path):
    whole = net()
    whole.fit(X, Y, epochs=4, batch_size=8, optimizer=Adam(0.01), seed=3)
    first = net()
    first.fit(X, Y, epochs=2, batch_size=8, optimizer=Adam(0.01), seed=3,
              callbacks=[ModelCheckpoint(tmp_path / "ck.npz")])
    ck = load_checkpoint(tmp_path / "ck.npz")
    np.testing.assert_array_equal(ck.model.buffers()["1.seen"], first.buffers()["1.seen"])
    resumed = net()
    resumed.fit(X, Y, epochs=4, batch_size=8, optimizer=Adam(0.01), resume=tmp_path / "ck.npz")
    for key, value in whole.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[key], value, err_msg=key)
