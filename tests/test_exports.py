"""The lazy packages (`convkit`, `convkit.viz`) export the same names to a type checker
and at run time: `_EXPORTS` (what ``__getattr__`` loads) equals the
``if TYPE_CHECKING:`` imports (what mypy reads), every name resolves, and mypy
types ``convkit.convolve`` and rejects ``convkit.convolv``.
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAZY_PACKAGES = {"convkit": ROOT / "convkit" / "__init__.py",
                 "convkit.viz": ROOT / "convkit" / "viz" / "__init__.py"}


def _declared(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(`_EXPORTS`, the TYPE_CHECKING imports as name -> submodule) of a package __init__."""
    tree = ast.parse(path.read_text())
    exports: dict[str, str] = {}
    checked: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets):
            exports = ast.literal_eval(node.value)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.level == 1, \
                    f"{path}:{imp.lineno}: only `from .module import name` belongs here"
                for alias in imp.names:
                    assert alias.asname is None, f"{path}:{imp.lineno}: no `as` renames"
                    checked[alias.name] = imp.module or ""
    return exports, checked


@pytest.mark.parametrize("package", sorted(LAZY_PACKAGES))
def test_exports_equal_type_checking_imports(package):
    exports, checked = _declared(LAZY_PACKAGES[package])
    assert exports, f"{package}: no _EXPORTS table found"
    only_runtime = {n: m for n, m in exports.items() if checked.get(n) != m}
    only_checker = {n: m for n, m in checked.items() if exports.get(n) != m}
    assert not only_runtime and not only_checker, (
        f"{package}: _EXPORTS and the TYPE_CHECKING imports differ\n"
        f"  in _EXPORTS only (or from another module): {only_runtime}\n"
        f"  in TYPE_CHECKING only (or from another module): {only_checker}")


@pytest.mark.parametrize("package", sorted(LAZY_PACKAGES))
def test_every_export_resolves(package):
    exports, _ = _declared(LAZY_PACKAGES[package])
    pkg = importlib.import_module(package)
    missing = []
    for name, module in sorted(exports.items()):
        try:
            value = getattr(pkg, name)
        except AttributeError as exc:
            missing.append(f"{package}.{name} (from .{module}): {exc}")
            continue
        source = importlib.import_module(f"{package}.{module}")
        if getattr(source, name, None) is not value:
            missing.append(f"{package}.{name} is not {package}.{module}.{name}")
    assert not missing, "exports that do not resolve:\n  " + "\n  ".join(missing)
    assert sorted(set(pkg.__all__) - {"__version__"}) == sorted(exports)


def test_unknown_attribute_is_an_attribute_error():
    import convkit
    import convkit.viz

    with pytest.raises(AttributeError, match=r"module 'convkit' has no attribute 'convolv'"):
        convkit.convolv  # noqa: B018
    with pytest.raises(AttributeError, match=r"module 'convkit.viz' has no attribute 'walk'"):
        convkit.viz.walk  # noqa: B018


@pytest.mark.slow
def test_mypy_sees_the_public_api(tmp_path):
    snippet = tmp_path / "snippet.py"
    snippet.write_text(textwrap.dedent("""\
        import convkit
        import convkit.viz

        y = convkit.convolve([1.0, 2.0], [1.0, 0.5])
        reveal_type(y)
        text: str = convkit.convolve([1.0], [1.0])
        convkit.convolv([1.0], [1.0])
        walk = convkit.viz.conv_walkthrough([[1.0, 2.0]], [[1.0]])
        reveal_type(walk)
        convkit.viz.conv_walkthru
        """))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--follow-imports=silent", "--cache-dir", str(tmp_path / "cache"), "--no-error-summary",
         "--hide-error-context", "--show-column-numbers", str(snippet)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    lines = {int(m[1]): m[2] for m in re.finditer(r"snippet\.py:(\d+):\d+: (.*)", result.stdout)}
    assert "numpy.ndarray" in lines.get(5, ""), result.stdout
    assert re.search(r'error: Incompatible types in assignment .*ndarray.*variable has type "str"',
                     lines.get(6, "")), result.stdout
    assert 'error: Module has no attribute "convolv"' in lines.get(7, ""), result.stdout
    assert "ConvWalkthrough" in lines.get(9, ""), result.stdout
    assert 'error: Module has no attribute "conv_walkthru"' in lines.get(10, ""), result.stdout
    assert set(lines) == {5, 6, 7, 9, 10}, result.stdout
