"""Saving and loading classifiers and pipelines: exact, safe, never unpickling."""

import hashlib
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from skorch.callbacks import Callback
from skorch.dataset import Dataset, ValidSplit
from skorch.helper import predefined_split

import raman_sk.persistence as rp
import raman_sk.utils._files as rfiles
from raman_sk import RamanCNNClassifier, load_pipeline, save_pipeline
from raman_sk.preprocessing import (
    SpectralAugmenter,
    SpectrumNormalizer,
    WavenumberResampler,
)
from tests._helpers import TINY_NET
from tests.conftest import make_spectra

SMALL = {
    **TINY_NET,
    "lr": 1e-2,
    "batch_size": 8,
    "random_state": 0,
    "n_threads": 1,
}


def small_clf(**kw):
    return RamanCNNClassifier(**{"max_epochs": 4, **SMALL, **kw})


@pytest.fixture(scope="module")
def saved(synthetic, tmp_path_factory):
    clf = small_clf(
        train_split=ValidSplit(0.25, stratified=True),
        augmenter=SpectralAugmenter(n_copies=1),
        augmenter__noise_std=0.02,
        callbacks__lr_scheduler__T_max=6,
    ).fit(synthetic.data, synthetic.target)
    directory = tmp_path_factory.mktemp("model")
    clf.save(directory)
    return clf, directory


@pytest.fixture
def copy_dir(saved, tmp_path):
    """A private copy of the saved model directory, to tamper with."""
    _, directory = saved
    for f in directory.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    return tmp_path


def edit_config(directory, fn):
    path = directory / "config.json"
    config = json.loads(path.read_text())
    fn(config)
    path.write_text(json.dumps(config))


# ------------------------------------------------------------- classifier
def test_classifier_round_trip_is_exact(saved, synthetic):
    clf, directory = saved
    assert sorted(p.name for p in directory.iterdir()) == [
        "config.json",
        "weights.safetensors",
    ]
    torch_state = torch.get_rng_state()
    loaded = RamanCNNClassifier.load(directory)
    assert torch.equal(torch.get_rng_state(), torch_state)
    X = synthetic.data
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    assert loaded.classes_.dtype == clf.classes_.dtype == object
    assert loaded.classes_.tolist() == ["alpha", "beta", "gamma"]
    assert loaded.n_features_in_ == 256 and loaded.best_epoch_ == clf.best_epoch_
    assert loaded.history[:, "valid_loss"] == clf.history[:, "valid_loss"]
    assert loaded.history[:, "event_lr"] == clf.history[:, "event_lr"]
    p, q = loaded.get_params(), clf.get_params()
    for key in ["module__kernel_sizes", "lr", "random_state", "augmenter__noise_std"]:
        assert p[key] == q[key]
    assert isinstance(p["augmenter"], SpectralAugmenter)
    assert p["augmenter"].n_copies == 1
    assert isinstance(p["train_split"], ValidSplit) and p["train_split"].cv == 0.25
    assert p["callbacks__lr_scheduler__T_max"] == 6
    assert p["optimizer"] is torch.optim.Adam
    # the loaded model can be trained further
    loaded.set_params(max_epochs=1).fit(X, synthetic.target)
    assert len(loaded.history) == 1


def test_config_contents(saved):
    clf, directory = saved
    config = json.loads((directory / "config.json").read_text())
    assert config["format"] == "raman_sk.classifier"
    assert config["format_version"] == rp.FORMAT_VERSION == 1
    assert config["versions"]["raman_sk"] == "0.1.0"
    assert config["versions"]["torch"] == torch.__version__
    assert config["class"] == "raman_sk.classifier._classifier.RamanCNNClassifier"
    assert config["module_class"] == "raman_sk.models.RamanCNN1D"
    kwargs = config["module_kwargs"]["dict"]
    assert kwargs["n_features"] == 256 and kwargs["n_classes"] == 3
    assert kwargs["kernel_sizes"] == {"tuple": [5, 3]}
    assert config["params"]["module"] == {"type": "raman_sk.models.RamanCNN1D"}
    assert config["params"]["augmenter"]["class"] == (
        "raman_sk.preprocessing._augment.SpectralAugmenter"
    )
    assert config["params"]["augmenter"]["params"]["n_copies"] == 1
    assert config["fitted"]["classes_"] == {
        "values": ["alpha", "beta", "gamma"],
        "dtype": "|O",
    }
    assert config["n_parameters"] == sum(p.numel() for p in clf.module_.parameters())
    assert len(config["history"]) == 4 and "batches" not in config["history"][0]
    digest = hashlib.sha256((directory / "weights.safetensors").read_bytes())
    assert config["weights_sha256"] == digest.hexdigest()
    assert config["dropped_params"] == {}


