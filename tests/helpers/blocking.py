"""Calls that might block for ever (a read from a FIFO): run them on a thread with a time limit.

`finishes(func, fifos)` returns what `func()` returned or raised, and fails the
test if it is still running after `seconds`; it then opens each FIFO in
`fifos` for writing and closes it, so a reader blocked on it gets an end of
file and its thread ends instead of lingering. Test-only.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, Sequence


def finishes(func: Callable[[], Any], fifos: Sequence[os.PathLike | str] = (),
             seconds: float = 10.0) -> Any:
    """func()'s result or exception; AssertionError if it blocked for `seconds`."""
    box: list[Any] = []

    def target() -> None:
        try:
            box.append(func())
        except BaseException as exc:    # SystemExit from a CLI run is a result too
            box.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    blocked = not box
    if blocked:
        for fifo in fifos:              # release the blocked reader before failing
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        thread.join(seconds)
    assert not blocked, f"still running after {seconds} s (blocked)"
    return box[0]
