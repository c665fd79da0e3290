"""Tests for pysplinet.studies.paper: the paper's numbers, checked against its text."""

import re

import pytest

from pysplinet.studies.paper import PAPER, SEARCH_SPACE, TABLES, TIME_SCALE, paper_rows
from _shared import SHARED

PAPER_TEXT = SHARED / "paper" / "splinet-paper.txt"
_POWER = re.compile(r"(\d+(?:\.\d+)?)\s*(?:×|imes)\s*10\^\{(-?\d+)\}")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)%")
_HEADERS = {(1, 1): r"$\sin(x)$", (1, 2): r"$\sin(2x)$", (1, 5): r"$\sin(5x)$",
            (2, None): "Peaks", (3, None): "Indian Pines"}


def _printed_tables():
    """{(table, frequency): [(label, [mean, std, min, max]), ...]} parsed from the text."""
    if not PAPER_TEXT.is_file():
        pytest.skip(f"paper text not available at {PAPER_TEXT}")
    lines = PAPER_TEXT.read_text(encoding="utf-8").splitlines()
    out = {}
    for (table, frequency), header in _HEADERS.items():
        start = next(i for i, line in enumerate(lines) if line.startswith(header + "\tmean"))
        rows = []
        for line in lines[start + 1:start + 6]:
            label = line.split("\t")[0].replace("$", "")
            if table == 1:
                values = [float(f"{m}e{e}") for m, e in _POWER.findall(line)]
            else:
                values = [float(v) for v in _PERCENT.findall(line)]
            rows.append((label, values))
        out[table, frequency] = rows
    return out


def test_tables_match_the_printed_paper():
    printed = _printed_tables()
    for (table, frequency), rows in printed.items():
        ours = paper_rows(table, frequency=frequency) if table == 1 else paper_rows(table)
        assert [(r["label"], [r["mean"], r["std"], r["min"], r["max"]]) for r in ours] == rows


def test_table_shapes_and_fields():
    assert [len(TABLES[t]["rows"]) for t in (1, 2, 3)] == [15, 5, 5]
    for number, table in TABLES.items():
        assert f"Table {number}" in table["source"]
        for row in table["rows"]:
            assert row["table"] == number
            assert (row["degree"] is None) == (row["architecture"] != "SpliNet")
            assert 0 < row["min"] and 0 < row["std"]
    assert "Spline parameterization" in PAPER["title"] and len(PAPER["authors"]) == 3


def test_only_the_documented_row_has_mean_above_max():
    odd = [(r["case"], r["label"]) for t in TABLES.values() for r in t["rows"]
           if not r["min"] <= r["mean"] <= r["max"]]
    assert odd == [("sin(2x)", "ResNet")]


def test_filters_and_bad_arguments():
    (row,) = paper_rows(1, architecture="SpliNet", degree=2, frequency=5)
    assert (row["mean"], row["max"]) == (7.4e-3, 4.2e-1)
    row["mean"] = 0.0
    assert paper_rows(1, architecture="SpliNet", degree=2, frequency=5)[0]["mean"] == 7.4e-3
    assert [r["mean"] for r in paper_rows(3, architecture="ODENet")] == [81.9]
    with pytest.raises(ValueError, match="`table`"):
        paper_rows(4)
    with pytest.raises(ValueError, match="Table 1 only"):
        paper_rows(2, frequency=1)
    with pytest.raises(ValueError, match="`architecture`"):
        paper_rows(1, architecture="ODEnet")


def test_time_scale_and_search_space_numbers():
    assert (TIME_SCALE["mean_lam"], TIME_SCALE["min_lam"], TIME_SCALE["max_lam"]) == (
        13.59, 10.72, 18.47)
    assert (TIME_SCALE["mean_accuracy_percent"], TIME_SCALE["n_runs"],
            TIME_SCALE["n_epochs"]) == (98.8, 100, 200)
    assert SEARCH_SPACE["L"] == tuple(range(2, 16)) and SEARCH_SPACE["n_runs"] == 100
    if PAPER_TEXT.is_file():
        text = PAPER_TEXT.read_text(encoding="utf-8")
        for phrase in ("$\\lambda = 13.59$", "from 10.72 to 18.47", "98.8%", "200 epochs"):
            assert phrase in text
