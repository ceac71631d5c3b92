"""``convkit explain conv|relu|pool|flatten|softmax|continuous`` and ``convkit show``.

Each subcommand prints one concept of the tutorial, computed by the library,
as aligned grids, and writes a GIF or a PNG grid of its frames on request
(``--gif``/``--png``, the same options on every step). Only click and the standard library are imported here;
numpy and convkit load inside the commands so ``convkit --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence, cast

import click

from convkit._names import IMAGE_SUFFIXES, KERNEL_FILE_SUFFIXES, POOL_OPS, PoolOp

from convkit.boundary import BOUNDARIES, describe_modes, normalize_boundary

from ._common import CLIError, library_errors

if TYPE_CHECKING:
    import numpy as np

__all__ = ["explain", "show"]

_FRAME_LIMIT = 500   # ~25 s of drawing; more would be minutes for a picture nobody watches

_EXPLAIN_EPILOG = """\b
Examples:
  convkit explain conv                      (the tutorial's 7x7 image, 3x3 detector)
  convkit explain conv --stride 2 --gif conv.gif
  convkit explain conv --padding 1 --boundary reflect
  convkit explain conv samples/digit_7.png --kernel edge --png steps.png
  convkit explain conv1d 0,1,3,1,0,2 --kernel 1,-1   (a signal: the same window and sum)
  convkit explain relu "1,-2;-3,4"
  convkit explain pool --op mean
  convkit explain softmax 2,1,0.1 --label 0
  convkit explain continuous --pair exp --gif exp.gif
"""


def _seed(name: str):
    """The tutorial's seed_<name>.csv, shipped in convkit.data."""
    from convkit import data

    return data.load(f"seed_{name}.csv")


def _read_matrix(spec: str, *, what: str, gray: bool = False, min_size: tuple[int, int] | None = None,
                 max_side: int | None = None):
    """A 2-D array from a .csv/.txt/.npy file, an image file, or an inline '1,2;3,4' matrix;
    an image file larger than `max_side` is refused from its header, one that is resized to
    about `min_size` afterwards is decoded reduced."""
    import numpy as np

    from convkit.io.atomic import regular_input

    path = Path(spec)
    is_image = False
    if path.exists():
        regular_input(path, what, "a .csv/.txt/.npy or image file, or an inline matrix like '1,0;0,1'")
        suffix = path.suffix.lower()
        if suffix == ".npy":
            a = np.load(path, allow_pickle=False)
        elif suffix in (".csv", ".txt"):
            text = path.read_text(encoding="utf-8", errors="replace")
            a = np.loadtxt(path, delimiter="," if "," in text else None, comments="#", ndmin=2)
        else:
            from convkit.io.images import image_size, read_image

            if max_side is not None and max(image_size(path)) > max_side:
                h, w = image_size(path)
                raise CLIError(f"{what} {spec} is {h}x{w} pixels; at most {max_side}x{max_side} "
                               "(crop or shrink it)")
            a, is_image = read_image(path, gray=gray, min_size=min_size), True
    elif any(ch.isdigit() for ch in spec) and path.suffix.lower() not in (
            KERNEL_FILE_SUFFIXES + IMAGE_SUFFIXES):
        from convkit.kernels import parse_matrix
        a = parse_matrix(spec, f"{what} matrix")
    else:
        raise CLIError(f"file not found: {spec}")
    if a.ndim != 2:
        hint = " (a colour image: pass --gray)" if is_image and a.ndim == 3 else ""
        raise CLIError(f"{what} must be 2-D, got shape {a.shape}{hint}")
    return a


def _check_out(path: str | None, suffix: str, force: bool, inputs: tuple = ()) -> None:
    """Fail early (before any work) on a bad output path."""
    if path is None:
        return
    from convkit.io.atomic import check_output_path

    if not path.lower().endswith(suffix):
        raise CLIError(f"output {path!r} must end in {suffix}")
    try:
        check_output_path(path, overwrite=force, inputs=inputs)
    except FileExistsError:
        raise CLIError(f"output {path!r} exists; pass --force to replace it") from None


def _pick_frames(n_steps: int, max_frames: int, what: str, hint: str):
    """The step indices to draw; says on stderr when they are subsampled."""
    from convkit.viz.frames import frame_steps

    steps = frame_steps(n_steps, max_frames)
    if len(steps) < n_steps:
        click.echo(f"note: {n_steps} steps is too many frames for the {what}; drawing "
                   f"{len(steps)} evenly spaced ones ({hint})", err=True)
    return steps


def _frames(n: int) -> str:
    """'1 frame', '9 frames'."""
    return f"{n} frame" + ("" if n == 1 else "s")


def _write_frames(gif: str | None, png: str | None, n_steps: int, max_frames: int,
                  render, force: bool) -> None:
    """Render and write the GIF and/or PNG grid, each with its own frame cap.

    A step both files show is drawn once.
    """
    from convkit.viz.frames import MAX_GRID_FRAMES, write_gif, write_png_grid

    if not gif and not png:
        click.echo("\n(add --gif OUT.gif for an animation, --png OUT.png for a grid of frames)")
        return
    gif_steps: Sequence[int] = ()
    png_steps: Sequence[int] = ()
    if gif:
        gif_steps = _pick_frames(n_steps, max_frames, "GIF", "--max-frames sets the cap")
    if png:
        png_steps = _pick_frames(n_steps, min(max_frames, MAX_GRID_FRAMES), "PNG grid",
                                 "--max-frames sets the cap" if max_frames < MAX_GRID_FRAMES
                                 else f"a grid holds at most {MAX_GRID_FRAMES}")
    png_set = {int(k) for k in png_steps}
    kept: dict = {}                      # frames the PNG grid needs, drawn once
    if gif:
        gif_set = {int(k) for k in gif_steps}
        needed = sorted(gif_set | png_set)

        def gif_frames():
            for k, frame in zip(needed, render(needed)):
                if k in png_set:
                    kept[k] = frame
                if k in gif_set:
                    yield frame

        write_gif(gif, gif_frames(), overwrite=force)
        click.echo(f"wrote {gif} ({_frames(len(gif_steps))})")
    if png:
        missing = sorted(png_set - set(kept))
        if missing:
            kept.update(zip(missing, render(missing)))
        write_png_grid(png, [kept[k] for k in sorted(png_set)], overwrite=force)
        click.echo(f"wrote {png} ({_frames(len(png_steps))} in a grid)")


def _stacked(options: list) -> Callable[[Callable], Callable]:
    """One decorator applying click `options` so that --help lists them in the order given."""
    def apply(func: Callable) -> Callable:
        for option in reversed(options):
            func = option(func)
        return func
    return apply


_frame_options = _stacked([
    click.option("--gif", type=click.Path(dir_okay=False), default=None,
                 help="Write an animation to this .gif file."),
    click.option("--png", type=click.Path(dir_okay=False), default=None,
                 help="Write a grid of the frames to this .png file."),
    click.option("--max-frames", type=click.IntRange(2, _FRAME_LIMIT), default=200,
                 show_default=True,
                 help=f"More steps than this are subsampled evenly (at most {_FRAME_LIMIT}; "
                      "a PNG grid: at most 36)."),
    click.option("-f", "--force", is_flag=True, help="Overwrite existing output files."),
])


def _window_options(*, cells: str, padding: str) -> Callable[[Callable], Callable]:
    """--stride, --padding, --boundary and --steps of `explain conv` and `explain conv1d`:
    `cells` names what the map's size counts, `padding` says where the padding goes."""
    return _stacked([
        click.option("--stride", type=click.IntRange(min=1), default=1, show_default=True,
                     help=f"Step of the window; the map has (n + 2*padding - k) // stride + 1 {cells}."),
        click.option("--padding", type=click.IntRange(0, 16), default=0, show_default=True,
                     help=padding),
        click.option("--boundary", default="constant", show_default=True, metavar="MODE",
                     help=f"What the padding holds: {describe_modes()}."),
        click.option("--steps", "full_steps", type=click.IntRange(min=0), default=3, show_default=True,
                     help="How many steps to print in full before the finished map."),
    ])


class _TutorialOrder(click.Group):
    """Lists the steps in the tutorial's order, each with its whole first sentence."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, cmd.get_short_help_str(limit=200)) for name, cmd in self.commands.items()]
        with formatter.section("Steps, in the tutorial's order"):
            formatter.write_dl(rows)


@click.group("explain", cls=_TutorialOrder, epilog=_EXPLAIN_EPILOG)
def explain() -> None:
    """Show, step by step, how each CNN concept computes (the tutorial's walkthrough)."""


@explain.command("continuous")
@click.option("--pair", type=click.Choice(["rect", "gaussian", "exp"]), default="rect",
              show_default=True, help="rect*rect, gaussian*gaussian or exp(-t)u(t)*u(t).")
@click.option("--frames", "n_frames", type=click.IntRange(min=2), default=40, show_default=True,
              help="Number of times t shown.")
@_frame_options
@library_errors
def continuous(pair: str, n_frames: int, gif: str | None, png: str | None, max_frames: int,
               force: bool) -> None:
    """The integral picture: f(tau), g(t - tau) sliding, the product's area = (f*g)(t)."""
    from convkit.viz.continuous import continuous_walkthrough, iter_continuous_frames

    _check_out(gif, ".gif", force)
    _check_out(png, ".png", force)
    if n_frames > max_frames:
        click.echo(f"note: {n_frames} frames is more than --max-frames {max_frames}; "
                   f"using {max_frames}", err=True)
        n_frames = max_frames
    walk = continuous_walkthrough(pair, n_frames=n_frames)
    click.echo(f"{walk.label}\n(f*g)(t) = integral of f(tau) g(t - tau) dtau\n")
    click.echo(f"{'t':>8}  {'(f*g)(t)':>10}")
    for k in range(0, len(walk.t), max(1, len(walk.t) // 10)):
        click.echo(f"{walk.t[k]:>8.3f}  {walk.result[k]:>10.5f}")
    _write_frames(gif, png, len(walk.t), max_frames,
                  lambda steps: iter_continuous_frames(walk, steps=steps), force)


@explain.command("conv")
@click.argument("image", required=False)
@click.option("-k", "--kernel", "kernel_spec", default=None, metavar="SPEC",
              help="Kernel name, inline matrix or file (default: the tutorial's 3x3 detector).")
@_window_options(cells="cells per side", padding="Cells added around the image first, as in the explorer.")
@click.option("--gray", is_flag=True, help="Convert a colour image to gray first.")
@_frame_options
@library_errors
def conv(image: str | None, kernel_spec: str | None, stride: int, padding: int, boundary: str,
         full_steps: int, gray: bool, gif: str | None, png: str | None, max_frames: int,
         force: bool) -> None:
    """Lay a kernel over each window of IMAGE and sum the products into a feature map.

    IMAGE is a small matrix (.csv/.txt/.npy, or inline '0,1;1,0') or image
    file; default: the tutorial's 7x7 binary image (seed_image.csv of
    `convkit samples`).
    """
    from convkit import get_kernel, pad
    from convkit.viz import conv_walkthrough, format_conv_walkthrough, iter_conv_frames

    mode = normalize_boundary(boundary)
    _check_out(gif, ".gif", force)
    _check_out(png, ".png", force)
    from convkit.viz.walkthrough import MAX_SIDE

    img = _seed("image") if image is None else _read_matrix(image, what="image", gray=gray,
                                                            max_side=MAX_SIDE)
    if padding:
        img = pad(img, padding, mode)
        picture = next(m.picture for m in BOUNDARIES if m.name == mode)
        click.echo(f"the image padded by {padding} cells ({mode} extends a b c d as {picture})\n")
    ker = _seed("detector") if kernel_spec is None else get_kernel(kernel_spec)
    walk = conv_walkthrough(img, ker, stride=stride)
    click.echo(format_conv_walkthrough(walk, full_steps=full_steps))
    _write_frames(gif, png, walk.n_steps, max_frames,
                  lambda steps: iter_conv_frames(walk, steps=steps), force)


# the default signal of `explain conv1d`: a bump that rises and falls, and a detector of rises
_SIGNAL = "0,0,1,3,4,3,1,0,0,2,2,0"
_RISE = "-1,0,1"


def _read_signal_arg(spec: str) -> "np.ndarray":
    """A 1-D signal from a .csv/.txt/.npy/.wav file (mono) or inline numbers '0,1,2'."""
    import numpy as np

    from convkit._names import SIGNAL_SUFFIXES
    if Path(spec).suffix.lower() in SIGNAL_SUFFIXES or Path(spec).exists():
        from convkit.io.signals import read_signal
        samples = read_signal(spec).samples
        if samples.ndim != 1:
            raise CLIError(f"{spec}: {samples.shape[1]} channels; explain conv1d takes a mono signal")
        return samples
    try:
        return np.array([float(v) for v in spec.replace(";", ",").split(",") if v.strip()])
    except ValueError:
        raise CLIError(f"a signal must be a .csv/.txt/.npy/.wav file or numbers like 0,1,3,1; got {spec!r}") \
            from None


@explain.command("conv1d")
@click.argument("signal", required=False)
@click.option("-k", "--kernel", "kernel_spec", default=None, metavar="NUMBERS|FILE",
              help=f"The detector: numbers like 1,0,-1 or a signal file (default: {_RISE}, a rise detector).")
@_window_options(cells="cells", padding="Samples added at both ends first.")
@_frame_options
@library_errors
def conv1d(signal: str | None, kernel_spec: str | None, stride: int, padding: int, boundary: str,
           full_steps: int, gif: str | None, png: str | None, max_frames: int, force: bool) -> None:
    """Slide a detector along a SIGNAL and sum the products into a feature map, as Conv1D does.

    SIGNAL is a .csv/.txt/.npy/.wav file (one channel) or inline numbers like
    0,1,3,1; default: a short bump. A signal is drawn as an image of one row:
    the same window, products and sum as `explain conv`.
    """
    from convkit import pad
    from convkit.viz import conv_walkthrough, format_conv_walkthrough, iter_conv_frames
    from convkit.viz.walkthrough import MAX_SIDE

    mode = normalize_boundary(boundary)
    _check_out(gif, ".gif", force)
    _check_out(png, ".png", force)
    x = _read_signal_arg(_SIGNAL if signal is None else signal)
    k = _read_signal_arg(_RISE if kernel_spec is None else kernel_spec)
    if x.size > MAX_SIDE or k.size > x.size + 2 * padding:
        raise CLIError(f"the signal must have at most {MAX_SIDE} samples and the detector fit in it (with "
                       f"the padding); got {x.size} and {k.size}")
    if padding:
        x = pad(x, padding, mode)
        picture = next(m.picture for m in BOUNDARIES if m.name == mode)
        click.echo(f"the signal padded by {padding} samples ({mode} extends a b c d as {picture})\n")
    walk = conv_walkthrough(x[None], k[None], stride=(1, stride))
    click.echo(f"a signal of {x.size} samples and a detector of {k.size}, each drawn as one row:\n")
    click.echo(format_conv_walkthrough(walk, full_steps=full_steps))
    _write_frames(gif, png, walk.n_steps, max_frames,
                  lambda steps: iter_conv_frames(walk, steps=steps), force)


def _default_map(kind: str):
    """relu: the tutorial's image under a +1/-1 detector; pool/flatten: its feature map."""
    from convkit.viz import conv_walkthrough

    detector = _seed("detector")
    if kind == "relu":
        detector = 2 * detector - 1
    return conv_walkthrough(_seed("image"), detector).feature_map


@explain.command("relu")
@click.argument("matrix", required=False)
@_frame_options
@library_errors
def relu(matrix: str | None, gif: str | None, png: str | None, max_frames: int, force: bool) -> None:
    """ReLU on a feature map: negative cells become 0.

    MATRIX: .csv/.txt/.npy file or inline '1,-2;-3,4'. Default: the tutorial
    image under its detector written with -1 where it expects background.
    """
    from convkit.viz import format_relu, iter_relu_frames

    _check_out(gif, ".gif", force)
    _check_out(png, ".png", force)
    x = _default_map("relu") if matrix is None else _read_matrix(matrix, what="map")
    text = format_relu(x)
    if matrix is None:
        click.echo("input: the tutorial's image (seed_image.csv) correlated with 2*detector - 1\n")
    click.echo(text)
    _write_frames(gif, png, x.size, max_frames, lambda steps: iter_relu_frames(x, steps=steps), force)


@explain.command("pool")
@click.argument("matrix", required=False)
@click.option("--op", type=click.Choice(POOL_OPS), default="max",
              show_default=True, help="What each window keeps.")
@click.option("--size", type=click.IntRange(min=1), default=2, show_default=True,
              help="Window side.")
@click.option("--stride", type=click.IntRange(min=1), default=None,
              help="Window step [default: size].")
@_frame_options
@library_errors
def pool(matrix: str | None, op: str, size: int, stride: int | None, gif: str | None, png: str | None,
         max_frames: int, force: bool) -> None:
    """Max/min/sum/mean pooling, marking the cell that wins each window.

    MATRIX: .csv/.txt/.npy file or inline matrix; default: the tutorial's
    5x5 feature map.
    """
    from convkit.viz import format_pool, iter_pool_frames, pool_walkthrough

    _check_out(gif, ".gif", force)
    _check_out(png, ".png", force)
    x = _default_map("pool") if matrix is None else _read_matrix(matrix, what="map")
    walk = pool_walkthrough(x, size, stride=stride, op=cast(PoolOp, op))
    if matrix is None:
        click.echo("input: the feature map of the tutorial's image and detector "
                   "(seed_image.csv, seed_detector.csv)\n")
    click.echo(format_pool(walk))
    _write_frames(gif, png, walk.output.size, max_frames,
                  lambda steps: iter_pool_frames(walk, steps=steps), force)


@explain.command("flatten")
@click.argument("matrix", required=False)
@_frame_options
@library_errors
def flatten(matrix: str | None, gif: str | None, png: str | None, max_frames: int, force: bool) -> None:
    """Flatten a (pooled) map into one column, row after row.

    MATRIX: .csv/.txt/.npy file or inline matrix; default: the tutorial's
    feature map after 2x2 max pooling.
    """
    from convkit.viz import format_flatten, iter_flatten_frames, pool_walkthrough

    _check_out(gif, ".gif", force)
    _check_out(png, ".png", force)
    if matrix is None:
        x = pool_walkthrough(_default_map("flatten"), 2).output
        click.echo("input: the tutorial's feature map after 2x2 max pooling\n")
    else:
        x = _read_matrix(matrix, what="map")
    click.echo(format_flatten(x))
    _write_frames(gif, png, x.size, max_frames, lambda steps: iter_flatten_frames(x, steps=steps), force)


@explain.command("softmax")
@click.argument("scores", required=False, default="2,1,0.1")
@click.option("--label", type=click.IntRange(min=0), default=0, show_default=True,
              help="The true class, for the cross-entropy.")
@_frame_options
@library_errors
def softmax(scores: str, label: int, gif: str | None, png: str | None, max_frames: int,
            force: bool) -> None:
    """Softmax turning class SCORES into probabilities, and the loss of --label.

    SCORES: numbers separated by commas, like 2,1,0.1 (the default).
    """
    import numpy as np

    from convkit.viz import SOFTMAX_STAGES, format_softmax, iter_softmax_frames, softmax_walkthrough

    _check_out(gif, ".gif", force)
    _check_out(png, ".png", force)
    try:
        values = np.array([float(v) for v in scores.replace(";", ",").split(",") if v.strip()])
    except ValueError:
        raise CLIError(f"scores must be numbers separated by commas, like 2,1,0.1; got {scores!r}") \
            from None
    walk = softmax_walkthrough(values, label)
    click.echo(format_softmax(walk))
    _write_frames(gif, png, SOFTMAX_STAGES, max_frames,
                  lambda steps: iter_softmax_frames(walk, steps=steps), force)


@click.command("show")
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.argument("image", required=False)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Output .png [default: beside MODEL, <MODEL stem>_filters.png or "
                   "<MODEL stem>_<IMAGE stem>_maps.png].")
@click.option("--invert", is_flag=True,
              help="Use 1 - image (dark drawing on light paper for a light-on-dark model).")
@click.option("-f", "--force", is_flag=True, help="Overwrite an existing output file.")
@library_errors
def show(model_path: str, image: str | None, output: str | None, invert: bool,
         force: bool) -> None:
    """Draw MODEL's first-layer filters and, for IMAGE, every conv/pool feature map (one PNG).

    For a signal model IMAGE is a signal file (.wav, .csv, .txt, .npy) and filters and maps are
    drawn as curves."""
    from convkit.cnn import Sequential
    from convkit.viz.frames import write_figure
    from convkit.viz.model import model_figure, prepare_input

    model_file = Path(model_path)
    if output is None:
        # beside the model: every run's model is model.npz, so a name in the current folder collides
        stem = model_file.stem + (f"_{Path(image).stem}_maps" if image else "_filters")
        output = str(model_file.with_name(stem + ".png"))
    inputs = (model_path,) + ((image,) if image else ())
    _check_out(output, ".png", force, inputs)
    model = Sequential.load(model_path)
    if model.input_shape is not None and len(model.input_shape) == 2:      # a signal model: curves
        import numpy as np

        from convkit.cnn.datasets import fit_length
        from convkit.io.signals import read_signal
        from convkit.viz.signals import signal_model_figure
        signal = None
        if image is not None:
            samples = read_signal(image).samples
            samples = samples.T if samples.ndim == 2 else samples[None]
            if samples.shape[0] != model.input_shape[0]:
                raise CLIError(f"{image}: {samples.shape[0]} channel(s), model {model_path} takes "
                               f"{model.input_shape[0]}")
            signal = fit_length(samples, model.input_shape[1])[None].astype(np.float32)
        write_figure(output, signal_model_figure(model, signal), overwrite=force)
        click.echo(f"wrote {output}")
        return
    x = None
    if image is not None:
        channels = model.input_shape[0] if model.input_shape else 1
        # the model's (H, W): a huge image file is shrunk while it is decoded
        from convkit.io.images import REDUCE_MARGIN

        fits = None
        if model.input_shape and len(model.input_shape) == 3:
            fits = (REDUCE_MARGIN * model.input_shape[1], REDUCE_MARGIN * model.input_shape[2])
        if channels == 1:
            pixels = _read_matrix(image, what="image", gray=True, min_size=fits)
        else:
            from convkit import read_image
            pixels = read_image(image, min_size=fits)
        x = prepare_input(model, pixels, invert=invert)
        size = pixels.shape[:2]
        if Path(image).suffix.lower() in IMAGE_SUFFIXES:
            from convkit.io.images import image_size
            size = image_size(image)
    title = "input"
    if x is not None and tuple(size) != tuple(x.shape[2:]):
        (h, w), (mh, mw) = size, x.shape[2:]
        title = f"input: the {w}x{h} image resized to the model's {mw}x{mh}"
        click.echo(f"note: {image} is {w}x{h} pixels; it is resized to the model's {mw}x{mh} input, "
                   "so the maps show that small version", err=True)
    write_figure(output, model_figure(model, x, input_title=title), overwrite=force)
    click.echo(f"wrote {output}")
