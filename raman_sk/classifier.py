"""RamanCNNClassifier: the SEED.md training recipe as a scikit-learn classifier.

The classifier is a subclass of skorch's :class:`~skorch.NeuralNetClassifier`.
Everything that differs from plain skorch goes through skorch's documented
hooks (``get_dataset``, ``get_split_datasets``, ``get_iterator``,
``initialize_module``, ``infer``, callbacks); the training loop itself is
skorch's.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import math
import numbers
import os
import signal
import threading
from collections.abc import Iterator, Mapping
from os import PathLike
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_is_fitted,
    check_random_state,
    validate_data,
)
from skorch import NeuralNetClassifier
from skorch.callbacks import (
    Callback,
    EpochTimer,
    LRScheduler,
    PassthroughScoring,
    PrintLog,
)
from skorch.dataset import Dataset, ValidSplit
from skorch.net import NeuralNet
from skorch.utils import is_dataset, to_tensor
from torch.optim.lr_scheduler import CosineAnnealingLR
from torch.utils.data import DataLoader, RandomSampler, Subset, WeightedRandomSampler

from .models import RamanCNN1D, fuse_conv_bn, min_input_length

__all__ = ["RamanCNNClassifier"]

# OpenMP threads that spin while waiting for work (libgomp's default "active"
# policy) make training 9-10x slower as soon as other processes share the
# cores: measured on 2 cores under load ~6, bf16 training at 2 threads ran
# 8.4 samples/s spinning, 78 passive, 89 with 1 thread
# (benchmarks/results/speed.md, section "threads"). The policy is read once,
# when torch's OpenMP runtime loads, so it cannot be changed here for a
# process that has already imported torch; but processes started from now
# on (joblib/loky workers of GridSearchCV or cross_validate with n_jobs,
# Dask workers, subprocesses) inherit it. A value set by the user wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_PRECISIONS = ("float32", "bfloat16")
_MONITORS = {"valid_loss": True, "valid_acc": False}  # name -> lower_is_better


from .utils._validation import MAX_ABS_INPUT  # noqa: F401, E402
from .utils._validation import check_label_types as _check_label_types  # noqa: E402
from .utils._validation import check_magnitude as _check_magnitude  # noqa: E402
from .utils._validation import check_spectra as _check_spectra  # noqa: E402


class _TensorDataset(torch.utils.data.Dataset):
    """In-memory spectra as one float32 tensor (and int64 labels).

    Built once per ``fit``/``predict`` call; batches are slices or one
    fancy-index of these tensors, never per-sample numpy conversions.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor | None = None):
        self.X = X
        self.y = y

    @classmethod
    def from_numpy(cls, X, y=None, device=None) -> _TensorDataset:
        # np.require copies only when needed (dtype, layout or read-only input:
        # torch refuses to share memory with a non-writable array).
        X_t = torch.from_numpy(np.require(X, np.float32, ["C", "W"]))
        y_t = None
        if y is not None:
            y_t = torch.from_numpy(np.require(y, np.int64, ["C", "W"]))
        if device is not None:
            X_t = X_t.to(device)
            y_t = None if y_t is None else y_t.to(device)
        return cls(X_t, y_t)

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def __getitem__(self, i):
        y = self.y[i] if self.y is not None else torch.zeros((), dtype=torch.int64)
        return self.X[i], y

    def subset(self, indices) -> _TensorDataset:
        idx = torch.as_tensor(np.asarray(indices, dtype=np.int64), device=self.X.device)
        return _TensorDataset(self.X[idx], None if self.y is None else self.y[idx])


class _TensorBatches:
    """Iterate over ``(X_batch, y_batch)`` of a :class:`_TensorDataset`.

    Without a sampler, batches are contiguous slices (views); with a
    sampler, the epoch's indices are drawn once and each batch is one index
    operation. This replaces the per-sample ``__getitem__`` + collate of a
    ``DataLoader``.
    """

    def __init__(self, dataset: _TensorDataset, batch_size: int, sampler=None):
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.sampler = sampler

    def __len__(self) -> int:
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        return math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        X, y, bs = self.dataset.X, self.dataset.y, self.batch_size
        if self.sampler is None:
            for start in range(0, X.shape[0], bs):
                yield (
                    X[start : start + bs],
                    None if y is None else y[start : start + bs],
                )
            return
        order = torch.as_tensor(list(self.sampler), dtype=torch.int64, device=X.device)
        for start in range(0, order.shape[0], bs):
            idx = order[start : start + bs]
            yield X[idx], None if y is None else y[idx]


