"""The explorer's model view: one saved model, every layer's output for a drawn digit.

`ModelView` holds the model file the user named (or none, with the message
saying how to make one). `predict` turns the page's drawing into the model's
input with `convkit.viz.prepare_input` (resize, channels, the model's own
normalisation), runs it through the model's own layers one at a time and
keeps each output with its range (the page draws a layer's maps on one
shared scale); the probabilities are the model's Softmax of the logits. A
request may name one cell of one layer's output: the answer then also holds
how that cell was computed from the layer's input (`cell_detail`: the window,
the weights, their products and the sum for a Conv2D or Dense layer; the
window and the winner for pooling). Reading the file is `Sequential.load`'s
job (no pickle; malformed files raise `ModelFormatError` before any large
allocation).
"""

from __future__ import annotations

import os

import numpy as np

from .checks import MAX_CHANNELS, MAX_SIDE, BadRequest, grid, integer

__all__ = ["ModelView", "DEFAULT_MODEL", "MAX_MAPS", "cell_detail"]

DEFAULT_MODEL = os.path.join("runs", "digits", "model.npz")   # where `convkit train` saves
MAX_MAPS = 64          # feature maps sent per layer; wider layers are cut, and say so


class ModelView:
    """A loaded model (or the absence of one) as the page sees it."""

    def __init__(self, path: str | os.PathLike | None) -> None:
        from convkit.cnn import Sequential

        self.path = None if path is None else os.fspath(path)
        self.model = None if path is None else Sequential.load(path)
        if self.model is not None:
            shape = self.model.input_shape
            if shape is None or len(shape) != 3 or shape[0] not in (1, 3):
                raise ValueError(f"model {self.path} does not record a 1- or 3-channel (C, H, W) input "
                                 f"shape (got {shape}); it cannot read images")

    def info(self) -> dict:
        """What the page needs to draw the model section."""
        if self.model is None:
            return {"available": False,
                    "message": f"No model: {DEFAULT_MODEL} does not exist. Run `convkit train` to "
                               f"make one, then `convkit explore` again (or `convkit explore MODEL`)."}
        m = self.model
        return {"available": True, "path": self.path, "input_shape": list(m.input_shape or ()),
                "classes": self._classes(), "normalization": m.normalization,
                "layers": [f"{n} {type(layer).__name__}" for n, layer in enumerate(m.layers)],
                "configs": [layer.config() for layer in m.layers],
                "shapes": [list(m.input_shape or ())] + [list(s) for s in _shapes(m)]}

    def _classes(self) -> list[str]:
        """Class names, or their indices as text."""
        assert self.model is not None
        n = int(self.model.output_shape()[-1])
        return list(self.model.class_names or [str(i) for i in range(n)])

    def predict(self, body: dict) -> dict:
        """Every layer's output and the class probabilities for the drawn or uploaded image.

        ``body["cell"] = {"layer": n, "index": [f, i, j] or [k]}`` (optional) adds the detail of
        that cell of layer n's output.
        """
        from convkit.cnn import Softmax
        from convkit.viz import resized_input

        if self.model is None:
            raise BadRequest("no model is loaded; run `convkit train` first")
        image = grid(body, "image", 3, (MAX_CHANNELS, MAX_SIDE, MAX_SIDE))      # (C, H, W)
        if image.min() < 0 or image.max() > 1:
            raise BadRequest("image values must be in [0, 1]")
        cell = _cell_request(body, len(self.model.layers))
        pixels = image[0] if image.shape[0] == 1 else np.moveaxis(image, 0, 2)
        drawn = resized_input(self.model, pixels)                               # (1, C, H, W)
        x = self.model.normalize(drawn)
        layers = [{"name": "input", "type": "input", **_planes(x[0])}]
        outputs = [x]
        for n, layer in enumerate(self.model.layers):
            outputs.append(layer.forward(outputs[-1], training=False))
            layers.append({"name": f"{n} {type(layer).__name__}", "type": type(layer).__name__,
                           **_planes(outputs[-1][0])})
        probs = Softmax().forward(np.asarray(outputs[-1], np.float64), training=False)[0]
        answer = {"drawn": _planes(drawn[0]), "layers": layers, "probabilities": probs.tolist(),
                  "classes": self._classes()}
        if cell is not None:
            n, index = cell
            answer["detail"] = cell_detail(self.model.layers[n], outputs[n][0], outputs[n + 1][0], index)
            answer["detail"]["layer"] = n
        return answer


def _cell_request(body: dict, n_layers: int) -> tuple[int, tuple[int, ...]] | None:
    """The optional ``cell`` field: (layer index, index into that layer's output)."""
    cell = body.get("cell")
    if cell is None:
        return None
    if not isinstance(cell, dict):
        raise BadRequest("cell must be an object {layer, index}")
    n = integer(cell, "layer", 0, n_layers - 1)
    index = cell.get("index")
    if not isinstance(index, list) or len(index) not in (1, 3) \
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in index):
        raise BadRequest("cell index must be [map, row, column] or [position]")
    return n, tuple(index)


