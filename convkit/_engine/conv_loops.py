"""The batched convolution in cache-sized groups of samples: compiled transforms (numba) around BLAS.

A CNN's convolution is bound by memory traffic as much as by arithmetic: a
column matrix the size of the batch (29 MB for 32 x 32 x 28 x 28 float32 with
3 x 3 filters) is written, read back by the product, kept for the backward
pass and read again there. Here the batch goes through in *groups* of
samples whose work arrays fit in half of a core's L2 cache (`GROUP_BYTES`),
and nothing is kept between the passes:

* 3 x 3, stride 1, at least `WINOGRAD_MIN_CHANNELS` channels (most of a CNN's
  arithmetic): Winograd's F(2x2, 3x3). Each 4 x 4 input tile becomes 16
  numbers (adds only), one product per tile position with the transformed
  filters (16 products of F x C by C x tiles, 2.25x fewer multiplications than
  the columns), and 2 x 2 outputs come back by adds. The input gradient is the
  same algorithm on the output gradient with the flipped, transposed filters;
  the weight gradient is F(3x3, 2x2): the output gradient's 2 x 2 tiles
  against the input's tiles, summed over tile positions by the same 16
  products.
* Other shapes: a group's columns built straight from the zero-padded input,
  one product per sample; the backward pass rebuilds them (cheaper than
  reading them back from memory), contracts them with the output gradient,
  then reuses their buffer for the columns' gradient and adds it back into
  dL/dx (col2im).

Groups run on convkit's pool, BLAS on one thread each. Each group's weight
gradient is its own product; they are added in group order, and the groups
depend only on the shapes, so results do not depend on the thread count.
Measured on 32 x 32 x 28 x 28 float32, 3 x 3, 32 filters, one core: forward
6.3 -> 4.5 ms, forward + backward 17.1 -> 14.6 ms (whole-batch columns kept ->
this); two cores 13.8 -> 7.9 ms. Without numba `available()` is False and
`convkit._engine.conv2d` keeps its numpy im2col.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from .compiled import CompiledKernels, numba_jit
from .scratch import thread_slot, work_array
from .threads import blas_threads, parallel_map, spare_cores, thread_count

__all__ = ["available", "takes", "GROUP_BYTES", "MIN_GROUPS", "WINOGRAD_MIN_CHANNELS", "group_bounds", "forward", "backward",
           "winograd_filters", "winograd_fits"]

# column bytes per group: a group's columns (and then their gradient, in the same buffer) stay
# in L2 (2 MiB per core here) while BLAS reads them
GROUP_BYTES = 1 << 20
# groups a batch is cut into at least (when it has that many samples)
MIN_GROUPS = 4
# multiply-adds (counted as columns) below which a call is one group (on the calling thread):
# cutting and handing groups costs more than it saves there (measured in one process, MNIST-1D's
# layers of 4M: a step 2.64 -> 2.38 ms with 16M; Fashion-MNIST's first layer of 8M: no change)
PARALLEL_MIN = 16_000_000
# multiply-adds from which a call's groups go to the pool: below, a hand-off to a core another
# process keeps busy waits for the scheduler longer than the work takes (the digits' 8 x 8 maps)
POOL_MIN = 32_000_000
# input channels from which a 3 x 3 convolution goes through Winograd's tiles
WINOGRAD_MIN_CHANNELS = 4
# output positions per sample from which it does (measured on the digits network's 8 x 8 and 4 x 4
# maps: the columns are faster there; on 14 x 14 and 28 x 28 the tiles)
WINOGRAD_MIN_POSITIONS = 100


def _compile() -> dict[str, Any] | None:
    """The numba loops, compiled (or loaded from the cache) on first use; None without numba."""
    jit = numba_jit()
    if jit is None:
        return None

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

    @jit
    def wino_in(xp, th, tw, v):   # pragma: no cover - compiled
        """Winograd F(2x2, 3x3) input transform: v[4a + b, c, (s*th + ty)*tw + tx] = (B^T d B)[a, b]
        for the 4 x 4 patch d of xp (m, C, Hp, Wp) at (2ty, 2tx)."""
        m, c_ = xp.shape[0], xp.shape[1]
        for s in range(m):
            for c in range(c_):
                for ty in range(th):
                    base = (s * th + ty) * tw
                    for tx in range(tw):
                        y, x = 2 * ty, 2 * tx
                        d00, d01, d02, d03 = xp[s, c, y, x], xp[s, c, y, x + 1], xp[s, c, y, x + 2], xp[s, c, y, x + 3]
                        d10, d11, d12, d13 = (xp[s, c, y + 1, x], xp[s, c, y + 1, x + 1], xp[s, c, y + 1, x + 2],
                                              xp[s, c, y + 1, x + 3])
                        d20, d21, d22, d23 = (xp[s, c, y + 2, x], xp[s, c, y + 2, x + 1], xp[s, c, y + 2, x + 2],
                                              xp[s, c, y + 2, x + 3])
                        d30, d31, d32, d33 = (xp[s, c, y + 3, x], xp[s, c, y + 3, x + 1], xp[s, c, y + 3, x + 2],
                                              xp[s, c, y + 3, x + 3])
                        # rows: B^T d  (B^T = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]])
                        r00, r01, r02, r03 = d00 - d20, d01 - d21, d02 - d22, d03 - d23
                        r10, r11, r12, r13 = d10 + d20, d11 + d21, d12 + d22, d13 + d23
                        r20, r21, r22, r23 = d20 - d10, d21 - d11, d22 - d12, d23 - d13
                        r30, r31, r32, r33 = d10 - d30, d11 - d31, d12 - d32, d13 - d33
                        q = base + tx
                        # columns: (B^T d) B
                        v[0, c, q], v[1, c, q], v[2, c, q], v[3, c, q] = r00 - r02, r01 + r02, r02 - r01, r01 - r03
                        v[4, c, q], v[5, c, q], v[6, c, q], v[7, c, q] = r10 - r12, r11 + r12, r12 - r11, r11 - r13
                        v[8, c, q], v[9, c, q], v[10, c, q], v[11, c, q] = r20 - r22, r21 + r22, r22 - r21, r21 - r23
                        v[12, c, q], v[13, c, q], v[14, c, q], v[15, c, q] = r30 - r32, r31 + r32, r32 - r31, r31 - r33

    @jit
    def wino_out(mm, th, tw, bias, s0, out):   # pragma: no cover - compiled
        """Winograd F(2x2, 3x3) output transform: out[s0 + s, f, 2ty:2ty+2, 2tx:2tx+2] = A^T M A
        + bias[f] for each tile of mm (16, F, m*th*tw), cut to out's (Ho, Wo)."""
        s0 = max(s0, 0)
        f_ = mm.shape[1]
        m = mm.shape[2] // (th * tw)
        ho, wo = out.shape[2], out.shape[3]
        for s in range(m):
            for f in range(f_):
                bf = bias[f]
                for ty in range(th):
                    base = (s * th + ty) * tw
                    y = 2 * ty
                    for tx in range(tw):
                        q = base + tx
                        # rows: A^T M  (A^T = [[1,1,1,0],[0,1,-1,-1]])
                        t00 = mm[0, f, q] + mm[4, f, q] + mm[8, f, q]
                        t01 = mm[1, f, q] + mm[5, f, q] + mm[9, f, q]
                        t02 = mm[2, f, q] + mm[6, f, q] + mm[10, f, q]
                        t03 = mm[3, f, q] + mm[7, f, q] + mm[11, f, q]
                        t10 = mm[4, f, q] - mm[8, f, q] - mm[12, f, q]
                        t11 = mm[5, f, q] - mm[9, f, q] - mm[13, f, q]
                        t12 = mm[6, f, q] - mm[10, f, q] - mm[14, f, q]
                        t13 = mm[7, f, q] - mm[11, f, q] - mm[15, f, q]
                        x = 2 * tx
                        out[s0 + s, f, y, x] = t00 + t01 + t02 + bf
                        if x + 1 < wo:
                            out[s0 + s, f, y, x + 1] = t01 - t02 - t03 + bf
                        if y + 1 < ho:
                            out[s0 + s, f, y + 1, x] = t10 + t11 + t12 + bf
                            if x + 1 < wo:
                                out[s0 + s, f, y + 1, x + 1] = t11 - t12 - t13 + bf

    @jit
    def wino_grad(g, s0, s1, th, tw, gt):   # pragma: no cover - compiled
        """Winograd F(3x3, 2x2) transform of output-gradient tiles (for the weight gradient):
        gt[4a + b, f, (s*th + ty)*tw + tx] = (A h A^T)[a, b] for the 2 x 2 tile h of
        g[s0 + s, f] at (2ty, 2tx), zero past g's edge (A = [[1,0],[1,1],[1,-1],[0,-1]])."""
        _, f_, ho, wo = g.shape
        s0 = max(s0, 0)
        for s in range(s1 - s0):
            for f in range(f_):
                for ty in range(th):
                    base = (s * th + ty) * tw
                    y = 2 * ty
                    for tx in range(tw):
                        x = 2 * tx
                        h00 = g[s0 + s, f, y, x]
                        h01 = g[s0 + s, f, y, x + 1] if x + 1 < wo else 0 * h00
                        h10 = g[s0 + s, f, y + 1, x] if y + 1 < ho else 0 * h00
                        h11 = g[s0 + s, f, y + 1, x + 1] if (x + 1 < wo and y + 1 < ho) else 0 * h00
                        q = base + tx
                        # rows: A h, then columns: (A h) A^T
                        a0, b0 = h00, h01
                        a1, b1 = h00 + h10, h01 + h11
                        a2, b2 = h00 - h10, h01 - h11
                        a3, b3 = -h10, -h11
                        gt[0, f, q], gt[1, f, q], gt[2, f, q], gt[3, f, q] = a0, a0 + b0, a0 - b0, -b0
                        gt[4, f, q], gt[5, f, q], gt[6, f, q], gt[7, f, q] = a1, a1 + b1, a1 - b1, -b1
                        gt[8, f, q], gt[9, f, q], gt[10, f, q], gt[11, f, q] = a2, a2 + b2, a2 - b2, -b2
                        gt[12, f, q], gt[13, f, q], gt[14, f, q], gt[15, f, q] = a3, a3 + b3, a3 - b3, -b3

    @jit
    def tiles_of(src, s0, s1, top, left, th, tw, xp, v):   # pragma: no cover - compiled
        """`wino_in` of samples [s0, s1) of src zero-padded into xp (`pad_group`): one call."""
        pad_group(src, s0, s1, top, left, xp)
        wino_in(xp, th, tw, v)

    return {"tiles_of": tiles_of, "wino_grad": wino_grad, "wino_in": wino_in, "wino_out": wino_out, "pad_group": pad_group,
            "im2col": im2col, "col2im": col2im, "unpad_group": unpad_group}


