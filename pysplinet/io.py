"""Model files: parameter arrays plus JSON, in one ``.npz`` archive, readable without pickle.

File layout (format ``"pysplinet-model"``, version 1); every member is a plain ``.npy`` array:

==================  =========================  ==============================================
member              dtype, shape               contents
==================  =========================  ==============================================
``format``          unicode, ()                the marker ``"pysplinet-model"``
``version``         int64, ()                  file format version, here 1
``config``          uint8, (n,)                UTF-8 JSON object: the network configuration
``metadata``        uint8, (n,)                UTF-8 JSON object: free-form metadata
``param/<name>``    real float, any shape      one entry of the parameter dict each
==================  =========================  ==============================================

:func:`save_model` writes such a file atomically (a temporary file in the same folder, then
:func:`os.replace`), so a reader never sees half a file. :func:`load_model` reads it with
``np.load(..., allow_pickle=False)`` and checks everything it reads; a file that is not a model
file of a supported version raises :class:`ModelFileError` naming the path and the problem.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "ModelFileError",
    "load_model",
    "load_network",
    "save_model",
]

FORMAT_NAME = "pysplinet-model"
FORMAT_VERSION = 1
_SUPPORTED_VERSIONS = (1,)
_PARAM = "param/"
_HEADER = ("format", "version", "config", "metadata")

# What reading a damaged or foreign archive can raise inside zipfile and NumPy.
_READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    KeyError,
    MemoryError,
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
)


class ModelFileError(ValueError):
    """A file is not a readable pysplinet model file.

    Attributes
    ----------
    path : str
        The file that was read.
    problem : str
        What is wrong with it.
    """

    def __init__(self, path: os.PathLike | str, problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def _json_bytes(name: str, value: object) -> np.ndarray:
    """Encode a dict as strict JSON in a uint8 array; a clear error if it cannot be."""
    if not isinstance(value, Mapping):
        hint = (" (a network's configuration is its `.config`)"
                if name == "net_config" and hasattr(value, "config") else "")
        raise TypeError(f"`{name}` must be a dict, got {type(value)!r}{hint}")
    try:
        text = json.dumps(dict(value), allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"`{name}` must be JSON-serialisable (str keys; str, finite numbers, bool, None, "
            f"lists and dicts of these): {exc}"
        ) from None
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy()


def _check_params(params: object) -> None:
    if not isinstance(params, Mapping) or not params:
        raise ValueError(
            f"`params` must be a non-empty dict of str -> float ndarray, got {params!r}"
        )
    for key, value in params.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"`params` keys must be non-empty str, got {key!r}")
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            got = value.dtype if isinstance(value, np.ndarray) else type(value)
            raise TypeError(f"`params[{key!r}]` must be a real floating ndarray, got {got}")
        if not np.isfinite(value).all():
            raise ValueError(f"`params[{key!r}]` holds NaN or infinite values; refusing to save")


def save_model(
    path: os.PathLike | str,
    net_config: Mapping[str, Any],
    params: Mapping[str, np.ndarray],
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write a network configuration, its parameters and metadata to one model file.

    Parameters
    ----------
    path : str or os.PathLike
        Destination, used exactly as given (no suffix is added; ``.npz`` is customary). Its
        folder must exist. An existing file there is replaced atomically.
    net_config : dict
        The network configuration (``net.config``); must be JSON-serialisable.
    params : dict of str -> float ndarray
        The parameters; real floating arrays of any shape (0-d included) with finite values.
        They are stored with their dtype and byte values unchanged.
    metadata : dict, optional
        Free-form JSON-serialisable information (training settings, history, ...).
        ``None`` is stored as ``{}``.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    TypeError, ValueError
        If an argument has the wrong type, a parameter is not finite, or the configuration or
        metadata cannot be written as strict JSON (NaN and infinity are refused). Raised before
        anything is written.
    FileNotFoundError
        If the folder of ``path`` does not exist.

    Notes
    -----
    The configuration and metadata go through JSON: tuples come back as lists.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a str or os.PathLike, got {type(path)!r}")
    path = Path(path)
    config_bytes = _json_bytes("net_config", net_config)
    meta_bytes = _json_bytes("metadata", {} if metadata is None else metadata)
    _check_params(params)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"folder {str(folder)!r} of `path` does not exist")

    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT_NAME),
        "version": np.array(FORMAT_VERSION, dtype=np.int64),
        "config": config_bytes,
        "metadata": meta_bytes,
    }
    for key, value in params.items():
        arrays[_PARAM + key] = value

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates the file readable by its owner only; give it the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _decode_json(path: Path, name: str, value: object) -> dict:
    if not (isinstance(value, np.ndarray) and value.dtype == np.uint8 and value.ndim == 1):
        raise ModelFileError(path, f"member {name!r} is not a 1-d uint8 array of JSON text")

    def no_constants(token: str) -> None:
        raise ValueError(f"non-standard JSON constant {token}")

    try:
        obj = json.loads(value.tobytes().decode("utf-8"), parse_constant=no_constants)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(path, f"member {name!r} is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ModelFileError(path, f"member {name!r} must hold a JSON object, got {type(obj)!r}")
    return obj


def _read_members(path: Path) -> dict[str, object]:
    """Read every member of the archive with NumPy (no pickle); errors become ModelFileError."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except _READ_ERRORS as exc:
        raise ModelFileError(path, f"not an .npz (zip) archive: {exc}") from None
    if len(set(names)) != len(names):
        raise ModelFileError(path, "archive lists the same member more than once")
    if not all(n.endswith(".npy") for n in names):
        odd = sorted(n for n in names if not n.endswith(".npy"))
        raise ModelFileError(path, f"archive holds members that are not .npy arrays: {odd}")

    members: dict[str, object] = {}
    try:
        npz = np.load(path, allow_pickle=False)
    except _READ_ERRORS as exc:
        raise ModelFileError(path, f"unreadable archive: {exc}") from None
    with npz:
        if "format" not in npz.files:
            raise ModelFileError(
                path,
                f"not a pysplinet model file (no {FORMAT_NAME!r} format marker); "
                f"members: {sorted(npz.files)[:10]}",
            )
        for name in ["format"] + [n for n in npz.files if n != "format"]:
            try:
                members[name] = npz[name]
            except _READ_ERRORS as exc:
                # damaged bytes (checksum), truncated data, or an object array (never unpickled)
                raise ModelFileError(
                    path, f"member {name!r} is damaged or not a plain array: {exc}"
                ) from None
            if name == "format" and not _is_marker(members[name]):
                raise ModelFileError(
                    path, f"not a pysplinet model file (format marker is not {FORMAT_NAME!r})"
                )
    return members


