"""``convkit samples [FOLDER]``: copy the samples that ship with convkit into a folder.

The tutorial and the README name files like ``samples/astronaut.png``; this
command makes them exist in whatever folder the user works in. The files and
their descriptions are `convkit.data`'s.
"""

from __future__ import annotations

import click

from ._common import library_errors

__all__ = ["samples"]


@click.command("samples")
@click.argument("folder", default="samples", type=click.Path(file_okay=False))
@click.option("-f", "--force", is_flag=True, help="Replace sample files that already exist there.")
@library_errors
def samples(folder: str, force: bool) -> None:
    """Copy the sample images, kernels and signals into FOLDER (default: ./samples).

    Afterwards the tutorial's commands, like ``convkit filter
    samples/astronaut.png --kernel edge``, work from this folder.
    """
    from convkit.data import SAMPLE_NAMES, copy_samples

    copy_samples(folder, overwrite=force)
    width = max(map(len, SAMPLE_NAMES))
    for name, what in SAMPLE_NAMES.items():
        click.echo(f"{folder.rstrip('/')}/{name:<{width}}  {what}")
