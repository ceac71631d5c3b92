"""A training run in a folder: what ``convkit train`` does, as a library function.

`train_run` loads a dataset, splits it (stratified, seeded), builds the
network from an ``--arch`` spec, trains it with checkpoints and writes the run
folder:

======================  =====================================================
``run.json``            the settings, so ``--resume`` continues the same run
``model.npz``           the model: the mean of the weights of the last epochs
                        (``average``), else the epoch of lowest validation loss
``checkpoint.npz``      the last completed epoch (weights, optimizer, history)
``history.csv``         one row per epoch
``metrics.json``        test loss and accuracy, which weights the model holds,
                        epochs run, seconds
``curves.png``          loss and accuracy per epoch (drawn by ``draw``)
``confusion.png``       the test confusion matrix (above 100 classes: the
                        test accuracy of each class, sorted; by ``draw``)
======================  =====================================================

The pictures are drawn by the caller's ``draw`` (``convkit train`` passes
`convkit.viz.training.plot_run`): matplotlib pictures live in `convkit.viz`,
a layer above this one, so a run takes its drawing as it takes its progress
reporting. Without ``draw`` a run writes every file but the two pictures.

An existing run folder is never overwritten unless ``force=True`` (else
`convkit.io.atomic.OutputExistsError`); even then the earlier run's files are
only set aside (in the hidden folder ``.previous-run``) and come back if the
new run ends, fails or is interrupted before it has a checkpoint. The library does not print: pass a
callback (e.g. `EpochReporter`) to show progress.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .._names import DEFAULT_ARCH, IMAGE_SUFFIXES, train_defaults
from ..io.atomic import OutputExistsError, atomic_file, regular_input
from ..io.images import to_float_image
from ..io.memory import check_memory
from .arch import build_layers, training_bytes
from .callbacks import BestModel, Callback, EarlyStopping, ModelCheckpoint, WeightAverage
from .datasets import is_image_folder, load_dataset, split
from .history import History
from .metrics import MAX_CONFUSION_CLASSES, class_accuracy, confusion_matrix
from .model import Sequential
from .optim import SGD, Adam, Optimizer
from .serialize import Checkpoint, load_checkpoint, load_model
from .session import FitContext

__all__ = ["RunConfig", "RunResult", "RUN_FILES", "EpochReporter", "train_run", "prepare_run_folder",
           "make_optimizer", "evaluate_model", "read_run_config", "channel_stats"]

RUN_FILES = {"config": "run.json", "model": "model.npz", "checkpoint": "checkpoint.npz",
             "history": "history.csv", "metrics": "metrics.json", "curves": "curves.png",
             "confusion": "confusion.png"}
OPTIMIZERS = ("adam", "sgd")
PREVIOUS_RUN = ".previous-run"  # where --force keeps the earlier run until the new one can replace it


@dataclass
class RunConfig:
    """The settings of a run (all recorded in run.json)."""

    dataset: str = "digits"
    epochs: int = 40
    batch_size: int = 32
    lr: float = 2e-3
    optimizer: str = "adam"
    seed: int = 0
    val_split: float = 0.1
    test_split: float = 0.25
    arch: str = DEFAULT_ARCH
    augment: int = 1
    patience: int = 0
    average: float = 0.5
    image_size: str | None = None
    resize: bool = True
    gray: bool | None = None

    @classmethod
    def for_dataset(cls, dataset: str = "digits", **options: Any) -> "RunConfig":
        """A config for `dataset` with `options`; those missing or None take the dataset's own
        defaults (`convkit._names.TRAIN_DEFAULTS`, e.g. a batch-norm network for
        fashion-mnist), then the general ones."""
        given = {k: v for k, v in options.items() if v is not None}
        return cls(dataset=dataset, **{**train_defaults(dataset), **given})

    def average_start(self) -> int:
        """First epoch (1-based) of the weight average: the last `average` fraction of the
        epochs, at least one; 0 when averaging is off."""
        if not self.average:
            return 0
        return self.epochs - max(1, int(self.average * self.epochs + 0.5)) + 1

    def dataset_options(self) -> dict:
        """`load_dataset` keywords for image folders: size (from "N" or "HxW"), resize, gray."""
        size = None
        if self.image_size:
            parts = str(self.image_size).lower().split("x")
            try:
                size = tuple(int(v) for v in parts) * (2 // len(parts))
            except ValueError:
                size = ()
            if len(size) != 2 or min(size) < 1:
                raise ValueError(f"image size must be N or HxW with positive integers, got {self.image_size!r}")
        return {"size": size, "resize": bool(self.resize), "gray": self.gray}

    def check(self) -> None:
        """Raise ValueError naming the first bad setting."""
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        for name in ("epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if self.augment < 0 or self.patience < 0:
            raise ValueError(f"augment and patience must be >= 0, got {self.augment!r}, {self.patience!r}")
        if not 0 <= self.average <= 1:
            raise ValueError(f"average must be a fraction of the epochs in [0, 1], got {self.average!r}")
        self.dataset_options()
        if not (0 <= self.val_split < 1 and 0 < self.test_split < 1 and self.val_split + self.test_split < 1):
            raise ValueError(f"val_split in [0, 1) and test_split in (0, 1) with a sum below 1 are needed, "
                             f"got {self.val_split!r}, {self.test_split!r}")


@dataclass
class RunResult:
    """What a run produced; `interrupted` runs have only a checkpoint, no metrics."""

    out: Path
    history: History
    interrupted: bool
    metrics: dict = field(default_factory=dict)
    confusion: np.ndarray | None = None
    class_names: list = field(default_factory=list)
    kept_earlier: bool = False  # interrupted before its first epoch: the run it replaced is back
    averaged: tuple[int, int] | None = None    # the first and last epoch of the model's weight average


# draws a finished run's pictures into its folder (`convkit.viz.training.plot_run`)
RunDrawing = Callable[[RunResult, RunConfig], None]


class EpochReporter(Callback):
    """Forward epoch and batch events to plain functions (the CLI's progress bar and lines)."""

    def __init__(self, begin: Callable[[int, int, int], None] | None = None,
                 batch: Callable[[int, int], None] | None = None,
                 end: Callable[[int, dict], None] | None = None) -> None:
        self.begin, self.batch, self.end = begin, batch, end
        self._n_batches = self._epochs = 0

    def on_train_begin(self, context: FitContext) -> None:
        super().on_train_begin(context)
        bs = int(context.fit_state["batch_size"])
        self._n_batches = (int(context.fit_state["n_train"]) + bs - 1) // bs
        self._epochs = int(context.fit_state["epochs"])

    def on_epoch_begin(self, epoch: int) -> None:
        """Calls begin(epoch, total epochs, batches per epoch)."""
        if self.begin:
            self.begin(epoch, self._epochs, self._n_batches)

    def on_batch_end(self, batch: int, n_batches: int, loss: float) -> None:
        if self.batch:
            self.batch(batch, n_batches)

    def after_epoch(self, epoch: int, logs: dict) -> None:
        if self.end:
            self.end(epoch, logs)


def make_optimizer(name: str, lr: float) -> Optimizer:
    """Adam(lr) or SGD(lr, momentum=0.9)."""
    if name == "adam":
        return Adam(lr)
    if name == "sgd":
        return SGD(lr, momentum=0.9)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {name!r}")


def prepare_run_folder(out: str | os.PathLike, *, resume: bool = False, force: bool = False) -> Path:
    """Check (and create) the run folder; with `force` set the files of an earlier run aside in
    `PREVIOUS_RUN` inside it (`train_run` puts them back or drops them)."""
    out = Path(out)
    if resume:
        for key in ("config", "checkpoint"):
            if not (out / RUN_FILES[key]).is_file():
                raise ValueError(f"cannot resume: no {RUN_FILES[key]} in {str(out)!r} (no run was started there)")
        if (out / RUN_FILES["metrics"]).exists():
            raise ValueError(f"cannot resume: the run in {str(out)!r} has finished (it can only be replaced)")
    elif out.exists():
        if not out.is_dir():
            raise ValueError(f"output {str(out)!r} is a file, expected a run folder")
        if any(out.iterdir()) and not force:
            raise OutputExistsError(out, "is a run folder that is not empty")
        earlier = [out / name for name in RUN_FILES.values() if (out / name).is_file()]
        if earlier:
            aside = out / PREVIOUS_RUN
            shutil.rmtree(aside, ignore_errors=True)    # left by a run that was killed
            aside.mkdir()
            for path in earlier:
                os.replace(path, aside / path.name)
    else:
        try:
            out.mkdir(parents=True)
        except OSError as exc:
            raise ValueError(f"cannot create run folder {str(out)!r}: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ValueError(f"run folder {str(out)!r} is not writable")
    return out


def read_run_config(path: str | os.PathLike) -> RunConfig:
    """The settings stored in a run folder's run.json; ValueError naming the file and the problem."""
    path = Path(path)
    try:
        regular_input(path, "run file", "a run.json file")
        stored = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such run file") from None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"{path} is not a convkit run file (not JSON: {exc})") from None
    if not isinstance(stored, dict):
        raise ValueError(f"{path} is not a convkit run file (not a JSON object)")
    stored.setdefault("average", 0.0)               # run folders from before weight averaging
    fields = {f.name: f for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(stored) - set(fields))
    missing = sorted(k for k in ("dataset", "seed", "test_split", "val_split") if k not in stored)
    if unknown or missing:
        raise ValueError(f"{path} is not a convkit run file ("
                         + "; ".join(([f"unknown keys {unknown}"] if unknown else [])
                                     + ([f"missing keys {missing}"] if missing else [])) + ")")
    kinds: dict[str, type | tuple[type, ...]] = {"dataset": str, "arch": str, "optimizer": str, "epochs": int, "batch_size": int, "seed": int,
             "augment": int, "patience": int, "lr": (int, float), "val_split": (int, float),
             "test_split": (int, float), "average": (int, float), "resize": bool}
    for key, kind in kinds.items():
        value = stored.get(key, getattr(RunConfig, key))
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError(f"{path}: {key} must be {getattr(kind, '__name__', 'a number')}, got {value!r}")
    config = RunConfig(**stored)
    try:
        config.check()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    return config


def _write_json(path: Path, data: dict) -> None:
    with atomic_file(path, overwrite=True) as fh:
        fh.write((json.dumps(data, indent=2) + "\n").encode("utf-8"))


def _write_history(path: Path, history: History) -> None:
    keys = [k for k in ("loss", "accuracy", "val_loss", "val_accuracy", "time") if history.history.get(k)]
    text = io.StringIO(newline="")
    w = csv.writer(text)
    w.writerow(["epoch", *keys])
    for i, ep in enumerate(history.epoch):
        w.writerow([ep, *(f"{history.history[k][i]:.6g}" for k in keys)])
    with atomic_file(path, overwrite=True) as fh:
        fh.write(text.getvalue().encode("utf-8"))


def channel_stats(images: np.ndarray, batch: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of N x C x ... samples (images in [0, 1] units:
    stored integers scaled as `Sequential.normalize` scales them), in float64, a batch at a time."""
    c = images.shape[1]
    axes = (0,) + tuple(range(2, images.ndim))
    total, squares, count = np.zeros(c), np.zeros(c), 0
    for s in range(0, len(images), batch):
        part = images[s:s + batch]
        xb = to_float_image(part) if part.dtype.kind in "ub" else part.astype(np.float64)
        total += xb.sum(axis=axes)
        squares += np.square(xb).sum(axis=axes)
        count += xb.size // c
    mean = total / max(count, 1)
    return mean, np.sqrt(np.maximum(squares / max(count, 1) - mean ** 2, 0.0))


def evaluate_model(model: Sequential, images: np.ndarray,
                   labels: np.ndarray) -> tuple[dict, np.ndarray | None]:
    """({"loss", "accuracy"}, confusion matrix) of `model` on (images, labels); above
    `MAX_CONFUSION_CLASSES` classes the matrix is None and the metrics hold "class_accuracy"
    (one fraction per class, None for a class without samples) instead."""
    k = model.layers[-1].params["weight"].shape[1] if "weight" in model.layers[-1].params else None
    k = model.predict_proba(images[:1]).shape[1] if k is None else k
    if labels.size and labels.max() >= k:
        raise ValueError(f"the data has label {int(labels.max())} but the model has only {k} classes")
    metrics = model.evaluate(images, labels)
    out: dict[str, Any] = {"loss": float(metrics["loss"]), "accuracy": float(metrics["accuracy"])}
    pred = model.predict(images)      # batch by batch: N x K probabilities would grow with K^2
    if k > MAX_CONFUSION_CLASSES:
        out["class_accuracy"] = [None if np.isnan(a) else float(a) for a in class_accuracy(labels, pred, k)]
        return out, None
    return out, confusion_matrix(labels, pred, k)


def train_run(config: RunConfig | None, out: str | os.PathLike, *, resume: bool = False, force: bool = False,
              callbacks: Sequence[Callback] = (), epochs: int | None = None,
              max_memory: int | str | None = None,
              draw: RunDrawing | None = None) -> RunResult:
    """Train per `config` into the run folder `out`; see the module docstring for the files.

    `resume=True` continues the checkpoint in `out` with the settings stored in
    its run.json (`config` is then ignored; `epochs` changes the total to reach,
    which moves the start of the weight average along, and is recorded in
    run.json); the result equals an uninterrupted run with those settings bit
    for bit. A run that stopped early resumes straight to its evaluation.
    Ctrl-C during training writes the checkpoint and returns a result with
    ``interrupted=True``. Before the dataset is resized and before the network
    is built, the run's peak memory is estimated from the image size, the
    architecture and the class count; above the budget (`max_memory`, see
    `convkit.io.memory`) a `MemoryBudgetError` names the estimate and the
    layer or size that needs it. `draw(result, config)` draws the pictures of
    a finished run into `out` before ``metrics.json`` marks it finished (see
    the module docstring); None draws none.
    """
    t0 = time.perf_counter()
    out = Path(out)
    paths = {k: out / v for k, v in RUN_FILES.items()}
    if resume:
        prepare_run_folder(out, resume=True)
        config = read_run_config(paths["config"])
        if epochs:
            config = dataclasses.replace(config, epochs=int(epochs))
    elif config is None:
        raise TypeError("train_run needs a RunConfig (None only with resume=True)")
    config.check()
    # everything that can fail on bad settings happens before the run folder is touched
    _check_resized_folder(config, max_memory)
    data = load_dataset(config.dataset, seed=config.seed, **config.dataset_options())
    train, val, test = split(data, config.test_split, config.val_split, seed=config.seed)
    shape = data.images.shape[1:]
    need, worst = training_bytes(config.arch, shape, len(data.class_names), config.batch_size)
    check_memory(data.images.nbytes + need, f"training {config.arch!r} on {_dims(shape)} inputs in "
                 f"batches of {config.batch_size} (the largest layer: {worst})", max_memory=max_memory)
    layers = build_layers(config.arch, shape, len(data.class_names))
    # the splits hold their own samples: the whole set is not kept beside them while training
    names = SimpleNamespace(class_names=data.class_names)
    del data
    if len(train) == 0 or len(test) == 0:
        raise ValueError(f"dataset {config.dataset!r} is too small for the split: {len(train)} training and "
                         f"{len(test)} test images")
    if not resume:
        created = not out.exists()
        prepare_run_folder(out, force=force)
        # the new run replaces the earlier one once it has a checkpoint; interrupted (Ctrl-C,
        # SIGTERM) or failed before that, what it wrote goes and the earlier run comes back
        # (a folder left empty by a first run is removed: a plain run is accepted again)
        try:
            result = _train(config, out, paths, names, train, val, test, layers, shape, callbacks,
                            epochs, resume, t0, draw)
        except BaseException:
            _replace_or_restore(out, paths, created)
            raise
        result.kept_earlier = _replace_or_restore(out, paths, created)
        return result
    return _train(config, out, paths, names, train, val, test, layers, shape, callbacks, epochs,
                  resume, t0, draw)


def _dims(shape: Sequence[int]) -> str:
    return "x".join(str(int(v)) for v in shape)


def _check_resized_folder(config: RunConfig, max_memory: int | str | None) -> None:
    """Before an image folder is read and resized to `config.image_size`: the resized copies
    (float64, the images and their stack) and the network on them must fit the budget."""
    size = config.dataset_options()["size"]
    if size is None or not is_image_folder(config.dataset):
        return
    folders = [p for p in Path(config.dataset).iterdir() if p.is_dir() and not p.name.startswith(".")]
    n = sum(1 for f in folders for p in f.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    shape = (1 if config.gray else 3, *size)
    need, worst = training_bytes(config.arch, shape, max(len(folders), 2), config.batch_size)
    check_memory(2 * 8 * n * int(np.prod(shape)) + need,
                 f"image size {_dims(size)} for the {n} images of {config.dataset} (with the network: "
                 f"{worst})", max_memory=max_memory)


def _replace_or_restore(out: Path, paths: dict[str, Path], created: bool) -> bool:
    """After a new run: drop the set-aside earlier run if the new one has a checkpoint of a
    complete epoch, else undo the new one and put the earlier one back (then True)."""
    aside = out / PREVIOUS_RUN
    if aside.is_dir():
        if _epochs_done(paths["checkpoint"]) >= 1:
            shutil.rmtree(aside, ignore_errors=True)
            return False
        for path in paths.values():
            path.unlink(missing_ok=True)
        for path in aside.iterdir():
            os.replace(path, out / path.name)
        aside.rmdir()
        return True
    elif not paths["checkpoint"].exists():   # a first run: what it wrote goes, --resume has nothing
        paths["config"].unlink(missing_ok=True)
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
    return False


def _epochs_done(checkpoint: Path) -> int:
    """The complete epochs in a checkpoint file; 0 when there is none or it cannot be read."""
    try:
        return load_checkpoint(checkpoint).epoch
    except (OSError, ValueError):
        return 0


def _train(config: RunConfig, out: Path, paths: dict[str, Path], data: Any, train: Any, val: Any,
           test: Any, layers: list, shape: tuple, callbacks: Sequence[Callback], epochs: int | None,
           resume: bool, t0: float, draw: RunDrawing | None) -> RunResult:
    """The part of `train_run` that writes into the run folder."""
    if not resume:
        _write_json(paths["config"], dataclasses.asdict(config))
    mean, std = channel_stats(train.images)
    std = np.maximum(std, 1e-3)
    model = Sequential(layers, seed=config.seed, input_shape=shape, class_names=data.class_names,
                       normalization={"mean": [float(v) for v in mean], "std": [float(v) for v in std]})
    optimizer = make_optimizer(config.optimizer, config.lr)
    monitor = "val_loss" if len(val) else "loss"
    cbs: list[Callback] = []
    if config.patience:
        cbs.append(EarlyStopping(monitor, patience=config.patience, restore_best=True))
    best_cb = BestModel(paths["model"], monitor=monitor)
    cbs.append(best_cb)
    average = WeightAverage(config.average_start()) if config.average else None
    if average is not None:
        cbs.append(average)
    cbs += [ModelCheckpoint(paths["checkpoint"]), *callbacks]
    checkpoint = None
    if resume:
        try:
            checkpoint = load_checkpoint(paths["checkpoint"])
        except ValueError as exc:
            raise ValueError(f"cannot resume from {paths['checkpoint']}: {exc}") from None
        if config.epochs < checkpoint.epoch:
            raise ValueError(f"cannot resume: {checkpoint.epoch} epochs are done, more than the {config.epochs} "
                             f"epochs asked for")
    history = model.fit(train.images, train.labels, epochs=config.epochs, batch_size=config.batch_size,
                        optimizer=optimizer, validation_data=(val.images, val.labels) if len(val) else None,
                        seed=config.seed, callbacks=cbs, augment=config.augment, resume=checkpoint)
    if resume and epochs:                           # accepted by fit: the run's total from now on
        _write_json(paths["config"], dataclasses.asdict(config))
    if history.interrupted:
        return RunResult(out, history, True, class_names=data.class_names)
    _write_history(paths["history"], history)
    model_from = f"epoch {best_cb.best_epoch} (lowest {monitor})"
    averaged = None
    if average is not None and average.applies(history):       # the model now holds the mean weights
        model.save(paths["model"], overwrite=True)
        averaged = (len(history.epoch) - average.count + 1, len(history.epoch))
        model_from = f"mean of epochs {averaged[0]}-{averaged[1]}"
    best = load_model(paths["model"])
    test_metrics, confusion = evaluate_model(best, test.images, test.labels)
    metrics = {"dataset": config.dataset, "test_loss": test_metrics["loss"],
               "test_accuracy": test_metrics["accuracy"], "epochs_run": len(history.epoch),
               "best_epoch": best_cb.best_epoch, "model": model_from,
               "stopped_early": bool(getattr(history, "stopped_early", False)),
               "seconds": round(time.perf_counter() - t0, 3),
               "train_seconds": round(float(sum(history.history.get("time", []))), 3),
               "n_train": len(train), "n_val": len(val), "n_test": len(test),
               "class_names": data.class_names,
               "confusion_matrix": None if confusion is None else confusion.tolist()}
    if confusion is None:
        metrics["class_accuracy"] = test_metrics["class_accuracy"]
    result = RunResult(out, history, False, metrics, confusion, data.class_names, averaged=averaged)
    if draw is not None:
        draw(result, config)
    _write_json(paths["metrics"], metrics)
    return result
