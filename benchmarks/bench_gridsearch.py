"""GridSearchCV over the CNN's kernel sizes x augmentation noise: n_jobs and Dask.

What is measured
----------------
One ``GridSearchCV`` over ``ramancnnclassifier__module__kernel_sizes`` ((15,11,7),
(9,7,5), (21,15,9), (7,5,3)) x ``ramancnnclassifier__augmenter__noise_std``
(0.01, 0.03) of the pipeline ``make_pipeline(WavenumberResampler(wavenumbers=w),
RamanCNNClassifier(augmenter=SpectralAugmenter(n_copies=15), ...))`` on the 194
ramanbiolib spectra, scored by macro-F1 with grouped CV
(``StratifiedGroupKFold(3, shuffle=True, random_state=0)``, groups = molecule),
run three ways with the same seeds:

* ``n_jobs=1``: one process, torch uses the machine's cores inside each fit;
* ``n_jobs=2``: joblib's default (loky) processes, one torch thread each;
* ``dask``: ``joblib.parallel_config(backend="dask")`` on a ``LocalCluster`` of two
  single-threaded worker processes (``RamanCNNClassifier(n_threads=1)``), the
  shape the same code takes on a real cluster.

Reported: wall time of ``fit`` (``refit=False``: the search only), the time to
start the Dask cluster (separately), the summed time of all fit+score tasks,
parallel efficiency = summed task time / (wall x workers), and whether the
three searches found the same scores (fixed ``random_state`` everywhere, so
they should agree to float tolerance). The default is 8 candidates x 3 folds =
24 fits of 8 epochs per backend. ``--quick`` (tiny network, 1 epoch, 2
candidates, ~60 spectra, 2 folds, 1 augmented copy) is a smoke setting: its
wall times are mostly overhead.

Each backend's result is cached under ``--cache-dir`` (keyed by the settings
and the backend), so an interrupted run resumes with the next backend.

Outputs: ``gridsearch.json``, ``gridsearch.md`` and ``gridsearch.png`` in
``--out-dir``.

Examples
--------
    python benchmarks/bench_gridsearch.py --quick
    python benchmarks/bench_gridsearch.py
    python benchmarks/bench_gridsearch.py --backends n_jobs=1 dask --epochs 4
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # noqa: E402
import numpy as np  # noqa: E402

KERNEL_SIZES = [(15, 11, 7), (9, 7, 5), (21, 15, 9), (7, 5, 3)]
NOISE_STD = [0.01, 0.03]
BACKENDS = ["n_jobs=1", "n_jobs=2", "dask"]


def make_search(w, *, epochs, n_copies, quick, n_threads, n_jobs, cv_splits, seed):
    """Return the GridSearchCV object and its JSON-able grid."""
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

    extra = {}
    if quick:
        extra = dict(_common.TINY_NET)
        grid = {
            "ramancnnclassifier__module__kernel_sizes": [(5, 3), (9, 5)],
            "ramancnnclassifier__augmenter__noise_std": [0.01],
        }
    else:
        grid = {
            "ramancnnclassifier__module__kernel_sizes": KERNEL_SIZES,
            "ramancnnclassifier__augmenter__noise_std": NOISE_STD,
        }
    pipe = _common.cnn_pipeline(
        w,
        seed=seed,
        n_copies=n_copies,
        max_epochs=epochs,
        n_threads=n_threads,
        **extra,
    )
    search = GridSearchCV(
        pipe,
        grid,
        scoring="f1_macro",
        cv=StratifiedGroupKFold(n_splits=cv_splits, shuffle=True, random_state=seed),
        refit=False,
        n_jobs=n_jobs,
        error_score="raise",
    )
    json_grid = {
        k: [list(v) if isinstance(v, tuple) else v for v in vals]
        for k, vals in grid.items()
    }
    return search, json_grid


def run_backend(backend, X, y, groups, w, args, log=print):
    """Fit the search with one backend; return its timing record."""
    import joblib

    n_workers = 1 if backend == "n_jobs=1" else 2
    kw = {
        "epochs": args.epochs,
        "n_copies": args.n_copies,
        "quick": args.quick,
        "cv_splits": args.cv,
        "seed": args.seed,
    }
    setup_s = 0.0
    if backend == "n_jobs=1":
        search, grid = make_search(w, n_threads=None, n_jobs=1, **kw)
        t0 = time.perf_counter()
        search.fit(X, y, groups=groups)
        wall = time.perf_counter() - t0
    elif backend == "n_jobs=2":
        search, grid = make_search(w, n_threads=None, n_jobs=2, **kw)
        t0 = time.perf_counter()
        search.fit(X, y, groups=groups)
        wall = time.perf_counter() - t0
    elif backend == "dask":
        import dask
        from dask.distributed import Client, LocalCluster

        # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which
        # slows torch training down (benchmarks/README.md); keep glibc's default.
        environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
        if not args.dask_malloc_trim:
            environ.pop("MALLOC_TRIM_THRESHOLD_", None)
        t0 = time.perf_counter()
        with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
            cluster = LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=40,
            )
        client = Client(cluster)
        setup_s = time.perf_counter() - t0
        try:
            search, grid = make_search(w, n_threads=1, n_jobs=2, **kw)
            t0 = time.perf_counter()
            with joblib.parallel_config(backend="dask"):
                search.fit(X, y, groups=groups)
            wall = time.perf_counter() - t0
        finally:
            client.close()
            cluster.close()
    else:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    res = search.cv_results_
    task_s = float(np.sum(res["mean_fit_time"] + res["mean_score_time"]) * args.cv)
    best = int(np.argmin(res["rank_test_score"]))
    rec = {
        "backend": backend,
        "workers": n_workers,
        "wall_s": float(wall),
        "setup_s": float(setup_s),
        "n_candidates": len(res["params"]),
        "n_fits": len(res["params"]) * args.cv,
        "sum_task_s": task_s,
        "efficiency": task_s / (wall * n_workers),
        "best_params": {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in res["params"][best].items()
        },
        "best_macro_f1": float(res["mean_test_score"][best]),
        "mean_test_score": [float(s) for s in res["mean_test_score"]],
        "grid": grid,
        **_common.environment("cpu"),
    }
    log(
        f"  {backend:<9} wall {wall:7.1f} s (setup {setup_s:.1f} s), "
        f"{rec['n_fits']} fits, tasks {task_s:.1f} s, "
        f"efficiency {rec['efficiency']:.2f}, best macro-F1 "
        f"{rec['best_macro_f1']:.3f}"
    )
    return rec


def plot(rows, path, title):
    """Bar chart of the wall time per backend, with the ideal 2-worker time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    names = [r["backend"] for r in rows]
    ax.bar(names, [r["wall_s"] for r in rows], color="tab:blue", label="search fit")
    ax.bar(
        names,
        [r["setup_s"] for r in rows],
        bottom=[r["wall_s"] for r in rows],
        color="tab:gray",
        label="cluster start",
    )
    serial = next((r for r in rows if r["backend"] == "n_jobs=1"), None)
    if serial is not None:
        ax.axhline(
            serial["wall_s"] / 2,
            ls="--",
            color="k",
            lw=1,
            label="n_jobs=1 time / 2 (ideal 2 workers)",
        )
    top = max(r["wall_s"] + r["setup_s"] for r in rows)
    ax.set_ylim(0, 1.45 * top)
    ax.set_ylabel("wall time (s)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    fig.tight_layout()
    _common.save_figure(fig, path)


def parse_args(argv=None):
    """Command-line options."""
    p = _common.argument_parser(__doc__)
    p.add_argument("--backends", nargs="+", default=BACKENDS, choices=BACKENDS)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--cv", type=int, default=3, help="grouped CV folds")
    p.add_argument("--n-copies", type=int, default=15, help="augmented copies")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--dask-malloc-trim",
        action="store_true",
        help="keep Dask's MALLOC_TRIM_THRESHOLD_=65536 for its workers "
        "(default: glibc's own threshold)",
    )
    _common.add_output_options(
        p,
        quick_help="smoke setting: tiny net, 1 epoch, 2 candidates, ~60 spectra, "
        "2 folds",
    )
    return p.parse_args(argv)


