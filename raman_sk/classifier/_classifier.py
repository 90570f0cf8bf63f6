"""RamanCNNClassifier: the reference training recipe as a scikit-learn classifier.

A subclass of skorch's :class:`~skorch.NeuralNetClassifier`. Everything that
differs from plain skorch goes through skorch's documented hooks
(``get_dataset``, ``get_split_datasets``, ``get_iterator``,
``initialize_module``, ``infer``, callbacks); the training loop is skorch's.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Mapping
from numbers import Integral, Real
from os import PathLike
from pathlib import Path

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data
from skorch import NeuralNetClassifier
from skorch.callbacks import EpochTimer, LRScheduler, PassthroughScoring, PrintLog
from skorch.dataset import Dataset, unpack_data
from skorch.net import NeuralNet
from skorch.utils import is_dataset, to_tensor
from torch.optim.lr_scheduler import CosineAnnealingLR
from torch.utils.data import DataLoader

from raman_sk.models import RamanCNN1D, fuse_conv_bn
from raman_sk.persistence import load_classifier, save_classifier
from raman_sk.utils import check_magnitude, check_spectra
from raman_sk.utils._sklearn_compat import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from raman_sk.utils._torch import PRECISIONS, torch_threads

from ._data import (
    TensorBatches,
    TensorDataset,
    as_tensor_dataset,
    augment_dataset,
    bridge_windows,
    seeded_split,
    training_sampler,
    validate_fit_data,
)
from ._interrupt import watch_ctrl_c
from .callbacks import MONITORS, BestWeights, ValidAccuracy

__all__ = ["RamanCNNClassifier"]


def check_device(device, precision) -> torch.device | None:
    """``device`` as a :class:`torch.device` that exists here and runs ``precision``."""
    if device is None:
        return None
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            "device must be a torch device such as 'cpu', 'cuda' or 'cuda:0', "
            f"got {device!r}."
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but CUDA is not available; use 'cpu'.")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} but MPS is not available; use 'cpu'.")
    if precision == "bfloat16" and dev.type not in ("cpu", "cuda"):
        raise ValueError(
            "precision='bfloat16' is supported on 'cpu' and 'cuda' devices, "
            f"got device={device!r}."
        )
    return dev


@contextlib.contextmanager
def _folded_batch_norm(net):
    """Let ``net.infer`` run a copy of its RamanCNN1D with BatchNorm folded in."""
    module = net.module_
    # Bypass skorch's __setattr__ (it would register a new torch module);
    # concurrent predicts each set an equivalent copy.
    if type(module) is RamanCNN1D and not module.training:
        net.__dict__["_inference_module"] = fuse_conv_bn(module)
    try:
        yield
    finally:
        net.__dict__.pop("_inference_module", None)


def _optimizer_defaults(kwargs: dict, optimizer, weight_decay, device_type) -> dict:
    """Add ``weight_decay`` and, for Adam/AdamW on CPU or CUDA, ``fused=True``.

    The fused kernel is one kernel per parameter instead of about ten small
    ones, with the same update rule; explicit ``fused``/``foreach`` win.
    """
    if "weight_decay" not in kwargs and weight_decay is not None:
        kwargs["weight_decay"] = weight_decay
    if (
        optimizer in (torch.optim.Adam, torch.optim.AdamW)
        and "fused" not in kwargs
        and "foreach" not in kwargs
        and device_type in ("cpu", "cuda")
        and not kwargs.get("differentiable", False)
    ):
        kwargs["fused"] = True
    return kwargs


@contextlib.contextmanager
def _training_context(device: torch.device | None, n_threads, torch_seed: int):
    """Threads set and torch's RNG (CPU and the training GPU) forked and seeded."""
    devices = []
    if device is not None and device.type == "cuda":
        devices = [
            device.index if device.index is not None else torch.cuda.current_device()
        ]
    with (
        torch_threads(n_threads),
        torch.random.fork_rng(devices=devices, device_type="cuda"),
    ):
        torch.manual_seed(torch_seed)
        yield


