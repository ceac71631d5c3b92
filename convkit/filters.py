"""Image filtering: a 2-D kernel over gray or colour images of any sample type (or an
N-D kernel over an image of as many axes).

`filter_image` turns the samples into floats by convkit's one rule
(`convkit.io.to_float_image`), plans the call from the image's shape and
dtype (`plan_filter`: the checks, the kernel resolved once - a name, spec,
file or array, see `convkit.kernels.resolve_kernel`; `resolve_filter` does it
ahead of a batch of images), and runs every channel through
`convkit.convolution.correlate` in "same" mode with the requested boundary.
Separable kernels (Gaussian, box, the Sobel family, ...) run as two 1-D
passes. The gradient magnitudes users ask for by name ("sobel", "prewitt",
"scharr", "farid", "roberts") are registry entries made of two such kernels.
A dask image goes up to `convkit.chunked`, which builds its blocks from the
same plan. `to_display` maps a result to the [0, 1] range an image file can
hold (the rule `convkit filter` writes with); reading and writing files is not
here.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple, Sequence, Union

import numpy as np
from numpy.typing import ArrayLike

from ._engine import jit
from ._engine.blockwise import is_dask
from ._engine.nonfinite import omit_check, omit_combine, omit_split
from ._docs import docfiller
from ._names import METHODS, NAN_POLICIES, Method, NanPolicy, choices
from ._kernel_parse import as_kernel_array
from .boundary import Boundary, BoundaryName, resolve_boundary
from .io.images import to_float_image
from .kernels import (Factors, Kernel, KernelSpec, composite_parts, list_kernels, resolve_kernel,
                      sums_to_zero)
from .windows import extent, per_axis

__all__ = ["filter_image", "resolve_filter", "is_derivative", "to_display", "Filter", "FilterCall",
           "plan_filter", "COMPOSITE_FILTERS", "COMPOSITE_DESCRIPTIONS"]

# Images from this many pixels use the compiled loops (`convkit._engine.jit`). Below, numpy's
# tap passes take a few ms, while importing numba and loading (or, after an install,
# compiling) the loops costs 0.3-1 s once per process: `convkit filter` on a 512^2 PNG stays
# at its 1.1 s instead of 1.7 s.
JIT_MIN_PIXELS = 1 << 20

# a resolved filter: one kernel, or the (d/dx, d/dy) pair of a gradient-magnitude composite
Filter = Union[Kernel, tuple[Kernel, Kernel]]

# The gradient magnitudes of the kernel registry (`convkit.kernels`), for callers that list them:
# name -> (d/dx kernel, d/dy kernel), and name -> description.
COMPOSITE_FILTERS = {name: parts for name in list_kernels(magnitudes=True)
                     if (parts := composite_parts(name)) is not None}
COMPOSITE_DESCRIPTIONS = {name: text for name, text in list_kernels(magnitudes=True).items()
                          if name in COMPOSITE_FILTERS}


def _flipped(kernel: np.ndarray) -> np.ndarray:
    """Kernel for true convolution with the anchor at index k//2 (as ndimage.convolve):
    turned 180 degrees, with a zero in front along each even axis."""
    k = kernel[(slice(None, None, -1),) * kernel.ndim]
    widths = [(1 - n % 2, 0) for n in k.shape]
    return np.pad(k, widths) if any(w for w, _ in widths) else k


def _flipped_factors(factors: Factors | None) -> Factors | None:
    """The factors of `_flipped(outer(col, row))`: each factor reversed and anchored alike."""
    if factors is None:
        return None
    col, row = (np.pad(f[::-1], (1 - f.size % 2, 0)) for f in factors)
    return col, row


def _correlate_same(image: np.ndarray, kernel: np.ndarray, boundary: Boundary, cval: float,
                    stride: tuple, method: Method) -> np.ndarray:
    """One correlate call over all channels: a kernel with fewer axes gets length-1 ones."""
    from .convolution import correlate   # deferred: convolution pulls in both engines

    extra = image.ndim - kernel.ndim
    kernel = kernel.reshape(kernel.shape + (1,) * extra)
    stride = stride + (1,) * extra
    kernel = kernel.astype(np.result_type(image.real.dtype, np.float32), copy=False)
    return correlate(image, kernel, mode="same", method=method, boundary=boundary,
                     cval=cval, stride=stride)


def _apply(image: np.ndarray, resolved: Kernel, boundary: Boundary, cval: float, stride: tuple,
           method: Method, flip: bool) -> np.ndarray:
    """Filter with one resolved kernel, in two 1-D passes when the kernel is separable."""
    kernel, factors = resolved.array, resolved.factors
    if flip:
        kernel, factors = _flipped(kernel), _flipped_factors(factors)
    if (kernel.ndim == 2 and stride == (1, 1) and method != "fft" and kernel.size > 1
            and image.dtype.kind == "f" and image.shape[0] * image.shape[1] >= JIT_MIN_PIXELS
            and jit.available()):
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


def _is_resolved(kernel: object) -> bool:
    """A `Kernel`, or a composite's pair of them."""
    return isinstance(kernel, Kernel) or (
        type(kernel) is tuple and len(kernel) == 2 and all(isinstance(k, Kernel) for k in kernel))


