"""`convkit._engine.threads`: the thread setting (set_threads, CONVKIT_NUM_THREADS, workers),
the OpenBLAS switch, the pool map, and --threads on the CLI. Results computed on several
threads are compared to scipy's and to the same call on one thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import scipy.signal
from click.testing import CliRunner

import convkit
from convkit._engine import threads
from convkit_cli import cli


@pytest.fixture(autouse=True)
def restore_setting(monkeypatch):
    """Every test starts from 'not set, environment not read' and leaves it so."""
    monkeypatch.setattr(threads, "_requested", None)
    monkeypatch.setattr(threads, "_env_read", False)
    monkeypatch.delenv(threads.ENV_VAR, raising=False)
    yield
    threads._requested, threads._env_read = None, False


def test_default_is_every_available_core():
    assert threads.get_threads() == threads.available_cores()
    assert threads.thread_count(None) == threads.available_cores()


def test_set_threads_caps_calls_and_workers():
    convkit.set_threads(1)
    assert threads.get_threads() == 1
    assert threads.thread_count(None) == 1
    assert threads.thread_count(8) == 1
    convkit.set_threads(None)
    assert threads.get_threads() == threads.available_cores()


def test_never_more_threads_than_available_cores():
    convkit.set_threads(10_000)
    assert threads.get_threads() == threads.available_cores()
    assert threads.thread_count(10_000) == threads.available_cores()


def test_scipy_negative_workers_count_from_the_cores():
    assert threads.thread_count(-1) == threads.available_cores()


@pytest.mark.parametrize("value", ["abc", "0", "-2", "1.5"])
def test_bad_environment_value_is_one_line(monkeypatch, value):
    monkeypatch.setenv(threads.ENV_VAR, value)
    with pytest.raises(ValueError, match=r"^CONVKIT_NUM_THREADS must be a whole number of threads >= 1 .*"
                                         + repr(value).replace(".", r"\.")):
        threads.get_threads()


def test_environment_value_is_read(monkeypatch):
    monkeypatch.setenv(threads.ENV_VAR, "1")
    assert threads.get_threads() == 1


@pytest.mark.parametrize("value", [0, -1, "x", True])
def test_set_threads_rejects(value):
    with pytest.raises(ValueError, match="threads must be a whole number of threads >= 1"):
        convkit.set_threads(value)


def test_blas_switch_restores_and_nests():
    funcs = threads._blas_functions()
    assert funcs is not None, "numpy's BLAS is not OpenBLAS (numpy's PyPI wheels bundle it)"
    get, set_ = funcs
    before = get()
    with threads.blas_threads(1):
        assert get() == 1
        with threads.blas_threads(1):
            assert get() == 1
        assert get() == 1
    assert get() == before


def test_parallel_map_runs_every_item_once_on_at_most_n_threads():
    seen, names = [], set()
    lock = threading.Lock()

    def fn(i):
        with lock:
            seen.append(i)
            names.add(threading.current_thread().name)

    threads.parallel_map(fn, range(50), 2)
    assert sorted(seen) == list(range(50))
    assert len(names) <= 2
    seen.clear()
    names.clear()
    threads.parallel_map(fn, range(5), 1)
    assert seen == list(range(5)) and names == {threading.current_thread().name}


@pytest.mark.parametrize("n", [1, 2])
def test_threaded_direct_engine_equals_scipy(n):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((700, 600))
    k = rng.standard_normal((5, 4))
    convkit.set_threads(n)
    ours = convkit.correlate(x, k, mode="same", method="direct")
    ref = scipy.signal.correlate(x, k, mode="same", method="direct")
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(ours, convkit.correlate(x, k, mode="same", method="direct", workers=1))


def test_cli_threads_option_is_checked():
    result = CliRunner().invoke(cli, ["convolve", "a.csv", "b.csv", "--threads", "0"])
    assert result.exit_code == 2
    assert "--threads" in result.output and "x>=1" in result.output


def test_cli_bad_environment_is_one_line(monkeypatch):
    monkeypatch.setenv(threads.ENV_VAR, "abc")
    result = CliRunner().invoke(cli, ["filter", "missing.png", "--kernel", "blur"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "CONVKIT_NUM_THREADS must be a whole number" in lines[0]


@pytest.mark.parametrize("command", ["train", "filter", "convolve", "evaluate", "predict"])
def test_cli_commands_that_compute_take_threads(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and "--threads N" in result.output


def test_cli_threads_sets_the_library(tmp_path):
    np.savetxt(tmp_path / "a.csv", np.arange(5.0))
    np.savetxt(tmp_path / "b.csv", np.ones(2))
    result = CliRunner().invoke(cli, ["convolve", str(tmp_path / "a.csv"), str(tmp_path / "b.csv"),
                                      "-o", "-", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert threads.get_threads() == 1
    numbers = result.stdout.split()[:6]   # one number per line; the description goes to stderr
    np.testing.assert_allclose(np.array(numbers, dtype=float), np.convolve(np.arange(5.0), np.ones(2)))


def test_parallel_map_threads_follow_the_callers_numpy_errstate():
    """numpy's error handling is per thread: work handed to the pool follows the caller's."""
    import warnings

    import numpy as np

    from convkit._engine.threads import parallel_map

    def divide(_):
        np.divide(np.ones(4), np.zeros(4))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(divide="ignore"):
            parallel_map(divide, range(6), 2)                  # no RuntimeWarning in any thread
        with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
            parallel_map(divide, range(6), 2)


def test_parallel_map_does_every_item_once_and_raises_after_all_ended():
    """The caller takes items too; after an error no new item starts, and the error surfaces
    only when no thread is still working."""
    import time as _time

    from convkit._engine.threads import parallel_map

    done: list[int] = []
    started: list[int] = []
    lock = threading.Lock()
    running = [0]

    def work(i):
        with lock:
            running[0] += 1
            started.append(i)
        _time.sleep(0.01)
        with lock:
            done.append(i)
            running[0] -= 1
        if i == 3:
            raise ValueError("item 3")

    with pytest.raises(ValueError, match="item 3"):
        parallel_map(work, range(12), 2)
    assert running[0] == 0 and sorted(done) == sorted(started) and 3 in done
    assert len(set(done)) == len(done) and len(done) < 12 and set(range(4)) <= set(done)
    threads_used = set()
    seen: list[int] = []
    parallel_map(lambda i: threads_used.add(threading.get_ident()) or seen.append(i) or _time.sleep(0.005),
                 range(20), 2)
    assert threading.get_ident() in threads_used and len(threads_used) == 2
    assert sorted(seen) == list(range(20))


def test_parallel_map_does_not_wait_for_a_pool_thread_that_never_started(monkeypatch):
    """A pool thread that cannot start (its core busy elsewhere) costs the call nothing: the
    caller does every item and returns; the late thread then finds nothing left to do."""
    from concurrent.futures import Future

    from convkit._engine.threads import parallel_map

    import time as _time

    held: list = []

    class StalledPool:
        def submit(self, fn):
            held.append(fn)
            job: Future = Future()
            late = threading.Timer(3.0, job.set_result, (None,))    # the thread "runs" 3 s later
            late.daemon = True
            late.start()
            return job

    monkeypatch.setattr(threads, "pool", lambda: StalledPool())
    seen: list[int] = []
    t0 = _time.perf_counter()
    parallel_map(seen.append, range(6), 2)
    assert _time.perf_counter() - t0 < 1.5
    assert seen == list(range(6)) and len(held) == 1
    held[0]()                                   # the pool thread wakes up late: no item is done twice
    assert seen == list(range(6))


def _fake_load(monkeypatch, readings):
    """spare_cores reading from a list of (wall, machine busy seconds, own CPU seconds)."""
    feed = iter(readings)
    now = [0.0, 0.0, 0.0]

    def advance():
        now[:] = next(feed)

    monkeypatch.setattr(threads, "_clock", lambda: now[0])
    monkeypatch.setattr(threads, "_cpu_seconds", lambda: (now[1], 2))
    monkeypatch.setattr(threads, "_own_cpu_seconds", lambda: now[2])
    return advance


@pytest.mark.parametrize("others, spare", [(0.0, 2), (0.3, 2), (0.7, 1), (1.0, 1), (2.0, 1)])
def test_spare_cores_counts_the_cores_other_processes_keep_busy(monkeypatch, others, spare):
    """Busy CPU time of the machine minus this process's own, per second of wall time, rounded:
    a spinning process beside convkit takes one core of two once two windows in a row saw it;
    at least one always remains."""
    own = 1.3                                            # cores this process uses

    def window(t0, m0, o0, seconds, other):
        return t0 + seconds, m0 + seconds * (own + other), o0 + seconds * own

    readings = [(10.0, 100.0, 5.0)]
    for seconds, other in [(0.5, others), (0.5, others), (0.1, others), (0.6, 0.0), (0.3, others),
                           (2.0, 2.0), (0.5, others), (0.5, others)]:
        readings.append(window(*readings[-1], seconds, other))
    advance = _fake_load(monkeypatch, readings)
    seen = []
    for _ in readings:
        advance()
        seen.append(threads.spare_cores(2))
    assert threads.spare_cores(1) == 1                  # never more than asked for
    assert seen == [2,                                  # no window yet: every core
                    2, spare,                           # one window does not decide; two do
                    spare,                              # within LOAD_WINDOW: the last count
                    2,                                  # (almost) nobody else in the last window: at once
                    2,                                  # one busy window after an idle one: not yet
                    2,                                  # 2 s without a call: what ran meanwhile is not now
                    2, spare]                           # fresh windows decide again


@pytest.mark.parametrize("niced", [False, True])
def test_cpu_reading_counts_only_the_cores_this_process_may_use(tmp_path, monkeypatch, niced):
    """Busy ticks of the per-core lines of the cores in this process's affinity (nice time only
    when this process is niced too); the whole machine's line when the numbering does not match;
    an unreadable file is remembered as such."""
    stat = tmp_path / "stat"
    rows = {"cpu": (100, 1000, 30, 500, 7, 1, 2, 4), "cpu0": (10, 100, 3, 50, 1, 0, 0, 1),
            "cpu1": (20, 200, 5, 60, 2, 1, 1, 2), "cpu2": (40, 400, 9, 70, 3, 0, 1, 1),
            "cpu3": (30, 300, 13, 80, 1, 0, 0, 0)}
    stat.write_text("".join(f"{k} " + " ".join(map(str, v)) + " 0 0\n" for k, v in rows.items())
                    + "intr 123 4 5\nctxt 99\n")
    monkeypatch.setattr(threads, "_PROC_STAT", str(stat))
    monkeypatch.setattr(threads, "_stat_readable", True)
    monkeypatch.setattr(threads, "_niced", lambda: niced)
    monkeypatch.setattr(threads, "_CLOCK_TICKS", 100.0)

    def busy(*names):
        return sum(u + s + i + si + st + (n if niced else 0)
                   for u, n, s, _, _, i, si, st in (rows[k] for k in names)) / 100.0

    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {1, 2})
    assert threads._cpu_seconds() == pytest.approx((busy("cpu1", "cpu2"), 2))
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {7})
    assert threads._cpu_seconds() == pytest.approx((busy("cpu"), threads.os.cpu_count()))
    monkeypatch.setattr(threads, "_PROC_STAT", str(tmp_path / "missing"))
    assert threads._cpu_seconds() is None
    monkeypatch.setattr(threads, "_PROC_STAT", str(stat))
    assert threads._cpu_seconds() is None                          # not read again


def test_spare_cores_sees_a_real_spinning_process(monkeypatch):
    """On this machine: with a process spinning beside it, at least one core is not spare."""
    import subprocess
    import sys
    import time as _time

    monkeypatch.undo()                                  # the conftest pin (every core spare) too
    cores = threads.available_cores()
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        _time.sleep(0.3)
        threads._load_last = None
        threads.spare_cores()
        _time.sleep(threads.LOAD_WINDOW + 0.2)
        threads.spare_cores()
        _time.sleep(threads.LOAD_WINDOW + 0.2)
        if threads._cpu_seconds() is None:              # no /proc/stat here: every core, as documented
            assert threads.spare_cores() == cores
        else:
            assert 1 <= threads.spare_cores() <= max(1, cores - 1)
    finally:
        spinner.kill()
        spinner.wait()
        threads._load_last = threads._load_spare = threads._load_previous = None
