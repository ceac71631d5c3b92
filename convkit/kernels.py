"""Named 2-D kernels, and `get_kernel(spec)` that turns a name, an inline matrix,
a kernel file or an array into a float64 matrix.

Orientation: every kernel here is meant to be laid over the image window *as
written* (cross-correlation, as the tutorial and CNNs do; this is what
`filter_image` does by default). Row index grows downwards and column index to
the right, so

* ``sobel_x`` / ``prewitt_x`` / ``scharr_x`` are positive where intensity
  increases to the right (dark left, bright right), exactly
  ``scipy.ndimage.sobel(image, axis=1)``; scikit-image's ``sobel_v`` is
  ``sobel_x / 4`` (its ``VSOBEL_WEIGHTS`` are that matrix flipped, because
  scikit-image convolves);
* ``*_y`` are positive where intensity increases downwards, as
  ``scipy.ndimage.sobel(image, axis=0)`` and scikit-image's ``sobel_h``;
* ``laplacian`` (centre -4) and ``log`` (negative centre) are the true
  Laplacians, as ``scipy.ndimage.laplace`` / ``gaussian_laplace``: negative
  on bright spots and lines; ``edge`` (centre +8) has the opposite sign, so
  bright details come out bright;
* ``emboss`` weighs the bottom-right neighbours up and the top-left ones down:
  the top-left borders of bright shapes light up, as if lit from the top left;
* ``motion:L,angle=A`` draws its line at A degrees counter-clockwise from the
  +x axis as seen on screen (0 horizontal, 90 vertical, 45 rising to the right).

Every named kernel except ``emboss`` is symmetric or antisymmetric under a
180-degree turn, so ``flip=True`` (true convolution) gives the same result,
or its negative for the first derivatives.

* ``farid_x`` / ``farid_y`` (Farid & Simoncelli's 5-tap pair) follow the
  same signs: ``farid_y`` laid as written is scikit-image's ``farid_h``,
  ``farid_x`` its ``farid_v``; ``roberts_pos_diag`` / ``roberts_neg_diag``
  are scikit-image's weights, which it convolves (``flip=True`` here);
* the gradient magnitudes ``sobel``, ``prewitt``, ``scharr``, ``farid`` and
  ``roberts`` are registry entries too (`composite_parts` names their two
  kernels): `convkit.filters.filter_image` combines them.

Derivative kernels are unnormalised (integer taps, as ndimage and OpenCV):
on a ramp of slope 1 ``sobel_x`` gives 8, ``prewitt_x`` 6, ``scharr_x`` 32.
Smoothing kernels sum to 1, derivative and Laplacian kernels to 0.

Separable kernels are built as ``np.outer(col, row)`` from named 1-D factors and
`separable_factors` hands those factors back, so a filter can run two 1-D
passes. Parsing of inline matrices and kernel files lives in `_kernel_parse`;
applying a kernel to an image is `convkit.filters`' job.
"""

from __future__ import annotations

import difflib
import os
from typing import Callable, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ._engine.direct import rank1_factors
from ._names import KERNEL_FILE_SUFFIXES
from ._kernel_parse import MAX_KERNEL_SIDE, parse_matrix, parse_params, read_kernel_spec

__all__ = [
    "Kernel", "resolve_kernel", "get_kernel", "list_kernels", "separable_factors", "parse_matrix",
    "composite_parts", "derivative_names", "sums_to_zero", "MAX_KERNEL_SIDE",
    "SMOOTH_BINOMIAL", "SMOOTH_PREWITT", "SMOOTH_SCHARR", "SMOOTH_FARID", "DIFF_CENTRAL",
    "DIFF_FARID", "IDENTITY", "EDGE", "LAPLACIAN", "SOBEL_X", "SOBEL_Y", "PREWITT_X", "PREWITT_Y",
    "SCHARR_X", "SCHARR_Y", "FARID_X", "FARID_Y", "ROBERTS_POS_DIAG", "ROBERTS_NEG_DIAG",
    "SHARPEN", "EMBOSS",
]


