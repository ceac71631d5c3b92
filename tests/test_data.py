"""convkit.data ships the sample files: each is in the package and in a built wheel, reads
as an independent reader reads it, and `convkit samples` copies them all-or-nothing so the
tutorial's `samples/...` commands work from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile
from skimage.io import imread

from convkit import data

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "convkit" / "data"


def test_the_table_lists_exactly_the_shipped_files():
    shipped = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*")
               if p.is_file() and p.suffix not in (".py", ".pyc", ".md")}
    assert shipped == set(data.SAMPLE_NAMES)


@pytest.mark.parametrize("name", sorted(data.SAMPLE_NAMES))
def test_checkout_samples_folder_is_the_same_file(name):
    # samples/ in a checkout links to the package's files: one copy of each
    assert (ROOT / "samples" / name).read_bytes() == data.path(name).read_bytes()


@pytest.mark.parametrize("name", sorted(data.SAMPLE_NAMES))
def test_load_reads_as_an_independent_reader(name):
    file = data.path(name)
    got = data.load(name)
    if file.suffix == ".png":
        ref = imread(file).astype(np.float64) / 255
    elif file.suffix == ".wav":
        rate, ref = wavfile.read(file)
        ref = ref.astype(np.float64) / 32768
    elif file.suffix == ".npy":
        ref = np.load(file)
    else:
        rows = [line.replace(",", " ").split() for line in file.read_text().splitlines()
                if line.strip() and not line.startswith("#")]
        ref = np.array(rows, dtype=np.float64)
        ref = ref.ravel() if ref.shape[1] == 1 else ref
    np.testing.assert_allclose(got, ref, atol=1e-4 if file.suffix == ".wav" else 0)


def test_unknown_name_lists_the_samples():
    with pytest.raises(ValueError, match=r"sample must be one of seed_image\.csv, .*; got 'lena\.png'"):
        data.path("lena.png")


def test_samples_command_copies_and_refuses_to_overwrite(cli, tmp_path):
    folder = tmp_path / "work" / "samples"
    res = cli("samples", folder)
    assert res.exit_code == 0, res.output
    for name in data.SAMPLE_NAMES:
        assert (folder / name).read_bytes() == data.path(name).read_bytes()
    (folder / "camera.png").write_bytes(b"mine")
    before = sorted(os.listdir(folder))
    res = cli("samples", folder)
    assert res.exit_code == 2 and res.stderr.count("\n") == 1
    assert "seed_image.csv' exists; pass --force" in res.stderr
    assert sorted(os.listdir(folder)) == before and (folder / "camera.png").read_bytes() == b"mine"
    assert cli("samples", folder, "--force").exit_code == 0
    assert (folder / "camera.png").read_bytes() == data.path("camera.png").read_bytes()


def test_tutorial_command_runs_outside_the_checkout(tmp_path):
    # regression: outside a checkout `convkit filter samples/astronaut.png` was FileNotFoundError
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    run = lambda *a: subprocess.run([sys.executable, "-m", "convkit", *a], cwd=tmp_path, env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=120)
    assert run("samples").returncode == 0
    res = run("filter", "samples/astronaut.png", "--kernel", "edge", "-o", "edge.png")
    assert res.returncode == 0, res.stderr
    assert imread(tmp_path / "edge.png").shape[:2] == (256, 256)


def test_built_wheel_contains_every_sample(tmp_path):
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                          "-q", "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    (wheel,) = tmp_path.glob("convkit_learn-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in data.SAMPLE_NAMES:
        assert f"convkit/data/{name}" in names


def test_a_missing_sample_says_how_to_get_it(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = cli("filter", "samples/astronaut.png", "--kernel", "edge")
    assert res.exit_code == 2
    assert res.stderr.strip() == ("Error: file not found: samples/astronaut.png (a sample file: "
                                  "`convkit samples` copies them into ./samples)")
    other = cli("filter", "mine.png", "--kernel", "edge")
    assert other.stderr.strip() == "Error: file not found: mine.png"


def test_a_copy_that_fails_midway_takes_back_what_it_wrote(tmp_path, monkeypatch):
    from convkit.io import atomic as atomic_module

    calls = {"n": 0}
    real = atomic_module.commit

    def failing_commit(tmp, out, *, overwrite):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(28, "No space left on device", str(out))
        return real(tmp, out, overwrite=overwrite)

    monkeypatch.setattr(atomic_module, "commit", failing_commit)
    with pytest.raises(OSError, match="No space"):
        data.copy_samples(tmp_path / "s")
    assert [p for p in (tmp_path / "s").rglob("*") if p.is_file()] == []
