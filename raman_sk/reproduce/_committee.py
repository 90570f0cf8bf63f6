"""The default recipe (``cv-committee``): one committee, fitted once on every spectrum.

A :class:`~raman_sk.classifier.RamanCNNCommittee` over grouped K-fold by
molecule trains one network per fold on a fixed schedule. Fitted once on all
spectra it gives both the out-of-fold report (each spectrum predicted by the
member that never saw its molecule) and the shipped model (the members'
averaged probabilities). The baselines are scored on the same folds; one more
network refitted on every spectrum is shipped as the smaller, single-network
``final_model``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from raman_sk import evaluation
from raman_sk.reproduce._settings import Settings, classifier_params, sample_passes
from raman_sk.reproduce._steps import network_grid, progress, save_model, timed
from raman_sk.utils._files import write_csv, write_png

__all__ = [
    "CNN_NAME",
    "calibrate",
    "evaluate_domain",
    "fit_checkers",
    "fit_committee",
    "fit_final",
    "oof_table",
    "out_of_fold",
    "training_log",
]

#: Name of the CNN's row in the out-of-fold table.
CNN_NAME = "1D CNN (committee member that left the fold out)"


def fit_committee(data: Bunch, settings: Settings, *, verbose: bool = False):
    """Fit the pipeline ending in a committee over grouped K-fold, on every spectrum.

    The preprocessing steps are stateless (each spectrum is cleaned on its
    own), so fitting them on every spectrum leaks nothing into the folds.

    Returns
    -------
    Pipeline
        Preprocessing + fitted ``RamanCNNCommittee``.
    """
    from raman_sk.classifier import RamanCNNClassifier, RamanCNNCommittee
    from raman_sk.pipeline import make_raman_pipeline

    member = RamanCNNClassifier(
        **classifier_params(settings, callbacks=progress("committee member", verbose))
    )
    committee = RamanCNNCommittee(
        estimator=member, cv=settings.cv, random_state=settings.seed
    )
    pipe = make_raman_pipeline(data.wavenumbers, classifier=committee)
    name = pipe.steps[-1][0]
    return pipe.fit(data.X, data.y, **{f"{name}__groups": data.groups})


def fit_final(data: Bunch, settings: Settings, *, verbose: bool = False):
    """Fit one network on every spectrum with the committee's fixed schedule."""
    from raman_sk.pipeline import make_raman_pipeline

    params = classifier_params(settings, callbacks=progress("final_model", verbose))
    return make_raman_pipeline(data.wavenumbers, **params).fit(data.X, data.y)


def _oof_proba(committee, data: Bunch):
    order = [list(map(str, committee.classes_)).index(c) for c in data.classes]
    proba = np.asarray(committee.oof_proba_, dtype=np.float64)[:, order]
    return proba, np.asarray(committee.classes_)[order]


def calibrate(pipe, data: Bunch, *, alpha: float = 0.1) -> Bunch:
    """Calibrate the committee's out-of-fold probabilities, cross-fitted by fold.

    The reported numbers apply to each fold a temperature and conformal
    threshold fitted on the other folds' out-of-fold rows only; the shipped
    calibrator is fitted on every out-of-fold row.

    Returns
    -------
    Bunch
        ``calibrator`` (shipped), ``note`` (what it was fitted on),
        ``record`` (the scores, see
        :func:`~raman_sk.calibration.cross_fit_calibration`, plus
        ``temperature``, ``conformal_quantile`` and ``protocol``),
        ``proba`` (uncalibrated) and ``calibrated`` (cross-fitted), both
        with columns in ``data.classes`` order.
    """
    from raman_sk.calibration import ProbabilityCalibrator, cross_fit_calibration

    committee = pipe[-1]
    folds = evaluation.check_folds(committee.oof_fold_, data.groups)
    proba, _ = _oof_proba(committee, data)
    record = cross_fit_calibration(data.y, proba, data.classes, folds, alpha=alpha)
    calibrated = record.pop("calibrated")
    record.pop("sets")
    shipped = ProbabilityCalibrator(alpha=alpha).fit(proba, data.y, data.classes)
    k, n = len(np.unique(folds)), len(data.y)
    record.update(
        temperature=shipped.temperature_,
        conformal_quantile=shipped.quantile_,
        protocol=f"temperature and conformal threshold fitted on {k - 1} folds' "
        "out-of-fold probabilities, applied to the remaining fold, pooled over "
        f"the {k} folds (the label never changes: macro-F1 is the same)",
    )
    note = (
        f"the grouped {k}-fold out-of-fold probabilities of the committee's "
        f"members on all {n} spectra"
    )
    return Bunch(calibrator=shipped, note=note, record=record, proba=proba,
                 calibrated=calibrated)


