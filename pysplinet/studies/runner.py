"""Run a sweep of configurations through one training function and store every result.

The coordinating process (the one calling :func:`run_sweep`) is the only one that touches the
database: workers get a configuration, call the training function and send back a plain dict
of JSON text and numbers. Each finished run is committed at once, so an interrupted sweep
(Ctrl-C, ``kill -9``, a lost cluster) resumes by calling :func:`run_sweep` again with the same
configurations: stored keys are skipped.
"""

import concurrent.futures
import contextlib
import dataclasses
import json
import logging
import multiprocessing
import os
import pickle
import re
import signal
import sys
import threading
import time
import traceback

from tqdm import tqdm

from .store import RunStore, canonical_json, config_key, result_json

__all__ = ["SweepInterrupted", "SweepSummary", "execute_run", "run_sweep"]

logger = logging.getLogger(__name__)

# tcp://host:port, tcp://1.2.3.4:port or tcp://[ipv6]:port
_SCHEDULER_RE = re.compile(r"^tcp://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")
_RESULT_FIELDS = ("status", "metrics", "history")


@dataclasses.dataclass(frozen=True)
class SweepSummary:
    """What one call of :func:`run_sweep` did.

    Attributes
    ----------
    total : int
        Distinct configurations asked for.
    skipped : int
        Of those, already stored before the call (not run again).
    ok, diverged, failed : int
        Runs finished and stored by this call, per status.
    lost : int
        Runs not stored because the executor failed (a worker process died, the Dask
        scheduler went away); calling :func:`run_sweep` again runs them.
    duplicates : int
        Configurations that appeared more than once in the input (each runs once).
    db_path : str
        The database.
    """

    total: int
    skipped: int
    ok: int
    diverged: int
    failed: int
    lost: int
    duplicates: int
    db_path: str

    @property
    def done(self):
        """Runs stored by this call (``ok + diverged + failed``)."""
        return self.ok + self.diverged + self.failed

    @property
    def remaining(self):
        """Runs still missing from the database after this call."""
        return self.total - self.skipped - self.done

    @property
    def complete(self):
        """True when every configuration has a stored row."""
        return self.remaining == 0


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a sweep; finished runs are stored and the rest can be resumed.

    A subclass of :class:`KeyboardInterrupt`, so code that does not know about it still sees
    an interrupt.

    Attributes
    ----------
    summary : SweepSummary
        The counts at the moment of the interrupt (``summary.remaining`` runs are missing).
    """

    def __init__(self, summary):
        self.summary = summary
        super().__init__(
            f"sweep interrupted: {summary.done} run(s) stored by this call, "
            f"{summary.remaining} of {summary.total} still to run; call again with the same "
            f"configurations and database {summary.db_path!r} to resume (stored runs are "
            "skipped)")

    def __reduce__(self):
        return type(self), (self.summary,)


@dataclasses.dataclass(frozen=True)
class _Item:
    key: str
    text: str      # canonical JSON
    config: dict   # json.loads(text): what run_fn receives
    seed: int


def execute_run(run_fn, key, config):
    """Call ``run_fn(config)`` and package the outcome as a storable record.

    This is what every executor (the serial loop, a worker process, a Dask worker) runs, so the
    numbers cannot depend on the executor. An exception raised by `run_fn` (or a result of the
    wrong shape) becomes ``status='failed'`` with the traceback as error text;
    :class:`KeyboardInterrupt` and other non-``Exception`` errors propagate.

    Parameters
    ----------
    run_fn : callable
        ``run_fn(config) -> dict`` with optional keys ``'status'`` (``'ok'``, the default, or
        ``'diverged'``), ``'metrics'`` (dict, default empty) and ``'history'`` (any JSON
        value, default empty dict; typically lists of per-epoch values).
    key : str
        The run key, passed through.
    config : dict
        The configuration (already canonical).

    Returns
    -------
    dict
        ``key``, ``status``, ``error`` (None unless failed), ``metrics`` and ``history`` (JSON
        text), ``wall_time`` (seconds) and ``version`` (pysplinet version of this process).
    """
    from pysplinet._version import __version__

    start = time.perf_counter()
    try:
        status, metrics, history = _unpack_result(run_fn(config))
        error = None
    except Exception as exc:
        status, metrics, history = "failed", "{}", "{}"
        error = "".join(traceback.format_exception(exc)).rstrip()
    return {"key": key, "status": status, "error": error, "metrics": metrics,
            "history": history, "wall_time": time.perf_counter() - start,
            "version": __version__}


def _unpack_result(result):
    if not isinstance(result, dict):
        raise TypeError(f"run_fn must return a dict, got {type(result).__name__}")
    extra = sorted(set(result) - set(_RESULT_FIELDS))
    if extra:
        raise ValueError(f"run_fn returned unknown keys {extra}; accepted: {_RESULT_FIELDS}")
    status = result.get("status", "ok")
    if status not in ("ok", "diverged"):
        raise ValueError(f"run_fn returned status {status!r}; accepted: 'ok', 'diverged' "
                         "(raise an exception for a failed run)")
    metrics = result.get("metrics", {})
    if not isinstance(metrics, dict) or not all(isinstance(k, str) for k in metrics):
        raise TypeError(f"run_fn must return 'metrics' as a dict with str keys, "
                        f"got {metrics!r:.200}")
    return status, result_json(metrics), result_json(result.get("history", {}))


# -- input checks ------------------------------------------------------------------------

def _check_workers(workers):
    if workers is None:
        return os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"`workers` must be an integer >= 1 or None (all cores), "
                         f"got {workers!r}")
    return workers


def _check_scheduler(scheduler):
    if scheduler is None:
        return
    match = _SCHEDULER_RE.match(scheduler) if isinstance(scheduler, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 65535:
        raise ValueError(f"`scheduler` must be a Dask scheduler address 'tcp://HOST:PORT' "
                         f"(port 1-65535), got {scheduler!r}")


def _check_run_fn(run_fn):
    if not callable(run_fn):
        raise ValueError(f"`run_fn` must be a callable, got {run_fn!r:.200}")
    try:
        pickle.dumps(run_fn)
    except Exception as exc:
        raise ValueError(f"`run_fn` must be a module-level function that worker processes can "
                         f"import (picklable), got {run_fn!r:.200}: {exc}") from exc


def _prepare(configs):
    if isinstance(configs, dict) or not hasattr(configs, "__iter__"):
        raise ValueError(f"`configs` must be an iterable of dicts, got "
                         f"{type(configs).__name__}")
    items, seen, duplicates = [], set(), 0
    for i, config in enumerate(configs):
        if not isinstance(config, dict):
            raise ValueError(f"`configs[{i}]` must be a dict, got {type(config).__name__}: "
                             f"{config!r:.200}")
        try:
            text = canonical_json(config)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"`configs[{i}]`: {exc}") from exc
        key = config_key(config)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        items.append(_Item(key, text, json.loads(text), config["seed"]))
    return items, duplicates


# -- executors ---------------------------------------------------------------------------

def _ignore_sigint():
    # Worker processes leave Ctrl-C to the coordinator, which stops them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_serial(run_fn, items, record):
    for item in items:
        record(item, execute_run(run_fn, item.key, item.config))


def _run_processes(run_fn, items, record, lose, workers):
    context = multiprocessing.get_context("spawn")
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=min(workers, len(items)), mp_context=context, initializer=_ignore_sigint)
    try:
        futures = {pool.submit(execute_run, run_fn, item.key, item.config): item
                   for item in items}
        for future in concurrent.futures.as_completed(futures):
            try:
                result = future.result()
            except Exception as exc:
                lose(futures[future], exc)
                continue
            record(futures[future], result)
    except BaseException:
        _stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def _stop_pool(pool):
    terminate = getattr(pool, "terminate_workers", None)   # Python >= 3.14
    # Without that method, stop the running tasks through the pool's process table, taken
    # before shutdown(): shutdown() empties the table on Python 3.11.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    if terminate is not None:
        terminate()
    else:
        for process in processes:
            process.terminate()
    pool.shutdown(wait=True)


def _run_dask(run_fn, items, record, lose, scheduler):
    try:
        import distributed
    except ImportError as exc:
        raise ImportError("running on a Dask cluster (`scheduler=...`) needs the `distributed` "
                          "package: pip install distributed") from exc
    try:
        client = distributed.Client(scheduler, set_as_default=False)
    except OSError as exc:
        raise ConnectionError(f"could not connect to the Dask scheduler at {scheduler!r}: "
                              f"{exc}") from exc
    futures = []
    try:
        owner = {}
        for item in items:
            future = client.submit(execute_run, run_fn, item.key, item.config, pure=False)
            futures.append(future)
            owner[future.key] = item
        for future in distributed.as_completed(futures, loop=client.loop):
            try:
                result = future.result()
            except Exception as exc:
                lose(owner[future.key], exc)
                continue
            record(owner[future.key], result)
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        client.close()


@contextlib.contextmanager
def _sigint_deferred():
    """Hold back Ctrl-C until the block is done, then deliver it to the usual handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            signal.raise_signal(signal.SIGINT)


