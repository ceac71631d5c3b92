"""convkit against PyTorch CPU, value for value (float64): conv2d (also grouped and with each
padding mode), BatchNorm2D (train, eval, running statistics), the 1-D layers (Conv1D, pooling,
global average, BatchNorm1D), the optimizers, a LeNet step; and PyTorch models exported with
torch.onnx.export read back by `convkit.cnn.onnx.load_onnx`.

PyTorch is an optional benchmark peer, so these checks live here and not in
the test suite (where they could only skip on a machine without it). The
tests check the same layers against naive loops, finite differences and
closed-form update rules; this script adds PyTorch as a second reference.
Exit code 1 on any mismatch. Usage: ``python benchmarks/check_torch_parity.py``.
"""

from __future__ import annotations

import sys

import numpy as np

RNG = np.random.default_rng(7)


def check_conv2d(torch) -> float:
    """conv2d vs torch.nn.functional.conv2d over stride, padding and dilation; max abs error."""
    from convkit import conv2d
    x = RNG.standard_normal((3, 4, 11, 10))
    w = RNG.standard_normal((5, 4, 3, 4))
    b = RNG.standard_normal(5)
    err = 0.0
    for kwargs in ({}, {"stride": 2, "padding": 1}, {"dilation": (2, 1), "padding": (2, 0)},
                   {"stride": (1, 3), "padding": (0, 2), "dilation": 2}):
        want = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), **kwargs).numpy()
        got = conv2d(x, w, b, **kwargs)
        assert got.shape == want.shape, (kwargs, got.shape, want.shape)
        err = max(err, float(np.abs(got - want).max()))
    return err


def check_optimizers(torch) -> float:
    """SGD (momentum, weight decay) and Adam (weight decay) vs torch.optim over 6 steps; max rel error."""
    from convkit.cnn import SGD, Adam
    p0 = RNG.standard_normal(6)
    grads = [RNG.standard_normal(6) for _ in range(6)]
    pairs = ((SGD(0.1, momentum=0.5, weight_decay=0.1),
              lambda q: torch.optim.SGD(q, lr=0.1, momentum=0.5, weight_decay=0.1)),
             (Adam(0.01, weight_decay=0.1), lambda q: torch.optim.Adam(q, lr=0.01, weight_decay=0.1)))
    err = 0.0
    for ours, make in pairs:
        t = torch.tensor(p0.copy(), requires_grad=True)
        theirs = make([t])
        params = {"w": p0.copy()}
        for g in grads:
            t.grad = torch.tensor(g)
            theirs.step()
            ours.step(params, {"w": g})
        want = t.detach().numpy()
        err = max(err, float(np.abs(params["w"] - want).max() / np.abs(want).max()))
    return err


def check_lenet_step(torch) -> tuple[float, float]:
    """One SGD step of the LeNet-shape network from the same weights: (loss error, max weight error)."""
    from convkit.cnn import SGD, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential
    model = Sequential([Conv2D(1, 16, 5), ReLU(), MaxPool2D(2), Conv2D(16, 32, 5), ReLU(), MaxPool2D(2),
                        Flatten(), Dense(32 * 4 * 4, 10)], seed=0, dtype=np.float64)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                              torch.nn.Conv2d(16, 32, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                              torch.nn.Flatten(), torch.nn.Linear(512, 10)).double()
    ours = model.params()
    with torch.no_grad():
        for i in (0, 3):
            net[i].weight.copy_(torch.from_numpy(ours[f"{i}.weight"]))
            net[i].bias.copy_(torch.from_numpy(ours[f"{i}.bias"]))
        net[7].weight.copy_(torch.from_numpy(ours["7.weight"].T))       # Dense keeps W as (in, out)
        net[7].bias.copy_(torch.from_numpy(ours["7.bias"]))
    x = RNG.random((64, 1, 28, 28))
    y = RNG.integers(0, 10, 64)
    loss = model.train_step(x, y, SGD(0.05, momentum=0.9))
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    tloss = torch.nn.functional.cross_entropy(net(torch.from_numpy(x)), torch.from_numpy(y))
    tloss.backward()
    opt.step()
    theirs = {f"{i}.{k}": getattr(net[i], k).detach().numpy() for i in (0, 3, 7) for k in ("weight", "bias")}
    theirs["7.weight"] = theirs["7.weight"].T
    werr = max(float(np.abs(model.params()[k] - v).max()) for k, v in theirs.items())
    return abs(loss - tloss.item()), werr


