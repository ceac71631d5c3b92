"""Gradients of the batched 2-D convolution (`convkit._engine.conv2d`): what Conv2D.backward calls.

The same machinery as the forward pass run the other way, one pass per chunk
of the batch: the weight (and bias) gradient contracts the output gradient
with the columns the forward pass kept; the input gradient is a col2im done
kernel row by kernel row: one product of the transposed filters with a stack
of shifted copies of the output gradient, added back at each row's offset.
Strided convolutions take a plainer per-tap path. The layers and the public
`conv2d` are elsewhere.
"""

from __future__ import annotations

import numpy as np

from ..boundary import pad_indices
from . import conv_loops
from .conv2d import (Pads, Scratch, ScratchSlot, batch_last, chunk_bounds, im2col, pad_input, run_chunks, thread_slot,
                     to_batch_last, work_array, work_input)
from .threads import thread_count

__all__ = ["conv2d_backward", "conv2d_grad_weight", "conv2d_grad_input", "conv2d_grouped_backward", "unpad_grad"]


def conv2d_backward(grad_out: np.ndarray, weight: np.ndarray, x_shape: tuple, stride: tuple, pads: Pads,
                     dil: tuple, *, x: np.ndarray | None = None, cols: list | None = None,
                     need_weight: bool = True, need_bias: bool = False, need_input: bool = True,
                     scratch: Scratch | None = None, out: np.ndarray | None = None
                     ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """(dL/dweight, dL/dbias, dL/dx), each None unless asked for, chunk by chunk of the batch.

    dweight (and dbias, through the row of ones) contracts the output gradient with the input
    columns (the forward's `cols` when given, else rebuilt from `x`); dx (stride 1) is
    `_fold_input_grad`, strided convolutions go through `_grad_input_strided`. `out`: where to
    write dL/dx (stride 1)."""
    n, f, ho, wo = grad_out.shape
    c = x_shape[1]
    k = weight.shape[2:]
    K = c * k[0] * k[1]
    last = batch_last(wo)
    dtype = grad_out.dtype
    fold = need_input and stride == (1, 1)
    if cols is None and x is not None and conv_loops.takes(dtype):  # cache-sized groups, columns rebuilt
        gx = (np.empty(x_shape, dtype=dtype) if out is None else out) if need_input else None
        gwk, gbk = conv_loops.backward(np.ascontiguousarray(grad_out), weight, np.ascontiguousarray(x), stride,
                                       pads, dil, need_bias=need_bias, need_input=need_input, dx=gx,
                                       scratch=scratch)
        return (gwk if need_weight else None), (gbk if need_bias else None), gx
    gx_fold = (np.empty(x_shape, dtype=dtype) if out is None else out) if fold else None
    if cols is not None:                                             # the forward's chunks
        sizes = [chunk.shape[2] // (ho * wo) if last else chunk.shape[0] for chunk in cols]
        stops = np.cumsum(sizes).tolist()
        bounds = list(zip([0] + stops[:-1], stops))
    else:
        bounds = chunk_bounds(n, (K + need_bias) * ho * wo * dtype.itemsize, thread_count(None))
    partial: list = [None] * len(bounds)                             # each chunk's (K[+1], F) sums

    def run(i: int) -> None:
        s, e = bounds[i]
        m = e - s
        own = None if scratch is None else scratch.slot(i)          # outlives the chunk: its sums
        tmp = None if scratch is None else scratch.slot(thread_slot())
        gs = grad_out[s:e]
        if last:
            g = work_array(tmp, "grad", (1, f, ho, wo, m), dtype)
            to_batch_last(gs, g[0])
        else:
            g = np.ascontiguousarray(gs)[..., None]                  # (m, F, Ho, Wo, 1), no copy
        gq = g.reshape(g.shape[0], f, -1)                            # (B, F, Q)
        if need_weight or need_bias:
            if cols is not None:
                chunk_cols = cols[i]
            elif x is None:
                raise ValueError("conv2d_backward needs the input x or the forward's cols for dL/dweight")
            else:
                shape = (g.shape[0], K + need_bias, gq.shape[2])
                chunk_cols = im2col(work_input(x[s:e], pads, last, tmp), k, stride, dil,
                                    work_array(tmp, "cols", shape, dtype))
            prod = np.matmul(chunk_cols, gq.transpose(0, 2, 1),    # (B, K[+1], F)
                             out=work_array(own, "prod", (g.shape[0],) + chunk_cols.shape[1:2] + (f,), dtype))
            total = prod[0] if prod.shape[0] == 1 else prod.sum(axis=0)
            bias_sum = None
            if need_bias and total.shape[0] <= K:
                bias_sum = gq.sum(axis=(0, 2))
            partial[i] = (total, bias_sum)
        if gx_fold is not None:
            _fold_input_grad(g, weight, x_shape[2:], pads, dil, gx_fold[s:e], tmp)

    run_chunks(run, len(bounds))
    gw = np.zeros((f, K), dtype=dtype) if need_weight else None
    gb = np.zeros(f, dtype=dtype) if need_bias else None
    for part in partial:                                             # in chunk order: deterministic
        if part is None:
            continue
        total, bias_sum = part
        if gw is not None:
            gw += total[:K].T
        if gb is not None:
            gb += total[K] if bias_sum is None else bias_sum
    gx = gx_fold
    if need_input and not fold:
        gx = _grad_input_strided(grad_out, weight, x_shape, stride, pads, dil)
    return (None if gw is None else gw.reshape(weight.shape)), gb, gx


def _fold_input_grad(g: np.ndarray, weight: np.ndarray, hw: tuple, pads: Pads, dil: tuple,
                     out: np.ndarray, scratch: Scratch | ScratchSlot | None) -> None:
    """dL/dx of a stride-1 chunk into `out` (m, C, H, W), from its output gradient `g` in the
    work layout (B, F, Ho, Wo, U): the transposed filters applied to g and added back at each
    tap's offset (col2im without materialising the K x n*P column gradient).

    The gradient is laid out at the padded input's width Wp (zero columns on the right): then tap
    (i, j) adds to the flattened padded plane at offset (i*dh*Wp + j*dw)*U, one contiguous run
    per (B, channel). The kw taps of a kernel row are folded into one product through a stack of
    shifted copies of g; one GEMM (per B) serves all kh rows, then kh adds."""
    bb, f, ho, wo, u = g.shape
    c, (kh, kw) = weight.shape[1], weight.shape[2:]
    (t, b), (l, r) = pads
    h, w = hw
    hp, wp = h + t + b, w + l + r
    length = ho * wp * u
    shift = dil[1] * u                                               # between taps of a kernel row
    width = length + shift * (kw - 1)
    stack = work_array(scratch, "stack", (bb, f, kw, width), g.dtype)    # stack[:, f, j, v] = g[v - j*shift]
    base = stack[:, :, 0, :length].reshape(bb, f, ho, wp, u)
    np.copyto(base[:, :, :, :wo], g)
    base[:, :, :, wo:] = 0
    stack[:, :, 0, length:] = 0
    for j in range(1, kw):
        o = j * shift
        stack[:, :, j, :o] = 0
        np.copyto(stack[:, :, j, o:o + length], stack[:, :, 0, :length])
        stack[:, :, j, o + length:] = 0
    rows = np.ascontiguousarray(weight.transpose(2, 1, 0, 3)).reshape(kh * c, f * kw)
    parts = np.matmul(rows, stack.reshape(bb, f * kw, width),        # one GEMM for all kernel rows
                      out=work_array(scratch, "parts", (bb, kh * c, width), g.dtype)).reshape(bb, kh, c, width)
    row = dil[0] * wp * u                                            # between kernel rows
    gx = work_array(scratch, "gx", (bb, c, hp * wp * u + shift * (kw - 1)), g.dtype)
    np.copyto(gx[:, :, :width], parts[:, 0])
    gx[:, :, width:] = 0
    for i in range(1, kh):
        gx[:, :, i * row:i * row + width] += parts[:, i]
    plane = gx[:, :, :hp * wp * u].reshape(bb, c, hp, wp, u)[:, :, t:t + h, l:l + w]
    if u == 1:
        np.copyto(out, plane[..., 0])
    else:
        np.copyto(out, plane[0].transpose(3, 0, 1, 2))


def conv2d_grad_weight(x: np.ndarray, grad_out: np.ndarray, kernel_size: tuple, stride: tuple,
                        pads: Pads, dil: tuple, cols: list | None = None) -> np.ndarray:
    """dL/dweight (F, C, kh, kw): grad_out contracted with the input windows (cached cols if given)."""
    shape = (grad_out.shape[1], x.shape[1]) + tuple(kernel_size)
    gw = conv2d_backward(grad_out, np.zeros(shape, grad_out.dtype), x.shape, stride, pads, dil, x=x,
                         cols=cols, need_input=False)[0]
    assert gw is not None                                            # asked for
    return gw


def conv2d_grad_input(grad_out: np.ndarray, weight: np.ndarray, input_shape: tuple, stride: tuple,
                       pads: Pads, dil: tuple) -> np.ndarray:
    """dL/dx (N, C, H, W) of a convolution with `weight` (see `conv2d_backward`)."""
    gx = conv2d_backward(grad_out, weight, tuple(input_shape), stride, pads, dil, need_weight=False)[2]
    assert gx is not None                                            # asked for
    return gx


def _grad_input_strided(grad_out: np.ndarray, weight: np.ndarray, input_shape: tuple, stride: tuple,
                        pads: Pads, dil: tuple) -> np.ndarray:
    """Strided case of `conv2d_grad_input`: the same per-tap products, added through strided slices."""
    n, f, ho, wo = grad_out.shape
    _, c, h, w = input_shape
    kh, kw = weight.shape[2:]
    (t, b), (l, r) = pads
    g = grad_out.reshape(n, f, ho * wo)
    taps = np.ascontiguousarray(weight.transpose(2, 3, 1, 0))        # (kh, kw, C, F)
    gx = np.zeros((n, c, h + t + b, w + l + r), dtype=grad_out.dtype)
    for i in range(kh):
        rows = slice(i * dil[0], i * dil[0] + (ho - 1) * stride[0] + 1, stride[0])
        for j in range(kw):
            cols = slice(j * dil[1], j * dil[1] + (wo - 1) * stride[1] + 1, stride[1])
            gx[:, :, rows, cols] += (taps[i, j] @ g).reshape(n, c, ho, wo)
    return gx[:, :, t:t + h, l:l + w]


def unpad_grad(grad: np.ndarray, hw: tuple, pads: Pads, boundary: str) -> np.ndarray:
    """Adjoint of `pad_input`: dL/dx (N, C, H, W) from dL/d(padded x). Every padded cell copies one
    input cell (`pad_indices`), so its gradient adds to that cell: P_h^T @ g @ P_w with one-hot
    (padded, input) matrices P, two small products per axis instead of a scatter."""
    mats = []
    for n, (lo, hi) in zip(hw, pads):
        src = pad_indices(n, lo, hi, boundary)
        onehot = np.zeros((len(src), n), dtype=grad.dtype)
        inside = src >= 0
        onehot[np.flatnonzero(inside), src[inside]] = 1
        mats.append(onehot)
    return np.matmul(np.matmul(mats[0].T, grad), mats[1])


def conv2d_grouped_backward(grad_out: np.ndarray, weight: np.ndarray, x: np.ndarray, stride: tuple, pads: Pads,
                            dil: tuple, groups: int, boundary: str, *, cols: list | None = None,
                            need_bias: bool = False, need_input: bool = True,
                            scratches: list[Scratch] | None = None
                            ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Gradients of `conv2d_grouped_forward`: (dL/dweight, dL/dbias or None, dL/dx or None), group
    by group with `conv2d_backward`, then through the boundary padding (`unpad_grad`)."""
    xin, pads_in = x, pads
    if boundary != "constant":
        xin, pads_in = pad_input(x, pads, boundary), ((0, 0), (0, 0))
    cg, fg = xin.shape[1] // groups, weight.shape[0] // groups
    gws: list[np.ndarray] = []
    gbs: list[np.ndarray] = []
    gxs: list[np.ndarray] = []
    for g in range(groups):
        f = slice(g * fg, (g + 1) * fg)
        xs = xin[:, g * cg:(g + 1) * cg]
        kept = None if cols is None else cols[g]                    # None: the compiled engine keeps none
        gw, gb, gx = conv2d_backward(np.ascontiguousarray(grad_out[:, f]), weight[f], xs.shape, stride, pads_in,
                                     dil, x=None if kept is not None else np.ascontiguousarray(xs),
                                     cols=kept, need_bias=need_bias,
                                     need_input=need_input, scratch=None if scratches is None else scratches[g])
        assert gw is not None                                        # always asked for
        gws.append(gw)
        gbs += [] if gb is None else [gb]
        gxs += [] if gx is None else [gx]
    gw_all = np.concatenate(gws, axis=0)
    gb_all = np.concatenate(gbs) if need_bias else None
    if not need_input:
        return gw_all, gb_all, None
    gx_all = gxs[0] if groups == 1 else np.concatenate(gxs, axis=1)
    if boundary != "constant":
        gx_all = unpad_grad(gx_all, x.shape[2:], pads, boundary)
    return gw_all, gb_all, gx_all
