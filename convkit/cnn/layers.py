"""CNN layers over N x C x H x W batches: Conv2D, Dense, ReLU, pooling, Flatten, Softmax.

Every layer follows one protocol: ``forward(x, training=True)`` caches in
``self._cache`` exactly what ``backward(grad)`` needs, ``backward`` returns
dL/dx and fills ``self.grads`` with the keys of ``self.params``. Trained
arrays live in ``params``; untrained state (running statistics) in
``buffers``, which model files, snapshots and weight averaging carry through
`Sequential.state_dict` and optimizers never see. Conv2D runs
on `convkit._engine.conv2d` (conv2d and its gradients), the pooling layers on
`convkit.pooling.pool` / `pool_backward`: no convolution or window code lives
here. ``config()`` describes a layer as plain JSON data for model files
(`convkit.cnn.registry` turns it back into a layer). BatchNorm2D and Dropout,
whose training and evaluation differ, are in `batchnorm` and `dropout`;
losses, optimizers and the model in further sibling modules.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Sequence

import numpy as np
from numpy.typing import DTypeLike

from .._names import PoolOp
from .._engine.conv2d import Scratch, conv2d_forward, conv2d_grouped_forward, geometry, out_hw
from .._engine.conv2d_grad import conv2d_backward, conv2d_grouped_backward
from .._engine import layer_loops
from ..batched import check_groups
from ..boundary import normalize_boundary
from ..pooling import POOL_OPS, plan_pool, pool, pool_backward
from ..windows import n_windows, per_axis

__all__ = ["Layer", "Conv2D", "Dense", "ReLU", "MaxPool2D", "Pool2D", "Flatten", "Softmax"]


def float_dtype(dtype: DTypeLike) -> np.dtype:
    """np.float32 or np.float64, else ValueError."""
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    return dt


def _compiled(x: np.ndarray) -> bool:
    """Whether a layer's compiled loop serves `x` (float32/float64; numba present)."""
    return x.dtype in (np.float32, np.float64) and layer_loops.available()


class Layer:
    """Base layer: no parameters, no buffers, identity config.

    A layer maps ``forward(x, training=True)`` to its output and
    ``backward(grad)`` (the loss's gradient with respect to that output) to
    the gradient with respect to its input, filling `grads` on the way.

    Attributes
    ----------
    params : dict of str -> ndarray
        Trained arrays (``"weight"``, ``"bias"``); empty here.
    grads : dict of str -> ndarray
        Gradients of the loss, with the keys of `params`, set by `backward`.
    buffers : dict of str -> ndarray
        Untrained state saved with the model (BatchNorm's running statistics).

    Examples
    --------
    >>> layer = Layer()
    >>> layer.params, layer.buffers, layer.config()
    ({}, {}, {'type': 'Layer'})
    """

    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]
    buffers: dict[str, np.ndarray]
    # what forward kept for backward (each layer knows its own layout)
    _cache: Any
    # the first layer of a model does not need dL/dx; Sequential switches it off
    needs_input_grad: bool = True
    # Sequential sets this around a call whose result stays inside the model (an intermediate
    # activation or gradient): the layer may then return a work array of its own that its next
    # such call overwrites, instead of fresh memory (on this machine class faulting in fresh
    # pages costs more than the arithmetic of a LeNet step). Direct calls return fresh arrays.
    reuse_output: bool = False
    _scratch: Scratch | None = None

    def __init__(self) -> None:
        self.params, self.grads, self.buffers = {}, {}, {}
        self._cache = None

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _work(self, name: str, shape: tuple, dtype: DTypeLike) -> np.ndarray:
        """An uninitialised array kept by this layer from call to call (caches, work space).

        Stored under ("layer", name): the same `Scratch` also holds the work arrays of the
        batched convolution (string names), and a returned gradient must never share memory
        with the work space it was computed from."""
        if self._scratch is None:
            self._scratch = Scratch()
        return self._scratch.get(("layer", name), shape, np.dtype(dtype))

    def _result(self, name: str, shape: tuple, dtype: DTypeLike) -> np.ndarray:
        """The array to return: a kept one when `reuse_output` is set, else fresh."""
        return self._work(name, shape, dtype) if self.reuse_output else np.empty(shape, dtype)

    def config(self) -> dict[str, Any]:
        """Plain-JSON description: {"type": class name, constructor keywords...}."""
        return {"type": type(self).__name__}

    def output_shape(self, shape: tuple) -> tuple:
        """Per-sample output shape for a per-sample input shape."""
        return shape

    def astype(self, dtype: DTypeLike) -> "Layer":
        """Cast parameters and buffers to float32/float64; return self."""
        dt = float_dtype(dtype)
        for arrays in (self.params, self.buffers):
            for key in arrays:
                arrays[key] = arrays[key].astype(dt)
        self.grads = {}
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "type")
        return f"{type(self).__name__}({args})"


