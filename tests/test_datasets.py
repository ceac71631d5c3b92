"""Dataset loaders against the arrays the tests wrote; stratified seeded splits."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from PIL import Image

from convkit.cnn.datasets import (Dataset, digits, faces, idx_dataset, image_folder, load_dataset, npz_dataset,
                                  read_idx, shapes, split)
from helpers.hostile import finishes, peak_mib


def _write_idx(path, array, *, compress=False):
    codes = {np.dtype(np.uint8): 0x08}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.tobytes()
    if compress:
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def test_digits_matches_sklearn():
    from sklearn.datasets import load_digits
    ref = load_digits()
    d = digits()
    assert d.images.shape == (1797, 1, 8, 8) and d.images.dtype == np.float32
    np.testing.assert_allclose(d.images[:, 0] * 16, ref.images, atol=1e-5)
    np.testing.assert_array_equal(d.labels, ref.target)


def test_faces_bundled():
    from skimage.data import lfw_subset
    d = faces()
    np.testing.assert_allclose(d.images[:, 0], lfw_subset(), atol=1e-6)
    assert np.bincount(d.labels).tolist() == [100, 100] and d.labels[0] == 1 and d.labels[-1] == 0


def test_shapes_seeded_and_balanced():
    a, b, c = shapes(20, 24, seed=3), shapes(20, 24, seed=3), shapes(20, 24, seed=4)
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.images, c.images)
    assert a.images.shape == (80, 1, 24, 24) and np.bincount(a.labels).tolist() == [20] * 4
    assert 0 <= a.images.min() and a.images.max() <= 1
    # shapes differ in area as geometry says: a square (side 1.6 r) covers more than a cross (arms 0.56 r wide)
    bright = (a.images[:, 0] > 0.5).mean(axis=(1, 2))
    assert bright[a.labels == 1].mean() > bright[a.labels == 3].mean()


def test_npz_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, 5, 6), dtype=np.uint8)
    labels = np.arange(12) % 3
    np.savez(tmp_path / "d.npz", images=images, labels=labels, class_names=np.array(["a", "b", "c"]))
    d = load_dataset(tmp_path / "d.npz")
    assert d.images.dtype == np.uint8                      # kept as stored, converted per batch
    np.testing.assert_array_equal(d.images[:, 0], images)
    np.testing.assert_allclose(d.float_images()[:, 0], images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(d.labels, labels)
    assert d.class_names == ["a", "b", "c"]
    # N x H x W x 3 colour becomes N x 3 x H x W
    col = rng.random((4, 5, 6, 3)).astype(np.float32)
    np.savez(tmp_path / "c.npz", images=col, labels=np.array([0, 1, 0, 1]))
    np.testing.assert_array_equal(npz_dataset(tmp_path / "c.npz").images, col.transpose(0, 3, 1, 2))


def test_npz_bad_labels_and_pickles(tmp_path):
    np.savez(tmp_path / "o.npz", images=np.zeros((3, 4, 4), np.uint8), labels=np.array([0, 1, 5]),
             class_names=np.array(["a", "b"]))
    with pytest.raises(ValueError, match="label 5 out of range"):
        npz_dataset(tmp_path / "o.npz")
    np.savez(tmp_path / "n.npz", images=np.zeros((2, 4, 4), np.uint8), labels=np.array([0, -1]))
    with pytest.raises(ValueError, match="out of range"):
        npz_dataset(tmp_path / "n.npz")
    np.savez(tmp_path / "p.npz", images=np.array([object()] * 2, dtype=object), labels=np.array([0, 1]))
    with pytest.raises(ValueError):
        npz_dataset(tmp_path / "p.npz")
    np.savez(tmp_path / "m.npz", pixels=np.zeros(3))
    with pytest.raises(ValueError, match="images, labels"):
        npz_dataset(tmp_path / "m.npz")


@pytest.mark.parametrize("compress", [False, True])
def test_idx_folder_and_pair(tmp_path, compress):
    rng = np.random.default_rng(1)
    tr_x = rng.integers(0, 256, (7, 4, 5), dtype=np.uint8)
    tr_y = rng.integers(0, 10, 7).astype(np.uint8)
    te_x = rng.integers(0, 256, (3, 4, 5), dtype=np.uint8)
    te_y = rng.integers(0, 10, 3).astype(np.uint8)
    gz = ".gz" if compress else ""
    _write_idx(tmp_path / f"train-images-idx3-ubyte{gz}", tr_x, compress=compress)
    _write_idx(tmp_path / f"train-labels-idx1-ubyte{gz}", tr_y, compress=compress)
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{gz}", te_x, compress=compress)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{gz}", te_y, compress=compress)
    np.testing.assert_array_equal(read_idx(tmp_path / f"t10k-images-idx3-ubyte{gz}"), te_x)
    d = load_dataset(tmp_path)
    np.testing.assert_array_equal(d.images[:, 0], np.concatenate([tr_x, te_x]))
    np.testing.assert_allclose(d.float_images()[:, 0], np.concatenate([tr_x, te_x]) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(d.labels, np.concatenate([tr_y, te_y]))
    assert d.class_names == [str(i) for i in range(10)]
    pair = load_dataset(f"{tmp_path}/t10k-images-idx3-ubyte{gz},{tmp_path}/t10k-labels-idx1-ubyte{gz}")
    np.testing.assert_array_equal(pair.labels, te_y)
    (tmp_path / "bad").write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x09")
    with pytest.raises(ValueError, match="truncated|size"):
        read_idx(tmp_path / "bad")
    (tmp_path / "zip").write_bytes(b"PK\x03\x04")
    with pytest.raises(ValueError, match="magic"):
        idx_dataset(tmp_path / "zip", tmp_path / "zip")


def _png(path, array):
    Image.fromarray(array).save(path)


def test_image_folder(tmp_path):
    rng = np.random.default_rng(2)
    written = {}
    for cls in ("dog", "cat"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            a = rng.integers(0, 256, (6, 7), dtype=np.uint8)
            _png(tmp_path / cls / f"{i}.png", a)
            written[(cls, i)] = a
    d = image_folder(tmp_path)
    assert d.class_names == ["cat", "dog"] and d.images.shape == (6, 1, 6, 7)
    expect = np.stack([written[(c, i)] for c in ("cat", "dog") for i in range(3)]) / 255.0
    np.testing.assert_allclose(d.images[:, 0], expect, atol=1e-6)
    np.testing.assert_array_equal(d.labels, [0, 0, 0, 1, 1, 1])
    # resizing to a common size, against skimage's resize of the written array
    from skimage.transform import resize
    r = image_folder(tmp_path, size=(3, 4))
    np.testing.assert_allclose(r.images[0, 0], resize(written[("cat", 0)] / 255.0, (3, 4), order=1,
                                                      anti_aliasing=True), atol=1e-5)
    # a colour image makes the whole set RGB
    rgb = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    _png(tmp_path / "cat" / "9.png", rgb)
    c = image_folder(tmp_path)
    assert c.images.shape == (7, 3, 6, 7)
    np.testing.assert_allclose(c.images[3], rgb.transpose(2, 0, 1) / 255.0, atol=1e-6)


def test_image_folder_errors(tmp_path):
    (tmp_path / "only").mkdir()
    _png(tmp_path / "only" / "a.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="at least two class"):
        image_folder(tmp_path)
    (tmp_path / "other").mkdir()
    _png(tmp_path / "other" / "b.png", np.zeros((5, 4), np.uint8))
    with pytest.raises(ValueError, match="mixed sizes.*other/b.png|mixed sizes.*only/a.png"):
        image_folder(tmp_path, resize=False)
    (tmp_path / "other" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match="unreadable.*other/broken.png"):
        image_folder(tmp_path)
    with pytest.raises(ValueError, match="unknown dataset 'nope'.*digits"):
        load_dataset("nope")


def test_split_stratified_and_seeded():
    labels = np.repeat(np.arange(4), [40, 20, 80, 60])
    d = Dataset(np.zeros((200, 1, 2, 2), np.float32), labels, list("abcd"), "t")
    tr, va, te = split(d, 0.25, 0.1, seed=5)
    assert len(tr) + len(va) + len(te) == 200
    np.testing.assert_array_equal(np.bincount(te.labels), np.round(0.25 * np.array([40, 20, 80, 60])))
    np.testing.assert_array_equal(np.bincount(va.labels), np.round(0.1 * np.array([40, 20, 80, 60])))
    # disjoint and deterministic: tag every sample with its index
    tagged = Dataset(np.arange(200, dtype=np.float32).reshape(200, 1, 1, 1) / 200, labels, list("abcd"), "t")
    parts = [np.round(p.images.ravel() * 200).astype(int) for p in split(tagged, 0.25, 0.1, seed=5)]
    again = [np.round(p.images.ravel() * 200).astype(int) for p in split(tagged, 0.25, 0.1, seed=5)]
    other = [np.round(p.images.ravel() * 200).astype(int) for p in split(tagged, 0.25, 0.1, seed=6)]
    assert sorted(np.concatenate(parts).tolist()) == list(range(200))
    for a, b in zip(parts, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(parts[2], other[2])
    with pytest.raises(ValueError, match="test and val"):
        split(d, 0.7, 0.4)


def _mnist_folder(folder, n_train=60, n_test=20, seed=0):
    """Tiny MNIST-named IDX files: 8 x 8 images, a bright row whose position is the class (0-3)."""
    rng = np.random.default_rng(seed)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        y = (np.arange(n) % 4).astype(np.uint8)
        x = rng.integers(0, 60, (n, 8, 8)).astype(np.uint8)
        x[np.arange(n), 2 * y] = 250
        _write_idx(folder / f"{prefix}-images-idx3-ubyte", x)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte", y)
        out[prefix] = (x, y)
    return out


def test_idx_folder_with_t10k_tests_on_t10k(tmp_path):
    files = _mnist_folder(tmp_path)
    data = load_dataset(tmp_path)
    assert data.test_start == 60 and len(data) == 80
    train, val, test = split(data, 0.25, 0.1, seed=3)
    np.testing.assert_array_equal(test.images[:, 0], files["t10k"][0])
    np.testing.assert_array_equal(test.labels, files["t10k"][1])
    # validation: round(0.1 * 15) = 2 of each class's 15 training samples; no t10k sample in either
    assert len(val) == 8 and len(train) == 52
    assert np.bincount(val.labels).tolist() == [2, 2, 2, 2]
    both = np.concatenate([train.images, val.images])
    seen = {row.tobytes() for row in both}
    assert seen == {row.tobytes() for row in data.images[:60]}
    assert train.test_start is None and test.test_start is None
    # one pair only (or a single pair of files): no official test set, split as before
    only_train = load_dataset(f"{tmp_path}/train-images-idx3-ubyte,{tmp_path}/train-labels-idx1-ubyte")
    assert only_train.test_start is None and len(split(only_train, 0.25, 0.1)[2]) == 16


# -- Fashion-MNIST by name (Debian's dataset-fashion-mnist; .ci/run installs it) ----------------

FASHION = "/usr/share/datasets/fashion-mnist"


def _raw_idx(path, count):
    """The first `count` records of a gzip IDX file, parsed here from the format's definition."""
    import gzip
    with gzip.open(path, "rb") as f:
        head = f.read(4)
        dims = np.frombuffer(f.read(4 * head[3]), ">u4")
        size = int(np.prod(dims[1:])) if len(dims) > 1 else 1
        return np.frombuffer(f.read(count * size), np.uint8).reshape((count, *dims[1:])), int(dims[0])


