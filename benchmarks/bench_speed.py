"""Speed benchmark of training and inference: plain PyTorch vs RamanCNNClassifier.

What it measures (section ``training``), in one run, on the same data, the
same network (the full SEED.md ``RamanCNN1D``, 831,654 parameters for 6
classes), the same recipe (Adam lr=1e-3, weight decay 1e-4, cosine annealing
over ``--epochs``, batches of 32 drawn by class-balanced sampling) and the
same seed:

* ``plain fp32``: a hand-written PyTorch loop over in-memory tensors (the
  reference): per epoch one ``torch.multinomial`` draw of balanced indices,
  then index, forward, loss, backward, step. Its network has torch's own
  ``nn.Dropout`` layers, as a plain PyTorch script would; the classifier's
  network has raman_sk's :class:`~raman_sk.models.FastDropout`.
* ``plain bf16``: the same loop with the forward pass under
  ``torch.autocast(dtype=torch.bfloat16)``.
* ``plain fp32 DataLoader``: the reference script's style (``TensorDataset`` +
  ``WeightedRandomSampler`` + ``DataLoader``, per-sample indexing and
  collation), for context.
* ``RamanCNNClassifier fp32`` / ``bf16``: ``fit`` and ``predict_proba`` of the
  skorch classifier (its validation, tensor conversion, callbacks and history
  included).

Reported: training samples/s (epochs x rows / wall time of the whole fit),
inference spectra/s (``predict_proba`` over all rows, batches of
``--infer-batch-size``), the final training loss, and the ratios: skorch
overhead at equal precision (goal <= 5 %) and bf16 speed-up over plain fp32
(goal >= 2x). Each variant is warmed up on a small subset first (one-off
oneDNN/cuDNN kernel selection is not counted); with ``--repeats`` > 1 the best
(fastest) run is kept, which filters out noise from other processes.

Data: ``--data ramanbiolib`` (default when available) takes the 194 database
spectra and augments them x16 with ``SpectralAugmenter(n_copies=15)`` (3,104
spectra, the SEED.md training-set size); ``--data synthetic`` draws
``--n-samples`` Lorentzian-peak spectra of 6 classes on 1351 points. The
table is printed and written to ``<out>/speed.json`` and ``<out>/speed.md``;
sections not run this time are kept from an existing ``speed.json``, so
other sections (explainer, inference speed) can be added to ``SECTIONS``
and run on their own with ``--sections``.

Example::

    python benchmarks/bench_speed.py --epochs 2 --sections training
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset, WeightedRandomSampler

try:
    import raman_sk  # noqa: F401
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402

from raman_sk import RamanCNNClassifier, __version__  # noqa: E402
from raman_sk.models import RamanCNN1D  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


# ----------------------------------------------------------------------- data
def synthetic_spectra(n_samples: int, n_features: int = 1351, seed: int = 0):
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
            X, y = SpectralAugmenter(n_copies=15, random_state=args.seed).fit_resample(
                X, y
            )
            return X, y, f"ramanbiolib {len(X)}x{X.shape[1]} (194 spectra x16)"
        except Exception as exc:  # database not installed: fall back, say so
            if args.data == "ramanbiolib":
                raise
            print(f"ramanbiolib unavailable ({exc}); using synthetic data")
    return synthetic_spectra(args.n_samples, seed=args.seed)


# ---------------------------------------------------------------- plain loops
def _encode(y):
    classes, y_enc = np.unique(y, return_inverse=True)
    return len(classes), y_enc


def _autocast(device: str, bf16: bool):
    return torch.autocast(
        device_type=torch.device(device).type, dtype=torch.bfloat16, enabled=bf16
    )


def plain_loop(
    X, y, *, epochs, batch_size, infer_batch_size, bf16, seed, device, dataloader=False
):
    """Train and predict with a hand-written loop; return timings."""
    n_classes, y_enc = _encode(y)
    torch.manual_seed(seed)
    model = _common.TorchDropoutCNN1D(n_classes=n_classes, n_features=X.shape[1])
    model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    gen = torch.Generator().manual_seed(seed)
    t0, c0 = time.perf_counter(), time.process_time()
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(device)
    yt = torch.from_numpy(y_enc.astype(np.int64)).to(device)
    counts = torch.bincount(yt.cpu(), minlength=n_classes).double()
    weights = (1.0 / counts)[yt.cpu()]
    n = len(yt)
    if dataloader:
        loader = DataLoader(
            TensorDataset(Xt, yt),
            batch_size=batch_size,
            sampler=WeightedRandomSampler(weights, n, replacement=True, generator=gen),
        )
    epoch_loss = 0.0
    for _ in range(epochs):
        total = torch.zeros((), device=device)
        model.train()
        if dataloader:
            batches = iter(loader)
        else:
            idx = torch.multinomial(weights, n, replacement=True, generator=gen)
            idx = idx.to(device)
            batches = (
                (Xt[idx[s : s + batch_size]], yt[idx[s : s + batch_size]])
                for s in range(0, n, batch_size)
            )
        for xb, yb in batches:
            opt.zero_grad()
            with _autocast(device, bf16):
                out = model(xb)
            loss = F.cross_entropy(out.float(), yb)
            loss.backward()
            opt.step()
            total += loss.detach() * len(yb)
        sched.step()
        epoch_loss = float(total) / n  # mean over the epoch, as skorch reports
    final_loss = epoch_loss
    _sync(device)
    train_s, train_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    model.eval()
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.inference_mode(), _autocast(device, bf16):
        proba = [
            torch.softmax(model(Xt[s : s + infer_batch_size]).float(), dim=1).cpu()
            for s in range(0, n, infer_batch_size)
        ]
    torch.cat(proba).numpy()
    infer_s, infer_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    return {
        "train_s": train_s,
        "train_cpu_s": train_cpu_s,
        "infer_s": infer_s,
        "infer_cpu_s": infer_cpu_s,
        "final_train_loss": final_loss,
    }


def classifier_run(X, y, *, epochs, batch_size, infer_batch_size, bf16, seed, device):
    """Train and predict with RamanCNNClassifier; return timings."""
    clf = RamanCNNClassifier(
        max_epochs=epochs,
        batch_size=batch_size,
        precision="bfloat16" if bf16 else "float32",
        random_state=seed,
        device=device,
        iterator_valid__batch_size=infer_batch_size,
    )
    t0, c0 = time.perf_counter(), time.process_time()
    clf.fit(X, y)
    _sync(device)
    train_s, train_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    clf.predict_proba(X)
    infer_s, infer_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    return {
        "train_s": train_s,
        "train_cpu_s": train_cpu_s,
        "infer_s": infer_s,
        "infer_cpu_s": infer_cpu_s,
        "final_train_loss": float(clf.history[-1, "train_loss"]),
    }


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


# ------------------------------------------------------------------ sections
def section_training(args, X, y) -> dict:
    """Training and inference throughput: plain loop vs classifier, fp32/bf16."""
    variants: list[tuple[str, Callable, dict]] = [
        ("plain fp32", plain_loop, {"bf16": False}),
        ("plain bf16", plain_loop, {"bf16": True}),
        ("plain fp32 DataLoader", plain_loop, {"bf16": False, "dataloader": True}),
        ("RamanCNNClassifier fp32", classifier_run, {"bf16": False}),
        ("RamanCNNClassifier bf16", classifier_run, {"bf16": True}),
    ]
    common = {
        "batch_size": args.batch_size,
        "infer_batch_size": args.infer_batch_size,
        "seed": args.seed,
        "device": args.device,
    }
    warm = min(len(X), 4 * args.batch_size)
    rows = []
    for name, fn, kw in variants:
        fn(X[:warm], y[:warm], epochs=1, **common, **kw)  # warm-up, not timed
        runs = [
            fn(X, y, epochs=args.epochs, **common, **kw) for _ in range(args.repeats)
        ]
        best = {k: min(r[k] for r in runs) for k in runs[0] if k.endswith("_s")}
        n_train = args.epochs * len(X)
        rows.append(
            {
                "name": name,
                "train_s": round(best["train_s"], 3),
                "train_samples_per_s": round(n_train / best["train_s"], 1),
                "train_samples_per_cpu_s": round(n_train / best["train_cpu_s"], 1),
                "infer_spectra_per_s": round(len(X) / best["infer_s"], 1),
                "infer_spectra_per_cpu_s": round(len(X) / best["infer_cpu_s"], 1),
                "final_train_loss": round(runs[0]["final_train_loss"], 4),
            }
        )
        print(f"  {name:26s} done in {best['train_s']:.1f} s", flush=True)
    by = {r["name"]: r for r in rows}

    def ratio(a, b, key):
        return round(by[a][key] / by[b][key], 3)

    ratios = {}
    for clock in ("", "cpu_"):
        train, infer = f"train_samples_per_{clock}s", f"infer_spectra_per_{clock}s"
        for prec in ("fp32", "bf16"):
            plain, clf = f"plain {prec}", f"RamanCNNClassifier {prec}"
            ratios[f"skorch_overhead_{prec}_train_{clock}time"] = round(
                ratio(plain, clf, train) - 1, 3
            )
            ratios[f"skorch_overhead_{prec}_infer_{clock}time"] = round(
                ratio(plain, clf, infer) - 1, 3
            )
        ratios[f"bf16_speedup_plain_train_{clock}time"] = ratio(
            "plain bf16", "plain fp32", train
        )
        ratios[f"bf16_speedup_plain_infer_{clock}time"] = ratio(
            "plain bf16", "plain fp32", infer
        )
        ratios[f"bf16_classifier_vs_plain_fp32_train_{clock}time"] = ratio(
            "RamanCNNClassifier bf16", "plain fp32", train
        )
        ratios[f"bf16_classifier_vs_plain_fp32_infer_{clock}time"] = ratio(
            "RamanCNNClassifier bf16", "plain fp32", infer
        )
    return {
        "description": section_training.__doc__,
        "settings": {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "infer_batch_size": args.infer_batch_size,
            "repeats": args.repeats,
            "torch_threads": torch.get_num_threads(),
            "n_samples": int(len(X)),
            "n_features": int(X.shape[1]),
        },
        "rows": rows,
        "ratios": ratios,
    }


def section_overhead(args, X, y) -> dict:
    """Share of RamanCNNClassifier.fit spent outside its train steps.

    Everything skorch and the classifier add around the optimisation steps
    (validation, tensor building, module init, callbacks, history) is timed
    as ``fit`` time minus the time inside ``train_step`` (forward, loss,
    backward, optimizer step: the same work as a plain loop). Unlike the
    throughput ratios, this share hardly depends on other load on the machine.
    """

    class Timed(RamanCNNClassifier):
        def train_step(self, batch, **kw):
            t = time.perf_counter()
            out = super().train_step(batch, **kw)
            self.step_s_ = getattr(self, "step_s_", 0.0) + time.perf_counter() - t
            return out

    rows = []
    for prec in ("float32", "bfloat16"):
        kw = {"precision": prec, "random_state": args.seed, "device": args.device}
        Timed(max_epochs=1, **kw).fit(
            X[: 4 * args.batch_size], y[: 4 * args.batch_size]
        )
        shares = []
        for _ in range(args.repeats):
            clf = Timed(max_epochs=args.epochs, batch_size=args.batch_size, **kw)
            clf.step_s_ = 0.0
            t0 = time.perf_counter()
            clf.fit(X, y)
            total = time.perf_counter() - t0
            shares.append((total - clf.step_s_) / total)
        rows.append(
            {
                "name": f"RamanCNNClassifier {prec}",
                "fit_s": round(total, 3),
                "outside_train_step_pct": round(100 * min(shares), 2),
            }
        )
        print(f"  {rows[-1]}", flush=True)
    return {
        "description": section_overhead.__doc__,
        "settings": {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "repeats": args.repeats,
            "torch_threads": torch.get_num_threads(),
            "n_samples": int(len(X)),
        },
        "rows": rows,
    }


_CHILD = """
import sys, time, numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, {root!r})
from raman_sk.models import RamanCNN1D
nt, bf16, n, bs = {nt}, {bf16}, {n}, {bs}
torch.set_num_threads(nt)
rng = np.random.default_rng(0)
X = torch.from_numpy(rng.random((512, 1351), dtype=np.float32))
y = torch.from_numpy(rng.integers(0, 6, 512))
torch.manual_seed(0)
m = RamanCNN1D(6, 1351)
opt = torch.optim.Adam(m.parameters(), 1e-3, weight_decay=1e-4)
def run(k):
    for s in range(0, k, bs):
        i = torch.randint(0, 512, (bs,))
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = m(X[i])
        F.cross_entropy(out.float(), y[i]).backward()
        opt.step()