def _const(values: ArrayLike) -> np.ndarray:
    """Read-only float64 array, so a module constant cannot be changed by accident."""
    a = np.array(values, dtype=np.float64)
    a.setflags(write=False)
    return a


# 1-D factors: kernel = np.outer(col, row)
SMOOTH_BINOMIAL = _const([1, 2, 1])      # Sobel's smoothing across the derivative
SMOOTH_PREWITT = _const([1, 1, 1])
SMOOTH_SCHARR = _const([3, 10, 3])
DIFF_CENTRAL = _const([-1, 0, 1])        # f(i+1) - f(i-1), laid over the window as written
# Farid & Simoncelli's 5-tap pair (1997): the smoothing and derivative filters whose
# gradients are the most rotation-invariant for their size
SMOOTH_FARID = _const([0.0376593171958126, 0.249153396177344, 0.426374573253687,
                       0.249153396177344, 0.0376593171958126])
DIFF_FARID = _const([-0.109603762960254, -0.276690988455557, 0.0,
                     0.276690988455557, 0.109603762960254])

SOBEL_X = _const(np.outer(SMOOTH_BINOMIAL, DIFF_CENTRAL))
SOBEL_Y = _const(np.outer(DIFF_CENTRAL, SMOOTH_BINOMIAL))
PREWITT_X = _const(np.outer(SMOOTH_PREWITT, DIFF_CENTRAL))
PREWITT_Y = _const(np.outer(DIFF_CENTRAL, SMOOTH_PREWITT))
SCHARR_X = _const(np.outer(SMOOTH_SCHARR, DIFF_CENTRAL))
SCHARR_Y = _const(np.outer(DIFF_CENTRAL, SMOOTH_SCHARR))
FARID_X = _const(np.outer(SMOOTH_FARID, DIFF_FARID))
FARID_Y = _const(np.outer(DIFF_FARID, SMOOTH_FARID))
# Roberts' cross: differences along the two diagonals (2x2, anchored at the bottom-right cell)
ROBERTS_POS_DIAG = _const([[1, 0], [0, -1]])
ROBERTS_NEG_DIAG = _const([[0, 1], [-1, 0]])

IDENTITY = _const([[0, 0, 0], [0, 1, 0], [0, 0, 0]])
LAPLACIAN = _const([[0, 1, 0], [1, -4, 1], [0, 1, 0]])          # d2/dx2 + d2/dy2
EDGE = _const([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])       # minus the 8-neighbour Laplacian
SHARPEN = _const([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])        # IDENTITY - LAPLACIAN
EMBOSS = _const([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])          # lit from the top left

Factors = tuple[np.ndarray, np.ndarray]
KernelSpec = str | os.PathLike | ArrayLike


class Kernel(NamedTuple):
    """A kernel spec resolved once: everything a filter needs to know about it.

    Attributes
    ----------
    array : ndarray of shape (kh, kw)
        The taps, float64.
    factors : (ndarray, ndarray) or None
        ``(column, row)`` with ``outer(column, row) == array`` when the
        kernel is separable, else None.
    name : str
        The registry name, the file path, or "custom" (inline or array).
    derivative : bool
        The taps sum to 0: the output is signed detail, not brightness.

    Examples
    --------
    >>> from convkit import resolve_kernel
    >>> k = resolve_kernel("sobel_x")
    >>> k.name, k.array.shape, k.derivative
    ('sobel_x', (3, 3), True)
    >>> k.factors[0], k.factors[1]
    (array([1., 2., 1.]), array([-1.,  0.,  1.]))
    """

    array: np.ndarray            # (kh, kw) float64
    factors: Factors | None      # (col, row) with outer(col, row) == array, or None
    name: str                    # registry name, the file path, or "custom" (inline / array)
    derivative: bool             # taps sum to 0: the output is signed detail, not brightness


class _Built(NamedTuple):
    kernel: np.ndarray
    factors: Factors | None
    name: str = ""


