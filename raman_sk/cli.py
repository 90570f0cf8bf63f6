"""The ``raman-sk`` command line: orchestration only, no maths.

Subcommands
-----------
``reproduce``
    The whole SEED.md job on the bundled ramanbiolib database, done honestly
    (a test part split by molecule before any augmentation), with every
    artefact SEED.md lists plus ``evaluation.json`` and ``REPORT.md``.
``train``
    Fit the standard pipeline on the user's spectra files and a labels CSV.
``evaluate``
    Grouped K-fold cross-validation report on the user's spectra.
``predict``
    Labels, probabilities and the out-of-domain check of new spectra files.
``explain``
    Integrated Gradients attributions (CSV + one figure per spectrum).

Every computation lives in the library (:mod:`raman_sk.pipeline`,
:mod:`raman_sk.evaluation`, :mod:`raman_sk.domain`, :mod:`raman_sk.explain`,
:mod:`raman_sk.plotting`); this module reads arguments, calls them, writes
files atomically and reports. ``ValueError``, ``TypeError`` and ``OSError``
(missing files included) become one line ``raman-sk: error: ...`` on stderr
and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import io
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["build_parser", "main"]

PROG = "raman-sk"
#: Settings of the full reproduce run (SEED.md's recipe) and of ``--quick``.
FULL = {
    "n_copies": 15,
    "ig_n_per_class": 15,
    "ig_n_steps": 50,
    "module_params": {},
}
QUICK = {
    "epochs": 2,
    "n_copies": 1,
    "ig_n_per_class": 2,
    "ig_n_steps": 8,
    "module_params": {
        "module__channels": (4, 8),
        "module__kernel_sizes": (5, 3),
        "module__convs_per_block": 1,
        "module__hidden": 16,
    },
}
MODEL_DIRS = ("best_model", "final_model")


# ---------------------------------------------------------------- utilities
class _Console:
    """User-facing output of the command (stdout), silenced by ``--quiet``."""

    def __init__(self, quiet: bool):
        self.quiet = quiet

    def say(self, text: str = "") -> None:
        if not self.quiet:
            print(text, flush=True)


def _atomic_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_text(path: Path, text: str) -> None:
    _atomic_bytes(path, text.encode("utf-8"))


def _write_json(path: Path, obj) -> None:
    _write_text(path, json.dumps(_jsonable(obj), indent=2) + "\n")


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    _write_text(path, frame.to_csv(index=False))


def _write_npz(path: Path, arrays: dict) -> None:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    _atomic_bytes(path, buf.getvalue())


def _save_figure(obj, path: Path) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    if isinstance(obj, Figure):
        fig = obj
    elif isinstance(obj, np.ndarray):  # an array of Axes
        fig = obj.flat[0].figure
    else:
        fig = obj.figure
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=150, bbox_inches="tight")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def _short_params(params: dict) -> dict:
    """JSON-able parameters, long arrays (e.g. an axis) summarised."""
    out = {}
    for key, value in params.items():
        if isinstance(value, np.ndarray) and value.size > 8:
            out[key] = (
                f"{value.size} values, {float(np.min(value)):g}.."
                f"{float(np.max(value)):g}"
            )
        else:
            out[key] = _jsonable(value)
    return out


def _versions() -> dict:
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for dist in (
        "raman-sk",
        "torch",
        "skorch",
        "captum",
        "scikit-learn",
        "numpy",
        "scipy",
        "pandas",
        "pybaselines",
        "ramanbiolib",
    ):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    import raman_sk

    out["raman_sk"] = raman_sk.__version__
    return out


def _slug(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).lower()).strip("_") or "class"


def _check_output_dir(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {str(out)!r} exists and is not a directory.")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(
            f"--out {str(out)!r} is not empty; refusing to overwrite an earlier run "
            "(give --overwrite to replace it, or choose another directory)."
        )


@contextlib.contextmanager
def _staging(out: Path):
    """Build a run in a temporary sibling directory, move it into place at the end.

    On an error or an interrupt the temporary directory is removed and ``out``
    (an earlier run included) is left as it was.
    """
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
        os.replace(out, old / "previous")
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old / "previous", out)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _quiet_context(quiet: bool):
    """Silence library warnings and tqdm bars under ``--quiet``."""
    stack = contextlib.ExitStack()
    if quiet:
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")
    return stack


@contextlib.contextmanager
def _torch_threads(n):
    """Use ``n`` torch threads inside the block (None: leave torch's setting)."""
    if n is None:
        yield
        return
    if n < 1:
        raise ValueError(f"--threads must be >= 1, got {n}.")
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def auto_precision(device="cpu") -> str:
    """Return the precision that ``--precision auto`` picks on ``device``.

    ``"bfloat16"`` on a CPU with native bf16 arithmetic (AMX tiles or
    AVX512-BF16), where the recipe trains 2.1-2.4x faster with the same
    grouped-CV accuracy; ``"float32"`` on other CPUs (bf16 would be emulated,
    slower) and on GPUs (already fast in float32).

    Examples
    --------
    >>> auto_precision("cuda")
    'float32'
    >>> auto_precision("cpu") in ("float32", "bfloat16")
    True
    """
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"--device {device!r} is not a torch device: {exc}") from exc
    if dev.type != "cpu":
        return "float32"
    # private torch helpers; absent on old torch versions (then: float32)
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    native = any(getattr(torch.cpu, p, lambda: False)() for p in probes)
    return "bfloat16" if native else "float32"


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


