"""The paper's studies as lists of run configurations, and running them into a database.

=================  ========================================================================
study              what it runs (paper section, figure or table)
=================  ========================================================================
``sine``           robustness sweep on sin(f x), f = 1, 2, 5 (4.2, Table 1, Figure 5)
``peaks``          robustness sweep on peaks (4.2, Table 2, Figure 6)
``indian-pines``   robustness sweep on Indian Pines (4.2, Table 3, Figure 6)
``param-reduction``  validation metric against the number of weight sets (4.3, Figures 7-8)
``time-scale``     10 sin(3x) with lam fixed at 3 and lam learned from 3 (4.4, Figure 9)
``convergence``    output error against the step size h (Figure 4)
``spectrum``       eigenvalues of the linearised layers of a trained net (Figure 3)
``basis``          the B-spline basis functions (Figure 1)
=================  ========================================================================

Robustness sweeps (section 4.2): ``S`` hyperparameter samples are drawn once per case by a
seeded Latin hypercube (:func:`~pysplinet.studies.sampling.latin_hypercube`): learning rate in
[1e-3, 1e-1], Tikhonov weight gamma in [1e-10, 1e-4] and initial amplitude in [1e-3, 1], all
log-uniform, and ``L`` from {2, ..., 15} ({2, 5, 10, 15, 20, 25} for Indian Pines). Sample
``i`` trains, with seed ``seed + i``, a ResNet (``N = L``, ``h = 1``), an ODEnet (``N = L``,
``h = T / L``) and SpliNets of degree 1, 2, 3 (``N = 100``, ``h = 0.01``, ``L`` knot
intervals); on sin(f x) for each f. The networks are the presets of :mod:`pysplinet.cases`.

A study is recorded in the database under a name that holds its options and a digest of
them (:func:`study_name`), so the quick and the full profile, or two sample sizes, live side
by side in one database; runs with identical configurations are shared between studies.

Notes
-----
The time-scale study learns ``10 sin(3x)``, the target of the paper's Figure 9 (its text
writes ``10 sin(x)``). The paper does not give the training settings of section 4.4; the
learning rate 0.05 and initial amplitude 0.1 used here come from a small probe.
"""

from __future__ import annotations

import hashlib
import json
import math
import os

from .runner import run_sweep
from .runs import run_config
from .sampling import Choice, LogUniform, latin_hypercube

__all__ = ["PROFILES", "STUDIES", "TRAINING_STUDIES", "study_configs", "study_name",
           "study_options", "run_study"]

#: Every study, in the order ``reproduce all`` runs them.
STUDIES = ("basis", "convergence", "spectrum", "time-scale", "sine", "peaks", "indian-pines",
           "param-reduction")
#: The robustness sweeps of section 4.2.
ROBUSTNESS = ("sine", "peaks", "indian-pines")
#: Studies that train networks (``epochs`` and ``batch_size`` apply).
TRAINING_STUDIES = ROBUSTNESS + ("param-reduction", "time-scale", "spectrum")
#: Studies that draw samples (``samples`` applies: hyperparameter samples, samples per L, or
#: runs of the time-scale study).
SAMPLING_STUDIES = ROBUSTNESS + ("param-reduction", "time-scale")

_SINE_FREQS = (1, 2, 5)
_L_RANGE = tuple(range(2, 16))
_L_INDIAN_PINES = (2, 5, 10, 15, 20, 25)
_ARCHS = (("resnet", None), ("odenet", None), ("splinet", 1), ("splinet", 2), ("splinet", 3))
_SPLINE_LAYERS = 100

_FULL = {
    "sine": {"samples": 100, "epochs": 1000, "batch_size": 5,
             "data": {"seed": 0, "n_val": 20}, "freqs": list(_SINE_FREQS)},
    "peaks": {"samples": 100, "epochs": 100, "batch_size": 40,
              "data": {"seed": 0, "n_train": 1000, "n_val": 1000}},
    "indian-pines": {"samples": 100, "epochs": 150, "batch_size": 100,
                     "data": {"seed": 0, "n_train": 4000, "n_val": 1000}},
    "param-reduction": {"samples": 20, "L": list(_L_RANGE),
                        "sine": {"epochs": 1000, "batch_size": 5,
                                 "data": {"freq": 5, "seed": 0, "n_val": 20}},
                        "peaks": {"epochs": 100, "batch_size": 40,
                                  "data": {"seed": 0, "n_train": 1000, "n_val": 1000}}},
    "time-scale": {"samples": 100, "epochs": 200, "batch_size": 5, "lr": 0.05, "reg": 1e-9,
                   "amplitude": 0.1, "time_scale": 3.0,
                   "data": {"freq": 3, "amplitude": 10.0, "seed": 0, "n_val": 20}},
    "convergence": {"n_layers": [10 * 2 ** k for k in range(15)],
                    "reference_layers": 10 * 2 ** 18, "degree": 2, "knots": 10,
                    "amplitude": 1.0, "data": {"freq": 5, "seed": 0, "n_val": 20}},
    "spectrum": {"epochs": 1000, "batch_size": 5, "lr": 0.01, "reg": 1e-9, "amplitude": 0.5,
                 "degree": 2, "knots": 10, "gamma": 0.1, "n_layers": [10, 20, 100, 500],
                 "data": {"freq": 1, "seed": 0, "n_val": 20}},
    "basis": {"knots": 5, "degrees": [1, 2, 3], "points": 401},
}

