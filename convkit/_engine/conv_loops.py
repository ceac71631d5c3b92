"""The batched convolution in cache-sized groups of samples: compiled im2col / col2im (numba) around BLAS.

A CNN's convolution is bound by memory traffic, not arithmetic: a column
matrix the size of the batch (29 MB for 32 x 32 x 28 x 28 float32 with 3 x 3
filters) is written, read back by the product, kept for the backward pass and
read again there. Here the batch goes through in *groups* of samples whose
columns fit in half of a core's L2 cache (`GROUP_BYTES`): a group's columns are
built straight from the unpadded input (zeros where a window leaves it), one
product turns them into the group's output, and nothing is kept: the backward
pass rebuilds a group's columns (cheaper than reading them back from memory),
contracts them with the output gradient for dL/dweight, then reuses the same
buffer for the columns' gradient and adds it back into dL/dx (col2im).

Groups run on convkit's pool, BLAS on one thread each. Each group's weight
gradient is its own product; they are added in group order, and the groups
depend only on the shapes, so results do not depend on the thread count.
Measured on 32 x 32 x 28 x 28 float32, 3 x 3, 32 filters (2 cores, one thread
/ two threads): forward + backward 17.1 / 13.8 ms with whole-chunk columns,
see `benchmarks/bench_cnn_step.py` for the layer and step figures after.
Without numba `available()` is False and `convkit._engine.conv2d` keeps its
numpy im2col.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .scratch import thread_slot, work_array
from .threads import blas_threads, parallel_map, thread_count

__all__ = ["available", "GROUP_BYTES", "group_bounds", "forward", "backward"]

# column bytes per group: a group's columns (and then their gradient, in the same buffer) stay
# in L2 (2 MiB per core here) while BLAS reads them
GROUP_BYTES = 1 << 20
# groups a batch is cut into at least (when it has that many samples)
MIN_GROUPS = 4
_kernels: dict[str, Any] | None = None
_tried = False


def _compile() -> dict[str, Any] | None:
    """The numba loops, compiled (or loaded from the cache) on first use; None without numba."""
    try:
        import numba
    except ImportError:
        return None
    jit = numba.njit(nogil=True, cache=True, boundscheck=False)

    # indices below are kept provably >= 0 (max(..., 0) where a product of arguments appears):
    # numba then drops its negative-index wrap-around and the copies vectorise (measured 4x)

    @jit
    def pad_group(x, s0, s1, pt, pl, xp):   # pragma: no cover - compiled
        """xp (m, C, Hp, Wp) = samples [s0, s1) of x (N, C, H, W), zero-padded: pt rows on top,
        pl columns on the left, the rest of xp's extent below and on the right."""
        _, c_, h, w = x.shape
        pt, pl = max(pt, 0), max(pl, 0)
        for s in range(s1 - s0):
            for c in range(c_):
                xp[s, c] = 0
                for y in range(h):
                    for xx in range(w):
                        xp[s, c, y + pt, xx + pl] = x[s0 + s, c, y, xx]

    @jit
    def im2col(xp, kh, kw, sh, sw, dh, dw, ho, wo, cols):   # pragma: no cover - compiled
        """Columns of a padded group xp (m, C, Hp, Wp) into cols (m, R, ho*wo): sample s, row
        (c*kh + i)*kw + j, position y*wo + xx holds xp[s, c, y*sh + i*dh, xx*sw + j*dw];
        rows past C*kh*kw (a bias row) are ones."""
        m, c_ = xp.shape[0], xp.shape[1]
        sw = max(sw, 1)
        for s in range(m):
            for c in range(c_):
                for i in range(kh):
                    for j in range(kw):
                        r = (c * kh + i) * kw + j
                        jd = max(j * dw, 0)
                        for y in range(ho):
                            row = max(y * sh + i * dh, 0)
                            q = y * wo
                            if sw == 1:
                                for xx in range(wo):
                                    cols[s, r, q + xx] = xp[s, c, row, xx + jd]
                            else:
                                for xx in range(wo):
                                    cols[s, r, q + xx] = xp[s, c, row, xx * sw + jd]
            for r in range(c_ * kh * kw, cols.shape[1]):
                cols[s, r] = 1

    @jit
    def col2im(dcols, kh, kw, sh, sw, dh, dw, ho, wo, dxp):   # pragma: no cover - compiled
        """dxp (m, C, Hp, Wp) = the adjoint of `im2col`: zero, then each entry of dcols
        (m, K, ho*wo) added back to its cell, in a fixed order (s, c, i, j, y, xx)."""
        m, c_ = dxp.shape[0], dxp.shape[1]
        sw = max(sw, 1)
        dxp[:] = 0
        for s in range(m):
            for c in range(c_):
                for i in range(kh):
                    for j in range(kw):
                        r = (c * kh + i) * kw + j
                        jd = max(j * dw, 0)
                        for y in range(ho):
                            row = max(y * sh + i * dh, 0)
                            q = y * wo
                            if sw == 1:
                                for xx in range(wo):
                                    dxp[s, c, row, xx + jd] += dcols[s, r, q + xx]
                            else:
                                for xx in range(wo):
                                    dxp[s, c, row, xx * sw + jd] += dcols[s, r, q + xx]

    @jit
    def unpad_group(dxp, s0, pt, pl, dx):   # pragma: no cover - compiled
        """dx[s0:s0+m] = the part of dxp (m, C, Hp, Wp) inside the padding."""
        m, c_ = dxp.shape[0], dxp.shape[1]
        h, w = dx.shape[2], dx.shape[3]
        pt, pl = max(pt, 0), max(pl, 0)
        for s in range(m):
            for c in range(c_):
                for y in range(h):
                    for xx in range(w):
                        dx[s0 + s, c, y, xx] = dxp[s, c, y + pt, xx + pl]

    return {"pad_group": pad_group, "im2col": im2col, "col2im": col2im, "unpad_group": unpad_group}