class Weighted(Layer):
    """Layer with a weight (fan_in inputs per output) and optional bias."""

    fan_in: int

    def init_parameters(self, rng: np.random.Generator, *, relu: bool = True) -> None:
        """He normal (std sqrt(2/fan_in)) before a ReLU, else LeCun normal (sqrt(1/fan_in)); zero bias."""
        dt = self.params["weight"].dtype
        std = np.sqrt((2.0 if relu else 1.0) / self.fan_in)
        self.params["weight"] = (rng.standard_normal(self.params["weight"].shape) * std).astype(dt)
        if "bias" in self.params:
            self.params["bias"] = np.zeros_like(self.params["bias"])


class Conv2D(Weighted):
    """2-D convolution layer (cross-correlation, as torch.nn.Conv2d).

    Parameters
    ----------
    in_channels, out_channels : int
        C and F.
    kernel_size : int or (int, int)
    stride, padding, dilation : as `convkit.conv2d` (padding also "valid"/"same").
    groups : int
        Grouped convolution as torch's ``groups=`` (weight F x C/groups x kh x kw).
    boundary : str
        How padding is filled: any convkit boundary mode (default zeros).
    bias : bool
    dtype : float32 (default) or float64
    seed : int, optional
        Seed of the He initialisation (a Sequential with a seed re-initialises).

    Attributes
    ----------
    params : dict
        ``"weight"`` (F, C/groups, kh, kw) and ``"bias"`` (F,).
    grads : dict
        Their gradients after `backward`.

    Examples
    --------
    >>> import numpy as np
    >>> conv = Conv2D(1, 2, 3, padding=1, seed=0)
    >>> y = conv.forward(np.ones((1, 1, 4, 4), np.float32))     # (N, F, H, W)
    >>> y.shape, y.dtype
    ((1, 2, 4, 4), dtype('float32'))
    >>> conv.backward(np.ones_like(y)).shape, conv.grads["weight"].shape
    ((1, 1, 4, 4), (2, 1, 3, 3))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int], *,
                 stride: int | Sequence[int] = 1, padding: int | Sequence[int] | str = 0,
                 dilation: int | Sequence[int] = 1, groups: int = 1, boundary: str = "constant",
                 bias: bool = True, dtype: DTypeLike = np.float32, seed: int | None = None) -> None:
        super().__init__()
        self.in_channels = per_axis(in_channels, 1, "in_channels")[0]
        self.out_channels = per_axis(out_channels, 1, "out_channels")[0]
        self.groups = check_groups(groups, self.in_channels, self.out_channels)
        self.boundary = normalize_boundary(boundary)
        # one Scratch per group: each group's kept columns must survive the other groups' calls
        self._scratches = [Scratch() for _ in range(self.groups)]
        self.kernel_size = per_axis(kernel_size, 2, "kernel_size")
        self.stride = per_axis(stride, 2, "stride")
        self.dilation = per_axis(dilation, 2, "dilation")
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"padding must be an int, a pair of ints, 'valid' or 'same'; got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError(f"padding='same' needs stride 1, got stride={stride!r}")
            self.padding: tuple | str = padding
        else:
            self.padding = per_axis(padding, 2, "padding", minimum=0)
        dt = float_dtype(dtype)
        cg = self.in_channels // self.groups
        self.fan_in = cg * self.kernel_size[0] * self.kernel_size[1]
        self.params["weight"] = np.zeros((self.out_channels, cg) + self.kernel_size, dt)
        if bias:
            self.params["bias"] = np.zeros(self.out_channels, dt)
        self.init_parameters(np.random.default_rng(seed))

    # how errors name the spatial axes (Conv1D's engine layer names its signal)
    _axis_names: tuple[str, str] = ("axis 2", "axis 3")

    def _geom(self, x_shape: tuple):
        """(stride, dilation, pads) for this input shape (validated once per shape)."""
        key = (tuple(x_shape), self.params["weight"].shape)
        cached = getattr(self, "_geom_cache", None)
        if cached is None or cached[0] != key:
            cached = self._geom_cache = (key, geometry(x_shape, self.params["weight"].shape, self.stride,
                                                        self.padding, self.dilation, self._axis_names))
        return cached[1]

    def _general(self) -> bool:
        """Grouped or boundary-padded: the per-group path of the engine."""
        return self.groups > 1 or self.boundary != "constant"

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"Conv2D expects input (N, {self.in_channels}, H, W), got shape {x.shape}")
        w = self.params["weight"]
        stride, dil, pads = self._geom(x.shape)
        if self._general():
            x = x.astype(w.dtype, copy=False)
            y, kept = conv2d_grouped_forward(x, w, self.params.get("bias"), stride, pads, dil, self.groups,
                                             self.boundary, keep_cols=training, scratches=self._scratches)
            if training:
                self._cache = (x, kept, stride, pads, dil)
            return y
        ho, wo = out_hw(x.shape[2:], self.kernel_size, stride, dil, pads)
        out = self._result("out", (x.shape[0], self.out_channels, ho, wo), w.dtype)
        if self._scratch is None:
            self._scratch = Scratch()
        # work arrays and the kept columns are reused from step to step: no fresh pages to fault in
        out, cols = conv2d_forward(x.astype(w.dtype, copy=False), w, self.params.get("bias"),
                                    stride, pads, dil, keep_cols=training, scratch=self._scratch, out=out)
        if training:
            self._cache = (x, cols, stride, pads, dil)
        return out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        x, cols, stride, pads, dil = self._cache
        w = self.params["weight"]
        if self._general():
            gw_g, gb_g, gx_g = conv2d_grouped_backward(grad.astype(w.dtype, copy=False), w, x, stride, pads, dil,
                                                       self.groups, self.boundary, cols=cols,
                                                       need_bias="bias" in self.params,
                                                       need_input=self.needs_input_grad, scratches=self._scratches)
            self.grads = {"weight": gw_g} if gb_g is None else {"weight": gw_g, "bias": gb_g}
            return gx_g  # type: ignore[return-value]  # None only for a first layer (needs_input_grad off)
        out = self._result("grad", x.shape, w.dtype) if self.needs_input_grad else None
        gw, gb, gx = conv2d_backward(grad.astype(w.dtype, copy=False), w, x.shape, stride, pads, dil,
                                      x=x, cols=cols, need_bias="bias" in self.params,
                                      need_input=self.needs_input_grad, scratch=self._scratch, out=out)
        assert gw is not None                                        # always asked for
        self.grads = {"weight": gw}
        if gb is not None:
            self.grads["bias"] = gb
        return gx  # type: ignore[return-value]  # None only for a first layer (needs_input_grad off)

    def output_shape(self, shape: tuple) -> tuple:
        _, h, w = shape
        stride, dil, pads = self._geom((1,) + tuple(shape))
        return (self.out_channels,) + out_hw((h, w), self.kernel_size, stride, dil, pads)

    def config(self) -> dict[str, Any]:
        pad = self.padding if isinstance(self.padding, str) else list(self.padding)
        config = {"type": "Conv2D", "in_channels": self.in_channels, "out_channels": self.out_channels,
                  "kernel_size": list(self.kernel_size), "stride": list(self.stride), "padding": pad,
                  "dilation": list(self.dilation), "bias": "bias" in self.params}
        # written only when set, so files and checkpoints from before them keep their configs
        if self.groups != 1:
            config["groups"] = self.groups
        if self.boundary != "constant":
            config["boundary"] = self.boundary
        return config


class Dense(Weighted):
    """Fully connected layer: y = x @ W + b, W of shape (in_features, out_features).

    Parameters
    ----------
    in_features, out_features : int
        Length of each input row and of each output row.
    bias : bool, optional
        Add the learned bias b.
    dtype : float32 (default) or float64
    seed : int, optional
        Seed of the initial weights.

    Examples
    --------
    >>> import numpy as np
    >>> dense = Dense(4, 3, seed=0)
    >>> dense.params["weight"].shape, dense.forward(np.ones((2, 4), np.float32)).shape
    ((4, 3), (2, 3))
    """

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True,
                 dtype: DTypeLike = np.float32, seed: int | None = None) -> None:
        super().__init__()
        self.in_features = per_axis(in_features, 1, "in_features")[0]
        self.out_features = per_axis(out_features, 1, "out_features")[0]
        dt = float_dtype(dtype)
        self.fan_in = self.in_features
        self.params["weight"] = np.zeros((self.in_features, self.out_features), dt)
        if bias:
            self.params["bias"] = np.zeros(self.out_features, dt)
        self.init_parameters(np.random.default_rng(seed))

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"Dense expects input (N, {self.in_features}), got shape {x.shape}")
        w = self.params["weight"]
        x = x.astype(w.dtype, copy=False)
        if training:
            self._cache = x
        y = x @ w
        if "bias" in self.params:
            y += self.params["bias"]
        return y

    def backward(self, grad: np.ndarray) -> np.ndarray:
        x = self._cache
        self.grads = {"weight": x.T @ grad}
        if "bias" in self.params:
            self.grads["bias"] = grad.sum(axis=0)
        return grad @ self.params["weight"].T

    def output_shape(self, shape: tuple) -> tuple:
        return (self.out_features,)

    def config(self) -> dict[str, Any]:
        return {"type": "Dense", "in_features": self.in_features, "out_features": self.out_features,
                "bias": "bias" in self.params}


class ReLU(Layer):
    """max(x, 0).

    Attributes
    ----------
    params, grads, buffers : dict
        Empty: ReLU learns nothing.

    Examples
    --------
    >>> import numpy as np
    >>> relu = ReLU()
    >>> relu.forward(np.array([[-1.0, 2.0]]))
    array([[-0.,  2.]])
    >>> relu.backward(np.array([[5.0, 5.0]]))      # the gradient passes where x > 0
    array([[0., 5.]])
    """

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        if not training:
            if _compiled(x):
                out = np.empty(x.shape, x.dtype)
                layer_loops.relu_inference(np.ascontiguousarray(x), out)
                return out
            return x * (x > 0)
        mask = self._work("mask", x.shape, bool)
        self._cache = mask
        if _compiled(x):                    # one pass for the output and the mask
            out = self._result("out", x.shape, x.dtype)
            layer_loops.relu_forward(np.ascontiguousarray(x), out, mask)
            return out
        np.greater(x, 0, out=mask)
        return np.multiply(x, mask, out=self._result("out", x.shape, x.dtype))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        mask = self._cache
        dtype = np.result_type(grad.dtype, mask.dtype)
        if _compiled(grad):
            out = self._result("grad", grad.shape, dtype)
            layer_loops.relu_backward(np.ascontiguousarray(grad), mask, out)
            return out
        return np.multiply(grad, mask, out=self._result("grad", grad.shape, dtype))  # np.where: ~15x slower


class Pool2D(Layer):
    """Pooling over the last two axes with `convkit.pool`: op "max", "min", "sum" or "mean".

    Parameters
    ----------
    size : int or (int, int)
        Window size.
    stride : int or (int, int), optional
        Step between windows; default `size`.
    op : {'max', 'min', 'sum', 'mean'}, optional
        What each window keeps. Max and min send the gradient to the winner.
    padding : int or (int, int), optional
        Cells added on both sides, which never win (and count for the mean only with
        `count_include_pad`).
    ceil_mode, count_include_pad : bool, optional
        As `convkit.pool` (PyTorch's meaning).

    Examples
    --------
    >>> import numpy as np
    >>> Pool2D(2, op="sum").forward(np.arange(16.0).reshape(1, 1, 4, 4))
    array([[[[10., 18.],
             [42., 50.]]]])
    >>> Pool2D(3, 2, op="max", ceil_mode=True).output_shape((1, 6, 6))
    (1, 3, 3)
    """

    _dims = 2                     # pooled axes: the last two (Pool1D: the last one)

    def __init__(self, size: int | Sequence[int], stride: int | Sequence[int] | None = None, *,
                 op: PoolOp = "max", padding: int | Sequence[int] = 0, ceil_mode: bool = False,
                 count_include_pad: bool = False) -> None:
        super().__init__()
        if op not in POOL_OPS:
            raise ValueError(f"op must be one of {', '.join(POOL_OPS)}; got {op!r}")
        self.size = per_axis(size, self._dims, "size")
        self.stride = self.size if stride is None else per_axis(stride, self._dims, "stride")
        self.padding = per_axis(padding, self._dims, "padding", minimum=0)
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)
        self.op: PoolOp = op

    def _options(self) -> dict[str, Any]:
        """The keywords `pool` and `pool_backward` take for this layer."""
        return {"stride": self.stride, "op": self.op, "padding": self.padding,
                "axes": tuple(range(-self._dims, 0)), "ceil_mode": self.ceil_mode,
                "count_include_pad": self.count_include_pad}

    def _plain(self) -> bool:
        """No padding and no ceil_mode: the windows `size` and `stride` alone make."""
        return not any(self.padding) and not self.ceil_mode

    def _compiled_window(self, x: np.ndarray) -> tuple[int, int] | None:
        """(kh, kw) when the compiled loop takes this call: max/min, windows with stride = size up
        to 11 x 11 (the winner's position fits in an int8), no padding or ceil_mode, an (N, C, H, W)
        batch (1-D: (N, C, L), as one row) at least one window large."""
        if self.op not in ("max", "min") or self.size != self.stride or not self._plain() or not _compiled(x):
            return None
        if x.ndim != 2 + self._dims or max(self.size) > 11:
            return None
        if any(n < k for n, k in zip(x.shape[2:], self.size)):       # `pool` says what is wrong
            return None
        return ((1,) + self.size) if self._dims == 1 else self.size   # type: ignore[return-value]

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        window = self._compiled_window(x)
        if window is not None:
            # the CNN's common case in one compiled pass; `pool`'s exact path for NaN (its rule)
            plane = np.ascontiguousarray(x).reshape(x.shape[:-1] + (1,) * (self._dims == 1) + x.shape[-1:])
            kh, kw = window
            dims: tuple[int, ...] = tuple(plane.shape)
            pooled = dims[:-2] + (dims[-2] // kh, dims[-1] // kw)
            shape = pooled[:-2] + pooled[-self._dims:]                  # a signal's row of one dropped
            out = self._result("out", shape, x.dtype) if training else np.empty(shape, x.dtype)
            # an evaluation between a training forward and its backward keeps the kept winners
            code = self._work("code" if training else "eval code", shape, np.int8)
            if not layer_loops.pool_forward(plane, window, self.op, out.reshape(pooled), code.reshape(pooled)):
                if training:
                    self._cache = (x.shape, "code", code)
                return out
        if self.op in ("max", "min") and training:
            y, idx = pool(x, self.size, return_indices=True, **self._options())
            self._cache = (x.shape, "indices", idx)
            return y
        if training:
            self._cache = (x.shape, "indices", None)
        return pool(x, self.size, **self._options())

    def backward(self, grad: np.ndarray) -> np.ndarray:
        shape, kind, idx = self._cache
        if kind == "code":
            out = self._result("grad", shape, grad.dtype)
            window = (1,) * (self._dims == 1) + self.size
            lift = (lambda a: a[..., None, :]) if self._dims == 1 else (lambda a: a)
            layer_loops.pool_backward(lift(np.ascontiguousarray(grad)), lift(idx), window, lift(out))
            return out
        return pool_backward(grad, idx, shape, size=self.size, **self._options())

    def output_shape(self, shape: tuple) -> tuple:
        probe = SimpleNamespace(shape=(1,) + tuple(shape), dtype=np.dtype(np.float32))
        return plan_pool(probe, self.size, **self._options()).shape[1:]

    def config(self) -> dict[str, Any]:
        config = {"type": type(self).__name__, "size": list(self.size), "stride": list(self.stride),
                  "op": self.op}
        return {**config, **self._extra_config()}

    def _extra_config(self) -> dict[str, Any]:
        """The options written only when set (older model files have none of them)."""
        extra: dict[str, Any] = {}
        if any(self.padding):
            extra["padding"] = list(self.padding)
        if self.ceil_mode:
            extra["ceil_mode"] = True
        if self.count_include_pad:
            extra["count_include_pad"] = True
        return extra


class MaxPool2D(Pool2D):
    """Max pooling (Pool2D with op="max").

    Parameters
    ----------
    size : int or (int, int), optional
        Window size (default 2).
    stride : int or (int, int), optional
        Step between windows; default `size`.
    padding, ceil_mode
        As `Pool2D`.

    Examples
    --------
    >>> import numpy as np
    >>> pool = MaxPool2D(2)
    >>> pool.forward(np.arange(16.0).reshape(1, 1, 4, 4))
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    >>> pool.backward(np.ones((1, 1, 2, 2)))[0, 0]      # the winners get the gradient
    array([[0., 0., 0., 0.],
           [0., 1., 0., 1.],
           [0., 0., 0., 0.],
           [0., 1., 0., 1.]])
    """

    def __init__(self, size: int | Sequence[int] = 2, stride: int | Sequence[int] | None = None, *,
                 padding: int | Sequence[int] = 0, ceil_mode: bool = False) -> None:
        super().__init__(size, stride, op="max", padding=padding, ceil_mode=ceil_mode)

    def config(self) -> dict[str, Any]:
        return {"type": "MaxPool2D", "size": list(self.size), "stride": list(self.stride), **self._extra_config()}


class Flatten(Layer):
    """(N, ...) -> (N, prod(...)); a view inside a model, a copy when the result leaves it (the
    array viewed may be a neighbour's work array, overwritten by the next step).

    Attributes
    ----------
    params, grads, buffers : dict
        Empty.

    Examples
    --------
    >>> import numpy as np
    >>> Flatten().forward(np.zeros((2, 3, 4, 5))).shape
    (2, 60)
    """

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        if training:
            self._cache = x.shape
        y = x.reshape(x.shape[0], -1)
        return y.copy() if training and not self.reuse_output else y

    def backward(self, grad: np.ndarray) -> np.ndarray:
        g = grad.reshape(self._cache)
        return g if self.reuse_output else g.copy()

    def output_shape(self, shape: tuple) -> tuple:
        return (int(np.prod(shape)),)


class Softmax(Layer):
    """Softmax over the last axis (for probabilities; train on logits with softmax_cross_entropy).

    Attributes
    ----------
    params, grads, buffers : dict
        Empty.

    Examples
    --------
    >>> import numpy as np
    >>> Softmax().forward(np.array([[0.0, np.log(3.0)]]))
    array([[0.25, 0.75]])
    """

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        z = np.exp(x - x.max(axis=-1, keepdims=True))
        y = z / z.sum(axis=-1, keepdims=True)
        if training:
            self._cache = y
        return y

    def backward(self, grad: np.ndarray) -> np.ndarray:
        y = self._cache
        return y * (grad - (grad * y).sum(axis=-1, keepdims=True))
