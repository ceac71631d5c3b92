"""Frames of the steps after convolution: ReLU, pooling, flattening, softmax.

Each generator draws one RGB frame per step in convkit's colour convention
(`convkit.viz.cells`): the input with the cell or window of this step
outlined, and the output filling in, cell by cell (ReLU, flattening) or
window by window (pooling); softmax in four stages (scores, exponentials,
probabilities, the loss). `convkit explain relu|pool|flatten|softmax
--gif/--png` writes them; the convolution's own frames are in
`convkit.viz.frames`.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .cells import draw_matrix, matrix_colours
from .frames import figure_to_array
from .steps import PoolWalkthrough, SoftmaxWalkthrough

__all__ = ["iter_relu_frames", "iter_pool_frames", "iter_flatten_frames", "iter_softmax_frames",
           "SOFTMAX_STAGES"]

SOFTMAX_STAGES = 4     # scores; exp(score - max); probabilities; the loss
NOT_YET = "#c9d7e8"    # cells not computed yet: pale blue, neither the black of 0 nor the white of max


def _order(steps: Sequence[int] | None, n: int) -> np.ndarray:
    return np.arange(n) if steps is None else np.asarray(steps, int)


def _box(ax, r: int, c: int, h: int = 1, w: int = 1, colour: str = "tab:orange"):
    from matplotlib.patches import Rectangle

    return ax.add_patch(Rectangle((c - 0.5, r - 0.5), w, h, fill=False, edgecolor=colour, linewidth=3))


def _filling(ax, values: np.ndarray, title: str):
    """Draw `values` on its final scale with every cell hidden; return (image, texts)."""
    texts = draw_matrix(ax, values, title, style=matrix_colours(values))
    ax.set_facecolor(NOT_YET)
    return ax.images[0], texts


def _show_upto(image, texts, values: np.ndarray, k: int) -> None:
    """Reveal the first k + 1 cells (row after row) of `values`."""
    partial = np.full(values.size, np.nan)
    partial[:k + 1] = values.ravel()[:k + 1]
    image.set_data(partial.reshape(values.shape))
    for n, t in enumerate(texts):
        t.set_visible(n <= k)


def iter_relu_frames(feature_map: ArrayLike, *, steps: Sequence[int] | None = None,
                     dpi: int = 80) -> Iterator[np.ndarray]:
    """One frame per cell: the map with this cell outlined, and max(x, 0) filling in.

    Parameters
    ----------
    feature_map : array_like of shape (H, W)
    steps : sequence of int, optional
        Which cells (row-major) to draw; default all.
    dpi : int, optional

    Yields
    ------
    frame : ndarray of shape (h, w, 3), uint8

    Examples
    --------
    >>> sum(1 for _ in iter_relu_frames([[1, -2], [-3, 4]], dpi=20))
    4
    """
    from matplotlib.figure import Figure

    x = np.asarray(feature_map, np.float64)
    out = np.maximum(x, 0) + 0.0
    fig = Figure(figsize=(7, 3.4), dpi=dpi)
    ax_in, ax_out = fig.subplots(1, 2)
    draw_matrix(ax_in, x, "feature map")
    image, texts = _filling(ax_out, out, "ReLU: max(x, 0)")
    here, there = _box(ax_in, 0, 0), _box(ax_out, 0, 0)
    fig.subplots_adjust(top=0.82)
    title = fig.suptitle("")
    for k in _order(steps, x.size):
        i, j = divmod(int(k), x.shape[1])
        _show_upto(image, texts, out, int(k))
        here.set_xy((j - 0.5, i - 0.5))
        there.set_xy((j - 0.5, i - 0.5))
        title.set_text(f"cell {int(k) + 1}/{x.size}: max({x[i, j]:.4g}, 0) = {out[i, j]:.4g}")
        yield figure_to_array(fig)


def iter_pool_frames(walk: PoolWalkthrough, *, steps: Sequence[int] | None = None,
                     dpi: int = 80) -> Iterator[np.ndarray]:
    """One frame per window: the window outlined (its winner too), the pooled map filling in.

    Parameters
    ----------
    walk : PoolWalkthrough
        From `pool_walkthrough`.
    steps : sequence of int, optional
        Which windows (row-major) to draw; default all.
    dpi : int, optional

    Yields
    ------
    frame : ndarray of shape (h, w, 3), uint8

    Examples
    --------
    >>> from convkit.viz import pool_walkthrough
    >>> walk = pool_walkthrough([[1, 3, 0, 0], [2, 0, 5, 1]], 2)
    >>> sum(1 for _ in iter_pool_frames(walk, dpi=20))
    2
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.4), dpi=dpi)
    ax_in, ax_out = fig.subplots(1, 2, gridspec_kw={"width_ratios": [walk.x.shape[1], walk.output.shape[1] + 1]})
    draw_matrix(ax_in, walk.x, "feature map")
    image, texts = _filling(ax_out, walk.output, f"{walk.op}-pooled")
    (kh, kw), (sh, sw) = walk.size, walk.stride
    window, winner, cell = _box(ax_in, 0, 0, kh, kw), _box(ax_in, 0, 0, colour="tab:green"), _box(ax_out, 0, 0)
    fig.subplots_adjust(top=0.82)
    title = fig.suptitle("")
    wo = walk.output.shape[1]
    for k in _order(steps, walk.output.size):
        i, j = divmod(int(k), wo)
        _show_upto(image, texts, walk.output, int(k))
        window.set_xy((j * sw - 0.5, i * sh - 0.5))
        cell.set_xy((j - 0.5, i - 0.5))
        if walk.winners is not None:
            r, c = divmod(int(walk.winners[i, j]), walk.x.shape[1])
            winner.set_xy((c - 0.5, r - 0.5))
        winner.set_visible(walk.winners is not None)
        title.set_text(f"window {int(k) + 1}/{walk.output.size}: {walk.op} = {walk.output[i, j]:.4g}")
        yield figure_to_array(fig)


