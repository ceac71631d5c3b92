"""Make the tutorial's and the guides' pictures and printed outputs during the build.

Nothing here is pasted: at ``builder-inited`` every function registered with
`@output` runs convkit (its ``convkit`` command through click's test runner,
or a library call) and writes a PNG, a text file or an rst fragment into
``docs/_generated/`` (ignored by git), which the pages include. A failing
command fails the build. Pictures of numbers (pooling grids, softmax bars)
are drawn here with matplotlib from the numbers convkit returns, in the
colour convention of `convkit.viz.draw_matrix` (0 black to 1 white; signed
values red-white-blue). The explorer's screenshots are taken from a live
``convkit explore`` in headless Chromium. At the end every picture's width
is checked against the page: one drawn wider than `MAX_WIDTH` would be
shrunk below legibility, and fails the build.
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
SAMPLES = Path(__file__).resolve().parents[2] / "convkit" / "data"   # = samples/ in a checkout
PAGE_WIDTH = 650      # px: the text column of a page (pydata-sphinx-theme at 1280 px)
MAX_WIDTH = 820       # px: drawn at most ~1.25x the column, so nothing shows below 80 % of its size
DPI = 90


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


def grid(ax, a: np.ndarray, title: str, *, mark=None, decimals: int | None = None) -> None:
    """Draw matrix `a` with its numbers in convkit's colour convention; outline `mark`."""
    from convkit.viz import draw_matrix

    draw_matrix(ax, a, title, mark=mark, decimals=decimals)


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
    run(out, "continuous_rect", "convkit explain continuous --pair rect --frames 9 "
        "--png continuous_rect.png --force")
    run(out, "continuous_exp", "convkit explain continuous --pair exp --frames 9 "
        "--png continuous_exp.png --force")
    import convkit
    t = np.linspace(-1.0, 3.0, 81)
    box = lambda x: np.where(np.abs(np.asarray(x)) <= 0.5, 1.0, 0.0)  # noqa: E731
    quad = convkit.convolve_functions(box, box, t, support_f=(-0.5, 0.5), support_g=(-0.5, 0.5))
    fig = Figure(figsize=(6, 2.6), dpi=DPI)
    ax = fig.add_subplot()
    ax.plot(t, box(t), label="f = g = box of width 1")
    ax.plot(t, quad, label="convolve_functions(f, g, t)")
    ax.plot(t, np.maximum(0, 1 - np.abs(t)), "k:", label="closed form: triangle")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_xlabel("t")
    save(fig, out / "continuous_box.png")


@output
def conv(out: Path) -> None:
    run(out, "conv_stride1", "convkit explain conv --steps 2 --png conv_stride1.png --max-frames 6 "
        "--force")
    run(out, "conv_stride2", "convkit explain conv --stride 2 --steps 1 --png conv_stride2.png "
        "--max-frames 4 --force")
    run(out, "conv1d", "convkit explain conv1d --steps 1 --png conv1d.png --max-frames 4 --force")
    import convkit
    image, detector = seed_arrays()
    fmap = convkit.correlate(image, detector, "valid")
    fig = Figure(figsize=(8, 2.8), dpi=DPI)
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [7, 3, 5]})
    grid(axes[0], image, "image (7x7)")
    grid(axes[1], detector, "feature detector (3x3)")
    grid(axes[2], fmap, "feature map (5x5)", mark=fmap == fmap.max())
    save(fig, out / "conv_overview.png")


@output
def relu(out: Path) -> None:
    import convkit
    from convkit.cnn import ReLU
    camera = convkit.read_image(SAMPLES / "camera.png", gray=True)
    fmap = convkit.correlate(camera, convkit.get_kernel("sobel_x"), "same",
                         boundary="reflect")
    after = ReLU().forward(fmap[None, None], training=False)[0, 0]
    fig = Figure(figsize=(8, 2.9), dpi=DPI)
    axes = fig.subplots(1, 3)
    lim = np.percentile(np.abs(fmap), 99)       # a few strong edges would wash out the rest
    for ax, a, title, cmap in ((axes[0], camera, "image", "gray"),
                               (axes[1], fmap, "feature map (sobel_x)", "RdBu"),
                               (axes[2], after, "after ReLU", "RdBu")):
        # the convention: gray 0 black to 1 white; signed red < 0 < blue, one scale for both maps
        ax.imshow(a, cmap=cmap, **({"vmin": 0, "vmax": 1} if cmap == "gray" else {"vmin": -lim, "vmax": lim}))
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
    fig = Figure(figsize=(8, 2.6), dpi=DPI)
    axes = fig.subplots(1, 4, gridspec_kw={"width_ratios": [5, 2, 2, 2]})
    grid(axes[0], fmap, "feature map; max winners", mark=pool_walkthrough(fmap, 2, op="max").winner_mask)
    for ax, op in zip(axes[1:], ("max", "min", "sum")):
        grid(ax, pool_walkthrough(fmap, 2, op=op).output, f"{op} pooling 2x2")
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
    fig = Figure(figsize=(4, 2.6), dpi=DPI)
    axes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1]})
    grid(axes[0], pooled, "pooled map (2x2)")
    grid(axes[1], column[:, None], "flattened")
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
    fig = Figure(figsize=(8, 2.6), dpi=DPI)
    axes = fig.subplots(1, 3)
    grid(axes[0], dense.params["weight"], "W: 4 inputs x 3 classes", decimals=2)
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
    # two rows: the three detectors, then the loss curve with room for its axis labels
    fig = Figure(figsize=(8, 5.4), dpi=DPI, layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1])
    axes = top.subplots(1, 3)
    grid(axes[0], start, "detector at start", decimals=2)
    grid(axes[1], layer.params["weight"][0, 0], "after 150 steps", decimals=2)
    grid(axes[2], convkit.get_kernel("sobel_x"), "target: sobel_x")
    curve = bottom.subplots()
    curve.semilogy(losses)
    curve.set_title("mean squared error of the feature map", fontsize=10)
    curve.set_xlabel("step")
    curve.set_ylabel("error")
    save(fig, out / "backprop.png")


