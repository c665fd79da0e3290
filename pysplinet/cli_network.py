"""The commands about one network: ``train``, ``evaluate`` and ``gradcheck``.

``pysplinet train`` builds the network of a test case (:mod:`pysplinet.cases`), trains it
with :func:`pysplinet.training.train`, prints a summary (or one JSON object with
``--json``), and optionally saves the model and a picture of its predictions.
``pysplinet evaluate`` reads a saved model and reports its losses and metrics on the case's
data, optionally on another number of layers (SpliNets only). ``pysplinet gradcheck``
compares the network's adjoint gradient with central differences and runs the Taylor test.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time

import numpy as np

from . import cases
from .cli import (CLIError, HelpFormatter, add_case_options, add_network_options, bad_input,
                  check_output_path, data_options, emit_json, load_case_data,
                  network_from_args, nonnegative_float, nonnegative_int, per_case_help,
                  positive_float, positive_int)

__all__ = ["register", "metrics"]

logger = logging.getLogger(__name__)

#: activations with a kink, for which the Taylor test needs a small first step
_KINKED = ("relu",)
#: first Taylor step for smooth and for kinked activations: small enough that the
#: second-order term dominates even with lam = 10 (sine), and for ReLU that few steps
#: cross a kink; large enough that the remainders stay far above round-off
_TAYLOR_EPS = {"smooth": 1e-4, "kinked": 1e-5}
#: what gradcheck accepts: normwise error of central differences, Taylor order range
GRADCHECK_RTOL = 1e-6
TAYLOR_RANGE = (1.9, 2.1)


def register(subparsers, parents):
    """Add ``train``, ``evaluate`` and ``gradcheck`` to the ``pysplinet`` command."""
    _train_parser(subparsers, parents)
    _evaluate_parser(subparsers, parents)
    _gradcheck_parser(subparsers, parents)


# ---------------------------------------------------------------------- shared pieces

def metrics(net, params, data):
    """Losses and metrics of ``params`` on the training and validation sets.

    Returns
    -------
    dict
        ``train_loss``, ``train_metric``, ``val_loss``, ``val_metric`` and ``metric``
        (``"mse"`` for regression, ``"accuracy"`` for classification), computed with one
        forward pass over each whole set.
    """
    from .training import validation_metric

    out = {"metric": "mse" if data.task == "regression" else "accuracy"}
    with np.errstate(over="ignore", invalid="ignore"):
        for split in ("train", "val"):
            x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
            out[f"{split}_loss"] = float(net.loss(params, x, y))
            out[f"{split}_metric"] = validation_metric(data.task, net.predict(params, x), y)
    return out


def _describe_net(net):
    cfg = net.config
    arch = {"splinet": "SpliNet", "odenet": "ODEnet", "resnet": "ResNet"}[cfg["architecture"]]
    parts = [arch]
    if cfg["architecture"] == "splinet":
        parts.append(f"d={net.degree} L={net.n_knots}")
    lam = "learned, from " if net.learn_time_scale else ""
    parts.append(f"N={net.n_layers} h={net.h:g} lam={lam}{net.time_scale:g}")
    op = cfg["operator"]["kind"]
    parts.append(f"width {net.width} ({cfg['activation']}, {op}, opening {cfg['opening']}, "
                 f"closing {cfg['closing']}, loss {cfg['loss']})")
    return ", ".join(parts)


def _describe_data(data):
    extra = ""
    if "freq" in data.meta:
        extra = f" f={data.meta['freq']:g}"
        if data.meta.get("amplitude", 1.0) != 1.0:
            extra += f" amplitude={data.meta['amplitude']:g}"
    return (f"{data.name}{extra}: {data.n_train} training / {data.n_val} validation samples "
            f"from {data.source}")


def _check_plot_path(path):
    from matplotlib.figure import Figure

    check_output_path("--plot", path)
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    formats = Figure().canvas.get_supported_filetypes()
    if suffix not in formats:
        raise CLIError(f"--plot {path!r}: the file name must end in one of "
                       f"{sorted('.' + f for f in formats)}")


def _progress(args):
    if args.progress is not None:
        return bool(args.progress)
    return not args.quiet and sys.stderr.isatty()


def _data_summary(data, source, options):
    return {"case": data.name, "source": data.source, "data_source": source,
            "options": dict(options), "n_train": data.n_train, "n_val": data.n_val,
            "n_inputs": data.n_inputs, "n_outputs": data.n_outputs}


def _add_json(group):
    group.add_argument("--json", action="store_true",
                       help="print one JSON object on stdout instead of the summary")


def _add_plot(group):
    group.add_argument("--plot", default=None, metavar="FILE",
                       help="draw the predictions (sine: curve; peaks: class map; "
                            "indian-pines: scene) to FILE (.png, .pdf, .svg, ...)")


def _score_lines(scores, heading):
    return [
        # the mean squared error loss carries a factor 1/2 (its gradient is the residual)
        f"  {heading:<18} {'loss (mse/2)' if scores['metric'] == 'mse' else 'loss':>12}  "
        f"{scores['metric']:>12}",
        f"    training       {_fmt(scores['train_loss']):>12}  {_fmt(scores['train_metric']):>12}",
        f"    validation     {_fmt(scores['val_loss']):>12}  {_fmt(scores['val_metric']):>12}",
    ]


def _fmt(value):
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.6g}"


# ---------------------------------------------------------------------- train

def _train_parser(subparsers, parents):
    p = subparsers.add_parser(
        "train", parents=parents, formatter_class=HelpFormatter,
        help="train the network of a test case",
        description="Train a SpliNet, ODEnet or ResNet on a test case of the paper with "
                    "mini-batch Adam and a Tikhonov term; print a summary or, with --json, "
                    "one JSON object.")
    add_case_options(p)
    add_network_options(p)
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=positive_int, default=None, metavar="E",
                   help="maximum number of epochs; " + per_case_help("epochs"))
    g.add_argument("--batch-size", type=positive_int, default=None, metavar="B",
                   help="samples per mini-batch; " + per_case_help("batch_size"))
    g.add_argument("--lr", type=positive_float, default=None, metavar="ETA",
                   help="Adam step size; " + per_case_help("lr"))
    g.add_argument("--reg", type=nonnegative_float, default=None, metavar="GAMMA",
                   help="Tikhonov weight gamma (adds gamma/2 |p|^2); " + per_case_help("reg"))
    g.add_argument("--amplitude", type=positive_float, default=None, metavar="A",
                   help="amplitude of the random initial parameters (times the Glorot "
                        "scale); " + per_case_help("amplitude"))
    g.add_argument("--seed", type=nonnegative_int, default=0, metavar="S",
                   help="seed of the initial parameters and of the mini-batch order")
    g.add_argument("--grad-tol", type=nonnegative_float, default=0.0, metavar="TOL",
                   help="stop when an epoch's mean gradient norm is below TOL (0: never)")
    o = p.add_argument_group("results")
    o.add_argument("--keep", choices=("last", "best"), default="last",
                   help="parameters to report, save and plot: after the last epoch, or "
                        "after the epoch with the best validation metric")
    o.add_argument("--save", default=None, metavar="FILE",
                   help="write the model (parameters, configuration, history) to FILE (.npz)")
    _add_plot(o)
    _add_json(o)
    o.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: when stderr is a terminal)")
    p.set_defaults(handler=run_train)


def _train_settings(args):
    settings = cases.training_defaults(args.case)
    for key in settings:
        value = getattr(args, key)
        if value is not None:
            settings[key] = value
    settings["seed"] = args.seed
    settings["grad_tol"] = args.grad_tol
    return settings


def run_train(args):
    """``pysplinet train``: returns 0, or 1 when the training diverged."""
    from .io import save_model
    from .plotting import plot_kind, plot_prediction
    from .training import train

    # every check before any work
    settings = _train_settings(args)
    source, options = data_options(args)
    network_from_args(args)                        # options and combinations
    if args.save is not None:
        check_output_path("--save", args.save)
    if args.plot is not None:
        _check_plot_path(args.plot)

    # data and network
    data = load_case_data(args.case, source, options,
                          with_scene=args.plot is not None and args.case == "indian-pines")
    net = network_from_args(args, data)
    if args.plot is not None and plot_kind(data) is None:
        raise CLIError(f"--plot: no picture for case {args.case!r}")
    with bad_input():
        params = net.init_params(np.random.default_rng(args.seed), settings["amplitude"])
        # one gradient on one sample: checks the data against the network, and loads the
        # compiled kernels (or compiles them, the first time) outside the timed training
        started = time.perf_counter()
        net.value_and_grad(params, data.x_train[:1], data.y_train[:1])
        kernel_seconds = time.perf_counter() - started
    logger.info("network: %s", _describe_net(net))
    logger.info("data: %s", _describe_data(data))

    # training
    result = train(net, params, data, epochs=settings["epochs"],
                   batch_size=settings["batch_size"], lr=settings["lr"], reg=settings["reg"],
                   seed=args.seed, grad_tol=args.grad_tol, progress=_progress(args))
    kept = result.params
    if args.keep == "best" and result.best_params is not None:
        kept = result.best_params
    scores = metrics(net, kept, data)
    lam = float(kept["lam"]) if "lam" in kept else net.time_scale

    # outputs
    report = {
        "command": "train", "status": result.status, "message": result.message,
        "epochs_run": result.epochs_run, "seconds": result.seconds,
        "first_gradient_seconds": kernel_seconds,
        "seconds_per_epoch": result.seconds / max(result.epochs_run, 1),
        **scores,
        "train_loss_last_epoch": result.history["train_loss"][-1]
        if result.epochs_run else None,
        "best_val_metric": result.best_val_metric, "best_epoch": result.best_epoch,
        "keep": args.keep, "time_scale": lam, "n_params": net.n_params,
        "case": args.case, "arch": args.arch, "config": net.config,
        "data": _data_summary(data, source, options), "training": settings,
        "saved": None, "plot": None,
    }
    if args.save is not None:
        meta = {"case": args.case, "arch": args.arch, "keep": args.keep,
                "data": report["data"], "training": settings, "metrics": scores,
                "result": result.summary()}
        with bad_input():
            report["saved"] = str(save_model(args.save, net.config, kept, meta))
    if args.plot is not None:
        title = f"{_describe_net(net).split(',')[0]} on {data.name}"
        report["plot"] = plot_prediction(net, kept, data, args.plot, title=title)

    if args.json:
        emit_json(report)
    else:
        _print_train_summary(report, net, data)
    return 1 if result.status == "diverged" else 0


def _print_train_summary(r, net, data):
    s = r["training"]
    lines = [
        f"pysplinet train: {r['status']} ({r['message']})",
        f"  case      {_describe_data(data)}",
        f"  network   {_describe_net(net)}",
        f"            {r['n_params']} trainable parameters",
        f"  training  {s['epochs']} epochs, batch {s['batch_size']}, lr {s['lr']:g}, "
        f"reg {s['reg']:g}, amplitude {s['amplitude']:g}, seed {s['seed']}",
        f"  time      {r['seconds']:.2f} s for {r['epochs_run']} epochs "
        f"({r['seconds_per_epoch']:.3g} s per epoch), after "
        f"{r['first_gradient_seconds']:.2f} s for the first gradient (loading or "
        f"compiling the kernels)",
        *_score_lines(r, f"{r['keep']} parameters"),
        f"  best validation {r['metric']} {_fmt(r['best_val_metric'])} at epoch "
        f"{r['best_epoch']}",
        f"  time scale lam = {r['time_scale']:.6g}",
    ]
    if r["saved"]:
        lines.append(f"  model     {r['saved']}")
    if r["plot"]:
        lines.append(f"  plot      {r['plot']}")
    print("\n".join(lines))


# ---------------------------------------------------------------------- evaluate

def _evaluate_parser(subparsers, parents):
    p = subparsers.add_parser(
        "evaluate", parents=parents, formatter_class=HelpFormatter,
        help="losses and metrics of a saved model",
        description="Report the training and validation loss and metric of a model saved "
                    "by 'pysplinet train --save'. The case and its data options default to "
                    "those recorded in the model file; options given here replace them.")
    p.add_argument("model", metavar="MODEL", help="model file written by train --save")
    add_case_options(p, required=False)
    g = p.add_argument_group("network")
    g.add_argument("--layers", type=positive_int, default=None, metavar="N",
                   help="evaluate on N layers (SpliNet: the same coefficients, h = T / N; "
                        "ODEnet, ResNet: only their own N; default: the saved N)")
    o = p.add_argument_group("results")
    _add_plot(o)
    _add_json(o)
    p.set_defaults(handler=run_evaluate)


def run_evaluate(args):
    """``pysplinet evaluate``: returns 0."""
    from .io import load_network
    from .plotting import plot_kind, plot_prediction

    # the model and what it records
    with bad_input():
        net, params, meta = load_network(args.model)
    recorded = meta.get("data") if isinstance(meta.get("data"), dict) else {}
    case = args.case or meta.get("case")
    if case not in cases.CASES:
        raise CLIError(f"the model file does not record a known case ({case!r}); give --case")
    if args.plot is not None:
        _check_plot_path(args.plot)
    if args.case is None or args.case == meta.get("case"):
        source = recorded.get("data_source")
        options = dict(recorded.get("options") or {})
    else:
        source, options = None, {}
    given_source, given = data_options(args, case)
    options.update(given)
    if given_source is not None:
        source = given_source

    # another discretisation
    saved_layers = net.n_layers
    if args.layers is not None and args.layers != net.n_layers:
        if net.config["architecture"] != "splinet":
            raise CLIError(f"--layers {args.layers}: a {net.config['architecture']} has one "
                           f"weight set per layer and was trained with {net.n_layers}; only "
                           "a SpliNet can be re-discretised")
        with bad_input():
            net = net.with_layers(args.layers)

    data = load_case_data(case, source, options,
                          with_scene=args.plot is not None and case == "indian-pines")
    with bad_input():
        try:
            net.loss(params, data.x_train[:1], data.y_train[:1])
        except ValueError as err:
            raise CLIError(f"the model does not fit the data of case {case!r}: {err}") from None
    scores = metrics(net, params, data)
    report = {"command": "evaluate", "model": args.model, "case": case,
              "arch": net.config["architecture"], "n_layers": net.n_layers,
              "saved_n_layers": saved_layers, "h": net.h, "n_params": net.n_params,
              **scores,
              "time_scale": float(params["lam"]) if "lam" in params else net.time_scale,
              "config": net.config, "data": _data_summary(data, source, options),
              "plot": None}
    if args.plot is not None:
        if plot_kind(data) is None:
            raise CLIError(f"--plot: no picture for case {case!r}")
        report["plot"] = plot_prediction(net, params, data, args.plot,
                                         title=f"{args.model} on {data.name}")
    if args.json:
        emit_json(report)
    else:
        print("\n".join([
            f"pysplinet evaluate: {args.model}",
            f"  case      {_describe_data(data)}",
            f"  network   {_describe_net(net)}"
            + (f" (saved with N={saved_layers})" if saved_layers != net.n_layers else ""),
            *_score_lines(scores, "parameters"),
        ] + ([f"  plot      {report['plot']}"] if report["plot"] else [])))
    return 0


# ---------------------------------------------------------------------- gradcheck

def _gradcheck_parser(subparsers, parents):
    p = subparsers.add_parser(
        "gradcheck", parents=parents, formatter_class=HelpFormatter,
        help="check the adjoint gradient of a case's network",
        description="Compare the adjoint gradient of the network of a test case, at random "
                    "parameters and on a few training samples, with central differences, and "
                    "run the Taylor test. Exit status 1 when the normwise relative error "
                    f"exceeds {GRADCHECK_RTOL:g} or the Taylor order leaves "
                    f"[{TAYLOR_RANGE[0]}, {TAYLOR_RANGE[1]}].")
    add_case_options(p)
    add_network_options(p)
    g = p.add_argument_group("check")
    g.add_argument("--batch-size", type=positive_int, default=4, metavar="B",
                   help="number of training samples (drawn at random with --seed)")
    g.add_argument("--amplitude", type=positive_float, default=None, metavar="A",
                   help="amplitude of the random parameters; " + per_case_help("amplitude"))
    g.add_argument("--seed", type=nonnegative_int, default=0, metavar="S",
                   help="seed of the parameters, the samples and the checked coordinates")
    g.add_argument("--max-coords", type=positive_int, default=2000, metavar="K",
                   help="check at most K coordinates (a random sample of them if more)")
    g.add_argument("--eps", type=positive_float, default=1e-6,
                   help="relative step of the central differences")
    g.add_argument("--taylor-eps", type=positive_float, default=None, metavar="EPS",
                   help="first step of the Taylor test, halved 5 times (default "
                        f"{_TAYLOR_EPS['smooth']:g}; {_TAYLOR_EPS['kinked']:g} with relu, "
                        "whose kinks spoil the second order where a step crosses one)")
    _add_json(p.add_argument_group("results"))
    p.set_defaults(handler=run_gradcheck)


def run_gradcheck(args):
    """``pysplinet gradcheck``: returns 0 when the gradient passes, else 1."""
    from .gradcheck import gradcheck, taylor_test

    source, options = data_options(args)
    network_from_args(args)
    data = load_case_data(args.case, source, options)
    net = network_from_args(args, data)
    if args.batch_size > data.n_train:
        raise CLIError(f"--batch-size {args.batch_size} exceeds the {data.n_train} training "
                       "samples")
    amplitude = args.amplitude or cases.training_defaults(args.case)["amplitude"]
    taylor_eps = args.taylor_eps
    if taylor_eps is None:
        kind = "kinked" if net.activation in _KINKED else "smooth"
        taylor_eps = _TAYLOR_EPS[kind]

    rng = np.random.default_rng(args.seed)
    params = net.init_params(rng, amplitude)
    pick = np.sort(rng.choice(data.n_train, size=args.batch_size, replace=False))
    x, y = data.x_train[pick], data.y_train[pick]

    start = time.perf_counter()
    report = gradcheck(net, params, x, y, eps=args.eps, max_coords=args.max_coords,
                       seed=args.seed, taylor=False)
    order, orders, remainders, epss = taylor_test(net, params, x, y, seed=args.seed,
                                                  eps0=taylor_eps)
    seconds = time.perf_counter() - start
    passed = bool(report.max_rel_error <= GRADCHECK_RTOL
                  and TAYLOR_RANGE[0] <= order <= TAYLOR_RANGE[1])
    out = {"command": "gradcheck", "passed": passed, "max_rel_error": report.max_rel_error,
           "taylor_order": order, "taylor_orders": orders, "taylor_remainders": remainders,
           "taylor_eps": epss, "n_checked": report.n_checked, "n_params": net.n_params,
           "per_key": report.per_key, "rtol": GRADCHECK_RTOL, "order_range": TAYLOR_RANGE,
           "batch_size": args.batch_size, "seconds": seconds, "case": args.case,
           "arch": args.arch, "config": net.config}
    if args.json:
        emit_json(out)
    else:
        verdict = "passed" if passed else "FAILED"
        print("\n".join([
            f"pysplinet gradcheck: {verdict}",
            f"  network   {_describe_net(net)}",
            f"  central differences: {report.n_checked} of {net.n_params} coordinates, "
            f"max normwise relative error {report.max_rel_error:.3g} "
            f"(accepted <= {GRADCHECK_RTOL:g})",
            f"  Taylor test from eps {taylor_eps:g}: order {order:.4f} (accepted "
            f"[{TAYLOR_RANGE[0]}, {TAYLOR_RANGE[1]}]); per halving "
            + ", ".join(f"{o:.3f}" for o in orders),
            f"  {seconds:.2f} s on {args.batch_size} samples",
        ]))
    return 0 if passed else 1
