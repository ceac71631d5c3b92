"""``convkit filter`` beyond memory and on a cluster: folders, dask and its scheduler.

The filtering itself, streamed or not, is the library's one file pipeline
(`convkit.pipeline.filter_files`); this module only expands folder
arguments into their images, checks that the dask extra is installed, and
sets up the scheduler the pipeline computes on (threads, processes or a
``dask.distributed`` address, whose whole handshake is bounded in time). Only
click and the standard library load at import; it imports no other command.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from convkit._names import DISTRIBUTION, IMAGE_SUFFIXES, MAX_BLOCKS

from ._common import CLIError

__all__ = ["expand", "has_folder", "require_dask", "scheduler", "SCHEDULER_HELP", "CHUNKS_HELP"]

_HANDSHAKE_SECONDS = 5       # connect + hello + identity with a distributed scheduler, in all
SCHEDULER_HELP = ("Run on dask: threads (default when streaming), processes, or a "
                  "dask.distributed scheduler address tcp://HOST:PORT.")
CHUNKS_HELP = ("Stream the image in N x N chunks (lazy read, output written tile by tile to "
               ".zarr or a tiled .tif, the same samples as without it). Automatic above 256 MiB "
               f"of samples. A size that cuts the image into more than {MAX_BLOCKS} blocks is "
               "refused.")


def require_dask() -> None:
    """CLIError naming the extra when dask, zarr or tifffile is missing."""
    try:
        import dask.array  # noqa: F401
        import tifffile  # noqa: F401
        import zarr  # noqa: F401
    except ImportError as exc:
        name = "dask" if "dask" in str(exc) else str(exc)
        raise CLIError(f'this needs {name}: pip install "{DISTRIBUTION}[dask]"') from None


def _is_folder(path: str) -> bool:
    p = Path(path)
    return p.is_dir() and p.suffix.lower() != ".zarr"


def has_folder(images: tuple[str, ...]) -> bool:
    """Whether an argument is a folder of images (not a zarr store)."""
    return any(_is_folder(p) for p in images)


def expand(images: tuple[str, ...]) -> list[str]:
    """The arguments with each folder replaced by the image files directly inside it, sorted."""
    found: list[str] = []
    for src in images:
        if not _is_folder(src):
            found.append(src)
            continue
        inside = sorted(str(p) for p in Path(src).iterdir()
                        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                        and not p.name.startswith("."))
        if not inside:
            raise CLIError(f"no image files in {src!r}; accepted: {' '.join(IMAGE_SUFFIXES)}")
        found += inside
    return found


def _handshake(address: str) -> None:
    """Ask the scheduler at `address` who it is; TimeoutError unless it answers in time."""
    import asyncio

    from distributed.core import rpc

    async def identity() -> None:
        remote = rpc(address, timeout=_HANDSHAKE_SECONDS)
        try:
            await remote.identity()
        finally:
            await remote.close_rpc()

    # wait_for bounds connect, the comm handshake and the reply together: a port that accepts
    # and never answers would hold Client() forever (its timeout covers the connect only)
    asyncio.run(asyncio.wait_for(identity(), _HANDSHAKE_SECONDS))


@contextlib.contextmanager
def scheduler(spec: str | None) -> Iterator[None]:
    """Run the dask work inside on `spec`: threads, processes or a distributed address.

    A scheduler that cannot be reached, or does not answer, fails here within
    `_HANDSHAKE_SECONDS`, before any output exists.
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
        _handshake(spec)
        client = Client(spec, timeout=f"{_HANDSHAKE_SECONDS}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise CLIError(f"cannot reach the dask scheduler at {spec} ({type(exc).__name__}); "
                       "start one with `dask scheduler` and `dask worker ADDRESS`") from None
    with client:
        yield
