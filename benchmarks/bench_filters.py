"""Benchmark `convkit.filters.filter_image` against OpenCV and scipy.ndimage, and time the
`convkit filter` / `convkit --help` commands end to end.

Targets (issue 14), ``--opencv``: on 2048^2 float32 with the reflect boundary, filter_image
over OpenCV (filter2D; GaussianBlur for the Gaussian, same taps) for 3x3, sobel_x, 5x5, 9x9
and gaussian sigma=3: geometric mean <= 2.0, worst <= 3.0, quiet and with one busy process
(started here); a rank-1 21x21 array kernel on 1024^2 float64 with method="direct" at least
4x faster than a generic 21x21, same result. Each pair runs interleaved in one process; the
ratio is the median of the pairs' ratios.

Targets (issue 4): on a 2048 x 2048 float32 image, filter_image's median time
<= 0.7 x scipy.ndimage.correlate with the same kernel and boundary, for 3x3,
5x5 and Gaussian sigma=3 kernels (the Gaussian also against
ndimage.gaussian_filter); `convkit filter` on a 512 x 512 PNG < 1 s;
`convkit --help` < 0.3 s. All timings are medians, measured side by side in
one process.

    python benchmarks/bench_filters.py [--size 2048] [--repeat 7] [--no-cli]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi

from convkit.filters import filter_image
from convkit.kernels import get_kernel
from _timing import busy, geomean, load_average, median_time, paired_medians

TARGET = 0.7


def bench_filters(size: int, repeat: int) -> list[dict]:
    """One row per kernel: convkit, ndimage (and cv2) medians and their ratios."""
    try:
        import cv2
    except ImportError:
        cv2 = None
    rng = np.random.default_rng(0)
    image = rng.random((size, size), dtype=np.float32)
    cases = [
        ("3x3 dense", rng.standard_normal((3, 3)), None),
        ("3x3 sobel_x", "sobel_x", None),
        ("5x5 dense", rng.standard_normal((5, 5)), None),
        ("gaussian sigma=3", "gaussian:sigma=3", 3.0),
    ]
    rows = []
    for label, spec, sigma in cases:
        kernel = get_kernel(spec).astype(np.float32)
        ours = median_time(lambda: filter_image(image, spec, boundary="reflect"), repeat)
        ref = median_time(lambda: ndi.correlate(image, kernel, mode="reflect"), repeat)
        err = float(np.abs(filter_image(image, spec) - ndi.correlate(image, kernel, mode="reflect")).max())
        row = {"kernel": f"{label} ({kernel.shape[0]}x{kernel.shape[1]})", "convkit": ours,
               "ndimage.correlate": ref, "ratio": ours / ref, "max |diff|": err}
        if sigma is not None:
            row["gaussian_filter"] = median_time(
                lambda: ndi.gaussian_filter(image, sigma, mode="reflect"), repeat)
            row["ratio gf"] = ours / row["gaussian_filter"]
        if cv2 is not None:
            row["cv2.filter2D"] = median_time(
                lambda: cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT), repeat)
            row["ratio cv2"] = ours / row["cv2.filter2D"]
        rows.append(row)
    return rows


def bench_opencv(size: int, repeat: int) -> list[dict]:
    """filter_image against OpenCV, one row per kernel of the issue-14 grid."""
    import cv2

    rng = np.random.default_rng(0)
    image = rng.random((size, size), dtype=np.float32)
    cases = [("3x3 dense", rng.standard_normal((3, 3)).astype(np.float32)), ("sobel_x", "sobel_x"),
             ("5x5 dense", rng.standard_normal((5, 5)).astype(np.float32)),
             ("9x9 dense", rng.standard_normal((9, 9)).astype(np.float32)),
             ("gaussian sigma=3", "gaussian:sigma=3")]
    rows = []
    for label, spec in cases:
        kernel = get_kernel(spec).astype(np.float32)
        if label.startswith("gaussian"):
            def theirs():
                return cv2.GaussianBlur(image, kernel.shape[::-1], 3, borderType=cv2.BORDER_REFLECT)
        else:
            def theirs():
                return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REFLECT)

        def ours():
            return filter_image(image, spec, boundary="reflect")
        t_ours, t_cv, ratio = paired_medians(ours, theirs, repeat)
        rows.append({"kernel": label, "convkit": t_ours, "cv2": t_cv, "ratio": ratio,
                     "max |diff|": float(np.abs(ours() - theirs()).max())})
    return rows


def bench_rank1(repeat: int) -> dict:
    """A rank-1 21x21 array kernel against a generic one, 1024^2 float64, method='direct'."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1024, 1024))
    rank1 = np.outer(rng.standard_normal(21), rng.standard_normal(21))
    generic = rng.standard_normal((21, 21))
    t1, tg, ratio = paired_medians(lambda: filter_image(x, rank1, method="direct"),
                                   lambda: filter_image(x, generic, method="direct"), repeat)
    err = float(np.abs(filter_image(x, rank1, method="direct") - ndi.correlate(x, rank1, mode="reflect")).max())
    return {"rank-1 ms": t1 * 1e3, "generic ms": tg * 1e3, "speed-up": 1 / ratio, "max |diff| vs ndimage": err}


