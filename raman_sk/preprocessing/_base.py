"""The template base of the preprocessing steps and their shared input checks."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from raman_sk.utils import check_wavenumbers, wavenumbers_from_feature_names
from raman_sk.utils._sklearn_compat import validate_parameter_constraints


def _reject_bad_shape(X, name: str = "X") -> None:
    """Raise a clear error for 1-D or >2-D input, ragged rows or non-numbers.

    ValueError for the shape problems; for values that are not numbers the
    error of the float conversion (TypeError or ValueError) is raised again
    with a message that names ``name``.
    """
    ndim = getattr(X, "ndim", None)
    if isinstance(ndim, int) and ndim > 2:
        raise ValueError(
            f"{name} must be 2-D (n_spectra, n_points); got an array with "
            f"{ndim} dimensions and shape {X.shape}."
        )
    if isinstance(ndim, int) and ndim == 1:
        raise ValueError(
            f"{name} must be 2-D (n_spectra, n_points); got a 1-D array of "
            f"shape {X.shape}. Reshape your data with X.reshape(1, -1) if it "
            "is a single spectrum."
        )
    columns = getattr(X, "columns", None)
    if columns is not None and getattr(X, "ndim", 2) == 2:
        names = [str(c) for c in columns]
        if len(set(names)) < len(names):
            seen: set[str] = set()
            dups = [n for n in names if n in seen or seen.add(n)]
            raise ValueError(
                f"the column names of {name} (DataFrame) are not unique "
                f"({', '.join(repr(d) for d in dups[:5])} repeated); give unique "
                "wavenumber columns, or pass X.to_numpy() with wavenumbers= "
                "(duplicated wavenumbers are averaged by WavenumberResampler)."
            )
    if isinstance(X, list | tuple) and all(hasattr(row, "__len__") for row in X):
        lengths = sorted({len(row) for row in X})
        if len(lengths) > 1:
            raise ValueError(
                f"{name} is ragged: its rows have different lengths "
                f"({', '.join(map(str, lengths[:5]))}). Spectra with their own "
                "axes must be given as (wavenumbers, intensities) pairs to "
                "WavenumberResampler first; other steps need one shared grid."
            )
        try:
            np.asarray(X)
        except ValueError as exc:
            raise ValueError(
                f"{name} is ragged or nested ({exc}). Give a 2-D array "
                "(n_spectra, n_points), or (wavenumbers, intensities) pairs of "
                "1-D arrays to WavenumberResampler."
            ) from None
    _reject_non_numbers(X, name)


def _reject_non_numbers(X, name: str) -> None:
    """Re-raise a failed float conversion of X with a message naming ``name``."""
    if isinstance(X, np.ndarray):
        kind = X.dtype.kind
    elif isinstance(X, list | tuple):
        try:
            kind = np.asarray(X).dtype.kind
        except (TypeError, ValueError):  # left to the callers' checks
            return
    else:
        dtypes = getattr(X, "dtypes", None)  # a DataFrame
        if dtypes is None:
            return
        numeric = all(getattr(d, "kind", "O") in "biufc" for d in dtypes)
        kind = "f" if numeric else "O"
    if kind not in "OUSV":
        return
    try:
        np.asarray(X).astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise type(exc)(
            f"{name} must hold numbers (one intensity per point); it holds "
            f"values that cannot be converted to float: {exc}"
        ) from None


_EXTREME = 1e100


# sklearn's finiteness check sums X first: +1e308 and -1e308 make that sum NaN
# (a numpy RuntimeWarning) although every value is finite; it then checks each
# value, so silencing the warning hides nothing
def _quiet_sum():
    """Context silencing that check's floating-point warnings (a new one per use)."""
    return np.errstate(over="ignore", invalid="ignore")


def extreme_row_scales(X: np.ndarray) -> np.ndarray:
    """Per-row divisors, shape (n, 1), for spectra of extreme magnitude.

    A row whose largest absolute value is above 1e100 (or nonzero and below
    1e-100) gets that value, so that the step can work on it scaled to 1
    (squares, sums and differences cannot overflow or underflow); every other
    row gets exactly 1.0, so ordinary spectra are processed bit for bit as
    without scaling.
    """
    peak = np.max(np.abs(X), axis=1, keepdims=True) if X.size else np.ones((0, 1))
    extreme = (peak > _EXTREME) | ((peak > 0) & (peak < 1 / _EXTREME))
    return np.where(extreme, peak, 1.0)


