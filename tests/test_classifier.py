"""RamanCNNClassifier: recipe, labels, honest augmentation, validation, seeds."""

import hashlib
import math
import os
import pickle
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedGroupKFold,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from skorch.callbacks import Callback
from skorch.dataset import Dataset, ValidSplit
from skorch.helper import predefined_split

from raman_sk import RamanCNNClassifier
from raman_sk.models import RamanCNN1D
from raman_sk.preprocessing import SpectralAugmenter, WavenumberResampler
from tests._helpers import TINY_NET
from tests.conftest import make_spectra

SMALL = {
    **TINY_NET,
}
FAST = {
    "max_epochs": 10,
    "lr": 1e-2,
    "batch_size": 8,
    "random_state": 0,
    "n_threads": 1,  # tiny nets: one thread is fastest and robust to busy CPUs
    **SMALL,
}
REPO = Path(__file__).resolve().parents[1]


def small_clf(**kwargs):
    return RamanCNNClassifier(**{**FAST, **kwargs})


class RecordingAugmenter(SpectralAugmenter):
    """SpectralAugmenter that logs every call (class-level log survives clones)."""

    log: list = []

    def fit_resample(self, X, y):
        X_aug, y_aug = super().fit_resample(X, y)
        RecordingAugmenter.log.append((np.array(X, copy=True), np.array(y), X_aug))
        return X_aug, y_aug


class Capture(Callback):
    """Keep the datasets of the first epoch and a copy of the weights per epoch."""

    def initialize(self):
        self.train_ = None
        self.valid_ = None
        self.states_ = []
        self.threads_ = []
        return self

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kw):
        self.threads_.append(torch.get_num_threads())
        if self.train_ is None:
            self.train_ = (dataset_train.X.numpy().copy(), dataset_train.y.numpy())
            if dataset_valid is not None:
                self.valid_ = (dataset_valid.X.numpy().copy(), dataset_valid.y.numpy())

    def on_epoch_end(self, net, **kw):
        self.states_.append(
            {k: v.detach().clone() for k, v in net.module_.state_dict().items()}
        )


def rows_in(rows, table):
    """Boolean per row of ``rows``: does it occur exactly in ``table``?"""
    table = {r.tobytes() for r in np.ascontiguousarray(table)}
    return np.array([r.tobytes() in table for r in np.ascontiguousarray(rows)])


