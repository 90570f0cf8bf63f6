"""The RamanCNN1D network (torch only: no sklearn, no skorch here)."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = [
    "PRETRAINED_BODIES",
    "FastDropout",
    "RamanCNN1D",
    "fuse_conv_bn",
    "min_input_length",
    "penultimate",
    "pretrained_body",
]

#: Convolutional bodies shipped with raman_sk: name -> file in ``raman_sk/data``.
#: "synthetic": pretrained to locate bands in synthetic pseudo-Voigt band
#: mixtures (no database spectrum), for the default architecture.
PRETRAINED_BODIES = {"synthetic": "synthetic_body.safetensors"}


def pretrained_body(pretrained) -> dict[str, torch.Tensor]:
    """Read the weights of a pretrained convolutional body.

    Parameters
    ----------
    pretrained : str or path-like
        A name in :data:`PRETRAINED_BODIES` or a safetensors file whose
        ``features.*`` tensors are the state of a :class:`RamanCNN1D` body.

    Returns
    -------
    dict of str to torch.Tensor
        The ``features.*`` tensors with that prefix removed.

    Raises
    ------
    FileNotFoundError
        If ``pretrained`` is neither a known name nor an existing file.
    ValueError
        If the file holds no ``features.*`` tensor.

    Examples
    --------
    >>> body = pretrained_body("synthetic")
    >>> tuple(body["0.weight"].shape)
    (32, 1, 15)
    """
    from importlib import resources
    from pathlib import Path

    import safetensors.torch

    if isinstance(pretrained, str) and pretrained in PRETRAINED_BODIES:
        source = resources.files("raman_sk") / "data" / PRETRAINED_BODIES[pretrained]
        data = source.read_bytes()
    else:
        path = Path(pretrained)
        if not path.is_file():
            raise FileNotFoundError(
                f"pretrained={str(pretrained)!r} is neither a bundled body "
                f"({sorted(PRETRAINED_BODIES)}) nor an existing safetensors file."
            )
        data = path.read_bytes()
    state = safetensors.torch.load(data)
    body = {
        k.removeprefix("features."): v
        for k, v in state.items()
        if k.startswith("features.")
    }
    if not body:
        raise ValueError(
            f"pretrained={str(pretrained)!r} holds no convolutional body "
            "(no 'features.*' tensor)."
        )
    return body


def _as_tuple(value, n: int, name: str) -> tuple:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (value,) * n
    value = tuple(value)
    if len(value) != n:
        raise ValueError(
            f"{name} must have one entry per block ({n} blocks from `channels`), "
            f"got {len(value)}: {value!r}."
        )
    return value


def min_input_length(n_blocks: int = 3, pool: int = 4) -> int:
    """Smallest number of input points that survives every pooling stage.

    Parameters
    ----------
    n_blocks : int, default=3
        Number of convolutional blocks, each ending in a max-pool.
    pool : int, default=4
        Pooling factor of each block.

    Returns
    -------
    int
        ``pool ** n_blocks``: with fewer points, a pooling stage would see an
        empty sequence.

    Examples
    --------
    >>> min_input_length(3, 4)
    64
    """
    return int(pool) ** int(n_blocks)


_MASK_BITS = 31  # ``random_()`` on int32 draws uniformly from [0, 2**31 - 1]


class FastDropout(nn.Dropout):
    """:class:`torch.nn.Dropout` with a cheaper random mask.

    The function is the same as ``nn.Dropout``: in training each element is
    zeroed independently with probability ``p`` and the kept ones are scaled
    so that the expectation is unchanged; in eval mode (or with ``p=0``) the
    input passes through. Only the way the mask is drawn differs: one
    uniform 31-bit integer per element (``Tensor.random_`` on int32), kept
    where it is at least ``round(p * 2**31)``; torch's CPU ``bernoulli_``,
    which ``nn.Dropout`` uses, is slow (see benchmarks/README.md). Masks come
    from torch's default generator, so ``torch.manual_seed`` makes them
    reproducible; they are not the same masks as ``nn.Dropout`` draws for the
    same seed.

    The keep probability is ``1 - round(p * 2**31) / 2**31`` (within
    ``2**-32`` of ``1 - p``) and the scale is its exact inverse, so the output
    is unbiased.

    Parameters
    ----------
    p : float, default=0.5
        Probability of an element being zeroed.
    inplace : bool, default=False
        Multiply the input in place.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> drop = FastDropout(p=0.25)
    >>> x = torch.ones(100_000)
    >>> y = drop(x)
    >>> round(float((y == 0).float().mean()), 2)
    0.25
    >>> round(float(y.mean()), 1)
    1.0
    >>> bool(torch.equal(drop.eval()(x), x))
    True
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply dropout in training mode; identity in eval mode."""
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x.mul_(0) if self.inplace else x * 0
        threshold = int(round(self.p * 2**_MASK_BITS))
        keep = 1.0 - threshold / 2**_MASK_BITS
        with torch.no_grad():
            bits = torch.empty(x.shape, dtype=torch.int32, device=x.device).random_()
            noise = (bits >= threshold).to(x.dtype).mul_(1.0 / keep)
        return x.mul_(noise) if self.inplace else x * noise


class RamanCNN1D(nn.Module):
    """1D CNN for Raman spectra, the reference architecture made configurable.

    Each block is ``(Conv1d -> BatchNorm1d -> ReLU) x convs_per_block`` with
    'same' padding, followed by ``MaxPool1d(pool)`` and ``Dropout(dropout)``.
    The head is ``Flatten -> Linear(hidden) -> ReLU -> Dropout(head_dropout)
    -> Linear(n_classes)``. The flatten size is derived from ``n_features``.
    The dropout layers are :class:`FastDropout` (``nn.Dropout``'s function
    with a cheaper mask).

    Parameters
    ----------
    n_classes : int
        Number of output logits.
    n_features : int, default=1351
        Number of points per spectrum (450-1800 cm-1 at 1 cm-1 gives 1351).
    channels : sequence of int, default=(32, 64, 128)
        Output channels of each block.
    kernel_sizes : int or sequence of int, default=(15, 11, 7)
        Convolution kernel size of each block (odd or even).
    convs_per_block : int or sequence of int, default=(2, 2, 1)
        Number of Conv-BN-ReLU units in each block.
    pool : int, default=4
        Max-pooling factor after each block.
    dropout : float, default=0.25
        Dropout after each block.
    hidden : int, default=256
        Width of the hidden fully connected layer.
    head_dropout : float, default=0.4
        Dropout before the output layer.
    input_binning : int, default=1
        Average every ``input_binning`` adjacent input points before the first
        convolution (a partial last bin averages the points it has): 2 makes
        the body see a 1 cm-1 grid as a 2 cm-1 one, which halves the cost of
        every layer while each kernel spans twice the wavenumber range. 1 (no
        binning) is the reference architecture. Attributions still come per
        input point: the binning is part of the network.
    pretrained : str, path-like or None, default=None
        Start the convolutional body (``features``) from pretrained weights
        instead of a random initialisation: a name in
        :data:`PRETRAINED_BODIES` (``"synthetic"`` fits the default
        ``channels``, ``kernel_sizes`` and ``convs_per_block``) or a
        safetensors file (see :func:`pretrained_body`). The head always starts
        at random. None: random body.

    Notes
    -----
    ``forward`` accepts ``(batch, n_features)`` or ``(batch, 1, n_features)``
    and returns logits of shape ``(batch, n_classes)``.

    Examples
    --------
    >>> net = RamanCNN1D(n_classes=6)
    >>> sum(p.numel() for p in net.parameters())
    831654
    """

    def __init__(
        self,
        n_classes: int,
        n_features: int = 1351,
        channels: Sequence[int] = (32, 64, 128),
        kernel_sizes: int | Sequence[int] = (15, 11, 7),
        convs_per_block: int | Sequence[int] = (2, 2, 1),
        pool: int = 4,
        dropout: float = 0.25,
        hidden: int = 256,
        head_dropout: float = 0.4,
        input_binning: int = 1,
        pretrained=None,
    ):
        super().__init__()
        channels = tuple(int(c) for c in channels)
        n_blocks = len(channels)
        if n_blocks < 1:
            raise ValueError("channels must name at least one block.")
        kernel_sizes = _as_tuple(kernel_sizes, n_blocks, "kernel_sizes")
        convs_per_block = _as_tuple(convs_per_block, n_blocks, "convs_per_block")
        if int(n_classes) < 2:
            raise ValueError(f"n_classes must be >= 2, got {n_classes}.")
        if int(pool) < 1:
            raise ValueError(f"pool must be >= 1, got {pool}.")
        if any(int(k) < 1 for k in kernel_sizes):
            raise ValueError(f"kernel_sizes must be >= 1, got {kernel_sizes}.")
        if any(int(c) < 1 for c in convs_per_block):
            raise ValueError(f"convs_per_block must be >= 1, got {convs_per_block}.")
        if int(input_binning) < 1:
            raise ValueError(f"input_binning must be >= 1, got {input_binning}.")
        binning = int(input_binning)
        min_len = min_input_length(n_blocks, pool) * binning
        if int(n_features) < min_len:
            raise ValueError(
                f"n_features={n_features} is too short for {n_blocks} blocks with "
                f"pool={pool} and input_binning={binning}: the network needs at "
                f"least {min_len} points per spectrum."
            )
        self.n_classes = int(n_classes)
        self.n_features = int(n_features)
        self.input_binning = binning
        # outside ``features`` so that the body's layer indices (and a
        # pretrained body's keys) do not depend on the binning
        self.binning = (
            nn.AvgPool1d(binning, ceil_mode=True) if binning > 1 else nn.Identity()
        )

        layers: list[nn.Module] = []
        in_ch, length = 1, -(-self.n_features // binning)
        for out_ch, k, n_conv in zip(
            channels, kernel_sizes, convs_per_block, strict=True
        ):
            for _ in range(int(n_conv)):
                layers += [
                    nn.Conv1d(in_ch, out_ch, int(k), padding="same"),
                    nn.BatchNorm1d(out_ch),
                    nn.ReLU(),
                ]
                in_ch = out_ch
            layers += [nn.MaxPool1d(int(pool)), FastDropout(float(dropout))]
            length //= int(pool)
        self.features = nn.Sequential(*layers)
        self.flat_features = in_ch * length
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(self.flat_features, int(hidden)),
            nn.ReLU(),
            FastDropout(float(head_dropout)),
            nn.Linear(int(hidden), self.n_classes),
        )
        if pretrained is not None:
            self._load_body(pretrained)

    def _load_body(self, pretrained) -> None:
        body = pretrained_body(pretrained)
        own = self.features.state_dict()
        wrong = sorted(
            k for k in own.keys() | body.keys()
            if k not in own or k not in body or own[k].shape != body[k].shape
        )
        if wrong:
            k = wrong[0]
            shapes = [tuple(d[k].shape) if k in d else None for d in (body, own)]
            raise ValueError(
                f"pretrained={str(pretrained)!r} does not fit this network's "
                f"convolutional body: {len(wrong)} tensor(s) differ, e.g. "
                f"features.{k}: {shapes[0]} in the file, {shapes[1]} here. Use "
                "the channels, kernel_sizes and convs_per_block it was made for."
            )
        self.features.load_state_dict(body)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return class logits for a batch of spectra."""
        if x.dim() == 2:
            x = x.unsqueeze(1)
        return self.classifier(self.features(self.binning(x)))


