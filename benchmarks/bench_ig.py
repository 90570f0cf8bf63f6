"""Integrated Gradients: speed, completeness and the sanity checks on real data.

``benchmark_ig`` times IG per spectrum at ``n_steps`` on the full-size
RamanCNN1D: raman_sk's batched :meth:`IGExplainer.explain` against captum called
the plain way (one spectrum per ``attribute`` call on the eval-mode network),
in float32 and bfloat16, and reports the completeness error
``|sum(IG) - (F(x) - F(0))| / |F(x) - F(0)|`` of each (always against the
float32 network).

``sanity_study`` trains the reference pipeline on the ramanbiolib database (two
seeds and once on shuffled labels), fits an :class:`IGExplainer` per baseline
and runs the randomisation checks; it writes CSV/NPZ files that tell which
saliency map passes (this decided ``IGExplainer``'s default ``region_map``).
With ``--recipe main-job`` it checks the committee that ``raman-sk reproduce``
ships instead.

Usage::

    python benchmarks/bench_ig.py speed --threads 2 [--model model.pt]
    python benchmarks/bench_ig.py study --out results/ig_study --device cuda
    python benchmarks/bench_ig.py study --recipe main-job --baselines zeros \
        --precision auto --out results/ig_sanity_main_job
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from raman_sk.models import RamanCNN1D  # noqa: E402


def _plain_captum(module, X, targets, n_steps, method, precision):
    """Captum the plain way: one spectrum per attribute() call."""
    from captum.attr import IntegratedGradients

    net = copy.deepcopy(module).eval()
    ig = IntegratedGradients(net)
    device = next(net.parameters()).device
    out = []
    with _common.autocast(device, precision):
        for i in range(len(X)):
            x = torch.as_tensor(X[i : i + 1], device=device)
            a = ig.attribute(
                x,
                baselines=torch.zeros_like(x),
                target=int(targets[i]),
                n_steps=n_steps,
                method=method,
            )
            out.append(a.detach().float().cpu().numpy())
    return np.concatenate(out).astype(np.float64)


def _relative_error(module, X, A, targets):
    net = copy.deepcopy(module).float().eval()
    device = next(net.parameters()).device
    with torch.no_grad():
        x = torch.as_tensor(X, device=device)
        rows = torch.arange(len(X), device=device)
        t = torch.as_tensor(targets, device=device)
        dF = (net(x)[rows, t] - net(torch.zeros_like(x))[rows, t]).double().cpu()
    dF = dF.numpy()
    return np.abs(A.sum(axis=1) - dF) / np.abs(dF)


def benchmark_ig(
    module=None,
    X=None,
    *,
    n_spectra: int = 16,
    n_steps: int = 50,
    precisions=("float32", "bfloat16"),
    methods=("gausslegendre",),
    device: str = "cpu",
    n_threads: int | None = None,
    internal_batch_size: int | None = None,
    plain: bool = True,
    seed: int = 0,
) -> pd.DataFrame:
    """Time IG per spectrum: raman_sk batched vs captum one spectrum per call.

    Parameters
    ----------
    module : torch.nn.Module, default=None
        Network to explain (e.g. a trained RamanCNN1D); None builds the
        full-size RamanCNN1D(6, 1351) with random weights.
    X : ndarray of shape (n, n_features), default=None
        Network inputs; None draws min-max scaled random spectra.
    n_spectra : int, default=16
        Spectra explained per measurement.
    n_steps : int, default=50
        IG steps.
    precisions : sequence of {"float32", "bfloat16"}
        Arithmetic measured.
    methods : sequence of str
        captum integration rules measured.
    device : str, default="cpu"
        Torch device.
    n_threads : int, default=None
        ``torch.set_num_threads`` for the measurement (restored after).
    internal_batch_size : int, default=None
        Passed to :class:`IGExplainer`.
    plain : bool, default=True
        Also time captum called one spectrum at a time.
    seed : int, default=0
        Seed of the random model and data.

    Returns
    -------
    results : DataFrame
        One row per (impl, precision, method): ``ms_per_spectrum``,
        ``rel_err_median``, ``rel_err_max`` and the settings.
    """
    from raman_sk.explain import IGExplainer
    from raman_sk.utils._torch import torch_threads

    if module is None:
        module = _common.random_network(seed=seed)
    module = module.to(device).eval()
    n_features = int(getattr(module, "n_features", 1351))
    n_classes = int(getattr(module, "n_classes", 6))
    if X is None:
        rng = np.random.default_rng(seed)
        X = rng.random((n_spectra, n_features)) ** 3
    X = np.asarray(X[:n_spectra], dtype=np.float32)
    with torch.no_grad():
        targets = module(torch.as_tensor(X, device=device)).argmax(1).cpu().numpy()
    rows = []
    classes = np.asarray([f"c{k}" for k in range(n_classes)])
    with torch_threads(n_threads or None):
        for method in methods:
            for precision in precisions:
                clf = _common.fitted_classifier(
                    copy.deepcopy(module),
                    classes,
                    n_features,
                    device=device,
                    precision=precision,
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # classes left out
                    ig = IGExplainer(
                        clf,
                        n_steps=n_steps,
                        n_per_class=1,
                        method=method,
                        internal_batch_size=internal_batch_size,
                        tolerance=1.0,
                        wavenumbers=np.arange(n_features, dtype=float),
                    ).fit(X[:n_classes], classes[targets[:n_classes]])
                impls = {
                    "raman_sk batched": lambda Z, t, ig=ig: ig.explain(
                        Z, target=classes[t]
                    ),
                }
                if plain:
                    impls["captum plain"] = lambda Z, t, p=precision, m=method: (
                        _plain_captum(module, Z, t, n_steps, m, p)
                    )
                for impl, explain in impls.items():
                    explain(X[:2], targets[:2])  # warm-up, not timed
                    _common.sync(device)
                    t0 = time.perf_counter()
                    A = explain(X, targets)
                    _common.sync(device)
                    ms = (time.perf_counter() - t0) / len(X) * 1e3
                    err = _relative_error(module, X, A, targets)
                    rows.append(
                        _row(impl, precision, method, ms, err, device, n_steps, len(X))
                    )
    return pd.DataFrame(rows)


def _row(impl, precision, method, ms, err, device, n_steps, n):
    return {
        "impl": impl,
        "precision": precision,
        "method": method,
        "ms_per_spectrum": round(ms, 2),
        "rel_err_median": float(np.median(err)),
        "rel_err_max": float(np.max(err)),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "n_steps": n_steps,
        "n_spectra": n,
    }


# ---------------------------------------------------------------- sanity study
def _train(X, y, w, seed, epochs, device, precision):
    return _common.cnn_pipeline(
        w, seed=seed, max_epochs=epochs, device=device, precision=precision
    ).fit(X, y)


def _main_job_settings(seed, device, precision, quick):
    from raman_sk.reproduce._settings import Settings

    return Settings.make(seed=seed, device=device, precision=precision, quick=quick)


def _train_main_job(bunch, y, seed, device, precision, quick):
    """Fit the main job's committee pipeline (cleaning included) of ``seed``."""
    from sklearn.utils import Bunch

    from raman_sk.reproduce._committee import fit_committee

    data = Bunch(
        X=np.asarray(bunch.data),
        y=y,
        groups=np.asarray(bunch.groups).astype(str),
        wavenumbers=np.asarray(bunch.wavenumbers),
    )
    return fit_committee(data, _main_job_settings(seed, device, precision, quick))