def test_integer_labels_feature_names_and_dropped_params(synthetic, tmp_path):
    X = pd.DataFrame(synthetic.data, columns=[f"w{i}" for i in range(256)])
    y = np.searchsorted(["alpha", "beta", "gamma"], synthetic.target).astype(np.int32)
    valid = make_spectra(n_per_class=1, seed=4)
    v_y = np.searchsorted(["alpha", "beta", "gamma"], valid.target).astype(np.int32)
    v_X = pd.DataFrame(valid.data, columns=X.columns)

    class Noop(Callback):
        pass

    clf = small_clf(
        max_epochs=1,
        train_split=predefined_split(Dataset(v_X, v_y)),
        callbacks=[("noop", Noop())],
    ).fit(X, y)
    clf.save(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert set(config["dropped_params"]) == {"train_split", "callbacks"}
    loaded = RamanCNNClassifier.load(tmp_path)
    assert loaded.classes_.dtype == np.int32 and loaded.classes_.tolist() == [0, 1, 2]
    assert loaded.feature_names_in_.tolist() == list(X.columns)
    assert loaded.train_split is None and loaded.callbacks is None
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_tampered_or_truncated_weights(copy_dir):
    weights = copy_dir / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF  # one flipped bit pattern in the tensor data
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="does not match the SHA-256"):
        RamanCNNClassifier.load(copy_dir)
    truncated = bytes(data[: len(data) // 2])
    weights.write_bytes(truncated)
    with pytest.raises(ValueError, match="modified, truncated or replaced"):
        RamanCNNClassifier.load(copy_dir)
    # even with a matching checksum, a truncated file is refused cleanly
    edit_config(
        copy_dir,
        lambda c: c.update(weights_sha256=hashlib.sha256(truncated).hexdigest()),
    )
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        RamanCNNClassifier.load(copy_dir)


class _CreatesFile:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_pickle_payload_is_never_executed(copy_dir, tmp_path_factory):
    marker = tmp_path_factory.mktemp("marker") / "pwned"
    payload = pickle.dumps(_CreatesFile(marker))
    pickle.loads(pickle.dumps(_CreatesFile(marker.with_name("probe"))))
    assert marker.with_name("probe").exists()  # the payload does work when unpickled
    (copy_dir / "weights.safetensors").write_bytes(payload)
    with pytest.raises(ValueError, match="SHA-256"):
        RamanCNNClassifier.load(copy_dir)
    edit_config(
        copy_dir, lambda c: c.update(weights_sha256=hashlib.sha256(payload).hexdigest())
    )
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        RamanCNNClassifier.load(copy_dir)
    assert not marker.exists()


def test_other_format_version_is_refused(copy_dir):
    edit_config(copy_dir, lambda c: c.update(format_version=99))
    with pytest.raises(ValueError, match="format version 99.*reads format version 1"):
        RamanCNNClassifier.load(copy_dir)


def test_incompatible_architecture_is_refused(copy_dir):
    def wider(config):
        config["params"]["module__hidden"] = 32

    edit_config(copy_dir, wider)
    with pytest.raises(ValueError, match="incompatible architecture"):
        RamanCNNClassifier.load(copy_dir)


def test_classes_outside_the_allow_list_are_never_imported(copy_dir, tmp_path_factory):
    pkg = tmp_path_factory.mktemp("evilpkg")
    marker = pkg / "imported"
    (pkg / "evil_mod_rsk.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nclass Evil:\n    pass\n"
    )
    sys.path.insert(0, str(pkg))
    try:
        edit_config(copy_dir, lambda c: c.update({"class": "evil_mod_rsk.Evil"}))
        with pytest.raises(ValueError, match="'evil_mod_rsk.Evil' is not from an"):
            RamanCNNClassifier.load(copy_dir)

        def evil_param(config):
            config["class"] = "raman_sk.classifier.RamanCNNClassifier"
            config["params"]["criterion"] = {"type": "evil_mod_rsk.Evil"}

        edit_config(copy_dir, evil_param)
        with pytest.raises(ValueError, match="evil_mod_rsk.Evil"):
            RamanCNNClassifier.load(copy_dir)
    finally:
        sys.path.remove(str(pkg))
    assert not marker.exists() and "evil_mod_rsk" not in sys.modules


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ({"function": "builtins.eval"}, "'builtins.eval' is not from an allowed"),
        ({"function": "raman_sk.persistence._codec.json.loads"}, "cannot be resolved"),
        (
            {"class": "torch.utils.data.dataloader.DataLoader", "params": {}},
            "refusing to instantiate",
        ),
        ({"surprise": 1}, "unexpected JSON object"),
    ],
)
def test_unsafe_parameter_values_are_refused(copy_dir, value, match):
    edit_config(copy_dir, lambda c: c["params"].update(predict_nonlinearity=value))
    with pytest.raises(ValueError, match=match):
        RamanCNNClassifier.load(copy_dir)


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        RamanCNNClassifier.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="pipeline.json"):
        load_pipeline(tmp_path)


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "config.json"
    rfiles.atomic_write(target, b"old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(rfiles.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        rfiles.atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]


# --------------------------------------------------------------- pipeline
@pytest.fixture(scope="module")
def pipeline(synthetic):
    grid = np.arange(610.0, 1100.0, 2.0)
    pipe = make_pipeline(
        WavenumberResampler(wavenumbers=synthetic.wavenumbers, target_wavenumbers=grid),
        SpectrumNormalizer(),
        StandardScaler(),
        small_clf(augmenter=SpectralAugmenter(n_copies=1, random_state=0)),
    )
    return pipe.fit(synthetic.data, synthetic.target)


def test_pipeline_round_trip_is_exact(pipeline, synthetic, tmp_path):
    save_pipeline(pipeline, tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["arrays.npz", "pipeline.json", "step3_ramancnnclassifier"]
    with np.load(tmp_path / "arrays.npz", allow_pickle=False) as npz:
        assert "0.wavenumbers_out_" in npz.files and "2.mean_" in npz.files
    loaded = load_pipeline(tmp_path)
    assert [name for name, _ in loaded.steps] == [name for name, _ in pipeline.steps]
    X = make_spectra(seed=7).data
    np.testing.assert_array_equal(loaded.predict_proba(X), pipeline.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), pipeline.predict(X))
    np.testing.assert_array_equal(
        loaded[0].wavenumbers_out_, pipeline[0].wavenumbers_out_
    )
    np.testing.assert_array_equal(loaded[2].scale_, pipeline[2].scale_)
    assert loaded[2].n_samples_seen_ == pipeline[2].n_samples_seen_
    assert type(loaded[2].n_samples_seen_) is type(pipeline[2].n_samples_seen_)
    config = json.loads((tmp_path / "pipeline.json").read_text())
    assert config["class"] == "sklearn.pipeline.Pipeline"
    assert config["steps"][3] == {
        "name": "ramancnnclassifier",
        "classifier_dir": "step3_ramancnnclassifier",
    }
    assert config["steps"][2]["class"] == "sklearn.preprocessing._data.StandardScaler"


class OutsideScaler(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        self.n_features_in_ = np.shape(X)[1]
        return self

    def transform(self, X):
        return np.asarray(X) * 2.0


def test_pipeline_with_unsafe_steps_is_refused(synthetic, tmp_path):
    X, y = synthetic.data, synthetic.target
    pipe = make_pipeline(OutsideScaler(), small_clf(max_epochs=1)).fit(X, y)
    with pytest.raises(ValueError, match="test_persistence.OutsideScaler"):
        save_pipeline(pipe, tmp_path)
    pipe = make_pipeline(FunctionTransformer(np.abs), small_clf(max_epochs=1)).fit(X, y)
    with pytest.raises(ValueError, match=r"parameter of step 'functiontransformer'"):
        save_pipeline(pipe, tmp_path)
    assert not (tmp_path / "pipeline.json").exists()
    with pytest.raises(TypeError, match="must be a sklearn.pipeline.Pipeline"):
        save_pipeline(small_clf(), tmp_path)


def test_unfitted_pipeline_or_classifier(tmp_path):
    with pytest.raises(NotFittedError):
        save_pipeline(make_pipeline(StandardScaler(), small_clf()), tmp_path)
    with pytest.raises(NotFittedError):
        small_clf().save(tmp_path)


def test_tampered_pipeline_json(pipeline, tmp_path):
    save_pipeline(pipeline, tmp_path)
    path = tmp_path / "pipeline.json"
    config = json.loads(path.read_text())
    config["steps"][3]["classifier_dir"] = "../elsewhere"
    path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match="Unsafe classifier directory"):
        load_pipeline(tmp_path)
    config["steps"][3]["classifier_dir"] = "step3_ramancnnclassifier"
    config["steps"][0]["class"] = "subprocess.Popen"
    path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match="'subprocess.Popen' is not from an allowed"):
        load_pipeline(tmp_path)


