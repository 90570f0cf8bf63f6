"""Packaging: public API, metadata, entry point, a wheel that installs in a venv."""

import importlib
import inspect
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest

import raman_sk

ROOT = Path(__file__).resolve().parents[1]


def test_version_and_public_names():
    assert raman_sk.__version__ == "0.1.0"
    assert {"RamanCNNClassifier", "save_pipeline", "load_pipeline"} <= set(
        raman_sk.__all__
    )
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        raman_sk.nope  # noqa: B018


CLASS, FUNCTION = "class", "function"
# the agreed public API: every name where users import it from, and its kind
PUBLIC_API = {
    "raman_sk": {
        "RamanCNNClassifier": CLASS,
        "RamanCNN1D": CLASS,
        "IGExplainer": CLASS,
        "save_pipeline": FUNCTION,
        "load_pipeline": FUNCTION,
        "load_ramanbiolib": FUNCTION,
        "read_spectra": FUNCTION,
    },
    "raman_sk.datasets": {"load_ramanbiolib": FUNCTION, "read_spectra": FUNCTION},
    "raman_sk.preprocessing": {
        "WavenumberResampler": CLASS,
        "SpectralAugmenter": CLASS,
        "BaselineRemover": CLASS,
        "SavitzkyGolay": CLASS,
        "SpectrumNormalizer": CLASS,
        "SpikeRemover": CLASS,
        "WavenumberCropper": CLASS,
        "resample_spectra": FUNCTION,
        "augment_spectra": FUNCTION,
        "remove_baseline": FUNCTION,
        "savgol_smooth": FUNCTION,
        "normalize_spectra": FUNCTION,
        "remove_spikes": FUNCTION,
        "crop_spectra": FUNCTION,
    },
    "raman_sk.models": {"RamanCNN1D": CLASS},
    "raman_sk.explain": {"IGExplainer": CLASS},
    "raman_sk.pipeline": {"make_raman_pipeline": FUNCTION, "predict_table": FUNCTION},
}


@pytest.mark.parametrize("module_name", list(PUBLIC_API))
def test_public_api_names_import_as_the_expected_kind(module_name):
    module = importlib.import_module(module_name)
    for name, kind in PUBLIC_API[module_name].items():
        obj = getattr(module, name)  # AttributeError names a missing one
        if kind == CLASS:
            assert inspect.isclass(obj), f"{module_name}.{name} is not a class"
        else:
            assert inspect.isfunction(obj), f"{module_name}.{name} is not a function"
        if module_name == "raman_sk":
            assert name in raman_sk.__all__, name


def test_public_api_objects_are_the_same_everywhere():
    from raman_sk import datasets, explain, models

    assert raman_sk.load_ramanbiolib is datasets.load_ramanbiolib
    assert raman_sk.read_spectra is datasets.read_spectra
    assert raman_sk.RamanCNN1D is models.RamanCNN1D
    assert raman_sk.IGExplainer is explain.IGExplainer
    assert isinstance(raman_sk.__version__, str) and "__version__" in raman_sk.__all__


def test_public_classes_have_their_protocols():
    import torch
    from sklearn.base import BaseEstimator
    from skorch import NeuralNetClassifier

    from raman_sk import preprocessing

    assert issubclass(raman_sk.RamanCNNClassifier, NeuralNetClassifier)
    assert issubclass(raman_sk.RamanCNN1D, torch.nn.Module)
    assert issubclass(raman_sk.IGExplainer, BaseEstimator)
    assert hasattr(preprocessing.SpectralAugmenter, "fit_resample")
    for name, kind in PUBLIC_API["raman_sk.preprocessing"].items():
        step = getattr(preprocessing, name)
        if kind == CLASS and step is not preprocessing.SpectralAugmenter:
            assert issubclass(step, BaseEstimator) and hasattr(step, "transform"), name


def test_pyproject_declares_what_users_need():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = meta["project"]
    deps = " ".join(project["dependencies"])
    for name in [
        "skorch",
        "torch",
        "scikit-learn",
        "numpy",
        "pandas",
        "scipy",
        "matplotlib",
        "captum",
        "pybaselines",
        "safetensors",
    ]:
        assert name in deps, name
    # every dependency has a lower bound
    assert all(">=" in d for d in project["dependencies"]), project["dependencies"]
    # ramanbiolib's wheel requires Python < 3.12: the dependency is conditional
    assert any(
        d.startswith("ramanbiolib") and "python_version < '3.12'" in d
        for d in project["dependencies"]
    )
    assert set(project["optional-dependencies"]) >= {"test", "dev", "dask"}
    assert project["scripts"]["raman-sk"] == "raman_sk.cli:main"
    markers = " ".join(meta["tool"]["pytest"]["ini_options"]["markers"])
    for m in ["slow", "benchmark", "gpu"]:
        assert m + ":" in markers


def test_preprocessing_does_not_import_torch():
    code = (
        "import sys, raman_sk.preprocessing, raman_sk.datasets, raman_sk.evaluation\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_models_does_not_import_sklearn():
    code = (
        "import sys, raman_sk.models\n"
        "bad = [m for m in ('sklearn', 'skorch') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.slow
def test_wheel_installs_into_fresh_venv(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheels = list(dist.glob("raman_sk-*.whl"))
    assert len(wheels) == 1, wheels
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    py = env / "bin" / "python"
    # The dependencies (torch & co) come from the running environment through a .pth
    # file (no download); raman_sk itself only from the wheel, installed --no-deps.
    site_dir = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    deps = [p for p in sys.path if p.endswith("site-packages")]
    Path(site_dir, "_raman_sk_test_deps.pth").write_text("\n".join(deps) + "\n")
    subprocess.run(
        [str(py), "-m", "pip", "install", "--no-deps", "-q", str(wheels[0])], check=True
    )
    out = subprocess.run(
        [
            str(py),
            "-c",
            "import raman_sk, raman_sk.datasets as d; "
            "from raman_sk.models import RamanCNN1D; "
            "print(raman_sk.__file__); print(d.load_ramanbiolib().data.shape); "
            "RamanCNN1D(6, pretrained='synthetic'); print('bundled body loads')",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    ).stdout
    assert str(env) in out.splitlines()[0]
    assert "(194, 1351)" in out
    assert "bundled body loads" in out  # the package data is in the wheel
    help_out = subprocess.run(
        [str(env / "bin" / "raman-sk"), "--help"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "reproduce" in help_out
