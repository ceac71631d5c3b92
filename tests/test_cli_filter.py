"""`convkit filter`, `convkit pool` and `convkit kernels` through click's CliRunner
(and a real subprocess for exit codes), outputs checked against scipy.ndimage and
skimage.measure.block_reduce on the same input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi
from click.testing import CliRunner
from PIL import Image
from skimage.measure import block_reduce

from convkit.io.images import read_image_raw
from convkit_cli import cli, main
from helpers.hostile import finishes, hidden_files, jpeg_file, sigterm

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
EDGE = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=float)
LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=float)
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
EMBOSS = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=float)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A scratch folder holding copies of the sample images."""
    for name in ("camera.png", "astronaut.png", "coins.png"):
        shutil.copy(SAMPLES / name, tmp_path / name)
    return tmp_path


def run(*args: str):
    """Invoke the click group in-process."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def u8(path: Path) -> np.ndarray:
    """Samples of a written 8-bit file."""
    return read_image_raw(path).astype(np.int64)


def as_u8(values: np.ndarray) -> np.ndarray:
    """Independent [0, 1] -> 8-bit mapping (clip, scale, round)."""
    return np.round(np.clip(values, 0, 1) * 255).astype(np.int64)


def per_channel(func, image, *args, **kwargs):
    """An ndimage filter applied to each channel of an (H, W[, C]) image."""
    if image.ndim == 2:
        return func(image, *args, **kwargs)
    return np.stack([func(image[..., c], *args, **kwargs) for c in range(image.shape[2])], -1)


def source(folder: Path, name: str) -> np.ndarray:
    """The sample scaled to [0, 1] float64."""
    return read_image_raw(folder / name) / 255.0


def assert_close_u8(path: Path, expected: np.ndarray) -> None:
    """Written samples within one step of the independently computed picture."""
    got = u8(path)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1


# ------------------------------------------------------------ filter: values

def test_edge_default_output_is_magnitude_clipped(folder):
    result = run("filter", folder / "camera.png", "--kernel", "edge")
    assert result.exit_code == 0, result.output
    out = folder / "camera_edge.png"
    assert result.output.strip() == str(out)
    ref = ndi.correlate(source(folder, "camera.png"), EDGE, mode="reflect")
    assert_close_u8(out, as_u8(np.abs(ref)))


def test_gaussian_keeps_range_on_colour(folder):
    result = run("filter", folder / "astronaut.png", "-k", "gaussian:sigma=2", "-o", folder / "g.png")
    assert result.exit_code == 0, result.output
    ref = per_channel(ndi.gaussian_filter, source(folder, "astronaut.png"), 2.0, mode="reflect")
    assert_close_u8(folder / "g.png", as_u8(ref))


def test_kernels_apply_in_order_with_boundary(folder):
    result = run("filter", folder / "camera.png", "-k", "gaussian:sigma=1", "-k", "laplacian",
                 "--boundary", "nearest", "-o", folder / "out.png")
    assert result.exit_code == 0, result.output
    img = source(folder, "camera.png")
    ref = ndi.correlate(ndi.gaussian_filter(img, 1.0, mode="nearest"), LAPLACIAN, mode="nearest")
    assert_close_u8(folder / "out.png", as_u8(np.abs(ref)))


def test_rescale_stretches_sobel_magnitude(folder):
    result = run("filter", folder / "coins.png", "-k", "sobel", "--rescale", "-o", folder / "s.png")
    assert result.exit_code == 0, result.output
    img = source(folder, "coins.png")
    mag = np.hypot(ndi.sobel(img, axis=0, mode="reflect"), ndi.sobel(img, axis=1, mode="reflect"))
    assert_close_u8(folder / "s.png", as_u8(mag / mag.max()))


def test_inline_matrix_stride_and_pool(folder):
    result = run("filter", folder / "camera.png", "-k", "0,1,0;1,-4,1;0,1,0", "--stride", "2",
                 "--pool", "max:2", "--rescale")
    assert result.exit_code == 0, result.output
    out = folder / "camera_custom_maxpool2.png"
    ref = np.abs(ndi.correlate(source(folder, "camera.png"), LAPLACIAN, mode="reflect"))[::2, ::2]
    ref = block_reduce(ref, (2, 2), np.max)
    assert_close_u8(out, as_u8(ref / ref.max()))


def test_flip_and_gray(folder):
    result = run("filter", folder / "astronaut.png", "-k", "emboss", "--flip", "--gray",
                 "-o", folder / "e.png")
    assert result.exit_code == 0, result.output
    gray = source(folder, "astronaut.png") @ np.array([0.2125, 0.7154, 0.0721])
    assert_close_u8(folder / "e.png", as_u8(ndi.convolve(gray, EMBOSS, mode="reflect")))


def test_compare_puts_input_and_output_side_by_side(folder):
    result = run("filter", folder / "camera.png", "-k", "sobel_x", "--compare")
    assert result.exit_code == 0, result.output
    got = u8(folder / "camera_sobel_x_compare.png")
    img = read_image_raw(folder / "camera.png").astype(np.int64)
    h, w = img.shape
    assert got.shape == (h, 2 * w + 4)
    np.testing.assert_array_equal(got[:, :w], img)
    ref = np.abs(ndi.correlate(img / 255.0, SOBEL_X, mode="reflect"))
    assert np.abs(got[:, w + 4:] - as_u8(ref)).max() <= 1


def test_several_images_into_a_folder(folder):
    names = []
    for i in range(5):                                   # enough for the progress bar
        names.append(folder / f"c{i}.png")
        shutil.copy(folder / "coins.png", names[-1])
    outdir = folder / "out"
    outdir.mkdir()
    result = run("filter", *names, "-k", "blur", "-o", outdir)
    assert result.exit_code == 0, result.output
    ref = as_u8(ndi.uniform_filter(source(folder, "coins.png"), 3, mode="reflect"))
    for i in range(5):
        assert_close_u8(outdir / f"c{i}_blur.png", ref)


def test_force_replaces_an_existing_output(folder):
    (folder / "camera_edge.png").write_bytes(b"old")
    refused = run("filter", folder / "camera.png", "-k", "edge")
    assert refused.exit_code == 2 and "exists; pass --force to replace it" in refused.output
    assert (folder / "camera_edge.png").read_bytes() == b"old"
    assert run("filter", folder / "camera.png", "-k", "edge", "--force").exit_code == 0
    assert u8(folder / "camera_edge.png").shape == (256, 256)


# ------------------------------------------------------------ pool and kernels

@pytest.mark.parametrize("op,func", [("max", np.max), ("mean", np.mean), ("min", np.min)])
def test_pool_equals_block_reduce(folder, op, func):
    result = run("pool", folder / "astronaut.png", "--op", op, "--size", "4")
    assert result.exit_code == 0, result.output
    ref = block_reduce(source(folder, "astronaut.png"), (4, 4, 1), func)
    assert_close_u8(folder / f"astronaut_{op}pool4.png", as_u8(ref))


def test_pool_with_stride(folder):
    result = run("pool", folder / "camera.png", "--size", "3", "--stride", "2", "-o", folder / "p.png")
    assert result.exit_code == 0, result.output
    img = source(folder, "camera.png")
    ref = np.lib.stride_tricks.sliding_window_view(img, (3, 3))[::2, ::2].max(axis=(-2, -1))
    assert_close_u8(folder / "p.png", as_u8(ref))


def test_kernels_lists_every_name():
    from convkit.kernels import list_kernels

    result = run("kernels")
    assert result.exit_code == 0
    names = [line.split()[0] for line in result.output.splitlines()]
    assert set(names) == set(list_kernels(magnitudes=True))


def test_kernels_prints_one_matrix():
    result = run("kernels", "sobel_x")
    assert result.exit_code == 0
    rows = [line.split() for line in result.output.splitlines()[1:4]]
    np.testing.assert_array_equal(np.array(rows, dtype=float), SOBEL_X)
    assert "separable" in result.output


# ------------------------------------------------------------ bad input

def _bad_files(folder: Path) -> None:
    (folder / "text.png").write_text("not an image")
    data = (folder / "camera.png").read_bytes()
    (folder / "cut.png").write_bytes(data[: len(data) // 2])
    (folder / "adir").mkdir()


@pytest.mark.parametrize("args,match", [
    (["filter", "missing.png", "-k", "edge"], "file not found: missing.png"),
    (["filter", "adir", "-k", "edge"], "adir"),
    (["filter", "text.png", "-k", "edge"], "text.png"),
    (["filter", "cut.png", "-k", "edge"], "cut.png"),
    (["filter", "camera.png", "-k", "edgy"], "unknown kernel 'edgy'"),
    (["filter", "camera.png", "-k", "1,2;3"], "ragged"),
    (["filter", "camera.png", "-k", "edge", "--stride", "0"], "stride"),
    (["filter", "camera.png", "-k", "edge", "--pool", "max:999"], "larger than axis"),
    (["filter", "camera.png", "-k", "edge", "--pool", "median:2"], "--pool must be OP:SIZE"),
    (["filter", "camera.png", "-k", "edge", "--boundary", "zero"], "boundary must be one of"),
    (["filter", "camera.png", "-k", "edge", "-o", "nowhere/out.png"], "does not exist"),
    (["filter", "camera.png", "-k", "edge", "-o", "camera.png"], "is the input file"),
    (["filter", "camera.png", "-k", "edge", "-o", "out.gif"], "unknown image extension"),
    (["filter", "camera.png", "coins.png", "-k", "edge", "-o", "x.png"], "-o must be an existing folder"),
    (["pool", "camera.png", "--size", "300"], "pool size 300 is larger than axis 0 of length 256"),
    (["kernels", "nonsense"], "unknown kernel 'nonsense'"),
])
def test_bad_input_one_line_exit_2_no_file(folder, args, match, capsys, monkeypatch):
    _bad_files(folder)
    monkeypatch.chdir(folder)
    before = sorted(os.listdir(folder))
    with pytest.raises(SystemExit) as exc:
        main(args)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("Error: ")
    assert match in err
    assert sorted(os.listdir(folder)) == before


def test_a_failing_image_in_a_batch_leaves_no_outputs(folder, capsys, monkeypatch):
    _bad_files(folder)
    monkeypatch.chdir(folder)
    before = sorted(os.listdir(folder))
    with pytest.raises(SystemExit) as exc:
        main(["filter", "camera.png", "coins.png", "text.png", "-k", "edge"])
    assert exc.value.code == 2 and "text.png" in capsys.readouterr().err
    assert sorted(os.listdir(folder)) == before


@pytest.mark.parametrize("args", [["filter", "missing.png", "-k", "edge"],
                                  ["filter", "camera.png", "-k", "0,1;1"]])
def test_subprocess_exit_code_and_no_traceback(folder, args):
    proc = subprocess.run([sys.executable, "-m", "convkit", *args], cwd=folder,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert sorted(os.listdir(folder)) == ["astronaut.png", "camera.png", "coins.png"]


def test_each_kernel_spec_is_parsed_once_for_many_images(folder, monkeypatch):
    from convkit import kernels

    calls = []
    real = kernels.read_kernel_spec
    monkeypatch.setattr(kernels, "read_kernel_spec", lambda spec: calls.append(spec) or real(spec))
    names = ("camera.png", "coins.png", "astronaut.png")
    result = run("filter", *(folder / n for n in names), "-k", "gaussian:sigma=1", "-k", "sobel",
                 "-o", folder)
    assert result.exit_code == 0, result.output
    # gaussian once, sobel's two parts once each: 3 parses for 3 images, not 2 + 2N per spec
    assert sorted(calls) == ["gaussian:sigma=1", "sobel_x", "sobel_y"]
    img = source(folder, "coins.png")
    smooth = ndi.gaussian_filter(img, 1.0, mode="reflect")
    mag = np.hypot(ndi.sobel(smooth, axis=0, mode="reflect"), ndi.sobel(smooth, axis=1, mode="reflect"))
    assert_close_u8(folder / "coins_gaussian-sigma1_sobel.png", as_u8(mag))


def test_boundary_help_lists_the_table():
    from convkit.boundary import BOUNDARIES

    result = run("filter", "--help")
    text = "".join(result.output.split())     # help lines wrap inside hyphenated names
    for mode in BOUNDARIES:
        assert mode.name in text
        for alias in mode.aliases:
            assert alias in text


def test_help_lists_the_registrys_derivative_kernels(cli):
    # the epilog is read from the kernel registry: each kernel lands in the part its taps decide
    from convkit.filters import is_derivative
    from convkit.kernels import list_kernels

    text = " ".join(cli("filter", "--help").stdout.split())
    derivative_part = text[text.index("derivative kernels"):text.index("all other kernels")]
    other_part = text[text.index("all other kernels"):text.index("--rescale: stretch")]
    for name in list_kernels():
        part = derivative_part if is_derivative(name) else other_part
        assert f" {name}," in part or f"({name}," in part or f" {name};" in part, name

def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("force", [False, True])
def test_a_folder_batch_is_all_or_nothing(folder, capsys, force):
    if force:                                  # an earlier batch's outputs, to be replaced
        from convkit.io.images import write_image
        for name in os.listdir(folder):
            write_image(folder / name.replace(".png", "_blur.png"), np.zeros((4, 4), np.uint8))
    (folder / "zz_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)   # sorted last
    before = _snapshot(folder)
    with pytest.raises(SystemExit) as exc:
        main(["filter", str(folder), "-k", "blur", *(["--force"] if force else [])])
    assert exc.value.code == 2 and "zz_broken.png" in capsys.readouterr().err
    assert _snapshot(folder) == before         # the old outputs kept, no new or hidden file


def test_filtering_a_folder_twice_skips_its_own_outputs(folder, capsys):
    names = sorted(os.listdir(folder))
    with pytest.raises(SystemExit) as exc:
        main(["filter", str(folder), "-k", "blur"])
    assert exc.value.code in (0, None)
    first = _snapshot(folder)
    assert sorted(first) == sorted(names + [n.replace(".png", "_blur.png") for n in names])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["filter", str(folder), "-k", "blur", "--force"])
    assert exc.value.code in (0, None)
    err = capsys.readouterr().err
    assert "skipping 3 file(s)" in err and "astronaut_blur.png" in err
    assert _snapshot(folder) == first          # no camera_blur_blur.png; the same outputs again


@pytest.mark.parametrize("how", ["raises", "short", "fsync"])
def test_a_full_disk_is_one_line_naming_the_output(folder, capsys, monkeypatch, how):
    from helpers.full_disk import full_disk

    before = _snapshot(folder)
    full_disk(monkeypatch, how)
    with pytest.raises(SystemExit) as exc:
        main(["filter", str(folder / "camera.png"), "-k", "blur", "-o", str(folder / "out.jpg")])
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1
    assert f"'{folder / 'out.jpg'}'" in err and ("No space left" in err or "reached the disk" in err)
    assert _snapshot(folder) == before



# ----------------------------------------------------------------------------- hostile input
# (issue 16: one-line errors, exit 2, nothing half-written, nothing overwritten)

def test_max_pixels_option_bounds_what_filter_reads(tmp_path, cli):
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((40, 30), np.uint8)).save(small)
    r = cli("filter", small, "-k", "blur", "-o", tmp_path / "o.png", "--max-pixels", "1000")
    assert r.exit_code == 2 and "--max-pixels" in r.stderr and not (tmp_path / "o.png").exists()
    r = cli("filter", small, "-k", "blur", "-o", tmp_path / "o.png", "--max-pixels", "1200")
    assert r.exit_code == 0, r.output


def test_fifo_input_is_refused_at_once(tmp_path, cli):
    fifo = tmp_path / "cli.png"
    os.mkfifo(fifo)
    r = finishes(lambda: cli("filter", fifo, "-k", "blur", "-o", tmp_path / "o.png"))
    assert r.exit_code == 2 and "not a regular file" in r.stderr    # type: ignore[attr-defined]


def test_failed_batch_keeps_existing_outputs(tmp_path, cli, samples):
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes((samples / "camera.png").read_bytes())
    (tmp_path / "c.png").write_bytes(b"not an image at all")
    old = {}
    for name in ("a_blur.png", "b_blur.png"):
        Image.fromarray(np.full((4, 4), 7, np.uint8)).save(tmp_path / name)
        old[name] = (tmp_path / name).read_bytes()
    r = cli("filter", tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png", "-k", "blur", "--force")
    assert r.exit_code == 2 and "c.png" in r.stderr
    assert "nothing written" in r.stderr and "existing files were left unchanged" in r.stderr
    for name, data in old.items():
        assert (tmp_path / name).read_bytes() == data
    assert not (tmp_path / "c_blur.png").exists() and hidden_files(tmp_path) == []
    ok = cli("filter", tmp_path / "a.png", tmp_path / "b.png", "-k", "blur", "--force")
    assert ok.exit_code == 0 and (tmp_path / "a_blur.png").read_bytes() != old["a_blur.png"]


def test_dangling_symlink_output_needs_force(tmp_path, cli, samples):
    from convkit.io import read_image
    link = tmp_path / "out.png"
    link.symlink_to(tmp_path / "nowhere.png")
    r = cli("filter", samples / "camera.png", "-k", "blur", "-o", link)
    assert r.exit_code == 2 and "exists (a dangling symbolic link); pass --force" in r.stderr
    assert link.is_symlink() and not (tmp_path / "nowhere.png").exists()
    r = cli("filter", samples / "camera.png", "-k", "blur", "-o", link, "--force")
    assert r.exit_code == 0 and not link.is_symlink() and read_image(link).shape == (256, 256)


def test_sigterm_while_writing_leaves_no_temp_file(tmp_path, cli, samples, monkeypatch):
    import signal

    from convkit.io import codecs
    original = codecs.encode

    def encode_then_term(tmp, a, fmt):
        original(tmp, a, fmt)
        sigterm()

    monkeypatch.setattr(codecs, "encode", encode_then_term)
    before = signal.getsignal(signal.SIGTERM)
    r = cli("filter", samples / "camera.png", "-k", "blur", "-o", tmp_path / "o.png")
    assert r.exit_code == 130 and not (tmp_path / "o.png").exists() and hidden_files(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) is before


def test_corrupt_jpeg_is_one_line_unless_allowed(tmp_path, cli):
    path = tmp_path / "c.jpg"
    jpeg_file(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2:len(data) // 2 + 500] = bytes(500)
    path.write_bytes(bytes(data))
    r = cli("filter", path, "-k", "blur", "-o", tmp_path / "o.png")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1
    assert "corrupt JPEG file" in r.stderr and "pass --allow-corrupt to read it anyway" in r.stderr
    r = cli("filter", path, "-k", "blur", "-o", tmp_path / "o.png", "--allow-corrupt")
    assert r.exit_code == 0 and r.stderr.startswith("warning: ") and "corrupt JPEG" in r.stderr
    assert (tmp_path / "o.png").is_file()


def test_overflowing_kernel_is_one_line_without_numpy_warnings(tmp_path, cli, samples):
    r = cli("filter", samples / "camera.png", "-k", "1e308,1e308;1e308,1e308", "-o", tmp_path / "o.png")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "RuntimeWarning" not in r.output
    assert "gives values too large to represent (overflow); use a kernel with smaller weights" in r.stderr
    assert "np.nan_to_num" not in r.output
