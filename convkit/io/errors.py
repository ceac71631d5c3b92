"""The typed errors of `convkit.io`, so callers choose by type, never by message text.

`FileFormatError` is a file whose content its reader cannot accept; the
output-side `OutputExistsError` lives with the writes in `convkit.io.atomic`.
Both subclass the built-in error a caller would otherwise catch.
"""

from __future__ import annotations

import os

__all__ = ["FileFormatError"]


class FileFormatError(ValueError):
    """A file's content is not what its reader accepts: not an image, truncated or corrupt,
    too large to decode, not numbers, the wrong shape. ``path`` names the file.

    Parameters
    ----------
    message : str
        What is wrong with the content.
    path : str or path-like
        The file, kept as ``error.path``.

    Examples
    --------
    >>> import os, tempfile
    >>> from convkit import read_image
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.png")
    >>> with open(path, "w") as f:
    ...     _ = f.write("not a picture")
    >>> try:
    ...     read_image(path)
    ... except FileFormatError as error:
    ...     print(error.path == path, isinstance(error, ValueError))
    True True
    """

    def __init__(self, message: str, path: str | os.PathLike) -> None:
        self.path = str(path)
        super().__init__(message)
