"""pysplinet against PyTorch (eager, autograd) and JAX (jit, lax.scan) on the paper's networks.

Usage::

    python benchmarks/run.py [--threads 1|all] [--json] [--quick] [--cases NAME,...]
                             [--output PATH]

For every case of :mod:`bench_cases` it checks the PyTorch and JAX references against
pysplinet (loss, gradient and output to 1e-10 relative; a reference that fails is not
timed), then takes the median wall time of one loss-and-gradient evaluation and of one
forward pass (``predict``) of each implementation after warm-up. The implementations
take turns in blocks of consecutive calls (about 50 ms each), so that a change in the
machine's load falls on all of them alike while each runs with its caches as warm as in
a training loop.
It also measures

* for ``large-dense``: the flop rate of each implementation, counting 3 matrix products
  of (B x m) by (m x m) per layer for a loss-and-gradient (forward product, transposed
  product and weight gradient) and 1 for a forward pass, beside the rate of plain NumPy
  matrix products of the same shapes (``numpy-matmul``: 3 N products, resp. N), timed
  in the same rounds as the implementations;
* the time from process start to the first gradient, in fresh processes: once with
  empty caches (a fresh copy of the package, imported first through ``PYTHONPATH``, and
  ``NUMBA_CACHE_DIR`` a new temporary directory: compilation), then again with that
  cache warm;
* training throughput: :func:`pysplinet.training.train` on the sine data, runs per minute;
* with ``--threads all``: pysplinet on one thread (``threads=1``) beside its default, which
  runs the pieces of the batch on all threads, in the same rounds, and whether both give
  the same bits.

Threads: ``--threads 1`` (the default) runs everything in a child process whose
environment pins every library to one thread before it imports anything
(``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``, ``NUMBA_NUM_THREADS``
= 1, ``XLA_FLAGS`` with ``--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1``, and ``torch.set_num_threads(1)``); ``--threads all``
leaves the libraries their defaults. With one thread JAX also runs each computation on
the calling thread (``jax_cpu_enable_async_dispatch`` off), which spares it the hand-off
to a dispatch thread on small networks. ``OPENBLAS_CORETYPE``, if set, is left as it is and
reported. The ratio of CPU time to wall time of each measurement is recorded: near 1 with
one thread on an idle core, lower when other processes share the cores.

Output: a table on stdout (Markdown), or with ``--json`` the raw results as JSON on stdout
and the table on stderr; and, for a
full run (neither ``--quick`` nor ``--cases``), ``benchmarks/results-threads-<1|all>.json``
plus ``benchmarks/RESULTS.md`` rebuilt from every results file present. ``--output PATH``
writes the Markdown to PATH instead, and then also for a partial run. ``--quick`` takes
few samples and is for trying the script out; ``--cases`` picks cases by name (and
``training``, ``startup``).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

#: thread variables pinned to 1 by ``--threads 1``
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMBA_NUM_THREADS")
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
#: name of the plain NumPy matrix products timed beside the large dense case
MATMUL = "numpy-matmul"
#: pysplinet pinned to one thread, timed beside its default in the ``--threads all`` run
ONE_THREAD = "pysplinet-1-thread"

# the first gradient of a fresh process (the startup measurement), timed from the
# parent's clock reading just before the child is spawned
STARTUP_SCRIPT = """
import json, time
t_start = time.time()
import numpy as np
import pysplinet as ps
t_import = time.time()
net = ps.SpliNet(width=4, n_layers=100, degree=2, n_knots=10, activation="tanh")
params = net.init_params(np.random.default_rng(0), amplitude=0.5)
x = np.linspace(-3.0, 3.0, 5)[:, None]
net.value_and_grad(params, x, np.sin(x))
t_grad = time.time()
print(json.dumps({"start": t_start, "import": t_import, "grad": t_grad,
                  "file": ps.__file__}))
