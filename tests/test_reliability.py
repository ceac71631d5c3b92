"""Issue 16: nothing a file, a signal or a number can do crashes, exhausts memory or loses data.

One test (or a few) per cause of the issue, numbered as there. Memory bounds are
measured with tracemalloc (numpy reports its allocations to it), so "refused
before allocating" is checked, not assumed.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import struct
import threading
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convkit.cnn import Sequential
from convkit.cnn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU
from convkit.cnn.serialize import ModelFormatError, load_model
from convkit._names import MAX_PIXELS
from convkit.io import FileFormatError, read_image, read_signal
from convkit.io.errors import CorruptImageError


def _peak_mib(func, *args, **kwargs) -> tuple[object, float]:
    """(what func raised or returned, peak traced MiB while it ran)."""
    tracemalloc.start()
    try:
        try:
            result: object = func(*args, **kwargs)
        except Exception as exc:            # the caller checks which
            result = exc
        return result, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(w: int, h: int, depth: int, colour: int, idat: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _finishes(func, seconds: float = 10.0) -> object:
    """Run func in a thread; fail (instead of hanging) if it has not returned in time."""
    box: list[object] = []

    def target() -> None:
        try:
            box.append(func())
        except Exception as exc:
            box.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert box, f"still running after {seconds} s (blocked)"
    return box[0]


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*"))


# -- 1. dataset label bound ------------------------------------------------------------------

def test_1_npz_dataset_bounds_the_class_count(tmp_path):
    from convkit.cnn.datasets import MAX_CLASSES, load_dataset
    path = tmp_path / "d.npz"
    np.savez(path, images=np.zeros((3, 4, 4), np.uint8), labels=np.array([0, MAX_CLASSES, 1]))
    (result, peak) = _peak_mib(load_dataset, path)
    assert isinstance(result, ValueError) and peak < 5
    with pytest.raises(ValueError, match=rf"label {MAX_CLASSES} \(at index 1\) out of range; "
                                         rf"labels must be below {MAX_CLASSES}"):
        load_dataset(path)
    np.savez(path, images=np.zeros((2, 4, 4), np.uint8), labels=np.array([0, -3]))
    with pytest.raises(ValueError, match=r"label -3 \(at index 1\) out of range; labels must be >= 0"):
        load_dataset(path)


def test_1_idx_labels_are_bounded(tmp_path):
    from convkit.cnn.datasets import MAX_CLASSES, idx_dataset
    images = tmp_path / "im-idx3-ubyte"
    labels = tmp_path / "lb-idx1-ubyte"
    images.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">III", 2, 2, 2) + bytes(8))
    labels.write_bytes(bytes([0, 0, 0x0C, 1]) + struct.pack(">I", 2) + struct.pack(">ii", 0, 10**9))
    with pytest.raises(ValueError, match=rf"label 1000000000 .* below {MAX_CLASSES}"):
        idx_dataset(images, labels)


def test_1_npz_dataset_zip_bomb_refused_from_the_directory(tmp_path):
    from convkit.cnn.datasets import MAX_DATASET_BYTES, load_dataset
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        buf = io.BytesIO()
        np.save(buf, np.zeros(3, np.int64))
        zf.writestr("labels.npy", buf.getvalue())
        with zf.open("images.npy", "w", force_zip64=True) as fh:
            block = bytes(2**20)
            for _ in range(MAX_DATASET_BYTES // 2**20 + 1):
                fh.write(block)
    result, peak = _peak_mib(load_dataset, path)
    assert isinstance(result, ValueError) and "unpack to" in str(result) and peak < 5


def test_1_image_folder_bounds_the_decoded_total(tmp_path, monkeypatch):
    from convkit.cnn import datasets
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(np.zeros((64, 64), np.uint8)).save(tmp_path / cls / f"{i}.png")
    assert len(datasets.image_folder(tmp_path)) == 6
    monkeypatch.setattr(datasets, "MAX_DATASET_BYTES", 4 * 64 * 64 * 8)      # four decoded images
    with pytest.raises(ValueError, match=r"the images decode to more than 131072 bytes \(at b/1.png\)"):
        datasets.image_folder(tmp_path)


# -- 2. model zip bomb, raw members, deep JSON -------------------------------------------------

def _model() -> Sequential:
    return Sequential([Conv2D(1, 2, 3), ReLU(), Flatten(), Dense(2 * 6 * 6, 3)], input_shape=(1, 8, 8),
                      class_names=["a", "b", "c"])


def _rewrite(src: Path, dst: Path, replace: dict[str, bytes | None], *, header: dict | None = None,
             big: tuple[str, int] | None = None) -> None:
    """Copy a model file, replacing members (None: drop) / the header / one member by `big` zeros."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if header is not None and name == "__header__.npy":
                buf = io.BytesIO()
                np.save(buf, np.frombuffer(json.dumps(header).encode(), np.uint8))
                data = buf.getvalue()
            if big is not None and name == big[0]:
                with zout.open(name, "w", force_zip64=True) as fh:
                    for _ in range(big[1]):
                        fh.write(bytes(2**20))
                continue
            if name in replace:
                if replace[name] is None:
                    continue
                data = replace[name]
            zout.writestr(name, data)


