"""Baseline (background, fluorescence) removal with pybaselines."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from pybaselines import Baseline

from raman_sk.preprocessing._base import (
    SpectraTransformer,
    axis_from_input,
    check_finite_result,
    validate_spectra,
)
from raman_sk.utils._sklearn_compat import Interval, StrOptions

__all__ = ["BaselineRemover", "remove_baseline"]

_WHITTAKER = ("airpls", "arpls", "asls")
_POLYNOMIAL = ("modpoly", "imodpoly")
_METHODS = _WHITTAKER + _POLYNOMIAL
# pybaselines' own defaults, suited to about 1000-2000 points (a 1 cm-1 grid)
DEFAULT_LAM = {"airpls": 1e6, "arpls": 1e5, "asls": 1e6}


def _baselines(X, axis, method, lam, poly_order) -> np.ndarray:
    if method in _WHITTAKER:
        kwargs, needed, why = {"lam": lam}, 3, "the second-difference penalty"
    else:
        kwargs, needed = {"poly_order": poly_order}, poly_order + 2
        why = f"a degree-{poly_order} polynomial fit"
    if X.shape[1] < needed:
        raise ValueError(
            f"baseline method {method!r} needs at least {needed} points per "
            f"spectrum for {why}; X has {X.shape[1]}."
        )
    if axis is not None:
        # the polynomial fits are invariant to an affine change of the axis and
        # the Whittaker methods only use its order: map it onto [0, 1] (after
        # dividing by its largest value, so that its span cannot overflow)
        axis = axis / np.abs(axis).max() if np.abs(axis).max() > 0 else axis
        if axis.max() > axis.min():
            axis = (axis - axis.min()) / (axis.max() - axis.min())
    fitter = Baseline(x_data=axis)
    algorithm = getattr(fitter, method)
    out = np.empty_like(X)
    for i, row in enumerate(X):
        if row.max() == row.min():  # constant: its own baseline (no iterations)
            out[i] = row
            continue
        # every method is affine-equivariant (the penalties and polynomial fits
        # reproduce constants, the weights depend on relative residuals);
        # fitting on [0, 1] keeps pybaselines' absolute tolerances meaningful
        # for 1e-30 or 1e30 intensities alike, and dividing by the peak first
        # keeps the span finite up to the largest float64
        peak = np.abs(row).max()
        r = row / peak
        low, span = r.min(), r.max() - r.min()
        scaled = algorithm((r - low) / span, **kwargs)[0]
        out[i] = (scaled * span + low) * peak
    if not np.all(np.isfinite(out)):
        rows = np.flatnonzero(~np.isfinite(out).all(axis=1))
        raise ValueError(
            f"baseline method {method!r} gave non-finite values for spectra "
            f"{rows[:10].tolist()}; check these spectra or try another method."
        )
    return out


def remove_baseline(
    X,
    wavenumbers=None,
    *,
    method: str = "airpls",
    lam: float | None = None,
    poly_order: int = 2,
    return_baseline: bool = False,
):
    """Subtract an estimated baseline from each spectrum (pybaselines).

    Parameters
    ----------
    X : array-like of shape (n_spectra, n_points)
        Spectra. Never modified.
    wavenumbers : array-like of shape (n_points,), default=None
        The axis (any order; pybaselines sorts it). Used by the polynomial
        methods, whose fit is in x; if None, a DataFrame's numeric column
        names are used, else evenly spaced points. The Whittaker methods
        (airpls, arpls, asls) only use the order of the points.
    method : {"airpls", "arpls", "asls", "modpoly", "imodpoly"}, default="airpls"
        airPLS (what the bundled database used), arPLS, asymmetric least
        squares, or the (improved) modified polynomial fit.
    lam : float, default=None
        Smoothness of the Whittaker baselines (larger: stiffer); it depends on
        the number of points. None means pybaselines' default for the method
        (airpls 1e6, arpls 1e5, asls 1e6), suited to a 1 cm-1 grid over
        450-1800 cm-1. Ignored by the polynomial methods.
    poly_order : int, default=2
        Degree of the modpoly/imodpoly polynomial. Ignored otherwise.
    return_baseline : bool, default=False
        Also return the baselines.

    Returns
    -------
    X_new : ndarray of shape (n_spectra, n_points), dtype float64
        ``X`` minus its baselines (a new array).
    baselines : ndarray of shape (n_spectra, n_points)
        Only when ``return_baseline=True``.

    See Also
    --------
    BaselineRemover : The same as a scikit-learn transformer.

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk.preprocessing import remove_baseline
    >>> w = np.arange(450.0, 1801.0)
    >>> peak = np.exp(-0.5 * ((w - 1000.0) / 5.0) ** 2)
    >>> X = np.vstack([peak + 0.5 + 1e-3 * w])          # peak on a sloped background
    >>> X_new = remove_baseline(X, w, method="modpoly", poly_order=1)
    >>> bool(np.abs(X_new[0] - peak).max() < 0.02)
    True
    """
    step = BaselineRemover(
        method, lam=lam, poly_order=poly_order, wavenumbers=wavenumbers
    )
    options = step._check_params(caller="remove_baseline")
    Xv = validate_spectra(X)
    axis = axis_from_input(X, wavenumbers, Xv.shape[1])
    baselines = _baselines(Xv, axis, **options)
    X_new = check_finite_result(Xv - baselines, "baseline removal")
    return (X_new, baselines) if return_baseline else X_new


class BaselineRemover(SpectraTransformer):
    """Subtract an estimated baseline from each spectrum (airPLS, arPLS, modpoly...).

    Stateless apart from the axis: ``fit`` checks the input and learns the
    axis from ``wavenumbers`` or numeric DataFrame column names (evenly spaced
    points if neither is given). See :func:`remove_baseline`.

    Parameters
    ----------
    method : {"airpls", "arpls", "asls", "modpoly", "imodpoly"}, default="airpls"
        The pybaselines algorithm; airPLS is what the bundled database used.
    lam : float, default=None
        Smoothness of the Whittaker baselines (airpls, arpls, asls); None
        means the method's default (airpls 1e6, arpls 1e5, asls 1e6).
    poly_order : int, default=2
        Degree of the modpoly/imodpoly polynomial.
    wavenumbers : array-like of shape (n_points,), default=None
        The axis; used by the polynomial methods.

    Attributes
    ----------
    wavenumbers_in_ : ndarray of shape (n_features_in_,) or None
        The axis used (None: evenly spaced points).
    n_features_in_ : int
        Number of points per spectrum seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when fitted on a DataFrame with string column names.

    See Also
    --------
    remove_baseline : The function doing the work.

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk.preprocessing import BaselineRemover
    >>> w = np.arange(450.0, 1801.0)
    >>> X = np.vstack([np.exp(-0.5 * ((w - c) / 5.0) ** 2) + 2e-3 * w
    ...                for c in (800.0, 1200.0)])
    >>> X_new = BaselineRemover(wavenumbers=w).fit_transform(X)
    >>> X_new.shape, bool(np.abs(X_new).max() < 1.05), bool(np.median(X_new) < 0.05)
    ((2, 1351), True, True)
    """

    _parameter_constraints: dict = {
        "method": [StrOptions(set(_METHODS))],
        "lam": [Interval(Real, 0, None, closed="neither"), None],
        "poly_order": [Interval(Integral, 0, None, closed="left")],
        "wavenumbers": ["array-like", None],
    }

    def __init__(self, method="airpls", *, lam=None, poly_order=2, wavenumbers=None):
        self.method = method
        self.lam = lam
        self.poly_order = poly_order
        self.wavenumbers = wavenumbers

    def _options(self) -> dict:
        lam = DEFAULT_LAM.get(self.method, 1.0) if self.lam is None else self.lam
        return {
            "method": self.method,
            "lam": float(lam),
            "poly_order": int(self.poly_order),
        }

    def _fit(self, X_raw, X, options):
        self.wavenumbers_in_ = axis_from_input(X_raw, self.wavenumbers, X.shape[1])

    def _transform(self, X, options):
        return check_finite_result(
            X - _baselines(X, self.wavenumbers_in_, **options), "baseline removal"
        )
