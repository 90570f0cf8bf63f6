"""In-memory training data of the classifier: tensors, batches, labels, sampling.

Built once per ``fit``/``predict`` call; batches are slices or one fancy-index
of these tensors, never per-sample numpy conversions and collation.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Iterator

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data
from skorch.dataset import Dataset, ValidSplit
from torch.utils.data import RandomSampler, Subset, WeightedRandomSampler

from raman_sk.models import RamanCNN1D, min_input_length
from raman_sk.utils import check_label_types, check_magnitude, check_spectra


class TensorDataset(torch.utils.data.Dataset):
    """In-memory spectra as one float32 tensor (and int64 labels)."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor | None = None):
        self.X = X
        self.y = y

    @classmethod
    def from_numpy(cls, X, y=None, device=None) -> TensorDataset:
        """Wrap arrays, copying only when dtype, layout or read-only input need it."""
        # torch refuses to share memory with a non-writable array
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

    def subset(self, indices) -> TensorDataset:
        """Return the rows ``indices`` as a new dataset."""
        idx = torch.as_tensor(np.asarray(indices, dtype=np.int64), device=self.X.device)
        return TensorDataset(self.X[idx], None if self.y is None else self.y[idx])


class TensorBatches:
    """Iterate over ``(X_batch, y_batch)`` of a :class:`TensorDataset`.

    Without a sampler, batches are contiguous slices (views); with a
    sampler, the epoch's indices are drawn once and each batch is one index
    operation. This replaces the per-sample ``__getitem__`` + collate of a
    ``DataLoader``.
    """

    def __init__(self, dataset: TensorDataset, batch_size: int, sampler=None):
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


