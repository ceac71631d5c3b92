"""Image classification datasets for `convkit.cnn`, all as N x C x H x W arrays in their stored type.

Images stay as stored: unsigned integers (uint8 for IDX files and most
``.npz`` files; a sample means value / the type's maximum, as for image
files) or float32 in [0, 1]. `Sequential.fit`, `evaluate` and `predict`
convert one batch at a time, so Fashion-MNIST's 70,000 images take 55 MB, not
220 MB of float32.

Built in (nothing is downloaded): ``digits`` (scikit-learn's 1,797 8 x 8
digits, the default), ``faces`` (scikit-image's 200 face / non-face 25 x 25
patches) and ``shapes`` (circles, squares, triangles and crosses drawn from a
seed); ``fashion-mnist`` by name reads the files of Debian's
``dataset-fashion-mnist`` package (`FASHION_MNIST_DIRS`). From files: an image
folder ``root/<class>/*.png``, a ``.npz`` with ``images`` and ``labels`` (read
with ``allow_pickle=False``) and MNIST / Fashion-MNIST IDX files (raw or
``.gz``). `split` makes stratified, seeded
train / validation / test subsets; a dataset with an official test set (an
IDX folder holding both the train and the t10k pairs) keeps it as the test
set and takes the validation set from its training part.
"""

from __future__ import annotations

import gzip
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .._names import BUILTIN_DATASETS, DISTRIBUTION, IMAGE_SUFFIXES, LUMA, SIGNAL_SUFFIXES
from ..io.atomic import regular_input
from ..io.images import to_float_image

__all__ = ["Dataset", "BUILTIN_DATASETS", "load_dataset", "is_image_folder", "digits", "faces", "shapes",
           "fashion_mnist", "FASHION_MNIST_DIRS", "mnist1d", "image_folder", "npz_dataset", "idx_dataset", "read_idx",
           "split", "MAX_CLASSES", "MAX_DATASET_BYTES", "signal_folder", "is_signal_folder", "fit_length"]

SHAPE_CLASSES = ("circle", "square", "triangle", "cross")
_FASHION = ("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
            "sneaker", "bag", "ankle boot")
MAX_CLASSES = 10_000                 # class names are made per label value: bound them first
MAX_DATASET_BYTES = 2 ** 28          # a dataset's arrays: a .npz unpacked (MNIST's are 55 MB), an IDX
                                     # file, an image folder's images decoded as float64
# where `fashion_mnist` looks: Debian's dataset-fashion-mnist installs its four .gz files here
FASHION_MNIST_DIRS = ("/usr/share/datasets/fashion-mnist",)
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass
class Dataset:
    """Images (N x C x H x W: uint8 / uint16 as stored, or float32 in [0, 1]) or signals (N x C x L,
    float32, any finite values), int labels (N,), class names, a name; `test_start`: where the
    official test samples begin (they run to the end), None without one."""

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    name: str
    test_start: int | None = None

    def __post_init__(self) -> None:
        raw = np.asarray(self.images)
        if raw.ndim not in (3, 4):
            raise ValueError(f"dataset {self.name!r}: samples must be N x C x H x W images or N x C x L "
                             f"signals, got shape {raw.shape}")
        self.images = np.ascontiguousarray(_stored(raw, f"dataset {self.name!r}") if raw.ndim == 4 else
                                           _signal_samples(raw, f"dataset {self.name!r}"))
        self.labels = np.asarray(self.labels)
        self.class_names = [str(c) for c in self.class_names]
        if self.labels.shape != (len(self.images),) or (self.labels.size and self.labels.dtype.kind not in "iu"):
            raise ValueError(f"dataset {self.name!r}: labels must be {len(self.images)} integers, "
                             f"got shape {self.labels.shape} dtype {self.labels.dtype}")
        self.labels = self.labels.astype(np.int64)
        k = len(self.class_names)
        bad = self.labels[(self.labels < 0) | (self.labels >= k)]
        if bad.size:
            raise ValueError(f"dataset {self.name!r}: label {int(bad[0])} out of range; labels must be "
                             f"0..{k - 1} for {k} classes")

    def __len__(self) -> int:
        return len(self.labels)

    def float_images(self) -> np.ndarray:
        """The images as float32 in [0, 1] (stored integers / their type's maximum, as
        `Sequential.normalize` converts each batch): a full copy, for looking at small sets."""
        if self.images.dtype.kind == "f":
            return self.images
        return to_float_image(self.images).astype(np.float32)

    def subset(self, index: np.ndarray) -> "Dataset":
        """The samples at `index`, same class names and name."""
        return Dataset(self.images[index], self.labels[index], list(self.class_names), self.name)


