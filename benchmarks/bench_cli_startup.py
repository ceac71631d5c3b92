"""Wall time of `convkit --help` in a fresh interpreter: the command must start fast
(target < 0.3 s), so its modules import numpy, scipy and the library lazily.

    python benchmarks/bench_cli_startup.py [--repeat 10]

Runs ``python -c "from convkit_cli import main; main()" --help`` as a
subprocess (what the console script does) and prints the median, the fastest
run, and which heavy modules the help loaded (there should be none).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

TARGET = 0.3
HEAVY = ("numpy", "scipy", "matplotlib", "sklearn", "skimage", "PIL", "convkit.io",
         "convkit.convolution", "convkit.cnn")
RUN_HELP = "import sys; sys.argv = ['convkit', '--help']; from convkit_cli import main; main()"
LOADED = ("import sys, io, contextlib\n"
          "sys.argv = ['convkit', '--help']\n"
          "from convkit_cli import main\n"
          "with contextlib.redirect_stdout(io.StringIO()):\n"
          "    try:\n        main()\n    except SystemExit:\n        pass\n"
          "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in {heavy} "
          "or m in {heavy})))")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    times = []
    for _ in range(args.repeat + 1):                 # the first run warms the file cache
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", RUN_HELP], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    times = times[1:]
    median = statistics.median(times)
    heavy = subprocess.run([sys.executable, "-c", LOADED.format(heavy=set(HEAVY))], check=True,
                           capture_output=True, text=True).stdout.split()
    print(f"convkit --help: median {median:.3f} s, fastest {min(times):.3f} s over "
          f"{args.repeat} runs (target < {TARGET} s): {'ok' if median < TARGET else 'TOO SLOW'}")
    print(f"heavy modules loaded by --help: {', '.join(heavy) or 'none'}")
    if median >= TARGET:
        sys.exit(1)


if __name__ == "__main__":
    main()
