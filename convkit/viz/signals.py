"""Pictures of a signal model (trained on N x C x L data): filters and feature maps as curves.

`signal_model_figure` is what ``convkit show`` draws for a 1-D model: the
first Conv1D's filters (one panel each, a line per input channel) and, for an
input signal, the input and every convolution / pooling output as curves (a
line per channel, all panels of a layer on one vertical scale). Image models
are drawn by `convkit.viz.model`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["signal_model_figure", "signal_maps"]


def signal_maps(model: Any, x: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(layer name, (C, L) output) of every Conv1D and 1-D pooling layer for one signal `x` (1, C, L),
    the model's normalisation applied as in `predict`.

    Examples
    --------
    >>> import numpy as np
    >>> from convkit.cnn import Conv1D, MaxPool1D, GlobalAvgPool, Dense, Sequential
    >>> model = Sequential([Conv1D(1, 2, 3), MaxPool1D(2), GlobalAvgPool(), Dense(2, 2)], seed=0, input_shape=(1, 9))
    >>> [(name, m.shape) for name, m in signal_maps(model, np.zeros((1, 1, 9)))]
    [('0 Conv1D', (2, 7)), ('1 MaxPool1D', (2, 3))]
    """
    from ..cnn.layers1d import Conv1D, Pool1D
    out = model.normalize(np.asarray(x))
    maps = []
    for i, layer in enumerate(model.layers):
        out = layer.forward(out, training=False)
        if isinstance(layer, (Conv1D, Pool1D)):
            maps.append((f"{i} {type(layer).__name__}", np.array(out[0])))
    return maps


def signal_model_figure(model: Any, x: np.ndarray | None = None, *, dpi: int = 100):
    """A matplotlib Figure: the first Conv1D's filters and, for `x` (1, C, L), the feature maps.

    Parameters
    ----------
    model : Sequential
        A model whose first weighted layer is a Conv1D.
    x : ndarray of shape (1, C, L), optional
        One signal as `predict` takes it.
    dpi : int, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        The model has no Conv1D layer.

    Examples
    --------
    >>> import numpy as np
    >>> from convkit.cnn import Conv1D, GlobalAvgPool, Dense, Sequential
    >>> model = Sequential([Conv1D(1, 3, 5), GlobalAvgPool(), Dense(3, 2)], seed=0, input_shape=(1, 20))
    >>> fig = signal_model_figure(model, np.sin(np.arange(20.0))[None, None])
    >>> len(fig.axes)
    5
    """
    from matplotlib.figure import Figure

    from ..cnn.layers1d import Conv1D
    conv = next((layer for layer in model.layers if isinstance(layer, Conv1D)), None)
    if conv is None:
        raise ValueError("the model has no Conv1D layer: its filters cannot be drawn as curves")
    weights = conv.params["weight"]                                  # (F, C, k)
    maps = [] if x is None else [("input", np.asarray(model.normalize(x))[0])] + signal_maps(model, x)
    n_filters = weights.shape[0]
    cols = min(8, n_filters)
    filter_rows = -(-n_filters // cols)
    fig = Figure(figsize=(2 * cols, 1.6 * filter_rows + 1.8 * len(maps)), dpi=dpi, layout="constrained")
    grid = fig.add_gridspec(filter_rows + len(maps), cols)
    lo, hi = float(weights.min()), float(weights.max())
    for f in range(n_filters):
        ax = fig.add_subplot(grid[f // cols, f % cols])
        for c in range(weights.shape[1]):
            ax.plot(np.arange(weights.shape[2]), weights[f, c], marker="o", markersize=3, linewidth=1)
        ax.axhline(0, color="0.6", linewidth=0.5)
        ax.set_ylim(lo - 0.05 * (hi - lo + 1e-12), hi + 0.05 * (hi - lo + 1e-12))
        ax.set_title(f"filter {f}", fontsize=8)
        ax.tick_params(labelsize=6)
    for row, (name, values) in enumerate(maps):
        ax = fig.add_subplot(grid[filter_rows + row, :])
        for c, curve in enumerate(values):
            ax.plot(np.arange(len(curve)), curve, linewidth=1, label=f"channel {c}" if len(values) <= 8 else None)
        ax.set_title(f"{name}: {values.shape[0]} channel(s) x {values.shape[1]} samples", fontsize=9)
        ax.tick_params(labelsize=7)
        if len(values) <= 8 and len(values) > 1:
            ax.legend(fontsize=6, ncols=min(8, len(values)), loc="upper right")
    return fig
