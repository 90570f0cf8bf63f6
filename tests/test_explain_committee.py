"""IGExplainer on a RamanCNNCommittee: the mean of its members' explanations."""

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.pipeline import make_pipeline

from raman_sk.classifier import RamanCNNClassifier, RamanCNNCommittee
from raman_sk.explain import (
    MAP_NAMES,
    STABILITY_COLUMNS,
    IGExplainer,
    map_stability,
    model_randomization_check,
    seed_control_check,
)
from raman_sk.preprocessing import WavenumberResampler
from raman_sk.utils._torch import torch_threads
from tests._explain_helpers import TRAIN, fit_explainer, train_cnn

SETTINGS = {"n_steps": 32, "n_per_class": 4, "random_state": 0, "tolerance": 0.05}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def committee(synthetic):
    w = synthetic.wavenumbers
    member = RamanCNNClassifier(**{**TRAIN, "max_epochs": 10})
    pipe = make_pipeline(
        WavenumberResampler(wavenumbers=w, target_wavenumbers=w),
        RamanCNNCommittee(member, cv=3, random_state=0),
    )
    return pipe.fit(
        synthetic.data, synthetic.target, ramancnncommittee__groups=synthetic.groups
    )


@pytest.fixture(scope="module")
def ig(committee, synthetic):
    return IGExplainer(committee, **SETTINGS).fit(synthetic.data, synthetic.target)


def _single(committee, k, synthetic):
    """The explainer of member ``k`` alone, in the same pipeline."""
    pipe = make_pipeline(committee[0], committee[-1].estimators_[k])
    return IGExplainer(pipe, **SETTINGS).fit(synthetic.data, synthetic.target)


@pytest.fixture(scope="module")
def singles(committee, synthetic):
    return [_single(committee, k, synthetic) for k in range(3)]


def test_maps_are_the_mean_of_the_single_member_maps(ig, singles):
    assert ig.n_members_ == 3
    assert ig.member_saliency_.shape == (3, 3, 256)
    for name in MAP_NAMES:
        assert ig.member_maps_[name].shape == (3, 3, 256)
        for k, one in enumerate(singles):
            np.testing.assert_allclose(ig.member_maps_[name][k], one.maps_[name])
        expected = (singles[0].maps_[name] + singles[1].maps_[name]
                    + singles[2].maps_[name]) / 3
        np.testing.assert_allclose(ig.maps_[name], expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(ig.saliency_, ig.maps_["abs_ig"])
    np.testing.assert_array_equal(ig.sample_indices_, singles[0].sample_indices_)
    assert set(ig.regions_["class"]) == {"alpha", "beta", "gamma"}


def test_completeness_of_the_mean_against_the_mean_score(ig):
    # IG is linear in the function: the mean attribution is complete for the
    # members' mean score
    assert ig.convergence_delta_.shape == (12,)
    assert np.all(ig.relative_delta_ < 0.05)


def test_max_members_uses_the_first_members(committee, singles, synthetic):
    ig2 = IGExplainer(committee, max_members=2, **SETTINGS).fit(
        synthetic.data, synthetic.target
    )
    assert ig2.n_members_ == 2
    first, second = (one.maps_["contrastive_ig"] for one in singles[:2])
    expected = (first + second) / 2
    np.testing.assert_allclose(ig2.maps_["contrastive_ig"], expected, rtol=1e-12)
    with pytest.raises(ValueError, match="max_members"):
        IGExplainer(committee, max_members=0).fit(synthetic.data, synthetic.target)


# a target other than the prediction: its small score needs more steps
@pytest.mark.filterwarnings("ignore:Integrated Gradients completeness")
def test_explain_averages_members_on_the_committee_prediction(ig, singles, committee,
                                                              synthetic):
    X = synthetic.data[:5]
    predicted = committee.predict(X)
    A, delta = ig.explain(X, return_delta=True)
    expected = np.mean([one.explain(X, target=predicted) for one in singles], axis=0)
    np.testing.assert_allclose(A, expected, rtol=1e-10, atol=1e-12)
    assert delta.shape == (5,)
    target = ["beta"] * 5
    expected = np.mean([one.explain(X, target=target) for one in singles], axis=0)
    np.testing.assert_allclose(ig.explain(X, target=target), expected, rtol=1e-10,
                               atol=1e-12)


def test_map_stability_is_the_pairwise_spearman(ig):
    table = map_stability(ig)
    assert list(table.columns) == list(STABILITY_COLUMNS)
    assert table["class"].tolist() == ["alpha", "beta", "gamma"]
    assert set(table["map"]) == {"contrastive_ig"} and set(table["n_members"]) == {3}
    m = ig.member_maps_["contrastive_ig"]
    for k in range(3):
        rhos = [spearmanr(m[i, k], m[j, k]).statistic
                for i, j in ((0, 1), (0, 2), (1, 2))]
        assert table["mean_spearman"][k] == pytest.approx(np.mean(rhos))
        assert table["min_spearman"][k] == pytest.approx(np.min(rhos))
    assert map_stability(ig, "abs_ig")["map"].tolist() == ["abs_ig"] * 3
    with pytest.raises(ValueError, match="map_name"):
        map_stability(ig, "nope")


def test_map_stability_of_one_classifier_is_nan(synthetic):
    one = fit_explainer(train_cnn(synthetic), synthetic)
    assert one.n_members_ == 1 and one.member_saliency_.shape == (1, 3, 256)
    np.testing.assert_array_equal(one.member_saliency_[0], one.saliency_)
    table = map_stability(one)
    assert table["n_members"].tolist() == [1, 1, 1]
    assert table["mean_spearman"].isna().all()


def test_sanity_checks_work_on_a_committee(ig, synthetic):
    X, y = synthetic.data, synthetic.target
    report = model_randomization_check(ig, X, cascade=False, random_state=0)
    assert report["stage"].unique().tolist() == ["all layers"]
    assert len(report) == len(MAP_NAMES) * 3
    assert report["spearman"].notna().all()
    # the map of the contrastive score does not survive re-initialisation
    contrastive = report[report["map"] == "contrastive_ig"]
    assert contrastive["spearman"].abs().mean() < 0.8
    control = seed_control_check(ig, X, y, random_state=0)
    assert len(control) == len(MAP_NAMES) * 3 and control["spearman"].notna().all()