def _header(path: Path) -> dict:
    with zipfile.ZipFile(path) as zf:
        return json.loads(np.load(io.BytesIO(zf.read("__header__.npy"))).tobytes())


def test_2_model_zip_bomb_refused_before_inflating(tmp_path):
    good = tmp_path / "m.npz"
    _model().save(good)
    bomb = tmp_path / "bomb.npz"
    _rewrite(good, bomb, {}, big=("param/3.weight.npy", 64))        # 64 MiB of zeros, ~64 KB on disk
    assert bomb.stat().st_size < 2**20
    result, peak = _peak_mib(load_model, bomb)
    assert isinstance(result, ModelFormatError), result
    assert "member 'param/3.weight' is 67108864 bytes unpacked, but its header shape needs 864" in str(result)
    assert peak < 5, peak


def test_2_model_unlisted_member_refused_before_loading(tmp_path):
    good = tmp_path / "m.npz"
    _model().save(good)
    extra = tmp_path / "extra.npz"
    _rewrite(good, extra, {}, big=None)
    with zipfile.ZipFile(extra, "a") as zf:
        zf.writestr("evil.npy", b"x")
    with pytest.raises(ModelFormatError, match=r"extra.npz: unexpected members \['evil'\]"):
        load_model(extra)


def test_2_raw_member_and_deep_json_are_model_format_errors(tmp_path):
    good = tmp_path / "m.npz"
    _model().save(good)
    raw = tmp_path / "raw.npz"
    _rewrite(good, raw, {"param/0.bias.npy": b"\x00" * 8})
    with pytest.raises(ModelFormatError, match=r"raw.npz: not a readable convkit .npz file"):
        load_model(raw)
    deep = tmp_path / "deep.npz"
    with zipfile.ZipFile(deep, "w") as zf:
        buf = io.BytesIO()
        np.save(buf, np.frombuffer(b"[" * 100_000 + b"]" * 100_000, np.uint8))
        zf.writestr("__header__.npy", buf.getvalue())
    with pytest.raises(ModelFormatError, match="deep.npz: __header__ is nested too deeply"):
        load_model(deep)


def test_2_npy_headers_that_claim_more_than_their_file_are_refused(tmp_path):
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (10000000000,), }"
    header += " " * (118 - len(header)) + "\n"
    forged = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + bytes(80)
    (tmp_path / "s.npy").write_bytes(forged)
    result, peak = _peak_mib(read_signal, tmp_path / "s.npy")
    assert isinstance(result, FileFormatError) and peak < 5
    assert "its .npy header announces 80000000000 bytes, the file holds 209" in str(result)
    good = tmp_path / "m.npz"
    _model().save(good)
    bad = tmp_path / "bad.npz"
    _rewrite(good, bad, {"param/0.bias.npy": forged})
    result, peak = _peak_mib(load_model, bad)
    assert isinstance(result, ModelFormatError) and peak < 5, result
    assert "member 'param/0.bias' announces 80000000000 bytes of float64" in str(result)


# -- 3. model input_shape bound ------------------------------------------------------------------

