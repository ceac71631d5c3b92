"""benchmarks/fit_cost_model.py produces every constant of convkit/_engine/costs.py, and
that file is exactly what the script writes (fitting itself is a benchmark, not a test)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from convkit._engine import costs

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def script():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import fit_cost_model
        yield fit_cost_model
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_every_constant_has_a_fitter(script):
    assert list(script.FITTERS) == list(costs.COST), (
        f"costs.py entries without a fitter: {sorted(set(costs.COST) - set(script.FITTERS))}; "
        f"fitters without an entry: {sorted(set(script.FITTERS) - set(costs.COST))}")


@pytest.mark.parametrize("name, keys", [
    ("direct_tap", "TAP_DTYPES"), ("fft", "DTYPES"), ("fft1", "DTYPES"), ("oa", "DTYPES")])
def test_per_dtype_entries_are_the_fitted_dtypes(script, name, keys):
    assert list(costs.COST[name]) == list(getattr(script, keys))


def test_numpy_1d_entries_are_the_fitted_regimes(script):
    fitted = [f"{p} {r}" for p in script.NUMPY_1D_PRECISIONS for r in script.NUMPY_1D_REGIMES]
    assert list(costs.COST["numpy_1d"]) == fitted


def test_costs_py_is_what_the_script_writes(script):
    text = Path(costs.__file__).read_text()
    assert script.render(costs.COST) == text, "costs.py was edited by hand; regenerate it with " \
                                              "benchmarks/fit_cost_model.py --write"


def test_render_rounds_and_keeps_every_entry(script):
    fitted = {name: (dict.fromkeys(costs.COST[name], 1.234e-10) if isinstance(costs.COST[name], dict)
                     else 2.0 / 3) for name in script.FITTERS}
    namespace: dict = {}
    exec(script.render(fitted), namespace)
    assert namespace["COST"]["tap_threads"] == 0.67
    assert namespace["COST"]["fft"]["c16"] == 1.2e-10
    assert set(namespace["COST"]) == set(costs.COST)
