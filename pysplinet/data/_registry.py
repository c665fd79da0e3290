"""Look up a test case by name, for the command line and the studies."""

from __future__ import annotations

import inspect

from ._indian_pines import indian_pines
from ._reference import reference_peaks, reference_sine
from ._synthetic import peaks, sine

__all__ = ["CASES", "load_case"]

_LOADERS = {
    "sine": sine,
    "peaks": peaks,
    "indian-pines": indian_pines,
    "reference-sine": reference_sine,
    "reference-peaks": reference_peaks,
}

#: Names accepted by :func:`load_case`.
CASES = tuple(_LOADERS)


def load_case(name, **options):
    """Load a test case by name.

    Parameters
    ----------
    name : str
        One of ``CASES``: ``"sine"`` (:func:`sine`), ``"peaks"`` (:func:`peaks`),
        ``"indian-pines"`` (:func:`indian_pines`), ``"reference-sine"``
        (:func:`reference_sine`), ``"reference-peaks"`` (:func:`reference_peaks`).
        Underscores are read as hyphens.
    **options
        Keyword arguments of that loader.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        For an unknown name.
    TypeError
        For an option the loader does not take; the message lists the ones it takes.
    """
    key = name.replace("_", "-") if isinstance(name, str) else name
    if key not in _LOADERS:
        raise ValueError(f"`name` must be one of {CASES}, got {name!r}")
    loader = _LOADERS[key]
    accepted = tuple(inspect.signature(loader).parameters)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(
            f"case {key!r} takes the options {accepted}, got unknown option(s) {unknown}"
        )
    return loader(**options)
