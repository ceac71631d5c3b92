"""The public dispatch: `convolve`, `correlate`, `fftconvolve`, `choose_method`, `conv2d`.

Every call is reduced to one problem: the valid correlation of the input,
padded by the boundary rule, with the kernel (flipped for convolution,
conjugated for correlation, spread out by the dilation), keeping every
stride-th sample. The direct engine (`convkit.direct`) computes exactly that;
the FFT engines (`convkit.spectral`) compute the same window of a linear
convolution. This module owns the modes, dtypes, exact integers, non-finite
inputs and the cost model that picks the engine.

With the keyword-only options at their defaults the results equal
``scipy.signal.convolve`` / ``correlate`` / ``fftconvolve``.
"""

from __future__ import annotations

import math
import os

import numpy as np
from numpy.typing import ArrayLike

from . import direct, spectral
from .batched import conv2d
from .boundary import normalize_boundary, pad, pad_indices
from .windows import normalize_axes, per_axis, sliding_windows

__all__ = ["convolve", "correlate", "fftconvolve", "choose_method", "conv2d"]

_MODES = ("full", "same", "valid")
_METHODS = ("auto", "direct", "fft")
_FFT_INT_BOUND = 2.0**40   # integer FFT results round back exactly below this bound
_NOPAD_MIN = 1 << 16       # 'same' outputs from this size skip the padded copy
_TINY_WORK = 100_000        # multiply-adds below which no transform can win
_PATCH_CHUNK = 1 << 22     # elements gathered at once when patching non-finite outputs

# Cost model, in seconds (fitted by benchmarks/fit_cost_model.py on a 2-core
# machine of the CI class; see that script for the grid and the fit).
_COST = {
    "direct_tap": {"f4": 2.3e-10, "f8": 4.3e-10, "c8": 4.6e-10, "c16": 8.9e-10, "int": 4.3e-10},
    "direct_gemm": 2.5e-10,       # windows @ kernel, per tap
    "direct_call": 2.5e-06,       # per tap pass (Python overhead of one slice multiply-add)
    "fft": {"f4": 1.8e-10, "f8": 3.1e-10, "c8": 3.7e-10, "c16": 6.1e-10},  # per n log2 n, N-D
    "fft1": {"f4": 3.2e-10, "f8": 4.0e-10, "c8": 5.0e-10, "c16": 6.5e-10},  # one long 1-D transform
    "oa": {"f4": 2.2e-10, "f8": 8.0e-10, "c8": 4.5e-10, "c16": 1.4e-09},    # per n log2 n, blocks
    "fft_call": 30e-6,
    "tap_threads": 1.0,           # all cores over one: the tap loop is memory-bound
    "fft_threads": 1.3,           # all cores over one for N-D or batched transforms
}


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


_KEYS = {np.dtype(np.float16): "f4", np.dtype(np.float32): "f4", np.dtype(np.float64): "f8",
         np.dtype(np.complex64): "c8", np.dtype(np.complex128): "c16"}
_CPUS = os.cpu_count() or 1


def _kernel_key(dtype: np.dtype) -> str:
    if dtype.kind in "biu":
        return "int"
    return _KEYS.get(dtype, "f8")


