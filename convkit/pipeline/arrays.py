"""The array part of the file pipeline: `FilterJob` (what to do to every image) and
`filter_array` (doing it to one image's samples).

gray / float -> kernel chain -> derivative magnitude -> pooling -> display
mapping -> ``--compare`` -> alpha, on a numpy array or, unchanged, on a dask
array (lazily, with the same values). Reading, writing, which images stream
and the all-or-nothing batch are `convkit.pipeline.files`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .._names import LUMA, PoolOp
from ..boundary import normalize_boundary
from ..filters import Filter, filter_image, is_derivative, resolve_filter, to_display
from ..io.images import to_float_image
from ..kernels import KernelSpec
from ..pooling import pool

__all__ = ["FilterJob", "filter_array", "COMPARE_GAP"]

COMPARE_GAP = 4               # white columns between the two halves of ``compare``


@dataclass(frozen=True)
class FilterJob:
    """What to do to every image: kernels already resolved, options checked.

    Build it with `FilterJob.make`, which resolves each kernel spec once (a bad
    spec fails before any file is read).
    """

    kernels: tuple[Filter, ...] = ()
    names: tuple[str, ...] = ()                       # the specs, for messages
    boundary: str = "reflect"
    stride: int = 1
    pool: tuple[PoolOp, int | tuple[int, int], int | None] | None = None   # op, size, stride
    gray: bool = False
    flip: bool = False
    rescale: bool = False
    compare: bool = False

    @classmethod
    def make(cls, kernels: Sequence[KernelSpec] = (), *, boundary: str = "reflect", stride: int = 1,
             pool: tuple | None = None, gray: bool = False, flip: bool = False,
             rescale: bool = False, compare: bool = False) -> FilterJob:
        """Resolve `kernels` and check the options.

        Examples
        --------
        >>> job = FilterJob.make(["gaussian:sigma=1", "sobel"], boundary="edge")
        >>> job.boundary, job.magnitude
        ('nearest', True)
        """
        if int(stride) < 1:
            raise ValueError(f"stride must be >= 1, got {stride!r}")
        if pool is not None:
            op, size, *rest = pool
            pool = (op, size, rest[0] if rest else None)
        return cls(tuple(resolve_filter(k) for k in kernels), tuple(str(k) for k in kernels),
                   normalize_boundary(boundary), int(stride), pool, gray, flip, rescale, compare)

    @property
    def magnitude(self) -> bool:
        """Whether the display shows |value|: some kernel in the chain is a derivative."""
        return any(is_derivative(k) for k in self.kernels)


def _lazy(a: Any) -> bool:
    return not isinstance(a, np.ndarray)


def _refuse_nonfinite(block: np.ndarray, error: type, message: str) -> np.ndarray:
    """`block`, or `error(message)` when it holds NaN or infinity."""
    if not np.isfinite(block).all():
        raise error(message)
    return block


def _finite(a: Any, error: type, message: str) -> Any:
    """`a` checked for NaN / inf: at once in memory, block by block when computed if lazy."""
    if _lazy(a):
        return a.map_blocks(_refuse_nonfinite, error=error, message=message, dtype=a.dtype)
    return _refuse_nonfinite(a, error, message)


def _nearest_resize(a: Any, shape: tuple) -> Any:
    """Nearest-neighbour resample of the first two axes to `shape`."""
    rows = np.arange(shape[0]) * a.shape[0] // shape[0]
    cols = np.arange(shape[1]) * a.shape[1] // shape[1]
    return a[rows][:, cols]


def _side_by_side(left: Any, right: Any) -> Any:
    """Input and output in one image, the output stretched to the input's size."""
    right = _nearest_resize(right, left.shape[:2])
    gap = np.ones(left.shape[:1] + (COMPARE_GAP,) + left.shape[2:], dtype=left.dtype)
    if _lazy(left):
        import dask.array as da

        return da.concatenate([left, da.from_array(gap), right.astype(left.dtype)], axis=1)
    return np.concatenate([left, gap, right.astype(left.dtype, copy=False)], axis=1)


def _pooled(a: Any, op: PoolOp, size: Any, stride: int | None) -> Any:
    return pool(a, size, stride=stride, op=op, axes=(0, 1))


def filter_array(image: Any, job: FilterJob, *, name: str = "the image") -> Any:
    """Filter an image's samples into the [0, 1] values a file of it holds.

    Parameters
    ----------
    image : ndarray or dask.array.Array of shape (H, W) or (H, W, C)
        Stored samples as `convkit.read_image_raw` gives them (bool, uint8,
        uint16, float); C = 2 or 4 carries alpha in the last channel.
    job : FilterJob
    name : str, optional
        How messages name the image (a file's path).

    Returns
    -------
    out : same array type, float in [0, 1], shape (H', W'[, C'])
        The kernels applied in order (the stride on the last), ``|value|``
        when a kernel is a derivative, pooled, mapped by
        `convkit.filters.to_display`, beside the input with ``compare``,
        and the alpha channel (strided, pooled and resized alike) last.

    Raises
    ------
    ValueError
        NaN or infinite samples in `image` (for a dask array: when computed).
    OverflowError
        A result too large to represent, from an overflowing kernel (for a
        dask array: when computed).

    Examples
    --------
    >>> import numpy as np
    >>> img = np.array([[0, 0, 255, 255]] * 3, dtype=np.uint8)
    >>> filter_array(img, FilterJob.make(["sobel_x"], rescale=True))
    array([[0., 1., 1., 0.],
           [0., 1., 1., 0.],
           [0., 1., 1., 0.]])
    """
    img = _finite(to_float_image(image), ValueError,
                  f"{name} contains NaN or infinite samples; convkit filters finite images only")
    alpha = None
    if img.ndim == 3 and img.shape[2] in (2, 4):
        img, alpha = img[..., :-1], img[..., -1]
        if img.shape[2] == 1:
            img = img[..., 0]
    if job.gray and img.ndim == 3:
        img = img @ np.asarray(LUMA, dtype=img.dtype)
    result = img
    for i, kernel in enumerate(job.kernels):
        last = i == len(job.kernels) - 1
        result = filter_image(result, kernel, boundary=job.boundary, flip=job.flip,  # type: ignore[arg-type]
                              stride=job.stride if last else 1)
    if job.kernels:
        result = _finite(result, OverflowError,
                         f"filtering {name} with {' then '.join(job.names)} gives values too large "
                         "to represent (overflow); use a kernel with smaller weights")
    if job.magnitude:                  # before pooling: max-pooling keeps the strongest edge
        result = np.abs(result)
    if alpha is not None and job.stride > 1 and job.kernels:
        alpha = alpha[::job.stride, ::job.stride]
    if job.pool is not None:
        op, size, stride = job.pool
        result = _pooled(result, op, size, stride)
        if alpha is not None:
            alpha = _pooled(alpha, "mean" if op == "sum" else op, size, stride)
    result = to_display(result, magnitude=job.magnitude, rescale=job.rescale)
    if job.compare:
        result = _side_by_side(img, result)
    if alpha is None:
        return result
    a = _nearest_resize(alpha, result.shape[:2])[..., None]
    colour = result if result.ndim == 3 else result[..., None]
    if _lazy(colour):
        import dask.array as da

        return da.concatenate([colour, a.astype(colour.dtype)], axis=2)
    return np.concatenate([colour, a.astype(colour.dtype)], axis=2)
