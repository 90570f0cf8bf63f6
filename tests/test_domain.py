import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from raman_sk.domain import (
    NearestSpectrumChecker,
    nearest_similarity,
    strongest_band_fwhm,
)
from tests._helpers import save_checker_with


def test_nearest_similarity_hand_computed():
    ref = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    X = np.array([[2.0, 4.0, 6.0], [1.0, 0.0, 1.0], [5.0, 5.0, 5.0]])
    sim, idx = nearest_similarity(X, ref)
    assert idx[0] == 0 and sim[0] == pytest.approx(1.0)
    # [1,0,1] centred is [1/3,-2/3,1/3]: orthogonal to both centred references
    assert sim[1] == pytest.approx(0.0, abs=1e-12)
    assert sim[2] == 0.0  # a constant spectrum has no shape: similarity 0


def test_checker_flags_foreign_spectra(synthetic):
    checker = NearestSpectrumChecker().fit(synthetic.data, groups=synthetic.groups)
    assert checker.loo_similarity_.shape == (36,)
    assert not checker.predict(synthetic.data).any()
    w = synthetic.wavenumbers
    foreign = np.exp(-((w - 650.0) ** 2) / 50.0)[None] + 0.5 * np.sin(w / 7.0)[None]
    assert checker.predict(foreign).all()
    assert checker.score_samples(foreign)[0] < checker.threshold_


def test_checker_threshold_from_quantile(synthetic):
    c = NearestSpectrumChecker(quantile=0.5, margin=0.0).fit(synthetic.data)
    assert c.threshold_ == pytest.approx(np.median(c.loo_similarity_))
    fixed = NearestSpectrumChecker(threshold=0.3).fit(synthetic.data)
    assert fixed.threshold_ == 0.3


def test_checker_errors(synthetic):
    with pytest.raises(NotFittedError):
        NearestSpectrumChecker().predict(synthetic.data)
    with pytest.raises(ValueError, match="quantile must be in"):
        NearestSpectrumChecker(quantile=2).fit(synthetic.data)
    c = NearestSpectrumChecker().fit(synthetic.data)
    with pytest.raises(ValueError, match="features"):
        c.predict(synthetic.data[:, :10])


def test_band_widths_hand_computed():
    from raman_sk.domain import band_widths

    x = np.zeros((3, 201))
    x[0, 90:110] = 1.0  # a 20-point box on a flat floor
    g = np.exp(-0.5 * ((np.arange(201) - 100.0) / 5.0) ** 2)
    x[1] = 3.0 * g + 7.0  # a Gaussian, sigma 5, offset and scaled
    # x[2] constant: no shape at all
    width, fwhm = band_widths(x)
    assert width[0] == pytest.approx(20.0)
    assert fwhm[0] == pytest.approx(20.0)
    # area over height of a Gaussian: sigma * sqrt(2 pi); FWHM 2.3548 sigma
    assert width[1] == pytest.approx(5.0 * np.sqrt(2 * np.pi), rel=1e-6)
    assert fwhm[1] == pytest.approx(2 * np.sqrt(2 * np.log(2)) * 5.0, rel=1e-2)
    assert width[2] == 0.0 and np.isnan(fwhm[2])


def _gaussians(centres, sigma, n=300):
    t = np.arange(n, dtype=float)
    return sum(np.exp(-0.5 * ((t - c) / sigma) ** 2) for c in centres)


