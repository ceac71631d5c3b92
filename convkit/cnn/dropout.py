"""Dropout: inverted dropout in training, the identity in evaluation.

The mask comes from ``self.rng``. `convkit.cnn.training.fit` hands every
Dropout layer the epoch's seeded generator (the one that also drew the
shuffle), so a run is deterministic and a resumed run draws the same masks
as the uninterrupted one. Outside fit the layer uses a generator of its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .layers import Layer

__all__ = ["Dropout"]


class Dropout(Layer):
    """Zero each value with probability `p` in training and scale the rest by 1/(1-p).

    Parameters
    ----------
    p : float
        Drop probability, 0 <= p < 1.
    seed : int, optional
        Seed of the layer's own generator (used outside `fit`).

    Raises
    ------
    ValueError
        `p` outside [0, 1).

    Notes
    -----
    ``y = x * m / (1 - p)`` with ``m ~ Bernoulli(1 - p)`` per value, so
    ``E[y] = x``; evaluation returns ``x`` unchanged (torch.nn.Dropout).

    Examples
    --------
    >>> import numpy as np
    >>> layer = Dropout(0.5, seed=0)
    >>> y = layer.forward(np.ones((2, 4)))
    >>> sorted(set(y.ravel().tolist()))
    [0.0, 2.0]
    >>> layer.forward(np.ones((1, 2)), training=False)
    array([[1., 1.]])
    """

    def __init__(self, p: float = 0.5, *, seed: int | None = None) -> None:
        super().__init__()
        p = float(p)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1), got {p!r}")
        self.p = p
        self.rng = np.random.default_rng(seed)

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        if not training or self.p == 0.0:
            if training:
                self._cache = None
            return x
        keep = self.rng.random(x.shape) >= self.p                   # float64 draws: same mask in any dtype
        scaled = keep * x.dtype.type(1.0 / (1.0 - self.p))           # (N, ...) of 0 and 1/(1-p)
        self._cache = scaled
        return x * scaled

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad if self._cache is None else grad * self._cache

    def config(self) -> dict[str, Any]:
        return {"type": "Dropout", "p": self.p}
