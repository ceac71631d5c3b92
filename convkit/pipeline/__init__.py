"""The file pipeline of ``convkit filter`` and ``convkit pool``, for small and streamed images.

read -> gray / float -> kernel chain -> derivative magnitude -> pooling ->
display mapping -> ``--compare`` -> alpha -> samples -> write, with every
output of a batch staged beside its target and renamed only when all have
succeeded. `filter_array` is the array part (`convkit.pipeline.arrays`): a
numpy array in gives a numpy array out, a dask array a lazy dask array, with
the same values, so a command writes the same samples whether its input was
held in memory or streamed. `filter_files` is the file part
(`convkit.pipeline.files`); which images stream (`streams`) and the
scheduler they run on are chosen by the caller. Parsing options and printing
are the CLI's.
"""

from __future__ import annotations

from .arrays import COMPARE_GAP, FilterJob, filter_array
from .files import AUTO_BYTES, filter_files, streams

__all__ = ["FilterJob", "filter_array", "filter_files", "streams", "AUTO_BYTES", "COMPARE_GAP"]