def _nd_kernel(kernel: Any) -> Kernel | None:
    """An array kernel with other than 2 axes, checked as a 2-D one is; None for the rest."""
    if isinstance(kernel, (str, os.PathLike, Kernel)) or _is_resolved(kernel):
        return None
    a = np.asarray(kernel)
    if a.ndim == 2 or a.ndim == 0 or a.dtype.kind not in "biuf":
        return None                      # the 2-D checks give the message
    k = as_kernel_array(a, ndim=None)
    return Kernel(k, None, "custom", sums_to_zero(k))


def resolve_filter(kernel: KernelSpec | Filter) -> Filter:
    """Resolve a kernel spec (or composite name) once, ahead of filtering many images.

    Returns a `convkit.kernels.Kernel`, or for the gradient magnitudes of the
    registry (``"sobel"``, ``"prewitt"``, ``"scharr"``, ``"farid"``,
    ``"roberts"``) the pair (d/dx, d/dy) they stand for. `filter_image` and
    `is_derivative` take the result as they take the spec, without parsing it
    again. An N-D array (N != 2) is a kernel for images of N axes.

    Examples
    --------
    >>> gx, gy = resolve_filter("sobel")
    >>> gx.name, gy.name
    ('sobel_x', 'sobel_y')
    """
    if _is_resolved(kernel):
        return kernel  # type: ignore[return-value]
    parts = composite_parts(kernel)
    if parts is not None:
        return resolve_kernel(parts[0]), resolve_kernel(parts[1])
    nd = _nd_kernel(kernel)
    if nd is not None:
        return nd
    return resolve_kernel(kernel if isinstance(kernel, (str, os.PathLike)) else np.asarray(kernel))


class FilterCall(NamedTuple):
    """A `filter_image` call planned from the image's shape and dtype alone (`convkit.chunked`
    builds its blocks from it: no second copy of the checks)."""

    filter: Filter               # the resolved kernel, or a gradient magnitude's pair
    boundary: Boundary
    cval: float
    stride: tuple[int, ...]      # one per filtered axis (the spatial ones)
    reach: tuple[int, ...]       # cells the kernel spans along each filtered axis (+1 with flip)
    shape: tuple[int, ...]       # the result's shape
    dtype: np.dtype              # the result's dtype


