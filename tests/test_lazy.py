"""convkit.io.lazy: what it refuses before a reader could block."""

from __future__ import annotations

import os

import pytest



@pytest.mark.parametrize("name", ["big.tif", "big.tiff"])
def test_a_fifo_tiff_is_refused_at_once(tmp_path, name):
    from helpers.blocking import finishes

    from convkit.io.lazy import lazy_nbytes, open_lazy

    fifo = tmp_path / name
    os.mkfifo(fifo)
    for read in (lambda: open_lazy(fifo), lambda: lazy_nbytes(fifo)):
        result = finishes(read, [fifo])
        assert isinstance(result, ValueError) and "is not a regular file" in str(result), result
