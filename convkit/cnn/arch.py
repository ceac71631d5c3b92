"""The compact layer spec of ``convkit train --arch``: ``conv16-relu-pool2-flatten-dense``.

Tokens are separated by ``-``; layer sizes follow from the input shape, and a
final bare ``dense`` is sized to the number of classes. The grammar does not
name a dimension: for C x L signals ``conv``, ``pool`` and ``bn`` build
Conv1D, Pool1D and BatchNorm1D, for C x H x W images their 2-D forms.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from .._names import DEFAULT_ARCH, PoolOp
from ..windows import n_windows
from .batchnorm import BatchNorm2D
from .dropout import Dropout
from .layers import Conv2D, Dense, Flatten, Layer, MaxPool2D, Pool2D, ReLU
from .layers1d import BatchNorm1D, Conv1D, GlobalAvgPool, MaxPool1D, Pool1D

__all__ = ["DEFAULT_ARCH", "ACCEPTED_TOKENS", "parse_arch", "build_layers"]
ACCEPTED_TOKENS = ("convN (3x3, 'same' padding)", "convNkK", "convNkKsS", "convNkKsSpP", "poolP", "maxpoolP",
                   "minpoolP", "avgpoolP", "sumpoolP", "relu", "bn (batch norm, after a conv)",
                   "dropP (dropout, 0 <= P < 1, e.g. drop0.25)", "gap (global average pool)", "flatten", "denseN",
                   "dense (last: one output per class)")

_CONV = re.compile(r"conv(\d+)(?:k(\d+))?(?:s(\d+))?(?:p(\d+))?")
_POOL = re.compile(r"(max|min|avg|mean|sum)?pool(\d+)(?:s(\d+))?")
_DENSE = re.compile(r"dense(\d+)?")
_DROP = re.compile(r"drop(\d*\.?\d+)")
_POOL_OPS: dict[str | None, PoolOp] = {None: "max", "max": "max", "min": "min", "avg": "mean", "mean": "mean", "sum": "sum"}


def _error(token: str, spec: str, why: str = "unknown token") -> ValueError:
    return ValueError(f"architecture {spec!r}: {why} {token!r}; accepted tokens: {', '.join(ACCEPTED_TOKENS)}")


def parse_arch(spec: str) -> list[tuple]:
    """Split a spec into (kind, args) tuples; raise ValueError naming an unknown token."""
    tokens = [t.strip().lower() for t in str(spec).split("-")]
    if not spec or not all(tokens):
        raise ValueError(f"architecture {spec!r}: empty token; write tokens separated by single '-', "
                         f"accepted tokens: {', '.join(ACCEPTED_TOKENS)}")
    out: list[tuple] = []
    for t in tokens:
        if m := _CONV.fullmatch(t):
            n_txt, k_txt, s_txt, p_txt = m.groups()
            n, k, s = int(n_txt), int(k_txt or 3), int(s_txt or 1)
            if min(n, k, s) < 1:
                raise _error(t, spec, "sizes must be >= 1 in")
            out.append(("conv", n, k, s, (k // 2 if s == 1 else 0) if p_txt is None else int(p_txt)))
        elif m := _POOL.fullmatch(t):
            size = int(m.group(2))
            stride = int(m.group(3)) if m.group(3) else size
            if min(size, stride) < 1:
                raise _error(t, spec, "sizes must be >= 1 in")
            out.append(("pool", _POOL_OPS[m.group(1)], size, stride))
        elif t in ("relu", "flatten", "bn", "gap"):
            out.append((t,))
        elif m := _DROP.fullmatch(t):
            p = float(m.group(1))
            if not p < 1:
                raise _error(t, spec, "the dropout probability must be below 1 in")
            out.append(("drop", p))
        elif m := _DENSE.fullmatch(t):
            units = int(m.group(1)) if m.group(1) else None
            if units is not None and units < 1:
                raise _error(t, spec, "sizes must be >= 1 in")
            out.append(("dense", units))
        else:
            raise _error(t, spec)
    bare = [i for i, item in enumerate(out) if item == ("dense", None)]
    if bare and bare != [len(out) - 1]:
        raise ValueError(f"architecture {spec!r}: a bare 'dense' (sized to the classes) may only be the last token")
    return out


def build_layers(spec: str, input_shape: Sequence[int], n_classes: int) -> list[Layer]:
    """Layers for `spec` on C x L signals (1-D layers) or C x H x W images (2-D layers); a Flatten
    is added before the first dense if missing (not after ``gap``, whose output is flat), and a
    final Dense(n_classes) if the spec does not end with a dense layer."""
    shape = tuple(int(v) for v in input_shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"architecture {spec!r}: input samples must be C x L signals or C x H x W images, "
                         f"got shape {shape}")
    c, spatial = shape[0], list(shape[1:])
    one_d = len(spatial) == 1
    items = parse_arch(spec)
    if items[-1][0] != "dense":
        items.append(("dense", None))
    layers: list[Layer] = []
    flat = None
    for item in items:
        kind = item[0]
        if kind in ("conv", "pool", "bn", "gap") and flat is not None:
            raise ValueError(f"architecture {spec!r}: {kind} after flatten/dense/gap; convolutions, batch "
                             f"norm and pooling come first")
        if kind == "bn" and not any(isinstance(layer, (Conv1D, Conv2D)) for layer in layers):
            raise ValueError(f"architecture {spec!r}: 'bn' normalises the channels of a convolution; put it "
                             f"after a conv")
        if kind == "conv":
            _, n, k, s, p = item
            spatial = [n_windows(side, k, stride=s, pad=2 * p) for side in spatial]
            layers.append(Conv1D(c, n, k, stride=s, padding=p) if one_d else Conv2D(c, n, k, stride=s, padding=p))
            c = n
        elif kind == "pool":
            _, op, size, stride = item
            spatial = [n_windows(side, size, stride=stride) for side in spatial]
            if one_d:
                layers.append(MaxPool1D(size, stride) if op == "max" else Pool1D(size, stride, op=op))
            else:
                layers.append(MaxPool2D(size, stride) if op == "max" else Pool2D(size, stride, op=op))
        elif kind == "relu":
            layers.append(ReLU())
        elif kind == "bn":
            layers.append(BatchNorm1D(c) if one_d else BatchNorm2D(c))
        elif kind == "drop":
            layers.append(Dropout(item[1]))
        elif kind == "gap":
            layers.append(GlobalAvgPool())
            flat = c
        else:
            if flat is None:
                flat = c * int(np.prod(spatial))
                layers.append(Flatten())
            if kind == "dense":
                out = n_classes if item[1] is None else item[1]
                layers.append(Dense(flat, out))
                flat = out
        if min(spatial) < 1:
            size = " x ".join(str(max(v, 0)) for v in spatial)
            raise ValueError(f"architecture {spec!r}: the {'signal' if one_d else 'image'} shrinks to {size} at "
                             f"layer {len(layers)} for input {shape}; use fewer pools or strides, or padding")
    if flat != n_classes:
        raise ValueError(f"architecture {spec!r}: the last dense layer has {flat} outputs but the data has "
                         f"{n_classes} classes; end with a bare 'dense'")
    return layers
