"""The common return type of the test-case loaders, and shared argument checks."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DataUnavailableError", "Dataset", "Scene", "REFERENCE_DIR_ENV"]

#: Environment variable that may name the folder of the authors' reference files.
REFERENCE_DIR_ENV = "PYSPLINET_REFERENCE_DIR"

_TASKS = ("regression", "classification")


class DataUnavailableError(ValueError):
    """A data source that a loader needs is missing; the message says how to get it."""


@dataclass(frozen=True, eq=False)
class Scene:
    """A whole hyperspectral scene, standardised like the training pixels.

    Attributes
    ----------
    pixels : (rows * cols, bands) float64 ndarray
        Every pixel of the scene (labelled or not) in row-major order, standardised with the
        training mean and standard deviation of the data set it belongs to. Row ``k`` is the
        pixel ``np.unravel_index(k, shape)``, so per-pixel predictions ``pred`` of shape
        ``(rows * cols,)`` become an image with ``pred.reshape(shape)``.
    labels : (rows, cols) int64 ndarray
        Ground truth with classes ``0 .. n_classes - 1`` and ``-1`` for unlabelled pixels.
    shape : tuple of int
        ``(rows, cols)``.
    train_index, val_index : int64 ndarray
        Row-major flat indices into ``pixels`` of the training and validation pixels, in the
        order of ``x_train`` and ``x_val``.
    """

    pixels: np.ndarray
    labels: np.ndarray
    shape: tuple[int, int]
    train_index: np.ndarray
    val_index: np.ndarray

    def __post_init__(self):
        rows, cols = self.shape
        if self.pixels.ndim != 2 or self.pixels.shape[0] != rows * cols:
            raise ValueError(
                f"`pixels` must have shape ({rows * cols}, bands) for a scene of shape "
                f"{self.shape}, got {self.pixels.shape}"
            )
        if self.labels.shape != (rows, cols):
            raise ValueError(f"`labels` must have shape {self.shape}, got {self.labels.shape}")

    def image(self, values):
        """Reshape per-pixel values (one per row of `pixels`) to the scene's ``(rows, cols)``.

        Parameters
        ----------
        values : (rows * cols,) array_like
            For example the predicted class of every pixel.

        Returns
        -------
        (rows, cols) ndarray
        """
        values = np.asarray(values)
        n = self.shape[0] * self.shape[1]
        if values.shape != (n,):
            raise ValueError(f"`values` must have shape ({n},), got {values.shape}")
        return values.reshape(self.shape)


@dataclass(frozen=True, eq=False)
class Dataset:
    """Training and validation data of one test case.

    Attributes
    ----------
    name : str
        Test-case name, e.g. ``"sine"``, ``"peaks"``, ``"indian-pines"``.
    task : {"regression", "classification"}
    x_train : (n_train, n_inputs) float64 ndarray
    y_train : ndarray
        ``(n_train, n_outputs)`` float64 for regression; ``(n_train,)`` int64 class labels in
        ``0 .. n_outputs - 1`` for classification.
    x_val, y_val : ndarray
        The validation set, shaped like the training set.
    n_inputs : int
    n_outputs : int
        Output dimension for regression, number of classes for classification.
    source : str
        Where the data came from: ``"synthetic"`` or the files (and package) read.
    meta : dict
        JSON-serialisable facts about the data (generator settings, thresholds,
        standardisation statistics, ...).
    scene : Scene or None
        The whole standardised image, for loaders of image data that were asked for it.

    Notes
    -----
    All arrays are C-contiguous. The dataclass is frozen, but the arrays themselves are
    writable; treat them as read-only.
    """

    name: str
    task: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    n_inputs: int
    n_outputs: int
    source: str
    meta: dict = field(default_factory=dict)
    scene: Scene | None = None

    def __post_init__(self):
        if self.task not in _TASKS:
            raise ValueError(f"`task` must be one of {_TASKS}, got {self.task!r}")
        for split in ("train", "val"):
            x = getattr(self, f"x_{split}")
            y = getattr(self, f"y_{split}")
            _check_array(f"x_{split}", x, np.float64, 2)
            if x.shape[1] != self.n_inputs:
                raise ValueError(
                    f"`x_{split}` has {x.shape[1]} columns but n_inputs is {self.n_inputs}"
                )
            if self.task == "regression":
                _check_array(f"y_{split}", y, np.float64, 2)
                if y.shape[1] != self.n_outputs:
                    raise ValueError(
                        f"`y_{split}` has {y.shape[1]} columns but n_outputs is "
                        f"{self.n_outputs}"
                    )
            else:
                _check_array(f"y_{split}", y, np.int64, 1)
                if y.size and (y.min() < 0 or y.max() >= self.n_outputs):
                    raise ValueError(
                        f"`y_{split}` labels must lie in 0..{self.n_outputs - 1}, got "
                        f"{y.min()}..{y.max()}"
                    )
            if y.shape[0] != x.shape[0]:
                raise ValueError(
                    f"`x_{split}` has {x.shape[0]} rows but `y_{split}` has {y.shape[0]}"
                )
        try:
            json.dumps(self.meta, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise ValueError(f"`meta` must be JSON-serialisable: {err}") from None

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return self.x_train.shape[0]

    @property
    def n_val(self) -> int:
        """Number of validation samples."""
        return self.x_val.shape[0]

    def info(self) -> dict[str, Any]:
        """Everything but the arrays, as a JSON-serialisable dict."""
        return {
            "name": self.name,
            "task": self.task,
            "n_train": self.n_train,
            "n_val": self.n_val,
            "n_inputs": self.n_inputs,
            "n_outputs": self.n_outputs,
            "source": self.source,
            "meta": self.meta,
        }


def _check_array(name, a, dtype, ndim):
    if not isinstance(a, np.ndarray) or a.dtype != dtype or a.ndim != ndim:
        got = f"{a.dtype} array of shape {a.shape}" if isinstance(a, np.ndarray) else type(a)
        raise ValueError(f"`{name}` must be a {ndim}-D {np.dtype(dtype)} ndarray, got {got}")
    if not a.flags.c_contiguous:
        raise ValueError(f"`{name}` must be C-contiguous")


def check_seed(seed):
    """Return `seed` as an int, or raise if it is not a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_count(name, value, minimum=1):
    """Return `value` as an int, or raise if it is not an integer >= `minimum`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_real(name, value, minimum=None):
    """Return `value` as a float, or raise if it is not a finite real (>= `minimum`)."""
    bound = "" if minimum is None else f" >= {minimum}"
    ok = not isinstance(value, bool) and isinstance(
        value, (int, float, np.integer, np.floating))
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (minimum is None or value >= minimum)
    if not ok:
        raise ValueError(f"`{name}` must be a finite real number{bound}, got {value!r}")
    return value


def reference_root(root, argname="root"):
    """The folder of the authors' reference files: `root`, else the environment variable.

    Raises
    ------
    DataUnavailableError
        If neither is given, or the folder does not exist.
    """
    if root is None:
        root = os.environ.get(REFERENCE_DIR_ENV) or None
        if root is None:
            raise DataUnavailableError(
                f"`{argname}` is required: pass the folder of the SpliNet reference files "
                f"(with sine/, peaks/, indianpines/) or set {REFERENCE_DIR_ENV}"
            )
    if not isinstance(root, (str, os.PathLike)):
        raise ValueError(f"`{argname}` must be a path, got {type(root).__name__}")
    root = Path(root)
    if not root.is_dir():
        raise DataUnavailableError(f"`{argname}` is not an existing folder: {str(root)!r}")
    return root


def case_dir(root, sub, probe, argname="root"):
    """The folder holding the files of one reference case.

    Accepts either the common parent folder (``root/sub/probe`` exists) or the case folder
    itself (``root/probe`` exists).
    """
    root = reference_root(root, argname)
    for folder in (root / sub, root):
        if (folder / probe).is_file():
            return folder
    raise DataUnavailableError(
        f"`{argname}`={str(root)!r} holds neither {sub}/{probe} nor {probe}"
    )
