"""Every code block of the documentation runs as it is shown (``docs/**/*.rst``).

How a page's blocks are run, so that the site can never show code that raises:

- ``.. code-block:: python`` blocks run in page order, in one namespace per
  page and a fresh working directory: the page's first blocks set up what the
  later ones use, as for a reader who copies them one after the other;
- ``.. code-block:: pycon`` blocks (``>>>`` prompts) run as doctests in the
  same namespace, and the output they show is checked (a shown decimal may
  differ in its last digit by one, as fits do between CPUs: see
  ``output_checker`` in ``tests/conftest.py``);
- a python block whose first line is ``# <name>.py`` is a script the page
  tells the reader to save: it is written to that file, and the page's entry
  in ``LAUNCH`` runs it;
- ``bash``, ``text`` and ``rst`` blocks are shown, not run. A bare ``::``
  literal block is refused: say what it holds with ``.. code-block:: <lang>``;
- no line of a code block is wider than ``MAX_LINE`` characters, what the site
  shows without scrolling at a 1024 px window;
- pages in ``SLOW`` (they start a cluster or several processes) run only with
  ``-m slow``. Keep the fits of other pages tiny: the fast suite runs them.

A new page needs nothing here unless it is slow or launches a script.
"""

import doctest
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sklearn

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GENERATED = ("_build", "api", "auto_examples")
MAX_LINE = 79
RUN = {"python", "pycon"}
SHOW = {"bash", "text", "rst"}
SLOW = {"guide/scaling.rst": "starts a Dask cluster and two torchrun processes"}
LAUNCH = {
    "guide/scaling.rst": [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "train.py",
    ]
}

DIRECTIVE = re.compile(r"^(?P<indent> *)\.\. code-block:: *(?P<lang>\S+) *$")
BARE_LITERAL = re.compile(r"^(?! *\.\. )(?=.*\S).*::$")


def pages():
    found = sorted(DOCS.rglob("*.rst"))
    return [p for p in found if p.relative_to(DOCS).parts[0] not in GENERATED]


def code_blocks(text):
    """``(language, code, line number)`` of each code block of an .rst page."""
    lines = text.splitlines()
    blocks = []
    for number, line in enumerate(lines):
        match = DIRECTIVE.match(line)
        if not match:
            continue
        indent = len(match["indent"])
        body, rest = [], iter(enumerate(lines[number + 1 :], start=number + 2))
        for _, row in rest:
            if row.strip() and not row.strip().startswith(":"):
                body.append(row)
                break
        for _, row in rest:
            if row.strip() and len(row) - len(row.lstrip()) <= indent:
                break
            body.append(row)
        blocks.append((match["lang"], textwrap.dedent("\n".join(body)).strip("\n"), number + 1))
    return blocks


def page_id(path):
    return path.relative_to(DOCS).as_posix()


PAGES = [
    pytest.param(
        path,
        id=page_id(path),
        marks=[pytest.mark.slow] if page_id(path) in SLOW else [],
    )
    for path in pages()
]


@pytest.mark.parametrize("path", PAGES)
def test_page_code_blocks_are_declared_and_fit(path):
    text = path.read_text()
    for number, line in enumerate(text.splitlines(), start=1):
        assert not BARE_LITERAL.match(line), (
            f"{page_id(path)}:{number} opens a bare '::' literal block; "
            "use '.. code-block:: python' (run by the tests) or bash/text"
        )
    for lang, code, number in code_blocks(text):
        assert lang in RUN | SHOW, f"{page_id(path)}:{number}: unknown language {lang!r}"
        for offset, line in enumerate(code.splitlines(), start=1):
            assert len(line) <= MAX_LINE, (
                f"{page_id(path)}:{number}+{offset} is {len(line)} characters wide; "
                f"the site shows {MAX_LINE} without scrolling: wrap it"
            )


@pytest.mark.parametrize(
    "shown, printed, accepted",
    [
        (
            "array([[0.992, 0.008],\n       [0.91 , 0.09 ]])",
            "array([[0.992, 0.008],\n       [0.911, 0.089]])",
            True,
        ),
        ("price  r2  0.996  0.997  -0.001  hurts", "price  r2  0.996  0.998  -0.001  hurts", True),
        ("0.125", "0.127", False),  # two units of the last digit
        ("0.5 hurts", "0.5 helps", False),  # words match exactly
        ("3 rows", "4 rows", False),  # integers match exactly
        ("1.5e-03", "1.6e-03", True),
        ("0.1 0.2", "0.1", False),
    ],
)
def test_shown_decimals_may_differ_in_their_last_digit_only(
    shown, printed, accepted, output_checker
):
    assert output_checker.check_output(shown, printed, doctest.NORMALIZE_WHITESPACE) is accepted


@pytest.mark.parametrize("path", PAGES)
def test_page_code_blocks_run(path, tmp_path, monkeypatch, output_checker):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    namespace = {"__name__": "__docs__"}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(
        checker=output_checker,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False,
    )
    with sklearn.config_context():  # a page may switch on metadata routing
        for lang, code, number in code_blocks(path.read_text()):
            name = f"{page_id(path)}:{number}"
            script = re.match(r"# (\S+\.py)\n", code)
            if lang == "python" and script:
                (tmp_path / script[1]).write_text(code)
            elif lang == "python":
                exec(compile(code, name, "exec"), namespace)
            elif lang == "pycon":
                test = parser.get_doctest(code, namespace, name, str(path), number)
                report = []
                result = runner.run(test, out=report.append, clear_globs=False)
                assert not result.failed, "".join(report)
                namespace.update(test.globs)  # DocTest ran on a copy
    if page_id(path) in LAUNCH:
        result = subprocess.run(LAUNCH[page_id(path)], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"{page_id(path)}: launch failed\n{result.stderr}"


def test_docs_have_code_to_run():
    runnable = [b for p in pages() for b in code_blocks(p.read_text()) if b[0] in RUN]
    assert len(runnable) >= 20, "the code-block parser found almost no code in docs/"
