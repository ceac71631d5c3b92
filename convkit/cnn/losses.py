"""Loss functions on logits: softmax cross-entropy, mean over the batch.

The loss takes raw logits (never probabilities) so it can use the log-sum-exp
shift and stay finite for logits of any size (+-1e4 included). Softmax as a
layer (for probabilities) is in `layers`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["softmax_cross_entropy", "log_softmax"]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, shifted by the row maximum so exp never overflows."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax_cross_entropy(logits: ArrayLike, labels: ArrayLike) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits) against integer labels, and its gradient.

    Parameters
    ----------
    logits : array_like of shape (N, K)
        Unnormalised class scores.
    labels : array_like of int, shape (N,)
        Class indices in ``[0, K)``.

    Returns
    -------
    loss : float
        ``-mean_n log softmax(logits)[n, labels[n]]``.
    grad_logits : ndarray of shape (N, K)
        ``(softmax(logits) - onehot(labels)) / N``, the dtype of `logits`.

    Raises
    ------
    ValueError
        Logits not 2-D, labels of the wrong length or outside ``[0, K)``.

    Notes
    -----
    ``log softmax(z)_k = (z_k - m) - log sum_j exp(z_j - m)`` with ``m = max_j z_j``:
    every exponent is <= 0, so logits of +-1e4 give finite loss and gradient.

    Examples
    --------
    >>> loss, grad = softmax_cross_entropy([[0.0, 0.0]], [1])
    >>> round(loss, 6)
    0.693147
    >>> grad
    array([[ 0.5, -0.5]])
    """
    z = np.asarray(logits)
    if z.dtype.kind not in "f":
        z = z.astype(np.float64)
    y = np.asarray(labels)
    if z.ndim != 2:
        raise ValueError(f"logits must be 2-D (N, K), got shape {z.shape}")
    if y.shape != (z.shape[0],) or (y.size and y.dtype.kind not in "iu"):
        raise ValueError(f"labels must be {z.shape[0]} integers (one per row of logits), got "
                         f"shape {y.shape} dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= z.shape[1]):
        raise ValueError(f"labels must be in [0, {z.shape[1]}), got values from {y.min()} to {y.max()}")
    n = z.shape[0]
    logp = log_softmax(z)
    rows = np.arange(n)
    loss = float(-logp[rows, y].mean()) if n else 0.0
    grad = np.exp(logp)
    grad[rows, y] -= 1
    grad /= max(n, 1)
    return loss, grad
