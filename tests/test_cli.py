"""The raman-sk command, run in process through main([...])."""

import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import raman_sk.reproduce
from raman_sk import cli, load_pipeline
from raman_sk.cli import main
from tests._helpers import OOD_SCORES
from tests.conftest import make_spectra

CLASSES = [
    "AminoAcids",
    "Lipids",
    "NucleicAcids",
    "PrimaryMetabolites",
    "Proteins",
    "Saccharides",
]
FIGURES = [
    "class_distribution.png",
    "training_curves.png",
    "confusion_matrix.png",
    *(f"saliency_{c.lower()}.png" for c in CLASSES),
    "saliency_heatmap_all.png",
]
FAST = ["--quick", "--threads", "1", "--quiet"]
#: Columns of the prediction table between the probabilities and the checker's.
TRUST_COLUMNS = [
    "calibrated",
    "prediction_set",
    "set_size",
    "nearest_molecule",
    "nearest_class",
    "nearest_similarity",
]
HORIBA = "arcadia_chlamy/CC-124-MN-1.txt"
RENISHAW = "arcadia_chlamy/2024-11-12_CC-124_MN_slide_10_cells_2_first3cells.txt"
CHARISMA = [
    "charisma_ramanchada2/FMNT-M_Ho785__PST10_iR785_OP02_50000msx2.txt",
    "charisma_ramanchada2/ICV_BW785__PST02_iRPlus785_Z050_100_3200ms.txt",
    "charisma_ramanchada2/TOP_Ho633__Pol_HLR633_Z010_100_15sx5.txt",
]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """A quick run of the default recipe (cv-committee)."""
    pytest.importorskip("ramanbiolib")
    out = tmp_path_factory.mktemp("reproduce") / "outputs"
    assert main(["reproduce", "--out", str(out), *FAST]) == 0
    return out


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    """A quick run of the reference recipe (--recipe seed)."""
    pytest.importorskip("ramanbiolib")
    out = tmp_path_factory.mktemp("reproduce_seed") / "outputs"
    assert main(["reproduce", "--recipe", "seed", "--out", str(out), *FAST]) == 0
    return out


@pytest.fixture(params=["cv-committee", "seed"])
def either_run(request):
    """Each recipe's quick run, and the recipe's name."""
    fixture = "quick_run" if request.param == "cv-committee" else "seed_run"
    return request.param, request.getfixturevalue(fixture)


#: Files under logs/ of each recipe.
LOGS = {
    "cv-committee": [
        "key_spectral_regions.csv",
        "oof_predictions.csv",
        "saliency_maps.npz",
        "training_log.csv",
    ],
    "seed": ["key_spectral_regions.csv", "saliency_maps.npz", "training_log.csv"],
}


