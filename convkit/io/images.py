"""Reading and writing image files: PNG, JPEG, TIFF and BMP, 8 and 16 bits.

`read_image` gives float64 in [0, 1] for the filters; `read_image_raw` gives
the stored samples (bool, uint8, uint16) for code that needs the bit depth;
`write_image` writes through a temporary file and a rename (`convkit.io.atomic`),
so a failure never leaves half a file and an existing file is only replaced
when asked. Decoding is Pillow's (a scikit-image dependency through imageio),
tifffile's for 16-bit colour TIFF, and `png16`'s for 16-bit colour PNG, which
Pillow would cut to 8 bits. Filtering images is `convkit.filters`' job.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .._names import IMAGE_FORMATS, IMAGE_SUFFIXES, LUMA, MAX_PIXELS, MAX_PIXELS_ENV
from . import codecs
from .atomic import atomic_file, regular_input
from .errors import FileFormatError

__all__ = ["read_image", "read_image_raw", "write_image", "to_float_image", "image_size", "REDUCE_MARGIN",
           "IMAGE_SUFFIXES", "MAX_PIXELS", "MAX_PIXELS_ENV", "FileFormatError", "pixel_limit"]

_ACCEPTED = codecs.ACCEPTED
# MAX_PIXELS (from _names): reading a 4096 x 4096 gray image and filtering it in float64 takes
# ~0.55 GB (`codecs.WORK_COPIES`); an RGB image gets a third of the pixels.


# A caller that resizes an image to (H, W) with anti-aliasing asks `min_size` = this many times
# (H, W): the box average only takes it near that size and the anti-aliased resize does the rest,
# so an image up to 4x the size reads exactly as before
REDUCE_MARGIN = 4


def pixel_limit(max_pixels: int | None = None) -> int:
    """The limit in force: `max_pixels` if given, else $CONVKIT_MAX_PIXELS, else `MAX_PIXELS`."""
    if max_pixels is None:
        text = os.environ.get(MAX_PIXELS_ENV, "").strip()
        if not text:
            return MAX_PIXELS
        try:
            max_pixels = int(text)
        except ValueError:
            raise ValueError(f"environment variable {MAX_PIXELS_ENV} must be a whole number of "
                             f"pixels, got {text!r}") from None
    if int(max_pixels) < 1:
        raise ValueError(f"max_pixels must be >= 1, got {max_pixels!r}")
    return int(max_pixels)


def _check_input(path: str | os.PathLike) -> Path:
    """Raise FileNotFoundError / ValueError unless `path` is an existing regular file."""
    return regular_input(path, "image file", f"an image file ({_ACCEPTED})")


def read_image_raw(path: str | os.PathLike, *, max_pixels: int | None = None,
                   allow_corrupt: bool = False, min_size: tuple[int, int] | None = None) -> np.ndarray:
    """Read an image file and return its samples in the stored dtype.

    Parameters
    ----------
    path : str or path-like
        A PNG, JPEG, TIFF or BMP file (the format is read from the content).
        Multi-frame files give their first frame.
    max_pixels : int, optional
        The memory limit, counted in 8-bit gray pixels: an image is refused
        when reading it and filtering it in float64 would need more memory
        than this many gray pixels (an RGB image gets a third as many, a
        16-bit one a little less). Default: the environment variable
        ``CONVKIT_MAX_PIXELS``, else `MAX_PIXELS` (2**27, about 4 GiB).
    allow_corrupt : bool, optional
        Accept an image whose decoder reported damaged data (a JPEG with
        corrupt entropy-coded data), with a `CorruptImageWarning`, instead
        of raising FileFormatError.
    min_size : (int, int), optional
        For a caller that resizes the image to about (H, W) anyway: shrink
        it by the largest whole factor that keeps at least this size (both
        ways round: the EXIF orientation is only known later), while
        decoding (JPEG) or right after (a box average), so no large copy is
        made; `max_pixels` then counts only the decoded samples, not the
        float copies a full-size image would need.

    Returns
    -------
    image : ndarray of shape (H, W) or (H, W, C)
        bool (1-bit), uint8, uint16 (16-bit PNG/TIFF) or float32 (float TIFF).
        C is 2 (gray + alpha), 3 (RGB) or 4 (RGBA); palette images are expanded
        to RGB, or RGBA when the palette has transparency. The EXIF (or TIFF)
        orientation tag is applied, so the array is upright. (An interlaced
        16-bit colour PNG is read at 8 bits, by Pillow.)

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    FileFormatError
        Not an image, truncated or corrupt, or above the memory limit
        (`max_pixels`) (a ValueError; ``path`` names the file).
    ValueError
        A directory, a pipe or other non-regular file.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> path = f"{tempfile.mkdtemp()}/ramp.png"
    >>> write_image(path, np.array([[0, 128, 255]], np.uint8))
    >>> read_image_raw(path)
    array([[  0, 128, 255]], dtype=uint8)
    """
    from PIL import Image

    limit = pixel_limit(max_pixels)
    p = _check_input(path)
    try:
        return codecs.decode(p, limit, allow_corrupt=allow_corrupt, at_least=min_size)
    except Image.DecompressionBombError:
        raise FileFormatError(f"{str(p)!r} is too large to decode safely (Pillow's "
                              "decompression-bomb limit)", p) from None
    except FileFormatError:
        raise
    except ValueError as exc:                       # a decoder's own complaint, without the path
        raise FileFormatError(f"cannot read {str(p)!r}: {exc}", p) from None
    except codecs.CORRUPT as exc:
        if isinstance(exc, PermissionError):
            raise
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FileFormatError(f"cannot read {str(p)!r}: truncated or corrupt image file "
                              f"({detail})", p) from None


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(height, width) of an image file, upright (EXIF orientation applied), from its header:
    nothing is decoded, so it costs the same for a 100-pixel and an 11000x11000 image.

    Parameters
    ----------
    path : str or path-like
        A PNG, JPEG, TIFF or BMP file.

    Returns
    -------
    size : (int, int)
        Height and width of the image `read_image` would return.

    Raises
    ------
    FileNotFoundError, ValueError, FileFormatError
        As `read_image_raw`: a missing file; a directory or FIFO; not an image.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> path = f"{tempfile.mkdtemp()}/wide.png"
    >>> write_image(path, np.zeros((2, 5), np.uint8))
    >>> image_size(path)
    (2, 5)
    """
    from PIL import Image

    p = _check_input(path)
    try:
        return codecs.upright_size(p)
    except FileFormatError:
        raise
    except (Image.DecompressionBombError, *codecs.CORRUPT) as exc:
        if isinstance(exc, PermissionError):
            raise
        raise FileFormatError(f"cannot read {str(p)!r}: truncated or corrupt image file", p) from None


