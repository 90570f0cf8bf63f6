"""Honest evaluation: grouped splits, cross-validation reports, the leaky comparison.

The database holds several spectra of many molecules, so every split here is
*grouped* by molecule and stratified by class: no molecule is on both sides of a
split. Augmentation is never applied here; the classifier applies its augmenter
to its own training part only.

The one exception is :func:`leaky_evaluation`, which reproduces the reference
protocol (augment every spectrum, then split the augmented rows) to show how much
it inflates the scores. Its results are labelled ``protocol="leaky"`` and are never
the headline.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from sklearn.base import clone
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score
from sklearn.model_selection import (
    StratifiedGroupKFold,
    StratifiedShuffleSplit,
    cross_validate,
)

__all__ = [
    "SCORING",
    "baseline_comparison",
    "baselines",
    "check_folds",
    "cleaning_change",
    "comparison_row",
    "fold_predictions",
    "grouped_cross_validate",
    "grouped_split",
    "grouped_train_valid_test_split",
    "leaky_comparison",
    "leaky_evaluation",
    "score_predictions",
    "score_probabilities",
]

#: Scorers used by every cross-validation in the package and its benchmarks.
SCORING = {
    "accuracy": "accuracy",
    "macro_f1": "f1_macro",
    "weighted_f1": "f1_weighted",
}


def _check_groups(y, groups):
    y = np.asarray(y)
    if groups is None:
        raise ValueError(
            "groups is required: pass one group label per spectrum (e.g. the molecule "
            "name) so that replicates never end up on both sides of a split."
        )
    groups = np.asarray(groups)
    if groups.shape[0] != y.shape[0]:
        raise ValueError(
            f"groups has {groups.shape[0]} entries but y has {y.shape[0]}; "
            "give one group per spectrum."
        )
    return y, groups


def grouped_split(
    y: Sequence,
    groups: Sequence,
    *,
    test_size: float = 0.2,
    random_state: int | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into train/test by group, stratified by class.

    Uses the first fold of a shuffled :class:`~sklearn.model_selection.
    StratifiedGroupKFold` with ``round(1 / test_size)`` folds, so the test part
    holds about ``test_size`` of the spectra and no group on both sides.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels.
    groups : array-like of shape (n_samples,)
        Group of each spectrum (molecule).
    test_size : float, default=0.2
        Approximate fraction of spectra in the test part, in (0, 0.5].
    random_state : int or None, default=0
        Seed of the fold shuffling.

    Returns
    -------
    train_idx, test_idx : ndarray of int
        Sorted, disjoint indices.

    Examples
    --------
    >>> y = ["a"] * 6 + ["b"] * 6
    >>> groups = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    >>> train, test = grouped_split(y, groups, test_size=1 / 3, random_state=0)
    >>> sorted(set(groups[i] for i in test) & set(groups[i] for i in train))
    []
    """
    y, groups = _check_groups(y, groups)
    if not 0 < test_size <= 0.5:
        raise ValueError(f"test_size must be in (0, 0.5], got {test_size!r}.")
    n_splits = max(2, int(round(1.0 / test_size)))
    n_groups = np.unique(groups).shape[0]
    if n_groups < n_splits:
        raise ValueError(
            f"Cannot split {n_groups} groups into {n_splits} folds "
            f"(test_size={test_size}); use a larger test_size or more groups."
        )
    cv = StratifiedGroupKFold(
        n_splits=n_splits, shuffle=True, random_state=random_state
    )
    train, test = next(cv.split(np.zeros((y.shape[0], 1)), y, groups))
    return np.sort(train), np.sort(test)


