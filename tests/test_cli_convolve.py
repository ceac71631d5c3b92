"""`convkit convolve` through click's CliRunner (and one real subprocess for the exit
code): output files read back with numpy / scipy.io.wavfile and compared to
scipy.signal.convolve on the same arrays; every bad input gives exit code 2, one
line, and no file."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.io import wavfile
from scipy.signal import convolve as sp_convolve

from convkit_cli import cli
from helpers.hostile import wav_bytes

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_FILES = ("signal.csv", "impulse_response.csv", "signal.wav", "impulse_response.wav")
RNG = np.random.default_rng(20261126)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A scratch folder holding copies of the sample signals."""
    for name in SAMPLE_FILES:
        shutil.copy(SAMPLES / name, tmp_path / name)
    return tmp_path


def run(*args):
    """Invoke the click group in-process."""
    return CliRunner().invoke(cli, ["convolve", *map(str, args)], catch_exceptions=False)


def wav_float(path: Path) -> tuple[int, np.ndarray]:
    """(rate, samples) with 16-bit PCM scaled by 1/32768, as the WAV format defines."""
    rate, pcm = wavfile.read(path)
    assert pcm.dtype == np.int16
    return rate, pcm / 32768.0


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("method", ["auto", "direct", "fft"])
def test_sample_csv_pair_equals_scipy(folder, mode, method):
    res = run(folder / "signal.csv", folder / "impulse_response.csv", "--mode", mode,
              "--method", method, "-o", folder / "y.csv")
    assert res.exit_code == 0, res.output
    expected = sp_convolve(np.loadtxt(SAMPLES / "signal.csv"),
                           np.loadtxt(SAMPLES / "impulse_response.csv"), mode=mode)
    got = np.loadtxt(folder / "y.csv")
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    length = {"full": 75, "same": 64, "valid": 53}[mode]
    assert f"({length} samples), mode {mode}, method " in res.stdout


def test_default_output_next_to_a(folder):
    res = run(folder / "signal.csv", folder / "impulse_response.csv")
    assert res.exit_code == 0, res.output
    out = folder / "signal_conv_impulse_response.csv"
    assert str(out) in res.stdout
    expected = sp_convolve(np.loadtxt(SAMPLES / "signal.csv"), np.loadtxt(SAMPLES / "impulse_response.csv"))
    np.testing.assert_allclose(np.loadtxt(out), expected, rtol=1e-12, atol=1e-12)


def test_sample_wav_pair_keeps_rate_and_equals_scipy(folder):
    out = folder / "room.wav"
    res = run(folder / "signal.wav", folder / "impulse_response.wav", "-o", out)
    assert res.exit_code == 0, res.output
    _, a = wav_float(SAMPLES / "signal.wav")
    _, b = wav_float(SAMPLES / "impulse_response.wav")
    expected = sp_convolve(a, b)
    rate, got = wav_float(out)
    assert rate == 8000 and got.shape == expected.shape == (9999,)
    peak = np.abs(expected).max()
    assert peak <= 1            # this pair fits, so it is written unscaled
    assert f"peak {peak:.4g} fits in [-1, 1]: written unscaled" in res.stdout
    np.testing.assert_allclose(got, expected, atol=0.5 / 32768 + 1e-12)
    assert "16-bit PCM" in res.stdout and "8000 Hz" in res.stdout


