"""SQLite store of training runs: one row per run, keyed by its configuration.

A run is identified by the sha256 of its *canonical* configuration JSON (sorted keys, no
whitespace, no NaN/inf). The database holds three tables:

``runs``
    ``id``, ``key`` (UNIQUE), ``config`` (canonical JSON), ``seed``, ``status`` (``'ok'``,
    ``'diverged'`` or ``'failed'``), ``error`` (text, failed runs only), ``metrics`` (JSON
    object), ``history`` (JSON, per-epoch values), ``wall_time`` (seconds), ``version``
    (pysplinet version of the process that ran it), ``created`` (UTC ISO 8601 timestamp).
``studies``
    ``name`` (PRIMARY KEY), ``options`` (canonical JSON), ``created``.
``study_runs``
    ``(study, key)`` pairs linking a study to the runs it asked for.

Every write is one transaction, so a process killed at any moment leaves either the whole row
or nothing. The database runs in WAL mode so that readers (a report) never block the writer.
Everything is stored as text or numbers; loading uses :mod:`json` only, never pickle.
"""

import datetime
import hashlib
import json
import pathlib
import sqlite3

__all__ = ["STATUSES", "RunStore", "canonical_json", "config_key", "result_json"]

#: The statuses a run can have.
STATUSES = ("ok", "diverged", "failed")

# "pySN" as a big-endian integer, marks the file as a pysplinet study database.
_APPLICATION_ID = 0x7079534E
_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    config TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'diverged', 'failed')),
    error TEXT,
    metrics TEXT NOT NULL,
    history TEXT NOT NULL,
    wall_time REAL NOT NULL,
    version TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS studies (
    name TEXT PRIMARY KEY,
    options TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS study_runs (
    study TEXT NOT NULL REFERENCES studies (name),
    key TEXT NOT NULL,
    PRIMARY KEY (study, key)
);
"""

_RUN_COLUMNS = ("key", "config", "seed", "status", "error", "metrics", "history", "wall_time",
                "version", "created")


def _json_default(obj):
    # NumPy scalars and arrays (and anything else with ``tolist``) become plain Python values;
    # float64 -> float is exact, so the stored numbers keep every bit.
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return tolist()
    raise TypeError(f"object of type {type(obj).__name__} is not JSON serialisable")


def canonical_json(config):
    """Canonical JSON text of a run configuration.

    Parameters
    ----------
    config : dict
        A JSON-serialisable mapping with string keys. It must hold an integer ``"seed"``
        (not a bool, in [0, 2**63)): a run is a pure function of its configuration, seed
        included.

    Returns
    -------
    str
        ``json.dumps`` with sorted keys, no whitespace, ASCII only and no NaN/inf. Two
        configurations give the same text exactly when they are equal as JSON values; note that
        ``1`` and ``1.0`` are different JSON values and so give different keys.

    Raises
    ------
    TypeError
        If `config` is not a dict or holds something JSON cannot represent.
    ValueError
        If a key is not a string, the seed is missing or out of range, or a float is NaN or
        infinite.
    """
    if not isinstance(config, dict):
        raise TypeError(f"`config` must be a dict, got {type(config).__name__}: {config!r:.200}")
    bad = [k for k in config if not isinstance(k, str)]
    if bad:
        raise ValueError(f"`config` keys must be strings, got {bad!r:.200}")
    seed = config.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ValueError(f"`config` must hold an integer 'seed' in [0, 2**63), got {seed!r} "
                         f"in {config!r:.200}")
    try:
        return json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                          allow_nan=False)
    except ValueError as exc:
        raise ValueError(f"`config` holds a NaN or infinite float: {config!r:.200}") from exc
    except TypeError as exc:
        raise TypeError(f"`config` is not JSON serialisable ({exc}): {config!r:.200}") from exc


def config_key(config):
    """The run key: the sha256 hex digest of :func:`canonical_json` of `config`."""
    return hashlib.sha256(canonical_json(config).encode("ascii")).hexdigest()


def result_json(value):
    """JSON text of a metrics or history value, with sorted keys.

    NumPy scalars and arrays are converted with ``tolist``; NaN and infinities are kept (as
    the tokens ``NaN``, ``Infinity``, which :func:`json.loads` reads back), since a diverged
    run legitimately reports them.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True,
                      default=_json_default)


