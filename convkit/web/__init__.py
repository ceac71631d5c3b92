"""convkit.web: the local explorer page behind ``convkit explore``.

`server` (the standard library's HTTP server on 127.0.0.1, the page's files
from ``static/``), `lessons` (the numbers of each lesson, computed by the
library), `network` (a saved model's layers for one drawing), `checks`
(bounds on every request field). The page only draws what the server
computed, so it and the library cannot disagree.
"""

from __future__ import annotations

from .server import ExplorerServer, make_server

__all__ = ["ExplorerServer", "make_server"]
