"""Property-based tests: random axes, lengths and values never crash.

For the resampler and every cleaning transformer, hypothesis draws spectra of
random length (down to 1 point), random intensities (any finite float64, up
to +-1.8e308, subnormals included) and random axes (unsorted, duplicated,
steps down to 1e-300 cm-1). Each call must either return finite float64
values of the documented shape, or raise one of the documented errors
(``ValueError``/``TypeError`` from raman_sk's own checks or sklearn's input
validation), never an error from numpy/scipy/pybaselines internals, and never
emit a warning from them (pybaselines' early-stop ``ParameterWarning`` aside:
its result is still a baseline). The examples that found the bugs fixed with
these tests are pinned with ``@example``.

Small ``max_examples`` keep the default run quick; raise them locally
(``HYPOTHESIS_PROFILE`` is not used) to fuzz harder.
"""

import traceback
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from raman_sk.preprocessing import (
    BaselineRemover,
    SavitzkyGolay,
    SpectrumNormalizer,
    SpikeRemover,
    WavenumberCropper,
    WavenumberResampler,
)

FAST = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
ANY_FLOAT = st.floats(allow_nan=False, allow_infinity=False, width=64)
AXIS_VALUE = st.one_of(st.floats(-1e4, 1e4), ANY_FLOAT)


def _own_error(exc: BaseException) -> bool:
    """Raised by raman_sk's checks or sklearn's validation, not deep inside."""
    last = traceback.extract_tb(exc.__traceback__)[-1].filename.replace("\\", "/")
    return "raman_sk/" in last or "sklearn/utils/" in last


