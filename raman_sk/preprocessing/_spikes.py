"""Cosmic-ray spike removal (Whitaker-Hayes style, on first differences)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from raman_sk.preprocessing._base import (
    SpectraTransformer,
    check_finite_result,
    extreme_row_scales,
    validate_spectra,
)
from raman_sk.utils._sklearn_compat import Interval

__all__ = ["SpikeRemover", "remove_spikes"]


def _modified_z(d: np.ndarray) -> np.ndarray | None:
    """Return modified z-scores of d (median/MAD); None when d has no spread."""
    med = np.median(d)
    dev = np.abs(d - med)
    mad = np.median(dev)
    if mad > 0:
        return 0.6745 * (d - med) / mad
    mean_ad = dev.mean()
    if mean_ad > 0:  # Iglewicz-Hoaglin fallback when over half the diffs are equal
        return (d - med) / (1.253314 * mean_ad)
    return None


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Start and end (inclusive) of each run of True in a 1-D mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [(int(a), int(e)) for a, e in zip(starts, ends, strict=True)]


def _spike_mask(x: np.ndarray, threshold: float, window: int) -> np.ndarray:
    p = x.shape[0]
    spike = np.zeros(p, dtype=bool)
    z = _modified_z(np.diff(x))
    if z is None:
        return spike
    rises, falls = _runs(z > threshold), _runs(z < -threshold)
    fall_starts = np.array([f[0] for f in falls], dtype=np.intp)
    for a, e in rises:
        # the points a+1 .. f lie between a steep rise and the next steep fall
        j = np.searchsorted(fall_starts, e + 1)
        if j < len(falls):
            f = falls[j][1]
            if f - a <= window:
                spike[a + 1 : f + 1] = True
        elif p - 1 - a <= window:  # a spike at the right edge
            spike[a + 1 :] = True
    if falls and (not rises or falls[0][0] < rises[0][0]) and falls[0][1] < window:
        spike[: falls[0][1] + 1] = True  # a spike at the left edge
    return spike


def _despike(X, threshold, window, return_mask=False):
    out = X.copy()
    masks = np.zeros(X.shape, dtype=bool)
    idx = np.arange(X.shape[1])
    # the detection uses robust z-scores (scale-free): find spikes on rows of
    # extreme magnitude scaled to 1, where differences cannot overflow
    scales = extreme_row_scales(X)[:, 0]
    for i, x in enumerate(X):
        spike = _spike_mask(x / scales[i], threshold, window)
        if spike.any() and (~spike).sum() >= 2:
            fill = np.interp(idx[spike], idx[~spike], x[~spike] / scales[i])
            out[i, spike] = fill * scales[i]
            masks[i] = spike
    out = check_finite_result(out, "spike removal")
    return (out, masks) if return_mask else out


def remove_spikes(
    X, *, threshold: float = 6.0, window: int = 3, return_mask: bool = False
):
    """Remove cosmic-ray spikes: narrow, steep, positive outliers.

    The first differences of each spectrum get modified z-scores
    (``0.6745 (d - median) / MAD``, Whitaker & Hayes 2018). A spike is a run
    of at most ``window`` points that starts with a difference above
    ``threshold`` and ends with one below ``-threshold``; its points are
    replaced by linear interpolation between the nearest unaffected points.
    Real bands, whose flanks are wider than ``window`` points, are kept: choose
    ``window`` below the width of the narrowest band (in points).

    Parameters
    ----------
    X : array-like of shape (n_spectra, n_points)
        Spectra. Never modified.
    threshold : float, default=6.0
        Modified z-score a difference must exceed to count as a spike edge.
    window : int, default=3
        Widest spike, in points.
    return_mask : bool, default=False
        Also return which points were replaced.

    Returns
    -------
    X_new : ndarray of shape (n_spectra, n_points), dtype float64
        Despiked spectra (a new array).
    mask : ndarray of shape (n_spectra, n_points), dtype bool
        Only when ``return_mask=True``: the replaced points.

    See Also
    --------
    SpikeRemover : The same as a scikit-learn transformer.

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk.preprocessing import remove_spikes
    >>> x = np.sin(np.linspace(0.0, 3.0, 40)) + 0.01 * np.cos(np.arange(40) * 2.1)
    >>> x_spiked = x.copy()
    >>> x_spiked[20] += 5.0                                  # a cosmic ray
    >>> X_new, mask = remove_spikes([x_spiked], return_mask=True)
    >>> np.flatnonzero(mask[0]).tolist(), bool(abs(X_new[0, 20] - x[20]) < 0.02)
    ([20], True)
    """
    step = SpikeRemover(threshold=threshold, window=window)
    options = step._check_params(caller="remove_spikes")
    X = validate_spectra(X)
    return _despike(X, return_mask=return_mask, **options)


class SpikeRemover(SpectraTransformer):
    """Remove cosmic-ray spikes from each spectrum.

    Stateless: ``fit`` only checks the input. See :func:`remove_spikes` for the
    detection rule (modified z-scores of first differences) and replacement
    (linear interpolation from the neighbouring points).

    Parameters
    ----------
    threshold : float, default=6.0
        Modified z-score a difference must exceed to count as a spike edge.
    window : int, default=3
        Widest spike, in points; keep it below the narrowest band's width.

    Attributes
    ----------
    n_features_in_ : int
        Number of points per spectrum seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when fitted on a DataFrame with string column names.

    See Also
    --------
    remove_spikes : The function doing the work.

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk.preprocessing import SpikeRemover
    >>> X = np.tile(np.linspace(0.0, 1.0, 30), (2, 1)) + 0.001 * np.cos(np.arange(30))
    >>> X_spiked = X.copy()
    >>> X_spiked[1, 10:12] += 3.0                            # a two-point spike
    >>> np.abs(SpikeRemover().fit_transform(X_spiked) - X).max() < 0.01
    np.True_
    """

    _parameter_constraints: dict = {
        "threshold": [Interval(Real, 0, None, closed="neither")],
        "window": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, threshold=6.0, window=3):
        self.threshold = threshold
        self.window = window

    def _options(self) -> dict:
        return {"threshold": float(self.threshold), "window": int(self.window)}

    def _transform(self, X, options):
        return _despike(X, **options)
