"""`convkit.io.lazy`: lazy reads laid out as `read_image_raw` lays them out, the block limit,
and writes that leave nothing behind when they fail or are replaced."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pytest
import tifffile
import zarr

from convkit._names import MAX_BLOCKS
from convkit.io.images import read_image_raw
from convkit.io.lazy import open_lazy, write_lazy


def _layouts(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (3, 40, 50), dtype=np.uint8)
    paths = {"planar": folder / "planar.tif", "pages": folder / "pages.tif",
             "contig": folder / "contig.tif", "rgba": folder / "rgba.tif"}
    for turn in (3, 6, 8):                                   # EXIF/TIFF orientation tags
        paths[f"turned{turn}"] = folder / f"turned{turn}.tif"
        tifffile.imwrite(paths[f"turned{turn}"], np.moveaxis(rgb, 0, -1)[:, :48], photometric="rgb",
                         tile=(16, 16), extratags=[(274, "H", 1, turn, False)])
    tifffile.imwrite(paths["planar"], rgb, photometric="rgb", planarconfig="separate", tile=(16, 16))
    tifffile.imwrite(paths["pages"], rgb, photometric="minisblack")          # three pages
    tifffile.imwrite(paths["contig"], np.moveaxis(rgb, 0, -1), photometric="rgb", tile=(16, 16))
    tifffile.imwrite(paths["rgba"], rng.integers(0, 256, (40, 50, 4), dtype=np.uint8),
                     photometric="rgb", extrasamples=["unassalpha"])
    return paths


@pytest.mark.parametrize("kind", ["planar", "pages", "contig", "rgba", "turned3", "turned6",
                                  "turned8"])
def test_lazy_read_has_the_in_memory_layout(tmp_path, kind):
    path = _layouts(tmp_path)[kind]
    lazy = open_lazy(path, chunks=16)
    np.testing.assert_array_equal(lazy.compute(), read_image_raw(path))


def test_default_chunks_keep_to_the_block_limit(tmp_path):
    store = tmp_path / "wide.zarr"                       # declared only: nothing is written
    zarr.create_array(str(store), shape=(60_000, 60_000), chunks=(500, 500), dtype="uint8")
    x = open_lazy(store, max_pixels=2**30)
    assert np.prod(x.numblocks) <= MAX_BLOCKS
    with pytest.raises(ValueError, match=f"above the limit of {MAX_BLOCKS}"):
        open_lazy(store, chunks=500, max_pixels=2**30)


def _slow_or_failing(block: np.ndarray, block_info=None) -> np.ndarray:
    """The first block fails at once; the others take half a second, then succeed."""
    if block_info[None]["chunk-location"][1] == 0:
        raise ValueError("disk full")
    time.sleep(0.5)
    return block


@pytest.mark.parametrize("suffix", [".zarr", ".tif"])
def test_failed_write_leaves_nothing_once_every_writer_has_ended(tmp_path, suffix):
    x = da.ones((16, 64), chunks=16, dtype=np.uint8).map_blocks(_slow_or_failing, dtype=np.uint8)
    with dask.config.set(scheduler="threads"), pytest.raises(ValueError, match="disk full"):
        write_lazy(x, tmp_path / f"out{suffix}", tile=16)
    time.sleep(1.0)                                      # the slow blocks have finished by now
    assert list(tmp_path.iterdir()) == []


def test_replacing_a_store_swaps_it_whole(tmp_path):
    out = tmp_path / "out.zarr"
    write_lazy(da.full((40, 30), 3, chunks=16, dtype=np.uint8), out, tile=16)
    write_lazy(da.full((20, 10), 5, chunks=16, dtype=np.uint8), out, tile=16, overwrite=True)
    got = zarr.open_array(str(out), mode="r")[:]
    assert got.shape == (20, 10) and (got == 5).all()
    assert [p.name for p in tmp_path.iterdir()] == ["out.zarr"]


def test_output_inside_or_around_an_input_is_refused(tmp_path):
    holder = tmp_path / "holder.zarr"
    holder.mkdir()
    store = holder / "in.zarr"
    write_lazy(da.ones((8, 8), chunks=8), store, tile=8)
    x = open_lazy(store)
    for out, match in ((store, "is the input"), (store / "x.zarr", "lies inside the input"),
                       (holder, "contains the input")):
        with pytest.raises(ValueError, match=match):
            write_lazy(x, out, inputs=(store,), overwrite=True, tile=8)
    assert zarr.open_array(str(store), mode="r")[:].sum() == 64


@pytest.mark.parametrize("name", ["big.tif", "big.tiff"])
def test_a_fifo_tiff_is_refused_at_once(tmp_path, name):
    from helpers.blocking import finishes

    from convkit.io.lazy import lazy_nbytes

    fifo = tmp_path / name
    os.mkfifo(fifo)
    for read in (lambda: open_lazy(fifo), lambda: lazy_nbytes(fifo)):
        result = finishes(read, [fifo])
        assert isinstance(result, ValueError) and "is not a regular file" in str(result), result
