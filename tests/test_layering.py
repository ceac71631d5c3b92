"""The architecture of ARCHITECTURE.md, checked on the source: every module of convkit/
and cli/ is parsed with `ast` (nothing is imported) and each import statement,
at module level or inside a function, is resolved to the convkit module it loads.

* layers: a module imports only its own layer or the layers below it;
* no module imports an ``_underscore`` name from another module (a private
  module of convkit, e.g. ``convkit._names``, is fine to import as a module);
* cli/ imports nothing from ``convkit._*`` except ``convkit._names`` (its
  standard-library option tables feed ``--help`` without numpy);
* no import cycles, in the whole house or inside one layer, counting lazy
  imports (inside functions) too; the documented exceptions are the lazy
  edges listed in `LAZY_EXCEPTIONS` (the dask branch, the
  ``Sequential.fit/save/load`` wrappers), which may also go up a layer.

A failure lists every offender as ``file:line  what``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"convkit": ROOT / "convkit", "convkit_cli": ROOT / "cli"}

# ARCHITECTURE.md, top to bottom; a module may import its own layer and the ones below.
LAYERS = ["cli", "web", "viz", "cnn", "chunked", "public", "io", "engine", "primitives"]
PRIMITIVES = {"convkit.windows", "convkit.boundary", "convkit._names"}
SUBPACKAGE_LAYER = {"convkit_cli": "cli", "convkit.web": "web", "convkit.viz": "viz",
                    "convkit.cnn": "cnn", "convkit.pipeline": "public", "convkit.io": "io",
                    "convkit.data": "io", "convkit._engine": "engine"}
CLI_MAY_IMPORT_PRIVATE = {"convkit._names"}

# The documented exceptions of ARCHITECTURE.md: imports inside a function (never at module
# level) that go up a layer or close a cycle on purpose, as (importer, imported).
LAZY_EXCEPTIONS = {
    # the dask branch: an in-memory function hands a dask array up to convkit.chunked
    ("convkit.convolution", "convkit.chunked"),
    ("convkit.filters", "convkit.chunked"),
    ("convkit.pooling", "convkit.chunked"),
    # Sequential.fit / save / load: thin wrappers over the training loop and the model files
    # (load also reads .onnx files through convkit.cnn.onnx)
    ("convkit.cnn.model", "convkit.cnn.training"),
    ("convkit.cnn.model", "convkit.cnn.serialize"),
    ("convkit.cnn.model", "convkit.cnn.onnx"),
}


def _excepted(imp: "Import") -> bool:
    return not imp.module_level and (imp.module, imp.target) in LAZY_EXCEPTIONS


@dataclass(frozen=True)
class Import:
    """One import statement, resolved: `target` is the convkit module it loads."""

    module: str          # the importing module, e.g. "convkit.cnn.layers"
    path: Path
    line: int
    target: str          # e.g. "convkit._engine.conv2d"
    names: tuple[str, ...]   # the names taken from `target` (empty for `import x`)
    module_level: bool   # executed when the importing module is imported
    type_checking: bool  # inside `if TYPE_CHECKING:`

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _modules() -> dict[str, Path]:
    """Every module of convkit/ and cli/ by its import name."""
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _lazy_exports(package: str) -> dict[str, str]:
    """A package's `_EXPORTS` table (name -> submodule), if it re-exports lazily."""
    tree = ast.parse(MODULES[package].read_text())
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "_EXPORTS"):
            return ast.literal_eval(node.value)
    return {}


def _owner(module: str) -> str:
    """The module that `module` names, or its nearest known parent (for `convkit.x.attr`)."""
    while module not in MODULES and "." in module:
        module = module.rsplit(".", 1)[0]
    return module


def _resolve_from(importer: str, node: ast.ImportFrom) -> str:
    """The absolute module of `from ... import ...` in `importer`."""
    if node.level == 0:
        return node.module or ""
    base = importer if _is_package(importer) else importer.rsplit(".", 1)[0]
    for _ in range(node.level - 1):
        base = base.rsplit(".", 1)[0]
    return f"{base}.{node.module}" if node.module else base


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(nodes, module_level: bool, type_checking: bool):
    """(statement, module_level, type_checking) for every import below `nodes`."""
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, module_level, type_checking
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _walk(ast.iter_child_nodes(node), False, type_checking)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _walk(node.body, module_level, True)
            yield from _walk(node.orelse, module_level, type_checking)
        else:
            yield from _walk(ast.iter_child_nodes(node), module_level, type_checking)


