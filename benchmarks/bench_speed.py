"""Speed of raman_sk against a plain PyTorch loop, measured side by side.

Four sections; each times raman_sk and the plain PyTorch way in the same run, on
the same data and the same full-size ``RamanCNN1D``, and reports their ratio
(``vs_plain`` > 1: raman_sk is faster):

``training``
    ``RamanCNNClassifier.fit`` against a hand-written loop over in-memory
    tensors with the same recipe (Adam lr=1e-3, weight decay 1e-4, cosine
    annealing over ``--epochs``, batches of 32 drawn by class-balanced
    sampling, same seed). The plain network has torch's own ``nn.Dropout``, as
    a plain script would; bf16 is ``torch.autocast`` around the forward pass.
    Training samples/s = epochs x rows / wall time of the whole fit.
``inference``
    ``predict_proba`` of a fitted classifier against softmax over batched
    forward passes of the same weights in eval mode: spectra/s.
``ig``
    ``IGExplainer.explain`` against captum called one spectrum at a time
    (:func:`bench_ig.benchmark_ig`): ms per spectrum and completeness error.
``reproduce``
    ``raman-sk reproduce`` in a fresh process: wall time and the stage timings
    it records; the plain loop's training samples/s, measured just before,
    gives the time a plain loop needs for the same rows and epochs.

Each variant is warmed up first (one-off kernel selection is not counted);
with ``--repeats`` > 1 the fastest run is kept. Every row names the CPU model
and its vector extensions (AVX2 / AVX-512 / AMX). Results go to
``<out>/speed.json`` and ``<out>/speed.md``; sections not run this time are
kept from an existing ``speed.json``.

Data: ``--data ramanbiolib`` (default when installed) augments the 194
database spectra x16 with ``SpectralAugmenter(n_copies=15)``, the size of the
reference training set; ``--data synthetic`` draws ``--n-samples``
Lorentzian-peak spectra of 6 classes on 1351 points.

Example::

    python benchmarks/bench_speed.py --epochs 2 --sections training inference
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from raman_sk import RamanCNNClassifier  # noqa: E402

TAGS = {"float32": "fp32", "bfloat16": "bf16"}


# ----------------------------------------------------------------------- data
def synthetic_spectra(n_samples, n_features=1351, seed=0):
    """Lorentzian peaks of 6 classes on a 450-1800 cm-1 grid, plus noise."""
    rng = np.random.default_rng(seed)
    w = np.linspace(450.0, 1800.0, n_features)
    centers = rng.uniform(500, 1750, size=(6, 4))
    y = rng.integers(0, 6, size=n_samples)
    X = np.zeros((n_samples, n_features))
    for c in range(6):
        rows = np.flatnonzero(y == c)
        for mu in centers[c]:
            mu_i = mu + rng.normal(0, 2, size=(len(rows), 1))
            X[rows] += 1.0 / (1.0 + ((w - mu_i) / 8.0) ** 2)
    X += rng.normal(0, 0.02, size=X.shape)
    labels = np.array([f"class{c}" for c in range(6)])[y]
    return X, labels, f"synthetic {n_samples}x{n_features}, 6 classes"


def load_data(args):
    """Return ``(X, y, description)`` for the benchmark."""
    if args.data in ("auto", "ramanbiolib"):
        try:
            from raman_sk.datasets import load_ramanbiolib
            from raman_sk.preprocessing import SpectralAugmenter

            X, y = load_ramanbiolib(return_X_y=True)
            aug = SpectralAugmenter(n_copies=15, random_state=args.seed)
            X, y = aug.fit_resample(X, y)
            return X, y, f"ramanbiolib {len(X)}x{X.shape[1]} (194 spectra x16)"
        except Exception as exc:  # database not installed: fall back, say so
            if args.data == "ramanbiolib":
                raise
            print(f"ramanbiolib unavailable ({exc}); using synthetic data")
    return synthetic_spectra(args.n_samples, seed=args.seed)


# ---------------------------------------------------------------- the two ways
def plain_fit(X, y, *, epochs, batch_size, precision, seed, device):
    """Train with a hand-written loop; return (seconds, final mean train loss)."""
    classes, y_enc = np.unique(y, return_inverse=True)
    torch.manual_seed(seed)
    model = _common.TorchDropoutCNN1D(n_classes=len(classes), n_features=X.shape[1])
    model = model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(device)
    yt = torch.from_numpy(y_enc.astype(np.int64))
    weights = (1.0 / torch.bincount(yt, minlength=len(classes)).double())[yt]
    yt, n = yt.to(device), len(yt)
    for _ in range(epochs):
        total = torch.zeros((), device=device)
        idx = torch.multinomial(weights, n, replacement=True, generator=gen)
        idx = idx.to(device)
        for s in range(0, n, batch_size):
            xb, yb = Xt[idx[s : s + batch_size]], yt[idx[s : s + batch_size]]
            opt.zero_grad()
            with _common.autocast(device, precision):
                out = model(xb)
            loss = F.cross_entropy(out.float(), yb)
            loss.backward()
            opt.step()
            total += loss.detach() * len(yb)
        sched.step()
    _common.sync(device)
    return time.perf_counter() - t0, float(total) / n  # skorch's epoch mean


def classifier_fit(X, y, *, epochs, batch_size, precision, seed, device):
    """Train RamanCNNClassifier; return (seconds, final mean train loss)."""
    clf = RamanCNNClassifier(
        max_epochs=epochs,
        batch_size=batch_size,
        precision=precision,
        random_state=seed,
        device=device,
    )
    t0 = time.perf_counter()
    clf.fit(X, y)
    _common.sync(device)
    return time.perf_counter() - t0, float(clf.history[-1, "train_loss"])


def plain_predict_proba(module, X, *, batch_size, precision, device):
    """Softmax over batched eval-mode forward passes (the plain way)."""
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(device)
    with torch.inference_mode(), _common.autocast(device, precision):
        out = [
            torch.softmax(module(Xt[s : s + batch_size]).float(), dim=1).cpu()
            for s in range(0, len(Xt), batch_size)
        ]
    return torch.cat(out).double().numpy()


def best_time(fn, repeats):
    """Smallest wall time of ``fn()`` over ``repeats`` calls, and its last result."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


