"""Test-case data of the paper: sin(f x), peaks, Indian Pines, and the authors' files.

Every loader returns a :class:`Dataset` with float64 inputs and either float64 targets
(regression) or int64 class labels (classification); :func:`load_case` picks a loader by name.
"""

from ._dataset import REFERENCE_DIR_ENV, DataUnavailableError, Dataset, Scene
from ._indian_pines import CLASS_NAMES as INDIAN_PINES_CLASSES
from ._indian_pines import indian_pines
from ._reference import reference_peaks, reference_sine
from ._registry import CASES, load_case
from ._synthetic import PEAKS_GRID_SIZE, peaks, peaks_function, peaks_thresholds, sine

__all__ = [
    "CASES",
    "DataUnavailableError",
    "Dataset",
    "INDIAN_PINES_CLASSES",
    "PEAKS_GRID_SIZE",
    "REFERENCE_DIR_ENV",
    "Scene",
    "indian_pines",
    "load_case",
    "peaks",
    "peaks_function",
    "peaks_thresholds",
    "reference_peaks",
    "reference_sine",
    "sine",
]