def _imports(module: str) -> list[Import]:
    """The convkit / convkit_cli imports of one module, resolved to the modules they load."""
    path = MODULES[module]
    found = []
    for node, module_level, tc in _walk(ast.parse(path.read_text()).body, True, False):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    found.append(Import(module, path, node.lineno, _owner(alias.name), (),
                                        module_level, tc))
            continue
        source = _resolve_from(module, node)
        if source.split(".")[0] not in PACKAGES:
            continue
        exports = _lazy_exports(source) if _is_package(source) else {}
        plain = []
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            if submodule in MODULES:                      # `from pkg import module`
                found.append(Import(module, path, node.lineno, submodule, (), module_level, tc))
            elif alias.name in exports:                   # a lazy re-export: the module behind it
                found.append(Import(module, path, node.lineno, f"{source}.{exports[alias.name]}",
                                    (alias.name,), module_level, tc))
            else:
                plain.append(alias.name)
        if plain:
            found.append(Import(module, path, node.lineno, _owner(source), tuple(plain),
                                module_level, tc))
    return found


ALL_IMPORTS = [imp for module in MODULES for imp in _imports(module)]


def layer_of(module: str) -> str | None:
    """The ARCHITECTURE layer of a module; None if the document does not place it."""
    if module in PRIMITIVES:
        return "primitives"
    if module == "convkit.chunked":
        return "chunked"                 # above the in-memory functions it stands for
    if module == "convkit.__main__":
        return "cli"                     # `python -m convkit` is the command line
    for package, layer in SUBPACKAGE_LAYER.items():
        if module == package or module.startswith(package + "."):
            return layer
    if module == "convkit" or module.count(".") == 1:
        return "public"                  # top-level modules other than the primitives
    return None


def _report(title: str, offenders: list[str]) -> str:
    return f"{title} ({len(offenders)}):\n  " + "\n  ".join(offenders)


def test_every_module_has_a_layer():
    unplaced = [f"{path.relative_to(ROOT)}  ({name})" for name, path in MODULES.items()
                if layer_of(name) is None]
    assert not unplaced, _report("modules in no layer of ARCHITECTURE.md; add the package to "
                                 "SUBPACKAGE_LAYER here and to the document", unplaced)


def _layer_offenders(imports: list[Import]) -> list[str]:
    offenders = []
    for imp in imports:
        mine, theirs = layer_of(imp.module), layer_of(imp.target)
        if mine is None or theirs is None or _excepted(imp):
            continue
        if LAYERS.index(theirs) < LAYERS.index(mine):
            kind = "module-level" if imp.module_level else "lazy"
            offenders.append(f"{imp.where()}  {imp.module} ({mine}) imports {imp.target} "
                             f"({theirs}), a higher layer [{kind}]")
    return offenders


def test_imports_go_down_the_layers():
    offenders = _layer_offenders(ALL_IMPORTS)
    assert not offenders, _report("imports that go up the layers " + " -> ".join(LAYERS),
                                  offenders)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_attribute_uses(module: str) -> list[str]:
    """`mod._name` where `mod` is bound by an import of another convkit module."""
    path = MODULES[module]
    tree = ast.parse(path.read_text())
    bound = {}
    for imp_node, _, _ in _walk(tree.body, True, False):
        for alias in imp_node.names:
            if isinstance(imp_node, ast.Import) and alias.name.split(".")[0] in PACKAGES:
                if alias.asname:
                    bound[alias.asname] = alias.name
            elif isinstance(imp_node, ast.ImportFrom):
                full = f"{_resolve_from(module, imp_node)}.{alias.name}"
                if full in MODULES:
                    bound[alias.asname or alias.name] = full
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in bound and _private(node.attr)
                and bound[node.value.id] != module):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}  {module} uses "
                         f"{bound[node.value.id]}.{node.attr}")
    return found


def test_no_private_name_is_imported_from_another_module():
    offenders = [f"{imp.where()}  {imp.module} imports {name} from {imp.target}"
                 for imp in ALL_IMPORTS for name in imp.names
                 if _private(name) and imp.target != imp.module]
    for module in MODULES:
        offenders += _private_attribute_uses(module)
    assert not offenders, _report("private names taken from another module (make the name "
                                  "public, or move it into a private package such as "
                                  "convkit._engine)", offenders)


