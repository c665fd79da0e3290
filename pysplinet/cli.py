"""The ``pysplinet`` command: argument parsing, logging, errors, and the subcommand registry.

``pysplinet <command> [options]`` (or ``python -m pysplinet``). The commands live in their
own modules; each module listed in :data:`COMMAND_MODULES` has a function
``register(subparsers, parents)`` that adds its subparsers with
``subparsers.add_parser(name, parents=parents, formatter_class=HelpFormatter, ...)`` and
``set_defaults(handler=function)``, where ``function(args)`` runs the command and returns
the exit status. Modules in :data:`OPTIONAL_COMMAND_MODULES` are added when they exist.

Exit status: 0 on success; 1 when the command ran but its outcome is a failure (a wrong
gradient, a diverged training); 2 for bad input (unknown names, out-of-range numbers,
inconsistent options, missing or unreadable files), reported as one line on stderr without
a traceback, before any work is done; 130 when interrupted.

Options shared by several commands (the test case and its data, the network) are added by
:func:`add_case_options` and :func:`add_network_options` and turned into a dataset and a
network by :func:`load_case_data` and :func:`network_from_args`, on top of
:mod:`pysplinet.cases`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import json
import logging
import math
import os
import sys

from . import cases
from ._version import __version__

__all__ = [
    "COMMAND_MODULES",
    "CLIError",
    "HelpFormatter",
    "OPTIONAL_COMMAND_MODULES",
    "add_case_options",
    "add_network_options",
    "bad_input",
    "build_parser",
    "emit_json",
    "load_case_data",
    "main",
    "network_from_args",
]

#: Modules that each register subcommands (see the module docstring).
COMMAND_MODULES = ("pysplinet.cli_network",)
#: Modules that register subcommands when they are present.
OPTIONAL_COMMAND_MODULES = ("pysplinet.studies.cli",)

_LOGGER = logging.getLogger("pysplinet")


class CLIError(Exception):
    """Bad command-line input: reported as one line on stderr, exit status 2.

    ``prog`` names the command in the message when the error is raised while parsing.
    """

    def __init__(self, message, prog=None):
        super().__init__(message)
        self.prog = prog


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where it is None (the help text then says
    what happens by default, usually "per case")."""

    def _get_help_string(self, action):
        if action.default is None or action.default is argparse.SUPPRESS:
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block) and raise CLIError."""

    def error(self, message):
        raise CLIError(f"{message} (see '{self.prog} --help')", prog=self.prog)


@contextlib.contextmanager
def bad_input():
    """Turn the exceptions of checking arguments and reading inputs into :class:`CLIError`.

    Use it around setup code only (parsing values, loading data and model files, building
    networks), never around the work itself, so that a fault there still shows its
    traceback.
    """
    try:
        yield
    except CLIError:
        raise
    except FileNotFoundError as err:
        raise CLIError(str(err.args[0]) if len(err.args) == 1 else str(err)) from None
    except (ValueError, TypeError, OSError, NotImplementedError) as err:
        raise CLIError(str(err)) from None


def emit_json(obj, stream=None):
    """Write one strict-JSON object (non-finite floats as null) and a newline."""
    stream = sys.stdout if stream is None else stream
    stream.write(json.dumps(_strict(obj), allow_nan=False) + "\n")
    stream.flush()


def _strict(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict(v) for v in obj]
    if hasattr(obj, "item") and getattr(obj, "ndim", None) == 0:     # NumPy scalars
        return _strict(obj.item())
    return obj


# ---------------------------------------------------------------------- value types

def _number(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
    return value


def positive_float(text):
    """argparse type: a finite number > 0."""
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def nonnegative_float(text):
    """argparse type: a finite number >= 0."""
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def finite_float(text):
    """argparse type: a finite number."""
    return _number(text)


def _integer(text, minimum):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
    return value


def positive_int(text):
    """argparse type: an integer >= 1."""
    return _integer(text, 1)


def nonnegative_int(text):
    """argparse type: an integer >= 0."""
    return _integer(text, 0)


def per_case_help(attr):
    """Help text listing a preset attribute's default for every case."""
    def show(value):
        if value is None:
            return "bands"
        return f"{value:g}" if isinstance(value, float) else str(value)

    items = ", ".join(f"{name} {show(getattr(p, attr))}" for name, p in cases.PRESETS.items())
    return f"default per case: {items}"


# ---------------------------------------------------------------------- shared options