def test_band_checks_flag_sharp_sparse_spectra_with_a_reason():
    rng = np.random.default_rng(0)
    # training: band-rich spectra of broad bands (sigma 6 points)
    X = np.array(
        [_gaussians(rng.uniform(20, 280, size=8), 6.0) for _ in range(30)]
    )
    checker = NearestSpectrumChecker().fit(X)
    width, fwhm = checker.min_effective_width_, checker.min_peak_fwhm_
    assert width == pytest.approx(min(np.sum(x - x.min()) / np.ptp(x) for x in X) / 1.1)
    assert 10 < fwhm < 2.3548 * 6.0
    # one sharp line on the strongest band of a training spectrum: correlated
    # with it, but far sparser and narrower than anything seen in training
    k = int(np.argmax(X[0]))
    sharp = _gaussians([k], 1.5)[None]
    table = checker.check(sharp)
    assert table["similarity"].iloc[0] > checker.threshold_
    assert bool(table["out_of_domain"].iloc[0])
    reason = table["reason"].iloc[0]
    assert "effective width" in reason and "peak FWHM" in reason
    assert "similarity" not in reason
    # the training spectra pass, with empty reasons
    own = checker.check(X)
    assert not own["out_of_domain"].any() and (own["reason"] == "").all()
    # without band checks only the correlation counts
    plain = NearestSpectrumChecker(band_checks=False).fit(X)
    assert plain.min_effective_width_ is None and not plain.predict(sharp)[0]
    assert np.isnan(plain.check(sharp)["effective_width"].iloc[0])
    with pytest.raises(ValueError, match="width_margin must be >= 1, got 0.5"):
        NearestSpectrumChecker(width_margin=0.5).fit(X)


def test_a_narrow_line_on_top_of_a_genuine_spectrum_is_flagged_by_its_width():
    rng = np.random.default_rng(3)
    X = np.array(
        [_gaussians(rng.uniform(20, 280, size=8), 6.0) for _ in range(30)]
    )
    checker = NearestSpectrumChecker(residual_check=False).fit(X)
    # every training spectrum's highest peak is a sigma-6 band (or a blend):
    # FWHM >= 2.3548 x 6 points, so the limit is at least that over 1.1
    strongest = strongest_band_fwhm(X)
    assert strongest.min() >= 2.3548 * 6.0 - 0.1
    assert checker.min_strongest_fwhm_ == pytest.approx(strongest.min() / 1.1)
    # a training spectrum plus a line (sigma 1.5 points) twice its highest band
    line = X[4] + 2 * np.ptp(X[4]) * _gaussians([150], 1.5)
    table = checker.check(line[None])
    assert table["strongest_fwhm"].iloc[0] == pytest.approx(2.3548 * 1.5, abs=0.2)
    # its many other bands keep the median width and the area in range
    assert table["peak_fwhm"].iloc[0] > checker.min_peak_fwhm_
    assert table["effective_width"].iloc[0] > checker.min_effective_width_
    assert bool(table["out_of_domain"].iloc[0])
    assert table["reason"].iloc[0].startswith("strongest band FWHM 3.5 < ")
    assert not checker.predict(X).any()


def test_band_widths_count_only_the_most_prominent_peaks_when_bounded():
    from raman_sk.domain import band_widths

    x = np.zeros(201)
    x[20:40] = x[60:80] = 1.0  # two 20-point boxes
    x[100:102] = 0.5  # a 2-point line, prominence 0.5
    x[150:153] = 0.3  # a 3-point line, prominence 0.3
    # every peak: median of 20, 20, 2, 3
    assert band_widths(x[None])[1][0] == pytest.approx(11.5)
    # the 3 most prominent: 20, 20, 2; the 2 most prominent: the boxes
    assert band_widths(x[None], n_bands=3)[1][0] == pytest.approx(20.0)
    assert band_widths(x[None], n_bands=2)[1][0] == pytest.approx(20.0)
    assert band_widths(x[None], n_bands=1)[1][0] == pytest.approx(20.0)
    x[150:153] = 0.0
    x[100:102] = 0.9  # now the 3 most prominent are 20, 20 and 2 points
    assert band_widths(x[None], n_bands=3)[1][0] == pytest.approx(20.0)
    x[60:80] = 0.8  # the 2 most prominent: the first box and the line
    assert band_widths(x[None], n_bands=2)[1][0] == pytest.approx(11.0)


