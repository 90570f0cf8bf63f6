"""Speed-related behaviour that can be checked without timing thresholds."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from raman_sk import RamanCNNClassifier

SMALL = {
    "module__channels": (4, 8),
    "module__kernel_sizes": (5, 3),
    "module__convs_per_block": 1,
    "module__hidden": 8,
    "n_threads": 1,
    "random_state": 0,
}


def _child_env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update(extra)
    return env


@pytest.mark.parametrize(
    ("given", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")]
)
def test_import_sets_passive_omp_wait_policy_unless_given(given, expected):
    env = _child_env() if given is None else _child_env(OMP_WAIT_POLICY=given)
    code = "import os, raman_sk.classifier; print(os.environ['OMP_WAIT_POLICY'])"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expected


def test_adam_is_fused_by_default_and_user_choice_wins():
    rng = np.random.default_rng(0)
    X = rng.random((12, 64)).astype(np.float32)
    y = np.repeat(["a", "b"], 6)
    clf = RamanCNNClassifier(max_epochs=1, **SMALL).fit(X, y)
    assert clf.optimizer_.defaults["fused"] is True
    clf = RamanCNNClassifier(max_epochs=1, optimizer__foreach=False, **SMALL)
    assert not clf.fit(X, y).optimizer_.defaults["fused"]
    clf = RamanCNNClassifier(max_epochs=1, optimizer=torch.optim.SGD, **SMALL)
    assert (
        "fused" not in clf.fit(X, y).optimizer_.defaults
        or not (clf.optimizer_.defaults["fused"])
    )


def test_predict_proba_streams_batches():
    """Inference runs batch by batch: the network never sees more rows."""
    rng = np.random.default_rng(0)
    X = rng.random((50, 64)).astype(np.float32)
    y = np.repeat(["a", "b"], 25)
    clf = RamanCNNClassifier(max_epochs=1, batch_size=8, **SMALL).fit(X, y)
    sizes = []
    hook = clf.module_.register_forward_hook(
        lambda mod, inp, out: sizes.append(inp[0].shape[0])
    )
    try:
        proba = clf.predict_proba(X)
    finally:
        hook.remove()
    assert proba.shape == (50, 2)
    assert max(sizes) == 8
    assert sum(sizes) == 50


def test_predict_uses_fused_copy_with_same_result_and_leaves_module_alone():
    from raman_sk.models import fuse_conv_bn

    rng = np.random.default_rng(0)
    X = rng.random((30, 64)).astype(np.float32)
    y = np.repeat(["a", "b", "c"], 10)
    clf = RamanCNNClassifier(max_epochs=2, **SMALL).fit(X, y)
    state = {k: v.clone() for k, v in clf.module_.state_dict().items()}
    with torch.inference_mode():
        ref = torch.softmax(clf.module_(torch.from_numpy(X)).double(), 1).numpy()
    np.testing.assert_allclose(clf.predict_proba(X), ref, atol=1e-5)
    assert not hasattr(clf, "_inference_module")
    after = clf.module_.state_dict()
    assert all(torch.equal(state[k], after[k]) for k in state)
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in clf.module_.modules())
    fused = fuse_conv_bn(clf.module_)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in fused.modules())
    assert len(fused.features) == len(clf.module_.features)
