"""The compact layer spec of ``convkit train --arch``: ``conv16-relu-pool2-flatten-dense``.

Tokens are separated by ``-``; layer sizes follow from the input shape, and a
final bare ``dense`` is sized to the number of classes. The grammar does not
name a dimension: for C x L signals ``conv``, ``pool`` and ``bn`` build
Conv1D, Pool1D and BatchNorm1D, for C x H x W images their 2-D forms.
A spec is planned (shapes, checks, the memory training needs) before any
layer is built.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Sequence

import numpy as np

from .._names import DEFAULT_ARCH, PoolOp
from ..windows import n_windows
from .batchnorm import BatchNorm2D
from .dropout import Dropout
from .layers import Conv2D, Dense, Flatten, Layer, MaxPool2D, Pool2D, ReLU
from .layers1d import BatchNorm1D, Conv1D, GlobalAvgPool, MaxPool1D, Pool1D

__all__ = ["DEFAULT_ARCH", "ACCEPTED_TOKENS", "parse_arch", "build_layers", "training_bytes"]
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


class _Step(NamedTuple):
    """One layer of a spec, planned: its token and the (C, *spatial) or (features,) it gives."""
    item: tuple
    into: tuple[int, ...]      # shape of one sample before the layer
    out: tuple[int, ...]       # and after it


def _plan(spec: str, input_shape: Sequence[int], n_classes: int) -> list[_Step]:
    """The layers of `spec` on C x L or C x H x W inputs with their shapes, checked, nothing
    allocated; a Flatten is added before the first dense if missing (not after ``gap``, whose
    output is flat), and a final bare dense if the spec does not end with a dense layer."""
    shape = tuple(int(v) for v in input_shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"architecture {spec!r}: input samples must be C x L signals or C x H x W images, "
                         f"got shape {shape}")
    c, spatial = shape[0], list(shape[1:])
    what = "signal" if len(spatial) == 1 else "image"
    items = parse_arch(spec)
    if items[-1][0] != "dense":
        items.append(("dense", None))
    steps: list[_Step] = []
    flat = None
    for item in items:
        kind = item[0]
        into: tuple[int, ...] = (c, *spatial) if flat is None else (flat,)
        if kind in ("conv", "pool", "bn", "gap") and flat is not None:
            raise ValueError(f"architecture {spec!r}: {kind} after flatten/dense/gap; convolutions, batch "
                             f"norm and pooling come first")
        if kind == "bn" and not any(step.item[0] == "conv" for step in steps):
            raise ValueError(f"architecture {spec!r}: 'bn' normalises the channels of a convolution; put it "
                             f"after a conv")
        if kind == "conv":
            _, n, k, s, p = item
            spatial = [n_windows(side, k, stride=s, pad=2 * p) for side in spatial]
            c = n
        elif kind == "pool":
            _, op, size, stride = item
            spatial = [n_windows(side, size, stride=stride) for side in spatial]
        elif kind == "gap":
            flat = c
        elif kind == "flatten" and flat is not None:
            continue                                   # already flat: nothing to add
        elif kind in ("flatten", "dense"):
            if flat is None:
                flat = c * int(np.prod(spatial))
                if kind == "dense":
                    steps.append(_Step(("flatten",), into, (flat,)))
                    into = (flat,)
            if kind == "dense":
                flat = n_classes if item[1] is None else item[1]
        steps.append(_Step(item, into, (c, *spatial) if flat is None else (flat,)))
        if min(spatial) < 1:
            size = " x ".join(str(max(v, 0)) for v in spatial)
            raise ValueError(f"architecture {spec!r}: the {what} shrinks to {size} at layer {len(steps)} "
                             f"for input {shape}; use fewer pools or strides, or padding")
    if flat != n_classes:
        raise ValueError(f"architecture {spec!r}: the last dense layer has {flat} outputs but the data has "
                         f"{n_classes} classes; end with a bare 'dense'")
    return steps


def _step_bytes(step: _Step, batch_size: int) -> tuple[int, int]:
    """(parameter bytes, activation bytes for a batch) of one planned layer, in float32."""
    kind, out = step.item[0], int(np.prod(step.out))
    params, unfolded = 0, 0
    if kind == "conv":
        _, n, k, _, _ = step.item
        taps = k ** (len(step.into) - 1)                             # k x k for images, k for signals
        params = n * (step.into[0] * taps + 1)
        unfolded = step.into[0] * taps * int(np.prod(step.out[1:]))  # the windows, laid out
    elif kind == "dense":
        params = (step.into[0] + 1) * out
    elif kind == "bn":
        params = 4 * step.out[0]
    # parameters: weights, gradients and Adam's two moments; activations: the output, its cached
    # copy and its gradient, and a convolution's unfolded windows
    return 4 * 4 * params, 4 * batch_size * (3 * out + unfolded)


def training_bytes(spec: str, input_shape: Sequence[int], n_classes: int, batch_size: int) -> tuple[int, str]:
    """Estimated peak memory of training `spec` on batches of C x L or C x H x W samples, and the
    layer that needs the most, e.g. ``"conv100000 (layer 1)"``; nothing is allocated (see
    `_step_bytes`)."""
    steps = _plan(spec, input_shape, n_classes)
    sizes = [sum(_step_bytes(step, batch_size)) for step in steps]
    worst = int(np.argmax(sizes))
    item = steps[worst].item
    label = {"conv": lambda: f"conv{item[1]}k{item[2]}", "dense": lambda: f"dense{steps[worst].out[0]}"
             }.get(item[0], lambda: item[0])()
    return 4 * batch_size * int(np.prod(input_shape)) + sum(sizes), f"{label} (layer {worst + 1})"


def build_layers(spec: str, input_shape: Sequence[int], n_classes: int) -> list[Layer]:
    """Layers for `spec` on C x L signals (1-D layers) or C x H x W images (2-D layers); a Flatten
    is added before the first dense if missing (not after ``gap``), and a final Dense(n_classes)
    if the spec does not end with a dense layer."""
    one_d = len(tuple(input_shape)) == 2
    layers: list[Layer] = []
    for step in _plan(spec, input_shape, n_classes):
        kind = step.item[0]
        if kind == "conv":
            _, n, k, s, p = step.item
            layers.append(Conv1D(step.into[0], n, k, stride=s, padding=p) if one_d
                          else Conv2D(step.into[0], n, k, stride=s, padding=p))
        elif kind == "pool":
            _, op, size, stride = step.item
            if one_d:
                layers.append(MaxPool1D(size, stride) if op == "max" else Pool1D(size, stride, op=op))
            else:
                layers.append(MaxPool2D(size, stride) if op == "max" else Pool2D(size, stride, op=op))
        elif kind == "relu":
            layers.append(ReLU())
        elif kind == "bn":
            layers.append(BatchNorm1D(step.out[0]) if one_d else BatchNorm2D(step.out[0]))
        elif kind == "drop":
            layers.append(Dropout(step.item[1]))
        elif kind == "gap":
            layers.append(GlobalAvgPool())
        elif kind == "flatten":
            layers.append(Flatten())
        else:
            layers.append(Dense(step.into[0], step.out[0]))
    return layers
