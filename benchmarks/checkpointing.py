"""Memory and time of the checkpointed adjoint against the store-everything sweep.

Usage::

    python benchmarks/checkpointing.py [--quick]

1. Peak memory (tracemalloc) of one value_and_grad on a deep network, N = 10^5, width 64,
   batch 32, with s = 10 snapshots, beside what storing every state would take.
2. For N = 1000 and s in {2, 5, 10, 30}: wall time of the checkpointed gradient over the
   store-everything one, beside the ratio the step counts predict. The prediction uses the
   costs of adjoint steps relative to one forward step, measured here first from whole
   sweeps: c_kept for an adjoint step that reads the activation values kept by a
   store-everything forward sweep, c_eval for one that evaluates its layer again on x_i
   (as every adjoint step of a checkpointed sweep does):

       store-everything:  N forward steps + N adjoint steps (kept)       = N (1 + c_kept)
       checkpointed:      t(N, s) advances + 1 + N adjoint steps (eval)  = t + 1 + N c_eval

   (the "+1" is the extra evaluation of the last layer that yields x_N).
"""

import argparse
import statistics
import time
import tracemalloc

import numpy as np

import pysplinet as ps
from pysplinet.checkpointing import optimal_advances


def _median(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def memory(n_layers, width, batch, snapshots):
    rng = np.random.default_rng(0)
    net = ps.SpliNet(width, n_layers, degree=2, n_knots=10, opening="dense",
                     n_inputs=width, closing="dense", n_outputs=1)
    params = net.init_params(rng, amplitude=0.5)
    x = rng.standard_normal((batch, width))
    y = rng.standard_normal((batch, 1))
    net.value_and_grad(params, x[:1], y[:1], checkpoints=snapshots)     # compile / warm
    state_bytes = batch * width * 8
    tracemalloc.start()
    t0 = time.perf_counter()
    net.value_and_grad(params, x, y, checkpoints=snapshots)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    param_bytes = 2 * sum(a.nbytes for a in params.values())       # params + gradients
    print(f"N = {n_layers}, width {width}, batch {batch}, s = {snapshots} "
          f"(one state = {state_bytes / 1024:.0f} KiB)")
    print(f"  store-everything would hold {(n_layers + 1) * state_bytes / 1e9:.2f} GB "
          f"of states")
    print(f"  checkpointed peak traced memory {peak / 1e6:.2f} MB, of which parameters and "
          f"gradients {param_bytes / 1e6:.2f} MB and the control table "
          f"{n_layers * (8 + 3 * 8) / 1e6:.2f} MB")
    print(f"  = {peak / state_bytes:.1f} states' worth; bound s + working + adjoint "
          f"= {snapshots + 2} states plus the fixed-size arrays above")
    print(f"  time {seconds:.1f} s")


def timing(n_layers, snapshot_counts, repeats):
    rng = np.random.default_rng(1)
    width, batch = 16, 16
    net = ps.SpliNet(width, n_layers, degree=2, n_knots=10, opening="dense",
                     n_inputs=width, closing="dense", n_outputs=1)
    params = net.init_params(rng, amplitude=0.5)
    x = rng.standard_normal((batch, width))
    y = rng.standard_normal((batch, 1))
    p = net.check_params(params)
    sweeps = net._sweeps

    # cost of an adjoint step relative to a forward step, from whole sweeps
    states = np.empty((n_layers + 1, batch, width))
    values = np.empty((n_layers, batch, width))
    X = x @ p["opening.W"].T + p["opening.b"]

    def forward():
        sweeps.forward(p["W"], p["b"], 1.0, X.copy(), 0, n_layers, states, values)

    forward()

    def adjoint(kept):
        sweeps.adjoint(p["W"], p["b"], 1.0, states, values if kept else None, 0, 0,
                       n_layers, np.ones_like(X), np.zeros_like(p["W"]),
                       np.zeros_like(p["b"]), np.zeros(1))

    t_fwd = _median(forward, repeats)
    c_kept = _median(lambda: adjoint(True), repeats) / t_fwd
    c_eval = _median(lambda: adjoint(False), repeats) / t_fwd
    t_store = _median(lambda: net.value_and_grad(params, x, y), repeats)
    print(f"N = {n_layers}, width {width}, batch {batch}: forward sweep "
          f"{t_fwd * 1e3:.2f} ms; adjoint step / forward step: c_kept = {c_kept:.2f}, "
          f"c_eval = {c_eval:.2f}")
    print(f"  store-everything value_and_grad {t_store * 1e3:.2f} ms")
    print(f"  {'s':>4} {'advances':>9} {'measured':>9} {'predicted':>9}")
    for s in snapshot_counts:
        t = optimal_advances(n_layers, s)
        t_ck = _median(lambda: net.value_and_grad(params, x, y, checkpoints=s), repeats)
        predicted = (t + 1 + n_layers * c_eval) / (n_layers * (1 + c_kept))
        print(f"  {s:4d} {t:9d} {t_ck / t_store:9.2f} {predicted:9.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="N = 10^4 for the memory figure instead of 10^5")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    memory(10**4 if args.quick else 10**5, 64, 32, 10)
    print()
    timing(1000, (2, 5, 10, 30), args.repeats)


if __name__ == "__main__":
    main()
