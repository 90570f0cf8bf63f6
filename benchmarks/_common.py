"""Shared helpers of the raman_sk benchmark scripts.

Loading the data, the CNN pipeline of the reference recipe, the per-fold result
cache, the PLS-DA baseline, the network with torch's own dropout, the machine
description (CPU model and vector extensions), summaries, Markdown tables and
result files. Imported by every ``bench_*.py`` (run from any directory: each
script puts its own folder on ``sys.path``).

The cache holds one small JSON file per (model, settings, seed, fold). Its file
name is a hash of the settings that define the result (model parameters, data,
protocol, seed, fold) and never of where it ran, so results computed on another
machine (e.g. with ``--device cuda``) can be copied into the cache folder and are
picked up as they are; each record keeps the device, host and versions it came
from.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.cross_decomposition import PLSRegression
from sklearn.model_selection import StratifiedGroupKFold, cross_validate
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

try:
    import raman_sk  # noqa: F401
except ModuleNotFoundError:  # a checkout without `pip install -e .`
    _ROOT = str(Path(__file__).resolve().parents[1])
    sys.path.insert(0, _ROOT)
    # worker processes (loky, Dask) must find the package too
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (_ROOT, os.environ.get("PYTHONPATH")) if p
    )

import torch  # noqa: E402
from torch import nn  # noqa: E402

from raman_sk import RamanCNNClassifier  # noqa: E402
from raman_sk.evaluation import SCORING, leaky_evaluation  # noqa: E402
from raman_sk.models import FastDropout, RamanCNN1D  # noqa: E402
from raman_sk.utils._files import atomic_write, json_bytes, write_png  # noqa: E402
from raman_sk.utils._versions import versions  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
CACHE_DIR = RESULTS_DIR / "cache"
METRICS = tuple(SCORING)  # accuracy, macro_f1, weighted_f1
#: Smallest useful network, for smoke runs (``--quick``).
TINY_NET = {
    "module__channels": (4, 8),
    "module__kernel_sizes": (5, 3),
    "module__convs_per_block": 1,
    "module__hidden": 16,
}


# ----------------------------------------------------------------------- data
def load_data(path=None, quick=False, seed=0):
    """Load the 194 ramanbiolib spectra (or a small stratified subset).

    Parameters
    ----------
    path : str or None
        Folder with the ramanbiolib CSV files; None reads the installed package.
    quick : bool
        Keep about 60 spectra (every class, whole molecules) for smoke runs.
    seed : int
        Seed of the quick subset.

    Returns
    -------
    X, y, groups, wavenumbers : ndarray
    """
    from raman_sk.datasets import load_ramanbiolib

    bunch = load_ramanbiolib(path=path)
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target).astype(str)
    groups = np.asarray(bunch.groups).astype(str)
    if quick:
        rng = np.random.default_rng(seed)
        keep = []
        for label in np.unique(y):
            mols = np.unique(groups[y == label])
            rng.shuffle(mols)
            chosen = []
            for m in mols:
                chosen.extend(np.flatnonzero((groups == m) & (y == label)))
                if len(chosen) >= 8 and len(set(groups[chosen])) >= 4:
                    break
            keep.extend(chosen)
        keep = np.sort(np.asarray(keep))
        X, y, groups = X[keep], y[keep], groups[keep]
    return X, y, groups, np.asarray(bunch.wavenumbers, dtype=np.float64)


class TorchDropoutCNN1D(RamanCNN1D):
    """RamanCNN1D with ``nn.Dropout`` layers: the network before FastDropout.

    The reference for the speed comparison (a plain PyTorch script uses
    ``nn.Dropout``) and the network of the accuracy rows measured before
    FastDropout, kept reproducible next to the FastDropout ones.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for seq in (self.features, self.classifier):
            for name, m in seq.named_children():
                if isinstance(m, FastDropout):
                    seq._modules[name] = nn.Dropout(m.p)


