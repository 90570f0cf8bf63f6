"""The main job as Python functions: settings, cost, records, report, quick runs."""

import json

import numpy as np
import pytest
import torch

from raman_sk import cli
from raman_sk._report import format_table
from raman_sk.reproduce import (
    MODEL_DIRS,
    RECIPES,
    Settings,
    classifier_params,
    format_report,
    format_summary,
    planned_sample_passes,
    reproduce,
    sample_passes,
)


def test_settings_recipe_defaults_and_quick():
    full = Settings.make(precision="float32")
    assert full.recipe == "cv-committee" == RECIPES[0] and full.committee
    assert (full.epochs, full.n_copies, full.cv, full.ig_n_steps) == (6, 11, 5, 50)
    assert full.ig_max_members == 3
    assert full.module_params == {} and not full.quick
    seed = Settings.make(recipe="seed", precision="float32")
    assert (seed.epochs, seed.n_copies, seed.cv) == (80, 15, 0)
    assert not seed.committee and Settings(recipe="seed").epochs == 80
    quick = Settings.make(quick=True, precision="float32", epochs=None, seed=4)
    assert (quick.epochs, quick.n_copies, quick.seed, quick.cv) == (2, 1, 4, 3)
    assert quick.module_params["module__channels"] == (4, 8)
    assert Settings.make(quick=True, precision="float32", epochs=5).epochs == 5
    assert Settings.make(recipe="seed", quick=True, precision="float32").cv == 0
    assert Settings.make(quick=True, precision="float32", cv=4).cv == 4


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
        ({"recipe": "seed", "cv": 1}, r"cv must be 0 \(off\) or >= 2, got 1"),
        ({"cv": 1}, "cv must be >= 2 for the cv-committee recipe, got 1"),
        ({"cv": 0}, "cv must be >= 2 for the cv-committee recipe, got 0"),
        ({"recipe": "bagging"}, "recipe must be one of"),
        ({"ig_max_members": 0}, "ig_max_members must be >= 1, got 0"),
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
    # the committee's fixed schedule keeps the last epoch; seed keeps the best
    assert params["restore_best"] is False
    assert "restore_best" not in classifier_params(Settings(recipe="seed"))


def test_sample_pass_accounting_by_hand():
    # one network: rows x (1 + copies) x epochs
    assert sample_passes(124, 15, 80) == 124 * 16 * 80 == 158_720
    assert sample_passes(10, 0, 3) == 30
    # the default: each spectrum trains 4 of the 5 fold networks, plus the refit
    default = planned_sample_passes(Settings(), 194)
    assert default == {
        "committee": 4 * 194 * 12 * 6,
        "final_model": 194 * 12 * 6,
        "total": 69_840,
    }
    assert default["total"] <= 75_000  # the main job's training budget
    s = Settings(epochs=2, n_copies=1, cv=3)
    assert planned_sample_passes(s, 10) == {
        "committee": 2 * 10 * 2 * 2,
        "final_model": 10 * 2 * 2,
        "total": 120,
    }


def test_cpu_info_reads_model_and_vector_extensions():
    from raman_sk.utils._versions import cpu_info

    text = (
        "processor\t: 0\nmodel name\t: Intel Xeon Demo\n"
        "flags\t\t: fpu sse avx2 avx512f avx512_bf16 amx_tile amx_bf16\n"
        "processor\t: 1\nmodel name\t: Intel Xeon Demo\n"
    )
    info = cpu_info(text)
    assert info["model"] == "Intel Xeon Demo"
    assert info["avx2"] and info["avx512"] and info["avx512_bf16"] and info["amx"]
    assert info["summary"] == "Intel Xeon Demo (AVX2, AVX-512, AVX512-BF16, AMX)"
    old = cpu_info("model name : Old CPU\nflags : fpu sse2\n")
    assert not old["avx2"] and old["summary"] == "Old CPU (no AVX2)"
    unknown = cpu_info("")
    assert unknown["avx2"] is None and "vector extensions unknown" in unknown["summary"]
    assert cpu_info()["model"]  # this machine


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
        "timings": {"train_s": 1.0, "ig_s": 2.0, "figures_s": 3.0, "total_s": 6.5},
        "total_s": 7.0,
        "recipe": "seed",
        "cpu": "Demo CPU (AVX2)",
        "sample_passes": {"training": 1234, "total": 1234},
        "precision": "float32",
        "device": "cpu",
    }
    text = format_summary(summary)
    assert "1-NN [leaky]" in text and "1D CNN (this run)" not in text
    assert "7 s (train 1 s, ig 2 s, figures 3 s)" in text
    assert "Demo CPU (AVX2); float32 on cpu" in text and "1,234" in text
    assert "seed (2 epochs)" in text and text.endswith("see REPORT.md)")
    oof = dict(summary, recipe="cv-committee", n_splits=5,
               oof={"1D CNN": _held(), "1-NN cosine": _held()})
    text = format_summary(oof)
    assert "grouped 5-fold by molecule, all 4 spectra" in text
    assert "1-NN cosine" in text and "held-out" not in text


