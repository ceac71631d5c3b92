"""Shared parameter docs, written once and filled into the public docstrings.

As scipy.ndimage's ``_ni_docstrings``: a docstring line that holds only
``%(name)s`` is replaced by the text of parameter `name` below, indented
like the placeholder. The lists of accepted values come from the option
tables (`convkit._names`, `convkit.boundary`), so the docs cannot drift from
what the code accepts. Standard library only.
"""

from __future__ import annotations

import re
import textwrap
from typing import Callable, TypeVar

from ._names import METHODS, MODES, NAN_POLICIES, POOL_OPS, choices
from .boundary import describe_modes

__all__ = ["PARAMS", "docfiller", "fill_doc"]

F = TypeVar("F", bound=Callable)

_MODE_TEXT = {
    "full": "the full linear convolution (every overlap)",
    "same": "the size of `in1`, centred as scipy centres it",
    "valid": "only the positions where the kernel lies wholly inside `in1`",
}
_METHOD_TEXT = {
    "auto": "the fastest of direct, FFT and overlap-add by a cost model measured on a 2-core "
            "machine (a NaN/Inf input lands in the same outputs as with 'direct')",
    "direct": "the sums as written, exact for integers",
    "fft": "products of transforms (integers rounded back while that is exact)",
}


def _entry(head: str, body: str) -> str:
    """A numpydoc parameter: the head line and its body wrapped under it."""
    return head + "\n" + textwrap.fill(body, 76, initial_indent="    ", subsequent_indent="    ",
                                       break_on_hyphens=False, break_long_words=False)


PARAMS: dict[str, str] = {
    "mode": _entry("mode : {" + choices(MODES) + "}, optional",
                   "Output size. " + "; ".join(f"{m!r}: {_MODE_TEXT[m]}" for m in MODES) + "."),
    "method": _entry("method : {" + choices(METHODS) + "}, optional",
                     "The engine. " + "; ".join(f"{m!r}: {_METHOD_TEXT[m]}" for m in METHODS) + "."),
    "axes": _entry("axes : int or sequence of int, optional",
                   "Convolve along these axes only (default all); along the others the inputs "
                   "broadcast (equal sizes or 1)."),
    "boundary": _entry("boundary : str, optional",
                       "How the input is extended beyond its edges: " + describe_modes()
                       + " (see `convkit.boundary` for the pictures)."),
    "cval": _entry("cval : scalar, optional", "The fill value of the constant boundary."),
    "stride": _entry("stride : int or sequence of int, optional",
                     "Keep every stride-th output along each convolved axis, starting with the "
                     "first (the direct engine does not compute the others)."),
    "origin": _entry("origin : int or sequence of int, optional",
                     "Mode 'same' only: move the window by this many cells along each convolved "
                     "axis, as scipy.ndimage's `origin` (correlate: ``out[i]`` becomes the "
                     "centred result at ``i - origin``; convolve: at ``i + origin``). Between "
                     "``-(K // 2)`` and ``(K - 1) // 2`` for correlate, the mirror range for "
                     "convolve, with ``K`` the dilated kernel extent."),
    "dilation": _entry("dilation : int or sequence of int, optional",
                       "Spread the kernel taps this far apart (dilation - 1 zeros between them)."),
    "workers": _entry("workers : int, optional",
                      "Threads for the FFT and the direct engine (default: all cores, or "
                      "`convkit.set_threads`)."),
    "nan_policy": _entry("nan_policy : {" + choices(NAN_POLICIES) + "}, optional",
                         "'propagate': a NaN reaches every output whose window holds it; 'omit': "
                         "NaN samples are left out and the weights renormalised (normalised "
                         "convolution), NaN only where a window holds no valid sample. 'omit' "
                         "needs a real kernel whose weights all have one sign."),
    "op": _entry("op : {" + choices(POOL_OPS) + "}, optional", "The reduction over each window."),
}

_PLACEHOLDER = re.compile(r"^([ \t]*)%\((\w+)\)s[ \t]*$", re.MULTILINE)


def fill_doc(doc: str) -> str:
    """`doc` with every ``%(name)s`` line replaced by ``PARAMS[name]``, indented to match."""
    return _PLACEHOLDER.sub(lambda m: textwrap.indent(PARAMS[m.group(2)], m.group(1)), doc)


def docfiller(func: F) -> F:
    """Decorator: fill the shared parameter docs into `func`'s docstring."""
    if func.__doc__:
        func.__doc__ = fill_doc(func.__doc__)
    return func
