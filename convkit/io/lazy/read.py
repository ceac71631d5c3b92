"""Images larger than memory, read lazily: `open_lazy` opens a TIFF or zarr as a dask array.

The array is laid out as `read_image_raw` lays it out: (H, W) or (H, W, C),
the first page of a multi-page TIFF, the channels last for a planar TIFF, the
orientation tag applied. Everything the file declares is checked before a
sample is decoded: the image against the streaming budget (``STREAM_PIXELS``
times the pixel limit), each piece that must be decoded whole (a strip, a
tile, a zarr chunk) against the memory budget, the block count against
`MAX_BLOCKS`; a decoder's complaint while reading becomes a `FileFormatError`
naming the file. Writing in bands is `convkit.io.lazy.write`'s; filtering is
`convkit.chunked`'s; scheduling and progress bars are the caller's.
"""

from __future__ import annotations

import math
import os
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from ..._names import MAX_BLOCKS, STREAM_PIXELS
from ..atomic import regular_input
from ..codecs import needed_bytes, orient, tiff_messages
from ..errors import FileFormatError
from ..images import pixel_limit, read_image_raw

__all__ = ["open_lazy", "lazy_nbytes", "is_zarr", "LAZY_SUFFIXES", "TIFF_SUFFIXES", "TILE", "MAX_BLOCKS"]

TIFF_SUFFIXES = (".tif", ".tiff")
LAZY_SUFFIXES = (".zarr", *TIFF_SUFFIXES)
TILE = 1024            # default chunk side, and the tile side of written TIFFs


def is_zarr(path: Path) -> bool:
    """Whether `path` names a zarr store (a folder ending in .zarr), read or written."""
    return path.suffix.lower() == ".zarr"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _corrupt(p: Path, exc: BaseException) -> FileFormatError:
    return FileFormatError(f"cannot read {str(p)!r}: corrupt, truncated or unsupported data "
                           f"({_first_line(exc)})", p)


class _Layout:
    """What the file declares: the stored shape (H, W[, C]), dtype, the piece decoded at once,
    planar channels, and the orientation tag to apply after reading (1: as stored)."""

    def __init__(self, shape: tuple, dtype: np.dtype, piece: tuple, planar: bool,
                 orientation: int = 1) -> None:
        self.shape, self.dtype, self.piece, self.planar = shape, dtype, piece, planar
        self.orientation = orientation


def _tiff_layout(p: Path) -> _Layout:
    """The first page's layout, from its tags only."""
    import tifffile

    said: list[str] = []                                 # tifffile's log lines stay off stderr
    with tiff_messages(said), tifffile.TiffFile(p) as tif:
        page = tif.pages.first
        shape, dtype = tuple(int(n) for n in page.shape), page.dtype
        planar = page.planarconfig == 2 and page.samplesperpixel > 1
        rows, cols = ((page.tilelength, page.tilewidth) if page.is_tiled
                      else (page.rowsperstrip, page.imagewidth))
        piece = (rows, cols) + ((1 if planar else page.samplesperpixel,) if len(shape) == 3 else ())
        tag = page.tags.get("Orientation")
        orientation = int(tag.value) if tag is not None else 1
        if page.imagedepth > 1:
            raise FileFormatError(f"{str(p)!r} is a volume of {page.imagedepth} slices; "
                                  "streaming filters 2-D images", p)
    if dtype is None:
        raise FileFormatError(f"{str(p)!r} stores samples tifffile cannot decode", p)
    if planar:
        shape = shape[1:] + shape[:1]
    return _Layout(shape, np.dtype(dtype), tuple(int(n) for n in piece), planar, orientation)


def _zarr_array(p: Path) -> Any:
    import zarr

    return zarr.open_array(str(p), mode="r")


def _layout(p: Path) -> _Layout:
    """`p`'s declared layout; any complaint of the metadata parser is a FileFormatError."""
    if not is_zarr(p):
        regular_input(p, "image file", "a TIFF file")     # a FIFO would block tifffile for ever
    try:
        if is_zarr(p):
            z = _zarr_array(p)
            piece = getattr(z, "shards", None) or z.chunks
            layout = _Layout(tuple(z.shape), np.dtype(z.dtype), tuple(piece), False)
        else:
            layout = _tiff_layout(p)
    except FileFormatError:
        raise
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:                      # zarr / tifffile / json: any parser failure
        raise _corrupt(p, exc) from None
    if len(layout.shape) not in (2, 3) or 0 in layout.shape:
        raise FileFormatError(f"{str(p)!r} holds an array of shape {layout.shape}; an image is "
                              "(H, W) or (H, W, C) with no empty axis", p)
    if len(layout.piece) != len(layout.shape) or min(layout.piece) < 1:
        raise FileFormatError(f"{str(p)!r} declares chunks (tiles, strips) of {layout.piece}; "
                              "every side must be at least 1", p)
    return layout


def _check_budget(p: Path, layout: _Layout, limit: int) -> None:
    """Refuse an image beyond the streaming budget, or a piece beyond the memory budget."""
    samples = math.prod(layout.shape)
    if samples > STREAM_PIXELS * limit:
        raise FileFormatError(
            f"{str(p)!r} declares {' x '.join(map(str, layout.shape))} = {samples} samples, above "
            f"the streaming limit of {STREAM_PIXELS * limit} ({STREAM_PIXELS} x {limit} pixels); "
            "raise the limit with --max-pixels", p)
    piece = math.prod(min(a, b) for a, b in zip(layout.piece, layout.shape))
    if needed_bytes(piece, layout.dtype.itemsize) > needed_bytes(limit, 1):
        raise FileFormatError(
            f"{str(p)!r} stores pieces (tiles, strips or chunks) of "
            f"{' x '.join(map(str, layout.piece))} samples, each decoded whole, above the memory "
            f"limit of {limit} pixels; raise the limit with --max-pixels", p)