def main_job_key(settings) -> dict:
    """Return the main job's settings as a cache key: all fields but the threads.

    ``pretrained="none"`` (a random body), ``mixup=0``, ``input_binning=1``,
    ``mask_windows=0``, the reference noise (0.01) and the network's own
    dropout are left out; the
    pipeline's cleaning steps are added, each with its scalar settings.
    """
    import dataclasses

    from raman_sk.pipeline import make_raman_pipeline

    config = dataclasses.asdict(settings)
    config.pop("threads", None)
    if config.get("pretrained") == "none":
        config.pop("pretrained")
    if not config.get("mixup"):  # off: the key of the runs before the option
        config.pop("mixup", None)
    if config.get("input_binning") == 1:  # off: as before the option
        config.pop("input_binning", None)
    if not config.get("mask_windows"):  # off: as before the option
        config.pop("mask_windows", None)
        config.pop("mask_width", None)
    if config.get("noise_std") == 0.01:  # the reference's: as before the option
        config.pop("noise_std", None)
    if (config.get("dropout"), config.get("head_dropout")) == (0.25, 0.4):
        config.pop("dropout", None)  # the network's own: as before the option
        config.pop("head_dropout", None)
    # the cleaning steps the job runs and their settings (a new step or a
    # changed setting makes every cached fit stale)
    config["preprocessing"] = [
        [name, {k: v for k, v in sorted(step.get_params().items())
                if isinstance(v, (bool, int, float, str))}]
        for name, step in make_raman_pipeline().steps[:-1]
    ]
    return config


def recipe_extras(settings) -> str:
    """Return the recipe's mixup, input binning, masking, noise and dropout as text.

    ``settings``: the main job's ``Settings`` as a dict (``dataclasses.asdict``).
    """
    parts = []
    if settings.get("mixup"):
        parts.append(f", mixup {settings['mixup']:g}")
    if (settings.get("input_binning") or 1) > 1:
        parts.append(f", input binned over {settings['input_binning']} points")
    if settings.get("mask_windows"):
        parts.append(f", {settings['mask_windows']} windows of up to "
                     f"{settings['mask_width']} points masked per training spectrum")
    if settings.get("noise_std") not in (None, 0.01):
        parts.append(f", augmenter noise {settings['noise_std']:g}")
    if settings.get("dropout") is not None:
        parts.append(f", dropout {settings['dropout']:g} / "
                     f"{settings['head_dropout']:g} (body / head)")
    return "".join(parts)


def data_fingerprint(X, y):
    """Short hash of the data, so a cache entry is tied to the spectra it used."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(X, dtype=np.float64).tobytes())
    h.update("\n".join(map(str, y)).encode())
    return h.hexdigest()[:12]


# ---------------------------------------------------------------------- PLS-DA
class PLSDAClassifier(ClassifierMixin, BaseEstimator):
    """PLS-DA: PLS regression on one-hot class indicators, argmax to predict.

    Parameters
    ----------
    n_components : int, default=10
        PLS components (capped at the number of training spectra - 1).
    scale : bool, default=True
        Let :class:`~sklearn.cross_decomposition.PLSRegression` scale ``X``.

    Attributes
    ----------
    classes_ : ndarray
        Sorted labels seen in fit.
    pls_ : PLSRegression
        The fitted regression.
    """

    def __init__(self, n_components=10, *, scale=True):
        self.n_components = n_components
        self.scale = scale

    def fit(self, X, y):
        """Fit the PLS regression on the one-hot coded labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Spectra.
        y : array-like of shape (n_samples,)
            Labels.

        Returns
        -------
        self : PLSDAClassifier
        """
        X, y = validate_data(self, X, y)
        self.classes_ = unique_labels(y)
        Y = LabelBinarizer().fit(self.classes_).transform(y).astype(np.float64)
        if Y.shape[1] == 1:  # two classes: LabelBinarizer gives one column
            Y = np.hstack([1.0 - Y, Y])
        n_comp = int(min(self.n_components, X.shape[0] - 1, X.shape[1]))
        self.pls_ = PLSRegression(n_components=n_comp, scale=self.scale).fit(X, Y)
        return self

    def decision_function(self, X):
        """Predicted class indicators (n_samples, n_classes)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.pls_.predict(X)

    def predict(self, X):
        """Class with the largest predicted indicator."""
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]


