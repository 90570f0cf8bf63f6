"""What the main job records: the contents of evaluation.json and model_config.json.

Laid out from the results of the recipes' steps; :mod:`raman_sk._report`
renders them as REPORT.md and the console summary. Nothing here computes a
score.
"""

from __future__ import annotations

import inspect

import numpy as np

from raman_sk.utils._files import jsonable

__all__ = ["evaluation_record", "model_config"]


def _notes(results, settings) -> list[str]:
    notes = []
    if not settings.committee:
        chosen = (
            "lowest validation loss"
            if settings.monitor == "valid_loss"
            else "highest validation accuracy, earliest on ties"
        )
        notes.append(
            f"The best checkpoint is the epoch with the {chosen} (epoch "
            f"{results.best_epoch} of {settings.epochs}), chosen on the validation "
            "molecules, never on the test part."
        )
    notes.append(
        "The CNN under the leaky protocol "
        + (
            "is in the table above."
            if settings.leaky_cnn
            else "is left out by default because it trains one more network; "
            "run `raman-sk reproduce --leaky-cnn` to add it."
        )
    )
    if not settings.committee:
        notes.append(
            "Cross-validation: "
            + (
                f"grouped {settings.cv}-fold, above."
                if results.cv
                else "off in this recipe by default (K more fits of the CNN); "
                "add `--cv 5`."
            )
        )
    if settings.quick:
        notes.insert(
            0, "**--quick smoke run: tiny network, 2 epochs; numbers are meaningless.**"
        )
    return notes


def _models(settings, results) -> dict:
    if not settings.committee:
        return {
            "best_model": "weights of the best validation epoch (save_pipeline dir)",
            "final_model": "weights after the last epoch (save_pipeline dir)",
        }
    k, n = settings.cv, len(results.folds)
    return {
        "best_model": f"the committee of {k} networks (one per grouped fold, each "
        f"trained on the other {k - 1} folds' molecules; together on all {n} "
        "spectra), averaging their probabilities: what `raman-sk predict` should "
        "use, and the model scored out of fold above",
        "final_model": f"one network refitted on all {n} spectra with the same "
        "fixed schedule: smaller and faster; this run does not score it (nested "
        "grouped cross-validation in raman_sk's benchmarks scores the two alike "
        "within its noise; the committee also gives the out-of-fold report, the "
        "calibration data and the members' disagreement)",
    }


def _schedule(settings) -> dict:
    return {
        "epochs": settings.epochs,
        "n_copies": settings.n_copies,
        "batch_size": settings.batch_size,
        "label_smoothing": settings.label_smoothing,
        "mixup": settings.mixup,
        "input_binning": settings.input_binning,
        "mask_windows": settings.mask_windows,
        "mask_width": settings.mask_width,
        "dropout": settings.dropout,
        "head_dropout": settings.head_dropout,
        "pretrained": settings.pretrained,
        "validation": None if settings.committee else "grouped validation part",
        "weights": "final-epoch weights, no validation part, no checkpoint selection"
        if settings.committee
        else f"best epoch by {settings.monitor} on the validation molecules",
    }


def _explainer(settings) -> dict:
    if settings.committee:
        source = (
            f"Integrated Gradients averaged over the first {settings.ig_max_members} "
            f"of the committee's {settings.cv} members"
        )
    else:
        source = "Integrated Gradients of the best checkpoint"
    return {
        "source": source,
        "n_per_class": settings.ig_n_per_class,
        "n_steps": settings.ig_n_steps,
        "max_members": settings.ig_max_members if settings.committee else None,
    }


def _stability_rows(stability) -> list[dict] | None:
    if stability is None:
        return None
    cols = {c.lower(): c for c in stability.columns}
    mean = next(cols[c] for c in cols if c.startswith("mean"))
    low = next(cols[c] for c in cols if c.startswith("min"))
    return [
        {"class": str(row[cols["class"]]), "mean": float(row[mean]),
         "min": float(row[low])}
        for _, row in stability.iterrows()
    ]


#: Calibration scores that evaluation.json carries at its top level.
HEADLINE = (
    "ece",
    "ece_uncalibrated",
    "brier",
    "brier_uncalibrated",
    "log_loss",
    "log_loss_uncalibrated",
    "conformal_coverage",
    "conformal_mean_set_size",
    "temperature",
)


def _calibration_keys(record: dict) -> dict:
    """Return the headline scores for the top level, the rest under ``calibration``."""
    top = {k: record[k] for k in HEADLINE}
    top["conformal_per_class_coverage"] = record["per_class_coverage"]
    details = {k: v for k, v in record.items()
               if k not in top and k != "per_class_coverage"}
    return {**jsonable(top), "calibration": jsonable(details)}


