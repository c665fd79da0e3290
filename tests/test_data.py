"""Tests of pysplinet.data: synthetic cases, the authors' reference files, Indian Pines."""

import importlib.util
import json
import sys

import numpy as np
import pytest
from scipy.io import savemat

import pysplinet.data as data
from pysplinet.data import _indian_pines
from _shared import SHARED_DATA

SHARED = SHARED_DATA
REFERENCE = SHARED / "splinet_reference"
PINES_NPZ = SHARED / "indian_pines" / "indian_pines.npz"

# pixel counts of ground-truth values 0..16 (published GIC class table)
PINES_COUNTS = [10776, 46, 1428, 830, 237, 483, 730, 28, 478, 20, 972, 2455, 593, 205, 1265,
                386, 93]


def needs(path):
    return pytest.mark.skipif(not path.exists(), reason=f"optional data {path} is absent")


@pytest.fixture(autouse=True)
def _no_reference_env(monkeypatch):
    monkeypatch.delenv(data.REFERENCE_DIR_ENV, raising=False)


def assert_layout(ds):
    """Dtypes, shapes and contiguity every Dataset must have."""
    for x in (ds.x_train, ds.x_val):
        assert x.dtype == np.float64 and x.flags.c_contiguous
        assert x.ndim == 2 and x.shape[1] == ds.n_inputs
    for y, x in ((ds.y_train, ds.x_train), (ds.y_val, ds.x_val)):
        assert y.flags.c_contiguous and y.shape[0] == x.shape[0]
        if ds.task == "regression":
            assert y.dtype == np.float64 and y.shape == (x.shape[0], ds.n_outputs)
        else:
            assert y.dtype == np.int64 and y.ndim == 1
            assert 0 <= y.min() and y.max() < ds.n_outputs
    json.dumps(ds.info(), allow_nan=False)


def same_bits(a, b):
    return all(np.array_equal(getattr(a, k), getattr(b, k))
               for k in ("x_train", "y_train", "x_val", "y_val"))


# ---------------------------------------------------------------------------------------------
# Dataset


def test_dataset_rejects_bad_arrays():
    x = np.zeros((3, 2))
    good = dict(name="t", task="classification", x_train=x, y_train=np.zeros(3, np.int64),
                x_val=x, y_val=np.zeros(3, np.int64), n_inputs=2, n_outputs=2, source="s")
    data.Dataset(**good)
    bad = [
        ({"task": "ranking"}, "task"),
        ({"x_train": x.astype(np.float32)}, "x_train"),
        ({"x_val": np.asfortranarray(np.zeros((3, 2)))}, "C-contiguous"),
        ({"y_train": np.array([0, 1, 2])}, "0..1"),
        ({"y_val": np.zeros(3)}, "y_val"),
        ({"y_val": np.zeros(2, np.int64)}, "rows"),
        ({"n_inputs": 3}, "n_inputs"),
        ({"meta": {"a": np.zeros(2)}}, "JSON"),
    ]
    for change, match in bad:
        with pytest.raises(ValueError, match=match):
            data.Dataset(**{**good, **change})


# ---------------------------------------------------------------------------------------------
# sine


@pytest.mark.parametrize("freq, n", [(1, 20), (2, 40), (5, 100), (1.5, 30), (2.46, 49)])
def test_sine_grid(freq, n):
    ds = data.sine(freq)
    assert_layout(ds)
    assert ds.task == "regression" and ds.source == "synthetic"
    assert ds.n_train == n and ds.n_val == 20
    x = ds.x_train[:, 0]
    assert x[0] == -np.pi and x[-1] == np.pi
    np.testing.assert_allclose(np.diff(x), 2 * np.pi / (n - 1), rtol=1e-12)
    assert np.array_equal(ds.y_train[:, 0], np.sin(freq * x))
    assert np.array_equal(ds.y_val[:, 0], np.sin(freq * ds.x_val[:, 0]))
    assert np.all(np.abs(ds.x_val) <= np.pi)
    assert ds.meta["freq"] == freq


