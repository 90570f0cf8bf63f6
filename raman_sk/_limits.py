"""Limit arithmetic of the out-of-domain check (:mod:`raman_sk.domain`).

How a score is put on the common ``ood_score`` scale, how band-width limits are
held out per molecule, how the shared limits split the database budget, when
the highest peak's width counts, how the scores combine, and whether a saved
checker's model-space limits are whole.
"""

from __future__ import annotations

import numpy as np

#: Library residual above which a too-narrow highest peak counts (see _unexplained).
_UNEXPLAINED = 0.5
#: Model-space scores with a limit (higher is less familiar).
_MODEL_LIMITS = ("embedding_distance", "energy")
#: Scores whose limits share what the fixed input-space limits leave of the budget.
_SHARED_LIMITS = ("residual", *_MODEL_LIMITS)


def _exceedance(values, limit, centre, *, low_is_bad):
    """1 at the limit, above 1 past it, 0 at the in-domain median."""
    values = np.asarray(values, dtype=np.float64)
    if low_is_bad:
        return 1.0 + (limit - values) / max(centre - limit, 1e-9)
    return 1.0 + (values - limit) / max(limit - centre, 1e-9)


def _unexplained(residual):
    """(gate, reason suffix) of the highest-peak width check.

    A highest peak narrower than any training spectrum's counts only when the
    library leaves more than half of it unexplained (library residual above
    :data:`_UNEXPLAINED`): a sharper instrument's rendering of a known band is
    mostly explained by the neighbours that have it, a foreign line is left
    over whole. Without a residual the width alone counts.
    """
    if residual is None or np.isnan(residual).all():
        return True, ""
    values = np.nan_to_num(np.asarray(residual, dtype=np.float64), nan=np.inf)
    return values > _UNEXPLAINED, f" and residual > {_UNEXPLAINED}"


def _other_group_min(values, groups, factor):
    """Each row's limit: the smallest value of the *other* groups over ``factor``."""
    out = np.full(values.shape[0], np.inf)
    finite = np.isfinite(values)
    for g in np.unique(groups):
        other = (groups != g) & finite
        if other.any():
            out[groups == g] = values[other].min() / factor
    return out


def _shared_limits(scores, fixed, target):
    """(rate, limits): one exceedance rate for every score, the highest in budget.

    ``fixed`` is what the fixed limits already flag. Each limit is the
    ``j + 1``-th largest value of its score, so that at most ``j`` of the
    ``n`` spectra are above it (rate ``j / n``); the flags only grow with
    ``j``, so a bisection finds the largest ``j`` whose overall flag rate is
    at most ``target``.
    """
    n = fixed.shape[0]
    ranked = {k: np.sort(v)[::-1] for k, v in scores.items()}

    def combined(j):
        limits = {k: float(v[min(j, n - 1)]) for k, v in ranked.items()}
        flag = fixed.copy()
        for k, v in scores.items():
            flag |= v > limits[k]
        return flag.mean(), limits

    lo, hi = 0, n - 1  # j = 0 keeps every spectrum within every shared limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if combined(mid)[0] <= target:
            lo = mid
        else:
            hi = mid - 1
    return lo / n, combined(lo)[1]


#: Direction of each score in the combined evidence: +1 where high is unfamiliar.
_COMBINED_SIGNS = {"similarity": -1, "effective_width": -1, "peak_fwhm": -1,
                   "band_count": -1, "residual": 1, "embedding_distance": 1,
                   "energy": 1}


def _combined(values: dict, reference: dict, *, leave_one_out=False) -> np.ndarray:
    """Fisher's combination of each score's in-domain p-value (high: unfamiliar).

    A score's p-value is the share of ``reference`` rows at least as
    unfamiliar, ``(1 + k) / (n + 1)``; NaN counts as the most unfamiliar
    value. The statistic is the sum of ``-2 log p`` over the scores in both
    dicts: a spectrum unusual in several ways at once scores high even when
    no single score crosses its own limit. With ``leave_one_out`` the rows of
    ``values`` are the ``reference`` rows, each left out of its own p-value.
    """
    total = None
    for name, sign in _COMBINED_SIGNS.items():
        if name not in values or name not in reference:
            continue
        ref, val = (np.asarray(d[name], dtype=np.float64) for d in (reference, values))
        ref, val = (np.where(np.isnan(a), np.inf, sign * a) for a in (ref, val))
        n = ref.shape[0]
        at_least = n - np.searchsorted(np.sort(ref), val, side="left")
        p = at_least / n if leave_one_out else (1.0 + at_least) / (n + 1.0)
        total = -2.0 * np.log(p) + (0.0 if total is None else total)
    return np.zeros(len(next(iter(values.values())))) if total is None else total


def _check_model_space(checker, npz) -> None:
    """Check a loaded checker's model-space arrays and limits."""
    n = checker.reference_.shape[0]
    emb, fold = checker.embeddings_, checker.fold_
    if emb.ndim != 3 or emb.shape[1] != n or fold.shape != (n,):
        raise ValueError(
            f"{npz} is inconsistent: embeddings of shape {emb.shape} and folds of "
            f"shape {fold.shape} for {n} reference spectra."
        )
    names = _SHARED_LIMITS if checker.residual_limit_ is not None else _MODEL_LIMITS
    for name in names:
        limit = getattr(checker, f"{name}_limit_", None)
        if not isinstance(limit, (int, float)):
            raise ValueError(f"{npz}: {name}_limit_ must be a number, got {limit!r}.")
        if getattr(checker, f"oof_{name}_").shape != (n,):
            raise ValueError(f"{npz}: oof_{name} must have one entry per spectrum.")
    limit = getattr(checker, "combined_limit_", None)
    if limit is not None:  # older files have none
        if not isinstance(limit, (int, float)):
            raise ValueError(f"{npz}: combined_limit_ must be a number, got {limit!r}.")
        if getattr(checker, "oof_combined_", np.empty(0)).shape != (n,):
            raise ValueError(f"{npz}: oof_combined must have one entry per spectrum.")


def _check_input_limits(checker, cfg, npz) -> None:
    """Check a loaded checker's input-space limits; drop those its options turn off."""
    for key in ("min_effective_width_", "min_peak_fwhm_", "min_strongest_fwhm_",
                "min_band_count_", "residual_limit_"):
        value = getattr(checker, key, None)
        if value is not None and not isinstance(value, (int, float)):
            raise ValueError(f"{cfg}: {key} must be a number or null, got {value!r}.")
        on = checker.residual_check if key == "residual_limit_" else checker.band_checks
        setattr(checker, key, value if on else None)  # older files: no residual limit
    residual = getattr(checker, "loo_residual_", None)
    if checker.residual_limit_ is not None and (
        residual is None or residual.shape != checker.loo_similarity_.shape
    ):
        raise ValueError(f"{npz}: loo_residual must have one entry per spectrum.")
