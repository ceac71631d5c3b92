"""Timing helpers shared by the benchmark scripts (run as ``python benchmarks/NAME.py``)."""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import subprocess
import sys
import time
from typing import Iterator


def median_time(func, repeat: int) -> float:
    """Median wall time of `func()` over `repeat` runs after one warm-up."""
    func()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def paired_medians(f, g, repeat: int, min_seconds: float = 0.0, max_repeat: int = 400) -> tuple[float, float, float]:
    """Median wall times of f() and g(), run alternately after one warm-up each, and the
    median of the per-pair ratios f/g: a change in the machine's load (other jobs, clock
    speed) hits both calls of a pair alike. At least `repeat` pairs, more (up to
    `max_repeat`) until both sides have run `min_seconds`: short calls need many samples."""
    f()
    g()
    tf, tg = [], []
    while len(tf) < repeat or (min(sum(tf), sum(tg)) < min_seconds and len(tf) < max_repeat):
        t0 = time.perf_counter()
        f()
        tf.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        g()
        tg.append(time.perf_counter() - t0)
    return statistics.median(tf), statistics.median(tg), statistics.median(a / b for a, b in zip(tf, tg))


@contextlib.contextmanager
def busy(n: int) -> Iterator[None]:
    """`n` processes spinning on a core each for the duration of the block (0: none)."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    if procs:
        time.sleep(0.5)
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, for the tables (the machine is shared)."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def geomean(values) -> float:
    """Geometric mean of positive numbers."""
    return math.exp(statistics.fmean(math.log(v) for v in values))
