"""Animation frames of the convolution walkthrough, and GIF / PNG files of frames.

Frames are RGB uint8 arrays drawn with matplotlib's Agg canvas on a private
`Figure` (no pyplot, no global state, headless). One figure is built per
animation and only its changing artists are updated between frames. PNG files
are written by `convkit.write_image`; GIFs by Pillow (the codec
`convkit.io.images` decodes with, installed with scikit-image and matplotlib)
through `convkit.io.atomic.atomic_file`. Either way a failed write leaves
nothing behind and an existing file is only replaced when asked.
"""

from __future__ import annotations

import os
from typing import Iterable, Iterator, Sequence

import numpy as np

from ..io.atomic import atomic_file, check_output_path
from .training import missing_glyphs_phrased
from .walkthrough import ConvWalkthrough

__all__ = ["MAX_FRAMES", "MAX_GRID_FRAMES", "READ_WIDTH", "frame_steps", "figure_to_array", "conv_frames",
           "iter_conv_frames", "tile_frames", "write_gif", "write_png_grid", "write_figure"]

MAX_FRAMES = 200        # a GIF with more frames is subsampled to this many
MAX_GRID_FRAMES = 36    # a PNG grid with more frames is subsampled to this many
# the widest grid drawn at full size: a documentation page's text column is ~650 px, a laptop
# window ~1300; wider grids were shown 5.8x smaller than drawn
READ_WIDTH = 800


def frame_steps(n_steps: int, max_frames: int = MAX_FRAMES) -> np.ndarray:
    """Indices of the steps to draw: all of them, or `max_frames` evenly spaced
    ones that include the first and the last.

    Parameters
    ----------
    n_steps : int
        Steps of the walkthrough.
    max_frames : int, optional
        The most frames wanted, at least 2.

    Returns
    -------
    steps : ndarray of int
        Sorted step indices.

    Raises
    ------
    ValueError
        `max_frames` below 2.

    Examples
    --------
    >>> frame_steps(5, 3)
    array([0, 2, 4])
    """
    if max_frames < 2:
        raise ValueError(f"max_frames must be at least 2, got {max_frames}")
    if n_steps <= max_frames:
        return np.arange(n_steps)
    return np.linspace(0, n_steps - 1, max_frames).round().astype(int)


