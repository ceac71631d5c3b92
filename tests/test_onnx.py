"""ONNX export and import (convkit/cnn/onnx.py), with onnxruntime as the independent reference:
every layer type and each default architecture, graphs written the way PyTorch's exporter writes
them (built here with onnx.helper), round trips, hostile files and the CLI."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

from convkit._names import train_defaults
from convkit.cnn import (BatchNorm2D, Conv1D, Conv2D, Dense, Dropout, Flatten, GlobalAvgPool, MaxPool1D, MaxPool2D,
                         Pool1D, Pool2D, ReLU, Sequential, Softmax, load_checkpoint)
from convkit.cnn.arch import build_layers
from convkit.cnn.onnx import load_onnx, save_onnx
from convkit.cnn.serialize import ModelFormatError
from convkit_cli import cli

RNG = np.random.default_rng(4)


def _runtime(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _with_statistics(model):
    """Running statistics that are not the defaults, so BatchNormalization's export is exercised."""
    for layer in model.layers:
        if "running_mean" in layer.buffers:
            layer.buffers["running_mean"][:] = RNG.standard_normal(layer.buffers["running_mean"].shape)
            layer.buffers["running_var"][:] = 0.5 + RNG.random(layer.buffers["running_var"].shape)
            layer.params["weight"][:] = 1 + 0.3 * RNG.standard_normal(layer.params["weight"].shape)
    return model


MODELS = {
    "digits default": lambda: Sequential(build_layers(train_defaults("digits")["arch"], (1, 8, 8), 10), seed=0,
                                         input_shape=(1, 8, 8), normalization={"mean": 0.3, "std": 0.2}),
    "fashion default": lambda: Sequential(build_layers(train_defaults("fashion-mnist")["arch"], (1, 28, 28), 10),
                                          seed=0, input_shape=(1, 28, 28),
                                          normalization={"mean": [0.28], "std": [0.35]}),
    "mnist1d default": lambda: Sequential(build_layers(train_defaults("mnist1d")["arch"], (1, 40), 10), seed=0,
                                          input_shape=(1, 40), normalization={"mean": [0.1], "std": [1.2]}),
    "pools and dropout": lambda: Sequential([Conv2D(3, 4, 3, padding=1), ReLU(), Pool2D(2, op="min"),
                                             Conv2D(4, 4, (2, 3), stride=(1, 2)), Pool2D(2, op="sum"),
                                             Pool2D((2, 1), op="mean"), Dropout(0.5), Flatten(), Dense(4, 6),
                                             ReLU(), Dense(6, 3)], seed=0, input_shape=(3, 12, 12)),
    "grouped dilated boundaries": lambda: Sequential(
        [Conv2D(2, 4, 3, padding=2, dilation=2, groups=2, boundary="wrap"), BatchNorm2D(4), ReLU(),
         Conv2D(4, 4, 3, padding=1, boundary="mirror"), Conv2D(4, 2, 3, padding="same", boundary="nearest"),
         MaxPool2D(2), GlobalAvgPool(), Dense(2, 3)], seed=0, input_shape=(2, 9, 8)),
    "ceil_mode pools": lambda: Sequential([Conv2D(1, 3, 3), Pool2D(3, 2, op="mean", padding=1, ceil_mode=True,
                                                                   count_include_pad=True),
                                           MaxPool2D(2, ceil_mode=True), Pool2D(2, op="min", padding=1),
                                           Flatten(), Dense(12, 2)], seed=0, input_shape=(1, 11, 11)),
    "signals": lambda: Sequential([Conv1D(2, 4, 5, stride=2, padding=1, dilation=1), ReLU(), MaxPool1D(2),
                                   Conv1D(4, 4, 3, groups=2, padding=2, boundary="wrap"), Pool1D(2, op="min"),
                                   Flatten(), Dense(16, 3), Softmax()], seed=0, input_shape=(2, 30)),
}


