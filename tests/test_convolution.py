"""convolve / correlate / fftconvolve / choose_method against scipy.signal (the oracle).

* defaults: values, shapes and dtypes of scipy.signal.convolve/correlate for every
  mode, method and dtype (hypothesis), 0-d / 1-element / empty inputs, swapped
  inputs in "valid", and scipy's errors;
* integers: exact against Python-int / int64 references, OverflowError where the
  exact result does not fit the result dtype;
* beyond scipy: `axes` (loop of scipy.signal over the other axes, and
  scipy.signal.fftconvolve(axes=)), `boundary` + `cval` (numpy.pad then a scipy
  "valid" convolution; scipy.ndimage.correlate in "same"), `stride` (slicing the
  unstrided result), `dilation` (the zero-stuffed kernel), `workers`;
* NaN/Inf placement of method="auto" equals method="direct";
* choose_method on the two cases the issue names.
"""

import re
import warnings

import numpy as np
import pytest
import scipy.signal as ss
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from convkit import choose_method, convolve, correlate, fftconvolve

OPS = {"convolve": (convolve, ss.convolve), "correlate": (correlate, ss.correlate)}
MODES = ("full", "same", "valid")
METHODS = ("auto", "direct", "fft")
DTYPES = (np.bool_, np.uint8, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64,
          np.complex64, np.complex128)
# convkit boundary name (and its aliases) -> numpy.pad mode, as in ARCHITECTURE.md
NUMPY_MODE = {"constant": "constant", "fill": "constant", "reflect": "symmetric",
              "symm": "symmetric", "symmetric": "symmetric", "mirror": "reflect",
              "nearest": "edge", "edge": "edge", "replicate": "edge", "wrap": "wrap",
              "circular": "wrap"}
OVERFLOW = r"does not fit the result dtype"


# ----------------------------------------------------------------------------- helpers

