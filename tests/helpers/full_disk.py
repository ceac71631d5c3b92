"""A full disk, simulated: the ways a write can fail that a writer must notice.

`full_disk(monkeypatch, how)` replaces `os.write` / `os.fsync` for the rest of
the test: "raises" writes part of the bytes and then raises ENOSPC (what ext4
does), "zero" accepts nothing without an error, "short" claims every byte but
stores half of them (a size the file system lies about), "fsync" accepts the
bytes but fails the flush to disk with ENOSPC (NFS and overlay file systems
report a full disk only there). Test-only.
"""

from __future__ import annotations

import errno
import os

WAYS = ("raises", "zero", "short", "fsync")


def full_disk(monkeypatch, how: str) -> None:
    """Make every later os.write / os.fsync in this test fail in the way `how`."""
    real_write = os.write

    def write(fd, data):
        n = len(memoryview(data).cast("B"))
        if how == "raises":
            if n > 1:
                real_write(fd, bytes(memoryview(data).cast("B")[: n // 2]))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        if how == "zero":
            return 0
        if how == "short":
            real_write(fd, bytes(memoryview(data).cast("B")[: n // 2]))
            return n
        return real_write(fd, data)

    def fsync(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", write)
    if how == "fsync":
        monkeypatch.setattr(os, "fsync", fsync)
