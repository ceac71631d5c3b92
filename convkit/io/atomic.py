"""Atomic file output: write to a temporary file beside the target, then rename.

A crash or an error mid-write never leaves half a file at the target path, an
existing file is only replaced when asked, and the input is never the output.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["OutputExistsError", "atomic_path", "check_output_path"]


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
                      inputs: tuple = ()) -> Path:
    """Validate an output path; raise ValueError / OutputExistsError naming the problem.

    Parameters
    ----------
    path : str or path-like
        The file to be written.
    overwrite : bool, optional
        Whether an existing file may be replaced.
    inputs : tuple of paths, optional
        Files the output is computed from; it may not be one of them.

    Returns
    -------
    path : pathlib.Path
        `path`, checked.

    Raises
    ------
    ValueError
        `path` is a folder, its folder does not exist, or it is one of `inputs`.
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
    if out.is_dir():
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
    if out.exists() and not overwrite:
        raise OutputExistsError(out)
    return out


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
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=out.suffix or ".tmp",
                               dir=out.parent if str(out.parent) else ".")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if not overwrite and out.exists():
            raise OutputExistsError(out, "appeared while writing and was not replaced")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)   # mkstemp creates 0600; give a normal file's mode
        os.replace(tmp_path, out)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
