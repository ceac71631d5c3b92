"""Reading and writing 1-D signals: text (.csv, .txt), numpy (.npy) and WAV files.

A signal is float64 samples of shape (N,) — or (N, C) for a C-channel WAV —
plus a sample rate in Hz (WAV only; None for the other formats). Integer PCM
is scaled to [-1, 1) on reading and back on writing; WAV output is 16-bit PCM.
Writes go through `convkit.io.atomic`, so a failure never leaves half a file.
Convolving signals is `convkit.convolution`'s job; choosing a gain to avoid
clipping is the caller's (`write_signal` refuses samples outside [-1, 1]).
"""

from __future__ import annotations

import os
import re
import struct
import warnings
import zipfile
from pathlib import Path
from typing import BinaryIO, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from .._names import SIGNAL_SUFFIXES
from .atomic import atomic_file, regular_input
from .errors import FileFormatError
from .npyheader import npy_claims

__all__ = ["Signal", "read_signal", "write_signal", "SIGNAL_SUFFIXES", "FileFormatError"]

_TOKEN_SPLIT = re.compile(r"[\s,;]+")
_PCM16 = 32768          # full scale of 16-bit PCM: -32768 .. 32767


class Signal(NamedTuple):
    """Samples, (N,) or (N, C) float64, and the sample rate in Hz (None if unknown).

    Attributes
    ----------
    samples : ndarray of shape (N,) or (N, C)
        float64; a WAV file's samples are in [-1, 1].
    rate : int or None
        Samples per second, known for WAV files only.

    Examples
    --------
    >>> import tempfile
    >>> path = f"{tempfile.mkdtemp()}/beep.wav"
    >>> write_signal(path, [0.0, 0.5, -0.5], rate=8000)
    >>> signal = read_signal(path)
    >>> signal.rate, signal.samples.round(3)
    (8000, array([ 0. ,  0.5, -0.5]))
    """

    samples: np.ndarray
    rate: int | None


def _suffix(path: Path, what: str) -> str:
    """The lower-case suffix of `path`, or ValueError listing the accepted ones."""
    suffix = path.suffix.lower()
    if suffix not in SIGNAL_SUFFIXES:
        raise ValueError(f"{what} {str(path)!r}: unknown extension {path.suffix or '(none)'!r}; "
                         f"accepted: {' '.join(SIGNAL_SUFFIXES)}")
    return suffix


def _to_number(token: str) -> float | None:
    """`token` as a float, or None when it is not a number."""
    try:
        return float(token)
    except ValueError:
        return None


