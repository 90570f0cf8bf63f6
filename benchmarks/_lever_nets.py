"""Head variants of RamanCNN1D screened by ``bench_levers.py`` (not in the package).

Each keeps the default convolutional body and the head's layout
(``Flatten-like -> Linear -> ReLU -> dropout -> last layer``), so that
:func:`raman_sk.models.penultimate` and the committee's out-of-domain
embedding work unchanged.
"""

from __future__ import annotations

import torch
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
