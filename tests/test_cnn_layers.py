"""Layers, loss and optimizers of convkit.cnn: forward against naive loops, backward against
finite differences (float64), optimizers against torch's update formulas written out."""

import math

import numpy as np
import pytest

from helpers.conv_naive import conv2d_naive
from helpers.fd import check_layer_grads, fd_grad
from convkit.cnn import (SGD, Adam, Conv2D, Dense, Flatten, MaxPool2D, Pool2D, ReLU, Softmax,
                         layer_from_config, softmax_cross_entropy)

RNG = np.random.default_rng(1)



@pytest.mark.parametrize("kwargs", [{}, {"stride": 2, "padding": 1}, {"dilation": 2, "padding": "same"},
                                    {"stride": (1, 2), "padding": (2, 0), "bias": False}])
def test_conv2d_layer(kwargs):
    layer = Conv2D(2, 3, (3, 2), dtype=np.float64, seed=0, **kwargs)
    x = RNG.standard_normal((2, 2, 7, 6))
    out = layer.forward(x, False)
    if kwargs.get("padding") != "same":
        b = layer.params.get("bias")
        want = conv2d_naive(x, layer.params["weight"], b, stride=kwargs.get("stride", 1),
                             padding=kwargs.get("padding", 0), dilation=kwargs.get("dilation", 1))
        np.testing.assert_allclose(out, want, atol=1e-12)
    else:
        assert out.shape == (2, 3, 7, 6)
    assert layer.output_shape((2, 7, 6)) == out.shape[1:]
    check_layer_grads(layer, x, RNG)


def test_dense_matches_loop_and_gradients():
    layer = Dense(5, 3, dtype=np.float64, seed=0)
    layer.params["bias"][:] = RNG.standard_normal(3)
    x = RNG.standard_normal((4, 5))
    want = np.array([[sum(x[n, i] * layer.params["weight"][i, o] for i in range(5)) + layer.params["bias"][o]
                      for o in range(3)] for n in range(4)])
    np.testing.assert_allclose(layer.forward(x), want, atol=1e-12)
    check_layer_grads(layer, x, RNG)


def test_relu_flatten_softmax_gradients():
    x = RNG.standard_normal((3, 2, 4, 4))
    x[np.abs(x) < 1e-3] = 0.5                                   # keep finite differences off the kink
    np.testing.assert_array_equal(ReLU().forward(x), np.where(x > 0, x, 0))
    check_layer_grads(ReLU(), x, RNG)
    check_layer_grads(Flatten(), x, RNG)
    assert Flatten().forward(x).shape == (3, 32)
    z = RNG.standard_normal((4, 5)) * 3
    p = Softmax().forward(z)
    np.testing.assert_allclose(p, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))
    check_layer_grads(Softmax(), z, RNG)


def _pool_naive(x, size, stride, op):
    n, c, h, w = x.shape
    ho, wo = (h - size) // stride + 1, (w - size) // stride + 1
    red = {"max": np.max, "min": np.min, "sum": np.sum, "mean": np.mean}[op]
    out = np.zeros((n, c, ho, wo))
    for a in range(n):
        for b in range(c):
            for i in range(ho):
                for j in range(wo):
                    out[a, b, i, j] = red(x[a, b, i * stride:i * stride + size, j * stride:j * stride + size])
    return out


@pytest.mark.parametrize("op", ["max", "min", "sum", "mean"])
@pytest.mark.parametrize("size,stride", [(2, None), (3, 2), (2, 1)])
def test_pool_layers(op, size, stride):
    x = RNG.standard_normal((2, 3, 7, 6))
    layer = Pool2D(size, stride, op=op) if op != "max" else MaxPool2D(size, stride)
    out = layer.forward(x, True)
    np.testing.assert_allclose(out, _pool_naive(x, size, stride or size, op), atol=1e-12)
    assert layer.output_shape((3, 7, 6)) == out.shape[1:]
    check_layer_grads(layer, x, RNG)