def _is_marker(value: object) -> bool:
    return (
        isinstance(value, np.ndarray)
        and value.dtype.kind == "U"
        and value.shape == ()
        and str(value) == FORMAT_NAME
    )


def load_model(path: os.PathLike | str) -> tuple[dict, dict[str, np.ndarray], dict]:
    """Read a model file written by :func:`save_model`.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.

    Returns
    -------
    config : dict
        The network configuration.
    params : dict of str -> float ndarray
        The parameters, bit for bit as saved, in the order they were saved.
    metadata : dict
        The metadata (``{}`` if none was saved).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ModelFileError
        If the file is not a zip archive, is truncated or damaged (a checksum fails), holds
        anything but plain arrays (object arrays are never unpickled), lacks the format marker,
        has an unsupported format version, holds configuration or metadata that is not a JSON
        object, or holds parameters that are not finite real floating arrays. The message names
        the path and the problem.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`path` must be a str or os.PathLike, got {type(path)!r}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model file {str(path)!r} does not exist")
    if not path.is_file():
        raise ModelFileError(path, "not a regular file")

    members = _read_members(path)
    missing = [name for name in _HEADER if name not in members]
    if missing:
        raise ModelFileError(path, f"required members missing: {missing}")
    unknown = sorted(n for n in members if n not in _HEADER and not n.startswith(_PARAM))
    if unknown:
        raise ModelFileError(path, f"unexpected members: {unknown}")

    version = members["version"]
    if not (
        isinstance(version, np.ndarray) and version.shape == () and version.dtype.kind in "iu"
    ):
        raise ModelFileError(path, f"member 'version' is not an integer scalar: {version!r}")
    if int(version) not in _SUPPORTED_VERSIONS:
        newer = " (written by a newer pysplinet)" if int(version) > FORMAT_VERSION else ""
        raise ModelFileError(
            path,
            f"unsupported file format version {int(version)}{newer}; "
            f"this pysplinet reads versions {list(_SUPPORTED_VERSIONS)}",
        )

    config = _decode_json(path, "config", members["config"])
    metadata = _decode_json(path, "metadata", members["metadata"])

    params: dict[str, np.ndarray] = {}
    for name, value in members.items():
        if not name.startswith(_PARAM):
            continue
        key = name[len(_PARAM):]
        if not key:
            raise ModelFileError(path, "a parameter member has an empty name")
        if not (isinstance(value, np.ndarray) and value.dtype.kind == "f"):
            got = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
            raise ModelFileError(path, f"parameter {key!r} is not a real float array ({got})")
        if not np.isfinite(value).all():
            raise ModelFileError(path, f"parameter {key!r} holds NaN or infinite values")
        params[key] = value
    if not params:
        raise ModelFileError(path, "the file holds no parameters")
    return config, params, metadata


def load_network(path: os.PathLike | str) -> tuple[Any, dict[str, np.ndarray], dict]:
    """Read a model file and rebuild its network.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.

    Returns
    -------
    net : network
        ``pysplinet.network_from_config(config)``.
    params : dict of str -> float ndarray
        The saved parameters.
    metadata : dict
        The saved metadata.

    Raises
    ------
    FileNotFoundError, ModelFileError
        As :func:`load_model`; also ModelFileError if the configuration does not describe a
        network, or if the parameter names or shapes do not fit that network.
    """
    from .network import network_from_config

    config, params, metadata = load_model(path)
    try:
        net = network_from_config(config)
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelFileError(
            path, f"the configuration does not describe a network: {exc}"
        ) from None
    expected = net.param_shapes()
    if set(expected) != set(params):
        raise ModelFileError(
            path,
            f"parameter names {sorted(params)} do not fit the network, which has "
            f"{sorted(expected)}",
        )
    for key, shape in expected.items():
        if params[key].shape != tuple(shape):
            raise ModelFileError(
                path,
                f"parameter {key!r} has shape {params[key].shape}, the network needs "
                f"{tuple(shape)}",
            )
    return net, params, metadata