def test_wav_normalised_to_avoid_clipping_and_says_so(tmp_path):
    a = RNG.uniform(-0.9, 0.9, 3000)
    b = RNG.uniform(-0.9, 0.9, 400)
    wavfile.write(tmp_path / "a.wav", 22050, np.round(a * 32767).astype(np.int16))
    wavfile.write(tmp_path / "b.wav", 22050, np.round(b * 32767).astype(np.int16))
    res = run(tmp_path / "a.wav", tmp_path / "b.wav", "-o", tmp_path / "y.wav")
    assert res.exit_code == 0, res.output
    expected = sp_convolve(wav_float(tmp_path / "a.wav")[1], wav_float(tmp_path / "b.wav")[1])
    peak = np.abs(expected).max()
    assert peak > 2
    m = re.search(r"normalised by ([0-9.e+-]+) to avoid clipping \(peak ([0-9.e+-]+)\)", res.stdout)
    assert m, res.stdout
    assert float(m.group(2)) == pytest.approx(peak, rel=1e-3)
    assert float(m.group(1)) == pytest.approx(1 / peak, rel=1e-3)
    rate, got = wav_float(tmp_path / "y.wav")
    assert rate == 22050
    assert np.abs(got).max() <= 1
    np.testing.assert_allclose(got, expected / peak, atol=0.5 / 32768 + 1e-12)


def test_stereo_recording_with_mono_response_per_channel(tmp_path):
    a = RNG.uniform(-0.5, 0.5, (500, 2))
    b = RNG.uniform(-0.1, 0.1, 40)
    wavfile.write(tmp_path / "a.wav", 8000, a.astype(np.float32))
    np.save(tmp_path / "b.npy", b)
    res = run(tmp_path / "a.wav", tmp_path / "b.npy", "--mode", "same", "-o", tmp_path / "y.wav")
    assert res.exit_code == 0, res.output
    a32 = a.astype(np.float32).astype(np.float64)
    expected = np.stack([sp_convolve(a32[:, c], b, mode="same") for c in range(2)], axis=1)
    rate, got = wav_float(tmp_path / "y.wav")
    assert rate == 8000 and got.shape == (500, 2)
    assert np.abs(expected).max() <= 1
    np.testing.assert_allclose(got, expected, atol=0.5 / 32768 + 1e-12)
    assert "2 channels" in res.stdout


def test_mono_signal_with_stereo_response(tmp_path):
    a = RNG.uniform(-0.5, 0.5, 300)
    b = RNG.uniform(-0.05, 0.05, (30, 2))
    np.savetxt(tmp_path / "a.txt", a)
    wavfile.write(tmp_path / "b.wav", 16000, b.astype(np.float32))
    res = run(tmp_path / "a.txt", tmp_path / "b.wav", "-o", tmp_path / "y.wav")
    assert res.exit_code == 0, res.output
    b32 = b.astype(np.float32).astype(np.float64)
    expected = np.stack([sp_convolve(np.loadtxt(tmp_path / "a.txt"), b32[:, c]) for c in range(2)], 1)
    rate, got = wav_float(tmp_path / "y.wav")
    assert rate == 16000                       # only B has a rate: the result takes it
    np.testing.assert_allclose(got, expected, atol=0.5 / 32768 + 1e-12)


@pytest.mark.parametrize("out_suffix", [".npy", ".txt", ".csv"])
def test_npy_inputs_any_text_or_npy_output(tmp_path, out_suffix):
    a, b = RNG.standard_normal(700), RNG.standard_normal(90)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    out = tmp_path / f"y{out_suffix}"
    res = run(tmp_path / "a.npy", tmp_path / "b.npy", "--method", "fft", "-o", out)
    assert res.exit_code == 0, res.output
    got = np.load(out, allow_pickle=False) if out_suffix == ".npy" else np.loadtxt(out)
    np.testing.assert_allclose(got, sp_convolve(a, b), rtol=1e-10, atol=1e-10)
    assert "method fft," not in res.stdout and res.stdout.rstrip().endswith("method fft")


def test_valid_mode_with_b_longer_than_a(tmp_path):
    a, b = RNG.standard_normal(5), RNG.standard_normal(12)
    np.savetxt(tmp_path / "a.csv", a)
    np.savetxt(tmp_path / "b.csv", b)
    res = run(tmp_path / "a.csv", tmp_path / "b.csv", "--mode", "valid", "-o", tmp_path / "y.csv")
    assert res.exit_code == 0, res.output
    np.testing.assert_allclose(np.loadtxt(tmp_path / "y.csv"),
                               sp_convolve(np.loadtxt(tmp_path / "a.csv"),
                                           np.loadtxt(tmp_path / "b.csv"), mode="valid"),
                               rtol=1e-12, atol=1e-12)


