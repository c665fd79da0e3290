"""The commands ``pysplinet reproduce`` and ``pysplinet report``.

``pysplinet reproduce STUDY`` runs one of the paper's studies (or ``all``) into the study
database, one row per training run, skipping the runs already stored, then prints the
study's tables and writes its tables and figures (see :mod:`pysplinet.studies.reproduce`
and :mod:`pysplinet.studies.report`). Runs go to local worker processes (``--workers``,
default: every core) or to a Dask cluster (``--scheduler tcp://HOST:PORT``); the stored
numbers are the same whatever the executor. Ctrl-C stops cleanly: the finished runs stay
stored and the same command resumes (exit status 130).

``pysplinet report`` rebuilds every table and figure from a database alone.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from ..cli import (CLIError, HelpFormatter, bad_input, nonnegative_int, positive_int)

__all__ = ["register"]

logger = logging.getLogger(__name__)

DEFAULT_DB = os.path.join("results", "pysplinet.sqlite")
DEFAULT_OUT = os.path.join("results", "report")


def register(subparsers, parents):
    """Add ``reproduce`` and ``report`` to the ``pysplinet`` command."""
    from .reproduce import STUDIES

    p = subparsers.add_parser(
        "reproduce", parents=parents, formatter_class=HelpFormatter,
        help="run one of the paper's studies into the study database and report it",
        description="Run a study of the paper (section 4) into the SQLite study database, "
                    "skipping stored runs (a killed or interrupted sweep resumes), then "
                    "print its tables and write its tables and figures. Studies: "
                    + ", ".join(STUDIES) + "; 'all' runs every one.")
    p.add_argument("study", choices=STUDIES + ("all",), metavar="STUDY",
                   help="one of " + ", ".join(STUDIES + ("all",)))
    p.add_argument("--quick", action="store_true",
                   help="the quick profile: few samples and epochs, minutes in all")
    p.add_argument("--samples", type=positive_int, default=None, metavar="S",
                   help="hyperparameter samples (sine, peaks, indian-pines; default 100), "
                        "samples per L (param-reduction; default 20) or runs per setting "
                        "(time-scale; default 100)")
    p.add_argument("--epochs", type=positive_int, default=None, metavar="E",
                   help="training epochs (default per case: sine 1000, peaks 100, "
                        "indian-pines 150, time-scale 200)")
    p.add_argument("--batch-size", type=positive_int, default=None, metavar="B",
                   help="mini-batch size (default per case: sine 5, peaks 40, "
                        "indian-pines 100)")
    p.add_argument("--seed", type=nonnegative_int, default=0, metavar="SEED",
                   help="seed of the Latin hypercube; sample i trains with seed SEED + i")
    _add_db(p)
    p.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                   help="folder for the tables and figures")
    p.add_argument("--workers", type=positive_int, default=None, metavar="W",
                   help="local worker processes (default: the number of cores; 1 runs in "
                        "this process)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="run on the workers of this Dask distributed scheduler instead")
    p.add_argument("--retry-failed", action="store_true",
                   help="run again the runs stored as failed (an exception)")
    p.set_defaults(handler=reproduce_command)

    r = subparsers.add_parser(
        "report", parents=parents, formatter_class=HelpFormatter,
        help="rebuild every table and figure from a study database",
        description="Rebuild the tables (Markdown and CSV) and figures (PNG and PDF) of the "
                    "studies recorded in a study database, from the database alone.")
    _add_db(r)
    r.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                   help="folder for the tables and figures")
    r.add_argument("--study", action="append", default=None, metavar="NAME",
                   help="report only this study (its full name in the database; repeat "
                        "for several)")
    r.set_defaults(handler=report_command)


def _add_db(parser):
    parser.add_argument("--db", default=DEFAULT_DB, metavar="PATH",
                        help="the SQLite study database")


def _check_db(path, create):
    if os.path.isdir(path):
        raise CLIError(f"--db {path!r} is a folder; give a file name")
    if not create:
        if not os.path.isfile(path):
            raise CLIError(f"--db {path!r}: no such study database")
        return
    _writable_folder("--db", path, os.path.dirname(os.path.abspath(path)))


def _check_out(path):
    _writable_folder("--out", path, path)


def _writable_folder(flag, path, folder):
    """Create ``folder`` if needed; a CLIError naming ``flag`` unless it is writable."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise CLIError(f"{flag} {path!r}: {folder!r} exists and is not a folder")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as err:
        raise CLIError(f"{flag} {path!r}: cannot create folder {folder!r}: {err}") from None
    if not os.access(folder, os.W_OK):
        raise CLIError(f"{flag} {path!r}: folder {folder!r} is not writable")


