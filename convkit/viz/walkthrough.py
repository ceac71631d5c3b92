"""The tutorial's convolution walkthrough as data and as terminal text.

`conv_walkthrough` lays a kernel over every window of a small 2-D image (as
written: cross-correlation, the way the tutorial and CNNs do it) and keeps,
for each step, the window, the elementwise products and their sum. The
feature map itself is ``convkit.correlate(image, kernel, mode="valid",
stride=stride)`` — the library's own computation; the steps only show how
each of its cells comes about. Pictures of the same data are in
`convkit.viz.frames`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
from numpy.typing import ArrayLike

from .text import format_grid, format_number, side_by_side

__all__ = ["ConvStep", "ConvWalkthrough", "conv_walkthrough", "format_conv_walkthrough",
           "MAX_SIDE", "MAX_PRINT", "SEED_ARRAYS"]

MAX_SIDE = 64   # larger inputs are no longer a walkthrough a person can read
MAX_PRINT = 12  # grids with a longer side are printed as a crop of this size
_WIDTH = 120    # wider rows of grids are stacked instead of set side by side
_MAX_TERMS = 16  # longer sums are summarised instead of spelled out

# The tutorial's 7x7 binary image and 3x3 feature detector, the same as
# samples/seed_image.csv and samples/seed_detector.csv (for installs without samples/).
SEED_ARRAYS = {
    "image": np.array([[0, 0, 0, 0, 0, 0, 0],
                       [0, 1, 0, 0, 0, 1, 0],
                       [0, 0, 0, 0, 0, 0, 0],
                       [0, 0, 0, 1, 0, 0, 0],
                       [0, 1, 0, 0, 0, 1, 0],
                       [0, 0, 1, 1, 1, 0, 0],
                       [0, 0, 0, 0, 0, 0, 0]], dtype=np.float64),
    "detector": np.array([[0, 0, 1],
                          [1, 0, 0],
                          [0, 1, 1]], dtype=np.float64),
}


@dataclass(frozen=True)
class ConvStep:
    """One position of the kernel: output cell `index`, window at `origin`.

    Attributes
    ----------
    number : int
        0-based, row-major over the feature map.
    index : (int, int)
        The cell of the feature map.
    origin : (int, int)
        The top-left pixel of the window in the image.
    window : ndarray of shape (kh, kw)
        The image values under the kernel.
    products : ndarray of shape (kh, kw)
        ``window * kernel``.
    total : float
        ``products.sum()``, which is ``feature_map[index]``.

    Examples
    --------
    >>> walk = conv_walkthrough([[1, 2, 0], [0, 1, 3], [2, 0, 1]], [[1, 0], [0, 1]])
    >>> step = walk.step(1)
    >>> step.index, step.origin, step.total
    ((0, 1), (0, 1), 5.0)
    >>> step.products
    array([[2., 0.],
           [0., 3.]])
    """

    number: int                 # 0-based, row-major over the feature map
    index: tuple[int, int]      # cell of the feature map
    origin: tuple[int, int]     # top-left pixel of the window in the image
    window: np.ndarray          # (kh, kw) image values under the kernel
    products: np.ndarray        # (kh, kw) window * kernel
    total: float                # products.sum() == feature_map[index]


@dataclass(frozen=True)
class ConvWalkthrough:
    """An image, a kernel, a stride, and the feature map they give.

    Attributes
    ----------
    image : ndarray of shape (H, W)
    kernel : ndarray of shape (kh, kw)
    stride : (int, int)
    feature_map : ndarray of shape (Ho, Wo)
        ``convkit.correlate(image, kernel, "valid", stride=stride)``.

    Examples
    --------
    >>> walk = conv_walkthrough([[1, 2, 0], [0, 1, 3], [2, 0, 1]], [[1, 0], [0, 1]])
    >>> walk.n_steps, [step.total for step in walk.steps()]
    (4, [2.0, 5.0, 0.0, 2.0])
    >>> walk.feature_map
    array([[2., 5.],
           [0., 2.]])
    """

    image: np.ndarray           # (H, W)
    kernel: np.ndarray          # (kh, kw)
    stride: tuple[int, int]
    feature_map: np.ndarray     # (Ho, Wo) = convkit.correlate(image, kernel, "valid", stride)

    @property
    def n_steps(self) -> int:
        """Number of kernel positions, one per feature-map cell."""
        return int(self.feature_map.size)

    def step(self, number: int) -> ConvStep:
        """The `number`-th kernel position (row-major over the feature map)."""
        if not 0 <= number < self.n_steps:
            raise IndexError(f"step must be in [0, {self.n_steps}), got {number}")
        i, j = divmod(number, self.feature_map.shape[1])
        r, c = i * self.stride[0], j * self.stride[1]
        kh, kw = self.kernel.shape
        window = self.image[r:r + kh, c:c + kw]
        products = window * self.kernel
        return ConvStep(number, (i, j), (r, c), window, products, float(products.sum()))

    def steps(self) -> Iterator[ConvStep]:
        """Every step in order."""
        return (self.step(k) for k in range(self.n_steps))


def as_2d(name: str, value: ArrayLike) -> np.ndarray:
    """A finite real 2-D float64 array, or a ValueError/TypeError naming `name`."""
    a = np.asarray(value)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or inf")
    return a.astype(np.float64)


def _stride_pair(stride: Any) -> tuple[int, int]:
    """(sr, sc) from an int or a pair of positive ints (`stride` is the caller's unchecked value)."""
    pair = (stride, stride) if np.ndim(stride) == 0 else tuple(stride)
    if len(pair) != 2 or any(int(s) != s or s < 1 for s in pair):
        raise ValueError(f"stride must be a positive int or a pair of them, got {stride!r}")
    return int(pair[0]), int(pair[1])


def conv_walkthrough(image: ArrayLike, kernel: ArrayLike, *,
                     stride: int | tuple[int, int] = 1) -> ConvWalkthrough:
    """Lay `kernel` over each window of `image` and record every step.

    Parameters
    ----------
    image : array_like of shape (H, W)
        A small gray image or any matrix; at most `MAX_SIDE` per side.
    kernel : array_like of shape (kh, kw)
        The feature detector, laid over each window as written.
    stride : int or (int, int), optional
        Step of the window along rows and columns.

    Returns
    -------
    walk : ConvWalkthrough
        ``walk.feature_map`` of shape ``((H-kh)//sr + 1, (W-kw)//sc + 1)``;
        ``walk.step(k)`` gives window, products and their sum.

    Raises
    ------
    ValueError
        Not 2-D, empty, NaN/inf, kernel larger than the image, image larger
        than `MAX_SIDE`, bad stride.
    TypeError
        Not real numbers.

    Notes
    -----
    ``feature_map[i, j] = sum_mn kernel[m, n] * image[i*sr + m, j*sc + n]``,
    computed by ``convkit.correlate(image, kernel, mode="valid", stride=stride)``.

    Examples
    --------
    >>> walk = conv_walkthrough([[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[1, 0], [0, 1]])
    >>> walk.feature_map
    array([[2., 0.],
           [0., 2.]])
    >>> walk.step(1).products
    array([[0., 0.],
           [0., 0.]])
    """
    from convkit import correlate

    img = as_2d("image", image)
    ker = as_2d("kernel", kernel)
    strides = _stride_pair(stride)
    if max(img.shape) > MAX_SIDE:
        raise ValueError(f"image is {img.shape[0]}x{img.shape[1]}; a walkthrough takes at most "
                         f"{MAX_SIDE}x{MAX_SIDE} (crop or shrink it)")
    if ker.shape[0] > img.shape[0] or ker.shape[1] > img.shape[1]:
        raise ValueError(f"kernel {ker.shape[0]}x{ker.shape[1]} is larger than image "
                         f"{img.shape[0]}x{img.shape[1]}; the kernel must fit inside the image")
    fmap = np.asarray(correlate(img, ker, mode="valid", stride=strides), dtype=np.float64)
    return ConvWalkthrough(img, ker, strides, fmap)


def format_conv_walkthrough(walk: ConvWalkthrough, *, full_steps: int = 3,
                            decimals: int = 2, max_print: int = MAX_PRINT) -> str:
    """The walkthrough as terminal text: inputs, the first steps in full, the map.

    Each of the first `full_steps` steps shows the window (marked in the
    image), the products and the sum written into the map, which fills in
    row by row ('.' = not computed yet); then the finished map. A grid with a
    side longer than `max_print` is shown as a `max_print`-sided crop around
    the cells that matter (the window, the current cell; the top-left corner
    otherwise), and its title says which rows and columns those are.

    Parameters
    ----------
    walk : ConvWalkthrough
        From `conv_walkthrough`.
    full_steps : int, optional
        Steps printed in full before the finished map.
    decimals : int, optional
        Decimals shown per cell.
    max_print : int, optional
        Grids with a longer side are shown as a crop of this size.

    Returns
    -------
    text : str
        Lines for a terminal.

    Examples
    --------
    >>> walk = conv_walkthrough([[1, 2, 0], [0, 1, 3], [2, 0, 1]], [[1, 0], [0, 1]])
    >>> print(format_conv_walkthrough(walk, full_steps=1))
    image 3x3, kernel 2x2, stride 1x1 -> feature map 2x2  ((n - k) // stride + 1)
    <BLANKLINE>
    image      kernel
    1  2  0    1  0
    0  1  3    0  1
    2  0  1
    <BLANKLINE>
    step 1/4: window at row 0, column 0 -> map[0, 0]
    image [window]    window * kernel    feature map
    [1] [2]  0        1  0               [2]  .
    [0] [1]  3        0  1                .   .
     2   0   1
    sum = 1 + 0 + 0 + 1 = 2
    <BLANKLINE>
    ... 3 more steps, the same way ...
    <BLANKLINE>
    feature map
    2  5
    0  2
    """
    kh, kw = walk.kernel.shape
    (h, w), (ho, wo) = walk.image.shape, walk.feature_map.shape
    head = [f"image {h}x{w}, kernel {kh}x{kw}, stride {walk.stride[0]}x{walk.stride[1]}"
            f" -> feature map {ho}x{wo}  ((n - k) // stride + 1)", ""]
    head += side_by_side([_grid(walk.image, "image", max_print, decimals),
                          _grid(walk.kernel, "kernel", max_print, decimals)], max_width=_WIDTH)
    lines = head + [""]
    shown = min(full_steps, walk.n_steps)
    for step in (walk.step(k) for k in range(shown)):
        r, c = step.origin
        mark = np.zeros(walk.image.shape, bool)
        mark[r:r + kh, c:c + kw] = True
        partial = np.full(walk.feature_map.shape, np.nan)
        flat = partial.reshape(-1)
        flat[:step.number + 1] = walk.feature_map.reshape(-1)[:step.number + 1]
        cell = np.zeros(partial.shape, bool)
        cell[step.index] = True
        terms = " + ".join(format_number(p, decimals) for p in step.products.ravel())
        lines.append(f"step {step.number + 1}/{walk.n_steps}: window at row {r}, column {c}"
                     f" -> map[{step.index[0]}, {step.index[1]}]")
        lines += side_by_side([
            _grid(walk.image, "image [window]", max_print, decimals, mark, (r, c), (kh, kw)),
            _grid(step.products, "window * kernel", max_print, decimals),
            _grid(partial, "feature map", max_print, decimals, cell, step.index)],
            max_width=_WIDTH)
        if step.products.size > _MAX_TERMS:
            terms = f"(the {step.products.size} products added up)"
        lines.append(f"sum = {terms} = {format_number(step.total, decimals)}")
        lines.append("")
    if shown < walk.n_steps:
        lines.append(f"... {walk.n_steps - shown} more steps, the same way ...")
        lines.append("")
    lines += _grid(walk.feature_map, "feature map", max_print, decimals)
    if max(walk.feature_map.shape) > max_print:
        fmap = walk.feature_map
        i_max = np.unravel_index(np.argmax(fmap), fmap.shape)
        lines += ["", f"feature map {ho}x{wo}: min {format_number(fmap.min(), decimals)}, "
                  f"max {format_number(fmap[i_max], decimals)} at [{i_max[0]}, {i_max[1]}] "
                  "(--png / --gif draw all of it)"]
    return "\n".join(line.rstrip() for line in lines)


def _crop(n: int, start: int, size: int, limit: int) -> tuple[int, int]:
    """[lo, hi) of at most `limit` along an axis of length n, centred on [start, start+size)."""
    if n <= limit:
        return 0, n
    lo = min(max(0, start + size // 2 - limit // 2), n - limit)
    return lo, lo + limit


def _grid(a: np.ndarray, title: str, limit: int, decimals: int, mark: np.ndarray | None = None,
          focus: tuple[int, int] = (0, 0), size: tuple[int, int] = (1, 1)) -> list[str]:
    """`format_grid` of `a`, or of a crop of at most `limit` per side around `focus`."""
    (r0, r1), (c0, c1) = (_crop(n, f, s, limit) for n, f, s in zip(a.shape, focus, size))
    if (r1 - r0, c1 - c0) != a.shape:
        title = (f"{title}: rows {r0}-{r1 - 1}, columns {c0}-{c1 - 1} "
                 f"of {a.shape[0]}x{a.shape[1]}")
        a = a[r0:r1, c0:c1]
        mark = None if mark is None else mark[r0:r1, c0:c1]
    return format_grid(a, decimals=decimals, mark=mark, title=title)
