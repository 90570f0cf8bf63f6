"""The standard raman_sk pipeline: resample, clean like the database, classify.

The ramanbiolib spectra were digitised, then smoothed (Savitzky-Golay), baseline
corrected (airPLS) and min-max normalised. Raw instrument exports carry
fluorescence backgrounds and arbitrary intensity scales, so the pipeline applies
the same cleaning to whatever it is given; on the already clean database
spectra it changes little (checked in ``tests/test_pipeline.py``).

Besides :func:`make_raman_pipeline` this module holds the small pieces that a
training run with an outside validation part needs: :func:`fit_with_validation`
(preprocess the validation spectra with the steps fitted on the training part
and hand them to the classifier through skorch's ``predefined_split``),
:func:`history_frame` (the per-epoch log) and :func:`predict_table` (labels,
probabilities, prediction sets, the nearest library molecule and the
out-of-domain check of new spectra).
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils.validation import check_is_fitted

from raman_sk.classifier import RamanCNNClassifier, RamanCNNCommittee
from raman_sk.classifier.callbacks import FinalWeights
from raman_sk.utils._validation import SATURATED_RUN, default_grid, saturation

__all__ = [
    "find_step",
    "fit_with_validation",
    "history_frame",
    "make_raman_pipeline",
    "predict_table",
    "prediction_header",
    "spike_window",
    "split_pipeline",
]


def make_raman_pipeline(
    wavenumbers=None,
    *,
    target_wavenumbers=None,
    cleaning: bool = True,
    despike: bool = True,
    coverage: str = "raise",
    smoothing_window: int = 11,
    baseline_lam: float = 1e5,
    classifier=None,
    committee_cv=None,
    **classifier_params,
) -> Pipeline:
    """Build ``resample -> [despike -> smooth -> baseline -> min-max] -> classifier``.

    Parameters
    ----------
    wavenumbers : array-like of shape (n_points,), default=None
        Axis of 2-D input arrays (the database grid for ramanbiolib data). Inputs
        given as (wavenumbers, intensities) pairs always carry their own axis.
    target_wavenumbers : array-like, default=None
        Network input grid; default 450-1800 cm-1 at 1 cm-1.
    cleaning : bool, default=True
        Add Savitzky-Golay smoothing, airPLS baseline removal and min-max
        normalisation after resampling (the database's own preprocessing).
    despike : bool, default=True
        With ``cleaning``, remove cosmic-ray spikes
        (:class:`~raman_sk.preprocessing.SpikeRemover`) before smoothing, so
        that a raw spectrum's spike neither dominates the min-max scaling nor
        reads as a band. A one-pixel spike on a raw axis of up to 2 cm-1 per
        pixel spans up to 4 cm-1 of the grid once resampled: the remover's
        ``window`` covers that (at least 3 points).
    coverage : {"raise", "fill", "edge"}, default="raise"
        What the resampler does where a spectrum does not cover the grid.
    smoothing_window : int, default=11
        Savitzky-Golay window (points, odd); polynomial order 3.
    baseline_lam : float, default=1e5
        airPLS smoothness.
    classifier : estimator, default=None
        Final step; default ``RamanCNNClassifier(**classifier_params)``.
    committee_cv : int, cross-validation splitter or None, default=None
        If given, the final step is a
        :class:`~raman_sk.classifier.RamanCNNCommittee` of that classifier
        with ``cv=committee_cv`` and the classifier's ``random_state``; fit
        it with ``ramancnncommittee__groups=groups`` for folds by molecule.
    **classifier_params
        Passed to :class:`~raman_sk.RamanCNNClassifier` when ``classifier`` is
        None (e.g. ``max_epochs``, ``augmenter``, ``random_state``).

    Returns
    -------
    Pipeline
        Steps named as :func:`~sklearn.pipeline.make_pipeline` names them
        (``wavenumberresampler``, ``spikeremover``, ``savitzkygolay``,
        ``baselineremover``, ``spectrumnormalizer``, ``ramancnnclassifier`` or
        ``ramancnncommittee``), so grid-search keys read
        ``ramancnnclassifier__module__kernel_sizes`` (with a committee:
        ``ramancnncommittee__estimator__module__kernel_sizes``).

    Raises
    ------
    TypeError
        If both ``classifier`` and classifier parameters are given.

    Examples
    --------
    >>> from raman_sk.pipeline import make_raman_pipeline
    >>> pipe = make_raman_pipeline(max_epochs=5)
    >>> [name for name, _ in pipe.steps]  # doctest: +NORMALIZE_WHITESPACE
    ['wavenumberresampler', 'spikeremover', 'savitzkygolay', 'baselineremover',
     'spectrumnormalizer', 'ramancnnclassifier']
    >>> pipe.get_params()["ramancnnclassifier__max_epochs"]
    5
    >>> pipe = make_raman_pipeline(max_epochs=5, committee_cv=5)
    >>> pipe.steps[-1][0], pipe.get_params()["ramancnncommittee__cv"]
    ('ramancnncommittee', 5)
    """
    from raman_sk.preprocessing import (
        BaselineRemover,
        SavitzkyGolay,
        SpectrumNormalizer,
        SpikeRemover,
        WavenumberResampler,
    )

    if classifier is None:
        classifier = RamanCNNClassifier(**classifier_params)
    elif classifier_params:
        raise TypeError(
            "Give either classifier= or classifier parameters, not both: got "
            f"{sorted(classifier_params)}."
        )
    if committee_cv is not None:
        classifier = RamanCNNCommittee(
            classifier,
            cv=committee_cv,
            random_state=classifier.get_params(deep=False).get("random_state"),
        )
    steps = [
        WavenumberResampler(
            wavenumbers=wavenumbers,
            target_wavenumbers=target_wavenumbers,
            coverage=coverage,
        )
    ]
    if cleaning:
        steps += [SpikeRemover(window=spike_window(target_wavenumbers))] \
            if despike else []
        steps += [
            SavitzkyGolay(window_length=smoothing_window, polyorder=3),
            BaselineRemover(method="airpls", lam=baseline_lam),
            SpectrumNormalizer(method="minmax"),
        ]
    return make_pipeline(*steps, classifier)


#: Widest raw pixel (cm-1) whose one-pixel spike the default cleaning removes.
WIDEST_RAW_STEP = 2.0


def spike_window(target_wavenumbers=None) -> int:
    """Grid points a one-pixel cosmic ray can span once resampled onto the grid.

    Linear interpolation spreads a spike on a raw axis of step ``s`` over
    ``2 s`` cm-1; with ``s`` up to :data:`WIDEST_RAW_STEP` that is
    ``ceil(2 s / grid step)`` points, and never fewer than the remover's
    default 3.

    Parameters
    ----------
    target_wavenumbers : array-like, default=None
        The network's input grid; default 450-1800 cm-1 at 1 cm-1.

    Returns
    -------
    int

    Examples
    --------
    >>> spike_window(), spike_window(np.arange(450.0, 1800.5, 0.5))
    (4, 8)
    >>> spike_window(np.arange(450.0, 1801.0, 2.0))
    3
    """
    grid = default_grid() if target_wavenumbers is None else np.asarray(
        target_wavenumbers, dtype=np.float64)
    step = float(np.median(np.abs(np.diff(grid)))) if grid.size > 1 else 1.0
    return max(3, int(np.ceil(2 * WIDEST_RAW_STEP / step - 1e-9)))


def split_pipeline(pipeline):
    """Split ``pipeline`` into its preprocessing part and its final estimator.

    Parameters
    ----------
    pipeline : Pipeline or estimator
        A pipeline whose last step is the classifier, or a bare classifier.

    Returns
    -------
    preprocessing : Pipeline or None
        ``pipeline[:-1]``; None for a bare estimator or a one-step pipeline.
    final : estimator
        The last step (the estimator itself when it is not a Pipeline).

    Raises
    ------
    ValueError
        If ``pipeline`` is a Pipeline without steps.

    Examples
    --------
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.linear_model import LogisticRegression
    >>> pipe = make_pipeline(StandardScaler(), LogisticRegression())
    >>> pre, final = split_pipeline(pipe)
    >>> [name for name, _ in pre.steps], type(final).__name__
    (['standardscaler'], 'LogisticRegression')
    >>> split_pipeline(LogisticRegression())[0] is None
    True
    """
    if not isinstance(pipeline, Pipeline):
        return None, pipeline
    if len(pipeline.steps) == 0:
        raise ValueError("pipeline has no steps; give a fitted pipeline.")
    pre = pipeline[:-1] if len(pipeline.steps) > 1 else None
    return pre, pipeline.steps[-1][1]


def find_step(pipeline, cls):
    """Return the first step of ``pipeline`` that is an instance of ``cls``.

    Parameters
    ----------
    pipeline : Pipeline or estimator
        Where to look.
    cls : type
        Class of the wanted step.

    Returns
    -------
    estimator or None
        The step, or None when there is none.
    """
    steps = pipeline.steps if isinstance(pipeline, Pipeline) else [("", pipeline)]
    for _, step in steps:
        if isinstance(step, cls):
            return step
    return None


def fit_with_validation(
    pipeline,
    X_train,
    y_train,
    X_valid,
    y_valid,
    *,
    keep_final: bool = True,
    callbacks=(),
):
    """Fit a pipeline with an outside validation part for the best checkpoint.

    The preprocessing steps are fitted on ``X_train`` alone; ``X_valid`` is
    transformed by them and given to the classifier through
    ``skorch.helper.predefined_split`` (with its original labels), so the
    classifier's augmenter only ever sees the training part. With the
    classifier's default ``restore_best=True`` the returned pipeline holds the
    weights of the best validation epoch.

    Parameters
    ----------
    pipeline : Pipeline
        Unfitted pipeline whose last step is a RamanCNNClassifier (cloned).
    X_train, y_train : array-like
        Training spectra (as the pipeline takes them) and labels.
    X_valid, y_valid : array-like
        Validation spectra and labels (e.g. split off by molecule with
        :func:`raman_sk.evaluation.grouped_train_valid_test_split`).
    keep_final : bool, default=True
        Add a :class:`~raman_sk.classifier.FinalWeights` callback and return
        a second pipeline holding the weights of the last epoch.
    callbacks : sequence of (name, Callback), default=()
        Extra skorch callbacks for this fit (e.g. ``[("progress",
        EpochProgress())]`` with :class:`raman_sk.classifier.EpochProgress`),
        appended to the classifier's own.

    Returns
    -------
    best : Pipeline
        The fitted pipeline (best-epoch weights). Its classifier's
        ``train_split`` and ``callbacks`` are reset to their values in
        ``pipeline``, so that it saves and clones cleanly.
    final : Pipeline or None
        A deep copy holding the last epoch's weights (None unless
        ``keep_final``).

    Raises
    ------
    ValueError
        If ``X_valid`` is empty.
    """
    from skorch.dataset import Dataset
    from skorch.helper import predefined_split

    if len(y_valid) == 0:
        raise ValueError("X_valid is empty: give at least one validation spectrum.")
    pipe = clone(pipeline)
    pre, clf = split_pipeline(pipe)
    Xv = (
        np.asarray(X_valid)
        if pre is None
        else clone(pre).fit(X_train).transform(X_valid)
    )
    original = {"train_split": clf.train_split, "callbacks": clf.callbacks}
    extra = list(callbacks)
    final_cb = None
    if keep_final:
        final_cb = FinalWeights()
        extra.append(("final_weights", final_cb))
    own = list(clf.callbacks or [])
    clf.set_params(
        train_split=predefined_split(Dataset(np.asarray(Xv), np.asarray(y_valid))),
        callbacks=own + extra,
    )
    pipe.fit(X_train, y_train)
    final = None
    if keep_final:
        state = dict(clf.callbacks_)["final_weights"].state_dict_
        final = copy.deepcopy(pipe)
        split_pipeline(final)[1].module_.load_state_dict(state)
        split_pipeline(final)[1].module_.eval()
    for p in (pipe, final):
        if p is not None:
            _reset_params(split_pipeline(p)[1], original)
    return pipe, final


def _reset_params(clf, params):
    # set_params(callbacks=...) would re-initialise the callbacks and drop the
    # history-independent state we no longer need; plain attributes suffice
    # since both are only read at the next fit.
    for key, value in params.items():
        setattr(clf, key, value)


def history_frame(clf) -> pd.DataFrame:
    """Per-epoch training log of a fitted RamanCNNClassifier.

    Parameters
    ----------
    clf : RamanCNNClassifier, RamanCNNCommittee or Pipeline
        A fitted classifier or committee, or a pipeline ending in one.

    Returns
    -------
    DataFrame
        Columns ``epoch`` (1-based), ``train_loss``, ``valid_loss``,
        ``valid_acc``, ``lr`` and ``dur`` (seconds); NaN where a value was not
        recorded (no validation part). For a committee, the members' logs one
        after the other, with a first column ``member`` (index into
        ``estimators_``).
    """
    clf = split_pipeline(clf)[1]
    check_is_fitted(clf)
    if isinstance(clf, RamanCNNCommittee):
        frames = [
            history_frame(member).assign(member=k)
            for k, member in enumerate(clf.estimators_)
        ]
        frame = pd.concat(frames, ignore_index=True)
        return frame[["member", *frame.columns[:-1]]]
    rows = []
    for i, h in enumerate(clf.history, start=1):
        lr = h.get("event_lr", np.nan)
        rows.append(
            {
                "epoch": h.get("epoch", i),
                "train_loss": h.get("train_loss", np.nan),
                "valid_loss": h.get("valid_loss", np.nan),
                "valid_acc": h.get("valid_acc", np.nan),
                "lr": lr if lr is not None else np.nan,
                "dur": h.get("dur", np.nan),
            }
        )
    frame = pd.DataFrame(
        rows, columns=["epoch", "train_loss", "valid_loss", "valid_acc", "lr", "dur"]
    )
    return frame.astype({"epoch": int}).astype(
        {c: float for c in frame.columns if c != "epoch"}
    )


def _pair_like(item) -> bool:
    if isinstance(item, np.ndarray):
        return item.ndim == 2 and item.shape[0] == 2
    return isinstance(item, list | tuple) and len(item) == 2 and all(
        np.ndim(part) == 1 for part in item
    )


def _rows(X):
    """Intensities (and axis) of each spectrum, and a row selector; None if unknown."""
    if isinstance(X, dict) and "spectra" in X:
        X = X["spectra"]
    try:
        if isinstance(X, list | tuple) and X and _pair_like(X[0]):
            items = [(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
                     for a, b in X]
            return items, lambda idx: [X[i] for i in idx]
        if isinstance(X, pd.DataFrame):
            values = X.to_numpy(dtype=float)
            return [(None, v) for v in values], lambda idx: X.iloc[idx]
        values = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        return None, None  # the pipeline's own validation says what is wrong
    if values.ndim != 2:
        return None, None
    return [(None, v) for v in values], lambda idx: values[idx]


def _bad_input(items) -> list[str]:
    """Why each spectrum cannot be classified ("" when it can)."""
    reasons = []
    for axis, values in items:
        if axis is not None and not np.isfinite(axis).all():
            reasons.append("bad input: wavenumbers contain NaN or inf")
        elif values.size == 0 or not np.isfinite(values).all():
            reasons.append("bad input: intensities contain NaN or inf")
        elif np.ptp(values) == 0:
            reasons.append(f"bad input: flat spectrum (every intensity {values[0]:g})")
        else:
            reasons.append("")
    return reasons


def _calibrated(calibrator, proba, classes):
    if calibrator is None:
        return proba, None
    known = [str(c) for c in calibrator.classes_]
    if known != classes:
        raise ValueError(
            f"the calibration is for the classes {known}, the model predicts "
            f"{classes}: they do not belong together."
        )
    cal = calibrator.transform(proba)
    return cal, calibrator.prediction_sets(cal, calibrated=True)


def predict_table(
    pipeline, X, sources=None, checker=None, *, calibrator=None, library=None
) -> pd.DataFrame:
    """Label, probabilities, prediction set, nearest molecule and domain check.

    The preprocessing runs once: its output feeds the classifier, the
    library search and the checker (which compare on the network's input
    grid). A spectrum that cannot be classified (NaN or inf values, a flat
    line such as all zeros) gets a row without a label, flagged out of
    domain with the reason, instead of an error.

    Parameters
    ----------
    pipeline : Pipeline
        Fitted pipeline ending in a classifier with ``predict_proba``.
    X : array-like or list of (wavenumbers, intensities) pairs
        Spectra as the pipeline takes them.
    sources : sequence of str, default=None
        Name of each spectrum (e.g. ``read_spectra(...).sources``); default
        ``"0"``, ``"1"``...
    checker : NearestSpectrumChecker, default=None
        Fitted out-of-domain checker; None leaves its numeric columns NaN,
        ``out_of_domain`` missing (``pd.NA``) and ``ood_reason`` empty.
    calibrator : ProbabilityCalibrator, default=None
        Fitted on the model's out-of-fold probabilities (see
        :func:`raman_sk.calibration.load_calibration`); None keeps the raw
        probabilities, ``calibrated`` False and no prediction sets.
    library : MoleculeLibrary, default=None
        Reference spectra with molecule names (see
        :func:`raman_sk.library.load_library`); None leaves the ``nearest_*``
        columns empty.

    Returns
    -------
    DataFrame
        ``source``, ``label``, ``prob_<class>`` for each class (in
        ``classes_`` order; calibrated when a calibrator is given),
        ``calibrated``, ``prediction_set`` (classes joined by ``|``; empty
        when no class is plausible enough), ``set_size``,
        ``nearest_molecule``, ``nearest_class``, ``nearest_similarity``,
        then the checker's ``similarity``, ``effective_width``,
        ``peak_fwhm``, ``strongest_fwhm``, ``band_count``, ``residual``,
        ``embedding_distance``, ``energy``, ``disagreement``, ``combined``,
        ``ood_score``
        (above 1: out of domain),
        ``out_of_domain``, ``ood_reason`` (which evidence fired) and
        ``ood_evidence`` (which checks ran; says so when the model was
        saved without the model-space check) (see
        :meth:`NearestSpectrumChecker.check`).
    """
    pre, clf = split_pipeline(pipeline)
    check_is_fitted(clf)
    classes = [str(c) for c in clf.classes_]
    items, select = _rows(X)
    if items is None:  # a layout only the preprocessing reads (or rejects)
        X = np.asarray(X if pre is None else pre.transform(X), dtype=np.float64)
        items, select = _rows(X)
        pre = None
    n = len(items)
    if sources is None:
        sources = [str(i) for i in range(n)]
    if len(sources) != n:
        raise ValueError(f"sources has {len(sources)} entries for {n} spectra.")
    bad = np.array(_bad_input(items), dtype=object)
    good = np.flatnonzero(bad == "")
    proba = np.full((n, len(classes)), np.nan)
    label = np.full(n, None, dtype=object)
    text = {k: np.full(n, "", dtype=object)
            for k in ("prediction_set", "nearest_molecule", "nearest_class")}
    number = {k: np.full(n, np.nan) for k in
              ("nearest_similarity", "similarity", "effective_width", "peak_fwhm",
               "strongest_fwhm", "band_count",
               "residual", "embedding_distance", "energy", "disagreement",
               "combined", "ood_score")}
    evidence = np.full(n, "", dtype=object)
    calibrated = pd.array([pd.NA] * n, dtype="boolean")
    size = pd.array([pd.NA] * n, dtype="Int64")
    flagged = pd.array([pd.NA] * n, dtype="boolean")
    flat = np.flatnonzero([r.startswith("bad input: flat") for r in bad])
    if flat.size and pre is not None:
        with warnings.catch_warnings():  # only its errors matter (e.g. coverage)
            warnings.simplefilter("ignore")
            pre.transform(select(flat))
    if good.size:
        Xg = select(good)
        Xg = np.asarray(Xg if pre is None else pre.transform(Xg), dtype=np.float64)
        raw = clf.predict_proba(Xg)
        proba[good], sets = _calibrated(calibrator, raw, classes)
        label[good] = [classes[k] for k in raw.argmax(axis=1)]
        calibrated[good] = calibrator is not None
        if sets is not None:
            names = np.asarray(classes, dtype=object)
            text["prediction_set"][good] = ["|".join(names[row]) for row in sets]
            size[good] = sets.sum(axis=1)
        if library is not None:
            for name, col in library.query(Xg).items():
                (text if name in text else number)[name][good] = col.to_numpy()
        if checker is not None:
            with_model = getattr(checker, "model_space_", False)
            check = checker.check(Xg, model=clf) if with_model else checker.check(Xg)
            for name in number:
                if name in check:
                    number[name][good] = check[name].to_numpy()
            flagged[good] = check["out_of_domain"].to_numpy()
            bad[good] = check["reason"].to_numpy()
            if "evidence" in check:
                evidence[good] = check["evidence"].to_numpy()
    for i in good:  # on the raw values: resampling and smoothing blur a plateau
        run = saturation(items[i][1])
        if run >= SATURATED_RUN:
            note = f"saturated: {run} points at the maximum {np.max(items[i][1]):g}"
            bad[i] = note + (f"; {bad[i]}" if bad[i] else "")
            flagged[i] = True
            number["ood_score"][i] = np.inf
    flagged[np.flatnonzero([r.startswith("bad input") for r in bad])] = True
    table = pd.DataFrame({"source": list(sources), "label": label})
    for k, c in enumerate(classes):
        table[f"prob_{c}"] = proba[:, k]
    table["calibrated"] = calibrated
    table["prediction_set"] = text["prediction_set"]
    table["set_size"] = size
    table["nearest_molecule"] = text["nearest_molecule"]
    table["nearest_class"] = text["nearest_class"]
    for name, values in number.items():
        table[name] = values
    known = not flagged.isna().any()
    table["out_of_domain"] = flagged.astype(bool) if known else flagged
    table["ood_reason"] = bad
    table["ood_evidence"] = evidence
    return table


def prediction_header(row) -> str:
    """One row of :func:`predict_table` as two lines of text.

    ``raman-sk explain`` prints it and titles each spectrum's figure with it.

    Examples
    --------
    >>> row = pd.Series({"source": "s.txt", "label": "b", "prob_b": 0.87,
    ...                  "calibrated": True, "prediction_set": "a|b",
    ...                  "nearest_molecule": "m1", "nearest_class": "b",
    ...                  "nearest_similarity": 0.91, "out_of_domain": False})
    >>> print(prediction_header(row))
    s.txt: b (p 0.87, set {a, b}); nearest m1 (b, r 0.91)
    in domain
    """
    if pd.isna(row["label"]):
        return f"{row['source']}: no prediction ({row['ood_reason']})"
    p = row["prob_" + str(row["label"])]
    text = f"{row['source']}: {row['label']} (p {p:.2f}"
    if not pd.isna(row["calibrated"]) and row["calibrated"]:
        text += f", set {{{row['prediction_set'].replace('|', ', ')}}}"
    text += ")"
    if row["nearest_molecule"]:
        text += (f"; nearest {row['nearest_molecule']} ({row['nearest_class']}, "
                 f"r {row['nearest_similarity']:.2f})")
    if pd.isna(row["out_of_domain"]):
        return text
    if bool(row["out_of_domain"]):
        return text + f"\nOUT OF DOMAIN: {row['ood_reason']}"
    return text + "\nin domain"