def out_of_fold(pipe, data: Bunch) -> Bunch:
    """Score the committee's out-of-fold predictions and the baselines on its folds.

    Returns
    -------
    Bunch
        ``oof`` (model name -> :func:`~raman_sk.evaluation.score_predictions`
        over every spectrum, with ``fit_predict_s`` for the baselines),
        ``folds`` (held-out fold of each spectrum), ``proba`` (the CNN's
        out-of-fold probabilities, columns in ``data.classes`` order),
        ``predicted`` and ``X_grid`` (every spectrum on the network's input).
    """
    committee = pipe[-1]
    folds = evaluation.check_folds(committee.oof_fold_, data.groups)
    proba, classes = _oof_proba(committee, data)
    oof = {CNN_NAME: evaluation.score_probabilities(data.y, proba, classes)}
    X_grid = pipe[:-1].transform(data.X)
    for name, est in evaluation.baselines().items():
        pred, seconds = evaluation.fold_predictions(est, X_grid, data.y, folds)
        oof[name] = evaluation.score_predictions(data.y, pred, labels=data.classes)
        oof[name]["fit_predict_s"] = seconds
    return Bunch(
        oof=oof,
        folds=folds,
        proba=proba,
        predicted=classes[np.argmax(proba, axis=1)],
        X_grid=X_grid,
    )


def oof_table(data: Bunch, r: Bunch) -> pd.DataFrame:
    """Return the out-of-fold predictions, one row per spectrum.

    Columns ``source`` (spectrum id), ``molecule``, ``true_class``, ``fold``
    (held out there), ``predicted_class`` and ``prob_<class>`` per class.
    """
    table = pd.DataFrame(
        {
            "source": data.sources,
            "molecule": data.groups,
            "true_class": data.y,
            "fold": r.folds,
            "predicted_class": r.predicted,
        }
    )
    for k, c in enumerate(data.classes):
        table[f"prob_{c}"] = r.proba[:, k]
    return table