def _read_text(path: Path) -> np.ndarray:
    """One number per line, or all numbers on one line; '#' comments; one header line allowed."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise FileFormatError(f"{str(path)!r} is not a UTF-8 text file", path) from None
    rows: list[tuple[int, list[str]]] = []
    for number, line in enumerate(text.splitlines(), 1):
        tokens = [t for t in _TOKEN_SPLIT.split(line.split("#", 1)[0]) if t]
        if tokens:
            rows.append((number, tokens))
    if rows and all(_to_number(t) is None for t in rows[0][1]):
        rows = rows[1:]                              # a column title such as "amplitude"
    if len(rows) > 1:
        wide = next(((n, len(t)) for n, t in rows if len(t) > 1), None)
        if wide is not None:
            raise FileFormatError(f"{str(path)!r} line {wide[0]} has {wide[1]} values; a signal "
                                  "file holds one number per line, or all numbers on one line", path)
    values = []
    for number, tokens in rows:
        for token in tokens:
            value = _to_number(token)
            if value is None:
                raise FileFormatError(f"{str(path)!r} line {number}: {token!r} is not a number",
                                      path)
            values.append(value)
    return np.array(values, dtype=np.float64)


def _read_npy(path: Path) -> np.ndarray:
    """A 1-D real numeric .npy array (never unpickled); its header is checked against the file
    size before numpy allocates anything."""
    try:
        if not zipfile.is_zipfile(path):
            with open(path, "rb") as fh:
                _, _, nbytes = npy_claims(fh)
            if nbytes > path.stat().st_size:
                raise FileFormatError(f"{str(path)!r}: its .npy header announces {nbytes} bytes, "
                                      f"the file holds {path.stat().st_size}", path)
        a = np.load(path, allow_pickle=False)
    except FileFormatError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise FileFormatError(f"cannot read {str(path)!r} as a .npy array: "
                              f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                              path) from None
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "biuf":
        kind = "an .npz archive" if not isinstance(a, np.ndarray) else f"dtype {a.dtype}"
        raise FileFormatError(f"{str(path)!r} must hold real numbers, got {kind}", path)
    if a.ndim != 1:
        raise FileFormatError(f"{str(path)!r} must hold a 1-D signal, got shape {a.shape}", path)
    return a.astype(np.float64)


def _pcm_to_float(x: np.ndarray) -> np.ndarray:
    """WAV samples as float64; integer PCM scaled to [-1, 1)."""
    if x.dtype == np.uint8:                          # 8-bit WAV is unsigned, centred at 128
        return (x.astype(np.float64) - 128) / 128
    if x.dtype.kind == "i":
        return x.astype(np.float64) / 2.0 ** (8 * x.dtype.itemsize - 1)
    return x.astype(np.float64)


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    """(float samples (N,) or (N, C), rate) of a PCM or float WAV file."""
    from scipy.io import wavfile

    _check_wav_layout(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)   # unknown chunks
            rate, data = wavfile.read(path)
    # scipy's reader lets damaged headers escape as ZeroDivisionError (0 channels), struct.error
    # (a cut chunk) or UnboundLocalError (no data chunk): all are a bad file, said in one line
    except (ValueError, EOFError, OSError, ZeroDivisionError, struct.error, UnboundLocalError,
            IndexError, KeyError, MemoryError) as exc:
        if isinstance(exc, (FileNotFoundError, PermissionError)):
            raise
        raise FileFormatError(f"cannot read {str(path)!r} as a WAV file: "
                              f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                              path) from None
    data = np.asarray(data)
    if data.ndim == 2 and data.shape[1] == 0:
        raise FileFormatError(f"{str(path)!r} is a WAV file with 0 channels", path)
    return _pcm_to_float(data), int(rate)


def _check_wav_layout(path: Path) -> None:
    """Walk the RIFF chunks: a fmt chunk with 1+ channels and a data chunk that fits the file,
    before scipy reads (or allocates) anything."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX", b"RF64") or head[8:12] != b"WAVE":
            raise FileFormatError(f"cannot read {str(path)!r} as a WAV file: no RIFF/WAVE header",
                                  path)
        order = ">" if head[:4] == b"RIFX" else "<"
        pos, fmt_seen = 12, False
        while pos + 8 <= size:
            f.seek(pos)
            kind, length = struct.unpack(order + "4sI", f.read(8))
            if kind == b"fmt ":
                if not 16 <= length <= 4096 or pos + 8 + length > size:
                    raise FileFormatError(f"cannot read {str(path)!r} as a WAV file: its fmt chunk "
                                          f"has an invalid size {length}", path)
                channels = struct.unpack(order + "H", f.read(4)[2:4])[0]
                if channels == 0:
                    raise FileFormatError(f"{str(path)!r} is a WAV file with 0 channels", path)
                fmt_seen = True
            elif kind == b"data":
                if not fmt_seen:
                    raise FileFormatError(f"cannot read {str(path)!r} as a WAV file: the data chunk "
                                          "comes before the fmt chunk", path)
                return
            pos += 8 + length + (length & 1)
    raise FileFormatError(f"cannot read {str(path)!r} as a WAV file: "
                          f"{'no data chunk' if fmt_seen else 'no fmt chunk'} (truncated?)", path)


