"""The Indian Pines hyperspectral scene (paper, section 4.1.3): per-pixel land-cover classes.

Nothing is downloaded. The scene comes from a file or folder the caller names, or else from the
package data of TensorLy (found without importing TensorLy).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import zipfile
from pathlib import Path

import numpy as np

from ._dataset import (
    DataUnavailableError,
    Dataset,
    Scene,
    case_dir,
    check_count,
    check_seed,
)

__all__ = ["indian_pines", "CLASS_NAMES"]

#: Names of the 16 classes, in label order (label ``k`` is ``CLASS_NAMES[k]``).
CLASS_NAMES = (
    "Alfalfa", "Corn-notill", "Corn-mintill", "Corn", "Grass-pasture", "Grass-trees",
    "Grass-pasture-mowed", "Hay-windrowed", "Oats", "Soybean-notill", "Soybean-mintill",
    "Soybean-clean", "Wheat", "Woods", "Buildings-Grass-Trees-Drives", "Stone-Steel-Towers",
)
_N_CLASSES = len(CLASS_NAMES)
_SPLITS = ("random", "reference")

# file names of the GIC/EHU distribution and of TensorLy's copies, with their .mat keys;
# the folder search tries them in this order (the 220-band scene first, as in the paper)
_CUBE_FILES = {
    "Indian_pines.mat": "indian_pines",
    "Indian_pines_corrected.mat": "indian_pines_corrected",
    "Indian_pines_corrected.npy": None,
    "indian_pines.npz": None,
}
_GT_STEM = "Indian_pines_gt"
_GT_KEY = "indian_pines_gt"

_HOW_TO_GET = (
    'install the optional extra with `pip install "pysplinet[indian-pines]"` (the tensorly '
    "wheel ships the 200-band corrected scene), or give the files (`path` in Python, "
    "--data-source on the command line): Indian_pines.mat or "
    "Indian_pines_corrected.mat beside Indian_pines_gt.mat, a folder of those or of "
    "TensorLy's .npy files, or an .npz with arrays 'cube' and 'labels'"
)

# the authors' index maps (1-based; see `indian_pines`)
_IDMAP_GLOBAL = "idmap_color_to_global.dat"
_IDMAP_TRAIN = "idmap_train_to_color.dat"
_IDMAP_VAL = "idmap_val_to_color.dat"


def _tensorly_files():
    """Paths of TensorLy's Indian Pines arrays and TensorLy's version, without importing it."""
    spec = importlib.util.find_spec("tensorly")
    if spec is None or not spec.submodule_search_locations:
        raise DataUnavailableError(f"Indian Pines data not found (tensorly is not installed): "
                                   f"{_HOW_TO_GET}")
    folder = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
    cube = folder / "Indian_pines_corrected.npy"
    gt = folder / f"{_GT_STEM}.npy"
    if not (cube.is_file() and gt.is_file()):
        raise DataUnavailableError(f"Indian Pines data not found in the tensorly package "
                                   f"({folder}): {_HOW_TO_GET}")
    try:
        version = importlib.metadata.version("tensorly")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        version = "(unknown version)"
    return cube, gt, version


def _load_mat(path, key):
    """One array of a MATLAB file: `key`, or the file's only variable."""
    from scipy.io import loadmat

    variables = {k: v for k, v in loadmat(path).items() if not k.startswith("__")}
    if key in variables:
        return variables[key]
    if len(variables) == 1:
        return next(iter(variables.values()))
    raise ValueError(
        f"{str(path)!r} must hold the variable {key!r} (or a single variable), "
        f"got {sorted(variables)}"
    )


def _load_npy(path):
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"`path` {str(path)!r} is not a readable array file: "
                         f"{str(err).splitlines()[0]}") from None