# ------------------------------------------------------------------ reproduce
def test_reproduce_writes_every_artefact(either_run):
    recipe, out = either_run
    figures = FIGURES + (["reliability.png"] if recipe == "cv-committee" else [])
    for name in figures:
        data = (out / "figures" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(figures)
    assert sorted(p.name for p in out.iterdir()) == [
        "REPORT.md", "evaluation.json", "figures", "logs", "model",
    ]
    assert sorted(p.name for p in (out / "logs").iterdir()) == LOGS[recipe]
    assert sorted(p.name for p in (out / "model").iterdir()) == [
        "best_model", "final_model", "model_config.json",
    ]
    # no temporary directory left beside the output
    assert [p.name for p in out.parent.iterdir()] == ["outputs"]


def test_reproduce_models_open_and_predict(either_run):
    from raman_sk import RamanCNNClassifier
    from raman_sk.calibration import load_calibration
    from raman_sk.classifier import RamanCNNCommittee
    from raman_sk.datasets import load_ramanbiolib
    from raman_sk.domain import load_domain_checker
    from raman_sk.library import load_library

    recipe, out = either_run
    bunch = load_ramanbiolib()
    config = json.loads((out / "model" / "model_config.json").read_text())
    n_train = config["n_train_shipped"]
    assert n_train == (194 if recipe == "cv-committee" else config["split"]["n_train"])
    for name in ("best_model", "final_model"):
        pipe = load_pipeline(out / "model" / name)
        committee = recipe == "cv-committee" and name == "best_model"
        kind = RamanCNNCommittee if committee else RamanCNNClassifier
        assert type(pipe[-1]) is kind
        assert pipe[-1].classes_.tolist() == CLASSES
        proba = pipe.predict_proba(bunch.data[:4])
        assert proba.shape == (4, 6)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        checker = load_domain_checker(out / "model" / name)
        assert checker.reference_.shape == (n_train, 1351)
        assert -1.0 < checker.threshold_ < 1.0
        with np.load(out / "model" / name / "domain.npz") as z:
            model_space = ["database_flags", "embeddings", "fold", "oof_combined",
                           "oof_embedding_distance", "oof_energy",
                           "oof_residual"] if committee else []
            assert sorted(z.files) == sorted(
                ["loo_residual", "loo_similarity", "reference", "wavenumbers",
                 *model_space]
            )
            assert checker.model_space_ is committee
            assert z["wavenumbers"][0] == 450.0 and z["wavenumbers"][-1] == 1800.0
        library = load_library(out / "model" / name)
        assert library.reference.shape == (n_train, 1351)
        assert set(library.classes) == set(CLASSES)
        assert set(library.molecules) <= set(bunch.groups)
        calibrator = load_calibration(out / "model" / name)
        if recipe == "cv-committee":
            assert calibrator.classes_.tolist() == CLASSES
            assert calibrator.alpha == 0.1 and calibrator.n_calibration_ == 194
            assert 0.05 <= calibrator.temperature_ <= 20.0
        else:  # no out-of-fold predictions to calibrate on
            assert calibrator is None
    if recipe == "cv-committee":
        assert len(load_pipeline(out / "model" / "best_model")[-1].estimators_) == 3


def _common_config(config):
    assert {
        "architecture",
        "recipe",
        "schedule",
        "n_train_shipped",
        "sample_passes",
        "metrics",
        "seed",
        "versions",
        "timings",
        "classes",
        "explainer",
        "models",
        "cpu",
    } <= set(config)
    arch = config["architecture"]
    assert arch["channels"] == [4, 8] and arch["kernel_sizes"] == [5, 3]
    assert arch["n_features"] == 1351 and arch["n_classes"] == 6
    assert arch["n_parameters"] > 1000
    recipe = config["recipe"]
    assert recipe["max_epochs"] == 2 and recipe["batch_size"] == 32
    assert recipe["augmenter"]["n_copies"] == 1 and recipe["quick"] is True
    assert recipe["preprocessing"]["baselineremover"]["method"] == "airpls"
    assert config["classes"] == CLASSES
    assert config["versions"]["torch"] and config["versions"]["raman_sk"]
    assert {"load_s", "train_s", "ig_s", "figures_s", "total_s"} <= set(
        config["timings"]
    )
    assert config["cpu"]["model"] and "avx2" in config["cpu"]
    assert set(config["models"]) == {"best_model", "final_model"}


def test_reproduce_model_config(quick_run):
    config = json.loads((quick_run / "model" / "model_config.json").read_text())
    _common_config(config)
    assert config["recipe"]["name"] == "cv-committee"
    assert config["recipe"]["pipeline"][-1] == "ramancnncommittee"
    assert config["recipe"]["committee_folds"] == 3
    assert config["n_train_shipped"] == 194
    schedule = config["schedule"]
    assert schedule["epochs"] == 2 and schedule["validation"] is None
    assert "no checkpoint selection" in schedule["weights"]
    # quick: 3 folds, 1 copy, 2 epochs; each spectrum trains 2 of the 3 members
    assert config["sample_passes"] == {
        "committee": 2 * 194 * 2 * 2,
        "final_model": 194 * 2 * 2,
        "total": 3 * 194 * 2 * 2,
    }
    assert sum(config["folds"]["n_train_per_fold"]) == 2 * 194
    assert config["explainer"]["max_members"] == 2
    assert 0.0 <= config["metrics"]["oof_accuracy"] <= 1.0
    assert config["metrics"]["oof_n"] == 194
    assert "committee" in config["models"]["best_model"]


def test_reproduce_calibration(quick_run):
    from raman_sk.calibration import load_calibration

    ev = json.loads((quick_run / "evaluation.json").read_text())
    for key in ("ece", "ece_uncalibrated", "brier", "brier_uncalibrated",
                "conformal_coverage"):
        assert 0.0 <= ev[key] <= 2.0, key
    assert ev["log_loss"] > 0 and ev["log_loss_uncalibrated"] > 0
    assert 0.0 <= ev["conformal_mean_set_size"] <= 6.0
    assert set(ev["conformal_per_class_coverage"]) == set(CLASSES)
    cal = ev["calibration"]
    assert cal["per_class_n"]["NucleicAcids"] == 8 and cal["n_samples"] == 194
    assert len(cal["temperature_folds"]) == 3 and cal["conformal_alpha"] == 0.1
    assert sum(cal["set_size_counts"].values()) == 194
    shipped = load_calibration(quick_run / "model" / "best_model")
    assert ev["temperature"] == pytest.approx(shipped.temperature_)
    assert cal["conformal_quantile"] == pytest.approx(shipped.quantile_)
    report = (quick_run / "REPORT.md").read_text()
    assert "## Calibration and prediction sets" in report
    assert "NucleicAcids has 8 spectra: too few for class-conditional" in report
    config = json.loads((quick_run / "model" / "model_config.json").read_text())
    assert config["metrics"]["oof_calibration"]["ece"] == pytest.approx(ev["ece"])


def test_reproduce_model_config_seed(seed_run):
    config = json.loads((seed_run / "model" / "model_config.json").read_text())
    _common_config(config)
    assert config["recipe"]["name"] == "seed"
    assert config["recipe"]["pipeline"][-1] == "ramancnnclassifier"
    split = config["split"]
    assert split["n_train"] + split["n_valid"] + split["n_test"] == 194
    assert config["sample_passes"]["total"] == split["n_train"] * 2 * 2
    assert 0.0 <= config["metrics"]["test_accuracy"] <= 1.0
    assert config["metrics"]["best_epoch"] in (1, 2)


def test_reproduce_logs(either_run):
    recipe, out = either_run
    log = pd.read_csv(out / "logs" / "training_log.csv")
    if recipe == "seed":
        assert list(log.columns) == [
            "epoch", "train_loss", "valid_loss", "valid_acc", "lr", "dur",
        ]
        assert log["epoch"].tolist() == [1, 2]
    else:  # every network, no validation part
        assert list(log.columns) == ["model", "epoch", "train_loss", "lr", "dur"]
        assert log["model"].unique().tolist() == [
            *(f"member {k} (fold {k} held out)" for k in range(3)), "final_model",
        ]
        assert log["epoch"].tolist() == [1, 2] * 4
    assert log.notna().all().all() and (log["dur"] > 0).all()
    regions = pd.read_csv(out / "logs" / "key_spectral_regions.csv")
    assert {"class", "start", "end", "peak", "score", "assignment", "map"} <= set(
        regions.columns
    )
    counts = regions["class"].value_counts()
    assert set(counts.index) <= set(CLASSES) and counts.max() <= 5
    assert ((regions["peak"] >= 450) & (regions["peak"] <= 1800)).all()
    with np.load(out / "logs" / "saliency_maps.npz") as z:
        assert z["wavenumbers"].shape == (1351,)
        for c in CLASSES:
            assert z[c].shape == (1351,), c
            assert np.all(np.isfinite(z[c])) and np.all(z[c] >= 0)  # mean |IG|
        assert z["classes"].tolist() == CLASSES
        assert z["contrastive_ig_maps"].shape == (6, 1351)


def test_oof_predictions_cover_every_spectrum_without_leak(quick_run):
    from raman_sk.datasets import load_ramanbiolib

    bunch = load_ramanbiolib()
    oof = pd.read_csv(quick_run / "logs" / "oof_predictions.csv")
    probs = [f"prob_{c}" for c in CLASSES]
    assert list(oof.columns) == [
        "source", "molecule", "true_class", "fold", "predicted_class", *probs,
    ]
    assert len(oof) == 194 and oof["source"].is_unique
    assert oof["source"].tolist() == bunch.frame["id"].tolist()
    assert oof["true_class"].tolist() == list(bunch.target)
    assert oof["molecule"].tolist() == list(bunch.groups)
    assert sorted(oof["fold"].unique()) == [0, 1, 2]
    # no leak: the molecules of each fold are absent from its training part
    for k in range(3):
        held = set(oof.loc[oof["fold"] == k, "molecule"])
        trained = set(oof.loc[oof["fold"] != k, "molecule"])
        assert held and not held & trained, k
    p = oof[probs].to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    assert oof["predicted_class"].tolist() == [CLASSES[i] for i in p.argmax(axis=1)]
    ev = json.loads((quick_run / "evaluation.json").read_text())
    cnn = next(iter(ev["oof"].values()))
    accuracy = np.mean(oof["predicted_class"] == oof["true_class"])
    assert cnn["accuracy"] == pytest.approx(accuracy)
    counts = oof["fold"].value_counts().sort_index()
    assert ev["folds"]["n_train_per_fold"] == (194 - counts).tolist()


def test_baselines_are_scored_on_the_committees_folds(quick_run):
    from raman_sk.datasets import load_ramanbiolib
    from raman_sk.evaluation import baselines, fold_predictions, score_predictions

    bunch = load_ramanbiolib()
    oof = pd.read_csv(quick_run / "logs" / "oof_predictions.csv")
    X_grid = load_pipeline(quick_run / "model" / "final_model")[:-1].transform(
        bunch.data
    )
    ev = json.loads((quick_run / "evaluation.json").read_text())
    assert list(ev["oof"])[1:] == list(baselines())
    for name, est in baselines().items():
        pred, _ = fold_predictions(est, X_grid, bunch.target, oof["fold"].to_numpy())
        again = score_predictions(bunch.target, pred, labels=CLASSES)
        for key in ("accuracy", "macro_f1", "weighted_f1", "confusion_matrix"):
            assert ev["oof"][name][key] == again[key], (name, key)


def test_reproduce_evaluation_and_report(quick_run):
    ev = json.loads((quick_run / "evaluation.json").read_text())
    assert ev["recipe"] == "cv-committee" and ev["folds"]["n_splits"] == 3
    assert len(ev["oof"]) == 3
    for scores in ev["oof"].values():
        assert scores["labels"] == CLASSES and scores["n_samples"] == 194
        cm = np.asarray(scores["confusion_matrix"])
        assert cm.shape == (6, 6) and cm.sum() == 194
        assert scores["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
        assert set(scores["per_class_recall"]) == set(CLASSES)
    rows = {(r["model"], r["protocol"]) for r in ev["comparison"]}
    assert rows == {
        ("1-NN cosine (library search)", "leaky"),
        ("logistic regression (standard-scaled)", "leaky"),
    }
    # the leaky protocol scores augmented rows: 20 % of 194 x (1 + 1 copy)
    assert all(r["n_test"] == 78 for r in ev["comparison"])
    assert ev["cv"] is None and ev["leaky_cnn"] is None
    assert [r["class"] for r in ev["map_stability"]] == CLASSES
    assert ev["sample_passes"]["total"] == 3 * 194 * 2 * 2
    report = (quick_run / "REPORT.md").read_text()
    cnn = next(iter(ev["oof"]))
    assert "Recipe `cv-committee`" in report and ev["cpu"] in report
    assert "## Out-of-fold evaluation over all 194 spectra" in report
    assert f"| {cnn} | {ev['oof'][cnn]['accuracy']:.3f} |" in report
    assert "- `best_model`: the committee of 3 networks" in report
    assert "- `final_model`: one network refitted on all 194 spectra" in report
    assert "averaged over the first 2 of the committee's 3 members" in report
    assert "| class | mean Spearman | min Spearman |" in report
    assert "Leaky comparison (NOT the model's accuracy)" in report
    assert "| total | 2,328 |" in report and "| **total** |" in report
    assert "--leaky-cnn" in report and "--quick smoke run" in report


def test_reproduce_evaluation_and_report_seed(seed_run):
    ev = json.loads((seed_run / "evaluation.json").read_text())
    assert ev["recipe"] == "seed"
    held = ev["held_out"]
    assert held["labels"] == CLASSES
    cm = np.asarray(held["confusion_matrix"])
    assert cm.shape == (6, 6) and cm.sum() == ev["split"]["n_test"]
    assert held["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
    assert set(held["per_class_recall"]) == set(CLASSES)
    rows = {(r["model"], r["protocol"]) for r in ev["comparison"]}
    assert {
        ("1-NN cosine (library search)", "grouped"),
        ("1-NN cosine (library search)", "leaky"),
        ("logistic regression (standard-scaled)", "grouped"),
        ("logistic regression (standard-scaled)", "leaky"),
        ("1D CNN (this run)", "grouped"),
    } == rows
    leaky = [r for r in ev["comparison"] if r["protocol"] == "leaky"]
    # the leaky protocol scores augmented rows: 20 % of 194 x (1 + 1 copy)
    assert all(r["n_test"] == 78 for r in leaky)
    assert ev["cv"] is None and ev["leaky_cnn"] is None
    assert ev["map_stability"] is None
    report = (seed_run / "REPORT.md").read_text()
    assert "Recipe `seed`" in report
    assert "Leaky comparison (NOT the model's accuracy)" in report
    assert f"| accuracy | {held['accuracy']:.3f} |" in report
    assert "--leaky-cnn" in report and "--quick smoke run" in report
    assert "oof_predictions" not in report


def test_reproduce_refuses_a_non_empty_output(quick_run, capsys):
    before = {p: p.read_bytes() for p in quick_run.rglob("*") if p.is_file()}
    code, out, err = run(capsys, "reproduce", "--out", quick_run, *FAST)
    assert code == 2
    assert err.startswith("raman-sk: error: ") and "not empty" in err
    assert "--overwrite" in err and err.count("\n") == 1
    after = {p: p.read_bytes() for p in quick_run.rglob("*") if p.is_file()}
    assert after == before


def test_interrupted_run_leaves_the_earlier_run(tmp_path, monkeypatch, capsys):
    out = tmp_path / "outputs"
    out.mkdir()
    (out / "REPORT.md").write_text("earlier run")

    def interrupted(workdir, settings, **kwargs):
        (workdir / "REPORT.md").write_text("half-written")
        raise KeyboardInterrupt

    monkeypatch.setattr(raman_sk.reproduce, "run_experiment", interrupted)
    code, _, err = run(capsys, "reproduce", "--out", out, "--overwrite", "--quiet")
    assert code == 130 and "interrupted" in err
    assert (out / "REPORT.md").read_text() == "earlier run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outputs"]


def test_staging_replaces_only_at_the_end(tmp_path):
    from raman_sk.utils._files import staged_directory

    out = tmp_path / "run"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with staged_directory(out) as tmp:
        (tmp / "new.txt").write_text("new")
        assert (out / "old.txt").exists() and not (out / "new.txt").exists()
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epochs", "0"], "--epochs must be >= 1, got 0"),
        (["--cv", "1"], "--cv must be 0 \\(off\\) or >= 2, got 1"),
        (["--cv", "0"], "--cv 0 \\(off\\) works only with --recipe seed"),
        (["--recipe", "seed", "--cv", "1"], "--cv must be 0 \\(off\\) or >= 2, got 1"),
        (["--threads", "0"], "--threads must be >= 1, got 0"),
        (["--batch-size", "0"], "--batch-size must be >= 1, got 0"),
        (["--input-binning", "0"], "--input-binning must be >= 1, got 0"),
        (["--mask-windows", "-1"], "--mask-windows must be >= 0, got -1"),
        (["--mask-width", "0"], "--mask-width must be >= 1, got 0"),
        (["--data", "no/such/dir"], "not an existing directory"),
    ],
)
def test_reproduce_bad_options(tmp_path, capsys, argv, message):
    code, _, err = run(capsys, "reproduce", "--out", tmp_path / "o", "--quick", *argv)
    assert code == 2
    assert err.startswith("raman-sk: error: ")
    assert re.search(message, err)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


