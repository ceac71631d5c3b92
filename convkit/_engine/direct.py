"""The direct engine: valid-mode correlation of an (already padded) input with a kernel.

Two strategies, both over strided views of the input:

* taps: one multiply-add pass per kernel tap over a strided slice of the input
  (``out += w[m] * x[m*d : ... : s]``), in row blocks that stay in cache and,
  for large outputs, on a small thread pool (numpy releases the GIL);
* gemm: ``sliding_windows(x) @ w`` in chunks, for few outputs and many taps.

Mode cropping, boundary padding, kernel flipping and dtype rules are the
caller's (`convkit.convolution`); this module only multiplies and adds.
"""

from __future__ import annotations

import numpy as np

from ..windows import extent, n_windows, sliding_windows
from .costs import COST
from .threads import parallel_map, thread_count

__all__ = ["correlate_valid", "correlate_same", "correlate_separable", "rank1_factors",
           "valid_shape", "numpy_1d_ok", "numpy_1d_cost", "GEMM_MAX_OUTPUTS", "THREAD_MIN_OUTPUTS",
           "RANK1_MAX_TAPS"]

_BLOCK_BYTES = 1 << 18          # output block size that keeps a tap pass in L2
THREAD_MIN_OUTPUTS = 1 << 18   # below this, threads cost more than they save
GEMM_MAX_OUTPUTS = 8192        # below this (and many taps) windows @ kernel wins
_GEMM_CHUNK_BYTES = 1 << 25     # im2col copy per chunk in the gemm strategy
_WIDE_WASTE = 1.3               # wide layout when the padded rows add at most 30 % work
RANK1_MAX_TAPS = 4096           # kernels up to 64 x 64 are tested for a rank-1 split (an SVD)


def rank1_factors(k: np.ndarray, rtol: float) -> tuple[np.ndarray, np.ndarray] | None:
    """(col, row) with ``outer(col, row) == k`` to rounding, when the 2-D matrix `k` has rank
    1 (second singular value at most `rtol` times the first), else None. All zeros: zeros."""
    u, s, vt = np.linalg.svd(k)
    if s[0] == 0.0:
        return np.zeros(k.shape[0], dtype=k.dtype), np.zeros(k.shape[1], dtype=k.dtype)
    if len(s) > 1 and s[1] > rtol * s[0]:
        return None
    return u[:, 0] * np.sqrt(s[0]), vt[0] * np.sqrt(s[0])


def correlate_separable(x: np.ndarray, col: np.ndarray, row: np.ndarray, axes: tuple,
                        stride: tuple, dilation: tuple, acc_dtype: np.dtype,
                        workers: int | None = None) -> np.ndarray:
    """`correlate_valid` of `x` with ``outer(col, row)`` laid along the two `axes`, as a pass
    of `col` along the first axis, then one of `row` along the second: ``kh + kw`` taps per
    output instead of ``kh * kw`` (measured 21 x 21 on 1024^2 float64: see the engine's
    commit). The input must be finite: inf - inf may land elsewhere in two passes."""
    shape = [1] * x.ndim
    shape[axes[0]] = col.size
    tmp = correlate_valid(x, col.reshape(shape), axes[:1], stride[:1], dilation[:1], acc_dtype,
                          workers)
    shape = [1] * x.ndim
    shape[axes[1]] = row.size
    return correlate_valid(tmp, row.reshape(shape), axes[1:], stride[1:], dilation[1:],
                           acc_dtype, workers)


def valid_shape(x_shape: tuple, k_shape: tuple, axes: tuple, stride: tuple,
                dilation: tuple) -> tuple:
    """Output shape of a valid correlation: windowed axes shrink, the others broadcast."""
    shape = []
    for ax, (n, k) in enumerate(zip(x_shape, k_shape)):
        if ax in axes:
            i = axes.index(ax)
            shape.append(n_windows(n, k, stride=stride[i], dilation=dilation[i]))
        else:
            shape.append(max(n, k) if min(n, k) else 0)
    return tuple(shape)


