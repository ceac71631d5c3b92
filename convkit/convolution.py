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

With the keyword-only options at their defaults the results equal
``scipy.signal.convolve`` / ``correlate`` / ``fftconvolve``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from . import chunked
from ._engine import spectral
from ._engine.plan import FFT_INT_BOUND, TINY_WORK, Problem, choose, int_bound
from ._engine.run import run_direct, run_fft
from .batched import conv2d
from .boundary import normalize_boundary
from .windows import normalize_axes, per_axis

__all__ = ["convolve", "correlate", "fftconvolve", "choose_method", "conv2d"]

_MODES = ("full", "same", "valid")
_METHODS = ("auto", "direct", "fft")


def _check_mode(mode: str) -> str:
    if mode not in _MODES:
        raise ValueError("Acceptable mode flags are 'valid', 'same', or 'full'; "
                         f"got mode={mode!r}")
    return mode


def _check_method(method: str) -> str:
    if method not in _METHODS:
        raise ValueError("Acceptable method flags are 'auto', 'direct', or 'fft'; "
                         f"got method={method!r}")
    return method


def _as_numeric(x: ArrayLike, name: str, func: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"{func}: {name} must be numeric (bool, int, float or complex), "
                        f"got dtype {arr.dtype}")
    return arr


def _numpy_fast_path(in1, in2, mode, method, axes, boundary, cval, stride, dilation) -> bool:
    """A small 1-D float problem with default options: numpy's convolve is the whole job.

    Checked before any other work so that short signals pay no dispatch cost;
    the results are those of the general path (scipy calls the same numpy
    function for these inputs).
    """
    return (type(in1) is np.ndarray and type(in2) is np.ndarray and in1.ndim == 1 == in2.ndim
            and in1.dtype == in2.dtype and in1.dtype.char in "dfDF" and method != "fft"
            and axes is None and boundary == "constant" and cval == 0 and stride == 1
            and dilation == 1 and mode in _MODES and 0 < in2.size <= in1.size
            and (in2.size <= 8 or in1.size * in2.size < TINY_WORK))


