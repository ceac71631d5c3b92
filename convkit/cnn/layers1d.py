"""Layers for signals, N x C x L batches: Conv1D, Pool1D / MaxPool1D, BatchNorm1D, and GlobalAvgPool.

No convolution code of their own: a signal is an image of height 1. Conv1D runs
the batched engine of Conv2D (`convkit._engine.conv2d`) on (N, C, 1, L) views
with a (1, k) kernel, Pool1D is `convkit.pool` over the last axis, BatchNorm1D
is BatchNorm2D on the same views. Parameters keep PyTorch's 1-D shapes
(Conv1d's weight is F x C/groups x k), so state dicts carry over.
GlobalAvgPool (mean over every spatial axis, 1-D or 2-D) is here because
signals' networks end with it most often.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from ..windows import per_axis
from .batchnorm import BatchNorm2D
from .layers import Conv2D, Layer, Pool2D, Weighted

__all__ = ["Conv1D", "Pool1D", "MaxPool1D", "BatchNorm1D", "GlobalAvgPool"]


def _as_plane(x: np.ndarray, name: str, channels: int | None = None) -> np.ndarray:
    """(N, C, L) -> an (N, C, 1, L) view; ValueError naming the layer for another shape."""
    if x.ndim != 3 or (channels is not None and x.shape[1] != channels):
        want = f"(N, {channels}, L)" if channels is not None else "(N, C, L)"
        raise ValueError(f"{name} expects input {want}, got shape {x.shape}")
    return x[:, :, None, :]


class Conv1D(Weighted):
    """1-D convolution layer (cross-correlation, as torch.nn.Conv1d), on Conv2D's engine.

    Parameters
    ----------
    in_channels, out_channels : int
        C and F.
    kernel_size : int
    stride, dilation : int
    padding : int, 'valid' or 'same'
        Zeros (or `boundary` values) added at both ends.
    groups : int
        Grouped convolution (weight F x C/groups x k).
    boundary : str
        How padding is filled: any convkit boundary mode (default zeros).
    bias : bool
    dtype : float32 (default) or float64
    seed : int, optional
        Seed of the He initialisation.

    Attributes
    ----------
    params : dict
        ``"weight"`` (F, C/groups, k) and ``"bias"`` (F,).

    Examples
    --------
    >>> import numpy as np
    >>> conv = Conv1D(1, 2, 3, padding=1, seed=0)
    >>> y = conv.forward(np.ones((4, 1, 10), np.float32))      # (N, F, L)
    >>> y.shape, conv.backward(np.ones_like(y)).shape, conv.grads["weight"].shape
    ((4, 2, 10), (4, 1, 10), (2, 1, 3))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, stride: int = 1,
                 padding: int | str = 0, dilation: int = 1, groups: int = 1, boundary: str = "constant",
                 bias: bool = True, dtype: DTypeLike = np.float32, seed: int | None = None) -> None:
        super().__init__()
        k = per_axis(kernel_size, 1, "kernel_size")[0]
        s = per_axis(stride, 1, "stride")[0]
        d = per_axis(dilation, 1, "dilation")[0]
        pad: int | str | tuple = padding if isinstance(padding, str) else (0, per_axis(padding, 1, "padding",
                                                                                           minimum=0)[0])
        if padding == "same" and s != 1:
            raise ValueError(f"padding='same' needs stride 1, got stride={stride!r}")
        self._conv = Conv2D(in_channels, out_channels, (1, k), stride=(1, s), padding=pad, dilation=(1, d),
                            groups=groups, boundary=boundary, bias=bias, dtype=dtype, seed=seed)
        self._conv._axis_names = ("the row", "the signal (axis 2)")    # errors name (N, C, L)'s axis
        self.in_channels, self.out_channels, self.groups = self._conv.in_channels, self._conv.out_channels, self._conv.groups
        self.boundary = self._conv.boundary
        self.kernel_size, self.stride, self.dilation = k, s, d
        self.padding: int | str = padding if isinstance(padding, str) else pad[1]  # type: ignore[index]
        self.fan_in = self._conv.fan_in
        self.params = {key: (v[:, :, 0, :].copy() if key == "weight" else v) for key, v in self._conv.params.items()}

    def _link(self) -> Conv2D:
        """The engine's layer, seeing this layer's arrays (views: optimizers update them in place)."""
        conv = self._conv
        conv.params = {key: (v[:, :, None, :] if key == "weight" else v) for key, v in self.params.items()}
        conv.needs_input_grad, conv.reuse_output = self.needs_input_grad, self.reuse_output
        return conv

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        return self._link().forward(_as_plane(x, "Conv1D", self.in_channels), training)[:, :, 0, :]

    def backward(self, grad: np.ndarray) -> np.ndarray:
        conv = self._link()
        gx: np.ndarray | None = conv.backward(grad[:, :, None, :])    # None for a first layer (no dL/dx)
        self.grads = {key: (g[:, :, 0, :] if key == "weight" else g) for key, g in conv.grads.items()}
        return gx if gx is None else gx[:, :, 0, :]  # type: ignore[return-value]  # None: a first layer

    def output_shape(self, shape: tuple) -> tuple:
        c, length = shape
        return (self.out_channels, self._conv.output_shape((c, 1, length))[2])

    def config(self) -> dict[str, Any]:
        # the engine's layer writes the optional keys (groups, boundary) by its one rule
        return {**self._conv.config(), "type": "Conv1D", "kernel_size": self.kernel_size, "stride": self.stride,
                "padding": self.padding, "dilation": self.dilation}