# ----------------------------------------------------------------------- cache
def settings_key(settings):
    """Stable short hash of a JSON-serialisable settings dict."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _slug(text):
    keep = [c if c.isalnum() or c in "-_." else "-" for c in str(text)]
    return "".join(keep).strip("-")[:60]


def environment(device="cpu"):
    """Where and with what a result was computed (stored in each record)."""
    return {
        "device": str(device),
        "host": socket.gethostname(),
        "machine": machine_description(),
        **versions(),
    }


class ResultCache:
    """One JSON file per (settings, seed, fold) under ``cache_dir``.

    Parameters
    ----------
    cache_dir : path-like
        Folder of the files (created on first write).
    enabled : bool, default=True
        False: never read (always recompute) but still write.
    compute : bool, default=True
        False: callers skip what is not cached instead of computing it.
    """

    def __init__(self, cache_dir, enabled=True, compute=True):
        self.cache_dir = Path(cache_dir)
        self.enabled = enabled
        self.compute = compute

    def path(self, model, settings, seed, fold):
        """File of one result."""
        key = settings_key({**settings, "seed": seed, "fold": fold})
        return self.cache_dir / f"{_slug(model)}-s{seed}-{fold}-{key}.json"

    def get(self, model, settings, seed, fold):
        """Return the cached record, or None."""
        p = self.path(model, settings, seed, fold)
        if not (self.enabled and p.is_file()):
            return None
        with open(p, encoding="utf-8") as fh:
            return json.load(fh)

    def put(self, model, settings, seed, fold, record):
        """Write a record atomically (several processes may share the folder)."""
        p = self.path(model, settings, seed, fold)
        record = {
            "model": model,
            "settings": settings,
            "seed": seed,
            "fold": fold,
            **record,
        }
        atomic_write(p, json_bytes(record))
        return record


# ----------------------------------------------------------------- evaluation
def grouped_folds(y, groups, n_splits, seed):
    """Return the folds of ``raman_sk.evaluation.grouped_cross_validate`` for a seed."""
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(cv.split(np.zeros((len(y), 1)), y, groups))


def run_grouped(
    model,
    make_estimator,
    settings,
    X,
    y,
    groups,
    *,
    seeds,
    n_splits,
    cache,
    device="cpu",
    log=print,
):
    """Run grouped K-fold CV over seeds, one cached ``cross_validate`` call per fold.

    ``make_estimator(seed)`` returns a fresh estimator for that seed (its own
    ``random_state`` set from the seed). The folds are those of
    :func:`raman_sk.evaluation.grouped_cross_validate` with
    ``random_state=seed``.

    Returns
    -------
    list of dict
        One record per (seed, fold).
    """
    settings = {
        **settings,
        "protocol": "grouped",
        "n_splits": n_splits,
        "data": data_fingerprint(X, y),
    }
    records = []
    for seed in seeds:
        for fold, (train, test) in enumerate(grouped_folds(y, groups, n_splits, seed)):
            rec = cache.get(model, settings, seed, fold)
            if rec is None and not cache.compute:
                continue
            if rec is None:
                t0 = time.perf_counter()
                scores = cross_validate(
                    make_estimator(seed),
                    X,
                    y,
                    groups=groups,
                    cv=[(train, test)],
                    scoring=SCORING,
                    error_score="raise",
                )
                rec = cache.put(
                    model,
                    settings,
                    seed,
                    fold,
                    {
                        **{m: float(scores[f"test_{m}"][0]) for m in METRICS},
                        "fit_s": float(scores["fit_time"][0]),
                        "predict_s": float(scores["score_time"][0]),
                        "wall_s": time.perf_counter() - t0,
                        "n_train": int(len(train)),
                        "n_test": int(len(test)),
                        **environment(device),
                    },
                )
                log(
                    f"  {model:<34} seed={seed} fold={fold} "
                    f"acc={rec['accuracy']:.3f} macroF1={rec['macro_f1']:.3f} "
                    f"({rec['fit_s'] + rec['predict_s']:.1f} s)"
                )
            records.append(rec)
    return records


def run_leaky(
    model,
    make_estimator,
    settings,
    X,
    y,
    make_augmenter,
    *,
    seeds,
    cache,
    device="cpu",
    log=print,
):
    """Run the leaky reference protocol (augment, then split) over seeds, cached."""
    settings = {**settings, "protocol": "leaky", "data": data_fingerprint(X, y)}
    records = []
    for seed in seeds:
        rec = cache.get(model, settings, seed, "leaky")
        if rec is None and not cache.compute:
            continue
        if rec is None:
            res = leaky_evaluation(
                make_estimator(seed), X, y, make_augmenter(seed), random_state=seed
            )
            rec = cache.put(
                model,
                settings,
                seed,
                "leaky",
                {
                    **{m: float(res[m]) for m in METRICS},
                    "fit_s": float(res["fit_predict_s"]),
                    "predict_s": 0.0,
                    "n_test": int(res["n_samples"]),
                    **environment(device),
                },
            )
            log(
                f"  {model:<34} seed={seed} leaky   "
                f"acc={rec['accuracy']:.3f} macroF1={rec['macro_f1']:.3f} "
                f"({rec['fit_s']:.1f} s)"
            )
        records.append(rec)
    return records


#: Records written before the CPU model was stored all came from this machine.
LEGACY_CPU = {
    ("vm", "x86_64"): "Intel(R) Xeon(R) Processor, 2 logical CPUs, "
    "AVX2 AVX-512 AVX512-BF16 AMX-BF16"
}


def record_cpu(record):
    """CPU (model, logical CPUs, vector extensions) a cached record was timed on."""
    machine = record.get("machine", "?")
    return LEGACY_CPU.get((record.get("host"), machine), machine)


def summarise(model, protocol, records, expected=None, **extra):
    """One result row (the keys of ``accuracy.json``) from per-fold records.

    Means and standard deviations are over all seeds x folds;
    ``fit_predict_s`` is the mean over seeds of the summed fit + predict time
    of one whole CV (all folds), or of one fit + predict for ``leaky``; when
    the records come from several devices it is the estimate for the device
    of most records, and ``fit_predict_s_by_device`` gives each device's.
    ``expected`` is the number of scores a complete run has; ``complete``
    says whether all of them were there.
    """
    row = {"model": model, "protocol": protocol}
    for m in METRICS:
        vals = np.array([r[m] for r in records], dtype=float)
        row[f"{m}_mean"] = float(vals.mean())
        row[f"{m}_std"] = float(vals.std())
    seeds = sorted({r["seed"] for r in records})
    per_seed = [
        sum(r["fit_s"] + r["predict_s"] for r in records if r["seed"] == s)
        for s in seeds
    ]
    row["fit_predict_s"] = float(np.mean(per_seed))
    # results copied in from another machine: time per device, one whole run
    # (all folds) each, estimated from that device's mean time per fold
    devices = [str(r.get("device", "?")) for r in records]
    folds_per_run = max(sum(r["seed"] == s for r in records) for s in seeds)
    by_device = {
        d: float(
            np.mean(
                [
                    r["fit_s"] + r["predict_s"]
                    for r, rd in zip(records, devices, strict=True)
                    if rd == d
                ]
            )
            * folds_per_run
        )
        for d in sorted(set(devices))
    }
    row["fit_predict_s_by_device"] = by_device
    if len(by_device) > 1:
        row["fit_predict_s"] = by_device[max(set(devices), key=devices.count)]
    row["n_seeds"] = len(seeds)
    row["n_scores"] = len(records)
    row["scores"] = [
        {"seed": r["seed"], "fold": r["fold"], **{m: r[m] for m in METRICS}}
        for r in records
    ]
    row["n_expected"] = len(records) if expected is None else int(expected)
    row["complete"] = len(records) >= row["n_expected"]
    row["device"] = ",".join(sorted({str(r.get("device", "?")) for r in records}))
    row["cpu"] = sorted({record_cpu(r) for r in records if r.get("device") == "cpu"})
    row.update(extra)
    return row


# ---------------------------------------------------------------------- output
def argument_parser(doc):
    """Return a parser described by the first paragraph of a script's ``doc``."""
    import argparse

    return argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def save_figure(fig, path):
    """Write ``fig`` as a PNG atomically and close it."""
    write_png(path, fig, dpi=120)