def iter_flatten_frames(x: ArrayLike, *, steps: Sequence[int] | None = None,
                        dpi: int = 80) -> Iterator[np.ndarray]:
    """One frame per cell: the cell outlined in the map, the column filling in row after row.

    Parameters
    ----------
    x : array_like of shape (H, W)
    steps : sequence of int, optional
        Which cells to draw; default all.
    dpi : int, optional

    Yields
    ------
    frame : ndarray of shape (h, w, 3), uint8

    Examples
    --------
    >>> sum(1 for _ in iter_flatten_frames([[1, 2], [3, 4]], dpi=20))
    4
    """
    from matplotlib.figure import Figure

    a = np.asarray(x, np.float64)
    column = a.reshape(-1, 1)
    fig = Figure(figsize=(5, 3.8), dpi=dpi)
    ax_in, ax_out = fig.subplots(1, 2)
    style = matrix_colours(a)
    draw_matrix(ax_in, a, "map", style=style)
    texts = draw_matrix(ax_out, column, "column", style=style)
    ax_out.set_facecolor(NOT_YET)
    image = ax_out.images[0]
    here, there = _box(ax_in, 0, 0), _box(ax_out, 0, 0)
    fig.subplots_adjust(top=0.82)
    title = fig.suptitle("")
    for k in _order(steps, a.size):
        i, j = divmod(int(k), a.shape[1])
        _show_upto(image, texts, column, int(k))
        here.set_xy((j - 0.5, i - 0.5))
        there.set_xy((-0.5, int(k) - 0.5))
        title.set_text(f"row {i}, column {j} -> position {int(k)}")
        yield figure_to_array(fig)


def iter_softmax_frames(walk: SoftmaxWalkthrough, *, steps: Sequence[int] | None = None,
                        dpi: int = 80) -> Iterator[np.ndarray]:
    """Four frames: the scores, exp(score - max), the probabilities, the loss of the label.

    Parameters
    ----------
    walk : SoftmaxWalkthrough
        From `softmax_walkthrough`.
    steps : sequence of int, optional
        Which of the `SOFTMAX_STAGES` stages to draw; default all.
    dpi : int, optional

    Yields
    ------
    frame : ndarray of shape (h, w, 3), uint8

    Examples
    --------
    >>> from convkit.viz import softmax_walkthrough
    >>> sum(1 for _ in iter_softmax_frames(softmax_walkthrough([2.0, 1.0, 0.1]), dpi=20))
    4
    """
    from matplotlib.figure import Figure

    n = walk.scores.size
    panels = [("scores", walk.scores), ("exp(score - max)", walk.exps), ("probabilities", walk.probabilities)]
    captions = ["the class scores (logits)", "exp(score - max): positive, the largest is 1",
                "divided by their sum: probabilities adding up to 1",
                f"cross-entropy of label {walk.label}: -log {walk.probabilities[walk.label]:.4f} = {walk.loss:.4f}"]
    for k in _order(steps, SOFTMAX_STAGES):
        fig = Figure(figsize=(8, 3), dpi=dpi)
        axes = fig.subplots(1, 3)
        for s, (ax, (name, values)) in enumerate(zip(axes, panels)):
            ax.set_title(name, fontsize=10)
            ax.set_xticks(range(n))
            ax.set_xlabel("class")
            if s <= k:
                colours = ["tab:orange" if c == walk.label else "tab:blue" for c in range(n)]
                ax.bar(range(n), values, color=colours)
                ax.axhline(0, color="black", linewidth=0.8)
        fig.suptitle(f"stage {int(k) + 1}/{SOFTMAX_STAGES}: {captions[int(k)]}", fontsize=11)
        fig.tight_layout()
        yield figure_to_array(fig)
