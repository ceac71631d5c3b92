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
