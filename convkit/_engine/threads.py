"""The one thread pool convkit's engines share, and how many threads a call may use.

Threads are counted from the cores this process may run on
(`os.sched_getaffinity`), not from the machine's total: a container or a
`taskset` limits both.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

__all__ = ["available_cores", "pool", "thread_count"]


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:   # not on Linux
        return os.cpu_count() or 1


@lru_cache(maxsize=1)
def pool() -> ThreadPoolExecutor:
    """The process-wide pool, one thread per available core."""
    return ThreadPoolExecutor(max_workers=available_cores(), thread_name_prefix="convkit")


def thread_count(workers: int | None) -> int:
    """Threads a call may use: `workers` if given, else every available core."""
    return available_cores() if workers is None else int(workers)
