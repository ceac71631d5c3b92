"""Sequential: a stack of layers with fit / evaluate / predict and model files.

The model owns the layer list, the metadata a model file records (input
shape, class names, input normalisation), the flat parameter dicts
("0.weight", "3.bias", ...) that optimizers update and the state dict
(parameters and buffers, "3.running_mean") that files, snapshots, early
stopping and weight averaging save and restore. The training loop itself
(shuffling, augmentation, callbacks, resume) is in `training`; the file
format in `serialize`. Those two sit above this module: `fit`, `save` and
`load` import them when called, the one exception to convkit.cnn's
import-downwards rule.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from .._engine.threads import blas_threads
from ..io.images import to_float_image
from .batchnorm import BatchNorm2D
from .dropout import Dropout
from .layers import Layer, Pool2D, ReLU, float_dtype, Weighted
from .losses import softmax_cross_entropy
from .optim import Optimizer

if TYPE_CHECKING:
    from .callbacks import Callback
    from .history import History
    from .serialize import Checkpoint

__all__ = ["Sequential"]

# BLAS threads inside the layers. The products here are small (LeNet-sized), and OpenBLAS's
# extra threads spin on cores other work needs: default architecture, 1000 images 28x28 on a
# shared 2-core machine, inference took 2348 ms with 2 BLAS threads and 607 ms with 1
# (torch: 447-754 ms); under one more busy process 2116 vs 625 ms (benchmarks/bench_threads.py).
_BLAS_THREADS = 1


class Sequential:
    """Layers applied in order; the last one outputs logits.

    Parameters
    ----------
    layers : sequence of Layer
    seed : int, optional
        Re-initialise every Conv2D / Dense in order from ``default_rng(seed)``:
        He normal (std sqrt(2/fan_in)) when the next layer is ReLU, LeCun normal
        (std sqrt(1/fan_in)) otherwise; biases zero. None keeps the layers' own
        initial weights.
    dtype : float32 (default) or float64
        Parameters are cast to it.
    input_shape : (C, H, W) or (features,), optional
        Per-sample input shape, recorded in model files and checked by predict.
    class_names : sequence of str, optional
    normalization : dict, optional
        ``{"mean": m, "std": s}`` (floats or one per channel): `fit`, `evaluate`
        and `predict*` feed ``(X - m) / s`` to the layers; `forward` does not.

    Examples
    --------
    >>> import numpy as np
    >>> from convkit.cnn import Conv2D, ReLU, MaxPool2D, Flatten, Dense, Sequential, Adam
    >>> model = Sequential([Conv2D(1, 4, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(), Dense(16, 2)],
    ...                    seed=0, input_shape=(1, 4, 4), class_names=["dark", "light"])
    >>> X = np.concatenate([np.zeros((8, 1, 4, 4)), np.ones((8, 1, 4, 4))]).astype(np.float32)
    >>> y = np.repeat([0, 1], 8)
    >>> history = model.fit(X, y, epochs=20, batch_size=4, optimizer=Adam(0.05), seed=0)
    >>> model.predict(X[[0, -1]]).tolist()
    [0, 1]
    >>> model.output_shape()
    (2,)
    """

    def __init__(self, layers: Sequence[Layer], *, seed: int | None = None,
                 dtype: DTypeLike = np.float32, input_shape: Sequence[int] | None = None,
                 class_names: Sequence[str] | None = None,
                 normalization: dict[str, Any] | None = None) -> None:
        self.layers = list(layers)
        if not self.layers or not all(isinstance(layer, Layer) for layer in self.layers):
            raise TypeError(f"layers must be a non-empty sequence of convkit.cnn layers, got {layers!r}")
        if len({id(layer) for layer in self.layers}) != len(self.layers):
            raise ValueError("each layer object may appear once in a Sequential (a layer keeps the cache of "
                             "its last call); create a new ReLU() etc. for every position")
        self.dtype = float_dtype(dtype)
        for layer in self.layers:
            layer.astype(self.dtype)
            layer.needs_input_grad = True
        self.layers[0].needs_input_grad = False
        if seed is not None:
            self.init_parameters(seed)
        self.input_shape = None if input_shape is None else tuple(int(n) for n in input_shape)
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        self.normalization = normalization

    # -- parameters -----------------------------------------------------------------------
    def init_parameters(self, seed: int) -> None:
        """He/LeCun re-initialisation of all weighted layers from one seeded generator."""
        rng = np.random.default_rng(seed)
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Weighted):
                nxt = self.layers[i + 1] if i + 1 < len(self.layers) else None
                layer.init_parameters(rng, relu=isinstance(nxt, ReLU))

    def params(self) -> dict[str, np.ndarray]:
        """Flat dict "<layer index>.<name>" -> the live parameter array (updated in place)."""
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()}

    def grads(self) -> dict[str, np.ndarray]:
        """Flat dict of the gradients of the last backward pass (same keys as params())."""
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.grads.items()}

    def buffers(self) -> dict[str, np.ndarray]:
        """Flat dict "<layer index>.<name>" -> the live buffer array (untrained state)."""
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.buffers.items()}

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameters and buffers in one flat dict ("0.weight", "3.running_mean").

        Returns
        -------
        state : dict of str -> ndarray
            The live arrays (copy them to keep a snapshot); everything that
            `load_state_dict` needs to reproduce the model's outputs.

        Examples
        --------
        >>> from convkit.cnn import Dense, Sequential
        >>> a, b = Sequential([Dense(3, 2)], seed=0), Sequential([Dense(3, 2)], seed=1)
        >>> sorted(a.state_dict())
        ['0.bias', '0.weight']
        >>> b.load_state_dict(a.state_dict())
        >>> bool((a.params()["0.weight"] == b.params()["0.weight"]).all())
        True
        """
        return {**self.params(), **self.buffers()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy `state` (as `state_dict()` returns it) into the model's arrays, in place.

        Parameters
        ----------
        state : dict of str -> array_like
            Exactly the keys of `state_dict()`, each with the same shape.

        Raises
        ------
        ValueError
            A key is missing or unexpected, or an array has the wrong shape
            (the message names the key).

        Examples
        --------
        >>> import numpy as np
        >>> from convkit.cnn import Dense, Sequential
        >>> Sequential([Dense(3, 2)]).load_state_dict({"0.weight": np.zeros((2, 3)), "0.bias": np.zeros(2)})
        Traceback (most recent call last):
        ...
        ValueError: state entry 0.weight must have shape (3, 2), got (2, 3)
        """
        _copy_into(self.state_dict(), state, "state")

    def set_params(self, values: dict[str, np.ndarray]) -> None:
        """Copy arrays into the parameters; keys and shapes must match params() exactly."""
        _copy_into(self.params(), values, "parameter")

    def set_rng(self, rng: np.random.Generator) -> None:
        """Let every Dropout layer draw its masks from `rng` (fit passes each epoch's generator)."""
        for layer in self.layers:
            if isinstance(layer, Dropout):
                layer.rng = rng

    def update_bn(self, X: ArrayLike, *, batch_size: int = 256, rng: np.random.Generator | None = None,
                  normalized: bool = False) -> None:
        """Recompute the running statistics of every BatchNorm2D layer over `X`.

        As ``torch.optim.swa_utils.update_bn``: the statistics are reset and
        then set to the plain mean, over the batches of `X` in order, of each
        batch's mean and unbiased variance, with the model in training mode
        (Dropout active, drawing from `rng`). Parameters do not change. After
        averaging weights (`WeightAverage`) the old running statistics belong
        to none of the averaged networks; this makes them match the mean one.

        Parameters
        ----------
        X : array_like of shape (N, ...)
            Samples as fit sees them (normalisation is applied here).
        batch_size : int, optional
        rng : numpy.random.Generator, optional
            Generator for Dropout masks during the pass.
        normalized : bool, optional
            `X` already has the model's `normalization` applied (as inside fit).

        Examples
        --------
        >>> import numpy as np
        >>> from convkit.cnn import BatchNorm2D, Flatten, Dense, Sequential
        >>> model = Sequential([BatchNorm2D(1), Flatten(), Dense(4, 2)], seed=0)
        >>> model.update_bn(np.arange(8.0).reshape(2, 1, 2, 2))
        >>> model.buffers()["0.running_mean"]
        array([3.5], dtype=float32)
        """
        xs = self.check_input(X)
        norms = [layer for layer in self.layers if isinstance(layer, BatchNorm2D)]
        if not norms:
            return
        momenta = [layer.momentum for layer in norms]
        if rng is not None:
            self.set_rng(rng)
        try:
            for layer in norms:
                layer.reset_running_stats()
                layer.momentum = None
            for xb in self.batches(xs, batch_size, normalized=normalized):
                self.forward(xb, True)
        finally:
            for layer, momentum in zip(norms, momenta):
                layer.momentum = momentum

    def astype(self, dtype: DTypeLike) -> "Sequential":
        """Cast every layer to float32/float64 in place; return self."""
        self.dtype = float_dtype(dtype)
        for layer in self.layers:
            layer.astype(self.dtype)
        return self

    # -- passes ---------------------------------------------------------------------------
    def _order(self) -> list[int]:
        """The order the layers run in: as listed, except that a ReLU directly followed by max
        or min pooling runs after the pooling. Both are monotone, so they commute: the values
        and gradients are the same (up to the sign of a zero), and the ReLU touches a quarter
        of the cells. Layer 0 keeps its place (its dL/dx is what `backward` returns)."""
        order = list(range(len(self.layers)))
        i = 1
        while i + 1 < len(order):
            nxt = self.layers[i + 1]
            if type(self.layers[i]) is ReLU and isinstance(nxt, Pool2D) and nxt.op in ("max", "min"):
                order[i], order[i + 1] = i + 1, i
                i += 2
            else:
                i += 1
        return order

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        """Logits of a batch (no normalisation applied)."""
        order = self._order()
        with blas_threads(_BLAS_THREADS):
            for pos, i in enumerate(order):
                layer = self.layers[i]
                # a training activation other than the logits stays inside the model: let the layer
                # hand back its own work array (overwritten by its next training forward)
                layer.reuse_output = training and pos < len(order) - 1
                try:
                    x = layer.forward(x, training)
                finally:
                    layer.reuse_output = False
        return x

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        """Back-propagate dL/dlogits; fills every layer's grads. Returns dL/dx only if
        ``layers[0].needs_input_grad`` is set (off by default: nobody trains the input)."""
        order = self._order()
        with blas_threads(_BLAS_THREADS):
            for pos in range(len(order) - 1, -1, -1):
                layer = self.layers[order[pos]]
                layer.reuse_output = pos > 0                    # gradients inside the model, as forward
                try:
                    grad = layer.backward(grad)
                finally:
                    layer.reuse_output = False
        return grad

    def train_step(self, x: np.ndarray, y: np.ndarray, optimizer: Optimizer) -> float:
        """One forward, loss, backward and optimizer update; returns the batch loss."""
        loss, grad = softmax_cross_entropy(self.forward(x, True), y)
        self.backward(grad)
        optimizer.step(self.params(), self.grads())
        return loss

    def normalize(self, X: ArrayLike) -> np.ndarray:
        """X as the model's dtype with `normalization` applied.

        Unsigned-integer and bool samples are stored images: they are scaled to [0, 1] first by
        the rule `convkit.io.to_float_image` applies to image files (uint8 / 255, uint16 / 65535),
        so a dataset can stay in its stored type and be converted one batch at a time."""
        xs = np.asarray(X)
        if xs.dtype.kind in "ub":
            xs = to_float_image(xs)
        xs = xs.astype(self.dtype, copy=False)
        if self.normalization:
            shape = (1, -1) + (1,) * (xs.ndim - 2) if xs.ndim > 2 else (1, -1)
            mean = np.asarray(self.normalization.get("mean", 0.0), dtype=self.dtype)
            std = np.asarray(self.normalization.get("std", 1.0), dtype=self.dtype)
            xs = (xs - (mean.reshape(shape) if mean.ndim else mean)) / (std.reshape(shape) if std.ndim else std)
        return xs

    def batches(self, X: np.ndarray, batch_size: int, *, normalized: bool = False) -> Iterator[np.ndarray]:
        """Consecutive batches of `X` (checked samples), each converted and normalised on its own:
        a dataset is never copied whole in the model's dtype."""
        for s in range(0, len(X), int(batch_size)):
            xb = X[s:s + int(batch_size)]
            yield xb.astype(self.dtype, copy=False) if normalized else self.normalize(xb)

    def check_input(self, X: ArrayLike, name: str = "X") -> np.ndarray:
        """`X` as an array, checked to be a batch of samples this model takes.

        `fit`, `evaluate`, `predict`, `predict_proba` and `update_bn` check their input with it;
        the samples are returned as stored (not converted or normalised).

        Parameters
        ----------
        X : array_like of shape (N, ...)
            A batch of samples.
        name : str, optional
            How the message names `X` (e.g. ``"validation_data"``).

        Returns
        -------
        X : ndarray of shape (N, ...)
            ``np.asarray(X)``.

        Raises
        ------
        ValueError
            `X` has fewer than 2 dimensions, or its samples do not have the model's
            `input_shape` (when one is recorded).

        Examples
        --------
        >>> import numpy as np
        >>> from convkit.cnn import Dense, Flatten, Sequential
        >>> model = Sequential([Flatten(), Dense(16, 2)], input_shape=(1, 4, 4))
        >>> model.check_input(np.zeros((2, 1, 4, 4))).shape
        (2, 1, 4, 4)
        >>> model.check_input(np.zeros((2, 1, 4, 5)))
        Traceback (most recent call last):
        ...
        ValueError: X samples must have shape (1, 4, 4) (the model's input), got (1, 4, 5)
        """
        X = np.asarray(X)
        if X.ndim < 2:
            raise ValueError(f"{name} must be a batch (N, ...) of samples, got shape {X.shape}")
        if self.input_shape is not None and X.shape[1:] != self.input_shape:
            raise ValueError(f"{name} samples must have shape {self.input_shape} (the model's input), "
                             f"got {X.shape[1:]}")
        return X

    def predict_proba(self, X: ArrayLike, *, batch_size: int = 256) -> np.ndarray:
        """Class probabilities (N, K) (softmax of the logits), computed batch by batch."""
        X = self.check_input(X)
        out = []
        for xb in self.batches(X, batch_size):
            z = self.forward(xb, training=False)
            z = np.exp(z - z.max(axis=1, keepdims=True))
            out.append(z / z.sum(axis=1, keepdims=True))
        return np.concatenate(out) if out else np.zeros((0, 0), self.dtype)

    def predict(self, X: ArrayLike, *, batch_size: int = 256) -> np.ndarray:
        """Predicted class index per sample (batch by batch: never all N x K probabilities)."""
        X = self.check_input(X)
        if len(X) == 0:
            return self.predict_proba(X, batch_size=batch_size).argmax(axis=1)
        return np.concatenate([self.predict_proba(X[s:s + batch_size], batch_size=batch_size).argmax(axis=1)
                               for s in range(0, len(X), batch_size)])

    def evaluate(self, X: ArrayLike, y: ArrayLike, *, batch_size: int = 256,
                 normalized: bool = False) -> dict[str, float]:
        """{"loss": mean cross-entropy, "accuracy": fraction correct} on (X, y), batch by batch
        (`normalized`: X has the model's normalisation applied already)."""
        X = self.check_input(X)
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(f"y must have shape ({len(X)},) to match X, got {y.shape}")
        total, correct = 0.0, 0
        for s, xb in zip(range(0, len(X), batch_size), self.batches(X, batch_size, normalized=normalized)):
            z = self.forward(xb, training=False)
            yb = y[s:s + batch_size]
            loss, _ = softmax_cross_entropy(z, yb)
            total += loss * len(yb)
            correct += int((z.argmax(axis=1) == yb).sum())
        n = max(len(X), 1)
        return {"loss": total / n, "accuracy": correct / n}

    def fit(self, X: ArrayLike, y: ArrayLike, *, epochs: int, batch_size: int = 32, optimizer: Optimizer,
            validation_data: tuple[ArrayLike, ArrayLike] | None = None, validation_split: float = 0.0,
            seed: int | None = None, callbacks: Sequence[Callback] | None = None, augment: int = 0,
            resume: str | os.PathLike | Checkpoint | None = None) -> History:
        """Train with shuffled mini-batches; see `convkit.cnn.training.fit` for every detail."""
        from .training import fit
        return fit(self, X, y, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                   validation_data=validation_data, validation_split=validation_split, seed=seed,
                   callbacks=callbacks, augment=augment, resume=resume)

    # -- shapes and files -----------------------------------------------------------------
    def output_shape(self, input_shape: Sequence[int] | None = None) -> tuple:
        """Per-sample output shape for a per-sample input shape (default: self.input_shape)."""
        shape = tuple(input_shape or self.input_shape or ())
        if not shape:
            raise ValueError("input_shape is needed (the model has none recorded)")
        for layer in self.layers:
            shape = layer.output_shape(shape)
        return shape

    def summary(self) -> str:
        """One line per layer: index, layer, output shape, parameter count."""
        shape = self.input_shape
        lines = []
        for i, layer in enumerate(self.layers):
            shape = layer.output_shape(shape) if shape else None
            n = sum(p.size for p in layer.params.values())
            lines.append(f"{i:>3}  {layer!r:<60} {str(shape) if shape else '':<16} {n:>8}")
        total = sum(p.size for p in self.params().values())
        lines.append(f"total parameters: {total}")
        return "\n".join(lines)

    def config(self) -> dict[str, Any]:
        """The JSON header of a model file (without format/version)."""
        return {"architecture": [layer.config() for layer in self.layers], "dtype": self.dtype.name,
                "input_shape": None if self.input_shape is None else list(self.input_shape),
                "class_names": self.class_names, "normalization": self.normalization}

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> None:
        """Write a model file (see `convkit.cnn.serialize`), atomically."""
        from .serialize import save_model
        save_model(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Sequential":
        """Read a model file or a checkpoint, or an ``.onnx`` file (`convkit.cnn.onnx.load_onnx`);
        ModelFormatError if it is not a valid one."""
        if os.fspath(path).lower().endswith(".onnx"):
            from .onnx import load_onnx
            return load_onnx(path)
        from .serialize import load_model
        return load_model(path)

    def __repr__(self) -> str:
        return "Sequential([" + ", ".join(repr(layer) for layer in self.layers) + "])"



def _copy_into(own: dict[str, np.ndarray], values: dict[str, np.ndarray], what: str) -> None:
    """Copy `values` into the arrays of `own` in place; ValueError naming the first bad key."""
    missing, extra = sorted(set(own) - set(values)), sorted(set(values) - set(own))
    if missing or extra:
        raise ValueError(f"{what} names differ: missing {missing}, unexpected {extra}")
    for key, arr in own.items():
        if np.shape(values[key]) != arr.shape:
            raise ValueError(f"{what} entry {key} must have shape {arr.shape}, got {np.shape(values[key])}")
    for key, arr in own.items():
        arr[...] = values[key]
