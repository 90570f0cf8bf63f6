"""Randomisation sanity checks of saliency maps (Adebayo et al. 2018).

A map is trusted only when it depends on what the network learned: it must
change when the network's weights are re-initialised
(:func:`model_randomization_check`) or when it is trained on permuted labels
(:func:`data_randomization_check`), and stay similar for a second network
trained the same way (:func:`seed_control_check`). For a committee, every
member is re-initialised (or the whole committee retrained) and the maps are
averaged over the members as the explainer averages them;
:func:`map_stability` tells how much the members' maps agree.
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

from ._inputs import explained_networks, network_input
from ._maps import MAP_NAMES

__all__ = [
    "SANITY_COLUMNS",
    "STABILITY_COLUMNS",
    "data_randomization_check",
    "map_stability",
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
    """Return (networks explained, network input of the fitted ``X``)."""
    # duck-typed: importing IGExplainer here would make an import cycle
    if not callable(getattr(explainer, "_maps_for", None)):
        raise TypeError(
            f"explainer must be an IGExplainer, got {type(explainer).__name__}."
        )
    check_is_fitted(explainer, "saliency_")
    pre, final, _, modules, _ = explained_networks(
        explainer.pipeline, explainer.max_members
    )
    Xt = network_input(pre, final, modules[0], X)
    if Xt.shape[0] != explainer.n_fit_samples_:
        raise ValueError(
            f"X has {Xt.shape[0]} spectra, but the explainer was fitted on "
            f"{explainer.n_fit_samples_}; give the X and y used for fit."
        )
    return modules, Xt


def _retrained_report(explainer, pipeline, X, check, stage):
    """Compare the explainer's maps with those of another trained ``pipeline``."""
    pre, final, _, modules, _ = explained_networks(pipeline, explainer.max_members)
    maps = explainer._maps_for(modules, network_input(pre, final, modules[0], X))
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
    on the spectra the explainer was fitted on. For a committee, the same
    layers of every member explained are re-initialised at each stage. A map
    that explains what the network learned must change: its rank correlation
    with the trained map should fall towards 0.

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
    modules, Xt = _check_explainer(explainer, X)
    seed = int(check_random_state(random_state).randint(0, 2**31 - 1))
    device = module_device(modules[0])
    # re-initialised on CPU copies so that only a forked CPU generator is used
    rands = [copy.deepcopy(m).cpu() for m in modules]
    orders = [list(reversed(_reinit_stages(r))) for r in rands]
    if len({len(o) for o in orders}) != 1:
        raise ValueError("the committee's members have different architectures.")
    rows = []

    def compare(stage_name, n_randomized, nets):
        return _compare(
            explainer.maps_,
            explainer._maps_for(nets, Xt),
            "model_randomization",
            stage_name,
            n_randomized,
            explainer.classes_,
        )

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if cascade:
            for k, stage in enumerate(orders[0], start=1):
                for order in orders:
                    _reset(order[k - 1])
                nets = [copy.deepcopy(r).to(device) for r in rands]
                rows += compare("+".join(n for n, _ in stage), k, nets)
        else:
            for order in orders:
                for stage in order:
                    _reset(stage)
            rows += compare(
                "all layers", len(orders[0]), [r.to(device) for r in rands]
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
    compares its class maps with the trained ones on the same spectra (a
    committee is retrained whole, without groups: its folds only need to
    differ). A map
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


#: Columns of :func:`map_stability`.
STABILITY_COLUMNS = (
    "class",
    "map",
    "n_members",
    "mean_spearman",
    "min_spearman",
)


def map_stability(explainer, map_name=None) -> pd.DataFrame:
    """Rank correlation of each class map between the members of a committee.

    For every pair of members explained, the Spearman rank correlation of
    their maps of a class; a map that the members agree on is stable, one
    that changes from member to member is not to be read closely.

    Parameters
    ----------
    explainer : IGExplainer
        A fitted explainer (of a committee; a single classifier gives NaN).
    map_name : {"abs_ig", "signed_ig", "contrastive_ig"} or None, default=None
        Map compared; None is the explainer's ``region_map`` (the map its
        regions and figures use).

    Returns
    -------
    stability : DataFrame
        One row per class, columns :data:`STABILITY_COLUMNS`: ``mean_spearman``
        and ``min_spearman`` over the ``n_members * (n_members - 1) / 2``
        pairs (NaN with fewer than two members or a class without spectra).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from raman_sk.explain import map_stability
    >>> maps = np.array([[[1.0, 2.0, 3.0, 4.0]], [[1.0, 3.0, 2.0, 4.0]]])
    >>> fake = SimpleNamespace(member_maps_={"signed_ig": maps},
    ...                        classes_=np.array(["a"]), region_map="signed_ig")
    >>> map_stability(fake).round(2)[["class", "mean_spearman"]].to_dict("records")
    [{'class': 'a', 'mean_spearman': 0.8}]
    """
    member_maps = getattr(explainer, "member_maps_", None)
    if member_maps is None:
        check_is_fitted(explainer, "member_maps_")
    if map_name is None:
        map_name = explainer.region_map
    validate_parameter_constraints(
        {"map_name": [StrOptions(set(MAP_NAMES))]},
        {"map_name": map_name},
        caller_name="map_stability",
    )
    stack = np.asarray(member_maps[map_name])
    n = stack.shape[0]
    rows = []
    for k, c in enumerate(explainer.classes_):
        rhos = [
            _correlation(stack[i, k], stack[j, k], rank=True)
            for i in range(n)
            for j in range(i + 1, n)
        ]
        rhos = np.asarray(rhos, dtype=np.float64)
        ok = rhos[np.isfinite(rhos)]
        rows.append(
            (
                str(c),
                map_name,
                n,
                float(ok.mean()) if ok.size else np.nan,
                float(ok.min()) if ok.size else np.nan,
            )
        )
    return pd.DataFrame(rows, columns=list(STABILITY_COLUMNS))


def run_sanity_checks(explainer, X, y, *, checks, cascade, random_state):
    """Run the named checks in the order control, model, data; concatenate them.

    The body of :meth:`IGExplainer.sanity_check`.
    """
    checks = [checks] if isinstance(checks, str) else list(checks)
    for check in checks:
        validate_parameter_constraints(
            {"checks": [StrOptions(set(SANITY_CHECKS))]},
            {"checks": check},
            caller_name="IGExplainer.sanity_check",
        )
    rng = check_random_state(random_state)
    parts = []
    if "control" in checks:
        parts.append(seed_control_check(explainer, X, y, random_state=rng))
    if "model" in checks:
        parts.append(
            model_randomization_check(
                explainer, X, y, cascade=cascade, random_state=rng
            )
        )
    if "data" in checks:
        parts.append(data_randomization_check(explainer, X, y, random_state=rng))
    return pd.concat(parts, ignore_index=True) if parts else empty_report()