def test_3_model_input_shape_is_bounded(tmp_path):
    model = Sequential([Conv2D(1, 2, 3), MaxPool2D(19998), Flatten(), Dense(2, 3)],
                       input_shape=(1, 20000, 20000))
    path = tmp_path / "wide.npz"
    model.save(path)
    with pytest.raises(ModelFormatError, match=r"wide.npz: input_shape \[1, 20000, 20000\] has more than "
                                                 r"1048576 values per sample"):
        load_model(path)
    good = tmp_path / "m.npz"
    _model().save(good)
    header = _header(good)
    for shape, match in [([2, 8, 8], r"input_shape \[2, 8, 8\] does not fit the architecture: layer 0 takes 1 "
                                         r"channels"), ([1, 9, 9], r"input_shape \[1, 9, 9\] does not fit the architecture: layer 3 takes 72 features, "
                                         r"it would get \(98,\)"), ([8, 8], r"input_shape \[8, 8\] does not fit the architecture: layer 0 takes 1 channels, it would get "
                   r"\(8, 8\)"), ([8], r"input_shape \[8\] does not fit the architecture: layer 0 takes 1 channels")]:
        forged = tmp_path / "forged.npz"
        _rewrite(good, forged, {}, header={**header, "input_shape": shape})
        with pytest.raises(ModelFormatError, match=f"forged.npz: {match}"):
            load_model(forged)
        forged.unlink()


# -- 4. image decoding limit, 16-bit PNG bomb, vectorised unfilter -------------------------------

def test_4_image_refused_by_the_memory_the_operation_needs(tmp_path, monkeypatch, cli):
    path = tmp_path / "big.png"                     # 11000^2 RGB: 352 KB of zeros would do; a header suffices
    path.write_bytes(_png(11000, 11000, 8, 2, zlib.compress(b"")))
    result, peak = _peak_mib(read_image, path)
    assert isinstance(result, FileFormatError) and peak < 5
    assert re.search(r"11000x11000 pixels x 3 channel\(s\) of 8 bits; reading and filtering it needs "
                     r"about 11\.2 GiB, above the limit of [\d.]+ GiB \(" + str(MAX_PIXELS) + r" gray 8-bit pixels\)",
                     str(result)), result
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((40, 30), np.uint8)).save(small)
    monkeypatch.setenv("CONVKIT_MAX_PIXELS", "1000")
    with pytest.raises(FileFormatError, match="30x40 pixels x 1 channel"):
        read_image(small)
    assert read_image(small, max_pixels=1200).shape == (40, 30)
    monkeypatch.setenv("CONVKIT_MAX_PIXELS", "1200")
    assert read_image(small).shape == (40, 30)
    monkeypatch.delenv("CONVKIT_MAX_PIXELS")
    r = cli("filter", small, "-k", "blur", "-o", tmp_path / "o.png", "--max-pixels", "1000")
    assert r.exit_code == 2 and "--max-pixels" in r.stderr and not (tmp_path / "o.png").exists()
    r = cli("filter", small, "-k", "blur", "-o", tmp_path / "o.png", "--max-pixels", "1200")
    assert r.exit_code == 0, r.output


def test_4_jpeg_with_patched_dimensions_refused_before_decoding(tmp_path):
    path = tmp_path / "p.jpg"
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(path)
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 12000, 12000)     # height, width (below Pillow's own limit)
    path.write_bytes(bytes(data))
    result, peak = _peak_mib(read_image, path)
    assert isinstance(result, FileFormatError) and "12000x12000 pixels x 3" in str(result), result
    assert peak < 5


def test_4_png16_zlib_bomb_inflates_no_more_than_the_header_says(tmp_path):
    path = tmp_path / "bomb16.png"
    stream = zlib.compressobj()
    idat = b"".join(stream.compress(bytes(2**20)) for _ in range(64)) + stream.flush()
    path.write_bytes(_png(100, 100, 16, 2, idat))
    result, peak = _peak_mib(read_image, path)
    assert isinstance(result, FileFormatError), result
    assert "longer than the 100x100 image its header declares" in str(result)
    assert peak < 8, peak


def _paeth_filter(raw: np.ndarray, bpp: int) -> np.ndarray:
    """Reference PNG Paeth filter of (H, stride) uint8 rows (the specification's formula)."""
    a = np.zeros_like(raw, dtype=np.int32)
    a[:, bpp:] = raw[:, :-bpp]
    b = np.zeros_like(a)
    b[1:] = raw[:-1]
    c = np.zeros_like(a)
    c[1:, bpp:] = raw[:-1, :-bpp]
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    pred = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
    return ((raw.astype(np.int32) - pred) % 256).astype(np.uint8)