def available() -> bool:
    """Whether the compiled loops can be used (numba imports)."""
    global _kernels, _tried
    if not _tried:
        _kernels, _tried = _compile(), True
    return _kernels is not None


def _k(name: str) -> Any:
    available()
    assert _kernels is not None                                      # callers check available()
    return _kernels[name]


def group_bounds(n: int, rows: int, positions: int, itemsize: int) -> list[tuple[int, int]]:
    """(start, stop) of each group of a batch of `n`: as many samples as keep a group's columns
    (`rows` x `positions` per sample) within GROUP_BYTES, at least one, and at least MIN_GROUPS
    groups (work for two threads, each able to take more than half). Depends on the shapes only,
    not on the thread count: so do the sums."""
    per = max(1, min(GROUP_BYTES // max(1, rows * positions * itemsize), -(-n // MIN_GROUPS)))
    return [(s, min(n, s + per)) for s in range(0, n, per)]


def _padded_group(x: np.ndarray, s0: int, s1: int, pads, tmp) -> np.ndarray:
    """Samples [s0, s1) of x zero-padded by `pads` (a view of x when there is no padding)."""
    (t, b), (l, r) = pads
    if not (t or b or l or r):
        return x[s0:s1]
    _, c, h, w = x.shape
    xp = work_array(tmp, "group input", (s1 - s0, c, h + t + b, w + l + r), x.dtype)
    _k("pad_group")(x, s0, s1, t, l, xp)
    return xp


def forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: tuple, pads, dil: tuple,
            ho: int, wo: int, out: np.ndarray, scratch) -> None:
    """out (N, F, Ho, Wo) = the convolution of contiguous x (N, C, H, W) with weight (F, C, kh, kw)
    and bias, group by group; `scratch` (a `Scratch`) holds each thread's work arrays."""
    n = x.shape[0]
    f = weight.shape[0]
    wmat = weight.reshape(f, -1)
    if bias is not None:
        wmat = np.concatenate([wmat, bias[:, None]], axis=1)         # (F, K+1): a row of ones
    rows, p = wmat.shape[1], ho * wo
    geo = tuple(weight.shape[2:]) + tuple(stride) + tuple(dil) + (ho, wo)
    bounds = group_bounds(n, rows, p, x.dtype.itemsize)
    build = _k("im2col")
    flat = out.reshape(n, f, p)

    def run(i: int) -> None:
        s0, s1 = bounds[i]
        tmp = None if scratch is None else scratch.slot(thread_slot())
        cols = work_array(tmp, "group cols", (s1 - s0, rows, p), x.dtype)
        build(_padded_group(x, s0, s1, pads, tmp), *geo, cols)
        np.matmul(wmat, cols, out=flat[s0:s1])                      # one product per sample

    with blas_threads(1):                # the groups are the parallel work, also on one thread
        parallel_map(run, range(len(bounds)), thread_count(None))


def backward(grad: np.ndarray, weight: np.ndarray, x: np.ndarray, stride: tuple, pads, dil: tuple, *,
             need_bias: bool, need_input: bool, dx: np.ndarray | None, scratch) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of `forward` for contiguous grad (N, F, Ho, Wo): returns (dL/dweight as (K, F)
    rows, dL/dbias (F,) or zeros) and writes dL/dx into `dx` (N, C, H, W) when `need_input`.
    A group's columns are rebuilt from x, contracted with its output gradient sample by sample,
    then their buffer takes the columns' gradient for col2im."""
    n, f, ho, wo = grad.shape
    _, c, h, w = x.shape
    p = ho * wo
    K = weight[0].size
    rows = K + need_bias
    geo = tuple(weight.shape[2:]) + tuple(stride) + tuple(dil) + (ho, wo)
    (t, b), (l, r) = pads
    padded = bool(t or b or l or r)
    bounds = group_bounds(n, rows, p, grad.dtype.itemsize)
    build, fold, unpad = _k("im2col"), _k("col2im"), _k("unpad_group")
    wt = weight.reshape(f, K).T                                      # (K, F), no copy
    gflat = grad.reshape(n, f, p)
    partial: list = [None] * len(bounds)

    def run(i: int) -> None:
        s0, s1 = bounds[i]
        m = s1 - s0
        tmp = None if scratch is None else scratch.slot(thread_slot())
        g = gflat[s0:s1]                                             # (m, F, P)
        cols = work_array(tmp, "group cols", (m, rows, p), grad.dtype)
        build(_padded_group(x, s0, s1, pads, tmp), *geo, cols)
        prods = np.matmul(cols, g.transpose(0, 2, 1))                # (m, K[+1], F), one per sample
        partial[i] = prods[0] if m == 1 else prods.sum(axis=0)
        if need_input:                                               # the columns' buffer, reused
            dcols = np.matmul(wt, g, out=work_array(tmp, "group cols", (m, K, p), grad.dtype))
            if padded:
                dxp = work_array(tmp, "group input grad", (m, c, h + t + b, w + l + r), grad.dtype)
                fold(dcols, *geo, dxp)
                unpad(dxp, s0, t, l, dx)
            else:
                fold(dcols, *geo, dx[s0:s1])

    with blas_threads(1):                # the groups are the parallel work, also on one thread
        parallel_map(run, range(len(bounds)), thread_count(None))
    total = partial[0].copy()
    for part in partial[1:]:                                         # in group order: deterministic
        total += part
    return total[:K], (total[K] if need_bias else np.zeros(f, grad.dtype))
