"""One Fashion-MNIST training epoch, convkit vs PyTorch CPU, same network, data, optimiser and batch.

Both sides train the network `convkit train --dataset fashion-mnist` builds
(its `TRAIN_DEFAULTS` architecture, or ``--arch``) with Adam (lr 2e-3), batch
32, one-pixel random shifts (convkit's `shift_images` on both sides), on the
54,000 training images convkit's split keeps, then score the 6,000 validation
images and the 10,000 t10k images. Target: convkit's epoch <= 1.0x PyTorch's,
quiet and with ``--busy 1`` (a spinning process beside them) <= 1.3x the quiet
ratio.

Each side is timed ALONE (a fresh process of its own: one library's idle
threads cannot slow the other) and INTERLEAVED (one process, alternating
epochs). ``--rss`` also runs ``convkit train --dataset fashion-mnist --epochs 1``
and reports its peak RSS (target < 0.5 GB).

Usage: ``python benchmarks/bench_fashion.py [--subset 12000] [--busy 1] [--rss]``
(needs torch==2.13.0 and Debian's dataset-fashion-mnist).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from _timing import busy, load_average

LR, BATCH, SHIFT = 2e-3, 32, 1


def data(subset: int | None):
    """convkit's split of Fashion-MNIST: (train, validation, test) Datasets, uint8 images."""
    from convkit.cnn.datasets import load_dataset, split
    train, val, test = split(load_dataset("fashion-mnist"), 0.25, 0.1, seed=0)
    if subset:
        train = train.subset(np.arange(min(subset, len(train))))
    return train, val, test


def default_arch() -> str:
    from convkit._names import train_defaults
    return str(train_defaults("fashion-mnist")["arch"])


def convkit_side(arch: str, train, val, test, threads: int):
    """An epoch function for convkit (a fresh model per call) and its evaluation."""
    import convkit
    from convkit.cnn import Adam, Sequential
    from convkit.cnn.arch import build_layers
    from convkit.cnn.runs import channel_stats
    convkit.set_threads(threads)
    mean, std = channel_stats(train.images)

    def epoch() -> dict:
        model = Sequential(build_layers(arch, (1, 28, 28), 10), seed=0, input_shape=(1, 28, 28),
                           normalization={"mean": mean.tolist(), "std": std.tolist()})
        t0 = time.perf_counter()
        model.fit(train.images, train.labels, epochs=1, batch_size=BATCH, optimizer=Adam(LR), seed=0,
                  augment=SHIFT, validation_data=(val.images, val.labels))
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "test_accuracy": model.evaluate(test.images, test.labels)["accuracy"]}
    return epoch


def torch_net(arch: str):
    """The same layers in torch.nn (the tokens convkit's default architectures use)."""
    import torch
    from convkit.cnn.arch import parse_arch
    layers, c, side, flat = [], 1, 28, None
    for item in parse_arch(arch):
        kind = item[0]
        if kind == "conv":
            _, n, k, s, p = item
            layers.append(torch.nn.Conv2d(c, n, k, stride=s, padding=p))
            c, side = n, (side + 2 * p - k) // s + 1
        elif kind == "bn":
            layers.append(torch.nn.BatchNorm2d(c))
        elif kind == "relu":
            layers.append(torch.nn.ReLU())
        elif kind == "pool":
            layers.append(torch.nn.MaxPool2d(item[2], item[3]))
            side = (side - item[2]) // item[3] + 1
        elif kind == "drop":
            layers.append(torch.nn.Dropout(item[1]))
        elif kind in ("flatten", "dense"):
            if flat is None:
                layers.append(torch.nn.Flatten())
                flat = c * side * side
            if kind == "dense":
                out = 10 if item[1] is None else item[1]
                layers.append(torch.nn.Linear(flat, out))
                flat = out
    return torch.nn.Sequential(*layers)