class Pool1D(Pool2D):
    """Pooling over the last axis of (N, C, L) with `convkit.pool`: op "max", "min", "sum" or "mean".

    Parameters
    ----------
    size : int
        Window length.
    stride : int, optional
        Step between windows; default `size`.
    op : {'max', 'min', 'sum', 'mean'}, optional
    padding : int, optional
    ceil_mode, count_include_pad : bool, optional
        As `convkit.pool` (PyTorch's meaning).

    Examples
    --------
    >>> import numpy as np
    >>> Pool1D(2, op="mean").forward(np.arange(6.0).reshape(1, 1, 6))
    array([[[0.5, 2.5, 4.5]]])
    >>> Pool1D(2, op="mean", ceil_mode=True).forward(np.arange(5.0).reshape(1, 1, 5))
    array([[[0.5, 2.5, 4. ]]])
    """

    _dims = 1

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        _as_plane(x, type(self).__name__)
        return super().forward(x, training)

    def config(self) -> dict[str, Any]:
        config = {"type": type(self).__name__, "size": self.size[0], "stride": self.stride[0], "op": self.op}
        extra = self._extra_config()
        if "padding" in extra:
            extra["padding"] = self.padding[0]
        return {**config, **extra}


class MaxPool1D(Pool1D):
    """Max pooling over the last axis (Pool1D with op="max").

    Parameters
    ----------
    size : int, optional
        Window length (default 2).
    stride : int, optional
        Step between windows; default `size`.
    padding, ceil_mode
        As `Pool1D`.

    Examples
    --------
    >>> import numpy as np
    >>> MaxPool1D(2).forward(np.array([[[1.0, 3.0, 2.0, 0.0]]]))
    array([[[3., 2.]]])
    """

    def __init__(self, size: int = 2, stride: int | None = None, *, padding: int = 0,
                 ceil_mode: bool = False) -> None:
        super().__init__(size, stride, op="max", padding=padding, ceil_mode=ceil_mode)

    def config(self) -> dict[str, Any]:
        config = super().config()
        del config["op"]
        return config


class BatchNorm1D(BatchNorm2D):
    """Batch normalisation of (N, C, L) signals per channel (BatchNorm2D on (N, C, 1, L) views,
    torch.nn.BatchNorm1d's semantics).

    Parameters
    ----------
    num_features : int
        C, the channels normalised.
    eps, momentum, dtype
        As `BatchNorm2D`.

    Examples
    --------
    >>> import numpy as np
    >>> bn = BatchNorm1D(1, dtype=np.float64)
    >>> np.round(bn.forward(np.array([[[1.0, 3.0]]])).ravel(), 4).tolist()
    [-1.0, 1.0]
    """

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        return super().forward(_as_plane(x, "BatchNorm1D", self.num_features), training)[:, :, 0, :]

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return super().backward(grad[:, :, None, :])[:, :, 0, :]

    def config(self) -> dict[str, Any]:
        return {**super().config(), "type": "BatchNorm1D"}


class GlobalAvgPool(Layer):
    """Mean over every spatial axis: (N, C, L) or (N, C, H, W) -> (N, C), as torch's
    ``AdaptiveAvgPool(1)`` followed by a flatten.

    Attributes
    ----------
    params, grads, buffers : dict
        Empty: the average learns nothing.

    Examples
    --------
    >>> import numpy as np
    >>> gap = GlobalAvgPool()
    >>> gap.forward(np.arange(8.0).reshape(1, 2, 4))
    array([[1.5, 5.5]])
    >>> gap.backward(np.array([[4.0, 8.0]]))
    array([[[1., 1., 1., 1.],
            [2., 2., 2., 2.]]])
    """

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        if x.ndim not in (3, 4):
            raise ValueError(f"GlobalAvgPool expects input (N, C, L) or (N, C, H, W), got shape {x.shape}")
        if training:
            self._cache = x.shape
        return x.mean(axis=tuple(range(2, x.ndim)))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        shape = self._cache
        cells = int(np.prod(shape[2:]))
        per_cell = grad / grad.dtype.type(cells) if grad.dtype.kind == "f" else grad / cells
        return np.broadcast_to(per_cell.reshape(per_cell.shape + (1,) * (len(shape) - 2)), shape).copy()

    def output_shape(self, shape: tuple) -> tuple:
        return (shape[0],)

