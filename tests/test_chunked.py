"""convkit.chunked against the in-memory calls it stands for (convkit.convolve, correlate,
fftconvolve, filter_image, pool on the computed numpy array), which test_convolution,
test_filters and test_pooling check against scipy; plus scipy.signal directly on a few
cases, so a fault shared by both paths still shows."""

from __future__ import annotations

import re

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.signal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convkit
from convkit import chunked
from convkit._engine.blockwise import AxisPlan, out_chunks
from convkit._engine.overlap_save import OverlapSave

BOUNDARIES = ("constant", "reflect", "mirror", "nearest", "wrap")
RNG = np.random.default_rng(12)


@pytest.fixture(scope="module")
def client():
    """A threaded dask.distributed cluster shared by the module's tests."""
    import distributed
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as c:
            yield c


def _same(got, ref):
    """Equal shape and dtype; integers and bools exactly, float64 to 1e-12 of the scale
    (float32: 2e-6, its rounding)."""
    assert got.shape == ref.shape and got.dtype == ref.dtype, (got.shape, ref.shape, got.dtype, ref.dtype)
    if ref.dtype.kind in "biu":
        np.testing.assert_array_equal(got, ref)
    else:
        scale = np.nanmax(np.abs(ref)) if np.isfinite(ref).any() and ref.size else 1.0
        tol = 1e-12 if np.finfo(ref.dtype).bits >= 64 else 2e-6
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * max(scale, 1e-300))


def _lazy_equal(lazy, ref):
    """`lazy` is a dask array whose declared dtype/shape and computed values equal `ref`."""
    assert chunked.is_dask(lazy)
    got = lazy.compute(scheduler="synchronous")
    assert lazy.dtype == got.dtype and lazy.shape == got.shape
    _same(got, ref)


@st.composite
def conv_cases(draw):
    ndim = draw(st.integers(1, 2))
    axes = draw(st.sampled_from([None] + ([0, 1, (1, 0)] if ndim == 2 else [])))
    shape = list(draw(st.lists(st.integers(1, 11), min_size=ndim, max_size=ndim)))
    kshape = list(draw(st.lists(st.integers(1, 6), min_size=ndim, max_size=ndim)))
    if isinstance(axes, int):
        # the other axis broadcasts: kernel 1, kernel as long as the input, or input 1
        other = 1 - axes
        kind = draw(st.sampled_from(["kernel1", "equal", "input1"]))
        kshape[other] = {"kernel1": 1, "equal": shape[other], "input1": kshape[other]}[kind]
        shape[other] = 1 if kind == "input1" else shape[other]
    chunks = tuple(draw(st.integers(1, n)) for n in shape)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if draw(st.booleans()):
        x, k = rng.integers(-9, 9, shape), rng.integers(-4, 4, kshape).astype(np.int8)
    else:
        x, k = rng.standard_normal(shape), rng.standard_normal(kshape)
    naxes = ndim if axes in (None, (1, 0)) else 1
    kw = dict(mode=draw(st.sampled_from(["full", "same", "valid"])),
              method=draw(st.sampled_from(["auto", "direct", "fft"])),
              boundary=draw(st.sampled_from(BOUNDARIES)), cval=draw(st.integers(-3, 3)),
              stride=draw(st.integers(1, 3)) if naxes == 1 else tuple(draw(st.lists(st.integers(1, 3), min_size=2, max_size=2))),
              dilation=draw(st.integers(1, 3)), axes=axes)
    return x, k, chunks, kw


