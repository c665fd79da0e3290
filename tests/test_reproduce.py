"""Tests for `pysplinet reproduce` and `pysplinet report` (pysplinet.studies.cli, reproduce,
runs, report, figures): tiny sweeps through the command line into temporary databases."""

import csv
import json
import math
import os
import pathlib
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from pysplinet.cli import main
from pysplinet.studies.reproduce import (PROFILES, STUDIES, study_configs, study_name,
                                         study_options)
from pysplinet.studies.report import build_report
from pysplinet.studies.runs import accuracy_percent, layer_eigenvalues, run_config
from pysplinet.studies.store import RunStore

REPO_DIR = pathlib.Path(__file__).resolve().parent.parent
LABELS = ("ResNet", "ODEnet", "SpliNet, d = 1", "SpliNet, d = 2", "SpliNet, d = 3")
# a tiny sine sweep: 2 samples x 3 frequencies x 5 networks = 30 runs of 3 epochs
TINY = ["reproduce", "sine", "--samples", "2", "--epochs", "3"]
# what differs between two executions of the same run: timing and the machine
VOLATILE = ("seconds", "machine")


def _cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _stored(db):
    """{key: (status, metrics without timing, history)} of a database."""
    with RunStore(db, create=False) as store:
        return {r["key"]: (r["status"], {k: v for k, v in r["metrics"].items()
                                         if k not in VOLATILE}, r["history"])
                for r in store.runs()}


def _assert_same_runs(db_a, db_b):
    a, b = _stored(db_a), _stored(db_b)
    assert a.keys() == b.keys() and len(a) == 30
    for key in a:
        # json text equality is bit equality of every float (repr round-trips)
        assert json.dumps(a[key], sort_keys=True) == json.dumps(b[key], sort_keys=True), key


def _only_file(folder, pattern):
    found = sorted(pathlib.Path(folder).glob(pattern))
    assert len(found) == 1, found
    return found[0]


