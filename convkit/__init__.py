"""convkit: convolution from the integral to a trained CNN.

The top level re-exports the public API lazily: ``import convkit`` is cheap,
and each submodule (and numpy/scipy behind it) loads on first use. A type
checker reads the same names from the ``TYPE_CHECKING`` imports below, so
``convkit.convolve`` is typed and ``convkit.convolv`` is an error.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> submodule that defines it (kept equal to the imports below by a test)
_EXPORTS = {
    "sliding_windows": "windows",
    "n_windows": "windows",
    "pad": "boundary",
    "BOUNDARY_MODES": "boundary",
    "convolve": "convolution",
    "correlate": "convolution",
    "fftconvolve": "convolution",
    "choose_method": "convolution",
    "conv2d": "batched",
    "convolve_functions": "continuous",
    "get_kernel": "kernels",
    "list_kernels": "kernels",
    "resolve_kernel": "kernels",
    "Kernel": "kernels",
    "separable_factors": "kernels",
    "filter_image": "filters",
    "pool": "pooling",
    "read_signal": "io.signals",
    "write_signal": "io.signals",
    "read_image": "io.images",
    "read_image_raw": "io.images",
    "write_image": "io.images",
    "OutputExistsError": "io.atomic",
    "FileFormatError": "io.errors",
    "CorruptImageError": "io.errors",
    "CorruptImageWarning": "io.errors",
    "set_threads": "threads",
    "get_threads": "threads",
}

if TYPE_CHECKING:
    from .batched import conv2d
    from .boundary import BOUNDARY_MODES, pad
    from .continuous import convolve_functions
    from .convolution import choose_method, convolve, correlate, fftconvolve
    from .filters import filter_image
    from .io.atomic import OutputExistsError
    from .io.errors import CorruptImageError, CorruptImageWarning, FileFormatError
    from .io.images import read_image, read_image_raw, write_image
    from .io.signals import read_signal, write_signal
    from .kernels import Kernel, get_kernel, list_kernels, resolve_kernel, separable_factors
    from .pooling import pool
    from .threads import get_threads, set_threads
    from .windows import n_windows, sliding_windows
else:
    def __getattr__(name: str) -> Any:
        try:
            module = _EXPORTS[name]
        except KeyError:
            raise AttributeError(f"module 'convkit' has no attribute {name!r}") from None
        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value
        return value

__all__ = sorted(_EXPORTS) + ["__version__"]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