def test_stdout_output_and_summary_on_stderr(folder):
    res = run(folder / "signal.csv", folder / "impulse_response.csv", "--mode", "same", "-o", "-")
    assert res.exit_code == 0, res.output
    got = np.array([float(line) for line in res.stdout.splitlines()])
    expected = sp_convolve(np.loadtxt(SAMPLES / "signal.csv"),
                           np.loadtxt(SAMPLES / "impulse_response.csv"), mode="same")
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert "-> stdout (64 samples), mode same" in res.stderr
    assert sorted(os.listdir(folder)) == sorted(SAMPLE_FILES)


def test_auto_reports_the_engine_the_cost_model_picks(tmp_path):
    from convkit import choose_method

    picked = {}
    for n, k in ((64, 3), (20000, 5000)):
        a, b = RNG.standard_normal(n), RNG.standard_normal(k)
        np.save(tmp_path / f"a{n}.npy", a)
        np.save(tmp_path / f"b{n}.npy", b)
        res = run(tmp_path / f"a{n}.npy", tmp_path / f"b{n}.npy", "-o", tmp_path / f"y{n}.npy")
        assert res.exit_code == 0, res.output
        picked[n] = choose_method(a, b)
        assert f"method {picked[n]} (auto)" in res.stdout
        np.testing.assert_allclose(np.load(tmp_path / f"y{n}.npy"), sp_convolve(a, b),
                                   rtol=1e-9, atol=1e-9)
    assert picked == {64: "direct", 20000: "fft"}


def test_force_overwrites_an_output_but_never_an_input(folder):
    out = folder / "y.csv"
    out.write_text("old\n")
    res = run(folder / "signal.csv", folder / "impulse_response.csv", "-o", out)
    assert res.exit_code == 2 and "exists" in res.output and out.read_text() == "old\n"
    res = run(folder / "signal.csv", folder / "impulse_response.csv", "-o", out, "--force")
    assert res.exit_code == 0, res.output
    assert np.loadtxt(out).shape == (75,)