def _rows(db):
    """Rows of the run table, 0 while the database does not exist yet."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.OperationalError:
        return 0
    try:
        return conn.execute("SELECT count(*) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


@pytest.fixture(scope="module")
def parallel_db(tmp_path_factory):
    """The tiny sweep run uninterrupted on two worker processes."""
    folder = tmp_path_factory.mktemp("parallel")
    db = folder / "p.sqlite"
    assert main(TINY + ["--db", str(db), "--out", str(folder / "out"), "--workers", "2"]) == 0
    return db, folder / "out"


# -- the sine sweep through the command line -----------------------------------------------

def test_tiny_sine_sweep_table_skip_and_workers(tmp_path, capsys, parallel_db):
    db, out = tmp_path / "s.sqlite", tmp_path / "out"
    code, stdout, err = _cli(capsys, *TINY, "--db", db, "--out", out, "--workers", 1)
    assert code == 0, err
    assert "30 runs, 0 already stored, 30 run now (30 ok" in err

    # the table: every network for every frequency, the statistics and the paper's columns
    table = [line for line in stdout.splitlines() if line.startswith("|")]
    header = [c.strip() for c in table[0].strip("|").split("|")]
    for column in ("f", "network", "runs", "div.", "mean", "std", "min", "max", "median",
                   "mean 95% CI", "std 95% CI", "paper mean", "paper std", "paper min",
                   "paper max"):
        assert column in header
    body = [[c.strip() for c in line.strip("|").split("|")] for line in table[2:]]
    assert [(r[0], r[1]) for r in body] == [(f, lab) for f in ("1", "2", "5") for lab in LABELS]
    assert all(r[header.index("runs")] == "2" for r in body)
    assert "Machine: " in stdout and "Data: synthetic" in stdout and "30 runs: 30 ok" in stdout
    # the paper's Table 1, f = 2, ResNet mean as printed
    resnet2 = body[5]
    assert resnet2[header.index("paper mean")] == "8.90e-02"
    for suffix in (".csv", ".png", ".pdf", ".md"):
        assert _only_file(out, f"sine*{suffix}").stat().st_size > 0

    # CSV values are the statistics of the stored metrics
    with open(_only_file(out, "sine*.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    with RunStore(db, create=False) as store:
        runs = store.runs()
    values = sorted(r["metrics"]["val_metric"] for r in runs
                    if r["config"]["freq"] == 5 and r["config"]["arch"] == "resnet")
    row = next(r for r in rows if r["f"] == "5" and r["label"] == "ResNet")
    assert float(row["mean"]) == np.mean(values) and float(row["min"]) == values[0]

    # a second call skips every run and writes nothing to the run table
    ids = [r["id"] for r in runs]
    code, stdout2, err = _cli(capsys, *TINY, "--db", db, "--out", out, "--workers", 1)
    assert code == 0 and "30 runs, 30 already stored, 0 run now" in err
    with RunStore(db, create=False) as store:
        assert [r["id"] for r in store.runs()] == ids
    assert stdout2 == stdout

    # --quiet: the same report, and nothing on stderr
    code, stdout3, err = _cli(capsys, *TINY, "--db", db, "--out", out, "--workers", 1, "-q")
    assert code == 0 and err == "" and stdout3 == stdout

    # one worker and two workers store the same numbers, bit for bit
    _assert_same_runs(db, parallel_db[0])


def test_killed_sweep_resumes_to_the_same_table(tmp_path, capsys, parallel_db):
    db, out = tmp_path / "k.sqlite", tmp_path / "out"
    command = [sys.executable, "-m", "pysplinet", *TINY, "--db", str(db), "--out", str(out),
               "--workers", "1"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            cwd=tmp_path)
    deadline = time.monotonic() + 120
    while _rows(db) < 4:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "sweep too slow"
        time.sleep(0.02)
    proc.kill()                                         # SIGKILL: no clean-up at all
    proc.wait()
    n_killed = _rows(db)
    assert 4 <= n_killed < 30

    code, _, err = _cli(capsys, *TINY, "--db", db, "--out", out, "--workers", 1)
    assert code == 0, err
    assert f"30 runs, {n_killed} already stored, {30 - n_killed} run now" in err
    with RunStore(db, create=False) as store:
        assert store.integrity_check() == "ok"
    _assert_same_runs(db, parallel_db[0])
    # the final table equals the uninterrupted one (identical statistics to the last bit)
    assert (_only_file(out, "sine*.csv").read_text()
            == _only_file(parallel_db[1], "sine*.csv").read_text())


def test_interrupt_stops_with_status_130_and_says_how_to_resume(tmp_path):
    db = tmp_path / "i.sqlite"
    command = [sys.executable, "-m", "pysplinet", *TINY, "-q", "--db", str(db), "--out",
               str(tmp_path / "out"), "--workers", "1"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while _rows(db) < 1:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "sweep too slow"
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    lines = err.splitlines()               # -q: the interruption is all it says
    assert len(lines) == 1 and "interrupted" in lines[0] and "resume" in lines[0], err
    with RunStore(db, create=False) as store:
        assert store.integrity_check() == "ok" and 1 <= len(store.runs()) < 30


def test_report_rebuilds_everything_from_the_database(tmp_path, capsys, parallel_db):
    db, first = parallel_db
    out = tmp_path / "again"
    code, stdout, err = _cli(capsys, "report", "--db", db, "--out", out)
    assert code == 0, err
    for pattern in ("sine*.csv", "sine*.md", "sine*.png", "sine*.pdf"):
        assert (_only_file(out, pattern).read_bytes() if pattern.endswith(("csv", "md"))
                else True)
    assert _only_file(out, "sine*.csv").read_text() == _only_file(first, "sine*.csv").read_text()
    assert _only_file(out, "sine*.md").read_text() == _only_file(first, "sine*.md").read_text()
    assert (out / "report.md").read_text().count("| 5 | SpliNet, d = 3 |") == 1
    assert "| 1 | ResNet |" in stdout


# -- the other studies, in small form -------------------------------------------------------

_SMALL = {
    "peaks": ["--samples", "1", "--epochs", "1"],
    "indian-pines": ["--samples", "1", "--epochs", "1"],
    "param-reduction": ["--samples", "1", "--epochs", "1"],
    "time-scale": ["--samples", "1", "--epochs", "3"],
    "convergence": [],
    "spectrum": ["--epochs", "3"],
    "basis": [],
}
_FIGURES = {"peaks": ("",), "indian-pines": ("",), "param-reduction": ("-fig7", "-fig8"),
            "time-scale": ("-fig9",), "convergence": ("-fig4",), "spectrum": ("-fig3",),
            "basis": ("-fig1",)}


@pytest.mark.parametrize("study", sorted(_SMALL))
def test_each_study_runs_quick_and_writes_its_figures(study, tmp_path, capsys):
    if study == "indian-pines":
        from pysplinet.data import DataUnavailableError, indian_pines
        try:
            indian_pines(n_train=10, n_val=10)
        except DataUnavailableError as err:
            pytest.skip(f"Indian Pines scene not available: {err}")
    out = tmp_path / "out"
    code, stdout, err = _cli(capsys, "reproduce", study, "--quick", *_SMALL[study],
                             "--db", tmp_path / "db.sqlite", "--out", out, "--workers", 1)
    assert code == 0, err
    assert "0 failed), 0 lost" in err
    assert stdout.startswith("## ")
    for suffix in _FIGURES[study]:
        for ext in (".png", ".pdf"):
            path = _only_file(out, f"{study}*{suffix}{ext}")
            assert path.stat().st_size > 1000
    if study in ("peaks", "indian-pines"):
        assert "paper mean" in stdout and stdout.count("| SpliNet, d = ") == 3
    if study == "convergence":
        slope = float(stdout.split("sizes: **")[1].split("**")[0])
        assert 0.9 < slope < 1.1          # forward Euler is first order
    if study == "time-scale":
        assert "lam fixed at 3" in stdout and "lam learned from 3" in stdout


# -- bad input: exit status 2, one line, nothing written -----------------------------------

@pytest.mark.parametrize("args, needle", [
    (["reproduce", "everything"], "invalid choice"),
    (["reproduce", "sine", "--samples", "0"], "--samples"),
    (["reproduce", "sine", "--samples", "x"], "--samples"),
    (["reproduce", "sine", "--epochs", "-3"], "--epochs"),
    (["reproduce", "sine", "--scheduler", "localhost:8786"], "scheduler"),
    (["reproduce", "sine", "--scheduler", "tcp://localhost:99999"], "scheduler"),
    (["reproduce", "sine", "--workers", "2", "--scheduler", "tcp://localhost:8786"], "not both"),
])
def test_bad_input_exits_2_with_one_line(args, needle, tmp_path, capsys):
    db = tmp_path / "db.sqlite"
    code, out, err = _cli(capsys, *args, "--db", db)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and needle in err and err.startswith("pysplinet")
    assert not db.exists()


def test_bad_database_paths_exit_2(tmp_path, capsys):
    folder = tmp_path / "folder"
    folder.mkdir()
    a_file = tmp_path / "file"
    a_file.write_text("not a folder")
    not_sqlite = tmp_path / "text.sqlite"
    not_sqlite.write_text("hello")
    for db in (folder, a_file / "db.sqlite", not_sqlite):
        code, _, err = _cli(capsys, "reproduce", "basis", "--db", db, "--out", tmp_path / "o")
        assert code == 2 and len(err.strip().splitlines()) == 1, err
    code, _, err = _cli(capsys, "report", "--db", tmp_path / "missing.sqlite", "--out",
                        tmp_path / "report-out")
    assert code == 2 and "no such study database" in err
    assert not (tmp_path / "report-out").exists()     # nothing written for a bad database
    code, _, err = _cli(capsys, "reproduce", "basis", "--db", tmp_path / "db.sqlite", "--out",
                        a_file)
    assert code == 2 and "not a folder" in err
    assert not (tmp_path / "db.sqlite").exists()


# -- studies, runs and statistics -----------------------------------------------------------

def test_study_names_separate_profiles_and_options():
    full = study_options("sine", "full")
    quick = study_options("sine", "quick")
    assert full["samples"] == 100 and full["epochs"] == 1000 and full["batch_size"] == 5
    assert study_name(full) != study_name(quick)
    assert study_name(study_options("sine", "full", samples=20)) != study_name(full)
    assert study_name(full) == study_name(study_options("sine", "full"))
    assert study_options("peaks", "full")["epochs"] == 100
    assert study_options("indian-pines", "full")["batch_size"] == 100
    assert study_options("basis", "full", samples=3) == study_options("basis", "full")
    with pytest.raises(ValueError, match="samples"):
        study_options("sine", samples=0)
    with pytest.raises(ValueError, match="study"):
        study_options("cosine")
    assert set(PROFILES["quick"]) == set(PROFILES["full"]) == set(STUDIES)


def test_robustness_configs_share_the_hyperparameter_samples():
    configs = study_configs(study_options("sine", "full", samples=7))
    assert len(configs) == 7 * 3 * 5
    by_sample = {}
    for c in configs:
        by_sample.setdefault((c["seed"]), set()).add((c["lr"], c["reg"], c["amplitude"],
                                                      c.get("knots", c["layers"])))
    assert len(by_sample) == 7 and all(len(v) == 1 for v in by_sample.values())
    for c in configs:
        assert 1e-3 <= c["lr"] <= 1e-1 and 1e-10 <= c["reg"] <= 1e-4
        assert 1e-3 <= c["amplitude"] <= 1.0
        if c["arch"] == "splinet":
            assert c["layers"] == 100 and 2 <= c["knots"] <= 15 and c["degree"] in (1, 2, 3)
        else:
            assert 2 <= c["layers"] <= 15 and "degree" not in c
    ip = study_configs(study_options("indian-pines", "full", samples=12))
    assert {c.get("knots", c["layers"]) for c in ip} <= {2, 5, 10, 15, 20, 25}


def test_diverged_runs_are_counted_and_left_out(tmp_path):
    db = tmp_path / "d.sqlite"
    options = study_options("peaks", "quick", samples=4)
    name = study_name(options)
    with RunStore(db) as store:
        store.add_study(name, options)
        for i, (status, value) in enumerate([("ok", 0.9), ("ok", 0.8), ("diverged", math.nan),
                                             ("ok", 0.7)]):
            config = {"kind": "train", "case": "peaks", "arch": "resnet", "layers": 3,
                      "seed": i}
            metrics = {"val_metric": value, "data_source": "synthetic",
                       "machine": {"platform": "p", "cores": 2, "python": "3"}}
            store.add_run({"key": f"k{i}", "config": json.dumps(config), "seed": i,
                           "status": status, "error": None, "metrics": json.dumps(metrics),
                           "history": "{}", "wall_time": 0.1, "version": "x"}, study=name)
    (section,) = build_report(db, tmp_path / "out", [name], n_resamples=99)
    row = next(line for line in section.markdown.splitlines() if line.startswith("| ResNet"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:3] == ["4", "1"]                     # 4 runs, 1 diverged
    assert cells[3] == "80.0" and cells[5] == "70.0" and cells[6] == "90.0"   # mean, min, max
    assert "4 runs: 3 ok, 1 diverged, 0 failed" in section.markdown


def test_training_run_is_a_pure_function_of_its_config():
    config = {"kind": "train", "case": "sine", "arch": "splinet", "degree": 1, "knots": 3,
              "layers": 20, "lr": 0.01, "reg": 1e-8, "amplitude": 0.5, "epochs": 3,
              "batch_size": 5, "seed": 4, "data": {"freq": 1, "seed": 0, "n_val": 20},
              "freq": 1}
    a, b = run_config(dict(config)), run_config(dict(config))
    for r in (a, b):
        for key in VOLATILE:
            r["metrics"].pop(key)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert a["status"] == "ok" and len(a["history"]["val_metric"]) == 3
    assert a["metrics"]["val_metric"] == a["history"]["val_metric"][-1]
    # a time scale so large that the first loss overflows
    with np.errstate(over="ignore"):
        diverged = run_config(dict(config, time_scale=1e200))
    assert diverged["status"] == "diverged" and math.isnan(diverged["metrics"]["val_metric"])
    assert diverged["metrics"]["train_status"] == "diverged"


def test_training_run_does_not_depend_on_the_thread_count(monkeypatch):
    from numba.core import config as numba_config

    from pysplinet import adjoint

    # batches of 70 are cut into three pieces, which run on as many threads as allowed
    # (however short they are: by default pieces this short run on one thread)
    monkeypatch.setattr(adjoint, "PARALLEL_WORK", 0)
    config = {"kind": "train", "case": "peaks", "arch": "splinet", "degree": 2, "knots": 3,
              "layers": 10, "lr": 0.01, "reg": 1e-6, "amplitude": 0.5, "epochs": 2,
              "batch_size": 70, "seed": 2, "data": {"seed": 0, "n_train": 140, "n_val": 70}}
    results = []
    for threads in (1, 3):
        monkeypatch.setattr(numba_config, "NUMBA_NUM_THREADS", threads)
        result = run_config(dict(config))
        for key in VOLATILE:
            result["metrics"].pop(key)
        results.append(json.dumps(result, sort_keys=True))
    assert results[0] == results[1]


def test_accuracy_and_layer_eigenvalues():
    y = np.array([3.0, -4.0])
    assert accuracy_percent(y, y) == 100.0 and accuracy_percent(0 * y, y) == 0.0
    assert accuracy_percent(y + [0.3, 0.4], y) == pytest.approx(90.0)

    import pysplinet as ps
    net = ps.SpliNet(3, n_layers=4, degree=1, n_knots=2, operator="antisymmetric",
                     time_scale=2.0)
    params = net.init_params(np.random.default_rng(1))
    x = np.array([[0.3], [-1.2]])
    z = layer_eigenvalues(net, params, x)
    assert z.shape == (4 * 2 * 3,)
    # layer 0, sample 1, by hand: W(t_0) is the first coefficient set (degree 1, t = 0)
    K = params["W"][0] - params["W"][0].T
    a = np.repeat(x[1], 3) @ K.T + params["b"][0]
    expected = np.linalg.eigvals(net.h * 2.0 * np.diag(1 - np.tanh(a) ** 2) @ K)
    assert np.allclose(np.sort_complex(z[3:6]), np.sort_complex(expected), atol=1e-14)
    # diag(positive) times antisymmetric has an imaginary spectrum
    assert np.max(np.abs(z.real)) < 1e-12
