"""Time convolve_functions on 1,000 values of t for two vectorised Gaussians.

Target (issue 3): method="grid" under 50 ms; method="quad" reported. The peer
is the plain loop a user would write: scipy.integrate.quad once per t. Each
row prints the median time and the max error against the closed form
N(μ1, σ1²) * N(μ2, σ2²) = N(μ1 + μ2, σ1² + σ2²).

    python benchmarks/bench_continuous.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy.integrate import quad

from convkit import convolve_functions


def gauss(mu: float, sigma: float):
    return lambda x: np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def median_time(fn, repeat: int) -> tuple[float, np.ndarray]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    f, g = gauss(0.5, 1.0), gauss(-1.0, 1.5)
    exact = gauss(-0.5, math.hypot(1.0, 1.5))
    t = np.linspace(-8, 7, 1000)
    want = exact(t)
    box = dict(support_f=(-12.5, 13.5), support_g=(-16.0, 14.0))  # ±12.5σ: the cut-off is far below 1e-12

    cases = {
        "grid, default dt (26/1000)": lambda: convolve_functions(f, g, t, method="grid", **box),
        "grid, dt=0.01": lambda: convolve_functions(f, g, t, method="grid", dt=0.01, **box),
        "grid, dt=0.001": lambda: convolve_functions(f, g, t, method="grid", dt=0.001, **box),
        "quad, infinite supports": lambda: convolve_functions(f, g, t),
        "quad, finite supports": lambda: convolve_functions(f, g, t, **box),
        "peer: scipy quad loop": lambda: np.array(
            [quad(lambda u, ti=ti: f(u) * g(ti - u), -np.inf, np.inf, epsrel=1e-8, epsabs=1e-12)[0]
             for ti in t]),
    }
    rows = []
    for name, fn in cases.items():
        seconds, out = median_time(fn, 1 if name.startswith("peer") else args.repeat)
        rows.append((name, seconds, float(np.abs(out - want).max())))
    peer = rows[-1][1]
    print(f"1000 values of t, N(0.5, 1) * N(-1, 1.5²); median of {args.repeat} runs")
    print(f"{'method':<28} {'median ms':>10} {'vs quad loop':>13} {'max |error|':>12}")
    for name, seconds, err in rows:
        print(f"{name:<28} {seconds * 1e3:>10.2f} {peer / seconds:>12.1f}x {err:>12.2e}")


if __name__ == "__main__":
    main()
