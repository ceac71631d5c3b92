"""The public functions on dask arrays: a dask array in, a lazy dask array out.

`convolve`, `correlate`, `fftconvolve`, `filter_image` and `pool` take the
parameters of their in-memory namesakes and return a lazy dask array equal to
the in-memory result (integers exactly, floats to rounding), with the same
shape and dtype; an OverflowError or a NaN behaves at ``compute()`` as it
does in memory. The in-memory functions hand a dask argument to these, so
``convkit.convolve(dask_array, kernel)`` is the usual way in.

This module sits above the in-memory functions (they import it only in
their dask branch). Each call is planned by the in-memory module's own
shape/dtype-only plan (`convkit.convolution.plan`, `plan_fft`,
`convkit.filters.plan_filter`, `convkit.pooling.plan_pool`): the checks,
their messages, the output shape and dtype are theirs, never repeated here.
Each output block is computed by convkit's own in-memory function on the
slab of input it reads, the halo included (`convkit._engine.blockwise` builds
the slabs and the graph); a long 1-D convolution runs overlap-save FFT blocks
that share one kernel spectrum (`convkit._engine.overlap_save`). The kernel is
small and held in memory (a dask kernel is computed first). Output chunks
follow the input's: the output sample centred on input cell ``i`` lands in
the chunk that holds ``i``.

dask is an optional extra (``pip install "convkit-learn[dask]"``), imported only
when a dask array arrives; reading and writing files lazily is in
`convkit.io.lazy`.
"""

from __future__ import annotations

import functools
import math
import os
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike

from . import convolution, filters, pooling
from ._engine import spectral
from ._engine.blockwise import (DASK_MISSING, AxisPlan, blockwise, broadcast_plan,
                                identity_plan, is_dask, out_chunks, require_dask, round_up)
from ._engine.overlap_save import OverlapSave
from ._engine.plan import Problem, choose
from ._engine.run import finish_int
from ._names import Method, Mode, PoolOp
from .boundary import Boundary, BoundaryName
from .io.images import to_float_image

__all__ = ["convolve", "correlate", "fftconvolve", "filter_image", "pool", "is_dask",
           "require_dask", "DASK_MISSING"]

_OS_MIN_CHUNK = 4          # overlap-save: rechunk when a chunk is shorter than this many kernels
_OS_CHUNK = 8              # ... to this many kernels


def _operands(in1: Any, in2: Any, func: str) -> tuple[Any, np.ndarray]:
    """(dask input, in-memory kernel), the input's chunk sizes known."""
    da = require_dask()
    x = in1 if is_dask(in1) else da.from_array(np.asarray(in1))
    b = np.asarray(in2.compute() if is_dask(in2) else in2)
    if any(math.isnan(n) for n in x.shape):
        raise ValueError(f"{func}: in1 has unknown chunk sizes {x.chunks}; call "
                         "in1.compute_chunk_sizes() first")
    return x, b


def _whole(x: Any, func: Any, shape: tuple, dtype: np.dtype) -> Any:
    """`func` on the whole of `x` as one lazy task (inputs smaller than their kernel)."""
    return x.rechunk(x.shape).map_blocks(func, dtype=dtype, chunks=tuple((n,) for n in shape),
                                         meta=np.empty((0,) * len(shape), dtype=dtype))


def _slice_kernel(kernel: np.ndarray, ranges: tuple, axes: Sequence[int]) -> np.ndarray:
    """The kernel's part that meets this output block along the broadcast axes it spans."""
    index = tuple(slice(*ranges[ax]) if ax not in axes and kernel.shape[ax] > 1
                  and ranges[ax][1] - ranges[ax][0] < kernel.shape[ax] else slice(None)
                  for ax in range(kernel.ndim))
    return kernel[index]


def _conv_block(slab: np.ndarray, ranges: tuple, *, kernel: np.ndarray, fft: bool,
                axes: tuple, stride: tuple, dilation: tuple, method: Method,
                workers: int | None, finish: np.dtype | None) -> np.ndarray:
    """One output block: the valid convolution of its slab with the plan's kernel (a
    correlation's kernel comes flipped), by the in-memory function."""
    k = _slice_kernel(kernel, ranges, axes)
    if fft:
        return convolution.fftconvolve(slab, k, "valid", axes, workers=workers)
    out = convolution.convolve(slab, k, "valid", method, axes=axes, stride=stride,
                               dilation=dilation, workers=workers)
    return out if finish is None else finish_int(out, finish, check_range=True)


def _in_memory(engine: str, b: np.ndarray, mode: Mode, method: Method, options: dict) -> _Eager:
    """The in-memory call this chunked one stands for, as a picklable ``f(x)``."""
    if engine == "fft":
        return _Eager(convolution.fftconvolve, b, (mode, options["axes"]), {})
    func = convolution.convolve if engine == "convolve" else convolution.correlate
    return _Eager(func, b, (mode, method), options)


