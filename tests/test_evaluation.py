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


# ------------------------------------------------------- out-of-fold scores
def test_baselines_are_named_by_what_they_are():
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from raman_sk.evaluation import baselines

    models = baselines()
    assert list(models) == [
        "1-NN cosine (library search)",
        "logistic regression (standard-scaled)",
    ]
    knn, logreg = models.values()
    assert knn.n_neighbors == 1 and knn.metric == "cosine"
    assert isinstance(logreg, Pipeline) and isinstance(logreg[0], StandardScaler)
    assert isinstance(logreg[-1], LogisticRegression)


def test_check_folds_refuses_a_molecule_in_two_folds():
    from raman_sk.evaluation import check_folds

    assert check_folds([1, 1, 0], ["a", "a", "b"]).dtype.kind == "i"
    with pytest.raises(ValueError, match=r"groups \['a'\] are in more than one fold"):
        check_folds([0, 1, 0], ["a", "a", "b"])
    with pytest.raises(ValueError, match="folds has 2 entries but groups has 3"):
        check_folds([0, 1], ["a", "a", "b"])


def test_fold_predictions_use_exactly_the_given_folds(synthetic):
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.model_selection import StratifiedGroupKFold

    from raman_sk.evaluation import check_folds, fold_predictions

    X, y, g = synthetic.data, synthetic.target, synthetic.groups
    folds = np.zeros(len(y), dtype=int)
    cv = StratifiedGroupKFold(3, shuffle=True, random_state=0)
    for k, (_, test) in enumerate(cv.split(X, y, g)):
        folds[test] = k
    check_folds(folds, g)
    seen = []

    class Recorder(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            self.rows_ = {tuple(np.round(x[:3], 9)) for x in X}
            seen.append(self.rows_)
            self.classes_ = np.unique(y)
            return self

        def predict(self, X):
            assert not {tuple(np.round(x[:3], 9)) for x in X} & self.rows_
            return np.full(len(X), self.classes_[0])

    pred, seconds = fold_predictions(Recorder(), X, y, folds)
    assert len(seen) == 3 and pred.shape == y.shape and seconds >= 0
    for k in range(3):  # clone k trained on every fold but k, nothing else
        train_rows = {tuple(np.round(x[:3], 9)) for x in X[folds != k]}
        assert seen[k] == train_rows
    pred, _ = fold_predictions(KNeighborsClassifier(1), X, y, folds)
    assert np.mean(pred == y) > 0.9


def test_score_probabilities_takes_the_most_probable_class():
    from raman_sk.evaluation import score_probabilities

    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3]])
    r = score_probabilities(["x", "z", "x"], proba, ["x", "y", "z"])
    assert r["accuracy"] == pytest.approx(2 / 3)
    assert r["labels"] == ["x", "y", "z"]
    assert r["confusion_matrix"] == [[1, 1, 0], [0, 0, 0], [0, 0, 1]]
    with pytest.raises(ValueError, match="one column per class"):
        score_probabilities(["x"], [[1.0, 0.0]], ["x", "y", "z"])


def test_leaky_comparison_rows(synthetic):
    from raman_sk.evaluation import leaky_comparison

    rows = leaky_comparison(synthetic.data, synthetic.target, CopyAugmenter(1))
    assert [(r["model"], r["protocol"]) for r in rows] == [
        ("1-NN cosine (library search)", "leaky"),
        ("logistic regression (standard-scaled)", "leaky"),
    ]
    assert all(r["n_test"] == 15 for r in rows)  # 20 % of 72 rows, rounded up