def weights_equal(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def fitted(synthetic):
    return small_clf().fit(synthetic.data, synthetic.target)


# ----------------------------------------------------------------- recipe
def test_defaults_are_the_seed_recipe():
    clf = RamanCNNClassifier()
    p = clf.get_params()
    assert p["module"] is RamanCNN1D
    assert p["criterion"] is torch.nn.CrossEntropyLoss
    assert p["optimizer"] is torch.optim.Adam
    assert (p["lr"], p["weight_decay"], p["max_epochs"], p["batch_size"]) == (
        1e-3,
        1e-4,
        80,
        32,
    )
    assert p["train_split"] is None and p["augmenter"] is None
    assert p["balance_classes"] is True and p["verbose"] == 0
    assert p["precision"] == "float32" and p["device"] == "cpu"
    sched = p["callbacks__lr_scheduler"]
    assert sched.policy is torch.optim.lr_scheduler.CosineAnnealingLR
    assert sched.T_max == 80
    assert "_params_to_validate" not in p


def test_fit_predict_labels_in_labels_out(fitted, synthetic):
    X, y = synthetic.data, synthetic.target
    assert fitted.classes_.tolist() == ["alpha", "beta", "gamma"]
    assert fitted.n_features_in_ == 256
    pred = fitted.predict(X)
    assert pred.dtype == y.dtype and set(pred) <= {"alpha", "beta", "gamma"}
    assert np.mean(pred == y) == 1.0
    other = make_spectra(seed=5)
    assert np.mean(fitted.predict(other.data) == other.target) >= 0.9
    proba = fitted.predict_proba(X)
    assert proba.shape == (36, 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(fitted.classes_[proba.argmax(1)], pred)


def test_integer_labels_and_dataframe_input(synthetic):
    X = pd.DataFrame(synthetic.data, columns=[f"{w:g}" for w in synthetic.wavenumbers])
    y = np.searchsorted(["alpha", "beta", "gamma"], synthetic.target) * 10 + 5
    clf = small_clf(max_epochs=2).fit(X, y)
    assert clf.classes_.tolist() == [5, 15, 25]
    assert clf.predict(X).dtype == y.dtype
    assert clf.feature_names_in_[0] == "600"


def test_history_optimizer_and_cosine_schedule(fitted):
    h = fitted.history
    assert len(h) == 10
    assert all(np.isfinite(h[:, "train_loss"]))
    assert h[-1, "train_loss"] < h[0, "train_loss"]
    expected = [0.5 * 1e-2 * (1 + math.cos(math.pi * e / 10)) for e in range(10)]
    np.testing.assert_allclose(h[:, "event_lr"], expected, rtol=1e-9)
    group = fitted.optimizer_.param_groups[0]
    assert isinstance(fitted.optimizer_, torch.optim.Adam)
    assert group["weight_decay"] == 1e-4
    assert fitted.best_epoch_ is None  # no validation part by default


def test_module_size_from_data_and_user_module_params_kept(fitted):
    m = fitted.module_
    assert isinstance(m, RamanCNN1D)
    assert m.n_features == 256 and m.n_classes == 3
    convs = [c for c in m.features if isinstance(c, torch.nn.Conv1d)]
    assert [c.kernel_size[0] for c in convs] == [5, 3]
    assert [c.out_channels for c in convs] == [4, 8]


def test_scheduler_and_optimizer_params_reachable(synthetic):
    clf = small_clf(
        max_epochs=2, callbacks__lr_scheduler__T_max=4, optimizer__weight_decay=0.0
    ).fit(synthetic.data, synthetic.target)
    np.testing.assert_allclose(
        clf.history[:, "event_lr"], [1e-2, 0.5 * 1e-2 * (1 + math.cos(math.pi / 4))]
    )
    assert clf.optimizer_.param_groups[0]["weight_decay"] == 0.0


def test_module_param_contradicting_data_raises(synthetic):
    clf = small_clf(max_epochs=1, module__n_classes=5)
    with pytest.raises(ValueError, match=r"module__n_classes=5 contradicts the data"):
        clf.fit(synthetic.data, synthetic.target)


# --------------------------------------------------------------- sampling
def test_class_balanced_sampling(synthetic):
    keep = np.r_[0:12, 12:15, 24:27]  # 12 alpha, 3 beta, 3 gamma
    X, y = synthetic.data[keep], synthetic.target[keep]

    class CountBatches(Callback):
        def initialize(self):
            self.labels_ = []
            return self

        def on_batch_begin(self, net, batch=None, training=None, **kw):
            if training:
                self.labels_.append(batch[1].numpy().copy())

    def drawn(**kw):
        cb = CountBatches()
        small_clf(max_epochs=20, callbacks=[("count", cb)], **kw).fit(X, y)
        labels = np.concatenate(cb.labels_)
        assert len(labels) == 20 * len(y)  # num_samples = training rows
        return np.bincount(labels, minlength=3) / len(labels)

    balanced = drawn()
    assert np.all(np.abs(balanced - 1 / 3) < 0.08), balanced
    plain = drawn(balance_classes=False)  # each row exactly once per epoch
    np.testing.assert_allclose(plain, [12 / 18, 3 / 18, 3 / 18])


# ----------------------------------------------------------- augmentation
def test_augmenter_sees_only_training_part_never_validation(synthetic):
    X, y = synthetic.data, synthetic.target
    RecordingAugmenter.log.clear()
    cap = Capture()
    aug = RecordingAugmenter(n_copies=3, noise_std=0.05, random_state=0)
    clf = small_clf(
        max_epochs=2,
        train_split=ValidSplit(0.25, stratified=True),
        augmenter=aug,
        callbacks=[("capture", cap)],
    ).fit(X, y)
    assert len(RecordingAugmenter.log) == 1  # once per fit, not per epoch
    X_in, y_in, X_out = RecordingAugmenter.log[0]
    X_valid, y_valid = cap.valid_
    X_train, y_train = cap.train_
    X32 = X.astype(np.float32)
    # the augmenter got original string labels of real rows
    assert y_in.dtype == y.dtype and set(y_in) <= set(y)
    assert rows_in(X_in, X32).all()
    # validation = real rows the augmenter never saw; together they are all rows
    assert len(X_valid) == 9 and len(X_in) == 27
    assert rows_in(X_valid, X32).all()
    assert not rows_in(X_valid, X_in).any()
    # no augmented copy reached the validation part, all of them the training part
    copies = X_out[len(X_in) :].astype(np.float32)
    assert len(copies) == 81
    assert not rows_in(copies, X_valid).any()
    assert len(X_train) == 4 * 27 and rows_in(copies, X_train).all()
    # labels of the copies follow their originals
    np.testing.assert_array_equal(clf.classes_[y_train[27:]], np.repeat(y_in, 3))
    assert clf.augmenter_.n_copies == 3 and aug is not clf.augmenter_
    # never at predict time
    clf.predict(X)
    clf.predict_proba(X)
    assert len(RecordingAugmenter.log) == 1


def test_augmenter_params_via_set_params_and_clone(synthetic):
    X, y = synthetic.data, synthetic.target
    clf = small_clf(max_epochs=1, augmenter=SpectralAugmenter(n_copies=1))
    clf.set_params(augmenter__n_copies=2)
    assert clf.get_params()["augmenter__n_copies"] == 2
    cap = Capture()
    clf.set_params(callbacks=[("capture", cap)]).fit(X, y)
    assert len(cap.train_[0]) == 3 * 36
    assert clf.augmenter.n_copies == 1  # the given object is left alone
    clf.set_params(augmenter__n_copies=0)  # on a fitted net too
    twin = clone(clf)
    assert twin.get_params()["augmenter__n_copies"] == 0
    assert twin.augmenter is not clf.augmenter
    twin.set_params(callbacks=[("capture", cap)]).fit(X, y)
    assert len(cap.train_[0]) == 36


def test_augmenter_seeded_from_random_state_and_global_rng_untouched(synthetic):
    X, y = synthetic.data, synthetic.target
    kw = {
        "max_epochs": 2,
        "train_split": ValidSplit(0.25, stratified=True),
        "augmenter": SpectralAugmenter(n_copies=2),  # random_state=None
    }
    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()  # noqa: NPY002
    a = small_clf(**kw).fit(X, y)
    b = small_clf(**kw).fit(X, y)
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1])
    assert after[2:] == np_state[2:]
    assert weights_equal(a.module_.state_dict(), b.module_.state_dict())
    assert a.history[:, "valid_loss"] == b.history[:, "valid_loss"]
    c = small_clf(**{**kw, "random_state": 1}).fit(X, y)
    assert not weights_equal(a.module_.state_dict(), c.module_.state_dict())


