"""Fit every constant of convkit's method-choice cost model on this machine.

`convkit._engine.costs.COST` holds seconds per unit of work for each engine,
and this script produces each of its entries (`FITTERS` has one fitter per
entry; a test checks that the two agree and that the file is exactly what
`render` writes):

* ``direct_tap``: the tap loop, seconds per output sample per kernel tap, by
  dtype, on one thread;
* ``direct_gemm``: ``windows @ kernel`` (few outputs, many taps), per output
  per tap;
* ``direct_call``: the Python overhead of one tap pass (slope of time over
  taps on a tiny output);
* ``numpy_1d``: numpy's 1-D correlate per output per tap in its three regimes
  of kernel length, double and single precision;
* ``fft``: one N-D FFT product, per ``n log2 n`` summed over the two forward
  transforms and the inverse, by dtype, one thread; ``fft1``: the same for one
  long 1-D signal; ``oa``: overlap-add per ``n log2 n`` of its block
  transforms; ``fft_call``: the fixed cost of one FFT product (a tiny one);
* ``tap_threads`` / ``fft_threads``: the speed-up of all cores over one.

Each constant is the median over a small grid of problem sizes of
time / work, every time itself a median of repeated runs. The numbers in the
repository come from a 2-core machine of the CI class.

    python benchmarks/fit_cost_model.py [--repeat 5]          # print costs.py
    python benchmarks/fit_cost_model.py --write                # and replace it
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path
from typing import Callable

import numpy as np

from _timing import median_time
from convkit._engine import direct, spectral

COSTS_PY = Path(__file__).resolve().parent.parent / "convkit" / "_engine" / "costs.py"

DTYPES = {"f4": np.float32, "f8": np.float64, "c8": np.complex64, "c16": np.complex128}
TAP_DTYPES = {**DTYPES, "int": np.int64}
NUMPY_1D_REGIMES = {"<=8": 5, "9..63": 31, ">=64": 500}          # label -> taps measured
NUMPY_1D_PRECISIONS = {"double": np.float64, "single": np.float32}


def _fft_per(dtype, shape: tuple, repeat: int) -> float:
    """Seconds per n log2 n of one FFT product of `shape` with a 3-tap kernel, one thread."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(dtype)
    k = np.ones((3,) * x.ndim, dtype)
    axes = tuple(range(x.ndim))
    t = median_time(lambda: spectral.fft_window(x, k, axes, (0,) * x.ndim, x.shape, 1), repeat)
    real = np.dtype(dtype).kind == "f"
    size = math.prod(spectral.circular_size(n, 3, 0, n, real) for n in shape)
    return t / (3 * size * math.log2(size))


def fit_direct_tap(repeat: int) -> dict:
    rng = np.random.default_rng(0)
    out = {}
    for key, dtype in TAP_DTYPES.items():
        per = []
        for n, k in ((1024, 3), (1024, 7), (2048, 5)):
            x = (rng.standard_normal((n + k - 1, n + k - 1)) * 100).astype(dtype)
            w = (rng.standard_normal((k, k)) * 100).astype(dtype)
            t = median_time(lambda: direct.correlate_valid(x, w, (0, 1), (1, 1), (1, 1),
                                                           np.dtype(dtype), workers=1), repeat)
            per.append(t / (n * n * k * k))
        out[key] = statistics.median(per)
    return out


def fit_direct_gemm(repeat: int) -> float:
    """Few outputs (< 8192) and more than 8 taps: the engine runs windows @ kernel."""
    rng = np.random.default_rng(4)
    per = []
    for n, k in ((64, 5), (64, 9), (48, 13)):
        x = rng.standard_normal((n + k - 1, n + k - 1))
        w = rng.standard_normal((k, k))
        t = median_time(lambda: direct.correlate_valid(x, w, (0, 1), (1, 1), (1, 1),
                                                       np.dtype(np.float64), workers=1), repeat)
        per.append(t / (n * n * k * k))
    return statistics.median(per)


def fit_direct_call(repeat: int) -> float:
    """Slope of time over the number of tap passes on a tiny output (1 to 8 taps)."""
    rng = np.random.default_rng(1)
    ks = np.arange(1, 9)
    times = []
    for k in ks:
        x = rng.standard_normal((4, 8 + k - 1)).astype(np.float32)
        w = rng.standard_normal((1, k)).astype(np.float32)
        times.append(median_time(lambda: direct.correlate_valid(
            x, w, (0, 1), (1, 1), (1, 1), np.dtype(np.float32), workers=1), max(repeat, 20)))
    slope = float(np.polyfit(ks, times, 1)[0])
    return max(slope, 1e-9)


def fit_numpy_1d(repeat: int) -> dict:
    rng = np.random.default_rng(1)
    out = {}
    n = 100_000
    for name, dtype in NUMPY_1D_PRECISIONS.items():
        for label, k in NUMPY_1D_REGIMES.items():
            x = rng.standard_normal(n).astype(dtype)
            w = rng.standard_normal(k).astype(dtype)
            t = median_time(lambda: np.correlate(x, w, "valid"), repeat)
            out[f"{name} {label}"] = t / ((n - k + 1) * k)
    return out