def _average_filter(raw: np.ndarray, bpp: int) -> np.ndarray:
    a = np.zeros_like(raw, dtype=np.int32)
    a[:, bpp:] = raw[:, :-bpp]
    b = np.zeros_like(a)
    b[1:] = raw[:-1]
    return ((raw.astype(np.int32) - (a + b) // 2) % 256).astype(np.uint8)


@pytest.mark.parametrize("channels", [3, 4])
def test_4_png16_all_filters_decode_exactly(tmp_path, channels):
    rng = np.random.default_rng(channels)
    h, w = 23, 17
    image = rng.integers(0, 65536, (h, w, channels)).astype(np.uint16)
    image[5:12] = 1000                              # runs, so the predictors matter
    raw = image.astype(">u2").reshape(h, -1).view(np.uint8)
    bpp = channels * 2
    up = np.diff(raw, axis=0, prepend=np.zeros((1, raw.shape[1]), np.uint8))
    sub = np.diff(raw.reshape(h, w, bpp), axis=1, prepend=np.zeros((h, 1, bpp), np.uint8)).reshape(h, -1)
    filtered = {0: raw, 1: sub, 2: up, 3: _average_filter(raw, bpp), 4: _paeth_filter(raw, bpp)}
    kinds = rng.integers(0, 5, h)
    rows = np.stack([np.concatenate([[k], filtered[int(k)][y]]) for y, k in enumerate(kinds)]).astype(np.uint8)
    path = tmp_path / "f.png"
    path.write_bytes(_png(w, h, 16, {3: 2, 4: 6}[channels], zlib.compress(rows.tobytes())))
    from convkit.io import read_image_raw
    np.testing.assert_array_equal(read_image_raw(path), image)


def test_4_png16_paeth_is_vectorised(tmp_path):
    h = w = 1500
    rng = np.random.default_rng(0)
    image = (np.add.outer(np.arange(h), np.arange(w))[..., None] * [7, 11, 13] % 65536).astype(np.uint16)
    image[::7] += rng.integers(0, 50, (w, 3), dtype=np.uint16)[None]
    raw = image.astype(">u2").reshape(h, -1).view(np.uint8)
    rows = np.hstack([np.full((h, 1), 4, np.uint8), _paeth_filter(raw, 6)])
    path = tmp_path / "paeth.png"
    path.write_bytes(_png(w, h, 16, 2, zlib.compress(rows.tobytes(), 9)))
    from convkit.io import read_image_raw
    t0 = time.perf_counter()
    out = read_image_raw(path)
    assert time.perf_counter() - t0 < 3          # measured: 1 s; the per-byte loop took 6.5 s
    np.testing.assert_array_equal(out, image)


# -- 5. FIFOs and other non-regular files --------------------------------------------------------

def test_5_fifo_inputs_are_refused_at_once(tmp_path, cli):
    from convkit.cnn.datasets import load_dataset
    for name, read in [("in.png", read_image), ("in.csv", read_signal), ("in.wav", read_signal),
                       ("model.npz", load_model), ("data.npz", load_dataset)]:
        fifo = tmp_path / name
        os.mkfifo(fifo)
        result = _finishes(lambda: read(fifo))
        assert isinstance(result, ValueError) and "is not a regular file" in str(result), (name, result)
    fifo = tmp_path / "cli.png"
    os.mkfifo(fifo)
    r = _finishes(lambda: cli("filter", fifo, "-k", "blur", "-o", tmp_path / "o.png"))
    assert r.exit_code == 2 and "not a regular file" in r.stderr    # type: ignore[attr-defined]


# -- 6. a failing batch keeps what existed -------------------------------------------------------

def test_6_failed_batch_keeps_existing_outputs(tmp_path, cli, samples):
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes((samples / "camera.png").read_bytes())
    (tmp_path / "c.png").write_bytes(b"not an image at all")
    old = {}
    for name in ("a_blur.png", "b_blur.png"):
        Image.fromarray(np.full((4, 4), 7, np.uint8)).save(tmp_path / name)
        old[name] = (tmp_path / name).read_bytes()
    r = cli("filter", tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png", "-k", "blur", "--force")
    assert r.exit_code == 2 and "c.png" in r.stderr
    assert "nothing written" in r.stderr and "existing files were left unchanged" in r.stderr
    for name, data in old.items():
        assert (tmp_path / name).read_bytes() == data
    assert not (tmp_path / "c_blur.png").exists() and _hidden(tmp_path) == []
    ok = cli("filter", tmp_path / "a.png", tmp_path / "b.png", "-k", "blur", "--force")
    assert ok.exit_code == 0 and (tmp_path / "a_blur.png").read_bytes() != old["a_blur.png"]


# -- 7. a dangling symlink is an existing output -------------------------------------------------

def test_7_dangling_symlink_needs_force(tmp_path, cli, samples):
    link = tmp_path / "out.png"
    link.symlink_to(tmp_path / "nowhere.png")
    r = cli("filter", samples / "camera.png", "-k", "blur", "-o", link)
    assert r.exit_code == 2 and "exists (a dangling symbolic link); pass --force" in r.stderr
    assert link.is_symlink() and not (tmp_path / "nowhere.png").exists()
    from convkit.io import OutputExistsError, write_signal
    with pytest.raises(OutputExistsError, match="dangling symbolic link"):
        write_signal(_dangling(tmp_path / "s.csv"), [1.0])
    r = cli("filter", samples / "camera.png", "-k", "blur", "-o", link, "--force")
    assert r.exit_code == 0 and not link.is_symlink() and read_image(link).shape == (256, 256)


def _dangling(path: Path) -> Path:
    path.symlink_to(path.with_name("missing-target"))
    return path


# -- 8. SIGTERM is Ctrl-C: no temp files, training checkpoints ------------------------------------

def _sigterm() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(1)                                   # the handler runs before this returns


def test_8_sigterm_while_writing_leaves_no_temp_file(tmp_path, cli, samples, monkeypatch):
    from convkit.io import codecs
    original = codecs.encode

    def encode_then_term(tmp, a, fmt):
        original(tmp, a, fmt)
        _sigterm()

    monkeypatch.setattr(codecs, "encode", encode_then_term)
    before = signal.getsignal(signal.SIGTERM)
    r = cli("filter", samples / "camera.png", "-k", "blur", "-o", tmp_path / "o.png")
    assert r.exit_code == 130 and not (tmp_path / "o.png").exists() and _hidden(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.fixture()
def digits_file(tiny_digits):
    return tiny_digits


TINY = ["--arch", "conv4-relu-pool2-dense", "--batch-size", "16", "--augment", "0"]


@pytest.mark.parametrize("epoch", [1, 2])
def test_8_sigterm_in_training_checkpoints_the_last_epoch(tmp_path, cli, digits_file, monkeypatch, epoch):
    from convkit.cnn import load_checkpoint
    from convkit.cnn.runs import EpochReporter
    original = EpochReporter.on_batch_end

    def term(self, batch, n_batches, loss):
        if len(self.context.history.epoch) == epoch - 1 and batch == 2:
            _sigterm()
        original(self, batch, n_batches, loss)

    monkeypatch.setattr(EpochReporter, "on_batch_end", term)
    out = tmp_path / "run"
    r = cli("train", "--dataset", digits_file, "--out", out, "--epochs", "3", *TINY)
    assert r.exit_code == 130 and f"interrupted after {epoch - 1} complete epoch(s)" in r.stderr
    assert "convkit train --resume" in r.stderr and _hidden(tmp_path) == []
    assert load_checkpoint(out / "checkpoint.npz").epoch == epoch - 1
    monkeypatch.setattr(EpochReporter, "on_batch_end", original)
    resumed = cli("train", "--resume", "--out", out)
    assert resumed.exit_code == 0, resumed.output


def test_8_interrupt_before_the_first_epoch_leaves_a_usable_folder(tmp_path, cli, digits_file, monkeypatch):
    from convkit.cnn.runs import EpochReporter

    def term(self, context):
        _sigterm()

    monkeypatch.setattr(EpochReporter, "on_train_begin", term)
    out = tmp_path / "run"
    r = cli("train", "--dataset", digits_file, "--out", out, "--epochs", "1", *TINY)
    assert r.exit_code == 130 and not out.exists()
    monkeypatch.undo()
    again = cli("train", "--dataset", digits_file, "--out", out, "--epochs", "1", *TINY)
    assert again.exit_code == 0, again.output


# -- 9. corrupt JPEG ---------------------------------------------------------------------------

def _jpeg(path: Path, **options) -> np.ndarray:
    rng = np.random.default_rng(0)
    a = np.kron(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8), np.ones((10, 10, 1), np.uint8))
    Image.fromarray(a).save(path, quality=95, **options)
    return a


def test_9_corrupt_jpeg_is_an_error_unless_allowed(tmp_path, cli):
    path = tmp_path / "c.jpg"
    _jpeg(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2:len(data) // 2 + 500] = bytes(500)
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptImageError, match=r"c.jpg' is a corrupt JPEG file \(64 or more zero bytes"):
        read_image(path)
    r = cli("filter", path, "-k", "blur", "-o", tmp_path / "o.png")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1
    assert "corrupt JPEG file" in r.stderr and "pass --allow-corrupt to read it anyway" in r.stderr
    r = cli("filter", path, "-k", "blur", "-o", tmp_path / "o.png", "--allow-corrupt")
    assert r.exit_code == 0 and r.stderr.startswith("warning: ") and "corrupt JPEG" in r.stderr
    assert (tmp_path / "o.png").is_file()


@pytest.mark.parametrize("options", [{}, {"optimize": True}, {"progressive": True}, {"subsampling": 2}])
def test_9_valid_jpegs_are_not_called_corrupt(tmp_path, options, samples):
    _jpeg(tmp_path / "a.jpg", **options)
    assert read_image(tmp_path / "a.jpg").shape == (200, 200, 3)
    for colour in (0, 128, 255):                    # flat images: all-zero data with optimised tables
        Image.new("RGB", (512, 512), (colour,) * 3).save(tmp_path / "f.jpg", **options)
        np.testing.assert_allclose(read_image(tmp_path / "f.jpg"), colour / 255, atol=2 / 255)
    Image.open(samples / "astronaut.png").convert("RGB").save(tmp_path / "p.jpg", **options)
    assert read_image(tmp_path / "p.jpg").shape == (256, 256, 3)


# -- 10. tracebacks become one line --------------------------------------------------------------

def _wav(channels: int = 1, data: bytes | None = b"\x00\x00" * 4, fmt_size: int = 16) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, channels, 8000, 16000 * max(channels, 1), 2 * max(channels, 1), 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", fmt_size) + fmt
    if data is not None:
        body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize("content, match", [
    (_wav(channels=0), "is a WAV file with 0 channels"),
    (_wav()[:30], "fmt chunk has an invalid size|no fmt chunk|truncated"),
    (_wav(data=None), "no data chunk"),
    (_wav(fmt_size=2**31), "fmt chunk has an invalid size 2147483648"),
])
def test_10_damaged_wav_is_one_line(tmp_path, cli, content, match):
    path = tmp_path / "x.wav"
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=match):
        read_signal(path)
    r = cli("convolve", path, path, "-o", tmp_path / "y.wav")
    assert r.exit_code == 2 and r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1
    assert "Traceback" not in r.output


@pytest.mark.parametrize("run, match", [
    ({"dataset": "digits"}, r"run.json is not a convkit run file \(missing keys \['seed', 'test_split', "
                            r"'val_split'\]\)"),
    ("{not json", r"run.json is not a convkit run file \(not JSON"),
    ({"dataset": "digits", "seed": "x", "test_split": 0.25, "val_split": 0.1}, "run.json: seed must be int"),
])
def test_10_evaluate_with_a_bad_run_json_names_it(tmp_path, cli, run, match):
    _model().save(tmp_path / "model.npz")
    (tmp_path / "run.json").write_text(run if isinstance(run, str) else json.dumps(run))
    r = cli("evaluate", tmp_path / "model.npz")
    assert r.exit_code == 2 and re.search(match, r.stderr), r.stderr
    assert r.stderr.count("\n") == 1


# -- 11. non-finite numbers ---------------------------------------------------------------------

def test_11_diverging_training_stops_and_keeps_the_last_good_checkpoint(tmp_path, cli, digits_file):
    from convkit.cnn import load_checkpoint
    out = tmp_path / "run"
    r = cli("train", "--dataset", digits_file, "--out", out, "--epochs", "3", "--lr", "1e308", *TINY)
    assert r.exit_code == 2 and "training diverged at epoch 1 (loss nan); lower --lr" in r.stderr
    assert "RuntimeWarning" not in r.output and r.stderr.count("\n") == 2      # header + error
    ckpt = load_checkpoint(out / "checkpoint.npz")           # finite, else loading would refuse it
    assert ckpt.epoch == 0
    assert not (out / "metrics.json").exists() and _hidden(tmp_path) == []


def test_11_overflowing_kernel_is_one_line_without_numpy_warnings(tmp_path, cli, samples):
    r = cli("filter", samples / "camera.png", "-k", "1e308,1e308;1e308,1e308", "-o", tmp_path / "o.png")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "RuntimeWarning" not in r.output
    assert "gives values too large to represent (overflow); use a kernel with smaller weights" in r.stderr
    assert "np.nan_to_num" not in r.output


def test_11_huge_softmax_scores_and_weights_give_no_numpy_warnings(tmp_path, cli, samples):
    r = cli("explain", "softmax", "1e308,-1e308,0")
    assert r.exit_code == 0 and "RuntimeWarning" not in r.output and "Warning" not in r.stderr
    model = _model()                                # positive features, then logits of +inf
    model.layers[0].params["weight"][...] = 1.0
    model.layers[0].params["bias"][...] = 0.0
    model.layers[-1].params["weight"][...] = 3e38
    model.save(tmp_path / "huge.npz")
    r = cli("predict", tmp_path / "huge.npz", samples / "digit_7.png")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "RuntimeWarning" not in r.output
    assert "gives NaN or infinite class scores (its weights overflow float32)" in r.stderr


# -- 12. messages name the right thing ---------------------------------------------------------

def test_12_permission_error_from_temp_file_is_renamed(tmp_path, monkeypatch):
    from convkit.io import atomic, write_signal
    target = tmp_path / "o.csv"

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".o.abc.csv"))

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError) as info:
        write_signal(target, [1.0])
    assert info.value.filename == str(target)


