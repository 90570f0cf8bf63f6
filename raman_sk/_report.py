"""What the main job records and how it reads: the JSON records and the texts.

``evaluation.json`` and ``model/model_config.json`` are laid out here from the
results of :mod:`raman_sk.reproduce`'s steps; ``REPORT.md`` and the console
summary render them. Nothing here computes a score.
"""

from __future__ import annotations

import inspect

import numpy as np

from raman_sk.evaluation import SCORING
from raman_sk.utils._files import jsonable

__all__ = [
    "evaluation_record",
    "format_report",
    "format_summary",
    "format_table",
    "model_config",
]


def _fmt(value, digits=3):
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def format_table(rows: list[tuple[str, str]]) -> str:
    """Align ``(key, value)`` rows into two indented columns.

    Examples
    --------
    >>> print(format_table([("a", "1"), ("long", "2")]))
      a     1
      long  2
    """
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


def _held_out_section(evaluation: dict) -> list[str]:
    held = evaluation["held_out"]
    split = evaluation.get("split", {})
    lines = [
        "## Held-out test part (the honest number)",
        "",
        "Split from the original spectra by molecule (grouped, stratified) before "
        "any augmentation: "
        f"{split.get('n_train', '?')} training, {split.get('n_valid', '?')} "
        f"validation (best checkpoint), {split.get('n_test', '?')} test spectra "
        f"({split.get('groups_test', '?')} molecules that the network never saw).",
        "",
        "| metric | best checkpoint | final epoch |",
        "|---|---|---|",
    ]
    final = evaluation.get("held_out_final") or {}
    for key, label in (
        ("accuracy", "accuracy"),
        ("macro_f1", "macro-F1"),
        ("weighted_f1", "weighted-F1"),
    ):
        lines.append(f"| {label} | {_fmt(held[key])} | {_fmt(final.get(key))} |")
    lines += ["", "Per-class recall (best checkpoint):", ""]
    lines += ["| class | recall | test spectra |", "|---|---|---|"]
    cm = np.asarray(held["confusion_matrix"])
    for k, label in enumerate(held["labels"]):
        lines.append(
            f"| {label} | {_fmt(held['per_class_recall'][label])} | "
            f"{int(cm[k].sum())} |"
        )
    lines += ["", "Confusion matrix (rows: true, columns: predicted):", ""]
    lines.append("| | " + " | ".join(held["labels"]) + " |")
    lines.append("|---" * (len(held["labels"]) + 1) + "|")
    for label, row in zip(held["labels"], cm.tolist(), strict=True):
        lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    return lines


def _cv_section(cv: dict) -> list[str]:
    lines = [
        "",
        f"## Grouped {cv['n_splits']}-fold cross-validation of the CNN pipeline",
        "",
        "| metric | mean | std |",
        "|---|---|---|",
    ]
    for name in SCORING:
        lines.append(
            f"| {name} | {_fmt(cv[name + '_mean'])} | {_fmt(cv[name + '_std'])} |"
        )
    return lines


def _comparison_section(comparison: list[dict]) -> list[str]:
    lines = [
        "",
        "## Leaky comparison (NOT the model's accuracy)",
        "",
        "The reference recipe's protocol augments every spectrum first and then "
        "splits the augmented rows at random, so noisy copies of each test spectrum "
        "are in the training data. The `leaky` rows show what that protocol "
        "reports; the `grouped` rows are scored on the held-out test part above.",
        "",
        "| model | protocol | accuracy | macro-F1 | weighted-F1 | test rows |",
        "|---|---|---|---|---|---|",
    ]
    for r in comparison:
        lines.append(
            f"| {r['model']} | {r['protocol']} | {_fmt(r['accuracy'])} | "
            f"{_fmt(r['macro_f1'])} | {_fmt(r['weighted_f1'])} | {r['n_test']} |"
        )
    return lines


def _domain_section(ood: dict) -> list[str]:
    text = (
        "`raman-sk predict` reports each spectrum's Pearson correlation with the "
        "nearest training spectrum on the network's input grid and flags it below "
        f"r = {_fmt(ood['threshold'])} (learnt from the training molecules, "
        "leave-one-molecule-out)"
    )
    if ood.get("min_effective_width") is not None:
        text += (
            ", or when its bands are narrower than any training spectrum's "
            "(effective width below "
            f"{_fmt(ood['min_effective_width'], 1)} points or median peak FWHM "
            f"below {_fmt(ood.get('min_peak_fwhm'), 1)} points)"
        )
    text += (
        ". Held-out test molecules: median r "
        f"{_fmt(ood['test_similarity_median'])}, lowest "
        f"{_fmt(ood['test_similarity_min'])}, {ood['test_flagged']}"
        + (f" of {ood['test_n']}" if "test_n" in ood else "")
        + " flagged."
    )
    return ["", "## Out-of-domain check", "", text]


