"""Pretrain the RamanCNN1D body on synthetic band mixtures (issue 15, lever).

Each synthetic spectrum is a sum of pseudo-Voigt bands (random count, position,
width, Lorentzian share and height) on a small smooth residual baseline, with
white noise, smoothed and min-max scaled like the main job's cleaned spectra.
Widths and band counts are drawn around those of the cleaned database spectra
(grid points of 1 cm-1). The default pretext is band localisation: for each of
the network's 10-point bins, does a band of at least 5 % of the tallest one
have its centre there (multi-label, binary cross-entropy); ``--task templates``
instead tells a fixed set of synthetic "molecules" apart under band
perturbations. ``--head linear`` puts one linear layer on the flattened body
instead of the recipe's head. The database is never used, so the weights carry
nothing of any fold.

Writes the convolutional body (``features.*``) and the first layer of the head
as a safetensors file plus a JSON record (settings, losses, seconds, CPU);
``bench_levers.py`` fine-tunes from it (levers ``ls+pretrained*``,
``ls+frozen-linear-body``). ``--package`` also writes the body alone, with its
record, into ``raman_sk/data`` (``RamanCNN1D(pretrained="synthetic")``).

Usage::

    python benchmarks/pretrain_synthetic.py                  # full run
    python benchmarks/pretrain_synthetic.py --package        # + the bundled body
    python benchmarks/pretrain_synthetic.py --quick --out /tmp/pre
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy.signal import savgol_filter

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from raman_sk.utils._files import atomic_write, json_bytes  # noqa: E402
from raman_sk.utils._versions import cpu_info, versions  # noqa: E402

DEFAULT_OUT = HERE / "results" / "cache" / "pretrained"
PACKAGE = HERE.parent / "raman_sk" / "data"
N_POINTS = 1351
BIN = 10


def _draw_bands(rng, n_points):
    """Draw a band set: centres, widths (FWHM), Lorentzian shares, heights."""
    k = int(rng.integers(5, 41))
    return (
        rng.uniform(-20, n_points + 20, k),
        np.exp(rng.uniform(np.log(5.0), np.log(50.0), k)),
        rng.uniform(0, 1, k),
        rng.uniform(0, 1, k) ** 3 + 0.01,
    )


def _render(bands, rng, grid):
    """One spectrum of pseudo-Voigt bands + residual baseline + noise, cleaned."""
    centre, fwhm, eta, height = bands
    n_points = grid.size
    d = (grid[None, :] - centre[:, None]) / (fwhm[:, None] / 2)
    shape = eta[:, None] / (1 + d**2) + (1 - eta[:, None]) * np.exp(-np.log(2) * d**2)
    signal = height @ shape
    peak = signal.max()
    t = grid / (n_points - 1) * 2 - 1
    baseline = np.polynomial.legendre.legval(t, rng.normal(0, 0.02, 4) * peak)
    baseline -= baseline.min()
    x = signal + baseline + rng.normal(0, rng.uniform(0, 0.01) * peak, n_points)
    # the main job smooths every spectrum so (Savitzky-Golay, 11 points, order 3)
    x = savgol_filter(x, 11, 3)
    return (x - x.min()) / (x.max() - x.min()), peak


def make_templates(n_templates, rng, *, n_points=N_POINTS):
    """Band sets of ``n_templates`` synthetic molecules."""
    return [_draw_bands(rng, n_points) for _ in range(n_templates)]


def template_spectra(templates, n, rng, *, n_points=N_POINTS):
    """``n`` spectra of random templates, each band perturbed as between measurements.

    Positions move by about 1.5 points, widths by about 10 %, heights by about
    25 % (log-normal); returns the spectra and their template indices.
    """
    grid = np.arange(n_points, dtype=np.float64)
    labels = rng.integers(0, len(templates), n)
    X = np.empty((n, n_points), dtype=np.float32)
    for i, t in enumerate(labels):
        centre, fwhm, eta, height = templates[t]
        k = centre.size
        bands = (
            centre + rng.normal(0, 1.5, k),
            fwhm * np.exp(rng.normal(0, 0.1, k)),
            eta,
            height * np.exp(rng.normal(0, 0.25, k)),
        )
        X[i] = _render(bands, rng, grid)[0]
    return X, labels.astype(np.int64)


def synthetic_spectra(n, rng, *, n_points=N_POINTS, bin_width=BIN):
    """Return ``n`` synthetic spectra on ``n_points`` and their band-bin targets.

    Parameters
    ----------
    n : int
        Number of spectra.
    rng : numpy.random.Generator
        Source of randomness.
    n_points, bin_width : int
        Grid length and width of a target bin, in points.

    Returns
    -------
    X : ndarray of shape (n, n_points), float32, each row scaled to [0, 1]
    T : ndarray of shape (n, ceil(n_points / bin_width)), float32 in {0, 1}
    """
    grid = np.arange(n_points, dtype=np.float64)
    n_bins = math.ceil(n_points / bin_width)
    X = np.empty((n, n_points), dtype=np.float32)
    T = np.zeros((n, n_bins), dtype=np.float32)
    for i in range(n):
        bands = _draw_bands(rng, n_points)
        X[i], peak = _render(bands, rng, grid)
        centre, height = bands[0], bands[3]
        inside = (centre >= 0) & (centre < n_points) & (height >= 0.05 * peak)
        T[i, (centre[inside] // bin_width).astype(int)] = 1.0
    return X, T


def pretrain(args):
    import torch
    from torch import nn

    from raman_sk.models import RamanCNN1D

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    n_points = args.n_points
    if args.task == "bands":
        n_out = math.ceil(n_points / BIN)
        loss_fn = nn.BCEWithLogitsLoss()

        def draw(n, gen):
            X, T = synthetic_spectra(n, gen, n_points=n_points)
            return torch.from_numpy(X), torch.from_numpy(T)

        def metric(logits, T):  # F1 of the band bins at probability 0.5
            pred = logits > 0
            tp = float((pred & (T > 0)).sum())
            return 2 * tp / (float(pred.sum()) + float(T.sum()))

    else:
        n_out = args.n_templates
        templates = make_templates(n_out, np.random.default_rng(args.seed + 2),
                                   n_points=n_points)
        loss_fn = nn.CrossEntropyLoss()

        def draw(n, gen):
            X, T = template_spectra(templates, n, gen, n_points=n_points)
            return torch.from_numpy(X), torch.from_numpy(T)

        def metric(logits, T):  # accuracy over the templates
            return float((logits.argmax(1) == T).float().mean())

    net = RamanCNN1D(n_classes=n_out, n_features=n_points, **args.module)
    if args.head == "linear":  # no bottleneck, no dropout between body and targets
        net.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(net.flat_features, n_out)
        )
    opt = torch.optim.Adam(net.parameters(), lr=args.lr, weight_decay=1e-4)
    steps_per_epoch = math.ceil(args.per_epoch / args.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=args.epochs * steps_per_epoch
    )
    Xv, Tv = draw(args.n_valid, np.random.default_rng(args.seed + 1))
    history = []
    start = time.perf_counter()
    for epoch in range(args.epochs):
        X, T = draw(args.per_epoch, rng)
        order = torch.from_numpy(rng.permutation(len(X)))
        net.train()
        total = 0.0
        for s in range(steps_per_epoch):
            idx = order[s * args.batch_size : (s + 1) * args.batch_size]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                loss = loss_fn(net(X[idx]).float(), T[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        net.eval()
        with torch.no_grad():
            logits = torch.cat([net(Xv[j : j + 256]) for j in range(0, len(Xv), 256)])
        valid_loss = float(loss_fn(logits, Tv))
        row = {
            "epoch": epoch + 1,
            "train_loss": total / len(X),
            "valid_loss": valid_loss,
            "valid_metric": metric(logits, Tv),
            "seconds": time.perf_counter() - start,
        }
        history.append(row)
        print(json.dumps(row), flush=True)
    return net, history, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--per-epoch", type=int, default=8000)
    parser.add_argument("--n-valid", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fp32", dest="bf16", action="store_false")
    parser.add_argument(
        "--task",
        choices=("bands", "templates"),
        default="bands",
        help="bands: which 10-point bins hold a band (multi-label); templates: "
        "which of --n-templates synthetic molecules a perturbed spectrum is",
    )
    parser.add_argument("--n-templates", type=int, default=512)
    parser.add_argument(
        "--head",
        choices=("recipe", "linear"),
        default="recipe",
        help="pretraining head: the recipe's (hidden layer + dropout) or one "
        "linear layer on the flattened body (only the body is transferred)",
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--package",
        action="store_true",
        help="also write the body alone (features.*) and its record into "
        "raman_sk/data, where RamanCNN1D(pretrained='synthetic') reads it; "
        "reuses the run in --out when its settings match",
    )
    args = parser.parse_args(argv)
    if args.package and args.quick:
        parser.error("--package replaces the bundled body: not with --quick")
    args.module, args.n_points = {}, N_POINTS
    if args.quick:
        args.epochs, args.per_epoch, args.n_valid = 2, 64, 32
        args.module = {
            "channels": (4, 8),
            "kernel_sizes": (5, 3),
            "convs_per_block": 1,
            "hidden": 16,
        }
    import safetensors.torch

    stem = "synthetic_body" if args.task == "bands" else "synthetic_templates"
    if args.head == "linear":
        stem += "_linear"
    weights = args.out / f"{stem}.safetensors"
    settings = {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in vars(args).items()
        if k not in ("out", "package")
    }
    done = args.out / f"{stem}.json"
    if args.package and weights.is_file() and done.is_file():
        record = json.loads(done.read_text(encoding="utf-8"))
        same = {k: record["settings"].get(k) for k in settings} == settings
    if not (args.package and weights.is_file() and done.is_file() and same):
        net, history, seconds = pretrain(args)
        state = {
            k: v.detach().contiguous()
            for k, v in net.state_dict().items()
            if k.startswith("features.") or k.startswith("classifier.1.")
        }
        args.out.mkdir(parents=True, exist_ok=True)
        safetensors.torch.save_file(state, str(weights))
        record = {
            "settings": settings,
            "history": history,
            "seconds": seconds,
            "sample_passes": args.epochs * args.per_epoch,
            "cpu": cpu_info()["summary"],
            "versions": versions(),
        }
        atomic_write(done, json_bytes(record))
        print(f"wrote {weights} ({seconds:.0f} s)")
    if args.package:
        state = safetensors.torch.load_file(str(weights))
        body = {k: v for k, v in state.items() if k.startswith("features.")}
        PACKAGE.mkdir(exist_ok=True)
        target = PACKAGE / "synthetic_body.safetensors"
        safetensors.torch.save_file(body, str(target))
        record = {
            "what": "RamanCNN1D convolutional body (features.*) pretrained to "
            "locate bands in synthetic pseudo-Voigt band mixtures; no database "
            "spectrum was used",
            "made_by": "benchmarks/pretrain_synthetic.py --package",
            "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
            **record,
        }
        atomic_write(PACKAGE / "synthetic_body.json", json_bytes(record))
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
