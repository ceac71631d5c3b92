"""`convkit filter` streaming: one command run in memory and with --chunks writes the same
samples (compared file against file), the streamed output also checked against scipy.ndimage
on the whole image; hostile files and options end in one line and exit 2, with no output and
no temporary file left behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi
import tifffile
import zarr
from click.testing import CliRunner
from PIL import Image

from convkit.pipeline import files as pipeline   # the file part: streams and its threshold
from convkit._names import MAX_BLOCKS
from convkit.io.images import read_image_raw
from convkit_cli import cli, main
from helpers.tiff_bytes import striped, tiled as tiled_tiff

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def run(*args: object):
    """Invoke the click group in-process; exit codes as `main` gives them."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def run_main(*args: object, timeout: float = 120) -> tuple[int, str]:
    """Run `main` (the real exit codes) in a subprocess: (code, stderr)."""
    proc = subprocess.run([sys.executable, "-c", "from convkit_cli import main; main()",
                           *map(str, args)], capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stderr


def written(path: Path) -> np.ndarray:
    """The samples of an output: a zarr store, a TIFF or another image file."""
    if path.suffix == ".zarr":
        return zarr.open_array(str(path), mode="r")[:]
    if path.suffix == ".tif":
        return tifffile.imread(path)
    return read_image_raw(path)


def is_tiled(path: Path) -> bool:
    with tifffile.TiffFile(path) as tif:
        return tif.pages[0].is_tiled


def assert_same_samples(a: np.ndarray, b: np.ndarray) -> None:
    """Equal shape and dtype; values equal but for a rare rounding tie (one step at most)."""
    assert a.shape == b.shape and a.dtype == b.dtype
    diff = np.abs(a.astype(np.int64) - b.astype(np.int64))
    assert diff.max() <= 1 and (diff == 0).mean() > 0.999


def no_leftovers(folder: Path, expected: set[str]) -> None:
    """Exactly the expected entries (no hidden staging files or stores) in `folder`."""
    assert {p.name for p in folder.iterdir()} == expected


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    """Tiled TIFFs: RGB uint8, 16-bit gray, RGBA uint8, float32 gray; planar RGB; multi-page."""
    folder = tmp_path_factory.mktemp("stream")
    rng = np.random.default_rng(3)
    smooth = ndi.gaussian_filter(rng.random((133, 150, 4)), (3, 3, 0))
    smooth = (smooth - smooth.min()) / np.ptp(smooth)
    paths = {"rgb": folder / "rgb.tif", "u16": folder / "u16.tif", "rgba": folder / "rgba.tif",
             "f32": folder / "f32.tif", "planar": folder / "planar.tif", "pages": folder / "pages.tif"}
    tifffile.imwrite(paths["rgb"], (smooth[..., :3] * 255).astype(np.uint8), tile=(32, 32),
                     photometric="rgb")
    tifffile.imwrite(paths["u16"], (smooth[..., 0] * 65535).astype(np.uint16), tile=(32, 32))
    tifffile.imwrite(paths["rgba"], (smooth * 255).astype(np.uint8), tile=(32, 32),
                     photometric="rgb", extrasamples=["unassalpha"])
    tifffile.imwrite(paths["f32"], rng.random((133, 150), dtype=np.float32), tile=(32, 32))
    tifffile.imwrite(paths["planar"], np.moveaxis((smooth[..., :3] * 255).astype(np.uint8), 2, 0),
                     tile=(32, 32), photometric="rgb", planarconfig="separate")
    tifffile.imwrite(paths["pages"], (smooth[..., :3] * 255).astype(np.uint8).transpose(2, 0, 1),
                     photometric="minisblack")
    return paths


# ------------------------------------------------------ one pipeline: same samples both ways

COMMANDS = {
    "edge": ["-k", "edge"],                                   # derivative: |value| clipped
    "gaussian": ["-k", "gaussian:sigma=2"],                   # clipped, keeps the range
    "sobel-rescale": ["-k", "sobel", "--rescale"],
    "smooth-rescale": ["-k", "box:5", "--rescale"],           # min..max -> 0..1
    "compare": ["-k", "laplacian", "--compare"],
    "chain-stride-pool": ["-k", "box:3", "-k", "sobel_x", "--stride", "2", "--pool", "max:2",
                          "--boundary", "wrap"],
    "gray-flip": ["-k", "emboss", "--gray", "--flip"],
}


# every command and every kind of input at least once (all 42 pairs take minutes)
PAIRS = [("rgb", "edge"), ("u16", "gaussian"), ("rgba", "sobel-rescale"), ("f32", "smooth-rescale"),
         ("rgb", "compare"), ("u16", "compare"), ("rgba", "chain-stride-pool"),
         ("rgb", "gray-flip"), ("rgba", "gray-flip"), ("planar", "edge"), ("pages", "gaussian"),
         ("f32", "chain-stride-pool")]


@pytest.mark.parametrize("kind,command", PAIRS)
def test_streamed_command_writes_what_the_in_memory_one_writes(images, tmp_path, kind, command):
    src = images[kind]
    memory, streamed = tmp_path / "memory.tif", tmp_path / "streamed.tif"
    a = run("filter", src, *COMMANDS[command], "-o", memory)
    b = run("filter", src, *COMMANDS[command], "--chunks", 48, "-o", streamed)
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    assert not is_tiled(memory) and is_tiled(streamed)            # really two paths
    assert_same_samples(written(streamed), written(memory))
    no_leftovers(tmp_path, {"memory.tif", "streamed.tif"})


def test_zarr_output_holds_the_png_samples(images, tmp_path):
    out_png, out_zarr = tmp_path / "m.png", tmp_path / "s.zarr"
    assert run("filter", images["u16"], "-k", "sobel", "-o", out_png).exit_code == 0
    assert run("filter", images["u16"], "-k", "sobel", "-o", out_zarr).exit_code == 0
    assert_same_samples(written(out_zarr), written(out_png))      # 16 bits both


def test_streamed_output_equals_scipy_on_the_whole_image(images, tmp_path):
    image = tifffile.imread(images["f32"]).astype(np.float64)
    out = tmp_path / "out.zarr"
    result = run("filter", images["f32"], "-k", "laplacian", "--chunks", 40, "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == str(out)
    ref = np.abs(ndi.correlate(image, [[0, 1, 0], [1, -4, 1], [0, 1, 0]], mode="reflect"))
    expected = np.round(np.clip(ref, 0, 1) * 255)
    assert np.abs(written(out).astype(np.int64) - expected).max() <= 1


def test_zarr_in_stride_pool_chain(images, tmp_path):
    image = tifffile.imread(images["f32"])
    store = tmp_path / "in.zarr"
    z = zarr.create_array(str(store), shape=image.shape, chunks=(50, 50), dtype=image.dtype)
    z[:] = image
    out = tmp_path / "out.zarr"
    result = run("filter", store, "-k", "box:3", "-k", "sobel_x", "--stride", 2, "--pool", "max:2",
                 "--boundary", "wrap", "-o", out)
    assert result.exit_code == 0, result.output
    x = ndi.uniform_filter(image.astype(np.float64), 3, mode="wrap")
    x = np.abs(ndi.correlate(x, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], mode="wrap"))[::2, ::2]
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    x = x[:h, :w].reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3))
    assert np.abs(written(out).astype(np.int64) - np.round(np.clip(x, 0, 1) * 255)).max() <= 1


