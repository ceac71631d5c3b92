"""cli/_common.py: library errors reach the shell phrased by their TYPE (one line, exit
code 2), and a message is never rewritten."""

from __future__ import annotations

import errno

import pytest

from convkit.io.atomic import OutputExistsError
from convkit.io.errors import FileFormatError
from convkit_cli._common import CLIError, library_errors, shell_message


@pytest.mark.parametrize("error, expected", [
    (OutputExistsError("out.png"), "output 'out.png' exists; pass --force to replace it"),
    (OutputExistsError("runs/x", "exists and is not empty"),
     "output 'runs/x' exists and is not empty; pass --force to replace it"),
    (FileNotFoundError(errno.ENOENT, "image file not found", "a.png"), "file not found: a.png"),
    (IsADirectoryError(errno.EISDIR, "is a directory", "d"), "d is a directory, expected a file"),
    (PermissionError(errno.EACCES, "denied", "p.csv"), "permission denied: p.csv"),
    (FileFormatError("'x.png' is not a readable image; accepted: PNG\nmore", "x.png"),
     "'x.png' is not a readable image; accepted: PNG"),
    (ValueError("stride must be >= 1, got 0"), "stride must be >= 1, got 0"),
    (OverflowError(), "OverflowError"),
])
def test_shell_message_by_type(error, expected):
    assert shell_message(error) == expected


def test_output_exists_is_phrased_for_the_shell_not_the_library():
    message = shell_message(OutputExistsError("o.csv"))
    assert "overwrite=True" in str(OutputExistsError("o.csv")) and "overwrite=True" not in message


def test_library_errors_become_cli_errors_with_exit_code_2():
    @library_errors
    def command() -> None:
        raise OutputExistsError("o.wav")

    with pytest.raises(CLIError, match=r"^output 'o\.wav' exists; pass --force to replace it$") as info:
        command()
    assert info.value.exit_code == 2


def test_a_bug_is_not_hidden():
    @library_errors
    def command() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError, match="bug"):
        command()


def test_existing_output_through_the_command_line(cli, samples, tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("1\n")
    res = cli("convolve", samples / "signal.csv", samples / "impulse_response.csv", "-o", out)
    assert res.exit_code == 2
    assert res.stderr == f"Error: output {str(out)!r} exists; pass --force to replace it\n"
    assert out.read_text() == "1\n"