def test_cli_imports_no_private_convkit_module():
    offenders = []
    for imp in ALL_IMPORTS:
        if layer_of(imp.module) != "cli" or not imp.target.startswith("convkit."):
            continue
        private = [part for part in imp.target.split(".")[1:] if _private(part)]
        if private and imp.target not in CLI_MAY_IMPORT_PRIVATE:
            offenders.append(f"{imp.where()}  {imp.module} imports {imp.target}")
    assert not offenders, _report("cli imports from convkit._* (only convkit._names is allowed)",
                                  offenders)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with a cycle (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _module_level_graph(package: str) -> tuple[dict[str, set[str]], dict[tuple[str, str], str]]:
    graph: dict[str, set[str]] = {}
    where = {}
    for imp in ALL_IMPORTS:
        inside = imp.module.startswith(package + ".") or imp.module == package
        if not (inside and imp.module_level and not imp.type_checking):
            continue
        if imp.target == package or imp.target.startswith(package + "."):
            if imp.target != imp.module:
                graph.setdefault(imp.module, set()).add(imp.target)
                where.setdefault((imp.module, imp.target), imp.where())
    return graph, where


def test_cnn_module_level_imports_form_no_cycle():
    graph, where = _module_level_graph("convkit.cnn")
    offenders = []
    for component in _cycles(graph):
        edges = [f"{a} -> {b} ({where[a, b]})" for a in component
                 for b in sorted(graph.get(a, ())) if b in component]
        offenders.append("cycle: " + "; ".join(edges))
    assert not offenders, _report("module-level import cycles in convkit.cnn", offenders)


def _import_graph(imports: list[Import]) -> tuple[dict[str, set[str]], dict[tuple[str, str], str]]:
    """Every import, module-level or lazy (not `TYPE_CHECKING`), minus the documented exceptions."""
    graph: dict[str, set[str]] = {}
    where: dict[tuple[str, str], str] = {}
    for imp in imports:
        if imp.type_checking or imp.target == imp.module or _excepted(imp):
            continue
        graph.setdefault(imp.module, set()).add(imp.target)
        where.setdefault((imp.module, imp.target), imp.where())
    return graph, where


def _cycle_offenders(graph: dict[str, set[str]], where: dict[tuple[str, str], str],
                     layer: str | None = None) -> list[str]:
    """One line per cycle of `graph` (restricted to the modules of `layer` if given)."""
    if layer is not None:
        graph = {m: {t for t in ts if layer_of(t) == layer}
                 for m, ts in graph.items() if layer_of(m) == layer}
    return ["cycle: " + "; ".join(f"{a} -> {b} ({where[a, b]})" for a in component
                                  for b in sorted(graph.get(a, ())) if b in component)
            for component in _cycles(graph)]


def test_no_import_cycle_in_the_whole_house():
    offenders = _cycle_offenders(*_import_graph(ALL_IMPORTS))
    assert not offenders, _report("import cycles (lazy imports included; the exceptions are "
                                  "LAZY_EXCEPTIONS)", offenders)


@pytest.mark.parametrize("layer", LAYERS)
def test_no_import_cycle_inside_a_layer(layer):
    offenders = _cycle_offenders(*_import_graph(ALL_IMPORTS), layer=layer)
    assert not offenders, _report(f"import cycles inside the {layer} layer", offenders)


# The checker itself: each rule must see what it is meant to see.

def test_cycle_checks_see_cycles_inside_a_layer_and_across_layers():
    def imp(module, target, module_level=True):
        return Import(module, ROOT / "x.py", 1, target, (), module_level, False)
    inside = [imp("convkit.convolution", "convkit.filters"),
              imp("convkit.filters", "convkit.convolution", module_level=False)]
    graph, where = _import_graph(inside)
    assert _cycle_offenders(graph, where, layer="public") and _cycle_offenders(graph, where)
    assert not _cycle_offenders(graph, where, layer="io")
    across = [imp("convkit.io.images", "convkit.filters", module_level=False),
              imp("convkit.filters", "convkit.io.images")]
    graph, where = _import_graph(across)
    assert _cycle_offenders(graph, where)
    assert not _cycle_offenders(graph, where, layer="public")
    # a documented lazy exception closes no cycle; the same edge at module level does
    dask_branch = [imp("convkit.chunked", "convkit.convolution"),
                   imp("convkit.convolution", "convkit.chunked", module_level=False)]
    assert not _cycle_offenders(*_import_graph(dask_branch))
    dask_branch[1] = imp("convkit.convolution", "convkit.chunked")
    assert _cycle_offenders(*_import_graph(dask_branch))
    assert _layer_offenders(dask_branch[1:])

def test_resolution_of_relative_and_lazy_imports():
    imports = {(imp.module, imp.target) for imp in ALL_IMPORTS}
    assert ("convkit.io.codecs", "convkit.io.png16") in imports        # from . import png16
    assert ("convkit.io.images", "convkit.io.atomic") in imports       # from .atomic import ...
    assert ("convkit.viz.steps", "convkit.pooling") in imports         # lazy `from convkit import pool`
    lazy = [imp for imp in ALL_IMPORTS if imp.module == "convkit.viz.steps"
            and imp.target == "convkit.pooling"]
    assert lazy and not lazy[0].module_level


def test_cycle_finder_and_layer_table():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    assert layer_of("convkit._engine.run") == "engine"
    assert layer_of("convkit.convolution") == "public"
    assert LAYERS.index(layer_of("convkit.chunked")) < LAYERS.index(layer_of("convkit.filters"))
    assert layer_of("convkit._names") == "primitives"
    assert layer_of("convkit_cli.filter_cmd") == "cli"
    assert LAYERS.index(layer_of("convkit.io.images")) > LAYERS.index(layer_of("convkit.cnn.layers"))
    # the modules architecture step 2 moved or split: each where ARCHITECTURE.md puts it
    assert layer_of("convkit.cnn.session") == layer_of("convkit.cnn.metrics") == "cnn"
    assert layer_of("convkit.viz.training") == "viz"
    assert layer_of("convkit.pipeline") == layer_of("convkit.pipeline.arrays") == "public"
    assert layer_of("convkit.pipeline.files") == "public"
    assert layer_of("convkit.io.lazy.read") == layer_of("convkit.io.lazy.write") == "io"


def test_the_run_folder_takes_its_pictures_from_its_caller():
    """`convkit.cnn.runs` (cnn) writes the run folder of `convkit train`; its pictures are
    `convkit.viz.training`'s, a layer up, so the caller passes the drawing in (`draw=plot_run`)
    and neither cnn nor any layer below it imports viz, even lazily."""
    assert "convkit.cnn.plots" not in MODULES and "convkit.viz.training" in MODULES
    below_viz = LAYERS[LAYERS.index("viz") + 1:]
    offenders = [f"{imp.where()}  {imp.module} imports {imp.target}" for imp in ALL_IMPORTS
                 if layer_of(imp.module) in below_viz and layer_of(imp.target) == "viz"]
    assert not offenders, _report("imports of convkit.viz from below it", offenders)
    cli = [imp for imp in ALL_IMPORTS if imp.module == "convkit_cli.train_cmd"
           and imp.target == "convkit.viz.training"]
    assert cli and cli[0].names == ("plot_run",) and not cli[0].module_level


@pytest.mark.parametrize("source, expected", [
    ("from convkit.windows import _helper\n", "imports _helper from convkit.windows"),
    ("from .. import windows\nwindows._helper()\n", "uses convkit.windows._helper"),
    ("def f():\n    from ..cnn import Sequential\n",
     "convkit.io.fake (io) imports convkit.cnn (cnn), a higher layer [lazy]"),
    ("from convkit import filter_image\n",
     "convkit.io.fake (io) imports convkit.filters (public), a higher layer [module-level]"),
])
def test_offenders_are_found(tmp_path, monkeypatch, source, expected):
    fake = tmp_path / "fake.py"
    fake.write_text(source)
    monkeypatch.setitem(MODULES, "convkit.io.fake", fake)
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    imports = _imports("convkit.io.fake")
    found = [f"{imp.module} imports {n} from {imp.target}" for imp in imports
             for n in imp.names if _private(n)]
    found += _private_attribute_uses("convkit.io.fake") + _layer_offenders(imports)
    assert any(expected in line for line in found), found


def test_markers_are_registered_and_ci_runs_every_test():
    """`slow` and `browser` only let a developer leave tests out: pyproject registers them
    (with --strict-markers an unknown mark is an error) and CI's pytest selects no marker."""
    import re
    import tomllib

    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    registered = {line.split(":")[0] for line in options["markers"]}
    assert {"slow", "browser"} <= registered and "--strict-markers" in options["addopts"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python -m pytest || status=1" in ci and " -m " not in ci.split("python -m pytest")[1]
    browser = (ROOT / "tests" / "test_web_browser.py").read_text()
    assert "pytestmark = pytest.mark.browser" in browser
    used = {name for path in (ROOT / "tests").glob("test_*.py")
            for name in re.findall(r"pytest\.mark\.(\w+)", path.read_text())}
    assert used - {"parametrize"} <= registered, used
