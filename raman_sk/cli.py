"""The ``raman-sk`` command line: argparse and thin commands, no maths.

Subcommands: ``reproduce`` (the main job of :mod:`raman_sk.reproduce` on the
bundled ramanbiolib database), ``train`` (fit the standard pipeline on the
user's spectra files and a labels CSV), ``evaluate`` (grouped K-fold
cross-validation report), ``predict`` (labels, probabilities and the
out-of-domain check of new spectra files) and ``explain`` (Integrated Gradients
attributions: a CSV and one figure per spectrum).

Every computation lives in the library; this module reads arguments, calls it,
writes files atomically and reports. ``ValueError``, ``TypeError`` and
``OSError`` (missing files included) become one line ``raman-sk: error: ...``
on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

# COVERAGES (the --coverage choices) stays importable from here, as before
from raman_sk._cli_parser import COVERAGES, PROG  # noqa: F401
from raman_sk.utils._files import (
    check_output_dir,
    staged_directory,
    write_csv,
    write_json,
    write_png,
)

__all__ = ["build_parser", "main"]


def _console(quiet: bool):
    """Return the command's ``say(text)``: a line on stdout, nothing under --quiet."""

    def say(text: str = "") -> None:
        if not quiet:
            print(text, flush=True)

    return say


def _slug(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).lower()).strip("_") or "class"


def _quiet_context(quiet: bool):
    """Silence library warnings under ``--quiet``."""
    stack = contextlib.ExitStack()
    if quiet:
        stack.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")
    return stack


@contextlib.contextmanager
def _option_hint(exc_type, marker: str, hint: str):
    """Add the command-line spelling to a library error that names ``marker``."""
    try:
        yield
    except exc_type as exc:
        if marker in str(exc):
            raise exc_type(f"{exc} {hint}") from exc
        raise


def _coverage_hint():
    hint = ("On the command line: --coverage edge (or fill, for spectra whose "
            "baseline is already at 0).")
    return _option_hint(ValueError, "coverage=", hint)


# ------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """Build the ``raman-sk`` argument parser (see :mod:`raman_sk._cli_parser`).

    Returns
    -------
    argparse.ArgumentParser
        The parser with the ``reproduce``, ``train``, ``evaluate``,
        ``predict`` and ``explain`` subcommands.
    """
    from raman_sk._cli_parser import build_parser as build

    return build({
        "reproduce": _cmd_reproduce,
        "train": _cmd_train,
        "evaluate": _cmd_evaluate,
        "predict": _cmd_predict,
        "explain": _cmd_explain,
    })


# ---------------------------------------------------------------- settings
def _check_option(args, name: str, low: int, *, allow=()) -> None:
    value = getattr(args, name)
    if value is not None and value < low and value not in allow:
        spelled = "--" + name.replace("_", "-")
        off = " or ".join(f"{a} (off)" for a in allow)
        bound = f"{off} or >= {low}" if off else f">= {low}"
        raise ValueError(f"{spelled} must be {bound}, got {value}.")


def _settings(args, **options):
    """Return the run's :class:`~raman_sk.reproduce.Settings` from the options."""
    from raman_sk.reproduce import Settings

    for name in ("epochs", "batch_size", "threads", "input_binning", "mask_width"):
        _check_option(args, name, 1)
    _check_option(args, "mask_windows", 0)
    recipe = options.pop("recipe", getattr(args, "recipe", "seed"))
    return Settings.make(
        recipe=recipe,  # train, evaluate: one network unless told
        quick=args.quick,
        epochs=args.epochs,
        batch_size=args.batch_size,
        precision=args.precision,
        device=args.device,
        threads=args.threads,
        seed=args.seed,
        pretrained=args.pretrained,
        mixup=args.mixup,
        input_binning=args.input_binning,
        mask_windows=args.mask_windows,
        mask_width=args.mask_width,
        **options,
    )


# ---------------------------------------------------------------- reproduce
def _cmd_reproduce(args) -> int:
    from raman_sk.reproduce import format_summary, reproduce

    say = _console(args.quiet)
    check_output_dir(args.out, args.overwrite)
    _check_option(args, "cv", 2, allow=(0,))  # 1 is wrong for every recipe
    if args.cv == 0 and args.recipe != "seed":
        raise ValueError(
            "--cv 0 (off) works only with --recipe seed; the cv-committee recipe "
            "needs K >= 2 folds."
        )
    settings = _settings(
        args, monitor=args.monitor, cv=args.cv, leaky_cnn=args.leaky_cnn
    )
    hint = "On the command line, give that directory as --data PATH."
    data_hint = _option_hint(ModuleNotFoundError, "path=", hint)
    with _quiet_context(args.quiet), data_hint:
        summary = reproduce(
            args.out,
            settings,
            data=args.data,
            overwrite=args.overwrite,
            log=say,
            verbose=not args.quiet,
        )
    say("")
    say(format_summary(summary))
    return 0


