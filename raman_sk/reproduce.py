"""The main job: train, evaluate and explain the CNN on the bundled database.

:func:`reproduce` runs the reference recipe on the ramanbiolib database,
honestly: the test part is split off by molecule before any augmentation. It
writes, under one output directory::

    figures/   class_distribution, training_curves, confusion_matrix,
               saliency_<class> (one per class), saliency_heatmap_all (PNG)
    model/     best_model/, final_model/ (save_pipeline directories, each with
               its out-of-domain checker) and model_config.json
    logs/      training_log.csv, key_spectral_regions.csv, saliency_maps.npz
    evaluation.json, REPORT.md

The run is built in a staging directory and moved into place at the end, so an
error or Ctrl-C leaves an earlier run as it was. Each step is a function of its
own (:func:`load_data`, :func:`train`, :func:`evaluate_held_out`,
:func:`compare_protocols`, :func:`cross_validate_cnn`, :func:`explain_classes`,
:func:`write_figures`, :func:`evaluation_record`, :func:`model_config`);
:func:`run_experiment` calls them in order.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from raman_sk import evaluation
from raman_sk._report import (
    evaluation_record,
    format_report,
    format_summary,
    model_config,
)
from raman_sk.utils._files import (
    check_output_dir,
    staged_directory,
    write_csv,
    write_json,
    write_npz,
    write_png,
    write_text,
)

__all__ = [
    "MODEL_DIRS",
    "Settings",
    "classifier_params",
    "compare_protocols",
    "cross_validate_cnn",
    "evaluate_held_out",
    "evaluation_record",
    "explain_classes",
    "format_report",
    "format_summary",
    "load_data",
    "model_config",
    "network_grid",
    "reproduce",
    "run_experiment",
    "save_model",
    "train",
    "write_figures",
]

#: The two model directories under ``model/``.
MODEL_DIRS = ("best_model", "final_model")
#: Fractions of the grouped split: test first, then validation of the rest.
TEST_SIZE = VALID_SIZE = 0.2
#: The tiny network of a ``quick`` smoke run.
QUICK_MODULE = {
    "module__channels": (4, 8),
    "module__kernel_sizes": (5, 3),
    "module__convs_per_block": 1,
    "module__hidden": 16,
}
_QUICK = {"epochs": 2, "n_copies": 1, "ig_n_per_class": 2, "ig_n_steps": 8}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Options of a run: the reference recipe by default, or a ``quick`` smoke run.

    Build it with :meth:`recipe`, which fills in the quick defaults and resolves
    ``precision="auto"``.

    Parameters
    ----------
    epochs : int, default=80
        Training epochs.
    n_copies : int, default=15
        Augmented copies per training spectrum (0: no augmenter).
    ig_n_per_class, ig_n_steps : int, default=15, 50
        Spectra per class and steps of the Integrated Gradients.
    module_params : dict, default={}
        ``module__*`` parameters of the classifier (the tiny network of a quick
        run).
    batch_size : int, default=32
        Training batch size.
    precision : {"float32", "bfloat16"}, default="float32"
        Arithmetic of the network for training and prediction.
    device : str, default="cpu"
        Torch device.
    threads : int or None, default=None
        Torch CPU threads; None leaves torch's setting.
    seed : int, default=0
        Seed of the split, the augmenter, the network and the explainer.
    monitor : {"valid_acc", "valid_loss"}, default="valid_acc"
        Score that picks the best checkpoint.
    cv : int, default=0
        Grouped K-fold cross-validation of the CNN pipeline (0: off).
    leaky_cnn : bool, default=False
        Also train the CNN under the leaky augment-then-split protocol.
    quick : bool, default=False
        Recorded in ``model_config.json`` and REPORT.md.
    """

    epochs: int = 80
    n_copies: int = 15
    ig_n_per_class: int = 15
    ig_n_steps: int = 50
    module_params: dict = dataclasses.field(default_factory=dict)
    batch_size: int = 32
    precision: str = "float32"
    device: str = "cpu"
    threads: int | None = None
    seed: int = 0
    monitor: str = "valid_acc"
    cv: int = 0
    leaky_cnn: bool = False
    quick: bool = False

    def __post_init__(self):
        for name, low in (("epochs", 1), ("batch_size", 1), ("n_copies", 0)):
            if getattr(self, name) < low:
                raise ValueError(f"{name} must be >= {low}, got {getattr(self, name)}.")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1 or None, got {self.threads}.")
        if self.cv and self.cv < 2:
            raise ValueError(f"cv must be 0 (off) or >= 2, got {self.cv}.")
        if self.monitor not in ("valid_acc", "valid_loss"):
            raise ValueError(
                f"monitor must be 'valid_acc' or 'valid_loss', got {self.monitor!r}."
            )

    @classmethod
    def recipe(cls, *, quick: bool = False, precision: str = "auto", **options):
        """Return the settings of a run; ``quick`` shrinks the net and the epochs.

        Parameters
        ----------
        quick : bool, default=False
            Tiny network, 2 epochs, 1 augmented copy, few IG steps: every
            artefact, meaningless numbers.
        precision : {"auto", "float32", "bfloat16"}, default="auto"
            ``"auto"`` becomes :func:`raman_sk.utils._torch.auto_precision` of
            the device.
        **options
            Any other field of :class:`Settings`; None keeps the default.

        Returns
        -------
        Settings

        Examples
        --------
        >>> s = Settings.recipe(quick=True, precision="float32", seed=3)
        >>> s.epochs, s.n_copies, s.seed
        (2, 1, 3)
        """
        values = dict(_QUICK, module_params=dict(QUICK_MODULE)) if quick else {}
        values.update({k: v for k, v in options.items() if v is not None})
        if precision == "auto":
            from raman_sk.utils._torch import auto_precision

            precision = auto_precision(values.get("device", "cpu"))
        return cls(quick=quick, precision=precision, **values)


