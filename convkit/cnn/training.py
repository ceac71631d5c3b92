"""The training loop behind `Sequential.fit`: seeded shuffles, shift augmentation, validation,
callbacks, Ctrl-C handling and exact resume.

Determinism is by construction: epoch ``e`` (0-based) draws its shuffle, its
augmentation shifts and then its Dropout masks from ``default_rng([seed, e])``
and nothing else, the validation split from ``default_rng([seed,
SPLIT_STREAM])``. So the weights
after epoch ``e`` depend only on (initial weights, data, seed, settings), and
a run resumed from the checkpoint written after epoch ``e`` replays epochs
``e+1...`` exactly as the uninterrupted run did.

`fit` is a preparation (every check, the seed, the validation hold-out, the
`FitContext`, the resumed state) and the epoch loop; what the run shares with
its callbacks, its snapshots, roll-back and resume are `convkit.cnn.session`'s.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..windows import sliding_windows
from .callbacks import Callback
from .history import History
from .losses import softmax_cross_entropy
from .model import Sequential
from .optim import Optimizer
from .serialize import Checkpoint, load_checkpoint
from .session import FitContext, restore, roll_back, snapshot

__all__ = ["DivergedError", "History", "fit", "shift_images", "stratified_split"]

SPLIT_STREAM = 2**32 - 1


class DivergedError(ValueError):
    """The training loss became NaN or infinite; ``epoch`` is the 1-based epoch it happened in.
    The model, optimizer and callbacks were rolled back to the last complete epoch and the
    callbacks' ``on_interrupt`` ran (so a checkpoint holds that epoch)."""

    def __init__(self, epoch: int, loss: float) -> None:
        self.epoch, self.loss = epoch, loss
        super().__init__(f"training diverged at epoch {epoch} (loss {loss}); lower the learning rate")


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
    """Translate each N x C x H x W image by its (dy, dx) in ``shifts`` (N x 2), zero fill; an
    N x C x L signal by its (dx,) (``shifts`` N x 1), as a 1-row image."""
    if x.ndim == 3:
        moves = np.column_stack([np.zeros(len(x), shifts.dtype), shifts[:, 0]])
        return shift_images(x[:, :, None, :], moves, max_shift)[:, :, 0, :]
    a = max_shift
    xp = np.pad(x, ((0, 0), (0, 0), (a, a), (a, a)))
    win = sliding_windows(xp, x.shape[2:], axes=(2, 3))          # (N, C, 2a+1, 2a+1, H, W)
    n = np.arange(len(x))
    return win[n, :, a - shifts[:, 0], a - shifts[:, 1]]          # (N, C, H, W)