def _oof_evaluation():
    scores = {"1D CNN (m)": _held(), "1-NN cosine (library search)": _held()}
    return {
        "recipe": "cv-committee",
        "cpu": "Demo CPU (AVX2, AVX-512)",
        "precision": "float32",
        "device": "cpu",
        "folds": {"n_splits": 2, "n_molecules": 3},
        "oof": scores,
        "models": {"best_model": "the committee", "final_model": "one network"},
        "schedule": {"epochs": 6, "n_copies": 11, "batch_size": 32,
                     "weights": "final-epoch weights"},
        "explainer": {"source": "IG over the first 3 members"},
        "map_stability": [{"class": "a", "mean": 0.81, "min": 0.7},
                          {"class": "b", "mean": 0.5, "min": None}],
        "sample_passes": {"committee": 55_872, "final_model": 13_968,
                          "total": 69_840},
        "timings": {"load_s": 1.0, "train_s": 100.0, "total_s": 120.0},
    }


def test_format_report_out_of_fold():
    report = format_report(_oof_evaluation())
    assert "Recipe `cv-committee`" in report and "Demo CPU (AVX2, AVX-512)" in report
    assert "## Out-of-fold evaluation over all 4 spectra" in report
    assert "Grouped, stratified 2-fold by molecule (3 molecules" in report
    assert "| 1D CNN (m) | 0.750 | 0.700 | 0.720 |" in report
    assert "| 1-NN cosine (library search) | 0.750 | 0.700 | 0.720 |" in report
    assert "| a | 2 | 0.500 | 0.500 |" in report  # class, spectra, recall per model
    assert "- `best_model`: the committee" in report
    assert "- `final_model`: one network" in report
    assert "IG over the first 3 members" in report
    assert "| a | 0.810 | 0.700 |" in report and "| b | 0.500 | - |" in report
    assert "| total | 69,840 |" in report and "| **total** | 120.0 |" in report
    assert "| train the CNN (committee: every member) | 100.0 |" in report
    assert "Held-out" not in report


def test_format_report_calibration():
    ev = {
        **_oof_evaluation(),
        "ece": 0.031, "ece_uncalibrated": 0.084, "brier": 0.21,
        "brier_uncalibrated": 0.25, "log_loss": 0.52, "log_loss_uncalibrated": 0.71,
        "conformal_coverage": 0.912, "conformal_mean_set_size": 1.234,
        "temperature": 1.5,
        "conformal_per_class_coverage": {"a": 0.95, "b": 0.875},
        "calibration": {
            "conformal_alpha": 0.1, "conformal_quantile": 0.8,
            "protocol": "cross-fitted by fold", "temperature_folds": [1.4, 1.6],
            "set_size_counts": {"1": 150, "2": 44}, "per_class_n": {"a": 186, "b": 8},
        },
    }
    report = format_report(ev)
    assert "## Calibration and prediction sets" in report
    assert "| ECE (top label, 10 bins) | 0.084 | 0.031 |" in report
    assert "| Brier | 0.250 | 0.210 |" in report
    assert "| log-loss | 0.710 | 0.520 |" in report
    assert "Shipped temperature 1.500 (folds: 1.400, 1.600)" in report
    assert "coverage of the sets 0.912 (target at least 0.9), mean set size 1.23" in (
        report
    )
    assert "| b | 8 | 0.875 |" in report
    # 8 spectra: ceil(9 * 0.9) = 9 > 8, no class-conditional threshold
    assert "b has 8 spectra: too few for class-conditional sets" in report
    assert "a has 186" not in report
    assert "## Calibration" not in format_report(_oof_evaluation())


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
    settings = Settings.make(
        recipe="seed", quick=True, threads=1, precision="float32"
    )
    summary = reproduce(out, settings, log=lines.append)
    assert len(lines) == 1 and lines[0].startswith("raman-sk reproduce: 194 spectra")
    assert "recipe seed" in lines[0]
    assert summary["out"] == str(out) and summary["epochs"] == 2
    steps = {k: v for k, v in summary["timings"].items() if k != "total_s"}
    assert summary["total_s"] >= summary["timings"]["total_s"] >= sum(steps.values())
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
    # the seed recipe ships what it trained on: the training part
    assert config["recipe"]["name"] == "seed" and ev["recipe"] == "seed"
    assert config["n_train_shipped"] == config["split"]["n_train"] == 124
    passes = config["sample_passes"]
    assert passes == {"training": 124 * 2 * 2, "total": 124 * 2 * 2}
    assert config["cpu"]["summary"] == ev["cpu"]
    assert "Recipe `seed`" in (out / "REPORT.md").read_text()
    assert not (out / "logs" / "oof_predictions.csv").exists()


