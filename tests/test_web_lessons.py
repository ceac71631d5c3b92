"""convkit.web.lessons through the live server: every answer against an independent reference
(scipy / numpy loops for convolution and each boundary, brute force for pooling winners, the
closed forms of softmax and of the continuous pairs, the sample files)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from _web import post, reference_conv, request, running

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOUNDARIES = ["constant", "reflect", "mirror", "nearest", "wrap"]


@pytest.fixture(scope="module")
def server():
    with running() as srv:
        yield srv


def test_info_lists_the_five_boundaries_with_their_pictures(server):
    status, info, _ = request(server, "GET", "/api/info")
    assert status == 200
    pictures = {b["name"]: b["picture"] for b in info["boundaries"]}
    assert pictures == {"constant": "k k | a b c d | k k", "reflect": "b a | a b c d | d c",
                        "mirror": "c b | a b c d | c b", "nearest": "a a | a b c d | d d",
                        "wrap": "c d | a b c d | a b"}
    assert {"max", "min", "sum", "mean"} <= set(info["pool_ops"])
    assert {p["name"] for p in info["pairs"]} == {"rect", "gaussian", "exp"}
    assert info["model"]["available"] is False and "convkit train" in info["model"]["message"]


def test_seed_sample_equals_the_sample_files(server):
    _, seed, _ = request(server, "GET", "/api/sample?name=seed")
    image = np.loadtxt(os.path.join(REPO, "samples", "seed_image.csv"), delimiter=",")
    detector = np.loadtxt(os.path.join(REPO, "samples", "seed_detector.csv"), delimiter=",")
    np.testing.assert_array_equal(np.array(seed["image"]), image[None])
    np.testing.assert_array_equal(np.array(seed["kernel"]), detector)
    feature = np.loadtxt(os.path.join(REPO, "samples", "seed_feature_map.csv"), delimiter=",")
    out = post(server, "/api/convolution", {"image": seed["image"], "kernel": [seed["kernel"]]})
    np.testing.assert_array_equal(out["output"], feature)


def test_photo_sample_is_the_block_mean_of_the_photo(server):
    import skimage.data

    _, cam, _ = request(server, "GET", "/api/sample?name=camera")
    ref = skimage.data.camera() / 255.0
    ref = ref.reshape(32, 16, 32, 16).mean(axis=(1, 3))
    np.testing.assert_allclose(np.array(cam["image"])[0], ref, atol=1e-12)
    _, astro, _ = request(server, "GET", "/api/sample?name=astronaut")
    assert np.array(astro["image"]).shape == (3, 32, 32)


def test_named_kernel(server):
    _, k, _ = request(server, "GET", "/api/kernel?name=sobel_x")
    np.testing.assert_array_equal(k["kernel"], [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("flip", [False, True])
def test_convolution_matches_scipy_for_random_configurations(server, boundary, flip):
    rng = np.random.default_rng(len(boundary) + 10 * flip)
    for _ in range(6):
        c = int(rng.choice([1, 3]))
        h, w = rng.integers(5, 13, size=2)
        kh, kw = rng.integers(1, 5, size=2)
        padding, stride, dilation = int(rng.integers(0, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
        if dilation * (max(kh, kw) - 1) + 1 > min(h, w) + 2 * padding:
            dilation = 1
        image = rng.integers(-3, 4, size=(c, h, w)).astype(float)
        kernel = rng.normal(size=(c, kh, kw)).round(2)
        bias = round(float(rng.normal()), 2) if c == 3 else 0.0
        cfg = dict(stride=stride, padding=padding, dilation=dilation, boundary=boundary, cval=1.5,
                   flip=flip, bias=bias)
        out = post(server, "/api/convolution", {"image": image.tolist(), "kernel": kernel.tolist(), **cfg})
        ref = reference_conv(image, kernel, **cfg)
        np.testing.assert_allclose(out["output"], ref, rtol=1e-12, atol=1e-12)
        mode = "symmetric" if boundary == "reflect" else {"mirror": "reflect", "nearest": "edge"}.get(
            boundary, boundary)
        ref_padded = np.pad(image, ((0, 0), (padding,) * 2, (padding,) * 2), mode=mode,
                            **({"constant_values": 1.5} if mode == "constant" else {}))
        np.testing.assert_array_equal(out["padded"], ref_padded)
        # the hover arithmetic: the shown products of each window add up to the shown cell
        laid = np.array(out["laid"])
        padded = np.array(out["padded"])
        for i, j in [(0, 0), (len(ref) - 1, len(ref[0]) - 1)]:
            rows = i * stride + dilation * np.arange(kh)
            cols = j * stride + dilation * np.arange(kw)
            products = padded[:, rows][:, :, cols] * laid
            assert products.sum() + bias == pytest.approx(out["output"][i][j], abs=1e-9)


def _brute_pool(x, size, stride, op):
    h = (x.shape[0] - size) // stride + 1
    w = (x.shape[1] - size) // stride + 1
    out, win = np.zeros((h, w)), np.zeros((h, w), int)
    for i in range(h):
        for j in range(w):
            best = None
            for a in range(size):
                for b in range(size):
                    r, c = i * stride + a, j * stride + b
                    v = x[r, c]
                    better = best is None or (v > best if op == "max" else v < best)
                    if better:
                        best, win[i, j] = v, r * x.shape[1] + c
            out[i, j] = best
    return out, win


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("size,stride", [(2, 2), (3, 1), (2, 3)])
def test_relu_pool_winners_and_flatten_by_brute_force(server, op, size, stride):
    rng = np.random.default_rng(size * 7 + stride)
    fmap = rng.integers(-4, 5, size=(7, 9)).astype(float)
    out = post(server, "/api/steps", {"map": fmap.tolist(), "size": size, "stride": stride, "op": op})
    relu = np.where(fmap > 0, fmap, 0.0)
    np.testing.assert_array_equal(out["relu"], relu)
    pooled, winners = _brute_pool(relu, size, stride, op)
    np.testing.assert_array_equal(out["pooled"], pooled)
    np.testing.assert_array_equal(out["winners"], winners)
    np.testing.assert_array_equal(out["flat"], pooled.ravel())


def test_sum_and_mean_pooling_have_no_winners(server):
    fmap = np.arange(16.0).reshape(4, 4) - 5
    out = post(server, "/api/steps", {"map": fmap.tolist(), "size": 2, "op": "mean"})
    relu = np.maximum(fmap, 0)
    np.testing.assert_allclose(out["pooled"], relu.reshape(2, 2, 2, 2).mean(axis=(1, 3)))
    assert out["winners"] is None


@pytest.mark.parametrize("scores,label", [([2, 1, 0.1], 0), ([1000, -1000, 3], 2), ([0.5], 0)])
def test_softmax_and_cross_entropy_closed_form(server, scores, label):
    out = post(server, "/api/softmax", {"scores": scores, "label": label})
    z = np.array(scores, float)
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    np.testing.assert_allclose(out["probabilities"], p, rtol=1e-12)
    logp = (z[label] - z.max()) - np.log(np.exp(z - z.max()).sum())
    assert out["loss"] == pytest.approx(-logp, rel=1e-12)


CLOSED = {"rect": lambda t: max(0.0, 1 - abs(t)),
          "gaussian": lambda t: np.exp(-t * t / 4) / np.sqrt(4 * np.pi),
          "exp": lambda t: 1 - np.exp(-t) if t >= 0 else 0.0}
F = {"rect": lambda x: (np.abs(x) <= 0.5) * 1.0, "gaussian": lambda x: np.exp(-x * x / 2) / np.sqrt(2 * np.pi),
     "exp": lambda x: np.where(x >= 0, np.exp(-np.maximum(x, 0)), 0.0)}
G = {"rect": F["rect"], "gaussian": F["gaussian"], "exp": lambda x: (x >= 0) * 1.0}


@pytest.mark.parametrize("pair,t", [("rect", -0.7), ("rect", 0.0), ("rect", 1.2), ("gaussian", -2.5),
                                    ("gaussian", 1.0), ("exp", -0.5), ("exp", 0.8), ("exp", 4.0)])
def test_continuous_area_and_curves_closed_form(server, pair, t):
    out = post(server, "/api/continuous", {"pair": pair, "t": t})
    assert out["area"] == pytest.approx(CLOSED[pair](t), abs=1e-6)
    tau = np.array(out["tau"])
    np.testing.assert_allclose(out["f"], F[pair](tau), atol=1e-12)
    np.testing.assert_allclose(out["g_shifted"], G[pair](t - tau), atol=1e-12)
    np.testing.assert_allclose(out["product"], F[pair](tau) * G[pair](t - tau), atol=1e-12)
    curve = np.array([CLOSED[pair](s) for s in out["curve_t"]])
    np.testing.assert_allclose(out["curve"], curve, atol=1e-4)


@pytest.mark.parametrize("classes", [2, 3, 10])
def test_dense_scores_are_the_flattened_map_times_the_weights(server, classes):
    from convkit.cnn import Dense

    fmap = np.random.default_rng(classes).normal(size=(6, 6))
    out = post(server, "/api/steps", {"map": fmap.tolist(), "size": 2, "classes": classes})
    flat = np.array(out["flat"])
    weight, bias = np.array(out["dense"]["weight"]), np.array(out["dense"]["bias"])
    assert weight.shape == (classes, flat.size)
    # the scores by hand: each class row dotted with the column, plus the bias
    by_hand = [sum(weight[k, n] * flat[n] for n in range(flat.size)) + bias[k] for k in range(classes)]
    np.testing.assert_allclose(out["dense"]["scores"], by_hand, rtol=1e-12)
    np.testing.assert_allclose(weight, Dense(flat.size, classes, dtype=np.float64, seed=0).params["weight"].T)
