"""Preprocessing of Raman spectra: resampling, augmentation and cleaning.

Every step is a scikit-learn estimator with a plain function beside it doing
the maths (the ``normalize``/``Normalizer`` pattern). This subpackage never
imports torch.
"""

from raman_sk.preprocessing._augment import SpectralAugmenter, augment_spectra
from raman_sk.preprocessing._resample import WavenumberResampler, resample_spectra

__all__ = [
    "SpectralAugmenter",
    "augment_spectra",
    "WavenumberResampler",
    "resample_spectra",
]
