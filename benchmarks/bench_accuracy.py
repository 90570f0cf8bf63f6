"""Grouped-CV accuracy of the raman_sk CNN pipeline against standard baselines.

What is measured
----------------
Every model is scored on the 194 ramanbiolib spectra (6 classes, 136 molecules)
with the *same* grouped, stratified 5-fold CV (``StratifiedGroupKFold``, groups
= molecule, shuffled with the seed), repeated over seeds (default 0, 1, 2), one
``sklearn.model_selection.cross_validate`` call per fold; accuracy, macro-F1
and weighted-F1 are reported as mean +- std over seeds x folds, with the fit +
predict time of one whole CV (mean over seeds).

Models
~~~~~~
* ``raman_sk CNN fp32`` / ``raman_sk CNN bf16``:
  ``make_pipeline(WavenumberResampler(wavenumbers=w), RamanCNNClassifier(
  augmenter=SpectralAugmenter(n_copies=15, random_state=seed),
  max_epochs=EPOCHS, precision=..., random_state=seed))`` -- the reference
  recipe (Adam 1e-3, wd 1e-4, cosine schedule, batch 32, class-balanced sampling),
  augmenting only the training part of each fold. The database spectra are
  already on the 450-1800 cm-1 grid and cleaned by the database authors, so the
  pipeline's cleaning steps are left out (the resampler is the identity here).
* ``raman_sk CNN fp32 nested-GS`` / ``bf16 nested-GS`` (``--nested``, one
  row per ``--precisions`` entry, first seed only): nested grouped CV, 3 outer x
  2 inner folds; the inner ``GridSearchCV`` (macro-F1) picks
  ``module__kernel_sizes`` among (15,11,7), (9,7,5), (21,15,9), (7,5,3).
* ``raman_sk main job (cv-committee, fp32)`` (``--only committee``): exactly
  the pipeline ``raman-sk reproduce`` ships (cleaning steps, the recipe's
  defaults from :class:`raman_sk.reproduce._settings.Settings`), fitted once
  per seed as a committee over the same grouped folds; each spectrum is scored
  by the member that never saw its molecule, so its per-fold scores pair with
  the other rows' (the folds are checked to be identical).
* Baselines: cosine 1-NN (library search), StandardScaler + logistic
  regression, StandardScaler + SVM-RBF (C=10), PCA(20) + LDA, PLS-DA (10
  components, one-hot PLS + argmax), random forest (500 trees) and MiniRocket
  (aeon, 10 000 kernels) + StandardScaler + RidgeClassifierCV.

Also the *leaky* reference protocol (augment x15 first, then a random 80/20 split
of the augmented rows, :func:`raman_sk.evaluation.leaky_evaluation`), clearly
labelled ``protocol="leaky"``: it inflates every model and is not the headline.
The CNN's leaky run uses the first seed only.

Every (model, settings, seed, fold) result is cached as a JSON file under
``--cache-dir`` (default ``benchmarks/results/cache``), keyed by a hash of its
settings (not of the device), so an interrupted run resumes, and results
computed elsewhere (``--device cuda``) can be copied into the folder.

Outputs: ``accuracy.json`` (list of rows: model, protocol, accuracy_mean,
accuracy_std, macro_f1_mean, macro_f1_std, weighted_f1_mean, fit_predict_s,
n_seeds, ...), ``accuracy.md`` and ``accuracy.png`` in ``--out-dir``.

Examples
--------
    python benchmarks/bench_accuracy.py --only baselines
    python benchmarks/bench_accuracy.py --only cnn --precisions float32 --seeds 0
    python benchmarks/bench_accuracy.py --only cnn --device cuda --nested
    python benchmarks/bench_accuracy.py --cached-only        # tables from cache
    python benchmarks/bench_accuracy.py --quick --out-dir /tmp/bench
"""

from __future__ import annotations

import sys
import time
from functools import partial
from itertools import product
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402
import numpy as np  # noqa: E402

CNN_GRID = [(15, 11, 7), (9, 7, 5), (21, 15, 9), (7, 5, 3)]
PRECISION_TAG = {"float32": "fp32", "bfloat16": "bf16"}
DROPOUT_TAG = {"fast": "", "torch": " nn.Dropout"}


