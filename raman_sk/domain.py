"""Out-of-domain check: whether a spectrum is like anything seen in training.

A classifier trained on six biomolecule classes answers confidently for any input,
polystyrene or silicon included. :class:`NearestSpectrumChecker` keeps the training
spectra (on the network's input grid) and flags a new spectrum when

* its Pearson correlation with the nearest training spectrum is below a threshold
  learnt from the training set itself (leave-one-molecule-out), or
* its bands are narrower or fewer than any training spectrum's (band-shape
  checks): the *effective width* (area over height, in grid points), the median
  full width at half maximum of its ``n_bands`` most prominent peaks, the full
  width at half maximum of its highest peak or the number of its prominent
  peaks is below the smallest training value divided by ``width_margin`` (the
  highest peak's width only when the library residual below leaves more than
  half of that peak unexplained), or
* (with ``residual_check``) the library cannot explain it: a non-negative mix of
  its ``residual_neighbors`` most similar training spectra plus a smooth
  baseline leaves more of its strongest band unexplained than
  ``residual_limit_`` (see :func:`library_residual`).

Correlation alone misses materials whose few sharp lines sit on a training
molecule's strongest band (calcite's 1086 cm-1 line, silicon's 520 cm-1 line,
polystyrene's 1001 cm-1 ring mode on L-phenylalanine's 1003 cm-1): their nearest
correlation can be as high as that of genuine but unseen molecules, while their
spectra are far sparser than any training spectrum.
The library residual asks a different question: not "which one spectrum is
closest" but "can a few close spectra together make this one". An unseen
molecule is partly made of bands its neighbours share; a line no biomolecule
has (an inorganic material, a lamp or cosmic-ray line on top of a genuine
spectrum) is left over whole.

Fitted with ``model=`` a :class:`~raman_sk.classifier.RamanCNNCommittee` (the
one that classifies), the checker adds the network's own evidence (see
:mod:`raman_sk.ood`): the distance to the ``n_neighbors``-th nearest training
spectrum in the members' normalised penultimate embedding and the energy
score, and (``combine``) Fisher's combination of every score's in-domain
p-value. These limits and the library residual's are upper quantiles of
the grouped out-of-fold database spectra (each scored by the member that never
saw its molecule, against the other folds' spectra), one common rate for all,
the highest at which the flag fires on at most ``target_rate`` of them
(``database_flag_rate_``).
"""

from __future__ import annotations

import json
import numbers
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from raman_sk import ood
from raman_sk._evidence import (
    _band_stats,
    _standardise,
    band_count,
    band_widths,
    library_residual,
    nearest_similarity,
    strongest_band_fwhm,
)
from raman_sk._limits import (
    _MODEL_LIMITS,
    _SHARED_LIMITS,
    _check_input_limits,
    _check_model_space,
    _combined,
    _exceedance,
    _other_group_min,
    _shared_limits,
    _unexplained,
)
from raman_sk.persistence import load_estimator, save_estimator

__all__ = [
    "DOMAIN_ARRAYS",
    "DOMAIN_CONFIG",
    "MODEL_SPACE_MISSING",
    "NearestSpectrumChecker",
    "band_count",
    "band_widths",
    "library_residual",
    "load_domain_checker",
    "nearest_similarity",
    "save_domain_checker",
    "strongest_band_fwhm",
]

#: File names of a saved checker inside a model directory.
DOMAIN_ARRAYS = "domain.npz"
DOMAIN_CONFIG = "domain.json"
_NAME = "domain"
_FORMAT_V0 = "raman_sk.domain/1"

#: ``evidence`` of a checker saved without the model-space part.
MODEL_SPACE_MISSING = (
    "input space only: the model was saved without the model-space check "
    "(embedding distance, energy); refit it with a current raman_sk to add it"
)
#: Peaks that count in the band widths: prominence over the range (band_widths').
_PROMINENCE = 0.1
#: Names of the band statistics (``_band_stats`` order) in reasons and centres.
_WIDTH_NAMES = ("effective width", "peak FWHM", "strongest band FWHM", "band count")


