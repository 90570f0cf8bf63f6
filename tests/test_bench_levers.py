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
    # the reference is fitted too; the other rows are derived without training
    ref = bench.REFERENCE
    assert set(rows) == {
        ref, "default", "member-seed-1", "default+TTA", "seed-committee-2",
        "ls+library-search-blend", "ls+logistic-blend", "ls+class-weights",
    }
    # a blend or a decision rule costs no training beyond its source
    for derived in ("ls+logistic-blend", "ls+class-weights"):
        assert rows[derived]["sample_passes"] == rows[ref]["sample_passes"]
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


def test_confirmation_pools_paired_folds_over_seeds(tmp_path):
    bench = _load("bench_levers")
    y = np.array(["a", "b"] * 4)
    X_grid = np.random.default_rng(0).random((8, 5))  # what blends' baselines see
    data = {"y": y, "classes": ["a", "b"], "fingerprint": "x", "X_grid": X_grid}
    folds = [0, 0, 1, 1, 0, 0, 1, 1]
    right = np.where(y[:, None] == np.array(["a", "b"]), 0.9, 0.1)
    wrong_first = right.copy()
    wrong_first[0] = [0.1, 0.9]  # the reference misses spectrum 0 (fold 0)
    for seed in (0, 1):
        for name, proba in ((bench.REFERENCE, wrong_first), ("ls-0.2", right)):
            config = bench.lever_config(name, seed=seed, quick=True)
            path = bench.cache_path(tmp_path, config, "x")
            record = {"proba": proba.tolist(), "folds": folds,
                      "sample_passes": 10, "seconds": 1.0}
            path.write_text(json.dumps(record))
    rows = {r["lever"]: r for r in bench.confirmations(data, tmp_path, quick=True)}
    # the lever, and the rows derived from the reference alone (baseline blends,
    # the decision rule)
    assert set(rows) == {"ls-0.2", "ls+library-search-blend", "ls+logistic-blend",
                         "ls+class-weights"}
    row = rows["ls-0.2"]
    assert row["seeds"] == [0, 1] and row["n_folds"] == 4
    # fold 0 of each seed: accuracy 3/4 -> 1, macro-F1 (2/3 + 4/5) / 2 -> 1
    assert row["paired_accuracy"]["mean"] == pytest.approx(0.125)
    assert (row["paired_accuracy"]["wins"], row["paired_accuracy"]["ties"]) == (2, 2)
    assert row["paired_macro_f1"]["mean"] == pytest.approx((1 - 11 / 15) / 2)
    assert row["reference_mean_accuracy"] == pytest.approx(0.875)
    # a lever cached on one seed only is not a confirmation
    assert bench.confirmations(data, tmp_path, quick=True, seeds=[0]) == []


def test_recipe_reruns_give_the_spread_of_its_mean_over_seeds():
    bench = _load("bench_levers")

    def row(name, mean, seeds=(0, 1, 2), against=bench.RECIPE, replication=False):
        p = {"mean": mean - 0.8, "std": 0.05, "wins": 1, "ties": 2, "losses": 3}
        return {"lever": name, "against": against, "replication": replication,
                "seeds": list(seeds), "mean_macro_f1": mean,
                "reference_mean_macro_f1": 0.8, "mean_accuracy": 0.9,
                "reference_mean_accuracy": 0.91, "paired_macro_f1": p,
                "paired_accuracy": p}

    r11, r12, r13 = bench.RECIPE_RERUNS
    rows = [row(r11, 0.74), row(r12, 0.77),
            row(r13, 0.5, seeds=(0,)),  # not on the same seeds: left out
            row(r11, 0.1, against="other", replication=True)]
    text = "\n".join(bench.recipe_rerun_lines(rows))
    # runs 0.80 (the recipe), 0.74 and 0.77: mean 0.77, sample sd 0.03
    assert "Mean macro-F1 of the 3 runs 0.770, standard deviation between runs " \
        "0.030, range 0.740-0.800." in text
    assert f"| {r11} | 0.740 | -0.060 ± 0.050 | 1/2/3 |" in text
    assert r13 not in text and "0.100" not in text
    assert bench.recipe_rerun_lines([row("ls-0.2", 0.7)]) == []