# ---------------------------------------------------------------------- callbacks
class ValidAccuracy(Callback):
    """Record ``valid_acc`` (accuracy on the validation part) each epoch.

    Computed from the logits of the validation batches that skorch already
    produces, so it costs no extra forward pass. Also records
    ``valid_acc_best``.
    """

    def initialize(self):
        """Reset the running counts."""
        self.correct_ = 0
        self.total_ = 0
        self.best_ = -np.inf
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Restore the best score from an earlier run (warm start)."""
        scores = [h["valid_acc"] for h in net.history if "valid_acc" in h]
        self.best_ = max(scores) if scores else -np.inf

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Reset the counts for a new epoch."""
        self.correct_ = 0
        self.total_ = 0

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        """Count correct predictions of a validation batch."""
        if training or kwargs.get("y_pred") is None:
            return
        y_true = batch[1]
        y_pred = kwargs["y_pred"]
        self.correct_ += int((y_pred.argmax(dim=1) == y_true).sum())
        self.total_ += int(y_true.shape[0])

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Record the epoch's validation accuracy."""
        if not self.total_:
            return
        acc = self.correct_ / self.total_
        is_best = acc > self.best_
        if is_best:
            self.best_ = acc
        net.history.record("valid_acc", acc)
        net.history.record("valid_acc_best", bool(is_best))