class _Entry(NamedTuple):
    build: Callable[..., _Built] | None
    params: tuple[tuple[str, type, object], ...]   # (name, type, default), in positional order
    description: str
    parts: tuple[str, str] | None = None   # a gradient magnitude: its (d/dx, d/dy) kernels


def _fixed(kernel: np.ndarray, factors: Factors | None = None) -> Callable[[], _Built]:
    """Builder for a kernel without parameters."""
    return lambda: _Built(kernel.copy(), None if factors is None
                          else (factors[0].copy(), factors[1].copy()))


MIN_SIGMA = 1e-3  # keeps 1/sigma**4 of the Gaussian's second derivative within float range


def _side(name: str, size: int) -> int:
    """Check a kernel side length given as a parameter."""
    if size < 1 or size > MAX_KERNEL_SIDE:
        raise ValueError(f"{name} must be between 1 and {MAX_KERNEL_SIDE}, got {size}")
    return size


def _positive(name: str, value: float, *, zero: bool = False) -> float:
    """Check a strictly positive (or, with `zero`, non-negative), finite float parameter."""
    if not np.isfinite(value) or value < 0 or (value == 0 and not zero):
        raise ValueError(f"{name} must be a {'non-negative' if zero else 'positive'} number, "
                         f"got {value}")
    return value


def _gaussian_1d(sigma: float, truncate: float, order: int = 0) -> np.ndarray:
    """Sampled Gaussian of radius int(truncate*sigma + 0.5) as scipy.ndimage, normalised
    to sum 1 (sigma 0: the one-tap identity, as ndimage); order=2 gives its exact second
    derivative, weighted the same way."""
    if 0 < _positive("sigma", sigma, zero=order == 0) < MIN_SIGMA:
        # every tap is then a single 1 (or 1/sigma**2 for the derivative, beyond float range)
        raise ValueError(f"sigma must be 0 or at least {MIN_SIGMA:g} (a smaller one is a single "
                         f"tap), got {sigma:g}")
    _positive("truncate", truncate)
    if sigma == 0:
        return np.ones(1)
    radius = int(truncate * sigma + 0.5)
    if 2 * radius + 1 > MAX_KERNEL_SIDE:
        raise ValueError(f"sigma={sigma:g} with truncate={truncate:g} gives a "
                         f"{2 * radius + 1}-tap kernel; the largest allowed is {MAX_KERNEL_SIDE}")
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-0.5 * (x / sigma) ** 2)
    g /= g.sum()
    if order == 2:
        g = g * (x ** 2 / sigma ** 4 - 1.0 / sigma ** 2)
    return g


