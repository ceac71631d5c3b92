"""Batched multi-channel 2-D convolution, as a CNN layer sees it: `conv2d`.

The public face of `convkit._engine.conv2d` (im2col over
`convkit.windows.sliding_windows` plus matrix products, in chunks of the
batch); its gradients are in `convkit._engine.conv2d_grad`. General N-D
convolution (`convolve` / `correlate`) is in `convkit.convolution`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ._engine.conv2d import conv2d_forward, geometry, result_dtype

__all__ = ["conv2d"]


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
        ``Ho = n_windows(H, kh, stride=sh, dilation=dh, pad=2*ph)`` and likewise Wo. Float
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
    stride_t, dil_t, pads = geometry(x.shape, weight.shape, stride, padding, dilation)
    dtype = result_dtype(x, weight) if bias is None else result_dtype(x, weight, bias)
    out, _ = conv2d_forward(x.astype(dtype, copy=False), weight.astype(dtype, copy=False),
                             None if bias is None else bias.astype(dtype, copy=False),
                             stride_t, pads, dil_t)
    return out
