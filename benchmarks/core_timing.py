"""Median time of one value_and_grad, compiled kernels against the NumPy reference.

Usage::

    python benchmarks/core_timing.py [--width 4] [--layers 100] [--batch 5] [--degree 2]
                                     [--knots 10] [--repeats 200]

Both back ends run the same network on the same data in this one process, one after the
other, so the ratio is measured side by side.
"""

import argparse
import statistics
import time

import numpy as np

import pysplinet as ps


def median_time(fn, repeats):
    fn()                                           # warm-up (and compilation)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=4)
    ap.add_argument("--layers", type=int, default=100)
    ap.add_argument("--batch", type=int, default=5)
    ap.add_argument("--degree", type=int, default=2)
    ap.add_argument("--knots", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    x = rng.uniform(-np.pi, np.pi, (args.batch, 1))
    y = np.sin(x)
    results = {}
    for backend in ("numba", "numpy"):
        net = ps.SpliNet(width=args.width, n_layers=args.layers, degree=args.degree,
                         n_knots=args.knots, activation="tanh", backend=backend)
        params = net.init_params(np.random.default_rng(1), amplitude=0.5)
        results[backend] = median_time(lambda: net.value_and_grad(params, x, y),
                                       args.repeats)
    print(f"SpliNet width {args.width}, N = {args.layers}, batch {args.batch}, "
          f"d = {args.degree}, L = {args.knots}: median of {args.repeats} value_and_grad")
    for backend, t in results.items():
        print(f"  {backend:6s} {t * 1e6:10.1f} us")
    print(f"  numpy / numba = {results['numpy'] / results['numba']:.1f}")


if __name__ == "__main__":
    main()
