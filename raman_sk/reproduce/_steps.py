"""Steps both recipes of the main job share: data, models on disk, explanations."""

from __future__ import annotations

import contextlib
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from raman_sk.utils._files import write_png

__all__ = [
    "explain_classes",
    "load_data",
    "network_grid",
    "save_model",
    "write_saliency_figures",
]


def progress(desc: str, verbose: bool) -> list:
    """Return the progress-bar callback of a training run (hidden unless verbose)."""
    from raman_sk.classifier import EpochProgress

    return [("progress", EpochProgress(desc=desc, disable=not verbose))]


@contextlib.contextmanager
def timed(timings: dict, key: str):
    """Record the seconds the block took as ``timings[key]``."""
    start = time.perf_counter()
    yield
    timings[key] = time.perf_counter() - start


def load_data(path=None) -> Bunch:
    """Load the ramanbiolib database.

    Parameters
    ----------
    path : path-like, default=None
        Directory with the ramanbiolib CSV files; None reads the installed package.

    Returns
    -------
    Bunch
        ``X``, ``y``, ``groups`` (molecule), ``sources`` (spectrum id),
        ``wavenumbers`` and ``classes`` (sorted str).
    """
    from raman_sk.datasets import load_ramanbiolib

    bunch = load_ramanbiolib(path=path)
    y = np.asarray(bunch.target)
    return Bunch(
        X=bunch.data,
        y=y,
        groups=np.asarray(bunch.groups),
        sources=bunch.frame["id"].to_numpy(),
        wavenumbers=bunch.wavenumbers,
        classes=[str(c) for c in np.unique(y)],
    )


def network_grid(preprocessing, X_grid):
    """Return the resampler's output axis if it is the network's input, else None."""
    from raman_sk.pipeline import find_step
    from raman_sk.preprocessing import WavenumberResampler

    step = find_step(preprocessing, WavenumberResampler)
    grid = getattr(step, "wavenumbers_out_", None) if step is not None else None
    return grid if grid is not None and len(grid) == X_grid.shape[1] else None


def drop_callbacks(pipeline) -> None:
    """Forget the run's extra callbacks (progress bars) before saving a pipeline."""
    final = pipeline[-1]
    members = getattr(final, "estimators_", [])
    nets = [final, getattr(final, "estimator", None), *members]
    for net in nets:
        if net is not None and hasattr(net, "callbacks"):
            net.callbacks = None  # read only at the next fit; no re-initialisation


def save_model(
    directory, pipeline, checker, X_grid, *, library=None, calibration=None
) -> None:
    """Write a fitted pipeline and its out-of-domain checker into ``directory``.

    Parameters
    ----------
    directory : path-like
        The model directory.
    pipeline : Pipeline
        Fitted pipeline.
    checker : NearestSpectrumChecker
        Fitted on the training spectra's ``X_grid``.
    X_grid : ndarray
        The training spectra on the network's input grid.
    library : tuple of (reference, molecules, classes), default=None
        Training spectra on the network's input grid with the molecule and
        class of each: saved as the library of the nearest molecule
        (``library.npz``).
    calibration : tuple of (ProbabilityCalibrator, str), default=None
        The fitted calibrator and what it was fitted on (``calibration.json``).
    """
    from raman_sk import save_pipeline
    from raman_sk.domain import save_domain_checker

    drop_callbacks(pipeline)
    save_pipeline(pipeline, directory)
    grid = network_grid(pipeline[:-1], X_grid)
    save_domain_checker(checker, directory, wavenumbers=grid)
    if library is not None:
        from raman_sk.library import MoleculeLibrary, save_library

        save_library(MoleculeLibrary(*library, wavenumbers=grid), directory)
    if calibration is not None:
        from raman_sk.calibration import save_calibration

        save_calibration(calibration[0], directory, note=calibration[1])


def explain_classes(pipeline, data: Bunch, settings, *, verbose=False):
    """Fit Integrated Gradients on a fitted pipeline over every spectrum.

    A committee's maps are averaged over its first ``settings.ig_max_members``
    members.

    Returns
    -------
    ig : IGExplainer
        The fitted explainer.
    messages : list of str
        Its warnings (e.g. completeness), recorded for ``model_config.json``.
    """
    from raman_sk import IGExplainer
    from raman_sk.utils._torch import torch_threads

    extra = {"max_members": settings.ig_max_members} if settings.committee else {}
    ig = IGExplainer(
        pipeline,
        n_steps=settings.ig_n_steps,
        n_per_class=settings.ig_n_per_class,
        precision="float32",  # completeness within tolerance, whatever the training
        random_state=settings.seed,
        verbose=1 if verbose else 0,
        **extra,
    )
    with (
        warnings.catch_warnings(record=True) as caught,
        torch_threads(settings.threads),
    ):
        warnings.simplefilter("always", UserWarning)
        ig.fit(data.X, data.y)
    return ig, sorted({str(w.message) for w in caught})


def write_saliency_figures(directory, data: Bunch, ig, X_grid) -> None:
    """Write the class distribution and the saliency figures into ``directory``."""
    from raman_sk import plotting

    directory = Path(directory)
    write_png(
        directory / "class_distribution.png",
        plotting.plot_class_distribution(data.y),
    )
    for c in data.classes:
        write_png(
            directory / f"saliency_{c.lower()}.png",
            plotting.plot_explainer_saliency(ig, c, X_grid, data.y),
        )
    write_png(
        directory / "saliency_heatmap_all.png",
        plotting.plot_explainer_heatmap(ig),
    )