# what the quick profile changes (nested dicts are merged)
_QUICK_CHANGES = {
    "sine": {"samples": 3, "epochs": 40},
    "peaks": {"samples": 3, "epochs": 8},
    "indian-pines": {"samples": 2, "epochs": 2, "data": {"n_train": 300, "n_val": 200}},
    "param-reduction": {"samples": 1, "L": [2, 5, 10, 15], "sine": {"epochs": 40},
                        "peaks": {"epochs": 8}},
    "time-scale": {"samples": 3},
    "convergence": {"n_layers": [10 * 2 ** k for k in range(10)],
                    "reference_layers": 10 * 2 ** 13},
    "spectrum": {"epochs": 200},
}


def _merged(base, changes):
    out = json.loads(json.dumps(base))
    for key, value in changes.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) else value
    return out


#: Options of each study in the ``full`` profile (the paper's sizes) and the ``quick`` one
#: (few samples and epochs: ``reproduce all --quick`` takes minutes).
PROFILES = {"full": _FULL, "quick": _merged(_FULL, _QUICK_CHANGES)}


def _check_int(name, value, minimum):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}")
    return value


def study_options(study, profile="full", *, samples=None, epochs=None, batch_size=None,
                  seed=0):
    """The options that define a study: a profile's settings with the given overrides.

    Parameters
    ----------
    study : str
        One of :data:`STUDIES`.
    profile : {"full", "quick"}
    samples : int, optional
        Hyperparameter samples (robustness), samples per L (param-reduction) or runs
        (time-scale); ignored by the other studies.
    epochs, batch_size : int, optional
        Training length and mini-batch size of the training studies (both cases of
        param-reduction); ignored by the others.
    seed : int, default 0
        Seed of the Latin hypercube; sample ``i`` trains with seed ``seed + i``.

    Returns
    -------
    dict
        JSON-serialisable options, with ``"study"`` and ``"profile"``.
    """
    if study not in STUDIES:
        raise ValueError(f"`study` must be one of {list(STUDIES)}, got {study!r}")
    if profile not in PROFILES:
        raise ValueError(f"`profile` must be one of {sorted(PROFILES)}, got {profile!r}")
    _check_int("samples", samples, 1)
    _check_int("epochs", epochs, 1)
    _check_int("batch_size", batch_size, 1)
    _check_int("seed", seed, 0)
    options = json.loads(json.dumps(PROFILES[profile][study]))
    if samples is not None and study in SAMPLING_STUDIES:
        options["samples"] = samples
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if value is None or study not in TRAINING_STUDIES:
            continue
        if study == "param-reduction":
            options["sine"][name] = value
            options["peaks"][name] = value
        else:
            options[name] = value
    options["seed"] = seed
    options["study"] = study
    options["profile"] = profile
    return options