def _random(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind == "u":
        return rng.integers(0, 4, size=shape).astype(dtype)
    if dtype.kind == "i":
        return rng.integers(-3, 4, size=shape).astype(dtype)
    if dtype.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def _exact_dtype(dtype):
    """A dtype in which scipy computes the reference without rounding or wrapping."""
    kind = np.dtype(dtype).kind
    return {"b": np.int64, "u": np.int64, "i": np.int64, "f": np.float64}.get(kind, np.complex128)


def _tolerance(rdtype, *inputs):
    """Relative-to-max tolerance: that of the result dtype, or of a less precise float input
    (scipy's FFT also computes a float32 input's spectrum in single precision)."""
    rdtype = np.dtype(rdtype)
    if rdtype == np.float16:
        return 2e-2
    single = (np.float16, np.float32, np.complex64)
    return 1e-4 if rdtype in single or any(np.dtype(d) in single for d in inputs) else 1e-10


def _assert_matches(got, want, rdtype, scale, inputs=()):
    """`got` has dtype `rdtype` and equals the high-precision `want` (exactly for ints)."""
    rdtype = np.dtype(rdtype)
    got = np.asarray(got)
    assert got.dtype == rdtype, (got.dtype, rdtype)
    assert got.shape == np.shape(want), (got.shape, np.shape(want))
    if rdtype.kind == "b":
        np.testing.assert_array_equal(got, np.asarray(want) != 0)
    elif rdtype.kind in "iu":
        np.testing.assert_array_equal(got, want)
    else:
        tol = _tolerance(rdtype, *inputs)
        np.testing.assert_allclose(got.astype(np.complex128), np.asarray(want, np.complex128),
                                   rtol=tol, atol=tol * max(scale, 1e-300))


def _fits(values, rdtype):
    rdtype = np.dtype(rdtype)
    if rdtype.kind not in "iu" or np.size(values) == 0:
        return True
    info = np.iinfo(rdtype)
    return info.min <= np.min(values) and np.max(values) <= info.max


def _scale(a, b, cval=0):
    """|largest possible output| (the tolerance is relative to this)."""
    a = np.abs(np.asarray(a, np.complex128))
    amax = max(float(a.max()) if a.size else 0.0, abs(cval))
    return amax * float(np.abs(np.asarray(b, np.complex128)).sum())


def _stuff(kernel, dilation, axes):
    """The kernel with dilation-1 zeros between its taps along `axes`."""
    kernel = np.asarray(kernel)
    shape = list(kernel.shape)
    index = [slice(None)] * kernel.ndim
    for ax, d in zip(axes, dilation):
        shape[ax] = d * (kernel.shape[ax] - 1) + 1
        index[ax] = slice(None, None, d)
    out = np.zeros(shape, dtype=kernel.dtype)
    out[tuple(index)] = kernel
    return out


def _reference(op, a, b, mode="full", *, axes=None, boundary="constant", cval=0, stride=1,
               dilation=1):
    """scipy.signal over the conv axes (looping the others), on numpy.pad-extended input.

    Computed in a dtype where scipy neither rounds (much) nor wraps.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    hi = np.result_type(_exact_dtype(a.dtype), _exact_dtype(b.dtype))
    a = a.astype(hi)
    b = b.astype(hi)
    axes = tuple(range(a.ndim)) if axes is None else tuple(np.atleast_1d(axes) % a.ndim)
    n = len(axes)
    stride = (stride,) * n if np.isscalar(stride) else tuple(stride)
    dilation = (dilation,) * n if np.isscalar(dilation) else tuple(dilation)
    b = _stuff(b, dilation, axes)
    scipy_op = OPS[op][1]
    # conv axes last, in the order of `axes` (so stride[i] belongs to sub-axis i)
    A = np.moveaxis(a, axes, range(-n, 0))
    B = np.moveaxis(b, axes, range(-n, 0))
    batch = np.broadcast_shapes(A.shape[:-n], B.shape[:-n])
    results = {}
    for idx in np.ndindex(*batch):
        ai = tuple(i if s > 1 else 0 for i, s in zip(idx, A.shape[:-n]))
        bi = tuple(i if s > 1 else 0 for i, s in zip(idx, B.shape[:-n]))
        x, k = A[ai], B[bi]
        widths = []
        for size in k.shape:
            widths.append({"full": (size - 1, size - 1), "same": (size // 2, (size - 1) // 2),
                           "valid": (0, 0)}[mode])
        np_mode = NUMPY_MODE[boundary]
        kw = {"constant_values": cval} if np_mode == "constant" else {}
        xp = np.pad(x, widths, mode=np_mode, **kw)
        r = scipy_op(xp, k, "valid", method="direct")
        results[idx] = r[tuple(slice(None, None, s) for s in stride)]
    first = next(iter(results.values()))
    out = np.empty(batch + first.shape, dtype=first.dtype)
    for idx, r in results.items():
        out[idx] = r
    return np.moveaxis(out, range(-n, 0), axes)


# ----------------------------------------------------------------------------- defaults = scipy

def _shapes(draw, ndim, mode):
    s1 = draw(st.lists(st.integers(1, 6), min_size=ndim, max_size=ndim))
    s2 = draw(st.lists(st.integers(1, 5), min_size=ndim, max_size=ndim))
    if mode == "valid":
        arrange = draw(st.sampled_from(["in1 larger", "in2 larger", "as drawn"]))
        if arrange == "in1 larger":
            s1, s2 = [max(p, q) for p, q in zip(s1, s2)], [min(p, q) for p, q in zip(s1, s2)]
        elif arrange == "in2 larger":
            s1, s2 = [min(p, q) for p, q in zip(s1, s2)], [max(p, q) for p, q in zip(s1, s2)]
    return tuple(s1), tuple(s2)


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_defaults_match_scipy(data):
    op = data.draw(st.sampled_from(sorted(OPS)))
    mode = data.draw(st.sampled_from(MODES))
    method = data.draw(st.sampled_from(METHODS))
    ndim = data.draw(st.integers(1, 3))
    dt1 = data.draw(st.sampled_from(DTYPES))
    dt2 = data.draw(st.sampled_from((dt1,) * 3 + DTYPES))   # mostly equal dtypes
    s1, s2 = _shapes(data.draw, ndim, mode)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    a, b = _random(rng, s1, dt1), _random(rng, s2, dt2)
    ours, theirs = OPS[op]
    try:
        want = _reference(op, a, b, mode)
    except ValueError as exc:   # scipy refuses (valid mode, mixed sizes)
        assert "valid" in str(exc)
        with pytest.raises(ValueError, match="valid"):
            ours(a, b, mode, method)
        return
    rdtype = np.result_type(a, b)
    if not _fits(want, rdtype):
        with pytest.raises(OverflowError, match=OVERFLOW):
            ours(a, b, mode, method)
        return
    got = ours(a, b, mode, method)
    _assert_matches(got, want, rdtype, _scale(a, b), (a.dtype, b.dtype))
    try:   # scipy itself refuses N-D float16/bool in direct; otherwise same shape and dtype
        scipy_out = theirs(a, b, mode, method)
    except ValueError:
        return
    assert got.shape == scipy_out.shape and got.dtype == scipy_out.dtype
    # (scipy's FFT path rounds bools wrongly, and wraps integers: compare floats only)
    if rdtype.kind in "fc" and _tolerance(rdtype, a.dtype, b.dtype) == 1e-10:
        np.testing.assert_allclose(got, scipy_out, rtol=1e-10, atol=1e-10 * _scale(a, b))


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128, np.int32])
def test_larger_2d_match_scipy(op, method, dtype):
    rng = np.random.default_rng(5)
    a, b = _random(rng, (40, 33), dtype), _random(rng, (7, 4), dtype)
    ours, theirs = OPS[op]
    for mode in MODES:
        got = ours(a, b, mode, method)
        want = theirs(a, b, mode, method)
        assert got.dtype == want.dtype and got.shape == want.shape
        _assert_matches(got, _reference(op, a, b, mode), want.dtype, _scale(a, b))


def test_hand_computed():
    np.testing.assert_allclose(convolve([1, 2, 3], [0, 1, 0.5]), [0, 1, 2.5, 4, 1.5])
    np.testing.assert_array_equal(correlate([1, 2, 3, 4], [1, 0, -1], mode="valid"), [-2, -2])
    # 2-D: the kernel [[1, 2]] flipped for convolution, laid as written for correlation
    x = np.array([[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(convolve(x, [[1, 2]], "valid"), [[2 + 2, 4 + 3], [8 + 5, 10 + 6]])
    np.testing.assert_array_equal(correlate(x, [[1, 2]], "valid"), [[1 + 4, 2 + 6], [4 + 10, 5 + 12]])
    # correlation conjugates the kernel: sum x[n+m] conj(k[m])
    np.testing.assert_allclose(correlate([1, 1j], [1j], method="direct"), [-1j, 1])
    np.testing.assert_allclose(correlate([1, 1j], [1j], method="fft"), [-1j, 1], atol=1e-15)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("method", METHODS)
def test_zero_dimensional(op, method):
    a, b = np.array(2 + 1j), np.array(3 - 2j)
    want = a * (b if op == "convolve" else np.conj(b))
    got = OPS[op][0](a, b, "full", method)
    assert np.asarray(got).shape == () and np.asarray(got).dtype == np.complex128
    assert got == want == OPS[op][1](a, b)
    got = OPS[op][0](np.array(3, np.int16), np.array(4, np.uint8), "same", method)
    assert got == 12 and np.asarray(got).dtype == np.int16


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", MODES)
def test_one_element_and_large_kernels(op, method, mode):
    rng = np.random.default_rng(6)
    ours, theirs = OPS[op]
    cases = [((1,), (1,)), ((1,), (5,)), ((5,), (1,)), ((3,), (9,)), ((1, 1), (1, 1)),
             ((2, 3), (6, 7)), ((1, 4, 2), (3, 5, 2))]
    for s1, s2 in cases:
        a, b = _random(rng, s1, np.float64), _random(rng, s2, np.float64)
        got, want = ours(a, b, mode, method), theirs(a, b, mode, method)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("method", METHODS)
def test_valid_swapped_inputs(op, method):
    rng = np.random.default_rng(7)
    a, b = _random(rng, (3, 4), np.complex128), _random(rng, (6, 9), np.complex128)
    got, want = OPS[op][0](a, b, "valid", method), OPS[op][1](a, b, "valid", method)
    assert got.shape == want.shape == (4, 6)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("method", METHODS)
def test_valid_mixed_sizes_is_refused(op, method):
    with pytest.raises(ValueError, match="valid"):
        OPS[op][0](np.ones((3, 6)), np.ones((5, 2)), "valid", method)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("s1,s2", [((0,), (3,)), ((3,), (0,)), ((0,), (0,)), ((0,), (1,)),
                                   ((0, 3), (2, 2)), ((2, 2), (0, 3))])
def test_empty_inputs_as_scipy_direct(op, method, mode, s1, s2):
    # scipy's own fft path fails on empty inputs with an IndexError (a scipy bug), so
    # its direct path is the reference for every method
    a, b = np.zeros(s1), np.zeros(s2)
    try:
        want = OPS[op][1](a, b, mode, method="direct")
    except ValueError:
        with pytest.raises(ValueError, match="empty|valid"):
            OPS[op][0](a, b, mode, method)
        return
    got = OPS[op][0](a, b, mode, method)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


# ----------------------------------------------------------------------------- errors

@pytest.mark.parametrize("op", sorted(OPS))
def test_errors(op):
    f = OPS[op][0]
    with pytest.raises(ValueError, match="mode"):
        f([1, 2], [1], mode="circular")
    with pytest.raises(ValueError, match="method"):
        f([1, 2], [1], method="overlap")
    with pytest.raises(ValueError, match="dimensionality"):
        f(np.ones((2, 2)), np.ones(2))
    with pytest.raises(TypeError, match="numeric"):
        f(np.array(["a", "b"]), [1])
    with pytest.raises(TypeError, match="object array of Python ints convolves with integers only"):
        f([1.0, 2.0], np.array([1, 2], dtype=object))
    with pytest.raises(ValueError, match="stride"):
        f([1, 2, 3], [1], stride=0)
    with pytest.raises(ValueError, match="dilation"):
        f([1, 2, 3], [1], dilation=0)
    with pytest.raises(ValueError, match="stride"):
        f(np.ones((3, 3)), np.ones((2, 2)), stride=(1, 2, 3))
    with pytest.raises(ValueError, match="dilation"):
        f(np.ones((3, 3)), np.ones((2, 2)), dilation=(2,))
    with pytest.raises(ValueError, match="boundary must be one of.*constant.*reflect.*mirror"):
        f([1, 2, 3], [1, 1], boundary="zero")
    with pytest.raises(ValueError, match="incompatible"):
        f(np.ones((3, 4)), np.ones((2, 2)), axes=0)
    with pytest.raises(ValueError, match="out of range"):
        f(np.ones((3, 4)), np.ones((2, 2)), axes=2)
    with pytest.raises(TypeError, match="cval"):
        f([1, 2, 3], [1, 1], cval=[1, 2])


# ----------------------------------------------------------------------------- exact integers

def _object_convolve(a, b, mode="full"):
    """np.convolve on Python ints: exact, whatever the size."""
    return np.convolve(np.asarray(a).astype(object), np.asarray(b).astype(object), mode)


@pytest.mark.parametrize("method", METHODS)
def test_uint8_overflow_raises(method):
    a = np.full(300, 255, np.uint8)
    with pytest.raises(OverflowError, match=OVERFLOW):
        convolve(a, np.ones(2, np.uint8), method=method)
    with pytest.raises(OverflowError, match=OVERFLOW):
        correlate(np.ones(300, np.uint8), np.ones(300, np.uint8), "same", method=method)


@pytest.mark.parametrize("method", METHODS)
def test_small_ints_exact_in_result_dtype(method):
    a = np.array([200, 55, 0, 3], np.uint8)
    b = np.array([1, 0], np.uint8)
    got = convolve(a, b, method=method)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, _object_convolve(a, b).astype(int))


@pytest.mark.parametrize("method", METHODS)
def test_intermediate_sums_may_exceed_the_dtype(method):
    # 100 + 100 passes 127 on the way, but the exact result 100 fits int8
    a = np.array([100, 100, -100], np.int8)
    got = convolve(a, np.ones(3, np.int8), "valid", method=method)
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, [100])


@pytest.mark.parametrize("method", METHODS)
def test_int32_overflow_raises(method):
    a = np.full(50, 2**30, np.int32)
    with pytest.raises(OverflowError, match=OVERFLOW):
        convolve(a, np.array([1, 1, 1], np.int32), method=method)
    np.testing.assert_array_equal(convolve(a.astype(np.int64), np.array([1, 1, 1]), method=method),
                                  _object_convolve(a, [1, 1, 1]).astype(np.int64))


@pytest.mark.parametrize("method", METHODS)
def test_int64_near_the_limit(method):
    big = 2**62
    # fits: 2**62 - 1 + 2**62 == int64 max
    a = np.array([big - 1, big, -big], np.int64)
    got = convolve(a, np.array([1, 1], np.int64), method=method)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got.astype(object), _object_convolve(a, [1, 1]))
    with pytest.raises(OverflowError, match=OVERFLOW):
        convolve(np.array([big, big], np.int64), np.array([1, 1], np.int64), method=method)
    with pytest.raises(OverflowError, match=OVERFLOW):
        correlate(np.array([-big, -big, -big]), np.array([1, 1, 1]), "valid", method=method)
    # the most negative int64 fits
    got = correlate(np.array([-big, -big]), np.array([1, 1]), "valid", method=method)
    assert got.dtype == np.int64 and got.tolist() == [-2**63]


@pytest.mark.parametrize("method", METHODS)
def test_large_int64_values_are_exact(method):
    # products near 2**50 summed over 60 taps: far beyond float64's 53-bit mantissa
    rng = np.random.default_rng(8)
    a = rng.integers(-2**25, 2**25, size=200, dtype=np.int64) * 3 + 1
    b = rng.integers(-2**25, 2**25, size=60, dtype=np.int64) * 3 + 1
    for mode in MODES:
        got = convolve(a, b, mode, method)
        assert got.dtype == np.int64
        want = _object_convolve(a, b, "full")
        start = {"full": 0, "same": (b.size - 1) // 2, "valid": b.size - 1}[mode]
        length = {"full": a.size + b.size - 1, "same": a.size, "valid": a.size - b.size + 1}[mode]
        np.testing.assert_array_equal(got.astype(object), want[start:start + length])


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_integers_exact_or_overflow(data):
    dtype = data.draw(st.sampled_from([np.uint8, np.int16, np.int32, np.int64]))
    info = np.iinfo(dtype)
    method = data.draw(st.sampled_from(METHODS))
    mode = data.draw(st.sampled_from(MODES))
    n = data.draw(st.integers(1, 40))
    k = data.draw(st.integers(1, n if mode == "valid" else 20))
    magnitude = data.draw(st.integers(1, 64 if dtype == np.int64 else info.bits))
    hi = min(int(info.max), 2**magnitude - 1)
    lo = max(int(info.min), -hi)
    ints = st.integers(lo, hi)
    a = np.array(data.draw(st.lists(ints, min_size=n, max_size=n)), dtype=dtype)
    b = np.array(data.draw(st.lists(ints, min_size=k, max_size=k)), dtype=dtype)
    op = data.draw(st.sampled_from(sorted(OPS)))
    bo = b if op == "convolve" else b[::-1]
    want = _object_convolve(a, bo, "full")
    start = {"full": 0, "same": (k - 1) // 2, "valid": k - 1}[mode]
    length = {"full": n + k - 1, "same": n, "valid": n - k + 1}[mode]
    want = want[start:start + length]
    if min(want) < info.min or max(want) > info.max:
        with pytest.raises(OverflowError, match=OVERFLOW):
            OPS[op][0](a, b, mode, method)
    else:
        got = OPS[op][0](a, b, mode, method)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got.astype(object), want)


# ----------------------------------------------------------------------------- fftconvolve

@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_fftconvolve_matches_scipy(data):
    ndim = data.draw(st.integers(1, 3))
    mode = data.draw(st.sampled_from(MODES))
    axes = data.draw(st.one_of(st.none(), st.lists(st.integers(-ndim, ndim - 1), min_size=1,
                                                  max_size=ndim, unique_by=lambda v: v % ndim)))
    conv = set(range(ndim)) if axes is None else {ax % ndim for ax in axes}
    s1, s2 = [], []
    for ax in range(ndim):
        if ax in conv:
            s1.append(data.draw(st.integers(1, 7)))
            s2.append(data.draw(st.integers(1, 7)))
        else:   # broadcast: equal or 1
            n = data.draw(st.integers(1, 4))
            pair = data.draw(st.sampled_from([(n, n), (1, n), (n, 1)]))
            s1.append(pair[0])
            s2.append(pair[1])
    dtype = data.draw(st.sampled_from(DTYPES))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    a, b = _random(rng, tuple(s1), dtype), _random(rng, tuple(s2), dtype)
    try:
        want = ss.fftconvolve(a, b, mode, axes)
    except ValueError as exc:
        with pytest.raises(ValueError, match="valid"):
            fftconvolve(a, b, mode, axes)
        assert "valid" in str(exc)
        return
    got = fftconvolve(a, b, mode, axes)
    assert got.shape == want.shape and got.dtype == want.dtype
    tol = _tolerance(want.dtype, a.dtype, b.dtype)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(_scale(a, b), 1e-300))


def test_fftconvolve_special_inputs():
    assert fftconvolve(np.array(2.0), np.array(3.0)) == ss.fftconvolve(np.array(2.0), np.array(3.0))
    for s1, s2 in [((0,), (2,)), ((0, 2), (2, 2))]:
        got, want = fftconvolve(np.zeros(s1), np.ones(s2)), ss.fftconvolve(np.zeros(s1), np.ones(s2))
        assert got.shape == want.shape and got.dtype == want.dtype


FFT_ERRORS = [  # (in1, in2, mode, axes): each raises ValueError in scipy.signal.fftconvolve
    ((3, 4), (2, 2), "bad", None),
    ((3, 4), (2,), "full", None),
    ((3, 4), (2, 2), "full", []),
    ((3, 4), (2, 2), "full", [0, 0]),
    ((3, 4), (2, 2), "full", [2]),
    ((3, 4), (2, 2), "full", [-3]),
    ((3, 4), (2, 2), "full", [0.5]),
    ((3, 4), (2, 2), "full", 0),
    ((5, 6, 2, 1), (5, 6, 3, 1), "full", [0, 1]),
    ((3, 2), (2, 3), "valid", None),
    ((3, 2), (2, 3), "bad", [0, 0]),        # scipy's order: the axes are checked first
    ((3, 2), (2, 3), "bad", None),          # ... and the shapes for 'valid' before the mode
]


@pytest.mark.parametrize("s1, s2, mode, axes", FFT_ERRORS)
def test_fftconvolve_errors_in_scipys_exact_words(s1, s2, mode, axes):
    # scipy's own tests match these messages: the installed scipy is the oracle
    with pytest.raises(ValueError) as want:
        ss.fftconvolve(np.ones(s1), np.ones(s2), mode, axes=axes)
    with pytest.raises(ValueError) as got:
        fftconvolve(np.ones(s1), np.ones(s2), mode, axes=axes)
    assert str(got.value) == str(want.value)


def test_fftconvolve_non_numeric_input():
    with pytest.raises(TypeError, match="numeric"):
        fftconvolve(np.array(["a"]), np.array(["b"]))


def test_workers():
    rng = np.random.default_rng(9)
    a, b = rng.standard_normal((64, 50)), rng.standard_normal((9, 12))
    want = ss.convolve(a, b, method="fft")
    for workers in (1, 2, -1):
        np.testing.assert_allclose(convolve(a, b, method="fft", workers=workers), want,
                                   rtol=1e-10, atol=1e-10 * _scale(a, b))
        np.testing.assert_allclose(fftconvolve(a, b, "same", workers=workers),
                                   ss.fftconvolve(a, b, "same"), rtol=1e-10,
                                   atol=1e-10 * _scale(a, b))


# ----------------------------------------------------------------------------- beyond scipy

@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_axes_boundary_stride_dilation(data):
    """Every keyword option at once against pad + scipy 'valid' over the conv axes."""
    op = data.draw(st.sampled_from(sorted(OPS)))
    mode = data.draw(st.sampled_from(MODES))
    method = data.draw(st.sampled_from(METHODS))
    ndim = data.draw(st.integers(1, 3))
    use_axes = data.draw(st.booleans())
    axes = tuple(data.draw(st.permutations(range(ndim)))[:data.draw(st.integers(1, ndim))]) \
        if use_axes else None
    conv = list(range(ndim)) if axes is None else list(axes)
    boundary = data.draw(st.sampled_from(sorted(NUMPY_MODE)))
    cval = data.draw(st.sampled_from([0, 0, 1.5, -2]))
    stride = tuple(data.draw(st.integers(1, 3)) for _ in conv)
    dilation = tuple(data.draw(st.integers(1, 3)) for _ in conv)
    s1, s2 = [], []
    for ax in range(ndim):
        if ax in conv:
            s1.append(data.draw(st.integers(1, 9)))
            s2.append(data.draw(st.integers(1, 4)))
        else:
            n = data.draw(st.integers(1, 3))
            pair = data.draw(st.sampled_from([(n, n), (1, n), (n, 1)]))
            s1.append(pair[0])
            s2.append(pair[1])
    if mode == "valid":   # the (dilated) kernel must fit, or be larger in every conv axis
        ext = {ax: dilation[conv.index(ax)] * (s2[ax] - 1) + 1 for ax in conv}
        if not (all(s1[ax] >= ext[ax] for ax in conv) or all(s1[ax] <= ext[ax] for ax in conv)):
            for ax in conv:
                s1[ax] = max(s1[ax], ext[ax])
    dtype = data.draw(st.sampled_from([np.float64, np.complex128, np.float32, np.int64]))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    a, b = _random(rng, tuple(s1), dtype), _random(rng, tuple(s2), dtype)
    if dtype == np.int64:
        cval = int(cval)
    kwargs = dict(axes=axes, boundary=boundary, cval=cval,
                  stride=stride if len(stride) > 1 or data.draw(st.booleans()) else stride[0],
                  dilation=dilation)
    got = OPS[op][0](a, b, mode, method, **kwargs)
    want = _reference(op, a, b, mode, **kwargs)
    _assert_matches(got, want, np.result_type(a, b), _scale(a, b, cval), (a.dtype, b.dtype))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("axes,kshape", [(0, (4, 9, 1)), (1, (1, 3, 3)), (-1, (12, 1, 2)),
                                         ((1, 0), (4, 3, 1)), ((0, 2), (4, 1, 2)),
                                         ((2, 0), (5, 9, 3))])
def test_axes_match_scipy_fftconvolve(method, axes, kshape):
    rng = np.random.default_rng(10)
    a = rng.standard_normal((12, 9, 3))
    b = rng.standard_normal(kshape)
    for mode in MODES:
        want = ss.fftconvolve(a, b, mode, axes=axes)
        got = convolve(a, b, mode, method, axes=axes)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * _scale(a, b))


@pytest.mark.parametrize("boundary", ["constant", "reflect", "mirror", "nearest", "wrap"])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape,kshape", [((11,), (3,)), ((2,), (5,)), ((1,), (3,)),
                                          ((9, 8), (3, 5)), ((4, 1), (5, 3)), ((6, 5, 4), (3, 1, 3))])
def test_same_correlation_equals_ndimage(boundary, method, shape, kshape):
    rng = np.random.default_rng(11)
    x, k = rng.standard_normal(shape), rng.standard_normal(kshape)
    got = correlate(x, k, "same", method, boundary=boundary, cval=0.75)
    want = ndimage.correlate(x, k, mode=boundary, cval=0.75)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * _scale(x, k, 0.75))


@pytest.mark.parametrize("alias,name", [("fill", "constant"), ("symm", "reflect"),
                                        ("symmetric", "reflect"), ("edge", "nearest"),
                                        ("replicate", "nearest"), ("circular", "wrap"),
                                        ("grid-constant", "grid-constant"),
                                        ("grid-mirror", "grid-mirror"), ("periodic", "wrap"),
                                        ("grid-wrap", "grid-wrap"), ("Reflect", "reflect")])
def test_boundary_aliases_equal_ndimage(alias, name):
    rng = np.random.default_rng(12)
    x, k = rng.standard_normal((7, 6)), rng.standard_normal((3, 3))
    np.testing.assert_allclose(correlate(x, k, "same", boundary=alias, cval=-1.0),
                               ndimage.correlate(x, k, mode=name, cval=-1.0),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", MODES)
def test_stride_slices_the_unstrided_result(op, method, mode):
    rng = np.random.default_rng(13)
    a, b = rng.standard_normal((17, 14)), rng.standard_normal((4, 3))
    f = OPS[op][0]
    full = f(a, b, mode, method)
    for stride in (2, 3, (1, 4), (5, 2)):
        s = (stride, stride) if np.isscalar(stride) else stride
        got = f(a, b, mode, method, stride=stride)
        want = full[::s[0], ::s[1]]
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * _scale(a, b))
        np.testing.assert_allclose(got, OPS[op][1](a, b, mode)[::s[0], ::s[1]], rtol=1e-10,
                                   atol=1e-10 * _scale(a, b))


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", MODES)
def test_dilation_equals_zero_stuffed_kernel(op, method, mode):
    rng = np.random.default_rng(14)
    a, b = rng.standard_normal((20, 16)), rng.standard_normal((3, 2))
    for dilation in (2, (3, 1), (1, 4)):
        d = (dilation, dilation) if np.isscalar(dilation) else dilation
        stuffed = np.zeros((d[0] * 2 + 1, d[1] + 1))
        stuffed[::d[0], ::d[1]] = b
        got = OPS[op][0](a, b, mode, method, dilation=dilation)
        want = OPS[op][1](a, stuffed, mode)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10 * _scale(a, b))


@pytest.mark.parametrize("method", METHODS)
def test_stride_and_dilation_by_hand(method):
    # kernel [1, 10] dilated by 2 is [1, 0, 10]; valid correlation of 0..7, every 2nd
    got = correlate(np.arange(8), [1, 10], "valid", method, stride=2, dilation=2)
    np.testing.assert_array_equal(got, [0 + 20, 2 + 40, 4 + 60])


LARGER_CASES = [
    # (in1 shape, in2 shape, dtype, kwargs): long 1-D signals and single-axis kernels
    # (where "auto" may use overlap-add), and images big enough for the threaded direct path
    ((5000,), (60,), np.float64, {}),
    ((5000,), (200,), np.complex128, {"stride": 3}),
    ((5000,), (60,), np.float64, {"boundary": "reflect", "dilation": 2}),
    ((4000,), (45,), np.float32, {"boundary": "wrap", "stride": 2}),
    ((8, 4000), (1, 100), np.float64, {}),
    ((8, 4000), (1, 100), np.float64, {"axes": -1, "boundary": "nearest"}),
    ((700, 500), (5, 5), np.float32, {}),
    ((700, 500), (5, 5), np.float64, {"boundary": "mirror", "stride": (3, 2), "dilation": (2, 3)}),
    ((60, 70, 80), (3, 1, 3), np.float64, {"axes": (0, 2), "boundary": "constant", "cval": 2.0}),
]


_LARGER_REFERENCE = {}


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", range(len(LARGER_CASES)))
def test_larger_inputs_every_engine(op, method, case):
    s1, s2, dtype, kwargs = LARGER_CASES[case]
    rng = np.random.default_rng(18)
    a, b = _random(rng, s1, dtype), _random(rng, s2, dtype)
    mode = "same" if kwargs else "full"
    got = OPS[op][0](a, b, mode, method, **kwargs)
    if (op, case) not in _LARGER_REFERENCE:   # the slow reference once per case
        _LARGER_REFERENCE[op, case] = _reference(op, a, b, mode, **kwargs)
    want = _LARGER_REFERENCE[op, case]
    _assert_matches(got, want, np.result_type(a, b), _scale(a, b, kwargs.get("cval", 0)),
                    (a.dtype, b.dtype))


# ----------------------------------------------------------------------------- NaN / Inf

def _assert_same_nonfinite(got, want, rtol):
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    np.testing.assert_array_equal(np.signbit(got[np.isinf(got)]), np.signbit(want[np.isinf(want)]))
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=rtol,
                               atol=rtol * float(np.abs(want[fin]).max(initial=1.0)))


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-9), (np.float32, 1e-4)])
@pytest.mark.parametrize("mode", MODES)
def test_nan_placement_large_1d(dtype, rtol, mode):
    rng = np.random.default_rng(15)
    x = rng.standard_normal(20000).astype(dtype)
    k = rng.standard_normal(500).astype(dtype)
    x[10000] = np.nan
    got = convolve(x, k, mode, "auto")
    want = convolve(x, k, mode, "direct")
    _assert_same_nonfinite(got, want, rtol)
    # only the outputs whose window covers sample 10000 are NaN
    start = {"full": 0, "same": (500 - 1) // 2, "valid": 500 - 1}[mode]
    expected = np.zeros(20000 + 499, bool)
    expected[10000:10000 + 500] = True
    np.testing.assert_array_equal(np.isnan(got), expected[start:start + got.size])
    fin = ~expected[start:start + got.size]
    np.testing.assert_allclose(got[fin], ss.convolve(np.nan_to_num(x), k, mode)[fin],
                               rtol=rtol, atol=rtol * 100)


def _nonfinite_case():
    rng = np.random.default_rng(16)
    x = rng.standard_normal((200, 180))
    k = rng.standard_normal((21, 17))
    k[3, 4] = 0.0            # 0 * inf is NaN in direct summation
    x[50, 60] = np.nan
    x[120, 30] = np.inf
    x[10, 170] = -np.inf
    return x, k


@pytest.mark.parametrize("op", sorted(OPS))
def test_nan_and_inf_placement_2d(op):
    x, k = _nonfinite_case()
    f = OPS[op][0]
    with np.errstate(invalid="ignore"):   # the warnings are test_nonfinite_inputs_do_not_warn's
        for mode in MODES:
            _assert_same_nonfinite(f(x, k, mode, "auto"), f(x, k, mode, "direct"), 1e-9)
            _assert_same_nonfinite(f(x, k, mode, "auto", boundary="reflect", stride=(2, 3)),
                                   f(x, k, mode, "direct", boundary="reflect", stride=(2, 3)),
                                   1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_nonfinite_inputs_do_not_warn(method):
    # scipy.signal returns the NaNs silently (and pyproject makes a RuntimeWarning
    # from convkit an error anyway)
    x, k = _nonfinite_case()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        ss.convolve(x, k, "same", "direct")
        convolve(x, k, "same", method)


def test_nan_in_kernel():
    rng = np.random.default_rng(17)
    x, k = rng.standard_normal(3000), rng.standard_normal(300)
    k[7] = np.nan
    _assert_same_nonfinite(convolve(x, k, "same"), convolve(x, k, "same", "direct"), 1e-9)


# ----------------------------------------------------------------------------- choose_method

def test_choose_method_small_kernel_on_large_image_is_direct():
    img = np.zeros((2048, 2048), np.float32)
    assert choose_method(img, np.ones((3, 3), np.float32)) == "direct"


def test_choose_method_two_long_signals_is_fft():
    a = np.zeros(100000)
    assert choose_method(a, np.ones(100000)) == "fft"


def test_choose_method_errors():
    with pytest.raises(ValueError, match="mode"):
        choose_method([1, 2], [1], mode="bad")
    with pytest.raises(TypeError, match="numeric"):
        choose_method(np.array(["a"]), [1])


@pytest.mark.parametrize("boundary", ["constant", "reflect", "mirror", "nearest", "wrap"])
@pytest.mark.parametrize("shape, kshape, dilation", [((300, 301), (5, 4), 1), ((260, 270), (3, 5), 2),
                                                     ((70, 80, 12), (3, 3, 1), 1), ((70000,), (7,), 1)])
def test_same_without_padding_copy_equals_padded_reference(boundary, shape, kshape, dilation):
    # large 'same' outputs take the path that never pads the whole input; the reference pads
    # with numpy and correlates the zero-stuffed kernel in scipy's "valid" mode
    rng = np.random.default_rng(23)
    x = rng.standard_normal(shape).astype(np.float32)
    k = rng.standard_normal(kshape).astype(np.float32)
    stuffed = np.zeros(tuple(dilation * (n - 1) + 1 for n in kshape), np.float64)
    stuffed[tuple(slice(None, None, dilation) for _ in kshape)] = k
    widths = [(n // 2, (n - 1) // 2) for n in stuffed.shape]
    numpy_mode = {"constant": "constant", "reflect": "symmetric", "mirror": "reflect",
                  "nearest": "edge", "wrap": "wrap"}[boundary]
    extra = {"constant_values": 1.5} if boundary == "constant" else {}
    want = ss.correlate(np.pad(x.astype(np.float64), widths, numpy_mode, **extra), stuffed, "valid")
    got = correlate(x, k, "same", "direct", boundary=boundary, cval=1.5, dilation=dilation)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_zeros_boundary_is_constant_zero():
    rng = np.random.default_rng(13)
    x, k = rng.standard_normal((6, 7)), rng.standard_normal((3, 5))
    np.testing.assert_allclose(correlate(x, k, "same", boundary="zeros"),
                               ndimage.correlate(x, k, mode="constant", cval=0.0),
                               rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="boundary 'zeros' pads with 0, got cval=2"):
        correlate(x, k, boundary="zeros", cval=2)


@pytest.mark.parametrize("func", [convolve, correlate])
def test_docs_of_every_keyword_option(func):
    # each keyword-only parameter of the signature is documented (correlate: nan_policy, origin)
    import inspect
    from convkit._names import NAN_POLICIES
    doc = " ".join(func.__doc__.split())
    for name, param in inspect.signature(func).parameters.items():
        if param.kind is param.KEYWORD_ONLY:
            assert name in doc, name
    assert all(repr(p) in doc for p in NAN_POLICIES)


@pytest.mark.parametrize("func", [convolve, fftconvolve])
def test_docs_list_every_accepted_value(func):
    from convkit._names import METHODS, MODES
    from convkit.boundary import BOUNDARY_NAMES

    doc = func.__doc__
    assert "%(" not in doc
    text = " ".join(doc.split())
    for value in MODES:
        assert repr(value) in text
    if func is not fftconvolve:
        for value in METHODS:
            assert repr(value) in text
    if func is convolve:
        for name in BOUNDARY_NAMES:
            assert name in text


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("option", ["mode", "method"])
def test_option_errors_list_the_accepted_values(op, option):
    # scipy's own words (its test suites match them), then the value given
    with pytest.raises(ValueError) as want:
        OPS[op][1]([1, 2], [1], **{option: "x"})
    with pytest.raises(ValueError) as got:
        OPS[op][0]([1, 2], [1], **{option: "x"})
    listed = re.match(r"Acceptable \w+ flags are (?:'\w+', )*or '\w+'", str(want.value)).group(0)
    assert str(got.value) == f"{listed}; got {option}='x'"


# ----------------------------------------------------------------------------- integer fill rule

@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("cval", [1.54, 0.5, -2.25, float("nan")])
def test_integer_result_refuses_a_fractional_cval_on_every_engine(method, cval):
    # the peer-suite case: direct truncated 1.54 to 1, the FFT padded with 1.54 and rounded
    with pytest.raises(ValueError, match=r"cval=.* is not an integer, and the result dtype int64 "
                                         r"pads with integers only"):
        correlate(np.array([1, 2, 3]), np.array([1, 1, 1]), "same", method,
                  boundary="constant", cval=cval)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint16, bool])
def test_integer_result_with_an_integral_cval_is_one_answer(method, dtype):
    x = np.array([1, 0, 3, 1, 2, 0, 1], dtype=dtype)
    k = np.array([1, 1, 0], dtype=dtype)
    for cval in (2, 2.0, np.int16(-1)) if dtype not in (np.uint16, bool) else (1, 1.0):
        got = correlate(x, k, "same", method, boundary="constant", cval=cval)
        padded = np.concatenate([[int(cval)], x.astype(np.int64), [int(cval)]])
        want = np.array([padded[i:i + 3] @ k.astype(np.int64) for i in range(x.size)])
        assert got.dtype == np.result_type(x, k)
        np.testing.assert_array_equal(got, want.astype(got.dtype))


def test_float_result_keeps_a_fractional_cval():
    # integer input, float kernel: the result is float and the fill stays 1.54 (as ndimage)
    x = np.array([1, 2, 3])
    got = correlate(x, np.ones(3), "same", boundary="constant", cval=1.54)
    np.testing.assert_allclose(got, ndimage.correlate(x.astype(float), np.ones(3), mode="constant",
                                                      cval=1.54))


# ----------------------------------------------------------------------------- rank-1 kernels

@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("options", [{}, {"stride": (2, 3)}, {"dilation": (2, 1)},
                                     {"boundary": "reflect", "stride": 2}, {"boundary": "wrap"},
                                     {"boundary": "constant", "cval": 0.5}])
def test_rank_one_kernels_split_in_the_direct_engine(dtype, mode, options):
    rng = np.random.default_rng(31)
    x = rng.standard_normal((40, 37)).astype(dtype)
    col, row = rng.standard_normal(7), rng.standard_normal(6)
    k = np.outer(col, row).astype(dtype)
    if dtype == np.complex128:
        x = x + 1j * rng.standard_normal(x.shape)
        k = np.outer(col + 1j, row - 0.5j)
    from convkit.convolution import plan
    c = plan(x, k, mode, "direct", **options)
    assert c.problem.factors is not None                     # the engine takes two 1-D passes
    for op in ("convolve", "correlate"):
        got = OPS[op][0](x, k, mode, "direct", **options)
        want = _reference(op, x, k, mode, **options)
        tol = 2e-5 if dtype == np.float32 else 1e-10
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())
        assert got.dtype == np.result_type(x, k)


def test_rank_one_split_keeps_nan_and_inf_where_the_sums_put_them():
    x = np.ones((12, 12))
    x[3, 4], x[8, 8] = np.nan, np.inf
    k = np.outer([1.0, -2.0, 1.0, 3.0], [0.5, 0.0, -1.0, 2.0, 1.0])
    got = correlate(x, k, "same", "direct")
    want = ss.correlate(x, k, "same", method="direct")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[np.isfinite(want)], want[np.isfinite(want)], rtol=1e-12)
    assert correlate(x, np.ones((4, 5)), "same", "direct").shape == x.shape


def test_full_rank_kernels_are_not_split():
    from convkit.convolution import plan
    k = np.eye(5) + 0.01
    assert plan(np.ones((9, 9)), k).problem.factors is None
    assert plan(np.ones((9, 9), int), np.ones((5, 5), int)).problem.factors is None   # exact ints


# ----------------------------------------------------------------------------- origin (ndimage)

NDI = {"constant": "constant", "reflect": "reflect", "mirror": "mirror", "nearest": "nearest",
       "wrap": "grid-wrap"}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("boundary", list(NDI))
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_origin_1d_is_ndimage_origin(method, boundary, k):
    rng = np.random.default_rng(40 + k)
    x, w = rng.standard_normal(23), rng.standard_normal(k)
    for o in range(-(k // 2), (k - 1) // 2 + 1):
        got = correlate(x, w, "same", method, boundary=boundary, cval=0.25, origin=o)
        want = ndimage.correlate(x, w, mode=NDI[boundary], cval=0.25, origin=o)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    # convolve: ndimage anchors an even kernel one cell off scipy.signal's 'same', so its
    # origin o is our o + 1 there; the range is correlate's mirrored
    for o in range(-((k - 1) // 2), k // 2 + 1):
        got = convolve(x, w, "same", method, boundary=boundary, cval=0.25, origin=o)
        want = ndimage.convolve(x, w, mode=NDI[boundary], cval=0.25, origin=o - (1 - k % 2))
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", [(19, 16), (260, 270)])     # the second: 'same' without a padded copy
def test_origin_per_axis_2d_and_strided(method, shape):
    rng = np.random.default_rng(44)
    x, w = rng.standard_normal(shape), rng.standard_normal((4, 5))
    want = ndimage.correlate(x, w, mode="mirror", origin=(-2, 1))
    got = correlate(x, w, "same", method, boundary="mirror", origin=(-2, 1))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    got = correlate(x, w, "same", method, boundary="mirror", origin=(1, -2), axes=(1, 0),
                    stride=(3, 2))
    np.testing.assert_allclose(got, want[::2, ::3], rtol=1e-10, atol=1e-12)


def test_origin_in_chunks_and_with_nan_policy():
    import dask.array as da
    rng = np.random.default_rng(45)
    x, w = rng.standard_normal((21, 18)), rng.random((3, 4))
    want = ndimage.correlate(x, w, mode="wrap", origin=(1, -2))
    lazy = correlate(da.from_array(x, chunks=5), w, "same", boundary="wrap", origin=(1, -2))
    np.testing.assert_allclose(lazy.compute(), want, rtol=1e-10, atol=1e-12)
    x[4, 5] = np.nan
    got = correlate(x, w, "same", boundary="wrap", origin=(1, -2), nan_policy="omit")
    assert np.isfinite(got).all()


def test_origin_errors():
    with pytest.raises(ValueError, match=r"correlate: origin 2 along axis 0 is outside \[-2, 1\] "
                                         r"for a kernel of extent 4"):
        correlate(np.ones(9), np.ones(4), "same", origin=2)
    with pytest.raises(ValueError, match=r"convolve: origin -2 along axis 0 is outside \[-1, 2\]"):
        convolve(np.ones(9), np.ones(4), "same", origin=-2)
    with pytest.raises(ValueError, match=r"origin needs mode='same', got mode='full'"):
        correlate(np.ones(9), np.ones(3), origin=1)
    with pytest.raises(ValueError, match=r"origin must have one entry per axis \(2\)"):
        correlate(np.ones((5, 5)), np.ones((3, 3)), "same", origin=(1, 0, 0))


# ----------------------------------------------------------------------------- object arrays

@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("method", ["auto", "direct", "fft"])
def test_object_arrays_are_exact_as_scipy(mode, method):
    rng = np.random.default_rng(1)
    a = np.array([int(v) * 2**70 + 1 for v in rng.integers(-9, 9, 11)], dtype=object)
    b = np.array([int(v) * 2**65 - 3 for v in rng.integers(-9, 9, 4)], dtype=object)
    for ours, theirs in [(convolve, ss.convolve), (correlate, ss.correlate)]:
        got = ours(a, b, mode, method)
        want = theirs(a, b, mode, "direct")
        assert got.dtype == object and got.tolist() == want.tolist()
    assert (convolve(a, np.array([1, 2], np.int64)).tolist()
            == ss.convolve(a, np.array([1, 2], dtype=object)).tolist())


def test_object_arrays_2d_match_exact_integer_reference():
    rng = np.random.default_rng(2)
    small = rng.integers(-50, 50, (5, 6))
    kernel = rng.integers(-5, 5, (3, 2))
    want = ss.convolve(small, kernel).astype(object) * 2**80     # exact: scaled after the int64 sum
    got = convolve(small.astype(object) * 2**80, kernel.astype(object))
    assert got.dtype == object and got.tolist() == want.tolist()


def test_object_arrays_refuse_non_ints():
    with pytest.raises(TypeError, match=r"an object array in1 must hold Python ints .* got an element 1.5"):
        convolve(np.array([1.5, 2], dtype=object), [1, 2])
