"""Tests for pysplinet.studies.runner: sweeps that resume, survive kills and agree everywhere."""

import json
import os
import pathlib
import pickle
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

import _toy_runs
from pysplinet._version import __version__
from pysplinet.studies.runner import SweepInterrupted, SweepSummary, execute_run, run_sweep
from pysplinet.studies.store import RunStore, config_key, result_json

TESTS_DIR = pathlib.Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent


def _configs(n, **extra):
    return [dict({"seed": i, "lr": 0.1 + 0.01 * i, "epochs": 15}, **extra) for i in range(n)]


def _mixed_configs():
    # ok runs, one failure and one divergence (lr far beyond 2 / curvature)
    return _configs(6) + [{"seed": 1, "fail": True}, {"seed": 2, "lr": 80.0, "epochs": 30}]


def _contents(path):
    """{key: (config, seed, status, error, metrics, history)} of a database."""
    with RunStore(path, create=False) as db:
        return {r["key"]: (r["config"], r["seed"], r["status"], r["error"], r["metrics"],
                           r["history"]) for r in db.runs()}


def _expected(config, run_fn=_toy_runs.fit_line):
    """What the run table must hold for `config`, computed without the runner."""
    try:
        result = run_fn(json.loads(json.dumps(config)))
    except RuntimeError:
        return ("failed", {}, {})
    return (result.get("status", "ok"), json.loads(result_json(result["metrics"])),
            json.loads(result_json(result["history"])))


def _assert_complete_and_correct(path, configs):
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n_rows, n_keys = conn.execute("SELECT count(*), count(DISTINCT key) FROM runs").fetchone()
    conn.close()
    assert n_rows == n_keys == len(configs)
    contents = _contents(path)
    for config in configs:
        stored = contents[config_key(config)]
        assert stored[0] == json.loads(json.dumps(config)) and stored[1] == config["seed"]
        assert (stored[2],) + stored[4:] == _expected(config)


def _count_rows(path):
    if not os.path.exists(path):
        return 0
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
        try:
            return conn.execute("SELECT count(*) FROM runs").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0