def test_12_seed_and_signed_tiff_messages(tmp_path, cli, digits_file):
    r = cli("train", "--dataset", digits_file, "--seed", "-1", "--out", tmp_path / "run")
    assert r.exit_code == 2 and "--seed" in r.stderr
    import tifffile
    tifffile.imwrite(tmp_path / "s.tif", np.array([[-5, 3], [100, -200]], np.int16))
    with pytest.raises(FileFormatError, match="signed 16-bit integer samples"):
        read_image(tmp_path / "s.tif")


def test_12_bad_model_header_names_the_file(tmp_path):
    good = tmp_path / "m.npz"
    _model().save(good)
    header = _header(good)
    for key, value in [("params", 5), ("architecture", [{"type": "Dense", "in_features": 5}]),
                       ("class_names", 5), ("normalization", 5), ("buffers", [1])]:
        bad = tmp_path / "bad.npz"
        _rewrite(good, bad, {}, header={**header, key: value})
        with pytest.raises(ModelFormatError, match=r"^.*bad.npz: "):
            load_model(bad)
        bad.unlink()


@pytest.mark.parametrize("meta", [5, {}, {"start": 2, "count": 3}])
def test_12_forged_checkpoint_state_names_the_checkpoint(tmp_path, cli, digits_file, monkeypatch, meta):
    from convkit.cnn.runs import EpochReporter
    original = EpochReporter.on_batch_end

    def ctrl_c(self, batch, n_batches, loss):
        if len(self.context.history.epoch) == 1:
            raise KeyboardInterrupt
        original(self, batch, n_batches, loss)

    monkeypatch.setattr(EpochReporter, "on_batch_end", ctrl_c)
    out = tmp_path / "run"
    assert cli("train", "--dataset", digits_file, "--out", out, "--epochs", "3", *TINY).exit_code == 130
    monkeypatch.undo()
    ckpt = out / "checkpoint.npz"
    header = _header(ckpt)
    key = next(k for k in header["callbacks"] if k.endswith("WeightAverage"))
    header["callbacks"][key]["meta"] = meta
    forged = tmp_path / "forged.npz"
    _rewrite(ckpt, forged, {}, header=header)
    forged.replace(ckpt)
    r = cli("train", "--resume", "--out", out)
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.output
    assert str(ckpt) in r.stderr, r.stderr