# data option of the loaders -> command-line flag
_DATA_FLAGS = {"freq": "--freq", "amplitude": "--sine-amplitude", "seed": "--data-seed",
               "n_train": "--n-train", "n_val": "--n-val", "split": "--split",
               "reference_dir": "--reference-dir"}


def add_case_options(parser, required=True):
    """Add ``--case`` and the data options."""
    group = parser.add_argument_group("test case and data")
    group.add_argument("--case", required=required, choices=cases.CASES,
                       help="test case (reference-* use the authors' data files)")
    group.add_argument("--freq", type=positive_float, default=None, metavar="F",
                       help="frequency f of sin(f x) (sine cases; default 1; the reference "
                            "files have f = 1, 2, 5)")
    group.add_argument("--sine-amplitude", type=finite_float, default=None, metavar="A",
                       help="target A sin(f x) (sine only; default 1)")
    group.add_argument("--data-source", default=None, metavar="PATH",
                       help="folder of the authors' files (reference-*; default: "
                            "$PYSPLINET_REFERENCE_DIR) or Indian Pines scene file or folder "
                            "(default: TensorLy's package data)")
    group.add_argument("--data-seed", type=nonnegative_int, default=None, metavar="S",
                       help="seed of the generated points or of the random split (default 0)")
    group.add_argument("--n-train", type=positive_int, default=None, metavar="N",
                       help="training samples (peaks, reference-peaks, indian-pines; "
                            "default: the loader's, 1000 or 4000)")
    group.add_argument("--n-val", type=positive_int, default=None, metavar="N",
                       help="validation samples (default: the loader's, 20 or 1000)")
    group.add_argument("--split", choices=("random", "reference"), default=None,
                       help="indian-pines: random split, or the authors' (needs "
                            "--reference-dir or $PYSPLINET_REFERENCE_DIR; default random)")
    group.add_argument("--reference-dir", default=None, metavar="PATH",
                       help="indian-pines: folder of the authors' index maps")


def add_network_options(parser):
    """Add the architecture and network options."""
    group = parser.add_argument_group("network")
    group.add_argument("--arch", choices=cases.ARCHITECTURES, default="splinet",
                       help="splinet: N layers on [0, 1] from L + d spline coefficient sets; "
                            "odenet: N = L layers on [0, 1], one weight set each; "
                            "resnet: N = L layers with h = 1")
    group.add_argument("--degree", type=positive_int, default=None, metavar="D",
                       help=f"spline degree d (splinet only; default {cases.DEFAULT_DEGREE})")
    group.add_argument("--knots", type=positive_int, default=None, metavar="L",
                       help="splinet: knot intervals L (L + d weight sets); odenet, resnet: "
                            f"number of layers N = L (default {cases.DEFAULT_KNOTS})")
    group.add_argument("--layers", type=positive_int, default=None, metavar="N",
                       help="number of layers N (default: splinet "
                            f"{cases.DEFAULT_SPLINE_LAYERS}, i.e. h = 0.01; odenet and "
                            "resnet: L)")
    group.add_argument("--width", type=positive_int, default=None, metavar="M",
                       help="network width m; " + per_case_help("width"))
    group.add_argument("--activation", choices=("tanh", "relu", "sigmoid", "identity"),
                       default=None, help="activation sigma; " + per_case_help("activation"))
    group.add_argument("--operator", choices=("dense", "antisymmetric", "conv1d"),
                       default=None, help="linear operator K (default per case: dense; "
                                          "indian-pines conv1d with 3 taps)")
    group.add_argument("--opening", choices=("replicate", "identity", "dense"), default=None,
                       help="map from the input to x(0); " + per_case_help("opening"))
    group.add_argument("--closing", choices=("mean", "identity", "dense"), default=None,
                       help="map from x(T) to the output; " + per_case_help("closing"))
    group.add_argument("--time-scale", type=finite_float, default=None, metavar="LAM",
                       help="time scale lam, the initial value when learned (default: 1 for "
                            "resnet; for splinet and odenet " + per_case_help("time_scale")
                            + ")")
    group.add_argument("--learn-time-scale", action=argparse.BooleanOptionalAction,
                       default=False, help="train lam as well")
    group.add_argument("--backend", choices=("numba", "numpy"), default="numba",
                       help="compiled kernels or the NumPy reference")