def test_oof_table_and_training_log():
    from sklearn.utils import Bunch

    from raman_sk.reproduce._committee import oof_table

    data = Bunch(
        sources=np.array([11, 12, 13]),
        groups=np.array(["m1", "m1", "m2"]),
        y=np.array(["a", "a", "b"]),
        classes=["a", "b"],
    )
    r = Bunch(
        folds=np.array([0, 0, 1]),
        predicted=np.array(["a", "b", "b"]),
        proba=np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8]]),
    )
    table = oof_table(data, r)
    assert list(table.columns) == [
        "source", "molecule", "true_class", "fold", "predicted_class",
        "prob_a", "prob_b",
    ]
    assert table["source"].tolist() == [11, 12, 13]
    assert table["prob_b"].tolist() == [0.1, 0.6, 0.8]


def test_label_smoothing_is_the_committee_recipes_default_only():
    from raman_sk.classifier import RamanCNNClassifier
    from raman_sk.reproduce._settings import Settings, classifier_params

    committee = Settings.make(precision="float32")
    seed = Settings.make(recipe="seed", precision="float32")
    assert committee.label_smoothing == 0.1 and seed.label_smoothing == 0.0
    params = classifier_params(committee)
    assert params["criterion__label_smoothing"] == 0.1
    assert "criterion__label_smoothing" not in classifier_params(seed)
    clf = RamanCNNClassifier(**{**params, "augmenter": None})
    criterion = clf.criterion(**clf.get_params_for("criterion"))
    assert criterion.label_smoothing == 0.1
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        Settings.make(precision="float32", label_smoothing=1.0)


def test_pretrained_body_is_an_option_of_the_recipes():
    from raman_sk.classifier import RamanCNNClassifier
    from raman_sk.reproduce._settings import Settings, classifier_params

    seed = Settings.make(recipe="seed", precision="float32")
    quick = Settings.make(quick=True, precision="float32")
    assert (seed.pretrained, quick.pretrained) == ("none", "none")
    committee = Settings.make(precision="float32", pretrained="synthetic")
    params = classifier_params(committee)
    assert params["module__pretrained"] == "synthetic"
    assert "module__pretrained" not in classifier_params(seed)
    assert "module__pretrained" not in classifier_params(quick)
    clf = RamanCNNClassifier(**{**params, "augmenter": None}, classes=["a", "b"])
    clf.n_features_in_, clf.classes_inferred_ = 1351, ["a", "b"]
    from raman_sk.models import pretrained_body

    clf.initialize()
    body = pretrained_body("synthetic")
    assert torch.equal(clf.module_.features[0].weight, body["0.weight"])
    own = Settings.make(recipe="seed", precision="float32", pretrained="synthetic")
    assert classifier_params(own)["module__pretrained"] == "synthetic"