def _conv(in1: Any, in2: Any, mode: Mode, method: Method, workers: int | None, options: dict, *,
          engine: str) -> Any:
    """convolve / correlate / fftconvolve of a dask array, block by block, from the in-memory plan."""
    x, b = _operands(in1, in2, engine)
    if engine == "fft":
        c = convolution.plan_fft(x, b, mode, options["axes"])
    else:
        c = convolution.plan(x, b, mode, method, flip=engine == "convolve", func=engine, **options)
    if c.problem is None:
        return c.early if is_dask(c.early) else require_dask().from_array(np.asarray(c.early))
    p = c.problem
    if c.swapped or c.shape != p.out_shape:
        # the kernel slides over the input ('valid'), or scipy crops 'same' along a broadcast
        # axis: one task
        eager = _in_memory(engine, b, mode, method, options)
        return _whole(x, eager, c.shape, c.dtype)
    plans = []
    for ax in range(x.ndim):
        if ax in p.axes:
            i = p.axes.index(ax)
            before, after = p.pads[i]
            plans.append(AxisPlan(before, after, p.extent[i], p.stride[i], p.out_shape[ax],
                                  p.extent[i] // 2 - before))
        else:
            plans.append(identity_plan(x.shape[ax]) if x.shape[ax] == p.out_shape[ax]
                         else broadcast_plan(p.out_shape[ax]))
    per_block = 1 if workers is None else workers    # dask runs the blocks in parallel
    widen = None
    if engine != "fft" and c.dtype.kind != "b":
        x = x.astype(p.pad_dtype, copy=False)        # the halo holds the fill exactly
        widen = c.dtype if p.pad_dtype != c.dtype else None
    block: Any = functools.partial(_conv_block, kernel=p.b, fft=engine == "fft", axes=p.axes,
                                   stride=p.stride, dilation=p.dilation, method=method,
                                   workers=per_block, finish=widen)
    if len(p.axes) == 1:
        x, block = _maybe_overlap_save(x, p, plans, method, c.dtype, block, per_block)
    return blockwise(x, plans, p.boundary, p.cval, block, c.dtype)


class _Eager:
    """A picklable in-memory call on the whole input: ``fn(x, kernel, *args, **kw)``."""

    def __init__(self, fn: Any, kernel: np.ndarray, args: tuple, kw: dict) -> None:
        self.fn, self.kernel, self.args, self.kw = fn, kernel, args, kw

    def __call__(self, x: np.ndarray, **_: Any) -> np.ndarray:
        return self.fn(x, self.kernel, *self.args, **self.kw)


def _maybe_overlap_save(x: Any, p: Problem, plans: list, method: Method, dtype: np.dtype,
                        block: Any, workers: int | None) -> tuple[Any, Any]:
    """(input, block function): overlap-save FFT blocks when one long axis makes the FFT pay."""
    ax, kern = p.axes[0], p.b
    if (dtype.kind not in "fc" or method == "direct" or not np.isfinite(kern).all()
            or any(kern.shape[a] != 1 for a in range(kern.ndim) if a != ax)):
        return x, block
    k = p.extent[0]
    if max(x.chunks[ax]) < _OS_MIN_CHUNK * k:
        x = x.rechunk({ax: round_up(_OS_CHUNK * k, p.stride[0])})
    plan = plans[ax]
    slab_len = max((c - 1) * plan.stride + plan.span for c in out_chunks(x.chunks[ax], plan))
    # the cost model reads shapes and dtypes only: a zero-stride view stands for the slab
    slab = np.broadcast_to(np.zeros((), dtype=x.dtype), x.shape[:ax] + (slab_len,) + x.shape[ax + 1:])
    if method == "auto" and choose(Problem(slab, kern, "valid", p.axes, "constant", 0, p.stride,
                                           p.dilation), workers) == "direct":
        return x, block
    fdtype = spectral.fft_dtype(x.dtype, kern.dtype)
    return x, OverlapSave(p.stuffed_kernel(), ax, slab_len, p.stride[0], dtype, fdtype, block,
                          workers)


# ----------------------------------------------------------------------------- public


def convolve(in1: Any, in2: ArrayLike, mode: Mode = "full", method: Method = "auto", *,
             axes: int | Sequence[int] | None = None, boundary: BoundaryName = "constant", cval: Any = 0,
             stride: int | Sequence[int] = 1, dilation: int | Sequence[int] = 1,
             origin: int | Sequence[int] = 0, workers: int | None = None) -> Any:
    """`convkit.convolve` of a dask array: a lazy dask array equal to the in-memory result.

    Parameters
    ----------
    in1 : dask.array.Array
        The signal or image, any chunking (chunks smaller than the kernel too).
    in2 : array_like
        The kernel, held in memory (a dask kernel is computed first).
    mode, method, axes, boundary, cval, stride, dilation, origin
        As `convkit.convolve`.
    workers : int, optional
        Threads each block's engine uses (default 1: dask already runs the
        blocks in parallel).

    Returns
    -------
    out : dask.array.Array
        Lazy; the shape and dtype of ``convkit.convolve(in1.compute(), in2)``,
        chunks lined up with `in1`'s along each axis.

    Raises
    ------
    ValueError, TypeError
        As `convkit.convolve`, at the call.
    OverflowError
        At ``compute()``, when an exact integer result does not fit its dtype.

    Notes
    -----
    Output block ``[j0, j1)`` along an axis is the valid convolution of the
    padded-input slab ``[j0 * stride, (j1 - 1) * stride + extent)``, with
    ``extent = dilation * (k - 1) + 1``, computed by `convkit.convolve`
    itself (or, for one long axis, by overlap-save FFT blocks sharing one
    kernel spectrum; a chunk shorter than 4 kernels is then rechunked to 8).

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> x = da.from_array(np.arange(10), chunks=3)
    >>> y = convolve(x, [1, 1, 1], "same", boundary="wrap")
    >>> y.chunks
    ((3, 3, 3, 1),)
    >>> y.compute()
    array([10,  3,  6,  9, 12, 15, 18, 21, 24, 17])
    """
    return _conv(in1, in2, mode, method, workers, dict(axes=axes, boundary=boundary, cval=cval,
                 stride=stride, dilation=dilation, origin=origin), engine="convolve")


def correlate(in1: Any, in2: ArrayLike, mode: Mode = "full", method: Method = "auto", *,
              axes: int | Sequence[int] | None = None, boundary: BoundaryName = "constant", cval: Any = 0,
              stride: int | Sequence[int] = 1, dilation: int | Sequence[int] = 1,
              origin: int | Sequence[int] = 0, workers: int | None = None) -> Any:
    """`convkit.correlate` of a dask array; parameters, returns and errors as `convolve`.

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> x = da.from_array(np.arange(8.0), chunks=2)
    >>> correlate(x, [1, 0, -1], "valid", stride=2).compute()
    array([-2., -2., -2.])
    """
    return _conv(in1, in2, mode, method, workers, dict(axes=axes, boundary=boundary, cval=cval,
                 stride=stride, dilation=dilation, origin=origin), engine="correlate")


def fftconvolve(in1: Any, in2: ArrayLike, mode: Mode = "full",
                axes: int | Sequence[int] | None = None, *, workers: int | None = None) -> Any:
    """`convkit.fftconvolve` of a dask array, as a lazy dask array.

    Parameters and results as `convkit.fftconvolve` (scipy's); the blocks are
    FFT-convolved on their own, so values agree with the in-memory call to
    rounding.

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> fftconvolve(da.ones(6, chunks=2), np.ones(3), "same").compute().round(12)
    array([2., 3., 3., 3., 3., 2.])
    """
    return _conv(in1, in2, mode, "fft", workers, dict(axes=axes), engine="fft")


def _filter_block(slab: np.ndarray, ranges: tuple, *, kernel: Any, boundary: Boundary, cval: float,
                  stride: tuple, method: Method, flip: bool, heads: tuple) -> np.ndarray:
    """One output block: `filter_image` of its slab, cropped to the block."""
    out = filters.filter_image(slab, kernel, boundary=boundary, cval=cval, stride=stride,
                               method=method, flip=flip)
    return out[tuple(slice(h, h + j1 - j0) for h, (j0, j1) in zip(heads, ranges))]


def filter_image(image: Any, kernel: Any, *, boundary: BoundaryName | Boundary = "reflect",
                 cval: float = 0.0, stride: int | Sequence[int] = 1, method: Method = "auto",
                 flip: bool = False) -> Any:
    """`convkit.filter_image` of a dask image: a lazy dask array equal to the in-memory result.

    Parameters
    ----------
    image : dask.array.Array of shape (H, W) or (H, W, C)
        Any chunking of H and W (the channels become one chunk).
    kernel, boundary, cval, stride, method, flip
        As `convkit.filter_image`.

    Returns
    -------
    out : dask.array.Array of shape (ceil(H / sy), ceil(W / sx)[, C])
        float32 for float32 / float16 input, float64 otherwise; chunks lined
        up with the image's.

    Raises
    ------
    ValueError, TypeError
        As `convkit.filter_image`, at the call.

    Notes
    -----
    Each block runs `convkit.filter_image` on its slab of the image, extended
    by the boundary rule and by a halo of ``k // 2 + 1`` cells (rounded up to
    a multiple of the stride, so the block's strided grid is the image's),
    and keeps the cells it owns. The separable two-pass path and the
    gradient-magnitude composites run per block as in memory.

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> img = da.from_array(np.eye(6), chunks=2)
    >>> out = filter_image(img, "box:3", boundary="constant")
    >>> out.chunks
    ((2, 2, 2), (2, 2, 2))
    >>> from convkit import filters
    >>> bool(np.allclose(out, filters.filter_image(np.eye(6), "box:3", boundary="constant")))
    True
    """
    x = to_float_image(image if is_dask(image) else require_dask().from_array(np.asarray(image)))
    if not isinstance(kernel, (str, os.PathLike)) and is_dask(kernel):
        kernel = np.asarray(kernel.compute())
    c = filters.plan_filter(x, kernel, boundary=boundary, cval=cval, stride=stride, method=method,
                            flip=flip)
    plans, heads = [], []
    for n, k, s, out_len in zip(x.shape, c.reach, c.stride, c.shape):
        halo = k // 2 + 1
        head = round_up(halo, s)            # so the block's strided grid is the image's
        plans.append(AxisPlan(head, max(0, (out_len - 1) * s + halo + 1 - n), head + halo + 1, s,
                              out_len, 0))
        heads.append(head // s)
    if x.ndim > len(c.stride):                  # the channels: one chunk, passed through
        x = x.rechunk({x.ndim - 1: -1})
        plans.append(identity_plan(x.shape[-1]))
        heads.append(0)
    block = functools.partial(_filter_block, kernel=c.filter, boundary=c.boundary, cval=c.cval,
                              stride=c.stride, method=method, flip=flip, heads=tuple(heads))
    return blockwise(x, plans, c.boundary, c.cval, block, c.dtype)


def _pool_block(slab: np.ndarray, ranges: tuple, *, call: pooling.PoolCall,
                in_shape: tuple | None) -> np.ndarray:
    """One output block: `pool` of its slab; a padded mean divides by the real cells only."""
    if in_shape is None:
        return pooling.pool(slab, call.size, stride=call.stride, op=call.op, axes=call.axes)
    # the mean of integers sums in float64, as numpy.mean (an int64 sum would wrap)
    total = pooling.pool(slab.astype(pooling.accumulator_dtype(slab.dtype, "mean"), copy=False), call.size,
                         stride=call.stride, op="sum", axes=call.axes)
    count = pooling.window_counts(in_shape, call.axes, call.size, call.stride, call.pad, call.extra,
                                  call.include_pad, ranges)
    return (total / count).astype(call.dtype, copy=False)


def pool(x: Any, size: int | Sequence[int], *, stride: int | Sequence[int] | None = None,
         op: PoolOp = "max", padding: int | Sequence[int] = 0,
         axes: int | Sequence[int] = (-2, -1), return_indices: bool = False, ceil_mode: bool = False,
         count_include_pad: bool = False) -> Any:
    """`convkit.pool` of a dask array: a lazy dask array equal to the in-memory result.

    Parameters
    ----------
    x : dask.array.Array
        Any shape and chunking.
    size, stride, op, padding, axes, ceil_mode, count_include_pad
        As `convkit.pool`.
    return_indices : bool
        Must be False: the winners' flat indices are an in-memory feature.

    Returns
    -------
    out : dask.array.Array
        The shape and dtype of the in-memory result; chunks lined up with `x`'s.

    Raises
    ------
    ValueError, TypeError
        As `convkit.pool`, and for ``return_indices=True``.

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> x = da.from_array(np.arange(16).reshape(4, 4), chunks=3)
    >>> pool(x, 2, op="sum").compute()
    array([[10, 18],
           [42, 50]])
    """
    if return_indices:
        raise ValueError("return_indices=True is not available for dask arrays; "
                         "pool x.compute() for the winners' indices")
    x = x if is_dask(x) else require_dask().from_array(np.asarray(x))
    c = pooling.plan_pool(x, size, stride=stride, op=op, padding=padding, axes=axes, ceil_mode=ceil_mode,
                          count_include_pad=count_include_pad)
    plans = [identity_plan(n) for n in x.shape]
    for ax, w, s, p in zip(c.axes, c.size, c.stride, c.pad):
        n, out_len = x.shape[ax], c.shape[ax]
        plans[ax] = AxisPlan(p, max(0, (out_len - 1) * s + w - n - p), w, s, out_len, w // 2 - p)
    # a mean whose windows reach past the input (padding, a ceil_mode overhang) divides per window
    in_shape = x.shape if c.op == "mean" and (any(c.pad) or any(c.extra)) else None
    block = functools.partial(_pool_block, call=c, in_shape=in_shape)
    return blockwise(x, plans, "constant", c.fill, block, c.dtype)
