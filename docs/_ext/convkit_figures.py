"""Make the tutorial's and the guides' pictures and printed outputs during the build.

Nothing here is pasted: at ``builder-inited`` every function registered with
`@output` runs convkit (its ``convkit`` command through click's test runner,
or a library call) and writes a PNG, a text file or an rst fragment into
``docs/_generated/`` (ignored by git), which the pages include. A failing
command fails the build. Pictures of numbers (pooling grids, softmax bars)
are drawn here with matplotlib from the numbers convkit returns.
"""

from __future__ import annotations

import os
import re
import shlex
import time
from pathlib import Path
from typing import Callable

import numpy as np
from matplotlib.figure import Figure
from sphinx.util import logging

OUTPUTS: list[Callable[[Path], None]] = []
logger = logging.getLogger(__name__)
SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def output(fn: Callable[[Path], None]) -> Callable[[Path], None]:
    """Register `fn(folder)` to run at the start of every build."""
    OUTPUTS.append(fn)
    return fn


def run(out: Path, name: str, command: str) -> str:
    """Run ``convkit ...`` in `out` and keep the command and its output as `name`.txt."""
    from click.testing import CliRunner
    from convkit_cli import cli

    args = shlex.split(command)
    assert args[0] == "convkit", command
    cwd = os.getcwd()
    os.chdir(out)
    try:
        result = CliRunner().invoke(cli, args[1:], catch_exceptions=False)
    finally:
        os.chdir(cwd)
    if result.exit_code != 0:
        raise RuntimeError(f"{command!r} exited {result.exit_code}:\n{result.output}")
    text = f"$ {command}\n{result.output}"
    (out / f"{name}.txt").write_text(text, encoding="utf-8")
    return result.output


def save(fig: Figure, path: Path) -> None:
    fig.savefig(path, dpi=fig.dpi, bbox_inches="tight")


def grid(ax, a: np.ndarray, title: str, *, mark=None, cmap="Greys", decimals: int = 0) -> None:
    """Draw matrix `a` with its numbers; outline the cells where `mark` is true."""
    a = np.asarray(a, dtype=float)
    ax.imshow(a, cmap=cmap, vmin=min(a.min(), 0), vmax=max(a.max(), 1))
    for (i, j), v in np.ndenumerate(a):
        dark = (v - min(a.min(), 0)) / (max(a.max(), 1) - min(a.min(), 0) or 1) > 0.5
        ax.text(j, i, f"{v:.{decimals}f}", ha="center", va="center", fontsize=9,
                color="white" if dark else "black")
    if mark is not None:
        for i, j in zip(*np.nonzero(mark)):
            ax.add_patch(_rect(j, i, "tab:red"))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)


def _rect(x, y, colour, w=1, h=1):
    from matplotlib.patches import Rectangle
    return Rectangle((x - 0.5, y - 0.5), w, h, fill=False, edgecolor=colour, linewidth=2.5)


def seed_arrays():
    image = np.loadtxt(SAMPLES / "seed_image.csv", delimiter=",")
    detector = np.loadtxt(SAMPLES / "seed_detector.csv", delimiter=",")
    return image, detector


# ---- the tutorial -------------------------------------------------------------------------

@output
def continuous(out: Path) -> None:
    run(out, "continuous_rect", "convkit explain continuous --pair rect --png continuous_rect.png "
        "--max-frames 12 --force")
    run(out, "continuous_exp", "convkit explain continuous --pair exp --png continuous_exp.png "
        "--max-frames 12 --force")
    import convkit
    t = np.linspace(-1.0, 3.0, 81)
    box = lambda x: np.where(np.abs(np.asarray(x)) <= 0.5, 1.0, 0.0)  # noqa: E731
    quad = convkit.convolve_functions(box, box, t, support_f=(-0.5, 0.5), support_g=(-0.5, 0.5))
    fig = Figure(figsize=(5, 2.4), dpi=90)
    ax = fig.add_subplot()
    ax.plot(t, box(t), label="f = g = box of width 1")
    ax.plot(t, quad, label="convolve_functions(f, g, t)")
    ax.plot(t, np.maximum(0, 1 - np.abs(t)), "k:", label="closed form: triangle")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_xlabel("t")
    save(fig, out / "continuous_box.png")


@output
def conv(out: Path) -> None:
    run(out, "conv_stride1", "convkit explain conv --steps 2 --png conv_stride1.png --force")
    run(out, "conv_stride2", "convkit explain conv --stride 2 --steps 1 --png conv_stride2.png "
        "--force")
    import convkit
    image, detector = seed_arrays()
    fmap = convkit.correlate(image, detector, "valid")
    fig = Figure(figsize=(8, 2.8), dpi=90)
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [7, 3, 5]})
    grid(axes[0], image, "image (7x7)")
    grid(axes[1], detector, "feature detector (3x3)")
    grid(axes[2], fmap, "feature map (5x5)", mark=fmap == fmap.max(), cmap="Blues")
    save(fig, out / "conv_overview.png")


