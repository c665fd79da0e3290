"""Tests for pysplinet.studies.sampling: Latin hypercube samples of hyperparameters."""

import collections
import math

import numpy as np
import pytest

from pysplinet.studies.sampling import Choice, LogUniform, Uniform, latin_hypercube

RANGES = {"lr": LogUniform(1e-3, 1e-1), "gamma": LogUniform(1e-10, 1e-4),
          "amplitude": LogUniform(1e-3, 1.0), "L": Choice(range(2, 16)),
          "momentum": Uniform(0.5, 0.9)}


def test_same_seed_same_samples_other_seed_other_samples():
    a = latin_hypercube(50, 3, RANGES)
    assert a == latin_hypercube(50, 3, RANGES)
    assert a != latin_hypercube(50, 4, RANGES)


def test_samples_do_not_depend_on_dict_order():
    reordered = dict(reversed(list(RANGES.items())))
    assert latin_hypercube(20, 0, reordered) == latin_hypercube(20, 0, RANGES)


def test_values_lie_in_their_ranges_with_plain_python_types():
    samples = latin_hypercube(100, 0, RANGES)
    assert len(samples) == 100
    for s in samples:
        assert set(s) == set(RANGES)
        assert 1e-3 <= s["lr"] < 1e-1 and 1e-10 <= s["gamma"] < 1e-4
        assert 1e-3 <= s["amplitude"] < 1.0 and 0.5 <= s["momentum"] < 0.9
        assert type(s["lr"]) is float and type(s["L"]) is int and 2 <= s["L"] <= 15


@pytest.mark.parametrize("name", ["lr", "gamma", "amplitude", "momentum"])
def test_each_continuous_dimension_fills_every_stratum_once(name):
    n = 64
    spec = RANGES[name]
    values = np.array([s[name] for s in latin_hypercube(n, 11, RANGES)])
    if isinstance(spec, LogUniform):
        u = (np.log(values) - math.log(spec.low)) / (math.log(spec.high) - math.log(spec.low))
    else:
        u = (values - spec.low) / (spec.high - spec.low)
    strata = np.floor(u * n + 1e-9).astype(int)
    assert sorted(strata) == list(range(n))


def test_choice_values_are_balanced():
    counts = collections.Counter(s["L"] for s in latin_hypercube(28, 5, RANGES))
    assert counts == {L: 2 for L in range(2, 16)}
    counts = collections.Counter(s["L"] for s in latin_hypercube(100, 5, RANGES))
    assert set(counts) == set(range(2, 16)) and sum(counts.values()) == 100
    assert all(abs(c - 100 / 14) < 2 for c in counts.values())


def test_choice_of_strings_and_single_dimension():
    samples = latin_hypercube(6, 0, {"arch": Choice(["ResNet", "ODENet", "SpliNet"])})
    assert sorted(s["arch"] for s in samples) == ["ODENet", "ODENet", "ResNet", "ResNet",
                                                  "SpliNet", "SpliNet"]


@pytest.mark.parametrize("make, match", [
    (lambda: LogUniform(0.0, 1.0), "> 0"),
    (lambda: LogUniform(1.0, 0.1), "low` < `high"),
    (lambda: Uniform(1.0, 1.0), "low` < `high"),
    (lambda: Uniform(0.0, float("inf")), "finite"),
    (lambda: Uniform("0", 1.0), "finite number"),
    (lambda: Choice([]), "empty"),
    (lambda: Choice("abc"), "not the string"),
    (lambda: Choice([[1, 2]]), "str, int, float or bool"),
])
def test_bad_ranges(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("args, match", [
    ((0, 0, RANGES), "n_samples"),
    ((2.0, 0, RANGES), "n_samples"),
    ((2, -1, RANGES), "seed"),
    ((2, None, RANGES), "seed"),
    ((2, 0, {}), "non-empty dict"),
    ((2, 0, {"lr": (1e-3, 1e-1)}), "LogUniform, Uniform"),
])
def test_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        latin_hypercube(*args)
