"""Every script in examples/ runs to completion (slow: CI runs it in ``make test-slow``).

``make docs`` runs every example for the gallery, and fails on an example's
error. CI builds the docs before the slow tests, so an example whose gallery
page is newer than its source has already run: the test then checks the
page's record of the run instead of running the script a second time.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
GALLERY = ROOT / "docs" / "auto_examples"


#: What a gallery page holds once its example ran: to its end, or to an error.
RAN = ("Total running time of the script", "Traceback (most recent call last)")


def _gallery_record(script):
    """The gallery page of ``script`` when a docs build ran it after its last change.

    A page of a build that did not run the examples (``-D plot_gallery=0``)
    has neither mark of a run: the script then runs here.
    """
    page = GALLERY / f"{script.stem}.rst"
    if page.exists() and page.stat().st_mtime >= script.stat().st_mtime:
        record = page.read_text()
        if any(mark in record for mark in RAN):
            return record
    return None


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_runs(script, tmp_path):
    record = _gallery_record(script)
    if record is not None:
        assert "Total running time of the script" in record, f"{script.name} did not finish"
        assert "Traceback (most recent call last)" not in record
        return
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    # One thread per process: the budget of each example (< 2 min) is for a
    # 2-core machine, where torch's default threads oversubscribe shared cores.
    env.setdefault("OMP_NUM_THREADS", "1")
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"{script.name} failed:\n{result.stdout}\n{result.stderr}"
