"""convkit.pooling against skimage.measure.block_reduce (stride = size), a naive
loop over windows (any stride / padding), and finite differences for the backward."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.measure import block_reduce

from convkit.pooling import pool, pool_backward

RNG = np.random.default_rng(4)
REDUCERS = {"max": np.max, "min": np.min, "sum": np.sum, "mean": np.mean}


def _pool_naive(x, size, stride, op, padding):
    """Obviously-right 2-D pooling over the last two axes: loop over every window,
    skipping cells outside the input (so padding never wins and mean counts real cells)."""
    (kh, kw), (sh, sw), (ph, pw) = size, stride, padding
    h, w = x.shape[-2:]
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    out = np.zeros(x.shape[:-2] + (ho, wo))
    idx = np.zeros(x.shape[:-2] + (ho, wo), dtype=int)
    for b in np.ndindex(*x.shape[:-2]):
        for i in range(ho):
            for j in range(wo):
                cells = [(r, c) for r in range(i * sh - ph, i * sh - ph + kh)
                         for c in range(j * sw - pw, j * sw - pw + kw) if 0 <= r < h and 0 <= c < w]
                vals = np.array([x[b + (r, c)] for r, c in cells], dtype=np.float64)
                out[b + (i, j)] = REDUCERS[op](vals)
                if op in ("max", "min"):
                    r, c = cells[int(np.argmax(vals) if op == "max" else np.argmin(vals))]
                    idx[b + (i, j)] = r * w + c
    return out, idx


# ------------------------------------------------------- stride = size: skimage

@pytest.mark.parametrize("op", ["max", "min", "sum", "mean"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8, np.int16])
@pytest.mark.parametrize("size", [2, 3, (2, 3)])
def test_equals_block_reduce(op, dtype, size):
    x = (RNG.random((12, 18)) * 100).astype(dtype)
    block = (size, size) if isinstance(size, int) else size
    expected = block_reduce(x, block, REDUCERS[op])
    got = pool(x, size, op=op)
    assert got.shape == expected.shape
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, expected, rtol=rtol)
    if op in ("max", "min"):
        assert got.dtype == x.dtype


@pytest.mark.parametrize("op", ["max", "mean"])
def test_batch_axes_equal_block_reduce(op):
    x = RNG.standard_normal((2, 3, 8, 6))
    expected = block_reduce(x, (1, 1, 2, 2), REDUCERS[op])
    np.testing.assert_allclose(pool(x, 2, op=op), expected, rtol=1e-12)


def test_other_axes_and_a_partial_window_dropped():
    x = RNG.standard_normal((7, 4, 9))             # pool axes 0 and 2; 7 and 9 leave a remainder
    expected = block_reduce(x[:6, :, :9], (2, 1, 3), np.max)
    np.testing.assert_array_equal(pool(x, (2, 3), axes=(0, 2)), expected)


# ------------------------------------------------ any stride / padding: naive loop

@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), kh=st.integers(1, 4), kw=st.integers(1, 4),
       sh=st.integers(1, 3), sw=st.integers(1, 3), ph=st.integers(0, 3), pw=st.integers(0, 3),
       batch=st.integers(1, 2), op=st.sampled_from(["max", "min", "sum", "mean"]),
       seed=st.integers(0, 2 ** 16))
def test_equals_naive_loop(h, w, kh, kw, sh, sw, ph, pw, batch, op, seed):
    ph, pw = min(ph, kh - 1), min(pw, kw - 1)
    if kh > h + 2 * ph or kw > w + 2 * pw:
        return
    # integers in a small range so max/min ties happen and the first-winner rule is tested
    x = np.random.default_rng(seed).integers(-3, 4, (batch, h, w)).astype(np.float64)
    expected, expected_idx = _pool_naive(x, (kh, kw), (sh, sw), op, (ph, pw))
    if op in ("max", "min"):
        got, idx = pool(x, (kh, kw), stride=(sh, sw), op=op, padding=(ph, pw), return_indices=True)
        np.testing.assert_array_equal(idx, expected_idx)
        # the indices pick the max / min out of the input
        picked = np.take_along_axis(x.reshape(batch, -1), idx.reshape(batch, -1), axis=1)
        np.testing.assert_array_equal(picked.reshape(got.shape), got)
    else:
        got = pool(x, (kh, kw), stride=(sh, sw), op=op, padding=(ph, pw))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dtype", [np.float32, np.int8, bool])
@pytest.mark.parametrize("shape", [(3, 2, 8, 6), (2, 7, 9), (1, 2, 2)])
def test_two_by_two_fast_path_equals_naive_loop(op, dtype, shape):
    """The 2 x 2 stride-2 path of the CNN (its own code) against the loop: many ties (values in
    -1..1), odd sizes leaving a row / column out, batch axes, bool input."""
    x = RNG.integers(-1, 2, shape).astype(dtype)
    batch = int(np.prod(shape[:-2]))
    expected, expected_idx = _pool_naive(x.reshape((batch,) + shape[-2:]), (2, 2), (2, 2), op, (0, 0))
    got, idx = pool(x, 2, op=op, return_indices=True)
    assert got.dtype == x.dtype and idx.dtype == np.intp
    np.testing.assert_array_equal(got.reshape(expected.shape), expected)
    np.testing.assert_array_equal(idx.reshape(expected_idx.shape), expected_idx)
    # pooled over other axes (moved internally) the result is the transposed one
    got_t, idx_t = pool(np.swapaxes(x, -1, -2), 2, op=op, axes=(-1, -2), return_indices=True)
    np.testing.assert_array_equal(np.swapaxes(got_t, -1, -2), got)
    np.testing.assert_array_equal(np.swapaxes(idx_t, -1, -2), idx)


def test_two_by_two_nan_takes_the_exact_path():
    x = RNG.standard_normal((2, 4, 4)).astype(np.float32)
    x[0, 1, 1] = x[1, 2, 3] = np.nan
    got, idx = pool(x, 2, return_indices=True)
    expected, expected_idx = _pool_naive(x, (2, 2), (2, 2), "max", (0, 0))
    np.testing.assert_array_equal(got, expected)               # NaN where the naive max is NaN
    assert idx[0, 0, 0] == 5 and idx[1, 1, 1] == 11           # the NaN cell is the index
    np.testing.assert_array_equal(idx[~np.isnan(got)], expected_idx[~np.isnan(got)])


def test_padding_fill_cannot_win_for_integers_or_negative_infinity():
    x = np.array([[-128, -5], [-7, -128]], dtype=np.int8)
    out, idx = pool(x, 2, stride=1, padding=1, return_indices=True)
    expected, expected_idx = _pool_naive(x, (2, 2), (1, 1), "max", (1, 1))
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(idx, expected_idx)
    y = np.full((2, 2), -np.inf)
    _, idx = pool(y, 2, stride=1, padding=1, return_indices=True)
    assert idx.min() >= 0 and idx.max() < 4


def test_nan_propagates_and_is_the_index():
    x = np.array([[1.0, np.nan], [3.0, 2.0]])
    out, idx = pool(x, 2, return_indices=True)
    assert np.isnan(out[0, 0]) and idx[0, 0] == 1


def _torch_rule_max_pool(x, size, stride, padding):
    """PyTorch's CPU max-pool loop, written out: a cell replaces the winner when it is greater
    or NaN (`val > maxval || isnan(val)`), so finite ties keep the first cell, NaN the last."""
    (kh, kw), (sh, sw), (ph, pw) = size, stride, padding
    h, w = x.shape
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    out, idx = np.full((ho, wo), -np.inf), np.full((ho, wo), -1)
    for i in range(ho):
        for j in range(wo):
            for r in range(i * sh - ph, i * sh - ph + kh):
                for c in range(j * sw - pw, j * sw - pw + kw):
                    if 0 <= r < h and 0 <= c < w and (x[r, c] > out[i, j] or np.isnan(x[r, c])):
                        out[i, j], idx[i, j] = x[r, c], r * w + c
    return out, idx


@pytest.mark.parametrize("size, stride, padding", [((2, 2), (2, 2), (0, 0)), ((3, 3), (1, 1), (1, 1)),
                                                   ((3, 2), (2, 1), (0, 1))])
def test_several_nans_in_a_window_keep_the_last_as_pytorch(size, stride, padding):
    x = RNG.integers(0, 3, (7, 8)).astype(np.float64)             # finite ties too
    x[RNG.random(x.shape) < 0.3] = np.nan
    out, idx = pool(x, size, stride=stride, padding=padding, return_indices=True)
    want, want_idx = _torch_rule_max_pool(x, size, stride, padding)
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(idx, want_idx)
    # the gradient goes where the index points: to the last NaN of each such window
    grad = pool_backward(np.ones_like(out), idx, x.shape, size=size, stride=stride, padding=padding)
    want_grad = np.bincount(want_idx.ravel(), minlength=x.size).reshape(x.shape)
    np.testing.assert_array_equal(grad, want_grad)


def test_bool_input():
    x = np.array([[True, False], [False, False]])
    assert pool(x, 2)[0, 0] and not pool(x, 2, op="min")[0, 0]
    assert pool(x, 2, op="sum")[0, 0] == 1


# ------------------------------------------------------------ backward

def _numeric_grad(f, x, eps=1e-6):
    """Central finite differences of a scalar function."""
    g = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


@pytest.mark.parametrize("op", ["max", "min", "sum", "mean"])
@pytest.mark.parametrize("size,stride,padding", [(2, None, 0), (3, 2, 1), ((2, 3), 1, (1, 0))])
def test_backward_equals_finite_differences(op, size, stride, padding):
    x = RNG.standard_normal((2, 3, 7, 6))          # distinct values: max/min is differentiable
    weights = RNG.standard_normal(pool(x, size, stride=stride, padding=padding, op=op).shape)

    def loss(v):
        return float((pool(v, size, stride=stride, padding=padding, op=op) * weights).sum())

    if op in ("max", "min"):
        _, idx = pool(x, size, stride=stride, padding=padding, op=op, return_indices=True)
        grad = pool_backward(weights, idx, x.shape, op=op)
        # with the geometry given, disjoint windows take the plain-scatter path
        np.testing.assert_array_equal(
            pool_backward(weights, idx, x.shape, op=op, size=size, stride=stride, padding=padding), grad)
    else:
        grad = pool_backward(weights, None, x.shape, op=op, size=size, stride=stride, padding=padding)
    np.testing.assert_allclose(grad, _numeric_grad(loss, x), atol=1e-6)


def test_backward_other_axes():
    x = RNG.standard_normal((6, 2, 4))
    out, idx = pool(x, 2, axes=(0, 2), return_indices=True)
    grad = pool_backward(np.ones_like(out), idx, x.shape, axes=(0, 2))
    # every window sends exactly one 1 to its max, and that cell holds the max
    assert grad.sum() == out.size
    np.testing.assert_array_equal(np.sort(x[grad == 1]), np.sort(out.ravel()))


# ------------------------------------------------------------ errors

@pytest.mark.parametrize("kwargs,match", [
    ({"size": (1, 5)}, r"pool size 5 is larger than axis 1 of length 4 \(with padding 0"),
    ({"size": 2, "stride": 0}, "stride must be >= 1"),
    ({"size": 0}, "size must be >= 1"),
    ({"size": 2, "op": "median"}, "op must be one of 'max', 'min', 'sum', 'mean'; got 'median'"),
    ({"size": 2, "padding": 2}, "padding must be smaller than size"),
    ({"size": 2, "padding": -1}, "padding must be >= 0"),
    ({"size": 2, "op": "mean", "return_indices": True}, "return_indices needs op 'max' or 'min'"),
    ({"size": (2, 2, 2)}, r"size must have one entry per axis \(2\)"),
])
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pool(np.zeros((3, 4)), **kwargs)


def test_error_types():
    with pytest.raises(TypeError, match="size must be an int"):
        pool(np.zeros((3, 4)), 2.5)
    with pytest.raises(TypeError, match="needs real input"):
        pool(np.zeros((4, 4), complex), 2)
    with pytest.raises(ValueError, match="needs the indices"):
        pool_backward(np.zeros((2, 2)), None, (4, 4))


def test_docs_list_the_pooling_ops():
    from convkit.pooling import POOL_OPS, pool_backward

    for func in (pool, pool_backward):
        text = " ".join(func.__doc__.split())
        assert "%(" not in text
        for op in ("max", "min", "sum", "mean"):   # the accepted ops, as torch/skimage name them
            assert repr(op) in text and op in POOL_OPS


def _mean_loop(x, size, padding):
    """Each window's np.mean over its real cells, by a plain loop (the reference)."""
    h, w = x.shape
    n_h, n_w = (h + 2 * padding - size) // size + 1, (w + 2 * padding - size) // size + 1
    out = np.empty((n_h, n_w))
    for i in range(n_h):
        for j in range(n_w):
            r0, c0 = i * size - padding, j * size - padding
            cells = x[max(r0, 0):r0 + size, max(c0, 0):c0 + size]
            out[i, j] = np.mean(cells)
    return out


