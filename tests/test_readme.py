"""The README's python code blocks run as they are, and the site shows what they print.

The landing page of the site (``docs/index.rst``) includes the README's first
python block (the quickstart) and shows its output in the ``text`` block
after ``Output:``; this test checks that output.
"""

import doctest
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LANDING = ROOT / "docs" / "index.rst"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def shown_output():
    """The landing page's ``Output:`` block, dedented."""
    text = LANDING.read_text()
    block = re.search(r"\nOutput:\n\n\.\. code-block:: text\n\n((?: {3}.*\n|\n)+)", text)
    assert block, "docs/index.rst has no 'Output:' text block after the quickstart"
    return "".join(line[3:] + "\n" for line in block[1].strip("\n").splitlines())


def test_readme_has_a_quickstart():
    assert BLOCKS, "README.md has no ```python block"


def test_readme_code_fits_the_site():
    # The landing page shows the quickstart; the site fits 79 characters a line.
    for block in BLOCKS:
        for line in block.splitlines():
            assert len(line) <= 79, f"README code line too wide for the site: {line!r}"


def test_readme_python_blocks_run(capsys, output_checker):
    namespace = {"__name__": "__readme__"}
    exec(compile(BLOCKS[0], str(README), "exec"), namespace)
    printed = capsys.readouterr().out
    assert output_checker.check_output(shown_output(), printed, doctest.NORMALIZE_WHITESPACE), (
        f"docs/index.rst shows\n{shown_output()}\nbut the quickstart prints\n{printed}"
    )
    for block in BLOCKS[1:]:
        exec(compile(block, str(README), "exec"), namespace)
    # The blocks build on each other: the quickstart model, then its inspection.
    tasks = ["price", "premium", "grade"]
    assert list(namespace["est"].tasks_) == tasks
    assert list(namespace["table"].index) == tasks