def test_noisy_genuine_spectrum_keeps_its_band_width_with_n_bands():
    rng = np.random.default_rng(5)
    X = np.array([_gaussians(rng.uniform(20, 280, size=8), 6.0) for _ in range(30)])
    bounded = NearestSpectrumChecker(residual_check=False).fit(X)
    every = NearestSpectrumChecker(residual_check=False, n_bands=None).fit(X)
    assert bounded.n_bands == 5
    # a training spectrum with white noise of 8 % of its band range: many
    # weak, narrow maxima, its eight bands unchanged
    noisy = X[3] + 0.08 * np.ptp(X[3]) * rng.normal(size=X.shape[1])
    wide, narrow = (c.check(noisy[None]) for c in (bounded, every))
    assert wide["peak_fwhm"].iloc[0] > bounded.min_peak_fwhm_
    assert not wide["out_of_domain"].iloc[0]
    assert narrow["peak_fwhm"].iloc[0] < every.min_peak_fwhm_
    assert "peak FWHM" in narrow["reason"].iloc[0]
    for bad in (0, 2.5, True, "5"):
        with pytest.raises(ValueError, match=f"n_bands must be an integer >= 1 or "
                                             f"None, got {bad!r}"):
            NearestSpectrumChecker(n_bands=bad).fit(X)


def test_band_count_hand_computed():
    from raman_sk.domain import band_count

    x = np.zeros((3, 201))
    x[0, [20, 60, 100, 140]] = [1.0, 0.5, 0.09, 0.2]  # 0.09 < 10 % of the range
    x[1] = _gaussians([50.0, 150.0], 6.0, n=201) + 5.0
    # x[2] constant
    np.testing.assert_array_equal(band_count(x), [3.0, 2.0, 0.0])
    np.testing.assert_array_equal(band_count(x, prominence=0.05), [4.0, 2.0, 0.0])


def test_fewer_bands_than_any_training_spectrum_are_flagged():
    rng = np.random.default_rng(6)
    # 8 separate sigma-6 bands in every training spectrum, heights 0.5-1
    centres = np.arange(25.0, 300.0, 35.0)
    X = np.array([sum(h * _gaussians([c], 6.0) for c, h in
                      zip(centres + rng.uniform(-3, 3, 8), rng.uniform(0.5, 1, 8),
                          strict=True))
                  for _ in range(30)])
    checker = NearestSpectrumChecker(residual_check=False).fit(X)
    assert checker.min_band_count_ == pytest.approx(8 / 1.1)
    # two of those bands alone: as wide as the training bands, but too few
    two = _gaussians(centres[[2, 5]], 6.0)
    table = checker.check(np.vstack([two, X[:3]]))
    np.testing.assert_array_equal(table["band_count"], [2.0, 8.0, 8.0, 8.0])
    assert table["peak_fwhm"].iloc[0] > checker.min_peak_fwhm_
    assert "band count 2 < 7.3" in table["reason"].iloc[0]
    assert table["out_of_domain"].tolist() == [True, False, False, False]
    plain = NearestSpectrumChecker(residual_check=False, band_checks=False).fit(X)
    assert plain.min_band_count_ is None
    assert np.isnan(plain.check(two[None])["band_count"].iloc[0])


def test_a_sharper_rendering_of_a_known_band_is_not_a_foreign_line():
    rng = np.random.default_rng(4)
    # every training spectrum has its strongest band at point 150 (sigma 6)
    X = np.array([3 * _gaussians([150], 6.0) + _gaussians(rng.uniform(20, 280, 8), 6.0)
                  for _ in range(30)])
    # every peak counts in the median width: over these identical training
    # widths the 5 strongest bands' median would leave no room for one
    # sharper band, and this test is about the highest peak's limit
    checker = NearestSpectrumChecker(n_bands=None).fit(X)
    # that band as a sharper instrument draws it (sigma 4, 3), and the same
    # band where no training spectrum has one
    rest = [_gaussians(rng.uniform(20, 280, 8), 6.0) for _ in range(4)]
    widths = (4.0, 3.0)
    known = [3 * _gaussians([150], s) + r
             for s, r in zip(widths, rest[:2], strict=True)]
    foreign = [3 * _gaussians([95], s) + r
               for s, r in zip(widths, rest[2:], strict=True)]
    table = checker.check(np.vstack(known + foreign))
    # all four are narrower than any training spectrum's highest peak
    assert (table["strongest_fwhm"] < checker.min_strongest_fwhm_).all()
    # the library explains more than half of the known band, not of the new one
    assert (table["residual"].iloc[:2] < 0.5).all()
    assert (table["residual"].iloc[2:] > 0.8).all()
    assert not table["reason"].iloc[:2].str.contains("strongest band").any()
    assert table["reason"].iloc[2:].str.contains(
        r"strongest band FWHM \d+\.\d < \d+\.\d points and residual > 0.5").all()
    assert table["out_of_domain"].iloc[2:].all()
    assert not table["out_of_domain"].iloc[:2].any()