def report_opencv(size: int, repeat: int, loads: list[int]) -> None:
    """Print the OpenCV table for each load, and the rank-1 row."""
    print(f"filter_image vs OpenCV, {size}^2 float32, reflect; median ms, ratio = median of pair ratios")
    print("| load | kernel | convkit ms | cv2 ms | ratio | max abs diff | loadavg |")
    print("|---|---|---|---|---|---|---|")
    for load in loads:
        with busy(load):
            rows = bench_opencv(size, repeat)
            seen = load_average()
        for r in rows:
            print(f"| {load} | {r['kernel']} | {r['convkit'] * 1e3:.1f} | {r['cv2'] * 1e3:.1f} | "
                  f"{r['ratio']:.2f} | {r['max |diff|']:.1e} | {seen} |")
        ratios = [r["ratio"] for r in rows]
        print(f"| {load} | geomean / worst | | | {geomean(ratios):.2f} / {max(ratios):.2f} | "
              f"target <= 2.0 / 3.0 | |")
    r1 = bench_rank1(repeat)
    print(f"\nrank-1 21x21 on 1024^2 float64, method='direct': {r1['rank-1 ms']:.1f} ms vs generic "
          f"{r1['generic ms']:.1f} ms, {r1['speed-up']:.1f}x (target >= 4x), "
          f"max |diff| vs ndimage {r1['max |diff| vs ndimage']:.1e}")


def bench_cli(repeat: int) -> dict:
    """Median wall times of `convkit --help` and `convkit filter` on a 512 x 512 PNG."""
    from skimage import data

    from convkit.io.images import write_image

    exe = shutil.which("convkit", path=str(Path(sys.executable).parent)) or shutil.which("convkit")
    cmd = [exe] if exe else [sys.executable, "-m", "convkit"]
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "camera512.png"
        write_image(png, data.camera())                   # 512 x 512, 8-bit gray

        def helptext() -> None:
            subprocess.run(cmd + ["--help"], check=True, capture_output=True)

        def filt() -> None:
            subprocess.run(cmd + ["filter", str(png), "-k", "edge", "-k", "gaussian:sigma=2",
                                  "--force"], check=True, capture_output=True)

        return {"convkit --help": median_time(helptext, repeat),
                "convkit filter 512x512 PNG (edge, gaussian:sigma=2)": median_time(filt, repeat)}


def main() -> None:
    """Run the benchmarks and print Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-cli", action="store_true")
    parser.add_argument("--opencv", action="store_true",
                        help="only the issue-14 table against OpenCV, quiet and under one busy process")
    args = parser.parse_args()
    if args.opencv:
        report_opencv(args.size, args.repeat, [0, 1])
        return

    rows = bench_filters(args.size, args.repeat)
    cols = ["kernel", "convkit", "ndimage.correlate", "ratio", "gaussian_filter", "ratio gf",
            "cv2.filter2D", "ratio cv2", "max |diff|"]
    cols = [c for c in cols if any(c in r for r in rows)]
    print(f"filter_image, {args.size}x{args.size} float32, boundary reflect, "
          f"median of {args.repeat} (ms; ratio = convkit / peer, target <= {TARGET})\n")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c, "")
            if isinstance(v, float):
                v = (f"{v:.2f}" if c.startswith("ratio") else f"{v:.1e}" if c == "max |diff|"
                     else f"{v * 1e3:.1f}")
            cells.append(str(v))
        print("| " + " | ".join(cells) + " |")
    ok = all(r["ratio"] <= TARGET for r in rows)
    print(f"\nratio target {'met' if ok else 'NOT met'} for every row")
    if not args.no_cli:
        print("\n| command | median (s) | target |")
        print("|---|---|---|")
        for name, t in bench_cli(max(3, args.repeat // 2)).items():
            target = 0.3 if "help" in name else 1.0
            print(f"| {name} | {t:.3f} | < {target} {'ok' if t < target else 'MISSED'} |")


if __name__ == "__main__":
    main()
