"""``convkit explore``: the tutorial as a local, interactive page.

Parses the options, starts `convkit.web`'s server on 127.0.0.1, prints the
URL, opens the browser, and stops cleanly on Ctrl-C or SIGTERM. Everything
the page shows is computed by `convkit.web`; nothing is computed here.
"""

from __future__ import annotations

import errno
import os
import signal

import click

from ._common import CLIError

__all__ = ["explore"]


def _stop(signum, frame) -> None:
    """SIGTERM and SIGINT end the server the way Ctrl-C does (SIGINT too: a process started in
    the background inherits SIGINT ignored, and Python then never raises KeyboardInterrupt)."""
    raise KeyboardInterrupt


@click.command("explore")
@click.argument("model", required=False, type=click.Path(dir_okay=False))
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port on 127.0.0.1; 0 picks a free one.")
@click.option("--no-browser", is_flag=True, help="Print the URL only; do not open a browser.")
def explore(model: str | None, port: int, no_browser: bool) -> None:
    """Open an interactive page: convolution, ReLU, pooling, softmax, a trained MODEL, and
    continuous convolution, all computed by convkit on this machine (127.0.0.1 only).

    MODEL defaults to runs/digits/model.npz when it exists (`convkit train` makes it).
    """
    from convkit.cnn import ModelFormatError
    from convkit.web import make_server
    from convkit.web.network import DEFAULT_MODEL

    if model is None and os.path.isfile(DEFAULT_MODEL):
        model = DEFAULT_MODEL
    if model is not None and not os.path.lexists(model):
        raise CLIError(f"model file not found: {model}")
    try:
        server = make_server(port, model)
    except ModelFormatError as exc:
        raise CLIError(f"ModelFormatError: {str(exc).splitlines()[0]}") from None
    except ValueError as exc:
        raise CLIError(str(exc).splitlines()[0]) from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CLIError(f"port {port} on 127.0.0.1 is in use; pick another with --port "
                           f"(0 = any free port)") from None
        raise CLIError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    click.echo(f"convkit explore: {server.url}  (model: {model or 'none'}; Ctrl-C stops)")
    if not no_browser:
        import webbrowser
        webbrowser.open(server.url)
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.server_close()
