"""Timing helpers shared by the benchmark scripts (run as ``python benchmarks/NAME.py``)."""

from __future__ import annotations

import statistics
import time


def median_time(func, repeat: int) -> float:
    """Median wall time of `func()` over `repeat` runs after one warm-up."""
    func()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def paired_medians(f, g, repeat: int) -> tuple[float, float]:
    """Median wall times of f() and g(), run alternately after one warm-up each,
    so that a change in the machine's load hits both alike."""
    f()
    g()
    tf, tg = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        tf.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        g()
        tg.append(time.perf_counter() - t0)
    return statistics.median(tf), statistics.median(tg)