# -- 13. object arrays of Python ints ------------------------------------------------------------

@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("method", ["auto", "direct", "fft"])
def test_13_object_arrays_are_exact_as_scipy(mode, method):
    from scipy import signal as ss

    from convkit import convolve, correlate
    rng = np.random.default_rng(1)
    a = np.array([int(v) * 2**70 + 1 for v in rng.integers(-9, 9, 11)], dtype=object)
    b = np.array([int(v) * 2**65 - 3 for v in rng.integers(-9, 9, 4)], dtype=object)
    for ours, theirs in [(convolve, ss.convolve), (correlate, ss.correlate)]:
        got = ours(a, b, mode, method)
        want = theirs(a, b, mode, "direct")
        assert got.dtype == object and got.tolist() == want.tolist()
    assert convolve(a, np.array([1, 2], np.int64)).tolist() == ss.convolve(a, np.array([1, 2], dtype=object)).tolist()


def test_13_object_arrays_2d_match_exact_integer_reference():
    from scipy import signal as ss

    from convkit import convolve
    rng = np.random.default_rng(2)
    small = rng.integers(-50, 50, (5, 6))
    kernel = rng.integers(-5, 5, (3, 2))
    want = ss.convolve(small, kernel).astype(object) * 2**80     # exact: scaled after the int64 sum
    got = convolve(small.astype(object) * 2**80, kernel.astype(object))
    assert got.dtype == object and got.tolist() == want.tolist()


