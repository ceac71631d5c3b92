"""One colour convention for every picture of numbers in convkit.

A matrix without negative values is drawn in gray from 0 (black) to its
largest value (white), so a 1 in a binary image is white everywhere: in the
walkthrough frames, the documentation's figures and the explorer page. A
matrix with negative values is drawn red below 0, white at 0 and blue above,
symmetric around 0. Numbers written in the cells are black on light cells
and white on dark ones. Layout and titles are the caller's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["matrix_colours", "draw_matrix"]


def matrix_colours(a: ArrayLike) -> dict[str, Any]:
    """The ``imshow`` keywords (cmap, vmin, vmax) of the convention for the values `a`.

    Parameters
    ----------
    a : array_like
        The values to be drawn (NaN cells are ignored).

    Returns
    -------
    style : dict
        ``{"cmap": "gray", "vmin": 0, "vmax": max}`` without negatives (vmax 1
        when every value is 0), else ``{"cmap": "RdBu", "vmin": -m, "vmax": m}``
        with ``m = max |a|``.

    Examples
    --------
    >>> matrix_colours([[0, 1], [1, 0]])
    {'cmap': 'gray', 'vmin': 0.0, 'vmax': 1.0}
    >>> matrix_colours([-2, 1])
    {'cmap': 'RdBu', 'vmin': -2.0, 'vmax': 2.0}
    """
    values = np.asarray(a, np.float64)
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    if lo < 0:
        m = max(-lo, hi)
        return {"cmap": "RdBu", "vmin": -m, "vmax": m}
    return {"cmap": "gray", "vmin": 0.0, "vmax": hi if hi > 0 else 1.0}


def _text_colour(v: float, style: dict[str, Any]) -> str:
    """Black on light cells, white on dark ones."""
    if style["cmap"] == "gray":
        return "black" if v / style["vmax"] > 0.5 else "white"
    return "white" if abs(v) / style["vmax"] > 0.6 else "black"


def draw_matrix(ax, a: ArrayLike, title: str = "", *, mark: ArrayLike | None = None,
                decimals: int | None = None, numbers: bool = True, style: dict | None = None) -> list:
    """Draw matrix `a` on a matplotlib axis in the convention, with its numbers.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    a : array_like of shape (H, W)
    title : str, optional
    mark : array_like of bool, optional
        Cells to outline in orange (winners, the best match).
    decimals : int, optional
        Digits after the point; default 0 for whole numbers, else 2.
    numbers : bool, optional
        Write each cell's value (skipped for matrices wider than 16 cells).
    style : dict, optional
        Keywords from `matrix_colours` to share one scale between several matrices.

    Returns
    -------
    texts : list of matplotlib.text.Text
        The numbers, row after row (empty when not written).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().add_subplot()
    >>> [t.get_color() for t in draw_matrix(ax, [[0, 1]])]
    ['white', 'black']
    """
    from matplotlib.patches import Rectangle

    values = np.asarray(a, np.float64)
    style = style or matrix_colours(values)
    ax.imshow(values, interpolation="nearest", **style)
    whole = decimals is None and bool(np.all(values[np.isfinite(values)] == np.round(values[np.isfinite(values)])))
    digits = 0 if whole else (2 if decimals is None else decimals)
    texts = []
    if numbers and max(values.shape) <= 16:
        size = 9 if max(values.shape) <= 8 else 7
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                texts.append(ax.text(j, i, f"{v + 0.0:.{digits}f}", ha="center", va="center",
                                     fontsize=size, color=_text_colour(v, style)))
    if mark is not None:
        for i, j in zip(*np.nonzero(np.asarray(mark))):
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="tab:orange",
                                   linewidth=2.5))
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    return texts
