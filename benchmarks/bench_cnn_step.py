"""One CNN training step at LeNet shape, convkit vs PyTorch CPU side by side, and peak memory.

Shape: batch 64 of 1x28x28, conv 5x5x16, ReLU, maxpool 2, conv 5x5x32, ReLU,
maxpool 2, dense 10, float32, SGD; inference: 1,000 images. Targets: convkit's
step and inference medians <= 1.0 x torch's with the same number of threads
(both cores), and under ``--busy 1`` (a spinning process beside them) <= 1.3 x
the quiet ratio. Each side is timed alone (a process of its own) and
interleaved (one process). Memory: forward + backward of batch 512 at that
shape, measured in a fresh subprocess (tracemalloc sees numpy's buffers),
target < 1 GB. Usage: ``python benchmarks/bench_cnn_step.py [--repeat 50] [--busy 1]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np


def lenet(seed: int = 0):
    from convkit.cnn import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential
    return Sequential([Conv2D(1, 16, 5), ReLU(), MaxPool2D(2), Conv2D(16, 32, 5), ReLU(), MaxPool2D(2),
                       Flatten(), Dense(32 * 4 * 4, 10)], seed=seed)


def _times(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def median_time(fn, repeat: int) -> float:
    for _ in range(3):
        fn()
    return statistics.median(_times(fn, repeat))


def interleaved_medians(fns: list, repeat: int, rounds: int = 5) -> list[float]:
    """Median time of each fn, run in alternating rounds so machine noise hits all of them alike.

    Each block starts with a pause and three untimed calls: numpy's BLAS threads and torch's
    OpenMP threads keep spinning for a while after their last call and would otherwise steal
    the cores from whichever engine runs next."""
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for fn, acc in zip(fns, samples):
            time.sleep(0.5)
            for _ in range(3):
                fn()
            acc.extend(_times(fn, max(1, repeat // rounds)))
    return [statistics.median(acc) for acc in samples]


def convkit_step(x, y):
    from convkit.cnn import SGD
    model, opt = lenet(), SGD(0.01, momentum=0.9)
    return lambda: model.train_step(x, y, opt)


def torch_step(x, y, threads: int):
    import torch
    torch.set_num_threads(threads)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                              torch.nn.Conv2d(16, 32, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                              torch.nn.Flatten(), torch.nn.Linear(512, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(net(xt), yt)
        loss.backward()
        opt.step()
    return step


def convkit_infer(x):
    model = lenet()
    return lambda: model.predict_proba(x)


def torch_infer(x, threads: int):
    import torch
    torch.set_num_threads(threads)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                              torch.nn.Conv2d(16, 32, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                              torch.nn.Flatten(), torch.nn.Linear(512, 10)).eval()
    xt = torch.from_numpy(x)

    def infer():
        with torch.no_grad():
            for s in range(0, len(xt), 256):
                torch.softmax(net(xt[s:s + 256]), dim=1)
    return infer


ALONE_CHILD = """
import sys, json, numpy as np
sys.path.insert(0, {here!r})
import bench_cnn_step as b
rng = np.random.default_rng(0)
x = rng.random((64, 1, 28, 28), dtype=np.float32); y = rng.integers(0, 10, 64)
xi = rng.random((1000, 1, 28, 28), dtype=np.float32)
if {side!r} == "convkit":
    fns = [b.convkit_step(x, y), b.convkit_infer(xi)]
else:
    fns = [b.torch_step(x, y, {threads}), b.torch_infer(xi, {threads})]
print(json.dumps([b.median_time(fn, {repeat}) for fn in fns]))
"""


def alone(side: str, threads: int, repeat: int) -> list[float]:
    """(step, inference) median seconds of one side in a process of its own."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = ALONE_CHILD.format(here=here, side=side, threads=threads, repeat=repeat)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def layer_profile(x, y, repeat: int) -> list[tuple[str, float, float]]:
    """Median forward and backward time of each layer inside real training steps (where the
    time goes): the layers run as in `train_step`, handing each other their kept work arrays."""
    from convkit.cnn import SGD
    from convkit.cnn import model as model_module
    model, opt = lenet(), SGD(0.01, momentum=0.9)
    times: dict[tuple[int, str], list[float]] = {}

    def timed(key, fn):
        def call(*args):
            t0 = time.perf_counter()
            out = fn(*args)
            times.setdefault(key, []).append(time.perf_counter() - t0)
            return out
        return call

    for i, layer in enumerate(model.layers):
        layer.forward = timed((i, "forward"), layer.forward)
        layer.backward = timed((i, "backward"), layer.backward)
    opt.step = timed((len(model.layers), "optimizer"), opt.step)
    loss_fn = model_module.softmax_cross_entropy
    model_module.softmax_cross_entropy = timed((len(model.layers), "loss"), loss_fn)
    try:
        for _ in range(3):
            model.train_step(x, y, opt)
        times.clear()
        for _ in range(repeat):
            model.train_step(x, y, opt)
    finally:
        model_module.softmax_cross_entropy = loss_fn
    med = {key: statistics.median(v) * 1e3 for key, v in times.items()}
    rows = [(f"{i} {type(layer).__name__}", med[(i, "forward")], med[(i, "backward")])
            for i, layer in enumerate(model.layers)]
    n = len(model.layers)
    rows.append(("loss, SGD", med[(n, "loss")], med[(n, "optimizer")]))
    return rows