def _fit_recording(X, y, **params):
    """Fit a FAST classifier with ``params``; return it and its training inputs."""
    seen = []

    class Recording(RamanCNNClassifier):
        def infer(self, x, **kw):
            if self.module_.training:
                seen.append(torch.as_tensor(x).detach().clone())
            return super().infer(x, **kw)

    return Recording(**{**FAST, **params}).fit(X, y), seen


def test_mixup_trains_on_mixtures_seeded_and_global_rng_untouched(synthetic):
    X, y = synthetic.data.astype(np.float32), synthetic.target
    torch_state = torch.get_rng_state()
    a, seen = _fit_recording(X, y, max_epochs=2, mixup=0.4)
    assert torch.equal(torch.get_rng_state(), torch_state)
    # every batch is a mixture: a row survives only where the shuffle maps it
    # to itself (about one row in a batch)
    rows = torch.as_tensor(X)
    n_batches = 2 * int(np.ceil(len(X) / FAST["batch_size"]))
    assert len(seen) == n_batches
    unchanged = [float((torch.cdist(b, rows).min(dim=1).values < 1e-5).float().mean())
                 for b in seen]
    assert np.mean(unchanged) < 0.3
    b = small_clf(max_epochs=2, mixup=0.4).fit(X, y)
    c = small_clf(max_epochs=2).fit(X, y)
    assert weights_equal(a.module_.state_dict(), b.module_.state_dict())
    assert not weights_equal(a.module_.state_dict(), c.module_.state_dict())
    assert clone(b).mixup == 0.4


