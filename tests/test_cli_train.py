"""convkit train / evaluate / predict on a tiny dataset; resume after Ctrl-C equals an uninterrupted run."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from convkit.cnn import load_checkpoint, load_model
from convkit.cnn.datasets import load_dataset, split
from convkit.cnn.runs import EpochReporter
from convkit_cli import cli, main
from helpers.hostile import TINY_TRAIN, hidden_files, npz_header, rewrite_npz, sigterm, small_model

ARCH = "conv4-relu-pool2-dense"
TINY = ["--arch", ARCH, "--epochs", "3", "--batch-size", "16"]


@pytest.fixture()
def data_file(tiny_digits):
    return tiny_digits


def _run(args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_train_writes_run_folder(tmp_path, data_file):
    out = tmp_path / "run"
    r = _run(["train", "--dataset", data_file, "--out", out, *TINY, "--average", "0.2"])
    assert r.exit_code == 0, r.output
    assert r.output.count("val_loss") == 3 and "test accuracy" in r.output and "confusion matrix" in r.output
    for name in ("model.npz", "checkpoint.npz", "history.csv", "metrics.json", "curves.png", "confusion.png"):
        assert (out / name).is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    with open(out / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3] and metrics["epochs_run"] == 3
    # --average 0.2 of 3 epochs averages the last one only: model.npz holds the last weights
    assert metrics["model"] == "mean of epochs 3-3"
    last = load_checkpoint(out / "checkpoint.npz").model.params()
    for key, value in load_model(out / "model.npz").params().items():
        np.testing.assert_array_equal(value, last[key])
    # independent check: the saved model on the test split the run used, scored with numpy / sklearn
    from sklearn.metrics import confusion_matrix
    test = split(load_dataset(data_file), 0.25, 0.1, seed=0)[2]
    model = load_model(out / "model.npz")
    pred = model.predict_proba(test.images).argmax(axis=1)
    assert metrics["test_accuracy"] == pytest.approx(np.mean(pred == test.labels))
    np.testing.assert_array_equal(metrics["confusion_matrix"], confusion_matrix(test.labels, pred, labels=range(4)))
    assert np.asarray(Image.open(out / "curves.png")).shape[2] in (3, 4)
    # evaluate --json re-scores the same split
    e = _run(["evaluate", out / "model.npz", "--json"])
    assert e.exit_code == 0, e.output
    assert json.loads(e.output)["accuracy"] == pytest.approx(metrics["test_accuracy"])
    # an existing run folder is never overwritten without --force
    before = (out / "model.npz").read_bytes()
    again = _run(["train", "--dataset", data_file, "--out", out, *TINY, "--seed", "1"])
    assert again.exit_code == 2 and "is a run folder that is not empty; pass --force" in again.output
    assert "--resume to continue it" in again.output
    assert (out / "model.npz").read_bytes() == before
    forced = _run(["train", "--dataset", data_file, "--out", out, *TINY, "--seed", "1", "--force"])
    assert forced.exit_code == 0, forced.output
    assert (out / "model.npz").read_bytes() != before


@pytest.mark.parametrize("arch", [ARCH, "conv4-bn-relu-pool2-drop0.2-dense"])
def test_interrupt_then_resume_equals_uninterrupted(tmp_path, data_file, monkeypatch, arch):
    args = ["train", "--dataset", data_file, *TINY, "--epochs", "4", "--augment", "1", "--arch", arch]
    full = _run([*args, "--out", tmp_path / "full"])
    assert full.exit_code == 0, full.output
    original = EpochReporter.on_batch_end

    def ctrl_c(self, batch, n_batches, loss):      # in epoch 4: the weight average (epochs 3-4) has begun
        if len(self.context.history.epoch) == 3 and batch == 2:
            raise KeyboardInterrupt
        original(self, batch, n_batches, loss)

    monkeypatch.setattr(EpochReporter, "on_batch_end", ctrl_c)
    cut = _run([*args, "--out", tmp_path / "cut"])
    assert cut.exit_code == 130 and "--resume" in cut.output
    assert load_checkpoint(tmp_path / "cut" / "checkpoint.npz").epoch == 3
    assert not (tmp_path / "cut" / "metrics.json").exists()
    monkeypatch.setattr(EpochReporter, "on_batch_end", original)
    bad = _run(["train", "--resume", "--out", tmp_path / "cut", "--lr", "0.5"])
    assert bad.exit_code == 2 and "--lr" in bad.output
    resumed = _run(["train", "--resume", "--out", tmp_path / "cut"])          # the run's own 4 epochs
    assert resumed.exit_code == 0, resumed.output
    assert "epoch   4/4" in resumed.output and "mean of epochs 3-4" in resumed.output
    a = load_checkpoint(tmp_path / "full" / "checkpoint.npz").model.state_dict()
    b = load_checkpoint(tmp_path / "cut" / "checkpoint.npz").model.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    a, b = (load_model(tmp_path / run / "model.npz").state_dict() for run in ("full", "cut"))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    ma = json.loads((tmp_path / "full" / "metrics.json").read_text())
    mb = json.loads((tmp_path / "cut" / "metrics.json").read_text())
    assert ma["test_accuracy"] == mb["test_accuracy"] and ma["confusion_matrix"] == mb["confusion_matrix"]


def test_average_zero_keeps_the_epoch_of_lowest_val_loss(tmp_path, data_file):
    out = tmp_path / "run"
    r = _run(["train", "--dataset", data_file, "--out", out, *TINY, "--average", "0"])
    assert r.exit_code == 0, r.output
    with open(out / "history.csv") as f:
        val = [float(row["val_loss"]) for row in csv.DictReader(f)]
    best = int(np.argmin(val)) + 1
    assert json.loads((out / "metrics.json").read_text())["model"] == f"epoch {best} (lowest val_loss)"


def test_image_folder_options(tmp_path):
    """An image folder of mixed sizes: --no-resize names an odd image; --image-size and --gray set
    the input the model records; evaluate reads a folder at the model's size."""
    from skimage.transform import resize
    rng = np.random.default_rng(0)
    for c, (h, w) in (("dark", (10, 10)), ("light", (12, 9))):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(8):
            level = 40 if c == "dark" else 210
            rgb = np.clip(level + rng.integers(-30, 30, (h, w, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(rgb).save(tmp_path / "imgs" / c / f"{i}.png")
    folder = tmp_path / "imgs"
    refused = _run(["train", "--dataset", folder, "--out", tmp_path / "a", *TINY, "--no-resize"])
    assert refused.exit_code == 2 and "mixed sizes and resizing is off: light/0.png is (12, 9)" in refused.output
    assert not (tmp_path / "a").exists()
    out = tmp_path / "b"
    r = _run(["train", "--dataset", folder, "--out", out, *TINY, "--image-size", "6x5", "--gray"])
    assert r.exit_code == 0, r.output
    assert load_model(out / "model.npz").input_shape == (1, 6, 5)
    e = _run(["evaluate", out / "model.npz", "--dataset", folder, "--json"])
    assert e.exit_code == 0, e.output
    # independent: skimage's luminance and resize of every image, scored by the saved model
    from skimage.color import rgb2gray
    names = [(k, p) for k, c in enumerate(("dark", "light")) for p in sorted((folder / c).iterdir())]
    x = np.stack([resize(rgb2gray(np.asarray(Image.open(p)) / 255), (6, 5), order=1, anti_aliasing=True)
                  for _, p in names])[:, None].astype(np.float32)
    labels = np.array([k for k, _ in names])
    proba = load_model(out / "model.npz").predict_proba(x)
    got = json.loads(e.output)
    assert got["accuracy"] == pytest.approx(np.mean(proba.argmax(axis=1) == labels))
    assert got["loss"] == pytest.approx(-np.mean(np.log(proba[np.arange(len(labels)), labels])), rel=1e-4)
    other = tmp_path / "other"
    for c in ("cat", "dog"):
        (other / c).mkdir(parents=True)
        Image.fromarray(np.zeros((6, 5), np.uint8)).save(other / c / "0.png")
    wrong = _run(["evaluate", out / "model.npz", "--dataset", other])
    assert wrong.exit_code == 2 and "knows the classes dark, light; the dataset has cat, dog" in wrong.output
    bad = _run(["train", "--dataset", folder, "--out", tmp_path / "c", *TINY, "--image-size", "6x"])
    assert bad.exit_code == 2 and "image size must be N or HxW" in bad.output


def test_predict_resizes_like_skimage(tmp_path, data_file):
    from skimage.transform import resize
    out = tmp_path / "run"
    assert _run(["train", "--dataset", data_file, "--out", out, *TINY]).exit_code == 0
    data = load_dataset(data_file)
    big = np.kron(data.images[5, 0], np.ones((2, 2)))                 # 16 x 16 version of image 5
    Image.fromarray((big * 255).round().astype(np.uint8)).convert("RGB").save(tmp_path / "x.png")
    r = _run(["predict", out / "model.npz", tmp_path / "x.png", "--json", "--top", "4"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.output)[0]["predictions"]
    gray = np.asarray(Image.open(tmp_path / "x.png").convert("L"), float) / 255   # RGB with R=G=B: gray = value
    x = resize(gray, (8, 8), order=1, anti_aliasing=True)[None, None].astype(np.float32)
    proba = load_model(out / "model.npz").predict_proba(x)[0]
    order = np.argsort(-proba)
    assert [g["class"] for g in got] == [str(i) for i in order]
    np.testing.assert_allclose([g["probability"] for g in got], proba[order], rtol=1e-4, atol=1e-6)
    text = _run(["predict", out / "model.npz", tmp_path / "x.png"])
    assert text.exit_code == 0 and text.output.startswith(f"{tmp_path / 'x.png'}: {order[0]} ")


@pytest.mark.parametrize("args, match", [
    (["train", "--arch", "conv8-banana-dense", "--epochs", "1"], "unknown token 'banana'"),
    (["train", "--arch", "conv8-drop1.5-dense", "--epochs", "1"], "dropout probability must be below 1"),
    (["train", "--arch", "bn-conv8-dense", "--epochs", "1"], "put it after a conv"),
    (["train", "--dataset", "nope"], "unknown dataset 'nope'"),
    (["train", "--resume", "--out", "missing"], "cannot resume: no run.json"),
    (["train", "--average", "nan"], "average must be a fraction of the epochs in"),
    (["train", "--image-size", "16"], "apply to image folders (root/<class>/*.png), not to 'digits'"),
    (["predict", "missing.npz", "x.png"], "file not found"),
    (["evaluate", "missing.npz"], "file not found"),
])
def test_bad_input_one_line_exit_2(tmp_path, monkeypatch, args, match):
    monkeypatch.chdir(tmp_path)
    r = _run(args)
    assert r.exit_code == 2
    assert match in r.output and len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output


@pytest.mark.parametrize("value", ["2", "-1", "abc"])
def test_bad_average_through_the_console_script(capsys, value):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--average", value])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and "'--average'" in err and "Traceback" not in err


def test_predict_rejects_non_image(tmp_path, data_file):
    out = tmp_path / "run"
    assert _run(["train", "--dataset", data_file, "--out", out, *TINY, "--epochs", "1"]).exit_code == 0
    (tmp_path / "notes.png").write_text("hello")
    r = _run(["predict", out / "model.npz", tmp_path / "notes.png"])
    assert r.exit_code == 2 and "notes.png" in r.output
    other = tmp_path / "faces.npz"
    np.savez(other, images=np.zeros((4, 5, 5), np.uint8), labels=np.array([0, 1, 0, 1]))
    e = _run(["evaluate", out / "model.npz", "--dataset", other])
    assert e.exit_code == 2 and "(1, 8, 8)" in e.output


def test_cli_defaults_are_the_library_defaults():
    import dataclasses

    from convkit._names import TRAIN_DEFAULTS
    from convkit.cnn.runs import RunConfig
    from convkit_cli.train_cmd import train
    cli_defaults = {p.name: p.default for p in train.params}
    for f in dataclasses.fields(RunConfig):
        if f.name in TRAIN_DEFAULTS["default"]:             # per dataset: the CLI leaves it to the table
            assert cli_defaults[f.name] is None and TRAIN_DEFAULTS["default"][f.name] == f.default, f.name
        else:
            assert cli_defaults[f.name] == f.default, f.name


@pytest.mark.parametrize("dataset", ["digits", "fashion-mnist", "some/folder"])
def test_train_takes_each_datasets_defaults(monkeypatch, tmp_path, dataset):
    from convkit._names import TRAIN_DEFAULTS
    from convkit.cnn import runs
    seen = {}

    def fake_run(config, out, **kw):
        seen["config"] = config
        raise ValueError("stop here")
    monkeypatch.setattr(runs, "train_run", fake_run)
    r = _run(["train", "--dataset", dataset, "--out", tmp_path / "run"])
    assert r.exit_code == 2 and "stop here" in r.output
    own = {**TRAIN_DEFAULTS["default"], **TRAIN_DEFAULTS.get(dataset, {})}
    assert {k: getattr(seen["config"], k) for k in own} == own
    given = _run(["train", "--dataset", dataset, "--out", tmp_path / "run", "--epochs", "3", "--arch", "conv4-dense"])
    assert given.exit_code == 2
    assert seen["config"].epochs == 3 and seen["config"].arch == "conv4-dense"


def test_bad_arch_with_force_loses_nothing(tmp_path, data_file):
    out = tmp_path / "run"
    assert _run(["train", "--dataset", data_file, "--out", out, *TINY, "--epochs", "1"]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    r = _run(["train", "--dataset", data_file, "--out", out, "--arch", "conv4-nope", "--force"])
    assert r.exit_code == 2 and "unknown token 'nope'" in r.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_idx_folder_trains_and_evaluates_on_t10k(tmp_path):
    from test_datasets import _mnist_folder
    folder = tmp_path / "mnist"
    folder.mkdir()
    files = _mnist_folder(folder, n_train=48, n_test=16)
    out = tmp_path / "run"
    r = _run(["train", "--dataset", folder, "--out", out, *TINY])
    assert r.exit_code == 0, r.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_test"] == 16 and metrics["n_val"] + metrics["n_train"] == 48
    e = _run(["evaluate", out / "model.npz", "--dataset", folder, "--json"])
    assert e.exit_code == 0, e.output
    got = json.loads(e.output)
    assert got["n"] == 16 and got["dataset"].endswith("(t10k)")
    model = load_model(out / "model.npz")
    pred = model.predict(files["t10k"][0][:, None].astype(np.float32) / 255)
    assert got["accuracy"] == pytest.approx(np.mean(pred == files["t10k"][1]))
    assert got["accuracy"] == pytest.approx(metrics["test_accuracy"])
    assert "t10k" in _run(["train", "--help"]).output


def _fake_fashion(folder, n_train=40, n_test=20, seed=0):
    """A tiny folder laid out as Debian's dataset-fashion-mnist (28 x 28 uint8, ten classes)."""
    import gzip
    import struct
    rng = np.random.default_rng(seed)
    folder.mkdir()
    for part, n in (("train", n_train), ("t10k", n_test)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = (rng.random((n, 28, 28)) * 60 + labels[:, None, None] * 19).astype(np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            with gzip.open(folder / f"{part}-{kind}-ubyte.gz", "wb") as f:
                f.write(header + array.tobytes())
    return folder


def test_fashion_mnist_by_name_train_and_evaluate(monkeypatch, tmp_path):
    """--dataset fashion-mnist reads the package's folder; evaluate by name scores its t10k part,
    the same accuracy the model gives on those files read independently."""
    from convkit.cnn import datasets
    folder = _fake_fashion(tmp_path / "fashion")
    monkeypatch.setattr(datasets, "FASHION_MNIST_DIRS", (str(folder),))
    out = tmp_path / "run"
    r = _run(["train", "--dataset", "fashion-mnist", "--out", out, "--arch", "conv2-relu-pool4-dense",
              "--epochs", "1", "--average", "0"])
    assert r.exit_code == 0, r.output
    assert "on 20 images" in r.output                     # the t10k set is the test set
    e = _run(["evaluate", out / "model.npz", "--dataset", "fashion-mnist", "--json"])
    assert e.exit_code == 0, e.output
    got = json.loads(e.output)
    assert got["dataset"] == "fashion-mnist (t10k)" and got["n"] == 20
    assert got["class_names"][0] == "t-shirt/top"
    import gzip
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read()[16:], np.uint8).reshape(20, 1, 28, 28)
    with gzip.open(folder / "t10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read()[8:], np.uint8)
    model = load_model(out / "model.npz")
    assert got["accuracy"] == pytest.approx(float(np.mean(model.predict(images / 255.0) == labels)))


def test_fashion_mnist_not_installed_is_one_line(monkeypatch, tmp_path):
    from convkit.cnn import datasets
    monkeypatch.setattr(datasets, "FASHION_MNIST_DIRS", (str(tmp_path / "nothing"),))
    for args in (["train", "--dataset", "fashion-mnist", "--out", tmp_path / "run"],
                 ["evaluate", tmp_path / "m.npz", "--dataset", "fashion-mnist"]):
        if args[0] == "evaluate":
            assert _run(["train", "--dataset", "digits", "--out", tmp_path / "d", *TINY, "--epochs", "1"]).exit_code == 0
            args[1] = tmp_path / "d" / "model.npz"
        r = _run(args)
        assert r.exit_code == 2 and "apt-get install dataset-fashion-mnist" in r.output
        assert r.output.strip().count("\n") == 0 and "Traceback" not in r.output
    assert not (tmp_path / "run").exists()                 # nothing written before the data is there


def test_signals_train_evaluate_predict(tmp_path):
    """A signal folder trains a 1-D network; predict reads .csv/.npy signals cut or padded to its
    length, with the probabilities the library gives for the same samples."""
    rng = np.random.default_rng(5)
    root = tmp_path / "sig"
    for k, c in enumerate(("low", "high")):
        (root / c).mkdir(parents=True)
        for i in range(12):
            t = np.arange(32)
            np.save(root / c / f"{i}.npy", np.sin(t * (0.3 + 0.9 * k) + rng.uniform(0, 6)) + rng.normal(0, .1, 32))
    out = tmp_path / "run"
    r = _run(["train", "--dataset", root, "--out", out, "--arch", "conv4k5-relu-gap-dense", "--epochs", "3",
              "--batch-size", "8", "--test-split", "0.25"])
    assert r.exit_code == 0, r.output
    model = load_model(out / "model.npz")
    assert model.input_shape == (1, 32) and type(model.layers[0]).__name__ == "Conv1D"
    long = np.sin(np.arange(40) * 1.2)
    (tmp_path / "x.csv").write_text("\n".join(str(v) for v in long))
    np.save(tmp_path / "y.npy", long[:20])
    p = _run(["predict", out / "model.npz", tmp_path / "x.csv", tmp_path / "y.npy", "--json"])
    assert p.exit_code == 0, p.output
    got = json.loads(p.output)
    want = model.predict_proba(np.stack([long[:32], np.r_[long[:20], np.zeros(12)]])[:, None].astype(np.float32))
    for row, probs in zip(got, want):
        top = row["predictions"][0]
        assert top["probability"] == pytest.approx(float(probs.max()), rel=1e-6)
    bad = _run(["predict", out / "model.npz", tmp_path / "missing.wav"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output

def test_force_over_a_finished_run_that_diverges_keeps_the_old_run(tmp_path, data_file):
    out = tmp_path / "run"
    assert _run(["train", "--dataset", data_file, "--out", out, *TINY, "--epochs", "1"]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    r = _run(["train", "--dataset", data_file, "--out", out, *TINY, "--lr", "1e308", "--force"])
    assert r.exit_code == 2 and "training diverged at epoch 1" in r.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize("arch, layer", [("conv100000-dense", "conv100000k3 (layer 1)"),
                                         ("conv8k999-dense", "conv8k999 (layer 1)")])
def test_an_architecture_above_the_memory_budget_is_one_line(tmp_path, cli, arch, layer):
    from convkit.cnn.arch import training_bytes
    from convkit.io.memory import format_bytes

    out = tmp_path / "run"
    r = cli("train", "--arch", arch, "--epochs", "1", "--out", out)
    need, _ = training_bytes(arch, (1, 8, 8), 10, 32)
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert f"'{arch}'" in r.stderr and layer in r.stderr and "--max-memory" in r.stderr
    assert f"needs about {format_bytes(need)[:-4]}" in r.stderr and "budget of 4.0 GiB" in r.stderr
    assert not out.exists()
    r = cli("train", "--arch", arch, "--epochs", "1", "--out", out, "--max-memory", "lots")
    assert r.exit_code == 2 and "--max-memory must be a size in bytes such as 8G" in r.stderr


def test_many_classes_print_the_worst_classes_not_a_matrix(tmp_path, cli):
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(150), 4)
    images = (rng.random((labels.size, 8, 8)) * 255).astype(np.uint8)
    path = tmp_path / "many.npz"
    np.savez(path, images=images, labels=labels)
    out = tmp_path / "run"
    r = cli("train", "--dataset", path, "--arch", "conv4-relu-pool2-dense", "--epochs", "1",
            "--val-split", "0", "--out", out)
    assert r.exit_code == 0, r.stderr
    assert "150 classes: too many for a confusion matrix" in r.stdout and "Lowest: " in r.stdout
    assert len(r.stdout.splitlines()) < 10
    r = cli("evaluate", out / "model.npz", "--dataset", path, "--json")
    answer = json.loads(r.stdout)
    assert answer["confusion_matrix"] is None and len(answer["class_accuracy"]) == 150


def _huge_digit(tmp_path, name="huge.png", block=752):
    """A 6016x6016 PNG (a few hundred KB) that is an 8x8 digit with each pixel a block x block
    square, and that 8x8 digit in [0, 1]."""
    from sklearn.datasets import load_digits

    from convkit.io import write_image

    digit = np.round(load_digits().images[3] / 16 * 255).astype(np.uint8)
    write_image(tmp_path / name, np.kron(digit, np.ones((block, block), np.uint8)))
    return tmp_path / name, digit / 255.0


def test_predict_on_a_huge_image_decodes_it_reduced(tmp_path, cli):
    import tracemalloc

    from convkit.cnn import Conv2D, Dense, Flatten, ReLU, Sequential

    model = Sequential([Conv2D(1, 4, 3, padding=1), ReLU(), Flatten(), Dense(256, 10)], seed=0,
                       input_shape=(1, 8, 8), class_names=[str(i) for i in range(10)])
    model.save(tmp_path / "m.npz")
    path, digit = _huge_digit(tmp_path)
    tracemalloc.start()
    try:
        r = cli("predict", tmp_path / "m.npz", path, "--json", "--top", "10")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert r.exit_code == 0, r.stderr
    assert peak < 32 * 2 ** 20                  # a full decode held 288 MB of floats at least
    got = {p["class"]: p["probability"] for p in json.loads(r.stdout)[0]["predictions"]}
    # decoded at 4 x 8 = 32 pixels a side (box means of whole 188-pixel blocks: the digit with
    # 4 x 4 squares), then resized to 8 x 8 as before, by scikit-image with anti-aliasing
    from skimage.transform import resize
    x = resize(np.kron(digit, np.ones((4, 4))), (8, 8), order=1, anti_aliasing=True)
    want = model.predict_proba(x[None, None].astype(np.float32))[0]
    np.testing.assert_allclose([got[str(i)] for i in range(10)], want, rtol=1e-5)


# ----------------------------------------------------------------------------- hostile input
# (issue 16: Ctrl-C / SIGTERM checkpoint, divergence, forged files and bad options are one line)

@pytest.mark.parametrize("epoch", [1, 2])
def test_sigterm_in_training_checkpoints_the_last_epoch(tmp_path, cli, tiny_digits, monkeypatch, epoch):
    original = EpochReporter.on_batch_end

    def term(self, batch, n_batches, loss):
        if len(self.context.history.epoch) == epoch - 1 and batch == 2:
            sigterm()
        original(self, batch, n_batches, loss)

    monkeypatch.setattr(EpochReporter, "on_batch_end", term)
    out = tmp_path / "run"
    r = cli("train", "--dataset", tiny_digits, "--out", out, "--epochs", "3", *TINY_TRAIN)
    assert r.exit_code == 130 and f"interrupted after {epoch - 1} complete epoch(s)" in r.stderr
    assert "convkit train --resume" in r.stderr and hidden_files(tmp_path) == []
    assert load_checkpoint(out / "checkpoint.npz").epoch == epoch - 1
    monkeypatch.setattr(EpochReporter, "on_batch_end", original)
    resumed = cli("train", "--resume", "--out", out)
    assert resumed.exit_code == 0, resumed.output


def test_interrupt_before_the_first_epoch_leaves_a_usable_folder(tmp_path, cli, tiny_digits, monkeypatch):
    def term(self, context):
        sigterm()

    monkeypatch.setattr(EpochReporter, "on_train_begin", term)
    out = tmp_path / "run"
    r = cli("train", "--dataset", tiny_digits, "--out", out, "--epochs", "1", *TINY_TRAIN)
    assert r.exit_code == 130 and not out.exists()
    monkeypatch.undo()
    again = cli("train", "--dataset", tiny_digits, "--out", out, "--epochs", "1", *TINY_TRAIN)
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize("run, match", [
    ({"dataset": "digits"}, r"run.json is not a convkit run file \(missing keys \['seed', 'test_split', "
                            r"'val_split'\]\)"),
    ("{not json", r"run.json is not a convkit run file \(not JSON"),
    ({"dataset": "digits", "seed": "x", "test_split": 0.25, "val_split": 0.1}, "run.json: seed must be int"),
])
def test_evaluate_with_a_bad_run_json_names_it(tmp_path, cli, run, match):
    import re
    small_model().save(tmp_path / "model.npz")
    (tmp_path / "run.json").write_text(run if isinstance(run, str) else json.dumps(run))
    r = cli("evaluate", tmp_path / "model.npz")
    assert r.exit_code == 2 and re.search(match, r.stderr), r.stderr
    assert r.stderr.count("\n") == 1


def test_diverging_training_stops_and_keeps_the_last_good_checkpoint(tmp_path, cli, tiny_digits):
    out = tmp_path / "run"
    r = cli("train", "--dataset", tiny_digits, "--out", out, "--epochs", "3", "--lr", "1e308", *TINY_TRAIN)
    assert r.exit_code == 2 and "training diverged at epoch 1 (loss nan); lower --lr" in r.stderr
    assert "RuntimeWarning" not in r.output and r.stderr.count("\n") == 2      # header + error
    ckpt = load_checkpoint(out / "checkpoint.npz")           # finite, else loading would refuse it
    assert ckpt.epoch == 0
    assert not (out / "metrics.json").exists() and hidden_files(tmp_path) == []


def test_predict_with_overflowing_weights_is_one_line(tmp_path, cli, samples):
    model = small_model()                           # positive features, then logits of +inf
    model.layers[0].params["weight"][...] = 1.0
    model.layers[0].params["bias"][...] = 0.0
    model.layers[-1].params["weight"][...] = 3e38
    model.save(tmp_path / "huge.npz")
    r = cli("predict", tmp_path / "huge.npz", samples / "digit_7.png")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "RuntimeWarning" not in r.output
    assert "gives NaN or infinite class scores (its weights overflow float32)" in r.stderr


def test_negative_seed_names_the_option(tmp_path, cli, tiny_digits):
    r = cli("train", "--dataset", tiny_digits, "--seed", "-1", "--out", tmp_path / "run")
    assert r.exit_code == 2 and "--seed" in r.stderr


@pytest.mark.parametrize("meta", [5, {}, {"start": 2, "count": 3}])
def test_forged_checkpoint_state_names_the_checkpoint(tmp_path, cli, tiny_digits, monkeypatch, meta):
    original = EpochReporter.on_batch_end

    def ctrl_c(self, batch, n_batches, loss):
        if len(self.context.history.epoch) == 1:
            raise KeyboardInterrupt
        original(self, batch, n_batches, loss)

    monkeypatch.setattr(EpochReporter, "on_batch_end", ctrl_c)
    out = tmp_path / "run"
    assert cli("train", "--dataset", tiny_digits, "--out", out, "--epochs", "3", *TINY_TRAIN).exit_code == 130
    monkeypatch.undo()
    ckpt = out / "checkpoint.npz"
    header = npz_header(ckpt)
    key = next(k for k in header["callbacks"] if k.endswith("WeightAverage"))
    header["callbacks"][key]["meta"] = meta
    forged = tmp_path / "forged.npz"
    rewrite_npz(ckpt, forged, {}, header=header)
    forged.replace(ckpt)
    r = cli("train", "--resume", "--out", out)
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.output
    assert str(ckpt) in r.stderr, r.stderr


def test_log_file_has_one_line_per_epoch_and_saved_lists_every_file(tmp_path, cli, tiny_digits):
    import re

    from convkit.cnn.runs import RUN_FILES
    r = cli("train", "--dataset", tiny_digits, "--out", tmp_path / "run", "--epochs", "2", *TINY_TRAIN)
    assert r.exit_code == 0, r.output
    assert not re.search(r"^epoch \d+/2\s*$", r.stderr, re.M), r.stderr      # no bare bar labels
    assert len(re.findall(r"^epoch +\d+/2 +loss", r.stdout, re.M)) == 2
    saved = r.stdout.strip().splitlines()[-1]
    assert "run.json" in saved and all(name in saved for name in RUN_FILES.values())
    assert all((tmp_path / "run" / name).is_file() for name in RUN_FILES.values())
