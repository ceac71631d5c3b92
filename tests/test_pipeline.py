"""`convkit.pipeline`: the array part equals scipy.ndimage plus the display rule, the same
for numpy and dask input (array type in = array type out); the file part writes all or nothing."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi

from convkit.io.images import read_image_raw, write_image
from convkit.pipeline import FilterJob, filter_array, filter_files

LAPLACIAN = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], float)


@pytest.fixture
def rgba() -> np.ndarray:
    rng = np.random.default_rng(5)
    return rng.integers(0, 256, (37, 41, 4), dtype=np.uint8)


def test_derivative_magnitude_pool_and_rescale_against_scipy(rgba):
    job = FilterJob.make(["laplacian"], pool=("max", 2), rescale=True)
    got = filter_array(rgba, job)
    colour = rgba[..., :3] / 255.0
    ref = np.stack([np.abs(ndi.correlate(colour[..., c], LAPLACIAN, mode="reflect"))
                    for c in range(3)], axis=-1)
    ref = ref[:36, :40].reshape(18, 2, 20, 2, 3).max(axis=(1, 3))
    alpha = (rgba[..., 3] / 255.0)[:36, :40].reshape(18, 2, 20, 2).max(axis=(1, 3))
    np.testing.assert_allclose(got[..., :3], ref / ref.max(), atol=1e-12)
    np.testing.assert_allclose(got[..., 3], alpha)


def test_smoothing_is_clipped_and_gray_uses_the_luma_weights(rgba):
    got = filter_array(rgba[..., :3], FilterJob.make(["box:3"], gray=True, boundary="wrap"))
    gray = rgba[..., :3] / 255.0 @ np.array([0.2125, 0.7154, 0.0721])
    np.testing.assert_allclose(got, np.clip(ndi.uniform_filter(gray, 3, mode="wrap"), 0, 1))


@pytest.mark.parametrize("options", [
    dict(kernels=["sobel"]), dict(kernels=["gaussian:sigma=1.5"], rescale=True),
    dict(kernels=["edge"], compare=True), dict(kernels=["box:3", "sobel_x"], stride=2,
                                                pool=("mean", 2)),
    dict(kernels=["emboss"], flip=True, gray=True), dict(kernels=[], pool=("sum", 3, 2), rescale=True),
])
def test_dask_in_dask_out_same_values(rgba, options):
    job = FilterJob.make(options.pop("kernels"), **options)
    eager = filter_array(rgba, job)
    lazy = filter_array(da.from_array(rgba, chunks=(13, 11, 4)), job)
    assert isinstance(eager, np.ndarray) and isinstance(lazy, da.Array)
    with dask.config.set(scheduler="sync"):
        np.testing.assert_allclose(lazy.compute(), eager, atol=1e-12)


def test_nan_and_overflow_raise_at_the_call_in_memory_and_when_computed_lazily():
    image = np.full((20, 20), 0.5, np.float32)
    image[3, 4] = np.nan
    job = FilterJob.make(["box:3"])
    with pytest.raises(ValueError, match="the image contains NaN or infinite samples"):
        filter_array(image, job)
    lazy = filter_array(da.from_array(image, chunks=10), job)       # no error yet
    with pytest.raises(ValueError, match="contains NaN or infinite samples"):
        lazy.compute(scheduler="sync")
    huge = FilterJob.make(["1e308,1e308;1e308,1e308"])
    with pytest.raises(OverflowError, match="too large to represent"):
        filter_array(np.ones((8, 8)), huge)
    with pytest.raises(OverflowError, match="too large to represent"):
        filter_array(da.ones((8, 8), chunks=4), huge).compute(scheduler="sync")


def test_job_checks_before_any_file():
    with pytest.raises(ValueError, match="unknown kernel 'edgy'"):
        FilterJob.make(["edgy"])
    with pytest.raises(ValueError, match="stride must be >= 1"):
        FilterJob.make(["edge"], stride=0)
    assert FilterJob.make(["box:3"], boundary="edge").boundary == "nearest"


@pytest.mark.parametrize("parallel", [False, True])
def test_batch_is_all_or_nothing(tmp_path, rgba, parallel):
    for name in ("a.png", "b.png"):
        write_image(tmp_path / name, rgba)
    (tmp_path / "c.png").write_bytes(b"not an image")
    (tmp_path / "a_out.png").write_bytes(b"old")
    sources = [tmp_path / n for n in ("a.png", "b.png", "c.png")]
    outputs = [tmp_path / n for n in ("a_out.png", "b_out.png", "c_out.png")]
    before = sorted(p.name for p in tmp_path.iterdir())
    with dask.config.set(scheduler="threads"), pytest.raises(ValueError, match="c.png") as error:
        filter_files(sources, outputs, FilterJob.make(["blur"]), overwrite=True, parallel=parallel)
    assert "nothing written" in error.value.__notes__[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (tmp_path / "a_out.png").read_bytes() == b"old"
    with dask.config.set(scheduler="threads"):
        filter_files(sources[:2], outputs[:2], FilterJob.make(["blur"]), overwrite=True,
                     parallel=parallel)
    ref = np.round(np.clip(filter_array(rgba, FilterJob.make(["blur"])), 0, 1) * 255)
    np.testing.assert_array_equal(read_image_raw(outputs[1]), ref.astype(np.uint8))
