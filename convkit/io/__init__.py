"""convkit.io: reading and writing images and 1-D signals, safely.

`images` (PNG, JPEG, TIFF, BMP... to float or raw arrays and back),
`memory` (the memory budget of jobs sized by their input),
`signals` (1-D csv / txt / npy / wav), `codecs` and `png16` (the decoders
behind `images`), `atomic` (writes through a temporary file and a rename,
never over an existing file without ``overwrite=True``), `lazy` (images
larger than memory: read lazily, written in bands; imported on its own) and
`errors`: the typed errors (`FileFormatError`; `OutputExistsError` is in
`atomic`).
"""

from __future__ import annotations

from .atomic import OutputExistsError, atomic_path, check_output_path
from .errors import CorruptImageError, CorruptImageWarning, FileFormatError
from .images import IMAGE_SUFFIXES, image_size, read_image, read_image_raw, to_float_image, write_image
from .signals import SIGNAL_SUFFIXES, Signal, read_signal, write_signal

__all__ = ["CorruptImageError", "CorruptImageWarning", "FileFormatError", "IMAGE_SUFFIXES", "OutputExistsError", "SIGNAL_SUFFIXES", "Signal",
           "atomic_path", "check_output_path", "image_size",
           "read_image", "read_image_raw", "read_signal", "to_float_image", "write_image",
           "write_signal"]
