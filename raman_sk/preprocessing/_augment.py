"""Data augmentation of spectra: noisy, scaled, shifted, drifting copies."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from numpy.polynomial import legendre
from sklearn.utils import check_random_state

from raman_sk.preprocessing._base import PreprocessingStep, validate_spectra
from raman_sk.utils._sklearn_compat import Interval

__all__ = ["SpectralAugmenter", "augment_spectra"]

_DTYPES = (np.float64, np.float32)  # float32 stays float32 (network input)


def _copies_per_sample(y, n_copies, rng) -> np.ndarray:
    """Count the augmented copies to draw from each original spectrum."""
    n = y.shape[0]
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    target = counts.max() * (1 + n_copies)
    copies = np.empty(n, dtype=np.intp)
    for c in range(classes.shape[0]):
        members = np.flatnonzero(inverse == c)
        needed = target - counts[c]
        base, extra = divmod(needed, counts[c])
        copies[members] = base
        if extra:
            copies[rng.choice(members, size=extra, replace=False)] += 1
    return copies


def _shift_rows(X, shifts):
    """Shift each row by shifts[i] grid steps; edges repeat, no wrap-around."""
    p = X.shape[1]
    pos = np.clip(np.arange(p)[None, :] - shifts[:, None], 0.0, p - 1.0)
    k = np.minimum(np.floor(pos).astype(np.intp), p - 2)
    a = pos - k
    rows = np.arange(X.shape[0])[:, None]
    return X[rows, k] * (1.0 - a) + X[rows, k + 1] * a


def _mix_partners(y, sources, rng):
    """For each copy, a random other spectrum of its original's class (or itself)."""
    partners = sources.copy()
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        if members.size < 2:
            continue  # a class of one has no partner: the copy stays unmixed
        rows = np.flatnonzero(y[sources] == label)
        # draw among the other members: offset 1..size-1 from the original's position
        pos = np.searchsorted(members, sources[rows])
        offset = rng.integers(1, members.size, size=rows.size)
        partners[rows] = members[(pos + offset) % members.size]
    return partners


def _broaden_rows(X, sigmas):
    """Convolve each row with a Gaussian of its own width (grid steps; 0: none)."""
    from scipy.ndimage import gaussian_filter1d

    out = X.copy()
    for i in np.flatnonzero(sigmas > 0):
        out[i] = gaussian_filter1d(X[i], float(sigmas[i]), mode="nearest")
    return out


def _power_rows(X, powers):
    """Raise each row's min-max scaled intensities to its own power, then rescale."""
    lo = X.min(axis=1, keepdims=True)
    span = np.ptp(X, axis=1, keepdims=True)
    safe = np.where(span > 0, span, 1)
    return lo + span * ((X - lo) / safe) ** powers[:, None].astype(X.dtype)


def _response_rows(X, drift, order, rng):
    """Multiply each row by a smooth response ``1 + r(u)``, ``|r| <= drift``."""
    m, p = X.shape
    coefs = rng.uniform(-1.0, 1.0, size=(m, order + 1))
    u = np.linspace(-1.0, 1.0, p)
    response = 1 + coefs @ legendre.legvander(u, order).T * (drift / (order + 1))
    return X * response.astype(X.dtype)


