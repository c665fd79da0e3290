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


def _drop_stale_cache():
    """Remove cached machine code compiled from other versions of the kernel sources.

    Numba checks only the file that defines a cached function, so a change to a helper in
    another kernel module would leave stale code in the cache. A stamp of all kernel
    sources (and the Numba version) beside the cache detects that; on a mismatch the
    kernels' cache files are removed and rebuilt. Where the directory is read-only
    nothing is removed: such an install never changes its sources in place.
    """
    import glob
    import hashlib

    here = os.path.dirname(os.path.abspath(__file__))
    digest = hashlib.sha256(numba.__version__.encode())
    for path in sorted(glob.glob(os.path.join(here, "*.py"))):
        with open(path, "rb") as f:
            digest.update(f.read())
    cache = os.path.join(here, "__pycache__")
    stamp = os.path.join(cache, "pysplinet-kernels.stamp")
    try:
        with open(stamp) as f:
            if f.read() == digest.hexdigest():
                return
    except OSError:
        pass
    try:
        for path in glob.glob(os.path.join(cache, "*.nb[ic]")):
            os.remove(path)
        os.makedirs(cache, exist_ok=True)
        with open(stamp, "w") as f:
            f.write(digest.hexdigest())
    except OSError:
        pass


_drop_stale_cache()
