"""Network and training variants screened by ``bench_levers.py`` (not in the package).

The head variants keep the default convolutional body and the head's layout
(``Flatten-like -> Linear -> ReLU -> dropout -> last layer``), so that
:func:`raman_sk.models.penultimate` and the committee's out-of-domain
embedding work unchanged.
"""

from __future__ import annotations

import numpy as np
import torch
from skorch.callbacks import Callback
from torch import nn
from torch.nn import functional as F

from raman_sk.models import RamanCNN1D


class CosineLinear(nn.Module):
    """Logits = ``scale`` x cosine between the embedding and each class weight.

    A metric head: a class is a direction (prototype) in the embedding, and a
    spectrum's logit depends on its angle to it, not on its norm.
    """

    def __init__(self, in_features: int, n_classes: int, scale: float):
        super().__init__()
        self.in_features = int(in_features)  # what raman_sk.ood reads of a head
        self.weight = nn.Parameter(torch.randn(n_classes, in_features) * 0.01)
        self.scale = float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * F.normalize(x, dim=1) @ F.normalize(self.weight, dim=1).T


class AvgMaxPool(nn.Module):
    """Mean and maximum of each channel over the spectral axis, concatenated."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=2), x.amax(dim=2)], dim=1)


def cosine_head_cnn1d(n_classes, n_features=1351, *, scale=10.0, **kwargs):
    """RamanCNN1D whose last layer is a :class:`CosineLinear` head."""
    net = RamanCNN1D(n_classes, n_features, **kwargs)
    last = net.classifier[-1]
    net.classifier[-1] = CosineLinear(last.in_features, n_classes, scale)
    return net


def pooled_head_cnn1d(n_classes, n_features=1351, **kwargs):
    """RamanCNN1D whose head sees each channel's mean and maximum, not the flat map.

    Position-free features: a band counts wherever the body finds it, with
    about 10x fewer head parameters than the flattened map.
    """
    net = RamanCNN1D(n_classes, n_features, **kwargs)
    channels = _last_channels(net)
    hidden = net.classifier[1].out_features
    net.classifier[0] = AvgMaxPool()
    net.classifier[1] = nn.Linear(2 * channels, hidden)
    return net


def _last_channels(net: RamanCNN1D) -> int:
    convs = [m for m in net.features if isinstance(m, nn.Conv1d)]
    return convs[-1].out_channels


#: name -> module factory (the ``head`` of a lever).
HEADS = {"cosine": cosine_head_cnn1d, "pooled": pooled_head_cnn1d}


def mask_windows(X, rng, n_windows, max_width):
    """Bridge ``n_windows`` random windows of each spectrum with a straight line.

    :func:`raman_sk.classifier._data.bridge_windows` with the draws from the
    lever's numpy generator (row by row, window by window) instead of torch's.
    """
    from raman_sk.classifier._data import bridge

    n, length = X.shape[0], X.shape[-1]
    width = np.zeros((n, n_windows), dtype=np.int64)
    lo = np.zeros((n, n_windows), dtype=np.int64)
    for i in range(n):
        for k in range(n_windows):
            width[i, k] = rng.integers(1, max_width + 1)
            lo[i, k] = rng.integers(0, length - width[i, k] - 1)
    for k in range(n_windows):
        X = bridge(X, torch.as_tensor(lo[:, k]),
                   torch.as_tensor(lo[:, k] + width[:, k] + 1))
    return X


def mixup_classifier(alpha: float, mode: str = "batch", masking=None):
    """Return a RamanCNNClassifier subclass that trains on mixtures of its batch.

    Each training batch is replaced by ``lam x + (1 - lam) x[perm]`` and the
    loss by ``lam L(y) + (1 - lam) L(y[perm])``, ``lam ~ Beta(alpha, alpha)``.
    A Raman spectrum of a mixture is the weighted sum of its components'
    spectra, so the mixed spectra are physically plausible. ``mode``:

    * ``"batch"``: one ``lam`` per batch, ``perm`` a shuffle of the batch
      (mixup across classes with soft targets);
    * ``"sample"``: one ``lam`` per spectrum (soft targets per spectrum): the
      batch's loss averages many mixing weights instead of resting on one;
    * ``"class"``: one ``lam`` per batch, ``perm`` shuffles each class's
      spectra among themselves (within-class mixtures, hard targets).

    With ``masking = (n_windows, max_width)`` each training spectrum first
    has windows bridged by :func:`mask_windows` (before mixing).

    The draws come from a generator seeded with the classifier's
    ``random_state``; ``alpha``, ``mode`` and ``masking`` are class
    attributes, so ``clone`` keeps them.
    """
    from skorch.dataset import unpack_data

    from raman_sk.classifier import RamanCNNClassifier

    if mode not in ("batch", "sample", "class"):
        raise ValueError(f"mode must be 'batch', 'sample' or 'class', got {mode!r}")

    class MixupRamanCNNClassifier(RamanCNNClassifier):
        mixup_alpha = float(alpha)
        mixup_mode = mode
        mixup_masking = None if masking is None else tuple(masking)

        def train_step_single(self, batch, **fit_params):
            self._set_training(True)
            Xi, yi = unpack_data(batch)
            rng = self.__dict__.setdefault(
                "_mixup_rng", np.random.default_rng(self.random_state))
            if self.mixup_masking:
                Xi = mask_windows(Xi, rng, *self.mixup_masking)
            if self.mixup_mode == "sample":
                return self._sample_step(Xi, yi, rng, **fit_params)
            lam = float(rng.beta(self.mixup_alpha, self.mixup_alpha))
            if self.mixup_mode == "class":
                order = np.arange(len(yi))
                labels = yi.cpu().numpy()
                for label in np.unique(labels):
                    where = np.flatnonzero(labels == label)
                    order[where] = rng.permutation(where)
                perm = torch.as_tensor(order, device=yi.device)
            else:
                perm = torch.as_tensor(rng.permutation(len(yi)), device=yi.device)
            mixed = lam * Xi + (1.0 - lam) * Xi[perm]
            y_pred = self.infer(mixed, **fit_params)
            loss = lam * self.get_loss(y_pred, yi, X=mixed, training=True) + (
                1.0 - lam) * self.get_loss(y_pred, yi[perm], X=mixed, training=True)
            loss.backward()
            return {"loss": loss, "y_pred": y_pred}

        def _sample_step(self, Xi, yi, rng, **fit_params):
            n = len(yi)
            lam = torch.as_tensor(
                rng.beta(self.mixup_alpha, self.mixup_alpha, size=n),
                dtype=Xi.dtype, device=Xi.device)
            perm = torch.as_tensor(rng.permutation(n), device=yi.device)
            shape = (n,) + (1,) * (Xi.ndim - 1)
            mixed = lam.view(shape) * Xi + (1.0 - lam.view(shape)) * Xi[perm]
            y_pred = self.infer(mixed, **fit_params)
            n_classes = y_pred.shape[1]
            onehot = torch.nn.functional.one_hot(yi.long(), n_classes).to(y_pred)
            lam = lam.to(y_pred).view(n, 1)
            target = lam * onehot + (1.0 - lam) * onehot[perm]
            loss = self.get_loss(y_pred, target, X=mixed, training=True)
            loss.backward()
            return {"loss": loss, "y_pred": y_pred}

    return MixupRamanCNNClassifier


class WeightAverage(Callback):
    """Train as usual, then keep an exponential moving average of the weights.

    After every training step ``avg = d avg + (1 - d) w`` with ``d = min(decay,
    (1 + n) / (10 + n))`` after ``n`` steps (a short warm-up, so the random
    initial weights fade fast); batch-norm statistics are averaged the same
    way. The average replaces the weights when training ends: weight
    averaging instead of choosing an epoch (issue 15, item 3).
    """

    def __init__(self, decay: float = 0.99):
        self.decay = decay

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Start the average at the initial weights."""
        state = net.module_.state_dict()
        self.average_ = {k: v.detach().clone() for k, v in state.items()}
        self.steps_ = 0

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        """Fold the weights after a training step into the average."""
        if not training:
            return
        self.steps_ += 1
        d = min(self.decay, (1 + self.steps_) / (10 + self.steps_))
        with torch.no_grad():
            for k, v in net.module_.state_dict().items():
                if v.is_floating_point():
                    self.average_[k].mul_(d).add_(v.detach(), alpha=1.0 - d)
                else:
                    self.average_[k].copy_(v)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Load the averaged weights into the network."""
        net.module_.load_state_dict(self.average_)