@output
def relu(out: Path) -> None:
    import convkit
    from convkit.cnn import ReLU
    camera = convkit.read_image(SAMPLES / "camera.png", gray=True)
    fmap = convkit.correlate(camera, convkit.get_kernel("sobel_x"), "same",
                         boundary="reflect")
    after = ReLU().forward(fmap[None, None], training=False)[0, 0]
    fig = Figure(figsize=(8, 2.9), dpi=90)
    axes = fig.subplots(1, 3)
    for ax, a, title, cmap in ((axes[0], camera, "image", "gray"),
                               (axes[1], fmap, "feature map (sobel_x)", "RdBu_r"),
                               (axes[2], after, "after ReLU", "RdBu_r")):
        lim = np.percentile(np.abs(fmap), 99)   # a few strong edges would wash out the rest
        ax.imshow(a, cmap=cmap, **({} if cmap == "gray" else {"vmin": -lim, "vmax": lim}))
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    save(fig, out / "relu.png")
    run(out, "relu", 'convkit explain relu "1,-2,0.5;-3,4,-0.5"')


@output
def pooling(out: Path) -> None:
    from convkit.viz import pool_walkthrough
    import convkit
    image, detector = seed_arrays()
    fmap = convkit.correlate(image, detector, "valid")
    fig = Figure(figsize=(9, 2.6), dpi=90)
    axes = fig.subplots(1, 4, gridspec_kw={"width_ratios": [5, 2, 2, 2]})
    grid(axes[0], fmap, "feature map (5x5)")
    for ax, op in zip(axes[1:], ("max", "min", "sum")):
        walk = pool_walkthrough(fmap, 2, op=op)
        grid(ax, walk.output, f"{op} pooling 2x2", cmap="Blues")
        if op != "sum":
            grid(axes[0], fmap, "feature map; winners of max pooling",
                 mark=pool_walkthrough(fmap, 2, op="max").winner_mask)
    save(fig, out / "pooling.png")
    for name, op in (("pool_max", "max"), ("pool_min", "min"), ("pool_sum", "sum")):
        run(out, name, f"convkit explain pool --op {op}")


@output
def flatten(out: Path) -> None:
    import convkit
    from convkit.cnn import Flatten
    image, detector = seed_arrays()
    pooled = convkit.pool(convkit.correlate(image, detector, "valid"), 2)
    column = Flatten().forward(pooled[None, None], training=False)[0]
    fig = Figure(figsize=(4, 2.6), dpi=90)
    axes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1]})
    grid(axes[0], pooled, "pooled map (2x2)", cmap="Blues")
    grid(axes[1], column[:, None], "flattened", cmap="Blues")
    save(fig, out / "flatten.png")
    run(out, "flatten", "convkit explain flatten")


@output
def dense_softmax(out: Path) -> None:
    from convkit.cnn import Dense
    from convkit.viz import softmax_walkthrough
    x = np.array([[1.0, 2.0, 4.0, 2.0]])
    dense = Dense(4, 3, seed=0)
    scores = dense.forward(x, training=False)[0]
    walk = softmax_walkthrough(scores, label=0)
    fig = Figure(figsize=(8, 2.6), dpi=90)
    axes = fig.subplots(1, 3)
    grid(axes[0], dense.params["weight"], "W: 4 inputs x 3 classes", decimals=2,
         cmap="RdBu_r")
    axes[1].bar(range(3), scores, color="tab:gray")
    axes[1].set_title("scores = x W + b", fontsize=10)
    axes[2].bar(range(3), walk.probabilities, color="tab:blue")
    axes[2].set_title(f"softmax; loss of class 0 = {walk.loss:.3f}", fontsize=10)
    for ax in axes[1:]:
        ax.set_xticks(range(3))
        ax.set_xlabel("class")
    save(fig, out / "dense_softmax.png")
    run(out, "softmax", "convkit explain softmax 2,1,0.1 --label 0")


@output
def backprop(out: Path) -> None:
    """Learn a 3x3 detector by gradient descent until it reproduces sobel_x's feature map."""
    import convkit
    from convkit.cnn import Adam, Conv2D
    # a 64x64 crop: enough texture to pin down nine weights, and fast
    camera = convkit.read_image(SAMPLES / "camera.png", gray=True)[64:128, 96:160][None, None]
    target = convkit.conv2d(camera, convkit.get_kernel("sobel_x")[None, None])
    layer = Conv2D(1, 1, 3, bias=False, dtype=np.float64, seed=0)
    start = layer.params["weight"][0, 0].copy()
    opt = Adam(lr=0.1)
    losses = []
    for _ in range(150):
        y = layer.forward(camera)
        diff = y - target
        losses.append(float(np.mean(diff ** 2)))
        layer.backward(2 * diff / diff.size)
        opt.step({"weight": layer.params["weight"]}, {"weight": layer.grads["weight"]})
    fig = Figure(figsize=(9, 2.6), dpi=90)
    axes = fig.subplots(1, 4, gridspec_kw={"width_ratios": [3, 3, 3, 4]})
    grid(axes[0], start, "detector at start", decimals=2, cmap="RdBu_r")
    grid(axes[1], layer.params["weight"][0, 0], "after 150 steps", decimals=2, cmap="RdBu_r")
    grid(axes[2], convkit.get_kernel("sobel_x"), "target: sobel_x", cmap="RdBu_r")
    axes[3].semilogy(losses)
    axes[3].set_title("mean squared error", fontsize=10)
    axes[3].set_xlabel("step")
    save(fig, out / "backprop.png")


