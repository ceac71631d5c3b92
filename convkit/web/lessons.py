"""The numbers behind the explorer's lessons, each computed by the library.

One function per request: `convolution` (convkit.pad, then convkit.correlate /
convolve for one channel or convkit.conv2d for several channels and a bias),
`steps` (the CNN's ReLU and Flatten layers, convkit.pool with its
winners and a Dense layer's class scores), `softmax` (the Softmax layer and softmax_cross_entropy),
`continuous` (convkit.convolve_functions on the built-in pairs of
convkit.viz), plus the page's menus: samples, named kernels, boundary
pictures. Requests arrive as decoded JSON dicts and are checked with
`convkit.web.checks`; the answers are JSON-ready dicts. HTTP is the server's
job, the model view is in `convkit.web.network`.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

from .checks import (MAX_CHANNELS, MAX_KERNEL, MAX_SIDE, BadRequest, choice, flag, grid, integer,
                     number)

__all__ = ["info", "sample", "kernel", "convolution", "steps", "softmax", "continuous",
           "boundary_picture", "SAMPLE_SIDE", "MAX_CLASSES"]

MAX_CLASSES = 10       # classes of the lesson's dense layer
SAMPLE_SIDE = 32       # sample photos are mean-pooled to this side: a grid a person can read
_PHOTOS = {"camera": "camera.png", "coins": "coins.png", "astronaut": "astronaut.png"}
_LETTERS = "abcd"


def boundary_picture(mode: str) -> str:
    """How `mode` extends a b c d by two cells, drawn by convkit.pad itself: 'b a | a b c d | d c'."""
    from convkit import pad

    cells = pad(np.arange(4), 2, mode, cval=-1)
    text = ["k" if v < 0 else _LETTERS[v] for v in cells]
    return f"{' '.join(text[:2])} | {' '.join(text[2:6])} | {' '.join(text[6:])}"


def info() -> dict:
    """The menus: boundary modes with their pictures, kernels, samples, pooling ops, pairs."""
    from convkit import BOUNDARY_MODES, list_kernels
    from convkit._names import LUMA, POOL_OPS
    from convkit.viz import CONTINUOUS_PAIRS

    return {
        "boundaries": [{"name": m, "picture": boundary_picture(m)} for m in BOUNDARY_MODES],
        "kernels": [{"name": n, "description": d} for n, d in list_kernels().items()],
        "samples": ["seed"] + list(_PHOTOS),
        "pool_ops": [op for op in POOL_OPS],
        "winner_ops": ["max", "min"],
        "pairs": [{"name": n, "label": p[0], "range": list(p[5])} for n, p in CONTINUOUS_PAIRS.items()],
        "luma": list(LUMA),
        "limits": {"side": MAX_SIDE, "channels": MAX_CHANNELS, "kernel": MAX_KERNEL},
    }


@functools.lru_cache(maxsize=None)
def _photo(name: str) -> np.ndarray:
    """A scikit-image sample photo as (C, 32, 32) in [0, 1]: read_image, then mean-pooled."""
    import skimage.data

    from convkit import pool, read_image

    path = os.path.join(os.path.dirname(skimage.data.__file__), _PHOTOS[name])
    image = read_image(path)
    image = image[..., :3] if image.ndim == 3 else image[..., None]          # (H, W, C)
    factor = min(image.shape[:2]) // SAMPLE_SIDE
    small = pool(image, factor, op="mean", axes=(0, 1))[:SAMPLE_SIDE, :SAMPLE_SIDE]
    return np.moveaxis(small, 2, 0)


def sample(name: str) -> dict:
    """The tutorial's 7x7 image and detector, or a sample photo with that detector."""
    from convkit.viz.walkthrough import SEED_ARRAYS

    if name != "seed" and name not in _PHOTOS:
        raise BadRequest(f"sample must be one of seed, {', '.join(_PHOTOS)}; got {name!r}")
    image = SEED_ARRAYS["image"][None] if name == "seed" else _photo(name)
    return {"name": name, "image": image.tolist(), "kernel": SEED_ARRAYS["detector"].tolist()}


