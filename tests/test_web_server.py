"""convkit.web.server: loopback only, refused requests get a 4xx and one line, the assets ship
inside the package and fetch nothing from outside."""

from __future__ import annotations

import json
import re

import pytest

from _web import request, running


@pytest.fixture(scope="module")
def server():
    with running() as srv:
        yield srv


def test_binds_loopback_only(server):
    assert server.server_address[0] == "127.0.0.1"
    assert server.url == f"http://127.0.0.1:{server.port}/"


def test_page_and_assets(server):
    status, page, headers = request(server, "GET", "/")
    assert status == 200 and b"convkit explore" in page
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    total = len(page)
    for name in re.findall(rb'(?:src|href)="(/static/[^"]+)"', page):
        status, body, _ = request(server, "GET", name.decode())
        assert status == 200
        total += len(body)
        assert not re.search(rb"https?://(?!127\.0\.0\.1)", body), name   # no CDN, no outside URL
    assert total < 500_000


@pytest.mark.parametrize("host", ["evil.example:80", "127.0.0.1", "192.168.1.2:{port}", ""])
def test_foreign_host_header_is_refused(server, host):
    status, body, _ = request(server, "GET", "/api/info", headers={"Host": host.format(port=server.port)})
    assert status == 403 and "Host" in body["error"]


def test_localhost_host_header_is_accepted(server):
    status, _, _ = request(server, "GET", "/api/info", headers={"Host": f"localhost:{server.port}"})
    assert status == 200


def test_cross_origin_post_is_refused(server):
    status, body, _ = request(server, "POST", "/api/softmax", {"scores": [1, 2]},
                              headers={"Origin": "http://evil.example"})
    assert status == 403 and "cross-origin" in body["error"]


GOOD = {"image": [[[0, 1, 0], [1, 1, 1], [0, 1, 0]]], "kernel": [[[1, 0], [0, 1]]]}
BIG = [[[0.0] * 65] * 65]


@pytest.mark.parametrize("path,body,status,match", [
    ("/api/convolution", {**GOOD, "image": BIG}, 400, "too large: axis 1 has 65"),
    ("/api/convolution", {**GOOD, "image": [[[1, 2], [3]]]}, 400, "same length"),
    ("/api/convolution", {**GOOD, "image": [[["a"]]]}, 400, "numbers only"),
    ("/api/convolution", {**GOOD, "image": [[1, 2]]}, 400, "3-D list"),
    ("/api/convolution", {**GOOD, "kernel": [[[1]], [[1]]]}, 400, "one plane per image channel"),
    ("/api/convolution", {**GOOD, "stride": True}, 400, "stride must be an integer"),
    ("/api/convolution", {**GOOD, "stride": 0}, 400, r"stride must be an integer in \[1, 8\]"),
    ("/api/convolution", {**GOOD, "padding": 99}, 400, "padding"),
    ("/api/convolution", {**GOOD, "dilation": 3}, 400, "kernel spans 4x4"),
    ("/api/convolution", {**GOOD, "boundary": "zeros"}, 400, "boundary must be one of"),
    ("/api/convolution", {**GOOD, "bias": 1e9}, 400, "bias must be a finite number"),
    ("/api/convolution", {"image": GOOD["image"]}, 400, "missing field 'kernel'"),
    ("/api/steps", {"map": [[1, 2], [3, 4]], "size": 3}, 400, "larger than the map"),
    ("/api/steps", {"map": [[1, 2]], "op": "median"}, 400, "op must be one of"),
    ("/api/softmax", {"scores": [1, 2], "label": 2}, 400, r"label must be an integer in \[0, 1\]"),
    ("/api/continuous", {"pair": "sinc"}, 400, "pair must be one of"),
    ("/api/continuous", {"pair": "rect", "t": 9}, 400, r"t must be in \[-1.5, 1.5\]"),
    ("/api/network", {"image": [[[0.5]]]}, 400, "no model is loaded"),
    ("/api/nothing", {}, 404, "no such endpoint"),
])
def test_bad_requests_get_a_4xx_and_one_line(server, path, body, status, match):
    got, answer, _ = request(server, "POST", path, body)
    assert got == status
    assert re.search(match, answer["error"]) and "\n" not in answer["error"]


@pytest.mark.parametrize("raw,ctype,status,match", [
    (b"{not json", "application/json", 400, "not valid JSON"),
    (b'{"scores": [NaN]}', "application/json", 400, "not valid JSON"),
    (b"[1, 2]", "application/json", 400, "must be a JSON object"),
    (b"scores=1", "application/x-www-form-urlencoded", 415, "must be JSON"),
    (b"\xff\xfe", "application/json", 400, "not valid JSON"),
])
def test_malformed_bodies(server, raw, ctype, status, match):
    got, answer, _ = request(server, "POST", "/api/softmax", raw=raw, headers={"Content-Type": ctype})
    assert got == status and re.search(match, answer["error"])


def test_oversized_body_is_refused_before_reading(server):
    got, answer, _ = request(server, "POST", "/api/convolution", raw=b"{}",
                             headers={"Content-Type": "application/json", "Content-Length": str(50 << 20)})
    assert got == 413 and "at most" in answer["error"]