def training_log(committee_pipe, final_pipe) -> pd.DataFrame:
    """Per-epoch training loss of every network, ``model`` naming it."""
    from raman_sk.pipeline import history_frame

    frames = []
    members = committee_pipe[-1].estimators_
    nets = [(f"member {k} (fold {k} held out)", m) for k, m in enumerate(members)]
    for name, net in [*nets, ("final_model", final_pipe[-1])]:
        frame = history_frame(net)[["epoch", "train_loss", "lr", "dur"]]
        frame.insert(0, "model", name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def fit_checkers(pipe, X_grid, groups):
    """Fit the out-of-domain checkers of best_model (committee) and final_model.

    Returns
    -------
    with_model : NearestSpectrumChecker
        Input- and model-space checks, limits on the committee's out-of-fold
        scores (saved with best_model).
    plain : NearestSpectrumChecker
        Input-space checks only (saved with final_model, whose single
        network has no out-of-fold scores to set model-space limits on).
    record : dict
        The limits and rates for evaluation.json.
    """
    from raman_sk.domain import NearestSpectrumChecker

    plain = NearestSpectrumChecker().fit(X_grid, groups=groups)
    checker = NearestSpectrumChecker().fit(X_grid, groups=groups, model=pipe[-1])
    loo = checker.loo_similarity_
    return checker, plain, {
        "reference": "every spectrum on the network's input grid",
        "threshold": checker.threshold_,
        "min_effective_width": checker.min_effective_width_,
        "min_peak_fwhm": checker.min_peak_fwhm_,
        "min_strongest_fwhm": checker.min_strongest_fwhm_,
        "min_band_count": checker.min_band_count_,
        "n_bands": checker.n_bands,
        "loo_similarity_median": float(np.median(loo)),
        "loo_similarity_min": float(np.min(loo)),
        "n_neighbors": checker.n_neighbors,
        "embedding_distance_limit": checker.embedding_distance_limit_,
        "energy_limit": checker.energy_limit_,
        "residual_limit": checker.residual_limit_,
        "residual_neighbors": checker.residual_neighbors,
        "combined_limit": getattr(checker, "combined_limit_", None),
        "limit_rate": checker.limit_rate_,
        "target_rate": checker.target_rate,
        "input_flag_rate": checker.input_flag_rate_,
        "database_flag_rate": checker.database_flag_rate_,
    }


def evaluate_domain(pipe, checker, data: Bunch, grid, *, seed: int = 0) -> list:
    """Score the out-of-domain check on synthetic foreign and raw in-domain spectra.

    Evaluation only (see :func:`raman_sk.ood.evaluate_ood`); rows of the
    table as dicts.
    """
    from raman_sk.ood import evaluate_ood

    X = np.asarray(data.X, dtype=np.float64)
    table = evaluate_ood(pipe, checker, np.asarray(data.wavenumbers), X, grid,
                         seed=seed)
    return table.to_dict(orient="records")


def write_figures(directory, data: Bunch, r: Bunch) -> None:
    """Write the training losses, confusion matrix and reliability diagram."""
    from raman_sk import plotting
    from raman_sk.calibration import plot_reliability

    directory = Path(directory)
    ax = plotting.plot_training_losses(r.history, by="model")
    ax.set_title(
        f"Training loss of the committee's {len(r.n_train_folds)} members and "
        "final_model (no validation part)"
    )
    write_png(directory / "training_curves.png", ax)
    cnn = r.oof[CNN_NAME]
    ax = plotting.plot_confusion_matrix(
        np.asarray(cnn["confusion_matrix"]), labels=cnn["labels"]
    )
    ax.set_title(
        f"Out-of-fold confusion matrix, grouped {len(r.n_train_folds)}-fold "
        f"(accuracy {cnn['accuracy']:.1%}, n = {cnn['n_samples']})"
    )
    write_png(directory / "confusion_matrix.png", ax)
    cal = r.calibration
    ax = plot_reliability(data.y, cal.proba, data.classes, calibrated=cal.calibrated)
    ax.set_title(
        f"Out-of-fold probabilities of all {len(data.y)} spectra: before and after "
        "temperature scaling\n(calibrated: fitted on the other folds, "
        "cross-fitted)",
        fontsize=10,
    )
    write_png(directory / "reliability.png", ax)


def run(dirs: Bunch, data: Bunch, settings: Settings, timings: dict, *, verbose):
    """Fit, score and save the cv-committee recipe; return the steps' results.

    Returns
    -------
    Bunch
        What :func:`raman_sk._report.evaluation_record` and
        :func:`raman_sk._report.model_config` read.
    """
    from raman_sk.preprocessing import SpectralAugmenter

    with timed(timings, "train_s"):
        committee = fit_committee(data, settings, verbose=verbose)
    with timed(timings, "refit_s"):
        final = fit_final(data, settings, verbose=verbose)
    with timed(timings, "checker_s"):
        X_grid = committee[:-1].transform(data.X)
        checker, plain, domain = fit_checkers(committee, X_grid, data.groups)
    with timed(timings, "calibration_s"):
        cal = calibrate(committee, data)
    with timed(timings, "save_s"):
        for name, pipe, check in (("best_model", committee, checker),
                                  ("final_model", final, plain)):
            save_model(
                dirs.model / name, pipe, check, X_grid,
                library=(X_grid, data.groups, data.y),
                calibration=(cal.calibrator, cal.note),
            )
    with timed(timings, "evaluate_s"):
        r = out_of_fold(committee, data)
        r.calibration = cal
        write_csv(dirs.logs / "oof_predictions.csv", oof_table(data, r))
        r.history = training_log(committee, final)
        write_csv(dirs.logs / "training_log.csv", r.history)
    with timed(timings, "ood_evaluation_s"):
        grid = network_grid(committee[:-1], X_grid)
        domain["evaluation"] = evaluate_domain(
            committee, checker, data,
            data.wavenumbers if grid is None else grid, seed=settings.seed,
        )
    c, e = settings.n_copies, settings.epochs
    n_train = [int(np.sum(r.folds != k)) for k in np.unique(r.folds)]
    passes = {
        "committee": sum(sample_passes(n, c, e) for n in n_train),
        "final_model": sample_passes(len(data.y), c, e),
    }
    with timed(timings, "leaky_comparison_s"):
        augmenter = SpectralAugmenter(n_copies=c, noise_std=settings.noise_std,
                                      random_state=settings.seed)
        r.comparison = evaluation.leaky_comparison(
            X_grid, data.y, augmenter, random_state=settings.seed
        )
        r.leaky_cnn = None
        if settings.leaky_cnn:
            from raman_sk.reproduce._seed import leaky_cnn_row

            row, r.leaky_cnn, passes["leaky_cnn"] = leaky_cnn_row(
                data, X_grid, settings, augmenter, verbose
            )
            r.comparison.insert(0, row)
    passes["total"] = sum(passes.values())
    same_grid = data.X.shape == X_grid.shape
    r.update(
        best=committee,
        final=final,
        n_train_folds=n_train,
        out_of_domain=domain,
        cleaning_change=evaluation.cleaning_change(data.X, X_grid)
        if same_grid
        else None,
        sample_passes=passes,
        cv=None,
    )
    return r
