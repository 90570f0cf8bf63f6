"""The main job as Python functions: settings, records, report text, one quick run."""

import json

import numpy as np
import pytest

from raman_sk import cli
from raman_sk._report import format_table
from raman_sk.reproduce import (
    MODEL_DIRS,
    Settings,
    classifier_params,
    format_report,
    format_summary,
    reproduce,
)


def test_settings_recipe_defaults_and_quick():
    full = Settings.make(precision="float32")
    assert (full.epochs, full.n_copies, full.ig_n_steps) == (80, 15, 50)
    assert full.module_params == {} and not full.quick
    quick = Settings.make(quick=True, precision="float32", epochs=None, seed=4)
    assert (quick.epochs, quick.n_copies, quick.seed) == (2, 1, 4)
    assert quick.module_params["module__channels"] == (4, 8)
    assert Settings.make(quick=True, precision="float32", epochs=5).epochs == 5


def test_settings_resolve_auto_precision():
    from raman_sk.utils._torch import auto_precision

    assert Settings.make().precision == auto_precision("cpu")
    assert Settings.make(device="cuda").precision == "float32"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"epochs": 0}, "epochs must be >= 1, got 0"),
        ({"batch_size": 0}, "batch_size must be >= 1, got 0"),
        ({"n_copies": -1}, "n_copies must be >= 0, got -1"),
        ({"threads": 0}, "threads must be >= 1 or None, got 0"),
        ({"cv": 1}, r"cv must be 0 \(off\) or >= 2, got 1"),
        ({"monitor": "loss"}, "monitor must be 'valid_acc' or 'valid_loss'"),
    ],
)
def test_settings_reject_bad_values(options, message):
    with pytest.raises(ValueError, match=message):
        Settings(**options)


def test_classifier_params():
    s = Settings.make(quick=True, precision="float32", batch_size=8, seed=3)
    params = classifier_params(s, callbacks=["cb"])
    assert params["max_epochs"] == 2 and params["batch_size"] == 8
    assert params["augmenter"].n_copies == 1 and params["augmenter"].random_state == 3
    assert params["random_state"] == 3 and params["callbacks"] == ["cb"]
    assert params["module__hidden"] == 16
    assert classifier_params(Settings(n_copies=0))["augmenter"] is None


def _held(labels=("a", "b")):
    return {
        "accuracy": 0.75,
        "macro_f1": 0.7,
        "weighted_f1": 0.72,
        "n_samples": 4,
        "labels": list(labels),
        "per_class_recall": {"a": 0.5, "b": 1.0},
        "confusion_matrix": [[1, 1], [0, 2]],
    }


def test_format_report_sections():
    evaluation = {
        "held_out": _held(),
        "split": {"n_train": 10, "n_valid": 3, "n_test": 4, "groups_test": 2},
        "comparison": [
            {
                "model": "m",
                "protocol": "leaky",
                "accuracy": 1.0,
                "macro_f1": 1.0,
                "weighted_f1": 1.0,
                "n_test": 8,
            }
        ],
        "cv": {
            "n_splits": 3,
            **{f"{m}_{s}": 0.5 for m in ("accuracy", "macro_f1", "weighted_f1")
               for s in ("mean", "std")},
        },
        "notes": ["a closing note"],
    }
    report = format_report(evaluation)
    assert report.startswith("# raman-sk reproduce: evaluation\n")
    assert "| accuracy | 0.750 | - |" in report
    assert "| a | 0.500 | 2 |" in report and "| b | 0 | 2 |" in report
    assert "## Grouped 3-fold cross-validation of the CNN pipeline" in report
    assert "| m | leaky | 1.000 | 1.000 | 1.000 | 8 |" in report
    assert "reference recipe" in report and "SEED" not in report
    assert report.endswith("a closing note\n")
    assert "Out-of-domain" not in report  # sections only for what was measured


def test_format_summary_and_table():
    assert format_table([("a", "1"), ("bb", "2")]) == "  a   1\n  bb  2"
    summary = {
        "out": "outputs",
        "held": _held(),
        "held_final": _held(),
        "best_epoch": 1,
        "epochs": 2,
        "split": {"groups_test": 2},
        "comparison": [
            {"model": "1D CNN (this run)", "protocol": "grouped", "accuracy": 0.75},
            {"model": "1-NN", "protocol": "leaky", "accuracy": 1.0},
        ],
        "cv": None,
        "timings": {"train_s": 1.0, "ig_s": 2.0, "figures_s": 3.0},
        "total_s": 7.0,
        "precision": "float32",
        "device": "cpu",
    }
    text = format_summary(summary)
    assert "1-NN [leaky]" in text and "1D CNN (this run)" not in text
    assert "7 s (training 1 s" in text and text.endswith("see REPORT.md)")


def test_cli_shares_its_options():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    for command in ("train", "evaluate", "predict", "explain"):
        coverage = [a for a in sub[command]._actions if a.dest == "coverage"]
        assert len(coverage) == 1 and coverage[0].choices == cli.COVERAGES
    assert sub["predict"].get_default("coverage") is None
    assert sub["train"].get_default("coverage") == "raise"
    for command in ("reproduce", "train", "evaluate"):
        dests = {a.dest for a in sub[command]._actions}
        assert {"epochs", "batch_size", "precision", "threads", "quiet"} <= dests


def test_cli_help_has_no_measurements():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices
    for command, p in sub.items():
        text = p.format_help()
        assert "%" not in text and "faster" not in text, command
        assert "SEED.md" not in text, command


def test_reproduce_from_python(tmp_path):
    pytest.importorskip("ramanbiolib")
    lines = []
    out = tmp_path / "run"
    settings = Settings.make(quick=True, threads=1, precision="float32")
    summary = reproduce(out, settings, log=lines.append)
    assert len(lines) == 1 and lines[0].startswith("raman-sk reproduce: 194 spectra")
    assert summary["out"] == str(out) and summary["epochs"] == 2
    assert summary["total_s"] >= sum(summary["timings"].values()) * 0.99
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    for name in MODEL_DIRS:
        assert (out / "model" / name / "pipeline.json").is_file()
    ev = json.loads((out / "evaluation.json").read_text())
    assert ev["held_out"]["accuracy"] == summary["held"]["accuracy"]
    config = json.loads((out / "model" / "model_config.json").read_text())
    assert config["recipe"]["precision"] == "float32"
    assert np.isclose(config["metrics"]["test_accuracy"], ev["held_out"]["accuracy"])
    with pytest.raises(FileExistsError, match="not empty"):
        reproduce(out, settings)
