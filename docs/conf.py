"""Sphinx configuration of the sklearn_mtl documentation.

Build with ``make docs`` from the repository root (warnings are errors). The
API pages list each public module's ``__all__``, so a new strategy or
architecture appears in the reference without editing the docs.
"""

import importlib
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import sklearn_mtl  # noqa: E402

project = "sklearn_mtl"
author = "sklearn_mtl developers"
copyright = "2026, sklearn_mtl developers"
release = version = sklearn_mtl.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = []
html_theme_options = {
    "description": "Multi-task learning for scikit-learn users",
    "fixed_sidebar": True,
}

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# Examples run during the build so that the gallery shows their output and
# figures (about a minute and a half in all on one thread). For a quick build
# of the text only: make docs SPHINXOPTS="-D plot_gallery=0".
sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "reset_modules": ("matplotlib",),
}

# -- API reference: one page per public module, from its __all__ -------------------

PUBLIC_MODULES = {
    "sklearn_mtl": "Estimator, targets and scoring",
    "sklearn_mtl.inspection": "Inspection: does multi-task learning help?",
    "sklearn_mtl.weighting": "Task-weighting strategies",
    "sklearn_mtl.architectures": "Architectures",
    "sklearn_mtl.datasets": "Datasets",
}


def _write_api_pages():
    """Write ``api/<module>.rst`` autosummary pages (build output, not committed)."""
    out = HERE / "api"
    out.mkdir(exist_ok=True)
    for name in list(PUBLIC_MODULES) + ["sklearn_mtl.parallel"]:
        try:
            module = importlib.import_module(name)
        except ImportError:
            PUBLIC_MODULES.pop(name, None)
            continue
        title = PUBLIC_MODULES.setdefault(name, "Parallel and distributed training")
        members = [m for m in getattr(module, "__all__", []) if not m.startswith("__")]
        lines = [
            title,
            "=" * len(title),
            "",
            f".. automodule:: {name}",
            "   :no-members:",
            "",
            f".. currentmodule:: {name}",
            "",
            ".. autosummary::",
            "   :toctree: generated",
            "   :nosignatures:",
            "",
        ]
        lines += [f"   {member}" for member in members]
        (out / f"{name}.rst").write_text("\n".join(lines) + "\n")
    index = ["API reference", "=============", "", ".. toctree::", "   :maxdepth: 2", ""]
    index += [f"   {name}" for name in PUBLIC_MODULES]
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
