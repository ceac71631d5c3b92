"""The training loop behind `Sequential.fit`: seeded shuffles, shift augmentation, validation,
callbacks, Ctrl-C handling and exact resume.

Determinism is by construction: epoch ``e`` (0-based) draws its shuffle and
its augmentation shifts from ``default_rng([seed, e])`` and nothing else, the
validation split from ``default_rng([seed, SPLIT_STREAM])``. So the weights
after epoch ``e`` depend only on (initial weights, data, seed, settings), and
a run resumed from the checkpoint written after epoch ``e`` replays epochs
``e+1...`` exactly as the uninterrupted run did.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from ..windows import sliding_windows
from .callbacks import Callback, FitContext
from .losses import softmax_cross_entropy

__all__ = ["History", "fit", "shift_images", "stratified_split"]

SPLIT_STREAM = 2**32 - 1
_SETTINGS = ("seed", "batch_size", "augment", "validation_split", "n_train")


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


def stratified_split(y: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, held_out): about `fraction` of every class held out (at least one per class
    with two or more samples), both sorted."""
    held = []
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        k = int(round(fraction * len(idx)))
        k = min(max(k, 1 if len(idx) > 1 else 0), len(idx) - 1) if len(idx) > 1 else 0
        held.append(rng.permutation(idx)[:k])
    out = np.sort(np.concatenate(held)) if held else np.zeros(0, np.intp)
    keep = np.setdiff1d(np.arange(len(y)), out)
    return keep, out


def shift_images(x: np.ndarray, shifts: np.ndarray, max_shift: int) -> np.ndarray:
    """Translate each N x C x H x W image by its (dy, dx) in ``shifts`` (N x 2), zero fill."""
    a = max_shift
    xp = np.pad(x, ((0, 0), (0, 0), (a, a), (a, a)))
    win = sliding_windows(xp, x.shape[2:], axes=(2, 3))          # (N, C, 2a+1, 2a+1, H, W)
    n = np.arange(len(x))
    return win[n, :, a - shifts[:, 0], a - shifts[:, 1]]          # (N, C, H, W)


def _check_data(model, X, y, name: str) -> tuple[np.ndarray, np.ndarray]:
    X = model.normalize(model._check_input(X, name))
    y = np.asarray(y)
    if y.shape != (len(X),) or (y.size and y.dtype.kind not in "iu"):
        raise ValueError(f"labels for {name} must be {len(X)} integers, got shape {y.shape} dtype {y.dtype}")
    return X, y.astype(np.intp)


def _snapshot(context: FitContext) -> tuple:
    """Everything an epoch changes: weights, optimizer state, callback states, epochs logged.
    (Callbacks replace their state arrays rather than write into them, so references do.)"""
    h = context.history
    return ({k: v.copy() for k, v in context.model.params().items()}, context.optimizer.state_dict(),
            [cb.state_dict() for cb in context.callbacks], (len(h.epoch), h.best_epoch, h.stopped_early))


def _roll_back(context: FitContext, saved: tuple) -> None:
    params, opt_state, cb_states, (n, best_epoch, stopped_early) = saved
    context.model.set_params(params)
    context.optimizer.load_state_dict(opt_state)
    for cb, state in zip(context.callbacks, cb_states):
        cb.load_state_dict(*state)
    context.history.truncate(n)
    context.history.best_epoch, context.history.stopped_early = best_epoch, stopped_early


