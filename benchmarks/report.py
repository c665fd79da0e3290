"""Markdown tables and the goal check for the results of ``benchmarks/run.py``."""

#: the plain NumPy matrix products timed beside the large dense case (run.MATMUL)
MATMUL = "numpy-matmul"
#: pysplinet pinned to one thread in the all-cores run (run.ONE_THREAD)
ONE_THREAD = "pysplinet-1-thread"
IMPLS = (("pysplinet", "pysplinet"), ("jax", "JAX (jit)"), ("pytorch", "PyTorch (eager)"))

#: speed-up over each reference (loss and gradient, one thread) that the goals ask for
SPEEDUP_GOALS = {"small": {"jax": 5.0, "pytorch": 100.0},
                 "conv": {"jax": 4.0, "pytorch": 4.0}}
LARGE_RATE_GOAL = 0.70       # of NumPy's matrix-product flop rate
WARM_START_GOAL = 2.0        # seconds from process start to first gradient, warm cache


def fmt_time(t):
    if t is None:
        return "-"
    if t < 1e-3:
        return f"{t * 1e6:.1f} µs"
    if t < 1.0:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


def fmt_ratio(r):
    return "-" if r is None else f"{r:.1f}x"


def _median(res, kind, name):
    t = res.get(kind, {}).get(name)
    return None if t is None else t["median"]


def ratio(res, kind, name):
    """Time of ``name`` over pysplinet's: how many times faster pysplinet is."""
    ours, theirs = _median(res, kind, "pysplinet"), _median(res, kind, name)
    if ours is None or theirs is None:
        return None
    return theirs / ours


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _timing_table(cases, kind):
    header = ["case"]
    for key, label in IMPLS:
        header.append(label)
        if key != "pysplinet":
            header.append(f"{label.split()[0]} / ours")
    header.append("samples")
    rows = []
    for res in cases:
        if "skipped" in res:
            rows.append([res["name"]] + ["-"] * (len(header) - 2) + [res["skipped"]])
            continue
        row = [res["name"]]
        for key, _ in IMPLS:
            row.append(fmt_time(_median(res, kind, key)))
            if key != "pysplinet":
                row.append(fmt_ratio(ratio(res, kind, key)))
        row.append(res.get(kind, {}).get("pysplinet", {}).get("n", "-"))
        rows.append(row)
    return _table(header, rows)


def goals(results):
    """Rows ``(goal, measured, met)`` for the single-thread goals; ``met`` is None when
    the figure is missing."""
    rows = []
    for res in results.get("cases", []):
        for tag, wanted in SPEEDUP_GOALS.items():
            if tag not in res.get("tags", ()):
                continue
            for name, factor in wanted.items():
                label = dict(IMPLS)[name].split()[0]
                goal = f"{res['name']}: >= {factor:g}x faster than {label} (gradient)"
                if "skipped" in res:
                    rows.append((goal, "skipped: " + res["skipped"], None))
                    continue
                r = ratio(res, "grad", name)
                rows.append((goal, fmt_ratio(r), None if r is None else r >= factor))
        if "flop_rates" in res:
            fr = res["flop_rates"]
            share = fr["grad"]["pysplinet"] / fr["grad"][MATMUL]
            rows.append((f"{res['name']}: >= {LARGE_RATE_GOAL:.0%} of NumPy's matmul flop "
                         f"rate (gradient)", f"{share:.0%}", share >= LARGE_RATE_GOAL))
    st = results.get("startup")
    if st:
        t = st["warm"][0]["to_first_grad"]
        rows.append((f"second process start to first gradient < {WARM_START_GOAL:g} s",
                     f"{t:.2f} s", t < WARM_START_GOAL))
    return rows


