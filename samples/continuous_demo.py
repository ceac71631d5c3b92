"""The convolution integral as a picture: f, g, the sliding g(t−τ), their product, the result.

    python samples/continuous_demo.py [OUTPUT] [--t0 1.5] [--force]

OUTPUT is a .png file or a folder (default: the current folder); the figure
is written as continuous_demo.png there. The pair is f(τ) = e^{−τ} H(τ) and
g = a box on [0, 1], whose convolution has the closed form
(f*g)(t) = e^{−max(0, t−1)} − e^{−t} for t > 0: panel 3 shows convkit's
"quad" and "grid" results on it, and marks the value at t0, which is the
shaded area of panel 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from convkit import convolve_functions
from convkit.io.atomic import atomic_path


def f(x):
    x = np.asarray(x, dtype=float)
    return np.where(x >= 0, np.exp(-np.maximum(x, 0)), 0.0)


def g(x):
    x = np.asarray(x, dtype=float)
    return np.where((x >= 0) & (x <= 1), 1.0, 0.0)


SUPPORT_F, SUPPORT_G = (0.0, np.inf), (0.0, 1.0)


def closed_form(t):
    t = np.asarray(t, dtype=float)
    return np.where(t > 0, np.exp(-np.maximum(t - 1, 0)) - np.exp(-np.maximum(t, 0)), 0.0)


def draw(t0: float) -> Figure:
    tau = np.linspace(-1.5, 5.0, 1301)
    t = np.linspace(-1.0, 5.0, 241)
    quad = convolve_functions(f, g, t, support_f=SUPPORT_F, support_g=SUPPORT_G)
    t_grid = t[::8]
    grid = convolve_functions(f, g, t_grid, support_f=(0.0, 12.0), support_g=SUPPORT_G,
                              method="grid", dt=0.05)
    at_t0 = convolve_functions(f, g, t0, support_f=SUPPORT_F, support_g=SUPPORT_G)

    fig = Figure(figsize=(7.0, 7.5), dpi=80, layout="constrained")
    ax1, ax2, ax3 = fig.subplots(3, 1, sharex=True)
    ax1.plot(tau, f(tau), label="f(τ) = exp(−τ) H(τ)")
    ax1.plot(tau, g(tau), label="g(τ) = box on [0, 1]")
    ax1.set_title("1. the two functions")

    slid = g(t0 - tau)
    ax2.plot(tau, f(tau), label="f(τ)")
    ax2.plot(tau, slid, label=f"g(t − τ), t = {t0:g}: flipped, shifted")
    ax2.fill_between(tau, f(tau) * slid, color="tab:green", alpha=0.4,
                     label=f"f(τ) g(t − τ): area = {at_t0:.4f}")
    ax2.set_title("2. slide the flipped g to t and multiply")

    ax3.plot(t, closed_form(t), color="k", lw=3, alpha=0.3, label="closed form")
    ax3.plot(t, quad, label='convolve_functions, method="quad"')
    ax3.plot(t_grid, grid, "o", ms=4, label='method="grid", dt = 0.05')
    ax3.plot([t0], [at_t0], "s", color="tab:green", ms=8, label=f"(f*g)({t0:g}) = area in 2")
    ax3.set_title("3. (f*g)(t): the area for every t")
    ax3.set_xlabel("τ (panels 1, 2) and t (panel 3)")
    for ax in (ax1, ax2, ax3):
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(alpha=0.3)
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default=".", help="a .png path or a folder (default: .)")
    parser.add_argument("--t0", type=float, default=1.5, help="the t drawn in panel 2 (default 1.5)")
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    args = parser.parse_args()
    out = Path(args.output)
    if out.is_dir():
        out = out / "continuous_demo.png"
    fig = draw(args.t0)
    with atomic_path(out, overwrite=args.force) as tmp:
        fig.savefig(tmp, format="png")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