def figure_to_array(fig) -> np.ndarray:
    """Render a matplotlib Figure on an Agg canvas and return it as (H, W, 3) uint8.

    Parameters
    ----------
    fig : matplotlib.figure.Figure

    Returns
    -------
    image : ndarray of shape (H, W, 3), uint8
        H and W are the figure's size in inches times its dpi.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> figure_to_array(Figure(figsize=(1, 0.5), dpi=20)).shape
    (10, 20, 3)
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    with missing_glyphs_phrased():
        canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def conv_frames(walk: ConvWalkthrough, *, steps: Sequence[int] | None = None,
                dpi: int = 80) -> list[np.ndarray]:
    """One RGB frame per step: the window on the image, the kernel, the map filling in.

    Parameters
    ----------
    walk : ConvWalkthrough
        From `conv_walkthrough`.
    steps : sequence of int, optional
        Which steps to draw; default ``frame_steps(walk.n_steps)`` (all, or
        `MAX_FRAMES` evenly spaced ones).
    dpi : int, optional
        Resolution of the frames (a 9 x 3.4 inch figure).

    Returns
    -------
    frames : list of ndarray of shape (H, W, 3), uint8

    Examples
    --------
    >>> from convkit.viz import conv_walkthrough
    >>> walk = conv_walkthrough([[1, 2, 0], [0, 1, 3], [2, 0, 1]], [[1, 0], [0, 1]])
    >>> frames = conv_frames(walk, steps=[0, 3], dpi=20)
    >>> len(frames), frames[0].shape
    (2, (68, 180, 3))
    """
    return list(iter_conv_frames(walk, steps=steps, dpi=dpi))


def iter_conv_frames(walk: ConvWalkthrough, *, steps: Sequence[int] | None = None,
                     dpi: int = 80) -> Iterator[np.ndarray]:
    """`conv_frames` one frame at a time, so a long animation need not sit in memory.

    Parameters
    ----------
    walk : ConvWalkthrough
        From `conv_walkthrough`.
    steps : sequence of int, optional
        Which steps to draw; default ``frame_steps(walk.n_steps)``.
    dpi : int, optional
        Resolution of the frames.

    Yields
    ------
    frame : ndarray of shape (H, W, 3), uint8

    Examples
    --------
    >>> from convkit.viz import conv_walkthrough
    >>> walk = conv_walkthrough([[1, 2, 0], [0, 1, 3], [2, 0, 1]], [[1, 0], [0, 1]])
    >>> sum(1 for _ in iter_conv_frames(walk, dpi=20))      # one per step
    4
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from .cells import draw_matrix, matrix_colours

    order = frame_steps(walk.n_steps) if steps is None else np.asarray(steps, int)
    kh, kw = walk.kernel.shape
    fmap = walk.feature_map
    fig = Figure(figsize=(9, 3.4), dpi=dpi)
    ax_img, ax_ker, ax_map = fig.subplots(1, 3)
    draw_matrix(ax_img, walk.image, "image")
    window = Rectangle((-0.5, -0.5), kw, kh, fill=False, edgecolor="tab:orange", linewidth=3)
    ax_img.add_patch(window)
    draw_matrix(ax_ker, walk.kernel, "kernel")
    style = matrix_colours(fmap)                        # the finished map's scale from the first frame
    texts = draw_matrix(ax_map, fmap, "feature map", style=style)
    ax_map.set_facecolor("#c9d7e8")                    # cells not computed yet: pale blue
    shown = ax_map.images[0]
    cell = Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor="tab:orange", linewidth=3)
    ax_map.add_patch(cell)
    title = fig.suptitle("")
    flat_partial = np.full(fmap.size, np.nan)
    for k in order:
        step = walk.step(int(k))
        flat_partial[:] = np.nan
        flat_partial[:k + 1] = fmap.reshape(-1)[:k + 1]
        shown.set_data(flat_partial.reshape(fmap.shape))
        for n, t in enumerate(texts):
            t.set_visible(n <= k)
        window.set_xy((step.origin[1] - 0.5, step.origin[0] - 0.5))
        cell.set_xy((step.index[1] - 0.5, step.index[0] - 0.5))
        title.set_text(f"step {k + 1}/{walk.n_steps}: sum of window * kernel = "
                       f"{step.total:.4g} -> map[{step.index[0]}, {step.index[1]}]")
        yield figure_to_array(fig)


def tile_frames(frames: Sequence[np.ndarray], *, columns: int | None = None,
                gap: int = 4) -> np.ndarray:
    """Arrange equal-sized RGB frames in a grid (row-major) on a white background.

    Parameters
    ----------
    frames : sequence of ndarray of shape (H, W, 3), uint8
        At least one, all of one size.
    columns : int, optional
        Frames per row; default ``ceil(sqrt(len(frames)))``, but no more than
        fit in `READ_WIDTH` pixels (at least one): a grid is read at the width
        of a page, not shrunk to it.
    gap : int, optional
        White pixels between frames.

    Returns
    -------
    grid : ndarray of shape (rows * (H + gap) - gap, columns * (W + gap) - gap, 3), uint8

    Raises
    ------
    ValueError
        No frames.

    Examples
    --------
    >>> import numpy as np
    >>> tile_frames([np.zeros((2, 3, 3), np.uint8)] * 3, columns=2, gap=1).shape
    (5, 7, 3)
    """
    n = len(frames)
    if n == 0:
        raise ValueError("no frames to tile")
    h, w = frames[0].shape[:2]
    cols = columns or max(1, min(int(np.ceil(np.sqrt(n))), (READ_WIDTH + gap) // (w + gap)))
    rows = int(np.ceil(n / cols))
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap, 3), 255, np.uint8)
    for k, frame in enumerate(frames):
        r, c = divmod(k, cols)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = frame
    return out


