"""The explorer's HTTP server: the standard library's, on 127.0.0.1 only.

GET serves the page (the files in ``static/``, shipped inside the package)
and the menus; POST takes a JSON object and answers with the numbers from
`convkit.web.lessons` / `convkit.web.network`. What it refuses, each with a
4xx and a one-line JSON ``{"error": ...}``: a Host header that is not this
loopback address and port (DNS rebinding), a cross-site Origin, a body that
is not JSON, larger than `MAX_BODY`, or not an object, and any field out of
bounds, and a body nested deeper than the JSON parser goes.

Every client gets an answer or a closed connection, never a hung thread: a
request's headers and body must arrive within `REQUEST_SECONDS` in all (a
client that sends half a request is dropped then), at most `MAX_THREADS`
requests are worked on at once, up to `MAX_WAITING` more wait in line, and
beyond that a connection gets a 503 at once; the listen backlog holds a burst
of `MAX_WAITING` connections so none is reset. A client that goes away
mid-request is dropped quietly. It reads no file but its assets and the model
given at start, and writes none. Starting and stopping it is the CLI's job
(`convkit explore`).
"""

from __future__ import annotations

import io
import json
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib import resources
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from . import lessons
from .checks import BadRequest
from .network import ModelView

__all__ = ["ExplorerServer", "make_server", "MAX_BODY", "HOST", "MAX_THREADS", "MAX_WAITING",
           "REQUEST_SECONDS"]

HOST = "127.0.0.1"
MAX_BODY = 1 << 20          # a 3x64x64 image as JSON text is ~250 KB
MAX_THREADS = 8             # requests worked on at once (each takes milliseconds)
MAX_WAITING = 128           # connections waiting for a thread, and the listen backlog
REQUEST_SECONDS = 10.0      # to receive one request, and again to send its answer
_BUSY_BODY = b'{"error": "the server is busy; try again shortly"}'
_BUSY = (b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
         b"Content-Length: %d\r\nRetry-After: 1\r\nConnection: close\r\n\r\n%s"
         % (len(_BUSY_BODY), _BUSY_BODY))
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".png": "image/png"}
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")


def _static() -> dict[str, bytes]:
    """The page's files by URL path, read once from the package."""
    root = resources.files("convkit.web") / "static"
    files = {f"/static/{p.name}": p.read_bytes() for p in root.iterdir()
             if p.is_file() and "." + p.name.rsplit(".", 1)[-1] in _TYPES}
    files["/"] = files["/static/index.html"]
    return files


class ExplorerServer(HTTPServer):
    """An HTTPServer with a bounded pool of threads that knows its model view, assets and URL."""

    request_queue_size = MAX_WAITING

    def __init__(self, port: int, view: ModelView) -> None:
        self._pool = ThreadPoolExecutor(MAX_THREADS, thread_name_prefix="convkit-explore")
        self._slots = threading.BoundedSemaphore(MAX_THREADS + MAX_WAITING)
        super().__init__((HOST, port), _Handler)   # after the pool: a failed bind closes it
        self.view = view
        self.assets = _static()
        self.port = self.server_address[1]
        self.url = f"http://{HOST}:{self.port}/"
        self.hosts = {f"{HOST}:{self.port}", f"localhost:{self.port}"}
        self.posts: dict[str, Callable[[dict], dict]] = {
            "/api/convolution": lessons.convolution, "/api/steps": lessons.steps,
            "/api/softmax": lessons.softmax, "/api/continuous": lessons.continuous,
            "/api/network": view.predict}

    def serve_in_thread(self) -> threading.Thread:
        """Serve on a daemon thread (tests); stop with ``shutdown()`` then ``server_close()``."""
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        return thread

    def process_request(self, request: Any, client_address: Any) -> None:
        """Hand the connection to the pool, or answer 503 when the line is full."""
        if not self._slots.acquire(blocking=False):
            _refuse_busy(request)
            self.shutdown_request(request)
            return
        self._pool.submit(self._work, request, client_address)

    def _work(self, request: Any, client_address: Any) -> None:
        """One connection on a pool thread (what ThreadingMixIn does on a thread of its own)."""
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up or timed out is dropped quietly; anything else is one line."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            print(f"convkit explore: {type(exc).__name__}: {exc}", file=sys.stderr)

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)


