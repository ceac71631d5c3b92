"""Atomic file output: write to a temporary file beside the target, then rename.

A crash or an error mid-write never leaves half a file at the target path, an
existing file is only replaced when asked, and the input is never the output.
Every file is encoded in memory first (`atomic_file`) and written by
`write_checked`, which checks each write, the flush to disk, the close and the
size on disk: a full disk fails the write instead of committing a truncated
file, whatever the format and whichever library encoded it.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import signal
import stat
import tempfile
import threading
from pathlib import Path
from typing import Iterator

__all__ = ["OutputExistsError", "atomic_file", "atomic_path", "check_output_path", "commit", "commit_store",
           "discard", "regular_input", "temporary_path", "temporary_store", "write_checked"]


class OutputExistsError(FileExistsError):
    """The output path exists and replacing it was not asked for (``overwrite=True``).

    Parameters
    ----------
    path : str or path-like
        The output, kept as ``error.path``.
    detail : str, optional
        What happened to it, after the path in the message.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> open(path, "w").close()
    >>> try:
    ...     check_output_path(path)
    ... except OutputExistsError as error:
    ...     print(isinstance(error, FileExistsError), error.path == path)
    True True
    """

    def __init__(self, path: str | os.PathLike, detail: str = "exists") -> None:
        self.path, self.detail = str(path), detail
        super().__init__(f"output {self.path!r} {detail}; pass overwrite=True to replace it")


def check_output_path(path: str | os.PathLike, *, overwrite: bool = False,
                      inputs: tuple = (), folder_ok: bool = False) -> Path:
    """Validate an output path; raise ValueError / OutputExistsError naming the problem.

    Parameters
    ----------
    path : str or path-like
        The file to be written.
    overwrite : bool, optional
        Whether an existing file may be replaced.
    inputs : tuple of paths, optional
        Files (or folder stores) the output is computed from; it may not be
        one of them, contain one, or lie inside one.
    folder_ok : bool, optional
        The output is itself a folder (a zarr store): an existing folder is
        an existing output, not an error.

    Returns
    -------
    path : pathlib.Path
        `path`, checked.

    Raises
    ------
    ValueError
        `path` is a folder (unless `folder_ok`), its folder does not exist,
        or it is, contains or lies inside one of `inputs`.
    OutputExistsError
        `path` exists and `overwrite` is False.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> check_output_path(f"{folder}/result.png").name
    'result.png'
    >>> check_output_path(f"{folder}/missing/result.png")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: output folder '.../missing' does not exist
    """
    out = Path(path)
    # lexists: a dangling symlink is an existing entry too, and replacing it needs overwrite
    exists = os.path.lexists(out)
    if out.is_dir() and not folder_ok:
        raise ValueError(f"output path {str(out)!r} is a directory; give a file name")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"output folder {str(parent)!r} does not exist")
    for source in inputs:
        src = Path(source)
        if src.exists() and out.exists() and os.path.samefile(src, out):
            raise ValueError(f"output {str(out)!r} is the input file; choose another name")
        if not out.exists() and src.resolve() == out.resolve():
            raise ValueError(f"output {str(out)!r} is the input file; choose another name")
        _refuse_nesting(out, src)
    if exists and not overwrite:
        raise OutputExistsError(out, "exists" if out.exists() else "exists (a dangling symbolic link)")
    return out


def _refuse_nesting(out: Path, src: Path) -> None:
    """ValueError when the output folder holds the input or the input folder holds the output
    (replacing one would delete the other)."""
    o, s = out.resolve(), src.resolve()
    if o != s and s.is_relative_to(o):
        raise ValueError(f"output {str(out)!r} contains the input {str(src)!r}; replacing it "
                         "would delete the input; choose another name")
    if o != s and o.is_relative_to(s):
        raise ValueError(f"output {str(out)!r} lies inside the input {str(src)!r}; choose a "
                         "name outside it")


def temporary_path(out: Path) -> Path:
    """A new empty hidden file beside `out`, keeping its suffix; a PermissionError names `out`."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=out.suffix or ".tmp",
                                   dir=out.parent if str(out.parent) else ".")
    except PermissionError as exc:
        raise PermissionError(exc.errno, "permission denied", str(out)) from None
    os.close(fd)
    return Path(tmp)