def _identity(size: int) -> _Built:
    """Delta of odd `size`: the filter that changes nothing."""
    if _side("size", size) % 2 == 0:
        raise ValueError(f"size must be odd, got {size}")
    e = np.zeros(size)
    e[size // 2] = 1.0
    return _Built(np.outer(e, e), (e, e.copy()))


def _box(size: int) -> _Built:
    """Mean over a size x size square."""
    f = np.full(_side("size", size), 1.0 / size)
    return _Built(np.outer(f, f), (f, f.copy()))


def _gaussian(sigma: float, truncate: float, sigma_y: float | None = None,
              sigma_x: float | None = None) -> _Built:
    """Gaussian, separable; `sigma_y` / `sigma_x` override `sigma` along one axis."""
    col = _gaussian_1d(sigma if sigma_y is None else sigma_y, truncate)
    row = _gaussian_1d(sigma if sigma_x is None else sigma_x, truncate)
    return _Built(np.outer(col, row), (col, row))


def _log(sigma: float, truncate: float) -> _Built:
    """Laplacian of Gaussian: g'' x g + g x g'', shifted to sum exactly 0."""
    g = _gaussian_1d(sigma, truncate)
    g2 = _gaussian_1d(sigma, truncate, order=2)
    k = np.outer(g2, g) + np.outer(g, g2)
    return _Built(k - k.mean(), None)


def _unsharp(sigma: float, amount: float, truncate: float) -> _Built:
    """(1 + amount) * delta - amount * gaussian: the image plus `amount` times its detail."""
    if not np.isfinite(amount):
        raise ValueError(f"amount must be a finite number, got {amount}")
    k = -amount * _gaussian(sigma, truncate).kernel
    c = k.shape[0] // 2
    k[c, c] += 1.0 + amount
    return _Built(k, None)


def _motion(length: int, angle: float) -> _Built:
    """Average along a line of `length` pixels at `angle` degrees (counter-clockwise from
    the +x axis, image up): 0 is a 1 x length row, 90 a length x 1 column."""
    _side("length", length)
    if not np.isfinite(angle):
        raise ValueError(f"angle must be a finite number of degrees, got {angle}")
    a = angle % 180.0
    line = np.full(length, 1.0 / length)
    if a == 0.0:
        return _Built(line[None, :], (np.ones(1), line))
    if a == 90.0:
        return _Built(line[:, None], (line, np.ones(1)))
    # Sample the segment densely and share each sample bilinearly between its four
    # neighbouring pixels on a length x length grid centred on the middle.
    t = np.linspace(-(length - 1) / 2, (length - 1) / 2, 16 * length + 1)
    c = (length - 1) / 2
    xs, ys = c + t * np.cos(np.radians(a)), c - t * np.sin(np.radians(a))
    k = np.zeros((length, length))
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    for dy, dx, w in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx),
                      (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        rows, cols = np.clip(y0 + dy, 0, length - 1), np.clip(x0 + dx, 0, length - 1)
        np.add.at(k, (rows, cols), w)
    return _Built(k / k.sum(), None)


_REGISTRY: dict[str, _Entry] = {
    "identity": _Entry(_identity, (("size", int, 3),),
                       "delta: output equals input (identity:5 for a 5x5 one)"),
    "edge": _Entry(_fixed(EDGE), (), "outline: 8 in the centre, -1 around (minus 8-neighbour Laplacian)"),
    "laplacian": _Entry(_fixed(LAPLACIAN), (), "4-neighbour Laplacian [0 1 0; 1 -4 1; 0 1 0], sum 0"),
    "sobel_x": _Entry(_fixed(SOBEL_X, (SMOOTH_BINOMIAL, DIFF_CENTRAL)), (),
                      "Sobel d/dx, positive where it gets brighter to the right"),
    "sobel_y": _Entry(_fixed(SOBEL_Y, (DIFF_CENTRAL, SMOOTH_BINOMIAL)), (),
                      "Sobel d/dy, positive where it gets brighter downwards"),
    "prewitt_x": _Entry(_fixed(PREWITT_X, (SMOOTH_PREWITT, DIFF_CENTRAL)), (),
                        "Prewitt d/dx, positive where it gets brighter to the right"),
    "prewitt_y": _Entry(_fixed(PREWITT_Y, (DIFF_CENTRAL, SMOOTH_PREWITT)), (),
                        "Prewitt d/dy, positive where it gets brighter downwards"),
    "scharr_x": _Entry(_fixed(SCHARR_X, (SMOOTH_SCHARR, DIFF_CENTRAL)), (),
                       "Scharr d/dx (3-10-3 smoothing), rotation-accurate Sobel"),
    "scharr_y": _Entry(_fixed(SCHARR_Y, (DIFF_CENTRAL, SMOOTH_SCHARR)), (),
                       "Scharr d/dy (3-10-3 smoothing), rotation-accurate Sobel"),
    "farid_x": _Entry(_fixed(FARID_X, (SMOOTH_FARID, DIFF_FARID)), (),
                      "Farid-Simoncelli 5x5 d/dx, positive where it gets brighter to the right"),
    "farid_y": _Entry(_fixed(FARID_Y, (DIFF_FARID, SMOOTH_FARID)), (),
                      "Farid-Simoncelli 5x5 d/dy, positive where it gets brighter downwards"),
    "roberts_pos_diag": _Entry(_fixed(ROBERTS_POS_DIAG), (),
                               "Roberts cross [1 0; 0 -1]: the difference along the main diagonal"),
    "roberts_neg_diag": _Entry(_fixed(ROBERTS_NEG_DIAG), (),
                               "Roberts cross [0 1; -1 0]: the difference along the anti-diagonal"),
    "sharpen": _Entry(_fixed(SHARPEN), (), "identity minus Laplacian [0 -1 0; -1 5 -1; 0 -1 0], sum 1"),
    "emboss": _Entry(_fixed(EMBOSS), (), "relief [-2 -1 0; -1 1 1; 0 1 2], sum 1"),
    "box": _Entry(_box, (("size", int, 3),), "mean filter box:SIZE (default 3), sum 1"),
    "blur": _Entry(lambda: _box(3), (), "alias of box:3"),
    "gaussian": _Entry(_gaussian, (("sigma", float, 1.0), ("truncate", float, 4.0),
                                   ("sigma_y", float, None), ("sigma_x", float, None)),
                       "Gaussian blur gaussian:sigma=S[,truncate=T,sigma_y=,sigma_x=] (default 1, "
                       "4; sigma 0 = identity), radius int(T*S+0.5), sum 1"),
    "log": _Entry(_log, (("sigma", float, 1.4), ("truncate", float, 4.0)),
                  "Laplacian of Gaussian log:sigma=S (default 1.4), negative centre, sum 0"),
    "unsharp": _Entry(_unsharp, (("sigma", float, 1.0), ("amount", float, 1.0), ("truncate", float, 4.0)),
                      "unsharp mask unsharp:sigma=1,amount=1: image + amount*(image - gaussian)"),
    "motion": _Entry(_motion, (("length", int, 9), ("angle", float, 0.0)),
                     "motion blur motion:LENGTH[,angle=DEG] (default 9, 0 = horizontal), sum 1"),
}
# The gradient magnitudes sqrt(gx**2 + gy**2) users ask for by name: registry entries, so
# listing, help texts and the derivative flag read them like any kernel.
_REGISTRY.update({
    name: _Entry(None, (), f"{name.capitalize()} gradient magnitude sqrt({x}**2 + {y}**2), >= 0",
                 (x, y))
    for name, (x, y) in {"sobel": ("sobel_x", "sobel_y"), "prewitt": ("prewitt_x", "prewitt_y"),
                         "scharr": ("scharr_x", "scharr_y"), "farid": ("farid_x", "farid_y"),
                         "roberts": ("roberts_pos_diag", "roberts_neg_diag")}.items()})


def composite_parts(spec: object) -> tuple[str, str] | None:
    """The (d/dx, d/dy) kernel names when `spec` names a gradient magnitude, else None.

    Examples
    --------
    >>> composite_parts("Sobel")
    ('sobel_x', 'sobel_y')
    >>> composite_parts("sobel_x") is None
    True
    """
    if not isinstance(spec, str):
        return None
    entry = _REGISTRY.get(spec.strip().lower())
    return None if entry is None else entry.parts


def derivative_names() -> tuple[str, ...]:
    """The registry's derivative entries: taps (at the default parameters) summing to 0,
    and the gradient magnitudes. Their results are signed detail, not brightness.

    Examples
    --------
    >>> "laplacian" in derivative_names(), "gaussian" in derivative_names()
    (True, False)
    """
    return tuple(name for name, entry in _REGISTRY.items()
                 if entry.parts is not None or resolve_kernel(name).derivative)


def list_kernels(*, magnitudes: bool = False) -> dict[str, str]:
    """Return the named kernels with a one-line description of each.

    Parameters
    ----------
    magnitudes : bool, optional
        Also list the gradient magnitudes (``"sobel"``, ...): registry
        entries that `convkit.filters.filter_image` takes but `get_kernel`
        does not (they are two kernels, see `composite_parts`).

    Returns
    -------
    dict of str to str
        Kernel name (as accepted by `get_kernel`) -> description, including
        the parameters and their defaults.

    Examples
    --------
    >>> kernels = list_kernels()
    >>> kernels["box"]
    'mean filter box:SIZE (default 3), sum 1'
    >>> "sobel" in kernels, "sobel" in list_kernels(magnitudes=True)
    (False, True)
    """
    return {name: entry.description for name, entry in _REGISTRY.items()
            if magnitudes or entry.parts is None}


def _build(spec: KernelSpec) -> _Built:
    """Resolve any accepted spec to a kernel and, for named separable kernels, its factors."""
    kind, value = read_kernel_spec(spec)
    if kind == "array":
        if isinstance(spec, os.PathLike):
            return _Built(value, None, str(os.fspath(spec)))
        return _Built(value, None, spec.strip() if isinstance(spec, str) and _is_file(spec)
                      else "custom")
    name, args = value
    entry = _REGISTRY.get(name.lower())
    if entry is None:
        close = difflib.get_close_matches(name.lower(), _REGISTRY, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown kernel {name!r}{hint}; available: {', '.join(_REGISTRY)}; "
                         "or give an inline matrix ('0,1,0;1,-4,1;0,1,0') or a "
                         f"{'/'.join(KERNEL_FILE_SUFFIXES)} file")
    if entry.build is None:
        raise ValueError(f"{name.lower()!r} is the gradient magnitude of {' and '.join(entry.parts or ())}, "
                         "not one kernel: filter with it (filter_image), or ask for one of its parts")
    kwargs = parse_params(name.lower(), args, entry.params)
    try:
        with np.errstate(all="ignore"):     # taps that overflow are refused below, not warned
            built = entry.build(**kwargs)._replace(name=name.lower())
    except ValueError as exc:
        raise ValueError(f"kernel {name.lower()!r}: {exc}") from None
    if not np.isfinite(built.kernel).all():
        given = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in kwargs.items())
        raise ValueError(f"kernel {name.lower()!r}: {given} gives taps beyond the float range; "
                         "choose parameters nearer the defaults")
    return built