@pytest.mark.slow
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=conv_cases(), func=st.sampled_from(["convolve", "correlate"]))
def test_property_convolve_correlate_equal_in_memory(case, func):
    x, k, chunks, kw = case
    mode, method = kw.pop("mode"), kw.pop("method")
    try:
        ref = getattr(convkit, func)(x, k, mode, method, **kw)
    except ValueError as exc:
        with pytest.raises(ValueError, match=str(exc).split("(")[0][:30]):
            getattr(convkit, func)(da.from_array(x, chunks=chunks), k, mode, method, **kw)
        return
    out = getattr(convkit, func)(da.from_array(x, chunks=chunks), k, mode, method, **kw)
    _lazy_equal(out, ref)


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_against_scipy_and_wide_pads(boundary, mode):
    # a 9-tap kernel on a 4-long axis in chunks of 1: pads wider than the axis and the chunks
    x = np.array([3.0, -1.0, 4.0, 1.5])
    k = np.arange(1.0, 10.0)
    lazy = convkit.convolve(da.from_array(x, chunks=1), k, mode, boundary=boundary, cval=0.5)
    _lazy_equal(lazy, convkit.convolve(x, k, mode, boundary=boundary, cval=0.5))
    if boundary == "constant" and mode != "valid":
        padded = np.pad(x, 8, constant_values=0.5)
        full = scipy.signal.convolve(padded, k, "valid")
        start = {"full": 0, "same": 4}[mode]
        _same(lazy.compute(), full[start:start + lazy.shape[0]])


def test_even_kernel_same_and_chunks_line_up():
    x = RNG.standard_normal((37, 23))
    k = RNG.standard_normal((4, 6))
    lazy = convkit.correlate(da.from_array(x, chunks=(10, 7)), k, "same", boundary="reflect")
    assert lazy.chunks == ((10, 10, 10, 7), (7, 7, 7, 2))
    _lazy_equal(lazy, convkit.correlate(x, k, "same", boundary="reflect"))
    # stride 3 on chunks of 2: chunks that would be empty merge, none is empty
    strided = convkit.correlate(da.from_array(x, chunks=2), k, "same", stride=3)
    assert all(c > 0 for axis in strided.chunks for c in axis)
    _lazy_equal(strided, convkit.correlate(x, k, "same", stride=3))


def test_out_chunks_follow_input():
    same = AxisPlan(1, 1, 3, 1, 10, 0)
    assert out_chunks((4, 4, 2), same) == (4, 4, 2)
    assert out_chunks((1,) * 10, AxisPlan(1, 1, 3, 4, 3, 0)) == (1, 1, 1)
    valid = AxisPlan(0, 0, 5, 1, 6, 2)        # valid output j sits on input j + 2
    assert out_chunks((4, 4, 2), valid) == (2, 4)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int64, bool, np.float32, np.complex128])
def test_dtypes_declared_equal_computed(dtype):
    x = (RNG.integers(0, 3, (20, 9)) if dtype != np.complex128
         else RNG.standard_normal((20, 9)) + 1j).astype(dtype)
    k = np.ones((3, 2), dtype=dtype)
    for func in (convkit.convolve, convkit.correlate):
        _lazy_equal(func(da.from_array(x, chunks=(6, 4)), k, "same", boundary="nearest"),
                    func(x, k, "same", boundary="nearest"))


def test_overflow_raises_at_compute():
    x = np.full(12, 200, np.uint8)
    lazy = convkit.convolve(da.from_array(x, chunks=5), np.ones(2, np.uint8))
    with pytest.raises(OverflowError, match=r"does not fit the result dtype uint8"):
        lazy.compute()
    # a fill value outside the dtype widens the work dtype, as in memory
    y = np.zeros(6, np.int8)
    k = np.array([0, 1], np.int8)
    with pytest.raises(OverflowError, match=r"\(1000\)"):
        convkit.convolve(y, k, "same", boundary="constant", cval=1000)
    lazy = convkit.convolve(da.from_array(y, chunks=2), k, "same", boundary="constant", cval=1000)
    with pytest.raises(OverflowError, match=r"\(1000\)"):
        lazy.compute()


@pytest.mark.parametrize("method", ["auto", "fft"])
def test_nan_stays_local(method):
    x = np.ones(4000)
    x[1234] = np.nan
    k = np.ones(301)
    lazy = convkit.convolve(da.from_array(x, chunks=500), k, "same", method=method)
    got = lazy.compute()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(convkit.convolve(x, k, "same")))
    assert np.isnan(got).sum() == 301


