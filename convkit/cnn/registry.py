"""Layer configs back to layers: the table of layer types a model file may name.

`layer_from_config` is the inverse of ``layer.config()``; model files and
checkpoints (`convkit.cnn.serialize`) build their layers through it. A new
layer type is one entry in `LAYER_TYPES`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .batchnorm import BatchNorm2D
from .dropout import Dropout
from .layers import Conv2D, Dense, Flatten, Layer, MaxPool2D, Pool2D, ReLU, Softmax
from .layers1d import BatchNorm1D, Conv1D, GlobalAvgPool, MaxPool1D, Pool1D

__all__ = ["LAYER_TYPES", "layer_from_config"]

LAYER_TYPES: dict[str, type[Layer]] = {cls.__name__: cls for cls in
                                       (Conv2D, Dense, ReLU, MaxPool2D, Pool2D, Flatten, Softmax,
                                        BatchNorm2D, Dropout, Conv1D, Pool1D, MaxPool1D, BatchNorm1D,
                                        GlobalAvgPool)}
# layers whose arrays are created in a dtype of their own choosing (float32 by default)
_TYPED = (Conv2D, Dense, BatchNorm2D, Conv1D)


def layer_from_config(config: dict[str, Any], *, dtype: DTypeLike = np.float32) -> Layer:
    """Build a layer from ``layer.config()``.

    Parameters
    ----------
    config : dict
        ``{"type": class name, constructor keywords...}``; lists become tuples.
    dtype : float32 or float64
        The dtype of the layer's parameters and buffers.

    Returns
    -------
    layer : Layer

    Raises
    ------
    ValueError
        Unknown layer type (the accepted ones are listed) or a bad value.
    TypeError
        An unknown keyword.

    Examples
    --------
    >>> from convkit.cnn import Dense
    >>> layer_from_config(Dense(4, 2).config())
    Dense(in_features=4, out_features=2, bias=True)
    """
    if not isinstance(config, dict) or config.get("type") not in LAYER_TYPES:
        raise ValueError(f"layer type must be one of {', '.join(LAYER_TYPES)}; got {config!r}")
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in config.items() if k != "type"}
    cls = LAYER_TYPES[config["type"]]
    if issubclass(cls, _TYPED):
        kwargs["dtype"] = dtype
    return cls(**kwargs)
