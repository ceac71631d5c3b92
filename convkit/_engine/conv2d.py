"""Batched multi-channel 2-D convolution (what a CNN layer needs): `conv2d` and the forward pass.

`conv2d` is cross-correlation over N x C x H x W batches with F x C x kh x kw
filters, exactly as ``torch.nn.functional.conv2d``. With numba (a dependency)
it runs `convkit._engine.conv_loops`: compiled transforms in cache-sized
groups of samples, Winograd tiles for 3 x 3 filters. The numpy engine here
(kept for when numba cannot load, and checked against it) is im2col over
`convkit.windows.sliding_windows` followed by matrix products, in chunks of
the batch so the column matrix stays small (`CHUNK_BYTES`). Two column
layouts: for long output rows, columns per sample (n, K, Ho*Wo) and one
product per sample written straight into the output; for short rows (where
copying rows of Wo numbers is slow) the batch goes innermost (K, Ho*Wo*n),
one product per chunk, at the price of transposing the input, the output and
its gradient. A bias rides along as a row of ones in the columns.

`Scratch` keeps the work arrays of a Conv2D layer from one step to the
next: fresh pages cost more than the arithmetic here. The gradients are in
`convkit._engine.conv2d_grad`; general N-D convolution (`convolve` / `correlate`)
lives elsewhere.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..boundary import pad
from ..windows import n_windows, per_axis, sliding_windows
from . import conv_loops
from .scratch import Scratch, ScratchSlot, thread_slot, work_array
from .threads import parallel_map, thread_count

__all__ = ["CHUNK_BYTES", "Pads", "Scratch", "thread_slot", "batch_last", "chunk_bounds", "chunk_size", "conv2d_forward",
           "conv2d_grouped_forward", "geometry", "im2col", "out_hw", "pad_input", "result_dtype", "to_batch_last",
           "work_array", "work_input"]

# column-matrix bytes per chunk of the batch: big enough for BLAS, small enough to stay in
# cache (8 MB: a LeNet batch of 64 is one chunk; 32 MB measured ~10% slower per step)
CHUNK_BYTES = 8 * 2**20
# output width below which the columns put the batch innermost, (C, kh, kw, Ho, Wo, N): the
# im2col copy then moves runs of Wo*N numbers instead of Wo (4x faster at Wo = 8), for the price
# of transposing the input, the output and its gradient (at Wo = 24 that price is higher)
_BATCH_LAST_BELOW = 16
# samples per block in the batch-to-last transposing copies
_TRANSPOSE_BLOCK = 8

Pads = tuple[tuple[int, int], tuple[int, int]]


def geometry(x_shape: tuple, w_shape: tuple, stride, padding, dilation,
             axis_names: tuple[str, str] = ("axis 2", "axis 3")) -> tuple[tuple, tuple, Pads]:
    """Validate stride / dilation / padding; return (stride, dilation, ((top, bottom), (left, right))).
    `axis_names`: how errors name the two spatial axes (a 1-D layer's view names its signal)."""
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
                             f"input ({x_shape[2 + ax]} + {lo + hi}) along {axis_names[ax]}")
    return stride_t, dil_t, pads


def out_hw(hw: tuple, k: tuple, stride: tuple, dil: tuple, pads: Pads) -> tuple[int, int]:
    """Output height and width."""
    ho, wo = (n_windows(n, kk, stride=s, dilation=d, pad=lo + hi)
              for n, kk, s, d, (lo, hi) in zip(hw, k, stride, dil, pads))
    return ho, wo


