"""Regenerate every sample file deterministically (in convkit/data/; samples/ links to them).

    python samples/make_samples.py [--force]

Images come from scikit-image's bundled `skimage.data` (nothing is downloaded);
signals and impulse responses are generated here with a fixed seed. The seed
walkthrough's feature map is computed with scipy.signal.correlate2d, the
reference, not with convkit. Existing files are kept unless --force is given.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import skimage.data
from scipy.io import wavfile
from scipy.signal import correlate2d

from convkit.io.images import write_image

# the files ship inside the package (convkit.data); samples/ holds links to them for a checkout
HERE = Path(__file__).resolve().parent.parent / "convkit" / "data"

# The seed walkthrough (cnn-tutorial-uk.md): a 7x7 binary picture (two eyes, a
# nose, a smile) and a 3x3 binary feature detector. Laid over the picture as
# written (cross-correlation, stride 1, no padding) they give a 5x5 feature
# map whose first cell is 0 and second cell is 1, as the walkthrough narrates;
# its largest value, 4, is where all four ones of the detector meet ones.
SEED_IMAGE = np.array([
    [0, 0, 0, 0, 0, 0, 0],
    [0, 1, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 1, 0, 0, 0],
    [0, 1, 0, 0, 0, 1, 0],
    [0, 0, 1, 1, 1, 0, 0],
    [0, 0, 0, 0, 0, 0, 0],
])
SEED_DETECTOR = np.array([
    [0, 0, 1],
    [1, 0, 0],
    [0, 1, 1],
])

RIDGE = np.array([[-1, -1, -1], [2, 2, 2], [-1, -1, -1]])          # bright horizontal line
KIRSCH_N = np.array([[5, 5, 5], [-3, 0, -3], [-3, -3, -3]])        # Kirsch compass, north
# 5x5 emboss: -1 above the anti-diagonal, +1 below, 1 in the centre (sum 1)
EMBOSS5 = np.sign(np.add.outer(np.arange(5), np.arange(5)) - 4).astype(np.float64)
EMBOSS5[2, 2] = 1.0


def _save_csv(path: Path, a: np.ndarray, header: str) -> None:
    """Integer or float matrix as comma-separated text with a '#' header line."""
    fmt = "%d" if a.dtype.kind in "iub" else "%.10g"
    np.savetxt(path, a, fmt=fmt, delimiter=",", header=header)


def _digit(strokes: list[tuple[int, int, int, int]]) -> np.ndarray:
    """A 32x32 hand-drawn-looking digit: white strokes (3 px wide) on black, like the 8x8
    digits convkit train learns from (ink is bright there too)."""
    from scipy.ndimage import binary_dilation
    from skimage.draw import line
    ink = np.zeros((32, 32), bool)
    for r0, c0, r1, c1 in strokes:
        ink[line(r0, c0, r1, c1)] = True
    return np.where(binary_dilation(ink, iterations=2), 255, 0).astype(np.uint8)


# strokes (row, col) -> (row, col); drawn by hand for `convkit predict`, not taken from any dataset
DIGITS = {
    "digit_7.png": [(5, 8, 5, 24), (5, 24, 27, 13)],
    "digit_4.png": [(4, 18, 19, 6), (19, 6, 19, 26), (8, 20, 28, 20)],
}


def _images(force: bool) -> None:
    """camera (256x256 gray, 2x2 means), coins (gray, as bundled), astronaut (256x256 RGB crop),
    two drawn digits (32x32 gray)."""
    camera = skimage.data.camera().reshape(256, 2, 256, 2).mean(axis=(1, 3))
    images = {
        "camera.png": np.round(camera).astype(np.uint8),
        "coins.png": skimage.data.coins(),
        "astronaut.png": skimage.data.astronaut()[10:266, 120:376],   # the face, full resolution
    }
    images.update({name: _digit(strokes) for name, strokes in DIGITS.items()})
    for name, image in images.items():
        if force or not (HERE / name).exists():
            write_image(HERE / name, image, overwrite=force)


def _signals(force: bool) -> None:
    """A 1-D signal and impulse response as CSV, and a mono WAV pair for `convkit convolve`."""
    n = np.arange(64)
    signal = ((n % 32) < 8).astype(float) + 0.25 * np.sin(2 * np.pi * n / 16)
    response = 0.3 * 0.7 ** np.arange(12)                     # one-pole low-pass, sum ~1
    for name, values, header in (
            ("signal.csv", signal, "pulse train (period 32, width 8) plus a sine of period 16"),
            ("impulse_response.csv", response, "one-pole low-pass h[n] = 0.3 * 0.7**n, n = 0..11")):
        path = HERE / name
        if force or not path.exists():
            np.savetxt(path, values, fmt="%.10g", header=header)

    rate = 8000
    rng = np.random.default_rng(2026)
    t = np.arange(rate) / rate                                # 1 s
    notes = np.where(t < 0.5, 440.0, 660.0)
    audio = 0.5 * np.sin(2 * np.pi * notes * t) * np.minimum(1.0, 20 * (0.5 - np.abs(t % 0.5 - 0.25)))
    audio[::2000] += 0.4                                      # clicks that show the echo
    tail = np.arange(int(0.25 * rate)) / rate
    ir = rng.standard_normal(tail.size) * np.exp(-tail / 0.05)
    ir[0] = 1.0                                               # the direct sound
    ir /= np.abs(ir).sum() / 4
    for name, x in (("signal.wav", audio), ("impulse_response.wav", ir)):
        path = HERE / name
        if force or not path.exists():
            pcm = np.round(np.clip(x / max(1.0, np.abs(x).max()), -1, 1) * 32767).astype(np.int16)
            wavfile.write(path, rate, pcm)


def main(argv: list[str]) -> None:
    force = "--force" in argv
    (HERE / "kernels").mkdir(exist_ok=True)
    files = {
        "seed_image.csv": (SEED_IMAGE, "seed walkthrough: 7x7 binary image"),
        "seed_detector.csv": (SEED_DETECTOR, "seed walkthrough: 3x3 feature detector"),
        "seed_feature_map.csv": (correlate2d(SEED_IMAGE, SEED_DETECTOR, mode="valid"),
                                 "seed walkthrough: 5x5 feature map = valid cross-correlation"),
        "kernels/ridge.csv": (RIDGE, "ridge: responds to a bright horizontal line one pixel wide"),
        "kernels/kirsch_n.txt": (KIRSCH_N, "Kirsch compass kernel, north: brighter above"),
    }
    for name, (a, header) in files.items():
        path = HERE / name
        if force or not path.exists():
            if name.endswith(".txt"):
                np.savetxt(path, a, fmt="%d", header=header)
            else:
                _save_csv(path, a, header)
    if force or not (HERE / "kernels/emboss5.npy").exists():
        np.save(HERE / "kernels/emboss5.npy", EMBOSS5, allow_pickle=False)
    _images(force)
    _signals(force)


if __name__ == "__main__":
    main(sys.argv[1:])
