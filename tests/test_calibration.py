"""Calibration, conformal prediction sets and the molecule library, with values."""

import json
import math

import numpy as np
import pytest
from scipy.special import softmax

from raman_sk.calibration import (
    ProbabilityCalibrator,
    brier_score,
    conformal_quantile,
    cross_fit_calibration,
    expected_calibration_error,
    fit_temperature,
    format_sets,
    load_calibration,
    log_loss,
    plot_reliability,
    reliability_bins,
    save_calibration,
    scale_temperature,
)
from raman_sk.library import MoleculeLibrary, load_library, save_library
from tests.test_legacy_models import LEGACY

CLASSES = ["a", "b", "c"]


def synthetic_scores(n, *, sharpen=1.0, seed=0, n_classes=3):
    """Labels drawn from softmax(z); the model reports softmax(sharpen * z)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 2.0, size=(n, n_classes))
    truth = softmax(z, axis=1)
    y = np.array([rng.choice(n_classes, p=p) for p in truth])
    names = np.array(CLASSES[:n_classes] if n_classes <= 3 else range(n_classes))
    return names[y], softmax(sharpen * z, axis=1), names


# ------------------------------------------------------------------ scores
def test_ece_of_a_hand_made_example():
    # bins (0.3, 0.4]: 2 rows, 1 right; (0.8, 0.9]: 3 rows, 3 right;
    # (0.9, 1.0]: 1 row, wrong
    proba = [
        [0.35, 0.33, 0.32],
        [0.34, 0.33, 0.33],
        [0.85, 0.10, 0.05],
        [0.85, 0.05, 0.10],
        [0.82, 0.10, 0.08],
        [0.95, 0.03, 0.02],
    ]
    y = ["a", "b", "a", "a", "a", "c"]
    bins = reliability_bins(y, proba, CLASSES)
    assert bins["count"].tolist() == [0, 0, 0, 2, 0, 0, 0, 0, 3, 1]
    np.testing.assert_allclose(bins.loc[3, ["confidence", "accuracy"]], [0.345, 0.5])
    np.testing.assert_allclose(bins.loc[8, ["confidence", "accuracy"]], [0.84, 1.0])
    want = (2 * abs(0.5 - 0.345) + 3 * abs(1.0 - 0.84) + 1 * abs(0.0 - 0.95)) / 6
    assert expected_calibration_error(y, proba, CLASSES) == pytest.approx(want)


def test_brier_and_log_loss_by_hand():
    proba = [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]
    y = ["a", "b"]
    want = ((0.3**2 + 0.2**2 + 0.1**2) + (0.1**2 + 0.9**2 + 0.8**2)) / 2
    assert brier_score(y, proba, CLASSES) == pytest.approx(want)
    assert log_loss(y, proba, CLASSES) == pytest.approx(
        -(math.log(0.7) + math.log(0.1)) / 2
    )


def test_scores_reject_bad_input():
    with pytest.raises(ValueError, match="labels not in classes"):
        brier_score(["z"], [[0.5, 0.5, 0.0]], CLASSES)
    with pytest.raises(ValueError, match="3 classes"):
        log_loss(["a"], [[0.5, 0.5]], CLASSES)
    with pytest.raises(ValueError, match="finite, non-negative"):
        expected_calibration_error(["a"], [[np.nan, 0.5, 0.5]], CLASSES)


# ------------------------------------------------------------- temperature
@pytest.mark.parametrize("sharpen", [0.5, 2.0])
def test_temperature_recovers_a_known_value(sharpen):
    y, proba, names = synthetic_scores(6000, sharpen=sharpen, seed=1)
    t = fit_temperature(y, proba, names)
    assert t == pytest.approx(sharpen, rel=0.08)
    calibrated = scale_temperature(proba, t)
    # the label never changes; calibration gets better
    np.testing.assert_array_equal(calibrated.argmax(1), proba.argmax(1))
    assert log_loss(y, calibrated, names) < log_loss(y, proba, names)
    assert expected_calibration_error(y, calibrated, names) < 0.03


def test_scale_temperature_one_is_identity():
    p = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    np.testing.assert_allclose(scale_temperature(p, 1.0), p)
    assert np.isfinite(scale_temperature([[1.0, 0.0, 0.0]], 3.0)).all()


# ---------------------------------------------------------------- conformal
def test_finite_sample_quantile_by_hand():
    scores = np.arange(1, 20) / 20.0  # 19 distinct scores 0.05 .. 0.95
    # ceil((19 + 1) * 0.9) = 18 -> the 18th smallest
    assert conformal_quantile(scores, 0.1) == pytest.approx(0.90)
    # ceil(20 * 0.8) = 16
    assert conformal_quantile(scores, 0.2) == pytest.approx(0.80)
    # 8 scores at alpha 0.1: ceil(9 * 0.9) = 9 > 8, no finite threshold
    assert conformal_quantile(scores[:8], 0.1) == 1.0
    with pytest.raises(ValueError, match="alpha must be in"):
        conformal_quantile(scores, 1.0)


def test_prediction_sets_and_sizes_by_hand():
    # calibration: true-class probabilities 0.9, 0.8, ... -> scores 0.1, 0.2, ...
    p_true = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.15])
    proba = np.column_stack([p_true, (1 - p_true) / 2, (1 - p_true) / 2])
    cal = ProbabilityCalibrator(alpha=0.2, temperature=False)
    cal.fit(proba, ["a"] * 9, CLASSES)
    # ceil(10 * 0.8) = 8th smallest score: 1 - 0.2
    assert cal.quantile_ == pytest.approx(0.8)
    assert cal.temperature_ == 1.0 and cal.n_calibration_ == 9
    new = np.array([[0.7, 0.2, 0.1], [0.4, 0.35, 0.25], [0.1, 0.1, 0.8],
                    [0.19, 0.19, 0.62]])
    sets = cal.prediction_sets(new)  # keep classes with p >= 0.2
    assert sets.tolist() == [
        [True, True, False],
        [True, True, True],
        [False, False, True],
        [False, False, True],
    ]
    assert sets.sum(axis=1).tolist() == [2, 3, 1, 1]
    assert format_sets(sets, CLASSES) == ["a|b", "a|b|c", "c", "c"]


def test_conformal_coverage_on_exchangeable_data():
    y, proba, names = synthetic_scores(20000, sharpen=1.5, seed=2)
    rng = np.random.default_rng(3)
    covered, sizes = [], []
    for _ in range(40):  # the guarantee holds on average over calibration draws
        idx = rng.permutation(len(y))
        cal_i, test_i = idx[:500], idx[500:]
        cal = ProbabilityCalibrator(alpha=0.1).fit(proba[cal_i], y[cal_i], names)
        sets = cal.prediction_sets(proba[test_i])
        true = np.searchsorted(names, y[test_i])
        covered.append(sets[np.arange(len(test_i)), true].mean())
        sizes.append(sets.sum(axis=1).mean())
    # 1 - alpha <= coverage <= 1 - alpha + 1 / (n + 1), up to the draws' noise
    assert np.mean(covered) >= 0.9 - 0.003
    assert np.mean(covered) <= 0.9 + 1 / 501 + 0.005
    assert 1.0 < np.mean(sizes) < 3.0


def test_sets_match_crepes():
    crepes = pytest.importorskip("crepes")
    rng = np.random.default_rng(4)
    proba_cal = rng.dirichlet(np.ones(4), size=300)
    y_cal = rng.integers(0, 4, 300)
    proba_new = rng.dirichlet(np.ones(4), size=200)
    for alpha in (0.05, 0.1, 0.2):
        ours = ProbabilityCalibrator(alpha=alpha, temperature=False).fit(
            proba_cal, y_cal, [0, 1, 2, 3]
        )
        ref = crepes.ConformalClassifier().fit(1 - proba_cal[np.arange(300), y_cal])
        theirs = ref.predict_set(1 - proba_new, confidence=1 - alpha, smoothing=False)
        np.testing.assert_array_equal(ours.prediction_sets(proba_new), theirs == 1)


def test_calibrator_validates_its_parameters():
    with pytest.raises(ValueError, match="alpha"):
        ProbabilityCalibrator(alpha=1.5).fit([[0.5, 0.5]] * 3, [0, 1, 0], [0, 1])
    cal = ProbabilityCalibrator().fit([[0.9, 0.1]] * 4, [0, 1, 0, 0], [0, 1])
    with pytest.raises(ValueError, match="2 classes"):
        cal.transform([[0.3, 0.3, 0.4]])


def test_cross_fit_calibration():
    y, proba, names = synthetic_scores(1200, sharpen=2.0, seed=5)
    folds = np.arange(1200) % 5
    r = cross_fit_calibration(y, proba, names, folds, alpha=0.1)
    assert r["n_samples"] == 1200 and len(r["temperature_folds"]) == 5
    assert all(t == pytest.approx(2.0, rel=0.2) for t in r["temperature_folds"])
    assert r["ece"] < r["ece_uncalibrated"]
    assert r["log_loss"] < r["log_loss_uncalibrated"]
    assert r["brier"] < r["brier_uncalibrated"]
    assert r["conformal_coverage"] >= 0.88
    assert sum(r["set_size_counts"].values()) == 1200
    assert r["conformal_mean_set_size"] == pytest.approx(r["sets"].sum(1).mean())
    assert set(r["per_class_coverage"]) == set(names)
    assert sum(r["per_class_n"].values()) == 1200
    # each fold's rows are calibrated by the other folds only
    other = ProbabilityCalibrator().fit(proba[folds != 0], y[folds != 0], names)
    np.testing.assert_allclose(r["calibrated"][folds == 0],
                               other.transform(proba[folds == 0]))


def test_reliability_figure_has_counts():
    y, proba, names = synthetic_scores(300, sharpen=2.0, seed=6)
    ax = plot_reliability(y, proba, names, calibrated=scale_temperature(proba, 2.0))
    assert len(ax.patches) == 20  # 10 bins before, 10 after
    counts = [int(t.get_text()) for t in ax.texts]
    assert sum(counts) == 2 * 300
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


# -------------------------------------------------------------- persistence
def test_calibration_json_round_trip(tmp_path):
    y, proba, names = synthetic_scores(400, sharpen=2.0, seed=7)
    cal = ProbabilityCalibrator(alpha=0.2).fit(proba, y, names)
    path = save_calibration(cal, tmp_path, note="synthetic out-of-fold scores")
    record = json.loads(path.read_text())
    assert record["classes"] == ["a", "b", "c"] and record["alpha"] == 0.2
    assert record["fitted_on"] == "synthetic out-of-fold scores"
    assert set(record) >= {"temperature", "quantile", "n_calibration", "format"}
    same = load_calibration(tmp_path)
    assert same.temperature_ == cal.temperature_ and same.quantile_ == cal.quantile_
    np.testing.assert_array_equal(
        same.prediction_sets(proba), cal.prediction_sets(proba)
    )
    np.testing.assert_allclose(same.transform(proba), cal.transform(proba))


def test_calibration_json_bad_files(tmp_path):
    assert load_calibration(tmp_path) is None  # a model saved without one
    path = tmp_path / "calibration.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="cannot read the calibration"):
        load_calibration(tmp_path)
    good = {"format": "raman_sk.calibration/1", "temperature": 1.2, "alpha": 0.1,
            "quantile": 0.8, "classes": ["a", "b"]}
    for change in ({"format": "other"}, {"temperature": -1.0}, {"alpha": 2.0},
                   {"classes": "ab"}, {"quantile": None}):
        path.write_text(json.dumps({**good, **change}))
        with pytest.raises(ValueError, match="cannot read the calibration"):
            load_calibration(tmp_path)
    path.write_text(json.dumps(good))
    assert load_calibration(tmp_path).temperature_ == 1.2


def test_legacy_model_has_neither_calibration_nor_library():
    assert load_calibration(LEGACY / "train_model") is None
    assert load_library(LEGACY / "train_model") is None


# ------------------------------------------------------------------ library
def test_library_query_and_round_trip(tmp_path):
    rng = np.random.default_rng(8)
    ref = rng.normal(size=(6, 40))
    lib = MoleculeLibrary(ref, [f"m{i // 2}" for i in range(6)],
                          ["x", "x", "y", "y", "z", "z"], wavenumbers=np.arange(40.0))
    found = lib.query(3.0 * ref[[4, 1]] + 2.0)  # Pearson ignores scale and offset
    assert found["nearest_molecule"].tolist() == ["m2", "m0"]
    assert found["nearest_class"].tolist() == ["z", "x"]
    np.testing.assert_allclose(found["nearest_similarity"], 1.0)
    assert lib.query(np.zeros((1, 40)))["nearest_similarity"].tolist() == [0.0]
    with pytest.raises(ValueError, match="40 points"):
        lib.query(ref[:, :10])
    same = load_library(save_library(lib, tmp_path).parent)
    np.testing.assert_array_equal(same.reference, ref)
    np.testing.assert_array_equal(same.wavenumbers, np.arange(40.0))
    assert same.molecules.tolist() == lib.molecules.tolist()


def test_library_bad_files(tmp_path):
    with pytest.raises(ValueError, match="one molecule and class per spectrum"):
        MoleculeLibrary(np.ones((3, 4)), ["a", "b"], ["x", "y", "z"])
    np.savez(tmp_path / "library.npz", reference=np.ones((2, 3)),
             molecules=np.array(["a", "b"], dtype=object),
             classes=np.array(["x", "y"]))
    with pytest.raises(ValueError, match="cannot read the library"):
        load_library(tmp_path)  # object arrays need pickle: refused
    np.savez(tmp_path / "library.npz", reference=np.ones((2, 3)))
    with pytest.raises(ValueError, match="missing arrays"):
        load_library(tmp_path)