def _cleaning_section(cleaning: dict) -> list[str]:
    return [
        "",
        "## Cleaning of the (already clean) database spectra",
        "",
        "Resampling + Savitzky-Golay + airPLS + min-max change the database "
        f"spectra by a median relative L2 of {_fmt(cleaning['rel_l2_median'])} "
        f"(90th percentile {_fmt(cleaning['rel_l2_p90'])}); median correlation "
        f"with the original {_fmt(cleaning['corr_median'])}, lowest "
        f"{_fmt(cleaning['corr_min'])}.",
    ]


def format_report(evaluation: dict) -> str:
    """Render an ``evaluation.json`` dictionary as a short Markdown report.

    Parameters
    ----------
    evaluation : dict
        As written by :func:`raman_sk.reproduce.reproduce`: ``held_out`` (a
        :func:`~raman_sk.evaluation.score_predictions` dict), optionally
        ``held_out_final``, ``split`` (sizes), ``comparison`` (rows of
        :func:`~raman_sk.evaluation.baseline_comparison`, possibly with CNN
        rows), ``cv`` (a :func:`~raman_sk.evaluation.grouped_cross_validate`
        dict or None), ``out_of_domain``, ``cleaning_change`` and ``notes``
        (list of str).

    Returns
    -------
    str
        Markdown text.
    """
    lines = ["# raman-sk reproduce: evaluation", ""]
    lines += _held_out_section(evaluation)
    if evaluation.get("cv"):
        lines += _cv_section(evaluation["cv"])
    if evaluation.get("comparison"):
        lines += _comparison_section(evaluation["comparison"])
    if evaluation.get("out_of_domain"):
        lines += _domain_section(evaluation["out_of_domain"])
    if evaluation.get("cleaning_change"):
        lines += _cleaning_section(evaluation["cleaning_change"])
    for note in evaluation.get("notes", []):
        lines += ["", note]
    return "\n".join(lines) + "\n"


def format_summary(summary: dict) -> str:
    """Render the dictionary :func:`raman_sk.reproduce.reproduce` returns as a table.

    Parameters
    ----------
    summary : dict
        With ``out``, ``held``, ``held_final``, ``best_epoch``, ``epochs``,
        ``split``, ``comparison``, ``cv``, ``timings``, ``total_s``,
        ``precision`` and ``device``.

    Returns
    -------
    str
        The aligned rows and a last line that says what the leaky rows are.
    """
    held, tm = summary["held"], summary["timings"]
    rows = [
        ("output", str(summary["out"])),
        (
            "held-out test",
            f"accuracy {held['accuracy']:.3f}, macro-F1 {held['macro_f1']:.3f}, "
            f"weighted-F1 {held['weighted_f1']:.3f} ({held['n_samples']} spectra, "
            f"{summary['split']['groups_test']} molecules)",
        ),
        (
            "final epoch",
            f"accuracy {summary['held_final']['accuracy']:.3f} (best epoch "
            f"{summary['best_epoch']} of {summary['epochs']})",
        ),
    ]
    for r in summary["comparison"]:
        if not r["model"].startswith("1D CNN (this"):
            rows.append(
                (f"{r['model']} [{r['protocol']}]", f"accuracy {r['accuracy']:.3f}")
            )
    cv = summary["cv"]
    if cv:
        rows.append(
            (
                f"grouped {cv['n_splits']}-fold CV",
                f"accuracy {cv['accuracy_mean']:.3f} ± {cv['accuracy_std']:.3f}",
            )
        )
    rows.append(
        (
            "wall time",
            f"{summary['total_s']:.0f} s (training {tm['train_s']:.0f} s, IG "
            f"{tm['ig_s']:.0f} s, figures {tm['figures_s']:.0f} s; "
            f"{summary['precision']} on {summary['device']})",
        )
    )
    return (
        format_table(rows)
        + "\n(leaky rows: augment-then-split, NOT the model's accuracy; "
        "see REPORT.md)"
    )


# ------------------------------------------------------------------ records
def _notes(results, settings) -> list[str]:
    chosen = (
        "lowest validation loss"
        if settings.monitor == "valid_loss"
        else "highest validation accuracy, earliest on ties"
    )
    notes = [
        f"The best checkpoint is the epoch with the {chosen} (epoch "
        f"{results.best_epoch} of {settings.epochs}), chosen on the validation "
        "molecules, never on the test part.",
        "The CNN under the leaky protocol "
        + (
            "is in the table above."
            if settings.leaky_cnn
            else "is left out by default because it doubles the training time; "
            "run `raman-sk reproduce --leaky-cnn` to add it."
        ),
        "Cross-validation: "
        + (
            f"grouped {settings.cv}-fold, above."
            if results.cv
            else "off by default (K more fits of the CNN); add `--cv 5`."
        ),
    ]
    if settings.quick:
        notes.insert(
            0, "**--quick smoke run: tiny network, 2 epochs; numbers are meaningless.**"
        )
    return notes


