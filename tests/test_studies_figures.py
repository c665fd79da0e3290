"""Tests for pysplinet.studies.figures: figures of studies with degenerate data."""

import io

import numpy as np

from pysplinet.studies.figures import robustness_figure


def _row(label, value, std):
    return dict(label=label, mean=value, std=std, min=value, max=value, median=value,
                q1=value, q3=value, std_ci_low=std, std_ci_high=std)


def test_robustness_figure_of_one_run_per_row_on_a_log_axis():
    """One run per row has no standard deviation (NaN): the std panel says so, the other
    panels keep their log axes, and the figure saves."""
    rows = [_row("ResNet", 1e-2, float("nan")), _row("SpliNet, d = 2", 3e-4, float("nan"))]
    fig = robustness_figure([("f = 1", rows)], log=True, ylabel="MSE")
    fig.savefig(io.BytesIO(), format="png")
    mean_ax, median_ax, std_ax = fig.axes
    assert mean_ax.get_yscale() == "log" and median_ax.get_yscale() == "log"
    assert std_ax.get_yscale() == "linear"
    assert [t.get_text() for t in std_ax.texts] == ["no finite values"]


def test_robustness_figure_with_values_keeps_every_log_axis():
    rows = [_row("ResNet", 1e-2, 5e-3), _row("ODEnet", 2e-2, np.float64(1e-2))]
    fig = robustness_figure([("f = 1", rows)], log=True, ylabel="MSE")
    fig.savefig(io.BytesIO(), format="png")
    assert all(ax.get_yscale() == "log" and not ax.texts for ax in fig.axes)
