"""Cropping spectra to a wavenumber range."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils.validation import check_is_fitted

from raman_sk.preprocessing._base import (
    SpectraTransformer,
    axis_from_input,
    validate_spectra,
)
from raman_sk.utils import format_wavenumber
from raman_sk.utils._sklearn_compat import Interval

__all__ = ["WavenumberCropper", "crop_spectra"]

_NO_AXIS = (
    "{owner} needs the wavenumber axis of X: give wavenumbers=axis, or a pandas "
    "DataFrame whose column names are the wavenumbers (e.g. from "
    "WavenumberResampler().set_output(transform='pandas'))."
)


def _support(axis, low, high) -> np.ndarray:
    keep = np.ones(axis.shape[0], dtype=bool)
    if low is not None:
        keep &= axis >= low
    if high is not None:
        keep &= axis <= high
    if not keep.any():
        raise ValueError(
            f"no wavenumber of X lies in [{low}, {high}]; X covers "
            f"{axis.min():g}-{axis.max():g} cm-1."
        )
    return keep


def crop_spectra(
    X, wavenumbers=None, low: float | None = None, high: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the points whose wavenumber lies in ``[low, high]``.

    Parameters
    ----------
    X : array-like of shape (n_spectra, n_points)
        Spectra. Never modified.
    wavenumbers : array-like of shape (n_points,), default=None
        The axis; if None, the numeric column names of a DataFrame ``X``.
    low, high : float or None, default=None
        Inclusive bounds in cm-1; None leaves that side open.

    Returns
    -------
    X_new : ndarray of shape (n_spectra, n_kept), dtype float64
        The kept columns, in their input order (a new array).
    wavenumbers_new : ndarray of shape (n_kept,)
        Their wavenumbers.

    Raises
    ------
    ValueError
        If there is no axis, ``low > high``, or no point lies in the range.

    See Also
    --------
    WavenumberCropper : The same as a scikit-learn transformer.

    Examples
    --------
    >>> from raman_sk.preprocessing import crop_spectra
    >>> X_new, w_new = crop_spectra([[1.0, 2.0, 3.0, 4.0]], [400, 500, 600, 700],
    ...                             low=450, high=600)
    >>> X_new, w_new
    (array([[2., 3.]]), array([500., 600.]))
    """
    step = WavenumberCropper(low, high, wavenumbers=wavenumbers)
    options = step._check_params(caller="crop_spectra")
    Xv = validate_spectra(X)
    axis = axis_from_input(X, wavenumbers, Xv.shape[1])
    if axis is None:
        raise ValueError(_NO_AXIS.format(owner="crop_spectra"))
    keep = _support(axis, **options)
    return Xv[:, keep], axis[keep]


class WavenumberCropper(SpectraTransformer):
    """Keep the points of each spectrum whose wavenumber lies in ``[low, high]``.

    The axis comes from ``wavenumbers`` or from numeric DataFrame column names
    (``WavenumberResampler().set_output(transform="pandas")`` gives them).
    ``get_feature_names_out`` gives the kept columns' names, so a pandas
    Pipeline keeps wavenumber columns. See :func:`crop_spectra`.

    Parameters
    ----------
    low, high : float or None, default=None
        Inclusive bounds in cm-1; None leaves that side open.
    wavenumbers : array-like of shape (n_points,), default=None
        The axis of X, if X is not a DataFrame with wavenumber columns.

    Attributes
    ----------
    wavenumbers_in_ : ndarray of shape (n_features_in_,)
        The input axis.
    support_ : ndarray of shape (n_features_in_,), dtype bool
        Which input points are kept.
    wavenumbers_out_ : ndarray of shape (n_kept,)
        The kept wavenumbers.
    n_features_in_ : int
        Number of points per spectrum seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when fitted on a DataFrame with string column names.

    See Also
    --------
    crop_spectra : The function doing the work.

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk.preprocessing import WavenumberCropper
    >>> w = np.arange(450.0, 1801.0)
    >>> crop = WavenumberCropper(600, 1700.5, wavenumbers=w).fit(np.ones((2, 1351)))
    >>> crop.transform(np.ones((2, 1351))).shape, crop.get_feature_names_out()[[0, -1]]
    ((2, 1101), array(['600', '1700'], dtype=object))
    """

    # [-inf, inf]: an infinite bound is an open side, like None
    _parameter_constraints: dict = {
        "low": [Interval(Real, None, None, closed="both"), None],
        "high": [Interval(Real, None, None, closed="both"), None],
        "wavenumbers": ["array-like", None],
    }

    def __init__(self, low=None, high=None, *, wavenumbers=None):
        self.low = low
        self.high = high
        self.wavenumbers = wavenumbers

    def _options(self) -> dict:
        low = None if self.low is None else float(self.low)
        high = None if self.high is None else float(self.high)
        if low is not None and high is not None and low > high:
            raise ValueError(f"low must be <= high; got low={low!r}, high={high!r}.")
        return {"low": low, "high": high}

    def _fit(self, X_raw, X, options):
        axis = axis_from_input(X_raw, self.wavenumbers, X.shape[1])
        if axis is None:
            raise ValueError(_NO_AXIS.format(owner="WavenumberCropper"))
        self.support_ = _support(axis, **options)
        self.wavenumbers_in_ = axis
        self.wavenumbers_out_ = axis[self.support_]

    def _transform(self, X, options):
        return X[:, self.support_]

    def get_feature_names_out(self, input_features=None):
        """Names of the kept columns.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input names; default: ``feature_names_in_`` if fitted on a
            DataFrame with string names, else the wavenumbers formatted like
            :meth:`WavenumberResampler.get_feature_names_out`.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The names of the kept columns.
        """
        check_is_fitted(self)
        if input_features is None:
            names = getattr(self, "feature_names_in_", None)
            if names is None:
                return np.asarray(
                    [format_wavenumber(w) for w in self.wavenumbers_out_],
                    dtype=object,
                )
        else:
            names = np.asarray(input_features, dtype=object)
            known = getattr(self, "feature_names_in_", None)
            if known is not None and not np.array_equal(names, known):
                raise ValueError("input_features is not equal to feature_names_in_")
            if names.shape != (self.n_features_in_,):
                raise ValueError(
                    f"input_features should have length equal to number of "
                    f"features ({self.n_features_in_}), got {names.shape[0]}"
                )
        return np.asarray(names, dtype=object)[self.support_]
