"""Shared CLI plumbing: library errors become one-line messages with exit code 2."""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable, Iterator

import click

__all__ = ["CLIError", "library_errors", "one_line_warnings", "shell_message", "threads_option",
           "warning_lines"]


class CLIError(click.ClickException):
    """A user-facing error: printed as one line, exit code 2, no traceback."""

    exit_code = 2


def library_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's errors into CLIError, phrased for the shell by their type.

    Typed errors get the shell's wording from their attributes (an
    `OutputExistsError` says "pass --force", not the library's
    ``overwrite=True``); OSErrors are named by their ``filename``; every other
    ValueError / TypeError / OverflowError / MemoryError message is the
    library's own, shown as its first line and never rewritten.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.ClickException, BrokenPipeError):
            raise                       # a closed stdout (`| head`): click exits 1 quietly
        except (ValueError, TypeError, OverflowError, OSError, MemoryError) as exc:
            raise CLIError(shell_message(exc)) from None

    return wrapper


def shell_message(exc: BaseException) -> str:
    """One line for the shell describing a library error, chosen by the error's type."""
    # imported here, not at the top: `convkit --help` must not load the library
    from convkit.io.atomic import OutputExistsError
    from convkit.io.errors import CorruptImageError
    from convkit.io.memory import MAX_MEMORY_ENV, MemoryBudgetError

    if isinstance(exc, MemoryBudgetError):
        return f"{exc.describe()}; raise the budget with --max-memory (e.g. 8G) or {MAX_MEMORY_ENV}"
    if isinstance(exc, OutputExistsError):
        return f"output {exc.path!r} {exc.detail}; pass --force to replace it"
    if isinstance(exc, CorruptImageError):
        return f"{str(exc).split('; pass ')[0]}; pass --allow-corrupt to read it anyway"
    if isinstance(exc, FileNotFoundError):
        return f"file not found: {exc.filename or exc}{_sample_hint(exc.filename)}"
    if isinstance(exc, IsADirectoryError):
        return f"{exc.filename or exc} is a directory, expected a file"
    if isinstance(exc, PermissionError):
        return f"permission denied: {exc.filename or exc}"
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _sample_hint(filename: object) -> str:
    """For a missing sample file (samples/astronaut.png outside a checkout): how to get it."""
    from convkit.data import SAMPLE_NAMES

    name = str(filename or "").replace("\\", "/")
    if any(name == n or name.endswith("/" + n) for n in SAMPLE_NAMES):
        return " (a sample file: `convkit samples` copies them into ./samples)"
    return ""


@contextlib.contextmanager
def warning_lines() -> Iterator[None]:
    """Show the library's warnings as one ``warning: ...`` line each on stderr, and keep numpy's
    floating-point RuntimeWarnings off the terminal (commands check their results instead)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        try:
            yield
        finally:
            for w in caught:
                click.echo(f"warning: {str(w.message).splitlines()[0]}", err=True)


@contextlib.contextmanager
def one_line_warnings() -> Iterator[None]:
    """Any warning that reaches the terminal is one ``warning: ...`` line on stderr, never Python's
    "file:line: Category: message" and the source line under it."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        click.echo(f"warning: {str(message).splitlines()[0] if str(message) else category.__name__}",
                   err=True)

    previous = warnings.showwarning
    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


def _set_threads(ctx: click.Context, param: click.Parameter, value: int | None) -> None:
    """Apply --threads (or check CONVKIT_NUM_THREADS) before the command runs."""
    # convkit.threads loads the standard library only: `--help` stays fast
    from convkit.threads import get_threads, set_threads

    try:
        if value is not None:
            set_threads(value)
        get_threads()
    except ValueError as exc:
        raise CLIError(str(exc)) from None


threads_option = click.option(
    "--threads", type=click.IntRange(min=1), default=None, metavar="N", expose_value=False,
    callback=_set_threads, is_eager=False,
    help="Threads to compute on (default: CONVKIT_NUM_THREADS, else every core this process may use).")