def plan_filter(image: Any, kernel: KernelSpec | Filter, *,
                boundary: BoundaryName | Boundary = "reflect",
                cval: float = 0.0, stride: int | Sequence[int] = 1, method: Method = "auto",
                flip: bool = False) -> FilterCall:
    """Check a `filter_image` call and plan it from ``image.shape`` and ``image.dtype``
    (`image` as `convkit.io.to_float_image` gives it; numpy or dask)."""
    record, cval = resolve_boundary(boundary, cval)
    if not np.isfinite(cval):
        raise ValueError(f"cval must be a finite number, got {cval!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {choices(METHODS)}; got {method!r}")
    resolved = resolve_filter(kernel)
    first = resolved if isinstance(resolved, Kernel) else resolved[0]
    spatial = first.array.ndim
    if spatial == 2 and image.ndim not in (2, 3) or spatial != 2 and image.ndim != spatial \
            or 0 in image.shape:
        if spatial == 2:
            raise ValueError("image must have shape (H, W) or (H, W, C) with no empty axis, "
                             f"got {image.shape}")
        raise ValueError(f"image must have {spatial} axes, as the kernel, with none empty; "
                         f"got shape {image.shape}")
    strides = per_axis(stride, spatial, "stride")
    parts = [resolved] if isinstance(resolved, Kernel) else list(resolved)
    reach = tuple(max(extent(k.array.shape[ax]) for k in parts) + flip for ax in range(spatial))
    shape = tuple(-(-n // s) for n, s in zip(image.shape, strides)) + tuple(image.shape[spatial:])
    dtype = np.dtype(image.dtype)
    if not isinstance(resolved, Kernel):
        dtype = np.dtype(dtype.type(0).real.dtype)    # a magnitude is real
    return FilterCall(resolved, record, cval, strides, reach, shape, dtype)


def _omit_nan(image: Any, kernel: KernelSpec | Filter, boundary: BoundaryName | Boundary, cval: float,
              stride: int | Sequence[int], method: Method, flip: bool) -> np.ndarray:
    """nan_policy='omit': the filter of the NaN-free image over the filter of its validity mask
    (constant padding counts as valid), times the kernel's sum."""
    resolved = resolve_filter(kernel)
    if not isinstance(resolved, Kernel):
        raise ValueError(f"nan_policy='omit' needs one kernel with weights of one sign, "
                         f"not the gradient magnitude {kernel!r}")
    omit_check(resolved.array, "filter_image")
    img: Any = to_float_image(image)
    if not is_dask(img) and not np.isnan(img).any():
        return filter_image(img, resolved, boundary=boundary, cval=cval, stride=stride, method=method,
                            flip=flip)
    filled, valid = omit_split(img)
    options: dict = dict(boundary=boundary, stride=stride, method=method, flip=flip)
    num = filter_image(filled, resolved, cval=cval, **options)
    den = filter_image(valid, resolved, cval=1.0, **options)
    return omit_combine(num, den, resolved.array)


@docfiller
def filter_image(image: ArrayLike, kernel: KernelSpec | Filter, *,
                 boundary: BoundaryName | Boundary = "reflect", cval: float = 0.0,
                 stride: int | Sequence[int] = 1, method: Method = "auto",
                 flip: bool = False, nan_policy: NanPolicy = "propagate") -> np.ndarray:
    """Filter a gray or colour image with a 2-D kernel (cross-correlation by default).

    Parameters
    ----------
    image : array_like of shape (H, W) or (H, W, C), or N-D for an N-D kernel
        Samples as `convkit.io.to_float_image` turns them into floats: bool
        0 / 1, unsigned integers divided by their maximum (1 / 255, 1 / 65535,
        ...), signed ones too and clipped at -1 (scikit-image's
        ``img_as_float``), float16 as float32, float and complex as given.
        Each channel is filtered on its own.
    kernel : str, path, array_like or Kernel
        Anything `convkit.kernels.get_kernel` accepts (``"edge"``,
        ``"gaussian:sigma=2"``, ``"0,1,0;1,-4,1;0,1,0"``, a kernel file, a 2-D
        array), a gradient magnitude: ``"sobel"``, ``"prewitt"``,
        ``"scharr"``, ``"farid"``, ``"roberts"``, what `resolve_filter`
        returns, or an N-D real array (N != 2) for an image of N axes (as
        ``scipy.ndimage.correlate``; `stride` then has one entry per axis).
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
        float32 for float32 (and float16) input, complex for complex input
        (a gradient magnitude of it is real), float64 otherwise.

    Raises
    ------
    ValueError
        Bad image shape, unknown kernel / boundary / method, stride < 1,
        malformed kernel spec.
    TypeError
        An image dtype that holds no numbers.

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
    if is_dask(image):   # dask in, lazy dask out; chunked sits above this module
        from . import chunked
        return chunked.filter_image(image, kernel, boundary=boundary, cval=cval, stride=stride,
                                    method=method, flip=flip)
    img = to_float_image(image)
    c = plan_filter(img, kernel, boundary=boundary, cval=cval, stride=stride, method=method,
                    flip=flip)
    if isinstance(c.filter, Kernel):
        return _apply(img, c.filter, c.boundary, c.cval, c.stride, method, flip)
    gx = _apply(img, c.filter[0], c.boundary, c.cval, c.stride, method, flip)
    gy = _apply(img, c.filter[1], c.boundary, c.cval, c.stride, method, flip)
    if gx.dtype.kind == "c":
        return np.hypot(np.abs(gx), np.abs(gy))
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
