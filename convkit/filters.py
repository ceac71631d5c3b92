"""Image filtering: a 2-D kernel over gray or colour images of any sample type.

`filter_image` normalises the image (bool / uint8 / uint16 scaled to [0, 1],
float kept), resolves the kernel once (a name, spec, file or array, see
`convkit.kernels.resolve_kernel`; `resolve_filter` does it ahead of a batch
of images), and runs every channel through `convkit.convolution.correlate`
in "same" mode with the requested boundary. Separable kernels (Gaussian, box,
the Sobel family, ...) run as two 1-D passes. The gradient magnitudes users
ask for by name ("sobel", "prewitt", "scharr") are composites of two such
filters. `to_display` maps a result to the [0, 1] range an image file can hold
(the rule `convkit filter` writes with); reading and writing files is not here.
"""

from __future__ import annotations

import os
from typing import Any, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike

from . import chunked
from ._engine import jit
from ._engine.nonfinite import omit_check, omit_combine, omit_split
from ._docs import docfiller
from ._names import METHODS, NAN_POLICIES, Method, NanPolicy, choices
from .boundary import BoundaryMode, BoundaryName, resolve_boundary
from .kernels import Factors, Kernel, KernelSpec, resolve_kernel
from .windows import per_axis

__all__ = ["filter_image", "resolve_filter", "is_derivative", "to_display", "Filter",
           "COMPOSITE_FILTERS", "COMPOSITE_DESCRIPTIONS"]

# Images from this many pixels use the compiled loops (`convkit._engine.jit`). Below, numpy's
# tap passes take a few ms, while importing numba and loading (or, after an install,
# compiling) the loops costs 0.3-1 s once per process: `convkit filter` on a 512^2 PNG stays
# at its 1.1 s instead of 1.7 s.
JIT_MIN_PIXELS = 1 << 20

# a resolved filter: one kernel, or the (d/dx, d/dy) pair of a gradient-magnitude composite
Filter = Union[Kernel, tuple[Kernel, Kernel]]

# name -> (d/dx kernel, d/dy kernel); the result is sqrt(gx**2 + gy**2)
COMPOSITE_FILTERS = {
    "sobel": ("sobel_x", "sobel_y"),
    "prewitt": ("prewitt_x", "prewitt_y"),
    "scharr": ("scharr_x", "scharr_y"),
}
COMPOSITE_DESCRIPTIONS = {name: f"{name.capitalize()} gradient magnitude sqrt({x}**2 + {y}**2), >= 0"
                 for name, (x, y) in COMPOSITE_FILTERS.items()}


def _as_float_image(image: ArrayLike) -> np.ndarray:
    """Validate shape and dtype; integers scaled to [0, 1] float64, float32/64 kept."""
    return float_image(np.asarray(image))


def float_image(a: Any) -> Any:
    """`_as_float_image` of an array already made (numpy or dask: only dtype, shape, astype, /)."""
    if a.dtype == bool:
        a = a.astype(np.float64)
    elif a.dtype == np.uint8 or a.dtype == np.uint16:
        a = a / float(np.iinfo(a.dtype).max)
    elif a.dtype == np.float16:
        a = a.astype(np.float32)
    elif a.dtype.kind != "f":
        raise TypeError(f"image dtype must be bool, uint8, uint16 or float, got {a.dtype}")
    if a.ndim not in (2, 3) or 0 in a.shape:
        raise ValueError(f"image must have shape (H, W) or (H, W, C) with no empty axis, got {a.shape}")
    return a


def _flipped(kernel: np.ndarray) -> np.ndarray:
    """Kernel for true convolution with the anchor at index k//2 (as ndimage.convolve):
    turned 180 degrees, with a zero row/column in front along even axes."""
    k = kernel[::-1, ::-1]
    widths = [(1 - n % 2, 0) for n in k.shape]
    return np.pad(k, widths) if any(w for w, _ in widths) else k


