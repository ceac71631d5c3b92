"""The public dispatch: `convolve`, `correlate`, `fftconvolve`, `choose_method`, `conv2d`.

Every call is reduced to one problem: the valid correlation of the input,
padded by the boundary rule, with the kernel (flipped for convolution,
conjugated for correlation, spread out by the dilation), keeping every
stride-th sample. The direct engine (`convkit._engine.direct`) computes exactly that;
the FFT engines (`convkit._engine.spectral`) compute the same window of a linear
convolution. This module owns the public checks and the modes; the problem's geometry and
the cost model that picks the engine are in `convkit._engine.plan`, running a problem
on an engine (accumulator dtypes, exact integers) in `convkit._engine.run`, the
NaN/Inf handling of the FFT engines in `convkit._engine.nonfinite`.

A call is a short pipeline: `plan` (normalise the inputs: `_inputs`,
`_conv_axes`, `_axis_options`, `_boundary`, `_shift`; then `_problem`, which
also applies the 'valid' swap rule) -> `_engine` -> `_run`; the crop by mode
is the plan's window (`convkit._engine.plan.mode_pads`). `plan_fft` does the
same for `fftconvolve`, with scipy's checks in scipy's words and its
broadcasting rules. The plans read only the shape and dtype of `in1`, so
`convkit.chunked` (above this module; imported here only for a dask argument)
builds its blocks from them.

With the keyword-only options at their defaults the results equal
``scipy.signal.convolve`` / ``correlate`` / ``fftconvolve``.
"""

from __future__ import annotations

import numbers
import operator
from typing import Any, NamedTuple, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ._docs import docfiller
from ._engine import spectral
from ._engine.blockwise import is_dask
from ._engine.plan import FFT_INT_BOUND, Problem, choose, int_bound, obviously_numpy_1d
from ._engine.nonfinite import omit_check, omit_combine, omit_split
from ._engine.run import run_direct, run_fft
from ._names import METHODS, MODES, NAN_POLICIES, Method, Mode, NanPolicy, choices
from .batched import conv2d
from .boundary import Boundary, BoundaryName, boundary_record, resolve_boundary
from .windows import extent, n_windows, normalize_axes, per_axis

__all__ = ["convolve", "correlate", "fftconvolve", "choose_method", "conv2d", "Call", "plan",
           "plan_fft"]

Axes = int | Sequence[int] | None
PerAxis = int | Sequence[int]


# ----------------------------------------------------------------------------- checks

def _check_choice(value: object, accepted: tuple[str, ...], name: str, func: str) -> None:
    """ValueError in scipy's words, naming the value (scipy lists the modes narrowest first)."""
    if not isinstance(value, str) or value not in accepted:
        listed = accepted[::-1] if accepted == MODES else accepted
        raise ValueError(f"Acceptable {name} flags are {choices(listed[:-1])}, or {listed[-1]!r}; "
                         f"got {name}={value!r}")


def _numeric(x: ArrayLike, name: str, func: str) -> np.ndarray:
    """`x` as an array of bool, int, float or complex, or an object array of Python ints
    (any int-like element becomes a Python int), else TypeError."""
    arr: Any = x if is_dask(x) else np.asarray(x)    # a dask in1: its dtype is all the plan reads
    if arr.dtype == object and is_dask(arr):
        return arr                       # its elements are checked block by block
    if arr.dtype == object:
        if not all(isinstance(v, (int, np.integer)) for v in arr.flat):
            bad = next(v for v in arr.flat if not isinstance(v, (int, np.integer)))
            raise TypeError(f"{func}: an object array {name} must hold Python ints (exact "
                            f"big-integer convolution), got an element {bad!r}")
        return np.array([int(v) for v in arr.flat], dtype=object).reshape(arr.shape)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"{func}: {name} must be numeric (bool, int, float or complex), "
                        f"got dtype {arr.dtype}")
    return arr


