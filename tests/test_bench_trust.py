"""Pure functions of ``benchmarks/bench_trust.py``: bootstrap, metrics, verdicts.

No network is trained: the pooling and the report run on synthetic records.
"""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from raman_sk.calibration import expected_calibration_error
from tests._helpers import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_trust")


def _mean(values):
    values = np.asarray(values, dtype=np.float64)
    return lambda w: [float(np.dot(w, values) / w.sum())]


def test_bootstrap_interval_of_two_rows(bench):
    # resampling [0, 1] gives means 0, 1/2, 1 with probabilities 1/4, 1/2, 1/4,
    # so the 2.5 and 97.5 % percentiles are 0 and 1
    draws = bench.bootstrap_draws(_mean([0.0, 1.0]), [["a", "b"]], n_boot=400)
    assert set(np.round(draws[:, 0], 12)) == {0.0, 0.5, 1.0}
    lo, hi = bench.percentile_interval(draws)
    assert (lo[0], hi[0]) == (0.0, 1.0)


def test_bootstrap_moves_clusters_as_blocks(bench):
    # molecule a has two rows (1, 1), b one (0): a resample holds a twice (1),
    # b twice (0) or each once (2/3); never a mean of 1/2
    stat = _mean([1.0, 1.0, 0.0])
    draws = bench.bootstrap_draws(stat, [["a", "a", "b"]], n_boot=300, seed=3)
    assert set(np.round(draws[:, 0], 12)) == {0.0, round(2 / 3, 12), 1.0}
    out = bench.summarise(stat, [["a", "a", "b"]], ["m"], n_boot=300, seed=3)
    assert out["m"] == {"value": pytest.approx(2 / 3), "low": 0.0, "high": 1.0}
    again = bench.bootstrap_draws(stat, [["a", "a", "b"]], n_boot=300, seed=3)
    np.testing.assert_array_equal(draws, again)


def test_weighted_metrics_match_the_library(bench):
    p = np.array([[0.95, 0.05], [0.95, 0.05], [0.65, 0.35], [0.65, 0.35]])
    y = np.array([0, 0, 0, 1])
    conf, correct = p.max(1), (p.argmax(1) == y).astype(float)
    ece = bench.weighted_ece(conf, correct, np.ones(4))
    assert ece == pytest.approx(
        expected_calibration_error(["a", "a", "a", "b"], p, ["a", "b"])
    )
    # weight 2 on a row is the row repeated
    w = np.array([2.0, 0.0, 1.0, 1.0])
    rep = [0, 0, 2, 3]
    assert bench.weighted_ece(conf, correct, w) == pytest.approx(
        bench.weighted_ece(conf[rep], correct[rep], np.ones(4))
    )
    # every row predicted a: F1(a) = 2*3 / (3 + 4) = 6/7, F1(b) = 0, c absent
    assert bench.weighted_macro_f1(y, p.argmax(1), np.ones(4), 3) == pytest.approx(
        3 / 7
    )
    s_in, s_out = np.array([0.1, 0.5, 0.5, 2.0]), np.array([0.5, 3.0, np.inf])
    m = bench.auroc_matrix(s_in, s_out)
    auc = bench.weighted_auroc(m, np.ones(4), np.ones(3))
    labels = np.r_[np.zeros(4), np.ones(3)]
    assert auc == pytest.approx(
        roc_auc_score(labels, np.r_[s_in, np.nan_to_num(s_out, posinf=1e12)])
    )


def test_verdicts(bench):
    v = bench.verdict("ece", 0.04, 0.03, 0.06)
    assert v["met"] and not v["interval_inside"]
    assert "**met** (the 95 % interval crosses the bound)" in v["line"]
    assert not bench.verdict("ece", 0.04, 0.03, 0.045, extra_ok=False)["met"]
    v = bench.verdict("coverage", 0.90, 0.88, 0.92)
    assert v["met"] and v["interval_inside"]
    v = bench.verdict("coverage", 0.95, 0.92, 0.97)
    assert not v["met"] and "reaches the target" in v["line"]
    assert bench.verdict("foreign", 0.95)["met"]
    assert not bench.verdict("foreign", 0.74, 0.69, 0.79)["met"]
    assert not bench.verdict("set_size", float("nan"))["met"]


