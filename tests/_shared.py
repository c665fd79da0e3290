"""Where the tests look for the optional shared files (the authors' reference data, the
Indian Pines arrays, the paper): the ``shared`` folder beside the repository's folder.
Tests that need them are skipped when it is not there."""

from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_DATA = SHARED / "data"
