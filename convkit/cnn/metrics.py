"""Scores of a classifier's predictions beyond loss and accuracy: the confusion matrix and the
accuracy of each class (numbers only; their pictures are `convkit.viz.training`'s).

A confusion matrix grows with the square of the class count: it is made, kept
and drawn only up to `MAX_CONFUSION_CLASSES` classes; beyond, a run keeps the
accuracy of each class (`class_accuracy`), which grows with the class count only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["confusion_matrix", "class_accuracy", "MAX_CONFUSION_CLASSES"]

MAX_CONFUSION_CLASSES = 100   # 100 x 100 counts are still a picture one can read; 9,999^2 are 800 MB


def confusion_matrix(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts C[i, j] of samples of true class i predicted as j (n_classes x n_classes, int64)."""
    true, pred = np.asarray(true, np.intp), np.asarray(pred, np.intp)
    if true.shape != pred.shape or true.ndim != 1:
        raise ValueError(f"true and pred must be 1-D of one length, got {true.shape} and {pred.shape}")
    out = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(out, (true, pred), 1)
    return out


def class_accuracy(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Fraction of the samples of each true class predicted right (n_classes, float64; NaN for a
    class without samples)."""
    true, pred = np.asarray(true, np.intp), np.asarray(pred, np.intp)
    total = np.bincount(true, minlength=n_classes).astype(np.float64)
    right = np.bincount(true[true == pred], minlength=n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return right / total
