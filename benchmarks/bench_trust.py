"""Trust numbers of the main job's recipe, pooled over seeds, with bootstrap intervals.

For each seed the main job's committee (``raman_sk.reproduce``'s cv-committee
recipe with its default settings: grouped 5-fold by molecule over all
spectra) is fitted once on every spectrum; its out-of-fold probabilities are
pooled over the seeds (3 seeds x 194 spectra = 582 rows) and judged on

1. calibration: top-label ECE (10 equal-width bins), Brier score and log-loss
   before and after temperature scaling, and macro-F1 (the label never
   changes). "After" is cross-fitted per seed: each fold's temperature is
   fitted on the other folds' out-of-fold rows of the same seed
   (:func:`raman_sk.calibration.cross_fit_calibration`);
2. split-conformal prediction sets, cross-fitted the same way, for each
   alpha of :data:`ALPHAS`: marginal and per-class coverage, mean set size;
3. the out-of-domain check exactly as the main job fits it
   (:func:`raman_sk.reproduce._committee.fit_checkers`) and evaluates it
   (:func:`raman_sk.ood.evaluate_ood`, generator seed = the run's seed, so the
   synthetic sets differ between seeds): flagged fraction of the out-of-fold
   database spectra (``ood_fpr_database``), of the raw in-domain check set
   and of each synthetic foreign family, with its AUROC against the raw
   in-domain set.

Every interval is the 2.5-97.5 % percentile range of a bootstrap over the
pooled rows; rows that are database spectra (or raw versions of them) are
resampled with their molecule as a cluster, over the seeds together (one
molecule's rows of every seed move as one block); synthetic foreign spectra
are resampled one by one within their family.

The fitted pipelines are cached per seed (``save_pipeline`` directories under
``<out>/cache/trust_models/``, git-ignored) with their out-of-fold arrays
(``<out>/cache/trust/``); a rerun never refits a cached seed. The
out-of-domain evaluation is recomputed from the cached models on every run
(cheap), so a change of the checker is measured by simply running it again.

Usage::

    python benchmarks/bench_trust.py                       # seeds 0 1 2
    python benchmarks/bench_trust.py --report-only         # from the cache only
    python benchmarks/bench_trust.py --quick --out /tmp/x  # tiny network, smoke run
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from raman_sk.utils._files import (
    atomic_write,
    json_bytes,
    write_npz,
    write_png,
    write_text,
)
from raman_sk.utils._versions import cpu_info, versions

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
#: Bumped when the cached arrays change meaning (part of the cache key).
CACHE_FORMAT = 1
#: Miscoverage levels of the conformal sets; the target is set at TARGET_ALPHA.
ALPHAS = (0.05, 0.1, 0.2)
TARGET_ALPHA = 0.1
N_BINS = 10
N_BOOT = 2000
BOOT_SEED = 0
#: Percentiles of the bootstrap interval.
LEVELS = (2.5, 97.5)
#: Targets of the trust issue: key -> (kind, bound(s), text).
TARGETS = {
    "ece": ("max", 0.05, "ECE <= 0.05 after temperature scaling, macro-F1 unchanged"),
    "coverage": ("range", (0.87, 0.93), "coverage 0.90 ± 0.03 at alpha 0.1"),
    "set_size": ("max", 1.3, "mean set size <= 1.3 at alpha 0.1"),
    "ood_fpr_database": ("max", 0.05, "out-of-fold database flagged <= 5 %"),
    "raw_in_domain": ("max", 0.10, "raw in-domain check set flagged <= 10 %"),
    "foreign": ("min", 0.95, "synthetic foreign flagged >= 95 %"),
}
IN_DOMAIN = ("database_oof", "raw_in_domain")
#: The raw in-domain check set as another instrument would give it (reported, no
#: target): name -> (options of ``raman_sk.ood.raw_in_domain``, description).
RAW_VARIANTS = {
    "none": ({}, "as above (no change)"),
    "broader_4": ({"broaden": 4.0}, "bands broadened by a Gaussian, sigma 4 cm-1"),
    "response_0.3": ({"response": 0.3},
                     "a smooth spectral response changing heights by up to 30 %"),
    "spike_1": ({"spike": 1.0}, "one cosmic-ray point as tall as the band range"),
    "spike_3": ({"spike": 3.0}, "one cosmic-ray point 3x the band range"),
    "spike_10": ({"spike": 10.0}, "one cosmic-ray point 10x the band range"),
    "noise_0.05": ({"noise": 0.05},
                   "white noise of 5 % of the band range added (signal-to-noise 20)"),
    "noise_0.1": ({"noise": 0.1},
                  "white noise of 10 % of the band range added (signal-to-noise 10)"),
    "fluorescence_20": ({"fluorescence": 20.0},
                        "a broad fluorescence hump 20x the band range added"),
    "water_1": ({"water": 1.0},
                "liquid water's bending band (1640 cm-1, FWHM 90 cm-1) as tall as "
                "the band range added (a sample in solution)"),
    "shift_5": ({"shift": 5.0},
                "the axis calibration off by up to 5 cm-1 (uniform, either sign)"),
    "missing_150_edge": ({"missing": 150.0, "coverage": "edge"},
                         "no data below 600 cm-1, the gap filled with the edge "
                         "intensity (coverage='edge')"),
    "missing_150_fill": ({"missing": 150.0, "coverage": "fill"},
                         "no data below 600 cm-1, the gap filled with 0 "
                         "(coverage='fill')"),
}
#: Row labels of the out-of-domain sets whose key is not self-explaining.
LABELS = {"database_oof": "database, out of fold",
          "raw_in_domain": "raw in-domain check set",
          "all_foreign": "all synthetic foreign"}


def label(name):
    """Readable name of an out-of-domain set."""
    return LABELS.get(name, name.replace("_", " "))


def log(msg):
    """Print a progress line with the time."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------ bootstrap
def cluster_index(labels):
    """Integer cluster id of each row and the number of clusters."""
    _, idx = np.unique(np.asarray(labels).astype(str), return_inverse=True)
    return idx.ravel(), int(idx.max()) + 1 if idx.size else 0