def kernel(name: str) -> dict:
    """A named kernel (plain names only: a spec could name a file or a huge size)."""
    from convkit import get_kernel, list_kernels

    names = list_kernels()
    if name not in names:
        raise BadRequest(f"kernel must be one of {', '.join(names)}; got {name!r}")
    k = np.asarray(get_kernel(name), np.float64)
    return {"name": name, "description": names[name], "kernel": k.tolist()}


def _geometry(body: dict, image: np.ndarray, kern: np.ndarray) -> dict:
    """stride, padding, dilation, boundary of a convolution request, checked against the sizes."""
    from convkit import BOUNDARY_MODES

    g: dict[str, Any] = {"stride": integer(body, "stride", 1, 8, 1), "padding": integer(body, "padding", 0, 16, 0),
         "dilation": integer(body, "dilation", 1, 8, 1),
         "boundary": choice(body, "boundary", tuple(BOUNDARY_MODES), "constant"),
         "cval": number(body, "cval", 0.0)}
    span = [g["dilation"] * (k - 1) + 1 for k in kern.shape[-2:]]
    side = [n + 2 * g["padding"] for n in image.shape[-2:]]
    if span[0] > side[0] or span[1] > side[1]:
        raise BadRequest(f"the kernel spans {span[0]}x{span[1]} cells (dilation {g['dilation']}) but the "
                         f"padded image is only {side[0]}x{side[1]}")
    return g


def convolution(body: dict) -> dict:
    """Pad the (C, H, W) image by its boundary, slide the (C, kh, kw) kernel, add the bias.

    One channel without bias is ``correlate(pad(image), kernel, "valid", stride=, dilation=)``
    (``convolve`` when `flip`); several channels or a bias is one output map of the CNN's
    ``conv2d`` on the padded image. ``partial`` holds each channel's own map.
    """
    from convkit import conv2d, convolve, correlate, pad

    image = grid(body, "image", 3, (MAX_CHANNELS, MAX_SIDE, MAX_SIDE))       # (C, H, W)
    kern = grid(body, "kernel", 3, (MAX_CHANNELS, MAX_KERNEL, MAX_KERNEL))   # (C, kh, kw)
    if kern.shape[0] != image.shape[0]:
        raise BadRequest(f"kernel must have one plane per image channel ({image.shape[0]}), got "
                         f"{kern.shape[0]}")
    bias = number(body, "bias", 0.0)
    flip = flag(body, "flip")
    g = _geometry(body, image, kern)
    p = g["padding"]
    padded = pad(image, ((0, 0), (p, p), (p, p)), g["boundary"], cval=g["cval"])
    slide = convolve if flip else correlate
    partial = np.stack([slide(padded[c], kern[c], "valid", stride=g["stride"], dilation=g["dilation"])
                        for c in range(image.shape[0])])                     # (C, Ho, Wo)
    if image.shape[0] == 1 and bias == 0.0:
        output = partial[0]
    else:
        # true convolution is correlation with the kernel turned by 180 degrees
        laid = kern[:, ::-1, ::-1] if flip else kern
        output = conv2d(padded[None], np.ascontiguousarray(laid)[None], np.array([bias]),
                        stride=g["stride"], dilation=g["dilation"])[0, 0]
    return {"padded": padded.tolist(), "laid": (kern[:, ::-1, ::-1] if flip else kern).tolist(),
            "partial": partial.tolist(), "output": np.asarray(output, np.float64).tolist(),
            "bias": bias, "flip": flip, "picture": boundary_picture(g["boundary"]), **g}


