"""The direct engine's valid correlation against an index-loop reference (small cases,
every strategy: taps, gemm, the 1-D dot path, row blocks on threads) and against
scipy.signal.correlate of the zero-stuffed kernel (large cases)."""

import itertools

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import given, settings
from hypothesis import strategies as st

from convkit._engine.direct import correlate_valid, valid_shape

RNG = np.random.default_rng(3)


def _loop_reference(x, w, axes, stride, dilation):
    """out[i] = sum_m w[m] x[i*s + m*d] along `axes`; other axes broadcast (size 1 or equal)."""
    shape = []
    for ax in range(x.ndim):
        if ax in axes:
            i = axes.index(ax)
            shape.append((x.shape[ax] - dilation[i] * (w.shape[ax] - 1) - 1) // stride[i] + 1)
        else:
            shape.append(max(x.shape[ax], w.shape[ax]))
    dtype = np.result_type(x, w)
    out = np.zeros(shape, dtype=object if dtype.kind in "iub" else dtype)
    taps = [range(w.shape[ax]) for ax in axes]
    for pos in np.ndindex(*shape):
        total = 0
        for m in itertools.product(*taps):
            xi, wi = list(pos), list(pos)
            for ax in range(x.ndim):
                if ax in axes:
                    i = axes.index(ax)
                    xi[ax] = pos[ax] * stride[i] + m[i] * dilation[i]
                    wi[ax] = m[i]
                else:
                    xi[ax] = pos[ax] if x.shape[ax] > 1 else 0
                    wi[ax] = pos[ax] if w.shape[ax] > 1 else 0
            xv, wv = x[tuple(xi)], w[tuple(wi)]
            total = total + (int(xv) * int(wv) if dtype.kind in "iub" else xv * wv)
        out[pos] = total
    return out


@pytest.mark.parametrize("xshape,wshape,axes,stride,dilation", [
    ((9,), (3,), (0,), (1,), (1,)),              # 1-D dot path
    ((9,), (3,), (0,), (2,), (2,)),              # 1-D taps
    ((8, 7), (3, 4), (0, 1), (1, 1), (1, 1)),    # 12 taps, few outputs: gemm
    ((8, 7), (3, 4), (1, 0), (1, 1), (1, 1)),    # the same with axes listed in reverse
    ((9, 8), (2, 2), (0, 1), (2, 3), (1, 2)),    # few taps: tap loop
    ((9, 8), (2, 3), (1, 0), (2, 1), (1, 2)),    # tap loop, axes reversed
    ((9, 10), (3, 3), (1, 0), (2, 1), (2, 1)),   # gemm, axes reversed, strided, dilated
    ((5, 6, 4), (2, 3, 2), (2, 0, 1), (1, 2, 1), (1, 1, 2)),
    ((4, 9), (1, 3), (1,), (1,), (1,)),          # axis 0 not convolved (kernel 1 there)
    ((1, 9), (4, 3), (1,), (2,), (1,)),          # axis 0 broadcast from the input side
    ((4, 9), (4, 3), (1,), (1,), (2,)),          # axis 0 paired element by element
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128, np.int64, np.int32])
def test_matches_loop(xshape, wshape, axes, stride, dilation, dtype):
    x = (RNG.integers(-9, 10, size=xshape) + (1j * RNG.integers(-9, 10, size=xshape)
                                               if np.dtype(dtype).kind == "c" else 0)).astype(dtype)
    w = (RNG.integers(-9, 10, size=wshape) + (1j * RNG.integers(-9, 10, size=wshape)
                                               if np.dtype(dtype).kind == "c" else 0)).astype(dtype)
    got = correlate_valid(x, w, axes, stride, dilation, np.dtype(dtype))
    want = _loop_reference(x, w, axes, stride, dilation)
    assert got.dtype == dtype
    assert got.shape == want.shape == valid_shape(x.shape, w.shape, axes, stride, dilation)
    np.testing.assert_array_equal(got, want.astype(dtype))   # small integers: exact in floats too


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_matches_loop_property(data):
    ndim = data.draw(st.integers(1, 3))
    axes = tuple(data.draw(st.permutations(range(ndim)))[:data.draw(st.integers(1, ndim))])
    xshape, wshape, stride, dilation = [], [], [], []
    for ax in range(ndim):
        if ax in axes:
            k, d = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 3))
            wshape.append(k)
            xshape.append(d * (k - 1) + 1 + data.draw(st.integers(0, 6)))
        else:
            n = data.draw(st.integers(1, 3))
            pair = data.draw(st.sampled_from([(n, n), (1, n), (n, 1)]))
            xshape.append(pair[0])
            wshape.append(pair[1])
    for ax in axes:
        k = wshape[ax]
        d_max = max(1, (xshape[ax] - 1) // max(1, k - 1)) if k > 1 else 3
        dilation.append(data.draw(st.integers(1, min(3, d_max))))
        stride.append(data.draw(st.integers(1, 3)))
    x = RNG.integers(-5, 6, size=xshape).astype(np.float64)
    w = RNG.integers(-5, 6, size=wshape).astype(np.float64)
    got = correlate_valid(x, w, axes, tuple(stride), tuple(dilation), np.dtype(np.float64))
    want = _loop_reference(x, w, axes, tuple(stride), tuple(dilation))
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("stride,dilation", [((1, 1), (1, 1)), ((1, 2), (3, 2))])
def test_large_row_blocks_match_scipy(workers, stride, dilation):
    # enough outputs for row blocks on the thread pool
    x = RNG.standard_normal((800, 640)).astype(np.float32)
    w = RNG.standard_normal((3, 3)).astype(np.float32)
    got = correlate_valid(x, w, (0, 1), stride, dilation, np.dtype(np.float32), workers)
    stuffed = np.zeros((dilation[0] * 2 + 1, dilation[1] * 2 + 1))
    stuffed[::dilation[0], ::dilation[1]] = w
    want = ss.correlate(x.astype(np.float64), stuffed, "valid", method="direct")
    want = want[::stride[0], ::stride[1]]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(w).sum() * 5)


def test_nan_with_zero_taps():
    # 0 * nan is nan: a zero tap must not be skipped where the input is not finite
    x = np.array([1.0, np.nan, 2.0, 3.0, np.inf])
    w = np.array([0.0, 1.0])
    with np.errstate(invalid="ignore"):
        got = correlate_valid(x, w, (0,), (2,), (1,), np.dtype(np.float64))
        want = np.array([np.nan * 0 + 1.0 * np.nan, 0.0 * 2.0 + 3.0])
    np.testing.assert_array_equal(got, want)


def test_empty_output():
    got = correlate_valid(np.ones((0, 5)), np.ones((1, 2)), (1,), (1,), (1,), np.dtype(np.float64))
    assert got.shape == (0, 4)
