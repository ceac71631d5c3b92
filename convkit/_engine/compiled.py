"""What the compiled-loop modules (`jit`, `layer_loops`, `conv_loops`) share: numba's decorator and a
set of kernels compiled once, on first use.

numba is a dependency, but each module keeps its numpy path for when it cannot load
(`CompiledKernels.available()` is then False); compiled code is cached on disk next to the
module (numba ``cache=True``), so only the first run after an install compiles.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["CompiledKernels", "numba_jit"]


def numba_jit(**options: Any) -> Callable | None:
    """numba's ``njit`` for convkit's loops (GIL released, cached on disk, no bounds checks) with
    `options` added; None without numba."""
    try:
        import numba
    except ImportError:
        return None
    return numba.njit(nogil=True, cache=True, boundscheck=False, **options)


class CompiledKernels:
    """The kernels a `compile` function returns (a dict of name -> compiled function, or None
    without numba), compiled on the first `available()` or lookup."""

    def __init__(self, compile: Callable[[], dict[str, Any] | None]) -> None:
        self._compile = compile
        self._kernels: dict[str, Any] | None = None
        self._tried = False

    def available(self) -> bool:
        """Whether the kernels can be used (numba imports)."""
        if not self._tried:
            self._kernels, self._tried = self._compile(), True
        return self._kernels is not None

    def __getitem__(self, name: str) -> Any:
        self.available()
        assert self._kernels is not None                             # callers check available()
        return self._kernels[name]