def test_fashion_mnist_reads_the_installed_package():
    from convkit.cnn.datasets import fashion_mnist
    data = load_dataset("fashion-mnist")
    assert data.images.dtype == np.uint8 and data.images.shape == (70000, 1, 28, 28)
    assert data.test_start == 60000 and data.name == "fashion-mnist"
    assert data.class_names[0] == "t-shirt/top" and data.class_names[9] == "ankle boot"
    for part, start in (("train", 0), ("t10k", 60000)):
        images, n = _raw_idx(f"{FASHION}/{part}-images-idx3-ubyte.gz", 300)
        labels, n_labels = _raw_idx(f"{FASHION}/{part}-labels-idx1-ubyte.gz", 300)
        assert n == n_labels == (60000 if part == "train" else 10000)
        np.testing.assert_array_equal(data.images[start:start + 300, 0], images)
        np.testing.assert_array_equal(data.labels[start:start + 300], labels)
    train, val, test = split(data, 0.25, 0.1, seed=0)
    assert len(test) == 10000 and len(train) + len(val) == 60000
    assert fashion_mnist(FASHION).images.shape == data.images.shape


def test_fashion_mnist_missing_or_half_installed(monkeypatch, tmp_path):
    from convkit.cnn import datasets
    monkeypatch.setattr(datasets, "FASHION_MNIST_DIRS", (str(tmp_path / "absent"),))
    with pytest.raises(ValueError, match=r"not installed: install Debian's package \(apt-get install "
                                         r"dataset-fashion-mnist.*or pass the folder"):
        load_dataset("fashion-mnist")
    half = tmp_path / "half"
    half.mkdir()
    _write_idx(half / "train-images-idx3-ubyte.gz", np.zeros((3, 28, 28), np.uint8), compress=True)
    _write_idx(half / "train-labels-idx1-ubyte.gz", np.zeros(3, np.uint8), compress=True)
    monkeypatch.setattr(datasets, "FASHION_MNIST_DIRS", (str(half),))
    with pytest.raises(ValueError, match=r"must hold the train and the t10k IDX files.*found "
                                         r"train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz"):
        load_dataset("fashion-mnist")
    _write_idx(half / "t10k-images-idx3-ubyte.gz", np.zeros((2, 28, 28), np.uint8), compress=True)
    _write_idx(half / "t10k-labels-idx1-ubyte.gz", np.zeros(3, np.uint8), compress=True)
    with pytest.raises(ValueError, match=r"expected N x H x W images and N labels, got \(2, 28, 28\) and \(3,\)"):
        load_dataset("fashion-mnist")


