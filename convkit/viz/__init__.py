"""Pictures and walkthroughs of what convolution and a CNN compute.

Every number shown comes from the library itself (`convkit.correlate`,
`convkit.pool`, `convkit.convolve_functions`, the `convkit.cnn` layers);
this package only lays the numbers out — as terminal text, as image arrays,
as GIF/PNG files, or as matplotlib figures (Agg, no pyplot, headless).

Submodules: `walkthrough` (convolution steps), `steps` (ReLU, pooling,
flatten, softmax), `text` (aligned grids), `frames` (animation frames and
GIF/PNG files), `continuous` (the integral picture), `model` (a trained
model's filters and feature maps), `training` (a training run's curves and
confusion matrix, drawn into the run folder of ``convkit train``). They load
on first use; a type checker reads the same names from the ``TYPE_CHECKING``
imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> submodule that defines it (kept equal to the imports below by a test)
_EXPORTS = {
    "format_grid": "text", "side_by_side": "text",
    "ConvStep": "walkthrough", "ConvWalkthrough": "walkthrough",
    "conv_walkthrough": "walkthrough", "format_conv_walkthrough": "walkthrough",
    "PoolWalkthrough": "steps", "SoftmaxWalkthrough": "steps",
    "relu_walkthrough": "steps", "pool_walkthrough": "steps",
    "flatten_walkthrough": "steps", "softmax_walkthrough": "steps",
    "format_relu": "steps", "format_pool": "steps", "format_flatten": "steps",
    "format_softmax": "steps",
    "conv_frames": "frames", "iter_conv_frames": "frames", "frame_steps": "frames", "write_gif": "frames",
    "write_png_grid": "frames", "tile_frames": "frames", "MAX_FRAMES": "frames",
    "READ_WIDTH": "frames",
    "CONTINUOUS_PAIRS": "continuous", "ContinuousWalkthrough": "continuous",
    "continuous_walkthrough": "continuous", "continuous_frames": "continuous",
    "iter_continuous_frames": "continuous",
    "filter_grid": "model", "feature_maps": "model", "model_figure": "model",
    "first_conv_weights": "model", "prepare_input": "model", "resized_input": "model",
    "draw_matrix": "cells", "matrix_colours": "cells",
    "iter_relu_frames": "step_frames", "iter_pool_frames": "step_frames",
    "iter_flatten_frames": "step_frames", "iter_softmax_frames": "step_frames",
    "SOFTMAX_STAGES": "step_frames",
    "figure_to_array": "frames", "write_figure": "frames", "MAX_GRID_FRAMES": "frames",
}

if TYPE_CHECKING:
    from .cells import draw_matrix, matrix_colours
    from .continuous import (
        CONTINUOUS_PAIRS, ContinuousWalkthrough, continuous_frames, continuous_walkthrough,
        iter_continuous_frames)
    from .frames import (
        MAX_FRAMES, MAX_GRID_FRAMES, READ_WIDTH, conv_frames, figure_to_array, frame_steps,
        iter_conv_frames, tile_frames, write_figure, write_gif, write_png_grid)
    from .model import (feature_maps, filter_grid, first_conv_weights, model_figure, prepare_input,
                        resized_input)
    from .step_frames import (
        SOFTMAX_STAGES, iter_flatten_frames, iter_pool_frames, iter_relu_frames, iter_softmax_frames)
    from .steps import (
        PoolWalkthrough, SoftmaxWalkthrough, flatten_walkthrough, format_flatten, format_pool,
        format_relu, format_softmax, pool_walkthrough, relu_walkthrough, softmax_walkthrough)
    from .text import format_grid, side_by_side
    from .walkthrough import ConvStep, ConvWalkthrough, conv_walkthrough, format_conv_walkthrough
else:
    def __getattr__(name: str) -> Any:
        try:
            module = _EXPORTS[name]
        except KeyError:
            raise AttributeError(f"module 'convkit.viz' has no attribute {name!r}") from None
        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value
        return value

__all__ = sorted(_EXPORTS)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