def penultimate(net: RamanCNN1D, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Penultimate activations (after the hidden layer's ReLU) and logits.

    The embedding in which out-of-domain spectra lie far from the training
    spectra (nearest-neighbour distance, Sun et al., ICML 2022). Call it on a
    network in eval mode: in training mode the head's dropout would act on
    the logits.

    Parameters
    ----------
    net : RamanCNN1D
        The network (or a :func:`fuse_conv_bn` copy of it).
    x : torch.Tensor of shape (batch, n_features) or (batch, 1, n_features)
        Spectra.

    Returns
    -------
    embedding : torch.Tensor of shape (batch, hidden)
        Output of the head's ReLU, the input of its last linear layer.
    logits : torch.Tensor of shape (batch, n_classes)
        The same as ``net(x)`` in eval mode.

    Examples
    --------
    >>> net = RamanCNN1D(3, 64, channels=(4,), kernel_sizes=5, convs_per_block=1,
    ...                  hidden=8).eval()
    >>> x = torch.rand(2, 64)
    >>> emb, logits = penultimate(net, x)
    >>> tuple(emb.shape), bool(torch.allclose(logits, net(x)))
    ((2, 8), True)
    """
    if x.dim() == 2:
        x = x.unsqueeze(1)
    head = net.classifier
    embedding = head[:3](net.features(net.binning(x)))  # Flatten -> Linear -> ReLU
    return embedding, head[3:](embedding)


def fuse_conv_bn(net: nn.Module) -> nn.Module:
    """Return an eval-mode copy of ``net`` with each BatchNorm folded into its conv.

    In every :class:`torch.nn.Sequential` of the copy, a ``Conv1d`` directly
    followed by a ``BatchNorm1d`` that uses running statistics becomes one
    ``Conv1d`` whose weights and bias absorb the normalisation, and the
    BatchNorm is replaced by :class:`torch.nn.Identity` (positions, and so
    ``features[i]`` indices, are kept). The result computes the same function
    as ``net.eval()`` up to rounding and runs faster (see
    benchmarks/README.md); it is for inference only. ``net`` itself is
    left unchanged.

    Parameters
    ----------
    net : torch.nn.Module
        E.g. a trained :class:`RamanCNN1D`.

    Returns
    -------
    torch.nn.Module
        The fused copy, in eval mode, without gradients.

    Examples
    --------
    >>> net = RamanCNN1D(3, 64, channels=(4, 8), kernel_sizes=5, convs_per_block=1)
    >>> net = net.eval()
    >>> fused = fuse_conv_bn(net)
    >>> sum(isinstance(m, nn.BatchNorm1d) for m in fused.modules())
    0
    >>> x = torch.rand(2, 64)
    >>> bool(torch.allclose(net(x), fused(x), atol=1e-5))
    True
    """
    fused = copy.deepcopy(net).eval()
    for seq in fused.modules():
        if not isinstance(seq, nn.Sequential):
            continue
        names = list(seq._modules)
        for a, b in zip(names[:-1], names[1:], strict=True):
            conv, bn = seq._modules[a], seq._modules[b]
            if (
                type(conv) is nn.Conv1d
                and type(bn) is nn.BatchNorm1d
                and bn.track_running_stats
                and bn.running_mean is not None
                and bn.num_features == conv.out_channels
            ):
                seq._modules[a] = fuse_conv_bn_eval(conv, bn)
                seq._modules[b] = nn.Identity()
    fused.requires_grad_(False)
    return fused
