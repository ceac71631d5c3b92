"""convkit.viz: the numbers every walkthrough shows, checked against independent
references (scipy.signal.correlate2d, skimage block_reduce, scipy.special, naive
loops, closed forms), and the frames/files it writes (GIFs walked by a parser
written from the GIF89a spec and decoded by scikit-image; PNGs read by
convkit's reader; see tests/helpers/viz_files.py). Figures are drawn on Agg only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st
from helpers.viz_files import gif_info, gif_pixels, png_pixels
from skimage.measure import block_reduce

from convkit.viz import (conv_frames, conv_walkthrough, flatten_walkthrough, format_conv_walkthrough,
                         format_flatten, format_grid, format_pool, format_relu, format_softmax,
                         frame_steps, pool_walkthrough, relu_walkthrough, side_by_side,
                         softmax_walkthrough, tile_frames, write_gif, write_png_grid)
from convkit.viz.walkthrough import MAX_SIDE, SEED_ARRAYS
from helpers.hostile import number_ends

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _csv(name: str) -> np.ndarray:
    return np.loadtxt(SAMPLES / name, delimiter=",", comments="#", ndmin=2)


def _naive_valid(image: np.ndarray, kernel: np.ndarray, stride: tuple[int, int]) -> np.ndarray:
    """Obviously-right loop: kernel laid over each window as written."""
    kh, kw = kernel.shape
    rows = range(0, image.shape[0] - kh + 1, stride[0])
    cols = range(0, image.shape[1] - kw + 1, stride[1])
    return np.array([[sum(image[r + m, c + n] * kernel[m, n] for m in range(kh) for n in range(kw))
                      for c in cols] for r in rows], dtype=float)


# -- convolution walkthrough ------------------------------------------------------------

def test_seed_arrays_equal_sample_files():
    np.testing.assert_array_equal(SEED_ARRAYS["image"], _csv("seed_image.csv"))
    np.testing.assert_array_equal(SEED_ARRAYS["detector"], _csv("seed_detector.csv"))


def test_seed_walkthrough_gives_seed_feature_map():
    walk = conv_walkthrough(_csv("seed_image.csv"), _csv("seed_detector.csv"))
    np.testing.assert_array_equal(walk.feature_map, _csv("seed_feature_map.csv"))
    # the tutorial narrates: the first cell is 0, the second 1
    assert walk.step(0).total == 0 and walk.step(1).total == 1
    np.testing.assert_array_equal(walk.step(1).window, [[0, 0, 0], [1, 0, 0], [0, 0, 0]])


def test_every_step_sum_is_its_feature_map_cell():
    image, kernel = _csv("seed_image.csv"), _csv("seed_detector.csv")
    walk = conv_walkthrough(image, kernel)
    reference = scipy.signal.correlate2d(image, kernel, mode="valid")
    assert walk.n_steps == reference.size
    for step in walk.steps():
        r, c = step.origin
        np.testing.assert_array_equal(step.window, image[r:r + 3, c:c + 3])
        np.testing.assert_array_equal(step.products, image[r:r + 3, c:c + 3] * kernel)
        assert step.total == walk.feature_map[step.index] == reference[step.index]


@pytest.mark.parametrize("stride, shape", [(1, (5, 5)), (2, (3, 3)), (3, (2, 2)), ((1, 2), (5, 3))])
def test_stride_changes_map_size(stride, shape):
    image, kernel = _csv("seed_image.csv"), _csv("seed_detector.csv")
    walk = conv_walkthrough(image, kernel, stride=stride)
    assert walk.feature_map.shape == shape
    s = (stride, stride) if isinstance(stride, int) else stride
    full = scipy.signal.correlate2d(image, kernel, mode="valid")
    np.testing.assert_allclose(walk.feature_map, full[::s[0], ::s[1]])


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), kh=st.integers(1, 4), kw=st.integers(1, 4),
       sr=st.integers(1, 3), sc=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_walkthrough_matches_naive_loop(h, w, kh, kw, sr, sc, seed):
    if kh > h or kw > w:
        return
    rng = np.random.default_rng(seed)
    image, kernel = rng.normal(size=(h, w)), rng.normal(size=(kh, kw))
    walk = conv_walkthrough(image, kernel, stride=(sr, sc))
    naive = _naive_valid(image, kernel, (sr, sc))
    np.testing.assert_allclose(walk.feature_map, naive, atol=1e-12)
    for step in walk.steps():
        assert step.total == pytest.approx(naive[step.index], abs=1e-12)


@pytest.mark.parametrize("image, kernel, stride, match", [
    (np.ones((2, 2)), np.ones((3, 3)), 1, "kernel 3x3 is larger than image 2x2"),
    (np.ones((4, 4, 3)), np.ones((3, 3)), 1, r"image must be 2-D, got shape \(4, 4, 3\)"),
    (np.ones(5), np.ones((3, 3)), 1, "image must be 2-D"),
    (np.ones((5, 5)), np.ones(3), 1, "kernel must be 2-D"),
    (np.ones((MAX_SIDE + 1, 4)), np.ones((3, 3)), 1, "at most 64x64"),
    (np.full((4, 4), np.nan), np.ones((3, 3)), 1, "NaN or inf"),
    (np.ones((4, 4)), np.ones((3, 3)), 0, "stride must be a positive int"),
    (np.ones((4, 4)), np.ones((3, 3)), (1, 2, 3), "stride must be a positive int"),
])
def test_walkthrough_bad_input(image, kernel, stride, match):
    with pytest.raises(ValueError, match=match):
        conv_walkthrough(image, kernel, stride=stride)


def test_walkthrough_rejects_strings():
    with pytest.raises(TypeError, match="real numbers"):
        conv_walkthrough(np.array([["a"]]), np.ones((1, 1)))


def test_step_index_out_of_range():
    with pytest.raises(IndexError, match=r"step must be in \[0, 25\)"):
        conv_walkthrough(SEED_ARRAYS["image"], SEED_ARRAYS["detector"]).step(25)


def test_text_shows_sums_and_map():
    walk = conv_walkthrough(SEED_ARRAYS["image"], SEED_ARRAYS["detector"])
    text = format_conv_walkthrough(walk, full_steps=2)
    assert "step 1/25" in text and "step 2/25" in text and "step 3/25" not in text
    assert "sum = 0 + 0 + 0 + 0 + 0 + 0 + 0 + 0 + 0 = 0" in text
    assert "sum = 0 + 0 + 0 + 1 + 0 + 0 + 0 + 0 + 0 = 1" in text
    assert "23 more steps" in text
    tail = text.split("feature map\n")[-1].splitlines()
    shown = np.array([[float(v) for v in line.split()] for line in tail])
    np.testing.assert_array_equal(shown, _csv("seed_feature_map.csv"))


def test_text_summarises_long_sums():
    walk = conv_walkthrough(np.ones((6, 6)), np.ones((5, 5)))
    assert "(the 25 products added up) = 25" in format_conv_walkthrough(walk, full_steps=1)


def test_format_grid_aligns_and_marks():
    lines = format_grid([[1, -10], [0.5, 2]], mark=[[False, True], [False, False]], title="t")
    # the numbers of a column end in the same place, bracketed or not (issue 16, cause 16)
    assert lines == ["t            ", "    1  [ -10]", " 0.50      2 "]
    assert side_by_side([["a", "bb"], ["c"]]) == ["a     c", "bb"]


# -- ReLU, pooling, flatten, softmax -----------------------------------------------------

def test_relu_is_max_zero():
    x = np.random.default_rng(1).normal(size=(5, 6))
    np.testing.assert_array_equal(relu_walkthrough(x), np.maximum(x, 0))
    text = format_relu(np.array([[-1.0, 2.0], [3.0, -4.0]]))
    assert "[-1]" in text and "[-4]" in text and "2 of 4 cells set to 0" in text


@pytest.mark.parametrize("op, func", [("max", np.max), ("min", np.min), ("sum", np.sum),
                                      ("mean", np.mean)])
def test_pool_output_matches_block_reduce(op, func):
    x = np.random.default_rng(2).integers(-9, 9, size=(6, 8)).astype(float)
    walk = pool_walkthrough(x, 2, op=op)
    np.testing.assert_allclose(walk.output, block_reduce(x, (2, 2), func))


@pytest.mark.parametrize("op", ["max", "min"])
def test_pool_winners_are_first_best_cells(op):
    x = np.random.default_rng(3).integers(0, 4, size=(6, 6)).astype(float)   # many ties
    walk = pool_walkthrough(x, 2, op=op)
    pick = np.argmax if op == "max" else np.argmin
    for i in range(3):
        for j in range(3):
            window = x[2 * i:2 * i + 2, 2 * j:2 * j + 2]
            m, n = divmod(int(pick(window)), 2)
            assert walk.winners[i, j] == (2 * i + m) * 6 + (2 * j + n)
            assert x.flat[walk.winners[i, j]] == walk.output[i, j]
    assert walk.winner_mask.sum() == 9


def test_pool_seed_map_and_dropped_edge():
    walk = pool_walkthrough(_csv("seed_feature_map.csv"), 2)
    np.testing.assert_array_equal(walk.output, [[1, 1], [4, 2]])
    assert walk.uncovered == (1, 1)
    text = format_pool(walk)
    assert "[4]" in text and "the last 1 row(s) and 1 column(s)" in text


def test_pool_overlapping_stride():
    x = np.arange(16.0).reshape(4, 4)
    walk = pool_walkthrough(x, 2, stride=1, op="max")
    np.testing.assert_array_equal(walk.output, x[1:, 1:])


@pytest.mark.parametrize("kwargs, match", [({"op": "median"}, "op must be one of max, min, sum, mean"),
                                           ({"size": 5}, "larger than the map"),
                                           ({"size": 0}, "size must be a positive int")])
def test_pool_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pool_walkthrough(np.ones((3, 3)), **kwargs)


def test_flatten_is_row_major_column():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(flatten_walkthrough(x), [[0], [1], [2], [3], [4], [5]])
    assert "x[1,0] = 3" in format_flatten(x)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(-50, 50), min_size=2, max_size=8), st.data())
def test_softmax_matches_scipy(scores, data):
    label = data.draw(st.integers(0, len(scores) - 1))
    walk = softmax_walkthrough(scores, label)
    ref = scipy.special.softmax(np.array(scores))
    np.testing.assert_allclose(walk.probabilities, ref, rtol=1e-10, atol=1e-300)
    assert walk.probabilities.sum() == pytest.approx(1.0)
    assert walk.loss == pytest.approx(-scipy.special.log_softmax(np.array(scores))[label])


def test_softmax_text_and_errors():
    text = format_softmax(softmax_walkthrough([2.0, 1.0, 0.1], 0))
    assert "0.6590  <- label" in text and "= 0.4170" in text
    with pytest.raises(ValueError, match=r"label must be a class index in \[0, 3\)"):
        softmax_walkthrough([1, 2, 3], 3)
    with pytest.raises(ValueError, match="at least 2 numbers"):
        softmax_walkthrough([1.0], 0)


# -- frames and files --------------------------------------------------------------------

def test_frame_steps_subsample_evenly():
    np.testing.assert_array_equal(frame_steps(7, 200), np.arange(7))
    steps = frame_steps(1000, 200)
    assert len(steps) == 200 == len(set(steps)) and steps[0] == 0 and steps[-1] == 999
    assert np.all(np.diff(steps) >= 4)
    with pytest.raises(ValueError, match="max_frames must be at least 2"):
        frame_steps(5, 1)


def test_conv_gif_has_one_frame_per_step(tmp_path):
    walk = conv_walkthrough(np.eye(4), np.ones((2, 2)))
    frames = conv_frames(walk, dpi=40)
    assert len(frames) == walk.n_steps == 9
    assert all(f.dtype == np.uint8 and f.shape == frames[0].shape and f.shape[2] == 3 for f in frames)
    assert not np.array_equal(frames[0], frames[1])       # the window moved
    path = tmp_path / "conv.gif"
    write_gif(path, frames)
    assert gif_info(path) == {"size": frames[0].shape[1::-1], "frames": 9, "loops": True}
    back = gif_pixels(path)
    assert back.shape == (9,) + frames[0].shape
    for k in (0, 4, 8):
        assert np.abs(back[k].astype(int) - frames[k]).mean() < 8    # palette quantisation only


def test_conv_frames_subsampled(tmp_path):
    walk = conv_walkthrough(np.ones((20, 20)), np.ones((2, 2)))   # 361 steps
    steps = frame_steps(walk.n_steps, 4)
    frames = conv_frames(walk, steps=steps, dpi=30)
    assert len(frames) == 4


def test_png_grid_tiles_frames(tmp_path):
    frames = [np.full((10, 12, 3), k * 40, np.uint8) for k in range(5)]
    grid = tile_frames(frames, gap=2)
    assert grid.shape == (2 * 10 + 2, 3 * 12 + 4, 3)
    np.testing.assert_array_equal(grid[12:22, 14:26], frames[4])
    path = tmp_path / "grid.png"
    write_png_grid(path, frames)
    back = png_pixels(path)
    np.testing.assert_array_equal(back, tile_frames(frames))     # PNG is lossless
    assert back.shape == (2 * 10 + 4, 3 * 12 + 8, 3)


def test_writers_refuse_bad_paths(tmp_path):
    frames = [np.zeros((4, 4, 3), np.uint8)] * 2
    with pytest.raises(ValueError, match="does not exist"):
        write_gif(tmp_path / "missing" / "a.gif", frames)
    with pytest.raises(ValueError, match=r"must end in \.gif"):
        write_gif(tmp_path / "a.png", frames)
    (tmp_path / "a.gif").write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        write_gif(tmp_path / "a.gif", frames)
    assert (tmp_path / "a.gif").read_bytes() == b"keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif"]    # no temporary left


# -- continuous convolution --------------------------------------------------------------

CLOSED_FORMS = {
    "rect": lambda t: np.maximum(0.0, 1.0 - np.abs(t)),
    "gaussian": lambda t: np.exp(-t * t / 4) / np.sqrt(4 * np.pi),
    "exp": lambda t: np.where(t >= 0, 1.0 - np.exp(-np.maximum(t, 0)), 0.0),
}


@pytest.mark.parametrize("pair", sorted(CLOSED_FORMS))
def test_continuous_values_match_closed_forms(pair):
    from convkit.viz import continuous_walkthrough

    walk = continuous_walkthrough(pair, n_frames=13)
    assert walk.t.shape == walk.result.shape == (13,)
    np.testing.assert_allclose(walk.result, CLOSED_FORMS[pair](walk.t), atol=1e-6)
    # the shaded area in frame k is the value shown for frame k
    k = 8
    area = np.trapezoid(walk.product(k), walk.tau) if hasattr(np, "trapezoid") else \
        np.trapz(walk.product(k), walk.tau)
    assert area == pytest.approx(walk.result[k], abs=0.02)


def test_continuous_gif_frame_count(tmp_path):
    from convkit.viz import continuous_frames, continuous_walkthrough

    walk = continuous_walkthrough("exp", n_frames=5)
    frames = continuous_frames(walk, dpi=30)
    assert len(frames) == 5
    write_gif(tmp_path / "c.gif", frames)
    assert gif_info(tmp_path / "c.gif")["frames"] == 5


def test_continuous_bad_input():
    from convkit.viz import continuous_walkthrough

    with pytest.raises(ValueError, match="pair must be one of rect, gaussian, exp"):
        continuous_walkthrough("sinc")
    with pytest.raises(ValueError, match="n_frames must be an int >= 2"):
        continuous_walkthrough("rect", n_frames=1)


# -- a model's filters and feature maps --------------------------------------------------

def _tiny_model():
    from convkit.cnn import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Sequential

    return Sequential([Conv2D(1, 3, 3), ReLU(), MaxPool2D(2), Flatten(), Dense(3 * 3 * 3, 4)],
                      seed=0, input_shape=(1, 8, 8))


def test_feature_maps_match_references():
    from convkit.viz.model import feature_maps, prepare_input

    model = _tiny_model()
    image = np.random.default_rng(4).random((8, 8))
    x = prepare_input(model, image)
    np.testing.assert_allclose(x[0, 0], image, rtol=1e-6)
    maps = feature_maps(model, x)
    assert [name for name, _ in maps] == ["0 Conv2D", "2 MaxPool2D"]
    weight, bias = model.layers[0].params["weight"], model.layers[0].params["bias"]
    conv = np.stack([scipy.signal.correlate2d(image, weight[f, 0], "valid") + bias[f]
                     for f in range(3)])
    np.testing.assert_allclose(maps[0][1], conv, rtol=1e-4, atol=1e-5)
    pooled = block_reduce(np.maximum(conv, 0)[:, :6, :6], (1, 2, 2), np.max)
    np.testing.assert_allclose(maps[1][1], pooled, rtol=1e-4, atol=1e-5)


def test_prepare_input_resizes_grays_and_inverts():
    from convkit.viz.model import prepare_input

    model = _tiny_model()
    rgb = np.zeros((16, 16, 3))
    rgb[..., 1] = 1.0                                    # pure green: luminance 0.7154
    x = prepare_input(model, rgb, invert=True)
    assert x.shape == (1, 1, 8, 8)
    np.testing.assert_allclose(x, 1 - 0.7154, rtol=1e-5)


def test_filter_grid_and_figure(tmp_path):
    from convkit.viz.frames import write_figure
    from convkit.viz.model import filter_grid, model_figure, prepare_input

    weights = np.arange(2 * 1 * 2 * 2, dtype=float).reshape(2, 1, 2, 2)
    grid = filter_grid(weights)
    assert grid.shape == (2, 5)                          # 2 filters side by side, 1-pixel gap
    # the weights as they are (one scale for the whole layer, not each filter stretched to [0, 1])
    np.testing.assert_array_equal(grid[:, :2], weights[0, 0])
    np.testing.assert_array_equal(grid[:, 3:], weights[1, 0])
    assert np.isnan(grid[:, 2]).all()
    model = _tiny_model()
    fig = model_figure(model, prepare_input(model, np.eye(8)), dpi=40)
    write_figure(tmp_path / "m.png", fig)
    back = png_pixels(tmp_path / "m.png")
    assert back.dtype == np.uint8 and back.shape == (fig.get_figheight() * 40, fig.get_figwidth() * 40, 3)
    with pytest.raises(ValueError, match="must be"):
        filter_grid(np.ones((3, 3)))


# -- large inputs in the terminal --------------------------------------------------------

def _block(text: str, title_start: str, occurrence: int = 0,
           ncols: int = 12) -> tuple[str, np.ndarray, np.ndarray]:
    """Title line, values and bracket marks of the (leftmost, `ncols`-wide) grid whose
    title starts `title_start`."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(title_start)]
    start = starts[occurrence]
    rows, marks = [], []
    for line in lines[start + 1:]:
        if not line.strip() or line.startswith("sum ="):
            break
        cells = line.split()[:ncols]
        rows.append([np.nan if c == "." else float(c.strip("[]")) for c in cells])
        marks.append([c.startswith("[") for c in cells])
    return lines[start].split("    ")[0], np.array(rows), np.array(marks)


