"""The CNN steps after the convolution, as data and terminal text.

ReLU on a feature map, pooling (showing which cell wins each window),
flattening to a column, and softmax with the cross-entropy of one label.
Each computation is the library's own — `convkit.pool` with
``return_indices=True`` for the winners, the CNN's `ReLU`, `Flatten`,
`Softmax` layers and `softmax_cross_entropy` — so what is printed is what a
network computes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .._docs import docfiller
from .._names import POOL_OPS, PoolOp
from .text import format_grid, format_number, side_by_side
from .walkthrough import as_2d

__all__ = ["PoolWalkthrough", "SoftmaxWalkthrough", "relu_walkthrough", "pool_walkthrough",
           "flatten_walkthrough", "softmax_walkthrough", "format_relu", "format_pool",
           "format_flatten", "format_softmax"]


def _nchw(a: np.ndarray) -> np.ndarray:
    """(H, W) -> (1, 1, H, W), the layout of the CNN layers."""
    return a[None, None]


def relu_walkthrough(feature_map: ArrayLike) -> np.ndarray:
    """ReLU of a 2-D feature map through the CNN's `ReLU` layer: ``max(x, 0)``.

    Parameters
    ----------
    feature_map : array_like of shape (H, W)

    Returns
    -------
    rectified : ndarray of shape (H, W)
        float64; negative cells are 0.

    Examples
    --------
    >>> relu_walkthrough([[-1.5, 2.0]])
    array([[0., 2.]])
    """
    from convkit.cnn import ReLU

    x = as_2d("feature_map", feature_map)
    return ReLU().forward(_nchw(x), training=False)[0, 0] + 0.0   # -0.0 prints as 0


@dataclass(frozen=True)
class PoolWalkthrough:
    """A pooled map and, for max/min, the flat index of each window's winner.

    Attributes
    ----------
    x : ndarray of shape (H, W)
        The input map.
    size, stride : (int, int)
        The window and its step.
    op : str
        "max", "min", "sum" or "mean".
    output : ndarray of shape (Ho, Wo)
        The pooled map.
    winners : ndarray of shape (Ho, Wo) or None
        Flat indices into `x` of each window's winner (max and min only).

    Examples
    --------
    >>> walk = pool_walkthrough([[1, 3, 0, 0], [2, 0, 5, 1]], 2)
    >>> walk.output, walk.winners
    (array([[3., 5.]]), array([[1, 6]]))
    >>> walk.winner_mask
    array([[False,  True, False, False],
           [False, False,  True, False]])
    """

    x: np.ndarray                  # (H, W)
    size: tuple[int, int]
    stride: tuple[int, int]
    op: str
    output: np.ndarray             # (Ho, Wo)
    winners: np.ndarray | None     # (Ho, Wo) flat indices into x, max/min only

    @property
    def winner_mask(self) -> np.ndarray:
        """Boolean (H, W): the cells that won a window (all False for sum/mean)."""
        mask = np.zeros(self.x.shape, bool)
        if self.winners is not None:
            mask.reshape(-1)[self.winners.ravel()] = True
        return mask

    @property
    def uncovered(self) -> tuple[int, int]:
        """Rows and columns at the bottom/right that no window reaches."""
        ho, wo = self.output.shape
        return (self.x.shape[0] - ((ho - 1) * self.stride[0] + self.size[0]),
                self.x.shape[1] - ((wo - 1) * self.stride[1] + self.size[1]))


def _pair(name: str, value) -> tuple[int, int]:
    """A pair of positive ints from an int or a pair."""
    pair = (value, value) if np.ndim(value) == 0 else tuple(value)
    if len(pair) != 2 or any(int(v) != v or v < 1 for v in pair):
        raise ValueError(f"{name} must be a positive int or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


@docfiller
def pool_walkthrough(x: ArrayLike, size: int | tuple[int, int] = 2, *,
                     stride: int | tuple[int, int] | None = None,
                     op: PoolOp = "max") -> PoolWalkthrough:
    """Pool a 2-D map with `convkit.pool` and keep which cell won each window.

    Parameters
    ----------
    x : array_like of shape (H, W)
    size : int or (int, int), optional
        Window size (the tutorial's 2x2).
    stride : int or (int, int), optional
        Defaults to `size` (windows side by side, not overlapping).
    %(op)s

    Returns
    -------
    walk : PoolWalkthrough
        ``walk.winners`` holds flat indices into `x` for max and min.

    Examples
    --------
    >>> walk = pool_walkthrough([[1, 3], [2, 0]])
    >>> walk.output, walk.winners
    (array([[3.]]), array([[1]]))
    """
    from convkit import pool

    a = as_2d("x", x)
    if op not in POOL_OPS:
        raise ValueError(f"op must be one of {', '.join(POOL_OPS)}; got {op!r}")
    size_t = _pair("size", size)
    stride_t = size_t if stride is None else _pair("stride", stride)
    if size_t[0] > a.shape[0] or size_t[1] > a.shape[1]:
        raise ValueError(f"pool size {size_t[0]}x{size_t[1]} is larger than the map "
                         f"{a.shape[0]}x{a.shape[1]}")
    if op in ("max", "min"):
        out, idx = pool(a, size_t, stride=stride_t, op=op, return_indices=True)
        return PoolWalkthrough(a, size_t, stride_t, op, np.asarray(out, float), np.asarray(idx))
    out = pool(a, size_t, stride=stride_t, op=op)
    return PoolWalkthrough(a, size_t, stride_t, op, np.asarray(out, float), None)


def flatten_walkthrough(x: ArrayLike) -> np.ndarray:
    """Flatten a 2-D map row by row into a column of shape (H*W, 1), as `Flatten` does.

    Parameters
    ----------
    x : array_like of shape (H, W)

    Returns
    -------
    column : ndarray of shape (H*W, 1)

    Examples
    --------
    >>> flatten_walkthrough([[1, 2], [3, 4]]).T
    array([[1., 2., 3., 4.]])
    """
    from convkit.cnn import Flatten

    a = as_2d("x", x)
    return Flatten().forward(_nchw(a), training=False).reshape(-1, 1)


@dataclass(frozen=True)
class SoftmaxWalkthrough:
    """Scores, their exponentials, the probabilities and the loss of `label`.

    Attributes
    ----------
    scores : ndarray of shape (K,)
        The class scores (logits).
    exps : ndarray of shape (K,)
        ``exp(scores - max(scores))``.
    probabilities : ndarray of shape (K,)
        ``exps / exps.sum()``; they sum to 1.
    label : int
        The true class.
    loss : float
        ``-log probabilities[label]``.

    Examples
    --------
    >>> walk = softmax_walkthrough([2.0, 1.0], label=1)
    >>> walk.probabilities.round(4), round(walk.loss, 4)
    (array([0.7311, 0.2689]), 1.3133)
    """

    scores: np.ndarray          # (K,)
    exps: np.ndarray            # exp(scores - max(scores))
    probabilities: np.ndarray   # exps / exps.sum(); sums to 1
    label: int
    loss: float                 # -log probabilities[label]


def softmax_walkthrough(scores: ArrayLike, label: int = 0) -> SoftmaxWalkthrough:
    """Softmax of class scores (the CNN's `Softmax`) and cross-entropy of `label`.

    Parameters
    ----------
    scores : array_like of shape (K,)
        Raw outputs of the last layer (logits), K >= 2.
    label : int, optional
        The true class, ``0 <= label < K``.

    Returns
    -------
    walk : SoftmaxWalkthrough
        The scores, exponentials, probabilities and loss.

    Notes
    -----
    ``p_j = exp(x_j) / sum_k exp(x_k)`` (computed after subtracting ``max x``,
    which changes nothing but keeps exp from overflowing) and
    ``loss = -log p_label``, from `softmax_cross_entropy`.

    Examples
    --------
    >>> walk = softmax_walkthrough([2.0, 1.0, 0.1], label=0)
    >>> walk.probabilities.round(3), round(walk.loss, 3)
    (array([0.659, 0.242, 0.099]), 0.417)
    """
    from convkit.cnn import Softmax, softmax_cross_entropy

    s = np.asarray(scores)
    if s.dtype.kind not in "biuf":
        raise TypeError(f"scores must be real numbers, got dtype {s.dtype}")
    s = s.astype(np.float64)
    if s.ndim != 1 or s.size < 2:
        raise ValueError(f"scores must be a list of at least 2 numbers, got shape {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError("scores contain NaN or inf")
    if int(label) != label or not 0 <= label < s.size:
        raise ValueError(f"label must be a class index in [0, {s.size}), got {label!r}")
    probs = Softmax().forward(s[None], training=False)[0]
    loss, _ = softmax_cross_entropy(s[None], np.array([int(label)]))
    # -log 1 is -0.0 in floating point; + 0.0 makes it 0.0, so no "-0.0000" is printed
    return SoftmaxWalkthrough(s, np.exp(s - s.max()), probs, int(label), float(loss) + 0.0)


def format_relu(feature_map: ArrayLike, *, decimals: int = 2) -> str:
    """Feature map and its ReLU side by side; the zeroed cells are marked.

    Parameters
    ----------
    feature_map : array_like of shape (H, W)
    decimals : int, optional
        Decimals shown per cell.

    Returns
    -------
    text : str
        Lines for a terminal.

    Examples
    --------
    >>> print(format_relu([[1, -2], [-3, 4]]))
    ReLU(x) = max(x, 0): negative cells become 0, the rest pass unchanged
    <BLANKLINE>
    feature map [< 0]    after ReLU
      1  [-2]             1  [0]
    [-3]   4             [0]  4
    <BLANKLINE>
    2 of 4 cells set to 0
    """
    x = as_2d("feature_map", feature_map)
    y = relu_walkthrough(x)
    lines = ["ReLU(x) = max(x, 0): negative cells become 0, the rest pass unchanged", ""]
    lines += side_by_side([format_grid(x, decimals=decimals, mark=x < 0, title="feature map [< 0]"),
                           format_grid(y, decimals=decimals, mark=x < 0, title="after ReLU")])
    lines += ["", f"{int((x < 0).sum())} of {x.size} cells set to 0"]
    return "\n".join(lines)


def format_pool(walk: PoolWalkthrough, *, decimals: int = 2) -> str:
    """Input with the winners marked (max/min) and the pooled map.

    Parameters
    ----------
    walk : PoolWalkthrough
        From `pool_walkthrough`.
    decimals : int, optional
        Decimals shown per cell.

    Returns
    -------
    text : str
        Lines for a terminal.

    Examples
    --------
    >>> print(format_pool(pool_walkthrough([[1, 3], [2, 0]])))
    max pooling, 2x2 windows, stride 2x2: the largest cell of each window wins
    <BLANKLINE>
    input [winner]    max-pooled
     1  [3]           3
     2   0
    <BLANKLINE>
    2x2 -> 1x1: 1 of 4 values kept
    """
    (sh, sw), (th, tw) = walk.size, walk.stride
    rule = {"max": "the largest cell of each window wins",
            "min": "the smallest cell of each window wins",
            "sum": "each window's cells are added", "mean": "each window's cells are averaged"}
    title = "input [winner]" if walk.winners is not None else "input"
    lines = [f"{walk.op} pooling, {sh}x{sw} windows, stride {th}x{tw}: {rule[walk.op]}", ""]
    lines += side_by_side([format_grid(walk.x, decimals=decimals, mark=walk.winner_mask, title=title),
                           format_grid(walk.output, decimals=decimals, title=f"{walk.op}-pooled")])
    ho, wo = walk.output.shape
    lines += ["", f"{walk.x.shape[0]}x{walk.x.shape[1]} -> {ho}x{wo}: "
              f"{walk.output.size} of {walk.x.size} values kept"]
    rows, cols = walk.uncovered
    if rows or cols:
        lines.append(f"(the last {rows} row(s) and {cols} column(s) fit no whole window "
                     "and are dropped)")
    return "\n".join(lines)


def format_flatten(x: ArrayLike, *, decimals: int = 2) -> str:
    """The map and its flattened column, row by row.

    Parameters
    ----------
    x : array_like of shape (H, W)
    decimals : int, optional
        Decimals shown per cell.

    Returns
    -------
    text : str
        Lines for a terminal.

    Examples
    --------
    >>> print(format_flatten([[1, 2], [3, 4]]))
    flatten: the 2x2 map, row after row, becomes a column of 4 inputs for the dense layers
    <BLANKLINE>
    map     column
    1  2    x[0,0] = 1
    3  4    x[0,1] = 2
            x[1,0] = 3
            x[1,1] = 4
    """
    a = as_2d("x", x)
    column = flatten_walkthrough(a)
    labels = [f"x[{i},{j}]" for i in range(a.shape[0]) for j in range(a.shape[1])]
    col_lines = ["column"] + [f"{lab} = {format_number(v, decimals)}" for lab, v
                              in zip(labels, column[:, 0])]
    lines = [f"flatten: the {a.shape[0]}x{a.shape[1]} map, row after row, becomes a column of "
             f"{a.size} inputs for the dense layers", ""]
    lines += side_by_side([format_grid(a, decimals=decimals, title="map"), col_lines])
    return "\n".join(lines)


def format_softmax(walk: SoftmaxWalkthrough, *, decimals: int = 4) -> str:
    """A table of scores, exponentials and probabilities, then the loss.

    Parameters
    ----------
    walk : SoftmaxWalkthrough
        From `softmax_walkthrough`.
    decimals : int, optional
        Decimals shown per number.

    Returns
    -------
    text : str
        Lines for a terminal.

    Examples
    --------
    >>> print(format_softmax(softmax_walkthrough([2.0, 1.0])))
    softmax: p_j = exp(x_j) / sum_k exp(x_k)
    <BLANKLINE>
    class       score  exp(score - max)  probability
        0      2.0000            1.0000       0.7311  <- label
        1      1.0000            0.3679       0.2689
      sum                        1.3679       1.0000
    <BLANKLINE>
    cross-entropy of label 0: -log p_0 = -log 0.7311 = 0.3133
    """
    header = f"{'class':>5}  {'score':>10}  {'exp(score - max)':>16}  {'probability':>11}"
    lines = ["softmax: p_j = exp(x_j) / sum_k exp(x_k)", "", header]
    for k, (s, e, p) in enumerate(zip(walk.scores, walk.exps, walk.probabilities)):
        tag = "  <- label" if k == walk.label else ""
        lines.append(f"{k:>5}  {s:>10.{decimals}f}  {e:>16.{decimals}f}  {p:>11.{decimals}f}{tag}")
    lines.append(f"{'sum':>5}  {'':>10}  {walk.exps.sum():>16.{decimals}f}  "
                 f"{walk.probabilities.sum():>11.{decimals}f}")
    lines += ["", f"cross-entropy of label {walk.label}: -log p_{walk.label} = "
              f"-log {walk.probabilities[walk.label]:.{decimals}f} = {walk.loss:.{decimals}f}"]
    return "\n".join(lines)
