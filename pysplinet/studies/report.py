"""Tables and figures of the paper's studies, rebuilt from the study database alone.

:func:`build_report` reads the studies recorded in a database (see
:mod:`pysplinet.studies.reproduce`) and writes, for each, a Markdown table, a CSV table with
every statistic at full precision, and its figures as PNG and PDF. The robustness tables
stand beside the paper's Tables 1-3 (:mod:`pysplinet.studies.paper`).

Statistics (:func:`pysplinet.studies.stats.summarize`): mean, standard deviation (ddof 1),
minimum, maximum, median and quartiles, and 95% bootstrap (BCa) confidence intervals of the
mean and the standard deviation, per network.

Diverged runs (a non-finite loss, gradient or parameter stopped the training) have no final
validation metric. They are left out of every statistic and counted in the column ``div.``
beside the number of runs; failed runs (an exception) likewise in ``failed``. The statistics
are therefore those of the runs that finished training; a network that diverges more often
is not rewarded for it, since the count stands in the same row.

The validation metric is the mean squared error on the validation points for sin(f x)
(:func:`pysplinet.training.validation_metric`) and the accuracy in percent for the
classification cases. For the time-scale study the regression accuracy is
``100 (1 - ||prediction - target||_2 / ||target||_2)`` on the validation points
(:func:`pysplinet.studies.runs.accuracy_percent`).
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
import re

import numpy as np

from . import figures
from .paper import TABLES, TIME_SCALE
from .reproduce import is_finite, level_of, n_sets
from .stats import markdown_table, summarize, write_csv
from .store import RunStore

__all__ = ["Section", "build_report", "network_label"]

_ORDER = ("ResNet", "ODEnet", "SpliNet, d = 1", "SpliNet, d = 2", "SpliNet, d = 3")
_PAPER_TABLE = {"sine": 1, "peaks": 2, "indian-pines": 3}
_CASE_TITLE = {"sine": "sin(f x)", "peaks": "Peaks", "indian-pines": "Indian Pines"}


@dataclasses.dataclass
class Section:
    """One study's part of a report.

    Attributes
    ----------
    study : str
        The study name in the database.
    title : str
    markdown : str
        Heading, notes and tables.
    files : list of str
        Files written (CSV, PNG, PDF).
    """

    study: str
    title: str
    markdown: str
    files: list


def network_label(config):
    """The paper's row name of a training configuration ("ResNet", "SpliNet, d = 2", ...)."""
    if config["arch"] == "resnet":
        return "ResNet"
    if config["arch"] == "odenet":
        return "ODEnet"
    return f"SpliNet, d = {config['degree']}"


def _slug(name):
    return re.sub(r"[^A-Za-z0-9.=-]+", "_", name).strip("_")


def _counts_line(runs):
    counts = {s: sum(r["status"] == s for r in runs) for s in ("ok", "diverged", "failed")}
    return (f"{len(runs)} runs: {counts['ok']} ok, {counts['diverged']} diverged, "
            f"{counts['failed']} failed")


def _provenance(runs):
    machines = sorted({f"{m['platform']} ({m['cores']} cores, Python {m['python']})"
                       for r in runs if (m := r["metrics"].get("machine"))})
    sources = sorted({r["metrics"]["data_source"] for r in runs
                      if "data_source" in r["metrics"]})
    versions = sorted({r["version"] for r in runs})
    lines = []
    if sources:
        lines.append("Data: " + "; ".join(sources) + ".")
    lines.append("Machine: " + ("; ".join(machines) if machines else "unknown") +
                 f". pysplinet {', '.join(versions)}.")
    lines.append(_counts_line(runs) + ".")
    return lines


def _time_scales(runs):
    seen = {}
    for r in runs:
        net = r["metrics"].get("network")
        if net:
            arch = network_label(r["config"]).split(",")[0]
            seen.setdefault(arch, set()).add(net["time_scale"])
    parts = [f"{arch} lam = {', '.join(f'{s:g}' for s in sorted(v))}"
             for arch, v in sorted(seen.items())]
    return "Time scales: " + "; ".join(parts) + "." if parts else ""


