"""scikit-learn's estimator checks over every class of raman_sk.preprocessing.

Two classes never guess a wavenumber axis, so sklearn's checks (which feed plain
arrays) fail on them by design: a plain 2-D array without ``wavenumbers=`` is
refused with an error saying how to give the axis. They are listed as expected
failures with that reason. So that the rest of their sklearn contract is
still checked, test-only subclasses that read the axis from the column index
(0, 1, ..., p-1) run the full check suite without expected failures.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import (
    check_param_validation,
    parametrize_with_checks,
)

from raman_sk.preprocessing import (
    BaselineRemover,
    SavitzkyGolay,
    SpectralAugmenter,
    SpectrumNormalizer,
    SpikeRemover,
    WavenumberCropper,
    WavenumberResampler,
    augment_spectra,
    crop_spectra,
    normalize_spectra,
    remove_baseline,
    remove_spikes,
    resample_spectra,
    savgol_smooth,
)


def _index_axis(X):
    """Give a plain 2-D array numeric column names 0..p-1 (its axis)."""
    if isinstance(X, pd.DataFrame):
        return X
    try:
        arr = np.asarray(X)
    except ValueError:  # ragged: left to the estimator
        return X
    if arr.ndim == 2 and arr.shape[1] > 0:
        return pd.DataFrame(arr, columns=np.arange(arr.shape[1]), copy=False)
    return X


class IndexAxisResampler(WavenumberResampler):
    """Test-only: plain arrays get the axis 0..p-1."""

    def fit(self, X, y=None):
        return super().fit(_index_axis(X), y)

    def transform(self, X):
        return super().transform(_index_axis(X))


class IndexAxisCropper(WavenumberCropper):
    """Test-only: plain arrays get the axis 0..p-1."""

    def fit(self, X, y=None):
        return super().fit(_index_axis(X), y)

    def transform(self, X):
        return super().transform(_index_axis(X))


NO_AXIS = (
    "plain arrays carry no wavenumber axis and {name} never guesses one "
    "(a plain array without wavenumbers= is refused with an error saying how to "
    "give the axis); the check runs on {proxy} instead"
)
PLAIN_ARRAY_CHECKS = [
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_transformer_preserve_dtypes",
]
RESAMPLER_REASON = NO_AXIS.format(
    name="WavenumberResampler", proxy="IndexAxisResampler"
)
CROPPER_REASON = NO_AXIS.format(name="WavenumberCropper", proxy="IndexAxisCropper")
EXPECTED_FAILURES = {
    WavenumberResampler: dict.fromkeys(PLAIN_ARRAY_CHECKS, RESAMPLER_REASON),
    WavenumberCropper: dict.fromkeys(PLAIN_ARRAY_CHECKS, CROPPER_REASON),
}
WHITTAKER_REASON = (
    "check_fit_idempotent feeds spectra of 2 points; airPLS's second-difference "
    "penalty needs at least 3, so fit raises a ValueError saying so"
)


def _expected_failures(estimator):
    if type(estimator) is BaselineRemover and estimator.method == "airpls":
        return {"check_fit_idempotent": WHITTAKER_REASON}
    return EXPECTED_FAILURES.get(type(estimator), {})


ESTIMATORS = [
    WavenumberResampler(),
    IndexAxisResampler(target_wavenumbers=[0.0, 0.5, 1.0], method="pchip"),
    SpectralAugmenter(n_copies=2, shift_max=1, baseline_drift=0.1, random_state=0),
    BaselineRemover(lam=10.0),  # airPLS
    BaselineRemover(method="modpoly", poly_order=0),
    SavitzkyGolay(window_length=3, polyorder=1, mode="nearest"),
    SpectrumNormalizer(method="snv"),
    WavenumberCropper(),
    IndexAxisCropper(high=1.0),
    SpikeRemover(),
]


@pytest.mark.filterwarnings("ignore:almost all baseline points")  # pybaselines
@pytest.mark.filterwarnings("ignore:.*cannot be normalised:RuntimeWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_every_public_class_is_checked():
    import raman_sk.preprocessing as pp

    classes = {getattr(pp, n) for n in pp.__all__ if isinstance(getattr(pp, n), type)}
    assert classes == {type(e) for e in ESTIMATORS} - {
        IndexAxisResampler,
        IndexAxisCropper,
    }


@pytest.mark.parametrize(
    "estimator",
    [e for e in ESTIMATORS if type(e) not in (IndexAxisResampler, IndexAxisCropper)],
    ids=lambda e: type(e).__name__,
)
def test_parameters_are_declared_as_sklearn_constraints(estimator):
    """Every parameter has a constraint and fit refuses values outside it."""
    check_param_validation(type(estimator).__name__, estimator)


# each function and its class: one bad parameter, the same check
FUNCTIONS = [
    (augment_spectra, SpectralAugmenter, {"n_copies": -1}),
    (remove_baseline, BaselineRemover, {"lam": -1.0}),
    (crop_spectra, WavenumberCropper, {"low": "500"}),
    (normalize_spectra, SpectrumNormalizer, {"method": "max"}),
    (resample_spectra, WavenumberResampler, {"coverage": "ignore"}),
    (savgol_smooth, SavitzkyGolay, {"deriv": 1.5}),
    (remove_spikes, SpikeRemover, {"threshold": 0.0}),
]


@pytest.mark.parametrize(
    ("function", "cls", "bad"), FUNCTIONS, ids=lambda v: getattr(v, "__name__", "")
)
def test_functions_validate_like_their_class(function, cls, bad):
    (name, value), X = next(iter(bad.items())), np.ones((2, 5))
    for caller, call in (
        (function.__name__, lambda: function(X, **bad)),
        (cls.__name__, lambda: cls(**bad).fit(X)),
    ):
        pattern = rf"The '{name}' parameter of {caller} must be .* Got {value!r}"
        # sklearn's InvalidParameterError is both a ValueError and a TypeError
        with pytest.raises(ValueError, match=pattern) as info:
            call()
        assert isinstance(info.value, TypeError)


def test_functions_cover_every_class():
    import raman_sk.preprocessing as pp

    classes = {getattr(pp, n) for n in pp.__all__ if isinstance(getattr(pp, n), type)}
    assert classes == {cls for _, cls, _ in FUNCTIONS}


def test_no_axis_is_the_reason_of_the_expected_failures():
    X = np.random.default_rng(0).random((5, 4))
    for est in (WavenumberResampler(), WavenumberCropper()):
        with pytest.raises(ValueError, match="wavenumbers=axis"):
            est.fit(X)


def test_pandas_pipeline_keeps_wavenumber_columns(synthetic):
    target = np.arange(600.0, 1101.0, 2.5)
    pipe = make_pipeline(
        WavenumberResampler(
            wavenumbers=synthetic.wavenumbers, target_wavenumbers=target
        ),
        SpikeRemover(),
        BaselineRemover(method="modpoly", poly_order=1),
        SavitzkyGolay(window_length=5, polyorder=2),
        SpectrumNormalizer(),
        WavenumberCropper(700.0, 1000.0),
    ).set_output(transform="pandas")
    out = pipe.fit_transform(synthetic.data)
    assert isinstance(out, pd.DataFrame)
    assert out.columns[0] == "700" and out.columns[1] == "702.5"
    assert out.columns[-1] == "1000" and out.shape == (36, 121)
    np.testing.assert_array_equal(pipe.get_feature_names_out(), out.columns)
    assert all(out.dtypes == np.float64)
    # the same numbers as plain arrays, where the cropper must be given the axis
    plain = clone(pipe).set_output(transform="default")
    with pytest.raises(ValueError, match="WavenumberCropper needs the wavenumber"):
        plain.fit(synthetic.data)
    plain.set_params(wavenumbercropper__wavenumbers=target)
    np.testing.assert_allclose(plain.fit_transform(synthetic.data), out.to_numpy())


def test_pickle_roundtrip_of_fitted_steps(synthetic):
    X, w = synthetic.data, synthetic.wavenumbers
    steps = [
        WavenumberResampler(wavenumbers=w, target_wavenumbers=w[::2]),
        BaselineRemover(lam=1e4, wavenumbers=w),  # 256 points: a softer lam
        SavitzkyGolay(),
        SpectrumNormalizer(method="l2"),
        WavenumberCropper(700, 900, wavenumbers=w),
        SpikeRemover(),
    ]
    for step in steps:
        fitted = step.fit(X)
        again = pickle.loads(pickle.dumps(fitted))
        np.testing.assert_array_equal(again.transform(X), fitted.transform(X))
