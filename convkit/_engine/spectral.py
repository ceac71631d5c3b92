"""The FFT engine: linear convolution through circular convolution, and overlap-add.

A linear convolution ``c = a * b`` (length ``N + K - 1`` per axis) is read off a
circular one of size ``P``: circular sample ``n`` holds ``c[n] + c[n + P] + ...``.
The caller asks only for a window ``c[start : start + length]``; that window is
free of wrap-around as soon as ``P >= start + length`` and
``P >= N + K - 1 - start``. So "valid" needs only ``P >= N`` and "same" about
``N + K/2``, not the ``N + K - 1`` of the full result. ``P`` is rounded up to
a size pocketfft transforms fast (`scipy.fft.next_fast_len`).

Overlap-add cuts a long axis into blocks of ``B`` samples, transforms each
block (size ``P = B + K - 1``) and adds the block results, shifted, into the
output: ``ceil(N / B)`` transforms of size ``P`` instead of one of size
``N + K - 1``, with the block size picked by the same cost model as the
method choice.

Mode cropping, padding, strides, kernel flipping and dtypes are the caller's
(`convkit.convolution`); this module multiplies spectra.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft as sfft

from .threads import pool, thread_count

__all__ = ["fft_window", "oa_window", "oa_block", "circular_size", "fft_dtype"]


def fft_dtype(*dtypes: np.dtype) -> np.dtype:
    """The dtype the transforms run in: single precision for float16/32 and complex64 inputs."""
    rdtype = np.result_type(*dtypes)
    single = all(np.dtype(d) in (np.float16, np.float32, np.complex64) for d in dtypes
                 if np.dtype(d).kind in "fc") and any(np.dtype(d).kind in "fc" for d in dtypes)
    if rdtype.kind == "c":
        return np.dtype(np.complex64 if single else np.complex128)
    return np.dtype(np.float32 if single else np.float64)


def circular_size(n: int, k: int, start: int, length: int, real: bool) -> int:
    """Smallest fast transform size whose circular convolution holds the window exactly."""
    need = max(start + length, n + k - 1 - start, 1)
    return sfft.next_fast_len(need, real=real)



def _times(spec: np.ndarray, other: np.ndarray) -> np.ndarray:
    """spec * other, in place when the broadcast keeps spec's shape."""
    if np.broadcast_shapes(spec.shape, other.shape) == spec.shape:
        spec *= other
        return spec
    return spec * other


def _zero_extend(x: np.ndarray, n: int, axis: int) -> np.ndarray:
    """`x` with zeros appended along `axis` up to length `n` (or cut to `n`).

    scipy.fft pads itself when given ``n``, but that path is several times
    slower than transforming an explicitly padded array (measured: 5x for
    float64 batches of short rows).
    """
    if x.shape[axis] >= n:
        # a kernel longer than the transform: its taps past n never reach the window
        return x[(slice(None),) * axis + (slice(0, n),)]
    shape = list(x.shape)
    shape[axis] = n
    out = np.zeros(shape, dtype=x.dtype)
    out[(slice(None),) * axis + (slice(0, x.shape[axis]),)] = x
    return out


def _forward(x: np.ndarray, sizes: list, axes: tuple, threads: int, real: bool) -> np.ndarray:
    """N-D transform, one axis at a time, each on only the rows that carry data.

    rfftn/fftn would zero-pad the whole array to `sizes` first and transform
    the padding rows too; here the first pass runs on the unpadded rows and
    each later pass pads only its own axis.
    """
    x = _zero_extend(x, sizes[-1], axes[-1])
    if real:
        spec = sfft.rfft(x, axis=axes[-1], workers=threads)
    else:
        spec = sfft.fft(x, axis=axes[-1], workers=threads)
    for ax, n in zip(axes[-2::-1], sizes[-2::-1]):
        spec = sfft.fft(_zero_extend(spec, n, ax), axis=ax, workers=threads, overwrite_x=True)
    return spec


def _forward_pair(a: np.ndarray, b: np.ndarray, sizes: list, axes: tuple, threads: int,
                  real: bool) -> tuple[np.ndarray, np.ndarray]:
    """Both forward transforms; side by side on two threads when one transform cannot split.

    pocketfft spreads a transform over threads only along its batch (other)
    axes, so a single 1-D signal runs on one core: transforming the signal and
    the kernel at the same time is then the only parallelism there is.
    """
    single = len(axes) == 1 and math.prod(n for ax, n in enumerate(a.shape) if ax not in axes) == 1
    if threads > 1 and single and sizes[0] >= 1 << 14:
        jobs = [pool().submit(_forward, x, sizes, axes, 1, real) for x in (a, b)]
        return jobs[0].result(), jobs[1].result()
    return _forward(a, sizes, axes, threads, real), _forward(b, sizes, axes, threads, real)


