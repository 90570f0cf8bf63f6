"""RamanCNN1D: the reference architecture, its size and its length bookkeeping."""

import pytest
import torch
from torch import nn

from raman_sk.models import FastDropout, RamanCNN1D, min_input_length


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
        ({"input_binning": 0}, "input_binning must be >= 1"),
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


def test_input_binning_averages_pairs_before_the_body():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = RamanCNN1D(n_classes=6, input_binning=2).eval()
        spectra = torch.rand(3, 1351)
    # 1351 points -> 676 bins (the last holds one point) -> 169 -> 42 -> 10
    assert net.flat_features == 128 * 10
    assert n_params(net) == 831_654 - 128 * 11 * 256
    x = torch.arange(5.0).view(1, 1, 5)
    assert net.binning(x).flatten().tolist() == [0.5, 2.5, 4.0]
    # the same weights see a binned spectrum as the unbinned net sees its bins
    plain = RamanCNN1D(n_classes=6, n_features=676).eval()
    plain.load_state_dict(net.state_dict())
    bins = torch.cat([spectra[:, :1350].reshape(3, 675, 2).mean(2), spectra[:, -1:]], 1)
    assert torch.allclose(net(spectra), plain(bins), atol=1e-5)
    # every input point gets a gradient: attributions stay per point
    spectra.requires_grad_(True)
    net(spectra)[:, 0].sum().backward()
    assert bool((spectra.grad != 0).all())


def test_input_binning_needs_binning_times_the_minimum_length():
    RamanCNN1D(n_classes=2, n_features=128, input_binning=2)
    message = "input_binning=2: the network needs at least 128"
    with pytest.raises(ValueError, match=message):
        RamanCNN1D(n_classes=2, n_features=127, input_binning=2)


# ---------------------------------------------------------------- FastDropout
def _keep_probability(p):
    return 1.0 - round(p * 2**31) / 2**31


@pytest.mark.parametrize("p", [0.1, 0.25, 0.4, 0.5])
def test_fast_dropout_zeroes_fraction_p_and_scales_the_rest(p):
    torch.manual_seed(0)
    n = 400_000
    y = FastDropout(p)(torch.ones(n))
    zero = (y == 0).double().mean().item()
    # binomial standard error sqrt(p (1 - p) / n) <= 0.00079: five of them
    assert abs(zero - p) < 0.004
    kept = y[y != 0]
    assert torch.equal(kept, torch.full_like(kept, 1.0 / _keep_probability(p)))
    # the expectation is kept: mean of the output within 5 standard errors of 1
    se = (p / (1 - p) / n) ** 0.5
    assert abs(y.double().mean().item() - 1.0) < 5 * se


def test_fast_dropout_mask_has_no_position_pattern():
    torch.manual_seed(1)
    y = FastDropout(0.25)(torch.ones(64, 1000))
    zero = (y == 0).double()
    # every column and every row parity sees the same rate (no stride artefact)
    for part in (zero[:, 0::2], zero[:, 1::2], zero[0::2], zero[1::2]):
        assert abs(part.mean().item() - 0.25) < 0.01
    # two draws are independent: overlap of their zeros ~ p**2
    z2 = (FastDropout(0.25)(torch.ones(64, 1000)) == 0).double()
    assert abs((zero * z2).mean().item() - 0.0625) < 0.005


def test_fast_dropout_eval_p0_p1_and_dtype():
    x = torch.randn(8, 3, 20)
    drop = FastDropout(0.3).eval()
    assert drop(x) is x
    assert FastDropout(0.0)(x) is x
    assert torch.equal(FastDropout(1.0)(x), torch.zeros_like(x))
    xb = x.bfloat16()
    yb = FastDropout(0.3)(xb)
    assert yb.dtype == torch.bfloat16 and yb.shape == xb.shape
    kept = (yb != 0) & (xb != 0)
    scale = torch.tensor(1.0 / _keep_probability(0.3)).bfloat16()
    assert torch.equal(yb[kept], xb[kept] * scale)
    with pytest.raises(ValueError, match="dropout probability"):
        FastDropout(1.5)


