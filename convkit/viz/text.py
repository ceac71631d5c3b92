"""Aligned text grids for the terminal: one matrix, or several side by side.

The walkthroughs in `convkit.viz` print through these two helpers so every
grid a learner sees is formatted alike. No computation lives here.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["format_number", "format_grid", "side_by_side"]


def format_number(value: float, decimals: int = 2) -> str:
    """Whole numbers without a decimal point, others with `decimals` digits; NaN as '.'."""
    v = float(value)
    if np.isnan(v):
        return "."
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.{decimals}f}"


def format_grid(a: ArrayLike, *, decimals: int = 2, mark: ArrayLike | None = None,
                title: str | None = None) -> list[str]:
    """Return the lines of a right-aligned grid of `a` (1-D is shown as a row).

    Parameters
    ----------
    a : array_like of shape (M, N) or (N,)
    decimals : int, optional
        Digits after the point for values that are not whole.
    mark : array_like of bool, optional
        Same shape as `a`; marked cells are drawn in brackets, ``[4]``.
    title : str, optional
        A first line above the grid.

    Returns
    -------
    lines : list of str
        All of the same width.

    Examples
    --------
    >>> print("\\n".join(format_grid([[1, 0], [0.5, 2]])))
       1     0
    0.50     2
    """
    x = np.atleast_2d(np.asarray(a))
    marked = np.zeros(x.shape, bool) if mark is None else np.atleast_2d(np.asarray(mark, bool))
    cells = [[format_number(v, decimals) for v in row] for row in x]
    cells = [[f"[{c}]" if m else c for c, m in zip(row, mrow)] for row, mrow in zip(cells, marked)]
    width = max((len(c) for row in cells for c in row), default=1)
    lines = ["  ".join(c.rjust(width) for c in row) for row in cells]
    if title is not None:
        lines.insert(0, title)
    total = max(len(line) for line in lines)
    return [line.ljust(total) for line in lines]


def side_by_side(blocks: Sequence[Sequence[str]], *, gap: str = "    ",
                 max_width: int | None = None) -> list[str]:
    """Join blocks of lines column-wise, top-aligned, padding short blocks.

    If the joined lines would be wider than `max_width`, the blocks are
    stacked one under the other instead (a blank line between them).

    Parameters
    ----------
    blocks : sequence of sequence of str
        Each block is a list of lines.
    gap : str, optional
        Put between the blocks.
    max_width : int, optional
        The widest joined line allowed (default: no limit).

    Returns
    -------
    lines : list of str

    Examples
    --------
    >>> side_by_side([["a", "bb"], ["ccc"]])
    ['a     ccc', 'bb']
    >>> side_by_side([["a", "bb"], ["ccc"]], max_width=4)
    ['a', 'bb', '', 'ccc']
    """
    height = max(len(b) for b in blocks)
    widths = [max((len(line) for line in b), default=0) for b in blocks]
    if max_width is not None and sum(widths) + len(gap) * (len(blocks) - 1) > max_width:
        stacked: list[str] = []
        for b in blocks:
            stacked += ([""] if stacked else []) + [line.rstrip() for line in b]
        return stacked
    rows = []
    for i in range(height):
        parts = [(b[i] if i < len(b) else "").ljust(w) for b, w in zip(blocks, widths)]
        rows.append(gap.join(parts).rstrip())
    return rows