def test_overlap_save_long_signal_matches_scipy():
    x = RNG.standard_normal(60_000)
    k = RNG.standard_normal(2_001)
    lazy = convkit.convolve(da.from_array(x, chunks=5_000), k)
    assert lazy.chunks[0][0] >= 8_000      # chunks shorter than 4 kernels were rechunked
    assert any(isinstance(layer_task, OverlapSave) or "OverlapSave" in repr(layer_task)
               for layer_task in dict(lazy.__dask_graph__()).values())
    _same(lazy.compute(), scipy.signal.fftconvolve(x, k))
    corr = convkit.correlate(da.from_array(x, chunks=20_000), k, "valid", stride=3, boundary="wrap")
    _same(corr.compute(), convkit.correlate(x, k, "valid", stride=3, boundary="wrap"))


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_fftconvolve(mode):
    x = RNG.standard_normal((30, 17))
    k = RNG.standard_normal((5, 4))
    _lazy_equal(convkit.fftconvolve(da.from_array(x, chunks=(4, 6)), k, mode),
                scipy.signal.fftconvolve(x, k, mode))
    xi = RNG.integers(-5, 5, (1, 40))
    ki = RNG.integers(-5, 5, (3, 7))
    _lazy_equal(convkit.fftconvolve(da.from_array(xi, chunks=9), ki, mode, axes=1),
                convkit.fftconvolve(xi, ki, mode, axes=1))


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("shapes, axes", [(((6, 1, 5), (1, 4, 3)), None), (((6, 7, 5), (6, 1, 2)), (0, 2)),
                                          (((3, 8), (5, 8)), 0), (((1, 9), (4, 3)), None)])
def test_fftconvolve_broadcast_axes_and_valid_swap_as_scipy(mode, shapes, axes):
    # the plan (scipy's transformed axes, its 'same' crop, its 'valid' swap) shapes the graph
    (sx, sk) = shapes
    x, k = RNG.standard_normal(sx), RNG.standard_normal(sk)
    try:
        want = scipy.signal.fftconvolve(x, k, mode, axes=axes)
    except ValueError as exc:
        with pytest.raises(ValueError, match=re.escape(str(exc))):
            convkit.fftconvolve(da.from_array(x, chunks=2), k, mode, axes=axes)
        return
    _lazy_equal(convkit.fftconvolve(da.from_array(x, chunks=2), k, mode, axes=axes), want)


def test_kernel_larger_than_input_valid():
    x = RNG.standard_normal(5)
    k = RNG.standard_normal(12)
    _lazy_equal(convkit.correlate(da.from_array(x, chunks=2), k, "valid"),
                scipy.signal.correlate(x, k, "valid"))


@pytest.mark.parametrize("kernel", ["gaussian:sigma=2", "sobel", "box:4", "0,1,0;1,-4,1;0,1,0",
                                    "motion:5,angle=30"])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_filter_image(kernel, boundary):
    img = RNG.random((41, 33)).astype(np.float32)
    lazy = convkit.filter_image(da.from_array(img, chunks=(7, 5)), kernel, boundary=boundary,
                                cval=0.25)
    assert lazy.chunks == ((7,) * 5 + (6,), (5,) * 6 + (3,))
    _lazy_equal(lazy, convkit.filter_image(img, kernel, boundary=boundary, cval=0.25))


@pytest.mark.parametrize("stride, flip", [(2, False), ((3, 2), True), (5, True)])
def test_filter_image_stride_flip_colour_uint8(stride, flip):
    img = RNG.integers(0, 256, (29, 26, 3)).astype(np.uint8)
    lazy = convkit.filter_image(da.from_array(img, chunks=(4, 9, 1)), "emboss", stride=stride,
                                flip=flip, boundary="wrap")
    _lazy_equal(lazy, convkit.filter_image(img, "emboss", stride=stride, flip=flip, boundary="wrap"))


