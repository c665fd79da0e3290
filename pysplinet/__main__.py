"""``python -m pysplinet``: the ``pysplinet`` command (see :mod:`pysplinet.cli`)."""

from .cli import main

raise SystemExit(main())