def _augment(
    X,
    sources,
    *,
    rng,
    noise_std,
    scale_range,
    shift_max,
    baseline_drift,
    baseline_order,
    mix_within_class=0.0,
    broaden_max=0.0,
    power_max=1.0,
    response_drift=0.0,
    y=None,
):
    """Make one augmented copy of X[sources[j]] for each j (in X's dtype)."""
    m, p = sources.shape[0], X.shape[1]
    dtype = X.dtype
    ranges = np.ptp(X, axis=1)[sources]
    # the optional draws come first and only when enabled, so the default
    # recipe's random stream (and its results) stay exactly as they were
    base = X[sources]
    if mix_within_class > 0:
        partners = _mix_partners(y, sources, rng)
        weights = rng.uniform(0.0, mix_within_class, size=m).astype(dtype)
        base = base * (1 - weights[:, None]) + X[partners] * weights[:, None]
    if broaden_max > 0 and p > 1:
        base = _broaden_rows(base, rng.uniform(0.0, broaden_max, size=m))
    if power_max > 1:
        log_power = np.log(power_max)
        base = _power_rows(base, np.exp(rng.uniform(-log_power, log_power, size=m)))
    if response_drift > 0 and p > 1:
        base = _response_rows(base, response_drift, baseline_order, rng)
    scales = rng.uniform(scale_range[0], scale_range[1], size=m)
    if shift_max > 0 and p > 1:
        if isinstance(shift_max, Integral):
            shifts = rng.integers(-shift_max, shift_max, size=m, endpoint=True)
        else:
            shifts = rng.uniform(-shift_max, shift_max, size=m)
        out = _shift_rows(base, shifts.astype(np.float64)).astype(dtype)
    else:
        out = base  # fancy indexing made a copy: safe to change in place
    out *= scales[:, None].astype(dtype)
    if baseline_drift > 0:
        coefs = rng.uniform(-1.0, 1.0, size=(m, baseline_order + 1))
        u = np.linspace(-1.0, 1.0, p)
        # |P_k(u)| <= 1 on [-1, 1], so |drift| <= baseline_drift * range
        drift = coefs @ legendre.legvander(u, baseline_order).T
        drift *= (baseline_drift * ranges / (baseline_order + 1))[:, None]
        out += drift.astype(dtype)
    if noise_std > 0:
        noise = rng.standard_normal(size=(m, p), dtype=dtype)
        noise *= (noise_std * ranges)[:, None].astype(dtype)
        out += noise
    return out


