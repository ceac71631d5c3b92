"""Every fitted constant of the method-choice cost model, in seconds per unit of work.

Regenerate with ``python benchmarks/fit_cost_model.py`` on a machine of the
CI class; the numbers here come from a 2-core machine.
"""

from __future__ import annotations

from typing import Any

__all__ = ["COST"]

# Cost model, in seconds (fitted by benchmarks/fit_cost_model.py on a 2-core
# machine of the CI class; see that script for the grid and the fit).
COST: dict[str, Any] = {
    "direct_tap": {"f4": 2.3e-10, "f8": 4.3e-10, "c8": 4.6e-10, "c16": 8.9e-10, "int": 4.3e-10},
    "direct_gemm": 2.5e-10,       # windows @ kernel, per tap
    "direct_call": 2.5e-06,       # per tap pass (Python overhead of one slice multiply-add)
    "fft": {"f4": 1.8e-10, "f8": 3.1e-10, "c8": 3.7e-10, "c16": 6.1e-10},  # per n log2 n, N-D
    "fft1": {"f4": 3.2e-10, "f8": 4.0e-10, "c8": 5.0e-10, "c16": 6.5e-10},  # one long 1-D transform
    "oa": {"f4": 2.2e-10, "f8": 8.0e-10, "c8": 4.5e-10, "c16": 1.4e-09},    # per n log2 n, blocks
    "fft_call": 30e-6,
    "tap_threads": 1.0,           # all cores over one: the tap loop is memory-bound
    "fft_threads": 1.3,           # all cores over one for N-D or batched transforms
    # numpy's 1-D correlate, per output per tap, in its three regimes of kernel length
    "numpy_1d": {"double <=8": 0.17e-9, "double 9..63": 0.38e-9, "double >=64": 0.12e-9,
                 "single <=8": 0.27e-9, "single 9..63": 0.69e-9, "single >=64": 0.065e-9},
}
