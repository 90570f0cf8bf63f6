"""The explainer's helpers: network input, attribution core, class maps."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from torch import nn

from raman_sk.explain._attribution import (
    ClassScore,
    integrated_gradients,
    predicted_classes,
    prepare_modules,
    relative_error,
    warn_incomplete,
)
from raman_sk.explain._inputs import (
    baselines_for,
    check_baseline_array,
    network_input,
    resolve_precision,
    split_explained,
    target_indices,
)
from raman_sk.explain._maps import MAP_NAMES, class_maps, class_means, select_per_class
from raman_sk.models import RamanCNN1D


class _Linear(nn.Module):
    def __init__(self, weight):
        super().__init__()
        self.lin = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
        with torch.no_grad():
            self.lin.weight.copy_(torch.as_tensor(weight))

    def forward(self, x):
        return self.lin(x)


W = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]], dtype=np.float32)


# ------------------------------------------------------------------ attribution
def test_prepare_modules_folds_batchnorm_and_keeps_the_original():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = RamanCNN1D(3, 64, channels=(4, 8), kernel_sizes=5, convs_per_block=1)
        probe = torch.rand(4, 64)
        with torch.no_grad():
            net.train()(torch.rand(8, 64))  # BatchNorm statistics away from 0 and 1
    ref, fast = prepare_modules(net, probe)
    assert net.training and not ref.training and not fast.training
    assert fast is not ref
    assert not any(isinstance(m, nn.BatchNorm1d) for m in fast.modules())
    assert not any(p.requires_grad for p in fast.parameters())
    with torch.no_grad():
        torch.testing.assert_close(ref(probe), fast(probe), rtol=1e-4, atol=1e-5)
    lin = _Linear(W)  # nothing to fold: still a working copy
    ref, fast = prepare_modules(lin, torch.ones(1, 3))
    assert ref is not lin


def test_class_score_contrastive_and_proba():
    net = _Linear(W)
    x = torch.tensor([[1.0, 1.0, 1.0]])  # logits (3, 2)
    assert ClassScore(net, "logits", False)(x).tolist() == [[3.0, 2.0]]
    assert ClassScore(net, "logits", True)(x).tolist() == [[1.0, -1.0]]
    p = ClassScore(net, "proba", False)(x)
    torch.testing.assert_close(p.sum(1), torch.ones(1))


def test_integrated_gradients_of_a_linear_model_is_exact():
    X = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]], dtype=np.float32)
    B = np.zeros_like(X)
    A, delta, dF = integrated_gradients(_Linear(W), X, B, np.array([1, 0]), n_steps=4)
    np.testing.assert_allclose(A, [[0.0, -2.0, 9.0], [0.0, 2.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(dF, [7.0, 2.0], atol=1e-6)
    np.testing.assert_allclose(delta, 0.0, atol=1e-5)
    assert A.dtype == np.float64
    assert predicted_classes(_Linear(W), X).tolist() == [1, 0]


def test_relative_error_and_warning():
    rel = relative_error(np.array([0.1, 0.0]), np.array([-1.0, 0.0]))
    np.testing.assert_allclose(rel, [0.1, 0.0])
    with pytest.warns(UserWarning, match=r"1 of 2 .*Raise n_steps \(now 7\)"):
        warn_incomplete(
            np.array([0.1, 0.0]),
            np.array([1.0, 1.0]),
            "test",
            tolerance=0.05,
            n_steps=7,
        )


# ----------------------------------------------------------------------- inputs
def test_split_explained_refuses_other_estimators():
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(TypeError, match="last step is LogisticRegression"):
        split_explained(LogisticRegression())
    from raman_sk.classifier import RamanCNNClassifier

    with pytest.raises(NotFittedError, match="not fitted"):
        split_explained(RamanCNNClassifier())


def test_network_input_checks():
    net = _Linear(W)
    net.n_features = 3
    X = network_input(None, object(), net, [[1, 2, 3]])
    assert X.dtype == np.float32 and X.shape == (1, 3)
    with pytest.raises(ValueError, match="network expects 3"):
        network_input(None, object(), net, np.ones((1, 4)))
    with pytest.raises(ValueError, match="too large"):
        network_input(None, object(), net, np.full((1, 3), 1e30))


def test_baselines_and_targets():
    X = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    kw = {"mean_input": np.array([1.0, 1.0, 1.0]), "wavenumbers": np.arange(3.0)}
    assert baselines_for(X, "zeros", **kw).tolist() == [[0.0, 0.0, 0.0]]
    assert baselines_for(X, "mean", **kw).tolist() == [[1.0, 1.0, 1.0]]
    arr = check_baseline_array([[0.5, 0.5, 0.5]], 3)
    assert baselines_for(X, arr, array=arr, **kw).dtype == np.float32
    assert check_baseline_array("zeros", 3) is None
    with pytest.raises(ValueError, match="baseline contains NaN"):
        check_baseline_array([0.0, np.nan, 0.0], 3)
    classes = np.array(["a", "b"])
    assert target_indices("b", classes, 2, None).tolist() == [1, 1]
    assert target_indices(None, classes, 2, np.array([0, 1])).tolist() == [0, 1]
    with pytest.raises(ValueError, match="target 'c' is not a class"):
        target_indices(["a", "c"], classes, 2, None)


def test_resolve_precision():
    class Clf:
        precision = "bfloat16"

    assert resolve_precision(None, Clf()) == "bfloat16"
    assert resolve_precision("float32", Clf()) == "float32"
    assert resolve_precision(None, object()) == "float32"
    with pytest.raises(ValueError, match="'precision' parameter"):
        resolve_precision("float16", Clf())


# ------------------------------------------------------------------------- maps
def test_select_per_class_and_class_means():
    y = np.array([0, 1, 0, 0, 1, 0])
    rng = np.random.RandomState(0)
    idx, tgt = select_per_class(y, 3, 2, rng)
    assert tgt.tolist() == [0, 0, 1, 1]
    assert set(idx[:2]) <= {0, 2, 3, 5} and idx[2:].tolist() == [1, 4]
    A = np.array([[1.0, -2.0], [3.0, -4.0], [-1.0, 1.0]])
    means = class_means(A, np.array([0, 0, 1]), 3)
    np.testing.assert_allclose(means[:2], [[2.0, -3.0], [-1.0, 1.0]])
    assert np.all(np.isnan(means[2]))
    maps = class_maps(A, -A, np.array([0, 0, 1]), 3)
    assert tuple(maps) == MAP_NAMES
    np.testing.assert_allclose(maps["abs_ig"][0], [2.0, 3.0])
    np.testing.assert_allclose(maps["contrastive_ig"][0], [-2.0, 3.0])