def _generator(random_state) -> np.random.Generator:
    """Turn random_state (None, int, RandomState, Generator) into a Generator.

    An int or RandomState goes through ``check_random_state`` and seeds a
    ``numpy.random.Generator`` (faster normal draws); a Generator is used as is.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    seed = check_random_state(random_state).randint(0, 2**32, size=4, dtype=np.uint64)
    return np.random.default_rng(seed)


def _resample_indices(n, y, params, rng):
    """Index of the original spectrum of each copy, grouped in input order."""
    if params["balance_classes"]:
        copies = _copies_per_sample(y, params["n_copies"], rng)
    else:
        copies = np.full(n, params["n_copies"], dtype=np.intp)
    return np.repeat(np.arange(n), copies)


def augment_spectra(
    X,
    y=None,
    *,
    n_copies: int = 15,
    noise_std: float = 0.01,
    scale_range: tuple[float, float] = (0.9, 1.1),
    shift_max: float = 0,
    baseline_drift: float = 0.0,
    baseline_order: int = 2,
    mix_within_class: float = 0.0,
    broaden_max: float = 0.0,
    power_max: float = 1.0,
    response_drift: float = 0.0,
    balance_classes: bool = False,
    random_state=None,
):
    """Return the spectra followed by augmented copies of each.

    Each copy of a spectrum ``x`` with intensity range ``R = max(x) - min(x)``
    is, in this order: mixed with another spectrum of its class (weight drawn
    uniformly from ``[0, mix_within_class]``); broadened by a Gaussian of a
    standard deviation drawn uniformly from ``[0, broaden_max]`` grid steps;
    given a non-linear intensity response (its min-max scaled intensities
    raised to a power drawn log-uniformly from ``[1 / power_max, power_max]``,
    then scaled back); multiplied by a smooth spectral response ``1 + r``,
    ``r`` a random Legendre polynomial of degree ``baseline_order`` with
    ``|r| <= response_drift``; shifted by a random number of grid steps in
    ``[-shift_max, shift_max]`` (edges repeat the end values, no wrap-around);
    multiplied by a factor drawn uniformly from ``scale_range``; given a smooth
    baseline drift, a random Legendre polynomial of degree ``baseline_order``
    with magnitude at most ``baseline_drift * R``; and given Gaussian noise of
    standard deviation ``noise_std * R``. A constant spectrum (``R = 0``) gets
    no noise and no drift.

    Parameters
    ----------
    X : array-like of shape (n_spectra, n_points)
        Spectra on one grid. Never modified.
    y : array-like of shape (n_spectra,), default=None
        Labels (any type, e.g. strings); copies get their original's label.
        Required when ``balance_classes=True``.
    n_copies : int, default=15
        Copies per spectrum (per spectrum of the largest class when balancing).
    noise_std : float, default=0.01
        Noise standard deviation relative to each spectrum's intensity range.
    scale_range : tuple of float, default=(0.9, 1.1)
        The interval, ``0 < low <= high``, of the amplitude factors.
    shift_max : int or float, default=0
        Largest shift in grid steps. An int gives integer shifts (exact); a
        float gives fractional shifts by linear interpolation.
    baseline_drift : float, default=0.0
        Largest baseline drift relative to the intensity range (0: none).
    baseline_order : int, default=2
        Degree of the drift polynomial.
    mix_within_class : float, default=0.0
        Largest weight, in ``[0, 1)``, of a partner spectrum drawn from the
        other spectra of the copy's class: ``(1 - w) x + w x_partner``. A new
        member of the class that no molecule in the data is; needs ``y``.
        0 disables it.
    broaden_max : float, default=0.0
        Largest standard deviation, in grid steps, of the Gaussian that
        broadens a copy's bands. 0 disables it.
    power_max : float, default=1.0
        Largest factor, ``>= 1``, of the intensity power: relative band heights
        change as with a non-linear detector. 1 disables it.
    response_drift : float, default=0.0
        Largest relative change of a smooth multiplicative response (an
        instrument's spectral efficiency): relative band heights change slowly
        along the axis. 0 disables it.
    balance_classes : bool, default=False
        Draw more copies for rarer classes, so that every class ends with
        ``max(class count) * (1 + n_copies)`` spectra; the extra copies are
        spread over the class's spectra as evenly as possible.
    random_state : int, RandomState, Generator or None, default=None
        Seed of the random draws.

    Returns
    -------
    X_aug : ndarray of shape (n_spectra + n_new, n_points)
        float64, or float32 when X is float32 (as a network's input may be).
        The originals first (in input order), then the copies grouped by
        original spectrum in input order.
    y_aug : ndarray of shape (n_spectra + n_new,) or None
        Labels of ``X_aug`` (None when ``y`` is None).

    See Also
    --------
    SpectralAugmenter : The same as a sampler with ``fit_resample``.

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk.preprocessing import augment_spectra
    >>> X = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 0.0]])
    >>> X_aug, y_aug = augment_spectra(X, ["a", "b"], n_copies=2, random_state=0)
    >>> X_aug.shape, y_aug.tolist()
    ((6, 3), ['a', 'b', 'a', 'a', 'b', 'b'])
    >>> X_aug, y_aug = augment_spectra(
    ...     X, ["a", "b"], n_copies=0, noise_std=0, scale_range=(2, 2))
    >>> X_aug.tolist()
    [[0.0, 1.0, 0.0], [0.0, 2.0, 0.0]]
    """
    step = SpectralAugmenter(
        n_copies,
        noise_std,
        scale_range,
        shift_max=shift_max,
        baseline_drift=baseline_drift,
        baseline_order=baseline_order,
        mix_within_class=mix_within_class,
        broaden_max=broaden_max,
        power_max=power_max,
        response_drift=response_drift,
        balance_classes=balance_classes,
        random_state=random_state,
    )
    params = step._check_params(caller="augment_spectra")
    X = validate_spectra(X, dtype=_DTYPES)
    if y is not None:
        y = _check_y(y, X.shape[0])
    else:
        _needs_labels(params)
    rng = _generator(random_state)
    return _fit_resample_arrays(X, y, params, rng)[:2]


def _needs_labels(params):
    """Raise when an option that reads the labels is on but y is None."""
    for name in ("balance_classes", "mix_within_class"):
        if params[name]:
            raise ValueError(f"{name}={params[name]!r} needs the labels y; got y=None.")


def _check_y(y, n):
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(
            f"y must be 1-D (one label per spectrum); got shape {y.shape}."
        )
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} labels but X has {n} spectra.")
    return y


def _fit_resample_arrays(X, y, params, rng):
    n = X.shape[0]
    sources = _resample_indices(n, y, params, rng)
    options = {
        k: params[k]
        for k in (
            "noise_std",
            "scale_range",
            "shift_max",
            "baseline_drift",
            "baseline_order",
            "mix_within_class",
            "broaden_max",
            "power_max",
            "response_drift",
        )
    }
    copies = _augment(X, sources, rng=rng, y=y, **options)
    X_aug = np.concatenate([X, copies], axis=0)
    indices = np.concatenate([np.arange(n), sources])
    y_aug = None if y is None else y[indices]
    return X_aug, y_aug, indices


class SpectralAugmenter(PreprocessingStep):
    """Augment spectra with noisy, scaled, shifted and drifting copies.

    A sampler in the imbalanced-learn sense: ``fit_resample(X, y)`` returns the
    originals followed by ``n_copies`` augmented copies of each (more for rarer
    classes with ``balance_classes=True``). It has no ``transform``, so it can
    never touch data at predict time. ``RamanCNNClassifier(augmenter=...)``
    applies a clone of it to its training part only; it also works as a step of
    an :class:`imblearn.pipeline.Pipeline`. See :func:`augment_spectra` for the
    exact recipe; ``noise_std`` is relative to each spectrum's intensity range
    (max - min).

    Parameters
    ----------
    n_copies : int, default=15
        Augmented copies per spectrum (per spectrum of the largest class when
        ``balance_classes=True``).
    noise_std : float, default=0.01
        Standard deviation of the Gaussian noise, relative to each spectrum's
        intensity range.
    scale_range : tuple of float, default=(0.9, 1.1)
        The interval ``(low, high)``, ``0 < low <= high``, of the random
        amplitude factors.
    shift_max : int or float, default=0
        Largest random shift in grid steps (calibration drift). An int gives
        integer shifts; a float gives fractional shifts by interpolation. Edges
        repeat the end values (no wrap-around).
    baseline_drift : float, default=0.0
        Largest smooth baseline drift (random polynomial), relative to the
        intensity range. 0 disables it.
    baseline_order : int, default=2
        Degree of the baseline drift polynomial.
    mix_within_class : float, default=0.0
        Largest weight, in ``[0, 1)``, of another spectrum of the same class
        mixed into a copy (within-class mixup); needs ``y``. 0 disables it.
    broaden_max : float, default=0.0
        Largest standard deviation, in grid steps, of a Gaussian band
        broadening. 0 disables it.
    power_max : float, default=1.0
        Largest factor, ``>= 1``, of a random power applied to the min-max
        scaled intensities (a non-linear intensity response). 1 disables it.
    response_drift : float, default=0.0
        Largest relative change of a smooth multiplicative spectral response
        (random polynomial of degree ``baseline_order``). 0 disables it.
    balance_classes : bool, default=False
        Draw more copies for rarer classes so that all classes end up with
        ``max(class count) * (1 + n_copies)`` spectra.
    random_state : int, RandomState, Generator or None, default=None
        Seed of the random draws; an int makes ``fit_resample`` reproducible.
        A RandomState or Generator instance advances with each call.

    Attributes
    ----------
    n_features_in_ : int
        Number of points per spectrum seen in ``fit``/``fit_resample``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when fitted on a DataFrame with string column names.
    classes_ : ndarray of shape (n_classes,)
        The labels seen, sorted (when ``y`` was given).
    sample_indices_ : ndarray of shape (n_resampled,)
        For each row of the last ``fit_resample`` output, the index of the
        original spectrum it comes from.

    See Also
    --------
    augment_spectra : The function doing the work.

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk.preprocessing import SpectralAugmenter
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.random((6, 50)), np.array(["a", "a", "a", "a", "b", "b"])
    >>> aug = SpectralAugmenter(n_copies=3, random_state=0)
    >>> X_aug, y_aug = aug.fit_resample(X, y)
    >>> X_aug.shape, np.array_equal(X_aug[:6], X)
    ((24, 50), True)
    >>> _, y_bal = SpectralAugmenter(n_copies=3, balance_classes=True,
    ...                              random_state=0).fit_resample(X, y)
    >>> np.unique(y_bal, return_counts=True)[1].tolist()
    [16, 16]
    """

    _parameter_constraints: dict = {
        "n_copies": [Interval(Integral, 0, None, closed="left")],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "scale_range": ["array-like"],
        "shift_max": [Interval(Real, 0, None, closed="left")],
        "baseline_drift": [Interval(Real, 0, None, closed="left")],
        "baseline_order": [Interval(Integral, 0, None, closed="left")],
        "mix_within_class": [Interval(Real, 0, 1, closed="left")],
        "broaden_max": [Interval(Real, 0, None, closed="left")],
        "power_max": [Interval(Real, 1, None, closed="left")],
        "response_drift": [Interval(Real, 0, 1, closed="left")],
        "balance_classes": ["boolean"],
        "random_state": ["random_state", np.random.Generator],
    }

    def __init__(
        self,
        n_copies=15,
        noise_std=0.01,
        scale_range=(0.9, 1.1),
        *,
        shift_max=0,
        baseline_drift=0.0,
        baseline_order=2,
        mix_within_class=0.0,
        broaden_max=0.0,
        power_max=1.0,
        response_drift=0.0,
        balance_classes=False,
        random_state=None,
    ):
        self.n_copies = n_copies
        self.noise_std = noise_std
        self.scale_range = scale_range
        self.shift_max = shift_max
        self.baseline_drift = baseline_drift
        self.baseline_order = baseline_order
        self.mix_within_class = mix_within_class
        self.broaden_max = broaden_max
        self.power_max = power_max
        self.response_drift = response_drift
        self.balance_classes = balance_classes
        self.random_state = random_state

    def _options(self) -> dict:
        try:
            scale = np.asarray(self.scale_range)
        except ValueError:  # nested or ragged: not a pair
            scale = np.empty(0)
        if (
            scale.shape != (2,)
            or scale.dtype.kind not in "iuf"
            or not np.all(np.isfinite(scale))
            or not 0 < scale[0] <= scale[1]
        ):
            raise ValueError(
                "scale_range must be a pair (low, high) of numbers with "
                f"0 < low <= high; got {self.scale_range!r}."
            )
        shift = self.shift_max  # an int gives whole-step (exact) shifts
        return {
            "n_copies": int(self.n_copies),
            "noise_std": float(self.noise_std),
            "scale_range": (float(scale[0]), float(scale[1])),
            "shift_max": int(shift) if isinstance(shift, Integral) else float(shift),
            "baseline_drift": float(self.baseline_drift),
            "baseline_order": int(self.baseline_order),
            "mix_within_class": float(self.mix_within_class),
            "broaden_max": float(self.broaden_max),
            "power_max": float(self.power_max),
            "response_drift": float(self.response_drift),
            "balance_classes": bool(self.balance_classes),
        }

    def _validate(self, X, y):
        params = self._check_params()
        Xv = self._validate_spectra(X, dtype=_DTYPES)
        if y is None:
            _needs_labels(params)
            return Xv, None, params
        yv = _check_y(y, Xv.shape[0])
        self.classes_ = np.unique(yv)
        return Xv, yv, params

    def fit(self, X, y=None):
        """Check the parameters and the data; augmentation happens in fit_resample.

        Parameters
        ----------
        X : array-like of shape (n_spectra, n_points)
            Spectra on one grid.
        y : array-like of shape (n_spectra,), default=None
            Labels.

        Returns
        -------
        self : SpectralAugmenter
            The fitted sampler.
        """
        self._validate(X, y)
        return self

    def fit_resample(self, X, y=None):
        """Return the originals followed by their augmented copies.

        Parameters
        ----------
        X : array-like of shape (n_spectra, n_points)
            Spectra on one grid. Never modified.
        y : array-like of shape (n_spectra,), default=None
            Labels (e.g. strings); copies get their original's label. Needed
            for ``balance_classes=True``.

        Returns
        -------
        X_aug : ndarray or DataFrame of shape (n_resampled, n_points)
            float64 (float32 when X is float32); a DataFrame with the same
            columns when X was one.
        y_aug : ndarray or Series of shape (n_resampled,), or None
            Labels of ``X_aug``; a Series when y was one.
        """
        Xv, yv, params = self._validate(X, y)
        rng = _generator(self.random_state)
        X_aug, y_aug, indices = _fit_resample_arrays(Xv, yv, params, rng)
        self.sample_indices_ = indices
        if hasattr(X, "columns") and hasattr(X, "iloc"):
            X_aug = type(X)(X_aug, columns=X.columns)
        if y_aug is not None and hasattr(y, "iloc") and hasattr(y, "name"):
            y_aug = type(y)(y_aug, name=y.name)
        return X_aug, y_aug

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
