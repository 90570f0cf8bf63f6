"""RamanCNNCommittee: folds, out-of-fold predictions, averaging, pipeline, saving."""

import json
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GroupKFold, KFold, ShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from raman_sk import load_pipeline, save_pipeline
from raman_sk.classifier import RamanCNNClassifier, RamanCNNCommittee
from raman_sk.pipeline import history_frame, make_raman_pipeline, predict_table
from raman_sk.preprocessing import WavenumberResampler
from tests._helpers import TINY_FIT

MEMBER = {**TINY_FIT, "max_epochs": 2}


def _committee(**kw):
    return RamanCNNCommittee(RamanCNNClassifier(**MEMBER), **{"cv": 3, **kw})


@pytest.fixture(scope="module")
def fitted(synthetic):
    X, y, groups = synthetic.data, synthetic.target, synthetic.groups
    return _committee(random_state=0).fit(X, y, groups=groups)


def test_one_member_per_fold_and_groups_never_split(fitted, synthetic):
    groups = synthetic.groups
    assert len(fitted.estimators_) == 3
    assert all(isinstance(m, RamanCNNClassifier) for m in fitted.estimators_)
    # every row is held out exactly once, in one of the 3 folds
    assert fitted.oof_fold_.shape == (36,)
    assert sorted(np.unique(fitted.oof_fold_).tolist()) == [0, 1, 2]
    assert np.bincount(fitted.oof_fold_).sum() == 36
    for k in range(3):
        held = set(groups[fitted.oof_fold_ == k])
        seen = set(groups[fitted.oof_fold_ != k])
        assert held and not held & seen, k  # no molecule on both sides
    assert fitted.n_train_ == 36 and fitted.n_features_in_ == 256
    assert fitted.classes_.tolist() == ["alpha", "beta", "gamma"]


def test_members_train_on_their_fold_only(fitted, synthetic):
    # a member trained on the training part of its fold: refit its clone there
    X, y = synthetic.data, synthetic.target
    k = 1
    member = fitted.estimators_[k]
    train = fitted.oof_fold_ != k
    again = clone(member).fit(X[train], y[train])
    np.testing.assert_allclose(
        again.predict_proba(X), member.predict_proba(X), rtol=1e-6, atol=1e-7
    )


def test_oof_rows_come_from_the_member_that_did_not_see_them(fitted, synthetic):
    X = synthetic.data
    assert fitted.oof_proba_.shape == (36, 3)
    np.testing.assert_allclose(fitted.oof_proba_.sum(axis=1), 1.0)
    for k, member in enumerate(fitted.estimators_):
        held = fitted.oof_fold_ == k
        np.testing.assert_array_equal(
            fitted.oof_proba_[held], member.predict_proba(X[held])
        )


def test_predict_proba_is_the_members_mean(fitted, synthetic):
    X = synthetic.data[:5]
    p = [m.predict_proba(X) for m in fitted.estimators_]
    expected = (p[0] + p[1] + p[2]) / 3
    np.testing.assert_allclose(fitted.predict_proba(X), expected, rtol=0, atol=1e-15)
    assert fitted.predict(X).tolist() == fitted.classes_[
        expected.argmax(axis=1)
    ].tolist()
    assert fitted.predict(X).dtype == fitted.classes_.dtype


def test_member_seeds_differ_and_are_reproducible(fitted, synthetic):
    seeds = [m.random_state for m in fitted.estimators_]
    assert len(set(seeds)) == 3
    expected = np.random.RandomState(0).randint(0, 2**31 - 1, size=3).tolist()
    assert seeds == expected  # member k: the k-th integer of check_random_state(0)
    again = _committee(random_state=0).fit(
        synthetic.data, synthetic.target, groups=synthetic.groups
    )
    np.testing.assert_array_equal(again.oof_fold_, fitted.oof_fold_)
    np.testing.assert_array_equal(again.oof_proba_, fitted.oof_proba_)
    assert [m.random_state for m in again.estimators_] == seeds


def test_int_cv_is_the_benchmark_grouped_folds(fitted, synthetic):
    from sklearn.model_selection import StratifiedGroupKFold

    cv = StratifiedGroupKFold(3, shuffle=True, random_state=0)
    folds = cv.split(synthetic.data, synthetic.target, synthetic.groups)
    for k, (_, test) in enumerate(folds):
        assert np.flatnonzero(fitted.oof_fold_ == k).tolist() == test.tolist()


def test_without_groups_stratified_folds(synthetic):
    X, y = synthetic.data[::2], synthetic.target[::2]
    com = _committee(cv=2, random_state=1).fit(X, y)
    assert len(com.estimators_) == 2
    for k in range(2):  # stratified: every class on both sides
        assert set(y[com.oof_fold_ == k]) == set(y)


def test_splitter_and_partition_checks(synthetic):
    X, y, g = synthetic.data, synthetic.target, synthetic.groups
    com = _committee(cv=GroupKFold(2)).fit(X, y, groups=g)
    assert len(com.estimators_) == 2
    with pytest.raises(ValueError, match="more than one fold"):
        _committee(cv=ShuffleSplit(3, test_size=0.5, random_state=0)).fit(X, y)
    with pytest.raises(ValueError, match="out of every test part"):
        _committee(cv=[(np.arange(30), np.arange(30, 34))]).fit(X, y)
    with pytest.raises(ValueError, match="groups must have one entry"):
        _committee().fit(X, y, groups=g[:3])