_KERNELS = CompiledKernels(_compile)


def available() -> bool:
    """Whether the compiled loops can be used (numba imports)."""
    return _KERNELS.available()


def takes(dtype: np.dtype) -> bool:
    """Whether the compiled engine takes arrays of `dtype` (numba has no float16)."""
    return np.dtype(dtype) in _DTYPES and available()


_DTYPES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.complex64, np.complex128))


def _k(name: str) -> Any:
    return _KERNELS[name]


def _run_groups(fn, count: int, multiply_adds: int) -> None:
    """fn(i) for each group, on convkit's pool with BLAS on one thread each (the groups are the
    parallel work). A call below POOL_MIN multiply-adds runs its groups on the calling thread and
    leaves BLAS alone: handing groups to the pool (~30-60 us, more when another process keeps a
    core busy) and switching BLAS (~10 us) cost more than they save there, and its products are
    below OpenBLAS's own threading size. (How the batch is cut into groups depends on
    PARALLEL_MIN, not on this: the sums stay the same.)"""
    if multiply_adds < POOL_MIN:
        for i in range(count):
            fn(i)
        return
    with blas_threads(1):
        parallel_map(fn, range(count), spare_cores(thread_count(None)))


def group_bounds(n: int, rows: int, positions: int, itemsize: int, parallel: bool = True) -> list[tuple[int, int]]:
    """(start, stop) of each group of a batch of `n`: at most as many samples as keep a group's
    columns (`rows` x `positions` per sample) within GROUP_BYTES, at least one; for a `parallel`
    call a multiple of MIN_GROUPS groups (when the batch has that many samples), so one, two or
    four threads share them evenly; sizes differ by one at most. Depends on the shapes only, not
    on the thread count: so do the sums."""
    per = max(1, GROUP_BYTES // max(1, rows * positions * itemsize))
    count = -(-n // per)
    if parallel:
        count = min(n, -(-count // MIN_GROUPS) * MIN_GROUPS)
    return [(n * i // count, n * (i + 1) // count) for i in range(count)]


def _padded_group(x: np.ndarray, s0: int, s1: int, pads, tmp) -> np.ndarray:
    """Samples [s0, s1) of x zero-padded by `pads` (a view of x when there is no padding)."""
    (t, b), (l, r) = pads
    if not (t or b or l or r):
        return x[s0:s1]
    _, c, h, w = x.shape
    xp = work_array(tmp, "group input", (s1 - s0, c, h + t + b, w + l + r), x.dtype)
    _k("pad_group")(x, s0, s1, t, l, xp)
    return xp


def winograd_fits(kernel: tuple, stride: tuple, dil: tuple, pads, channels: int, positions: int) -> bool:
    """Whether Winograd F(2x2, 3x3) takes a convolution: 3 x 3, stride 1, no dilation, at least
    WINOGRAD_MIN_CHANNELS input channels (below, the column product is already small), at least
    WINOGRAD_MIN_POSITIONS output positions per sample (below, the transforms cost more than
    they save: the digits' 8 x 8 maps) and padding at most 2 on each side (the input gradient is
    then a padded convolution too)."""
    return (tuple(kernel) == (3, 3) and tuple(stride) == (1, 1) and tuple(dil) == (1, 1)
            and channels >= WINOGRAD_MIN_CHANNELS and positions >= WINOGRAD_MIN_POSITIONS
            and all(0 <= v <= 2 for pair in pads for v in pair))


def winograd_filters(weight: np.ndarray) -> np.ndarray:
    """The filters (F, C, 3, 3) in the Winograd domain, (16, F, C): G g G^T per (f, c), all of
    them as one product with G (x) G (16 x 9; one BLAS call instead of one per filter: 30 us
    for 64 x 32 filters, the stacked 4 x 3 products took 230)."""
    f, c = weight.shape[:2]
    return np.matmul(_winograd_gg(weight.dtype), weight.reshape(f * c, 9).T).reshape(16, f, c)


@lru_cache(maxsize=8)
def _winograd_gg(dtype: np.dtype) -> np.ndarray:
    """G (x) G (16 x 9): row 4a + b, column 3i + j holds G[a, i] G[b, j]."""
    g = _winograd_g(dtype)
    gg = np.kron(g, g)
    gg.flags.writeable = False
    return gg


def _winograd_g(dtype: np.dtype) -> np.ndarray:
    """F(2x2, 3x3)'s filter transform G (4 x 3)."""
    return np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=dtype)


def _winograd_group(src: np.ndarray, s0: int, s1: int, u: np.ndarray, top: int, left: int,
                    bias: np.ndarray, out: np.ndarray, tmp) -> None:
    """out[s0:s1] = samples [s0, s1) of src (N, C, H, W), zero-padded by `top` / `left` (and as
    much as the tiles need below and right), correlated with the 3 x 3 filters whose Winograd
    form is u (16, F, C), plus bias: tiles of 2 x 2 outputs, one product per tile position."""
    m, c = s1 - s0, src.shape[1]
    ho, wo = out.shape[2:]
    th, tw = -(-ho // 2), -(-wo // 2)
    xp = work_array(tmp, "tile input", (m, c, 2 * th + 2, 2 * tw + 2), src.dtype)
    v = work_array(tmp, "tiles", (16, c, m * th * tw), src.dtype)
    _k("tiles_of")(src, s0, s1, top, left, th, tw, xp, v)
    mm = np.matmul(u, v, out=work_array(tmp, "tile products", (16, u.shape[1], m * th * tw), src.dtype))
    _k("wino_out")(mm, th, tw, bias, s0, out)


def _winograd_weight_grad(x: np.ndarray, grad: np.ndarray, s0: int, s1: int, top: int, left: int,
                          tmp) -> np.ndarray:
    """The Winograd-domain weight gradient (16, F, C) of samples [s0, s1): the input's tiles (as in
    `_winograd_group`) contracted with the output gradient's 2 x 2 tiles over every tile position;
    `winograd_weight_grad` turns the sum over groups into (F, C, 3, 3)."""
    m, c = s1 - s0, x.shape[1]
    f, ho, wo = grad.shape[1:]
    th, tw = -(-ho // 2), -(-wo // 2)
    xp = work_array(tmp, "tile input", (m, c, 2 * th + 2, 2 * tw + 2), x.dtype)
    v = work_array(tmp, "tiles", (16, c, m * th * tw), x.dtype)
    _k("tiles_of")(x, s0, s1, top, left, th, tw, xp, v)
    gt = work_array(tmp, "gradient tiles", (16, f, m * th * tw), x.dtype)
    _k("wino_grad")(grad, s0, s1, th, tw, gt)
    return np.matmul(gt, v.transpose(0, 2, 1))                     # (16, F, C)


def winograd_weight_grad(total: np.ndarray) -> np.ndarray:
    """(F, C, 3, 3) from the summed Winograd-domain weight gradient (16, F, C): G^T S G per (f, c),
    as one product with (G (x) G)^T."""
    f, c = total.shape[1:]
    return np.ascontiguousarray(np.matmul(_winograd_gg(total.dtype).T, total.reshape(16, f * c)).T).reshape(f, c, 3, 3)


def _winograd_bounds(n: int, channels_in: int, channels_out: int, hw: tuple, itemsize: int,
                     parallel: bool) -> list:
    """Groups for `_winograd_group`: its tiles and products (16 values per 2 x 2 outputs) per sample."""
    tiles = -(-hw[0] // 2) * -(-hw[1] // 2)
    return group_bounds(n, 16 * (channels_in + channels_out), tiles, itemsize, parallel)


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
    work = f * rows * n * p                                          # multiply-adds, as columns
    if winograd_fits(weight.shape[2:], stride, dil, pads, x.shape[1], p):
        u = winograd_filters(weight)
        b = np.zeros(f, x.dtype) if bias is None else bias
        wbounds = _winograd_bounds(n, x.shape[1], f, (ho, wo), x.dtype.itemsize, work >= PARALLEL_MIN)

        def tiles(i: int) -> None:
            tmp = None if scratch is None else scratch.slot(thread_slot())
            s0, s1 = wbounds[i]
            _winograd_group(x, s0, s1, u, pads[0][0], pads[1][0], b, out, tmp)

        _run_groups(tiles, len(wbounds), work)
        return
    bounds = group_bounds(n, rows, p, x.dtype.itemsize, work >= PARALLEL_MIN)
    build = _k("im2col")
    flat = out.reshape(n, f, p)

    def run(i: int) -> None:
        s0, s1 = bounds[i]
        tmp = None if scratch is None else scratch.slot(thread_slot())
        cols = work_array(tmp, "group cols", (s1 - s0, rows, p), x.dtype)
        build(_padded_group(x, s0, s1, pads, tmp), *geo, cols)
        np.matmul(wmat, cols, out=flat[s0:s1])                      # one product per sample

    _run_groups(run, len(bounds), work)


def backward(grad: np.ndarray, weight: np.ndarray, x: np.ndarray, stride: tuple, pads, dil: tuple, *,
             need_bias: bool, need_input: bool, dx: np.ndarray | None, scratch) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of `forward` for contiguous grad (N, F, Ho, Wo): returns (dL/dweight (F, C, kh, kw),
    dL/dbias (F,) or zeros) and writes dL/dx into `dx` (N, C, H, W) when `need_input`.

    dL/dweight: for Winograd-sized convolutions, the input's tiles contracted with the output
    gradient's tiles (`_winograd_weight_grad`); otherwise a group's columns rebuilt from x and
    contracted with its output gradient sample by sample. dL/dx: Winograd again when it fits
    (the output gradient padded by 2 - pad, correlated with the flipped, transposed filters), else
    the columns' gradient (in the columns' buffer) added back by col2im."""
    n, f, ho, wo = grad.shape
    _, c, h, w = x.shape
    p = ho * wo
    K = weight[0].size
    rows = K + need_bias
    geo = tuple(weight.shape[2:]) + tuple(stride) + tuple(dil) + (ho, wo)
    (t, b), (l, r) = pads
    padded = bool(t or b or l or r)
    build, fold, unpad = _k("im2col"), _k("col2im"), _k("unpad_group")
    tiles_w = winograd_fits(weight.shape[2:], stride, dil, pads, c, p)
    tiles_x = need_input and winograd_fits(weight.shape[2:], stride, dil, pads, f, h * w)
    if tiles_x:
        u_back = winograd_filters(np.ascontiguousarray(weight.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]))
        zero = np.zeros(c, grad.dtype)
    wt = weight.reshape(f, K).T                                      # (K, F), no copy
    gflat = grad.reshape(n, f, p)
    work = f * rows * n * p * (1 + need_input)
    if need_input and dx is None:
        raise ValueError("conv_loops.backward needs dx (N, C, H, W) to write dL/dx into")
    if tiles_w:
        bounds = _winograd_bounds(n, c, f, (ho, wo), grad.dtype.itemsize, work >= PARALLEL_MIN)
    else:
        bounds = group_bounds(n, rows, p, grad.dtype.itemsize, work >= PARALLEL_MIN)
    partial: list = [None] * len(bounds)

    def run(i: int) -> None:
        s0, s1 = bounds[i]
        m = s1 - s0
        tmp = None if scratch is None else scratch.slot(thread_slot())
        g = gflat[s0:s1]                                             # (m, F, P)
        if tiles_w:
            partial[i] = (_winograd_weight_grad(x, grad, s0, s1, t, l, tmp),
                          g.sum(axis=(0, 2)) if need_bias else None)
        else:
            cols = work_array(tmp, "group cols", (m, rows, p), grad.dtype)
            build(_padded_group(x, s0, s1, pads, tmp), *geo, cols)
            prods = np.matmul(cols, g.transpose(0, 2, 1))            # (m, K[+1], F), one per sample
            partial[i] = (prods[0] if m == 1 else prods.sum(axis=0), None)
        if not need_input:
            return
        assert dx is not None                                        # checked above
        if tiles_x:
            _winograd_group(grad, s0, s1, u_back, 2 - t, 2 - l, zero, dx, tmp)
        else:                                                        # the columns' buffer, reused
            dcols = np.matmul(wt, g, out=work_array(tmp, "group cols", (m, K, p), grad.dtype))
            if padded:
                dxp = work_array(tmp, "group input grad", (m, c, h + t + b, w + l + r), grad.dtype)
                fold(dcols, *geo, dxp)
                unpad(dxp, s0, t, l, dx)
            else:
                fold(dcols, *geo, dx[s0:s1])

    _run_groups(run, len(bounds), work)
    total = partial[0][0].copy()
    for part, _ in partial[1:]:                                      # in group order: deterministic
        total += part
    if tiles_w:
        gw = winograd_weight_grad(total)
        gb = np.zeros(f, grad.dtype)
        if need_bias:
            for _, part in partial:
                gb += part
        return gw.astype(grad.dtype, copy=False), gb
    gw = total[:K].T.reshape(weight.shape)
    return gw, (total[K] if need_bias else np.zeros(f, grad.dtype))
