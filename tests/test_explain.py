"""IGExplainer: exact IG, completeness, batching, eval mode, fitted maps and regions."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch
from captum.attr import IntegratedGradients
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from torch import nn

import raman_sk.explain
from raman_sk.classifier import RamanCNNClassifier
from raman_sk.explain import (
    MAP_NAMES,
    REGION_COLUMNS,
    IGExplainer,
    find_regions,
    smooth_background,
)
from raman_sk.preprocessing import WavenumberResampler
from raman_sk.utils._torch import torch_threads
from tests._explain_helpers import fit_explainer, invalid, train_cnn
from tests._helpers import TINY_NET


class TinyLinear(nn.Module):
    """Logits = W x + b: IG against baseline b0 is exactly W[t] * (x - b0)."""

    def __init__(self, n_classes, n_features):
        super().__init__()
        self.n_features = n_features
        self.lin = nn.Linear(n_features, n_classes)

    def forward(self, x):
        return self.lin(x.reshape(x.shape[0], -1))


W = np.array(
    [
        [1.0, -2.0, 0.5, 0.0, 3.0, 1.0],
        [0.0, 1.0, -1.0, 2.0, 0.5, -0.5],
        [2.0, 0.0, 0.0, -1.0, 1.0, 0.25],
    ],
    dtype=np.float32,
)

BIAS = np.array([0.1, -0.2, 0.3], dtype=np.float32)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny networks: one torch thread is fastest and robust to a busy machine."""
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def linear_clf():
    rng = np.random.default_rng(0)
    X = rng.random((6, 6)).astype(np.float32)
    clf = RamanCNNClassifier(
        module=TinyLinear, max_epochs=1, random_state=0, n_threads=1
    ).fit(X, np.array(list("abcabc")))
    with torch.no_grad():
        clf.module_.lin.weight.copy_(torch.from_numpy(W))
        clf.module_.lin.bias.copy_(torch.from_numpy(BIAS))
    return clf


X_LIN = np.array(
    [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [0.5, 0.0, 1.0, 0.0, 2.0, 1.0]], dtype=np.float32
)
W_AXIS = np.arange(600.0, 612.0, 2.0)


@pytest.fixture(scope="module")
def cnn(synthetic):
    return train_cnn(synthetic)


@pytest.fixture(scope="module")
def ig_fitted(cnn, synthetic):
    return fit_explainer(cnn, synthetic)


# ----------------------------------------------------------------- exact answers
def test_linear_model_exact_ig_zero_baseline(linear_clf):
    ig = IGExplainer(
        linear_clf, n_steps=4, n_per_class=1, wavenumbers=W_AXIS, random_state=0
    ).fit(X_LIN[[0, 1, 0]], ["a", "b", "c"])
    A = ig.explain(X_LIN, target="b")
    # W[1] * x: [0, 2, -3, 8, 2.5, -3] and [0, 0, -1, 0, 1, -0.5]
    np.testing.assert_allclose(A[0], [0.0, 2.0, -3.0, 8.0, 2.5, -3.0], atol=1e-5)
    np.testing.assert_allclose(A[1], [0.0, 0.0, -1.0, 0.0, 1.0, -0.5], atol=1e-5)
    # default target = predicted class: logits of row 0 are (27.1, 6.3, 6.3)
    A0 = ig.explain(X_LIN[:1])
    np.testing.assert_allclose(A0[0], [1.0, -4.0, 1.5, 0.0, 15.0, 6.0], atol=1e-5)


def test_linear_model_exact_ig_array_and_mean_baseline(linear_clf):
    base = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    ig = IGExplainer(
        linear_clf, n_steps=3, baseline=base, n_per_class=1, wavenumbers=W_AXIS
    ).fit(X_LIN[[0, 1, 0]], ["a", "b", "c"])
    A, delta = ig.explain(X_LIN[:1], target="c", return_delta=True)
    # W[2] * (x - 1) = [2*0, 0, 0, -1*3, 1*4, 0.25*5]
    np.testing.assert_allclose(A[0], [0.0, 0.0, 0.0, -3.0, 4.0, 1.25], atol=1e-5)
    assert delta[0] < 1e-5
    with pytest.warns(UserWarning, match=r"no spectra of class\(es\) \['c'\]"):
        ig = IGExplainer(
            linear_clf, n_steps=3, baseline="mean", n_per_class=1, wavenumbers=W_AXIS
        ).fit(X_LIN, ["a", "b"])
    np.testing.assert_allclose(ig.mean_input_, [0.75, 1.0, 2.0, 2.0, 3.5, 3.5])
    A = ig.explain(X_LIN[1:], target="a")
    # W[0] * (x1 - mean) = [1*-0.25, -2*-1, 0.5*-1, 0, 3*-1.5, 1*-2.5]
    np.testing.assert_allclose(A[0], [-0.25, 2.0, -0.5, 0.0, -4.5, -2.5], atol=1e-5)


