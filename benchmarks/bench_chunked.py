"""Benchmark convkit on dask arrays (issue 12) against the in-memory call and dask-image.

Targets:
* filter_image on a 4096 x 4096 float32 dask array in 1024 x 1024 chunks
  (gaussian:sigma=2, reflect): no slower than dask_image.ndfilters.correlate
  with the same kernel on the same chunks, and within 1.3x of the in-memory
  convkit call.
* a 2e7-sample float64 signal convolved with a 5e4-tap kernel (overlap-save
  blocks): within 1.2x of the in-memory convkit.convolve, with the peak
  memory of the chunked run reported (it stays a few blocks, not the signal).
* `convkit filter BIG.tif --kernel gaussian:sigma=2 -o OUT.zarr` on a
  generated 16384 x 16384 float32 tiled TIFF (1 GiB, written to --tmp, never
  committed): peak RSS under 1.2 GiB; the time is reported.

Timings are medians of pairs run alternately (`_timing.paired_medians`): the
2-core machine is shared, so only the per-pair ratios are meaningful.

    python benchmarks/bench_chunked.py [--part filter,signal,cli] [--repeat 5] [--tmp /tmp]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import dask
import dask.array as da
import numpy as np

import convkit
from convkit.kernels import get_kernel
from _timing import paired_medians

FILTER_VS_DASK_IMAGE = 1.0
FILTER_VS_MEMORY = 1.3
SIGNAL_VS_MEMORY = 1.2
CLI_RSS_GIB = 1.2


def bench_filter(repeat: int) -> None:
    """filter_image on dask vs dask_image.ndfilters.correlate and vs in memory."""
    from dask_image import ndfilters

    rng = np.random.default_rng(0)
    image = rng.random((4096, 4096), dtype=np.float32)
    lazy = da.from_array(image, chunks=1024)
    kernel = get_kernel("gaussian:sigma=2").astype(np.float32)

    def ours():
        convkit.filter_image(lazy, "gaussian:sigma=2").compute(scheduler="threads")

    def theirs():
        ndfilters.correlate(lazy, kernel, mode="reflect").compute(scheduler="threads")

    def memory():
        convkit.filter_image(image, "gaussian:sigma=2")

    t_ours, t_theirs, ratio = paired_medians(ours, theirs, repeat)
    print(f"filter_image dask {t_ours:.3f}s  dask_image.correlate {t_theirs:.3f}s  "
          f"ratio {ratio:.2f} (target <= {FILTER_VS_DASK_IMAGE})")
    t_ours, t_mem, ratio = paired_medians(ours, memory, repeat)
    print(f"filter_image dask {t_ours:.3f}s  in memory {t_mem:.3f}s  "
          f"ratio {ratio:.2f} (target <= {FILTER_VS_MEMORY})")


def _peak_during(func) -> tuple[float, float]:
    """(seconds, peak RSS growth in bytes above the start) of func(), sampled every 10 ms."""
    import psutil

    proc = psutil.Process()
    start = proc.memory_info().rss
    peak = [start]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.01)

    t = threading.Thread(target=watch)
    t.start()
    t0 = time.perf_counter()
    func()
    seconds = time.perf_counter() - t0
    done.set()
    t.join()
    return seconds, peak[0] - start


def bench_signal(repeat: int, n: int = 20_000_000, taps: int = 50_000) -> None:
    """Overlap-save on a dask signal vs the in-memory convkit.convolve."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n)
    k = rng.standard_normal(taps)
    lazy = da.from_array(x, chunks=1 << 20)

    def ours():
        # streamed into a preallocated sink, as a writer would: nothing holds the whole result
        out = convkit.convolve(lazy, k, "same")
        da.store(out, _Sink(), scheduler="threads", lock=False)

    def memory():
        convkit.convolve(x, k, "same")

    try:            # memory first, in a fresh heap: the chunked run, then the in-memory one
        _, grow_ours = _peak_during(ours)
        _, grow_mem = _peak_during(memory)
        print(f"  peak RSS growth: dask {grow_ours / 2**20:.0f} MiB, in memory "
              f"{grow_mem / 2**20:.0f} MiB (input {x.nbytes / 2**20:.0f} MiB)")
    except ImportError:
        print("  (pip install psutil for the memory figures)")
    t_ours, t_mem, ratio = paired_medians(ours, memory, repeat)
    print(f"convolve {n:.0e} x {taps:.0e}: dask {t_ours:.2f}s  in memory {t_mem:.2f}s  "
          f"ratio {ratio:.2f} (target <= {SIGNAL_VS_MEMORY})")


class _Sink:
    """A `da.store` target that drops what it is given."""

    def __setitem__(self, key, value) -> None:
        pass


def make_big_tiff(path: Path, side: int = 16384, tile: int = 1024) -> None:
    """A side x side float32 tiled BigTIFF, written tile by tile (never held whole)."""
    import tifffile

    rng = np.random.default_rng(0)

    def tiles():
        for _ in range((side // tile) ** 2):
            yield rng.random((tile, tile), dtype=np.float32)

    tifffile.imwrite(path, tiles(), shape=(side, side), dtype=np.float32, tile=(tile, tile),
                     bigtiff=True)


def bench_cli(tmp: Path) -> None:
    """Peak RSS and time of `convkit filter BIG.tif -o OUT.zarr` in a child process."""
    big = tmp / "convkit_bench_16k.tif"
    if not big.exists():
        print(f"writing {big} (1 GiB) ...")
        make_big_tiff(big)
    with tempfile.TemporaryDirectory(dir=tmp) as out_dir:
        out = Path(out_dir) / "out.zarr"
        t0 = time.perf_counter()
        code = ("import resource, sys; from convkit_cli import main\n"
                "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    rc = e.code\n"
                "print('maxrss_kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
                "sys.exit(rc)")
        proc = subprocess.run([sys.executable, "-c", code, "filter", str(big), "--kernel",
                               "gaussian:sigma=2", "-o", str(out)],
                              capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if proc.returncode:
            print(proc.stderr)
            raise SystemExit(proc.returncode)
        rss = int(proc.stderr.split("maxrss_kib")[-1].split()[0]) * 1024
        print(f"convkit filter 16384^2 float32 TIFF -> zarr: {seconds:.1f}s, peak RSS "
              f"{rss / 2**30:.2f} GiB (target < {CLI_RSS_GIB} GiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="filter,signal,cli")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tmp", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args()
    parts = args.part.split(",")
    dask.config.set(num_workers=os.cpu_count())
    if "filter" in parts:
        bench_filter(args.repeat)
    if "signal" in parts:
        bench_signal(max(3, args.repeat // 2))
    if "cli" in parts:
        bench_cli(args.tmp)


if __name__ == "__main__":
    main()