def classifier_params(settings: Settings, *, callbacks=None) -> dict:
    """Keyword arguments of the RamanCNNClassifier in :func:`make_raman_pipeline`.

    Parameters
    ----------
    settings : Settings
        The run's options.
    callbacks : list, default=None
        Extra skorch callbacks (e.g. a progress bar).

    Returns
    -------
    dict
    """
    from raman_sk.preprocessing import SpectralAugmenter

    n = settings.n_copies
    params = {
        "max_epochs": settings.epochs,
        "batch_size": settings.batch_size,
        "augmenter": SpectralAugmenter(n_copies=n, random_state=settings.seed)
        if n
        else None,
        "precision": settings.precision,
        "device": settings.device,
        "random_state": settings.seed,
        "n_threads": settings.threads,
    }
    params.update(settings.module_params)
    if callbacks is not None:
        params["callbacks"] = callbacks
    return params


def _progress(desc: str, verbose: bool) -> list:
    from raman_sk.classifier import EpochProgress

    return [("progress", EpochProgress(desc=desc, disable=not verbose))]


@contextlib.contextmanager
def _timed(timings: dict, key: str):
    start = time.perf_counter()
    yield
    timings[key] = time.perf_counter() - start


# ------------------------------------------------------------------ the steps
def load_data(path=None, *, seed: int = 0) -> Bunch:
    """Load the database and split it by molecule into train/valid/test parts.

    Parameters
    ----------
    path : path-like, default=None
        Directory with the ramanbiolib CSV files; None reads the installed package.
    seed : int, default=0
        Seed of the split.

    Returns
    -------
    Bunch
        ``X``, ``y``, ``groups``, ``wavenumbers``, ``classes`` (sorted str),
        the index arrays ``train``, ``valid``, ``test`` and ``split`` (their
        sizes, JSON-able).
    """
    from raman_sk.datasets import load_ramanbiolib

    bunch = load_ramanbiolib(path=path)
    y, groups = np.asarray(bunch.target), bunch.groups
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
    return Bunch(
        X=bunch.data,
        y=y,
        groups=groups,
        wavenumbers=bunch.wavenumbers,
        classes=[str(c) for c in np.unique(y)],
        train=tr,
        valid=va,
        test=te,
        split=split,
    )


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
        callbacks=_progress("training", verbose),
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


def network_grid(preprocessing, X_grid):
    """Return the resampler's output axis if it is the network's input, else None."""
    from raman_sk.pipeline import find_step
    from raman_sk.preprocessing import WavenumberResampler

    step = find_step(preprocessing, WavenumberResampler)
    grid = getattr(step, "wavenumbers_out_", None) if step is not None else None
    return grid if grid is not None and len(grid) == X_grid.shape[1] else None


def save_model(directory, pipeline, checker, X_grid) -> None:
    """Write a fitted pipeline and its out-of-domain checker into ``directory``."""
    from raman_sk import save_pipeline
    from raman_sk.domain import save_domain_checker

    save_pipeline(pipeline, directory)
    grid = network_grid(pipeline[:-1], X_grid)
    save_domain_checker(checker, directory, wavenumbers=grid)