# ------------------------------------------------------------------- parser
def _add_training_options(p: argparse.ArgumentParser, *, epochs_default: int) -> None:
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"training epochs (default {epochs_default}; 2 with --quick)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=32,
        help="training batch size (default 32, SEED.md's recipe; 64 trained "
        "about 10 %% faster on a 2-core CPU with a slightly lower grouped-CV "
        "macro-F1, see the README)",
    )
    p.add_argument(
        "--precision",
        choices=("auto", "float32", "bfloat16"),
        default="auto",
        help="arithmetic of the network for training and prediction (bfloat16: "
        "autocast). auto (default): bfloat16 on a CPU with native bf16 "
        "(AMX or AVX512-BF16; 2.1-2.4x faster, same grouped-CV accuracy in "
        "benchmarks/results/accuracy.md), float32 elsewhere. Integrated "
        "Gradients always run in float32",
    )
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda, ...)")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads for training and inference (default: torch's "
        "setting; 1 is faster on a machine busy with other jobs)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary")


def build_parser() -> argparse.ArgumentParser:
    """Build the ``raman-sk`` argument parser.

    Returns
    -------
    argparse.ArgumentParser
        The parser with the ``reproduce``, ``train``, ``evaluate``,
        ``predict`` and ``explain`` subcommands.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Classify Raman spectra with a 1D CNN and explain it with "
        "Integrated Gradients.",
    )
    from raman_sk import __version__

    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "reproduce",
        help="run the whole SEED.md job on the bundled ramanbiolib database",
        description="Train, evaluate (held-out molecules) and explain the CNN on "
        "the ramanbiolib database; write figures/, model/, logs/, "
        "evaluation.json and REPORT.md under --out.",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("outputs"),
        help="output directory (default: outputs); must be empty or absent "
        "unless --overwrite",
    )
    _add_training_options(p, epochs_default=80)
    p.add_argument(
        "--cv",
        type=int,
        default=0,
        metavar="K",
        help="add grouped K-fold cross-validation of the CNN pipeline (K fits; "
        "off by default)",
    )
    p.add_argument(
        "--leaky-cnn",
        action="store_true",
        help="also train the CNN under the leaky augment-then-split protocol "
        "(doubles the training time)",
    )
    p.add_argument(
        "--monitor",
        choices=("valid_loss", "valid_acc"),
        default="valid_acc",
        help="score that picks the best checkpoint: highest validation accuracy "
        "(SEED.md's best_model; earliest epoch on ties, the default) or lowest "
        "validation loss",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny smoke-test run (small net, 2 epochs) producing every artefact",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="PATH",
        help="directory with the ramanbiolib CSV files (needed where the "
        "ramanbiolib package cannot be installed, e.g. Python >= 3.12)",
    )
    p.set_defaults(func=_cmd_reproduce)

    p = sub.add_parser(
        "train",
        help="train the pipeline on your spectra files",
        description="Fit resampling + cleaning + CNN on spectra files labelled by "
        "a CSV (columns file or source, label, optional group); save the pipeline "
        "and its out-of-domain checker under --out.",
    )
    p.add_argument("spectra", nargs="+", type=Path, metavar="SPECTRA")
    p.add_argument("--labels", type=Path, required=True, help="labels CSV")
    p.add_argument("--out", type=Path, required=True, help="model directory")
    _add_training_options(p, epochs_default=80)
    p.add_argument("--n-copies", type=int, default=15, help="augmented copies")
    p.add_argument("--coverage", choices=("raise", "fill", "edge"), default="raise")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    p.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser(
        "evaluate",
        help="grouped cross-validation report on your spectra",
        description="Grouped, stratified K-fold cross-validation of the pipeline "
        "on labelled spectra files (mean and std of accuracy, macro-F1, "
        "weighted-F1).",
    )
    p.add_argument("spectra", nargs="+", type=Path, metavar="SPECTRA")
    p.add_argument("--labels", type=Path, required=True, help="labels CSV")
    p.add_argument("--cv", type=int, default=5, metavar="K", help="folds (default 5)")
    _add_training_options(p, epochs_default=80)
    p.add_argument("--n-copies", type=int, default=15, help="augmented copies")
    p.add_argument("--coverage", choices=("raise", "fill", "edge"), default="raise")
    p.add_argument("--out", type=Path, default=None, help="write the report as JSON")
    p.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser(
        "predict",
        help="classify spectra files with a saved model",
        description="Predict labels and probabilities, and check each spectrum "
        "against the training spectra: correlation with the nearest one "
        "(similarity) and band widths (effective_width, peak_fwhm, in grid points); "
        "out_of_domain and ood_reason say which limit a spectrum crossed.",
    )
    p.add_argument("model", type=Path, metavar="MODEL_DIR")
    p.add_argument("spectra", nargs="+", type=Path, metavar="SPECTRA")
    p.add_argument("--out", type=Path, default=None, help="CSV file (default stdout)")
    p.add_argument(
        "--coverage",
        choices=("raise", "fill", "edge"),
        default=None,
        help="what to do where a spectrum does not cover the model's grid "
        "(default: the model's setting, normally raise)",
    )
    p.add_argument(
        "--ood-threshold",
        type=float,
        default=None,
        metavar="R",
        help="flag spectra whose correlation with the nearest training spectrum "
        "is below R (default: the threshold saved with the model)",
    )
    p.add_argument("--device", default=None, help="torch device (default cpu)")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser(
        "explain",
        help="Integrated Gradients attributions of spectra files",
        description="Attribute each spectrum's predicted class (or --target) to "
        "wavenumbers; write attributions.csv and one figure per spectrum.",
    )
    p.add_argument("model", type=Path, metavar="MODEL_DIR")
    p.add_argument("spectra", nargs="+", type=Path, metavar="SPECTRA")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument(
        "--target", default=None, help="class to explain (default: predicted)"
    )
    p.add_argument("--n-steps", type=int, default=50, help="IG steps (default 50)")
    p.add_argument("--coverage", choices=("raise", "fill", "edge"), default=None)
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd_explain)
    return parser


# ---------------------------------------------------------------- reproduce
def _settings(args) -> dict:
    base = dict(QUICK if args.quick else FULL)
    epochs = args.epochs if args.epochs is not None else base.get("epochs", 80)
    if epochs < 1:
        raise ValueError(f"--epochs must be >= 1, got {epochs}.")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}.")
    if args.cv and args.cv < 2:
        raise ValueError(f"--cv must be 0 (off) or >= 2, got {args.cv}.")
    base["epochs"] = int(epochs)
    return base


def _classifier_params(args, settings, *, n_copies=None) -> dict:
    from raman_sk.preprocessing import SpectralAugmenter

    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}.")
    n = settings["n_copies"] if n_copies is None else n_copies
    params = {
        "max_epochs": settings["epochs"],
        "batch_size": args.batch_size,
        "augmenter": SpectralAugmenter(n_copies=n, random_state=args.seed)
        if n
        else None,
        "precision": args.precision,
        "device": args.device,
        "random_state": args.seed,
        "n_threads": args.threads,
    }
    params.update(settings["module_params"])
    return params


def _architecture(clf) -> dict:
    import inspect

    from raman_sk.models import RamanCNN1D

    defaults = {
        k: p.default
        for k, p in inspect.signature(RamanCNN1D.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    arch = {"module": type(clf.module_).__qualname__}
    arch.update({k: _jsonable(v) for k, v in defaults.items()})
    arch.update({k: _jsonable(v) for k, v in clf.get_params_for("module").items()})
    arch["n_features"] = int(clf.n_features_in_)
    arch["n_classes"] = len(clf.classes_)
    arch["n_parameters"] = int(sum(p.numel() for p in clf.module_.parameters()))
    return arch


def _cmd_reproduce(args) -> int:
    console = _Console(args.quiet)
    out = Path(args.out)
    _check_output_dir(out, args.overwrite)
    settings = _settings(args)
    t_total = time.perf_counter()
    with _quiet_context(args.quiet), _staging(out) as tmp:
        summary = _reproduce_into(tmp, args, settings, console)
    summary["total_s"] = time.perf_counter() - t_total
    _print_summary(console, out, summary)
    return 0


def _reproduce_into(tmp: Path, args, settings: dict, console: _Console) -> dict:
    from raman_sk import IGExplainer, save_pipeline
    from raman_sk.datasets import load_ramanbiolib
    from raman_sk.domain import NearestSpectrumChecker, save_domain_checker
    from raman_sk.evaluation import (
        baseline_comparison,
        cleaning_change,
        format_report,
        grouped_cross_validate,
        grouped_train_valid_test_split,
        leaky_evaluation,
        score_predictions,
    )
    from raman_sk.pipeline import (
        EpochProgress,
        fit_with_validation,
        history_frame,
        make_raman_pipeline,
    )
    from raman_sk.preprocessing import SpectralAugmenter

    timings = {}
    figures, logs, model = tmp / "figures", tmp / "logs", tmp / "model"
    for d in (figures, logs, model):
        d.mkdir(parents=True, exist_ok=True)

    # 1. data and the honest split of the originals (before any augmentation)
    t = time.perf_counter()
    try:
        bunch = load_ramanbiolib(path=args.data)
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"{exc} On the command line, give that directory as --data PATH."
        ) from exc
    X, y, groups, wn = (
        bunch.data,
        np.asarray(bunch.target),
        bunch.groups,
        bunch.wavenumbers,
    )
    classes = [str(c) for c in np.unique(y)]
    tr, va, te = grouped_train_valid_test_split(
        y, groups, test_size=0.2, valid_size=0.2, random_state=args.seed
    )
    timings["load_s"] = time.perf_counter() - t
    split = {
        "n_spectra": int(len(y)),
        "n_train": int(len(tr)),
        "n_valid": int(len(va)),
        "n_test": int(len(te)),
        "groups_train": int(len(np.unique(groups[tr]))),
        "groups_valid": int(len(np.unique(groups[va]))),
        "groups_test": int(len(np.unique(groups[te]))),
        "test_size": 0.2,
        "valid_size": 0.2,
        "grouped_by": "molecule (component)",
    }
    console.say(
        f"{PROG} reproduce: {len(y)} spectra, {len(classes)} classes; split by "
        f"molecule into {len(tr)} train / {len(va)} valid / {len(te)} test"
    )

    # 2. the pipeline and its fit with the validation part for the best checkpoint
    params = _classifier_params(args, settings)
    params["monitor"] = args.monitor
    pipe = make_raman_pipeline(wn, **params)
    t = time.perf_counter()
    best, final = fit_with_validation(
        pipe,
        X[tr],
        y[tr],
        X[va],
        y[va],
        callbacks=[("progress", EpochProgress(desc="training", disable=args.quiet))],
    )
    timings["train_s"] = time.perf_counter() - t
    clf = best[-1]

    # 3. held-out test part
    t = time.perf_counter()
    held = score_predictions(y[te], best.predict(X[te]), labels=classes)
    held_final = score_predictions(y[te], final.predict(X[te]), labels=classes)
    pre = best[:-1]
    X_grid = pre.transform(X)  # stateless steps: same for every part
    checker = NearestSpectrumChecker().fit(X_grid[tr], groups=groups[tr])
    check_test = checker.check(X_grid[te])
    domain_summary = {
        "reference": "training part on the network's input grid",
        "threshold": checker.threshold_,
        "min_effective_width": checker.min_effective_width_,
        "min_peak_fwhm": checker.min_peak_fwhm_,
        "test_similarity_median": float(check_test["similarity"].median()),
        "test_similarity_min": float(check_test["similarity"].min()),
        "test_flagged": int(check_test["out_of_domain"].sum()),
        "test_n": len(check_test),
    }
    cleaning = cleaning_change(X, X_grid) if X.shape == X_grid.shape else None
    timings["evaluate_s"] = time.perf_counter() - t

    # 4. models: two save_pipeline directories, each with its domain checker
    t = time.perf_counter()
    for name, p in zip(MODEL_DIRS, (best, final), strict=True):
        save_pipeline(p, model / name)
        save_domain_checker(checker, model / name, wavenumbers=_grid_of(pre, X_grid))
    history = history_frame(clf)
    _write_csv(logs / "training_log.csv", history)
    timings["save_s"] = time.perf_counter() - t

    # 5. leaky comparison (cheap baselines always, the CNN on request)
    t = time.perf_counter()
    leaky_aug = SpectralAugmenter(n_copies=settings["n_copies"], random_state=args.seed)
    comparison = baseline_comparison(
        X_grid, y, np.concatenate([tr, va]), te, leaky_aug, random_state=args.seed
    )
    comparison.insert(
        0,
        {
            "model": "1D CNN (this run)",
            "protocol": "grouped",
            "accuracy": held["accuracy"],
            "macro_f1": held["macro_f1"],
            "weighted_f1": held["weighted_f1"],
            "n_test": held["n_samples"],
            "fit_predict_s": timings["train_s"],
        },
    )
    leaky_cnn = None
    if args.leaky_cnn:
        cnn = make_raman_pipeline(
            wn,
            **{
                **_classifier_params(args, settings),
                "callbacks": [
                    ("progress", EpochProgress(desc="leaky CNN", disable=args.quiet))
                ],
            },
        )[-1]
        leaky_cnn = leaky_evaluation(cnn, X_grid, y, leaky_aug, random_state=args.seed)
        comparison.insert(
            1,
            {
                "model": "1D CNN",
                "protocol": "leaky",
                "accuracy": leaky_cnn["accuracy"],
                "macro_f1": leaky_cnn["macro_f1"],
                "weighted_f1": leaky_cnn["weighted_f1"],
                "n_test": leaky_cnn["n_samples"],
                "fit_predict_s": leaky_cnn["fit_predict_s"],
            },
        )
    timings["leaky_comparison_s"] = time.perf_counter() - t

    # 6. optional grouped K-fold CV of the whole pipeline (fixed-epoch recipe)
    cv = None
    if args.cv:
        t = time.perf_counter()
        cv_pipe = make_raman_pipeline(
            wn,
            **{
                **_classifier_params(args, settings),
                "callbacks": [
                    ("progress", EpochProgress(desc="CV fold", disable=args.quiet))
                ],
            },
        )
        cv = grouped_cross_validate(
            cv_pipe, X, y, groups, n_splits=args.cv, random_state=args.seed
        )
        timings["cv_s"] = time.perf_counter() - t

    # 7. Integrated Gradients on the best pipeline, all 194 spectra
    t = time.perf_counter()
    ig = IGExplainer(
        best,
        n_steps=settings["ig_n_steps"],
        n_per_class=settings["ig_n_per_class"],
        precision="float32",  # completeness within tolerance, whatever the training
        random_state=args.seed,
        verbose=0 if args.quiet else 1,
    )
    with warnings.catch_warnings(record=True) as caught, _torch_threads(args.threads):
        warnings.simplefilter("always", UserWarning)
        ig.fit(X, y)
    ig_warnings = sorted({str(w.message) for w in caught})
    regions = ig.regions_
    _write_csv(logs / "key_spectral_regions.csv", regions)
    _write_npz(logs / "saliency_maps.npz", ig.to_npz_dict())
    timings["ig_s"] = time.perf_counter() - t

    # 8. figures
    t = time.perf_counter()
    _reproduce_figures(
        figures, y, history, held, ig, X_grid, classes, clf.best_epoch_, args.monitor
    )
    timings["figures_s"] = time.perf_counter() - t

    # 9. evaluation.json, REPORT.md, model_config.json
    notes = [
        "The best checkpoint is the epoch with the "
        + (
            "lowest validation loss"
            if args.monitor == "valid_loss"
            else "highest validation accuracy, earliest on ties"
        )
        + f" (epoch {clf.best_epoch_} of {settings['epochs']}), chosen on the "
        "validation molecules, never on the test part.",
        "The CNN under the leaky protocol "
        + (
            "is in the table above."
            if args.leaky_cnn
            else "is left out by default because it doubles the training time; "
            "run `raman-sk reproduce --leaky-cnn` to add it."
        ),
        "Cross-validation: "
        + (
            f"grouped {args.cv}-fold, above."
            if cv
            else "off by default (K more fits of the CNN); add `--cv 5`."
        ),
    ]
    if args.quick:
        notes.insert(
            0, "**--quick smoke run: tiny network, 2 epochs; numbers are meaningless.**"
        )
    evaluation = {
        "protocol": "grouped train/valid/test split by molecule, before augmentation",
        "seed": args.seed,
        "split": split,
        "held_out": held,
        "held_out_final": held_final,
        "best_epoch": clf.best_epoch_,
        "comparison": comparison,
        "leaky_cnn": leaky_cnn,
        "cv": cv,
        "out_of_domain": domain_summary,
        "cleaning_change": cleaning,
        "notes": notes,
    }
    _write_json(tmp / "evaluation.json", evaluation)
    _write_text(tmp / "REPORT.md", format_report(evaluation))
    last = history.iloc[-1]
    config = {
        "architecture": _architecture(clf),
        "recipe": {
            "pipeline": [name for name, _ in best.steps],
            "preprocessing": {
                name: _short_params(step.get_params(deep=False))
                for name, step in best.steps[:-1]
            },
            "optimizer": "Adam",
            "lr": clf.lr,
            "weight_decay": clf.weight_decay,
            "scheduler": "CosineAnnealingLR",
            "max_epochs": settings["epochs"],
            "batch_size": clf.batch_size,
            "balance_classes": clf.balance_classes,
            "augmenter": _jsonable(clf.augmenter.get_params())
            if clf.augmenter is not None
            else None,
            "monitor": args.monitor,
            "precision": args.precision,
            "device": args.device,
            "quick": bool(args.quick),
        },
        "classes": classes,
        "metrics": {
            "test_accuracy": held["accuracy"],
            "test_macro_f1": held["macro_f1"],
            "test_weighted_f1": held["weighted_f1"],
            "test_accuracy_final": held_final["accuracy"],
            "best_epoch": clf.best_epoch_,
            "best_valid_loss": float(history["valid_loss"].min()),
            "best_valid_acc": float(history["valid_acc"].max()),
            "final_train_loss": float(last["train_loss"]),
            "final_valid_acc": float(last["valid_acc"]),
            "cv": cv,
        },
        "seed": args.seed,
        "split": split,
        "explainer": {
            "n_per_class": settings["ig_n_per_class"],
            "n_steps": settings["ig_n_steps"],
            "region_map": ig.region_map,
            "max_relative_delta": float(np.max(ig.relative_delta_)),
            "warnings": ig_warnings,
        },
        "models": {
            "best_model": "weights of the best validation epoch (save_pipeline dir)",
            "final_model": "weights after the last epoch (save_pipeline dir)",
        },
        "versions": _versions(),
        "timings": timings,
    }
    _write_json(model / "model_config.json", config)
    return {
        "held": held,
        "held_final": held_final,
        "best_epoch": clf.best_epoch_,
        "epochs": settings["epochs"],
        "comparison": comparison,
        "cv": cv,
        "timings": timings,
        "split": split,
        "precision": args.precision,
        "device": args.device,
    }


def _grid_of(pre, X_grid):
    from raman_sk.pipeline import find_step
    from raman_sk.preprocessing import WavenumberResampler

    step = find_step(pre, WavenumberResampler)
    grid = getattr(step, "wavenumbers_out_", None) if step is not None else None
    return grid if grid is not None and len(grid) == X_grid.shape[1] else None


def _reproduce_figures(
    figures: Path,
    y,
    history,
    held,
    ig,
    X_grid,
    classes,
    best_epoch=None,
    monitor="valid_acc",
) -> None:
    from raman_sk import plotting

    _save_figure(
        plotting.plot_class_distribution(y), figures / "class_distribution.png"
    )
    fig = plotting.plot_training_curves(history)
    if best_epoch is not None:
        for ax in fig.axes:
            ax.axvline(
                best_epoch,
                color="tab:green",
                ls=":",
                lw=1.2,
                label=f"best checkpoint (epoch {best_epoch}, {monitor})",
            )
            ax.legend(fontsize="small")
    _save_figure(fig, figures / "training_curves.png")
    _save_figure(
        plotting.plot_confusion_matrix(
            np.asarray(held["confusion_matrix"]), labels=held["labels"]
        ),
        figures / "confusion_matrix.png",
    )
    for c in classes:
        _save_figure(
            plotting.plot_explainer_saliency(ig, c, X_grid, y),
            figures / f"saliency_{c.lower()}.png",
        )
    _save_figure(
        plotting.plot_explainer_heatmap(ig), figures / "saliency_heatmap_all.png"
    )


def _print_summary(console: _Console, out: Path, s: dict) -> None:
    held, tm = s["held"], s["timings"]
    rows = [
        ("output", str(out)),
        (
            "held-out test",
            f"accuracy {held['accuracy']:.3f}, macro-F1 {held['macro_f1']:.3f}, "
            f"weighted-F1 {held['weighted_f1']:.3f} "
            f"({held['n_samples']} spectra, {s['split']['groups_test']} molecules)",
        ),
        (
            "final epoch",
            f"accuracy {s['held_final']['accuracy']:.3f} (best epoch "
            f"{s['best_epoch']} of {s['epochs']})",
        ),
    ]
    for r in s["comparison"]:
        if r["model"].startswith("1D CNN (this"):
            continue
        rows.append(
            (f"{r['model']} [{r['protocol']}]", f"accuracy {r['accuracy']:.3f}")
        )
    if s["cv"]:
        cv = s["cv"]
        rows.append(
            (
                f"grouped {cv['n_splits']}-fold CV",
                f"accuracy {cv['accuracy_mean']:.3f} ± {cv['accuracy_std']:.3f}",
            )
        )
    rows.append(
        (
            "wall time",
            f"{s['total_s']:.0f} s (training {tm['train_s']:.0f} s, IG "
            f"{tm['ig_s']:.0f} s, figures {tm['figures_s']:.0f} s; "
            f"{s['precision']} on {s['device']})",
        )
    )
    console.say("")
    console.say(_table(rows))
    console.say(
        "(leaky rows: augment-then-split, NOT the model's accuracy; see REPORT.md)"
    )


# -------------------------------------------------------- users' own spectra
def _read(paths):
    from raman_sk.datasets import read_spectra

    return read_spectra([Path(p) for p in paths])


def _read_labels(path: Path) -> pd.DataFrame:
    if not Path(path).is_file():
        raise FileNotFoundError(f"labels file {str(path)!r} does not exist.")
    raw = Path(path).read_bytes()
    # like read_spectra: UTF-8 (with or without BOM), else Latin-1 (never fails)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise ValueError(f"labels file {str(path)!r} is not a readable CSV: {e}") from e
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "label" not in frame.columns or not ({"file", "source"} & set(frame.columns)):
        raise ValueError(
            f"labels file {str(path)!r} needs the columns 'file' (or 'source') and "
            f"'label' (optional: 'group'); it has {list(frame.columns)}."
        )
    for col in frame.columns:
        frame[col] = frame[col].astype(object).map(lambda v: str(v).strip())
    if (frame["label"] == "").any():
        rows = (np.flatnonzero(frame["label"] == "") + 2).tolist()
        raise ValueError(
            f"labels file {str(path)!r} has empty labels on line(s) {rows}."
        )
    return frame


def _match_labels(spectra, labels: pd.DataFrame, labels_path: Path):
    """Label (and group) of each spectrum read, by source or by file name."""
    sources = list(spectra.sources)
    paths = [Path(m["path"]) for m in spectra.metadata]
    by_source, by_file = {}, {}
    if "source" in labels.columns:
        for i, row in labels.iterrows():
            if row["source"]:
                by_source[row["source"]] = i
    if "file" in labels.columns:
        for i, row in labels.iterrows():
            if row.get("file", ""):
                by_file.setdefault(Path(row["file"]).name, []).append(i)
    for name, rows in by_file.items():
        if len(rows) > 1:
            raise ValueError(
                f"labels file {str(labels_path)!r} lists the file {name!r} "
                f"{len(rows)} times; give one row per file (or use a 'source' "
                "column for multi-spectrum files)."
            )
    chosen, missing = [], []
    for src, path in zip(sources, paths, strict=True):
        if src in by_source:
            chosen.append(by_source[src])
        elif path.name in by_file:
            chosen.append(by_file[path.name][0])
        else:
            chosen.append(None)
            missing.append(src)
    if missing:
        raise ValueError(
            f"no label for {len(missing)} spectrum(s) in {str(labels_path)!r}: "
            f"{missing[:5]}{' ...' if len(missing) > 5 else ''}; add rows whose "
            "'file' is the file name (or whose 'source' is the spectrum's source)."
        )
    unused = sorted(set(range(len(labels))) - set(chosen))
    if unused:
        show = labels.iloc[unused[:5]]
        names = (show["file"] if "file" in show else show["source"]).tolist()
        raise ValueError(
            f"{len(unused)} row(s) of {str(labels_path)!r} match no spectra file "
            f"given: {names}{' ...' if len(unused) > 5 else ''}."
        )
    rows = labels.iloc[chosen]
    y = rows["label"].to_numpy(dtype=object)
    if "group" in labels.columns and (rows["group"] != "").all():
        groups = rows["group"].to_numpy(dtype=object)
    else:  # replicates in one file stay together
        groups = np.asarray([str(p) for p in paths], dtype=object)
    return y, groups


def _user_pipeline(args, *, n_copies: int, epochs_default: int = 80):
    from raman_sk.pipeline import make_raman_pipeline

    settings = dict(QUICK if args.quick else FULL)
    epochs = (
        args.epochs
        if args.epochs is not None
        else (QUICK["epochs"] if args.quick else epochs_default)
    )
    if epochs < 1:
        raise ValueError(f"--epochs must be >= 1, got {epochs}.")
    settings["epochs"] = epochs
    if n_copies < 0:
        raise ValueError(f"--n-copies must be >= 0, got {n_copies}.")
    params = _classifier_params(args, settings, n_copies=n_copies)
    return make_raman_pipeline(None, coverage=args.coverage, **params)


def _cmd_train(args) -> int:
    from raman_sk import save_pipeline
    from raman_sk.domain import NearestSpectrumChecker, save_domain_checker
    from raman_sk.pipeline import EpochProgress, history_frame

    console = _Console(args.quiet)
    out = Path(args.out)
    _check_output_dir(out, args.overwrite)
    labels = _read_labels(args.labels)
    spectra = _read(args.spectra)
    y, groups = _match_labels(spectra, labels, args.labels)
    if len(np.unique(y)) < 2:
        raise ValueError(f"training needs at least 2 classes; got {np.unique(y)}.")
    pipe = _user_pipeline(args, n_copies=args.n_copies)
    pipe[-1].set_params(
        callbacks=[("progress", EpochProgress(desc="training", disable=args.quiet))]
    )
    t = time.perf_counter()
    with _quiet_context(args.quiet):
        pipe.fit(spectra.spectra, y)
    elapsed = time.perf_counter() - t
    pipe[-1].callbacks = None
    X_grid = pipe[:-1].transform(spectra.spectra)
    checker = NearestSpectrumChecker().fit(X_grid, groups=groups)
    with _staging(out) as tmp:
        save_pipeline(pipe, tmp)
        save_domain_checker(checker, tmp, wavenumbers=_grid_of(pipe[:-1], X_grid))
        _write_csv(tmp / "training_log.csv", history_frame(pipe))
    console.say(
        _table(
            [
                ("model", str(out)),
                ("spectra", f"{len(y)} ({len(np.unique(groups))} groups)"),
                ("classes", ", ".join(str(c) for c in pipe[-1].classes_)),
                ("epochs", str(pipe[-1].max_epochs)),
                ("training time", f"{elapsed:.1f} s"),
            ]
        )
    )
    return 0


def _cmd_evaluate(args) -> int:
    from raman_sk.evaluation import grouped_cross_validate
    from raman_sk.pipeline import EpochProgress

    console = _Console(args.quiet)
    if args.cv < 2:
        raise ValueError(f"--cv must be >= 2, got {args.cv}.")
    labels = _read_labels(args.labels)
    spectra = _read(args.spectra)
    y, groups = _match_labels(spectra, labels, args.labels)
    pipe = _user_pipeline(args, n_copies=args.n_copies)
    pipe[-1].set_params(
        callbacks=[("progress", EpochProgress(desc="CV fold", disable=args.quiet))]
    )
    with _quiet_context(args.quiet):
        report = grouped_cross_validate(
            pipe, spectra.spectra, y, groups, n_splits=args.cv, random_state=args.seed
        )
    report["n_spectra"] = int(len(y))
    report["n_groups"] = int(len(np.unique(groups)))
    if args.out is not None:
        _write_json(Path(args.out), report)
    console.say(
        _table(
            [("spectra", f"{len(y)} ({report['n_groups']} groups)")]
            + [
                (
                    name,
                    f"{report[name + '_mean']:.3f} ± {report[name + '_std']:.3f}",
                )
                for name in ("accuracy", "macro_f1", "weighted_f1")
            ]
        )
    )
    return 0


def _load_model(model_dir: Path, *, coverage=None, device=None):
    from raman_sk import load_pipeline
    from raman_sk.domain import load_domain_checker
    from raman_sk.pipeline import find_step
    from raman_sk.preprocessing import WavenumberResampler

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise FileNotFoundError(f"model directory {str(model_dir)!r} does not exist.")
    pipe = load_pipeline(model_dir, device=device)
    checker = load_domain_checker(model_dir)
    n_net = getattr(pipe[-1], "n_features_in_", None)
    if checker is not None and n_net is not None and checker.n_features_in_ != n_net:
        raise ValueError(
            f"{str(model_dir / 'domain.npz')!r} holds reference spectra of "
            f"{checker.n_features_in_} points, but the network takes {n_net}: the "
            "out-of-domain checker does not belong to this model."
        )
    if coverage is not None:
        step = find_step(pipe, WavenumberResampler)
        if step is None:
            raise ValueError(
                f"--coverage given, but the model in {str(model_dir)!r} has no "
                "WavenumberResampler step."
            )
        step.set_params(coverage=coverage)
    return pipe, checker


@contextlib.contextmanager
def _coverage_hint():
    """Add the command-line spelling to the resampler's coverage error."""
    try:
        yield
    except ValueError as exc:
        if "coverage=" in str(exc):
            raise ValueError(
                f"{exc} On the command line: --coverage fill (or edge)."
            ) from exc
        raise