# ------------------------------------------------------------------- models
def baseline_factories(quick=False):
    """Name -> (settings, make_estimator(seed)) of every baseline."""
    from sklearn.decomposition import PCA
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression, RidgeClassifierCV
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    n_trees = 20 if quick else 500
    n_pca = 5 if quick else 20
    n_kernels = 84 if quick else 10_000

    def minirocket(seed):
        from aeon.transformations.collection.convolution_based import MiniRocket

        return make_pipeline(
            MiniRocket(n_kernels=n_kernels, n_jobs=1, random_state=seed),
            StandardScaler(),
            RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)),
        )

    return {
        "kNN-1 cosine": (
            {"k": 1, "metric": "cosine"},
            lambda seed: KNeighborsClassifier(n_neighbors=1, metric="cosine"),
        ),
        "LogReg (scaled)": (
            {"C": 1.0, "max_iter": 5000},
            lambda seed: make_pipeline(
                StandardScaler(), LogisticRegression(C=1.0, max_iter=5000)
            ),
        ),
        "SVM-RBF (scaled)": (
            {"C": 10.0, "gamma": "scale"},
            lambda seed: make_pipeline(StandardScaler(), SVC(C=10.0, gamma="scale")),
        ),
        "PCA+LDA": (
            {"n_components": n_pca},
            lambda seed: make_pipeline(
                PCA(n_components=n_pca, random_state=seed),
                LinearDiscriminantAnalysis(),
            ),
        ),
        "PLS-DA": (
            {"n_components": 5 if quick else 10},
            lambda seed: _common.PLSDAClassifier(n_components=5 if quick else 10),
        ),
        "Random forest": (
            {"n_estimators": n_trees},
            lambda seed: RandomForestClassifier(
                n_estimators=n_trees, random_state=seed, n_jobs=1
            ),
        ),
        "MiniRocket + ridge": (
            {"n_kernels": n_kernels, "alphas": "logspace(-3,3,10)", "scaler": True},
            minirocket,
        ),
    }


def cnn_factory(
    wavenumbers,
    *,
    epochs,
    precision,
    device,
    quick,
    n_copies,
    kernel_sizes=None,
    dropout="fast",
    batch_size=32,
):
    """Return the settings and ``make_estimator(seed)`` of the CNN pipeline.

    ``dropout="fast"`` is the package's network (FastDropout layers);
    ``"torch"`` swaps in ``nn.Dropout``, the network measured before
    FastDropout existed (its cache keys are those of that time).
    ``batch_size`` other than the default 32 enters the settings (and so the
    cache key and the row name).
    """
    extra = dict(_common.TINY_NET) if quick else {}
    if kernel_sizes is not None:
        extra["module__kernel_sizes"] = tuple(kernel_sizes)
    settings = {
        "estimator": "WavenumberResampler + RamanCNNClassifier",
        "epochs": epochs,
        "precision": precision,
        "n_copies": n_copies,
        "noise_std": 0.01,
        "scale_range": [0.9, 1.1],
        **{k: list(v) if isinstance(v, tuple) else v for k, v in extra.items()},
    }
    if batch_size != 32:
        extra["batch_size"] = int(batch_size)
        settings["batch_size"] = int(batch_size)
    if dropout == "fast":
        settings["dropout"] = "FastDropout"
    elif dropout == "torch":
        extra["module"] = _common.TorchDropoutCNN1D
    else:
        raise ValueError(f"dropout must be 'fast' or 'torch', got {dropout!r}.")

    def make(seed):
        return _common.cnn_pipeline(
            wavenumbers,
            seed=seed,
            n_copies=n_copies,
            max_epochs=epochs,
            precision=precision,
            device=device,
            **extra,
        )

    return settings, make


def leaky_augmenter(n_copies):
    """``make_augmenter(seed)`` for the leaky protocol."""
    from raman_sk.preprocessing import SpectralAugmenter

    return lambda seed: SpectralAugmenter(n_copies=n_copies, random_state=seed)