def _wait_for_rows(path, n, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while _count_rows(path) < n:
        assert proc.poll() is None, f"sweep process ended early: {proc.communicate()}"
        assert time.monotonic() < deadline, "sweep process too slow"
        time.sleep(0.01)


_SWEEP_SCRIPT = """
import json, sys
import _toy_runs
from pysplinet.studies import SweepInterrupted, run_sweep

def main():
    db, n, workers, sleep = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    configs = [{"seed": i, "sleep": sleep, "epochs": 15} for i in range(n)]
    try:
        summary = run_sweep(configs, _toy_runs.sleepy_fit, db, workers=workers, progress=False)
    except SweepInterrupted as exc:
        print(json.dumps({"done": exc.summary.done, "remaining": exc.summary.remaining}))
        sys.exit(3)
    print(json.dumps({"done": summary.done, "remaining": summary.remaining}))

if __name__ == "__main__":
    main()
"""


def _start_sweep(tmp_path, db, n, workers, sleep, new_session=False):
    script = tmp_path / "sweep_script.py"
    script.write_text(_SWEEP_SCRIPT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS_DIR), str(REPO_DIR)]))
    return subprocess.Popen([sys.executable, str(script), str(db), str(n), str(workers),
                             str(sleep)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=new_session)


def _live_processes_in_group(pgid):
    """Processes of group `pgid` that are still running (zombies waiting for init excluded)."""
    table = subprocess.run(["ps", "-e", "-o", "pid=,pgid=,stat="], capture_output=True,
                           text=True, check=True).stdout
    return [line for line in table.splitlines()
            if line.split()[1] == str(pgid) and not line.split()[2].startswith("Z")]


def _sleepy_configs(n, sleep):
    return [{"seed": i, "sleep": sleep, "epochs": 15} for i in range(n)]


# -- basic behaviour -----------------------------------------------------------------------

def test_serial_sweep_stores_every_run(tmp_path):
    db = tmp_path / "s.sqlite"
    configs = _configs(5)
    summary = run_sweep(configs, _toy_runs.fit_line, db, workers=1, progress=False)
    assert summary == SweepSummary(total=5, skipped=0, ok=5, diverged=0, failed=0, lost=0,
                                   duplicates=0, db_path=str(db))
    assert summary.done == 5 and summary.remaining == 0 and summary.complete
    _assert_complete_and_correct(db, configs)
    with RunStore(db, create=False) as store:
        for run in store.runs():
            assert run["version"] == __version__ and run["wall_time"] > 0.0
            assert run["error"] is None


def test_rerun_skips_stored_keys_and_duplicates_run_once(tmp_path):
    db = tmp_path / "s.sqlite"
    configs = _configs(4)
    run_sweep(configs + [dict(configs[0])], _toy_runs.fit_line, db, workers=1, progress=False)
    before = _contents(db)
    summary = run_sweep(list(reversed(configs)), _toy_runs.fit_line, db, workers=1,
                        progress=False)
    assert (summary.total, summary.skipped, summary.done) == (4, 4, 0)
    assert _contents(db) == before
    _assert_complete_and_correct(db, configs)


def test_duplicates_are_counted(tmp_path):
    configs = _configs(3)
    summary = run_sweep(configs + configs[:2], _toy_runs.fit_line, tmp_path / "s.sqlite",
                        workers=1, progress=False)
    assert (summary.total, summary.duplicates, summary.done) == (3, 2, 3)


def test_partial_sweep_then_resume_equals_uninterrupted(tmp_path):
    configs = _configs(12)
    whole = tmp_path / "whole.sqlite"
    parts = tmp_path / "parts.sqlite"
    run_sweep(configs, _toy_runs.fit_line, whole, workers=1, progress=False)
    run_sweep(configs[3:8], _toy_runs.fit_line, parts, workers=1, progress=False)
    summary = run_sweep(configs, _toy_runs.fit_line, parts, workers=1, progress=False)
    assert (summary.skipped, summary.done) == (5, 7)
    assert _contents(parts) == _contents(whole)
    _assert_complete_and_correct(parts, configs)


@pytest.mark.parametrize("workers", [1, 2])
def test_keyboard_interrupt_keeps_finished_runs_and_resumes(tmp_path, workers):
    flag = tmp_path / "flag"
    flag.touch()
    configs = [dict(c, flag=str(flag)) for c in _configs(10)]
    configs[4]["interrupt"] = True
    db = tmp_path / "s.sqlite"
    with pytest.raises(SweepInterrupted, match="to resume") as info:
        run_sweep(configs, _toy_runs.interrupt_while_flag, db, workers=workers,
                  progress=False)
    summary = info.value.summary
    assert isinstance(info.value, KeyboardInterrupt)
    assert pickle.loads(pickle.dumps(info.value)).summary == summary
    assert summary.remaining == 10 - summary.done > 0
    if workers == 1:
        assert summary.done == 4
    assert _count_rows(db) == summary.done
    flag.unlink()
    resumed = run_sweep(configs, _toy_runs.interrupt_while_flag, db, workers=1,
                        progress=False)
    assert (resumed.skipped, resumed.done, resumed.remaining) == (summary.done,
                                                                   10 - summary.done, 0)
    _assert_complete_and_correct(db, configs)


def test_failed_and_diverged_runs_are_recorded_and_sweep_continues(tmp_path):
    db = tmp_path / "s.sqlite"
    configs = _mixed_configs()
    summary = run_sweep(configs, _toy_runs.fit_line, db, workers=1, progress=False)
    assert (summary.ok, summary.failed, summary.diverged, summary.lost) == (6, 1, 1, 0)
    contents = _contents(db)
    failed = contents[config_key(configs[6])]
    assert failed[2] == "failed" and failed[4] == {} and failed[5] == {}
    assert "RuntimeError: requested failure for seed 1" in failed[3]
    assert "Traceback" in failed[3]
    diverged = contents[config_key(configs[7])]
    assert diverged[2] == "diverged" and diverged[3] is None
    assert not diverged[4]["loss"] < 1e6
    ok = [c for c in contents.values() if c[2] == "ok"]
    assert len(ok) == 6


@pytest.mark.parametrize("run_fn, match", [
    (_toy_runs.not_a_dict, "run_fn must return a dict, got list"),
    (_toy_runs.unknown_status, "run_fn returned status 'great'"),
])
def test_malformed_results_become_failed_rows(tmp_path, run_fn, match):
    db = tmp_path / "s.sqlite"
    summary = run_sweep(_configs(2), run_fn, db, workers=1, progress=False)
    assert summary.failed == 2
    for _, _, status, error, _, _ in _contents(db).values():
        assert status == "failed" and match in error


def test_retry_failed_reruns_only_failed_rows(tmp_path):
    flag = tmp_path / "flag"
    flag.touch()
    configs = [dict(c, flag=str(flag)) for c in _configs(3)]
    db = tmp_path / "s.sqlite"
    assert run_sweep(configs, _toy_runs.fail_while_flag, db, workers=1,
                     progress=False).failed == 3
    flag.unlink()
    assert run_sweep(configs, _toy_runs.fail_while_flag, db, workers=1,
                     progress=False).skipped == 3
    summary = run_sweep(configs, _toy_runs.fail_while_flag, db, workers=1, progress=False,
                        retry_failed=True)
    assert (summary.skipped, summary.ok) == (0, 3)
    _assert_complete_and_correct(db, configs)


def test_crashed_worker_loses_runs_without_storing_them(tmp_path):
    flag = tmp_path / "flag"
    flag.touch()
    configs = [dict(c, flag=str(flag)) for c in _configs(4)]
    configs[0]["crash"] = True
    db = tmp_path / "s.sqlite"
    summary = run_sweep(configs, _toy_runs.crash_while_flag, db, workers=2, progress=False)
    assert summary.lost >= 1 and summary.done + summary.lost == 4
    assert config_key(configs[0]) not in _contents(db)
    flag.unlink()
    resumed = run_sweep(configs, _toy_runs.crash_while_flag, db, workers=1, progress=False)
    assert resumed.complete and resumed.lost == 0
    _assert_complete_and_correct(db, configs)


def test_study_links_runs(tmp_path):
    db = tmp_path / "s.sqlite"
    configs = _configs(3)
    run_sweep(configs[:2], _toy_runs.fit_line, db, workers=1, progress=False)
    run_sweep(configs, _toy_runs.fit_line, db, workers=1, progress=False, study="toy",
              study_options={"n": 3})
    with RunStore(db, create=False) as store:
        assert store.studies() == {"toy": {"n": 3}}
        assert {r["key"] for r in store.runs(study="toy")} == {config_key(c) for c in configs}
    with pytest.raises(ValueError, match="already recorded"):
        run_sweep(configs, _toy_runs.fit_line, db, workers=1, progress=False, study="toy",
                  study_options={"n": 4})


def test_progress_bar_goes_to_stderr_and_can_be_disabled(tmp_path, capfd):
    run_sweep(_configs(3), _toy_runs.fit_line, tmp_path / "a.sqlite", workers=1)
    out, err = capfd.readouterr()
    assert out == "" and "3/3" in err and "run" in err
    run_sweep(_configs(3), _toy_runs.fit_line, tmp_path / "b.sqlite", workers=1,
              progress=False)
    assert capfd.readouterr() == ("", "")


def test_execute_run_packages_the_result():
    config = {"seed": 3, "lr": 0.2}
    record = execute_run(_toy_runs.fit_line, "abc", config)
    assert record["key"] == "abc" and record["status"] == "ok" and record["error"] is None
    assert record["metrics"] == result_json(_toy_runs.fit_line(config)["metrics"])
    assert record["version"] == __version__ and record["wall_time"] >= 0.0


# -- same bits everywhere ------------------------------------------------------------------

def test_results_identical_for_serial_processes_and_dask(tmp_path):
    import distributed

    configs = _mixed_configs()
    paths = {name: tmp_path / f"{name}.sqlite" for name in ("w1", "w2", "dask_p", "dask_t")}
    run_sweep(configs, _toy_runs.fit_line, paths["w1"], workers=1, progress=False)
    run_sweep(configs, _toy_runs.fit_line, paths["w2"], workers=2, progress=False)
    for name, processes in (("dask_p", True), ("dask_t", False)):
        with distributed.LocalCluster(n_workers=2 if processes else 1, threads_per_worker=1,
                                      processes=processes, protocol="tcp://",
                                      dashboard_address=None) as cluster:
            summary = run_sweep(configs, _toy_runs.fit_line, paths[name],
                                scheduler=cluster.scheduler_address, progress=False)
        assert (summary.ok, summary.failed, summary.diverged, summary.lost) == (6, 1, 1, 0)
    reference = _contents(paths["w1"])
    for name in ("w2", "dask_p", "dask_t"):
        assert _contents(paths[name]) == reference, name
    _assert_complete_and_correct(paths["w1"], configs)


def test_dask_sweep_resumes_a_serial_one(tmp_path):
    import distributed

    configs = _configs(6)
    db = tmp_path / "s.sqlite"
    run_sweep(configs[:2], _toy_runs.fit_line, db, workers=1, progress=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  protocol="tcp://", dashboard_address=None) as cluster:
        summary = run_sweep(configs, _toy_runs.fit_line, db,
                            scheduler=cluster.scheduler_address, progress=False)
    assert (summary.skipped, summary.done) == (2, 4)
    _assert_complete_and_correct(db, configs)


def test_unreachable_scheduler_raises_connection_error(tmp_path):
    import dask

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(ConnectionError, match="could not connect"):
            run_sweep(_configs(2), _toy_runs.fit_line, tmp_path / "s.sqlite",
                      scheduler=f"tcp://127.0.0.1:{port}", progress=False)


# -- real processes killed midway ----------------------------------------------------------

def test_kill_9_midway_then_resume(tmp_path):
    db = tmp_path / "s.sqlite"
    n, sleep = 40, 0.02
    for rows_before_kill in (7, 19):
        proc = _start_sweep(tmp_path, db, n, workers=1, sleep=sleep)
        _wait_for_rows(db, rows_before_kill, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        with RunStore(db, create=False) as store:
            assert store.integrity_check() == "ok"
            assert rows_before_kill <= len(store.keys()) < n
    summary = run_sweep(_sleepy_configs(n, sleep), _toy_runs.sleepy_fit, db, workers=1,
                        progress=False)
    assert summary.skipped + summary.done == n and summary.complete
    _assert_complete_and_correct(db, _sleepy_configs(n, sleep))


def test_kill_9_of_process_group_with_workers_then_resume(tmp_path):
    db = tmp_path / "s.sqlite"
    n, sleep = 30, 0.02
    proc = _start_sweep(tmp_path, db, n, workers=2, sleep=sleep, new_session=True)
    try:
        _wait_for_rows(db, 5, proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    with RunStore(db, create=False) as store:
        assert store.integrity_check() == "ok"
        assert 5 <= len(store.keys()) < n
    summary = run_sweep(_sleepy_configs(n, sleep), _toy_runs.sleepy_fit, db, workers=1,
                        progress=False)
    assert summary.complete and summary.skipped >= 5
    _assert_complete_and_correct(db, _sleepy_configs(n, sleep))


def test_sigint_stops_a_process_pool_sweep_cleanly(tmp_path):
    db = tmp_path / "s.sqlite"
    n, sleep = 40, 0.05
    proc = _start_sweep(tmp_path, db, n, workers=2, sleep=sleep, new_session=True)
    _wait_for_rows(db, 4, proc)
    # Ctrl-C in a terminal signals the whole foreground process group, workers included
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    assert _live_processes_in_group(proc.pid) == []   # no worker left running
    report = json.loads(out)
    assert report["remaining"] == n - report["done"] > 0
    assert _count_rows(db) == report["done"]
    summary = run_sweep(_sleepy_configs(n, sleep), _toy_runs.sleepy_fit, db, workers=1,
                        progress=False)
    assert summary.skipped == report["done"] and summary.complete
    _assert_complete_and_correct(db, _sleepy_configs(n, sleep))


def test_sigint_stops_long_running_workers_at_once(tmp_path):
    # runs far longer than the test waits: Ctrl-C must end the workers, not wait for them
    db = tmp_path / "s.sqlite"
    proc = _start_sweep(tmp_path, db, 4, workers=2, sleep=120, new_session=True)
    time.sleep(8)                                     # the pool is up and both runs started
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert _live_processes_in_group(proc.pid) == []
    assert json.loads(out)["done"] == 0
    assert _count_rows(db) == 0


# -- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    ({"workers": 0}, "`workers` must be an integer >= 1"),
    ({"workers": -2}, "`workers` must be an integer >= 1"),
    ({"workers": 1.5}, "`workers` must be an integer >= 1"),
    ({"workers": True}, "`workers` must be an integer >= 1"),
    ({"scheduler": "localhost:8786"}, "tcp://HOST:PORT"),
    ({"scheduler": "http://localhost:8786"}, "tcp://HOST:PORT"),
    ({"scheduler": "tcp://localhost"}, "tcp://HOST:PORT"),
    ({"scheduler": "tcp://localhost:99999"}, "tcp://HOST:PORT"),
    ({"scheduler": 8786}, "tcp://HOST:PORT"),
    ({"workers": 2, "scheduler": "tcp://localhost:8786"}, "not both"),
    ({"progress": "yes"}, "`progress`"),
    ({"study_options": {"a": 1}}, "needs a `study`"),
    ({"study": ""}, "`study` must be a non-empty string"),
])
def test_bad_arguments_raise_before_any_write(tmp_path, kwargs, match):
    db = tmp_path / "s.sqlite"
    with pytest.raises(ValueError, match=match):
        run_sweep(_configs(2), _toy_runs.fit_line, db, **kwargs)
    assert not db.exists()


@pytest.mark.parametrize("configs, match", [
    ([{"seed": 0}, [("seed", 1)]], r"`configs\[1\]` must be a dict, got list"),
    ([{"seed": 0}, "seed=1"], r"`configs\[1\]` must be a dict, got str"),
    ([{"lr": 0.1}], r"`configs\[0\]`: .*integer 'seed'"),
    ([{"seed": 0, "x": object()}], r"`configs\[0\]`: .*not JSON serialisable"),
    ({"seed": 0}, "iterable of dicts"),
    (None, "iterable of dicts"),
])
def test_bad_configs_raise_before_any_write(tmp_path, configs, match):
    db = tmp_path / "s.sqlite"
    with pytest.raises(ValueError, match=match):
        run_sweep(configs, _toy_runs.fit_line, db, workers=1)
    assert not db.exists()


def test_run_fn_must_be_importable(tmp_path):
    db = tmp_path / "s.sqlite"
    with pytest.raises(ValueError, match="module-level function"):
        run_sweep(_configs(2), lambda config: {}, db, workers=1)
    with pytest.raises(ValueError, match="callable"):
        run_sweep(_configs(2), "fit_line", db, workers=1)
    assert not db.exists()


def test_ctrl_c_during_a_write_is_delivered_after_it():
    from pysplinet.studies.runner import _sigint_deferred

    reached = []
    with pytest.raises(KeyboardInterrupt):
        with _sigint_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            reached.append(True)
    assert reached == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