def _cmd_predict(args) -> int:
    from raman_sk.pipeline import predict_table

    pipe, checker = _load_model(args.model, coverage=args.coverage, device=args.device)
    if args.ood_threshold is not None:
        if not -1.0 <= args.ood_threshold <= 1.0:
            raise ValueError(
                f"--ood-threshold must be a correlation in [-1, 1], got "
                f"{args.ood_threshold}."
            )
        if checker is None:
            raise ValueError(
                f"--ood-threshold given, but {str(args.model)!r} has no "
                "out-of-domain checker (domain.npz)."
            )
        checker.threshold_ = float(args.ood_threshold)
    spectra = _read(args.spectra)
    with _coverage_hint():
        table = predict_table(pipe, spectra.spectra, spectra.sources, checker)
    if checker is None:
        print(
            f"{PROG}: warning: {args.model} has no out-of-domain checker "
            "(domain.npz); the out-of-domain columns are left empty.",
            file=sys.stderr,
        )
    if args.out is None:
        sys.stdout.write(table.to_csv(index=False))
    else:
        _write_csv(Path(args.out), table)
    flagged = table["out_of_domain"].fillna(False).astype(bool)
    if flagged.any():
        print(
            f"{PROG}: warning: {int(flagged.sum())} of {len(table)} spectra are "
            "unlike the training spectra (out_of_domain); their labels are "
            "unreliable.",
            file=sys.stderr,
        )
    return 0