def test_large_walkthrough_prints_crops_around_the_window():
    rng = np.random.default_rng(5)
    image, kernel = rng.integers(0, 9, (30, 30)).astype(float), rng.integers(-2, 3, (3, 3)) * 1.0
    walk = conv_walkthrough(image, kernel, stride=9)            # steps at columns 0, 9, 18, 27
    text = format_conv_walkthrough(walk, full_steps=3)
    assert max(len(line) for line in text.splitlines()) <= 120
    title, shown, _ = _block(text, "image:")    # beside the kernel
    assert title == "image: rows 0-11, columns 0-11 of 30x30"
    np.testing.assert_array_equal(shown, image[:12, :12])
    # step 3: window at column 18, so the crop is columns 13-24 and the window inside it
    title, shown, marks = _block(text, "image [window]", occurrence=2)
    assert title == "image [window]: rows 0-11, columns 13-24 of 30x30"
    np.testing.assert_array_equal(shown, image[:12, 13:25])
    np.testing.assert_array_equal(np.argwhere(marks), [(r, c) for r in range(3) for c in range(5, 8)])
    reference = scipy.signal.correlate2d(image, kernel, mode="valid")[::9, ::9]
    title, shown, _ = _block(text, "feature map", ncols=4)
    np.testing.assert_array_equal(shown, reference)              # 4x4: printed whole


