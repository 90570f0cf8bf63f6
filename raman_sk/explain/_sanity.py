"""Randomisation sanity checks of saliency maps (Adebayo et al. 2018).

A map is trusted only when it depends on what the network learned: it must
change when the network's weights are re-initialised
(:func:`model_randomization_check`) or when it is trained on permuted labels
(:func:`data_randomization_check`), and stay similar for a second network
trained the same way (:func:`seed_control_check`).
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from torch import nn

from raman_sk.utils._sklearn_compat import StrOptions, validate_parameter_constraints
from raman_sk.utils._torch import module_device

from ._inputs import network_input, split_explained
from ._maps import MAP_NAMES

__all__ = [
    "SANITY_COLUMNS",
    "data_randomization_check",
    "model_randomization_check",
    "sanity_summary",
    "seed_control_check",
]

#: Columns of the sanity-check reports.
SANITY_COLUMNS = (
    "check",
    "stage",
    "n_randomized",
    "map",
    "class",
    "spearman",
    "spearman_abs",
    "pearson",
)
#: Names accepted by ``IGExplainer.sanity_check(checks=...)``.
SANITY_CHECKS = ("model", "data", "control")
_METRICS = ("spearman", "spearman_abs", "pearson")


def empty_report() -> pd.DataFrame:
    """Return a sanity-check report without rows."""
    return pd.DataFrame(columns=list(SANITY_COLUMNS))


def _correlation(a, b, rank):
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return np.nan
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return np.nan
    return float(spearmanr(a, b).statistic if rank else np.corrcoef(a, b)[0, 1])


def _compare(reference, other, check, stage, n_randomized, classes):
    rows = []
    for name in MAP_NAMES:
        for k, c in enumerate(classes):
            a, b = reference[name][k], other[name][k]
            rows.append(
                (
                    check,
                    stage,
                    n_randomized,
                    name,
                    str(c),
                    _correlation(a, b, rank=True),
                    _correlation(np.abs(a), np.abs(b), rank=True),
                    _correlation(a, b, rank=False),
                )
            )
    return rows


def sanity_summary(report: pd.DataFrame, metric: str = "spearman") -> pd.DataFrame:
    """Average a sanity-check report over classes: one row per check and stage.

    Parameters
    ----------
    report : DataFrame
        As returned by :meth:`IGExplainer.sanity_check` or the ``*_check``
        functions.
    metric : {"spearman", "spearman_abs", "pearson"}, default="spearman"
        Column averaged.

    Returns
    -------
    summary : DataFrame
        Index ``(check, stage)`` in report order, one column per map.

    Raises
    ------
    ValueError
        For an unknown ``metric`` or a report without the needed columns.

    Examples
    --------
    >>> import pandas as pd
    >>> from raman_sk.explain import sanity_summary
    >>> report = pd.DataFrame({
    ...     "check": ["control"] * 4, "stage": ["seed 2"] * 4,
    ...     "n_randomized": [float("nan")] * 4,
    ...     "map": ["abs_ig", "abs_ig", "signed_ig", "signed_ig"],
    ...     "class": ["a", "b", "a", "b"], "spearman": [0.8, 0.6, 0.9, 0.7],
    ...     "spearman_abs": [0.8, 0.6, 0.9, 0.7], "pearson": [0.8, 0.6, 0.9, 0.7]})
    >>> sanity_summary(report).round(2).to_dict("records")
    [{'abs_ig': 0.7, 'signed_ig': 0.8}]
    """
    validate_parameter_constraints(
        {"metric": [StrOptions(set(_METRICS))]},
        {"metric": metric},
        caller_name="sanity_summary",
    )
    missing = {"check", "stage", "map", metric} - set(report.columns)
    if missing:
        raise ValueError(
            f"report lacks the column(s) {sorted(missing)}; give a sanity-check report."
        )
    table = report.pivot_table(
        index=["check", "stage"],
        columns="map",
        values=metric,
        aggfunc="mean",
        sort=False,
    )
    table.columns.name = None
    maps = [m for m in MAP_NAMES if m in table.columns]
    return table[maps + [c for c in table.columns if c not in maps]]


def _check_explainer(explainer, X):
    """Return the network input of the fitted ``X`` of a fitted explainer."""
    # duck-typed: importing IGExplainer here would make an import cycle
    if not callable(getattr(explainer, "_maps_for", None)):
        raise TypeError(
            f"explainer must be an IGExplainer, got {type(explainer).__name__}."
        )
    check_is_fitted(explainer, "saliency_")
    pre, clf, module, _ = split_explained(explainer.pipeline)
    Xt = network_input(pre, clf, module, X)
    if Xt.shape[0] != explainer.n_fit_samples_:
        raise ValueError(
            f"X has {Xt.shape[0]} spectra, but the explainer was fitted on "
            f"{explainer.n_fit_samples_}; give the X and y used for fit."
        )
    return module, Xt


def _retrained_report(explainer, pipeline, X, check, stage):
    """Compare the explainer's maps with those of another trained ``pipeline``."""
    pre, clf, module, _ = split_explained(pipeline)
    maps = explainer._maps_for(module, network_input(pre, clf, module, X))
    rows = _compare(explainer.maps_, maps, check, stage, np.nan, explainer.classes_)
    return pd.DataFrame(rows, columns=list(SANITY_COLUMNS))