def _fmt_ci(low, high, spec):
    if not (math.isfinite(low) and math.isfinite(high)):
        return "n/a"
    return f"[{format(low, spec)}, {format(high, spec)}]"


def _summary_row(values, n_resamples):
    return summarize(values, n_resamples=n_resamples) if values else summarize([])


# -- robustness (section 4.2) --------------------------------------------------------------

def _robustness(name, options, runs, out, n_resamples):
    case = options["study"]
    table = _PAPER_TABLE[case]
    regression = case == "sine"
    scale = 1.0 if regression else 100.0
    spec = ".2e" if regression else ".1f"
    groups = {}
    for r in runs:
        key = (r["config"].get("freq"), network_label(r["config"]))
        groups.setdefault(key, []).append(r)
    paper = {(row["frequency"], row["label"]): row for row in TABLES[table]["rows"]}

    rows, panels = [], []
    for freq in sorted({k[0] for k in groups}, key=lambda f: (f is None, f)):
        panel = []
        for label in _ORDER:
            members = groups.get((freq, label), [])
            if not members:
                continue
            values = [scale * r["metrics"]["val_metric"] for r in members
                      if r["status"] == "ok" and is_finite(r["metrics"]["val_metric"])]
            row = {"case": case, "f": freq, "label": label, "runs": len(members),
                   "diverged": sum(r["status"] == "diverged" for r in members),
                   "failed": sum(r["status"] == "failed" for r in members)}
            row.update(_summary_row(values, n_resamples))
            ref = paper.get((freq, label), {})
            for k in ("mean", "std", "min", "max"):
                row[f"paper_{k}"] = ref.get(k, math.nan)
            row["mean_ci"] = _fmt_ci(row["mean_ci_low"], row["mean_ci_high"], ".2g")
            row["std_ci"] = _fmt_ci(row["std_ci_low"], row["std_ci_high"], ".2g")
            rows.append(row)
            panel.append(row)
        title = f"sin({freq}x)" if freq is not None else _CASE_TITLE[case]
        panels.append((title, panel))

    quantity = ("validation error (mean squared error)" if regression
                else "validation accuracy (%)")
    columns = (["f"] if regression else []) + [
        "label", "runs", "diverged", "mean", "std", "min", "max", "median", "q1", "q3",
        "mean_ci", "std_ci", "paper_mean", "paper_std", "paper_min", "paper_max"]
    headers = {"label": "network", "diverged": "div.", "mean_ci": "mean 95% CI",
               "std_ci": "std 95% CI", "paper_mean": "paper mean", "paper_std": "paper std",
               "paper_min": "paper min", "paper_max": "paper max"}
    formats = {c: spec for c in ("mean", "std", "min", "max", "median", "q1", "q3",
                                 "paper_mean", "paper_std", "paper_min", "paper_max")}
    stem = pathlib.Path(out) / _slug(name)
    csv_path = f"{stem}.csv"
    write_csv(csv_path, rows, ["case", "f", "label", "runs", "diverged", "failed", "n", "mean",
                               "std", "min", "max", "median", "q1", "q3", "mean_ci_low",
                               "mean_ci_high", "std_ci_low", "std_ci_high", "paper_mean",
                               "paper_std", "paper_min", "paper_max"])
    fig = figures.robustness_figure(panels, log=regression, ylabel=quantity)
    files = [csv_path] + figures.save(fig, stem)

    title = f"{_CASE_TITLE[case]}: robustness to hyperparameters (section 4.2, Table {table})"
    lines = [f"## {title}", "", f"Study `{name}`: {options['samples']} Latin hypercube "
             f"samples, {options['epochs']} epochs, batch size {options['batch_size']}.",
             *_provenance(runs), _time_scales(runs),
             f"Statistics of the final {quantity} over the runs that finished; diverged runs "
             "(column div.) have no final metric and are left out. Paper columns: "
             f"{TABLES[table]['source']}.", "",
             markdown_table(rows, columns, formats, headers)]
    return Section(name, title, "\n".join(line for line in lines if line is not None), files)


