"""Smoke tests of the benchmark scripts: each ``main`` with tiny settings.

Marked ``benchmark`` (deselected by default); run with ``pytest -m benchmark``.
"""

import json

import numpy as np
import pytest

from tests._helpers import load_benchmark

ACCURACY_KEYS = {
    "model",
    "protocol",
    "accuracy_mean",
    "accuracy_std",
    "macro_f1_mean",
    "macro_f1_std",
    "weighted_f1_mean",
    "fit_predict_s",
    "n_seeds",
}

pytestmark = pytest.mark.benchmark


_load = load_benchmark


@pytest.fixture(scope="module")
def ramanbiolib_available():
    pytest.importorskip("ramanbiolib")


def test_plsda_classifier_learns_separable_classes():
    common = _load("_common")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 30))
    y = np.repeat(["a", "b", "c"], 20)
    X[y == "b", :5] += 4.0
    X[y == "c", 5:10] += 4.0
    clf = common.PLSDAClassifier(n_components=4).fit(X, y)
    assert list(clf.classes_) == ["a", "b", "c"]
    assert np.mean(clf.predict(X) == y) > 0.9
    binary = common.PLSDAClassifier(n_components=2).fit(X[:40], y[:40])
    assert set(binary.predict(X[:40])) <= {"a", "b"}


def test_bench_accuracy_quick(tmp_path, ramanbiolib_available):
    bench = _load("bench_accuracy")
    argv = [
        "--quick",
        "--seeds", "0",
        "--models", "kNN-1 cosine", "PLS-DA",
        "--out-dir", str(tmp_path),
        "--cache-dir", str(tmp_path / "cache"),
    ]  # fmt: skip
    rows = bench.main(argv)
    data = json.loads((tmp_path / "accuracy.json").read_text())
    assert (tmp_path / "accuracy.md").is_file()
    assert (tmp_path / "accuracy.png").is_file()
    # (2 baselines + CNN fp32/bf16) x 2 protocols + the main job fp32/bf16 (grouped)
    assert len(data) == len(rows) == 10
    for row in data:
        assert ACCURACY_KEYS <= set(row)
        assert row["protocol"] in {"grouped", "leaky"}
        assert 0.0 <= row["macro_f1_mean"] <= 1.0
        assert row["n_seeds"] == 1
    assert any(r["model"].startswith("raman_sk") for r in data)
    n_cached = len(list((tmp_path / "cache").glob("*.json")))
    # 3 grouped folds + 1 leaky run per model; 3 folds per main-job precision
    assert n_cached == 4 * (3 + 1) + 2 * 3
    job = [r for r in data if r["model"].startswith("raman_sk main job")]
    assert len(job) == 2 and all(r["n_scores"] == 3 for r in job)
    pairs = json.loads((tmp_path / "accuracy_paired.json").read_text())
    for p in pairs:
        assert p["wins_ties_half"] == p["wins"] + 0.5 * p["ties"]
    # a second run reads everything from the cache: identical scores
    again = bench.main([*argv, "--cached-only"])
    assert [r["macro_f1_mean"] for r in again] == [r["macro_f1_mean"] for r in rows]


def test_bench_gridsearch_quick(tmp_path, ramanbiolib_available):
    pytest.importorskip("distributed")
    bench = _load("bench_gridsearch")
    rows = bench.main([
        "--quick",
        "--backends", "n_jobs=1", "dask",
        "--out-dir", str(tmp_path),
        "--cache-dir", str(tmp_path / "cache"),
    ])  # fmt: skip
    data = json.loads((tmp_path / "gridsearch.json").read_text())
    assert [r["backend"] for r in data] == ["n_jobs=1", "dask"]
    for r in rows:
        assert r["wall_s"] > 0
        assert r["n_fits"] == 4
        # same seeds on every backend: the same scores (up to thread-count rounding)
        assert r["max_score_diff_vs_n_jobs_1"] <= 0.05
    assert (
        (tmp_path / "gridsearch.md")
        .read_text()
        .startswith("# bench_gridsearch (QUICK setting)")
    )


