"""The --arch spec: tokens to layers, sizes against the model's own shape inference."""

from __future__ import annotations

import numpy as np
import pytest

from convkit.cnn import BatchNorm2D, Conv2D, Dense, Dropout, Flatten, MaxPool2D, Pool2D, ReLU, Sequential
from convkit.cnn.arch import DEFAULT_ARCH, build_layers, parse_arch


def test_issue_example_layers():
    layers = build_layers("conv16-relu-pool2-conv32-relu-pool2-flatten-dense64-relu-dense", (1, 28, 28), 10)
    kinds = [type(x) for x in layers]
    assert kinds == [Conv2D, ReLU, MaxPool2D, Conv2D, ReLU, MaxPool2D, Flatten, Dense, ReLU, Dense]
    assert layers[0].params["weight"].shape == (16, 1, 3, 3)
    assert layers[3].params["weight"].shape == (32, 16, 3, 3)
    # 'same' padding keeps 28, two pools give 7: 32 * 7 * 7 inputs to the first dense (hand-computed)
    assert layers[7].params["weight"].shape == (32 * 7 * 7, 64)
    assert layers[9].params["weight"].shape == (64, 10)


@pytest.mark.parametrize("spec, shape", [
    ("conv8k5-relu-maxpool2-conv4k3s2-relu-flatten-dense", (3, 21, 19)),
    ("conv6k3p0-relu-minpool3-sumpool2-dense12-relu-dense", (1, 20, 20)),
    ("conv5k4s2p1-avgpool2s1-relu-dense", (2, 17, 16)),
    ("conv8-bn-relu-pool2-drop0.25-conv4-bn-relu-flatten-dense16-relu-drop.5-dense", (1, 8, 8)),
    (DEFAULT_ARCH, (1, 8, 8)),
])
def test_forward_shapes(spec, shape):
    layers = build_layers(spec, shape, 7)
    model = Sequential(layers, seed=0, input_shape=shape)
    out = model.forward(np.zeros((2, *shape), np.float32), training=False)
    assert out.shape == (2, 7)


def test_tokens():
    assert parse_arch("conv16k5s2") == [("conv", 16, 5, 2, 0)]
    assert parse_arch("conv16k5") == [("conv", 16, 5, 1, 2)]
    assert parse_arch("pool3-minpool2-avgpool2-sumpool2") == [
        ("pool", "max", 3, 3), ("pool", "min", 2, 2), ("pool", "mean", 2, 2), ("pool", "sum", 2, 2)]
    layers = build_layers("conv4-minpool2-dense", (1, 6, 6), 3)
    assert isinstance(layers[1], Pool2D) and layers[1].config()["op"] == "min"
    # a missing final dense is added, sized to the classes
    assert build_layers("conv4-relu", (1, 4, 4), 5)[-1].params["weight"].shape == (4 * 4 * 4, 5)


def test_bn_and_dropout_tokens():
    assert parse_arch("conv4-bn-drop0.25-drop.5-drop0") == [("conv", 4, 3, 1, 1), ("bn",), ("drop", 0.25),
                                                            ("drop", 0.5), ("drop", 0.0)]
    layers = build_layers("conv6-bn-relu-drop0.1-dense", (2, 5, 5), 3)
    assert [type(x) for x in layers] == [Conv2D, BatchNorm2D, ReLU, Dropout, Flatten, Dense]
    assert layers[1].num_features == 6 and layers[3].p == 0.1


@pytest.mark.parametrize("spec, match", [
    ("conv4-drop1.5-dense", r"dropout probability must be below 1 in 'drop1.5'"),
    ("conv4-drop1-dense", r"dropout probability must be below 1 in 'drop1'"),
    ("bn-conv4-dense", "'bn' normalises the channels of a convolution; put it after a conv"),
    ("conv4-flatten-bn-dense", "bn after flatten/dense"),
    ("conv16-relu-dropout-dense", "unknown token 'dropout'.*accepted tokens: conv"),
    ("conv16--dense", "empty token"),
    ("dense-dense", "bare 'dense'"),
    ("conv4-flatten-conv4-dense", "conv after flatten"),
    ("conv4-dense7", "7 outputs but the data has 3 classes"),
    ("pool2-pool2-pool2-dense", "shrinks"),
])
def test_bad_specs(spec, match):
    with pytest.raises(ValueError, match=match):
        build_layers(spec, (1, 4, 4), 3)


@pytest.mark.parametrize("spec, shape, batch", [
    ("conv8k5-relu-maxpool2-conv4k3s2-relu-flatten-dense", (3, 21, 19), 4),
    ("conv8-bn-relu-pool2-drop0.25-conv4-bn-relu-flatten-dense16-relu-drop.5-dense", (1, 8, 8), 7),
    (DEFAULT_ARCH, (1, 8, 8), 32),
])
def test_training_bytes_counts_the_built_network(spec, shape, batch):
    """The estimate, recomputed from the layers actually built and a real forward pass: 16 bytes
    per parameter (weights, gradients, Adam's two moments) and, per sample, 4 bytes x (3 x every
    layer's output + a convolution's unfolded windows)."""
    from convkit.cnn.arch import training_bytes

    layers = build_layers(spec, shape, 5)
    x = np.zeros((batch, *shape), np.float32)
    total = 4 * x.size
    for layer in layers:
        y = layer.forward(x, training=False)
        total += 16 * sum(v.size for v in {**layer.params, **layer.buffers}.values()
                          if not isinstance(layer, BatchNorm2D)) + 12 * y.size
        if isinstance(layer, BatchNorm2D):
            total += 16 * 4 * y.shape[1]
        if isinstance(layer, Conv2D):
            _, _, kh, kw = layer.params["weight"].shape
            total += 4 * batch * x.shape[1] * kh * kw * y.shape[2] * y.shape[3]
        x = y
    need, worst = training_bytes(spec, shape, 5, batch)
    assert need == total
    assert worst.endswith(")") and "(layer " in worst


def test_training_bytes_names_the_layer_that_needs_most():
    from convkit.cnn.arch import training_bytes

    need, worst = training_bytes("conv4-relu-conv100000-dense", (1, 8, 8), 10, 32)
    assert worst == "conv100000k3 (layer 3)" and need > 5 * 2 ** 30
    assert training_bytes("conv8k999-dense", (1, 8, 8), 10, 32)[1] == "conv8k999 (layer 1)"