def add_output_options(parser, *, quick_help):
    """Add the options every cached benchmark shares (cache, output, data, quick)."""
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    parser.add_argument("--no-cache", action="store_true", help="recompute everything")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--data-path",
        default=None,
        help="folder of the ramanbiolib CSVs (default: installed package)",
    )
    parser.add_argument("--quick", action="store_true", help=quick_help)


def markdown_table(rows, columns):
    """Markdown table; ``columns`` is a list of (header, function of row)."""
    lines = [
        "| " + " | ".join(h for h, _ in columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    for row in rows:
        lines.append("| " + " | ".join(str(f(row)) for _, f in columns) + " |")
    return "\n".join(lines)


def write_json(path, obj):
    """Write ``obj`` as indented JSON, atomically (creating the folder)."""
    atomic_write(path, json_bytes(obj))


def write_text(path, text):
    """Write UTF-8 ``text`` atomically (creating the folder)."""
    atomic_write(path, text.encode("utf-8"))


# ---------------------------------------------------------------------- machine
#: /proc/cpuinfo flags -> the vector extension names printed next to timings.
VECTOR_FLAGS = {
    "avx2": "AVX2",
    "avx512f": "AVX-512",
    "avx512_bf16": "AVX512-BF16",
    "amx_bf16": "AMX-BF16",
    "amx_int8": "AMX-INT8",
}


def cpu_info():
    """CPU model, logical CPUs and vector extensions of this machine.

    Returns
    -------
    dict
        ``cpu``, ``logical_cpus``, ``vector_extensions`` (list of names such as
        ``"AVX2"``, ``"AVX-512"``, ``"AMX-BF16"``) and ``torch_cpu_capability``
        (the kernel set torch dispatches to).
    """
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and not flags:
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:  # not Linux: the model from platform, extensions unknown
        pass
    return {
        "cpu": model,
        "logical_cpus": os.cpu_count(),
        "vector_extensions": [name for f, name in VECTOR_FLAGS.items() if f in flags],
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def machine_description():
    """One line for result headers and rows: CPU model, CPUs, vector extensions."""
    info = cpu_info()
    ext = " ".join(info["vector_extensions"]) or "no AVX2/AVX-512/AMX"
    return f"{info['cpu']}, {info['logical_cpus']} logical CPUs, {ext}"


# ------------------------------------------------------------------------ torch
def sync(device):
    """Wait for queued GPU work, so that a timer stops after it."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def autocast(device, precision):
    """``torch.autocast`` to bfloat16 for ``precision="bfloat16"``, else nothing."""
    if precision != "bfloat16":
        return nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)


def random_network(n_classes=6, n_features=1351, seed=0):
    """Full-size RamanCNN1D in eval mode with non-trivial BatchNorm statistics."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = RamanCNN1D(n_classes, n_features)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.running_mean.uniform_(-0.1, 0.1, generator=gen)
            m.running_var.uniform_(0.5, 2.0, generator=gen)
    return net.eval()


def fitted_classifier(
    module, classes, n_features, device="cpu", precision="float32", **params
):
    """Return a fitted RamanCNNClassifier holding ``module``'s weights.

    ``module`` must be a RamanCNN1D with the default architecture. The
    classifier (``params`` go to it) is fitted for one epoch on a few random
    spectra, to set its fitted state, then the weights are loaded.
    """
    rng = np.random.default_rng(0)
    Xf = rng.random((2 * len(classes), n_features)).astype(np.float32)
    yf = np.repeat(np.asarray(classes), 2)
    clf = RamanCNNClassifier(
        max_epochs=1, device=device, precision=precision, random_state=0, **params
    ).fit(Xf, yf)
    clf.module_.load_state_dict(module.state_dict())
    clf.module_.eval()
    return clf


def cnn_pipeline(wavenumbers, *, seed, n_copies=15, **params):
    """Return the reference recipe: resampler + CNN with in-fold augmentation.

    The database spectra are already on the grid and cleaned by its authors,
    so ``make_raman_pipeline``'s cleaning steps are left out (the resampler is
    the identity there). ``params`` go to :class:`RamanCNNClassifier`.
    """
    from sklearn.pipeline import make_pipeline

    from raman_sk.preprocessing import SpectralAugmenter, WavenumberResampler

    return make_pipeline(
        WavenumberResampler(wavenumbers=wavenumbers),
        RamanCNNClassifier(
            augmenter=SpectralAugmenter(n_copies=n_copies, random_state=seed),
            random_state=seed,
            **params,
        ),
    )
