"""Fixtures shared by the test files: the samples folder, a CLI runner that goes
through `convkit_cli.main` (one-line errors, exit codes) and small scratch images.

Test-only references (finite differences, the naive conv2d, GIF/PNG readers)
are in `tests/helpers/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from click.testing import CliRunner

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@dataclass(frozen=True)
class CLIResult:
    """What one `convkit ...` run gave: its exit code and what it printed."""

    exit_code: int
    stdout: str
    stderr: str
    output: str                 # stdout and stderr interleaved, as a terminal shows them


def run_cli(*args: object, input: str | None = None) -> CLIResult:
    """Run ``convkit ARGS`` in-process exactly as the console script does (`convkit_cli.main`)."""
    from convkit_cli import main

    with CliRunner().isolation(input=input) as (out, err, mixed):
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        return CLIResult(code, out.getvalue().decode(), err.getvalue().decode(),
                         mixed.getvalue().decode())


@pytest.fixture(autouse=True)
def every_core_spare(monkeypatch):
    """The CNN engines use the cores other processes leave idle (`threads.spare_cores`); tests
    see every core as spare, so a test's thread count does not depend on what else the machine
    runs. `tests/test_threads.py` tests the reading itself."""
    from convkit._engine import threads

    monkeypatch.setattr(threads, "_stat_readable", False)
    monkeypatch.setattr(threads, "_load_last", None)
    monkeypatch.setattr(threads, "_load_spare", None)
    monkeypatch.setattr(threads, "_load_previous", None)


@pytest.fixture(scope="session")
def samples() -> Path:
    """The repository's samples/ folder (images, the seed arrays, kernels, signals)."""
    assert SAMPLES.is_dir(), f"samples folder missing: {SAMPLES}"
    return SAMPLES


@pytest.fixture
def cli() -> Callable[..., CLIResult]:
    """``cli("filter", path, "--kernel", "edge")`` -> CLIResult(exit_code, stdout, stderr, output)."""
    return run_cli


@pytest.fixture
def scratch_images(tmp_path: Path) -> dict[str, Path]:
    """Small image files in a fresh folder, named by what they hold.

    gray8.png (16x12 uint8 ramp), rgb8.png (16x12x3 uint8), gray16.png
    (16x12 uint16 ramp), rgba8.png (alpha), camera.png (a copy of the sample).
    """
    from convkit.io.images import write_image

    ramp = np.arange(16 * 12).reshape(16, 12)
    rng = np.random.default_rng(0)
    arrays = {
        "gray8.png": (ramp % 256).astype(np.uint8),
        "rgb8.png": rng.integers(0, 256, (16, 12, 3), dtype=np.uint8),
        "gray16.png": (ramp * 300).astype(np.uint16),
        "rgba8.png": rng.integers(0, 256, (16, 12, 4), dtype=np.uint8),
    }
    paths = {}
    for name, a in arrays.items():
        write_image(tmp_path / name, a)
        paths[name] = tmp_path / name
    paths["camera.png"] = tmp_path / "camera.png"
    paths["camera.png"].write_bytes((SAMPLES / "camera.png").read_bytes())
    return paths


@pytest.fixture
def tiny_digits(tmp_path: Path) -> Path:
    """A dataset .npz of 80 of scikit-learn's 8x8 digits (classes 0-3, 20 each), uint8."""
    from sklearn.datasets import load_digits

    d = load_digits()
    keep = np.concatenate([np.flatnonzero(d.target == c)[:20] for c in range(4)])
    path = tmp_path / "tiny.npz"
    np.savez(path, images=(d.images[keep] * 255 / 16).astype(np.uint8), labels=d.target[keep])
    return path