def test_sine_amplitude_and_n_val():
    ds = data.sine(2, n_val=7, amplitude=10.0)
    assert ds.n_val == 7
    assert np.array_equal(ds.y_train, 10.0 * np.sin(2 * ds.x_train))


def test_sine_seed():
    a, b, c = data.sine(2, seed=3), data.sine(2, seed=3), data.sine(2, seed=4)
    assert same_bits(a, b)
    assert np.array_equal(a.x_train, c.x_train)
    assert not np.array_equal(a.x_val, c.x_val)


@pytest.mark.parametrize("kwargs, match", [
    ({"freq": 0.5}, "freq"), ({"freq": np.nan}, "freq"), ({"freq": "2"}, "freq"),
    ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"), ({"seed": True}, "seed"),
    ({"n_val": 0}, "n_val"), ({"amplitude": np.inf}, "amplitude"),
])
def test_sine_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.sine(**kwargs)


# ---------------------------------------------------------------------------------------------
# peaks


def test_peaks_function_value():
    # peaks(0, 0) = 3 e^-1 - e^-1 / 3
    assert data.peaks_function(0.0, 0.0) == pytest.approx(8 / 3 * np.exp(-1.0), rel=1e-15)


def test_peaks_layout_and_classes():
    ds = data.peaks(seed=1, n_train=300, n_val=200)
    assert_layout(ds)
    assert (ds.n_train, ds.n_val, ds.n_inputs, ds.n_outputs) == (300, 200, 2, 5)
    t = np.array(ds.meta["thresholds"])
    assert np.array_equal(t, data.peaks_thresholds()) and np.all(np.diff(t) > 0)
    edges = np.concatenate([[-np.inf], t, [np.inf]])
    for x, y in ((ds.x_train, ds.y_train), (ds.x_val, ds.y_val)):
        assert np.all(np.abs(x) <= 3.0)
        f = data.peaks_function(x[:, 0], x[:, 1])
        assert np.all((edges[y] <= f) & (f < edges[y + 1]))


def test_peaks_balanced():
    ds = data.peaks(seed=0, n_train=1000, n_val=1003)
    assert np.array_equal(np.bincount(ds.y_train, minlength=5), [200] * 5)
    assert np.array_equal(np.bincount(ds.y_val, minlength=5), [201, 201, 201, 200, 200])


def test_peaks_thresholds_are_equal_width_level_sets():
    # five equal intervals of the function's range on the square, as in the authors' file
    g = np.linspace(-3, 3, 1001)
    f = data.peaks_function(g[:, None], g[None, :])
    lo, hi = f.min(), f.max()
    np.testing.assert_allclose(data.peaks_thresholds(), lo + (hi - lo) * np.arange(1, 5) / 5,
                               rtol=1e-14)
    np.testing.assert_allclose(data.peaks_thresholds(), [-3.62, -0.69, 2.24, 5.17], atol=0.01)


def test_peaks_points_are_uniform_within_a_class():
    # the largest class fills most of the square; its points spread over all four quadrants
    ds = data.peaks(seed=3, n_train=2000, n_val=5)
    x = ds.x_train[ds.y_train == 2]
    quadrants = np.bincount(2 * (x[:, 0] > 0) + (x[:, 1] > 0), minlength=4) / len(x)
    assert quadrants.min() > 0.15


def test_peaks_seed():
    a, b, c = data.peaks(seed=5), data.peaks(seed=5), data.peaks(seed=6)
    assert same_bits(a, b)
    assert not np.array_equal(a.x_train, c.x_train)
    assert a.meta["thresholds"] == c.meta["thresholds"]


