"""Parsing of kernel specs for `convkit.kernels`: names with parameters, inline
matrices, kernel files and arrays. No kernel values live here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ._names import KERNEL_FILE_SUFFIXES
from .io.atomic import regular_input

__all__ = ["MAX_KERNEL_SIDE", "as_kernel_array", "parse_matrix", "parse_params", "read_kernel_spec"]

MAX_KERNEL_SIDE = 1025  # a larger kernel is a typo (sigma=300) rather than a wish
_NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::(.*))?", re.DOTALL)


def as_kernel_array(value: Any, source: str = "kernel", *, ndim: int | None = 2) -> np.ndarray:
    """Validate a kernel given as an array: real, `ndim`-D (None: any number of axes from 1),
    non-empty, finite; return a float64 copy."""
    try:
        a = np.asarray(value)
    except ValueError:
        raise ValueError(f"{source} rows have different lengths; a kernel must be a "
                         "rectangular 2-D matrix") from None
    if a.dtype.kind == "c":
        raise TypeError(f"{source} must hold real numbers, got dtype {a.dtype}")
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{source} must hold numbers, got dtype {a.dtype}")
    if a.ndim != ndim if ndim is not None else a.ndim == 0:
        raise ValueError(f"{source} must be {ndim or 'at least 1'}-D, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{source} is empty, got shape {a.shape}")
    if max(a.shape) > MAX_KERNEL_SIDE:
        raise ValueError(f"{source} has shape {a.shape}; the largest side allowed is {MAX_KERNEL_SIDE}")
    out = np.array(a, dtype=np.float64)
    bad = np.argwhere(~np.isfinite(out))
    if len(bad):
        raise ValueError(f"{source} contains NaN or inf (first at index {tuple(int(i) for i in bad[0])})")
    return out


def _parse_row(row: str, number: int, source: str) -> list[float]:
    """Split one matrix row on commas (or, without commas, on whitespace) into floats."""
    if "," in row:
        tokens = [t.strip() for t in row.split(",")]
        if tokens and tokens[-1] == "":
            tokens.pop()
    else:
        tokens = row.split()
    values = []
    for t in tokens:
        try:
            values.append(float(t))
        except ValueError:
            raise ValueError(f"{source}: entry {t!r} in row {number} is not a number; "
                             "write rows as '0,1,0;1,-4,1;0,1,0'") from None
    return values


def parse_matrix(text: str, source: str = "inline kernel") -> np.ndarray:
    """Parse rows separated by ';' or newlines, entries by ',' or whitespace."""
    rows = [r.strip() for r in re.split(r"[;\n]", text)]
    matrix = [_parse_row(r, i + 1, source) for i, r in enumerate(rows) if r]
    lengths = [len(r) for r in matrix]
    if not matrix or max(lengths) == 0:
        raise ValueError(f"{source} is empty; write rows as '0,1,0;1,-4,1;0,1,0'")
    if len(set(lengths)) > 1:
        raise ValueError(f"{source} is ragged: rows have {lengths} entries; every row needs "
                         "the same number")
    return as_kernel_array(matrix, source)


def _read_file(path: Path) -> np.ndarray:
    """Load a .csv/.txt (text matrix, '#' comments) or .npy (2-D real array) kernel file."""
    if path.suffix.lower() not in KERNEL_FILE_SUFFIXES:
        raise ValueError(f"kernel file {str(path)!r} must end in {', '.join(KERNEL_FILE_SUFFIXES)}")
    regular_input(path, "kernel file", f"a kernel file ({', '.join(KERNEL_FILE_SUFFIXES)})")
    source = f"kernel file {str(path)!r}"
    if path.suffix.lower() == ".npy":
        try:
            a = np.load(path, allow_pickle=False, mmap_mode="r")
        except (ValueError, OSError, EOFError) as exc:
            raise ValueError(f"cannot read {source} as a .npy array: {exc}") from None
        return as_kernel_array(a, source)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{source} is not a UTF-8 text matrix") from None
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    return parse_matrix("\n".join(lines), source)


def read_kernel_spec(spec: Any) -> tuple[Literal["array", "name"], Any]:
    """Classify `spec`: ("array", float64 matrix) or ("name", (name, parameter text or None))."""
    if isinstance(spec, os.PathLike):
        return "array", _read_file(Path(spec))
    if isinstance(spec, str):
        text = spec.strip()
        if not text:
            raise ValueError("kernel spec is empty; give a name (see `convkit kernels`), "
                             f"an inline matrix or a {'/'.join(KERNEL_FILE_SUFFIXES)} file")
        if text.lower().endswith(KERNEL_FILE_SUFFIXES):
            return "array", _read_file(Path(text))
        m = _NAME.fullmatch(text)
        if m and not re.fullmatch(r"(?i)nan|inf(inity)?", m.group(1)):
            return "name", (m.group(1), m.group(2))
        return "array", parse_matrix(text)
    if isinstance(spec, (np.ndarray, list, tuple)):
        return "array", as_kernel_array(spec)
    raise TypeError(f"kernel spec must be a name, an inline matrix, a file path or a 2-D "
                    f"array, got {type(spec).__name__}")


def parse_params(name: str, text: str | None,
                 params: tuple[tuple[str, type, object], ...]) -> dict[str, Any]:
    """Turn 'a,b' / 'k=v,k=v' into keyword arguments for the kernel builder, with defaults."""
    values = {p: default for p, _, default in params}
    if text is None or not text.strip():
        return values
    if not params:
        raise ValueError(f"kernel {name!r} takes no parameters, got {text!r}")
    types = {p: t for p, t, _ in params}
    accepted = ", ".join(types)
    seen: set[str] = set()
    keyword_seen = False
    for position, item in enumerate(text.split(",")):
        key, sep, raw = item.partition("=")
        key, raw = key.strip(), raw.strip()
        keyword_seen = keyword_seen or bool(sep)
        if not sep:                       # bare value: the next parameter in order
            if keyword_seen:
                raise ValueError(f"kernel {name!r}: a bare value cannot follow key=value; "
                                 f"write {name}:{params[0][0]}=...")
            if position >= len(params):
                raise ValueError(f"kernel {name!r} takes at most {len(params)} values ({accepted}), "
                                 f"got {text!r}")
            key, raw = params[position][0], item.strip()
        if key not in types:
            raise ValueError(f"kernel {name!r} has no parameter {key!r}; it takes: {accepted}")
        if key in seen:
            raise ValueError(f"kernel {name!r}: parameter {key!r} given twice")
        seen.add(key)
        try:
            values[key] = types[key](raw)
        except ValueError:
            kind = "an integer" if types[key] is int else "a number"
            raise ValueError(f"kernel {name!r}: {key} must be {kind}, got {raw!r}") from None
    return values