# -- the sweep ---------------------------------------------------------------------------

def run_sweep(configs, run_fn, db_path, workers=None, scheduler=None, progress=True, *,
              study=None, study_options=None, retry_failed=False):
    """Run every configuration not yet stored, writing each result as it finishes.

    Parameters
    ----------
    configs : iterable of dict
        Run configurations: JSON-serialisable dicts with string keys and an integer
        ``"seed"`` (see :func:`~pysplinet.studies.store.canonical_json`). Repeats run once.
    run_fn : callable
        A module-level (importable, picklable) function ``run_fn(config) -> dict``; see
        :func:`execute_run` for the result format. It receives the configuration after a JSON
        round trip (lists for tuples), the same dict whatever the executor.
    db_path : str or path-like
        The SQLite study database; created if missing.
    workers : int, optional
        Local worker processes (default ``os.cpu_count()``). ``workers=1`` runs in this
        process, one run after another. Not allowed together with `scheduler`.
    scheduler : str, optional
        Address ``'tcp://HOST:PORT'`` of a running Dask distributed scheduler; runs are
        submitted to its workers (needs the ``distributed`` package).
    progress : bool, default True
        Show a progress bar with ETA on stderr.
    study : str, optional
        Record the study name (with `study_options`) and link every configuration to it, so
        ``RunStore.runs(study=...)`` finds them.
    study_options : dict, optional
        JSON-serialisable options defining the study; only with `study`.
    retry_failed : bool, default False
        Run again the configurations stored as ``'failed'`` (replacing their rows).

    Returns
    -------
    SweepSummary

    Raises
    ------
    ValueError
        For bad arguments, before anything is run or written.
    SweepInterrupted
        On Ctrl-C: pending runs are cancelled, running ones stopped, finished ones kept.
    ConnectionError
        If the Dask scheduler cannot be reached.

    Notes
    -----
    A run must be a pure function of its configuration (seed included) for the stored
    numbers to be identical bit for bit across executors and worker counts. The runner
    guarantees the same input dict and the same code path everywhere; the training function
    must make its own arithmetic independent of the environment, e.g. by fixing the number of
    threads used by parallel reductions. Rows record the pysplinet version of the process
    that ran them; stored runs are skipped even if that version differs from the current one.

    Local workers are started with the ``spawn`` method, so each imports pysplinet and the
    module of `run_fn` afresh; Dask workers need both installed. A run that kills its worker
    process (a segmentation fault, the out-of-memory killer) breaks a local process pool: the
    runs not yet finished are then counted as ``lost``, not stored, and run again by the next
    call; run such a configuration with ``workers=1`` to see its error.
    """
    n_workers = _check_workers(workers)
    _check_scheduler(scheduler)
    if workers is not None and scheduler is not None:
        raise ValueError(f"give `workers` ({workers!r}) or `scheduler` ({scheduler!r}), not "
                         "both: a Dask cluster has its own workers")
    _check_run_fn(run_fn)
    if not isinstance(progress, bool):
        raise ValueError(f"`progress` must be True or False, got {progress!r}")
    if study is None and study_options is not None:
        raise ValueError("`study_options` needs a `study` name")
    if study is not None and (not isinstance(study, str) or not study):
        raise ValueError(f"`study` must be a non-empty string, got {study!r}")
    if study_options is not None and not isinstance(study_options, dict):
        raise ValueError(f"`study_options` must be a dict, got {type(study_options).__name__}")
    items, duplicates = _prepare(configs)

    with RunStore(db_path) as db:
        if study is not None:
            db.add_study(study, study_options or {})
            db.link(study, [item.key for item in items])
        stored = db.keys()
        if retry_failed:
            stored -= db.keys("failed")
        pending = [item for item in items if item.key not in stored]
        counts = {"ok": 0, "diverged": 0, "failed": 0, "lost": 0}

        def summary():
            return SweepSummary(total=len(items), skipped=len(items) - len(pending),
                                duplicates=duplicates, db_path=str(db_path), **counts)

        bar = tqdm(total=len(pending), desc=study or "sweep", unit="run", file=sys.stderr,
                   disable=not progress or not pending, dynamic_ncols=True)
        # until the first run is back: each worker loads the compiled kernels (and compiles
        # them, the first time after an install or an upgrade)
        bar.set_postfix_str("workers loading the kernels (compiling them takes ~30 s the "
                            "first time)")

        def record(item, result):
            row = dict(result, config=item.text, seed=item.seed)
            with _sigint_deferred():   # the row and its count go together
                db.add_run(row, replace_failed=retry_failed)
                counts[result["status"]] += 1
            bar.update()
            bar.set_postfix(failed=counts["failed"], diverged=counts["diverged"], refresh=False)

        def lose(item, exc):
            counts["lost"] += 1
            bar.update()
            logger.warning("run %s was not stored, the executor failed: %r", item.key, exc)

        try:
            if not pending:
                pass
            elif scheduler is not None:
                _run_dask(run_fn, pending, record, lose, scheduler)
            elif n_workers == 1:
                _run_serial(run_fn, pending, record)
            else:
                _run_processes(run_fn, pending, record, lose, n_workers)
        except KeyboardInterrupt:
            raise SweepInterrupted(summary()) from None
        finally:
            bar.close()

    result = summary()
    logger.info("sweep %s: %d stored now (%d ok, %d diverged, %d failed), %d skipped, %d lost",
                db_path, result.done, result.ok, result.diverged, result.failed, result.skipped,
                result.lost)
    return result
