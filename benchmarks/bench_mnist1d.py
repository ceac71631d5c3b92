"""`convkit train --dataset mnist1d` end to end vs the same training in PyTorch CPU, side by side.

convkit: the command with no other option, in a fresh process (generating the
data, training, the weight average, the test score, the run folder): its wall
time and the accuracy on the 1,000 test signals from metrics.json. PyTorch: the same
network (the mnist1d default of `TRAIN_DEFAULTS`), the same split, epochs,
batch, Adam learning rate, one-sample shifts, per-epoch validation and a
weight average of the last half of the epochs with BatchNorm statistics
recomputed (``torch.optim.swa_utils``), in a fresh process of its own. Each side
runs alone (one process at a time), ``--rounds`` times alternately. Targets:
convkit >= 94 % (the paper's CNN; 96 % is the human expert) in <= 60 s, and
PyTorch at least as long. ``--busy 1`` starts a spinning process beside them.

Usage: ``python benchmarks/bench_mnist1d.py [--rounds 2] [--busy 1]``
(needs torch==2.13.0 and the mnist1d package).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from _timing import busy, load_average

TORCH_CHILD = r"""
import json, sys, time
import numpy as np, torch
torch.set_num_threads({threads})
t0 = time.perf_counter()
from convkit._names import train_defaults
from convkit.cnn.arch import parse_arch
from convkit.cnn.datasets import load_dataset, split
from convkit.cnn.runs import RunConfig, channel_stats
from convkit.cnn.training import shift_images
config = RunConfig.for_dataset("mnist1d")
train, val, test = split(load_dataset("mnist1d"), config.test_split, config.val_split, seed=0)
mean, std = (np.float32(v[0]) for v in channel_stats(train.images))
layers, c, n = [], 1, 40
for item in parse_arch(config.arch):
    if item[0] == "conv":
        _, f, k, s, p = item
        layers.append(torch.nn.Conv1d(c, f, k, stride=s, padding=p)); c, n = f, (n + 2 * p - k) // s + 1
    elif item[0] == "bn":
        layers.append(torch.nn.BatchNorm1d(c))
    elif item[0] == "relu":
        layers.append(torch.nn.ReLU())
    elif item[0] == "pool":
        layers.append(torch.nn.MaxPool1d(item[2], item[3])); n = (n - item[2]) // item[3] + 1
    elif item[0] == "gap":
        layers += [torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten()]
    elif item[0] == "dense":
        layers.append(torch.nn.Linear(c, 10))
torch.manual_seed(0)
net = torch.nn.Sequential(*layers)
opt = torch.optim.Adam(net.parameters(), lr=config.lr)
avg = torch.optim.swa_utils.AveragedModel(net)
loss_fn = torch.nn.CrossEntropyLoss()
prep = lambda x: torch.from_numpy(np.ascontiguousarray((x - mean) / std))
xv, xt = prep(val.images), prep(test.images)
start = config.average_start()
for epoch in range(config.epochs):
    rng = np.random.default_rng([0, epoch])
    order = rng.permutation(len(train))
    shifts = rng.integers(-config.augment, config.augment + 1, size=(len(train), 1))
    for b in range(0, len(train), config.batch_size):
        idx = order[b:b + config.batch_size]
        xb = shift_images((train.images[idx] - mean) / std, shifts[idx], config.augment)
        opt.zero_grad()
        loss_fn(net(torch.from_numpy(np.ascontiguousarray(xb))), torch.from_numpy(train.labels[idx])).backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        net(xv)
    net.train()
    if epoch + 1 >= start:
        avg.update_parameters(net)
torch.optim.swa_utils.update_bn([(prep(train.images[s:s + 32]),) for s in range(0, len(train), 32)], avg)
avg.eval()
with torch.no_grad():
    acc = float((avg(xt).argmax(1).numpy() == test.labels).mean())
print(json.dumps({{"seconds": time.perf_counter() - t0, "test_accuracy": acc}}))
"""


def convkit_run(threads: int) -> dict:
    command = os.path.join(os.path.dirname(sys.executable), "convkit")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([command, "train", "--dataset", "mnist1d", "--threads", str(threads), "--out",
                        os.path.join(tmp, "run")], check=True, capture_output=True)
        seconds = time.perf_counter() - t0
        with open(os.path.join(tmp, "run", "metrics.json")) as f:
            return {"seconds": seconds, "test_accuracy": json.load(f)["test_accuracy"]}


def torch_run(threads: int) -> dict:
    out = subprocess.run([sys.executable, "-c", TORCH_CHILD.format(threads=threads)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--busy", type=int, default=0)
    args = parser.parse_args()
    print(f"MNIST-1D, convkit train --dataset mnist1d vs the same training in PyTorch; {args.threads} threads, "
          f"{args.busy} busy process(es); load {load_average()}")
    print(f"{'round':<8}{'convkit s':>10}{'torch s':>10}{'ratio':>8}{'acc convkit':>13}{'acc torch':>11}")
    with busy(args.busy):
        for r in range(args.rounds):
            c, t = convkit_run(args.threads), torch_run(args.threads)
            print(f"{r + 1:<8}{c['seconds']:>10.1f}{t['seconds']:>10.1f}{c['seconds'] / t['seconds']:>8.2f}"
                  f"{c['test_accuracy']:>13.4f}{t['test_accuracy']:>11.4f}")


if __name__ == "__main__":
    main()