def commit(tmp: Path, out: Path, *, overwrite: bool) -> None:
    """Rename the finished `tmp` onto `out` with a normal file's mode; PermissionError names `out`."""
    if not overwrite and os.path.lexists(out):
        raise OutputExistsError(out, "appeared while writing and was not replaced")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)   # mkstemp creates 0600; give a normal file's mode
        os.replace(tmp, out)
    except PermissionError as exc:
        raise PermissionError(exc.errno, "permission denied", str(out)) from None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = False,
                inputs: tuple = ()) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto `path` on success.

    The temporary name keeps the target's suffix so writers that pick a format
    from the extension still work. On any exception the temporary file is removed.

    Parameters
    ----------
    path : str or path-like
        The file to be written.
    overwrite : bool, optional
        Whether an existing file may be replaced.
    inputs : tuple of paths, optional
        Files the output is computed from; it may not be one of them.

    Yields
    ------
    tmp : pathlib.Path
        The temporary file to write; it becomes `path` when the block ends
        without an exception.

    Raises
    ------
    ValueError, OutputExistsError
        As `check_output_path`.

    Examples
    --------
    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "numbers.txt")
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("1 2 3")
    ...     os.path.exists(target)
    False
    >>> open(target).read()
    '1 2 3'
    """
    out = check_output_path(path, overwrite=overwrite, inputs=inputs)
    tmp_path: Path | None = None
    try:                                    # from before mkstemp: an interrupt leaves no temp file
        tmp_path = temporary_path(out)
        try:
            yield tmp_path
        except OSError as exc:      # name the output, not the hidden file nobody asked for
            if exc.filename is not None and Path(exc.filename) == tmp_path:
                text = "permission denied" if isinstance(exc, PermissionError) else exc.strerror
                raise OSError(exc.errno, text, str(out)) from None
            raise
        commit(tmp_path, out, overwrite=overwrite)
    finally:
        if tmp_path is not None and os.path.lexists(tmp_path):
            tmp_path.unlink()


def write_checked(path: Path, data: bytes | memoryview) -> None:
    """Write `data` to the existing file `path`; OSError (ENOSPC, EIO, ...) naming `path` unless
    every byte was written, flushed to disk and closed and the file then has `len(data)` bytes."""
    view = memoryview(data).cast("B")
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        done = 0
        while done < len(view):
            n = os.write(fd, view[done:])
            if n <= 0:              # a full device may take nothing without raising
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
            done += n
        os.fsync(fd)                # a network or overlay file system reports ENOSPC only here
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    finally:
        try:
            os.close(fd)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(path)) from None
    size = os.stat(path).st_size
    if size != len(view):
        raise OSError(errno.EIO, f"{size} of {len(view)} bytes reached the disk", str(path))


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, *, overwrite: bool = False,
                inputs: tuple = ()) -> Iterator[io.BytesIO]:
    """Yield an in-memory binary file; when the block ends without an exception, write its bytes
    to `path` atomically with every write checked (`write_checked`).

    Parameters
    ----------
    path : str or path-like
        The file to be written.
    overwrite : bool, optional
        Whether an existing file may be replaced.
    inputs : tuple of paths, optional
        Files the output is computed from; it may not be one of them.

    Yields
    ------
    buffer : io.BytesIO
        Where an encoder writes the file's bytes.

    Raises
    ------
    ValueError, OutputExistsError
        As `check_output_path`, before the block runs.
    OSError
        A write, the flush to disk or the close failed (a full disk: ``errno.ENOSPC``), or the
        file on disk is not as long as what was written; `path` is then left as it was.

    Examples
    --------
    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "numbers.txt")
    >>> with atomic_file(target) as fh:
    ...     _ = fh.write(b"1 2 3")
    >>> open(target).read()
    '1 2 3'
    """
    check_output_path(path, overwrite=overwrite, inputs=inputs)
    buffer = io.BytesIO()
    yield buffer
    with atomic_path(path, overwrite=overwrite, inputs=inputs) as tmp:
        with buffer.getbuffer() as data:
            write_checked(tmp, data)


def regular_input(path: str | os.PathLike, what: str, expected: str) -> Path:
    """`path` as a Path if it is an existing regular file (after symlinks): FileNotFoundError
    "<what> not found", or ValueError for a directory, FIFO, device or socket (which would
    block or never end), saying that `expected` was expected."""
    p = Path(path)
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"{what} not found", str(p)) from None
    if stat.S_ISDIR(mode):
        raise ValueError(f"{str(p)!r} is a directory; expected {expected}")
    if not stat.S_ISREG(mode):
        raise ValueError(f"{str(p)!r} is not a regular file (a pipe, device or socket); "
                         f"expected {expected}")
    return p


# ----------------------------------------------------------------------------- folder outputs


def temporary_store(out: Path) -> Path:
    """A new empty hidden folder beside `out`, keeping its suffix (a zarr store is written into it)."""
    try:
        return Path(tempfile.mkdtemp(prefix=f".{out.stem}.", suffix=out.suffix,
                                     dir=out.parent if str(out.parent) else "."))
    except PermissionError as exc:
        raise PermissionError(exc.errno, "permission denied", str(out)) from None


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Defer SIGINT / SIGTERM until the block ends, so it runs to its end; then deliver them.

    (A signal mask would not do: the process's other threads, e.g. dask's, would take the
    signal and Python would still run its handler in the main thread at once.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield                                   # only the main thread can set handlers
        return
    caught: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    before = {s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in held}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
        for signum in caught:
            signal.raise_signal(signum)


def commit_store(tmp: Path, out: Path, *, overwrite: bool) -> None:
    """Move the finished folder (or file) `tmp` onto `out`, replacing what is there.

    The old output is renamed aside, the new one renamed in, and only then is the old one
    deleted, all with SIGINT / SIGTERM deferred: an interrupt leaves either the old output
    or the new one, never a half-deleted mixture.
    """
    if not overwrite and os.path.lexists(out):
        raise OutputExistsError(out, "appeared while writing and was not replaced")
    with _signals_held():
        old: Path | None = None
        if os.path.lexists(out):
            old = Path(tempfile.mkdtemp(prefix=f".{out.stem}.old.", dir=tmp.parent))
            os.replace(out, old / "store")
        try:
            os.replace(tmp, out)
        except BaseException:
            if old is not None:                 # put the old output back
                os.replace(old / "store", out)
                old.rmdir()
            raise
        if old is not None:
            discard(old)


def discard(path: Path) -> None:
    """Remove a staged file or folder, if it is still there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        path.unlink()
