"""``convkit train``, ``convkit evaluate`` and ``convkit predict``: the CNN on the command line.

Only click and the standard library are imported here; numpy and convkit are
imported inside the commands so ``convkit --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from convkit._names import MAX_MEMORY, MAX_MEMORY_ENV, TRAIN_DEFAULTS

from ._common import CLIError, library_errors, threads_option

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar   # the type click.progressbar returns

__all__ = ["train", "evaluate", "predict"]

_RUN_OPTIONS = ("dataset", "batch_size", "lr", "optimizer", "seed", "val_split", "test_split", "arch",
                "augment", "patience", "average", "image_size", "resize", "gray")


def _memory_size(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """--max-memory as bytes ('8G', '512M', '1000000'), checked before any work."""
    from convkit.io.memory import parse_bytes

    try:
        return None if value is None else parse_bytes(value, "--max-memory")
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


_PRINTED_CLASSES = 30     # a wider confusion matrix does not fit a terminal


def _report_confusion(matrix, names, metrics: dict, where: str) -> None:
    """Print the confusion matrix; for many classes say where it is, or the worst classes."""
    if matrix is None:
        acc = metrics["class_accuracy"]
        worst = sorted((a, str(n)) for a, n in zip(acc, names) if a is not None)[:5]
        click.echo(f"{len(names)} classes: too many for a confusion matrix; the accuracy of each "
                   f"class is {where}. Lowest: " + ", ".join(f"{n} {a:.0%}" for a, n in worst))
    elif len(names) > _PRINTED_CLASSES:
        click.echo(f"confusion matrix of {len(names)} classes: {where}")
    else:
        click.echo("confusion matrix (rows: true class):")
        click.echo(_format_confusion(matrix, names))


def _format_confusion(matrix, names) -> str:
    """The confusion matrix as text: rows true, columns predicted."""
    labels = [str(n)[:8] for n in names]
    width = max([len(x) for x in labels] + [len(str(int(matrix.max()))) if matrix.size else 1, 4])
    head = " " * (width + 1) + " ".join(f"{x:>{width}}" for x in labels) + "   <- predicted"
    rows = [f"{labels[i]:>{width}} " + " ".join(f"{int(v):>{width}}" for v in row)
            for i, row in enumerate(matrix)]
    return "\n".join([head, *rows])


class _Progress:
    """A click progress bar per epoch on stderr and one summary line per epoch on stdout."""

    def __init__(self, header: str) -> None:
        self.header, self.total = header, 0      # the header waits for the first epoch: a bad
        self.bar: ProgressBar[int] | None = None  # setting then gets its error line alone

    def begin(self, epoch: int, total_epochs: int, n_batches: int) -> None:
        if self.header:
            click.echo(self.header, err=True)
            self.header = ""
        self.total = total_epochs
        if not sys.stderr.isatty():     # in a log file a bar is only its label: one extra line
            return
        bar = click.progressbar(length=n_batches, label=f"epoch {epoch}/{self.total}",
                                file=sys.stderr, width=30, show_eta=False)
        self.bar = bar.__enter__()

    def batch(self, batch: int, n_batches: int) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def end(self, epoch: int, logs: dict) -> None:
        self.close()
        line = f"epoch {epoch:3d}/{self.total}  loss {logs['loss']:.4f}  acc {logs['accuracy']:.4f}"
        if "val_loss" in logs:
            line += f"  val_loss {logs['val_loss']:.4f}  val_acc {logs['val_accuracy']:.4f}"
        click.echo(line + f"  {logs['time']:.1f}s")


def _per_dataset(name: str) -> str:
    """'[default: 40; fashion-mnist: 12]': the option's defaults per dataset, from the one table."""
    own = [f"{dataset}: {values[name]}" for dataset, values in TRAIN_DEFAULTS.items()
           if dataset != "default" and name in values]
    return f"  [default: {'; '.join([str(TRAIN_DEFAULTS['default'][name]), *own])}]"