def _flipped_factors(factors: Factors | None) -> Factors | None:
    """The factors of `_flipped(outer(col, row))`: each factor reversed and anchored alike."""
    if factors is None:
        return None
    col, row = (np.pad(f[::-1], (1 - f.size % 2, 0)) for f in factors)
    return col, row


def _correlate_same(image: np.ndarray, kernel: np.ndarray, boundary: BoundaryMode, cval: float,
                    stride: tuple, method: Method) -> np.ndarray:
    """One correlate call over all channels: the kernel gets a length-1 channel axis."""
    from .convolution import correlate   # deferred: convolution pulls in both engines

    if image.ndim == 3:
        kernel = kernel[:, :, None]
        stride = stride + (1,)
    kernel = kernel.astype(image.dtype, copy=False)
    return correlate(image, kernel, mode="same", method=method, boundary=boundary,
                     cval=cval, stride=stride)


def _apply(image: np.ndarray, resolved: Kernel, boundary: BoundaryMode, cval: float, stride: tuple,
           method: Method, flip: bool) -> np.ndarray:
    """Filter with one resolved kernel, in two 1-D passes when the kernel is separable."""
    kernel, factors = resolved.array, resolved.factors
    if flip:
        kernel, factors = _flipped(kernel), _flipped_factors(factors)
    if (stride == (1, 1) and method != "fft" and kernel.size > 1
            and image.shape[0] * image.shape[1] >= JIT_MIN_PIXELS and jit.available()):
        # compiled row bands; 1-D factors from 4x4 on (at 3x3 one pass of 9 taps is as fast)
        use = factors if factors is not None and kernel.size > sum(kernel.shape) + 4 else None
        if image.ndim == 2:
            return jit.filter_plane(image, kernel, use, boundary, cval)
        return np.stack([jit.filter_plane(image[:, :, c], kernel, use, boundary, cval)
                         for c in range(image.shape[2])], axis=2)
    if factors is None or min(kernel.shape) == 1 or kernel.size <= 2 * sum(kernel.shape):
        # not separable, already 1-D, or so small (3x3) that one pass over the
        # image costs less than two passes with two paddings
        return _correlate_same(image, kernel, boundary, cval, stride, method)
    col, row = factors
    # Pass 1 filters the columns; along the other axis a constant border of cval
    # becomes cval * sum(col) after that pass, which pass 2 must extend with.
    tmp = _correlate_same(image, col[:, None], boundary, cval, (stride[0], 1), method)
    return _correlate_same(tmp, row[None, :], boundary, cval * float(col.sum()),
                           (1, stride[1]), method)


def _composite(kernel: object) -> str | None:
    """The composite's name when `kernel` names one ('sobel', ...), else None."""
    if isinstance(kernel, str) and kernel.strip().lower() in COMPOSITE_FILTERS:
        return kernel.strip().lower()
    return None


def _is_resolved(kernel: object) -> bool:
    """A `Kernel`, or a composite's pair of them."""
    return isinstance(kernel, Kernel) or (
        type(kernel) is tuple and len(kernel) == 2 and all(isinstance(k, Kernel) for k in kernel))


def resolve_filter(kernel: KernelSpec | Filter) -> Filter:
    """Resolve a kernel spec (or composite name) once, ahead of filtering many images.

    Returns a `convkit.kernels.Kernel`, or for ``"sobel"``, ``"prewitt"`` and
    ``"scharr"`` the pair (d/dx, d/dy) whose gradient magnitude they stand
    for. `filter_image` and `is_derivative` take the result as they take the
    spec, without parsing it again.

    Examples
    --------
    >>> gx, gy = resolve_filter("sobel")
    >>> gx.name, gy.name
    ('sobel_x', 'sobel_y')
    """
    if _is_resolved(kernel):
        return kernel  # type: ignore[return-value]
    name = _composite(kernel)
    if name is not None:
        kx, ky = COMPOSITE_FILTERS[name]
        return resolve_kernel(kx), resolve_kernel(ky)
    return resolve_kernel(kernel if isinstance(kernel, (str, os.PathLike)) else np.asarray(kernel))