@output
def colour(out: Path) -> None:
    run(out, "colour_blur", "convkit filter samples/astronaut.png --kernel gaussian:sigma=2 --compare "
        "-o colour_blur.png --force")
    run(out, "colour_edge", "convkit filter samples/astronaut.png --kernel sobel --compare "
        "-o colour_edge.png --force")


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
    fig = Figure(figsize=(8, 5.2), dpi=DPI)
    axes = fig.subplots(2, 3).ravel()
    axes[-1].axis("off")
    for ax, b in zip(axes, BOUNDARIES):
        padded = convkit.pad(a, 2, b.name, cval=0)
        grid(ax, padded, f"{b.name}")
        ax.add_patch(_rect(2, 2, "tab:orange", 3, 3))
    save(fig, out / "boundary_pad.png")

    # a crop with bright and dark areas at its edges, where the modes differ
    camera = convkit.read_image(SAMPLES / "camera.png", gray=True)[40:72, 72:104]
    fig = Figure(figsize=(8, 5.4), dpi=DPI)
    axes = fig.subplots(2, 3).ravel()
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
    run(out, "show", "convkit show run/model.npz samples/digit_7.png -o feature_maps.png --force")


@output
def explorer(out: Path) -> None:
    """Screenshots of ``convkit explore`` with the model trained above, in headless Chromium."""
    import tempfile

    from playwright.sync_api import sync_playwright

    from convkit.web import make_server

    chromium = "/usr/bin/chromium"
    if not os.path.exists(chromium):
        raise RuntimeError("the explorer's screenshots need Debian's chromium: apt-get install chromium")
    cwd = os.getcwd()
    os.chdir(out)                      # the page shows the model path as given: run/model.npz
    try:
        server = make_server(0, "run/model.npz")
    finally:
        os.chdir(cwd)
    server.serve_in_thread()
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                tempfile.mkdtemp(), executable_path=chromium, headless=True,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
                viewport={"width": 800, "height": 900})   # the page as wide as the docs' column
            page = context.new_page()
            page.goto(server.url)
            page.wait_for_selector("body[data-ready='1']", timeout=60_000)
            canvas = page.locator("#output-canvas")
            cell = float(canvas.get_attribute("data-cell"))
            canvas.hover(position={"x": 3.5 * cell, "y": 1.5 * cell})
            page.locator("#conv").screenshot(path=str(out / "explore_conv.png"))
            page.locator("#steps").screenshot(path=str(out / "explore_steps.png"))
            box = page.locator("#draw").bounding_box()
            page.locator("#draw").scroll_into_view_if_needed()
            box = page.locator("#draw").bounding_box()
            page.mouse.move(box["x"] + 70, box["y"] + 50)
            page.mouse.down()
            for k in range(10):          # a 7: the bar, then the stroke down
                page.mouse.move(box["x"] + 70 + 10 * k, box["y"] + 50)
            for k in range(12):
                page.mouse.move(box["x"] + 160 - 5 * k, box["y"] + 50 + 12 * k)
            page.mouse.up()
            page.wait_for_timeout(800)
            maps = page.locator("#layers .layer[data-layer='1'] canvas.map").first
            maps.click(position={"x": 30, "y": 30})
            page.wait_for_selector("#net-detail:not([hidden])")
            page.locator("#network").screenshot(path=str(out / "explore_network.png"))
            page.locator("#continuous").screenshot(path=str(out / "explore_continuous.png"))
            context.close()
    finally:
        server.shutdown()
        server.server_close()


def check_widths(folder: Path) -> None:
    """Every picture is drawn at most MAX_WIDTH px wide, so the page shows it at >= 80 % size."""
    from convkit import read_image

    wide = []
    for path in sorted(folder.glob("*.png")):
        width = read_image(path).shape[1]
        if width > MAX_WIDTH:
            wide.append(f"{path.name}: {width} px")
    if wide:
        raise RuntimeError(f"pictures wider than {MAX_WIDTH} px would be shown shrunk on a "
                           f"{PAGE_WIDTH} px page: {'; '.join(wide)}")


def generate(app) -> None:
    from convkit.data import copy_samples

    folder = Path(app.srcdir) / "_generated"
    folder.mkdir(exist_ok=True)
    copy_samples(folder / "samples", overwrite=True)     # as a reader's `convkit samples` does
    for fn in OUTPUTS:
        start = time.perf_counter()
        fn(folder)
        logger.info("convkit_figures: %s %.1fs", fn.__name__, time.perf_counter() - start)
    check_widths(folder)


def setup(app):
    app.connect("builder-inited", generate)
    return {"parallel_read_safe": True, "version": "1"}