def digits() -> Dataset:
    """scikit-learn's bundled 8 x 8 handwritten digits (1,797 images, 16 gray levels scaled to [0, 1])."""
    from sklearn.datasets import load_digits
    d = load_digits()
    return Dataset((d.images / 16.0)[:, None], d.target, [str(i) for i in range(10)], "digits")


def faces() -> Dataset:
    """scikit-image's bundled LFW subset: 100 face and 100 non-face 25 x 25 gray patches."""
    from skimage.data import lfw_subset
    x = lfw_subset()
    y = np.repeat([1, 0], [100, len(x) - 100])     # skimage documents: first 100 are faces
    return Dataset(np.clip(x, 0, 1)[:, None], y, ["non-face", "face"], "faces")


def _draw(kind: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """One gray image of shape `kind` at a random size, position and brightness on a dark background."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    r = rng.uniform(0.18, 0.4) * size
    cy, cx = rng.uniform(r + 0.5, size - r - 0.5, size=2)
    dy, dx = (yy - cy) / r, (xx - cx) / r
    if kind == 0:
        mask = dy ** 2 + dx ** 2 <= 1.0
    elif kind == 1:
        mask = (np.abs(dy) <= 0.8) & (np.abs(dx) <= 0.8)
    elif kind == 2:                                  # apex up, base at dy = 0.8
        mask = (dy <= 0.8) & (np.abs(dx) <= (dy + 1.0) / 1.8 * 0.95)
    else:
        w = 0.28
        mask = ((np.abs(dy) <= 1) & (np.abs(dx) <= w)) | ((np.abs(dx) <= 1) & (np.abs(dy) <= w))
    image = rng.uniform(0.0, 0.15, size=(size, size))
    image[mask] = rng.uniform(0.6, 1.0)
    return image


def shapes(n_per_class: int = 150, size: int = 32, *, seed: int = 0) -> Dataset:
    """Generated gray images of circles, squares, triangles and crosses (seeded, random size/position)."""
    if int(n_per_class) < 1 or int(size) < 8:
        raise ValueError(f"shapes needs n_per_class >= 1 and size >= 8, got {n_per_class!r}, {size!r}")
    rng = np.random.default_rng(seed)
    labels = np.tile(np.arange(len(SHAPE_CLASSES)), int(n_per_class))
    images = np.stack([_draw(int(k), int(size), rng) for k in labels])[:, None]
    return Dataset(images, labels, list(SHAPE_CLASSES), "shapes")


def _to_nchw(images: np.ndarray, name: str) -> np.ndarray:
    """N x H x W, N x H x W x C or N x C x H x W (C in 1, 3, 4) -> N x C x H x W."""
    if images.ndim == 3:
        return images[:, None]
    if images.ndim == 4:
        if images.shape[1] in (1, 3) and images.shape[3] not in (1, 3, 4):
            return images
        if images.shape[3] in (1, 3, 4):
            return np.moveaxis(images, 3, 1)
        if images.shape[1] == 4:
            return images
    raise ValueError(f"{name}: images must be N x H x W, N x H x W x C or N x C x H x W with C in 1, 3, 4; "
                     f"got shape {images.shape}")


def _stored(images: np.ndarray, name: str) -> np.ndarray:
    """Images in the type a Dataset keeps: uint8 / uint16 unchanged (value / type maximum, converted
    per batch); bool and wider unsigned integers as float32 in [0, 1]; floats must already be
    finite and in [0, 1] (checked in slices: no temporary the size of the set)."""
    if images.dtype in (np.uint8, np.uint16):
        return images
    if images.dtype == bool:
        return images.astype(np.float32)
    if images.dtype.kind == "u":
        return (images / float(np.iinfo(images.dtype).max)).astype(np.float32)
    if images.dtype.kind == "f":
        flat = images.reshape(-1)
        for s in range(0, flat.size, 2**22):
            part = flat[s:s + 2**22]
            if not np.all(np.isfinite(part)) or part.min() < 0 or part.max() > 1:
                raise ValueError(f"{name}: float images must be finite and in [0, 1]")
        return images.astype(np.float32, copy=False)
    raise ValueError(f"{name}: images must be unsigned integers, bool or floats in [0, 1], got {images.dtype}")


def _signal_samples(signals: np.ndarray, name: str) -> np.ndarray:
    """Signals as float32 (numbers as they are: a signal has no type maximum); finite only."""
    if signals.dtype.kind not in "biuf":
        raise ValueError(f"{name}: signals must be numbers, got {signals.dtype}")
    out = signals.astype(np.float32, copy=False)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name}: signal values must be finite (float32)")
    return out


def _check_labels(labels: np.ndarray, name: str) -> int:
    """The class count the labels need (max + 1); ValueError naming a negative or huge label."""
    if not labels.size:
        return 0
    low, high = int(labels.min()), int(labels.max())
    if low < 0:
        raise ValueError(f"{name}: label {low} (at index {int(np.argmin(labels))}) out of range; "
                         "labels must be >= 0")
    if high >= MAX_CLASSES:
        raise ValueError(f"{name}: label {high} (at index {int(np.argmax(labels))}) out of range; "
                         f"labels must be below {MAX_CLASSES} (one class per value)")
    return high + 1


def _check_npz_sizes(path: Path) -> None:
    """Refuse, from the zip directory alone, a .npz whose arrays unpack to more than
    `MAX_DATASET_BYTES` (a zip bomb) before any array is read."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable .npz file ({exc})") from None
    if total > MAX_DATASET_BYTES:
        raise ValueError(f"{path}: its arrays unpack to {total} bytes, more than the {MAX_DATASET_BYTES} "
                         "a dataset .npz may hold")