run(2 * bs)
t, c = time.perf_counter(), time.process_time()
run(n)
print(n / (time.perf_counter() - t), n / (time.process_time() - c))
"""


def section_threads(args, X, y) -> dict:
    """Plain bf16/fp32 training loop: OpenMP wait policy and thread count.

    Each configuration runs in a fresh process (the wait policy is read when
    torch's OpenMP runtime loads), interleaved with the others, ``--repeats``
    times; the median is reported together with the machine's load average
    (the effect of spinning threads depends on other work on the cores).
    """
    import subprocess

    root = str(Path(__file__).resolve().parents[1])
    ncpu = os.cpu_count() or 1
    configs = [
        (f"{ncpu} threads, OMP_WAIT_POLICY unset (libgomp default)", ncpu, None),
        (f"{ncpu} threads, OMP_WAIT_POLICY=ACTIVE", ncpu, "ACTIVE"),
        (f"{ncpu} threads, OMP_WAIT_POLICY=PASSIVE", ncpu, "PASSIVE"),
        ("1 thread", 1, "PASSIVE"),
    ]
    rows = []
    for prec in args.thread_precisions:
        res: dict[str, list] = {c[0]: [] for c in configs}
        load = os.getloadavg()[0]
        for _ in range(args.repeats):
            for name, nt, policy in configs:
                code = _CHILD.format(
                    root=root,
                    nt=nt,
                    bf16=prec == "bf16",
                    n=args.thread_samples,
                    bs=args.batch_size,
                )
                env = {**os.environ, "OMP_WAIT_POLICY": policy or ""}
                env.pop("OMP_NUM_THREADS", None)
                if policy is None:
                    env.pop("OMP_WAIT_POLICY")
                out = subprocess.run(
                    [sys.executable, "-c", code],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.split()
                res[name].append((float(out[0]), float(out[1])))
        load = (load + os.getloadavg()[0]) / 2
        for name, runs in res.items():
            rows.append(
                {
                    "name": f"plain {prec}, {name}",
                    "train_samples_per_s": round(
                        float(np.median([a for a, _ in runs])), 1
                    ),
                    "train_samples_per_cpu_s": round(
                        float(np.median([b for _, b in runs])), 1
                    ),
                    "runs_samples_per_s": [round(a, 1) for a, _ in runs],
                    "load_avg_1min": round(load, 2),
                }
            )
            print(f"  {rows[-1]}", flush=True)
    return {
        "description": section_threads.__doc__,
        "settings": {
            "samples": args.thread_samples,
            "batch_size": args.batch_size,
            "repeats": args.repeats,
        },
        "rows": rows,
    }


def _rss_child(code: str) -> dict:
    import subprocess

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


_SCALE_CHILD = """
import json, sys, time, warnings, numpy as np, torch
sys.path.insert(0, {root!r}); sys.path.insert(0, {bench!r})
from bench_ig import _default_model, _pipeline_for
torch.set_num_threads({threads})
net = _default_model()
classes = np.asarray([f"c{{k}}" for k in range(6)])
clf = _pipeline_for(net, classes, 1351, precision={precision!r})
clf.set_params(batch_size={batch})
n, what = {n}, {what!r}
rng = np.random.default_rng(0)
X = (rng.random((n, 1351), dtype=np.float32) ** 3)
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
if what == "explain":
    from raman_sk.explain import IGExplainer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ig = IGExplainer(clf, n_steps=50, n_per_class=1, tolerance=1.0,
                         wavenumbers=np.arange(1351.0))
        ig.fit(rng.random((12, 1351), dtype=np.float32) ** 3, np.repeat(classes, 2))
    ig.explain(X[:2])
    fn = lambda: ig.explain(X)
else:
    clf.predict_proba(X[:256])
    fn = lambda: clf.predict_proba(X)
import threading
base = rss()
peak = [base]
done = threading.Event()
def poll():
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.002)
th = threading.Thread(target=poll, daemon=True)
th.start()
t = time.perf_counter()
out = fn()
dt = time.perf_counter() - t
done.set(); th.join()
peak[0] = max(peak[0], rss())
print(json.dumps({{"s": dt, "rss_before_mb": base / 2**20,
                  "peak_increase_mb": (peak[0] - base) / 2**20,
                  "input_mb": X.nbytes / 2**20, "output_mb": out.nbytes / 2**20}}))
