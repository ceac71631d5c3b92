"""BatchNorm2D against its formula written out per channel (training, running statistics with the
unbiased variance, evaluation) and its backward against finite differences; update_bn and
WeightAverage's recomputation against batch means taken by hand; buffers through model files."""

import numpy as np
import pytest

from helpers.fd import fd_grad
from convkit.cnn import Adam, BatchNorm2D, Conv2D, Dense, Flatten, ReLU, Sequential, WeightAverage

RNG = np.random.default_rng(7)


def bn_reference(x, weight, bias, eps):
    """Per channel: (x - mean) / sqrt(biased var + eps) * weight + bias, and the batch mean and
    unbiased variance, by loops over channels."""
    y = np.empty_like(x)
    means, unbiased = [], []
    for c in range(x.shape[1]):
        v = x[:, c].ravel()
        mu = sum(v) / len(v)
        var = sum((t - mu) ** 2 for t in v) / len(v)
        y[:, c] = (x[:, c] - mu) / np.sqrt(var + eps) * weight[c] + bias[c]
        means.append(mu)
        unbiased.append(var * len(v) / (len(v) - 1))
    return y, np.array(means), np.array(unbiased)


@pytest.mark.parametrize("shape", [(4, 3, 5, 2), (2, 1, 1, 3), (1, 2, 3, 3)])
def test_training_forward_and_running_stats_by_formula(shape):
    bn = BatchNorm2D(shape[1], eps=1e-3, momentum=0.3, dtype=np.float64)
    bn.params["weight"][:] = RNG.standard_normal(shape[1])
    bn.params["bias"][:] = RNG.standard_normal(shape[1])
    run_mean, run_var = np.zeros(shape[1]), np.ones(shape[1])
    for _ in range(3):
        x = RNG.standard_normal(shape) * 2 + 1
        want, mu, var = bn_reference(x, bn.params["weight"], bn.params["bias"], 1e-3)
        np.testing.assert_allclose(bn.forward(x, True), want, atol=1e-12)
        run_mean = 0.7 * run_mean + 0.3 * mu
        run_var = 0.7 * run_var + 0.3 * var
        np.testing.assert_allclose(bn.buffers["running_mean"], run_mean, atol=1e-12)
        np.testing.assert_allclose(bn.buffers["running_var"], run_var, atol=1e-12)
    x = RNG.standard_normal(shape)
    before = {k: v.copy() for k, v in bn.buffers.items()}
    want = (x - run_mean[:, None, None]) / np.sqrt(run_var[:, None, None] + 1e-3)
    want = want * bn.params["weight"][:, None, None] + bn.params["bias"][:, None, None]
    np.testing.assert_allclose(bn.forward(x, False), want, atol=1e-12)
    for key, value in before.items():                           # evaluation leaves the buffers alone
        np.testing.assert_array_equal(bn.buffers[key], value)


def test_momentum_none_is_the_cumulative_mean():
    bn = BatchNorm2D(2, momentum=None, dtype=np.float64)
    xs = [RNG.standard_normal((3, 2, 2, 2)) for _ in range(4)]
    for x in xs:
        bn.forward(x, True)
    refs = [bn_reference(x, np.ones(2), np.zeros(2), 1e-5) for x in xs]
    np.testing.assert_allclose(bn.buffers["running_mean"], np.mean([r[1] for r in refs], axis=0), atol=1e-12)
    np.testing.assert_allclose(bn.buffers["running_var"], np.mean([r[2] for r in refs], axis=0), atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 2, 3, 2), (2, 3, 1, 2)])
def test_gradients_against_finite_differences(shape):
    bn = BatchNorm2D(shape[1], dtype=np.float64)
    bn.params["weight"][:] = RNG.standard_normal(shape[1])
    bn.params["bias"][:] = RNG.standard_normal(shape[1])
    x = RNG.standard_normal(shape)
    g = RNG.standard_normal(shape)
    loss = lambda: float((bn.forward(x, True) * g).sum())  # noqa: E731
    bn.forward(x, True)
    gx = bn.backward(g)
    np.testing.assert_allclose(gx, fd_grad(loss, x), atol=1e-7)
    assert set(bn.grads) == {"weight", "bias"}
    for key, p in bn.params.items():
        np.testing.assert_allclose(bn.grads[key], fd_grad(loss, p), atol=1e-7, err_msg=key)