def test_missing_class_in_a_training_part_keeps_the_columns(synthetic):
    # fold 0 holds out every "protein" row: its member never sees that class
    X, y = synthetic.data, synthetic.target
    test = np.flatnonzero(y == y[-1])
    train = np.setdiff1d(np.arange(len(y)), test)
    rest = KFold(2).split(train)
    cv = [(train, test)] + [
        (np.concatenate([test, train[a]]), train[b]) for a, b in rest
    ]
    com = _committee(cv=cv).fit(X, y)
    assert all(m.classes_.tolist() == com.classes_.tolist() for m in com.estimators_)
    assert com.predict_proba(X[:2]).shape == (2, 3)


def test_parameters_validated_in_fit(synthetic):
    X, y = synthetic.data, synthetic.target
    for name, bad in (("cv", "five"), ("estimator", "net"), ("n_jobs", 1.5)):
        with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
            RamanCNNCommittee(**{name: bad}).fit(X, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        _committee().fit(X[:12], np.array(["a"] * 12))
    with pytest.raises(NotFittedError):
        _committee().predict(X)


def test_default_estimator_is_the_reference_classifier():
    com = RamanCNNCommittee()
    assert com.estimator is None and com.cv == 5 and com.get_params()["n_jobs"] is None


def test_clone_pickle_and_history(fitted, synthetic):
    X = synthetic.data[:4]
    unfitted = clone(fitted)
    assert not hasattr(unfitted, "estimators_")
    assert unfitted.get_params()["estimator__max_epochs"] == 2
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))
    assert [len(h) for h in fitted.history_] == [2, 2, 2]
    frame = history_frame(fitted)
    assert frame.columns[0] == "member" and len(frame) == 6
    assert frame["member"].tolist() == [0, 0, 1, 1, 2, 2]


def test_in_a_pipeline_with_groups_routed(synthetic, tmp_path):
    X, y, g = synthetic.data, synthetic.target, synthetic.groups
    w = synthetic.wavenumbers
    pipe = make_pipeline(
        WavenumberResampler(wavenumbers=w, target_wavenumbers=w),
        _committee(random_state=0),
    )
    pipe.fit(X, y, ramancnncommittee__groups=g)
    com = pipe[-1]
    for k in range(3):
        assert not set(g[com.oof_fold_ == k]) & set(g[com.oof_fold_ != k])
    table = predict_table(pipe, X[:3], sources=["a", "b", "c"])
    np.testing.assert_allclose(
        table[[f"prob_{c}" for c in com.classes_]].to_numpy(), pipe.predict_proba(X[:3])
    )
    assert table["label"].tolist() == pipe.predict(X[:3]).tolist()
    # saved and loaded without pickle: the same probabilities and fitted state
    save_pipeline(pipe, tmp_path / "model")
    step = tmp_path / "model" / "step1_ramancnncommittee"
    config = json.loads((step / "config.json").read_text())
    assert config["format"] == "raman_sk.committee"
    assert config["members"] == ["member0", "member1", "member2"]
    assert (step / "member2" / "weights.safetensors").is_file()
    back = load_pipeline(tmp_path / "model")
    np.testing.assert_array_equal(back.predict_proba(X), pipe.predict_proba(X))
    loaded = back[-1]
    assert isinstance(loaded, RamanCNNCommittee)
    np.testing.assert_array_equal(loaded.oof_proba_, com.oof_proba_)
    np.testing.assert_array_equal(loaded.oof_fold_, com.oof_fold_)
    assert loaded.n_train_ == 36 and loaded.classes_.tolist() == com.classes_.tolist()
    assert loaded.get_params()["estimator__max_epochs"] == 2
    assert [len(h) for h in loaded.history_] == [2, 2, 2]


def test_save_load_alone_and_refusals(fitted, synthetic, tmp_path):
    X = synthetic.data[:6]
    fitted.save(tmp_path / "c")
    back = RamanCNNCommittee.load(tmp_path / "c")
    np.testing.assert_array_equal(back.predict_proba(X), fitted.predict_proba(X))
    with pytest.raises(ValueError, match="not a"):
        RamanCNNClassifier.load(tmp_path / "c")
    config = json.loads((tmp_path / "c" / "config.json").read_text())
    config["members"] = ["../elsewhere"]
    (tmp_path / "c" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="Unsafe"):
        RamanCNNCommittee.load(tmp_path / "c")
    config["members"] = ["member0"]
    config["class"] = "os.system"
    (tmp_path / "c" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="allowed package"):
        RamanCNNCommittee.load(tmp_path / "c")


def test_splitter_cv_is_dropped_on_save(synthetic, tmp_path):
    X, y, g = synthetic.data, synthetic.target, synthetic.groups
    com = _committee(cv=GroupKFold(2)).fit(X, y, groups=g)
    com.save(tmp_path / "c")
    config = json.loads((tmp_path / "c" / "config.json").read_text())
    assert "cv" in config["dropped_params"]
    back = RamanCNNCommittee.load(tmp_path / "c")
    assert back.cv == 5  # the default; predictions do not depend on it
    np.testing.assert_array_equal(back.predict_proba(X), com.predict_proba(X))


def test_make_raman_pipeline_committee_cv():
    pipe = make_raman_pipeline(max_epochs=3, random_state=7, committee_cv=4)
    name, com = pipe.steps[-1]
    assert name == "ramancnncommittee" and isinstance(com, RamanCNNCommittee)
    assert com.cv == 4 and com.random_state == 7
    assert pipe.get_params()["ramancnncommittee__estimator__max_epochs"] == 3
    assert make_raman_pipeline(committee_cv=None).steps[-1][0] == "ramancnnclassifier"