def _pads(layer, shape: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """The (before, after) padding of a Conv2D layer on each axis, as its forward pads."""
    if layer.padding == "valid":
        return (0, 0), (0, 0)
    if layer.padding == "same":
        total = [d * (k - 1) for d, k in zip(layer.dilation, layer.kernel_size)]
        return (total[0] // 2, total[0] - total[0] // 2), (total[1] // 2, total[1] - total[1] // 2)
    return (layer.padding[0],) * 2, (layer.padding[1],) * 2


def cell_detail(layer, x: np.ndarray, y: np.ndarray, index: tuple[int, ...]) -> dict:
    """How cell `index` of `layer`'s output `y` comes from its input `x` (one sample, no batch).

    Conv2D: the window of the padded input maps under each kernel plane, the products and their
    sum plus the bias. Dense: each input times its weight, summed plus the bias. Pooling: the
    window and what it keeps. ReLU: max(x, 0). Flatten: which map cell the position comes from.
    """
    from convkit import pad

    if len(index) != y.ndim or not all(0 <= v < n for v, n in zip(index, y.shape)):
        raise BadRequest(f"cell index {list(index)} is outside the layer's output of shape {list(y.shape)}")
    kind = type(layer).__name__
    value = float(y[index])
    if kind == "Conv2D":
        f, i, j = index
        groups, cg = layer.groups, x.shape[0] // layer.groups
        first = (f // (y.shape[0] // groups)) * cg                       # the input maps of f's group
        pads = _pads(layer, x.shape[1:])
        xp = pad(np.asarray(x, np.float64), ((0, 0), *pads), layer.boundary)  # (C, H + p, W + p)
        (sh, sw), (dh, dw), (kh, kw) = layer.stride, layer.dilation, layer.kernel_size
        window = xp[first:first + cg, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                    j * sw:j * sw + dw * (kw - 1) + 1:dw]                  # (cg, kh, kw)
        weight = np.asarray(layer.params["weight"][f], np.float64)         # (cg, kh, kw)
        bias = float(layer.params["bias"][f]) if "bias" in layer.params else 0.0
        products = window * weight
        return {"kind": "conv", "value": value, "window": window.tolist(), "weight": weight.tolist(),
                "products": products.tolist(), "bias": bias, "sum": float(products.sum() + bias),
                "channels": [first, first + cg], "origin": [i * sh - pads[0][0], j * sw - pads[1][0]],
                "stride": [sh, sw], "dilation": [dh, dw], "padding": [pads[0][0], pads[1][0]]}
    if kind == "Dense":
        (k,) = index
        weight = np.asarray(layer.params["weight"][:, k], np.float64)       # (n,)
        inputs = np.asarray(x, np.float64).ravel()
        bias = float(layer.params["bias"][k]) if "bias" in layer.params else 0.0
        products = inputs * weight
        return {"kind": "dense", "value": value, "inputs": inputs.tolist(), "weight": weight.tolist(),
                "products": products.tolist(), "bias": bias, "sum": float(products.sum() + bias)}
    if kind in ("MaxPool2D", "Pool2D"):
        f, i, j = index
        (sh, sw), (kh, kw) = layer.stride, layer.size
        window = np.asarray(x[f, i * sh:i * sh + kh, j * sw:j * sw + kw], np.float64)
        return {"kind": "pool", "value": value, "op": layer.op, "window": window.tolist(),
                "origin": [i * sh, j * sw]}
    if kind == "ReLU":
        return {"kind": "relu", "value": value, "input": float(x[index])}
    if kind == "Flatten":
        (k,) = index
        source = [int(v) for v in np.unravel_index(k, x.shape)]
        return {"kind": "flatten", "value": value, "source": source}
    return {"kind": "other", "value": value}


def _shapes(model) -> list[tuple]:
    """Each layer's output shape (one sample), from the layers' own ``output_shape``."""
    shape, shapes = tuple(model.input_shape), []
    for layer in model.layers:
        shape = tuple(layer.output_shape(shape))
        shapes.append(shape)
    return shapes


def _planes(a: np.ndarray) -> dict:
    """A layer output for the page: (F, h, w) maps (at most MAX_MAPS) or a vector, and its range."""
    a = np.asarray(a, np.float64)
    extent = [float(a.min()), float(a.max())]
    if a.ndim == 3:
        return {"shape": list(a.shape), "maps": a[:MAX_MAPS].tolist(), "range": extent}
    return {"shape": list(a.shape), "vector": a.ravel().tolist(), "range": extent}