def fit_fft(repeat: int) -> dict:
    return {key: statistics.median(_fft_per(dtype, shape, repeat)
                                   for shape in ((512, 512), (1024, 1024), (2048, 2048)))
            for key, dtype in DTYPES.items()}


def fit_fft1(repeat: int) -> dict:
    return {key: statistics.median(_fft_per(dtype, shape, repeat)
                                   for shape in ((65_536,), (200_000,), (1_000_000,)))
            for key, dtype in DTYPES.items()}


def fit_oa(repeat: int) -> dict:
    rng = np.random.default_rng(5)
    out = {}
    for key, dtype in DTYPES.items():
        per = []
        for n, k in ((200_000, 31), (1_000_000, 127), (1_000_000, 511)):
            x = rng.standard_normal(n).astype(dtype)
            w = rng.standard_normal(k).astype(dtype)
            t = median_time(lambda: spectral.oa_window(x, w, 0, 0, n + k - 1, 1), repeat)
            size, block = spectral.oa_block(n, k, np.dtype(dtype).kind == "f")
            per.append(t / (2 * math.ceil(n / block) * size * math.log2(size)))
        out[key] = statistics.median(per)
    return out


def fit_fft_call(repeat: int) -> float:
    """The time of a tiny FFT product, where the work is nothing next to the calls."""
    rng = np.random.default_rng(6)
    times = []
    for shape in ((16,), (8, 8), (32,)):
        x = rng.standard_normal(shape)
        k = np.ones((3,) * x.ndim)
        axes = tuple(range(x.ndim))
        times.append(median_time(lambda: spectral.fft_window(x, k, axes, (0,) * x.ndim,
                                                             x.shape, 1), max(repeat, 20)))
    return statistics.median(times)


def _speedups(repeat: int) -> tuple[float, float]:
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


_SPEEDUPS: dict[int, tuple[float, float]] = {}


def fit_tap_threads(repeat: int) -> float:
    return _SPEEDUPS.setdefault(repeat, _speedups(repeat))[0]


def fit_fft_threads(repeat: int) -> float:
    return _SPEEDUPS.setdefault(repeat, _speedups(repeat))[1]


# COST entry -> (fitter, the comment written beside it in costs.py), in the file's order
FITTERS: dict[str, tuple[Callable[[int], object], str]] = {
    "direct_tap": (fit_direct_tap, "per output per tap, tap loop, one thread"),
    "direct_gemm": (fit_direct_gemm, "windows @ kernel, per output per tap"),
    "direct_call": (fit_direct_call, "per tap pass (Python overhead of one slice multiply-add)"),
    "fft": (fit_fft, "per n log2 n, N-D"),
    "fft1": (fit_fft1, "one long 1-D transform"),
    "oa": (fit_oa, "per n log2 n, blocks"),
    "fft_call": (fit_fft_call, "fixed cost of one FFT product"),
    "tap_threads": (fit_tap_threads, "all cores over one: the tap loop is memory-bound"),
    "fft_threads": (fit_fft_threads, "all cores over one for N-D or batched transforms"),
    "numpy_1d": (fit_numpy_1d, "numpy's 1-D correlate, per output per tap, by kernel length"),
}

HEADER = '''"""Every fitted constant of the method-choice cost model, in seconds per unit of work.

Written by ``python benchmarks/fit_cost_model.py --write`` (which fits each
entry on the machine it runs on); the numbers here come from a 2-core machine
of the CI class. Edit the script, not this file.
"""

from __future__ import annotations

from typing import Any

__all__ = ["COST"]

COST: dict[str, Any] = {
'''


def _number(v: float) -> str:
    return repr(float(f"{v:.2g}"))


def render(cost: dict) -> str:
    """The text of costs.py holding `cost` (every number to 2 significant digits)."""
    lines = [HEADER.rstrip("\n")]
    for name, (_, comment) in FITTERS.items():
        value = cost[name]
        if isinstance(value, dict):
            lines.append(f"    # {comment}")
            items = [f'"{k}": {_number(v)}' for k, v in value.items()]
            line = f'    "{name}": {{' + ", ".join(items) + "},"
            if len(line) <= 100:
                lines.append(line)
            else:                                   # one entry per line
                lines += [f'    "{name}": {{'] + [f"        {item}," for item in items] + ["    },"]
        else:
            lines.append(f'    "{name}": {_number(value)},  # {comment}')
    lines.append("}")
    return "\n".join(lines) + "\n"


def fit(repeat: int) -> dict:
    cost = {}
    for name, (fitter, _) in FITTERS.items():
        print(f"fitting {name} ...", file=sys.stderr)
        cost[name] = fitter(repeat)
    return cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per problem (median)")
    parser.add_argument("--write", action="store_true", help=f"replace {COSTS_PY}")
    args = parser.parse_args()
    text = render(fit(args.repeat))
    if args.write:
        COSTS_PY.write_text(text)
        print(f"wrote {COSTS_PY}", file=sys.stderr)
    else:
        print(text, end="")


if __name__ == "__main__":
    main()