@pytest.mark.parametrize("command", ["reproduce", "train"])
def test_batch_size_option_reaches_the_classifier(command):
    extra = ["--labels", "l.csv"] if command == "train" else []
    argv = [command, "--out", "o", *extra]
    if command == "train":
        argv.append("s.csv")
    from raman_sk.reproduce import classifier_params

    args = cli.build_parser().parse_args(argv)
    assert args.batch_size == 32  # the reference recipe by default
    args = cli.build_parser().parse_args([*argv, "--batch-size", "64"])
    params = classifier_params(cli._settings(args))
    # reproduce: the cv-committee schedule; train: one network, as before
    epochs = 6 if command == "reproduce" else 80
    assert params["batch_size"] == 64 and params["max_epochs"] == epochs


@pytest.mark.parametrize("command", ["reproduce", "train"])
def test_pretrained_option_reaches_the_network(command):
    extra = ["--labels", "l.csv", "s.csv"] if command == "train" else []
    argv = [command, "--out", "o", *extra]
    from raman_sk.reproduce import classifier_params

    params = classifier_params(cli._settings(cli.build_parser().parse_args(argv)))
    assert "module__pretrained" not in params  # a random body by default
    args = cli.build_parser().parse_args([*argv, "--pretrained", "synthetic"])
    assert classifier_params(cli._settings(args))["module__pretrained"] == "synthetic"