def _dispatch(in1, in2, mode, method, axes, boundary, cval, stride, dilation, workers, *,
              flip: bool, func: str) -> np.ndarray:
    if _numpy_fast_path(in1, in2, mode, method, axes, boundary, cval, stride, dilation):
        return np.convolve(in1, in2, mode) if flip else np.correlate(in1, in2, mode)
    a = _as_numeric(in1, "in1", func)
    b = _as_numeric(in2, "in2", func)
    _check_mode(mode)
    _check_method(method)
    if a.ndim == b.ndim == 0:
        return a * (b if flip else b.conj())
    if a.ndim != b.ndim:
        raise ValueError(f"{func}: in1 and in2 should have the same dimensionality, "
                         f"got {a.ndim} and {b.ndim} dimensions")
    axes_t = normalize_axes(axes, a.ndim)
    for ax in range(a.ndim):
        if ax not in axes_t and a.shape[ax] != b.shape[ax] and 1 not in (a.shape[ax], b.shape[ax]):
            raise ValueError(f"{func}: incompatible shapes for in1 and in2 along axis {ax} "
                             f"({a.shape[ax]} and {b.shape[ax]}): axes not in `axes` must be "
                             "equal or 1")
    strides = per_axis(stride, len(axes_t), "stride")
    dilations = per_axis(dilation, len(axes_t), "dilation")
    # the axes are independent: work in increasing order (the engines assume it)
    order = sorted(range(len(axes_t)), key=axes_t.__getitem__)
    axes_t = tuple(axes_t[i] for i in order)
    strides = tuple(strides[i] for i in order)
    dilations = tuple(dilations[i] for i in order)
    boundary = normalize_boundary(boundary)
    if not np.isscalar(cval) and np.ndim(cval) != 0:
        raise TypeError(f"{func}: cval must be a scalar, got {cval!r}")
    if a.size == 0 or b.size == 0:
        if mode == "same" and b.size:
            shape = tuple(-(-n // strides[axes_t.index(ax)]) if ax in axes_t else n
                          for ax, n in enumerate(a.shape))
            return np.zeros(shape, dtype=np.result_type(a, b))
        raise ValueError(f"{func}: in1 and in2 must not be empty, got shapes {a.shape} and {b.shape}")
    if not flip:
        # correlate(a, b) == convolve(a, reversed conj(b)) in every mode
        reverse = tuple(slice(None, None, -1) if ax in axes_t else slice(None) for ax in range(b.ndim))
        b = b[reverse].conj() if b.dtype.kind == "c" else b[reverse]
    extent = [d * (b.shape[ax] - 1) + 1 for ax, d in zip(axes_t, dilations)]
    if mode == "valid":
        sizes_a = [a.shape[ax] for ax in axes_t]
        if not all(n >= k for n, k in zip(sizes_a, extent)):
            if not all(n <= k for n, k in zip(sizes_a, extent)):
                raise ValueError("For 'valid' mode, one must be at least as large as the other "
                                 f"in every dimension (got shapes {a.shape} and {b.shape} along "
                                 f"axes {axes_t})")
            # valid convolution is symmetric in its inputs: let the larger one slide
            stuffed = Problem(a, b, mode, axes_t, boundary, cval, strides, dilations).stuffed_kernel()
            a, b, dilations = stuffed, a, (1,) * len(axes_t)
    p = Problem(a, b, mode, axes_t, boundary, cval, strides, dilations)
    if method == "auto":
        method = choose(p, workers)
        if method != "direct" and p.b.dtype.kind in "fc" and not np.isfinite(p.b).all():
            method = "direct"   # a NaN/Inf kernel reaches every output: only direct places it
    elif method == "fft" and p.rdtype.kind in "biu" and int_bound(p) >= FFT_INT_BOUND:
        method = "direct"   # integers stay exact: the FFT cannot round them back
    # NaN/Inf propagate silently into the outputs that see them, as in scipy
    with np.errstate(invalid="ignore", over="ignore"):
        if method == "direct":
            return run_direct(p, workers)
        return run_fft(p, method, workers)


def convolve(in1: ArrayLike, in2: ArrayLike, mode: str = "full", method: str = "auto", *,
             axes=None, boundary: str = "constant", cval=0, stride=1, dilation=1,
             workers: int | None = None) -> np.ndarray:
    """Convolve two N-D arrays: ``out[n] = sum_m in2[m] in1[n - m]``.

    Parameters
    ----------
    in1 : array_like
        The signal or image.
    in2 : array_like
        The kernel, with the same number of dimensions as `in1`.
    mode : {"full", "same", "valid"}
        Output size: the full linear convolution, the size of `in1` (centred
        as scipy does), or only the positions where the kernel fits inside.
    method : {"auto", "direct", "fft"}
        Engine. "auto" picks the fastest of direct, FFT and overlap-add by a
        cost model measured on a 2-core machine; a NaN/Inf input lands in the
        same outputs as with "direct".
    axes : int or sequence of int, optional
        Convolve along these axes only (default all); the others broadcast
        (equal sizes or 1).
    boundary : str
        How `in1` is extended beyond its edges: constant (with `cval`),
        reflect, mirror, nearest, wrap (aliases fill, symm, symmetric, edge,
        replicate, circular).
    cval : scalar
        The fill value of the constant boundary.
    stride : int or sequence of int
        Keep every stride-th output along each convolved axis (not computed
        otherwise by the direct engine).
    dilation : int or sequence of int
        Spread the kernel taps this far apart (zeros between them).
    workers : int, optional
        Threads for the FFT and the direct engine (default: all cores).

    Returns
    -------
    out : ndarray
        dtype ``np.result_type(in1, in2)``; integers are exact.

    Raises
    ------
    ValueError
        For an unknown mode, method or boundary, mismatched dimensions,
        empty inputs, or stride/dilation < 1.
    TypeError
        For non-numeric inputs.
    OverflowError
        When an exact integer result does not fit the result dtype.

    Examples
    --------
    >>> convolve([1, 2, 3], [0, 1, 0.5])
    array([0. , 1. , 2.5, 4. , 1.5])
    >>> convolve([1, 2, 3, 4, 5], [1, 1], stride=2)
    array([1, 5, 9])
    """
    if chunked.is_dask(in1) or chunked.is_dask(in2):   # issue 12: dask in, lazy dask out
        return chunked.convolve(in1, in2, mode, method, axes=axes, boundary=boundary, cval=cval,
                                stride=stride, dilation=dilation, workers=workers)
    return _dispatch(in1, in2, mode, method, axes, boundary, cval, stride, dilation, workers,
                     flip=True, func="convolve")


def correlate(in1: ArrayLike, in2: ArrayLike, mode: str = "full", method: str = "auto", *,
              axes=None, boundary: str = "constant", cval=0, stride=1, dilation=1,
              workers: int | None = None) -> np.ndarray:
    """Cross-correlate: slide `in2` over `in1` as written, ``out[n] = sum_m conj(in2[m]) in1[n + m]``.

    This is what the seed walkthrough and CNN layers call convolution: the
    kernel is laid over each window without flipping. Parameters, returns and
    errors are those of `convolve`.

    Examples
    --------
    >>> correlate([1, 2, 3, 4], [1, 0, -1], mode="valid")
    array([-2, -2])
    """
    if chunked.is_dask(in1) or chunked.is_dask(in2):   # issue 12: dask in, lazy dask out
        return chunked.correlate(in1, in2, mode, method, axes=axes, boundary=boundary, cval=cval,
                                 stride=stride, dilation=dilation, workers=workers)
    return _dispatch(in1, in2, mode, method, axes, boundary, cval, stride, dilation, workers,
                     flip=False, func="correlate")


def fftconvolve(in1: ArrayLike, in2: ArrayLike, mode: str = "full", axes=None, *,
                workers: int | None = None) -> np.ndarray:
    """Convolve by FFT, as ``scipy.signal.fftconvolve`` (same results, shapes, dtypes).

    Integer inputs give floats (no rounding back), as scipy's. Along axes not
    in `axes` the inputs broadcast.

    Examples
    --------
    >>> fftconvolve([1, 2, 3], [1, 1]).round(12)
    array([1., 3., 5., 3.])
    """
    if chunked.is_dask(in1) or chunked.is_dask(in2):   # issue 12: dask in, lazy dask out
        return chunked.fftconvolve(in1, in2, mode, axes, workers=workers)
    a = _as_numeric(in1, "in1", "fftconvolve")
    b = _as_numeric(in2, "in2", "fftconvolve")
    if a.ndim == b.ndim == 0:
        return a * b
    if a.ndim != b.ndim:
        raise ValueError("fftconvolve: in1 and in2 should have the same dimensionality, "
                         f"got {a.ndim} and {b.ndim} dimensions")
    if a.size == 0 or b.size == 0:
        return np.array([])
    _check_mode(mode)
    if axes is not None and not np.isscalar(axes) and len(axes) == 0:
        raise ValueError("fftconvolve: when provided, axes cannot be empty")
    axes_t = normalize_axes(axes, a.ndim)
    for ax in range(a.ndim):
        if ax not in axes_t and a.shape[ax] != b.shape[ax] and 1 not in (a.shape[ax], b.shape[ax]):
            raise ValueError(f"fftconvolve: incompatible shapes for in1 and in2: {a.shape} and "
                             f"{b.shape} (axes not in `axes` must be equal or 1)")
    # scipy drops the axes where either input has length 1 from the transform
    axes_t = tuple(ax for ax in axes_t if a.shape[ax] != 1 and b.shape[ax] != 1)
    if mode == "valid":
        ok1 = all(a.shape[ax] >= b.shape[ax] for ax in axes_t)
        ok2 = all(a.shape[ax] <= b.shape[ax] for ax in axes_t)
        if not (ok1 or ok2):
            raise ValueError("For 'valid' mode, one must be at least as large as the other in "
                             f"every dimension (got shapes {a.shape} and {b.shape})")
        if not ok1:
            a, b = b, a
    if not axes_t:
        # nothing to transform: scipy multiplies, in the inputs' own dtype
        out = a * b
        if mode == "same":
            out = out[tuple(slice((m - n) // 2, (m - n) // 2 + n) for m, n in zip(out.shape, a.shape))]
        return out
    fdtype = spectral.fft_dtype(a.dtype, b.dtype)
    starts, lengths = [], []
    for ax in axes_t:
        n, k = a.shape[ax], b.shape[ax]
        start = {"full": 0, "same": (k - 1) // 2, "valid": k - 1}[mode]
        length = {"full": n + k - 1, "same": n, "valid": n - k + 1}[mode]
        starts.append(start)
        lengths.append(length)
    out = spectral.fft_window(a.astype(fdtype, copy=False), b.astype(fdtype, copy=False),
                              axes_t, tuple(starts), tuple(lengths), workers)
    if mode == "same":
        # scipy centres the whole result on in1's shape, broadcast axes included
        index = tuple(slice((m - n) // 2, (m - n) // 2 + n) for m, n in zip(out.shape, a.shape))
        out = out[index]
    return out


def choose_method(in1: ArrayLike, in2: ArrayLike, mode: str = "full", *, axes=None) -> str:
    """The engine ``convolve(..., method="auto")`` uses: "direct" or "fft".

    The cost model (see `benchmarks/fit_cost_model.py`) estimates the direct
    engine's multiply-adds and the transforms' ``n log n`` work with constants
    measured on the CI machine class. Overlap-add counts as "fft".

    Examples
    --------
    >>> import numpy as np
    >>> choose_method(np.ones((2048, 2048), np.float32), np.ones((3, 3), np.float32))
    'direct'
    """
    a = _as_numeric(in1, "in1", "choose_method")
    b = _as_numeric(in2, "in2", "choose_method")
    _check_mode(mode)
    if a.ndim != b.ndim or a.ndim == 0 or a.size == 0 or b.size == 0:
        return "direct"
    axes_t = normalize_axes(axes, a.ndim)
    if mode == "valid" and not all(a.shape[ax] >= b.shape[ax] for ax in axes_t):
        a, b = b, a
    p = Problem(a, b, mode, axes_t, "constant", 0, (1,) * len(axes_t), (1,) * len(axes_t))
    return "direct" if choose(p, None) == "direct" else "fft"