def test_linear_model_class_maps_and_contrastive(linear_clf):
    X = np.vstack([X_LIN, X_LIN])
    y = np.array(["a", "a", "b", "b"])
    with pytest.warns(UserWarning, match="saliency rows are NaN"):
        ig = IGExplainer(
            linear_clf, n_steps=2, n_per_class=5, wavenumbers=W_AXIS, random_state=0
        ).fit(X, y)
    mean_x = X_LIN.mean(axis=0)  # both classes explain the same two spectra
    np.testing.assert_allclose(ig.signed_saliency_[0], W[0] * mean_x, atol=1e-5)
    np.testing.assert_allclose(
        ig.saliency_[1], np.abs(W[1] * X_LIN).mean(axis=0), atol=1e-5
    )
    # contrastive score of class a: f_a - (f_b + f_c) / 2, linear with W[0] - ...
    w_con = W[0] - (W[1] + W[2]) / 2
    np.testing.assert_allclose(ig.contrastive_saliency_[0], w_con * mean_x, atol=1e-5)
    assert np.all(np.isnan(ig.saliency_[2]))  # no spectra of class c
    assert list(ig.sample_targets_) == ["a", "a", "b", "b"]
    np.testing.assert_array_equal(ig.sample_indices_, [0, 1, 2, 3])
    np.testing.assert_allclose(ig.convergence_delta_, 0.0, atol=1e-5)


def test_linear_model_proba_output_completeness(linear_clf):
    ig = IGExplainer(
        linear_clf, n_steps=64, output="proba", n_per_class=1, wavenumbers=W_AXIS
    ).fit(X_LIN[[1, 1, 1]], ["a", "b", "c"])
    A = ig.explain(X_LIN[1:], target="a")
    with torch.no_grad():
        p = torch.softmax(linear_clf.module_(torch.from_numpy(X_LIN[1:])), 1)
        p0 = torch.softmax(linear_clf.module_(torch.zeros(1, 6)), 1)
    assert A.sum() == pytest.approx(float(p[0, 0] - p0[0, 0]), abs=1e-4)


# ------------------------------------------------------------- the CNN pipeline
def test_cnn_completeness_in_eval_mode(cnn, synthetic):
    X = synthetic.data[::6]
    ig = IGExplainer(cnn, n_steps=64, n_per_class=2, random_state=0, tolerance=0.5).fit(
        synthetic.data, synthetic.target
    )
    A, delta = ig.explain(X, return_delta=True)
    net = copy.deepcopy(cnn[-1].module_).eval()
    with torch.no_grad():
        logits = net(torch.as_tensor(X, dtype=torch.float32))
        base = net(torch.zeros(1, X.shape[1]))
    pred = logits.argmax(1)
    dF = (logits[torch.arange(len(X)), pred] - base[0, pred]).numpy()
    np.testing.assert_allclose(A.sum(axis=1), dF, rtol=0.02, atol=1e-3)
    np.testing.assert_allclose(delta, np.abs(A.sum(axis=1) - dF), rtol=1e-3, atol=1e-5)
    assert np.max(delta / np.abs(dF)) < 0.02


def test_batched_equals_one_by_one_and_plain_captum(cnn, synthetic):
    X = synthetic.data[::7]
    fit = {"n_steps": 20, "n_per_class": 1, "random_state": 0, "tolerance": 1.0}
    one = IGExplainer(cnn, internal_batch_size=20, **fit).fit(X, synthetic.target[::7])
    many = IGExplainer(cnn, internal_batch_size=10_000, **fit).fit(
        X, synthetic.target[::7]
    )
    a1 = one.explain(X, target="beta")
    a2 = many.explain(X, target="beta")
    np.testing.assert_allclose(a1, a2, rtol=1e-4, atol=1e-6)
    # captum called the plain way, one spectrum at a time, on the eval network
    net = copy.deepcopy(cnn[-1].module_).eval()
    plain = IntegratedGradients(net)
    for i in range(len(X)):
        x = torch.as_tensor(X[i : i + 1], dtype=torch.float32)
        ref = plain.attribute(x, target=1, n_steps=20).detach().numpy()[0]
        np.testing.assert_allclose(a2[i], ref, rtol=1e-3, atol=1e-5)


