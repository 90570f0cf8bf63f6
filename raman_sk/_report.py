"""How the main job reads: REPORT.md and the console summary.

Both render what :mod:`raman_sk.reproduce` records (``evaluation.json`` and
the summary it returns). Nothing here computes a score.
"""

from __future__ import annotations

import numpy as np

from raman_sk.evaluation import SCORING
from raman_sk.utils._validation import SATURATED_RUN

__all__ = [
    "RECIPE_TEXT",
    "TIME_LABELS",
    "format_report",
    "format_summary",
    "format_table",
]


#: What each recipe is, in a few words.
RECIPE_TEXT = {
    "cv-committee": "a committee over grouped K-fold by molecule, fixed schedule, "
    "scored out of fold on every spectrum and trained on all of them",
    "seed": "the reference recipe: one grouped train/valid/test split, best "
    "checkpoint by validation",
}
#: Each timed step of the main job, as the report names it.
TIME_LABELS = {
    "load_s": "load the database",
    "train_s": "train the CNN (committee: every member)",
    "refit_s": "refit final_model on every spectrum",
    "checker_s": "out-of-domain checker",
    "ood_evaluation_s": "out-of-domain evaluation (synthetic spectra)",
    "calibration_s": "calibration and conformal sets (cross-fitted)",
    "save_s": "save the models",
    "evaluate_s": "score (out of fold, baselines on the same folds)",
    "leaky_comparison_s": "leaky comparison",
    "cv_s": "cross-validation",
    "ig_s": "Integrated Gradients",
    "figures_s": "figures",
}


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
    return lines + [""] + _matrix(held, "Confusion matrix")


def _oof_section(evaluation: dict) -> list[str]:
    oof, cv = evaluation["oof"], evaluation["folds"]
    names = list(oof)
    cnn = oof[names[0]]
    lines = [
        f"## Out-of-fold evaluation over all {cnn['n_samples']} spectra "
        "(the honest number)",
        "",
        f"Grouped, stratified {cv['n_splits']}-fold by molecule "
        f"({cv['n_molecules']} molecules; every fold's molecules are absent from "
        "its training part). Each spectrum is predicted by the committee member "
        "that never saw its molecule; the baselines are fitted and scored on the "
        "same folds, on the network's input (after the same cleaning).",
        "",
        "| model | accuracy | macro-F1 | weighted-F1 |",
        "|---|---|---|---|",
    ]
    for name in names:
        r = oof[name]
        lines.append(
            f"| {name} | {_fmt(r['accuracy'])} | {_fmt(r['macro_f1'])} | "
            f"{_fmt(r['weighted_f1'])} |"
        )
    lines += ["", "Per-class recall:", ""]
    lines.append("| class | spectra | " + " | ".join(names) + " |")
    lines.append("|---" * (len(names) + 2) + "|")
    cm = np.asarray(cnn["confusion_matrix"])
    for k, label in enumerate(cnn["labels"]):
        recalls = " | ".join(_fmt(oof[n]["per_class_recall"][label]) for n in names)
        lines.append(f"| {label} | {int(cm[k].sum())} | {recalls} |")
    lines += [""] + _matrix(cnn, f"Confusion matrix of the CNN over all "
                                 f"{cnn['n_samples']} spectra")
    return lines


