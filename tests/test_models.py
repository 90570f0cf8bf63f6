"""RamanCNN1D: the SEED.md architecture, its size and its length bookkeeping."""

import pytest
import torch
from torch import nn

from raman_sk.models import RamanCNN1D, min_input_length


def n_params(net):
    return sum(p.numel() for p in net.parameters())


def test_seed_architecture_has_831654_parameters():
    net = RamanCNN1D(n_classes=6)
    assert n_params(net) == 831_654
    convs = [m for m in net.features if isinstance(m, nn.Conv1d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0]) for c in convs] == [
        (1, 32, 15),
        (32, 32, 15),
        (32, 64, 11),
        (64, 64, 11),
        (64, 128, 7),
    ]
    assert sum(isinstance(m, nn.BatchNorm1d) for m in net.features) == 5
    assert [m.kernel_size for m in net.features if isinstance(m, nn.MaxPool1d)] == [
        4,
        4,
        4,
    ]
    # 1351 -> 337 -> 84 -> 21 points after pooling, 128 channels
    assert net.flat_features == 128 * 21


@pytest.mark.parametrize(
    "kernel_sizes", [(15, 11, 7), (4, 6, 2), (3, 8, 5), 2], ids=str
)
@pytest.mark.parametrize("n_features", [64, 255])
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_same_padding_keeps_lengths_for_odd_and_even_kernels(kernel_sizes, n_features):
    net = RamanCNN1D(n_classes=3, n_features=n_features, kernel_sizes=kernel_sizes)
    seen = []
    hooks = [
        m.register_forward_hook(
            lambda mod, inp, out: seen.append((inp[0].shape[-1], out.shape[-1]))
        )
        for m in net.features
        if isinstance(m, nn.Conv1d)
    ]
    net.eval()
    with torch.no_grad():
        out = net(torch.randn(2, n_features))
    for h in hooks:
        h.remove()
    assert out.shape == (2, 3)
    assert len(seen) == 5
    assert all(length_in == length_out for length_in, length_out in seen)
    # each block divides the length by 4 (floor)
    assert [length for length, _ in seen[::2]][:1] == [n_features]
    assert net.flat_features == 128 * (((n_features // 4) // 4) // 4)


def test_forward_accepts_2d_and_3d_input_identically():
    torch.manual_seed(0)
    net = RamanCNN1D(
        n_classes=4,
        n_features=100,
        channels=(4, 8),
        kernel_sizes=(5, 3),
        convs_per_block=1,
    )
    net.eval()
    x = torch.randn(5, 100)
    with torch.no_grad():
        a = net(x)
        b = net(x.unsqueeze(1))
    assert a.shape == (5, 4)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_flatten_size_is_derived_for_any_length():
    net = RamanCNN1D(
        n_classes=2,
        n_features=500,
        channels=(8, 16),
        kernel_sizes=7,
        convs_per_block=2,
        pool=3,
        hidden=32,
    )
    assert net.flat_features == 16 * ((500 // 3) // 3)
    assert net.classifier[1].in_features == net.flat_features
    assert net(torch.randn(3, 500)).shape == (3, 2)


def test_min_input_length_and_too_short_input():
    assert min_input_length(3, 4) == 64
    assert min_input_length(2, 1) == 1
    RamanCNN1D(n_classes=2, n_features=64)  # exactly the minimum works
    with pytest.raises(ValueError, match="at least 64 points"):
        RamanCNN1D(n_classes=2, n_features=63)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kernel_sizes": (3, 3)}, "kernel_sizes must have one entry per block"),
        ({"convs_per_block": (1, 2)}, "convs_per_block must have one entry"),
        ({"n_classes": 1}, "n_classes must be >= 2"),
        ({"pool": 0}, "pool must be >= 1"),
        ({"kernel_sizes": 0}, "kernel_sizes must be >= 1"),
        ({"channels": ()}, "at least one block"),
    ],
)
def test_bad_architecture_arguments(kwargs, match):
    kwargs = {"n_classes": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        RamanCNN1D(**kwargs)


def test_parameter_count_follows_configuration():
    net = RamanCNN1D(
        n_classes=3,
        n_features=64,
        channels=(4, 8),
        kernel_sizes=(5, 3),
        convs_per_block=1,
        hidden=16,
    )
    # conv1 1*4*5+4, bn 8, conv2 4*8*3+8, bn 16, fc (8*4)*16+16, out 16*3+3
    expected = (20 + 4) + 8 + (96 + 8) + 16 + (32 * 16 + 16) + (16 * 3 + 3)
    assert n_params(net) == expected
