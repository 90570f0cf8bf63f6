"""Resampling of spectra from any wavenumber axis onto one common grid."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Real

import numpy as np
from scipy.interpolate import PchipInterpolator
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

from raman_sk.preprocessing._base import (
    PreprocessingStep,
    axis_from_input,
    check_finite_result,
    extreme_row_scales,
    validate_spectra,
)
from raman_sk.utils import check_wavenumbers, default_grid, format_wavenumber
from raman_sk.utils._sklearn_compat import StrOptions

__all__ = ["WavenumberResampler", "resample_spectra"]

_METHODS = ("linear", "pchip")
_COVERAGE = ("raise", "fill", "edge")

NO_AXIS_MESSAGE = (
    "{owner} needs the wavenumber axis of X, and a plain 2-D array does not carry "
    "one (the axis is never guessed). Give it in one of three ways: "
    "(1) wavenumbers=axis, for a 2-D array (n_spectra, n_points) whose rows share "
    "one axis; (2) a pandas DataFrame whose column names are the wavenumbers "
    "(e.g. '450.0' or 450.0); (3) a list of (wavenumbers, intensities) pairs, one "
    "per spectrum, each with its own axis (the .spectra of "
    "raman_sk.datasets.read_spectra)."
)


# ----------------------------------------------------------------------------
# input handling
# ----------------------------------------------------------------------------
def _unwrap(X):
    """Return (spectra, sources) for a read_spectra Bunch, else (X, None)."""
    if isinstance(X, Mapping) and "spectra" in X:
        return X["spectra"], X.get("sources")
    return X, None


def _is_pair(item) -> bool:
    if isinstance(item, np.ndarray):
        return item.ndim == 2 and item.shape[0] == 2 and item.dtype != object
    if isinstance(item, tuple | list) and len(item) == 2:
        try:
            return all(np.ndim(part) == 1 for part in item)
        except ValueError:  # a ragged part: not a pair
            return False
    return False


def _is_pairs(X) -> bool:
    """Tell whether X is a list of (wavenumbers, intensities) pairs (or empty)."""
    X, _ = _unwrap(X)
    if not isinstance(X, list | tuple):
        return False
    return len(X) == 0 or _is_pair(X[0])


def _short(item, limit: int = 50) -> str:
    text = repr(item)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _label(i: int, sources) -> str:
    if sources is not None and i < len(sources):
        return f"spectrum {i} ({sources[i]})"
    return f"spectrum {i}"


def _check_pairs(X) -> tuple[list[tuple[np.ndarray, np.ndarray]], list | None]:
    """Validate ragged (wavenumbers, intensities) pairs; returns float64 copies."""
    spectra, sources = _unwrap(X)
    if isinstance(spectra, Sequence) and len(spectra) == 0:
        raise ValueError("X is empty: give at least one spectrum.")
    if sources is not None:
        sources = [str(s) for s in sources]
    out = []
    for i, item in enumerate(spectra):
        label = _label(i, sources)
        if not _is_pair(item):
            raise ValueError(
                f"{label} is not a (wavenumbers, intensities) pair of two 1-D "
                f"arrays (got {_short(item)}); a list of spectra must hold one "
                "such pair per spectrum."
            )
        w_raw, y_raw = item[0], item[1]
        w = check_wavenumbers(w_raw, name=f"the wavenumbers of {label}", min_points=1)
        try:
            y = np.array(y_raw, dtype=np.float64, copy=True)
        except (TypeError, ValueError):
            raise TypeError(
                f"the intensities of {label} must be numbers; could not convert "
                f"them to float ({np.asarray(y_raw).dtype} values)."
            ) from None
        if y.ndim != 1:
            raise ValueError(
                f"the intensities of {label} must be 1-D; got shape {y.shape}."
            )
        if y.shape[0] != w.shape[0]:
            raise ValueError(
                f"{label} has {w.shape[0]} wavenumbers but {y.shape[0]} "
                "intensities; they must have the same length."
            )
        if y.shape[0] < 2:
            raise ValueError(
                f"{label} has {y.shape[0]} point(s); at least 2 are needed to "
                "resample a spectrum."
            )
        if not np.all(np.isfinite(y)):
            bad = np.flatnonzero(~np.isfinite(y))
            raise ValueError(
                f"the intensities of {label} contain NaN or inf at position(s) "
                f"{bad[:5].tolist()}; clean or drop this spectrum first."
            )
        out.append((w, y))
    return out, sources


def _check_target(target_wavenumbers) -> np.ndarray:
    if target_wavenumbers is None:
        return default_grid()
    return check_wavenumbers(
        target_wavenumbers, name="target_wavenumbers", strictly_increasing=True
    )


# ----------------------------------------------------------------------------
# the maths
# ----------------------------------------------------------------------------
def _merge_tolerance(w: np.ndarray) -> float:
    """Wavenumbers closer than this count as one (and as inside the range)."""
    with np.errstate(over="ignore"):
        span = float(np.max(w) - np.min(w))
    return 1e-9 * max(span, 1.0)


def _sorted_unique(w: np.ndarray, Y: np.ndarray, what: str):
    """Sort the axis and average the columns of duplicated wavenumbers.

    Wavenumbers closer than 1e-9 of the axis range (at least 1e-9 cm-1) are
    duplicates too: their intensities and positions are averaged (no
    instrument resolves such steps, and they would make the slopes overflow).
    """
    order = np.argsort(w, kind="stable")
    ws = w[order]
    Ys = Y[:, order]
    tol = _merge_tolerance(ws)
    start = np.flatnonzero(np.r_[True, np.diff(ws) > tol])
    if start.shape[0] < 2:
        raise ValueError(
            f"{what} has fewer than 2 distinct wavenumbers "
            f"({np.unique(ws)[:5].tolist()}; values closer than {tol:g} cm-1 "
            "count as one); at least 2 are needed to resample."
        )
    if start.shape[0] < ws.shape[0]:
        counts = np.diff(np.r_[start, ws.shape[0]])
        first = np.repeat(ws[start], counts)  # mean of small offsets: no overflow
        uniq = ws[start] + np.add.reduceat(ws - first, start) / counts
        Ys = np.add.reduceat(Ys, start, axis=1) / counts
    else:
        uniq = ws
    return uniq, Ys


def _linear_eval(x, Y, t):
    """Piecewise-linear interpolation of each row of Y (knots x) at t."""
    k = np.clip(np.searchsorted(x, t, side="right") - 1, 0, x.shape[0] - 2)
    a = (t - x[k]) / (x[k + 1] - x[k])
    return Y[:, k] * (1.0 - a) + Y[:, k + 1] * a


def _linear_bin_means(x, Y, t, r):
    """Mean of the piecewise-linear interpolant of each row over [t - r, t + r]."""
    h = np.diff(x)
    cum = np.zeros_like(Y)
    np.cumsum(0.5 * (Y[:, :-1] + Y[:, 1:]) * h, axis=1, out=cum[:, 1:])

    def primitive(u):
        k = np.clip(np.searchsorted(x, u, side="right") - 1, 0, x.shape[0] - 2)
        d = u - x[k]
        slope = (Y[:, k + 1] - Y[:, k]) / h[k]
        return cum[:, k] + Y[:, k] * d + 0.5 * slope * d * d

    return (primitive(t + r) - primitive(t - r)) / (2.0 * r)


def _bin_half_widths(target: np.ndarray) -> np.ndarray:
    """Half the distance to the nearer neighbour of each grid point."""
    if target.shape[0] < 2:
        return np.zeros_like(target)
    gaps = np.diff(target)
    left = np.concatenate([gaps[:1], gaps])
    right = np.concatenate([gaps, gaps[-1:]])
    return 0.5 * np.minimum(left, right)


def _missing_ranges(target, below, above) -> str:
    parts = []
    for mask in (below, above):
        if mask.any():
            t = target[mask]
            parts.append(f"{t[0]:g}-{t[-1]:g} cm-1 ({t.shape[0]} grid points)")
    return " and ".join(parts)


def _resample_block(Y, w, target, *, method, coverage, fill_value, bin_average, what):
    """Resample the rows of Y, which share the axis w, onto target."""
    # every method is linear in the intensities: rows of extreme magnitude
    # are resampled scaled to 1 (no overflow) and scaled back at the end
    scale = extreme_row_scales(Y)
    x, Ys = _sorted_unique(w, Y / scale, what)
    lo, hi = x[0], x[-1]
    tol = _merge_tolerance(x)
    below = target < lo - tol
    above = target > hi + tol
    inside = ~(below | above)
    if coverage == "raise" and not inside.all():
        raise ValueError(_coverage_message(what, lo, hi, target, below, above))
    t = np.clip(target[inside], lo, hi)
    with np.errstate(over="ignore"):  # a grid spanning more than float64 holds
        r_all = _bin_half_widths(target)[inside]
    peak = np.abs(x).max()
    if peak > 1e100:
        # axes near the float64 limit: work in coordinates where the measured
        # range is [0, 1] (the same interpolant; steps cannot overflow)
        low, span = lo / peak, hi / peak - lo / peak
        x = (x / peak - low) / span
        t = np.clip((t / peak - low) / span, 0.0, 1.0)
        r_all = np.minimum(r_all / peak, 1.0) / span
        lo, hi = 0.0, 1.0
    out = np.empty((Y.shape[0], target.shape[0]), dtype=np.float64)
    if method == "pchip":
        with np.errstate(over="ignore"):  # scipy's slopes of subnormal steps
            interp = PchipInterpolator(x, Ys, axis=1, extrapolate=True)
        vals = interp(t)
    else:
        interp = None
        vals = _linear_eval(x, Ys, t)
    avg = np.zeros(t.shape[0], dtype=bool)
    if bin_average and t.shape[0]:
        r = np.maximum(np.minimum(r_all, np.minimum(t - lo, hi - t)), 0.0)
        n_in = np.searchsorted(x, t + r, side="right") - np.searchsorted(
            x, t - r, side="left"
        )
        avg = (n_in >= 2) & (r > 0)
        if avg.any():
            ta, ra = t[avg], r[avg]
            if interp is not None:
                prim = interp.antiderivative()
                vals[:, avg] = (prim(ta + ra) - prim(ta - ra)) / (2.0 * ra)
            else:
                vals[:, avg] = _linear_bin_means(x, Ys, ta, ra)
    if interp is not None:
        # exact pass-through where a grid point is a knot (not averaged)
        k = np.minimum(np.searchsorted(x, t), x.shape[0] - 1)
        on_knot = x[k] == t
        on_knot &= ~avg
        vals[:, on_knot] = Ys[:, k[on_knot]]
    out[:, inside] = check_finite_result(vals * scale, f"resampling {what}")
    if coverage == "edge":
        out[:, below] = Ys[:, :1] * scale
        out[:, above] = Ys[:, -1:] * scale
    else:
        out[:, below | above] = fill_value
    return out


def _resample_pairs(pairs, sources, target, **options):
    """Resample ragged pairs; spectra sharing an identical axis go together."""
    groups: dict[bytes, list[int]] = {}
    for i, (w, _) in enumerate(pairs):
        groups.setdefault(w.tobytes(), []).append(i)
    out = np.empty((len(pairs), target.shape[0]), dtype=np.float64)
    for idx in groups.values():
        w = pairs[idx[0]][0]
        Y = np.stack([pairs[i][1] for i in idx])
        what = _label(idx[0], sources)
        if len(idx) > 1:
            what += f" (and {len(idx) - 1} other spectra on the same axis)"
        out[idx] = _resample_block(Y, w, target, what=what, **options)
    return out


def _coverage_message(what, lo, hi, target, below, above) -> str:
    return (
        f"{what} covers {lo:g}-{hi:g} cm-1 but the target grid spans "
        f"{target[0]:g}-{target[-1]:g} cm-1; missing "
        f"{_missing_ranges(target, below, above)}. Choose target_wavenumbers "
        "inside the spectrum's range, or set coverage='edge' (repeat the edge "
        "intensities: no band there, for raw spectra too) or coverage='fill' "
        "(fill_value outside the range: only for spectra whose baseline is "
        "already at fill_value)."
    )


def resample_spectra(
    spectra_or_X,
    wavenumbers=None,
    target_wavenumbers=None,
    *,
    method: str = "linear",
    coverage: str = "raise",
    fill_value: float = 0.0,
    bin_average: bool = True,
) -> np.ndarray:
    """Resample spectra from their own wavenumber axes onto one grid.

    Each axis is sorted (descending or unsorted axes are fine) and the
    intensities of duplicated wavenumbers are averaged (values closer than
    1e-9 of the axis range, or 1e-9 cm-1, count as duplicates). Spectra of
    any finite magnitude are resampled without overflow. Where the source is
    finer than the target grid (at least two source points inside a target
    bin), the value is the mean of the interpolant over the bin (half-way to
    the neighbouring grid points), which averages noise instead of aliasing
    it; elsewhere the interpolant is sampled at the grid point. Both modes
    reproduce a linear function exactly, and a spectrum already on the grid
    passes through unchanged.

    Parameters
    ----------
    spectra_or_X : array-like, DataFrame or list of pairs
        Either a 2-D array (n_spectra, n_points) whose rows share the axis
        ``wavenumbers``; a DataFrame whose column names are the wavenumbers;
        or a list of ``(wavenumbers, intensities)`` pairs of 1-D arrays, one per
        spectrum, lengths may differ (also a ``read_spectra`` Bunch, whose
        ``sources`` then name the spectra in errors).
    wavenumbers : array-like of shape (n_points,), default=None
        The shared axis of a 2-D array (cm-1). Ignored for pairs.
    target_wavenumbers : array-like of shape (n_grid,), default=None
        The strictly increasing output grid; None means 450-1800 cm-1, step 1.
    method : {"linear", "pchip"}, default="linear"
        Piecewise-linear or shape-preserving cubic (PCHIP) interpolation.
    coverage : {"raise", "fill", "edge"}, default="raise"
        What to do with grid points outside a spectrum's measured range:
        raise a ValueError naming the spectrum and the missing range, set them
        to ``fill_value``, or repeat the intensity at the nearest edge.
    fill_value : float, default=0.0
        The value used outside the range when ``coverage="fill"``.
    bin_average : bool, default=True
        Average over each target bin where the source is finer than the grid.

    Returns
    -------
    X_new : ndarray of shape (n_spectra, n_grid), dtype float64
        The spectra on the target grid (a new array).

    Raises
    ------
    ValueError
        For a plain 2-D array without ``wavenumbers``, NaN/inf, mismatched
        lengths, fewer than 2 points, a target grid that is not strictly
        increasing, or a range not covered when ``coverage="raise"``.

    See Also
    --------
    WavenumberResampler : The same as a scikit-learn transformer.

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk.preprocessing import resample_spectra
    >>> w = np.array([1004.0, 1002.0, 1000.0])          # descending axis
    >>> resample_spectra([[4.0, 2.0, 0.0]], w, [1000, 1001, 1002, 1003])
    array([[0., 1., 2., 3.]])
    >>> pairs = [(w, [4.0, 2.0, 0.0]), ([999.0, 1005.0], [5.0, 5.0])]
    >>> resample_spectra(pairs, target_wavenumbers=[1000, 1002])
    array([[0., 2.],
           [5., 5.]])
    """
    step = WavenumberResampler(
        wavenumbers,
        target_wavenumbers,
        method=method,
        coverage=coverage,
        fill_value=fill_value,
        bin_average=bin_average,
    )
    options = step._check_params(caller="resample_spectra")
    target = _check_target(target_wavenumbers)
    if _is_pairs(spectra_or_X):
        pairs, sources = _check_pairs(spectra_or_X)
        return _resample_pairs(pairs, sources, target, **options)
    X = validate_spectra(spectra_or_X)
    axis = axis_from_input(spectra_or_X, wavenumbers, X.shape[1])
    if axis is None:
        raise ValueError(NO_AXIS_MESSAGE.format(owner="resample_spectra"))
    what = "the shared axis of X" if X.shape[0] > 1 else "spectrum 0"
    return _resample_block(X, axis, target, what=what, **options)


class WavenumberResampler(TransformerMixin, PreprocessingStep):
    """Resample spectra from any wavenumber axis onto one common grid.

    A scikit-learn transformer around :func:`resample_spectra`: it sorts each
    axis, averages duplicated wavenumbers, interpolates (linear or PCHIP) and,
    where the source is finer than the grid, averages over each target bin.
    The axis is never guessed: give it with ``wavenumbers=``, as numeric
    DataFrame column names, or pass ``(wavenumbers, intensities)`` pairs. A
    fitted resampler accepts pairs at any time, since pairs carry their axis.

    Parameters
    ----------
    wavenumbers : array-like of shape (n_points,), default=None
        The axis shared by the rows of a 2-D array. If None, a DataFrame's
        column names or the pairs' own axes are used.
    target_wavenumbers : array-like of shape (n_grid,), default=None
        The strictly increasing output grid; None means 450-1800 cm-1, step 1
        (:func:`raman_sk.utils.default_grid`).
    method : {"linear", "pchip"}, default="linear"
        Piecewise-linear or shape-preserving cubic (PCHIP) interpolation.
    coverage : {"raise", "fill", "edge"}, default="raise"
        Grid points outside a spectrum's measured range: raise a ValueError
        naming the spectrum and the missing range, use ``fill_value``, or
        repeat the edge intensity. Checked already in ``fit``.
    fill_value : float, default=0.0
        The value outside the range when ``coverage="fill"``.
    bin_average : bool, default=True
        Average over each target bin where the source is finer than the grid
        (reduces noise instead of aliasing it).

    Attributes
    ----------
    wavenumbers_out_ : ndarray of shape (n_grid,)
        The output grid.
    wavenumbers_in_ : ndarray of shape (n_features_in_,)
        The input axis, when fitted on a 2-D array or DataFrame.
    n_features_in_ : int
        Number of points of the spectra seen in ``fit``, when fitted on a 2-D
        array or DataFrame (not for pairs, whose lengths may differ).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when fitted on a DataFrame with string column names.

    See Also
    --------
    resample_spectra : The function doing the work.

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk.preprocessing import WavenumberResampler
    >>> w = np.linspace(400.0, 1900.0, 751)              # 2 cm-1 steps
    >>> X = np.vstack([np.sin(w / 100.0), np.cos(w / 100.0)])
    >>> res = WavenumberResampler(wavenumbers=w).fit(X)
    >>> res.transform(X).shape
    (2, 1351)
    >>> res.get_feature_names_out()[:3]
    array(['450', '451', '452'], dtype=object)
    >>> res.transform([(w[::-1], X[0, ::-1])]).shape      # pairs carry their axis
    (1, 1351)
    """

    _parameter_constraints: dict = {
        "wavenumbers": ["array-like", None],
        "target_wavenumbers": ["array-like", None],
        "method": [StrOptions(set(_METHODS))],
        "coverage": [StrOptions(set(_COVERAGE))],
        "fill_value": [Real],  # NaN and inf included
        "bin_average": ["boolean"],
    }

    def __init__(
        self,
        wavenumbers=None,
        target_wavenumbers=None,
        *,
        method="linear",
        coverage="raise",
        fill_value=0.0,
        bin_average=True,
    ):
        self.wavenumbers = wavenumbers
        self.target_wavenumbers = target_wavenumbers
        self.method = method
        self.coverage = coverage
        self.fill_value = fill_value
        self.bin_average = bin_average

    def _options(self) -> dict:
        return {
            "method": self.method,
            "coverage": self.coverage,
            "fill_value": float(self.fill_value),
            "bin_average": bool(self.bin_average),
        }

    def _check_axes(self, axes_and_labels, target):
        """Cheap fit-time checks: 2 distinct points and, if raising, coverage."""
        for w, what in axes_and_labels:
            lo, hi = float(np.min(w)), float(np.max(w))
            if lo == hi:
                raise ValueError(
                    f"{what} has fewer than 2 distinct wavenumbers ([{lo:g}]); "
                    "at least 2 are needed to resample."
                )
            tol = 1e-9 * max(hi - lo, 1.0)
            below, above = target < lo - tol, target > hi + tol
            if self.coverage == "raise" and (below.any() or above.any()):
                raise ValueError(_coverage_message(what, lo, hi, target, below, above))

    def fit(self, X, y=None):
        """Check the parameters and learn the input axis and the output grid.

        Parameters
        ----------
        X : array-like of shape (n_spectra, n_points), DataFrame or list of pairs
            Spectra; see :func:`resample_spectra` for the accepted forms.
        y : None
            Ignored.

        Returns
        -------
        self : WavenumberResampler
            The fitted resampler.
        """
        self._check_params()
        target = _check_target(self.target_wavenumbers)
        if _is_pairs(X):
            pairs, sources = _check_pairs(X)
            for attr in ("n_features_in_", "feature_names_in_", "wavenumbers_in_"):
                if hasattr(self, attr):
                    delattr(self, attr)
            self._check_axes(
                ((w, _label(i, sources)) for i, (w, _) in enumerate(pairs)), target
            )
        else:
            Xv = self._validate_spectra(X, ensure_min_features=2)
            axis = axis_from_input(X, self.wavenumbers, Xv.shape[1])
            if axis is None:
                raise ValueError(NO_AXIS_MESSAGE.format(owner="WavenumberResampler"))
            self._check_axes([(axis, "the shared axis of X")], target)
            self.wavenumbers_in_ = axis
        self.wavenumbers_out_ = target
        return self

    def transform(self, X):
        """Resample spectra onto ``wavenumbers_out_``.

        Parameters
        ----------
        X : array-like of shape (n_spectra, n_points), DataFrame or list of pairs
            Spectra. Pairs are always accepted; a 2-D array uses, in this
            order, ``wavenumbers``, numeric DataFrame column names, or the axis
            learned in ``fit``.

        Returns
        -------
        X_new : ndarray of shape (n_spectra, n_grid), dtype float64
            The spectra on the grid.
        """
        check_is_fitted(self)
        options = self._check_params()
        target = self.wavenumbers_out_
        if _is_pairs(X):
            pairs, sources = _check_pairs(X)
            return _resample_pairs(pairs, sources, target, **options)
        if hasattr(self, "n_features_in_"):
            Xv = self._validate_spectra(X, reset=False)
        else:
            Xv = validate_spectra(X)
        axis = axis_from_input(X, self.wavenumbers, Xv.shape[1])
        if axis is None:
            axis = getattr(self, "wavenumbers_in_", None)
        if axis is None:
            raise ValueError(NO_AXIS_MESSAGE.format(owner="WavenumberResampler"))
        what = "the shared axis of X" if Xv.shape[0] > 1 else "spectrum 0"
        return _resample_block(Xv, axis, target, what=what, **options)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: the grid wavenumbers as strings.

        Formatted with ``format(w, "g")`` ("450", "450.5"; the shortest exact
        form when that would lose digits), so ``set_output(transform="pandas")``
        gives wavenumber columns that later steps can read.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Ignored (the output grid does not depend on the input names).

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per grid point.
        """
        check_is_fitted(self)
        return np.asarray(
            [format_wavenumber(w) for w in self.wavenumbers_out_], dtype=object
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
