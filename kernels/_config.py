"""Compilation settings shared by every kernel.

``cache=True`` stores compiled machine code beside the sources (or, where the package
directory is read-only, in Numba's user-wide cache directory), so a second process starts
without recompiling. No fastmath: the kernels must agree with the NumPy reference to
round-off and give the same bits on every run.
"""

import os
import tempfile

import numba

__all__ = ["JIT"]


def _cache_usable():
    """Whether Numba will find somewhere to write its cache.

    Numba raises at decoration time when neither the package directory nor a user cache
    directory is writable (a read-only install with ``HOME`` unset, say). In that case
    point it at a private temporary directory, which keeps caching within the process and
    leaves results unchanged.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    if os.access(here, os.W_OK) or os.environ.get("NUMBA_CACHE_DIR"):
        return True
    home = os.environ.get("HOME")
    if home and os.access(home, os.W_OK):
        return True
    numba.config.CACHE_DIR = tempfile.mkdtemp(prefix="pysplinet-numba-")
    return True


_cache_usable()
JIT = dict(cache=True, nogil=True)
