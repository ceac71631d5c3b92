"""BatchNorm2D: per-channel batch normalisation of N x C x H x W activations (torch semantics).

Training normalises with the batch's own mean and (biased) variance and
updates the running estimates, the running variance with the unbiased
batch variance, exactly as ``torch.nn.BatchNorm2d``; evaluation normalises
with the running estimates. The running statistics are buffers: saved in
model files and checkpoints, restored by early stopping, never optimised.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .._engine import layer_loops
from .layers import Layer, float_dtype

__all__ = ["BatchNorm2D"]


class BatchNorm2D(Layer):
    """Batch normalisation over (N, H, W) for each of C channels.

    Parameters
    ----------
    num_features : int
        C, the number of channels.
    eps : float, optional
        Added to the variance before the square root.
    momentum : float or None, optional
        Weight of the batch statistics in the running update; None keeps a
        cumulative mean over all batches since `reset_running_stats` (what
        `Sequential.update_bn` uses).
    dtype : float32 (default) or float64

    Raises
    ------
    ValueError
        `num_features` < 1, `eps` <= 0 or `momentum` outside [0, 1].

    Notes
    -----
    Training, with ``m = N*H*W`` values per channel::

        mu = mean(x), var = mean((x - mu)**2)
        y = weight * (x - mu) / sqrt(var + eps) + bias
        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var = (1 - momentum) * running_var + momentum * var * m / (m - 1)

    Evaluation: ``y = weight * (x - running_mean) / sqrt(running_var + eps) + bias``.
    Backward (training), with ``xh`` the normalised input and ``d = dL/dy * weight``:
    ``dL/dx = (d - mean(d) - xh * mean(d * xh)) / sqrt(var + eps)``.

    Examples
    --------
    >>> import numpy as np
    >>> bn = BatchNorm2D(1, dtype=np.float64)
    >>> y = bn.forward(np.array([1.0, 3.0]).reshape(2, 1, 1, 1))
    >>> np.round(y.ravel(), 4).tolist()
    [-1.0, 1.0]
    >>> bn.buffers["running_mean"], bn.buffers["running_var"]
    (array([0.2]), array([1.1]))
    """

    def __init__(self, num_features: int, *, eps: float = 1e-5, momentum: float | None = 0.1,
                 dtype: DTypeLike = np.float32) -> None:
        super().__init__()
        if int(num_features) < 1:
            raise ValueError(f"num_features must be >= 1, got {num_features!r}")
        if not float(eps) > 0:
            raise ValueError(f"eps must be > 0, got {eps!r}")
        if momentum is not None and not 0.0 <= float(momentum) <= 1.0:
            raise ValueError(f"momentum must be in [0, 1] or None, got {momentum!r}")
        self.num_features, self.eps = int(num_features), float(eps)
        self.momentum = None if momentum is None else float(momentum)
        dt = float_dtype(dtype)
        self.params = {"weight": np.ones(self.num_features, dt), "bias": np.zeros(self.num_features, dt)}
        self.buffers = {"running_mean": np.zeros(self.num_features, dt),
                        "running_var": np.ones(self.num_features, dt)}
        self.batches_tracked = 0                    # for momentum=None (a cumulative mean)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked (in place)."""
        self.buffers["running_mean"][...] = 0
        self.buffers["running_var"][...] = 1
        self.batches_tracked = 0

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2D expects input (N, {self.num_features}, H, W), got shape {x.shape}")
        w, b = self.params["weight"], self.params["bias"]
        x = x.astype(w.dtype, copy=False)
        if not training:
            scale = w / np.sqrt(self.buffers["running_var"] + w.dtype.type(self.eps))
            shift = b - self.buffers["running_mean"] * scale
            if layer_loops.available():                                 # one compiled pass
                y = np.empty(x.shape, w.dtype)
                layer_loops.bn_inference(np.ascontiguousarray(x), scale, shift, y)
                return y
            return x * scale[:, None, None] + shift[:, None, None]
        n, c, h, wd = x.shape
        count = n * h * wd
        if count < 2:
            raise ValueError(f"BatchNorm2D needs more than one value per channel in training, got shape {x.shape}")
        if layer_loops.available():
            # one compiled pass per channel for the statistics and one for the output (float64 sums)
            xhat = self._work("xhat", x.shape, w.dtype)
            y = self._result("out", x.shape, w.dtype)
            mean64, var64, inv64 = layer_loops.bn_forward(np.ascontiguousarray(x), w, b, self.eps, y, xhat)
            inv_std = inv64.astype(w.dtype)
            self._cache = (xhat, inv_std)
            self._update_running(mean64.astype(w.dtype), (var64 * (count / (count - 1))).astype(w.dtype))
            return y
        mean = x.mean(axis=(0, 2, 3))
        centred = x - mean[:, None, None]                                   # (N, C, H, W)
        var = np.einsum("nchw,nchw->c", centred, centred) / count
        inv_std = 1.0 / np.sqrt(var + w.dtype.type(self.eps))              # (C,)
        xhat = centred
        xhat *= inv_std[:, None, None]
        self._cache = (xhat, inv_std)
        self._update_running(mean, var * (count / (count - 1)))
        return xhat * w[:, None, None] + b[:, None, None]

    def _update_running(self, mean: np.ndarray, unbiased_var: np.ndarray) -> None:
        """running = (1 - m) * running + m * batch, in place (m = 1/batches with momentum None)."""
        self.batches_tracked += 1
        m = 1.0 / self.batches_tracked if self.momentum is None else self.momentum
        for key, value in (("running_mean", mean), ("running_var", unbiased_var)):
            run = self.buffers[key]
            run *= 1.0 - m
            run += m * value

    def backward(self, grad: np.ndarray) -> np.ndarray:
        xhat, inv_std = self._cache
        g = grad.astype(xhat.dtype, copy=False)
        if layer_loops.available():
            dx = self._result("grad", g.shape, g.dtype)
            gw64, gb64 = layer_loops.bn_backward(np.ascontiguousarray(g), xhat, self.params["weight"], inv_std, dx)
            self.grads = {"weight": gw64.astype(g.dtype), "bias": gb64.astype(g.dtype)}
            return dx
        count = g.shape[0] * g.shape[2] * g.shape[3]
        gb = g.sum(axis=(0, 2, 3))
        gw = np.einsum("nchw,nchw->c", g, xhat)
        self.grads = {"weight": gw, "bias": gb}
        w = self.params["weight"]
        # dL/dx = w * inv_std * (g - mean(g) - xhat * mean(g * xhat)), per channel
        k = (w * inv_std)[:, None, None]
        return k * (g - (gb / count)[:, None, None] - xhat * (gw / count)[:, None, None])

    def config(self) -> dict[str, Any]:
        return {"type": "BatchNorm2D", "num_features": self.num_features, "eps": self.eps,
                "momentum": self.momentum}
