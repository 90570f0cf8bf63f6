import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from raman_sk.domain import NearestSpectrumChecker, nearest_similarity


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
