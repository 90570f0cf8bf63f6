"""Model-space out-of-domain evidence: embeddings, kNN distance, limits, persistence."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from raman_sk import ood
from raman_sk._limits import _combined
from raman_sk.classifier import RamanCNNClassifier, RamanCNNCommittee
from raman_sk.domain import (
    MODEL_SPACE_MISSING,
    NearestSpectrumChecker,
    load_domain_checker,
    save_domain_checker,
)
from raman_sk.models import RamanCNN1D, penultimate
from raman_sk.pipeline import make_raman_pipeline, predict_table
from raman_sk.utils._validation import saturation
from tests._helpers import TINY_FIT, save_checker_with
from tests.conftest import lorentzian, make_spectra

LEGACY = Path(__file__).parent / "data" / "legacy_v0_1" / "train_model"


@pytest.fixture(scope="module")
def fitted(synthetic):
    """A tiny 3-member committee on the synthetic spectra, and its checker."""
    net = RamanCNNClassifier(max_epochs=15, **TINY_FIT)
    committee = RamanCNNCommittee(net, cv=3, random_state=0)
    pipe = make_raman_pipeline(
        synthetic.wavenumbers,
        classifier=committee,
        target_wavenumbers=synthetic.wavenumbers,
    )
    pipe.fit(
        synthetic.data, synthetic.target, ramancnncommittee__groups=synthetic.groups
    )
    X_grid = pipe[:-1].transform(synthetic.data)
    checker = NearestSpectrumChecker().fit(
        X_grid, groups=synthetic.groups, model=pipe[-1]
    )
    return pipe, checker, X_grid


# ------------------------------------------------------------ the pieces
def test_quantile_limit_keeps_the_rate_on_its_own_data():
    values = np.arange(1.0, 21.0)  # 20 values
    assert ood.quantile_limit(values, 0.1) == 19.0  # only 20 is above: 1/20
    assert ood.quantile_limit(values, 0.0) == 20.0  # nothing above the maximum
    assert ood.quantile_limit(values, 0.25) == 16.0  # 17..20 above: 4/20 <= 0.25
    rng = np.random.default_rng(0)
    for n in (7, 36, 194):
        v = rng.normal(size=n)
        for rate in (0.01, 0.025, 0.05, 0.2):
            assert np.mean(v > ood.quantile_limit(v, rate)) <= rate


def test_penultimate_is_the_heads_hidden_activation():
    torch.manual_seed(0)
    net = RamanCNN1D(3, 64, channels=(4, 8), kernel_sizes=5, convs_per_block=1,
                     hidden=16).eval()
    x = torch.rand(5, 64)
    seen = {}
    hook = net.classifier[2].register_forward_hook(
        lambda module, args, out: seen.update(out=out.detach().clone())
    )
    with torch.no_grad():
        logits = net(x)
        emb, out = penultimate(net, x)
    hook.remove()
    assert tuple(emb.shape) == (5, 16)
    torch.testing.assert_close(emb, seen["out"])
    torch.testing.assert_close(out, logits)
    assert (emb >= 0).all()  # after the ReLU


def test_member_outputs_are_unit_length(fitted):
    pipe, _, X_grid = fitted
    emb, logits = ood.member_outputs(pipe[-1].estimators_[0], X_grid[:4])
    assert emb.shape == (4, 16) and logits.shape == (4, 3)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
    proba = pipe[-1].estimators_[0].predict_proba(X_grid[:4])
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(z / z.sum(axis=1, keepdims=True), proba, atol=1e-5)


def test_knn_distance_hand_made():
    ref = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.6, 0.8]])
    q = np.array([[1.0, 0.0], [0.0, -1.0]])
    # from (1, 0): 0, |(1,0)-(0.6,0.8)| = sqrt(0.8), sqrt(2), 2
    np.testing.assert_allclose(ood.knn_distance(q, ref, k=1)[0], 0.0, atol=1e-12)
    np.testing.assert_allclose(ood.knn_distance(q, ref, k=2)[0], np.sqrt(0.8))
    np.testing.assert_allclose(ood.knn_distance(q, ref, k=3)[0], np.sqrt(2.0))
    # from (0, -1): sqrt(2), sqrt(2), sqrt(0.36 + 3.24) = sqrt(3.6), 2
    np.testing.assert_allclose(ood.knn_distance(q, ref, k=3)[1], np.sqrt(3.6))
    np.testing.assert_allclose(ood.knn_distance(q, ref, k=99)[1], 2.0)  # clipped


def test_energy_and_disagreement_hand_made(fitted):
    logits = np.array([[0.0, np.log(3.0)]])
    np.testing.assert_allclose(ood.energy(logits), [-np.log(4.0)])
    pipe, checker, X_grid = fitted
    scores = ood.committee_scores(
        pipe[-1].estimators_, X_grid[:3], checker.embeddings_, checker.fold_
    )
    assert (scores["disagreement"] >= 0).all()
    one = ood.committee_scores(
        pipe[-1].estimators_, X_grid[:3], checker.embeddings_, checker.fold_, use=[1]
    )
    assert np.isnan(one["disagreement"]).all()  # one member cannot disagree


# ------------------------------------------------------------- the limits
def test_limits_are_set_on_out_of_fold_scores(fitted, synthetic):
    pipe, c, X_grid = fitted
    assert c.model_space_ and c.embeddings_.shape == (3, 36, 16)
    np.testing.assert_array_equal(c.fold_, pipe[-1].oof_fold_)
    # the out-of-fold score of a spectrum is its held-out member's
    k = int(c.fold_[0])
    own = ood.committee_scores(
        pipe[-1].estimators_, X_grid[:1], c.embeddings_, c.fold_, use=[k]
    )
    # float32 forward passes: batches of other sizes round differently
    tol = {"rtol": 1e-4, "atol": 1e-6}
    np.testing.assert_allclose(
        own["embedding_distance"], c.oof_embedding_distance_[:1], **tol
    )
    np.testing.assert_allclose(own["energy"], c.oof_energy_[:1], **tol)
    # one shared rate for the residual, embedding distance and energy limits
    for name in ("residual", "embedding_distance", "energy"):
        above = getattr(c, f"oof_{name}_") > getattr(c, f"{name}_limit_")
        assert above.mean() <= c.limit_rate_
    assert c.input_flag_rate_ <= c.database_flag_rate_ <= c.target_rate
    # the same rate, counted by scoring each fold as unseen
    flagged = np.zeros(36, dtype=bool)
    for f in np.unique(c.fold_):
        rows = c.fold_ == f
        table = c.check(X_grid[rows], pipe[-1], held_out_fold=int(f))
        assert not np.isin(table["nearest"], np.flatnonzero(rows)).any()
        np.testing.assert_allclose(
            table["embedding_distance"], c.oof_embedding_distance_[rows], **tol
        )
        # the residual against the other folds' spectra only, as at fit time
        np.testing.assert_allclose(table["residual"], c.oof_residual_[rows])
        flagged[rows] = table["out_of_domain"]
    assert flagged.mean() <= c.target_rate
    # the combined evidence: a fourth shared limit at the same rate, its
    # out-of-fold values each spectrum's p-values against the others
    assert (c.oof_combined_ > c.combined_limit_).mean() <= c.limit_rate_
    own = c._components({k: getattr(c, f"oof_{k}_")
                         for k in ("residual", "embedding_distance", "energy")})
    assert set(own) == {"similarity", "effective_width", "peak_fwhm", "band_count",
                        "residual", "embedding_distance", "energy"}
    np.testing.assert_allclose(c.oof_combined_,
                               _combined(own, own, leave_one_out=True))


def test_combined_evidence_hand_computed():
    ref = {"residual": np.array([0.1, 0.2, 0.3, 0.4]),
           "similarity": np.array([0.9, 0.8, 0.7, 0.6]),
           "disagreement": np.array([9.0, 9.0, 9.0, 9.0])}  # not combined
    # residual 0.35: 1 of 4 as high, p = 2/5; similarity 0.95: all 4 as low, p = 1
    new = {"residual": np.array([0.35, np.nan]), "similarity": np.array([0.95, 0.5])}
    # NaN residual: the most unfamiliar, p = 1/5; similarity 0.5: p = 1/5
    np.testing.assert_allclose(_combined(new, ref),
                               [-2 * np.log(2 / 5), -4 * np.log(1 / 5)])
    # left out, row i of 4 has 4 - i rows (itself included) as high a
    # residual and as low a similarity: p = (4 - i) / 4 for both
    expected = [-4 * np.log((4 - i) / 4) for i in range(4)]
    np.testing.assert_allclose(_combined(ref, ref, leave_one_out=True), expected)


def test_combined_limit_flags_with_its_reason(fitted):
    pipe, c, X_grid = fitted
    table = c.check(X_grid[:6], pipe[-1])
    assert np.isfinite(table["combined"]).all()
    saved = c.combined_limit_
    try:
        c.combined_limit_ = float(table["combined"].iloc[0]) - 1e-9
        again = c.check(X_grid[:6], pipe[-1])
        past = again["combined"] > c.combined_limit_
        assert past.iloc[0] and (again["out_of_domain"] >= past).all()
        assert again["reason"].iloc[0].endswith(
            f"combined evidence {table['combined'].iloc[0]:.1f} > "
            f"{c.combined_limit_:.1f}")
        assert (again["ood_score"][past] > 1).all()
    finally:
        c.combined_limit_ = saved
    with pytest.raises(ValueError, match="combine must be True or False, got 1"):
        NearestSpectrumChecker(combine=1).fit(X_grid)


def test_sharp_lines_flagged_held_out_in_domain_not(fitted, synthetic):
    pipe, checker, _ = fitted
    w = synthetic.wavenumbers
    sharp = sum(lorentzian(w, c, width=1.0) for c in (650.0, 880.0, 1050.0))
    fresh = make_spectra(n_per_class=2, seed=7)  # new draws of the same classes
    X = np.vstack([sharp, fresh.data])
    table = predict_table(pipe, X, checker=checker)
    assert bool(table["out_of_domain"].iloc[0])
    assert table["ood_score"].iloc[0] > 1
    assert not table["out_of_domain"].iloc[1:].any()
    assert (table["ood_score"].iloc[1:] <= 1).all()
    assert (table["ood_evidence"] == "input and model space").all()
    np.testing.assert_array_equal(table["out_of_domain"], table["ood_score"] > 1)
    assert table[["embedding_distance", "energy", "disagreement"]].notna().all().all()


def test_reason_names_the_model_space_evidence(fitted, synthetic):
    pipe, _, X_grid = fitted
    strict = NearestSpectrumChecker(target_rate=0.5).fit(
        X_grid, groups=synthetic.groups, model=pipe[-1]
    )
    reasons = " ".join(
        " ".join(strict.check(X_grid[strict.fold_ == f], pipe[-1],
                              held_out_fold=int(f))["reason"])
        for f in range(3)
    )  # out of fold: every member saw the training spectra
    assert "embedding distance" in reasons and "energy" in reasons
    assert strict.database_flag_rate_ <= 0.5
    plain = strict.check(X_grid)  # no model: input space only, said so
    assert plain["embedding_distance"].isna().all()
    assert (plain["evidence"] == "input space only: no model given").all()
    with pytest.raises(ValueError, match="committee of 3 members"):
        strict.check(X_grid, pipe[-1].estimators_[0])
    with pytest.raises(ValueError, match="must be a committee fitted on the same"):
        NearestSpectrumChecker().fit(X_grid[:10], model=pipe[-1])
    with pytest.raises(ValueError, match="target_rate must be in"):
        NearestSpectrumChecker(target_rate=1.5).fit(X_grid, model=pipe[-1])


def test_bad_input_is_flagged_with_a_reason(fitted, synthetic):
    pipe, checker, _ = fitted
    n = synthetic.data.shape[1]
    X = np.vstack([np.zeros(n), np.full(n, np.nan), np.full(n, 3.0), synthetic.data[0]])
    table = predict_table(pipe, X, checker=checker)
    assert table["out_of_domain"].tolist()[:3] == [True, True, True]
    assert all(r.startswith("bad input") for r in table["ood_reason"][:3])
    assert table["ood_score"][:3].isna().all()
    assert not table["out_of_domain"].iloc[3]


def test_the_evaluation_scores_saturation_as_predict_does(fitted, synthetic):
    pipe, checker, _ = fitted
    w, x = synthetic.wavenumbers, synthetic.data[0]
    clipped = np.minimum(x, np.quantile(x, 0.9))  # a plateau of 10 % of the points
    score, flag = ood._table_scores(checker, pipe[:-1], [(w, x), (w, clipped)],
                                    pipe[-1])
    table = predict_table(pipe, np.vstack([x, clipped]), checker=checker)
    np.testing.assert_array_equal(flag, table["out_of_domain"].to_numpy())
    assert flag.tolist() == [False, True] and score[1] == np.inf
    run = saturation(clipped)  # the longest of the plateaus
    assert run >= 5 and saturation(x) == 1
    assert table["ood_reason"].iloc[1].startswith(
        f"saturated: {run} points at the maximum {clipped.max():g}")


# ------------------------------------------------------------ persistence
def test_round_trip_keeps_the_model_space_part(fitted, synthetic, tmp_path):
    pipe, checker, X_grid = fitted
    same = load_domain_checker(save_domain_checker(checker, tmp_path))
    assert same.model_space_ is True
    np.testing.assert_array_equal(same.embeddings_, checker.embeddings_)
    assert same.embedding_distance_limit_ == checker.embedding_distance_limit_
    assert same.energy_limit_ == checker.energy_limit_
    assert same.residual_limit_ == checker.residual_limit_
    np.testing.assert_array_equal(same.oof_residual_, checker.oof_residual_)
    probe = np.vstack([X_grid[:3], np.sin(synthetic.wavenumbers / 3.0)])
    a, b = checker.check(probe, pipe[-1]), same.check(probe, pipe[-1])
    np.testing.assert_allclose(a["ood_score"], b["ood_score"])
    np.testing.assert_array_equal(a["out_of_domain"], b["out_of_domain"])
    with np.load(tmp_path / "domain.npz") as z:
        assert z["embeddings"].dtype == np.float32
    # a damaged file is an error, not a silent input-space-only check
    import json

    cfg = json.loads((tmp_path / "domain.json").read_text())
    cfg["fitted"]["energy_limit_"] = "high"
    (tmp_path / "domain.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="energy_limit_ must be a number"):
        load_domain_checker(tmp_path)


def test_model_space_checker_saved_before_the_residual(fitted, tmp_path):
    """A checker written before the library residual: the other evidence runs."""
    import json

    pipe, checker, X_grid = fitted
    save_domain_checker(checker, tmp_path)
    cfg = json.loads((tmp_path / "domain.json").read_text())
    for key in ("residual_check", "residual_neighbors", "residual_degree",
                "combine"):
        del cfg["params"][key]
    for key in ("residual_limit_", "limit_rate_", "combined_limit_"):
        del cfg["fitted"][key]
    gone = {"loo_residual_", "oof_residual_", "oof_combined_"}
    cfg["arrays"] = [a for a in cfg["arrays"] if a["attr"] not in gone]
    (tmp_path / "domain.json").write_text(json.dumps(cfg))
    old = load_domain_checker(tmp_path)
    assert old.model_space_ and old.residual_limit_ is None
    assert old.combine is False and not hasattr(old, "combined_limit_")
    table = old.check(X_grid[:4], pipe[-1])
    assert table["residual"].isna().all() and table["combined"].isna().all()
    assert table["embedding_distance"].notna().all()
    assert (table["evidence"] == "input and model space").all()
    new = checker.check(X_grid[:4], pipe[-1])
    np.testing.assert_allclose(table["energy"], new["energy"])
    save_checker_with(checker, tmp_path, "fitted", "combined_limit_", "high")
    with pytest.raises(ValueError, match="combined_limit_ must be a number, got 'hi"):
        load_domain_checker(tmp_path)


def test_older_models_say_the_model_space_check_is_missing(synthetic):
    from raman_sk import load_pipeline

    checker = load_domain_checker(LEGACY)
    assert checker.model_space_ is False
    pipe = load_pipeline(LEGACY)
    with np.load(LEGACY.parent / "expected.npz") as data:
        axis, X = data["pipeline_axis"], data["pipeline_X"]
    table = predict_table(pipe, [(axis, x) for x in X], checker=checker)
    assert (table["ood_evidence"] == MODEL_SPACE_MISSING).all()
    assert table["embedding_distance"].isna().all()
    assert table["ood_score"].notna().all()  # from the input-space checks
    np.testing.assert_array_equal(table["out_of_domain"], table["ood_score"] > 1)
    assert "model-space check" in MODEL_SPACE_MISSING


# ------------------------------------------------------------- evaluation
def test_evaluate_ood_table(fitted, synthetic):
    pipe, checker, _ = fitted
    table = ood.evaluate_ood(
        pipe, checker, synthetic.wavenumbers, synthetic.data, synthetic.wavenumbers,
        n_per_family=4,
    )
    families = list(ood.FOREIGN_FAMILIES)
    assert table["family"].tolist() == [
        "database_oof", "raw_in_domain", *families, "all_foreign"
    ]
    assert table["flagged"].iloc[0] == checker.database_flag_rate_
    assert table["n"].tolist() == [36, 36, *[4] * len(families), 4 * len(families)]
    assert table["flagged"].between(0, 1).all()
    foreign = table.iloc[2:]
    assert foreign["auroc"].between(0, 1).all()
    assert foreign.set_index("family").loc["all_foreign", "flagged"] >= 0.8


def test_ood_scores_are_the_rows_of_the_table(fitted, synthetic):
    pipe, checker, _ = fitted
    args = (pipe, checker, synthetic.wavenumbers, synthetic.data,
            synthetic.wavenumbers)
    scores = ood.ood_scores(*args, n_per_family=3)
    table = ood.ood_table(checker, scores).set_index("family")
    assert scores["raw_flag"].shape == scores["raw_score"].shape == (36,)
    assert scores["foreign_family"].shape == scores["foreign_flag"].shape
    assert table.loc["raw_in_domain", "flagged"] == scores["raw_flag"].mean()
    sharp = scores["foreign_family"] == "sharp_lines"
    assert table.loc["sharp_lines", "flagged"] == scores["foreign_flag"][sharp].mean()
    # the checker keeps the per-spectrum database flag behind its rate
    assert checker.database_flags_.dtype == bool
    assert checker.database_flags_.mean() == checker.database_flag_rate_
    pd.testing.assert_frame_equal(
        table.reset_index(), ood.evaluate_ood(*args, n_per_family=3)
    )


def test_foreign_families_are_documented_and_cover_the_grid():
    grid = np.arange(450.0, 1801.0)
    spectra, family = ood.foreign_spectra(grid, 3, seed=0)
    assert set(family) == set(ood.FOREIGN_FAMILIES) - {"biomolecule_plus_line"}
    for axis, values in spectra:
        assert axis[0] < grid[0] and axis[-1] > grid[-1]
        assert axis.shape == values.shape and np.isfinite(values).all()
    flat = [np.ptp(v) == 0 for (_, v), f in zip(spectra, family, strict=True)
            if f == "flat_or_saturated"]
    assert any(flat) and not all(flat)
    raw = ood.raw_in_domain(grid, np.ones((2, grid.size)) + grid / 1e3, grid)
    assert len(raw) == 2 and raw[0][1].max() > 50  # a raw intensity scale


def test_raw_variants_change_what_they_name(fitted, synthetic):
    from scipy.signal import medfilt

    grid = np.arange(450.0, 1801.0)
    band = lorentzian(grid, 1000.0, height=1.0, width=6.0)
    X = np.vstack([band, band])
    default = ood.raw_in_domain(grid, X, grid, seed=1)
    off = ood.raw_in_domain(grid, X, grid, seed=1, broaden=0, response=0, spike=0,
                            noise=0, fluorescence=0, shift=0, missing=0, water=0)
    for (a, u), (b, v) in zip(default, off, strict=True):  # off draws nothing
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(u, v)

    def spike_share(pairs):  # tallest one-point outlier over the band's height
        return [np.max(v - medfilt(v, 5)) / np.ptp(v - medfilt(v, 151))
                for _, v in pairs]

    assert max(spike_share(default)) < 0.5
    assert min(spike_share(ood.raw_in_domain(grid, X, grid, seed=1, spike=20.0))) > 0.8

    def fwhm(pairs):  # of the band, in cm-1, above a local baseline
        out = []
        for axis, v in pairs:
            near = np.abs(axis - 1000.0) < 60
            x, w = v[near] - np.min(v[near]), axis[near]
            out.append(np.ptp(w[x >= x.max() / 2]))
        return np.array(out)

    wide = fwhm(ood.raw_in_domain(grid, X, grid, seed=1, broaden=8.0))
    assert np.all(wide > fwhm(default) + 8.0)

    def centre(pairs):  # the band's highest raw point, in cm-1
        out = []
        for axis, v in pairs:
            near = np.abs(axis - 1000.0) < 30
            out.append(axis[near][np.argmax(v[near])])
        return np.array(out)

    moved = centre(ood.raw_in_domain(grid, np.vstack([band] * 20), grid, seed=2,
                                     shift=5.0))
    assert np.all(np.abs(moved - 1000.0) <= 5.0 + 1.8)  # the offset and a pixel
    assert np.ptp(moved) > 5.0  # offsets of either sign
    cut = ood.raw_in_domain(grid, X, grid, seed=1, missing=150.0)
    for (a, u), (b, v) in zip(default, cut, strict=True):  # the same spectra, cut
        assert b[0] >= 600.0 and b[0] - 600.0 < 1.8 and b[-1] == a[-1]
        np.testing.assert_array_equal(v, u[a >= 600.0])

    def levels(pairs):  # (smooth background's range, noise) over the band's height
        out = []
        for axis, v in pairs:
            smooth = medfilt(v, 151)
            height = np.interp(1000.0, axis, v - smooth)
            far = np.abs(axis - 1000.0) > 100
            out.append((np.ptp(smooth[75:-75]) / height,
                        np.std(np.diff(v[far])) / np.sqrt(2) / height))
        return np.array(out).T

    many = np.vstack([band] * 10)
    (background, noise) = levels(ood.raw_in_domain(grid, many, grid, seed=1))
    assert noise.max() < 0.03  # the default raw noise: 0.5-2 % of the band range
    noisy = levels(ood.raw_in_domain(grid, many, grid, seed=1, noise=0.1))[1]
    assert np.all((noisy > 0.08) & (noisy < 0.15))
    glowing = levels(ood.raw_in_domain(grid, many, grid, seed=1, fluorescence=20.0))[0]
    assert np.median(glowing) > 2 * background.max()
    # water draws nothing: wet minus dry is the band itself, 1640 cm-1, FWHM 90
    for (a, u), (b, v) in zip(ood.raw_in_domain(grid, X, grid, seed=1),
                              ood.raw_in_domain(grid, X, grid, seed=1, water=1.0),
                              strict=True):
        np.testing.assert_array_equal(a, b)
        d = v - u
        assert abs(a[np.argmax(d)] - 1640.0) < 1.8 and d.min() >= 0
        assert np.ptp(a[d >= d.max() / 2]) == pytest.approx(90.0, abs=3.6)
    # held out, the variants are scored like the default check set
    pairs = ood.raw_in_domain(synthetic.wavenumbers, synthetic.data,
                              synthetic.wavenumbers, seed=0, response=0.3)
    pipe, checker, _ = fitted
    score, flag = ood.score_held_out(pipe, checker, pairs)
    assert score.shape == flag.shape == (36,) and flag.dtype == bool
    same = ood.ood_scores(pipe, checker, synthetic.wavenumbers, synthetic.data,
                          synthetic.wavenumbers, n_per_family=1)
    default_score, _ = ood.score_held_out(
        pipe, checker,
        ood.raw_in_domain(synthetic.wavenumbers, synthetic.data,
                          synthetic.wavenumbers, seed=0),
    )
    np.testing.assert_array_equal(default_score, same["raw_score"])


def test_bench_trust_variants_set_the_resampler_coverage(fitted, synthetic,
                                                         monkeypatch):
    from sklearn.utils import Bunch

    from tests._helpers import load_benchmark

    bench = load_benchmark("bench_trust")
    pipe, checker, _ = fitted
    grid = np.asarray(synthetic.wavenumbers, dtype=np.float64)
    data = Bunch(wavenumbers=grid, X=synthetic.data, groups=synthetic.groups,
                 y=synthetic.target)
    gap = {"missing": 60.0}
    monkeypatch.setattr(bench, "RAW_VARIANTS", {
        "edge": ({**gap, "coverage": "edge"}, "edge"),
        "fill": ({**gap, "coverage": "fill"}, "fill"),
    })
    assert pipe[0].coverage == "raise"
    rows = bench.raw_variant_rows(pipe, checker, data, grid, 0)
    assert pipe[0].coverage == "raise"  # restored
    pairs = ood.raw_in_domain(grid, synthetic.data, grid, seed=0, **gap)
    with pytest.raises(ValueError, match="coverage='edge'"):
        pipe[:-1].transform(pairs)
    for policy in ("edge", "fill"):
        pipe[0].set_params(coverage=policy)
        try:
            flags = ood.score_held_out(pipe, checker, pairs)[1]
            right = bench.held_out_correct(pipe, pairs, synthetic.target)
        finally:
            pipe[0].set_params(coverage="raise")
        np.testing.assert_array_equal(rows[f"variant_{policy}"], flags)
        np.testing.assert_array_equal(rows[f"variant_{policy}_correct"], right)
    assert rows["variant_edge"].shape == (36,)
    # 0 under raw counts: the fill policy flags more than the edge one
    assert rows["variant_fill"].sum() > rows["variant_edge"].sum()


# ------------------------------------------------ real foreign spectra (reported)
@pytest.mark.slow
def test_real_foreign_spectra_are_scored(shared_data, tmp_path):
    """Polystyrene, silicon and calcite of ../shared/data: reported, no target.

    The limits never saw these spectra; the flagged fraction is printed
    (``pytest -s``) for the record only.
    """
    import json

    import pandas as pd

    from raman_sk.cli import main

    pytest.importorskip("ramanbiolib")
    out = tmp_path / "run"
    assert main(["reproduce", "--out", str(out), "--quick", "--threads", "1",
                 "--quiet"]) == 0
    meta = pd.read_csv(shared_data / "charisma_ramanchada2" / "spectra.csv")
    keep = meta[meta["sample"].isin(["PST", "Sil", "nCAL", "sCAL"])]
    files = []
    for _, row in keep.iterrows():
        path = tmp_path / f"{row['id']:03d}_{row['sample']}.txt"
        xy = np.column_stack([json.loads(row["wavenumbers"]),
                              json.loads(row["intensity"])])
        np.savetxt(path, xy, delimiter="\t")
        files.append(str(path))
    dest = tmp_path / "preds.csv"
    model = out / "model" / "best_model"
    assert main(["predict", str(model), *files, "--out", str(dest)]) == 0
    table = pd.read_csv(dest)
    table["sample"] = keep["sample"].to_numpy()
    assert (table["ood_evidence"] == "input and model space").all()
    assert table["ood_score"].notna().all()
    np.testing.assert_array_equal(table["out_of_domain"], table["ood_score"] > 1)
    print(table.groupby("sample")[["out_of_domain", "ood_score"]].mean())


def test_report_names_the_residual_limit_and_reads_older_records():
    from raman_sk._report import _model_space_text

    record = {"n_neighbors": 5, "embedding_distance_limit": 0.9,
              "energy_limit": -2.0, "input_flag_rate": 0.01, "target_rate": 0.05,
              "database_flag_rate": 0.045}
    old = _model_space_text(record)
    assert "residual" not in old and "model-space limits share the rest" in old
    new = _model_space_text({**record, "residual_limit": 0.85,
                             "residual_neighbors": 5, "limit_rate": 0.01})
    assert "more than 0.850 of its strongest band" in new
    assert "library-residual, embedding-distance and energy limits share" in new
    both = _model_space_text({**record, "residual_limit": 0.85, "limit_rate": 0.01,
                              "combined_limit": 38.02})
    assert ("energy limits and that of the combined evidence (Fisher's "
            "combination") in both
    assert "above 38.0) share the rest" in both


def test_report_names_the_band_count_limit_and_reads_older_records():
    from raman_sk._report import _domain_section

    record = {"threshold": 0.23, "min_effective_width": 47.4, "min_peak_fwhm": 9.2,
              "min_strongest_fwhm": 9.2, "loo_similarity_median": 0.93,
              "loo_similarity_min": 0.2}
    old = " ".join(_domain_section(record))
    assert "prominent peaks" not in old
    assert "highest peak's FWHM below 9.2 points" in old
    new = " ".join(_domain_section({**record, "min_band_count": 3 / 1.1}))
    assert "narrower or fewer than any training spectrum's" in new
    assert "or fewer than 2.7 prominent peaks)" in new