def _omit_nan(image: ArrayLike, kernel: KernelSpec | Filter, boundary: BoundaryName, cval: float,
              stride: int | Sequence[int], method: Method, flip: bool) -> np.ndarray:
    """nan_policy='omit': the filter of the NaN-free image over the filter of its validity mask
    (constant padding counts as valid), times the kernel's sum."""
    resolved = resolve_filter(kernel)
    if not isinstance(resolved, Kernel):
        raise ValueError(f"nan_policy='omit' needs one kernel with weights of one sign, "
                         f"not the gradient magnitude {kernel!r}")
    omit_check(resolved.array, "filter_image")
    lazy = chunked.is_dask(image)
    img: Any = image if lazy else _as_float_image(image)
    if not lazy and not np.isnan(img).any():
        return filter_image(img, resolved, boundary=boundary, cval=cval, stride=stride, method=method,
                            flip=flip)
    filled, valid = omit_split(img)
    options: dict = dict(boundary=boundary, stride=stride, method=method, flip=flip)
    num = filter_image(filled, resolved, cval=cval, **options)
    den = filter_image(valid, resolved, cval=1.0, **options)
    return omit_combine(num, den, resolved.array)


@docfiller
def filter_image(image: ArrayLike, kernel: KernelSpec | Filter, *,
                 boundary: BoundaryName = "reflect", cval: float = 0.0,
                 stride: int | Sequence[int] = 1, method: Method = "auto",
                 flip: bool = False, nan_policy: NanPolicy = "propagate") -> np.ndarray:
    """Filter a gray or colour image with a 2-D kernel (cross-correlation by default).

    Parameters
    ----------
    image : array_like of shape (H, W) or (H, W, C)
        bool, uint8 or uint16 samples (scaled to [0, 1] by 1 / 255 / 65535)
        or float (used as given). Each channel is filtered on its own.
    kernel : str, path, array_like or Kernel
        Anything `convkit.kernels.get_kernel` accepts (``"edge"``,
        ``"gaussian:sigma=2"``, ``"0,1,0;1,-4,1;0,1,0"``, a kernel file, a 2-D
        array), a gradient-magnitude composite: ``"sobel"``,
        ``"prewitt"``, ``"scharr"``, or what `resolve_filter` returns.
    %(boundary)s
    %(cval)s
        For integer images it is in [0, 1] units.
    %(stride)s
    %(method)s
    flip : bool, optional
        Turn the kernel 180 degrees first: true convolution (as
        ``scipy.ndimage.convolve``) instead of correlation.
    %(nan_policy)s

    Returns
    -------
    out : ndarray of shape (ceil(H / sy), ceil(W / sx)[, C])
        float32 for float32 (and float16) input, float64 otherwise.

    Raises
    ------
    ValueError
        Bad image shape, unknown kernel / boundary / method, stride < 1,
        malformed kernel spec.
    TypeError
        Image dtype other than bool, uint8, uint16 or float.

    Notes
    -----
    ``out[i, j] = sum_{m, n} k[m, n] * img[i*sy + m - kh//2, j*sx + n - kw//2]``
    with ``img`` extended by `boundary`. The anchor is the kernel cell
    ``(kh//2, kw//2)``, for odd AND even sizes: the default ``origin=0`` of
    ``scipy.ndimage.correlate`` (and of ``scipy.signal.correlate(mode="same")``).
    A separable kernel ``outer(col, row)`` runs as a column pass then a row
    pass, which equals the 2-D sum (exactly in real arithmetic, to rounding
    in floats). ``"sobel"`` is ``hypot(sobel_x, sobel_y)``; scikit-image's
    ``skimage.filters.sobel`` is that divided by ``4 * sqrt(2)`` (its kernels
    are normalised by 4 and it averages the squares over the two axes);
    prewitt by ``3 * sqrt(2)`` and scharr by ``16 * sqrt(2)`` likewise.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.array([[0, 0, 255, 255]] * 3, dtype=np.uint8)
    >>> filter_image(img, "sobel_x")
    array([[0., 4., 4., 0.],
           [0., 4., 4., 0.],
           [0., 4., 4., 0.]])
    >>> filter_image(img, "box:3", stride=2).shape
    (2, 2)
    """
    if nan_policy not in NAN_POLICIES:
        raise ValueError(f"nan_policy must be one of {choices(NAN_POLICIES)}; got {nan_policy!r}")
    if nan_policy == "omit":
        return _omit_nan(image, kernel, boundary, cval, stride, method, flip)
    if chunked.is_dask(image):   # issue 12: dask in, lazy dask out
        return chunked.filter_image(image, kernel, boundary=boundary, cval=cval, stride=stride,
                                    method=method, flip=flip)
    img = _as_float_image(image)
    name, cval = resolve_boundary(boundary, cval)
    strides = per_axis(stride, 2, "stride")
    if not np.isfinite(cval):
        raise ValueError(f"cval must be a finite number, got {cval!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {choices(METHODS)}; got {method!r}")
    resolved = resolve_filter(kernel)
    if isinstance(resolved, Kernel):
        return _apply(img, resolved, name, cval, strides, method, flip)
    gx = _apply(img, resolved[0], name, cval, strides, method, flip)
    gy = _apply(img, resolved[1], name, cval, strides, method, flip)
    return np.hypot(gx, gy, out=gx)


