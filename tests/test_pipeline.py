"""make_raman_pipeline, fit_with_validation and the prediction table."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from raman_sk.classifier import EpochProgress, FinalWeights, RamanCNNClassifier
from raman_sk.domain import NearestSpectrumChecker
from raman_sk.evaluation import cleaning_change, grouped_train_valid_test_split
from raman_sk.pipeline import (
    find_step,
    fit_with_validation,
    history_frame,
    make_raman_pipeline,
    predict_table,
    spike_window,
    split_pipeline,
)
from raman_sk.preprocessing import (
    BaselineRemover,
    SavitzkyGolay,
    SpectralAugmenter,
    SpectrumNormalizer,
    SpikeRemover,
    WavenumberResampler,
)
from tests._helpers import OOD_SCORES, TINY_NET

TINY = {
    **TINY_NET,
    "n_threads": 1,
}
GRID = np.arange(600.0, 1110.0, 2.0)  # inside the synthetic axis 600..1110


def tiny_pipeline(synthetic, **params):
    kw = {"max_epochs": 3, "random_state": 0, "lr": 3e-3, **TINY, **params}
    return make_raman_pipeline(
        synthetic.wavenumbers, target_wavenumbers=GRID, baseline_lam=1e3, **kw
    )


@pytest.fixture(scope="module")
def fitted(synthetic):
    y, g = synthetic.target, synthetic.groups
    tr, va, te = grouped_train_valid_test_split(
        y, g, test_size=0.25, valid_size=0.25, random_state=0
    )
    pipe = tiny_pipeline(synthetic, augmenter=SpectralAugmenter(n_copies=2))
    X = synthetic.data
    best, final = fit_with_validation(pipe, X[tr], y[tr], X[va], y[va])
    return {"best": best, "final": final, "tr": tr, "va": va, "te": te, "pipe": pipe}


def test_pipeline_steps_match_the_preprocessing_classes():
    pipe = make_raman_pipeline(np.arange(450.0, 1801.0), max_epochs=7)
    assert [type(s) for _, s in pipe.steps] == [
        WavenumberResampler,
        SpikeRemover,
        SavitzkyGolay,
        BaselineRemover,
        SpectrumNormalizer,
        RamanCNNClassifier,
    ]
    params = pipe.get_params()
    assert params["spikeremover__window"] == 4  # spike_window() of a 1 cm-1 grid
    assert params["savitzkygolay__window_length"] == 11
    assert params["savitzkygolay__polyorder"] == 3
    assert params["baselineremover__method"] == "airpls"
    assert params["baselineremover__lam"] == 1e5
    assert params["spectrumnormalizer__method"] == "minmax"
    assert params["wavenumberresampler__coverage"] == "raise"
    assert params["ramancnnclassifier__max_epochs"] == 7
    # every key is settable (the grid-search contract)
    pipe.set_params(ramancnnclassifier__module__kernel_sizes=(9, 7, 5))
    assert pipe[-1].module__kernel_sizes == (9, 7, 5)


def test_despiking_removes_a_cosmic_ray_before_the_scaling():
    grid = np.arange(450.0, 1801.0)
    x = 100 * np.exp(-0.5 * ((grid - 1000) / 5) ** 2) + 10
    spiked = x.copy()
    spiked[700] += 3000  # one-point cosmic ray, 30x the band
    pre = make_raman_pipeline(grid)[:-1]
    clean, with_spike = pre.fit_transform(np.vstack([x, spiked]))
    np.testing.assert_allclose(with_spike, clean, atol=1e-3)
    raw = make_raman_pipeline(grid, despike=False)[:-1]
    assert [n for n, _ in raw.steps][1] == "savitzkygolay"
    # without it the spike is the maximum and the band shrinks below 0.2
    assert raw.fit_transform(spiked[None])[0, 550] < 0.2


def test_a_spike_of_a_coarse_raw_axis_is_removed_after_resampling():
    # one pixel of an axis at 1.8 cm-1 per pixel: linear interpolation spreads
    # it over 2 x 1.8 cm-1, four points of the 1 cm-1 grid
    axis = np.arange(440.5, 1810.0, 1.8)
    x = 100 * np.exp(-0.5 * ((axis - 1000) / 5) ** 2) + 10
    spiked = x.copy()
    k = int(np.argmin(np.abs(axis - 701.5)))  # between grid points
    spiked[k] += 3000
    grid = np.arange(450.0, 1801.0)
    pre = make_raman_pipeline(grid)[:-1]
    resampled = pre[:1].fit_transform([(axis, spiked)])[0]
    assert np.sum(resampled - np.interp(grid, axis, x) > 1) == 4
    clean, with_spike = pre.fit_transform([(axis, x), (axis, spiked)])
    np.testing.assert_allclose(with_spike, clean, atol=1e-3)
    # the remover's own default (3 points) leaves it: the band drops below 0.2
    narrow = make_raman_pipeline(grid)[:-1].set_params(spikeremover__window=3)
    assert narrow.fit_transform([(axis, spiked)])[0, 550] < 0.2
    # the window follows the grid: 4 cm-1 of it, never below 3 points
    assert spike_window() == 4
    assert spike_window(np.arange(450.0, 1800.1, 0.5)) == 8
    assert spike_window(np.arange(450.0, 1801.0, 2.0)) == 3
    fine = make_raman_pipeline(target_wavenumbers=np.arange(450.0, 1800.1, 0.5))
    assert fine.get_params()["spikeremover__window"] == 8


def test_pipeline_without_cleaning_and_custom_classifier():
    pipe = make_raman_pipeline(cleaning=False, classifier=LogisticRegression())
    assert [name for name, _ in pipe.steps] == [
        "wavenumberresampler",
        "logisticregression",
    ]
    with pytest.raises(TypeError, match="not both: got \\['max_epochs'\\]"):
        make_raman_pipeline(classifier=LogisticRegression(), max_epochs=3)


def test_split_pipeline_and_find_step():
    pipe = make_raman_pipeline()
    pre, final = split_pipeline(pipe)
    assert len(pre.steps) == 5 and final is pipe.steps[-1][1]
    assert split_pipeline(pipe[-1]) == (None, pipe[-1])
    assert split_pipeline(pipe[-1:])[0] is None
    with pytest.raises(ValueError, match="no steps"):
        split_pipeline(Pipeline([]))
    assert find_step(pipe, BaselineRemover) is pipe.steps[3][1]
    assert find_step(pipe, LogisticRegression) is None


def test_fit_with_validation_best_and_final(fitted, synthetic):
    best, final = fitted["best"], fitted["final"]
    clf = best[-1]
    # 3 epochs, validation scores recorded each epoch
    log = history_frame(best)
    assert list(log.columns) == [
        "epoch",
        "train_loss",
        "valid_loss",
        "valid_acc",
        "lr",
        "dur",
    ]
    assert log["epoch"].tolist() == [1, 2, 3]
    assert log[["train_loss", "valid_loss", "valid_acc", "dur"]].notna().all().all()
    # cosine schedule over 3 epochs: lr decreases from 3e-3
    assert log["lr"].iloc[0] == pytest.approx(3e-3)
    assert log["lr"].is_monotonic_decreasing
    # the best checkpoint is the epoch with the lowest validation loss
    assert clf.best_epoch_ == int(log["valid_loss"].idxmin()) + 1
    # the augmenter saw the training part only: 2 copies of each training row
    assert clf.augmenter_ is not None
    # the params that cannot be saved are reset, the fitted state is kept
    assert clf.train_split is None and clf.callbacks is None
    # final holds other weights than best unless the last epoch was the best
    wb = best[-1].module_.state_dict()
    wf = final[-1].module_.state_dict()
    same = all(torch.equal(wb[k], wf[k]) for k in wb)
    assert same == (clf.best_epoch_ == 3)
    X_te = synthetic.data[fitted["te"]]
    assert best.predict_proba(X_te).shape == (len(fitted["te"]), 3)


def test_final_weights_equal_a_run_without_restoring(fitted, synthetic):
    # the same fit with restore_best=False ends on the last epoch's weights
    X, y = synthetic.data, synthetic.target
    tr, va = fitted["tr"], fitted["va"]
    pipe = clone(fitted["pipe"]).set_params(ramancnnclassifier__restore_best=False)
    last, _ = fit_with_validation(pipe, X[tr], y[tr], X[va], y[va], keep_final=False)
    np.testing.assert_allclose(
        last.predict_proba(X), fitted["final"].predict_proba(X), rtol=1e-5, atol=1e-6
    )


def test_validation_is_preprocessed_by_steps_fitted_on_train(synthetic):
    seen = {}

    class Spy(RamanCNNClassifier):
        def get_split_datasets(self, X, y=None, **fit_params):
            train, valid = super().get_split_datasets(X, y, **fit_params)
            seen["train"], seen["valid"] = len(train), valid.X.cpu().numpy()
            return train, valid

    X, y, g = synthetic.data, synthetic.target, synthetic.groups
    tr, va, _ = grouped_train_valid_test_split(y, g, test_size=0.25, random_state=1)
    clf = Spy(max_epochs=1, random_state=0, augmenter=SpectralAugmenter(n_copies=2))
    clf.set_params(**TINY)
    pipe = make_raman_pipeline(
        synthetic.wavenumbers, target_wavenumbers=GRID, baseline_lam=1e3, classifier=clf
    )
    best, final = fit_with_validation(pipe, X[tr], y[tr], X[va], y[va])
    expected = best[:-1].transform(X[va]).astype(np.float32)
    np.testing.assert_allclose(seen["valid"], expected, rtol=1e-6)
    assert seen["valid"].min() == 0.0 and seen["valid"].max() == 1.0  # min-max
    assert seen["train"] == 3 * len(tr)  # originals + 2 copies, training part only


def test_fit_with_validation_errors(synthetic):
    pipe = tiny_pipeline(synthetic)
    X, y = synthetic.data, synthetic.target
    with pytest.raises(ValueError, match="X_valid is empty"):
        fit_with_validation(pipe, X, y, X[:0], y[:0])


def test_callbacks_alone(synthetic):
    X, y = synthetic.data, synthetic.target
    fw = FinalWeights()
    clf = RamanCNNClassifier(
        max_epochs=2,
        random_state=0,
        callbacks=[("fw", fw), ("bar", EpochProgress(disable=True))],
        **TINY,
    ).fit(X[:, :64], y)
    assert fw.epoch_ == 2
    current = clf.module_.state_dict()
    assert all(torch.equal(current[k], fw.state_dict_[k]) for k in current)
    # no validation part: the log has NaN validation columns
    log = history_frame(clf)
    assert log["valid_loss"].isna().all() and log["train_loss"].notna().all()
    with pytest.raises(NotFittedError):
        history_frame(RamanCNNClassifier())


def test_predict_table(fitted, synthetic):
    best = fitted["best"]
    X = synthetic.data[:5]
    table = predict_table(best, X, [f"s{i}" for i in range(5)])
    assert list(table.columns) == [
        "source",
        "label",
        "prob_alpha",
        "prob_beta",
        "prob_gamma",
        "calibrated",
        "prediction_set",
        "set_size",
        "nearest_molecule",
        "nearest_class",
        "nearest_similarity",
        "similarity",
        "effective_width",
        "peak_fwhm",
        "strongest_fwhm",
        "band_count",
        *OOD_SCORES,
        "out_of_domain",
        "ood_reason",
        "ood_evidence",
    ]
    probs = table[["prob_alpha", "prob_beta", "prob_gamma"]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    np.testing.assert_allclose(probs, best.predict_proba(X))  # not calibrated
    assert table["label"].tolist() == best.predict(X).tolist()
    assert table["similarity"].isna().all() and table["out_of_domain"].isna().all()
    assert not table["calibrated"].any() and table["set_size"].isna().all()
    assert (table["prediction_set"] == "").all()
    assert (table["nearest_molecule"] == "").all()
    assert table["nearest_similarity"].isna().all()
    checker = NearestSpectrumChecker().fit(best[:-1].transform(synthetic.data))
    table = predict_table(best, X, checker=checker)
    assert table["source"].tolist() == ["0", "1", "2", "3", "4"]
    np.testing.assert_allclose(table["similarity"], 1.0)  # they are in the reference
    assert not table["out_of_domain"].any()
    flat = np.tile(np.sin(synthetic.wavenumbers / 3.0), (1, 1))
    t2 = predict_table(best, flat, ["noise"], checker)
    assert bool(t2["out_of_domain"].iloc[0]) is True
    assert t2["ood_reason"].iloc[0].startswith("similarity ")
    with pytest.raises(ValueError, match="sources has 2 entries for 5 spectra"):
        predict_table(best, X, ["a", "b"])


@pytest.fixture(scope="module")
def trust_parts(fitted, synthetic):
    """Checker, calibrator and library of the fitted pipeline."""
    from raman_sk.calibration import ProbabilityCalibrator
    from raman_sk.library import MoleculeLibrary

    best = fitted["best"]
    te = fitted["te"]
    Xg = best[:-1].transform(synthetic.data)
    # held-out probabilities stand in for out-of-fold ones
    cal = ProbabilityCalibrator(alpha=0.2).fit(
        best.predict_proba(synthetic.data[te]), synthetic.target[te],
        best[-1].classes_,
    )
    return {
        "checker": NearestSpectrumChecker().fit(Xg, groups=synthetic.groups),
        "calibrator": cal,
        "library": MoleculeLibrary(Xg, synthetic.groups, synthetic.target),
    }


def test_predict_table_calibrated_sets_and_nearest_molecule(
    fitted, synthetic, trust_parts
):
    best = fitted["best"]
    X = synthetic.data[::6]
    table = predict_table(best, X, **trust_parts)
    cal = trust_parts["calibrator"]
    probs = table[["prob_alpha", "prob_beta", "prob_gamma"]].to_numpy()
    np.testing.assert_allclose(probs, cal.transform(best.predict_proba(X)))
    assert table["calibrated"].all()
    assert table["label"].tolist() == best.predict(X).tolist()  # argmax kept
    sets = cal.prediction_sets(probs, calibrated=True)
    assert table["set_size"].tolist() == sets.sum(axis=1).tolist()
    names = np.array(["alpha", "beta", "gamma"])
    assert table["prediction_set"].tolist() == ["|".join(names[s]) for s in sets]
    # every spectrum is in the library: its own molecule, class, similarity 1
    assert table["nearest_molecule"].tolist() == synthetic.groups[::6].tolist()
    assert table["nearest_class"].tolist() == synthetic.target[::6].tolist()
    np.testing.assert_allclose(table["nearest_similarity"], 1.0)
    assert table["out_of_domain"].dtype == bool and not table["out_of_domain"].any()
    # a calibration of other classes does not belong to the model
    other = copy.deepcopy(cal)
    other.classes_ = np.array(["x", "y", "z"])
    with pytest.raises(ValueError, match="do not belong together"):
        predict_table(best, X, calibrator=other)


@pytest.mark.parametrize("with_parts", [True, False])
def test_predict_table_flags_bad_input(fitted, synthetic, trust_parts, with_parts):
    best = fitted["best"]
    w = synthetic.wavenumbers
    X = np.vstack([synthetic.data[:2], np.zeros((1, w.size)),
                   np.full((1, w.size), 3.5), synthetic.data[2:3]])
    X[4, 10] = np.nan
    parts = trust_parts if with_parts else {}
    table = predict_table(best, X, ["ok0", "ok1", "zeros", "flat", "nan"], **parts)
    assert len(table) == 5
    bad = table.iloc[2:]
    assert bad["label"].isna().all()
    assert bad[["prob_alpha", "prob_beta", "prob_gamma"]].isna().all().all()
    assert bad["out_of_domain"].tolist() == [True, True, True]
    assert bad["ood_reason"].tolist() == [
        "bad input: flat spectrum (every intensity 0)",
        "bad input: flat spectrum (every intensity 3.5)",
        "bad input: intensities contain NaN or inf",
    ]
    assert bad["set_size"].isna().all() and (bad["nearest_molecule"] == "").all()
    good = table.iloc[:2]
    assert good["label"].tolist() == best.predict(X[:2]).tolist()
    if with_parts:
        assert table["out_of_domain"].dtype == bool
        assert not good["out_of_domain"].any() and good["set_size"].notna().all()
    else:
        assert good["out_of_domain"].isna().all()
    # (wavenumbers, intensities) pairs: a NaN axis or intensity is one flagged row
    pairs = [(w, synthetic.data[0]), (np.r_[w[:-1], np.nan], synthetic.data[1]),
             (w, np.zeros(w.size))]
    t2 = predict_table(best, pairs, **parts)
    assert t2["ood_reason"].tolist()[1:] == [
        "bad input: wavenumbers contain NaN or inf",
        "bad input: flat spectrum (every intensity 0)",
    ]
    assert t2["label"].iloc[0] == best.predict(synthetic.data[:1])[0]
    # nothing classifiable at all: still a table
    t3 = predict_table(best, np.zeros((2, w.size)), **parts)
    assert t3["out_of_domain"].all() and t3["label"].isna().all()
    # a saturated detector: classified, but flagged whatever the checker says
    clipped = synthetic.data[0].copy()
    k = int(np.argmax(clipped))
    clipped[max(k - 3, 0):max(k - 3, 0) + 7] = clipped.max() * 1.5  # 7 at the limit
    t4 = predict_table(best, np.vstack([synthetic.data[0], clipped]), **parts)
    assert t4["label"].notna().all()
    assert t4["ood_reason"].iloc[1].startswith(
        f"saturated: 7 points at the maximum {clipped.max():g}")
    assert bool(t4["out_of_domain"].iloc[1]) and t4["ood_score"].iloc[1] == np.inf
    assert "saturated" not in t4["ood_reason"].iloc[0]


def test_predict_table_takes_pairs(fitted, synthetic):
    # (wavenumbers, intensities) pairs carry their own axis
    w = synthetic.wavenumbers
    pairs = [(w[::-1], s[::-1]) for s in synthetic.data[:3]]
    a = predict_table(fitted["best"], pairs)
    b = predict_table(fitted["best"], synthetic.data[:3])
    pd.testing.assert_frame_equal(a, b)


def test_cleaning_change_on_the_database():
    """How much the pipeline's cleaning changes the already clean database."""
    pytest.importorskip("ramanbiolib")
    from raman_sk.datasets import load_ramanbiolib

    bunch = load_ramanbiolib()
    pre = make_raman_pipeline(bunch.wavenumbers)[:-1]
    change = cleaning_change(bunch.data, pre.fit_transform(bunch.data))
    # the database spectra are already clean: cleaning them again changes little
    assert change["n_samples"] == 194
    assert change["rel_l2_median"] < 0.08
    assert change["rel_l2_p90"] < 0.25
    assert change["corr_median"] > 0.99
    assert change["corr_min"] > 0.85
