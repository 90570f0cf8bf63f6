"""Per-spectrum intensity normalisation: min-max, L2 (vector), SNV, area."""

from __future__ import annotations

import warnings

import numpy as np

from raman_sk.preprocessing._base import (
    SpectraTransformer,
    check_finite_result,
    extreme_row_scales,
    validate_spectra,
)
from raman_sk.utils._sklearn_compat import StrOptions

__all__ = ["SpectrumNormalizer", "normalize_spectra"]

_METHODS = ("minmax", "l2", "snv", "area")


def normalize_spectra(X, method: str = "minmax") -> np.ndarray:
    """Normalise each spectrum (row) on its own.

    - ``"minmax"``: ``(x - min) / (max - min)``, into [0, 1] (what the bundled
      database used);
    - ``"l2"``: ``x / ||x||_2`` (vector normalisation);
    - ``"snv"``: ``(x - mean) / std`` (standard normal variate, population std);
    - ``"area"``: ``x / sum(|x|)`` (unit area for a unit grid step; L1 norm).

    A spectrum whose divisor is zero (a constant spectrum for minmax/snv, an
    all-zero spectrum for l2/area) cannot be normalised: it is mapped to zeros
    and a ``RuntimeWarning`` names the rows; the result never holds NaN.

    Parameters
    ----------
    X : array-like of shape (n_spectra, n_points)
        Spectra. Never modified.
    method : {"minmax", "l2", "snv", "area"}, default="minmax"
        The normalisation.

    Returns
    -------
    X_new : ndarray of shape (n_spectra, n_points), dtype float64
        Normalised spectra (a new array).

    See Also
    --------
    SpectrumNormalizer : The same as a scikit-learn transformer.

    Examples
    --------
    >>> from raman_sk.preprocessing import normalize_spectra
    >>> normalize_spectra([[1.0, 3.0, 5.0]])
    array([[0. , 0.5, 1. ]])
    >>> normalize_spectra([[3.0, 4.0]], method="l2")
    array([[0.6, 0.8]])
    >>> normalize_spectra([[1.0, 3.0]], method="snv")
    array([[-1.,  1.]])
    >>> normalize_spectra([[1.0, -3.0]], method="area")
    array([[ 0.25, -0.75]])
    """
    options = SpectrumNormalizer(method)._check_params(caller="normalize_spectra")
    X = validate_spectra(X)
    return _normalize(X, **options)


def _normalize(X: np.ndarray, method: str) -> np.ndarray:
    # every method is invariant to a positive scale of the row: rows of
    # extreme magnitude are scaled to 1 first so that nothing overflows
    X = X / extreme_row_scales(X)
    if method == "minmax":
        shift = X.min(axis=1, keepdims=True)
        scale = X.max(axis=1, keepdims=True) - shift
        what = "constant"
    elif method == "snv":
        shift = X.mean(axis=1, keepdims=True)
        scale = X.std(axis=1, keepdims=True)
        what = "constant"
    elif method == "l2":
        shift = np.zeros((X.shape[0], 1))
        scale = np.sqrt(np.einsum("ij,ij->i", X, X))[:, None]
        what = "all zero"
    else:
        shift = np.zeros((X.shape[0], 1))
        scale = np.abs(X).sum(axis=1, keepdims=True)
        what = "all zero"
    bad = scale[:, 0] == 0
    if bad.any():
        rows = np.flatnonzero(bad)
        warnings.warn(
            f"{rows.size} spectrum(s) are {what} (rows {rows[:10].tolist()}) and "
            f"cannot be normalised with method={method!r}; they were mapped to "
            "zeros.",
            RuntimeWarning,
            stacklevel=3,
        )
        scale = np.where(bad[:, None], 1.0, scale)
    out = (X - shift) / scale
    out[bad] = 0.0
    return check_finite_result(out, f"normalisation (method={method!r})")


class SpectrumNormalizer(SpectraTransformer):
    """Normalise each spectrum on its own (min-max, L2, SNV or area).

    Stateless: ``fit`` only checks the input. See :func:`normalize_spectra`
    for the formulas; constant (or all-zero) spectra become zeros with a
    ``RuntimeWarning`` instead of NaN.

    Parameters
    ----------
    method : {"minmax", "l2", "snv", "area"}, default="minmax"
        The normalisation; min-max is what the bundled database used.

    Attributes
    ----------
    n_features_in_ : int
        Number of points per spectrum seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when fitted on a DataFrame with string column names.

    See Also
    --------
    normalize_spectra : The function doing the work.

    Examples
    --------
    >>> from raman_sk.preprocessing import SpectrumNormalizer
    >>> SpectrumNormalizer().fit_transform([[2.0, 4.0, 6.0], [0.0, 10.0, 5.0]])
    array([[0. , 0.5, 1. ],
           [0. , 1. , 0.5]])
    """

    _parameter_constraints: dict = {"method": [StrOptions(set(_METHODS))]}

    def __init__(self, method="minmax"):
        self.method = method

    def _options(self) -> dict:
        return {"method": self.method}

    def _transform(self, X, options):
        return _normalize(X, **options)