def _read_source(path):
    """Read (cube, labels, source description, file list, extra meta) from a path or TensorLy."""
    if path is None:
        cube_path, gt_path, version = _tensorly_files()
        source = f"tensorly {version} package data: {cube_path}, {gt_path}"
        files = [str(cube_path), str(gt_path)]
        return _load_npy(cube_path), _load_npy(gt_path), source, files, {}
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be a file or folder path, got {type(path).__name__}")
    path = Path(path)
    if path.is_dir():
        found = [path / name for name in _CUBE_FILES if (path / name).is_file()]
        if not found:
            raise DataUnavailableError(
                f"`path` folder {str(path)!r} holds none of {list(_CUBE_FILES)}: {_HOW_TO_GET}"
            )
        path = found[0]
    elif not path.is_file():
        raise DataUnavailableError(f"`path` {str(path)!r} does not exist: {_HOW_TO_GET}")

    suffix = path.suffix.lower()
    if suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as npz:
                missing = {"cube", "labels"} - set(npz.files)
                if missing:
                    raise ValueError(f"`path` {str(path)!r} must hold arrays 'cube' and "
                                     f"'labels', got {npz.files}")
                cube, labels = npz["cube"], npz["labels"]
                extra = {}
                if "band_index_220" in npz.files:
                    extra["band_index_220"] = npz["band_index_220"].tolist()
        except (OSError, EOFError, zipfile.BadZipFile) as err:
            raise ValueError(f"`path` {str(path)!r} is not a readable .npz file: "
                             f"{str(err).splitlines()[0]}") from None
        except ValueError as err:
            if str(err).startswith("`path`"):
                raise
            raise ValueError(f"`path` {str(path)!r} is not a readable .npz file (it holds "
                             f"objects or is damaged; it is never loaded with pickle)") from None
        return cube, labels, f"file {path}", [str(path)], extra
    if suffix not in (".mat", ".npy"):
        raise ValueError(
            f"`path` must be a folder or a .mat, .npy or .npz file, got {str(path)!r}"
        )

    # a cube file with the ground truth beside it
    gt_path = path.with_name(_GT_STEM + suffix)
    if not gt_path.is_file():
        raise DataUnavailableError(
            f"ground truth {str(gt_path)!r} is missing beside `path`: {_HOW_TO_GET}"
        )
    if suffix == ".mat":
        key = _CUBE_FILES.get(path.name, path.stem.lower())
        cube, labels = _load_mat(path, key), _load_mat(gt_path, _GT_KEY)
    else:
        cube, labels = _load_npy(path), _load_npy(gt_path)
    return cube, labels, f"files {path}, {gt_path}", [str(path), str(gt_path)], {}


def _check_scene(cube, labels):
    """Validate the arrays; return the cube as float64 and the labels as int64."""
    cube = np.asarray(cube)
    labels = np.asarray(labels)
    if cube.ndim != 3 or cube.dtype.kind not in "iuf" or 0 in cube.shape:
        raise ValueError(
            f"the Indian Pines cube must be a non-empty 3-D (rows, cols, bands) real array, "
            f"got {cube.dtype} array of shape {cube.shape}"
        )
    if labels.shape != cube.shape[:2]:
        raise ValueError(
            f"the Indian Pines labels must have shape (rows, cols) = {cube.shape[:2]}, got "
            f"{labels.shape}"
        )
    if labels.dtype.kind not in "iuf" or (
        labels.dtype.kind == "f" and not np.array_equal(labels, np.round(labels))
    ):
        raise ValueError(f"the Indian Pines labels must be integers, got {labels.dtype} values")
    if labels.min() < 0 or labels.max() > _N_CLASSES:
        raise ValueError(
            f"the Indian Pines labels must lie in 0..{_N_CLASSES} (0 = unlabelled), got "
            f"{labels.min()}..{labels.max()}"
        )
    cube = np.ascontiguousarray(cube, dtype=np.float64)
    if not np.isfinite(cube).all():
        raise ValueError("the Indian Pines cube holds non-finite values")
    return cube, np.ascontiguousarray(labels, dtype=np.int64)


def _labelled_pixels(labels):
    """Row-major flat indices of the labelled pixels, listed in column-major order."""
    rows, cols = labels.shape
    colmajor = np.flatnonzero(labels.ravel(order="F"))
    return colmajor % rows * cols + colmajor // rows, colmajor