@pytest.mark.parametrize("kwargs", [{"n_train": 0}, {"n_val": -2}, {"seed": "0"}])
def test_peaks_bad_input(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        data.peaks(**kwargs)


# ---------------------------------------------------------------------------------------------
# the authors' reference files


@needs(REFERENCE)
@pytest.mark.parametrize("freq, n", [(1, 20), (2, 40), (5, 200)])
def test_reference_sine(freq, n):
    ds = data.reference_sine(REFERENCE, freq)
    assert_layout(ds)
    assert ds.n_train == n and ds.n_val == 20
    x = ds.x_train[:, 0]
    np.testing.assert_allclose(x, np.linspace(-np.pi, np.pi, n), rtol=0, atol=1e-14)
    np.testing.assert_allclose(ds.y_train[:, 0], np.sin(freq * x), rtol=0, atol=1e-14)
    np.testing.assert_allclose(ds.y_val[:, 0], np.sin(freq * ds.x_val[:, 0]), rtol=0,
                               atol=1e-14)
    assert str(REFERENCE / "sine") in ds.source


@needs(REFERENCE)
def test_reference_roots(monkeypatch):
    a = data.reference_sine(REFERENCE / "sine", 2)
    monkeypatch.setenv(data.REFERENCE_DIR_ENV, str(REFERENCE))
    b = data.reference_sine(freq=2)
    assert same_bits(a, b)
    assert same_bits(data.reference_peaks(), data.reference_peaks(REFERENCE / "peaks"))


def test_reference_missing(tmp_path):
    with pytest.raises(data.DataUnavailableError, match=data.REFERENCE_DIR_ENV):
        data.reference_sine(None, 1)
    with pytest.raises(data.DataUnavailableError, match="xtrain_k1"):
        data.reference_sine(tmp_path, 1)
    with pytest.raises(data.DataUnavailableError, match="existing folder"):
        data.reference_peaks(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="freq"):
        data.reference_sine(tmp_path, 3)


@needs(REFERENCE)
def test_reference_peaks():
    features = np.loadtxt(REFERENCE / "peaks" / "features.dat")
    ds = data.reference_peaks(REFERENCE, seed=2, n_train=4000, n_val=1000)
    assert_layout(ds)
    assert (ds.n_train, ds.n_val, ds.n_outputs) == (4000, 1000, 5)
    # all 5000 rows used once: train and val are disjoint
    both = np.concatenate([ds.x_train, ds.x_val])
    assert np.array_equal(np.unique(both, axis=0, return_counts=True)[1],
                          np.unique(features, axis=0, return_counts=True)[1])
    y = np.concatenate([ds.y_train, ds.y_val])
    assert np.array_equal(np.bincount(y), [1000] * 5)
    # the authors' classes are ordered level sets of the peaks function
    f = data.peaks_function(both[:, 0], both[:, 1])
    for k in range(4):
        assert f[y == k].max() < f[y == k + 1].min()


@needs(REFERENCE)
def test_reference_peaks_seed_and_sizes():
    a, b = data.reference_peaks(REFERENCE, seed=1), data.reference_peaks(REFERENCE, seed=1)
    c = data.reference_peaks(REFERENCE, seed=2)
    assert same_bits(a, b) and not np.array_equal(a.x_train, c.x_train)
    with pytest.raises(ValueError, match="exceeds"):
        data.reference_peaks(REFERENCE, n_train=4500, n_val=501)


def test_reference_peaks_not_onehot(tmp_path):
    rng = np.random.default_rng(0)
    np.savetxt(tmp_path / "features.dat", rng.uniform(size=(10, 2)))
    labels = np.eye(5)[rng.integers(0, 5, 10)]
    labels[3, 1] = 0.5
    np.savetxt(tmp_path / "labels.dat", labels)
    with pytest.raises(ValueError, match="one-hot"):
        data.reference_peaks(tmp_path, n_train=5, n_val=5)
    np.savetxt(tmp_path / "labels.dat", labels[:9])
    with pytest.raises(ValueError, match="rows"):
        data.reference_peaks(tmp_path, n_train=5, n_val=4)


# ---------------------------------------------------------------------------------------------
# Indian Pines: small scenes written to tmp_path


def small_scene(rows=6, cols=5, bands=4, seed=0):
    rng = np.random.default_rng(seed)
    cube = rng.integers(900, 9000, size=(rows, cols, bands)).astype(np.uint16)
    labels = rng.integers(0, 17, size=(rows, cols)).astype(np.uint8)
    labels[0, 0] = 0
    return cube, labels


def check_against_scene(ds, cube, labels):
    """x and y of `ds` are standardised cube pixels and shifted labels of the scene."""
    sc = ds.scene
    rows, cols, bands = cube.shape
    for x, y, idx in ((ds.x_train, ds.y_train, sc.train_index),
                      (ds.x_val, ds.y_val, sc.val_index)):
        r, c = np.unravel_index(idx, (rows, cols))
        np.testing.assert_allclose(x * ds.meta["std"] + np.array(ds.meta["mean"]), cube[r, c],
                                   rtol=1e-12)
        assert np.array_equal(y, labels[r, c].astype(np.int64) - 1)
        assert np.all(labels[r, c] > 0)
        assert np.array_equal(sc.pixels[idx], x)


def test_pines_mat_files(tmp_path):
    cube, labels = small_scene()
    savemat(tmp_path / "Indian_pines_corrected.mat", {"indian_pines_corrected": cube})
    savemat(tmp_path / "Indian_pines_gt.mat", {"indian_pines_gt": labels})
    n_lab = int((labels > 0).sum())
    ds = data.indian_pines(tmp_path / "Indian_pines_corrected.mat", n_train=10, n_val=5,
                           with_scene=True)
    assert_layout(ds)
    assert (ds.n_train, ds.n_val, ds.n_inputs, ds.n_outputs) == (10, 5, 4, 16)
    assert ds.meta["n_bands"] == 4 and ds.meta["n_labelled"] == n_lab
    assert "Indian_pines_corrected.mat" in ds.source and "Indian_pines_gt.mat" in ds.source
    check_against_scene(ds, cube, labels)
    assert np.array_equal(ds.scene.labels, labels.astype(np.int64) - 1)
    assert ds.scene.image(np.arange(30)).shape == (6, 5)

    # the 220-band file is preferred in a folder; unknown variable names fall back to the
    # file's only variable
    cube220, _ = small_scene(bands=7, seed=1)
    savemat(tmp_path / "Indian_pines.mat", {"some_name": cube220})
    ds = data.indian_pines(tmp_path, n_train=10, n_val=5)
    assert ds.n_inputs == 7 and "Indian_pines.mat" in ds.source


def test_pines_npy_and_npz(tmp_path):
    cube, labels = small_scene()
    np.save(tmp_path / "Indian_pines_corrected.npy", cube)
    np.save(tmp_path / "Indian_pines_gt.npy", labels)
    np.savez(tmp_path / "scene.npz", cube=cube, labels=labels)
    a = data.indian_pines(tmp_path, n_train=8, n_val=4, seed=3)
    b = data.indian_pines(tmp_path / "scene.npz", n_train=8, n_val=4, seed=3, with_scene=True)
    assert same_bits(a, b)
    check_against_scene(b, cube, labels)
    assert b.scene is not None and a.scene is None


def test_pines_constant_band(tmp_path):
    cube, labels = small_scene()
    cube[:, :, 2] = 1234
    np.savez(tmp_path / "scene.npz", cube=cube, labels=labels)
    ds = data.indian_pines(tmp_path / "scene.npz", n_train=8, n_val=4)
    assert ds.meta["constant_bands"] == [2] and ds.meta["std"][2] == 1.0
    assert np.all(ds.x_train[:, 2] == 0.0) and np.all(np.isfinite(ds.x_val))


@pytest.mark.parametrize("change, match", [
    (lambda c, lab: (c[:, :, 0], lab), "3-D"),
    (lambda c, lab: (c, lab[:-1]), "shape"),
    (lambda c, lab: (c, np.where(lab == 3, 17, lab)), "0..16"),
    (lambda c, lab: (c, lab.astype(np.int16) - 1), "0..16"),
    (lambda c, lab: (c, lab + 0.5), "integers"),
    (lambda c, lab: (c.astype(np.complex128), lab), "real"),
    (lambda c, lab: (np.where(c > 5000, np.nan, c), lab), "non-finite"),
])
def test_pines_bad_arrays(tmp_path, change, match):
    cube, labels = change(*small_scene())
    np.savez(tmp_path / "scene.npz", cube=cube, labels=labels)
    with pytest.raises(ValueError, match=match):
        data.indian_pines(tmp_path / "scene.npz", n_train=2, n_val=2)


def test_pines_bad_sources(tmp_path):
    cube, labels = small_scene()
    np.savez(tmp_path / "wrong.npz", data=cube, labels=labels)
    with pytest.raises(ValueError, match="'cube' and 'labels'"):
        data.indian_pines(tmp_path / "wrong.npz")
    np.save(tmp_path / "Indian_pines_corrected.npy", cube)
    with pytest.raises(data.DataUnavailableError, match="Indian_pines_gt.npy"):
        data.indian_pines(tmp_path / "Indian_pines_corrected.npy")
    (tmp_path / "scene.txt").write_text("1 2 3")
    with pytest.raises(ValueError, match=r"\.mat, \.npy or \.npz"):
        data.indian_pines(tmp_path / "scene.txt")
    with pytest.raises(data.DataUnavailableError, match="does not exist"):
        data.indian_pines(tmp_path / "missing.mat")
    (tmp_path / "empty").mkdir()
    with pytest.raises(data.DataUnavailableError, match="holds none"):
        data.indian_pines(tmp_path / "empty")
    with pytest.raises(ValueError, match="path"):
        data.indian_pines(3)


@pytest.mark.parametrize("kwargs, match", [
    ({"split": "stratified"}, "split"), ({"n_train": 0}, "n_train"), ({"seed": -3}, "seed"),
    ({"with_scene": 1}, "with_scene"), ({"n_train": 25, "n_val": 10}, "exceeds"),
])
def test_pines_bad_arguments(tmp_path, kwargs, match):
    cube, labels = small_scene()
    np.savez(tmp_path / "scene.npz", cube=cube, labels=labels)
    with pytest.raises(ValueError, match=match):
        data.indian_pines(tmp_path / "scene.npz", **kwargs)


def test_pines_missing_source_message(monkeypatch):
    monkeypatch.setattr(_indian_pines.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(data.DataUnavailableError) as info:
        data.indian_pines()
    message = str(info.value)
    assert "\n" not in message
    assert 'pip install "pysplinet[indian-pines]"' in message and "path" in message


def test_pines_reference_needs_dir(tmp_path):
    with pytest.raises(data.DataUnavailableError, match="reference_dir"):
        data.indian_pines(tmp_path, split="reference")


@needs(REFERENCE)
def test_pines_reference_on_wrong_scene(tmp_path):
    cube, labels = small_scene()
    np.savez(tmp_path / "scene.npz", cube=cube, labels=labels)
    with pytest.raises(ValueError, match="145x145"):
        data.indian_pines(tmp_path / "scene.npz", split="reference", reference_dir=REFERENCE,
                          n_train=3, n_val=3)


# ---------------------------------------------------------------------------------------------
# Indian Pines: the real scene


@pytest.fixture(scope="module")
def pines():
    if not PINES_NPZ.exists():
        pytest.skip(f"optional data {PINES_NPZ} is absent")
    with np.load(PINES_NPZ, allow_pickle=False) as npz:
        return npz["cube"], npz["labels"]


def test_pines_random_split(pines):
    cube, labels = pines
    ds = data.indian_pines(PINES_NPZ, seed=0, with_scene=True)
    assert_layout(ds)
    assert (ds.n_train, ds.n_val, ds.n_inputs, ds.n_outputs) == (4000, 1000, 200, 16)
    assert ds.meta["n_bands"] == 200 and ds.meta["n_labelled"] == 10249
    assert ds.meta["band_index_220"][:3] == [0, 1, 2] and str(PINES_NPZ) in ds.source
    assert np.array_equal(np.bincount(ds.scene.labels.ravel() + 1), PINES_COUNTS)
    check_against_scene(ds, cube, labels)
    sc = ds.scene
    assert np.intersect1d(sc.train_index, sc.val_index).size == 0
    assert np.unique(sc.train_index).size == 4000
    assert sum(ds.meta["train_class_counts"]) == 4000

    # standardised with the training pixels only
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(ds.x_train.std(axis=0), 1.0, rtol=1e-12)
    assert np.abs(ds.x_val.mean(axis=0)).max() > 1e-3
    r, c = np.unravel_index(sc.train_index, labels.shape)
    np.testing.assert_allclose(ds.meta["mean"], cube[r, c].mean(axis=0), rtol=1e-13)
    lab = cube[labels > 0].astype(np.float64)
    assert not np.allclose(ds.meta["mean"], lab.mean(axis=0), rtol=1e-6)


def test_pines_seed(pines):
    a = data.indian_pines(PINES_NPZ, seed=4, n_train=500, n_val=300)
    b = data.indian_pines(PINES_NPZ, seed=4, n_train=500, n_val=300)
    c = data.indian_pines(PINES_NPZ, seed=5, n_train=500, n_val=300)
    assert same_bits(a, b) and not np.array_equal(a.y_train, c.y_train)


@needs(REFERENCE)
def test_pines_reference_split(pines):
    cube, labels = pines
    ref = REFERENCE / "indianpines"
    ds = data.indian_pines(PINES_NPZ, split="reference", reference_dir=REFERENCE, n_val=2000,
                           with_scene=True)
    assert (ds.n_train, ds.n_val) == (4000, 2000)
    check_against_scene(ds, cube, labels)
    # rebuild the authors' pixels: 1-based column-major positions of 1-based colour rows
    to_global = np.loadtxt(ref / "idmap_color_to_global.dat").astype(np.int64)
    for name, idx in (("train", ds.scene.train_index), ("val", ds.scene.val_index)):
        rows = np.loadtxt(ref / f"idmap_{name}_to_color.dat").astype(np.int64)
        c, r = np.divmod(to_global[rows - 1] - 1, labels.shape[0])
        assert np.array_equal(np.unravel_index(idx, labels.shape), (r, c))
    # the default keeps the first 1000 validation rows, like the authors' script
    short = data.indian_pines(PINES_NPZ, split="reference", reference_dir=ref)
    assert np.array_equal(short.x_train, ds.x_train)
    assert np.array_equal(short.x_val, ds.x_val[:1000])
    assert np.array_equal(short.y_val, ds.y_val[:1000])
    with pytest.raises(ValueError, match="n_val"):
        data.indian_pines(PINES_NPZ, split="reference", reference_dir=REFERENCE, n_val=2001)


@pytest.mark.skipif(importlib.util.find_spec("tensorly") is None,
                    reason="optional package tensorly is not installed")
def test_pines_from_tensorly(pines):
    imported = "tensorly" in sys.modules
    ds = data.indian_pines(seed=1, n_train=300, n_val=100)
    assert ds.source.startswith("tensorly ") and "Indian_pines_corrected.npy" in ds.source
    assert same_bits(ds, data.indian_pines(PINES_NPZ, seed=1, n_train=300, n_val=100))
    assert ("tensorly" in sys.modules) == imported


# ---------------------------------------------------------------------------------------------
# registry


def test_load_case(tmp_path):
    assert same_bits(data.load_case("sine", freq=2, seed=1), data.sine(2, seed=1))
    assert same_bits(data.load_case("peaks", n_train=10), data.peaks(n_train=10))
    cube, labels = small_scene()
    np.savez(tmp_path / "s.npz", cube=cube, labels=labels)
    ds = data.load_case("indian_pines", path=tmp_path / "s.npz", n_train=5, n_val=5)
    assert ds.name == "indian-pines"
    assert set(data.CASES) >= {"sine", "peaks", "indian-pines"}
    with pytest.raises(ValueError, match="indian-pines"):
        data.load_case("mnist")
    with pytest.raises(TypeError, match="freq"):
        data.load_case("sine", frequency=2)