def _environment(results):
    env = results["environment"]
    uncommitted = env.get("pysplinet_uncommitted") or []
    commit = env.get("pysplinet_commit") or "unknown"
    if uncommitted:
        commit += f" with {len(uncommitted)} uncommitted change(s) in pysplinet/ or kernels/"
    refs = ", ".join(f"{m} {env.get(m)}" for m in ("torch", "jax", "jaxlib"))
    lines = [
        f"- Measured {env.get('date', '?')} on {env['cpu']} ({env['cores']} cores); "
        f"pysplinet at {commit}.",
        f"- Python {env['python']}, NumPy {env['numpy']} ({env['numpy_blas']}), Numba "
        f"{env['numba']}; {refs}.",
        f"- Thread settings: {env['thread_env']}; torch threads "
        f"{env.get('torch_threads', '-')}. OPENBLAS_CORETYPE: {env['OPENBLAS_CORETYPE']}.",
        f"- Load average (1, 5, 15 min) before: "
        f"{', '.join(f'{v:.2f}' for v in results['load_before'])}; after: "
        f"{', '.join(f'{v:.2f}' for v in results['load_after'])}.",
    ]
    load = max(results["load_before"][0], results["load_after"][0])
    if env.get("cores") and load > env["cores"]:
        lines.append(f"- **The machine was shared** (1-minute load average up to {load:.1f} "
                     f"on {env['cores']} cores). Where the CPU/wall column below is well "
                     f"under 1 (one thread) other processes took CPU from these "
                     f"measurements: times are then inflated and noisy, and multi-threaded "
                     f"libraries, whose threads wait on each other, suffer most. Compare "
                     f"ratios measured in one run rather than times across runs.")
    for name, note in env.get("reference_notes", {}).items():
        lines.append(f"- {name}: {note}.")
    if results.get("quick"):
        lines.append("- Quick run (few samples): not for quoting.")
    return "\n".join(lines)


def _flops(cases):
    parts = []
    for res in cases:
        fr = res.get("flop_rates")
        if not fr:
            continue
        base = fr["grad"].get(MATMUL)
        rows = []
        for key, label in IMPLS + ((MATMUL, "NumPy matmul, same products"),):
            g, p = fr["grad"].get(key), fr["predict"].get(key)
            rows.append([label, "-" if g is None else f"{g / 1e9:.2f}",
                         "-" if p is None else f"{p / 1e9:.2f}",
                         "-" if g is None or base is None else f"{g / base:.0%}"])
        parts.append(f"{res['name']}: {fr['flops_grad'] / 1e9:.2f} Gflop per loss and "
                     f"gradient (3 products of (B x m) by (m x m) per layer), "
                     f"{fr['flops_predict'] / 1e9:.2f} Gflop per forward pass (1 product "
                     f"per layer). The NumPy row times exactly those products, in the same "
                     f"rounds.\n\n"
                     + _table(["", "Gflop/s, gradient", "Gflop/s, forward",
                               "gradient rate / NumPy's"], rows))
    return "\n\n".join(parts)


def _startup(st):
    rows = []
    for label, r in [("empty cache (compiles the kernels)", st["cold"])] + [
            (f"warm cache, start {i + 2}", w) for i, w in enumerate(st["warm"])]:
        rows.append([label, f"{r['to_first_grad']:.2f} s", f"{r['interpreter']:.2f} s",
                     f"{r['import']:.2f} s", f"{r['first_grad']:.2f} s"])
    return _table(["process", "start to first gradient", "interpreter start",
                   "import pysplinet", "first value_and_grad"], rows)


def _first_calls(cases):
    rows = []
    for res in cases:
        if "first_call" in res:
            rows.append([res["name"]] + [fmt_time(res["first_call"].get(key))
                                         for key, _ in IMPLS])
    return _table(["case"] + [label for _, label in IMPLS], rows)


def _agreement(cases):
    rows = []
    for res in cases:
        if "skipped" in res:
            continue
        row = [res["name"]]
        for key, _ in IMPLS[1:]:
            if key in res.get("aborted", {}):
                row.append("ABORTED")
            elif key in res.get("checks", {}):
                row.append(f"{max(res['checks'][key].values()):.1e}")
            else:
                row.append("-")
        for key, _ in IMPLS:
            t = res.get("grad", {}).get(key)
            row.append("-" if t is None else f"{t['cpu_per_wall']:.2f}")
        rows.append(row)
    return _table(["case", "JAX worst rel. error", "PyTorch worst rel. error",
                   "CPU/wall ours", "CPU/wall JAX", "CPU/wall PyTorch"], rows)