@pytest.mark.parametrize("name", MODELS)
def test_export_runs_in_onnxruntime_and_round_trips(tmp_path, name):
    model = _with_statistics(MODELS[name]())
    model.class_names = [f"c{i}" for i in range(model.output_shape()[0])]
    path = tmp_path / "m.onnx"
    save_onnx(model, path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    x = RNG.random((6,) + model.input_shape, dtype=np.float32)
    want = model.predict_proba(x)
    if isinstance(model.layers[-1], Softmax):
        want = model.predict(x, batch_size=6)
        np.testing.assert_allclose(_runtime(path, x).argmax(1), want)
    else:
        np.testing.assert_allclose(_runtime(path, x), want, atol=1e-5)
    back = load_onnx(path)
    def described(layer):                # 'same' padding travels as the pads it means
        config = layer.config()
        if config.get("padding") == "same":
            config["padding"] = [int(sum(p) // 2) for p in layer._geom((1,) + model.input_shape)[2]]
        return type(layer).__name__, config
    ours = [described(l) for l in model.layers if not isinstance(l, (Dropout, Softmax))]
    assert [described(l) for l in back.layers] == ours
    kept = [v for l in model.layers if not isinstance(l, Dropout) for v in (*l.params.values(), *l.buffers.values())]
    got = [v for l in back.layers for v in (*l.params.values(), *l.buffers.values())]
    assert len(kept) == len(got) and all(np.array_equal(a, b) for a, b in zip(kept, got))   # bitwise
    assert back.class_names == model.class_names and back.input_shape == model.input_shape
    if not isinstance(model.layers[-1], Softmax):
        np.testing.assert_array_equal(back.predict_proba(x), want)


def _torch_like_graph(tmp_path, with_matmul=False):
    """A LeNet as PyTorch's exporter writes it: Conv (BatchNorm folded into it), Relu, MaxPool,
    Conv, Relu, MaxPool, Reshape to (N, -1) or Flatten, Dropout, Gemm with transB=1 (or MatMul +
    Add), Identity, and a dynamic batch dimension."""
    w1, b1 = RNG.standard_normal((4, 1, 3, 3)).astype(np.float32), RNG.standard_normal(4).astype(np.float32)
    w2, b2 = RNG.standard_normal((6, 4, 3, 3)).astype(np.float32), RNG.standard_normal(6).astype(np.float32)
    fc, fb = RNG.standard_normal((5, 6)).astype(np.float32), RNG.standard_normal(5).astype(np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"),
                                                        (np.array([0, -1], np.int64), "shape"), (fb, "fb"))]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0]),
             helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], kernel_shape=[3, 3], dilations=[1, 1]),
             helper.make_node("Relu", ["c2"], ["r2"]),
             helper.make_node("MaxPool", ["r2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Reshape", ["p2", "shape"], ["f"]),
             helper.make_node("Dropout", ["f"], ["d"])]
    if with_matmul:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(fc.T), "fcT"))
        nodes += [helper.make_node("MatMul", ["d", "fcT"], ["mm"]), helper.make_node("Add", ["mm", "fb"], ["g"])]
    else:
        inits.append(numpy_helper.from_array(fc, "fc"))
        nodes.append(helper.make_node("Gemm", ["d", "fc", "fb"], ["g"], transB=1))
    nodes.append(helper.make_node("Identity", ["g"], ["logits"]))
    graph = helper.make_graph(nodes, "torch-like", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                                  ["batch", 1, 10, 10])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 5])], inits)
    path = tmp_path / "torch.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


@pytest.mark.parametrize("with_matmul", [False, True])
def test_import_graphs_written_like_pytorch(tmp_path, with_matmul):
    path = _torch_like_graph(tmp_path, with_matmul)
    model = load_onnx(path)
    assert [type(l).__name__ for l in model.layers] == ["Conv2D", "ReLU", "MaxPool2D", "Conv2D", "ReLU",
                                                        "MaxPool2D", "Flatten", "Dense"]
    x = RNG.random((7, 1, 10, 10), dtype=np.float32)
    np.testing.assert_allclose(model.forward(x, training=False), _runtime(path, x), rtol=1e-5, atol=1e-5)


def _save(tmp_path, graph, opset=17, name="h.onnx"):
    path = tmp_path / name
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), str(path))
    return path


def _one_node(op, **attrs):
    return helper.make_graph([helper.make_node(op, ["x"], ["y"], name="the_node", **attrs)], "g",
                             [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 6])],
                             [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, 6])])