@pytest.mark.parametrize("image, kernel", [
    (RNG.random((9, 12, 7)), RNG.standard_normal((3, 4, 2))),                     # N-D by N-D
    (RNG.standard_normal((10, 9)) + 1j * RNG.standard_normal((10, 9)), "gaussian:sigma=1"),
    (RNG.integers(-100, 100, (11, 8)).astype(np.int8), "roberts"),
])
@pytest.mark.parametrize("stride", [1, 2])
def test_filter_image_nd_complex_signed(image, kernel, stride):
    lazy = convkit.filter_image(da.from_array(image, chunks=4), kernel, boundary="mirror",
                                stride=stride)
    _lazy_equal(lazy, convkit.filter_image(image, kernel, boundary="mirror", stride=stride))


def test_filter_image_kernel_taller_than_image():
    img = RNG.random((3, 50))
    _lazy_equal(convkit.filter_image(da.from_array(img, chunks=(1, 8)), "gaussian:sigma=4",
                                     boundary="mirror"),
                convkit.filter_image(img, "gaussian:sigma=4", boundary="mirror"))


@pytest.mark.parametrize("op", ["max", "min", "sum", "mean"])
@pytest.mark.parametrize("size, stride, padding", [(2, None, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 0))])
def test_pool(op, size, stride, padding):
    x = RNG.integers(-50, 50, (2, 19, 14)).astype(np.int16)
    x_f = RNG.standard_normal((2, 19, 14))
    x_f[0, 5, 5] = np.nan
    for arr in (x, x_f):
        lazy = convkit.pool(da.from_array(arr, chunks=(1, 4, 5)), size, stride=stride, op=op,
                            padding=padding)
        _lazy_equal(lazy, convkit.pool(arr, size, stride=stride, op=op, padding=padding))


BAD_CALLS = [  # (function, args, kwargs): each refused at the call, dask or not
    (convkit.convolve, (np.ones((2, 2)), "middle"), {}),
    (convkit.correlate, (np.ones((2, 2)),), {"boundary": "bounce"}),
    (convkit.convolve, (np.ones(2),), {}),
    (convkit.convolve, (np.ones((9, 2)), "valid"), {}),
    (convkit.correlate, (np.ones((2, 2)), "same"), {"stride": (1, 0)}),
    (convkit.convolve, (np.ones((2, 2)),), {"axes": (0, 0)}),
    (convkit.convolve, (np.ones((2, 2), int), "same"), {"cval": 0.5, "boundary": "constant"}),
    (convkit.fftconvolve, (np.ones((2, 2)), "middle"), {}),
    (convkit.fftconvolve, (np.ones((3, 2, 1)),), {"axes": 0}),
    (convkit.pool, (9,), {}),
    (convkit.pool, (2,), {"op": "median"}),
    (convkit.pool, (2,), {"padding": 2}),
    (convkit.filter_image, ("box:0",), {}),
    (convkit.filter_image, ("box:3",), {"stride": 0}),
    (convkit.filter_image, ("box:3",), {"method": "magic"}),
    (convkit.filter_image, (np.ones((3, 3, 3)),), {}),
]


@pytest.mark.parametrize("func, args, kwargs", BAD_CALLS)
def test_bad_input_refused_at_the_call_with_the_in_memory_message(func, args, kwargs):
    # chunked plans with the in-memory functions' own checks: the same error, word for word
    x = np.ones((8, 8), dtype=np.int64 if func is not convkit.filter_image else np.float64)
    with pytest.raises((ValueError, TypeError)) as want:
        func(x, *args, **kwargs)
    with pytest.raises(type(want.value)) as got:
        func(da.from_array(x, chunks=3), *args, **kwargs)
    assert str(got.value) == str(want.value)


