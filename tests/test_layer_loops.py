"""The compiled layer loops (`convkit._engine.layer_loops`) against numpy references: batch norm
against its formula in float64, ReLU against x * (x > 0), 2 x 2 pooling against `convkit.pool`
and a brute-force loop; the layers give the same results with and without them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convkit
from convkit import pool
from convkit.pooling import pool_backward
from convkit._engine import layer_loops
from convkit.cnn import BatchNorm2D, MaxPool1D, MaxPool2D, Pool1D, Pool2D, ReLU


@pytest.fixture(params=[1, 2], ids=["1 thread", "2 threads"])
def threads(request, monkeypatch):
    """Run with one and with two threads, pieces handed out even for small arrays."""
    monkeypatch.setattr(layer_loops, "PARALLEL_MIN", 1)
    convkit.set_threads(request.param)
    yield request.param
    convkit.set_threads(None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_loops_against_the_formula(threads, dtype):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((5, 3, 4, 6)) * 3 + 2).astype(dtype)
    w, b = rng.standard_normal(3).astype(dtype), rng.standard_normal(3).astype(dtype)
    y, xhat = np.empty_like(x), np.empty_like(x)
    mean, var, inv = layer_loops.bn_forward(x, w, b, 1e-5, y, xhat)
    x64 = x.astype(np.float64)
    mu = x64.mean(axis=(0, 2, 3))
    v = ((x64 - mu[:, None, None]) ** 2).mean(axis=(0, 2, 3))
    ref_hat = (x64 - mu[:, None, None]) / np.sqrt(v + 1e-5)[:, None, None]
    tol = 1e-12 if dtype == np.float64 else 2e-6
    np.testing.assert_allclose(mean, mu, rtol=tol, atol=tol)
    np.testing.assert_allclose(var, v, rtol=tol)
    np.testing.assert_allclose(inv, 1 / np.sqrt(v + 1e-5), rtol=tol)
    np.testing.assert_allclose(xhat, ref_hat, rtol=tol, atol=tol)
    np.testing.assert_allclose(y, ref_hat * w[:, None, None] + b[:, None, None], rtol=tol, atol=5 * tol)
    g = rng.standard_normal(x.shape).astype(dtype)
    dx = np.empty_like(x)
    gw, gb = layer_loops.bn_backward(g, xhat, w, inv.astype(dtype), dx)
    g64 = g.astype(np.float64)
    np.testing.assert_allclose(gb, g64.sum(axis=(0, 2, 3)), rtol=tol, atol=tol)
    np.testing.assert_allclose(gw, (g64 * ref_hat).sum(axis=(0, 2, 3)), rtol=10 * tol, atol=10 * tol)
    m = x.shape[0] * x.shape[2] * x.shape[3]
    ref_dx = (w / np.sqrt(v + 1e-5))[:, None, None] * (g64 - g64.sum(axis=(0, 2, 3))[:, None, None] / m
                                                      - ref_hat * (g64 * ref_hat).sum(axis=(0, 2, 3))[:, None, None] / m)
    np.testing.assert_allclose(dx, ref_dx, rtol=10 * tol, atol=10 * tol)


def test_relu_loops_against_numpy(threads):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((7, 3, 5, 5)).astype(np.float32)
    x.flat[::11] = 0
    x.flat[5] = np.nan
    y, mask = np.empty_like(x), np.empty(x.shape, bool)
    layer_loops.relu_forward(x, y, mask)
    np.testing.assert_array_equal(y, x * (x > 0))                # NaN stays NaN, -0.0 for negatives
    np.testing.assert_array_equal(mask, x > 0)
    g, dx = rng.standard_normal(x.shape).astype(np.float32), np.empty_like(x)
    layer_loops.relu_backward(g, mask, dx)
    np.testing.assert_array_equal(dx, g * (x > 0))


def _pool_loop(x, op, kh=2, kw=2):
    """kh x kw / stride (kh, kw) pooling and the row-major position of the first winner, by loops."""
    lead, (h, w) = x.shape[:-2], x.shape[-2:]
    flat = x.reshape(-1, h, w)
    out = np.empty((len(flat), h // kh, w // kw), x.dtype)
    code = np.empty(out.shape, np.int8)
    for m in range(len(flat)):
        for r in range(h // kh):
            for c in range(w // kw):
                cells = [flat[m, kh * r + t // kw, kw * c + t % kw] for t in range(kh * kw)]
                best = max(cells) if op == "max" else min(cells)
                out[m, r, c], code[m, r, c] = best, cells.index(best)
    return out.reshape(lead + out.shape[1:]), code.reshape(lead + out.shape[1:])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 3), h=st.integers(3, 9), w=st.integers(3, 9),
       kh=st.integers(1, 3), kw=st.integers(1, 3), op=st.sampled_from(["max", "min"]), levels=st.integers(2, 50),
       seed=st.integers(0, 2**16))
def test_pool_loops_against_a_loop_and_pool(n, c, h, w, kh, kw, op, levels, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, levels, size=(n, c, h, w)).astype(np.float32)   # few levels: many ties
    out = np.empty((n, c, h // kh, w // kw), np.float32)
    code = np.empty(out.shape, np.int8)
    assert not layer_loops.pool_forward(x, (kh, kw), op, out, code)
    ref_out, ref_code = _pool_loop(x, op, kh, kw)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(code, ref_code)
    pooled, idx = pool(x, (kh, kw), op=op, return_indices=True)
    np.testing.assert_array_equal(out, pooled)
    rows, cols = np.divmod(idx, w)                                   # the same winners as `pool`
    np.testing.assert_array_equal(code, (rows % kh) * kw + cols % kw)
    g = rng.standard_normal(out.shape).astype(np.float32)
    dx = np.full(x.shape, np.nan, np.float32)
    layer_loops.pool_backward(g, code, (kh, kw), dx)
    np.testing.assert_array_equal(dx, pool_backward(g, idx, x.shape, op=op, size=(kh, kw)))


def test_pool_loop_reports_nan():
    x = np.zeros((1, 1, 4, 4), np.float32)
    out, code = np.empty((1, 1, 2, 2), np.float32), np.empty((1, 1, 2, 2), np.int8)
    assert not layer_loops.pool_forward(x, (2, 2), "max", out, code)
    for where in [(0, 0), (3, 3), (2, 1)]:
        y = x.copy()
        y[(0, 0) + where] = np.nan
        assert layer_loops.pool_forward(y, (2, 2), "max", out, code)


@pytest.mark.parametrize("make, shape", [(lambda: BatchNorm2D(3, dtype=np.float64), (4, 3, 5, 6)),
                                         (ReLU, (4, 3, 5, 6)), (lambda: MaxPool2D(2), (4, 3, 6, 7)),
                                         (lambda: Pool2D(2, op="min"), (4, 3, 5, 6)),
                                         (lambda: MaxPool2D(3), (2, 3, 7, 9)), (lambda: MaxPool1D(2), (4, 3, 9)),
                                         (lambda: Pool1D(3, op="min"), (4, 3, 10))])
def test_layers_equal_with_and_without_the_loops(monkeypatch, make, shape):
    """Each layer's forward, backward and gradients through the compiled loops equal its numpy
    path (both are checked against references elsewhere: the formula, finite differences)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    results = []
    for compiled in (True, False):
        monkeypatch.setattr(layer_loops, "available", lambda compiled=compiled: compiled)
        layer = make()
        y = layer.forward(x, True)
        g = rng.standard_normal(y.shape) if not results else results[0][2]
        dx = layer.backward(g)
        results.append((y.copy(), dx.copy(), g, {k: v.copy() for k, v in layer.grads.items()},
                        {k: v.copy() for k, v in layer.buffers.items()}))
    (y1, dx1, _, g1, b1), (y2, dx2, _, g2, b2) = results
    np.testing.assert_allclose(y1, y2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx1, dx2, rtol=1e-12, atol=1e-12)
    for key in g1:
        np.testing.assert_allclose(g1[key], g2[key], rtol=1e-12, atol=1e-12)
    for key in b1:
        np.testing.assert_allclose(b1[key], b2[key], rtol=1e-12, atol=1e-12)


