"""Out-of-domain check: whether a spectrum is like anything seen in training.

A classifier trained on six biomolecule classes answers confidently for any input,
polystyrene or silicon included. :class:`NearestSpectrumChecker` keeps the training
spectra (on the network's input grid) and flags a new spectrum when

* its Pearson correlation with the nearest training spectrum is below a threshold
  learnt from the training set itself (leave-one-molecule-out), or
* its bands are narrower than any training spectrum's (band-shape checks): the
  *effective width* (area over height, in grid points) or the median full width at
  half maximum of its prominent peaks is below the smallest training value
  divided by ``width_margin``.

Correlation alone misses materials whose few sharp lines sit on a training
molecule's strongest band (calcite's 1086 cm-1 line, silicon's 520 cm-1 line,
polystyrene's 1001 cm-1 ring mode on L-phenylalanine's 1003 cm-1): their nearest
correlation (0.4-0.9) is within the range of genuine but unseen molecules (down
to about 0.2), while their spectra are far sparser than any training spectrum.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import find_peaks, peak_widths
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from raman_sk.persistence import load_estimator, save_estimator

__all__ = [
    "DOMAIN_ARRAYS",
    "DOMAIN_CONFIG",
    "NearestSpectrumChecker",
    "band_widths",
    "load_domain_checker",
    "nearest_similarity",
    "save_domain_checker",
]

#: File names of a saved checker inside a model directory.
DOMAIN_ARRAYS = "domain.npz"
DOMAIN_CONFIG = "domain.json"
_NAME = "domain"
_FORMAT_V0 = "raman_sk.domain/1"


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


def band_widths(X, *, prominence: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Two band-shape statistics of each spectrum, in grid points.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_points)
        Spectra on a common, evenly spaced grid.
    prominence : float, default=0.1
        Peaks count when their prominence is at least this fraction of the
        spectrum's range (max - min).

    Returns
    -------
    effective_width : ndarray of shape (n_samples,)
        Area over height, ``sum(x - min) / (max - min)``: the width of a
        rectangle with the spectrum's area and height. Broad, band-rich
        spectra score high; one sharp line on a flat background scores low.
        0 for a constant spectrum.
    peak_fwhm : ndarray of shape (n_samples,)
        Median full width at half maximum (``scipy.signal.peak_widths``,
        half of each peak's prominence) of the prominent peaks; NaN when
        there is none.

    Examples
    --------
    >>> x = np.zeros(101)
    >>> x[40:60] = 1.0  # a 20-point box
    >>> width, fwhm = band_widths(x[None])
    >>> float(width[0]), float(fwhm[0])
    (20.0, 20.0)
    """
    X = np.asarray(X, dtype=np.float64)
    low = X.min(axis=1, keepdims=True)
    span = X.max(axis=1, keepdims=True) - low
    ok = span[:, 0] > 0
    width = np.zeros(X.shape[0])
    fwhm = np.full(X.shape[0], np.nan)
    width[ok] = (X[ok] - low[ok]).sum(axis=1) / span[ok, 0]
    for i in np.flatnonzero(ok):
        peaks, _ = find_peaks(X[i], prominence=prominence * span[i, 0])
        if peaks.size:
            fwhm[i] = float(np.median(peak_widths(X[i], peaks, rel_height=0.5)[0]))
    return width, fwhm