def test_13_object_arrays_refuse_non_ints():
    from convkit import convolve
    with pytest.raises(TypeError, match=r"an object array in1 must hold Python ints .* got an element 1.5"):
        convolve(np.array([1.5, 2], dtype=object), [1, 2])


# -- 14. README examples can run twice ---------------------------------------------------------

def test_14_readme_commands_do_not_write_into_samples():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    writers = [line for line in readme.splitlines()
               if re.match(r"\$ convkit (filter|pool|convolve) samples/", line)]
    assert writers
    for line in writers:
        assert re.search(r" -o (?!samples/)\S+", line), line


# -- 15. show says it resized ------------------------------------------------------------------

def test_15_show_says_when_it_resizes(tmp_path, cli, samples, monkeypatch):
    from convkit.viz import model as viz_model
    path = tmp_path / "m.npz"
    _model().save(path)
    titles = []
    original = viz_model.model_figure

    def spy(model, x=None, **kwargs):
        titles.append(kwargs.get("input_title"))
        return original(model, x, **kwargs)

    monkeypatch.setattr(viz_model, "model_figure", spy)
    r = cli("show", path, samples / "coins.png", "-o", tmp_path / "maps.png")
    assert r.exit_code == 0, r.output
    assert "coins.png is 384x303 pixels; it is resized to the model's 8x8 input" in r.stderr
    assert titles == ["input: the 384x303 image resized to the model's 8x8"]