def test_maxpool_layer_with_nan_takes_pools_rule():
    x = np.arange(32, dtype=np.float64).reshape(1, 2, 4, 4)
    x[0, 0, 0, 1] = np.nan
    layer = MaxPool2D(2)
    y = layer.forward(x, True)
    ref, idx = pool(x, 2, return_indices=True)
    np.testing.assert_array_equal(y, ref)
    g = np.ones_like(y)
    np.testing.assert_array_equal(layer.backward(g), pool_backward(g, idx, x.shape, size=2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_adam_loop_is_bitwise_the_numpy_update(monkeypatch, dtype, weight_decay):
    """The compiled Adam update follows numpy's dtype rules exactly: 6 steps give the same bits
    as `Adam.step`'s numpy path (itself checked against torch.optim.Adam in the parity script)."""
    from convkit.cnn import Adam
    runs = []
    for compiled in (True, False):
        monkeypatch.setattr(layer_loops, "available", lambda compiled=compiled: compiled)
        params = {"w": np.random.default_rng(1).standard_normal((4, 6)).astype(dtype),
                  "b": np.random.default_rng(2).standard_normal(3).astype(dtype)}
        opt = Adam(0.01, weight_decay=weight_decay)
        grads = np.random.default_rng(3)
        for _ in range(6):
            opt.step(params, {k: grads.standard_normal(v.shape).astype(dtype) for k, v in params.items()})
        runs.append(params)
    for key in runs[0]:
        assert runs[0][key].dtype == dtype
        np.testing.assert_array_equal(runs[0][key], runs[1][key])


@pytest.mark.parametrize("make, shape", [(lambda: MaxPool1D(3), (1, 2, 2)), (lambda: MaxPool2D(2), (1, 1, 1, 5))])
def test_pool_layer_smaller_than_its_window_says_so(make, shape):
    """An input smaller than the window gets `pool`'s one-line error, not an empty array or a
    reshape error from the compiled path."""
    x = np.ones(shape, np.float32)
    layer = make()
    with pytest.raises(ValueError) as err:
        pool(x, layer.size, axes=tuple(range(-len(layer.size), 0)))
    with pytest.raises(ValueError, match="larger than axis") as got:
        layer.forward(x)
    assert str(got.value) == str(err.value)


@pytest.mark.parametrize("h, w", [(4, 4), (5, 7), (28, 28), (3, 2)])
@pytest.mark.parametrize("op", ["max", "min"])
def test_two_by_two_pool_loop_matches_the_general_loop(h, w, op):
    """The 2 x 2 loop (branch-free selects) picks the same winners as the general loop and the
    reference loop, ties and signed zeros included, and leaves the odd row/column's gradient 0."""
    rng = np.random.default_rng(h * w)
    x = rng.integers(-2, 3, size=(3, 4, h, w)).astype(np.float32)
    x[x == 0] = np.where(rng.random((x == 0).sum()) < 0.5, np.float32(0.0), np.float32(-0.0))
    out = np.empty((3, 4, h // 2, w // 2), np.float32)
    code = np.empty(out.shape, np.int8)
    assert not layer_loops.pool_forward(x, (2, 2), op, out, code)
    general_out, general_code = np.empty_like(out), np.empty_like(code)
    layer_loops._k("pool_fwd")(x.reshape(-1, h, w), 2, 2, op == "max", 0, 12,
                               general_out.reshape(-1, h // 2, w // 2), general_code.reshape(-1, h // 2, w // 2))
    ref_out, ref_code = _pool_loop(x, op)
    np.testing.assert_array_equal(code, general_code)
    np.testing.assert_array_equal(code, ref_code)
    assert out.tobytes() == general_out.tobytes()                   # bitwise: the sign of a zero too
    np.testing.assert_array_equal(out, ref_out)
    g = rng.standard_normal(out.shape).astype(np.float32)
    dx = np.full(x.shape, np.nan, np.float32)
    layer_loops.pool_backward(g, code, (2, 2), dx)
    general_dx = np.empty_like(x)
    layer_loops._k("pool_bwd")(g.reshape(-1, h // 2, w // 2), code.reshape(-1, h // 2, w // 2), 2, 2, 0, 12,
                               general_dx.reshape(-1, h, w))
    np.testing.assert_array_equal(dx, general_dx)
