"""`convkit filter` streaming (issue 12): a tiled TIFF made here, filtered to zarr and to a
tiled BigTIFF, compared on crops with scipy.ndimage on the whole image in memory (and
with the in-memory convkit.filter_image); bad input answered with one line and exit 2."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi
import tifffile
import zarr
from click.testing import CliRunner

import convkit
from convkit.kernels import get_kernel
from convkit_cli import cli, stream

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def run(*args: object):
    """Invoke the click group in-process; exit codes as `main` gives them."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def run_main(*args: object) -> tuple[int, str]:
    """Run `main` (the real exit codes) in a subprocess: (code, stderr)."""
    proc = subprocess.run([sys.executable, "-c", "from convkit_cli import main; main()",
                           *map(str, args)], capture_output=True, text=True)
    return proc.returncode, proc.stderr


@pytest.fixture(scope="module")
def tiled(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """A 333 x 250 float32 TIFF in 64 x 64 tiles, and its samples."""
    path = tmp_path_factory.mktemp("stream") / "big.tif"
    image = np.random.default_rng(3).random((333, 250), dtype=np.float32)
    tifffile.imwrite(path, image, tile=(64, 64))
    assert tifffile.TiffFile(path).pages[0].is_tiled
    return path, image


@pytest.mark.parametrize("suffix", [".zarr", ".tif"])
def test_tiled_tiff_streamed_equals_in_memory(tiled, tmp_path, suffix):
    src, image = tiled
    out = tmp_path / f"out{suffix}"
    result = run("filter", src, "--kernel", "gaussian:sigma=2", "--chunks", 64, "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == str(out)
    got = zarr.open_array(str(out), mode="r")[:] if suffix == ".zarr" else tifffile.imread(out)
    if suffix == ".tif":
        page = tifffile.TiffFile(out).pages[0]
        assert page.is_tiled and page.tilelength == 64
    ref = ndi.correlate(image.astype(np.float64), get_kernel("gaussian:sigma=2"), mode="reflect")
    crop = (slice(100, 230), slice(30, 250))
    assert got.dtype == np.float32 and got.shape == image.shape
    np.testing.assert_allclose(got[crop], ref[crop], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, convkit.filter_image(image, "gaussian:sigma=2"), rtol=1e-6, atol=1e-7)


def test_zarr_in_stride_pool_chain(tiled, tmp_path):
    src, image = tiled
    store = tmp_path / "in.zarr"
    z = zarr.open_array(str(store), mode="w", shape=image.shape, chunks=(50, 50), dtype=image.dtype)
    z[:] = image
    out = tmp_path / "out.zarr"
    result = run("filter", store, "--kernel", "box:3", "--kernel", "sobel_x", "--stride", 2,
                 "--pool", "max:2", "--boundary", "wrap", "-o", out)
    assert result.exit_code == 0, result.output
    ref = convkit.filter_image(image, "box:3", boundary="wrap")
    ref = convkit.filter_image(ref, "sobel_x", boundary="wrap", stride=2)
    ref = convkit.pool(ref, 2, axes=(0, 1))
    np.testing.assert_allclose(zarr.open_array(str(out), mode="r")[:], ref, rtol=1e-5, atol=1e-6)


def test_auto_streaming_above_threshold(tiled, tmp_path, monkeypatch):
    src, image = tiled
    monkeypatch.setattr(stream, "AUTO_BYTES", image.nbytes - 1)
    assert stream.wanted((str(src),), None, None, None)
    out = tmp_path / "auto.tif"
    result = run("filter", src, "--kernel", "edge", "-o", out)
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(tifffile.imread(out), convkit.filter_image(image, "edge"),
                               rtol=1e-5, atol=1e-5)
    monkeypatch.setattr(stream, "AUTO_BYTES", image.nbytes)
    assert not stream.wanted((str(src),), None, None, None)


def test_unreachable_scheduler_one_line_exit_2_no_output(tiled, tmp_path):
    src, _ = tiled
    out = tmp_path / "never.zarr"
    code, err = run_main("filter", src, "--kernel", "box:3", "--scheduler", "tcp://127.0.0.1:9",
                         "-o", out)
    assert code == 2
    assert err.count("\n") == 1 and "cannot reach the dask scheduler at tcp://127.0.0.1:9" in err
    assert list(tmp_path.iterdir()) == []
    code, err = run_main("filter", src, "--kernel", "box:3", "--scheduler", "gpu", "-o", out)
    assert code == 2 and "--scheduler must be threads, processes or tcp://HOST:PORT" in err


def test_existing_output_and_bad_suffix(tiled, tmp_path):
    src, _ = tiled
    out = tmp_path / "o.zarr"
    assert run("filter", src, "--kernel", "box:3", "-o", out).exit_code == 0
    again = run("filter", src, "--kernel", "box:3", "-o", out)
    assert again.exit_code == 2 and "exists; pass --force" in again.output
    assert run("filter", src, "--kernel", "box:5", "-o", out, "--force").exit_code == 0
    bad = run("filter", src, "--kernel", "box:3", "--chunks", 64, "-o", tmp_path / "o.png")
    assert bad.exit_code == 2 and "written as .zarr or a tiled .tif" in bad.output


def test_dask_missing_one_line(tiled, tmp_path, monkeypatch):
    import builtins
    real = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.split(".")[0] == "dask":
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    result = run("filter", tiled[0], "--kernel", "box:3", "--chunks", 64, "-o", tmp_path / "x.zarr")
    assert result.exit_code == 2
    assert 'pip install "convkit-learn[dask]"' in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_folder_in_parallel(tmp_path, scheduler):
    images = tmp_path / "in"
    images.mkdir()
    for name in ("camera.png", "coins.png", "astronaut.png"):
        shutil.copy(SAMPLES / name, images / name)
    out = tmp_path / "out"
    out.mkdir()
    result = run("filter", images, "--kernel", "blur", "-o", out, "--scheduler", scheduler)
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in out.iterdir())
    assert written == ["astronaut_blur.png", "camera_blur.png", "coins_blur.png"]
    # each equals the ordinary one-image command
    single = tmp_path / "single.png"
    assert run("filter", images / "coins.png", "--kernel", "blur", "-o", single).exit_code == 0
    np.testing.assert_array_equal(convkit.read_image_raw(out / "coins_blur.png"),
                                  convkit.read_image_raw(single))


def test_help_lists_stream_options():
    result = run("filter", "--help")
    assert "--chunks" in result.output and "--scheduler" in result.output