def read_signal(path: str | os.PathLike) -> Signal:
    """Read a signal file; the format comes from the extension.

    Parameters
    ----------
    path : str or path-like
        ``.csv`` or ``.txt``: one number per line, or all numbers on one line
        separated by commas, semicolons or whitespace; ``#`` starts a comment
        and a first line without any number (a column title) is skipped.
        ``.npy``: a 1-D real array (loaded with ``allow_pickle=False``).
        ``.wav``: PCM (8, 16, 24, 32-bit) or float, mono or several channels.

    Returns
    -------
    Signal
        ``samples`` float64 of shape (N,), or (N, C) for a C-channel WAV,
        integer PCM scaled to [-1, 1); ``rate`` in Hz for WAV, else None.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    FileFormatError
        (a ValueError) For an unreadable or non-numeric file, a table of
        several columns, a non-1-D array, no samples, or a NaN/inf sample.
    ValueError
        For an unknown extension, a directory, a pipe or other non-regular file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = path.write_text("amplitude\\n1\\n0.5\\n0.25\\n")
    >>> read_signal(path)
    Signal(samples=array([1.  , 0.5 , 0.25]), rate=None)
    """
    p = Path(path)
    suffix = _suffix(p, "signal file")
    regular_input(p, "signal file", f"a signal file ({' '.join(SIGNAL_SUFFIXES)})")
    rate = None
    if suffix == ".wav":
        samples, rate = _read_wav(p)
    elif suffix == ".npy":
        samples = _read_npy(p)
    else:
        samples = _read_text(p)
    if samples.shape[0] == 0 or samples.size == 0:
        raise FileFormatError(f"{str(p)!r} holds no samples", p)
    bad = np.flatnonzero(~np.isfinite(samples.reshape(samples.shape[0], -1)).all(axis=1))
    if bad.size:
        raise FileFormatError(f"{str(p)!r} contains NaN or inf (first at sample {bad[0]})", p)
    return Signal(samples, rate)


def _write_wav(fh: BinaryIO, samples: np.ndarray, rate: int) -> None:
    """16-bit PCM; full scale 1.0 maps to 32768, so +1.0 saturates one step low at 32767."""
    from scipy.io import wavfile

    pcm = np.clip(np.round(samples * _PCM16), -_PCM16, _PCM16 - 1).astype(np.int16)
    wavfile.write(fh, rate, pcm)


def write_signal(path: str | os.PathLike, samples: ArrayLike, *, rate: int | None = None,
                 overwrite: bool = False, inputs: tuple = ()) -> None:
    """Write a signal; the format comes from the extension.

    Parameters
    ----------
    path : str or path-like
        ``.csv`` / ``.txt`` (one number per line, shortest round-trip
        decimal), ``.npy`` (float64) or ``.wav`` (16-bit PCM).
    samples : array_like of shape (N,), or (N, C) for a WAV file
        Real, finite values; for WAV within [-1, 1].
    rate : int, optional
        Sample rate in Hz; required for WAV, ignored otherwise.
    overwrite : bool
        Replace an existing file (otherwise OutputExistsError, a FileExistsError).
    inputs : tuple of path-like
        Files the output must not be (an input is never overwritten).

    Raises
    ------
    ValueError
        For an unknown extension, an empty, non-finite, or wrong-shaped
        signal, several channels in a non-WAV file, WAV samples outside
        [-1, 1] or a missing/invalid rate, a missing output folder, or an
        output that is one of `inputs`.
    OutputExistsError (a FileExistsError)
        If `path` exists and `overwrite` is False.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "y.txt"
    >>> write_signal(path, [0.1, -2.0, 3])
    >>> path.read_text()
    '0.1\\n-2.0\\n3.0\\n'
    """
    p = Path(path)
    suffix = _suffix(p, "output")
    x = np.asarray(samples)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"samples must be real numbers, got dtype {x.dtype}")
    x = x.astype(np.float64, copy=False)
    if x.ndim not in (1, 2) or x.size == 0:
        raise ValueError(f"samples must have shape (N,) or (N, C) with N, C >= 1, got {x.shape}")
    if x.ndim == 2 and suffix != ".wav":
        if x.shape[1] != 1:
            raise ValueError(f"{x.shape[1]} channels can only be written to a .wav file, "
                             f"not {suffix}")
        x = x[:, 0]
    if not np.isfinite(x).all():
        raise ValueError("samples contain NaN or inf")
    if suffix == ".wav":
        if rate is None or int(rate) != rate or not 1 <= rate < 2 ** 32:
            raise ValueError(f"writing a .wav file needs a positive integer sample rate, got {rate!r}")
        peak = float(np.abs(x).max())
        if peak > 1:
            raise ValueError(f"WAV samples must lie within [-1, 1], got peak {peak:.6g}; "
                             "scale the signal first")
    with atomic_file(p, overwrite=overwrite, inputs=inputs) as fh:
        if rate is not None and suffix == ".wav":
            _write_wav(fh, x, int(rate))
        elif suffix == ".npy":
            np.save(fh, x)
        else:
            fh.write("".join(f"{v!r}\n" for v in x.tolist()).encode("utf-8"))
