"""`convkit explain ...` and `convkit show` through click's CliRunner (and one real
subprocess for the exit code): the numbers printed are checked against
scipy.signal.correlate2d / skimage block_reduce / scipy.special, files are read
back with Pillow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import scipy.special
from click.testing import CliRunner
from PIL import Image
from skimage.measure import block_reduce

from convkit_cli import cli

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _csv(name: str) -> np.ndarray:
    return np.loadtxt(SAMPLES / name, delimiter=",", comments="#", ndmin=2)


def _grid_after(text: str, title: str) -> np.ndarray:
    """Parse the numeric grid printed under the last line equal to `title`."""
    lines = text.splitlines()
    start = max(i for i, line in enumerate(lines) if line.strip() == title) + 1
    rows = []
    for line in lines[start:]:
        if not line.strip():
            break
        rows.append([float(v.strip("[]")) for v in line.split()])
    return np.array(rows)


def test_conv_default_is_seed_walkthrough():
    result = run("explain", "conv")
    assert result.exit_code == 0, result.output
    image, kernel = _csv("seed_image.csv"), _csv("seed_detector.csv")
    expected = scipy.signal.correlate2d(image, kernel, "valid")
    np.testing.assert_array_equal(_grid_after(result.output, "feature map"), expected)
    assert "image 7x7, kernel 3x3, stride 1x1 -> feature map 5x5" in result.output
    assert "step 3/25" in result.output and "step 4/25" not in result.output
    assert "= 1\n" in result.output                    # the second step's sum


@pytest.mark.parametrize("stride, side", [(2, 3), (3, 2)])
def test_conv_stride_changes_map(stride, side):
    result = run("explain", "conv", "--stride", stride, "--steps", 0)
    assert result.exit_code == 0
    image, kernel = _csv("seed_image.csv"), _csv("seed_detector.csv")
    shown = _grid_after(result.output, "feature map")
    assert shown.shape == (side, side)
    np.testing.assert_array_equal(shown, scipy.signal.correlate2d(image, kernel, "valid")[::stride, ::stride])


def test_conv_own_image_and_kernel(tmp_path):
    image = np.arange(20.0).reshape(4, 5)
    np.save(tmp_path / "img.npy", image)
    result = run("explain", "conv", tmp_path / "img.npy", "--kernel", "1,0;0,-1", "--steps", 1)
    assert result.exit_code == 0
    expected = scipy.signal.correlate2d(image, np.array([[1, 0], [0, -1]]), "valid")
    np.testing.assert_array_equal(_grid_after(result.output, "feature map"), expected)
    inline = run("explain", "conv", "1,2,3;4,5,6;7,8,9", "-k", "1,1;1,1", "--steps", 0)
    np.testing.assert_array_equal(_grid_after(inline.output, "feature map"), [[12, 16], [24, 28]])


def test_conv_gif_and_png(tmp_path):
    gif, png = tmp_path / "c.gif", tmp_path / "c.png"
    result = run("explain", "conv", "--stride", 2, "--gif", gif, "--png", png)
    assert result.exit_code == 0, result.output
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames == 9
    with Image.open(png) as im:
        assert im.format == "PNG"
    assert f"wrote {gif} (9 frames)" in result.output


def test_conv_too_many_frames_subsampled(tmp_path):
    image = tmp_path / "big.npy"
    np.save(image, np.random.default_rng(0).random((12, 12)))   # 100 steps
    result = CliRunner().invoke(
        cli, ["explain", "conv", str(image), "-k", "box:3", "--steps", "0",
              "--gif", str(tmp_path / "b.gif"), "--max-frames", "6"])
    assert result.exit_code == 0
    assert "100 steps is too many frames for the GIF; drawing 6" in result.stderr
    with Image.open(tmp_path / "b.gif") as im:
        assert im.n_frames == 6


@pytest.mark.parametrize("args, message", [
    (["1,2;3,4", "-k", "box:3"], "kernel 3x3 is larger than image 2x2"),
    ([str(SAMPLES / "astronaut.png")], "image must be 2-D, got shape (256, 256, 3)"),
    (["--gif", "/no/such/folder/a.gif"], "output folder '/no/such/folder' does not exist"),
    (["--gif", "a.png"], "must end in .gif"),
    (["missing.csv"], "file not found: missing.csv"),
    ([str(SAMPLES / "camera.png"), "--gray"], "at most 64x64"),
])
def test_conv_bad_input_one_line_exit_2(args, message):
    result = run("explain", "conv", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_conv_3d_npy_rejected(tmp_path):
    np.save(tmp_path / "cube.npy", np.ones((3, 3, 3)))
    result = run("explain", "conv", tmp_path / "cube.npy")
    assert result.exit_code == 2 and "image must be 2-D, got shape (3, 3, 3)" in result.output


def test_gif_never_overwritten_without_force(tmp_path):
    gif = tmp_path / "c.gif"
    gif.write_bytes(b"old")
    assert run("explain", "conv", "--gif", gif).exit_code == 2
    assert gif.read_bytes() == b"old"
    assert run("explain", "conv", "--gif", gif, "--force").exit_code == 0
    with Image.open(gif) as im:
        assert im.n_frames == 25


def test_exit_code_in_real_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "convkit", "explain", "conv", "--gif",
                           str(tmp_path / "no" / "x.gif")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("Error: output folder") and "Traceback" not in proc.stderr


def test_relu():
    result = run("explain", "relu", "1,-2;-3,4")
    assert result.exit_code == 0
    np.testing.assert_array_equal(_relu_grid(result.output), [[1, 0], [0, 4]])
    default = run("explain", "relu")
    image, det = _csv("seed_image.csv"), _csv("seed_detector.csv")
    fmap = scipy.signal.correlate2d(image, 2 * det - 1, "valid")
    assert f"{int((fmap < 0).sum())} of 25 cells set to 0" in default.output


def _relu_grid(text: str) -> np.ndarray:
    """The right-hand grid ('after ReLU') of the relu output."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "after ReLU" in line) + 1
    rows = []
    for line in lines[start:]:
        if not line.strip():
            break
        cells = line.split()
        rows.append([float(v.strip("[]")) for v in cells[len(cells) // 2:]])
    return np.array(rows)


@pytest.mark.parametrize("op, func", [("max", np.max), ("min", np.min), ("sum", np.sum),
                                      ("mean", np.mean)])
def test_pool(op, func):
    x = np.arange(16.0).reshape(4, 4) % 7
    text = ";".join(",".join(str(v) for v in row) for row in x)
    result = run("explain", "pool", text, "--op", op)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    start = next(i for i, line in enumerate(lines) if f"{op}-pooled" in line) + 1
    shown = np.array([[float(v) for v in line.split()[4:]] for line in lines[start:start + 2]])
    np.testing.assert_allclose(shown, block_reduce(x, (2, 2), func), atol=0.005)
    if op in ("max", "min"):
        assert result.output.count("[") - result.output.count("[winner]") == 4   # one per window


def test_flatten_default_and_inline():
    result = run("explain", "flatten", "1,2;3,4")
    assert "x[1,0] = 3" in result.output and "column of 4 inputs" in result.output
    default = run("explain", "flatten")
    pooled = block_reduce(_csv("seed_feature_map.csv")[:4, :4], (2, 2), np.max)
    for (i, j), v in np.ndenumerate(pooled):
        assert f"x[{i},{j}] = {int(v)}" in default.output


def test_softmax():
    result = run("explain", "softmax", "3,1,0.2", "--label", 1)
    assert result.exit_code == 0
    p = scipy.special.softmax([3, 1, 0.2])
    assert f"{p[1]:.4f}  <- label" in result.output
    assert f"= {-np.log(p[1]):.4f}" in result.output
    assert "1.0000" in result.output.splitlines()[-3]        # the probabilities' sum
    assert run("explain", "softmax", "1,2", "--label", 2).exit_code == 2
    assert run("explain", "softmax", "1,a").exit_code == 2


def test_continuous(tmp_path):
    result = run("explain", "continuous", "--pair", "rect", "--frames", 7, "--gif", tmp_path / "r.gif")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines()]
    table = np.array([[float(a), float(b)] for a, b in (r for r in rows if len(r) == 2)
                      if a.lstrip("-").replace(".", "").isdigit()])
    np.testing.assert_allclose(table[:, 1], np.maximum(0, 1 - np.abs(table[:, 0])), atol=1e-5)
    with Image.open(tmp_path / "r.gif") as im:
        assert im.n_frames == 7


def _save_model(path: Path):
    from convkit.cnn import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential

    model = Sequential([Conv2D(1, 4, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(),
                        Dense(4 * 4 * 4, 10)], seed=0, input_shape=(1, 8, 8))
    model.save(path)


def test_show(tmp_path):
    _save_model(tmp_path / "net.npz")
    np.savetxt(tmp_path / "digit.csv", np.eye(8), delimiter=",")
    out = tmp_path / "maps.png"
    result = run("show", tmp_path / "net.npz", tmp_path / "digit.csv", "-o", out)
    assert result.exit_code == 0, result.output
    with Image.open(out) as im:
        assert im.format == "PNG"
    filters_only = tmp_path / "f.png"
    assert run("show", tmp_path / "net.npz", "-o", filters_only).exit_code == 0
    with Image.open(filters_only) as im, Image.open(out) as full:
        assert im.size[1] < full.size[1]                 # feature maps add rows
    again = run("show", tmp_path / "net.npz", "-o", out)
    assert again.exit_code == 2 and "exists" in again.output
    bad = run("show", tmp_path / "digit.csv")
    assert bad.exit_code == 2 and len(bad.output.strip().splitlines()) == 1