def test_a_lever_holds_only_if_its_replication_agrees():
    bench = _load("bench_levers")

    def rep(mean, wins, losses, n_folds=15):
        return {"n_folds": n_folds,
                "paired_macro_f1": {"mean": mean, "wins": wins, "losses": losses}}

    assert bench._replicates([rep(0.01, 5, 5)])
    assert not bench._replicates([rep(-0.023, 5, 8)])  # the dropout change's
    assert not bench._replicates([rep(0.01, 4, 5)])
    assert not bench._replicates([rep(0.0, 6, 2)])
    # pooled over the folds: (15 x 0.028 - 15 x 0.006) / 30 > 0, 11 wins, 7 losses
    assert bench._replicates([rep(0.028, 6, 2), rep(-0.006, 5, 5)])
    # a larger replication weighs more: (5 x 0.03 - 25 x 0.01) / 30 < 0
    assert not bench._replicates([rep(0.03, 3, 1, 5), rep(-0.01, 8, 8, 25)])
    # every replication pairs two reruns that the lever table defines
    for lever, reps in bench.REPLICATIONS.items():
        for rerun, against in reps:
            assert {lever, rerun, against} <= set(bench.LEVERS)
            assert bench._source(rerun) == {"source": lever}


def test_cost_lever_is_judged_on_keeping_its_source_scores():
    bench = _load("bench_levers")

    def confirmed(mean, wins, losses, acc):
        pm = {"mean": mean, "std": 0.05, "wins": wins, "ties": 0, "losses": losses}
        pa = {"mean": acc, "std": 0.02, "wins": 0, "ties": 25, "losses": 0}
        return {"against": "base", "n_folds": 25, "seeds": [0, 1, 2, 3, 4],
                "paired_macro_f1": pm, "paired_accuracy": pa}

    by = {"cheap": {"seconds": 60.0}, "base": {"seconds": 100.0}}
    # margin = max(noise 0.005, 2 * 0.05 / 5) = 0.02
    keeps = bench._cost_line("cheap", confirmed(-0.01, 12, 11, 0.0), by, 0.005)
    assert "a loss beyond -0.020" in keeps and "in 0.60 of its time" in keeps
    assert keeps.endswith("adopt it for its cost.")
    for lost in (confirmed(-0.03, 12, 11, 0.0), confirmed(0.0, 7, 13, 0.0),
                 confirmed(0.0, 12, 11, -0.01)):
        assert bench._cost_line("cheap", lost, by, 0.005).endswith(
            "keep the more expensive recipe."
        )


def test_class_weights_are_chosen_on_the_other_folds():
    bench = _load("bench_levers")
    classes = np.array(["a", "b"])
    y = np.array(["a", "b", "a", "b"])
    # the model under-rates b everywhere: p(b) = 0.45 for the true b rows
    proba = np.array([[0.8, 0.2], [0.55, 0.45]] * 2)
    out = bench.class_weight_proba(proba, y, classes, np.array([0, 0, 1, 1]))
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    # weights learnt on fold 1 fix fold 0 and vice versa: every row right
    assert classes[out.argmax(axis=1)].tolist() == y.tolist()
    # of the weights that fix it, the ones nearest 1: a/b = e^-0.25 or e^0.25
    ratio = (out[1, 1] / out[1, 0]) / (0.45 / 0.55)
    assert ratio == pytest.approx(np.exp(0.25))
    # a fold whose weights were learnt on rows that need none keeps them at 1
    good = np.array([[0.8, 0.2], [0.3, 0.7]] * 2)
    np.testing.assert_allclose(
        bench.class_weight_proba(good, y, classes, np.array([0, 0, 1, 1])), good)


def test_molecule_subsample_keeps_test_parts_and_whole_molecules():
    from sklearn.model_selection import StratifiedGroupKFold

    bench = _load("bench_levers")
    # 2 classes x 8 molecules x 2 spectra each
    groups = np.repeat([f"m{i}" for i in range(16)], 2)
    y = np.repeat(["a", "b"], 16)
    X = np.zeros((32, 3))
    base = StratifiedGroupKFold(4, shuffle=True, random_state=0)
    sub = bench.MoleculeSubsample(base, 0.5, seed=1)
    assert sub.get_n_splits() == 4
    for (train_full, test_full), (train, test) in zip(
        base.split(X, y, groups), sub.split(X, y, groups), strict=True
    ):
        np.testing.assert_array_equal(test, test_full)
        assert set(train) <= set(train_full)
        for label in ("a", "b"):
            full = set(groups[train_full][y[train_full] == label])  # 6 molecules
            kept = set(groups[train][y[train] == label])
            assert len(kept) == round(0.5 * len(full)) == 3
        # every spectrum of a kept molecule, none of a test molecule
        assert len(train) == 2 * len(set(groups[train]))
        assert not set(groups[train]) & set(groups[test])


