"""train_run (what `convkit train` calls): resuming with a new epoch total, early stops, the
saved model against the epochs it names, dataset options."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from convkit.cnn import Callback, EarlyStopping, SGD, load_checkpoint, load_model
from convkit.cnn.datasets import load_dataset
from convkit.cnn.runs import RunConfig, prepare_run_folder, train_run
from convkit.io.atomic import OutputExistsError
from convkit.viz.training import plot_run

from test_cnn_model import Scripted, bars, small_net

ARCH = "conv4-relu-pool2-dense"


@pytest.fixture()
def data_file(tmp_path):
    X, y = bars(96, seed=1)
    path = tmp_path / "bars.npz"
    np.savez(path, images=(X[:, 0] / X.max() * 255).astype(np.uint8), labels=y)
    return path


class CtrlC(Callback):
    """Ctrl-C in the second batch of the epoch after `done` complete epochs."""

    def __init__(self, done):
        self.done = done

    def on_batch_end(self, batch, n_batches, loss):
        if len(self.context.history.epoch) == self.done and batch == 2:
            raise KeyboardInterrupt


class Weights(Callback):
    """Each epoch's weights."""

    def __init__(self):
        self.by_epoch = {}

    def on_epoch_end(self, epoch, logs):
        self.by_epoch[epoch] = {k: v.copy() for k, v in self.context.model.params().items()}
        return False


def _config(data_file, **kw):
    return RunConfig(dataset=str(data_file), arch=ARCH, batch_size=16, **{"epochs": 4, **kw})


def test_resume_with_a_new_total_keeps_it(tmp_path, data_file):
    """8 epochs asked, Ctrl-C after 2; resumed to 6 total and cut after 4; a plain resume then
    ends at 6 (run.json records the new total), equal to an uninterrupted 6-epoch run."""
    full = train_run(_config(data_file, epochs=6), tmp_path / "full")
    out = tmp_path / "cut"
    assert train_run(_config(data_file, epochs=8), out, callbacks=[CtrlC(2)]).interrupted
    assert train_run(None, out, resume=True, epochs=6, callbacks=[CtrlC(4)]).interrupted
    assert json.loads((out / "run.json").read_text())["epochs"] == 6
    with pytest.raises(ValueError, match="4 epochs are done, more than the 3 epochs asked for"):
        train_run(None, out, resume=True, epochs=3)
    done = train_run(None, out, resume=True)
    assert done.metrics["epochs_run"] == 6 and done.metrics["model"] == full.metrics["model"] == "mean of epochs 4-6"
    for key, value in load_model(tmp_path / "full" / "model.npz").params().items():
        np.testing.assert_array_equal(load_model(out / "model.npz").params()[key], value, err_msg=key)


def test_pictures_are_drawn_only_by_the_callers_draw_before_the_run_is_marked_finished(tmp_path, data_file):
    seen = []

    def draw(result, config):
        seen.append((result.interrupted, result.averaged, config.epochs, (result.out / "metrics.json").exists()))
        plot_run(result, config)

    plain = train_run(_config(data_file, epochs=2), tmp_path / "plain")
    assert not (tmp_path / "plain" / "curves.png").exists() and not (tmp_path / "plain" / "confusion.png").exists()
    assert (tmp_path / "plain" / "metrics.json").exists() and plain.averaged == (2, 2)
    drawn = train_run(_config(data_file, epochs=2), tmp_path / "drawn", draw=draw)
    assert seen == [(False, (2, 2), 2, False)]
    assert {p.name for p in (tmp_path / "drawn").iterdir()} == {p.name for p in (tmp_path / "plain").iterdir()} | {
        "curves.png", "confusion.png"}
    assert drawn.metrics == {**plain.metrics, "seconds": drawn.metrics["seconds"],
                             "train_seconds": drawn.metrics["train_seconds"]}
    assert not train_run(_config(data_file, epochs=2), tmp_path / "cut", callbacks=[CtrlC(1)], draw=draw).averaged
    assert len(seen) == 1                                   # an interrupted run draws nothing


def test_average_zero_saves_the_epoch_it_names(tmp_path, data_file):
    weights = Weights()
    result = train_run(_config(data_file, epochs=5, average=0, lr=0.05), tmp_path / "run", callbacks=[weights])
    best = int(np.argmin(result.history.history["val_loss"])) + 1
    assert result.metrics["model"] == f"epoch {best} (lowest val_loss)"
    for key, value in load_model(tmp_path / "run" / "model.npz").params().items():
        np.testing.assert_array_equal(value, weights.by_epoch[best][key], err_msg=key)