def _error_cases(tmp: Path) -> dict[str, tuple[list, str]]:
    """name -> (arguments, expected message regex); files created as needed."""
    (tmp / "words.csv").write_text("1\n2\nthree\n")
    (tmp / "empty.txt").write_text("# nothing\n")
    (tmp / "table.csv").write_text("1,2\n3,4\n")
    np.save(tmp / "image.npy", np.ones((4, 4)))
    wavfile.write(tmp / "nan.wav", 8000, np.array([0.0, np.nan], dtype=np.float32))
    wavfile.write(tmp / "r44.wav", 44100, np.zeros(10, dtype=np.int16))
    wavfile.write(tmp / "st2.wav", 8000, np.zeros((10, 2), dtype=np.int16))
    wavfile.write(tmp / "st3.wav", 8000, np.zeros((10, 3), dtype=np.int16))
    (tmp / "sound.mp3").write_bytes(b"ID3")
    (tmp / "dir.csv").mkdir()
    s, h = tmp / "signal.csv", tmp / "impulse_response.csv"
    sw, hw = tmp / "signal.wav", tmp / "impulse_response.wav"
    return {
        "missing A": ([tmp / "nope.csv", h], r"file not found: .*nope\.csv"),
        "missing B": ([s, tmp / "nope.wav"], r"file not found: .*nope\.wav"),
        "unknown input ext": ([tmp / "sound.mp3", h], r"unknown extension '\.mp3'; accepted"),
        "unknown output ext": ([s, h, "-o", tmp / "y.mp3"], r"cannot write .*y\.mp3.*accepted"),
        "non-numeric csv": ([tmp / "words.csv", h], r"line 3: 'three' is not a number"),
        "empty signal": ([s, tmp / "empty.txt"], "holds no samples"),
        "table csv": ([tmp / "table.csv", h], "line 1 has 2 values"),
        "2-D npy": ([tmp / "image.npy", h], r"1-D signal, got shape \(4, 4\)"),
        "NaN in wav": ([tmp / "nan.wav", hw], r"NaN or inf \(first at sample 1\)"),
        "missing folder": ([s, h, "-o", tmp / "no" / "y.csv"], "output folder .* does not exist"),
        "output is A": ([s, h, "-o", s, "--force"], "is the input file"),
        "output is B": ([s, h, "-o", h, "--force"], "is the input file"),
        "output is a folder": ([s, h, "-o", tmp / "dir.csv"], "is a directory"),
        "rates differ": ([sw, tmp / "r44.wav", "-o", tmp / "y.wav"],
                         r"sample rates differ: .* 8000 Hz, .* 44100 Hz"),
        "channels differ": ([tmp / "st2.wav", tmp / "st3.wav", "-o", tmp / "y.wav"],
                            "has 2 channels and .* has 3"),
        "stereo to csv": ([tmp / "st2.wav", h, "-o", tmp / "y.csv"],
                          "the result has 2 channels; only a .wav output"),
        "stereo to stdout": ([tmp / "st2.wav", h, "-o", "-"], "2 channels"),
        "wav without rate": ([s, h, "-o", tmp / "y.wav"], "needs a sample rate"),
        "bad mode": ([s, h, "--mode", "circular"], "'circular' is not one of 'full', 'same', 'valid'"),
        "bad method": ([s, h, "--method", "fast"], "'fast' is not one of 'auto', 'direct', 'fft'"),
    }


CASES = ["missing A", "missing B", "unknown input ext", "unknown output ext", "non-numeric csv",
         "empty signal", "table csv", "2-D npy", "NaN in wav", "missing folder", "output is A",
         "output is B", "output is a folder", "rates differ", "channels differ", "stereo to csv",
         "stereo to stdout", "wav without rate", "bad mode", "bad method"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_exit_2_one_line_no_file(folder, case):
    args, match = _error_cases(folder)[case]
    before = {p: p.stat().st_mtime_ns for p in folder.iterdir()}
    res = CliRunner().invoke(cli, ["convolve", *map(str, args)])
    assert res.exit_code == 2, (case, res.output)
    assert res.exception is None or isinstance(res.exception, SystemExit)
    lines = res.stderr.strip().splitlines()
    assert re.search(match, lines[-1]), (case, res.stderr)
    assert "Traceback" not in res.output
    if not case.startswith("bad m"):        # click's usage errors add a usage line
        assert len(lines) == 1, res.stderr
        assert res.stdout == ""
    assert {p: p.stat().st_mtime_ns for p in folder.iterdir()} == before   # nothing new or changed


def test_real_process_exit_code_and_one_line(folder):
    proc = subprocess.run([sys.executable, "-m", "convkit", "convolve", str(folder / "signal.csv"),
                           str(folder / "signal.wav"), "-o", str(folder / "y.wav")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "convkit", "convolve", str(folder / "nope.csv"),
                           str(folder / "signal.csv")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "file not found" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("content", [wav_bytes(channels=0), wav_bytes()[:30], wav_bytes(data=None),
                                     wav_bytes(fmt_size=2**31)])
def test_damaged_wav_is_one_line(tmp_path, cli, content):
    # issue 16: the reader's FileFormatError (test_signals) becomes one line, exit 2
    path = tmp_path / "x.wav"
    path.write_bytes(content)
    r = cli("convolve", path, path, "-o", tmp_path / "y.wav")
    assert r.exit_code == 2 and r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1
    assert "Traceback" not in r.output and not (tmp_path / "y.wav").exists()