# ------------------------------------------------------------------ sections
def section_training(args, X, y):
    """Training samples/s: RamanCNNClassifier.fit vs the plain loop, per precision."""
    kw = {"batch_size": args.batch_size, "seed": args.seed, "device": args.device}
    warm = min(len(X), 4 * args.batch_size)
    rows, ratios = [], {}
    for precision in args.precisions:
        speed = {}
        for name, fit in (("plain", plain_fit), ("RamanCNNClassifier", classifier_fit)):
            fit(X[:warm], y[:warm], epochs=1, precision=precision, **kw)
            runs = [
                fit(X, y, epochs=args.epochs, precision=precision, **kw)
                for _ in range(args.repeats)
            ]
            train_s, loss = min(runs)
            speed[name] = args.epochs * len(X) / train_s
            rows.append(
                {
                    "name": f"{name} {TAGS[precision]}",
                    "train_s": round(train_s, 3),
                    "train_samples_per_s": round(speed[name], 1),
                    "final_train_loss": round(loss, 4),
                    "cpu": _common.machine_description(),
                }
            )
            print(f"  {rows[-1]['name']:26s} {train_s:.1f} s", flush=True)
        ratios[f"{TAGS[precision]}_vs_plain"] = round(
            speed["RamanCNNClassifier"] / speed["plain"], 3
        )
    return {
        "description": section_training.__doc__,
        "settings": {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "repeats": args.repeats,
            "torch_threads": torch.get_num_threads(),
            "n_samples": int(len(X)),
            "n_features": int(X.shape[1]),
        },
        "rows": rows,
        "ratios": ratios,
    }


def section_inference(args, X, y):
    """Spectra/s: predict_proba vs plain batched forward passes, same weights."""
    classes = np.unique(y)
    net = _common.random_network(len(classes), X.shape[1], seed=args.seed)
    net = net.to(args.device)
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    rows, ratios = [], {}
    for precision in args.precisions:
        clf = _common.fitted_classifier(
            net,
            classes,
            X.shape[1],
            device=args.device,
            precision=precision,
            iterator_valid__batch_size=args.infer_batch_size,
        )
        ways = {
            "plain": lambda p=precision: plain_predict_proba(
                net,
                X32,
                batch_size=args.infer_batch_size,
                precision=p,
                device=args.device,
            ),
            "RamanCNNClassifier": lambda clf=clf: clf.predict_proba(X32),
        }
        speed, proba = {}, {}
        for name, fn in ways.items():
            fn()  # warm-up, not timed
            seconds, proba[name] = best_time(fn, args.repeats)
            speed[name] = len(X) / seconds
            rows.append(
                {
                    "name": f"{name} {TAGS[precision]}",
                    "infer_s": round(seconds, 3),
                    "infer_spectra_per_s": round(speed[name], 1),
                    "cpu": _common.machine_description(),
                }
            )
            print(f"  {rows[-1]['name']:26s} {seconds:.2f} s", flush=True)
        rows[-1]["max_abs_proba_diff_vs_plain"] = float(
            np.max(np.abs(proba["RamanCNNClassifier"] - proba["plain"]))
        )
        ratios[f"{TAGS[precision]}_vs_plain"] = round(
            speed["RamanCNNClassifier"] / speed["plain"], 3
        )
    return {
        "description": section_inference.__doc__,
        "settings": {
            "infer_batch_size": args.infer_batch_size,
            "repeats": args.repeats,
            "torch_threads": torch.get_num_threads(),
            "n_samples": int(len(X)),
        },
        "rows": rows,
        "ratios": ratios,
    }


