"""Shared fixtures: seeded synthetic spectra (Lorentzian peaks, short axis)."""

import signal
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils import Bunch

DATA_DIR = Path(__file__).parent / "data"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# Peak positions (cm-1) that define each synthetic class; classes differ only here.
CLASS_PEAKS = {
    "alpha": (700.0, 1000.0),
    "beta": (820.0, 1000.0),
    "gamma": (940.0, 1000.0),
}


def lorentzian(x, center, width=6.0, height=1.0):
    """Lorentzian line shape with half-width ``width``."""
    return height * width**2 / ((x - center) ** 2 + width**2)


def make_spectra(n_per_class=12, wavenumbers=None, noise=0.01, seed=0):
    """Synthetic spectra: class peaks + a shared peak + a linear background + noise."""
    rng = np.random.default_rng(seed)
    if wavenumbers is None:
        wavenumbers = np.arange(600.0, 1112.0, 2.0)  # 256 points
    X, y, groups = [], [], []
    for label, peaks in CLASS_PEAKS.items():
        for i in range(n_per_class):
            s = np.zeros_like(wavenumbers)
            for c in peaks:
                center = c + rng.normal(0, 1.0)
                s += lorentzian(wavenumbers, center, height=rng.uniform(0.7, 1.0))
            s += 0.05 * (wavenumbers - wavenumbers[0]) / np.ptp(wavenumbers)
            s += rng.normal(0, noise, size=s.shape)
            X.append(s)
            y.append(label)
            groups.append(f"{label}-{i // 2}")  # pairs of replicates share a molecule
    return Bunch(
        data=np.asarray(X, dtype=np.float64),
        target=np.asarray(y, dtype=object),
        groups=np.asarray(groups, dtype=object),
        wavenumbers=wavenumbers,
        class_peaks=CLASS_PEAKS,
    )


@pytest.fixture(scope="session")
def synthetic():
    """36 spectra, 3 classes, 256 points over 600-1110 cm-1 (step 2)."""
    return make_spectra()


@pytest.fixture(scope="session")
def shared_data():
    """Path to ../shared/data, or skip when the full data sets are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not available in this checkout")
    return SHARED_DATA


@pytest.fixture(scope="session")
def data_dir():
    """Small real instrument files bundled with the tests (see tests/data/README.md)."""
    return DATA_DIR


def pytest_collection_modifyitems(config, items):
    """Skip doctests that need the ramanbiolib wheel where it is absent (>=3.12)."""
    import importlib.util

    if importlib.util.find_spec("ramanbiolib") is not None:
        return
    skip = pytest.mark.skip(reason="ramanbiolib is not installed (Python >= 3.12)")
    for item in items:
        if "ramanbiolib" in item.name and "doctest" in type(item).__name__.lower():
            item.add_marker(skip)


@pytest.fixture
def python_sigint():
    """Python's own Ctrl-C handler for the test, whatever the runner inherited.

    A shell starts background jobs (``cmd &``) with SIGINT ignored, and the
    package rightly leaves an ignored SIGINT alone; tests that send a real
    SIGINT need Python's default handler, as in an interactive session.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
