"""Fit the constants of convkit's method-choice cost model on this machine.

`convkit._engine.plan._COST` holds seconds per unit of work for each engine:

* direct, tap loop: seconds per output sample per kernel tap (by dtype) on
  one thread, plus a per-tap-pass overhead;
* direct, numpy's 1-D correlate: seconds per output per tap in its three
  regimes (short kernels, 9..63 taps, long kernels), double and single;
* FFT: seconds per ``n log2 n`` of one transform (by dtype), summed over the
  two forward and one inverse transform, on one thread;
* the speed-up of all cores over one for the tap loop and for N-D transforms
  (1-D transforms of one signal do not split across threads).

Each constant is the median over a small grid of problem sizes of
time / work, every time itself a median of repeated runs. The fitted table is
printed in the form `_COST` uses; it was pasted into convkit/_plan.py
from a run on the 2-core CI machine class.

    python benchmarks/fit_cost_model.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import math
import statistics

import numpy as np

from convkit._engine import direct, spectral
from _timing import median_time


def fit_taps(repeat: int) -> dict:
    rng = np.random.default_rng(0)
    out = {}
    for key, dtype in (("f4", np.float32), ("f8", np.float64), ("c8", np.complex64),
                       ("c16", np.complex128)):
        per = []
        for n, k in ((1024, 3), (1024, 7), (2048, 5)):
            x = rng.standard_normal((n + k - 1, n + k - 1)).astype(dtype)
            w = rng.standard_normal((k, k)).astype(dtype)
            t = median_time(lambda: direct.correlate_valid(x, w, (0, 1), (1, 1), (1, 1),
                                                           np.dtype(dtype), workers=1), repeat)
            per.append(t / (n * n * k * k))
        out[key] = statistics.median(per)
    return out


def fit_small_direct(repeat: int) -> tuple[float, dict]:
    """(seconds per tap pass, numpy 1-D correlate seconds per output-tap by regime).

    numpy's correlate runs a tight loop for short kernels and a BLAS dot per
    output for long ones; in between (single precision, 9..63 taps) it is
    slow. `convkit._engine.direct.numpy_1d_cost` holds these numbers.
    """
    rng = np.random.default_rng(1)
    x = rng.standard_normal(1000).astype(np.float32)
    w = rng.standard_normal(50).astype(np.float32)
    t = median_time(lambda: direct._taps(x, w, (0,), (1,), (1,), np.empty(951, np.float32),
                                         False), repeat)
    per_pass = t / 50
    regimes = {}
    for name, dtype in (("double", np.float64), ("single", np.float32)):
        for label, k in (("<=8", 5), ("9..63", 31), (">=64", 500)):
            n = 100_000
            x = rng.standard_normal(n).astype(dtype)
            w = rng.standard_normal(k).astype(dtype)
            t = median_time(lambda: np.correlate(x, w, "valid"), repeat)
            regimes[f"{name} {label}"] = t / ((n - k + 1) * k)
    return per_pass, regimes


def fit_fft(repeat: int) -> dict:
    rng = np.random.default_rng(2)
    out = {}
    for key, dtype in (("f4", np.float32), ("f8", np.float64), ("c8", np.complex64),
                       ("c16", np.complex128)):
        per = []
        for shape in ((512, 512), (2048, 2048), (200_000,)):
            x = rng.standard_normal(shape).astype(dtype)
            axes = tuple(range(x.ndim))
            k = np.ones((3,) * x.ndim, dtype)
            t = median_time(lambda: spectral.fft_window(x, k, axes, (0,) * x.ndim,
                                                        x.shape, 1), repeat)
            size = math.prod(spectral.circular_size(n, 3, 0, n, dtype in (np.float32, np.float64))
                             for n in shape)
            per.append(t / (3 * size * math.log2(size)))
        out[key] = statistics.median(per)
    return out


def fit_threads(repeat: int) -> tuple[float, float]:
    """Speed-up of all cores over one on a 2048 x 2048 float32 problem: (taps, FFT)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2052, 2052)).astype(np.float32)
    w = rng.standard_normal((5, 5)).astype(np.float32)
    f32 = np.dtype(np.float32)
    taps = [median_time(lambda: direct.correlate_valid(x, w, (0, 1), (1, 1), (1, 1), f32,
                                                       workers=n), repeat) for n in (1, None)]
    ffts = [median_time(lambda: spectral.fft_window(x, w, (0, 1), (0, 0), x.shape, n), repeat)
            for n in (1, None)]
    return taps[0] / taps[1], ffts[0] / ffts[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    taps = fit_taps(args.repeat)
    per_pass, numpy_1d = fit_small_direct(args.repeat)
    fft = fit_fft(args.repeat)
    tap_speedup, fft_speedup = fit_threads(args.repeat)
    print("_COST = {")
    print('    "direct_tap": {' + ", ".join(f'"{k}": {v:.3g}' for k, v in taps.items()) + "},")
    print(f'    "direct_call": {per_pass:.3g},')
    print('    "fft": {' + ", ".join(f'"{k}": {v:.3g}' for k, v in fft.items()) + "},")
    print(f'    "tap_threads": {tap_speedup:.2f},')
    print(f'    "fft_threads": {fft_speedup:.2f},')
    print("}")
    print("numpy 1-D correlate, seconds per output-tap: "
          + ", ".join(f"{k}: {v:.3g}" for k, v in numpy_1d.items()))


if __name__ == "__main__":
    main()