def test_saved_checker_keeps_band_limits_and_reads_older_files(tmp_path):
    import json

    from raman_sk.domain import load_domain_checker, save_domain_checker

    rng = np.random.default_rng(1)
    X = np.array([_gaussians(rng.uniform(20, 280, size=6), 5.0) for _ in range(12)])
    checker = NearestSpectrumChecker(width_margin=1.3).fit(X)
    same = load_domain_checker(save_domain_checker(checker, tmp_path))
    assert same.width_margin == 1.3
    assert same.min_effective_width_ == checker.min_effective_width_
    assert same.min_peak_fwhm_ == checker.min_peak_fwhm_
    assert same.min_strongest_fwhm_ == checker.min_strongest_fwhm_
    probe = np.vstack([X[:2], _gaussians([150], 1.0)[None]])
    np.testing.assert_array_equal(same.predict(probe), checker.predict(probe))
    assert "band count 1 < " in same.check(_gaussians([150], 1.0)[None])["reason"][0]
    # saved before the highest-peak and band-count limits existed: loads
    # without them, skips them
    saved = json.loads((tmp_path / "domain.json").read_text())
    del saved["fitted"]["min_strongest_fwhm_"]
    del saved["fitted"]["min_band_count_"]
    (tmp_path / "domain.json").write_text(json.dumps(saved))
    older = load_domain_checker(tmp_path)
    assert older.min_strongest_fwhm_ is None and older.min_band_count_ is None
    assert same.n_bands == 5 and older.n_bands == 5
    reason = older.check(_gaussians([150], 1.0)[None])["reason"].iloc[0]
    assert "peak FWHM" in reason and "strongest band" not in reason
    assert "band count" not in reason
    # saved before n_bands existed: its limits were set on every peak
    save_domain_checker(checker, tmp_path)
    saved = json.loads((tmp_path / "domain.json").read_text())
    del saved["params"]["n_bands"]
    (tmp_path / "domain.json").write_text(json.dumps(saved))
    every = load_domain_checker(tmp_path)
    assert every.n_bands is None
    assert every.min_peak_fwhm_ == checker.min_peak_fwhm_
    save_checker_with(checker, tmp_path, "fitted", "min_effective_width_", "wide")
    with pytest.raises(ValueError, match="min_effective_width_ must be a number"):
        load_domain_checker(tmp_path)
    # the 0.1 format, from before the band checks: correlation only, as it was saved
    cfg = tmp_path / "domain.json"
    old = {
        "format": "raman_sk.domain/1",
        "class": "NearestSpectrumChecker",
        "params": {"quantile": 0.01, "margin": 0.05, "threshold": None},
        "threshold_": checker.threshold_,
    }
    np.savez(
        tmp_path / "domain.npz",
        reference=checker.reference_,
        loo_similarity=checker.loo_similarity_,
    )
    cfg.write_text(json.dumps(old))
    legacy = load_domain_checker(tmp_path)
    assert legacy.band_checks is False and legacy.min_effective_width_ is None
    assert legacy.n_bands is None
    sharp = _gaussians([150], 1.0)[None]
    assert checker.check(sharp)["reason"].iloc[0].count("points") == 3
    by_correlation = legacy.score_samples(sharp) < legacy.threshold_
    np.testing.assert_array_equal(legacy.predict(sharp), by_correlation)
    assert "points" not in legacy.check(sharp)["reason"].iloc[0]
    old["min_effective_width_"] = "wide"
    old["params"]["band_checks"] = True
    cfg.write_text(json.dumps(old))
    with pytest.raises(ValueError, match="min_effective_width_ must be a number"):
        load_domain_checker(tmp_path)