def test_bridge_windows_replaces_windows_with_lines():
    from raman_sk.classifier._data import bridge_windows

    X = torch.as_tensor(np.random.default_rng(0).random((8, 1, 60)))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        out = bridge_windows(X, 1, 9)
    assert out.shape == X.shape and not torch.equal(out, X)
    for row, orig in zip(out[:, 0].numpy(), X[:, 0].numpy(), strict=True):
        changed = np.flatnonzero(row != orig)
        # one window: 1-9 neighbouring points between two kept edges
        assert 1 <= changed.size <= 9
        assert changed[-1] - changed[0] == changed.size - 1
        lo, hi = changed[0] - 1, changed[-1] + 1
        line = np.linspace(orig[lo], orig[hi], hi - lo + 1)
        np.testing.assert_allclose(row[lo:hi + 1], line, atol=1e-12)
    assert bridge_windows(X, 0, 9) is X
    # a window never reaches past the last point, even as wide as allowed
    short = torch.as_tensor([[0.0, 5.0, 1.0]])
    assert torch.equal(bridge_windows(short, 3, 100), torch.tensor([[0.0, 0.5, 1.0]]))


def test_mask_windows_masks_training_batches_only(synthetic):
    X, y = synthetic.data.astype(np.float32), synthetic.target
    torch_state = torch.get_rng_state()
    a, seen = _fit_recording(X, y, max_epochs=1, mask_windows=2, mask_width=5)
    assert torch.equal(torch.get_rng_state(), torch_state)
    rows = torch.as_tensor(X)
    for batch in seen:
        # each masked row is its training spectrum but at most 2 x 5 points
        nearest = torch.cdist(batch, rows).argmin(dim=1)
        changed = (batch != rows[nearest]).sum(dim=1)
        assert int(changed.max()) <= 10 and int(changed.min()) >= 1
    b = small_clf(max_epochs=1, mask_windows=2, mask_width=5).fit(X, y)
    c = small_clf(max_epochs=1).fit(X, y)
    assert weights_equal(a.module_.state_dict(), b.module_.state_dict())
    assert not weights_equal(a.module_.state_dict(), c.module_.state_dict())
    assert clone(b).get_params()["mask_windows"] == 2
    proba = b.predict_proba(X)
    np.testing.assert_array_equal(a.predict_proba(X), proba)
    # predictions never mask: the same weights without masking answer alike
    np.testing.assert_array_equal(b.set_params(mask_windows=0).predict_proba(X), proba)


def test_same_random_state_same_weights_and_predictions(fitted, synthetic):
    X, y = synthetic.data, synthetic.target
    again = small_clf().fit(X, y)
    assert weights_equal(fitted.module_.state_dict(), again.module_.state_dict())
    np.testing.assert_array_equal(fitted.predict_proba(X), again.predict_proba(X))


def _weights_digest(clf):
    h = hashlib.sha256()
    for k, v in clf.module_.state_dict().items():
        h.update(k.encode())
        h.update(v.cpu().numpy().tobytes())
    return h.hexdigest()