def main(argv=None):
    """Run the benchmark; return the result rows."""
    args = parse_args(argv)
    if args.quick:
        args.epochs, args.cv, args.n_copies = 1, 2, 1
    X, y, groups, w = _common.load_data(args.data_path, quick=args.quick)
    cache = _common.ResultCache(args.cache_dir, enabled=not args.no_cache)
    settings = {
        "bench": "gridsearch",
        "epochs": args.epochs,
        "cv": args.cv,
        "n_copies": args.n_copies,
        "quick": args.quick,
        "data": _common.data_fingerprint(X, y),
    }
    label = (
        "QUICK setting"
        if args.quick
        else "default setting"
        if args.epochs == 8
        else f"{args.epochs} epochs"
    )
    print(
        f"GridSearchCV ({label}): {X.shape[0]} spectra, {args.epochs} epochs, "
        f"{args.cv} grouped folds, n_copies={args.n_copies}"
    )
    rows = []
    for backend in args.backends:
        key = settings
        if backend == "dask" and not args.dask_malloc_trim:
            # records made with Dask's trim threshold keep the plain key
            key = {**settings, "dask_malloc_trim": False}
        rec = cache.get("gridsearch", key, args.seed, backend)
        if rec is None:
            rec = cache.put(
                "gridsearch",
                key,
                args.seed,
                backend,
                run_backend(backend, X, y, groups, w, args),
            )
        rows.append(rec)
    ref = next((r for r in rows if r["backend"] == "n_jobs=1"), None)
    for r in rows:
        r["quick"] = args.quick
        r["speedup_vs_n_jobs_1"] = ref["wall_s"] / r["wall_s"] if ref else None
        r["max_score_diff_vs_n_jobs_1"] = (
            float(
                np.max(
                    np.abs(np.subtract(r["mean_test_score"], ref["mean_test_score"]))
                )
            )
            if ref
            else None
        )
    columns = [
        ("backend", lambda r: r["backend"]),
        ("workers", lambda r: r["workers"]),
        ("fits", lambda r: r["n_fits"]),
        ("wall s", lambda r: f"{r['wall_s']:.1f}"),
        ("cluster start s", lambda r: f"{r['setup_s']:.1f}"),
        ("summed task s", lambda r: f"{r['sum_task_s']:.1f}"),
        ("efficiency", lambda r: f"{r['efficiency']:.2f}"),
        (
            "speed-up vs n_jobs=1",
            lambda r: (
                "-"
                if r["speedup_vs_n_jobs_1"] is None
                else f"{r['speedup_vs_n_jobs_1']:.2f}"
            ),
        ),
        ("best macro-F1", lambda r: f"{r['best_macro_f1']:.3f}"),
        (
            "max |score diff|",
            lambda r: (
                "-"
                if r["max_score_diff_vs_n_jobs_1"] is None
                else f"{r['max_score_diff_vs_n_jobs_1']:.1e}"
            ),
        ),
    ]
    table = _common.markdown_table(rows, columns)
    print()
    print(table)
    best = rows[0]["best_params"] if rows else {}
    _common.write_json(args.out_dir / "gridsearch.json", rows)
    head = (
        f"# bench_gridsearch ({label})\n\n"
        f"Machine: {_common.machine_description()}. Command: "
        f"`python benchmarks/bench_gridsearch.py {' '.join(sys.argv[1:])}`.\n\n"
        f"{rows[0]['n_candidates'] if rows else 0} candidates x {args.cv} grouped "
        f"folds, {args.epochs} epoch(s), {X.shape[0]} spectra, "
        f"n_copies={args.n_copies}, refit=False. Best setting: {best}.\n"
        "efficiency = summed fit+score task time / (wall x workers).\n\n"
    )
    _common.write_text(args.out_dir / "gridsearch.md", head + table + "\n")
    if rows:
        plot(
            rows,
            args.out_dir / "gridsearch.png",
            f"GridSearchCV wall time ({label}, {_common.machine_description()})",
        )
    print(f"\nwrote {args.out_dir / 'gridsearch.json'} (.md, .png)")
    return rows


if __name__ == "__main__":
    main()
