"""The main job: evaluate, ship and explain the CNN on the bundled database.

:func:`reproduce` runs one of two recipes on the ramanbiolib database and
writes, under one output directory::

    figures/   class_distribution, training_curves, confusion_matrix,
               saliency_<class> (one per class), saliency_heatmap_all
               (cv-committee: also reliability) (PNG)
    model/     best_model/, final_model/ (save_pipeline directories, each with
               its out-of-domain checker, molecule library and, cv-committee
               only, calibration.json) and model_config.json
    logs/      training_log.csv, key_spectral_regions.csv, saliency_maps.npz
               (cv-committee: also oof_predictions.csv)
    evaluation.json, REPORT.md

``recipe="cv-committee"`` (the default) fits one pipeline ending in a
committee of networks over grouped K-fold by molecule, on a fixed schedule,
once on every spectrum: its out-of-fold predictions are the report over the
whole database (next to the library search and a logistic regression on the
same folds) and the committee is ``best_model``; ``final_model`` is one
network refitted on every spectrum. ``recipe="seed"`` runs the reference
recipe: one grouped train/valid/test split, the best checkpoint by validation
accuracy, scored on the held-out test molecules.

The run is built in a staging directory and moved into place at the end, so an
error or Ctrl-C leaves an earlier run as it was. The steps are functions of
their own (:func:`load_data`, the recipes' ``run``, :func:`explain_classes`,
:func:`evaluation_record`, :func:`model_config`); :func:`run_experiment` calls
them in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from raman_sk._report import format_report, format_summary
from raman_sk.reproduce import _committee, _seed
from raman_sk.reproduce._records import evaluation_record, model_config
from raman_sk.reproduce._settings import (
    RECIPES,
    Settings,
    classifier_params,
    planned_sample_passes,
    sample_passes,
)
from raman_sk.reproduce._steps import (
    explain_classes,
    load_data,
    network_grid,
    save_model,
    timed,
    write_saliency_figures,
)
from raman_sk.utils._files import (
    check_output_dir,
    staged_directory,
    write_csv,
    write_json,
    write_npz,
    write_text,
)

__all__ = [
    "MODEL_DIRS",
    "RECIPES",
    "Settings",
    "classifier_params",
    "evaluation_record",
    "explain_classes",
    "format_report",
    "format_summary",
    "load_data",
    "model_config",
    "network_grid",
    "planned_sample_passes",
    "reproduce",
    "run_experiment",
    "sample_passes",
    "save_model",
]

#: The two model directories under ``model/``.
MODEL_DIRS = ("best_model", "final_model")


def _stability(ig):
    from raman_sk.explain import map_stability

    return map_stability(ig)


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
        Called with one line of text after the data are loaded.
    verbose : bool, default=False
        Progress bars for training and Integrated Gradients.

    Returns
    -------
    dict
        The summary that :func:`format_summary` renders (``out`` is added by
        :func:`reproduce`).
    """
    from raman_sk.utils._versions import cpu_info

    start = time.perf_counter()
    workdir = Path(workdir)
    dirs = Bunch(
        figures=workdir / "figures", logs=workdir / "logs", model=workdir / "model"
    )
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    timings: dict = {}
    with timed(timings, "load_s"):
        ds = load_data(data)
        if not settings.committee:
            ds = _seed.split_held_out(ds, settings.seed)
    if log is not None:
        log(_first_line(ds, settings))
    recipe = _committee if settings.committee else _seed
    r = recipe.run(dirs, ds, settings, timings, verbose=verbose)
    with timed(timings, "ig_s"):
        r.ig, r.ig_warnings = explain_classes(r.best, ds, settings, verbose=verbose)
        write_csv(dirs.logs / "key_spectral_regions.csv", r.ig.regions_)
        write_npz(dirs.logs / "saliency_maps.npz", r.ig.to_npz_dict())
        r.stability = _stability(r.ig) if settings.committee else None
    with timed(timings, "figures_s"):
        write_saliency_figures(dirs.figures, ds, r.ig, r.X_grid)
        if settings.committee:
            _committee.write_figures(dirs.figures, ds, r)
        else:
            _seed.write_figures(dirs.figures, r, settings.monitor)
    timings["total_s"] = time.perf_counter() - start
    r.update(timings=timings, cpu=cpu_info())
    record = evaluation_record(ds, r, settings)
    write_json(workdir / "evaluation.json", record)
    write_text(workdir / "REPORT.md", format_report(record))
    write_json(dirs.model / "model_config.json", model_config(ds, r, settings))
    return _summary(ds, r, settings)


def _first_line(ds: Bunch, settings: Settings) -> str:
    head = (
        f"raman-sk reproduce: {len(ds.y)} spectra, {len(ds.classes)} classes, "
        f"{len(np.unique(ds.groups))} molecules; recipe {settings.recipe}: "
    )
    if settings.committee:
        return head + (
            f"a committee over grouped {settings.cv}-fold by molecule, "
            f"{settings.epochs} epochs"
        )
    return head + (
        f"split by molecule into {len(ds.train)} train / {len(ds.valid)} valid "
        f"/ {len(ds.test)} test"
    )


def _summary(ds: Bunch, r: Bunch, settings: Settings) -> dict:
    summary = {
        "recipe": settings.recipe,
        "epochs": settings.epochs,
        "comparison": r.comparison,
        "cv": r.cv,
        "timings": r.timings,
        "total_s": r.timings["total_s"],
        "cpu": r.cpu["summary"],
        "sample_passes": r.sample_passes,
        "precision": settings.precision,
        "device": settings.device,
    }
    if settings.committee:
        summary.update(oof=r.oof, n_splits=settings.cv)
    else:
        summary.update(
            held=r.held, held_final=r.held_final, best_epoch=r.best_epoch,
            split=ds.split,
        )
    return summary


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
        Options of the run; None is ``Settings.make()`` (the cv-committee
        recipe).
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
        ``recipe``, ``epochs``, ``comparison``, ``cv``, ``timings``,
        ``total_s``, ``cpu``, ``sample_passes``, ``precision``, ``device``,
        ``out``; cv-committee: ``oof`` (model -> scores over every spectrum)
        and ``n_splits``; seed: the held-out scores (``held``,
        ``held_final``), ``best_epoch`` and ``split``. :func:`format_summary`
        renders it.

    Raises
    ------
    FileExistsError
        If ``out`` is a file, or a non-empty directory and ``overwrite`` is false.

    Examples
    --------
    >>> from raman_sk.reproduce import Settings, format_summary, reproduce
    >>> summary = reproduce("outputs", Settings.make(quick=True))  # doctest: +SKIP
    >>> print(format_summary(summary))  # doctest: +SKIP
    """
    settings = Settings.make() if settings is None else settings
    out = check_output_dir(out, overwrite)
    start = time.perf_counter()
    with staged_directory(out) as tmp:
        summary = run_experiment(tmp, settings, data=data, log=log, verbose=verbose)
    summary["total_s"] = time.perf_counter() - start
    summary["out"] = str(out)
    return summary
