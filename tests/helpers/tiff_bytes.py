"""A minimal little-endian TIFF writer for hostile test files: any tag values, even ones
no real writer would produce (a tile width of 0, 12-bit samples, a 100000^2 image whose
tiles are all missing). Test-only; it shares no code with the readers under test."""

from __future__ import annotations

import struct
from pathlib import Path

SHORT, LONG = 3, 4
WIDTH, LENGTH, BITS, COMPRESSION, PHOTOMETRIC = 256, 257, 258, 259, 262
STRIP_OFFSETS, SAMPLES, ROWS_PER_STRIP, STRIP_BYTES = 273, 277, 278, 279
PLANAR, TILE_WIDTH, TILE_LENGTH, TILE_OFFSETS, TILE_BYTES = 284, 322, 323, 324, 325


def write_tiff(path: Path, tags: dict[int, list[int]], data: bytes = b"",
               offsets_tag: int | None = None) -> None:
    """Write an IFD with `tags` (tag -> LONG values); `data` follows the IFD, and the tag
    `offsets_tag` (strip or tile offsets) is made to point into it: each value given for it
    is an offset relative to the start of `data`."""
    entries = sorted(tags.items())
    ifd_size = 2 + 12 * len(entries) + 4
    extra = bytearray()
    heap = 8 + ifd_size                          # where out-of-line values start
    counts = {t: len(v) for t, v in entries}
    heap_size = sum(4 * n for n in counts.values() if n > 1)
    data_start = heap + heap_size
    body = bytearray()
    for tag, values in entries:
        if tag == offsets_tag:
            values = [data_start + v for v in values]
        if len(values) == 1:
            body += struct.pack("<HHII", tag, LONG, 1, values[0])
        else:
            body += struct.pack("<HHII", tag, LONG, len(values), heap + len(extra))
            extra += struct.pack(f"<{len(values)}I", *values)
    path.write_bytes(b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries))
                     + bytes(body) + b"\x00\x00\x00\x00" + bytes(extra) + data)


def tiled(path: Path, width: int, height: int, tile: tuple[int, int], *, bits: int = 8,
          samples: int = 1, compression: int = 1, tiles: list[bytes] | None = None) -> None:
    """A tiled image; `tiles` (default: none written, all byte counts 0) in row-major order."""
    across = -(-width // tile[1]) if tile[1] else 1
    down = -(-height // tile[0]) if tile[0] else 1
    n = across * down
    tiles = tiles if tiles is not None else [b""] * n
    offsets, start = [], 0
    for t in tiles:
        offsets.append(start)
        start += len(t)
    write_tiff(path, {WIDTH: [width], LENGTH: [height], BITS: [bits] * samples,
                      COMPRESSION: [compression], PHOTOMETRIC: [1 if samples == 1 else 2],
                      SAMPLES: [samples], TILE_WIDTH: [tile[1]], TILE_LENGTH: [tile[0]],
                      TILE_OFFSETS: offsets + [0] * (n - len(tiles)),
                      TILE_BYTES: [len(t) for t in tiles] + [0] * (n - len(tiles))},
               b"".join(tiles), offsets_tag=TILE_OFFSETS)


def striped(path: Path, width: int, height: int, rows_per_strip: int, *, bits: int = 8,
            compression: int = 1, strips: list[bytes]) -> None:
    """A striped gray image with the given strips."""
    offsets, start = [], 0
    for s in strips:
        offsets.append(start)
        start += len(s)
    write_tiff(path, {WIDTH: [width], LENGTH: [height], BITS: [bits], COMPRESSION: [compression],
                      PHOTOMETRIC: [1], SAMPLES: [1], ROWS_PER_STRIP: [rows_per_strip],
                      STRIP_OFFSETS: offsets, STRIP_BYTES: [len(s) for s in strips]},
               b"".join(strips), offsets_tag=STRIP_OFFSETS)