def make_server(port: int = 0, model: str | None = None) -> ExplorerServer:
    """Bind 127.0.0.1:`port` (0: any free port) with `model` (a model file path, or None).

    Raises OSError when the port cannot be bound and ModelFormatError / ValueError for a
    model file that is not a usable convkit model.
    """
    return ExplorerServer(port, ModelView(model))


def _refuse_busy(sock: socket.socket) -> None:
    """Answer 503 on the accepting thread without waiting on the client: read what it sent
    (closing over unread bytes would reset the connection) and write the answer; the caller
    then shuts the connection down."""
    try:
        sock.settimeout(0.05)
        try:
            sock.recv(MAX_BODY)
        except TimeoutError:
            pass
        sock.sendall(_BUSY)
    except OSError:
        pass


class _DeadlineReader(io.RawIOBase):
    """A socket's reads, each allowed only what is left of the request's time."""

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        super().__init__()
        self._sock, self._end = sock, time.monotonic() + seconds

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request did not arrive in time")
        self._sock.settimeout(left)
        return self._sock.recv_into(buffer)


class _Handler(BaseHTTPRequestHandler):
    server: ExplorerServer
    server_version = "convkit-explore"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.rfile.close()          # the plain socket file it made; reads go through the deadline
        self.connection.settimeout(REQUEST_SECONDS)
        self.connection.settimeout(REQUEST_SECONDS)
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, REQUEST_SECONDS))

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the terminal shows the URL, not every request."""

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.connection.settimeout(REQUEST_SECONDS)   # the answer's own time, not what reading left
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", _CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: dict) -> None:
        self._send(status, json.dumps(value, allow_nan=False).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message.splitlines()[0] if message else "error"})

    def _allowed(self) -> bool:
        """Loopback Host (no DNS rebinding) and, when sent, a same-origin Origin."""
        if self.headers.get("Host", "") not in self.server.hosts:
            self._error(HTTPStatus.FORBIDDEN, "Host header must be this server's loopback address")
            return False
        origin = self.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc not in self.server.hosts:
            self._error(HTTPStatus.FORBIDDEN, "cross-origin requests are refused")
            return False
        return True

    def _answer(self, compute: Callable[[], dict]) -> None:
        try:
            value = compute()
        except (BadRequest, ValueError, TypeError, OverflowError) as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
            return
        except Exception as exc:   # a bug must still answer with one line, never a traceback page
            print(f"convkit explore: {type(exc).__name__}: {exc}", file=sys.stderr)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"internal error ({type(exc).__name__})")
            return
        self._json(HTTPStatus.OK, value)   # outside the try: a client that hung up is not a bug

    def do_GET(self) -> None:
        if not self._allowed():
            return
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path in self.server.assets:
            ext = "." + url.path.rsplit(".", 1)[-1] if "." in url.path else ".html"
            self._send(HTTPStatus.OK, self.server.assets[url.path], _TYPES[ext])
        elif url.path == "/api/info":
            self._answer(lambda: {**lessons.info(), "model": self.server.view.info()})
        elif url.path == "/api/sample":
            self._answer(lambda: lessons.sample(query.get("name", "")))
        elif url.path == "/api/kernel":
            self._answer(lambda: lessons.kernel(query.get("name", "")))
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no such page: {url.path}")

    do_HEAD = do_GET

    def do_POST(self) -> None:
        if not self._allowed():
            return
        compute = self.server.posts.get(urlsplit(self.path).path)
        if compute is None:
            self._error(HTTPStatus.NOT_FOUND, f"no such endpoint: {self.path}")
            return
        if self.headers.get_content_type() != "application/json":
            self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "the body must be JSON (application/json)")
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._error(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required")
            return
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                        f"request body of {length} bytes refused; at most {MAX_BODY}")
            return
        raw = self.rfile.read(length)
        if len(raw) < length:
            self.close_connection = True
            self._error(HTTPStatus.BAD_REQUEST, f"the body ended after {len(raw)} of its "
                                                f"{length} bytes (Content-Length)")
            return
        try:
            body = json.loads(raw, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            self._error(HTTPStatus.BAD_REQUEST, f"the body is not valid JSON: {exc}")
            return
        except RecursionError:
            self._error(HTTPStatus.BAD_REQUEST, "the body is not valid JSON: it is nested too "
                                                "deeply (a request needs 4 levels)")
            return
        if not isinstance(body, dict):
            self._error(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
            return
        self._answer(lambda: compute(body))


def _no_constant(name: str) -> None:
    """NaN and Infinity are not JSON; refuse them as the parser meets them."""
    raise ValueError(f"{name} is not a JSON number")