def study_name(options):
    """The database name of a study: its kind, main options and a digest of all options.

    For example ``"sine[samples=20,epochs=1000,batch_size=5,seed=0]#3f9a0c12"``.
    """
    text = json.dumps(options, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    shown = [f"{k}={options[k]}" for k in ("samples", "epochs", "batch_size", "seed")
             if k in options]
    return f"{options['study']}[{','.join(shown)}]#{digest}"


def _hyperparameters(samples, seed, levels=None):
    ranges = {"lr": LogUniform(1e-3, 1e-1), "reg": LogUniform(1e-10, 1e-4),
              "amplitude": LogUniform(1e-3, 1.0)}
    if levels is not None:
        ranges["L"] = Choice(tuple(levels))
    return latin_hypercube(samples, seed, ranges)


def _training_config(case, arch, degree, L, hp, epochs, batch_size, seed, data):
    config = {"kind": "train", "case": case, "arch": arch, "lr": hp["lr"], "reg": hp["reg"],
              "amplitude": hp["amplitude"], "epochs": epochs, "batch_size": batch_size,
              "seed": seed, "data": dict(data)}
    if arch == "splinet":
        config.update(degree=degree, knots=L, layers=_SPLINE_LAYERS)
    else:
        config["layers"] = L
    if "freq" in data:
        config["freq"] = data["freq"]
    return config


def _robustness_configs(o):
    case = o["study"]
    levels = _L_INDIAN_PINES if case == "indian-pines" else _L_RANGE
    samples = _hyperparameters(o["samples"], o["seed"], levels)
    datas = ([dict(o["data"], freq=f) for f in o["freqs"]] if case == "sine"
             else [o["data"]])
    configs = []
    for data in datas:
        for i, hp in enumerate(samples):
            for arch, degree in _ARCHS:
                configs.append(_training_config(case, arch, degree, hp["L"], hp, o["epochs"],
                                                o["batch_size"], o["seed"] + i, data))
    return configs


def _param_reduction_configs(o):
    samples = _hyperparameters(o["samples"], o["seed"])
    configs = []
    for case in ("sine", "peaks"):
        c = o[case]
        for L in o["L"]:
            for i, hp in enumerate(samples):
                for arch, degree in (("resnet", None), ("odenet", None), ("splinet", 2)):
                    configs.append(_training_config(case, arch, degree, L, hp, c["epochs"],
                                                    c["batch_size"], o["seed"] + i,
                                                    c["data"]))
    return configs


def _time_scale_configs(o):
    configs = []
    for learn in (False, True):
        for i in range(o["samples"]):
            config = _training_config(
                "sine", "splinet", 2, 10, o, o["epochs"], o["batch_size"], o["seed"] + i,
                o["data"])
            config.update(time_scale=o["time_scale"], learn_time_scale=learn, curve=201)
            configs.append(config)
    return configs


def _convergence_configs(o):
    return [{"kind": "convergence", "case": "sine", "seed": o["seed"],
             "n_layers": o["n_layers"], "reference_layers": o["reference_layers"],
             "degree": o["degree"], "knots": o["knots"], "amplitude": o["amplitude"],
             "data": o["data"]}]


def _spectrum_configs(o):
    config = _training_config("sine", "splinet", o["degree"], o["knots"], o, o["epochs"],
                              o["batch_size"], o["seed"], o["data"])
    config.update(kind="spectrum", operator={"kind": "antisymmetric", "gamma": o["gamma"]},
                  n_layers=o["n_layers"])
    return [config]


def _basis_configs(o):
    return [{"kind": "basis", "seed": 0, "knots": o["knots"], "degrees": o["degrees"],
             "points": o["points"]}]


_CONFIGS = {"sine": _robustness_configs, "peaks": _robustness_configs,
            "indian-pines": _robustness_configs, "param-reduction": _param_reduction_configs,
            "time-scale": _time_scale_configs, "convergence": _convergence_configs,
            "spectrum": _spectrum_configs, "basis": _basis_configs}


def study_configs(options):
    """The run configurations of a study (see :func:`study_options`), in run order."""
    return _CONFIGS[options["study"]](options)


def run_study(options, db_path, *, workers=None, scheduler=None, progress=True):
    """Run every configuration of a study that the database does not hold yet.

    Parameters
    ----------
    options : dict
        From :func:`study_options`.
    db_path : str or path-like
        The SQLite study database (created if missing).
    workers, scheduler, progress
        As in :func:`~pysplinet.studies.runner.run_sweep`.

    Returns
    -------
    name : str
        The study's name in the database.
    summary : SweepSummary

    Raises
    ------
    SweepInterrupted
        On Ctrl-C; the finished runs are stored, calling again resumes.

    Notes
    -----
    Local worker processes start with one thread each for Numba, BLAS and OpenMP (the
    environment variables ``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS``,
    ``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` are set to 1 unless already set), so
    that parallel runs do not compete for cores; the numbers do not depend on it.
    """
    name = study_name(options)
    configs = study_configs(options)
    if scheduler is None and workers != 1:
        for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
    summary = run_sweep(configs, run_config, db_path, workers=workers, scheduler=scheduler,
                        progress=progress, study=name, study_options=options)
    return name, summary


def n_sets(config):
    """Number of trainable weight sets of a training configuration: ``L + d`` or ``N``."""
    if config["arch"] == "splinet":
        return config["knots"] + config["degree"]
    return config["layers"]


def level_of(config):
    """The hyperparameter ``L`` of a training configuration (knots, or layers)."""
    return config["knots"] if config["arch"] == "splinet" else config["layers"]


def is_finite(value):
    """True for a finite float (diverged runs store NaN)."""
    return isinstance(value, (int, float)) and math.isfinite(value)
