"""convkit.cnn: a small convolutional network in numpy, built from convkit's own parts.

Layers (Conv2D, Dense, ReLU, MaxPool2D, Pool2D, Flatten, Softmax,
BatchNorm2D, Dropout; for signals Conv1D, Pool1D, MaxPool1D, BatchNorm1D;
GlobalAvgPool for both), the
softmax cross-entropy loss, SGD and Adam, the Sequential model with its
training loop and callbacks (early stopping, checkpoints, weight averaging),
and safe model / checkpoint files. Datasets are in `convkit.cnn.datasets`; the
run folder of ``convkit train`` in `convkit.cnn.runs`; its pictures in
`convkit.viz.training`.

Modules import downwards only, in this order (bottom first): `history`,
`layers`, `losses`, `metrics`, `optim`; `batchnorm`, `dropout`; `layers1d`; `model`, `registry`;
`serialize`; `session`; `callbacks`; `training`; `arch`, `datasets`; `onnx`; `runs`. The one exception: `Sequential.fit`,
`save` and `load` are thin wrappers that import `training` / `serialize` /
`onnx` when called. ONNX exchange (`convkit.cnn.onnx`: `save_onnx`, `load_onnx`)
needs the optional ``onnx`` package and is imported on its own.
"""

from __future__ import annotations

from .callbacks import BestModel, Callback, EarlyStopping, ModelCheckpoint, WeightAverage
from .batchnorm import BatchNorm2D
from .dropout import Dropout
from .layers import Conv2D, Dense, Flatten, Layer, MaxPool2D, Pool2D, ReLU, Softmax
from .layers1d import BatchNorm1D, Conv1D, GlobalAvgPool, MaxPool1D, Pool1D
from .losses import softmax_cross_entropy
from .model import Sequential
from .optim import SGD, Adam, Optimizer, optimizer_from_config
from .registry import layer_from_config
from .serialize import Checkpoint, ModelFormatError, load_checkpoint, load_model, save_checkpoint, save_model
from .session import FitContext
from .history import History

__all__ = ["Conv2D", "Dense", "ReLU", "MaxPool2D", "Pool2D", "Flatten", "Softmax", "BatchNorm2D", "Dropout", "Layer",
           "Conv1D", "Pool1D", "MaxPool1D", "BatchNorm1D", "GlobalAvgPool",
           "layer_from_config", "softmax_cross_entropy", "SGD", "Adam", "Optimizer",
           "optimizer_from_config", "Sequential", "History", "Callback", "EarlyStopping",
           "ModelCheckpoint", "BestModel", "WeightAverage", "FitContext", "ModelFormatError", "Checkpoint",
           "save_model", "load_model", "save_checkpoint", "load_checkpoint"]