def _utc_now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class RunStore:
    """A study database: the runs table plus the studies that asked for them.

    Parameters
    ----------
    path : str or path-like
        The SQLite file.
    create : bool, default True
        Create the file (its folder and its tables) if it does not exist. With ``False`` a
        missing file
        raises :class:`FileNotFoundError`; use that for reading (reports).

    Raises
    ------
    FileNotFoundError
        If ``create=False`` and `path` does not exist.
    ValueError
        If `path` is not an SQLite database, one that was not made by this module, or one with
        a newer schema.

    Notes
    -----
    Only one process should write at a time (the sweep coordinator). Two writers stay correct,
    since ``key`` is UNIQUE and a second row for a key is ignored, but they waste work.
    Keep the file on a local disk: SQLite's WAL mode needs shared memory, which network file
    systems do not provide.
    """

    def __init__(self, path, *, create=True):
        self.path = pathlib.Path(path)
        if not create and not self.path.is_file():
            raise FileNotFoundError(f"no study database at {str(self.path)!r}")
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        try:
            self._prepare()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise ValueError(f"{str(self.path)!r} is not an SQLite database: {exc}") from exc
        except BaseException:
            self._conn.close()
            raise

    def _prepare(self):
        conn = self._conn
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        n_tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if n_tables and app_id != _APPLICATION_ID:
            raise ValueError(f"{str(self.path)!r} is an SQLite database that pysplinet did not "
                             "create; choose another file")
        if version > _SCHEMA_VERSION:
            raise ValueError(f"{str(self.path)!r} has study schema {version}, newer than the "
                             f"{_SCHEMA_VERSION} this pysplinet reads; upgrade pysplinet")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        if not n_tables:
            with self._transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA application_id={_APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    # -- plumbing -------------------------------------------------------------------------

    def _transaction(self):
        return _Transaction(self._conn)

    def close(self):
        """Close the connection (committed rows are already on disk)."""
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def integrity_check(self):
        """Result of ``PRAGMA integrity_check``: ``'ok'`` for a sound file."""
        rows = self._conn.execute("PRAGMA integrity_check").fetchall()
        return "\n".join(row[0] for row in rows)

    # -- studies --------------------------------------------------------------------------

    def add_study(self, name, options):
        """Record a study and its options (idempotent).

        Parameters
        ----------
        name : str
            Non-empty study name.
        options : dict
            JSON-serialisable options that define the study (stored as canonical JSON).

        Raises
        ------
        ValueError
            If `name` is empty, or the study is already recorded with different options.
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"`name` must be a non-empty string, got {name!r}")
        if not isinstance(options, dict):
            raise TypeError(f"`options` must be a dict, got {type(options).__name__}")
        text = json.dumps(options, sort_keys=True, separators=(",", ":"), allow_nan=False)
        with self._transaction():
            row = self._conn.execute("SELECT options FROM studies WHERE name = ?",
                                     (name,)).fetchone()
            if row is None:
                self._conn.execute("INSERT INTO studies (name, options, created) "
                                   "VALUES (?, ?, ?)", (name, text, _utc_now()))
            elif row[0] != text:
                raise ValueError(f"study {name!r} is already recorded in {str(self.path)!r} "
                                 f"with options {row[0]}, not {text}; use another study name "
                                 "or database")

    def studies(self):
        """All recorded studies as ``{name: options dict}``."""
        rows = self._conn.execute("SELECT name, options FROM studies ORDER BY name")
        return {name: json.loads(options) for name, options in rows}

    def link(self, study, keys):
        """Record that `study` asked for the runs `keys` (idempotent)."""
        with self._transaction():
            self._conn.executemany("INSERT OR IGNORE INTO study_runs (study, key) VALUES (?, ?)",
                                   [(study, key) for key in keys])

    # -- runs -----------------------------------------------------------------------------

    def keys(self, status=None):
        """The set of stored run keys, optionally only those with `status`."""
        if status is None:
            rows = self._conn.execute("SELECT key FROM runs")
        else:
            _check_status(status)
            rows = self._conn.execute("SELECT key FROM runs WHERE status = ?", (status,))
        return {row[0] for row in rows}

    def add_run(self, record, *, study=None, replace_failed=False):
        """Insert one finished run in a single transaction.

        Parameters
        ----------
        record : dict
            ``key``, ``config`` (canonical JSON text), ``seed``, ``status``, ``error``,
            ``metrics`` and ``history`` (JSON text), ``wall_time``, ``version``; ``created`` is
            filled in when missing.
        study : str, optional
            Also link the run to this (already added) study, in the same transaction.
        replace_failed : bool, default False
            If a row with this key exists and its status is ``'failed'``, replace it.

        Returns
        -------
        bool
            True if the row was written, False if the key was already stored (and kept).
        """
        _check_status(record["status"])
        values = dict(record)
        values.setdefault("created", _utc_now())
        row = tuple(values[name] for name in _RUN_COLUMNS)
        columns = ", ".join(_RUN_COLUMNS)
        marks = ", ".join("?" * len(_RUN_COLUMNS))
        if replace_failed:
            updates = ", ".join(f"{c} = excluded.{c}" for c in _RUN_COLUMNS if c != "key")
            conflict = f"DO UPDATE SET {updates} WHERE runs.status = 'failed'"
        else:
            conflict = "DO NOTHING"
        with self._transaction():
            cursor = self._conn.execute(
                f"INSERT INTO runs ({columns}) VALUES ({marks}) ON CONFLICT (key) {conflict}",
                row)
            written = cursor.rowcount > 0
            if study is not None:
                self._conn.execute("INSERT OR IGNORE INTO study_runs (study, key) VALUES (?, ?)",
                                   (study, record["key"]))
        return written

    def runs(self, *, study=None, status=None, keys=None):
        """Stored runs as dicts, in the order they were written.

        Parameters
        ----------
        study : str, optional
            Only runs linked to this study.
        status : {'ok', 'diverged', 'failed'}, optional
            Only runs with this status.
        keys : iterable of str, optional
            Only these run keys (missing keys are simply absent from the result).

        Returns
        -------
        list of dict
            Each with ``id``, ``key``, ``config`` (dict), ``seed``, ``status``, ``error``,
            ``metrics`` (dict), ``history``, ``wall_time``, ``version``, ``created``.
        """
        clauses, params = [], []
        if study is not None:
            clauses.append("key IN (SELECT key FROM study_runs WHERE study = ?)")
            params.append(study)
        if status is not None:
            _check_status(status)
            clauses.append("status = ?")
            params.append(status)
        sql = "SELECT id, " + ", ".join(_RUN_COLUMNS) + " FROM runs"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY id"
        rows = self._conn.execute(sql, params).fetchall()
        wanted = None if keys is None else set(keys)
        out = []
        for row in rows:
            run = dict(zip(("id",) + _RUN_COLUMNS, row))
            if wanted is not None and run["key"] not in wanted:
                continue
            for name in ("config", "metrics", "history"):
                run[name] = json.loads(run[name])
            out.append(run)
        return out

    def counts(self, *, study=None):
        """Number of stored runs per status, ``{'ok': n, 'diverged': n, 'failed': n}``."""
        counts = dict.fromkeys(STATUSES, 0)
        if study is None:
            rows = self._conn.execute("SELECT status, count(*) FROM runs GROUP BY status")
        else:
            rows = self._conn.execute(
                "SELECT status, count(*) FROM runs WHERE key IN "
                "(SELECT key FROM study_runs WHERE study = ?) GROUP BY status", (study,))
        counts.update(dict(rows.fetchall()))
        return counts


def _check_status(status):
    if status not in STATUSES:
        raise ValueError(f"`status` must be one of {STATUSES}, got {status!r}")


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception."""

    def __init__(self, conn):
        self._conn = conn

    def __enter__(self):
        self._conn.execute("BEGIN IMMEDIATE")
        return self._conn

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self._conn.execute("COMMIT")
        else:
            self._conn.execute("ROLLBACK")
        return False

