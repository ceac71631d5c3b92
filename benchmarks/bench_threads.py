"""The CNN against PyTorch quiet and under load, and the cost of switching BLAS threads.

Default architecture (`convkit._names.DEFAULT_ARCH`) on 1000 images 1x28x28,
float32: inference (batches of 256, torch under ``no_grad``) and one training
epoch (batches of 32, Adam), convkit and torch interleaved in one process.
"Under load" starts one busy process (a Python spin loop) for the duration.
Targets (issue 14): inference quiet <= 1.2x torch; under one busy process
inference and the epoch <= 1.5x torch under the same load.

    python benchmarks/bench_threads.py [--repeat 7] [--no-load] [--blas-switch]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from _timing import busy, load_average, paired_medians


def convkit_model(seed: int = 0):
    from convkit._names import DEFAULT_ARCH
    from convkit.cnn import Sequential
    from convkit.cnn.arch import build_layers
    return Sequential(build_layers(DEFAULT_ARCH, (1, 28, 28), 10), seed=seed)


def torch_model():
    import torch.nn as nn
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 10))


def cases(n: int = 1000):
    import torch
    from convkit.cnn import Adam
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, n)
    ours, theirs = convkit_model(), torch_model()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt_ours = Adam(1e-3)
    opt_theirs = torch.optim.Adam(theirs.parameters(), 1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def infer_ours():
        for s in range(0, n, 256):
            ours.forward(x[s:s + 256], training=False)

    def infer_theirs():
        with torch.no_grad():
            for s in range(0, n, 256):
                theirs(xt[s:s + 256])

    def epoch_ours():
        for s in range(0, n, 32):
            ours.train_step(x[s:s + 32], y[s:s + 32], opt_ours)

    def epoch_theirs():
        for s in range(0, n, 32):
            opt_theirs.zero_grad()
            loss_fn(theirs(xt[s:s + 32]), yt[s:s + 32]).backward()
            opt_theirs.step()

    return [("inference 1000", infer_ours, infer_theirs), ("train epoch 1000", epoch_ours, epoch_theirs)]


def blas_switch_cost(n: int = 2000) -> dict[str, float]:
    """Microseconds per enter+exit of a one-thread BLAS block: ctypes (ours) and threadpoolctl."""
    from convkit._engine.threads import blas_threads
    out = {}
    t0 = time.perf_counter()
    for _ in range(n):
        with blas_threads(1):
            pass
    out["convkit blas_threads (ctypes)"] = (time.perf_counter() - t0) / n * 1e6
    try:
        from threadpoolctl import ThreadpoolController, threadpool_limits
    except ImportError:
        return out
    controller = ThreadpoolController()
    t0 = time.perf_counter()
    for _ in range(n):
        with controller.limit(limits=1, user_api="blas"):
            pass
    out["threadpoolctl controller.limit"] = (time.perf_counter() - t0) / n * 1e6
    t0 = time.perf_counter()
    for _ in range(50):
        with threadpool_limits(1, user_api="blas"):
            pass
    out["threadpoolctl threadpool_limits"] = (time.perf_counter() - t0) / 50 * 1e6
    return out


def run(repeat: int, loads: list[int]) -> None:
    import torch
    print(f"cores {len(os.sched_getaffinity(0))}, torch threads {torch.get_num_threads()}")
    print(f"{'case':18} {'load':>4} {'convkit':>9} {'torch':>9} {'ratio':>6} {'target':>6}  loadavg")
    for load in loads:
        with busy(load):
            for label, f, g in cases():
                tf, tg, ratio = paired_medians(f, g, repeat)
                target = 1.2 if load == 0 and label.startswith("inference") else 1.5 if load else float("nan")
                print(f"{label:18} {load:>4} {tf * 1e3:8.1f}ms {tg * 1e3:8.1f}ms {ratio:6.2f} {target:6.2f}"
                      f"  {load_average()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-load", action="store_true", help="quiet runs only")
    parser.add_argument("--blas-switch", action="store_true", help="also time BLAS thread switching")
    args = parser.parse_args()
    if args.blas_switch:
        for name, us in blas_switch_cost().items():
            print(f"{name:34} {us:8.1f} us per block")
    run(args.repeat, [0] if args.no_load else [0, 1])


if __name__ == "__main__":
    main()