# -- 16. printed grids stay aligned -------------------------------------------------------------

def _number_ends(line: str) -> list[int]:
    return [m.end() for m in re.finditer(r"-?\d+(\.\d+)?|(?<![\w.])\.(?![\w.])", line)]


def test_16_explain_conv_grids_are_aligned(cli, samples):
    r = cli("explain", "conv", samples / "seed_image.csv", "--kernel", "edge")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    for start, line in enumerate(lines):
        if not line.startswith("image [window]"):
            continue
        block = lines[start + 1:start + 8]           # the 7 image rows; the other grids beside them
        ends = [_number_ends(row) for row in block]
        image_cols = [e[:7] for e in ends]
        assert all(c == image_cols[0] for c in image_cols), (start, block)
        fmap = [e[-5:] for e in ends[:5]]             # the 5 feature-map rows end each line
        assert all(c == fmap[0] for c in fmap), (start, block)


def test_16_format_grid_marks_keep_columns():
    from convkit.viz.text import format_grid
    lines = format_grid([[1, -10, 3], [100, 2, 0.5]], mark=[[True, False, False], [False, True, False]])
    assert [_number_ends(line) for line in lines][0] == [_number_ends(line) for line in lines][1]


# -- 17. log files get no bar labels; the saved line lists run.json ------------------------------

def test_17_log_file_has_one_line_per_epoch_and_saved_lists_every_file(tmp_path, cli, digits_file):
    from convkit.cnn.runs import RUN_FILES
    r = cli("train", "--dataset", digits_file, "--out", tmp_path / "run", "--epochs", "2", *TINY)
    assert r.exit_code == 0, r.output
    assert not re.search(r"^epoch \d+/2\s*$", r.stderr, re.M), r.stderr      # no bare bar labels
    assert len(re.findall(r"^epoch +\d+/2 +loss", r.stdout, re.M)) == 2
    saved = r.stdout.strip().splitlines()[-1]
    assert "run.json" in saved and all(name in saved for name in RUN_FILES.values())
    assert all((tmp_path / "run" / name).is_file() for name in RUN_FILES.values())

