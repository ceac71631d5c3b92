"""How many threads convkit computes on: `set_threads` and `get_threads`.

The setting caps every later call (the engines' pool, FFT workers, the
compiled filter loops); ``CONVKIT_NUM_THREADS`` gives it from the
environment, ``workers=`` caps one call further. The pool and the BLAS
switch behind it are in `convkit._engine.threads`; this module is what a
user (and the CLI's ``--threads``) reads.
"""

from __future__ import annotations

from ._engine.threads import get_threads, set_threads

__all__ = ["set_threads", "get_threads"]