# -------------------------------------------------------- users' own spectra
def _read(args):
    from raman_sk.datasets import read_spectra

    return read_spectra(
        [Path(p) for p in args.spectra], excitation_nm=args.excitation_nm
    )


def _user_pipeline(args, progress: str, *, committee: int = 0):
    from raman_sk.classifier import EpochProgress
    from raman_sk.pipeline import make_raman_pipeline
    from raman_sk.reproduce import classifier_params

    _check_option(args, "n_copies", 0)
    options = {"n_copies": args.n_copies}
    if committee:
        options.update(recipe="cv-committee", cv=committee)
    settings = _settings(args, **options)
    callbacks = [("progress", EpochProgress(desc=progress, disable=args.quiet))]
    return make_raman_pipeline(
        None,
        coverage=args.coverage,
        committee_cv=settings.cv if committee else None,
        **classifier_params(settings, callbacks=callbacks),
    )


def _labelled(args):
    from raman_sk.datasets import match_labels, read_labels

    labels = read_labels(args.labels)
    spectra = _read(args)
    y, groups = match_labels(spectra, labels, args.labels)
    return spectra, y, groups


def _cmd_train(args) -> int:
    from raman_sk._report import format_table
    from raman_sk.domain import NearestSpectrumChecker
    from raman_sk.pipeline import history_frame
    from raman_sk.reproduce import save_model

    say = _console(args.quiet)
    _check_option(args, "committee", 2, allow=(0,))
    out = check_output_dir(args.out, args.overwrite)
    spectra, y, groups = _labelled(args)
    if len(np.unique(y)) < 2:
        raise ValueError(f"training needs at least 2 classes; got {np.unique(y)}.")
    pipe = _user_pipeline(args, "training", committee=args.committee)
    fit_params = {f"{pipe.steps[-1][0]}__groups": groups} if args.committee else {}
    start = time.perf_counter()
    with _quiet_context(args.quiet):
        pipe.fit(spectra.spectra, y, **fit_params)
    elapsed = time.perf_counter() - start
    X_grid = pipe[:-1].transform(spectra.spectra)
    rows, calibration = [], None
    if args.committee:
        checker, scores = _committee_extras(pipe, X_grid, y, groups)
        calibration = (scores.calibrator, scores.note)
        rows = scores.rows
        epochs = pipe[-1].estimator.max_epochs
    else:
        checker = NearestSpectrumChecker().fit(X_grid, groups=groups)
        epochs = pipe[-1].max_epochs
    with staged_directory(out) as tmp:
        save_model(tmp, pipe, checker, X_grid, library=(X_grid, groups, y),
                   calibration=calibration)
        write_csv(tmp / "training_log.csv", history_frame(pipe))
    say(
        format_table(
            [
                ("model", str(out)),
                ("spectra", f"{len(y)} ({len(np.unique(groups))} groups)"),
                ("classes", ", ".join(str(c) for c in pipe[-1].classes_)),
                ("epochs", str(epochs)),
                *rows,
                ("training time", f"{elapsed:.1f} s"),
            ]
        )
    )
    return 0


def _committee_extras(pipe, X_grid, y, groups):
    """Checker, calibration and out-of-fold scores of a committee fitted by train."""
    from sklearn.utils import Bunch

    from raman_sk.evaluation import score_predictions
    from raman_sk.reproduce._committee import calibrate, fit_checkers

    classes = sorted({str(c) for c in y})
    data = Bunch(y=np.asarray(y).astype(str), groups=groups, classes=classes)
    cal = calibrate(pipe, data)
    checker, _, _ = fit_checkers(pipe, X_grid, groups)
    names = np.asarray(classes, dtype=object)
    scores = score_predictions(data.y, names[cal.proba.argmax(axis=1)],
                               labels=classes)
    k = len(pipe[-1].estimators_)
    cal.rows = [
        ("out of fold", f"accuracy {scores['accuracy']:.3f}, macro-F1 "
                        f"{scores['macro_f1']:.3f} (grouped {k}-fold)"),
        ("prediction sets", f"coverage {cal.record['conformal_coverage']:.3f}, "
                            f"mean size {cal.record['conformal_mean_set_size']:.2f} "
                            f"(alpha {cal.record['conformal_alpha']:g}, cross-fitted)"),
    ]
    return checker, cal


