"""PNG pictures of a training run: loss / accuracy curves, the confusion matrix, the accuracy of
each class (matplotlib, headless), and `plot_run`, which draws them into a run folder.

The numbers come from `convkit.cnn.metrics` and `convkit.cnn.runs`;
`convkit.cnn.runs.train_run` sits below this package, so it does not import
these pictures: its caller passes `plot_run` (``convkit train`` does).

Figures are drawn with `matplotlib.figure.Figure` and the Agg canvas (no
pyplot, no display) and written through `convkit.io.atomic.atomic_file`.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Mapping, Sequence

import numpy as np

from ..io.atomic import atomic_file

if TYPE_CHECKING:
    from ..cnn.runs import RunConfig, RunResult

__all__ = ["plot_curves", "plot_confusion", "plot_class_accuracy", "plot_run", "missing_glyphs_phrased"]


@contextlib.contextmanager
def missing_glyphs_phrased() -> Iterator[None]:
    """While drawing: matplotlib's "Glyph N (...) missing from font(s) X." warnings (one per
    character, for class names or titles in scripts the font lacks) become one warning that names
    the characters; other warnings pass through unchanged."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    missing: dict[str, str] = {}
    for w in caught:
        m = re.match(r"Glyph (\d+) .*missing from font\(s\) (.+?)\.?$", str(w.message))
        if m:
            missing.setdefault(chr(int(m.group(1))), m.group(2))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if missing:
        fonts = ", ".join(sorted(set(missing.values())))
        warnings.warn(f"the plot font ({fonts}) has no glyph for {''.join(missing)!r} (in class names "
                      "or titles); those characters are drawn as empty boxes", UserWarning, stacklevel=3)


def _save(fig, path: str | os.PathLike, overwrite: bool) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig)
    with atomic_file(path, overwrite=overwrite) as fh, missing_glyphs_phrased():
        fig.tight_layout()                   # lays the text out: the first time glyphs are looked up
        fig.savefig(fh, format="png", dpi=100)


def plot_curves(history: Mapping[str, Sequence[float]], epochs: Sequence[int], path: str | os.PathLike, *,
                title: str = "", overwrite: bool = False, averaged: tuple[int, int] | None = None) -> None:
    """Two panels, loss and accuracy per epoch, training and (if present) validation;
    `averaged` = (first, last) epoch of a weight average, shaded."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator
    fig = Figure(figsize=(9, 3.6))
    for ax, key, label in zip(fig.subplots(1, 2), ("loss", "accuracy"), ("loss", "accuracy")):
        ax.plot(epochs, history[key], "o-", ms=3, label="train")
        if history.get(f"val_{key}"):
            ax.plot(epochs, history[f"val_{key}"], "s-", ms=3, label="validation")
        if averaged:
            ax.axvspan(averaged[0] - 0.5, averaged[1] + 0.5, color="0.85", zorder=0,
                       label="weights averaged")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    _save(fig, path, overwrite)


def plot_confusion(matrix: np.ndarray, class_names: Sequence[str], path: str | os.PathLike, *,
                   title: str = "", overwrite: bool = False) -> None:
    """The confusion matrix as a heat map with the count in every cell (rows: true, columns: predicted)."""
    from matplotlib.figure import Figure
    m = np.asarray(matrix)
    k = len(class_names)
    side = min(12.0, 2.5 + 0.5 * k)
    fig = Figure(figsize=(side, side * 0.9))
    ax = fig.subplots()
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(k), [str(c) for c in class_names], rotation=45 if k > 6 else 0)
    ax.set_yticks(range(k), [str(c) for c in class_names])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 30:
        top = m.max() if m.size else 0
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if top and m[i, j] > top / 2 else "black")
    ax.set_title(title or "confusion matrix")
    _save(fig, path, overwrite)


def plot_class_accuracy(accuracy: Sequence[float], path: str | os.PathLike, *, title: str = "",
                        overwrite: bool = False) -> None:
    """The test accuracy of every class, sorted from worst to best (for more classes than a
    confusion matrix can show); classes without test samples are left out."""
    from matplotlib.figure import Figure
    a = np.sort(np.asarray(accuracy, np.float64)[~np.isnan(np.asarray(accuracy, np.float64))])
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    ax.plot(np.arange(1, a.size + 1), a, "-", lw=1.5)
    ax.set_xlabel(f"class, sorted by accuracy ({a.size} with test samples)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title or "accuracy per class")
    _save(fig, path, overwrite)


def plot_run(result: RunResult, config: RunConfig) -> None:
    """Draw the pictures of a finished run into its folder.

    ``curves.png``: loss and accuracy per epoch, titled with the dataset and
    the architecture, the averaged epochs shaded. ``confusion.png``: the test
    confusion matrix, or for a run with too many classes for one
    (`convkit.cnn.metrics.MAX_CONFUSION_CLASSES`) the test accuracy of each
    class. The names are those of `convkit.cnn.runs.RUN_FILES`;
    `convkit.cnn.runs.train_run` calls this when it is passed as ``draw``
    (``convkit train`` passes it).

    Parameters
    ----------
    result : convkit.cnn.runs.RunResult
        A finished run: its folder, history, metrics and confusion matrix.
    config : convkit.cnn.runs.RunConfig
        Its settings (the titles name the dataset and the architecture).

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from convkit.cnn import History
    >>> from convkit.cnn.runs import RunConfig, RunResult
    >>> history = History()
    >>> history.append(1, {"loss": 0.9, "accuracy": 0.6})
    >>> history.append(2, {"loss": 0.5, "accuracy": 0.8})
    >>> run = RunResult(Path(tempfile.mkdtemp()), history, False, {"test_accuracy": 0.75},
    ...                 np.array([[3, 1], [1, 3]]), ["cat", "dog"])
    >>> plot_run(run, RunConfig(dataset="pets"))
    >>> sorted(p.name for p in run.out.iterdir())
    ['confusion.png', 'curves.png']
    """
    from ..cnn.runs import RUN_FILES

    out = Path(result.out)
    plot_curves(result.history.history, result.history.epoch, out / RUN_FILES["curves"],
                title=f"{config.dataset}: {config.arch}", overwrite=True, averaged=result.averaged)
    title = f"{config.dataset} test: accuracy {result.metrics['test_accuracy']:.2%}"
    if result.confusion is None:
        plot_class_accuracy([np.nan if a is None else a for a in result.metrics["class_accuracy"]],
                            out / RUN_FILES["confusion"], overwrite=True, title=title)
    else:
        plot_confusion(result.confusion, result.class_names, out / RUN_FILES["confusion"], overwrite=True,
                       title=title)
