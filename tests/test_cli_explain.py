"""`convkit explain ...` and `convkit show` through click's CliRunner (and one real
subprocess for the exit code): the numbers printed are checked against
scipy.signal.correlate2d / skimage block_reduce / scipy.special / closed forms,
files are checked with tests/helpers/viz_files.py (a GIF89a block parser, scikit-image,
convkit's PNG reader). Every error case: exit code 2, one line, no file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import scipy.special
from click.testing import CliRunner
from helpers.viz_files import gif_info, gif_pixels, png_pixels
from skimage.measure import block_reduce

from convkit_cli import cli, main
from helpers.hostile import number_ends, small_model

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def run_main(capsys, *args) -> tuple[int, str, str]:
    """The console script's entry point (one-line errors): exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return exc.value.code, captured.out, captured.err


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
    info = gif_info(gif)
    assert info["frames"] == 9 and info["loops"]
    frames = gif_pixels(gif)
    grid = png_pixels(png)           # 9 frames, as many per row as fit in READ_WIDTH, 4-pixel gaps
    h, w = info["size"][1], info["size"][0]
    from convkit.viz import READ_WIDTH
    cols = max(1, min(3, (READ_WIDTH + 4) // (w + 4)))
    rows = -(-9 // cols)
    assert grid.shape == (rows * (h + 4) - 4, cols * (w + 4) - 4, 3)
    assert grid.shape[1] <= max(READ_WIDTH, w)           # regression: 3616 px wide, shown at 624
    for k in (0, 4, 8):                                  # the same drawing in both files
        r, c = divmod(k, cols)
        tile = grid[r * (h + 4):r * (h + 4) + h, c * (w + 4):c * (w + 4) + w]
        assert np.abs(tile.astype(int) - frames[k]).mean() < 8
    assert not np.array_equal(frames[0], frames[1])
    assert f"wrote {gif} (9 frames)" in result.output
    assert f"wrote {png} (9 frames in a grid)" in result.output


def test_conv_too_many_frames_subsampled(tmp_path):
    image = tmp_path / "big.npy"
    np.save(image, np.random.default_rng(0).random((12, 12)))   # 100 steps
    result = CliRunner().invoke(
        cli, ["explain", "conv", str(image), "-k", "box:3", "--steps", "0",
              "--gif", str(tmp_path / "b.gif"), "--max-frames", "6"])
    assert result.exit_code == 0
    assert "100 steps is too many frames for the GIF; drawing 6" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert gif_info(tmp_path / "b.gif")["frames"] == 6


@pytest.mark.parametrize("args, message", [
    (["1,2;3,4", "-k", "box:3"], "kernel 3x3 is larger than image 2x2"),
    ([str(SAMPLES / "astronaut.png")], "astronaut.png is 256x256 pixels; at most 64x64"),
    (["--gif", "/no/such/folder/a.gif"], "output folder '/no/such/folder' does not exist"),
    (["--gif", "a.png"], "must end in .gif"),
    (["--png", "a.gif"], "must end in .png"),
    (["-k", "box:9"], "kernel 9x9 is larger than image 7x7"),
    (["--max-frames", "1000"], "1000 is not in the range 2<=x<=500"),
    (["--stride", "0"], "0 is not in the range x>=1"),
    (["-k", "nonsense"], "unknown kernel 'nonsense'"),
    (["1,2;3"], "ragged"),
    (["/"], "'/' is a directory; expected a .csv/.txt/.npy or image file"),
    (["missing.csv"], "file not found: missing.csv"),
    ([str(SAMPLES / "camera.png"), "--gray"], "at most 64x64"),
])
def test_conv_bad_input_one_line_exit_2(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main(capsys, "explain", "conv", *args)
    assert code == 2 and out == ""
    assert err.startswith("Error: ") and message in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []                # nothing written


def test_conv_3d_npy_rejected(tmp_path):
    np.save(tmp_path / "cube.npy", np.ones((3, 3, 3)))
    result = run("explain", "conv", tmp_path / "cube.npy")
    assert result.exit_code == 2 and "image must be 2-D, got shape (3, 3, 3)" in result.output
    assert "--gray" not in result.output                 # only an image file has colours


def test_gif_never_overwritten_without_force(tmp_path):
    gif = tmp_path / "c.gif"
    gif.write_bytes(b"old")
    refused = run("explain", "conv", "--gif", gif)
    assert refused.exit_code == 2 and f"output '{gif}' exists; pass --force" in refused.output
    assert gif.read_bytes() == b"old"
    assert run("explain", "conv", "--gif", gif, "--force").exit_code == 0
    assert gif_info(gif)["frames"] == 25


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
    assert "1.0000" in next(line for line in result.output.splitlines() if line.startswith("  sum"))
    assert run("explain", "softmax", "1,2", "--label", 2).exit_code == 2
    assert run("explain", "softmax", "1,a").exit_code == 2


def test_continuous(tmp_path):
    result = run("explain", "continuous", "--pair", "rect", "--frames", 7, "--gif", tmp_path / "r.gif")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines()]
    table = np.array([[float(a), float(b)] for a, b in (r for r in rows if len(r) == 2)
                      if a.lstrip("-").replace(".", "").isdigit()])
    np.testing.assert_allclose(table[:, 1], np.maximum(0, 1 - np.abs(table[:, 0])), atol=1e-5)
    assert gif_info(tmp_path / "r.gif")["frames"] == 7


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
    full = png_pixels(out)
    filters_only = tmp_path / "f.png"
    assert run("show", tmp_path / "net.npz", "-o", filters_only).exit_code == 0
    filters = png_pixels(filters_only)
    assert full.shape[1] == filters.shape[1] and filters.shape[0] < full.shape[0]   # maps add rows
    again = run("show", tmp_path / "net.npz", "-o", out)
    assert again.exit_code == 2 and "exists" in again.output
    bad = run("show", tmp_path / "digit.csv")
    assert bad.exit_code == 2 and len(bad.output.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (["explain", "pool", "--size", "9"], "pool size 9x9 is larger than the map 5x5"),
    (["explain", "pool", "1,2;3,4", "--op", "median"], "'median' is not one of"),
    (["explain", "relu", "1,nan;2,3"], "contains NaN or inf"),
    (["explain", "flatten", "missing.npy"], "file not found: missing.npy"),
    (["explain", "softmax", "1"], "at least 2 numbers"),
    (["explain", "softmax", "1,a"], "scores must be numbers separated by commas"),
    (["explain", "softmax", "1,2", "--label", "2"], r"label must be a class index in [0, 2)"),
    (["explain", "continuous", "--pair", "sinc"], "'sinc' is not one of"),
    (["explain", "continuous", "--gif", "no/dir/c.gif"], "output folder 'no/dir' does not exist"),
    (["show", "missing.npz"], "missing.npz"),
    (["show", "net.npz", "-o", "maps.jpg"], "must end in .png"),
    (["show", "net.npz", "-o", "no/dir/maps.png"], "output folder 'no/dir' does not exist"),
    (["show", "net.npz", "-o", "net.npz"], "must end in .png"),
    (["show", "digit.csv"], "not a readable convkit .npz file"),
])
def test_other_bad_input_one_line_exit_2(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _save_model(tmp_path / "net.npz")
    np.savetxt(tmp_path / "digit.csv", np.eye(8), delimiter=",")
    code, out, err = run_main(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith("Error: ") and message in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digit.csv", "net.npz"]


def test_hint_without_output_files():
    result = run("explain", "conv", "--steps", 0)
    assert result.output.rstrip().endswith("(add --gif OUT.gif for an animation, "
                                           "--png OUT.png for a grid of frames)")


def test_continuous_frames_capped_and_png_grid(tmp_path):
    png = tmp_path / "g.png"
    result = run("explain", "continuous", "--pair", "gaussian", "--frames", 50,
                 "--max-frames", 9, "--png", png)
    assert result.exit_code == 0, result.output
    assert "50 frames is more than --max-frames 9; using 9" in result.stderr
    assert f"wrote {png} (9 frames in a grid)" in result.stdout
    rows = [line.split() for line in result.stdout.splitlines()]
    table = np.array([[float(a), float(b)] for a, b in (r for r in rows if len(r) == 2)
                      if a.lstrip("-").replace(".", "").isdigit()])
    np.testing.assert_allclose(table[:, 0], np.linspace(-4, 4, 9))   # all 9 times printed
    np.testing.assert_allclose(table[:, 1], np.exp(-table[:, 0] ** 2 / 4) / np.sqrt(4 * np.pi),
                               atol=1e-5)
    grid = png_pixels(png)
    assert grid.ndim == 3 and grid.shape[2] == 3 and grid.dtype == np.uint8


@pytest.mark.slow
def test_runs_headless_without_pyplot(tmp_path):
    """No display and an interactive backend configured: drawing must still work, because
    convkit draws on private Agg figures and never imports pyplot."""
    _save_model(tmp_path / "net.npz")
    script = ("import sys\n"
              "from convkit_cli import main\n"
              "for argv in (['explain', 'conv', '--steps', '0', '--gif', 'c.gif', '--png', 'c.png'],\n"
              "             ['explain', 'continuous', '--frames', '3', '--gif', 'k.gif'],\n"
              "             ['show', 'net.npz', '-o', 'n.png']):\n"
              "    try:\n"
              "        main(argv)\n"
              "    except SystemExit as exc:\n"
              "        assert exc.code == 0, (argv, exc.code)\n"
              "print('pyplot' if 'matplotlib.pyplot' in sys.modules else 'no pyplot')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MPLBACKEND"] = "TkAgg"
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("no pyplot")
    assert gif_info(tmp_path / "c.gif")["frames"] == 25
    assert gif_info(tmp_path / "k.gif")["frames"] == 3
    assert png_pixels(tmp_path / "c.png").shape[2] == 3 and png_pixels(tmp_path / "n.png").ndim == 3


def test_explain_help_lists_the_steps_in_tutorial_order_with_whole_sentences():
    import re

    text = run("explain", "--help").output
    steps = text.split("tutorial's order:", 1)[1].split("Examples:")[0]
    listed = re.findall(r"^  (\w+)\s{2,}", steps, re.M)
    assert listed == ["continuous", "conv", "conv1d", "relu", "pool", "flatten", "softmax"]
    assert "..." not in steps                                # regression: summaries were cut off


@pytest.mark.parametrize("boundary", ["constant", "reflect", "mirror", "nearest", "wrap"])
def test_explain_conv_takes_padding_and_boundary(boundary):
    from _web import NUMPY_PAD

    res = run("explain", "conv", "--padding", "2", "--boundary", boundary, "--steps", "0")
    assert res.exit_code == 0, res.output
    image, detector = _csv("seed_image.csv"), _csv("seed_detector.csv")
    ref = scipy.signal.correlate2d(np.pad(image, 2, mode=NUMPY_PAD[boundary]), detector, "valid")
    assert f"feature map {ref.shape[0]}x{ref.shape[1]}" in res.output
    # the finished map, one row per line under its heading
    block = res.output.rsplit("\nfeature map\n", 1)[1].split("\n\n")[0]
    np.testing.assert_array_equal(np.array([line.split() for line in block.splitlines()], dtype=float), ref)


def test_softmax_of_a_certain_answer_has_loss_zero_not_minus_zero():
    res = run("explain", "softmax", "1000,0")
    assert res.exit_code == 0
    assert next(line for line in res.output.splitlines() if line.startswith("cross-entropy")).endswith("= 0.0000")


def test_train_takes_output_and_f_like_the_other_commands():
    text = run("train", "--help").output
    assert "-o, --output, --out DIRECTORY" in text and "-f, --force" in text


def test_show_writes_beside_the_model_not_into_the_current_folder(tmp_path, monkeypatch):
    run_dir = tmp_path / "runs" / "digits"
    run_dir.mkdir(parents=True)
    _save_model(run_dir / "model.npz")
    np.savetxt(tmp_path / "seven.csv", np.eye(8), delimiter=",")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert run("show", run_dir / "model.npz").exit_code == 0
    assert run("show", run_dir / "model.npz", tmp_path / "seven.csv").exit_code == 0
    assert sorted(p.name for p in run_dir.glob("*.png")) == ["model_filters.png", "model_seven_maps.png"]
    assert list(work.iterdir()) == []


@pytest.mark.parametrize("command", [["explain"], ["explain", "conv"], ["explain", "pool"], ["show"],
                                     ["samples"], ["train"]])
def test_help_speaks_to_users(command):
    import re

    text = run(*command, "--help").output
    assert not re.search(r"\bseed (tutorial|walkthrough|image|detector|feature)", text, re.I), text
    assert not re.search(r"\bTHE\b", text), text


@pytest.mark.parametrize("step, args, frames", [("relu", ["1,-2;-3,4"], 4), ("pool", ["--op", "min"], 4),
                                                ("flatten", ["1,2,3;4,5,6"], 6), ("softmax", ["2,1,0.1"], 4)])
def test_every_step_writes_a_gif_and_a_png_grid(tmp_path, step, args, frames):
    # regression: only conv and continuous took --gif/--png
    gif, png = tmp_path / "s.gif", tmp_path / "s.png"
    res = run("explain", step, *args, "--gif", gif, "--png", png)
    assert res.exit_code == 0, res.output
    info = gif_info(gif)
    assert info["frames"] == frames
    shown = gif_pixels(gif)
    assert not np.array_equal(shown[0], shown[-1])           # the frames differ: a walkthrough
    from convkit.viz import READ_WIDTH
    h, w = info["size"][1], info["size"][0]
    cols = max(1, min(int(np.ceil(np.sqrt(frames))), (READ_WIDTH + 4) // (w + 4)))
    assert png_pixels(png).shape == (-(-frames // cols) * (h + 4) - 4, cols * (w + 4) - 4, 3)
    again = run("explain", step, *args, "--gif", gif)
    assert again.exit_code == 2 and "exists" in again.output


def test_relu_frames_fill_in_max_x_0():
    from convkit.viz import iter_relu_frames

    x = np.array([[1.0, -2.0], [-3.0, 4.0]])
    frames = list(iter_relu_frames(x, dpi=30))
    # the right panel changes exactly where a cell is revealed; revealing a 0 cell still changes it
    diffs = [np.abs(a.astype(int) - b.astype(int)).sum() for a, b in zip(frames, frames[1:])]
    assert len(frames) == 4 and all(d > 0 for d in diffs)

@pytest.mark.parametrize("args", [("-k", "{fifo}.csv"), ("-k", "{fifo}.npy"), ("{fifo}.csv",)])
def test_a_fifo_given_to_explain_is_refused_at_once(tmp_path, cli, args):
    from helpers.blocking import finishes

    argv = [a.format(fifo=tmp_path / "f") for a in args]
    fifo = next(Path(a) for a in argv if a.startswith(str(tmp_path)))
    os.mkfifo(fifo)
    r = finishes(lambda: cli("explain", "conv", *argv), [fifo])
    assert r.exit_code == 2 and "is not a regular file" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_show_and_explain_on_a_huge_image_never_decode_it_whole(tmp_path, cli):
    import tracemalloc

    from test_cli_train import _huge_digit

    from convkit.cnn import Conv2D, Dense, Flatten, ReLU, Sequential

    model = Sequential([Conv2D(1, 4, 3, padding=1), ReLU(), Flatten(), Dense(256, 10)], seed=0,
                       input_shape=(1, 8, 8))
    model.save(tmp_path / "m.npz")
    path, _ = _huge_digit(tmp_path)
    tracemalloc.start()
    try:
        shown = cli("show", tmp_path / "m.npz", path, "-o", tmp_path / "maps.png")
        explained = cli("explain", "conv", path, "--gray")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert shown.exit_code == 0, shown.stderr
    assert "is 6016x6016 pixels; it is resized to the model's 8x8" in shown.stderr
    assert explained.exit_code == 2 and explained.stderr.count("\n") == 1
    assert "is 6016x6016 pixels; at most 64x64" in explained.stderr
    assert peak < 32 * 2 ** 20


@pytest.mark.parametrize("args, signal, kernel, stride, padding", [
    ([], [0, 0, 1, 3, 4, 3, 1, 0, 0, 2, 2, 0], [-1, 0, 1], 1, 0),
    (["0,1,3,1,0,2", "-k", "1,-1", "--stride", "2"], [0, 1, 3, 1, 0, 2], [1, -1], 2, 0),
    (["0,1,3,1", "-k", "1,2,1", "--padding", "1"], [0, 1, 3, 1], [1, 2, 1], 1, 1)])
def test_explain_conv1d_slides_a_detector_along_a_signal(args, signal, kernel, stride, padding):
    res = run("explain", "conv1d", *args, "--steps", "1")
    assert res.exit_code == 0, res.output
    x = np.pad(np.array(signal, float), padding)
    ref = np.correlate(x, np.array(kernel, float), "valid")[::stride]          # numpy's own sliding sum
    block = res.output.rsplit("\nfeature map\n", 1)[1].split("\n\n")[0]
    np.testing.assert_array_equal(np.array(block.split(), dtype=float), ref)
    first = next(line for line in res.output.splitlines() if line.startswith("sum = "))
    assert float(first.rsplit("= ", 1)[1]) == ref[0]


def test_explain_conv1d_reads_a_signal_file_and_refuses_stereo(tmp_path):
    from scipy.io import wavfile
    np.save(tmp_path / "s.npy", np.array([0.0, 2.0, 1.0, 5.0]))
    res = run("explain", "conv1d", tmp_path / "s.npy", "-k", "1,1", "--steps", "0")
    assert res.exit_code == 0 and res.output.rstrip().splitlines()[-3].split() == ["2", "3", "6"]
    wavfile.write(tmp_path / "st.wav", 8000, np.zeros((10, 2), np.int16))
    bad = run("explain", "conv1d", tmp_path / "st.wav")
    assert bad.exit_code == 2 and "2 channels" in bad.output


def test_explain_conv_and_conv1d_share_one_declaration_of_their_window_options():
    """--stride, --padding, --boundary, --steps: the same types, defaults and order in both commands;
    only the words of what the map's size counts and where the padding goes differ."""
    from convkit_cli.explain_cmd import conv, conv1d

    names = ["stride", "padding", "boundary", "full_steps"]

    def declared(command):
        params = [p for p in command.params if p.name in names]
        return [(p.name, p.opts, p.default, p.show_default, p.metavar, repr(p.type)) for p in params], params

    (image, image_params), (signal, signal_params) = declared(conv), declared(conv1d)
    assert [row[0] for row in image] == names and image == signal
    helps = [(a.help, b.help) for a, b in zip(image_params, signal_params)]
    assert helps[0] == ("Step of the window; the map has (n + 2*padding - k) // stride + 1 cells per side.",
                        "Step of the window; the map has (n + 2*padding - k) // stride + 1 cells.")
    assert helps[1] == ("Cells added around the image first, as in the explorer.", "Samples added at both ends first.")
    assert helps[2][0] == helps[2][1] and helps[3][0] == helps[3][1]


# ----------------------------------------------------------------------------- hostile input
# (issue 16: huge numbers give no numpy warnings; show says it resizes; grids stay aligned)

def test_huge_softmax_scores_give_no_numpy_warnings(cli):
    r = cli("explain", "softmax", "1e308,-1e308,0")
    assert r.exit_code == 0 and "RuntimeWarning" not in r.output and "Warning" not in r.stderr


def test_show_says_when_it_resizes(tmp_path, cli, samples, monkeypatch):
    from convkit.viz import model as viz_model
    path = tmp_path / "m.npz"
    small_model().save(path)
    titles = []
    original = viz_model.model_figure

    def spy(model, x=None, **kwargs):
        titles.append(kwargs.get("input_title"))
        return original(model, x, **kwargs)

    monkeypatch.setattr(viz_model, "model_figure", spy)
    r = cli("show", path, samples / "coins.png", "-o", tmp_path / "maps.png")
    assert r.exit_code == 0, r.output
    assert "coins.png is 384x303 pixels; it is resized to the model's 8x8 input" in r.stderr
    assert titles == ["input: the 384x303 image resized to the model's 8x8"]


def test_explain_conv_grids_are_aligned(cli, samples):
    r = cli("explain", "conv", samples / "seed_image.csv", "--kernel", "edge")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    for start, line in enumerate(lines):
        if not line.startswith("image [window]"):
            continue
        block = lines[start + 1:start + 8]           # the 7 image rows; the other grids beside them
        ends = [number_ends(row) for row in block]
        image_cols = [e[:7] for e in ends]
        assert all(c == image_cols[0] for c in image_cols), (start, block)
        fmap = [e[-5:] for e in ends[:5]]             # the 5 feature-map rows end each line
        assert all(c == fmap[0] for c in fmap), (start, block)