def test_bench_gridsearch_quick_one_process(tmp_path, ramanbiolib_available):
    bench = _load("bench_gridsearch")
    (row,) = bench.main([
        "--quick", "--backends", "n_jobs=1",
        "--out-dir", str(tmp_path), "--cache-dir", str(tmp_path / "cache"),
    ])  # fmt: skip
    assert row["n_fits"] == 4 and row["max_score_diff_vs_n_jobs_1"] == 0.0
    assert row["machine"].startswith(_load("_common").cpu_info()["cpu"])
    assert (tmp_path / "gridsearch.png").is_file()


def test_cpu_info_names_model_and_vector_extensions():
    common = _load("_common")
    info = common.cpu_info()
    assert info["cpu"] and info["logical_cpus"] >= 1
    assert set(info["vector_extensions"]) <= set(common.VECTOR_FLAGS.values())
    assert common.machine_description().startswith(info["cpu"])


def test_result_cache_round_trip_leaves_no_temporary_files(tmp_path):
    common = _load("_common")
    cache = common.ResultCache(tmp_path)
    assert cache.get("m", {"a": 1}, 0, 0) is None
    rec = cache.put("m", {"a": 1}, 0, 0, {"accuracy": 0.5, **common.environment()})
    assert cache.get("m", {"a": 1}, 0, 0) == json.loads(json.dumps(rec))
    assert cache.get("m", {"a": 2}, 0, 0) is None  # other settings, other file
    assert [p.suffix for p in tmp_path.iterdir()] == [".json"]
    assert common.ResultCache(tmp_path, enabled=False).get("m", {"a": 1}, 0, 0) is None


def test_bench_speed_training_and_inference(tmp_path):
    bench = _load("bench_speed")
    argv = [
        "--data", "synthetic", "--n-samples", "48", "--epochs", "1",
        "--batch-size", "16", "--infer-batch-size", "16",
        "--precisions", "float32", "--threads", "1", "--out", str(tmp_path),
    ]  # fmt: skip
    bench.main([*argv, "--sections", "training"])
    results = bench.main([*argv, "--sections", "inference"])
    saved = json.loads((tmp_path / "speed.json").read_text())
    assert set(saved["sections"]) == {"training", "inference"}  # earlier kept
    training = results["sections"]["training"]
    assert [r["name"] for r in training["rows"]] == [
        "plain fp32",
        "RamanCNNClassifier fp32",
    ]
    assert training["ratios"]["fp32_vs_plain"] > 0
    inference = results["sections"]["inference"]
    assert inference["rows"][-1]["max_abs_proba_diff_vs_plain"] < 1e-4
    for sec in (training, inference):
        for r in sec["rows"]:
            assert r["cpu"] == sec["machine"]
    md = (tmp_path / "speed.md").read_text()
    assert "## training" in md and "## inference" in md and "fp32_vs_plain" in md


def test_bench_speed_ig_section(tmp_path):
    bench = _load("bench_speed")
    results = bench.main([
        "--data", "synthetic", "--n-samples", "12", "--sections", "ig",
        "--ig-spectra", "2", "--ig-steps", "4", "--precisions", "float32",
        "--threads", "1", "--out", str(tmp_path),
    ])  # fmt: skip
    ig = results["sections"]["ig"]
    assert {r["impl"] for r in ig["rows"]} == {"raman_sk batched", "captum plain"}
    assert ig["ratios"]["fp32_vs_plain"] > 0