class NearestSpectrumChecker(BaseEstimator):
    """Flag spectra unlike anything in the training set.

    A spectrum is out of domain when its correlation with the nearest
    training spectrum is below ``threshold_``, (with ``band_checks``) its
    bands are narrower than those of every training spectrum or (with
    ``residual_check``) its library residual is above ``residual_limit_``.
    See :mod:`raman_sk.domain` for why each is needed.

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
        Also flag spectra whose effective width, median peak FWHM (see
        :func:`band_widths`, over the ``n_bands`` most prominent peaks) or
        highest peak's FWHM (see
        :func:`strongest_band_fwhm`; with ``residual_check`` only when the
        library residual is above 0.5) or number of prominent peaks (see
        :func:`band_count`) is below the smallest training value divided by
        ``width_margin``.
    width_margin : float, default=1.1
        Factor (>= 1) of tolerance on the band widths and count.
    n_bands : int or None, default=5
        Peaks whose median FWHM is compared: the spectrum's ``n_bands`` most
        prominent (None: every prominent peak). Noise adds weak, narrow
        maxima; counting them all would call a noisy biomolecule spectrum's
        bands narrow.
    target_rate : float, default=0.05
        With ``model``: the checker's flag fires on at most this fraction of
        the out-of-fold training spectra. What the fixed input-space limits
        (similarity, band widths and count; leave-one-molecule-out) flag is
        taken first; the library residual, embedding distance, energy and
        (``combine``) combined limits then share the rest: each is exceeded by
        the same fraction of the out-of-fold spectra, the highest fraction
        that keeps the checker's flag within ``target_rate`` (``limit_rate_``).
    n_neighbors : int, default=5
        Neighbour whose embedding distance counts.
    residual_check : bool, default=True
        Also flag spectra the library cannot explain (see
        :func:`library_residual`). Without ``model`` its limit is the upper
        ``quantile`` of the leave-one-molecule-out residuals.
    residual_neighbors : int, default=5
        Reference spectra in each library fit.
    residual_degree : int, default=3
        Highest degree of the library fit's smooth baseline.
    combine : bool, default=True
        With ``model``: also flag spectra unusual in several ways at once, by
        Fisher's combination of every score's in-domain p-value (the share of
        out-of-fold spectra at least as unfamiliar), a fourth shared limit.

    Attributes
    ----------
    reference_ : ndarray of shape (n_reference, n_points)
        Training spectra on the network's input grid.
    threshold_ : float
        Correlation below which a spectrum is out of domain.
    loo_similarity_ : ndarray of shape (n_reference,)
        Leave-one-group-out nearest similarity of each training spectrum.
    min_effective_width_, min_peak_fwhm_, min_strongest_fwhm_ : float or None
        Band-width limits in grid points (None without ``band_checks``; the
        last also None for a checker saved before it existed).
    min_band_count_ : float or None
        Limit on the number of prominent peaks (None without ``band_checks``
        or for a checker saved before it existed).
    loo_residual_ : ndarray of shape (n_reference,)
        Library residual of each training spectrum explained by the other
        groups' spectra (with ``residual_check``).
    residual_limit_ : float or None
        Library residual above which a spectrum is out of domain (None
        without ``residual_check``).
    model_space_ : bool
        Whether the model-space evidence was fitted (``model`` given).
    embeddings_ : ndarray of shape (n_members, n_reference, hidden)
        Each member's normalised embedding of every reference spectrum.
    fold_ : ndarray of shape (n_reference,)
        Fold in which each reference spectrum was held out.
    oof_residual_, oof_embedding_distance_, oof_energy_ : ndarray of shape \
(n_reference,)
        Out-of-fold scores (the residual against the other folds' spectra):
        the in-domain distributions of the limits.
    embedding_distance_limit_, energy_limit_ : float
        Limits above which a spectrum is out of domain.
    limit_rate_ : float
        Largest fraction of the out-of-fold spectra above each shared limit.
    input_flag_rate_, database_flag_rate_ : float
        Fraction of out-of-fold reference spectra flagged by the fixed
        input-space limits alone and by the checker's flag.
    database_flags_ : ndarray of bool, shape (n_reference,)
        The checker's flag on each out-of-fold reference spectrum (its mean is
        ``database_flag_rate_``).

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
        n_bands=5,
        target_rate=0.05,
        n_neighbors=5,
        residual_check=True,
        residual_neighbors=5,
        residual_degree=3,
        combine=True,
    ):
        self.quantile = quantile
        self.margin = margin
        self.threshold = threshold
        self.band_checks = band_checks
        self.width_margin = width_margin
        self.n_bands = n_bands
        self.target_rate = target_rate
        self.n_neighbors = n_neighbors
        self.residual_check = residual_check
        self.residual_neighbors = residual_neighbors
        self.residual_degree = residual_degree
        self.combine = combine

    def fit(self, X, y=None, groups=None, model=None):
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
        model : RamanCNNCommittee, default=None
            Committee fitted on these spectra (its ``oof_fold_`` in the rows
            of ``X``, grouped by ``groups``): adds the model-space evidence.

        Returns
        -------
        self : NearestSpectrumChecker
        """
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        if not 0 <= float(self.quantile) <= 1:
            raise ValueError(f"quantile must be in [0, 1], got {self.quantile!r}.")
        if not float(self.width_margin) >= 1:
            raise ValueError(f"width_margin must be >= 1, got {self.width_margin!r}.")
        if not isinstance(self.combine, (bool, np.bool_)):
            raise ValueError(f"combine must be True or False, got {self.combine!r}.")
        if self.n_bands is not None and not (
            isinstance(self.n_bands, numbers.Integral)
            and not isinstance(self.n_bands, bool) and self.n_bands >= 1
        ):
            raise ValueError(
                f"n_bands must be an integer >= 1 or None, got {self.n_bands!r}."
            )
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
        for stale in ("_centres_cache", "_widths_cache"):  # a refit starts afresh
            self.__dict__.pop(stale, None)
        self.loo_similarity_ = loo
        if self.threshold is not None:
            self.threshold_ = float(self.threshold)
        else:
            self.threshold_ = float(np.quantile(loo, self.quantile) - self.margin)
        self.min_effective_width_ = self.min_peak_fwhm_ = None
        self.min_strongest_fwhm_ = self.min_band_count_ = None
        if self.band_checks:
            width, fwhm, strongest, count = self._reference_widths()
            factor = float(self.width_margin)
            self.min_effective_width_ = float(width.min() / factor)
            self.min_band_count_ = float(count.min() / factor)
            if np.isfinite(fwhm).any():
                self.min_peak_fwhm_ = float(np.nanmin(fwhm) / factor)
                self.min_strongest_fwhm_ = float(np.nanmin(strongest) / factor)
        self.residual_limit_ = None
        if self.residual_check:
            self.loo_residual_ = self._residual(X, X, groups[:, None] == groups[None])
            self.residual_limit_ = ood.quantile_limit(
                np.nan_to_num(self.loo_residual_, nan=np.inf), float(self.quantile)
            )
        self.model_space_ = False
        if model is not None:
            self._fit_model_space(X, groups, model)
        return self

    def _fit_model_space(self, X, groups, model):
        """Set the model-space limits on out-of-fold scores (see the class doc)."""
        if not 0 <= float(self.target_rate) < 1:
            raise ValueError(
                f"target_rate must be in [0, 1), got {self.target_rate!r}."
            )
        members = getattr(model, "estimators_", None)
        fold = getattr(model, "oof_fold_", None)
        if members is None or fold is None or len(fold) != X.shape[0]:
            raise ValueError(
                "model must be a committee fitted on the same spectra as X "
                "(estimators_ and one oof_fold_ entry per row); got "
                f"{type(model).__name__}."
            )
        fold = np.asarray(fold, dtype=np.int64)
        emb = np.stack([ood.member_outputs(m, X)[0] for m in members])
        scores = {name: np.empty(X.shape[0]) for name in _MODEL_LIMITS}
        for k in np.unique(fold):
            rows = fold == k
            s = ood.committee_scores(
                members, X[rows], emb, fold, k=self.n_neighbors, use=[int(k)]
            )
            for name in _MODEL_LIMITS:
                scores[name][rows] = s[name]
        if self.residual_check:
            scores["residual"] = self._residual(X, X, fold[:, None] == fold[None])
        flag = self.loo_similarity_ < self.threshold_
        if self.band_checks:
            factor = float(self.width_margin)
            width, fwhm, strongest, count = self._reference_widths()
            for values in (width, fwhm, count):
                flag |= values < _other_group_min(values, groups, factor)
            flag |= (strongest < _other_group_min(strongest, groups, factor)) & \
                _unexplained(scores.get("residual"))[0]
        self.input_flag_rate_ = float(flag.mean())
        # an undefined score (no band at all) counts as past every limit
        scores = {k: np.nan_to_num(v, nan=np.inf) for k, v in scores.items()}
        if self.combine:
            own = self._components(scores)
            scores["combined"] = _combined(own, own, leave_one_out=True)
        self.limit_rate_, limits = _shared_limits(scores, flag, float(self.target_rate))
        for name, limit in limits.items():
            setattr(self, f"{name}_limit_", limit)
            setattr(self, f"oof_{name}_", scores[name])
            flag |= scores[name] > limit
        self.database_flags_ = flag
        self.database_flag_rate_ = float(flag.mean())
        self.embeddings_ = emb
        self.fold_ = fold
        self.model_space_ = True

    def _components(self, shared) -> dict:
        """In-domain (out-of-fold) values of every score of the combined evidence."""
        out = {"similarity": self.loo_similarity_, **shared}
        if self.band_checks:
            width, fwhm, _, count = self._reference_widths()
            out.update(effective_width=width, peak_fwhm=fwhm, band_count=count)
        return out

    def _residual(self, X, reference, exclude=None):
        return library_residual(
            X, reference, n_neighbors=int(self.residual_neighbors),
            degree=int(self.residual_degree), exclude=exclude,
        )

    def score_samples(self, X) -> np.ndarray:
        """Similarity of each spectrum to its nearest training spectrum."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return nearest_similarity(X, self.reference_)[0]

    def _reference_widths(self):
        """Band-width statistics of the reference spectra, computed once."""
        cached = self.__dict__.get("_widths_cache")
        if cached is None:
            cached = _band_stats(self.reference_, _PROMINENCE, self.n_bands)
            self.__dict__["_widths_cache"] = cached
        return cached

    def _centres(self) -> dict:
        """In-domain medians of every score (the 0 of ``ood_score``)."""
        cached = self.__dict__.get("_centres_cache")
        if cached is None:
            widths = self._reference_widths()
            cached = {"similarity": float(np.median(self.loo_similarity_)),
                      "_widths": widths}
            for name, values in zip(_WIDTH_NAMES, widths, strict=True):
                finite = np.isfinite(values)
                cached[name] = float(np.median(values[finite])) if finite.any() \
                    else np.nan
            named = {n: f"oof_{n}_" for n in _SHARED_LIMITS}
            for name, attr in {**named, "combined_evidence": "oof_combined_"}.items():
                values = getattr(self, attr, None)
                if values is None and name == "residual":
                    values = getattr(self, "loo_residual_", None)
                if values is not None:
                    cached[name] = float(np.median(values))
            self.__dict__["_centres_cache"] = cached
        return cached

    def _input_limits(self, held_out_fold):
        """Return reference rows and band-width limits without a held-out fold."""
        # a checker saved before the highest-peak limit existed has none
        widths = (self.min_effective_width_, self.min_peak_fwhm_,
                  getattr(self, "min_strongest_fwhm_", None),
                  getattr(self, "min_band_count_", None))
        if held_out_fold is None:
            return np.arange(self.reference_.shape[0]), widths
        if not getattr(self, "model_space_", False):
            raise ValueError("held_out_fold needs a checker fitted with model=.")
        keep = self.fold_ != int(held_out_fold)
        factor = float(self.width_margin)
        held_out = []
        for limit, values in zip(widths, self._centres()["_widths"], strict=True):
            kept = values[keep][np.isfinite(values[keep])]
            held_out.append(None if limit is None or not kept.size
                            else float(kept.min() / factor))
        return np.flatnonzero(keep), tuple(held_out)

    def _model_scores(self, X, model, held_out_fold) -> dict:
        members = getattr(model, "estimators_", None)
        if members is None or len(members) != self.embeddings_.shape[0]:
            raise ValueError(
                f"the out-of-domain checker's model-space part belongs to a "
                f"committee of {self.embeddings_.shape[0]} members; got "
                f"{type(model).__name__} with "
                f"{len(members) if members is not None else 'no'} members."
            )
        use = None if held_out_fold is None else [int(held_out_fold)]
        return ood.committee_scores(
            members, X, self.embeddings_, self.fold_, k=self.n_neighbors, use=use
        )

    def check(self, X, model=None, *, held_out_fold=None) -> pd.DataFrame:
        """Every statistic behind the decision, one row per spectrum.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_points)
            Spectra on the network's input grid.
        model : RamanCNNCommittee, default=None
            The committee the checker was fitted with; without it (or for a
            checker fitted without one) only the input-space checks run.
        held_out_fold : int, default=None
            Score ``X`` as if its molecules were unseen: only the member that
            held out this fold, only the other folds' reference spectra and
            band widths (for evaluating the check on database molecules).

        Returns
        -------
        pandas.DataFrame
            Columns ``similarity``, ``nearest`` (row of ``reference_``),
            ``effective_width``, ``peak_fwhm``, ``strongest_fwhm`` (grid
            points) and ``band_count`` (NaN without ``band_checks``),
            ``residual`` (see :func:`library_residual`; NaN without
            ``residual_check`` or for a checker saved before it existed),
            ``embedding_distance``, ``energy`` and ``disagreement`` (NaN
            without the model-space part),
            ``ood_score`` (the largest of the scores scaled so that 0 is
            the in-domain median and 1 its limit: above 1 is out of domain),
            ``out_of_domain``, ``reason`` (empty when in domain, else which
            limits were crossed, e.g. ``"similarity 0.12 < 0.16; embedding
            distance 0.91 > 0.62"``) and ``evidence`` (which checks ran). A
            row with NaN or inf values or a flat line is out of domain with
            ``reason`` ``"bad input: ..."`` and NaN scores.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, dtype=np.float64, reset=False, ensure_all_finite=False
        )
        finite = np.isfinite(X).all(axis=1)
        X = np.where(finite[:, None], X, 0.0)
        bad = np.where(~finite, "bad input: NaN or inf values", "").astype(object)
        bad[finite & (np.ptp(X, axis=1) == 0)] = "bad input: flat spectrum"
        rows, (min_width, min_fwhm, min_strongest, min_count) = self._input_limits(
            held_out_fold)
        sim, nearest = nearest_similarity(X, self.reference_[rows])
        nearest = rows[nearest]
        n = X.shape[0]
        cols = {k: np.full(n, np.nan) for k in (
            "effective_width", "peak_fwhm", "strongest_fwhm", "band_count",
            "residual", "combined",
            "embedding_distance", "energy", "disagreement")}
        # (name, values, limit, format, low values are bad)
        limits = [("similarity", sim, self.threshold_, "{:.2f} < {:.2f}", True)]
        if min_width is not None:
            (cols["effective_width"], cols["peak_fwhm"], cols["strongest_fwhm"],
             cols["band_count"]) = _band_stats(X, _PROMINENCE, self.n_bands)
            limits.append(("effective width", cols["effective_width"], min_width,
                           "{:.0f} < {:.0f} points", True))
            if min_count is not None:
                limits.append(("band count", cols["band_count"], min_count,
                               "{:.0f} < {:.1f}", True))
            if min_fwhm is not None:
                limits.append(("peak FWHM", cols["peak_fwhm"], min_fwhm,
                               "{:.1f} < {:.1f} points", True))
        residual_limit = getattr(self, "residual_limit_", None)
        if residual_limit is not None:
            cols["residual"] = self._residual(X, self.reference_[rows])
            limits.append(("residual", cols["residual"], residual_limit,
                           "{:.2f} > {:.2f}", False))
        if min_strongest is not None:
            gate = _unexplained(cols["residual"])
            limits.append(("strongest band FWHM", cols["strongest_fwhm"],
                           min_strongest, "{:.1f} < {:.1f} points" + gate[1], True,
                           gate[0]))
        evidence = MODEL_SPACE_MISSING
        if getattr(self, "model_space_", False):
            evidence = "input space only: no model given"
            if model is not None:
                cols.update(self._model_scores(X, model, held_out_fold))
                evidence = "input and model space"
                for name in _MODEL_LIMITS:
                    limits.append((name.replace("_", " "), cols[name],
                                   getattr(self, f"{name}_limit_"),
                                   "{:.3g} > {:.3g}", False))
                if getattr(self, "combined_limit_", None) is not None:
                    ref = self._components({k: getattr(self, f"oof_{k}_")
                                            for k in _SHARED_LIMITS
                                            if hasattr(self, f"oof_{k}_")})
                    cols["combined"] = _combined({**cols, "similarity": sim}, ref)
                    limits.append(("combined evidence", cols["combined"],
                                   self.combined_limit_, "{:.1f} > {:.1f}", False))
        centres = self._centres()
        reasons = [[] for _ in range(n)]
        flagged = np.zeros(n, dtype=bool)
        score = np.full(n, -np.inf)
        for name, values, limit, fmt, low, *gate in limits:
            past = values < limit if low else values > limit  # NaN is never past
            if gate:  # the evidence counts only where its gate is open
                past &= gate[0]
            flagged |= past
            centre = centres.get(name.replace(" ", "_"), centres.get(name))
            if centre is not None and np.isfinite(centre):
                r = _exceedance(values, limit, centre, low_is_bad=low)
                score = np.fmax(score, np.where(gate[0], r, -np.inf) if gate else r)
            for i in np.flatnonzero(past):
                reasons[i].append(f"{name} {fmt.format(values[i], limit)}")
        no_band = np.isnan(cols["residual"]) & (residual_limit is not None)
        for i in np.flatnonzero(no_band):
            reasons[i].append("residual: no band above a smooth baseline")
        flagged |= no_band
        score[no_band] = np.inf
        is_bad = bad != ""
        for i in np.flatnonzero(is_bad):
            reasons[i] = [bad[i]]
        flagged |= is_bad
        score[is_bad] = np.nan
        sim = np.where(is_bad, np.nan, sim)
        for values in cols.values():
            values[is_bad] = np.nan
        return pd.DataFrame({
            "similarity": sim, "nearest": nearest, **cols, "ood_score": score,
            "out_of_domain": flagged, "reason": ["; ".join(r) for r in reasons],
            "evidence": evidence,
        })

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
            params = config.get("params", {})
            if "n_bands" not in params:
                checker.n_bands = None  # its limits were set on every peak
            checker.combine = params.get("combine", False)  # older: no combination
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
    _check_input_limits(checker, cfg, npz)
    checker.n_features_in_ = int(ref.shape[1])
    checker.model_space_ = bool(getattr(checker, "model_space_", False))
    if checker.model_space_:
        _check_model_space(checker, npz)
    return checker


def _load_v0(config: dict, npz: Path) -> NearestSpectrumChecker:
    """Read the checker format of raman_sk 0.1 (its own JSON + NPZ layout)."""
    with np.load(npz, allow_pickle=False) as data:
        reference = np.asarray(data["reference"], dtype=np.float64)
        loo = np.asarray(data["loo_similarity"], dtype=np.float64)
    params = dict(config["params"])
    params.setdefault("band_checks", False)  # the format had no band checks at first
    params.update(n_bands=None, combine=False)  # every peak counted; no combination
    checker = NearestSpectrumChecker(**params)
    checker.reference_ = reference
    checker.loo_similarity_ = loo
    checker.threshold_ = float(config["threshold_"])
    checker.min_effective_width_ = config.get("min_effective_width_")
    checker.min_peak_fwhm_ = config.get("min_peak_fwhm_")
    checker.min_strongest_fwhm_ = None  # nor the highest peak's width
    checker.min_band_count_ = None  # nor the band count
    checker.residual_limit_ = None  # the format had no library residual
    return checker
