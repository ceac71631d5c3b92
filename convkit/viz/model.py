"""A trained model's first-layer filters and, for one input, its feature maps.

`feature_maps` runs one image through the model's own layers (after the
model's own normalisation) and keeps the output of every convolution and
pooling layer; `model_figure` draws the learned filters and those maps as one
matplotlib `Figure` (Agg, no pyplot). Layers after `Flatten` are not maps and
are left out.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._names import LUMA

__all__ = ["first_conv_weights", "prepare_input", "resized_input", "feature_maps", "filter_grid", "model_figure"]


def first_conv_weights(model) -> np.ndarray:
    """The first Conv2D layer's weight, shape (F, C, kh, kw); ValueError if there is none.

    Parameters
    ----------
    model : convkit.cnn.Sequential

    Returns
    -------
    weights : ndarray of shape (F, C, kh, kw)
        float64 copy of the learned detectors.

    Raises
    ------
    ValueError
        The model has no Conv2D layer.

    Examples
    --------
    >>> import numpy as np
    >>> from convkit.cnn import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential
    >>> model = Sequential([Conv2D(1, 2, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(),
    ...                     Dense(8, 2)], input_shape=(1, 4, 4), seed=0)
    >>> first_conv_weights(model).shape
    (2, 1, 3, 3)
    """
    from convkit.cnn import Conv2D

    for layer in model.layers:
        if isinstance(layer, Conv2D):
            return np.asarray(layer.params["weight"], np.float64)
    raise ValueError("the model has no Conv2D layer, so it has no filters to show")


def prepare_input(model, image: ArrayLike, *, invert: bool = False) -> np.ndarray:
    """A gray (H, W) or colour (H, W, C) image in [0, 1] as the model's (1, C, H, W) input.

    The image is resized (scikit-image, anti-aliased) to the model's input
    size, turned gray or repeated to its channel count, optionally inverted
    (1 - x, for dark-on-light drawings given to a model trained on
    light-on-dark digits), then normalised as the model's own ``normalize``.

    Parameters
    ----------
    model : convkit.cnn.Sequential
        A model with an ``input_shape`` of (C, H, W).
    image : array_like of shape (H, W) or (H, W, C)
        Values in [0, 1], any size.
    invert : bool, optional
        Use ``1 - image``.

    Returns
    -------
    x : ndarray of shape (1, C, H, W)
        In the model's dtype.

    Raises
    ------
    ValueError
        The model has no (C, H, W) input shape, or the image cannot feed it.

    Examples
    --------
    >>> import numpy as np
    >>> from convkit.cnn import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential
    >>> model = Sequential([Conv2D(1, 2, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(),
    ...                     Dense(8, 2)], input_shape=(1, 4, 4), seed=0)
    >>> x = prepare_input(model, np.ones((8, 8)))
    >>> x.shape, x.dtype
    ((1, 1, 4, 4), dtype('float32'))
    """
    return model.normalize(resized_input(model, image, invert=invert))


def resized_input(model, image: ArrayLike, *, invert: bool = False) -> np.ndarray:
    """`prepare_input` without the normalisation: the image as drawn, at the model's size.

    Parameters
    ----------
    model : convkit.cnn.Sequential
        A model with an ``input_shape`` of (C, H, W).
    image : array_like of shape (H, W) or (H, W, C)
        Values in [0, 1], any size.
    invert : bool, optional
        Use ``1 - image``.

    Returns
    -------
    x : ndarray of shape (1, C, H, W), float64
        Resized, turned gray or repeated to the model's channels; values in [0, 1].

    Raises
    ------
    ValueError
        As `prepare_input`.

    Examples
    --------
    >>> import numpy as np
    >>> from convkit.cnn import Dense, Flatten, Sequential
    >>> model = Sequential([Flatten(), Dense(16, 2)], input_shape=(1, 4, 4), seed=0)
    >>> resized_input(model, np.ones((8, 8))).shape
    (1, 1, 4, 4)
    """
    from skimage.transform import resize

    if model.input_shape is None or len(model.input_shape) != 3:
        raise ValueError(f"the model's input_shape must be (C, H, W) to take an image, got "
                         f"{model.input_shape}")
    c, h, w = model.input_shape
    a = np.asarray(image, np.float64)
    if a.ndim == 3 and c == 1:
        a = a[..., :3] @ np.asarray(LUMA) if a.shape[2] >= 3 else a[..., 0]
    if a.ndim == 2:
        a = np.repeat(a[..., None], c, axis=2)
    if a.ndim != 3 or a.shape[2] < c:
        raise ValueError(f"image of shape {np.shape(image)} cannot feed a model with {c} channels")
    a = a[..., :c]
    if a.shape[:2] != (h, w):
        a = resize(a, (h, w), anti_aliasing=True)
    if invert:
        a = 1.0 - a
    return np.moveaxis(a, 2, 0)[None]


def feature_maps(model, x: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Run a (1, C, H, W) input through the layers; keep each conv/pool output.

    Parameters
    ----------
    model : convkit.cnn.Sequential
    x : ndarray of shape (1, C, H, W)
        An input prepared by `prepare_input`.

    Returns
    -------
    maps : list of (name, ndarray of shape (F, Ho, Wo))
        ``name`` is ``"<layer index> <layer type>"``, e.g. ``"0 Conv2D"``.

    Examples
    --------
    >>> import numpy as np
    >>> from convkit.cnn import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential
    >>> model = Sequential([Conv2D(1, 2, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(),
    ...                     Dense(8, 2)], input_shape=(1, 4, 4), seed=0)
    >>> x = prepare_input(model, np.ones((8, 8)))
    >>> [(name, maps.shape) for name, maps in feature_maps(model, x)]
    [('0 Conv2D', (2, 4, 4)), ('2 MaxPool2D', (2, 2, 2))]
    """
    from convkit.cnn import Conv2D, Flatten, Pool2D

    maps = []
    for n, layer in enumerate(model.layers):
        if isinstance(layer, Flatten):
            break
        x = layer.forward(x, training=False)
        if isinstance(layer, (Conv2D, Pool2D)):
            maps.append((f"{n} {type(layer).__name__}", np.asarray(x[0], np.float64)))
    return maps


def _mosaic(planes: np.ndarray, columns: int) -> np.ndarray:
    """(K, h, w) planes as they are (one scale for all), tiled row-major with NaN gaps of 1 pixel."""
    k, h, w = planes.shape
    rows = int(np.ceil(k / columns))
    out = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan)
    for i, p in enumerate(planes):
        r, c = divmod(i, columns)
        out[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = p
    return out


def filter_grid(weights: ArrayLike) -> np.ndarray:
    """The filters (F, C, kh, kw) as one mosaic array, channels side by side per filter.

    Parameters
    ----------
    weights : array_like of shape (F, C, kh, kw)

    Returns
    -------
    mosaic : ndarray
        2-D, float64; the filters' weights as they are, in a grid with
        one-cell gaps (NaN).

    Raises
    ------
    ValueError
        `weights` is not 4-D.

    Examples
    --------
    >>> import numpy as np
    >>> filter_grid(np.zeros((4, 1, 3, 3))).shape, filter_grid(np.zeros((2, 3, 3, 3))).shape
    ((7, 7), (3, 19))
    """
    wts = np.asarray(weights, np.float64)
    if wts.ndim != 4:
        raise ValueError(f"weights must be (F, C, kh, kw), got shape {wts.shape}")
    f, c, kh, kw = wts.shape
    planes = wts.transpose(0, 2, 1, 3).reshape(f, kh, c * kw)   # channels next to each other
    return _mosaic(planes, int(np.ceil(np.sqrt(f))))


def model_figure(model, x: np.ndarray | None = None, *, dpi: int = 100, input_title: str = "input"):
    """One Figure: the first layer's filters, then (for an input x) every feature map.

    Parameters
    ----------
    model : convkit.cnn.Sequential
    x : ndarray of shape (1, C, H, W), optional
        An input prepared by `prepare_input`.
    input_title : str, optional
        The input's caption (e.g. to say that the image was resized).

    Returns
    -------
    fig : matplotlib.figure.Figure
        All maps of one layer share one colour scale, shown by a colour bar
        beside them: gray from dark (low) to light (high) when no value is
        negative, else blue above 0 and red below, white at 0.

    Examples
    --------
    >>> import numpy as np
    >>> from convkit.cnn import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential
    >>> model = Sequential([Conv2D(1, 2, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(),
    ...                     Dense(8, 2)], input_shape=(1, 4, 4), seed=0)
    >>> fig = model_figure(model, prepare_input(model, np.ones((8, 8))), dpi=30)
    >>> type(fig).__name__
    'Figure'
    """
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    gray = colormaps["gray"].with_extremes(bad="#9bb8e0")     # gaps between maps in pale blue
    signed = colormaps["RdBu"].with_extremes(bad="#c8c8c8")   # red < 0 < blue, as the explorer
    weights = first_conv_weights(model)
    blocks = [(f"first-layer filters: {weights.shape[0]} x {weights.shape[1]} channel(s) "
               f"of {weights.shape[2]}x{weights.shape[3]}", filter_grid(weights))]
    if x is not None:
        blocks.append((input_title, _mosaic(np.asarray(x[0], np.float64), x.shape[1])))
        for name, maps in feature_maps(model, x):
            blocks.append((f"layer {name}: {maps.shape[0]} maps of {maps.shape[1]}x{maps.shape[2]}",
                           _mosaic(maps, int(np.ceil(np.sqrt(maps.shape[0]))))))
    fig = Figure(figsize=(6, 3.2 * len(blocks)), dpi=dpi)
    for k, (title, mosaic) in enumerate(blocks):
        ax = fig.add_subplot(len(blocks), 1, k + 1)
        lo, hi = float(np.nanmin(mosaic)), float(np.nanmax(mosaic))
        if lo < 0:
            m = max(-lo, hi)
            shown = ax.imshow(np.ma.masked_invalid(mosaic), cmap=signed, vmin=-m, vmax=m,
                              interpolation="nearest")
        else:
            shown = ax.imshow(np.ma.masked_invalid(mosaic), cmap=gray, vmin=0, vmax=hi if hi > 0 else 1,
                              interpolation="nearest")
        fig.colorbar(shown, ax=ax, fraction=0.04, pad=0.02)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig
