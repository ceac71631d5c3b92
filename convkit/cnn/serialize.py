"""Model and checkpoint files: a safe .npz of named float arrays plus a JSON header.

Layout (``np.savez``, read back with ``allow_pickle=False``, never executed):

* ``__header__``: uint8 array holding UTF-8 JSON ``{"format": "convkit-model"
  | "convkit-checkpoint", "version": 1, "architecture": [layer configs],
  "dtype", "input_shape", "class_names", "normalization", "params": {name:
  shape}, "buffers": {name: shape}}``; a checkpoint adds ``optimizer``
  (config and step count), ``history``, ``fit_state`` and ``callbacks``
  (their JSON state).
* ``param/<i>.<name>``: the weights; ``buffer/<i>.<name>``: the untrained
  state (BatchNorm running statistics; files written before buffers existed
  have no "buffers" entry and are read as having none). Together they are
  `Sequential.state_dict`. Checkpoints add ``opt/<slot>/<param>`` (optimizer
  state) and ``cb/<callback>/<name>`` (e.g. EarlyStopping's best state).

Every field is validated on load; anything unexpected (not a zip, a missing
or extra member, a wrong shape or dtype, non-finite weights, a bad CRC from a
flipped byte, a truncated file) raises `ModelFormatError` naming the reason.
Writes are atomic and checked (`convkit.io.atomic.atomic_file`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from typing import TYPE_CHECKING, Any

import numpy as np

from ..io.atomic import atomic_file, regular_input
from ..io.npyheader import npy_claims
from .history import History
from .registry import layer_from_config
from .model import Sequential
from .optim import Optimizer, optimizer_from_config

if TYPE_CHECKING:
    from .session import FitContext

__all__ = ["ModelFormatError", "Checkpoint", "save_model", "load_model", "save_checkpoint",
           "load_checkpoint", "FORMAT_VERSION", "MAX_HEADER_BYTES", "MAX_INPUT_VALUES",
           "MAX_MODEL_BYTES"]

FORMAT_VERSION = 1
_MODEL, _CHECKPOINT = "convkit-model", "convkit-checkpoint"
MAX_HEADER_BYTES = 2 ** 20          # JSON header; the default network's is ~2 KB
MAX_MODEL_BYTES = 2 ** 28           # all arrays together; the default network's are ~100 KB
MAX_INPUT_VALUES = 2 ** 20          # C x H x W of the recorded input shape (e.g. 3 x 590 x 590)
_NPY_HEADER = 4096                  # a .npy member's own header, beyond its array bytes


class ModelFormatError(ValueError):
    """A file is not a valid convkit model / checkpoint; the message says why.

    Examples
    --------
    >>> import tempfile
    >>> path = f"{tempfile.mkdtemp()}/model.npz"
    >>> with open(path, "w") as f:
    ...     _ = f.write("not a model")
    >>> load_model(path)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    convkit.cnn.serialize.ModelFormatError: ...model.npz: not a readable convkit .npz file (not a zip archive)
    """


@dataclasses.dataclass
class Checkpoint:
    """Everything `fit(resume=...)` needs to continue a run exactly.

    Attributes
    ----------
    model : Sequential
        The weights after the last complete epoch.
    optimizer : Optimizer
        With its state (moments, step count).
    history : History
        The logs so far.
    fit_state : dict
        The settings of the interrupted `fit` call.
    callback_states : dict
        Each callback's state, by ``"<index>.<class name>"``.
    epoch : int
        Epochs completed.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from convkit.cnn import Dense, ModelCheckpoint, Sequential, SGD
    >>> X, y = np.eye(4, dtype=np.float32), np.array([0, 1, 0, 1])
    >>> path = f"{tempfile.mkdtemp()}/checkpoint.npz"
    >>> _ = Sequential([Dense(4, 2)], seed=0).fit(X, y, epochs=2, optimizer=SGD(0.1), seed=0,
    ...                                           callbacks=[ModelCheckpoint(path)])
    >>> checkpoint = load_checkpoint(path)
    >>> checkpoint.epoch, checkpoint.history.epoch, type(checkpoint.optimizer).__name__
    (2, [1, 2], 'SGD')
    """

    model: Sequential
    optimizer: Optimizer
    history: History
    fit_state: dict[str, Any]
    callback_states: dict[str, tuple[dict[str, Any], dict[str, np.ndarray]]]
    epoch: int
    source: str = ""            # the file it was read from, for error messages


def _header_array(header: dict) -> np.ndarray:
    """The JSON header as the uint8 member ``__header__``."""
    return np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)


def _write(path: str | os.PathLike, arrays: dict[str, np.ndarray], *, overwrite: bool) -> None:
    """Write the members atomically."""
    with atomic_file(path, overwrite=overwrite) as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle


def _model_header(model: Sequential, fmt: str) -> dict[str, Any]:
    """Format, version, the model's config and the shapes of its state arrays."""
    header: dict[str, Any] = {"format": fmt, "version": FORMAT_VERSION}
    header.update(model.config())
    header["params"] = {k: list(v.shape) for k, v in model.params().items()}
    header["buffers"] = {k: list(v.shape) for k, v in model.buffers().items()}
    return header


def _model_arrays(model: Sequential) -> dict[str, np.ndarray]:
    """The members holding `model.state_dict()`: param/<key> and buffer/<key>."""
    arrays = {f"param/{k}": v for k, v in model.params().items()}
    arrays.update({f"buffer/{k}": v for k, v in model.buffers().items()})
    return arrays


def save_model(model: Sequential, path: str | os.PathLike, *, overwrite: bool = False) -> None:
    """Write `model` (a Sequential) to `path` as a convkit model file.

    The file is ``.npz`` arrays plus a JSON header (architecture,
    normalisation, class names), written atomically and read back without
    pickle.

    Parameters
    ----------
    model : Sequential
        The model; its params and buffers are saved.
    path : str or path-like
        The output file.
    overwrite : bool, optional
        Replace an existing file.

    Raises
    ------
    OutputExistsError
        `path` exists and `overwrite` is False.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from convkit.cnn import Dense, Sequential
    >>> model = Sequential([Dense(3, 2)], seed=0)
    >>> path = f"{tempfile.mkdtemp()}/model.npz"
    >>> save_model(model, path)
    >>> x = np.ones((1, 3), np.float32)
    >>> bool((load_model(path).forward(x, training=False) == model.forward(x, training=False)).all())
    True
    """
    arrays = {"__header__": _header_array(_model_header(model, _MODEL)), **_model_arrays(model)}
    _write(path, arrays, overwrite=overwrite)


def save_checkpoint(path: str | os.PathLike, context: FitContext, *, overwrite: bool = True) -> None:
    """Write a resume checkpoint from a `session.FitContext`.

    `ModelCheckpoint` calls it after every epoch; call it yourself from a
    callback that needs a checkpoint at another moment.

    Parameters
    ----------
    path : str or path-like
        The checkpoint file.
    context : FitContext
        The running fit's model, optimizer, history and callbacks.
    overwrite : bool, optional
        Replace an existing file.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from convkit.cnn import Callback, Dense, Sequential, SGD
    >>> path = f"{tempfile.mkdtemp()}/first.npz"
    >>> class SaveFirstEpoch(Callback):
    ...     def after_epoch(self, epoch, logs):
    ...         if epoch == 1:
    ...             save_checkpoint(path, self.context)
    >>> X, y = np.eye(4, dtype=np.float32), np.array([0, 1, 0, 1])
    >>> _ = Sequential([Dense(4, 2)], seed=0).fit(X, y, epochs=3, optimizer=SGD(0.1), seed=0,
    ...                                           callbacks=[SaveFirstEpoch()])
    >>> load_checkpoint(path).epoch
    1
    """
    model, opt = context.model, context.optimizer
    header = _model_header(model, _CHECKPOINT)
    state = opt.state_dict()
    header["optimizer"] = {"config": opt.config(), "steps": int(state.pop("steps")),
                           "state": {k: list(v.shape) for k, v in state.items()}}
    header["history"] = context.history.to_dict()
    header["fit_state"] = dict(context.fit_state)
    arrays = _model_arrays(model)
    arrays.update({f"opt/{k}": v for k, v in state.items()})
    header["callbacks"] = {}
    for i, cb in enumerate(context.callbacks):
        meta, cb_arrays = cb.state_dict()
        key = f"{i}.{type(cb).__name__}"
        header["callbacks"][key] = {"meta": meta, "arrays": {k: list(v.shape) for k, v in cb_arrays.items()}}
        arrays.update({f"cb/{key}/{k}": v for k, v in cb_arrays.items()})
    arrays["__header__"] = _header_array(header)
    _write(path, arrays, overwrite=overwrite)


def _member_bytes(name: str, shapes: Any, itemsize: int, prefix: str) -> dict[str, int]:
    """{zip member name: array bytes} for a header's {key: shape} listing."""
    _expect(isinstance(shapes, dict), name, f"header entry for {prefix!r} arrays must be an object")
    out = {}
    for key, shape in shapes.items():
        _expect(isinstance(shape, list) and len(shape) <= 8
                and all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n for n in shape),
                name, f"array {prefix}{key!r} has an invalid shape {shape!r} in the header")
        out[f"{prefix}{key}.npy"] = int(np.prod([float(n) for n in shape])) * itemsize
    return out


def _listed_members(name: str, header: dict[str, Any]) -> dict[str, int]:
    """Every member the header announces, with the bytes of its array."""
    itemsize = 4 if header.get("dtype") == "float32" else 8
    members = _member_bytes(name, header.get("params"), itemsize, "param/")
    members.update(_member_bytes(name, header.get("buffers", {}), itemsize, "buffer/"))
    if header.get("format") == _CHECKPOINT:
        opt, callbacks = header.get("optimizer"), header.get("callbacks")
        if not (isinstance(opt, dict) and isinstance(callbacks, dict)):
            raise ModelFormatError(f"{name}: a checkpoint header needs optimizer and callbacks objects")
        members.update(_member_bytes(name, opt.get("state"), 8, "opt/"))
        for key, entry in callbacks.items():
            _expect(isinstance(entry, dict), name, f"callback entry {key!r} must be an object")
            members.update(_member_bytes(name, entry.get("arrays"), 8, f"cb/{key}/"))
    return members


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> np.ndarray:
    """One .npy member as an array (never unpickled); ModelFormatError for anything else,
    including a .npy header that claims more data than the member holds."""
    with zf.open(info) as fh:
        _, dtype, nbytes = npy_claims(fh)
    _expect(not dtype.hasobject, name, f"not a readable convkit .npz file (member "
            f"{info.filename[:-4]!r} holds pickled Python objects, which are never loaded)")
    _expect(nbytes <= info.file_size, name,
            f"member {info.filename[:-4]!r} announces {nbytes} bytes of {dtype} in "
            f"{info.file_size} bytes (a forged or damaged file)")
    with zf.open(info) as fh:
        arr = np.lib.format.read_array(fh, allow_pickle=False)
    _expect(isinstance(arr, np.ndarray), name, f"member {info.filename!r} is not a .npy array")
    return arr