"""


def section_scaling(args, X, y) -> dict:
    """Time and peak memory of predict_proba and IGExplainer.explain vs n.

    Full-size RamanCNN1D (random weights, fitted-classifier wrapper), random
    float32 spectra; each size in a fresh process. ``peak_increase_mb`` is
    the highest resident set size sampled every 2 ms during the call minus
    the RSS before it (the input array is resident before); it must stay
    flat in n apart from the output and any float32 copy of the input, i.e.
    batches are streamed and their activations are not held.
    """
    root = str(Path(__file__).resolve().parents[1])
    bench = str(Path(__file__).resolve().parent)
    rows = []
    jobs = [("predict_proba", n) for n in args.predict_sizes] + [
        ("explain", n) for n in args.explain_sizes
    ]
    for what, n in jobs:
        for precision in args.scaling_precisions:
            code = _SCALE_CHILD.format(
                root=root,
                bench=bench,
                threads=args.threads or (os.cpu_count() or 1),
                precision=precision,
                batch=args.infer_batch_size,
                n=n,
                what=what,
            )
            r = _rss_child(code)
            rows.append(
                {
                    "name": f"{what} {precision}",
                    "n_spectra": n,
                    "wall_s": round(r["s"], 2),
                    "spectra_per_s": round(n / r["s"], 1),
                    "ms_per_spectrum": round(1e3 * r["s"] / n, 3),
                    "input_mb": round(r["input_mb"], 1),
                    "output_mb": round(r["output_mb"], 1),
                    "peak_rss_increase_mb": round(r["peak_increase_mb"], 1),
                    "load_avg_1min": round(os.getloadavg()[0], 2),
                }
            )
            print(f"  {rows[-1]}", flush=True)
    return {
        "description": section_scaling.__doc__,
        "settings": {
            "infer_batch_size": args.infer_batch_size,
            "threads": args.threads or os.cpu_count(),
        },
        "rows": rows,
    }


def section_ig(args, X, y) -> dict:
    """IG ms/spectrum (n_steps=50, Gauss-Legendre), bench_ig.benchmark_ig.

    Full-size RamanCNN1D with random weights and BatchNorm statistics;
    raman_sk's batched explain against captum one spectrum per call, fp32
    and bf16, with the completeness error of each.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_ig import benchmark_ig

    df = benchmark_ig(n_spectra=args.ig_spectra, n_threads=args.threads or 2)
    rows = [
        {k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}
        for r in df.to_dict("records")
    ]
    for r in rows:
        print(f"  {r}", flush=True)
    return {
        "description": section_ig.__doc__,
        "settings": {"n_spectra": args.ig_spectra, "threads": args.threads or 2},
        "rows": rows,
    }


