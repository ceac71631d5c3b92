"""The defining sum of a batched 2-D cross-correlation, with explicit loops: the reference
conv2d and its gradients are tested against (slow, obviously right)."""

import numpy as np

from convkit.windows import per_axis


def conv2d_naive(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None, *,
                  stride: int = 1, padding: int = 0, dilation: int = 1) -> np.ndarray:
    """out[b, o, i, j] = bias[o] + sum over (ch, u, v) of weight[o, ch, u, v] * padded x at the window."""
    sh, sw = per_axis(stride, 2, "stride")
    dh, dw = per_axis(dilation, 2, "dilation")
    ph, pw = per_axis(padding, 2, "padding", minimum=0)
    n, c, h, w = x.shape
    f, _, kh, kw = weight.shape
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=np.float64)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, f, ho, wo))
    for b in range(n):
        for o in range(f):
            for i in range(ho):
                for j in range(wo):
                    total = 0.0 if bias is None else float(bias[o])
                    for ch in range(c):
                        for u in range(kh):
                            for v in range(kw):
                                total += weight[o, ch, u, v] * xp[b, ch, i * sh + u * dh, j * sw + v * dw]
                    out[b, o, i, j] = total
    return out
