"""Calibrated probabilities and conformal prediction sets from out-of-fold scores.

A network's softmax outputs are not frequencies: "0.9" need not mean right nine
times in ten. :class:`ProbabilityCalibrator` learns one temperature ``T`` from
held-out (out-of-fold) probabilities, treating their logarithms as logits
(``softmax(log p / T)``; the label never changes), and a split-conformal
threshold (least ambiguous set-valued classifier, LAC: the score of a spectrum
is ``1 - p`` of its true class) so that the prediction set of a new spectrum
holds its true class with probability at least ``1 - alpha`` when it is
exchangeable with the calibration spectra. Nothing is refitted: the calibrator
only reads probabilities that a model gave spectra it did not train on.

:func:`cross_fit_calibration` reports the calibration without optimism: the
temperature and threshold applied to one fold's spectra are fitted on the other
folds' out-of-fold rows only. :func:`save_calibration` stores the few numbers
as ``calibration.json`` in a model directory; :func:`load_calibration` reads
them back (None for a model saved without).
"""

from __future__ import annotations

import json
import math
from numbers import Real
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from raman_sk.utils._files import write_json
from raman_sk.utils._sklearn_compat import Interval, validate_parameter_constraints

__all__ = [
    "CALIBRATION_FILE",
    "ProbabilityCalibrator",
    "brier_score",
    "conformal_quantile",
    "cross_fit_calibration",
    "expected_calibration_error",
    "fit_temperature",
    "format_sets",
    "load_calibration",
    "log_loss",
    "plot_reliability",
    "reliability_bins",
    "save_calibration",
    "scale_temperature",
]

#: File name of a saved calibrator inside a model directory.
CALIBRATION_FILE = "calibration.json"
_FORMAT = "raman_sk.calibration/1"
#: Smallest probability used as a logit source (softmax outputs can underflow to 0).
_TINY = 1e-300


def _check_proba(proba, classes=None) -> np.ndarray:
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] < 2:
        raise ValueError(
            f"proba must be 2-D with one column per class, got shape {proba.shape}."
        )
    if classes is not None and proba.shape[1] != len(classes):
        raise ValueError(
            f"proba has {proba.shape[1]} columns for {len(classes)} classes."
        )
    if not np.isfinite(proba).all() or (proba < 0).any():
        raise ValueError("proba must hold finite, non-negative probabilities.")
    return proba


def _true_index(y_true, classes) -> np.ndarray:
    names = [str(c) for c in classes]
    lookup = {c: k for k, c in enumerate(names)}
    y = [str(v) for v in np.asarray(y_true).ravel()]
    unknown = sorted(set(y) - set(lookup))
    if unknown:
        raise ValueError(f"y_true holds labels not in classes: {unknown[:5]}.")
    return np.array([lookup[v] for v in y], dtype=np.int64)


def _prepare(y_true, proba, classes):
    proba = _check_proba(proba, classes)
    idx = _true_index(y_true, classes)
    if idx.shape[0] != proba.shape[0]:
        raise ValueError(
            f"y_true has {idx.shape[0]} labels for {proba.shape[0]} rows of proba."
        )
    return proba, idx


def scale_temperature(proba, temperature: float) -> np.ndarray:
    """Return ``softmax(log(proba) / temperature)`` row by row.

    ``temperature > 1`` softens over-confident probabilities, ``< 1``
    sharpens them; the most probable class of each row stays the same.

    Examples
    --------
    >>> p = scale_temperature([[0.8, 0.2]], 2.0)
    >>> p.round(3).tolist()
    [[0.667, 0.333]]
    """
    proba = _check_proba(proba)
    return softmax(np.log(np.maximum(proba, _TINY)) / float(temperature), axis=1)


