"""Latin hypercube samples of hyperparameters (section 4.2 of the paper).

A range is one of :class:`LogUniform`, :class:`Uniform` or :class:`Choice`. The unit-cube
samples come from :class:`scipy.stats.qmc.LatinHypercube`; each coordinate ``u`` in [0, 1) is
mapped to its range:

* ``LogUniform(low, high)``: ``exp(log(low) + u * (log(high) - log(low)))``;
* ``Uniform(low, high)``: ``low + u * (high - low)``;
* ``Choice(values)``: ``values[floor(u * len(values))]``, so every value gets an equal share of
  the unit interval: with ``n_samples`` a multiple of ``k = len(values)`` each value appears
  exactly ``n_samples / k`` times, otherwise less than 2 away from that.

Example, the search space of section 4.2::

    latin_hypercube(100, seed=0, ranges={
        "lr": LogUniform(1e-3, 1e-1), "gamma": LogUniform(1e-10, 1e-4),
        "amplitude": LogUniform(1e-3, 1.0), "L": Choice(range(2, 16))})
"""

import dataclasses
import math

import numpy as np
from scipy.stats import qmc

__all__ = ["Choice", "LogUniform", "Uniform", "latin_hypercube"]


@dataclasses.dataclass(frozen=True)
class _Interval:
    """A continuous range [low, high); subclasses map the unit interval onto it."""

    low: float
    high: float

    def __post_init__(self):
        name = type(self).__name__
        for label, value in (("low", self.low), ("high", self.high)):
            if (isinstance(value, bool) or not isinstance(value, (int, float))
                    or not math.isfinite(value)):
                raise ValueError(f"{name}: `{label}` must be a finite number, got {value!r}")
        if isinstance(self, LogUniform) and self.low <= 0:
            raise ValueError(f"{name}: `low` must be > 0 for a log-uniform range, "
                             f"got {self.low!r}")
        if not self.low < self.high:
            raise ValueError(f"{name}: needs `low` < `high`, got low={self.low!r}, "
                             f"high={self.high!r}")


@dataclasses.dataclass(frozen=True)
class LogUniform(_Interval):
    """Continuous range [low, high) sampled uniformly in log space (``0 < low < high``)."""

    def map(self, u):
        """Values for unit-interval samples `u` (array), as Python floats."""
        log_low, log_high = math.log(self.low), math.log(self.high)
        return [float(v) for v in np.exp(log_low + u * (log_high - log_low))]


@dataclasses.dataclass(frozen=True)
class Uniform(_Interval):
    """Continuous range [low, high) sampled uniformly."""

    def map(self, u):
        """Values for unit-interval samples `u` (array), as Python floats."""
        return [float(v) for v in self.low + u * (self.high - self.low)]


@dataclasses.dataclass(frozen=True)
class Choice:
    """A finite set of values (str, int, float or bool), each equally likely."""

    values: tuple

    def __post_init__(self):
        if isinstance(self.values, str):
            raise ValueError(f"Choice: `values` must be a sequence of values, not the string "
                             f"{self.values!r}")
        values = tuple(self.values)
        if not values:
            raise ValueError("Choice: `values` must not be empty")
        bad = [v for v in values if not isinstance(v, (str, int, float, bool))]
        if bad:
            raise ValueError(f"Choice: values must be str, int, float or bool, got {bad!r:.200}")
        object.__setattr__(self, "values", values)

    def map(self, u):
        """Values for unit-interval samples `u` (array): ``values[floor(u * n)]``."""
        n = len(self.values)
        index = np.minimum(np.floor(u * n).astype(np.int64), n - 1)
        return [self.values[i] for i in index]


_RANGES = (LogUniform, Uniform, Choice)


def latin_hypercube(n_samples, seed, ranges):
    """Latin hypercube sample of named hyperparameters.

    Parameters
    ----------
    n_samples : int
        Number of samples, >= 1.
    seed : int
        Seed (>= 0) of the ``np.random.default_rng`` that drives
        :class:`scipy.stats.qmc.LatinHypercube` (scrambled, no optimisation).
    ranges : dict
        ``{name: LogUniform | Uniform | Choice}``. The dimensions are taken in sorted name
        order, so the sample does not depend on the order of the dict.

    Returns
    -------
    list of dict
        `n_samples` dicts ``{name: value}``: floats for continuous ranges, the chosen element
        for :class:`Choice`. Plain Python values, ready for JSON.

    Raises
    ------
    ValueError
        If `n_samples` or `seed` is not a suitable integer, or `ranges` is empty or holds
        something other than the three range types.

    Notes
    -----
    The same ``(n_samples, seed, ranges)`` gives the same samples on every run with a given
    SciPy version; SciPy does not promise identical streams across its versions. Samples of
    different sizes are different designs, not prefixes of one another.
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"`n_samples` must be an integer >= 1, got {n_samples!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"`seed` must be an integer >= 0, got {seed!r}")
    if not isinstance(ranges, dict) or not ranges:
        raise ValueError(f"`ranges` must be a non-empty dict of name -> LogUniform, Uniform or "
                         f"Choice, got {ranges!r:.200}")
    for name, spec in ranges.items():
        if not isinstance(name, str) or not isinstance(spec, _RANGES):
            raise ValueError(f"`ranges`: {name!r} must be a str mapped to LogUniform, Uniform "
                             f"or Choice, got {spec!r:.200}")

    names = sorted(ranges)
    sampler = qmc.LatinHypercube(d=len(names), seed=np.random.default_rng(seed))
    unit = sampler.random(n_samples)
    columns = {name: ranges[name].map(unit[:, j]) for j, name in enumerate(names)}
    return [{name: columns[name][i] for name in names} for i in range(n_samples)]
