"""Sphinx configuration of the sklearn_mtl documentation.

Build with ``make docs`` from the repository root (warnings are errors);
``make docs-check`` then looks at the built pages in headless Chromium
(``docs/check_site.py``).

Where things go:

- a user-guide page: ``docs/guide/<name>.rst`` plus one line in the toctree of
  ``docs/user_guide.rst``, in reading order;
- an example: ``examples/<name>.py`` (``plot_`` prefix not needed); it is
  placed after the ones listed in ``docs/_ext/gallery_order.py``;
- an API entry: add the name to its module's ``__all__``; a new public module:
  one line in ``PUBLIC_MODULES`` below;
- a benchmark page: ``docs/benchmarks/<name>.rst`` (collected by glob).
"""

import importlib
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

# A page cannot redraw a progress line: each redraw of the examples' tqdm lines
# (verbose=1) would become a line of their output. tqdm reads its TQDM_*
# defaults when first imported, by sklearn_mtl below.
os.environ.setdefault("TQDM_DISABLE", "1")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE / "_ext"))

from thumbnails import draw_thumbnails  # noqa: E402

import sklearn_mtl  # noqa: E402

project = "sklearn_mtl"
author = "sklearn_mtl developers"
copyright = "2026, sklearn_mtl developers"
release = version = sklearn_mtl.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_copybutton",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "sg_execution_times.rst", "**/sg_execution_times.rst"]

# -- HTML: the theme of scikit-learn, pandas and NumPy, fully offline -----------------

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn_mtl {version}"
html_static_path = ["_static"]
html_css_files = ["css/custom.css"]
html_theme_options = {
    "navbar_align": "left",
    # A search icon rather than a search field: with five section links the
    # field wraps the header onto two lines at a 1024 px window.
    "navbar_persistent": ["search-button"],
    "navbar_end": ["theme-switcher"],
    "header_links_before_dropdown": 6,
    "show_toc_level": 2,
    "show_prev_next": True,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
    "navigation_with_keys": False,
}
# No left sidebar on the landing and getting-started pages (short, linear), nor on
# API pages: their docstring examples are written to 100 characters a line,
# which fit in the full-width column at a 1024 px window.
html_sidebars = {"index": [], "getting_started": [], "api/generated/*": []}
html_copy_source = False
html_show_sourcelink = False

# Copy code without the prompts and outputs of doctest-style blocks.
copybutton_prompt_text = r">>> |\.\.\. "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = True

# -- API docstrings ---------------------------------------------------------------------

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# -- Gallery ----------------------------------------------------------------------------

# Thumbnails of the examples that draw no figure are diagrams drawn here.
draw_thumbnails(HERE / "_static" / "thumbnails")

# Examples run during the build so that the gallery shows their output and
# figures (a few minutes on one thread). For a quick build of the text only:
# make docs SPHINXOPTS="-D plot_gallery=0".
sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",
    "within_subsection_order": "gallery_order.GalleryOrder",
    "download_all_examples": False,
    "remove_config_comments": True,
    "reset_modules": ("matplotlib", "gallery_order.figure_style"),
    # A second, twice as sharp image for high-density screens.
    "image_srcset": ["2x"],
    "thumbnail_size": (320, 224),
    # Its summary page loads scripts from a CDN; the site must work offline.
    "write_computation_times": False,
    # The examples run one torch thread each (the Makefile's OMP_NUM_THREADS=1): two at a
    # time use both cores of a 2-core machine.
    "parallel": 2,
}

# -- API reference: one page per public module, from its __all__ --------------------

PUBLIC_MODULES = {
    "sklearn_mtl": "Estimator, targets and scoring",
    "sklearn_mtl.inspection": "Inspection: does multi-task learning help?",
    "sklearn_mtl.model_selection": "Model selection: out-of-fold predictions",
    "sklearn_mtl.uncertainty": "Uncertainty: prediction intervals and sets",
    "sklearn_mtl.weighting": "Task-weighting strategies",
    "sklearn_mtl.architectures": "Architectures",
    "sklearn_mtl.embeddings": "Numeric embeddings",
    "sklearn_mtl.datasets": "Datasets",
    "sklearn_mtl.parallel": "Parallel and distributed training",
}


def _public_members(module):
    return [m for m in getattr(module, "__all__", []) if not m.startswith("__")]


def _write_api_pages():
    """Write ``api/<module>.rst`` autosummary pages (build output, not committed).

    The index shows every module's table of names with their one-line
    summaries; each module page adds the module's docstring.
    """
    out = HERE / "api"
    out.mkdir(exist_ok=True)
    index = [
        "API reference",
        "=============",
        "",
        "Every public name, by module, with the first line of its docstring.",
        "",
        ".. toctree::",
        "   :hidden:",
        "",
    ]
    index += [f"   {name}" for name in PUBLIC_MODULES]
    for name, title in list(PUBLIC_MODULES.items()):
        try:
            module = importlib.import_module(name)
        except ImportError:
            PUBLIC_MODULES.pop(name)
            index.remove(f"   {name}")
            continue
        members = [f"   {member}" for member in _public_members(module)]
        table = [f".. currentmodule:: {name}", "", ".. autosummary::", "   :nosignatures:"]
        page = [
            title,
            "=" * len(title),
            "",
            f".. automodule:: {name}",
            "   :no-members:",
            "",
            *table,
            "   :toctree: generated",
            "",
            *members,
        ]
        (out / f"{name}.rst").write_text("\n".join(page) + "\n")
        index += ["", title, "-" * len(title), "", f":mod:`{name}`", "", *table, "", *members]
    (out / "index.rst").write_text("\n".join(index) + "\n")


_write_api_pages()


def _skip_member(app, what, name, obj, skip, options):
    # scikit-learn's metadata-routing helpers (set_fit_request...) are generic
    # and their docstrings point into scikit-learn's own glossary.
    if name == "get_metadata_routing" or (name.startswith("set_") and name.endswith("_request")):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