def test_large_feature_map_is_cropped_and_summarised():
    image = np.random.default_rng(6).random((40, 40))
    kernel = np.array([[1.0, -1.0], [2.0, 0.5]])
    text = format_conv_walkthrough(conv_walkthrough(image, kernel), full_steps=0)
    reference = scipy.signal.correlate2d(image, kernel, mode="valid")
    title, shown, _ = _block(text, "feature map:")
    assert title == "feature map: rows 0-11, columns 0-11 of 39x39"
    np.testing.assert_allclose(shown, reference[:12, :12], atol=0.005)
    i, j = np.unravel_index(np.argmax(reference), reference.shape)
    assert (f"feature map 39x39: min {reference.min():.2f}, max {reference.max():.2f} "
            f"at [{i}, {j}]") in text


def test_side_by_side_stacks_when_too_wide():
    a, b = ["x" * 50, "y"], ["z" * 50]
    assert side_by_side([a, b], max_width=104) == ["x" * 50 + "    " + "z" * 50, "y"]
    assert side_by_side([a, b], max_width=103) == ["x" * 50, "y", "", "z" * 50]


@pytest.mark.parametrize("pair", sorted(CLOSED_FORMS))
def test_continuous_curve_is_fine_and_holds_the_frame_values(pair):
    from convkit.viz import continuous_walkthrough

    walk = continuous_walkthrough(pair, n_frames=6)              # t = 0 is not a frame time
    assert np.all(np.diff(walk.curve_t) > 0) and len(walk.curve_t) > 200
    np.testing.assert_allclose(walk.curve, CLOSED_FORMS[pair](walk.curve_t), atol=1e-6)
    np.testing.assert_array_equal(walk.result, walk.curve[np.isin(walk.curve_t, walk.t)])
    peak = CLOSED_FORMS[pair](np.array(0.0 if pair != "exp" else walk.t[-1]))
    assert walk.curve.max() == pytest.approx(float(peak), abs=1e-6)   # corners kept


