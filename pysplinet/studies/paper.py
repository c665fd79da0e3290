"""The paper's reported numbers, as data, to set beside reproduced ones.

Source: S. Günther, W. Pazner, D. Qi, "Spline parameterization of neural network controls for
deep learning", section 4.2 (Tables 1-3, search space) and section 4.4 (learned time scale).
Values are copied as printed: validation errors as numbers, accuracies in percent.

Each table row is a dict::

    {"table": 1, "case": "sin(2x)", "frequency": 2, "label": "SpliNet, d = 1",
     "architecture": "SpliNet", "degree": 1, "quantity": "validation error", "unit": "",
     "mean": 4.5e-05, "std": 8.8e-05, "min": 1.4e-06, "max": 7.6e-04}

``architecture`` uses the class names of pysplinet (``"ResNet"``, ``"ODENet"``,
``"SpliNet"``); ``label`` is the paper's row name; ``degree`` is None except for SpliNets;
``frequency`` is set for Table 1 only. Every table gathers statistics over 100 training runs
of the hyperparameter search described by :data:`SEARCH_SPACE`.

Notes
-----
The row "sin(2x), ResNet" is printed with a mean (8.9e-2) larger than its maximum (6.6e-2),
which cannot both be right; it is kept as printed.
"""

__all__ = ["PAPER", "SEARCH_SPACE", "TABLES", "TIME_SCALE", "paper_rows"]

#: The publication all numbers in this module come from.
PAPER = {
    "title": "Spline parameterization of neural network controls for deep learning",
    "authors": ("Stefanie Günther", "Will Pazner", "Dongping Qi"),
}

_ROW_NAMES = (("ResNet", "ResNet", None), ("ODEnet", "ODENet", None),
              ("SpliNet, d = 1", "SpliNet", 1), ("SpliNet, d = 2", "SpliNet", 2),
              ("SpliNet, d = 3", "SpliNet", 3))

# (mean, std, min, max) per row of _ROW_NAMES, as printed.
_TABLE_1 = {
    1: ((1.8e-2, 4.7e-2, 4.2e-7, 2.0e-1),
        (3.5e-5, 1.2e-4, 2.1e-6, 1.1e-3),
        (2.4e-5, 2.2e-5, 2.9e-6, 1.3e-4),
        (2.2e-5, 2.0e-5, 6.8e-7, 1.1e-4),
        (2.8e-5, 3.4e-5, 2.4e-6, 2.6e-4)),
    2: ((8.9e-2, 2.2e-1, 2.3e-6, 6.6e-2),
        (4.1e-4, 8.3e-4, 1.8e-6, 3.2e-3),
        (4.5e-5, 8.8e-5, 1.4e-6, 7.6e-4),
        (3.8e-5, 8.3e-5, 7.9e-7, 6.7e-4),
        (4.6e-5, 2.2e-4, 9.3e-7, 1.2e-3)),
    5: ((4.7e-2, 1.0e-1, 9.5e-6, 3.5e-1),
        (1.0e-2, 2.9e-2, 8.5e-6, 1.8e-1),
        (1.2e-3, 1.8e-3, 6.5e-7, 1.8e-2),
        (7.4e-3, 4.7e-2, 7.2e-7, 4.2e-1),
        (7.1e-3, 4.6e-2, 6.4e-7, 4.3e-1)),
}
_TABLE_2 = ((95.9, 1.7, 88.5, 98.2),
            (96.4, 1.6, 89.3, 98.3),
            (97.0, 0.8, 93.7, 98.7),
            (97.1, 1.1, 90.8, 98.6),
            (97.0, 1.0, 92.9, 98.5))
_TABLE_3 = ((80.1, 5.0, 64.7, 85.3),
            (81.9, 2.6, 70.1, 85.6),
            (82.4, 1.8, 75.4, 85.3),
            (82.3, 1.6, 74.8, 85.4),
            (82.4, 1.7, 77.5, 86.1))