# ------------------------------------------------------------------- nested
def run_nested(
    model,
    settings,
    make,
    X,
    y,
    groups,
    *,
    seed,
    outer,
    inner,
    grid,
    cache,
    device,
    log=print,
):
    """Nested grouped CV: GridSearchCV (inner grouped folds) in each outer fold."""
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

    settings = {
        **settings,
        "protocol": "nested",
        "outer": outer,
        "inner": inner,
        "grid": grid,
        "data": _common.data_fingerprint(X, y),
    }
    records = []
    for fold, (tr, te) in enumerate(_common.grouped_folds(y, groups, outer, seed)):
        rec = cache.get(model, settings, seed, fold)
        if rec is None and not cache.compute:
            continue
        if rec is None:
            gs = GridSearchCV(
                make(seed),
                grid,
                scoring="f1_macro",
                refit=True,
                error_score="raise",
                cv=StratifiedGroupKFold(
                    n_splits=inner, shuffle=True, random_state=seed
                ),
            )
            t0 = time.perf_counter()
            gs.fit(X[tr], y[tr], groups=groups[tr])
            t1 = time.perf_counter()
            pred = gs.predict(X[te])
            t2 = time.perf_counter()
            rec = cache.put(
                model,
                settings,
                seed,
                fold,
                {
                    "accuracy": float(accuracy_score(y[te], pred)),
                    "macro_f1": float(f1_score(y[te], pred, average="macro")),
                    "weighted_f1": float(f1_score(y[te], pred, average="weighted")),
                    "fit_s": t1 - t0,
                    "predict_s": t2 - t1,
                    "best_params": {
                        k: list(v) if isinstance(v, tuple) else v
                        for k, v in gs.best_params_.items()
                    },
                    "inner_best_macro_f1": float(gs.best_score_),
                    "n_train": int(len(tr)),
                    "n_test": int(len(te)),
                    **_common.environment(device),
                },
            )
            log(
                f"  {model:<34} seed={seed} outer={fold} "
                f"acc={rec['accuracy']:.3f} macroF1={rec['macro_f1']:.3f} "
                f"best={rec['best_params']} ({rec['fit_s']:.0f} s)"
            )
        records.append(rec)
    return records