@pytest.mark.slow
def test_same_random_state_in_fresh_processes(fitted):
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from tests.conftest import make_spectra
        from tests.test_classifier import small_clf, _weights_digest
        b = make_spectra()
        print(_weights_digest(small_clf().fit(b.data, b.target)))
        """
    )
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout.strip()
        for _ in range(2)
    }
    assert digests == {_weights_digest(fitted)}


def test_cv_test_folds_never_reach_the_augmenter(synthetic):
    X, y, groups = synthetic.data, synthetic.target, synthetic.groups
    grid = np.arange(610.0, 1100.0, 4.0)
    pipe = make_pipeline(
        WavenumberResampler(wavenumbers=synthetic.wavenumbers, target_wavenumbers=grid),
        small_clf(max_epochs=3, augmenter=RecordingAugmenter(n_copies=2)),
    )
    RecordingAugmenter.log.clear()
    res = cross_validate(
        pipe, X, y, groups=groups, cv=StratifiedGroupKFold(3), return_indices=True
    )
    assert len(res["test_score"]) == 3 and np.all(res["test_score"] > 1 / 3)
    Xr = pipe[0].fit(X).transform(X).astype(np.float32)
    assert len(RecordingAugmenter.log) == 3
    for (X_in, _, X_out), train, test in zip(
        RecordingAugmenter.log,
        res["indices"]["train"],
        res["indices"]["test"],
        strict=True,
    ):
        assert set(groups[train]).isdisjoint(groups[test])
        assert len(X_in) == len(train) and X_in.shape[1] == len(grid)
        assert not rows_in(Xr[test], X_in).any()
        assert not rows_in(Xr[test], X_out.astype(np.float32)).any()


def test_imblearn_pipeline_with_augmenter_step(synthetic):
    # the documented alternative shape: augmentation as a visible step; the
    # classifier then must not split (train_split=None, the default), since
    # the rows it receives already contain the noisy twins.
    imblearn_pipeline = pytest.importorskip("imblearn.pipeline")
    cap = Capture()
    pipe = imblearn_pipeline.make_pipeline(
        SpectralAugmenter(n_copies=2, random_state=0),
        small_clf(max_epochs=2, callbacks=[("capture", cap)]),
    ).fit(synthetic.data, synthetic.target)
    assert len(cap.train_[0]) == 3 * 36 and cap.valid_ is None
    assert pipe.predict(synthetic.data[:5]).shape == (5,)  # no resampling here


@pytest.mark.filterwarnings("ignore::UserWarning")  # loky worker restarts
def test_gridsearch_n_jobs_2_without_oversubscription(synthetic):
    X, y = synthetic.data, synthetic.target
    grid = np.arange(610.0, 1100.0, 4.0)

    class Threads(Callback):
        def on_epoch_end(self, net, **kw):
            net.history.record("torch_threads", torch.get_num_threads())

    def threads_score(est, X_, y_):
        return float(max(est[-1].history[:, "torch_threads"]))

    pipe = make_pipeline(
        WavenumberResampler(wavenumbers=synthetic.wavenumbers, target_wavenumbers=grid),
        small_clf(max_epochs=3, callbacks=[("threads", Threads())]),
    )
    gs = GridSearchCV(
        pipe,
        {
            "ramancnnclassifier__module__kernel_sizes": [(5, 3), (3, 3)],
            "ramancnnclassifier__augmenter": [SpectralAugmenter(n_copies=1)],
            "ramancnnclassifier__augmenter__noise_std": [0.02],
        },
        cv=StratifiedGroupKFold(2),
        scoring={"acc": "accuracy", "threads": threads_score},
        refit="acc",
        n_jobs=2,
    ).fit(X, y, groups=synthetic.groups)
    cap = max(1, (os.cpu_count() or 1) // 2)
    assert np.all(gs.cv_results_["mean_test_threads"] <= cap)
    assert gs.best_params_["ramancnnclassifier__module__kernel_sizes"] in [
        (5, 3),
        (3, 3),
    ]
    best = gs.best_estimator_[-1]
    assert best.augmenter__noise_std == 0.02
    assert best.augmenter_.noise_std == 0.02


@pytest.mark.slow
def test_gridsearch_on_dask_localcluster(synthetic):
    pytest.importorskip("distributed")
    import joblib
    from distributed import Client, LocalCluster

    X, y = synthetic.data, synthetic.target
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        Client(cluster),
        joblib.parallel_config(backend="dask"),
    ):
        gs = GridSearchCV(
            small_clf(max_epochs=3, n_threads=1),
            {"module__kernel_sizes": [(5, 3), (3, 3)]},
            cv=StratifiedGroupKFold(2),
        ).fit(X, y, groups=synthetic.groups)
    assert len(gs.cv_results_["mean_test_score"]) == 2
    assert gs.best_estimator_.predict(X[:2]).dtype == y.dtype


# ----------------------------------------------------------- validation
def test_validation_split_keeps_best_weights_in_memory(synthetic, tmp_path):
    X, y = synthetic.data, synthetic.target
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        cap = Capture()
        clf = small_clf(
            max_epochs=8,
            lr=5e-2,
            train_split=ValidSplit(0.25, stratified=True),
            callbacks=[("capture", cap)],
        ).fit(X, y)
    finally:
        os.chdir(cwd)
    assert list(tmp_path.iterdir()) == []  # no checkpoint files
    h = clf.history
    assert {"train_loss", "valid_loss", "valid_acc"} <= set(h[-1])
    losses = h[:, "valid_loss"]
    best = int(np.argmin(losses)) + 1
    assert clf.best_epoch_ == best
    assert weights_equal(clf.module_.state_dict(), cap.states_[best - 1])
    if best != len(h):
        assert not weights_equal(clf.module_.state_dict(), cap.states_[-1])
    accs = h[:, "valid_acc"]
    assert all(0 <= a <= 1 for a in accs)


def test_restore_best_false_and_monitor_valid_acc(synthetic):
    X, y = synthetic.data, synthetic.target
    cap = Capture()
    clf = small_clf(
        max_epochs=4,
        train_split=ValidSplit(0.25, stratified=True),
        restore_best=False,
        monitor="valid_acc",
        callbacks=[("capture", cap)],
    ).fit(X, y)
    assert weights_equal(clf.module_.state_dict(), cap.states_[-1])
    accs = clf.history[:, "valid_acc"]
    assert clf.best_epoch_ == int(np.argmax(accs)) + 1  # first epoch wins ties


def test_patience_stops_early(synthetic):
    X, y = synthetic.data, synthetic.target
    clf = small_clf(
        max_epochs=40,
        lr=5e-2,
        train_split=ValidSplit(0.25, stratified=True),
        patience=2,
    ).fit(X, y)
    n = len(clf.history)
    assert n < 40
    assert n - clf.best_epoch_ == 2
    assert (
        min(clf.history[:, "valid_loss"])
        == clf.history[clf.best_epoch_ - 1]["valid_loss"]
    )


class CtrlCAt(Callback):
    """Send this process a real SIGINT (a user's Ctrl-C) at the end of an epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_is_raised_again_and_leaves_a_usable_net(synthetic, python_sigint):
    X, y = synthetic.data, synthetic.target
    handler = signal.getsignal(signal.SIGINT)
    clf = small_clf(
        max_epochs=6,
        train_split=ValidSplit(0.25, stratified=True),
        callbacks=[("ctrl_c", CtrlCAt(2))],
    )
    msg = r"interrupted \(Ctrl-C\) after 2 epoch"
    with pytest.raises(KeyboardInterrupt, match=msg):
        clf.fit(X, y)
    assert signal.getsignal(signal.SIGINT) is handler  # handler put back
    assert len(clf.history) == 2  # stopped where the user pressed Ctrl-C
    assert clf.best_epoch_ in (1, 2)  # on_train_end ran: best weights restored
    assert not clf.module_.training
    assert clf.predict_proba(X).shape == (len(X), 3)


def test_early_stopping_callbacks_still_end_training_quietly(synthetic):
    """skorch's EarlyStopping raises KeyboardInterrupt too; that is not Ctrl-C."""
    from skorch.callbacks import EarlyStopping

    X, y = synthetic.data, synthetic.target
    clf = small_clf(
        max_epochs=40,
        lr=5e-2,
        train_split=ValidSplit(0.25, stratified=True),
        callbacks=[("es", EarlyStopping(patience=1, sink=lambda *a: None))],
    ).fit(X, y)
    assert len(clf.history) < 40


def test_predefined_split_with_original_labels(synthetic):
    X, y = synthetic.data, synthetic.target
    valid = make_spectra(n_per_class=2, seed=3)
    cap = Capture()
    clf = small_clf(
        max_epochs=2,
        train_split=predefined_split(Dataset(valid.data, valid.target)),
        augmenter=SpectralAugmenter(n_copies=1, random_state=0),
        callbacks=[("capture", cap)],
    ).fit(X, y)
    assert len(cap.valid_[0]) == 6 and len(cap.train_[0]) == 72
    np.testing.assert_array_equal(cap.valid_[0], valid.data.astype(np.float32))
    np.testing.assert_array_equal(clf.classes_[cap.valid_[1]], valid.target)
    assert len(clf.history[:, "valid_acc"]) == 2
    bad = predefined_split(Dataset(valid.data, np.array(["delta"] * 6)))
    with pytest.raises(ValueError, match=r"validation part's y contains labels"):
        small_clf(max_epochs=1, train_split=bad).fit(X, y)


# ------------------------------------------------------- precision, threads
def test_bfloat16_autocast_in_training_and_inference(synthetic):
    X, y = synthetic.data, synthetic.target
    dtypes = {"train": set(), "predict": set()}

    class ConvDtype(Callback):
        def on_train_begin(self, net, **kw):
            self.hook_ = net.module_.features[0].register_forward_hook(
                lambda m, i, o: dtypes["train"].add(o.dtype)
            )

        def on_train_end(self, net, **kw):
            self.hook_.remove()

    clf = small_clf(precision="bfloat16", callbacks=[("dtype", ConvDtype())])
    clf.fit(X, y)
    conv = clf.module_.features[0]
    hook = conv.register_forward_hook(lambda m, i, o: dtypes["predict"].add(o.dtype))
    proba = clf.predict_proba(X)
    hook.remove()
    assert dtypes == {"train": {torch.bfloat16}, "predict": {torch.bfloat16}}
    assert conv.weight.dtype == torch.float32  # float32 master weights
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert np.isfinite(clf.history[:, "train_loss"]).all()
    assert np.mean(clf.predict(X) == y) >= 0.9


def test_n_threads_applied_during_fit_and_restored(synthetic):
    before = torch.get_num_threads()
    want = 1 if before > 1 else 2
    cap = Capture()
    small_clf(max_epochs=2, n_threads=want, callbacks=[("capture", cap)]).fit(
        synthetic.data, synthetic.target
    )
    assert cap.threads_ == [want, want]
    assert torch.get_num_threads() == before


def test_verbose(synthetic, capsys):
    small_clf(max_epochs=2).fit(synthetic.data, synthetic.target)
    assert capsys.readouterr().out == ""
    small_clf(max_epochs=2, verbose=1).fit(synthetic.data, synthetic.target)
    out = capsys.readouterr().out
    assert "train_loss" in out and "epoch" in out


@pytest.mark.gpu
def test_cuda_fit_predict(synthetic):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    clf = small_clf(device="cuda", precision="bfloat16").fit(
        synthetic.data, synthetic.target
    )
    assert next(clf.module_.parameters()).is_cuda
    assert np.mean(clf.predict(synthetic.data) == synthetic.target) >= 0.9


# ---------------------------------------------------- sklearn conventions
def test_pickle_clone_and_input_not_modified(fitted, synthetic):
    X = synthetic.data.copy()
    X.setflags(write=False)
    before = X.copy()
    proba = fitted.predict_proba(X)
    np.testing.assert_array_equal(X, before)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict_proba(X), proba)
    np.testing.assert_array_equal(restored.classes_, fitted.classes_)
    twin = clone(fitted)
    assert twin.get_params()["module__kernel_sizes"] == (5, 3)
    with pytest.raises(NotFittedError):
        twin.predict(X)