def _calibration_section(ev: dict) -> list[str]:
    cal = ev["calibration"]
    alpha = cal["conformal_alpha"]
    lines = [
        "",
        "## Calibration and prediction sets",
        "",
        f"Temperature scaling and split-conformal sets (score 1 - p of the true "
        f"class, alpha = {alpha:g}) on the CNN's out-of-fold probabilities; "
        f"{cal['protocol']}. `figures/reliability.png` shows the reliability "
        "diagram.",
        "",
        "| metric | uncalibrated | calibrated |",
        "|---|---|---|",
    ]
    for key, label in (("ece", "ECE (top label, 10 bins)"), ("brier", "Brier"),
                       ("log_loss", "log-loss")):
        lines.append(
            f"| {label} | {_fmt(ev[key + '_uncalibrated'])} | {_fmt(ev[key])} |"
        )
    sizes = ", ".join(f"{k}: {v}" for k, v in cal["set_size_counts"].items())
    lines += [
        "",
        f"Shipped temperature {_fmt(ev['temperature'])} (folds: "
        + ", ".join(_fmt(t) for t in cal["temperature_folds"])
        + f"); conformal threshold {_fmt(cal['conformal_quantile'])}, fitted on "
        "every out-of-fold row and saved as `calibration.json` with each model.",
        f"Marginal coverage of the sets {_fmt(ev['conformal_coverage'])} (target "
        f"at least {1 - alpha:g}), mean set size "
        f"{_fmt(ev['conformal_mean_set_size'], 2)} (spectra per set size: {sizes}).",
        "",
        "Coverage per class (reported without a target: the sets are marginal):",
        "",
        "| class | spectra | coverage |",
        "|---|---|---|",
    ]
    per_class, counts = ev["conformal_per_class_coverage"], cal["per_class_n"]
    lines += [f"| {c} | {counts[c]} | {_fmt(v)} |" for c, v in per_class.items()]
    few = [c for c, n in counts.items() if (n + 1) * (1 - alpha) > n]
    if few:
        lines += [
            "",
            ", ".join(f"{c} has {counts[c]} spectra" for c in few)
            + f": too few for class-conditional sets at alpha = {alpha:g} (the "
            "threshold of a class needs at least ceil((n + 1)(1 - alpha)) <= n "
            "calibration spectra of it).",
        ]
    lines += [
        "",
        "`best_model` averages its members' probabilities; the calibration was "
        "fitted on the members' own out-of-fold probabilities and is applied to "
        "that average as well.",
    ]
    return lines