def fit_temperature(y_true, proba, classes, *, bounds=(0.05, 20.0)) -> float:
    """Temperature that minimises the negative log-likelihood of ``y_true``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    proba : array-like of shape (n_samples, n_classes)
        Held-out probabilities, columns in the order of ``classes``.
    classes : array-like of shape (n_classes,)
        Class labels.
    bounds : (float, float), default=(0.05, 20.0)
        Interval searched (bounded scalar minimisation on ``log T``).

    Returns
    -------
    float
        The temperature.
    """
    proba, idx = _prepare(y_true, proba, classes)
    logits = np.log(np.maximum(proba, _TINY))
    rows = np.arange(idx.shape[0])

    def nll(log_t):
        return -log_softmax(logits / math.exp(log_t), axis=1)[rows, idx].mean()

    low, high = (math.log(float(b)) for b in bounds)
    res = minimize_scalar(nll, bounds=(low, high), method="bounded",
                          options={"xatol": 1e-6})
    return float(math.exp(res.x))


def conformal_quantile(scores, alpha: float) -> float:
    """Split-conformal threshold: the ``ceil((n + 1)(1 - alpha))``-th smallest score.

    Parameters
    ----------
    scores : array-like of shape (n,)
        Nonconformity scores of the calibration spectra (here ``1 - p_true``).
    alpha : float
        Allowed miscoverage, in (0, 1).

    Returns
    -------
    float
        The threshold; 1.0 (every class) when ``n`` is too small for ``alpha``.

    Examples
    --------
    >>> conformal_quantile([0.1, 0.4, 0.2, 0.3], alpha=0.4)  # ceil(5 * 0.6) = 3rd
    0.3
    """
    scores = np.sort(np.asarray(scores, dtype=np.float64).ravel())
    n = scores.shape[0]
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}.")
    k = math.ceil((n + 1) * (1 - alpha) - 1e-9)  # float error must not add a rank
    if n == 0 or k > n:
        return 1.0
    return float(scores[k - 1])


def expected_calibration_error(y_true, proba, classes, *, n_bins: int = 10) -> float:
    """Top-label expected calibration error over equal-width confidence bins.

    ``sum_b n_b / n * |accuracy_b - confidence_b|`` with the confidence (the
    highest probability of a row) binned into ``n_bins`` intervals
    ``((b - 1) / n_bins, b / n_bins]``.

    Examples
    --------
    >>> p = [[0.95, 0.05], [0.95, 0.05], [0.65, 0.35], [0.65, 0.35]]
    >>> round(expected_calibration_error(["a", "a", "a", "b"], p, ["a", "b"]), 3)
    0.1
    """
    bins = reliability_bins(y_true, proba, classes, n_bins=n_bins)
    n = bins["count"].sum()
    gap = (bins["accuracy"] - bins["confidence"]).abs().fillna(0.0)
    return float((bins["count"] * gap).sum() / n)


