"""Work arrays kept from one call to the next: `Scratch` (a Conv2D layer owns one), per chunk or per thread.

A training step then writes into memory that is already mapped instead of
faulting in fresh pages, which on this machine class costs more than the
arithmetic at LeNet sizes (~2.5 us per 4 KiB page).
"""

from __future__ import annotations

import math
import threading

import numpy as np

__all__ = ["Scratch", "ScratchSlot", "thread_slot", "work_array"]


class Scratch:
    """Named work arrays kept from one call to the next (a Conv2D layer owns one).

    A training step then writes into memory that is already mapped instead of faulting in
    fresh pages, which on this machine class costs more than the arithmetic at LeNet sizes
    (~2.5 us per 4 KiB page). Arrays handed back to callers are never scratch."""

    def __init__(self) -> None:
        self._arrays: dict = {}

    def get(self, name, shape: tuple, dtype: np.dtype) -> np.ndarray:
        """An uninitialised array of `shape` stored under `name` (grown when too small)."""
        size = math.prod(shape)
        buf = self._arrays.get(name)
        if buf is None or buf.dtype != dtype or buf.size < size:
            buf = np.empty(size, dtype=dtype)
            self._arrays[name] = buf
        return buf[:size].reshape(shape)

    def slot(self, index) -> "ScratchSlot":
        """The arrays of chunk `index` (what must outlive the call: kept columns), or of
        ``thread_slot()`` (a chunk's temporaries: one set per thread, however many chunks)."""
        return ScratchSlot(self, index)


def thread_slot() -> tuple:
    """The `Scratch.slot` index of the calling thread's temporaries: chunks running at the same
    time never share them, and a batch of many chunks (inference at batch 256: 29 chunks of the
    default network's second convolution) holds one set per thread, not one per chunk."""
    return ("thread", threading.get_ident())


class ScratchSlot:
    """A `Scratch` seen by one chunk of a batch: its names are qualified by the chunk's index."""

    def __init__(self, scratch: Scratch, index) -> None:
        self._scratch, self._index = scratch, index

    def get(self, name, shape: tuple, dtype: np.dtype) -> np.ndarray:
        """As `Scratch.get`, under (name, chunk index)."""
        return self._scratch.get((name, self._index), shape, dtype)


def work_array(scratch: Scratch | ScratchSlot | None, name, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """A work array: from `scratch` when there is one, else freshly allocated."""
    return np.empty(shape, dtype=dtype) if scratch is None else scratch.get(name, shape, dtype)