def _inputs(in1: ArrayLike, in2: ArrayLike, func: str) -> tuple[np.ndarray, np.ndarray]:
    """Both inputs as numeric arrays; with one of them Python ints (object), both are."""
    a, b = _numeric(in1, "in1", func), _numeric(in2, "in2", func)
    if (a.dtype == object) != (b.dtype == object):
        other, name = (b, "in2") if a.dtype == object else (a, "in1")
        if other.dtype.kind not in "biu":
            raise TypeError(f"{func}: an object array of Python ints convolves with integers only; "
                            f"{name} has dtype {other.dtype}")
        converted = other.astype(np.int64).astype(object)    # numpy ints -> exact Python ints
        a, b = (a, converted) if a.dtype == object else (converted, b)
    return a, b


def _check_ndim(a: np.ndarray, b: np.ndarray, func: str) -> None:
    """Both inputs must have the same number of dimensions."""
    if a.ndim != b.ndim:
        raise ValueError(f"{func}: in1 and in2 should have the same dimensionality, "
                         f"got {a.ndim} and {b.ndim} dimensions")


def _conv_axes(a: np.ndarray, b: np.ndarray, axes: Axes, func: str) -> tuple[int, ...]:
    """The convolved axes; along the others the inputs must broadcast (equal sizes or 1)."""
    axes_t = normalize_axes(axes, a.ndim)
    for ax in range(a.ndim):
        if ax not in axes_t and a.shape[ax] != b.shape[ax] and 1 not in (a.shape[ax], b.shape[ax]):
            raise ValueError(f"{func}: incompatible shapes for in1 and in2 along axis {ax}: "
                             f"{a.shape} and {b.shape} (axes not in `axes` must be equal or 1)")
    return axes_t


def _swap_for_valid(a: np.ndarray, b: np.ndarray, axes: tuple[int, ...],
                    extent: Sequence[int], *, shapes: bool = True) -> bool:
    """'valid' is symmetric in its inputs: True when in2 (of `extent` along `axes`) is the
    larger one and should slide over in1; ValueError when neither holds the other (scipy's
    words, followed by the shapes unless `shapes` is False)."""
    sizes = [a.shape[ax] for ax in axes]
    if all(n >= k for n, k in zip(sizes, extent)):
        return False
    if all(n <= k for n, k in zip(sizes, extent)):
        return True
    detail = f" (got shapes {a.shape} and {b.shape} along axes {axes})" if shapes else ""
    raise ValueError("For 'valid' mode, one must be at least as large as the other in every "
                     "dimension" + detail)


