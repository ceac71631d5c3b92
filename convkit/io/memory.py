"""The memory budget: one rule for every allocation whose size comes from the input.

Before allocating anything sized by a number in the input (an architecture's
widths and kernel sizes, an image size asked for, a class count), a caller
estimates the job's peak memory and calls `check_memory`; above the budget it
raises `MemoryBudgetError`, which names the number, the estimate and the
budget, before anything large exists. The budget is `max_memory` when given,
else the environment variable ``CONVKIT_MAX_MEMORY``, else ``MAX_MEMORY``
(4 GiB). Image files have their own limit in pixels (`convkit.io.images`).
The CLI names its option that raises the budget (``--max-memory``).
"""

from __future__ import annotations

import os
import re

from .._names import MAX_MEMORY, MAX_MEMORY_ENV

__all__ = ["MemoryBudgetError", "check_memory", "format_bytes", "memory_budget", "parse_bytes",
           "MAX_MEMORY", "MAX_MEMORY_ENV"]

_UNITS = {"": 1, "k": 2 ** 10, "m": 2 ** 20, "g": 2 ** 30, "t": 2 ** 40}


class MemoryBudgetError(MemoryError):
    """A job would need more memory than the budget; refused before allocating.

    Parameters
    ----------
    what : str
        The job and the number from the input that sizes it.
    need, budget : int
        The estimated peak and the budget, in bytes (``error.need``, ``error.budget``).

    Examples
    --------
    >>> try:
    ...     check_memory(5 * 2 ** 30, "a 40000x40000 float64 image", max_memory=2 ** 30)
    ... except MemoryBudgetError as error:
    ...     print(error.need > error.budget, str(error).split(";")[0])
    True a 40000x40000 float64 image needs about 5.0 GiB, above the memory budget of 1.0 GiB
    """

    def __init__(self, what: str, need: int, budget: int) -> None:
        self.what, self.need, self.budget = what, int(need), int(budget)
        super().__init__(f"{self.describe()}; pass max_memory= (bytes) or set {MAX_MEMORY_ENV} "
                         "to raise it")

    def describe(self) -> str:
        """The message without its advice: what, the estimate and the budget."""
        return (f"{self.what} needs about {format_bytes(self.need)}, above the memory budget of "
                f"{format_bytes(self.budget)}")


def format_bytes(n: int) -> str:
    """Bytes for people: '11.6 GiB', '530.0 MiB', '13.2 KiB'."""
    for unit, scale in (("TiB", 2 ** 40), ("GiB", 2 ** 30), ("MiB", 2 ** 20)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n / 1024:.1f} KiB"


def parse_bytes(text: str, source: str = "max_memory") -> int:
    """'8G', '512M', '1.5g', '1000000' -> bytes (K/M/G/T are powers of 1024); ValueError else."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", str(text).lower())
    if not m or float(m.group(1)) * _UNITS[m.group(2)] < 1:
        raise ValueError(f"{source} must be a size in bytes such as 8G, 512M or 1000000, got {text!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def memory_budget(max_memory: int | str | None = None) -> int:
    """The budget in force: `max_memory` if given, else $CONVKIT_MAX_MEMORY, else `MAX_MEMORY`."""
    if max_memory is not None:
        return parse_bytes(str(max_memory))
    text = os.environ.get(MAX_MEMORY_ENV, "").strip()
    return parse_bytes(text, f"environment variable {MAX_MEMORY_ENV}") if text else MAX_MEMORY


def check_memory(need: int, what: str, *, max_memory: int | str | None = None) -> None:
    """Raise `MemoryBudgetError` if `need` bytes exceed the budget (see `memory_budget`)."""
    budget = memory_budget(max_memory)
    if need > budget:
        raise MemoryBudgetError(what, need, budget)
