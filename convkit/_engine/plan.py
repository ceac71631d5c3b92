"""The plan of one convolution: the normalised problem and the engine that should run it.

`Problem` holds a convolution reduced to convolving `a` with kernel `b`
along `axes` (padding widths, output lengths, the window of the full result
each mode keeps, the result dtype). `choose` is the cost model behind
``method="auto"``: it estimates the seconds each engine needs from the work
it does (multiply-adds for the direct engine, ``n log2 n`` per transform for
FFT and overlap-add) with constants measured on the 2-core CI machine class
by `benchmarks/fit_cost_model.py`, and picks the cheapest.
"""

from __future__ import annotations

import math

import numpy as np

from . import direct, spectral
from .._names import Mode
from ..boundary import Boundary, boundary_record, pad
from ..windows import extent, n_windows
from .costs import COST
from .threads import available_cores

__all__ = ["Problem", "choose", "int_bound", "mode_pads", "numpy_1d", "obviously_numpy_1d",
           "FFT_INT_BOUND", "TINY_WORK", "FLOOR_TAPS"]

FFT_INT_BOUND = 2.0**40    # integer FFT results round back exactly below this bound
TINY_WORK = 100_000        # multiply-adds below which no transform can win
# 1-D kernels up to this many taps never go to a transform, whatever the signal's length
# (float64: numpy's loop costs at most 16 * 3.8e-10 s per output, a transform
# of a signal long enough to leave TINY_WORK at least 3 * log2(2 * 6250) * 4e-10 s)
FLOOR_TAPS = {"d": 16, "D": 8, "f": 8, "F": 4}

_KEYS = {np.dtype(np.float16): "f4", np.dtype(np.float32): "f4", np.dtype(np.float64): "f8",
         np.dtype(np.complex64): "c8", np.dtype(np.complex128): "c16"}


def _kernel_key(dtype: np.dtype) -> str:
    if dtype.kind in "biu":
        return "int"
    return _KEYS.get(dtype, "f8")


def mode_pads(extent: int, mode: Mode) -> tuple[int, int]:
    """Padding (before, after) that turns each mode into a valid correlation.

    The mode's window of the full convolution then starts at ``extent - 1 -
    before``; 'same' centres it as scipy does (the odd sample goes after).
    """
    if mode == "full":
        return extent - 1, extent - 1
    if mode == "same":
        return extent // 2, (extent - 1) // 2
    return 0, 0