# ------------------------------------------------------------ legacy names
LEGACY = Path(__file__).parent / "data" / "legacy_v0_1"


@pytest.mark.parametrize(("old", "new"), sorted(rp.LEGACY_NAMES.items()))
def test_every_legacy_name_resolves_to_the_moved_class(old, new):
    from raman_sk.persistence._codec import qualified_name, resolve

    cls = resolve(old)
    assert isinstance(cls, type) and qualified_name(cls) == new
    assert resolve(new) is cls


def test_legacy_directories_name_classes_through_the_table():
    step = LEGACY / "train_model" / "step4_ramancnnclassifier"
    for path in [LEGACY / "classifier", step]:
        config = json.loads((path / "config.json").read_text())
        assert config["class"] in rp.LEGACY_NAMES
        assert rp.stored_class(path) is RamanCNNClassifier


def test_non_finite_floats_are_stored_as_strict_json():
    from raman_sk.persistence._codec import decode, encode

    value = {"a": float("nan"), "b": np.float32("-inf"), "c": np.array([1.0, np.inf])}
    text = json.dumps(encode(value, "value"), allow_nan=False)
    back = decode(json.loads(text))
    assert np.isnan(back["a"]) and back["b"] == np.float32("-inf")
    assert back["b"].dtype == np.float32
    np.testing.assert_array_equal(back["c"], value["c"])


def test_pretrained_body_file_is_not_needed_to_load(tmp_path):
    import safetensors.torch
    from sklearn.base import clone

    from raman_sk.models import RamanCNN1D

    data = make_spectra(n_per_class=4, seed=0)
    X, y = data.data, data.target
    body = RamanCNN1D(2, 256, channels=TINY_NET["module__channels"],
                      kernel_sizes=TINY_NET["module__kernel_sizes"],
                      convs_per_block=TINY_NET["module__convs_per_block"])
    path = tmp_path / "body.safetensors"
    safetensors.torch.save_file(
        {k: v.contiguous() for k, v in body.state_dict().items()}, str(path)
    )
    clf = RamanCNNClassifier(max_epochs=1, module__pretrained=str(path), **SMALL)
    clf.fit(X, y)
    rp.save_classifier(clf, tmp_path / "model")
    path.unlink()  # the user's body file is gone: the saved weights suffice
    loaded = rp.load_classifier(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.get_params()["module__pretrained"] == str(path)
    assert clone(loaded).get_params()["module__pretrained"] == str(path)
