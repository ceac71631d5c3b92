"""convkit.io.images: round trips checked against the array written and against
independent decoders (Pillow, tifffile), EXIF orientation, palettes, bad files
and atomic, non-clobbering writes."""

from __future__ import annotations

import os
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from skimage.color import rgb2gray

from convkit.io import codecs as _image_codecs, images
from convkit.io.atomic import OutputExistsError
from convkit.io.errors import FileFormatError
from convkit.io.images import image_size, read_image, read_image_raw, to_float_image, write_image
from helpers.full_disk import WAYS, full_disk


from convkit.io.images import read_image, read_image_raw, to_float_image, write_image
from helpers.hostile import finishes, jpeg_file, peak_mib, png_bytes

RNG = np.random.default_rng(7)


def random_image(shape, dtype):
    """Random samples over the dtype's whole range (floats in [0, 1])."""
    if dtype == bool:
        return RNG.random(shape) > 0.5
    if dtype == np.float64:
        return RNG.random(shape)
    return RNG.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True).astype(dtype)


def stored(a, bits):
    """The samples a file of `bits` bits per sample must hold for input `a` (the documented rule)."""
    if bits == 1:
        return a
    top = 2 ** bits - 1
    if a.dtype == bool:
        return a.astype(np.uint16 if bits == 16 else np.uint8) * top
    f = a / np.iinfo(a.dtype).max if a.dtype.kind == "u" else np.clip(a, 0, 1)
    return np.round(f * top).astype(np.uint16 if bits == 16 else np.uint8)


def independent_read(path):
    """Decode with tifffile (TIFF) or Pillow (others), not with convkit."""
    if str(path).endswith(".tif"):
        return tifffile.imread(path)
    return np.asarray(Image.open(path))


CASES = [  # (suffix, channels, dtype, bits expected in the file)
    *[(s, c, np.uint8, 8) for s in (".png", ".tif") for c in (1, 2, 3, 4)],
    *[(".bmp", c, np.uint8, 8) for c in (1, 3)],
    *[(s, c, np.uint16, 16) for s in (".png", ".tif") for c in (1, 2, 3, 4)],
    (".bmp", 3, np.uint16, 8),
    *[(s, 1, bool, 1) for s in (".png", ".tif", ".bmp")],
    (".png", 3, bool, 8),
    *[(s, c, np.float64, 8) for s in (".png", ".tif", ".bmp") for c in (1, 3)],
]


@pytest.mark.parametrize("suffix, channels, dtype, bits", CASES)
def test_lossless_round_trip(tmp_path, suffix, channels, dtype, bits):
    shape = (9, 13) if channels == 1 else (9, 13, channels)
    a = random_image(shape, dtype)
    path = tmp_path / f"x{suffix}"
    write_image(path, a)
    expected = stored(a, bits)
    got = read_image_raw(path)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_allclose(read_image(path), to_float_image(expected))
    if not (suffix == ".png" and bits == 16 and channels > 1):
        np.testing.assert_array_equal(independent_read(path), expected)


def test_16bit_colour_png_high_bytes_match_pillow(tmp_path):
    # Pillow reads 16-bit colour PNGs as 8 bits: the high byte of each sample.
    a = random_image((11, 7, 3), np.uint16)
    write_image(tmp_path / "c.png", a)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "c.png")), a >> 8)