def test_usage_errors_exit_2(capsys):
    assert main(["reproduce", "--precision", "float16"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main(["reproduce", "--recipe", "bagging"]) == 2
    assert "invalid choice: 'bagging'" in capsys.readouterr().err
    assert main([]) == 2
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("raman-sk ")


# -------------------------------------------------------------------- predict
@pytest.mark.parametrize("name", ["best_model", "final_model"])
def test_predict_real_exports(quick_run, data_dir, capsys, tmp_path, name):
    model = quick_run / "model" / name
    files = [data_dir / HORIBA, *(data_dir / f for f in CHARISMA)]
    dest = tmp_path / "preds.csv"
    code, out, err = run(capsys, "predict", model, *files, "--out", dest)
    assert code == 0 and out == ""
    table = pd.read_csv(dest)
    probs = [f"prob_{c}" for c in CLASSES]
    assert list(table.columns) == [
        "source",
        "label",
        *probs,
        *TRUST_COLUMNS,
        "similarity",
        "effective_width",
        "peak_fwhm",
        "strongest_fwhm",
        "band_count",
        *OOD_SCORES,
        "out_of_domain",
        "ood_reason",
        "ood_evidence",
    ]
    assert table["source"].tolist() == [Path(f).name for f in files]
    p = table[probs].to_numpy()
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    assert set(table["label"]) <= set(CLASSES)
    assert table["similarity"].between(-1, 1).all()
    assert table["out_of_domain"].dtype == bool
    # calibrated probabilities, a prediction set per spectrum, the nearest molecule
    assert table["calibrated"].all() and table["set_size"].between(0, 6).all()
    sets = table["prediction_set"].fillna("").str.split("|")
    assert [len([c for c in s if c]) for s in sets] == table["set_size"].tolist()
    assert all({c for c in s if c} <= set(CLASSES) for s in sets)
    assert set(table["nearest_class"]) <= set(CLASSES)
    assert table["nearest_molecule"].notna().all()
    np.testing.assert_allclose(table["nearest_similarity"], table["similarity"])
    assert "has no" not in err  # checker, calibration and library are all there
    # to stdout without --out, same numbers; --ood-threshold 1 flags everything
    code, out, err = run(capsys, "predict", model, *files[:2], "--ood-threshold", "1.0")
    assert code == 0
    again = pd.read_csv(io.StringIO(out))
    np.testing.assert_allclose(again[probs].to_numpy(), p[:2])
    assert again["out_of_domain"].all()
    assert "2 of 2 spectra are unlike the training spectra" in err


def test_predict_coverage(quick_run, data_dir, capsys):
    model = quick_run / "model" / "best_model"
    code, out, err = run(capsys, "predict", model, data_dir / RENISHAW)
    assert code == 2 and out == ""
    assert err.startswith("raman-sk: error: ") and err.count("\n") == 1
    assert "450" in err and "--coverage edge (or fill, for spectra whose" in err
    code, out, err = run(
        capsys, "predict", model, data_dir / RENISHAW, "--coverage", "edge"
    )
    assert code == 0
    table = pd.read_csv(io.StringIO(out))
    assert len(table) == 3  # three cells of the map export
    assert table["source"].str.contains("#").all()
    assert np.isfinite(table[[f"prob_{c}" for c in CLASSES]].to_numpy()).all()


def test_predict_errors(quick_run, data_dir, tmp_path, capsys):
    model = quick_run / "model" / "best_model"
    code, _, err = run(capsys, "predict", tmp_path / "nope", data_dir / HORIBA)
    assert code == 2 and "does not exist" in err
    code, _, err = run(capsys, "predict", model, tmp_path / "missing.txt")
    assert code == 2 and "missing.txt" in err
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00\x01\x02binary\x00" * 20)
    code, _, err = run(capsys, "predict", model, bad)
    assert code == 2 and "bad.txt" in err and err.count("\n") == 1
    # an incomplete model directory
    broken = tmp_path / "broken"
    shutil.copytree(model, broken)
    next(broken.rglob("weights.safetensors")).unlink()
    code, _, err = run(capsys, "predict", broken, data_dir / HORIBA)
    assert code == 2 and "weights.safetensors" in err
    half = tmp_path / "half"
    shutil.copytree(model, half)
    (half / "domain.npz").unlink()
    code, _, err = run(capsys, "predict", half, data_dir / HORIBA)
    assert code == 2 and "domain.npz is missing" in err
    code, _, err = run(
        capsys, "predict", model, data_dir / HORIBA, "--ood-threshold", "2"
    )
    assert code == 2 and "must be a correlation in [-1, 1]" in err


# -------------------------------------------------------------------- explain
def test_explain(quick_run, data_dir, tmp_path, capsys):
    model = quick_run / "model" / "best_model"
    out = tmp_path / "ig"
    files = [data_dir / HORIBA, data_dir / CHARISMA[0]]
    code, _, err = run(
        capsys, "explain", model, *files, "--out", out, "--n-steps", "8", "--quiet"
    )
    assert code == 0, err
    table = pd.read_csv(out / "attributions.csv")
    assert list(table.columns[:3]) == ["source", "predicted", "target"]
    head = pd.read_csv(out / "predictions.csv")  # the same table as predict's
    assert list(head.columns) == [
        "source", "label", *(f"prob_{c}" for c in CLASSES), *TRUST_COLUMNS,
        "similarity", "effective_width", "peak_fwhm", "strongest_fwhm", "band_count",
        *OOD_SCORES,
        "out_of_domain",
        "ood_reason", "ood_evidence",
    ]
    assert head["label"].tolist() == table["predicted"].tolist()
    assert table.shape == (2, 3 + 1351)
    assert table.columns[3] == "450" and table.columns[-1] == "1800"
    assert (table["predicted"] == table["target"]).all()
    assert np.isfinite(table.iloc[:, 3:].to_numpy(dtype=float)).all()
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert len(pngs) == 2 and pngs[0].startswith("attribution_000_")
    # without --quiet: the header of each spectrum, no word on class maps
    code, said, err = run(capsys, "explain", model, files[0], "--out",
                          tmp_path / "ig1", "--n-steps", "4")
    assert code == 0 and "wrote 1 attributions" in said + err
    assert "saliency rows" not in said + err
    code, _, err = run(
        capsys, "explain", model, *files, "--out", out, "--target", "Lipids"
    )
    assert code == 2 and "not empty" in err
    code, _, err = run(
        capsys,
        "explain",
        model,
        files[0],
        "--out",
        tmp_path / "ig2",
        "--target",
        "Rocks",
        "--n-steps",
        "4",
    )
    assert code == 2 and "Rocks" in err


def test_explain_header_reads_the_prediction_table():
    from raman_sk.pipeline import prediction_header

    row = {"source": "s.txt", "label": "Lipids", "prob_Lipids": 0.874,
           "calibrated": True, "prediction_set": "Lipids|Proteins",
           "nearest_molecule": "Oleic acid", "nearest_class": "Lipids",
           "nearest_similarity": 0.912, "out_of_domain": False, "ood_reason": ""}
    assert prediction_header(pd.Series(row)) == (
        "s.txt: Lipids (p 0.87, set {Lipids, Proteins}); nearest Oleic acid "
        "(Lipids, r 0.91)\nin domain"
    )
    row.update(calibrated=False, nearest_molecule="", out_of_domain=True,
               ood_reason="similarity 0.12 < 0.16")
    assert prediction_header(pd.Series(row)) == (
        "s.txt: Lipids (p 0.87)\nOUT OF DOMAIN: similarity 0.12 < 0.16"
    )
    row.update(label=None, ood_reason="bad input: flat spectrum (every intensity 0)")
    assert prediction_header(pd.Series(row)) == (
        "s.txt: no prediction (bad input: flat spectrum (every intensity 0))"
    )


# ----------------------------------------------------------- train / evaluate
@pytest.fixture(scope="module")
def user_files(tmp_path_factory):
    """36 synthetic spectra as two-column text files on 440-1812 cm-1."""
    root = tmp_path_factory.mktemp("user")
    s = make_spectra(wavenumbers=np.arange(440.0, 1812.0, 4.0), seed=3)
    rows = []
    for i, (x, label, group) in enumerate(zip(s.data, s.target, s.groups, strict=True)):
        name = f"spec_{i:02d}.txt"
        np.savetxt(root / name, np.column_stack([s.wavenumbers, x]), delimiter="\t")
        rows.append({"file": name, "label": label, "group": group})
    labels = pd.DataFrame(rows)
    labels.to_csv(root / "labels.csv", index=False)
    return root, labels


def test_train_then_predict(user_files, tmp_path, capsys):
    root, labels = user_files
    files = sorted(root.glob("spec_*.txt"))
    model = tmp_path / "model"
    argv = ["train", *files, "--labels", root / "labels.csv", "--out", model]
    code, out, err = run(capsys, *argv, "--epochs", "3", "--n-copies", "1", *FAST)
    assert code == 0, err
    assert (model / "pipeline.json").is_file() and (model / "domain.npz").is_file()
    log = pd.read_csv(model / "training_log.csv")
    assert log["epoch"].tolist() == [1, 2, 3]
    pipe = load_pipeline(model)
    assert pipe[-1].classes_.tolist() == ["alpha", "beta", "gamma"]
    code, out, err = run(capsys, "predict", model, *files[:3])
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out))
    assert table["source"].tolist() == [f.name for f in files[:3]]
    # the training spectra are their own nearest reference spectra
    np.testing.assert_allclose(table["similarity"], 1.0, atol=1e-9)
    assert not table["out_of_domain"].any()
    # ... and name their own group as the nearest molecule
    np.testing.assert_allclose(table["nearest_similarity"], 1.0, atol=1e-9)
    groups = labels.set_index("file").loc[[f.name for f in files[:3]]]
    assert table["nearest_molecule"].tolist() == groups["group"].tolist()
    assert table["nearest_class"].tolist() == groups["label"].tolist()
    # train fits no calibration (no out-of-fold predictions): said, not hidden
    assert (model / "library.npz").is_file()
    assert not (model / "calibration.json").exists()
    assert not table["calibrated"].any() and table["set_size"].isna().all()
    assert "no calibration (calibration.json" in err
    # a second train into the same directory is refused
    code, _, err = run(capsys, *argv, "--epochs", "1", *FAST)
    assert code == 2 and "not empty" in err


