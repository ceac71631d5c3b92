"""The ``convkit`` command: a click group whose subcommands load on demand.

Installed as the package ``convkit_cli`` (the folder ``cli/`` mapped in
pyproject). Each command lives in its own module and imports numpy, scipy and
convkit inside its function body, so ``convkit --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys

import click

from convkit import __version__

from ._common import one_line_warnings

__all__ = ["CommandLoadError", "cli", "main"]

# command name -> (module, attribute, one-line help shown by `convkit --help`)
_COMMANDS = {
    "convolve": ("convolve_cmd", "convolve", "Convolve two 1-D signals (csv, txt, npy, wav)."),
    "filter": ("filter_cmd", "filter_cmd", "Filter images with named or custom kernels."),
    "pool": ("filter_cmd", "pool_cmd", "Max/min/sum/mean-pool an image."),
    "kernels": ("filter_cmd", "kernels_cmd", "List the named kernels, or print one."),
    "train": ("train_cmd", "train", "Train a CNN (default: digits) and save the run."),
    "evaluate": ("train_cmd", "evaluate", "Evaluate a saved model on a dataset."),
    "predict": ("train_cmd", "predict", "Classify images with a saved model."),
    "explain": ("explain_cmd", "explain", "Show, step by step, how each CNN concept computes."),
    "show": ("explain_cmd", "show", "Draw a model's filters and feature maps."),
    "samples": ("samples_cmd", "samples", "Copy the sample images, kernels and signals into a folder."),
    "explore": ("explore_cmd", "explore", "Open an interactive page of every step, on 127.0.0.1."),
    "export": ("export_cmd", "export", "Write a saved model as an ONNX file."),
}


class CommandLoadError(RuntimeError):
    """A command listed in `_COMMANDS` could not be loaded (its module fails to import)."""


class _LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in _COMMANDS:
            return None
        module, attr, _ = _COMMANDS[name]
        # A registered command that cannot load is a broken installation, not a typo:
        # say which module failed and why instead of click's "No such command".
        try:
            mod = importlib.import_module(f"convkit_cli.{module}")
        except Exception as exc:
            raise CommandLoadError(f"command {name!r} is registered but its module "
                                   f"convkit_cli.{module} failed to import: "
                                   f"{type(exc).__name__}: {exc}") from exc
        command = getattr(mod, attr, None)
        if not isinstance(command, click.Command):
            raise CommandLoadError(f"command {name!r} is registered as convkit_cli.{module}.{attr}, "
                                   f"which is not a click command (got {type(command).__name__})")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, _, help_) in sorted(_COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="convkit")
def cli() -> None:
    """convkit: convolution, image filters, pooling and a CNN built from them."""


# click >= 8.2 raises this for a group called without a command (8.1 printed the help itself)
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", None)


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM raises KeyboardInterrupt, so a kill runs the same clean-up as Ctrl-C (temporary
    files removed, training checkpointed at its last complete epoch)."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; every error becomes one line on stderr and exit code 2."""
    import signal
    import warnings

    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:                              # not the main thread: leave signals alone
        previous = None
    # numpy's floating-point RuntimeWarnings are not for the terminal: commands check their
    # results for NaN / inf and say what happened in one line of their own
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    try:
        with one_line_warnings():
            rv = cli.main(args=argv, prog_name="convkit", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.exceptions.ClickException as exc:
        if _NO_ARGS_IS_HELP is not None and isinstance(exc, _NO_ARGS_IS_HELP) and exc.ctx is not None:
            # `convkit` or `convkit explain` alone: the group's help, as --help prints it
            click.echo(exc.ctx.get_help())
            sys.exit(0)
        message = exc.format_message().replace("\n", " ")
        click.echo(f"Error: {message}", err=True)
        sys.exit(2 if exc.exit_code in (1, 2) else exc.exit_code)
    finally:
        if previous is not None:                  # main() may be called in-process (tests)
            signal.signal(signal.SIGTERM, previous)
    sys.exit(rv if isinstance(rv, int) else 0)
