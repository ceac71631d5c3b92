"""The explorer's model view: one saved model, every layer's output for a drawn digit.

`ModelView` holds the model file the user named (or none, with the message
saying how to make one). `predict` turns the page's drawing into the model's
input with `convkit.viz.prepare_input` (resize, channels, the model's own
normalisation), runs it through the model's own layers one at a time and
keeps each output; the probabilities are the model's Softmax of the logits.
Reading the file is `Sequential.load`'s job (no pickle; malformed files raise
`ModelFormatError` before any large allocation).
"""

from __future__ import annotations

import os

import numpy as np

from .checks import MAX_CHANNELS, MAX_SIDE, BadRequest, grid

__all__ = ["ModelView", "DEFAULT_MODEL", "MAX_MAPS"]

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
                "classes": self._classes(),
                "layers": [f"{n} {type(layer).__name__}" for n, layer in enumerate(m.layers)]}

    def _classes(self) -> list[str]:
        """Class names, or their indices as text."""
        assert self.model is not None
        n = int(self.model.output_shape()[-1])
        return list(self.model.class_names or [str(i) for i in range(n)])

    def predict(self, body: dict) -> dict:
        """Every layer's output and the class probabilities for the drawn or uploaded image."""
        from convkit.cnn import Softmax
        from convkit.viz import prepare_input

        if self.model is None:
            raise BadRequest("no model is loaded; run `convkit train` first")
        image = grid(body, "image", 3, (MAX_CHANNELS, MAX_SIDE, MAX_SIDE))      # (C, H, W)
        if image.min() < 0 or image.max() > 1:
            raise BadRequest("image values must be in [0, 1]")
        pixels = image[0] if image.shape[0] == 1 else np.moveaxis(image, 0, 2)
        x = prepare_input(self.model, pixels)                                   # (1, C, H, W)
        layers = [{"name": "input", **_planes(x[0])}]
        out = x
        for n, layer in enumerate(self.model.layers):
            out = layer.forward(out, training=False)
            layers.append({"name": f"{n} {type(layer).__name__}", **_planes(out[0])})
        probs = Softmax().forward(np.asarray(out, np.float64), training=False)[0]
        return {"layers": layers, "probabilities": probs.tolist(), "classes": self._classes()}


def _planes(a: np.ndarray) -> dict:
    """A layer output for the page: (F, h, w) maps (at most MAX_MAPS) or a vector."""
    a = np.asarray(a, np.float64)
    if a.ndim == 3:
        return {"shape": list(a.shape), "maps": a[:MAX_MAPS].tolist()}
    return {"shape": list(a.shape), "vector": a.ravel().tolist()}
