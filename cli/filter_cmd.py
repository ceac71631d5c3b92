"""``convkit filter``, ``convkit pool`` and ``convkit kernels``.

Only click and the standard library are imported here; numpy and convkit load
inside the commands, so ``convkit --help`` stays fast.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import cast

import click

from convkit._names import (IMAGE_FORMATS, IMAGE_SUFFIXES, KERNEL_FILE_SUFFIXES, LUMA, MAX_PIXELS,
                            MAX_PIXELS_ENV, POOL_OPS, PoolOp)
from convkit.boundary import describe_modes, normalize_boundary

from . import stream
from ._common import CLIError, library_errors, threads_option, warning_lines

__all__ = ["filter_cmd", "pool_cmd", "kernels_cmd"]

_PROGRESS_MIN = 4          # show a progress bar from this many input images on
_GAP = 4                   # white columns between the two halves of --compare

_FILTER_EPILOG = """\b
Output mapping (values written to the [0, 1] range of the file):
  derivative kernels, i.e. taps summing to 0 (edge, laplacian, log,
  sobel_x/_y, prewitt_x/_y, scharr_x/_y, zero-sum custom matrices) and the
  magnitudes sobel, prewitt, scharr; in a chain, if any kernel is one:
      |value|, clipped to [0, 1]
  all other kernels (identity, box, blur, gaussian, motion, sharpen,
  unsharp, emboss, other custom matrices):
      value clipped to [0, 1], so smoothing keeps the input's range
  --rescale: stretch instead (|value| / max for derivative kernels,
      min..max -> 0..1 otherwise)

\b
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


def _expand_folders(images: tuple[str, ...], suffix: str) -> tuple[str, ...]:
    """Each folder replaced by the image files directly inside it, sorted (hidden ones and
    non-files left out). A file named as this command's output for another image of the folder
    (``a_blur.png`` beside ``a.png``: an earlier run's result) is skipped, and said so, rather
    than filtered again into ``a_blur_blur.png``."""
    expanded: list[str] = []
    for src in images:
        folder = Path(src)
        if not folder.is_dir() or folder.suffix.lower() == ".zarr":
            expanded.append(src)
            continue
        found = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
                       and not p.name.startswith(".") and p.is_file())
        ours = {_default_output(p, suffix) for p in found}
        skipped = [p for p in found if p in ours]
        if skipped:
            click.echo(f"note: skipping {len(skipped)} file(s) in {src} named as this command's "
                       f"outputs (e.g. {skipped[0].name}); they are rewritten, not filtered again",
                       err=True)
        kept = [str(p) for p in found if p not in ours]
        if not kept:
            raise CLIError(f"no image files to filter in folder {src} "
                           f"(accepted: {' '.join(IMAGE_SUFFIXES)})")
        expanded += kept
    return tuple(expanded)


def _outputs(images: tuple[str, ...], output: str | None, suffix: str) -> list[Path]:
    """One output path per input: -o is a file for one image, a folder for several."""
    paths = [Path(p) for p in images]
    if output is None:
        outs = [_default_output(p, suffix) for p in paths]
    elif Path(output).is_dir():
        outs = [_default_output(p, suffix, Path(output)) for p in paths]
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


def _check_all(images: tuple[str, ...], outs: list[Path], force: bool) -> None:
    """Fail before any work: missing inputs, missing folders, existing outputs, output = input."""
    from convkit.io.atomic import check_output_path

    for src, out in zip(images, outs):
        p = Path(src)
        if not p.exists():
            raise FileNotFoundError(2, "No such file", src)
        if p.is_dir():
            raise IsADirectoryError(21, "Is a directory", src)
        if out.suffix.lower() not in IMAGE_SUFFIXES:
            raise CLIError(f"cannot write {str(out)!r}: unknown image extension "
                           f"{out.suffix or '(none)'!r}; accepted: {' '.join(IMAGE_SUFFIXES)}")
        check_output_path(out, overwrite=force, inputs=tuple(images))


