"""Validators shared by the package: wavenumber axes, the default grid, spectra."""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Real

import numpy as np
from scipy import sparse

DEFAULT_GRID_START = 450
DEFAULT_GRID_STOP = 1800


def default_grid() -> np.ndarray:
    """Return the default wavenumber grid of the package: 450 to 1800 cm-1, step 1.

    This is the grid of the bundled database and the default input grid of the
    network (1351 points).

    Returns
    -------
    grid : ndarray of shape (1351,), dtype float64
        A new array on each call (safe to modify).

    Examples
    --------
    >>> from raman_sk.utils import default_grid
    >>> grid = default_grid()
    >>> grid.shape, grid[0], grid[-1], grid.dtype
    ((1351,), np.float64(450.0), np.float64(1800.0), dtype('float64'))
    """
    return np.arange(DEFAULT_GRID_START, DEFAULT_GRID_STOP + 1, dtype=np.float64)


#: Consecutive raw points at exactly the maximum that mean a saturated detector.
SATURATED_RUN = 5


def saturation(values) -> int:
    """Longest run of consecutive points at exactly a raw spectrum's maximum.

    A detector that saturates clips every pixel above its limit to the same
    count, so a saturated band shows as a plateau at the maximum; an
    unclipped spectrum hardly ever repeats its maximum on neighbouring
    points. Use it on the raw intensities, before any resampling or smoothing
    blurs the plateau. :data:`SATURATED_RUN` or more points mean saturation.

    Parameters
    ----------
    values : array-like of shape (n_points,)
        Raw intensities of one spectrum (finite).

    Returns
    -------
    int
        Length of the longest plateau at the maximum (1 for a unique maximum,
        0 for an empty spectrum).

    Examples
    --------
    >>> saturation([1.0, 3.0, 2.0, 3.0]), saturation([1, 5, 5, 5, 2, 5])
    (1, 3)
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        return 0
    at_max = np.concatenate([[False], values == values.max(), [False]])
    edges = np.flatnonzero(np.diff(at_max.astype(np.int8)))
    return int(np.max(edges[1::2] - edges[::2]))


def _describe(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_wavenumbers(
    wavenumbers,
    n_points: int | None = None,
    name: str = "wavenumbers",
    *,
    strictly_increasing: bool = False,
    min_points: int = 2,
) -> np.ndarray:
    """Validate a wavenumber axis and return it as a new 1-D float64 array.

    Parameters
    ----------
    wavenumbers : array-like of shape (n_points,)
        The axis, in cm-1. Any order is accepted unless ``strictly_increasing``.
    n_points : int, default=None
        If given, the number of values the axis must have (the number of
        columns of the spectra it belongs to).
    name : str, default="wavenumbers"
        Name of the parameter, used in error messages.
    strictly_increasing : bool, default=False
        Require each value to be larger than the previous one (e.g. for a
        target grid).
    min_points : int, default=2
        The smallest number of values accepted.

    Returns
    -------
    wavenumbers : ndarray of shape (n_points,), dtype float64
        A copy of the axis; the input is never modified.

    Raises
    ------
    TypeError
        If the axis is None or not numeric (e.g. strings that are not numbers).
    ValueError
        If the axis is not 1-D, contains NaN or inf, has fewer than
        ``min_points`` values, has a length different from ``n_points``, or is
        not strictly increasing when that is required.

    Examples
    --------
    >>> from raman_sk.utils import check_wavenumbers
    >>> check_wavenumbers([1000, 1001.5, 1003])
    array([1000. , 1001.5, 1003. ])
    >>> check_wavenumbers([1000, 1001], n_points=3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: wavenumbers has 2 values but the spectra have 3 points; ...
    """
    if wavenumbers is None:
        raise TypeError(f"{name} is None; give a 1-D array of wavenumbers in cm-1.")
    if isinstance(wavenumbers, str | bytes):
        raise TypeError(
            f"{name} must be a 1-D array of numbers, got the string "
            f"{_describe(wavenumbers)}."
        )
    try:
        arr = np.array(wavenumbers, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be a 1-D array of numbers (wavenumbers in cm-1); "
            f"could not convert {_describe(wavenumbers)} to float: {exc}"
        ) from None
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one wavenumber per point), got an array of "
            f"shape {arr.shape}."
        )
    if not np.all(np.isfinite(arr)):
        bad = np.flatnonzero(~np.isfinite(arr))
        raise ValueError(
            f"{name} contains NaN or inf at position(s) {bad[:5].tolist()}; "
            "every wavenumber must be a finite number."
        )
    if n_points is not None and arr.shape[0] != n_points:
        raise ValueError(
            f"{name} has {arr.shape[0]} values but the spectra have {n_points} "
            "points; give one wavenumber per point (column)."
        )
    if arr.shape[0] < min_points:
        raise ValueError(
            f"{name} has {arr.shape[0]} value(s); at least {min_points} are needed."
        )
    if strictly_increasing and arr.shape[0] > 1:
        steps = np.diff(arr)
        if np.any(steps <= 0):
            i = int(np.flatnonzero(steps <= 0)[0])
            raise ValueError(
                f"{name} must be strictly increasing, but value {i + 1} "
                f"({arr[i + 1]:g}) is not larger than value {i} ({arr[i]:g})."
            )
    return arr


def format_wavenumber(value: float) -> str:
    """Format a wavenumber as a feature (column) name.

    Uses ``format(value, "g")`` ("450", "450.5"), unless that loses precision
    (more than 6 significant digits), in which case the shortest string that
    reads back to the same float is used ("1234.5678").

    Parameters
    ----------
    value : float
        The wavenumber.

    Returns
    -------
    name : str
        Its feature name; ``float(name) == value``.

    Examples
    --------
    >>> from raman_sk.utils import format_wavenumber
    >>> format_wavenumber(450.0), format_wavenumber(450.5), format_wavenumber(1234.5678)
    ('450', '450.5', '1234.5678')
    """
    value = float(value)
    text = format(value, "g")
    if float(text) != value:
        text = np.format_float_positional(value, trim="-")
    return text


def wavenumbers_from_feature_names(
    feature_names: Iterable, *, name: str = "X", strict: bool = True
) -> np.ndarray | None:
    """Read a wavenumber axis from feature (column) names.

    Parameters
    ----------
    feature_names : iterable of str or numbers
        Column names such as ``["450", "450.5"]``, ``["450.0", ...]`` or
        ``[450.0, 451.0]`` (e.g. ``DataFrame.columns``).
    name : str, default="X"
        Name of the input the names belong to, used in error messages.
    strict : bool, default=True
        If True, raise when a name is not a number; if False, return None.

    Returns
    -------
    wavenumbers : ndarray of shape (n_features,), dtype float64, or None
        The axis (None only when ``strict=False`` and a name is not numeric).

    Raises
    ------
    ValueError
        If ``strict`` and a name is not a finite number.

    Examples
    --------
    >>> from raman_sk.utils import wavenumbers_from_feature_names
    >>> wavenumbers_from_feature_names(["450", "450.5", "451.0"])
    array([450. , 450.5, 451. ])
    >>> wavenumbers_from_feature_names(["450", "intensity"], strict=False) is None
    True
    """
    names = list(feature_names)
    values = np.empty(len(names), dtype=np.float64)
    for i, label in enumerate(names):
        ok = isinstance(label, Real | str) and not isinstance(label, bool | np.bool_)
        if ok:
            try:
                values[i] = float(label)
            except ValueError:
                ok = False
        if ok and not np.isfinite(values[i]):
            ok = False
        if not ok:
            if not strict:
                return None
            raise ValueError(
                f"the column names of {name} must be numeric wavenumbers (e.g. "
                f"'450' or 450.0); column {i} is {label!r}. Give the axis with "
                "wavenumbers= instead, or rename the columns."
            )
    return values


#: Largest magnitude accepted in X: beyond it, squares in BatchNorm's variance
#: overflow float32 and the network's output no longer depends on its input.
MAX_ABS_INPUT = 1e15


def check_spectra(X, name: str = "X"):
    """Turn lists/object arrays into a numeric array, with clear errors."""
    if sparse.issparse(X):
        return X  # validate_data gives sklearn's own message for sparse input
    if not hasattr(X, "__array__") or getattr(X, "dtype", None) is np.dtype(object):
        try:
            arr = np.asarray(X)
        except ValueError as exc:
            raise ValueError(
                f"{name} is ragged: its rows have different lengths; resample the "
                "spectra onto one grid first (raman_sk.preprocessing."
                "WavenumberResampler)."
            ) from exc
        if arr.dtype == object and arr.ndim == 1:
            lengths = {len(r) for r in arr if hasattr(r, "__len__")}
            if len(lengths) > 1:
                raise ValueError(
                    f"{name} is ragged: its rows have different lengths "
                    f"{sorted(lengths)[:5]}; resample the spectra onto one grid "
                    "first (raman_sk.preprocessing.WavenumberResampler)."
                )
        X = arr
    dtype = getattr(X, "dtype", None)
    if dtype is not None and dtype.kind in "OUSV":
        try:
            X = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            # keep the exception type (sklearn's checks expect TypeError for
            # non-number objects) and numpy's reason, with X named first
            raise type(exc)(
                f"{name} must hold numbers (intensities), got {dtype} values that "
                f"are not numeric: {exc}"
            ) from exc
    return X


def check_magnitude(X, name: str = "X") -> None:
    # max and -min instead of abs(X): no temporary copy of a large input
    peak = max(float(np.max(X)), -float(np.min(X))) if X.size else 0.0
    if peak > MAX_ABS_INPUT:
        raise ValueError(
            f"{name} holds values up to {peak:.3g}, too large for the network "
            f"(limit {MAX_ABS_INPUT:.0e}): float32 batch statistics would "
            "overflow. Normalise the spectra first (e.g. "
            "raman_sk.preprocessing.SpectrumNormalizer)."
        )


def check_label_types(y) -> None:
    arr = np.asarray(y, dtype=object).ravel()
    kinds = {
        "str" if isinstance(v, str) else "number"
        for v in arr
        if isinstance(v, (str, int, float, np.integer, np.floating))
        and not isinstance(v, bool)
    }
    if len(kinds) > 1:
        found = sorted({type(v).__name__ for v in arr})
        raise ValueError(
            f"y mixes label types ({', '.join(found)}); use one type for all "
            "labels, e.g. strings."
        )


# --------------------------------------------------------------------------- data
