"""Loaders for the SpliNet authors' plain-text data files (sine and peaks).

The expected layout is the authors' ``examples/data`` folder: ``<root>/sine/xtrain_k1.dat``,
``<root>/peaks/features.dat``, ... . ``root`` may also be the case folder itself. When ``root``
is None the environment variable ``PYSPLINET_REFERENCE_DIR`` is used.
"""

from __future__ import annotations

import numpy as np

from ._dataset import Dataset, case_dir, check_count, check_seed

__all__ = ["reference_sine", "reference_peaks"]

_SINE_FREQS = (1, 2, 5)


def _loadtxt(path, ncols):
    """Read a whitespace-delimited float table with `ncols` columns as (rows, ncols) float64."""
    a = np.loadtxt(path, dtype=np.float64, ndmin=2)
    if a.shape[1] != ncols:
        raise ValueError(f"{str(path)!r} must have {ncols} column(s), got shape {a.shape}")
    return np.ascontiguousarray(a)


def reference_sine(root=None, freq=1):
    """The authors' sine data for ``sin(freq * x)``.

    Parameters
    ----------
    root : str or path-like, optional
        Folder holding ``sine/`` (or the sine folder itself); defaults to the environment
        variable ``PYSPLINET_REFERENCE_DIR``.
    freq : {1, 2, 5}, default 1
        Selects ``xtrain_k{freq}.dat``, ``ytrain_k{freq}.dat`` (training) and
        ``xtest_k{freq}.dat``, ``ytest_k{freq}.dat`` (used as the validation set).

    Returns
    -------
    Dataset
        Regression data, every array with one column.

    Raises
    ------
    DataUnavailableError
        If the folder or the files are missing.
    """
    if isinstance(freq, bool) or not isinstance(freq, (int, np.integer)) \
            or freq not in _SINE_FREQS:
        raise ValueError(f"`freq` must be one of {_SINE_FREQS}, got {freq!r}")
    freq = int(freq)
    folder = case_dir(root, "sine", f"xtrain_k{freq}.dat")

    # read the four files; the authors' "test" files serve as validation set
    arrays = {}
    for split, stem in (("train", "train"), ("val", "test")):
        x = _loadtxt(folder / f"x{stem}_k{freq}.dat", 1)
        y = _loadtxt(folder / f"y{stem}_k{freq}.dat", 1)
        if x.shape != y.shape:
            raise ValueError(
                f"x{stem}_k{freq}.dat has {x.shape[0]} rows, y{stem}_k{freq}.dat {y.shape[0]}"
            )
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, y

    files = [str(folder / f"{v}{s}_k{freq}.dat") for s in ("train", "test") for v in "xy"]
    return Dataset(
        name="reference-sine",
        task="regression",
        n_inputs=1,
        n_outputs=1,
        source="SpliNet reference files: " + ", ".join(files),
        meta={"freq": freq, "files": files},
        **arrays,
    )


def reference_peaks(root=None, seed=0, n_train=1000, n_val=1000):
    """The authors' peaks data, split at random into disjoint training and validation sets.

    Parameters
    ----------
    root : str or path-like, optional
        Folder holding ``peaks/`` (or the peaks folder itself); defaults to the environment
        variable ``PYSPLINET_REFERENCE_DIR``.
    seed : int, default 0
        Seed of the ``np.random.default_rng`` whose permutation of the rows picks the sets.
    n_train, n_val : int, default 1000
        Sizes of the sets; ``n_train + n_val`` may not exceed the number of rows (5000).

    Returns
    -------
    Dataset
        ``x`` of shape ``(n, 2)`` and int64 labels in ``0..4`` (the argmax of the one-hot rows
        of ``labels.dat``).

    Raises
    ------
    DataUnavailableError
        If the folder or the files are missing.
    ValueError
        If the files are inconsistent or the labels are not one-hot.

    Notes
    -----
    The rows of the files are sorted by class, so the sets must be drawn at random; the
    permutation's first ``n_train`` rows train and the next ``n_val`` validate.
    """
    seed = check_seed(seed)
    n_train = check_count("n_train", n_train)
    n_val = check_count("n_val", n_val)
    folder = case_dir(root, "peaks", "features.dat")

    # read and check the files
    features = _loadtxt(folder / "features.dat", 2)
    onehot = np.loadtxt(folder / "labels.dat", dtype=np.float64, ndmin=2)
    if onehot.shape[0] != features.shape[0]:
        raise ValueError(
            f"labels.dat has {onehot.shape[0]} rows but features.dat has {features.shape[0]}"
        )
    if not (np.isin(onehot, (0.0, 1.0)).all() and (onehot.sum(axis=1) == 1.0).all()):
        raise ValueError(f"{str(folder / 'labels.dat')!r} must hold one-hot rows")
    labels = np.argmax(onehot, axis=1).astype(np.int64)
    n_rows, n_classes = onehot.shape
    if n_train + n_val > n_rows:
        raise ValueError(
            f"`n_train` + `n_val` = {n_train + n_val} exceeds the {n_rows} rows of the files"
        )

    # disjoint random subsets
    perm = np.random.default_rng(seed).permutation(n_rows)
    train, val = perm[:n_train], perm[n_train:n_train + n_val]

    files = [str(folder / "features.dat"), str(folder / "labels.dat")]
    return Dataset(
        name="reference-peaks",
        task="classification",
        x_train=np.ascontiguousarray(features[train]),
        y_train=labels[train],
        x_val=np.ascontiguousarray(features[val]),
        y_val=labels[val],
        n_inputs=2,
        n_outputs=n_classes,
        source="SpliNet reference files: " + ", ".join(files),
        meta={"seed": seed, "files": files, "n_rows": n_rows},
    )