def chunk_size(n: int, bytes_per_sample: int) -> int:
    """Samples per chunk so one chunk's column matrix stays under CHUNK_BYTES."""
    return max(1, min(n, CHUNK_BYTES // max(1, bytes_per_sample)))


def chunk_bounds(n: int, bytes_per_sample: int, threads: int) -> list[tuple[int, int]]:
    """(start, stop) of each chunk of a batch of `n`: each under CHUNK_BYTES of columns and, with
    several threads, at least two chunks per thread (when the batch has that many samples), so a
    thread slowed by another process takes fewer chunks. Depends only on its arguments: the same
    batch and thread count always give the same chunks, hence the same sums."""
    step = chunk_size(n, bytes_per_sample)
    if threads > 1:
        step = min(step, max(1, -(-n // (2 * threads))))
    return [(s, min(n, s + step)) for s in range(0, n, step)]


def run_chunks(fn, count: int) -> None:
    """fn(i) for i in range(count), on convkit's pool when there are several chunks and threads
    (BLAS on one thread meanwhile: the chunks are the parallel work)."""
    parallel_map(fn, range(count), thread_count(None))


def batch_last(wo: int) -> bool:
    """Column layout for output width `wo`: batch innermost when output rows are short."""
    return wo < _BATCH_LAST_BELOW


def to_batch_last(src: np.ndarray, dst: np.ndarray) -> None:
    """dst[..., n] = src[n, ...], copied a few samples at a time (one whole-array transposing
    copy strides through memory badly: measured 3-4x slower at LeNet sizes)."""
    axes = tuple(range(1, src.ndim)) + (0,)
    for s in range(0, src.shape[0], _TRANSPOSE_BLOCK):
        np.copyto(dst[..., s:s + _TRANSPOSE_BLOCK], src[s:s + _TRANSPOSE_BLOCK].transpose(axes))


def work_input(xs: np.ndarray, pads: Pads, batch_last: bool, scratch: Scratch | ScratchSlot | None) -> np.ndarray:
    """A chunk (n, C, H, W) zero-padded in the work layout (B, C, Hp, Wp, U): (B, U) is (1, n)
    with the batch innermost, else (n, 1) (then, without padding, a view of the chunk)."""
    n, c, h, w = xs.shape
    (t, b), (l, r) = pads
    if not batch_last and not (t or b or l or r):
        return xs[..., None]
    shape = (1, c, h + t + b, w + l + r, n) if batch_last else (n, c, h + t + b, w + l + r, 1)
    work = work_array(scratch, "input", shape, xs.dtype)
    for edge in (np.s_[:, :, :t], np.s_[:, :, t + h:], np.s_[:, :, :, :l], np.s_[:, :, :, l + w:]):
        work[edge] = 0
    inner = work[:, :, t:t + h, l:l + w]
    if batch_last:
        to_batch_last(xs, inner[0])
    else:
        np.copyto(inner[..., 0], xs)
    return work


def im2col(work: np.ndarray, k: tuple, stride: tuple, dil: tuple, out: np.ndarray) -> np.ndarray:
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


def result_dtype(*arrays: np.ndarray) -> np.dtype:
    """Float result dtype: float inputs keep their precision, integers become float64."""
    dt = np.result_type(*arrays)
    return dt if dt.kind in "fc" else np.dtype(np.float64)


def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: tuple,
                    pads: Pads, dil: tuple, *, keep_cols: bool = False, scratch: Scratch | None = None,
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
    ho, wo = out_hw((h, w), k, stride, dil, pads)
    if out is None:
        out = np.empty((n, f, ho, wo), dtype=x.dtype)
    if conv_loops.takes(x.dtype):                                    # cache-sized groups, nothing kept
        conv_loops.forward(np.ascontiguousarray(x), weight, bias, stride, pads, dil, ho, wo, out, scratch)
        return out, None
    last = batch_last(wo)
    wmat = weight.reshape(f, -1)                                     # (F, K)
    if bias is not None:
        wmat = np.concatenate([wmat, bias[:, None]], axis=1)         # (F, K+1)
    bounds = chunk_bounds(n, wmat.shape[1] * ho * wo * x.dtype.itemsize, thread_count(None))
    kept: list = [None] * len(bounds)

    def run(i: int) -> None:
        s, e = bounds[i]
        m = e - s
        own = None if scratch is None else scratch.slot(i)
        tmp = None if scratch is None else scratch.slot(thread_slot())
        shape = (1, wmat.shape[1], ho * wo * m) if last else (m, wmat.shape[1], ho * wo)
        # kept columns per chunk under their own name (the backward reads them; an inference
        # forward in between, a validation, must not overwrite them); other columns per thread
        cols = im2col(work_input(x[s:e], pads, last, tmp), k, stride, dil,
                      work_array(own, "kept cols", shape, x.dtype) if keep_cols
                      else work_array(tmp, "cols", shape, x.dtype))
        if last:
            res = np.matmul(wmat, cols[0], out=work_array(tmp, "res", (f, ho * wo * m), x.dtype))
            np.copyto(out[s:e], res.reshape(f, ho, wo, m).transpose(3, 0, 1, 2))
        else:
            np.matmul(wmat, cols, out=out[s:e].reshape(m, f, ho * wo))
        if keep_cols:
            kept[i] = cols

    run_chunks(run, len(bounds))
    return out, (kept if keep_cols else None)


def pad_input(x: np.ndarray, pads: Pads, boundary: str) -> np.ndarray:
    """x (N, C, H, W) extended by `pads` on the spatial axes with a convkit boundary mode."""
    return pad(x, [(0, 0), (0, 0), pads[0], pads[1]], boundary)


def conv2d_grouped_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: tuple,
                           pads: Pads, dil: tuple, groups: int, boundary: str, *, keep_cols: bool = False,
                           scratches: list[Scratch] | None = None) -> tuple[np.ndarray, list | None]:
    """The general case of `conv2d_forward`: `groups` independent convolutions (group g maps input
    channels [g*C/G, (g+1)*C/G) with filters [g*F/G, (g+1)*F/G)), on the input padded by any
    convkit boundary (constant pads stay implicit). Returns (out, per-group cols or None);
    `scratches`: one Scratch per group (kept cols live there)."""
    if boundary != "constant":
        x, pads = pad_input(x, pads, boundary), ((0, 0), (0, 0))
    cg, fg = x.shape[1] // groups, weight.shape[0] // groups
    outs, kept = [], []
    for g in range(groups):
        f = slice(g * fg, (g + 1) * fg)
        out, cols = conv2d_forward(np.ascontiguousarray(x[:, g * cg:(g + 1) * cg]), weight[f],
                                   None if bias is None else bias[f], stride, pads, dil, keep_cols=keep_cols,
                                   scratch=None if scratches is None else scratches[g])
        outs.append(out)
        kept.append(cols)
    return (outs[0] if groups == 1 else np.concatenate(outs, axis=1)), (kept if keep_cols else None)
