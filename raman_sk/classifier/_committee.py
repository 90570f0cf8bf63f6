"""RamanCNNCommittee: one RamanCNNClassifier per cross-validation fold, averaged."""

from __future__ import annotations

from numbers import Integral
from os import PathLike
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import (
    StratifiedGroupKFold,
    StratifiedKFold,
    check_cv,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from raman_sk.persistence import load_committee, save_committee
from raman_sk.utils import check_label_types, check_magnitude, check_spectra
from raman_sk.utils._sklearn_compat import HasMethods, Interval

from ._classifier import RamanCNNClassifier

__all__ = ["RamanCNNCommittee"]


def _fit_member(estimator, X, y, train, seed):
    member = clone(estimator)
    params = member.get_params(deep=False)
    if "random_state" in params:
        member.set_params(random_state=seed)
    return member.fit(X[train], y[train])


class RamanCNNCommittee(ClassifierMixin, BaseEstimator):
    """A committee of networks, one per cross-validation fold, averaged.

    ``fit`` trains one clone of ``estimator`` on the training part of each
    fold. Each clone predicts the fold it did not see, which gives honest
    out-of-fold probabilities of every training spectrum (``oof_proba_``) at
    no extra cost; the committee predicts the mean of its members'
    probabilities. Every spectrum is in the training part of all folds but
    one, so the committee as a whole has seen every molecule.

    With ``groups`` (e.g. the molecule of each spectrum) the folds are
    grouped: no group is in both parts of a fold. As the last step of a
    :class:`~sklearn.pipeline.Pipeline`, pass them as
    ``pipe.fit(X, y, ramancnncommittee__groups=groups)``. The out-of-fold
    predictions stay honest there only because raman_sk's preprocessing
    steps (resampling, smoothing, baseline removal, normalisation) work on
    each spectrum alone: a step that learns from several spectra (e.g. a
    ``StandardScaler``) is fitted on all folds before the committee splits.

    Parameters
    ----------
    estimator : RamanCNNClassifier or None, default=None
        Unfitted member, cloned for each fold; None is
        ``RamanCNNClassifier()``. Its ``random_state`` is replaced per fold.
    cv : int, cross-validation splitter or iterable, default=5
        An int is the number of folds: ``StratifiedGroupKFold(cv,
        shuffle=True, random_state=random_state)`` when ``groups`` are given,
        ``StratifiedKFold`` otherwise. A splitter (or an iterable of
        ``(train, test)`` index pairs) must put every row in exactly one test
        part.
    random_state : int, RandomState instance or None, default=None
        Seeds the fold assignment of an int ``cv`` and the members: member
        ``k`` gets the ``k``-th integer drawn from
        ``check_random_state(random_state)``, so equal values give equal
        committees.
    n_jobs : int or None, default=None
        Members trained in parallel by joblib (None: one at a time). Give
        each member ``n_threads`` so that the cores are not oversubscribed.

    Attributes
    ----------
    estimators_ : list of RamanCNNClassifier
        The fitted members, in fold order.
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels; every member uses these columns, also when a
        class is missing from its training part.
    n_features_in_ : int
        Number of points per spectrum seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame with string column names.
    oof_proba_ : ndarray of shape (n_samples, n_classes)
        Probabilities of each fitted spectrum by the member that did not see
        it.
    oof_fold_ : ndarray of shape (n_samples,)
        The fold in which each spectrum was held out (index into
        ``estimators_``).
    n_train_ : int
        Number of spectra the committee as a whole was trained on.
    history_ : list of skorch.History
        The members' training histories (read from ``estimators_``).

    See Also
    --------
    RamanCNNClassifier : The member.
    raman_sk.save_pipeline : Saves a pipeline ending in a committee.

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk.classifier import RamanCNNClassifier, RamanCNNCommittee
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(24, 32))
    >>> y = np.array(["lipid", "protein"] * 12)
    >>> X[y == "protein", 10:15] += 3.0
    >>> groups = np.repeat(np.arange(12), 2)  # two spectra per molecule
    >>> net = RamanCNNClassifier(max_epochs=2, random_state=0, n_threads=1,
    ...                          module__channels=(4,), module__kernel_sizes=3,
    ...                          module__convs_per_block=1, module__hidden=8)
    >>> committee = RamanCNNCommittee(net, cv=3, random_state=0)
    >>> committee = committee.fit(X, y, groups=groups)
    >>> len(committee.estimators_), committee.oof_proba_.shape
    (3, (24, 2))
    >>> sorted(set(committee.oof_fold_.tolist()))
    [0, 1, 2]
    >>> committee.predict_proba(X[:2]).sum(axis=1)
    array([1., 1.])
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "cv": ["cv_object"],
        "random_state": ["random_state"],
        "n_jobs": [Interval(Integral, None, None, closed="neither"), None],
    }

    def __init__(self, estimator=None, *, cv=5, random_state=None, n_jobs=None):
        self.estimator = estimator
        self.cv = cv
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.target_tags.required = True
        return tags

    # --------------------------------------------------------------- fit
    def _splits(self, X, y, groups, rng):
        cv = self.cv
        if isinstance(cv, Integral):
            seed = self.random_state
            if not (seed is None or isinstance(seed, Integral)):
                seed = int(rng.randint(0, 2**31 - 1))  # leave the caller's generator
            kind = StratifiedKFold if groups is None else StratifiedGroupKFold
            cv = kind(int(cv), shuffle=True, random_state=seed)
        else:
            cv = check_cv(cv, y, classifier=True)
        splits = [
            (np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64))
            for train, test in cv.split(X, y, groups)
        ]
        fold = np.full(len(y), -1, dtype=np.int64)
        for k, (_, test) in enumerate(splits):
            if np.any(fold[test] >= 0):
                raise ValueError(
                    "cv puts a row in the test part of more than one fold; the "
                    "committee needs a partition (e.g. a KFold splitter)."
                )
            fold[test] = k
        if np.any(fold < 0):
            raise ValueError(
                f"cv leaves {int(np.sum(fold < 0))} row(s) out of every test part; "
                "the committee needs each row held out exactly once."
            )
        return splits, fold

    def fit(self, X, y, groups=None) -> RamanCNNCommittee:
        """Train one member per fold and predict each fold's held-out rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Spectra on a common axis.
        y : array-like of shape (n_samples,)
            Class labels of any type.
        groups : array-like of shape (n_samples,), default=None
            Group of each spectrum (e.g. its molecule); no group is on both
            sides of a fold.

        Returns
        -------
        self : RamanCNNCommittee
            The fitted committee.
        """
        self._validate_params()
        X = check_spectra(X)
        check_label_types(y)
        X, y = validate_data(self, X, y, dtype=np.float32)
        check_magnitude(X)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if self.classes_.size < 2:
            raise ValueError(
                f"y has only one class ({self.classes_[0]!r}): "
                f"{type(self).__name__} needs at least 2 classes."
            )
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != (len(y),):
                raise ValueError(
                    f"groups must have one entry per spectrum ({len(y)}), got "
                    f"shape {groups.shape}."
                )
        rng = check_random_state(self.random_state)
        splits, fold = self._splits(X, y, groups, rng)
        seeds = rng.randint(0, 2**31 - 1, size=len(splits))
        base = RamanCNNClassifier() if self.estimator is None else self.estimator
        base = clone(base)
        if "classes" in base.get_params(deep=False):
            base.set_params(classes=self.classes_)  # the same columns in every member
        members = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_member)(base, X, y, train, int(seed))
            for (train, _), seed in zip(splits, seeds, strict=True)
        )
        oof = np.full((len(y), len(self.classes_)), np.nan)
        for member, (_, test) in zip(members, splits, strict=True):
            oof[test] = self._member_proba(member, X[test])
        self.estimators_ = list(members)
        self.oof_proba_ = oof
        self.oof_fold_ = fold
        self.n_train_ = int(len(y))
        return self

    def _member_proba(self, member, X) -> np.ndarray:
        proba = np.asarray(member.predict_proba(X), dtype=np.float64)
        if not np.array_equal(np.asarray(member.classes_), self.classes_):
            raise ValueError(
                f"a member's classes_ {list(member.classes_)} differ from the "
                f"committee's {list(self.classes_)}; give the member a `classes` "
                "parameter or make every class appear in each training part."
            )
        return proba

    # ----------------------------------------------------------- predict
    @property
    def history_(self) -> list:
        """The members' training histories, in fold order."""
        check_is_fitted(self, "estimators_")
        return [member.history_ for member in self.estimators_]

    def predict_proba(self, X) -> np.ndarray:
        """Mean of the members' class probabilities (columns as ``classes_``)."""
        check_is_fitted(self, "estimators_")
        X = validate_data(self, check_spectra(X), reset=False, dtype=np.float32)
        check_magnitude(X)
        total = np.zeros((X.shape[0], len(self.classes_)))
        for member in self.estimators_:
            total += self._member_proba(member, X)
        return total / len(self.estimators_)

    def predict(self, X) -> np.ndarray:
        """Predict the original class labels (argmax of :meth:`predict_proba`)."""
        proba = self.predict_proba(X)  # checks fitted first
        return self.classes_[proba.argmax(axis=1)]

    # --------------------------------------------------------- save/load
    def save(self, directory: str | PathLike) -> Path:
        """Save into ``directory``: one classifier directory per member, no pickle.

        See :func:`raman_sk.persistence.save_committee`; returns the directory.
        """
        return save_committee(self, directory)

    @classmethod
    def load(
        cls, directory: str | PathLike, *, device: str | None = None
    ) -> RamanCNNCommittee:
        """Load a committee written by :meth:`save` (never unpickles).

        ``device`` is passed to each member's ``load``. See
        :func:`raman_sk.persistence.load_committee`.
        """
        return load_committee(directory, cls=cls, device=device)