def test_old_run_files_resume_without_averaging(tmp_path, data_file):
    out = tmp_path / "run"
    assert train_run(_config(data_file, epochs=3), out, callbacks=[CtrlC(1)]).interrupted
    stored = json.loads((out / "run.json").read_text())
    for key in ("average", "image_size", "resize", "gray"):           # written before these existed
        del stored[key]
    (out / "run.json").write_text(json.dumps(stored))
    done = train_run(None, out, resume=True)
    assert done.metrics["model"].startswith("epoch ") and "(lowest val_loss)" in done.metrics["model"]


def test_no_early_stop_on_the_last_epoch():
    """Patience running out on the final epoch is the end of training, not an early stop."""
    X, y = bars(40)
    model = small_net()
    script = Scripted([1.0, 2.0, 3.0])
    history = model.fit(X, y, epochs=3, optimizer=SGD(0.1), seed=0, callbacks=[script, EarlyStopping(patience=2)])
    assert history.epoch == [1, 2, 3] and not history.stopped_early


def test_a_stopped_run_resumes_to_its_end(tmp_path):
    """A checkpoint of a run that stopped early trains no further epochs when resumed."""
    from convkit.cnn import ModelCheckpoint
    X, y = bars(40)
    model = small_net()
    script = Scripted([3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    ck = tmp_path / "ck.npz"
    model.fit(X, y, epochs=7, optimizer=SGD(0.1), seed=0,
              callbacks=[script, EarlyStopping(patience=2), ModelCheckpoint(ck)])
    saved = load_checkpoint(ck)
    assert saved.history.stopped_early and saved.epoch == 5
    again = saved.model
    history = again.fit(X, y, epochs=7, optimizer=saved.optimizer, seed=0, resume=ck,
                        callbacks=[Scripted([0.0] * 7), EarlyStopping(patience=2), ModelCheckpoint(ck)])
    assert history.epoch == [1, 2, 3, 4, 5]
    for key, value in script.weights[3].items():                    # restore-best still happens
        np.testing.assert_array_equal(again.params()[key], value)


def test_image_options_only_for_image_folders():
    with pytest.raises(ValueError, match="apply to image folders .*not to 'digits'"):
        load_dataset("digits", size=(16, 16))
    with pytest.raises(ValueError, match="image size must be N or HxW"):
        RunConfig(image_size="8x").check()


def test_an_existing_run_folder_is_a_typed_error_without_cli_words(tmp_path):
    (tmp_path / "run.json").write_text("{}")
    with pytest.raises(OutputExistsError, match="is a run folder that is not empty") as info:
        prepare_run_folder(tmp_path)
    assert info.value.path == str(tmp_path) and "--" not in info.value.detail
    assert prepare_run_folder(tmp_path, force=True) == tmp_path and not (tmp_path / "run.json").exists()


def test_a_fifo_run_file_is_refused_at_once(tmp_path):
    import os

    from helpers.blocking import finishes

    from convkit.cnn.runs import read_run_config

    fifo = tmp_path / "run.json"
    os.mkfifo(fifo)
    result = finishes(lambda: read_run_config(fifo), [fifo])
    assert isinstance(result, ValueError) and "is not a regular file" in str(result)


class FailIn(Callback):
    """An error in the second batch of epoch `epoch` (1-based)."""

    def __init__(self, epoch, error=RuntimeError):
        self.epoch, self.error = epoch, error

    def on_batch_end(self, batch, n_batches, loss):
        if len(self.context.history.epoch) == self.epoch - 1 and batch == 2:
            raise self.error("boom")


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_force_keeps_the_earlier_run_until_the_new_one_has_an_epoch(tmp_path, data_file, error):
    from convkit.cnn.runs import PREVIOUS_RUN

    out = tmp_path / "run"
    train_run(_config(data_file, epochs=2), out, draw=plot_run)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(before) == {"run.json", "model.npz", "checkpoint.npz", "history.csv", "metrics.json",
                           "curves.png", "confusion.png"}
    try:
        result = train_run(_config(data_file, epochs=3, seed=5), out, force=True,
                           callbacks=[FailIn(1, error)])
        assert result.interrupted and result.kept_earlier   # Ctrl-C in epoch 1: reported, not raised
    except RuntimeError:
        assert error is RuntimeError
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before     # every file as it was
    # failing after a complete epoch: the new run (resumable) has replaced the earlier one
    with pytest.raises(RuntimeError):
        train_run(_config(data_file, epochs=3, seed=5), out, force=True, callbacks=[FailIn(2)])
    names = {p.name for p in out.iterdir()}
    assert names == {"run.json", "checkpoint.npz", "model.npz"} and PREVIOUS_RUN not in names
    assert load_checkpoint(out / "checkpoint.npz").epoch == 1
    # a complete new run replaces it all
    train_run(_config(data_file, epochs=2, seed=7), out, force=True, draw=plot_run)
    assert {p.name for p in out.iterdir()} == set(before)
    assert json.loads((out / "run.json").read_text())["seed"] == 7


@pytest.mark.parametrize("arch, layer", [("conv100000-dense", "conv100000k3 (layer 1)"),
                                         ("conv8k999-dense", "conv8k999 (layer 1)")])
def test_an_architecture_above_the_memory_budget_is_refused_before_allocating(tmp_path, data_file,
                                                                                arch, layer):
    import tracemalloc

    from convkit.cnn.arch import training_bytes
    from convkit.io.memory import MemoryBudgetError

    out = tmp_path / "run"
    tracemalloc.start()
    try:
        with pytest.raises(MemoryBudgetError) as info:
            train_run(dataclasses.replace(_config(data_file), arch=arch), out, max_memory="1G")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2 ** 20                       # nothing of the estimated GiBs was allocated
    data = load_dataset(str(data_file))
    need, worst = training_bytes(arch, data.images.shape[1:], len(data.class_names), 16)
    assert worst == layer and info.value.budget == 2 ** 30
    assert need < info.value.need < need + 2 ** 20   # plus the dataset itself
    assert layer in str(info.value) and "GiB" in str(info.value) and not out.exists()
    # the budget can be raised (here only checked: the estimate then passes the same rule)
    with pytest.raises(MemoryBudgetError):
        train_run(dataclasses.replace(_config(data_file), arch=arch), out, max_memory=info.value.need - 1)


def test_an_image_size_above_the_memory_budget_is_refused_before_reading(tmp_path):
    import tracemalloc

    from convkit.io import write_image
    from convkit.io.memory import MemoryBudgetError

    for c in ("a", "b"):
        (tmp_path / "data" / c).mkdir(parents=True)
        for i in range(3):
            write_image(tmp_path / "data" / c / f"{i}.png", np.full((8, 8), 40 * i, np.uint8))
    config = RunConfig(dataset=str(tmp_path / "data"), arch=ARCH, epochs=1, image_size="4000", gray=True)
    tracemalloc.start()
    try:
        with pytest.raises(MemoryBudgetError, match=r"image size 4000x4000 for the 6 images") as info:
            train_run(config, tmp_path / "run")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2 ** 20 and info.value.need > 2 * 8 * 6 * 4000 ** 2
    # a size that fits trains
    result = train_run(dataclasses.replace(config, image_size="16"), tmp_path / "run")
    assert result.metrics["n_train"] + result.metrics["n_test"] + result.metrics["n_val"] == 6


def test_many_classes_keep_per_class_accuracy_not_a_square_matrix(tmp_path):
    """400 classes: no 400 x 400 matrix in metrics.json or the picture; each class's accuracy,
    checked against the saved model's own predictions by a plain loop."""
    from convkit.cnn.metrics import MAX_CONFUSION_CLASSES
    from convkit.cnn.runs import evaluate_model

    k = 400
    assert k > MAX_CONFUSION_CLASSES
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(k), 4)
    images = (rng.random((labels.size, 8, 8)) * 255).astype(np.uint8)
    images[np.arange(labels.size), labels % 8, labels // 8 % 8] = 255
    path = tmp_path / "many.npz"
    np.savez(path, images=images, labels=labels)
    out = tmp_path / "run"
    result = train_run(RunConfig(dataset=str(path), arch="conv4-relu-pool2-dense", epochs=1,
                                 val_split=0.0), out, draw=plot_run)
    assert result.confusion is None
    stored = json.loads((out / "metrics.json").read_text())
    assert stored["confusion_matrix"] is None and len(stored["class_accuracy"]) == k
    assert (out / "metrics.json").stat().st_size < 50 * k        # linear in the classes
    assert (out / "confusion.png").stat().st_size > 0
    data = load_dataset(str(path))
    model = load_model(out / "model.npz")
    metrics, confusion = evaluate_model(model, data.images, data.labels)
    pred = model.predict(data.images)
    for c in range(k):
        mine = [p == c for p, t in zip(pred, data.labels) if t == c]
        assert metrics["class_accuracy"][c] == pytest.approx(sum(mine) / len(mine))
    assert confusion is None


def test_train_with_class_names_outside_the_font_prints_one_warning_line(tmp_path, cli):
    X, y = bars(60, seed=2)
    path = tmp_path / "cjk.npz"
    np.savez(path, images=(X[:, 0] / X.max() * 255).astype(np.uint8), labels=y,
             class_names=np.array(["横", "縦", "斜"]))
    r = cli("train", "--dataset", path, "--arch", ARCH, "--epochs", "1", "--out", tmp_path / "run")
    assert r.exit_code == 0, r.stderr
    assert "Glyph" not in r.stderr and "UserWarning" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(lines) == 1 and "has no glyph for '" in lines[0]
