"""The reference recipe (``--recipe seed``): one grouped split, best checkpoint.

Train on the training part for the reference recipe's epochs, pick the best
epoch on the validation molecules and score both checkpoints on the held-out
test molecules. This held-out-split path serves only this recipe.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from raman_sk import evaluation
from raman_sk.reproduce._settings import Settings, classifier_params, sample_passes
from raman_sk.reproduce._steps import progress, save_model
from raman_sk.utils._files import write_png

__all__ = [
    "compare_protocols",
    "cross_validate_cnn",
    "evaluate_held_out",
    "split_held_out",
    "train",
    "write_figures",
]

#: Fractions of the grouped split: test first, then validation of the rest.
TEST_SIZE = VALID_SIZE = 0.2


def split_held_out(data: Bunch, seed: int = 0) -> Bunch:
    """Split the database by molecule into train/valid/test parts.

    Returns
    -------
    Bunch
        ``data`` with the index arrays ``train``, ``valid``, ``test`` and
        ``split`` (their sizes, JSON-able).
    """
    y, groups = data.y, data.groups
    tr, va, te = evaluation.grouped_train_valid_test_split(
        y, groups, test_size=TEST_SIZE, valid_size=VALID_SIZE, random_state=seed
    )
    split = {
        "n_spectra": int(len(y)),
        "n_train": int(len(tr)),
        "n_valid": int(len(va)),
        "n_test": int(len(te)),
        "groups_train": int(len(np.unique(groups[tr]))),
        "groups_valid": int(len(np.unique(groups[va]))),
        "groups_test": int(len(np.unique(groups[te]))),
        "test_size": TEST_SIZE,
        "valid_size": VALID_SIZE,
        "grouped_by": "molecule (component)",
    }
    return Bunch(**data, train=tr, valid=va, test=te, split=split)


def train(data: Bunch, settings: Settings, *, verbose: bool = False):
    """Fit the pipeline on the training part, the validation part picking the best.

    Returns
    -------
    best, final : Pipeline
        The weights of the best validation epoch and of the last epoch.
    """
    from raman_sk.pipeline import fit_with_validation, make_raman_pipeline

    pipe = make_raman_pipeline(
        data.wavenumbers, monitor=settings.monitor, **classifier_params(settings)
    )
    tr, va = data.train, data.valid
    return fit_with_validation(
        pipe,
        data.X[tr],
        data.y[tr],
        data.X[va],
        data.y[va],
        callbacks=progress("training", verbose),
    )


def evaluate_held_out(best, final, data: Bunch) -> Bunch:
    """Score both models on the test part and fit the out-of-domain checker.

    Returns
    -------
    Bunch
        ``held`` and ``held_final`` (:func:`~raman_sk.evaluation.score_predictions`
        of the test part), ``X_grid`` (every spectrum on the network's input),
        ``checker`` (fitted on the training part), ``out_of_domain`` (its
        summary on the test part) and ``cleaning_change`` (or None when the
        preprocessing changes the grid).
    """
    from raman_sk.domain import NearestSpectrumChecker

    X, y, tr, te = data.X, data.y, data.train, data.test
    held = evaluation.score_predictions(y[te], best.predict(X[te]), labels=data.classes)
    held_final = evaluation.score_predictions(
        y[te], final.predict(X[te]), labels=data.classes
    )
    X_grid = best[:-1].transform(X)  # stateless steps: the same for every part
    checker = NearestSpectrumChecker().fit(X_grid[tr], groups=data.groups[tr])
    check = checker.check(X_grid[te])
    domain = {
        "reference": "training part on the network's input grid",
        "threshold": checker.threshold_,
        "min_effective_width": checker.min_effective_width_,
        "min_peak_fwhm": checker.min_peak_fwhm_,
        "min_strongest_fwhm": checker.min_strongest_fwhm_,
        "min_band_count": checker.min_band_count_,
        "test_similarity_median": float(check["similarity"].median()),
        "test_similarity_min": float(check["similarity"].min()),
        "test_flagged": int(check["out_of_domain"].sum()),
        "test_n": len(check),
    }
    same_grid = X.shape == X_grid.shape
    return Bunch(
        held=held,
        held_final=held_final,
        X_grid=X_grid,
        checker=checker,
        out_of_domain=domain,
        cleaning_change=evaluation.cleaning_change(X, X_grid) if same_grid else None,
    )


def leaky_cnn_row(data: Bunch, X_grid, settings: Settings, augmenter, verbose):
    """Train the CNN under the leaky protocol: its row, result and sample-passes."""
    from raman_sk.pipeline import make_raman_pipeline

    params = classifier_params(settings, callbacks=progress("leaky CNN", verbose))
    cnn = make_raman_pipeline(data.wavenumbers, **params)[-1]
    leaky = evaluation.leaky_evaluation(
        cnn, X_grid, data.y, augmenter, random_state=settings.seed
    )
    n_rows = len(data.y) * (1 + settings.n_copies) - leaky["n_samples"]
    row = evaluation.comparison_row("1D CNN", "leaky", leaky, leaky["fit_predict_s"])
    return row, leaky, sample_passes(n_rows, 0, settings.epochs)


def compare_protocols(
    data: Bunch, held: Bunch, settings: Settings, train_s: float, *, verbose=False
):
    """Score the grouped split against the leaky augment-then-split protocol.

    The baselines are scored under both protocols on the network's input; the
    CNN of this run joins as the first row, and under the leaky protocol too
    when ``settings.leaky_cnn``.

    Returns
    -------
    comparison : list of dict
        Rows of :func:`~raman_sk.evaluation.baseline_comparison`.
    leaky_cnn : dict or None
        :func:`~raman_sk.evaluation.leaky_evaluation` of the CNN.
    passes : int
        Training sample-passes of the leaky CNN (0 without it).
    """
    from raman_sk.preprocessing import SpectralAugmenter

    augmenter = SpectralAugmenter(
        n_copies=settings.n_copies, noise_std=settings.noise_std,
        random_state=settings.seed,
    )
    fit_idx = np.concatenate([data.train, data.valid])
    comparison = evaluation.baseline_comparison(
        held.X_grid, data.y, fit_idx, data.test, augmenter, random_state=settings.seed
    )
    comparison.insert(
        0, evaluation.comparison_row("1D CNN (this run)", "grouped", held.held, train_s)
    )
    if not settings.leaky_cnn:
        return comparison, None, 0
    row, leaky, passes = leaky_cnn_row(
        data, held.X_grid, settings, augmenter, verbose
    )
    comparison.insert(1, row)
    return comparison, leaky, passes


def cross_validate_cnn(data: Bunch, settings: Settings, *, verbose=False) -> dict:
    """Cross-validate the whole pipeline, grouped, with ``settings.cv`` folds."""
    from raman_sk.pipeline import make_raman_pipeline

    params = classifier_params(settings, callbacks=progress("CV fold", verbose))
    pipe = make_raman_pipeline(data.wavenumbers, **params)
    return evaluation.grouped_cross_validate(
        pipe,
        data.X,
        data.y,
        data.groups,
        n_splits=settings.cv,
        random_state=settings.seed,
    )


def write_figures(directory, results: Bunch, monitor: str) -> None:
    """Write the training curves and the held-out confusion matrix."""
    from raman_sk import plotting

    directory = Path(directory)
    best_epoch = results.best_epoch
    fig = plotting.plot_training_curves(results.history)
    for ax in fig.axes:
        ax.axvline(
            best_epoch,
            color="tab:green",
            ls=":",
            lw=1.2,
            label=f"best checkpoint (epoch {best_epoch}, {monitor})",
        )
        ax.legend(fontsize="small")
    write_png(directory / "training_curves.png", fig)
    held = results.held
    write_png(
        directory / "confusion_matrix.png",
        plotting.plot_confusion_matrix(
            np.asarray(held["confusion_matrix"]), labels=held["labels"]
        ),
    )


def run(dirs: Bunch, data: Bunch, settings: Settings, timings: dict, *, verbose):
    """Train, evaluate and save the reference recipe; return the steps' results.

    Returns
    -------
    Bunch
        What :func:`raman_sk._report.evaluation_record` and
        :func:`raman_sk._report.model_config` read.
    """
    from raman_sk.pipeline import history_frame
    from raman_sk.reproduce._steps import timed
    from raman_sk.utils._files import write_csv

    with timed(timings, "train_s"):
        best, final = train(data, settings, verbose=verbose)
    with timed(timings, "evaluate_s"):
        r = evaluate_held_out(best, final, data)
    tr = data.train  # the library holds what the models were trained on
    library = (r.X_grid[tr], data.groups[tr], data.y[tr])
    with timed(timings, "save_s"):
        for name, pipe in (("best_model", best), ("final_model", final)):
            save_model(dirs.model / name, pipe, r.checker, r.X_grid, library=library)
        r.history = history_frame(best)
        write_csv(dirs.logs / "training_log.csv", r.history)
    passes = {"training": sample_passes(len(data.train), settings.n_copies,
                                        settings.epochs)}
    with timed(timings, "leaky_comparison_s"):
        r.comparison, r.leaky_cnn, leaky_passes = compare_protocols(
            data, r, settings, timings["train_s"], verbose=verbose
        )
    if leaky_passes:
        passes["leaky_cnn"] = leaky_passes
    r.cv = None
    if settings.cv:
        with timed(timings, "cv_s"):
            r.cv = cross_validate_cnn(data, settings, verbose=verbose)
        passes["cross_validation"] = sample_passes(
            (settings.cv - 1) * len(data.y), settings.n_copies, settings.epochs
        )
    passes["total"] = sum(passes.values())
    r.update(best=best, best_epoch=best[-1].best_epoch_, sample_passes=passes)
    return r