def _with_data_kwargs(module, kwargs: dict, data_kwargs: dict) -> dict:
    """Add ``n_features``/``n_classes`` to ``kwargs`` where ``module`` takes them."""
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
    return kwargs


class RamanCNNClassifier(NeuralNetClassifier):
    """1D-CNN classifier for Raman spectra with the reference training recipe.

    A :class:`skorch.NeuralNetClassifier` whose defaults are the recipe:
    :class:`~raman_sk.models.RamanCNN1D`, cross-entropy loss, Adam
    (``lr=1e-3``, ``weight_decay=1e-4``), cosine annealing of the learning
    rate over ``max_epochs=80`` epochs, batches of 32 drawn with class-balanced
    sampling. It accepts float 2-D arrays and any labels; ``predict`` returns
    the original labels. All skorch prefixed parameters work
    (``module__kernel_sizes``, ``optimizer__betas``,
    ``callbacks__lr_scheduler__T_max``, ...) and so do ``augmenter__...``.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=RamanCNN1D
        The network; ``n_features``/``n_classes`` are set from the data when
        its constructor takes them.
    criterion : torch.nn.Module class, default=torch.nn.CrossEntropyLoss
        Loss on the logits.
    optimizer : torch.optim.Optimizer class, default=torch.optim.Adam
        Optimizer; configure it with ``optimizer__...``.
    lr : float, default=1e-3
        Learning rate (initial value of the cosine schedule).
    weight_decay : float or None, default=1e-4
        Passed to the optimizer unless ``optimizer__weight_decay`` is given.
    max_epochs : int, default=80
        Number of epochs; also the period ``T_max`` of the cosine schedule.
    batch_size : int, default=32
        Mini-batch size for training and inference (``-1``: whole data).
    train_split : callable or None, default=None
        skorch's internal validation split, e.g. ``ValidSplit(0.2,
        stratified=True)`` or ``predefined_split(Dataset(X_valid, y_valid))``
        with original labels (for a split by molecule made outside). None
        trains on everything for ``max_epochs`` epochs. A float
        ``ValidSplit`` without ``random_state`` is seeded from ours.
    augmenter : object with ``fit_resample(X, y)`` or None, default=None
        E.g. :class:`raman_sk.preprocessing.SpectralAugmenter`. A clone is
        applied once per fit to the training part only, after the validation
        split (never to validation or predict data); once, not per epoch, so
        the class-balanced sampler's weights stay exact. Seeded from
        ``random_state`` when its own is None.
    balance_classes : bool, default=True
        Draw training batches with replacement, weights ``1 / count`` of each
        class. False: plain shuffling.
    mixup : float, default=0.0
        With ``mixup > 0`` every training batch becomes ``lam x + (1 - lam)
        x[perm]`` and its loss ``lam L(y) + (1 - lam) L(y[perm])`` (``perm`` a
        shuffle of the batch, ``lam ~ Beta(mixup, mixup)`` per batch; Zhang et
        al., ICLR 2018): the network also learns from mixtures of spectra of
        different classes, as a Raman spectrum of a mixture is the weighted sum
        of its components'. 0 trains on the batches as drawn.
    mask_windows : int, default=0
        In every training batch, bridge this many windows of each spectrum
        (1 to ``mask_width`` input points each) with the straight line between
        their edges, before mixup: a new molecule shares only some of its
        class's bands, so the network learns to decide from any of them.
    mask_width : int, default=100
        Widest masked window, in input points.
    restore_best : bool, default=True
        With a validation part, keep the best epoch's weights (see
        ``monitor``) in memory and load them back at the end of training.
    monitor : {"valid_loss", "valid_acc"}, default="valid_loss"
        Score that defines the best epoch (lowest loss or highest accuracy;
        the earliest epoch wins ties) and drives ``patience``.
    patience : int or None, default=None
        Stop when ``monitor`` has not improved for this many epochs (needs a
        ``train_split``). None trains for ``max_epochs`` epochs.
    precision : {"float32", "bfloat16"}, default="float32"
        "bfloat16" runs forward passes under ``torch.autocast`` (convolutions
        and linear layers in bf16; batch norm, loss and softmax in float32).
    random_state : int, RandomState instance or None, default=None
        Seeds weights, dropout, sampler, validation split and augmenter;
        equal values give identical models on the same machine. The global
        torch and numpy random states are left untouched.
    n_threads : int or None, default=None
        Torch intra-op threads during fit and predict (restored afterwards).
        None leaves torch's setting (joblib's workers already divide the
        cores); set it for Dask workers or threads. See benchmarks/README.md
        for shared machines.
    device : str, default="cpu"
        Torch device ("cpu", "cuda", "cuda:1", ...); data move there once.
    verbose : int, default=0
        0 is silent; 1 prints skorch's epoch table.
    **kwargs
        Other skorch parameters (``callbacks``, ``iterator_train``,
        ``warm_start``, ``classes``, ...) and prefixed parameters.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted unique labels seen in ``fit`` (or the ``classes`` parameter).
    n_features_in_ : int
        Number of points per spectrum seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame with string column names.
    module_ : torch.nn.Module
        The trained network.
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
    Ctrl-C during ``fit`` leaves the net usable (best weights restored) and
    then raises ``KeyboardInterrupt`` again, unlike plain skorch, so scripts
    and ``cross_validate`` stop; early stopping by callbacks is unaffected.
    Prefer ``augmenter=`` over an augmenting pipeline step: it splits first,
    so noisy twins never land on both sides of the validation split.

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

    # Checked by ``_check_params`` (skorch gives ``_validate_params`` another job).
    _parameter_constraints: dict = {
        "weight_decay": [Interval(Real, 0, None, closed="left"), None],
        "balance_classes": ["boolean"],
        "mixup": [Interval(Real, 0, None, closed="left")],
        "mask_windows": [Interval(Integral, 0, None, closed="left")],
        "mask_width": [Interval(Integral, 1, None, closed="left")],
        "restore_best": ["boolean"],
        "monitor": [StrOptions(set(MONITORS))],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "precision": [StrOptions(set(PRECISIONS))],
        "random_state": ["random_state"],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
    }

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
        mixup=0.0,
        mask_windows=0,
        mask_width=100,
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
        self.mixup = mixup
        self.mask_windows = mask_windows
        self.mask_width = mask_width
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
        """Get parameters; explicit ``augmenter__``/``callbacks__`` values win."""
        params = super().get_params(deep=deep, **kwargs)
        # skorch reports sub-objects' own (unchanged) values; set ones apply
        params.update(
            {
                k: v
                for k, v in vars(self).items()
                if k.startswith(("augmenter__", "callbacks__"))
            }
        )
        return params

    def set_params(self, **params):
        """Set parameters, including ``augmenter__...`` on a fitted net."""
        aug = {k: v for k, v in params.items() if k.startswith("augmenter__")}
        if aug and getattr(self, "initialized_", False):
            # skorch would re-initialise a torch component; augmenter
            # parameters are only read at the next fit.
            for key, val in aug.items():
                setattr(self, key, val)
                self._params_to_validate.add(key)
            params = {k: v for k, v in params.items() if k not in aug}
        if params:
            super().set_params(**params)
        return self

    # ---------------------------------------------------------- validation
    def _check_params(self) -> None:
        validate_parameter_constraints(
            self._parameter_constraints,
            {name: getattr(self, name) for name in self._parameter_constraints},
            caller_name=type(self).__name__,
        )
        self._torch_device()
        if self.patience is not None and not self.train_split:
            raise ValueError(
                f"patience={self.patience} needs a validation part: set "
                "train_split, e.g. ValidSplit(0.2, stratified=True)."
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
        return check_device(self.device, self.precision)

    def _device_type(self) -> str:
        dev = self._torch_device()
        return "cpu" if dev is None else dev.type

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

        As :meth:`fit`; ``classes`` (array-like or None) lists all classes on
        the first call if ``y`` does not show them all. Returns ``self``.
        """
        warm = self.__sklearn_is_fitted__()
        return self._fit(X, y, warm=warm, classes=classes, fit_params=fit_params)

    def _fit(self, X, y, *, warm: bool, classes, fit_params):
        self._check_params()
        X, y_enc = validate_fit_data(self, X, y, reset=not warm, classes=classes)
        if not warm or not hasattr(self, "_rng_"):
            self._rng_ = check_random_state(self.random_state)
        seeds = self._rng_.randint(0, 2**31 - 1, size=4)
        self._seeds_ = dict(zip(("torch", "sampler", "split", "augmenter"),
                                map(int, seeds), strict=True))
        with (
            _training_context(
                self._torch_device(), self.n_threads, self._seeds_["torch"]
            ),
            watch_ctrl_c() as ctrl_c,
        ):
            if not warm:
                self.initialize()
            # skorch's partial_fit catches the KeyboardInterrupt that callbacks
            # raise to stop early; a real Ctrl-C is raised again below, once
            # on_train_end has left the net usable.
            NeuralNet.partial_fit(self, X, y_enc, **fit_params)
        self.module_.eval()
        if ctrl_c.pressed:
            raise KeyboardInterrupt(
                f"training interrupted (Ctrl-C) after {len(self.history)} epoch(s); "
                "the net holds the weights restore_best chose from those epochs."
            )
        return self

    def initialize(self):
        """Check the parameters, then build the module, optimizer and callbacks."""
        self._check_params()
        return super().initialize()

    def check_data(self, X, y=None):
        """Do nothing: ``fit`` validated ``X``/``y`` and set ``classes_``."""

    def get_params_for_optimizer(self, prefix, named_parameters):
        """Add ``weight_decay`` and Adam's fused kernel unless given."""
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        if prefix == "optimizer":
            kwargs = _optimizer_defaults(
                kwargs, self.optimizer, self.weight_decay, self._device_type()
            )
        return args, kwargs

    def initialize_module(self):
        """Build the module with ``n_features``/``n_classes`` from the data."""
        kwargs = self.get_params_for("module")
        module = self.module
        if not isinstance(module, torch.nn.Module) and hasattr(
            self, "classes_inferred_"
        ) and hasattr(self, "n_features_in_"):
            data = {"n_features": int(self.n_features_in_),
                    "n_classes": len(self.classes_)}
            kwargs = _with_data_kwargs(module, kwargs, data)
        self.module_ = self.initialized_instance(module, kwargs)
        return self

    # ------------------------------------------------------------ data hooks
    def get_dataset(self, X, y=None):
        """Wrap arrays in one in-memory tensor dataset (on ``device``)."""
        if is_dataset(X):
            return X
        if self.dataset is Dataset and not self.get_params_for("dataset"):
            return TensorDataset.from_numpy(X, y, device=self._torch_device())
        return super().get_dataset(X, y)

    def get_split_datasets(self, X, y=None, **fit_params):
        """Split off the validation part, then augment the training part only."""
        dataset = self.get_dataset(X, y)
        split = self.train_split
        if self.random_state is not None:
            split = seeded_split(split, self._seeds_["split"])
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
            seed = None if self.random_state is None else self._seeds_["augmenter"]
            dataset_train, self.augmenter_ = augment_dataset(
                self.augmenter, self.get_params_for("augmenter"), seed,
                dataset_train, self.classes_, device=self._torch_device(),
            )
        return dataset_train, dataset_valid

    def _as_tensor_dataset(self, ds):
        return as_tensor_dataset(
            ds,
            lambda X: validate_data(self, X, reset=False, dtype=np.float32),
            self.classes_,
            self._torch_device(),
        )

    def get_iterator(self, dataset, training=False):
        """Batches of in-memory tensors; class-balanced sampling in training."""
        if not isinstance(dataset, TensorDataset):
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
            sampler = training_sampler(
                dataset, len(self.classes_), balance=self.balance_classes,
                shuffle=shuffle, seed=getattr(self, "_seeds_", {}).get("sampler"),
            )
        if iterator is DataLoader and not kwargs:
            return TensorBatches(dataset, batch_size, sampler)
        return iterator(dataset, batch_size=batch_size, sampler=sampler, **kwargs)

    def train_step_single(self, batch, **fit_params):
        """One training step; masked and mixed as set (see the class doc).

        The draws use torch's generator, which ``fit`` forks and seeds from
        ``random_state``.
        """
        Xi, yi = unpack_data(batch)
        if self.mask_windows:
            Xi = bridge_windows(Xi, self.mask_windows, self.mask_width)
        if not self.mixup:
            return super().train_step_single((Xi, yi), **fit_params)
        self._set_training(True)
        alpha = torch.tensor(float(self.mixup))
        lam = float(torch.distributions.Beta(alpha, alpha).sample())
        perm = torch.randperm(len(yi)).to(yi.device)
        mixed = lam * Xi + (1.0 - lam) * Xi[perm]
        y_pred = self.infer(mixed, **fit_params)
        loss = lam * self.get_loss(y_pred, yi, X=mixed, training=True) + (
            1.0 - lam
        ) * self.get_loss(y_pred, yi[perm], X=mixed, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    def infer(self, x, **fit_params):
        """Forward pass; under bf16 autocast when ``precision='bfloat16'``.

        Inside :meth:`predict_proba`, a RamanCNN1D runs as a copy with its
        BatchNorm layers folded into the convolutions
        (:func:`~raman_sk.models.fuse_conv_bn`; same function up to rounding).
        """
        bf16 = self.precision == "bfloat16"
        folded = self.__dict__.get("_inference_module")
        x = to_tensor(x, device=self.device)
        with (
            torch.autocast(device_type=self._device_type(), dtype=torch.bfloat16)
            if bf16
            else contextlib.nullcontext()
        ):
            if folded is None or isinstance(x, Mapping):
                out = super().infer(x, **fit_params)
            else:
                out = folded(x, **fit_params)
        return out.float() if bf16 else out

    # ----------------------------------------------------------- predict
    def _logits(self, X) -> torch.Tensor:
        check_is_fitted(self)
        X = validate_data(self, check_spectra(X), reset=False, dtype=np.float32)
        check_magnitude(X)
        with (
            _folded_batch_norm(self),
            torch_threads(self.n_threads),
            torch.inference_mode(),
        ):
            outs = [
                yp[0] if isinstance(yp, tuple) else yp
                for yp in self.forward_iter(X, training=False)
            ]
        return torch.cat(outs).float()

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities of spectra on the training axis.

        Softmax of the logits in float64 (rows sum to 1), columns in the
        order of ``classes_``.
        """
        logits = self._logits(X)
        return self._get_predict_nonlinearity()(logits.double()).numpy()

    def predict(self, X) -> np.ndarray:
        """Predict the original class labels (same dtype as ``classes_``)."""
        proba = self.predict_proba(X)  # checks fitted first
        return self.classes_[proba.argmax(axis=1)]

    # --------------------------------------------------------- save/load
    def save(self, directory: str | PathLike) -> Path:
        """Save into ``directory``: safetensors weights and a JSON config, no pickle.

        See :func:`raman_sk.persistence.save_classifier`; returns the directory.
        """
        return save_classifier(self, directory)

    @classmethod
    def load(
        cls, directory: str | PathLike, *, device: str | None = None
    ) -> RamanCNNClassifier:
        """Load a classifier written by :meth:`save` (never unpickles).

        ``device=None`` uses the saved device when available here, else "cpu".
        See :func:`raman_sk.persistence.load_classifier`.
        """
        return load_classifier(directory, cls=cls, device=device)
