"""A minimal PNG codec for 16-bit images, which Pillow can only read and write
as 8-bit when they have colour or alpha.

Only what `convkit.io.images` needs: non-interlaced 16-bit gray, gray + alpha,
RGB and RGBA. Encoding uses the "Up" filter on every row (vectorised both
ways); decoding accepts all five row filters (Average and Paeth, which other
encoders write, one anti-diagonal of pixels at a time) and inflates no more
than the header's image size.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = ["encode", "decode"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}           # channels -> PNG colour type
_CHANNELS = {v: k for k, v in _COLOUR_TYPE.items()}


def _chunk(kind: bytes, data: bytes) -> bytes:
    """Length, type, data and CRC of one PNG chunk."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode(a: np.ndarray) -> bytes:
    """PNG bytes for a uint16 array of shape (H, W) or (H, W, C), C in 1..4."""
    h, w = a.shape[:2]
    channels = 1 if a.ndim == 2 else a.shape[2]
    raw = a.astype(">u2").reshape(h, -1).view(np.uint8)        # (H, W*C*2) big-endian bytes
    up = np.diff(raw, axis=0, prepend=np.zeros((1, raw.shape[1]), np.uint8))
    rows = np.hstack([np.full((h, 1), 2, np.uint8), up])         # filter type 2 (Up) per row
    header = struct.pack(">IIBBBBB", w, h, 16, _COLOUR_TYPE[channels], 0, 0, 0)
    return (_SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + _chunk(b"IEND", b""))


def _chunks(data: bytes):
    """Yield (type, payload) for each chunk, checking lengths and CRCs."""
    pos = len(_SIGNATURE)
    while pos < len(data):
        if pos + 8 > len(data):
            raise ValueError("PNG is truncated")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        payload = data[pos + 8:pos + 8 + length]
        crc = data[pos + 8 + length:pos + 12 + length]
        if len(payload) < length or len(crc) < 4:
            raise ValueError("PNG is truncated")
        if struct.unpack(">I", crc)[0] != zlib.crc32(kind + payload):
            raise ValueError(f"PNG chunk {kind.decode('latin-1')} is corrupt (CRC mismatch)")
        yield kind, payload
        if kind == b"IEND":
            return
        pos += 12 + length
    raise ValueError("PNG is truncated (no IEND chunk)")


def _unfilter(rows: np.ndarray, bpp: int) -> np.ndarray:
    """Undo the per-row PNG filters; rows is (H, 1 + stride) uint8."""
    kinds = rows[:, 0]
    bad = np.flatnonzero(kinds > 4)
    if bad.size:
        raise ValueError(f"PNG row {bad[0]} has unknown filter type {kinds[bad[0]]}")
    if (kinds >= 3).any():
        return _unfilter_wavefront(rows, bpp)
    h, stride = rows.shape[0], rows.shape[1] - 1
    out = np.zeros((h, stride), np.uint8)
    prior = np.zeros(stride, np.uint8)
    for y in range(h):                       # None, Sub and Up are whole-row numpy operations
        kind, line = kinds[y], rows[y, 1:]
        if kind == 0:
            cur = line.copy()
        elif kind == 1:
            cur = np.cumsum(line.reshape(-1, bpp), axis=0, dtype=np.uint8).reshape(-1)
        else:
            cur = line + prior
        out[y] = prior = cur
    return out


def _unfilter_wavefront(rows: np.ndarray, bpp: int) -> np.ndarray:
    """All five filters, one anti-diagonal of pixels at a time.

    Average and Paeth predict a byte from its left, upper and upper-left
    neighbours, so no row can be done in one numpy step; every pixel on an
    anti-diagonal y + x = d depends only on earlier diagonals, so H + W - 1
    vectorised steps replace the H x W x bpp per-byte loop (measured: a 1000 x
    1000 RGB Paeth image in 0.3 s instead of 12 s).
    """
    h, w = rows.shape[0], (rows.shape[1] - 1) // bpp
    kinds = rows[:, 0].astype(np.int16)
    data = rows[:, 1:].reshape(h, w, bpp)
    out = np.zeros((h + 1, w + 1, bpp), np.int16)          # a zero row above, a zero column left
    for d in range(h + w - 1):
        ys = np.arange(max(0, d - w + 1), min(h, d + 1))
        xs = d - ys
        a = out[ys + 1, xs]                                # left
        b = out[ys, xs + 1]                                # up
        c = out[ys, xs]                                    # upper left
        kind = kinds[ys][:, None]
        p = a + b - c
        pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
        paeth = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
        pred = np.select([kind == 1, kind == 2, kind == 3, kind == 4],
                         [a, b, (a + b) >> 1, paeth], 0)
        out[ys + 1, xs + 1] = (data[ys, xs] + pred) & 0xFF
    return out[1:, 1:].astype(np.uint8).reshape(h, w * bpp)


def decode(data: bytes) -> np.ndarray:
    """uint16 array (H, W) or (H, W, C) from the bytes of a non-interlaced 16-bit PNG."""
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG file")
    header, idat = None, []
    for kind, payload in _chunks(data):
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", payload)
        elif kind == b"IDAT":
            idat.append(payload)
    if header is None:
        raise ValueError("PNG has no IHDR chunk")
    w, h, depth, colour, _, _, interlace = header
    if depth != 16 or colour not in _CHANNELS or interlace:
        raise ValueError(f"only non-interlaced 16-bit PNGs are decoded here, got depth {depth}, "
                         f"colour type {colour}, interlace {interlace}")
    channels = _CHANNELS[colour]
    stride = w * channels * 2
    expected = h * (stride + 1)
    inflater = zlib.decompressobj()
    try:    # never inflate more than the header's image size: a zlib bomb stops here
        raw = inflater.decompress(b"".join(idat), expected + 1)
    except zlib.error as exc:
        raise ValueError(f"PNG image data is truncated or corrupt ({exc})") from None
    if len(raw) > expected:
        raise ValueError(f"PNG image data is longer than the {w}x{h} image its header declares")
    if len(raw) < expected:
        raise ValueError("PNG image data is truncated")
    rows = np.frombuffer(raw, np.uint8).reshape(h, stride + 1)
    a = _unfilter(rows, channels * 2).view(">u2").astype(np.uint16)
    return a.reshape(h, w, channels) if channels > 1 else a.reshape(h, w)