def npz_dataset(path: str | os.PathLike) -> Dataset:
    """A ``.npz`` with ``images`` and integer ``labels`` (optional ``class_names``), never unpickled."""
    path = regular_input(path, "dataset file", "a dataset .npz file")
    _check_npz_sizes(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            key = "signals" if "signals" in f.files and "images" not in f.files else "images"
            missing = [k for k in (key, "labels") if k not in f.files]
            if missing:
                raise ValueError(f"{path}: missing array(s) {', '.join(missing)}; a dataset .npz needs "
                                 f"'images' (or 'signals') and 'labels' (and optionally 'class_names')")
            images, labels = f[key], f["labels"]
            names = [str(c) for c in f["class_names"]] if "class_names" in f.files else None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not a readable .npz file ({exc})") from None
    if not all(isinstance(a, np.ndarray) for a in (images, labels)):
        raise ValueError(f"{path}: images and labels must be .npy arrays")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"{path}: labels must be a 1-D integer array, got shape {labels.shape} dtype {labels.dtype}")
    n_classes = _check_labels(labels, str(path))
    if names is None:
        names = [str(i) for i in range(n_classes)]
    if key == "signals":
        if images.ndim not in (2, 3):
            raise ValueError(f"{path}: signals must be N x L or N x C x L, got shape {images.shape}")
        signals = images[:, None] if images.ndim == 2 else images
        return Dataset(_signal_samples(signals, str(path)), labels, names, path.stem)
    images = _stored(_to_nchw(images, str(path)), str(path))
    return Dataset(images, labels, names, path.stem)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (MNIST format, raw or gzip-compressed) into an array; no more bytes are
    read (or inflated) than the header's shape needs, at most `MAX_DATASET_BYTES`."""
    path = regular_input(path, "IDX file", "an IDX file")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_TYPES or head[3] < 1:
                raise ValueError(f"{path}: not an IDX file (bad magic number)")
            ndim = head[3]
            dims = f.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise ValueError(f"{path}: truncated IDX header")
            shape = tuple(int(v) for v in np.frombuffer(dims, ">u4", ndim))
            dtype = np.dtype(_IDX_TYPES[head[2]])  # type: ignore[call-overload]  # the table mixes types and codes
            count = int(np.prod([float(n) for n in shape]))
            if count * dtype.itemsize > MAX_DATASET_BYTES:
                raise ValueError(f"{path}: IDX header shape {shape} needs {count * dtype.itemsize} bytes, "
                                 f"more than the {MAX_DATASET_BYTES} a dataset file may hold")
            data = f.read(count * dtype.itemsize + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: cannot read IDX file ({exc})") from None
    if len(data) != count * dtype.itemsize:
        raise ValueError(f"{path}: IDX size does not match its header shape {shape}")
    # bytes in the native order: a view of what was read (uint8), a copy only to swap bytes
    return np.frombuffer(data, dtype, count).reshape(shape).astype(dtype.newbyteorder("="), copy=False)


def _idx_pairs(root: Path) -> list[tuple[Path, Path]]:
    """(images, labels) files with the standard MNIST names in `root`, train then test."""
    pairs = []
    for prefix in ("train", "t10k"):
        found: list[Path] = []
        for stem in (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"):
            cands = [root / (stem + s) for s in ("", ".gz")] + [root / (stem.replace("-idx", ".idx") + s)
                                                             for s in ("", ".gz")]
            found += [c for c in cands if c.is_file()][:1]
        if len(found) == 2:
            pairs.append((found[0], found[1]))
    return pairs


def idx_dataset(images: str | os.PathLike, labels: str | os.PathLike | None = None) -> Dataset:
    """MNIST / Fashion-MNIST IDX files: a folder with the standard names, or an images + labels pair.

    A folder's train and t10k pairs are concatenated (train first); with both,
    t10k is the official test set (``test_start``), which `split` keeps. Class names are the ten Fashion-MNIST names when
    the folder or file name contains "fashion", else "0" .. "9".
    """
    first = Path(images)
    if labels is None:
        if not first.is_dir():
            raise ValueError(f"{first}: give a folder with MNIST IDX files or an images file and a labels file")
        pairs = _idx_pairs(first)
        if not pairs:
            raise ValueError(f"{first}: no MNIST IDX files found (expected train-images-idx3-ubyte[.gz] and "
                             f"train-labels-idx1-ubyte[.gz], and/or the t10k- pair)")
    else:
        pairs = [(first, Path(labels))]
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for ip, lp in pairs:
        x, y = read_idx(ip), read_idx(lp)
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(f"{ip}, {lp}: expected N x H x W images and N labels, got {x.shape} and {y.shape}")
        if y.dtype.kind not in "iu":
            raise ValueError(f"{lp}: labels must be integers, got {y.dtype}")
        xs.append(_stored(x, str(ip)))
        ys.append(y.astype(np.int64))
    y = np.concatenate(ys)
    fashion = "fashion" in str(first).lower()
    k = max(10, _check_labels(y, str(pairs[0][1])))
    names = list(_FASHION) if fashion and k == 10 else [str(i) for i in range(k)]
    name = first.name if first.is_dir() else first.name.split("-")[0].split(".")[0]
    test_start = len(ys[0]) if len(pairs) == 2 else None
    return Dataset(np.concatenate(xs)[:, None], y, names, name or "idx", test_start)


def mnist1d() -> Dataset:
    """MNIST-1D (Greydanus 2020): 4,000 training and 1,000 test signals of length 40, ten classes,
    generated offline by the ``mnist1d`` package with its authors' settings and standardisation
    (``make_dataset(get_dataset_args())``; nothing is downloaded).

    Returns
    -------
    Dataset
        float32 signals (5000, 1, 40); the last 1,000 are the test set (``test_start``).

    Raises
    ------
    ValueError
        The ``mnist1d`` package is not installed (``pip install 'convkit-learn[mnist1d]'``).
    """
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise ValueError("dataset 'mnist1d' is generated by the mnist1d package, which is not installed: "
                         f"pip install '{DISTRIBUTION}[mnist1d]'") from None
    state = np.random.get_state()                 # the generator seeds numpy's global state
    try:
        data = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(state)
    x = np.concatenate([data["x"], data["x_test"]]).astype(np.float32)[:, None, :]
    y = np.concatenate([data["y"], data["y_test"]]).astype(np.int64)
    return Dataset(x, y, [str(i) for i in range(10)], "mnist1d", len(data["y"]))


def fashion_mnist(folder: str | os.PathLike | None = None) -> Dataset:
    """Fashion-MNIST (Xiao et al. 2017): 60,000 training and 10,000 test 28 x 28 uint8 images of
    ten kinds of clothing, from Debian's ``dataset-fashion-mnist`` files (or `folder`).

    The t10k images are the official test set (``test_start``). Nothing is downloaded: when
    the files are missing, the ValueError says how to install them or where to point.

    Parameters
    ----------
    folder : path, optional
        A folder with the four IDX files; default: the first of `FASHION_MNIST_DIRS` that has any.

    Returns
    -------
    Dataset
        uint8 images (70000, 1, 28, 28), labels, the ten class names.

    Raises
    ------
    ValueError
        The files are not installed, only some of them are, or they do not match.
    """
    if folder is None:
        found = [Path(d) for d in FASHION_MNIST_DIRS if Path(d).is_dir() and any(Path(d).iterdir())]
        if not found:
            raise ValueError("dataset 'fashion-mnist' is not installed: install Debian's package "
                             "(apt-get install dataset-fashion-mnist, files in "
                             f"{FASHION_MNIST_DIRS[0]}) or pass the folder with its IDX files as --dataset")
        folder = found[0]
    root = Path(folder)
    pairs = _idx_pairs(root) if root.is_dir() else []
    if len(pairs) != 2:
        have = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
        raise ValueError(f"dataset 'fashion-mnist': {root} must hold the train and the t10k IDX files "
                         f"(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
                         f"t10k-labels-idx1-ubyte.gz), found {', '.join(have) or 'none'}; reinstall "
                         f"dataset-fashion-mnist")
    data = idx_dataset(root)
    if data.images.shape[1:] != (1, 28, 28) or len(data.class_names) != 10:
        raise ValueError(f"dataset 'fashion-mnist': {root} holds {data.images.shape[1:]} images of "
                         f"{len(data.class_names)} classes, expected 28 x 28 images of 10 classes")
    return Dataset(data.images, data.labels, list(_FASHION), "fashion-mnist", data.test_start)


def image_folder(root: str | os.PathLike, *, size: int | Sequence[int] | None = None, resize: bool = True,
                 gray: bool | None = None) -> Dataset:
    """Images laid out ``root/<class>/*.png`` (also jpg, bmp, tif); classes are the sorted folder names.

    Parameters
    ----------
    root : path
        Folder with at least two class sub-folders, each with at least one image.
    size : int or (height, width), optional
        Resize every image to this size. Default: the most common size.
    resize : bool
        False: all images must already have one size (else ValueError).
    gray : bool, optional
        True: one channel (luminance). False: RGB. Default: gray unless some image is colour.
    """
    from skimage.transform import resize as sk_resize
    from ..io.images import read_image
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files = {c: sorted(p for p in (root / c).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) for c in classes}
    classes = [c for c in classes if files[c]]
    if len(classes) < 2:
        raise ValueError(f"{root}: an image folder needs at least two class sub-folders with images "
                         f"({', '.join(IMAGE_SUFFIXES)}), found {len(classes)}: {', '.join(classes) or 'none'}")
    images, labels, bad = [], [], []
    total = 0
    for k, c in enumerate(classes):
        for p in files[c]:
            try:
                images.append(read_image(p))
                labels.append(k)
            except (ValueError, OSError):
                bad.append(f"{c}/{p.name}")
                continue
            total += images[-1].nbytes
            if total > MAX_DATASET_BYTES:        # many small files of large flat images
                raise ValueError(f"{root}: the images decode to more than {MAX_DATASET_BYTES} bytes "
                                 f"(at {c}/{p.name}); use fewer or smaller images")
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise ValueError(f"{root}: unreadable image(s): {', '.join(bad[:5])}{more}")
    colour = any(im.ndim == 3 and im.shape[2] >= 3 for im in images) if gray is None else not gray
    out_imgs = []
    for im in images:
        if im.ndim == 3:
            im = im[..., :3] if im.shape[2] >= 3 else im[..., :1]         # drop alpha
            if not colour:
                im = im @ np.array(LUMA) if im.shape[2] == 3 else im[..., 0]
        if colour and im.ndim == 2:
            im = np.repeat(im[..., None], 3, axis=2)
        out_imgs.append(im)
    sizes = [im.shape[:2] for im in out_imgs]
    if size is None:
        uniq, counts = np.unique(np.array(sizes, dtype=np.int64), axis=0, return_counts=True)
        target = tuple(int(v) for v in uniq[int(np.argmax(counts))])
    else:
        target = (int(size), int(size)) if isinstance(size, (int, np.integer)) else tuple(int(v) for v in size)
        if len(target) != 2 or min(target) < 1:
            raise ValueError(f"size must be an int or (height, width) >= 1, got {size!r}")
    if not resize:
        names = [f"{classes[k]}/{p.name}" for k in range(len(classes)) for p in files[classes[k]]]
        odd = [n for n, s in zip(names, sizes) if s != target]
        if odd:
            raise ValueError(f"{root}: images of mixed sizes and resizing is off: {odd[0]} is "
                             f"{sizes[names.index(odd[0])]}, expected {target}")
    arr = np.stack([im if im.shape[:2] == target else
                    sk_resize(im, target, order=1, anti_aliasing=True, preserve_range=True) for im in out_imgs])
    arr = np.clip(arr, 0, 1)
    arr = np.moveaxis(arr, 3, 1) if arr.ndim == 4 else arr[:, None]
    return Dataset(arr, np.array(labels), classes, root.name)


def fit_length(samples: np.ndarray, length: int) -> np.ndarray:
    """A (C, N) signal brought to `length` samples by the one rule of signal folders and `predict`:
    cut after `length` samples, or zeros appended at the end (never resampled)."""
    if samples.shape[1] >= length:
        return samples[:, :length]
    return np.pad(samples, ((0, 0), (0, length - samples.shape[1])))


def signal_folder(root: str | os.PathLike, *, length: int | None = None) -> Dataset:
    """Signals laid out ``root/<class>/*.wav`` (or ``.csv``, ``.txt``, ``.npy``, one signal a file);
    classes are the sorted folder names.

    Every file must have the same channel count (and WAV files one sample rate: nothing is
    resampled). Signals are brought to one length by `fit_length`: `length` if given, else the
    most common length; longer ones are cut at the end, shorter ones padded with zeros at the end.

    Parameters
    ----------
    root : path
        Folder with at least two class sub-folders, each with at least one signal file.
    length : int, optional
        Samples per signal.

    Returns
    -------
    Dataset
        float32 signals (N, C, length).
    """
    from ..io.signals import read_signal
    root = Path(root)
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files = {c: sorted(p for p in (root / c).iterdir() if p.suffix.lower() in SIGNAL_SUFFIXES) for c in classes}
    empty = [c for c in classes if not files[c]]
    if empty or len(classes) < 2:
        raise ValueError(f"{root}: a signal folder needs at least two class sub-folders, each with signal files "
                         f"({', '.join(SIGNAL_SUFFIXES)}); "
                         + (f"empty: {', '.join(empty)}" if empty else f"found {len(classes)} class(es)"))
    signals, labels, total = [], [], 0
    first: tuple[str, int, int | None] | None = None
    for k, c in enumerate(classes):
        for p in files[c]:
            sig = read_signal(p)
            samples = sig.samples.T if sig.samples.ndim == 2 else sig.samples[None]      # (C, N)
            this = (f"{c}/{p.name}", samples.shape[0], sig.rate)
            if first is None:
                first = this
            elif this[1] != first[1]:
                raise ValueError(f"{root}: {this[0]} has {this[1]} channel(s), {first[0]} has {first[1]}; "
                                 "every signal needs the same channel count")
            elif (this[2] or first[2]) and this[2] != first[2]:
                raise ValueError(f"{root}: {this[0]} is sampled at {this[2]} Hz, {first[0]} at {first[2]} Hz; "
                                 "convert them to one rate (nothing is resampled)")
            total += samples.nbytes
            if total > MAX_DATASET_BYTES:
                raise ValueError(f"{root}: the signals decode to more than {MAX_DATASET_BYTES} bytes (at {this[0]})")
            signals.append(samples)
            labels.append(k)
    if length is None:
        sizes, counts = np.unique([s.shape[1] for s in signals], return_counts=True)
        length = int(sizes[np.argmax(counts)])
    if int(length) < 1:
        raise ValueError(f"signal length must be >= 1, got {length!r}")
    return Dataset(np.stack([fit_length(s, int(length)) for s in signals]), np.array(labels), classes, root.name)


def is_signal_folder(name_or_path: str | os.PathLike) -> bool:
    """Whether `load_dataset` reads this folder as signals: its class folders hold signal files
    (.wav, .csv, .txt, .npy) and no images."""
    path = Path(os.fspath(name_or_path))
    if not path.is_dir() or _idx_pairs(path):
        return False
    found = {f.suffix.lower() for d in path.iterdir() if d.is_dir() for f in d.iterdir()}
    return bool(found & set(SIGNAL_SUFFIXES)) and not found & set(IMAGE_SUFFIXES)


def is_image_folder(name_or_path: str | os.PathLike) -> bool:
    """Whether `load_dataset` reads this as an image folder (a folder without MNIST IDX files)."""
    path = Path(os.fspath(name_or_path))
    return path.is_dir() and not _idx_pairs(path) and not is_signal_folder(path)


def load_dataset(name_or_path: str | os.PathLike, *, seed: int = 0, size: int | Sequence[int] | None = None,
                 resize: bool = True, gray: bool | None = None) -> Dataset:
    """Load a built-in dataset by name or a dataset from a path.

    Accepted: ``digits``, ``faces``, ``shapes`` (generated from `seed`),
    ``fashion-mnist`` (Debian's package files, `fashion_mnist`), ``mnist1d``
    (generated by the mnist1d package), a
    folder of class sub-folders, a folder of MNIST IDX files, a ``.npz``, or
    ``IMAGES,LABELS`` (two IDX files separated by a comma). `size`, `resize`
    and `gray` apply to image folders.
    """
    text = os.fspath(name_or_path)
    path = Path(text)
    if (size is not None or not resize or gray is not None) and not is_image_folder(text):
        raise ValueError(f"image size, resizing and gray/RGB apply to image folders (root/<class>/*.png), "
                         f"not to {text!r}")
    if text in BUILTIN_DATASETS:
        if text == "shapes":
            return shapes(seed=seed)
        return {"digits": digits, "faces": faces, "fashion-mnist": fashion_mnist, "mnist1d": mnist1d}[text]()
    if "," in text and not Path(text).exists():
        a, b = text.split(",", 1)
        return idx_dataset(a, b)
    if path.is_dir():
        if _idx_pairs(path):
            return idx_dataset(path)
        if is_signal_folder(path):
            return signal_folder(path)
        return image_folder(path, size=size, resize=resize, gray=gray)
    if path.exists() and not path.is_dir():
        regular_input(path, "dataset file", "a dataset .npz file")       # a FIFO would block
        if path.suffix.lower() == ".npz":
            return npz_dataset(path)
        raise ValueError(f"dataset file {text!r} is not a .npz; for IDX files give IMAGES,LABELS or their folder")
    raise ValueError(f"unknown dataset {text!r}: expected one of {', '.join(BUILTIN_DATASETS)}, an image folder "
                     f"root/<class>/*.png, a .npz with images and labels, an MNIST IDX folder or IMAGES,LABELS")


def split(dataset: Dataset, test: float = 0.25, val: float = 0.1, *,
          seed: int = 0) -> tuple[Dataset, Dataset, Dataset]:
    """Stratified seeded (train, validation, test): each class gives round(test * n_c) test and
    round(val * n_c) validation samples (fractions of the whole class); indices stay sorted.
    A dataset with an official test set (``test_start``) returns it as the test set and splits
    `val` of each class of its training part off for validation; `test` is then not used."""
    if not (0 <= test < 1 and 0 <= val < 1 and test + val < 1):
        raise ValueError(f"test and val must be fractions in [0, 1) with test + val < 1, got {test!r}, {val!r}")
    if dataset.test_start is not None:
        cut = dataset.test_start
        train, valid, _ = split(dataset.subset(np.arange(cut)), 0.0, val, seed=seed)
        return train, valid, dataset.subset(np.arange(cut, len(dataset)))
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for c in range(len(dataset.class_names)):
        idx = rng.permutation(np.flatnonzero(dataset.labels == c))
        n_test, n_val = int(round(test * len(idx))), int(round(val * len(idx)))
        if n_test + n_val >= len(idx) and len(idx):
            n_val = max(0, len(idx) - 1 - n_test)
            n_test = min(n_test, len(idx) - 1)
        parts[2].append(idx[:n_test])
        parts[1].append(idx[n_test:n_test + n_val])
        parts[0].append(idx[n_test + n_val:])
    return tuple(dataset.subset(np.sort(np.concatenate(p)).astype(np.intp)) for p in parts)  # type: ignore
