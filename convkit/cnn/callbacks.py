"""Training callbacks: early stopping with restore-best, per-epoch checkpoints, best-model files,
weight averaging.

A callback gets a `FitContext` (model, optimizer, history, fit settings, all
callbacks) at the start of `fit` and then hooks, all optional:
``on_epoch_begin(epoch)``, ``on_batch_end(batch, n_batches, loss)``,
``on_epoch_end(epoch, logs) -> bool`` (True stops training),
``after_epoch(epoch, logs)`` (after every callback's on_epoch_end, so state
is final: checkpoints write here), ``on_interrupt(epoch)`` (Ctrl-C, weights
already rolled back to the end of the last complete epoch) and
``on_train_end(history)``. Epoch numbers are 1-based counts of completed
epochs. Callbacks with state (EarlyStopping, WeightAverage) export it with
``state_dict() -> (json_dict, arrays)`` so a resumed run continues exactly;
they replace their arrays rather than write into them, so a state taken at
the start of an epoch stays valid for rolling that epoch back after Ctrl-C.
Progress bars belong to the CLI.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from .history import History
from .serialize import save_checkpoint
from .session import FitContext

# the seed stream of the Dropout masks of WeightAverage's update_bn pass (epochs use 0, 1, ...)
UPDATE_BN_STREAM = 2**32 - 2

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "BestModel", "WeightAverage"]


class Callback:
    """Base callback: every hook does nothing.

    Override the hooks you need (see the module's description for when each
    runs); ``on_epoch_end`` returning True stops training.

    Attributes
    ----------
    context : FitContext
        The running fit's model, optimizer and history (after ``on_train_begin``).

    Examples
    --------
    >>> import numpy as np
    >>> from convkit.cnn import Dense, Sequential, SGD
    >>> X = np.concatenate([np.zeros((8, 4)), np.ones((8, 4))]).astype(np.float32)
    >>> y = np.repeat([0, 1], 8)
    >>> class StopAfterTwo(Callback):
    ...     def on_epoch_end(self, epoch, logs):
    ...         print(epoch, round(logs["loss"], 3))
    ...         return epoch >= 2
    >>> history = Sequential([Dense(4, 2)], seed=0).fit(
    ...     X, y, epochs=5, batch_size=4, optimizer=SGD(0.1), seed=0, callbacks=[StopAfterTwo()])
    1 0.669
    2 0.525
    >>> history.epoch
    [1, 2]
    """

    _context: FitContext | None = None

    @property
    def context(self) -> FitContext:
        """The running fit's context (set by `on_train_begin`)."""
        if self._context is None:
            raise RuntimeError(f"{type(self).__name__} is used outside fit (no on_train_begin yet)")
        return self._context

    def on_train_begin(self, context: FitContext) -> None:
        self._context = context

    def on_epoch_begin(self, epoch: int) -> None:
        pass

    def on_batch_end(self, batch: int, n_batches: int, loss: float) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        return False

    def after_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        pass

    def on_interrupt(self, epoch: int) -> None:
        pass

    def on_train_end(self, history: History) -> None:
        pass

    def state_dict(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {}

    def load_state_dict(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        pass


def _mode(monitor: str, mode: str) -> str:
    """'min' or 'max' for a monitored quantity ('auto': max for accuracies)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    return mode


class _Monitor(Callback):
    """Tracks the best value of one log entry."""

    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0) -> None:
        self.monitor = monitor
        self.mode = _mode(monitor, mode)
        self.min_delta = float(min_delta)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None

    def _value(self, logs: dict[str, float]) -> float:
        if self.monitor not in logs:
            raise ValueError(f"monitor {self.monitor!r} is not logged; logged: {', '.join(logs)} "
                             f"(val_* needs validation_data or validation_split)")
        return float(logs[self.monitor])

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(_Monitor):
    """Stop when `monitor` has not improved for `patience` epochs.

    With ``restore_best=True`` the model ends training (stopped or not) with
    the weights of its best epoch; `history.best_epoch` records which.

    Parameters
    ----------
    monitor : str, optional
        A key of the epoch's logs: "val_loss", "loss", "val_accuracy", ...
    patience : int, optional
        Epochs without improvement before stopping, >= 0.
    min_delta : float, optional
        The smallest change that counts as an improvement.
    mode : {'auto', 'min', 'max'}, optional
        Whether lower or higher is better; 'auto' reads it from `monitor`.
    restore_best : bool, optional
        End with the weights of the best epoch.

    Raises
    ------
    ValueError
        A negative `patience` or an unknown `mode`.

    Examples
    --------
    >>> import numpy as np
    >>> from convkit.cnn import Dense, Sequential, SGD
    >>> X = np.concatenate([np.zeros((8, 4)), np.ones((8, 4))]).astype(np.float32)
    >>> y = np.repeat([0, 1], 8)
    >>> stop = EarlyStopping("loss", patience=1, min_delta=1.0)   # nothing improves by 1
    >>> history = Sequential([Dense(4, 2)], seed=0).fit(
    ...     X, y, epochs=10, batch_size=4, optimizer=SGD(0.1), seed=0, callbacks=[stop])
    >>> history.epoch, history.stopped_early, history.best_epoch
    ([1, 2], True, 1)
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, *, min_delta: float = 0.0,
                 mode: str = "auto", restore_best: bool = True) -> None:
        super().__init__(monitor, mode, min_delta)
        if int(patience) < 0:
            raise ValueError(f"patience must be >= 0, got {patience!r}")
        self.patience = int(patience)
        self.restore_best = restore_best
        self.wait = 0
        self.best_weights: dict[str, np.ndarray] | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        value = self._value(logs)
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self.best_weights = {k: v.copy() for k, v in self.context.model.state_dict().items()}
            self.context.history.best_epoch = epoch
            return False
        self.wait += 1
        if self.wait >= self.patience and epoch < self.context.fit_state["epochs"]:   # the last epoch: no stop
            self.context.history.stopped_early = True
            return True
        return False

    def on_train_end(self, history: History) -> None:
        if self.restore_best and self.best_weights is not None and not history.interrupted:
            self.context.model.load_state_dict(self.best_weights)

    def state_dict(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}
        return meta, dict(self.best_weights or {})

    def load_state_dict(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.best, self.best_epoch, self.wait = float(meta["best"]), meta["best_epoch"], int(meta["wait"])
        self.best_weights = {k: np.array(v) for k, v in arrays.items()} or None


class ModelCheckpoint(Callback):
    """Write the resume checkpoint (weights, optimizer state, history, callback states, epoch)
    to `path` after every epoch and on Ctrl-C; `fit(resume=path)` continues from it.

    Parameters
    ----------
    path : str or path-like
        The checkpoint file (``.npz``).
    overwrite : bool, optional
        Replace an existing file (each epoch replaces the last one anyway).

    Examples
    --------
    >>> import numpy as np
    >>> from convkit.cnn import Dense, Sequential, SGD
    >>> X = np.concatenate([np.zeros((8, 4)), np.ones((8, 4))]).astype(np.float32)
    >>> y = np.repeat([0, 1], 8)
    >>> import tempfile
    >>> from convkit.cnn import load_checkpoint
    >>> path = f"{tempfile.mkdtemp()}/checkpoint.npz"
    >>> _ = Sequential([Dense(4, 2)], seed=0).fit(X, y, epochs=2, optimizer=SGD(0.1), seed=0,
    ...                                           callbacks=[ModelCheckpoint(path)])
    >>> load_checkpoint(path).epoch
    2
    """

    def __init__(self, path: str | os.PathLike, *, overwrite: bool = True) -> None:
        self.path = path
        self.overwrite = overwrite

    def _save(self) -> None:
        save_checkpoint(self.path, self.context, overwrite=self.overwrite)

    def after_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        self._save()

    def on_interrupt(self, epoch: int) -> None:
        self._save()


class BestModel(_Monitor):
    """Save the model file (`Sequential.save`) whenever `monitor` improves.

    Parameters
    ----------
    path : str or path-like
        The model file (``.npz``), replaced at each improvement.
    monitor : str, optional
        A key of the epoch's logs.
    mode : {'auto', 'min', 'max'}, optional
        Whether lower or higher is better; 'auto' reads it from `monitor`.

    Examples
    --------
    >>> import numpy as np
    >>> from convkit.cnn import Dense, Sequential, SGD
    >>> X = np.concatenate([np.zeros((8, 4)), np.ones((8, 4))]).astype(np.float32)
    >>> y = np.repeat([0, 1], 8)
    >>> import tempfile
    >>> from convkit.cnn import load_model
    >>> path = f"{tempfile.mkdtemp()}/best.npz"
    >>> _ = Sequential([Dense(4, 2)], seed=0).fit(X, y, epochs=2, batch_size=4,
    ...                                           optimizer=SGD(0.1), seed=0,
    ...                                           callbacks=[BestModel(path, monitor="loss")])
    >>> load_model(path).predict(X[[0, -1]]).tolist()
    [0, 1]
    """

    def __init__(self, path: str | os.PathLike, *, monitor: str = "val_loss", mode: str = "auto") -> None:
        super().__init__(monitor, mode)
        self.path = path

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        value = self._value(logs)
        if self._improved(value):
            self.best, self.best_epoch = value, epoch
            self.context.model.save(self.path, overwrite=True)
        return False

    def state_dict(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"best": self.best, "best_epoch": self.best_epoch}, {}

    def load_state_dict(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.best, self.best_epoch = float(meta["best"]), meta["best_epoch"]


class WeightAverage(Callback):
    """Stochastic weight averaging: the model ends training with the mean of its weights after
    each epoch from `start` (1-based) on.

    A constant learning rate keeps the weights wandering around a wide minimum; their mean sits
    nearer its centre than any one of them and usually generalises better than the last or the
    best-on-validation epoch (Izmailov et al., 2018). The mean covers the whole state dict
    (parameters and buffers). BatchNorm running statistics do not average into those of the mean
    network, so after averaging they are recomputed over the training samples (unaugmented, in
    order, Dropout masks from a seeded stream of their own) with `Sequential.update_bn`, as
    ``torch.optim.swa_utils.update_bn`` does. The mean is kept in float64 and is part of the
    checkpoint state, so a resumed run averages exactly the same epochs. `count` is the number of epochs averaged so far. A run
    stopped early by EarlyStopping is left as EarlyStopping leaves it (its best epoch with
    ``restore_best``): the averaging window was cut short.

    Parameters
    ----------
    start : int
        The first epoch averaged, >= 1.

    Examples
    --------
    >>> import numpy as np
    >>> from convkit.cnn import Dense, Sequential, SGD
    >>> X = np.concatenate([np.zeros((8, 4)), np.ones((8, 4))]).astype(np.float32)
    >>> y = np.repeat([0, 1], 8)
    >>> average = WeightAverage(start=2)
    >>> _ = Sequential([Dense(4, 2)], seed=0).fit(X, y, epochs=4, optimizer=SGD(0.1), seed=0,
    ...                                           callbacks=[average])
    >>> average.count
    3
    """

    def __init__(self, start: int) -> None:
        if int(start) < 1:
            raise ValueError(f"start must be an epoch number >= 1, got {start!r}")
        self.start = int(start)
        self.count = 0
        self.mean: dict[str, np.ndarray] = {}

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        if epoch >= self.start:
            n = self.count + 1                      # new arrays, assigned together with the count
            state = self.context.model.state_dict()
            self.mean = {k: p.astype(np.float64) if n == 1 else self.mean[k] + (p - self.mean[k]) / n
                         for k, p in state.items()}
            self.count = n
        return False

    def on_train_end(self, history: History) -> None:
        if self.applies(history):
            model = self.context.model
            model.load_state_dict(self.mean)
            if self.context.train_x is not None:
                rng = np.random.default_rng([int(self.context.fit_state["seed"]), UPDATE_BN_STREAM])
                model.update_bn(self.context.train_x, batch_size=int(self.context.fit_state["batch_size"]),
                                rng=rng)

    def applies(self, history: History) -> bool:
        """Whether the model ends with the mean: something was averaged and training ran to
        its end (an early stop keeps EarlyStopping's choice, the best epoch)."""
        return bool(self.count) and not history.interrupted and not history.stopped_early

    def state_dict(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"start": self.start, "count": self.count}, dict(self.mean)

    def load_state_dict(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        if int(meta["start"]) != self.start:
            # a new start (a resumed run with more epochs): fine while all its epochs lie ahead
            done = len(self.context.history.epoch) if self._context else 0
            if self.start <= done:
                raise ValueError(f"cannot resume: the checkpoint averages weights from epoch {meta['start']}, "
                                 f"this run from epoch {self.start}, and epoch {self.start} is already done "
                                 f"(keep the run's epoch total)")
            self.count, self.mean = 0, {}
            return
        self.count = int(meta["count"])
        if self.count < 0 or (self.count > 0) != bool(arrays):
            raise ValueError(f"a weight average of {meta['count']} epochs needs "
                             f"{'its mean weights' if self.count else 'no arrays'}")
        self.mean = {k: np.array(v, dtype=np.float64) for k, v in arrays.items()}
