"""convkit.io.signals: reading checked against numpy.loadtxt / scipy.io.wavfile and the
PCM scaling of the WAV format, writing read back by those independent readers,
and every error path."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from convkit.io.atomic import OutputExistsError
from convkit.io.errors import FileFormatError
from convkit.io.signals import SIGNAL_SUFFIXES, Signal, read_signal, write_signal
from helpers.hostile import finishes, forged_npy, peak_mib, wav_bytes

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- reading -----------------------------------------------------------------

@pytest.mark.parametrize("name", ["signal.csv", "impulse_response.csv"])
def test_sample_csv_equals_loadtxt(name):
    sig = read_signal(SAMPLES / name)
    assert sig.rate is None
    np.testing.assert_array_equal(sig.samples, np.loadtxt(SAMPLES / name))


@pytest.mark.parametrize("name", ["signal.wav", "impulse_response.wav"])
def test_sample_wav_equals_wavfile_scaled(name):
    rate, pcm = wavfile.read(SAMPLES / name)
    sig = read_signal(SAMPLES / name)
    assert sig.rate == rate == 8000
    np.testing.assert_array_equal(sig.samples, pcm / 32768.0)


@pytest.mark.parametrize("text", [
    "1\n-2.5\n3e-1\n",                      # one per line
    "1, -2.5, 3e-1\n",                      # one line, commas
    "1 -2.5\t3e-1",                         # one line, whitespace
    "1;-2.5;3e-1;",                         # semicolons, trailing separator
    "# comment\namplitude\n1\n-2.5  # inline\n\n3e-1\n",   # title line, comments, blank
    "\ufeffvalue\n1\n-2.5\n0.3\n",          # BOM + title, as spreadsheets export
])
@pytest.mark.parametrize("suffix", [".csv", ".txt"])
def test_text_layouts(tmp_path, text, suffix):
    sig = read_signal(write(tmp_path / f"s{suffix}", text))
    np.testing.assert_array_equal(sig.samples, [1.0, -2.5, 0.3])
    assert sig.samples.dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.int64, np.uint8, bool])
def test_npy_any_real_dtype_as_float64(tmp_path, dtype):
    a = np.array([0, 1, 1, 0, 1]).astype(dtype)
    np.save(tmp_path / "a.npy", a)
    sig = read_signal(tmp_path / "a.npy")
    assert sig.samples.dtype == np.float64 and sig.rate is None
    np.testing.assert_array_equal(sig.samples, a.astype(np.float64))


@pytest.mark.parametrize("dtype, full_scale, offset", [
    (np.int16, 2.0 ** 15, 0), (np.int32, 2.0 ** 31, 0), (np.uint8, 128.0, 128)])
def test_wav_pcm_scaled_to_unit_range(tmp_path, dtype, full_scale, offset):
    info = np.iinfo(dtype)
    pcm = np.array([info.min, info.min + 1, offset, info.max], dtype=dtype)
    wavfile.write(tmp_path / "p.wav", 22050, pcm)
    sig = read_signal(tmp_path / "p.wav")
    assert sig.rate == 22050
    np.testing.assert_array_equal(sig.samples, (pcm.astype(np.float64) - offset) / full_scale)
    assert sig.samples.min() == -1.0 and sig.samples.max() < 1.0


def test_wav_float_and_stereo(tmp_path):
    x = np.array([[0.5, -0.25], [2.0, 0.0], [-1.5, 0.125]], dtype=np.float32)
    wavfile.write(tmp_path / "f.wav", 44100, x)
    sig = read_signal(tmp_path / "f.wav")
    assert sig.samples.shape == (3, 2) and sig.rate == 44100
    np.testing.assert_array_equal(sig.samples, x.astype(np.float64))


# --- writing -----------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".csv", ".txt"])
def test_text_round_trip_exact(tmp_path, suffix):
    x = np.random.default_rng(0).standard_normal(50) * 10.0 ** np.arange(-25, 25)
    write_signal(tmp_path / f"x{suffix}", x)
    np.testing.assert_array_equal(np.loadtxt(tmp_path / f"x{suffix}"), x)
    np.testing.assert_array_equal(read_signal(tmp_path / f"x{suffix}").samples, x)


def test_npy_round_trip(tmp_path):
    x = np.random.default_rng(1).standard_normal(33)
    write_signal(tmp_path / "x.npy", x)
    loaded = np.load(tmp_path / "x.npy", allow_pickle=False)
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded, x)


def test_wav_written_as_16_bit_pcm_with_rate(tmp_path):
    x = np.array([[-1.0, 0.0], [0.5, -0.25], [1.0, 1 / 3]])
    write_signal(tmp_path / "x.wav", x, rate=16000)
    rate, pcm = wavfile.read(tmp_path / "x.wav")
    assert rate == 16000 and pcm.dtype == np.int16 and pcm.shape == (3, 2)
    np.testing.assert_array_equal(pcm, [[-32768, 0], [16384, -8192], [32767, 10923]])
    back = read_signal(tmp_path / "x.wav")
    assert np.abs(back.samples - x).max() <= 1 / 32768


def test_wav_int16_round_trip_exact(tmp_path):
    pcm = np.random.default_rng(2).integers(-32768, 32768, 400).astype(np.int16)
    wavfile.write(tmp_path / "a.wav", 8000, pcm)
    write_signal(tmp_path / "b.wav", read_signal(tmp_path / "a.wav").samples, rate=8000)
    np.testing.assert_array_equal(wavfile.read(tmp_path / "b.wav")[1], pcm)


def test_single_channel_column_written_as_text(tmp_path):
    write_signal(tmp_path / "x.csv", [[1.5], [2.0]])
    assert (tmp_path / "x.csv").read_text() == "1.5\n2.0\n"


def test_overwrite_only_when_asked(tmp_path):
    out = write(tmp_path / "x.csv", "9\n")
    with pytest.raises(OutputExistsError, match="exists; pass overwrite=True to replace it") as info:
        write_signal(out, [1.0])
    assert isinstance(info.value, FileExistsError) and info.value.path == str(out)
    assert out.read_text() == "9\n"
    write_signal(out, [1.0], overwrite=True)
    assert out.read_text() == "1.0\n"


@pytest.mark.parametrize("name, samples, kwargs, error, match", [
    ("x.wav", [0.5, 1.5], {"rate": 8000}, ValueError, r"within \[-1, 1\], got peak 1.5"),
    ("x.wav", [0.5], {}, ValueError, "needs a positive integer sample rate, got None"),
    ("x.wav", [0.5], {"rate": 0}, ValueError, "sample rate, got 0"),
    ("x.csv", [[1.0, 2.0]], {}, ValueError, "2 channels can only be written to a .wav"),
    ("x.npy", [1.0, np.nan], {}, ValueError, "NaN or inf"),
    ("x.csv", [], {}, ValueError, r"shape \(N,\) or \(N, C\).*got \(0,\)"),
    ("x.csv", np.ones((2, 2, 2)), {}, ValueError, r"got \(2, 2, 2\)"),
    ("x.csv", ["a"], {}, TypeError, "real numbers, got dtype <U1"),
    ("x.csv", [1j], {}, TypeError, "real numbers, got dtype complex128"),
    ("x.mp3", [1.0], {}, ValueError, "unknown extension '.mp3'; accepted: .csv .txt .npy .wav"),
    ("missing/x.csv", [1.0], {}, ValueError, "output folder .* does not exist"),
])
def test_write_errors_leave_nothing(tmp_path, name, samples, kwargs, error, match):
    with pytest.raises(error, match=match):
        write_signal(tmp_path / name, samples, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_write_refuses_an_input(tmp_path):
    src = write(tmp_path / "a.csv", "1\n")
    with pytest.raises(ValueError, match="is the input file"):
        write_signal(src, [2.0], overwrite=True, inputs=(src,))
    assert src.read_text() == "1\n"
    assert sorted(os.listdir(tmp_path)) == ["a.csv"]


# --- reading errors ----------------------------------------------------------

@pytest.mark.parametrize("name, content, match", [
    ("a.csv", "1\n2\nabc\n", r"line 3: 'abc' is not a number"),
    ("a.csv", "1,2\n3,4\n", "line 1 has 2 values; a signal file holds one number per line"),
    ("a.txt", "1\n2 3\n", "line 2 has 2 values"),
    ("a.csv", "# only a comment\n\n", "holds no samples"),
    ("a.csv", "amplitude\n", "holds no samples"),
    ("a.csv", "", "holds no samples"),
    ("a.txt", "1\nnan\n", r"NaN or inf \(first at sample 1\)"),
    ("a.txt", "1\n2\n-inf\n", r"NaN or inf \(first at sample 2\)"),
    ("a.csv", b"\xff\xfe1\x00", "not a UTF-8 text file"),
    ("a.npy", b"not an npy file", "cannot read .* as a .npy array"),
    ("a.wav", b"RIFF....WAVEjunk", "cannot read .* as a WAV file"),
])
def test_read_errors(tmp_path, name, content, match):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        write(path, content)
    with pytest.raises(FileFormatError, match=match) as info:
        read_signal(path)
    assert info.value.path == str(path)


@pytest.mark.parametrize("name, match", [
    ("a.mp3", "unknown extension '.mp3'; accepted: .csv .txt .npy .wav"),
    ("a", "unknown extension '\\(none\\)'"),
])
def test_unknown_extension_is_an_argument_error(tmp_path, name, match):
    write(tmp_path / name, "1\n")
    with pytest.raises(ValueError, match=match) as info:
        read_signal(tmp_path / name)
    assert not isinstance(info.value, FileFormatError)


@pytest.mark.parametrize("array, match", [
    (np.ones((3, 2)), r"must hold a 1-D signal, got shape \(3, 2\)"),
    (np.float64(3.0), r"got shape \(\)"),
    (np.zeros(0), "holds no samples"),
    (np.array([1 + 2j]), "must hold real numbers, got dtype complex128"),
    (np.array(["a", "b"]), "must hold real numbers, got dtype <U1"),
    (np.array([1.0, np.inf]), r"NaN or inf \(first at sample 1\)"),
])
def test_npy_errors(tmp_path, array, match):
    np.save(tmp_path / "a.npy", array)
    with pytest.raises(FileFormatError, match=match):
        read_signal(tmp_path / "a.npy")


def test_npy_never_unpickled(tmp_path):
    np.save(tmp_path / "a.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="cannot read .* as a .npy array"):
        read_signal(tmp_path / "a.npy")


def test_npz_refused(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.ones(3))
    os.replace(tmp_path / "a.npz", tmp_path / "a.npy")
    with pytest.raises(ValueError, match="got an .npz archive"):
        read_signal(tmp_path / "a.npy")


def test_wav_nan_refused(tmp_path):
    wavfile.write(tmp_path / "n.wav", 8000, np.array([0.1, np.nan, 0.2], dtype=np.float32))
    with pytest.raises(ValueError, match=r"NaN or inf \(first at sample 1\)"):
        read_signal(tmp_path / "n.wav")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="signal file not found"):
        read_signal(tmp_path / "none.csv")
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(ValueError, match="is a directory; expected a signal file"):
        read_signal(tmp_path / "d.csv")


def test_public_names():
    assert SIGNAL_SUFFIXES == (".csv", ".txt", ".npy", ".wav")
    assert Signal._fields == ("samples", "rate")


@pytest.mark.parametrize("how", ["raises", "short"])
@pytest.mark.parametrize("name", ["s.wav", "s.npy", "s.csv"])
def test_a_full_disk_fails_the_write_and_keeps_the_old_file(tmp_path, monkeypatch, name, how):
    from helpers.full_disk import full_disk

    path = tmp_path / name
    write_signal(path, np.full(500, 0.25), rate=8000 if name.endswith(".wav") else None)
    before = path.read_bytes()
    full_disk(monkeypatch, how)
    with pytest.raises(OSError, match="No space left|bytes reached the disk") as info:
        write_signal(path, np.zeros(500), rate=8000 if name.endswith(".wav") else None,
                     overwrite=True)
    assert info.value.filename == str(path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == [name] and path.read_bytes() == before


# ----------------------------------------------------------------------------- hostile files
# (issue 16: forged headers, damaged WAVs, FIFOs, dangling links and temp-file errors)

def test_npy_header_that_claims_more_than_its_file_is_refused(tmp_path):
    (tmp_path / "s.npy").write_bytes(forged_npy())
    result, peak = peak_mib(read_signal, tmp_path / "s.npy")
    assert isinstance(result, FileFormatError) and peak < 5
    assert "its .npy header announces 80000000000 bytes, the file holds 209" in str(result)


@pytest.mark.parametrize("content, match", [
    (wav_bytes(channels=0), "is a WAV file with 0 channels"),
    (wav_bytes()[:30], "fmt chunk has an invalid size|no fmt chunk|truncated"),
    (wav_bytes(data=None), "no data chunk"),
    (wav_bytes(fmt_size=2**31), "fmt chunk has an invalid size 2147483648"),
])
def test_damaged_wav_is_a_file_format_error(tmp_path, content, match):
    path = tmp_path / "x.wav"
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=match):
        read_signal(path)


@pytest.mark.parametrize("name", ["in.csv", "in.wav"])
def test_fifo_signal_is_refused_at_once(tmp_path, name):
    fifo = tmp_path / name
    os.mkfifo(fifo)
    result = finishes(lambda: read_signal(fifo))
    assert isinstance(result, ValueError) and "is not a regular file" in str(result), result


def test_dangling_symlink_is_an_existing_output(tmp_path):
    link = tmp_path / "s.csv"
    link.symlink_to(tmp_path / "missing-target")
    with pytest.raises(OutputExistsError, match="dangling symbolic link"):
        write_signal(link, [1.0])


def test_permission_error_from_the_temp_file_names_the_output(tmp_path, monkeypatch):
    from convkit.io import atomic
    target = tmp_path / "o.csv"

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".o.abc.csv"))

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError) as info:
        write_signal(target, [1.0])
    assert info.value.filename == str(target)