def test_explain_streams_every_forward_pass_in_bounded_batches(
    cnn, synthetic, monkeypatch
):
    """No forward pass sees all spectra at once (memory grows with the batch only)."""
    import raman_sk.utils._torch as torch_utils

    X = synthetic.data
    fit = {"n_steps": 4, "n_per_class": 1, "random_state": 0, "tolerance": 10.0}
    ig = IGExplainer(cnn, internal_batch_size=8, **fit).fit(X, synthetic.target)
    expected = ig.explain(X)
    seen = []
    hook = cnn[-1].module_.register_forward_pre_hook(
        lambda mod, args: seen.append(args[0].shape[0])
    )
    monkeypatch.setattr(torch_utils, "FORWARD_BATCH", 5)
    try:
        got = ig.explain(X)
    finally:
        hook.remove()
    assert len(X) == 36 and max(seen) <= 8  # internal_batch_size / FORWARD_BATCH
    assert seen.count(5) >= 3 * (36 // 5)  # predicted class, F(x), F(baseline)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_train_mode_restored_and_eval_used(cnn, synthetic, monkeypatch):
    module = cnn[-1].module_
    X = synthetic.data[:3]
    ig = IGExplainer(cnn, n_steps=8, n_per_class=1, random_state=0, tolerance=1.0).fit(
        synthetic.data, synthetic.target
    )
    module.eval()
    expected = ig.explain(X, target="gamma")
    state = {k: v.clone() for k, v in module.state_dict().items()}
    module.train()
    try:
        got = ig.explain(X, target="gamma")
        assert module.training  # left as it was
        assert all(m.training for m in module.modules())
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)

        def boom(*args, **kwargs):
            raise RuntimeError("boom")

        monkeypatch.setattr(IntegratedGradients, "attribute", boom)
        with pytest.raises(RuntimeError, match="boom"):
            ig.explain(X, target="gamma")
        assert module.training
    finally:
        module.eval()
    for k, v in module.state_dict().items():  # weights and BN statistics untouched
        torch.testing.assert_close(v, state[k])


def test_fit_attributes(ig_fitted, synthetic):
    ig = ig_fitted
    np.testing.assert_array_equal(ig.classes_, ["alpha", "beta", "gamma"])
    np.testing.assert_array_equal(ig.wavenumbers_, synthetic.wavenumbers)
    for name in ("saliency_", "signed_saliency_", "contrastive_saliency_"):
        assert getattr(ig, name).shape == (3, 256)
    assert set(ig.maps_) == set(MAP_NAMES)
    assert ig.maps_["abs_ig"] is ig.saliency_
    assert np.all(ig.saliency_ >= 0)
    assert ig.convergence_delta_.dtype == np.float64
    assert ig.convergence_delta_.shape == (12,)
    assert ig.relative_delta_.max() < 0.05
    np.testing.assert_array_equal(
        synthetic.target[ig.sample_indices_], ig.sample_targets_
    )
    np.testing.assert_array_equal(
        np.unique(ig.sample_targets_, return_counts=True)[1], [4, 4, 4]
    )
    assert ig.n_fit_samples_ == 36


def test_regions_found_at_the_class_peaks(ig_fitted, synthetic):
    regions = ig_fitted.regions_
    assert tuple(regions.columns) == REGION_COLUMNS
    assert set(regions["map"]) == {"contrastive_ig"}
    for cls, (peak, _) in synthetic.class_peaks.items():
        top = regions[regions["class"] == cls].iloc[0]
        assert abs(top["peak"] - peak) <= 4.0, (cls, top.to_dict())
        assert top["start"] <= peak <= top["end"]
        assert top["score"] > 0.5
    gamma = regions[regions["class"] == "gamma"].iloc[0]
    assert gamma["assignment"].startswith("C–O–C ring breathing [Saccharides]")
    assert regions.groupby("class").size().max() <= 5


def test_regions_on_other_maps_and_npz(ig_fitted, synthetic, tmp_path):
    for name in ("signed_ig", "abs_ig"):
        regions = find_regions(
            ig_fitted.wavenumbers_,
            ig_fitted.maps_[name],
            ig_fitted.classes_,
            map_name=name,
        )
        assert set(regions["map"]) == {name}
        top = regions.groupby("class").head(1)
        np.testing.assert_allclose(top["peak"], [700, 820, 940], atol=4)
    arrays = ig_fitted.to_npz_dict()
    assert set(arrays) == {
        "wavenumbers",
        "alpha",
        "beta",
        "gamma",
        "classes",
        "abs_ig_maps",
        "signed_ig_maps",
        "contrastive_ig_maps",
    }
    np.savez(tmp_path / "maps.npz", **arrays)
    with np.load(tmp_path / "maps.npz") as f:
        np.testing.assert_array_equal(f["beta"], ig_fitted.saliency_[1])
        np.testing.assert_array_equal(f["wavenumbers"], synthetic.wavenumbers)
        assert f["contrastive_ig_maps"].shape == (3, 256)


