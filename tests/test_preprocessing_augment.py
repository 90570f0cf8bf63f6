"""SpectralAugmenter / augment_spectra: counts, balance, noise level, inputs."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline as SkPipeline

from raman_sk.preprocessing import SpectralAugmenter, augment_spectra

imblearn_pipeline = pytest.importorskip("imblearn.pipeline")


@pytest.fixture
def unbalanced(synthetic):
    # 12 alpha, 6 beta, 3 gamma
    keep = np.r_[0:12, 12:18, 24:27]
    return synthetic.data[keep], synthetic.target[keep]


def test_counts_and_originals_first(synthetic):
    X, y = synthetic.data, synthetic.target
    aug = SpectralAugmenter(n_copies=4, random_state=0)
    X_aug, y_aug = aug.fit_resample(X, y)
    assert X_aug.shape == (36 * 5, 256) and y_aug.shape == (180,)
    assert X_aug.dtype == np.float64
    np.testing.assert_array_equal(X_aug[:36], X)
    np.testing.assert_array_equal(y_aug[:36], y)
    # copies grouped by original, in input order, with the original's label
    np.testing.assert_array_equal(aug.sample_indices_[36:], np.repeat(np.arange(36), 4))
    np.testing.assert_array_equal(y_aug[36:], np.repeat(y, 4))
    assert y_aug.dtype == y.dtype  # original (string) labels
    assert aug.n_features_in_ == 256
    assert aug.classes_.tolist() == ["alpha", "beta", "gamma"]


def test_zero_copies_returns_originals(synthetic):
    X_aug, y_aug = augment_spectra(synthetic.data, synthetic.target, n_copies=0)
    np.testing.assert_array_equal(X_aug, synthetic.data)
    np.testing.assert_array_equal(y_aug, synthetic.target)


def test_default_is_fifteen_copies(synthetic):
    X_aug, _ = SpectralAugmenter(random_state=0).fit_resample(
        synthetic.data[:4], synthetic.target[:4]
    )
    assert X_aug.shape[0] == 4 * 16


def test_balance_classes_equalises_counts(unbalanced):
    X, y = unbalanced
    aug = SpectralAugmenter(n_copies=2, balance_classes=True, random_state=0)
    X_aug, y_aug = aug.fit_resample(X, y)
    labels, counts = np.unique(y_aug, return_counts=True)
    assert labels.tolist() == ["alpha", "beta", "gamma"]
    assert counts.tolist() == [36, 36, 36]  # 12 * (1 + 2) for every class
    # the extra copies are spread evenly over a class's spectra (differ by <= 1)
    per_original = np.bincount(aug.sample_indices_, minlength=X.shape[0]) - 1
    gamma = per_original[y == "gamma"]
    assert gamma.tolist() == [11, 11, 11]
    beta = per_original[y == "beta"]
    assert beta.tolist() == [5] * 6
    np.testing.assert_array_equal(X_aug[: X.shape[0]], X)


def test_balance_classes_with_remainder():
    X = np.random.default_rng(0).random((5, 10))
    y = np.array(["a", "a", "a", "b", "b"])
    aug = SpectralAugmenter(n_copies=1, balance_classes=True, random_state=0)
    _, y_aug = aug.fit_resample(X, y)
    assert np.unique(y_aug, return_counts=True)[1].tolist() == [6, 6]
    per_b = np.bincount(aug.sample_indices_, minlength=5)[3:] - 1
    assert sorted(per_b.tolist()) == [2, 2]  # 4 copies over 2 spectra


def test_float32_is_kept(synthetic):
    X = synthetic.data[:4].astype(np.float32)
    X_aug, _ = augment_spectra(X, n_copies=2, shift_max=1.5, baseline_drift=0.1)
    assert X_aug.dtype == np.float32 and X_aug.shape == (12, 256)
    np.testing.assert_array_equal(X_aug[:4], X)
    X64, _ = augment_spectra(synthetic.data[:4].tolist(), n_copies=1)
    assert X64.dtype == np.float64


def test_reproducible_with_random_state(synthetic):
    X, y = synthetic.data[:6], synthetic.target[:6]
    kw = {"n_copies": 3, "shift_max": 2.5, "baseline_drift": 0.1, "random_state": 7}
    a = SpectralAugmenter(**kw).fit_resample(X, y)[0]
    b = SpectralAugmenter(**kw).fit_resample(X, y)[0]
    c = SpectralAugmenter(**{**kw, "random_state": 8}).fit_resample(X, y)[0]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    for rs in (np.random.RandomState(3), np.random.default_rng(3)):
        d = augment_spectra(X, y, n_copies=3, random_state=rs)[0]
        e = augment_spectra(X, y, n_copies=3, random_state=rs)[0]
        assert not np.array_equal(d, e)  # a shared RandomState/Generator advances


def test_input_unchanged_readonly(synthetic):
    X = synthetic.data.copy()
    y = synthetic.target.copy()
    X.flags.writeable = False
    y.flags.writeable = False
    aug = SpectralAugmenter(
        n_copies=2, shift_max=1.5, baseline_drift=0.2, random_state=0
    )
    aug.fit_resample(X, y)
    np.testing.assert_array_equal(X, synthetic.data)
    np.testing.assert_array_equal(y, synthetic.target)


def test_noise_level_relative_to_range():
    rng = np.random.default_rng(0)
    X = rng.random((4, 2000)) * np.array([[1.0], [10.0], [100.0], [0.5]])
    ranges = np.ptp(X, axis=1)
    aug = SpectralAugmenter(
        n_copies=5, noise_std=0.02, scale_range=(1, 1), random_state=0
    )
    X_aug, _ = aug.fit_resample(X, np.zeros(4))
    residual = X_aug[4:] - X[aug.sample_indices_[4:]]
    measured = residual.std(axis=1) / ranges[aug.sample_indices_[4:]]
    np.testing.assert_allclose(measured, 0.02, rtol=0.06)
    # zero-mean: each copy's mean offset is within 4 standard errors
    offsets = residual.mean(axis=1) / ranges[aug.sample_indices_[4:]]
    assert np.abs(offsets).max() < 4 * 0.02 / np.sqrt(2000)


def test_scaling_only():
    X = np.array([[1.0, 2.0, 3.0]])
    X_aug, _ = augment_spectra(
        X, n_copies=50, noise_std=0.0, scale_range=(0.5, 2.0), random_state=0
    )
    factors = X_aug[1:] / X
    np.testing.assert_allclose(factors, factors[:, :1] * np.ones((1, 3)), rtol=1e-14)
    assert 0.5 <= factors.min() and factors.max() <= 2.0
    assert np.ptp(factors) > 1.0  # the range is actually used


def test_integer_shift_is_exact_and_has_no_wraparound():
    x = np.arange(10.0)
    X_aug, _ = augment_spectra(
        [x], n_copies=30, noise_std=0, scale_range=(1, 1), shift_max=2, random_state=0
    )
    seen = set()
    for row in X_aug[1:]:
        s = int(row[5] - 5.0) * -1  # content moved by s steps to the right
        seen.add(s)
        expected = np.clip(np.arange(10) - s, 0, 9).astype(float)
        np.testing.assert_array_equal(row, expected)
    assert seen == {-2, -1, 0, 1, 2}


def test_fractional_shift_interpolates():
    x = np.arange(10.0) * 2.0
    X_aug, _ = augment_spectra(
        [x], n_copies=5, noise_std=0, scale_range=(1, 1), shift_max=0.5, random_state=1
    )
    shifts = x[5] - X_aug[1:, 5]  # linear data: value drop = 2 * shift
    assert np.all(np.abs(shifts) <= 1.0 + 1e-12) and np.unique(shifts).size == 5
    inner = X_aug[1:, 1:-1] - x[1:-1]
    np.testing.assert_allclose(inner, -shifts[:, None] * np.ones((1, 8)), atol=1e-12)


def test_baseline_drift_is_smooth_and_bounded():
    x = np.zeros(500)
    x[250] = 1.0  # range 1
    X_aug, _ = augment_spectra(
        [x],
        n_copies=20,
        noise_std=0,
        scale_range=(1, 1),
        baseline_drift=0.3,
        baseline_order=2,
        random_state=0,
    )
    drift = X_aug[1:] - x
    assert np.abs(drift).max() <= 0.3 + 1e-12
    assert np.abs(drift).max() > 0.05
    # a degree-2 polynomial: third differences vanish
    np.testing.assert_allclose(np.diff(drift, n=3, axis=1), 0.0, atol=1e-12)


def test_mix_within_class_mixes_only_other_spectra_of_the_class():
    # three spectra of class a (one-hot at 0, 1, 2), one of class b (at 3)
    X = np.eye(4)
    y = np.array(["a", "a", "a", "b"])
    X_aug, y_aug = augment_spectra(
        X,
        y,
        n_copies=40,
        noise_std=0,
        scale_range=(1, 1),
        mix_within_class=0.5,
        random_state=0,
    )
    copies, labels = X_aug[4:], y_aug[4:]
    np.testing.assert_allclose(copies.sum(axis=1), 1.0)  # convex weights
    a = copies[labels == "a"]
    own = a[np.arange(len(a)), np.repeat([0, 1, 2], 40)]
    assert own.min() >= 0.5 - 1e-12 and own.max() <= 1.0
    assert own.min() < 0.6  # the weight range is used
    assert np.all(a[:, 3] == 0)  # never mixed with another class
    # every partner is another member: exactly two non-zero entries (or one at w=0)
    assert np.all((a > 0).sum(axis=1) <= 2)
    partners = {
        (i // 40, int(j)) for i, row in enumerate(a) for j in np.flatnonzero(row)
    }
    assert {(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)} <= partners
    # the single b spectrum has no partner: its copies stay unmixed
    np.testing.assert_array_equal(copies[labels == "b"], np.tile(X[3], (40, 1)))


def test_broadening_keeps_area_and_widens_bands():
    x = np.zeros(201)
    x[100] = 1.0
    X_aug, _ = augment_spectra(
        [x],
        n_copies=20,
        noise_std=0,
        scale_range=(1, 1),
        broaden_max=4.0,
        random_state=0,
    )
    copies = X_aug[1:]
    np.testing.assert_allclose(copies.sum(axis=1), 1.0, atol=1e-12)  # area kept
    # a unit impulse becomes a Gaussian of sigma <= 4 points: peak >= 1/(4 sqrt(2 pi))
    assert copies[:, 100].min() >= 1 / (4 * np.sqrt(2 * np.pi)) - 1e-9
    assert copies[:, 100].max() <= 1.0 and copies[:, 100].min() < 0.2


def test_power_changes_relative_heights_and_keeps_the_range():
    x = np.array([0.0, 0.25, 1.0, 0.5, 0.0]) * 4 + 2  # range 4 above an offset
    X_aug, _ = augment_spectra(
        [x], n_copies=30, noise_std=0, scale_range=(1, 1), power_max=2.0,
        random_state=0,
    )
    copies = X_aug[1:]
    # min and max stay; (h - 2) / 4 = 0.25 becomes 0.25 ** g with 1/2 <= g <= 2
    np.testing.assert_allclose(copies.min(axis=1), 2.0)
    np.testing.assert_allclose(copies.max(axis=1), 6.0)
    share = (copies[:, 1] - 2) / 4
    assert np.all((share >= 0.25**2 - 1e-12) & (share <= 0.25**0.5 + 1e-12))
    assert share.min() < 0.15 and share.max() > 0.4  # both directions drawn
    g = np.log(share) / np.log(0.25)
    np.testing.assert_allclose((copies[:, 3] - 2) / 4, 0.5**g)  # one power per row


def test_response_drift_is_smooth_and_bounded():
    x = np.ones(101)
    X_aug, _ = augment_spectra(
        [x], n_copies=20, noise_std=0, scale_range=(1, 1), response_drift=0.3,
        random_state=1,
    )
    copies = X_aug[1:]
    assert np.all(np.abs(copies - 1) <= 0.3 + 1e-12)
    assert np.abs(copies - 1).max() > 0.1
    # a quadratic response (baseline_order=2): third differences vanish
    np.testing.assert_allclose(np.diff(copies, n=3, axis=1), 0, atol=1e-12)


def test_new_options_leave_the_default_stream_unchanged(synthetic):
    X, y = synthetic.data, synthetic.target
    before = augment_spectra(X, y, n_copies=2, shift_max=2, random_state=3)[0]
    after = augment_spectra(
        X,
        y,
        n_copies=2,
        shift_max=2,
        mix_within_class=0.0,
        broaden_max=0.0,
        power_max=1.0,
        response_drift=0.0,
        random_state=3,
    )[0]
    np.testing.assert_array_equal(before, after)


def test_mixing_needs_labels():
    with pytest.raises(ValueError, match="mix_within_class=0.3 needs the labels y"):
        SpectralAugmenter(mix_within_class=0.3).fit_resample(np.ones((2, 3)))
    with pytest.raises(ValueError, match="mix_within_class=0.3 needs the labels y"):
        augment_spectra(np.ones((2, 3)), mix_within_class=0.3)


def test_constant_spectrum_gets_no_noise():
    X_aug, _ = augment_spectra(np.ones((1, 5)), n_copies=3, scale_range=(1, 1))
    np.testing.assert_array_equal(X_aug, np.ones((4, 5)))


def test_dataframe_and_series_kept(synthetic):
    cols = [str(w) for w in synthetic.wavenumbers]
    X = pd.DataFrame(synthetic.data[:3], columns=cols)
    y = pd.Series(synthetic.target[:3], name="label")
    X_aug, y_aug = SpectralAugmenter(n_copies=1, random_state=0).fit_resample(X, y)
    assert isinstance(X_aug, pd.DataFrame) and list(X_aug.columns) == cols
    assert isinstance(y_aug, pd.Series) and y_aug.name == "label"
    assert X_aug.shape == (6, 256) and y_aug.tolist()[3:] == y.tolist()


def test_no_transform_and_clone():
    aug = SpectralAugmenter(n_copies=3, random_state=0)
    assert not hasattr(aug, "transform")
    assert clone(aug).get_params() == aug.get_params()


def test_imblearn_pipeline_step(synthetic):
    X, y = synthetic.data, synthetic.target
    aug = SpectralAugmenter(n_copies=2, random_state=0)
    pipe = imblearn_pipeline.Pipeline(
        [("augment", aug), ("clf", LogisticRegression(max_iter=200))]
    )
    pipe.fit(X, y)
    assert pipe.named_steps["clf"].coef_.shape == (3, 256)
    assert pipe.named_steps["augment"].sample_indices_.shape == (108,)
    assert pipe.score(X, y) == 1.0
    # predict does not augment: one prediction per input row, string labels
    assert pipe.predict(X[:5]).tolist() == y[:5].tolist()


def test_sklearn_pipeline_refuses_it_as_intermediate_step(synthetic):
    pipe = SkPipeline([("augment", SpectralAugmenter()), ("clf", LogisticRegression())])
    with pytest.raises(TypeError, match="implement fit and transform"):
        pipe.fit(synthetic.data, synthetic.target)


# --------------------------------------------------------------------------- bad input
INT_0 = r"must be an int in the range \[0, inf\)"
REAL_0 = r"must be a float in the range \[0.0, inf\)"
PAIR = r"scale_range must be a pair \(low, high\) of numbers with 0 < low <= high"


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (
            {"n_copies": -1},
            ValueError,
            rf"'n_copies' parameter of CALLER {INT_0}\. Got -1 ",
        ),
        (
            {"n_copies": 1.5},
            TypeError,
            rf"'n_copies' parameter of CALLER {INT_0}\. Got 1.5 ",
        ),
        (
            {"noise_std": -0.1},
            ValueError,
            rf"'noise_std' parameter of CALLER {REAL_0}\. Got -0.1 ",
        ),
        (
            {"noise_std": "big"},
            TypeError,
            rf"'noise_std' parameter of CALLER {REAL_0}\. Got 'big' ",
        ),
        ({"scale_range": (1.1, 0.9)}, ValueError, rf"{PAIR}; got \(1.1, 0.9\)"),
        ({"scale_range": (0.0, 1.0)}, ValueError, rf"{PAIR}; got \(0.0, 1.0\)"),
        ({"scale_range": (1.0,)}, ValueError, rf"{PAIR}; got \(1.0,\)"),
        (
            {"scale_range": 1.0},
            TypeError,
            r"'scale_range' parameter of CALLER must be an array-like\. Got 1.0 ",
        ),
        (
            {"shift_max": -1},
            ValueError,
            rf"'shift_max' parameter of CALLER {REAL_0}\. Got -1 ",
        ),
        (
            {"baseline_drift": -0.5},
            ValueError,
            rf"'baseline_drift' parameter of CALLER {REAL_0}\. Got -0.5 ",
        ),
        (
            {"baseline_order": -1},
            ValueError,
            rf"'baseline_order' parameter of CALLER {INT_0}\. Got -1 ",
        ),
        (
            {"mix_within_class": 1.0},
            ValueError,
            r"'mix_within_class' parameter of CALLER must be a float in the range "
            r"\[0.0, 1.0\)\. Got 1.0 ",
        ),
        (
            {"broaden_max": -2.0},
            ValueError,
            rf"'broaden_max' parameter of CALLER {REAL_0}\. Got -2.0 ",
        ),
        (
            {"power_max": 0.5},
            ValueError,
            r"'power_max' parameter of CALLER must be a float in the range "
            r"\[1.0, inf\)\. Got 0.5 ",
        ),
        (
            {"response_drift": 1.0},
            ValueError,
            r"'response_drift' parameter of CALLER must be a float in the range "
            r"\[0.0, 1.0\)\. Got 1.0 ",
        ),
        (
            {"balance_classes": "yes"},
            TypeError,
            r"'balance_classes' parameter of CALLER must be an instance of 'bool' "
            r"or an instance of 'numpy.bool'\. Got 'yes' ",
        ),
    ],
)
def test_bad_parameters(kwargs, exc, match):
    X, y = np.ones((2, 4)), np.array(["a", "b"])
    with pytest.raises(exc, match=match.replace("CALLER", "SpectralAugmenter")):
        SpectralAugmenter(**kwargs).fit_resample(X, y)
    with pytest.raises(exc, match=match.replace("CALLER", "augment_spectra")):
        augment_spectra(X, y, **kwargs)


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        ([[1.0, np.nan, 2.0]], ["a"], "NaN"),
        ([[1.0, np.inf, 2.0]], ["a"], "infinity"),
        (np.ones((0, 3)), [], "0 sample"),
        (np.ones((2, 2, 3)), ["a", "b"], "must be 2-D"),
        (np.ones((2, 3)), ["a"], "y has 1 labels but X has 2 spectra"),
        ([[1.0, 2.0], [1.0]], ["a", "b"], "ragged"),
    ],
)
def test_bad_data(X, y, match):
    with pytest.raises(ValueError, match=match):
        SpectralAugmenter(n_copies=1).fit_resample(X, y)


def test_balance_needs_labels():
    with pytest.raises(ValueError, match="balance_classes=True needs the labels y"):
        SpectralAugmenter(balance_classes=True).fit_resample(np.ones((2, 3)))


# --------------------------------------------------------------------------- properties
@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(1, 5),
    p=st.integers(2, 30),
    n_copies=st.integers(0, 3),
    shift=st.sampled_from([0, 2, 1.5]),
    balance=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_properties(n, p, n_copies, shift, balance, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = rng.choice(["a", "b"], size=n)
    X.flags.writeable = False
    before = X.copy()
    kw = {
        "n_copies": n_copies,
        "shift_max": shift,
        "baseline_drift": 0.1,
        "balance_classes": balance,
        "random_state": seed,
    }
    aug = SpectralAugmenter(**kw)
    X1, y1 = aug.fit_resample(X, y)
    X2, y2 = aug.fit_resample(X, y)
    np.testing.assert_array_equal(X, before)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, y3 = augment_spectra(X, y, **kw)
    np.testing.assert_array_equal(X1, X3)
    np.testing.assert_array_equal(y1, y3)
    assert np.isfinite(X1).all()
    if balance:
        counts = np.unique(y1, return_counts=True)[1]
        assert counts.min() == counts.max()
    else:
        assert X1.shape == (n * (1 + n_copies), p)