def test_bad_input_only_chunked_has():
    x = da.ones((8, 8), chunks=3)
    with pytest.raises(ValueError, match="return_indices=True is not available"):
        convkit.pool(x, 2, return_indices=True)
    with pytest.raises(TypeError, match="image dtype must be"):
        convkit.filter_image(da.from_array(np.full((4, 4), "a"), chunks=2), "box:3")
    unknown = da.ones(10, chunks=5)[da.ones(10, chunks=5) > 0]
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        convkit.convolve(unknown, np.ones(3))


def test_dask_missing_message(monkeypatch):
    import builtins
    real = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.startswith("dask"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(ImportError, match=r'pip install "convkit-learn\[dask\]"'):
        chunked.require_dask()


def test_is_dask_does_not_import_dask():
    assert chunked.is_dask(da.ones(3)) and not chunked.is_dask(np.ones(3))
    assert not chunked.is_dask([1, 2])


def test_distributed_threads(client):
    x = RNG.standard_normal((300, 200))
    lazy = convkit.filter_image(da.from_array(x, chunks=64), "gaussian:sigma=3", boundary="wrap")
    _same(client.compute(lazy).result(), convkit.filter_image(x, "gaussian:sigma=3", boundary="wrap"))
    xi = RNG.integers(-100, 100, (120, 90)).astype(np.int32)
    lazy = convkit.correlate(da.from_array(xi, chunks=(25, 40)), np.ones((5, 3), np.int32),
                             "full", boundary="mirror", stride=2)
    _same(lazy.compute(), convkit.correlate(xi, np.ones((5, 3), np.int32), "full",
                                           boundary="mirror", stride=2))


@pytest.mark.slow
def test_distributed_processes_block_functions_pickle():
    import distributed
    x = RNG.standard_normal(20_000)
    k = RNG.standard_normal(700)
    img = RNG.random((90, 70)).astype(np.float32)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as c:
        lazy = [convkit.convolve(da.from_array(x, chunks=3000), k, "same", boundary="reflect"),
                convkit.filter_image(da.from_array(img, chunks=32), "sobel"),
                convkit.pool(da.from_array(img, chunks=20), 3, op="mean", padding=1)]
        got = c.compute(lazy, sync=True)
    _same(got[0], convkit.convolve(x, k, "same", boundary="reflect"))
    _same(got[1], convkit.filter_image(img, "sobel"))
    _same(got[2], convkit.pool(img, 3, op="mean", padding=1))


@pytest.mark.slow
def test_processes_scheduler_local():
    x = RNG.integers(0, 9, (40, 40)).astype(np.int64)
    lazy = convkit.convolve(da.from_array(x, chunks=11), np.ones((3, 3), np.int64), "same",
                            boundary="wrap")
    with dask.config.set(scheduler="processes", num_workers=2):
        got = lazy.compute()
    _same(got, convkit.convolve(x, np.ones((3, 3), np.int64), "same", boundary="wrap"))



def test_graphs_are_built_from_the_plan_without_a_probe_call(monkeypatch):
    # the in-memory engines run only at compute(): building the graph reads shapes and dtypes
    from convkit import convolution, filters, pooling
    calls = []
    for module, name in ((convolution, "_run"), (filters, "_apply"), (pooling, "_reduce")):
        real = getattr(module, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)
        monkeypatch.setattr(module, name, spy)
    x = da.from_array(RNG.standard_normal((12, 10)), chunks=4)
    lazy = [convkit.correlate(x, np.ones((3, 2)), "same", boundary="reflect"),
            convkit.convolve(x, np.ones((4, 4)), "valid", stride=2),
            convkit.fftconvolve(x, np.ones((2, 3)), "same"),
            convkit.filter_image(x, "sobel"),
            convkit.pool(x, 3, op="mean", padding=1)]
    assert calls == []
    for y in lazy:
        y.compute(scheduler="synchronous")
    assert {"_run", "_apply", "_reduce"} <= set(calls)