def bridge(X: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """Return ``X`` with each row's points between ``lo`` and ``hi`` on a line.

    One window per row (spectral axis last): the points strictly inside take
    the straight line between the row's values at ``lo`` and ``hi``.
    """
    n, length = X.shape[0], X.shape[-1]
    out = X.reshape(n, -1, length)
    idx = torch.arange(length, device=X.device).view(1, 1, -1)
    lo, hi = lo.to(X.device).view(n, 1, 1), hi.to(X.device).view(n, 1, 1)
    ends = [out.gather(-1, k.expand(-1, out.shape[1], 1)) for k in (lo, hi)]
    t = (idx - lo) / (hi - lo)
    inside = (idx > lo) & (idx < hi)
    out = torch.where(inside, ends[0] + (ends[1] - ends[0]) * t, out)
    return out.reshape(X.shape)


def bridge_windows(X: torch.Tensor, n_windows: int, max_width: int) -> torch.Tensor:
    """Return ``X`` with ``n_windows`` windows per spectrum bridged by a line.

    Each window (1 to ``max_width`` points wide, placed uniformly, spectral
    axis last) takes the straight line between its two edge values
    (:func:`bridge`): the spectrum as if it had no band there. Draws come from
    torch's default generator (``fit`` forks and seeds it).
    """
    n, length = X.shape[0], X.shape[-1]
    max_width = min(int(max_width), length - 2)
    if n_windows < 1 or max_width < 1 or n == 0:
        return X
    for _ in range(int(n_windows)):
        width = torch.randint(1, max_width + 1, (n,))
        lo = (torch.rand(n) * (length - width - 1)).long().clamp(max=length - 2)
        X = bridge(X, lo, (lo + width + 1).clamp(max=length - 1))
    return X


def encode_labels(classes: np.ndarray, y, *, what: str) -> np.ndarray:
    """Positions of the labels ``y`` in ``classes`` (int64); unknown labels raise."""
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


def training_sampler(dataset: TensorDataset, n_classes: int, *, balance: bool,
                     shuffle: bool, seed: int | None):
    """Class-balanced draws with replacement, a shuffle, or None (in order).

    Balanced: as many draws as rows, weights ``1 / count`` of each class.
    """
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(seed)
    if balance and dataset.y is not None:
        y = dataset.y.cpu()
        counts = torch.bincount(y, minlength=n_classes).double()
        weights = (1.0 / counts.clamp(min=1))[y]
        return WeightedRandomSampler(
            weights, num_samples=len(dataset), replacement=True, generator=gen
        )
    if shuffle:
        return RandomSampler(dataset, generator=gen)
    return None


def augment_dataset(augmenter, params: dict, seed: int | None, ds: TensorDataset,
                    classes: np.ndarray, device=None):
    """Apply a configured clone of ``augmenter`` to the training part ``ds``.

    Returns
    -------
    dataset : TensorDataset
        The augmented training part.
    fitted : object
        The fitted clone (the classifier's ``augmenter_``).
    """
    if not isinstance(ds, TensorDataset):
        raise TypeError(
            "augmenter needs in-memory array data; got a training dataset of "
            f"type {type(ds).__name__}."
        )
    aug = clone(augmenter)
    if params:
        aug.set_params(**params)
    if seed is not None and hasattr(aug, "get_params"):
        if "random_state" in aug.get_params() and aug.random_state is None:
            aug.set_params(random_state=seed)
    X_tr = ds.X.cpu().numpy().copy()
    y_tr = classes[ds.y.cpu().numpy()]
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
    y_enc = encode_labels(classes, np.asarray(y_aug), what="The augmenter's output")
    return TensorDataset.from_numpy(X_aug, y_enc, device=device), aug


def seeded_split(split, seed: int):
    """Seed a copy of a float ``ValidSplit`` that has no ``random_state``."""
    if (
        isinstance(split, ValidSplit)
        and split._is_float(split.cv)
        and split.random_state is None
    ):
        split = copy.copy(split)
        split.random_state = seed
    return split


def as_tensor_dataset(ds, validate, classes: np.ndarray, device=None):
    """Turn a split part holding in-memory arrays into a :class:`TensorDataset`.

    A skorch ``Dataset(X_valid, y_valid)`` (``predefined_split``) carries
    original labels: its ``X`` goes through ``validate`` and its labels are
    encoded. Other datasets are returned unchanged.
    """
    if isinstance(ds, TensorDataset):
        return ds
    if isinstance(ds, Subset) and isinstance(ds.dataset, TensorDataset):
        return ds.dataset.subset(ds.indices)
    if type(ds) is Dataset and ds.X is not None and ds.y is not None:
        X_v = validate(ds.X)
        y_v = np.asarray(ds.y)
        if y_v.ndim != 1 or len(y_v) != len(X_v):
            raise ValueError(
                "The validation Dataset must hold X of shape (n, n_features) "
                f"and 1-D labels of length n; got y of shape {y_v.shape}."
            )
        y_v = encode_labels(classes, y_v, what="The validation part's y")
        return TensorDataset.from_numpy(X_v, y_v, device=device)
    return ds


def check_input_length(module, module_params: dict, n_features: int) -> None:
    """Refuse spectra too short for a RamanCNN1D's pooling blocks."""
    if not (isinstance(module, type) and issubclass(module, RamanCNN1D)):
        return
    defaults = {
        name: p.default
        for name, p in inspect.signature(RamanCNN1D.__init__).parameters.items()
    }
    kwargs = {**defaults, **module_params}
    n_blocks, pool = len(tuple(kwargs["channels"])), int(kwargs["pool"])
    need = min_input_length(n_blocks, pool)
    if n_features < need:
        raise ValueError(
            f"X has {n_features} features (points per spectrum), but the "
            f"network with {n_blocks} blocks and module__pool={pool} "
            f"needs at least {need} (pool ** n_blocks). Use a longer "
            "wavenumber grid, a smaller module__pool or fewer blocks "
            "(module__channels)."
        )


def validate_fit_data(net, X, y, *, reset: bool, classes=None):
    """Check and convert ``X``/``y``; on ``reset`` also set the classes."""
    X = check_spectra(X)
    if y is not None:
        check_label_types(y)
    X, y = validate_data(net, X, y, reset=reset, dtype=np.float32)
    check_magnitude(X)
    check_classification_targets(y)
    if reset:
        if classes is None:
            classes = net.classes
        classes = np.unique(y) if classes is None else np.asarray(classes)
        if classes.size < 2:
            raise ValueError(
                f"y has only one class ({classes[0]!r}): "
                f"{type(net).__name__} needs at least 2 classes."
                if classes.size
                else "y is empty: at least 2 classes are needed."
            )
        net.classes_inferred_ = classes
        check_input_length(net.module, net.get_params_for("module"), X.shape[1])
    return X, encode_labels(net.classes_, y, what="y")
