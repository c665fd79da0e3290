"""Tests for pysplinet.studies.stats: summaries, bootstrap intervals and table writers."""

import csv
import io
import math
import warnings

import numpy as np
import pytest

from pysplinet.studies.stats import (SUMMARY_COLUMNS, group_runs, markdown_table, summarize,
                                     summarize_groups, write_csv)


def test_summary_matches_hand_computed_values():
    s = summarize([4.0, 1.0, 10.0, 2.0, 3.0], n_resamples=999)
    # mean 20/5; deviations -3,-2,-1,0,6 -> sum of squares 50, ddof=1 -> 50/4
    assert s["n"] == 5
    assert s["mean"] == 4.0
    assert s["std"] == pytest.approx(math.sqrt(12.5), rel=1e-15)
    assert (s["min"], s["max"], s["median"], s["q1"], s["q3"]) == (1.0, 10.0, 3.0, 2.0, 4.0)
    assert tuple(s) == SUMMARY_COLUMNS


def test_quartiles_interpolate_linearly():
    # positions (n-1) p = 0.75, 1.5, 2.25 between the sorted values 1, 2, 3, 4
    s = summarize([1.0, 2.0, 3.0, 4.0], n_resamples=999)
    assert (s["q1"], s["median"], s["q3"]) == (1.75, 2.5, 3.25)


def test_bootstrap_intervals_agree_with_normal_theory_for_a_large_sample():
    rng = np.random.default_rng(7)
    x = rng.normal(3.0, 2.0, 400)
    s = summarize(x, n_resamples=4999)
    mean, std, n = x.mean(), x.std(ddof=1), x.size
    half_mean = 1.959964 * std / math.sqrt(n)
    half_std = 1.959964 * std / math.sqrt(2 * (n - 1))
    assert s["mean_ci_low"] < mean < s["mean_ci_high"]
    assert s["std_ci_low"] < std < s["std_ci_high"]
    assert (s["mean_ci_high"] - s["mean_ci_low"]) / 2 == pytest.approx(half_mean, rel=0.1)
    assert (s["std_ci_high"] - s["std_ci_low"]) / 2 == pytest.approx(half_std, rel=0.15)


def test_confidence_level_widens_interval():
    x = np.random.default_rng(1).exponential(size=50)
    narrow = summarize(x, confidence_level=0.5, n_resamples=1999)
    wide = summarize(x, confidence_level=0.99, n_resamples=1999)
    assert wide["mean_ci_low"] < narrow["mean_ci_low"] < narrow["mean_ci_high"] \
        < wide["mean_ci_high"]


def test_intervals_are_deterministic_and_order_independent():
    x = np.random.default_rng(3).lognormal(size=30)
    a = summarize(x, n_resamples=999, seed=5)
    b = summarize(x[::-1].copy(), n_resamples=999, seed=5)
    c = summarize(x, n_resamples=999, seed=6)
    assert a == b
    assert c["mean_ci_low"] != a["mean_ci_low"]


@pytest.mark.parametrize("values", [[], [2.5], [3.0, 3.0, 3.0, 3.0]])
def test_small_and_constant_samples_give_nan_intervals_without_warnings(values):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = summarize(values, n_resamples=999)
    assert s["n"] == len(values)
    for key in ("mean_ci_low", "mean_ci_high", "std_ci_low", "std_ci_high"):
        assert math.isnan(s[key])
    if not values:
        assert all(math.isnan(s[k]) for k in SUMMARY_COLUMNS if k != "n")
    else:
        assert s["mean"] == values[0] and s["min"] == s["max"] == s["median"] == values[0]
    assert math.isnan(s["std"]) == (len(values) < 2)
    if len(values) == 4:
        assert s["std"] == 0.0


def test_two_values_bca_has_a_mean_interval_but_no_std_interval():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = summarize([1.0, 2.0], n_resamples=999)
    # every resample mean is 1, 1.5 or 2
    assert (s["mean_ci_low"], s["mean_ci_high"]) == (1.0, 2.0)
    assert math.isnan(s["std_ci_low"]) and math.isnan(s["std_ci_high"])
    p = summarize([1.0, 2.0], n_resamples=999, method="percentile")
    assert (p["std_ci_low"], p["std_ci_high"]) == (0.0, math.sqrt(0.5))


