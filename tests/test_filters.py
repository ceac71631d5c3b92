"""convkit.filters against scipy.ndimage.correlate / convolve / gaussian_filter
(every boundary mode), scikit-image's sobel / prewitt / scharr / gaussian, the
seed walkthrough's feature map and closed forms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.filters as skf
from hypothesis import given, settings
from hypothesis import strategies as st

from convkit.filters import filter_image, is_derivative, to_display
from convkit.kernels import get_kernel

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
RNG = np.random.default_rng(1126)
# convkit boundary -> scipy.ndimage mode ("grid-wrap" is ndimage's exact periodic extension)
NDI_MODE = {"constant": "constant", "reflect": "reflect", "mirror": "mirror",
            "nearest": "nearest", "wrap": "grid-wrap"}
CVAL = 0.3


def _scaled(image: np.ndarray) -> np.ndarray:
    """The [0, 1] float64 image filter_image works on (independent of convkit)."""
    if image.dtype == bool:
        return image.astype(np.float64)
    if image.dtype.kind == "u":
        return image / np.iinfo(image.dtype).max
    return image.astype(np.float64)


def _ndi_per_channel(func, image, *args, **kwargs):
    """Apply an ndimage 2-D filter to each channel of an (H, W[, C]) image."""
    if image.ndim == 2:
        return func(image, *args, **kwargs)
    return np.stack([func(image[..., c], *args, **kwargs) for c in range(image.shape[2])], axis=-1)


def _image(shape, dtype):
    """A random test image of the given shape and sample type."""
    if dtype == bool:
        return RNG.random(shape) > 0.5
    if np.dtype(dtype).kind == "u":
        return RNG.integers(0, np.iinfo(dtype).max, shape, endpoint=True).astype(dtype)
    return RNG.random(shape).astype(dtype)


# --------------------------------------------------- scipy.ndimage.correlate

@pytest.mark.parametrize("boundary", list(NDI_MODE))
@pytest.mark.parametrize("kshape", [(3, 3), (5, 5), (3, 7), (1, 5), (9, 9)])
@pytest.mark.parametrize("shape", [(17, 23), (12, 15, 3)])
def test_equals_ndimage_correlate_every_boundary(boundary, kshape, shape):
    image = _image(shape, np.float64)
    kernel = RNG.standard_normal(kshape)
    expected = _ndi_per_channel(ndi.correlate, image, kernel, mode=NDI_MODE[boundary], cval=CVAL)
    got = filter_image(image, kernel, boundary=boundary, cval=CVAL)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, bool, np.float32, np.float64])
def test_sample_types_scaled_and_result_dtype(dtype):
    image = _image((20, 21, 3), dtype)
    kernel = RNG.standard_normal((3, 3))
    got = filter_image(image, kernel)
    expected = _ndi_per_channel(ndi.correlate, _scaled(image), kernel, mode="reflect")
    assert got.dtype == (np.float32 if dtype == np.float32 else np.float64)
    np.testing.assert_allclose(got, expected, rtol=1e-5 if dtype == np.float32 else 1e-10, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint32])
def test_signed_and_wide_integer_images_are_skimage_img_as_float(dtype):
    from skimage.util import img_as_float
    info = np.iinfo(dtype)
    image = RNG.integers(info.min, info.max, (19, 22), endpoint=True, dtype=dtype)
    image[0, :3] = [info.min, 0, info.max]
    kernel = RNG.standard_normal((3, 5))
    got = filter_image(image, kernel, boundary="nearest")
    expected = ndi.correlate(img_as_float(image), kernel, mode="nearest")
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("boundary", list(NDI_MODE))
def test_complex_images_equal_ndimage_correlate(dtype, boundary):
    image = (RNG.standard_normal((17, 20, 2)) + 1j * RNG.standard_normal((17, 20, 2))).astype(dtype)
    for kernel in (RNG.standard_normal((4, 3)), "gaussian:sigma=1.5"):
        k = kernel if isinstance(kernel, np.ndarray) else get_kernel(kernel)
        got = filter_image(image, kernel, boundary=boundary, cval=CVAL)
        expected = _ndi_per_channel(ndi.correlate, image.astype(np.complex128), k,
                                    mode=NDI_MODE[boundary], cval=CVAL)
        assert got.dtype == dtype
        tol = 1e-5 if dtype == np.complex64 else 1e-10
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def test_complex_gradient_magnitude_is_the_modulus_of_both_parts():
    image = RNG.standard_normal((12, 13)) + 1j * RNG.standard_normal((12, 13))
    gx = ndi.correlate(image, get_kernel("sobel_x"), mode="reflect")
    gy = ndi.correlate(image, get_kernel("sobel_y"), mode="reflect")
    got = filter_image(image, "sobel")
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, np.sqrt(abs(gx) ** 2 + abs(gy) ** 2), rtol=1e-10)


@pytest.mark.parametrize("shape, kshape", [((9, 10, 11), (3, 2, 5)), ((30,), (7,)),
                                           ((5, 6, 4, 3), (3, 1, 3, 2))])
@pytest.mark.parametrize("boundary", list(NDI_MODE))
@pytest.mark.parametrize("flip", [False, True])
def test_nd_images_with_an_nd_kernel_equal_ndimage(shape, kshape, boundary, flip):
    image = RNG.random(shape)
    kernel = RNG.standard_normal(kshape)
    ref = ndi.convolve if flip else ndi.correlate
    expected = ref(image, kernel, mode=NDI_MODE[boundary], cval=CVAL)
    got = filter_image(image, kernel, boundary=boundary, cval=CVAL, flip=flip)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    strided = filter_image(image, kernel, boundary=boundary, cval=CVAL, flip=flip, stride=2)
    np.testing.assert_allclose(strided, expected[(slice(None, None, 2),) * image.ndim],
                               rtol=1e-10, atol=1e-12)


def test_nd_kernel_needs_an_image_with_as_many_axes():
    with pytest.raises(ValueError, match=r"image must have 3 axes, as the kernel, with none empty; "
                                         r"got shape \(4, 4\)"):
        filter_image(np.zeros((4, 4)), np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="contains NaN or inf"):
        filter_image(np.zeros((4, 4, 4)), np.full((2, 2, 2), np.nan))


@pytest.mark.parametrize("boundary", list(NDI_MODE))
@pytest.mark.parametrize("name", ["gaussian:sigma=3", "sobel_x", "scharr_y", "box:5", "motion:7,angle=90"])
def test_separable_named_kernels_equal_the_2d_correlation(boundary, name):
    # two 1-D passes inside; the reference is ndimage with the full 2-D matrix
    image = _image((40, 37), np.float64)
    expected = ndi.correlate(image, get_kernel(name), mode=NDI_MODE[boundary], cval=0.7)
    got = filter_image(image, name, boundary=boundary, cval=0.7)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_rank_one_array_is_filtered_like_its_matrix():
    col, row = RNG.standard_normal(5), RNG.standard_normal(3)
    image = _image((25, 30), np.float64)
    expected = ndi.correlate(image, np.outer(col, row), mode="constant", cval=CVAL)
    got = filter_image(image, np.outer(col, row), boundary="constant", cval=CVAL)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 14), w=st.integers(1, 14), kh=st.sampled_from([1, 3, 5]),
       kw=st.sampled_from([1, 3, 5]), channels=st.sampled_from([0, 1, 3]),
       boundary=st.sampled_from(list(NDI_MODE)), seed=st.integers(0, 2 ** 16))
def test_equals_ndimage_any_shape(h, w, kh, kw, channels, boundary, seed):
    rng = np.random.default_rng(seed)
    image = rng.random((h, w, channels) if channels else (h, w))
    kernel = rng.standard_normal((kh, kw))
    expected = _ndi_per_channel(ndi.correlate, image, kernel, mode=NDI_MODE[boundary], cval=CVAL)
    got = filter_image(image, kernel, boundary=boundary, cval=CVAL)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


# --------------------------------------------------- even kernels, flip, stride

@pytest.mark.parametrize("kshape", [(2, 2), (4, 3), (3, 6)])
def test_even_kernels_anchor_as_ndimage_origin_zero(kshape):
    image = _image((16, 19), np.float64)
    kernel = RNG.standard_normal(kshape)
    np.testing.assert_allclose(filter_image(image, kernel, boundary="mirror"),
                               ndi.correlate(image, kernel, mode="mirror"), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kshape", [(3, 3), (2, 2), (4, 5), (1, 4)])
@pytest.mark.parametrize("boundary", ["reflect", "constant", "wrap"])
def test_flip_is_ndimage_convolve(kshape, boundary):
    image = _image((18, 14, 2), np.float64)
    kernel = RNG.standard_normal(kshape)
    expected = _ndi_per_channel(ndi.convolve, image, kernel, mode=NDI_MODE[boundary], cval=CVAL)
    got = filter_image(image, kernel, boundary=boundary, cval=CVAL, flip=True)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_flip_of_a_named_separable_kernel():
    image = _image((18, 14), np.float64)
    np.testing.assert_allclose(filter_image(image, "sobel_x", flip=True),
                               ndi.convolve(image, get_kernel("sobel_x"), mode="reflect"),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("stride", [2, (3, 2)])
@pytest.mark.parametrize("kernel", ["laplacian", "gaussian:sigma=1.5", "sobel"])
def test_stride_keeps_every_nth_sample(stride, kernel):
    image = _image((21, 22, 3), np.float64)
    sy, sx = (stride, stride) if isinstance(stride, int) else stride
    full = filter_image(image, kernel)
    got = filter_image(image, kernel, stride=stride)
    assert got.shape == (-(-21 // sy), -(-22 // sx), 3)
    np.testing.assert_allclose(got, full[::sy, ::sx], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_methods_agree_with_ndimage(method):
    image = _image((30, 28), np.float64)
    kernel = RNG.standard_normal((7, 7))
    np.testing.assert_allclose(filter_image(image, kernel, method=method),
                               ndi.correlate(image, kernel, mode="reflect"), rtol=1e-9, atol=1e-10)


# --------------------------------------------------- composites and scikit-image

@pytest.mark.parametrize("name,func,scale", [("sobel", skf.sobel, 4), ("prewitt", skf.prewitt, 3),
                                             ("scharr", skf.scharr, 16)])
@pytest.mark.parametrize("boundary", ["reflect", "nearest", "mirror"])
def test_gradient_magnitude_is_skimage_times_its_normalisation(name, func, scale, boundary):
    # skimage divides each kernel by its smoothing sum and averages the squares
    # over the 2 axes: skimage = ours / (scale * sqrt(2))
    image = _image((33, 41), np.uint8)
    expected = func(image, mode=NDI_MODE[boundary]) * scale * np.sqrt(2)
    got = filter_image(image, name, boundary=boundary)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_sobel_is_hypot_of_ndimage_sobels():
    image = _image((30, 30, 3), np.float32)
    ref = np.hypot(_ndi_per_channel(ndi.sobel, image.astype(np.float64), axis=0),
                   _ndi_per_channel(ndi.sobel, image.astype(np.float64), axis=1))
    np.testing.assert_allclose(filter_image(image, "sobel"), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("sigma", [0.8, 2.0, 3.0])
@pytest.mark.parametrize("boundary", ["nearest", "reflect", "constant"])
def test_gaussian_equals_skimage_and_ndimage(sigma, boundary):
    image = _image((48, 40, 3), np.uint8)
    expected = skf.gaussian(image, sigma=sigma, mode=NDI_MODE[boundary], cval=CVAL, channel_axis=-1)
    got = filter_image(image, f"gaussian:sigma={sigma}", boundary=boundary, cval=CVAL)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    gray = _scaled(image[..., 0])
    np.testing.assert_allclose(filter_image(gray, f"gaussian:sigma={sigma}", boundary=boundary, cval=CVAL),
                               ndi.gaussian_filter(gray, sigma, mode=NDI_MODE[boundary], cval=CVAL),
                               rtol=1e-10, atol=1e-12)


# --------------------------------------------------- hand-computed / closed form

def test_seed_walkthrough_feature_map():
    image = np.loadtxt(SAMPLES / "seed_image.csv", delimiter=",")
    detector = np.loadtxt(SAMPLES / "seed_detector.csv", delimiter=",")
    # the tutorial's 5x5 map (no padding) is the interior of the same-size result
    expected = np.array([[0, 1, 0, 0, 0], [0, 1, 1, 1, 0], [1, 0, 0, 2, 1],
                         [1, 4, 2, 1, 0], [0, 0, 1, 2, 1]], dtype=float)
    got = filter_image(image, detector, boundary="constant")
    np.testing.assert_array_equal(got[1:-1, 1:-1], expected)


def test_derivatives_of_a_ramp():
    ramp = np.tile(np.arange(12.0), (9, 1))          # slope 1 to the right
    inner = (slice(2, -2), slice(2, -2))
    np.testing.assert_allclose(filter_image(ramp, "sobel_x")[inner], 8.0)
    np.testing.assert_allclose(filter_image(ramp, "sobel_y")[inner], 0.0, atol=1e-12)
    np.testing.assert_allclose(filter_image(ramp, "sobel")[inner], 8.0)
    np.testing.assert_allclose(filter_image(ramp, "laplacian")[inner], 0.0, atol=1e-12)


def test_identity_and_smoothing_keep_a_constant_image():
    flat = np.full((10, 11), 0.25)
    for name in ["identity", "box:5", "gaussian:sigma=2", "sharpen", "unsharp"]:
        np.testing.assert_allclose(filter_image(flat, name), 0.25, rtol=1e-12)


# --------------------------------------------------- display mapping

@pytest.mark.parametrize("spec,expected", [
    ("edge", True), ("laplacian", True), ("sobel_y", True), ("log", True), ("sobel", True),
    ("scharr", True), ("0,1,0;1,-4,1;0,1,0", True), ("gaussian:sigma=2", False), ("box:5", False),
    ("sharpen", False), ("emboss", False), ("1,1;1,1", False),
])
def test_is_derivative_means_taps_sum_to_zero(spec, expected):
    assert is_derivative(spec) is expected


def test_to_display_rules():
    v = np.array([[-2.0, -0.25, 0.5, 1.5]])
    np.testing.assert_array_equal(to_display(v), [[0, 0, 0.5, 1]])
    np.testing.assert_array_equal(to_display(v, magnitude=True), [[1, 0.25, 0.5, 1]])
    np.testing.assert_allclose(to_display(v, rescale=True), (v + 2) / 3.5)
    np.testing.assert_allclose(to_display(v, magnitude=True, rescale=True), np.abs(v) / 2)
    np.testing.assert_array_equal(to_display(np.full((2, 2), 3.0), rescale=True), 0)


# --------------------------------------------------- errors

@pytest.mark.parametrize("kwargs,exc,match", [
    ({"image": np.zeros((2, 3, 4, 5))}, ValueError, r"image must have shape \(H, W\) or \(H, W, C\)"),
    ({"image": np.zeros((0, 3))}, ValueError, "no empty axis"),
    ({"image": np.full((4, 4), "a")}, TypeError, "image dtype must be bool, integer, float or complex"),
    ({"kernel": "sobelx"}, ValueError, "unknown kernel 'sobelx'"),
    ({"kernel": "1,2;3"}, ValueError, "inline kernel is ragged"),
    ({"boundary": "zero"}, ValueError, "boundary must be one of"),
    ({"stride": 0}, ValueError, "stride must be >= 1"),
    ({"method": "fast"}, ValueError, "method must be one of 'auto', 'direct', 'fft'"),
    ({"cval": float("nan")}, ValueError, "cval must be a finite number"),
])
def test_errors(kwargs, exc, match):
    args = {"image": np.zeros((5, 5)), "kernel": "edge", **kwargs}
    with pytest.raises(exc, match=match):
        filter_image(args.pop("image"), args.pop("kernel"), **args)


# --- a spec resolved once serves any number of images --------------------------------

def test_resolved_filter_gives_the_same_result_and_is_not_parsed_again(monkeypatch):
    from convkit import kernels
    from convkit.filters import resolve_filter

    images = [RNG.random((9, 11)) for _ in range(4)]
    resolved = [resolve_filter("gaussian:sigma=1.5"), resolve_filter("sobel")]
    calls = []
    real = kernels.read_kernel_spec
    monkeypatch.setattr(kernels, "read_kernel_spec", lambda spec: calls.append(spec) or real(spec))
    for img in images:
        smooth = filter_image(img, resolved[0], boundary="nearest")
        np.testing.assert_allclose(smooth, ndi.gaussian_filter(img, 1.5, mode="nearest"),
                                   atol=1e-12)
        mag = filter_image(img, resolved[1])
        want = np.hypot(ndi.sobel(img, axis=0, mode="reflect"), ndi.sobel(img, axis=1, mode="reflect"))
        np.testing.assert_allclose(mag, want, atol=1e-12)
        assert is_derivative(resolved[1]) and not is_derivative(resolved[0])
    assert calls == []


@pytest.mark.parametrize("name", ["sobel_x", "gaussian:sigma=1", "box:4", "motion:4"])
def test_flip_of_resolved_separable_kernel_equals_ndimage_convolve(name):
    image = RNG.random((12, 10))
    kernel = get_kernel(name)
    expected = ndi.convolve(image, kernel, mode="mirror")
    np.testing.assert_allclose(filter_image(image, name, boundary="mirror", flip=True), expected,
                               atol=1e-12)
