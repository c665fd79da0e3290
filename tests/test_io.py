"""Tests for pysplinet.io: model files."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

from pysplinet.io import FORMAT_NAME, FORMAT_VERSION, ModelFileError, load_model, save_model

CONFIG = {"kind": "SpliNet", "width": 4, "n_layers": 20, "activation": "tanh", "final_time": 1.0}


def _params(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "W": rng.standard_normal((5, 4, 4)),
        "b": rng.standard_normal((5, 4)),
        "lam": np.array(0.7315),
        "opening.W": rng.standard_normal((1, 4)),
        "closing.b": np.array([np.nextafter(0.0, 1.0), -0.0]),  # a subnormal and a signed zero
    }


def _members(**override):
    """The members of a valid file, as np.savez arguments, with some replaced or dropped."""
    members = {
        "format": np.array(FORMAT_NAME),
        "version": np.array(FORMAT_VERSION, dtype=np.int64),
        "config": np.frombuffer(json.dumps(CONFIG).encode(), dtype=np.uint8),
        "metadata": np.frombuffer(b"{}", dtype=np.uint8),
        "param/W": np.ones((2, 2)),
    }
    for key, value in override.items():
        key = key.replace("__", "/")
        if value is None:
            members.pop(key)
        else:
            members[key] = value
    return members


def _write(path, **override):
    np.savez(path, **_members(**override))  # np.savez writes object arrays too (with pickle)
    return path


class TestRoundTrip:
    def test_exact_bits_and_order(self, tmp_path):
        params = _params()
        params["f32"] = np.arange(6, dtype=np.float32).reshape(2, 3) / 3
        params["fortran"] = np.asfortranarray(np.arange(6.0).reshape(2, 3))
        meta = {"seed": 3, "history": {"val_loss": [0.5, 0.25]}, "note": "Größe λ"}
        out = save_model(tmp_path / "m.npz", CONFIG, params, meta)
        assert out == tmp_path / "m.npz"
        config, back, metadata = load_model(out)
        assert config == CONFIG
        assert metadata == meta
        assert list(back) == list(params)
        for key, value in params.items():
            assert back[key].dtype == value.dtype, key
            assert back[key].shape == value.shape, key
            assert back[key].tobytes(order="A") == value.tobytes(order="A"), key
            np.testing.assert_array_equal(back[key], value)

    def test_metadata_default_and_str_path(self, tmp_path):
        path = str(tmp_path / "model")
        save_model(path, CONFIG, {"p": np.array(1.5)})
        assert os.path.exists(path) and not os.path.exists(path + ".npz")
        config, params, metadata = load_model(path)
        assert metadata == {} and config == CONFIG
        assert params["p"].shape == () and float(params["p"]) == 1.5

    def test_tuples_come_back_as_lists(self, tmp_path):
        save_model(tmp_path / "m.npz", {"shape": (1, 2)}, {"p": np.ones(1)})
        assert load_model(tmp_path / "m.npz")[0] == {"shape": [1, 2]}

    def test_file_is_plain_npz(self, tmp_path):
        path = save_model(tmp_path / "m.npz", CONFIG, _params(), {"a": 1})
        with np.load(path, allow_pickle=False) as f:
            assert sorted(f.files) == sorted(
                ["format", "version", "config", "metadata"] + [f"param/{k}" for k in _params()]
            )
            assert str(f["format"]) == FORMAT_NAME and int(f["version"]) == 1
            assert json.loads(f["metadata"].tobytes()) == {"a": 1}


class TestAtomicWrite:
    def test_replaces_and_leaves_no_temporary(self, tmp_path):
        path = tmp_path / "m.npz"
        save_model(path, CONFIG, {"p": np.zeros(3)})
        save_model(path, CONFIG, {"p": np.ones(3)})
        assert sorted(os.listdir(tmp_path)) == ["m.npz"]
        np.testing.assert_array_equal(load_model(path)[1]["p"], np.ones(3))

    def test_failed_write_keeps_old_file(self, tmp_path, monkeypatch):
        path = tmp_path / "m.npz"
        save_model(path, CONFIG, {"p": np.zeros(3)})
        before = path.read_bytes()

        def broken_savez(fh, **arrays):
            fh.write(b"PK\x03\x04 partial")
            raise OSError("disk full")

        monkeypatch.setattr(np, "savez", broken_savez)
        with pytest.raises(OSError, match="disk full"):
            save_model(path, CONFIG, {"p": np.ones(3)})
        assert path.read_bytes() == before
        assert sorted(os.listdir(tmp_path)) == ["m.npz"]

    def test_invalid_input_writes_nothing(self, tmp_path):
        path = tmp_path / "m.npz"
        with pytest.raises(ValueError, match=r"`params\['p'\]` holds NaN"):
            save_model(path, CONFIG, {"p": np.array([0.0, np.nan])})
        assert os.listdir(tmp_path) == []


class TestSaveValidation:
    @pytest.mark.parametrize(
        "args, exc, match",
        [
            (({"f": object()}, {"p": np.ones(1)}), ValueError, "`net_config` must be JSON"),
            (({"x": float("nan")}, {"p": np.ones(1)}), ValueError, "`net_config` must be JSON"),
            (([1, 2], {"p": np.ones(1)}), TypeError, "`net_config` must be a dict"),
            ((CONFIG, {}), ValueError, "`params` must be a non-empty dict"),
            ((CONFIG, {"p": np.ones(2, dtype=int)}), TypeError, r"`params\['p'\]` must be a real"),
            ((CONFIG, {"p": [1.0]}), TypeError, r"`params\['p'\]` must be a real"),
            ((CONFIG, {"p": np.array([np.inf])}), ValueError, "NaN or infinite"),
            ((CONFIG, {"": np.ones(1)}), ValueError, "non-empty str"),
            ((CONFIG, {"p": np.ones(1)}, {"h": [float("inf")]}), ValueError, "`metadata`"),
            ((CONFIG, {"p": np.ones(1)}, "note"), TypeError, "`metadata` must be a dict"),
        ],
    )
    def test_bad_arguments(self, tmp_path, args, exc, match):
        with pytest.raises(exc, match=match):
            save_model(tmp_path / "m.npz", *args)
        assert os.listdir(tmp_path) == []

    def test_missing_folder_and_bad_path(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="does not exist"):
            save_model(tmp_path / "nope" / "m.npz", CONFIG, {"p": np.ones(1)})
        with pytest.raises(TypeError, match="`path`"):
            save_model(3, CONFIG, {"p": np.ones(1)})


def _load_error(path):
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.path == str(path) and str(err).startswith(str(path) + ": ")
    return err.problem


class TestLoadFailures:
    def test_missing_file(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="does not exist"):
            load_model(tmp_path / "absent.npz")

    def test_directory(self, tmp_path):
        assert "not a regular file" in _load_error(tmp_path)

    def test_random_bytes(self, tmp_path):
        path = tmp_path / "r.npz"
        path.write_bytes(np.random.default_rng(0).bytes(4096))
        assert "not an .npz (zip) archive" in _load_error(path)

    def test_empty_file(self, tmp_path):
        path = tmp_path / "e.npz"
        path.write_bytes(b"")
        assert "not an .npz (zip) archive" in _load_error(path)

    def test_plain_npy(self, tmp_path):
        path = tmp_path / "a.npy"
        np.save(path, np.ones(3))
        assert "not an .npz (zip) archive" in _load_error(path)

    @pytest.mark.parametrize("keep", [0.5, 0.9, -1])
    def test_truncated(self, tmp_path, keep):
        path = save_model(tmp_path / "m.npz", CONFIG, _params())
        data = path.read_bytes()
        cut = len(data) - 1 if keep == -1 else int(len(data) * keep)
        path.write_bytes(data[:cut])
        assert "archive" in _load_error(path)

    def test_tampered_parameter_bytes(self, tmp_path):
        params = {"W": np.full(64, 0.25)}
        path = save_model(tmp_path / "m.npz", CONFIG, params)
        data = bytearray(path.read_bytes())
        pos = data.find(np.float64(0.25).tobytes())
        assert pos > 0
        data[pos + 7] ^= 0x01  # change one parameter value; the zip checksum no longer fits
        path.write_bytes(bytes(data))
        assert "is damaged or not a plain array" in _load_error(path)

    def test_tampered_json_bytes(self, tmp_path):
        path = save_model(tmp_path / "m.npz", {"width": 4}, {"p": np.ones(1)})
        data = bytearray(path.read_bytes())
        pos = data.find(b'"width"')
        data[pos + 1] = ord("W")
        path.write_bytes(bytes(data))
        assert "is damaged or not a plain array" in _load_error(path)

    def test_foreign_npz(self, tmp_path):
        path = tmp_path / "other.npz"
        np.savez(path, x=np.ones(3), y=np.arange(4))
        problem = _load_error(path)
        assert "not a pysplinet model file" in problem and "'x'" in problem

    def test_wrong_marker(self, tmp_path):
        assert "not a pysplinet model file" in _load_error(
            _write(tmp_path / "m.npz", format=np.array("other-format"))
        )

    def test_zip_with_other_files(self, tmp_path):
        path = tmp_path / "z.npz"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("readme.txt", "hello")
        assert "not .npy arrays" in _load_error(path)

    def test_object_arrays_never_unpickled(self, tmp_path):
        marker = tmp_path / "unpickled"

        class Payload:
            def __reduce__(self):
                return (open, (str(marker), "w"))

        payload = np.empty(1, dtype=object)
        payload[0] = Payload()
        for where in ("param__W", "format", "config"):
            path = _write(tmp_path / f"{where}.npz", **{where: payload})
            problem = _load_error(path)
            assert "is damaged or not a plain array" in problem and "allow_pickle" in problem
        assert not marker.exists()

    @pytest.mark.parametrize("version", [2, 0, -1])
    def test_unsupported_version(self, tmp_path, version):
        path = _write(tmp_path / "m.npz", version=np.array(version, dtype=np.int64))
        problem = _load_error(path)
        assert f"unsupported file format version {version}" in problem
        assert ("newer" in problem) == (version > FORMAT_VERSION)

    def test_version_not_integer(self, tmp_path):
        assert "'version' is not an integer" in _load_error(
            _write(tmp_path / "m.npz", version=np.array(1.0))
        )

    @pytest.mark.parametrize(
        "member, value, match",
        [
            ("config", np.frombuffer(b"[1, 2]", dtype=np.uint8), "must hold a JSON object"),
            ("config", np.frombuffer(b"{oops", dtype=np.uint8), "not valid JSON"),
            ("metadata", np.frombuffer(b'{"a": NaN}', dtype=np.uint8), "not valid JSON"),
            ("metadata", np.frombuffer(b"\xff\xfe", dtype=np.uint8), "not valid JSON"),
            ("metadata", np.array("{}"), "not a 1-d uint8 array"),
        ],
    )
    def test_bad_json(self, tmp_path, member, value, match):
        problem = _load_error(_write(tmp_path / "m.npz", **{member: value}))
        assert member in problem and match in problem

    @pytest.mark.parametrize(
        "override, match",
        [
            ({"config": None}, r"required members missing: \['config'\]"),
            ({"extra": np.ones(1)}, r"unexpected members: \['extra'\]"),
            ({"param__W": None}, "holds no parameters"),
            ({"param__W": np.array([1.0, np.nan])}, "'W' holds NaN"),
            ({"param__W": np.ones(2, dtype=np.int64)}, "'W' is not a real float array"),
            ({"param__": np.ones(2)}, "empty name"),
        ],
    )
    def test_bad_members(self, tmp_path, override, match):
        with pytest.raises(ModelFileError, match=match):
            load_model(_write(tmp_path / "m.npz", **override))

    def test_valid_handmade_file_loads(self, tmp_path):
        # The helper that builds the broken files above builds a valid one when nothing changes.
        config, params, metadata = load_model(_write(tmp_path / "m.npz"))
        assert config == CONFIG and metadata == {} and list(params) == ["W"]


def test_header_claiming_huge_array(tmp_path):
    # A hand-made member whose .npy header claims 2**40 float64 values but holds 8 bytes.
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (2**40,)}
    )
    path = tmp_path / "big.npz"
    with zipfile.ZipFile(path, "w") as zf:
        for name, value in _members(param__W=None).items():
            buf = io.BytesIO()
            np.save(buf, value)
            zf.writestr(name + ".npy", buf.getvalue())
        zf.writestr("param/W.npy", header.getvalue() + bytes(8))
    problem = _load_error(path)
    assert "member 'param/W' is damaged or not a plain array" in problem


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A network, its parameters and the model file they were saved to."""
    import pysplinet as ps

    net = ps.SpliNet(width=3, n_layers=8, degree=2, n_knots=4, learn_time_scale=True,
                     closing="dense", n_outputs=2)
    params = net.init_params(np.random.default_rng(4))
    path = save_model(tmp_path_factory.mktemp("net") / "m.npz", net.config, params,
                      {"note": "trained"})
    return net, params, path


class TestLoadNetwork:

    def test_round_trip(self, saved):
        from pysplinet.io import load_network

        net, params, path = saved
        net2, params2, metadata = load_network(path)
        assert type(net2) is type(net) and net2.config == net.config
        assert metadata == {"note": "trained"}
        for key in params:
            assert params2[key].tobytes() == params[key].tobytes()
        x = np.linspace(-1, 1, 7)[:, None]
        assert net2.predict(params2, x).tobytes() == net.predict(params, x).tobytes()

    @pytest.mark.parametrize(
        "change, match",
        [
            (lambda cfg, p: (dict(cfg, architecture="foo"), p), "does not describe a network"),
            (lambda cfg, p: (dict(cfg, width=4), p), r"'W' has shape \(6, 3, 3\)"),
            (lambda cfg, p: (cfg, {k: v for k, v in p.items() if k != "lam"}),
             "do not fit the network"),
        ],
    )
    def test_mismatch(self, saved, tmp_path, change, match):
        from pysplinet.io import load_network

        net, params, _ = saved
        config, params = change(net.config, params)
        path = save_model(tmp_path / "bad.npz", config, params)
        with pytest.raises(ModelFileError, match=match):
            load_network(path)