def _load_idmap(path):
    a = np.loadtxt(path, ndmin=1)
    if a.ndim != 1 or not np.array_equal(a, np.round(a)):
        raise ValueError(f"{str(path)!r} must hold one integer per line")
    return a.astype(np.int64)


def _reference_split(folder, colmajor, n_train, n_val):
    """0-based positions (in column-major labelled order) of the authors' train/val pixels."""
    files = [folder / _IDMAP_GLOBAL, folder / _IDMAP_TRAIN, folder / _IDMAP_VAL]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise DataUnavailableError(f"reference index maps missing: {missing}")
    to_global, train, val = (_load_idmap(f) for f in files)
    if not np.array_equal(to_global, colmajor + 1):
        raise ValueError(
            f"{str(files[0])!r} does not list the labelled pixels of this scene (column-major, "
            "1-based): the reference split needs the 145x145 Indian Pines ground truth"
        )
    n = colmajor.size
    for name, idmap, count in (("n_train", train, n_train), ("n_val", val, n_val)):
        if count > idmap.size:
            raise ValueError(
                f"`{name}` must be <= {idmap.size} for split='reference', got {count}"
            )
        if idmap.min() < 1 or idmap.max() > n:
            raise ValueError(f"the reference index map for {name} must lie in 1..{n}")
    train, val = train[:n_train] - 1, val[:n_val] - 1
    if np.intersect1d(train, val).size or np.unique(train).size < train.size \
            or np.unique(val).size < val.size:
        raise ValueError("the reference index maps must select distinct, disjoint pixels")
    return train, val, [str(f) for f in files]


