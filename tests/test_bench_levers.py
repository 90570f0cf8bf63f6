"""Smoke test of ``benchmarks/bench_levers.py`` with tiny settings.

Marked ``benchmark`` (deselected by default); run with ``pytest -m benchmark``.
"""

import json

import numpy as np
import pytest

from tests._helpers import load_benchmark

pytestmark = pytest.mark.benchmark


_load = load_benchmark


def test_paired_counts_wins_ties_losses():
    bench = _load("bench_levers")
    p = bench.paired([0.5, 0.6, 0.7], [0.5, 0.5, 0.8])
    assert (p["wins"], p["ties"], p["losses"]) == (1, 1, 1)
    assert p["mean"] == pytest.approx(0.0)


def test_bench_levers_quick_is_paired_and_resumable(tmp_path, capsys):
    pytest.importorskip("ramanbiolib")
    bench = _load("bench_levers")
    argv = ["--quick", "--out", str(tmp_path), "--levers", "default", "member-seed-1"]
    bench.main(argv)
    out = json.loads((tmp_path / "generalisation.json").read_text())
    rows = {r["lever"]: r for r in out["levers"]}
    # the reference is fitted too; two rows are derived without training
    ref = bench.REFERENCE
    assert set(rows) == {
        ref, "default", "member-seed-1", "default+TTA", "seed-committee-2"
    }
    assert rows[ref]["paired_macro_f1"]["ties"] == out["meta"]["cv"] == 3
    assert len(rows["member-seed-1"]["fold_macro_f1"]) == 3
    assert rows["seed-committee-2"]["sample_passes"] == 2 * rows["default"][
        "sample_passes"
    ]
    assert len(out["baselines"]) == 2
    for r in out["levers"]:
        assert set(r["vs_baselines"]) == {b["lever"] for b in out["baselines"]}
        assert 0.0 <= r["macro_f1"] <= 1.0
    md = (tmp_path / "generalisation.md").read_text()
    assert "| default |" in md and out["meta"]["cpu"] in md
    # every lever shares the default's folds
    cached = sorted((tmp_path / "cache" / "levers").glob("*.json"))
    assert len(cached) == 3
    folds = [json.loads(p.read_text())["folds"] for p in cached]
    np.testing.assert_array_equal(folds[0], folds[1])
    # a second run trains nothing and gives the same table
    capsys.readouterr()
    bench.main(argv)
    assert "fitting" not in capsys.readouterr().out
    again = json.loads((tmp_path / "generalisation.json").read_text())
    assert [r["macro_f1"] for r in again["levers"]] == [
        r["macro_f1"] for r in out["levers"]
    ]


def test_embedding_head_uses_only_other_folds():
    bench = _load("bench_levers")
    # 4 spectra, 2 folds; member f embeds every spectrum (unit rows)
    emb = np.array([[[1, 0], [0, 1], [1, 0], [0, 1]]] * 2, dtype=np.float32)
    record = {"embeddings": emb, "folds": [0, 0, 1, 1], "proba": [[0.5, 0.5]] * 4}
    y = np.array(["a", "b", "a", "b"])
    proba = bench.embedding_head_proba(record, y, ["a", "b"], k=1, blend=0.0)
    # each spectrum's nearest training spectrum is its twin in the other fold
    np.testing.assert_array_equal(proba, [[1, 0], [0, 1], [1, 0], [0, 1]])
    blended = bench.embedding_head_proba(record, y, ["a", "b"], k=1, blend=0.5)
    np.testing.assert_allclose(blended, [[0.75, 0.25], [0.25, 0.75]] * 2)
