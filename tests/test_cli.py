"""Tests of the pysplinet command (pysplinet.cli, pysplinet.cli_network), in process through
``main(argv)`` and a few times in a subprocess."""

import json
import os
import pwd
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import pysplinet as ps
from pysplinet import cases
from pysplinet.cli import main
from _shared import SHARED_DATA

SHARED = SHARED_DATA
REFERENCE = SHARED / "splinet_reference"
PINES_NPZ = SHARED / "indian_pines" / "indian_pines.npz"
PACKAGE = Path(ps.__file__).resolve().parent

TRAIN_KEYS = {"status", "epochs_run", "train_loss", "val_loss", "val_metric", "best_val_metric",
              "time_scale", "n_params", "seconds", "case", "arch", "config", "data",
              "training", "train_metric", "metric", "best_epoch", "message"}


def run(capsys, *argv):
    """``main(argv)`` in process: (exit status, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    lines = out.strip().splitlines()
    assert len(lines) == 1, out                      # exactly one JSON object
    return code, json.loads(lines[0]), err


def pines_args():
    """Data options for a small Indian Pines run, or skip when no scene is available."""
    if PINES_NPZ.is_file():
        return ["--data-source", PINES_NPZ]
    try:
        ps.data.indian_pines(n_train=2, n_val=2)
    except ps.data.DataUnavailableError as err:
        pytest.skip(f"no Indian Pines scene: {err}")
    return []


def assert_one_line_error(code, err, needle):
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "error:" in lines[0] and needle in lines[0], lines[0]


# ---------------------------------------------------------------------- help

@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"], ["gradcheck"]])
def test_help_explains_every_option(capsys, command):
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0 and "usage: pysplinet" in out
    if command:
        assert "default" in out and "--json" in out
        assert "-v, --verbose" in out and "-q, --quiet" in out
    if command and command[0] in ("train", "gradcheck"):
        for option in ("--case", "--arch", "--degree", "--knots", "--layers", "--time-scale",
                       "--learn-time-scale", "--seed", "--amplitude", "--data-source"):
            assert option in out
    if command == ["train"]:
        for option in ("--freq", "--epochs", "--batch-size", "--lr", "--reg", "--save",
                       "--plot"):
            assert option in out
        flat = " ".join(out.split())                       # help wraps at the terminal width
        assert "sine 1000, peaks 100, indian-pines 150" in flat     # per-case defaults


# ---------------------------------------------------------------------- train

@pytest.mark.parametrize("arch", cases.ARCHITECTURES)
@pytest.mark.parametrize("case, extra", [
    ("sine", ["--epochs", 3]),
    ("peaks", ["--epochs", 2, "--n-train", 120, "--n-val", 60]),
])
def test_train_json_has_the_keys(capsys, case, arch, extra):
    code, r, err = run_json(capsys, "train", "--case", case, "--arch", arch, *extra)
    assert code == 0, err
    assert TRAIN_KEYS <= set(r)
    assert r["status"] == "completed" and r["epochs_run"] == extra[1]
    assert (r["case"], r["arch"], r["config"]["architecture"]) == (case, arch, arch)
    assert r["n_params"] == cases.build_network(case, arch).n_params
    assert r["training"]["batch_size"] == cases.training_defaults(case)["batch_size"]
    assert r["metric"] == ("mse" if case == "sine" else "accuracy")
    for key in ("train_loss", "val_loss", "val_metric", "best_val_metric", "seconds"):
        assert np.isfinite(r[key]) and r[key] >= 0
    if case == "peaks":
        assert 0 <= r["val_metric"] <= 1 and r["data"]["n_val"] == 60
    assert err == ""                                   # no bar when stderr is no terminal


def test_train_indian_pines(capsys, tmp_path):
    code, r, err = run_json(capsys, "train", "--case", "indian-pines", *pines_args(),
                            "--n-train", 60, "--n-val", 30, "--epochs", 1, "--layers", 10,
                            "--batch-size", 30, "--plot", tmp_path / "scene.png")
    assert code == 0, err
    assert r["config"]["operator"] == {"kind": "conv1d", "kernel_size": 3}
    assert r["config"]["width"] == r["data"]["n_inputs"] and r["config"]["n_outputs"] == 16
    assert r["epochs_run"] == 1 and 0 <= r["val_metric"] <= 1
    assert (tmp_path / "scene.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_is_reproducible_and_seeded(capsys):
    argv = ["train", "--case", "sine", "--epochs", 4, "--seed", 5]
    first = run_json(capsys, *argv)[1]
    second = run_json(capsys, *argv)[1]
    for key in ("train_loss", "val_loss", "val_metric", "best_val_metric"):
        assert first[key] == second[key]
    other = run_json(capsys, "train", "--case", "sine", "--epochs", 4, "--seed", 6)[1]
    assert other["val_loss"] != first["val_loss"]


def test_train_options_reach_the_network_and_training(capsys):
    code, r, _ = run_json(capsys, "train", "--case", "sine", "--freq", 2, "--epochs", 2,
                          "--degree", 3, "--knots", 4, "--layers", 50, "--lr", 0.02,
                          "--reg", 1e-6, "--amplitude", 0.5, "--batch-size", 8,
                          "--time-scale", 3, "--learn-time-scale")
    assert code == 0
    cfg = r["config"]
    assert (cfg["degree"], cfg["n_knots"], cfg["n_layers"]) == (3, 4, 50)
    assert cfg["learn_time_scale"] and cfg["time_scale"] == 3.0
    assert r["time_scale"] != 3.0                       # learned: it moved
    assert r["training"] == {"epochs": 2, "batch_size": 8, "lr": 0.02, "reg": 1e-6,
                             "amplitude": 0.5, "seed": 0, "grad_tol": 0.0}
    assert r["data"]["n_train"] == 40


def test_train_summary_and_progress(capsys):
    code, out, err = run(capsys, "train", "--case", "sine", "--epochs", 3, "--progress", "-v")
    assert code == 0
    assert out.startswith("pysplinet train: completed")
    assert "validation" in out and "trainable parameters" in out and len(out.splitlines()) < 25
    assert "3/3" in err                                 # the tqdm bar
    assert "INFO pysplinet" in err                      # -v logging


def test_train_plots(capsys, tmp_path):
    for case, extra in (("sine", []), ("peaks", ["--n-train", 50, "--n-val", 20])):
        path = tmp_path / f"{case}.png"
        code, r, _ = run_json(capsys, "train", "--case", case, "--epochs", 1, *extra,
                              "--plot", path)
        assert code == 0 and r["plot"] == str(path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, _ = run(capsys, "train", "--case", "sine", "--epochs", 1, "--plot",
                     tmp_path / "sine.pdf")
    assert code == 0 and (tmp_path / "sine.pdf").read_bytes()[:5] == b"%PDF-"


def test_diverged_training_exits_1(capsys):
    code, r, _ = run_json(capsys, "train", "--case", "sine", "--epochs", 5, "--lr", 1e300)
    assert code == 1 and r["status"] == "diverged"


# ---------------------------------------------------------------------- save / evaluate

@pytest.mark.parametrize("arch, keep", [("splinet", "last"), ("odenet", "best"),
                                        ("resnet", "last")])
def test_save_then_evaluate_gives_the_same_metrics(capsys, tmp_path, arch, keep):
    model = tmp_path / "model.npz"
    code, r, _ = run_json(capsys, "train", "--case", "peaks", "--arch", arch, "--epochs", 3,
                          "--n-train", 80, "--n-val", 40, "--data-seed", 2, "--keep", keep,
                          "--save", model)
    assert code == 0 and r["saved"] == str(model)
    code, e, _ = run_json(capsys, "evaluate", model)     # case and data from the file
    assert code == 0
    for key in ("train_loss", "train_metric", "val_loss", "val_metric", "n_params"):
        assert e[key] == r[key], key
    assert e["case"] == "peaks" and e["data"]["n_val"] == 40
    assert e["n_layers"] == e["saved_n_layers"] == r["config"]["n_layers"]
    if keep == "best":
        assert e["val_metric"] == r["best_val_metric"]
    code, out, _ = run(capsys, "evaluate", model)
    assert code == 0 and "validation" in out


def test_evaluate_on_more_layers_rediscretises_a_splinet(capsys, tmp_path):
    model = tmp_path / "sine.npz"
    run_json(capsys, "train", "--case", "sine", "--epochs", 30, "--save", model)
    _, base, _ = run_json(capsys, "evaluate", model)
    code, fine, _ = run_json(capsys, "evaluate", model, "--layers", 400)
    assert code == 0
    assert fine["n_layers"] == 400 and fine["saved_n_layers"] == 100
    assert fine["h"] == pytest.approx(base["h"] / 4)
    assert fine["n_params"] == base["n_params"]
    assert np.isfinite(fine["val_metric"]) and fine["val_loss"] != base["val_loss"]
    # the same parameters on the finer grid, computed directly
    net, params, _ = ps.load_network(model)
    data = cases.load_data("sine")
    assert fine["val_loss"] == net.with_layers(400).loss(params, data.x_val, data.y_val)
    # the saved N again is allowed for every architecture
    assert run_json(capsys, "evaluate", model, "--layers", 100)[1]["val_loss"] == \
        base["val_loss"]


def test_evaluate_other_layers_of_an_odenet_is_an_error(capsys, tmp_path):
    model = tmp_path / "ode.npz"
    run_json(capsys, "train", "--case", "sine", "--arch", "odenet", "--epochs", 1,
             "--save", model)
    code, _, err = run(capsys, "evaluate", model, "--layers", 20)
    assert_one_line_error(code, err, "only a SpliNet can be re-discretised")
    assert run(capsys, "evaluate", model, "--layers", 10)[0] == 0


def test_evaluate_with_other_data_options(capsys, tmp_path):
    model = tmp_path / "sine.npz"
    run_json(capsys, "train", "--case", "sine", "--epochs", 2, "--save", model)
    code, e, _ = run_json(capsys, "evaluate", model, "--n-val", 7, "--data-seed", 4)
    assert code == 0 and e["data"]["n_val"] == 7 and e["data"]["options"]["seed"] == 4


# ---------------------------------------------------------------------- gradcheck

@pytest.mark.parametrize("argv", [
    ["--case", "sine"],
    ["--case", "sine", "--arch", "odenet", "--learn-time-scale"],
    ["--case", "peaks"],
    ["--case", "peaks", "--arch", "resnet", "--closing", "dense"],
])
def test_gradcheck_passes(capsys, argv):
    code, r, _ = run_json(capsys, "gradcheck", *argv)
    assert code == 0 and r["passed"]
    assert r["max_rel_error"] <= 1e-6 and 1.9 <= r["taylor_order"] <= 2.1
    assert r["n_checked"] == r["n_params"] > 0
    assert {"max_rel_error", "taylor_order", "n_checked"} <= set(r)


def test_gradcheck_indian_pines(capsys):
    code, r, _ = run_json(capsys, "gradcheck", "--case", "indian-pines", *pines_args(),
                          "--n-train", 10, "--n-val", 5, "--layers", 10, "--max-coords", 150)
    assert code == 0 and r["passed"] and r["n_checked"] == 150
    code, out, _ = run(capsys, "gradcheck", "--case", "indian-pines", *pines_args(),
                       "--n-train", 10, "--n-val", 5, "--layers", 10, "--max-coords", 30)
    assert code == 0 and out.startswith("pysplinet gradcheck: passed")


def test_gradcheck_exits_1_for_a_wrong_gradient(capsys, monkeypatch):
    right = ps.Network.value_and_grad

    def wrong(self, params, x, y, **kwargs):
        value, grads = right(self, params, x, y, **kwargs)
        grads["b"] = grads["b"] * 1.001                    # a 0.1 % error in one block
        return value, grads

    monkeypatch.setattr(ps.Network, "value_and_grad", wrong)
    code, r, _ = run_json(capsys, "gradcheck", "--case", "sine")
    assert code == 1 and not r["passed"] and r["max_rel_error"] > 1e-6
    code, out, _ = run(capsys, "gradcheck", "--case", "sine")
    assert code == 1 and out.startswith("pysplinet gradcheck: FAILED")


# ---------------------------------------------------------------------- bad input

@pytest.mark.parametrize("argv, needle", [
    (["train", "--case", "cosine"], "invalid choice: 'cosine'"),
    (["train", "--case", "sine", "--lr", "-0.1"], "--lr: must be > 0"),
    (["train", "--case", "sine", "--lr", "nan"], "--lr: must be finite"),
    (["train", "--case", "sine", "--layers", "0"], "--layers: must be an integer >= 1"),
    (["train", "--case", "sine", "--epochs", "1.5"], "--epochs: must be an integer"),
    (["train", "--case", "sine", "--reg=-1e-9"], "--reg: must be >= 0"),
    (["train", "--case", "sine", "--reg", "-1e-9"], "--reg: expected one argument"),
    (["train", "--case", "sine", "--seed", "-1"], "--seed: must be an integer >= 0"),
    (["train", "--case", "sine", "--arch", "lstm"], "invalid choice: 'lstm'"),
    (["train"], "required: --case"),
    (["fit", "--case", "sine"], "invalid choice: 'fit'"),
    (["train", "--case", "sine", "--arch", "resnet", "--degree", "2"],
     "--degree applies to --arch splinet only"),
    (["train", "--case", "sine", "--arch", "odenet", "--knots", "4", "--layers", "5"],
     "disagree"),
    (["train", "--case", "peaks", "--freq", "2"], "--freq does not apply to case 'peaks'"),
    (["train", "--case", "sine", "--split", "reference"], "--split does not apply"),
    (["train", "--case", "sine", "--data-source", "/tmp"], "takes no --data-source"),
    (["train", "--case", "sine", "--opening", "identity", "--width", "3"],
     "`opening`='identity'"),
    (["train", "--case", "peaks", "--closing", "mean"], "`closing`='mean' gives one output"),
    (["train", "--case", "sine", "--save", "/no/such/folder/m.npz"], "does not exist"),
    (["train", "--case", "sine", "--plot", "/tmp/picture.unknown"], "must end in one of"),
    (["train", "--case", "sine", "--plot", "/tmp"], "is a folder"),
    (["train", "--case", "reference-sine", "--data-source", "/no/such/folder"],
     "not an existing folder"),
    (["train", "--case", "reference-sine", "--freq", "3", "--data-source", "/tmp"],
     "`freq` must be one of"),
    (["gradcheck", "--case", "sine", "--batch-size", "21"], "exceeds the 20 training"),
    (["evaluate", "/no/such/model.npz"], "does not exist"),
    (["evaluate", "/no/such/model.npz", "--layers", "-3"], "--layers: must be"),
])
def test_bad_input_exits_2_with_one_line(capsys, monkeypatch, argv, needle):
    def no_training(*args, **kwargs):
        raise AssertionError("training started despite bad input")

    monkeypatch.setattr("pysplinet.training.train", no_training)
    code, out, err = run(capsys, *argv)
    assert_one_line_error(code, err, needle)
    assert out == ""


def test_unreadable_model_files_exit_2(capsys, tmp_path):
    model = tmp_path / "m.npz"
    run_json(capsys, "train", "--case", "sine", "--epochs", 1, "--save", model)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    text = tmp_path / "text.npz"
    text.write_text("not a model")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.zeros(3))
    damaged = tmp_path / "damaged.npz"
    with zipfile.ZipFile(model) as zin, zipfile.ZipFile(damaged, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("param/W"):
                data = data[:-8]                        # a parameter array cut short
            zout.writestr(item, data)
    for path, needle in ((truncated, "zip"), (text, "zip"), (foreign, "format marker"),
                         (damaged, "damaged"), (tmp_path, "not a regular file")):
        code, out, err = run(capsys, "evaluate", path)
        assert_one_line_error(code, err, needle)
        assert out == ""


def test_evaluate_needs_a_case_when_the_file_has_none(capsys, tmp_path):
    net = cases.build_network("sine")
    path = tmp_path / "bare.npz"
    ps.save_model(path, net.config, net.init_params(np.random.default_rng(0)))
    code, _, err = run(capsys, "evaluate", path)
    assert_one_line_error(code, err, "give --case")
    code, e, _ = run_json(capsys, "evaluate", path, "--case", "sine")
    assert code == 0 and np.isfinite(e["val_loss"])
    code, _, err = run(capsys, "evaluate", path, "--case", "peaks")
    assert_one_line_error(code, err, "does not fit the data of case 'peaks'")


# ---------------------------------------------------------------------- reference data

def test_train_on_the_authors_reference_data(capsys):
    if not REFERENCE.is_dir():
        pytest.skip(f"the authors' reference files are not in {SHARED_DATA}")
    code, r, _ = run_json(capsys, "train", "--case", "reference-sine", "--data-source",
                          REFERENCE, "--freq", 2, "--epochs", 5)
    assert code == 0 and r["data"]["n_train"] == 40 and "xtrain_k2.dat" in r["data"]["source"]
    assert np.isfinite(r["val_metric"])
    code, r, _ = run_json(capsys, "train", "--case", "reference-peaks", "--data-source",
                          REFERENCE, "--epochs", 2, "--n-train", 200, "--n-val", 100)
    assert code == 0 and r["data"]["n_train"] == 200 and "features.dat" in r["data"]["source"]
    assert r["config"]["n_outputs"] == 5 and 0 <= r["val_metric"] <= 1


# ---------------------------------------------------------------------- subprocesses

def _python_m(args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "pysplinet", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def test_python_m_pysplinet(tmp_path):
    done = _python_m(["train", "--case", "sine", "--epochs", 2, "--json"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    r = json.loads(done.stdout)
    assert r["epochs_run"] == 2 and r["status"] == "completed"
    bad = _python_m(["train", "--case", "sine", "--lr", "0"], cwd=tmp_path)
    assert bad.returncode == 2 and bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    assert "--lr: must be > 0" in bad.stderr


def test_console_script():
    exe = shutil.which("pysplinet")
    if exe is None:
        pytest.skip("the pysplinet console script is not on PATH (package not installed)")
    done = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == f"pysplinet {ps.__version__}"


def _readonly_runner(root):
    """A command prefix that runs a program with ``root`` read-only.

    Unprivileged users get read-only files from ``chmod``. Root ignores file modes, so for
    root the copy is bind-mounted read-only in a private mount namespace (``unshare``),
    and so is root's home folder, where Numba would otherwise put its user-wide cache
    (with HOME unset it finds the home folder in the password database): then no cache
    location is writable but the temporary folder.
    """
    subprocess.run(["chmod", "-R", "a-w", str(root)], check=True)
    if os.geteuid() != 0:
        return []
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("running as root without unshare: no way to make a read-only folder")
    folders = [str(root), pwd.getpwuid(0).pw_dir]
    mounts = " && ".join(f"mount --bind {f} {f} && mount -o remount,bind,ro {f}"
                         for f in folders)
    probe = subprocess.run(
        [unshare, "--mount", "--propagation", "private", "sh", "-c",
         f"{mounts} && ! touch {root}/probe 2>/dev/null"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"running as root and read-only bind mounts are not allowed here: "
                    f"{probe.stderr.strip()}")
    return [unshare, "--mount", "--propagation", "private", "sh", "-c",
            f'{mounts} && exec "$@"', "sh"]


def test_read_only_package_without_home(tmp_path):
    # A copy of the package, kernels mapped to pysplinet/kernels as in the install, that
    # nothing can write to, run with HOME and NUMBA_CACHE_DIR unset: importing decorates
    # every cached kernel (Numba refuses cache=True when it finds nowhere to write), a
    # compiled kernel must run and cache in the fallback folder, and a training must give
    # the numbers of the writable install. The training uses the NumPy back end: compiling
    # all kernels from scratch would cost half a minute; the compiled path is covered by
    # the kernel call.
    kernels = Path(__file__).resolve().parent.parent / "kernels"
    if not (PACKAGE / "cli.py").is_file() or not (kernels / "_config.py").is_file():
        pytest.skip("needs the source tree (pysplinet/ and kernels/)")
    root = tmp_path / "ro"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc")
    shutil.copytree(PACKAGE, root / "pysplinet", ignore=ignore, symlinks=False)
    if (root / "pysplinet" / "kernels").exists():
        shutil.rmtree(root / "pysplinet" / "kernels")
    shutil.copytree(kernels, root / "pysplinet" / "kernels", ignore=ignore)
    argv = ["train", "--case", "sine", "--epochs", 3, "--backend", "numpy", "--json"]
    probe = ("import os, sys, numpy as np, pysplinet, pysplinet.kernels as k; "
             "from pysplinet.kernels.activations import activate; "
             "from pysplinet.activations import activation_id; "
             "assert pysplinet.__file__.startswith(sys.argv[1]), pysplinet.__file__; "
             "assert not os.access(os.path.dirname(k.__file__), os.W_OK); "
             "A = np.linspace(-3.0, 3.0, 12); S = np.empty_like(A); "
             "activate(activation_id('tanh'), A, S); "
             "from pysplinet.kernels._config import CACHE_DIR; "
             "assert not CACHE_DIR.startswith(sys.argv[1]), CACHE_DIR; "
             "assert any(n.endswith('.nbi') for n in os.listdir(CACHE_DIR)), CACHE_DIR; "
             "sys.stderr.write(S.tobytes().hex()); "
             "from pysplinet.cli import main; sys.exit(main(sys.argv[2:]))")
    try:
        prefix = _readonly_runner(root)
        env = {k: v for k, v in os.environ.items()
               if k not in ("HOME", "NUMBA_CACHE_DIR", "PYTHONPATH")}
        env["PYTHONPATH"] = str(root)
        done = subprocess.run(prefix + [sys.executable, "-c", probe, str(root),
                                        *map(str, argv)],
                              capture_output=True, text=True, env=env, cwd=tmp_path,
                              timeout=600)
        assert done.returncode == 0, done.stderr
        readonly = json.loads(done.stdout)
        assert not list(root.rglob("*.nbi"))             # nothing written into the copy
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(root)], check=True)

    from pysplinet.activations import activation_id
    from pysplinet.kernels.activations import activate

    A = np.linspace(-3.0, 3.0, 12)
    S = np.empty_like(A)
    activate(activation_id("tanh"), A, S)
    assert done.stderr.strip() == S.tobytes().hex()       # same bits as this install
    writable = _python_m(argv, cwd=tmp_path)
    assert writable.returncode == 0, writable.stderr
    reference = json.loads(writable.stdout)
    for key in ("train_loss", "train_metric", "val_loss", "val_metric", "best_val_metric",
                "n_params"):
        assert readonly[key] == reference[key], key
