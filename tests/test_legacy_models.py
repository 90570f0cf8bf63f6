"""Model directories written by raman_sk 0.1.0 keep loading and predicting.

``tests/data/legacy_v0_1`` was written by the 0.1.0 code before the package was
restructured: ``train_model/`` by ``raman-sk train`` (pipeline + domain checker),
``classifier/`` by ``RamanCNNClassifier.save``. ``expected.npz`` holds what that
code predicted for the stored inputs.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raman_sk import RamanCNNClassifier, load_pipeline
from raman_sk.cli import main

LEGACY = Path(__file__).parent / "data" / "legacy_v0_1"


@pytest.fixture(scope="module")
def expected():
    with np.load(LEGACY / "expected.npz") as data:
        return dict(data)


def _pairs(axis, X):
    return [(axis, x) for x in X]


def test_legacy_pipeline_predicts_as_before(expected):
    pipe = load_pipeline(LEGACY / "train_model")
    X = _pairs(expected["pipeline_axis"], expected["pipeline_X"])
    np.testing.assert_allclose(
        pipe.predict_proba(X), expected["pipeline_proba"], rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(pipe.predict(X), expected["pipeline_pred"])


def test_legacy_classifier_predicts_as_before(expected):
    clf = RamanCNNClassifier.load(LEGACY / "classifier")
    X = expected["classifier_X"]
    np.testing.assert_allclose(
        clf.predict_proba(X), expected["classifier_proba"], rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(clf.predict(X), expected["classifier_pred"])
    assert list(clf.classes_) == ["x", "y", "z"]


def test_legacy_domain_checker_scores_as_before(expected):
    from raman_sk.domain import load_domain_checker

    pipe = load_pipeline(LEGACY / "train_model")
    checker = load_domain_checker(LEGACY / "train_model")
    Xg = pipe[:-1].transform(
        _pairs(expected["pipeline_axis"], expected["domain_probe_X"])
    )
    np.testing.assert_allclose(
        checker.score_samples(Xg), expected["domain_probe_scores"], atol=1e-9
    )
    np.testing.assert_array_equal(checker.predict(Xg), expected["domain_probe_flags"])


def test_legacy_model_predicts_through_cli(expected, tmp_path):
    axis = expected["pipeline_axis"]
    path = tmp_path / "s.txt"
    x = expected["pipeline_X"][0]
    path.write_text("".join(f"{a:g}\t{v:.9g}\n" for a, v in zip(axis, x, strict=True)))
    out = tmp_path / "pred.csv"
    assert (
        main(["predict", str(LEGACY / "train_model"), str(path), "--out", str(out)])
        == 0
    )
    table = pd.read_csv(out)
    assert table["label"].tolist() == [expected["pipeline_pred"][0]]
    np.testing.assert_allclose(
        table[["prob_a", "prob_b"]].to_numpy()[0],
        expected["pipeline_proba"][0],
        atol=1e-5,
    )
    assert not table["out_of_domain"].iloc[0]
