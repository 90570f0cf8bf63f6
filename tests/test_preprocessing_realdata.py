"""Real instrument spectra of ../shared/data through resample -> baseline -> normalise.

Parses the two ``spectra.csv`` files directly (JSON list columns ``wavenumbers``
and ``intensity``), so it does not depend on ``raman_sk.datasets``. Skips when
the data are absent. About 1 s.
"""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.utils import Bunch

from raman_sk.preprocessing import (
    BaselineRemover,
    SpectrumNormalizer,
    SpikeRemover,
    WavenumberResampler,
)
from raman_sk.utils import default_grid

GRID = default_grid()


@pytest.fixture(scope="module")
def real(shared_data):
    frames = []
    for name in ("arcadia_chlamy", "charisma_ramanchada2"):
        df = pd.read_csv(shared_data / name / "spectra.csv")
        df["setup"] = df["instrument"] if "instrument" in df else df["setup"]
        df["sample"] = df["sample"] if "sample" in df else df["strain"]
        frames.append(
            df[["setup", "sample", "source_file", "wavenumbers", "intensity"]]
        )
    df = pd.concat(frames, ignore_index=True)
    pairs = [
        (np.asarray(json.loads(w), dtype=float), np.asarray(json.loads(i), dtype=float))
        for w, i in zip(df["wavenumbers"], df["intensity"], strict=True)
    ]
    renishaw = (df["setup"] == "Renishaw_Qontor").to_numpy()
    return Bunch(
        pairs=pairs,
        sources=df["source_file"].astype(str).tolist(),
        sample=df["sample"].astype(str).to_numpy(),
        setup=df["setup"].astype(str).to_numpy(),
        renishaw=renishaw,
    )


def _pipeline(**resampler):
    return make_pipeline(
        WavenumberResampler(**resampler),
        SpikeRemover(),
        BaselineRemover(),
        SpectrumNormalizer(),
    )


def test_every_covering_spectrum_reaches_the_grid(real):
    keep = ~real.renishaw
    data = Bunch(
        spectra=[p for p, k in zip(real.pairs, keep, strict=True) if k],
        sources=[s for s, k in zip(real.sources, keep, strict=True) if k],
    )
    assert len(data.spectra) == 94  # 18 Horiba (descending) + 76 CHARISMA (10 setups)
    out = _pipeline().fit_transform(data)
    assert out.shape == (94, GRID.size) and out.dtype == np.float64
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out.min(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.max(axis=1), 1.0, rtol=1e-12)
    # physics: the strongest band lands where it should, on every instrument
    sample = real.sample[keep]
    peak = GRID[out.argmax(axis=1)]
    assert np.all(np.abs(peak[sample == "PST"] - 1001.0) <= 8)  # polystyrene ring
    calcite = np.isin(sample, ["nCAL", "sCAL"])
    assert calcite.sum() == 20
    assert np.all(np.abs(peak[calcite] - 1087.0) <= 6)  # calcite CO3 stretch


def test_renishaw_range_error_by_default(real):
    first = int(np.flatnonzero(real.renishaw)[0])
    data = Bunch(spectra=real.pairs, sources=real.sources)
    msg = (
        rf"spectrum {first} \(raw/Renishaw_Qontor/[^)]+\) covers 712.4\d*-1808.\d+ "
        r"cm-1 .*missing 450-712 cm-1 \(263 grid points\).*coverage='fill'"
    )
    with pytest.raises(ValueError, match=msg):
        WavenumberResampler().fit(data)
    with pytest.raises(ValueError, match=msg):
        _pipeline().fit_transform(data)


def test_renishaw_with_fill_policy_is_finite(real):
    spectra = [p for p, r in zip(real.pairs, real.renishaw, strict=True) if r]
    assert len(spectra) == 59
    resampled = WavenumberResampler(coverage="fill", fill_value=0.0).fit_transform(
        spectra
    )
    assert np.all(resampled[:, GRID < 712.4] == 0.0)
    assert np.all(resampled[:, GRID > 713] > 0)  # raw counts are positive
    out = _pipeline(coverage="fill").fit_transform(spectra)
    assert out.shape == (59, GRID.size) and np.isfinite(out).all()
    np.testing.assert_allclose(out.max(axis=1), 1.0, rtol=1e-12)


def test_all_77_plus_76_spectra_with_fill(real):
    out = _pipeline(coverage="fill").fit_transform(real.pairs)
    assert out.shape == (153, GRID.size) and np.isfinite(out).all()