# -- parameter reduction (section 4.3) -----------------------------------------------------

def _param_reduction(name, options, runs, out, n_resamples):
    panels7, panels8, rows = [], [], []
    for case in ("sine", "peaks"):
        regression = case == "sine"
        scale = 1.0 if regression else 100.0
        members = [r for r in runs if r["config"]["case"] == case]
        if not members:
            continue
        series = {}
        groups = {}
        for r in members:
            groups.setdefault((network_label(r["config"]), n_sets(r["config"]),
                               level_of(r["config"])), []).append(r)
        for (label, sets, L), group in sorted(groups.items(),
                                              key=lambda kv: (_ORDER.index(kv[0][0]),
                                                              kv[0][1])):
            values = [scale * r["metrics"]["val_metric"] for r in group
                      if r["status"] == "ok" and is_finite(r["metrics"]["val_metric"])]
            row = {"case": case, "label": label, "sets": sets, "L": L, "runs": len(group),
                   "diverged": sum(r["status"] == "diverged" for r in group),
                   "failed": sum(r["status"] == "failed" for r in group)}
            row.update(_summary_row(values, n_resamples))
            row["mean_ci"] = _fmt_ci(row["mean_ci_low"], row["mean_ci_high"], ".2g")
            rows.append(row)
            series.setdefault(label, []).append(row)
        title = "sin(5x)" if regression else "Peaks"
        ylabel = "validation error (MSE)" if regression else "validation accuracy (%)"
        panels7.append((title, regression, ylabel, series))
        panels8.append((title, regression, ylabel, series))

    stem = pathlib.Path(out) / _slug(name)
    csv_path = f"{stem}.csv"
    write_csv(csv_path, rows, ["case", "label", "sets", "L", "runs", "diverged", "failed", "n",
                               "mean", "std", "min", "max", "median", "q1", "q3",
                               "mean_ci_low", "mean_ci_high", "std_ci_low", "std_ci_high"])
    files = [csv_path]
    files += figures.save(figures.param_reduction_figure(
        panels7, center="median", low="q1", high="q3",
        title="Median with quartiles (Figure 7)"), f"{stem}-fig7")
    files += figures.save(figures.param_reduction_figure(
        panels8, center="mean", low="mean_ci_low", high="mean_ci_high",
        title="Mean with 95% confidence interval (Figure 8)"), f"{stem}-fig8")

    def fmt(value):
        return format(value, ".2e") if abs(value) < 1.0 else format(value, ".1f")

    columns = ["case", "label", "sets", "L", "runs", "diverged", "median", "q1", "q3", "mean",
               "mean_ci", "min"]
    formats = {c: (lambda v: "n/a" if not math.isfinite(v) else fmt(v))
               for c in ("median", "q1", "q3", "mean", "min")}
    headers = {"label": "network", "sets": "weight sets", "diverged": "div.",
               "mean_ci": "mean 95% CI"}
    title = "Reduction of network parameters (section 4.3, Figures 7 and 8)"
    lines = [f"## {title}", "", f"Study `{name}`: {options['samples']} Latin hypercube "
             f"sample(s) of (lr, gamma, amplitude) per L, L in {options['L']}; weight sets are "
             "L + d for the SpliNet (d = 2) and N = L for ResNet and ODEnet. Validation error "
             "(MSE) for sin(5x), accuracy (%) for Peaks; diverged runs are left out and "
             "counted.", *_provenance(runs), "", markdown_table(rows, columns, formats, headers)]
    return Section(name, title, "\n".join(lines), files)


# -- time scale (section 4.4) --------------------------------------------------------------

