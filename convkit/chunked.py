"""The public functions on dask arrays: a dask array in, a lazy dask array out.

`convolve`, `correlate`, `fftconvolve`, `filter_image` and `pool` take the
parameters of their in-memory namesakes and return a lazy dask array equal to
the in-memory result (integers exactly, floats to rounding), with the same
shape and dtype; an OverflowError or a NaN behaves at ``compute()`` as it
does in memory. The in-memory functions hand a dask argument to these, so
``convkit.convolve(dask_array, kernel)`` is the usual way in.

Each output block is computed by convkit's own in-memory function on the
slab of input it reads, the halo included (`convkit._engine.blockwise` builds
the slabs and the graph); a long 1-D convolution runs overlap-save FFT blocks
that share one kernel spectrum (`convkit._engine.overlap_save`). The kernel is
small and held in memory (a dask kernel is computed first). Output chunks
follow the input's: the output sample centred on input cell ``i`` lands in
the chunk that holds ``i``.

dask is an optional extra (``pip install "convkit[dask]"``), imported only
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
from ._engine.blockwise import (AxisPlan, blockwise, broadcast_plan, ceil_div, identity_plan,
                                out_chunks, round_up)
from ._engine.overlap_save import OverlapSave
from ._engine.plan import Problem, choose
from ._engine.run import finish_int
from ._names import Method, Mode, PoolOp
from .boundary import BoundaryName, normalize_boundary
from .kernels import get_kernel
from .windows import normalize_axes, per_axis

__all__ = ["convolve", "correlate", "fftconvolve", "filter_image", "pool", "is_dask",
           "require_dask", "DASK_MISSING"]

DASK_MISSING = 'this needs dask: pip install "convkit[dask]"'
_OS_MIN_CHUNK = 4          # overlap-save: rechunk when a chunk is shorter than this many kernels
_OS_CHUNK = 8              # ... to this many kernels


def is_dask(x: object) -> bool:
    """True for a dask collection, judged by its type's module: never imports dask."""
    return type(x).__module__.split(".", 1)[0] == "dask"


def require_dask() -> Any:
    """``dask.array``, or ImportError naming the extra to install."""
    try:
        import dask.array as da
    except ImportError:
        raise ImportError(DASK_MISSING) from None
    return da


def _operands(in1: Any, in2: Any, func: str) -> tuple[Any, np.ndarray]:
    """(dask input, in-memory kernel), checked for known chunk sizes and a numeric dtype."""
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


def _conv_block(slab: np.ndarray, ranges: tuple, *, kernel: np.ndarray, engine: str,
                axes: tuple, stride: tuple, dilation: tuple, method: Method,
                workers: int | None, finish: np.dtype | None) -> np.ndarray:
    """One output block: the valid convolution of its slab, by the in-memory function."""
    k = _slice_kernel(kernel, ranges, axes)
    if engine == "fft":
        return convolution.fftconvolve(slab, k, "valid", axes, workers=workers)
    func = convolution.convolve if engine == "convolve" else convolution.correlate
    out = func(slab, k, "valid", method, axes=axes, stride=stride, dilation=dilation,
               workers=workers)
    return out if finish is None else finish_int(out, finish, check_range=True)


def _in_memory(engine: str, b: np.ndarray, mode: Mode, method: Method, axes: Any, boundary: BoundaryName,
               cval: Any, stride: Any, dilation: Any) -> _Eager:
    """The in-memory call this chunked one stands for, as a picklable ``f(x)``."""
    if engine == "fft":
        return _Eager(convolution.fftconvolve, b, (mode, axes), {})
    func = convolution.convolve if engine == "convolve" else convolution.correlate
    return _Eager(func, b, (mode, method), dict(axes=axes, boundary=boundary, cval=cval,
                                                stride=stride, dilation=dilation))


