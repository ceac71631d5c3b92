"""`convkit._engine.plan`: the cheap first test agrees with the full cost model, and the
calls it sends straight to numpy give scipy's results."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

import convkit
from convkit._engine.plan import FLOOR_TAPS, TINY_WORK, Problem, choose, obviously_numpy_1d


@pytest.mark.parametrize("char", sorted(FLOOR_TAPS))
@pytest.mark.parametrize("n", [700, 6_250, 10**5, 10**6, 10**7])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_cheap_test_never_overrules_the_cost_model(char, n, mode):
    a = np.empty(n, dtype=char)
    # from 2 taps: with one tap neither engine transforms anything (the model may call the
    # plain product "fft")
    for k in range(2, 80):
        if obviously_numpy_1d(n, k, char):
            p = Problem(a, np.empty(k, dtype=char), mode, (0,), "constant", 0, (1,), (1,))
            assert choose(p, None) == "direct", (char, n, k, mode)


def test_cheap_test_covers_the_issue_case_and_refuses_long_kernels():
    assert obviously_numpy_1d(100_000, 11, "d")
    assert not obviously_numpy_1d(100_000, 500, "d")
    assert not obviously_numpy_1d(10, 11, "d")          # kernel longer than the signal
    assert obviously_numpy_1d(1000, TINY_WORK // 1000 - 1, "l") is True


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_fast_path_results_equal_scipy(mode, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(100_000).astype(dtype)
    k = rng.standard_normal(11).astype(dtype)
    for func, ref in ((convkit.convolve, scipy.signal.convolve), (convkit.correlate, scipy.signal.correlate)):
        ours = func(x, k, mode)
        expected = ref(x, k, mode, method="direct")
        assert ours.dtype == expected.dtype
        np.testing.assert_allclose(ours, expected, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-4)


def test_problem_reads_shapes_and_dtypes_only():
    # the plan chunked builds from: a dask input gives the numpy input's geometry, uncomputed
    import dask.array as da
    from convkit.boundary import boundary_record
    x = np.arange(60, dtype=np.int16).reshape(6, 10)
    k = np.ones((3, 4), np.int8)
    lazy = da.from_array(x, chunks=4).map_blocks(lambda b: 1 / 0, dtype=np.int16)   # never runs
    for mode in ("full", "same", "valid"):
        args = (mode, (0, 1), boundary_record("reflect"), 0, (2, 1), (1, 2))
        p, q = Problem(x, k, *args), Problem(lazy, k, *args)
        assert (p.out_shape, p.pads, p.extent, p.rdtype) == (q.out_shape, q.pads, q.extent, q.rdtype)


@pytest.mark.parametrize("dtype, cval, widened", [(np.int8, 100, False), (np.int8, 1000, True),
                                                  (np.uint8, -1, True), (np.int64, 5, False),
                                                  (np.float32, 1e10, False)])
def test_pad_dtype_holds_the_fill_exactly(dtype, cval, widened):
    p = Problem(np.zeros(5, dtype), np.ones(2, dtype), "same", (0,), "constant", cval, (1,), (1,))
    assert p.pad_dtype == (np.int64 if widened else np.dtype(dtype))
    assert np.array(cval).astype(p.pad_dtype) == cval
