"""Summary statistics of study results, with bootstrap confidence intervals.

The paper reports mean, standard deviation, minimum and maximum (Tables 1-3), medians with
quartiles (Figures 6-7) and 95% confidence intervals of mean and standard deviation (Figures
5 and 8). :func:`summarize` computes all of them for one sample; :func:`summarize_groups` does
it per group and returns plain dict rows that :func:`markdown_table` and :func:`write_csv`
format.
"""

import csv
import math
import warnings

import numpy as np
from scipy import stats as _sp_stats

__all__ = ["SUMMARY_COLUMNS", "group_runs", "markdown_table", "summarize", "summarize_groups",
           "write_csv"]

#: Keys of a :func:`summarize` result, in table order.
SUMMARY_COLUMNS = ("n", "mean", "std", "min", "max", "median", "q1", "q3", "mean_ci_low",
                   "mean_ci_high", "std_ci_low", "std_ci_high")


def _std(x, axis=-1):
    return np.std(x, ddof=1, axis=axis)


def _bootstrap_ci(values, statistic, confidence_level, n_resamples, seed, method):
    # Degenerate resampling distributions (n = 2 with BCa, for example) give NaN bounds; they
    # are reported as such rather than as warnings.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", _sp_stats.DegenerateDataWarning)
        result = _sp_stats.bootstrap(
            (values,), statistic, vectorized=True, n_resamples=n_resamples,
            confidence_level=confidence_level, method=method,
            random_state=np.random.default_rng(seed))
    low, high = (float(v) for v in result.confidence_interval)
    if not (math.isfinite(low) and math.isfinite(high)):
        return math.nan, math.nan
    return low, high


