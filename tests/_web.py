"""Helpers of the convkit.web tests: a live server on a free port, JSON requests, a tiny model."""

from __future__ import annotations

import contextlib
import http.client
import json

import numpy as np

# convkit name -> numpy.pad mode, written out here (the README's table) as the tests' own reference
NUMPY_PAD = {"constant": "constant", "reflect": "symmetric", "mirror": "reflect", "nearest": "edge",
             "wrap": "wrap"}


@contextlib.contextmanager
def running(model=None):
    """A convkit.web server on 127.0.0.1:<free port>, served on a thread, closed afterwards."""
    from convkit.web import make_server

    server = make_server(0, model)
    server.serve_in_thread()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def request(server, method: str, path: str, body=None, headers=None, raw: bytes | None = None):
    """(status, decoded JSON or bytes, headers) of one request to `server`."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    head = {"Host": f"127.0.0.1:{server.port}"}
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        head["Content-Type"] = "application/json"
    head.update(headers or {})
    try:
        conn.request(method, path, body=data, headers=head)
        resp = conn.getresponse()
        payload = resp.read()
        ctype = resp.getheader("Content-Type", "")
        value = json.loads(payload) if ctype.startswith("application/json") else payload
        return resp.status, value, dict(resp.getheaders())
    finally:
        conn.close()


def post(server, path: str, body: dict):
    """The JSON answer of a POST that must succeed."""
    status, value, _ = request(server, "POST", path, body)
    assert status == 200, value
    return value


def tiny_model(path) -> None:
    """Train a 1-conv digits model for two epochs (~0.1 s) and save it to `path`."""
    from sklearn.datasets import load_digits

    from convkit.cnn import Adam, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential

    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None]
    model = Sequential([Conv2D(1, 4, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(), Dense(64, 10)],
                       seed=0, input_shape=(1, 8, 8), class_names=[str(i) for i in range(10)],
                       normalization={"mean": [0.3], "std": [0.4]})
    model.fit(X[:600], digits.target[:600], epochs=2, batch_size=32, optimizer=Adam(0.01), seed=0)
    model.save(path)


def reference_conv(image, kernel, *, stride=1, padding=0, dilation=1, boundary="constant", cval=0.0,
                   flip=False, bias=0.0):
    """(C, H, W) image by (C, kh, kw) kernel: numpy.pad, then scipy.signal.correlate2d of the
    dilated (and, for flip, turned) kernel, then every stride-th cell, summed over channels."""
    from scipy.signal import correlate2d

    total = 0.0
    for x, k in zip(np.asarray(image, float), np.asarray(kernel, float)):
        mode = NUMPY_PAD[boundary]
        xp = np.pad(x, padding, mode=mode, **({"constant_values": cval} if mode == "constant" else {}))
        k = k[::-1, ::-1] if flip else k
        kd = np.zeros((dilation * (k.shape[0] - 1) + 1, dilation * (k.shape[1] - 1) + 1))
        kd[::dilation, ::dilation] = k
        total = total + correlate2d(xp, kd, mode="valid")[::stride, ::stride]
    return total + bias
