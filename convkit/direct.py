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

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

from .windows import sliding_windows

__all__ = ["correlate_valid", "valid_shape"]

_BLOCK_BYTES = 1 << 18          # output block size that keeps a tap pass in L2
_THREAD_MIN_OUTPUTS = 1 << 18   # below this, threads cost more than they save
_GEMM_MAX_OUTPUTS = 8192        # below this (and many taps) windows @ kernel wins
_GEMM_CHUNK_BYTES = 1 << 25     # im2col copy per chunk in the gemm strategy


def valid_shape(x_shape: tuple, k_shape: tuple, axes: tuple, stride: tuple,
                dilation: tuple) -> tuple:
    """Output shape of a valid correlation: windowed axes shrink, the others broadcast."""
    shape = []
    for ax, (n, k) in enumerate(zip(x_shape, k_shape)):
        if ax in axes:
            i = axes.index(ax)
            shape.append((n - dilation[i] * (k - 1) - 1) // stride[i] + 1)
        else:
            shape.append(max(n, k) if min(n, k) else 0)
    return tuple(shape)


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    """A process-wide pool sized to the machine."""
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1)


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
    if (x.ndim == 1 and stride == (1,) and dilation == (1,)
            and acc_dtype in (np.float64, np.complex128, np.int64)):
        # numpy's 1-D correlate calls a BLAS dot per output: fastest in double
        out[...] = np.correlate(x, w.conj() if acc_dtype.kind == "c" else w, "valid")
        return out
    taps = int(np.prod([w.shape[a] for a in axes]))
    broadcast_free = all(w.shape[a] == 1 and x.shape[a] == out.shape[a]
                         for a in range(x.ndim) if a not in axes)
    if out.size < _GEMM_MAX_OUTPUTS and taps > 8 and broadcast_free and acc_dtype.kind in "fciu":
        _gemm(x, w, axes, stride, dilation, out)
        return out
    # Zero taps may be skipped only when no NaN/Inf can meet them (0 * inf is nan).
    skip_zero = bool((w == 0).any()) and (acc_dtype.kind in "iubO" or bool(np.isfinite(x).all()))
    lead_in_axes = 0 in axes
    if out.ndim == 0 or not (lead_in_axes or (x.shape[0] == out.shape[0] and w.shape[0] == 1)):
        _taps(x, w, axes, stride, dilation, out, skip_zero)
        return out
    s0, d0 = (stride[axes.index(0)], dilation[axes.index(0)]) if lead_in_axes else (1, 1)
    k0 = w.shape[0] if lead_in_axes else 1
    blocks = _split_rows(out.shape[0], int(np.prod(out.shape[1:])), acc_dtype.itemsize)

    def run(rows: slice) -> None:
        lo = rows.start * s0
        hi = (rows.stop - 1) * s0 + d0 * (k0 - 1) + 1
        _taps(x[lo:hi], w, axes, stride, dilation, out[rows], skip_zero)

    threads = (os.cpu_count() or 1) if workers is None else max(1, int(workers))
    if threads > 1 and len(blocks) > 1 and out.size >= _THREAD_MIN_OUTPUTS:
        list(_pool().map(run, blocks))
    else:
        for rows in blocks:
            run(rows)
    return out