def _is_file(spec: str) -> bool:
    """Whether a string spec names a kernel file (by its suffix)."""
    return spec.strip().lower().endswith(KERNEL_FILE_SUFFIXES)


def _svd_factors(k: np.ndarray, rtol: float) -> Factors | None:
    """Rank-1 split of `k` when its second singular value is at most rtol times the first."""
    factors = rank1_factors(k, rtol)
    if factors is None:
        return None
    col, row = factors
    if col[np.argmax(np.abs(col))] < 0:   # SVD signs are arbitrary; make col's largest tap positive
        col, row = -col, -row
    return col, row


def _rank1_rtol(spec: object) -> float:
    """The SVD tolerance for a kernel given as `spec`: tied to the precision its taps were
    written in (a float32 outer product keeps a second singular value near 1e-8 of the
    first; float64, integers and text are held to 1e-10)."""
    if isinstance(spec, np.ndarray) and spec.dtype.kind == "f" and spec.dtype.itemsize < 8:
        return float(4 * max(spec.shape) * np.finfo(spec.dtype).eps)
    return 1e-10


def resolve_kernel(spec: KernelSpec | Kernel, *, rtol: float | None = None) -> Kernel:
    """Parse a kernel spec once: its matrix, its 1-D factors, its name, whether it is a derivative.

    Parameters
    ----------
    spec : str, path, array_like or Kernel
        Anything `get_kernel` accepts; a `Kernel` is returned as it is.
    rtol : float, optional
        As `separable_factors`; by default tied to the dtype of an array spec
        (``4 * max(shape) * eps`` for float32 and float16, 1e-10 otherwise).

    Returns
    -------
    Kernel
        ``array`` equals ``get_kernel(spec)``, ``factors`` equals
        ``separable_factors(spec)``, ``name`` is the registry name (the file
        path for kernel files, "custom" for inline matrices and arrays) and
        ``derivative`` tells whether the taps sum to 0.

    Raises
    ------
    ValueError, FileNotFoundError, TypeError
        As `get_kernel`.

    Notes
    -----
    A filter applied to N images resolves its spec once, not once per image.

    Examples
    --------
    >>> k = resolve_kernel("sobel_x")
    >>> k.name, k.derivative, k.factors[0]
    ('sobel_x', True, array([1., 2., 1.]))
    """
    if isinstance(spec, Kernel):
        return spec
    built = _build(spec)
    k = built.kernel
    factors = built.factors if built.factors is not None else _svd_factors(
        k, _rank1_rtol(spec) if rtol is None else rtol)
    return Kernel(k, factors, built.name, sums_to_zero(k))


