"""``convkit filter`` beyond memory and on a cluster: the streaming branch of the command.

`wanted` decides from the arguments alone whether a call streams: any of
``--chunks`` / ``--scheduler``, a zarr input or output, a folder of images,
or an input whose decoded samples exceed `AUTO_BYTES` (256 MiB). `filter_stream`
then either filters one big image lazily (`convkit.io.lazy` reads and
writes, `convkit.chunked` filters) into zarr or a tiled BigTIFF with a
progress bar per band of rows, or, for several ordinary images, runs the
ordinary in-memory command on each image in parallel on the chosen
scheduler. Only click and the standard library load at import.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any, Iterator

import click

from convkit._names import DISTRIBUTION

from ._common import CLIError

__all__ = ["wanted", "filter_stream", "scheduler", "AUTO_BYTES", "SCHEDULER_HELP", "CHUNKS_HELP"]

AUTO_BYTES = 256 * 2**20      # inputs with more decoded bytes than this stream automatically
_CONNECT_TIMEOUT = "5s"
SCHEDULER_HELP = ("Run on dask: threads (default when streaming), processes, or a "
                  "dask.distributed scheduler address tcp://HOST:PORT.")
CHUNKS_HELP = ("Stream the image in N x N chunks (lazy read, output written tile by tile to "
               ".zarr or a tiled .tif). Automatic above 256 MiB of samples.")


def _dask_or_fail() -> None:
    from convkit.chunked import require_dask

    try:
        require_dask()
        import zarr  # noqa: F401
        import tifffile  # noqa: F401
    except ImportError as exc:
        from convkit.chunked import DASK_MISSING
        raise CLIError(DASK_MISSING if "dask" in str(exc) else
                       f'{exc}; this needs the extra: pip install "{DISTRIBUTION}[dask]"') from None


def wanted(images: tuple[str, ...], output: str | None, chunks: int | None,
           scheduler_spec: str | None) -> bool:
    """Whether this `convkit filter` call takes the streaming branch."""
    if chunks is not None or scheduler_spec is not None:
        return True
    if output is not None and Path(output).suffix.lower() == ".zarr":
        return True
    for src in images:
        p = Path(src)
        if p.suffix.lower() == ".zarr" or (p.is_dir()):
            return True
        if p.suffix.lower() in (".tif", ".tiff") and p.is_file() and len(images) == 1:
            try:
                from convkit.io.lazy import lazy_nbytes
                if lazy_nbytes(p) > AUTO_BYTES:
                    return True
            except ImportError:
                return p.stat().st_size > AUTO_BYTES
            except Exception:                 # unreadable: the ordinary path reports it
                return False
    return False


@contextlib.contextmanager
def scheduler(spec: str | None) -> Iterator[None]:
    """Run the dask work inside on `spec`: threads, processes or a distributed address.

    A scheduler that cannot be reached fails here, before any output exists.
    """
    import dask

    if spec in (None, "threads", "processes"):
        with dask.config.set(scheduler=spec or "threads"):
            yield
        return
    if "://" not in spec:
        raise CLIError(f"--scheduler must be threads, processes or tcp://HOST:PORT; got {spec!r}")
    from distributed import Client

    try:
        client = Client(spec, timeout=_CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise CLIError(f"cannot reach the dask scheduler at {spec} ({type(exc).__name__}); "
                       "start one with `dask scheduler` and `dask worker ADDRESS`") from None
    with client:
        yield


def _images_in(folder: Path) -> list[str]:
    """The image files directly inside `folder`, sorted."""
    from convkit.io.images import IMAGE_SUFFIXES

    return sorted(str(p) for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))


def _argv(params: dict[str, Any], image: str) -> list[str]:
    """The ordinary command line for one image (the streaming options dropped)."""
    argv = [image]
    for spec in params["kernels"]:
        argv += ["--kernel", spec]
    if params["output"] is not None:
        argv += ["-o", params["output"]]
    argv += ["--boundary", params["boundary"], "--stride", str(params["stride"])]
    if params["pool_spec"]:
        argv += ["--pool", params["pool_spec"]]
    argv += [f"--{name}" for name in ("gray", "flip", "rescale", "compare", "force") if params[name]]
    return argv


def _one_image(argv: list[str]) -> None:
    """Run the ordinary `convkit filter` on one image (a task on the scheduler)."""
    from .filter_cmd import filter_cmd

    filter_cmd.main(argv, standalone_mode=False)


def _parallel(images: list[str], params: dict[str, Any]) -> None:
    """Filter many images in parallel on the current dask scheduler; undo all on an error."""
    import dask
    from dask.delayed import delayed

    out = params["output"]
    if out is not None and not Path(out).is_dir():
        raise CLIError(f"with {len(images)} input images, -o must be an existing folder; got {out!r}")
    folders = {Path(out)} if out is not None else {Path(p).parent for p in images}
    before = {f: set(f.iterdir()) for f in folders}
    tasks = [delayed(_one_image, pure=False)(_argv(params, image)) for image in images]
    try:
        with click.progressbar(length=len(tasks), label="filtering", file=sys.stderr) as bar:
            for i in range(0, len(tasks), 8):
                dask.compute(*tasks[i:i + 8])
                bar.update(len(tasks[i:i + 8]))
    except BaseException:
        for f in folders:
            for p in set(f.iterdir()) - before[f]:
                p.unlink(missing_ok=True)
        raise
    # each run printed its own output path (on a distributed cluster: in the worker's log)
    click.echo(f"filtered {len(images)} images", err=True)


def _lazy_result(src: str, params: dict[str, Any], chunks: int | None) -> Any:
    """The filtered image, lazy: read, gray, every kernel, pooling."""
    import numpy as np
    from convkit.filters import filter_image
    from convkit.io.lazy import open_lazy
    from convkit.pooling import pool

    x = open_lazy(src, chunks)
    if params["gray"] and x.ndim == 3:
        import dask.array as da

        # as the ordinary path: samples to [0, 1], alpha dropped, Rec. 709 luma
        x = x if x.dtype.kind == "f" else x / float(np.iinfo(x.dtype).max)
        x = da.tensordot(x[..., :3], np.array([0.2125, 0.7154, 0.0721]), axes=([2], [0]))
    for i, spec in enumerate(params["kernels"]):
        last = i == len(params["kernels"]) - 1
        x = filter_image(x, spec, boundary=params["boundary"], flip=params["flip"],
                         stride=params["stride"] if last else 1)
    if params["pool_spec"]:
        op, size = _parse_pool(params["pool_spec"])
        x = pool(x, size, op=op, axes=(0, 1))
    return x


def _parse_pool(spec: str) -> tuple[Any, Any]:
    """'max:2' / 'mean:2x3' -> (op, size)."""
    import re

    m = re.fullmatch(r"\s*([a-z]+)\s*:\s*(\d+)(?:\s*x\s*(\d+))?\s*", spec.lower())
    if not m or m.group(1) not in ("max", "min", "sum", "mean"):
        raise CLIError(f"--pool must be OP:SIZE or OP:HxW; got {spec!r}")
    return m.group(1), int(m.group(2)) if m.group(3) is None else (int(m.group(2)), int(m.group(3)))


def filter_stream(params: dict[str, Any], default_suffix: str) -> None:
    """The streaming branch of `convkit filter`, from the command's own parameters."""
    _dask_or_fail()
    from convkit.io.lazy import LAZY_SUFFIXES, write_lazy

    images: list[str] = []
    for src in params["images"]:
        p = Path(src)
        images += _images_in(p) if p.is_dir() and p.suffix.lower() != ".zarr" else [src]
    if not images:
        raise CLIError(f"no image files in {', '.join(params['images'])}")
    if params["compare"] or params["rescale"]:
        big = [s for s in images if Path(s).suffix.lower() in LAZY_SUFFIXES]
        if params["chunks"] is not None or any(Path(s).suffix.lower() == ".zarr" for s in big):
            raise CLIError("--compare and --rescale need the whole image in memory; "
                           "drop them (or --chunks) to stream")
    with scheduler(params["scheduler"]):
        if len(images) > 1:
            _parallel(images, params)
            return
        src = images[0]
        out = params["output"]
        if out is None:
            p = Path(src)
            suffix = p.suffix if p.suffix.lower() in LAZY_SUFFIXES else ".zarr"
            out = str(p.parent / f"{p.stem}_{default_suffix}{suffix}")
        if Path(out).suffix.lower() not in LAZY_SUFFIXES:
            raise CLIError(f"a streamed image is written as .zarr or a tiled .tif; got -o {out!r}")
        result = _lazy_result(src, params, params["chunks"])
        tile = params["chunks"] or 1024
        tile = max(16, -(-tile // 16) * 16) if Path(out).suffix.lower() != ".zarr" else tile
        bands = -(-result.shape[0] // tile)
        with click.progressbar(length=bands, label="filtering", file=sys.stderr) as bar:
            write_lazy(result, out, overwrite=params["force"], inputs=(src,), tile=tile,
                       progress=bar.update)
        click.echo(out)