def sanity_study(
    path=None,
    out="results/ig_study",
    *,
    epochs: int = 80,
    device: str = "cpu",
    precision: str = "float32",
    baselines=("zeros", "mean", "smooth"),
    n_per_class: int = 15,
    n_steps: int = 50,
    quick: bool = False,
    seed: int = 0,
    recipe: str = "reference",
):
    """Randomisation checks of every map and baseline on the real database.

    Trains three pipelines (seed ``seed``, seed ``seed + 1``, and seed ``seed``
    on permuted labels), then for each baseline fits an IGExplainer on the
    first and compares its maps with the second (control), with cascading
    re-initialisation (model randomisation) and with the third (data
    randomisation). Writes ``sanity.csv`` (long report), ``summary.csv``
    (Spearman and Pearson averaged over classes), ``regions_<baseline>.csv``,
    ``maps_<baseline>.npz``, ``completeness.csv``, ``model.pt`` (the first
    network's weights and classes) and ``info.json`` into ``out``.

    ``recipe="main-job"`` trains what ``raman-sk reproduce`` ships instead (its
    cleaning and committee with the default ``Settings``; ``epochs`` unused)
    and explains it as the main job does (its IG steps, spectra per class and
    members; IG in float32); the completeness table and ``model.pt`` are
    left out (one network's weights do not describe a committee).

    Returns
    -------
    summary : DataFrame
    """
    from scipy.stats import spearmanr

    from raman_sk.datasets import load_ramanbiolib
    from raman_sk.explain import (
        IGExplainer,
        data_randomization_check,
        model_randomization_check,
        sanity_summary,
        seed_control_check,
    )

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    bunch = load_ramanbiolib(path=path)
    X, y, w = (
        np.asarray(bunch.data),
        np.asarray(bunch.target).astype(str),
        (np.asarray(bunch.wavenumbers)),
    )
    if quick:
        keep = np.concatenate([np.flatnonzero(y == c)[:6] for c in np.unique(y)])
        X, y = X[keep], y[keep]
    main_job = recipe == "main-job"
    if recipe not in ("reference", "main-job"):
        raise ValueError(f"recipe must be 'reference' or 'main-job', got {recipe!r}.")
    ig_params = {"n_per_class": n_per_class, "n_steps": n_steps}
    if main_job:
        if quick:
            raise ValueError("recipe='main-job' runs on the whole database.")
        settings = _main_job_settings(seed, device, precision, quick)
        precision = settings.precision
        ig_params = {
            "n_per_class": settings.ig_n_per_class,
            "n_steps": settings.ig_n_steps,
            "max_members": settings.ig_max_members,
            "precision": "float32",
        }

        def train(labels, s):
            return _train_main_job(bunch, labels, s, device, precision, quick)
    else:

        def train(labels, s):
            return _train(X, labels, w, s, epochs, device, precision)

    info = {
        "n": int(len(y)),
        "recipe": recipe,
        "epochs": None if main_job else epochs,
        "device": device,
        "precision": precision,
        "ig": ig_params,
        "torch": torch.__version__,
    }
    t0 = time.perf_counter()
    p0 = train(y, seed)
    info["train_s"] = time.perf_counter() - t0
    if not main_job:
        torch.save(
            {
                "state_dict": {
                    k: v.cpu() for k, v in p0[-1].module_.state_dict().items()
                },
                "classes": [str(c) for c in p0[-1].classes_],
            },
            out / "model.pt",
        )
    p1 = train(y, seed + 1)
    ys = y[np.random.default_rng(seed).permutation(len(y))]
    ps = train(ys, seed)
    info["train_acc"] = [
        float(np.mean(p.predict(X) == t)) for p, t in ((p0, y), (p1, y), (ps, ys))
    ]
    reports, summaries = [], []
    for b in baselines:
        t0 = time.perf_counter()
        ig = IGExplainer(p0, baseline=b, random_state=seed, **ig_params).fit(X, y)
        info[f"ig_fit_s_{b}"] = time.perf_counter() - t0
        info[f"rel_delta_max_{b}"] = float(ig.relative_delta_.max())
        info[f"rel_delta_median_{b}"] = float(np.median(ig.relative_delta_))
        rep = pd.concat(
            [
                seed_control_check(ig, X, y, pipeline=p1),
                model_randomization_check(ig, X, cascade=True, random_state=seed),
                data_randomization_check(ig, X, y, pipeline=ps),
            ],
            ignore_index=True,
        )
        rep.insert(0, "baseline", b)
        reports.append(rep)
        for metric in ("spearman", "pearson"):
            s = sanity_summary(rep, metric).reset_index()
            s.insert(0, "metric", metric)
            s.insert(0, "baseline", b)
            summaries.append(s)
        # how much does mean |IG| follow the spectrum itself?
        Xt = p0[:-1].transform(X)
        corr = []
        for k, c in enumerate(ig.classes_):
            rows = ig.sample_indices_[ig.sample_targets_ == c]
            corr.append(spearmanr(ig.saliency_[k], np.abs(Xt[rows]).mean(0)).statistic)
        info[f"abs_ig_vs_abs_x_spearman_{b}"] = float(np.mean(corr))
        _common.write_text(out / f"regions_{b}.csv", ig.regions_.to_csv(index=False))
        np.savez(out / f"maps_{b}.npz", **ig.to_npz_dict())
    _common.write_text(out / "sanity.csv", pd.concat(reports).to_csv(index=False))
    summary = pd.concat(summaries, ignore_index=True)
    _common.write_text(out / "summary.csv", summary.to_csv(index=False))
    if main_job:
        _common.write_json(out / "info.json", info)
        return summary
    # completeness of the integration rules and outputs at n_steps
    comp = []
    for method in ("gausslegendre", "riemann_trapezoid"):
        for output in ("logits", "proba"):
            for prec in ("float32", "bfloat16"):
                ig = IGExplainer(
                    p0,
                    n_per_class=n_per_class,
                    n_steps=n_steps,
                    method=method,
                    output=output,
                    precision=prec,
                    tolerance=10.0,
                    random_state=seed,
                ).fit(X, y)
                comp.append(
                    {
                        "method": method,
                        "output": output,
                        "precision": prec,
                        "rel_median": float(np.median(ig.relative_delta_)),
                        "rel_p90": float(np.quantile(ig.relative_delta_, 0.9)),
                        "rel_max": float(ig.relative_delta_.max()),
                    }
                )
    _common.write_text(out / "completeness.csv", pd.DataFrame(comp).to_csv(index=False))
    _common.write_json(out / "info.json", info)
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("speed")
    sp.add_argument("--device", default="cpu")
    sp.add_argument("--threads", type=int, default=None)
    sp.add_argument("--n-spectra", type=int, default=16)
    sp.add_argument("--n-steps", type=int, default=50)
    sp.add_argument("--batch", type=int, default=None)
    sp.add_argument("--model", default=None, help="model.pt written by `study`")
    sp.add_argument(
        "--path", default=None, help="ramanbiolib CSV folder: explain real spectra"
    )
    sp.add_argument("--methods", default="gausslegendre")
    sp.add_argument("--precisions", default="float32,bfloat16")
    sp.add_argument(
        "--no-plain",
        action="store_true",
        help="skip captum called one spectrum at a time",
    )
    sp.add_argument("--out", default=None)
    st = sub.add_parser("study")
    st.add_argument("--path", default=None)
    st.add_argument("--out", default="results/ig_study")
    st.add_argument("--device", default="cpu")
    st.add_argument("--precision", default="float32")
    st.add_argument("--epochs", type=int, default=80)
    st.add_argument("--quick", action="store_true")
    st.add_argument(
        "--recipe",
        choices=("reference", "main-job"),
        default="reference",
        help="reference: one network, --epochs; main-job: the committee that "
        "`raman-sk reproduce` ships, explained as it is there",
    )
    st.add_argument(
        "--baselines", default="zeros,mean,smooth", help="comma-separated"
    )
    args = parser.parse_args(argv)
    pd.set_option("display.width", 200)
    if args.cmd == "speed":
        module = None
        if args.model:
            state = torch.load(args.model, map_location="cpu")
            module = RamanCNN1D(len(state["classes"]))
            module.load_state_dict(state["state_dict"])
        X = None
        if args.path:
            from raman_sk.datasets import load_ramanbiolib

            data = np.asarray(load_ramanbiolib(path=args.path).data)
            step = max(1, len(data) // args.n_spectra)
            X = data[::step][: args.n_spectra]
        res = benchmark_ig(
            module,
            X,
            n_spectra=args.n_spectra,
            n_steps=args.n_steps,
            device=args.device,
            n_threads=args.threads,
            internal_batch_size=args.batch,
            methods=args.methods.split(","),
            precisions=args.precisions.split(","),
            plain=not args.no_plain,
        )
        print(res.to_string(index=False))
        if args.out:
            _common.write_text(args.out, res.to_csv(index=False))
    else:
        summary = sanity_study(
            args.path,
            args.out,
            epochs=args.epochs,
            device=args.device,
            precision=args.precision,
            quick=args.quick,
            recipe=args.recipe,
            baselines=tuple(args.baselines.split(",")),
        )
        print(summary.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