def numpy_1d_ok(dtype: np.dtype, taps: int) -> bool:
    """Whether numpy's 1-D correlate beats the tap loop (measured: it is slow for
    single precision at 9..63 taps, where neither its short loop nor BLAS runs)."""
    dtype = np.dtype(dtype)
    if dtype in (np.float64, np.complex128, np.int64):
        return True
    return dtype in (np.float32, np.complex64) and (taps <= 8 or taps >= 64)


def numpy_1d_cost(dtype: np.dtype, taps: int) -> float:
    """Seconds per output per tap of numpy's 1-D correlate (fitted, 2-core machine)."""
    double = np.dtype(dtype).itemsize >= 8 and np.dtype(dtype).kind != "c" or np.dtype(dtype) == np.complex128
    regime = "<=8" if taps <= 8 else "9..63" if taps < 64 else ">=64"
    per = COST["numpy_1d"][f"{'double' if double else 'single'} {regime}"]
    return per * (4 if np.dtype(dtype).kind == "c" else 1)


def _taps(x: np.ndarray, w: np.ndarray, axes: tuple, stride: tuple, dilation: tuple,
          out: np.ndarray, skip_zero_taps: bool) -> None:
    """out[...] = sum over taps m of w[m] * x[m*d :: s] (valid correlation), in place."""
    conv_shape = [w.shape[a] for a in axes]
    tmp = np.empty_like(out)
    first = True
    for idx in np.ndindex(*conv_shape):
        w_index = [slice(None)] * w.ndim
        x_index = [slice(None)] * x.ndim
        for ax, m, s, d in zip(axes, idx, stride, dilation):
            w_index[ax] = slice(m, m + 1)
            x_index[ax] = slice(m * d, m * d + (out.shape[ax] - 1) * s + 1, s)
        tap = w[tuple(w_index)]
        if tap.size == 1:
            tap = tap.reshape(())
            if skip_zero_taps and tap == 0:
                continue
        piece = x[tuple(x_index)]
        if first:
            np.multiply(piece, tap, out=out, casting="unsafe")
            first = False
        else:
            np.multiply(piece, tap, out=tmp, casting="unsafe")
            out += tmp
    if first:
        out[...] = 0