def evaluation_record(data, results, settings) -> dict:
    """Return the content of ``evaluation.json`` (REPORT.md renders it).

    Parameters
    ----------
    data : Bunch
        From :func:`raman_sk.reproduce.load_data` (seed: with the split).
    results : Bunch
        The steps' results gathered by :func:`raman_sk.reproduce.run_experiment`.
    settings : Settings
        The run's options.
    """
    common = {
        "recipe": settings.recipe,
        "seed": settings.seed,
        "cpu": results.cpu["summary"],
        "precision": settings.precision,
        "device": settings.device,
        "schedule": _schedule(settings),
        "models": _models(settings, results),
        "comparison": results.comparison,
        "leaky_cnn": results.leaky_cnn,
        "cv": results.cv,
        "explainer": _explainer(settings),
        "map_stability": _stability_rows(results.stability),
        "out_of_domain": results.out_of_domain,
        "cleaning_change": results.cleaning_change,
        "sample_passes": results.sample_passes,
        "timings": results.timings,
        "notes": _notes(results, settings),
    }
    if settings.committee:
        folds = {
            "n_splits": settings.cv,
            "n_molecules": int(len(np.unique(data.groups))),
            "n_train_per_fold": results.n_train_folds,
            "grouped_by": "molecule (component)",
        }
        return {
            "protocol": "grouped K-fold out-of-fold predictions by molecule, "
            "before augmentation",
            "folds": folds,
            "oof": results.oof,
            **_calibration_keys(results.calibration.record),
            "ood_fpr_database": (results.out_of_domain or {}).get(
                "database_flag_rate"
            ),
            **common,
        }
    return {
        "protocol": "grouped train/valid/test split by molecule, before augmentation",
        "split": data.split,
        "held_out": results.held,
        "held_out_final": results.held_final,
        "best_epoch": results.best_epoch,
        **common,
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


def _recipe(pipe, clf, settings) -> dict:
    return {
        "name": settings.recipe,
        "pipeline": [name for name, _ in pipe.steps],
        "preprocessing": {
            name: _short_params(step.get_params(deep=False))
            for name, step in pipe.steps[:-1]
        },
        "optimizer": "Adam",
        "lr": clf.lr,
        "weight_decay": clf.weight_decay,
        "scheduler": "CosineAnnealingLR",
        "max_epochs": settings.epochs,
        "batch_size": clf.batch_size,
        "balance_classes": clf.balance_classes,
        "mixup": clf.mixup,
        "mask_windows": clf.mask_windows,
        "mask_width": clf.mask_width,
        "augmenter": jsonable(clf.augmenter.get_params())
        if clf.augmenter is not None
        else None,
        "monitor": None if settings.committee else settings.monitor,
        "committee_folds": settings.cv if settings.committee else None,
        "precision": settings.precision,
        "device": settings.device,
        "quick": bool(settings.quick),
    }


def _metrics(results, settings) -> dict:
    if settings.committee:
        names = list(results.oof)
        cnn = results.oof[names[0]]
        return {
            "oof_accuracy": cnn["accuracy"],
            "oof_macro_f1": cnn["macro_f1"],
            "oof_weighted_f1": cnn["weighted_f1"],
            "oof_n": cnn["n_samples"],
            "oof_calibration": {
                k: jsonable(results.calibration.record[k])
                for k in ("ece", "ece_uncalibrated", "conformal_alpha",
                          "conformal_coverage", "conformal_mean_set_size",
                          "temperature", "conformal_quantile")
            },
            "oof_baselines": {
                n: {"accuracy": results.oof[n]["accuracy"],
                    "macro_f1": results.oof[n]["macro_f1"]}
                for n in names[1:]
            },
        }
    held, history = results.held, results.history
    last = history.iloc[-1]
    return {
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
    }


def model_config(data, results, settings) -> dict:
    """Return the content of ``model/model_config.json``.

    Architecture, recipe and schedule, classes, metrics, how many spectra the
    shipped model was trained on, the training sample-passes, seed, split or
    folds, explainer settings, what each model directory holds, versions, CPU
    and timings.

    Parameters
    ----------
    data : Bunch
        From :func:`raman_sk.reproduce.load_data` (seed: with the split).
    results : Bunch
        The steps' results gathered by :func:`raman_sk.reproduce.run_experiment`.
    settings : Settings
        The run's options.
    """
    from raman_sk.utils._versions import versions

    ig = results.ig
    if settings.committee:
        clf = results.final[-1]  # every member has the same architecture
        template = results.best[-1].estimators_[0]
        n_shipped = int(len(data.y))
        layout = {"folds": {"n_splits": settings.cv,
                            "n_train_per_fold": results.n_train_folds}}
    else:
        clf = template = results.best[-1]
        n_shipped = int(data.split["n_train"])
        layout = {"split": data.split}
    return {
        "architecture": _architecture(clf),
        "recipe": _recipe(results.best, template, settings),
        "schedule": _schedule(settings),
        "n_train_shipped": n_shipped,
        "sample_passes": results.sample_passes,
        "classes": data.classes,
        "metrics": _metrics(results, settings),
        "seed": settings.seed,
        **layout,
        "explainer": {
            **_explainer(settings),
            "region_map": ig.region_map,
            "max_relative_delta": float(np.max(ig.relative_delta_)),
            "warnings": results.ig_warnings,
        },
        "models": _models(settings, results),
        "versions": versions(),
        "cpu": results.cpu,
        "timings": results.timings,
    }