def test_train_committee_gives_calibration_and_sets(user_files, tmp_path, capsys):
    root, labels = user_files
    files = sorted(root.glob("spec_*.txt"))
    model = tmp_path / "model"
    argv = ["train", *files, "--labels", root / "labels.csv", "--out", model]
    code, out, err = run(capsys, *argv, "--committee", "3", "--epochs", "2",
                         "--n-copies", "1", "--quick", "--threads", "1")
    assert code == 0, err
    assert "out of fold" in out and "grouped 3-fold" in out
    assert re.search(r"prediction sets .*coverage \d\.\d{3}, mean size", out)
    pipe = load_pipeline(model)
    committee = pipe[-1]
    assert type(committee).__name__ == "RamanCNNCommittee"
    assert len(committee.estimators_) == 3
    # every group's spectra sit in one fold: scored by a member that never saw them
    folds = dict(zip(labels["group"], committee.oof_fold_, strict=True))
    for group, fold in zip(labels["group"], committee.oof_fold_, strict=True):
        assert folds[group] == fold
    log = pd.read_csv(model / "training_log.csv")
    assert log["member"].tolist() == [0, 0, 1, 1, 2, 2]
    assert (model / "calibration.json").is_file()
    code, out, err = run(capsys, "predict", model, *files[:4])
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out))
    assert table["calibrated"].all() and table["set_size"].notna().all()
    assert table["disagreement"].notna().all()  # the model-space check is on
    code, _, err = run(capsys, *argv, "--committee", "1", *FAST)
    assert code == 2 and "--committee must be 0 (off) or >= 2, got 1" in err


