"""The option tables of convkit: each accepted list of values, written once.

Standard library only, so the CLI can build its ``--help`` from these tables
without importing numpy. Library checks, docstrings and CLI choices all read
them; the boundary modes have their own table of records in
`convkit.boundary`.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["MODES", "METHODS", "NAN_POLICIES", "NanPolicy", "POOL_OPS", "Mode", "Method", "PoolOp", "SIGNAL_SUFFIXES",
           "KERNEL_FILE_SUFFIXES", "IMAGE_FORMATS", "IMAGE_SUFFIXES", "DEFAULT_ARCH", "LUMA",
           "choices", "BUILTIN_DATASETS", "MAX_PIXELS", "MAX_PIXELS_ENV",
           "MAX_MEMORY", "MAX_MEMORY_ENV"]

# How much of the full convolution to keep (as scipy.signal.convolve).
MODES = ("full", "same", "valid")
Mode = Literal["full", "same", "valid"]

# Which engine computes it: auto = the cost model's choice among direct, FFT and overlap-add.
METHODS = ("auto", "direct", "fft")
Method = Literal["auto", "direct", "fft"]

# What NaN samples of the input do: reach every output that sees them, or be left out of the
# weighted sum (normalised convolution).
NAN_POLICIES = ("propagate", "omit")
NanPolicy = Literal["propagate", "omit"]

# What a pooling window reduces to.
POOL_OPS = ("max", "min", "sum", "mean")
PoolOp = Literal["max", "min", "sum", "mean"]

# 1-D signal files (`convkit.io.signals`) and kernel files (`convkit.kernels`).
SIGNAL_SUFFIXES = (".csv", ".txt", ".npy", ".wav")
KERNEL_FILE_SUFFIXES = (".csv", ".txt", ".npy")

# image suffix -> (format name, bit depths it can store)
IMAGE_FORMATS = {
    ".png": ("PNG", (1, 8, 16)), ".jpg": ("JPEG", (8,)), ".jpeg": ("JPEG", (8,)),
    ".tif": ("TIFF", (1, 8, 16)), ".tiff": ("TIFF", (1, 8, 16)), ".bmp": ("BMP", (1, 8)),
}
IMAGE_SUFFIXES = tuple(IMAGE_FORMATS)
# The default image memory limit, in 8-bit gray pixels (2**27: reading and filtering may use
# about 4 GiB, so a 40-Mpx RGB photo passes and an 11000^2 RGB bomb does not), and the variable
# that changes it (`convkit.io.images.pixel_limit`; the CLI's --max-pixels)
MAX_PIXELS = 2 ** 27
MAX_PIXELS_ENV = "CONVKIT_MAX_PIXELS"
# The default memory budget of a job whose size comes from its input (class count, --arch,
# --image-size; `convkit.io.memory`), near what the pixel limit allows an image, and the variable
# that changes it (the CLI's --max-memory)
MAX_MEMORY = 4 * 2 ** 30
MAX_MEMORY_ENV = "CONVKIT_MAX_MEMORY"

# The network `convkit train` builds when no --arch is given.
DEFAULT_ARCH = "conv32-relu-conv32-relu-pool2-conv64-relu-pool2-flatten-dense"

# The datasets bundled with convkit's dependencies (scikit-learn, scikit-image) or generated.
BUILTIN_DATASETS = ("digits", "faces", "shapes")

# Rec. 709 luma weights (R, G, B), as skimage.color.rgb2gray: colour -> grey everywhere in convkit.
LUMA = (0.2125, 0.7154, 0.0721)


def choices(values: tuple[str, ...] | dict, sep: str = ", ") -> str:
    """The accepted values as error messages and help texts list them: 'full', 'same', 'valid'."""
    return sep.join(repr(v) for v in values)