def check_grouped_padded_conv2d(torch) -> tuple[float, float]:
    """Conv2D(groups=, boundary=) forward and backward vs torch.nn.Conv2d(groups=, padding_mode=);
    (max abs error of outputs, of gradients)."""
    from convkit.cnn import Conv2D
    fwd = bwd = 0.0
    # groups 1, 3 x 3, stride 1 (>= 4 channels): the Winograd tiles of the engine
    for groups, mode, torch_mode, kwargs in [(1, "constant", "zeros", {"padding": 1}),
                                             (1, "constant", "zeros", {}),
                                             (2, "constant", "zeros", {"padding": 1}),
                                             (4, "constant", "zeros", {"padding": 1, "stride": 2}),
                                             (1, "mirror", "reflect", {"padding": 2}),
                                             (2, "nearest", "replicate", {"padding": (1, 2)}),
                                             (4, "wrap", "circular", {"padding": 1, "dilation": 2})]:
        layer = Conv2D(4, 8, 3, groups=groups, boundary=mode, dtype=np.float64, seed=0, **kwargs)
        layer.params["bias"][:] = RNG.standard_normal(8)
        ref = torch.nn.Conv2d(4, 8, 3, groups=groups, padding_mode=torch_mode, **kwargs)
        with torch.no_grad():
            ref.weight.copy_(torch.tensor(layer.params["weight"]))
            ref.bias.copy_(torch.tensor(layer.params["bias"]))
        x = RNG.standard_normal((3, 4, 9, 8))
        g = RNG.standard_normal(layer.forward(x, True).shape)
        layer.needs_input_grad = True
        out = layer.forward(x, True)
        gx = layer.backward(g)
        xt = torch.tensor(x, requires_grad=True)
        want = ref(xt)
        want.backward(torch.tensor(g))
        fwd = max(fwd, float(np.abs(out - want.detach().numpy()).max()))
        bwd = max(bwd, float(np.abs(gx - xt.grad.numpy()).max()),
                  float(np.abs(layer.grads["weight"] - ref.weight.grad.numpy()).max()),
                  float(np.abs(layer.grads["bias"] - ref.bias.grad.numpy()).max()))
    return fwd, bwd


def check_batchnorm(torch) -> tuple[float, float, float]:
    """BatchNorm2D vs torch.nn.BatchNorm2d: 4 training steps (outputs and gradients), the running
    statistics after them, then evaluation; (outputs+gradients, running stats, eval) max abs errors."""
    from convkit.cnn import BatchNorm2D
    bn = BatchNorm2D(3, momentum=0.2, dtype=np.float64)
    ref = torch.nn.BatchNorm2d(3, momentum=0.2)
    with torch.no_grad():
        w, b = RNG.standard_normal(3), RNG.standard_normal(3)
        ref.weight.copy_(torch.tensor(w))
        ref.bias.copy_(torch.tensor(b))
    bn.params["weight"][:], bn.params["bias"][:] = w, b
    train = 0.0
    for _ in range(4):
        x = RNG.standard_normal((5, 3, 4, 6)) * 3 + 1
        g = RNG.standard_normal(x.shape)
        ref.zero_grad()
        xt = torch.tensor(x, requires_grad=True)
        want = ref.train()(xt)
        want.backward(torch.tensor(g))
        out = bn.forward(x, True)
        gx = bn.backward(g)
        train = max(train, float(np.abs(out - want.detach().numpy()).max()), float(np.abs(gx - xt.grad.numpy()).max()),
                    float(np.abs(bn.grads["weight"] - ref.weight.grad.numpy()).max()),
                    float(np.abs(bn.grads["bias"] - ref.bias.grad.numpy()).max()))
    stats = max(float(np.abs(bn.buffers["running_mean"] - ref.running_mean.numpy()).max()),
                float(np.abs(bn.buffers["running_var"] - ref.running_var.numpy()).max()))
    x = RNG.standard_normal((2, 3, 4, 6))
    evaluation = float(np.abs(bn.forward(x, False) - ref.eval()(torch.tensor(x)).detach().numpy()).max())
    return train, stats, evaluation


def check_signal_layers(torch) -> tuple[float, float]:
    """Conv1D (stride, padding, dilation, groups, circular/reflect/replicate padding), MaxPool1D,
    mean Pool1D (also padded, ceil_mode, count_include_pad), GlobalAvgPool and BatchNorm1D vs
    torch.nn's 1-D layers: (forward, backward) max abs error over all of them."""
    from convkit.cnn import BatchNorm1D, Conv1D, GlobalAvgPool, MaxPool1D, Pool1D
    x = RNG.standard_normal((3, 4, 17))
    fwd = bwd = 0.0
    modes = {"constant": "zeros", "wrap": "circular", "mirror": "reflect", "nearest": "replicate"}
    pairs = []
    for kw in ({}, {"stride": 2, "padding": 1}, {"dilation": 2, "padding": 2, "groups": 2},
               {"padding": 2, "boundary": "wrap"}, {"padding": 1, "boundary": "mirror", "stride": 3},
               {"padding": 2, "boundary": "nearest", "groups": 4}):
        ours = Conv1D(4, 8, 3, dtype=np.float64, seed=1, **kw)
        theirs = torch.nn.Conv1d(4, 8, 3, stride=kw.get("stride", 1), padding=kw.get("padding", 0),
                                 dilation=kw.get("dilation", 1), groups=kw.get("groups", 1),
                                 padding_mode=modes[kw.get("boundary", "constant")])
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(ours.params["weight"]))
            theirs.bias.copy_(torch.tensor(ours.params["bias"]))
        pairs.append((ours, theirs, [("weight", theirs.weight), ("bias", theirs.bias)]))
    pairs.append((MaxPool1D(3, 2), torch.nn.MaxPool1d(3, 2), []))
    pairs.append((Pool1D(2, op="mean"), torch.nn.AvgPool1d(2), []))
    pairs.append((MaxPool1D(4, 3, padding=1, ceil_mode=True), torch.nn.MaxPool1d(4, 3, padding=1, ceil_mode=True), []))
    pairs.append((Pool1D(3, 2, op="mean", padding=1, ceil_mode=True, count_include_pad=True),
                  torch.nn.AvgPool1d(3, 2, padding=1, ceil_mode=True, count_include_pad=True), []))
    pairs.append((GlobalAvgPool(), torch.nn.Sequential(torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten()), []))
    bn = torch.nn.BatchNorm1d(4)
    pairs.append((BatchNorm1D(4, dtype=np.float64), bn, [("weight", bn.weight), ("bias", bn.bias)]))
    for ours, theirs, params in pairs:
        xt = torch.tensor(x, requires_grad=True)
        yt = theirs(xt)
        g = RNG.standard_normal(tuple(yt.shape))
        yt.backward(torch.tensor(g))
        y = ours.forward(x, True)
        gx = ours.backward(g)
        fwd = max(fwd, float(np.abs(y - yt.detach().numpy()).max()))
        bwd = max(bwd, float(np.abs(gx - xt.grad.numpy()).max()))
        for key, tp in params:
            bwd = max(bwd, float(np.abs(ours.grads[key] - tp.grad.numpy()).max()))
    return fwd, bwd


