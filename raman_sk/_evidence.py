"""Input-space evidence of the out-of-domain check, computed on the network's grid.

Four questions about a spectrum and a library of reference spectra: how
similar is its nearest reference (:func:`nearest_similarity`), how narrow are
its bands (:func:`band_widths`, :func:`strongest_band_fwhm`), how many has it
(:func:`band_count`), and how much of it can a few close references together
not explain (:func:`library_residual`).
:mod:`raman_sk.domain` sets their limits; :mod:`raman_sk.library` names the
nearest molecule.
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial import legendre
from scipy.optimize import nnls
from scipy.signal import find_peaks, peak_widths

__all__ = [
    "band_count",
    "band_widths",
    "library_residual",
    "nearest_similarity",
    "strongest_band_fwhm",
]


def _standardise(X: np.ndarray) -> np.ndarray:
    X = X - X.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(X, axis=1, keepdims=True)
    return np.divide(X, norm, out=np.zeros_like(X), where=norm > 0)


def nearest_similarity(
    X: np.ndarray, reference: np.ndarray, *, batch_size: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlation of each row of ``X`` with its most similar reference row.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_points)
        Spectra to check.
    reference : ndarray of shape (n_reference, n_points)
        Reference spectra on the same grid.
    batch_size : int, default=4096
        Rows of ``X`` processed at once (bounds memory).

    Returns
    -------
    similarity : ndarray of shape (n_samples,)
        Highest correlation, in [-1, 1]; 0 for a constant spectrum.
    index : ndarray of shape (n_samples,)
        Row of ``reference`` that reached it.

    Examples
    --------
    >>> ref = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    >>> sim, idx = nearest_similarity(np.array([[0.0, 2.0, 0.0, 0.1]]), ref)
    >>> idx[0], bool(sim[0] > 0.99)
    (np.int64(0), True)
    """
    ref = _standardise(np.asarray(reference, dtype=np.float64))
    X = np.asarray(X, dtype=np.float64)
    sims = np.empty(X.shape[0])
    idx = np.empty(X.shape[0], dtype=np.int64)
    for start in range(0, X.shape[0], batch_size):
        block = _standardise(X[start : start + batch_size]) @ ref.T
        idx[start : start + batch_size] = block.argmax(axis=1)
        sims[start : start + batch_size] = block.max(axis=1)
    return sims, idx