def test_mixup_is_an_option_of_the_recipes():
    from raman_sk.reproduce._settings import Settings, classifier_params

    committee = Settings.make(precision="float32")
    seed = Settings.make(recipe="seed", precision="float32")
    assert committee.mixup == 0.4 and classifier_params(committee)["mixup"] == 0.4
    assert seed.mixup == 0.0 and "mixup" not in classifier_params(seed)
    off = Settings.make(precision="float32", mixup=0)
    assert "mixup" not in classifier_params(off)
    with pytest.raises(ValueError, match="mixup must be >= 0, got -1"):
        Settings.make(precision="float32", mixup=-1)


def test_input_binning_is_an_option_of_the_recipes():
    from raman_sk.reproduce._settings import Settings, classifier_params

    committee = Settings.make(precision="float32")
    seed = Settings.make(recipe="seed", precision="float32")
    assert committee.input_binning == 2
    assert classifier_params(committee)["module__input_binning"] == 2
    assert seed.input_binning == 1
    assert "module__input_binning" not in classifier_params(seed)
    own = Settings.make(recipe="seed", precision="float32", input_binning=3)
    assert classifier_params(own)["module__input_binning"] == 3
    with pytest.raises(ValueError, match="input_binning must be >= 1, got 0"):
        Settings.make(precision="float32", input_binning=0)


def test_masking_is_an_option_of_the_recipes():
    from raman_sk.reproduce._settings import Settings, classifier_params

    committee = classifier_params(Settings.make(precision="float32"))
    assert (committee["mask_windows"], committee["mask_width"]) == (2, 100)
    seed = Settings.make(recipe="seed", precision="float32")
    assert seed.mask_windows == 0 and "mask_windows" not in classifier_params(seed)
    own = Settings.make(recipe="seed", precision="float32", mask_windows=3,
                        mask_width=40)
    assert (classifier_params(own)["mask_windows"],
            classifier_params(own)["mask_width"]) == (3, 40)
    with pytest.raises(ValueError, match="mask_windows must be >= 0, got -1"):
        Settings.make(precision="float32", mask_windows=-1)
    with pytest.raises(ValueError, match="mask_width must be >= 1, got 0"):
        Settings.make(precision="float32", mask_width=0)


def test_augmenter_noise_is_an_option_of_the_recipes():
    from raman_sk.reproduce._settings import Settings, classifier_params

    for recipe in ("cv-committee", "seed"):
        own = Settings.make(recipe=recipe, precision="float32")
        assert own.noise_std == 0.01
        assert classifier_params(own)["augmenter"].noise_std == 0.01
    noisy = classifier_params(Settings.make(precision="float32", noise_std=0.05))
    assert noisy["augmenter"].noise_std == 0.05
    with pytest.raises(ValueError, match="noise_std must be >= 0, got -0.1"):
        Settings.make(precision="float32", noise_std=-0.1)


def test_dropout_is_an_option_of_the_recipes():
    from raman_sk.reproduce._settings import Settings, classifier_params

    committee = classifier_params(Settings.make(precision="float32"))
    seed = classifier_params(Settings.make(recipe="seed", precision="float32"))
    assert (committee["module__dropout"], committee["module__head_dropout"]) == (
        0.25, 0.4
    )
    assert (seed["module__dropout"], seed["module__head_dropout"]) == (0.25, 0.4)
    lower = classifier_params(Settings.make(precision="float32", dropout=0.1))
    assert (lower["module__dropout"], lower["module__head_dropout"]) == (0.1, 0.4)
    with pytest.raises(ValueError, match="head_dropout must be in \\[0, 1\\), got 1"):
        Settings.make(precision="float32", head_dropout=1.0)


def test_report_names_the_input_binning():
    ev = _oof_evaluation()
    ev["schedule"] = {**ev["schedule"], "input_binning": 2, "dropout": 0.1,
                      "head_dropout": 0.2}
    assert "input averaged over 2 adjacent points, " in format_report(ev)
    assert "dropout 0.1 / 0.2 (body / head), " in format_report(ev)
    ev["schedule"] |= {"mask_windows": 2, "mask_width": 100}
    assert "2 windows of up to 100 input points masked per training spectrum, " \
        in format_report(ev)
    ev["schedule"]["input_binning"] = 1
    assert "adjacent points" not in format_report(ev)
