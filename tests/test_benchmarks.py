"""Smoke tests of the benchmark scripts: each ``main`` with tiny settings.

Marked ``benchmark`` (deselected by default); run with ``pytest -m benchmark``.
"""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
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


def _load(name):
    """Import benchmarks/<name>.py as a module (the folder is no package)."""
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    spec = importlib.util.spec_from_file_location(name, BENCH_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    assert len(data) == len(rows) == 8  # (2 baselines + CNN fp32/bf16) x 2 protocols
    for row in data:
        assert ACCURACY_KEYS <= set(row)
        assert row["protocol"] in {"grouped", "leaky"}
        assert 0.0 <= row["macro_f1_mean"] <= 1.0
        assert row["n_seeds"] == 1
    assert any(r["model"].startswith("raman_sk") for r in data)
    n_cached = len(list((tmp_path / "cache").glob("*.json")))
    assert n_cached == 4 * (3 + 1)  # 3 grouped folds + 1 leaky run per model
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


def test_bench_speed_levers_section(tmp_path):
    bench = _load("bench_speed")
    argv = [
        "--data", "synthetic", "--n-samples", "48",
        "--sections", "levers", "--lever-rounds", "2",
        "--lever-batch-sizes", "8", "16", "--lever-precision", "float32",
        "--threads", "1", "--out", str(tmp_path),
    ]  # fmt: skip
    results = bench.main(argv)
    rows = results["sections"]["levers"]["rows"]
    assert [(r["dropout"], r["batch_size"]) for r in rows] == [
        ("nn.Dropout", 8),
        ("nn.Dropout", 16),
        ("FastDropout", 8),
        ("FastDropout", 16),
    ]
    assert rows[0]["vs_nn_dropout_first_batch"] == 1.0
    for r in rows:
        assert 0 < r["min"] <= r["median_samples_per_s"] <= r["max"]
    saved = json.loads((tmp_path / "speed.json").read_text())
    assert saved["sections"]["levers"]["settings"]["rounds"] == 2
    assert "## levers" in (tmp_path / "speed.md").read_text()
