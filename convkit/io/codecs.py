"""Decoders and encoders behind `convkit.io.images`: which library reads or writes
which file, EXIF orientation, palette expansion. No validation of user input
and no scaling of samples here; `convkit.io.images` does both.

Pillow handles everything it can hold losslessly; 16-bit colour TIFF goes
through tifffile and 16-bit colour PNG through `png16`, because Pillow keeps
only 8 bits of those.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
import warnings
import zlib
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Sequence

import numpy as np

from .. import _names
from . import png16
from .errors import CorruptImageError, CorruptImageWarning, FileFormatError
from .memory import format_bytes

__all__ = ["ACCEPTED", "CORRUPT", "WORK_COPIES", "decode", "encode",
           "needed_bytes", "orient", "tiff_messages", "upright_size"]


# "PNG, JPEG, TIFF or BMP (.png .jpg ...)", from the one suffix table
_FORMATS = list(dict.fromkeys(fmt for fmt, _ in _names.IMAGE_FORMATS.values()))
ACCEPTED = f"{', '.join(_FORMATS[:-1])} or {_FORMATS[-1]} ({' '.join(_names.IMAGE_SUFFIXES)})"

# what decoders raise on damaged data
CORRUPT = (OSError, SyntaxError, EOFError, IndexError, KeyError, struct.error, zlib.error,
           RuntimeError)


# float64 copies an operation on a decoded image holds at once (the float image, the result and
# two temporaries of the filters): the memory that the pixel limit is measured against
WORK_COPIES = 4


def needed_bytes(samples: int, itemsize: int) -> int:
    """Memory to decode `samples` values of `itemsize` bytes and work on them in float64."""
    return samples * (itemsize + 8 * WORK_COPIES)


def _too_large(p: Path, shape: Sequence[int], max_pixels: int, channels: int = 1,
               itemsize: int = 1, *, reduced: bool = False) -> None:
    """Refuse, before decoding, an image whose decoding and processing would need more memory
    than `max_pixels` 8-bit gray pixels do (`reduced`: only the decoded samples are held at
    full size, no float copies)."""
    h, w = int(shape[0]), int(shape[1])
    need = h * w * channels * itemsize if reduced else needed_bytes(h * w * channels, itemsize)
    budget = needed_bytes(max_pixels, 1)
    if need > budget:
        raise FileFormatError(
            f"{str(p)!r} is {w}x{h} pixels x {channels} channel(s) of {8 * itemsize} bits; reading "
            f"and filtering it needs about {format_bytes(need)}, above the limit of "
            f"{format_bytes(budget)} ({max_pixels} gray 8-bit pixels); raise the limit with "
            f"--max-pixels or the environment variable {_names.MAX_PIXELS_ENV}", p)


def _pil_layout(im) -> tuple[int, int]:
    """(channels, bytes per sample) of the array a Pillow image will decode to."""
    mode = im.mode
    channels = 4 if mode in ("P", "PA") else len(im.getbands())
    if mode in ("I", "F") or mode.startswith("I;32"):
        return channels, 4
    wide = "16" in mode or "16" in _rawmode(im)
    return channels, 2 if wide else 1


def orient(a: Any, orientation: int) -> Any:
    """Apply an EXIF/TIFF orientation tag (1-8) to an H x W [x C] array: a view of a numpy
    array, a lazy dask array for a dask one (the streamed reads of `convkit.io.lazy`)."""
    ops = {2: lambda x: x[:, ::-1], 3: lambda x: x[::-1, ::-1], 4: lambda x: x[::-1],
           5: lambda x: x.swapaxes(0, 1), 6: lambda x: np.rot90(x, -1),
           7: lambda x: x[::-1, ::-1].swapaxes(0, 1), 8: lambda x: np.rot90(x, 1)}
    return ops[orientation](a) if orientation in ops else a


def _read_tifffile(p: Path, max_pixels: int) -> np.ndarray:
    """16-bit colour TIFF via tifffile (Pillow would reduce it to 8 bits)."""
    import tifffile

    with tifffile.TiffFile(p) as tif:
        page = tif.pages.first             # a TiffPage: the first page carries the tags
        shape = page.shape
        channels = int(np.prod(shape[2:])) if len(shape) > 2 else 1
        _too_large(p, shape, max_pixels, channels, page.dtype.itemsize if page.dtype else 8)
        a = page.asarray()
        tag = page.tags.get("Orientation")
        orientation = int(tag.value) if tag is not None else 1
    return np.ascontiguousarray(orient(a, orientation))


def _int_kind(im) -> str:
    """How a mode-"I" image stores its samples, for messages: 'signed 16-bit', '32-bit', ..."""
    raw = _rawmode(im)
    bits = "16-bit" if "16" in raw else "8-bit" if raw.startswith("I;8") else "32-bit"
    return f"signed {bits}" if raw.endswith("S") or ";16S" in raw or ";32S" in raw else bits


def _pil_to_array(im, int_kind: str = "32-bit") -> np.ndarray:
    """Pillow image (already oriented) -> array of its stored samples; `int_kind` names a
    mode-"I" file's sample type (the oriented copy no longer knows it)."""
    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa"):
        im = im.convert("RGB")
    elif mode == "La":
        im = im.convert("LA")
    a = np.asarray(im)
    if mode.startswith("I;16"):
        return a.astype(np.uint16)
    if mode == "I":
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise ValueError(f"{int_kind} integer samples outside 0..65535 (here {a.min()}..{a.max()}) "
                             "are not supported")
        return a.astype(np.uint16)
    return a