def _cmd_evaluate(args) -> int:
    from raman_sk._report import format_table
    from raman_sk.evaluation import grouped_cross_validate

    say = _console(args.quiet)
    _check_option(args, "cv", 2)
    spectra, y, groups = _labelled(args)
    pipe = _user_pipeline(args, "CV fold")
    with _quiet_context(args.quiet):
        report = grouped_cross_validate(
            pipe, spectra.spectra, y, groups, n_splits=args.cv, random_state=args.seed
        )
    report["n_spectra"] = int(len(y))
    report["n_groups"] = int(len(np.unique(groups)))
    if args.out is not None:
        write_json(args.out, report)
    say(
        format_table(
            [("spectra", f"{len(y)} ({report['n_groups']} groups)")]
            + [
                (name, f"{report[name + '_mean']:.3f} ± {report[name + '_std']:.3f}")
                for name in ("accuracy", "macro_f1", "weighted_f1")
            ]
        )
    )
    return 0


def _load_model(model_dir: Path, *, coverage=None, device=None):
    from raman_sk import load_pipeline
    from raman_sk.calibration import load_calibration
    from raman_sk.domain import load_domain_checker
    from raman_sk.library import load_library
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
    library = load_library(model_dir)
    if library is not None and n_net is not None and library.n_features_in_ != n_net:
        raise ValueError(
            f"{str(model_dir / 'library.npz')!r} holds spectra of "
            f"{library.n_features_in_} points, but the network takes {n_net}."
        )
    parts = {"checker": checker, "calibrator": load_calibration(model_dir),
             "library": library}
    if coverage is not None:
        step = find_step(pipe, WavenumberResampler)
        if step is None:
            raise ValueError(
                f"--coverage given, but the model in {str(model_dir)!r} has no "
                "WavenumberResampler step."
            )
        step.set_params(coverage=coverage)
    return pipe, parts


#: What predict says when a model directory lacks one of its parts.
_MISSING = {
    "checker": "no out-of-domain checker (domain.npz); the out-of-domain columns "
    "are left empty",
    "calibrator": "no calibration (calibration.json; only the main job fits one, "
    "on out-of-fold predictions): prob_* are the network's raw probabilities, "
    "calibrated is False and prediction_set is left empty",
    "library": "no molecule library (library.npz, from an older raman_sk); the "
    "nearest_* columns are left empty",
}


def _warn_missing(model, parts) -> None:
    for key, text in _MISSING.items():
        if parts[key] is None:
            print(f"{PROG}: warning: {model} has {text}.", file=sys.stderr)



def _cmd_predict(args) -> int:
    from raman_sk.pipeline import predict_table

    pipe, parts = _load_model(args.model, coverage=args.coverage, device=args.device)
    checker = parts["checker"]
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
    spectra = _read(args)
    with _coverage_hint():
        table = predict_table(pipe, spectra.spectra, spectra.sources, **parts)
    _warn_missing(args.model, parts)
    if args.out is None:
        sys.stdout.write(table.to_csv(index=False))
    else:
        write_csv(args.out, table)
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
    from raman_sk.pipeline import predict_table, prediction_header

    say = _console(args.quiet)
    out = check_output_dir(args.out, args.overwrite)
    pipe, parts = _load_model(args.model, coverage=args.coverage)
    spectra = _read(args)
    X = spectra.spectra
    with _coverage_hint():
        pred = pipe.predict(X)
        head = predict_table(pipe, X, spectra.sources, **parts)
    targets = pred if args.target is None else np.full(len(pred), args.target)
    with _quiet_context(args.quiet), warnings.catch_warnings():
        # only per-spectrum attributions are drawn: no class map is missing
        warnings.filterwarnings("ignore", message="no spectra of class")
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
    with staged_directory(out) as tmp:
        write_csv(tmp / "attributions.csv", table)
        write_csv(tmp / "predictions.csv", head)
        for i, (src, target) in enumerate(zip(spectra.sources, targets, strict=True)):
            title = f"{prediction_header(head.iloc[i])}\nIG for {target}"
            ax = plotting.plot_attribution(wn, X_grid[i], attributions[i], title=title)
            write_png(tmp / f"attribution_{i:03d}_{_slug(Path(src).stem)}.png", ax)
    if not args.quiet:
        _warn_missing(args.model, parts)
    for i in range(len(head)):
        say(prediction_header(head.iloc[i]).replace("\n", "; "))
    say(f"wrote {len(table)} attributions, predictions.csv and figures to {out}")
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
            from raman_sk.utils._torch import auto_precision

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
