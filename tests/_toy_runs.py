"""Toy run functions for the studies tests.

They live in a module of their own so that worker processes (local or Dask) can import them
by name. Each is a pure function of its configuration, except for the flag files that let a
test switch a failure or an interrupt off between two sweeps.
"""

import os
import time

import numpy as np


def fit_line(config):
    """Fit ``y = a x + c`` to seeded noisy data by gradient descent.

    ``config``: ``seed``; optional ``lr`` (0.1), ``epochs`` (20), ``amplitude`` (1.0) of the
    initial guess, ``fail`` (raise). A loss above 1e6 stops the run as ``'diverged'``.
    """
    if config.get("fail"):
        raise RuntimeError(f"requested failure for seed {config['seed']}")
    rng = np.random.default_rng(config["seed"])
    x = rng.uniform(-1.0, 1.0, 32)
    y = 2.0 * x - 0.5 + 0.1 * rng.standard_normal(32)
    w = config.get("amplitude", 1.0) * rng.standard_normal(2)
    lr = config.get("lr", 0.1)
    history = {"loss": []}
    for _ in range(config.get("epochs", 20)):
        r = w[0] * x + w[1] - y
        loss = 0.5 * np.mean(r * r)
        history["loss"].append(loss)
        if not loss < 1e6:
            return {"status": "diverged", "metrics": {"loss": loss}, "history": history}
        w = w - lr * np.array([np.mean(r * x), np.mean(r)])
    return {"metrics": {"loss": loss, "a": w[0], "c": w[1]}, "history": history}


def sleepy_fit(config):
    """:func:`fit_line` after sleeping ``config['sleep']`` seconds."""
    time.sleep(config["sleep"])
    return fit_line(config)


def fail_while_flag(config):
    """Raise while the file ``config['flag']`` exists, else :func:`fit_line`."""
    if os.path.exists(config["flag"]):
        raise OSError(f"flag file {config['flag']} exists")
    return fit_line(config)


def interrupt_while_flag(config):
    """Raise KeyboardInterrupt for ``config['interrupt']`` while ``config['flag']`` exists."""
    if config.get("interrupt") and os.path.exists(config["flag"]):
        raise KeyboardInterrupt
    return fit_line(config)


def not_a_dict(config):
    """Return a list, which the runner must record as a failed run."""
    return [config["seed"]]


def unknown_status(config):
    """Return a status the runner does not accept."""
    return {"status": "great", "metrics": {}}


def crash_while_flag(config):
    """End the worker process abruptly for ``config['crash']`` while ``config['flag']`` exists."""
    if config.get("crash") and os.path.exists(config["flag"]):
        os._exit(17)
    return fit_line(config)
