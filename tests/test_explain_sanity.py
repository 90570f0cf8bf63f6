"""Randomisation sanity checks of the explainer's maps (Adebayo et al. 2018)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from raman_sk.explain import (
    MAP_NAMES,
    SANITY_COLUMNS,
    IGExplainer,
    data_randomization_check,
    model_randomization_check,
    sanity_summary,
    seed_control_check,
)
from raman_sk.utils._torch import torch_threads
from tests._explain_helpers import fit_explainer, invalid, train_cnn


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny networks: one torch thread is fastest and robust to a busy machine."""
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def cnn(synthetic):
    return train_cnn(synthetic)


@pytest.fixture(scope="module")
def ig_fitted(cnn, synthetic):
    return fit_explainer(cnn, synthetic)


def test_model_randomization_separates_trained_from_random(ig_fitted, synthetic):
    # The synthetic maps are near zero except at two bands: Spearman ranks that
    # noise floor, so it sees randomisation sharply but agreement poorly;
    # Pearson weighs the bands and shows the control's agreement. (On the real
    # database both metrics agree: benchmarks/bench_ig.py sanity_study.)
    report = model_randomization_check(
        ig_fitted, synthetic.data, cascade=False, random_state=0
    )
    assert tuple(report.columns) == SANITY_COLUMNS
    assert report["stage"].unique().tolist() == ["all layers"]
    assert set(report["n_randomized"]) == {4}
    rho = report.groupby("map")["spearman"].mean()
    # signed maps decorrelate from a random network; mean |IG| does not
    assert abs(rho["signed_ig"]) < 0.2
    assert abs(rho["contrastive_ig"]) < 0.2
    assert rho["abs_ig"] > 0.4
    control = seed_control_check(
        ig_fitted, synthetic.data, synthetic.target, random_state=0
    )
    ctrl = control.groupby("map")["pearson"].mean()
    assert ctrl["signed_ig"] > 0.6 and ctrl["contrastive_ig"] > 0.6
    summary = sanity_summary(pd.concat([control, report]), "pearson")
    assert list(summary.columns) == list(MAP_NAMES)
    assert summary.index.tolist() == [
        ("control", "second trained seed"),
        ("model_randomization", "all layers"),
    ]


def test_sanity_checks_pass_with_a_binned_input(synthetic):
    # the binning averages pairs of points inside the network: attributions
    # stay per point and must still depend on the trained weights
    binned = train_cnn(synthetic, module__input_binning=2)
    assert binned[-1].module_.input_binning == 2
    explainer = fit_explainer(binned, synthetic)
    attributions = explainer.explain(synthetic.data[:2])
    assert attributions.shape[-1] == synthetic.data.shape[1]
    report = model_randomization_check(
        explainer, synthetic.data, cascade=False, random_state=0
    )
    rho = report.groupby("map")["spearman"].mean()
    assert abs(rho["signed_ig"]) < 0.2 and abs(rho["contrastive_ig"]) < 0.2
    control = seed_control_check(
        explainer, synthetic.data, synthetic.target, random_state=0
    )
    ctrl = control.groupby("map")["pearson"].mean()
    assert ctrl["signed_ig"] > 0.6 and ctrl["contrastive_ig"] > 0.6


@pytest.mark.slow
def test_full_sanity_check_cascade(ig_fitted, synthetic):
    report = ig_fitted.sanity_check(synthetic.data, synthetic.target, random_state=0)
    assert set(report["check"]) == {
        "control",
        "model_randomization",
        "data_randomization",
    }
    model = report[report["check"] == "model_randomization"]
    assert model["stage"].unique().tolist() == [
        "classifier.4",
        "classifier.1",
        "features.5+features.6",
        "features.0+features.1",
    ]
    np.testing.assert_array_equal(model["n_randomized"].unique(), [1, 2, 3, 4])
    summary = sanity_summary(report, "spearman")
    random = summary.loc[("model_randomization", "features.0+features.1")]
    assert abs(random["signed_ig"]) < 0.2 and random["abs_ig"] > 0.4


def test_same_pipeline_correlates_perfectly(ig_fitted, synthetic):
    """A "retrained" pipeline that is the trained one gives the same maps."""
    X, y = synthetic.data, synthetic.target
    for check in (data_randomization_check, seed_control_check):
        report = check(ig_fitted, X, y, pipeline=ig_fitted.pipeline)
        assert tuple(report.columns) == SANITY_COLUMNS
        assert len(report) == len(MAP_NAMES) * len(ig_fitted.classes_)
        np.testing.assert_allclose(report["pearson"], 1.0, atol=1e-6)
    assert set(
        data_randomization_check(ig_fitted, X, y, pipeline=ig_fitted.pipeline)["check"]
    ) == {"data_randomization"}


def test_model_randomization_leaves_the_pipeline_untouched(ig_fitted, synthetic):
    module = ig_fitted.pipeline[-1].module_
    state = {k: v.clone() for k, v in module.state_dict().items()}
    maps = {k: v.copy() for k, v in ig_fitted.maps_.items()}
    a = model_randomization_check(
        ig_fitted, synthetic.data, cascade=False, random_state=1
    )
    b = model_randomization_check(
        ig_fitted, synthetic.data, cascade=False, random_state=1
    )
    pd.testing.assert_frame_equal(a, b)  # seeded, without global seeding
    for k, v in module.state_dict().items():
        assert np.array_equal(v.numpy(), state[k].numpy())
    for k, v in maps.items():
        np.testing.assert_array_equal(ig_fitted.maps_[k], v)


def test_sanity_check_subset_and_bad_checks(ig_fitted, synthetic):
    X, y = synthetic.data, synthetic.target
    report = ig_fitted.sanity_check(X, y, checks="model", cascade=False, random_state=0)
    assert set(report["check"]) == {"model_randomization"}
    empty = ig_fitted.sanity_check(X, y, checks=())
    assert empty.empty and tuple(empty.columns) == SANITY_COLUMNS
    with pytest.raises(
        ValueError, match=invalid("checks", "weights", "IGExplainer.sanity_check")
    ):
        ig_fitted.sanity_check(X, y, checks=["model", "weights"])


def test_sanity_checks_bad_explainer_and_inputs(ig_fitted, cnn, synthetic):
    X, y = synthetic.data, synthetic.target
    with pytest.raises(TypeError, match="explainer must be an IGExplainer"):
        model_randomization_check(cnn, X)
    with pytest.raises(NotFittedError):
        seed_control_check(IGExplainer(cnn), X, y)
    with pytest.raises(ValueError, match="X has 5 spectra.*fitted on 36"):
        data_randomization_check(ig_fitted, X[:5], y[:5])


def test_sanity_summary_bad_metric_and_report():
    with pytest.raises(
        ValueError, match=invalid("metric", "kendall", "sanity_summary")
    ):
        sanity_summary(pd.DataFrame(columns=list(SANITY_COLUMNS)), "kendall")
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['stage'\]"):
        sanity_summary(pd.DataFrame(columns=["check", "map", "spearman"]))
