"""Shared CLI plumbing: library errors become one-line messages with exit code 2."""

from __future__ import annotations

import functools
from typing import Any, Callable

import click

__all__ = ["CLIError", "library_errors"]


class CLIError(click.ClickException):
    """A user-facing error: printed as one line, exit code 2, no traceback."""

    exit_code = 2


def library_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ValueError/TypeError/OSError/OverflowError raised below into CLIError."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise
        except FileExistsError as exc:
            from convkit.io.atomic import OutputExistsError
            if isinstance(exc, OutputExistsError):
                raise CLIError(f"output {exc.path!r} {exc.detail}; pass --force to replace it") from None
            raise CLIError(str(exc)) from None
        except FileNotFoundError as exc:
            raise CLIError(f"file not found: {exc.filename or exc}") from None
        except IsADirectoryError as exc:
            raise CLIError(f"{exc.filename or exc} is a directory, expected a file") from None
        except PermissionError as exc:
            raise CLIError(f"permission denied: {exc.filename or exc}") from None
        except (ValueError, TypeError, OverflowError, OSError, MemoryError) as exc:
            raise CLIError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None

    return wrapper