def _time_scale(name, options, runs, out, n_resamples):
    rows, curves = [], []
    data = options["data"]
    for learn in (False, True):
        group = [r for r in runs if r["config"].get("learn_time_scale") is learn]
        ok = [r for r in group if r["status"] == "ok"]
        acc = [r["metrics"]["accuracy_percent"] for r in ok]
        lam = [r["metrics"]["lam"] for r in ok]
        mse = [r["metrics"]["val_metric"] for r in ok]
        row = {"setting": "lam learned from 3" if learn else "lam fixed at 3",
               "runs": len(group), "diverged": sum(r["status"] == "diverged" for r in group),
               "failed": sum(r["status"] == "failed" for r in group)}
        for key, values in (("accuracy", acc), ("lam", lam), ("mse", mse)):
            arr = np.array(values, dtype=float)
            row[f"{key}_mean"] = float(arr.mean()) if arr.size else math.nan
            row[f"{key}_min"] = float(arr.min()) if arr.size else math.nan
            row[f"{key}_max"] = float(arr.max()) if arr.size else math.nan
        if learn:
            row.update(paper_accuracy=TIME_SCALE["mean_accuracy_percent"],
                       paper_lam=f"{TIME_SCALE['mean_lam']} [{TIME_SCALE['min_lam']}, "
                                 f"{TIME_SCALE['max_lam']}]")
        else:
            row.update(paper_accuracy=TIME_SCALE["fixed_lam_accuracy_percent"],
                       paper_lam=f"{TIME_SCALE['fixed_lam']} (fixed)")
        with_curve = sorted((r for r in ok if "curve" in r["history"]),
                            key=lambda r: r["seed"])
        # eq. in section 4.4: x(0) - lam <= x(1) <= x(0) + lam, so |o - x| / lam <= 1
        row["bound_ratio"] = max(
            (float(np.max(np.abs(np.subtract(r["history"]["curve"]["prediction"],
                                             r["history"]["curve"]["x"]))))
             / r["metrics"]["lam"] for r in with_curve), default=math.nan)
        rows.append(row)
        if with_curve:
            r = with_curve[0]
            curves.append((f"{row['setting']} (seed {r['seed']}, accuracy "
                           f"{r['metrics']['accuracy_percent']:.1f}%)",
                           r["history"]["curve"]["x"], r["history"]["curve"]["prediction"],
                           r["metrics"]["lam"]))

    stem = pathlib.Path(out) / _slug(name)
    csv_path = f"{stem}.csv"
    columns = ["setting", "runs", "diverged", "failed", "accuracy_mean", "accuracy_min",
               "accuracy_max", "mse_mean", "lam_mean", "lam_min", "lam_max", "bound_ratio",
               "paper_accuracy", "paper_lam"]
    write_csv(csv_path, rows, columns)
    files = [csv_path]
    if curves:
        x = np.linspace(-np.pi, np.pi, 400)
        target = (x, data["amplitude"] * np.sin(data["freq"] * x))
        files += figures.save(figures.time_scale_figure(curves, target), f"{stem}-fig9")
    formats = {c: ".1f" for c in ("accuracy_mean", "accuracy_min", "accuracy_max",
                                  "paper_accuracy")}
    formats.update({c: ".3g" for c in ("mse_mean", "lam_mean", "lam_min", "lam_max")})
    formats["bound_ratio"] = ".4f"
    headers = {"diverged": "div.", "accuracy_mean": "accuracy % mean", "accuracy_min": "min",
               "accuracy_max": "max", "mse_mean": "val. MSE mean", "lam_mean": "lam mean",
               "lam_min": "lam min", "lam_max": "lam max",
               "bound_ratio": "max abs(o(x) - x) / lam", "paper_accuracy": "paper accuracy %",
               "paper_lam": "paper lam"}
    title = "Impact of the time scale (section 4.4, Figure 9)"
    lines = [f"## {title}", "",
             f"Study `{name}`: {data['amplitude']:g} sin({data['freq']:g}x) on [-pi, pi], "
             f"SpliNet d = 2, L = 10, N = 100, tanh, {options['epochs']} epochs, batch size "
             f"{options['batch_size']}, lr {options['lr']:g}, amplitude "
             f"{options['amplitude']:g}; {options['samples']} run(s) per setting. Accuracy "
             "= 100 (1 - ||prediction - target|| / ||target||) on the validation points. "
             "The bound x - lam <= o(x) <= x + lam holds where max |o(x) - x| / lam <= 1 "
             "(largest over the runs, on 201 points of [-pi, pi]). "
             f"Paper: {TIME_SCALE['source']} (100 runs, 200 epochs; target "
             f"{TIME_SCALE['target']} in the text).", *_provenance(runs), "",
             markdown_table(rows, [c for c in columns if c != "failed"], formats, headers)]
    return Section(name, title, "\n".join(lines), files)