def summarize(values, *, confidence_level=0.95, n_resamples=9999, seed=0, method="BCa"):
    """Summary statistics of one sample.

    Parameters
    ----------
    values : sequence of float
        Finite values (filter out diverged runs before, and report how many there were).
    confidence_level : float, default 0.95
        Level of the bootstrap confidence intervals, in (0, 1).
    n_resamples : int, default 9999
        Bootstrap resamples.
    seed : int, default 0
        Seed of the ``np.random.default_rng`` used by :func:`scipy.stats.bootstrap`.
    method : {'BCa', 'percentile', 'basic'}, default 'BCa'
        Bootstrap interval method, passed to :func:`scipy.stats.bootstrap`.

    Returns
    -------
    dict
        ``n``; ``mean``; ``std`` (ddof=1); ``min``; ``max``; ``median``, ``q1``, ``q3`` (linear
        interpolation between order statistics, NumPy's default); ``mean_ci_low``,
        ``mean_ci_high``, ``std_ci_low``, ``std_ci_high`` (bootstrap). Python floats (``n`` an
        int). Undefined entries are NaN: everything but ``n`` for ``n = 0``, ``std`` for
        ``n = 1``, the intervals for ``n < 2`` and for a constant sample (a resampling
        distribution with no spread has no interval), and an interval the bootstrap method
        cannot form (BCa needs the statistic on leave-one-out samples, so the interval of
        ``std`` needs ``n >= 3`` with it).

    Notes
    -----
    The values are sorted before resampling, so the intervals do not depend on the order in
    which runs finished. The same values and seed give the same intervals.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"`values` must be one-dimensional, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"`values` must be finite, got {np.count_nonzero(~np.isfinite(x))} "
                         "NaN or infinite value(s); filter them out and report their number")
    if not 0.0 < confidence_level < 1.0:
        raise ValueError(f"`confidence_level` must be in (0, 1), got {confidence_level!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise ValueError(f"`n_resamples` must be an integer >= 1, got {n_resamples!r}")
    x = np.sort(x)
    n = x.size

    out = dict.fromkeys(SUMMARY_COLUMNS, math.nan)
    out["n"] = n
    if n == 0:
        return out
    q1, median, q3 = np.percentile(x, [25.0, 50.0, 75.0])
    out.update(mean=float(np.mean(x)), min=float(x[0]), max=float(x[-1]), median=float(median),
               q1=float(q1), q3=float(q3))
    if n >= 2:
        out["std"] = float(np.std(x, ddof=1))
    if n >= 2 and x[0] != x[-1]:
        out["mean_ci_low"], out["mean_ci_high"] = _bootstrap_ci(
            x, np.mean, confidence_level, n_resamples, seed, method)
        out["std_ci_low"], out["std_ci_high"] = _bootstrap_ci(
            x, _std, confidence_level, n_resamples, seed, method)
    return out


def group_runs(runs, by, value):
    """Collect one value per run into groups.

    Parameters
    ----------
    runs : iterable of dict
        Stored runs, as returned by ``RunStore.runs``.
    by : tuple of str or callable
        Configuration keys whose values form the group label (a tuple), or a function
        ``run -> hashable label``.
    value : str or callable
        A metric name (``run['metrics'][value]``) or a function ``run -> float``.

    Returns
    -------
    dict
        ``{label: [values]}``, labels in order of first appearance, values in run order.
    """
    if isinstance(by, str):
        raise ValueError(f"`by` must be a tuple of configuration keys or a callable, got the "
                         f"string {by!r}; write ({by!r},)")
    label_of = by if callable(by) else (lambda run: tuple(run["config"].get(k) for k in by))
    value_of = value if callable(value) else (lambda run: run["metrics"][value])
    groups = {}
    for run in runs:
        groups.setdefault(label_of(run), []).append(float(value_of(run)))
    return groups


def summarize_groups(groups, *, names=None, **options):
    """:func:`summarize` each group.

    Parameters
    ----------
    groups : dict
        ``{label: values}``, e.g. from :func:`group_runs`.
    names : tuple of str, optional
        Column names for the parts of tuple labels; by default a label is one column
        ``'group'``.
    **options
        Passed to :func:`summarize` (``confidence_level``, ``n_resamples``, ``seed``,
        ``method``); every group uses the same seed.

    Returns
    -------
    list of dict
        One row per group, the label columns first, then :data:`SUMMARY_COLUMNS`.
    """
    rows = []
    for label, values in groups.items():
        if names is None:
            row = {"group": label}
        else:
            parts = label if isinstance(label, tuple) else (label,)
            if len(parts) != len(names):
                raise ValueError(f"`names` {names!r} do not match the group label {label!r}")
            row = dict(zip(names, parts))
        row.update(summarize(values, **options))
        rows.append(row)
    return rows


def _format_cell(value, spec):
    if callable(spec):
        return spec(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return format(value, spec or ".3g")
    return str(value)


def markdown_table(rows, columns, formats=None, headers=None):
    """A GitHub Markdown table of `rows`.

    Parameters
    ----------
    rows : iterable of dict
    columns : sequence of str
        Keys to show, in order.
    formats : dict, optional
        ``{column: format spec or callable}``; floats default to ``'.3g'``, NaN shows as
        ``n/a``.
    headers : dict, optional
        ``{column: header text}``; default the column name.

    Returns
    -------
    str
        The table, ending with a newline.
    """
    formats = formats or {}
    headers = headers or {}
    lines = ["| " + " | ".join(str(headers.get(c, c)) for c in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        cells = (_format_cell(row[c], formats.get(c)) for c in columns)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_csv(file, rows, columns):
    """Write `rows` (dicts) as CSV with the header `columns` (other keys are left out).

    Floats are written with ``repr``, so they read back exactly. `file` is a path or an open
    text file (opened with ``newline=''``).
    """
    if hasattr(file, "write"):
        _write_rows(file, rows, columns)
    else:
        with open(file, "w", newline="", encoding="utf-8") as handle:
            _write_rows(handle, rows, columns)


def _write_rows(handle, rows, columns):
    writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: repr(v) if isinstance(v, float) else v for c, v in row.items()})