@output
def colour(out: Path) -> None:
    src = SAMPLES / "astronaut.png"
    run(out, "colour_blur", f"convkit filter {src} --kernel gaussian:sigma=2 --compare "
        "-o colour_blur.png --force")
    run(out, "colour_edge", f"convkit filter {src} --kernel sobel --compare -o colour_edge.png "
        "--force")
    for name in ("colour_blur", "colour_edge"):
        text = (out / f"{name}.txt").read_text().replace(str(SAMPLES), "samples")
        (out / f"{name}.txt").write_text(text)


# ---- the guides ----------------------------------------------------------------------------

@output
def boundaries(out: Path) -> None:
    """The boundary table as rst, from convkit.boundary.BOUNDARIES, and a picture of each mode."""
    import convkit
    from convkit.boundary import BOUNDARIES
    rows = [("convkit", "extends ``a b c d`` as", "aliases", "numpy.pad", "scipy.ndimage",
             "OpenCV")]
    for b in BOUNDARIES:
        rows.append((f"``{b.name}``", f"``{b.picture}``",
                     ", ".join(f"``{a}``" for a in b.aliases) or "—", f"``{b.numpy}``",
                     f"``{b.ndimage}``", f"``{b.opencv}``"))
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in rows:
        lines.append("   * - " + row[0])
        lines.extend("     - " + cell for cell in row[1:])
    (out / "boundary_table.rst").write_text("\n".join(lines) + "\n", encoding="utf-8")

    a = np.arange(1, 10, dtype=float).reshape(3, 3)
    fig = Figure(figsize=(11, 2.6), dpi=90)
    axes = fig.subplots(1, len(BOUNDARIES))
    for ax, b in zip(axes, BOUNDARIES):
        padded = convkit.pad(a, 2, b.name, cval=0)
        grid(ax, padded, f"{b.name}", cmap="Blues")
        ax.add_patch(_rect(2, 2, "tab:red", 3, 3))
    save(fig, out / "boundary_pad.png")

    # a crop with bright and dark areas at its edges, where the modes differ
    camera = convkit.read_image(SAMPLES / "camera.png", gray=True)[40:72, 72:104]
    fig = Figure(figsize=(13, 2.6), dpi=90)
    axes = fig.subplots(1, len(BOUNDARIES) + 1)
    axes[0].imshow(camera, cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("the crop", fontsize=10)
    axes[0].axis("off")
    for ax, b in zip(axes[1:], BOUNDARIES):
        ax.imshow(convkit.filter_image(camera, "box:9", boundary=b.name), cmap="gray",
                  vmin=0, vmax=1)
        ax.set_title(f"box:9, {b.name}", fontsize=10)
        ax.axis("off")
    save(fig, out / "boundary_filter.png")


@output
def methods(out: Path) -> None:
    """Which engine `choose_method` picks for a few sizes, as an rst table."""
    import convkit
    sizes = (64, 1024, 16384)
    taps = (3, 31, 301)
    lines = [".. list-table::", "   :header-rows: 1", "", "   * - signal \\\\ kernel"]
    lines += [f"     - {k} taps" for k in taps]
    for n in sizes:
        lines.append(f"   * - {n} samples")
        for k in taps:
            method = convkit.choose_method(np.zeros(n), np.zeros(k)) if k <= n else "—"
            lines.append(f"     - {method}")
    (out / "choose_method_table.rst").write_text("\n".join(lines) + "\n", encoding="utf-8")


@output
def feature_maps(out: Path) -> None:
    run(out, "train_small", "convkit train --epochs 3 --out run --force")
    # without a terminal the progress bar prints its label as a line of its own: drop those
    lines = (out / "train_small.txt").read_text().splitlines(keepends=True)
    (out / "train_small.txt").write_text(
        "".join(line for line in lines if not re.fullmatch(r"epoch \d+/\d+\n?", line)))
    run(out, "show", f"convkit show run/model.npz {SAMPLES / 'digit_7.png'} -o feature_maps.png "
        "--force")
    text = (out / "show.txt").read_text().replace(str(SAMPLES), "samples")
    (out / "show.txt").write_text(text)


def generate(app) -> None:
    folder = Path(app.srcdir) / "_generated"
    folder.mkdir(exist_ok=True)
    for fn in OUTPUTS:
        start = time.perf_counter()
        fn(folder)
        logger.info("convkit_figures: %s %.1fs", fn.__name__, time.perf_counter() - start)


def setup(app):
    app.connect("builder-inited", generate)
    return {"parallel_read_safe": True, "version": "1"}
