"""``convkit filter``, ``convkit pool`` and ``convkit kernels``.

Only click and the standard library are imported here; numpy and convkit load
inside the commands, so ``convkit --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import re
import sys
from pathlib import Path
from typing import Any, cast

import click

from convkit._names import (IMAGE_SUFFIXES, KERNEL_FILE_SUFFIXES, MAX_PIXELS, MAX_PIXELS_ENV, POOL_OPS,
                            STREAM_PIXELS, PoolOp)
from convkit.boundary import describe_modes

from . import stream
from ._common import CLIError, library_errors, threads_option, warning_lines

__all__ = ["filter_cmd", "pool_cmd", "kernels_cmd"]

_PROGRESS_MIN = 4          # show a progress bar from this many input images on


def _mapping_epilog() -> str:
    """The output-mapping part of `filter --help`, from the kernel registry's derivative flags."""
    import textwrap

    from convkit.kernels import composite_parts, derivative_names, list_kernels

    derivative = derivative_names()
    magnitudes = [n for n in derivative if composite_parts(n)]
    signed = [n for n in derivative if n not in magnitudes]
    others = [n for n in list_kernels() if n not in derivative]

    def fill(text: str) -> str:
        return textwrap.fill(text, 74, initial_indent="  ", subsequent_indent="  ")

    return "\n".join([
        "\b", "Output mapping (values written to the [0, 1] range of the file):",
        fill(f"derivative kernels, i.e. taps summing to 0 ({', '.join(signed)}, zero-sum custom "
             f"matrices) and the magnitudes {', '.join(magnitudes)}; in a chain, if any kernel "
             "is one:"),
        "      |value|, clipped to [0, 1]",
        fill(f"all other kernels ({', '.join(others)}, other custom matrices):"),
        "      value clipped to [0, 1], so smoothing keeps the input's range",
        "  --rescale: stretch instead (|value| / max for derivative kernels,",
        "      min..max -> 0..1 otherwise)", "", ""])


class _FilterCommand(click.Command):
    """`filter`: its epilog lists the registry's kernels, read when the help is shown."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self.epilog = _mapping_epilog() + (_FILTER_EPILOG or "")
        super().format_epilog(ctx, formatter)


_FILTER_EPILOG = """\b
Examples:
  convkit filter samples/camera.png --kernel edge
  convkit filter samples/astronaut.png --kernel gaussian:sigma=2 --compare
  convkit filter photo.jpg --kernel "0,1,0;1,-4,1;0,1,0" -o lap.png
  convkit filter *.png --kernel blur --kernel sobel
  convkit kernels            (all kernel names)
"""


def _tag(spec: str) -> str:
    """A file-name-safe tag for a kernel spec: 'gaussian:sigma=2' -> 'gaussian-sigma2'."""
    p = Path(spec)
    if p.suffix.lower() in KERNEL_FILE_SUFFIXES:
        spec = p.stem
    elif re.fullmatch(r"[\s\d.,;eE+-]+", spec):
        return "custom"
    tag = re.sub(r"[^A-Za-z0-9._]+", "-", spec.replace("=", "")).strip("-.")
    return tag or "custom"


def _default_output(image: Path, suffix: str, folder: Path | None = None) -> Path:
    """``<folder or image's folder>/<stem>_<suffix><ext>``."""
    return (folder if folder is not None else image.parent) / f"{image.stem}_{suffix}{image.suffix}"


def _outputs(images: list[str], output: str | None, suffix: str, chunks: int | None) -> list[Path]:
    """One output path per input: -o is a file for one image, a folder for several. A default
    output keeps the input's extension; a streamed one that cannot be written so is .zarr."""
    from convkit.io.lazy import LAZY_SUFFIXES
    from convkit.pipeline import streams

    paths = [Path(p) for p in images]
    if output is None or Path(output).is_dir() and Path(output).suffix.lower() != ".zarr":
        folder = None if output is None else Path(output)
        outs = [_default_output(p, suffix, folder) for p in paths]
        outs = [o.with_suffix(".zarr") if o.suffix.lower() not in LAZY_SUFFIXES
                and streams(p, o, chunks) else o for p, o in zip(paths, outs)]
    elif len(paths) > 1:
        raise CLIError(f"with {len(paths)} input images, -o must be an existing folder; "
                       f"got {output!r}")
    else:
        outs = [Path(output)]
    seen: dict[Path, Path] = {}
    for src, out in zip(paths, outs):
        key = out.resolve()
        if key in seen:
            raise CLIError(f"{str(src)!r} and {str(seen[key])!r} would both be written to "
                           f"{str(out)!r}; give -o a folder or rename one input")
        seen[key] = src
    return outs