def _rawmode(im) -> str:
    """The raw sample layout Pillow will decode from (e.g. 'RGB;16B'), or ''."""
    if not im.tile:
        return ""
    args = im.tile[0][3]
    return args[0] if isinstance(args, tuple) else str(args or "")


def _exif_orientation(im) -> int:
    """Orientation tag (274) of a Pillow image, 1 when absent."""
    try:
        return int(im.getexif().get(274, 1))
    except (ValueError, TypeError):
        return 1


def _is_tiff(p: Path) -> bool:
    """True when the file starts with a TIFF byte-order mark."""
    with open(p, "rb") as f:
        return f.read(4) in (b"II*\x00", b"MM\x00*")


# A run of this many zero bytes inside baseline JPEG entropy-coded data is damage (zeroed
# sectors, a patched file) that libjpeg decodes with only a warning, which Pillow drops. All-zero
# bits decode to the symbols whose Huffman code is all zeros (the first symbol of each table); only
# when those are "DC difference 0" and "end of block" can a real image (flat blocks, optimised
# tables) be made of zero bytes, and then a zero run is not taken as damage.
_ZERO_RUN = 64
_BASELINE_SOF = (0xC0, 0xC1)


def _first_symbols(payload: bytes, tables: dict[tuple[int, int], int]) -> None:
    """Record, per (class, id) of the DHT segment `payload`, the symbol of the all-zero code."""
    pos = 0
    while pos + 17 <= len(payload):
        kind, counts = payload[pos], payload[pos + 1:pos + 17]
        n = sum(counts)
        if n:
            tables[(kind >> 4, kind & 15)] = payload[pos + 17]
        pos += 17 + n


def _zeros_can_be_flat(scan_header: bytes, tables: dict[tuple[int, int], int]) -> bool:
    """Whether all-zero data is a valid run of flat blocks for every component of the scan."""
    if not scan_header:
        return False
    components = scan_header[1:1 + 2 * scan_header[0]]
    return all(tables.get((0, sel >> 4)) == 0 and tables.get((1, sel & 15)) == 0
               for sel in components[1::2])


def _jpeg_damage(data: bytes) -> str | None:
    """Why the baseline JPEG `data` is damaged, or None when nothing was found."""
    pos, baseline = 2, False
    tables: dict[tuple[int, int], int] = {}
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return f"no JPEG marker at byte {pos}"
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker == 0xD9:
            return None
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        payload = data[pos + 4:pos + 2 + length]
        if marker in range(0xC0, 0xD0) and marker not in (0xC4, 0xC8, 0xCC):
            baseline = marker in _BASELINE_SOF
        elif marker == 0xC4:
            _first_symbols(payload, tables)
        pos += 2 + length
        if marker == 0xDA:                                  # the scan: entropy-coded data
            end = pos
            while True:
                end = data.find(b"\xff", end)
                if end < 0 or end + 1 >= len(data):
                    end = len(data)
                    break
                if data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
                    end += 2
                    continue
                break
            zeros = data.find(bytes(_ZERO_RUN), pos, end)
            if baseline and zeros >= 0 and not _zeros_can_be_flat(payload, tables):
                return f"{_ZERO_RUN} or more zero bytes at byte {zeros} of the compressed image"
            pos = end
    return None