def test_every_exported_name_resolves():
    import convkit.viz as viz

    missing = [name for name in viz.__all__ if not hasattr(viz, name)]
    assert missing == []
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        viz.nope


def test_gif_from_a_generator_equals_gif_from_a_list(tmp_path):
    from convkit.viz import iter_conv_frames

    walk = conv_walkthrough(np.eye(3), np.ones((2, 2)))
    listed = conv_frames(walk, steps=[0, 3], dpi=30)
    streamed = iter_conv_frames(walk, steps=[0, 3], dpi=30)
    assert not isinstance(streamed, list)
    assert write_gif(tmp_path / "a.gif", listed) == 2
    assert write_gif(tmp_path / "b.gif", streamed) == 2
    assert (tmp_path / "a.gif").read_bytes() == (tmp_path / "b.gif").read_bytes()
    with pytest.raises(ValueError, match="no frames to write"):
        write_gif(tmp_path / "c.gif", iter(()))
    assert not (tmp_path / "c.gif").exists()


def test_model_figure_has_one_colour_bar_per_layer_with_its_range():
    from convkit.viz.model import feature_maps, first_conv_weights, model_figure, prepare_input

    model = _tiny_model()
    x = prepare_input(model, np.eye(8))
    fig = model_figure(model, x, dpi=40)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    blocks = [first_conv_weights(model), x[0]] + [maps for _, maps in feature_maps(model, x)]
    assert len(images) == len(blocks) and len(fig.axes) == 2 * len(blocks)     # a colour bar each
    for shown, values in zip(images, blocks):
        lo, hi = shown.get_clim()
        if values.min() < 0:
            assert (lo, hi) == pytest.approx((-np.abs(values).max(), np.abs(values).max()))
        else:
            assert lo == 0 and hi == pytest.approx(values.max())