def reliability_bins(y_true, proba, classes, *, n_bins: int = 10) -> pd.DataFrame:
    """Count, mean confidence and accuracy of the top label per confidence bin.

    Returns
    -------
    DataFrame
        One row per bin: ``low``, ``high``, ``count``, ``confidence`` and
        ``accuracy`` (NaN for an empty bin).
    """
    proba, idx = _prepare(y_true, proba, classes)
    conf = proba.max(axis=1)
    correct = proba.argmax(axis=1) == idx
    b = np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)
    count = np.bincount(b, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(b, weights=conf, minlength=n_bins) / count
        acc = np.bincount(b, weights=correct, minlength=n_bins) / count
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return pd.DataFrame(
        {"low": edges[:-1], "high": edges[1:], "count": count,
         "confidence": mean_conf, "accuracy": acc}
    )


def brier_score(y_true, proba, classes) -> float:
    """Mean over rows of the squared distance to the one-hot truth (0 to 2).

    Examples
    --------
    >>> brier_score(["a", "b"], [[1.0, 0.0], [0.5, 0.5]], ["a", "b"])
    0.25
    """
    proba, idx = _prepare(y_true, proba, classes)
    onehot = np.zeros_like(proba)
    onehot[np.arange(idx.shape[0]), idx] = 1.0
    return float(((proba - onehot) ** 2).sum(axis=1).mean())


def log_loss(y_true, proba, classes) -> float:
    """Mean negative log-probability of the true class (natural log).

    Examples
    --------
    >>> round(log_loss(["a"], [[0.5, 0.5]], ["a", "b"]), 4)
    0.6931
    """
    proba, idx = _prepare(y_true, proba, classes)
    p = proba[np.arange(idx.shape[0]), idx] / proba.sum(axis=1)
    return float(-np.log(np.maximum(p, _TINY)).mean())


def format_sets(sets, classes, *, sep: str = "|") -> list[str]:
    """Class names of each boolean row of ``sets`` joined by ``sep``.

    Examples
    --------
    >>> format_sets([[True, False, True], [False] * 3], ["a", "b", "c"])
    ['a|c', '']
    """
    names = [str(c) for c in classes]
    return [sep.join(n for n, keep in zip(names, row, strict=True) if keep)
            for row in np.asarray(sets, dtype=bool)]


class ProbabilityCalibrator(BaseEstimator):
    """Temperature scaling and split-conformal sets fitted on held-out probabilities.

    Parameters
    ----------
    alpha : float, default=0.1
        Allowed miscoverage of the prediction sets: a set holds the true
        class of an exchangeable spectrum with probability at least
        ``1 - alpha`` (marginal over spectra, not per class).
    temperature : bool, default=True
        Fit a temperature; False keeps ``T = 1`` (conformal sets only).

    Attributes
    ----------
    temperature_ : float
        Divides the log-probabilities.
    quantile_ : float
        Threshold of the score ``1 - p`` (calibrated): a class is in the set
        when its calibrated probability is at least ``1 - quantile_``.
    classes_ : ndarray of str
        Column order of the probabilities.
    n_calibration_ : int
        Rows the calibrator was fitted on.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, 300)
    >>> proba = np.full((300, 3), 0.1)
    >>> proba[np.arange(300), y] = 0.8
    >>> cal = ProbabilityCalibrator(alpha=0.1).fit(proba, y, classes=[0, 1, 2])
    >>> bool(cal.prediction_sets(proba)[np.arange(300), y].mean() >= 0.9)
    True
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "temperature": ["boolean"],
    }

    def __init__(self, alpha=0.1, temperature=True):
        self.alpha = alpha
        self.temperature = temperature

    def fit(self, proba, y_true, classes):
        """Learn the temperature, then the conformal threshold, from held-out rows.

        Parameters
        ----------
        proba : array-like of shape (n_samples, n_classes)
            Out-of-fold probabilities (of spectra the model did not train on).
        y_true : array-like of shape (n_samples,)
            True labels.
        classes : array-like of shape (n_classes,)
            Class of each column.

        Returns
        -------
        self : ProbabilityCalibrator
        """
        validate_parameter_constraints(
            self._parameter_constraints, self.get_params(deep=False),
            caller_name=type(self).__name__,
        )
        proba, idx = _prepare(y_true, proba, classes)
        self.classes_ = np.asarray([str(c) for c in classes])
        self.temperature_ = (
            fit_temperature(self.classes_[idx], proba, self.classes_)
            if self.temperature else 1.0
        )
        cal = scale_temperature(proba, self.temperature_)
        scores = 1.0 - cal[np.arange(idx.shape[0]), idx]
        self.quantile_ = conformal_quantile(scores, float(self.alpha))
        self.n_calibration_ = int(idx.shape[0])
        return self

    def transform(self, proba) -> np.ndarray:
        """Calibrated probabilities (same columns, rows sum to one)."""
        check_is_fitted(self)
        return scale_temperature(_check_proba(proba, self.classes_), self.temperature_)

    def prediction_sets(self, proba, *, calibrated: bool = False) -> np.ndarray:
        """Boolean ``(n_samples, n_classes)``: which classes each set holds.

        A set can be empty (no class is plausible enough) or hold several.

        Parameters
        ----------
        proba : array-like of shape (n_samples, n_classes)
            Probabilities of the model.
        calibrated : bool, default=False
            ``proba`` is already the output of :meth:`transform`.
        """
        cal = (_check_proba(proba, self.classes_) if calibrated
               else self.transform(proba))
        return 1.0 - cal <= self.quantile_ + 1e-12


def cross_fit_calibration(y_true, proba, classes, folds, *, alpha: float = 0.1) -> dict:
    """Score the calibration without optimism: fit on K-1 folds, apply to the K-th.

    For every fold, a :class:`ProbabilityCalibrator` is fitted on the
    out-of-fold rows of the other folds and applied to that fold's rows; the
    scores are computed once over the pooled rows.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    proba : array-like of shape (n_samples, n_classes)
        Out-of-fold probabilities, columns in the order of ``classes``.
    classes : array-like of shape (n_classes,)
        Class labels.
    folds : array-like of shape (n_samples,)
        Fold of each row (the grouped folds the probabilities came from).
    alpha : float, default=0.1
        Allowed miscoverage of the sets.

    Returns
    -------
    dict
        ``ece_uncalibrated``, ``ece``, ``brier_uncalibrated``, ``brier``,
        ``log_loss_uncalibrated``, ``log_loss`` (after: cross-fitted),
        ``conformal_alpha``, ``conformal_coverage``,
        ``conformal_mean_set_size``, ``set_size_counts`` (size -> rows),
        ``per_class_coverage`` and ``per_class_n`` (class -> value),
        ``temperature_folds`` (one per fold), ``n_samples``; and the arrays
        ``calibrated`` and ``sets`` (pooled rows, same order as ``proba``)
        under the keys of the same names.
    """
    proba, idx = _prepare(y_true, proba, classes)
    names = np.asarray([str(c) for c in classes])
    y = names[idx]
    folds = np.asarray(folds)
    calibrated = np.empty_like(proba)
    sets = np.zeros(proba.shape, dtype=bool)
    temps = []
    for k in np.unique(folds):
        test = folds == k
        cal = ProbabilityCalibrator(alpha=alpha).fit(proba[~test], y[~test], names)
        calibrated[test] = cal.transform(proba[test])
        sets[test] = cal.prediction_sets(calibrated[test], calibrated=True)
        temps.append(cal.temperature_)
    covered = sets[np.arange(idx.shape[0]), idx]
    sizes = sets.sum(axis=1)
    out = {
        "n_samples": int(idx.shape[0]),
        "ece_uncalibrated": expected_calibration_error(y, proba, names),
        "ece": expected_calibration_error(y, calibrated, names),
        "brier_uncalibrated": brier_score(y, proba, names),
        "brier": brier_score(y, calibrated, names),
        "log_loss_uncalibrated": log_loss(y, proba, names),
        "log_loss": log_loss(y, calibrated, names),
        "conformal_alpha": float(alpha),
        "conformal_coverage": float(covered.mean()),
        "conformal_mean_set_size": float(sizes.mean()),
        "set_size_counts": {int(s): int(np.sum(sizes == s)) for s in np.unique(sizes)},
        "per_class_coverage": {c: float(covered[y == c].mean()) for c in names},
        "per_class_n": {c: int(np.sum(y == c)) for c in names},
        "temperature_folds": [float(t) for t in temps],
    }
    out["calibrated"], out["sets"] = calibrated, sets
    return out


def save_calibration(calibrator, directory, *, note: str | None = None) -> Path:
    """Write a fitted calibrator's numbers as ``calibration.json`` in ``directory``.

    Only numbers and class names are stored (no pickle, no code).

    Examples
    --------
    >>> import tempfile
    >>> cal = ProbabilityCalibrator().fit([[0.9, 0.1], [0.2, 0.8]] * 5,
    ...                                   ["a", "b"] * 5, ["a", "b"])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     same = load_calibration(save_calibration(cal, tmp).parent)
    >>> same.temperature_ == cal.temperature_, same.classes_.tolist()
    (True, ['a', 'b'])
    """
    check_is_fitted(calibrator)
    record = {
        "format": _FORMAT,
        "method": "temperature scaling of log-probabilities; split-conformal "
        "sets with the score 1 - p of the true class",
        "temperature": float(calibrator.temperature_),
        "alpha": float(calibrator.alpha),
        "quantile": float(calibrator.quantile_),
        "classes": [str(c) for c in calibrator.classes_],
        "n_calibration": int(calibrator.n_calibration_),
    }
    if note:
        record["fitted_on"] = note
    return write_json(Path(directory) / CALIBRATION_FILE, record)


def load_calibration(directory) -> ProbabilityCalibrator | None:
    """Read ``calibration.json`` from a model directory.

    Returns
    -------
    ProbabilityCalibrator or None
        The fitted calibrator; None when the directory has no
        ``calibration.json`` (a model saved without calibration, e.g. by an
        older raman_sk or by ``raman-sk train``).

    Raises
    ------
    ValueError
        If the file is not a calibration record or holds bad values.
    """
    path = Path(directory) / CALIBRATION_FILE
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(rec, dict) or rec.get("format") != _FORMAT:
            raise ValueError(f"expected format {_FORMAT!r}")
        temp, alpha, q = (float(rec[k]) for k in ("temperature", "alpha", "quantile"))
        classes = rec["classes"]
        if not (math.isfinite(temp) and temp > 0):
            raise ValueError(f"temperature must be positive, got {temp}")
        if not (0 < alpha < 1 and 0 <= q <= 1):
            raise ValueError(f"alpha {alpha} or quantile {q} out of range")
        if not isinstance(classes, list) or len(classes) < 2:
            raise ValueError("classes must be a list of at least 2 names")
        cal = ProbabilityCalibrator(alpha=alpha)
        cal.temperature_, cal.quantile_ = temp, q
        cal.classes_ = np.asarray([str(c) for c in classes])
        cal.n_calibration_ = int(rec.get("n_calibration", 0))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        msg = f"cannot read the calibration in {str(path)!r}: {exc}"
        raise ValueError(msg) from exc
    return cal


def plot_reliability(y_true, proba, classes, *, calibrated=None, n_bins=10, ax=None):
    """Reliability diagram: accuracy against confidence per bin, with counts.

    Parameters
    ----------
    y_true, proba, classes
        As :func:`reliability_bins` (``proba``: before calibration).
    calibrated : array-like, default=None
        Calibrated probabilities of the same rows, drawn next to ``proba``.
    n_bins : int, default=10
        Equal-width confidence bins.
    ax : Axes, default=None
        Where to draw; a new figure when None.

    Returns
    -------
    Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 5.0))
    series = [("uncalibrated", proba, "tab:red", -0.2)]
    if calibrated is not None:
        series.append(("calibrated", calibrated, "tab:blue", 0.2))
    width = 1.0 / n_bins
    ax.plot([0, 1], [0, 1], color="0.5", lw=1, ls="--", label="perfect calibration")
    for name, p, color, shift in series:
        bins = reliability_bins(y_true, p, classes, n_bins=n_bins)
        ece = expected_calibration_error(y_true, p, classes, n_bins=n_bins)
        centres = (bins["low"] + bins["high"]) / 2 + shift * width
        ax.bar(centres, bins["accuracy"].fillna(0.0), width=0.4 * width,
               color=color, alpha=0.75, label=f"{name} (ECE {ece:.3f})")
        for x, acc, n in zip(centres, bins["accuracy"], bins["count"], strict=True):
            if n:
                ax.annotate(str(int(n)), (x, acc), xytext=(0, 2),
                            textcoords="offset points", ha="center", fontsize=7,
                            color=color)
    ax.set_xlim(0, 1)
    # headroom above the bars: the legend row never covers a bar or its count
    ax.set_ylim(0, 1.2)
    ax.set_yticks(np.linspace(0.0, 1.0, 6))
    ax.set_xlabel("confidence (highest probability), binned")
    ax.set_ylabel("accuracy in the bin (numbers: spectra per bin)")
    ax.legend(loc="upper center", ncol=3, fontsize=8)
    return ax
