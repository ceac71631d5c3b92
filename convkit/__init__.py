"""convkit: convolution from the integral to a trained CNN.

The top level re-exports the public API lazily: ``import convkit`` is cheap,
and each submodule (and numpy/scipy behind it) loads on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> submodule that defines it
_EXPORTS = {
    "sliding_windows": "windows",
    "pad": "boundary",
    "BOUNDARY_MODES": "boundary",
    "convolve": "convolution",
    "correlate": "convolution",
    "fftconvolve": "convolution",
    "choose_method": "convolution",
    "conv2d": "convolution",
    "convolve_functions": "continuous",
    "get_kernel": "kernels",
    "list_kernels": "kernels",
    "separable_factors": "kernels",
    "filter_image": "filters",
    "pool": "pooling",
    "read_signal": "signals",
    "write_signal": "signals",
    "read_image": "images",
    "read_image_raw": "images",
    "write_image": "images",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'convkit' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
