"""The package's floor plan: one door per concept, imports that follow the data flow.

The import contracts live in ``pyproject.toml`` (``[tool.importlinter]``):
layers from the public face down to the features, and no import circle
between the modules of any package.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sklearn_mtl"
MODULES = sorted(PACKAGE.rglob("*.py"))


def test_import_contracts_are_kept():
    from importlinter.cli import lint_imports

    config = str(PACKAGE.parent / "pyproject.toml")
    assert lint_imports(config_filename=config, no_cache=True, no_logo=True) == 0


def test_the_root_holds_few_private_modules():
    private = [p.name for p in PACKAGE.glob("_*.py") if p.name != "__init__.py"]
    assert len(private) <= 8, private


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_are_short_and_say_what_they_are_in_a_few_lines(path):
    source = path.read_text()
    assert source.count("\n") <= 500, "split the module: one concept per module"
    docstring = ast.get_docstring(ast.parse(source), clean=False)
    assert docstring, "every module starts with a docstring"
    assert len(docstring.splitlines()) <= 10, "a module docstring needs a few lines, not a map"
