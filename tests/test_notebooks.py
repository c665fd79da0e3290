"""The teaching notebooks in ``notebooks/`` run top to bottom and still show what they store.

Every ``*.ipynb`` there is executed once per test session in a fresh kernel, from the
notebooks folder, with nbclient. A notebook fails when

* a cell raises (nbclient stops and reports the cell);
* it does not open with a markdown cell or does not end with an "Exercises" section;
* it was committed unexecuted or out of order (execution counts must read 1, 2, 3, ...);
* re-executing changes a number it shows beyond the last printed digit, or any other text
  it prints (stdout and text results; images and stderr are not compared).

The kernel is a temporary kernel spec named ``python3`` that runs ``sys.executable``, so the
notebooks see exactly the interpreter (and the installed pysplinet) that runs pytest, and
nothing has to be installed with ``python -m ipykernel install``.

To re-execute the notebooks and store their outputs after a change::

    python tests/test_notebooks.py                     # all of them
    python tests/test_notebooks.py notebooks/02_*.ipynb
"""

import contextlib
import json
import math
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL_NAME = "python3"
# per cell; generous because a first run on a fresh clone compiles the Numba kernels
CELL_TIMEOUT = 600

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_EXERCISES = re.compile(r"^#+\s*Exercises\b", re.MULTILINE)


@contextlib.contextmanager
def _kernel_environment():
    """A private Jupyter data/runtime folder whose ``python3`` kernel is this interpreter."""
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "JUPYTER_RUNTIME_DIR",
                                            "MPLBACKEND")}
    with tempfile.TemporaryDirectory(prefix="pysplinet-nb-") as tmp:
        spec_dir = Path(tmp, "kernels", KERNEL_NAME)
        spec_dir.mkdir(parents=True)
        spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f",
                         "{connection_file}"],
                "display_name": "Python 3 (pysplinet tests)", "language": "python"}
        (spec_dir / "kernel.json").write_text(json.dumps(spec))
        os.environ["JUPYTER_PATH"] = tmp          # searched before user and system folders
        os.environ["JUPYTER_RUNTIME_DIR"] = str(Path(tmp, "runtime"))
        os.environ.pop("MPLBACKEND", None)        # let the kernel use its inline backend
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def execute(path):
    """Run the notebook at ``path`` in a fresh kernel; return (executed notebook, seconds)."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name=KERNEL_NAME, record_timing=False,
        resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    with _kernel_environment():
        client.execute()
    return nb, time.perf_counter() - start


def shown_text(nb):
    """Per code cell, the text a reader sees: stdout and ``text/plain`` results."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        parts = []
        for out in cell.get("outputs", []):
            if out.output_type == "stream" and out.name == "stdout":
                parts.append(out.text)
            elif out.output_type in ("execute_result", "display_data"):
                parts.append(out.get("data", {}).get("text/plain", ""))
        cells.append("".join(parts))
    return cells


def _last_digit(token):
    """One unit in the last printed digit of a number token (``"0.0312"`` -> 1e-4)."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def text_difference(stored, fresh):
    """None when ``fresh`` shows what ``stored`` shows, else a line saying where not.

    Text outside numbers must be equal; numbers may differ by at most one unit in the
    last digit printed in ``stored``.
    """
    stored_words, fresh_words = _NUMBER.split(stored), _NUMBER.split(fresh)
    stored_nums, fresh_nums = _NUMBER.findall(stored), _NUMBER.findall(fresh)
    if stored_words != fresh_words or len(stored_nums) != len(fresh_nums):
        return f"text changed:\n--- stored\n{stored}\n--- fresh\n{fresh}"
    for a, b in zip(stored_nums, fresh_nums):
        tol = _last_digit(a) * (1 + 1e-9)
        if not math.isclose(float(a), float(b), rel_tol=0.0, abs_tol=tol):
            return f"number {a} became {b}:\n--- stored\n{stored}\n--- fresh\n{fresh}"
    return None


# ------------------------------------------------------------------------------------------
# Tests
# ------------------------------------------------------------------------------------------


def test_text_difference_tolerates_only_the_last_digit():
    assert text_difference("loss 0.0312, 41 MB\n", "loss 0.0313, 40 MB\n") is None
    assert text_difference("slope 2.00 (1.2e-05)", "slope 1.99 (1.3e-05)") is None
    assert text_difference("loss 0.0312", "loss 0.0314") is not None
    assert text_difference("slope 2.00", "slope 2.02") is not None
    assert text_difference("12 steps", "14 steps") is not None
    assert text_difference("equal: True", "equal: False") is not None
    assert text_difference("a 1 b", "a 1 b 2") is not None


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.fixture(scope="module")
def executed():
    """Notebook name -> (stored notebook, executed notebook, seconds), run at most once."""
    cache = {}

    def run(path):
        if path.name not in cache:
            stored = nbformat.read(path, as_version=4)
            fresh, seconds = execute(path)
            cache[path.name] = (stored, fresh, seconds)
        return cache[path.name]

    return run


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_structure(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.cells and nb.cells[0].cell_type == "markdown", \
        f"{path.name} must open with a markdown cell saying what the reader will learn"
    last = nb.cells[-1]
    assert last.cell_type == "markdown" and _EXERCISES.search(last.source), \
        f"{path.name} must end with a markdown cell holding an 'Exercises' heading"
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), \
        (f"{path.name} is stored unexecuted or out of order (execution counts {counts}); "
         f"re-run `python tests/test_notebooks.py {path.relative_to(NOTEBOOK_DIR.parent)}`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_reproduces_its_outputs(path, executed):
    stored, fresh, _ = executed(path)
    old, new = shown_text(stored), shown_text(fresh)
    assert len(old) == len(new)
    for k, (a, b) in enumerate(zip(old, new)):
        diff = text_difference(a, b)
        assert diff is None, (
            f"{path.name}, code cell {k + 1}: {diff}\nIf the change is intended, re-run "
            f"`python tests/test_notebooks.py {path.relative_to(NOTEBOOK_DIR.parent)}`")


def main(argv):
    """Execute the given notebooks (default: all) and store them with their outputs."""
    paths = [Path(a).resolve() for a in argv] or NOTEBOOKS
    for path in paths:
        nb, seconds = execute(path)
        nbformat.write(nb, path)
        print(f"{path.name}: executed in {seconds:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