def section_levers(args, X, y) -> dict:
    """Train-step throughput of the levers, interleaved, median of rounds.

    One network and Adam optimiser per configuration (dropout layers x batch
    size), built once; then ``--lever-rounds`` rounds, each training every
    configuration on the same 640 rows in turn (forward under bf16 autocast
    unless ``--lever-precision float32``, cross-entropy, backward, fused Adam
    step). The median samples/s over the rounds and its ratio to torch's
    ``nn.Dropout`` at batch 32 are reported: on a shared 2-core machine the
    speed of one configuration drifts by +-30 % within minutes, so only
    interleaved medians compare.
    """
    import statistics

    bf16 = args.lever_precision == "bfloat16"
    n_classes, y_enc = _encode(y)
    Xt = torch.from_numpy(np.ascontiguousarray(X[:640], dtype=np.float32))
    yt = torch.from_numpy(y_enc[:640].astype(np.int64))
    Xt, yt = Xt.to(args.device), yt.to(args.device)
    configs = {}
    for name, cls in (
        ("nn.Dropout", _common.TorchDropoutCNN1D),
        ("FastDropout", RamanCNN1D),
    ):
        for batch in args.lever_batch_sizes:
            torch.manual_seed(args.seed)
            net = cls(n_classes=n_classes, n_features=X.shape[1]).to(args.device)
            opt = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
            configs[(name, batch)] = (net.train(), opt)

    def train(key, n_rows):
        (net, opt), batch = configs[key], key[1]
        t0 = time.perf_counter()
        for s in range(0, n_rows - batch + 1, batch):
            opt.zero_grad(set_to_none=True)
            with _autocast(args.device, bf16):
                out = net(Xt[s : s + batch])
            F.cross_entropy(out.float(), yt[s : s + batch]).backward()
            opt.step()
        _sync(args.device)
        return (n_rows // batch) * batch / (time.perf_counter() - t0)

    for key in configs:
        train(key, 128)  # warm-up: kernel selection, allocator
    speeds = {key: [] for key in configs}
    for _ in range(args.lever_rounds):
        for key in configs:
            speeds[key].append(train(key, len(Xt)))
    ref = statistics.median(speeds[("nn.Dropout", args.lever_batch_sizes[0])])
    rows = []
    for (name, batch), v in speeds.items():
        med = statistics.median(v)
        rows.append(
            {
                "dropout": name,
                "batch_size": batch,
                "median_samples_per_s": round(med, 1),
                "min": round(min(v), 1),
                "max": round(max(v), 1),
                "vs_nn_dropout_first_batch": round(med / ref, 3),
                "load_avg_1min": round(os.getloadavg()[0], 2),
            }
        )
        print(f"  {rows[-1]}", flush=True)
    return {
        "description": section_levers.__doc__,
        "settings": {
            "precision": args.lever_precision,
            "rounds": args.lever_rounds,
            "rows_per_round": int(len(Xt)),
            "torch_threads": torch.get_num_threads(),
        },
        "rows": rows,
    }


def section_reproduce(args, X, y) -> dict:
    """Wall time of ``raman-sk reproduce`` (default recipe) per precision.

    Runs ``python -m raman_sk.cli reproduce --out <tmp> --quiet
    --precision P`` in a fresh process, environment as given (plus
    ``--reproduce-env``), and reads the stage timings it writes to
    ``model/model_config.json``.
    """
    import subprocess
    import tempfile

    rows = []
    for prec in args.reproduce_precisions:
        for env_s in args.reproduce_env:
            env = dict(os.environ)
            for kv in filter(None, env_s.split(",")):
                k, v = kv.split("=", 1)
                if v:
                    env[k] = v
                else:  # "NAME=": unset
                    env.pop(k, None)
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "out"
                cmd = [sys.executable, "-m", "raman_sk.cli", "reproduce"]
                cmd += ["--out", str(out), "--quiet", "--precision", prec]
                cmd += list(args.reproduce_args)
                load0 = os.getloadavg()[0]
                t0 = time.perf_counter()
                subprocess.run(cmd, env=env, check=True, capture_output=True)
                wall = time.perf_counter() - t0
                cfg = json.loads((out / "model" / "model_config.json").read_text())
                ev = json.loads((out / "evaluation.json").read_text())
            held = ev.get("held_out", {})
            row = {
                "name": f"reproduce {prec} {env_s or 'default env'}",
                "args": " ".join(args.reproduce_args),
                "wall_s": round(wall, 1),
                **{k: round(v, 1) for k, v in cfg.get("timings", {}).items()},
                "test_accuracy": round(held.get("accuracy", float("nan")), 3),
                "test_macro_f1": round(held.get("macro_f1", float("nan")), 3),
                "load_avg_1min": round((load0 + os.getloadavg()[0]) / 2, 2),
            }
            rows.append(row)
            print(f"  {row}", flush=True)
    return {"description": section_reproduce.__doc__, "settings": {}, "rows": rows}


# name -> function(args, X, y) returning a JSON-able dict with "rows" (list of
# flat dicts) and optionally "ratios"; other issues add their sections here.
SECTIONS: dict[str, Callable] = {
    "training": section_training,
    "overhead": section_overhead,
    "threads": section_threads,
    "ig": section_ig,
    "levers": section_levers,
    "scaling": section_scaling,
    "reproduce": section_reproduce,
}


# ---------------------------------------------------------------------- output
def machine_info(args) -> dict:
    cpu = platform.processor()
    flags = ""
    try:
        text = Path("/proc/cpuinfo").read_text()
        cpu = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in text.splitlines()
                if ln.startswith("model name")
            ),
            cpu,
        )
        flags = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "amx_bf16": "amx_bf16" in flags,
        "avx512_bf16": "avx512_bf16" in flags,
        "torch_threads": torch.get_num_threads(),
        "device": args.device,
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "raman_sk": __version__,
        "python": platform.python_version(),
    }