"""


def thread_env(threads):
    """The environment of the child processes for a thread setting."""
    env = dict(os.environ)
    if threads == "1":
        env.update({k: "1" for k in THREAD_VARS})
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " " + XLA_ONE_THREAD).strip()
    return env


def log(message):
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- measuring


def interleaved_medians(fns, budget, min_rounds, max_rounds, block=0.05):
    """Median wall time of one call of each zero-argument callable, taking turns in blocks.

    Each callable is called a few times first (warm-up; the fastest of these calls sets
    its block size: as many consecutive calls as fit in ``block`` seconds, at least
    one). Then rounds run one block of every callable, until ``min_rounds`` rounds are
    done and ``budget`` seconds have passed (or ``max_rounds``). Blocks keep the caches
    as warm as they are in a loop of calls (a training loop); taking turns spreads a
    change in the machine's load over all the callables. The first call of a block of
    three or more is not counted: it finds the caches as the previous callable left them.

    Returns
    -------
    dict
        name -> {"median", "q1", "q3", "n", "cpu_per_wall"} (seconds; ``n`` calls
        counted; ``cpu_per_wall`` the process CPU time over the wall time of the blocks).
    """
    reps = {}
    for k, fn in fns.items():
        fn()
        one = min(first_call(fn) for _ in range(3 if first_call(fn) < block else 1))
        reps[k] = max(1, min(1000, int(block / max(one, 1e-9))))
    times = {k: [] for k in fns}
    cpu = {k: 0.0 for k in fns}
    wall = {k: 0.0 for k in fns}
    start = time.perf_counter()
    rounds = 0
    while rounds < max_rounds and (rounds < min_rounds
                                   or time.perf_counter() - start < budget):
        for k, fn in fns.items():
            c0, w0 = time.process_time(), time.perf_counter()
            ts = []
            for _ in range(reps[k]):
                t0 = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t0)
            cpu[k] += time.process_time() - c0
            wall[k] += time.perf_counter() - w0
            times[k] += ts[1:] if len(ts) >= 3 else ts
        rounds += 1
    out = {}
    for k, ts in times.items():
        q = statistics.quantiles(ts, n=4) if len(ts) > 1 else [ts[0]] * 3
        out[k] = {"median": statistics.median(ts), "q1": q[0], "q3": q[2], "n": len(ts),
                  "block": reps[k], "cpu_per_wall": cpu[k] / wall[k]}
    return out


def _same_bits(a, b):
    """Whether two ``(loss, grads)`` results are equal to the last bit."""
    import numpy as np
    return bool(a[0] == b[0] and all(np.array_equal(a[1][k], b[1][k]) for k in a[1]))


def first_call(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _references(threads):
    """The reference classes that import here, and notes on the ones that do not."""
    refs, notes = {}, {}
    try:
        import torch
        if threads == "1":
            torch.set_num_threads(1)
            torch.set_num_interop_threads(1)
        import torch_ref
        refs["pytorch"] = torch_ref.TorchReference
    except ImportError as err:
        notes["pytorch"] = f"not installed ({err})"
    try:
        import jax_ref
        if threads == "1":
            # run each computation on the calling thread, no hand-off to a dispatch thread
            jax_ref.jax.config.update("jax_cpu_enable_async_dispatch", False)
        refs["jax"] = jax_ref.JaxReference
    except ImportError as err:
        notes["jax"] = f"not installed ({err})"
    return refs, notes


def run_case(case, refs, settings, threads="1"):
    """Check and time one case; a dict for the results file.

    With ``threads="all"`` it also times pysplinet pinned to one thread beside its default
    (all threads, one per piece of the batch) and records whether both give the same bits.
    """
    import bench_cases
    from pysplinet.adjoint import piece_size, threads_for

    res = {"name": case.name, "description": case.description, "tags": list(case.tags)}
    if case.skip:
        log(f"[{case.name}] skipped: {case.skip}")
        res["skipped"] = case.skip
        return res
    net, params, x, y = case.build()
    res["shape"] = {"width": net.width, "batch": len(x), "n_layers": net.n_layers,
                    "n_params": net.n_params}

    # pysplinet first (its first call may compile or load the kernels)
    grads = {"pysplinet": lambda: net.value_and_grad(params, x, y)}
    preds = {"pysplinet": lambda: net.predict(params, x)}
    res["first_call"] = {"pysplinet": first_call(grads["pysplinet"])}
    res["checks"], res["aborted"] = {}, {}

    # references: agreement before any timing
    for name, cls in refs.items():
        try:
            ref = cls(net)
            grad, pred = ref.timed_calls(params, x, y)
            first = first_call(grad)                 # JAX: tracing and compilation
            res["checks"][name] = ref.check(params, x, y)
        except (bench_cases.ReferenceMismatch, NotImplementedError) as err:
            log(f"[{case.name}] ABORTED {name}: {err}")
            res["aborted"][name] = str(err)
            continue
        res["first_call"][name] = first
        grads[name], preds[name] = grad, pred
        worst = max(res["checks"][name].values())
        log(f"[{case.name}] {name} agrees with pysplinet (worst relative error {worst:.1e})")

    # the pieces of the batch on one thread against all threads, in the same rounds
    if threads == "all":
        grads[ONE_THREAD] = lambda: net.value_and_grad(params, x, y, threads=1)
        res["threads"] = {"pieces": -(-len(x) // piece_size(net.operator, net.width)),
                          "threads": threads_for(net._sweeps.spec, len(x), net.width),
                          "same_bits": _same_bits(grads["pysplinet"](), grads[ONE_THREAD]())}

    # the dense case also times NumPy's plain matrix products of the same shapes
    if "large" in case.tags:
        grads[MATMUL], preds[MATMUL] = matmul_calls(net.width, len(x), net.n_layers)

    log(f"[{case.name}] timing {', '.join(grads)}")
    res["grad"] = interleaved_medians(grads, **settings)
    res["predict"] = interleaved_medians(preds, **settings)
    if "large" in case.tags:
        res["flop_rates"] = flop_rates(res)
    return res


def matmul_calls(width, batch, n_layers):
    """Plain NumPy matrix products of a dense network's shapes, as zero-argument
    callables: per layer ``X W^T``, ``G^T X`` and ``G W`` for a loss and gradient (the
    forward product, the weight gradient and the transposed product of eqs. 18-22),
    ``X W^T`` alone for a forward pass."""
    import numpy as np
    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch, width))
    G = rng.standard_normal((batch, width))
    W = rng.standard_normal((width, width))
    A, D, Z = np.empty((batch, width)), np.empty((width, width)), np.empty((batch, width))

    def grad():
        for _ in range(n_layers):
            np.matmul(X, W.T, out=A)
            np.matmul(G.T, X, out=D)
            np.matmul(G, W, out=Z)

    def predict():
        for _ in range(n_layers):
            np.matmul(X, W.T, out=A)

    return grad, predict


def flop_rates(res):
    """Flop rates of the large dense case, NumPy's plain products among them."""
    s = res["shape"]
    B, m, N = s["batch"], s["width"], s["n_layers"]
    out = {"flops_grad": 3 * 2 * B * m * m * N, "flops_predict": 2 * B * m * m * N,
           "grad": {}, "predict": {}}
    for kind in ("grad", "predict"):
        for name, t in res.get(kind, {}).items():
            out[kind][name] = out[f"flops_{kind}"] / t["median"]
    return out


