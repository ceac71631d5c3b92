"""convkit.continuous: convolve_functions against closed forms (both methods),
the grid method's error order in dt, hypothesis properties (commutativity,
linearity), error messages, and the shape rules for t."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convkit import convolve_functions

INF = np.inf


def gauss(mu, sigma):
    return lambda x: np.exp(-0.5 * ((np.asarray(x) - mu) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))


def rect(half):
    return lambda x: np.where(np.abs(np.asarray(x)) <= half, 1.0, 0.0)


def decay(a):
    return lambda x: np.exp(-a * np.asarray(x))  # used with support (0, inf): e^{-ax} H(x)


def one(x):
    return np.ones_like(np.asarray(x, dtype=float))


def boom(x):
    raise AssertionError("must not be called")


# name -> (f, support_f, g, support_g, closed form, t)
CLOSED_FORMS = {
    # means and variances add: N(1, 0.5²) * N(-2, 1.2²) = N(-1, 0.5² + 1.2²)
    "gauss*gauss": (gauss(1.0, 0.5), None, gauss(-2.0, 1.2), None,
                    gauss(-1.0, math.hypot(0.5, 1.2)), np.linspace(-6, 4, 41)),
    # rect of width 1 * rect of width 2 = trapezoid: overlap length of [t-1, t+1] and [-0.5, 0.5]
    "rect*rect": (rect(0.5), (-0.5, 0.5), rect(1.0), (-1.0, 1.0),
                  lambda t: np.clip(np.minimum(0.5, t + 1) - np.maximum(-0.5, t - 1), 0, None),
                  np.linspace(-2, 2, 33)),
    "rect*rect=triangle": (rect(0.5), (-0.5, 0.5), rect(0.5), (-0.5, 0.5),
                           lambda t: np.maximum(0.0, 1 - np.abs(t)), np.linspace(-1.5, 1.5, 25)),
    # e^{-at}H * H = (1 - e^{-at}) / a · H
    "exp*step": (decay(3.0), (0, INF), one, (0, INF),
                 lambda t: np.where(t > 0, (1 - np.exp(-3 * np.maximum(t, 0))) / 3, 0.0),
                 np.linspace(-1, 4, 26)),
    # e^{-t}H * e^{-2t}H = (e^{-t} - e^{-2t}) H
    "exp*exp": (decay(1.0), (0, INF), decay(2.0), (0, INF),
                lambda t: np.where(t > 0, np.exp(-np.maximum(t, 0)) - np.exp(-2 * np.maximum(t, 0)), 0.0),
                np.linspace(-1, 6, 29)),
    # cos * N(0, eps²) = e^{-eps²/2} cos: a narrow normalised Gaussian barely changes a function
    "cos*narrow": (np.cos, None, gauss(0.0, 0.01), None,
                   lambda t: np.exp(-0.5e-4) * np.cos(t), np.linspace(-3, 3, 19)),
}


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_quad_matches_closed_form(name):
    f, sf, g, sg, exact, t = CLOSED_FORMS[name]
    value, err = convolve_functions(f, g, t, support_f=sf, support_g=sg, return_error=True)
    want = exact(t)
    scale = np.abs(want).max()
    assert np.abs(value - want).max() <= 1e-7 * scale
    # the estimate is an upper bound in practice, and small
    assert np.all(np.abs(value - want) <= err + 1e-12 * scale)
    assert err.max() <= 1e-6 * scale


def test_narrow_gaussian_is_nearly_identity():
    t = np.linspace(-3, 3, 13)
    value = convolve_functions(np.cos, gauss(0.0, 0.01), t)
    np.testing.assert_allclose(value, np.cos(t), atol=1e-4)  # e^{-eps²/2} - 1 ≈ -5e-5


@pytest.mark.parametrize("name", ["gauss*gauss", "rect*rect", "rect*rect=triangle", "exp*exp"])
def test_grid_matches_closed_form(name):
    f, sf, g, sg, exact, t = CLOSED_FORMS[name]
    # cut infinite ends at ±12: what is lost there (< e^{-12}) does not reach t <= 6
    sf, sg = ((max(s[0], -12.0), min(s[1], 12.0)) if s else (-12.0, 12.0) for s in (sf, sg))
    dt = 0.01
    value, err = convolve_functions(f, g, t, support_f=sf, support_g=sg, method="grid", dt=dt,
                                    return_error=True)
    assert np.abs(value - exact(t)).max() <= 2 * dt**2  # O(dt²), the constant is below 2 here
    assert err.max() <= 2 * dt  # Richardson estimate: small, never wild


def _rms_grid_errors(f, g, sf, sg, exact, t, dts):
    """Root-mean-square error over a dense t (averages over where t falls between nodes)."""
    return np.array([np.sqrt(np.mean((convolve_functions(f, g, t, support_f=sf, support_g=sg,
                                                         method="grid", dt=dt) - exact(t)) ** 2))
                     for dt in dts])


DTS = np.array([0.2, 0.1, 0.05, 0.025])


def test_grid_error_is_second_order_for_smooth_functions():
    f, g = gauss(0.3, 0.7), gauss(-0.2, 1.1)
    exact = gauss(0.1, math.hypot(0.7, 1.1))
    errors = _rms_grid_errors(f, g, (-10, 10), (-10, 10), exact, np.linspace(-4, 4, 4001), DTS)
    ratios = errors[:-1] / errors[1:]
    assert np.all((ratios > 3.8) & (ratios < 4.2)), ratios  # halving dt quarters the error


def test_grid_jumps_at_support_ends_on_nodes_stay_second_order():
    # e^{-t}H(t) * e^{-2t}H(t): both jump at 0, a grid node; the widths are whole steps
    exact = CLOSED_FORMS["exp*exp"][4]
    errors = _rms_grid_errors(decay(1.0), decay(2.0), (0, 30), (0, 30), exact, np.linspace(-1, 5, 4001), DTS)
    ratios = errors[:-1] / errors[1:]
    assert np.all((ratios > 3.8) & (ratios < 4.2)), ratios


def test_grid_jump_between_nodes_is_first_order():
    # a step at 1/3 inside f's support is never a node of dt = 0.2 / 2^k: O(dt), not O(dt²)
    f = lambda x: np.where(np.asarray(x) >= 1 / 3, 1.0, 0.0)  # noqa: E731
    exact = lambda t: np.exp(-t) * (np.exp(np.minimum(1.0, t)) - np.exp(1 / 3))  # noqa: E731  t >= 1/3
    errors = _rms_grid_errors(f, decay(1.0), (0, 1), (0, 30), exact, np.linspace(0.5, 3, 401), DTS)
    order = np.polyfit(np.log(DTS), np.log(errors), 1)[0]
    assert 0.8 < order < 1.3, order


def test_quad_breakpoints_fix_an_interior_jump():
    f = lambda x: np.where(np.asarray(x) >= 1 / 3, 1.0, 0.0)  # noqa: E731
    t = np.linspace(0.5, 3.0, 11)
    exact = np.exp(-t) * (np.exp(np.minimum(1.0, t)) - np.exp(1 / 3))
    v = convolve_functions(f, decay(1.0), t, support_f=(0, 1), support_g=(0, INF), breakpoints=[1 / 3])
    np.testing.assert_allclose(v, exact, rtol=0, atol=1e-9)


@settings(max_examples=20, deadline=None)
@given(mu1=st.floats(-2, 2), s1=st.floats(0.3, 2), w=st.floats(0.2, 3), t=st.floats(-5, 5))
def test_commutative(mu1, s1, w, t):
    f, g = gauss(mu1, s1), rect(w / 2)
    fg = convolve_functions(f, g, t, support_g=(-w / 2, w / 2))
    gf = convolve_functions(g, f, t, support_f=(-w / 2, w / 2))
    assert fg == pytest.approx(gf, rel=1e-7, abs=1e-10)


@settings(max_examples=15, deadline=None)
@given(a=st.floats(-3, 3), b=st.floats(-3, 3), s=st.floats(0.3, 2), k=st.floats(0.5, 3))
def test_linear(a, b, s, k):
    f1, f2, g = gauss(0.5, s), decay(k), gauss(-1.0, 0.8)
    t = np.linspace(-4, 4, 9)
    combo = lambda x: a * f1(x) + b * np.where(np.asarray(x) >= 0, f2(np.maximum(x, 0)), 0.0)  # noqa: E731
    lhs = convolve_functions(combo, g, t, breakpoints=[0.0])
    rhs = a * convolve_functions(f1, g, t) + b * convolve_functions(f2, g, t, support_f=(0, INF))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-6, atol=1e-9)


def test_disjoint_supports_give_zero_without_calling():
    t = np.array([-5.0, 0.0, 1.9])
    np.testing.assert_array_equal(convolve_functions(boom, boom, t, support_f=(0, 1), support_g=(2, 3)), 0.0)
    value, err = convolve_functions(boom, boom, 10.0, support_f=(0, 1), support_g=(2, 3), return_error=True)
    assert (value, err) == (0.0, 0.0)
    # and t outside the grid's reach with method "grid" is 0 as well
    assert convolve_functions(rect(0.5), rect(0.5), 7.0, support_f=(-0.5, 0.5), support_g=(-0.5, 0.5),
                              method="grid") == 0.0


def test_partial_overlap_calls_only_live_t():
    seen = []

    def f(x):
        seen.append(np.array(x, copy=True))
        return np.ones_like(x)

    value = convolve_functions(f, one, [-3.0, 0.5], support_f=(0, 1), support_g=(0, 1))
    assert value[0] == 0.0 and value[1] == pytest.approx(0.5, abs=1e-12)
    assert all(np.all((x >= 0) & (x <= 1)) for x in seen)  # never outside its support


def test_shapes_scalar_and_array():
    f, g = gauss(0, 1), gauss(0, 1)
    exact = gauss(0, math.sqrt(2))
    v = convolve_functions(f, g, 0.7)
    assert type(v) is float and v == pytest.approx(exact(0.7), rel=1e-9)
    t = np.linspace(-2, 2, 12).reshape(3, 4)
    v, e = convolve_functions(f, g, t, return_error=True)
    assert v.shape == e.shape == (3, 4)
    np.testing.assert_allclose(v, exact(t), rtol=1e-9)
    vg = convolve_functions(f, g, t, support_f=(-9, 9), support_g=(-9, 9), method="grid")
    assert vg.shape == (3, 4)
    assert type(convolve_functions(f, g, 0.7, support_f=(-9, 9), support_g=(-9, 9), method="grid")) is float


def test_scalar_only_callables_fall_back_to_a_loop():
    f = lambda x: math.exp(-x)  # noqa: E731  raises TypeError on arrays
    g = lambda x: 1.0 if x >= 0 else 0.0  # noqa: E731  ambiguous truth value on arrays
    t = np.array([0.5, 2.0])
    v = convolve_functions(f, g, t, support_f=(0, INF), support_g=(0, INF))
    np.testing.assert_allclose(v, 1 - np.exp(-t), rtol=1e-9)


@pytest.mark.parametrize("kwargs, match", [
    (dict(method="simpson"), "method must be 'quad' or 'grid', got 'simpson'"),
    (dict(support_f=(1, 1)), r"support_f must have lo < hi, got \(1.0, 1.0\)"),
    (dict(support_g=(2, -1)), r"support_g must have lo < hi, got \(2.0, -1.0\)"),
    (dict(support_f=(0, np.nan)), "support_f must have lo < hi"),
    (dict(support_f=3), r"support_f must be a pair \(lo, hi\) of numbers, got 3"),
    (dict(method="grid"), r"method='grid' needs finite supports, got support_f=\(-inf, inf\)"),
    (dict(method="grid", support_f=(0, 1), support_g=(0, INF)),
     r"method='grid' needs finite supports, got support_g=\(0.0, inf\)"),
    (dict(method="grid", support_f=(0, 1), support_g=(0, 1), dt=0), "dt must be a finite number > 0, got 0"),
    (dict(method="grid", support_f=(0, 1), support_g=(0, 1), dt=-0.1), "dt must be a finite number > 0"),
    (dict(method="grid", support_f=(0, 1), support_g=(0, 1), dt=1e-9), "needs .* samples .*pass a larger dt"),
    (dict(dt=0.1), "dt is only used by method='grid'"),
    (dict(method="grid", support_f=(0, 1), support_g=(0, 1), breakpoints=[0.5]),
     "breakpoints is only used by method='quad'"),
    (dict(breakpoints=[0.0, np.inf]), "breakpoints must be a 1-D sequence of finite numbers"),
    (dict(rtol=0, atol=0), "rtol and atol must be >= 0 and not both 0"),
])
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        convolve_functions(gauss(0, 1), gauss(0, 1), 0.0, **kwargs)


def test_bad_t_and_callables():
    with pytest.raises(ValueError, match="t must be finite"):
        convolve_functions(gauss(0, 1), gauss(0, 1), [0.0, np.nan])
    with pytest.raises(TypeError, match="g must be callable, got int"):
        convolve_functions(gauss(0, 1), 3, 0.0)
    nan_f = lambda x: np.full_like(np.asarray(x, float), np.nan)  # noqa: E731
    for method, sup in (("quad", None), ("grid", (0, 1))):
        with pytest.raises(ValueError, match="f returned NaN at x="):
            convolve_functions(nan_f, one, 0.5, support_f=sup, support_g=(0, 1), method=method)
    wrong = lambda x: np.ones(3)  # noqa: E731
    with pytest.raises(ValueError, match=r"g must return one value per input, got shape \(3,\)"):
        convolve_functions(one, wrong, 0.5, support_f=(0, 1), support_g=(0, 1))
    with pytest.raises(ValueError, match=r"g must return a scalar for a scalar input, got shape \(3,\)"):
        convolve_functions(one, lambda x: [float(x)] * 3, [0.5, 0.7], support_f=(0, 1), support_g=(0, 1))


def test_unreached_tolerance_warns():
    from scipy.integrate import IntegrationWarning

    spike = lambda x: np.abs(np.asarray(x)) ** -0.9  # noqa: E731  infinite at 0, which bisection hits
    with pytest.warns(IntegrationWarning, match="quadrature did not reach rtol=1e-08"):
        with np.errstate(divide="ignore", invalid="ignore"):
            convolve_functions(spike, one, 0.5, support_f=(-1, 1), support_g=(0, 1))