def _reinit_stages(module: nn.Module):
    """Leaf layers with parameters, in order, a BatchNorm merged with its conv."""
    leaves = [
        (name, m)
        for name, m in module.named_modules()
        if len(list(m.children())) == 0
        and any(True for _ in m.parameters(recurse=False))
    ]
    stages: list[list[tuple[str, nn.Module]]] = []
    for name, m in leaves:
        if (
            isinstance(m, nn.modules.batchnorm._BatchNorm)
            and stages
            and isinstance(stages[-1][-1][1], nn.modules.conv._ConvNd)
        ):
            stages[-1].append((name, m))
        else:
            stages.append([(name, m)])
    return stages


def _reset(stage):
    for _, m in stage:
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
        if hasattr(m, "reset_running_stats"):
            m.reset_running_stats()


def model_randomization_check(
    explainer, X, y=None, *, cascade: bool = True, random_state=None
) -> pd.DataFrame:
    """Run the model-parameter randomisation test (Adebayo et al. 2018).

    Re-initialises the trained network's layers (on a deep copy; the pipeline
    is untouched), from the output layer down, and recomputes every class map
    on the spectra the explainer was fitted on. A map that explains what the
    network learned must change: its rank correlation with the trained map
    should fall towards 0.

    Parameters
    ----------
    explainer : IGExplainer
        A fitted explainer.
    X : array-like of shape (n_samples, n_points)
        The spectra it was fitted on.
    y : ignored
        Accepted for a uniform signature.
    cascade : bool, default=True
        Randomise cumulatively from the top layer (one stage per layer; a
        BatchNorm goes with its convolution). If False, only the fully random
        network is evaluated.
    random_state : int, RandomState instance or None, default=None
        Seeds the re-initialisation (without touching torch's global
        generator).

    Returns
    -------
    report : DataFrame
        Columns :data:`SANITY_COLUMNS`: ``stage`` names the last layer
        randomised; ``spearman`` is the Spearman rank correlation between the
        trained and the randomised map of that class, ``spearman_abs`` the same
        between their absolute values, ``pearson`` the linear correlation.
    """
    module, Xt = _check_explainer(explainer, X)
    seed = int(check_random_state(random_state).randint(0, 2**31 - 1))
    device = module_device(module)
    # re-initialised on a CPU copy so that only a forked CPU generator is used
    rand = copy.deepcopy(module).cpu()
    order = list(reversed(_reinit_stages(rand)))
    rows = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if cascade:
            for k, stage in enumerate(order, start=1):
                _reset(stage)
                maps = explainer._maps_for(copy.deepcopy(rand).to(device), Xt)
                rows += _compare(
                    explainer.maps_,
                    maps,
                    "model_randomization",
                    "+".join(n for n, _ in stage),
                    k,
                    explainer.classes_,
                )
        else:
            for stage in order:
                _reset(stage)
            maps = explainer._maps_for(rand.to(device), Xt)
            rows += _compare(
                explainer.maps_,
                maps,
                "model_randomization",
                "all layers",
                len(order),
                explainer.classes_,
            )
    return pd.DataFrame(rows, columns=list(SANITY_COLUMNS))


def _refit_pipeline(explainer, X, y, *, seed=None):
    pipe = clone(explainer.pipeline)
    if seed is not None:
        last = pipe.steps[-1][0] if isinstance(pipe, Pipeline) else None
        key = f"{last}__random_state" if last else "random_state"
        if key in pipe.get_params():
            pipe.set_params(**{key: seed})
    return pipe.fit(X, y)


def data_randomization_check(
    explainer, X, y, *, pipeline=None, random_state=None
) -> pd.DataFrame:
    """Run the data randomisation test (Adebayo et al. 2018).

    Trains a clone of the explainer's pipeline on randomly permuted labels and
    compares its class maps with the trained ones on the same spectra. A map
    that reflects the relation between spectra and labels must not survive
    the permutation.

    Parameters
    ----------
    explainer : IGExplainer
        A fitted explainer.
    X, y : array-like
        The spectra and labels it was fitted on.
    pipeline : fitted pipeline, default=None
        A pipeline already trained on permuted labels; None trains a clone of
        the explainer's pipeline on ``y`` permuted with ``random_state``.
    random_state : int, RandomState instance or None, default=None
        Seeds the permutation.

    Returns
    -------
    report : DataFrame
        Columns as :func:`model_randomization_check`, with ``check ==
        "data_randomization"``.
    """
    _check_explainer(explainer, X)
    rng = check_random_state(random_state)
    if pipeline is None:
        y = np.asarray(y)
        pipeline = _refit_pipeline(explainer, X, y[rng.permutation(len(y))])
    return _retrained_report(
        explainer, pipeline, X, "data_randomization", "shuffled labels"
    )


def seed_control_check(
    explainer, X, y, *, pipeline=None, random_state=None
) -> pd.DataFrame:
    """Run the control of the sanity checks: the same training, another seed.

    Shows that the correlation can see agreement: two networks trained the
    same way (different initialisation) should give similar maps.

    Parameters
    ----------
    explainer : IGExplainer
        A fitted explainer.
    X, y : array-like
        The spectra and labels it was fitted on.
    pipeline : fitted pipeline, default=None
        A second trained pipeline to compare with; None trains a clone of the
        explainer's pipeline with the classifier's ``random_state`` drawn from
        ``random_state``.
    random_state : int, RandomState instance or None, default=None
        Seeds the second training.

    Returns
    -------
    report : DataFrame
        Columns as :func:`model_randomization_check`, with ``check ==
        "control"``.
    """
    _check_explainer(explainer, X)
    rng = check_random_state(random_state)
    if pipeline is None:
        pipeline = _refit_pipeline(
            explainer, X, np.asarray(y), seed=int(rng.randint(0, 2**31 - 1))
        )
    return _retrained_report(explainer, pipeline, X, "control", "second trained seed")