def network_from_args(args, data=None):
    """The network the options describe (see :func:`pysplinet.cases.build_network`)."""
    overrides = {k: getattr(args, k) for k in ("width", "activation", "operator", "opening",
                                               "closing") if getattr(args, k) is not None}
    overrides["backend"] = args.backend
    if args.degree is not None and args.arch != "splinet":
        raise CLIError(f"--degree applies to --arch splinet only, got --arch {args.arch}")
    if args.arch != "splinet" and None not in (args.knots, args.layers) \
            and args.knots != args.layers:
        raise CLIError(f"an {args.arch} has one weight set per layer: --knots {args.knots} "
                       f"and --layers {args.layers} disagree; give one of them")
    with bad_input():
        return cases.build_network(
            args.case, args.arch, degree=args.degree, knots=args.knots, layers=args.layers,
            time_scale=args.time_scale, learn_time_scale=args.learn_time_scale, data=data,
            **overrides)


def _loader(case):
    from . import data

    return {"sine": data.sine, "peaks": data.peaks, "indian-pines": data.indian_pines,
            "reference-sine": data.reference_sine,
            "reference-peaks": data.reference_peaks}[case]


def data_options(args, case=None):
    """``(source, options)`` for :func:`pysplinet.cases.load_data` from the options the
    user gave; CLIError when one does not apply to the case."""
    case = args.case if case is None else case
    accepted = inspect.signature(_loader(case)).parameters
    options = {}
    for name, flag in _DATA_FLAGS.items():
        value = getattr(args, flag[2:].replace("-", "_"))
        if value is None:
            continue
        if name not in accepted:
            raise CLIError(f"{flag} does not apply to case {case!r}")
        options[name] = value
    source = args.data_source
    if source is not None and case in ("sine", "peaks"):
        raise CLIError(f"case {case!r} is generated and takes no --data-source; use "
                       f"--case reference-{case} for the authors' files")
    return source, options


def load_case_data(case, source, options, with_scene=False):
    """Load a case's data; CLIError (one line) when it cannot be."""
    options = dict(options)
    if with_scene:
        options["with_scene"] = True
    with bad_input():
        return cases.load_data(case, source, **options)


# ---------------------------------------------------------------------- parser and main

def build_parser():
    """The argument parser with every registered command."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("output")
    group.add_argument("-v", "--verbose", action="count", default=0,
                       help="more log messages on stderr (-v info, -vv debug)")
    group.add_argument("-q", "--quiet", action="store_true",
                       help="only errors on stderr, no progress bar")

    parser = _Parser(prog="pysplinet", formatter_class=HelpFormatter,
                     description="SpliNets, ODEnets and ResNets on the test cases of "
                                 "Günther, Pazner and Qi: train, evaluate, check gradients.")
    parser.add_argument("--version", action="version", version=f"pysplinet {__version__}")
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND",
                                       parser_class=_Parser)
    subparsers.required = True
    for name in COMMAND_MODULES + OPTIONAL_COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if name in OPTIONAL_COMMAND_MODULES and err.name == name:
                continue
            raise
        module.register(subparsers, [common])
    return parser


def _configure_logging(args):
    level = logging.WARNING
    if getattr(args, "quiet", False):
        level = logging.ERROR
    elif getattr(args, "verbose", 0) >= 2:
        level = logging.DEBUG
    elif getattr(args, "verbose", 0) == 1:
        level = logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.setLevel(level)
    previous = _LOGGER.level
    _LOGGER.addHandler(handler)
    _LOGGER.setLevel(min(level, previous) if previous else level)
    return handler, previous


def _one_line(text):
    return " ".join(str(text).split())


def main(argv=None):
    """Run the ``pysplinet`` command.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status (see the module docstring).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    prog = "pysplinet"
    try:
        args = parser.parse_args(argv)
    except CLIError as err:
        print(f"{err.prog or prog}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except SystemExit as exc:          # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    prog = f"pysplinet {args.command}"
    handler, previous = _configure_logging(args)
    try:
        return int(args.handler(args))
    except CLIError as err:
        print(f"{prog}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    finally:
        _LOGGER.removeHandler(handler)
        _LOGGER.setLevel(previous)


def check_output_path(flag, path):
    """CLIError unless ``path`` can be written: its folder exists and it is no folder."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CLIError(f"{flag} {path!r} is a folder; give a file name")
    if not os.path.isdir(folder):
        raise CLIError(f"{flag} {path!r}: folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise CLIError(f"{flag} {path!r}: folder {folder!r} is not writable")