def _check_suffix(path: str | os.PathLike, suffix: str) -> None:
    """ValueError unless `path` ends in `suffix` (case-insensitive)."""
    if not str(path).lower().endswith(suffix):
        raise ValueError(f"output {str(path)!r} must end in {suffix}")


def write_gif(path: str | os.PathLike, frames: Iterable[np.ndarray], *,
              duration_ms: int = 400, overwrite: bool = False) -> int:
    """Write RGB frames as a looping GIF animation, atomically; return the frame count.

    `frames` may be a generator (`iter_conv_frames`): each frame is reduced to
    a 256-colour palette image as it arrives, a third of its RGB size.

    Parameters
    ----------
    path : str or path-like
        Output file ending in .gif.
    frames : iterable of ndarray of shape (H, W, 3), uint8
        The frames, of one size.
    duration_ms : int, optional
        How long each frame is shown.
    overwrite : bool, optional
        Replace an existing file.

    Returns
    -------
    count : int
        Frames written.

    Examples
    --------
    >>> from convkit.viz import conv_walkthrough
    >>> walk = conv_walkthrough([[1, 2, 0], [0, 1, 3], [2, 0, 1]], [[1, 0], [0, 1]])
    >>> from convkit.viz import iter_conv_frames
    >>> import tempfile
    >>> write_gif(f"{tempfile.mkdtemp()}/conv.gif", iter_conv_frames(walk, dpi=20))
    4

    Raises ValueError for a path not ending in .gif, a missing folder, no
    frames; FileExistsError for an existing file unless `overwrite`.
    """
    from PIL import Image

    _check_suffix(path, ".gif")
    check_output_path(path, overwrite=overwrite)       # before any frame is drawn
    images = [Image.fromarray(np.asarray(f, np.uint8)).convert("P", palette=Image.Palette.ADAPTIVE)
              for f in frames]
    if not images:
        raise ValueError("no frames to write")
    with atomic_file(path, overwrite=overwrite) as fh:
        images[0].save(fh, format="GIF", save_all=True, append_images=images[1:],
                       duration=int(duration_ms), loop=0)
    return len(images)


def write_png_grid(path: str | os.PathLike, frames: Sequence[np.ndarray], *,
                   columns: int | None = None, overwrite: bool = False) -> None:
    """Write RGB frames tiled into one PNG, atomically (see `tile_frames`).

    Parameters
    ----------
    path : str or path-like
        Output file ending in .png.
    frames : sequence of ndarray of shape (H, W, 3), uint8
        The frames, of one size.
    columns : int, optional
        Frames per row (default: about square).
    overwrite : bool, optional
        Replace an existing file.

    Raises
    ------
    ValueError
        A path not ending in .png, a missing folder, no frames.
    OutputExistsError
        `path` exists and `overwrite` is False.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from convkit import read_image_raw
    >>> path = f"{tempfile.mkdtemp()}/grid.png"
    >>> write_png_grid(path, [np.zeros((2, 3, 3), np.uint8)] * 4)
    >>> read_image_raw(path).shape
    (8, 10, 3)
    """
    from convkit.io.images import write_image

    _check_suffix(path, ".png")
    write_image(path, tile_frames(frames, columns=columns), overwrite=overwrite)


def write_figure(path: str | os.PathLike, fig, *, overwrite: bool = False) -> None:
    """Save a matplotlib Figure as PNG, atomically.

    Parameters
    ----------
    path : str or path-like
        Output file ending in .png.
    fig : matplotlib.figure.Figure
    overwrite : bool, optional
        Replace an existing file.

    Raises
    ------
    ValueError
        A path not ending in .png or a missing folder.
    OutputExistsError
        `path` exists and `overwrite` is False.

    Examples
    --------
    >>> import tempfile
    >>> from matplotlib.figure import Figure
    >>> from convkit import read_image_raw
    >>> path = f"{tempfile.mkdtemp()}/empty.png"
    >>> write_figure(path, Figure(figsize=(1, 0.5), dpi=20))
    >>> read_image_raw(path).shape[:2]
    (10, 20)
    """
    from convkit.io.images import write_image

    _check_suffix(path, ".png")
    write_image(path, figure_to_array(fig), overwrite=overwrite)