def indian_pines(path=None, seed=0, n_train=4000, n_val=1000, split="random",
                 reference_dir=None, with_scene=False):
    """Per-pixel classification of the Indian Pines scene into 16 land-cover classes.

    Parameters
    ----------
    path : str or path-like, optional
        Where the scene is. One of: ``Indian_pines.mat`` (220 bands, variable
        ``indian_pines``) or ``Indian_pines_corrected.mat`` (200 bands, variable
        ``indian_pines_corrected``) beside ``Indian_pines_gt.mat`` (variable
        ``indian_pines_gt``); ``Indian_pines_corrected.npy`` beside ``Indian_pines_gt.npy``;
        a folder holding one of these (searched in that order, then ``indian_pines.npz``);
        an ``.npz`` file with arrays ``cube`` (rows, cols, bands) and ``labels`` (rows, cols).
        When None, TensorLy's package data (``tensorly/datasets/data/``) is used if TensorLy
        is installed.
    seed : int, default 0
        Seed of the ``np.random.default_rng`` drawing the random split (unused by
        ``split="reference"``).
    n_train, n_val : int, default 4000 and 1000
        Sizes of the training and validation sets.
    split : {"random", "reference"}, default "random"
        ``"random"``: a seeded permutation of the labelled pixels; its first ``n_train``
        entries train, the next ``n_val`` validate. ``"reference"``: the authors' split, the
        first ``n_train`` rows of ``idmap_train_to_color.dat`` and the first ``n_val`` rows of
        ``idmap_val_to_color.dat`` (the authors trained on 4000 and validated on the first
        1000 of 2000).
    reference_dir : str or path-like, optional
        Folder with the authors' index maps (``idmap_color_to_global.dat``,
        ``idmap_train_to_color.dat``, ``idmap_val_to_color.dat``), or its parent holding
        ``indianpines/``. Required by ``split="reference"``; defaults to the environment
        variable ``PYSPLINET_REFERENCE_DIR``.
    with_scene : bool, default False
        Also return the whole standardised scene in ``Dataset.scene`` (a :class:`Scene`,
        about ``rows * cols * bands * 8`` bytes), e.g. to predict a class map.

    Returns
    -------
    Dataset
        ``x`` of shape ``(n, bands)``, standardised per band with the mean and standard
        deviation of ``x_train`` only (``meta["mean"]``, ``meta["std"]``); int64 labels
        ``0..15`` (ground truth ``1..16`` minus one, names in ``CLASS_NAMES``).
        ``meta["n_bands"]`` and ``source`` record what was read.

    Raises
    ------
    DataUnavailableError
        If no source is found; the message says how to get the data.
    ValueError
        For bad arguments or malformed arrays (cube not 3-D, labels not matching its rows and
        columns or outside ``0..16``).

    Notes
    -----
    The labelled pixels are numbered in column-major order of the image, as in the authors'
    index maps (``idmap_color_to_global.dat`` holds their 1-based column-major positions; the
    maps for the training and validation rows point, 1-based, into that list).

    The paper uses the 220-band scene; TensorLy ships only the 200-band corrected scene
    (water-absorption bands removed), so the input dimension follows the source.

    A band that is constant over the training pixels has standard deviation 0; it is only
    centred (divided by 1) and listed in ``meta["constant_bands"]``.
    """
    # arguments first, before any reading
    seed = check_seed(seed)
    n_train = check_count("n_train", n_train)
    n_val = check_count("n_val", n_val)
    if split not in _SPLITS:
        raise ValueError(f"`split` must be one of {_SPLITS}, got {split!r}")
    if not isinstance(with_scene, bool):
        raise ValueError(f"`with_scene` must be a bool, got {with_scene!r}")
    ref_folder = None
    if split == "reference":
        ref_folder = case_dir(reference_dir, "indianpines", _IDMAP_GLOBAL, "reference_dir")

    # read and check the scene
    cube, labels, source, files, meta = _read_source(path)
    cube, labels = _check_scene(cube, labels)
    rows, cols, bands = cube.shape
    pixels = cube.reshape(rows * cols, bands)
    labelled, colmajor = _labelled_pixels(labels)

    # choose the training and validation pixels (positions in the labelled list)
    if split == "random":
        if n_train + n_val > labelled.size:
            raise ValueError(
                f"`n_train` + `n_val` = {n_train + n_val} exceeds the {labelled.size} "
                "labelled pixels"
            )
        perm = np.random.default_rng(seed).permutation(labelled.size)
        train, val = perm[:n_train], perm[n_train:n_train + n_val]
        meta["seed"] = seed
    else:
        train, val, ref_files = _reference_split(ref_folder, colmajor, n_train, n_val)
        meta["reference_files"] = ref_files
    train_index, val_index = labelled[train], labelled[val]

    # standardise with training statistics only
    x_train = pixels[train_index]
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    constant = np.flatnonzero(std == 0.0)
    std[constant] = 1.0
    x_train = np.ascontiguousarray((x_train - mean) / std)
    x_val = np.ascontiguousarray((pixels[val_index] - mean) / std)
    y_flat = labels.ravel() - 1
    y_train, y_val = y_flat[train_index], y_flat[val_index]

    scene = None
    if with_scene:
        scene = Scene(pixels=(pixels - mean) / std, labels=labels - 1, shape=(rows, cols),
                      train_index=train_index, val_index=val_index)
    meta.update({
        "split": split,
        "n_bands": bands,
        "scene_shape": [rows, cols],
        "n_labelled": int(labelled.size),
        "files": files,
        "class_names": list(CLASS_NAMES),
        "train_class_counts": np.bincount(y_train, minlength=_N_CLASSES).tolist(),
        "val_class_counts": np.bincount(y_val, minlength=_N_CLASSES).tolist(),
        "mean": mean.tolist(),
        "std": std.tolist(),
        "constant_bands": constant.tolist(),
    })
    return Dataset(
        name="indian-pines",
        task="classification",
        x_train=x_train,
        y_train=np.ascontiguousarray(y_train),
        x_val=x_val,
        y_val=np.ascontiguousarray(y_val),
        n_inputs=bands,
        n_outputs=_N_CLASSES,
        source=source,
        meta=meta,
        scene=scene,
    )