def section_ig(args, X, y):
    """IG ms/spectrum: batched IGExplainer.explain vs captum one spectrum per call.

    Full-size RamanCNN1D with random weights and BatchNorm statistics, n_steps
    ``--ig-steps``, Gauss-Legendre, with the completeness error of each.
    """
    from bench_ig import benchmark_ig

    df = benchmark_ig(
        n_spectra=args.ig_spectra,
        n_steps=args.ig_steps,
        precisions=args.precisions,
        device=args.device,
        n_threads=args.threads,
    )
    rows = [
        {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
        for r in df.to_dict("records")
    ]
    ratios = {}
    for precision in args.precisions:
        ms = {
            r["impl"]: r["ms_per_spectrum"] for r in rows if r["precision"] == precision
        }
        ratios[f"{TAGS[precision]}_vs_plain"] = round(
            ms["captum plain"] / ms["raman_sk batched"], 3
        )
    for r in rows:
        r["cpu"] = _common.machine_description()
        print(f"  {r['impl']} {r['precision']}: {r['ms_per_spectrum']} ms", flush=True)
    return {
        "description": section_ig.__doc__,
        "settings": {"n_spectra": args.ig_spectra, "n_steps": args.ig_steps},
        "rows": rows,
        "ratios": ratios,
    }


_RUN_CLI = "import sys; from raman_sk.cli import main; sys.exit(main())"
#: Training sample-passes of the reference recipe's one model: 80 epochs x 124
#: training spectra x (1 + 15 augmented copies).
SEED_RECIPE_PASSES = 80 * 124 * 16


def section_reproduce(args, X, y):
    """Wall time of ``raman-sk reproduce`` vs the plain loop on the same rows.

    ``raman-sk reproduce --out <tmp> --quiet --precision P`` runs in a fresh
    process (plus ``--reproduce-args``); its stage timings come from
    ``model/model_config.json``. ``plain_train_s`` is epochs x training rows x
    (1 + augmented copies) — the job's own ``sample_passes`` where it records
    them — divided by the plain loop's samples/s, measured on ``X`` just before
    with the same precision; ``whole_job_vs_plain_seed_recipe`` divides the job's
    wall time by the plain loop's time for the reference recipe's sample-passes.
    """
    rows, ratios = [], {}
    for precision in args.precisions:
        n_plain = min(len(X), 20 * args.batch_size)
        kw = {"batch_size": args.batch_size, "seed": args.seed, "device": args.device}
        plain_fit(X[:n_plain], y[:n_plain], epochs=1, precision=precision, **kw)
        plain_s, _ = plain_fit(
            X[:n_plain], y[:n_plain], epochs=1, precision=precision, **kw
        )
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out"
            cmd = [sys.executable, "-c", _RUN_CLI, "reproduce", "--out", str(out)]
            cmd += ["--quiet", "--precision", precision, *args.reproduce_args]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            wall = time.perf_counter() - t0
            cfg = json.loads((out / "model" / "model_config.json").read_text())
        timings, recipe = cfg.get("timings", {}), cfg.get("recipe", {})
        rows_trained = (cfg.get("sample_passes") or {}).get("total")
        if rows_trained is None:  # model_config without the sample-pass count
            n_copies = (recipe.get("augmenter") or {}).get("n_copies", 0)
            n_train = cfg.get("split", {}).get("n_train", 0)
            rows_trained = recipe.get("max_epochs", 0) * n_train * (1 + n_copies)
        plain_train_s = rows_trained * plain_s / n_plain
        plain_seed_s = SEED_RECIPE_PASSES * plain_s / n_plain
        tag = TAGS[precision]
        rows.append(
            {
                "name": f"reproduce {tag}",
                "args": " ".join(args.reproduce_args),
                "wall_s": round(wall, 1),
                **{k: round(v, 1) for k, v in timings.items()},
                "sample_passes": rows_trained,
                "plain_train_s": round(plain_train_s, 1),
                "plain_seed_recipe_s": round(plain_seed_s, 1),
                **{
                    k: round(v, 3)
                    for k, v in cfg.get("metrics", {}).items()
                    if k
                    in (
                        "test_accuracy",
                        "test_macro_f1",
                        "oof_accuracy",
                        "oof_macro_f1",
                    )
                },
                "cpu": _common.machine_description(),
            }
        )
        # every training stage: the committee (or the seed recipe's network) and
        # the refit, which together make the job's sample-passes
        train_s = sum(timings.get(k, 0.0) for k in ("train_s", "refit_s"))
        if train_s and plain_train_s:
            ratios[f"{tag}_training_vs_plain"] = round(plain_train_s / train_s, 3)
        if plain_train_s:
            ratios[f"{tag}_whole_job_vs_plain_training"] = round(
                plain_train_s / wall, 3
            )
        ratios[f"{tag}_whole_job_vs_plain_seed_recipe"] = round(wall / plain_seed_s, 3)
        print(f"  {rows[-1]}", flush=True)
    return {
        "description": section_reproduce.__doc__,
        "settings": {"torch_threads": torch.get_num_threads()},
        "rows": rows,
        "ratios": ratios,
    }


SECTIONS = {
    "training": section_training,
    "inference": section_inference,
    "ig": section_ig,
    "reproduce": section_reproduce,
}


# ---------------------------------------------------------------------- output
def machine_info(args):
    """CPU, vector extensions, threads, device and versions of this run."""
    return {
        **_common.cpu_info(),
        "torch_threads": torch.get_num_threads(),
        "device": args.device,
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        **_common.versions(),
    }


def markdown(results):
    """``speed.md``: the machine, then one table and its ratios per section."""
    lines = ["# raman_sk speed benchmark", ""]
    meta = results.get("meta", {})
    if meta:
        lines += ["Machine: " + ", ".join(f"{k}={v}" for k, v in meta.items()), ""]
    if results.get("summary"):
        lines += ["## Summary", "", *results["summary"], ""]
    for name, sec in results.get("sections", {}).items():
        lines += [f"## {name}", ""]
        if sec.get("description"):
            lines += [" ".join(sec["description"].split()), ""]
        if sec.get("machine"):
            lines += [f"Machine: {sec['machine']}", ""]
        if sec.get("data"):
            lines += [f"Data: {sec['data']}; settings: {sec.get('settings', {})}", ""]
        rows = sec.get("rows", [])
        if rows:
            keys = list(dict.fromkeys(k for r in rows for k in r))
            lines.append("| " + " | ".join(keys) + " |")
            lines.append("|" + "---|" * len(keys))
            for r in rows:
                lines.append("| " + " | ".join(str(r.get(k, "")) for k in keys) + " |")
            lines.append("")
        for k, v in sec.get("ratios", {}).items():
            lines.append(f"- {k}: {v}")
        lines.append("")
    return "\n".join(lines)


def parse_args(argv=None):
    """Command-line options."""
    p = _common.argument_parser(__doc__)
    p.add_argument("--sections", nargs="+", default=["training", "inference"],
                   choices=list(SECTIONS))  # fmt: skip
    p.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"],
                   choices=list(TAGS))  # fmt: skip
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--data", choices=["auto", "ramanbiolib", "synthetic"],
                   default="auto")  # fmt: skip
    p.add_argument("--n-samples", type=int, default=3104,
                   help="rows of synthetic data (default: 194 x 16)")  # fmt: skip
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--infer-batch-size", type=int, default=256)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None,
                   help="torch intra-op threads (default: torch's choice)")  # fmt: skip
    p.add_argument("--ig-spectra", type=int, default=16)
    p.add_argument("--ig-steps", type=int, default=50)
    p.add_argument("--reproduce-args", nargs=argparse.REMAINDER, default=[],
                   help="extra arguments for reproduce (last on the line)")  # fmt: skip
    p.add_argument("--out", type=Path, default=_common.RESULTS_DIR,
                   help="directory for speed.json and speed.md")  # fmt: skip
    return p.parse_args(argv)


def main(argv=None):
    """Run the chosen sections; return the whole ``speed.json`` content."""
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    X, y, description = load_data(args)
    json_path = args.out / "speed.json"
    results = {"meta": {}, "sections": {}}
    if json_path.is_file():
        results = json.loads(json_path.read_text())
    results["meta"] = machine_info(args)
    for name in args.sections:
        print(f"[{name}] {description}", flush=True)
        section = SECTIONS[name](args, X, y)
        section["data"] = description
        section["machine"] = _common.machine_description()
        results["sections"][name] = section
    _common.write_json(json_path, results)
    md = markdown(results)
    _common.write_text(args.out / "speed.md", md)
    print(md)
    return results


if __name__ == "__main__":
    main()
