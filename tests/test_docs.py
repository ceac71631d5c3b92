"""The documentation covers the public API, and every public docstring is complete.

* The API reference (``docs/api/<package>.rst``) lists exactly each package's
  ``__all__``: an ``autosummary`` entry for a function or class, a
  ``py:data`` entry for a constant.
* Every public function and class of ``convkit``, ``convkit.cnn``,
  ``convkit.viz`` and ``convkit.io`` has a numpydoc docstring with the
  sections that fit it: Parameters (when it takes any), Returns or Yields
  (unless it returns None), Parameters or Attributes for a class, and an
  Examples section with at least one ``>>>`` line.
* Those examples run: ``--doctest-modules`` over ``convkit/`` is part of the
  configured test run, and the docstrings live in those modules.

The docs build itself (``sphinx-build -W``, in ``.ci/run``) catches a broken
reference, a missing picture or a malformed docstring.
"""

from __future__ import annotations

import importlib
import inspect
import re
import tomllib
from pathlib import Path

import pytest
from numpydoc.docscrape import NumpyDocString

ROOT = Path(__file__).resolve().parent.parent
API = ROOT / "docs" / "api"
PACKAGES = ("convkit", "convkit.cnn", "convkit.cnn.onnx", "convkit.viz", "convkit.io")


def documented_names(text: str) -> tuple[list[str], list[str]]:
    """(autosummary entries, py:data names) of one reference page."""
    entries: list[str] = []
    in_summary = False
    for line in text.splitlines():
        if line.startswith(".. autosummary::"):
            in_summary = True
            continue
        if in_summary:
            if not line.strip() or line.strip().startswith(":"):
                continue
            if line.startswith("   "):
                entries.append(line.strip())
                continue
            in_summary = False
    data = re.findall(r"^\.\. py:data:: (\w+)\s*$", text, flags=re.M)
    return entries, data


def public(package: str) -> list[tuple[str, object]]:
    module = importlib.import_module(package)
    return [(name, getattr(module, name)) for name in module.__all__]


@pytest.mark.parametrize("package", PACKAGES)
def test_reference_lists_exactly_all(package):
    page = API / f"{package}.rst"
    entries, data = documented_names(page.read_text(encoding="utf-8"))
    assert len(entries) == len(set(entries)), f"{page.name} lists a name twice"
    assert re.search(rf"^\.\. currentmodule:: {re.escape(package)}\s*$",
                     page.read_text(encoding="utf-8"), flags=re.M), page.name
    names = dict(public(package))
    callables = {n for n, obj in names.items() if inspect.isclass(obj) or callable(obj)}
    assert set(entries) == callables, (
        f"{page.name}: missing {sorted(callables - set(entries))}, "
        f"not in __all__ {sorted(set(entries) - callables)}")
    assert set(data) == set(names) - callables, (
        f"{page.name}: constants missing {sorted(set(names) - callables - set(data))}, "
        f"not in __all__ {sorted(set(data) - (set(names) - callables))}")


def test_reference_pages_are_in_the_index():
    index = (API / "index.rst").read_text(encoding="utf-8")
    for package in PACKAGES:
        assert re.search(rf"^   {re.escape(package)}$", index, flags=re.M), package


def test_every_generated_file_has_a_maker():
    """A page may only include a picture or an output that the build's extension makes."""
    maker = (ROOT / "docs" / "_ext" / "convkit_figures.py").read_text(encoding="utf-8")
    pages = sorted((ROOT / "docs").rglob("*.rst"))
    wanted = {m for page in pages if "_build" not in page.parts and "generated" not in page.parts
              for m in re.findall(r"_generated/([\w.]+)", page.read_text(encoding="utf-8"))}
    assert wanted, "no page includes a generated picture"
    unmade = {name for name in wanted
              if not re.search(rf"[\"'/ ]{re.escape(Path(name).stem)}[.\"']", maker)}
    assert not unmade, f"no maker in docs/_ext/convkit_figures.py for {sorted(unmade)}"


def test_documented_names_reads_a_page():
    page = (".. currentmodule:: m\n\nA\n-\n\n.. autosummary::\n   :toctree: generated\n\n"
            "   f\n   C\n\nB\n-\n\n.. py:data:: K\n\n   a constant\n")
    assert documented_names(page) == (["f", "C"], ["K"])


def missing_sections(obj) -> list[str]:
    """The numpydoc sections `obj`'s docstring lacks (empty when complete)."""
    text = inspect.getdoc(obj) or ""
    doc = NumpyDocString(text)
    missing = []
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        pass                                  # an error: what it means, and an example
    elif inspect.isclass(obj):
        if not (doc["Parameters"] or doc["Attributes"]):
            missing.append("Parameters or Attributes")
    else:
        signature = inspect.signature(obj)
        if signature.parameters and not doc["Parameters"]:
            missing.append("Parameters")
        returns_none = signature.return_annotation in (None, "None")
        if not (doc["Returns"] or doc["Yields"] or returns_none):
            missing.append("Returns or Yields")
    if not any(line.lstrip().startswith(">>>") for line in doc["Examples"]):
        missing.append("Examples (with >>>)")
    return missing


def test_missing_sections_sees_gaps():
    def bare(x):
        """Only a summary."""

    def complete(x):
        """Summary.

        Parameters
        ----------
        x : int

        Returns
        -------
        int

        Examples
        --------
        >>> complete(1)
        """

    assert missing_sections(bare) == ["Parameters", "Returns or Yields", "Examples (with >>>)"]
    assert missing_sections(complete) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_public_docstrings_are_complete(package):
    gaps = {f"{package}.{name}": missing
            for name, obj in public(package)
            if (inspect.isclass(obj) or callable(obj)) and (missing := missing_sections(obj))}
    assert not gaps, "\n".join(f"{name}: no {', '.join(m)}" for name, m in gaps.items())


