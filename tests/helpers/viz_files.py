"""Readers the viz tests use to check written files without the code that wrote them.

GIFs are walked block by block by a small parser written from the GIF89a
specification (header, screen descriptor, colour tables, extensions, image
descriptors, trailer), which counts the frames and fails on a malformed file;
their pixels are decoded by scikit-image (`skimage.io.imread`, all frames).
PNGs are read with `convkit.io.images.read_image_raw`.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    """Position after a chain of data sub-blocks (length byte, bytes; 0 ends it)."""
    while True:
        size = data[pos]
        pos += 1
        if size == 0:
            return pos
        pos += size


def gif_info(path: str | Path) -> dict:
    """Canvas size, number of image frames and whether it loops; AssertionError if malformed."""
    data = Path(path).read_bytes()
    assert data[:6] in (b"GIF87a", b"GIF89a"), f"not a GIF header: {data[:6]!r}"
    width, height, flags = struct.unpack("<HHB", data[6:11])
    pos = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    frames, loops = 0, False
    while True:
        block = data[pos]
        if block == 0x3B:                                   # trailer
            assert pos == len(data) - 1, "bytes after the GIF trailer"
            break
        if block == 0x21:                                   # extension: label, sub-blocks
            loops |= data[pos + 2:pos + 14] == b"\x0bNETSCAPE2.0"
            pos = _skip_sub_blocks(data, pos + 2)
        elif block == 0x2C:                                 # image descriptor
            x, y, w, h, f = struct.unpack("<HHHHB", data[pos + 1:pos + 10])
            assert x + w <= width and y + h <= height, "frame outside the canvas"
            pos += 10 + (3 * 2 ** ((f & 7) + 1) if f & 0x80 else 0)
            assert 2 <= data[pos] <= 8, "bad LZW minimum code size"
            pos = _skip_sub_blocks(data, pos + 1)
            frames += 1
        else:
            raise AssertionError(f"unknown GIF block 0x{block:02x} at byte {pos}")
    return {"size": (width, height), "frames": frames, "loops": loops}


def gif_pixels(path: str | Path) -> np.ndarray:
    """All frames as (n, H, W, 3) uint8, decoded by scikit-image."""
    from skimage.io import imread

    a = np.asarray(imread(path))
    if a.ndim == 3:                                         # a single frame
        a = a[None]
    return a[..., :3]


def png_pixels(path: str | Path) -> np.ndarray:
    """A PNG's stored samples, read by convkit's own image reader (PNG signature checked)."""
    from convkit.io.images import read_image_raw

    assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    return read_image_raw(path)