def test_evaluate(user_files, tmp_path, capsys):
    root, _ = user_files
    files = sorted(root.glob("spec_*.txt"))
    report = tmp_path / "cv.json"
    code, out, err = run(
        capsys,
        "evaluate",
        *files,
        "--labels",
        root / "labels.csv",
        "--cv",
        "3",
        "--epochs",
        "1",
        "--n-copies",
        "0",
        "--out",
        report,
        "--quick",
        "--threads",
        "1",
    )
    assert code == 0, err
    r = json.loads(report.read_text())
    assert r["protocol"] == "grouped" and r["n_splits"] == 3
    assert len(r["accuracy_folds"]) == 3 and r["n_spectra"] == 36
    assert r["n_groups"] == 18
    assert "accuracy" in out and "±" in out


def test_labels_errors(user_files, tmp_path, capsys):
    root, labels = user_files
    files = sorted(root.glob("spec_*.txt"))
    base = ["train", "--out", tmp_path / "m", *FAST]
    partial = tmp_path / "partial.csv"
    labels.iloc[1:].to_csv(partial, index=False)
    code, _, err = run(capsys, *base, *files, "--labels", partial)
    assert code == 2 and "no label for 1 spectrum(s)" in err and "spec_00.txt" in err
    code, _, err = run(capsys, *base, *files[1:], "--labels", root / "labels.csv")
    assert code == 2 and "match no spectra file" in err and "spec_00.txt" in err
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("name,class\nspec_00.txt,alpha\n")
    code, _, err = run(capsys, *base, *files, "--labels", wrong)
    assert code == 2 and "needs the columns 'file'" in err
    code, _, err = run(capsys, *base, *files, "--labels", tmp_path / "none.csv")
    assert code == 2 and "none.csv" in err and "does not exist" in err
    dup = tmp_path / "dup.csv"
    pd.concat([labels, labels.iloc[:1]]).to_csv(dup, index=False)
    code, _, err = run(capsys, *base, *files, "--labels", dup)
    assert code == 2 and "lists the file 'spec_00.txt' 2 times" in err
    assert not (tmp_path / "m").exists()