def sums_to_zero(k: np.ndarray) -> bool:
    """Whether the taps of `k` sum to 0 (to 1e-9 of their magnitudes): a derivative kernel,
    whose output is signed detail, not brightness."""
    return bool(abs(k.sum()) <= 1e-9 * np.abs(k).sum())


def get_kernel(spec: KernelSpec) -> np.ndarray:
    """Return the 2-D float64 kernel described by `spec`.

    Parameters
    ----------
    spec : str, path or array_like
        * a name from `list_kernels`, optionally with parameters:
          ``"edge"``, ``"box:5"``, ``"gaussian:sigma=2"``,
          ``"gaussian:sigma=2,truncate=3"``, ``"motion:15,angle=45"``
          (a bare value fills the first parameter);
        * an inline matrix, rows separated by ``;`` (or newlines), entries by
          ``,`` or spaces: ``"0,1,0;1,-4,1;0,1,0"``;
        * a path to a ``.csv`` / ``.txt`` file in that layout (``#`` comments
          allowed) or a ``.npy`` file holding a 2-D real array;
        * a 2-D array (a float64 copy is returned).

    Returns
    -------
    kernel : ndarray of shape (kh, kw), float64
        A fresh array: changing it does not change the named kernel.

    Raises
    ------
    ValueError
        Unknown name (the message lists the names), bad parameter name or
        value, ragged or non-numeric matrix, empty kernel, NaN or inf entries,
        an array that is not 2-D.
    FileNotFoundError
        `spec` names a kernel file that does not exist.
    TypeError
        `spec` is of an unsupported type, or the array is not real numbers.

    Notes
    -----
    Kernels are laid over the image window as written (cross-correlation):
    ``out[i, j] = sum_mn k[m, n] * img[i + m - kh//2, j + n - kw//2]``.
    See the module docstring for the sign conventions of the derivative
    kernels. The Gaussian is ``exp(-x**2 / (2 sigma**2))`` sampled on
    ``|x| <= int(truncate*sigma + 0.5)`` and normalised, as
    ``scipy.ndimage.gaussian_filter``.

    Examples
    --------
    >>> get_kernel("sobel_x")
    array([[-1.,  0.,  1.],
           [-2.,  0.,  2.],
           [-1.,  0.,  1.]])
    >>> get_kernel("0,1,0;1,-4,1;0,1,0").sum()
    np.float64(0.0)
    >>> get_kernel("gaussian:sigma=1").shape
    (9, 9)
    """
    return _build(spec).kernel


def separable_factors(spec: KernelSpec, *, rtol: float = 1e-10) -> Factors | None:
    """Return 1-D factors ``(col, row)`` with ``np.outer(col, row) == kernel``, or None.

    Parameters
    ----------
    spec : str, path or array_like
        Anything `get_kernel` accepts.
    rtol : float, optional
        For kernels not built from factors (arrays, inline matrices, files,
        non-separable names): the kernel counts as separable when its second
        singular value is at most ``rtol`` times the first.

    Returns
    -------
    (col, row) : tuple of 1-D float64 arrays, or None
        Exact factors for the named separable kernels (identity, box, blur,
        gaussian, the Sobel/Prewitt/Scharr family, horizontal and vertical
        motion); a rank-1 SVD split otherwise, or None when the kernel is not
        separable.

    Examples
    --------
    >>> col, row = separable_factors("sobel_x")
    >>> col, row
    (array([1., 2., 1.]), array([-1.,  0.,  1.]))
    >>> separable_factors("laplacian") is None
    True
    """
    built = _build(spec)
    return built.factors if built.factors is not None else _svd_factors(built.kernel, rtol)
