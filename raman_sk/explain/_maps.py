"""Class maps: which spectra are explained per class, and their averages.

A committee's maps are the means over its members of each member's maps.
"""

from __future__ import annotations

import numpy as np

#: Names of the class maps an :class:`IGExplainer` computes (keys of ``maps_``).
MAP_NAMES = ("abs_ig", "signed_ig", "contrastive_ig")


def select_per_class(y_int, n_classes, n_per_class, rng):
    """Up to ``n_per_class`` rows of each class (sorted), grouped in class order.

    Returns
    -------
    indices, targets : ndarray of int64
        The rows chosen and the class index of each.
    """
    idx, tgt = [], []
    for k in range(n_classes):
        rows = np.flatnonzero(y_int == k)
        if rows.size > n_per_class:
            rows = np.sort(rng.choice(rows, size=n_per_class, replace=False))
        idx.append(rows)
        tgt.append(np.full(rows.size, k, dtype=np.int64))
    return np.concatenate(idx), np.concatenate(tgt)


def class_means(A, targets, n_classes, *, absolute=False):
    """Mean (absolute) attribution per class; NaN rows for classes without rows."""
    out = np.full((n_classes, A.shape[1]), np.nan)
    for k in range(n_classes):
        rows = targets == k
        if np.any(rows):
            vals = np.abs(A[rows]) if absolute else A[rows]
            out[k] = vals.mean(axis=0)
    return out


def class_maps(A, A_contrastive, targets, n_classes) -> dict:
    """Return the maps of :data:`MAP_NAMES` (class and contrastive scores)."""
    return {
        "abs_ig": class_means(A, targets, n_classes, absolute=True),
        "signed_ig": class_means(A, targets, n_classes),
        "contrastive_ig": class_means(A_contrastive, targets, n_classes),
    }


def member_class_maps(As, Acs, targets, n_classes) -> tuple[dict, dict]:
    """Mean maps and per-member maps (stacked on axis 0) of several networks.

    ``As``/``Acs`` hold each network's class and contrastive attributions of
    the same rows.
    """
    per_member = [
        class_maps(A, Ac, targets, n_classes) for A, Ac in zip(As, Acs, strict=True)
    ]
    member_maps = {name: np.stack([m[name] for m in per_member]) for name in MAP_NAMES}
    maps = {name: stack.mean(axis=0) for name, stack in member_maps.items()}
    return maps, member_maps


def mean_attribution(runs, *, smoothgrad: bool):
    """Combine the ``(A, delta, dF)`` of several networks on the same rows.

    Returns each network's attributions, their mean, its completeness error
    and the mean ``dF``. IG is linear in the function explained, so the mean
    attribution is the IG of the networks' mean score and its error is
    ``|sum(mean A) - mean dF|``; for SmoothGrad (no such identity for captum's
    own delta), the mean of the networks' errors. One network: unchanged.
    """
    if len(runs) == 1:
        A, delta, dF = runs[0]
        return [A], A, delta, dF
    A = np.mean([r[0] for r in runs], axis=0)
    dF = np.mean([r[2] for r in runs], axis=0)
    if smoothgrad:
        delta = np.mean([r[1] for r in runs], axis=0)
    else:
        delta = np.abs(A.sum(axis=1) - dF)
    return [r[0] for r in runs], A, delta, dF


def npz_arrays(wavenumbers, classes, maps) -> dict:
    """Arrays of ``saliency_maps.npz`` (see ``IGExplainer.to_npz_dict``)."""
    out = {"wavenumbers": np.asarray(wavenumbers, dtype=np.float64)}
    others = {f"{name}_maps": m for name, m in maps.items()}
    others["classes"] = np.asarray([str(c) for c in classes])
    for k, c in enumerate(classes):
        key = str(c)
        if key in others or key == "wavenumbers":
            raise ValueError(
                f"class name {key!r} collides with the npz key {key!r}; rename "
                "the class."
            )
        out[key] = maps["abs_ig"][k].copy()
    out.update(others)
    return out
