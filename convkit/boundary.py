"""Boundary handling: how an array is extended beyond its edges.

`BOUNDARIES` is the one table of boundary modes, one record per mode: its name
(scikit-image / ndimage names), the aliases users bring from numpy, MATLAB,
scipy.ndimage and OpenCV, the picture of ``a b c d`` extended by two cells,
and how numpy.pad, scipy.ndimage, a chunked (dask) run and OpenCV spell it.
`normalize_boundary`, `pad`, `pad_indices`, the docstrings that list the
modes and the CLI's ``--boundary`` help all read it: adding a mode is one
record here (and one row in the tests).

{table}

Only padding lives here; the engines decide how much to pad. The module
imports numpy only inside `pad` and `pad_indices`, so the CLI can read the
table without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NamedTuple, Sequence

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import ArrayLike

__all__ = ["Boundary", "boundary_record", "BoundaryMode", "BoundaryName", "NumpyPadMode", "BOUNDARIES",
           "BOUNDARY_MODES", "BOUNDARY_NAMES", "normalize_boundary", "resolve_boundary",
           "dask_boundary", "pad", "pad_indices", "describe_modes", "mode_table"]

# The names as a type checker sees them (a test keeps them equal to the table).
BoundaryMode = Literal["constant", "reflect", "mirror", "nearest", "wrap"]
NumpyPadMode = Literal["constant", "symmetric", "reflect", "edge", "wrap"]
BoundaryName = Literal["constant", "reflect", "mirror", "nearest", "wrap",
                       "fill", "zeros", "grid-constant", "symm", "symmetric", "grid-mirror",
                       "edge", "replicate", "circular", "periodic", "grid-wrap"]


class Boundary(NamedTuple):
    """One boundary mode: its names, its picture and how other libraries spell it."""

    name: BoundaryMode           # convkit's name
    aliases: tuple[str, ...]     # other accepted names (case-insensitive)
    picture: str                 # 'a b c d' extended by 2 cells on each side; k is cval
    numpy: NumpyPadMode          # numpy.pad mode
    ndimage: str                 # scipy.ndimage mode
    copies_input: bool           # every padded cell is a copy of an input cell
    dask: str | None             # dask.array.overlap boundary ('cval': the number cval); None: none
    opencv: str                  # cv2.copyMakeBorder border type
    alias_cval: tuple[tuple[str, float], ...] = ()   # aliases that also fix cval


BOUNDARIES: tuple[Boundary, ...] = (
    Boundary("constant", ("fill", "zeros", "grid-constant"), "k k | a b c d | k k",
             "constant", "constant", False, "cval", "BORDER_CONSTANT", (("zeros", 0.0),)),
    Boundary("reflect", ("symm", "symmetric", "grid-mirror"), "b a | a b c d | d c",
             "symmetric", "reflect", True, "reflect", "BORDER_REFLECT"),
    Boundary("mirror", (), "c b | a b c d | c b",
             "reflect", "mirror", True, None, "BORDER_REFLECT_101"),
    Boundary("nearest", ("edge", "replicate"), "a a | a b c d | d d",
             "edge", "nearest", True, "nearest", "BORDER_REPLICATE"),
    Boundary("wrap", ("circular", "periodic", "grid-wrap"), "c d | a b c d | a b",
             "wrap", "wrap", True, "periodic", "BORDER_WRAP"),
)

_BY_NAME: dict[str, Boundary] = {m.name: m for m in BOUNDARIES}
_BY_NAME.update({alias: m for m in BOUNDARIES for alias in m.aliases})
_ALIAS_CVAL: dict[str, float] = {alias: v for m in BOUNDARIES for alias, v in m.alias_cval}

# convkit name -> numpy.pad mode (the public mapping convkit has always exported)
BOUNDARY_MODES: dict[str, str] = {m.name: m.numpy for m in BOUNDARIES}
# every accepted name, canonical names first: what a CLI offers and an error lists
BOUNDARY_NAMES: tuple[str, ...] = tuple(m.name for m in BOUNDARIES) + tuple(
    alias for m in BOUNDARIES for alias in m.aliases)


def describe_modes(sep: str = ", ") -> str:
    """The modes with their aliases: 'constant (fill, zeros, grid-constant), reflect (...), mirror, ...'."""
    return sep.join(m.name + (f" ({', '.join(m.aliases)})" if m.aliases else "") for m in BOUNDARIES)


def mode_table(indent: str = "") -> str:
    """The modes as aligned text rows: name, picture, aliases."""
    width = max(len(m.name) for m in BOUNDARIES)
    return "\n".join(f"{indent}{m.name:<{width}}  {m.picture}"
                     + (f"   (also {', '.join(m.aliases)})" if m.aliases else "") for m in BOUNDARIES)


def _unknown(boundary: object) -> ValueError:
    return ValueError(f"boundary must be one of {', '.join(BOUNDARY_NAMES)}; got {boundary!r}")


def normalize_boundary(boundary: BoundaryName | str | Boundary) -> BoundaryMode:
    """Return the canonical convkit name for `boundary`, or raise ValueError listing the names.

    Examples
    --------
    >>> normalize_boundary("Periodic")
    'wrap'
    """
    return boundary_record(boundary).name


def resolve_boundary(boundary: BoundaryName | str | Boundary, cval: float = 0) -> tuple[Boundary, float]:
    """(table row, cval), resolved once at a public function: the engines take the row as it is.

    An alias such as 'zeros' also fixes cval.

    Examples
    --------
    >>> record, cval = resolve_boundary("zeros")
    >>> record.name, cval
    ('constant', 0.0)
    """
    record = boundary_record(boundary)
    if isinstance(boundary, Boundary):
        return record, cval
    fixed = _ALIAS_CVAL.get(boundary.lower())
    if fixed is None:
        return record, cval
    if cval != 0 and cval != fixed:
        raise ValueError(f"boundary {boundary!r} pads with {fixed:g}, got cval={cval!r}; "
                         f"use boundary='{record.name}' for another fill value")
    return record, fixed


def boundary_record(boundary: BoundaryName | str | Boundary) -> Boundary:
    """The table row of `boundary` (any accepted name; a row is returned as it is).

    Examples
    --------
    >>> boundary_record("edge").picture
    'a a | a b c d | d d'
    """
    if isinstance(boundary, Boundary):
        return boundary
    try:
        return _BY_NAME[boundary.lower()]
    except (KeyError, AttributeError):
        raise _unknown(boundary) from None


def dask_boundary(boundary: str | Boundary, cval: float = 0) -> str | float | None:
    """The ``dask.array.overlap`` boundary that fetches this mode's halo (None: dask has none)."""
    record, cval = resolve_boundary(boundary, cval)
    halo = record.dask
    return cval if halo == "cval" else halo