def test_partial_fit_and_warm_start_continue_training(synthetic):
    X, y = synthetic.data, synthetic.target
    clf = small_clf(max_epochs=2).partial_fit(X, y)
    w1 = {k: v.clone() for k, v in clf.module_.state_dict().items()}
    clf.partial_fit(X, y)
    assert len(clf.history) == 4
    assert not weights_equal(w1, clf.module_.state_dict())
    with pytest.raises(ValueError, match=r"labels not seen in fit: \['zeta'\]"):
        clf.partial_fit(X[:2], ["alpha", "zeta"])
    warm = small_clf(max_epochs=2, warm_start=True).fit(X, y).fit(X, y)
    assert len(warm.history) == 4


@pytest.mark.parametrize("method", ["predict", "predict_proba", "save"])
def test_unfitted_raises_sklearn_not_fitted_error(method, synthetic, tmp_path):
    clf = small_clf()
    arg = tmp_path if method == "save" else synthetic.data
    with pytest.raises(NotFittedError) as info:
        getattr(clf, method)(arg)
    assert type(info.value) is NotFittedError


# --------------------------------------------------------------- bad input
def _bad(synthetic, kind):
    X, y = synthetic.data.copy(), synthetic.target.copy()
    if kind == "nan":
        X[3, 10] = np.nan
    elif kind == "inf":
        X[0, 0] = np.inf
    elif kind == "one_class":
        y[:] = "alpha"
    elif kind == "length":
        y = y[:-1]
    elif kind == "3d":
        X = X.reshape(36, 2, 128)
    elif kind == "short":
        X = X[:, :15]
    elif kind == "regression":
        y = np.linspace(0, 1, 36)
    return X, y


