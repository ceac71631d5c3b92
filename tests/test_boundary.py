"""pad against numpy.pad (widths up to the axis length) and against scipy.ndimage's
extension of its inputs (any width, length-1 axes); the name table; errors."""

import itertools
import typing

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

import convkit.boundary as boundary_module
from convkit.boundary import (BOUNDARIES, BOUNDARY_MODES, BOUNDARY_NAMES, BoundaryMode,
                              BoundaryName, describe_modes, dask_boundary, normalize_boundary,
                              boundary_record, pad, resolve_boundary)

RNG = np.random.default_rng(2)

# The architecture's table, written out independently of convkit.boundary: one row per mode.
# (name, aliases, a b c d extended by 2 with cval k, numpy.pad, scipy.ndimage, dask overlap, OpenCV)
TABLE = [
    ("constant", ("fill", "zeros", "grid-constant"), "k k | a b c d | k k", "constant", "constant",
     "cval", "BORDER_CONSTANT"),
    ("reflect", ("symm", "symmetric", "grid-mirror"), "b a | a b c d | d c", "symmetric", "reflect",
     "reflect", "BORDER_REFLECT"),
    ("mirror", (), "c b | a b c d | c b", "reflect", "mirror", None, "BORDER_REFLECT_101"),
    ("nearest", ("edge", "replicate"), "a a | a b c d | d d", "edge", "nearest", "nearest",
     "BORDER_REPLICATE"),
    ("wrap", ("circular", "periodic", "grid-wrap"), "c d | a b c d | a b", "wrap", "wrap",
     "periodic", "BORDER_WRAP"),
]
NUMPY_MODE = {row[0]: row[3] for row in TABLE}
NDIMAGE_MODE = {row[0]: row[4] for row in TABLE}
ALIASES = {alias: row[0] for row in TABLE for alias in row[1]}
ALL_NAMES = list(NUMPY_MODE) + list(ALIASES)


def _canonical(name):
    return ALIASES.get(name, name)


def _cval(name, cval):
    """The fill value a name pads with: 'zeros' is constant with cval 0."""
    return 0 if name == "zeros" else cval


def _np_pad(x, widths, name, cval=0):
    mode = NUMPY_MODE[_canonical(name)]
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=_cval(name, cval))
    return np.pad(x, widths, mode=mode)


def _ndimage_pad(x, widths, name, cval=0.0):
    """Extend x by ((before, after), ...) as scipy.ndimage extends its inputs.

    A one-hot kernel of length 2W+1 with its 1 at offset m makes
    ``ndimage.correlate`` return ``x_ext[i + m - W]``, so stacking the outputs for
    every m gives x extended by W on each side; then crop to the asked widths.
    """
    x = np.asarray(x, dtype=np.float64)
    widths = [tuple(w) for w in widths]
    big = [max(w) for w in widths]
    out = np.full(tuple(n + 2 * w for n, w in zip(x.shape, big)), np.nan)
    kshape = tuple(2 * w + 1 for w in big)
    for m in itertools.product(*(range(k) for k in kshape)):
        kernel = np.zeros(kshape)
        kernel[m] = 1.0
        got = ndimage.correlate(x, kernel, mode=NDIMAGE_MODE[_canonical(name)],
                                cval=_cval(name, cval))
        out[tuple(slice(mi, mi + n) for mi, n in zip(m, x.shape))] = got
    return out[tuple(slice(w - b, w + n + a) for (b, a), w, n in zip(widths, big, x.shape))]


# --- the name table ---------------------------------------------------------------------

def test_boundary_modes_table():
    assert BOUNDARY_MODES == NUMPY_MODE
    got = [(m.name, m.aliases, m.picture, m.numpy, m.ndimage, m.dask, m.opencv) for m in BOUNDARIES]
    assert got == TABLE
    assert [m.copies_input for m in BOUNDARIES] == [row[0] != "constant" for row in TABLE]
    assert set(BOUNDARY_NAMES) == set(ALL_NAMES)


def test_literal_types_list_the_table():
    assert typing.get_args(BoundaryMode) == tuple(NUMPY_MODE)
    assert set(typing.get_args(BoundaryName)) == set(ALL_NAMES)