def steps(body: dict) -> dict:
    """ReLU of a feature map, pooled with each window's winner, flattened, then a dense layer.

    The dense layer is the tutorial's ``Dense(n, classes, seed=0)`` (He-initialised weights, zero
    bias): its weights are shown, its ``forward`` gives the class scores the softmax step takes.
    """
    from convkit import pool
    from convkit.cnn import Dense, Flatten, ReLU
    from convkit._names import POOL_OPS

    fmap = grid(body, "map", 2, (2 * MAX_SIDE, 2 * MAX_SIDE))                # (H, W)
    size = integer(body, "size", 1, 8, 2)
    stride = integer(body, "stride", 1, 8, size)
    op = choice(body, "op", POOL_OPS, "max")
    classes = integer(body, "classes", 2, MAX_CLASSES, 3)
    if size > min(fmap.shape):
        raise BadRequest(f"pool size {size} is larger than the map {fmap.shape[0]}x{fmap.shape[1]}")
    relu = ReLU().forward(fmap[None, None], training=False) + 0.0            # (1, 1, H, W); -0 -> 0
    if op in ("max", "min"):
        pooled, idx = pool(relu, size, stride=stride, op=op, return_indices=True)
        winners = np.asarray(idx)[0, 0].tolist()
    else:
        pooled, winners = pool(relu, size, stride=stride, op=op), None
    flat = Flatten().forward(np.asarray(pooled, np.float64), training=False)       # (1, n)
    dense = Dense(flat.shape[1], classes, dtype=np.float64, seed=0)
    scores = dense.forward(flat, training=False)[0]                                # (classes,)
    return {"relu": relu[0, 0].tolist(), "pooled": np.asarray(pooled, np.float64)[0, 0].tolist(),
            "winners": winners, "flat": flat[0].tolist(), "size": size, "stride": stride, "op": op,
            "dense": {"weight": dense.params["weight"].T.tolist(),                   # (classes, n)
                      "bias": dense.params["bias"].tolist(), "scores": scores.tolist()}}


def softmax(body: dict) -> dict:
    """Softmax of class scores (the CNN's Softmax layer) and the cross-entropy of one label."""
    from convkit.cnn import Softmax, softmax_cross_entropy

    scores = grid(body, "scores", 1, (4 * MAX_SIDE * MAX_SIDE,))
    label = integer(body, "label", 0, scores.size - 1, 0)
    probs = Softmax().forward(scores[None], training=False)[0]
    loss, _ = softmax_cross_entropy(scores[None], [label])
    return {"scores": scores.tolist(), "exp": np.exp(scores - scores.max()).tolist(),
            "probabilities": probs.tolist(), "label": label, "loss": float(loss)}


@functools.lru_cache(maxsize=None)
def _walk(pair: str):
    """The pair's whole (f*g) curve, once per pair (convkit.viz's walkthrough)."""
    from convkit.viz import continuous_walkthrough

    return continuous_walkthrough(pair, n_frames=2)


def continuous(body: dict) -> dict:
    """f(tau), g(t - tau), their product and its area (f*g)(t) for a built-in pair."""
    from convkit import convolve_functions
    from convkit.viz import CONTINUOUS_PAIRS

    pair = choice(body, "pair", tuple(CONTINUOUS_PAIRS), "rect")
    label, f, sf, g, sg, (t0, t1), _ = CONTINUOUS_PAIRS[pair]
    t = number(body, "t", t0, bound=1e3)
    if not t0 <= t <= t1:
        raise BadRequest(f"t must be in [{t0:g}, {t1:g}] for {pair}, got {t:g}")
    walk = _walk(pair)
    tau = walk.tau
    area = float(np.asarray(convolve_functions(f, g, np.array([t]), support_f=sf, support_g=sg))[0])
    return {"pair": pair, "label": label, "t": t, "t_range": [t0, t1], "tau": tau.tolist(),
            "f": f(tau).tolist(), "g_shifted": g(t - tau).tolist(),
            "product": (f(tau) * g(t - tau)).tolist(), "area": area,
            "curve_t": walk.curve_t.tolist(), "curve": walk.curve.tolist()}
