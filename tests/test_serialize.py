"""Model and checkpoint files: round trips, and every kind of bad file -> ModelFormatError."""

import io
import json
import zipfile

import numpy as np
import pytest

from convkit.cnn import (SGD, Adam, Conv2D, Dense, EarlyStopping, Flatten, MaxPool2D, ModelCheckpoint,
                         ModelFormatError, Pool2D, ReLU, Sequential, load_checkpoint)
from convkit.cnn.serialize import load_model
from helpers.hostile import finishes, forged_npy, npz_header, peak_mib, rewrite_npz, small_model


def model(dtype=np.float32):
    return Sequential([Conv2D(1, 3, 3, padding="same"), ReLU(), MaxPool2D(2), Pool2D(1, op="mean"), Flatten(),
                       Dense(48, 2)], seed=0, dtype=dtype, input_shape=(1, 8, 8), class_names=["cat", "dog"],
                      normalization={"mean": 0.5, "std": 0.2})


X = np.random.default_rng(0).random((10, 1, 8, 8)).astype(np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_identical_predictions(tmp_path, dtype):
    m = model(dtype)
    m.fit(X, np.arange(10) % 2, epochs=2, optimizer=SGD(0.1), seed=0)
    path = tmp_path / "m.npz"
    m.save(path)
    again = Sequential.load(path)
    np.testing.assert_array_equal(again.predict_proba(X), m.predict_proba(X))
    assert again.config() == m.config()
    assert again.class_names == ["cat", "dog"] and again.input_shape == (1, 8, 8)
    assert again.dtype == dtype
    with pytest.raises(FileExistsError):
        m.save(path)
    m.save(path, overwrite=True)


def test_no_npz_suffix_is_still_one_file(tmp_path):
    path = tmp_path / "model.bin"
    model().save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]
    Sequential.load(path)


def test_checkpoint_round_trip(tmp_path):
    m = model()
    opt = Adam(0.01)
    m.fit(X, np.arange(10) % 2, epochs=2, optimizer=opt, seed=4, validation_split=0.2,
          callbacks=[EarlyStopping(patience=3), ModelCheckpoint(tmp_path / "ck.npz")])
    ck = load_checkpoint(tmp_path / "ck.npz")
    assert ck.epoch == 2 and ck.fit_state["seed"] == 4
    assert ck.optimizer.config() == opt.config() and ck.optimizer.steps == opt.steps
    for key, value in opt.state_dict().items():
        np.testing.assert_array_equal(ck.optimizer.state_dict()[key], value)
    assert set(ck.callback_states) == {"0.EarlyStopping", "1.ModelCheckpoint"}
    Sequential.load(tmp_path / "ck.npz")       # a checkpoint also loads as a model
    with pytest.raises(ModelFormatError, match="not a convkit checkpoint"):
        m.save(tmp_path / "m.npz")
        load_checkpoint(tmp_path / "m.npz")


def _members(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def _rewrite(path, members):
    buf = io.BytesIO()
    np.savez(buf, **members)
    path.write_bytes(buf.getvalue())


def _header(members):
    return json.loads(members["__header__"].tobytes())


def _with_header(members, **changes):
    h = _header(members)
    h.update(changes)
    return {**members, "__header__": np.frombuffer(json.dumps(h).encode(), np.uint8)}


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "m.npz"
    model().save(path)
    return path


def test_truncated(saved):
    data = saved.read_bytes()
    for cut in (len(data) // 2, len(data) - 30, 10):
        saved.write_bytes(data[:cut])
        with pytest.raises(ModelFormatError, match="not a readable convkit .npz"):
            Sequential.load(saved)


def test_flipped_byte_in_weights_is_caught(saved):
    data = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as z:
        info = z.getinfo("param/0.weight.npy")
    pos = info.header_offset + 30 + len(info.filename) + len(info.extra) + info.compress_size - 3
    data[pos] ^= 0x40
    saved.write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match="CRC|not a readable"):
        Sequential.load(saved)


def test_foreign_files(tmp_path):
    cases = {"text.npz": b"hello, not a zip", "empty.npz": b""}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelFormatError):
            Sequential.load(tmp_path / name)
    np.savez(tmp_path / "other.npz", images=np.zeros((2, 2)), labels=np.zeros(2))
    with pytest.raises(ModelFormatError, match="no __header__"):
        Sequential.load(tmp_path / "other.npz")
    np.save(tmp_path / "plain.npy", np.zeros(3))
    with pytest.raises(ModelFormatError):
        Sequential.load(tmp_path / "plain.npy")
    with pytest.raises(FileNotFoundError):
        Sequential.load(tmp_path / "missing.npz")


