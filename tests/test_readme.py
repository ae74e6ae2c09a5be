"""The README's python code blocks run as they are."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_a_quickstart():
    assert BLOCKS, "README.md has no ```python block"


def test_readme_python_blocks_run(capsys):
    namespace = {"__name__": "__readme__"}
    for block in BLOCKS:
        exec(compile(block, str(README), "exec"), namespace)
    assert "premium" in capsys.readouterr().out
    # The blocks build on each other: the quickstart model, then its inspection.
    tasks = ["price", "premium", "grade"]
    assert list(namespace["est"].tasks_) == tasks
    assert list(namespace["table"].index) == tasks