def fit(model, X, y, *, epochs: int, batch_size: int = 32, optimizer, validation_data=None,
        validation_split: float = 0.0, seed: int | None = None, callbacks: Sequence[Callback] | None = None,
        augment: int = 0, resume=None):
    """Train `model` with shuffled mini-batches; return a `History`.

    `epochs` is the TOTAL number of epochs (a resumed run continues up to it).
    `augment` > 0 shifts every training image by a random (dy, dx) in
    [-augment, augment] each epoch (zero fill). `validation_split` holds out a
    stratified seeded fraction of (X, y) (ignored when `validation_data` is
    given). `resume`: a checkpoint path or `serialize.Checkpoint`; weights,
    optimizer state, history and callback states are restored and the run
    continues after the checkpoint's epoch with the same seed and settings
    (a mismatch raises ValueError). Ctrl-C (KeyboardInterrupt) during training
    rolls weights, optimizer, callback states and history back to the end of
    the last complete epoch (one whose callbacks have all run),
    calls each callback's ``on_interrupt`` (ModelCheckpoint saves), sets
    ``history.interrupted`` and returns instead of raising.
    """
    if int(epochs) < 1 or int(batch_size) < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs!r}, {batch_size!r}")
    if not 0.0 <= float(validation_split) < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    augment = int(augment)
    if augment < 0:
        raise ValueError(f"augment must be a shift in pixels >= 0, got {augment!r}")
    if optimizer is None or not hasattr(optimizer, "step"):
        raise TypeError(f"optimizer must be a convkit.cnn optimizer (SGD, Adam), got {optimizer!r}")
    X, y = _check_data(model, X, y, "X")
    if augment and X.ndim != 4:
        raise ValueError(f"augment needs N x C x H x W images, got X of shape {X.shape}")
    callbacks = list(callbacks or [])
    checkpoint = None
    if resume is not None:
        from .serialize import Checkpoint, load_checkpoint
        checkpoint = resume if isinstance(resume, Checkpoint) else load_checkpoint(resume)
        if seed is None:
            seed = checkpoint.fit_state["seed"]
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**63)
    seed = int(seed)
    if validation_data is not None:
        Xv, yv = _check_data(model, validation_data[0], validation_data[1], "validation_data")
    elif validation_split > 0:
        keep, held = stratified_split(y, float(validation_split), np.random.default_rng([seed, SPLIT_STREAM]))
        X, Xv, y, yv = X[keep], X[held], y[keep], y[held]
    else:
        Xv = yv = None
    history = History()
    history.seed = seed
    fit_state = {"seed": seed, "batch_size": int(batch_size), "augment": augment,
                 "validation_split": float(validation_split), "n_train": len(X), "epochs": int(epochs)}
    context = FitContext(model, optimizer, history, fit_state, callbacks)
    for cb in callbacks:
        cb.on_train_begin(context)
    start = 0
    if checkpoint is not None:
        start = _restore(context, checkpoint)
        history = context.history
        if history.stopped_early:                   # it ended; only on_train_end is left to run
            start = int(epochs)
    n, bs = len(X), int(batch_size)
    saved = None                                    # the state at the start of an unfinished epoch
    try:
        for epoch in range(start, int(epochs)):
            saved = _snapshot(context)
            t0 = time.perf_counter()
            for cb in callbacks:
                cb.on_epoch_begin(epoch + 1)
            rng = np.random.default_rng([seed, epoch])
            order = rng.permutation(n)
            shifts = rng.integers(-augment, augment + 1, size=(n, 2)) if augment else None
            total, correct, n_batches = 0.0, 0, (n + bs - 1) // bs
            for b in range(n_batches):
                idx = order[b * bs:(b + 1) * bs]
                xb = X[idx] if shifts is None else shift_images(X[idx], shifts[idx], augment)
                logits = model.forward(xb, True)
                loss, grad = softmax_cross_entropy(logits, y[idx])
                model.backward(grad)
                optimizer.step(model.params(), model.grads())
                total += loss * len(idx)
                correct += int((logits.argmax(axis=1) == y[idx]).sum())
                for cb in callbacks:
                    cb.on_batch_end(b + 1, n_batches, loss)
            logs = {"loss": total / n, "accuracy": correct / n}
            if Xv is not None:
                val = _evaluate_raw(model, Xv, yv)
                logs.update(val_loss=val["loss"], val_accuracy=val["accuracy"])
            logs["time"] = time.perf_counter() - t0
            history.append(epoch + 1, logs)
            stop = False
            for cb in callbacks:
                stop = bool(cb.on_epoch_end(epoch + 1, logs)) or stop
            for cb in callbacks:
                cb.after_epoch(epoch + 1, logs)
            saved = None                            # complete: its callbacks have all run
            if stop:
                break
    except KeyboardInterrupt:
        if saved is not None:                       # the interrupted epoch never completed
            _roll_back(context, saved)
        history.interrupted = True
        for cb in callbacks:
            cb.on_interrupt(len(history.epoch))
    for cb in callbacks:
        cb.on_train_end(history)
    return history


def _evaluate_raw(model, X, y) -> dict[str, float]:
    """evaluate() on already-normalised data."""
    norm, model.normalization = model.normalization, None
    try:
        return model.evaluate(X, y)
    finally:
        model.normalization = norm


def _restore(context: FitContext, checkpoint) -> int:
    """Load a checkpoint into the running fit; return the number of completed epochs."""
    state = checkpoint.fit_state
    for key in _SETTINGS:
        if state.get(key) != context.fit_state[key]:
            raise ValueError(f"cannot resume: the checkpoint was trained with {key}={state.get(key)!r}, "
                             f"this run has {key}={context.fit_state[key]!r}")
    if checkpoint.model.config()["architecture"] != context.model.config()["architecture"]:
        raise ValueError("cannot resume: the checkpoint's architecture differs from the model's")
    if checkpoint.optimizer.config() != context.optimizer.config():
        raise ValueError(f"cannot resume: the checkpoint's optimizer {checkpoint.optimizer.config()} "
                         f"differs from {context.optimizer.config()}")
    context.model.set_params(checkpoint.model.params())
    context.optimizer.load_state_dict(checkpoint.optimizer.state_dict())
    history = checkpoint.history
    history.interrupted = False
    context.history.__dict__.update(history.__dict__)
    states = checkpoint.callback_states
    for i, cb in enumerate(context.callbacks):
        key = f"{i}.{type(cb).__name__}"
        if key in states:
            cb.load_state_dict(*states[key])
    return len(context.history.epoch)
