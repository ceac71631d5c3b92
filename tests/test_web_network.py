"""convkit.web.network: the model view's probabilities equal the model's own predict_proba on
the resized drawing, and its first feature maps equal scipy's correlation with the weights."""

from __future__ import annotations

import numpy as np
import pytest

from _web import post, request, running, tiny_model


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.npz"
    tiny_model(path)
    return path


@pytest.fixture(scope="module")
def server(model_path):
    with running(str(model_path)) as srv:
        yield srv


def test_info_describes_the_model(server, model_path):
    _, info, _ = request(server, "GET", "/api/info")
    model = info["model"]
    assert model["available"] and model["path"] == str(model_path)
    assert model["input_shape"] == [1, 8, 8] and model["classes"] == [str(i) for i in range(10)]
    assert model["layers"][0] == "0 Conv2D"


@pytest.mark.parametrize("side", [8, 28, 64])
def test_probabilities_and_maps_against_the_model_and_scipy(server, model_path, side):
    from scipy.signal import correlate2d
    from skimage.transform import resize

    from convkit.cnn import Sequential

    rng = np.random.default_rng(side)
    drawing = rng.random((side, side))
    out = post(server, "/api/network", {"image": [drawing.tolist()]})
    model = Sequential.load(model_path)
    raw = drawing if side == 8 else resize(drawing, (8, 8), anti_aliasing=True)
    np.testing.assert_allclose(out["probabilities"], model.predict_proba(raw[None, None])[0], atol=1e-6)
    x = (raw - 0.3) / 0.4
    np.testing.assert_allclose(out["layers"][0]["maps"][0], x, atol=1e-5)
    conv = out["layers"][1]
    assert conv["name"] == "0 Conv2D" and conv["shape"] == [4, 8, 8]
    w, b = model.layers[0].params["weight"], model.layers[0].params["bias"]
    for f in range(4):
        ref = correlate2d(np.pad(x, 1), w[f, 0].astype(float), mode="valid") + b[f]
        np.testing.assert_allclose(conv["maps"][f], ref, atol=1e-4)
    relu = np.array(out["layers"][2]["maps"])
    np.testing.assert_allclose(relu, np.maximum(conv["maps"], 0), atol=1e-6)
    assert len(out["layers"][-1]["vector"]) == 10


def test_rgb_upload_is_converted_to_gray(server, model_path):
    from skimage.transform import resize

    from convkit.cnn import Sequential

    rgb = np.random.default_rng(1).random((3, 16, 16))
    out = post(server, "/api/network", {"image": rgb.tolist()})
    gray = np.tensordot([0.2125, 0.7154, 0.0721], rgb, axes=1)
    ref = Sequential.load(model_path).predict_proba(resize(gray, (8, 8), anti_aliasing=True)[None, None])[0]
    np.testing.assert_allclose(out["probabilities"], ref, atol=1e-6)


def test_values_outside_0_1_are_refused(server):
    status, body, _ = request(server, "POST", "/api/network", {"image": [[[2.0]]]})
    assert status == 400 and "[0, 1]" in body["error"]


def test_layer_ranges_and_the_drawing_before_normalisation(server, model_path):
    from skimage.transform import resize

    from convkit.cnn import Sequential

    drawing = np.random.default_rng(3).random((16, 16))
    out = post(server, "/api/network", {"image": [drawing.tolist()]})
    raw = resize(drawing, (8, 8), anti_aliasing=True)
    np.testing.assert_allclose(out["drawn"]["maps"][0], raw, atol=1e-12)     # as drawn, not (x - 0.3) / 0.4
    model = Sequential.load(model_path)
    x = model.normalize(raw[None, None])
    for layer, entry in zip([None, *model.layers], out["layers"]):
        x = x if layer is None else layer.forward(x, training=False)
        assert entry["range"] == pytest.approx([float(x.min()), float(x.max())], abs=1e-6)


@pytest.mark.parametrize("layer, index", [(0, [0, 0, 0]), (0, [3, 7, 4]), (0, [2, 4, 1]), (4, [6]), (4, [0])])
def test_cell_detail_products_sum_to_the_cell(server, model_path, layer, index):
    from scipy.signal import correlate2d

    from convkit.cnn import Sequential

    drawing = np.random.default_rng(4).random((8, 8))
    out = post(server, "/api/network", {"image": [drawing.tolist()], "cell": {"layer": layer, "index": index}})
    d = out["detail"]
    model = Sequential.load(model_path)
    x = model.normalize(drawing[None, None])
    outs = [x]
    for lay in model.layers:
        outs.append(lay.forward(outs[-1], training=False))
    assert d["value"] == pytest.approx(float(outs[layer + 1][(0, *index)]), abs=1e-5)
    assert np.sum(d["products"]) + d["bias"] == pytest.approx(d["value"], abs=1e-5)
    if layer == 0:                       # the window is the padded input under the kernel (scipy: one cell)
        f, i, j = index
        w = model.layers[0].params["weight"][f, 0].astype(float)
        window = np.pad(x[0, 0], 1)[i:i + 3, j:j + 3]
        np.testing.assert_allclose(d["window"][0], window, atol=1e-6)
        assert correlate2d(window, w, mode="valid")[0, 0] == pytest.approx(np.sum(d["products"]), abs=1e-5)
    else:
        np.testing.assert_allclose(d["inputs"], outs[layer][0].ravel(), atol=1e-6)
        np.testing.assert_allclose(d["weight"], model.layers[4].params["weight"][:, index[0]], atol=1e-7)


@pytest.mark.parametrize("cell, match", [({"layer": 9, "index": [0]}, "layer must be an integer"),
                                         ({"layer": 0, "index": [4, 0, 0]}, "outside the layer's output"),
                                         ({"layer": 0, "index": "0"}, "cell index must be")])
def test_bad_cells_are_refused(server, cell, match):
    status, body, _ = request(server, "POST", "/api/network", {"image": [[[0.5]]], "cell": cell})
    assert status == 400 and match in body["error"]


def test_cell_detail_of_pooling_relu_and_flatten(server, model_path):
    from convkit.cnn import Sequential

    drawing = np.random.default_rng(5).random((8, 8))
    model = Sequential.load(model_path)
    outs = [model.normalize(drawing[None, None])]
    for layer in model.layers:
        outs.append(layer.forward(outs[-1], training=False))

    def detail(layer, index):
        return post(server, "/api/network", {"image": [drawing.tolist()],
                                             "cell": {"layer": layer, "index": index}})["detail"]

    relu = detail(1, [2, 3, 4])
    assert relu["value"] == max(relu["input"], 0) and relu["input"] == pytest.approx(float(outs[1][0, 2, 3, 4]))
    pool = detail(2, [1, 2, 3])                     # 2x2 max pooling: the window at (4, 6)
    np.testing.assert_allclose(pool["window"], outs[2][0, 1, 4:6, 6:8], atol=1e-6)
    assert pool["value"] == pytest.approx(float(np.max(pool["window"]))) and pool["origin"] == [4, 6]
    flat = detail(3, [37])                          # position 37 of 4x4x4: map 2, row 1, column 1
    assert flat["source"] == [2, 1, 1] and flat["value"] == pytest.approx(float(outs[3][0, 2, 1, 1]))
