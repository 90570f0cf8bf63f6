"""WavenumberResampler / resample_spectra: exactness, policies, inputs, bad input."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import Bunch

from raman_sk.preprocessing import WavenumberResampler, resample_spectra
from raman_sk.utils import default_grid

GRID = default_grid()


def _axis(step, lo=440.0, hi=1810.0, jitter=0.0, seed=0):
    w = np.arange(lo, hi, step)
    if jitter:
        w = np.sort(w + np.random.default_rng(seed).uniform(-jitter, jitter, w.size))
    return w


# --------------------------------------------------------------------------- exactness
@pytest.mark.parametrize("step", [0.3, 1.0, 1.7, 4.1])
@pytest.mark.parametrize("bin_average", [True, False])
def test_linear_function_reproduced_exactly(step, bin_average):
    w = _axis(step, jitter=0.1 * step)
    y = 3.0 + 0.01 * w
    out = resample_spectra([y], w, bin_average=bin_average)
    # exact up to float rounding of the bin integrals
    np.testing.assert_allclose(out[0], 3.0 + 0.01 * GRID, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("method", ["linear", "pchip"])
@pytest.mark.parametrize("bin_average", [True, False])
def test_on_grid_spectrum_passes_through_unchanged(method, bin_average):
    X = np.random.default_rng(1).normal(size=(3, GRID.size))
    out = resample_spectra(X, GRID, method=method, bin_average=bin_average)
    np.testing.assert_array_equal(out, X)


@pytest.mark.parametrize("method", ["linear", "pchip"])
def test_reversed_and_unsorted_axis_give_same_output(method):
    rng = np.random.default_rng(2)
    w = _axis(0.7)
    X = rng.normal(size=(2, w.size))
    ref = resample_spectra(X, w, method=method)
    rev = resample_spectra(X[:, ::-1], w[::-1], method=method)
    perm = rng.permutation(w.size)
    shuffled = resample_spectra(X[:, perm], w[perm], method=method)
    np.testing.assert_array_equal(rev, ref)
    np.testing.assert_array_equal(shuffled, ref)


def test_duplicates_are_averaged():
    w = [1000.0, 1001.0, 1001.0, 1002.0]
    y = [0.0, 1.0, 3.0, 4.0]
    out = resample_spectra([y], w, [1000.0, 1001.0, 1002.0])
    np.testing.assert_array_equal(out, [[0.0, 2.0, 4.0]])


def test_bin_average_hand_computed():
    # source step 0.5, target step 1: mean of the linear interpolant of x**2 over
    # [t - 0.5, t + 0.5] = (y(t-0.5) + 2 y(t) + y(t+0.5)) / 4 = t**2 + 0.125
    w = np.arange(990.0, 1010.0 + 0.25, 0.5)
    t = np.arange(995.0, 1006.0)
    out = resample_spectra([w**2], w, t)
    np.testing.assert_allclose(out[0], t**2 + 0.125, rtol=1e-13)
    point = resample_spectra([w**2], w, t, bin_average=False)
    np.testing.assert_allclose(point[0], t**2, rtol=1e-13)


def test_bin_average_lowers_noise_versus_point_sampling():
    rng = np.random.default_rng(3)
    w = np.arange(400.0, 1900.0, 1.0)
    X = 1.0 + rng.normal(0.0, 0.1, size=(50, w.size))
    t = np.arange(450.0, 1801.0, 4.0)
    averaged = resample_spectra(X, w, t).std()
    sampled = resample_spectra(X, w, t, bin_average=False).std()
    ratio = averaged / sampled
    # trapezoid weights (1, 2, 2, 2, 1) / 8 over 5 points: sqrt(14) / 8 = 0.468
    assert 0.42 < ratio < 0.52
    assert sampled == pytest.approx(0.1, rel=0.05)


def test_pchip_preserves_shape_of_a_step():
    w = np.arange(0.0, 10.0)
    y = (w >= 5).astype(float)
    out = resample_spectra([y], w, np.linspace(0, 9, 91), method="pchip")
    assert out.min() >= 0.0 and out.max() <= 1.0  # no overshoot
    assert np.all(np.diff(out[0]) >= -1e-15)  # monotone stays monotone


# --------------------------------------------------------------------------- coverage
RENISHAW = np.linspace(1808.2, 712.4, 1015)  # descending, like the instrument


def test_coverage_raise_names_spectrum_source_and_range():
    pairs = [(GRID, np.ones(GRID.size)), (RENISHAW, np.ones(RENISHAW.size))]
    data = Bunch(spectra=pairs, sources=["a.txt", "cell_7.txt"])
    msg = r"spectrum 1 \(cell_7.txt\) covers 712.4-1808.2 cm-1.*missing 450-712 cm-1"
    with pytest.raises(ValueError, match=msg):
        resample_spectra(data)
    with pytest.raises(ValueError, match=msg):
        WavenumberResampler().fit(data)
    with pytest.raises(ValueError, match=r"spectrum 1 covers .*coverage='fill'"):
        WavenumberResampler().fit_transform(pairs)


def test_coverage_raise_for_shared_axis():
    with pytest.raises(ValueError, match=r"shared axis of X covers 712.4-1808.2"):
        WavenumberResampler(wavenumbers=RENISHAW).fit(np.ones((2, RENISHAW.size)))


def test_coverage_fill_and_edge():
    y = 2.0 + 0.001 * RENISHAW
    filled = resample_spectra([(RENISHAW, y)], coverage="fill", fill_value=-1.0)[0]
    inside = (GRID >= 712.4) & (GRID <= 1800)
    assert np.all(filled[GRID < 712.4] == -1.0)
    np.testing.assert_allclose(filled[inside], 2.0 + 0.001 * GRID[inside], rtol=1e-12)
    edge = resample_spectra([(RENISHAW, y)], coverage="edge")[0]
    np.testing.assert_allclose(edge[GRID < 712.4], 2.0 + 0.001 * 712.4, rtol=1e-14)
    np.testing.assert_array_equal(edge[inside], filled[inside])


def test_fitted_resampler_with_fill_transforms_out_of_range_pairs():
    res = WavenumberResampler(coverage="fill", fill_value=0.0).fit(
        [(RENISHAW, np.ones(RENISHAW.size))]
    )
    out = res.transform([(RENISHAW, np.ones(RENISHAW.size))])
    assert out.shape == (1, 1351)
    assert np.isfinite(out).all() and out[0, 0] == 0.0 and out[0, -1] == 1.0


# --------------------------------------------------------------------------- inputs
def test_ragged_pairs_and_read_spectra_bunch():
    w1, w2 = _axis(2.0), _axis(0.9)[::-1]
    pairs = [
        (w1, np.ones(w1.size)),
        (w2, 2 * np.ones(w2.size)),
        (w1, np.zeros(w1.size)),
    ]
    out = WavenumberResampler().fit_transform(pairs)
    np.testing.assert_allclose(out, [[1.0] * 1351, [2.0] * 1351, [0.0] * 1351])
    out2 = WavenumberResampler().fit_transform(
        Bunch(spectra=pairs, sources=list("abc"))
    )
    np.testing.assert_array_equal(out, out2)
    arrays = [np.vstack(p) for p in pairs]  # (2, n) arrays are pairs too
    np.testing.assert_array_equal(resample_spectra(arrays), out)


def test_pairs_with_pandas_output_give_wavenumber_columns():
    w = _axis(1.5)[::-1]
    res = WavenumberResampler(target_wavenumbers=[500.0, 500.5, 501.0])
    out = res.set_output(transform="pandas").fit_transform([(w, 2.0 + 0 * w)] * 2)
    assert isinstance(out, pd.DataFrame) and out.shape == (2, 3)
    assert list(out.columns) == ["500", "500.5", "501"]
    np.testing.assert_allclose(out.to_numpy(), 2.0, rtol=1e-15)


def test_nested_input_that_is_not_pairs_gets_a_clear_error():
    with pytest.raises(ValueError, match="X is ragged or nested"):
        WavenumberResampler().fit([([1.0, 2.0], [[1.0, 2.0], [3.0, 4.0]])])


def test_fitted_with_axis_still_accepts_pairs(synthetic):
    w = synthetic.wavenumbers
    target = np.arange(600.0, 1101.0, 5.0)
    res = WavenumberResampler(wavenumbers=w, target_wavenumbers=target).fit(
        synthetic.data
    )
    assert res.n_features_in_ == 256
    np.testing.assert_array_equal(res.wavenumbers_in_, w)
    pairs = [(w[::-1], x[::-1]) for x in synthetic.data[:4]]
    np.testing.assert_allclose(
        res.transform(pairs), res.transform(synthetic.data[:4]), rtol=1e-14
    )


def test_dataframe_columns_are_the_axis_and_pandas_output(synthetic):
    w = synthetic.wavenumbers
    target = np.array([600.0, 700.5, 1000.0])
    for columns in ([f"{v:.1f}" for v in w], list(w)):
        df = pd.DataFrame(synthetic.data[:3], columns=columns)
        res = WavenumberResampler(target_wavenumbers=target).set_output(
            transform="pandas"
        )
        out = res.fit_transform(df)
        assert list(out.columns) == ["600", "700.5", "1000"]
        expected = resample_spectra(synthetic.data[:3], w, target)
        np.testing.assert_array_equal(out.to_numpy(), expected)
    fitted_on_str = WavenumberResampler(target_wavenumbers=target).fit(
        pd.DataFrame(synthetic.data[:3], columns=[f"{v:.1f}" for v in w])
    )
    assert fitted_on_str.feature_names_in_[0] == "600.0"


def test_feature_names_out_format():
    res = WavenumberResampler(
        wavenumbers=[0.0, 2000.0], target_wavenumbers=[450.0, 450.5, 1234.5678]
    ).fit([[0.0, 1.0]])
    assert res.get_feature_names_out().tolist() == ["450", "450.5", "1234.5678"]
    assert res.transform([[0.0, 1.0]]).dtype == np.float64


def test_does_not_modify_readonly_input(synthetic):
    X = synthetic.data.copy()
    X.flags.writeable = False
    w = synthetic.wavenumbers.copy()
    w.flags.writeable = False
    before = X.copy()
    WavenumberResampler(wavenumbers=w, coverage="edge").fit_transform(X)
    resample_spectra([(w, X[0])], coverage="fill")
    np.testing.assert_array_equal(X, before)


def test_clone_and_unfitted():
    res = WavenumberResampler(wavenumbers=np.arange(3.0), method="pchip")
    cloned = clone(res)
    assert cloned.get_params()["method"] == "pchip"
    with pytest.raises(NotFittedError):
        res.transform([[1.0, 2.0, 3.0]])
    with pytest.raises(NotFittedError):
        res.get_feature_names_out()


# --------------------------------------------------------------------------- bad input
W3 = np.array([1000.0, 1001.0, 1002.0])


@pytest.mark.parametrize(
    ("kwargs", "X", "exc", "match"),
    [
        ({}, np.ones((2, 3)), ValueError, r"plain 2-D array.*wavenumbers=axis"),
        ({"wavenumbers": W3}, [[1.0, np.nan, 2.0]], ValueError, "NaN"),
        ({"wavenumbers": W3}, [[1.0, np.inf, 2.0]], ValueError, "infinity"),
        (
            {"wavenumbers": [1000.0, np.nan, 1002.0]},
            np.ones((1, 3)),
            ValueError,
            r"wavenumbers contains NaN or inf at position\(s\) \[1\]",
        ),
        (
            {"wavenumbers": [1000.0, 1001.0]},
            np.ones((1, 3)),
            ValueError,
            "wavenumbers has 2 values but the spectra have 3 points",
        ),
        (
            {"wavenumbers": ["a", "b", "c"]},
            np.ones((1, 3)),
            TypeError,
            "wavenumbers must be a 1-D array of numbers",
        ),
        (
            {"wavenumbers": [1000.0]},
            np.ones((1, 1)),
            ValueError,
            r"Found array with 1 feature\(s\).*minimum of 2",
        ),
        ({"wavenumbers": W3}, np.ones((0, 3)), ValueError, "0 sample"),
        ({"wavenumbers": W3}, np.ones((2, 2, 3)), ValueError, "must be 2-D"),
        (
            {"wavenumbers": W3, "target_wavenumbers": [1000.0, 1000.0, 1001.0]},
            np.ones((1, 3)),
            ValueError,
            "target_wavenumbers must be strictly increasing",
        ),
        (
            {"wavenumbers": W3, "target_wavenumbers": [1001.0, 1000.0]},
            np.ones((1, 3)),
            ValueError,
            "target_wavenumbers must be strictly increasing",
        ),
        (
            {"wavenumbers": W3, "method": "cubic"},
            np.ones((1, 3)),
            ValueError,
            r"The 'method' parameter of WavenumberResampler must be a str among "
            r"\{'(linear|pchip)', '(linear|pchip)'\}\. Got 'cubic' instead",
        ),
        (
            {"wavenumbers": W3, "coverage": "ignore"},
            np.ones((1, 3)),
            ValueError,
            r"The 'coverage' parameter of WavenumberResampler must be a str among "
            r"\{'\w+', '\w+', '\w+'\}\. Got 'ignore' instead",
        ),
        (
            {"wavenumbers": W3, "bin_average": "yes"},
            np.ones((1, 3)),
            TypeError,
            r"The 'bin_average' parameter of WavenumberResampler must be an "
            r"instance of 'bool' or an instance of 'numpy.bool'\. Got 'yes' instead",
        ),
        (
            {"wavenumbers": W3, "fill_value": "zero"},
            np.ones((1, 3)),
            TypeError,
            r"The 'fill_value' parameter of WavenumberResampler must be an "
            r"instance of 'float'\. Got 'zero' instead",
        ),
        (
            {"wavenumbers": [1000.0, 1000.0, 1000.0]},
            np.ones((1, 3)),
            ValueError,
            "fewer than 2 distinct wavenumbers",
        ),
        ({}, [], ValueError, "X is empty"),
        ({}, [[1.0, 2.0, 3.0], [1.0, 2.0]], ValueError, "ragged"),
        (
            {},
            pd.DataFrame([[1.0, 2.0]], columns=["a", "b"]),
            ValueError,
            r"column names of X \(DataFrame\) must be numeric wavenumbers.*'a'",
        ),
    ],
)
def test_bad_input_messages(kwargs, X, exc, match):
    kwargs.setdefault("target_wavenumbers", [1000.0, 1001.0])
    kwargs.setdefault("coverage", "fill")
    with pytest.raises(exc, match=match):
        WavenumberResampler(**kwargs).fit_transform(X)


@pytest.mark.parametrize(
    ("pairs", "exc", "match"),
    [
        (
            [(W3, [1.0, np.nan, 1.0])],
            ValueError,
            r"intensities of spectrum 0 contain NaN or inf at position\(s\) \[1\]",
        ),
        (
            [(W3, W3), (W3, [1.0, 2.0])],
            ValueError,
            "spectrum 1 has 3 wavenumbers but 2 intensities",
        ),
        (
            [(W3, W3), ([np.inf, 1.0, 2.0], W3)],
            ValueError,
            "wavenumbers of spectrum 1 contains NaN or inf",
        ),
        (
            [(W3, W3), (["x", "y", "z"], W3)],
            TypeError,
            "wavenumbers of spectrum 1 must be a 1-D array of numbers",
        ),
        (
            [(W3, ["a", "b", "c"])],
            TypeError,
            "intensities of spectrum 0 must be numbers",
        ),
        ([([1000.0], [1.0])], ValueError, r"spectrum 0 has 1 point\(s\); at least 2"),
        (
            [(W3, W3), "not a pair"],
            ValueError,
            r"spectrum 1 is not a \(wavenumbers, intensities\) pair",
        ),
    ],
)
def test_bad_pairs_messages(pairs, exc, match):
    with pytest.raises(exc, match=match):
        WavenumberResampler(target_wavenumbers=[1000.0, 1001.0]).fit(pairs)
    with pytest.raises(exc, match=match):
        resample_spectra(pairs, target_wavenumbers=[1000.0, 1001.0])


# --------------------------------------------------------------------------- properties
@st.composite
def spectra_on_axis(draw):
    n_points = draw(st.integers(min_value=2, max_value=40))
    start = draw(st.floats(min_value=400.0, max_value=500.0))
    steps = draw(
        st.lists(st.floats(0.05, 5.0), min_size=n_points - 1, max_size=n_points - 1)
    )
    w = start + np.concatenate([[0.0], np.cumsum(steps)])
    n = draw(st.integers(min_value=1, max_value=3))
    values = draw(
        st.lists(st.floats(-1e3, 1e3), min_size=n * n_points, max_size=n * n_points)
    )
    return w, np.asarray(values, dtype=float).reshape(n, n_points)


@settings(max_examples=25, deadline=None)
@given(spectra_on_axis(), st.sampled_from(["linear", "pchip"]), st.booleans())
def test_properties(data, method, bin_average):
    w, X = data
    target = np.linspace(w[0], w[-1], 17)
    w.flags.writeable = False
    X.flags.writeable = False
    X_before = X.copy()
    opts = {"method": method, "bin_average": bin_average}
    est = WavenumberResampler(wavenumbers=w, target_wavenumbers=target, **opts)
    out = est.fit_transform(X)
    np.testing.assert_array_equal(X, X_before)  # input unchanged
    np.testing.assert_array_equal(est.transform(X), out)  # repeated calls identical
    np.testing.assert_array_equal(resample_spectra(X, w, target, **opts), out)
    rev = resample_spectra(X[:, ::-1], w[::-1], target, **opts)
    np.testing.assert_array_equal(rev, out)  # reversed axis equivalent
    pairs = [(w, x) for x in X]
    np.testing.assert_array_equal(est.transform(pairs), out)
    assert out.dtype == np.float64 and np.isfinite(out).all()
    # interpolation never leaves the range of the data
    lo, hi = X.min(axis=1, keepdims=True), X.max(axis=1, keepdims=True)
    tol = 1e-9 * (1 + np.abs(X).max())
    assert np.all(out >= lo - tol) and np.all(out <= hi + tol)