def _check_jpeg(p: Path, allow_corrupt: bool) -> None:
    """CorruptImageError (or, when allowed, a CorruptImageWarning) for damaged JPEG data."""
    damage = _jpeg_damage(p.read_bytes())
    if damage is None:
        return
    message = f"{str(p)!r} is a corrupt JPEG file ({damage})"
    if not allow_corrupt:
        raise CorruptImageError(message + "; pass allow_corrupt=True to read it anyway", p)
    warnings.warn(message + "; read anyway, the picture may be damaged", CorruptImageWarning,
                  stacklevel=4)


def _factor(size: tuple[int, int], at_least: tuple[int, int] | None, orientation: int | None) -> int:
    """The largest whole factor that keeps an image of (width, height) `size` at least
    `at_least` (upright height, width) on both sides; with the EXIF `orientation` unknown (None),
    whether stored upright or sideways. 1 without `at_least`."""
    if at_least is None:
        return 1
    h, w = (max(int(v), 1) for v in at_least)
    upright, sideways = min(size[0] // w, size[1] // h), min(size[0] // h, size[1] // w)
    turned = orientation in (5, 6, 7, 8)
    factor = min(upright, sideways) if orientation is None else sideways if turned else upright
    return max(1, factor)


def _orientation_if_cheap(im) -> int | None:
    """The EXIF orientation when reading it decodes nothing (not PNG, whose EXIF chunk may follow
    the pixels, so Pillow decodes them to find it), else None."""
    return None if im.format == "PNG" else _exif_orientation(im)


_MAX_STEP = 64


def _reduced(im, factor: int):
    """The Pillow image shrunk by `factor` with box averaging (palette and 1-bit images are
    expanded first, since their values cannot be averaged)."""
    if im.mode in ("P", "PA"):
        im = im.convert("RGBA" if im.mode == "PA" or "transparency" in im.info else "RGB")
    elif im.mode == "1":
        im = im.convert("L")
    elif im.mode.startswith("I;16"):
        im = im.convert("I")
    while factor > 1:
        # Pillow's box sums lose precision beyond ~128 pixels a side (measured: a 750-pixel box of
        # 200 gives 194): shrink in steps of at most _MAX_STEP, dividing `factor` where possible
        step = next((d for d in range(min(factor, _MAX_STEP), 1, -1) if factor % d == 0), _MAX_STEP)
        step = min(step, factor)
        box = (0, 0, im.width // step * step, im.height // step * step)   # whole blocks only
        if im.mode in ("RGBA", "LA"):   # Pillow would weight colour by alpha; average each band
            from PIL import Image

            im = Image.merge(im.mode, [band.reduce(step, box=box) for band in im.split()])
        else:
            im = im.reduce(step, box=box)
        factor //= step
    return im


def _block_mean(a: np.ndarray, factor: int) -> np.ndarray:
    """An H x W [x C] array shrunk by `factor` (mean of each factor x factor block, rest dropped)."""
    if factor == 1:
        return a
    h, w = a.shape[0] // factor, a.shape[1] // factor
    blocks = a[:h * factor, :w * factor].reshape(h, factor, w, factor, *a.shape[2:])
    return blocks.mean(axis=(1, 3)).astype(a.dtype)


def upright_size(p: Path) -> tuple[int, int]:
    """(height, width) of the image in `p` as `decode` returns it, from the header only."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(p) as im:
            w, h = im.size
            turned = _exif_orientation(im) in (5, 6, 7, 8)
    except UnidentifiedImageError:
        if not _is_tiff(p):
            raise FileFormatError(f"{str(p)!r} is not a readable image; accepted: {ACCEPTED}",
                                  p) from None
        import tifffile

        with tifffile.TiffFile(p) as tif:
            page = tif.pages.first
            h, w = page.shape[:2]
            tag = page.tags.get("Orientation")
            turned = tag is not None and int(tag.value) in (5, 6, 7, 8)
    return (int(w), int(h)) if turned else (int(h), int(w))


@contextlib.contextmanager
def tiff_messages(said: list[str]) -> Iterator[None]:
    """Collect in `said`, instead of letting them reach stderr, what TIFF readers print: tifffile's
    log records and libtiff's C-level messages (written to file descriptor 2 by Pillow's decoder)."""
    import logging
    import tempfile

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            said.append(record.getMessage().splitlines()[0])

    log = logging.getLogger("tifffile")
    handler, propagate = _Keep(), log.propagate
    log.addHandler(handler)
    log.propagate = False
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            log.removeHandler(handler)
            log.propagate = propagate
            sink.seek(0)
            said += [line.strip() for line in sink.read().decode("utf-8", "replace").splitlines()
                     if line.strip()]


def decode(p: Path, max_pixels: int, *, allow_corrupt: bool = False,
           at_least: tuple[int, int] | None = None) -> np.ndarray:
    """Pick the decoder for `p` (Pillow, tifffile or png16) and return upright samples;
    `at_least` (height, width): shrink by the largest whole factor that keeps that size,
    while decoding (JPEG) or right after, before any float copy exists. A TIFF reader's own
    messages are kept off stderr; the first one names a damaged file's problem."""
    if not _is_tiff(p):
        return _decode(p, max_pixels, allow_corrupt=allow_corrupt, at_least=at_least)
    said: list[str] = []
    with tiff_messages(said):
        try:
            return _decode(p, max_pixels, allow_corrupt=allow_corrupt, at_least=at_least)
        except CORRUPT as exc:
            if isinstance(exc, PermissionError):
                raise
            error: BaseException = exc
    if not said:
        raise error
    raise FileFormatError(f"cannot read {str(p)!r}: truncated or corrupt image file ({said[0]})",
                          p) from None


def _decode(p: Path, max_pixels: int, *, allow_corrupt: bool,
            at_least: tuple[int, int] | None) -> np.ndarray:
    """`decode` without the TIFF readers' messages handled."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(p)
        except UnidentifiedImageError:
            if _is_tiff(p):          # TIFF layouts Pillow does not know, e.g. 16-bit gray + alpha
                return _read_tifffile(p, max_pixels)
            raise FileFormatError(f"{str(p)!r} is not a readable image; accepted: {ACCEPTED}",
                                  p) from None
        with im:
            factor = _factor(im.size, at_least, _orientation_if_cheap(im))
            _too_large(p, (im.height, im.width), max_pixels, *_pil_layout(im), reduced=factor > 1)
            if im.format == "JPEG":
                _check_jpeg(p, allow_corrupt)
            wide_colour = im.mode in ("RGB", "RGBA", "LA") and "16" in _rawmode(im)
            if wide_colour and im.format == "TIFF":
                return _block_mean(_read_tifffile(p, max_pixels), factor)
            # interlaced ones are left to Pillow, at 8 bits
            if wide_colour and im.format == "PNG" and not im.info.get("interlace"):
                return _block_mean(np.ascontiguousarray(orient(png16.decode(p.read_bytes()),
                                                               _exif_orientation(im))), factor)
            im.seek(0)
            kind = _int_kind(im) if im.mode == "I" else ""
            if factor == 1:
                return _pil_to_array(ImageOps.exif_transpose(im), kind)
            if im.format == "JPEG":          # libjpeg decodes at 1/2, 1/4 or 1/8 scale directly
                im.draft(im.mode, (im.width // factor, im.height // factor))
                factor = _factor(im.size, at_least, _exif_orientation(im))
            small = _reduced(im, factor) if factor > 1 else im
            return orient(_pil_to_array(small, kind), _exif_orientation(im))


def encode(fh: BinaryIO, a: np.ndarray, fmt: str) -> None:
    """Write the prepared samples `a` to the binary file object `fh` in `fmt`."""
    if fmt == "TIFF":
        import tifffile

        colour = a.ndim == 3 and a.shape[2] >= 3
        alpha = a.ndim == 3 and a.shape[2] in (2, 4)
        tifffile.imwrite(fh, a, photometric="rgb" if colour else "minisblack",
                         planarconfig="contig" if a.ndim == 3 else None,
                         extrasamples=("unassalpha",) if alpha else None,
                         compression="zlib")
        return
    if fmt == "PNG" and a.dtype == np.uint16 and a.ndim == 3:
        fh.write(png16.encode(a))
        return
    from PIL import Image

    options = {"quality": 95, "subsampling": 0} if fmt == "JPEG" else {}
    Image.fromarray(a).save(fh, format=fmt, **options)
