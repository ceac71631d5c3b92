"""Windowed operations on dask arrays, one output block at a time.

A windowed operation (convolution, a filter, pooling) reads, for output
sample ``j`` of an axis, the cells ``[j*stride, j*stride + span)`` of the input
padded by ``(before, after)`` cells. This module builds that padded input
lazily (`pad_lazy`), cuts the output into blocks that line up with the input's
chunks (`out_chunks`), and runs a numpy function on the slab of padded input
each output block reads (`blockwise`). What the function computes is the
caller's (`convkit.chunked`): this module knows geometry, not arithmetic.

Halos are built here, not by ``dask.array.overlap``: dask's overlap refuses a
depth larger than a chunk and its ``pad`` refuses reflect/wrap pads wider than
the axis, while `convkit.boundary.pad_indices` maps any padded cell to its
source cell, however wide the pad.

dask is imported by the functions, never at module import.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .._names import DISTRIBUTION
from ..boundary import Boundary, boundary_record, pad_indices

__all__ = ["AxisPlan", "identity_plan", "broadcast_plan", "halo_fill", "pad_lazy",
           "out_chunks", "blockwise", "ceil_div", "round_up", "is_dask", "require_dask",
           "DASK_MISSING"]

DASK_MISSING = f'this needs dask: pip install "{DISTRIBUTION}[dask]"'


def is_dask(x: object) -> bool:
    """True for a dask collection, judged by its type's module: never imports dask.

    The in-memory functions ask this before anything else and hand a dask
    argument up to `convkit.chunked` (imported there, lazily).
    """
    return type(x).__module__.split(".", 1)[0] == "dask"


def require_dask() -> Any:
    """``dask.array``, or ImportError naming the extra to install."""
    try:
        import dask.array as da
    except ImportError:
        raise ImportError(DASK_MISSING) from None
    return da


def halo_fill(boundary: str | Boundary) -> bool:
    """True when `boundary`'s halo cells hold the fill value rather than copies of input cells."""
    return not boundary_record(boundary).copies_input


@dataclass(frozen=True)
class AxisPlan:
    """Geometry of one axis: output ``j`` reads padded cells ``[j*stride, j*stride + span)``."""

    before: int          # padding cells in front of the input
    after: int           # padding cells behind it
    span: int            # padded cells one output sample reads
    stride: int
    out_len: int
    shift: int           # output j "sits at" input cell j*stride + shift (for chunk alignment)
    broadcast: bool = False   # the input has length 1 here and the output out_len

    def padded_range(self, j0: int, j1: int) -> tuple[int, int]:
        """The padded cells outputs ``[j0, j1)`` read."""
        if self.broadcast:
            return 0, 1
        return j0 * self.stride, (j1 - 1) * self.stride + self.span


def identity_plan(n: int) -> AxisPlan:
    """An axis the operation does not window: output j is input j."""
    return AxisPlan(0, 0, 1, 1, n, 0)


def broadcast_plan(out_len: int) -> AxisPlan:
    """A length-1 input axis that broadcasts to `out_len` outputs."""
    return AxisPlan(0, 0, 1, 1, out_len, 0, broadcast=True)


def pad_lazy(x: Any, plans: Sequence[AxisPlan], boundary: str | Boundary, cval: Any) -> Any:
    """`x` (a dask array) extended by each plan's (before, after) cells under `boundary`."""
    import dask.array as da

    fill = halo_fill(boundary)
    for ax, plan in enumerate(plans):
        if plan.before == plan.after == 0:
            continue
        n = x.shape[ax]
        parts = []
        if fill:
            for width in (plan.before, plan.after):
                shape = x.shape[:ax] + (width,) + x.shape[ax + 1:]
                chunks = x.chunks[:ax] + ((width,),) + x.chunks[ax + 1:]
                parts.append(da.full(shape, cval, dtype=x.dtype, chunks=chunks))
        else:
            index = pad_indices(n, plan.before, plan.after, boundary)
            for cells in (index[:plan.before], index[plan.before + n:]):
                parts.append(da.take(x, cells, axis=ax).rechunk({ax: -1}))
        x = da.concatenate([parts[0], x, parts[1]], axis=ax)
    return x


def out_chunks(in_chunks: Sequence[int], plan: AxisPlan) -> tuple[int, ...]:
    """Output chunk lengths along one axis: output j goes with the input chunk holding j*stride + shift.

    Chunks that would be empty (a stride longer than a chunk, the edges of a
    'valid' output) are merged into their neighbours, so any input chunking works.
    """
    if plan.broadcast or plan.out_len == 0:
        return (plan.out_len,)
    bounds = [0]
    edge = 0
    for size in in_chunks[:-1]:
        edge += size
        j = -(-(edge - plan.shift) // plan.stride)
        bounds.append(min(max(j, 0), plan.out_len))
    bounds.append(plan.out_len)
    sizes = tuple(b - a for a, b in zip(bounds, bounds[1:]) if b > a)
    return sizes or (plan.out_len,)


def blockwise(x: Any, plans: Sequence[AxisPlan], boundary: str | Boundary, cval: Any,
              func: Callable[..., np.ndarray], dtype: np.dtype) -> Any:
    """Lazy output of `func` over `x`: ``func(slab, ranges=...)`` per output block.

    `slab` is the padded input the block reads (one numpy array) and `ranges`
    the block's ``(j0, j1)`` output range per axis; `func` must return an
    array of shape ``(j1 - j0, ...)`` and dtype `dtype`, and must pickle
    (a module-level function or a ``functools.partial`` of one) for
    process-based schedulers.
    """
    import dask.array as da

    xp = pad_lazy(x, plans, boundary, cval)
    chunks = [out_chunks(c, p) for c, p in zip(x.chunks, plans)]
    edges = [list(itertools.accumulate(c, initial=0)) for c in chunks]
    grid = np.empty(tuple(len(c) for c in chunks), dtype=object)
    meta = np.empty((0,) * x.ndim, dtype=dtype)
    for index in itertools.product(*(range(len(c)) for c in chunks)):
        ranges = tuple((e[i], e[i + 1]) for e, i in zip(edges, index))
        window = tuple(slice(*p.padded_range(j0, j1)) for p, (j0, j1) in zip(plans, ranges))
        slab = xp[window]
        slab = slab.rechunk(slab.shape)                       # the block's whole input, one piece
        shape = tuple(j1 - j0 for j0, j1 in ranges)
        grid[index] = da.map_blocks(func, slab, ranges=ranges, dtype=dtype, meta=meta,
                                    chunks=tuple((n,) for n in shape))
    return da.block(grid.tolist()) if grid.ndim else grid[()]


def ceil_div(a: int, b: int) -> int:
    """``ceil(a / b)`` for ints."""
    return -(-a // b)


def round_up(a: int, b: int) -> int:
    """The smallest multiple of `b` that is >= `a`."""
    return ceil_div(a, b) * b