def bootstrap_draws(stat, strata, *, n_boot=N_BOOT, seed=BOOT_SEED):
    """Statistics of cluster-bootstrap resamples, as row weights.

    Each stratum is resampled on its own: its clusters are drawn with
    replacement (as many as it has) and every row gets the number of times
    its cluster was drawn as its weight.

    Parameters
    ----------
    stat : callable
        ``stat(*weights) -> array-like of shape (n_stats,)``, one weight
        vector per stratum (all ones: the observed rows).
    strata : list of array-like
        Cluster label of each row, one array per stratum.
    n_boot : int, default=N_BOOT
        Resamples.
    seed : int, default=BOOT_SEED
        Seed of the generator.

    Returns
    -------
    ndarray of shape (n_boot, n_stats)
    """
    rng = np.random.default_rng(seed)
    index = [cluster_index(s) for s in strata]
    draws = []
    for _ in range(n_boot):
        weights = [
            np.bincount(rng.integers(0, k, k), minlength=k)[idx].astype(np.float64)
            for idx, k in index
        ]
        draws.append(np.atleast_1d(np.asarray(stat(*weights), dtype=np.float64)))
    return np.asarray(draws)


def percentile_interval(draws, levels=LEVELS):
    """2.5 and 97.5 % percentiles of each column of ``draws`` (NaNs ignored)."""
    draws = np.asarray(draws, dtype=np.float64)
    if draws.ndim == 1:
        draws = draws[:, None]
    lo, hi = np.nanpercentile(draws, levels, axis=0)
    return lo, hi


def summarise(stat, strata, names, **kwargs):
    """Value and bootstrap interval of each named statistic.

    Returns
    -------
    dict
        name -> ``{"value", "low", "high"}``.
    """
    ones = [np.ones(len(s)) for s in strata]
    value = np.atleast_1d(np.asarray(stat(*ones), dtype=np.float64))
    lo, hi = percentile_interval(bootstrap_draws(stat, strata, **kwargs))
    return {
        n: {"value": float(v), "low": float(a), "high": float(b)}
        for n, v, a, b in zip(names, value, lo, hi, strict=True)
    }


def weighted_mean(values, w):
    """Weighted mean; NaN when the weights sum to zero."""
    total = float(np.sum(w))
    return float(np.dot(w, values) / total) if total > 0 else float("nan")


def weighted_ece(confidence, correct, w, n_bins=N_BINS):
    """Top-label ECE with row weights (the bins of ``expected_calibration_error``)."""
    b = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    gap = np.bincount(b, weights=w * (correct - confidence), minlength=n_bins)
    return float(np.abs(gap).sum() / np.sum(w))


def weighted_macro_f1(y_idx, pred_idx, w, n_classes):
    """Macro-F1 with row weights over the classes that occur (true or predicted)."""
    support = np.bincount(y_idx, weights=w, minlength=n_classes)
    predicted = np.bincount(pred_idx, weights=w, minlength=n_classes)
    tp = np.bincount(y_idx, weights=w * (y_idx == pred_idx), minlength=n_classes)
    denom = support + predicted
    present = denom > 0
    return float(np.mean(2 * tp[present] / denom[present]))


def auroc_matrix(scores_in, scores_out):
    """Pairwise win matrix (1, 0.5 on ties) of out- over in-domain scores.

    Scores are cleaned as :func:`raman_sk.ood.evaluate_ood` does (NaN counts
    as the most foreign, infinities as large finite values).
    """
    s_in, s_out = (np.nan_to_num(np.asarray(s, dtype=np.float64), nan=np.inf,
                                 posinf=1e12) for s in (scores_in, scores_out))
    diff = s_out[None, :] - s_in[:, None]
    return (diff > 0) + 0.5 * (diff == 0)


def weighted_auroc(matrix, w_in, w_out):
    """AUROC of a win matrix with row weights of the in- and out-of-domain rows."""
    total = float(np.sum(w_in) * np.sum(w_out))
    return float(w_in @ matrix @ w_out / total) if total > 0 else float("nan")


# -------------------------------------------------------------------- verdicts
def verdict(key, value, low=None, high=None, *, extra_ok=True):
    """One line: whether a target is met by the value, and by its whole interval.

    Parameters
    ----------
    key : str
        A key of :data:`TARGETS`.
    value : float
        The pooled value.
    low, high : float, default=None
        Its bootstrap interval.
    extra_ok : bool, default=True
        A further condition of the target (macro-F1 unchanged for the ECE).

    Returns
    -------
    dict
        ``target`` (text), ``met`` (bool), ``interval_inside`` (bool or None:
        the whole interval meets the bound) and ``line``.
    """
    kind, bound, text = TARGETS[key]

    def ok(v):
        if v is None or not np.isfinite(v):
            return False
        if kind == "max":
            return v <= bound
        if kind == "min":
            return v >= bound
        return bound[0] <= v <= bound[1]

    met = bool(ok(value) and extra_ok)
    inside = None
    if low is not None and high is not None:
        inside = bool(ok(low) and ok(high) and extra_ok)
    line = f"{text}: **{'met' if met else 'not met'}**"
    if inside is not None:
        if met and not inside:
            line += " (the 95 % interval crosses the bound)"
        elif not met and (ok(low) or ok(high)):
            line += " (the 95 % interval reaches the target)"
        elif met:
            line += " (the whole 95 % interval meets it)"
    if not extra_ok:
        line += " (its side condition fails)"
    return {"target": text, "met": met, "interval_inside": inside, "line": line}


# ------------------------------------------------------------------- settings
def make_settings(seed, *, quick, threads, noise_std=None):
    """Return the main job's settings of one seed (its defaults, or its quick run)."""
    from raman_sk.reproduce._settings import Settings

    extra = {} if noise_std is None else {"noise_std": noise_std}
    return Settings.make(seed=seed, threads=threads, quick=quick, **extra)


