"""The file part of the pipeline: which images stream (`streams`), and `filter_files`, which
reads each source, filters it with `convkit.pipeline.arrays.filter_array` and writes all the
outputs or none.

Every output of a batch is staged beside its target and renamed only when all
have succeeded. A streamed image is read lazily and written band by band
(`convkit.io.lazy`); an in-memory one is read whole, and a batch of those may
run as parallel tasks on the current dask scheduler. Either way the samples
written are the same.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .._names import IMAGE_FORMATS
from ..io.atomic import check_output_path, commit, commit_store, discard, regular_input
from ..io.images import read_image_raw, write_image
from ..io.lazy import LAZY_SUFFIXES, check_lazy_output, lazy_nbytes, staging_path
from .arrays import FilterJob, filter_array

__all__ = ["filter_files", "streams", "AUTO_BYTES"]

AUTO_BYTES = 256 * 2**20      # a TIFF or zarr input with more decoded bytes than this streams

Progress = Callable[[str, int, int], None]      # (what, done, total)


def _samples(values: Any, bits: int) -> Any:
    """[0, 1] values to the unsigned integers a `bits`-bit file stores (as `write_image`)."""
    dtype = np.uint16 if bits == 16 else np.uint8
    return np.round(np.clip(values, 0.0, 1.0) * float(np.iinfo(dtype).max)).astype(dtype)


def streams(source: str | os.PathLike, output: str | os.PathLike, chunks: int | None = None) -> bool:
    """Whether `source` is filtered lazily: with `chunks`, for a zarr input or output, or a
    TIFF holding more than `AUTO_BYTES` of samples."""
    src, out = Path(source), Path(output)
    if chunks is not None or ".zarr" in (src.suffix.lower(), out.suffix.lower()):
        return True
    if src.suffix.lower() in LAZY_SUFFIXES and src.is_file() and src.stat().st_size:
        try:
            return lazy_nbytes(src) > AUTO_BYTES
        except ValueError:                        # unreadable: the in-memory read says why
            return False
    return False


def _check_pair(src: str, out: Path, lazy: bool, inputs: tuple, overwrite: bool) -> None:
    """Fail before any work on an input that is not there or an output this job cannot write."""
    if Path(src).suffix.lower() == ".zarr":
        if not Path(src).is_dir():
            raise FileNotFoundError(2, "zarr store not found", src)
    else:
        regular_input(src, "image file", "an image file or a .zarr store")
    suffix = out.suffix.lower()
    if lazy:
        if suffix not in LAZY_SUFFIXES:
            raise ValueError(f"a streamed image is written as .zarr or a tiled .tif; got "
                             f"{str(out)!r} for {src!r}")
        check_lazy_output(out, overwrite=overwrite, inputs=inputs)
        return
    if suffix not in IMAGE_FORMATS:
        raise ValueError(f"cannot write {str(out)!r}: unknown image extension "
                         f"{out.suffix or '(none)'!r}; accepted: {' '.join(IMAGE_FORMATS)}")
    check_output_path(out, overwrite=overwrite, inputs=inputs)


def _bits(raw_dtype: np.dtype, out: Path) -> int:
    """16 for 16-bit input written to a format that stores 16 bits (zarr does), else 8."""
    wide = raw_dtype == np.uint16
    suffix = out.suffix.lower()
    return 16 if wide and (suffix == ".zarr" or 16 in IMAGE_FORMATS[suffix][1]) else 8


def _file_in_memory(src: str, tmp: Path, out: Path, job: FilterJob, reading: dict,
                    inputs: tuple) -> None:
    """One image held in memory: read, filter, write `tmp` (a task of a parallel batch)."""
    raw = read_image_raw(src, **reading)
    samples = _samples(filter_array(raw, job, name=repr(src)), _bits(raw.dtype, out))
    if samples.ndim == 3 and samples.shape[2] in (2, 4) and out.suffix.lower() in (".jpg", ".jpeg", ".bmp"):
        samples = samples[..., :-1]
    write_image(tmp, samples, overwrite=True, inputs=inputs)


def _file_streamed(src: str, tmp: Path, out: Path, job: FilterJob, reading: dict,
                   chunks: int | None, progress: Progress) -> None:
    """One image streamed: read lazily, filter lazily, write `tmp` band by band."""
    from ..io.lazy import TILE, open_lazy, store_lazy

    raw = open_lazy(src, chunks, **reading)
    samples = _samples(filter_array(raw, job, name=repr(src)), _bits(raw.dtype, out))
    tile = chunks or TILE
    if out.suffix.lower() != ".zarr":
        tile = max(16, -(-tile // 16) * 16)
    bands = -(-samples.shape[0] // tile)
    done = [0]

    def band(n: int) -> None:
        done[0] += n
        progress(src, done[0], bands)

    store_lazy(samples, tmp, tile=tile, max_pixels=reading["max_pixels"], progress=band)


def filter_files(sources: Sequence[str | os.PathLike], outputs: Sequence[str | os.PathLike],
                 job: FilterJob, *, overwrite: bool = False, chunks: int | None = None,
                 max_pixels: int | None = None, allow_corrupt: bool = False,
                 parallel: bool = False, progress: Progress | None = None) -> list[Path]:
    """Filter each source file into its output, all or nothing.

    Parameters
    ----------
    sources, outputs : sequences of paths, of one length
        Images (PNG, JPEG, TIFF, BMP, or a ``.zarr`` store) and where their
        results go (an image file; ``.zarr`` or ``.tif`` for a streamed one).
    job : FilterJob
    overwrite : bool, optional
        Replace existing outputs; otherwise raise `OutputExistsError`.
    chunks : int, optional
        Stream every image in blocks of this side (see `streams` for the
        images that stream anyway).
    max_pixels, allow_corrupt : optional
        As `convkit.read_image_raw` (and `convkit.io.lazy.open_lazy` for
        streamed images).
    parallel : bool, optional
        Filter the in-memory images as parallel tasks on the current dask
        scheduler (needs dask).
    progress : callable, optional
        ``progress(what, done, total)`` after each image (``what`` ==
        ``"images"``) or each band of rows of a streamed image (``what`` ==
        its path).

    Returns
    -------
    outputs : list of Path

    Raises
    ------
    ValueError, OSError, OverflowError, OutputExistsError
        From the checks (all made before any work) or from any image; then
        no output was written or replaced, and no temporary file is left.

    Notes
    -----
    Each result is written to a hidden file (or folder) beside its output;
    only when every image has succeeded are they renamed onto the outputs
    (a folder store is swapped in as `convkit.io.atomic.commit_store` says).
    A streamed and an in-memory run of one job write the same samples.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> from convkit import write_image, read_image_raw
    >>> folder = tempfile.mkdtemp()
    >>> write_image(f"{folder}/in.png", np.eye(8))
    >>> filter_files([f"{folder}/in.png"], [f"{folder}/out.png"], FilterJob.make(["box:3"]))[0].name
    'out.png'
    >>> read_image_raw(f"{folder}/out.png")[0, :3]      # 5/9, 3/9, 1/9 of 255 (reflected edge)
    array([142,  85,  28], dtype=uint8)
    """
    srcs = [str(s) for s in sources]
    outs = [Path(o) for o in outputs]
    if len(srcs) != len(outs):
        raise ValueError(f"got {len(srcs)} sources and {len(outs)} outputs")
    report = progress or (lambda what, done, total: None)
    reading = {"max_pixels": max_pixels, "allow_corrupt": allow_corrupt}
    lazy = [streams(s, o, chunks) for s, o in zip(srcs, outs)]
    for src, out, is_lazy in zip(srcs, outs, lazy):
        _check_pair(src, out, is_lazy, tuple(srcs), overwrite)
    staged: list[Path] = []
    try:
        for out in outs:
            staged.append(staging_path(out))
        tasks = []
        for src, tmp, out, is_lazy in zip(srcs, staged, outs, lazy):
            if is_lazy:
                _file_streamed(src, tmp, out, job, reading, chunks, report)
            elif parallel:
                tasks.append((src, tmp, out))
            else:
                _file_in_memory(src, tmp, out, job, reading, tuple(srcs))
                report("images", len(tasks) + 1, len(srcs))
        if tasks:
            _in_parallel(tasks, job, reading, tuple(srcs), report)
        for tmp, out in zip(staged, outs):
            (commit_store if tmp.is_dir() else commit)(tmp, out, overwrite=overwrite)
    except BaseException as exc:
        if len(outs) > 1 and all(os.path.lexists(t) for t in staged):
            exc.add_note(f"nothing written: all {len(outs)} outputs are written together, "
                         "and existing files were left unchanged")
        named = dict(zip((str(t) for t in staged), outs))
        if isinstance(exc, OSError) and exc.filename in named:
            # a full disk names the output the user asked for, not its hidden staging file
            raise OSError(exc.errno, exc.strerror, str(named[exc.filename])) from None
        raise
    finally:
        for tmp in staged:
            discard(tmp)
    return outs


def _error_of(src: str, tmp: Path, out: Path, job: FilterJob, reading: dict,
              inputs: tuple) -> BaseException | None:
    """`_file_in_memory` as a task that returns its error instead of raising it."""
    try:
        _file_in_memory(src, tmp, out, job, reading, inputs)
    except Exception as exc:
        return exc
    return None


def _in_parallel(tasks: list, job: FilterJob, reading: dict, inputs: tuple, report: Progress) -> None:
    """The in-memory images as tasks on the current dask scheduler, eight at a time.

    A task returns its error rather than raising it, so a failure is raised only once every
    task of its group has ended: none is still writing when the staged files are removed.
    """
    import dask
    from dask.delayed import delayed

    run = [delayed(_error_of, pure=False)(src, tmp, out, job, reading, inputs)
           for src, tmp, out in tasks]
    for i in range(0, len(run), 8):
        errors = [e for e in dask.compute(*run[i:i + 8]) if e is not None]
        if errors:
            raise errors[0]
        report("images", min(i + 8, len(run)), len(run))