def markdown(results: dict) -> str:
    lines = ["# raman_sk speed benchmark", ""]
    meta = results.get("meta", {})
    if meta:
        lines += [
            "Machine: " + ", ".join(f"{k}={v}" for k, v in meta.items()),
            "",
        ]
    if results.get("summary"):
        lines += ["## Summary", "", *results["summary"], ""]
    for name, sec in results.get("sections", {}).items():
        lines += [f"## {name}", ""]
        if sec.get("description"):
            lines += [" ".join(sec["description"].split()), ""]
        if sec.get("data"):
            lines += [f"Data: {sec['data']}; settings: {sec.get('settings', {})}", ""]
        rows = sec.get("rows", [])
        if rows:
            keys = list(rows[0])
            lines.append("| " + " | ".join(keys) + " |")
            lines.append("|" + "---|" * len(keys))
            for r in rows:
                lines.append("| " + " | ".join(str(r.get(k, "")) for k in keys) + " |")
            lines.append("")
        for k, v in sec.get("ratios", {}).items():
            lines.append(f"- {k}: {v}")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--n-samples",
        type=int,
        default=3104,
        help="rows of synthetic data (default: 194 x 16)",
    )
    parser.add_argument(
        "--data", choices=["auto", "ramanbiolib", "synthetic"], default="auto"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--infer-batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch intra-op threads (default: torch's choice)",
    )
    parser.add_argument(
        "--sections",
        nargs="+",
        default=["training", "overhead"],
        choices=list(SECTIONS),
    )
    parser.add_argument("--thread-samples", type=int, default=320)
    parser.add_argument("--lever-rounds", type=int, default=8)
    parser.add_argument(
        "--lever-batch-sizes", type=int, nargs="+", default=[32, 64, 128]
    )
    parser.add_argument(
        "--lever-precision", default="bfloat16", choices=["bfloat16", "float32"]
    )
    parser.add_argument(
        "--thread-precisions", nargs="+", default=["bf16"], choices=["fp32", "bf16"]
    )
    parser.add_argument(
        "--predict-sizes", type=int, nargs="+", default=[1000, 10000, 100000]
    )
    parser.add_argument("--explain-sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument(
        "--scaling-precisions",
        nargs="+",
        default=["bfloat16"],
        choices=["float32", "bfloat16"],
    )
    parser.add_argument("--ig-spectra", type=int, default=16)
    parser.add_argument(
        "--reproduce-precisions",
        nargs="+",
        default=["bfloat16", "float32"],
        choices=["float32", "bfloat16"],
    )
    parser.add_argument(
        "--reproduce-env",
        nargs="+",
        default=[""],
        help="environment variants, e.g. 'OMP_WAIT_POLICY=PASSIVE', "
        "'OMP_WAIT_POLICY=' (unset) or '' (as is)",
    )
    parser.add_argument(
        "--reproduce-args",
        nargs=argparse.REMAINDER,
        default=[],
        help="extra arguments for reproduce (last on the command line)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="directory for speed.json and speed.md",
    )
    args = parser.parse_args(argv)

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
        results["sections"][name] = section
    args.out.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    md = markdown(results)
    (args.out / "speed.md").write_text(md)
    print(md)
    return results


if __name__ == "__main__":
    main()
