"""Render the pages' math at build time, offline: matplotlib's mathtext draws each formula as SVG.

Why this and not the usual extensions: ``sphinx.ext.imgmath`` needs a LaTeX
installation, and ``sphinx.ext.mathjax`` loads MathJax from a CDN when the
page is viewed (shipping MathJax would add a large JavaScript dependency).
matplotlib is already a dependency of convkit and its mathtext covers the
formulas of these pages (integrals, sums, fractions, Greek letters). Each
``:math:`` role and ``.. math::`` block becomes an inline ``<img>`` holding
the SVG as a data URI, with the TeX source as its alt text; nothing is
fetched at build or view time.
"""

from __future__ import annotations

import base64
import html
import io

from docutils import nodes

INLINE_PT, BLOCK_PT = 12, 18


def svg(tex: str, size: int) -> tuple[str, float]:
    """(data URI of the formula drawn as SVG, depth below the baseline in px)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import math_to_image

    buffer = io.BytesIO()
    depth = math_to_image(f"${tex}$", buffer, prop=FontProperties(size=size), format="svg")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/svg+xml;base64,{data}", float(depth)


def _img(tex: str, size: int, cls: str) -> str:
    uri, depth = svg(tex, size)
    return (f'<img class="{cls}" src="{uri}" alt="{html.escape(tex)}" '
            f'style="vertical-align: -{depth:.1f}pt">')


def visit_math(self, node) -> None:
    self.body.append(_img(node.astext(), INLINE_PT, "math"))
    raise nodes.SkipNode


def visit_displaymath(self, node) -> None:
    tex = node["latex"] if "latex" in node else node.astext()
    self.body.append(f'<div class="math-block">{_img(" ".join(tex.split()), BLOCK_PT, "math")}</div>')
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer("mathtext", (visit_math, None), (visit_displaymath, None))
    return {"parallel_read_safe": True, "version": "1"}