def test_loss_value_gradient_and_stability():
    z = RNG.standard_normal((5, 4))
    y = np.array([0, 3, 1, 1, 2])
    loss, grad = softmax_cross_entropy(z, y)
    want = -np.mean([z[i, y[i]] - math.log(sum(math.exp(v) for v in z[i])) for i in range(5)])
    assert loss == pytest.approx(want, rel=1e-12)
    np.testing.assert_allclose(grad, fd_grad(lambda: softmax_cross_entropy(z, y)[0], z), atol=1e-7)
    big = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype=np.float32)
    loss, grad = softmax_cross_entropy(big, [1, 0])
    # row 0: log-sum-exp = 1e4, loss 2e4; row 1: lse = 1e4 + log 2, loss 2e4 + log 2
    assert loss == pytest.approx((2e4 + 2e4 + math.log(2)) / 2, rel=1e-6)
    np.testing.assert_allclose(grad, [[0.5, -0.5, 0], [-0.5, 0.25, 0.25]], atol=1e-6)
    assert grad.dtype == np.float32 and np.isfinite(grad).all()


@pytest.mark.parametrize("logits,labels,match", [
    (np.zeros(3), [0], "logits must be 2-D"),
    (np.zeros((2, 3)), [0], "labels must be 2 integers"),
    (np.zeros((2, 3)), [0.0, 1.0], "labels must be 2 integers"),
    (np.zeros((2, 3)), [0, 3], r"labels must be in \[0, 3\)"),
])
def test_loss_errors(logits, labels, match):
    with pytest.raises(ValueError, match=match):
        softmax_cross_entropy(logits, labels)


def test_he_initialisation_scale():
    conv = Conv2D(8, 64, 3, seed=0)
    std = conv.params["weight"].std()
    assert std == pytest.approx(math.sqrt(2 / 72), rel=0.05)
    assert conv.params["weight"].dtype == np.float32
    assert not conv.params["bias"].any()


def _torch_sgd_reference(p, grads, lr, momentum, wd):
    """torch.optim.SGD (dampening 0, no nesterov), element by element."""
    p, buf = p.copy(), None
    for g in grads:
        d = g + wd * p
        buf = d.copy() if buf is None else momentum * buf + d
        p = p - lr * (buf if momentum else d)
    return p


def _torch_adam_reference(p, grads, lr, b1, b2, eps, wd):
    """torch.optim.Adam (L2 weight decay, no amsgrad) written out."""
    p, m, v = p.copy(), np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        d = g + wd * p
        m = b1 * m + (1 - b1) * d
        v = b2 * v + (1 - b2) * d * d
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


@pytest.mark.parametrize("make,reference", [
    (lambda: SGD(0.1), lambda p, g: _torch_sgd_reference(p, g, 0.1, 0.0, 0.0)),
    (lambda: SGD(0.05, momentum=0.9, weight_decay=0.01), lambda p, g: _torch_sgd_reference(p, g, 0.05, 0.9, 0.01)),
    (lambda: Adam(), lambda p, g: _torch_adam_reference(p, g, 1e-3, 0.9, 0.999, 1e-8, 0.0)),
    (lambda: Adam(0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
     lambda p, g: _torch_adam_reference(p, g, 0.01, 0.8, 0.99, 1e-6, 0.1)),
])
def test_optimizers_follow_torch_rules(make, reference):
    p0 = RNG.standard_normal((3, 4))
    grads = [RNG.standard_normal((3, 4)) for _ in range(5)]
    opt, params = make(), {"0.weight": p0.copy()}
    for g in grads:
        opt.step(params, {"0.weight": g})
    np.testing.assert_allclose(params["0.weight"], reference(p0, grads), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("make,match", [(lambda: SGD(0), "lr must be > 0"), (lambda: SGD(0.1, momentum=-1), "momentum"),
                                        (lambda: Adam(betas=(1.0, 0.9)), "betas"),
                                        (lambda: Pool2D(2, op="median"), "op must be one of"),
                                        (lambda: Conv2D(1, 2, 3, padding="full"), "padding must be"),
                                        (lambda: Dense(3, 2, dtype=np.int32), "dtype must be float32 or float64"),
                                        (lambda: layer_from_config({"type": "LSTM"}), "layer type must be one of")])
def test_constructor_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_config_round_trip():
    for layer in (Conv2D(3, 4, (3, 5), stride=2, padding=1, dilation=(1, 2)),
                  Dense(7, 2, bias=False), MaxPool2D(3, 2), Pool2D(2, op="mean"), ReLU(), Flatten(), Softmax()):
        again = layer_from_config(layer.config())
        assert again.config() == layer.config()
        assert {k: v.shape for k, v in again.params.items()} == {k: v.shape for k, v in layer.params.items()}
