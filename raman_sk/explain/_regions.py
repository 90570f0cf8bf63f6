"""Wavenumber regions of class saliency maps, and the smooth-background baseline."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter1d, grey_opening, uniform_filter1d
from scipy.signal import find_peaks, peak_widths

from raman_sk.utils import check_wavenumbers
from raman_sk.utils._sklearn_compat import Interval, validate_parameter_constraints

__all__ = ["REGION_COLUMNS", "find_regions", "smooth_background"]

#: Columns of ``IGExplainer.regions_`` and :func:`find_regions`.
REGION_COLUMNS = ("class", "start", "end", "peak", "score", "assignment", "map")

#: Width in cm-1 of the structures the "smooth" baseline removes.
SMOOTH_WINDOW_CM = 100.0

_FIND_REGIONS_CONSTRAINTS = {
    "n_regions": [Interval(Integral, 1, None, closed="left")],
    "smoothing": [Interval(Real, 0, None, closed="left")],
    "tolerance": [Interval(Real, 0, None, closed="left")],
}


def smooth_background(
    X: np.ndarray, wavenumbers: np.ndarray, window: float = SMOOTH_WINDOW_CM
) -> np.ndarray:
    """Estimate a smooth background under each spectrum (the "smooth" baseline).

    A grey-scale opening over ``window`` cm-1 removes every band narrower than
    the window; a moving average of the same width smooths the result, which
    is clipped so that it never exceeds the spectrum.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_wavenumbers)
        Spectra on the axis ``wavenumbers``.
    wavenumbers : array-like of shape (n_wavenumbers,)
        Their axis in cm-1 (its median step converts ``window`` to points).
    window : float, default=100.0
        Width in cm-1 of the structures removed.

    Returns
    -------
    background : ndarray of shape (n_samples, n_wavenumbers)
        A new array; ``X`` is not modified.

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk.explain import smooth_background
    >>> w = np.arange(600.0, 1000.0, 2.0)
    >>> x = 0.5 + 0.001 * (w - 600) + np.exp(-0.5 * ((w - 800) / 5) ** 2)
    >>> bg = smooth_background(x[None], w)
    >>> bool(np.all(bg <= x)), round(float(bg[0, 100]), 2)
    (True, 0.7)
    """
    X = np.asarray(X, dtype=np.float64)
    wavenumbers = np.asarray(wavenumbers, dtype=np.float64)
    steps = np.abs(np.diff(wavenumbers))
    step = float(np.median(steps)) if steps.size else 1.0
    size = int(max(3, round(window / max(step, 1e-12))))
    size = min(size, X.shape[1])
    opened = grey_opening(X, size=(1, size), mode="nearest")
    smooth = uniform_filter1d(opened, size=size, axis=1, mode="nearest")
    return np.minimum(smooth, X)


def _merge_overlapping(regions, smoothed):
    """Merge overlapping [lo, hi, peak] intervals, keeping the higher peak."""
    regions = sorted(regions, key=lambda r: r[0])
    merged = [regions[0]]
    for reg in regions[1:]:
        last = merged[-1]
        if reg[0] <= last[1]:
            keep = last[2] if smoothed[last[2]] >= smoothed[reg[2]] else reg[2]
            merged[-1] = [last[0], max(last[1], reg[1]), keep]
        else:
            merged.append(reg)
    return merged


def _regions_one(values, n_regions, sigma_pts, min_prominence=0.05):
    """Top regions of one map on an increasing axis: (lo, hi, peak, score)."""
    pos = np.clip(values, 0.0, None)
    total = pos.sum()
    if not total > 0:
        return []
    sm = gaussian_filter1d(pos, sigma_pts, mode="nearest") if sigma_pts > 0 else pos
    # zero padding lets find_peaks see maxima at the ends of the axis
    padded = np.concatenate([[0.0], sm, [0.0]])
    peaks, props = find_peaks(padded, prominence=min_prominence * float(sm.max()))
    if peaks.size == 0:
        return []
    _, _, left, right = peak_widths(
        padded,
        peaks,
        rel_height=0.5,
        prominence_data=(
            props["prominences"],
            props["left_bases"],
            props["right_bases"],
        ),
    )
    n = len(sm)
    regions = []
    for p, lo, hi in zip(peaks - 1, left - 1, right - 1, strict=True):
        lo = int(np.clip(np.ceil(lo), 0, n - 1))
        hi = int(np.clip(np.floor(hi), 0, n - 1))
        regions.append([min(lo, p), max(hi, p), int(p)])
    merged = _merge_overlapping(regions, sm)
    out = [(lo, hi, p, float(pos[lo : hi + 1].sum() / total)) for lo, hi, p in merged]
    out.sort(key=lambda r: -r[3])
    return out[:n_regions]


def find_regions(
    wavenumbers,
    saliency,
    class_names,
    *,
    n_regions: int = 5,
    smoothing: float = 4.0,
    tolerance: float = 10.0,
    map_name: str = "contrastive_ig",
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Find the top wavenumber regions of class saliency maps.

    For each class, the positive part of its map (evidence *for* the class) is
    smoothed with a Gaussian. Every local maximum whose prominence is at least
    5 % of the largest value gives an interval, its width at half prominence;
    overlapping intervals are merged. A region's score is the fraction of the
    class's positive attribution (unsmoothed) inside it.

    Parameters
    ----------
    wavenumbers : array-like of shape (n_wavenumbers,)
        Axis of the maps in cm-1 (any order; sorted internally).
    saliency : array-like of shape (n_classes, n_wavenumbers)
        One map per class.
    class_names : array-like of shape (n_classes,)
        Name of each row, also used to prefer that class's bands.
    n_regions : int, default=5
        Regions kept per class, best first.
    smoothing : float, default=4.0
        Standard deviation in cm-1 of the Gaussian smoothing before peak
        finding (0 disables it).
    tolerance : float, default=10.0
        Largest distance in cm-1 between a region's peak and a band for
        :func:`raman_sk.bands.assign_band`.
    map_name : str, default="contrastive_ig"
        Written to the ``map`` column.
    table : DataFrame, default=None
        Band table (:func:`raman_sk.bands.band_table`); None builds one.

    Returns
    -------
    regions : DataFrame
        Columns ``class, start, end, peak, score, assignment, map``; ``start``,
        ``end`` and ``peak`` are in cm-1, ``score`` in [0, 1].

    Raises
    ------
    ValueError
        For invalid parameters or a number of class names that differs from
        the number of maps.

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk.bands import band_table
    >>> from raman_sk.explain import find_regions
    >>> w = np.arange(600.0, 1100.0, 1.0)
    >>> s = np.exp(-0.5 * ((w - 700) / 4) ** 2)
    >>> s += 0.5 * np.exp(-0.5 * ((w - 940) / 4) ** 2)
    >>> r = find_regions(w, s[None], ["demo"], table=band_table(database=False))
    >>> records = r[["class", "peak", "assignment"]].to_dict("records")
    >>> records  # doctest: +NORMALIZE_WHITESPACE
    [{'class': 'demo', 'peak': 700.0, 'assignment': 'unassigned'},
     {'class': 'demo', 'peak': 940.0,
      'assignment': 'C–O–C ring breathing [Saccharides]'}]
    """
    from raman_sk.bands import assign_band, band_table

    validate_parameter_constraints(
        _FIND_REGIONS_CONSTRAINTS,
        {"n_regions": n_regions, "smoothing": smoothing, "tolerance": tolerance},
        caller_name="find_regions",
    )
    saliency = np.atleast_2d(np.asarray(saliency, dtype=np.float64))
    w = check_wavenumbers(wavenumbers, saliency.shape[1], name="wavenumbers")
    names = list(np.asarray(class_names, dtype=object).ravel())
    if len(names) != saliency.shape[0]:
        raise ValueError(
            f"class_names has {len(names)} entries but saliency has "
            f"{saliency.shape[0]} rows; give one name per row."
        )
    order = np.argsort(w, kind="stable")
    w, saliency = w[order], saliency[:, order]
    steps = np.diff(w)
    step = float(np.median(steps)) if steps.size else 1.0
    sigma = float(smoothing) / step if step > 0 else 0.0
    if table is None:
        table = band_table()
    rows = []
    for name, values in zip(names, saliency, strict=True):
        if not np.all(np.isfinite(values)):
            continue
        for lo, hi, p, score in _regions_one(values, int(n_regions), sigma):
            assignment = assign_band(
                float(w[p]), float(tolerance), str(name), table=table
            )
            rows.append(
                (
                    name,
                    float(w[lo]),
                    float(w[hi]),
                    float(w[p]),
                    score,
                    assignment,
                    map_name,
                )
            )
    out = pd.DataFrame(rows, columns=list(REGION_COLUMNS))
    return out.astype(
        {
            "start": np.float64,
            "end": np.float64,
            "peak": np.float64,
            "score": np.float64,
        }
    )
