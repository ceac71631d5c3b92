"""The state of one running `fit`: what it shares with its callbacks (`FitContext`), a
`snapshot` of it at the start of an epoch, the `roll_back` to that snapshot, and `restore`
from a resume checkpoint.

An epoch changes the weights and buffers, the optimizer state, the callbacks' states and the
logged history, and nothing else: a `Snapshot` holds exactly those, so Ctrl-C or a diverging
loss can put the run back at the end of its last complete epoch. The loop that takes the
snapshots is in `convkit.cnn.training`; the checkpoint file in `convkit.cnn.serialize`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from .history import History
from .model import Sequential
from .optim import Optimizer
from .serialize import Checkpoint

if TYPE_CHECKING:
    from .callbacks import Callback

__all__ = ["FitContext", "Snapshot", "snapshot", "roll_back", "restore"]

# the fit settings a resumed run must share with its checkpoint (the epoch total may change)
_SETTINGS = ("seed", "batch_size", "augment", "validation_split", "n_train")


@dataclasses.dataclass
class FitContext:
    """What `fit` shares with its callbacks.

    Attributes
    ----------
    model : Sequential
        The model being trained.
    optimizer : Optimizer
        Its optimizer.
    history : History
        The logs so far.
    fit_state : dict
        The settings of the `fit` call (batch size, seed, ...).
    callbacks : list of Callback
        Every callback of the run.
    train_x : ndarray, optional
        The training samples as `fit` holds them, not normalised (for `Sequential.update_bn`).

    Examples
    --------
    >>> import numpy as np
    >>> from convkit.cnn import Callback, Dense, Sequential, SGD
    >>> X = np.concatenate([np.zeros((8, 4)), np.ones((8, 4))]).astype(np.float32)
    >>> y = np.repeat([0, 1], 8)
    >>> class Look(Callback):
    ...     def on_train_begin(self, context):
    ...         super().on_train_begin(context)
    ...         print(type(context.model).__name__, context.history.epoch)
    >>> _ = Sequential([Dense(4, 2)], seed=0).fit(X, y, epochs=1, optimizer=SGD(0.1),
    ...                                           callbacks=[Look()])
    Sequential []
    """

    model: Sequential
    optimizer: Optimizer
    history: History
    fit_state: dict[str, Any]
    callbacks: list[Callback]
    train_x: np.ndarray | None = None           # the training samples as stored (for update_bn)


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """Everything an epoch changes, as it was when the snapshot was taken.

    Callbacks replace their state arrays rather than write into them, so their states are
    kept by reference; the model's arrays (written in place) are copies.
    """

    state: dict[str, np.ndarray]                # the model's weights and buffers
    optimizer: dict[str, np.ndarray]
    callbacks: list[tuple[dict[str, Any], dict[str, np.ndarray]]]
    logged: int                                 # epochs in the history
    best_epoch: int | None
    stopped_early: bool


def snapshot(context: FitContext) -> Snapshot:
    """The run's state now (`fit` takes one at the start of every epoch)."""
    h = context.history
    return Snapshot({k: v.copy() for k, v in context.model.state_dict().items()},
                    context.optimizer.state_dict(), [cb.state_dict() for cb in context.callbacks],
                    len(h.epoch), h.best_epoch, h.stopped_early)


def roll_back(context: FitContext, saved: Snapshot) -> None:
    """Return the run to the state of `saved`."""
    context.model.load_state_dict(saved.state)
    context.optimizer.load_state_dict(saved.optimizer)
    for cb, state in zip(context.callbacks, saved.callbacks):
        cb.load_state_dict(*state)
    context.history.truncate(saved.logged)
    context.history.best_epoch, context.history.stopped_early = saved.best_epoch, saved.stopped_early


def restore(context: FitContext, checkpoint: Checkpoint) -> int:
    """Load a checkpoint into the running fit; return the number of completed epochs.

    The checkpoint must come from a run with the same settings, architecture and optimizer
    (ValueError naming the first difference); the history is restored into
    ``context.history`` itself, so every holder of that object sees the resumed logs.
    """
    state = checkpoint.fit_state
    for key in _SETTINGS:
        if state.get(key) != context.fit_state[key]:
            raise ValueError(f"cannot resume: the checkpoint was trained with {key}={state.get(key)!r}, "
                             f"this run has {key}={context.fit_state[key]!r}"
                             + (f" ({checkpoint.source})" if checkpoint.source else ""))
    if checkpoint.model.config()["architecture"] != context.model.config()["architecture"]:
        raise ValueError("cannot resume: the checkpoint's architecture differs from the model's")
    if checkpoint.optimizer.config() != context.optimizer.config():
        raise ValueError(f"cannot resume: the checkpoint's optimizer {checkpoint.optimizer.config()} "
                         f"differs from {context.optimizer.config()}")
    context.model.load_state_dict(checkpoint.model.state_dict())
    context.optimizer.load_state_dict(checkpoint.optimizer.state_dict())
    history = checkpoint.history
    history.interrupted = False
    context.history.__dict__.update(history.__dict__)
    states = checkpoint.callback_states
    for i, cb in enumerate(context.callbacks):
        key = f"{i}.{type(cb).__name__}"
        if key in states:
            try:
                cb.load_state_dict(*states[key])
            except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
                raise ValueError(f"cannot resume: {checkpoint.source or 'the checkpoint'}: the state of "
                                 f"callback {key} is invalid ({type(exc).__name__}: {exc})") from None
    return len(context.history.epoch)
