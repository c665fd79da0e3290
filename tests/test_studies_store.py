"""Tests for pysplinet.studies.store: canonical keys and the SQLite run table."""

import hashlib
import json
import math
import sqlite3

import numpy as np
import pytest

from pysplinet._version import __version__
from pysplinet.studies.store import (STATUSES, RunStore, canonical_json, config_key,
                                     result_json)


def _record(key="k1", status="ok", metrics=None, history=None, error=None):
    return {"key": key, "config": json.dumps({"seed": 0}), "seed": 0, "status": status,
            "error": error, "metrics": result_json(metrics or {"loss": 0.25}),
            "history": result_json(history or {"loss": [1.0, 0.5]}), "wall_time": 0.5,
            "version": __version__}


# -- canonical configuration and key ------------------------------------------------------

def test_canonical_json_sorts_keys_without_whitespace():
    config = {"seed": 1, "b": [1, 2], "a": 0.5, "c": {"z": 1, "y": None}}
    assert canonical_json(config) == '{"a":0.5,"b":[1,2],"c":{"y":null,"z":1},"seed":1}'


def test_config_key_is_sha256_of_canonical_json():
    config = {"seed": 3, "lr": 0.01, "arch": "SpliNet"}
    expected = hashlib.sha256(b'{"arch":"SpliNet","lr":0.01,"seed":3}').hexdigest()
    assert config_key(config) == expected


def test_config_key_ignores_insertion_order_and_tuple_vs_list():
    a = {"seed": 0, "lr": 0.1, "shape": (2, 3)}
    b = {"shape": [2, 3], "lr": 0.1, "seed": 0}
    assert config_key(a) == config_key(b)


def test_config_key_distinguishes_values():
    assert config_key({"seed": 0, "lr": 0.1}) != config_key({"seed": 0, "lr": 0.1000001})
    assert config_key({"seed": 0}) != config_key({"seed": 1})
    # 1 and 1.0 are different JSON values
    assert config_key({"seed": 0, "L": 1}) != config_key({"seed": 0, "L": 1.0})


def test_canonical_json_keeps_every_float_bit():
    value = 0.1 + 0.2
    config = {"seed": 0, "x": value, "tiny": 5e-324}
    back = json.loads(canonical_json(config))
    assert back["x"] == value and back["tiny"] == 5e-324


@pytest.mark.parametrize("config, match", [
    ({"lr": 0.1}, "seed"),
    ({"seed": -1}, "seed"),
    ({"seed": True}, "seed"),
    ({"seed": 1.0}, "seed"),
    ({"seed": 2**63}, "seed"),
    ({"seed": 0, 3: "x"}, "keys must be strings"),
    ({"seed": 0, "lr": float("nan")}, "NaN"),
    ({"seed": 0, "lr": float("inf")}, "NaN or infinite"),
])
def test_canonical_json_rejects_bad_configs(config, match):
    with pytest.raises(ValueError, match=match):
        canonical_json(config)


def test_canonical_json_rejects_non_dicts_and_objects():
    with pytest.raises(TypeError, match="must be a dict"):
        canonical_json([("seed", 0)])
    with pytest.raises(TypeError, match="not JSON serialisable"):
        canonical_json({"seed": 0, "x": object()})


def test_result_json_converts_numpy_and_keeps_nan():
    text = result_json({"b": np.float64(0.1), "a": np.arange(3), "c": float("nan"),
                        "d": np.float32(0.5)})
    back = json.loads(text)
    assert text.startswith('{"a":[0,1,2],"b":0.1,')
    assert back["b"] == 0.1 and math.isnan(back["c"]) and back["d"] == 0.5


# -- the database -------------------------------------------------------------------------

def test_new_database_has_schema_wal_and_passes_integrity_check(tmp_path):
    path = tmp_path / "s.sqlite"
    with RunStore(path) as db:
        assert db.integrity_check() == "ok"
        assert db.keys() == set()
        assert db.counts() == {"ok": 0, "diverged": 0, "failed": 0}
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"runs", "studies", "study_runs"}
    conn.close()


def test_add_run_round_trips_exactly(tmp_path):
    metrics = {"loss": 0.1 + 0.2, "acc": 1 / 3, "nan": float("nan"), "big": 1e308}
    history = {"loss": [3.0, 2.0000000000000004, 1e-300]}
    with RunStore(tmp_path / "s.sqlite") as db:
        assert db.add_run(_record(metrics=metrics, history=history)) is True
    with RunStore(tmp_path / "s.sqlite", create=False) as db:
        (run,) = db.runs()
    assert run["key"] == "k1" and run["seed"] == 0 and run["status"] == "ok"
    assert run["config"] == {"seed": 0}
    assert run["metrics"]["loss"] == 0.1 + 0.2 and run["metrics"]["acc"] == 1 / 3
    assert math.isnan(run["metrics"]["nan"]) and run["metrics"]["big"] == 1e308
    assert run["history"] == history
    assert run["wall_time"] == 0.5 and run["version"] == __version__
    assert run["error"] is None and run["created"].endswith("+00:00")


