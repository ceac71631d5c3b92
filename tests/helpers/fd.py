"""Central finite differences: the independent reference the gradient tests compare against."""

import numpy as np


def fd_grad(f, a: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f() / d a by central differences, entry by entry; `a` is perturbed in place and restored."""
    g = np.zeros_like(a)
    for i in np.ndindex(a.shape):
        old = a[i]
        a[i] = old + eps
        up = f()
        a[i] = old - eps
        down = f()
        a[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


def check_layer_grads(layer, x: np.ndarray, rng: np.random.Generator, atol: float = 1e-6) -> None:
    """Backward of `layer` (input and every parameter) against finite differences of <forward, g>."""
    out = layer.forward(x, True)
    g = rng.standard_normal(out.shape)
    loss = lambda: float((layer.forward(x, True) * g).sum())  # noqa: E731
    layer.forward(x, True)
    gx = layer.backward(g)
    np.testing.assert_allclose(gx, fd_grad(loss, x), atol=atol)
    assert set(layer.grads) == set(layer.params)
    for key, p in layer.params.items():
        np.testing.assert_allclose(layer.grads[key], fd_grad(loss, p), atol=atol, err_msg=key)