def _records(bench, n_seeds=2):
    """Synthetic per-seed records: 12 spectra of 6 molecules, 3 classes."""
    rng = np.random.default_rng(0)
    classes = np.array(["a", "b", "c"])
    y = np.repeat(classes, 4)
    groups = np.repeat([f"m{i}" for i in range(6)], 2)
    records = []
    for seed in range(n_seeds):
        proba = rng.dirichlet(np.ones(3), size=12)
        proba[np.arange(12), np.searchsorted(classes, y)] += 1.0
        proba /= proba.sum(1, keepdims=True)
        family = np.repeat(["noise", "sharp_lines"], 5)
        raw_score = rng.normal(0.0, 1.0, 12)
        f_score = rng.normal(2.0, 1.0, 10)
        rows = {
            "database_flag": np.arange(12) == seed,
            "raw_score": raw_score,
            "raw_flag": raw_score > 1.0,
            "foreign_score": f_score,
            "foreign_flag": f_score > 1.0,
            "foreign_family": family,
        }
        table = [
            {"family": "database_oof", "n": 12, "flagged": 1 / 12, "auroc": None,
             "description": "db"},
            {"family": "raw_in_domain", "n": 12, "flagged": 0.0, "auroc": None,
             "description": "raw"},
        ] + [{"family": f, "n": 5, "flagged": 1.0, "auroc": 0.9,
              "description": f} for f in ("noise", "sharp_lines", "all_foreign")]
        records.append({
            "seed": seed,
            "meta": {"settings": {}, "fit_s": 1.0, "finished": "", "cpu": "x"},
            "arrays": {"proba": proba, "folds": np.tile([0, 0, 1, 1, 2, 2], 2),
                       "y": y, "groups": groups, "classes": classes},
            "ood_meta": {"rows_agree": True, "table": table, "seconds": 0.0},
            "ood": rows,
        })
    return records


def test_pooling_and_report_on_synthetic_records(bench):
    records = _records(bench)
    cal = bench.pooled_calibration(records, n_boot=20, boot_seed=0)
    assert cal["n_rows"] == 24 and cal["n_molecules"] == 6
    assert cal["macro_f1_unchanged"]
    c = cal["calibration"]
    assert c["macro_f1"]["value"] == c["macro_f1_uncalibrated"]["value"]
    assert set(cal["conformal"]) == {str(a) for a in bench.ALPHAS}
    ood = bench.pooled_ood(records, n_boot=20, boot_seed=0)
    fam = ood["families"]
    assert fam["database_oof"]["flagged"]["value"] == pytest.approx(2 / 24)
    assert fam["all_foreign"]["n"] == 20
    for d in fam.values():
        assert d["flagged"]["low"] <= d["flagged"]["value"] <= d["flagged"]["high"]
    tg = bench.targets(cal, ood)
    assert tg["ood_fpr_database"]["met"] is bool(2 / 24 <= 0.05)
    meta = {
        "seeds": [0, 1], "recipe": "cv-committee", "cv": 3, "epochs": 2,
        "n_copies": 1, "label_smoothing": 0.1, "n_spectra": 12, "n_boot": 20,
        "boot_seed": 0, "cpu": "Demo CPU (AVX2)", "precision": "float32",
        "generated": "now", "versions": {}, "quick": True,
        "fits": [{"seed": 0, "fit_s": 1.0}], "ood_s": 0.0, "run_s": 1.0,
    }
    md = bench.markdown({"meta": meta, "calibration": cal, "ood": ood,
                         "targets": tg})
    assert "out-of-fold database flagged <= 5 %: **not met**" in md
    assert "Demo CPU (AVX2)" in md and "a has only 4 spectra" in md
    # without per-row agreement the table's values are pooled, no intervals
    records[0]["ood_meta"]["rows_agree"] = False
    plain = bench.pooled_ood(records, n_boot=20, boot_seed=0)
    assert plain["families"]["database_oof"]["flagged"]["low"] is None
    assert plain["families"]["database_oof"]["flagged"]["value"] == pytest.approx(
        1 / 12
    )


def test_report_header_names_mixup_binning_and_dropout():
    extras = load_benchmark("_common").recipe_extras
    assert extras({"mixup": 0.4, "input_binning": 2}) == (
        ", mixup 0.4, input binned over 2 points"
    )
    assert extras({"dropout": 0.1, "head_dropout": 0.2}) == (
        ", dropout 0.1 / 0.2 (body / head)"
    )
    assert extras({"mask_windows": 2, "mask_width": 100}) == (
        ", 2 windows of up to 100 points masked per training spectrum"
    )
    assert extras({"mixup": 0.0, "input_binning": 1, "mask_windows": 0}) == ""
    assert extras({}) == ""


def test_main_job_key_leaves_out_options_that_are_off():
    import dataclasses

    from raman_sk.reproduce import Settings

    key = load_benchmark("_common").main_job_key
    seed = Settings.make(recipe="seed", precision="float32")
    assert not {"mixup", "input_binning", "mask_windows", "mask_width",
                "dropout", "pretrained", "noise_std"} & set(key(seed))
    shipped = key(Settings.make(precision="float32"))
    assert (shipped["mask_windows"], shipped["mask_width"]) == (2, 100)
    assert "noise_std" not in shipped  # the reference noise: as before the option
    assert key(dataclasses.replace(seed, mask_windows=1))["mask_windows"] == 1
    assert key(dataclasses.replace(seed, noise_std=0.05))["noise_std"] == 0.05
    extras = load_benchmark("_common").recipe_extras
    assert extras({"noise_std": 0.05}) == ", augmenter noise 0.05"
    assert extras({"noise_std": 0.01}) == ""
