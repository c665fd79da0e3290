"""Hyperparameter studies: sample, run, store and summarise many trainings.

The pieces are generic over the function that runs one training:

* :mod:`~pysplinet.studies.sampling`: Latin hypercube samples of named ranges;
* :mod:`~pysplinet.studies.runner`: :func:`run_sweep` runs configurations serially, on local
  processes or on a Dask cluster, skipping those already stored;
* :mod:`~pysplinet.studies.store`: the SQLite database, one row per run;
* :mod:`~pysplinet.studies.stats`: summary statistics and bootstrap confidence intervals;
* :mod:`~pysplinet.studies.paper`: the numbers reported in the paper.
"""

from .paper import PAPER, SEARCH_SPACE, TABLES, TIME_SCALE, paper_rows
from .runner import SweepInterrupted, SweepSummary, execute_run, run_sweep
from .sampling import Choice, LogUniform, Uniform, latin_hypercube
from .stats import (SUMMARY_COLUMNS, group_runs, markdown_table, summarize, summarize_groups,
                    write_csv)
from .store import STATUSES, RunStore, canonical_json, config_key

__all__ = ["PAPER", "SEARCH_SPACE", "STATUSES", "SUMMARY_COLUMNS", "TABLES", "TIME_SCALE",
           "Choice", "LogUniform", "RunStore", "SweepInterrupted", "SweepSummary", "Uniform",
           "canonical_json", "config_key", "execute_run", "group_runs", "latin_hypercube",
           "markdown_table", "paper_rows", "run_sweep", "summarize", "summarize_groups",
           "write_csv"]