# -- signals -----------------------------------------------------------------------------------

def test_mnist1d_is_the_packages_dataset():
    from mnist1d.data import get_dataset_args, make_dataset
    state = np.random.get_state()
    data = load_dataset("mnist1d")
    assert np.array_equal(np.random.get_state()[1], state[1])          # the global generator is left alone
    ref = make_dataset(get_dataset_args())
    assert data.images.shape == (5000, 1, 40) and data.test_start == 4000
    np.testing.assert_allclose(data.images[:4000, 0], ref["x"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(data.images[4000:, 0], ref["x_test"], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(data.labels, np.concatenate([ref["y"], ref["y_test"]]))
    train, val, test = split(data, 0.25, 0.1, seed=0)
    assert len(test) == 1000 and len(train) + len(val) == 4000


def test_signal_folder_length_rule_and_errors(tmp_path):
    from scipy.io import wavfile

    from convkit.cnn.datasets import fit_length, is_image_folder, is_signal_folder
    root = tmp_path / "beats"
    rng = np.random.default_rng(0)
    made = {}
    for c, lengths in (("a", [50, 50, 60]), ("b", [50, 40])):
        (root / c).mkdir(parents=True)
        for i, n in enumerate(lengths):
            x = rng.standard_normal(n)
            made[f"{c}{i}"] = x
            if i == 0:
                np.save(root / c / f"{i}.npy", x)
            else:
                (root / c / f"{i}.csv").write_text("\n".join(repr(float(v)) for v in x))
    assert is_signal_folder(root) and not is_image_folder(root)
    data = load_dataset(root)
    assert data.images.shape == (5, 1, 50) and data.class_names == ["a", "b"]
    np.testing.assert_array_equal(data.labels, [0, 0, 0, 1, 1])
    np.testing.assert_allclose(data.images[2, 0], made["a2"][:50], rtol=1e-6)              # cut at the end
    np.testing.assert_allclose(data.images[4, 0], np.r_[made["b1"], np.zeros(10)], rtol=1e-6)  # zeros after
    assert fit_length(np.ones((2, 3)), 5).tolist() == [[1, 1, 1, 0, 0]] * 2
    (root / "c").mkdir()
    with pytest.raises(ValueError, match="empty: c"):
        load_dataset(root)
    (root / "c").rmdir()
    wavfile.write(root / "a" / "stereo.wav", 8000, np.zeros((50, 2), np.int16))
    with pytest.raises(ValueError, match=r"stereo.wav has 2 channel\(s\), a/0.npy has 1"):
        load_dataset(root)
    rates = tmp_path / "rates"
    for c, rate in (("x", 8000), ("y", 16000)):
        (rates / c).mkdir(parents=True)
        wavfile.write(rates / c / "s.wav", rate, np.zeros(30, np.int16))
    with pytest.raises(ValueError, match="sampled at 16000 Hz, x/s.wav at 8000 Hz"):
        load_dataset(rates)


def test_npz_signals(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 20))
    np.savez(tmp_path / "s.npz", signals=x, labels=np.arange(6) % 2)
    data = load_dataset(tmp_path / "s.npz")
    assert data.images.shape == (6, 1, 20) and data.images.dtype == np.float32
    np.testing.assert_allclose(data.images[:, 0], x, rtol=1e-6)
    np.savez(tmp_path / "bad.npz", signals=x.reshape(6, 2, 2, 5), labels=np.arange(6) % 2)
    with pytest.raises(ValueError, match=r"signals must be N x L or N x C x L, got shape \(6, 2, 2, 5\)"):
        load_dataset(tmp_path / "bad.npz")
    x[1, 3] = np.nan
    np.savez(tmp_path / "nan.npz", signals=x, labels=np.arange(6) % 2)
    with pytest.raises(ValueError, match="signal values must be finite"):
        load_dataset(tmp_path / "nan.npz")


# ----------------------------------------------------------------------------- hostile files
# (issue 16: labels, zip bombs and decoded totals are bounded before anything large is allocated)

def test_npz_dataset_bounds_the_class_count(tmp_path):
    from convkit.cnn.datasets import MAX_CLASSES
    path = tmp_path / "d.npz"
    np.savez(path, images=np.zeros((3, 4, 4), np.uint8), labels=np.array([0, MAX_CLASSES, 1]))
    (result, peak) = peak_mib(load_dataset, path)
    assert isinstance(result, ValueError) and peak < 5
    with pytest.raises(ValueError, match=rf"label {MAX_CLASSES} \(at index 1\) out of range; "
                                         rf"labels must be below {MAX_CLASSES}"):
        load_dataset(path)
    np.savez(path, images=np.zeros((2, 4, 4), np.uint8), labels=np.array([0, -3]))
    with pytest.raises(ValueError, match=r"label -3 \(at index 1\) out of range; labels must be >= 0"):
        load_dataset(path)


def test_idx_labels_are_bounded(tmp_path):
    from convkit.cnn.datasets import MAX_CLASSES
    images = tmp_path / "im-idx3-ubyte"
    labels = tmp_path / "lb-idx1-ubyte"
    images.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">III", 2, 2, 2) + bytes(8))
    labels.write_bytes(bytes([0, 0, 0x0C, 1]) + struct.pack(">I", 2) + struct.pack(">ii", 0, 10**9))
    with pytest.raises(ValueError, match=rf"label 1000000000 .* below {MAX_CLASSES}"):
        idx_dataset(images, labels)