def _cmd_explain(args) -> int:
    from raman_sk import IGExplainer, plotting

    console = _Console(args.quiet)
    out = Path(args.out)
    _check_output_dir(out, args.overwrite)
    pipe, _ = _load_model(args.model, coverage=args.coverage)
    spectra = _read(args.spectra)
    X = spectra.spectra
    with _coverage_hint():
        pred = pipe.predict(X)
    targets = pred if args.target is None else np.full(len(pred), args.target)
    with _quiet_context(args.quiet):
        ig = IGExplainer(
            pipe,
            n_steps=args.n_steps,
            n_per_class=1,
            precision="float32",
            random_state=0,
            verbose=0,
        ).fit(X, targets)
        attributions = ig.explain(X, target=targets)
    X_grid = pipe[:-1].transform(X) if len(pipe.steps) > 1 else np.asarray(X)
    wn = np.asarray(ig.wavenumbers_, dtype=float)
    table = pd.DataFrame(attributions, columns=[f"{w:g}" for w in wn])
    table.insert(0, "target", [str(t) for t in targets])
    table.insert(0, "predicted", [str(p) for p in pred])
    table.insert(0, "source", list(spectra.sources))
    with _staging(out) as tmp:
        _write_csv(tmp / "attributions.csv", table)
        for i, (src, target) in enumerate(zip(spectra.sources, targets, strict=True)):
            ax = plotting.plot_attribution(
                wn, X_grid[i], attributions[i], title=f"{src}: IG for {target}"
            )
            _save_figure(ax, tmp / f"attribution_{i:03d}_{_slug(Path(src).stem)}.png")
    console.say(f"wrote {len(table)} attributions and figures to {out}")
    return 0


# --------------------------------------------------------------------- main
def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, KeyError):  # str(KeyError) adds quotes
        text = f"missing key {text}"
    return " ".join(text.split())


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(
        f"{PROG}: warning: {' '.join(str(message).split())} ({category.__name__})",
        file=sys.stderr,
    )


def main(argv=None) -> int:
    """Run the ``raman-sk`` command.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 on success, 2 on a usage or input error (one line
        ``raman-sk: error: ...`` on stderr), 130 when interrupted.

    Examples
    --------
    >>> main(["predict", "no/such/model", "a.txt"])
    2
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return int(exc.code or 0)
    try:
        if getattr(args, "precision", None) == "auto":
            args.precision = auto_precision(args.device)
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return int(args.func(args) or 0)
    except (ValueError, TypeError, OSError, ModuleNotFoundError) as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"{PROG}: interrupted; earlier outputs were left as they were.",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