def torch_profile(x, y, threads: int, steps: int) -> list[tuple[str, float]]:
    """PyTorch's own time per step of each operator (torch.profiler), largest first."""
    import torch
    from torch.profiler import ProfilerActivity, profile
    step = torch_step(x, y, threads)
    for _ in range(3):
        step()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(steps):
            step()
    rows = []
    for event in prof.key_averages(group_by_input_shape=True):
        shapes = [s for s in event.input_shapes if s][:1]
        rows.append((f"{event.key} {shapes[0] if shapes else ''}", event.self_cpu_time_total / steps / 1e3))
    return sorted(rows, key=lambda r: -r[1])


MEMORY_CHILD = """
import tracemalloc, resource, numpy as np
from bench_cnn_step import lenet
from convkit.cnn import softmax_cross_entropy
x = np.random.default_rng(0).random((512, 1, 28, 28), dtype=np.float32)
y = np.random.default_rng(1).integers(0, 10, 512)
model = lenet()
tracemalloc.start()
loss, g = softmax_cross_entropy(model.forward(x, True), y)
model.backward(g)
peak = tracemalloc.get_traced_memory()[1]
print(peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def memory_peak() -> tuple[int, int]:
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD], cwd=here, capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[0]), int(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="also time each layer")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads of both sides")
    parser.add_argument("--busy", type=int, default=0, help="spinning processes beside the benchmark")
    args = parser.parse_args()
    from _timing import busy, load_average
    import convkit
    convkit.set_threads(args.threads)
    rng = np.random.default_rng(0)
    x = rng.random((64, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    xi = rng.random((1000, 1, 28, 28), dtype=np.float32)
    threads = args.threads
    print(f"LeNet training step (batch 64) and inference (1000 images), float32, {threads} thread(s), "
          f"{args.busy} busy process(es), median of {args.repeat}; load {load_average()}")
    stack = busy(args.busy)
    stack.__enter__()
    try:
        solo = {side: alone(side, threads, args.repeat) for side in ("convkit", "torch")}
        print(f"{'alone':<22}{'convkit ms':>12}{'torch ms':>10}{'ratio':>8}   (target <= 1.0)")
        for i, what in enumerate(("step", "inference")):
            c, t = solo["convkit"][i], solo["torch"][i]
            print(f"{what:<22}{c * 1e3:>12.2f}{t * 1e3:>10.2f}{c / t:>8.2f}")
        ours, theirs = interleaved_medians([convkit_step(x, y), torch_step(x, y, threads)], args.repeat)
        ours_i, theirs_i = interleaved_medians([convkit_infer(xi), torch_infer(xi, threads)],
                                               max(5, args.repeat // 5))
        print("interleaved")
        print(f"{'step':<22}{ours * 1e3:>12.2f}{theirs * 1e3:>10.2f}{ours / theirs:>8.2f}")
        print(f"{'inference':<22}{ours_i * 1e3:>12.2f}{theirs_i * 1e3:>10.2f}{ours_i / theirs_i:>8.2f}")
    except ImportError:
        ours = median_time(convkit_step(x, y), args.repeat)
        print(f"{'convkit':<10}{ours * 1e3:>12.2f}{'-':>8}   (torch not installed: no ratio)")
    finally:
        stack.__exit__(None, None, None)
    if args.profile:
        time.sleep(0.5)
        print(f"\nconvkit, inside training steps\n{'layer':<14}{'forward ms':>12}{'backward ms':>13}")
        rows = layer_profile(x, y, args.repeat)
        for name, f, b in rows:
            print(f"{name:<14}{f:>12.3f}{b:>13.3f}")
        print(f"{'sum':<14}{sum(r[1] for r in rows):>12.3f}{sum(r[2] for r in rows):>13.3f}")
        try:
            ops = torch_profile(x, y, threads, args.repeat)
        except ImportError:
            ops = []
        if ops:
            print(f"\ntorch.profiler, self time per step (ops >= 0.03 ms)\n{'operator':<60}{'ms':>8}")
            for name, ms in ops:
                if ms >= 0.03:
                    print(f"{name[:60]:<60}{ms:>8.3f}")
            print(f"{'sum of all operators':<60}{sum(ms for _, ms in ops):>8.3f}")
    traced, rss = memory_peak()
    print(f"\nbatch 512 forward+backward: tracemalloc peak {traced / 2**20:.0f} MiB, "
          f"process max RSS {rss / 2**20:.0f} MiB (target < 1024 MiB)")


if __name__ == "__main__":
    main()