def band_widths(
    X, *, prominence: float = 0.1, n_bands: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two band-shape statistics of each spectrum, in grid points.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_points)
        Spectra on a common, evenly spaced grid.
    prominence : float, default=0.1
        Peaks count when their prominence is at least this fraction of the
        spectrum's range (max - min).
    n_bands : int or None, default=None
        Only the ``n_bands`` most prominent of those peaks count in
        ``peak_fwhm`` (None: all). Noise adds many weak, narrow maxima but
        never the strongest bands, so a bound keeps a noisy spectrum's band
        shape that of its bands.

    Returns
    -------
    effective_width : ndarray of shape (n_samples,)
        Area over height, ``sum(x - min) / (max - min)``: the width of a
        rectangle with the spectrum's area and height. Broad, band-rich
        spectra score high; one sharp line on a flat background scores low.
        0 for a constant spectrum.
    peak_fwhm : ndarray of shape (n_samples,)
        Median full width at half maximum (``scipy.signal.peak_widths``,
        half of each peak's prominence) of the prominent peaks (the
        ``n_bands`` most prominent); NaN when there is none.

    See Also
    --------
    strongest_band_fwhm : The width of the highest peak alone.

    Examples
    --------
    >>> x = np.zeros(101)
    >>> x[40:60] = 1.0  # a 20-point box
    >>> width, fwhm = band_widths(x[None])
    >>> float(width[0]), float(fwhm[0])
    (20.0, 20.0)
    >>> x[5:7] = 0.5  # a 2-point line, less prominent than the box
    >>> float(band_widths(x[None])[1][0]), float(band_widths(x[None], n_bands=1)[1][0])
    (11.0, 20.0)
    """
    width, fwhm = _band_stats(X, prominence, n_bands)[:2]
    return width, fwhm


def strongest_band_fwhm(X, *, prominence: float = 0.1) -> np.ndarray:
    """Full width at half maximum of each spectrum's highest peak, in grid points.

    The median width of :func:`band_widths` hardly moves when one narrow line
    joins a spectrum's many bands; the highest peak's width does when that
    line is the strongest feature (a substrate, lamp or crystal line on top
    of a biomolecule spectrum).

    Parameters
    ----------
    X, prominence
        As in :func:`band_widths`.

    Returns
    -------
    ndarray of shape (n_samples,)
        Width (``scipy.signal.peak_widths`` at half prominence) of the highest
        prominent peak; NaN when there is none.

    Examples
    --------
    >>> x = np.zeros(101)
    >>> x[20:40] = 1.0  # a 20-point band
    >>> x[70:74] = 2.0  # a 4-point line, the highest peak
    >>> float(strongest_band_fwhm(x[None])[0])
    4.0
    """
    return _band_stats(X, prominence)[2]


def band_count(X, *, prominence: float = 0.1) -> np.ndarray:
    """Count the prominent peaks of each spectrum.

    A molecule with many atoms has many vibrations between 450 and 1800 cm-1;
    a crystal or an elemental solid has a few lattice or bond modes there.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_points)
        Spectra on a common grid.
    prominence : float, default=0.1
        The peaks :func:`band_widths` measures count: prominence at least
        this fraction of the spectrum's range.

    Returns
    -------
    ndarray of shape (n_samples,)
        Peaks whose prominence is at least ``prominence`` of the spectrum's
        range; 0 for a constant spectrum.

    Examples
    --------
    >>> x = np.zeros(101)
    >>> x[20:40] = 1.0
    >>> x[60:62] = 0.05  # less than 10 % of the range: not counted
    >>> x[70:74] = 2.0
    >>> band_count(x[None]).tolist()
    [2.0]
    """
    return _band_stats(X, prominence)[3]


def _band_stats(X, prominence, n_bands=None):
    """(effective width, median peak FWHM, highest peak's FWHM, peak count) per row.

    The median runs over the ``n_bands`` most prominent peaks (None: all).
    """
    X = np.asarray(X, dtype=np.float64)
    low = X.min(axis=1, keepdims=True)
    span = X.max(axis=1, keepdims=True) - low
    ok = span[:, 0] > 0
    width = np.zeros(X.shape[0])
    fwhm = np.full(X.shape[0], np.nan)
    strongest = np.full(X.shape[0], np.nan)
    count = np.zeros(X.shape[0])
    width[ok] = (X[ok] - low[ok]).sum(axis=1) / span[ok, 0]
    for i in np.flatnonzero(ok):
        peaks, props = find_peaks(X[i], prominence=prominence * span[i, 0])
        count[i] = peaks.size
        if peaks.size:
            widths = peak_widths(X[i], peaks, rel_height=0.5)[0]
            counted = widths
            if n_bands is not None:  # stable: equal prominences keep axis order
                order = np.argsort(-props["prominences"], kind="stable")
                counted = widths[order[:n_bands]]
            fwhm[i] = float(np.median(counted))
            strongest[i] = float(widths[np.argmax(X[i, peaks])])
    return width, fwhm, strongest, count


def _nearest_rows(X, reference, k, exclude=None):
    """Return the ``k`` most correlated reference rows (ties: lower row first).

    Rows where ``exclude`` is True are never chosen; fewer than ``k`` are left
    as -1.
    """
    sim = _standardise(X) @ _standardise(reference).T
    if exclude is not None:
        sim[exclude] = -np.inf
    order = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    return np.where(np.take_along_axis(sim, order, axis=1) > -np.inf, order, -1)


def library_residual(
    X, reference, *, n_neighbors: int = 5, degree: int = 3, exclude=None
) -> np.ndarray:
    """Fraction of each spectrum's strongest band that the library cannot explain.

    Each spectrum is fitted as a non-negative combination of its
    ``n_neighbors`` most correlated reference spectra plus a smooth baseline
    (Legendre polynomials up to ``degree``, either sign) by non-negative least
    squares (``scipy.optimize.nnls``). The score is the largest point of the
    residual (spectrum minus fit) over the height of the strongest band above
    the fitted baseline: about 0 when nearby spectra together make the
    spectrum, about 1 when its strongest band is left over whole. Looking at
    the largest residual point rather than the residual norm keeps the score
    low for many small misfits (noise, a slightly shifted axis) and high for
    one band no reference has; the baseline absorbs broad fluorescence left
    after baseline removal.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_points)
        Spectra to explain.
    reference : array-like of shape (n_reference, n_points)
        Library spectra on the same grid.
    n_neighbors : int, default=5
        Reference spectra in each fit (clipped to those available).
    degree : int, default=3
        Highest degree of the baseline polynomials; -1 for no baseline.
    exclude : array-like of bool, shape (n_samples, n_reference), default=None
        Pairs never used (e.g. the spectrum's own molecule).

    Returns
    -------
    ndarray of shape (n_samples,)
        The score; NaN for a spectrum with no band above its baseline (a
        constant or a polynomial).

    Examples
    --------
    >>> ref = np.array([[0.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, 0.0]])
    >>> X = np.array([[0.0, 2.0, 0.0, 1.0, 0.0], [0.0, 2.0, 0.0, 0.0, 4.0]])
    >>> library_residual(X, ref, degree=-1).round(6).tolist()
    [0.0, 1.0]
    """
    X = np.asarray(X, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    k = int(min(max(n_neighbors, 1), reference.shape[0]))
    nearest = _nearest_rows(X, reference, k, exclude)
    t = np.linspace(-1.0, 1.0, X.shape[1])
    poly = legendre.legvander(t, degree) if degree >= 0 else np.zeros((t.size, 0))
    baseline = np.hstack([poly, -poly])  # nnls keeps coefficients >= 0: both signs
    out = np.full(X.shape[0], np.nan)
    for i, x in enumerate(X):
        rows = nearest[i][nearest[i] >= 0]
        A = np.hstack([reference[rows].T, baseline])
        if A.shape[1] == 0:
            continue
        coef = nnls(A, x, maxiter=50 * A.shape[1])[0]
        top = np.max(x - baseline @ coef[rows.size :])
        if top > 1e-9 * max(1.0, float(np.max(np.abs(x)))):
            out[i] = np.max(x - A @ coef) / top
    return out