@click.command("train")
@click.option("--dataset", default="digits", show_default=True,
              help="digits | faces | shapes | fashion-mnist (Debian's dataset-fashion-mnist files) | mnist1d "
                   "(signals, the mnist1d package), an image folder root/<class>/*.png, a signal folder "
                   "root/<class>/*.wav (.csv, .npy), a .npz (images or signals, labels), an MNIST IDX folder or "
                   "IMAGES,LABELS IDX files. Options not given take the dataset's own defaults (shown per option).")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Total epochs (with --resume: the run's own unless given)." + _per_dataset("epochs"))
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Learning rate." + _per_dataset("lr"))
@click.option("--optimizer", type=click.Choice(["adam", "sgd"]), default="adam", show_default=True,
              help="Adam, or SGD with momentum 0.9.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the split, weights and shuffling.")
@click.option("--val-split", type=click.FloatRange(0, 1, max_open=True), default=0.1, show_default=True,
              help="Fraction of each class held out for validation (the per-epoch val_loss and val_acc; "
                   "early stopping and, with --average 0, the choice of the best epoch).")
@click.option("--test-split", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.25,
              show_default=True, help="Fraction of each class held out for the final test. Single-file "
                                      "datasets only: an MNIST IDX folder with both the train and the t10k "
                                      "files tests on t10k (validation then comes from train).")
@click.option("--arch", default=None,
              help="Layers, e.g. conv16-relu-pool2-conv32k5-relu-pool2-flatten-dense64-relu-dense "
                   "(convN[kK][sS][pP], [max|min|avg|sum]poolN, relu, bn (batch norm after a conv), dropP "
                   "(dropout with probability P, e.g. drop0.25), flatten, denseN; a last bare dense has one "
                   "output per class)." + _per_dataset("arch"))
@click.option("--augment", type=click.IntRange(min=0), default=None,
              help="Random shifts of up to this many pixels each epoch (0 = off)." + _per_dataset("augment"))
@click.option("--patience", type=click.IntRange(min=0), default=0, show_default=True,
              help="Stop after this many epochs in a row without a better validation loss (0 = never).")
@click.option("--average", type=click.FloatRange(0, 1), default=None,
              help="The model is the mean of the weights after each of this last fraction of the epochs "
                   "(stochastic weight averaging); 0 = the epoch with the lowest validation loss (training "
                   "loss without validation). A run stopped early by --patience keeps its best epoch."
                   + _per_dataset("average"))
@click.option("--image-size", default=None, metavar="N|HxW",
              help="Image folders: resize every image to this.  [default: the most common size]")
@click.option("--resize/--no-resize", default=True, show_default=True,
              help="Image folders: --no-resize requires all images to have one size.")
@click.option("--gray/--rgb", default=None,
              help="Image folders: one channel or three.  [default: gray unless some image is colour]")
@click.option("-o", "--output", "--out", "out", type=click.Path(file_okay=False), default=None,
              help="Run folder.  [default: runs/<dataset>]")
@click.option("--resume", is_flag=True, help="Continue the interrupted run in --out with its own settings.")
@click.option("-f", "--force", is_flag=True, help="Replace an existing run in --out (it is kept until the new "
              "run has finished its first epoch).")
@click.option("--max-memory", default=None, metavar="SIZE", callback=_memory_size,
              help="Refuse a run whose estimated peak memory (dataset, network, batch) is above this, "
                   f"e.g. 8G.  [default: ${MAX_MEMORY_ENV}, else {MAX_MEMORY // 2 ** 30}G]")
@click.pass_context
@threads_option
@library_errors
def train(ctx: click.Context, dataset: str, epochs: int | None, batch_size: int, lr: float | None, optimizer: str,
          seed: int, val_split: float, test_split: float, arch: str | None, augment: int | None, patience: int,
          average: float | None,
          image_size: str | None, resize: bool, gray: bool | None, out: str | None,
          resume: bool, force: bool, max_memory: int | None) -> None:
    """Train a CNN and save the run (model, checkpoint, history, metrics, plots) in a folder.

    With no options: the default network on the 1,797 bundled 8x8 digits,
    25 % of each class held out for the test. `--dataset fashion-mnist`:
    its own defaults (a batch-norm network, 10 epochs; 93 % on t10k in under
    10 minutes on 2 cores). Ctrl-C saves a checkpoint; `convkit train
    --resume` (same --out) continues it.
    """
    import os
    from pathlib import Path

    from convkit.cnn.runs import RUN_FILES, EpochReporter, RunConfig, train_run
    from convkit.cnn.training import DivergedError
    from convkit.io.atomic import OutputExistsError
    from convkit.viz.training import plot_run
    if resume and force:
        raise CLIError("--resume and --force exclude each other")
    if out is None:
        name = Path(dataset.split(",")[0]).stem or "dataset"
        out = os.path.join("runs", name)
    if resume:
        given = [o for o in _RUN_OPTIONS if ctx.get_parameter_source(o) == click.core.ParameterSource.COMMANDLINE]
        if given:
            param = next(p for p in ctx.command.params if p.name == given[0])
            raise CLIError(f"--resume uses the run's own settings; drop {'/'.join(param.opts + param.secondary_opts)} "
                           f"(only --epochs and --out may be given)")
    config = RunConfig.for_dataset(dataset, epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer,
                                   seed=seed, val_split=val_split, test_split=test_split, arch=arch,
                                   augment=augment, patience=patience, average=average, image_size=image_size,
                                   resize=resize, gray=gray)
    # a resumed run keeps its own total unless --epochs is given
    epochs_given = ctx.get_parameter_source("epochs") == click.core.ParameterSource.COMMANDLINE
    progress = _Progress(f"{'resuming' if resume else 'training'} in {out}")
    try:
        result = train_run(config, out, resume=resume, force=force, epochs=epochs if epochs_given else None,
                           max_memory=max_memory, callbacks=[EpochReporter(progress.begin, progress.batch, progress.end)],
                           draw=plot_run)
    except OutputExistsError as exc:
        raise CLIError(f"output {exc.path!r} {exc.detail}; pass --force to replace its run, --resume to "
                       f"continue it, or another --out") from None
    except DivergedError as exc:
        kept = f"; the checkpoint in {out} keeps epoch {exc.epoch - 1}" if exc.epoch > 1 else ""
        raise CLIError(f"training diverged at epoch {exc.epoch} (loss {exc.loss}); lower --lr{kept}") from None
    finally:
        progress.close()
    if result.interrupted and result.kept_earlier:
        click.echo(f"interrupted before the first epoch ended; the earlier run in {out} was kept",
                   err=True)
        ctx.exit(130)
    if result.interrupted:
        done = len(result.history.epoch)
        click.echo(f"interrupted after {done} complete epoch(s); checkpoint saved in {out}. "
                   f"Continue with: convkit train --resume --out {out}", err=True)
        ctx.exit(130)
    m = result.metrics
    click.echo(f"test accuracy {m['test_accuracy']:.2%} (loss {m['test_loss']:.4f}) on {m['n_test']} images; "
               f"model: {m['model']} of {m['epochs_run']}, {m['seconds']:.1f} s")
    _report_confusion(result.confusion, result.class_names, m, f"in {out}/metrics.json and confusion.png")
    click.echo(f"saved {out}/: {' '.join(RUN_FILES.values())}")


def _image_batch(images: tuple[str, ...], shape: tuple[int, ...]) -> list:
    """Image files converted to the model's C x H x W (gray or RGB, resized), float32 in [0, 1]."""
    import numpy as np
    from skimage.transform import resize

    from convkit.io.images import REDUCE_MARGIN, read_image
    c, h, w = shape
    batch = []
    for path in images:
        # a huge image is shrunk while it is decoded, to near the size it is resized to
        im = read_image(path, gray=(c == 1), min_size=(REDUCE_MARGIN * h, REDUCE_MARGIN * w))
        if c == 3:
            im = np.repeat(im[..., None], 3, axis=2) if im.ndim == 2 else im[..., :3]
            if im.shape[2] == 1:
                im = np.repeat(im, 3, axis=2)
        if im.shape[:2] != (h, w):
            im = resize(im, (h, w), order=1, anti_aliasing=True, preserve_range=True)
        im = np.clip(im, 0, 1).astype(np.float32)
        batch.append(im[None] if im.ndim == 2 else np.moveaxis(im, 2, 0))
    return batch


def _load(model_path: str):
    """A convkit model file, checkpoint or .onnx file."""
    from convkit.cnn import Sequential
    return Sequential.load(model_path)


@click.command("evaluate")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--dataset", default=None,
              help="Dataset to score (all of it; of an MNIST IDX folder with train and t10k files, t10k). "
                   "Default: the test split of the run the model came from.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@threads_option
@library_errors
def evaluate(model: str, dataset: str | None, as_json: bool) -> None:
    """Accuracy, loss and confusion matrix of a saved MODEL on a dataset."""
    from pathlib import Path

    import numpy as np

    from convkit.cnn.datasets import is_image_folder, load_dataset, split
    from convkit.cnn.runs import RUN_FILES, evaluate_model, read_run_config
    net = _load(model)
    run_file = Path(model).parent / RUN_FILES["config"]
    if dataset is None:
        if not run_file.is_file():
            raise CLIError(f"no --dataset given and no {RUN_FILES['config']} beside {model}; pass --dataset")
        run = read_run_config(run_file)
        data = load_dataset(run.dataset, seed=run.seed, **run.dataset_options())
        data = split(data, run.test_split, run.val_split, seed=run.seed)[2]
        what = f"{run.dataset} (test split)"
    else:
        shape = tuple(net.input_shape or ())                # an image folder is read at the model's size
        folder = is_image_folder(dataset)
        options = {"size": shape[1:], "gray": shape[0] == 1} if len(shape) == 3 and folder else {}
        data = load_dataset(dataset, **options)
        what = dataset
        if data.test_start is not None:                     # the official test set
            data = data.subset(np.arange(data.test_start, len(data)))
            what = f"{dataset} (t10k)"
    if net.input_shape is not None and tuple(net.input_shape) != data.images.shape[1:]:
        raise CLIError(f"model {model} takes C x H x W = {tuple(net.input_shape)} images, "
                       f"the dataset has {data.images.shape[1:]}")
    if net.class_names and list(net.class_names) != list(data.class_names):
        raise CLIError(f"model {model} knows the classes {', '.join(net.class_names)}; the dataset has "
                       f"{', '.join(data.class_names)}")
    metrics, confusion = evaluate_model(net, data.images, data.labels)
    names = list(net.class_names or data.class_names)
    if as_json:
        click.echo(json.dumps({"model": model, "dataset": what, "n": len(data), **metrics,
                               "class_names": names,
                               "confusion_matrix": None if confusion is None else confusion.tolist()}))
        return
    click.echo(f"{what}: {len(data)} images, accuracy {metrics['accuracy']:.2%}, loss {metrics['loss']:.4f}")
    _report_confusion(confusion, names, metrics, "printed by --json")


@click.command("predict")
@click.argument("model", type=click.Path(dir_okay=False))
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--top", type=click.IntRange(min=1), default=3, show_default=True, help="Classes shown per image.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list.")
@threads_option
@library_errors
def predict(model: str, images: tuple[str, ...], top: int, as_json: bool) -> None:
    """Classify IMAGES with a saved MODEL (each image converted to the model's size and channels).

    A signal model (trained on C x L signals) reads .wav, .csv, .txt or .npy files instead, each
    cut or zero-padded at its end to the model's length."""
    import numpy as np
    net = _load(model)
    shape = tuple(int(v) for v in net.input_shape or ())
    if len(shape) == 2:                                     # a signal model: .wav / .csv / .txt / .npy files
        from convkit.cnn.datasets import fit_length
        from convkit.io.signals import read_signal
        batch = []
        for path in images:
            samples = read_signal(path).samples
            samples = samples.T if samples.ndim == 2 else samples[None]          # (C, N)
            if samples.shape[0] != shape[0]:
                raise CLIError(f"{path}: {samples.shape[0]} channel(s), model {model} takes {shape[0]}")
            batch.append(fit_length(samples, shape[1]).astype(np.float32))
    elif len(shape) != 3 or shape[0] not in (1, 3):
        raise CLIError(f"model {model} does not record a 1- or 3-channel C x H x W input shape or a C x L "
                       f"signal shape (got {net.input_shape}); it cannot read these files")
    else:
        batch = _image_batch(images, shape)
    proba = net.predict_proba(np.stack(batch))
    if not np.isfinite(proba).all():
        raise CLIError(f"model {model} gives NaN or infinite class scores (its weights overflow "
                       f"{net.dtype}); it cannot classify these images")
    names = list(net.class_names or [str(i) for i in range(proba.shape[1])])
    results: list[dict[str, Any]] = []
    for path, p in zip(images, proba):
        order = np.argsort(-p, kind="stable")[:top]
        results.append({"image": path, "predictions": [{"class": names[i], "probability": float(p[i])}
                                                       for i in order]})
    if as_json:
        click.echo(json.dumps(results))
        return
    for r in results:
        tops = ", ".join(f"{q['class']} {q['probability']:.1%}" for q in r["predictions"])
        click.echo(f"{r['image']}: {tops}")