class _Progress:
    """The library's progress reports as click progress bars on stderr: one for a batch of
    `_PROGRESS_MIN` images or more, one per streamed image (by bands of rows)."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.what: str | None = None

    def __call__(self, what: str, done: int, total: int) -> None:
        if (what == "images" and total < _PROGRESS_MIN) or not sys.stderr.isatty():
            return                      # not into a log: an error stays the only line there
        if what != self.what:
            self.close()
            self.what = what
            self.bar = click.progressbar(length=total, label="filtering", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _skip_own_outputs(images: tuple[str, ...], sources: list[str], suffix: str) -> list[str]:
    """`sources` without the files a folder holds that are named as this command's output for
    another image of it (``a_blur.png`` beside ``a.png``: an earlier run's result), said so,
    rather than filtered again into ``a_blur_blur.png``. Files named one by one are kept."""
    folders = {Path(s).resolve() for s in images if Path(s).is_dir() and Path(s).suffix.lower() != ".zarr"}
    inside = [Path(s) for s in sources if Path(s).parent.resolve() in folders]
    ours = {_default_output(p, suffix) for p in inside}
    skipped = [p for p in inside if p in ours]
    if not skipped:
        return sources
    click.echo(f"note: skipping {len(skipped)} file(s) named as this command's outputs (e.g. "
               f"{skipped[0].name}); they are rewritten, not filtered again", err=True)
    kept = [s for s in sources if Path(s) not in set(skipped)]
    if not kept:
        raise CLIError(f"no image files to filter in {', '.join(images)} "
                       f"(accepted: {' '.join(IMAGE_SUFFIXES)})")
    return kept


def _run(images: tuple[str, ...], output: str | None, suffix: str, job: Any, *, force: bool,
         reading: dict, chunks: int | None = None, scheduler: str | None = None) -> None:
    """Expand folders, name the outputs and run the library's file pipeline on them: on dask
    when an image streams, a folder is given or a scheduler is asked for."""
    from convkit.pipeline import filter_files, streams

    sources = _skip_own_outputs(images, stream.expand(images), suffix)
    outs = _outputs(sources, output, suffix, chunks)
    on_dask = (scheduler is not None or stream.has_folder(images)
               or any(streams(s, o, chunks) for s, o in zip(sources, outs)))
    if on_dask:
        stream.require_dask()
    bars = _Progress()
    try:
        with warning_lines(), stream.scheduler(scheduler) if on_dask else contextlib.nullcontext():
            filter_files(sources, outs, job, overwrite=force, chunks=chunks, parallel=on_dask,
                         progress=bars, **reading)
    except BaseException as exc:
        bars.close()
        for note in getattr(exc, "__notes__", ()):
            click.echo(note, err=True)
        raise
    bars.close()
    for out in outs:
        click.echo(str(out))


def _reading_options(command):
    """--max-pixels and --allow-corrupt, the options of every command that reads images."""
    command = click.option("--allow-corrupt", is_flag=True,
                           help="Read a JPEG whose data is damaged, with a warning, instead of "
                                "refusing it.")(command)
    return click.option("--max-pixels", type=click.IntRange(min=1), default=None, metavar="N",
                        help="Memory limit, in 8-bit gray pixels (an RGB image counts three "
                             "times): larger images are refused before decoding. A streamed "
                             f"image may hold {STREAM_PIXELS} times as many, and each piece of "
                             "it decoded whole (tile, strip, zarr chunk) must fit the limit.  "
                             f"[default: ${MAX_PIXELS_ENV}, else {MAX_PIXELS}, about 4 GiB of "
                             "work]")(command)


def _parse_pool(value: str | None) -> tuple[PoolOp, int | tuple[int, int]] | None:
    """'max:2' / 'mean:2x3' -> (op, size) or None."""
    if value is None:
        return None
    m = re.fullmatch(r"\s*([a-z]+)\s*:\s*(\d+)(?:\s*x\s*(\d+))?\s*", value.lower())
    if not m or m.group(1) not in POOL_OPS:
        raise CLIError(f"--pool must be OP:SIZE or OP:HxW with OP one of {', '.join(POOL_OPS)} "
                       f"(e.g. max:2, mean:2x3); got {value!r}")
    size = int(m.group(2)) if m.group(3) is None else (int(m.group(2)), int(m.group(3)))
    return cast("PoolOp", m.group(1)), size


@click.command("filter", cls=_FilterCommand)
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("-k", "--kernel", "kernels", multiple=True, required=True, metavar="SPEC",
              help="Kernel name with parameters (edge, sobel, gaussian:sigma=2, box:5, ...; "
                   "see `convkit kernels`), inline matrix '0,1,0;1,-4,1;0,1,0', or a "
                   f"{'/'.join(KERNEL_FILE_SUFFIXES)} file. Repeat to apply several in order.")
@click.option("-o", "--output", type=click.Path(), default=None,
              help="Output file (one image) or existing folder (several). "
                   "Default: next to each input as IMAGE_<kernel>.<ext>.")
@click.option("--boundary", default="reflect", show_default=True, metavar="MODE",
              help=f"Edge handling: {describe_modes()}.")
@click.option("--stride", type=click.IntRange(min=1), default=1, show_default=True,
              help="Keep every N-th output pixel of the last kernel.")
@click.option("--pool", "pool_spec", metavar="OP:SIZE", default=None,
              help="Pool the result afterwards: max:2, mean:3, min:2x3, sum:2.")
@click.option("--gray", is_flag=True, help="Convert colour input to gray first.")
@click.option("--flip", is_flag=True, help="True convolution (kernel turned 180 degrees).")
@click.option("--rescale", is_flag=True, help="Stretch the result to the full range.")
@click.option("--compare", is_flag=True, help="Write input and output side by side.")
@click.option("-f", "--force", is_flag=True, help="Overwrite existing output files.")
@_reading_options
@click.option("--chunks", type=click.IntRange(min=1), default=None, metavar="N", help=stream.CHUNKS_HELP)
@click.option("--scheduler", default=None, metavar="threads|processes|tcp://HOST:PORT",
              help=stream.SCHEDULER_HELP)
@threads_option
@library_errors
def filter_cmd(images: tuple[str, ...], kernels: tuple[str, ...], output: str | None,
               boundary: str, stride: int, pool_spec: str | None, gray: bool, flip: bool,
               rescale: bool, compare: bool, force: bool, max_pixels: int | None = None,
               allow_corrupt: bool = False, chunks: int | None = None,
               scheduler: str | None = None) -> None:
    """Filter IMAGE(s) with one or more kernels (cross-correlation, as CNNs do)."""
    from convkit.pipeline import FilterJob

    pooling = _parse_pool(pool_spec)
    # each spec is parsed once, here: a bad one fails before any file is read
    job = FilterJob.make(kernels, boundary=boundary, stride=stride, pool=pooling, gray=gray,
                         flip=flip, rescale=rescale, compare=compare)
    suffix = "_".join(_tag(s) for s in kernels)
    if pooling:
        op, size = pooling
        suffix += f"_{op}pool" + (f"{size}" if isinstance(size, int) else f"{size[0]}x{size[1]}")
    _run(images, output, suffix + ("_compare" if compare else ""), job, force=force,
         chunks=chunks, scheduler=scheduler,
         reading={"max_pixels": max_pixels, "allow_corrupt": allow_corrupt})


@click.command("pool")
@click.argument("image", type=click.Path(dir_okay=True))
@click.option("--op", type=click.Choice(POOL_OPS), default="max", show_default=True,
              help="Reduction over each window. sum is written divided by its maximum.")
@click.option("--size", type=click.IntRange(min=1), default=2, show_default=True,
              help="Window side in pixels.")
@click.option("--stride", type=click.IntRange(min=1), default=None,
              help="Step between windows (default: the size).")
@click.option("-o", "--output", type=click.Path(), default=None,
              help="Output file. Default: IMAGE_<op>pool<size>.<ext> next to the input.")
@click.option("--gray", is_flag=True, help="Convert colour input to gray first.")
@click.option("-f", "--force", is_flag=True, help="Overwrite an existing output file.")
@_reading_options
@library_errors
def pool_cmd(image: str, op: PoolOp, size: int, stride: int | None, output: str | None,
             gray: bool, force: bool, max_pixels: int | None = None,
             allow_corrupt: bool = False) -> None:
    """Pool IMAGE: the max (min, sum, mean) of every SIZE x SIZE window."""
    from convkit.pipeline import FilterJob

    job = FilterJob.make(pool=(op, size, stride), gray=gray, rescale=op == "sum")
    _run((image,), output, f"{op}pool{size}", job, force=force,
         reading={"max_pixels": max_pixels, "allow_corrupt": allow_corrupt})


@click.command("kernels")
@click.argument("name", required=False)
def kernels_cmd(name: str | None) -> None:
    """List the named kernels, or print NAME's matrix (NAME may carry parameters:
    gaussian:sigma=2, box:5, motion:9,angle=45)."""
    run = library_errors(_kernels)
    run(name)


def _kernels(name: str | None) -> None:
    """Body of `convkit kernels` (library errors become one-line CLI errors)."""
    from convkit.filters import COMPOSITE_DESCRIPTIONS, COMPOSITE_FILTERS
    from convkit.kernels import list_kernels, resolve_kernel

    if name is None:
        table = {**list_kernels(), **COMPOSITE_DESCRIPTIONS}
        width = max(map(len, table))
        for key, text in table.items():
            click.echo(f"{key:<{width}}  {text}")
        return

    def show(spec: str) -> None:
        resolved = resolve_kernel(spec)
        k = resolved.array
        cell = max(len(f"{v:.6g}") for v in k.ravel())
        click.echo(f"{spec}: {k.shape[0]}x{k.shape[1]}, sum {k.sum():.6g}")
        for row in k:
            click.echo(" ".join(f"{v:>{cell}.6g}" for v in row))
        factors = resolved.factors
        if factors is not None:
            fmt = lambda a: " ".join(f"{v:.6g}" for v in a)   # noqa: E731
            click.echo(f"separable: column [{fmt(factors[0])}] x row [{fmt(factors[1])}]")

    key = name.strip().lower()
    if key in COMPOSITE_FILTERS:
        click.echo(f"{key}: {COMPOSITE_DESCRIPTIONS[key]}")
        for part in COMPOSITE_FILTERS[key]:
            show(part)
        return
    show(name)