def lazy_nbytes(path: str | os.PathLike) -> int:
    """Bytes of the decoded samples of the TIFF or zarr image at `path` (from its header)."""
    p = Path(path)
    layout = _layout(p)
    return math.prod(layout.shape) * layout.dtype.itemsize


class _Reader:
    """The file as an array dask can slice, laid out as `read_image_raw` lays it out; every
    decoder error a FileFormatError naming it. Pickled without its open file: each process
    opens the file on its first read and closes it when the reader is collected."""

    def __init__(self, path: Path, layout: _Layout) -> None:
        self.path, self.layout = path, layout
        self.shape, self.dtype, self.ndim = layout.shape, layout.dtype, len(layout.shape)
        self._array: Any = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_array": None}

    def _open(self) -> Any:
        if self._array is None:
            if is_zarr(self.path):
                self._array = _zarr_array(self.path)
            else:
                import tifffile
                import zarr

                store = tifffile.imread(str(self.path), aszarr=True, key=0)
                weakref.finalize(self, store.close)      # a TIFF store holds a file handle
                self._array = zarr.open(store, mode="r")
        return self._array

    def _read(self, key: tuple) -> np.ndarray:
        if self.layout.planar:                          # stored (C, H, W)
            rows, cols, chans = key
            block = np.asarray(self._open()[chans, rows, cols])
            return np.moveaxis(block, 0, -1)
        return np.asarray(self._open()[key])

    def __getitem__(self, key: tuple) -> np.ndarray:
        try:
            return self._read(key)
        except (MemoryError, KeyboardInterrupt):
            raise
        except Exception as exc:                      # zarr / numcodecs / zlib / tifffile
            raise _corrupt(self.path, exc) from None


def _chunk_side(shape: tuple, chunks: int | None, piece: tuple) -> int:
    """The chunk side: as given (refused above MAX_BLOCKS blocks), else the file's pieces
    grouped up to about TILE, rounded up to keep to MAX_BLOCKS blocks."""
    h, w = shape[:2]

    def blocks(c: int) -> int:
        return -(-h // c) * -(-w // c)

    least = max(1, math.isqrt(h * w // MAX_BLOCKS))
    while blocks(least) > MAX_BLOCKS:
        least += 1
    if chunks is not None:
        if blocks(chunks) > MAX_BLOCKS:
            raise ValueError(f"chunks={chunks} cuts the {w}x{h} image into {blocks(chunks)} "
                             f"blocks, above the limit of {MAX_BLOCKS}; use chunks >= {least}")
        return chunks
    tile = piece[0] if piece[0] < h else TILE
    return max(least, max(1, TILE // tile) * tile)


def open_lazy(path: str | os.PathLike, chunks: int | None = None, *,
              max_pixels: int | None = None, allow_corrupt: bool = False) -> Any:
    """A dask array of the image at `path`, read lazily where the format allows.

    Parameters
    ----------
    path : str or path-like
        A zarr store (``.zarr``), a TIFF (tiled or striped; its first page),
        or any image `convkit.read_image_raw` reads (held in memory).
    chunks : int, optional
        Chunk side along the first two axes; default: the file's own tiles
        grouped up to about `TILE` (other axes are one chunk).
    max_pixels : int, optional
        The pixel limit of `convkit.read_image_raw` (default
        ``$CONVKIT_MAX_PIXELS``, else 2**27): a streamed image may hold
        ``STREAM_PIXELS`` times as many samples; a piece of the file that is
        decoded whole (a strip, tile or zarr chunk) must fit the limit itself.
    allow_corrupt : bool, optional
        As `convkit.read_image_raw`, for the formats it reads whole.

    Returns
    -------
    image : dask.array.Array of shape (H, W) or (H, W, C)
        The stored samples (uint8, uint16, float, ...), not yet scaled,
        laid out as `convkit.read_image_raw` gives them.

    Raises
    ------
    FileNotFoundError
        No such file.
    FileFormatError
        Corrupt or unsupported metadata, an image beyond the streaming
        budget, a piece beyond the memory budget; corrupt sample data raises
        it when the samples are computed.
    ValueError
        `chunks` makes more than `MAX_BLOCKS` blocks, or `path` is not a
        regular file (TIFF) or folder (zarr).

    Examples
    --------
    >>> import numpy as np, tempfile, tifffile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "t.tif")
    >>> tifffile.imwrite(path, np.arange(64 * 48, dtype=np.uint16).reshape(64, 48), tile=(16, 16))
    >>> open_lazy(path, chunks=32).chunks
    ((32, 32), (32, 16))
    """
    import dask.array as da

    p = Path(path)
    limit = pixel_limit(max_pixels)
    if is_zarr(p):
        if not p.is_dir():
            raise FileNotFoundError(2, "zarr store not found", str(p))
    else:
        regular_input(p, "image file", "an image file or a .zarr store")
    if is_zarr(p) or p.suffix.lower() in TIFF_SUFFIXES:
        layout = _layout(p)
        _check_budget(p, layout, limit)
        side = _chunk_side(layout.shape, chunks, layout.piece)
        x = da.from_array(_Reader(p, layout), chunks=(side, side) + (-1,) * (len(layout.shape) - 2),
                          lock=False, asarray=False, meta=np.empty((0,) * len(layout.shape),
                                                                   layout.dtype))
        return orient(x, layout.orientation)          # upright, as read_image_raw gives it
    image = read_image_raw(p, max_pixels=limit, allow_corrupt=allow_corrupt)
    side = _chunk_side(image.shape, chunks, (TILE,))
    return da.from_array(image, chunks=(side, side) + (-1,) * (image.ndim - 2))