class Problem:
    """One convolution, normalised: convolve `a` with kernel `b` along `axes`.

    The geometry and the result dtype are read from shapes and dtypes only, so
    `a` (or `b`) may be a dask array when only the plan is wanted (`convkit.chunked`);
    `padded` and the engines need numpy arrays.
    """

    def __init__(self, a: np.ndarray, b: np.ndarray, mode: Mode, axes: tuple[int, ...],
                 boundary: Boundary | str, cval: float, stride: tuple[int, ...],
                 dilation: tuple[int, ...], shift: tuple[int, ...] | None = None):
        self.a, self.b, self.mode, self.axes = a, b, mode, axes
        self.boundary = boundary_record(boundary)   # a row from the public call passes as it is
        self.cval, self.stride, self.dilation = cval, stride, dilation
        self.extent = tuple(extent(b.shape[ax], d) for ax, d in zip(axes, dilation))
        # 'same' with an origin: the window moves by `shift` cells (padding moves from one end
        # to the other; the output length stays)
        self.shift = (0,) * len(axes) if shift is None else shift
        self.pads = [(before + s, after - s) for (before, after), s in
                     zip((mode_pads(k, mode) for k in self.extent), self.shift)]
        # unstrided output length per conv axis, and its window start in the full convolution
        self.lengths = [n_windows(a.shape[ax], k, pad=sum(p))
                        for ax, k, p in zip(axes, self.extent, self.pads)]
        self.starts = [k - 1 - before for k, (before, _) in zip(self.extent, self.pads)]
        self.out_shape = tuple(
            n_windows(a.shape[ax], b.shape[ax], stride=stride[axes.index(ax)],
                      dilation=dilation[axes.index(ax)], pad=sum(self.pads[axes.index(ax)]))
            if ax in axes else max(a.shape[ax], b.shape[ax])
            for ax in range(a.ndim))
        self.rdtype = np.result_type(a.dtype, b.dtype)

    @property
    def zero_padding(self) -> bool:
        return not self.boundary.copies_input and self.cval == 0

    @property
    def pad_dtype(self) -> np.dtype:
        """The dtype in which `a`, padded with cval, is exact: the result dtype, or int64 for an
        integer fill outside the result's range (the range is checked when the sums are done)."""
        r = self.rdtype
        if r.kind in "iu" and not self.boundary.copies_input:
            info = np.iinfo(r)
            if not info.min <= int(self.cval) <= info.max:
                return np.dtype(np.int64)
        return r

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

    @property
    def factors(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The kernel as ``outer(col, row)`` over its two conv axes, when a float kernel of
        rank 1 spanning exactly two axes makes two 1-D passes cheaper, else None."""
        if not hasattr(self, "_factors"):
            self._factors = self._rank1()
        return self._factors

    def _rank1(self) -> tuple[np.ndarray, np.ndarray] | None:
        b = self.b
        spans = [ax for ax in range(b.ndim) if b.shape[ax] > 1]
        if (self.rdtype.char not in "fdFD" or not isinstance(b, np.ndarray) or len(spans) != 2
                or len(self.axes) != 2
                or any(ax not in self.axes for ax in spans) or b.size > direct.RANK1_MAX_TAPS
                or b.size <= 2 * (b.shape[spans[0]] + b.shape[spans[1]])
                or not np.isfinite(b).all()):
            return None
        k = b.reshape(b.shape[spans[0]], b.shape[spans[1]]).astype(self.rdtype, copy=False)
        eps = np.finfo(k.real.dtype).eps
        return direct.rank1_factors(k, 4 * max(k.shape) * eps)

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


def int_bound(p: Problem) -> float:
    """An upper bound on |any partial sum| of an integer convolution."""
    a64 = p.a.astype(np.float64)
    b64 = p.b.astype(np.float64)
    max_a = float(np.abs(a64).max())
    max_b = float(np.abs(b64).max())
    sum_b = float(np.abs(b64).sum())
    bound = max(max_a, 0.0 if p.boundary.copies_input else abs(float(p.cval))) * sum_b
    if p.zero_padding:
        bound = min(bound, max_b * float(np.abs(a64).sum()))
    return bound * (1 + 1e-12)


# ----------------------------------------------------------------------------- cost model

def numpy_1d(p: Problem) -> bool:
    """Whether the direct engine hands this problem to numpy's 1-D convolve."""
    if (p.a.ndim != 1 or p.stride != (1,) or p.dilation != (1,) or not p.zero_padding
            or p.shift != (0,)):
        return False
    if p.mode == "same" and p.a.size < p.b.size:
        return False
    acc = np.dtype(np.int64) if p.rdtype.kind in "biu" else p.rdtype
    return direct.numpy_1d_ok(np.dtype(np.float32) if acc == np.float16 else acc, p.b.size)


def obviously_numpy_1d(n: int, k: int, char: str) -> bool:
    """The cheap first test: a 1-D convolution of `n` by `k` samples of type `char` that
    numpy's convolve does best, decided without building a `Problem` (a few microseconds)."""
    return 0 < k <= n and (k <= FLOOR_TAPS.get(char, 0) or n * k < TINY_WORK)


def _direct_cost(p: Problem) -> float:
    out = math.prod(p.out_shape)
    taps = p.taps()
    if p.factors is not None:       # two 1-D passes
        taps = sum(f.size for f in p.factors)
        return out * taps * COST["direct_tap"][_kernel_key(p.rdtype)] + taps * COST["direct_call"]
    key = _kernel_key(p.rdtype)
    if numpy_1d(p):
        return out * taps * direct.numpy_1d_cost(p.rdtype, taps) + COST["direct_call"]
    if out < direct.GEMM_MAX_OUTPUTS and taps > 8:
        return out * taps * COST["direct_gemm"] + COST["direct_call"]
    threads = COST["tap_threads"] if out >= direct.THREAD_MIN_OUTPUTS else 1.0
    return out * taps * COST["direct_tap"][key] / threads + taps * COST["direct_call"]


def _fft_sizes(p: Problem) -> tuple[list[int], list[int]]:
    real = p.rdtype.kind != "c"
    active = [i for i, k in enumerate(p.extent) if k > 1]
    sizes = []
    for i in active:
        ax = p.axes[i]
        n = p.a.shape[ax] if p.zero_padding else p.a.shape[ax] + sum(p.pads[i])
        start = p.starts[i] if p.zero_padding else p.extent[i] - 1
        sizes.append(spectral.circular_size(n, p.extent[i], start, p.lengths[i], real))
    return active, sizes


def _fft_cost(p: Problem, workers: int | None) -> float:
    active, sizes = _fft_sizes(p)
    key = _kernel_key(spectral.fft_dtype(p.a.dtype, p.b.dtype))
    conv = {p.axes[i] for i in active}
    one_long = len(sizes) == 1 and math.prod(p.out_shape) == p.lengths[active[0]] if active else False
    per = COST["fft1" if one_long else "fft"][key]
    batch_a = math.prod(n for ax, n in enumerate(p.a.shape) if ax not in conv)
    batch_b = math.prod(n for ax, n in enumerate(p.b.shape) if ax not in conv)
    batch_o = math.prod(n for ax, n in enumerate(p.out_shape) if ax not in conv)
    size = math.prod(sizes) if sizes else 1
    work = size * math.log2(max(size, 2)) * (batch_a + batch_b + batch_o)
    threads = available_cores() if workers is None else max(1, workers)
    parallel = threads > 1 and (len(sizes) > 1 or batch_o > 1) and size * batch_o > 1 << 16
    return work * per / (COST["fft_threads"] if parallel else 1.0) + COST["fft_call"]


def _oa_axis(p: Problem) -> int | None:
    """The conv axis overlap-add would split, or None where it does not apply."""
    active = [i for i, k in enumerate(p.extent) if k > 1]
    if len(active) != 1:
        return None
    i = active[0]
    n = p.a.shape[p.axes[i]]
    return i if n >= 4 * p.extent[i] else None


def _oa_cost(p: Problem, i: int, workers: int | None) -> float:
    ax = p.axes[i]
    k = p.extent[i]
    n = p.a.shape[ax] + (0 if p.zero_padding else sum(p.pads[i]))
    size, block = spectral.oa_block(n, k, p.rdtype.kind != "c")
    key = _kernel_key(spectral.fft_dtype(p.a.dtype, p.b.dtype))
    per = COST["oa"][key]
    batch = math.prod(m for a, m in enumerate(p.out_shape) if a != ax)
    work = 2 * math.ceil(n / block) * batch * size * math.log2(size)
    return work * per + 2 * COST["fft_call"]


def choose(p: Problem, workers: int | None) -> str:
    """'direct', 'fft' or 'oa' for `p`, by the cost model."""
    if p.rdtype.kind in "biu" and int_bound(p) >= FFT_INT_BOUND:
        return "direct"
    if p.rdtype.kind not in "biufc" or p.rdtype == np.longdouble:
        return "direct"
    if math.prod(p.out_shape) * p.taps() < TINY_WORK:
        return "direct"
    cost_direct = _direct_cost(p)
    if cost_direct < 2 * COST["fft_call"]:
        return "direct"
    costs = {"direct": cost_direct, "fft": _fft_cost(p, workers)}
    i = _oa_axis(p)
    if i is not None:
        costs["oa"] = _oa_cost(p, i, workers)
    return min(costs, key=costs.__getitem__)