# -- convergence (Figure 4) ----------------------------------------------------------------

def _convergence(name, options, runs, out, n_resamples):
    from scipy.stats import linregress

    ok = [r for r in runs if r["status"] == "ok"]
    stem = pathlib.Path(out) / _slug(name)
    if not ok:
        return Section(name, "Convergence in h", "## Convergence in h\n\nNo finished run.\n",
                       [])
    m = ok[0]["metrics"]
    h, err = np.array(m["h"]), np.array(m["error"])
    # the fit uses the finer half of the step sizes (the asymptotic regime)
    keep = (err > 0) & (h <= np.median(h))
    fit = linregress(np.log(h[keep]), np.log(err[keep]))
    rows = [{"N": n, "h": hh, "error": e} for n, hh, e in zip(m["n_layers"], m["h"],
                                                              m["error"])]
    csv_path = f"{stem}.csv"
    write_csv(csv_path, rows, ["N", "h", "error"])
    files = [csv_path] + figures.save(
        figures.convergence_figure(h, err, fit.slope, fit.intercept), f"{stem}-fig4")
    title = "Convergence of the network output in h (Figure 4)"
    lines = [f"## {title}", "",
             f"Study `{name}`: SpliNet d = {options['degree']}, L = {options['knots']}, "
             f"random coefficients (amplitude {options['amplitude']:g}, seed "
             f"{options['seed']}), lam = {m['time_scale']:g}, inputs: the sin(5x) training "
             f"points; reference N = {m['reference_layers']}. Error = max over inputs of "
             "|o_N - o_ref|.", *_provenance(runs),
             f"Fitted slope of log(error) against log(h) over the finer half of the step "
             f"sizes: **{fit.slope:.4f}** (first order expected).", "",
             markdown_table(rows, ["N", "h", "error"], {"h": ".3e", "error": ".3e"})]
    return Section(name, title, "\n".join(lines), files)


# -- spectrum (Figure 3) -------------------------------------------------------------------

def _spectrum(name, options, runs, out, n_resamples):
    ok = [r for r in runs if r["status"] == "ok"]
    title = "Spectrum of the linearised layers (Figure 3)"
    if not ok:
        return Section(name, title, f"## {title}\n\nNo finished run ({_counts_line(runs)}).\n",
                       [])
    r = ok[0]
    lam = r["metrics"]["lam"]
    final_time = r["metrics"]["final_time"]
    rows, spectra = [], []
    eigenvalues = r["history"]["eigenvalues"]
    for n_layers, eig in sorted(eigenvalues.items(), key=lambda kv: int(kv[0])):
        z = np.array(eig["re"]) + 1j * np.array(eig["im"])
        h = final_time / int(n_layers)
        rows.append({"N": int(n_layers), "h": h, "lam_h": lam * h,
                     "stable": 100.0 * r["metrics"]["fraction_stable"][n_layers],
                     "max_abs": float(np.max(np.abs(1.0 + z))),
                     "max_re": float(np.max(z.real))})
        spectra.append((f"N = {n_layers}, h = {h:g}", z.real, z.imag))
    stem = pathlib.Path(out) / _slug(name)
    csv_path = f"{stem}.csv"
    columns = ["N", "h", "lam_h", "stable", "max_abs", "max_re"]
    write_csv(csv_path, rows, columns)
    files = [csv_path] + figures.save(figures.spectrum_figure(spectra), f"{stem}-fig3")
    lines = [f"## {title}", "",
             f"Study `{name}`: SpliNet d = {options['degree']}, L = {options['knots']}, "
             f"antisymmetric operator K = W - W^T - gamma I with gamma = {options['gamma']:g}, "
             f"trained on sin(x) for {options['epochs']} epochs (final validation error "
             f"{r['metrics']['val_metric']:.2e}), lam = {lam:g}. Eigenvalues z of "
             "h lam diag(sigma'(K(t_i) x_i + b(t_i))) K(t_i) at every layer and training "
             "input, for the trained net on N layers; forward Euler is stable where "
             "|1 + z| <= 1.", *_provenance(runs), "",
             markdown_table(rows, columns, {"h": ".3g", "lam_h": ".3g", "stable": ".1f",
                                            "max_abs": ".4f", "max_re": ".3g"},
                            {"lam_h": "lam h", "stable": "% with abs(1+z) <= 1",
                             "max_abs": "max abs(1+z)", "max_re": "max Re z"})]
    return Section(name, title, "\n".join(lines), files)