def check_finite_result(out: np.ndarray, step: str) -> np.ndarray:
    """Return ``out``, or raise a ValueError naming the rows that overflowed."""
    if not np.all(np.isfinite(out)):
        rows = np.flatnonzero(~np.isfinite(out).all(axis=1))
        raise ValueError(
            f"{step} gave non-finite values for spectra {rows[:10].tolist()}: "
            "their intensities are too large for float64 arithmetic in this "
            "step; rescale them first (e.g. divide each by its maximum)."
        )
    return out


def validate_spectra(X, name: str = "X", *, dtype=np.float64) -> np.ndarray:
    """Validate spectra given as a 2-D array (n_spectra, n_points) of finite floats.

    Returns an array of ``dtype`` (float64 by default); callers never write
    into it.
    """
    _reject_bad_shape(X, name)
    with _quiet_sum():
        return check_array(X, dtype=dtype, input_name=name)


def axis_from_input(X, wavenumbers, n_points: int) -> np.ndarray | None:
    """Find the wavenumber axis of 2-D input X.

    ``wavenumbers`` (the parameter) wins; else numeric DataFrame column names;
    else None.
    """
    if wavenumbers is not None:
        return check_wavenumbers(wavenumbers, n_points, name="wavenumbers")
    columns = getattr(X, "columns", None)
    if columns is not None:
        return wavenumbers_from_feature_names(columns, name="X (DataFrame)")
    return None


class PreprocessingStep(BaseEstimator):
    """Base of every preprocessing step: parameters checked once, in one place.

    Subclasses declare their parameters in ``_parameter_constraints`` (checked
    by scikit-learn) and put the rules that constraints cannot express
    (between parameters, or defaults that depend on another parameter) in
    ``_options()``, which returns what the maths takes. The function API
    builds the step and calls ``_check_params`` with its own name, so both
    raise the same errors.
    """

    _parameter_constraints: dict = {}

    def _check_params(self, caller: str | None = None) -> dict:
        """Validate the parameters; return the options of the maths.

        Parameters
        ----------
        caller : str, default=None
            The name in error messages; default: the class name.

        Returns
        -------
        options : dict
            The output of ``_options()``.
        """
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=caller or type(self).__name__,
        )
        return self._options()

    def _options(self) -> dict:
        """Check what the constraints cannot and return the options; none here."""
        return {}

    def _validate_spectra(self, X, *, dtype=np.float64, **kwargs):
        """``validate_data`` with clear errors for bad shapes and non-numbers."""
        _reject_bad_shape(X)
        with _quiet_sum():
            return validate_data(self, X, dtype=dtype, **kwargs)


class SpectraTransformer(OneToOneFeatureMixin, TransformerMixin, PreprocessingStep):
    """Base of the one-to-one cleaning steps (one output column per input column).

    Subclasses define ``__init__``, ``_parameter_constraints``, optionally
    ``_options()`` (see :class:`PreprocessingStep`), ``_transform(X, options)``
    (returns a new float64 array) and optionally ``_fit(X_raw, X, options)``
    (learns e.g. the axis). ``get_feature_names_out`` passes the input names
    through, so wavenumber column names survive
    ``set_output(transform="pandas")`` in a Pipeline.
    """

    def _fit(self, X_raw, X, options) -> None:
        """Learn what transform needs; nothing by default."""

    def fit(self, X, y=None):
        """Check the parameters and the spectra (and learn the axis if needed).

        Parameters
        ----------
        X : array-like of shape (n_spectra, n_points)
            Spectra on one grid; a DataFrame's column names may give the axis.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        options = self._check_params()
        Xv = self._validate_spectra(X, ensure_min_features=2)
        self._fit(X, Xv, options)
        return self

    def transform(self, X):
        """Apply the step to each spectrum.

        Parameters
        ----------
        X : array-like of shape (n_spectra, n_points)
            Spectra with the points seen in ``fit``. Never modified.

        Returns
        -------
        X_new : ndarray of shape (n_spectra, n_points_out), dtype float64
            The transformed spectra (a new array).
        """
        check_is_fitted(self)
        options = self._check_params()
        # no ensure_min_features here: validate_data reports a wrong number of
        # points against n_features_in_ (which fit made >= 2)
        Xv = self._validate_spectra(X, reset=False)
        return self._transform(Xv, options)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
