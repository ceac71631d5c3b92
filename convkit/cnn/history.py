"""`History`: the per-epoch logs a training run returns and a checkpoint stores.

Plain Python (lists of floats, JSON round trip through `to_dict` / `from_dict`);
the loop that fills it is in `convkit.cnn.training`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["History"]


class History:
    """Per-epoch logs of `fit`.

    Attributes
    ----------
    epoch : list of int
        Completed epochs, 1-based.
    history : dict of str -> list of float
        "loss", "accuracy" (training, averaged over the epoch's batches),
        "val_loss", "val_accuracy" (when validating) and "time" (seconds).
    interrupted, stopped_early : bool
    best_epoch : int or None
        Best epoch of an EarlyStopping callback.
    seed : int
        The seed actually used (drawn at random when fit got None).

    Examples
    --------
    >>> import numpy as np
    >>> from convkit.cnn import Dense, Sequential, SGD
    >>> X = np.concatenate([np.zeros((8, 4)), np.ones((8, 4))]).astype(np.float32)
    >>> y = np.repeat([0, 1], 8)
    >>> history = Sequential([Dense(4, 2)], seed=0).fit(X, y, epochs=3, batch_size=4,
    ...                                                   optimizer=SGD(0.1), seed=0)
    >>> history.epoch, sorted(history.history)
    ([1, 2, 3], ['accuracy', 'loss', 'time'])
    >>> [round(loss, 3) for loss in history.history["loss"]]
    [0.669, 0.525, 0.466]
    """

    def __init__(self) -> None:
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {}
        self.interrupted = False
        self.stopped_early = False
        self.best_epoch: int | None = None
        self.seed: int | None = None

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def truncate(self, n: int) -> None:
        """Keep the first `n` epochs only."""
        del self.epoch[n:]
        for values in self.history.values():
            del values[n:]

    def to_dict(self) -> dict[str, Any]:
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()},
                "interrupted": self.interrupted, "stopped_early": self.stopped_early,
                "best_epoch": self.best_epoch, "seed": self.seed}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "History":
        h = cls()
        h.epoch = [int(e) for e in data["epoch"]]
        h.history = {str(k): [float(x) for x in v] for k, v in data["history"].items()}
        h.interrupted, h.stopped_early = bool(data["interrupted"]), bool(data["stopped_early"])
        h.best_epoch = None if data["best_epoch"] is None else int(data["best_epoch"])
        h.seed = None if data["seed"] is None else int(data["seed"])
        return h

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"
