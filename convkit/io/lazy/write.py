"""Images larger than memory, written in bands: `store_lazy` and `write_lazy` compute a dask
array into a zarr store or a tiled BigTIFF one band of chunk rows at a time.

Each band is computed in column groups within the memory budget and every
piece is written from the calling thread, so no writer is left running when
an error stops the work; `write_lazy` adds the checks of the output
(`check_lazy_output`), the temporary name (`staging_path`) and the rename.
Reading lazily is `convkit.io.lazy.read`'s.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..atomic import check_output_path, commit_store, discard, temporary_path, temporary_store
from ..images import pixel_limit
from .read import LAZY_SUFFIXES, TIFF_SUFFIXES, TILE, is_zarr

__all__ = ["store_lazy", "write_lazy", "check_lazy_output", "staging_path"]


def _pieces(x: Any, limit: int) -> Iterator[tuple[int, int, int, int, bool]]:
    """(chunk row, first and end chunk column, first column, last of its band): each band of
    chunk rows cut into groups of whole chunks holding at most `limit` samples (one at least)."""
    per_column = math.prod(x.shape[2:])
    for i, rows in enumerate(x.chunks[0]):
        j0, c0, width = 0, 0, 0
        for j, cols in enumerate(x.chunks[1]):
            width += cols
            last = j == len(x.chunks[1]) - 1
            if last or rows * (width + x.chunks[1][j + 1]) * per_column > limit:
                yield i, j0, j + 1, c0, last
                j0, c0, width = j + 1, c0 + width, 0


class _Computer:
    """`x`'s blocks, a group at a time, on the scheduler in force. The graph is optimised and
    materialised once and culled to each group's blocks: slicing `x` and computing each slice
    culls the whole graph every time (2.5x slower at 2,000 blocks, measured)."""

    def __init__(self, x: Any) -> None:
        import dask
        from dask.base import get_scheduler

        (self.x,) = dask.optimize(x)
        self.graph = dict(self.x.__dask_graph__())
        self.get = get_scheduler(collections=[self.x])
        self.keys = self.x.__dask_keys__()

    def band(self, i: int, j0: int, j1: int) -> np.ndarray:
        """Chunk row `i`, chunk columns j0 .. j1 - 1, as one array."""
        from dask.optimization import cull

        keys = [self.keys[i][j] if self.x.ndim == 2 else self.keys[i][j][0] for j in range(j0, j1)]
        graph, _ = cull(self.graph, keys)
        return np.concatenate([np.asarray(b) for b in self.get(graph, keys)], axis=1)


def _store_zarr(x: Any, target: Path, tile: int, limit: int,
                progress: Callable[[int], None]) -> None:
    import zarr

    z: Any = zarr.open_array(str(target), mode="w", shape=x.shape, dtype=x.dtype,
                             chunks=tuple(c[0] for c in x.chunks))
    computer, starts = _Computer(x), np.cumsum((0,) + x.chunks[0])
    for i, j0, j1, c0, last in _pieces(x, limit):
        part = computer.band(i, j0, j1)
        z[starts[i]:starts[i + 1], c0:c0 + part.shape[1]] = part
        if last:
            progress(1)


def _store_tiff(x: Any, target: Path, tile: int, limit: int,
                progress: Callable[[int], None]) -> None:
    import tifffile

    computer = _Computer(x)

    def tiles() -> Iterator[np.ndarray]:
        for i, j0, j1, c0, last in _pieces(x, limit):
            part = computer.band(i, j0, j1)
            for t0 in range(0, part.shape[1], tile):
                yield part[:, t0:t0 + tile]
            if last:
                progress(1)

    channels = x.shape[2] if x.ndim == 3 else 1
    tifffile.imwrite(str(target), tiles(), shape=x.shape, dtype=x.dtype, tile=(tile, tile),
                     bigtiff=True, photometric="rgb" if channels >= 3 else "minisblack",
                     planarconfig="contig" if x.ndim == 3 else None,
                     extrasamples=("unassalpha",) if channels in (2, 4) else None)


def store_lazy(x: Any, target: str | os.PathLike, *, tile: int = TILE, max_pixels: int | None = None,
               progress: Callable[[int], None] | None = None) -> None:
    """Compute dask array `x` into a new zarr store or tiled BigTIFF at `target` (no rename).

    Every piece is computed by the scheduler and written by the calling thread, so when an
    error stops the work no writer is left running; `target` may then be removed at once.
    Parameters as `write_lazy` (`max_pixels`: the samples computed at once, default the
    pixel limit of `convkit.read_image_raw`).
    """
    t = Path(target)
    x = x.rechunk((tile, tile) + (-1,) * (x.ndim - 2))
    (_store_zarr if is_zarr(t) else _store_tiff)(x, t, tile, pixel_limit(max_pixels),
                                                  progress or (lambda n: None))


def check_lazy_output(path: str | os.PathLike, *, overwrite: bool = False, inputs: tuple = (),
                      tile: int = TILE) -> Path:
    """Validate a streamed output: a known suffix, TIFF tiles of 16s, not an input, and an
    existing folder replaced only when it is a zarr store."""
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in LAZY_SUFFIXES:
        raise ValueError(f"cannot stream to {str(out)!r}: the output must end in "
                         f"{', '.join(LAZY_SUFFIXES)}")
    if suffix in TIFF_SUFFIXES and tile % 16:
        raise ValueError(f"TIFF tiles must be a multiple of 16 pixels, got {tile}")
    check_output_path(out, overwrite=overwrite, inputs=inputs, folder_ok=is_zarr(out))
    if out.is_dir() and not any((out / name).exists() for name in ("zarr.json", ".zarray", ".zgroup")):
        raise ValueError(f"output {str(out)!r} is a folder but not a zarr store; refusing to "
                         "replace it")
    return out


def staging_path(out: Path) -> Path:
    """A new hidden file or folder beside `out` to write it under first."""
    return temporary_store(out) if is_zarr(out) else temporary_path(out)


def write_lazy(x: Any, path: str | os.PathLike, *, overwrite: bool = False, inputs: tuple = (),
               tile: int = TILE, progress: Callable[[int], None] | None = None,
               max_pixels: int | None = None) -> Path:
    """Compute dask array `x` band by band into a zarr store or a tiled BigTIFF at `path`.

    Parameters
    ----------
    x : dask.array.Array of shape (H, W) or (H, W, C)
    path : str or path-like
        ``.zarr`` (a folder) or ``.tif`` / ``.tiff``.
    overwrite : bool
        Replace an existing output; otherwise raise `OutputExistsError`.
    inputs : tuple
        Input paths the output must not be, contain or lie inside.
    tile : int
        Chunk / tile side (a multiple of 16 for TIFF).
    progress : callable, optional
        Called with 1 after each band of ``tile`` rows; there are
        ``ceil(H / tile)`` bands.
    max_pixels : int, optional
        Samples computed at once at most (whole chunks; one chunk at least).

    Returns
    -------
    path : Path

    Raises
    ------
    ValueError
        Unknown suffix, missing folder, output equal to, containing or inside
        an input, an existing folder that is not a zarr store.
    OutputExistsError
        The output exists and `overwrite` is False.

    Notes
    -----
    The output is written beside `path` under a hidden name and renamed onto
    it when complete; an existing output is renamed aside first and deleted
    last, with SIGINT / SIGTERM deferred over the swap.

    Examples
    --------
    >>> import dask.array as da, tempfile, os, zarr
    >>> out = write_lazy(da.ones((40, 30), chunks=16), os.path.join(tempfile.mkdtemp(), "o.zarr"), tile=16)
    >>> zarr.open_array(str(out), mode="r")[:].sum()
    np.float64(1200.0)
    """
    out = check_lazy_output(path, overwrite=overwrite, inputs=inputs, tile=tile)
    tmp: Path | None = None
    try:
        tmp = staging_path(out)
        store_lazy(x, tmp, tile=tile, max_pixels=max_pixels, progress=progress)
        commit_store(tmp, out, overwrite=overwrite)
    finally:
        if tmp is not None:
            discard(tmp)
    return out