def check_onnx_from_torch(torch) -> float:
    """PyTorch -> torch.onnx.export (dynamo=False) -> convkit.cnn.onnx.load_onnx: a LeNet, a grouped
    and dilated network with BatchNorm (folded into the Conv by the exporter) and a 1-D network;
    max abs error of convkit's logits against PyTorch's (float32)."""
    import os
    import tempfile

    from convkit.cnn.onnx import load_onnx
    nn = torch.nn
    nets = [(nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                           nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 10)), (1, 28, 28)),
            (nn.Sequential(nn.Conv2d(4, 8, 3, padding=2, dilation=2, groups=2), nn.BatchNorm2d(8), nn.ReLU(),
                           nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                           nn.AvgPool2d(2), nn.Flatten(), nn.Dropout(0.3), nn.Linear(8 * 6 * 6, 5)), (4, 12, 12)),
            (nn.Sequential(nn.Conv1d(1, 8, 5, stride=2, padding=1), nn.BatchNorm1d(8), nn.ReLU(), nn.MaxPool1d(2),
                           nn.Conv1d(8, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(),
                           nn.Linear(8, 10)), (1, 40))]
    err = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (net, shape) in enumerate(nets):
            net = net.float()
            x = torch.randn((3,) + shape)
            net.train()
            net(x)                                   # running statistics that are not the defaults
            net.eval()
            path = os.path.join(tmp, f"net{i}.onnx")
            torch.onnx.export(net, (x,), path, dynamo=False, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
            with torch.no_grad():
                want = net(x).numpy()
            got = load_onnx(path).forward(x.numpy(), training=False)
            err = max(err, float(np.abs(got - want).max()))
    return err


def main() -> int:
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed (pip install torch): nothing to compare against")
        return 1
    torch.set_default_dtype(torch.float64)
    checks = [("conv2d, 4 geometries, max abs error", check_conv2d(torch), 1e-12),
              ("SGD and Adam, 6 steps, max relative error", check_optimizers(torch), 1e-12)]
    fwd, bwd = check_grouped_padded_conv2d(torch)
    checks += [("grouped/padded Conv2D forward, max abs error", fwd, 1e-12),
               ("grouped/padded Conv2D backward, max abs error", bwd, 1e-12)]
    train, stats, evaluation = check_batchnorm(torch)
    checks += [("BatchNorm2D train out+grads, max abs error", train, 1e-12),
               ("BatchNorm2D running stats, max abs error", stats, 1e-12),
               ("BatchNorm2D eval, max abs error", evaluation, 1e-12)]
    fwd1, bwd1 = check_signal_layers(torch)
    checks += [("Conv1D/pool/GAP/BatchNorm1D forward, max abs error", fwd1, 1e-12),
               ("Conv1D/pool/GAP/BatchNorm1D backward, max abs error", bwd1, 1e-12)]
    torch.set_default_dtype(torch.float32)
    checks += [("PyTorch -> ONNX -> convkit logits (float32), max abs error", check_onnx_from_torch(torch), 1e-4)]
    torch.set_default_dtype(torch.float64)
    loss_err, weight_err = check_lenet_step(torch)
    checks += [("LeNet step: loss abs error", loss_err, 1e-12),
               ("LeNet step: updated weights max abs error", weight_err, 1e-12)]
    failed = 0
    for name, err, tol in checks:
        ok = err <= tol
        failed += not ok
        print(f"{name:<60}{err:>10.2e}  (tolerance {tol:.0e}) {'ok' if ok else 'MISMATCH'}")
    print(f"torch {torch.__version__}: {'all match' if not failed else f'{failed} mismatch(es)'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
