"""convkit.data: the small sample files that ship inside the package.

The tutorial's 7x7 image and 3x3 detector, three photos, two drawn digits,
three kernel files and four 1-D signals (about 320 KB), so that every
tutorial step works from any folder, not only from a source checkout (as
``skimage.data`` does for scikit-image). `path` gives a file's location,
`load` reads it with convkit's own readers, `copy_samples` writes them all
into a folder (``convkit samples``). The files are made by
``samples/make_samples.py`` in a checkout; how each was made is in
``samples/README.md``. Nothing here downloads anything.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np

__all__ = ["SAMPLE_NAMES", "path", "load", "copy_samples"]

# file name -> what it holds (the table `convkit samples` prints)
SAMPLE_NAMES = {
    "seed_image.csv": "the tutorial's 7x7 binary image (two eyes, a nose, a smile)",
    "seed_detector.csv": "the tutorial's 3x3 feature detector",
    "seed_feature_map.csv": "the 5x5 feature map of the two (scipy's correlate2d)",
    "camera.png": "a photographer, 256x256 gray",
    "coins.png": "coins, 384x303 gray",
    "astronaut.png": "an astronaut's face, 256x256 RGB",
    "digit_7.png": "a drawn 7, 32x32 gray (for convkit predict)",
    "digit_4.png": "a drawn 4, 32x32 gray (for convkit predict)",
    "kernels/ridge.csv": "a 3x3 ridge kernel (comma-separated)",
    "kernels/kirsch_n.txt": "the 3x3 Kirsch compass kernel 'north' (whitespace-separated)",
    "kernels/emboss5.npy": "a 5x5 emboss kernel (.npy)",
    "signal.csv": "64 samples: a pulse train plus a sine",
    "impulse_response.csv": "12 samples of a one-pole low-pass",
    "signal.wav": "1 s of tones with clicks, 8 kHz",
    "impulse_response.wav": "0.25 s of a small synthetic room, 8 kHz",
}


def path(name: str) -> Path:
    """The location of one sample file.

    Parameters
    ----------
    name : str
        A key of `SAMPLE_NAMES`, e.g. ``"astronaut.png"`` or ``"kernels/ridge.csv"``.

    Returns
    -------
    path : pathlib.Path
        The file inside the installed package.

    Raises
    ------
    ValueError
        When `name` is not a sample, listing the names.

    Examples
    --------
    >>> from convkit import data
    >>> data.path("seed_image.csv").name
    'seed_image.csv'
    """
    if name not in SAMPLE_NAMES:
        raise ValueError(f"sample must be one of {', '.join(SAMPLE_NAMES)}; got {name!r}")
    # the package is installed as plain files (a wheel or a checkout), so the resource is a path
    return Path(str(resources.files(__name__).joinpath(name)))


def load(name: str) -> np.ndarray:
    """One sample as an array: an image in [0, 1], a matrix, a kernel or a signal.

    Parameters
    ----------
    name : str
        A key of `SAMPLE_NAMES`.

    Returns
    -------
    array : ndarray, float64
        Images as `convkit.io.read_image` gives them ((H, W) or (H, W, 3));
        ``.csv``/``.txt`` as a 2-D matrix (1-D for the signals); ``.npy`` as
        stored; ``.wav`` as `convkit.io.read_signal`'s samples (first channel).

    Raises
    ------
    ValueError
        When `name` is not a sample.

    Examples
    --------
    >>> from convkit import data
    >>> data.load("seed_detector.csv")
    array([[0., 0., 1.],
           [1., 0., 0.],
           [0., 1., 1.]])
    """
    from convkit.io import read_image, read_signal

    file = path(name)
    suffix = file.suffix
    if suffix == ".png":
        return read_image(file)
    if suffix == ".npy":
        return np.load(file, allow_pickle=False)
    if suffix == ".wav":
        samples = read_signal(file).samples                                  # (N,) or (N, C)
        return samples if samples.ndim == 1 else samples[:, 0]
    delimiter = "," if suffix == ".csv" else None
    ndmin: Literal[1, 2] = 1 if name in ("signal.csv", "impulse_response.csv") else 2
    return np.loadtxt(file, delimiter=delimiter, comments="#", ndmin=ndmin)


def copy_samples(folder: str | os.PathLike, *, overwrite: bool = False) -> list[Path]:
    """Copy every sample file into `folder` (made if missing), e.g. ``samples/``.

    Parameters
    ----------
    folder : str or path-like
        Where to write; the kernel files go into its ``kernels/`` subfolder.
    overwrite : bool, optional
        Replace files that exist. Without it an existing file raises before
        anything is written.

    Returns
    -------
    written : list of pathlib.Path
        The files written, in the order of `SAMPLE_NAMES`.

    Raises
    ------
    OutputExistsError
        When a target exists and `overwrite` is False.

    Examples
    --------
    >>> import tempfile
    >>> from convkit import data
    >>> written = data.copy_samples(tempfile.mkdtemp())
    >>> len(written) == len(data.SAMPLE_NAMES)
    True
    """
    from convkit.io import OutputExistsError, atomic_path

    root = Path(folder)
    targets = {name: root / name for name in SAMPLE_NAMES}
    for target in targets.values():           # every check first: no half-copied folder
        if target.is_dir():
            raise ValueError(f"output path {str(target)!r} is a directory; give a file name")
        if os.path.lexists(target) and not overwrite:
            raise OutputExistsError(target, "exists")
    (root / "kernels").mkdir(parents=True, exist_ok=True)
    new = []
    try:
        for name, target in targets.items():
            existed = os.path.lexists(target)
            with atomic_path(target, overwrite=overwrite) as tmp:
                tmp.write_bytes(path(name).read_bytes())
            if not existed:
                new.append(target)
    except BaseException:          # a full disk or Ctrl-C: take back the files this call added
        for target in new:
            target.unlink(missing_ok=True)
        raise
    return list(targets.values())