def test_reproducible_selection_and_input_unchanged(cnn, synthetic):
    X = synthetic.data.copy()
    X.setflags(write=False)
    kw = {"n_steps": 4, "n_per_class": 3, "tolerance": 10.0}
    a = IGExplainer(cnn, random_state=3, **kw).fit(X, synthetic.target)
    b = IGExplainer(cnn, random_state=3, **kw).fit(X, synthetic.target)
    np.testing.assert_array_equal(a.sample_indices_, b.sample_indices_)
    np.testing.assert_array_equal(a.saliency_, b.saliency_)
    np.testing.assert_array_equal(X, synthetic.data)
    assert len(a.sample_indices_) == 9


def test_smoothgrad_reproducible_without_global_seeding(cnn, synthetic):
    X = synthetic.data[:2]
    kw = {
        "n_steps": 4,
        "n_per_class": 1,
        "smoothgrad": True,
        "nt_samples": 2,
        "nt_stdev": 0.1,
        "tolerance": 10.0,
    }
    state = torch.get_rng_state()
    a = IGExplainer(cnn, random_state=1, **kw).fit(synthetic.data, synthetic.target)
    b = IGExplainer(cnn, random_state=1, **kw).fit(synthetic.data, synthetic.target)
    assert torch.equal(torch.get_rng_state(), state)
    np.testing.assert_array_equal(a.explain(X), b.explain(X))
    plain = IGExplainer(
        cnn, n_steps=4, n_per_class=1, random_state=1, tolerance=10.0
    ).fit(synthetic.data, synthetic.target)
    assert not np.allclose(a.explain(X), plain.explain(X))


def test_bfloat16_close_to_float32(cnn, synthetic):
    X = synthetic.data[::9]
    kw = {"n_steps": 16, "n_per_class": 1, "random_state": 0, "tolerance": 10.0}
    a32 = IGExplainer(cnn, precision="float32", **kw).fit(X, synthetic.target[::9])
    a16 = IGExplainer(cnn, precision="bfloat16", **kw).fit(X, synthetic.target[::9])
    A32, A16 = a32.explain(X, target="alpha"), a16.explain(X, target="alpha")
    assert np.corrcoef(A32.ravel(), A16.ravel())[0, 1] > 0.98
    np.testing.assert_allclose(A16.sum(1), A32.sum(1), rtol=0.05, atol=0.05)


def test_baselines_smooth_and_contrastive_explain(cnn, synthetic):
    X = synthetic.data[:2]
    ig = IGExplainer(
        cnn,
        baseline="smooth",
        n_steps=32,
        n_per_class=1,
        random_state=0,
        tolerance=10.0,
    ).fit(synthetic.data, synthetic.target)
    A = ig.explain(X, target="alpha", contrastive=True)
    net = copy.deepcopy(cnn[-1].module_).eval()
    bg = smooth_background(X, synthetic.wavenumbers)
    with torch.no_grad():
        fx = net(torch.as_tensor(X, dtype=torch.float32))
        fb = net(torch.as_tensor(bg, dtype=torch.float32))
    con = lambda f: f[:, 0] - (f[:, 1] + f[:, 2]) / 2  # noqa: E731
    np.testing.assert_allclose(
        A.sum(1), (con(fx) - con(fb)).numpy(), rtol=0.03, atol=1e-3
    )


def test_one_step_pipeline_dataframe_axis_and_fallback_warning(cnn, synthetic):
    clf = cnn[-1]
    X = pd.DataFrame(synthetic.data, columns=[f"{v:g}" for v in synthetic.wavenumbers])
    kw = {"n_steps": 4, "n_per_class": 1, "tolerance": 10.0}
    ig = IGExplainer(Pipeline([("clf", clf)]), **kw).fit(X, synthetic.target)
    np.testing.assert_array_equal(ig.wavenumbers_, synthetic.wavenumbers)
    with pytest.warns(UserWarning, match="wavenumbers= to IGExplainer"):
        ig = IGExplainer(clf, **kw).fit(synthetic.data, synthetic.target)
    np.testing.assert_array_equal(ig.wavenumbers_, np.arange(256.0))