def _check_data(model: Sequential, X: ArrayLike, y: ArrayLike, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Samples as stored (converted and normalised batch by batch later) and integer labels,
    checked against each other and the model."""
    xs = model.check_input(X, name)
    ys = np.asarray(y)
    if ys.shape != (len(xs),) or (ys.size and ys.dtype.kind not in "iu"):
        raise ValueError(f"labels for {name} must be {len(xs)} integers, got shape {ys.shape} dtype {ys.dtype}")
    return xs, ys.astype(np.intp)


def fit(model: Sequential, X: ArrayLike, y: ArrayLike, *, epochs: int, batch_size: int = 32,
        optimizer: Optimizer, validation_data: tuple[ArrayLike, ArrayLike] | None = None,
        validation_split: float = 0.0, seed: int | None = None, callbacks: Sequence[Callback] | None = None,
        augment: int = 0, resume: str | os.PathLike | Checkpoint | None = None) -> History:
    """Train `model` with shuffled mini-batches; return a `History`.

    `epochs` is the TOTAL number of epochs (a resumed run continues up to it).
    `X` stays as given (e.g. uint8 images): each batch is converted and
    normalised on its own (`Sequential.normalize`), so the set is never copied
    whole in float; shuffles and augmentation work on indices and batches.
    `augment` > 0 shifts every training image by a random (dy, dx) in
    [-augment, augment] each epoch (zero fill); a signal (N x C x L) by a dx. `validation_split` holds out a
    stratified seeded fraction of (X, y) (ignored when `validation_data` is
    given). `resume`: a checkpoint path or `serialize.Checkpoint`; weights,
    optimizer state, history and callback states are restored and the run
    continues after the checkpoint's epoch with the same seed and settings
    (a mismatch raises ValueError). Ctrl-C (KeyboardInterrupt) during training
    rolls weights, optimizer, callback states and history back to the end of
    the last complete epoch (one whose callbacks have all run),
    calls each callback's ``on_interrupt`` (ModelCheckpoint saves), sets
    ``history.interrupted`` and returns instead of raising. A NaN or infinite
    training loss does the same roll-back and ``on_interrupt``, then raises
    `DivergedError`.
    """
    run = _prepare(model, X, y, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                   validation_data=validation_data, validation_split=validation_split, seed=seed,
                   callbacks=callbacks, augment=augment, resume=resume)
    _train_epochs(run)
    for cb in run.context.callbacks:
        cb.on_train_end(run.context.history)
    return run.context.history


@dataclasses.dataclass
class _Run:
    """A prepared fit: its context, the training samples and labels, the validation set, the
    epochs already done."""

    context: FitContext
    x: np.ndarray                                   # (N, ...) as stored: context.train_x
    y: np.ndarray                                   # (N,) intp
    validation: tuple[np.ndarray, np.ndarray] | None
    start: int


# -- preparation: checks, seed, validation split, context, resume --------------------------------
def _prepare(model: Sequential, X: ArrayLike, y: ArrayLike, *, epochs: int, batch_size: int,
             optimizer: Optimizer, validation_data: tuple[ArrayLike, ArrayLike] | None,
             validation_split: float, seed: int | None, callbacks: Sequence[Callback] | None,
             augment: int, resume: str | os.PathLike | Checkpoint | None) -> _Run:
    """Everything before the first epoch, in `fit`'s order: every check, then the callbacks'
    ``on_train_begin`` and the checkpoint's state."""
    augment = _check_settings(epochs, batch_size, validation_split, augment, optimizer)
    xs, ys = _check_data(model, X, y, "X")
    if augment and xs.ndim not in (3, 4):
        raise ValueError(f"augment needs N x C x L signals or N x C x H x W images, got X of shape {xs.shape}")
    cbs = list(callbacks or [])
    checkpoint = None
    if resume is not None:
        checkpoint = resume if isinstance(resume, Checkpoint) else load_checkpoint(resume)
    seed = _run_seed(seed, checkpoint)
    xs, ys, val = _hold_out(model, xs, ys, validation_data, float(validation_split), seed)
    history = History()
    history.seed = seed
    fit_state = {"seed": seed, "batch_size": int(batch_size), "augment": augment,
                 "validation_split": float(validation_split), "n_train": len(xs), "epochs": int(epochs)}
    context = FitContext(model, optimizer, history, fit_state, cbs, train_x=xs)
    for cb in cbs:
        cb.on_train_begin(context)
    start = 0
    if checkpoint is not None:
        start = restore(context, checkpoint)
        if history.stopped_early:                   # it ended; only on_train_end is left to run
            start = int(epochs)
    return _Run(context, xs, ys, val, start)


def _check_settings(epochs: int, batch_size: int, validation_split: float, augment: int,
                    optimizer: Optimizer) -> int:
    """Refuse a bad setting of `fit`; return `augment` as an int."""
    if int(epochs) < 1 or int(batch_size) < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs!r}, {batch_size!r}")
    if not 0.0 <= float(validation_split) < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    augment = int(augment)
    if augment < 0:
        raise ValueError(f"augment must be a shift in pixels >= 0, got {augment!r}")
    if optimizer is None or not hasattr(optimizer, "step"):
        raise TypeError(f"optimizer must be a convkit.cnn optimizer (SGD, Adam), got {optimizer!r}")
    return augment


def _run_seed(seed: int | None, checkpoint: Checkpoint | None) -> int:
    """The seed given, else the checkpoint's, else a fresh one."""
    if seed is None and checkpoint is not None:
        seed = checkpoint.fit_state["seed"]
    if seed is None:
        seed = int(np.random.SeedSequence().entropy) % 2**63   # type: ignore[arg-type]  # an int without a pool
    return int(seed)


