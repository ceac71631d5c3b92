"""Batched multi-channel 2-D convolution (what a CNN layer needs): `conv2d` and the forward pass.

`conv2d` is cross-correlation over N x C x H x W batches with F x C x kh x kw
filters, exactly as ``torch.nn.functional.conv2d``. It is im2col over
`convkit.windows.sliding_windows` followed by matrix products, in chunks of
the batch so the column matrix stays small (`_CHUNK_BYTES`). Two column
layouts: for long output rows, columns per sample (n, K, Ho*Wo) and one
product per sample written straight into the output; for short rows (where
copying rows of Wo numbers is slow) the batch goes innermost (K, Ho*Wo*n),
one product per chunk, at the price of transposing the input, the output and
its gradient. A bias rides along as a row of ones in the columns.

`_Scratch` keeps the work arrays of a Conv2D layer from one step to the
next: fresh pages cost more than the arithmetic here. The gradients are in
`convkit.batched_grad`; general N-D convolution (`convolve` / `correlate`)
lives elsewhere.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .windows import per_axis, sliding_windows

__all__ = ["conv2d"]

# column-matrix bytes per chunk of the batch: big enough for BLAS, small enough to stay in
# cache (8 MB: a LeNet batch of 64 is one chunk; 32 MB measured ~10% slower per step)
_CHUNK_BYTES = 8 * 2**20
# output width below which the columns put the batch innermost, (C, kh, kw, Ho, Wo, N): the
# im2col copy then moves runs of Wo*N numbers instead of Wo (4x faster at Wo = 8), for the price
# of transposing the input, the output and its gradient (at Wo = 24 that price is higher)
_BATCH_LAST_BELOW = 16
# samples per block in the batch-to-last transposing copies
_TRANSPOSE_BLOCK = 8

Pads = tuple[tuple[int, int], tuple[int, int]]


def _geometry(x_shape: tuple, w_shape: tuple, stride, padding, dilation) -> tuple[tuple, tuple, Pads]:
    """Validate stride / dilation / padding; return (stride, dilation, ((top, bottom), (left, right)))."""
    stride_t = per_axis(stride, 2, "stride")
    dil_t = per_axis(dilation, 2, "dilation")
    if isinstance(padding, str):
        if padding == "valid":
            pads: Pads = ((0, 0), (0, 0))
        elif padding == "same":
            if stride_t != (1, 1):
                raise ValueError(f"padding='same' needs stride 1 (as torch), got stride={stride!r}")
            total = [d * (k - 1) for d, k in zip(dil_t, w_shape[2:])]
            pads = tuple((t // 2, t - t // 2) for t in total)  # type: ignore[assignment]
        else:
            raise ValueError(f"padding must be an int, a pair of ints, 'valid' or 'same'; got {padding!r}")
    else:
        p = per_axis(padding, 2, "padding", minimum=0)
        pads = ((p[0], p[0]), (p[1], p[1]))
    for ax, (k, d, (lo, hi)) in enumerate(zip(w_shape[2:], dil_t, pads)):
        span = d * (k - 1) + 1
        if span > x_shape[2 + ax] + lo + hi:
            raise ValueError(f"kernel extent {span} (size {k}, dilation {d}) is larger than the padded "
                             f"input ({x_shape[2 + ax]} + {lo + hi}) along axis {2 + ax}")
    return stride_t, dil_t, pads


def _out_hw(hw: tuple, k: tuple, stride: tuple, dil: tuple, pads: Pads) -> tuple[int, int]:
    """Output height and width."""
    return tuple((n + lo + hi - d * (kk - 1) - 1) // s + 1  # type: ignore[return-value]
                 for n, kk, s, d, (lo, hi) in zip(hw, k, stride, dil, pads))


def _chunk(n: int, bytes_per_sample: int) -> int:
    """Samples per chunk so one chunk's column matrix stays under _CHUNK_BYTES."""
    return max(1, min(n, _CHUNK_BYTES // max(1, bytes_per_sample)))


class _Scratch:
    """Named work arrays kept from one call to the next (a Conv2D layer owns one).

    A training step then writes into memory that is already mapped instead of faulting in
    fresh pages, which on this machine class costs more than the arithmetic at LeNet sizes
    (~2.5 us per 4 KiB page). Arrays handed back to callers are never scratch."""

    def __init__(self) -> None:
        self._arrays: dict = {}

    def get(self, name, shape: tuple, dtype: np.dtype) -> np.ndarray:
        """An uninitialised array of `shape` stored under `name` (grown when too small)."""
        size = math.prod(shape)
        buf = self._arrays.get(name)
        if buf is None or buf.dtype != dtype or buf.size < size:
            buf = np.empty(size, dtype=dtype)
            self._arrays[name] = buf
        return buf[:size].reshape(shape)


def _empty(scratch: _Scratch | None, name, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """A work array: from `scratch` when there is one, else freshly allocated."""
    return np.empty(shape, dtype=dtype) if scratch is None else scratch.get(name, shape, dtype)


def _batch_last(wo: int) -> bool:
    """Column layout for output width `wo`: batch innermost when output rows are short."""
    return wo < _BATCH_LAST_BELOW


def _to_batch_last(src: np.ndarray, dst: np.ndarray) -> None:
    """dst[..., n] = src[n, ...], copied a few samples at a time (one whole-array transposing
    copy strides through memory badly: measured 3-4x slower at LeNet sizes)."""
    axes = tuple(range(1, src.ndim)) + (0,)
    for s in range(0, src.shape[0], _TRANSPOSE_BLOCK):
        np.copyto(dst[..., s:s + _TRANSPOSE_BLOCK], src[s:s + _TRANSPOSE_BLOCK].transpose(axes))


def _work_input(xs: np.ndarray, pads: Pads, batch_last: bool, scratch: _Scratch | None) -> np.ndarray:
    """A chunk (n, C, H, W) zero-padded in the work layout (B, C, Hp, Wp, U): (B, U) is (1, n)
    with the batch innermost, else (n, 1) (then, without padding, a view of the chunk)."""
    n, c, h, w = xs.shape
    (t, b), (l, r) = pads
    if not batch_last and not (t or b or l or r):
        return xs[..., None]
    shape = (1, c, h + t + b, w + l + r, n) if batch_last else (n, c, h + t + b, w + l + r, 1)
    work = _empty(scratch, "input", shape, xs.dtype)
    for edge in (np.s_[:, :, :t], np.s_[:, :, t + h:], np.s_[:, :, :, :l], np.s_[:, :, :, l + w:]):
        work[edge] = 0
    inner = work[:, :, t:t + h, l:l + w]
    if batch_last:
        _to_batch_last(xs, inner[0])
    else:
        np.copyto(inner[..., 0], xs)
    return work


def _im2col(work: np.ndarray, k: tuple, stride: tuple, dil: tuple, out: np.ndarray) -> np.ndarray:
    """Columns of a work-layout chunk into `out` (B, K or K+1, Ho*Wo*U), K = C*kh*kw rows ordered
    (c, i, j) like the weight, so one GEMM (per B) serves the forward and the weight gradient.
    A row K, if `out` has one, is set to ones: the bias rides along in the same products."""
    win = sliding_windows(work, k, stride=stride, dilation=dil, axes=(2, 3))   # (B, C, Ho, Wo, U, kh, kw)
    bb, c, ho, wo, u = win.shape[:5]
    rows = c * k[0] * k[1]
    np.copyto(out[:, :rows].reshape(bb, c, k[0], k[1], ho, wo, u), win.transpose(0, 1, 5, 6, 2, 3, 4))
    if out.shape[1] > rows:
        out[:, rows] = 1
    return out


def _result_dtype(*arrays: np.ndarray) -> np.dtype:
    """Float result dtype: float inputs keep their precision, integers become float64."""
    dt = np.result_type(*arrays)
    return dt if dt.kind in "fc" else np.dtype(np.float64)


def conv2d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, *,
           stride: int | Sequence[int] = 1, padding: int | Sequence[int] | str = 0,
           dilation: int | Sequence[int] = 1) -> np.ndarray:
    """Batched multi-channel 2-D cross-correlation, as ``torch.nn.functional.conv2d``.

    Parameters
    ----------
    x : array_like of shape (N, C, H, W)
        Batch of C-channel images.
    weight : array_like of shape (F, C, kh, kw)
        F filters, each spanning all C input channels.
    bias : array_like of shape (F,), optional
        Added to every output cell of filter f.
    stride : int or (int, int), optional
        Step between windows (rows, columns).
    padding : int, (int, int), "valid" or "same", optional
        Zeros added on both sides of each spatial axis. "same" keeps H x W
        (stride 1 only; an odd total goes to the bottom/right, as torch).
    dilation : int or (int, int), optional
        Spacing between kernel taps.

    Returns
    -------
    out : ndarray of shape (N, F, Ho, Wo)
        ``Ho = (H + 2*ph - dh*(kh-1) - 1) // sh + 1`` and likewise Wo. Float
        inputs keep their dtype (the wider of x and weight); integers give float64.

    Raises
    ------
    ValueError
        Wrong number of dimensions, channel mismatch, bad bias shape, bad
        padding value, a kernel larger than the padded input.

    Notes
    -----
    ``out[n, f, i, j] = bias[f] + sum_{c, u, v} weight[f, c, u, v] *
    xp[n, c, i*sh + u*dh, j*sw + v*dw]`` with ``xp`` the zero-padded input
    (no kernel flip: the kernel is laid over each window as written).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> conv2d(x, np.ones((1, 1, 2, 2)), stride=2)
    array([[[[10., 18.],
             [42., 50.]]]])
    """
    x = np.asarray(x)
    weight = np.asarray(weight)
    if x.ndim != 4:
        raise ValueError(f"x must be 4-D (N, C, H, W), got shape {x.shape}")
    if weight.ndim != 4:
        raise ValueError(f"weight must be 4-D (F, C, kh, kw), got shape {weight.shape}")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"weight has {weight.shape[1]} input channels but x has {x.shape[1]} "
                         f"(x shape {x.shape}, weight shape {weight.shape})")
    if bias is not None:
        bias = np.asarray(bias)
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"bias must have shape ({weight.shape[0]},), got {bias.shape}")
    stride_t, dil_t, pads = _geometry(x.shape, weight.shape, stride, padding, dilation)
    dtype = _result_dtype(x, weight) if bias is None else _result_dtype(x, weight, bias)
    out, _ = _conv2d_forward(x.astype(dtype, copy=False), weight.astype(dtype, copy=False),
                             None if bias is None else bias.astype(dtype, copy=False),
                             stride_t, pads, dil_t)
    return out