def test_three_values_give_finite_intervals():
    s = summarize([1.0, 2.0, 4.0], n_resamples=999)
    assert s["mean_ci_low"] < s["mean"] < s["mean_ci_high"] <= 4.0
    assert 0.0 <= s["std_ci_low"] < s["std"] < s["std_ci_high"]


@pytest.mark.parametrize("values, kwargs, match", [
    ([1.0, float("nan")], {}, "finite"),
    ([1.0, float("inf")], {}, "finite"),
    ([[1.0, 2.0]], {}, "one-dimensional"),
    ([1.0, 2.0], {"confidence_level": 1.0}, "confidence_level"),
    ([1.0, 2.0], {"n_resamples": 0}, "n_resamples"),
])
def test_bad_input(values, kwargs, match):
    with pytest.raises(ValueError, match=match):
        summarize(values, **kwargs)


def _runs():
    return [{"config": {"arch": a, "degree": d, "seed": s}, "metrics": {"err": v}}
            for a, d, s, v in [("SpliNet", 1, 0, 1.0), ("ResNet", None, 0, 5.0),
                               ("SpliNet", 1, 1, 3.0), ("SpliNet", 2, 0, 2.0),
                               ("ResNet", None, 1, 7.0)]]


def test_group_runs_by_config_keys_and_metric():
    groups = group_runs(_runs(), ("arch", "degree"), "err")
    assert groups == {("SpliNet", 1): [1.0, 3.0], ("ResNet", None): [5.0, 7.0],
                      ("SpliNet", 2): [2.0]}
    by_arch = group_runs(_runs(), lambda r: r["config"]["arch"], lambda r: -r["metrics"]["err"])
    assert by_arch == {"SpliNet": [-1.0, -3.0, -2.0], "ResNet": [-5.0, -7.0]}
    with pytest.raises(ValueError, match="tuple of configuration keys"):
        group_runs(_runs(), "arch", "err")


def test_summarize_groups_rows():
    rows = summarize_groups(group_runs(_runs(), ("arch", "degree"), "err"),
                            names=("arch", "degree"), n_resamples=99)
    assert [(r["arch"], r["degree"], r["n"], r["mean"]) for r in rows] == [
        ("SpliNet", 1, 2, 2.0), ("ResNet", None, 2, 6.0), ("SpliNet", 2, 1, 2.0)]
    assert list(rows[0])[:3] == ["arch", "degree", "n"]
    plain = summarize_groups({"a": [1.0, 2.0]}, n_resamples=99)
    assert plain[0]["group"] == "a" and plain[0]["std"] == math.sqrt(0.5)
    with pytest.raises(ValueError, match="do not match"):
        summarize_groups({("a", 1): [1.0]}, names=("arch",))


def test_markdown_table_formats_numbers():
    rows = [{"arch": "ResNet", "mean": 0.0178, "n": 100, "ci": float("nan")},
            {"arch": "SpliNet", "mean": 2.4e-05, "n": 99, "ci": 1.0}]
    text = markdown_table(rows, ["arch", "n", "mean", "ci"], formats={"mean": ".1e"},
                          headers={"arch": "architecture"})
    assert text == ("| architecture | n | mean | ci |\n"
                    "|---|---|---|---|\n"
                    "| ResNet | 100 | 1.8e-02 | n/a |\n"
                    "| SpliNet | 99 | 2.4e-05 | 1 |\n")


def test_write_csv_round_trips_floats_exactly(tmp_path):
    rows = [{"arch": "ResNet", "mean": 0.1 + 0.2, "extra": "dropped"},
            {"arch": "SpliNet, d = 1", "mean": float("nan")}]
    write_csv(tmp_path / "t.csv", rows, ["arch", "mean"])
    with open(tmp_path / "t.csv", newline="", encoding="utf-8") as handle:
        back = list(csv.DictReader(handle))
    assert back[0] == {"arch": "ResNet", "mean": repr(0.1 + 0.2)}
    assert float(back[0]["mean"]) == 0.1 + 0.2
    assert back[1]["arch"] == "SpliNet, d = 1" and math.isnan(float(back[1]["mean"]))
    buffer = io.StringIO()
    write_csv(buffer, rows[:1], ["arch"])
    assert buffer.getvalue() == "arch\r\nResNet\r\n"