def _conv(in1: Any, in2: Any, mode: Mode, method: Method, axes: Any, boundary: BoundaryName, cval: Any,
          stride: Any, dilation: Any, workers: int | None, *, engine: str) -> Any:
    """convolve / correlate / fftconvolve of a dask array, block by block."""
    x, b = _operands(in1, in2, engine)
    eager = _in_memory(engine, b, mode, method, axes, boundary, cval, stride, dilation)
    # the in-memory call on a small input checks every option and gives the dtype
    # (its 'full' mode: the sizes 'valid' needs are checked below, on the real shape)
    probe = _in_memory(engine, b, "full" if mode == "valid" else mode, method, axes, boundary,
                       cval, stride, dilation)
    small = tuple(min(n, max(2, m)) for n, m in zip(x.shape, b.shape)) if x.ndim == b.ndim \
        else tuple(min(n, 2) for n in x.shape)
    try:
        dtype = probe(np.zeros(small, dtype=x.dtype)).dtype
    except OverflowError:          # an integer fill value out of range: raised at compute()
        dtype = np.result_type(x.dtype, b.dtype)
    if x.ndim == 0 or x.size == 0 or b.size == 0:
        return require_dask().from_array(np.asarray(eager(x.compute())))
    axes_t = normalize_axes(axes, x.ndim)
    for ax in range(x.ndim):
        if ax not in axes_t and x.shape[ax] != b.shape[ax] and 1 not in (x.shape[ax], b.shape[ax]):
            raise ValueError(f"{engine}: incompatible shapes for in1 and in2 along axis {ax} "
                             f"({x.shape[ax]} and {b.shape[ax]}): axes not in `axes` must be "
                             "equal or 1")
    if engine == "fft":
        strides, dilations, boundary, cval = (1,) * len(axes_t), (1,) * len(axes_t), "constant", 0
    else:
        strides = per_axis(stride, len(axes_t), "stride")
        dilations = per_axis(dilation, len(axes_t), "dilation")
        boundary = normalize_boundary(boundary)
    order = sorted(range(len(axes_t)), key=axes_t.__getitem__)
    axes_t = tuple(axes_t[i] for i in order)
    strides = tuple(strides[i] for i in order)
    dilations = tuple(dilations[i] for i in order)
    extent = [d * (b.shape[ax] - 1) + 1 for ax, d in zip(axes_t, dilations)]
    if mode == "valid" and not all(x.shape[ax] >= k for ax, k in zip(axes_t, extent)):
        if not all(x.shape[ax] <= k for ax, k in zip(axes_t, extent)):
            raise ValueError("For 'valid' mode, one must be at least as large as the other "
                             f"in every dimension (got shapes {x.shape} and {b.shape} along "
                             f"axes {axes_t})")
        # the kernel is the larger operand and slides over the input: one task
        return _whole(x, eager, _valid_swap_shape(x.shape, b.shape, axes_t, extent, strides), dtype)
    if engine == "fft" and mode == "same" and any(
            x.shape[ax] < b.shape[ax] for ax in range(x.ndim) if ax not in axes_t):
        # scipy crops 'same' to in1's shape on broadcast axes too: one task
        return _whole(x, eager, x.shape, dtype)
    kern = b if engine != "correlate" else b[tuple(slice(None, None, -1) if ax in axes_t
                                                   else slice(None) for ax in range(b.ndim))].conj()
    meta = np.broadcast_to(np.zeros((), dtype=x.dtype), x.shape)
    p = Problem(meta, kern, mode, axes_t, boundary, cval, strides, dilations)
    plans = []
    for ax in range(x.ndim):
        if ax in axes_t:
            i = axes_t.index(ax)
            before, after = p.pads[i]
            plans.append(AxisPlan(before, after, p.extent[i], strides[i], p.out_shape[ax],
                                  p.extent[i] // 2 - before))
        else:
            plans.append(identity_plan(x.shape[ax]) if x.shape[ax] == p.out_shape[ax]
                         else broadcast_plan(p.out_shape[ax]))
    per_block = 1 if workers is None else workers    # dask runs the blocks in parallel
    widen = None
    if engine != "fft" and dtype.kind != "b":
        work = dtype
        if dtype.kind in "iu" and boundary == "constant" and not _fits(cval, dtype):
            work, widen = np.dtype(np.int64), dtype    # the fill needs more range, as in run_direct
        x = x.astype(work, copy=False)
    block: Any = functools.partial(_conv_block, kernel=b, engine=engine, axes=axes_t,
                                   stride=strides, dilation=dilations, method=method,
                                   workers=per_block, finish=widen)
    if len(axes_t) == 1:
        x, block = _maybe_overlap_save(x, kern, p, plans, method, dtype, block, per_block)
    return blockwise(x, plans, boundary, cval, block, dtype)


class _Eager:
    """A picklable in-memory call on the whole input: ``fn(x, kernel, *args, **kw)``."""

    def __init__(self, fn: Any, kernel: np.ndarray, args: tuple, kw: dict) -> None:
        self.fn, self.kernel, self.args, self.kw = fn, kernel, args, kw

    def __call__(self, x: np.ndarray, **_: Any) -> np.ndarray:
        return self.fn(x, self.kernel, *self.args, **self.kw)


def _valid_swap_shape(xs: tuple, bs: tuple, axes: tuple, extent: list, strides: tuple) -> tuple:
    """Output shape of a valid convolution whose kernel is the larger operand."""
    out = [max(n, m) for n, m in zip(xs, bs)]
    for ax, k, s in zip(axes, extent, strides):
        out[ax] = ceil_div(k - xs[ax] + 1, s)
    return tuple(out)


def _fits(cval: Any, dtype: np.dtype) -> bool:
    """Whether an integer dtype holds `cval` exactly."""
    info = np.iinfo(dtype)
    return float(cval) == int(cval) and info.min <= int(cval) <= info.max


def _maybe_overlap_save(x: Any, kern: np.ndarray, p: Problem, plans: list, method: Method,
                        dtype: np.dtype, block: Any, workers: int | None) -> tuple[Any, Any]:
    """(input, block function): overlap-save FFT blocks when one long axis makes the FFT pay."""
    ax = p.axes[0]
    if (dtype.kind not in "fc" or method == "direct" or not np.isfinite(kern).all()
            or any(kern.shape[a] != 1 for a in range(kern.ndim) if a != ax)):
        return x, block
    k = p.extent[0]
    if max(x.chunks[ax]) < _OS_MIN_CHUNK * k:
        x = x.rechunk({ax: round_up(_OS_CHUNK * k, p.stride[0])})
    plan = plans[ax]
    slab_len = max((c - 1) * plan.stride + plan.span
                                  for c in out_chunks(x.chunks[ax], plan))
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
             workers: int | None = None) -> Any:
    """`convkit.convolve` of a dask array: a lazy dask array equal to the in-memory result.

    Parameters
    ----------
    in1 : dask.array.Array
        The signal or image, any chunking (chunks smaller than the kernel too).
    in2 : array_like
        The kernel, held in memory (a dask kernel is computed first).
    mode, method, axes, boundary, cval, stride, dilation
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
    return _conv(in1, in2, mode, method, axes, boundary, cval, stride, dilation, workers,
                 engine="convolve")


def correlate(in1: Any, in2: ArrayLike, mode: Mode = "full", method: Method = "auto", *,
              axes: int | Sequence[int] | None = None, boundary: BoundaryName = "constant", cval: Any = 0,
              stride: int | Sequence[int] = 1, dilation: int | Sequence[int] = 1,
              workers: int | None = None) -> Any:
    """`convkit.correlate` of a dask array; parameters, returns and errors as `convolve`.

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> x = da.from_array(np.arange(8.0), chunks=2)
    >>> correlate(x, [1, 0, -1], "valid", stride=2).compute()
    array([-2., -2., -2.])
    """
    return _conv(in1, in2, mode, method, axes, boundary, cval, stride, dilation, workers,
                 engine="correlate")


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
    return _conv(in1, in2, mode, "fft", axes, "constant", 0, 1, 1, workers, engine="fft")


def _kernel_extent(kernel: Any, flip: bool) -> tuple[int, int]:
    """Rows and columns a filter reaches (both parts of a composite; one more with `flip`)."""
    if isinstance(kernel, str) and kernel.strip().lower() in filters.COMPOSITE_FILTERS:
        parts = [get_kernel(k) for k in filters.COMPOSITE_FILTERS[kernel.strip().lower()]]
    else:
        parts = [get_kernel(kernel)]
    rows = max(k.shape[0] for k in parts) + flip
    cols = max(k.shape[1] for k in parts) + flip
    return rows, cols


def _filter_block(slab: np.ndarray, ranges: tuple, *, kernel: Any, boundary: BoundaryName, cval: float,
                  stride: tuple, method: Method, flip: bool, heads: tuple) -> np.ndarray:
    """One output block: `filter_image` of its slab, cropped to the block."""
    out = filters.filter_image(slab, kernel, boundary=boundary, cval=cval, stride=stride,
                               method=method, flip=flip)
    return out[tuple(slice(h, h + j1 - j0) for h, (j0, j1) in zip(heads, ranges))]


def filter_image(image: Any, kernel: Any, *, boundary: BoundaryName = "reflect",
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
    x = filters.float_image(image if is_dask(image) else require_dask().from_array(np.asarray(image)))
    if not isinstance(kernel, (str, os.PathLike)):
        held: Any = kernel
        kernel = np.asarray(held.compute() if is_dask(held) else held)
    probe = filters.filter_image(np.zeros((1, 1) + x.shape[2:], x.dtype), kernel,
                                 boundary=boundary, cval=cval, stride=stride, method=method,
                                 flip=flip)   # checks every option; gives the dtype
    strides = per_axis(stride, 2, "stride")
    plans, heads = [], []
    for n, k, s in zip(x.shape, _kernel_extent(kernel, flip), strides):
        halo = k // 2 + 1
        head = round_up(halo, s)
        out_len = ceil_div(n, s)
        plans.append(AxisPlan(head, max(0, (out_len - 1) * s + halo + 1 - n), head + halo + 1, s,
                              out_len, 0))
        heads.append(head // s)
    if x.ndim == 3:
        x = x.rechunk({2: -1})
        plans.append(identity_plan(x.shape[2]))
        heads.append(0)
    block = functools.partial(_filter_block, kernel=kernel, boundary=boundary, cval=cval,
                              stride=strides, method=method, flip=flip, heads=tuple(heads))
    return blockwise(x, plans, boundary, cval, block, probe.dtype)



def _pool_block(slab: np.ndarray, ranges: tuple, *, size: tuple, stride: tuple, op: str,
                axes: tuple, counts: tuple | None, dtype: np.dtype) -> np.ndarray:
    """One output block: `pool` of its slab; a padded mean divides by the real cells only."""
    if counts is None:
        return pooling.pool(slab, size, stride=stride, op=op, axes=axes)   # type: ignore[arg-type]
    total = pooling.pool(slab.astype(pooling.accumulator_dtype(slab.dtype, "mean"), copy=False), size,
                         stride=stride, op="sum", axes=axes)
    shape = [1] * slab.ndim
    count = np.ones(shape)
    for ax, (n, w, s, p) in zip(axes, counts):
        start = np.arange(*ranges[ax]) * s - p
        c = np.minimum(start + w, n) - np.maximum(start, 0)
        view = list(shape)
        view[ax] = c.size
        count = count * c.reshape(view)
    return (total / count).astype(dtype, copy=False)


def pool(x: Any, size: int | Sequence[int], *, stride: int | Sequence[int] | None = None,
         op: PoolOp = "max", padding: int | Sequence[int] = 0,
         axes: int | Sequence[int] = (-2, -1), return_indices: bool = False) -> Any:
    """`convkit.pool` of a dask array: a lazy dask array equal to the in-memory result.

    Parameters
    ----------
    x : dask.array.Array
        Any shape and chunking.
    size, stride, op, padding, axes
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
    axes_t = normalize_axes(axes, x.ndim)
    size_t = per_axis(size, len(axes_t), "size")
    stride_t = size_t if stride is None else per_axis(stride, len(axes_t), "stride")
    pad_t = per_axis(padding, len(axes_t), "padding", minimum=0)
    small = [1] * x.ndim
    for ax, w, p in zip(axes_t, size_t, pad_t):
        small[ax] = max(w, 1)
        if p < w and w > x.shape[ax] + 2 * p:
            raise ValueError(f"pool size {w} is larger than axis {ax} of length {x.shape[ax]} "
                             f"(with padding {p} on each side); use a size <= {x.shape[ax] + 2 * p}")
    probe = pooling.pool(np.zeros(small, x.dtype), size, stride=stride, op=op,
                         padding=padding, axes=axes)   # checks every option; gives the dtype
    plans = [identity_plan(n) for n in x.shape]
    for ax, w, s, p in zip(axes_t, size_t, stride_t, pad_t):
        n = x.shape[ax]
        out_len = (n + 2 * p - w) // s + 1
        plans[ax] = AxisPlan(p, max(0, (out_len - 1) * s + w - n - p), w, s, out_len, w // 2 - p)
    counts = None
    if op == "mean" and any(pad_t):
        counts = tuple((x.shape[ax], w, s, p) for ax, w, s, p in zip(axes_t, size_t, stride_t, pad_t))
    block = functools.partial(_pool_block, size=size_t, stride=stride_t, op=op, axes=axes_t,
                              counts=counts, dtype=probe.dtype)
    return blockwise(x, plans, "constant", pooling.neutral_fill(x.dtype, op), block, probe.dtype)