def test_float32_stays_float32():
    bn = BatchNorm2D(3)
    x = RNG.standard_normal((4, 3, 5, 5)).astype(np.float32)
    y = bn.forward(x, True)
    assert y.dtype == np.float32 and bn.backward(np.ones_like(y)).dtype == np.float32
    assert all(v.dtype == np.float32 for v in bn.buffers.values())
    want = bn_reference(x.astype(np.float64), np.ones(3), np.zeros(3), 1e-5)[0]
    np.testing.assert_allclose(y, want, atol=1e-5)


@pytest.mark.parametrize("make, match", [
    (lambda: BatchNorm2D(0), "num_features must be >= 1, got 0"),
    (lambda: BatchNorm2D(2, eps=0), "eps must be > 0, got 0"),
    (lambda: BatchNorm2D(2, momentum=1.5), r"momentum must be in \[0, 1\] or None, got 1.5"),
    (lambda: BatchNorm2D(2).forward(np.zeros((2, 3, 4, 4))), r"expects input \(N, 2, H, W\), got shape \(2, 3, 4, 4\)"),
    (lambda: BatchNorm2D(2).forward(np.zeros((1, 2, 1, 1))), "more than one value per channel"),
])
def test_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_model_file_keeps_running_stats(tmp_path):
    model = Sequential([Conv2D(1, 2, 3, padding=1), BatchNorm2D(2), ReLU(), Flatten(), Dense(32, 2)],
                       seed=0, input_shape=(1, 4, 4))
    X = RNG.random((20, 1, 4, 4)).astype(np.float32)
    model.fit(X, np.arange(20) % 2, epochs=2, batch_size=5, optimizer=Adam(0.01), seed=0)
    assert np.abs(model.buffers()["1.running_mean"]).sum() > 0
    model.save(tmp_path / "m.npz")
    again = Sequential.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    for key, value in model.buffers().items():
        np.testing.assert_array_equal(again.buffers()[key], value)


def test_update_bn_is_the_mean_of_batch_statistics():
    model = Sequential([BatchNorm2D(2, dtype=np.float64), Flatten(), Dense(8, 2)], seed=0, dtype=np.float64)
    X = RNG.standard_normal((10, 2, 2, 2)) * 3
    model.layers[0].forward(RNG.standard_normal((4, 2, 2, 2)) + 5, True)     # stale statistics
    momentum = model.layers[0].momentum
    model.update_bn(X, batch_size=4)
    refs = [bn_reference(X[s:s + 4], np.ones(2), np.zeros(2), 1e-5) for s in (0, 4, 8)]
    np.testing.assert_allclose(model.buffers()["0.running_mean"], np.mean([r[1] for r in refs], axis=0), atol=1e-12)
    np.testing.assert_allclose(model.buffers()["0.running_var"], np.mean([r[2] for r in refs], axis=0), atol=1e-12)
    assert model.layers[0].momentum == momentum


def test_weight_average_recomputes_the_running_stats_over_the_training_set():
    X = RNG.standard_normal((30, 2, 3, 3)).astype(np.float32)
    y = np.arange(30) % 2
    model = Sequential([BatchNorm2D(2), Flatten(), Dense(18, 2)], seed=0)
    model.fit(X, y, epochs=4, batch_size=8, optimizer=Adam(0.01), seed=0, callbacks=[WeightAverage(2)])
    # the first layer sees the training samples themselves: the statistics are batch means of X
    refs = [bn_reference(X[s:s + 8].astype(np.float64), np.ones(2), np.zeros(2), 1e-5) for s in range(0, 30, 8)]
    np.testing.assert_allclose(model.buffers()["0.running_mean"], np.mean([r[1] for r in refs], axis=0), atol=1e-6)
    np.testing.assert_allclose(model.buffers()["0.running_var"], np.mean([r[2] for r in refs], axis=0), rtol=1e-5)