def test_hostile_files(tmp_path):
    (tmp_path / "text.onnx").write_text("not a model at all")
    with pytest.raises(ModelFormatError, match="not an ONNX model"):
        load_onnx(tmp_path / "text.onnx")
    good = _torch_like_graph(tmp_path)
    (tmp_path / "cut.onnx").write_bytes(good.read_bytes()[:300])
    with pytest.raises(ModelFormatError, match="not an ONNX model|declares"):
        load_onnx(tmp_path / "cut.onnx")
    with pytest.raises(ModelFormatError, match=r"node 0 \(LSTM 'the_node'\): op not supported"):
        load_onnx(_save(tmp_path, _one_node("LSTM", hidden_size=2)))
    with pytest.raises(ModelFormatError, match="opset 11 is older than 13"):
        load_onnx(_save(tmp_path, _one_node("Relu"), opset=11))
    dynamic = _one_node("Relu")
    dynamic.input[0].type.tensor_type.shape.dim[2].dim_param = "L"
    with pytest.raises(ModelFormatError, match="with C, H, W or L fixed"):
        load_onnx(_save(tmp_path, dynamic, name="dyn.onnx"))
    # an initializer whose dims declare far more than its bytes: refused before numpy allocates
    big = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[10**6, 10**4], raw_data=b"\0" * 16)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 6])], [big])
    with pytest.raises(ModelFormatError, match="declare more than|declares"):
        load_onnx(_save(tmp_path, graph, name="big.onnx"))
    # external data: refused unless asked, and never from outside the model's folder
    outside = tmp_path / "secret.bin"
    outside.write_bytes(b"\0" * 48)
    folder = tmp_path / "model"
    folder.mkdir()
    for location, allow, match in (("data.bin", False, "pass allow_external=True"),
                                   ("../secret.bin", True, "outside the model's folder"),
                                   (str(outside), True, "outside the model's folder")):
        w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2, 6], data_location=TensorProto.EXTERNAL)
        w.external_data.add(key="location", value=location)
        graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 6])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, 6])], [w])
        with pytest.raises(ModelFormatError, match=match):
            load_onnx(_save(folder, graph, name="ext.onnx"), allow_external=allow)
    with pytest.raises(ModelFormatError, match="not a training state"):
        load_checkpoint(good)


def _run(args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_cli_export_then_evaluate_and_predict_the_onnx_file(tmp_path, tiny_digits):
    out = tmp_path / "run"
    assert _run(["train", "--dataset", tiny_digits, "--out", out, "--arch", "conv4-relu-pool2-dense",
                 "--epochs", "2"]).exit_code == 0
    onnx_path = tmp_path / "model.onnx"
    r = _run(["export", out / "model.npz", "-o", onnx_path])
    assert r.exit_code == 0 and onnx_path.is_file(), r.output
    again = _run(["export", out / "model.npz", "-o", onnx_path])
    assert again.exit_code == 2 and "pass --force" in again.output
    ours = json.loads(_run(["evaluate", out / "model.npz", "--dataset", tiny_digits, "--json"]).output)
    theirs = json.loads(_run(["evaluate", onnx_path, "--dataset", tiny_digits, "--json"]).output)
    assert theirs["accuracy"] == ours["accuracy"] and theirs["loss"] == pytest.approx(ours["loss"], rel=1e-6)
    from PIL import Image
    Image.fromarray((RNG.random((8, 8)) * 255).astype(np.uint8)).save(tmp_path / "d.png")
    p1 = json.loads(_run(["predict", out / "model.npz", tmp_path / "d.png", "--json"]).output)
    p2 = json.loads(_run(["predict", onnx_path, tmp_path / "d.png", "--json"]).output)
    assert p1[0]["predictions"][0]["class"] == p2[0]["predictions"][0]["class"]
    bad = _run(["export", out / "model.npz", "-o", tmp_path / "model.txt"])
    assert bad.exit_code == 2 and "must end in .onnx" in bad.output
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x07garbage")
    j = _run(["evaluate", tmp_path / "junk.onnx", "--dataset", tiny_digits])
    assert j.exit_code == 2 and "Traceback" not in j.output and j.output.strip().count("\n") == 0