def _read(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and the arrays of a model / checkpoint file.

    The zip directory is checked before any array is inflated: the header
    member first (at most `MAX_HEADER_BYTES`), then every other member must be
    one the header lists, each no larger than its listed array, all together
    at most `MAX_MODEL_BYTES`, so a zip bomb or a forged header is refused
    after reading a few kilobytes.
    """
    name = os.fspath(path)
    regular_input(name, "model file", "a convkit model file (.npz)")
    if not zipfile.is_zipfile(name):
        raise ModelFormatError(f"{name}: not a readable convkit .npz file (not a zip archive)")
    try:
        with zipfile.ZipFile(name) as zf:
            infos = {info.filename: info for info in zf.infolist()}
            head = infos.pop("__header__.npy", None)
            _expect(head is not None, name, "no __header__ member (not a convkit model file)")
            assert head is not None
            _expect(head.file_size <= MAX_HEADER_BYTES + _NPY_HEADER, name,
                    f"the __header__ member is {head.file_size} bytes; a convkit header is at most "
                    f"{MAX_HEADER_BYTES}")
            header = _parse_header(name, _read_member(zf, head, name))
            listed = _listed_members(name, header)
            extra = sorted(k[:-4] if k.endswith(".npy") else k for k in set(infos) - set(listed))
            _expect(not extra, name, f"unexpected members {extra}")
            total = sum(listed.values())
            _expect(total <= MAX_MODEL_BYTES, name,
                    f"the header lists {total} bytes of arrays; convkit model files hold at most "
                    f"{MAX_MODEL_BYTES}")
            for member, info in infos.items():
                _expect(info.file_size <= listed[member] + _NPY_HEADER, name,
                        f"member {member[:-4]!r} is {info.file_size} bytes unpacked, but its header "
                        f"shape needs {listed[member]} (a forged or damaged file)")
            arrays = {member[:-4]: _read_member(zf, info, name) for member, info in infos.items()}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, RuntimeError,
            NotImplementedError) as exc:
        if isinstance(exc, ModelFormatError):
            raise
        raise ModelFormatError(f"{name}: not a readable convkit .npz file "
                               f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    return header, arrays


def _parse_header(name: str, raw: np.ndarray) -> dict[str, Any]:
    """The JSON object stored in the ``__header__`` member."""
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ModelFormatError(f"{name}: __header__ must be a 1-D uint8 array, got {raw.dtype} {raw.shape}")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{name}: __header__ is not UTF-8 JSON ({exc})") from None
    except RecursionError:
        raise ModelFormatError(f"{name}: __header__ is nested too deeply to be a convkit header") from None
    if not isinstance(header, dict):
        raise ModelFormatError(f"{name}: __header__ must be a JSON object")
    return header


def _expect(cond: Any, name: str, reason: str) -> None:
    """ModelFormatError "<file>: <reason>" unless `cond` holds."""
    if not cond:
        raise ModelFormatError(f"{name}: {reason}")


def _check_arrays(name: str, arrays: dict, prefix: str, shapes: Any, dtype: np.dtype | None) -> dict:
    """Members `prefix<key>` for each key of `shapes`, with those shapes, float, finite."""
    _expect(isinstance(shapes, dict), name, f"header entry for {prefix!r} arrays must be an object")
    out = {}
    for key, shape in shapes.items():
        member = f"{prefix}{key}"
        _expect(member in arrays, name, f"array {member!r} is missing")
        arr = arrays[member]
        _expect(isinstance(shape, list) and list(arr.shape) == shape, name,
                f"array {member!r} has shape {arr.shape}, header says {shape}")
        _expect(arr.dtype.kind == "f" and (dtype is None or arr.dtype == dtype), name,
                f"array {member!r} has dtype {arr.dtype}, expected {dtype or 'float'}")
        _expect(bool(np.isfinite(arr).all()), name, f"array {member!r} holds NaN or infinite values")
        out[key] = arr
    return out


def _build_model(name: str, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Sequential:
    """The model a header describes, with its state arrays checked and loaded."""
    _expect(header.get("version") == FORMAT_VERSION, name,
            f"format version {header.get('version')!r} is not supported (this convkit reads {FORMAT_VERSION})")
    dtype = header.get("dtype")
    if dtype not in ("float32", "float64"):
        raise ModelFormatError(f"{name}: dtype must be float32 or float64, got {dtype!r}")
    arch = header.get("architecture")
    if not (isinstance(arch, list) and arch and all(isinstance(c, dict) for c in arch)):
        raise ModelFormatError(f"{name}: architecture must be a non-empty list of layer objects")
    _check_sizes(name, arch, arrays)
    try:
        layers = [layer_from_config(c, dtype=dtype) for c in arch]
        shape = header.get("input_shape")
        _expect(shape is None or (isinstance(shape, list) and len(shape) in (1, 2, 3) and all(
            isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)),
                name, f"input_shape must be null, [C, H, W], [C, L] or [features] of positive ints, got {shape!r}")
        _expect(shape is None or int(np.prod([float(n) for n in shape])) <= MAX_INPUT_VALUES, name,
                f"input_shape {shape} has more than {MAX_INPUT_VALUES} values per sample; "
                "convkit models are not made that large")
        classes = header.get("class_names")
        _expect(classes is None or (isinstance(classes, list) and all(isinstance(c, str) for c in classes)),
                name, "class_names must be a list of strings or null")
        model = Sequential(layers, dtype=dtype, input_shape=shape, class_names=classes,
                           normalization=_check_normalization(name, header.get("normalization")))
        if shape is not None:
            _check_input_shape(name, arch, layers, shape)
            out = model.output_shape()
            _expect(classes is None or out == (len(classes),), name,
                    f"the network outputs {out} but the file names {len(classes or [])} classes")
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        if isinstance(exc, ModelFormatError):
            raise
        raise ModelFormatError(f"{name}: invalid architecture ({exc})") from None
    own = {k: list(v.shape) for k, v in model.params().items()}
    _expect(header.get("params") == own, name, "the parameter list does not match the architecture")
    own_buffers = {k: list(v.shape) for k, v in model.buffers().items()}
    _expect(header.get("buffers", {}) == own_buffers, name,
            f"the buffer list {header.get('buffers', {})} does not match the architecture's {own_buffers}")
    state = _check_arrays(name, arrays, "param/", own, np.dtype(dtype))
    state.update(_check_arrays(name, arrays, "buffer/", own_buffers, np.dtype(dtype)))
    model.load_state_dict(state)
    return model


def _check_input_shape(name: str, arch: list, layers: list, shape: list) -> None:
    """Refuse an input shape the layers cannot take: channels or features that do not match."""
    current = tuple(shape)
    for i, (config, layer) in enumerate(zip(arch, layers)):
        channels, features = config.get("in_channels"), config.get("in_features")
        _expect(channels is None or (len(current) in (2, 3) and current[0] == channels), name,
                f"input_shape {shape} does not fit the architecture: layer {i} takes {channels} "
                f"channels, it would get {current}")
        _expect(features is None or current == (features,), name,
                f"input_shape {shape} does not fit the architecture: layer {i} takes {features} "
                f"features, it would get {current}")
        current = tuple(layer.output_shape(current))


def _check_sizes(name: str, arch: list, arrays: dict) -> None:
    """Refuse an architecture whose weights would outgrow the arrays actually stored (a forged
    header must not make us allocate and initialise gigabytes before the shape check)."""
    stored = sum(a.size for k, a in arrays.items() if k.startswith(("param/", "buffer/")))
    for config in arch:
        dims = [config.get(k) for k in ("in_channels", "out_channels", "in_features", "out_features",
                                        "num_features")]
        kernel = config.get("kernel_size")
        # an int kernel_size is k x k for Conv2D, k for Conv1D (signals)
        square = [kernel] if config.get("type") == "Conv1D" else [kernel, kernel]
        dims += list(kernel) if isinstance(kernel, list) else square if kernel is not None else []
        numbers = [d for d in dims if d is not None]
        if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in numbers):
            raise ModelFormatError(f"{name}: invalid architecture (layer sizes must be positive ints: {config!r})")
        if numbers and int(np.prod([float(d) for d in numbers])) > stored:
            raise ModelFormatError(f"{name}: the architecture needs more weights than the file stores ({config!r})")


def _check_normalization(name: str, norm: Any) -> dict | None:
    if norm is None:
        return None
    _expect(isinstance(norm, dict) and set(norm) <= {"mean", "std"}, name,
            f"normalization must be null or an object with mean/std, got {norm!r}")
    for key, value in norm.items():
        values = value if isinstance(value, list) else [value]
        _expect(all(isinstance(v, (int, float)) and np.isfinite(v) for v in values), name,
                f"normalization {key} must be finite numbers, got {value!r}")
        _expect(key != "std" or all(v > 0 for v in values), name, "normalization std must be > 0")
    return norm


def load_model(path: str | os.PathLike) -> Sequential:
    """Read a model file (or the model part of a checkpoint) -> Sequential.

    Parameters
    ----------
    path : str or path-like
        A file written by `save_model` / `Sequential.save`, or a checkpoint.

    Returns
    -------
    model : Sequential
        With the saved weights, buffers, normalisation and class names.

    Raises
    ------
    ModelFormatError
        Anything malformed, found before any large allocation.

    Examples
    --------
    >>> import tempfile
    >>> from convkit.cnn import Dense, ReLU, Sequential
    >>> path = f"{tempfile.mkdtemp()}/model.npz"
    >>> save_model(Sequential([Dense(3, 4), ReLU(), Dense(4, 2)], seed=0), path)
    >>> [type(layer).__name__ for layer in load_model(path).layers]
    ['Dense', 'ReLU', 'Dense']
    """
    name = os.fspath(path)
    header, arrays = _read(path)
    _expect(header.get("format") in (_MODEL, _CHECKPOINT), name,
            f"format {header.get('format')!r} is not a convkit model or checkpoint")
    return _build_model(name, header, arrays)


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by `ModelCheckpoint` / `save_checkpoint`.

    Parameters
    ----------
    path : str or path-like
        The checkpoint file.

    Returns
    -------
    checkpoint : Checkpoint
        Model, optimizer with its state, history, fit settings and callback
        states; ``fit(resume=checkpoint)`` continues the run.

    Raises
    ------
    ModelFormatError
        Not a checkpoint, or malformed.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from convkit.cnn import Dense, ModelCheckpoint, Sequential, SGD
    >>> X, y = np.eye(4, dtype=np.float32), np.array([0, 1, 0, 1])
    >>> path = f"{tempfile.mkdtemp()}/checkpoint.npz"
    >>> _ = Sequential([Dense(4, 2)], seed=0).fit(X, y, epochs=3, optimizer=SGD(0.1), seed=0,
    ...                                           callbacks=[ModelCheckpoint(path)])
    >>> load_checkpoint(path).epoch
    3
    """
    name = os.fspath(path)
    _expect(not name.lower().endswith(".onnx"), name, "an ONNX file holds a network, not a training state; "
            "resuming needs the checkpoint.npz of a convkit run")
    header, arrays = _read(path)
    _expect(header.get("format") == _CHECKPOINT, name,
            f"format {header.get('format')!r} is not a convkit checkpoint")
    model = _build_model(name, header, arrays)
    try:
        opt_h = header["optimizer"]
        optimizer = optimizer_from_config(opt_h["config"])
        state = _check_arrays(name, arrays, "opt/", opt_h["state"], None)
        _expect(isinstance(opt_h["steps"], int) and opt_h["steps"] >= 0, name, "optimizer steps must be an int >= 0")
        optimizer.load_state_dict({**state, "steps": np.array(opt_h["steps"])})
        history = History.from_dict(header["history"])
        n = len(history.epoch)
        _expect(history.epoch == list(range(1, n + 1)) and all(
            len(v) == n and all(isinstance(x, (int, float)) for x in v) for v in history.history.values()),
            name, "the history must hold one number per metric for each of the epochs 1..N")
        fit_state = header["fit_state"]
        _expect(isinstance(fit_state, dict) and isinstance(fit_state.get("seed"), int), name,
                "fit_state must record the integer seed")
        callbacks = {}
        for key, entry in header["callbacks"].items():
            _expect(isinstance(entry["meta"], dict), name, f"callback {key!r} state must be an object")
            callbacks[key] = (entry["meta"], _check_arrays(name, arrays, f"cb/{key}/", entry["arrays"], None))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, ModelFormatError):
            raise
        raise ModelFormatError(f"{name}: invalid checkpoint field ({type(exc).__name__}: {exc})") from None
    return Checkpoint(model, optimizer, history, fit_state, callbacks, len(history.epoch), name)
