"""Overlap-save: a long convolution along one axis as independent FFT blocks.

Each block of output is the valid convolution of one slab of input (the
block plus the ``K - 1`` cells of halo before it) with the kernel. A circular
convolution of size ``P >= len(slab)`` holds that valid part free of
wrap-around (the wrapped samples land in the first ``K - 1`` cells, which are
dropped: "save" the rest). Every block uses one ``P``, so the kernel's
spectrum is computed once and shared by all blocks; each block costs one
forward and one inverse transform of size ``P``.

The slabs, their halos and the scheduling are `convkit._engine.blockwise`'s;
a slab holding NaN or Inf is handed to the exact engine instead (a
transform would spread it over the whole block), so NaN stays local.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.fft as sfft

__all__ = ["OverlapSave"]


class OverlapSave:
    """Block function: valid convolution of a slab with `kernel` along `axis`, by FFT.

    `kernel` is the convolution kernel (taps already reversed/conjugated for a
    correlation, zeros already stuffed for a dilation), of length 1 on every
    other axis; `slab_len` the longest slab any block passes.
    """

    def __init__(self, kernel: np.ndarray, axis: int, slab_len: int, stride: int,
                 dtype: np.dtype, fdtype: np.dtype, exact: Callable[..., np.ndarray],
                 workers: int | None = 1) -> None:
        self.axis, self.stride, self.dtype, self.exact, self.workers = axis, stride, dtype, exact, workers
        self.fdtype = fdtype
        self.taps = kernel.shape[axis]
        self.real = np.dtype(fdtype).kind != "c"
        self.size = sfft.next_fast_len(max(slab_len, self.taps), real=self.real)
        transform = sfft.rfft if self.real else sfft.fft
        self.spectrum = transform(kernel.astype(self.fdtype, copy=False), self.size, axis=axis,
                                  workers=workers)

    def __call__(self, slab: np.ndarray, ranges: tuple) -> np.ndarray:
        if slab.dtype.kind in "fc" and not np.isfinite(slab).all():
            return self.exact(slab, ranges=ranges)
        x = slab.astype(self.fdtype, copy=False)
        if self.real:
            spec = sfft.rfft(x, self.size, axis=self.axis, workers=self.workers)
            spec *= self.spectrum
            full = sfft.irfft(spec, self.size, axis=self.axis, workers=self.workers)
        else:
            spec = sfft.fft(x, self.size, axis=self.axis, workers=self.workers)
            spec *= self.spectrum
            full = sfft.ifft(spec, self.size, axis=self.axis, workers=self.workers)
        valid = slice(self.taps - 1, slab.shape[self.axis], self.stride)
        index = (slice(None),) * self.axis + (valid,)
        return full[index].astype(self.dtype, copy=False)