def test_one_colour_convention_one_is_white_in_the_frames():
    # the convention every picture follows (the docs' figures draw with draw_matrix too; they
    # drew 1 as black before)
    from matplotlib.figure import Figure

    from convkit.viz import conv_walkthrough, draw_matrix, iter_conv_frames
    from convkit.viz.frames import figure_to_array

    image = np.zeros((5, 5))
    image[2, 2] = 1
    frame = next(iter_conv_frames(conv_walkthrough(image, np.ones((3, 3))), steps=[0], dpi=60))
    fig = Figure(figsize=(9, 3.4), dpi=60)          # the frame's own layout, to find the cells
    ax = fig.subplots(1, 3)[0]
    draw_matrix(ax, image, "image")
    bbox = ax.get_window_extent()
    h = frame.shape[0]
    col = lambda c: int(bbox.x0 + (c + 0.5) * bbox.width / 5)            # noqa: E731
    row = lambda r: int(h - (bbox.y1 - (r + 0.5) * bbox.height / 5))     # noqa: E731
    assert frame[row(2) - 6, col(2) + 6].min() > 240                   # the 1: white
    assert frame[row(4) - 6, col(4) + 6].max() < 15                    # a 0: black
    texts = draw_matrix(Figure().add_subplot(), [[-3.0, 0.0, 3.0]])
    assert [t.get_color() for t in texts] == ["white", "black", "white"]   # readable on RdBu