def grouped_train_valid_test_split(
    y: Sequence,
    groups: Sequence,
    *,
    test_size: float = 0.2,
    valid_size: float = 0.2,
    random_state: int | None = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split indices into train/validation/test parts, each grouped and stratified.

    The test part is split off first (``test_size`` of all spectra); the
    validation part is then split off the rest (``valid_size`` of the rest).

    Parameters
    ----------
    y, groups : array-like of shape (n_samples,)
        Class labels and groups.
    test_size, valid_size : float, default=0.2
        Approximate fractions.
    random_state : int or None, default=0
        Seed.

    Returns
    -------
    train_idx, valid_idx, test_idx : ndarray of int
        Disjoint indices into the original arrays.
    """
    y, groups = _check_groups(y, groups)
    rest, test = grouped_split(
        y, groups, test_size=test_size, random_state=random_state
    )
    tr, va = grouped_split(
        y[rest], groups[rest], test_size=valid_size, random_state=random_state
    )
    return rest[tr], rest[va], test


def score_predictions(y_true: Sequence, y_pred: Sequence, labels=None) -> dict:
    """Accuracy, macro/weighted F1, per-class recall and the confusion matrix.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    labels : array-like, default=None
        Label order of the per-class entries; default: sorted union.

    Returns
    -------
    dict
        JSON-serialisable: ``accuracy``, ``macro_f1``, ``weighted_f1``,
        ``per_class_recall`` (label -> recall), ``labels``, ``confusion_matrix``
        (rows = true, columns = predicted), ``n_samples``.

    Examples
    --------
    >>> r = score_predictions(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    >>> r["accuracy"], r["per_class_recall"]
    (0.75, {'a': 0.5, 'b': 1.0})
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if labels is None:
        labels = np.unique(np.concatenate([y_true, y_pred]))
    labels = list(labels)
    recall = recall_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    return {
        "n_samples": int(y_true.shape[0]),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "weighted_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0)
        ),
        "labels": [str(label) for label in labels],
        "per_class_recall": {
            str(label): float(r) for label, r in zip(labels, recall, strict=True)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def _summarise_cv_scores(scores: dict, prefix: str = "test_") -> dict:
    out = {}
    for name in SCORING:
        values = np.asarray(scores[prefix + name], dtype=float)
        out[f"{name}_mean"] = float(values.mean())
        out[f"{name}_std"] = float(values.std())
        out[f"{name}_folds"] = values.tolist()
    return out


def grouped_cross_validate(
    estimator,
    X,
    y,
    groups,
    *,
    n_splits: int = 5,
    random_state: int | None = 0,
    n_jobs: int | None = None,
    verbose: int = 0,
) -> dict:
    """Run grouped, stratified K-fold CV through sklearn's ``cross_validate``.

    Parameters
    ----------
    estimator : estimator
        Any sklearn classifier or pipeline (cloned for every fold).
    X : array-like of shape (n_samples, n_features)
        Spectra.
    y, groups : array-like of shape (n_samples,)
        Labels and groups (molecules).
    n_splits : int, default=5
        Number of folds.
    random_state : int or None, default=0
        Seed of the fold shuffling.
    n_jobs : int or None, default=None
        Parallel folds (joblib).
    verbose : int, default=0
        Passed to ``cross_validate``.

    Returns
    -------
    dict
        ``protocol="grouped"``, ``n_splits``, ``<metric>_mean``, ``<metric>_std``,
        ``<metric>_folds`` for accuracy, macro_f1 and weighted_f1, and
        ``fit_predict_s`` (total fit + score time over the folds).

    Examples
    --------
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> X = [[0.0], [0.1], [0.2], [0.3], [1.0], [1.1], [1.2], [1.3]]
    >>> y = ["a"] * 4 + ["b"] * 4
    >>> r = grouped_cross_validate(KNeighborsClassifier(1), X, y,
    ...                            groups=[0, 0, 1, 1, 2, 2, 3, 3], n_splits=2)
    >>> r["accuracy_mean"]
    1.0
    """
    y, groups = _check_groups(y, groups)
    cv = StratifiedGroupKFold(
        n_splits=n_splits, shuffle=True, random_state=random_state
    )
    scores = cross_validate(
        estimator,
        X,
        y,
        groups=groups,
        cv=cv,
        scoring=SCORING,
        n_jobs=n_jobs,
        verbose=verbose,
        error_score="raise",
    )
    result = {"protocol": "grouped", "n_splits": int(n_splits)}
    result.update(_summarise_cv_scores(scores))
    result["fit_predict_s"] = float(
        np.sum(scores["fit_time"]) + np.sum(scores["score_time"])
    )
    return result


def leaky_evaluation(
    estimator,
    X,
    y,
    augmenter,
    *,
    test_size: float = 0.2,
    random_state: int | None = 0,
) -> dict:
    """Score the leaky reference protocol, only to show how much it inflates.

    Augments *every* spectrum first (``augmenter.fit_resample``), then makes a
    stratified random split of the augmented rows, so that noisy twins of each
    test spectrum are in the training part. Do not report its numbers as the
    model's accuracy; :func:`grouped_cross_validate` is the honest measure.

    Parameters
    ----------
    estimator : estimator
        Classifier or pipeline, cloned. If it has an ``augmenter`` parameter (or
        a final step with one), that augmenter is switched off, since the data
        are already augmented.
    X, y : array-like
        Original spectra and labels.
    augmenter : object with ``fit_resample``
        E.g. ``SpectralAugmenter(n_copies=15)``.
    test_size : float, default=0.2
        Fraction of augmented rows held out.
    random_state : int or None, default=0
        Seed of the split.

    Returns
    -------
    dict
        ``protocol="leaky"`` plus :func:`score_predictions` of the held-out rows
        and ``fit_predict_s``.
    """
    X_aug, y_aug = clone(augmenter).fit_resample(X, y)
    y_aug = np.asarray(y_aug)
    split = StratifiedShuffleSplit(
        n_splits=1, test_size=test_size, random_state=random_state
    )
    train, test = next(split.split(np.zeros((y_aug.shape[0], 1)), y_aug))
    est = clone(estimator)
    params = est.get_params(deep=True)
    off = {k: None for k in params if k == "augmenter" or k.endswith("__augmenter")}
    if off:
        est.set_params(**off)
    start = time.perf_counter()
    est.fit(X_aug[train], y_aug[train])
    pred = est.predict(X_aug[test])
    elapsed = time.perf_counter() - start
    result = {"protocol": "leaky"}
    result.update(score_predictions(y_aug[test], pred))
    result["fit_predict_s"] = float(elapsed)
    return result


def cleaning_change(before, after) -> dict:
    """How much a cleaning step changed spectra: relative L2 change and correlation.

    Parameters
    ----------
    before, after : array-like of shape (n_samples, n_points)
        The same spectra before and after cleaning, on the same grid.

    Returns
    -------
    dict
        ``n_samples``; ``rel_l2_median``, ``rel_l2_p90``, ``rel_l2_max`` of
        ``||after - before|| / ||before||`` per spectrum; ``corr_median``,
        ``corr_min`` of the Pearson correlation per spectrum.

    Examples
    --------
    >>> x = np.array([[0.0, 1.0, 0.0, 2.0]])
    >>> r = cleaning_change(x, x * 1.1)
    >>> round(r["rel_l2_median"], 6), round(r["corr_min"], 6)
    (0.1, 1.0)
    """
    before = np.asarray(before, dtype=np.float64)
    after = np.asarray(after, dtype=np.float64)
    if before.shape != after.shape or before.ndim != 2:
        raise ValueError(
            "before and after must be 2-D arrays of the same shape, got "
            f"{before.shape} and {after.shape}."
        )
    norm = np.linalg.norm(before, axis=1)
    rel = np.linalg.norm(after - before, axis=1) / np.where(norm > 0, norm, np.nan)
    a = before - before.mean(axis=1, keepdims=True)
    b = after - after.mean(axis=1, keepdims=True)
    denom = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    corr = np.sum(a * b, axis=1) / np.where(denom > 0, denom, np.nan)
    return {
        "n_samples": int(before.shape[0]),
        "rel_l2_median": float(np.nanmedian(rel)),
        "rel_l2_p90": float(np.nanquantile(rel, 0.9)),
        "rel_l2_max": float(np.nanmax(rel)),
        "corr_median": float(np.nanmedian(corr)),
        "corr_min": float(np.nanmin(corr)),
    }


def baselines() -> dict:
    """Name -> unfitted estimator of the baselines the CNN is compared with.

    Both are deterministic (no random state), and each name says exactly what
    it is: the nearest spectrum by cosine distance, and a logistic regression
    on standard-scaled intensities.

    Examples
    --------
    >>> list(baselines())
    ['1-NN cosine (library search)', 'logistic regression (standard-scaled)']
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "1-NN cosine (library search)": KNeighborsClassifier(
            n_neighbors=1, metric="cosine"
        ),
        "logistic regression (standard-scaled)": make_pipeline(
            StandardScaler(), LogisticRegression(C=1.0, max_iter=5000)
        ),
    }


def comparison_row(name: str, protocol: str, scores: dict, seconds: float) -> dict:
    """Return one row of a comparison table from a :func:`score_predictions` dict.

    Examples
    --------
    >>> r = score_predictions(["a", "b"], ["a", "a"])
    >>> comparison_row("1-NN", "grouped", r, 0.5)["n_test"]
    2
    """
    return {
        "model": name,
        "protocol": protocol,
        "accuracy": scores["accuracy"],
        "macro_f1": scores["macro_f1"],
        "weighted_f1": scores["weighted_f1"],
        "n_test": scores["n_samples"],
        "fit_predict_s": float(seconds),
    }


def leaky_comparison(
    X, y, augmenter, *, estimators: dict | None = None, random_state=0
) -> list[dict]:
    """Score estimators under the leaky protocol only (see :func:`leaky_evaluation`).

    Parameters
    ----------
    X, y : array-like
        Spectra (e.g. on the network's input grid) and labels.
    augmenter : object with ``fit_resample``
        Augmenter of the leaky protocol.
    estimators : dict of str to estimator, default=None
        Default: :func:`baselines`.
    random_state : int or None, default=0
        Seed of the leaky split.

    Returns
    -------
    list of dict
        One row per estimator, ``protocol="leaky"`` (keys as in
        :func:`baseline_comparison`).
    """
    estimators = baselines() if estimators is None else estimators
    X = np.asarray(X, dtype=np.float64)
    rows = []
    for name, est in estimators.items():
        r = leaky_evaluation(est, X, y, augmenter, random_state=random_state)
        rows.append(comparison_row(name, "leaky", r, r["fit_predict_s"]))
    return rows


def baseline_comparison(
    X,
    y,
    train_idx,
    test_idx,
    augmenter,
    *,
    estimators: dict | None = None,
    random_state: int | None = 0,
) -> list[dict]:
    """Score cheap baselines under the grouped split and the leaky protocol.

    For each estimator: fit on ``X[train_idx]`` and score ``X[test_idx]`` (the
    honest, grouped split made by the caller), then
    :func:`leaky_evaluation` (augment everything, then split the rows).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_points)
        Preprocessed spectra (e.g. on the network's input grid).
    y : array-like of shape (n_samples,)
        Labels.
    train_idx, test_idx : array-like of int
        The grouped split (e.g. train+validation and test parts of
        :func:`grouped_train_valid_test_split`).
    augmenter : object with ``fit_resample``
        Augmenter of the leaky protocol, e.g. ``SpectralAugmenter(n_copies=15)``.
    estimators : dict of str to estimator, default=None
        Default: :func:`baselines`.
    random_state : int or None, default=0
        Seed of the leaky split.

    Returns
    -------
    list of dict
        One row per (estimator, protocol): ``model``, ``protocol``
        ("grouped" or "leaky"), ``accuracy``, ``macro_f1``, ``weighted_f1``,
        ``n_test``, ``fit_predict_s``.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    train_idx = np.asarray(train_idx)
    test_idx = np.asarray(test_idx)
    estimators = baselines() if estimators is None else estimators
    rows = []
    for name, est in estimators.items():
        start = time.perf_counter()
        pred = clone(est).fit(X[train_idx], y[train_idx]).predict(X[test_idx])
        honest = score_predictions(y[test_idx], pred)
        seconds = time.perf_counter() - start
        rows.append(comparison_row(name, "grouped", honest, seconds))
        rows += leaky_comparison(
            X, y, augmenter, estimators={name: est}, random_state=random_state
        )
    return rows


# ------------------------------------------------------- out-of-fold scores
def check_folds(folds, groups) -> np.ndarray:
    """Check that no group is in two folds; return the folds as an int array.

    Parameters
    ----------
    folds : array-like of shape (n_samples,)
        Held-out fold of each spectrum (e.g. ``RamanCNNCommittee.oof_fold_``).
    groups : array-like of shape (n_samples,)
        Molecule of each spectrum.

    Returns
    -------
    ndarray of int

    Raises
    ------
    ValueError
        If a group is split across folds (its spectra would be trained on and
        scored in the same fold), or the lengths differ.

    Examples
    --------
    >>> check_folds([0, 0, 1], ["a", "a", "b"]).tolist()
    [0, 0, 1]
    """
    folds = np.asarray(folds)
    groups = np.asarray(groups)
    if folds.shape != groups.shape:
        raise ValueError(
            f"folds has {folds.shape[0]} entries but groups has {groups.shape[0]}."
        )
    n_folds_per_group = {g: np.unique(folds[groups == g]).size for g in set(groups)}
    split = sorted(str(g) for g, n in n_folds_per_group.items() if n > 1)
    if split:
        raise ValueError(
            f"groups {split[:5]} are in more than one fold: a molecule must be held "
            "out as a whole."
        )
    return folds.astype(int)


def fold_predictions(estimator, X, y, folds) -> tuple[np.ndarray, float]:
    """Out-of-fold predictions of ``estimator`` on given folds.

    For each fold ``k`` a clone is fitted on the spectra of the other folds and
    predicts those of fold ``k``, so that several models are scored on exactly
    the same folds.

    Parameters
    ----------
    estimator : estimator
        Any sklearn classifier (cloned per fold).
    X, y : array-like
        Spectra and labels.
    folds : array-like of int of shape (n_samples,)
        Held-out fold of each spectrum.

    Returns
    -------
    pred : ndarray of shape (n_samples,)
        Each spectrum's prediction by the clone that did not see its fold.
    seconds : float
        Total fit and predict time.

    Examples
    --------
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> pred, _ = fold_predictions(KNeighborsClassifier(1), [[0.], [.1], [1.], [1.1]],
    ...                            ["a", "a", "b", "b"], [0, 1, 0, 1])
    >>> pred.tolist()
    ['a', 'a', 'b', 'b']
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    folds = np.asarray(folds)
    pred = np.empty(y.shape[0], dtype=y.dtype)
    start = time.perf_counter()
    for k in np.unique(folds):
        test = folds == k
        pred[test] = clone(estimator).fit(X[~test], y[~test]).predict(X[test])
    return pred, time.perf_counter() - start


def score_probabilities(y_true, proba, classes) -> dict:
    """:func:`score_predictions` of the most probable class of each row.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    proba : array-like of shape (n_samples, n_classes)
        Class probabilities, columns in the order of ``classes``.
    classes : array-like of shape (n_classes,)
        Class labels.

    Returns
    -------
    dict
        As :func:`score_predictions`, labels in the order of ``classes``.

    Examples
    --------
    >>> r = score_probabilities(["a", "b"], [[0.9, 0.1], [0.6, 0.4]], ["a", "b"])
    >>> r["accuracy"]
    0.5
    """
    proba = np.asarray(proba, dtype=np.float64)
    classes = np.asarray(classes)
    if proba.ndim != 2 or proba.shape[1] != classes.shape[0]:
        raise ValueError(
            f"proba must have one column per class ({classes.shape[0]}), got shape "
            f"{proba.shape}."
        )
    pred = classes[np.argmax(proba, axis=1)]
    return score_predictions(y_true, pred, labels=classes)
