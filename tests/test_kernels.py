"""convkit.kernels against scipy.ndimage / scikit-image filters, hand-written
matrices and the 1-D factors; spec parsing and its errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.filters as skf
import skimage.filters.edges as ske
from hypothesis import given, settings
from hypothesis import strategies as st

from convkit.kernels import get_kernel, list_kernels, separable_factors
from convkit import kernels as K

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
RNG = np.random.default_rng(20261126)
IMAGE = RNG.random((23, 29))


def impulse_response(filt, radius: int) -> np.ndarray:
    """Apply a reference filter to a centred delta; crop the (2r+1)^2 middle."""
    n = 2 * radius + 1 + 8
    delta = np.zeros((n, n))
    delta[n // 2, n // 2] = 1.0
    c = n // 2
    return filt(delta)[c - radius:c + radius + 1, c - radius:c + radius + 1]


# ---------------------------------------------------------------- references

@pytest.mark.parametrize("truncate", [4.0, 2.5])
def test_gaussian_sigma_zero_is_the_identity_as_ndimage(truncate):
    k = get_kernel(f"gaussian:sigma=0,truncate={truncate}")
    np.testing.assert_array_equal(k, [[1.0]])
    np.testing.assert_array_equal(ndi.gaussian_filter(IMAGE, 0, truncate=truncate), IMAGE)


@pytest.mark.parametrize("sigmas", [(2.0, 0.7), (0.0, 1.5), (1.2, 0.0), (3.0, 3.0)])
def test_gaussian_per_axis_sigma_is_scipy_gaussian_filter(sigmas):
    sy, sx = sigmas
    k = get_kernel(f"gaussian:sigma_y={sy},sigma_x={sx}")
    ry, rx = (k.shape[0] - 1) // 2, (k.shape[1] - 1) // 2
    assert (ry, rx) == (int(4 * sy + 0.5), int(4 * sx + 0.5))
    r = max(ry, rx)
    ref = impulse_response(lambda d: ndi.gaussian_filter(d, (sy, sx), mode="constant"), r)
    np.testing.assert_allclose(k, ref[r - ry:r + ry + 1, r - rx:r + rx + 1], rtol=1e-12, atol=1e-15)
    assert K.resolve_kernel(f"gaussian:sigma_y={sy},sigma_x={sx}").factors is not None


@pytest.mark.parametrize("name, ours", [("farid_h", "farid_y"), ("farid_v", "farid_x"),
                                        ("roberts_pos_diag", "roberts_pos_diag"),
                                        ("roberts_neg_diag", "roberts_neg_diag")])
def test_farid_and_roberts_equal_skimage(name, ours):
    from convkit.filters import filter_image
    # scikit-image convolves (ndimage.convolve, reflect). Its Farid weights turned 180 degrees
    # are our farid_y / farid_x laid as written (odd size: same anchor); its Roberts weights
    # are ours, and flip=True is ndimage.convolve, even 2x2 anchor included
    flip = name.startswith("roberts")
    got = filter_image(IMAGE, ours, boundary="reflect", flip=flip)
    np.testing.assert_allclose(got, getattr(skf, name)(IMAGE), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name, scale, flip", [("farid", 1.0, False), ("roberts", 1.0, True)])
def test_farid_and_roberts_magnitudes_are_skimage_times_sqrt2(name, scale, flip):
    from convkit.filters import filter_image
    # skimage averages the two squares: its magnitude is ours / sqrt(2)
    got = filter_image(IMAGE, name, boundary="reflect", flip=flip)
    np.testing.assert_allclose(got, getattr(skf, name)(IMAGE) * np.sqrt(2) * scale, rtol=1e-12,
                               atol=1e-14)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0, 3.3])
@pytest.mark.parametrize("truncate", [4.0, 2.5])
def test_gaussian_is_scipy_gaussian_filter_impulse_response(sigma, truncate):
    k = get_kernel(f"gaussian:sigma={sigma},truncate={truncate}")
    radius = int(truncate * sigma + 0.5)
    assert k.shape == (2 * radius + 1,) * 2
    ref = impulse_response(lambda d: ndi.gaussian_filter(d, sigma, truncate=truncate,
                                                          mode="constant"), radius)
    np.testing.assert_allclose(k, ref, rtol=0, atol=1e-15)
    assert k.sum() == pytest.approx(1.0, abs=1e-14)


@settings(max_examples=20, deadline=None)
@given(st.floats(0.3, 4.0))
def test_gaussian_any_sigma_matches_scipy(sigma):
    k = get_kernel(f"gaussian:{sigma!r}")
    radius = k.shape[0] // 2
    ref = impulse_response(lambda d: ndi.gaussian_filter(d, sigma, mode="constant"), radius)
    np.testing.assert_allclose(k, ref, atol=1e-14)


@pytest.mark.parametrize("name, axis, reference", [
    ("sobel_x", 1, ndi.sobel), ("sobel_y", 0, ndi.sobel),
    ("prewitt_x", 1, ndi.prewitt), ("prewitt_y", 0, ndi.prewitt),
])
def test_derivatives_equal_ndimage_with_sign(name, axis, reference):
    ours = ndi.correlate(IMAGE, get_kernel(name), mode="reflect")
    np.testing.assert_allclose(ours, reference(IMAGE, axis=axis, mode="reflect"), atol=1e-12)


@pytest.mark.parametrize("name, ref, scale", [
    ("sobel_x", skf.sobel_v, 4), ("sobel_y", skf.sobel_h, 4),
    ("prewitt_x", skf.prewitt_v, 3), ("prewitt_y", skf.prewitt_h, 3),
    ("scharr_x", skf.scharr_v, 16), ("scharr_y", skf.scharr_h, 16),
])
def test_derivatives_are_skimage_filters_times_scale(name, ref, scale):
    ours = ndi.correlate(IMAGE, get_kernel(name) / scale, mode="reflect")
    np.testing.assert_allclose(ours, ref(IMAGE), atol=1e-12)


def test_skimage_weight_constants_are_our_kernels_flipped():
    # scikit-image convolves with its weights; we correlate, so ours are the flip.
    for ours, theirs, scale in ((K.SOBEL_X, ske.VSOBEL_WEIGHTS, 4), (K.SOBEL_Y, ske.HSOBEL_WEIGHTS, 4),
                                (K.PREWITT_X, ske.VPREWITT_WEIGHTS, 3),
                                (K.PREWITT_Y, ske.HPREWITT_WEIGHTS, 3),
                                (K.SCHARR_X, ske.VSCHARR_WEIGHTS, 16),
                                (K.SCHARR_Y, ske.HSCHARR_WEIGHTS, 16)):
        np.testing.assert_allclose(ours[::-1, ::-1] / scale, theirs, atol=1e-15)


def test_orientation_on_ramps():
    right = np.tile(np.arange(7.0), (7, 1))      # brighter to the right
    down = right.T                               # brighter downwards
    for name, slope_gain in (("sobel_x", 8), ("prewitt_x", 6), ("scharr_x", 32)):
        assert ndi.correlate(right, get_kernel(name))[3, 3] == slope_gain
        assert ndi.correlate(down, get_kernel(name))[3, 3] == 0
        y = name.replace("_x", "_y")
        assert ndi.correlate(down, get_kernel(y))[3, 3] == slope_gain
        assert ndi.correlate(right, get_kernel(y))[3, 3] == 0


def test_laplacian_equals_ndimage_laplace():
    ours = ndi.correlate(IMAGE, get_kernel("laplacian"), mode="reflect")
    np.testing.assert_allclose(ours, ndi.laplace(IMAGE, mode="reflect"), atol=1e-12)


@pytest.mark.parametrize("sigma", [1.0, 1.4, 2.5])
def test_log_matches_gaussian_laplace_and_sums_to_zero(sigma):
    k = get_kernel(f"log:sigma={sigma}")
    ref = impulse_response(lambda d: ndi.gaussian_laplace(d, sigma, mode="constant"),
                           k.shape[0] // 2)
    # ours is scipy's construction shifted by a constant so that it sums exactly to 0
    np.testing.assert_allclose(k, ref - ref.mean(), atol=1e-15)
    assert abs(k.sum()) < 1e-15
    assert k[k.shape[0] // 2, k.shape[1] // 2] < 0           # negative centre


@pytest.mark.parametrize("sigma, amount", [(1.0, 1.0), (1.5, 0.5), (2.0, 2.0)])
def test_unsharp_equals_skimage_unsharp_mask(sigma, amount):
    image = RNG.uniform(0.4, 0.6, (30, 31))   # skimage clips to [0, 1]; stay clear of it
    ours = ndi.correlate(image, get_kernel(f"unsharp:sigma={sigma},amount={amount}"), mode="reflect")
    np.testing.assert_allclose(ours, skf.unsharp_mask(image, radius=sigma, amount=amount), atol=1e-12)


@pytest.mark.parametrize("size", [1, 3, 5, 9])
def test_box_equals_uniform_filter(size):
    ours = ndi.correlate(IMAGE, get_kernel(f"box:{size}"), mode="reflect")
    np.testing.assert_allclose(ours, ndi.uniform_filter(IMAGE, size, mode="reflect"), atol=1e-12)


def test_blur_is_box_3():
    np.testing.assert_array_equal(get_kernel("blur"), np.full((3, 3), 1 / 9))


@pytest.mark.parametrize("length", [3, 9, 15])
def test_motion_horizontal_and_vertical_are_1d_means(length):
    for angle, axis in ((0, 1), (90, 0), (180, 1), (-90, 0)):
        ours = ndi.correlate(IMAGE, get_kernel(f"motion:{length},angle={angle}"), mode="reflect")
        ref = ndi.uniform_filter1d(IMAGE, length, axis=axis, mode="reflect")
        np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_motion_diagonal_lies_on_the_anti_diagonal():
    k = get_kernel("motion:9,angle=45")
    n = k.shape[0]
    assert k.shape == (9, 9) and k.sum() == pytest.approx(1.0)
    i, j = np.indices(k.shape)
    np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-15)       # symmetric about the centre
    np.testing.assert_allclose(k, k.T[::-1, ::-1], atol=1e-15)     # about the anti-diagonal
    off = (i + j - (n - 1)) / np.sqrt(2)                          # distance from the anti-diagonal
    assert (k * off ** 2).sum() < 0.25
    np.testing.assert_allclose(get_kernel("motion:9,angle=135"), k[:, ::-1], atol=1e-15)


def test_hand_written_kernels():
    np.testing.assert_array_equal(get_kernel("edge"), [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
    np.testing.assert_array_equal(get_kernel("laplacian"), [[0, 1, 0], [1, -4, 1], [0, 1, 0]])
    np.testing.assert_array_equal(get_kernel("sharpen"), [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    np.testing.assert_array_equal(get_kernel("emboss"), [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
    np.testing.assert_array_equal(get_kernel("identity"), [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(get_kernel("identity:5")[2], [0, 0, 1, 0, 0])


@pytest.mark.parametrize("name, total", [
    ("identity", 1), ("box:4", 1), ("gaussian:sigma=2", 1), ("unsharp", 1), ("motion:7", 1),
    ("motion:7,angle=30", 1), ("sharpen", 1), ("emboss", 1), ("edge", 0), ("laplacian", 0),
    ("log", 0), ("sobel_x", 0), ("prewitt_y", 0), ("scharr_x", 0),
])
def test_sums(name, total):
    assert get_kernel(name).sum() == pytest.approx(total, abs=1e-12)


# ---------------------------------------------------------------- separability

SEPARABLE = ["identity", "identity:7", "box", "box:4", "blur", "gaussian:sigma=1.7", "sobel_x",
             "sobel_y", "prewitt_x", "prewitt_y", "scharr_x", "scharr_y", "motion:5",
             "motion:5,angle=90"]


@pytest.mark.parametrize("name", SEPARABLE)
def test_named_separable_factors_rebuild_the_kernel(name):
    col, row = separable_factors(name)
    assert col.ndim == row.ndim == 1
    np.testing.assert_array_equal(np.outer(col, row), get_kernel(name))


def test_sobel_factors_are_the_textbook_ones():
    col, row = separable_factors("sobel_x")
    np.testing.assert_array_equal(col, [1, 2, 1])
    np.testing.assert_array_equal(row, [-1, 0, 1])


@pytest.mark.parametrize("name", ["edge", "laplacian", "sharpen", "emboss", "log", "unsharp",
                                  "motion:9,angle=45"])
def test_non_separable_named_kernels_have_no_factors(name):
    assert separable_factors(name) is None
    # and that is right: the kernel really has rank > 1
    assert np.linalg.matrix_rank(get_kernel(name)) > 1


def test_svd_factors_of_arrays():
    col, row = RNG.standard_normal(5), RNG.standard_normal(3)
    got = separable_factors(np.outer(col, row))
    np.testing.assert_allclose(np.outer(*got), np.outer(col, row), atol=1e-12)
    assert separable_factors(np.outer(col, row) + 1e-3 * RNG.standard_normal((5, 3))) is None
    assert separable_factors("1,2,1;2,4,2;1,2,1") is not None
    zeros = separable_factors(np.zeros((3, 4)))
    np.testing.assert_array_equal(np.outer(*zeros), np.zeros((3, 4)))


# ---------------------------------------------------------------- specs

def test_every_listed_kernel_resolves_with_a_one_line_description():
    listed = list_kernels()
    assert {"identity", "edge", "laplacian", "sobel_x", "sobel_y", "prewitt_x", "prewitt_y",
            "scharr_x", "scharr_y", "sharpen", "emboss", "box", "gaussian", "log", "unsharp",
            "motion", "blur"} <= set(listed)
    for name, description in listed.items():
        k = get_kernel(name)
        assert k.dtype == np.float64 and k.ndim == 2 and np.isfinite(k).all()
        assert description and "\n" not in description


def test_gradient_magnitudes_are_registry_entries_listed_on_request():
    from convkit.filters import COMPOSITE_FILTERS, filter_image
    listed = list_kernels(magnitudes=True)
    magnitudes = {n for n in listed if K.composite_parts(n)}
    assert magnitudes == {"sobel", "prewitt", "scharr", "farid", "roberts"} == set(COMPOSITE_FILTERS)
    assert not magnitudes & set(list_kernels())
    for name in magnitudes:
        gx, gy = (get_kernel(part) for part in K.composite_parts(name))
        assert name in K.derivative_names()
        want = np.hypot(ndi.correlate(IMAGE, gx, mode="reflect"), ndi.correlate(IMAGE, gy, mode="reflect"))
        np.testing.assert_allclose(filter_image(IMAGE, name), want, rtol=1e-10, atol=1e-12)
    assert set(K.derivative_names()) - magnitudes == {
        n for n in list_kernels() if abs(get_kernel(n).sum()) <= 1e-9 * np.abs(get_kernel(n)).sum()}


def test_parameters_positional_keyword_and_case():
    np.testing.assert_array_equal(get_kernel("box:5"), get_kernel("box:size=5"))
    np.testing.assert_array_equal(get_kernel("gaussian:2,truncate=3"),
                                  get_kernel("gaussian:sigma=2, truncate=3"))
    np.testing.assert_array_equal(get_kernel("Sobel_X"), get_kernel("sobel_x"))
    assert get_kernel("gaussian").shape == (9, 9)                 # sigma 1, truncate 4


def test_inline_matrices():
    expected = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)
    for text in ("0,1,0;1,-4,1;0,1,0", "0 1 0; 1 -4 1; 0 1 0", "0,1,0\n1,-4,1\n0,1,0\n",
                 "0,1,0;1,-4,1;0,1,0;"):
        np.testing.assert_array_equal(get_kernel(text), expected)
    np.testing.assert_array_equal(get_kernel("1,2,1"), [[1, 2, 1]])
    np.testing.assert_array_equal(get_kernel(".5 -1e-1"), [[0.5, -0.1]])


def test_kernel_files(tmp_path):
    k = RNG.standard_normal((3, 5))
    np.savetxt(tmp_path / "k.csv", k, delimiter=",", header="comment")
    np.savetxt(tmp_path / "k.txt", k)
    np.save(tmp_path / "k.npy", k)
    for name in ("k.csv", "k.txt", "k.npy"):
        np.testing.assert_allclose(get_kernel(str(tmp_path / name)), k, rtol=1e-15)
    np.testing.assert_allclose(get_kernel(tmp_path / "k.npy"), k)      # a Path works too


def test_sample_kernel_files():
    np.testing.assert_array_equal(get_kernel(SAMPLES / "seed_detector.csv"),
                                  [[0, 0, 1], [1, 0, 0], [0, 1, 1]])
    np.testing.assert_array_equal(get_kernel(SAMPLES / "kernels/ridge.csv"),
                                  [[-1, -1, -1], [2, 2, 2], [-1, -1, -1]])
    np.testing.assert_array_equal(get_kernel(SAMPLES / "kernels/kirsch_n.txt"),
                                  [[5, 5, 5], [-3, 0, -3], [-3, -3, -3]])
    assert get_kernel(SAMPLES / "kernels/emboss5.npy").sum() == 1


def test_arrays_are_copied_and_constants_frozen():
    a = np.ones((3, 3), dtype=np.int32)
    k = get_kernel(a)
    assert k.dtype == np.float64 and k is not a
    get_kernel("sobel_x")[0, 0] = 99
    assert get_kernel("sobel_x")[0, 0] == -1
    with pytest.raises(ValueError):
        K.SOBEL_X[0, 0] = 5


def test_pickled_npy_is_refused(tmp_path):
    np.save(tmp_path / "evil.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="cannot read kernel file"):
        get_kernel(str(tmp_path / "evil.npy"))


@pytest.mark.parametrize("spec, error, match", [
    ("nope", ValueError, r"unknown kernel 'nope'; available: identity, edge"),
    ("blurr", ValueError, r"unknown kernel 'blurr' \(did you mean 'blur'\?\)"),
    ("", ValueError, "kernel spec is empty"),
    ("box:0", ValueError, r"kernel 'box': size must be between 1 and"),
    ("box:2.5", ValueError, "size must be an integer, got '2.5'"),
    ("box:3,size=3", ValueError, "given twice"),
    ("gaussian:sig=2", ValueError, r"has no parameter 'sig'; it takes: sigma, truncate"),
    ("gaussian:sigma=-1", ValueError, "sigma must be a non-negative number"),
    ("gaussian:sigma=nan", ValueError, "sigma must be a non-negative number"),
    ("log:sigma=0", ValueError, "sigma must be a positive number"),
    ("sobel", ValueError, "'sobel' is the gradient magnitude of sobel_x and sobel_y, not one kernel"),
    ("gaussian:sigma=400", ValueError, "the largest allowed is 1025"),
    ("gaussian:sigma=1,2", ValueError, "bare value cannot follow key=value"),
    ("gaussian:1,2,3,4,5", ValueError, "takes at most 4 values"),
    ("edge:3", ValueError, "takes no parameters"),
    ("identity:4", ValueError, "size must be odd"),
    ("motion:9,angle=inf", ValueError, "angle must be a finite number"),
    ("1,2;3", ValueError, r"ragged: rows have \[2, 1\] entries"),
    ("1,x;3,4", ValueError, "entry 'x' in row 1 is not a number"),
    ("1,,2", ValueError, "entry '' in row 1 is not a number"),
    (";;", ValueError, "inline kernel is empty"),
    ("nan,1", ValueError, "contains NaN or inf"),
    ("1,inf", ValueError, "contains NaN or inf"),
    ("missing.csv", FileNotFoundError, "kernel file not found"),
    (np.ones(3), ValueError, r"kernel must be 2-D, got shape \(3,\)"),
    (np.ones((3, 3, 3)), ValueError, r"kernel must be 2-D, got shape \(3, 3, 3\)"),
    (np.ones((0, 3)), ValueError, "kernel is empty"),
    (np.array([[1, np.nan]]), ValueError, r"NaN or inf \(first at index \(0, 1\)\)"),
    (np.ones((2, 2), complex), TypeError, "real numbers"),
    (np.array([["a"]]), TypeError, "must hold numbers"),
    ([[1, 2], [3]], ValueError, "different lengths"),
    (3, TypeError, "kernel spec must be a name"),
    (None, TypeError, "kernel spec must be a name"),
])
def test_errors(spec, error, match):
    with pytest.raises(error, match=match):
        get_kernel(spec)


def test_file_errors(tmp_path):
    (tmp_path / "ragged.csv").write_text("1,2,3\n4,5\n")
    with pytest.raises(ValueError, match="ragged"):
        get_kernel(str(tmp_path / "ragged.csv"))
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    with pytest.raises(ValueError, match="is empty"):
        get_kernel(str(tmp_path / "empty.txt"))
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(ValueError, match="is a directory"):
        get_kernel(str(tmp_path / "d.csv"))
    np.save(tmp_path / "one_d.npy", np.ones(3))
    with pytest.raises(ValueError, match="must be 2-D"):
        get_kernel(str(tmp_path / "one_d.npy"))
    (tmp_path / "k.dat").write_text("1")
    with pytest.raises(ValueError, match=r"must end in \.csv, \.txt, \.npy"):
        get_kernel(tmp_path / "k.dat")


def test_sign_conventions_on_shapes():
    square = np.zeros((12, 12))
    square[4:8, 4:8] = 1.0                                       # bright square on dark
    emboss = ndi.correlate(square, get_kernel("emboss"), mode="constant")
    assert emboss[3, 3] > 0.9 and emboss[8, 8] < -0.9            # lit from the top left
    dot = np.zeros((7, 7))
    dot[3, 3] = 1.0
    assert ndi.correlate(dot, get_kernel("edge"))[3, 3] == 8      # bright detail stays bright
    assert ndi.correlate(dot, get_kernel("laplacian"))[3, 3] == -4
    assert ndi.correlate(dot, get_kernel("log"))[3, 3] < 0


def test_seed_walkthrough_files():
    image = get_kernel(SAMPLES / "seed_image.csv")
    detector = get_kernel(SAMPLES / "seed_detector.csv")
    feature_map = get_kernel(SAMPLES / "seed_feature_map.csv")
    assert image.shape == (7, 7) and set(np.unique(image)) == {0, 1}
    by_hand = [[0, 1, 0, 0, 0], [0, 1, 1, 1, 0], [1, 0, 0, 2, 1], [1, 4, 2, 1, 0], [0, 0, 1, 2, 1]]
    np.testing.assert_array_equal(feature_map, by_hand)
    np.testing.assert_array_equal(ndi.correlate(image, detector, mode="constant")[1:-1, 1:-1], by_hand)
    assert feature_map[0, 0] == 0 and feature_map[0, 1] == 1     # as the walkthrough narrates


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**32 - 1), st.sampled_from([",", " "]),
       st.sampled_from([";", "\n"]))
def test_inline_matrix_round_trip(rows, cols, seed, sep, row_sep):
    k = np.random.default_rng(seed).integers(-9, 10, (rows, cols)) / 4
    text = row_sep.join(sep.join(repr(float(v)) for v in row) for row in k)
    np.testing.assert_array_equal(get_kernel(text), k)


# --- resolve_kernel: one parse, the same answers as get_kernel / separable_factors -----

@pytest.mark.parametrize("spec, name", [
    ("sobel_x", "sobel_x"), ("Gaussian:sigma=2", "gaussian"), ("box:4", "box"), ("blur", "blur"),
    ("laplacian", "laplacian"), ("log:sigma=1.2", "log"), ("motion:7,angle=90", "motion"),
    ("motion:5,angle=30", "motion"), ("0,1,0;1,-4,1;0,1,0", "custom"), ("1,2;2,4", "custom"),
])
def test_resolve_kernel_fields_match_get_kernel_and_factors(spec, name):
    k = K.resolve_kernel(spec)
    assert k.name == name
    np.testing.assert_array_equal(k.array, get_kernel(spec))
    factors = separable_factors(spec)
    if factors is None:
        assert k.factors is None
    else:
        np.testing.assert_array_equal(k.factors[0], factors[0])
        np.testing.assert_array_equal(k.factors[1], factors[1])
        # and, independently, the factors rebuild the kernel
        np.testing.assert_allclose(np.outer(*k.factors), k.array, atol=1e-12)
    # derivative: the taps sum to 0 (an exact rational sum, independent of the float rounding)
    assert k.derivative == bool(abs(np.sum(k.array)) < 1e-9 * np.abs(k.array).sum())


def test_resolve_kernel_of_a_file_and_an_array(tmp_path):
    path = tmp_path / "k.csv"
    path.write_text("1,0,-1\n2,0,-2\n1,0,-1\n")
    k = K.resolve_kernel(path)
    assert k.name == str(path) and k.derivative
    np.testing.assert_array_equal(k.array, [[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    np.testing.assert_allclose(k.factors[0] * k.factors[1][0], [1, 2, 1], atol=1e-12)
    arr = K.resolve_kernel(np.ones((2, 3)))
    assert arr.name == "custom" and not arr.derivative
    assert K.resolve_kernel(arr) is arr


def test_resolve_kernel_parses_once(monkeypatch):
    calls = []
    real = K.read_kernel_spec
    monkeypatch.setattr(K, "read_kernel_spec", lambda spec: calls.append(spec) or real(spec))
    K.resolve_kernel("gaussian:sigma=3")
    assert calls == ["gaussian:sigma=3"]


def test_resolve_kernel_errors_are_get_kernels():
    with pytest.raises(ValueError, match="unknown kernel 'sobol'.*did you mean 'sobel'"):
        K.resolve_kernel("sobol")
    with pytest.raises(TypeError, match="kernel spec must be"):
        K.resolve_kernel(3.5)


@pytest.mark.parametrize("name", ["k.csv", "k.txt", "k.npy"])
def test_a_fifo_kernel_file_is_refused_at_once(tmp_path, name):
    from helpers.blocking import finishes

    fifo = tmp_path / name
    os.mkfifo(fifo)
    for spec in (str(fifo), fifo):
        result = finishes(lambda: get_kernel(spec), [fifo])
        assert isinstance(result, ValueError), result
        assert "is not a regular file" in str(result) and "expected a kernel file" in str(result)


@pytest.mark.parametrize("spec", ["log:sigma=1e-300", "log:sigma=1e-160", "gaussian:sigma=1e-300",
                                  "unsharp:sigma=1e-200", "log:sigma=5e-324"])
def test_tiny_sigma_is_refused_in_one_line(spec):
    with pytest.raises(ValueError, match=r"sigma must be (0 or )?at least 0\.001 .* got"):
        get_kernel(spec)


@pytest.mark.parametrize("truncate", [0.1, 4.0, 60.0])
@pytest.mark.parametrize("sigma", [1e-3, 3e-3, 0.05, 0.2, 1.0, 7.5])
def test_every_accepted_sigma_gives_finite_taps(sigma, truncate):
    """Over the accepted range the taps are finite and the LoG sums to 0; compared with the
    closed form of the Gaussian's second derivative wherever the kernel has more than one tap."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")              # no RuntimeWarning on the way either
        for name in ("gaussian", "log", "unsharp"):
            try:
                k = get_kernel(f"{name}:sigma={sigma},truncate={truncate}")
            except ValueError as exc:               # only the size limit may refuse these
                assert "tap kernel; the largest allowed" in str(exc)
                continue
            assert np.isfinite(k).all()
            if name == "log":
                assert abs(k.sum()) <= 1e-9 * max(1.0, np.abs(k).max())
                r = k.shape[0] // 2
                x = np.arange(-r, r + 1.0)
                g = np.exp(-x ** 2 / (2 * sigma ** 2))
                g /= g.sum()
                g2 = g * (x ** 2 / sigma ** 4 - 1 / sigma ** 2)
                ref = np.outer(g2, g) + np.outer(g, g2)
                np.testing.assert_allclose(k, ref - ref.mean(), rtol=1e-9, atol=1e-12 * np.abs(ref).max())


def test_a_builder_whose_taps_overflow_is_refused_naming_the_parameters(monkeypatch):
    import warnings

    from convkit import kernels

    entry = kernels._REGISTRY["unsharp"]
    overflowing = entry._replace(build=lambda sigma, amount, truncate: kernels._Built(
        np.full((3, 3), amount) * 10.0, None))
    monkeypatch.setitem(kernels._REGISTRY, "unsharp", overflowing)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"kernel 'unsharp': sigma=1, amount=1e\+308, "
                                             r"truncate=4 gives taps beyond the float range"):
            get_kernel("unsharp:amount=1e308")