@pytest.mark.parametrize("how", ["raises", "short"])
def test_a_full_disk_fails_gif_and_figure_writes(tmp_path, monkeypatch, how):
    import os

    from helpers.full_disk import full_disk
    from matplotlib.figure import Figure

    from convkit.viz.training import plot_curves
    from convkit.viz import write_figure

    full_disk(monkeypatch, how)
    frames = [np.full((8, 8, 3), v, np.uint8) for v in (0, 255)]
    history = {"loss": [1.0, 0.5], "accuracy": [0.5, 0.7]}
    for write in (lambda: write_gif(tmp_path / "a.gif", frames),
                  lambda: write_figure(tmp_path / "f.png", Figure(figsize=(1, 1))),
                  lambda: plot_curves(history, [1, 2], tmp_path / "c.png")):
        with pytest.raises(OSError, match="No space left|bytes reached the disk"):
            write()
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


def test_format_grid_marks_keep_columns():
    from convkit.viz.text import format_grid
    lines = format_grid([[1, -10, 3], [100, 2, 0.5]], mark=[[True, False, False], [False, True, False]])
    assert number_ends(lines[0]) == number_ends(lines[1])


def test_class_names_outside_the_font_give_one_phrased_warning(tmp_path):
    import warnings

    from convkit.viz.training import plot_confusion, plot_curves

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plot_confusion(np.eye(3, dtype=np.int64), ["猫", "犬", "１２"], tmp_path / "c.png", title="テスト")
        plot_curves({"loss": [1.0, 0.5], "accuracy": [0.5, 0.7]}, [1, 2], tmp_path / "k.png",
                    title="conv１６-dense")
    messages = [str(w.message) for w in caught]
    assert not any("missing from font" in m for m in messages), messages
    assert len(messages) == 2
    assert "has no glyph for '猫犬１２テスト'" in messages[0] and "has no glyph for '１６'" in messages[1]
    assert (tmp_path / "c.png").stat().st_size > 0 and (tmp_path / "k.png").stat().st_size > 0