def pad(x: ArrayLike, widths: int | Sequence[int] | Sequence[Sequence[int]],
        boundary: BoundaryName | str | Boundary = "constant", cval: float = 0) -> np.ndarray:
    """Extend `x` beyond its edges.

    Parameters
    ----------
    x : array_like
        Input of any shape.
    widths : int or sequence
        As ``numpy.pad``'s ``pad_width``: an int for every side, or one
        ``(before, after)`` pair per axis.
    boundary : str
        {modes}
    cval : scalar
        The fill value of ``constant``.

    Returns
    -------
    padded : ndarray

    Notes
    -----
    ``a b c d`` extended by two cells on each side (``k`` is `cval`)::

{table}

    Widths larger than the axis repeat the rule (periodic reflections, whole
    periods for wrap), as ``scipy.ndimage`` extends its inputs; a length-1
    axis is repeated by every mode but constant.

    Examples
    --------
    >>> pad([1, 2, 3, 4], 2, "mirror")
    array([3, 2, 1, 2, 3, 4, 3, 2])
    >>> pad([1, 2, 3, 4], 2, "reflect")
    array([2, 1, 1, 2, 3, 4, 4, 3])
    """
    import numpy as np

    x = np.asarray(x)
    mode, cval = resolve_boundary(boundary, cval)
    if not mode.copies_input:
        return np.pad(x, widths, mode=mode.numpy, constant_values=cval)
    if x.size == 0:
        raise ValueError(f"boundary {mode.name!r} needs a non-empty array, got shape {x.shape}")
    return np.pad(x, widths, mode=mode.numpy)


def pad_indices(n: int, before: int, after: int, boundary: BoundaryName | str | Boundary) -> np.ndarray:
    """Source index in ``[0, n)`` of each sample of an axis padded by `boundary`.

    ``pad(x, [(before, after)], boundary)[i] == x[pad_indices(...)[i]]``; for
    a mode that does not copy input cells (constant) the padding samples get
    -1 (they hold cval, not a sample).

    Examples
    --------
    >>> pad_indices(4, 2, 2, "reflect")
    array([1, 0, 0, 1, 2, 3, 3, 2])
    >>> pad_indices(4, 1, 1, "constant")
    array([-1,  0,  1,  2,  3, -1])
    """
    import numpy as np

    record = boundary_record(boundary)
    index = np.arange(n, dtype=np.intp)
    if not record.copies_input:
        return np.pad(index, (before, after), mode="constant", constant_values=-1)
    return pad(index, [(before, after)], record)


def _render_docs() -> None:
    """Fill the mode list and the pictures of the docstrings from `BOUNDARIES`."""
    table = mode_table(indent="        ")
    if pad.__doc__:
        pad.__doc__ = pad.__doc__.replace("{modes}", describe_modes()).replace("{table}", table)
    global __doc__
    if __doc__:
        __doc__ = __doc__.replace("{table}", mode_table(indent="    "))


_render_docs()
