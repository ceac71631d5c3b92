"""convkit.cnn imports downwards only (the order in convkit/cnn/__init__.py and ARCHITECTURE.md);
the lazy Sequential.fit / save / load wrappers are the one exception."""

import ast
from pathlib import Path

import convkit.cnn

CNN = Path(convkit.cnn.__file__).parent
# bottom first; a module may import only modules of a lower rank
ORDER = [{"history", "layers", "losses", "metrics", "optim"}, {"batchnorm", "dropout"}, {"layers1d"}, {"model", "registry"}, {"serialize"}, {"session"}, {"callbacks"}, {"training"},
         {"arch", "datasets"}, {"onnx"}, {"runs"}]
RANK = {name: rank for rank, names in enumerate(ORDER) for name in names}
LAZY_EXCEPTIONS = {("model", "fit", "training"), ("model", "save", "serialize"), ("model", "load", "serialize"),
                   ("model", "load", "onnx")}


def _cnn_imports(tree):
    """(enclosing function or None, imported cnn module) for every relative import of a sibling,
    leaving out imports under `if TYPE_CHECKING:` (annotations only)."""
    found = []

    def visit(node, func):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            func = node.name
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = [node.module] if node.module else [a.name for a in node.names]
            found.extend((func, name.split(".")[0]) for name in names)
        for child in ast.iter_child_nodes(node):
            visit(child, func)

    visit(tree, None)
    return found


def test_every_cnn_module_has_a_rank():
    modules = {p.stem for p in CNN.glob("*.py")} - {"__init__"}
    assert modules == set(RANK)


def test_imports_go_downwards_and_only_the_documented_ones_are_lazy():
    upward, lazy = [], []
    for path in CNN.glob("*.py"):
        if path.stem == "__init__":
            continue
        for func, target in _cnn_imports(ast.parse(path.read_text())):
            if func is not None:
                lazy.append((path.stem, func, target))
            elif RANK[target] >= RANK[path.stem]:
                upward.append((path.stem, target))
    assert upward == []
    assert set(lazy) == LAZY_EXCEPTIONS


def test_order_is_documented_in_the_package():
    doc = " ".join(convkit.cnn.__doc__.split())
    written = "; ".join(", ".join(f"`{name}`" for name in sorted(rank, key=_DOC_ORDER.index)) for rank in ORDER)
    assert written in doc


# the order names appear in within a rank, as the docstring writes them
_DOC_ORDER = ["history", "layers", "losses", "metrics", "optim", "batchnorm", "dropout", "layers1d", "model", "registry",
              "serialize", "session", "callbacks", "training", "arch", "datasets", "onnx", "runs"]