# ------------------------------------------- full data sets in ../shared/data
def _write_two_column(path, wavenumbers, intensity):
    np.savetxt(path, np.column_stack([wavenumbers, intensity]), delimiter="\t")


@pytest.mark.slow
def test_predict_raw_exports_of_shared_data(quick_run, shared_data, capsys):
    model = quick_run / "model" / "best_model"
    raw = shared_data / "arcadia_chlamy" / "raw"
    horiba = sorted((raw / "Horiba_MacroRAM").glob("*.txt"))
    charisma = sorted((shared_data / "charisma_ramanchada2" / "raw_examples").iterdir())
    files = horiba + [f for f in charisma if f.suffix == ".txt"]
    code, out, err = run(capsys, "predict", model, *files)
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out))
    assert len(table) == len(files) == 21
    probs = table[[f"prob_{c}" for c in CLASSES]].to_numpy()
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    # Renishaw exports cover 712-1808 cm-1 only: a clear error by default ...
    renishaw = sorted((raw / "Renishaw_Qontor").glob("*.txt"))
    code, out, err = run(capsys, "predict", model, *renishaw)
    assert code == 2 and err.count("\n") == 1
    assert "coverage" in err and "450" in err
    # ... and predictions with an explicit fill policy
    code, out, err = run(capsys, "predict", model, *renishaw, "--coverage", "fill")
    assert code == 0, err
    table = pd.read_csv(io.StringIO(out))
    assert len(table) == 59
    assert np.isfinite(table[[f"prob_{c}" for c in CLASSES]].to_numpy()).all()


@pytest.fixture(scope="module")
def foreign_similarity(quick_run, shared_data, tmp_path_factory):
    """predict's similarity for the CHARISMA materials and held-out database spectra."""
    from raman_sk.datasets import load_ramanbiolib

    root = tmp_path_factory.mktemp("charisma")
    meta = pd.read_csv(shared_data / "charisma_ramanchada2" / "spectra.csv")
    keep = meta[meta["sample"].isin(["PST", "Sil", "nCAL", "sCAL"])]
    files = []
    for _, row in keep.iterrows():
        path = root / f"{row['id']:03d}_{row['sample']}.txt"
        _write_two_column(
            path, json.loads(row["wavenumbers"]), json.loads(row["intensity"])
        )
        files.append(path)
    model = quick_run / "model" / "best_model"
    dest = root / "preds.csv"
    assert main(["predict", str(model), *map(str, files), "--out", str(dest)]) == 0
    table = pd.read_csv(dest)
    table["sample"] = keep["sample"].to_numpy()
    # held-out database spectra (validation + test molecules), same split
    bunch = load_ramanbiolib()
    config = json.loads((quick_run / "model" / "model_config.json").read_text())
    from raman_sk.evaluation import grouped_train_valid_test_split

    tr, va, te = grouped_train_valid_test_split(
        bunch.target, bunch.groups, random_state=config["seed"]
    )
    held = np.concatenate([va, te])
    db_root = root / "db"
    db_root.mkdir()
    db_files = []
    for i in held:
        path = db_root / f"db_{i:03d}.txt"
        _write_two_column(path, bunch.wavenumbers, bunch.data[i])
        db_files.append(path)
    dest = root / "db.csv"
    assert main(["predict", str(model), *map(str, db_files), "--out", str(dest)]) == 0
    return table, pd.read_csv(dest)


