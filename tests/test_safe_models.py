"""Model directories are data, never code: loading never unpickles anything.

tests/test_io.py checks a classifier directory whose weights file holds a
pickle. Here the same attack is tried on every file of a *pipeline* model
directory as ``raman-sk train`` writes it (classifier weights and config,
``arrays.npz``, ``domain.npz``, ``pipeline.json``), with plain pickles, pickled
object arrays inside NPZ files and ``torch.save`` archives, through
:func:`raman_sk.load_pipeline` and through ``raman-sk predict``. Each payload
would create a file when unpickled; every load must be refused with a clear
error and the file must not exist afterwards. Version and architecture
mismatches must name the file and the problem.
"""

import hashlib
import io
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from raman_sk import load_pipeline
from raman_sk.cli import main
from raman_sk.domain import load_domain_checker

CLF_DIR = "step5_ramancnnclassifier"
AXIS = np.arange(440.0, 1812.0, 2.0)


class _CreatesFile:
    """Unpickling this object opens (creates) ``path`` for writing."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def _write_spectrum(path, centre, rng):
    values = np.exp(-(((AXIS - centre) / 8.0) ** 2)) + 0.05 * rng.random(AXIS.size)
    path.write_text(
        "".join(f"{a:g}\t{v:.6f}\n" for a, v in zip(AXIS, values, strict=True))
    )


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A model directory written by ``raman-sk train`` (tiny net, one epoch)."""
    root = tmp_path_factory.mktemp("safe_models")
    rng = np.random.default_rng(0)
    files, rows = [], ["file,label"]
    for k, (label, centre) in enumerate([("a", 700.0), ("b", 1000.0)] * 3):
        path = root / f"s{k}.txt"
        _write_spectrum(path, centre, rng)
        files.append(path)
        rows.append(f"{path.name},{label}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    out = root / "model"
    argv = ["train", *files, "--labels", root / "labels.csv", "--out", out]
    argv += ["--quick", "--epochs", "1", "--threads", "1", "--quiet"]
    assert main([str(a) for a in argv]) == 0
    assert (out / CLF_DIR / "weights.safetensors").is_file()
    return out, files


@pytest.fixture
def copy(model, tmp_path):
    """A private copy of the model directory, to tamper with."""
    return Path(shutil.copytree(model[0], tmp_path / "model"))


@pytest.fixture
def marker(tmp_path):
    """Where a payload would write; checked to stay absent."""
    path = tmp_path / "payload_ran"
    # the payload does work when unpickled (so that its absence means something)
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_CreatesFile(probe))).close()
    assert probe.exists()
    return path


def _plain_pickle(marker):
    return pickle.dumps({"weights": _CreatesFile(marker)})


def _torch_archive(marker):
    buf = io.BytesIO()
    torch.save({"weights": _CreatesFile(marker)}, buf)
    return buf.getvalue()


def _npz_with_objects(marker, *names):
    buf = io.BytesIO()
    payload = np.empty(1, dtype=object)
    payload[0] = _CreatesFile(marker)
    np.savez(buf, **dict.fromkeys(names, payload))
    return buf.getvalue()


def _edit_json(path, fn):
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def _replace_weights(directory, data):
    """Replace the classifier's weights and record their checksum (worst case)."""
    (directory / CLF_DIR / "weights.safetensors").write_bytes(data)
    _edit_json(
        directory / CLF_DIR / "config.json",
        lambda c: c.update(weights_sha256=hashlib.sha256(data).hexdigest()),
    )


@pytest.mark.parametrize(
    "make", [_plain_pickle, _torch_archive], ids=["pickle", "torch.save"]
)
def test_weights_payload_is_refused_without_running(copy, marker, make):
    _replace_weights(copy, make(marker))
    with pytest.raises(
        ValueError, match="weights.safetensors' is not a valid safetensors"
    ):
        load_pipeline(copy)
    assert not marker.exists()


@pytest.mark.parametrize(
    "make", [_plain_pickle, _torch_archive], ids=["pickle", "torch.save"]
)
def test_weights_payload_without_checksum_update(copy, marker, make):
    (copy / CLF_DIR / "weights.safetensors").write_bytes(make(marker))
    with pytest.raises(ValueError, match="modified, truncated or replaced"):
        load_pipeline(copy)
    assert not marker.exists()


def test_arrays_npz_with_pickled_objects_is_refused(copy, marker):
    with np.load(copy / "arrays.npz", allow_pickle=False) as data:
        names = list(data.files)
    (copy / "arrays.npz").write_bytes(_npz_with_objects(marker, *names))
    with pytest.raises(
        ValueError, match="arrays.npz' is not a valid NPZ file.*allow_pickle=False"
    ):
        load_pipeline(copy)
    assert not marker.exists()