def _fit_recording(cls, X, y, *, batch_size):
    """Fit a tiny ``cls`` for one epoch; return it and its training inputs."""
    import torch

    seen = []

    class Recording(cls):
        def infer(self, x, **kw):
            if self.module_.training:
                seen.append(torch.as_tensor(x).detach().clone())
            return super().infer(x, **kw)

    clf = Recording(max_epochs=1, batch_size=batch_size, random_state=0,
                    module__channels=(4,), module__kernel_sizes=(5,),
                    module__convs_per_block=1, module__hidden=8)
    return clf.fit(X, y), seen


def test_mixup_classifier_trains_on_mixed_batches_and_clones():
    import torch
    from sklearn.base import clone

    nets = _load("_lever_nets")
    rng = np.random.default_rng(0)
    X = rng.random((16, 64)).astype(np.float32)
    y = np.array(["a", "b"] * 8)
    clf, seen = _fit_recording(nets.mixup_classifier(0.4), X, y, batch_size=8)
    assert len(seen) == 2  # 16 rows in batches of 8, one epoch
    rows = torch.as_tensor(X)
    for batch in seen:
        # a row is left as it was only where the shuffle maps it to itself
        dist = torch.cdist(batch, rows).min(dim=1).values
        assert (dist > 1e-4).float().mean() >= 0.5
    same = clone(clf)
    assert type(same) is type(clf) and same.mixup_alpha == 0.4


@pytest.mark.parametrize("mode", ["batch", "sample", "class"])
def test_mixup_modes_mix_as_documented(mode):
    nets = _load("_lever_nets")
    rng = np.random.default_rng(0)
    y = np.array(["a", "b"] * 16)
    X = rng.random((32, 64)).astype(np.float32)
    # feature 0 says "class a" and is mixed as the weights are: a mixture of
    # a and b carries lam or 1 - lam there, one of a class 1 or 0
    X[:, 0] = y == "a"
    clf, seen = _fit_recording(nets.mixup_classifier(0.4, mode), X, y,
                               batch_size=16)
    assert len(seen) == 2
    for batch in seen:
        values = np.unique(np.round(batch[:, 0].numpy(), 5))
        if mode == "class":
            assert set(values) <= {0.0, 1.0}
        elif mode == "batch":
            assert len(values) <= 4  # 0, 1, lam, 1 - lam
        else:
            assert len(values) > 4
    assert clf.mixup_mode == mode


def test_mixup_mode_is_checked():
    nets = _load("_lever_nets")
    with pytest.raises(ValueError, match="mode must be 'batch', 'sample' or 'class'"):
        nets.mixup_classifier(0.4, "molecule")


def test_hard_spectra_lists_the_spectra_most_runs_get_wrong():
    bench = _load("bench_levers")
    data = {
        "y": np.array(["a", "a", "b", "b"]),
        "groups": np.array(["m1", "m2", "m3", "m3"]),
        "X_grid": np.array([[1.0, 0.0], [0.2, 1.0], [1.0, 1.0], [1.0, 0.2]]),
    }
    right = ["a", "a", "b", "b"]
    preds = [["b", "a", "a", "b"]] * 9 + [right]  # spectrum 0 wrong in 9 of 10
    preds = [list(p) for p in preds]
    for p in preds:
        p[2] = "a"  # spectrum 2 wrong in all 10
    preds[0][1] = "b"  # spectrum 1 wrong once: not listed
    rows = bench.hard_spectra(preds, data)
    assert [r["molecule"] for r in rows] == ["m3", "m1"]
    m3, m1 = rows
    assert m3["share_wrong"] == 1.0 and m3["answered"] == "a"
    # m3's own other spectrum is left out: nearest is m2, cos = 1.2 / sqrt(2 * 1.04)
    assert m3["nearest_molecule"] == "m2" and m3["nearest_class"] == "a"
    assert m3["nearest_similarity"] == pytest.approx(1.2 / np.sqrt(2 * 1.04))
    assert m1["share_wrong"] == pytest.approx(0.9) and m1["answered"] == "b"
    assert m1["nearest_molecule"] == "m3"  # [1, 0.2]: cos 1 / sqrt(1.04)
    assert m1["nearest_similarity"] == pytest.approx(1 / np.sqrt(1.04))
    lines = bench.hard_spectra_lines(rows, 10, 4)
    assert "2 of 4 spectra are wrong in at least 90 % of the 10" in lines[3]
    assert "allows 0 wrong" in lines[3] and "For 2 of them" in lines[3]
    assert lines[-1] == "| m1 | a | 90 % | b | m3 (b, 0.98) |"
    assert bench.hard_spectra_lines([], 10, 4) == []