def _read(path: str, gray: bool, reading: dict):
    """(float image, alpha or None, bits to write) of one input file; `reading` holds
    read_image_raw's max_pixels and allow_corrupt."""
    import numpy as np
    from convkit.io.images import read_image_raw, to_float_image

    raw = read_image_raw(path, **reading)
    bits = 16 if raw.dtype.name == "uint16" else None
    image = to_float_image(raw)
    if image.dtype.kind == "f" and not np.isfinite(image).all():     # a float TIFF can hold them
        raise CLIError(f"{path!r} contains NaN or infinite samples; convkit filters finite images only")
    alpha = None
    if image.ndim == 3 and image.shape[2] in (2, 4):
        image, alpha = image[..., :-1], image[..., -1]
        if image.shape[2] == 1:
            image = image[..., 0]
    if gray and image.ndim == 3:
        image = image @ LUMA                            # as read_image(gray=True)
    return image, alpha, bits


def _nearest_resize(image, shape):
    """Nearest-neighbour resample of the first two axes to `shape` (for --compare)."""
    import numpy as np

    rows = np.arange(shape[0]) * image.shape[0] // shape[0]
    cols = np.arange(shape[1]) * image.shape[1] // shape[1]
    return image[rows][:, cols]


def _side_by_side(left, right):
    """Input and output in one image, the output stretched to the input's size."""
    import numpy as np

    right = _nearest_resize(right, left.shape[:2])
    gap = np.ones(left.shape[:1] + (_GAP,) + left.shape[2:], dtype=left.dtype)
    return np.concatenate([left, gap, right.astype(left.dtype, copy=False)], axis=1)


def _reading_options(command):
    """--max-pixels and --allow-corrupt, the options of every command that reads images."""
    command = click.option("--allow-corrupt", is_flag=True,
                           help="Read a JPEG whose data is damaged, with a warning, instead of "
                                "refusing it.")(command)
    return click.option("--max-pixels", type=click.IntRange(min=1), default=None, metavar="N",
                        help="Memory limit, in 8-bit gray pixels (an RGB image counts three "
                             "times): larger images are refused before decoding.  [default: "
                             f"${MAX_PIXELS_ENV}, else {MAX_PIXELS}, about 0.55 GB]")(command)


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


def _pooled(image, op: PoolOp, size, stride=None):
    """Pool an (H, W[, C]) image over its first two axes."""
    from convkit.pooling import pool

    return pool(image, size, stride=stride, op=op, axes=(0, 1))


def _write(out: Path, image, alpha, bits, *, inputs: tuple) -> None:
    """Write the image (with its alpha channel put back) to the staging file `out`."""
    import numpy as np
    from convkit.io.images import write_image

    if alpha is not None:
        a = _nearest_resize(alpha, image.shape[:2])
        image = np.concatenate([image if image.ndim == 3 else image[..., None], a[..., None]], axis=2)
        if out.suffix.lower() in (".jpg", ".jpeg", ".bmp"):
            image = image[..., :-1]
    depth = bits if bits and 16 in IMAGE_FORMATS[out.suffix.lower()][1] else None
    write_image(out, image, overwrite=True, bit_depth=depth, inputs=inputs)