class NearestSpectrumChecker(BaseEstimator):
    """Flag spectra unlike anything in the training set.

    A spectrum is out of domain when its correlation with the nearest
    training spectrum is below ``threshold_`` or (with ``band_checks``) its
    bands are narrower than those of every training spectrum. See
    :mod:`raman_sk.domain` for why both are needed.

    Parameters
    ----------
    quantile : float, default=0.01
        The threshold is this quantile of the training spectra's similarity to
        their nearest *other-group* training spectrum (leave-one-group-out), so
        that about this fraction of genuine, unseen molecules would be flagged.
    margin : float, default=0.05
        Subtracted from that quantile to leave room for instrument differences.
    threshold : float or None, default=None
        Fixed threshold; overrides ``quantile``/``margin`` when given.
    band_checks : bool, default=True
        Also flag spectra whose effective width or median peak FWHM (see
        :func:`band_widths`) is below the smallest training value divided by
        ``width_margin``.
    width_margin : float, default=1.1
        Factor (>= 1) of tolerance on the band widths.

    Attributes
    ----------
    reference_ : ndarray of shape (n_reference, n_points)
        Training spectra on the network's input grid.
    threshold_ : float
        Correlation below which a spectrum is out of domain.
    loo_similarity_ : ndarray of shape (n_reference,)
        Leave-one-group-out nearest similarity of each training spectrum.
    min_effective_width_, min_peak_fwhm_ : float or None
        Band-width limits in grid points (None without ``band_checks``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> base = np.sin(np.linspace(0, 6, 50))
    >>> X = base + 0.05 * rng.normal(size=(20, 50))
    >>> checker = NearestSpectrumChecker().fit(X)
    >>> bool(checker.predict(np.cos(np.linspace(0, 40, 50))[None])[0])
    True
    >>> bool(checker.predict(X[:1])[0])
    False
    """

    def __init__(
        self,
        quantile=0.01,
        margin=0.05,
        threshold=None,
        band_checks=True,
        width_margin=1.1,
    ):
        self.quantile = quantile
        self.margin = margin
        self.threshold = threshold
        self.band_checks = band_checks
        self.width_margin = width_margin

    def fit(self, X, y=None, groups=None):
        """Store the reference spectra and learn the thresholds.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_points)
            Training spectra on the network's input grid.
        y : ignored
            Not used.
        groups : array-like of shape (n_samples,), default=None
            Molecule of each spectrum; replicates of the same molecule are
            excluded when computing each spectrum's nearest neighbour. Default:
            every spectrum is its own group.

        Returns
        -------
        self : NearestSpectrumChecker
        """
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        if not 0 <= float(self.quantile) <= 1:
            raise ValueError(f"quantile must be in [0, 1], got {self.quantile!r}.")
        if not float(self.width_margin) >= 1:
            raise ValueError(f"width_margin must be >= 1, got {self.width_margin!r}.")
        groups = np.arange(X.shape[0]) if groups is None else np.asarray(groups)
        if groups.shape[0] != X.shape[0]:
            raise ValueError(
                f"groups has {groups.shape[0]} entries but X has {X.shape[0]} rows."
            )
        Z = _standardise(X)
        sim = Z @ Z.T
        sim[groups[:, None] == groups[None, :]] = -np.inf
        loo = sim.max(axis=1)
        loo[~np.isfinite(loo)] = 1.0  # a single group: nothing else to compare
        self.reference_ = X.copy()
        self.loo_similarity_ = loo
        if self.threshold is not None:
            self.threshold_ = float(self.threshold)
        else:
            self.threshold_ = float(np.quantile(loo, self.quantile) - self.margin)
        self.min_effective_width_ = self.min_peak_fwhm_ = None
        if self.band_checks:
            width, fwhm = band_widths(X)
            factor = float(self.width_margin)
            self.min_effective_width_ = float(width.min() / factor)
            if np.isfinite(fwhm).any():
                self.min_peak_fwhm_ = float(np.nanmin(fwhm) / factor)
        return self

    def score_samples(self, X) -> np.ndarray:
        """Similarity of each spectrum to its nearest training spectrum."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return nearest_similarity(X, self.reference_)[0]

    def check(self, X) -> pd.DataFrame:
        """Every statistic behind the decision, one row per spectrum.

        Returns
        -------
        pandas.DataFrame
            Columns ``similarity``, ``nearest`` (row of ``reference_``),
            ``effective_width`` and ``peak_fwhm`` (grid points; NaN without
            ``band_checks``), ``out_of_domain`` and ``reason`` (empty when in
            domain, else which limits were crossed, e.g. ``"similarity 0.12 <
            0.16; effective width 13 < 47 points"``).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        sim, nearest = nearest_similarity(X, self.reference_)
        n = X.shape[0]
        width = np.full(n, np.nan)
        fwhm = np.full(n, np.nan)
        limits = [("similarity", sim, self.threshold_, "{:.2f} < {:.2f}")]
        if getattr(self, "min_effective_width_", None) is not None:
            width, fwhm = band_widths(X)
            unit = "{:.0f} < {:.0f} points"
            limits.append(("effective width", width, self.min_effective_width_, unit))
            if self.min_peak_fwhm_ is not None:
                unit = "{:.1f} < {:.1f} points"
                limits.append(("peak FWHM", fwhm, self.min_peak_fwhm_, unit))
        reasons = [[] for _ in range(n)]
        flagged = np.zeros(n, dtype=bool)
        for name, values, limit, fmt in limits:
            below = values < limit  # NaN (no prominent peak) is never below
            flagged |= below
            for i in np.flatnonzero(below):
                reasons[i].append(f"{name} {fmt.format(values[i], limit)}")
        return pd.DataFrame(
            {
                "similarity": sim,
                "nearest": nearest,
                "effective_width": width,
                "peak_fwhm": fwhm,
                "out_of_domain": flagged,
                "reason": ["; ".join(r) for r in reasons],
            }
        )

    def predict(self, X) -> np.ndarray:
        """Flag out-of-domain spectra (True where any limit is crossed)."""
        return self.check(X)["out_of_domain"].to_numpy()


def save_domain_checker(checker, directory, *, wavenumbers=None) -> Path:
    """Write a fitted checker as ``domain.json`` + ``domain.npz`` (no pickle).

    The same format as every other saved estimator of raman_sk (see
    :mod:`raman_sk.persistence`).

    Parameters
    ----------
    checker : NearestSpectrumChecker
        Fitted checker.
    directory : str or path-like
        Existing directory (e.g. a model directory written by
        :func:`raman_sk.save_pipeline`); both files are written atomically.
    wavenumbers : array-like of shape (n_points,), default=None
        Grid of the reference spectra, stored alongside for the record.

    Returns
    -------
    path : pathlib.Path
        The directory.

    Examples
    --------
    >>> import tempfile
    >>> rng = np.random.default_rng(0)
    >>> checker = NearestSpectrumChecker().fit(rng.normal(size=(5, 8)))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     same = load_domain_checker(save_domain_checker(checker, tmp))
    >>> same.threshold_ == checker.threshold_
    True
    """
    check_is_fitted(checker)
    extra = None if wavenumbers is None else {"wavenumbers": wavenumbers}
    return save_estimator(checker, directory, _NAME, extra_arrays=extra)


def load_domain_checker(directory) -> NearestSpectrumChecker | None:
    """Read a checker written by :func:`save_domain_checker`.

    Parameters
    ----------
    directory : str or path-like
        Directory holding ``domain.npz`` and ``domain.json``.

    Returns
    -------
    NearestSpectrumChecker or None
        The fitted checker; None when neither file is there (a model saved
        without one).

    Raises
    ------
    FileNotFoundError
        If only one of the two files is there.
    ValueError
        If the files are not a checker or are inconsistent.
    """
    directory = Path(directory)
    npz, cfg = directory / DOMAIN_ARRAYS, directory / DOMAIN_CONFIG
    if not npz.is_file() and not cfg.is_file():
        return None
    for path in (npz, cfg):
        if not path.is_file():
            raise FileNotFoundError(
                f"{str(directory)!r} holds only part of the out-of-domain checker: "
                f"{path.name} is missing (expected {DOMAIN_ARRAYS} and "
                f"{DOMAIN_CONFIG})."
            )
    try:
        config = json.loads(cfg.read_text(encoding="utf-8"))
        if isinstance(config, dict) and config.get("format") == _FORMAT_V0:
            checker = _load_v0(config, npz)
        else:
            checker = load_estimator(directory, _NAME, config=config)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"cannot read the out-of-domain checker in {str(directory)!r}: {exc}"
        ) from exc
    if not isinstance(checker, NearestSpectrumChecker):
        raise ValueError(f"{cfg} does not hold a NearestSpectrumChecker.")
    ref, loo = checker.reference_, checker.loo_similarity_
    if ref.ndim != 2 or loo.shape != (ref.shape[0],):
        raise ValueError(
            f"{npz} is inconsistent: reference of shape {ref.shape} and "
            f"loo_similarity of shape {loo.shape}."
        )
    for key in ("min_effective_width_", "min_peak_fwhm_"):
        value = getattr(checker, key, None)
        if value is not None and not isinstance(value, (int, float)):
            raise ValueError(f"{cfg}: {key} must be a number or null, got {value!r}.")
        setattr(checker, key, value if checker.band_checks else None)
    checker.n_features_in_ = int(ref.shape[1])
    return checker


def _load_v0(config: dict, npz: Path) -> NearestSpectrumChecker:
    """Read the checker format of raman_sk 0.1 (its own JSON + NPZ layout)."""
    with np.load(npz, allow_pickle=False) as data:
        reference = np.asarray(data["reference"], dtype=np.float64)
        loo = np.asarray(data["loo_similarity"], dtype=np.float64)
    params = dict(config["params"])
    params.setdefault("band_checks", False)  # the format had no band checks at first
    checker = NearestSpectrumChecker(**params)
    checker.reference_ = reference
    checker.loo_similarity_ = loo
    checker.threshold_ = float(config["threshold_"])
    checker.min_effective_width_ = config.get("min_effective_width_")
    checker.min_peak_fwhm_ = config.get("min_peak_fwhm_")
    return checker
