"""Benchmark `convkit.filters.filter_image` against scipy.ndimage (and OpenCV if present),
and time the `convkit filter` / `convkit --help` commands end to end.

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
from _timing import median_time

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
    args = parser.parse_args()

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
