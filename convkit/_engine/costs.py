"""Every fitted constant of the method-choice cost model, in seconds per unit of work.

Written by ``python benchmarks/fit_cost_model.py --write`` (which fits each
entry on the machine it runs on); the numbers here come from a 2-core machine
of the CI class. Edit the script, not this file.
"""

from __future__ import annotations

from typing import Any

__all__ = ["COST"]

COST: dict[str, Any] = {
    # per output per tap, tap loop, one thread
    "direct_tap": {"f4": 2.3e-10, "f8": 4.3e-10, "c8": 4.6e-10, "c16": 8.9e-10, "int": 4.3e-10},
    "direct_gemm": 2.5e-10,  # windows @ kernel, per output per tap
    "direct_call": 2.5e-06,  # per tap pass (Python overhead of one slice multiply-add)
    # per n log2 n, N-D
    "fft": {"f4": 1.8e-10, "f8": 3.1e-10, "c8": 3.7e-10, "c16": 6.1e-10},
    # one long 1-D transform
    "fft1": {"f4": 3.2e-10, "f8": 4e-10, "c8": 5e-10, "c16": 6.5e-10},
    # per n log2 n, blocks
    "oa": {"f4": 2.2e-10, "f8": 8e-10, "c8": 4.5e-10, "c16": 1.4e-09},
    "fft_call": 3e-05,  # fixed cost of one FFT product
    "tap_threads": 1.0,  # all cores over one: the tap loop is memory-bound
    "fft_threads": 1.3,  # all cores over one for N-D or batched transforms
    # numpy's 1-D correlate, per output per tap, by kernel length
    "numpy_1d": {
        "double <=8": 1.7e-10,
        "double 9..63": 3.8e-10,
        "double >=64": 1.2e-10,
        "single <=8": 2.7e-10,
        "single 9..63": 6.9e-10,
        "single >=64": 6.5e-11,
    },
}