@pytest.mark.parametrize("dask", [False, True])
@pytest.mark.parametrize("padding", [0, 1])
@pytest.mark.parametrize("dtype,low,high", [(np.int64, 2 ** 62, 2 ** 63 - 1),
                                            (np.int64, -2 ** 63, -2 ** 62),
                                            (np.uint64, 2 ** 63, 2 ** 64 - 1)])
def test_integer_mean_does_not_wrap(dtype, low, high, padding, dask):
    rng = np.random.default_rng(3)
    x = rng.integers(low, high, (6, 8), dtype=dtype, endpoint=True)
    x[:2, :2] = low                             # [2**62] * 4 sums past int64's range
    arg = x
    if dask:
        import dask.array as da
        arg = da.from_array(x, chunks=(4, 4))
    got = pool(arg, 2, op="mean", padding=padding)
    got = got.compute() if dask else got
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, _mean_loop(x, 2, padding), rtol=1e-15)


def _ceil_pool_loop(x, k, s, p, ceil_mode, include_pad, op):
    """PyTorch's pooling rule over the last axis by hand: windows start at -p, s apart; with
    ceil_mode a last partial window counts if it starts inside the input or its left padding; a
    mean divides by the cells inside the input (and the padding with include_pad)."""
    n = x.shape[-1]
    span = n + 2 * p - k
    count = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (count - 1) * s >= n + p:
        count -= 1
    out = []
    for i in range(count):
        start = i * s - p
        cells = [x[..., j] for j in range(max(start, 0), min(start + k, n))]
        if op == "max":
            out.append(np.max(np.stack(cells), axis=0))
        else:
            lo, hi = (-p, n + p) if include_pad else (0, n)
            out.append(np.sum(np.stack(cells), axis=0) / (min(start + k, hi) - max(start, lo)))
    return np.stack(out, axis=-1)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(2, 12), k=st.integers(1, 4), s=st.integers(1, 3), p=st.integers(0, 2),
       ceil_mode=st.booleans(), include_pad=st.booleans(), op=st.sampled_from(["max", "mean"]),
       seed=st.integers(0, 2**16))
