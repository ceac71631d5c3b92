"""Sliding windows as a read-only strided view: the one primitive under direct
convolution, pooling and Conv2D.

No data is copied here; callers decide whether to reduce the view (pooling),
contract it with a kernel (direct convolution) or reshape it into a matrix
(im2col for Conv2D). Padding is the caller's job (see `convkit.boundary`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided
from numpy.typing import ArrayLike

__all__ = ["sliding_windows", "n_windows", "extent", "normalize_axes", "per_axis"]


def extent(size: int, dilation: int = 1) -> int:
    """Cells a window of `size` taps spans with `dilation`: ``dilation * (size - 1) + 1``.

    Examples
    --------
    >>> extent(3, dilation=2)          # taps at 0, 2, 4
    5
    """
    return dilation * (size - 1) + 1


def n_windows(n: int, size: int, *, stride: int = 1, dilation: int = 1, pad: int = 0) -> int:
    """How many windows fit along an axis: the one output-length formula of convkit.

    ``(n + pad - extent(size, dilation)) // stride + 1``, where `pad` is the
    total padding added to that axis (both sides) and the window spans
    `extent` cells; 0 when even one window does not fit.

    Parameters
    ----------
    n : int
        Length of the axis.
    size : int
        Window (kernel) length along it.
    stride : int, optional
        Step between windows.
    dilation : int, optional
        Spacing of the window's taps.
    pad : int, optional
        Total padding added to the axis (both ends together).

    Returns
    -------
    count : int
        Number of windows, 0 or more.

    Examples
    --------
    >>> n_windows(7, 3, stride=2)      # the tutorial's 7x7 image, 3x3 detector
    3
    >>> n_windows(5, 3, pad=2)         # 'same' padding keeps the length
    5
    """
    return max(0, (n + pad - extent(size, dilation)) // stride + 1)


def normalize_axes(axes: int | Sequence[int] | None, ndim: int, count: int | None = None,
                   *, name: str = "axes") -> tuple[int, ...]:
    """Turn `axes` into distinct non-negative ints; None means the last `count` axes."""
    if axes is None:
        count = ndim if count is None else count
        return tuple(range(ndim - count, ndim))
    if isinstance(axes, (int, np.integer)):
        axes = (int(axes),)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{name} must be ints, got {a!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{name} entry {a} is out of range for an array with {ndim} dimensions")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must be distinct, got {tuple(axes)}")
    return tuple(out)


def per_axis(value: int | Sequence[int], count: int, name: str, *, minimum: int = 1) -> tuple[int, ...]:
    """Broadcast an int (or check a sequence) to one int per axis, each >= `minimum`."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        values = (int(value),) * count
    else:
        try:
            values = tuple(value)  # type: ignore[arg-type]
        except TypeError:
            raise TypeError(f"{name} must be an int or a sequence of ints, got {value!r}") from None
        if len(values) != count:
            raise ValueError(f"{name} must have one entry per axis ({count}), got {value!r}")
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
            raise TypeError(f"{name} must be an int or a sequence of ints, got {value!r}")
        values = tuple(int(v) for v in values)
    if any(v < minimum for v in values):
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return values


def sliding_windows(x: ArrayLike, window_shape: int | Sequence[int], *,
                    stride: int | Sequence[int] = 1, dilation: int | Sequence[int] = 1,
                    axes: int | Sequence[int] | None = None) -> np.ndarray:
    """Return a read-only view of every window of `x`.

    Parameters
    ----------
    x : array_like
        Input of any shape.
    window_shape : int or tuple of int
        Window extent along each of `axes` (an int applies to every windowed axis).
    stride : int or tuple of int, optional
        Step between consecutive windows along each windowed axis.
    dilation : int or tuple of int, optional
        Spacing between the taps inside a window (à trous).
    axes : int or tuple of int, optional
        Axes to slide along. Default: all axes if `window_shape` is an int,
        else the last ``len(window_shape)`` axes.

    Returns
    -------
    view : ndarray
        Shape: ``x.shape`` with each windowed axis ``n`` replaced by the
        number of positions ``n_windows(n, w, stride=stride, dilation=dilation)``,
        followed by the window axes in the order of `axes`. Read-only.

    Raises
    ------
    ValueError
        If a (dilated) window is larger than its axis, or stride/dilation < 1.

    Notes
    -----
    ``view[..., i, ..., k] = x[..., i*stride + k*dilation, ...]`` along each
    windowed axis, built with ``as_strided`` so it costs no memory.

    Examples
    --------
    >>> import numpy as np
    >>> sliding_windows(np.arange(6), 3, stride=2)
    array([[0, 1, 2],
           [2, 3, 4]])
    """
    x = np.asarray(x)
    if isinstance(window_shape, (int, np.integer)):
        axes_t = normalize_axes(axes, x.ndim, None if axes is not None else x.ndim)
        window = (int(window_shape),) * len(axes_t)
    else:
        window = tuple(int(w) for w in window_shape)
        axes_t = normalize_axes(axes, x.ndim, len(window))
        if len(window) != len(axes_t):
            raise ValueError(f"window_shape {tuple(window_shape)} needs one entry per axis in axes {axes_t}")
    if any(w < 1 for w in window):
        raise ValueError(f"window_shape entries must be >= 1, got {window}")
    strides_ = per_axis(stride, len(axes_t), "stride")
    dilations = per_axis(dilation, len(axes_t), "dilation")
    shape = list(x.shape)
    steps = list(x.strides)
    for ax, w, s, d in zip(axes_t, window, strides_, dilations):
        span = extent(w, d)
        if span > x.shape[ax]:
            raise ValueError(f"window of extent {span} (size {w}, dilation {d}) does not fit "
                             f"axis {ax} of length {x.shape[ax]}")
        shape[ax] = n_windows(x.shape[ax], w, stride=s, dilation=d)
        steps[ax] = x.strides[ax] * s
    shape += window
    steps += [x.strides[ax] * d for ax, d in zip(axes_t, dilations)]
    return as_strided(x, shape=tuple(shape), strides=tuple(steps), writeable=False)