def _matrix(scores: dict, title: str) -> list[str]:
    labels, cm = scores["labels"], scores["confusion_matrix"]
    lines = [f"{title} (rows: true, columns: predicted):", ""]
    lines.append("| | " + " | ".join(labels) + " |")
    lines.append("|---" * (len(labels) + 1) + "|")
    for label, row in zip(labels, cm, strict=True):
        lines.append(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
    return lines


def _body(pretrained) -> str:
    if pretrained in (None, "none"):
        return "randomly initialised"
    if pretrained == "synthetic":
        return ("pretrained on synthetic band mixtures (the body bundled with "
                "raman_sk), then trained")
    return f"started from {pretrained}, then trained"


def _models_section(evaluation: dict) -> list[str]:
    models = evaluation["models"]
    lines = ["", "## The shipped models", ""]
    lines += [f"- `{name}`: {text}" for name, text in models.items()]
    schedule = evaluation.get("schedule")
    if schedule:
        lines += [
            "",
            f"Schedule: {schedule['epochs']} epochs, augmented copies per "
            f"spectrum: {schedule['n_copies']}, batch {schedule['batch_size']}, "
            f"label smoothing {schedule.get('label_smoothing') or 0}, "
            + (f"mixup across classes (Beta({schedule['mixup']:g}, "
               f"{schedule['mixup']:g}) weights), " if schedule.get("mixup") else "")
            + (f"input averaged over {schedule['input_binning']} adjacent points, "
               if (schedule.get("input_binning") or 1) > 1 else "")
            + (f"{schedule['mask_windows']} windows of up to "
               f"{schedule['mask_width']} input points masked per training "
               "spectrum, " if schedule.get("mask_windows") else "")
            + (f"dropout {schedule['dropout']:g} / {schedule['head_dropout']:g} "
               "(body / head), " if schedule.get("dropout") is not None else "")
            + f"convolutional body {_body(schedule.get('pretrained'))}; "
            f"{schedule['weights']}.",
        ]
    return lines


def _stability_section(evaluation: dict) -> list[str]:
    stability = evaluation.get("map_stability")
    explainer = evaluation.get("explainer") or {}
    lines = [
        "",
        "## Explanations",
        "",
        f"The saliency maps, `key_spectral_regions.csv` and the saliency figures "
        f"come from `best_model`: {explainer.get('source', 'the shipped model')}.",
    ]
    if stability:
        lines += [
            "",
            "Stability of each class map: Spearman rank correlation between the "
            "members' maps (mean and lowest over the pairs).",
            "",
            "| class | mean Spearman | min Spearman |",
            "|---|---|---|",
        ]
        for row in stability:
            lines.append(
                f"| {row['class']} | {_fmt(row['mean'])} | {_fmt(row['min'])} |"
            )
    return lines


def _cost_section(evaluation: dict) -> list[str]:
    tm, passes = evaluation["timings"], evaluation["sample_passes"]
    lines = [
        "",
        "## Compute",
        "",
        f"Recipe `{evaluation['recipe']}` on {evaluation['cpu']}, "
        f"{evaluation.get('precision', '?')} on {evaluation.get('device', '?')}.",
        "",
        "Training sample-passes (augmented training rows x epochs, summed over "
        "every network trained):",
        "",
        "| part | sample-passes |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v:,} |" for k, v in passes.items()]
    lines += ["", "| step | seconds |", "|---|---|"]
    lines += [
        f"| {TIME_LABELS.get(k, k)} | {v:.1f} |"
        for k, v in tm.items()
        if k != "total_s"
    ]
    lines.append(f"| **total** | {tm['total_s']:.1f} |")
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


def _comparison_section(comparison: list[dict], honest: str) -> list[str]:
    lines = [
        "",
        "## Leaky comparison (NOT the model's accuracy)",
        "",
        "The reference recipe's protocol augments every spectrum first and then "
        "splits the augmented rows at random, so noisy copies of each test spectrum "
        "are in the training data. The `leaky` rows show what that protocol "
        f"reports; {honest}",
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
        f"r = {_fmt(ood['threshold'])} (learnt from the model's training "
        "molecules, leave-one-molecule-out)"
    )
    if ood.get("min_effective_width") is not None:
        text += (
            ", or when its bands are narrower or fewer than any training "
            "spectrum's (effective width below "
            f"{_fmt(ood['min_effective_width'], 1)} points, median peak FWHM "
            f"below {_fmt(ood.get('min_peak_fwhm'), 1)} points"
            + ("" if ood.get("min_strongest_fwhm") is None else
               ", highest peak's FWHM below "
               f"{_fmt(ood['min_strongest_fwhm'], 1)} points where the library "
               "residual below leaves more than half of that peak unexplained")
            + ("" if ood.get("min_band_count") is None else
               f", or fewer than {_fmt(ood['min_band_count'], 1)} prominent peaks")
            + ")"
        )
    if "test_similarity_median" in ood:
        text += (
            ". Held-out test molecules: median r "
            f"{_fmt(ood['test_similarity_median'])}, lowest "
            f"{_fmt(ood['test_similarity_min'])}, {ood['test_flagged']}"
            + (f" of {ood['test_n']}" if "test_n" in ood else "")
            + " flagged."
        )
    else:
        text += (
            ". The reference is every spectrum; each one's nearest other molecule: "
            f"median r {_fmt(ood['loo_similarity_median'])}, lowest "
            f"{_fmt(ood['loo_similarity_min'])}."
        )
    text += (
        " A raw spectrum whose maximum is a plateau of "
        f"{SATURATED_RUN} or more points (a saturated detector) is flagged too."
    )
    lines = ["", "## Out-of-domain check", "", text]
    if ood.get("embedding_distance_limit") is not None:
        lines += ["", _model_space_text(ood)]
    if ood.get("evaluation"):
        lines += _ood_table(ood["evaluation"])
    return lines


def _model_space_text(ood: dict) -> str:
    residual = ood.get("residual_limit") is not None
    combined = ood.get("combined_limit") is not None
    shared = (
        "the library-residual, embedding-distance and energy limits"
        + (" and that of the combined evidence (Fisher's combination of every "
           "score's in-domain p-value: unusual in several ways at once; above "
           f"{_fmt(ood['combined_limit'], 1)})" if combined else "")
        + " share the rest, each exceeded by the same fraction of them,"
        if residual else "the model-space limits share the rest"
    )
    text = (
        "best_model also checks the network's own view: the distance to the "
        f"{ood['n_neighbors']}-th nearest training spectrum in each member's "
        "normalised penultimate embedding (flagged above "
        f"{_fmt(ood['embedding_distance_limit'])}) and the energy score "
        f"(above {_fmt(ood['energy_limit'], 2)}), averaged over the members. "
    )
    if residual:
        text += (
            "In input space it also flags a spectrum the library cannot "
            "explain: fitted as a non-negative mix of its "
            f"{ood.get('residual_neighbors', 5)} most similar training spectra "
            "plus a smooth baseline, more than "
            f"{_fmt(ood['residual_limit'])} of its strongest band is left over "
            "(the library residual). "
        )
    return text + (
        "Every limit comes from in-domain spectra only: each database "
        "spectrum scored by the member that never saw its molecule"
        + (" and against the other folds' spectra" if residual else "")
        + (". The fixed input-space limits flag " if residual
           else ". The input-space checks flag ")
        + f"{_fmt(100 * ood['input_flag_rate'], 1)} % of "
        f"them (leave-one-molecule-out); {shared} "
        f"of a {_fmt(100 * ood['target_rate'], 0)} % budget. The checker's flag "
        f"fires on **{_fmt(100 * ood['database_flag_rate'], 1)} %** of the "
        "out-of-fold database spectra (`ood_fpr_database`). final_model (one "
        "network, no out-of-fold scores) has the input-space checks only."
    )


def _ood_table(rows: list[dict]) -> list[str]:
    lines = [
        "",
        "Evaluation only (nothing was tuned on it): synthetic foreign spectra "
        "(generated in `raman_sk.ood`, on raw axes with fluorescence, noise and "
        "raw intensity scales) and every database spectrum made raw the same "
        "way, scored as an unseen molecule (by the member that held out its "
        "fold, against the other folds' reference spectra). AUROC: the "
        "family's `ood_score` against the raw in-domain set's.",
        "",
        "| spectra | n | flagged | AUROC | what |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        auroc = r.get("auroc")
        auroc = "-" if auroc is None or auroc != auroc else _fmt(auroc)
        lines.append(
            f"| {r['family']} | {r['n']} | {_fmt(100 * r['flagged'], 1)} % | "
            f"{auroc} | {r['description']} |"
        )
    return lines


def _cleaning_section(cleaning: dict) -> list[str]:
    return [
        "",
        "## Cleaning of the (already clean) database spectra",
        "",
        "Resampling + cosmic-ray removal + Savitzky-Golay + airPLS + min-max "
        "change the database "
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
        As written by :func:`raman_sk.reproduce.reproduce`. The scores:
        ``oof`` (model name -> :func:`~raman_sk.evaluation.score_predictions`
        over every spectrum) with ``folds``, or ``held_out`` (and optionally
        ``held_out_final``) with ``split``. Optionally ``recipe``, ``cpu``,
        ``models``, ``schedule``, ``comparison`` (rows of
        :func:`~raman_sk.evaluation.comparison_row`), ``cv`` (a
        :func:`~raman_sk.evaluation.grouped_cross_validate` dict),
        ``explainer``, ``map_stability``, ``out_of_domain``, the calibration
        (``ece``, ``brier``, ``log_loss`` and their ``_uncalibrated`` values,
        ``conformal_coverage``, ``conformal_mean_set_size``,
        ``conformal_per_class_coverage``, ``temperature`` and the details
        under ``calibration``),
        ``cleaning_change``, ``sample_passes``, ``timings`` and ``notes``
        (list of str); a section only for what is there.

    Returns
    -------
    str
        Markdown text.
    """
    recipe = evaluation.get("recipe", "seed")
    lines = ["# raman-sk reproduce: evaluation", ""]
    if "cpu" in evaluation:
        lines += [
            f"Recipe `{recipe}` ({RECIPE_TEXT.get(recipe, recipe)}); "
            f"CPU {evaluation['cpu']}; total "
            f"{evaluation['timings']['total_s']:.0f} s.",
            "",
        ]
    if "oof" in evaluation:
        lines += _oof_section(evaluation)
        honest = "the out-of-fold table above is the honest comparison."
    else:
        lines += _held_out_section(evaluation)
        honest = "the `grouped` rows are scored on the held-out test part above."
    if evaluation.get("calibration"):
        lines += _calibration_section(evaluation)
    if evaluation.get("models"):
        lines += _models_section(evaluation)
    if evaluation.get("cv"):
        lines += _cv_section(evaluation["cv"])
    if evaluation.get("comparison"):
        lines += _comparison_section(evaluation["comparison"], honest)
    if evaluation.get("explainer"):
        lines += _stability_section(evaluation)
    if evaluation.get("out_of_domain"):
        lines += _domain_section(evaluation["out_of_domain"])
    if evaluation.get("cleaning_change"):
        lines += _cleaning_section(evaluation["cleaning_change"])
    if evaluation.get("sample_passes"):
        lines += _cost_section(evaluation)
    for note in evaluation.get("notes", []):
        lines += ["", note]
    return "\n".join(lines) + "\n"


def _scores_text(r: dict) -> str:
    return (
        f"accuracy {r['accuracy']:.3f}, macro-F1 {r['macro_f1']:.3f}, "
        f"weighted-F1 {r['weighted_f1']:.3f}"
    )


def format_summary(summary: dict) -> str:
    """Render the dictionary :func:`raman_sk.reproduce.reproduce` returns as a table.

    Parameters
    ----------
    summary : dict
        With ``out``, ``recipe``, ``epochs``, ``comparison``, ``cv``,
        ``timings``, ``total_s``, ``cpu``, ``sample_passes``, ``precision``,
        ``device``; cv-committee: ``oof`` and ``n_splits``; seed: ``held``,
        ``held_final``, ``best_epoch`` and ``split``.

    Returns
    -------
    str
        The aligned rows and a last line that says what the leaky rows are.
    """
    tm = summary["timings"]
    rows = [
        ("output", str(summary["out"])),
        ("recipe", f"{summary['recipe']} ({summary['epochs']} epochs)"),
    ]
    if "oof" in summary:
        n = next(iter(summary["oof"].values()))["n_samples"]
        rows.append(
            ("out of fold", f"grouped {summary['n_splits']}-fold by molecule, "
                            f"all {n} spectra, same folds for every model")
        )
        rows += [(name, _scores_text(r)) for name, r in summary["oof"].items()]
    else:
        held = summary["held"]
        rows += [
            (
                "held-out test",
                f"{_scores_text(held)} ({held['n_samples']} spectra, "
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
    rows.append(("sample-passes", f"{summary['sample_passes']['total']:,}"))
    rows.append(("CPU", f"{summary['cpu']}; {summary['precision']} on "
                        f"{summary['device']}"))
    steps = ", ".join(
        f"{k[:-2].replace('_', ' ')} {v:.0f} s" for k, v in tm.items()
        if k != "total_s"
    )
    rows.append(("wall time", f"{summary['total_s']:.0f} s ({steps})"))
    return (
        format_table(rows)
        + "\n(leaky rows: augment-then-split, NOT the model's accuracy; "
        "see REPORT.md)"
    )
