"""Non-finite inputs under the FFT engines: the outputs a NaN/Inf reaches get direct sums.

A transform spreads one NaN or Inf over the whole output. The FFT path runs
with non-finite samples replaced by 0, then `patch_nonfinite` recomputes, by
direct summation over the window, exactly the outputs whose window holds a
non-finite sample, so the NaN/Inf placement equals the direct engine's.
"""

from __future__ import annotations

import math

import numpy as np

from .plan import Problem
from ..windows import n_windows, sliding_windows

__all__ = ["patch_nonfinite", "omit_check", "omit_split", "omit_combine"]

_PATCH_CHUNK = 1 << 22     # elements gathered at once when patching non-finite outputs


def _window_any(mask: np.ndarray, p: Problem) -> np.ndarray:
    """Outputs whose window (taps only) covers a True of the padded `mask`, per axis."""
    for ax, k, s, d in zip(p.axes, (p.b.shape[a] for a in p.axes), p.stride, p.dilation):
        n = n_windows(mask.shape[ax], k, stride=s, dilation=d)
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


def patch_nonfinite(p: Problem, out: np.ndarray) -> None:
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


# ----------------------------------------------------------------------------- nan_policy="omit"

def omit_check(kernel: np.ndarray, func: str) -> None:
    """nan_policy='omit' divides by the kernel's weights over each window's valid samples:
    refuse kernels for which that sum can be zero while valid samples remain."""
    k = np.asarray(kernel)
    if k.dtype.kind not in "biuf":
        raise ValueError(f"{func}: nan_policy='omit' needs a real kernel, got dtype {k.dtype}")
    if not np.isfinite(k).all():
        raise ValueError(f"{func}: nan_policy='omit' needs a finite kernel (it has NaN or Inf)")
    if not (k > 0).any() and not (k < 0).any():
        raise ValueError(f"{func}: nan_policy='omit' needs a kernel with a nonzero weight, got all zeros")
    if (k > 0).any() and (k < 0).any():
        raise ValueError(f"{func}: nan_policy='omit' needs kernel weights of one sign (their sum over "
                         f"a window's valid samples could be 0), got weights from {k.min()} to {k.max()}")


def omit_split(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a with NaN -> 0, 1 where a is not NaN else 0) in a's dtype (real part's for complex)."""
    valid = ~np.isnan(a)
    filled = np.where(valid, a, 0).astype(a.dtype, copy=False)
    return filled, valid.astype(a.real.dtype)


def omit_combine(num: np.ndarray, den: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """sum(w x over valid) * sum(w) / sum(w over valid); NaN where no weighted sample is valid.

    `den` is 0 exactly when no valid sample meets a nonzero weight, and at least the smallest
    nonzero |weight| otherwise: half of that separates the two whatever the engine's rounding.
    """
    k = np.abs(np.asarray(kernel, dtype=np.float64))
    floor = 0.5 * float(k[k > 0].min())
    total = float(np.asarray(kernel, dtype=np.float64).sum())
    empty = np.abs(den) < floor
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num * (total / np.where(empty, 1, den))
    return np.where(empty, np.nan, out).astype(num.dtype, copy=False)