def _centred(out: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The centre of `out` with `shape`, as scipy crops 'same' (the odd sample goes after)."""
    return out[tuple(slice((m - n) // 2, (m - n) // 2 + n) for m, n in zip(out.shape, shape))]


# ----------------------------------------------------------------------------- convolve pipeline

def _numpy_fast_path(in1: object, in2: object, mode: object, method: object, axes: Axes,
                     boundary: object, cval: object, stride: object, dilation: object,
                     origin: object) -> bool:
    """A small 1-D float problem with default options: numpy's convolve is the whole job.

    Checked before any other work so that short signals pay no dispatch cost;
    the results are those of the general path (scipy calls the same numpy
    function for these inputs).
    """
    return (type(in1) is np.ndarray and type(in2) is np.ndarray and in1.ndim == 1 == in2.ndim
            and in1.dtype == in2.dtype and in1.dtype.char in "dfDF" and method != "fft"
            and axes is None and boundary == "constant" and cval == 0 and stride == 1
            and dilation == 1 and origin == 0 and mode in MODES
            and obviously_numpy_1d(in1.size, in2.size, in1.dtype.char))


def _axis_options(axes_t: tuple[int, ...], stride: PerAxis, dilation: PerAxis, origin: PerAxis
                  ) -> tuple[tuple[int, ...], ...]:
    """(axes, stride, dilation, origin) with one entry per axis, in increasing axis order
    (the engines assume it; the axes are independent)."""
    strides = per_axis(stride, len(axes_t), "stride")
    dilations = per_axis(dilation, len(axes_t), "dilation")
    origins = per_axis(origin, len(axes_t), "origin", minimum=-(1 << 62))
    order = sorted(range(len(axes_t)), key=axes_t.__getitem__)
    return tuple(tuple(values[i] for i in order) for values in (axes_t, strides, dilations, origins))


def _shift(b: np.ndarray, mode: Mode, axes: tuple[int, ...], dilations: tuple[int, ...],
           origins: tuple[int, ...], flip: bool, func: str) -> tuple[int, ...] | None:
    """How far `origin` moves each window of the planned convolution (None: not at all),
    checked against scipy.ndimage's range (the window must keep its anchor cell)."""
    if not any(origins):
        return None
    if mode != "same":
        raise ValueError(f"{func}: origin needs mode='same', got mode={mode!r}")
    for ax, d, o in zip(axes, dilations, origins):
        k = extent(b.shape[ax], d)
        lo, hi = (-(k // 2), (k - 1) // 2) if not flip else (-((k - 1) // 2), k // 2)
        if not lo <= o <= hi:
            raise ValueError(f"{func}: origin {o} along axis {ax} is outside [{lo}, {hi}] for a "
                             f"kernel of extent {k}")
    return tuple(-o if flip else o for o in origins)


def _boundary(boundary: str | Boundary, cval: Any, rdtype: np.dtype, func: str) -> tuple[Boundary, Any]:
    """The boundary's table row and the fill value, by the one rule for integer results:
    an integer (or bool) result pads with integers only, on every engine and in chunks."""
    if not np.isscalar(cval) and np.ndim(cval) != 0:
        raise TypeError(f"{func}: cval must be a scalar, got {cval!r}")
    record, fill = resolve_boundary(boundary, cval)
    if record.copies_input or rdtype.kind not in "biuO":
        return record, fill
    if isinstance(fill, (complex, np.complexfloating)) or not float(fill).is_integer():
        raise ValueError(f"{func}: cval={cval!r} is not an integer, and the result dtype {rdtype} "
                         "pads with integers only; cast in1 to a float dtype for a fractional fill")
    return record, int(fill) if rdtype == object else fill    # Python ints keep big sums exact


def _empty_result(a: Any, b: np.ndarray, mode: Mode, axes: tuple[int, ...],
                  strides: tuple[int, ...], func: str) -> np.ndarray:
    """scipy's answer for an empty input: 'same' of an empty in1 is empty, else an error."""
    if mode == "same" and b.size:
        shape = tuple(n_windows(n, 1, stride=strides[axes.index(ax)]) if ax in axes else n
                      for ax, n in enumerate(a.shape))
        return np.zeros(shape, dtype=np.result_type(a, b))
    raise ValueError(f"{func}: in1 and in2 must not be empty, got shapes {a.shape} and {b.shape}")


def _as_correlation_kernel(b: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """correlate(a, b) == convolve(a, reversed conj(b)) in every mode."""
    reverse = tuple(slice(None, None, -1) if ax in axes else slice(None) for ax in range(b.ndim))
    return b[reverse].conj() if b.dtype.kind == "c" else b[reverse]


def _problem(a: Any, b: np.ndarray, mode: Mode, axes: tuple[int, ...],
             boundary: Boundary, cval: Any, strides: tuple[int, ...],
             dilations: tuple[int, ...], shift: tuple[int, ...] | None = None) -> Problem:
    """The plan of the convolution; in 'valid' mode the larger input slides over the smaller."""
    p = Problem(a, b, mode, axes, boundary, cval, strides, dilations, shift)
    if mode == "valid" and _swap_for_valid(a, b, axes, p.extent):
        p = Problem(p.stuffed_kernel(), a, mode, axes, boundary, cval, strides, (1,) * len(axes))
    return p


class Call(NamedTuple):
    """A call of `convolve`, `correlate` or `fftconvolve`, planned from shapes and dtypes alone.

    in1 may be a dask array: `convkit.chunked` builds its blocks from this
    plan, so the checks and their messages, the 'valid' swap, the axis order,
    the correlation flip and the rule for cval exist once, here.
    """

    problem: Problem | None   # `a` = in1 (or the larger operand in 'valid'), `b` = the convolution kernel
    early: Any                # the whole answer of a 0-d or empty call (then `problem` is None)
    swapped: bool             # 'valid' with in2 the larger operand: in2 slides over in1
    shape: tuple[int, ...]    # the result's shape
    dtype: np.dtype           # the result's dtype


def _early(result: Any) -> Call:
    return Call(None, result, False, tuple(result.shape), result.dtype)


def plan(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full", method: Method = "auto", *,
         axes: Axes = None, boundary: BoundaryName | Boundary = "constant", cval: Any = 0,
         stride: PerAxis = 1, dilation: PerAxis = 1, origin: PerAxis = 0, flip: bool = True,
         func: str = "convolve") -> Call:
    """Check a `convolve` (``flip=True``) or `correlate` call and plan it, reading only the
    shape and dtype of `in1`: normalise the inputs, the axes (increasing order), stride,
    dilation, boundary and cval, flip the kernel for a correlation, swap for 'valid'."""
    a, b = _inputs(in1, in2, func)
    _check_choice(mode, MODES, "mode", func)
    _check_choice(method, METHODS, "method", func)
    if a.ndim == b.ndim == 0:
        return _early(a * (b if flip else b.conj()))
    _check_ndim(a, b, func)
    axes_t, strides, dilations, origins = _axis_options(_conv_axes(a, b, axes, func), stride,
                                                        dilation, origin)
    record, fill = _boundary(boundary, cval, np.result_type(a.dtype, b.dtype), func)
    if a.size == 0 or b.size == 0:
        return _early(_empty_result(a, b, mode, axes_t, strides, func))
    shift = _shift(b, mode, axes_t, dilations, origins, flip, func)
    if not flip:
        b = _as_correlation_kernel(b, axes_t)
    p = _problem(a, b, mode, axes_t, record, fill, strides, dilations, shift)
    return Call(p, None, p.a is not a, p.out_shape, p.rdtype)


def _engine(p: Problem, method: Method, workers: int | None) -> str:
    """The engine that runs `p`: 'direct', 'fft' or 'oa'."""
    if p.rdtype == object:
        return "direct"   # Python ints: exact sums, whatever the method asked for
    if method == "auto":
        engine = choose(p, workers)
        if engine != "direct" and p.b.dtype.kind in "fc" and not np.isfinite(p.b).all():
            return "direct"   # a NaN/Inf kernel reaches every output: only direct places it
        return engine
    if method == "fft" and p.rdtype.kind in "biu" and int_bound(p) >= FFT_INT_BOUND:
        return "direct"   # integers stay exact: the FFT cannot round them back
    return method


def _run(p: Problem, engine: str, workers: int | None) -> np.ndarray:
    """Run `p` on `engine`; NaN/Inf propagate silently into the outputs that see them, as in scipy."""
    with np.errstate(invalid="ignore", over="ignore"):
        return run_direct(p, workers) if engine == "direct" else run_fft(p, engine, workers)


def _dispatch(in1: ArrayLike, in2: ArrayLike, mode: Mode, method: Method, workers: int | None,
              options: dict[str, Any], *, flip: bool, func: str) -> np.ndarray:
    """convolve (flip) or correlate: plan (normalise the inputs) -> run (cropping is the plan's window)."""
    if _numpy_fast_path(in1, in2, mode, method, **options):
        assert isinstance(in1, np.ndarray) and isinstance(in2, np.ndarray)
        return np.convolve(in1, in2, mode) if flip else np.correlate(in1, in2, mode)
    c = plan(in1, in2, mode, method, flip=flip, func=func, **options)
    if c.problem is None:
        return c.early
    return _run(c.problem, _engine(c.problem, method, workers), workers)


def _omit_nan(in1: ArrayLike, in2: ArrayLike, mode: Mode, method: Method, workers: int | None,
              nan_policy: str, options: dict[str, Any], *, flip: bool, func: str) -> np.ndarray:
    """nan_policy='omit': two runs of the same engine, on the NaN-free input and on its
    validity mask (extended by the same boundary; constant padding counts as valid), divided."""
    if nan_policy not in NAN_POLICIES:
        raise ValueError(f"{func}: nan_policy must be one of {choices(NAN_POLICIES)}; got {nan_policy!r}")
    b = np.asarray(in2.compute() if is_dask(in2) else in2)   # type: ignore[union-attr]
    omit_check(b, func)
    public = convolve if flip else correlate   # a dask array in takes the chunked path there
    cval = options.pop("cval")
    a: Any = _numeric(in1, "in1", func)
    if not is_dask(a) and (a.dtype.kind not in "fc" or not np.isnan(a).any()):
        return public(a, b, mode, method, cval=cval, workers=workers, **options)
    filled, valid = omit_split(a)
    record, fill = _boundary(options["boundary"], cval, np.result_type(a.dtype, b.dtype), func)
    nan_cval = not record.copies_input and np.isnan(fill)
    num = public(filled, b, mode, method, cval=0.0 if nan_cval else cval, workers=workers, **options)
    den = public(valid, b, mode, method, cval=0.0 if nan_cval else 1.0, workers=workers, **options)
    return omit_combine(num, den, b)


@docfiller
def convolve(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full", method: Method = "auto", *,
             axes: Axes = None, boundary: BoundaryName | Boundary = "constant", cval: float = 0,
             stride: PerAxis = 1, dilation: PerAxis = 1, origin: PerAxis = 0,
             workers: int | None = None, nan_policy: NanPolicy = "propagate") -> np.ndarray:
    """Convolve two N-D arrays: ``out[n] = sum_m in2[m] in1[n - m]``.

    Parameters
    ----------
    in1 : array_like
        The signal or image.
    in2 : array_like
        The kernel, with the same number of dimensions as `in1`.
    %(mode)s
    %(method)s
    %(axes)s
    %(boundary)s
    %(cval)s
    %(stride)s
    %(dilation)s
    %(origin)s
    %(workers)s
    %(nan_policy)s

    Returns
    -------
    out : ndarray
        dtype ``np.result_type(in1, in2)``; integers are exact. Object arrays
        of Python ints (with integer arrays) give an object array of exact
        Python ints, computed by the direct engine whatever `method` says.

    Raises
    ------
    ValueError
        For an unknown mode, method or boundary, mismatched dimensions,
        empty inputs, or stride/dilation < 1.
    TypeError
        For non-numeric inputs, or an object array that holds anything but ints.
    OverflowError
        When an exact integer result does not fit the result dtype.

    Notes
    -----
    With ``nan_policy="omit"`` each output is
    ``sum(w x over valid) * sum(w) / sum(w over valid)`` over its window (as
    if the NaN samples were the weighted mean of the valid ones; astropy's
    ``nan_treatment="interpolate"``), on every engine and in chunks.

    With an integer (or bool) result the padding holds integers only: a
    non-integral `cval` raises ValueError, on every engine and in chunks
    (cast `in1` to float for a fractional fill); an integral one outside the
    dtype is summed exactly and range-checked like any result.

    Every call is the valid correlation of `in1`, padded by `boundary` as
    much as `mode` needs, with the flipped kernel spread out by `dilation`,
    keeping every `stride`-th output: along an axis of length ``n`` with a
    kernel of extent ``K = dilation * (k - 1) + 1`` there are
    ``(n + pad - K) // stride + 1`` outputs (`convkit.windows.n_windows`).

    Examples
    --------
    >>> convolve([1, 2, 3], [0, 1, 0.5])
    array([0. , 1. , 2.5, 4. , 1.5])
    >>> convolve([1, 2, 3, 4, 5], [1, 1], stride=2)
    array([1, 5, 9])
    """
    options: dict[str, Any] = dict(axes=axes, boundary=boundary, cval=cval, stride=stride,
                                   dilation=dilation, origin=origin)
    if nan_policy != "propagate":
        return _omit_nan(in1, in2, mode, method, workers, nan_policy, options, flip=True,
                         func="convolve")
    if is_dask(in1) or is_dask(in2):   # dask in, lazy dask out; chunked sits above this module
        from . import chunked
        return chunked.convolve(in1, in2, mode, method, workers=workers, **options)
    return _dispatch(in1, in2, mode, method, workers, options, flip=True, func="convolve")


@docfiller
def correlate(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full", method: Method = "auto", *,
              axes: Axes = None, boundary: BoundaryName | Boundary = "constant", cval: float = 0,
              stride: PerAxis = 1, dilation: PerAxis = 1, origin: PerAxis = 0,
              workers: int | None = None, nan_policy: NanPolicy = "propagate") -> np.ndarray:
    """Cross-correlate: slide `in2` over `in1` as written, ``out[n] = sum_m conj(in2[m]) in1[n + m]``.

    This is what the tutorial and CNN layers call convolution: the
    kernel is laid over each window without flipping. The parameters, the
    result and the errors are those of `convolve`.

    Parameters
    ----------
    in1 : array_like
        The signal or image.
    in2 : array_like
        The kernel (template), laid over each window of `in1` as written.
    mode, method, axes, boundary, cval, stride, dilation, origin, workers
        As for `convolve`.
    %(nan_policy)s

    Returns
    -------
    out : ndarray
        dtype ``np.result_type(in1, in2)``; integers are exact.

    Raises
    ------
    ValueError, TypeError, OverflowError
        As `convolve` raises them.

    Examples
    --------
    >>> correlate([1, 2, 3, 4], [1, 0, -1], mode="valid")
    array([-2, -2])
    """
    options: dict[str, Any] = dict(axes=axes, boundary=boundary, cval=cval, stride=stride,
                                   dilation=dilation, origin=origin)
    if nan_policy != "propagate":
        return _omit_nan(in1, in2, mode, method, workers, nan_policy, options, flip=False,
                         func="correlate")
    if is_dask(in1) or is_dask(in2):   # dask in, lazy dask out; chunked sits above this module
        from . import chunked
        return chunked.correlate(in1, in2, mode, method, workers=workers, **options)
    return _dispatch(in1, in2, mode, method, workers, options, flip=False, func="correlate")


@docfiller
def fftconvolve(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full", axes: Axes = None, *,
                workers: int | None = None) -> np.ndarray:
    """Convolve by FFT, as ``scipy.signal.fftconvolve`` (same results, shapes, dtypes).

    Parameters
    ----------
    in1, in2 : array_like
        The inputs, with the same number of dimensions.
    %(mode)s
    %(axes)s
    %(workers)s

    Returns
    -------
    out : ndarray
        Integer inputs give floats (no rounding back), as scipy's.

    Notes
    -----
    The checks, the 'valid' swap and the 'same' centring are `convolve`'s;
    as in scipy, axes where an input has length 1 broadcast instead of being
    transformed, and 'same' centres the broadcast axes too.

    Examples
    --------
    >>> fftconvolve([1, 2, 3], [1, 1]).round(12)
    array([1., 3., 5., 3.])
    """
    if is_dask(in1) or is_dask(in2):   # dask in, lazy dask out; chunked sits above this module
        from . import chunked
        return chunked.fftconvolve(in1, in2, mode, axes, workers=workers)
    c = plan_fft(in1, in2, mode, axes)
    if c.problem is None:
        return c.early
    p = c.problem
    if not p.axes:
        out = p.a * p.b   # nothing to transform: scipy multiplies, in the inputs' own dtype
    else:
        out = spectral.fft_window(p.a.astype(c.dtype, copy=False), p.b.astype(c.dtype, copy=False),
                                  p.axes, tuple(p.starts), tuple(p.lengths), workers)
    return _centred(out, c.shape) if mode == "same" else out


def _fft_axes(axes: Axes, ndim: int) -> list[int]:
    """The axes of an `fftconvolve` call, checked as scipy.fft checks them (its words)."""
    if axes is None:
        return list(range(ndim))
    try:
        given: Any = (axes,) if isinstance(axes, numbers.Number) else axes
        listed = [operator.index(v) for v in given]
    except TypeError:
        raise ValueError("axes must be a scalar or iterable of integers") from None
    listed = [v + ndim if v < 0 else v for v in listed]
    if any(v >= ndim or v < 0 for v in listed):
        raise ValueError("axes exceeds dimensionality of input")
    if len(set(listed)) != len(listed):
        raise ValueError("all axes must be unique")
    if not listed:
        raise ValueError("when provided, axes cannot be empty")
    return listed


def plan_fft(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full", axes: Axes = None) -> Call:
    """Check an `fftconvolve` call (scipy's checks, in scipy's words and order) and plan it from
    shapes and dtypes: the transformed axes are those where neither input has length 1."""
    a, b = _inputs(in1, in2, "fftconvolve")
    if a.ndim == b.ndim == 0:
        return _early(a * b)
    if a.ndim != b.ndim:
        raise ValueError("in1 and in2 should have the same dimensionality")
    if a.size == 0 or b.size == 0:
        return _early(np.array([]))
    axes_t = tuple(ax for ax in _fft_axes(axes, a.ndim) if a.shape[ax] != 1 != b.shape[ax])
    if any(a.shape[ax] != b.shape[ax] and 1 not in (a.shape[ax], b.shape[ax])
           for ax in range(a.ndim) if ax not in axes_t):
        raise ValueError(f"incompatible shapes for in1 and in2: {a.shape} and {b.shape}")
    swap = mode == "valid" and _swap_for_valid(a, b, axes_t, [b.shape[ax] for ax in axes_t],
                                               shapes=False)
    if not isinstance(mode, str) or mode not in MODES:
        listed = MODES[::-1]
        raise ValueError(f"acceptable mode flags are {choices(listed[:-1])}, or {listed[-1]!r}")
    ones = (1,) * len(axes_t)
    p = Problem(b, a, mode, axes_t, boundary_record("constant"), 0, ones, ones) if swap else \
        Problem(a, b, mode, axes_t, boundary_record("constant"), 0, ones, ones)
    dtype = spectral.fft_dtype(a.dtype, b.dtype) if axes_t else np.result_type(a.dtype, b.dtype)
    return Call(p, None, swap, a.shape if mode == "same" else p.out_shape, dtype)


def choose_method(in1: ArrayLike, in2: ArrayLike, mode: Mode = "full", *,
                  axes: Axes = None) -> str:
    """The engine ``convolve(..., method="auto")`` uses: "direct" or "fft".

    The cost model (see `benchmarks/fit_cost_model.py`) estimates the direct
    engine's multiply-adds and the transforms' ``n log n`` work with constants
    measured on the CI machine class. Overlap-add counts as "fft".

    Parameters
    ----------
    in1, in2 : array_like
        The inputs that `convolve` would get (only their shapes and dtypes
        matter).
    mode : {'full', 'valid', 'same'}, optional
        As for `convolve`.
    axes : int or sequence of int, optional
        As for `convolve`.

    Returns
    -------
    method : {'direct', 'fft'}
        The engine the cost model expects to be faster.

    Raises
    ------
    ValueError
        For an unknown mode or mismatched dimensions, as `convolve`.

    Examples
    --------
    >>> import numpy as np
    >>> choose_method(np.ones((2048, 2048), np.float32), np.ones((3, 3), np.float32))
    'direct'
    """
    func = "choose_method"
    a, b = _inputs(in1, in2, func)
    _check_choice(mode, MODES, "mode", func)
    if a.ndim != b.ndim or a.ndim == 0 or a.size == 0 or b.size == 0:
        return "direct"
    axes_t = normalize_axes(axes, a.ndim)
    ones = (1,) * len(axes_t)
    p = _problem(a, b, mode, axes_t, boundary_record("constant"), 0, ones, ones)
    return "direct" if choose(p, None) == "direct" else "fft"