def _comparison_row(model: str, protocol: str, scores: dict, seconds: float) -> dict:
    return {
        "model": model,
        "protocol": protocol,
        "accuracy": scores["accuracy"],
        "macro_f1": scores["macro_f1"],
        "weighted_f1": scores["weighted_f1"],
        "n_test": scores["n_samples"],
        "fit_predict_s": seconds,
    }


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
    """
    from raman_sk.pipeline import make_raman_pipeline
    from raman_sk.preprocessing import SpectralAugmenter

    augmenter = SpectralAugmenter(
        n_copies=settings.n_copies, random_state=settings.seed
    )
    fit_idx = np.concatenate([data.train, data.valid])
    comparison = evaluation.baseline_comparison(
        held.X_grid, data.y, fit_idx, data.test, augmenter, random_state=settings.seed
    )
    comparison.insert(
        0, _comparison_row("1D CNN (this run)", "grouped", held.held, train_s)
    )
    if not settings.leaky_cnn:
        return comparison, None
    params = classifier_params(settings, callbacks=_progress("leaky CNN", verbose))
    cnn = make_raman_pipeline(data.wavenumbers, **params)[-1]
    leaky = evaluation.leaky_evaluation(
        cnn, held.X_grid, data.y, augmenter, random_state=settings.seed
    )
    comparison.insert(
        1, _comparison_row("1D CNN", "leaky", leaky, leaky["fit_predict_s"])
    )
    return comparison, leaky


def cross_validate_cnn(data: Bunch, settings: Settings, *, verbose=False) -> dict:
    """Cross-validate the whole pipeline, grouped, with ``settings.cv`` folds."""
    from raman_sk.pipeline import make_raman_pipeline

    params = classifier_params(settings, callbacks=_progress("CV fold", verbose))
    pipe = make_raman_pipeline(data.wavenumbers, **params)
    return evaluation.grouped_cross_validate(
        pipe,
        data.X,
        data.y,
        data.groups,
        n_splits=settings.cv,
        random_state=settings.seed,
    )


def explain_classes(best, data: Bunch, settings: Settings, *, verbose=False):
    """Fit Integrated Gradients on the best pipeline over every spectrum.

    Returns
    -------
    ig : IGExplainer
        The fitted explainer.
    messages : list of str
        Its warnings (e.g. completeness), recorded for ``model_config.json``.
    """
    from raman_sk import IGExplainer
    from raman_sk.utils._torch import torch_threads

    ig = IGExplainer(
        best,
        n_steps=settings.ig_n_steps,
        n_per_class=settings.ig_n_per_class,
        precision="float32",  # completeness within tolerance, whatever the training
        random_state=settings.seed,
        verbose=1 if verbose else 0,
    )
    with (
        warnings.catch_warnings(record=True) as caught,
        torch_threads(settings.threads),
    ):
        warnings.simplefilter("always", UserWarning)
        ig.fit(data.X, data.y)
    return ig, sorted({str(w.message) for w in caught})


def write_figures(directory, data: Bunch, results: Bunch, monitor: str) -> None:
    """Write every figure of the run as PNG into ``directory``."""
    from raman_sk import plotting

    directory = Path(directory)
    best_epoch = results.best_epoch
    write_png(
        directory / "class_distribution.png",
        plotting.plot_class_distribution(data.y),
    )
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
    X_grid = results.X_grid
    for c in data.classes:
        write_png(
            directory / f"saliency_{c.lower()}.png",
            plotting.plot_explainer_saliency(results.ig, c, X_grid, data.y),
        )
    write_png(
        directory / "saliency_heatmap_all.png",
        plotting.plot_explainer_heatmap(results.ig),
    )


# ------------------------------------------------------------------ the job
def run_experiment(
    workdir,
    settings: Settings,
    *,
    data=None,
    log: Callable[[str], None] | None = None,
    verbose: bool = False,
) -> dict:
    """Run every step of the main job and write its artefacts into ``workdir``.

    :func:`reproduce` calls it inside a staging directory; call it directly only
    to write into a directory of your own.

    Parameters
    ----------
    workdir : path-like
        An existing directory; ``figures/``, ``model/`` and ``logs/`` are made
        in it.
    settings : Settings
        The run's options.
    data : path-like, default=None
        Directory with the ramanbiolib CSV files (see :func:`load_data`).
    log : callable, default=None
        Called with one line of text after the data are split.
    verbose : bool, default=False
        Progress bars for training and Integrated Gradients.

    Returns
    -------
    dict
        The summary that :func:`format_summary` renders (``total_s`` and ``out``
        are added by :func:`reproduce`).
    """
    workdir = Path(workdir)
    figures, logs, model = workdir / "figures", workdir / "logs", workdir / "model"
    for d in (figures, logs, model):
        d.mkdir(parents=True, exist_ok=True)
    timings: dict = {}
    with _timed(timings, "load_s"):
        ds = load_data(data, seed=settings.seed)
    if log is not None:
        log(
            f"raman-sk reproduce: {len(ds.y)} spectra, {len(ds.classes)} classes; "
            f"split by molecule into {len(ds.train)} train / {len(ds.valid)} valid "
            f"/ {len(ds.test)} test"
        )
    with _timed(timings, "train_s"):
        best, final = train(ds, settings, verbose=verbose)
    with _timed(timings, "evaluate_s"):
        r = evaluate_held_out(best, final, ds)
    with _timed(timings, "save_s"):
        for name, pipe in zip(MODEL_DIRS, (best, final), strict=True):
            save_model(model / name, pipe, r.checker, r.X_grid)
        r.history = _history(best)
        write_csv(logs / "training_log.csv", r.history)
    with _timed(timings, "leaky_comparison_s"):
        r.comparison, r.leaky_cnn = compare_protocols(
            ds, r, settings, timings["train_s"], verbose=verbose
        )
    r.cv = None
    if settings.cv:
        with _timed(timings, "cv_s"):
            r.cv = cross_validate_cnn(ds, settings, verbose=verbose)
    with _timed(timings, "ig_s"):
        r.ig, r.ig_warnings = explain_classes(best, ds, settings, verbose=verbose)
        write_csv(logs / "key_spectral_regions.csv", r.ig.regions_)
        write_npz(logs / "saliency_maps.npz", r.ig.to_npz_dict())
    r.update(best=best, best_epoch=best[-1].best_epoch_, timings=timings)
    with _timed(timings, "figures_s"):
        write_figures(figures, ds, r, settings.monitor)
    record = evaluation_record(ds, r, settings)
    write_json(workdir / "evaluation.json", record)
    write_text(workdir / "REPORT.md", format_report(record))
    write_json(model / "model_config.json", model_config(ds, r, settings))
    return {
        "held": r.held,
        "held_final": r.held_final,
        "best_epoch": r.best_epoch,
        "epochs": settings.epochs,
        "comparison": r.comparison,
        "cv": r.cv,
        "timings": timings,
        "split": ds.split,
        "precision": settings.precision,
        "device": settings.device,
    }


def _history(pipeline):
    from raman_sk.pipeline import history_frame

    return history_frame(pipeline[-1])


def reproduce(
    out="outputs",
    settings: Settings | None = None,
    *,
    data=None,
    overwrite: bool = False,
    log: Callable[[str], None] | None = None,
    verbose: bool = False,
) -> dict:
    """Run the main job on the ramanbiolib database and write every artefact to ``out``.

    The run is built in a temporary sibling of ``out`` and moved into place at
    the end: on an error or an interrupt ``out`` (an earlier run included) is
    left as it was.

    Parameters
    ----------
    out : path-like, default="outputs"
        Output directory; must be empty or absent unless ``overwrite``.
    settings : Settings, default=None
        Options of the run; None is ``Settings.recipe()`` (the reference recipe).
    data : path-like, default=None
        Directory with the ramanbiolib CSV files; None reads the installed
        ramanbiolib package.
    overwrite : bool, default=False
        Replace a non-empty ``out`` (as a whole, at the end of the run).
    log : callable, default=None
        Called with one status line (e.g. ``print``).
    verbose : bool, default=False
        Progress bars for training and Integrated Gradients.

    Returns
    -------
    dict
        Held-out scores (``held``, ``held_final``), ``best_epoch``, ``epochs``,
        ``comparison``, ``cv``, ``timings``, ``split``, ``precision``,
        ``device``, ``total_s`` and ``out``; :func:`format_summary` renders it.

    Raises
    ------
    FileExistsError
        If ``out`` is a file, or a non-empty directory and ``overwrite`` is false.

    Examples
    --------
    >>> from raman_sk.reproduce import Settings, format_summary, reproduce
    >>> summary = reproduce("outputs", Settings.recipe(quick=True))  # doctest: +SKIP
    >>> print(format_summary(summary))  # doctest: +SKIP
    """
    settings = Settings.recipe() if settings is None else settings
    out = check_output_dir(out, overwrite)
    start = time.perf_counter()
    with staged_directory(out) as tmp:
        summary = run_experiment(tmp, settings, data=data, log=log, verbose=verbose)
    summary["total_s"] = time.perf_counter() - start
    summary["out"] = str(out)
    return summary