def to_float_image(image: Any) -> Any:
    """The one image-to-float rule of convkit: stored samples as the floats filters compute with.

    bool -> 0 / 1 (float64); unsigned integers divided by their dtype's
    maximum (uint8 / 255, uint16 / 65535, ...); signed integers divided by
    theirs and clipped at -1 (scikit-image's ``img_as_float``); float16 ->
    float32; float32, float64 and complex kept. Numpy or dask arrays alike
    (only dtype, astype and arithmetic are used).

    Parameters
    ----------
    image : array_like or dask array
        Samples as `read_image_raw` returns them, or any numeric image.

    Returns
    -------
    image : ndarray (or dask array)
        float64 for bool and integers, float32 for float16, else the input's dtype.

    Raises
    ------
    TypeError
        A dtype that holds no numbers (object, strings, dates).

    Examples
    --------
    >>> import numpy as np
    >>> to_float_image(np.array([0, 51, 255], np.uint8))
    array([0. , 0.2, 1. ])
    >>> to_float_image(np.array([-128, 0, 127], np.int8))
    array([-1.,  0.,  1.])
    """
    a = image if type(image).__module__.split(".", 1)[0] == "dask" else np.asarray(image)
    kind = a.dtype.kind
    if kind == "b":
        return a.astype(np.float64)
    if kind in "iu":
        scaled = a / float(np.iinfo(a.dtype).max)
        return scaled if kind == "u" else np.maximum(scaled, -1.0)
    if a.dtype == np.float16:
        return a.astype(np.float32)
    if kind in "fc":
        return a
    raise TypeError(f"image dtype must be bool, integer, float or complex, got {a.dtype}")


