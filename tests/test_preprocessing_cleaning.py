"""Cleaning steps: baseline, Savitzky-Golay, normalisation, cropping, spikes."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import savgol_filter
from sklearn.exceptions import NotFittedError

from raman_sk.preprocessing import (
    BaselineRemover,
    SavitzkyGolay,
    SpectrumNormalizer,
    SpikeRemover,
    WavenumberCropper,
    crop_spectra,
    normalize_spectra,
    remove_baseline,
    remove_spikes,
    savgol_smooth,
)

W = np.arange(450.0, 1801.0)


def gaussian(x, center, sigma, height=1.0):
    return height * np.exp(-0.5 * ((x - center) / sigma) ** 2)


@pytest.fixture(scope="module")
def peaks_on_background():
    """Three spectra: peaks + a known smooth background + seeded noise."""
    rng = np.random.default_rng(0)
    peaks = np.vstack(
        [
            gaussian(W, 1004, 6) + 0.6 * gaussian(W, 1450, 10),
            gaussian(W, 760, 5) + 0.8 * gaussian(W, 1660, 12),
            0.7 * gaussian(W, 1250, 8) + gaussian(W, 620, 6),
        ]
    )
    u = (W - 450.0) / 1350.0
    background = np.vstack([0.5 + 0.8 * u, 1.0 + 0.5 * u - 0.4 * u**2, 0.3 * u + 2.0])
    noise = rng.normal(0.0, 0.005, size=peaks.shape)
    return peaks, background, peaks + background + noise


# --------------------------------------------------------------------------- normalise
def test_normalize_hand_computed():
    X = np.array([[1.0, 3.0, 5.0], [2.0, -2.0, 0.0]])
    np.testing.assert_allclose(
        normalize_spectra(X, "minmax"), [[0.0, 0.5, 1.0], [1.0, 0.0, 0.5]]
    )
    np.testing.assert_allclose(
        normalize_spectra(X, "l2"),
        [np.array([1, 3, 5]) / np.sqrt(35), np.array([2, -2, 0]) / np.sqrt(8)],
    )
    s = np.sqrt(8.0 / 3.0)  # population std of (1, 3, 5)
    np.testing.assert_allclose(
        normalize_spectra(X, "snv"), [[-2 / s, 0, 2 / s], [2 / s, -2 / s, 0.0]]
    )
    np.testing.assert_allclose(
        normalize_spectra(X, "area"), [[1 / 9, 3 / 9, 5 / 9], [0.5, -0.5, 0.0]]
    )
    est = SpectrumNormalizer(method="snv").fit(X)
    np.testing.assert_array_equal(est.transform(X), normalize_spectra(X, "snv"))


@pytest.mark.parametrize(
    ("method", "row"),
    [
        ("minmax", [2.0, 2.0, 2.0]),
        ("snv", [2.0, 2.0, 2.0]),
        ("l2", [0.0, 0.0, 0.0]),
        ("area", [0.0, 0.0, 0.0]),
    ],
)
def test_degenerate_spectrum_maps_to_zeros_with_warning(method, row):
    X = np.array([[1.0, 2.0, 4.0], row])
    with pytest.warns(RuntimeWarning, match=rf"rows \[1\].*method='{method}'.*zeros"):
        out = SpectrumNormalizer(method=method).fit_transform(X)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[1], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(out[0], normalize_spectra(X[:1], method)[0])


def test_normalize_no_warning_for_regular_spectra(peaks_on_background):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in ("minmax", "l2", "snv", "area"):
            normalize_spectra(peaks_on_background[2], method)


# --------------------------------------------------------------------------- savgol
def test_savgol_matches_scipy_and_keeps_polynomials(peaks_on_background):
    X = peaks_on_background[2]
    np.testing.assert_allclose(
        savgol_smooth(X, 11, 3), savgol_filter(X, 11, 3, axis=1), rtol=1e-12
    )
    cubic = 1e-9 * (W - 1000.0) ** 3 + 0.5
    np.testing.assert_allclose(
        SavitzkyGolay().fit_transform([cubic])[0], cubic, atol=1e-12
    )
    # first derivative of a quadratic on a 2 cm-1 grid, scaled by delta
    w2 = np.arange(0.0, 40.0, 2.0)
    d = SavitzkyGolay(7, 2, deriv=1, delta=2.0).fit_transform([3.0 * w2**2])
    np.testing.assert_allclose(d[0], 6.0 * w2, atol=1e-9)


def test_savgol_smoothing_reduces_noise():
    rng = np.random.default_rng(1)
    X = rng.normal(0.0, 1.0, size=(20, 500))
    ratio = savgol_smooth(X, 11, 3)[:, 20:-20].std() / X.std()
    assert 0.45 < ratio < 0.75  # variance factor of an 11-point cubic SG: ~0.35


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (
            {"window_length": 10},
            ValueError,
            "window_length must be a positive odd integer; got 10",
        ),
        (
            {"window_length": 5, "polyorder": 5},
            ValueError,
            r"polyorder must be less than window_length \(5\); got 5",
        ),
        (
            {"deriv": -1},
            ValueError,
            r"The 'deriv' parameter of SavitzkyGolay must be an int in the range "
            r"\[0, inf\)\. Got -1 instead",
        ),
        (
            {"mode": "reflect"},
            ValueError,
            r"The 'mode' parameter of SavitzkyGolay must be a str among "
            r"\{'\w+', '\w+', '\w+', '\w+', '\w+'\}\. Got 'reflect' instead",
        ),
        (
            {"window_length": 21},
            ValueError,
            r"window_length \(21\) must not exceed the number of points per spectrum "
            r"\(20\)",
        ),
    ],
)
def test_savgol_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        SavitzkyGolay(**kwargs).fit_transform(np.ones((2, 20)))


# --------------------------------------------------------------------------- baseline
@pytest.mark.parametrize(
    ("method", "kwargs", "tol"),
    [
        ("airpls", {}, 0.04),
        ("arpls", {}, 0.04),
        ("asls", {}, 0.04),
        ("modpoly", {"poly_order": 2}, 0.04),
        ("imodpoly", {"poly_order": 2}, 0.04),
    ],
)
def test_baseline_recovers_peaks(peaks_on_background, method, kwargs, tol):
    peaks, background, X = peaks_on_background
    est = BaselineRemover(method, wavenumbers=W, **kwargs)
    out = est.fit_transform(X)
    err = np.abs(out - peaks)
    assert err.max() < tol, err.max()
    # the background (up to 2.3) is gone; the median point is near zero
    assert np.abs(np.median(out, axis=1)).max() < 0.03
    np.testing.assert_array_equal(remove_baseline(X, W, method=method, **kwargs), out)


def test_baseline_return_baseline_and_axis_from_dataframe(peaks_on_background):
    X = peaks_on_background[2]
    corrected, base = remove_baseline(X, W, method="modpoly", return_baseline=True)
    np.testing.assert_allclose(corrected + base, X, rtol=1e-14)
    df = pd.DataFrame(X, columns=[f"{w:g}" for w in W])
    est = BaselineRemover("modpoly").fit(df)
    np.testing.assert_array_equal(est.wavenumbers_in_, W)
    np.testing.assert_array_equal(est.transform(df), corrected)
    np.testing.assert_array_equal(est.get_feature_names_out(), df.columns)


def test_baseline_reversed_axis_gives_reversed_output(peaks_on_background):
    X = peaks_on_background[2]
    for method in ("airpls", "modpoly"):
        fwd = remove_baseline(X, W, method=method)
        rev = remove_baseline(X[:, ::-1], W[::-1], method=method)
        np.testing.assert_allclose(rev[:, ::-1], fwd, atol=1e-10)


def test_baseline_constant_spectrum_becomes_zero():
    out = BaselineRemover().fit_transform(np.full((2, 50), 3.0))
    np.testing.assert_array_equal(out, np.zeros((2, 50)))


@pytest.mark.parametrize(
    ("kwargs", "X", "exc", "match"),
    [
        (
            {"method": "als"},
            np.ones((1, 10)),
            ValueError,
            r"The 'method' parameter of BaselineRemover must be a str among "
            r"\{'\w+', '\w+', '\w+', '\w+', '\w+'\}\. Got 'als' instead",
        ),
        (
            {"lam": 0},
            np.ones((1, 10)),
            ValueError,
            r"The 'lam' parameter of BaselineRemover must be a float in the range "
            r"\(0.0, inf\) or None\. Got 0 instead",
        ),
        (
            {"poly_order": -1},
            np.ones((1, 10)),
            ValueError,
            r"The 'poly_order' parameter of BaselineRemover must be an int in the "
            r"range \[0, inf\)\. Got -1 instead",
        ),
        (
            {},
            np.ones((1, 2)),
            ValueError,
            "'airpls' needs at least 3 points per spectrum",
        ),
        (
            {"wavenumbers": [1.0, 2.0]},
            np.ones((1, 3)),
            ValueError,
            "wavenumbers has 2 values but the spectra have 3 points",
        ),
        ({}, [[1.0, np.nan, 2.0]], ValueError, "NaN"),
    ],
)
def test_baseline_bad_input(kwargs, X, exc, match):
    with pytest.raises(exc, match=match):
        BaselineRemover(**kwargs).fit_transform(X)


# --------------------------------------------------------------------------- crop
def test_crop_hand_computed_and_descending_axis():
    X = np.arange(12.0).reshape(2, 6)
    w = np.array([400.0, 450.0, 500.0, 550.0, 600.0, 650.0])
    X_new, w_new = crop_spectra(X, w, 450, 600)
    np.testing.assert_array_equal(X_new, [[1, 2, 3, 4], [7, 8, 9, 10]])
    np.testing.assert_array_equal(w_new, [450, 500, 550, 600])
    X_rev, w_rev = crop_spectra(X[:, ::-1], w[::-1], 450, 600)
    np.testing.assert_array_equal(X_rev, X_new[:, ::-1])  # input order kept
    np.testing.assert_array_equal(w_rev, w_new[::-1])
    open_high, _ = crop_spectra(X, w, low=560)
    np.testing.assert_array_equal(open_high, [[4, 5], [10, 11]])


def test_cropper_names_and_dataframe_axis():
    X = np.arange(12.0).reshape(2, 6)
    w = np.array([400.0, 450.5, 500.0, 550.0, 600.0, 650.0])
    est = WavenumberCropper(450, 600, wavenumbers=w).fit(X)
    assert est.get_feature_names_out().tolist() == ["450.5", "500", "550", "600"]
    np.testing.assert_array_equal(est.support_, [0, 1, 1, 1, 1, 0])
    df = pd.DataFrame(X, columns=[f"{v:.1f}" for v in w])
    est_df = WavenumberCropper(450, 600).set_output(transform="pandas").fit(df)
    out = est_df.transform(df)
    assert list(out.columns) == ["450.5", "500.0", "550.0", "600.0"]
    np.testing.assert_array_equal(out.to_numpy(), est.transform(X))
    with pytest.raises(ValueError, match="X has 5 features"):
        est.transform(X[:, :5])


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (
            {"low": 700, "high": 600, "wavenumbers": W},
            ValueError,
            "low must be <= high; got low=700.0, high=600.0",
        ),
        (
            {"low": 2000, "wavenumbers": W},
            ValueError,
            r"no wavenumber of X lies in \[2000.0, None\]; X covers 450-1800 cm-1",
        ),
        ({"low": 500}, ValueError, "WavenumberCropper needs the wavenumber axis"),
        (
            {"low": "500", "wavenumbers": W},
            TypeError,
            r"The 'low' parameter of WavenumberCropper must be a float in the range "
            r"\[-inf, inf\] or None\. Got '500' instead",
        ),
        ({"wavenumbers": W[:-1]}, ValueError, "wavenumbers has 1350 values"),
    ],
)
def test_cropper_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        WavenumberCropper(**kwargs).fit(np.ones((2, W.size)))


def test_unfitted_steps_raise_not_fitted():
    for est in (
        BaselineRemover(),
        SavitzkyGolay(),
        SpectrumNormalizer(),
        WavenumberCropper(wavenumbers=W),
        SpikeRemover(),
    ):
        with pytest.raises(NotFittedError):
            est.transform(np.ones((1, W.size)))


# --------------------------------------------------------------------------- spikes
def _noisy_peaks(seed=0):
    rng = np.random.default_rng(seed)
    x = gaussian(W, 1004, 4) + 0.5 * gaussian(W, 1450, 8) + 0.2
    return x + rng.normal(0.0, 0.01, W.size)


@pytest.mark.parametrize(
    ("where", "width"), [(300, 1), (800, 2), (1000, 3), (0, 1), (1350, 2)]
)
def test_spikes_are_removed(where, width):
    clean = _noisy_peaks()
    spiked = clean.copy()
    spiked[where : where + width] += 3.0
    out, mask = remove_spikes([spiked], return_mask=True)
    hit = np.flatnonzero(mask[0])
    assert set(range(where, min(where + width, W.size))) <= set(hit)
    assert hit.size <= width + 2  # at most one extra point on each side
    assert np.abs(out[0] - clean).max() < 0.1
    untouched = ~mask[0]
    np.testing.assert_array_equal(out[0, untouched], spiked[untouched])


def test_real_peaks_and_noise_are_kept():
    x = _noisy_peaks(1)
    sharp = x + gaussian(W, 1300, 2.5, height=5.0)  # FWHM ~6 points, strong
    for spectrum in (x, sharp):
        out, mask = remove_spikes([spectrum], return_mask=True)
        assert not mask.any()
        np.testing.assert_array_equal(out[0], spectrum)
    noise = np.random.default_rng(2).normal(size=(50, 500))
    assert not remove_spikes(noise, return_mask=True)[1].any()


def test_spike_window_limits_width():
    x = _noisy_peaks()
    x[600:605] += 3.0  # 5 points wide: a band for window=3, a spike for window=5
    assert not remove_spikes([x], window=3, return_mask=True)[1].any()
    assert remove_spikes([x], window=5, return_mask=True)[1][0, 600:605].all()


def test_spike_remover_estimator_equals_function():
    X = np.vstack([_noisy_peaks(s) for s in range(3)])
    X[1, 500] += 2.0
    est = SpikeRemover(threshold=6.0, window=3).fit(X)
    np.testing.assert_array_equal(est.transform(X), remove_spikes(X))
    assert not np.array_equal(est.transform(X), X)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (
            {"threshold": 0},
            ValueError,
            r"The 'threshold' parameter of SpikeRemover must be a float in the "
            r"range \(0.0, inf\)\. Got 0 instead",
        ),
        (
            {"window": 0},
            ValueError,
            r"The 'window' parameter of SpikeRemover must be an int in the range "
            r"\[1, inf\)\. Got 0 instead",
        ),
        (
            {"window": 2.5},
            TypeError,
            r"The 'window' parameter of SpikeRemover must be an int in the range "
            r"\[1, inf\)\. Got 2.5 instead",
        ),
    ],
)
def test_spike_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        SpikeRemover(**kwargs).fit(np.ones((2, 5)))


# --------------------------------------------------------------------------- properties
STEPS = {
    "minmax": (SpectrumNormalizer("minmax"), lambda X: normalize_spectra(X, "minmax")),
    "snv": (SpectrumNormalizer("snv"), lambda X: normalize_spectra(X, "snv")),
    "savgol": (SavitzkyGolay(5, 2), lambda X: savgol_smooth(X, 5, 2)),
    "spikes": (SpikeRemover(), lambda X: remove_spikes(X)),
    "arpls": (
        BaselineRemover("arpls", lam=100.0),
        lambda X: remove_baseline(X, method="arpls", lam=100.0),
    ),
}


@settings(max_examples=15, deadline=None)
@given(
    name=st.sampled_from(sorted(STEPS)),
    n=st.integers(1, 4),
    p=st.integers(8, 40),
    seed=st.integers(0, 2**16),
)
def test_cleaning_properties(name, n, p, seed):
    est, func = STEPS[name]
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + np.linspace(0.0, 3.0, p)
    X.flags.writeable = False
    before = X.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pybaselines convergence notes
        out = est.fit(X).transform(X)
        again = est.transform(X)
        out_f = func(X)
        rev = est.fit(X[:, ::-1]).transform(X[:, ::-1])
    np.testing.assert_array_equal(X, before)  # input unchanged
    np.testing.assert_array_equal(again, out)  # repeated calls identical
    np.testing.assert_array_equal(out_f, out)  # function equals estimator
    assert out.dtype == np.float64 and out.shape == X.shape and np.isfinite(out).all()
    if name in ("minmax", "snv", "savgol"):  # mirror-symmetric operations
        np.testing.assert_allclose(rev[:, ::-1], out, rtol=1e-10, atol=1e-10)