def test_fast_dropout_is_seeded_by_torch_and_gradient_is_the_mask():
    x = torch.randn(16, 50, requires_grad=True)
    torch.manual_seed(7)
    a = FastDropout(0.4)(x)
    torch.manual_seed(7)
    b = FastDropout(0.4)(x)
    assert torch.equal(a, b)
    assert not torch.equal(a, FastDropout(0.4)(x))  # next draw differs
    a.sum().backward()
    mask = (a.detach() != 0).float() / _keep_probability(0.4)
    assert torch.equal(x.grad, mask)
    # inplace gives the same result for the same seed and writes into its input
    y = x.detach().clone()
    torch.manual_seed(7)
    out = FastDropout(0.4, inplace=True)(y)
    assert out.data_ptr() == y.data_ptr()
    assert torch.equal(out, b.detach())


def test_raman_cnn_uses_fast_dropout_with_its_rates():
    net = RamanCNN1D(6, dropout=0.2, head_dropout=0.35)
    drops = [m for m in net.modules() if isinstance(m, nn.Dropout)]
    assert all(isinstance(m, FastDropout) for m in drops)
    assert [m.p for m in drops] == [0.2, 0.2, 0.2, 0.35]
    x = torch.randn(4, 1351)
    net.eval()
    assert torch.equal(net(x), net(x))  # eval: no dropout
    net.train()
    torch.manual_seed(3)
    a = net(x)
    torch.manual_seed(3)
    assert torch.equal(a, net(x))


# ------------------------------------------------------- pretrained bodies
def test_bundled_body_loads_into_the_default_architecture_only_its_body():
    from raman_sk.models import pretrained_body

    body = pretrained_body("synthetic")
    net = RamanCNN1D(n_classes=6, pretrained="synthetic")
    own = net.features.state_dict()
    assert own.keys() == body.keys()
    for key, value in body.items():
        assert torch.equal(own[key], value), key
    # the head starts at random: two seeds give two heads, one body
    torch.manual_seed(1)
    other = RamanCNN1D(n_classes=6, pretrained="synthetic")
    assert torch.equal(other.features[0].weight, net.features[0].weight)
    assert not torch.equal(other.classifier[1].weight, net.classifier[1].weight)
    # the body is length-agnostic: another grid works
    assert RamanCNN1D(3, n_features=500, pretrained="synthetic")(
        torch.rand(2, 500)
    ).shape == (2, 3)


def test_pretrained_file_and_its_errors(tmp_path):
    import safetensors.torch

    from raman_sk.models import pretrained_body

    small = RamanCNN1D(2, 64, channels=(4,), kernel_sizes=5, convs_per_block=1)
    path = tmp_path / "body.safetensors"
    safetensors.torch.save_file(
        {k: v.contiguous() for k, v in small.state_dict().items()}, str(path)
    )
    net = RamanCNN1D(3, 64, channels=(4,), kernel_sizes=5, convs_per_block=1,
                     pretrained=path)
    assert torch.equal(net.features[0].weight, small.features[0].weight)
    assert net.classifier[-1].out_features == 3
    with pytest.raises(ValueError, match=r"features\.0\.bias: \(4,\) in the file, "
                       r"\(8,\) here"):
        RamanCNN1D(3, 64, channels=(8,), kernel_sizes=5, convs_per_block=1,
                   pretrained=path)
    with pytest.raises(FileNotFoundError, match="neither a bundled body"):
        pretrained_body(tmp_path / "missing.safetensors")
    head_only = tmp_path / "head.safetensors"
    safetensors.torch.save_file({"classifier.1.bias": torch.zeros(3)}, str(head_only))
    with pytest.raises(ValueError, match=r"no convolutional body \(no 'features"):
        RamanCNN1D(3, 64, pretrained=head_only)


def test_bundled_body_matches_its_record():
    import hashlib
    import json
    from importlib import resources

    data = resources.files("raman_sk") / "data"
    record = json.loads((data / "synthetic_body.json").read_text(encoding="utf-8"))
    weights = (data / "synthetic_body.safetensors").read_bytes()
    # the record says which file, made how: the bytes must be those it describes
    assert hashlib.sha256(weights).hexdigest() == record["sha256"]
    assert record["settings"]["task"] == "bands"
    assert record["settings"]["module"] == {}  # the default architecture
    assert record["sample_passes"] == (
        record["settings"]["epochs"] * record["settings"]["per_epoch"]
    )