class BestWeights(Callback):
    """Keep the best weights in memory, restore them, stop early.

    Reads ``net.monitor`` (``"valid_loss"``: lowest; ``"valid_acc"``:
    highest, the first epoch wins ties), ``net.restore_best`` and
    ``net.patience``. Does nothing without a validation part. The copy of the
    state dict lives in memory only (no files), so parallel fits never
    overwrite each other. Sets ``net.best_epoch_`` (1-based, or None).
    """

    def initialize(self):
        """Forget any earlier best state."""
        self.best_score_ = None
        self.best_epoch_ = None
        self.best_state_ = None
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Start a new search for the best epoch."""
        self.initialize()

    def _is_better(self, score, lower_is_better):
        if self.best_score_ is None:
            return True
        if lower_is_better:
            return score < self.best_score_
        return score > self.best_score_

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Store a copy of the weights when the monitored score improves."""
        if dataset_valid is None:
            return
        monitor = net.monitor
        score = net.history[-1].get(monitor)
        if score is None:
            return
        if self._is_better(score, _MONITORS[monitor]):
            self.best_score_ = score
            self.best_epoch_ = len(net.history)
            if net.restore_best:
                self.best_state_ = {
                    k: v.detach().clone() for k, v in net.module_.state_dict().items()
                }
        patience = net.patience
        if patience is not None and len(net.history) - self.best_epoch_ >= patience:
            # skorch's documented way to end training early (caught in partial_fit)
            raise KeyboardInterrupt

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Load the best weights back into the module."""
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
        net.best_epoch_ = self.best_epoch_
        self.best_state_ = None  # do not keep a second copy of the weights


# -------------------------------------------------------------------- Ctrl-C
class _CtrlC:
    """Whether SIGINT arrived while :func:`_watch_ctrl_c` was active."""

    pressed = False


@contextlib.contextmanager
def _watch_ctrl_c() -> Iterator[_CtrlC]:
    """Record a Ctrl-C (SIGINT) during training, then handle it as before.

    skorch's ``partial_fit`` swallows every ``KeyboardInterrupt`` because
    callbacks raise one to stop early; this is how a real interrupt is told
    apart from early stopping. The previous handler still runs (Python's
    default raises ``KeyboardInterrupt``), so nothing else changes. Signal
    handlers can only be set from the main thread; in other threads (joblib
    threading backend, Dask workers) this does nothing: a Ctrl-C arrives in
    the main thread there anyway.
    """
    state = _CtrlC()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN or previous is None:
        # ignored, or installed from outside Python: leave it alone
        yield state
        return

    def handler(signum, frame):
        state.pressed = True
        if callable(previous):
            previous(signum, frame)
        else:  # SIG_DFL
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)


# ------------------------------------------------------------------- classifier
class RamanCNNClassifier(NeuralNetClassifier):
    """1D-CNN classifier for Raman spectra with the SEED.md training recipe.

    A :class:`skorch.NeuralNetClassifier` whose defaults are the recipe:
    :class:`~raman_sk.models.RamanCNN1D`, cross-entropy loss, Adam
    (``lr=1e-3``, ``weight_decay=1e-4``), cosine annealing of the learning
    rate over ``max_epochs=80`` epochs, batches of 32 drawn with class-balanced
    sampling. It accepts float 2-D arrays and any labels, and ``predict``
    returns the original labels. All skorch prefixed parameters work
    (``module__kernel_sizes``, ``optimizer__betas``,
    ``callbacks__lr_scheduler__T_max``, ``iterator_train__...``) and so do
    ``augmenter__...`` parameters.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=RamanCNN1D
        The network. When it is a class whose constructor takes
        ``n_features`` / ``n_classes``, these are set from the data at fit
        time; other ``module__`` parameters are passed through.
    criterion : torch.nn.Module class, default=torch.nn.CrossEntropyLoss
        Loss on the logits.
    optimizer : torch.optim.Optimizer class, default=torch.optim.Adam
        Optimizer; configure it with ``optimizer__...``.
    lr : float, default=1e-3
        Learning rate (initial value of the cosine schedule).
    weight_decay : float or None, default=1e-4
        Weight decay passed to the optimizer unless
        ``optimizer__weight_decay`` is given; None passes nothing.
    max_epochs : int, default=80
        Number of epochs; also the period ``T_max`` of the cosine schedule.
    batch_size : int, default=32
        Mini-batch size for training and inference (``-1``: whole data).
    train_split : callable or None, default=None
        skorch's internal validation split, e.g.
        ``skorch.dataset.ValidSplit(0.2, stratified=True)`` or
        ``skorch.helper.predefined_split(Dataset(X_valid, y_valid))`` with
        original labels (use the latter for a split by molecule made
        outside; ``ValidSplit`` ignores groups). None trains on everything
        for ``max_epochs`` epochs (the fixed-epoch cosine recipe). A float
        ``ValidSplit`` without ``random_state`` is seeded from
        ``random_state``.
    augmenter : object with ``fit_resample(X, y)`` or None, default=None
        E.g. :class:`raman_sk.preprocessing.SpectralAugmenter`. A clone is
        applied once per fit to the training part only, after the internal
        validation split, with the original labels; never to the validation
        part and never at predict time. Augmented copies are drawn once per
        fit, not per epoch (the SEED.md recipe augments once, and a fixed
        training set keeps the class-balanced sampler's weights exact). When
        ``random_state`` is set and the augmenter's own ``random_state`` is
        None, the clone is seeded from it. Tune with
        ``augmenter__noise_std`` etc.
    balance_classes : bool, default=True
        Draw training batches with a ``WeightedRandomSampler`` (with
        replacement, as many draws as training rows, weights ``1 / count``
        of each class in the training part). False: plain shuffling.
    restore_best : bool, default=True
        With a validation part, keep a copy of the weights of the best epoch
        (see ``monitor``) in memory and load it back at the end of training.
    monitor : {"valid_loss", "valid_acc"}, default="valid_loss"
        Score that defines the best epoch (lowest loss or highest accuracy;
        the earliest epoch wins ties) and drives ``patience``.
    patience : int or None, default=None
        Stop when ``monitor`` has not improved for this many epochs (needs a
        ``train_split``). None trains for ``max_epochs`` epochs.
    precision : {"float32", "bfloat16"}, default="float32"
        "bfloat16" runs forward passes under
        ``torch.autocast(device_type, dtype=torch.bfloat16)`` in training and
        inference (convolutions and linear layers in bf16; batch norm, the
        loss and the softmax stay float32). Fast on CPUs with AMX/AVX512-BF16
        and on recent GPUs.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, the batch sampler, the
        validation split and the augmenter. Equal values give identical
        weights and predictions (same machine and library versions). The
        global torch and numpy random states are left untouched (torch's is
        forked; with None, seeds are drawn from numpy's global generator, the
        scikit-learn convention).
    n_threads : int or None, default=None
        Torch intra-op threads during fit and predict (restored afterwards).
        None leaves torch's setting: joblib's default (loky) workers already
        start with ``OMP_NUM_THREADS = cpu_count // n_jobs``, which torch
        follows, so ``GridSearchCV(n_jobs=k)`` does not oversubscribe. Set it
        for Dask workers or threads, e.g. ``cores_per_worker``; Dask's nanny
        also starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which made
        training 1.3-1.5x slower per process here: drop that entry of the
        ``distributed.nanny.pre-spawn-environ`` config before creating the
        cluster (as ``benchmarks/bench_gridsearch.py`` does). Importing this
        module sets ``OMP_WAIT_POLICY=PASSIVE`` in the environment unless it
        is already set, so that worker processes started afterwards do not
        spin-wait: with other work on the cores, spinning OpenMP threads made
        training about 10x slower on a 2-core machine. For the main process
        the policy only applies if set before torch is first imported
        (``OMP_WAIT_POLICY=PASSIVE python ...``); ``n_threads=1`` is the
        other robust choice on a busy machine.
    device : str, default="cpu"
        Torch device ("cpu", "cuda", "cuda:1", ...). The training data are
        moved there once per fit.
    verbose : int, default=0
        0 is silent; 1 prints skorch's epoch table. Add
        ``callbacks=[skorch.callbacks.ProgressBar()]`` for a progress bar.
    **kwargs
        Other skorch parameters (``callbacks``, ``iterator_train``,
        ``dataset``, ``warm_start``, ``classes``, ...) and prefixed
        parameters (``module__...``, ``optimizer__...``, ``augmenter__...``).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted unique labels seen in ``fit`` (or the ``classes`` parameter).
    n_features_in_ : int
        Number of points per spectrum seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame with string column names.
    module_ : torch.nn.Module
        The trained network (in eval mode after ``predict``).
    history_ : skorch.History
        Per-epoch ``train_loss``, ``valid_loss``, ``valid_acc``, ``event_lr``
        and ``dur``; also reachable as ``history``.
    best_epoch_ : int or None
        1-based epoch whose weights were kept (None without validation part).
    augmenter_ : object or None
        The fitted clone of ``augmenter``.

    See Also
    --------
    raman_sk.models.RamanCNN1D : The network.
    raman_sk.save_pipeline : Save a fitted pipeline without pickle.

    Notes
    -----
    With ``imblearn.pipeline.Pipeline([..., ("aug", SpectralAugmenter()),
    ("clf", RamanCNNClassifier())])`` the augmented rows reach ``fit``;
    keep ``train_split=None`` there, otherwise noisy twins of a spectrum
    would land on both sides of the internal split. Prefer the
    ``augmenter=`` parameter, which splits first.

    Ctrl-C during ``fit`` differs from plain skorch, which ends training
    quietly and returns as if it had finished: here training ends, the net
    is left usable (best weights restored, as after a normal fit) and the
    ``KeyboardInterrupt`` is raised again, so a script, ``cross_validate``
    or ``raman-sk reproduce`` stops instead of carrying on with a
    half-trained model. Early stopping by callbacks (``patience``, skorch's
    ``EarlyStopping``) is unaffected.

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk import RamanCNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 64))
    >>> y = np.array(["lipid", "protein"] * 10)
    >>> X[y == "protein", 20:30] += 3.0
    >>> clf = RamanCNNClassifier(max_epochs=10, lr=1e-2, batch_size=4, random_state=0,
    ...                          module__channels=(4, 8), module__kernel_sizes=(5, 3),
    ...                          module__convs_per_block=1, module__hidden=16)
    >>> clf.fit(X, y).classes_
    array(['lipid', 'protein'], dtype='<U7')
    >>> bool(np.mean(clf.predict(X) == y) >= 0.8)
    True
    >>> clf.predict_proba(X[:2]).sum(axis=1)
    array([1., 1.])
    >>> len(clf.history)
    10
    """

    prefixes_ = [*NeuralNetClassifier.prefixes_, "augmenter"]

    def __init__(
        self,
        module=RamanCNN1D,
        *,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        weight_decay=1e-4,
        max_epochs=80,
        batch_size=32,
        train_split=None,
        augmenter=None,
        balance_classes=True,
        restore_best=True,
        monitor="valid_loss",
        patience=None,
        precision="float32",
        random_state=None,
        n_threads=None,
        device="cpu",
        verbose=0,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            device=device,
            verbose=verbose,
            **kwargs,
        )
        self.weight_decay = weight_decay
        self.augmenter = augmenter
        self.balance_classes = balance_classes
        self.restore_best = restore_best
        self.monitor = monitor
        self.patience = patience
        self.precision = precision
        self.random_state = random_state
        self.n_threads = n_threads

    # ------------------------------------------------------------ sklearn glue
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.target_tags.required = True
        return tags

    def _get_param_names(self):
        # skorch lists every non-fitted attribute, its private
        # ``_params_to_validate`` included; that is not a parameter.
        return [k for k in super()._get_param_names() if not k.startswith("_")]

    def __sklearn_is_fitted__(self) -> bool:
        return bool(
            getattr(self, "initialized_", False)
            and hasattr(self, "classes_inferred_")
            and hasattr(self, "n_features_in_")
            and getattr(self, "module_", None) is not None
        )

    @property
    def _default_callbacks(self):
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("valid_acc", ValidAccuracy()),
            (
                "lr_scheduler",
                LRScheduler(policy=CosineAnnealingLR, T_max=self.max_epochs),
            ),
            ("best_weights", BestWeights()),
            ("print_log", PrintLog()),
        ]

    def get_params(self, deep=True, **kwargs):
        """Get parameters; explicit ``augmenter__``/``callbacks__`` values win.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of sub-objects (augmenter, callbacks).
        **kwargs : dict
            Passed to skorch's ``get_params``.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=deep, **kwargs)
        # skorch reports sub-object parameters from the (unchanged) objects,
        # e.g. a fresh default LRScheduler; values set explicitly through
        # ``augmenter__x`` / ``callbacks__name__x`` are the ones that apply.
        params.update(
            {
                k: v
                for k, v in vars(self).items()
                if k.startswith(("augmenter__", "callbacks__"))
            }
        )
        return params

    def set_params(self, **params):
        """Set parameters, including ``augmenter__...`` on a fitted net.

        Parameters
        ----------
        **params : dict
            Parameter names and values, skorch's prefixed names included.

        Returns
        -------
        self : RamanCNNClassifier
            This estimator.
        """
        aug = {k: v for k, v in params.items() if k.startswith("augmenter__")}
        if aug and getattr(self, "initialized_", False):
            # skorch would try to re-initialise a torch component here;
            # augmenter parameters are only read at the next fit.
            for key, val in aug.items():
                setattr(self, key, val)
                self._params_to_validate.add(key)
            params = {k: v for k, v in params.items() if k not in aug}
        if params:
            super().set_params(**params)
        return self

    # ---------------------------------------------------------- validation
    def _check_params(self) -> None:
        if self.precision not in _PRECISIONS:
            raise ValueError(
                f"precision must be one of {_PRECISIONS}, got {self.precision!r}."
            )
        self._torch_device()
        if not isinstance(self.balance_classes, (bool, np.bool_)):
            raise TypeError(
                f"balance_classes must be True or False, got {self.balance_classes!r}."
            )
        if self.monitor not in _MONITORS:
            raise ValueError(
                f"monitor must be one of {tuple(_MONITORS)}, got {self.monitor!r}."
            )
        if self.patience is not None:
            if not isinstance(self.patience, numbers.Integral) or self.patience < 1:
                raise ValueError(
                    f"patience must be None or an int >= 1, got {self.patience!r}."
                )
            if not self.train_split:
                raise ValueError(
                    f"patience={self.patience} needs a validation part: set "
                    "train_split, e.g. ValidSplit(0.2, stratified=True)."
                )
        if self.n_threads is not None and (
            not isinstance(self.n_threads, numbers.Integral) or self.n_threads < 1
        ):
            raise ValueError(
                f"n_threads must be None or an int >= 1, got {self.n_threads!r}."
            )
        if self.augmenter is not None and not hasattr(self.augmenter, "fit_resample"):
            raise TypeError(
                "augmenter must have a fit_resample(X, y) method (e.g. "
                "raman_sk.preprocessing.SpectralAugmenter) or be None, got "
                f"{type(self.augmenter).__name__}."
            )
        if self.augmenter is None and self.get_params_for("augmenter"):
            raise ValueError(
                "augmenter__ parameters were given "
                f"({sorted(self.get_params_for('augmenter'))}) but augmenter=None."
            )

    def _torch_device(self) -> torch.device | None:
        if self.device is None:
            return None
        try:
            dev = torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"device must be a torch device such as 'cpu', 'cuda' or 'cuda:0', "
                f"got {self.device!r}."
            ) from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={self.device!r} but CUDA is not available; use 'cpu'."
            )
        if dev.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(
                f"device={self.device!r} but MPS is not available; use 'cpu'."
            )
        if self.precision == "bfloat16" and dev.type not in ("cpu", "cuda"):
            raise ValueError(
                "precision='bfloat16' is supported on 'cpu' and 'cuda' devices, "
                f"got device={self.device!r}."
            )
        return dev

    def _device_type(self) -> str:
        dev = self._torch_device()
        return "cpu" if dev is None else dev.type

    def _module_arch(self) -> tuple[int, int] | None:
        """``(n_blocks, pool)`` when the module is RamanCNN1D, else None."""
        module = self.module
        if not (isinstance(module, type) and issubclass(module, RamanCNN1D)):
            return None
        defaults = {
            name: p.default
            for name, p in inspect.signature(RamanCNN1D.__init__).parameters.items()
        }
        kwargs = {**defaults, **self.get_params_for("module")}
        return len(tuple(kwargs["channels"])), int(kwargs["pool"])

    def _validate_fit_data(self, X, y, *, reset: bool, classes=None):
        X = _check_spectra(X)
        if y is not None:
            _check_label_types(y)
        X, y = validate_data(self, X, y, reset=reset, dtype=np.float32)
        _check_magnitude(X)
        check_classification_targets(y)
        if reset:
            if classes is None:
                classes = self.classes
            classes = np.unique(y) if classes is None else np.asarray(classes)
            if classes.size < 2:
                raise ValueError(
                    f"y has only one class ({classes[0]!r}): "
                    f"{type(self).__name__} needs at least 2 classes."
                    if classes.size
                    else "y is empty: at least 2 classes are needed."
                )
            self.classes_inferred_ = classes
        y_enc = self._encode(y, what="y")
        arch = self._module_arch()
        if reset and arch is not None:
            need = min_input_length(*arch)
            if X.shape[1] < need:
                raise ValueError(
                    f"X has {X.shape[1]} features (points per spectrum), but the "
                    f"network with {arch[0]} blocks and module__pool={arch[1]} "
                    f"needs at least {need} (pool ** n_blocks). Use a longer "
                    "wavenumber grid, a smaller module__pool or fewer blocks "
                    "(module__channels)."
                )
        return X, y_enc

    def _encode(self, y, *, what: str) -> np.ndarray:
        classes = self.classes_
        y = np.asarray(y)
        try:
            order = np.argsort(classes, kind="stable")
            pos = np.searchsorted(classes, y, sorter=order)
            pos = np.clip(pos, 0, len(classes) - 1)
            idx = order[pos]
            ok = classes[idx] == y
        except TypeError as exc:  # unorderable mixture of label types
            raise ValueError(
                f"{what} labels cannot be compared with classes_ {classes!r}."
            ) from exc
        if not np.all(ok):
            unknown = np.unique(y[~ok])[:5]
            raise ValueError(
                f"{what} contains labels not seen in fit: {unknown.tolist()}; "
                f"known classes_ are {classes.tolist()}."
            )
        return idx.astype(np.int64)

    # ------------------------------------------------------------ contexts
    @contextlib.contextmanager
    def _threads(self):
        if self.n_threads is None:
            yield
            return
        before = torch.get_num_threads()
        torch.set_num_threads(int(self.n_threads))
        try:
            yield
        finally:
            torch.set_num_threads(before)

    @contextlib.contextmanager
    def _training_context(self, torch_seed: int):
        dev = self._torch_device()
        devices = []
        if dev is not None and dev.type == "cuda":
            devices = [
                dev.index if dev.index is not None else torch.cuda.current_device()
            ]
        with (
            self._threads(),
            torch.random.fork_rng(devices=devices, device_type="cuda"),
        ):
            torch.manual_seed(torch_seed)
            yield

    # --------------------------------------------------------------- fit
    def fit(self, X, y, **fit_params) -> RamanCNNClassifier:
        """Train the network from scratch (unless ``warm_start=True``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Spectra on a common axis (float; cast to float32 internally).
        y : array-like of shape (n_samples,)
            Class labels of any type (strings included).
        **fit_params : dict
            Passed to the module's ``forward`` and to ``train_split``.

        Returns
        -------
        self : RamanCNNClassifier
            The fitted estimator.
        """
        warm = bool(self.warm_start) and self.__sklearn_is_fitted__()
        return self._fit(X, y, warm=warm, classes=None, fit_params=fit_params)

    def partial_fit(self, X, y, classes=None, **fit_params) -> RamanCNNClassifier:
        """Train for ``max_epochs`` more epochs, starting from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Spectra.
        y : array-like of shape (n_samples,)
            Labels; all must be in ``classes_`` after the first call.
        classes : array-like or None, default=None
            All classes, on the first call, if ``y`` does not show them all.
        **fit_params : dict
            Passed to the module's ``forward`` and to ``train_split``.

        Returns
        -------
        self : RamanCNNClassifier
            The fitted estimator.
        """
        warm = self.__sklearn_is_fitted__()
        return self._fit(X, y, warm=warm, classes=classes, fit_params=fit_params)

    def _fit(self, X, y, *, warm: bool, classes, fit_params):
        self._check_params()
        X, y_enc = self._validate_fit_data(X, y, reset=not warm, classes=classes)
        if not warm or not hasattr(self, "_rng_"):
            self._rng_ = check_random_state(self.random_state)
        seeds = self._rng_.randint(0, 2**31 - 1, size=4)
        self._seeds_ = {
            "torch": int(seeds[0]),
            "sampler": int(seeds[1]),
            "split": int(seeds[2]),
            "augmenter": int(seeds[3]),
        }
        with self._training_context(self._seeds_["torch"]), _watch_ctrl_c() as ctrl_c:
            if not warm:
                self.initialize()
            # skorch's own partial_fit: on_train_begin, fit_loop, on_train_end.
            # It catches KeyboardInterrupt, the exception callbacks (ours and
            # skorch's EarlyStopping) raise to end training early; a real
            # Ctrl-C is told apart by the SIGINT handler and raised again
            # below, once on_train_end has left the net usable.
            NeuralNet.partial_fit(self, X, y_enc, **fit_params)
        self.module_.eval()
        if ctrl_c.pressed:
            raise KeyboardInterrupt(
                f"training interrupted (Ctrl-C) after {len(self.history)} epoch(s); "
                "the net holds the weights restore_best chose from those epochs."
            )
        return self

    def check_data(self, X, y=None):
        """Do nothing: ``fit`` validated ``X``/``y`` and set ``classes_``."""

    def get_params_for_optimizer(self, prefix, named_parameters):
        """Add ``weight_decay`` (and Adam's fused kernel) unless given.

        With ``optimizer`` Adam or AdamW on a CPU or CUDA device and neither
        ``optimizer__fused`` nor ``optimizer__foreach`` set, the fused
        implementation is used (one kernel per parameter instead of about
        ten small ones; same update rule). Measured on 2 CPU cores: 3-13 %
        more training samples/s in bf16 (benchmarks/results/speed.md).
        """
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        if prefix != "optimizer":
            return args, kwargs
        if "weight_decay" not in kwargs and self.weight_decay is not None:
            kwargs["weight_decay"] = self.weight_decay
        if (
            self.optimizer in (torch.optim.Adam, torch.optim.AdamW)
            and "fused" not in kwargs
            and "foreach" not in kwargs
            and self._device_type() in ("cpu", "cuda")
            and not kwargs.get("differentiable", False)
        ):
            kwargs["fused"] = True
        return args, kwargs

    def _data_module_kwargs(self) -> dict[str, int]:
        if not hasattr(self, "n_features_in_") or not hasattr(
            self, "classes_inferred_"
        ):
            return {}
        return {
            "n_features": int(self.n_features_in_),
            "n_classes": len(self.classes_),
        }

    def initialize_module(self):
        """Build the module with ``n_features``/``n_classes`` from the data."""
        kwargs = self.get_params_for("module")
        module = self.module
        if not isinstance(module, torch.nn.Module):
            data_kwargs = self._data_module_kwargs()
            try:
                params = inspect.signature(module).parameters
            except (TypeError, ValueError):
                params = {}
            var_kw = any(p.kind is p.VAR_KEYWORD for p in params.values())
            for key, val in data_kwargs.items():
                if key not in params and not var_kw:
                    continue
                if key in kwargs and kwargs[key] != val:
                    raise ValueError(
                        f"module__{key}={kwargs[key]!r} contradicts the data "
                        f"({key}={val}); leave it unset, it is taken from the "
                        "data at fit time."
                    )
                kwargs[key] = val
        self.module_ = self.initialized_instance(module, kwargs)
        return self

    def get_dataset(self, X, y=None):
        """Wrap arrays in one in-memory tensor dataset (on ``device``)."""
        if is_dataset(X):
            return X
        if self.dataset is Dataset and not self.get_params_for("dataset"):
            return _TensorDataset.from_numpy(X, y, device=self._torch_device())
        return super().get_dataset(X, y)

    def _resolved_train_split(self):
        split = self.train_split
        if (
            isinstance(split, ValidSplit)
            and split._is_float(split.cv)
            and split.random_state is None
            and self.random_state is not None
        ):
            split = copy.copy(split)
            split.random_state = self._seeds_["split"]
        return split

    def get_split_datasets(self, X, y=None, **fit_params):
        """Split off the validation part, then augment the training part only."""
        dataset = self.get_dataset(X, y)
        split = self._resolved_train_split()
        if not split:
            dataset_train, dataset_valid = dataset, None
        elif y is None:
            dataset_train, dataset_valid = split(dataset, **fit_params)
        else:
            dataset_train, dataset_valid = split(dataset, y, **fit_params)
        dataset_train = self._as_tensor_dataset(dataset_train)
        if dataset_valid is not None:
            dataset_valid = self._as_tensor_dataset(dataset_valid)
        self.augmenter_ = None
        if self.augmenter is not None:
            dataset_train = self._augment(dataset_train)
        return dataset_train, dataset_valid

    def _as_tensor_dataset(self, ds):
        if isinstance(ds, _TensorDataset):
            return ds
        if isinstance(ds, Subset) and isinstance(ds.dataset, _TensorDataset):
            return ds.dataset.subset(ds.indices)
        if type(ds) is Dataset and ds.X is not None and ds.y is not None:
            # e.g. predefined_split(Dataset(X_valid, y_valid)): original labels
            X_v = validate_data(self, ds.X, reset=False, dtype=np.float32)
            y_v = np.asarray(ds.y)
            if y_v.ndim != 1 or len(y_v) != len(X_v):
                raise ValueError(
                    "The validation Dataset must hold X of shape (n, n_features) "
                    f"and 1-D labels of length n; got y of shape {y_v.shape}."
                )
            y_v = self._encode(y_v, what="The validation part's y")
            return _TensorDataset.from_numpy(X_v, y_v, device=self._torch_device())
        return ds

    def _augment(self, ds: _TensorDataset) -> _TensorDataset:
        if not isinstance(ds, _TensorDataset):
            raise TypeError(
                "augmenter needs in-memory array data; got a training dataset of "
                f"type {type(ds).__name__}."
            )
        aug = clone(self.augmenter)
        params = self.get_params_for("augmenter")
        if params:
            aug.set_params(**params)
        if self.random_state is not None and hasattr(aug, "get_params"):
            if "random_state" in aug.get_params() and aug.random_state is None:
                aug.set_params(random_state=self._seeds_["augmenter"])
        X_tr = ds.X.cpu().numpy().copy()
        y_tr = self.classes_[ds.y.cpu().numpy()]
        X_aug, y_aug = aug.fit_resample(X_tr, y_tr)
        X_aug = np.asarray(X_aug)
        if X_aug.ndim != 2 or X_aug.shape[1] != X_tr.shape[1]:
            raise ValueError(
                f"augmenter returned X of shape {X_aug.shape}; expected "
                f"(n, {X_tr.shape[1]})."
            )
        if len(y_aug) != len(X_aug):
            raise ValueError(
                f"augmenter returned {len(X_aug)} rows of X but {len(y_aug)} labels."
            )
        if not np.all(np.isfinite(X_aug)):
            raise ValueError("augmenter returned non-finite values (NaN or inf).")
        y_enc = self._encode(np.asarray(y_aug), what="The augmenter's output")
        self.augmenter_ = aug
        return _TensorDataset.from_numpy(X_aug, y_enc, device=self._torch_device())

    def get_iterator(self, dataset, training=False):
        """Batches of in-memory tensors; class-balanced sampling in training."""
        if not isinstance(dataset, _TensorDataset):
            return super().get_iterator(dataset, training=training)
        prefix = "iterator_train" if training else "iterator_valid"
        iterator = self.iterator_train if training else self.iterator_valid
        kwargs = self.get_params_for(prefix)
        if "sampler" in kwargs or "batch_sampler" in kwargs:
            return super().get_iterator(dataset, training=training)
        batch_size = kwargs.pop("batch_size", self.batch_size)
        if batch_size == -1:
            batch_size = max(1, len(dataset))
        shuffle = kwargs.pop("shuffle", training)
        sampler = None
        if training:
            seed = getattr(self, "_seeds_", {}).get("sampler")
            gen = torch.Generator()
            if seed is None:
                gen.seed()
            else:
                gen.manual_seed(seed)
            if self.balance_classes and dataset.y is not None:
                y = dataset.y.cpu()
                counts = torch.bincount(y, minlength=len(self.classes_)).double()
                weights = (1.0 / counts.clamp(min=1))[y]
                sampler = WeightedRandomSampler(
                    weights, num_samples=len(dataset), replacement=True, generator=gen
                )
            elif shuffle:
                sampler = RandomSampler(dataset, generator=gen)
        if iterator is DataLoader and not kwargs:
            return _TensorBatches(dataset, batch_size, sampler)
        return iterator(dataset, batch_size=batch_size, sampler=sampler, **kwargs)

    def infer(self, x, **fit_params):
        """Forward pass; under bf16 autocast when ``precision='bfloat16'``.

        Inside :meth:`predict_proba`, a RamanCNN1D runs as a copy with its
        BatchNorm layers folded into the convolutions
        (:func:`~raman_sk.models.fuse_conv_bn`; same function up to
        rounding, about 15 % faster on CPU).
        """
        if self.precision == "bfloat16":
            with torch.autocast(device_type=self._device_type(), dtype=torch.bfloat16):
                out = self._infer(x, **fit_params)
            return out.float()
        return self._infer(x, **fit_params)

    def _infer(self, x, **fit_params):
        net = self.__dict__.get("_inference_module")
        x = to_tensor(x, device=self.device)
        if net is None or isinstance(x, Mapping):
            return super().infer(x, **fit_params)
        return net(x, **fit_params)

    # ----------------------------------------------------------- predict
    def _validate_X_predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, _check_spectra(X), reset=False, dtype=np.float32)
        _check_magnitude(X)
        return X

    def _logits(self, X: np.ndarray) -> torch.Tensor:
        module = self.module_
        # Bypass skorch's __setattr__ (it would register a new torch module);
        # concurrent predicts each set an equivalent copy.
        if type(module) is RamanCNN1D and not module.training:
            self.__dict__["_inference_module"] = fuse_conv_bn(module)
        try:
            with self._threads(), torch.inference_mode():
                outs = [
                    yp[0] if isinstance(yp, tuple) else yp
                    for yp in self.forward_iter(X, training=False)
                ]
        finally:
            self.__dict__.pop("_inference_module", None)
        return torch.cat(outs).float()

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Spectra on the training axis.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Softmax of the logits in float64 (rows sum to 1), columns in the
            order of ``classes_``.
        """
        X = self._validate_X_predict(X)
        nonlin = self._get_predict_nonlinearity()
        return nonlin(self._logits(X).double()).numpy()

    def predict(self, X) -> np.ndarray:
        """Predict the original class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Spectra on the training axis.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_`` (same dtype as ``classes_``).
        """
        proba = self.predict_proba(X)  # checks fitted first
        return self.classes_[proba.argmax(axis=1)]

    # --------------------------------------------------------- save/load
    def save(self, directory: str | PathLike) -> Path:
        """Save weights (safetensors) and a JSON sidecar; no pickle.

        Parameters
        ----------
        directory : str or path-like
            Created if missing; ``weights.safetensors`` and ``config.json``
            are written atomically into it.

        Returns
        -------
        path : pathlib.Path
            The directory.
        """
        from .io import save_classifier

        return save_classifier(self, directory)

    @classmethod
    def load(
        cls, directory: str | PathLike, *, device: str | None = None
    ) -> RamanCNNClassifier:
        """Load a classifier written by :meth:`save` (never unpickles).

        Parameters
        ----------
        directory : str or path-like
            Directory written by :meth:`save`.
        device : str or None, default=None
            Torch device; None uses the saved one when available, else "cpu".

        Returns
        -------
        clf : RamanCNNClassifier
            The fitted classifier.
        """
        from .io import load_classifier

        return load_classifier(directory, cls=cls, device=device)
