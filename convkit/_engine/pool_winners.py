"""Which input cell wins each max / min pooling window: the indices `pool` returns.

The winner is the first cell in row-major order within its window that
equals the window's result, so ties resolve as in a loop over the window; a
window whose result is NaN is won by its LAST NaN (PyTorch's rule: its loop
replaces the winner whenever a NaN comes). Padding never wins. Three ways to
find it: a general masked scan over the taps, a faster integer scan for
unpadded NaN-free windows, and a contiguous-plane version for the CNN's
2 x 2 / stride 2 case.
"""

from __future__ import annotations

import numpy as np

from ..windows import sliding_windows

__all__: list[str] = []


def padded(x: np.ndarray, axes: tuple, pad: tuple, value) -> np.ndarray:
    """`x` with `pad` cells of `value` before and after each pooled axis."""
    if not any(pad):
        return x
    widths = [(0, 0)] * x.ndim
    for ax, p in zip(axes, pad):
        widths[ax] = (p, p)
    return np.pad(x, widths, mode="constant", constant_values=value)


def winners(view: np.ndarray, best: np.ndarray, plane: tuple, size: tuple, stride: tuple,
             pad: tuple) -> np.ndarray:
    """Flat index into the unpadded `plane` of the first cell (row-major within the window)
    equal to its window's result, or of the last NaN where the result is NaN; padding
    cells never win."""
    k = len(plane)
    flat = np.arange(int(np.prod(plane)), dtype=np.intp).reshape(plane)
    flat = padded(flat, tuple(range(k)), pad, -1)
    idx_view = sliding_windows(flat, size, stride=stride)            # (*out_plane, *size)
    nan_best = np.isnan(best) if best.dtype.kind == "f" else None
    chosen = np.full(best.shape, -1, dtype=np.intp)
    for tap in np.ndindex(*size):                                     # taps in row-major order
        idx = idx_view[(...,) + tap]
        values = view[(...,) + tap]
        hit = (values == best) & (chosen == -1)
        if nan_best is not None:
            hit |= nan_best & np.isnan(values)          # a later NaN replaces an earlier one
        hit &= idx != -1
        np.copyto(chosen, np.broadcast_to(idx, chosen.shape), where=hit)
    return chosen


def first_winners(view: np.ndarray, best: np.ndarray, plane: tuple, size: tuple,
                   stride: tuple) -> np.ndarray:
    """Fast `winners` for unpadded, NaN-free windows: scan the taps backwards keeping the
    earliest tap equal to the result (int arithmetic, no masked writes), then add the
    tap's offset to the window's origin."""
    k = len(size)
    taps = list(np.ndindex(*size))
    code_dtype = np.int8 if len(taps) <= 127 else np.intp
    code = np.full(best.shape, len(taps) - 1, dtype=code_dtype)
    hit = np.empty(best.shape, dtype=bool)
    for t in range(len(taps) - 2, -1, -1):
        np.equal(view[(...,) + taps[t]], best, out=hit)
        code -= hit.astype(code_dtype, copy=False) * (code - t)
    plane_strides = [int(np.prod(plane[i + 1:])) for i in range(k)]
    offsets = np.array([sum(m * ps for m, ps in zip(tap, plane_strides)) for tap in taps], dtype=np.intp)
    origin = np.zeros(best.shape[best.ndim - k:], dtype=np.intp)
    for i in range(k):
        starts = np.arange(origin.shape[i], dtype=np.intp) * (stride[i] * plane_strides[i])
        origin += starts.reshape((-1,) + (1,) * (k - 1 - i))
    return np.take(offsets, code) + origin


def pool2x2(xm: np.ndarray, op: str) -> tuple[np.ndarray, np.ndarray]:
    """Fast `pool(..., return_indices=True)` for 2 x 2 windows at stride 2 over the last two axes
    (the CNN case): the four cells of every window copied into four contiguous planes, then
    best of each row (ties keep the left cell), best of the two rows (ties keep the top one),
    which is the first winner in row-major order. NaN-free input only (the caller checks)."""
    h, w = xm.shape[-2:]
    ho, wo = h // 2, w // 2
    lead = xm.shape[:-2]
    pick, better = (np.maximum, np.greater) if op == "max" else (np.minimum, np.less)
    taps = np.empty((2, 2) + lead + (ho, wo), dtype=xm.dtype)          # taps[i, j]: cell (i, j) of each window
    np.copyto(taps, np.moveaxis(xm[..., :2 * ho, :2 * wo].reshape(lead + (ho, 2, wo, 2)), (-3, -1), (0, 1)))
    top, bottom = pick(taps[0, 0], taps[0, 1]), pick(taps[1, 0], taps[1, 1])
    right_top, right_bottom = better(taps[0, 1], taps[0, 0]), better(taps[1, 1], taps[1, 0])
    down = better(bottom, top)
    right = right_top ^ (down & (right_top ^ right_bottom))            # the winning row's column
    origin = (np.arange(ho, dtype=np.intp) * (2 * w))[:, None] + np.arange(wo, dtype=np.intp) * 2
    idx = np.add(origin, right, dtype=np.intp)
    idx += np.multiply(down, w, dtype=np.intp)
    return pick(top, bottom), idx