def _gemm(x: np.ndarray, w: np.ndarray, axes: tuple, stride: tuple, dilation: tuple,
          out: np.ndarray) -> None:
    """out = windows(x) @ w for a kernel that spans only the windowed axes."""
    k_shape = tuple(w.shape[a] for a in axes)
    view = sliding_windows(x, k_shape, stride=stride, dilation=dilation, axes=axes)
    # the view's window axes come in the order of `axes`: lay the kernel out the same way
    kernel = np.transpose(w, axes + tuple(a for a in range(w.ndim) if a not in axes)).reshape(-1)
    taps = kernel.size
    rows = max(1, _GEMM_CHUNK_BYTES // max(1, taps * x.itemsize * int(np.prod(out.shape[1:]))))
    for start in range(0, out.shape[0], rows):
        chunk = view[start:start + rows]
        cols = chunk.reshape(chunk.shape[: out.ndim] + (taps,))
        out[start:start + rows] = cols @ kernel


def _wide(x: np.ndarray, w: np.ndarray, axes: tuple, dilation: tuple, out_shape: tuple,
          acc_dtype: np.dtype, workers: int | None, skip_zero: bool,
          dest: np.ndarray | None = None) -> np.ndarray | None:
    """Unit-stride correlation on the flat input: every tap is one contiguous slice.

    The output is computed in the input's row layout ("wide": each row as long
    as the padded input row, the last columns unused), so tap ``m`` reads
    ``x.flat[offset(m) : offset(m) + n]`` for one fixed offset. Contiguous
    1-D multiply-adds run at memory speed with no per-row overhead; the
    valid part is returned as a view.
    """
    x = np.ascontiguousarray(x)
    flat = x.reshape(-1)
    row = int(np.prod(x.shape[1:]))
    steps = [int(np.prod(x.shape[a + 1:])) for a in range(x.ndim)]
    wide = np.empty(out_shape[0] * row, dtype=acc_dtype) if dest is None else dest
    # the last valid output's flat index + 1: nothing past it is read or written
    length = (out_shape[0] - 1) * row + sum((n - 1) * st for n, st in zip(out_shape[1:], steps[1:])) + 1
    taps = []
    for idx in np.ndindex(*w.shape):
        tap = w[idx]
        if skip_zero and tap == 0:
            continue
        offset = sum(m * (dilation[axes.index(a)] if a in axes else 1) * steps[a]
                     for a, m in enumerate(idx))
        taps.append((offset, tap))
    block = max(1, _BLOCK_BYTES // acc_dtype.itemsize)

    def run(lo: int) -> None:
        hi = min(length, lo + block)
        out = wide[lo:hi]
        if not taps:
            out[...] = 0
            return
        tmp = np.empty_like(out)
        offset, tap = taps[0]
        np.multiply(flat[offset + lo:offset + hi], tap, out=out, casting="unsafe")
        for offset, tap in taps[1:]:
            np.multiply(flat[offset + lo:offset + hi], tap, out=tmp, casting="unsafe")
            out += tmp

    starts = range(0, length, block)
    parallel_map(run, starts, thread_count(workers) if length >= THREAD_MIN_OUTPUTS else 1)
    if dest is not None:
        return None
    view = wide.reshape((out_shape[0],) + x.shape[1:])
    return view[(slice(None),) + tuple(slice(0, n) for n in out_shape[1:])]


def correlate_same(a: np.ndarray, w: np.ndarray, axes: tuple, dilation: tuple, pads: list,
                   maps: list, cval, acc_dtype: np.dtype,
                   workers: int | None = None) -> np.ndarray | None:
    """'same'-size correlation without padding the whole input, or None where it does not apply.

    The output has the input's row layout, so the valid correlation of the
    unpadded input, computed in wide rows, lands on the interior of the
    output by one flat shift; its unused columns fall on border cells. The
    border strips are then recomputed from small padded slabs gathered with
    the boundary's index maps (`maps[i]`: source index per padded sample,
    -1 for cval). Saves the padded copy of the input (time and memory).
    Unit stride, a kernel spanning only `axes`, and ``n >= K`` on every axis.
    """
    extents = [extent(w.shape[ax], d) for ax, d in zip(axes, dilation)]
    if (acc_dtype.kind not in "fciub" or any(a.shape[ax] < k for ax, k in zip(axes, extents))
            or any(w.shape[ax] != 1 for ax in range(a.ndim) if ax not in axes)):
        return None
    a = np.ascontiguousarray(a, dtype=acc_dtype)
    out = np.empty(a.shape, dtype=acc_dtype)
    steps = [int(np.prod(a.shape[ax + 1:])) for ax in range(a.ndim)]
    shift = sum(before * steps[ax] for ax, (before, _) in zip(axes, pads))
    valid = tuple(n - k + 1 if ax in axes else n for ax, n, k in
                  zip(range(a.ndim), a.shape, [extents[axes.index(ax)] if ax in axes else 1
                                               for ax in range(a.ndim)]))
    skip_zero = bool((w == 0).any()) and (acc_dtype.kind in "iub" or bool(np.isfinite(a).all()))
    _wide(a, w, axes, dilation, valid, acc_dtype, workers, skip_zero, dest=out.reshape(-1)[shift:])
    for i, ax in enumerate(axes):
        before, after = pads[i]
        n, k = a.shape[ax], extents[i]
        for lo, hi, rows in ((0, before + k - 1, slice(0, before)),
                             (n - after, n + k - 1, slice(n - after, n))):
            if rows.start == rows.stop:
                continue
            index = []
            for bx in range(a.ndim):
                if bx == ax:
                    index.append(maps[i][lo:hi])
                elif bx in axes:
                    index.append(maps[axes.index(bx)])
                else:
                    index.append(np.arange(a.shape[bx]))
            grid = np.ix_(*index)
            slab = a[np.ix_(*[np.maximum(ix, 0) for ix in index])]
            outside = np.zeros(slab.shape, dtype=bool)
            for g in grid:
                outside |= g < 0
            if outside.any():
                slab[outside] = cval
            strip = correlate_valid(slab, w, axes, (1,) * len(axes), dilation, acc_dtype, workers=1)
            region = [slice(None)] * a.ndim
            region[ax] = rows
            out[tuple(region)] = strip
    return out


def _split_rows(n_rows: int, row_items: int, itemsize: int) -> list[slice]:
    """Row blocks of the output whose size is about _BLOCK_BYTES."""
    rows = max(1, _BLOCK_BYTES // max(1, row_items * itemsize))
    return [slice(s, min(n_rows, s + rows)) for s in range(0, n_rows, rows)]


def correlate_valid(x: np.ndarray, w: np.ndarray, axes: tuple, stride: tuple,
                    dilation: tuple, acc_dtype: np.dtype,
                    workers: int | None = None) -> np.ndarray:
    """Valid correlation ``out[i] = sum_m w[m] x[i*s + m*d]`` along `axes`, in `acc_dtype`.

    `x` and `w` have the same ndim; along axes not in `axes` they broadcast.
    """
    acc_dtype = np.dtype(acc_dtype)
    out = np.empty(valid_shape(x.shape, w.shape, axes, stride, dilation), dtype=acc_dtype)
    if out.size == 0:
        return out
    x = x.astype(acc_dtype, copy=False)
    w = w.astype(acc_dtype, copy=False)
    if x.ndim == 1 and stride == (1,) and dilation == (1,) and numpy_1d_ok(acc_dtype, w.size):
        # numpy's 1-D correlate: a tight loop for short kernels, a BLAS dot per output for long
        out[...] = np.correlate(x, w.conj() if acc_dtype.kind == "c" else w, "valid")
        return out
    taps = int(np.prod([w.shape[a] for a in axes]))
    broadcast_free = all(w.shape[a] == 1 and x.shape[a] == out.shape[a]
                         for a in range(x.ndim) if a not in axes)
    if out.size < GEMM_MAX_OUTPUTS and taps > 8 and broadcast_free and acc_dtype.kind in "fciu":
        _gemm(x, w, axes, stride, dilation, out)
        return out
    # Zero taps may be skipped only when no NaN/Inf can meet them (0 * inf is nan).
    skip_zero = bool((w == 0).any()) and (acc_dtype.kind in "iubO" or bool(np.isfinite(x).all()))
    if (all(s == 1 for s in stride) and broadcast_free and acc_dtype.kind in "fciub"
            and out.shape[0] * int(np.prod(x.shape[1:])) <= _WIDE_WASTE * out.size):
        wide = _wide(x, w, axes, dilation, out.shape, acc_dtype, workers, skip_zero)
        assert wide is not None   # without `dest` the result is returned
        return wide
    lead_in_axes = 0 in axes
    if out.ndim == 0 or not (lead_in_axes or (x.shape[0] == out.shape[0] and w.shape[0] == 1)):
        _taps(x, w, axes, stride, dilation, out, skip_zero)
        return out
    s0, d0 = (stride[axes.index(0)], dilation[axes.index(0)]) if lead_in_axes else (1, 1)
    k0 = w.shape[0] if lead_in_axes else 1
    blocks = _split_rows(out.shape[0], int(np.prod(out.shape[1:])), acc_dtype.itemsize)

    def run(rows: slice) -> None:
        lo = rows.start * s0
        hi = (rows.stop - 1) * s0 + extent(k0, d0)
        _taps(x[lo:hi], w, axes, stride, dilation, out[rows], skip_zero)

    parallel_map(run, blocks, thread_count(workers) if out.size >= THREAD_MIN_OUTPUTS else 1)
    return out