@click.command("filter", epilog=_FILTER_EPILOG)
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
    import numpy as np
    from convkit.filters import filter_image, is_derivative, resolve_filter, to_display

    pooling = _parse_pool(pool_spec)
    mode = normalize_boundary(boundary)
    reading = {"max_pixels": max_pixels, "allow_corrupt": allow_corrupt}
    # each spec is parsed once, here: a bad one fails before any file is read
    resolved = [resolve_filter(spec) for spec in kernels]
    magnitude = any(is_derivative(k) for k in resolved)
    suffix = "_".join(_tag(s) for s in kernels)
    if pooling:
        op, size = pooling
        suffix += f"_{op}pool" + (f"{size}" if isinstance(size, int) else f"{size[0]}x{size[1]}")
    suffix_out = suffix + ("_compare" if compare else "")
    # a folder is a batch like a list of files: all or nothing (issue 25)
    images = _expand_folders(images, suffix_out)
    if stream.wanted(images, output, chunks, scheduler):   # issue 12: beyond memory, on a cluster
        return stream.filter_stream({**click.get_current_context().params, "images": images}, suffix)
    outs = _outputs(images, output, suffix_out)
    _check_all(images, outs, force)

    def run(src: str, out: Path) -> None:
        image, alpha, bits = _read(src, gray, reading)
        result = image
        for i, kernel in enumerate(resolved):
            last = i == len(resolved) - 1
            result = filter_image(result, kernel, boundary=mode, flip=flip,
                                  stride=stride if last else 1)
        if not np.isfinite(result).all():
            raise CLIError(f"filtering {src!r} with {' then '.join(kernels)} gives values too large "
                           "to represent (overflow); use a kernel with smaller weights")
        if magnitude:
            result = abs(result)
        if alpha is not None and stride > 1:
            alpha = alpha[::stride, ::stride]
        if pooling:
            result = _pooled(result, *pooling)
            if alpha is not None:
                alpha = _pooled(alpha, "mean" if pooling[0] == "sum" else pooling[0], pooling[1])
        result = to_display(result, magnitude=magnitude, rescale=rescale)
        if compare:
            result = _side_by_side(image, result)
        _write(out, result, alpha, bits, inputs=images)

    with warning_lines():
        _run_all(images, outs, run, "filtering", force=force)


def _run_all(images: tuple[str, ...], outs: list[Path], run, label: str, *, force: bool) -> None:
    """Process every (input, output) pair, all or nothing: each result goes to a hidden file
    beside its output, and only when every input has succeeded are they renamed onto the outputs.
    On an error (or Ctrl-C / SIGTERM) the hidden files are removed and every file that existed
    before the run is left as it was."""
    from convkit.io.atomic import commit, temporary_path

    staged: list[Path] = []
    pairs = list(zip(images, outs))

    def stage(src: str, out: Path) -> None:
        staged.append(temporary_path(out))
        try:
            run(src, staged[-1])
        except OSError as exc:      # a full disk names the output, not its hidden staging file
            if exc.filename == str(staged[-1]):
                raise OSError(exc.errno, exc.strerror, str(out)) from None
            raise

    try:
        if len(pairs) >= _PROGRESS_MIN:
            with click.progressbar(pairs, label=label, file=sys.stderr) as bar:
                for src, out in bar:
                    stage(src, out)
        else:
            for src, out in pairs:
                stage(src, out)
        for tmp, out in zip(staged, outs):
            commit(tmp, out, overwrite=force)
    except BaseException:
        done = sum(1 for tmp in staged if not tmp.exists())
        for tmp in staged:
            tmp.unlink(missing_ok=True)
        if len(pairs) > 1 and done == 0:
            click.echo(f"nothing written: all {len(pairs)} outputs are written together, "
                       "and existing files were left unchanged", err=True)
        raise
    for out in outs:
        click.echo(str(out))


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
    from convkit.filters import to_display

    reading = {"max_pixels": max_pixels, "allow_corrupt": allow_corrupt}
    outs = _outputs((image,), output, f"{op}pool{size}")
    _check_all((image,), outs, force)

    def run(src: str, out: Path) -> None:
        img, alpha, bits = _read(src, gray, reading)
        result = _pooled(img, op, size, stride)
        if alpha is not None:
            alpha = _pooled(alpha, "mean" if op == "sum" else op, size, stride)
        result = to_display(result, rescale=op == "sum")
        _write(out, result, alpha, bits, inputs=(image,))

    with warning_lines():
        _run_all((image,), outs, run, "pooling", force=force)


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
