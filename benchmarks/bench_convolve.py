"""Benchmark `convkit.convolve(method="auto")` against `scipy.signal.convolve(method="auto")`.

Target (issue 2): over a fixed grid of 1-D and 2-D cases, float32 and
float64, kernels from 3 taps to half the signal, the time ratio convkit /
scipy has a geometric mean <= 0.6 and no case above 1.1. Both are timed side
by side in one process, alternating, after a warm-up, at least 7 pairs and
at least 0.3 s per side; a case's ratio is the median of its pairs' ratios
(the table's ms columns are the median times); the table
also shows which engine each library's "auto" picked and the largest
difference between the two results relative to the result's peak.

Per-call floor (issue 14): convolve of 1e5 float64 samples with 11 taps <= 1.05x
numpy.convolve (which it calls), printed after the grid. Against numpy, run as
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_convolve.py``.

    python benchmarks/bench_convolve.py [--repeat 7] [--quick]
"""

from __future__ import annotations

import argparse
import math
import statistics

import numpy as np
import scipy.signal as ss

import convkit
from convkit._engine.plan import Problem, choose
from _timing import paired_medians

GEOMEAN_TARGET = 0.6
MAX_TARGET = 1.1

# (label, signal shape, kernel shape, dtype)
CASES = [
    ("1-D f64 k=3", (100_000,), (3,), np.float64),
    ("1-D f64 k=31", (100_000,), (31,), np.float64),
    ("1-D f64 k=1000", (100_000,), (1000,), np.float64),
    ("1-D f64 k=N/2", (100_000,), (50_000,), np.float64),
    ("1-D f32 k=3", (100_000,), (3,), np.float32),
    ("1-D f32 k=31", (100_000,), (31,), np.float32),
    ("1-D f32 k=1000", (100_000,), (1000,), np.float32),
    ("1-D f32 k=N/2", (100_000,), (50_000,), np.float32),
    ("2-D f32 2048² 3x3", (2048, 2048), (3, 3), np.float32),
    ("2-D f32 2048² 5x5", (2048, 2048), (5, 5), np.float32),
    ("2-D f32 2048² 15x15", (2048, 2048), (15, 15), np.float32),
    ("2-D f32 2048² N/2", (2048, 2048), (1024, 1024), np.float32),
    ("2-D f64 512² 3x3", (512, 512), (3, 3), np.float64),
    ("2-D f64 512² 9x9", (512, 512), (9, 9), np.float64),
    ("2-D f64 512² 65x65", (512, 512), (65, 65), np.float64),
    ("2-D f64 512² N/2", (512, 512), (256, 256), np.float64),
]


def run(repeat: int, quick: bool) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for label, xs, ks, dtype in CASES:
        if quick and math.prod(ks) > 100_000:
            continue
        x = rng.standard_normal(xs).astype(dtype)
        k = rng.standard_normal(ks).astype(dtype)
        ours = convkit.convolve(x, k)
        ref = ss.convolve(x, k)
        err = float(np.abs(ours - ref).max() / np.abs(ref).max())
        axes = tuple(range(x.ndim))
        engine = choose(Problem(x, k, "full", axes, "constant", 0, (1,) * x.ndim,
                                  (1,) * x.ndim), None)
        t_ck, t_sp, ratio = paired_medians(lambda: convkit.convolve(x, k),
                                           lambda: ss.convolve(x, k), repeat, min_seconds=0.3)
        rows.append({"case": label, "convkit_ms": 1e3 * t_ck, "scipy_ms": 1e3 * t_sp,
                     "ratio": ratio, "convkit_engine": engine,
                     "scipy_engine": ss.choose_conv_method(x, k), "rel_err": err})
    return rows


def floor_ratio(rounds: int = 3) -> list[float]:
    """convkit.convolve / numpy.convolve on 1e5 x 11 float64, `rounds` interleaved medians."""
    rng = np.random.default_rng(0)
    x, k = rng.standard_normal(100_000), rng.standard_normal(11)
    return [paired_medians(lambda: convkit.convolve(x, k), lambda: np.convolve(x, k), 200,
                           min_seconds=0.5)[2] for _ in range(rounds)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="skip the N/2 kernels")
    args = parser.parse_args()
    rows = run(args.repeat, args.quick)
    print(f"{'case':<22} {'convkit ms':>11} {'scipy ms':>10} {'ratio':>6}  "
          f"{'convkit':<7} {'scipy':<7} {'rel err':>8}")
    for r in rows:
        print(f"{r['case']:<22} {r['convkit_ms']:11.2f} {r['scipy_ms']:10.2f} {r['ratio']:6.2f}  "
              f"{r['convkit_engine']:<7} {r['scipy_engine']:<7} {r['rel_err']:8.1e}")
    ratios = [r["ratio"] for r in rows]
    geomean = math.exp(statistics.fmean(math.log(v) for v in ratios))
    worst = max(ratios)
    ok = geomean <= GEOMEAN_TARGET and worst <= MAX_TARGET
    print(f"geometric mean ratio {geomean:.2f} (target <= {GEOMEAN_TARGET}), "
          f"max {worst:.2f} (target <= {MAX_TARGET}): {'PASS' if ok else 'FAIL'}")
    floors = floor_ratio()
    floor_ok = statistics.median(floors) <= 1.05
    print("1-D 1e5 x 11 float64 vs numpy.convolve: " + ", ".join(f"{r:.3f}" for r in floors)
          + f" (median {statistics.median(floors):.3f}, target <= 1.05): {'PASS' if floor_ok else 'FAIL'}")
    ok = ok and floor_ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