def _threads(cases):
    """pysplinet's default (pieces of the batch on all threads) against one thread."""
    rows = []
    for res in cases:
        info = res.get("threads")
        one = _median(res, "grad", ONE_THREAD)
        default = _median(res, "grad", "pysplinet")
        if info is None or one is None or default is None:
            continue
        rows.append([res["name"], info["pieces"], fmt_time(one),
                     f"{fmt_time(default)} ({info['threads']} "
                     f"thread{'' if info['threads'] == 1 else 's'})",
                     fmt_ratio(one / default), "yes" if info["same_bits"] else "**no**"])
    if not rows:
        return None
    return _table(["case", "pieces of the batch", "one thread", "default", "speed-up",
                   "same bits"], rows)


def section(results):
    """The Markdown section of one run."""
    threads = results["environment"]["threads"]
    title = "One thread" if threads == "1" else "All cores"
    cases = results.get("cases", [])
    out = [f"## {title} (`--threads {threads}`)", "", _environment(results)]
    if cases:
        out += ["", "### One loss-and-gradient evaluation (median)", "",
                _timing_table(cases, "grad"), "",
                "### One forward pass, `predict` (median)", "",
                _timing_table(cases, "predict")]
        flops = _flops(cases)
        if flops:
            out += ["", "### Large dense case: flop rates", "", flops]
        threads_table = _threads(cases)
        if threads_table:
            out += ["", "### pysplinet over the pieces of the batch: one thread against all",
                    "", "One loss-and-gradient evaluation (median), both timed in the same "
                    "rounds. The batch is cut into fixed pieces (32 samples; 1024 state "
                    "entries for states narrower than 8; 128 for the dense case). By "
                    "default the pieces run on threads of their own when each is long "
                    "enough to pay for the hand-off, otherwise on one thread, in one "
                    "compiled call; BLAS products run on one thread inside the sweeps.",
                    "", threads_table]
    if results.get("startup"):
        out += ["", "### Process start to first gradient (SpliNet width 4, N=100)", "",
                _startup(results["startup"])]
    tr = results.get("training")
    if tr:
        out += ["", "### Training throughput", "",
                f"{tr['network']}: {tr['runs']} runs of {tr['epochs']} epochs, batch "
                f"{tr['batch_size']}, Adam, in {tr['seconds']:.2f} s: "
                f"**{tr['runs_per_minute']:.0f} runs per minute** "
                f"({tr['gradients_per_second']:.0f} gradient steps per second)."]
    rows = goals(results)
    if rows:
        head = "Goals" if threads == "1" else "Goals (set for one thread; shown for reference)"
        out += ["", f"### {head}", "",
                _table(["goal", "measured", "met"],
                       [(g, m, "-" if ok is None else ("yes" if ok else "**no**"))
                        for g, m, ok in rows])]
    if cases:
        out += ["", "### Agreement with pysplinet and CPU use", "",
                "Worst relative error (Euclidean norm) of loss, gradients and output "
                "against pysplinet; a reference above 1e-10 is not timed. CPU/wall: process "
                "CPU time over wall time during the gradient timings (about 1 for one busy "
                "thread; less when other processes share the cores).", "",
                _agreement(cases), "",
                "### First loss-and-gradient call in the benchmark process", "",
                "pysplinet: loads its kernels from the Numba cache (or compiles them, the "
                "first time after a change); JAX: traces and compiles; PyTorch: no "
                "compilation.", "",
                _first_calls(cases)]
    return "\n".join(out) + "\n"


def document(stored):
    """RESULTS.md from the results of each thread setting present."""
    intro = ("# Benchmarks\n\n"
             "Produced by `python benchmarks/run.py --threads 1` and `--threads all`; do not "
             "edit by hand. pysplinet (Numba kernels, hand-written adjoint) against the same "
             "networks written in PyTorch (eager, autograd; `benchmarks/torch_ref.py`) and "
             "JAX (`jax.jit`, `jax.value_and_grad`, layer loop as `lax.scan`; "
             "`benchmarks/jax_ref.py`), all in float64. Times are medians of one call after "
             "warm-up, the implementations taking turns in blocks of consecutive calls; "
             "a ratio is the reference's time over pysplinet's (above 1: pysplinet is "
             "faster). Cases are described in `benchmarks/bench_cases.py`.\n")
    parts = [intro]
    for t in ("1", "all"):
        if t in stored:
            parts.append(section(stored[t]))
    return "\n".join(parts)