def cache_key(settings, fingerprint):
    """Hash of everything that defines a seed's fit (threads only set its speed)."""
    from _common import main_job_key

    config = main_job_key(settings)
    text = json.dumps(
        {"settings": config, "data": fingerprint, "format": CACHE_FORMAT},
        sort_keys=True, default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# ------------------------------------------------------------------- fitting
def seed_paths(out, seed, key):
    """Model directory and array files of one seed."""
    stem = f"seed{seed}-{key}"
    trust = out / "cache" / "trust"
    return {
        "model": out / "cache" / "trust_models" / stem,
        "arrays": trust / f"{stem}.npz",
        "meta": trust / f"{stem}.json",
        "ood_arrays": trust / f"{stem}-ood.npz",
        "ood_meta": trust / f"{stem}-ood.json",
    }


def fit_seed(data, settings, model_dir):
    """Fit the committee pipeline of one seed and save it; return its seconds."""
    from raman_sk import save_pipeline
    from raman_sk.reproduce._committee import fit_committee
    from raman_sk.reproduce._steps import drop_callbacks

    start = time.perf_counter()
    pipe = fit_committee(data, settings)
    seconds = time.perf_counter() - start
    drop_callbacks(pipe)
    partial = model_dir.with_name(model_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    save_pipeline(pipe, partial)
    shutil.rmtree(model_dir, ignore_errors=True)
    partial.rename(model_dir)  # complete or absent: a killed run leaves no model
    return seconds


def oof_arrays(pipe, data):
    """Out-of-fold probabilities (columns in ``data.classes``) and folds."""
    from raman_sk import evaluation
    from raman_sk.reproduce._committee import _oof_proba

    committee = pipe[-1]
    folds = evaluation.check_folds(committee.oof_fold_, data.groups)
    proba, _ = _oof_proba(committee, data)
    return {
        "proba": proba,
        "folds": np.asarray(folds, dtype=np.int64),
        "y": np.asarray(data.y).astype(str),
        "groups": np.asarray(data.groups).astype(str),
        "classes": np.asarray(data.classes, dtype=str),
    }


def load_npz(path):
    """Arrays of an NPZ file as a dict (no pickle)."""
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def seed_record(data, seed, args, fingerprint):
    """Fit (or load) one seed and evaluate its out-of-domain check.

    Returns
    -------
    dict or None
        ``seed``, ``meta`` (fit), ``arrays`` (out of fold), ``ood_meta`` and
        ``ood`` (per-row arrays); None with ``--report-only`` and no cache.
    """
    from raman_sk import load_pipeline

    settings = make_settings(seed, quick=args.quick, threads=args.threads,
                             noise_std=args.noise_std)
    key = cache_key(settings, fingerprint)
    paths = seed_paths(args.out, seed, key)
    have_model = (paths["model"] / "pipeline.json").is_file()
    if not have_model and args.report_only:
        if not paths["arrays"].is_file():
            log(f"seed {seed}: not cached ({paths['arrays'].name}), skipped")
            return None
        log(f"seed {seed}: no model in the cache, the stored out-of-domain "
            "arrays are used")
        return {
            "seed": seed,
            "meta": json.loads(paths["meta"].read_text(encoding="utf-8")),
            "arrays": load_npz(paths["arrays"]),
            "ood_meta": json.loads(paths["ood_meta"].read_text(encoding="utf-8")),
            "ood": load_npz(paths["ood_arrays"]),
        }
    meta = None
    if not have_model:
        log(f"seed {seed}: fitting the committee ({settings.cv} folds, "
            f"{settings.epochs} epochs, {settings.n_copies} copies, "
            f"{settings.precision})")
        seconds = fit_seed(data, settings, paths["model"])
        meta = {
            "seed": seed,
            "key": key,
            "settings": dataclasses.asdict(settings),
            "fit_s": seconds,
            "cpu": cpu_info()["summary"],
            "versions": versions(),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        atomic_write(paths["meta"], json_bytes(meta))
        log(f"seed {seed}: fitted in {seconds:.0f} s")
    else:
        log(f"seed {seed}: cached model ({paths['model'].name})")
    pipe = load_pipeline(paths["model"])
    arrays = oof_arrays(pipe, data)
    if not paths["arrays"].is_file() or meta is not None:
        write_npz(paths["arrays"], arrays)
    if meta is None:
        meta = json.loads(paths["meta"].read_text(encoding="utf-8"))
    start = time.perf_counter()
    ood_meta, ood_rows = evaluate_seed_ood(pipe, data, seed)
    ood_meta["seconds"] = time.perf_counter() - start
    write_npz(paths["ood_arrays"], ood_rows)
    atomic_write(paths["ood_meta"], json_bytes(ood_meta))
    log(f"seed {seed}: out-of-domain evaluation {ood_meta['seconds']:.0f} s, "
        f"per-row replication {'agrees' if ood_meta['rows_agree'] else 'DIFFERS'}")
    return {"seed": seed, "meta": meta, "arrays": arrays, "ood_meta": ood_meta,
            "ood": ood_rows}


# ------------------------------------------------------------- out-of-domain
def rows_agree(table, rows):
    """Whether the per-row arrays give ``evaluate_ood``'s table, family by family."""
    fam = rows["foreign_family"]
    for r in table:
        name = r["family"]
        if name == "database_oof":
            flags, auc = rows["database_flag"], None
        elif name == "raw_in_domain":
            flags, auc = rows["raw_flag"], None
        else:
            sel = np.ones(fam.shape, bool) if name == "all_foreign" else fam == name
            flags = rows["foreign_flag"][sel]
            m = auroc_matrix(rows["raw_score"], rows["foreign_score"][sel])
            auc = weighted_auroc(m, np.ones(m.shape[0]), np.ones(m.shape[1]))
        if len(flags) != r["n"] or abs(float(np.mean(flags)) - r["flagged"]) > 1e-9:
            return False
        if auc is not None and not (abs(auc - r["auroc"]) <= 1e-9):
            return False
    return True


def evaluate_seed_ood(pipe, data, seed):
    """Fit the main job's checker on a seed's committee and evaluate it.

    Returns
    -------
    meta : dict
        ``table`` (rows of ``evaluate_ood``), ``checker`` (the main job's
        record of the limits), ``generator_seed`` and ``rows_agree``.
    rows : dict
        Per-row arrays: ``database_flag`` and those of
        :func:`raman_sk.ood.ood_scores`.
    """
    from raman_sk.ood import ood_scores, ood_table
    from raman_sk.reproduce._committee import fit_checkers
    from raman_sk.reproduce._steps import network_grid

    pre = pipe[:-1]
    X_grid = pre.transform(data.X)
    checker, _, record = fit_checkers(pipe, X_grid, data.groups)
    grid = network_grid(pre, X_grid)
    grid = np.asarray(data.wavenumbers) if grid is None else grid
    # the main job's evaluation with its own seed (the synthetic sets differ
    # between seeds), kept per row for the bootstrap
    scores = ood_scores(pipe, checker, np.asarray(data.wavenumbers, dtype=np.float64),
                        np.asarray(data.X, dtype=np.float64), grid, seed=seed)
    table = ood_table(checker, scores).to_dict(orient="records")
    rows = {"database_flag": checker.database_flags_, **scores}
    rows.update(raw_variant_rows(pipe, checker, data, grid, seed))
    meta = {
        "seed": seed,
        "generator_seed": seed,
        "table": table,
        "checker": record,
        "rows_agree": rows_agree(table, rows),
    }
    return meta, rows


def held_out_correct(pipe, pairs, y):
    """Whether each raw database spectrum is classified right by its fold's member."""
    committee = pipe[-1]
    X_grid = pipe[:-1].transform(pairs)
    pred = np.empty(len(pairs), dtype=object)
    for k, member in enumerate(committee.estimators_):
        rows = np.flatnonzero(committee.oof_fold_ == k)
        pred[rows] = member.predict(X_grid[rows])
    return pred.astype(str) == np.asarray(y).astype(str)


def raw_variant_rows(pipe, checker, data, grid, seed):
    """Flag and held-out correctness of each raw variant, with and without despiking.

    "Without" drops the pipeline's ``SpikeRemover`` (same networks) and fits
    the checker again on that pipeline's view of the database.
    """
    from sklearn.pipeline import Pipeline

    from raman_sk.ood import raw_in_domain, score_held_out
    from raman_sk.reproduce._committee import fit_checkers

    plain = Pipeline([(n, s) for n, s in pipe.steps if n != "spikeremover"])
    views = {"": (pipe, checker)}
    if len(plain.steps) < len(pipe.steps):
        views["_nodespike"] = (plain, fit_checkers(plain,
                                                   plain[:-1].transform(data.X),
                                                   data.groups)[0])
    # the views share the pipeline's steps: one resampler serves both
    resampler = pipe[0]
    saved = resampler.get_params()["coverage"]
    rows = {}
    try:
        for name, (options, _) in RAW_VARIANTS.items():
            options = dict(options)
            resampler.set_params(coverage=options.pop("coverage", saved))
            pairs = raw_in_domain(np.asarray(data.wavenumbers, dtype=np.float64),
                                  np.asarray(data.X, dtype=np.float64), grid,
                                  seed=seed, **options)
            for tag, (p, c) in views.items():
                rows[f"variant_{name}{tag}"] = score_held_out(p, c, pairs)[1]
                rows[f"variant_{name}{tag}_correct"] = held_out_correct(p, pairs,
                                                                        data.y)
    finally:
        resampler.set_params(coverage=saved)
    return rows


# ------------------------------------------------------------------- pooling
def pooled_calibration(records, *, n_boot, boot_seed):
    """Cross-fitted calibration and conformal sets, pooled over the seeds.

    Returns
    -------
    dict
        ``calibration`` (metric -> value and interval), ``conformal`` (alpha
        -> coverage, set size, per-class coverage), ``per_seed`` (the library's
        own per-seed numbers), ``macro_f1_unchanged`` and the pooled arrays
        under ``_arrays`` (for the figures).
    """
    from raman_sk.calibration import (
        brier_score,
        cross_fit_calibration,
        expected_calibration_error,
        log_loss,
    )

    classes = [str(c) for c in records[0]["arrays"]["classes"]]
    K = len(classes)
    y, groups, unc, cal = [], [], [], []
    covered = {a: [] for a in ALPHAS}
    sizes = {a: [] for a in ALPHAS}
    per_seed = []
    for rec in records:
        a = rec["arrays"]
        seed_row = {"seed": rec["seed"]}
        for alpha in ALPHAS:
            out = cross_fit_calibration(a["y"], a["proba"], classes, a["folds"],
                                        alpha=alpha)
            sets = out.pop("sets")
            idx = np.searchsorted(classes, a["y"])
            covered[alpha].append(sets[np.arange(len(idx)), idx])
            sizes[alpha].append(sets.sum(axis=1))
            if alpha == TARGET_ALPHA:
                cal.append(out.pop("calibrated"))
                seed_row.update({k: out[k] for k in (
                    "ece_uncalibrated", "ece", "brier_uncalibrated", "brier",
                    "log_loss_uncalibrated", "log_loss", "temperature_folds")})
            seed_row[f"coverage_{alpha}"] = out["conformal_coverage"]
            seed_row[f"mean_set_size_{alpha}"] = out["conformal_mean_set_size"]
        per_seed.append(seed_row)
        y.append(a["y"])
        groups.append(a["groups"])
        unc.append(a["proba"])
    y, groups = np.concatenate(y), np.concatenate(groups)
    unc, cal = np.concatenate(unc), np.concatenate(cal)
    y_idx = np.searchsorted(classes, y)
    rows = np.arange(len(y))

    def parts(p):
        pred = p.argmax(axis=1)
        onehot = np.zeros_like(p)
        onehot[rows, y_idx] = 1.0
        brier = ((p - onehot) ** 2).sum(axis=1)
        ll = -np.log(np.maximum(p[rows, y_idx] / p.sum(axis=1), 1e-300))
        return p.max(axis=1), (pred == y_idx).astype(float), brier, ll, pred

    pu, pc = parts(unc), parts(cal)

    def stat(w):
        return [
            weighted_ece(pu[0], pu[1], w), weighted_ece(pc[0], pc[1], w),
            weighted_mean(pu[2], w), weighted_mean(pc[2], w),
            weighted_mean(pu[3], w), weighted_mean(pc[3], w),
            weighted_macro_f1(y_idx, pu[4], w, K),
            weighted_macro_f1(y_idx, pc[4], w, K),
        ]

    names = ["ece_uncalibrated", "ece", "brier_uncalibrated", "brier",
             "log_loss_uncalibrated", "log_loss", "macro_f1_uncalibrated",
             "macro_f1"]
    calibration = summarise(stat, [groups], names, n_boot=n_boot, seed=boot_seed)
    # the weighted forms must equal the library's metrics on the pooled rows
    from sklearn.metrics import f1_score

    check = {
        "ece_uncalibrated": expected_calibration_error(y, unc, classes),
        "ece": expected_calibration_error(y, cal, classes),
        "brier_uncalibrated": brier_score(y, unc, classes),
        "brier": brier_score(y, cal, classes),
        "log_loss_uncalibrated": log_loss(y, unc, classes),
        "log_loss": log_loss(y, cal, classes),
        "macro_f1": f1_score(y, np.asarray(classes)[pc[4]], labels=classes,
                             average="macro"),
    }
    for k, v in check.items():
        if abs(calibration[k]["value"] - v) > 1e-9:
            raise RuntimeError(f"pooled {k} {calibration[k]['value']} != {v}")
    conformal = {}
    for alpha in ALPHAS:
        cov = np.concatenate(covered[alpha]).astype(float)
        size = np.concatenate(sizes[alpha]).astype(float)
        masks = [(y == c).astype(float) for c in classes]

        def cstat(w, cov=cov, size=size, masks=masks):
            return [weighted_mean(cov, w), weighted_mean(size, w)] + [
                weighted_mean(cov, w * m) for m in masks]

        s = summarise(cstat, [groups], ["coverage", "mean_set_size", *classes],
                      n_boot=n_boot, seed=boot_seed)
        conformal[str(alpha)] = {
            "alpha": alpha,
            "coverage": s["coverage"],
            "mean_set_size": s["mean_set_size"],
            "set_size_counts": {int(k): int(np.sum(size == k))
                                for k in np.unique(size)},
            "per_class_coverage": {c: s[c] for c in classes},
            "per_class_n": {c: int(np.sum(y == c)) for c in classes},
            "per_class_molecules": {c: int(len(np.unique(groups[y == c])))
                                    for c in classes},
        }
    unchanged = bool(np.array_equal(pu[4], pc[4]))
    return {
        "calibration": calibration,
        "macro_f1_unchanged": unchanged,
        "conformal": conformal,
        "per_seed": per_seed,
        "classes": classes,
        "n_rows": int(len(y)),
        "n_molecules": int(len(np.unique(groups))),
        "_arrays": {"y": y, "unc": unc, "cal": cal, "classes": classes},
    }


def pooled_ood(records, *, n_boot, boot_seed):
    """Pool the flagged fractions and AUROCs over the seeds, with intervals.

    The AUROC of a family is computed within each seed (its foreign spectra
    against that seed's raw in-domain set, as ``evaluate_ood``) and averaged
    over the seeds. Intervals need the per-row arrays to reproduce
    ``evaluate_ood``'s table; where they do not (the checker changed), the
    table's values are pooled and the intervals are left out.
    """
    from raman_sk.ood import FOREIGN_FAMILIES

    agree = all(r["ood_meta"]["rows_agree"] for r in records)
    groups = np.concatenate([r["arrays"]["groups"] for r in records])
    families = [f for f in FOREIGN_FAMILIES
                if any(f == t["family"] for t in records[0]["ood_meta"]["table"])]
    descriptions = {t["family"]: t["description"]
                    for t in records[0]["ood_meta"]["table"]}
    out = {}
    if not agree:
        for name in [*IN_DOMAIN, *families, "all_foreign"]:
            ts = [next(t for t in r["ood_meta"]["table"] if t["family"] == name)
                  for r in records]
            n = sum(t["n"] for t in ts)
            out[name] = {
                "n": n,
                "flagged": {"value": sum(t["flagged"] * t["n"] for t in ts) / n,
                            "low": None, "high": None},
                "auroc": None if name in IN_DOMAIN else {
                    "value": float(np.mean([t["auroc"] for t in ts])),
                    "low": None, "high": None},
                "description": descriptions[name],
            }
        return {"families": out, "rows_agree": False}
    db = np.concatenate([r["ood"]["database_flag"] for r in records]).astype(float)
    raw = np.concatenate([r["ood"]["raw_flag"] for r in records]).astype(float)
    seeds_in = np.concatenate([np.full(len(r["ood"]["raw_flag"]), i)
                               for i, r in enumerate(records)])
    s = summarise(lambda w: [weighted_mean(db, w), weighted_mean(raw, w)],
                  [groups], list(IN_DOMAIN), n_boot=n_boot, seed=boot_seed)
    for name in IN_DOMAIN:
        out[name] = {"n": int(len(db)), "flagged": s[name], "auroc": None,
                     "description": descriptions[name]}
    variants = {}
    for name, (_, text) in RAW_VARIANTS.items():
        entry = {"description": text}
        for tag in ("", "_nodespike"):
            keys = [f"variant_{name}{tag}", f"variant_{name}{tag}_correct"]
            if not all(k in r["ood"] for r in records for k in keys):
                continue  # arrays stored before the variants existed
            flags, right = (np.concatenate([r["ood"][k] for r in records]).astype(float)
                            for k in keys)
            v = summarise(lambda w, f=flags, c=right: [weighted_mean(f, w),
                                                       weighted_mean(c, w)],
                          [groups], ["flagged", "accuracy"], n_boot=n_boot,
                          seed=boot_seed)
            entry.update({"n": int(len(flags)), f"flagged{tag}": v["flagged"],
                          f"accuracy{tag}": v["accuracy"]})
        if "n" in entry:
            variants[name] = entry
    for name in [*families, "all_foreign"]:
        flags, mats, seeds_out = [], [], []
        for i, r in enumerate(records):
            fam = r["ood"]["foreign_family"]
            sel = np.ones(fam.shape, bool) if name == "all_foreign" else fam == name
            flags.append(r["ood"]["foreign_flag"][sel].astype(float))
            mats.append(auroc_matrix(r["ood"]["raw_score"],
                                     r["ood"]["foreign_score"][sel]))
            seeds_out.append(np.full(int(sel.sum()), i))
        flags, seeds_out = np.concatenate(flags), np.concatenate(seeds_out)
        # foreign rows have no molecule: each is its own cluster within the set
        labels = np.char.add(np.char.add(seeds_out.astype(str), ":"),
                             np.arange(len(flags)).astype(str))

        def fstat(w_in, w_out, flags=flags, mats=mats, seeds_out=seeds_out):
            aucs = [weighted_auroc(m, w_in[seeds_in == i], w_out[seeds_out == i])
                    for i, m in enumerate(mats)]
            return [weighted_mean(flags, w_out), float(np.mean(aucs))]

        s = summarise(fstat, [groups, labels], ["flagged", "auroc"],
                      n_boot=n_boot, seed=boot_seed)
        out[name] = {"n": int(len(flags)), "flagged": s["flagged"],
                     "auroc": s["auroc"], "description": descriptions[name]}
    return {"families": out, "rows_agree": True, "raw_variants": variants}


# -------------------------------------------------------------------- output
def targets(cal, ood):
    """Verdict of every target of the trust issue, computed from the pooled values."""
    c = cal["calibration"]["ece"]
    conf = cal["conformal"][str(TARGET_ALPHA)]
    fam = ood["families"]
    out = {
        "ece": verdict("ece", c["value"], c["low"], c["high"],
                       extra_ok=cal["macro_f1_unchanged"]),
        "coverage": verdict("coverage", conf["coverage"]["value"],
                            conf["coverage"]["low"], conf["coverage"]["high"]),
        "set_size": verdict("set_size", conf["mean_set_size"]["value"],
                            conf["mean_set_size"]["low"],
                            conf["mean_set_size"]["high"]),
    }
    for key, name in (("ood_fpr_database", "database_oof"),
                      ("raw_in_domain", "raw_in_domain"), ("foreign", "all_foreign")):
        f = fam[name]["flagged"]
        out[key] = verdict(key, f["value"], f["low"], f["high"])
    out["foreign_families"] = {
        name: verdict("foreign", v["flagged"]["value"], v["flagged"]["low"],
                      v["flagged"]["high"])["met"]
        for name, v in fam.items() if name not in (*IN_DOMAIN, "all_foreign")
    }
    return out


def _ci(d, fmt="{:.3f}"):
    """``value [low, high]`` of a summary (no interval: the value alone)."""
    if d is None:
        return "–"
    if d.get("low") is None:
        return fmt.format(d["value"]) + " (no interval)"
    return (f"{fmt.format(d['value'])} [{fmt.format(d['low'])}, "
            f"{fmt.format(d['high'])}]")


def _pct(d):
    if d is None:
        return "–"
    if d.get("low") is None:
        return f"{100 * d['value']:.1f} % (no interval)"
    return (f"{100 * d['value']:.1f} % [{100 * d['low']:.1f}, "
            f"{100 * d['high']:.1f}]")


def markdown(result):
    """Render the trust report: header, verdicts, one table per part."""
    from _common import recipe_extras

    meta, cal, ood, tg = (result["meta"], result["calibration"], result["ood"],
                          result["targets"])
    c = cal["calibration"]
    seeds = ", ".join(str(s) for s in meta["seeds"])
    lines = [
        "# Trust of the main job's recipe: calibration, prediction sets, "
        "out-of-domain",
        "",
        f"The main job's default recipe (`{meta['recipe']}`: a committee of "
        f"{meta['cv']} networks over grouped {meta['cv']}-fold by molecule, "
        f"{meta['epochs']} epochs, {meta['n_copies']} augmented copies, label "
        f"smoothing {meta['label_smoothing']}"
        f"{recipe_extras(meta.get('settings', {}))}), "
        f"fitted once per seed ({seeds}) "
        f"on all {meta['n_spectra']} spectra; every number pools the seeds' "
        f"out-of-fold rows ({cal['n_rows']} = {len(meta['seeds'])} x "
        f"{meta['n_spectra']}, {cal['n_molecules']} molecules). Calibrated "
        "numbers and conformal sets are cross-fitted: each fold's temperature "
        "and threshold are fitted on the other folds' out-of-fold rows of the "
        "same seed. Intervals: 2.5-97.5 % percentiles of "
        f"{meta['n_boot']:,} bootstrap resamples (generator seed "
        f"{meta['boot_seed']}); database rows (and raw versions of them) are "
        "resampled by molecule, all seeds' rows of a molecule together; "
        "synthetic foreign spectra one by one within their family.",
        "",
        f"CPU: {meta['cpu']}; precision `{meta['precision']}`; "
        f"{meta['generated']}; raman_sk {meta['versions'].get('raman_sk')}, "
        f"torch {meta['versions'].get('torch')}, scikit-learn "
        f"{meta['versions'].get('scikit-learn')}. Generated by "
        "`python benchmarks/bench_trust.py`"
        + (" **--quick (tiny network: meaningless numbers)**" if meta["quick"]
           else "")
        + ".",
        "",
        "## Verdicts",
        "",
    ]
    lines += [f"- {tg[k]['line']}" for k in
              ("ece", "coverage", "set_size", "ood_fpr_database", "raw_in_domain",
               "foreign")]
    fam_ok = tg["foreign_families"]
    lines.append(
        "- per foreign family (>= 95 % flagged): "
        + ", ".join(f"{k} {'met' if v else 'not met'}" for k, v in fam_ok.items())
    )
    lines += [
        "",
        "## 1. Calibration (temperature scaling, cross-fitted)",
        "",
        "| metric | uncalibrated | calibrated | target |",
        "|---|---|---|---|",
        f"| top-label ECE ({N_BINS} equal-width bins) | "
        f"{_ci(c['ece_uncalibrated'])} | {_ci(c['ece'])} | <= 0.05 |",
        f"| Brier score | {_ci(c['brier_uncalibrated'])} | {_ci(c['brier'])} | – |",
        f"| log-loss (nats) | {_ci(c['log_loss_uncalibrated'])} | "
        f"{_ci(c['log_loss'])} | – |",
        f"| macro-F1 | {_ci(c['macro_f1_uncalibrated'])} | {_ci(c['macro_f1'])} | "
        "unchanged |",
        "",
        "Macro-F1 "
        + ("is unchanged: every row keeps its predicted class."
           if cal["macro_f1_unchanged"] else
           "CHANGED: some rows' predicted class differs after scaling.")
        + " Temperatures of the folds, per seed: "
        + "; ".join(
            f"seed {r['seed']} " + ", ".join(f"{t:.2f}" for t in r["temperature_folds"])
            for r in cal["per_seed"])
        + ".",
        "",
        "The ECE sums absolute gaps, so resampling adds to it: its bootstrap "
        "draws lie mostly above the pooled value and the interval leans upward.",
        "",
        "Per seed (ECE uncalibrated -> calibrated): "
        + "; ".join(f"seed {r['seed']} {r['ece_uncalibrated']:.3f} -> "
                    f"{r['ece']:.3f}" for r in cal["per_seed"])
        + ".",
        "",
        "## 2. Conformal prediction sets (split conformal, LAC score, cross-fitted)",
        "",
        "| alpha | nominal coverage | coverage | mean set size | target |",
        "|---|---|---|---|---|",
    ]
    for key, v in cal["conformal"].items():
        target = ("0.90 ± 0.03; size <= 1.3" if float(key) == TARGET_ALPHA
                  else "–")
        lines.append(
            f"| {v['alpha']} | {1 - v['alpha']:.2f} | {_ci(v['coverage'])} | "
            f"{_ci(v['mean_set_size'], '{:.2f}')} | {target} |"
        )
    classes = cal["classes"]
    first = next(iter(cal["conformal"].values()))
    small = min(classes, key=lambda c: first["per_class_n"][c])
    n_small = first["per_class_n"][small] // len(meta["seeds"])
    lines += [
        "",
        "Per-class coverage (no target: the guarantee is marginal over spectra, "
        "not per class). Rows are pooled over the seeds, so each class has "
        f"{len(meta['seeds'])} x its spectra; "
        + ", ".join(f"{c} {first['per_class_n'][c] // len(meta['seeds'])} spectra "
                    f"({first['per_class_molecules'][c]} molecules)"
                    for c in classes)
        + f". {small} has only {n_small} spectra: its coverage and interval rest "
        f"on {first['per_class_molecules'][small]} molecules.",
        "",
        "| alpha | " + " | ".join(classes) + " |",
        "|---|" + "---|" * len(classes),
    ]
    for v in cal["conformal"].values():
        lines.append(f"| {v['alpha']} | " + " | ".join(
            _ci(v["per_class_coverage"][c], "{:.2f}") for c in classes) + " |")
    lines += [
        "",
        "Set sizes at alpha " + str(TARGET_ALPHA) + " (rows): "
        + ", ".join(f"{k}: {n}" for k, n in
                    cal["conformal"][str(TARGET_ALPHA)]["set_size_counts"].items())
        + ".",
        "",
        "## 3. Out-of-domain check (the main job's checker, per seed)",
        "",
        "Limits set on each seed's out-of-fold database spectra only; the raw "
        "in-domain and synthetic foreign sets are generated by `raman_sk.ood` "
        "with the seed's own generator seed (so they differ between seeds) and "
        "used for evaluation only. AUROC: a family's `ood_score` against the "
        "raw in-domain set's, within each seed, averaged over the seeds.",
        "",
        "| spectra | n (pooled) | flagged | target | AUROC |",
        "|---|---|---|---|---|",
    ]
    target_of = {"database_oof": "<= 5 %", "raw_in_domain": "<= 10 %"}
    for name, v in ood["families"].items():
        text = label(name) + (" (`ood_fpr_database`)" if name == "database_oof"
                              else "")
        lines.append(
            f"| {text} | {v['n']} | {_pct(v['flagged'])} | "
            f"{target_of.get(name, '>= 95 %')} | {_ci(v['auroc'])} |"
        )
    if not ood["rows_agree"]:
        lines += ["", "The per-row replication of `evaluate_ood` does not match its "
                  "table (the checker changed): values are the table's, pooled "
                  "over the seeds, without intervals."]
    lines += ["", "Families: " + "; ".join(
        f"{label(k)}: {v['description']}"
        for k, v in ood["families"].items()) + ".", ""]
    if ood.get("raw_variants"):
        lines += [
            "The raw in-domain check set as another instrument would give it: "
            "the same database spectra with one change each, each held out "
            "(scored and classified by the member that never saw its molecule; "
            "reported, no target; the limits never saw them). \"Without "
            "cosmic-ray removal\": the same networks with the pipeline's "
            "`SpikeRemover` dropped and the checker fitted again.",
            "",
            "| raw in-domain variant | n (pooled) | flagged | accuracy | without "
            "cosmic-ray removal: flagged | accuracy |",
            "|---|---|---|---|---|---|",
        ]
        for v in ood["raw_variants"].values():
            lines.append(
                f"| {v['description']} | {v['n']} | {_pct(v.get('flagged'))} | "
                f"{_ci(v.get('accuracy'))} | {_pct(v.get('flagged_nodespike'))} | "
                f"{_ci(v.get('accuracy_nodespike'))} |")
        lines.append("")
    lines += [
        "## Cost",
        "",
        "Wall-clock seconds on a shared machine (other jobs running). "
        "Committee fits (cached, not repeated by a rerun): "
        + ", ".join(f"seed {s['seed']} {s['fit_s']:.0f} s" for s in meta["fits"])
        + f"; out-of-domain evaluation (every run): {meta['ood_s']:.0f} s; "
        f"this run {meta['run_s']:.0f} s in all.",
        "",
        "Figures: `figures/trust_reliability.png`, `figures/trust_coverage.png`, "
        "`figures/trust_ood.png`.",
        "",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------- figures
def figure_reliability(cal):
    """Reliability diagram of the pooled rows, before and after scaling."""
    from raman_sk.calibration import plot_reliability

    a = cal["_arrays"]
    ax = plot_reliability(a["y"], a["unc"], a["classes"], calibrated=a["cal"])
    c = cal["calibration"]
    ax.set_title(
        f"Out-of-fold probabilities, {cal['n_rows']} rows pooled over seeds\n"
        f"ECE {_ci(c['ece_uncalibrated'])} -> {_ci(c['ece'])} "
        "(calibrated: cross-fitted)", fontsize=10)
    return ax


def figure_coverage(cal):
    """Coverage against nominal level, mean set size, per-class coverage."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4))
    conf = list(cal["conformal"].values())
    nominal = np.array([1 - v["alpha"] for v in conf])

    def err(ds):
        v = np.array([d["value"] for d in ds])
        lo = np.array([d["low"] for d in ds])
        hi = np.array([d["high"] for d in ds])
        return v, np.vstack([v - lo, hi - v])

    ax = axes[0]
    v, e = err([c["coverage"] for c in conf])
    ax.errorbar(nominal, v, yerr=e, fmt="o", capsize=4, color="tab:blue",
                label="pooled coverage, 95 % interval")
    ax.axhspan(0.87, 0.93, xmin=0, xmax=1, color="tab:green", alpha=0.12,
               label="target at alpha 0.1: 0.90 ± 0.03")
    low = min(0.75, float(np.min(v - e[0])) - 0.02)
    ax.plot([low, 1.0], [low, 1.0], ls="--", color="0.5", lw=1,
            label="coverage = nominal")
    ax.set_xlim(0.75, 1.0)
    ax.set_ylim(low, 1.0)
    ax.set_xlabel("nominal coverage 1 - alpha")
    ax.set_ylabel("fraction of sets holding the true class")
    ax.set_title("Marginal coverage")
    ax.legend(fontsize=8, loc="upper left")
    ax = axes[1]
    v, e = err([c["mean_set_size"] for c in conf])
    ax.errorbar(nominal, v, yerr=e, fmt="s", capsize=4, color="tab:orange")
    ax.axhline(1.3, color="tab:green", ls=":", label="target at alpha 0.1: <= 1.3")
    ax.set_xlim(0.75, 1.0)
    ax.set_ylim(0.8, max(2.0, float(np.max(v + e[1])) + 0.1))
    ax.set_xlabel("nominal coverage 1 - alpha")
    ax.set_ylabel("mean set size (classes per spectrum)")
    ax.set_title("Mean prediction-set size")
    ax.legend(fontsize=8, loc="upper left")
    ax = axes[2]
    target = cal["conformal"][str(TARGET_ALPHA)]
    classes = cal["classes"]
    v, e = err([target["per_class_coverage"][c] for c in classes])
    x = np.arange(len(classes))
    ax.bar(x, v, color="tab:blue", alpha=0.7)
    ax.errorbar(x, v, yerr=e, fmt="none", ecolor="k", capsize=3)
    ax.axhline(1 - TARGET_ALPHA, color="0.3", ls="--", lw=1,
               label=f"nominal {1 - TARGET_ALPHA:.2f} (marginal)")
    ax.set_xticks(x)
    ax.set_xticklabels([f"{c}\n(n={target['per_class_n'][c]})" for c in classes],
                       rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("coverage within the class")
    ax.set_title(f"Per-class coverage at alpha {TARGET_ALPHA} (no target)")
    ax.legend(fontsize=8, loc="lower left")
    fig.suptitle(f"Split-conformal sets, cross-fitted, {cal['n_rows']} out-of-fold "
                 "rows pooled over seeds (bars: 95 % bootstrap interval)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def figure_ood(ood):
    """Draw the flagged fraction of every set and the AUROC of every family."""
    import matplotlib.pyplot as plt

    fam = ood["families"]
    names = list(fam)
    fig, axes = plt.subplots(1, 2, figsize=(13, 0.45 * len(names) + 2.2),
                             gridspec_kw={"width_ratios": [3, 2]})
    y = np.arange(len(names))[::-1]

    def bars(ax, key, color_of):
        for yi, n in zip(y, names, strict=True):
            d = fam[n][key]
            if d is None:
                continue
            ax.barh(yi, d["value"], color=color_of(n), alpha=0.75)
            if d.get("low") is not None:
                ax.errorbar(d["value"], yi, xerr=[[d["value"] - d["low"]],
                                                  [d["high"] - d["value"]]],
                            fmt="none", ecolor="k", capsize=3)

    def colour(n):
        return "tab:green" if n in IN_DOMAIN else "tab:red"

    ax = axes[0]
    bars(ax, "flagged", colour)
    for yi, n in zip(y, names, strict=True):
        bound = {"database_oof": 0.05, "raw_in_domain": 0.10}.get(n, 0.95)
        ax.plot([bound, bound], [yi - 0.4, yi + 0.4], color="k", lw=2)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{label(n)} (n={fam[n]['n']})" for n in names],
                       fontsize=8)
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("fraction flagged out of domain (black tick: target)")
    ax.set_title("Flagged (green: in-domain, want low; red: foreign, want high)",
                 fontsize=9)
    ax = axes[1]
    bars(ax, "auroc", colour)
    for yi, n in zip(y, names, strict=True):
        if n in IN_DOMAIN:
            ax.text(0.55, yi, "in-domain set: no AUROC", va="center", fontsize=8,
                    color="0.4")
    ax.axvline(0.5, color="0.5", ls="--", lw=1)
    ax.set_ylim(axes[0].get_ylim())  # rows level with the left panel
    ax.set_yticks(y)
    ax.set_yticklabels([])
    ax.set_xlim(0.4, 1.01)
    ax.set_xlabel("AUROC of ood_score vs raw in-domain (0.5: chance)")
    ax.set_title("Separation from the raw in-domain set", fontsize=9)
    fig.suptitle("Out-of-domain check of the main job, pooled over seeds "
                 "(bars: 95 % bootstrap interval)", fontsize=10)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--threads", type=int, default=2,
                   help="torch CPU threads of the fits (not part of the cache key)")
    p.add_argument("--quick", action="store_true",
                   help="the main job's quick settings (tiny network, 3 folds)")
    p.add_argument("--out", type=Path, default=RESULTS,
                   help="folder of trust.json/.md, figures/ and cache/")
    p.add_argument("--report-only", action="store_true",
                   help="fit nothing: models and arrays from the cache only")
    p.add_argument("--n-boot", type=int, default=N_BOOT)
    p.add_argument("--noise-std", type=float, default=None,
                   help="the augmenter's noise instead of the main job's (a lever "
                   "measured on its own --out)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    sys.path.insert(0, str(HERE))
    from _common import data_fingerprint  # imports torch: only when run

    from raman_sk.reproduce._steps import load_data

    start = time.perf_counter()
    data = load_data()
    fingerprint = data_fingerprint(data.X, data.y)
    records = [r for r in (seed_record(data, s, args, fingerprint)
                           for s in args.seeds) if r is not None]
    if not records:
        log("nothing cached: no report")
        return None
    log("pooling and bootstrapping")
    cal = pooled_calibration(records, n_boot=args.n_boot, boot_seed=BOOT_SEED)
    ood = pooled_ood(records, n_boot=args.n_boot, boot_seed=BOOT_SEED)
    # fields added to Settings after a model was cached take this run's values:
    # the cache key matched, so they describe the same fit
    current = dataclasses.asdict(
        make_settings(records[0]["seed"], quick=args.quick, threads=args.threads,
                      noise_std=args.noise_std))
    settings = {**current, **records[0]["meta"]["settings"]}
    meta = {
        "seeds": [r["seed"] for r in records],
        "recipe": settings["recipe"],
        "cv": settings["cv"],
        "epochs": settings["epochs"],
        "n_copies": settings["n_copies"],
        "label_smoothing": settings["label_smoothing"],
        "precision": settings["precision"],
        "settings": settings,
        "quick": bool(args.quick),
        "n_spectra": int(len(data.y)),
        "n_boot": args.n_boot,
        "boot_seed": BOOT_SEED,
        "alphas": list(ALPHAS),
        "cpu": cpu_info()["summary"],
        "fit_cpu": sorted({r["meta"]["cpu"] for r in records}),
        "versions": versions(),
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "fits": [{"seed": r["seed"], "fit_s": r["meta"]["fit_s"],
                  "finished": r["meta"]["finished"]} for r in records],
        "ood_s": float(sum(r["ood_meta"].get("seconds", 0.0) for r in records)),
        "run_s": time.perf_counter() - start,
    }
    result = {
        "meta": meta,
        "calibration": {k: v for k, v in cal.items() if k != "_arrays"},
        "ood": {**ood, "per_seed": [
            {"seed": r["seed"], "table": r["ood_meta"]["table"],
             "checker": r["ood_meta"]["checker"],
             "rows_agree": r["ood_meta"]["rows_agree"]} for r in records]},
    }
    result["targets"] = targets(result["calibration"], ood)
    figures = args.out / "figures"
    write_png(figures / "trust_reliability.png", figure_reliability(cal))
    write_png(figures / "trust_coverage.png", figure_coverage(cal))
    write_png(figures / "trust_ood.png", figure_ood(ood))
    meta["run_s"] = time.perf_counter() - start
    atomic_write(args.out / "trust.json", json_bytes(result))
    write_text(args.out / "trust.md", markdown(result))
    log(f"wrote {args.out / 'trust.md'} ({meta['run_s']:.0f} s)")
    for key in ("ece", "coverage", "set_size", "ood_fpr_database", "raw_in_domain",
                "foreign"):
        log(result["targets"][key]["line"])
    return result


if __name__ == "__main__":
    main()