def training_throughput(runs, epochs):
    """Sine training sweep: ``runs`` independent runs of ``epochs`` epochs."""
    import numpy as np

    import pysplinet as ps
    from pysplinet.data import sine
    from pysplinet.training import train

    data = sine(freq=1.0, seed=0)
    net = ps.SpliNet(width=4, n_layers=100, degree=2, n_knots=10, activation="tanh")
    batch = 5
    inits = [net.init_params(np.random.default_rng(r), amplitude=0.5) for r in range(runs)]
    train(net, inits[0], data, epochs=1, batch_size=batch, lr=0.01)       # warm-up
    t0 = time.perf_counter()
    for r, p in enumerate(inits):
        train(net, p, data, epochs=epochs, batch_size=batch, lr=0.01, seed=r)
    seconds = time.perf_counter() - t0
    steps = runs * epochs * -(-len(data.x_train) // batch)
    return {"network": "SpliNet width 4, N=100, d=2, L=10, tanh (sine, 20 points)",
            "runs": runs, "epochs": epochs, "batch_size": batch, "seconds": seconds,
            "runs_per_minute": 60.0 * runs / seconds, "gradients_per_second": steps / seconds}


def environment(threads):
    import platform

    import numba
    import numpy as np

    info = {"threads": threads, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "cpu": _cpu_model(), "cores": os.cpu_count(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
            "thread_env": {k: os.environ.get(k, "(unset)")
                           for k in THREAD_VARS + ("XLA_FLAGS",)}}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["numpy_blas"] = f"{blas.get('name')} {blas.get('version')}"
    except (TypeError, KeyError):
        info["numpy_blas"] = "unknown"
    for mod in ("torch", "jax", "jaxlib"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = None
    try:
        import torch
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    info["pysplinet_commit"] = _git(["rev-parse", "--short", "HEAD"])
    info["pysplinet_uncommitted"] = _git(["status", "--porcelain", "--", "pysplinet",
                                          "kernels"]).splitlines()
    return info


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or "unknown"


def _git(args):
    try:
        return subprocess.run(["git", "-C", str(REPO)] + args, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def worker(args):
    """Everything measured inside one process (the thread environment already set)."""
    import bench_cases

    quick = args.quick
    settings = (dict(budget=0.3, min_rounds=3, max_rounds=200) if quick
                else dict(budget=2.0, min_rounds=7, max_rounds=5000))
    large_settings = dict(budget=0.0, min_rounds=2 if quick else 5, max_rounds=50)
    wanted = set(args.cases.split(",")) if args.cases else None

    results = {"environment": environment(args.threads), "quick": quick,
               "load_before": os.getloadavg(), "cases": []}
    refs, notes = _references(args.threads)
    results["environment"]["reference_notes"] = notes
    for name, note in notes.items():
        log(f"{name}: {note}; its columns stay empty")

    for case in bench_cases.make_cases():
        if wanted is not None and case.name not in wanted:
            continue
        large = "large" in case.tags
        res = run_case(case, refs, large_settings if large else settings, args.threads)
        results["cases"].append(res)

    if wanted is None or "training" in wanted:
        log("training throughput")
        results["training"] = training_throughput(runs=5 if quick else 20, epochs=100)
    results["load_after"] = os.getloadavg()
    Path(args.worker).write_text(json.dumps(results))


# ---------------------------------------------------------------------- startup


def fresh_copy(dest):
    """Copy this working tree's package (``pysplinet/`` with ``kernels/`` as
    ``pysplinet/kernels``) to ``dest`` without any compiled or cached files; return the
    directory to put first on ``PYTHONPATH``."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc")
    shutil.copytree(REPO / "pysplinet", dest / "pysplinet", ignore=skip)
    shutil.copytree(REPO / "kernels", dest / "pysplinet" / "kernels", ignore=skip)
    return dest


def startup_times(env, warm_runs):
    """Process start to first gradient: once with empty caches, then warm.

    The processes import a fresh copy of the package (:func:`fresh_copy`), so that no
    compiled kernel from an earlier run is found wherever the package keeps its cache,
    and get a new ``NUMBA_CACHE_DIR``; the warm starts reuse that copy and directory.
    """
    def spawn(root):
        e = dict(env, NUMBA_CACHE_DIR=str(root / "numba-cache"),
                 PYTHONPATH=os.pathsep.join(
                     [str(root)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])))
        t_spawn = time.time()
        out = subprocess.run([sys.executable, "-c", STARTUP_SCRIPT], env=e,
                             cwd=str(root), capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"the startup process failed:\n{out.stderr}")
        t = json.loads(out.stdout.strip().splitlines()[-1])
        if not Path(t["file"]).is_relative_to(root):
            raise RuntimeError(f"the startup process imported {t['file']}, not the fresh "
                               f"copy in {root}")
        return {"to_first_grad": t["grad"] - t_spawn, "interpreter": t["start"] - t_spawn,
                "import": t["import"] - t["start"], "first_grad": t["grad"] - t["import"]}

    with tempfile.TemporaryDirectory(prefix="pysplinet-bench-start-") as tmp:
        root = fresh_copy(Path(tmp))
        log("startup: empty caches (compiles the kernels)")
        cold = spawn(root)
        log("startup: warm cache")
        warm = [spawn(root) for _ in range(warm_runs)]
    return {"cold": cold, "warm": warm,
            "warm_median": statistics.median(w["to_first_grad"] for w in warm)}


# ---------------------------------------------------------------------- driver


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", choices=("1", "all"), default="1",
                    help="pin every library to one thread (default) or leave them all cores")
    ap.add_argument("--json", action="store_true",
                    help="print the results as JSON on stdout (the table then goes to "
                         "stderr)")
    ap.add_argument("--quick", action="store_true",
                    help="few samples, to try the script out; writes no results file "
                         "unless --output is given")
    ap.add_argument("--cases", default=None,
                    help="comma-separated case names (plus 'training', 'startup') to run; "
                         "default all; like --quick, writes no results file unless --output")
    ap.add_argument("--output", default=None,
                    help="Markdown file to write (default benchmarks/RESULTS.md, not with "
                         "--quick)")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.cases is not None:
        import bench_cases
        known = [c.name for c in bench_cases.make_cases()] + ["training", "startup"]
        unknown = sorted(set(args.cases.split(",")) - set(known))
        if unknown:
            ap.error(f"--cases: unknown name(s) {unknown}; known: {', '.join(known)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return

    import report

    env = thread_env(args.threads)
    with tempfile.TemporaryDirectory(prefix="pysplinet-bench-") as tmp:
        out = Path(tmp) / "results.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--threads", args.threads,
               "--worker", str(out)]
        if args.quick:
            cmd.append("--quick")
        if args.cases:
            cmd += ["--cases", args.cases]
        subprocess.run(cmd, env=env, check=True)
        results = json.loads(out.read_text())
    if args.cases is None or "startup" in args.cases.split(","):
        results["startup"] = startup_times(env, warm_runs=1 if args.quick else 3)

    section = report.section(results)
    if args.json:
        log(section)
        print(json.dumps(results, indent=1))
    else:
        print(section)
    partial = args.quick or args.cases is not None
    if not partial:
        (HERE / f"results-threads-{args.threads}.json").write_text(
            json.dumps(results, indent=1) + "\n")
    if args.output or not partial:
        target = Path(args.output) if args.output else HERE / "RESULTS.md"
        stored = {}
        for t in ("1", "all"):
            f = HERE / f"results-threads-{t}.json"
            if f.exists():
                stored[t] = json.loads(f.read_text())
        if partial:
            stored[args.threads] = results
        target.write_text(report.document(stored))
        log(f"wrote {target}")


if __name__ == "__main__":
    main()