def read_image(path: str | os.PathLike, *, gray: bool = False, max_pixels: int | None = None,
               allow_corrupt: bool = False, min_size: tuple[int, int] | None = None) -> np.ndarray:
    """Read an image file as float64 in [0, 1].

    Parameters
    ----------
    path : str or path-like
        A PNG, JPEG, TIFF or BMP file, 8 or 16 bits, gray, gray + alpha, RGB,
        RGBA or palette. EXIF orientation is honoured.
    gray : bool, optional
        Convert colour to luminance with the Rec. 709 weights ``LUMA`` of
        `convkit._names` (those of ``skimage.color.rgb2gray``); alpha is dropped.
    max_pixels, allow_corrupt, min_size : optional
        As `read_image_raw`: the memory limit, accepting damaged JPEG data, and
        decoding reduced for a caller that shrinks the image anyway.

    Returns
    -------
    image : ndarray of shape (H, W) or (H, W, C), float64
        Integer samples divided by their maximum (255 or 65535). Float TIFFs
        are returned as stored. Use `read_image_raw` for the stored dtype.

    Raises
    ------
    FileNotFoundError, FileFormatError, ValueError
        As `read_image_raw`: missing file; not an image, truncated, too
        large; a directory.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "ramp.png")
    >>> write_image(path, np.array([[0, 128, 255]], dtype=np.uint8))
    >>> read_image(path)
    array([[0.        , 0.50196078, 1.        ]])
    """
    image = to_float_image(read_image_raw(path, max_pixels=max_pixels, allow_corrupt=allow_corrupt,
                                          min_size=min_size)).astype(np.float64, copy=False)
    if gray and image.ndim == 3:
        colour = image[..., :3] if image.shape[2] >= 3 else image[..., :1]
        image = colour[..., 0] if colour.shape[2] == 1 else colour @ np.asarray(LUMA)
    return image


def _target_depth(a: np.ndarray, fmt: str, depths: tuple, bit_depth: int | None) -> int:
    """Bits per sample to write: as asked, else as stored where the format allows."""
    if bit_depth is not None:
        if bit_depth not in (1, 8, 16) or bit_depth not in depths:
            raise ValueError(f"bit_depth must be one of {depths} for {fmt}, got {bit_depth!r}")
        if bit_depth == 1 and a.ndim == 3:
            raise ValueError("bit_depth=1 needs a single-channel image, got shape "
                             f"{a.shape}")
        return bit_depth
    if a.dtype == bool and a.ndim == 2 and 1 in depths:
        return 1
    return 16 if a.dtype == np.uint16 and 16 in depths else 8


def _to_depth(a: np.ndarray, depth: int) -> np.ndarray:
    """Convert bool / uint8 / uint16 / float in [0, 1] samples to `depth` bits."""
    if depth == 1:
        if a.dtype == bool:
            return a
        return to_float_image(a) >= 0.5
    dtype = np.uint8 if depth == 8 else np.uint16
    top = np.iinfo(dtype).max
    if a.dtype == dtype:
        return a
    if a.dtype == bool:
        return (a * top).astype(dtype)
    return np.round(np.clip(to_float_image(a).astype(np.float64), 0.0, 1.0) * top).astype(dtype)