@pytest.mark.slow
def test_bench_speed_reproduce_section(tmp_path, ramanbiolib_available):
    bench = _load("bench_speed")
    results = bench.main([
        "--data", "synthetic", "--n-samples", "64", "--sections", "reproduce",
        "--precisions", "float32", "--threads", "1", "--out", str(tmp_path),
        "--reproduce-args", "--quick", "--threads", "1",
    ])  # fmt: skip
    (row,) = results["sections"]["reproduce"]["rows"]
    assert row["wall_s"] > row["train_s"] > 0
    assert row["plain_train_s"] > 0
    ratios = results["sections"]["reproduce"]["ratios"]
    assert "fp32_training_vs_plain" in ratios
    assert ratios["fp32_whole_job_vs_plain_seed_recipe"] > 0
    assert row["sample_passes"] > 0


def test_bench_shipped_quick(tmp_path, ramanbiolib_available):
    bench = _load("bench_shipped")
    out = bench.main(["--quick", "--out", str(tmp_path)])
    assert set(out["candidates"]) == {"committee", "refit", "committee + refit"}
    for row in out["candidates"].values():
        assert len(row["fold_macro_f1"]) == 3 and 0 <= row["macro_f1"] <= 1
    p = out["committee_minus_refit"]["macro_f1"]
    assert p["wins"] + p["ties"] + p["losses"] == 3
    assert (tmp_path / "shipped.md").is_file()
    assert len(list((tmp_path / "cache" / "shipped").glob("*.json"))) == 3


def test_bench_shipped_adds_the_refit_as_one_more_member():
    bench = _load("bench_shipped")
    record = {
        "committee": {"proba": [[0.6, 0.4], [0.2, 0.8]], "seconds": 3.0},
        "refit": {"proba": [[0.0, 1.0], [1.0, 0.0]], "seconds": 1.0},
    }
    got = bench._with_refit(record, inner=4)
    # (4 * committee + refit) / 5
    np.testing.assert_allclose(got["proba"], [[0.48, 0.52], [0.36, 0.64]])
    assert got["seconds"] == 4.0


def test_bench_epochs_quick(tmp_path, ramanbiolib_available):
    bench = _load("bench_epochs")
    rows = bench.main(["--quick", "--epochs", "3", "--out", str(tmp_path)])
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert all(len(r["fold_macro_f1"]) == 3 for r in rows)
    assert (tmp_path / "figures" / "accuracy_vs_epochs.png").is_file()
    meta = json.loads((tmp_path / "epochs.json").read_text())["meta"]
    assert meta["last_epoch_vs_oof_max_abs_diff"] < 0.05
    # a second run reads the cached probabilities: the same curve
    assert bench.main(["--quick", "--epochs", "3", "--out", str(tmp_path)]) == rows


def test_epoch_scores_hand_computed():
    bench = _load("bench_epochs")
    y = np.array(["a", "a", "b", "b"])
    folds = np.array([0, 1, 0, 1])
    good = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.2, 0.8]])
    bad = good[:, ::-1]
    rows = bench.scores(y, np.stack([bad, good]), folds)
    assert [r["accuracy"] for r in rows] == [0.0, 1.0]
    assert rows[1]["fold_macro_f1"] == [1.0, 1.0]


def test_pretrain_synthetic_quick(tmp_path):
    bench = _load("pretrain_synthetic")
    X, T = bench.synthetic_spectra(4, np.random.default_rng(0))
    assert X.shape == (4, 1351) and T.shape == (4, 136)
    np.testing.assert_allclose(X.min(axis=1), 0.0)
    np.testing.assert_allclose(X.max(axis=1), 1.0)
    assert set(np.unique(T)) <= {0.0, 1.0} and T.sum() > 0
    bench.main(["--quick", "--out", str(tmp_path)])
    record = json.loads((tmp_path / "synthetic_body.json").read_text())
    assert [row["epoch"] for row in record["history"]] == [1, 2]
    assert record["sample_passes"] == 2 * 64 and "cpu" in record
    assert (tmp_path / "synthetic_body.safetensors").is_file()
    with pytest.raises(SystemExit):  # never overwrite the bundled body with a toy
        bench.main(["--quick", "--package", "--out", str(tmp_path)])
