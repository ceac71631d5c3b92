"""The one thread pool convkit's engines share, how many threads a call may use, and BLAS's.

Threads are counted from the cores this process may run on
(`os.sched_getaffinity`), not from the machine's total: a container or a
`taskset` limits both. `set_threads(n)` (or ``CONVKIT_NUM_THREADS=n``, read
once at first use) caps every call; ``workers=`` caps one call further.

BLAS keeps its own threads, which spin-wait on their cores between calls: on a
machine where another process is busy they fight it and convkit's own pool
(measured: `convkit train` 31.7 s under one busy process, 14.2 s with BLAS on
one thread). `blas_threads(n)` sets OpenBLAS's thread count for a block,
through the library's own ``openblas_set_num_threads`` found among the loaded
libraries. No third-party package: per block, this costs 4-12 us, threadpoolctl's
cached controller 11-39 us and a fresh ``threadpool_limits`` 0.5-1.5 ms (measured side
by side, `benchmarks/bench_threads.py --blas-switch`). Other BLAS builds are left alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, Callable, Iterator, Sequence

__all__ = ["available_cores", "pool", "thread_count", "spare_cores", "set_threads", "get_threads",
           "parse_threads", "blas_threads", "parallel_map", "ENV_VAR"]

ENV_VAR = "CONVKIT_NUM_THREADS"

_requested: int | None = None     # set_threads(n); None: not set (the environment decides)
_env_read = False
_blas_lock = threading.Lock()
_blas_depth = 0                   # open blas_threads blocks (threads of one process share BLAS)
_blas_before = 0                  # BLAS's thread count before the outermost block


_cores_read: tuple[float, int] = (-1.0, 1)     # (when, cores) of the last affinity reading


def available_cores() -> int:
    """Cores this process may run on (read again after a second: `taskset` may change them;
    the system call each time cost 1 % of a training step)."""
    global _cores_read
    now = time.monotonic()
    if 0 <= now - _cores_read[0] < 1.0:
        return _cores_read[1]
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except AttributeError:   # not on Linux
        cores = os.cpu_count() or 1
    _cores_read = (now, cores)
    return cores


def parse_threads(value: object, source: str) -> int:
    """A thread count from user input (int or text), else a one-line ValueError naming `source`."""
    text = str(value).strip()
    try:
        n = int(text) if not isinstance(value, bool) else -1
    except ValueError:
        n = -1
    if n < 1:
        raise ValueError(f"{source} must be a whole number of threads >= 1 "
                         f"(at most {available_cores()} are used here), got {value!r}")
    return n


def set_threads(n: int | None) -> None:
    """Cap the threads every later convkit call uses.

    Parameters
    ----------
    n : int >= 1 or None
        The most threads a call may use (the pool, the FFT, the compiled
        filter loops); more than the cores this process may run on counts as
        all of them. None goes back to every available core, ignoring
        ``CONVKIT_NUM_THREADS``.

    Raises
    ------
    ValueError
        For a count below 1 or not a whole number.

    Examples
    --------
    >>> import convkit
    >>> convkit.set_threads(1)
    >>> convkit.get_threads()
    1
    >>> convkit.set_threads(None)
    """
    global _requested, _env_read
    _requested = None if n is None else parse_threads(n, "threads")
    _env_read = True   # an explicit setting overrides the environment


def get_threads() -> int:
    """Threads a convkit call uses by default.

    Returns
    -------
    int
        `set_threads`'s value, else ``CONVKIT_NUM_THREADS`` (read at the first
        call), else every core this process may run on; never more than those
        cores.

    Raises
    ------
    ValueError
        When ``CONVKIT_NUM_THREADS`` is not a whole number >= 1.

    Examples
    --------
    >>> import convkit
    >>> convkit.get_threads() >= 1
    True
    """
    global _requested, _env_read
    if not _env_read:
        raw = os.environ.get(ENV_VAR, "")
        _requested = parse_threads(raw, ENV_VAR) if raw.strip() else None
        _env_read = True
    cores = available_cores()
    return cores if _requested is None else min(_requested, cores)


@lru_cache(maxsize=1)
def pool() -> ThreadPoolExecutor:
    """The process-wide pool, one thread per available core."""
    return ThreadPoolExecutor(max_workers=available_cores(), thread_name_prefix="convkit")


def thread_count(workers: int | None) -> int:
    """Threads a call may use: `workers` if given (scipy's -1 = all), capped by the setting."""
    limit = get_threads()
    if workers is None:
        return limit
    w = int(workers)
    if w < 0:
        w = max(1, available_cores() + 1 + w)
    return max(1, min(w, limit))


LOAD_WINDOW = 0.25      # seconds: spare_cores reads the machine's load at most this often
_load_lock = threading.Lock()
_load_last: tuple[float, float, float] | None = None   # (wall, machine busy seconds, own CPU seconds)
_load_spare: int | None = None
_load_previous: int | None = None     # the last window's own count (two in a row decide)


def _cpu_seconds() -> tuple[float, int] | None:
    """(seconds of CPU that the cores this process may run on spent busy since boot, how many
    cores that is), from /proc/stat's per-core lines; None where it cannot be read (remembered).
    Stolen time counts as busy (the hypervisor gave the core to somebody else); niced time only
    when this process is niced too (a nice-19 job leaves its core to convkit's threads)."""
    global _stat_readable
    if not _stat_readable:
        return None
    try:
        allowed = {b"cpu%d" % n for n in os.sched_getaffinity(0)}
    except AttributeError:   # not on Linux
        allowed = set()
    niced = _niced()
    busy, counted, whole = 0, 0, None
    try:
        with open(_PROC_STAT, "rb") as f:
            for line in f:
                if not line.startswith(b"cpu"):
                    break                                  # the per-core lines come first
                fields = line.split()
                if len(fields) < 9:
                    continue
                user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
                ticks = user + system + irq + softirq + steal + (nice if niced else 0)
                if fields[0] == b"cpu":
                    whole = ticks
                elif fields[0] in allowed:
                    busy, counted = busy + ticks, counted + 1
    except (OSError, ValueError):
        _stat_readable = False
        return None
    if counted:
        return busy / _CLOCK_TICKS, counted
    if whole is None:
        _stat_readable = False
        return None
    return whole / _CLOCK_TICKS, os.cpu_count() or 1          # core numbering unknown: the machine


def _niced() -> bool:
    try:
        return os.getpriority(os.PRIO_PROCESS, 0) > 0
    except (AttributeError, OSError):
        return False


def _clock_ticks() -> float:
    try:
        return float(os.sysconf("SC_CLK_TCK"))
    except (AttributeError, ValueError, OSError):
        return 100.0


_CLOCK_TICKS = _clock_ticks()
_PROC_STAT = "/proc/stat"
_stat_readable = True
_clock = time.monotonic


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def spare_cores(cores: int | None = None) -> int:
    """Of `cores` (default: the available cores), how many other processes leave idle: over each
    window of at least LOAD_WINDOW seconds between readings, the busy CPU time of the cores this
    process may run on (/proc/stat) minus this process's own. A process spinning beside convkit
    takes one core once two windows in a row saw it (one window may have been another process's
    short burst); at least one always remains. Before two windows have passed, after more than 4 windows without a call
    (what ran while this process waited says little about now), or where /proc/stat cannot be
    read, all of them.

    The CNN's engines use this: with another process keeping a core busy, a second thread of
    theirs shares that core and gains nothing (measured: a Fashion-MNIST epoch on 2 threads is
    no faster than on 1 there, a digits run 8-15 % slower), while every hand-off to it waits on the
    scheduler. Their results do not depend on the thread count, so this choice cannot change them."""
    global _load_last, _load_spare, _load_previous
    cores = available_cores() if cores is None else cores
    now = _clock()
    with _load_lock:
        last = _load_last
        if last is not None and now - last[0] < LOAD_WINDOW:
            return max(1, min(cores, _load_spare if _load_spare is not None else cores))
        reading = _cpu_seconds()
        if reading is None:
            return cores
        machine, machine_cores = reading
        own = _own_cpu_seconds()
        _load_last = (now, machine, own)
        if last is None or not 0 < now - last[0] <= 4 * LOAD_WINDOW:
            _load_spare = _load_previous = None   # no reading yet, or an old one (this process sat
            return cores                          # idle): the next windows decide
        others = max(0.0, (machine - last[1]) - (own - last[2])) / (now - last[0])
        spare = machine_cores - int(others + 0.5)
        _load_spare = None if _load_previous is None else max(spare, _load_previous)
        _load_previous = spare
        return max(1, min(cores, _load_spare if _load_spare is not None else cores))


def _openblas() -> tuple[Callable[[], int], Callable[[int], None]] | None:
    """OpenBLAS's (get, set) thread-count functions, from the libraries this process loaded."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() and ".so" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_openblas", "64_"), ("scipy_openblas", ""), ("openblas", "64_"),
                               ("openblas", "")):
            getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
            setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
            if getter is not None and setter is not None:
                getter.restype = ctypes.c_int
                setter.argtypes = [ctypes.c_int]
                return getter, setter
    return None


_blas: Any = None
_blas_found = False


def _blas_functions() -> tuple[Callable[[], int], Callable[[int], None]] | None:
    global _blas, _blas_found
    if not _blas_found:
        import numpy  # noqa: F401  (loads numpy's BLAS, so it is in the maps)
        _blas, _blas_found = _openblas(), True
    return _blas


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Run the block with BLAS on `n` threads (the outermost block decides; restored after)."""
    global _blas_depth, _blas_before
    funcs = _blas_functions()
    if funcs is None:
        yield
        return
    get, set_ = funcs
    with _blas_lock:
        _blas_depth += 1
        if _blas_depth == 1:
            _blas_before = get()
            set_(max(1, n))
    try:
        yield
    finally:
        with _blas_lock:
            _blas_depth -= 1
            if _blas_depth == 0:
                set_(_blas_before)


def parallel_map(fn: Callable[[Any], None], items: Sequence[Any], threads: int) -> None:
    """fn(item) for every item on at most `threads` threads of the pool, BLAS on one thread
    meanwhile (its own threads would compete with these for the same cores). Each thread takes
    the next item when it is done with one, so a thread slowed by other work takes fewer; the
    calling thread is one of them; a pool thread that has not started when the items run out
    is not waited for. The caller's ``numpy.errstate`` applies in the threads too (numpy keeps it
    per thread). Returns when every started item has ended; after an error no new item starts,
    and the caller's own error is raised, else the first pool thread's."""
    items = list(items)
    threads = max(1, min(threads, len(items), available_cores()))
    if threads == 1:
        for item in items:
            fn(item)
        return
    import numpy as np

    feed = iter(items)
    state = threading.Condition()
    busy = [0]                         # items taken by pool threads and not finished yet
    errors: list[BaseException] = []
    numpy_errors = np.geterr()       # numpy's error handling is per thread: the caller's holds here

    def take(pool_thread: bool) -> Any:
        with state:
            item = _DONE if errors else next(feed, _DONE)
            if item is not _DONE and pool_thread:
                busy[0] += 1
            return item

    def worker() -> None:
        with np.errstate(**numpy_errors):
            while (item := take(True)) is not _DONE:
                try:
                    fn(item)
                except BaseException as exc:
                    with state:
                        errors.append(exc)
                finally:
                    with state:
                        busy[0] -= 1
                        state.notify_all()

    with blas_threads(1):
        # The calling thread takes items too instead of waiting idle, and waits only for the
        # items a pool thread has started: a pool thread that wakes late (its core busy with
        # another process) finds nothing left and costs the call nothing.
        try:
            for _ in range(threads - 1):
                try:
                    pool().submit(worker)
                except RuntimeError:          # the pool is shut down (interpreter exit): the
                    break                     # calling thread does the items
            while (item := take(False)) is not _DONE:
                fn(item)
        except BaseException as exc:          # Ctrl-C too: no new item starts, none may still run
            with state:
                errors.insert(0, exc)
        while True:
            try:
                with state:
                    state.wait_for(lambda: busy[0] == 0)
                break
            except BaseException as exc:      # Ctrl-C while waiting: still wait for the started items
                with state:
                    errors.insert(0, exc)
        if errors:
            raise errors[0]


_DONE = object()
