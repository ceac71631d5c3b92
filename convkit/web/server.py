"""The explorer's HTTP server: the standard library's, on 127.0.0.1 only.

GET serves the page (the files in ``static/``, shipped inside the package)
and the menus; POST takes a JSON object and answers with the numbers from
`convkit.web.lessons` / `convkit.web.network`. What it refuses, each with a
4xx and a one-line JSON ``{"error": ...}``: a Host header that is not this
loopback address and port (DNS rebinding), a cross-site Origin, a body that
is not JSON, larger than `MAX_BODY`, or not an object, and any field out of
bounds. It reads no file but its assets and the model given at start, and
writes none. Starting and stopping it is the CLI's job (`convkit explore`).
"""

from __future__ import annotations

import json
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from . import lessons
from .checks import BadRequest
from .network import ModelView

__all__ = ["ExplorerServer", "make_server", "MAX_BODY", "HOST"]

HOST = "127.0.0.1"
MAX_BODY = 1 << 20          # a 3x64x64 image as JSON text is ~250 KB
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


class ExplorerServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows its model view, its assets and its URL."""

    daemon_threads = True

    def __init__(self, port: int, view: ModelView) -> None:
        super().__init__((HOST, port), _Handler)
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


def make_server(port: int = 0, model: str | None = None) -> ExplorerServer:
    """Bind 127.0.0.1:`port` (0: any free port) with `model` (a model file path, or None).

    Raises OSError when the port cannot be bound and ModelFormatError / ValueError for a
    model file that is not a usable convkit model.
    """
    return ExplorerServer(port, ModelView(model))


class _Handler(BaseHTTPRequestHandler):
    server: ExplorerServer
    server_version = "convkit-explore"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the terminal shows the URL, not every request."""

    def _send(self, status: int, body: bytes, ctype: str) -> None:
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
            self._json(HTTPStatus.OK, compute())
        except (BadRequest, ValueError, TypeError, OverflowError) as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
        except Exception as exc:   # a bug must still answer with one line, never a traceback page
            print(f"convkit explore: {type(exc).__name__}: {exc}", file=sys.stderr)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"internal error ({type(exc).__name__})")

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
        try:
            body = json.loads(self.rfile.read(length), parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            self._error(HTTPStatus.BAD_REQUEST, f"the body is not valid JSON: {exc}")
            return
        if not isinstance(body, dict):
            self._error(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
            return
        self._answer(lambda: compute(body))


def _no_constant(name: str) -> None:
    """NaN and Infinity are not JSON; refuse them as the parser meets them."""
    raise ValueError(f"{name} is not a JSON number")