@pytest.mark.slow
def test_out_of_domain_similarities(foreign_similarity):
    """r = Pearson correlation with the nearest training spectrum on the
    network's grid."""
    foreign, db = foreign_similarity
    # held-out database molecules are never flagged ...
    assert not db["out_of_domain"].any()
    assert db["similarity"].median() > 0.85
    # ... silicon and calcite are far less similar to any training spectrum
    med = foreign.groupby("sample")["similarity"].median()
    assert med["Sil"] < 0.45 and med["nCAL"] < 0.5 and med["sCAL"] < 0.5
    assert foreign.loc[foreign["sample"] != "PST", "similarity"].max() < 0.65
    # polystyrene looks like L-phenylalanine (mono-substituted benzene ring)
    assert med["PST"] > 0.75


@pytest.mark.slow
def test_band_checks_flag_most_foreign_materials(foreign_similarity):
    """With the default checker (training part of seed 0) the band-shape limits
    (widths, highest peak, count) flag most foreign materials that correlation
    alone lets through, and no held-out database spectrum."""
    foreign, db = foreign_similarity
    assert not db["out_of_domain"].any()
    rate = foreign.groupby("sample")["out_of_domain"].mean()
    assert rate["PST"] >= 0.6 and rate["Sil"] >= 0.6
    assert rate["nCAL"] >= 0.85 and rate["sCAL"] >= 0.85
    flagged = foreign[foreign["out_of_domain"]]
    assert flagged["ood_reason"].str.contains(
        "effective width|peak FWHM|strongest band FWHM|band count").all()
    # every flag says why; unflagged rows say nothing
    assert (flagged["ood_reason"] != "").all()
    assert foreign.loc[~foreign["out_of_domain"], "ood_reason"].isna().all()


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="some polystyrene spectra have bands as broad as L-phenylalanine's and "
    "correlate closely with it; silicon and calcite spectra of the noisy setups "
    "have a noise floor that makes them look band-rich, at correlations within "
    "the range of genuine unseen molecules",
)
def test_foreign_materials_flagged_by_default(foreign_similarity):
    foreign, db = foreign_similarity
    assert foreign["out_of_domain"].all()
    assert not db["out_of_domain"].any()


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["seed", "cv-committee"])
def test_reproduce_with_cv_and_leaky_cnn(tmp_path, capsys, recipe):
    pytest.importorskip("ramanbiolib")
    out = tmp_path / "o"
    argv = ["--out", out, "--quick", "--threads", "1", "--cv", "2", "--leaky-cnn"]
    code, stdout, err = run(capsys, "reproduce", "--recipe", recipe, *argv)
    assert code == 0, err
    ev = json.loads((out / "evaluation.json").read_text())
    assert ev["leaky_cnn"]["protocol"] == "leaky"
    assert ("1D CNN", "leaky") in {
        (r["model"], r["protocol"]) for r in ev["comparison"]
    }
    passes = ev["sample_passes"]
    assert passes["leaky_cnn"] > 0 and passes["total"] == sum(
        v for k, v in passes.items() if k != "total"
    )
    assert "1D CNN [leaky]" in stdout
    report = (out / "REPORT.md").read_text()
    if recipe == "seed":
        assert ev["cv"]["n_splits"] == 2 and len(ev["cv"]["accuracy_folds"]) == 2
        assert passes["cross_validation"] == 194 * 2 * 2
        assert "Grouped 2-fold cross-validation" in report
        assert "grouped 2-fold CV" in stdout
    else:  # --cv sets the committee's folds
        assert ev["folds"]["n_splits"] == 2 and ev["cv"] is None
        assert passes["committee"] == passes["final_model"] == 194 * 2 * 2
        assert "grouped 2-fold by molecule" in stdout


# ------------------------------------------------------------- precision auto
@pytest.mark.parametrize(
    ("amx", "avx512_bf16", "device", "expected"),
    [
        (True, False, "cpu", "bfloat16"),
        (False, True, "cpu", "bfloat16"),
        (False, False, "cpu", "float32"),  # bf16 would be emulated: slower
        (True, True, "cuda", "float32"),  # GPUs are fast in float32 already
    ],
)
def test_auto_precision(monkeypatch, amx, avx512_bf16, device, expected):
    import torch

    from raman_sk.utils._torch import auto_precision

    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    assert auto_precision(device) == expected


def test_auto_precision_bad_device(tmp_path, capsys):
    from raman_sk.utils._torch import auto_precision

    with pytest.raises(ValueError, match="device 'gpu0' is not a torch device"):
        auto_precision("gpu0")
    argv = ["reproduce", "--out", tmp_path / "o", "--device", "gpu0", "--quick"]
    code, _, err = run(capsys, *argv)
    assert code == 2 and "device 'gpu0' is not a torch device" in err


def test_reproduce_records_the_resolved_precision(quick_run):
    from raman_sk.utils._torch import auto_precision

    config = json.loads((quick_run / "model" / "model_config.json").read_text())
    assert config["recipe"]["precision"] == auto_precision("cpu")
    assert "auto" not in json.dumps(config)