def test_pickled_object_is_never_loaded(saved, tmp_path):
    members = _members(saved)
    members["param/0.weight"] = np.array([{"__reduce__": "boom"}], dtype=object)
    buf = io.BytesIO()
    np.savez(buf, **members)          # np.savez pickles object arrays
    saved.write_bytes(buf.getvalue())
    with pytest.raises(ModelFormatError, match="not a readable"):
        Sequential.load(saved)


@pytest.mark.parametrize("change,match", [
    (lambda m: _with_header(m, format="keras"), "is not a convkit model"),
    (lambda m: _with_header(m, version=99), "version 99 is not supported"),
    (lambda m: _with_header(m, dtype="int8"), "dtype must be float32 or float64"),
    (lambda m: _with_header(m, architecture=[{"type": "Eval", "code": "os.system('x')"}]), "invalid architecture"),
    (lambda m: _with_header(m, architecture="Conv2D"), "architecture must be a non-empty list"),
    (lambda m: _with_header(m, architecture=[{"type": "Dense", "in_features": 10**6, "out_features": 10**6}]),
     "needs more weights than the file stores"),
    (lambda m: _with_header(m, architecture=[{"type": "Dense", "in_features": "3", "out_features": 2}]),
     "layer sizes must be positive ints"),
    (lambda m: _with_header(m, class_names=["a", "b", "c"]), "names 3 classes"),
    (lambda m: _with_header(m, class_names=[1, 2]), "class_names must be a list of strings"),
    (lambda m: _with_header(m, input_shape=[1, -8, 8]), "input_shape must be"),
    (lambda m: _with_header(m, normalization={"std": 0}), "std must be > 0"),
    (lambda m: _with_header(m, normalization={"mean": "x"}), "finite numbers"),
    (lambda m: {**m, "param/0.weight": np.zeros((3, 1, 3, 2), np.float32)}, "has shape"),
    (lambda m: {**m, "param/0.weight": m["param/0.weight"].astype(np.float64)}, "has dtype float64"),
    (lambda m: {**m, "param/5.bias": np.full(2, np.nan, np.float32)}, "NaN or infinite"),
    (lambda m: {k: v for k, v in m.items() if k != "param/5.bias"}, "missing"),
    (lambda m: {**m, "extra": np.zeros(2)}, "unexpected members"),
    (lambda m: {**m, "__header__": np.frombuffer(b"{not json", np.uint8)}, "not UTF-8 JSON"),
    (lambda m: {**m, "__header__": np.frombuffer(b"[1, 2]", np.uint8)}, "must be a JSON object"),
    (lambda m: {**m, "__header__": np.zeros(3, np.float32)}, "must be a 1-D uint8 array"),
])
def test_altered_files(saved, change, match):
    _rewrite(saved, change(_members(saved)))
    with pytest.raises(ModelFormatError, match=match):
        Sequential.load(saved)


def test_model_format_error_is_a_value_error():
    assert issubclass(ModelFormatError, ValueError)


@pytest.mark.parametrize("how", ["raises", "short", "fsync"])
def test_a_full_disk_fails_the_model_write_and_keeps_the_old_model(tmp_path, monkeypatch, how):
    import os

    from helpers.full_disk import full_disk
    from test_cnn_model import small_net

    path = tmp_path / "m.npz"
    small_net(seed=0).save(path)
    before = path.read_bytes()
    full_disk(monkeypatch, how)
    with pytest.raises(OSError, match="No space left|bytes reached the disk"):
        small_net(seed=1).save(path, overwrite=True)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["m.npz"] and path.read_bytes() == before


# ----------------------------------------------------------------------------- hostile files
# (issue 16: zip bombs, raw members, deep JSON, forged headers and shapes are ModelFormatErrors
# raised before any large allocation)

def test_model_zip_bomb_refused_before_inflating(tmp_path):
    good = tmp_path / "m.npz"
    small_model().save(good)
    bomb = tmp_path / "bomb.npz"
    rewrite_npz(good, bomb, {}, big=("param/3.weight.npy", 64))      # 64 MiB of zeros, ~64 KB on disk
    assert bomb.stat().st_size < 2**20
    result, peak = peak_mib(load_model, bomb)
    assert isinstance(result, ModelFormatError), result
    assert "member 'param/3.weight' is 67108864 bytes unpacked, but its header shape needs 864" in str(result)
    assert peak < 5, peak