@pytest.mark.parametrize(
    ("kind", "match"),
    [
        ("nan", "Input X contains NaN"),
        ("inf", "Input X contains infinity"),
        ("one_class", r"y has only one class \('alpha'\).*at least 2 classes"),
        ("length", r"inconsistent numbers of samples: \[36, 35\]"),
        ("3d", "Found array with dim 3"),
        ("short", r"X has 15 features.*needs at least 16 \(pool \*\* n_blocks\)"),
        ("regression", "Unknown label type"),
    ],
)
def test_bad_training_data(synthetic, kind, match):
    X, y = _bad(synthetic, kind)
    with pytest.raises(ValueError, match=match):
        small_clf(max_epochs=1).fit(X, y)


def test_predict_with_other_number_of_features(fitted, synthetic):
    with pytest.raises(ValueError, match="X has 200 features, but Raman"):
        fitted.predict(synthetic.data[:, :200])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        fitted.predict(np.full((2, 256), np.nan))


@pytest.mark.parametrize(
    ("params", "exc", "match"),
    [
        ({"precision": "float16"}, ValueError, r"'precision' parameter.*'float16'"),
        ({"device": "gpu0"}, ValueError, r"device must be a torch device.*'gpu0'"),
        ({"monitor": "loss"}, ValueError, r"'monitor' parameter.*'loss'"),
        ({"patience": 3}, ValueError, r"patience=3 needs a validation part"),
        ({"patience": 0}, ValueError, r"'patience' parameter.*\[1, inf\).*Got 0"),
        ({"n_threads": 0}, ValueError, r"'n_threads' parameter.*\[1, inf\).*Got 0"),
        ({"balance_classes": "yes"}, TypeError, r"'balance_classes' parameter.*'yes'"),
        ({"mixup": -0.5}, ValueError, r"'mixup' parameter.*\[0.0, inf\).*Got -0.5"),
        ({"mask_windows": -1}, ValueError, r"'mask_windows' parameter.*Got -1"),
        ({"mask_width": 0}, ValueError, r"'mask_width' parameter.*Got 0"),
        ({"augmenter": object()}, TypeError, r"augmenter must have a fit_resample"),
        ({"augmenter__n_copies": 2}, ValueError, r"augmenter=None"),
    ],
)
def test_bad_parameters(synthetic, params, exc, match):
    with pytest.raises(exc, match=match):
        small_clf(max_epochs=1, **params).fit(synthetic.data, synthetic.target)


def test_cuda_unavailable_is_a_clear_error(synthetic):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="CUDA is not available"):
        small_clf(device="cuda").fit(synthetic.data, synthetic.target)
