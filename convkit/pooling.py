"""Pooling: max / min / sum / mean over sliding windows, and its backward pass.

`pool` reduces every window of `convkit.windows.sliding_windows` along the
pooled axes (any leading axes are batch axes and pass through). For max and
min it can return, per output cell, the flat index of the winning input cell,
and `pool_backward` scatters an upstream gradient back through those indices
(or spreads it evenly over each window for sum and mean): that is all
MaxPool2D / Pool2D in `convkit.cnn` need. Finding the winners is in
`convkit._engine.pool_winners`; convolution is not here.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ._docs import docfiller
from ._engine.blockwise import is_dask
from ._engine.pool_winners import first_winners, padded, pool2x2, winners
from ._names import POOL_OPS, PoolOp, choices
from .windows import n_windows, normalize_axes, per_axis, sliding_windows

__all__ = ["pool", "pool_backward", "POOL_OPS", "PoolOp", "PoolCall", "plan_pool", "window_counts",
           "neutral_fill"]


def _check_op(op: str) -> PoolOp:
    """Return `op` if it is a pooling operation, else raise ValueError listing them."""
    if op not in POOL_OPS:
        raise ValueError(f"op must be one of {choices(POOL_OPS)}; got {op!r}")
    return op  # type: ignore[return-value]


def _geometry(shape: tuple, size, stride, padding, axes) -> tuple[tuple, tuple, tuple, tuple]:
    """Validate and broadcast (axes, size, stride, padding) to one entry per pooled axis."""
    axes_t = normalize_axes(axes, len(shape))
    k = len(axes_t)
    size_t = per_axis(size, k, "size")
    stride_t = size_t if stride is None else per_axis(stride, k, "stride")
    pad_t = per_axis(padding, k, "padding", minimum=0)
    for ax, w, p in zip(axes_t, size_t, pad_t):
        if p >= w:
            raise ValueError(f"padding must be smaller than size on every axis (a window must "
                             f"hold at least one real cell); got padding {p} with size {w}")
        if w > shape[ax] + 2 * p:
            raise ValueError(f"pool size {w} is larger than axis {ax} of length {shape[ax]} "
                             f"(with padding {p} on each side); use a size <= {shape[ax] + 2 * p}")
    return axes_t, size_t, stride_t, pad_t


def ceil_extra(n: int, size: int, stride: int, pad: int, ceil_mode: bool) -> int:
    """Cells past the right padding that `ceil_mode` windows reach (PyTorch's rule: a last,
    partial window counts when it starts inside the input or its left padding); 0 without."""
    if not ceil_mode:
        return 0
    count = -(-(n + 2 * pad - size) // stride) + 1
    if (count - 1) * stride >= n + pad:
        count -= 1
    return max(0, (count - 1) * stride + size - (n + 2 * pad))


def window_counts(shape: tuple, axes: tuple, size: tuple, stride: tuple, pad: tuple, extra: tuple,
                  include_pad: bool, ranges: tuple | None = None) -> np.ndarray:
    """The divisor of every mean window (or, with `ranges`, of windows ``[j0, j1)`` along each
    axis: one output block), broadcastable against the output: its cells inside the input, or
    (`include_pad`, PyTorch's ``count_include_pad``) inside input and padding; never the
    overhang a `ceil_mode` window reaches past the padding."""
    count = np.ones((1,) * len(shape))
    for ax, w, s, p, e in zip(axes, size, stride, pad, extra):
        n = shape[ax]
        j0, j1 = (0, n_windows(n, w, stride=s, pad=2 * p + e)) if ranges is None else ranges[ax]
        start = np.arange(j0, j1) * s - p
        lo, hi = (-p, n + p) if include_pad else (0, n)
        c = np.minimum(start + w, hi) - np.maximum(start, lo)
        view = [1] * len(shape)
        view[ax] = c.size
        count = count * c.reshape(view)
    return count


def neutral_fill(dtype: np.dtype, op: str) -> Any:
    """Padding value that can never win the reduction: -inf for max, +inf for min, else 0
    (also the chunked path's halo fill)."""
    if op in ("sum", "mean"):
        return 0
    if dtype == bool:
        return op == "min"
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return info.min if op == "max" else info.max
    return -np.inf if op == "max" else np.inf


def accumulator_dtype(dtype: np.dtype, op: str) -> np.dtype:
    """The dtype a window's reduction runs in: `dtype` for max/min, ``np.sum``'s for sum, and
    float64 for the mean of integers, as ``np.mean`` (an int64 sum would wrap; the chunked
    path's padded mean sums in it too)."""
    if op in ("max", "min"):
        return np.dtype(dtype)
    if op == "mean" and np.dtype(dtype).kind in "biu":
        return np.dtype(np.float64)
    return np.add.reduce(np.zeros(1, dtype=dtype)).dtype


class PoolCall(NamedTuple):
    """A `pool` call planned from the input's shape and dtype alone (`convkit.chunked` builds
    its blocks from it)."""

    op: PoolOp
    axes: tuple[int, ...]
    size: tuple[int, ...]
    stride: tuple[int, ...]
    pad: tuple[int, ...]
    shape: tuple[int, ...]      # the result's shape
    dtype: np.dtype             # the result's dtype
    fill: Any                   # the padding value, which never wins
    extra: tuple[int, ...] = ()          # ceil_mode: cells past the right padding, per axis
    include_pad: bool = False            # mean: count_include_pad


def plan_pool(x: Any, size: int | Sequence[int], *, stride: int | Sequence[int] | None = None,
              op: PoolOp = "max", padding: int | Sequence[int] = 0,
              axes: int | Sequence[int] = (-2, -1), return_indices: bool = False,
              ceil_mode: bool = False, count_include_pad: bool = False) -> PoolCall:
    """Check a `pool` call and plan it from ``x.shape`` and ``x.dtype`` (numpy or dask)."""
    op = _check_op(op)
    if return_indices and op not in ("max", "min"):
        raise ValueError(f"return_indices needs op 'max' or 'min', got op={op!r}")
    if op in ("max", "min") and x.dtype.kind == "c":
        raise TypeError(f"op={op!r} needs real input, got dtype {x.dtype}")
    axes_t, size_t, stride_t, pad_t = _geometry(x.shape, size, stride, padding, axes)
    extra = tuple(ceil_extra(x.shape[ax], w, s, p, bool(ceil_mode))
                  for ax, w, s, p in zip(axes_t, size_t, stride_t, pad_t))
    shape = list(x.shape)
    for ax, w, s, p, e in zip(axes_t, size_t, stride_t, pad_t, extra):
        shape[ax] = n_windows(x.shape[ax], w, stride=s, pad=2 * p + e)
    if op in ("max", "min"):
        dtype = np.dtype(x.dtype)
    elif op == "sum":
        dtype = accumulator_dtype(x.dtype, "sum")
    else:
        dtype = np.dtype(x.dtype if x.dtype.kind in "fc" else np.float64)
    return PoolCall(op, axes_t, size_t, stride_t, pad_t, tuple(shape), dtype,
                    neutral_fill(np.dtype(x.dtype), op), extra, bool(count_include_pad))


def _reduce(view: np.ndarray, size: tuple, op: str, dtype: np.dtype) -> np.ndarray:
    """Reduce the trailing window axes of `view` one tap at a time (cache-friendly)."""
    taps = np.ndindex(*size)
    out = np.array(view[(...,) + next(taps)], dtype=dtype)
    combine = {"max": np.maximum, "min": np.minimum}.get(op, np.add)
    for tap in taps:
        combine(out, view[(...,) + tap], out=out, casting="unsafe")
    return out


@docfiller
def pool(x: ArrayLike, size: int | Sequence[int], *, stride: int | Sequence[int] | None = None,
         op: PoolOp = "max", padding: int | Sequence[int] = 0,
         axes: int | Sequence[int] = (-2, -1), return_indices: bool = False,
         ceil_mode: bool = False, count_include_pad: bool = False):
    """Pool `x` over windows along `axes`: max, min, sum or mean.

    Parameters
    ----------
    x : array_like
        Input of any shape; axes not in `axes` are batch/channel axes and are
        pooled independently (e.g. N x C x H x W with the default axes).
    size : int or tuple of int
        Window extent, one int for every pooled axis or one per axis.
    stride : int or tuple of int, optional
        Step between windows; defaults to `size` (non-overlapping windows).
    %(op)s
    padding : int or tuple of int, optional
        Cells added before AND after each pooled axis, filled with a value
        that cannot win: -inf (max), +inf (min), 0 (sum); for integers the
        dtype's min / max. Must be smaller than `size`.
    axes : int or tuple of int, optional
        The pooled axes, default the last two.
    return_indices : bool, optional
        Also return, for "max" and "min", the index of the winning cell.
    ceil_mode : bool, optional
        Keep a last, partial window at the end of an axis when it starts
        inside the input or its left padding (PyTorch's ``ceil_mode``): the
        output length rounds up instead of down.
    count_include_pad : bool, optional
        Mean only: divide by the window's cells inside the input AND its
        padding (PyTorch's ``count_include_pad``), never by the part of a
        `ceil_mode` window past the padding. Default: the real cells only.

    Returns
    -------
    out : ndarray
        `x`'s shape with each pooled axis of length ``n`` replaced by
        ``n_windows(n, size, stride=stride, pad=2*padding)`` (floor: a partial window at
        the end is dropped, as PyTorch; `skimage.measure.block_reduce` pads it
        instead). dtype: max/min keep `x`'s dtype, sum follows ``np.sum``
        (small integers widen), mean is float (float64 for integer input).
    indices : ndarray of intp, only with `return_indices`
        Same shape as `out`: the flat (row-major) index, over the pooled axes
        of the UNPADDED input in the order of `axes`, of the first cell of
        each window equal to its result, or of its LAST NaN where the result
        is NaN (PyTorch's MaxPool2d convention for both). Padding cells are
        never chosen. Feed it to `pool_backward`.

    Raises
    ------
    ValueError
        Unknown `op`, stride or size < 1, padding < 0 or >= size, a window
        larger than its (padded) axis, `return_indices` with sum or mean.
    TypeError
        Complex input to max / min, non-int size/stride/padding.

    Notes
    -----
    ``out[..., i, j] = op over (m, n) of xp[..., i*sy + m, j*sx + n]`` with
    ``xp`` the padded input. Mean divides by the number of REAL cells in the
    window (padding is not counted, PyTorch's ``count_include_pad=False``)
    unless `count_include_pad`.
    NaN propagates through max / min, as ``np.max``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1, 2, 5, 0], [3, 4, 1, 1]])
    >>> pool(x, 2)
    array([[4, 5]])
    >>> pool(x, 2, op="mean")
    array([[2.5 , 1.75]])
    >>> pool(x, 2, return_indices=True)[1]
    array([[5, 2]])
    """
    if is_dask(x):   # dask in, lazy dask out; chunked sits above this module
        from . import chunked
        return chunked.pool(x, size, stride=stride, op=op, padding=padding, axes=axes,
                            return_indices=return_indices, ceil_mode=ceil_mode,
                            count_include_pad=count_include_pad)
    x = np.asarray(x)
    c = plan_pool(x, size, stride=stride, op=op, padding=padding, axes=axes,
                  return_indices=return_indices, ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    axes_t, size_t, stride_t, pad_t = c.axes, c.size, c.stride, c.pad
    k = len(axes_t)
    last = tuple(range(x.ndim - k, x.ndim))
    xm = np.moveaxis(x, axes_t, last)                                  # (..., *plane)
    if return_indices and size_t == stride_t == (2, 2) and not any(pad_t) and not any(c.extra):
        out, idx = pool2x2(xm, c.op)
        if not (out.dtype.kind == "f" and np.isnan(out).any()):       # NaN: the exact path below
            return np.moveaxis(out, last, axes_t), np.moveaxis(idx, last, axes_t)
    plane = tuple(xm.shape[a] for a in last)
    base_shape = xm.shape
    if any(c.extra):              # ceil_mode: the overhang past the right padding, never winning
        xm = np.pad(xm, [(0, 0)] * (xm.ndim - k) + [(0, e) for e in c.extra], constant_values=c.fill)
    xp = padded(xm, last, pad_t, c.fill)
    view = sliding_windows(xp, size_t, stride=stride_t, axes=last)    # (..., *out_plane, *size)
    out = _reduce(view, size_t, c.op, accumulator_dtype(x.dtype, c.op))
    if c.op == "mean":
        counts = window_counts(base_shape, last, size_t, stride_t, pad_t, c.extra, c.include_pad)
        out = (out / counts).astype(c.dtype, copy=False)
    result = np.moveaxis(out, last, axes_t)
    if not return_indices:
        return result
    grid = tuple(xm.shape[a] for a in last)                          # the plane with its overhang
    if any(pad_t) or any(c.extra) or (out.dtype.kind == "f" and np.isnan(out).any()):
        idx = winners(view, out, grid, size_t, stride_t, pad_t)
    else:
        idx = first_winners(view, out, grid, size_t, stride_t)
    if any(c.extra):              # flat indices over the plane with its overhang -> over the plane
        idx = np.ravel_multi_index(np.unravel_index(idx, grid), plane)
    return result, np.moveaxis(idx, last, axes_t)


def _disjoint(size, stride, k: int) -> bool:
    """True when windows of this size and stride never overlap."""
    size_t = per_axis(size, k, "size")
    stride_t = size_t if stride is None else per_axis(stride, k, "stride")
    return all(s >= w for w, s in zip(size_t, stride_t))


@docfiller
def pool_backward(grad_out: ArrayLike, indices: ArrayLike | None, input_shape: Sequence[int], *,
                  axes: int | Sequence[int] = (-2, -1), op: PoolOp = "max",
                  size: int | Sequence[int] | None = None, stride: int | Sequence[int] | None = None,
                  padding: int | Sequence[int] = 0, ceil_mode: bool = False,
                  count_include_pad: bool = False) -> np.ndarray:
    """Gradient of `pool` with respect to its input.

    Parameters
    ----------
    grad_out : array_like
        dL/d(out), the shape of `pool`'s output.
    indices : array_like of int or None
        For op "max" / "min": the `indices` returned by
        ``pool(..., return_indices=True)`` (same shape as `grad_out`). Each
        output's gradient goes to its winning input cell; cells that win
        several (overlapping) windows add them up. None for "sum" / "mean".
    input_shape : tuple of int
        Shape of the pooled input.
    axes : int or tuple of int, optional
        The pooled axes, as given to `pool`.
    %(op)s
        As in the forward pass.
    size, stride, padding : optional
        As given to `pool`; needed for "sum" and "mean" (the windows are not
        recoverable from `grad_out` alone). For "max" / "min" they are
        optional: with `size` given and non-overlapping windows the scatter
        is a plain assignment instead of a summing ``np.bincount``.

    Returns
    -------
    grad_input : ndarray of shape `input_shape`
        Float, the dtype of `grad_out` (float64 for integer `grad_out`).

    Notes
    -----
    max/min: ``grad_in.flat_plane[indices] += grad_out`` per batch element
    (one ``np.bincount``). sum: every cell of a window receives the window's
    gradient; mean: that divided by the window's real-cell count.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1., 2., 5., 0.], [3., 4., 1., 1.]])
    >>> out, idx = pool(x, 2, return_indices=True)
    >>> pool_backward(np.ones_like(out), idx, x.shape)
    array([[0., 0., 1., 0.],
           [0., 1., 0., 0.]])
    """
    g = np.asarray(grad_out)
    g = g if g.dtype.kind in "fc" else g.astype(np.float64)
    shape = tuple(int(n) for n in input_shape)
    op = _check_op(op)
    axes_t = normalize_axes(axes, len(shape))
    k = len(axes_t)
    last = tuple(range(len(shape) - k, len(shape)))
    gm = np.moveaxis(g, axes_t, last)                                  # (..., *out_plane)
    moved_shape = tuple(np.moveaxis(np.empty(shape, dtype=bool), axes_t, last).shape)
    plane = moved_shape[-k:]
    if op in ("max", "min"):
        if indices is None:
            raise ValueError(f"op={op!r} needs the indices returned by pool(..., return_indices=True)")
        idx = np.moveaxis(np.asarray(indices), axes_t, last)
        if idx.shape != gm.shape:
            raise ValueError(f"indices shape {np.asarray(indices).shape} must equal grad_out "
                             f"shape {g.shape}")
        n_plane = int(np.prod(plane))
        batch = int(np.prod(moved_shape[:-k]))
        rows = np.arange(batch, dtype=np.intp).reshape(moved_shape[:-k] + (1,) * k) * n_plane
        target = (rows + idx).ravel()
        if size is not None and _disjoint(size, stride, k):
            # each input cell wins at most one window: a plain scatter, no summing needed
            flat = np.zeros(batch * n_plane, dtype=g.dtype)
            flat[target] = gm.ravel()
        elif g.dtype.kind == "c":
            flat = (np.bincount(target, gm.real.ravel(), batch * n_plane)
                    + 1j * np.bincount(target, gm.imag.ravel(), batch * n_plane))
        else:
            flat = np.bincount(target, gm.ravel(), batch * n_plane)
        grad = flat.astype(g.dtype, copy=False).reshape(moved_shape)
        return np.moveaxis(grad, last, axes_t)
    if size is None:
        raise ValueError(f"op={op!r} needs the size (and stride, padding) given to pool")
    _, size_t, stride_t, pad_t = _geometry(shape, size, stride, padding, axes_t)
    extra = tuple(ceil_extra(n, w, s, p, bool(ceil_mode)) for n, w, s, p in zip(plane, size_t, stride_t, pad_t))
    if op == "mean":
        gm = gm / window_counts(moved_shape, last, size_t, stride_t, pad_t, extra, bool(count_include_pad))
    padded_shape = moved_shape[:-k] + tuple(n + 2 * p + e for n, p, e in zip(plane, pad_t, extra))
    grad = np.zeros(padded_shape, dtype=gm.dtype)
    for tap in np.ndindex(*size_t):
        # one tap of every window: distinct cells, so a plain += is a correct scatter
        index = (...,) + tuple(slice(m, m + (o - 1) * s + 1, s)
                               for m, o, s in zip(tap, gm.shape[-k:], stride_t))
        grad[index] += gm
    inner = (...,) + tuple(slice(p, p + n) for p, n in zip(pad_t, plane))
    return np.moveaxis(grad[inner], last, axes_t)
