import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from raman_sk.evaluation import (
    grouped_cross_validate,
    grouped_split,
    grouped_train_valid_test_split,
    leaky_evaluation,
    score_predictions,
)


class CopyAugmenter:
    """Appends n exact copies (a worst case for leakage): fit_resample protocol."""

    def __init__(self, n_copies=3):
        self.n_copies = n_copies

    def get_params(self, deep=True):
        return {"n_copies": self.n_copies}

    def set_params(self, **p):
        self.n_copies = p.get("n_copies", self.n_copies)
        return self

    def fit_resample(self, X, y):
        X, y = np.asarray(X), np.asarray(y)
        return np.tile(X, (self.n_copies + 1, 1)), np.tile(y, self.n_copies + 1)


def test_grouped_split_no_group_on_both_sides(synthetic):
    train, test = grouped_split(synthetic.target, synthetic.groups, test_size=0.25)
    assert set(synthetic.groups[train]).isdisjoint(synthetic.groups[test])
    assert len(train) + len(test) == 36
    # stratified: each of the 3 classes is in the test part
    assert set(synthetic.target[test]) == {"alpha", "beta", "gamma"}
    assert 6 <= len(test) <= 12


def test_train_valid_test_disjoint(synthetic):
    tr, va, te = grouped_train_valid_test_split(
        synthetic.target, synthetic.groups, test_size=0.25, valid_size=0.25
    )
    g = synthetic.groups
    assert set(g[tr]).isdisjoint(g[va]) and set(g[tr]).isdisjoint(g[te])
    assert set(g[va]).isdisjoint(g[te])
    assert len(tr) + len(va) + len(te) == 36


def test_split_errors():
    with pytest.raises(ValueError, match="groups is required"):
        grouped_split(["a", "b"], None)
    with pytest.raises(ValueError, match="groups has 1 entries but y has 2"):
        grouped_split(["a", "b"], [0])
    with pytest.raises(ValueError, match="test_size must be in"):
        grouped_split(["a", "b"], [0, 1], test_size=0.9)
    with pytest.raises(ValueError, match="Cannot split 2 groups into 5 folds"):
        grouped_split(["a", "b"], [0, 1], test_size=0.2)


def test_score_predictions_hand_computed():
    r = score_predictions(["a", "a", "a", "b"], ["a", "a", "b", "b"])
    assert r["accuracy"] == 0.75
    # F1(a) = 2*1*(2/3)/(1+2/3) = 0.8 ; F1(b) = 2*0.5*1/(1.5) = 2/3
    assert r["macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)
    assert r["weighted_f1"] == pytest.approx(0.75 * 0.8 + 0.25 * 2 / 3)
    assert r["confusion_matrix"] == [[2, 1], [0, 1]]


def test_grouped_cv_report(synthetic):
    r = grouped_cross_validate(
        KNeighborsClassifier(1), synthetic.data, synthetic.target, synthetic.groups,
        n_splits=3,
    )
    assert r["protocol"] == "grouped"
    assert len(r["accuracy_folds"]) == 3
    assert r["accuracy_mean"] == pytest.approx(np.mean(r["accuracy_folds"]))
    assert 0.9 <= r["accuracy_mean"] <= 1.0


def test_leaky_protocol_inflates_on_random_labels(synthetic):
    # With labels that carry no information, grouped CV sits near chance, while the
    # augment-then-split protocol finds the twins of each test row in training.
    rng = np.random.default_rng(0)
    y = rng.permutation(synthetic.target)
    honest = grouped_cross_validate(
        KNeighborsClassifier(1), synthetic.data, y, synthetic.groups, n_splits=3
    )
    leaky = leaky_evaluation(
        KNeighborsClassifier(1), synthetic.data, y, CopyAugmenter(3), random_state=0
    )
    assert leaky["protocol"] == "leaky"
    assert leaky["accuracy"] == 1.0
    assert honest["accuracy_mean"] < 0.6


def test_leaky_switches_off_the_estimators_augmenter(synthetic):
    from sklearn.pipeline import make_pipeline

    class WithAugmenter(LogisticRegression):
        def __init__(self, augmenter=None, max_iter=200):
            super().__init__(max_iter=max_iter)
            self.augmenter = augmenter

        def fit(self, X, y):
            assert self.augmenter is None, "augmenter must be switched off"
            return super().fit(X, y)

    pipe = make_pipeline(WithAugmenter(augmenter=CopyAugmenter(2)))
    r = leaky_evaluation(pipe, synthetic.data, synthetic.target, CopyAugmenter(1))
    assert r["n_samples"] == 15  # 20 % of 72 augmented rows, rounded up


def test_baseline_comparison_default_rows(synthetic):
    from raman_sk.evaluation import baseline_comparison

    train, test = grouped_split(synthetic.target, synthetic.groups, test_size=0.25)
    rows = baseline_comparison(
        synthetic.data, synthetic.target, train, test, CopyAugmenter(1), random_state=0
    )
    assert [(r["model"], r["protocol"]) for r in rows] == [
        ("1-NN cosine (library search)", "grouped"),
        ("1-NN cosine (library search)", "leaky"),
        ("logistic regression (standard-scaled)", "grouped"),
        ("logistic regression (standard-scaled)", "leaky"),
    ]
    assert all(r["n_test"] == len(test) for r in rows if r["protocol"] == "grouped")
    # random_state moves only the leaky split; the grouped rows stay the same
    again = baseline_comparison(
        synthetic.data, synthetic.target, train, test, CopyAugmenter(1), random_state=1
    )
    for a, b in zip(rows, again, strict=True):
        if a["protocol"] == "grouped":
            assert a["accuracy"] == b["accuracy"] and a["macro_f1"] == b["macro_f1"]
