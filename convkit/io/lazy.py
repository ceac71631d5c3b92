"""Images larger than memory: open a TIFF or zarr lazily, write zarr or tiled BigTIFF in bands.

`open_lazy` gives a dask array backed by the file (a tiled TIFF is read tile
by tile through tifffile's zarr view; other image formats are read whole).
`write_lazy` computes a dask array one band of chunk rows at a time and writes
each band as it arrives, into a zarr store or a tiled BigTIFF, so only a band
is ever in memory; the output appears under its name only when complete
(written beside it under a temporary name, then renamed). Filtering is
`convkit.chunked`'s; scheduling and progress bars are the caller's.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from .atomic import OutputExistsError, check_output_path, regular_input

__all__ = ["open_lazy", "write_lazy", "lazy_nbytes", "LAZY_SUFFIXES", "TILE"]

LAZY_SUFFIXES = (".zarr", ".tif", ".tiff")
TILE = 1024            # default chunk side, and the tile side of written TIFFs


def _is_zarr(path: Path) -> bool:
    return path.suffix.lower() == ".zarr"


def _open_store(path: Path) -> Any:
    """The zarr array behind `path`: a zarr store, or a TIFF's tiles through tifffile."""
    import zarr

    if _is_zarr(path):
        return zarr.open_array(str(path), mode="r")
    import tifffile

    from .codecs import tiff_messages

    regular_input(path, "image file", "a TIFF file")     # a FIFO would block tifffile for ever
    said: list[str] = []                                 # tifffile's log lines stay off stderr
    with tiff_messages(said):
        return zarr.open(tifffile.imread(str(path), aszarr=True), mode="r")


def lazy_nbytes(path: str | os.PathLike) -> int:
    """Bytes of the decoded samples of the image at `path` (read from the header only)."""
    p = Path(path)
    if _is_zarr(p) or p.suffix.lower() in (".tif", ".tiff"):
        z = _open_store(p)
        return int(np.prod(z.shape)) * np.dtype(z.dtype).itemsize
    return p.stat().st_size


def open_lazy(path: str | os.PathLike, chunks: int | None = None) -> Any:
    """A dask array of the image at `path`, read lazily where the format allows.

    Parameters
    ----------
    path : str or path-like
        A zarr store (``.zarr``), a TIFF (tiled or striped), or any image
        `convkit.read_image_raw` reads (held in memory).
    chunks : int, optional
        Chunk side along the first two axes; default: the file's own tiles
        grouped up to about `TILE` (other axes are one chunk).

    Returns
    -------
    image : dask.array.Array
        The stored samples (uint8, uint16, float, ...), not yet scaled.

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
    if not p.exists():
        raise FileNotFoundError(2, "image file not found", str(p))
    if _is_zarr(p) or p.suffix.lower() in (".tif", ".tiff"):
        z = _open_store(p)
        x = da.from_zarr(z)
        if chunks is None:
            tile = z.chunks[0] if len(z.chunks) else TILE
            chunks = max(1, TILE // max(tile, 1)) * tile
    else:
        from .images import read_image_raw

        x = da.from_array(read_image_raw(p))
        chunks = chunks or TILE
    return x.rechunk((chunks, chunks) + (-1,) * (x.ndim - 2))


def _bands(x: Any) -> Iterator[tuple[int, int]]:
    """Row ranges of `x`'s chunk rows."""
    start = 0
    for rows in x.chunks[0]:
        yield start, start + rows
        start += rows


def _write_zarr(x: Any, target: Path, tile: int, progress: Callable[[int], None]) -> None:
    import dask.array as da
    import zarr

    z: Any = zarr.open_array(str(target), mode="w", shape=x.shape, dtype=x.dtype,
                        chunks=tuple(c[0] for c in x.chunks))
    for r0, r1 in _bands(x):
        da.store(x[r0:r1], z, regions=(slice(r0, r1),), lock=False)
        progress(1)


def _write_tiff(x: Any, target: Path, tile: int, progress: Callable[[int], None]) -> None:
    import tifffile


    def tiles() -> Iterator[np.ndarray]:
        for r0, r1 in _bands(x):
            band = np.asarray(x[r0:r1].compute())
            for c0 in range(0, x.shape[1], tile):
                yield band[:, c0:c0 + tile]
            progress(1)

    tifffile.imwrite(str(target), tiles(), shape=x.shape, dtype=x.dtype,
                     tile=(tile, tile), bigtiff=True)


def write_lazy(x: Any, path: str | os.PathLike, *, overwrite: bool = False, inputs: tuple = (),
               tile: int = TILE, progress: Callable[[int], None] | None = None) -> Path:
    """Compute dask array `x` band by band into a zarr store or a tiled BigTIFF at `path`.

    Parameters
    ----------
    x : dask.array.Array of shape (H, W) or (H, W, C)
    path : str or path-like
        ``.zarr`` (a folder) or ``.tif`` / ``.tiff``.
    overwrite : bool
        Replace an existing output; otherwise raise `OutputExistsError`.
    inputs : tuple
        Input paths the output must not be.
    tile : int
        Chunk / tile side (a multiple of 16 for TIFF).
    progress : callable, optional
        Called with 1 after each band of ``tile`` rows; there are
        ``ceil(H / tile)`` bands.

    Returns
    -------
    path : Path

    Raises
    ------
    ValueError
        Unknown suffix, missing folder, output equal to an input.
    OutputExistsError
        The output exists and `overwrite` is False.

    Examples
    --------
    >>> import dask.array as da, tempfile, os, zarr
    >>> out = write_lazy(da.ones((40, 30), chunks=16), os.path.join(tempfile.mkdtemp(), "o.zarr"), tile=16)
    >>> zarr.open_array(str(out), mode="r")[:].sum()
    np.float64(1200.0)
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in LAZY_SUFFIXES:
        raise ValueError(f"cannot stream to {str(out)!r}: the output must end in "
                         f"{', '.join(LAZY_SUFFIXES)}")
    if suffix in (".tif", ".tiff") and tile % 16:
        raise ValueError(f"TIFF tiles must be a multiple of 16 pixels, got {tile}")
    if out.is_dir() and _is_zarr(out):
        if not overwrite:
            raise OutputExistsError(out)
    else:
        check_output_path(out, overwrite=overwrite, inputs=inputs)
    x = x.rechunk((tile, tile) + (-1,) * (x.ndim - 2))
    done = progress or (lambda n: None)
    parent = out.parent if str(out.parent) else Path(".")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.stem}.", dir=parent))
    target = tmp / out.name
    try:
        (_write_zarr if _is_zarr(out) else _write_tiff)(x, target, tile, done)
        if out.exists():
            if not overwrite:
                raise OutputExistsError(out, "appeared while writing and was not replaced")
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        os.replace(target, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