@pytest.mark.parametrize("path,match", [("/api/sample?name=../../etc/passwd", "sample must be one of"),
                                        ("/api/kernel?name=/etc/passwd", "kernel must be one of"),
                                        ("/api/kernel?name=gaussian:sigma=1e6", "kernel must be one of"),
                                        ("/static/../server.py", "no such page"),
                                        ("/etc/passwd", "no such page")])
def test_no_file_outside_the_assets_is_read(server, path, match):
    got, answer, _ = request(server, "GET", path)
    assert got in (400, 404) and match in answer["error"]


def test_server_keeps_running_after_bad_requests(server):
    request(server, "POST", "/api/softmax", raw=b"{", headers={"Content-Type": "application/json"})
    got, answer, _ = request(server, "POST", "/api/softmax", {"scores": [0, 0]})
    assert got == 200 and answer["probabilities"] == [0.5, 0.5]
    assert json.dumps(answer)


def _raw_socket(server):
    import socket

    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def _post_head(server, length: int) -> bytes:
    return (f"POST /api/softmax HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n").encode()


def test_deeply_nested_json_gets_a_400_and_nothing_on_stderr(server, capfd):
    depth = 100_000
    got, answer, _ = request(server, "POST", "/api/softmax", raw=b"[" * depth + b"]" * depth,
                             headers={"Content-Type": "application/json"})
    assert got == 400 and "nested too deeply" in answer["error"]
    got, answer, _ = request(server, "POST", "/api/softmax",
                             raw=b'{"scores": ' + b"[" * depth + b"]" * depth + b"}",
                             headers={"Content-Type": "application/json"})
    assert got == 400 and "nested too deeply" in answer["error"]
    assert capfd.readouterr().err == ""


def test_short_body_is_answered_400(server):
    with _raw_socket(server) as sock:
        sock.sendall(_post_head(server, 100) + b'{"scores": [1')
        sock.shutdown(1)          # the client says it is done: 13 of 100 bytes
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.0 400") and b"ended after 13 of its 100 bytes" in reply


def test_clients_that_hang_up_leave_nothing_on_stderr(server, capfd):
    import socket
    import struct
    import time

    linger = struct.pack("ii", 1, 0)        # close() sends a reset instead of a FIN
    for payload in (_post_head(server, 100) + b'{"scores"',                      # short body
                    _post_head(server, 30) + b'{"scores": [1, 2, 3, 4, 5, 6]}'):  # whole request
        sock = _raw_socket(server)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        sock.sendall(payload)
        sock.close()
    big = {"scores": [1.0] * 20000}          # an answer larger than the socket buffers
    for _ in range(3):
        sock = _raw_socket(server)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        data = json.dumps(big).encode()
        sock.sendall(_post_head(server, len(data)) + data)
        time.sleep(0.05)
        sock.close()
    time.sleep(0.5)
    got, _, _ = request(server, "POST", "/api/softmax", {"scores": [0, 0]})
    assert got == 200
    assert capfd.readouterr().err == ""


def test_fifty_concurrent_requests_are_all_answered(server):
    import threading

    n = 50
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def one(i):
        sock = None
        try:
            barrier.wait()                   # all connect at once: the listen backlog is what counts
            sock = _raw_socket(server)
            data = json.dumps({"scores": [float(i), 0.0]}).encode()
            sock.sendall(_post_head(server, len(data)) + data)
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
            results[i] = reply.split(b" ", 2)[1]
        except Exception as exc:             # a reset or a timeout: the failure this test is about
            results[i] = exc
        finally:
            if sock is not None:
                sock.close()

    for _ in range(2):                       # a burst of 50 connections, twice
        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(r in (b"200", b"503") for r in results), results
        assert results.count(b"200") >= n // 2


def test_half_sent_requests_time_out_and_threads_are_bounded(monkeypatch):
    import threading
    import time

    from convkit.web import server as web_server

    monkeypatch.setattr(web_server, "REQUEST_SECONDS", 0.5)
    with running() as srv:
        before = threading.active_count()
        slow = []
        for i in range(3 * web_server.MAX_THREADS):
            sock = _raw_socket(srv)
            # half the headers, or all the headers and half the body
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1" if i % 2 else _post_head(srv, 50) + b"{")
            slow.append(sock)
        time.sleep(0.2)
        assert threading.active_count() - before <= web_server.MAX_THREADS
        start = time.monotonic()
        got, answer, _ = request(srv, "POST", "/api/softmax", {"scores": [0, 0]})
        assert got == 200 and answer["probabilities"] == [0.5, 0.5]
        for sock in slow:                    # each one dropped by the server after its deadline
            sock.settimeout(5)
            assert sock.recv(65536) == b""
            sock.close()
        assert time.monotonic() - start < 5


def test_a_full_line_gets_a_503_with_a_json_answer(monkeypatch):
    import time

    from convkit.web import server as web_server

    monkeypatch.setattr(web_server, "MAX_THREADS", 1)
    monkeypatch.setattr(web_server, "MAX_WAITING", 0)
    monkeypatch.setattr(web_server, "REQUEST_SECONDS", 3.0)
    with running() as srv:
        slow = _raw_socket(srv)
        slow.sendall(b"GET / HTTP/1.1\r\n")           # holds the only thread until its deadline
        time.sleep(0.2)
        got, answer, headers = request(srv, "POST", "/api/softmax", {"scores": [0, 0]})
        assert got == 503 and "busy" in answer["error"] and headers["Retry-After"] == "1"
        slow.close()
