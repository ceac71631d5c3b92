"""conv2d against the naive loop (PyTorch: benchmarks/check_torch_parity.py); its gradient helpers against
finite differences; errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convkit
import convkit._engine.conv2d as batched
from convkit._engine import conv_loops
from helpers.conv_naive import conv2d_naive
from helpers.fd import fd_grad
from convkit import conv2d
from convkit._engine.conv2d import geometry
from convkit._engine.conv2d_grad import conv2d_backward, conv2d_grad_input, conv2d_grad_weight

RNG = np.random.default_rng(0)
# the engines: compiled loops over cache-sized groups of samples, and numpy's im2col in its two
# column layouts: batch outermost (long output rows) and batch innermost (short rows)
LAYOUTS = {"groups": None, "batch-first": 0, "batch-last": 10**6}


def use_engine(mp, name: str) -> None:
    """Make conv2d take engine `name` (numba is a dependency: the compiled one must be there)."""
    if LAYOUTS[name] is None:
        assert conv_loops.available()
        return
    mp.setattr(conv_loops, "available", lambda: False)
    mp.setattr(batched, "_BATCH_LAST_BELOW", LAYOUTS[name])


@pytest.fixture(params=sorted(LAYOUTS))
def layout(request, monkeypatch):
    """Run the test once per engine."""
    use_engine(monkeypatch, request.param)
    return request.param


def _case(n=2, c=3, h=9, w=8, f=4, kh=3, kw=2, dtype=np.float64):
    x = RNG.standard_normal((n, c, h, w)).astype(dtype)
    wt = RNG.standard_normal((f, c, kh, kw)).astype(dtype)
    b = RNG.standard_normal(f).astype(dtype)
    return x, wt, b


@pytest.mark.parametrize("stride,padding,dilation", [
    (1, 0, 1), (2, 0, 1), (1, 1, 1), (2, 2, 1), (1, 0, 2), (3, 1, 2),
    ((2, 1), (1, 0), (1, 2)), ((1, 3), (0, 2), (2, 1))])
def test_matches_naive(stride, padding, dilation, layout):
    x, w, b = _case()
    got = conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation)
    want = conv2d_naive(x, w, b, stride=stride, padding=padding, dilation=dilation)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_hand_computed_stride_two():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    # windows [[0,1],[4,5]] -> 10, [[2,3],[6,7]] -> 18, ... (no kernel flip)
    w = np.array([[[[1.0, 0.0], [0.0, 2.0]]]])
    np.testing.assert_array_equal(conv2d(x, w, stride=2), [[[[0 + 10, 2 + 14], [8 + 26, 10 + 30]]]])


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 3), f=st.integers(1, 3), h=st.integers(3, 9),
       w=st.integers(3, 9), kh=st.integers(1, 3), kw=st.integers(1, 3), s=st.integers(1, 3),
       p=st.integers(0, 2), d=st.integers(1, 2))
def test_any_shape_matches_naive(n, c, f, h, w, kh, kw, s, p, d):
    if d * (kh - 1) + 1 > h + 2 * p or d * (kw - 1) + 1 > w + 2 * p:
        return
    x = RNG.standard_normal((n, c, h, w))
    wt = RNG.standard_normal((f, c, kh, kw))
    want = conv2d_naive(x, wt, stride=s, padding=p, dilation=d)
    for name in LAYOUTS:
        with pytest.MonkeyPatch.context() as mp:
            use_engine(mp, name)
            np.testing.assert_allclose(conv2d(x, wt, stride=s, padding=p, dilation=d), want, atol=1e-12)


@pytest.mark.parametrize("kh,kw,dilation", [(3, 3, 1), (2, 4, 1), (3, 2, 2)])
def test_same_padding_keeps_size_extra_cell_bottom_right(kh, kw, dilation):
    x, w, _ = _case(kh=kh, kw=kw)
    got = conv2d(x, w, padding="same", dilation=dilation)
    assert got.shape[2:] == x.shape[2:]
    th, tw = dilation * (kh - 1), dilation * (kw - 1)
    xp = np.pad(x, ((0, 0), (0, 0), (th // 2, th - th // 2), (tw // 2, tw - tw // 2)))
    np.testing.assert_allclose(got, conv2d_naive(xp, w, dilation=dilation), atol=1e-12)
    np.testing.assert_allclose(conv2d(x, w, padding="valid"), conv2d_naive(x, w), atol=1e-12)


@pytest.mark.parametrize("stride", [1, 2])
def test_chunked_equals_unchunked(monkeypatch, layout, stride):
    x, w, b = _case(n=7)
    whole = conv2d(x, w, b, stride=stride, padding=1)
    monkeypatch.setattr(batched, "CHUNK_BYTES", 1)          # one sample per chunk (numpy engine)
    monkeypatch.setattr(conv_loops, "GROUP_BYTES", 1)       # one sample per group (compiled engine)
    np.testing.assert_allclose(conv2d(x, w, b, stride=stride, padding=1), whole, atol=1e-13)


def test_dtypes():
    x16, w16, _ = _case(dtype=np.float16)                    # numba has no float16: the numpy engine
    got16 = conv2d(x16, w16, padding=1)
    assert got16.dtype == np.float16
    np.testing.assert_allclose(got16, conv2d_naive(x16.astype(float), w16.astype(float), padding=1), atol=0.05)
    x, w, b = _case(dtype=np.float32)
    assert conv2d(x, w, b).dtype == np.float32
    assert conv2d(x, w.astype(np.float64)).dtype == np.float64
    xi = np.arange(2 * 3 * 9 * 8).reshape(2, 3, 9, 8)
    got = conv2d(xi, np.ones((1, 3, 2, 2), dtype=int))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, conv2d_naive(xi, np.ones((1, 3, 2, 2))))



@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2), ((2, 1), (1, 2), (2, 1)),
                                                     (3, 0, 1)])
@pytest.mark.parametrize("chunk", [None, 1])
def test_gradients_match_finite_differences(stride, padding, dilation, chunk, monkeypatch, layout):
    if chunk:
        monkeypatch.setattr(batched, "CHUNK_BYTES", chunk)
        monkeypatch.setattr(conv_loops, "GROUP_BYTES", chunk)
    x, w, _ = _case(n=2, c=2, h=7, w=6, f=3)
    out = conv2d(x, w, stride=stride, padding=padding, dilation=dilation)
    g = RNG.standard_normal(out.shape)
    loss = lambda: float((conv2d(x, w, stride=stride, padding=padding, dilation=dilation) * g).sum())  # noqa: E731
    s, d, pads = geometry(x.shape, w.shape, stride, padding, dilation)
    np.testing.assert_allclose(conv2d_grad_input(g, w, x.shape, s, pads, d), fd_grad(loss, x), atol=1e-6)
    np.testing.assert_allclose(conv2d_grad_weight(x, g, w.shape[2:], s, pads, d), fd_grad(loss, w),
                               atol=1e-6)


def test_reused_work_arrays_give_fresh_results(layout):
    """Work arrays kept from call to call (growing, shrinking batches, padding) change no result:
    every call equals a call without kept arrays, and nothing handed back is overwritten later."""
    scratch = batched.Scratch()
    x, w, b = _case(n=5, c=3, h=9, w=8, f=4)
    s, d, pads = geometry(x.shape, w.shape, 1, 1, 1)
    results = []
    for n in (2, 5, 3):
        out, cols = batched.conv2d_forward(x[:n], w, b, s, pads, d, keep_cols=True, scratch=scratch)
        g = RNG.standard_normal(out.shape)
        gw, gb, gx = conv2d_backward(g, w, x[:n].shape, s, pads, d, x=x[:n], cols=cols, need_bias=True,
                                     scratch=scratch)
        want_out = conv2d_naive(x[:n], w, b, padding=1)
        np.testing.assert_allclose(out, want_out, atol=1e-12)
        np.testing.assert_allclose(gw, conv2d_grad_weight(x[:n], g, w.shape[2:], s, pads, d), atol=1e-12)
        np.testing.assert_allclose(gb, g.sum(axis=(0, 2, 3)), atol=1e-12)
        np.testing.assert_allclose(gx, conv2d_grad_input(g, w, x[:n].shape, s, pads, d), atol=1e-12)
        results.append((out, out.copy(), gx, gx.copy()))
    for out, out_then, gx, gx_then in results:
        np.testing.assert_array_equal(out, out_then)
        np.testing.assert_array_equal(gx, gx_then)


@pytest.mark.parametrize("kwargs,match", [
    ({"x": np.zeros((3, 4, 4))}, "x must be 4-D"),
    ({"weight": np.zeros((2, 3, 3))}, "weight must be 4-D"),
    ({"weight": np.zeros((2, 2, 3, 3))}, "input channels"),
    ({"bias": np.zeros(3)}, r"bias must have shape \(2,\)"),
    ({"padding": "full"}, "padding must be"),
    ({"padding": -1}, "padding must be >= 0"),
    ({"padding": "same", "stride": 2}, "needs stride 1"),
    ({"stride": 0}, "stride must be >= 1"),
    ({"weight": np.zeros((2, 1, 6, 3))}, "larger than the padded input"),
])
def test_errors(kwargs, match):
    args = {"x": np.zeros((1, 1, 5, 5)), "weight": np.zeros((2, 1, 3, 3)), "bias": None}
    args.update(kwargs)
    x, w, b = args.pop("x"), args.pop("weight"), args.pop("bias")
    with pytest.raises(ValueError, match=match):
        conv2d(x, w, b, **args)


@pytest.mark.parametrize("stride,padding,dilation", [(1, 1, 1), (2, 1, 1), (1, 2, 2), ((1, 2), (0, 3), (2, 1))])
def test_compiled_groups_equal_numpy_engine(stride, padding, dilation, monkeypatch):
    """The compiled engine against the numpy one on a batch cut into groups of several samples and
    of one sample: forward, dL/dweight, dL/dbias, dL/dx, float32 and float64."""
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 2e-5)):
        x, w, b = _case(n=9, c=3, h=10, w=9, f=5, dtype=dtype)
        s, d, pads = geometry(x.shape, w.shape, stride, padding, dilation)
        results = {}
        for name, group_bytes in (("numpy", None), ("groups of 3", 3 * 3 * 9 * 90 * 8), ("groups of 1", 1)):
            with pytest.MonkeyPatch.context() as mp:
                if group_bytes is None:
                    use_engine(mp, "batch-first")
                else:
                    mp.setattr(conv_loops, "GROUP_BYTES", group_bytes)
                out, cols = batched.conv2d_forward(x, w, b, s, pads, d, keep_cols=True)
                g = np.cos(out)
                results[name] = (out,) + conv2d_backward(g, w, x.shape, s, pads, d, x=x, cols=cols, need_bias=True)
        for name in ("groups of 3", "groups of 1"):
            for got, want in zip(results[name], results["numpy"]):
                assert got.dtype == dtype
                np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)


def test_compiled_groups_do_not_depend_on_the_thread_count(monkeypatch):
    """Groups are cut by shape only and their sums added in order: bitwise the same on 1 and 2 threads."""
    monkeypatch.setattr(conv_loops, "PARALLEL_MIN", 0)              # this small call cut in groups
    monkeypatch.setattr(conv_loops, "POOL_MIN", 0)                  # and on the pool too
    x, w, b = _case(n=16, c=4, h=12, w=12, f=6, dtype=np.float32)
    s, d, pads = geometry(x.shape, w.shape, 1, 1, 1)
    g = RNG.standard_normal((16, 6, 12, 12)).astype(np.float32)
    runs = []
    before = convkit.get_threads()
    try:
        for threads in (1, 2, 1):
            convkit.set_threads(threads)
            out, _ = batched.conv2d_forward(x, w, b, s, pads, d)
            runs.append((out,) + conv2d_backward(g, w, x.shape, s, pads, d, x=x, need_bias=True))
    finally:
        convkit.set_threads(before)
    assert len(conv_loops.group_bounds(16, 4 * 9 + 1, 144, 4)) >= conv_loops.MIN_GROUPS
    for other in runs[1:]:
        for got, want in zip(other, runs[0]):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n,c,f,h,w,padding", [(3, 4, 5, 7, 8, 1), (2, 5, 4, 6, 6, 0), (2, 4, 3, 9, 5, 2),
                                               (1, 4, 4, 3, 3, 1), (2, 6, 7, 4, 9, "same"), (4, 8, 6, 12, 11, 1)])
def test_winograd_tiles_match_naive_and_finite_differences(n, c, f, h, w, padding, monkeypatch):
    """3 x 3 stride-1 convolutions with >= 4 channels go through Winograd F(2x2, 3x3) (forward,
    dL/dx, dL/dweight): the naive loop for the forward, finite differences for the gradients,
    odd and even sizes (partial tiles), padding 0-2; with 3 filters dL/dx takes the columns."""
    monkeypatch.setattr(conv_loops, "WINOGRAD_MIN_POSITIONS", 1)   # these small maps too
    x, wt, b = _case(n=n, c=c, h=h, w=w, f=f, kh=3, kw=3)
    s, d, pads = geometry(x.shape, wt.shape, 1, padding, 1)
    assert conv_loops.winograd_fits((3, 3), s, d, pads, c, h * w)   # (f = 3: dL/dx by columns)
    out, _ = batched.conv2d_forward(x, wt, b, s, pads, d)
    want = conv2d_naive(np.pad(x, ((0, 0), (0, 0)) + pads), wt, b)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)
    g = RNG.standard_normal(out.shape)
    gw, gb, gx = conv2d_backward(g, wt, x.shape, s, pads, d, x=x, need_bias=True)
    loss_x = lambda: float((batched.conv2d_forward(x, wt, b, s, pads, d)[0] * g).sum())  # noqa: E731
    np.testing.assert_allclose(gx, fd_grad(loss_x, x), atol=1e-6)
    np.testing.assert_allclose(gw, fd_grad(loss_x, wt), atol=1e-6)
    np.testing.assert_allclose(gb, g.sum(axis=(0, 2, 3)), atol=1e-12)


def test_winograd_float32_close_to_float64():
    """Float32 through the tiles stays within float32 rounding of the float64 result."""
    x, wt, b = _case(n=4, c=16, h=14, w=14, f=8, kh=3, kw=3)
    s, d, pads = geometry(x.shape, wt.shape, 1, 1, 1)
    assert conv_loops.winograd_fits((3, 3), s, d, pads, 16, 14 * 14)
    g = RNG.standard_normal((4, 8, 14, 14))
    want = (batched.conv2d_forward(x, wt, b, s, pads, d)[0],) + conv2d_backward(g, wt, x.shape, s, pads, d, x=x,
                                                                                 need_bias=True)
    x32, w32, b32, g32 = (a.astype(np.float32) for a in (x, wt, b, g))
    got = (batched.conv2d_forward(x32, w32, b32, s, pads, d)[0],) + conv2d_backward(g32, w32, x.shape, s, pads, d,
                                                                                     x=x32, need_bias=True)
    for a, e in zip(got, want):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4 * np.abs(e).max())