def test_model_unlisted_member_refused_before_loading(tmp_path):
    good = tmp_path / "m.npz"
    small_model().save(good)
    extra = tmp_path / "extra.npz"
    rewrite_npz(good, extra, {}, big=None)
    with zipfile.ZipFile(extra, "a") as zf:
        zf.writestr("evil.npy", b"x")
    with pytest.raises(ModelFormatError, match=r"extra.npz: unexpected members \['evil'\]"):
        load_model(extra)


def test_raw_member_and_deep_json_are_model_format_errors(tmp_path):
    good = tmp_path / "m.npz"
    small_model().save(good)
    raw = tmp_path / "raw.npz"
    rewrite_npz(good, raw, {"param/0.bias.npy": b"\x00" * 8})
    with pytest.raises(ModelFormatError, match=r"raw.npz: not a readable convkit .npz file"):
        load_model(raw)
    deep = tmp_path / "deep.npz"
    with zipfile.ZipFile(deep, "w") as zf:
        buf = io.BytesIO()
        np.save(buf, np.frombuffer(b"[" * 100_000 + b"]" * 100_000, np.uint8))
        zf.writestr("__header__.npy", buf.getvalue())
    with pytest.raises(ModelFormatError, match="deep.npz: __header__ is nested too deeply"):
        load_model(deep)


def test_npy_member_that_claims_more_than_its_bytes_is_refused(tmp_path):
    good = tmp_path / "m.npz"
    small_model().save(good)
    bad = tmp_path / "bad.npz"
    rewrite_npz(good, bad, {"param/0.bias.npy": forged_npy()})
    result, peak = peak_mib(load_model, bad)
    assert isinstance(result, ModelFormatError) and peak < 5, result
    assert "member 'param/0.bias' announces 80000000000 bytes of float64" in str(result)


def test_model_input_shape_is_bounded(tmp_path):
    model = Sequential([Conv2D(1, 2, 3), MaxPool2D(19998), Flatten(), Dense(2, 3)],
                       input_shape=(1, 20000, 20000))
    path = tmp_path / "wide.npz"
    model.save(path)
    with pytest.raises(ModelFormatError, match=r"wide.npz: input_shape \[1, 20000, 20000\] has more than "
                                                 r"1048576 values per sample"):
        load_model(path)
    good = tmp_path / "m.npz"
    small_model().save(good)
    header = npz_header(good)
    for shape, match in [([2, 8, 8], r"input_shape \[2, 8, 8\] does not fit the architecture: layer 0 "
                                     r"takes 1 channels"),
                         ([1, 9, 9], r"input_shape \[1, 9, 9\] does not fit the architecture: layer 3 "
                                     r"takes 72 features, it would get \(98,\)"),
                         ([8, 8], r"input_shape \[8, 8\] does not fit the architecture: layer 0 takes 1 "
                                  r"channels, it would get \(8, 8\)"),
                         ([8], r"input_shape \[8\] does not fit the architecture: layer 0 takes 1 channels"),
                         ([1, 8, 8, 8], r"input_shape must be null, \[C, H, W\], \[C, L\] or \[features\]")]:
        forged = tmp_path / "forged.npz"
        rewrite_npz(good, forged, {}, header={**header, "input_shape": shape})
        with pytest.raises(ModelFormatError, match=f"forged.npz: {match}"):
            load_model(forged)
        forged.unlink()


def test_bad_model_header_names_the_file(tmp_path):
    good = tmp_path / "m.npz"
    small_model().save(good)
    header = npz_header(good)
    for key, value in [("params", 5), ("architecture", [{"type": "Dense", "in_features": 5}]),
                       ("class_names", 5), ("normalization", 5), ("buffers", [1])]:
        bad = tmp_path / "bad.npz"
        rewrite_npz(good, bad, {}, header={**header, key: value})
        with pytest.raises(ModelFormatError, match=r"^.*bad.npz: "):
            load_model(bad)
        bad.unlink()


def test_fifo_model_is_refused_at_once(tmp_path):
    import os
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    result = finishes(lambda: load_model(fifo))
    assert isinstance(result, ValueError) and "is not a regular file" in str(result), result