def test_ceil_mode_and_count_include_pad_against_a_loop(n, k, s, p, ceil_mode, include_pad, op, seed):
    from hypothesis import assume

    from helpers.fd import fd_grad
    from convkit.pooling import pool_backward
    assume(2 * p <= k and k <= n + 2 * p)
    x = np.random.default_rng(seed).standard_normal((2, n))
    options = dict(stride=s, padding=p, op=op, axes=-1, ceil_mode=ceil_mode, count_include_pad=include_pad)
    got = pool(x, k, **options)
    np.testing.assert_allclose(got, _ceil_pool_loop(x, k, s, p, ceil_mode, include_pad, op), rtol=1e-12)
    import dask.array as da                              # chunks of 3 along the pooled axis: halos
    np.testing.assert_allclose(pool(da.from_array(x, chunks=(1, 3)), k, **options).compute(), got, rtol=1e-12)
    g = np.random.default_rng(seed + 1).standard_normal(got.shape)
    idx = pool(x, k, return_indices=True, **options)[1] if op == "max" else None
    grad = pool_backward(g, idx, x.shape, size=k, **options)
    np.testing.assert_allclose(grad, fd_grad(lambda: float((pool(x, k, **options) * g).sum()), x), atol=1e-6)


def test_ceil_mode_layers_and_dask():
    from convkit.cnn import MaxPool1D, Pool2D
    x = np.arange(2 * 7.0).reshape(1, 2, 7)
    layer = MaxPool1D(2, ceil_mode=True)
    assert layer.forward(x).shape == (1, 2, 4) == (1,) + layer.output_shape((2, 7))
    np.testing.assert_array_equal(layer.forward(x)[..., -1], x[..., 6])
    img = np.arange(49.0).reshape(1, 1, 7, 7)
    mean = Pool2D(3, 2, op="mean", padding=1, ceil_mode=True, count_include_pad=True)
    cols = _ceil_pool_loop(img, 3, 2, 1, True, True, "mean")             # a 2-D mean is one axis after the other
    want = _ceil_pool_loop(cols.swapaxes(-1, -2), 3, 2, 1, True, True, "mean").swapaxes(-1, -2)
    assert mean.forward(img).shape == (1, 1, 4, 4) == (1,) + mean.output_shape((1, 7, 7))
    np.testing.assert_allclose(mean.forward(img), want, rtol=1e-12)
    import dask.array as da                              # the same windows and divisors per block
    for chunks in (2, 3, 7):
        lazy = pool(da.from_array(img, chunks=chunks), 3, stride=2, op="mean", padding=1, ceil_mode=True,
                    count_include_pad=True)
        np.testing.assert_allclose(lazy.compute(), want, rtol=1e-12)
        np.testing.assert_array_equal(pool(da.from_array(img, chunks=chunks), 2, ceil_mode=True).compute(),
                                      pool(img, 2, ceil_mode=True))
