"""Savitzky-Golay smoothing and derivatives."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy.signal import savgol_filter

from raman_sk.preprocessing._base import (
    SpectraTransformer,
    check_finite_result,
    extreme_row_scales,
    validate_spectra,
)
from raman_sk.utils._sklearn_compat import Interval, StrOptions

__all__ = ["SavitzkyGolay", "savgol_smooth"]

_MODES = ("interp", "nearest", "mirror", "constant", "wrap")


def _savgol(X, window_length, polyorder, deriv, delta, mode):
    if mode == "interp" and window_length > X.shape[1]:
        raise ValueError(
            f"window_length ({window_length}) must not exceed the number of "
            f"points per spectrum ({X.shape[1]}) with mode='interp'; use a "
            "shorter window or another mode."
        )
    scale = extreme_row_scales(X)  # the filter is linear: scale extreme rows
    out = savgol_filter(
        X / scale, window_length, polyorder, deriv=deriv, delta=delta, axis=1, mode=mode
    ).astype(np.float64, copy=False)
    return check_finite_result(out * scale, "Savitzky-Golay filtering")


def savgol_smooth(
    X,
    window_length: int = 11,
    polyorder: int = 3,
    deriv: int = 0,
    *,
    delta: float = 1.0,
    mode: str = "interp",
) -> np.ndarray:
    """Smooth each spectrum, or take its derivative, with a Savitzky-Golay filter.

    A thin wrapper of :func:`scipy.signal.savgol_filter` along the points of
    each spectrum (rows).

    Parameters
    ----------
    X : array-like of shape (n_spectra, n_points)
        Spectra on a uniform grid. Never modified.
    window_length : int, default=11
        Odd number of points of the filter window.
    polyorder : int, default=3
        Degree of the local polynomial; less than ``window_length``.
    deriv : int, default=0
        Order of the derivative (0: smoothing only).
    delta : float, default=1.0
        Grid step, scaling the derivatives (e.g. 1.0 for 1 cm-1 steps).
    mode : {"interp", "nearest", "mirror", "constant", "wrap"}, default="interp"
        Edge handling; ``"interp"`` fits the edge windows and needs
        ``window_length <= n_points``.

    Returns
    -------
    X_new : ndarray of shape (n_spectra, n_points), dtype float64
        Filtered spectra (a new array).

    See Also
    --------
    SavitzkyGolay : The same as a scikit-learn transformer.

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk.preprocessing import savgol_smooth
    >>> x = np.arange(7.0) ** 2                      # a parabola is kept exactly
    >>> np.allclose(savgol_smooth([x], window_length=5, polyorder=2), x)
    True
    >>> savgol_smooth([x], 5, 2, deriv=1).round(6) + 0.0  # and its slope is 2 x
    array([[ 0.,  2.,  4.,  6.,  8., 10., 12.]])
    """
    step = SavitzkyGolay(window_length, polyorder, deriv, delta=delta, mode=mode)
    options = step._check_params(caller="savgol_smooth")
    X = validate_spectra(X)
    return _savgol(X, **options)


class SavitzkyGolay(SpectraTransformer):
    """Savitzky-Golay smoothing or derivative of each spectrum.

    Stateless: ``fit`` only checks the input. See :func:`savgol_smooth`.

    Parameters
    ----------
    window_length : int, default=11
        Odd number of points of the filter window.
    polyorder : int, default=3
        Degree of the local polynomial; less than ``window_length``.
    deriv : int, default=0
        Order of the derivative (0: smoothing only).
    delta : float, default=1.0
        Grid step, scaling the derivatives.
    mode : {"interp", "nearest", "mirror", "constant", "wrap"}, default="interp"
        Edge handling of :func:`scipy.signal.savgol_filter`.

    Attributes
    ----------
    n_features_in_ : int
        Number of points per spectrum seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when fitted on a DataFrame with string column names.

    See Also
    --------
    savgol_smooth : The function doing the work.

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk.preprocessing import SavitzkyGolay
    >>> X = np.vstack([np.linspace(0.0, 1.0, 20), np.linspace(1.0, 0.0, 20)])
    >>> np.allclose(SavitzkyGolay(window_length=5, polyorder=1).fit_transform(X), X)
    True
    """

    _parameter_constraints: dict = {
        "window_length": [Interval(Integral, 1, None, closed="left")],
        "polyorder": [Interval(Integral, 0, None, closed="left")],
        "deriv": [Interval(Integral, 0, None, closed="left")],
        "delta": [Interval(Real, 0, None, closed="neither")],
        "mode": [StrOptions(set(_MODES))],
    }

    def __init__(
        self, window_length=11, polyorder=3, deriv=0, *, delta=1.0, mode="interp"
    ):
        self.window_length = window_length
        self.polyorder = polyorder
        self.deriv = deriv
        self.delta = delta
        self.mode = mode

    def _options(self) -> dict:
        window_length, polyorder = int(self.window_length), int(self.polyorder)
        if window_length % 2 == 0:
            raise ValueError(
                f"window_length must be a positive odd integer; got {window_length}."
            )
        if polyorder >= window_length:
            raise ValueError(
                f"polyorder must be less than window_length ({window_length}); "
                f"got {polyorder}."
            )
        return {
            "window_length": window_length,
            "polyorder": polyorder,
            "deriv": int(self.deriv),
            "delta": float(self.delta),
            "mode": self.mode,
        }

    def _transform(self, X, options):
        return _savgol(X, **options)
