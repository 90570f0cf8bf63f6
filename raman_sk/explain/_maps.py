"""Class maps: which spectra are explained per class, and their averages."""

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