def _hold_out(model: Sequential, xs: np.ndarray, ys: np.ndarray,
              validation_data: tuple[ArrayLike, ArrayLike] | None, validation_split: float,
              seed: int) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """(training samples, labels, validation set): `validation_data` checked, else a stratified
    seeded `validation_split` of (xs, ys) held out, else no validation."""
    if validation_data is not None:
        return xs, ys, _check_data(model, validation_data[0], validation_data[1], "validation_data")
    if validation_split > 0:
        keep, held = stratified_split(ys, validation_split, np.random.default_rng([seed, SPLIT_STREAM]))
        return xs[keep], ys[keep], (xs[held], ys[held])         # copies in the stored type
    return xs, ys, None


# -- the epoch loop -----------------------------------------------------------------------------
def _train_epochs(run: _Run) -> None:
    """The epochs after `run.start` up to the total, or to a callback's stop. Ctrl-C or a diverging
    loss rolls an unfinished epoch back and calls ``on_interrupt``; divergence is then raised."""
    context = run.context
    saved = None                                    # the state at the start of an unfinished epoch
    try:
        for epoch in range(run.start, context.fit_state["epochs"]):
            saved = snapshot(context)
            stop = _epoch(run, epoch)
            saved = None                            # complete: its callbacks have all run
            if stop:
                break
    except (KeyboardInterrupt, DivergedError) as exc:
        if saved is not None:                       # the interrupted epoch never completed
            roll_back(context, saved)
        context.history.interrupted = True
        for cb in context.callbacks:
            cb.on_interrupt(len(context.history.epoch))
        if isinstance(exc, DivergedError):
            raise


def _epoch(run: _Run, epoch: int) -> bool:
    """Epoch `epoch` (0-based): its batches, the validation scores, the log, the callbacks;
    True when a callback stops training."""
    context, cbs = run.context, run.context.callbacks
    t0 = time.perf_counter()
    for cb in cbs:
        cb.on_epoch_begin(epoch + 1)
    logs = _train_batches(run, epoch)
    if run.validation is not None:
        scores = context.model.evaluate(*run.validation)
        logs.update(val_loss=scores["loss"], val_accuracy=scores["accuracy"])
    logs["time"] = time.perf_counter() - t0
    context.history.append(epoch + 1, logs)
    stop = False
    for cb in cbs:
        stop = bool(cb.on_epoch_end(epoch + 1, logs)) or stop
    for cb in cbs:
        cb.after_epoch(epoch + 1, logs)
    return stop


def _train_batches(run: _Run, epoch: int) -> dict[str, float]:
    """One pass over the shuffled (and shifted) training batches: forward, loss, backward and
    an optimizer step each; the epoch's mean loss and accuracy."""
    model, optimizer, cbs = run.context.model, run.context.optimizer, run.context.callbacks
    xs, ys, state = run.x, run.y, run.context.fit_state
    augment, bs, n = state["augment"], state["batch_size"], len(xs)
    rng = np.random.default_rng([state["seed"], epoch])
    order = rng.permutation(n)
    shifts = rng.integers(-augment, augment + 1, size=(n, xs.ndim - 2)) if augment else None
    model.set_rng(rng)                              # Dropout masks continue the epoch's stream
    total, correct, n_batches = 0.0, 0, (n + bs - 1) // bs
    for b in range(n_batches):
        idx = order[b * bs:(b + 1) * bs]
        xb = model.normalize(xs[idx])
        if shifts is not None:
            xb = shift_images(xb, shifts[idx], augment)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            logits = model.forward(xb, True)
            loss, grad = softmax_cross_entropy(logits, ys[idx])
        if not np.isfinite(loss):                   # NaN weights help nobody: stop at once
            raise DivergedError(epoch + 1, float(loss))
        model.backward(grad)
        optimizer.step(model.params(), model.grads())
        total += loss * len(idx)
        correct += int((logits.argmax(axis=1) == ys[idx]).sum())
        for cb in cbs:
            cb.on_batch_end(b + 1, n_batches, loss)
    return {"loss": total / n, "accuracy": correct / n}