def torch_side(arch: str, train, val, test, threads: int):
    """An epoch function for PyTorch: the same batches (order, shifts) as convkit's fit draws."""
    import torch
    from convkit.cnn.runs import channel_stats
    from convkit.cnn.training import shift_images
    torch.set_num_threads(threads)
    mean, std = (np.float32(v[0]) for v in channel_stats(train.images))

    def prep(images: np.ndarray) -> np.ndarray:
        return ((images.astype(np.float32) / np.float32(255)) - mean) / std

    def score(net, ds) -> float:
        net.eval()
        correct = 0
        with torch.no_grad():
            for s in range(0, len(ds), 256):
                logits = net(torch.from_numpy(prep(ds.images[s:s + 256])))
                correct += int((logits.argmax(1).numpy() == ds.labels[s:s + 256]).sum())
        net.train()
        return correct / len(ds)

    def epoch() -> dict:
        torch.manual_seed(0)
        net = torch_net(arch)
        opt = torch.optim.Adam(net.parameters(), lr=LR)
        loss_fn = torch.nn.CrossEntropyLoss()
        t0 = time.perf_counter()
        rng = np.random.default_rng([0, 0])
        order = rng.permutation(len(train))
        shifts = rng.integers(-SHIFT, SHIFT + 1, size=(len(train), 2))
        for b in range(0, len(train), BATCH):
            idx = order[b:b + BATCH]
            xb = shift_images(prep(train.images[idx]), shifts[idx], SHIFT)
            opt.zero_grad()
            loss = loss_fn(net(torch.from_numpy(np.ascontiguousarray(xb))), torch.from_numpy(train.labels[idx]))
            loss.backward()
            opt.step()
        score(net, val)                                       # the validation pass fit also makes
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "test_accuracy": score(net, test)}
    return epoch


def alone(side: str, arch: str, subset: int | None, threads: int) -> dict:
    """One epoch of one side in a fresh process."""
    out = subprocess.run([sys.executable, __file__, "--child", side, "--arch", arch, "--threads", str(threads)]
                         + (["--subset", str(subset)] if subset else []),
                         capture_output=True, text=True, check=True, cwd=os.path.dirname(os.path.abspath(__file__)))
    return json.loads(out.stdout.strip().splitlines()[-1])


RSS_CHILD = """
import resource, sys
from convkit_cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def train_rss(epochs: int = 1) -> tuple[float, float]:
    """Peak RSS (GB) of `convkit train --dataset fashion-mnist --epochs N` measured inside its own
    process (the benchmark's other children, torch among them, are not counted), and its wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", RSS_CHILD, "train", "--dataset", "fashion-mnist", "--epochs",
                              str(epochs), "--out", os.path.join(tmp, "run")], check=True, capture_output=True,
                             text=True).stdout
        seconds = time.perf_counter() - t0
    return int(out.strip().splitlines()[-1]) / 2**20, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default=None, help="network (default: fashion-mnist's default)")
    parser.add_argument("--subset", type=int, default=None, help="train on the first N of the 54,000 images")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--busy", type=int, default=0, help="spinning processes beside the benchmark")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--rss", action="store_true", help="also the peak RSS of convkit train")
    parser.add_argument("--child", choices=["convkit", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    arch = args.arch or default_arch()
    train, val, test = data(args.subset)
    if args.child:
        make = convkit_side if args.child == "convkit" else torch_side
        print(json.dumps(make(arch, train, val, test, args.threads)()))
        return
    print(f"Fashion-MNIST epoch: {len(train)} train, {len(val)} validation, {len(test)} test images; {arch}; "
          f"batch {BATCH}, Adam {LR}, {args.threads} threads, {args.busy} busy process(es); "
          f"load {load_average()}")
    with busy(args.busy):
        solo = {side: alone(side, arch, args.subset, args.threads) for side in ("convkit", "torch")}
        print(f"{'alone':<12}{'convkit s':>10}{'torch s':>10}{'ratio':>8}{'acc convkit':>13}{'acc torch':>11}")
        c, t = solo["convkit"], solo["torch"]
        print(f"{'':<12}{c['seconds']:>10.1f}{t['seconds']:>10.1f}{c['seconds'] / t['seconds']:>8.2f}"
              f"{c['test_accuracy']:>13.4f}{t['test_accuracy']:>11.4f}")
        ours = convkit_side(arch, train, val, test, args.threads)
        theirs = torch_side(arch, train, val, test, args.threads)
        print("interleaved")
        ratios = []
        for r in range(args.rounds):
            c, t = ours(), theirs()
            ratios.append(c["seconds"] / t["seconds"])
            print(f"{'round ' + str(r + 1):<12}{c['seconds']:>10.1f}{t['seconds']:>10.1f}"
                  f"{ratios[-1]:>8.2f}{c['test_accuracy']:>13.4f}{t['test_accuracy']:>11.4f}")
        print(f"median interleaved ratio {statistics.median(ratios):.2f} (target <= 1.0)")
        if args.rss:
            rss, seconds = train_rss()
            print(f"convkit train --dataset fashion-mnist --epochs 1: peak RSS {rss:.2f} GB "
                  f"(target < 0.5), {seconds:.0f} s")


if __name__ == "__main__":
    main()