# -- basis (Figure 1) ----------------------------------------------------------------------

def _basis(name, options, runs, out, n_resamples):
    title = "B-spline basis functions (Figure 1)"
    ok = [r for r in runs if r["status"] == "ok"]
    if not ok:
        return Section(name, title, f"## {title}\n\nNo finished run.\n", [])
    m = ok[0]["metrics"]
    stem = pathlib.Path(out) / _slug(name)
    files = figures.save(figures.basis_figure(m["t"], m["values"], m["knots"]),
                         f"{stem}-fig1")
    lines = [f"## {title}", "", f"Study `{name}`: degrees {options['degrees']} on "
             f"L + 1 = {m['knots'] + 1} uniform knots of [0, 1]; files: "
             + ", ".join(pathlib.Path(f).name for f in files) + "."]
    return Section(name, title, "\n".join(lines) + "\n", files)


_BUILDERS = {"sine": _robustness, "peaks": _robustness, "indian-pines": _robustness,
             "param-reduction": _param_reduction, "time-scale": _time_scale,
             "convergence": _convergence, "spectrum": _spectrum, "basis": _basis}


def build_report(db_path, out_dir, studies=None, *, n_resamples=9999):
    """Write the tables and figures of the studies in a database.

    Parameters
    ----------
    db_path : str or path-like
        An existing study database.
    out_dir : str or path-like
        Folder for the files (created if missing).
    studies : list of str, optional
        Study names to report (default: every study recorded in the database).
    n_resamples : int, default 9999
        Bootstrap resamples of the confidence intervals.

    Returns
    -------
    list of Section
        In the order of `studies` (default: by name). Each section's Markdown is also
        written to its own file; ``report.md`` with all sections only when `studies` is
        None.

    Raises
    ------
    FileNotFoundError
        If there is no database at `db_path`.
    ValueError
        If `db_path` is not a study database, or a named study is not in it.
    """
    out = pathlib.Path(out_dir)
    with RunStore(db_path, create=False) as db:
        recorded = db.studies()
        names = sorted(recorded) if studies is None else list(studies)
        missing = [n for n in names if n not in recorded]
        if missing:
            raise ValueError(f"studies {missing} are not in {str(db_path)!r}; recorded: "
                             f"{sorted(recorded)}")
        out.mkdir(parents=True, exist_ok=True)
        sections = []
        for name in names:
            options = recorded[name]
            builder = _BUILDERS.get(options.get("study"))
            if builder is None:
                continue
            runs = db.runs(study=name)
            sections.append(builder(name, options, runs, out, n_resamples))
    for s in sections:
        path = out / f"{_slug(s.study)}.md"
        path.write_text(s.markdown, encoding="utf-8")
        s.files.append(str(path))
    if studies is None:
        text = "# pysplinet: the paper's studies\n\n" + "\n".join(
            s.markdown for s in sections)
        (out / "report.md").write_text(text, encoding="utf-8")
    return sections
