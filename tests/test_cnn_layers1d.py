"""Signal layers (convkit/cnn/layers1d.py) against independent references: a per-output loop for
Conv1D (groups, dilation, stride, padding, boundaries through numpy.pad), loops for pooling and the
global mean, the BatchNorm formula, finite differences for every backward; model files, the arch
grammar on (C, L) shapes and training on signals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.fd import check_layer_grads, fd_grad
from convkit.cnn import (Adam, BatchNorm1D, Conv1D, Conv2D, Dense, Flatten, GlobalAvgPool, MaxPool1D, Pool1D, ReLU,
                         Sequential, load_model)
from convkit.cnn.arch import build_layers

RNG = np.random.default_rng(11)
NUMPY_PAD = {"constant": "constant", "reflect": "symmetric", "mirror": "reflect", "nearest": "edge", "wrap": "wrap"}


def conv1d_loop(x, w, b, stride, pad, dilation, groups, boundary="constant"):
    """out[n, f, t] = b[f] + sum_{c in f's group, j} w[f, c, j] * xpad[n, c, t*stride + j*dilation]."""
    n, c, _ = x.shape
    f, cg, k = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad)), mode=NUMPY_PAD[boundary])
    span = dilation * (k - 1) + 1
    length = (xp.shape[2] - span) // stride + 1
    out = np.zeros((n, f, length))
    fg = f // groups
    for o in range(f):
        g = o // fg
        for t in range(length):
            for ci in range(cg):
                for j in range(k):
                    out[:, o, t] += w[o, ci, j] * xp[:, g * cg + ci, t * stride + j * dilation]
        if b is not None:
            out[:, o] += b[o]
    return out


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 3), groups=st.sampled_from([1, 2]), cg=st.integers(1, 2), fg=st.integers(1, 2),
       k=st.integers(1, 4), stride=st.integers(1, 3), dilation=st.integers(1, 2), pad=st.integers(0, 2),
       length=st.integers(6, 12), bias=st.booleans(),
       boundary=st.sampled_from(["constant", "reflect", "mirror", "nearest", "wrap"]))
def test_conv1d_against_a_loop(n, groups, cg, fg, k, stride, dilation, pad, length, bias, boundary):
    from hypothesis import assume
    assume(dilation * (k - 1) + 1 <= length + 2 * pad)        # the window fits the padded signal
    layer = Conv1D(groups * cg, groups * fg, k, stride=stride, padding=pad, dilation=dilation, groups=groups,
                   bias=bias, boundary=boundary, dtype=np.float64, seed=1)
    x = RNG.standard_normal((n, groups * cg, length))
    out = layer.forward(x, False)
    want = conv1d_loop(x, layer.params["weight"], layer.params.get("bias"), stride, pad, dilation, groups, boundary)
    np.testing.assert_allclose(out, want, atol=1e-12)
    assert layer.output_shape(x.shape[1:]) == out.shape[1:]
    assert layer.params["weight"].shape == (groups * fg, cg, k)          # torch.nn.Conv1d's shape


@pytest.mark.parametrize("kwargs", [{}, {"stride": 2, "padding": 1}, {"dilation": 2, "padding": "same"},
                                    {"groups": 2, "bias": False}, {"padding": 2, "boundary": "reflect"}])
def test_conv1d_gradients(kwargs):
    layer = Conv1D(2, 4, 3, dtype=np.float64, seed=0, **kwargs)
    check_layer_grads(layer, RNG.standard_normal((3, 2, 9)), RNG)


