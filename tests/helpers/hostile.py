"""Helpers for the hostile-input tests (issue 16): files forged byte by byte, peak memory while
a reader refuses them, a model to forge, and signals sent to ourselves.

Memory bounds are measured with tracemalloc (numpy reports its allocations to it), so
"refused before allocating" is checked, not assumed.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import struct
import threading
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np

# the smallest network `convkit train` accepts quickly
TINY_TRAIN = ["--arch", "conv4-relu-pool2-dense", "--batch-size", "16", "--augment", "0"]


def peak_mib(func, *args, **kwargs) -> tuple[object, float]:
    """(what func raised or returned, peak traced MiB while it ran)."""
    tracemalloc.start()
    try:
        try:
            result: object = func(*args, **kwargs)
        except Exception as exc:            # the caller checks which
            result = exc
        return result, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(w: int, h: int, depth: int, colour: int, idat: bytes) -> bytes:
    """A PNG file whose header says `w` x `h` at `depth` bits and whose IDAT is `idat`."""
    header = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))


def finishes(func, seconds: float = 10.0) -> object:
    """Run func in a thread; fail (instead of hanging) if it has not returned in time."""
    box: list[object] = []

    def target() -> None:
        try:
            box.append(func())
        except Exception as exc:
            box.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert box, f"still running after {seconds} s (blocked)"
    return box[0]


def hidden_files(folder: Path) -> list[str]:
    """Names of the dot-files left anywhere under `folder` (temporary files)."""
    return sorted(p.name for p in folder.rglob(".*"))


def small_model():
    """A tiny 1x8x8 -> 3 class model to save, forge and load."""
    from convkit.cnn import Sequential
    from convkit.cnn.layers import Conv2D, Dense, Flatten, ReLU
    return Sequential([Conv2D(1, 2, 3), ReLU(), Flatten(), Dense(2 * 6 * 6, 3)], input_shape=(1, 8, 8),
                      class_names=["a", "b", "c"])


def rewrite_npz(src: Path, dst: Path, replace: dict[str, bytes | None], *, header: dict | None = None,
                big: tuple[str, int] | None = None) -> None:
    """Copy a model file, replacing members (None: drop) / the header / one member by `big` MiB of zeros."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if header is not None and name == "__header__.npy":
                buf = io.BytesIO()
                np.save(buf, np.frombuffer(json.dumps(header).encode(), np.uint8))
                data = buf.getvalue()
            if big is not None and name == big[0]:
                with zout.open(name, "w", force_zip64=True) as fh:
                    for _ in range(big[1]):
                        fh.write(bytes(2**20))
                continue
            if name in replace:
                if replace[name] is None:
                    continue
                data = replace[name]
            zout.writestr(name, data)


def npz_header(path: Path) -> dict:
    """The JSON header of a convkit .npz model or checkpoint."""
    with zipfile.ZipFile(path) as zf:
        return json.loads(np.load(io.BytesIO(zf.read("__header__.npy"))).tobytes())


def forged_npy(claimed_shape: int = 10_000_000_000, payload: int = 80) -> bytes:
    """A .npy file whose header announces `claimed_shape` float64 values over `payload` bytes."""
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': ({claimed_shape},), }}"
    header += " " * (118 - len(header)) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + bytes(payload)


def sigterm() -> None:
    """SIGTERM to this process; the handler runs before this returns."""
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(1)


def jpeg_file(path: Path, **options) -> np.ndarray:
    """A 200x200 RGB JPEG of 10x10 blocks at quality 95; returns the array written."""
    from PIL import Image
    rng = np.random.default_rng(0)
    a = np.kron(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8), np.ones((10, 10, 1), np.uint8))
    Image.fromarray(a).save(path, quality=95, **options)
    return a


def wav_bytes(channels: int = 1, data: bytes | None = b"\x00\x00" * 4, fmt_size: int = 16) -> bytes:
    """A 16-bit PCM WAV file, damaged as asked (channels, no data chunk, fmt chunk size)."""
    fmt = struct.pack("<HHIIHH", 1, channels, 8000, 16000 * max(channels, 1), 2 * max(channels, 1), 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", fmt_size) + fmt
    if data is not None:
        body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def number_ends(line: str) -> list[int]:
    """Column where each number (or a lone '.') of a printed grid row ends."""
    return [m.end() for m in re.finditer(r"-?\d+(\.\d+)?|(?<![\w.])\.(?![\w.])", line)]