def _call(fn):
    """Run fn; return its output, or None for a documented error."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = fn()
        except (ValueError, TypeError) as exc:
            assert _own_error(exc), f"error from library internals: {exc!r}"
            assert str(exc), "an error without a message"
            out = None
    for w in caught:
        name = type(w.message).__name__
        if name == "ParameterWarning":
            continue  # pybaselines: iteration stopped early; still a baseline
        assert "raman_sk/" in w.filename.replace("\\", "/"), (
            f"warning from library internals: {name}: {w.message}"
        )
    return out


@st.composite
def spectra(draw, min_points=1, max_points=30):
    n = draw(st.integers(1, 3))
    p = draw(st.integers(min_points, max_points))
    rows = draw(
        st.lists(st.lists(ANY_FLOAT, min_size=p, max_size=p), min_size=n, max_size=n)
    )
    return np.array(rows, dtype=np.float64)


@st.composite
def pairs(draw):
    """(wavenumbers, intensities) pairs, each with its own random axis."""
    out = []
    for _ in range(draw(st.integers(1, 3))):
        p = draw(st.integers(1, 25))
        axis = draw(st.lists(AXIS_VALUE, min_size=p, max_size=p))
        values = draw(st.lists(ANY_FLOAT, min_size=p, max_size=p))
        out.append((np.array(axis), np.array(values)))
    return out


def _grid(draw_list):
    return np.unique(np.array(draw_list, dtype=np.float64))


@FAST
@given(
    spectra=pairs(),
    grid=st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=15),
    method=st.sampled_from(["linear", "pchip"]),
    coverage=st.sampled_from(["raise", "fill", "edge"]),
    bin_average=st.booleans(),
)
# PCHIP slopes over a 1.9e-299 cm-1 step overflowed (scipy's `dydx` error)
@example(
    spectra=[(np.r_[np.zeros(9), 1.0, 1.9e-299], np.r_[np.zeros(10), 1.0])],
    grid=[0.0, 2.2e-309],
    method="pchip",
    coverage="raise",
    bin_average=False,
)
# intensities near the float64 limit overflowed the bin means to NaN
@example(
    spectra=[(np.arange(6.0), np.array([1.7e308, -1.7e308] * 3))],
    grid=[0.5, 1.0, 2.5],
    method="linear",
    coverage="raise",
    bin_average=True,
)
def test_resampler_never_crashes(spectra, grid, method, coverage, bin_average):
    target = _grid(grid)
    resampler = WavenumberResampler(
        target_wavenumbers=target,
        method=method,
        coverage=coverage,
        bin_average=bin_average,
    )
    out = _call(lambda: resampler.fit_transform(spectra))
    if out is not None:
        assert out.shape == (len(spectra), target.size)
        assert out.dtype == np.float64
        assert np.all(np.isfinite(out))


@FAST
@given(X=spectra(min_points=2), data=st.data())
def test_resampler_on_a_shared_axis_matches_pairs(X, data):
    """Rows sharing one axis give the same result as the same rows as pairs."""
    p = X.shape[1]
    axis = np.array(data.draw(st.lists(st.floats(0, 3000), min_size=p, max_size=p)))
    target = np.linspace(axis.min(), axis.max(), 7)
    shared = _call(
        lambda: WavenumberResampler(
            wavenumbers=axis, target_wavenumbers=target
        ).fit_transform(X)
    )
    as_pairs = _call(
        lambda: WavenumberResampler(target_wavenumbers=target).fit_transform(
            [(axis, row) for row in X]
        )
    )
    assert (shared is None) == (as_pairs is None)
    if shared is not None:
        np.testing.assert_array_equal(shared, as_pairs)


CLEANERS = {
    "BaselineRemover[airpls]": lambda w: BaselineRemover(wavenumbers=w),
    "BaselineRemover[arpls]": lambda w: BaselineRemover("arpls", wavenumbers=w),
    "BaselineRemover[modpoly]": lambda w: BaselineRemover("modpoly", wavenumbers=w),
    "SavitzkyGolay": lambda w: SavitzkyGolay(window_length=5, polyorder=2),
    "SavitzkyGolay[deriv]": lambda w: SavitzkyGolay(5, 2, deriv=1, mode="nearest"),
    "SpectrumNormalizer[minmax]": lambda w: SpectrumNormalizer(),
    "SpectrumNormalizer[l2]": lambda w: SpectrumNormalizer("l2"),
    "SpectrumNormalizer[snv]": lambda w: SpectrumNormalizer("snv"),
    "SpectrumNormalizer[area]": lambda w: SpectrumNormalizer("area"),
    "WavenumberCropper": lambda w: WavenumberCropper(np.median(w), None, wavenumbers=w),
    "SpikeRemover": lambda w: SpikeRemover(),
}


@pytest.mark.parametrize("name", list(CLEANERS))
@FAST
@given(X=spectra(), data=st.data())
# values near the float64 limit: silent inf/NaN (minmax, savgol, spikes) or
# silent zeros (snv: the variance overflowed), modpoly crashed in numpy
@example(X=np.array([[1.7e308, -1.7e308, 1.0, 3.0]]), data=None)
@example(X=np.array([[4e192, 1.0, -4e192, 2.0, 0.5]]), data=None)
def test_cleaning_never_crashes(name, X, data):
    p = X.shape[1]
    if data is None:
        axis = np.arange(float(p))
    else:
        values = st.lists(AXIS_VALUE, min_size=p, max_size=p, unique=True)
        axis = np.array(data.draw(values))
    step = CLEANERS[name](axis)
    out = _call(lambda: step.fit_transform(X))
    if out is None:
        return
    assert out.dtype == np.float64 and out.shape[0] == X.shape[0]
    assert np.all(np.isfinite(out))
    if not name.startswith("WavenumberCropper"):
        assert out.shape == X.shape
    if name == "SpectrumNormalizer[snv]":
        # a non-constant spectrum keeps unit variance (no silent zeros)
        varies = X.max(axis=1) > X.min(axis=1)
        np.testing.assert_allclose(out[varies].std(axis=1), 1.0, rtol=1e-6)
    if name == "SpectrumNormalizer[minmax]":
        varies = X.max(axis=1) > X.min(axis=1)
        np.testing.assert_allclose(out[varies].max(axis=1), 1.0, rtol=1e-12)
        np.testing.assert_allclose(out[varies].min(axis=1), 0.0, atol=1e-12)