def test_ood_score_is_one_at_the_limits_and_says_what_ran():
    from raman_sk.domain import MODEL_SPACE_MISSING

    rng = np.random.default_rng(2)
    X = np.array([_gaussians(rng.uniform(20, 280, size=8), 6.0) for _ in range(30)])
    checker = NearestSpectrumChecker().fit(X)
    probe = np.vstack([X[:3], _gaussians([150], 1.0)[None], rng.normal(size=(1, 300))])
    table = checker.check(probe)
    np.testing.assert_array_equal(table["out_of_domain"], table["ood_score"] > 1)
    assert table["ood_score"].iloc[:3].max() < 1  # training spectra: within limits
    assert (table["evidence"] == MODEL_SPACE_MISSING).all()
    assert table[["embedding_distance", "energy", "disagreement"]].isna().all().all()
    # at the similarity limit exactly: score 1 (0 at the in-domain median)
    from raman_sk.domain import _exceedance

    med, lim = np.median(checker.loo_similarity_), checker.threshold_
    r = _exceedance(np.array([lim, med]), lim, med, low_is_bad=True)
    np.testing.assert_allclose(r, [1.0, 0.0])
    r = _exceedance(np.array([3.0, 1.0, 5.0]), 3.0, 1.0, low_is_bad=False)
    np.testing.assert_allclose(r, [1.0, 0.0, 2.0])


def test_other_group_limits_leave_the_own_molecule_out():
    from raman_sk.domain import _other_group_min

    values = np.array([1.0, 2.0, 10.0, np.nan])
    groups = np.array(["a", "a", "b", "c"])
    # a: min of {10} / 2; b: min of {1, 2} / 2; c: min of {1, 2, 10} / 2
    np.testing.assert_allclose(
        _other_group_min(values, groups, 2.0), [5.0, 5.0, 0.5, 0.5]
    )


# ------------------------------------------------------------ library residual
def test_library_residual_hand_computed():
    from raman_sk.domain import library_residual

    ref = np.vstack([_gaussians([60], 5.0), _gaussians([200], 5.0)])
    line = np.zeros(300)
    line[130] = 1.0  # one point: no smooth baseline can make it
    X = np.vstack([
        2.0 * ref[0] + 0.5 * ref[1],  # an exact non-negative mix: nothing left
        ref[0] + 0.5 * line,  # a line half the strongest band: half of it left
        ref[0] + 3.0 * line,  # a line stronger than every band: all of it left
        ref[0] - 0.5 * ref[1],  # a negative band cannot be mixed: 0 left above
    ])
    got = library_residual(X, ref, degree=-1)
    np.testing.assert_allclose(got, [0.0, 0.5, 1.0, 0.0], atol=1e-9)
    # a smooth baseline (quadratic) is absorbed by the polynomials, not a residual
    t = np.linspace(-1.0, 1.0, 300)
    drift = 0.3 + 0.2 * t - 0.4 * t**2
    np.testing.assert_allclose(
        library_residual(X[:1] + drift, ref, degree=3), [0.0], atol=1e-9
    )
    # ... while without the baseline the drift is left over
    assert library_residual(X[:1] + drift, ref, degree=-1)[0] > 0.1
    # with the polynomials the single-point line is still almost whole
    assert library_residual(X[1:2], ref)[0] == pytest.approx(0.5, abs=0.01)
    # excluded references are never used; nothing with a band above a
    # polynomial has no score
    assert library_residual(ref[:1], ref, exclude=[[True, False]])[0] == pytest.approx(
        1.0, abs=0.01
    )
    assert np.isnan(library_residual(np.vstack([drift, np.zeros(300)]), ref)).all()


def test_residual_limit_is_a_quantile_of_leave_one_group_out_scores():
    from raman_sk.domain import library_residual
    from raman_sk.ood import quantile_limit

    rng = np.random.default_rng(3)
    X = np.array([_gaussians(rng.uniform(20, 280, size=6), 5.0) for _ in range(24)])
    groups = np.repeat(np.arange(12), 2)
    checker = NearestSpectrumChecker(quantile=0.1).fit(X, groups=groups)
    own = library_residual(X, X, exclude=groups[:, None] == groups[None])
    np.testing.assert_allclose(checker.loo_residual_, own)
    assert checker.residual_limit_ == quantile_limit(own, 0.1)
    assert np.mean(own > checker.residual_limit_) <= 0.1
    # a training spectrum with a line twice its strongest band: the line is left
    spiked = X[:1] + 2.0 * np.max(X[0]) * (np.arange(300) == 151)
    table = checker.check(spiked)
    assert table["residual"].iloc[0] > checker.residual_limit_
    assert "residual" in table["reason"].iloc[0]
    off = NearestSpectrumChecker(residual_check=False).fit(X)
    assert off.residual_limit_ is None
    assert np.isnan(off.check(spiked)["residual"].iloc[0])