@pytest.mark.parametrize("op", ["max", "min", "mean", "sum"])
@pytest.mark.parametrize("size, stride", [(2, None), (3, 1), (3, 2)])
def test_pool1d_against_a_loop(op, size, stride):
    layer = Pool1D(size, stride, op=op)
    x = RNG.standard_normal((2, 3, 10))
    out = layer.forward(x, True)
    s = stride or size
    reduce = {"max": np.max, "min": np.min, "mean": np.mean, "sum": np.sum}[op]
    want = np.stack([reduce(x[..., t * s:t * s + size], axis=-1) for t in range((10 - size) // s + 1)], axis=-1)
    np.testing.assert_allclose(out, want, atol=1e-12)
    assert layer.output_shape((3, 10)) == out.shape[1:]
    g = RNG.standard_normal(out.shape)
    loss = lambda: float((layer.forward(x, True) * g).sum())  # noqa: E731
    layer.forward(x, True)
    np.testing.assert_allclose(layer.backward(g), fd_grad(loss, x), atol=1e-6)


def test_batchnorm1d_and_global_average():
    bn = BatchNorm1D(3, dtype=np.float64)
    x = RNG.standard_normal((4, 3, 7)) * 2 + 1
    y = bn.forward(x, True)
    mu, var = x.mean(axis=(0, 2)), x.var(axis=(0, 2))
    np.testing.assert_allclose(y, (x - mu[:, None]) / np.sqrt(var[:, None] + 1e-5), atol=1e-12)
    np.testing.assert_allclose(bn.buffers["running_var"], 0.9 + 0.1 * var * 28 / 27, rtol=1e-12)
    check_layer_grads(BatchNorm1D(3, dtype=np.float64), x, RNG)
    gap = GlobalAvgPool()
    for shape in [(2, 3, 5), (2, 3, 4, 5)]:
        z = RNG.standard_normal(shape)
        np.testing.assert_allclose(gap.forward(z), z.reshape(2, 3, -1).mean(axis=2), atol=1e-12)
        g = RNG.standard_normal((2, 3))
        loss = lambda: float((gap.forward(z, True) * g).sum())  # noqa: E731
        gap.forward(z, True)
        np.testing.assert_allclose(gap.backward(g), fd_grad(loss, z), atol=1e-6)


def test_arch_builds_1d_layers_for_signals():
    layers = build_layers("conv8k5s2-bn-relu-maxpool2-conv8k3-relu-avgpool2-gap-dense", (2, 40), 10)
    kinds = [type(layer).__name__ for layer in layers]
    assert kinds == ["Conv1D", "BatchNorm1D", "ReLU", "MaxPool1D", "Conv1D", "ReLU", "Pool1D", "GlobalAvgPool",
                     "Dense"]
    model = Sequential(layers, seed=0, input_shape=(2, 40))
    assert model.output_shape() == (10,) and model.forward(np.zeros((3, 2, 40), np.float32)).shape == (3, 10)
    images = build_layers("conv8-relu-gap-dense", (1, 8, 8), 3)
    assert [type(layer).__name__ for layer in images] == ["Conv2D", "ReLU", "GlobalAvgPool", "Dense"]
    with pytest.raises(ValueError, match=r"the signal shrinks to 0 at layer 2 for input \(1, 6\)"):
        build_layers("conv4k5p0-maxpool4-dense", (1, 6), 2)


def test_signal_model_trains_saves_and_loads(tmp_path):
    """A 1-D network learns a task only a detector can solve (where a bump sits is random, its
    shape is the class) and its file round-trips with Conv1D weights in torch's shape."""
    n = 240
    y = np.arange(n) % 2
    x = RNG.standard_normal((n, 1, 32)).astype(np.float32) * 0.2
    pos = RNG.integers(2, 26, n)
    for i in range(n):
        x[i, 0, pos[i]:pos[i] + 4] += [1, 2, 1, 0] if y[i] else [1, -1, 1, -1]
    model = Sequential([Conv1D(1, 6, 4, padding=2), ReLU(), MaxPool1D(2), Conv1D(6, 6, 3), ReLU(), GlobalAvgPool(),
                        Dense(6, 2)], seed=0, input_shape=(1, 32))
    model.fit(x[:180], y[:180], epochs=25, batch_size=16, optimizer=Adam(0.02), seed=0, augment=2)
    assert model.evaluate(x[180:], y[180:])["accuracy"] >= 0.9
    model.save(tmp_path / "m.npz")
    back = load_model(tmp_path / "m.npz")
    assert back.input_shape == (1, 32) and back.params()["0.weight"].shape == (6, 1, 4)
    np.testing.assert_array_equal(back.predict_proba(x), model.predict_proba(x))
    flat = Sequential([Conv1D(1, 2, 3), Flatten(), Dense(60, 2)], seed=0, input_shape=(1, 32))
    flat.save(tmp_path / "f.npz")
    assert load_model(tmp_path / "f.npz").output_shape() == (2,)


def test_conv1d_errors():
    with pytest.raises(ValueError, match=r"Conv1D expects input \(N, 2, L\), got shape \(3, 1, 5\)"):
        Conv1D(2, 1, 3).forward(np.zeros((3, 1, 5), np.float32))
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        Conv1D(1, 1, 3, stride=2, padding="same")


def test_show_draws_a_signal_model_as_curves(tmp_path):
    """`convkit show` on a 1-D model: the filter panels plot exactly the first Conv1D's weights and
    the map panels the layer outputs computed here layer by layer."""
    from click.testing import CliRunner

    from convkit.viz.signals import signal_model_figure
    from convkit_cli import cli
    model = Sequential([Conv1D(2, 3, 4), ReLU(), MaxPool1D(2), Conv1D(3, 2, 3), GlobalAvgPool(), Dense(2, 2)],
                       seed=0, input_shape=(2, 20), normalization={"mean": [0.5, 0.0], "std": [2.0, 1.0]})
    x = RNG.standard_normal((1, 2, 20))
    fig = signal_model_figure(model, x)
    weights = model.params()["0.weight"]
    for f in range(3):
        lines = fig.axes[f].get_lines()[:2]
        for c, line in enumerate(lines):
            np.testing.assert_array_equal(line.get_ydata(), weights[f, c])
    h = (x - np.array([0.5, 0.0])[:, None]) / np.array([2.0, 1.0])[:, None]
    expect = [h[0]]
    for layer in model.layers[:4]:
        h = layer.forward(h, training=False)
        if type(layer).__name__ in ("Conv1D", "MaxPool1D"):
            expect.append(h[0])
    for ax, values in zip(fig.axes[3:], expect):
        got = np.array([line.get_ydata() for line in ax.get_lines()])
        np.testing.assert_allclose(got, values, rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "m.npz")
    np.save(tmp_path / "s.npy", RNG.standard_normal(25))                 # 1 channel: the model takes 2
    r = CliRunner().invoke(cli, ["show", str(tmp_path / "m.npz"), str(tmp_path / "s.npy"),
                                 "-o", str(tmp_path / "maps.png")])
    assert r.exit_code == 2 and "1 channel(s)" in r.output and not (tmp_path / "maps.png").exists()
    ok = CliRunner().invoke(cli, ["show", str(tmp_path / "m.npz"), "-o", str(tmp_path / "filters.png")])
    assert ok.exit_code == 0, ok.output
    from PIL import Image
    assert Image.open(tmp_path / "filters.png").size[0] > 100


def test_window_longer_than_the_signal_names_the_signal_axis():
    """A window that does not fit names axis 2 of (N, C, L) (the engine's 4-D view says axis 3),
    with the same numbers as Conv2D on the same row as an image."""
    conv = Conv1D(1, 2, 5, dilation=2, padding=1, seed=0)
    with pytest.raises(ValueError) as err:
        conv.forward(np.ones((2, 1, 6)))
    with pytest.raises(ValueError) as err2d:
        Conv2D(1, 2, (1, 5), dilation=(1, 2), padding=(0, 1), seed=0).forward(np.ones((2, 1, 1, 6)))
    assert str(err.value) == str(err2d.value).replace("along axis 3", "along the signal (axis 2)")
    assert "kernel extent 9" in str(err.value) and "axis 3" not in str(err.value)
    with pytest.raises(ValueError, match=r"along the signal \(axis 2\)"):
        conv.output_shape((1, 6))
