"""ONNX export and import: a convkit model as an ONNX graph, and a chain of ONNX ops as a Sequential.

`save_onnx` writes every layer convkit has as standard ops (opset 19): Conv
(padding in the node; other boundaries as a Pad node before it), BatchNormalization,
Relu, MaxPool / AveragePool (min pooling as -max(-x), sum as a scaled mean),
GlobalAveragePool, Flatten, Gemm, Softmax; the model's input normalisation
as Sub / Div at the start and a Softmax at the end, so the file takes what
`predict` takes (images in [0, 1] or signals) and answers probabilities.

`load_onnx` reads graphs that are one chain of those ops, including the
shapes PyTorch's exporter writes (Conv with BatchNorm folded in, Flatten or
Reshape, Gemm or MatMul + Add, Pad, Dropout, Identity); any other op is
refused naming the op and the node. The file is checked before anything large
is allocated: its size, the node count, each initializer's declared size
against the bytes that hold it, and external data (read only when asked, only
from files in the model's own folder). Nothing in the file is executed.
`onnx` is an optional extra (``pip install 'convkit-learn[onnx]'``), imported here only.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._names import DISTRIBUTION
from ..io.atomic import atomic_path, regular_input
from .batchnorm import BatchNorm2D
from .dropout import Dropout
from .layers import Conv2D, Dense, Flatten, Layer, MaxPool2D, Pool2D, ReLU, Softmax
from .layers1d import BatchNorm1D, Conv1D, GlobalAvgPool, MaxPool1D, Pool1D
from .model import Sequential
from .serialize import ModelFormatError

__all__ = ["save_onnx", "load_onnx", "OPSET", "MAX_ONNX_BYTES", "MAX_NODES"]

OPSET = 19                      # Pad's "wrap" mode (the wrap boundary) needs 18+
MAX_ONNX_BYTES = 2 ** 28        # a whole file, or all external data together
MAX_NODES = 10_000              # a small CNN has tens
_PAD_MODES = {"mirror": "reflect", "nearest": "edge", "wrap": "wrap"}
_FLOAT = 1                      # TensorProto.FLOAT
_ITEMSIZE = {1: 4, 11: 8, 7: 8, 6: 4, 10: 2}   # float, double, int64, int32, float16


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ModelFormatError(f"ONNX files need the onnx package: pip install '{DISTRIBUTION}[onnx]'") from None
    return onnx


# -- export ----------------------------------------------------------------------------------

class _Graph:
    """Nodes and initializers of the graph being written, with fresh names."""

    def __init__(self, onnx: Any) -> None:
        self.onnx, self.count = onnx, 0
        self.nodes: list[Any] = []
        self.inits: list[Any] = []

    def name(self, stem: str) -> str:
        self.count += 1
        return f"{stem}_{self.count}"

    def const(self, stem: str, value: np.ndarray) -> str:
        name = self.name(stem)
        self.inits.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op: str, inputs: list[str], **attrs: Any) -> str:
        out = self.name(op.lower())
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [out], name=out, **attrs))
        return out


def _conv(g: _Graph, x: str, layer: Conv2D | Conv1D, shape: tuple) -> str:
    """Conv (and a Pad before it for a boundary other than zeros) of a Conv2D or Conv1D."""
    conv = layer._link() if isinstance(layer, Conv1D) else layer
    stride, dil, pads = conv._geom((1,) + ((shape[0], 1, shape[1]) if isinstance(layer, Conv1D) else shape))
    if isinstance(layer, Conv1D):
        stride, dil, pads = stride[1:], dil[1:], pads[1:]
    weight = layer.params["weight"].astype(np.float32)
    begins, ends = [p[0] for p in pads], [p[1] for p in pads]
    if conv.boundary != "constant" and any(begins + ends):
        if conv.boundary not in _PAD_MODES:
            raise ValueError(f"boundary {conv.boundary!r} has no ONNX Pad mode (ONNX pads with constant, "
                             f"reflect = convkit 'mirror', edge = 'nearest', wrap); export a model padded with one "
                             f"of those")
        x = g.op("Pad", [x, g.const("pads", np.array([0, 0] + begins + [0, 0] + ends, np.int64))],
                 mode=_PAD_MODES[conv.boundary])
        begins, ends = [0] * len(begins), [0] * len(ends)
    inputs = [x, g.const("weight", weight)]
    if "bias" in layer.params:
        inputs.append(g.const("bias", layer.params["bias"].astype(np.float32)))
    return g.op("Conv", inputs, strides=list(stride), dilations=list(dil), pads=begins + ends,
                group=conv.groups, kernel_shape=list(weight.shape[2:]))


def _pool(g: _Graph, x: str, layer: Pool2D) -> str:
    """MaxPool / AveragePool; min as -max(-x), sum as the mean times the window size."""
    attrs = {"kernel_shape": list(layer.size), "strides": list(layer.stride),
             "pads": list(layer.padding) * 2, "ceil_mode": int(layer.ceil_mode)}
    if layer.op == "max":
        return g.op("MaxPool", [x], **attrs)
    if layer.op == "min":
        return g.op("Neg", [g.op("MaxPool", [g.op("Neg", [x])], **attrs)])
    mean = g.op("AveragePool", [x], count_include_pad=int(layer.count_include_pad), **attrs)
    if layer.op == "mean":
        return mean
    return g.op("Mul", [mean, g.const("window", np.array(math.prod(layer.size), np.float32))])


def _batchnorm(g: _Graph, x: str, layer: BatchNorm2D) -> str:
    arrays = [layer.params["weight"], layer.params["bias"], layer.buffers["running_mean"],
              layer.buffers["running_var"]]
    names = [g.const(stem, a.astype(np.float32)) for stem, a in zip(("scale", "shift", "mean", "var"), arrays)]
    return g.op("BatchNormalization", [x, *names], epsilon=float(layer.eps))


def save_onnx(model: Sequential, path: str | os.PathLike, *, overwrite: bool = False) -> None:
    """Write `model` as an ONNX file (opset 19, float32) that takes raw samples and gives probabilities.

    Parameters
    ----------
    model : Sequential
        With an ``input_shape`` (C, H, W) or (C, L); the batch size stays free.
    path : str or path-like
        The ``.onnx`` file to write (atomically).
    overwrite : bool, optional
        Replace an existing file.

    Raises
    ------
    ValueError
        No input shape, or a boundary ONNX cannot express (convkit's 'reflect').
    convkit.io.OutputExistsError
        `path` exists and `overwrite` is False.

    Notes
    -----
    Input ``input`` (N, C, H, W) or (N, C, L), output ``probabilities`` (N, K). The
    normalisation ``(x - mean) / std`` is a Sub and a Div; Dropout is left out
    (inference); class names are stored in the metadata (``class_names``, JSON).

    Examples
    --------
    >>> import tempfile
    >>> from convkit.cnn import Conv2D, Flatten, Dense, ReLU, Sequential
    >>> model = Sequential([Conv2D(1, 2, 3), ReLU(), Flatten(), Dense(8, 2)], seed=0, input_shape=(1, 4, 4))
    >>> path = f"{tempfile.mkdtemp()}/m.onnx"
    >>> save_onnx(model, path)
    >>> [type(layer).__name__ for layer in load_onnx(path).layers]
    ['Conv2D', 'ReLU', 'Flatten', 'Dense']
    """
    onnx = _onnx()
    if not model.input_shape or len(model.input_shape) not in (2, 3):
        raise ValueError(f"save_onnx needs a model with an input_shape (C, H, W) or (C, L), got {model.input_shape}")
    g = _Graph(onnx)
    shape = tuple(model.input_shape)
    x = "input"
    norm = model.normalization or {}
    if norm:
        per = (1, shape[0]) + (1,) * (len(shape) - 1)
        for op, key, neutral in (("Sub", "mean", 0.0), ("Div", "std", 1.0)):
            value = np.asarray(norm.get(key, neutral), np.float32)
            x = g.op(op, [x, g.const(key, value.reshape(per) if value.ndim else value)])
    for i, layer in enumerate(model.layers):
        if isinstance(layer, (Conv2D, Conv1D)):
            x = _conv(g, x, layer, shape)
        elif isinstance(layer, (BatchNorm2D,)):
            x = _batchnorm(g, x, layer)
        elif isinstance(layer, ReLU):
            x = g.op("Relu", [x])
        elif isinstance(layer, Pool2D):
            x = _pool(g, x, layer)
        elif isinstance(layer, GlobalAvgPool):
            x = g.op("Flatten", [g.op("GlobalAveragePool", [x])], axis=1)
        elif isinstance(layer, Flatten):
            x = g.op("Flatten", [x], axis=1)
        elif isinstance(layer, Dense):
            inputs = [x, g.const("weight", layer.params["weight"].astype(np.float32))]
            if "bias" in layer.params:
                inputs.append(g.const("bias", layer.params["bias"].astype(np.float32)))
            x = g.op("Gemm", inputs)
        elif isinstance(layer, Softmax):
            x = g.op("Softmax", [x], axis=-1)
        elif isinstance(layer, Dropout):
            continue                                  # inference: the identity
        else:
            raise ValueError(f"layer {i} ({type(layer).__name__}) has no ONNX export")
        shape = tuple(layer.output_shape(shape))
    if not isinstance(model.layers[-1], Softmax):
        x = g.op("Softmax", [x], axis=-1)
    g.nodes[-1].output[0] = "probabilities"
    dims = ["N", *model.input_shape]
    graph = onnx.helper.make_graph(
        g.nodes, "convkit", [onnx.helper.make_tensor_value_info("input", _FLOAT, dims)],
        [onnx.helper.make_tensor_value_info("probabilities", _FLOAT, ["N", shape[0]])], g.inits)
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)],
                                   producer_name="convkit")
    if model.class_names:
        onnx.helper.set_model_props(proto, {"class_names": json.dumps(model.class_names)})
    onnx.checker.check_model(proto, full_check=True)
    with atomic_path(path, overwrite=overwrite) as tmp:
        Path(tmp).write_bytes(proto.SerializeToString())


# -- import ----------------------------------------------------------------------------------

def _check_tensor(name: str, tensor: Any, folder: Path, external: bool, budget: list[int]) -> np.ndarray:
    """An initializer as an array, its declared size checked against its bytes first."""
    onnx = _onnx()
    dims = [int(d) for d in tensor.dims]
    if any(d < 0 for d in dims) or tensor.data_type not in _ITEMSIZE:
        raise ModelFormatError(f"{name}: initializer {tensor.name!r} has dims {dims} of data type "
                               f"{tensor.data_type}; convkit reads float, double and integer tensors")
    nbytes = math.prod(dims) * _ITEMSIZE[tensor.data_type]
    budget[0] += nbytes
    if budget[0] > MAX_ONNX_BYTES:
        raise ModelFormatError(f"{name}: the initializers declare more than {MAX_ONNX_BYTES} bytes")
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        info = {e.key: e.value for e in tensor.external_data}
        where = info.get("location", "")
        if not external:
            raise ModelFormatError(f"{name}: initializer {tensor.name!r} keeps its data in the file {where!r}; "
                                   "pass allow_external=True to read data beside the model")
        if not where or os.path.isabs(where) or ".." in Path(where).parts:
            raise ModelFormatError(f"{name}: external data {where!r} is outside the model's folder; only "
                                   "relative paths inside it are read")
        data_path = regular_input(folder / where, "ONNX external data", "a file beside the model")
        offset, length = int(info.get("offset", 0)), int(info.get("length", nbytes))
        if length != nbytes or offset < 0 or offset + length > data_path.stat().st_size:
            raise ModelFormatError(f"{name}: external data of {tensor.name!r} ({where}, offset {offset}, "
                                   f"length {length}) does not hold its {nbytes} bytes")
        with open(data_path, "rb") as f:
            f.seek(offset)
            raw = f.read(length)
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)
        return np.frombuffer(raw, dtype=dtype.newbyteorder("<")).reshape(dims).astype(dtype)
    stored = len(tensor.raw_data) if tensor.HasField("raw_data") else sum(
        len(getattr(tensor, f)) for f in ("float_data", "double_data", "int64_data", "int32_data")
    ) * _ITEMSIZE[tensor.data_type]
    if tensor.HasField("raw_data") and stored != nbytes or not tensor.HasField("raw_data") and stored < nbytes:
        raise ModelFormatError(f"{name}: initializer {tensor.name!r} declares {dims} ({nbytes} bytes) but "
                               f"holds {stored}")
    return onnx.numpy_helper.to_array(tensor)


def _attrs(node: Any) -> dict[str, Any]:
    onnx = _onnx()
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class _Reader:
    """Walks a chain of nodes from the graph input, building layers."""

    def __init__(self, name: str, consts: dict[str, np.ndarray], shape: tuple) -> None:
        self.name, self.consts, self.shape = name, consts, shape
        self.layers: list[Layer] = []
        self.normalization: dict[str, Any] = {}
        self.pending_pad: tuple | None = None
        self.negated: str | None = None          # "in": after a Neg, "pooled": after Neg, MaxPool

    def refuse(self, node: Any, index: int, why: str) -> ModelFormatError:
        return ModelFormatError(f"{self.name}: node {index} ({node.op_type} {node.name!r}): {why}")

    def const(self, node: Any, index: int, pos: int) -> np.ndarray:
        if pos >= len(node.input) or node.input[pos] not in self.consts:
            raise self.refuse(node, index, f"input {pos} must be a constant tensor")
        return self.consts[node.input[pos]]

    def add(self, layer: Layer) -> None:
        self.shape = tuple(layer.output_shape(self.shape))
        self.layers.append(layer)


def _node_layer(r: _Reader, node: Any, i: int, last: bool) -> None:
    """Turn one node into a layer (or normalisation, or nothing) on the reader."""
    op, a = node.op_type, _attrs(node)
    spatial = len(r.shape) - 1
    if op in ("Sub", "Div") and not r.layers and not r.pending_pad:
        key, neutral = ("mean", 0.0) if op == "Sub" else ("std", 1.0)
        if key in r.normalization or (op == "Sub" and "std" in r.normalization):
            raise r.refuse(node, i, "only one Sub then one Div (the input normalisation) are read before the layers")
        value = r.const(node, i, 1).astype(np.float64).ravel()
        r.normalization[key] = float(value[0]) if value.size == 1 else value.tolist()
        return
    if op in ("Dropout", "Identity"):
        return
    if op == "Pad":
        mode = a.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        pads = r.const(node, i, 1).astype(np.int64).tolist()
        value = r.const(node, i, 2) if len(node.input) > 2 and node.input[2] else np.zeros(1)
        n = len(pads) // 2
        if n != spatial + 2 or any(pads[:2]) or any(pads[n:n + 2]) or (mode == "constant" and float(value.ravel()[0])):
            raise r.refuse(node, i, "only padding of the spatial axes (with zeros, reflect, edge or wrap) is read")
        boundary = {"constant": "constant", "reflect": "mirror", "edge": "nearest", "wrap": "wrap"}.get(mode)
        if boundary is None:
            raise r.refuse(node, i, f"Pad mode {mode!r}")
        r.pending_pad = (boundary, pads[2:n], pads[n + 2:])
        return
    if r.pending_pad and op != "Conv":
        raise r.refuse(node, i, "a Pad must be followed by a Conv")
    if op == "Neg":                                   # min pooling is written -max(-x)
        if r.negated is None:
            r.negated = "in"
            return
        if r.negated == "pooled":
            done = r.layers.pop()
            assert isinstance(done, Pool2D)
            if isinstance(done, Pool1D):
                r.layers.append(Pool1D(done.size[0], done.stride[0], op="min", padding=done.padding[0],
                                       ceil_mode=done.ceil_mode))
            else:
                r.layers.append(Pool2D(done.size, done.stride, op="min", padding=done.padding,
                                       ceil_mode=done.ceil_mode))
            r.negated = None
            return
    if r.negated is not None and not (op == "MaxPool" and r.negated == "in"):
        raise r.refuse(node, i, "a Neg is read only around a MaxPool (min pooling)")
    if op == "Mul" and r.layers and isinstance(r.layers[-1], Pool2D) and r.layers[-1].op == "mean":
        factor = r.const(node, i, 1).ravel()               # sum pooling is written mean * window
        if factor.size == 1 and float(factor[0]) == math.prod(r.layers[-1].size):
            r.layers[-1].op = "sum"
            return
    if op == "Conv":
        w = r.const(node, i, 1)
        b = r.const(node, i, 2) if len(node.input) > 2 and node.input[2] else None
        if w.ndim != spatial + 2 or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise r.refuse(node, i, f"a {spatial}-D input needs a {spatial}-D kernel and explicit pads")
        pads = list(a.get("pads", [0] * (2 * spatial)))
        begin, end = pads[:spatial], pads[spatial:]
        boundary = "constant"
        if r.pending_pad:
            boundary, pb, pe = r.pending_pad
            begin, end = [x + y for x, y in zip(begin, pb)], [x + y for x, y in zip(end, pe)]
            if boundary != "constant" and any(pads):
                raise r.refuse(node, i, "a Conv with its own pads after a non-zero Pad")
            r.pending_pad = None
        if begin != end:
            raise r.refuse(node, i, f"pads {pads}: convkit pads both sides of an axis alike")
        groups = int(a.get("group", 1))
        stride = [int(v) for v in a.get("strides", [1] * spatial)]
        dilation = [int(v) for v in a.get("dilations", [1] * spatial)]
        if spatial == 1:
            layer: Layer = Conv1D(w.shape[1] * groups, w.shape[0], w.shape[2], padding=begin[0], stride=stride[0],
                                  dilation=dilation[0], groups=groups, boundary=boundary, bias=b is not None)
        else:
            layer = Conv2D(w.shape[1] * groups, w.shape[0], w.shape[2:], padding=tuple(begin), stride=stride,
                           dilation=dilation, groups=groups, boundary=boundary, bias=b is not None)
        layer.params["weight"] = w.astype(np.float32).reshape(layer.params["weight"].shape)
        if b is not None:
            layer.params["bias"] = b.astype(np.float32)
        r.add(layer)
    elif op == "BatchNormalization":
        c = r.shape[0]
        eps = float(str(np.float32(a.get("epsilon", 1e-5))))      # the attribute is float32: 1e-05, not 9.99e-06
        layer = BatchNorm1D(c, eps=eps) if spatial == 1 else BatchNorm2D(c, eps=eps)
        for pos, (kind, key) in enumerate((("params", "weight"), ("params", "bias"), ("buffers", "running_mean"),
                                           ("buffers", "running_var")), start=1):
            getattr(layer, kind)[key] = r.const(node, i, pos).astype(np.float32).reshape(c)
        r.add(layer)
    elif op == "Relu":
        r.add(ReLU())
    elif op in ("MaxPool", "AveragePool"):
        pads = list(a.get("pads", [0] * (2 * spatial)))
        if pads[:spatial] != pads[spatial:] or any(d != 1 for d in a.get("dilations", [])) \
                or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise r.refuse(node, i, f"pooling with pads {pads} (both sides of an axis alike are read), "
                                    "dilation or auto_pad")
        size = list(a["kernel_shape"])
        stride = list(a.get("strides", size))
        ceil, with_pad = bool(a.get("ceil_mode", 0)), bool(a.get("count_include_pad", 0))
        if op == "MaxPool":
            r.add(MaxPool1D(size[0], stride[0], padding=pads[0], ceil_mode=ceil) if spatial == 1
                  else MaxPool2D(size, stride, padding=pads[:spatial], ceil_mode=ceil))
        elif spatial == 1:
            r.add(Pool1D(size[0], stride[0], op="mean", padding=pads[0], ceil_mode=ceil, count_include_pad=with_pad))
        else:
            r.add(Pool2D(size, stride, op="mean", padding=pads[:spatial], ceil_mode=ceil,
                         count_include_pad=with_pad))
        if r.negated == "in":
            r.negated = "pooled"
    elif op == "GlobalAveragePool":
        r.add(GlobalAvgPool())
        r.shape = (r.shape[0],)
    elif op in ("Flatten", "Reshape"):
        if op == "Flatten" and a.get("axis", 1) != 1:
            raise r.refuse(node, i, "Flatten must keep the batch axis (axis=1)")
        if op == "Reshape":
            target = r.const(node, i, 1).astype(np.int64).tolist()
            if len(target) != 2 or target[1] not in (-1, int(np.prod(r.shape))):
                raise r.refuse(node, i, f"Reshape to {target}: only (N, features) is read")
        if len(r.shape) > 1:
            r.add(Flatten())
    elif op in ("Gemm", "MatMul"):
        w = r.const(node, i, 1).astype(np.float32)
        if op == "Gemm":
            if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                raise r.refuse(node, i, "Gemm with transA, alpha or beta")
            w = w.T if a.get("transB", 0) else w
        b = r.const(node, i, 2) if op == "Gemm" and len(node.input) > 2 and node.input[2] else None
        layer = Dense(w.shape[0], w.shape[1], bias=b is not None)
        layer.params["weight"] = np.ascontiguousarray(w)
        if b is not None:
            layer.params["bias"] = b.astype(np.float32).reshape(w.shape[1])
        r.add(layer)
    elif op == "Add" and r.layers and isinstance(r.layers[-1], Dense) and "bias" not in r.layers[-1].params:
        dense = r.layers[-1]
        dense.params["bias"] = r.const(node, i, 1).astype(np.float32).reshape(dense.out_features)
    elif op == "Softmax" and last:
        return                                        # convkit's predict_proba applies it
    else:
        raise r.refuse(node, i, "op not supported; convkit reads Conv, Pad, BatchNormalization, Relu, MaxPool, "
                                "AveragePool, GlobalAveragePool, Flatten, Reshape, Gemm, MatMul + Add, Dropout, "
                                "Identity, Softmax (last) and a Sub / Div normalisation")


def load_onnx(path: str | os.PathLike, *, allow_external: bool = False) -> Sequential:
    """Build a Sequential from an ONNX file whose graph is one chain of the ops convkit has.

    Parameters
    ----------
    path : str or path-like
        The ``.onnx`` file.
    allow_external : bool, optional
        Read initializers stored in separate files, only from the model's own
        folder (relative paths without ``..``).

    Returns
    -------
    model : Sequential
        float32, with the file's input shape, class names (convkit's metadata)
        and input normalisation (a leading Sub / Div).

    Raises
    ------
    ModelFormatError
        Not ONNX, truncated, an op or attribute convkit does not have (named
        with its node), an opset older than 13, a dynamic input shape other
        than the batch, oversized or external data not allowed.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from convkit.cnn import Conv1D, Dense, GlobalAvgPool, ReLU, Sequential
    >>> model = Sequential([Conv1D(2, 4, 3), ReLU(), GlobalAvgPool(), Dense(4, 3)], seed=0, input_shape=(2, 9))
    >>> path = f"{tempfile.mkdtemp()}/signals.onnx"
    >>> save_onnx(model, path)
    >>> back = load_onnx(path)
    >>> back.input_shape, bool(np.array_equal(back.params()["0.weight"], model.params()["0.weight"]))
    ((2, 9), True)
    """
    onnx = _onnx()
    p = regular_input(path, "ONNX model", "an .onnx file")
    name = os.fspath(path)
    size = p.stat().st_size
    if size > MAX_ONNX_BYTES:
        raise ModelFormatError(f"{name}: {size} bytes, more than the {MAX_ONNX_BYTES} an ONNX model may have")
    try:
        proto = onnx.load_model_from_string(p.read_bytes())
    except Exception as exc:                             # protobuf's DecodeError and friends
        raise ModelFormatError(f"{name}: not an ONNX model ({type(exc).__name__})") from None
    graph = proto.graph
    opsets = {o.domain: o.version for o in proto.opset_import}
    if opsets.get("", opsets.get("ai.onnx", 0)) < 13:
        raise ModelFormatError(f"{name}: opset {opsets.get('', 0)} is older than 13; re-export with opset >= 13")
    if len(graph.node) > MAX_NODES or not graph.node:
        raise ModelFormatError(f"{name}: {len(graph.node)} nodes; convkit reads 1 to {MAX_NODES}")
    if any(o.domain not in ("", "ai.onnx") for o in proto.opset_import if o.version and o.domain) and any(
            n.domain not in ("", "ai.onnx") for n in graph.node):
        raise ModelFormatError(f"{name}: ops from other domains than the standard one")
    budget = [0]
    consts = {t.name: _check_tensor(name, t, p.parent, allow_external, budget) for t in graph.initializer}
    inputs = [v for v in graph.input if v.name not in consts]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ModelFormatError(f"{name}: one input and one output are read, the graph has {len(inputs)} and "
                               f"{len(graph.output)}")
    dims = inputs[0].type.tensor_type.shape.dim
    shape = tuple(int(d.dim_value) if d.HasField("dim_value") else -1 for d in dims[1:])
    if len(shape) not in (2, 3) or min(shape, default=0) < 1:
        raise ModelFormatError(f"{name}: input {inputs[0].name!r} has shape {[d.dim_param or d.dim_value for d in dims]}; "
                               "convkit needs (N, C, H, W) or (N, C, L) with C, H, W or L fixed")
    reader = _Reader(name, consts, shape)
    current = inputs[0].name
    for i, node in enumerate(graph.node):
        if node.op_type == "Constant":
            value = _attrs(node).get("value")
            if value is None:
                raise reader.refuse(node, i, "only tensor Constants are read")
            consts[node.output[0]] = _check_tensor(name, value, p.parent, False, budget)
            continue
        data_inputs = [x for x in node.input if x and x not in consts]
        if data_inputs != [current]:
            raise reader.refuse(node, i, "the graph is not one chain of layers (each node must take the previous "
                                         "node's output and constants)")
        last = node.output[0] == graph.output[0].name
        try:
            _node_layer(reader, node, i, last)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            if isinstance(exc, ModelFormatError):
                raise
            raise reader.refuse(node, i, f"cannot be read ({exc})") from None
        current = node.output[0]
    if reader.negated is not None:
        raise ModelFormatError(f"{name}: a Neg without its MaxPool and closing Neg (min pooling)")
    if current != graph.output[0].name:
        raise ModelFormatError(f"{name}: the chain ends at {current!r}, not at the output {graph.output[0].name!r}")
    if not reader.layers:
        raise ModelFormatError(f"{name}: no layers in the graph")
    meta = {m.key: m.value for m in proto.metadata_props}
    classes = None
    if "class_names" in meta:
        try:
            classes = json.loads(meta["class_names"])
        except ValueError:
            classes = None
        if not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)
                and (len(classes),) == reader.shape):
            classes = None
    model = Sequential(reader.layers, input_shape=shape, class_names=classes,
                       normalization=reader.normalization or None)
    return model
