"""Running one `convkit._engine.plan.Problem` on an engine: the direct sums or the FFT.

The direct engine accumulates in a dtype that cannot overflow for the
problem's integer bound (the result dtype, int64, or Python ints as a last
resort), then checks the range; a 'same' output of a large input is summed
without padding a copy. The FFT engines run on the finite-replaced input and
then recompute the outputs a NaN/Inf reaches (`convkit._engine.nonfinite`); integer
results are rounded back and range-checked. Which engine runs is decided
elsewhere (`convkit._engine.plan.choose`).
"""

from __future__ import annotations

import numpy as np

from . import direct, spectral
from .nonfinite import patch_nonfinite
from .plan import Problem, int_bound, numpy_1d
from ..boundary import pad_indices

__all__ = ["run_direct", "run_fft", "finish_int"]

_NOPAD_MIN = 1 << 16       # 'same' outputs from this size skip the padded copy


def run_direct(p: Problem, workers: int | None) -> np.ndarray:
    rdtype = p.rdtype
    check_range = False
    if rdtype.kind in "biu":
        bound = int_bound(p)
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
    if acc != object and numpy_1d(p):
        mode = p.mode
        res = np.convolve(p.a.astype(acc, copy=False), p.b.astype(acc, copy=False), mode)
        return finish_int(res, rdtype, check_range) if rdtype.kind in "biu" else res.astype(rdtype, copy=False)
    if p.factors is not None and bool(np.isfinite(p.a).all()):
        # a rank-1 kernel: two 1-D passes over the padded input (correlation taps: reversed)
        col, row = (f[::-1] for f in p.factors)
        axes = tuple(ax for ax in range(p.b.ndim) if p.b.shape[ax] > 1)
        stride = tuple(p.stride[p.axes.index(ax)] for ax in axes)
        dilation = tuple(p.dilation[p.axes.index(ax)] for ax in axes)
        return direct.correlate_separable(p.padded(acc), col, row, axes, stride, dilation, acc,
                                          workers).astype(rdtype, copy=False)
    reverse = tuple(slice(None, None, -1) if ax in p.axes else slice(None) for ax in range(p.b.ndim))
    w = p.b[reverse]
    out: np.ndarray | None = None
    if (p.mode == "same" and acc != object and all(s == 1 for s in p.stride)
            and p.a.size >= _NOPAD_MIN and p.a.shape == p.out_shape):
        maps = [pad_indices(p.a.shape[ax], *pads, p.boundary) for ax, pads in zip(p.axes, p.pads)]
        out = direct.correlate_same(p.a, w, p.axes, p.dilation, p.pads, maps, p.cval, acc, workers)
    if out is None:
        xp = p.padded(acc if acc != object else None)
        if xp.dtype == object:     # padding cells may be numpy ints, which overflow on big ints
            xp = np.array([int(v) for v in xp.flat], dtype=object).reshape(xp.shape)
        out = direct.correlate_valid(xp, w, p.axes, p.stride, p.dilation, acc, workers)
    return finish_int(out, rdtype, check_range) if rdtype.kind in "biu" else out.astype(rdtype, copy=False)


def finish_int(out: np.ndarray, rdtype: np.dtype, check_range: bool) -> np.ndarray:
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


def run_fft(p: Problem, method: str, workers: int | None) -> np.ndarray:
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
        patch_nonfinite(p, out)
    if rdtype.kind in "biu":
        out = np.rint(out)
        return finish_int(out, rdtype, check_range=True)
    return out.astype(rdtype, copy=False)