def test_domain_npz_with_pickled_objects_is_refused(copy, marker):
    (copy / "domain.npz").write_bytes(
        _npz_with_objects(marker, "reference", "loo_similarity")
    )
    with pytest.raises(ValueError, match="cannot read the out-of-domain checker"):
        load_domain_checker(copy)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["pipeline.json", f"{CLF_DIR}/config.json"])
def test_json_replaced_by_a_pickle_is_refused(copy, marker, name):
    (copy / name).write_bytes(_plain_pickle(marker))
    with pytest.raises(ValueError, match=f"{Path(name).name}' is not valid JSON"):
        load_pipeline(copy)
    assert not marker.exists()


@pytest.mark.parametrize(
    "target",
    ["weights", "arrays.npz", "domain.npz"],
)
def test_predict_refuses_payloads(copy, marker, model, capsys, target):
    if target == "weights":
        _replace_weights(copy, _torch_archive(marker))
        expected = "not a valid safetensors file"
    elif target == "arrays.npz":
        with np.load(copy / "arrays.npz", allow_pickle=False) as data:
            names = list(data.files)
        (copy / "arrays.npz").write_bytes(_npz_with_objects(marker, *names))
        expected = "arrays.npz' is not a valid NPZ file"
    else:
        (copy / "domain.npz").write_bytes(
            _npz_with_objects(marker, "reference", "loo_similarity")
        )
        expected = "cannot read the out-of-domain checker"
    capsys.readouterr()
    code = main(["predict", str(copy), str(model[1][0])])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith("raman-sk: error: ") and err.count("\n") == 1
    assert expected in err
    assert not marker.exists()


# ------------------------------------------------------------ mismatches
def test_pipeline_format_version_mismatch(copy):
    _edit_json(copy / "pipeline.json", lambda c: c.update(format_version=0))
    with pytest.raises(ValueError, match=r"pipeline.json' has format version 0.*reads"):
        load_pipeline(copy)


def test_classifier_format_version_mismatch_inside_a_pipeline(copy):
    _edit_json(copy / CLF_DIR / "config.json", lambda c: c.update(format_version=7))
    with pytest.raises(ValueError, match=r"config.json' has format version 7"):
        load_pipeline(copy)


def test_wrong_kind_of_file(copy):
    shutil.copy(copy / CLF_DIR / "config.json", copy / "pipeline.json")
    with pytest.raises(ValueError, match="is not a raman_sk.pipeline file"):
        load_pipeline(copy)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (
            lambda c: c["fitted"].update(n_features_in_=100),
            "(?s)incompatible architecture.*size mismatch",
        ),
        (
            lambda c: c["fitted"]["classes_"]["values"].append("c"),
            "(?s)incompatible architecture.*size mismatch",
        ),
        (
            lambda c: c["params"].update(module__channels={"tuple": [4, 8, 16]}),
            "incompatible architecture.*kernel_sizes must have one entry per block",
        ),
        (
            lambda c: c["params"].update(module__convs_per_block=2),
            "(?s)incompatible architecture.*(Missing|Unexpected) key",
        ),
    ],
    ids=["n_features", "n_classes", "n_blocks", "convs_per_block"],
)
def test_architecture_mismatch(copy, edit, match):
    _edit_json(copy / CLF_DIR / "config.json", edit)
    with pytest.raises(ValueError, match=match):
        load_pipeline(copy)


def test_weights_of_another_model(copy, synthetic, tmp_path):
    """Weights (with their checksum) taken from a model of another shape."""
    from raman_sk import RamanCNNClassifier

    other = RamanCNNClassifier(
        module__channels=(4, 8),
        module__kernel_sizes=(5, 3),
        module__convs_per_block=1,
        module__hidden=8,
        max_epochs=1,
        random_state=0,
        n_threads=1,
    ).fit(synthetic.data, synthetic.target)
    other.save(tmp_path / "other")
    _replace_weights(copy, (tmp_path / "other" / "weights.safetensors").read_bytes())
    with pytest.raises(ValueError, match="incompatible architecture"):
        load_pipeline(copy)


def test_domain_checker_of_another_grid(copy, model, capsys):
    with np.load(copy / "domain.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["reference"] = arrays["reference"][:, :100]
    np.savez(copy / "domain.npz", **arrays)
    capsys.readouterr()
    code = main(["predict", str(copy), str(model[1][0])])
    _, err = capsys.readouterr()
    assert code == 2 and "domain.npz" in err and "100" in err
