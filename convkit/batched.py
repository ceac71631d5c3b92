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

from ._engine.conv2d import conv2d_grouped_forward, geometry, result_dtype
from .boundary import normalize_boundary

__all__ = ["conv2d"]


def conv2d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, *,
           stride: int | Sequence[int] = 1, padding: int | Sequence[int] | str = 0,
           dilation: int | Sequence[int] = 1, groups: int = 1, boundary: str = "constant") -> np.ndarray:
    """Batched multi-channel 2-D cross-correlation, as ``torch.nn.functional.conv2d``.

    Parameters
    ----------
    x : array_like of shape (N, C, H, W)
        Batch of C-channel images.
    weight : array_like of shape (F, C/groups, kh, kw)
        F filters, each spanning the C/groups input channels of its group.
    bias : array_like of shape (F,), optional
        Added to every output cell of filter f.
    stride : int or (int, int), optional
        Step between windows (rows, columns).
    padding : int, (int, int), "valid" or "same", optional
        Cells added on both sides of each spatial axis (filled as `boundary`
        says). "same" keeps H x W (stride 1 only; an odd total goes to the
        bottom/right, as torch).
    dilation : int or (int, int), optional
        Spacing between kernel taps.
    groups : int, optional
        Split the C input channels and the F filters into this many groups;
        group g convolves its C/groups channels with its F/groups filters
        (torch's ``groups=``; groups = C = F is depthwise convolution).
    boundary : str, optional
        How the padding is filled: any convkit boundary mode (constant =
        zeros, reflect, mirror, nearest, wrap or an alias). torch's
        ``padding_mode`` reflect is convkit ``mirror``, replicate is
        ``nearest``, circular is ``wrap``.

    Returns
    -------
    out : ndarray of shape (N, F, Ho, Wo)
        ``Ho = n_windows(H, kh, stride=sh, dilation=dh, pad=2*ph)`` and likewise Wo. Float
        inputs keep their dtype (the wider of x and weight); integers give float64.

    Raises
    ------
    ValueError
        Wrong number of dimensions, channel mismatch, bad bias shape, bad
        padding value, a kernel larger than the padded input, groups that do
        not divide C and F, an unknown boundary.

    Notes
    -----
    ``out[n, f, i, j] = bias[f] + sum_{c, u, v} weight[f, c, u, v] *
    xp[n, g*C/G + c, i*sh + u*dh, j*sw + v*dw]`` with ``xp`` the padded input,
    ``g = f // (F/G)`` the group of filter f and ``c < C/G`` (no kernel flip:
    the kernel is laid over each window as written).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> conv2d(x, np.ones((1, 1, 2, 2)), stride=2)
    array([[[[10., 18.],
             [42., 50.]]]])
    >>> conv2d(np.arange(3.0).reshape(1, 1, 1, 3), np.ones((1, 1, 1, 3)), padding=(0, 1), boundary="wrap")
    array([[[[3., 3., 3.]]]])
    >>> conv2d(np.ones((1, 2, 2, 2)), np.ones((2, 1, 1, 1)), groups=2).shape   # depthwise
    (1, 2, 2, 2)
    """
    x = np.asarray(x)
    weight = np.asarray(weight)
    if x.ndim != 4:
        raise ValueError(f"x must be 4-D (N, C, H, W), got shape {x.shape}")
    if weight.ndim != 4:
        raise ValueError(f"weight must be 4-D (F, C, kh, kw), got shape {weight.shape}")
    groups = check_groups(groups, x.shape[1], weight.shape[0])
    if weight.shape[1] * groups != x.shape[1]:
        raise ValueError(f"weight has {weight.shape[1]} input channels per group ({groups} groups) but x has "
                         f"{x.shape[1]} (x shape {x.shape}, weight shape {weight.shape})")
    mode = normalize_boundary(boundary)
    if bias is not None:
        bias = np.asarray(bias)
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"bias must have shape ({weight.shape[0]},), got {bias.shape}")
    stride_t, dil_t, pads = geometry(x.shape, weight.shape, stride, padding, dilation)
    dtype = result_dtype(x, weight) if bias is None else result_dtype(x, weight, bias)
    out, _ = conv2d_grouped_forward(x.astype(dtype, copy=False), weight.astype(dtype, copy=False),
                                    None if bias is None else bias.astype(dtype, copy=False),
                                    stride_t, pads, dil_t, groups, mode)
    return out


def check_groups(groups: int, in_channels: int, out_channels: int) -> int:
    """`groups` as an int >= 1 that divides both channel counts, else ValueError."""
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"groups must be an int >= 1, got {groups!r}")
    if in_channels % groups or out_channels % groups:
        raise ValueError(f"groups={groups} must divide the input channels ({in_channels}) and the "
                         f"filters ({out_channels})")
    return int(groups)