def test_mask_windows_bridges_windows_with_a_line():
    import torch

    nets = _load("_lever_nets")
    X = torch.as_tensor(np.random.default_rng(0).random((6, 1, 50)))
    out = nets.mask_windows(X, np.random.default_rng(1), 1, 8)
    assert not torch.equal(out, X) and out.shape == X.shape
    for row, orig in zip(out[:, 0].numpy(), X[:, 0].numpy(), strict=True):
        changed = np.flatnonzero(row != orig)
        # one window: at most 8 neighbouring points inside two kept edges
        assert 1 <= changed.size <= 8
        lo, hi = changed[0] - 1, changed[-1] + 1
        assert changed[-1] - changed[0] == changed.size - 1
        line = np.linspace(orig[lo], orig[hi], hi - lo + 1)
        np.testing.assert_allclose(row[lo:hi + 1], line, atol=1e-12)


def test_an_adopted_step_names_its_replication():
    bench = _load("bench_levers")
    lever = "ls+mixup-0.4+bin-2+mask-2x100"
    (rerun, against), (rerun2, against2) = bench.REPLICATIONS[lever]

    def conf(name, vs, mean, w, losses, replication=None):
        pm = {"mean": mean, "std": 0.04, "wins": w, "ties": 25 - w - losses,
              "losses": losses}
        pa = {"mean": 0.004, "std": 0.016, "wins": 5, "ties": 18, "losses": 2}
        return {"lever": name, "against": vs, "replication": replication,
                "seeds": [0, 1, 2, 3, 4], "n_folds": 25, "paired_macro_f1": pm,
                "paired_accuracy": pa}

    rows = [{"lever": lever, "description": "masking", "verdict": "wins: +0.07"}]
    held = conf(lever, "ls+mixup-0.4+bin-2", 0.017, 10, 2)
    # margin = max(0, 2 * 0.04 / 5) = 0.016 < 0.017
    agrees = conf(rerun, against, 0.028, 6, 2, replication=lever)
    text = "\n".join(bench.summary_lines(rows, [held, agrees]))
    assert f"**Adopt `{lever}`** on top of `ls+mixup-0.4+bin-2` (masking)" in text
    assert f"and replicates with other member seeds: `{rerun}` against " \
        f"`{against}` on 25 folds, paired macro-F1 +0.028 ± 0.040 (6/17/2)" in text
    agrees2 = conf(rerun2, against2, 0.01, 5, 4, replication=lever)
    text = "\n".join(bench.summary_lines(rows, [held, agrees, agrees2]))
    assert f"(6/17/2), accuracy +0.004 ± 0.016 (5/18/2); `{rerun2}` against " \
        f"`{against2}` on 25 folds, paired macro-F1 +0.010 ± 0.040 (5/16/4)" in text
    # pooled: (25 x 0.028 + 25 x 0.010) / 50, 6 + 5 won, 2 + 4 lost
    assert "(pooled over the 50 folds: +0.019, 11 won, 6 lost)." in text
    # a second replication far down outweighs the first: (0.028 - 0.04) / 2 < 0
    disagrees = conf(rerun2, against2, -0.04, 2, 9, replication=lever)
    text = "\n".join(bench.summary_lines(rows, [held, agrees, disagrees]))
    assert "Adopt" not in text and "but does not replicate" in text
    assert f"`{rerun2}` against `{against2}` on 25 folds, paired macro-F1 " \
        "-0.040 ± 0.040 (2/14/9)" in text
