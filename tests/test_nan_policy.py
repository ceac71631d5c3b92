"""nan_policy="omit" (normalised convolution) on convolve / correlate / filter_image against a
brute-force masked loop over padded inputs, the same on every engine and on dask chunks, and
the refused kernels and values."""

from __future__ import annotations

import numpy as np
import pytest

import convkit
from convkit import convolve, correlate, filter_image

RNG = np.random.default_rng(20261204)
NUMPY_PAD = {"constant": "constant", "reflect": "symmetric", "mirror": "reflect", "nearest": "edge",
             "wrap": "wrap"}


def masked_window(values: np.ndarray, weights: np.ndarray) -> float:
    """One output of normalised convolution, written out: NaN samples left out."""
    valid = ~np.isnan(values)
    den = weights[valid].sum()
    if not np.any(weights[valid] != 0):
        return np.nan
    return float((weights[valid] * values[valid]).sum() * weights.sum() / den)


def masked_correlate_valid(xp: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Valid correlation of an already padded N-D array, one window at a time."""
    out_shape = tuple(n - m + 1 for n, m in zip(xp.shape, k.shape))
    out = np.empty(out_shape)
    for idx in np.ndindex(*out_shape):
        window = xp[tuple(slice(i, i + m) for i, m in zip(idx, k.shape))]
        out[idx] = masked_window(window.ravel(), k.ravel())
    return out


def reference_1d(x, k, mode, flip):
    """Masked loop for scipy's modes with zero padding (convolve flips the kernel)."""
    w = k[::-1] if flip else k
    full = masked_correlate_valid(np.pad(x, len(k) - 1), w)
    n, m = len(x), len(k)
    if mode == "full":
        return full
    if mode == "same":
        start = (len(full) - n) // 2   # scipy's centring of the full result
        return full[start:start + n]
    return full[m - 1:n]


def signal_with_nans(n: int) -> np.ndarray:
    x = RNG.standard_normal(n)
    x[RNG.random(n) < 0.2] = np.nan
    x[n // 3:n // 3 + 6] = np.nan       # a run longer than the kernel: windows with no valid sample
    return x


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
@pytest.mark.parametrize("flip", [True, False])
@pytest.mark.parametrize("kernel", [[1.0, 2.0, 0.5, 1.0], [0.25, 0.5, 0.25], [-1.0, 0.0, -3.0]])
def test_1d_equals_masked_loop(mode, method, flip, kernel):
    x = signal_with_nans(60)
    k = np.array(kernel)
    func = convolve if flip else correlate
    ours = func(x, k, mode, method, nan_policy="omit")
    ref = reference_1d(x, k, mode, flip)
    assert ours.shape == ref.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10, equal_nan=True)


@pytest.mark.parametrize("boundary", sorted(NUMPY_PAD))
@pytest.mark.parametrize("method", ["direct", "fft"])
def test_2d_boundaries_equal_masked_loop(boundary, method):
    x = RNG.standard_normal((17, 19))
    x[RNG.random(x.shape) < 0.25] = np.nan
    x[5:9, 5:9] = np.nan
    k = RNG.random((3, 5)) + 0.1
    ours = correlate(x, k, "same", method, boundary=boundary, cval=0.5, nan_policy="omit")
    pads = [(m // 2, (m - 1) // 2) for m in k.shape]
    extra = {"constant_values": 0.5} if boundary == "constant" else {}
    ref = masked_correlate_valid(np.pad(x, pads, mode=NUMPY_PAD[boundary], **extra), k)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10, equal_nan=True)


def test_engines_agree_on_a_long_signal():
    x = RNG.standard_normal(40_000)
    x[RNG.random(x.size) < 0.1] = np.nan
    x[1000:1300] = np.nan
    k = RNG.random(101)
    results = [convolve(x, k, "same", method, nan_policy="omit") for method in ("direct", "fft", "auto")]
    for r in results[1:]:
        np.testing.assert_array_equal(np.isnan(r), np.isnan(results[0]))
        np.testing.assert_allclose(r, results[0], rtol=1e-9, atol=1e-9, equal_nan=True)
    assert np.isnan(results[0][1100]) and np.isfinite(results[0][1000 - 60])


def test_without_nan_omit_equals_propagate():
    x = RNG.standard_normal((30, 30))
    k = RNG.random((4, 3))
    np.testing.assert_array_equal(convolve(x, k, nan_policy="omit"), convolve(x, k))


def test_inf_is_not_omitted():
    x = np.array([1.0, np.inf, 2.0, np.nan, 3.0])
    out = convolve(x, np.ones(2), nan_policy="omit")
    assert np.isinf(out[1]) and np.isinf(out[2])


def test_filter_image_equals_masked_loop():
    x = RNG.random((21, 23), dtype=np.float32)
    x[RNG.random(x.shape) < 0.3] = np.nan
    ours = filter_image(x, "gaussian:sigma=1", nan_policy="omit")
    k = convkit.get_kernel("gaussian:sigma=1")
    pads = [(m // 2, (m - 1) // 2) for m in k.shape]
    ref = masked_correlate_valid(np.pad(x.astype(np.float64), pads, mode="symmetric"), k)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5, equal_nan=True)


@pytest.mark.parametrize("kernel, match", [
    ([1.0, -1.0], "weights of one sign"),
    ([0.0, 0.0], "nonzero weight"),
    ([1.0, np.nan], "finite kernel"),
    ([1 + 1j, 1.0], "real kernel"),
])
def test_refused_kernels(kernel, match):
    with pytest.raises(ValueError, match=match):
        convolve([1.0, np.nan, 2.0], kernel, nan_policy="omit")


def test_refused_filters_and_policies():
    with pytest.raises(ValueError, match="weights of one sign"):
        filter_image(np.ones((5, 5)), "sobel_x", nan_policy="omit")
    with pytest.raises(ValueError, match="gradient magnitude"):
        filter_image(np.ones((5, 5)), "sobel", nan_policy="omit")
    with pytest.raises(ValueError, match="nan_policy must be one of 'propagate', 'omit'; got 'drop'"):
        correlate([1.0], [1.0], nan_policy="drop")   # type: ignore[arg-type]
    with pytest.raises(ValueError, match="nan_policy must be one of 'propagate', 'omit'; got 'x'"):
        filter_image(np.ones((3, 3)), "box:3", nan_policy="x")   # type: ignore[arg-type]


def test_dask_chunks_equal_in_memory():
    import dask.array as da
    x = RNG.standard_normal((40, 50))
    x[RNG.random(x.shape) < 0.2] = np.nan
    k = RNG.random((3, 3))
    lazy = convolve(da.from_array(x, chunks=(15, 20)), k, "same", nan_policy="omit")
    assert isinstance(lazy, da.Array)
    np.testing.assert_allclose(lazy.compute(), convolve(x, k, "same", nan_policy="omit"),
                               rtol=1e-10, atol=1e-10, equal_nan=True)