def _rows(table, case, frequency, quantity, unit, values):
    rows = []
    for (label, architecture, degree), (mean, std, lo, hi) in zip(_ROW_NAMES, values):
        rows.append({"table": table, "case": case, "frequency": frequency, "label": label,
                     "architecture": architecture, "degree": degree, "quantity": quantity,
                     "unit": unit, "mean": mean, "std": std, "min": lo, "max": hi})
    return tuple(rows)


#: ``{table number: {"source", "caption", "rows"}}`` for Tables 1-3 of the paper.
TABLES = {
    1: {"source": "Günther, Pazner, Qi, Table 1 (section 4.2)",
        "caption": "sin(fx) test case: validation error statistics over 100 training runs",
        "rows": sum((_rows(1, f"sin({f}x)", f, "validation error", "", _TABLE_1[f])
                     for f in (1, 2, 5)), ())},
    2: {"source": "Günther, Pazner, Qi, Table 2 (section 4.2)",
        "caption": "Peaks test case: validation accuracy statistics over 100 training runs",
        "rows": _rows(2, "peaks", None, "validation accuracy", "%", _TABLE_2)},
    3: {"source": "Günther, Pazner, Qi, Table 3 (section 4.2)",
        "caption": "Indian Pines segmentation: validation accuracy statistics over 100 "
                   "training runs",
        "rows": _rows(3, "indian_pines", None, "validation accuracy", "%", _TABLE_3)},
}

#: The hyperparameter search of section 4.2 (the paper says "randomly sampled" and gives no
#: distribution; ranges are closed intervals as printed).
SEARCH_SPACE = {
    "source": "Günther, Pazner, Qi, section 4.2",
    "n_runs": 100,
    "learning_rate": (1e-3, 1e-1),
    "gamma": (1e-10, 1e-4),
    "amplitude": (1e-3, 1.0),
    "L": tuple(range(2, 16)),
    "L_indian_pines": (2, 5, 10, 15, 20, 25),
    "degrees": (1, 2, 3),
}

#: Section 4.4: learning the time scale lam for 10 sin(x) with tanh activation (the caption
#: of Figure 9 writes 10 sin(3x); the text says 10 sin(x)).
TIME_SCALE = {
    "source": "Günther, Pazner, Qi, section 4.4",
    "target": "10 sin(x)",
    "activation": "tanh",
    "fixed_lam": 3.0,
    "fixed_lam_accuracy_percent": 80.0,   # "a maximum of about 80%"
    "initial_lam": 3.0,
    "n_runs": 100,
    "n_epochs": 200,
    "mean_lam": 13.59,
    "min_lam": 10.72,
    "max_lam": 18.47,
    "mean_accuracy_percent": 98.8,
}


def paper_rows(table, *, architecture=None, degree=None, frequency=None):
    """Rows of a paper table, optionally filtered.

    Parameters
    ----------
    table : {1, 2, 3}
    architecture : {'ResNet', 'ODENet', 'SpliNet'}, optional
    degree : {1, 2, 3}, optional
        SpliNet degree.
    frequency : {1, 2, 5}, optional
        Table 1 only.

    Returns
    -------
    list of dict
        Copies of the matching rows (see the module docstring for the fields).
    """
    if table not in TABLES:
        raise ValueError(f"`table` must be one of {sorted(TABLES)}, got {table!r}")
    if frequency is not None and table != 1:
        raise ValueError(f"`frequency` applies to Table 1 only, got table={table!r}")
    for name, value, accepted in (("architecture", architecture, ("ResNet", "ODENet", "SpliNet")),
                                  ("degree", degree, (1, 2, 3)),
                                  ("frequency", frequency, tuple(_TABLE_1))):
        if value is not None and value not in accepted:
            raise ValueError(f"`{name}` must be one of {accepted}, got {value!r}")
    out = []
    for row in TABLES[table]["rows"]:
        if architecture is not None and row["architecture"] != architecture:
            continue
        if degree is not None and row["degree"] != degree:
            continue
        if frequency is not None and row["frequency"] != frequency:
            continue
        out.append(dict(row))
    return out