def is_derivative(kernel: KernelSpec | Filter) -> bool:
    """True for the gradient-magnitude composites and for kernels whose taps sum to 0
    (edge, laplacian, sobel_x, log, ...): their output is signed detail, not brightness."""
    resolved = resolve_filter(kernel)
    return not isinstance(resolved, Kernel) or resolved.derivative


def to_display(image: ArrayLike, *, magnitude: bool = False, rescale: bool = False) -> np.ndarray:
    """Map a filter result to [0, 1] for writing as an image.

    Parameters
    ----------
    image : array_like
        A `filter_image` result (any real values).
    magnitude : bool, optional
        Take ``abs`` first: the rule for derivative (zero-sum) kernels, whose
        edges of either sign should both show bright.
    rescale : bool, optional
        Stretch to the full range: ``v / max`` after ``abs`` for magnitudes,
        ``(v - min) / (max - min)`` otherwise (a flat image maps to 0).
        Without it values are clipped to [0, 1] (as OpenCV's
        ``convertScaleAbs`` saturates), so smoothing keeps the input's range.

    Returns
    -------
    ndarray, float in [0, 1]
        A dask array for a dask `image` (lazy; with `rescale` its minimum
        and maximum are computed first, in one pass).

    Examples
    --------
    >>> to_display([[-2.0, 0.5]], magnitude=True)
    array([[1. , 0.5]])
    >>> to_display([[-2.0, 0.5, 2.0]], rescale=True)
    array([[0.   , 0.625, 1.   ]])
    """
    # numpy and dask arrays keep their type (numpy's functions dispatch on them); lists become arrays
    a: Any = image if hasattr(image, "__array_function__") else np.asarray(image)
    a = a.astype(np.result_type(a.dtype, np.float32), copy=False)
    if magnitude:
        a = np.abs(a)
    if rescale:
        extremes = np.asarray(np.stack([a.min(), a.max()]), dtype=np.float64)  # one pass on dask
        lo = 0.0 if magnitude else float(extremes[0])
        span = float(extremes[1]) - lo
        return (a - lo) / span if span > 0 else np.zeros_like(a)
    return np.clip(a, 0.0, 1.0)
