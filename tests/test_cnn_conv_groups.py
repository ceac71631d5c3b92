"""Grouped and boundary-padded convolution (`convkit.conv2d(groups=, boundary=)` and the Conv2D
layer): forward against the naive loop per group and numpy.pad + the naive loop, backward against
finite differences, bad groups, model files."""

import numpy as np
import pytest

from helpers.conv_naive import conv2d_naive
from helpers.fd import fd_grad
from convkit import conv2d
from convkit.cnn import Conv2D, Dense, Flatten, Sequential

RNG = np.random.default_rng(4)
# convkit boundary -> numpy.pad mode (the ARCHITECTURE table, written out independently)
NUMPY_MODE = {"mirror": "reflect", "reflect": "symmetric", "nearest": "edge", "wrap": "wrap"}


def grouped_reference(x, w, b, groups, **kwargs):
    """The plain naive convolution of each group's channels with each group's filters, stacked."""
    cg, fg = x.shape[1] // groups, w.shape[0] // groups
    return np.concatenate([conv2d_naive(x[:, g * cg:(g + 1) * cg], w[g * fg:(g + 1) * fg],
                                        None if b is None else b[g * fg:(g + 1) * fg], **kwargs)
                           for g in range(groups)], axis=1)


@pytest.mark.parametrize("c, f, groups", [(4, 6, 2), (3, 3, 3), (6, 12, 3), (2, 4, 1)])
@pytest.mark.parametrize("kwargs", [{}, {"stride": 2, "padding": 1}, {"dilation": 2, "padding": 2}])
def test_grouped_forward_is_a_loop_over_groups(c, f, groups, kwargs):
    x = RNG.standard_normal((2, c, 7, 6))
    w = RNG.standard_normal((f, c // groups, 3, 3))
    b = RNG.standard_normal(f)
    want = grouped_reference(x, w, b, groups, **kwargs)
    np.testing.assert_allclose(conv2d(x, w, b, groups=groups, **kwargs), want, atol=1e-12)


@pytest.mark.parametrize("boundary", list(NUMPY_MODE))
@pytest.mark.parametrize("padding, stride", [((1, 2), 1), (2, 2), ((3, 1), (1, 2))])
def test_boundary_padding_is_numpy_pad_then_valid(boundary, padding, stride):
    x = RNG.standard_normal((2, 2, 5, 6))
    w = RNG.standard_normal((3, 2, 3, 2))
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    xp = np.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)], mode=NUMPY_MODE[boundary])
    want = conv2d_naive(xp, w, stride=stride)
    np.testing.assert_allclose(conv2d(x, w, padding=padding, stride=stride, boundary=boundary), want, atol=1e-12)


def test_aliases_and_same_padding_with_a_boundary():
    x = RNG.standard_normal((1, 1, 5, 5))
    w = RNG.standard_normal((1, 1, 3, 3))
    want = conv2d_naive(np.pad(x, [(0, 0), (0, 0), (1, 1), (1, 1)], mode="edge"), w)
    np.testing.assert_allclose(conv2d(x, w, padding="same", boundary="replicate"), want, atol=1e-12)
    np.testing.assert_allclose(conv2d(x, w, padding=1, boundary="fill"),
                               conv2d_naive(x, w, padding=1), atol=1e-12)


@pytest.mark.parametrize("groups, boundary, kwargs", [
    (2, "constant", {"padding": 1}), (4, "constant", {"stride": 2, "padding": 1}), (1, "mirror", {"padding": 1}),
    (2, "wrap", {"padding": (2, 1)}), (2, "reflect", {"padding": 1, "stride": 2}), (4, "nearest", {"padding": 1}),
])
def test_layer_gradients_against_finite_differences(groups, boundary, kwargs):
    layer = Conv2D(4, 8, 3, groups=groups, boundary=boundary, dtype=np.float64, seed=1, **kwargs)
    layer.params["bias"][:] = RNG.standard_normal(8)
    x = RNG.standard_normal((2, 4, 5, 5))
    want = grouped_reference(x if boundary == "constant" else
                             np.pad(x, [(0, 0), (0, 0), *[(p, p) for p in layer.padding]],
                                    mode=NUMPY_MODE[boundary]),
                             layer.params["weight"], layer.params["bias"], groups,
                             stride=kwargs.get("stride", 1), padding=layer.padding if boundary == "constant" else 0)
    out = layer.forward(x, True)
    np.testing.assert_allclose(out, want, atol=1e-12)
    g = RNG.standard_normal(out.shape)
    loss = lambda: float((layer.forward(x, True) * g).sum())  # noqa: E731
    layer.forward(x, True)
    gx = layer.backward(g)
    np.testing.assert_allclose(gx, fd_grad(loss, x), atol=1e-7)
    for key, p in layer.params.items():
        np.testing.assert_allclose(layer.grads[key], fd_grad(loss, p), atol=1e-7, err_msg=key)


@pytest.mark.parametrize("make, match", [
    (lambda: conv2d(np.zeros((1, 4, 5, 5)), np.zeros((6, 2, 3, 3)), groups=3),
     r"groups=3 must divide the input channels \(4\) and the filters \(6\)"),
    (lambda: conv2d(np.zeros((1, 4, 5, 5)), np.zeros((6, 4, 3, 3)), groups=2),
     r"weight has 4 input channels per group \(2 groups\) but x has 4"),
    (lambda: conv2d(np.zeros((1, 4, 5, 5)), np.zeros((6, 4, 3, 3)), groups=0), "groups must be an int >= 1, got 0"),
    (lambda: conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), padding=1, boundary="bounce"),
     "boundary must be one of"),
    (lambda: Conv2D(6, 4, 3, groups=4), r"groups=4 must divide the input channels \(6\) and the filters \(4\)"),
])
def test_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_model_file_keeps_groups_and_boundary(tmp_path):
    model = Sequential([Conv2D(2, 4, 3, padding=1, groups=2, boundary="wrap"), Flatten(), Dense(64, 3)],
                       seed=0, input_shape=(2, 4, 4))
    assert model.layers[0].config()["groups"] == 2 and model.layers[0].config()["boundary"] == "wrap"
    assert "groups" not in Conv2D(2, 4, 3).config()          # default configs stay as before
    model.save(tmp_path / "m.npz")
    again = Sequential.load(tmp_path / "m.npz")
    x = RNG.random((3, 2, 4, 4)).astype(np.float32)
    np.testing.assert_array_equal(again.predict_proba(x), model.predict_proba(x))