def test_auto_streaming_above_threshold(images, tmp_path, monkeypatch):
    src = images["f32"]
    nbytes = 133 * 150 * 4
    monkeypatch.setattr(pipeline, "AUTO_BYTES", nbytes - 1)
    assert pipeline.streams(src, tmp_path / "x.tif")
    out = tmp_path / "auto.tif"
    assert run("filter", src, "-k", "edge", "-o", out).exit_code == 0
    assert is_tiled(out)                                          # the streamed writer
    monkeypatch.setattr(pipeline, "AUTO_BYTES", nbytes)
    assert not pipeline.streams(src, tmp_path / "x.tif")


def test_allow_corrupt_and_max_pixels_reach_the_streamed_read(tmp_path):
    path = tmp_path / "c.jpg"
    rng = np.random.default_rng(0)
    Image.fromarray(np.kron(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8),
                            np.ones((10, 10, 1), np.uint8))).save(path, quality=95)
    data = bytearray(path.read_bytes())
    data[len(data) // 2:len(data) // 2 + 500] = bytes(500)
    path.write_bytes(bytes(data))
    refused = run("filter", path, "-k", "blur", "--chunks", 64, "-o", tmp_path / "o.zarr")
    assert refused.exit_code == 2 and "pass --allow-corrupt" in refused.output
    allowed = run("filter", path, "-k", "blur", "--chunks", 64, "-o", tmp_path / "o.zarr",
                  "--allow-corrupt")
    assert allowed.exit_code == 0 and "warning: " in allowed.output
    small = run("filter", path, "-k", "blur", "--chunks", 64, "-o", tmp_path / "p.zarr",
                "--max-pixels", 1000)
    assert small.exit_code == 2 and "--max-pixels" in small.output


# ------------------------------------------------------ hostile files (issue 25, 6 and 7)

def _hostile(folder: Path, name: str) -> Path:
    """One odd or corrupt input, made here."""
    path = folder / name
    if name == "chunk.zarr":                                          # a corrupt zarr chunk
        z = zarr.create_array(str(path), shape=(64, 64), chunks=(32, 32), dtype="uint8")
        z[:] = 7
        (path / "c" / "0" / "1").write_bytes(b"garbage" * 10)
    elif name in ("zero.zarr", "nested.zarr"):
        zarr.create_array(str(path), shape=(64, 64), chunks=(32, 32), dtype="uint8")
        meta = json.loads((path / "zarr.json").read_text())
        meta["chunk_grid"]["configuration"]["chunk_shape"] = [0, 0]
        text = json.dumps(meta) if name == "zero.zarr" else "[" * 100_000 + "]" * 100_000
        (path / "zarr.json").write_text(text)
    elif name == "deflate.tif":
        tiled_tiff(path, 32, 32, (16, 16), compression=8, tiles=[b"\x78\x9c" + b"\xff" * 40] * 4)
    elif name == "truncated.tif":
        tiles = [zlib.compress(bytes(256)) for _ in range(4)]
        tiled_tiff(path, 32, 32, (16, 16), compression=8, tiles=tiles)
        path.write_bytes(path.read_bytes()[:-len(tiles[-1]) - 3])
    elif name == "width0.tif":
        tiled_tiff(path, 32, 32, (16, 0), tiles=[bytes(256)] * 2)
    elif name in ("bits12.tif", "bits4.tif", "bits24.tif"):
        bits = int(name[4:6].rstrip("."))
        tiled_tiff(path, 32, 32, (16, 16), bits=bits, tiles=[bytes(16 * 16 * bits // 8)] * 4)
    elif name == "int16.tif":
        tifffile.imwrite(path, np.zeros((32, 32), np.int16), tile=(16, 16))
    elif name == "sparse.tif":                                         # 77 KB, 100000^2 declared
        tiled_tiff(path, 100_000, 100_000, (1024, 1024))
    elif name == "huge.zarr":
        zarr.create_array(str(path), shape=(100_000, 100_000), chunks=(1000, 1000), dtype="uint8")
    return path


HOSTILE = {
    "chunk.zarr": "cannot read '.*chunk.zarr': corrupt",
    "zero.zarr": "chunks .* of \\(0, 0\\); every side must be at least 1",
    "nested.zarr": "cannot read '.*nested.zarr': corrupt",
    "deflate.tif": "cannot read '.*deflate.tif': corrupt",
    "truncated.tif": "cannot read '.*truncated.tif': corrupt",
    "width0.tif": "chunks .* every side must be at least 1",
    "bits12.tif": "cannot read '.*bits12.tif'",
    "bits4.tif": "cannot read '.*bits4.tif'",
    "bits24.tif": "cannot read '.*bits24.tif'",
    "sparse.tif": "declares 100000 x 100000 = 10000000000 samples, above the streaming limit",
    "huge.zarr": "declares 100000 x 100000 = 10000000000 samples, above the streaming limit",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_streamed_input_one_line_exit_2_nothing_left(tmp_path, name):
    import re

    match = HOSTILE[name]

    src = _hostile(tmp_path, name)
    before = {p.name for p in tmp_path.iterdir()}
    start = time.monotonic()
    code, err = run_main("filter", src, "-k", "box:3", "--chunks", 16, "-o", tmp_path / "out.zarr",
                         timeout=60)
    assert code == 2 and err.count("\n") == 1 and err.startswith("Error: "), err
    assert re.search(match, err), err
    assert time.monotonic() - start < 30
    no_leftovers(tmp_path, before)


def test_a_strip_beyond_the_memory_budget_is_refused_before_decoding(tmp_path):
    path = tmp_path / "strip.tif"                    # one deflate strip of 600 x 600
    striped(path, 600, 600, 600, compression=8, strips=[zlib.compress(bytes(360_000))])
    refused = run("filter", path, "-k", "box:3", "--chunks", 100, "-o", tmp_path / "a.zarr",
                  "--max-pixels", 100_000)
    assert refused.exit_code == 2
    assert "pieces (tiles, strips or chunks) of 600 x 600 samples" in refused.output
    assert "above the memory limit of 100000 pixels" in refused.output
    ok = run("filter", path, "-k", "box:3", "--chunks", 100, "-o", tmp_path / "b.zarr",
             "--max-pixels", 400_000)
    assert ok.exit_code == 0, ok.output
    assert (written(tmp_path / "b.zarr") == 0).all()


def test_too_many_blocks_refused_quickly(images, tmp_path):
    start = time.monotonic()
    result = run("filter", images["f32"], "-k", "box:3", "--chunks", 1, "-o", tmp_path / "o.zarr")
    assert result.exit_code == 2
    least = next(c for c in range(1, 150) if -(-133 // c) * -(-150 // c) <= MAX_BLOCKS)
    assert (f"chunks=1 cuts the 150x133 image into 19950 blocks, above the limit of {MAX_BLOCKS}; "
            f"use chunks >= {least}") in result.output
    assert time.monotonic() - start < 10
    assert run("filter", images["f32"], "-k", "box:3", "--chunks", least,
               "-o", tmp_path / "o.zarr").exit_code == 0


# ------------------------------------------------------ one rule for NaN / inf and overflow

def test_nan_and_overflow_refused_alike_in_memory_and_streamed(tmp_path):
    nan = tmp_path / "nan.tif"
    tifffile.imwrite(nan, np.where(np.eye(64) > 0, np.nan, 0.5).astype(np.float32), tile=(16, 16))
    ones = tmp_path / "ones.tif"
    tifffile.imwrite(ones, np.ones((64, 64), np.float32), tile=(16, 16))
    huge = "1e308,1e308;1e308,1e308"
    for src, kernel, match in ((nan, "box:3", "contains NaN or infinite samples"),
                               (ones, huge, "gives values too large to represent (overflow)")):
        for extra in ([], ["--chunks", 16]):
            out = tmp_path / "out.tif"
            result = run("filter", src, "-k", kernel, "-o", out, *extra)
            assert result.exit_code == 2 and match in result.output, (extra, result.output)
            no_leftovers(tmp_path, {"nan.tif", "ones.tif"})


# ------------------------------------------------------ outputs: swap, nesting, clean-up

def _store(path: Path, value: int) -> None:
    z = zarr.create_array(str(path), shape=(64, 64), chunks=(16, 16), dtype="uint8")
    z[:] = value


def test_output_that_is_contains_or_lies_inside_an_input_is_refused(tmp_path):
    store = tmp_path / "in.zarr"
    _store(store, 9)
    inner = tmp_path / "holder.zarr"
    inner.mkdir()
    (inner / "zarr.json").write_text((store / "zarr.json").read_text())
    shutil.copytree(store / "c", inner / "c")
    nested_src = inner / "photo.tif"
    tifffile.imwrite(nested_src, np.zeros((32, 32), np.uint8))
    for src, out, match in ((store, store, "is the input file"),
                            (nested_src, inner, "contains the input"),
                            (store, store / "sub.zarr", "lies inside the input")):
        result = run("filter", src, "-k", "box:3", "-o", out, "--force")
        assert result.exit_code == 2 and match in result.output, result.output
    assert (written(store) == 9).all() and nested_src.is_file()


def test_a_folder_that_is_not_a_zarr_store_is_not_replaced(images, tmp_path):
    folder = tmp_path / "mine.zarr"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    result = run("filter", images["f32"], "-k", "box:3", "-o", folder, "--force")
    assert result.exit_code == 2 and "is a folder but not a zarr store" in result.output
    assert (folder / "notes.txt").read_text() == "keep me"


def test_sigterm_while_replacing_a_store_leaves_old_or_new_whole(images, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out.zarr"
    _store(out, 200)
    real = shutil.rmtree
    fired = []

    def interrupted_rmtree(path, *args, **kwargs):
        files = [p for p in Path(path).rglob("*") if p.is_file()]
        if files and not fired:               # deleting a store: one file, then SIGTERM arrives
            fired.append(path)
            files[0].unlink()
            os.kill(os.getpid(), signal.SIGTERM)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", interrupted_rmtree)
    with pytest.raises(SystemExit):
        main(["filter", str(images["f32"]), "-k", "box:3", "-o", str(out), "--force"])
    monkeypatch.setattr(shutil, "rmtree", real)
    got = written(out)                         # complete: every chunk readable
    assert got.shape == (133, 150) or (got == 200).all()
    if got.shape == (133, 150):
        assert run("filter", images["f32"], "-k", "box:3", "-o", tmp_path / "ref.zarr").exit_code == 0
        assert_same_samples(got, written(tmp_path / "ref.zarr"))
        (real)(tmp_path / "ref.zarr")
    no_leftovers(tmp_path, {"out.zarr"})


# ------------------------------------------------------ scheduler

@pytest.mark.slow
def test_unreachable_scheduler_one_line_exit_2_no_output(images, tmp_path):
    out = tmp_path / "never.zarr"
    code, err = run_main("filter", images["f32"], "-k", "box:3", "--scheduler", "tcp://127.0.0.1:9",
                         "-o", out)
    assert code == 2
    assert err.count("\n") == 1 and "cannot reach the dask scheduler at tcp://127.0.0.1:9" in err
    assert list(tmp_path.iterdir()) == []
    code, err = run_main("filter", images["f32"], "-k", "box:3", "--scheduler", "gpu", "-o", out)
    assert code == 2 and "--scheduler must be threads, processes or tcp://HOST:PORT" in err


def test_a_scheduler_that_accepts_and_never_answers_is_bounded(images, tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    start = time.monotonic()
    try:
        code, err = run_main("filter", images["f32"], "-k", "box:3", "--scheduler", address,
                             "-o", tmp_path / "never.zarr", timeout=60)
    finally:
        server.close()
        for c in held:
            c.close()
    assert code == 2 and f"cannot reach the dask scheduler at {address} (TimeoutError)" in err
    assert err.count("\n") == 1 and time.monotonic() - start < 30
    assert list(tmp_path.iterdir()) == []


def test_existing_output_and_bad_suffix(images, tmp_path):
    src = images["f32"]
    out = tmp_path / "o.zarr"
    assert run("filter", src, "-k", "box:3", "-o", out).exit_code == 0
    again = run("filter", src, "-k", "box:3", "-o", out)
    assert again.exit_code == 2 and "exists; pass --force" in again.output
    assert run("filter", src, "-k", "box:5", "-o", out, "--force").exit_code == 0
    bad = run("filter", src, "-k", "box:3", "--chunks", 64, "-o", tmp_path / "o.png")
    assert bad.exit_code == 2 and "written as .zarr or a tiled .tif" in bad.output
    no_leftovers(tmp_path, {"o.zarr"})


def test_dask_missing_one_line(images, tmp_path, monkeypatch):
    import builtins
    real = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.split(".")[0] == "dask":
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    result = run("filter", images["f32"], "-k", "box:3", "--chunks", 64, "-o", tmp_path / "x.zarr")
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
    result = run("filter", images, "-k", "blur", "-o", out, "--scheduler", scheduler)
    assert result.exit_code == 0, result.output
    written_names = sorted(p.name for p in out.iterdir())
    assert written_names == ["astronaut_blur.png", "camera_blur.png", "coins_blur.png"]
    # each equals the ordinary one-image command
    single = tmp_path / "single.png"
    assert run("filter", images / "coins.png", "-k", "blur", "-o", single).exit_code == 0
    np.testing.assert_array_equal(read_image_raw(out / "coins_blur.png"), read_image_raw(single))


def test_folder_batch_with_a_corrupt_image_replaces_nothing(tmp_path):
    images = tmp_path / "in"
    images.mkdir()
    for name in ("camera.png", "coins.png"):
        shutil.copy(SAMPLES / name, images / name)
    (images / "zz.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    out.mkdir()
    (out / "camera_blur.png").write_bytes(b"old")
    result = run("filter", images, "-k", "blur", "-o", out, "--force")
    assert result.exit_code == 2 and "zz.png" in result.output
    assert (out / "camera_blur.png").read_bytes() == b"old"
    no_leftovers(out, {"camera_blur.png"})


def test_help_lists_stream_options():
    result = run("filter", "--help")
    assert "--chunks" in result.output and "--scheduler" in result.output


def test_stream_module_imports_no_command():
    """The streaming helpers sit under the filter command: no import back (issue 24, item 1)."""
    import ast

    import convkit_cli.stream as module

    tree = ast.parse(Path(module.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    assert not any(name and name.endswith("_cmd") for name in imported), imported
