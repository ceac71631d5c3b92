"""The integral picture of continuous convolution, frame by frame.

(f*g)(t) = ∫ f(τ) g(t−τ) dτ: g is flipped and slid to t, multiplied by f,
and the area under the product is one value of the result. For a few
built-in pairs this module evaluates the result with the library's own
`convkit.convolve_functions` and draws, for each t, f(τ), g(t−τ), the shaded
product and the curve (f*g) grown up to t.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from .frames import figure_to_array

__all__ = ["CONTINUOUS_PAIRS", "ContinuousWalkthrough", "continuous_walkthrough",
           "continuous_frames", "iter_continuous_frames"]


def _rect(x):
    return np.where(np.abs(np.asarray(x, float)) <= 0.5, 1.0, 0.0)


def _gauss(x):
    x = np.asarray(x, float)
    return np.exp(-x * x / 2) / np.sqrt(2 * np.pi)


def _decay(x):
    x = np.asarray(x, float)
    return np.where(x >= 0, np.exp(-np.maximum(x, 0)), 0.0)


def _step(x):
    return np.where(np.asarray(x, float) >= 0, 1.0, 0.0)

_CURVE_POINTS = 241    # t = 0 and the other quarter points of each built-in range are on it

# name -> (label, f, support_f, g, support_g, (t_min, t_max), (tau_min, tau_max))
CONTINUOUS_PAIRS: dict[str, tuple] = {
    "rect": ("rect * rect (a triangle)", _rect, (-0.5, 0.5), _rect, (-0.5, 0.5),
             (-1.5, 1.5), (-2.0, 2.0)),
    "gaussian": ("gaussian * gaussian, sigma 1 (a gaussian, sigma sqrt 2)", _gauss,
                 (-np.inf, np.inf), _gauss, (-np.inf, np.inf), (-4.0, 4.0), (-6.0, 6.0)),
    "exp": ("exp(-t) u(t) * u(t) (the charging curve 1 - exp(-t))", _decay, (0.0, np.inf),
            _step, (0.0, np.inf), (-1.0, 5.0), (-2.0, 6.0)),
}


@dataclass(frozen=True)
class ContinuousWalkthrough:
    """A pair f, g and (f*g) evaluated at the frame times `t`.

    Attributes
    ----------
    name, label : str
        The pair's key in `CONTINUOUS_PAIRS` and its description.
    f, g : callable
        The two functions.
    t : ndarray of shape (n,)
        The times shown, one per frame.
    result : ndarray of shape (n,)
        (f*g)(t) from `convkit.convolve_functions`.
    tau : ndarray of shape (m,)
        The τ axis of the pictures.
    curve_t, curve : ndarray of shape (c,)
        (f*g) on a fine grid over the same range, drawn behind the frames.

    Examples
    --------
    >>> walk = continuous_walkthrough("rect", n_frames=3)
    >>> walk.label, walk.t
    ('rect * rect (a triangle)', array([-1.5,  0. ,  1.5]))
    >>> float(walk.product(1).max())    # f(τ) g(0 - τ) on the τ axis
    1.0
    """

    name: str
    label: str
    f: Callable
    g: Callable
    t: np.ndarray          # (n,) the times shown, one per frame
    result: np.ndarray     # (n,) (f*g)(t) from convkit.convolve_functions
    tau: np.ndarray        # (m,) the τ axis of the pictures
    curve_t: np.ndarray    # (c,) a fine t grid over the same range (sorted, includes t)
    curve: np.ndarray      # (c,) (f*g)(curve_t): the whole result drawn behind the frames

    def product(self, k: int) -> np.ndarray:
        """f(τ) g(t_k − τ) on the τ axis: the integrand whose area is result[k]."""
        return self.f(self.tau) * self.g(self.t[k] - self.tau)


def continuous_walkthrough(pair: str = "rect", *, n_frames: int = 40) -> ContinuousWalkthrough:
    """Evaluate a built-in pair's convolution at `n_frames` evenly spaced times.

    Parameters
    ----------
    pair : {"rect", "gaussian", "exp"}
        rect * rect, gaussian * gaussian (sigma 1), exp(-t)u(t) * u(t).
    n_frames : int, optional
        Number of times t (frames), at least 2.

    Returns
    -------
    walk : ContinuousWalkthrough

    Notes
    -----
    Closed forms: ``rect*rect = max(0, 1 - |t|)``; ``gauss*gauss =
    exp(-t²/4) / sqrt(4π)``; ``exp*step = 1 - exp(-t)`` for t ≥ 0, else 0.

    Examples
    --------
    >>> walk = continuous_walkthrough("rect", n_frames=3)
    >>> walk.t, walk.result.round(6)
    (array([-1.5,  0. ,  1.5]), array([0., 1., 0.]))
    """
    from convkit import convolve_functions

    if pair not in CONTINUOUS_PAIRS:
        raise ValueError(f"pair must be one of {', '.join(CONTINUOUS_PAIRS)}; got {pair!r}")
    if int(n_frames) != n_frames or n_frames < 2:
        raise ValueError(f"n_frames must be an int >= 2, got {n_frames!r}")
    label, f, sf, g, sg, (t0, t1), (a, b) = CONTINUOUS_PAIRS[pair]
    t = np.linspace(t0, t1, int(n_frames))
    # a fine grid for the curve, so a few frames do not cut a corner (the triangle's peak)
    curve_t = np.union1d(t, np.linspace(t0, t1, _CURVE_POINTS))
    curve = np.asarray(convolve_functions(f, g, curve_t, support_f=sf, support_g=sg), float)
    result = curve[np.searchsorted(curve_t, t)]
    return ContinuousWalkthrough(pair, label, f, g, t, result, np.linspace(a, b, 801),
                                 curve_t, curve)


def continuous_frames(walk: ContinuousWalkthrough, *, steps=None, dpi: int = 80) -> list[np.ndarray]:
    """One RGB frame per time t: f(τ), g(t−τ), the shaded product, and (f*g) so far.

    Parameters
    ----------
    walk : ContinuousWalkthrough
        From `continuous_walkthrough`.
    steps : sequence of int, optional
        Which frames to draw (default all).
    dpi : int, optional
        Resolution (a 7 x 5 inch figure).

    Returns
    -------
    frames : list of ndarray of shape (H, W, 3), uint8

    Examples
    --------
    >>> walk = continuous_walkthrough("rect", n_frames=3)
    >>> frames = continuous_frames(walk, steps=[1], dpi=20)
    >>> len(frames), frames[0].shape, frames[0].dtype
    (1, (100, 140, 3), dtype('uint8'))
    """
    return list(iter_continuous_frames(walk, steps=steps, dpi=dpi))


def iter_continuous_frames(walk: ContinuousWalkthrough, *, steps=None,
                           dpi: int = 80) -> Iterator[np.ndarray]:
    """`continuous_frames` one frame at a time.

    Parameters
    ----------
    walk : ContinuousWalkthrough
        From `continuous_walkthrough`.
    steps : sequence of int, optional
        Which frames to draw (default all).
    dpi : int, optional
        Resolution (a 7 x 5 inch figure).

    Yields
    ------
    frame : ndarray of shape (H, W, 3), uint8

    Examples
    --------
    >>> walk = continuous_walkthrough("exp", n_frames=4)
    >>> [frame.shape for frame in iter_continuous_frames(walk, steps=[0, 3], dpi=20)]
    [(100, 140, 3), (100, 140, 3)]
    """
    from matplotlib.figure import Figure

    steps = np.arange(len(walk.t)) if steps is None else np.asarray(steps, int)
    fig = Figure(figsize=(7, 5), dpi=dpi)
    ax_top, ax_bot = fig.subplots(2, 1)
    f_tau = walk.f(walk.tau)
    top_max = max(float(f_tau.max()), float(walk.g(walk.tau).max())) * 1.15
    ax_top.plot(walk.tau, f_tau, color="tab:blue", label="f(τ)")
    (g_line,) = ax_top.plot(walk.tau, walk.g(walk.t[0] - walk.tau), color="tab:orange",
                            label="g(t − τ)")
    ax_top.set_xlim(walk.tau[0], walk.tau[-1])
    ax_top.set_ylim(-0.05 * top_max, top_max)
    ax_top.legend(loc="upper right", fontsize=8)
    ax_top.set_xlabel("τ")
    (t_marker,) = ax_top.plot([walk.t[0]] * 2, [0, top_max], ls=":", color="gray")
    ax_bot.plot(walk.curve_t, walk.curve, color="lightgray")
    (grown,) = ax_bot.plot(walk.t[:1], walk.result[:1], color="tab:green", lw=2, label="(f*g)(t)")
    (dot,) = ax_bot.plot(walk.t[:1], walk.result[:1], "o", color="tab:green")
    lo, hi = min(0.0, float(walk.curve.min())), float(walk.curve.max())
    pad = 0.1 * ((hi - lo) or 1.0)
    ax_bot.set_xlim(walk.t[0], walk.t[-1])
    ax_bot.set_ylim(lo - pad, hi + pad)
    ax_bot.set_xlabel("t")
    ax_bot.legend(loc="upper right", fontsize=8)
    title = fig.suptitle("")
    fig.subplots_adjust(hspace=0.45)
    shade = None
    for k in steps:
        tk = walk.t[k]
        g_line.set_ydata(walk.g(tk - walk.tau))
        t_marker.set_xdata([tk, tk])
        if shade is not None:
            shade.remove()
        shade = ax_top.fill_between(walk.tau, walk.product(k), color="tab:green", alpha=0.4,
                                    label="product")
        upto = walk.curve_t <= tk
        grown.set_data(walk.curve_t[upto], walk.curve[upto])
        dot.set_data([tk], [walk.result[k]])
        title.set_text(f"{walk.label}\nt = {tk:.2f}: shaded area = (f*g)(t) = {walk.result[k]:.4f}")
        yield figure_to_array(fig)