def _inverse(spec: np.ndarray, sizes: list, axes: tuple, starts: tuple, lengths: tuple,
             threads: int, real: bool) -> np.ndarray:
    """Inverse of `_forward`, cropping each axis to its window as soon as it is done."""
    for ax, n, s, m in zip(axes[:-1], sizes[:-1], starts[:-1], lengths[:-1]):
        spec = sfft.ifft(spec, n, axis=ax, workers=threads, overwrite_x=True)
        spec = spec[(slice(None),) * ax + (slice(s, s + m),)]
    if real:
        out = sfft.irfft(spec, sizes[-1], axis=axes[-1], workers=threads)
    else:
        out = sfft.ifft(spec, sizes[-1], axis=axes[-1], workers=threads)
    return out[(slice(None),) * axes[-1] + (slice(starts[-1], starts[-1] + lengths[-1]),)]


def fft_window(a: np.ndarray, b: np.ndarray, axes: tuple, starts: tuple, lengths: tuple,
               workers: int | None = None) -> np.ndarray:
    """``(a * b)[start : start + length]`` along each of `axes`, by one FFT product.

    `a` and `b` have the same ndim and dtype (float or complex); along other
    axes they broadcast. The result has that dtype.
    """
    real = a.dtype.kind == "f"
    if not axes:
        return a * b
    sizes = [circular_size(a.shape[ax], b.shape[ax], s, n, real)
             for ax, s, n in zip(axes, starts, lengths)]
    threads = thread_count(workers)
    spec = _times(*_forward_pair(a, b, sizes, axes, threads, real))
    out = _inverse(spec, sizes, axes, starts, lengths, threads, real)
    return out.astype(a.dtype, copy=False)


def _transform_cost(p: int) -> float:
    return p * math.log2(max(p, 2))


def oa_block(n: int, k: int, real: bool = True) -> tuple[int, int]:
    """(transform size P, block length B = P - K + 1) that minimise the overlap-add work."""
    best = None
    factor = 2
    while True:
        p = sfft.next_fast_len(max(k * factor, 2 * k), real=real)
        block = p - k + 1
        cost = math.ceil(n / block) * _transform_cost(p)
        if best is None or cost < best[0]:
            best = (cost, p, block)
        if block >= n:
            break
        factor *= 2
    return best[1], best[2]


def oa_window(a: np.ndarray, b: np.ndarray, axis: int, start: int, length: int,
              workers: int | None = None) -> np.ndarray:
    """``(a * b)[start : start + length]`` along one `axis` by overlap-add.

    `b` spans `axis` with K taps; elsewhere `a` and `b` broadcast.
    """
    real = a.dtype.kind == "f"
    n, k = a.shape[axis], b.shape[axis]
    p, block = oa_block(n, k, real)
    a = np.moveaxis(a, axis, -1)
    b = np.moveaxis(b, axis, -1)
    blocks = -(-n // block)
    lead = a.shape[:-1]
    # blocks of B samples, each followed by the P - B zeros of its transform
    padded = np.zeros(lead + (blocks, p), dtype=a.dtype)
    whole = n // block
    padded[..., :whole, :block] = a[..., :whole * block].reshape(lead + (whole, block))
    if whole < blocks:
        padded[..., whole, :n - whole * block] = a[..., whole * block:]
    a = padded
    b = _zero_extend(b, p, b.ndim - 1)
    # many short transforms: threads only pay off once there is real work to split
    threads = thread_count(workers) if a.size >= 1 << 20 else 1
    if real:
        spec = _times(sfft.rfft(a, axis=-1, workers=threads),
                      sfft.rfft(b, axis=-1, workers=threads)[..., None, :])
        pieces = sfft.irfft(spec, p, axis=-1, workers=threads, overwrite_x=True)
    else:
        spec = _times(sfft.fft(a, axis=-1, workers=threads),
                      sfft.fft(b, axis=-1, workers=threads)[..., None, :])
        pieces = sfft.ifft(spec, p, axis=-1, workers=threads, overwrite_x=True)
    pieces = pieces.astype(a.dtype, copy=False)
    # block i lands on out[i*B : i*B + P]: its head fills row i, its tail (K - 1 <= B
    # samples) spills into the start of row i + 1
    out = np.zeros(pieces.shape[:-2] + (blocks + 1, block), dtype=pieces.dtype)
    out[..., :blocks, :] = pieces[..., :block]
    out[..., 1:, : p - block] += pieces[..., block:]
    out = out.reshape(out.shape[:-2] + (-1,))[..., start:start + length]
    return np.moveaxis(out, -1, axis)