def test_completeness_warning_says_raise_n_steps(cnn, synthetic):
    with pytest.warns(UserWarning, match=r"Raise n_steps \(now 1\)"):
        IGExplainer(cnn, n_steps=1, n_per_class=1, tolerance=1e-6).fit(
            synthetic.data, synthetic.target
        )


# ------------------------------------------------------------------ bad input
def test_bad_pipelines(synthetic):
    X, y = synthetic.data, synthetic.target
    unfitted = make_pipeline(WavenumberResampler(), RamanCNNClassifier(**TINY_NET))
    with pytest.raises(NotFittedError, match="not fitted"):
        IGExplainer(unfitted).fit(X, y)
    with pytest.raises(NotFittedError):
        IGExplainer(RamanCNNClassifier()).fit(X, y)
    other = make_pipeline(LogisticRegression(max_iter=50)).fit(X, y)
    with pytest.raises(TypeError, match="last step is LogisticRegression"):
        IGExplainer(other).fit(X, y)


def test_bad_inputs(cnn, synthetic):
    X, y = synthetic.data, synthetic.target
    ig = IGExplainer(cnn, n_steps=4, n_per_class=1, tolerance=10.0)
    with pytest.raises(NotFittedError):
        ig.explain(X)
    ig.fit(X, y)
    with pytest.raises(ValueError, match="target 'delta' is not a class"):
        ig.explain(X[:2], target="delta")
    with pytest.raises(ValueError, match="one label per spectrum"):
        ig.explain(X[:2], target=["alpha"] * 3)
    with pytest.raises(ValueError, match="X has 200 points per spectrum"):
        ig.explain(X[:2, :200])
    with pytest.raises(ValueError, match="X has 200 points per spectrum"):
        IGExplainer(cnn).fit(X[:, :200], y)
    with pytest.raises(ValueError, match=r"label\(s\) \['delta'\]"):
        IGExplainer(cnn).fit(X[:3], ["alpha", "beta", "delta"])
    with pytest.raises(ValueError, match=r"baseline has shape \(255,\).*\(256,\)"):
        IGExplainer(cnn, baseline=np.zeros(255)).fit(X, y)
    bad_params = [
        (ValueError, "n_steps", 0),
        (TypeError, "n_steps", 2.5),
        (ValueError, "baseline", "ones"),
        (ValueError, "output", "softmax"),
        (ValueError, "method", "simpson"),
        (ValueError, "precision", "float16"),
        (ValueError, "region_map", "saliency"),
    ]
    for exc, name, bad in bad_params:
        with pytest.raises(exc, match=invalid(name, bad)):
            IGExplainer(cnn, **{name: bad}).fit(X, y)
    with pytest.raises(ValueError, match="wavenumbers has 10 values"):
        IGExplainer(cnn, wavenumbers=np.arange(10)).fit(X, y)


def test_package_exports_every_public_name():
    assert set(raman_sk.explain.__all__) == {
        "MAP_NAMES",
        "REGION_COLUMNS",
        "SANITY_COLUMNS",
        "STABILITY_COLUMNS",
        "IGExplainer",
        "data_randomization_check",
        "find_regions",
        "map_stability",
        "model_randomization_check",
        "sanity_summary",
        "seed_control_check",
        "smooth_background",
    }
    for name in raman_sk.explain.__all__:
        assert getattr(raman_sk.explain, name) is not None
    assert IGExplainer.__module__ == "raman_sk.explain._integrated_gradients"


def test_parameters_validated_by_sklearn_in_fit(cnn, synthetic):
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = synthetic.data, synthetic.target
    ig = IGExplainer(cnn, nt_stdev=-1.0)  # __init__ stores, fit validates
    assert ig.nt_stdev == -1.0
    bad = {
        "n_per_class": 0,
        "internal_batch_size": 0,
        "smoothgrad": 1,
        "nt_samples": 0,
        "nt_stdev": -1.0,
        "tolerance": 0.0,
        "n_regions": 0,
        "region_tolerance": float("inf"),
        "region_smoothing": -1.0,
        "verbose": -1,
        "baseline": None,
    }
    for name, value in bad.items():
        with pytest.raises(InvalidParameterError, match=invalid(name, value)):
            IGExplainer(cnn, **{name: value}).fit(X, y)
    assert set(IGExplainer._parameter_constraints) == set(
        IGExplainer(cnn).get_params(deep=False)
    )
