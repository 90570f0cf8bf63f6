"""find_regions and smooth_background: regions of class maps, smooth baseline."""

import numpy as np
import pandas as pd
import pytest

from raman_sk.explain import REGION_COLUMNS, find_regions, smooth_background
from raman_sk.explain._regions import _merge_overlapping
from tests._explain_helpers import invalid


def test_smooth_background_removes_bands():
    w = np.arange(600.0, 1000.0, 1.0)
    x = 0.2 + 0.001 * (w - 600) + np.exp(-0.5 * ((w - 800) / 4) ** 2)
    bg = smooth_background(x[None], w)[0]
    np.testing.assert_allclose(
        bg[150:250], (0.2 + 0.001 * (w - 600))[150:250], atol=0.02
    )
    assert np.all(bg <= x)


def test_find_regions_bad_input_and_edges():
    w = np.arange(100.0)
    with pytest.raises(ValueError, match="class_names has 1 entries"):
        find_regions(w, np.ones((2, 100)), ["a"])
    with pytest.raises(ValueError, match=invalid("n_regions", 0, "find_regions")):
        find_regions(w, np.ones((1, 100)), ["a"], n_regions=0)
    empty = find_regions(w, -np.ones((1, 100)), ["a"])  # no positive evidence
    assert empty.empty and tuple(empty.columns) == REGION_COLUMNS
    # a peak at the edge of the axis is found; reversed axis gives the same
    s = np.exp(-0.5 * (w / 3) ** 2)
    r1 = find_regions(w, s[None], ["a"], table=_seed_table())
    r2 = find_regions(w[::-1], s[::-1][None], ["a"], table=_seed_table())
    assert r1["peak"].tolist() == [0.0]
    pd.testing.assert_frame_equal(r1, r2)


def _seed_table():
    from raman_sk.bands import band_table

    return band_table(database=False)


def test_find_regions_parameters_validated():
    w, s = np.arange(100.0), np.ones((1, 100))
    for name, bad in (("n_regions", 1.5), ("smoothing", -1.0), ("tolerance", "far")):
        with pytest.raises(ValueError, match=invalid(name, bad, "find_regions")):
            find_regions(w, s, ["a"], **{name: bad})


def test_find_regions_scores_two_bands_and_leaves_input_unchanged():
    w = np.arange(600.0, 1000.0, 1.0)
    s = np.exp(-0.5 * ((w - 700) / 4) ** 2) + 0.5 * np.exp(-0.5 * ((w - 900) / 4) ** 2)
    s = np.vstack([s, -s])
    s.setflags(write=False)
    r = find_regions(w, s, ["a", "b"], n_regions=1, table=_seed_table())
    assert r["class"].tolist() == ["a"]  # no positive evidence for "b"
    assert r["peak"].tolist() == [700.0]
    assert 0.5 < r["score"].iloc[0] < 1.0
    assert r["map"].tolist() == ["contrastive_ig"]


def test_merge_overlapping_keeps_the_higher_peak():
    smoothed = np.array([0.0, 1.0, 3.0, 2.0, 0.0, 5.0, 0.0])
    merged = _merge_overlapping([[3, 4, 3], [1, 3, 2], [5, 6, 5]], smoothed)
    assert merged == [[1, 4, 2], [5, 6, 5]]


def test_smooth_background_never_exceeds_the_spectrum_and_copies():
    rng = np.random.default_rng(0)
    w = np.arange(400.0, 800.0, 2.0)
    X = rng.random((3, w.size))
    X.setflags(write=False)
    bg = smooth_background(X, w, window=50.0)
    assert bg.shape == X.shape and np.all(bg <= X)
    assert not np.shares_memory(bg, X)