# ----------------------------------------------------------------- plotting
def plot(rows, path):
    """Bar chart: macro-F1 (mean +- std) per model, grouped vs leaky."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(r["model"] for r in rows))
    partial = {r["model"] for r in rows if not r["complete"]}
    by = {(r["model"], r["protocol"]): r for r in rows}
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(models) + 2.2))
    ypos = np.arange(len(models))
    for off, proto, color in (
        (-0.2, "grouped", "tab:blue"),
        (0.2, "leaky", "tab:gray"),
    ):
        vals = [by.get((m, proto)) for m in models]
        mean = [v["macro_f1_mean"] if v else np.nan for v in vals]
        std = [v["macro_f1_std"] if v else 0.0 for v in vals]
        label = {
            "grouped": "grouped 5-fold CV by molecule (honest)",
            "leaky": "leaky: augment x15, then split (inflated)",
        }[proto]
        ax.barh(
            ypos + off, mean, height=0.38, xerr=std, color=color, label=label, capsize=2
        )
    nested = [i for i, m in enumerate(models) if (m, "nested") in by]
    for i in nested:
        r = by[(models[i], "nested")]
        ax.barh(
            i - 0.2,
            r["macro_f1_mean"],
            height=0.38,
            xerr=r["macro_f1_std"],
            color="tab:orange",
            capsize=2,
            label="nested grouped CV (3x2)" if i == nested[0] else None,
        )
    ax.set_yticks(ypos, [m + (" [partial]" if m in partial else "") for m in models])
    ax.invert_yaxis()
    ax.set_xlim(0, 1.05)
    ax.set_xlabel("macro-F1 (mean ± std over seeds × folds)")
    ax.set_title("ramanbiolib, 194 spectra, 6 classes")
    ax.legend(loc="upper center", bbox_to_anchor=(0.4, -0.1), ncol=2, fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    _common.save_figure(fig, path)


# ---------------------------------------------------------------------- main
def run_committee(seeds, precision, cache, *, quick=False, log=print):
    """Per-fold records of the main job's committee recipe, one fit per seed.

    The committee's out-of-fold predictions over the benchmark's folds of a
    seed are the scores of one grouped CV: the member of fold ``k`` never saw
    fold ``k``'s molecules.
    """
    from sklearn.metrics import accuracy_score, f1_score

    from raman_sk.reproduce._committee import fit_committee
    from raman_sk.reproduce._settings import Settings
    from raman_sk.reproduce._steps import load_data

    data = load_data()
    if quick:
        X, y, groups, _ = _common.load_data(quick=True)
        keep = np.flatnonzero(np.isin(data.groups, groups))
        data.X, data.y, data.groups = data.X[keep], data.y[keep], data.groups[keep]
    records = []
    for seed in seeds:
        settings = Settings.make(seed=seed, precision=precision, quick=quick, threads=2)
        key = {
            "settings": _common.main_job_key(settings),
            "data": _common.data_fingerprint(data.X, data.y),
            "protocol": "grouped",
        }
        name = f"raman_sk main job {PRECISION_TAG[precision]}"
        cached = [cache.get(name, key, seed, k) for k in range(settings.cv)]
        if all(r is not None for r in cached):
            records.extend(cached)
            continue
        if not cache.compute:
            continue
        t0 = time.perf_counter()
        committee = fit_committee(data, settings)[-1]
        fit_s = time.perf_counter() - t0
        folds = committee.oof_fold_
        expected = _common.grouped_folds(data.y, data.groups, settings.cv, seed)
        for k, (_, test) in enumerate(expected):
            if not np.array_equal(np.flatnonzero(folds == k), np.sort(test)):
                raise RuntimeError(f"seed {seed}: the committee's fold {k} differs")
        pred = committee.classes_[committee.oof_proba_.argmax(axis=1)]
        for k in range(settings.cv):
            m = folds == k
            rec = cache.put(name, key, seed, k, {
                "accuracy": float(accuracy_score(data.y[m], pred[m])),
                "macro_f1": float(f1_score(data.y[m], pred[m], average="macro")),
                "weighted_f1": float(
                    f1_score(data.y[m], pred[m], average="weighted")
                ),
                "fit_s": fit_s / settings.cv,  # one fit trains every fold's member
                "predict_s": 0.0,
                "n_train": int((~m).sum()),
                "n_test": int(m.sum()),
                **_common.environment("cpu"),
            })  # fmt: skip
            log(
                f"  {name} seed={seed} fold={k} acc={rec['accuracy']:.3f} "
                f"macroF1={rec['macro_f1']:.3f}"
            )
            records.append(rec)
    return records


def parse_args(argv=None):
    """Command-line options."""
    p = _common.argument_parser(__doc__)
    p.add_argument(
        "--only", choices=["all", "cnn", "baselines", "committee"], default="all"
    )
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0, 1, 2],
        help="CV / model seeds (default: 0 1 2)",
    )
    p.add_argument("--n-splits", type=int, default=5)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument(
        "--precisions",
        nargs="+",
        default=["float32", "bfloat16"],
        choices=["float32", "bfloat16"],
    )
    p.add_argument("--device", default="cpu", help="torch device for the CNN")
    p.add_argument(
        "--dropouts",
        nargs="+",
        default=["fast"],
        choices=["fast", "torch"],
        help="CNN dropout layers: the package's FastDropout ('fast') and/or "
        "nn.Dropout ('torch', the network of the earlier runs)",
    )
    p.add_argument(
        "--batch-sizes",
        type=int,
        nargs="+",
        default=[32],
        help="CNN training batch sizes (default 32, the reference recipe)",
    )
    p.add_argument(
        "--protocols",
        nargs="*",
        default=["grouped", "leaky"],
        choices=["grouped", "leaky"],
    )
    p.add_argument(
        "--nested",
        action="store_true",
        help="also nested grouped CV (3 outer x 2 inner) of the CNN grid",
    )
    p.add_argument(
        "--models",
        nargs="+",
        default=None,
        help="only these baselines (names as in the table)",
    )
    p.add_argument(
        "--cached-only",
        action="store_true",
        help="compute nothing; build the tables from the cache",
    )
    _common.add_output_options(
        p, quick_help="smoke run: ~60 spectra, 3 folds, tiny net, 1 epoch"
    )
    return p.parse_args(argv)


def main(argv=None):
    """Run the benchmark; return the result rows."""
    args = parse_args(argv)
    if args.quick:
        args.n_splits = min(args.n_splits, 3)
        args.epochs = 1
    n_copies = 1 if args.quick else 15
    X, y, groups, w = _common.load_data(args.data_path, quick=args.quick)
    cache = _common.ResultCache(
        args.cache_dir, enabled=not args.no_cache, compute=not args.cached_only
    )
    print(
        f"data: {X.shape[0]} spectra x {X.shape[1]} points, "
        f"{len(np.unique(y))} classes, {len(np.unique(groups))} molecules; "
        f"seeds {args.seeds}; {args.n_splits} folds; cache {args.cache_dir}"
    )

    rows = []
    suffix = " (quick)" if args.quick else ""

    def run(name, make, settings, *, row_name, leaky_seeds, device="cpu", **extra):
        for proto in args.protocols:
            if proto == "grouped":
                recs = _common.run_grouped(
                    name, make, settings, X, y, groups, seeds=args.seeds,
                    n_splits=args.n_splits, cache=cache, device=device,
                )  # fmt: skip
                n_exp = len(args.seeds) * args.n_splits
            else:
                recs = _common.run_leaky(
                    name, make, settings, X, y, leaky_augmenter(n_copies),
                    seeds=leaky_seeds, cache=cache, device=device,
                )  # fmt: skip
                n_exp = len(leaky_seeds)
            if recs:
                rows.append(
                    _common.summarise(row_name, proto, recs, expected=n_exp, **extra)
                )

    if args.only in ("all", "baselines"):
        for name, (settings, make) in baseline_factories(args.quick).items():
            if args.models and name not in args.models:
                continue
            settings = {**settings, "name": name, "quick": args.quick}
            if name.startswith("MiniRocket") and cache.compute:
                try:
                    import aeon  # noqa: F401
                except ImportError:
                    print(f"skip {name}: aeon is not installed (pip install aeon)")
                    continue
            run(name, make, settings, row_name=name + suffix, leaky_seeds=args.seeds)
    if args.only in ("all", "committee") and "grouped" in args.protocols:
        for precision in args.precisions:
            recs = run_committee(args.seeds, precision, cache, quick=args.quick)
            if recs:
                rows.append(_common.summarise(
                    f"raman_sk main job {PRECISION_TAG[precision]} (cv-committee)"
                    + suffix, "grouped", recs,
                    expected=len(args.seeds) * args.n_splits, precision=precision,
                ))  # fmt: skip
    if args.only in ("all", "cnn"):
        cnn = partial(
            cnn_factory,
            w,
            epochs=args.epochs,
            device=args.device,
            quick=args.quick,
            n_copies=n_copies,
        )
        for precision, dropout, batch_size in product(
            args.precisions, args.dropouts, args.batch_sizes
        ):
            batch_tag = "" if batch_size == 32 else f" batch {batch_size}"
            name = f"raman_sk CNN {PRECISION_TAG[precision]}"  # cache key part
            settings, make = cnn(
                precision=precision, dropout=dropout, batch_size=batch_size
            )
            run(
                name,
                make,
                {**settings, "quick": args.quick},
                row_name=f"{name}{DROPOUT_TAG[dropout]}{batch_tag} "
                f"({args.epochs} ep){suffix}",
                leaky_seeds=args.seeds[:1],
                device=args.device,
                epochs=args.epochs,
                precision=precision,
            )
        nested = product(args.precisions, args.dropouts) if args.nested else ()
        for precision, dropout in nested:
            name = f"raman_sk CNN {PRECISION_TAG[precision]} nested-GS"
            settings, make = cnn(precision=precision, dropout=dropout)
            settings = {**settings, "quick": args.quick}
            grid = {
                "ramancnnclassifier__module__kernel_sizes": [(5, 3), (3, 3)]
                if args.quick
                else CNN_GRID
            }
            outer, inner = (2, 2) if args.quick else (3, 2)
            recs = run_nested(
                name,
                settings,
                make,
                X,
                y,
                groups,
                seed=args.seeds[0],
                outer=outer,
                inner=inner,
                grid=grid,
                cache=cache,
                device=args.device,
            )
            if recs:
                best = [r["best_params"] for r in recs]
                rows.append(
                    _common.summarise(
                        f"{name}{DROPOUT_TAG[dropout]} ({args.epochs} ep){suffix}",
                        "nested",
                        recs,
                        expected=outer,
                        epochs=args.epochs,
                        precision=precision,
                        outer_folds=outer,
                        inner_folds=inner,
                        best_params=best,
                    )
                )
    write_outputs(rows, args)
    return rows


def _fmt_time(row):
    by = row.get("fit_predict_s_by_device", {})
    if len(by) > 1:
        return "; ".join(f"{v:.0f} ({d})" for d, v in by.items())
    return f"{row['fit_predict_s']:.1f}"


def paired_table(rows, metric="macro_f1"):
    """CNN minus each baseline on the same (seed, fold) pairs (grouped CV)."""
    grouped = [r for r in rows if r["protocol"] == "grouped"]
    cnns = [r for r in grouped if r["model"].startswith("raman_sk")]
    others = [r for r in grouped if not r["model"].startswith("raman_sk")]
    out = []
    for c in cnns:
        cs = {(s["seed"], s["fold"]): s[metric] for s in c["scores"]}
        for b in others:
            bs = {(s["seed"], s["fold"]): s[metric] for s in b["scores"]}
            keys = sorted(set(cs) & set(bs))
            if not keys:
                continue
            d = np.array([cs[k] - bs[k] for k in keys])
            out.append(
                {
                    "cnn": c["model"],
                    "baseline": b["model"],
                    "metric": metric,
                    "mean_diff": float(d.mean()),
                    "std_diff": float(d.std()),
                    "wins": int((d > 1e-12).sum()),
                    "ties": int((abs(d) <= 1e-12).sum()),
                    "losses": int((d < -1e-12).sum()),
                    "wins_ties_half": float(
                        (d > 1e-12).sum() + 0.5 * (abs(d) <= 1e-12).sum()
                    ),
                    "n_pairs": len(keys),
                }
            )
    return out


def fmt(mean, std):
    """``0.871 ± 0.034``."""
    return f"{mean:.3f} ± {std:.3f}"


def write_outputs(rows, args):
    """Print the table, write accuracy.json / .md / .png."""
    order = {"grouped": 0, "nested": 1, "leaky": 2}
    rows.sort(key=lambda r: (order[r["protocol"]], -r["macro_f1_mean"]))
    columns = [
        (
            "model",
            lambda r: (
                r["model"]
                + (
                    ""
                    if r["complete"]
                    else f" (PARTIAL {r['n_scores']}/{r['n_expected']})"
                )
            ),
        ),
        ("protocol", lambda r: r["protocol"]),
        ("accuracy", lambda r: fmt(r["accuracy_mean"], r["accuracy_std"])),
        ("macro-F1", lambda r: fmt(r["macro_f1_mean"], r["macro_f1_std"])),
        ("weighted-F1", lambda r: fmt(r["weighted_f1_mean"], r["weighted_f1_std"])),
        ("fit+predict s", _fmt_time),
        (
            "seeds × folds",
            lambda r: f"{r['n_seeds']} × {r['n_scores'] // max(r['n_seeds'], 1)}",
        ),
        ("device", lambda r: r["device"]),
        ("timed on", lambda r: "; ".join(r.get("cpu", []))),
    ]
    table = _common.markdown_table(rows, columns)
    print()
    print(table)
    _common.write_json(args.out_dir / "accuracy.json", rows)
    head = (
        "# bench_accuracy: grouped CV on ramanbiolib (194 spectra, 6 classes)\n\n"
        f"Tables built on: {_common.machine_description()}. "
        f"Command: `python benchmarks/bench_accuracy.py "
        f"{' '.join(sys.argv[1:])}`.\n\n"
        "`grouped`: StratifiedGroupKFold(5, shuffle, seed) by molecule, mean ± std "
        "over seeds × folds; fit+predict s = one whole CV (all folds), mean over "
        "seeds (mixed devices: each device's mean fold time × folds). "
        "`nested`: 3 outer × 2 inner grouped folds, GridSearchCV over "
        "kernel sizes inside. `leaky`: the reference protocol (augment ×15, then "
        "split the augmented rows); inflated, not a measure of accuracy.\n\n"
    )
    pairs = paired_table(rows)
    ptable = _common.markdown_table(
        pairs,
        [
            ("CNN", lambda p: p["cnn"]),
            ("baseline", lambda p: p["baseline"]),
            (
                "macro-F1 difference (CNN − baseline)",
                lambda p: f"{p['mean_diff']:+.3f} ± {p['std_diff']:.3f}",
            ),
            (
                "CNN wins / ties / losses",
                lambda p: (
                    f"{p['wins']} / {p['ties']} / {p['losses']} of {p['n_pairs']}"
                ),
            ),
            ("wins (a tie counts ½)", lambda p: f"{p['wins_ties_half']:g}"),
        ],
    )
    if pairs:
        print()
        print(ptable)
    paired_head = (
        "\n\n## Paired comparison on the same grouped folds\n\n"
        "Every model is scored on identical (seed, fold) splits, so differences "
        "are paired: mean ± std over the common (seed, fold) pairs.\n\n"
    )
    _common.write_json(args.out_dir / "accuracy_paired.json", pairs)
    _common.write_text(
        args.out_dir / "accuracy.md",
        head + table + (paired_head + ptable if pairs else "") + "\n",
    )
    if rows:
        plot(rows, args.out_dir / "accuracy.png")
    print(f"\nwrote {args.out_dir / 'accuracy.json'} (.md, .png)")


if __name__ == "__main__":
    main()
