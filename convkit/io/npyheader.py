"""The header of a .npy array, read before the array: refuse one that claims more data than
its file (or zip member) holds, so a forged header cannot make numpy allocate gigabytes.

Used by `convkit.io.signals` (.npy signals) and `convkit.cnn.serialize` (model members).
"""

from __future__ import annotations

import math
from typing import IO

import numpy as np

__all__ = ["npy_claims"]


def npy_claims(fh: IO[bytes]) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, data bytes) that the .npy header at the start of `fh` announces.

    ValueError for a missing or damaged header. The stream is left after the header.
    """
    major, _ = np.lib.format.read_magic(fh)
    read = (np.lib.format.read_array_header_1_0 if major == 1
            else np.lib.format.read_array_header_2_0)
    shape, _, dtype = read(fh)
    return tuple(shape), dtype, math.prod(shape) * dtype.itemsize
