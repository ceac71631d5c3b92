"""Checks on the explorer's JSON requests: every number and array is bounded before use.

A request is plain JSON (no pickle, no eval). Each helper takes the decoded
value and either returns it as a Python or numpy value within its bounds or
raises `BadRequest` with a one-line message that names the field; the server
turns that into a 400 answer. Sizes are checked on the nested lists before
any numpy array is allocated.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["BadRequest", "integer", "number", "choice", "flag", "grid", "MAX_SIDE", "MAX_CHANNELS",
           "MAX_KERNEL", "MAX_ABS"]

MAX_SIDE = 64        # the largest image side the page works on (the walkthroughs' limit too)
MAX_CHANNELS = 3     # gray or RGB
MAX_KERNEL = 15      # the largest named kernel (log, 13x13) fits
MAX_ABS = 1e6        # cell values beyond this are typing mistakes, not lessons


class BadRequest(ValueError):
    """A request the server refuses; the message is shown on the page."""


def integer(body: dict, name: str, lo: int, hi: int, default: int | None = None) -> int:
    """body[name] as an int in [lo, hi] (bool refused)."""
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise BadRequest(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    return value


def number(body: dict, name: str, default: float | None = None, *, bound: float = MAX_ABS) -> float:
    """body[name] as a finite float with |value| <= bound."""
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or abs(value) > bound:
        raise BadRequest(f"{name} must be a finite number within +-{bound:g}, got {value!r}")
    return float(value)


def choice(body: dict, name: str, accepted, default: str | None = None) -> Any:
    """body[name] as one of `accepted` (typed Any: the caller's Literal parameter checks it again)."""
    value = body.get(name, default)
    if value not in accepted:
        raise BadRequest(f"{name} must be one of {', '.join(map(str, accepted))}; got {value!r}")
    return value


def flag(body: dict, name: str, default: bool = False) -> bool:
    """body[name] as a bool."""
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false, got {value!r}")
    return value


def _shape(value: Any, name: str, ndim: int, limits: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of nested lists, refusing ragged or oversized ones before numpy sees them."""
    shape: list[int] = []
    level = [value]
    for depth in range(ndim):
        n = None
        for item in level:
            if not isinstance(item, list) or not item:
                raise BadRequest(f"{name} must be a non-empty {ndim}-D list of numbers")
            if n is None:
                n = len(item)
            if len(item) != n:
                raise BadRequest(f"{name} rows must all have the same length")
            if n > limits[depth]:
                raise BadRequest(f"{name} is too large: axis {depth} has {n} entries, at most "
                                 f"{limits[depth]}")
        shape.append(n or 0)
        level = [sub for item in level for sub in item]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in level):
        raise BadRequest(f"{name} must hold numbers only")
    return tuple(shape)


def grid(body: dict, name: str, ndim: int, limits: tuple[int, ...]) -> np.ndarray:
    """body[name], nested lists of numbers of `ndim` axes within `limits`, as float64."""
    if name not in body:
        raise BadRequest(f"missing field {name!r}")
    _shape(body[name], name, ndim, limits)
    a = np.array(body[name], dtype=np.float64)
    if not np.isfinite(a).all() or np.abs(a).max() > MAX_ABS:
        raise BadRequest(f"{name} must hold finite numbers within +-{MAX_ABS:g}")
    return a
