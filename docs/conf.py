"""Sphinx configuration for convkit's documentation.

The build is offline: no intersphinx inventories are fetched and the theme
loads no remote fonts or scripts. Every picture and every printed command
output in the tutorial and the guides is made during the build by
``_ext/convkit_figures.py``, which runs convkit itself.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "_ext"))

import convkit  # noqa: E402

project = "convkit"
author = "the convkit developers"
copyright = "2026, the convkit developers"
version = release = convkit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "convkit_figures",
    "convkit_math",
]

# Math is drawn at build time by matplotlib's mathtext (_ext/convkit_math.py): no LaTeX at
# build time, no MathJax CDN at view time.
html_math_renderer = "mathtext"
templates_path = ["_templates"]
exclude_patterns = ["_build", "_generated"]
nitpicky = True

autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

html_theme = "pydata_sphinx_theme"
html_title = f"convkit {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": True,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"**": ["sidebar-nav-bs"]}
html_show_sourcelink = False