def _png(width, height, colour_type, rows: bytes) -> bytes:
    """A PNG file from already filtered rows (reference writer for the decoder test)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def _filter_rows(raw: np.ndarray, bpp: int) -> bytes:
    """Filter row y with type y % 5, straight from the PNG specification, byte by byte."""
    out = bytearray()
    prev = [0] * raw.shape[1]
    for y, row in enumerate(raw.tolist()):
        kind = y % 5
        out.append(kind)
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            paeth = a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else (
                b if abs(p - b) <= abs(p - c) else c)
            pred = (0, a, b, (a + b) // 2, paeth)[kind]
            out.append((x - pred) % 256)
        prev = row
    return bytes(out)


@pytest.mark.parametrize("channels, colour_type", [(3, 2), (4, 6), (2, 4)])
def test_16bit_png_decoder_handles_all_five_filters(tmp_path, channels, colour_type):
    a = random_image((10, 6, channels), np.uint16)
    raw = a.astype(">u2").reshape(10, -1).view(np.uint8)
    (tmp_path / "f.png").write_bytes(_png(6, 10, colour_type, _filter_rows(raw, 2 * channels)))
    np.testing.assert_array_equal(read_image_raw(tmp_path / "f.png"), a)


def test_gray_matches_skimage_rgb2gray(tmp_path):
    rgb = random_image((8, 9, 3), np.uint8)
    write_image(tmp_path / "c.png", rgb)
    np.testing.assert_allclose(read_image(tmp_path / "c.png", gray=True), rgb2gray(rgb), atol=1e-12)
    rgba = random_image((8, 9, 4), np.uint8)
    write_image(tmp_path / "a.png", rgba)
    np.testing.assert_allclose(read_image(tmp_path / "a.png", gray=True),
                               rgb2gray(rgba[..., :3]), atol=1e-12)
    gray = random_image((8, 9), np.uint8)
    write_image(tmp_path / "g.png", gray)
    np.testing.assert_allclose(read_image(tmp_path / "g.png", gray=True), gray / 255)


def test_palette_png_with_and_without_transparency(tmp_path):
    rgb = np.repeat(np.repeat(RNG.integers(0, 256, (4, 4, 3), dtype=np.uint8), 3, 0), 3, 1)
    pal = Image.fromarray(rgb).quantize(colors=6)
    pal.save(tmp_path / "p.png")
    assert Image.open(tmp_path / "p.png").mode == "P"
    expected = np.asarray(pal.convert("RGB"))
    np.testing.assert_array_equal(read_image_raw(tmp_path / "p.png"), expected)
    pal.save(tmp_path / "t.png", transparency=0)
    got = read_image_raw(tmp_path / "t.png")
    index = np.asarray(pal)
    assert got.shape == rgb.shape[:2] + (4,)
    np.testing.assert_array_equal(got[..., 3], np.where(index == 0, 0, 255))
    np.testing.assert_array_equal(got[..., :3], expected)


# EXIF orientation values, as defined by the EXIF/TIFF specification
ORIENT = {1: lambda a: a, 2: np.fliplr, 3: lambda a: np.rot90(a, 2), 4: np.flipud,
          5: lambda a: np.transpose(a, (1, 0, 2)), 6: lambda a: np.rot90(a, -1),
          7: lambda a: np.rot90(a, 2).transpose(1, 0, 2), 8: lambda a: np.rot90(a, 1)}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_png_and_tiff(tmp_path, orientation):
    a = random_image((5, 8, 3), np.uint8)
    exif = Image.Exif()
    exif[274] = orientation
    Image.fromarray(a).save(tmp_path / "o.png", exif=exif)
    np.testing.assert_array_equal(read_image_raw(tmp_path / "o.png"), ORIENT[orientation](a))
    Image.fromarray(a).save(tmp_path / "o8.tif", tiffinfo={274: orientation})
    np.testing.assert_array_equal(read_image_raw(tmp_path / "o8.tif"), ORIENT[orientation](a))
    b = random_image((5, 8, 3), np.uint16)
    tifffile.imwrite(tmp_path / "o.tif", b, photometric="rgb",
                     extratags=[(274, "H", 1, orientation, True)])
    np.testing.assert_array_equal(read_image_raw(tmp_path / "o.tif"), ORIENT[orientation](b))


def test_exif_orientation_jpeg(tmp_path):
    a = np.zeros((32, 48, 3), np.uint8)       # blocks survive JPEG well
    a[:16, :24] = (255, 0, 0)
    a[16:, 24:] = (0, 0, 255)
    exif = Image.Exif()
    exif[274] = 6                              # "rotate 90 CW to display"
    Image.fromarray(a).save(tmp_path / "r.jpg", exif=exif, quality=95)
    got = read_image(tmp_path / "r.jpg")
    assert got.shape == (48, 32, 3)
    assert np.abs(got - np.rot90(a, -1) / 255).mean() < 0.02


def test_jpeg_round_trip_is_close(tmp_path):
    y, x = np.mgrid[0:40, 0:50]
    a = np.stack([x / 49, y / 39, (x + y) / 88], axis=-1)
    write_image(tmp_path / "s.jpg", a)
    got = read_image(tmp_path / "s.jpg")
    assert got.shape == a.shape and np.abs(got - a).max() < 0.03


def test_float_tiff_is_returned_as_stored(tmp_path):
    a = RNG.random((4, 5)).astype(np.float32)
    tifffile.imwrite(tmp_path / "f.tif", a)
    np.testing.assert_array_equal(read_image(tmp_path / "f.tif"), a.astype(np.float64))


def test_float_is_clipped_and_bit_depth_16(tmp_path):
    write_image(tmp_path / "c.png", np.array([[-0.5, 0.5, 1.5]]))
    np.testing.assert_array_equal(read_image_raw(tmp_path / "c.png"), [[0, 128, 255]])
    a = RNG.random((6, 7, 3))
    write_image(tmp_path / "d.png", a, bit_depth=16)
    got = read_image_raw(tmp_path / "d.png")
    assert got.dtype == np.uint16
    np.testing.assert_array_equal(got, np.round(a * 65535))
    write_image(tmp_path / "e.tif", random_image((4, 4), np.uint8), bit_depth=16)
    assert tifffile.imread(tmp_path / "e.tif").dtype == np.uint16


def test_samples_read(samples):
    assert read_image(samples / "camera.png").shape == (256, 256)
    assert read_image(samples / "coins.png").shape == (303, 384)
    astro = read_image(samples / "astronaut.png")
    assert astro.shape == (256, 256, 3) and 0 <= astro.min() and astro.max() <= 1


# ---------------------------------------------------------------- bad input

def test_read_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="image file not found"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(ValueError, match="is a directory; expected an image file") as info:
        read_image(tmp_path)
    assert not isinstance(info.value, FileFormatError)      # an argument error, not a bad file
    (tmp_path / "notes.png").write_text("hello, not an image")
    with pytest.raises(FileFormatError, match=r"not a readable image; accepted: PNG, JPEG, "
                                              r"TIFF or BMP \(\.png \.jpg \.jpeg \.tif \.tiff \.bmp\)") as info:
        read_image(tmp_path / "notes.png")
    assert info.value.path == str(tmp_path / "notes.png")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(FileFormatError, match="not a readable image"):
        read_image(tmp_path / "empty.jpg")


@pytest.mark.parametrize("suffix, dtype, channels", [
    (".png", np.uint8, 3), (".jpg", np.uint8, 3), (".bmp", np.uint8, 3),
    (".tif", np.uint8, 1), (".tif", np.uint16, 3), (".png", np.uint16, 3),
])
def test_truncated_files(tmp_path, suffix, dtype, channels):
    path = tmp_path / f"t{suffix}"
    write_image(path, random_image((64, 64, channels) if channels > 1 else (64, 64), dtype))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match=r"cannot read .*t\.(png|jpg|bmp|tif)") as info:
        read_image(path)
    assert info.value.path == str(path)


def test_decompression_bomb_refused(tmp_path, monkeypatch):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    (tmp_path / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                                        + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    with pytest.raises(FileFormatError, match="too large to decode safely|are refused"):
        read_image(tmp_path / "bomb.png")
    write_image(tmp_path / "small.png", random_image((20, 20), np.uint8))
    monkeypatch.setattr(images, "MAX_PIXELS", 100)
    with pytest.raises(FileFormatError, match=r"20x20 pixels x 1 channel\(s\) of 8 bits; .* above the limit of 3.2 KiB "
                                              r"\(100 gray 8-bit pixels\)"):
        read_image(tmp_path / "small.png")


@pytest.mark.parametrize("name, image, kwargs, error, match", [
    ("x.gif", np.zeros((2, 2)), {}, ValueError, r"unknown image extension '\.gif'; accepted: \.png"),
    ("x", np.zeros((2, 2)), {}, ValueError, r"unknown image extension '\(none\)'"),
    ("x.png", np.zeros((2, 2), np.int32), {}, TypeError, "must be bool, uint8, uint16 or float"),
    ("x.png", np.zeros((2, 2, 5)), {}, ValueError, r"got \(2, 2, 5\)"),
    ("x.png", np.zeros((0, 2)), {}, ValueError, r"H, W > 0, got \(0, 2\)"),
    ("x.png", np.zeros(4), {}, ValueError, r"shape \(H, W\)"),
    ("x.jpg", np.zeros((2, 2, 4)), {}, ValueError, "JPEG cannot store an alpha channel"),
    ("x.bmp", np.zeros((2, 2, 2)), {}, ValueError, "BMP cannot store an alpha channel"),
    ("x.jpg", np.zeros((2, 2)), {"bit_depth": 16}, ValueError, r"bit_depth must be one of \(8,\) for JPEG"),
    ("x.png", np.zeros((2, 2)), {"bit_depth": 12}, ValueError, "bit_depth must be one of"),
    ("x.png", np.zeros((2, 2, 3)), {"bit_depth": 1}, ValueError, "bit_depth=1 needs a single-channel"),
    ("x.png", np.full((2, 2), np.nan), {}, ValueError, "image contains NaN"),
])
def test_write_errors_leave_nothing(tmp_path, name, image, kwargs, error, match):
    with pytest.raises(error, match=match):
        write_image(tmp_path / name, image, **kwargs)
    assert os.listdir(tmp_path) == []


def test_refuses_overwrite_and_input(tmp_path):
    path = tmp_path / "a.png"
    write_image(path, np.zeros((2, 2), np.uint8))
    with pytest.raises(OutputExistsError, match="exists; pass overwrite=True") as info:
        write_image(path, np.ones((2, 2), np.uint8))
    assert isinstance(info.value, FileExistsError)
    assert (info.value.path, info.value.detail) == (str(path), "exists")
    np.testing.assert_array_equal(read_image_raw(path), 0)
    write_image(path, np.ones((2, 2), np.uint8), overwrite=True)
    np.testing.assert_array_equal(read_image_raw(path), 1)
    with pytest.raises(ValueError, match="is the input file"):
        write_image(path, np.zeros((2, 2), np.uint8), overwrite=True, inputs=[path])
    with pytest.raises(ValueError, match="does not exist"):
        write_image(tmp_path / "no" / "b.png", np.zeros((2, 2), np.uint8))
    assert sorted(os.listdir(tmp_path)) == ["a.png"]


def test_failed_encode_leaves_no_temporary_file(tmp_path, monkeypatch):
    def broken(fh, samples, fmt):
        fh.write(b"half a file")
        raise OSError("disk full")
    monkeypatch.setattr(_image_codecs, "encode", broken)
    with pytest.raises(OSError, match="disk full"):
        write_image(tmp_path / "x.png", np.zeros((2, 2)))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("how", WAYS)
@pytest.mark.parametrize("name,image", [
    ("x.png", np.zeros((40, 40), np.uint8)), ("x.png", np.zeros((40, 40, 3), np.uint16)),
    ("x.jpg", np.zeros((40, 40, 3), np.uint8)), ("x.tif", np.zeros((40, 40), np.uint16)),
    ("x.bmp", np.zeros((40, 40), np.uint8))])
def test_a_full_disk_fails_the_write_and_keeps_the_old_file(tmp_path, monkeypatch, name, image, how):
    path = tmp_path / name
    write_image(path, np.full(image.shape, 7, image.dtype))
    before = path.read_bytes()
    full_disk(monkeypatch, how)
    with pytest.raises(OSError, match="No space left|bytes reached the disk") as info:
        write_image(path, image, overwrite=True)
    assert info.value.filename == str(path)              # the output, not a hidden temporary file
    monkeypatch.undo()
    assert os.listdir(tmp_path) == [name] and path.read_bytes() == before


def test_written_file_gets_usual_permissions(tmp_path):
    write_image(tmp_path / "p.png", np.zeros((2, 2)))
    mask = os.umask(0o022)
    os.umask(mask)
    assert (tmp_path / "p.png").stat().st_mode & 0o777 == 0o666 & ~mask


# ----------------------------------------------------------------------------- the float rule

@pytest.mark.parametrize("dtype", [bool, np.uint8, np.uint16, np.uint32, np.int8, np.int16,
                                   np.int32, np.int64])
def test_to_float_image_is_skimage_img_as_float_for_bool_and_integers(dtype):
    from skimage.util import img_as_float
    if dtype == bool:
        x = np.array([[True, False, True]])
    else:
        info = np.iinfo(dtype)
        x = np.array([[info.min, 0, 1, info.max // 3, info.max]], dtype=dtype)
    got = to_float_image(x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, img_as_float(x), rtol=1e-15, atol=0)


@pytest.mark.parametrize("dtype, kept", [(np.float16, np.float32), (np.float32, np.float32),
                                         (np.float64, np.float64), (np.complex64, np.complex64),
                                         (np.complex128, np.complex128)])
def test_to_float_image_keeps_float_and_complex_and_widens_float16(dtype, kept):
    x = (np.arange(6).reshape(2, 3) / 7).astype(dtype)
    got = to_float_image(x)
    assert got.dtype == kept
    np.testing.assert_array_equal(got, x.astype(kept))


def test_one_float_rule_for_arrays_dask_and_filters():
    import dask.array as da
    from convkit import filter_image
    x = np.array([[0.5, 0.25], [1.0, 0.0]], dtype=np.float16)
    lazy = to_float_image(da.from_array(x))
    assert lazy.dtype == np.float32 and filter_image(x, "identity").dtype == np.float32
    np.testing.assert_array_equal(lazy.compute(), to_float_image(x))
    with pytest.raises(TypeError, match="image dtype must be bool, integer, float or complex, "
                                        "got <U1"):
        to_float_image(np.array(["a"]))


def test_read_image_stays_float64(tmp_path):
    path = tmp_path / "g.tif"
    write_image(path, np.full((3, 4), 0.5, np.float32))
    assert read_image(path).dtype == np.float64

def _box_reference(full: np.ndarray, factor: int) -> np.ndarray:
    """Mean of each factor x factor block of the full-size samples (the remainder dropped)."""
    h, w = full.shape[0] // factor, full.shape[1] // factor
    blocks = full[:h * factor, :w * factor].astype(np.float64)
    return blocks.reshape(h, factor, w, factor, *full.shape[2:]).mean(axis=(1, 3))


@pytest.mark.parametrize("name,shape,dtype", [("g.png", (1203, 810), np.uint8),
                                              ("c.png", (1203, 810, 3), np.uint8),
                                              ("a.png", (1203, 810, 4), np.uint8),
                                              ("w.png", (1203, 810, 3), np.uint16),
                                              ("g16.tif", (1203, 810), np.uint16),
                                              ("c.bmp", (1203, 810, 3), np.uint8)])
def test_min_size_decodes_reduced_by_whole_blocks(tmp_path, name, shape, dtype):
    rng = np.random.default_rng(0)
    top = np.iinfo(dtype).max
    image = (rng.random(shape) * top).astype(dtype)
    path = tmp_path / name
    write_image(path, image)
    got = read_image_raw(path, min_size=(100, 60))
    # at least 100 x 60: 1203 // 100, 810 // 60 = 12, 13; a PNG's EXIF orientation is not known
    # before decoding, so it keeps 100 x 60 either way round: also 1203 // 60, 810 // 100 = 20, 8
    factor = 8 if name.endswith(".png") else 12
    assert got.shape[:2] == (1203 // factor, 810 // factor) and got.dtype == dtype
    np.testing.assert_allclose(got.astype(float), _box_reference(image, factor), atol=1.0)
    assert read_image(path, min_size=(100, 60)).shape == got.shape
    assert read_image_raw(path, min_size=(2000, 60)).shape == image.shape     # no whole factor fits


def test_min_size_jpeg_and_orientation(tmp_path):
    rng = np.random.default_rng(1)
    image = np.repeat(np.repeat((rng.random((75, 50, 3)) * 255).astype(np.uint8), 16, 0), 16, 1)
    path = tmp_path / "p.jpg"
    exif = Image.Exif()
    exif[274] = 6                                              # stored sideways: turn right
    Image.fromarray(image).save(path, quality=95, exif=exif)
    full = read_image_raw(path)                                # (800, 1200, 3) upright
    got = read_image_raw(path, min_size=(100, 150))            # the upright (H, W)
    assert full.shape[:2] == (800, 1200) and got.shape[:2] == (100, 150)
    assert np.abs(got.astype(float) - _box_reference(full, 8)).mean() < 6       # JPEG's own scaling
    assert np.abs(got.astype(float) - _box_reference(full, 8)[::-1]).mean() > 30


def test_min_size_never_makes_a_full_size_float_copy(tmp_path):
    import tracemalloc

    path = tmp_path / "big.png"
    big = np.zeros((4000, 4000), np.uint8)
    big[::5] = 255
    write_image(path, big)
    assert image_size(path) == (4000, 4000)
    reference = _box_reference(big, 62) / 255
    tracemalloc.start()
    try:
        small = read_image(path, gray=True, min_size=(64, 64))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert small.shape == (64, 64)
    np.testing.assert_allclose(small, reference, atol=0.6 / 255)
    assert peak < 4 * 2 ** 20                      # a full read makes 16 MB + 128 MB of arrays


def _damaged_tiffs(folder: Path) -> tuple[Path, Path]:
    """badzip.tif: a deflate strip with flipped bytes; circ.tif: a second page whose next-IFD
    pointer leads back to the first (the first page itself is intact)."""
    a = (np.arange(64 * 64) % 251).astype(np.uint8).reshape(64, 64)
    tifffile.imwrite(folder / "zip.tif", a, compression="zlib")
    data = bytearray((folder / "zip.tif").read_bytes())
    with tifffile.TiffFile(folder / "zip.tif") as t:
        off, n = t.pages[0].dataoffsets[0], t.pages[0].databytecounts[0]
    for i in range(off + 10, off + n - 4):
        data[i] ^= 0x5A
    (folder / "badzip.tif").write_bytes(bytes(data))
    tifffile.imwrite(folder / "two.tif", np.stack([a, a]), photometric="minisblack")
    data = bytearray((folder / "two.tif").read_bytes())
    with tifffile.TiffFile(folder / "two.tif") as t:
        first, second = t.pages[0].offset, t.pages[1].offset
    entries = struct.unpack_from("<H", data, second)[0]
    struct.pack_into("<I", data, second + 2 + 12 * entries, first)
    (folder / "circ.tif").write_bytes(bytes(data))
    return folder / "badzip.tif", folder / "circ.tif"


def test_tiff_readers_messages_are_phrased_not_printed(tmp_path, capfd):
    from convkit.io.lazy import lazy_nbytes

    bad, circular = _damaged_tiffs(tmp_path)
    with pytest.raises(FileFormatError, match=r"cannot read .*badzip.tif.*corrupt image file "
                                              r"\(ZIPDecode: Decoding error") as info:
        read_image(bad)
    assert "\n" not in str(info.value)
    assert read_image_raw(circular).shape == (64, 64)
    assert lazy_nbytes(circular) >= 64 * 64
    assert capfd.readouterr().err == ""


def test_filter_on_damaged_tiffs_prints_one_line_or_nothing(tmp_path, cli):
    bad, circular = _damaged_tiffs(tmp_path)
    r = cli("filter", bad, "-k", "blur", "-o", tmp_path / "a.png")
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "ZIPDecode" in r.stderr
    r = cli("filter", circular, "-k", "blur", "-o", tmp_path / "b.png")
    assert r.exit_code == 0 and r.stderr == ""



# ----------------------------------------------------------------------------- hostile files
# (issue 16: images are refused by the memory they need before decoding; the 16-bit PNG
# decoder inflates no more than its header says and unfilters vectorised; corrupt JPEGs)

def test_image_refused_by_the_memory_the_operation_needs(tmp_path, monkeypatch):
    from convkit._names import MAX_PIXELS
    path = tmp_path / "big.png"                     # 11000^2 RGB: a header suffices
    path.write_bytes(png_bytes(11000, 11000, 8, 2, zlib.compress(b"")))
    result, peak = peak_mib(read_image, path)
    assert isinstance(result, FileFormatError) and peak < 5
    assert re.search(r"11000x11000 pixels x 3 channel\(s\) of 8 bits; reading and filtering it needs "
                     r"about 11\.2 GiB, above the limit of [\d.]+ GiB \(" + str(MAX_PIXELS)
                     + r" gray 8-bit pixels\)", str(result)), result
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((40, 30), np.uint8)).save(small)
    monkeypatch.setenv("CONVKIT_MAX_PIXELS", "1000")
    with pytest.raises(FileFormatError, match="30x40 pixels x 1 channel"):
        read_image(small)
    assert read_image(small, max_pixels=1200).shape == (40, 30)
    monkeypatch.setenv("CONVKIT_MAX_PIXELS", "1200")
    assert read_image(small).shape == (40, 30)


def test_jpeg_with_patched_dimensions_refused_before_decoding(tmp_path):
    path = tmp_path / "p.jpg"
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(path)
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 12000, 12000)     # height, width (below Pillow's limit)
    path.write_bytes(bytes(data))
    result, peak = peak_mib(read_image, path)
    assert isinstance(result, FileFormatError) and "12000x12000 pixels x 3" in str(result), result
    assert peak < 5


def test_png16_zlib_bomb_inflates_no_more_than_the_header_says(tmp_path):
    path = tmp_path / "bomb16.png"
    stream = zlib.compressobj()
    idat = b"".join(stream.compress(bytes(2**20)) for _ in range(64)) + stream.flush()
    path.write_bytes(png_bytes(100, 100, 16, 2, idat))
    result, peak = peak_mib(read_image, path)
    assert isinstance(result, FileFormatError), result
    assert "longer than the 100x100 image its header declares" in str(result)
    assert peak < 8, peak


def _paeth_filter(raw: np.ndarray, bpp: int) -> np.ndarray:
    """Reference PNG Paeth filter of (H, stride) uint8 rows (the specification's formula)."""
    a = np.zeros_like(raw, dtype=np.int32)
    a[:, bpp:] = raw[:, :-bpp]
    b = np.zeros_like(a)
    b[1:] = raw[:-1]
    c = np.zeros_like(a)
    c[1:, bpp:] = raw[:-1, :-bpp]
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    pred = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
    return ((raw.astype(np.int32) - pred) % 256).astype(np.uint8)


def _average_filter(raw: np.ndarray, bpp: int) -> np.ndarray:
    """Reference PNG Average filter of (H, stride) uint8 rows."""
    a = np.zeros_like(raw, dtype=np.int32)
    a[:, bpp:] = raw[:, :-bpp]
    b = np.zeros_like(a)
    b[1:] = raw[:-1]
    return ((raw.astype(np.int32) - (a + b) // 2) % 256).astype(np.uint8)


@pytest.mark.parametrize("channels", [3, 4])
def test_png16_all_filters_decode_exactly(tmp_path, channels):
    rng = np.random.default_rng(channels)
    h, w = 23, 17
    image = rng.integers(0, 65536, (h, w, channels)).astype(np.uint16)
    image[5:12] = 1000                              # runs, so the predictors matter
    raw = image.astype(">u2").reshape(h, -1).view(np.uint8)
    bpp = channels * 2
    up = np.diff(raw, axis=0, prepend=np.zeros((1, raw.shape[1]), np.uint8))
    sub = np.diff(raw.reshape(h, w, bpp), axis=1, prepend=np.zeros((h, 1, bpp), np.uint8)).reshape(h, -1)
    filtered = {0: raw, 1: sub, 2: up, 3: _average_filter(raw, bpp), 4: _paeth_filter(raw, bpp)}
    kinds = rng.integers(0, 5, h)
    rows = np.stack([np.concatenate([[k], filtered[int(k)][y]]) for y, k in enumerate(kinds)]).astype(np.uint8)
    path = tmp_path / "f.png"
    path.write_bytes(png_bytes(w, h, 16, {3: 2, 4: 6}[channels], zlib.compress(rows.tobytes())))
    np.testing.assert_array_equal(read_image_raw(path), image)


@pytest.mark.slow
def test_png16_paeth_is_vectorised(tmp_path):
    import time
    h = w = 1500
    rng = np.random.default_rng(0)
    image = (np.add.outer(np.arange(h), np.arange(w))[..., None] * [7, 11, 13] % 65536).astype(np.uint16)
    image[::7] += rng.integers(0, 50, (w, 3), dtype=np.uint16)[None]
    raw = image.astype(">u2").reshape(h, -1).view(np.uint8)
    rows = np.hstack([np.full((h, 1), 4, np.uint8), _paeth_filter(raw, 6)])
    path = tmp_path / "paeth.png"
    path.write_bytes(png_bytes(w, h, 16, 2, zlib.compress(rows.tobytes(), 9)))
    t0 = time.perf_counter()
    out = read_image_raw(path)
    assert time.perf_counter() - t0 < 3          # measured: 1 s; the per-byte loop took 6.5 s
    np.testing.assert_array_equal(out, image)


def test_fifo_image_is_refused_at_once(tmp_path):
    fifo = tmp_path / "in.png"
    os.mkfifo(fifo)
    result = finishes(lambda: read_image(fifo))
    assert isinstance(result, ValueError) and "is not a regular file" in str(result), result


def test_corrupt_jpeg_is_an_error_unless_allowed(tmp_path):
    from convkit.io.errors import CorruptImageError, CorruptImageWarning
    path = tmp_path / "c.jpg"
    jpeg_file(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2:len(data) // 2 + 500] = bytes(500)
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptImageError, match=r"c.jpg' is a corrupt JPEG file \(64 or more zero bytes"):
        read_image(path)
    with pytest.warns(CorruptImageWarning, match="corrupt JPEG"):
        assert read_image(path, allow_corrupt=True).shape == (200, 200, 3)


@pytest.mark.parametrize("options", [{}, {"optimize": True}, {"progressive": True}, {"subsampling": 2}])
def test_valid_jpegs_are_not_called_corrupt(tmp_path, options, samples):
    jpeg_file(tmp_path / "a.jpg", **options)
    assert read_image(tmp_path / "a.jpg").shape == (200, 200, 3)
    for colour in (0, 128, 255):                    # flat images: all-zero data with optimised tables
        Image.new("RGB", (512, 512), (colour,) * 3).save(tmp_path / "f.jpg", **options)
        np.testing.assert_allclose(read_image(tmp_path / "f.jpg"), colour / 255, atol=2 / 255)
    Image.open(samples / "astronaut.png").convert("RGB").save(tmp_path / "p.jpg", **options)
    assert read_image(tmp_path / "p.jpg").shape == (256, 256, 3)


def test_signed_tiff_is_refused_naming_its_samples(tmp_path):
    tifffile.imwrite(tmp_path / "s.tif", np.array([[-5, 3], [100, -200]], np.int16))
    with pytest.raises(FileFormatError, match="signed 16-bit integer samples"):
        read_image(tmp_path / "s.tif")