@pytest.mark.parametrize("row", TABLE, ids=[row[0] for row in TABLE])
def test_picture_is_what_pad_does(row):
    name, _, picture, *_ = row
    cells = picture.split()
    letters = {"a": 1, "b": 2, "c": 3, "d": 4, "k": 9}
    expected = [letters[c] for c in cells if c != "|"]
    np.testing.assert_array_equal(pad([1, 2, 3, 4], 2, name, cval=9), expected)
    # the same picture in the docstrings
    assert picture in pad.__doc__ and picture in boundary_module.__doc__


def test_docs_list_every_name():
    for name in ALL_NAMES:
        assert name in describe_modes()
        assert name in pad.__doc__


@pytest.mark.parametrize("row", TABLE, ids=[row[0] for row in TABLE])
def test_opencv_border_equals_pad(row):
    import cv2   # in the test extra: a missing reference fails, it does not skip
    x = RNG.standard_normal((4, 5))
    got = cv2.copyMakeBorder(x, 2, 3, 1, 2, getattr(cv2, row[6]), value=1.5)
    np.testing.assert_array_equal(pad(x, ((2, 3), (1, 2)), row[0], cval=1.5), got)


@pytest.mark.parametrize("row", [r for r in TABLE if r[5] is not None], ids=lambda r: r[0])
def test_dask_halo_equals_pad(row):
    import dask.array as da
    x = RNG.standard_normal((6, 8))
    halo = dask_boundary(row[0], 1.5)
    got = da.overlap.overlap(da.from_array(x, chunks=(3, 4)), depth={0: 2, 1: 2},
                             boundary={0: halo, 1: halo}).compute()
    padded = pad(x, 2, row[0], cval=1.5)
    # the outer ring of the overlapped array is the padding of the whole array
    np.testing.assert_array_equal(got[:2, 2:-2][:, :4], padded[:2, 2:6])
    np.testing.assert_array_equal(got[2:-2, :2][:3], padded[2:5, :2])


def test_zeros_pins_cval():
    np.testing.assert_array_equal(pad([1, 2], 1, "zeros"), [0, 1, 2, 0])
    assert resolve_boundary("zeros", 0) == (boundary_record("constant"), 0)
    assert resolve_boundary("fill", 3) == (boundary_record("constant"), 3)
    # a resolved row passes through unchanged (the engines get rows, not names)
    row = boundary_record("periodic")
    assert resolve_boundary(row, 2) == (row, 2) and boundary_record(row) is row
    assert normalize_boundary(row) == "wrap"
    with pytest.raises(ValueError, match="boundary 'zeros' pads with 0, got cval=3"):
        pad([1, 2], 1, "zeros", cval=3)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_normalize_boundary(name):
    assert normalize_boundary(name) == _canonical(name)


@pytest.mark.parametrize("name,expected", [
    # a b c d extended by 2, as drawn in the architecture table (k = cval = 9)
    ("constant", [9, 9, 1, 2, 3, 4, 9, 9]),
    ("reflect", [2, 1, 1, 2, 3, 4, 4, 3]),
    ("mirror", [3, 2, 1, 2, 3, 4, 3, 2]),
    ("nearest", [1, 1, 1, 2, 3, 4, 4, 4]),
    ("wrap", [3, 4, 1, 2, 3, 4, 1, 2]),
])
def test_table_by_hand(name, expected):
    np.testing.assert_array_equal(pad([1, 2, 3, 4], 2, name, cval=9), expected)


# --- against numpy.pad, widths up to the axis length ------------------------------------