class _Problem:
    """One convolution, normalised: convolve `a` with kernel `b` along `axes`."""

    def __init__(self, a: np.ndarray, b: np.ndarray, mode: str, axes: tuple, boundary: str,
                 cval, stride: tuple, dilation: tuple):
        self.a, self.b, self.mode, self.axes = a, b, mode, axes
        self.boundary, self.cval, self.stride, self.dilation = boundary, cval, stride, dilation
        self.extent = tuple(d * (b.shape[ax] - 1) + 1 for ax, d in zip(axes, dilation))
        self.pads = []
        self.lengths = []          # unstrided output length per conv axis
        self.starts = []           # window start in the full linear convolution
        for ax, k in zip(axes, self.extent):
            n = a.shape[ax]
            if mode == "full":
                before, after = k - 1, k - 1
            elif mode == "same":
                before, after = k // 2, (k - 1) // 2
            else:
                before = after = 0
            self.pads.append((before, after))
            self.lengths.append(n + before + after - k + 1)
            self.starts.append(k - 1 - before)
        self.out_shape = tuple(
            -(-self.lengths[axes.index(ax)] // stride[axes.index(ax)]) if ax in axes
            else max(a.shape[ax], b.shape[ax])
            for ax in range(a.ndim))
        self.rdtype = np.result_type(a, b)

    @property
    def zero_padding(self) -> bool:
        return self.boundary == "constant" and self.cval == 0

    def padded(self, dtype: np.dtype | None = None) -> np.ndarray:
        a = self.a if dtype is None else self.a.astype(dtype, copy=False)
        widths = [(0, 0)] * a.ndim
        for ax, w in zip(self.axes, self.pads):
            widths[ax] = w
        if all(w == (0, 0) for w in widths):
            return a
        return pad(a, widths, self.boundary, self.cval)

    def taps(self) -> int:
        return math.prod(self.b.shape[ax] for ax in self.axes)

    def stuffed_kernel(self) -> np.ndarray:
        """The kernel with dilation-1 zeros between taps."""
        if all(d == 1 for d in self.dilation):
            return self.b
        shape = list(self.b.shape)
        index = [slice(None)] * self.b.ndim
        for ax, k, d in zip(self.axes, self.extent, self.dilation):
            shape[ax] = k
            index[ax] = slice(None, None, d)
        out = np.zeros(shape, dtype=self.b.dtype)
        out[tuple(index)] = self.b
        return out


def _int_bound(p: _Problem) -> float:
    """An upper bound on |any partial sum| of an integer convolution."""
    a64 = p.a.astype(np.float64)
    b64 = p.b.astype(np.float64)
    max_a = float(np.abs(a64).max())
    max_b = float(np.abs(b64).max())
    sum_b = float(np.abs(b64).sum())
    bound = max(max_a, abs(float(p.cval)) if p.boundary == "constant" else 0.0) * sum_b
    if p.zero_padding:
        bound = min(bound, max_b * float(np.abs(a64).sum()))
    return bound * (1 + 1e-12)


# ----------------------------------------------------------------------------- cost model

def _numpy_1d(p: _Problem) -> bool:
    """Whether the direct engine hands this problem to numpy's 1-D convolve."""
    if p.a.ndim != 1 or p.stride != (1,) or p.dilation != (1,) or not p.zero_padding:
        return False
    if p.mode == "same" and p.a.size < p.b.size:
        return False
    acc = np.dtype(np.int64) if p.rdtype.kind in "biu" else p.rdtype
    return direct.numpy_1d_ok(np.float32 if acc == np.float16 else acc, p.b.size)


def _direct_cost(p: _Problem) -> float:
    out = math.prod(p.out_shape)
    taps = p.taps()
    key = _kernel_key(p.rdtype)
    if _numpy_1d(p):
        return out * taps * direct.numpy_1d_cost(p.rdtype, taps) + _COST["direct_call"]
    if out < direct._GEMM_MAX_OUTPUTS and taps > 8:
        return out * taps * _COST["direct_gemm"] + _COST["direct_call"]
    threads = _COST["tap_threads"] if out >= direct._THREAD_MIN_OUTPUTS else 1.0
    return out * taps * _COST["direct_tap"][key] / threads + taps * _COST["direct_call"]


def _fft_sizes(p: _Problem) -> tuple[list[int], list[int]]:
    real = p.rdtype.kind != "c"
    active = [i for i, k in enumerate(p.extent) if k > 1]
    sizes = []
    for i in active:
        ax = p.axes[i]
        n = p.a.shape[ax] if p.zero_padding else p.a.shape[ax] + sum(p.pads[i])
        start = p.starts[i] if p.zero_padding else p.extent[i] - 1
        sizes.append(spectral.circular_size(n, p.extent[i], start, p.lengths[i], real))
    return active, sizes


def _fft_cost(p: _Problem, workers: int | None) -> float:
    active, sizes = _fft_sizes(p)
    key = _kernel_key(spectral.fft_dtype(p.a.dtype, p.b.dtype))
    conv = {p.axes[i] for i in active}
    one_long = len(sizes) == 1 and math.prod(p.out_shape) == p.lengths[active[0]] if active else False
    per = _COST["fft1" if one_long else "fft"][key]
    batch_a = math.prod(n for ax, n in enumerate(p.a.shape) if ax not in conv)
    batch_b = math.prod(n for ax, n in enumerate(p.b.shape) if ax not in conv)
    batch_o = math.prod(n for ax, n in enumerate(p.out_shape) if ax not in conv)
    size = math.prod(sizes) if sizes else 1
    work = size * math.log2(max(size, 2)) * (batch_a + batch_b + batch_o)
    threads = _CPUS if workers is None else max(1, workers)
    parallel = threads > 1 and (len(sizes) > 1 or batch_o > 1) and size * batch_o > 1 << 16
    return work * per / (_COST["fft_threads"] if parallel else 1.0) + _COST["fft_call"]


def _oa_axis(p: _Problem) -> int | None:
    """The conv axis overlap-add would split, or None where it does not apply."""
    active = [i for i, k in enumerate(p.extent) if k > 1]
    if len(active) != 1:
        return None
    i = active[0]
    n = p.a.shape[p.axes[i]]
    return i if n >= 4 * p.extent[i] else None


def _oa_cost(p: _Problem, i: int, workers: int | None) -> float:
    ax = p.axes[i]
    k = p.extent[i]
    n = p.a.shape[ax] + (0 if p.zero_padding else sum(p.pads[i]))
    size, block = spectral.oa_block(n, k, p.rdtype.kind != "c")
    key = _kernel_key(spectral.fft_dtype(p.a.dtype, p.b.dtype))
    per = _COST["oa"][key]
    batch = math.prod(m for a, m in enumerate(p.out_shape) if a != ax)
    work = 2 * math.ceil(n / block) * batch * size * math.log2(size)
    return work * per + 2 * _COST["fft_call"]


def _choose(p: _Problem, workers: int | None) -> str:
    """'direct', 'fft' or 'oa' for `p`, by the cost model."""
    if p.rdtype.kind in "biu" and _int_bound(p) >= _FFT_INT_BOUND:
        return "direct"
    if p.rdtype.kind not in "biufc" or p.rdtype == np.longdouble:
        return "direct"
    if math.prod(p.out_shape) * p.taps() < _TINY_WORK:
        return "direct"
    cost_direct = _direct_cost(p)
    if cost_direct < 2 * _COST["fft_call"]:
        return "direct"
    costs = {"direct": cost_direct, "fft": _fft_cost(p, workers)}
    i = _oa_axis(p)
    if i is not None:
        costs["oa"] = _oa_cost(p, i, workers)
    return min(costs, key=costs.get)


# ----------------------------------------------------------------------------- engines

def _run_direct(p: _Problem, workers: int | None) -> np.ndarray:
    rdtype = p.rdtype
    check_range = False
    if rdtype.kind in "biu":
        bound = _int_bound(p)
        info = np.iinfo(np.int64 if rdtype.kind == "b" else rdtype)
        if rdtype.kind != "b" and bound <= info.max:
            acc = rdtype
        elif bound < 2.0**63:
            acc, check_range = np.dtype(np.int64), rdtype.kind != "b"
        else:
            acc, check_range = np.dtype(object), True
    elif rdtype == np.float16:
        acc = np.dtype(np.float32)
    else:
        acc = rdtype
    if acc != object and _numpy_1d(p):
        mode = p.mode
        out = np.convolve(p.a.astype(acc, copy=False), p.b.astype(acc, copy=False), mode)
        return _finish_int(out, rdtype, check_range) if rdtype.kind in "biu" else out.astype(rdtype, copy=False)
    reverse = tuple(slice(None, None, -1) if ax in p.axes else slice(None) for ax in range(p.b.ndim))
    w = p.b[reverse]
    out = None
    if (p.mode == "same" and acc != object and all(s == 1 for s in p.stride)
            and p.a.size >= _NOPAD_MIN and p.a.shape == p.out_shape):
        maps = [pad_indices(p.a.shape[ax], *pads, p.boundary) for ax, pads in zip(p.axes, p.pads)]
        out = direct.correlate_same(p.a, w, p.axes, p.dilation, p.pads, maps, p.cval, acc, workers)
    if out is None:
        xp = p.padded(acc if acc != object else None)
        out = direct.correlate_valid(xp, w, p.axes, p.stride, p.dilation, acc, workers)
    return _finish_int(out, rdtype, check_range) if rdtype.kind in "biu" else out.astype(rdtype, copy=False)


def _finish_int(out: np.ndarray, rdtype: np.dtype, check_range: bool) -> np.ndarray:
    if rdtype.kind == "b":
        return out != 0
    if check_range and out.size:
        info = np.iinfo(rdtype)
        lo, hi = out.min(), out.max()
        if lo < info.min or hi > info.max:
            worst = hi if hi > info.max else lo
            raise OverflowError(
                f"the exact result ({int(worst)}) does not fit the result dtype {rdtype} "
                f"[{info.min}, {info.max}]; cast the inputs to "
                + ("float64 or object (Python ints)" if rdtype.itemsize == 8 else "int64") + " first")
    return out.astype(rdtype)


def _run_fft(p: _Problem, method: str, workers: int | None) -> np.ndarray:
    rdtype = p.rdtype
    fdtype = spectral.fft_dtype(p.a.dtype, p.b.dtype)
    kernel = p.stuffed_kernel().astype(fdtype, copy=False)
    active = [i for i, k in enumerate(p.extent) if k > 1]
    if p.zero_padding:
        x = p.a.astype(fdtype, copy=False)
        starts = [p.starts[i] for i in active]
    else:
        x = p.padded(fdtype)
        starts = [p.extent[i] - 1 for i in active]
    axes = tuple(p.axes[i] for i in active)
    lengths = [p.lengths[i] for i in active]
    finite = p.rdtype.kind in "biu" or bool(np.isfinite(x).all())
    if not finite:
        x = np.where(np.isfinite(x), x, 0).astype(fdtype, copy=False)
    if method == "oa":
        out = spectral.oa_window(x, kernel, axes[0], starts[0], lengths[0], workers)
    else:
        out = spectral.fft_window(x, kernel, axes, tuple(starts), tuple(lengths), workers)
    strided = tuple(slice(None, None, p.stride[p.axes.index(ax)]) if ax in p.axes else slice(None)
                    for ax in range(out.ndim))
    out = out[strided]
    if not finite:
        out = np.array(out)
        _patch_nonfinite(p, out)
    if rdtype.kind in "biu":
        out = np.rint(out)
        return _finish_int(out, rdtype, check_range=True)
    return out.astype(rdtype, copy=False)


def _window_any(mask: np.ndarray, p: _Problem) -> np.ndarray:
    """Outputs whose window (taps only) covers a True of the padded `mask`, per axis."""
    for ax, k, s, d in zip(p.axes, (p.b.shape[a] for a in p.axes), p.stride, p.dilation):
        n = (mask.shape[ax] - d * (k - 1) - 1) // s + 1
        if d == 1:
            counts = np.cumsum(mask, axis=ax, dtype=np.int64)
            counts = np.concatenate([np.zeros_like(np.take(counts, [0], axis=ax)), counts], axis=ax)
            hi = np.take(counts, np.arange(n) * s + k, axis=ax)
            lo = np.take(counts, np.arange(n) * s, axis=ax)
            mask = hi > lo
        else:
            hit = np.zeros_like(np.take(mask, np.arange(n), axis=ax))
            for m in range(k):
                hit |= np.take(mask, np.arange(n) * s + m * d, axis=ax)
            mask = hit
    return mask


def _patch_nonfinite(p: _Problem, out: np.ndarray) -> None:
    """Give the outputs that see a NaN/Inf of the input the values direct summation gives."""
    xp = p.padded()
    affected = np.broadcast_to(_window_any(~np.isfinite(xp), p), out.shape)
    idx = np.nonzero(affected)
    if not idx[0].size:
        return
    conv_shape = tuple(p.b.shape[ax] for ax in p.axes)
    bshape = tuple(xp.shape[ax] if ax in p.axes else out.shape[ax] for ax in range(xp.ndim))
    view = sliding_windows(np.broadcast_to(xp, bshape), conv_shape, stride=p.stride,
                           dilation=p.dilation, axes=p.axes)
    reverse = tuple(slice(None, None, -1) if ax in p.axes else slice(None) for ax in range(p.b.ndim))
    wshape = tuple(p.b.shape[ax] if ax in p.axes else out.shape[ax] for ax in range(p.b.ndim))
    w = np.moveaxis(np.broadcast_to(p.b[reverse], wshape), p.axes, range(-len(p.axes), 0))
    other = [ax for ax in range(out.ndim) if ax not in p.axes]
    taps = math.prod(conv_shape)
    step = max(1, _PATCH_CHUNK // taps)
    for lo in range(0, idx[0].size, step):
        sel = tuple(i[lo:lo + step] for i in idx)
        windows = view[sel].reshape(-1, taps)
        kernel = w[tuple(sel[ax] for ax in other)].reshape(-1, taps) if other else w.reshape(1, taps)
        out[sel] = (windows * kernel).sum(axis=-1)


# ----------------------------------------------------------------------------- public API

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
            and (in2.size <= 8 or in1.size * in2.size < _TINY_WORK))


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
            stuffed = _Problem(a, b, mode, axes_t, boundary, cval, strides, dilations).stuffed_kernel()
            a, b, dilations = stuffed, a, (1,) * len(axes_t)
    p = _Problem(a, b, mode, axes_t, boundary, cval, strides, dilations)
    if method == "auto":
        method = _choose(p, workers)
        if method != "direct" and p.b.dtype.kind in "fc" and not np.isfinite(p.b).all():
            method = "direct"   # a NaN/Inf kernel reaches every output: only direct places it
    elif method == "fft" and p.rdtype.kind in "biu" and _int_bound(p) >= _FFT_INT_BOUND:
        method = "direct"   # integers stay exact: the FFT cannot round them back
    # NaN/Inf propagate silently into the outputs that see them, as in scipy
    with np.errstate(invalid="ignore", over="ignore"):
        if method == "direct":
            return _run_direct(p, workers)
        return _run_fft(p, method, workers)


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
    p = _Problem(a, b, mode, axes_t, "constant", 0, (1,) * len(axes_t), (1,) * len(axes_t))
    return "direct" if _choose(p, None) == "direct" else "fft"