def evaluation_record(data, results, settings) -> dict:
    """Return the content of ``evaluation.json`` (REPORT.md renders it).

    Parameters
    ----------
    data : Bunch
        From :func:`raman_sk.reproduce.load_data`.
    results : Bunch
        The steps' results gathered by :func:`raman_sk.reproduce.run_experiment`
        (``held``, ``held_final``, ``best``, ``best_epoch``, ``history``,
        ``comparison``, ``leaky_cnn``, ``cv``, ``ig``, ``ig_warnings``,
        ``out_of_domain``, ``cleaning_change``, ``timings``).
    settings : Settings
        The run's options.
    """
    return {
        "protocol": "grouped train/valid/test split by molecule, before augmentation",
        "seed": settings.seed,
        "split": data.split,
        "held_out": results.held,
        "held_out_final": results.held_final,
        "best_epoch": results.best_epoch,
        "comparison": results.comparison,
        "leaky_cnn": results.leaky_cnn,
        "cv": results.cv,
        "out_of_domain": results.out_of_domain,
        "cleaning_change": results.cleaning_change,
        "notes": _notes(results, settings),
    }


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
            out[key] = jsonable(value)
    return out


def _architecture(clf) -> dict:
    from raman_sk.models import RamanCNN1D

    defaults = {
        k: p.default
        for k, p in inspect.signature(RamanCNN1D.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    arch = {"module": type(clf.module_).__qualname__}
    arch.update({k: jsonable(v) for k, v in defaults.items()})
    arch.update({k: jsonable(v) for k, v in clf.get_params_for("module").items()})
    arch["n_features"] = int(clf.n_features_in_)
    arch["n_classes"] = len(clf.classes_)
    arch["n_parameters"] = int(sum(p.numel() for p in clf.module_.parameters()))
    return arch


def _recipe(best, settings) -> dict:
    clf = best[-1]
    return {
        "pipeline": [name for name, _ in best.steps],
        "preprocessing": {
            name: _short_params(step.get_params(deep=False))
            for name, step in best.steps[:-1]
        },
        "optimizer": "Adam",
        "lr": clf.lr,
        "weight_decay": clf.weight_decay,
        "scheduler": "CosineAnnealingLR",
        "max_epochs": settings.epochs,
        "batch_size": clf.batch_size,
        "balance_classes": clf.balance_classes,
        "augmenter": jsonable(clf.augmenter.get_params())
        if clf.augmenter is not None
        else None,
        "monitor": settings.monitor,
        "precision": settings.precision,
        "device": settings.device,
        "quick": bool(settings.quick),
    }


def model_config(data, results, settings) -> dict:
    """Return the content of ``model/model_config.json``.

    Architecture, recipe, classes, test and validation metrics, seed, split,
    explainer settings, what each model directory holds, versions and timings.

    Parameters
    ----------
    data : Bunch
        From :func:`raman_sk.reproduce.load_data`.
    results : Bunch
        The steps' results gathered by :func:`raman_sk.reproduce.run_experiment`
        (``held``, ``held_final``, ``best``, ``best_epoch``, ``history``,
        ``comparison``, ``leaky_cnn``, ``cv``, ``ig``, ``ig_warnings``,
        ``out_of_domain``, ``cleaning_change``, ``timings``).
    settings : Settings
        The run's options.
    """
    from raman_sk.utils._versions import versions

    held, history, ig = results.held, results.history, results.ig
    last = history.iloc[-1]
    return {
        "architecture": _architecture(results.best[-1]),
        "recipe": _recipe(results.best, settings),
        "classes": data.classes,
        "metrics": {
            "test_accuracy": held["accuracy"],
            "test_macro_f1": held["macro_f1"],
            "test_weighted_f1": held["weighted_f1"],
            "test_accuracy_final": results.held_final["accuracy"],
            "best_epoch": results.best_epoch,
            "best_valid_loss": float(history["valid_loss"].min()),
            "best_valid_acc": float(history["valid_acc"].max()),
            "final_train_loss": float(last["train_loss"]),
            "final_valid_acc": float(last["valid_acc"]),
            "cv": results.cv,
        },
        "seed": settings.seed,
        "split": data.split,
        "explainer": {
            "n_per_class": settings.ig_n_per_class,
            "n_steps": settings.ig_n_steps,
            "region_map": ig.region_map,
            "max_relative_delta": float(np.max(ig.relative_delta_)),
            "warnings": results.ig_warnings,
        },
        "models": {
            "best_model": "weights of the best validation epoch (save_pipeline dir)",
            "final_model": "weights after the last epoch (save_pipeline dir)",
        },
        "versions": versions(),
        "timings": results.timings,
    }