def write_image(path: str | os.PathLike, image: ArrayLike, *, overwrite: bool = False,
                bit_depth: Literal[1, 8, 16] | None = None,
                inputs: Sequence[str | os.PathLike] = ()) -> None:
    """Write an image file, atomically; the extension picks the format.

    Parameters
    ----------
    path : str or path-like
        Output file ending in .png, .jpg/.jpeg, .tif/.tiff or .bmp. Its folder
        must exist.
    image : array_like of shape (H, W) or (H, W, C)
        C is 1, 2 (gray + alpha), 3 (RGB) or 4 (RGBA); JPEG and BMP take no
        alpha. Float samples are taken as [0, 1]: values outside are CLIPPED,
        then scaled and rounded; NaN is refused. bool, uint8 and uint16 are
        written as they are stored.
    overwrite : bool, optional
        Replace an existing file. Without it an existing `path` raises
        OutputExistsError (a FileExistsError).
    bit_depth : {None, 1, 8, 16}, optional
        Bits per sample. None keeps the stored depth where the format allows:
        uint16 -> 16 bits in PNG/TIFF (8 in JPEG/BMP), bool -> 1 bit for gray
        PNG/TIFF/BMP, uint8 and float -> 8 bits. Ask for 16 to keep the
        precision of a float result from a 16-bit source.
    inputs : sequence of paths, optional
        Files this output was computed from; writing onto one of them is refused.

    Raises
    ------
    ValueError
        Unknown extension (the accepted ones are listed), bad shape, NaN,
        a bit depth or alpha channel the format cannot store, missing output
        folder, output equal to an input.
    TypeError
        A dtype other than bool, uint8, uint16 or float.
    OutputExistsError (a FileExistsError)
        `path` exists and `overwrite` is False.

    Notes
    -----
    The file is written to a temporary name in the same folder and renamed
    onto `path` only when complete, so a failure leaves nothing behind.
    JPEG is written at quality 95 without chroma subsampling (4:4:4).

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> path = f"{tempfile.mkdtemp()}/gray.png"
    >>> write_image(path, np.array([[0.0, 0.5], [1.0, 2.0]]))     # 2.0 is clipped to 1
    >>> read_image_raw(path)
    array([[  0, 128],
           [255, 255]], dtype=uint8)
    >>> write_image(path, np.zeros((2, 2)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    convkit.io.atomic.OutputExistsError: output '...gray.png' exists; pass overwrite=True to replace it
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in IMAGE_FORMATS:
        raise ValueError(f"cannot write {str(p)!r}: unknown image extension {p.suffix or '(none)'!r}; "
                         f"accepted: {' '.join(IMAGE_SUFFIXES)}")
    fmt, depths = IMAGE_FORMATS[suffix]
    a = np.asarray(image)
    if a.dtype != bool and a.dtype != np.uint8 and a.dtype != np.uint16 and a.dtype.kind != "f":
        raise TypeError(f"image dtype must be bool, uint8, uint16 or float, got {a.dtype}")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (2, 3, 4))) or a.size == 0:
        raise ValueError(f"image must have shape (H, W) or (H, W, C) with C in 1..4 and H, W > 0, "
                         f"got {a.shape}")
    if a.ndim == 3 and a.shape[2] in (2, 4) and fmt in ("JPEG", "BMP"):
        raise ValueError(f"{fmt} cannot store an alpha channel (image has {a.shape[2]} channels); "
                         "drop it (image[..., :3]) or write .png / .tif")
    if a.dtype.kind == "f" and np.isnan(a).any():
        raise ValueError("image contains NaN; replace it (np.nan_to_num) before writing")
    samples = _to_depth(a, _target_depth(a, fmt, depths, bit_depth))
    with atomic_file(p, overwrite=overwrite, inputs=tuple(inputs)) as fh:
        codecs.encode(fh, samples, fmt)
