"""Every registered `convkit` command loads and prints its help; one that cannot load
is an error naming the import failure, never click's "No such command".

`convkit --help` wall time is a benchmark (benchmarks/bench_cli_startup.py),
not a test: timing on a shared machine is not a pass/fail fact.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import convkit
import convkit_cli
from convkit_cli import _COMMANDS, CommandLoadError

COMMANDS = sorted(_COMMANDS)


def test_every_command_is_listed(cli):
    res = cli("--help")
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("Usage: convkit [OPTIONS] COMMAND [ARGS]...")
    listed = re.findall(r"^  (\S+)\s{2,}", res.stdout.split("Commands:", 1)[1], re.M)
    assert listed == COMMANDS


@pytest.mark.parametrize("name", COMMANDS)
def test_command_help_runs(cli, name):
    res = cli(name, "--help")
    assert res.exit_code == 0, f"convkit {name} --help exited {res.exit_code}:\n{res.output}"
    assert res.stdout.startswith(f"Usage: convkit {name} "), res.stdout[:200]
    assert res.stderr == ""


def test_version_is_the_package_version(cli):
    res = cli("--version")
    assert res.exit_code == 0
    assert res.stdout.strip() == f"convkit, version {convkit.__version__}"


def test_unknown_command_is_a_usage_error(cli):
    res = cli("filtr")
    assert res.exit_code == 2
    assert "No such command 'filtr'" in res.stderr


def test_registered_command_without_module_names_the_import_failure(cli, monkeypatch):
    monkeypatch.setitem(_COMMANDS, "ghost", ("ghost_cmd", "ghost", "A command whose file is missing."))
    with pytest.raises(CommandLoadError,
                       match=r"command 'ghost' is registered but its module convkit_cli\.ghost_cmd "
                             r"failed to import: ModuleNotFoundError: No module named "
                             r"'convkit_cli\.ghost_cmd'"):
        cli("ghost", "--help")


def test_command_whose_module_raises_on_import_names_the_failure(cli, monkeypatch, tmp_path: Path):
    (tmp_path / "broken_cmd.py").write_text("import convkit_missing_dependency\n")
    monkeypatch.setattr(convkit_cli, "__path__", [*convkit_cli.__path__, str(tmp_path)])
    monkeypatch.setitem(_COMMANDS, "broken", ("broken_cmd", "broken", "A command that fails to load."))
    with pytest.raises(CommandLoadError,
                       match=r"command 'broken' is registered but its module convkit_cli\.broken_cmd "
                             r"failed to import: ModuleNotFoundError: No module named "
                             r"'convkit_missing_dependency'") as info:
        cli("broken", "--help")
    assert isinstance(info.value.__cause__, ModuleNotFoundError)   # the original traceback is kept


def test_broken_module_does_not_break_the_command_list(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "convkit_cli.filter_cmd", None)
    res = cli("--help")
    assert res.exit_code == 0 and "filter" in res.stdout
    with pytest.raises(CommandLoadError, match=r"command 'filter' is registered but its module "
                                               r"convkit_cli\.filter_cmd failed to import"):
        cli("filter", "--help")


def test_registered_name_that_is_not_a_command(cli, monkeypatch):
    monkeypatch.setitem(_COMMANDS, "helper", ("_common", "library_errors", "Not a command."))
    with pytest.raises(CommandLoadError, match=r"command 'helper' is registered as "
                                               r"convkit_cli\._common\.library_errors, which is not "
                                               r"a click command \(got function\)"):
        cli("helper", "--help")


def test_closed_stdout_stops_quietly():
    """`convkit ... | head -1`: the reader leaves early; no "Error:" line, no traceback."""
    import subprocess
    import sys

    cmd = [sys.executable, "-c", "from convkit_cli import main; main()", "explain", "conv",
           "--steps", "9"]
    full = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert full.returncode == 0 and full.stdout.count("\n") > 50
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()                      # as `head -1` does
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert first == full.stdout.splitlines(keepends=True)[0]
    assert proc.returncode in (0, 1), err    # click's quiet exit 1; 0 if all fit in the pipe first
    assert "Error" not in err and "Traceback" not in err, err


@pytest.mark.parametrize("group", [(), ("explain",)])
def test_a_bare_group_prints_its_help_as_help_does(cli, group):
    # regression: `convkit` alone printed the whole help as one "Error: Usage: ..." line on stderr
    bare, helped = cli(*group), cli(*group, "--help")
    assert bare.exit_code == 0 and bare.stderr == ""
    assert bare.stdout == helped.stdout
    assert bare.stdout.count("\n") > 5
