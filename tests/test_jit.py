"""`convkit._engine.jit`: the compiled row-band filter against scipy.ndimage.correlate, for
every boundary, odd and even kernel sizes, dense and separable kernels, both float types,
NaN/Inf placement, one and several threads, and through `filter_image`."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal

from convkit import filter_image, filters, set_threads
from convkit._engine import jit, threads
from convkit.boundary import BOUNDARY_MODES


NDI = {"constant": "constant", "reflect": "reflect", "mirror": "mirror", "nearest": "nearest", "wrap": "wrap"}
RNG = np.random.default_rng(20261204)


@pytest.mark.parametrize("boundary", sorted(NDI))
@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (5, 1), (1, 6), (7, 7), (4, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_equals_ndimage(boundary, shape, dtype):
    x = RNG.standard_normal((37, 41)).astype(dtype)
    k = RNG.standard_normal(shape).astype(dtype)
    ours = jit.filter_plane(x, k, None, boundary, 0.5)
    ref = ndi.correlate(x.astype(np.float64), k.astype(np.float64), mode=NDI[boundary], cval=0.5)
    assert ours.dtype == dtype and ours.shape == x.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=2e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("boundary", sorted(NDI))
@pytest.mark.parametrize("sizes", [(3, 3), (5, 2), (4, 7), (1, 9)])
def test_separable_equals_ndimage(boundary, sizes):
    x = RNG.standard_normal((29, 33))
    col, row = RNG.standard_normal(sizes[0]), RNG.standard_normal(sizes[1])
    k = np.outer(col, row)
    ours = jit.filter_plane(x, k, (col, row), boundary, -1.25)
    ref = ndi.correlate(x, k, mode=NDI[boundary], cval=-1.25)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


def test_kernel_larger_than_the_image():
    x = RNG.standard_normal((4, 3))
    k = RNG.standard_normal((9, 7))
    for boundary in ("constant", "reflect", "nearest", "wrap"):
        ours = jit.filter_plane(x, k, None, boundary, 0.0)
        np.testing.assert_allclose(ours, ndi.correlate(x, k, mode=NDI[boundary]), atol=1e-12)


def test_nan_and_inf_reach_the_outputs_scipy_gives():
    x = RNG.standard_normal((20, 20))
    x[5, 7], x[12, 3] = np.nan, np.inf
    k = RNG.standard_normal((3, 3))
    k[0, 0] = 0.0     # a zero tap over an Inf is NaN, not skipped
    ours = jit.filter_plane(x, k, None, "reflect", 0.0)
    # scipy.signal's direct sum (ndimage drops zero taps, so it never sees 0 * inf)
    ref = scipy.signal.correlate(np.pad(x, 1, mode="symmetric"), k, mode="valid", method="direct")
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    np.testing.assert_allclose(ours[np.isfinite(ref)], ref[np.isfinite(ref)], atol=1e-12)


@pytest.mark.parametrize("n", [1, 2])
def test_row_bands_on_threads_equal_one_thread(monkeypatch, n):
    monkeypatch.setattr(threads, "_env_read", False)
    x = RNG.standard_normal((300, 310)).astype(np.float32)
    k = RNG.standard_normal((5, 5)).astype(np.float32)
    set_threads(n)
    try:
        ours = jit.filter_plane(x, k, None, "mirror", 0.0)
    finally:
        set_threads(None)
    np.testing.assert_array_equal(ours, jit.filter_plane(x, k, None, "mirror", 0.0, workers=1))
    np.testing.assert_allclose(ours, ndi.correlate(x.astype(np.float64), k.astype(np.float64), mode="mirror"),
                               atol=2e-5)


@pytest.mark.parametrize("spec", ["gaussian:sigma=2", "sobel_x", "box:4", "laplacian"])
@pytest.mark.parametrize("channels", [None, 3])
def test_filter_image_keeps_float32_and_equals_ndimage(monkeypatch, spec, channels):
    monkeypatch.setattr(filters, "JIT_MIN_PIXELS", 0)
    from convkit.kernels import get_kernel
    shape = (40, 45) if channels is None else (40, 45, channels)
    x = RNG.random(shape, dtype=np.float32)
    k = get_kernel(spec)
    ours = filter_image(x, spec, boundary="reflect")
    assert ours.dtype == np.float32
    kk = k if channels is None else k[:, :, None]
    ref = ndi.correlate(x.astype(np.float64), kk, mode="reflect")
    np.testing.assert_allclose(ours, ref, atol=2e-5)


def test_rank1_array_kernel_runs_separable_with_the_same_result(monkeypatch):
    monkeypatch.setattr(filters, "JIT_MIN_PIXELS", 0)
    x = RNG.standard_normal((64, 64))
    k = np.outer(RNG.standard_normal(21), RNG.standard_normal(21))
    ours = filter_image(x, k, method="direct")
    np.testing.assert_allclose(ours, ndi.correlate(x, k, mode="reflect"), atol=1e-10)


def test_rank1_tolerance_follows_the_kernel_dtype():
    from convkit.kernels import resolve_kernel
    col, row = RNG.standard_normal(9), RNG.standard_normal(7)
    k32 = np.outer(col, row).astype(np.float32)
    assert resolve_kernel(k32).factors is not None                 # float32 rounding is not rank 2
    assert resolve_kernel(k32.astype(np.float64), rtol=1e-12).factors is None
    k64 = np.outer(col, row)
    k64[0, 0] += 1e-6                                              # a real second component
    assert resolve_kernel(k64).factors is None
    kint = np.outer([1, 2, 1], [1, 0, -1])
    c, r = resolve_kernel(kint).factors
    np.testing.assert_allclose(np.outer(c, r), kint, atol=1e-12)
    assert resolve_kernel(np.eye(3)).factors is None