def test_npz_dataset_zip_bomb_refused_from_the_directory(tmp_path):
    import io
    import zipfile

    from convkit.cnn.datasets import MAX_DATASET_BYTES
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        buf = io.BytesIO()
        np.save(buf, np.zeros(3, np.int64))
        zf.writestr("labels.npy", buf.getvalue())
        with zf.open("images.npy", "w", force_zip64=True) as fh:
            block = bytes(2**20)
            for _ in range(MAX_DATASET_BYTES // 2**20 + 1):
                fh.write(block)
    result, peak = peak_mib(load_dataset, path)
    assert isinstance(result, ValueError) and "unpack to" in str(result) and peak < 5


def test_image_folder_bounds_the_decoded_total(tmp_path, monkeypatch):
    from convkit.cnn import datasets
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(np.zeros((64, 64), np.uint8)).save(tmp_path / cls / f"{i}.png")
    assert len(datasets.image_folder(tmp_path)) == 6
    monkeypatch.setattr(datasets, "MAX_DATASET_BYTES", 4 * 64 * 64 * 8)      # four decoded images
    with pytest.raises(ValueError, match=r"the images decode to more than 131072 bytes \(at b/1.png\)"):
        datasets.image_folder(tmp_path)


def test_fifo_dataset_is_refused_at_once(tmp_path):
    import os
    fifo = tmp_path / "data.npz"
    os.mkfifo(fifo)
    result = finishes(lambda: load_dataset(fifo))
    assert isinstance(result, ValueError) and "is not a regular file" in str(result), result