def test_check_flags_bad_input_with_a_reason():
    rng = np.random.default_rng(4)
    X = np.array([_gaussians(rng.uniform(20, 280, size=6), 5.0) for _ in range(12)])
    checker = NearestSpectrumChecker().fit(X)
    t = np.linspace(-1.0, 1.0, 300)
    probe = np.vstack([np.zeros(300), np.full(300, np.nan), np.full(300, 2.0),
                       1.0 + t**2, X[0]])
    probe[1, 0] = 1.0
    table = checker.check(probe)
    assert table["out_of_domain"].tolist() == [True, True, True, True, False]
    assert table["reason"].tolist()[:3] == [
        "bad input: flat spectrum", "bad input: NaN or inf values",
        "bad input: flat spectrum"]
    assert table.loc[:2, ["similarity", "residual", "ood_score"]].isna().all().all()
    assert "residual: no band above a smooth baseline" in table["reason"].iloc[3]
    assert table["ood_score"].iloc[3] == np.inf


def test_shared_limits_use_one_rate_within_the_budget():
    from raman_sk.domain import _shared_limits

    a = np.arange(1.0, 21.0)  # 20 spectra; b ranks them the other way round
    fixed = np.zeros(20, dtype=bool)
    fixed[9] = True  # 1 of 20 already flagged by a fixed limit
    rate, limits = _shared_limits({"a": a, "b": a[::-1].copy()}, fixed, 0.25)
    # rate 2/20: 2 above each limit + the fixed one = 5/20; 3/20 would give 7/20
    assert rate == pytest.approx(0.1)
    assert limits == {"a": 18.0, "b": 18.0}
    rate, _ = _shared_limits({"a": a}, np.ones(20, dtype=bool), 0.05)
    assert rate == 0.0  # nothing left of the budget


def test_checker_saved_before_the_residual_loads_and_checks(tmp_path):
    import json

    from raman_sk.domain import load_domain_checker, save_domain_checker

    rng = np.random.default_rng(5)
    X = np.array([_gaussians(rng.uniform(20, 280, size=6), 5.0) for _ in range(12)])
    checker = NearestSpectrumChecker().fit(X)
    same = load_domain_checker(save_domain_checker(checker, tmp_path))
    assert same.residual_limit_ == checker.residual_limit_
    probe = np.vstack([X[:2], _gaussians([150], 1.0)[None]])
    np.testing.assert_array_equal(same.check(probe)["residual"],
                                  checker.check(probe)["residual"])
    # drop what an older raman_sk did not write: no residual parameters or limit
    cfg = json.loads((tmp_path / "domain.json").read_text())
    for key in ("residual_check", "residual_neighbors", "residual_degree"):
        del cfg["params"][key]
    del cfg["fitted"]["residual_limit_"]
    cfg["arrays"] = [a for a in cfg["arrays"] if a["attr"] != "loo_residual_"]
    (tmp_path / "domain.json").write_text(json.dumps(cfg))
    with np.load(tmp_path / "domain.npz") as data:
        arrays = {k: data[k] for k in data.files if k != "loo_residual"}
    np.savez(tmp_path / "domain.npz", **arrays)
    old = load_domain_checker(tmp_path)
    assert old.residual_limit_ is None
    table = old.check(probe)
    assert table["residual"].isna().all()
    np.testing.assert_array_equal(
        table["out_of_domain"],
        (table["similarity"] < old.threshold_).to_numpy()
        | table["reason"].str.contains("points").to_numpy(),
    )
    cfg["fitted"]["residual_limit_"] = "high"
    (tmp_path / "domain.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="residual_limit_ must be a number"):
        load_domain_checker(tmp_path)
