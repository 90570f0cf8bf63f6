"""Limit arithmetic of the out-of-domain check (:mod:`raman_sk.domain`).

How a score is put on the common ``ood_score`` scale, how band-width limits are
held out per molecule, how the shared limits split the database budget, and
when the highest peak's width counts.
"""

from __future__ import annotations

import numpy as np

#: Library residual above which a too-narrow highest peak counts (see _unexplained).
_UNEXPLAINED = 0.5


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
    ``j``, so a bisection finds the largest ``j`` whose combined flag rate is
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
