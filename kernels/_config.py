"""Compilation settings shared by every kernel, and where their compiled code is cached.

``cache=True`` keeps compiled machine code on disk, so a second process starts without
recompiling. No fastmath: the kernels must agree with the NumPy reference to round-off and
give the same bits on every run.

Numba decides whether a cached function is fresh by looking only at the file that defines
it, while the kernels call into each other's modules: an edit of a helper in one file would
leave stale code cached for its callers in another, and two processes started from
different versions of the sources could overwrite each other's entries. So the kernels
cache in a directory of their own named after a digest of all kernel sources and the
Numba version: any change of any kernel file selects a fresh directory, and equal sources
share one. The directory is inside ``NUMBA_CACHE_DIR`` when that is set, otherwise
``__pycache__/numba-<digest>`` beside the kernels when that is writable, else
``pysplinet/numba-<digest>`` in the user's cache directory, else a private
temporary directory (a read-only install with ``HOME`` unset still runs, compiling once
per process).
"""

import glob
import hashlib
import os
import shutil
import tempfile

import numba
from numba.core import caching

__all__ = ["JIT", "INLINE", "CACHE_DIR"]

_HERE = os.path.dirname(os.path.abspath(__file__))


def _source_digest():
    # the sources, the Numba version and the settings that change the generated code
    settings = f"{numba.__version__} boundscheck={numba.config.BOUNDSCHECK}"
    digest = hashlib.sha256(settings.encode())
    for path in sorted(glob.glob(os.path.join(_HERE, "*.py"))):
        with open(path, "rb") as f:
            digest.update(os.path.basename(path).encode() + b"\0" + f.read())
    return digest.hexdigest()[:20]


def _writable_dir(path):
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return False
    return True


def _choose_cache_dir(digest):
    name = f"numba-{digest}"
    if os.environ.get("NUMBA_CACHE_DIR"):
        chosen = os.path.join(os.environ["NUMBA_CACHE_DIR"], f"pysplinet-{name}")
        if _writable_dir(chosen):
            return chosen
    in_tree = os.path.join(_HERE, "__pycache__")
    if _writable_dir(os.path.join(in_tree, name)):
        # drop the directories of earlier versions of the sources
        for old in glob.glob(os.path.join(in_tree, "numba-*")):
            if os.path.basename(old) != name:
                shutil.rmtree(old, ignore_errors=True)
        return os.path.join(in_tree, name)
    base = os.environ.get("XDG_CACHE_HOME") or (
        os.path.join(os.environ["HOME"], ".cache") if os.environ.get("HOME") else None)
    if base and _writable_dir(os.path.join(base, "pysplinet", name)):
        return os.path.join(base, "pysplinet", name)
    return tempfile.mkdtemp(prefix=f"pysplinet-{name}-")


_DIGEST = _source_digest()
CACHE_DIR = _choose_cache_dir(_DIGEST)


class _KernelCacheLocator(caching._CacheLocator):
    """Caches the functions of this package's kernel modules in :data:`CACHE_DIR`."""

    def __init__(self, py_func, py_file):
        self._lineno = py_func.__code__.co_firstlineno
        self._path = CACHE_DIR

    def get_cache_path(self):
        return self._path

    def get_source_stamp(self):
        return _DIGEST

    def get_disambiguator(self):
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):
        if os.path.dirname(os.path.abspath(py_file)) != _HERE:
            return None                 # not a kernel of this package: Numba's own rules
        self = cls(py_func, py_file)
        try:
            self.ensure_cache_path()
        except OSError:
            return None
        return self


if _KernelCacheLocator not in caching.CacheImpl._locator_classes:
    caching.CacheImpl._locator_classes.insert(0, _KernelCacheLocator)

# error_model="numpy": a float division by zero gives inf or NaN instead of raising, which
# removes a branch from every division and lets the compiler vectorise the loops.
JIT = dict(cache=True, nogil=True, error_model="numpy")

# The helpers the sweeps call once or more per layer (operators, activations, gathers,
# copies) are inlined into their callers by Numba itself: a call per layer costs as much
# as a narrow layer's arithmetic, and inlined, a width compiled into the caller reaches
# the helper's loops. (Left to LLVM, the helpers often stay calls.)
INLINE = dict(JIT, inline="always")
