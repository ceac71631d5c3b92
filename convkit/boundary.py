"""Boundary handling: how an array is extended beyond its edges.

One naming scheme for the whole package (scikit-image / ndimage names), with
the aliases users bring from numpy, MATLAB and OpenCV. Only padding lives
here; the engines decide how much to pad.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["BOUNDARY_MODES", "normalize_boundary", "pad", "pad_indices"]

# convkit name -> numpy.pad mode
BOUNDARY_MODES = {
    "constant": "constant",   # k k | a b c d | k k
    "reflect": "symmetric",   # b a | a b c d | d c
    "mirror": "reflect",      # c b | a b c d | c b
    "nearest": "edge",        # a a | a b c d | d d
    "wrap": "wrap",           # c d | a b c d | a b
}

_ALIASES = {
    "fill": "constant",
    "symm": "reflect",
    "symmetric": "reflect",
    "edge": "nearest",
    "replicate": "nearest",
    "circular": "wrap",
}


def normalize_boundary(boundary: str) -> str:
    """Return the canonical convkit name for `boundary`, or raise ValueError listing the names."""
    if isinstance(boundary, str):
        key = boundary.lower()
        if key in BOUNDARY_MODES:
            return key
        if key in _ALIASES:
            return _ALIASES[key]
    accepted = ", ".join(list(BOUNDARY_MODES) + list(_ALIASES))
    raise ValueError(f"boundary must be one of {accepted}; got {boundary!r}")


def pad(x: ArrayLike, widths: int | Sequence[int] | Sequence[Sequence[int]],
        boundary: str = "constant", cval: float = 0) -> np.ndarray:
    """Extend `x` beyond its edges.

    Parameters
    ----------
    x : array_like
        Input of any shape.
    widths : int or sequence
        As ``numpy.pad``'s ``pad_width``: an int for every side, or one
        ``(before, after)`` pair per axis.
    boundary : str
        constant (alias fill), reflect (symm, symmetric), mirror,
        nearest (edge, replicate) or wrap (circular).
    cval : scalar
        The fill value of ``constant``.

    Returns
    -------
    padded : ndarray

    Notes
    -----
    Widths larger than the axis repeat the rule (periodic reflections, whole
    periods for wrap), as ``scipy.ndimage`` extends its inputs.

    Examples
    --------
    >>> pad([1, 2, 3, 4], 2, "mirror")
    array([3, 2, 1, 2, 3, 4, 3, 2])
    >>> pad([1, 2, 3, 4], 2, "reflect")
    array([2, 1, 1, 2, 3, 4, 4, 3])
    """
    x = np.asarray(x)
    mode = normalize_boundary(boundary)
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=cval)
    if x.size == 0:
        raise ValueError(f"boundary {mode!r} needs a non-empty array, got shape {x.shape}")
    if mode == "mirror" and 1 in x.shape:
        # a length-1 axis mirrors onto itself (repeats its sample, as ndimage
        # does); numpy's reflect refuses it, so pad that axis as edge
        per_axis = np.broadcast_to(np.asarray(widths, dtype=np.intp), (x.ndim, 2))
        for ax in range(x.ndim):
            axis_widths = [(0, 0)] * x.ndim
            axis_widths[ax] = tuple(per_axis[ax])
            x = np.pad(x, axis_widths, mode="edge" if x.shape[ax] == 1 else "reflect")
        return x
    return np.pad(x, widths, mode=BOUNDARY_MODES[mode])


def pad_indices(n: int, before: int, after: int, boundary: str) -> np.ndarray:
    """Source index in ``[0, n)`` of each sample of an axis padded by `boundary`.

    ``pad(x, [(before, after)], boundary)[i] == x[pad_indices(...)[i]]``; for
    constant the padding samples get -1 (they hold cval, not a sample).

    Examples
    --------
    >>> pad_indices(4, 2, 2, "reflect")
    array([1, 0, 0, 1, 2, 3, 3, 2])
    >>> pad_indices(4, 1, 1, "constant")
    array([-1,  0,  1,  2,  3, -1])
    """
    mode = normalize_boundary(boundary)
    index = np.arange(n, dtype=np.intp)
    if mode == "constant":
        return np.pad(index, (before, after), mode="constant", constant_values=-1)
    return pad(index, [(before, after)], mode)
