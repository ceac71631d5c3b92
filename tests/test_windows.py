"""sliding_windows against explicit index loops and numpy's sliding_window_view;
per_axis / normalize_axes; the read-only view; every error path."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from convkit.windows import n_windows, normalize_axes, per_axis, sliding_windows

RNG = np.random.default_rng(1)


def _windows_loop(x, window, stride, dilation, axes):
    """view[..., i, ..., k] = x[..., i*s + k*d, ...] along each windowed axis, by loops."""
    counts = {ax: (x.shape[ax] - d * (w - 1) - 1) // s + 1
              for ax, w, s, d in zip(axes, window, stride, dilation)}
    out_shape = tuple(counts.get(ax, n) for ax, n in enumerate(x.shape)) + tuple(window)
    out = np.empty(out_shape, dtype=x.dtype)
    for pos in itertools.product(*(range(n) for n in out_shape[: x.ndim])):
        for taps in itertools.product(*(range(w) for w in window)):
            src = list(pos)
            for ax, k, s, d in zip(axes, taps, stride, dilation):
                src[ax] = pos[ax] * s + k * d
            out[pos + taps] = x[tuple(src)]
    return out


def test_docstring_example_by_hand():
    np.testing.assert_array_equal(sliding_windows(np.arange(6), 3, stride=2),
                                  [[0, 1, 2], [2, 3, 4]])


def test_dilation_by_hand():
    # taps 2 apart: windows [0, 2, 4], [1, 3, 5], [2, 4, 6]
    np.testing.assert_array_equal(sliding_windows(np.arange(7), 3, dilation=2),
                                  [[0, 2, 4], [1, 3, 5], [2, 4, 6]])


def test_2d_stride_dilation_by_hand():
    x = np.arange(30).reshape(5, 6)
    v = sliding_windows(x, (2, 2), stride=(3, 2), dilation=(2, 3))
    # rows: span 2*(2-1)+1 = 3 fits at 0 only (3 + 3 > 5); cols: span 4 fits at 0 and 2
    assert v.shape == (1, 2, 2, 2)
    np.testing.assert_array_equal(v[0, 0], [[x[0, 0], x[0, 3]], [x[2, 0], x[2, 3]]])
    np.testing.assert_array_equal(v[0, 1], [[x[0, 2], x[0, 5]], [x[2, 2], x[2, 5]]])


@pytest.mark.parametrize("shape,window", [((7,), (3,)), ((4, 5), (2, 3)), ((3, 4, 5), (1, 2, 3)),
                                          ((5, 5), (5, 5)), ((6,), (1,))])
def test_stride_one_matches_numpy_sliding_window_view(shape, window):
    x = RNG.standard_normal(shape)
    np.testing.assert_array_equal(sliding_windows(x, window), sliding_window_view(x, window))


def test_int_window_applies_to_every_axis_by_default():
    x = RNG.standard_normal((4, 5, 6))
    np.testing.assert_array_equal(sliding_windows(x, 2), sliding_window_view(x, (2, 2, 2)))


def test_tuple_window_defaults_to_last_axes():
    x = RNG.standard_normal((3, 6, 7))
    got = sliding_windows(x, (2, 3))
    assert got.shape == (3, 5, 5, 2, 3)
    np.testing.assert_array_equal(got, sliding_window_view(x, (2, 3), axis=(1, 2)))


def test_window_axes_follow_the_order_of_axes():
    x = RNG.standard_normal((5, 6))
    got = sliding_windows(x, (2, 3), axes=(1, 0))
    # window along axis 1 has extent 2, along axis 0 extent 3
    assert got.shape == (3, 5, 2, 3)
    np.testing.assert_array_equal(got, _windows_loop(x, (2, 3), (1, 1), (1, 1), (1, 0)))


def test_negative_axes():
    x = RNG.standard_normal((4, 7, 3))
    np.testing.assert_array_equal(sliding_windows(x, 3, axes=-2, stride=2),
                                  _windows_loop(x, (3,), (2,), (1,), (1,)))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_matches_loops(data):
    ndim = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.lists(st.integers(1, 7), min_size=ndim, max_size=ndim)))
    naxes = data.draw(st.integers(1, ndim))
    axes = tuple(data.draw(st.permutations(range(ndim)))[:naxes])
    window, stride, dilation = [], [], []
    for ax in axes:
        d = data.draw(st.integers(1, 3))
        w = data.draw(st.integers(1, max(1, (shape[ax] - 1) // d + 1)))
        window.append(w)
        dilation.append(d)
        stride.append(data.draw(st.integers(1, 3)))
    x = np.arange(int(np.prod(shape))).reshape(shape)
    got = sliding_windows(x, tuple(window), stride=tuple(stride), dilation=tuple(dilation),
                          axes=axes)
    want = _windows_loop(x, window, stride, dilation, axes)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_scalar_stride_and_dilation_apply_to_every_axis():
    x = RNG.standard_normal((9, 10))
    np.testing.assert_array_equal(sliding_windows(x, (2, 3), stride=2, dilation=3),
                                  _windows_loop(x, (2, 3), (2, 2), (3, 3), (0, 1)))


def test_noncontiguous_input():
    x = RNG.standard_normal((8, 12))[::2, ::-3]
    np.testing.assert_array_equal(sliding_windows(x, (2, 2), stride=(1, 2)),
                                  _windows_loop(x, (2, 2), (1, 2), (1, 1), (0, 1)))


def test_is_a_read_only_view():
    x = np.arange(10.0)
    v = sliding_windows(x, 3)
    assert np.shares_memory(v, x)
    assert not v.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        v[0, 0] = 5.0
    x[4] = -1.0  # the view sees changes to its base
    assert v[2, 2] == -1.0


def test_accepts_lists():
    np.testing.assert_array_equal(sliding_windows([1, 2, 3], 2), [[1, 2], [2, 3]])


@pytest.mark.parametrize("kwargs,match", [
    (dict(window_shape=4), "does not fit"),
    (dict(window_shape=2, dilation=3), "does not fit"),
    (dict(window_shape=0), "window_shape"),
    (dict(window_shape=2, stride=0), "stride must be >= 1"),
    (dict(window_shape=2, dilation=0), "dilation must be >= 1"),
    (dict(window_shape=(2, 2), axes=(0,)), "window_shape"),
    (dict(window_shape=2, stride=(1, 1, 1), axes=(0, 1)), "stride must have one entry per axis"),
    (dict(window_shape=2, dilation=(1,), axes=(0, 1)), "dilation must have one entry per axis"),
    (dict(window_shape=2, axes=2), "out of range"),
    (dict(window_shape=2, axes=-3), "out of range"),
    (dict(window_shape=2, axes=(0, -2)), "distinct"),
])
def test_value_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sliding_windows(np.zeros((3, 4)), **kwargs)


@pytest.mark.parametrize("kwargs,match", [
    (dict(window_shape=2, axes=(0.5,)), "axes must be ints"),
    (dict(window_shape=2, stride=1.5), "stride must be an int"),
    (dict(window_shape=2, dilation=(1, "a")), "dilation must be an int"),
])
def test_type_errors(kwargs, match):
    with pytest.raises(TypeError, match=match):
        sliding_windows(np.zeros((3, 4)), **kwargs)


def test_per_axis():
    assert per_axis(2, 3, "stride") == (2, 2, 2)
    assert per_axis((1, 4), 2, "stride") == (1, 4)
    assert per_axis(np.int64(3), 1, "stride") == (3,)
    assert per_axis(0, 2, "padding", minimum=0) == (0, 0)
    with pytest.raises(ValueError, match="padding must be >= 0"):
        per_axis((0, -1), 2, "padding", minimum=0)
    with pytest.raises(TypeError, match="stride must be an int"):
        per_axis(True, 2, "stride")


def test_normalize_axes():
    assert normalize_axes(None, 4) == (0, 1, 2, 3)
    assert normalize_axes(None, 4, 2) == (2, 3)
    assert normalize_axes(-1, 3) == (2,)
    assert normalize_axes((2, -3), 3) == (2, 0)
    with pytest.raises(ValueError, match="kernel_axes entry 5 is out of range"):
        normalize_axes((5,), 3, name="kernel_axes")


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 40), size=st.integers(1, 9), stride=st.integers(1, 5),
       dilation=st.integers(1, 4), pad=st.integers(0, 12))
def test_n_windows_counts_the_window_starts(n, size, stride, dilation, pad):
    span = dilation * (size - 1) + 1
    # independent count: every start position whose (dilated) window fits the padded axis
    starts = [i for i in range(0, n + pad, stride) if i + span <= n + pad]
    assert n_windows(n, size, stride=stride, dilation=dilation, pad=pad) == len(starts)
    if n + pad >= span:
        view = sliding_window_view(np.zeros(n + pad), span)[::stride]
        assert n_windows(n, size, stride=stride, dilation=dilation, pad=pad) == view.shape[0]
