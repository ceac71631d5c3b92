"""Images larger than memory: open a TIFF or zarr lazily (`read`), write zarr or tiled BigTIFF
in bands (`write`).

`open_lazy` gives a dask array backed by the file, laid out as
`read_image_raw` lays it out, every declared size checked before a sample is
decoded; `store_lazy` computes a dask array one band at a time and
`write_lazy` adds the temporary name and the rename. Filtering is
`convkit.chunked`'s; scheduling and progress bars are the caller's.
"""

from __future__ import annotations

from .read import LAZY_SUFFIXES, MAX_BLOCKS, TILE, lazy_nbytes, open_lazy
from .write import check_lazy_output, staging_path, store_lazy, write_lazy

__all__ = ["open_lazy", "write_lazy", "store_lazy", "staging_path", "check_lazy_output", "lazy_nbytes",
           "LAZY_SUFFIXES", "TILE", "MAX_BLOCKS"]