@pytest.mark.parametrize("name", ALL_NAMES)
def test_matches_numpy_pad_2d(name):
    x = RNG.standard_normal((5, 4))
    widths = ((2, 5), (4, 0))
    got = pad(x, widths, name, cval=_cval(name, -1.5))
    np.testing.assert_array_equal(got, _np_pad(x, widths, name, cval=-1.5))
    assert got.dtype == x.dtype


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("widths", [0, 2, (2,), ((2,),), (1, 2), ((1, 2),), ((1, 2), (3, 0), (0, 1))])
def test_width_forms_numpy_accepts(name, widths):
    x = RNG.integers(-50, 50, size=(4, 3, 5)).astype(np.int16)
    got = pad(x, widths, name, cval=_cval(name, 7))
    want = _np_pad(x, widths, name, cval=7)
    assert got.dtype == np.int16
    np.testing.assert_array_equal(got, want)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_matches_numpy_pad_property(data):
    ndim = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.lists(st.integers(2, 6), min_size=ndim, max_size=ndim)))
    name = data.draw(st.sampled_from(ALL_NAMES))
    widths = tuple((data.draw(st.integers(0, n)), data.draw(st.integers(0, n))) for n in shape)
    dtype = data.draw(st.sampled_from([np.float64, np.float32, np.int32, np.uint8, np.complex128]))
    x = np.arange(int(np.prod(shape))).reshape(shape).astype(dtype)
    cval = data.draw(st.sampled_from([0, 3, 250]))
    got = pad(x, widths, name, cval=_cval(name, cval))
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, _np_pad(x, widths, name, cval=cval))


def test_does_not_modify_input():
    x = RNG.standard_normal((3, 3))
    before = x.copy()
    for name in NUMPY_MODE:
        pad(x, 2, name)
    np.testing.assert_array_equal(x, before)


# --- against scipy.ndimage: any width, length-1 axes --------------------------------------

@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("n,widths", [(3, (7, 7)), (4, (9, 2)), (2, (5, 6)), (1, (3, 4)),
                                      (5, (0, 12))])
def test_wide_padding_1d_matches_ndimage_extension(name, n, widths):
    x = RNG.standard_normal(n)
    got = pad(x, [widths], name, cval=_cval(name, 2.5))
    np.testing.assert_allclose(got, _ndimage_pad(x, [widths], name, cval=2.5),
                               rtol=0, atol=0)


@pytest.mark.parametrize("name", list(NUMPY_MODE))
@pytest.mark.parametrize("shape,widths", [((3, 2), ((4, 5), (3, 2))), ((1, 4), ((2, 2), (5, 1))),
                                          ((4, 1), ((3, 0), (2, 3))), ((1, 1), ((2, 1), (1, 2)))])
def test_wide_padding_2d_matches_ndimage_extension(name, shape, widths):
    x = RNG.standard_normal(shape)
    got = pad(x, widths, name, cval=_cval(name, -4.0))
    np.testing.assert_allclose(got, _ndimage_pad(x, widths, name, cval=-4.0),
                               rtol=0, atol=0)


def test_mirror_length_one_axis_repeats_the_sample():
    np.testing.assert_array_equal(pad(np.array([5.0]), 3, "mirror"), [5.0] * 7)
    x = np.array([[1, 2, 3]])
    # axis 0 (length 1) repeats the row; axis 1 mirrors
    np.testing.assert_array_equal(pad(x, 1, "mirror"), [[2, 1, 2, 3, 2]] * 3)


@pytest.mark.parametrize("widths", [2, (2,), (1, 2), ((1, 2),), ((1, 2), (2, 0))])
def test_mirror_length_one_axis_every_width_form(widths):
    x = RNG.standard_normal((1, 3))
    pairs = np.broadcast_to(np.asarray(widths).reshape(-1, 2) if np.size(widths) % 2 == 0
                            else np.full((2, 2), np.asarray(widths).item()), (2, 2))
    got = pad(x, widths, "mirror")
    np.testing.assert_array_equal(got, _ndimage_pad(x, pairs.tolist(), "mirror"))


def test_constant_on_empty_array_matches_numpy():
    x = np.zeros((0, 3))
    np.testing.assert_array_equal(pad(x, 1, "constant", cval=2), np.pad(x, 1, constant_values=2))


# --- errors -----------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["bogus", "", "periodical", None, 3])
def test_unknown_boundary_lists_the_accepted_names(bad):
    with pytest.raises(ValueError, match="boundary must be one of") as info:
        pad(np.zeros(3), 1, bad)
    for name in ALL_NAMES:
        assert name in str(info.value)
    with pytest.raises(ValueError, match="boundary must be one of"):
        normalize_boundary(bad)


@pytest.mark.parametrize("name", ["reflect", "mirror", "nearest", "wrap"])
def test_extending_an_empty_array_is_refused(name):
    with pytest.raises(ValueError, match="non-empty"):
        pad(np.zeros((0, 2)), 1, name)