def _conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: tuple,
                    pads: Pads, dil: tuple, *, keep_cols: bool = False, scratch: _Scratch | None = None,
                    out: np.ndarray | None = None):
    """Trusting engine: (out, cols or None); cols (list of per-chunk column arrays) feed backward.

    Long output rows: columns per sample (n, K, Ho*Wo) and one product per sample, written
    straight into the output. Short rows: the batch innermost (1, K, Ho*Wo*n), one product
    per chunk, then one transposing copy. With a bias the columns carry a row of ones and the
    weight matrix the bias column. `scratch`: work arrays to reuse; the kept cols then live in
    it too and are overwritten by the next call that keeps cols (a Conv2D layer's next training
    forward). `out`: where to write the result (N, F, Ho, Wo), else a fresh array."""
    n, c, h, w = x.shape
    f = weight.shape[0]
    k = weight.shape[2:]
    ho, wo = _out_hw((h, w), k, stride, dil, pads)
    last = _batch_last(wo)
    wmat = weight.reshape(f, -1)                                     # (F, K)
    if bias is not None:
        wmat = np.concatenate([wmat, bias[:, None]], axis=1)         # (F, K+1)
    if out is None:
        out = np.empty((n, f, ho, wo), dtype=x.dtype)
    step = _chunk(n, wmat.shape[1] * ho * wo * x.dtype.itemsize)
    kept = []
    for i, s in enumerate(range(0, n, step)):
        xs = x[s:s + step]
        m = xs.shape[0]
        shape = (1, wmat.shape[1], ho * wo * m) if last else (m, wmat.shape[1], ho * wo)
        cols = _im2col(_work_input(xs, pads, last, scratch), k, stride, dil,
                       _empty(scratch, ("cols", i) if keep_cols else "cols", shape, x.dtype))
        if last:
            res = np.matmul(wmat, cols[0], out=_empty(scratch, "res", (f, ho * wo * m), x.dtype))
            np.copyto(out[s:s + m], res.reshape(f, ho, wo, m).transpose(3, 0, 1, 2))
        else:
            np.matmul(wmat, cols, out=out[s:s + m].reshape(m, f, ho * wo))
        if keep_cols:
            kept.append(cols)
    return out, (kept if keep_cols else None)