def test_examples_run_in_the_test_suite():
    """The docstrings' examples are doctests of the configured run over convkit/."""
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in options["addopts"].split()
    assert "convkit" in options["testpaths"]
    for package in PACKAGES:
        for name, obj in public(package):
            if inspect.isclass(obj) or callable(obj):
                assert inspect.getsourcefile(inspect.unwrap(obj)).startswith(str(ROOT / "convkit")), \
                    f"{package}.{name} is defined outside convkit/, where no doctest runs"


def code_blocks(text: str, language: str = "python") -> list[str]:
    """The bodies of the ``.. code-block:: <language>`` directives of an rst page, dedented."""
    blocks = []
    for match in re.finditer(rf"^\.\. code-block:: {language}\n\n((?:   .*\n|\n)+)", text, flags=re.M):
        lines = match.group(1).rstrip("\n").splitlines()
        blocks.append("\n".join(line[3:] for line in lines) + "\n")
    return blocks


def test_code_blocks_reads_a_page():
    page = "x\n\n.. code-block:: python\n\n   a = 1\n\n   b = a\n\ntext\n"
    assert code_blocks(page) == ["a = 1\n\nb = a\n"]


def test_every_install_line_names_this_distribution():
    # regression: the docs said `pip install convkit`, an unrelated project on the package index
    from convkit._names import DISTRIBUTION

    name = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"]
    assert name == DISTRIBUTION
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.rst")), *sorted((ROOT / "convkit").rglob("*.py")),
             *sorted((ROOT / "cli").rglob("*.py"))]
    seen = 0
    for path in texts:
        for target in re.findall(r"pip install ([^\s&|#`]+)", path.read_text(encoding="utf-8")):
            target = target.strip("\"'()")
            seen += 1
            assert target.startswith(".") or re.match(rf"({re.escape(name)}|{{DISTRIBUTION}})(\[[\w,]+\])?$",
                                                      target), \
                f"{path.relative_to(ROOT)}: pip install {target}"
    assert seen >= 3


TUTORIAL = sorted((ROOT / "docs" / "tutorial").glob("[0-9]-*.rst"))
# what a page's snippets compute, checked after them (a snippet that runs but computes nonsense fails)
CHECKS = {
    "1-integral": "\nassert abs(convkit.convolve_functions(box, box, np.array([0.0]), support_f=(-0.5, 0.5),"
                  " support_g=(-0.5, 0.5))[0] - 1) < 1e-6\n",
    "2-feature-detector": "\nassert feature_map.shape == (5, 5) and feature_map[0, 1] == 1\n",
    "8-backpropagation": "\nassert abs(layer.params['weight'][0, 0, 1, 2] - 2) < 0.5   # learned sobel_x\n",
}


def test_the_tutorial_is_split_into_pages_with_a_snippet_each():
    # regression: one 12,500 px page with a duplicate contents box and an empty side navigation
    index = (ROOT / "docs" / "tutorial" / "index.rst").read_text(encoding="utf-8")
    assert ".. contents::" not in index
    listed = re.findall(r"^   (\d-[\w-]+)$", index, flags=re.M)
    assert listed == [p.stem for p in TUTORIAL] and len(listed) == 9
    assert "(step 9)" not in "".join(p.read_text(encoding="utf-8") for p in TUTORIAL)


@pytest.mark.parametrize("page", TUTORIAL, ids=lambda p: p.stem)
def test_every_tutorial_snippet_runs_from_a_folder_outside_the_checkout(page, tmp_path):
    import os
    import subprocess
    import sys

    text = page.read_text(encoding="utf-8")
    code = code_blocks(text, "python")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["MPLBACKEND"] = "Agg"
    assert not str(tmp_path).startswith(str(ROOT))
    setup = subprocess.run([sys.executable, "-m", "convkit", "samples"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert setup.returncode == 0, setup.stderr
    for command in (line[2:] for block in code_blocks(text, "console") for line in block.splitlines()
                    if line.startswith("$ convkit")):
        import shlex
        res = subprocess.run([sys.executable, "-m", "convkit", *shlex.split(command)[1:]], cwd=tmp_path,
                             env=env, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, f"{command}: {res.stderr}"
    if code:                         # one fresh session per page, the blocks in order
        script = tmp_path / "page.py"
        script.write_text("\n".join(code) + CHECKS.get(page.stem, ""), encoding="utf-8")
        res = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=300)
        assert res.returncode == 0, f"{page.name}:\n{res.stderr}"


def test_docstrings_use_words_for_users():
    # regression: "THE output-length formula", "the seed walkthrough" (a name from the project's own notes)
    import pkgutil

    import convkit

    offenders = []
    for info in pkgutil.walk_packages(convkit.__path__, "convkit."):
        if info.name.startswith("convkit._"):
            continue
        module = importlib.import_module(info.name)
        texts = [module.__doc__ or ""] + [getattr(getattr(module, n), "__doc__", "") or ""
                                           for n in getattr(module, "__all__", [])]
        for text in texts:
            if re.search(r"\bTHE\b|\bseed (tutorial|walkthrough)", text):
                offenders.append(info.name)
    assert offenders == []


def test_readme_commands_do_not_write_into_samples():
    # the README's examples can run twice: a command that writes names its output elsewhere
    readme = (ROOT / "README.md").read_text()
    writers = [line for line in readme.splitlines()
               if re.match(r"\$ convkit (filter|pool|convolve) samples/", line)]
    assert writers
    for line in writers:
        assert re.search(r" -o (?!samples/)\S+", line), line