def _indian_pines_missing():
    """The one-line reason the Indian Pines scene cannot be loaded, or None."""
    from ..data import DataUnavailableError, indian_pines

    try:
        indian_pines(n_train=1, n_val=1)
    except DataUnavailableError as err:
        return str(err).splitlines()[0]
    return None


def _open_db(path, create):
    from .store import RunStore

    _check_db(path, create)
    with bad_input():
        RunStore(path, create=create).close()


def _print_sections(sections):
    for section in sections:
        print(section.markdown)
        print("Files: " + ", ".join(section.files))
        print()
    sys.stdout.flush()


def reproduce_command(args):
    """Handler of ``pysplinet reproduce``."""
    from .reproduce import STUDIES, run_study, study_name, study_options
    from .report import build_report
    from .runner import SweepInterrupted, _check_scheduler

    profile = "quick" if args.quick else "full"
    studies = STUDIES if args.study == "all" else (args.study,)
    if args.workers is not None and args.scheduler is not None:
        raise CLIError(f"give --workers ({args.workers}) or --scheduler "
                       f"({args.scheduler!r}), not both: a Dask cluster has its own workers")
    with bad_input():
        _check_scheduler(args.scheduler)
        options = [study_options(s, profile, samples=args.samples, epochs=args.epochs,
                                 batch_size=args.batch_size, seed=args.seed)
                   for s in studies]
    _check_out(args.out)
    _open_db(args.db, create=True)

    def say(message):
        """A status line on stderr, unless --quiet."""
        if not args.quiet:
            print(message, file=sys.stderr)

    if "indian-pines" in studies:
        missing = _indian_pines_missing()
        if missing and args.study == "indian-pines":
            raise CLIError(f"reproduce indian-pines: {missing}")
        if missing:
            say(f"# indian-pines: skipped: {missing}")
            options = [o for o, s in zip(options, studies) if s != "indian-pines"]

    start = time.perf_counter()
    status = 0
    for opts in options:
        name = study_name(opts)
        say(f"# {name}: running into {args.db}")
        try:
            name, summary = run_study(opts, args.db, workers=args.workers,
                                      scheduler=args.scheduler, progress=not args.quiet)
        except SweepInterrupted as exc:
            s = exc.summary
            print(f"pysplinet reproduce: interrupted: {s.done} run(s) stored by this call, "
                  f"{s.remaining} of {s.total} of study {name!r} still to run; run the same "
                  f"command again to resume (stored runs in {args.db!r} are skipped)",
                  file=sys.stderr)
            return 130
        except ConnectionError as err:
            raise CLIError(str(err)) from None
        say(f"# {name}: {summary.total} runs, {summary.skipped} already stored, "
            f"{summary.done} run now ({summary.ok} ok, {summary.diverged} diverged, "
            f"{summary.failed} failed), {summary.lost} lost")
        if summary.failed or summary.lost:
            status = 1
        try:
            _print_sections(build_report(args.db, args.out, [name]))
        except KeyboardInterrupt:
            print(f"pysplinet reproduce: interrupted while writing the report of {name!r}; its "
                  f"runs are stored in {args.db!r}: run the same command again to resume",
                  file=sys.stderr)
            return 130
    sized = "" if args.samples is None else f", --samples {args.samples}"
    say(f"reproduce {args.study} ({profile} profile{sized}) finished in "
        f"{time.perf_counter() - start:.1f} s; database {args.db}, report in {args.out}")
    if status:
        print("pysplinet reproduce: some runs failed or were lost; see the tables, rerun "
              "(with --retry-failed for failed runs) to complete the study", file=sys.stderr)
    return status


def report_command(args):
    """Handler of ``pysplinet report``."""
    from .report import build_report

    from .store import RunStore

    _check_db(args.db, create=False)
    with bad_input(), RunStore(args.db, create=False) as db:
        recorded = db.studies()
    unknown = [n for n in args.study or () if n not in recorded]
    if unknown:
        raise CLIError(f"--study {unknown[0]!r} is not in {args.db!r}; recorded: "
                       f"{', '.join(sorted(recorded)) or 'none'}")
    _check_out(args.out)     # created only once the database is known to be readable
    sections = build_report(args.db, args.out, args.study)
    _print_sections(sections)
    if not sections:
        print(f"pysplinet report: no study recorded in {args.db!r}", file=sys.stderr)
    return 0
