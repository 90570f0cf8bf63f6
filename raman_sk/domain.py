"""Out-of-domain check: similarity of a spectrum to anything seen in training.

A classifier trained on six biomolecule classes answers confidently for any input,
polystyrene or silicon included. :class:`NearestSpectrumChecker` keeps the training
spectra (on the network's input grid) and reports, for each new spectrum, the
Pearson correlation with its nearest training spectrum; spectra below a threshold
learnt from the training set itself are flagged as out of domain.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = [
    "DOMAIN_ARRAYS",
    "DOMAIN_CONFIG",
    "NearestSpectrumChecker",
    "load_domain_checker",
    "nearest_similarity",
    "save_domain_checker",
]

#: File names of a saved checker inside a model directory.
DOMAIN_ARRAYS = "domain.npz"
DOMAIN_CONFIG = "domain.json"
_FORMAT = "raman_sk.domain/1"


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


class NearestSpectrumChecker(BaseEstimator):
    """Flag spectra unlike anything in the training set.

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

    Attributes
    ----------
    reference_ : ndarray of shape (n_reference, n_points)
        Training spectra on the network's input grid.
    threshold_ : float
        Correlation below which a spectrum is out of domain.
    loo_similarity_ : ndarray of shape (n_reference,)
        Leave-one-group-out nearest similarity of each training spectrum.

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

    def __init__(self, quantile=0.01, margin=0.05, threshold=None):
        self.quantile = quantile
        self.margin = margin
        self.threshold = threshold

    def fit(self, X, y=None, groups=None):
        """Store the reference spectra and learn the threshold.

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
        return self

    def score_samples(self, X) -> np.ndarray:
        """Similarity of each spectrum to its nearest training spectrum."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return nearest_similarity(X, self.reference_)[0]

    def predict(self, X) -> np.ndarray:
        """Flag out-of-domain spectra (True where similarity < ``threshold_``)."""
        return self.score_samples(X) < self.threshold_


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_domain_checker(checker, directory, *, wavenumbers=None) -> Path:
    """Write a fitted checker as ``domain.npz`` + ``domain.json`` (no pickle).

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
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{str(directory)!r} is not an existing directory.")
    arrays = {
        "reference": np.asarray(checker.reference_, dtype=np.float64),
        "loo_similarity": np.asarray(checker.loo_similarity_, dtype=np.float64),
    }
    if wavenumbers is not None:
        arrays["wavenumbers"] = np.asarray(wavenumbers, dtype=np.float64)
    config = {
        "format": _FORMAT,
        "class": "NearestSpectrumChecker",
        "params": {
            "quantile": float(checker.quantile),
            "margin": float(checker.margin),
            "threshold": None
            if checker.threshold is None
            else float(checker.threshold),
        },
        "threshold_": float(checker.threshold_),
        "n_reference": int(arrays["reference"].shape[0]),
        "n_points": int(arrays["reference"].shape[1]),
    }
    _atomic_write(directory / DOMAIN_ARRAYS, lambda h: np.savez(h, **arrays))
    _atomic_write(
        directory / DOMAIN_CONFIG,
        lambda h: h.write((json.dumps(config, indent=2) + "\n").encode("utf-8")),
    )
    return directory


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
        If the files are not a checker of this format or are inconsistent.
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
        with np.load(npz, allow_pickle=False) as data:
            reference = np.asarray(data["reference"], dtype=np.float64)
            loo = np.asarray(data["loo_similarity"], dtype=np.float64)
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(
            f"cannot read the out-of-domain checker in {str(directory)!r}: {exc}"
        ) from exc
    if not isinstance(config, dict) or config.get("format") != _FORMAT:
        raise ValueError(
            f"{cfg} is not a raman_sk out-of-domain checker (format "
            f"{config.get('format') if isinstance(config, dict) else None!r}, "
            f"expected {_FORMAT!r})."
        )
    if reference.ndim != 2 or loo.shape != (reference.shape[0],):
        raise ValueError(
            f"{npz} is inconsistent: reference of shape {reference.shape} and "
            f"loo_similarity of shape {loo.shape}."
        )
    checker = NearestSpectrumChecker(**config["params"])
    checker.reference_ = reference
    checker.loo_similarity_ = loo
    checker.threshold_ = float(config["threshold_"])
    checker.n_features_in_ = int(reference.shape[1])
    return checker