def test_duplicate_key_is_ignored_and_first_row_kept(tmp_path):
    with RunStore(tmp_path / "s.sqlite") as db:
        assert db.add_run(_record(metrics={"loss": 1.0})) is True
        assert db.add_run(_record(metrics={"loss": 2.0})) is False
        runs = db.runs()
    assert len(runs) == 1 and runs[0]["metrics"] == {"loss": 1.0}


def test_unique_constraint_holds_at_the_sql_level(tmp_path):
    path = tmp_path / "s.sqlite"
    with RunStore(path) as db:
        db.add_run(_record())
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute("INSERT INTO runs (key, config, seed, status, metrics, history, wall_time,"
                     " version, created) VALUES ('k1', '{}', 0, 'ok', '{}', '{}', 0, 'v', 't')")
    conn.close()


def test_replace_failed_replaces_only_failed_rows(tmp_path):
    with RunStore(tmp_path / "s.sqlite") as db:
        db.add_run(_record("a", status="failed", error="boom"))
        db.add_run(_record("b", metrics={"loss": 1.0}))
        assert db.add_run(_record("a", metrics={"loss": 3.0}), replace_failed=True) is True
        assert db.add_run(_record("b", metrics={"loss": 9.0}), replace_failed=True) is False
        runs = {r["key"]: r for r in db.runs()}
    assert runs["a"]["status"] == "ok" and runs["a"]["error"] is None
    assert runs["a"]["metrics"] == {"loss": 3.0}
    assert runs["b"]["metrics"] == {"loss": 1.0}


def test_invalid_status_is_rejected_before_writing(tmp_path):
    with RunStore(tmp_path / "s.sqlite") as db:
        with pytest.raises(ValueError, match="status"):
            db.add_run(_record(status="done"))
        assert db.keys() == set()
        with pytest.raises(ValueError, match="status"):
            db.runs(status="great")


def test_filters_by_status_keys_and_study(tmp_path):
    with RunStore(tmp_path / "s.sqlite") as db:
        for key, status in [("a", "ok"), ("b", "failed"), ("c", "diverged"), ("d", "ok")]:
            db.add_run(_record(key, status=status))
        db.add_study("sine", {"frequency": 2})
        db.link("sine", ["a", "b", "x"])
        assert [r["key"] for r in db.runs(status="ok")] == ["a", "d"]
        assert [r["key"] for r in db.runs(keys=["d", "c", "zz"])] == ["c", "d"]
        assert [r["key"] for r in db.runs(study="sine")] == ["a", "b"]
        assert db.keys("failed") == {"b"}
        assert db.counts() == {"ok": 2, "diverged": 1, "failed": 1}
        assert db.counts(study="sine") == {"ok": 1, "diverged": 0, "failed": 1}
        assert set(STATUSES) == {"ok", "diverged", "failed"}


def test_studies_are_idempotent_and_options_must_match(tmp_path):
    with RunStore(tmp_path / "s.sqlite") as db:
        db.add_study("sine", {"n": 100, "f": 2})
        db.add_study("sine", {"f": 2, "n": 100})
        assert db.studies() == {"sine": {"f": 2, "n": 100}}
        with pytest.raises(ValueError, match="already recorded"):
            db.add_study("sine", {"n": 200, "f": 2})
        with pytest.raises(ValueError, match="non-empty"):
            db.add_study("", {})


def test_missing_file_with_create_false(tmp_path):
    with pytest.raises(FileNotFoundError, match="no study database"):
        RunStore(tmp_path / "absent.sqlite", create=False)
    assert not (tmp_path / "absent.sqlite").exists()


def test_foreign_sqlite_file_is_rejected(tmp_path):
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(ValueError, match="did not create"):
        RunStore(path)


def test_newer_schema_is_rejected(tmp_path):
    path = tmp_path / "s.sqlite"
    RunStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(ValueError, match="newer"):
        RunStore(path)


def test_non_database_file_is_rejected(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("these are not the runs you are looking for\n" * 100)
    with pytest.raises(ValueError, match="not an SQLite database"):
        RunStore(path)


def test_missing_folders_are_created(tmp_path):
    path = tmp_path / "results" / "sine" / "runs.sqlite"
    with RunStore(path) as db:
        assert db.integrity_check() == "ok"
    assert path.is_file()
