"""The paper's test cases as presets: the network of each case and its training defaults.

One function, :func:`build_network`, turns a case name, an architecture and a few
hyperparameters into a network; :func:`load_data` loads the case's data and
:func:`training_defaults` gives its epochs, batch size, learning rate, Tikhonov weight and
initial amplitude. The command line (:mod:`pysplinet.cli`) and the studies go through these
three, so the mapping from options to networks lives here only.

===============  ======  ==========  =========  ================  =========  ===============
case             width   activation  operator   opening           closing    loss
===============  ======  ==========  =========  ================  =========  ===============
``sine``         4       tanh        dense      replicate         mean       mse (eq. 25)
``peaks``        5       relu        dense      dense 2 -> 5      identity   cross-entropy
``indian-pines`` bands   relu        conv1d k3  identity          dense      cross-entropy
===============  ======  ==========  =========  ================  =========  ===============

``reference-sine`` and ``reference-peaks`` (the authors' data files) use the networks of
``sine`` and ``peaks``.

Architectures (section 4.2):

* ``"splinet"``: ``N = 100`` layers on ``[0, 1]`` (``h = 0.01``), ``L + d`` coefficient
  sets of degree ``d`` (defaults ``L = 10``, ``d = 2``);
* ``"odenet"``: one weight set per layer, ``N = L`` layers on ``[0, 1]`` (``h = 1 / L``);
* ``"resnet"``: one weight set per layer, ``N = L`` layers with ``h = 1``.

Notes
-----
The ``sine`` network steps with ``h lam tanh(.)``, so ``|x_j(T) - x_j(0)| <= lam T``
(section 4.4). With the replicated input ``x(0) = x`` on ``[-pi, pi]`` and ``lam T = 1`` the
output at ``x = pi`` cannot come below ``pi - 1``, far from ``sin(pi) = 0``: the case cannot
be fitted with ``lam = 1`` on ``[0, 1]``. Its preset therefore uses the time scale
``lam = 10`` for SpliNets and ODEnets, the time horizon of the authors' sine example
(100 layers of step 0.1). ResNets keep ``lam = 1``: their horizon is already ``N``.

For the homogeneous ReLU, ``lam`` only rescales the initial weights and, under Adam, the
size of their steps (section 3). The ``peaks`` preset uses ``lam = 3`` with step size
``3e-2`` and amplitude 1: of 24 settings tried (step size 1e-2 or 3e-2, ``lam`` 1, 3 or 5,
amplitude 0.5 or 1, batch 20 or 40, two seeds each), this was among the best within the
paper's 100 epochs, about 95 % validation accuracy at the last epoch and 96 % at the best
(the authors' peaks example integrates up to ``T = 8``). Indian Pines keeps ``lam = 1``
and the authors' step size ``3e-3``. The
initial amplitude of ``sine`` is 0.1: with ``lam = 10`` larger random weights made the
training slower and noisier. All values lie in the ranges of section 4.2.

The ``peaks`` opening is a trainable dense layer from the two inputs to the width, as in the
authors' reference code; ``opening="replicate"`` gives the replication the paper's text
describes. Its closing applies the softmax directly to ``x(T)`` (``closing="identity"``:
five classes on width five); ``closing="dense"`` adds a trainable layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .network import ODENet, ResNet, SpliNet

__all__ = [
    "ARCHITECTURES",
    "CASES",
    "NETWORK_OVERRIDES",
    "Preset",
    "PRESETS",
    "build_network",
    "load_data",
    "preset_of",
    "training_defaults",
]

#: Architecture names accepted by :func:`build_network`.
ARCHITECTURES = ("splinet", "odenet", "resnet")

#: Keyword arguments of :func:`build_network` that override a preset's network.
NETWORK_OVERRIDES = ("width", "activation", "operator", "opening", "closing", "n_inputs",
                     "n_outputs", "backend")

#: Defaults shared by every case.
DEFAULT_DEGREE = 2
DEFAULT_KNOTS = 10
DEFAULT_SPLINE_LAYERS = 100


@dataclass(frozen=True)
class Preset:
    """The network and training defaults of one test case.

    Attributes
    ----------
    name : str
        Case name.
    task : {"regression", "classification"}
    width : int or None
        Network width ``m``; None means ``n_inputs`` (identity opening).
    activation, operator, opening, closing, loss
        As in :class:`pysplinet.Network`.
    n_inputs : int
        Input dimension (for Indian Pines the number of bands of the shipped scene; the
        actual data decide, see :func:`build_network`).
    n_outputs : int or None
        Outputs or classes; None lets the closing decide.
    time_scale : float
        ``lam`` of SpliNets and ODEnets (ResNets use 1).
    epochs, batch_size : int
    lr, reg, amplitude : float
        Adam step size, Tikhonov weight ``gamma`` and initial amplitude.
    """

    name: str
    task: str
    width: int | None
    activation: str
    operator: str | dict
    opening: str
    closing: str
    loss: str
    n_inputs: int
    n_outputs: int | None
    time_scale: float
    epochs: int
    batch_size: int
    lr: float
    reg: float
    amplitude: float


#: The presets by case name (see the module docstring).
PRESETS = {
    "sine": Preset(
        name="sine", task="regression", width=4, activation="tanh", operator="dense",
        opening="replicate", closing="mean", loss="mse", n_inputs=1, n_outputs=None,
        time_scale=10.0, epochs=1000, batch_size=5, lr=1e-2, reg=1e-9, amplitude=0.1),
    "peaks": Preset(
        name="peaks", task="classification", width=5, activation="relu", operator="dense",
        opening="dense", closing="identity", loss="cross_entropy", n_inputs=2, n_outputs=5,
        time_scale=3.0, epochs=100, batch_size=40, lr=3e-2, reg=1e-9, amplitude=1.0),
    "indian-pines": Preset(
        name="indian-pines", task="classification", width=None, activation="relu",
        operator={"kind": "conv1d", "kernel_size": 3}, opening="identity", closing="dense",
        loss="cross_entropy", n_inputs=200, n_outputs=16, time_scale=1.0, epochs=150,
        batch_size=100, lr=3e-3, reg=1e-6, amplitude=1.0),
}

# data case -> network preset
_PRESET_OF = {"sine": "sine", "reference-sine": "sine", "peaks": "peaks",
              "reference-peaks": "peaks", "indian-pines": "indian-pines"}

#: Case names accepted by :func:`build_network`, :func:`load_data` and
#: :func:`training_defaults`.
CASES = tuple(_PRESET_OF)

# case -> name of the loader argument that takes the data source
_SOURCE_ARG = {"reference-sine": "root", "reference-peaks": "root", "indian-pines": "path"}


def _case_key(case):
    key = case.replace("_", "-") if isinstance(case, str) else case
    if key not in _PRESET_OF:
        raise ValueError(f"`case` must be one of {list(CASES)}, got {case!r}")
    return key


def preset_of(case):
    """The :class:`Preset` of a case name (``reference-*`` cases share their network)."""
    return PRESETS[_PRESET_OF[_case_key(case)]]


def training_defaults(case):
    """Training defaults of a case.

    Returns
    -------
    dict
        ``epochs``, ``batch_size``, ``lr``, ``reg`` and ``amplitude`` (sine: 1000 epochs in
        batches of 5; peaks: 100 epochs in batches of 40; Indian Pines: 150 epochs in
        batches of 100).
    """
    p = preset_of(case)
    return {"epochs": p.epochs, "batch_size": p.batch_size, "lr": p.lr, "reg": p.reg,
            "amplitude": p.amplitude}


def _count(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be an integer >= 1, got {value!r}")
    return int(value)


def build_network(case, arch="splinet", *, degree=None, knots=None, layers=None,
                  time_scale=None, learn_time_scale=None, data=None, **overrides):
    """The network of a test case.

    Parameters
    ----------
    case : str
        One of :data:`CASES`.
    arch : {"splinet", "odenet", "resnet"}
    degree : int, optional
        Spline degree ``d`` (SpliNet only; default 2).
    knots : int, optional
        ``L``: knot intervals of a SpliNet (default 10); for an ODEnet or ResNet the number
        of layers, each with its own weights (``N = L``), when ``layers`` is not given.
    layers : int, optional
        ``N``: layers of a SpliNet (default 100, so ``h = 0.01``); layers of an ODEnet or
        ResNet (then ``knots``, if also given, must be the same number).
    time_scale : float, optional
        ``lam`` (the initial value when learned); default: the case's value for SpliNets and
        ODEnets (sine 10, peaks 3, Indian Pines 1; see the Notes of the module), 1 for
        ResNets.
    learn_time_scale : bool, optional
        Train ``lam`` too (default False).
    data : Dataset, optional
        When given, ``n_inputs`` (and for classification the number of classes) come from
        it, and the width too when the preset's width is the input dimension (Indian Pines:
        200 or 220 bands, depending on the source).
    **overrides
        Any of :data:`NETWORK_OVERRIDES`, replacing the preset's value.

    Returns
    -------
    Network

    Raises
    ------
    ValueError
        For an unknown case, architecture or override, a ``degree`` given for an ODEnet or
        ResNet, ``knots`` and ``layers`` that disagree for an ODEnet or ResNet, or any
        setting the network rejects (for example ``opening="identity"`` with a width other
        than the input dimension).
    """
    preset = preset_of(case)
    if arch not in ARCHITECTURES:
        raise ValueError(f"`arch` must be one of {list(ARCHITECTURES)}, got {arch!r}")
    unknown = sorted(set(overrides) - set(NETWORK_OVERRIDES))
    if unknown:
        raise ValueError(f"unknown network option(s) {unknown}; accepted: "
                         f"{list(NETWORK_OVERRIDES)}")

    # the layer options of the architecture
    if degree is not None:
        if arch != "splinet":
            raise ValueError(f"`degree` applies to arch='splinet' only, got degree={degree!r} "
                             f"with arch={arch!r}")
        degree = _count("degree", degree)
    if knots is not None:
        knots = _count("knots", knots)
    if layers is not None:
        layers = _count("layers", layers)
    if arch == "splinet":
        shape = {"n_layers": DEFAULT_SPLINE_LAYERS if layers is None else layers,
                 "degree": DEFAULT_DEGREE if degree is None else degree,
                 "n_knots": DEFAULT_KNOTS if knots is None else knots}
    else:
        if layers is not None and knots is not None and layers != knots:
            raise ValueError(f"an {arch} has one weight set per layer (N = L): `knots`={knots} "
                             f"and `layers`={layers} disagree; give one of them")
        shape = {"n_layers": layers or knots or DEFAULT_KNOTS}

    # the network options: preset, then data, then explicit overrides
    options = {"activation": preset.activation, "operator": preset.operator,
               "opening": preset.opening, "closing": preset.closing, "loss": preset.loss,
               "n_inputs": preset.n_inputs, "n_outputs": preset.n_outputs}
    if data is not None:
        options["n_inputs"] = int(data.n_inputs)
        if data.task == "classification":
            options["n_outputs"] = int(data.n_outputs)
    options.update(overrides)
    width = options.pop("width", None)
    if width is None:
        width = preset.width if preset.width is not None else options["n_inputs"]
    if time_scale is None:
        time_scale = 1.0 if arch == "resnet" else preset.time_scale
    options["time_scale"] = time_scale
    options["learn_time_scale"] = False if learn_time_scale is None else learn_time_scale

    if arch == "splinet":
        return SpliNet(width, **shape, **options)
    if arch == "odenet":
        return ODENet(width, **shape, **options)
    return ResNet(width, **shape, **options)


def load_data(case, source=None, **options):
    """Load the data of a test case.

    Parameters
    ----------
    case : str
        One of :data:`CASES`.
    source : str or path-like, optional
        Where the data are: the folder of the authors' files for ``reference-sine`` and
        ``reference-peaks`` (default: the environment variable ``PYSPLINET_REFERENCE_DIR``);
        the scene file or folder for ``indian-pines`` (default: TensorLy's package data).
        The synthetic ``sine`` and ``peaks`` take none.
    **options
        Options of the case's loader in :mod:`pysplinet.data` (``freq``, ``seed``,
        ``n_train``, ``n_val``, ...). A whole-number ``freq`` is passed to
        ``reference-sine`` as an int.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        For an unknown case, a source given to a synthetic case, or an option the loader
        does not take (the message lists the ones it takes).
    pysplinet.data.DataUnavailableError
        If the data cannot be found.
    """
    from .data import load_case

    key = _case_key(case)
    if source is not None:
        if key not in _SOURCE_ARG:
            raise ValueError(f"case {key!r} is generated, it takes no data source (got "
                             f"{str(source)!r}); use 'reference-{key}' for the authors' files")
        options[_SOURCE_ARG[key]] = source
    if key == "reference-sine" and isinstance(options.get("freq"), float) \
            and math.isfinite(options["freq"]) and options["freq"] == int(options["freq"]):
        options["freq"] = int(options["freq"])
    try:
        return load_case(key, **options)
    except TypeError as err:
        raise ValueError(str(err)) from None
