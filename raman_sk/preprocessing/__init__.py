"""Preprocessing of Raman spectra: resampling, augmentation and cleaning.

Every step is a scikit-learn estimator with a plain function beside it doing
the maths (the ``normalize``/``Normalizer`` pattern). This subpackage never
imports torch.
"""

from raman_sk.preprocessing._resample import WavenumberResampler, resample_spectra

__all__ = [
    "WavenumberResampler",
    "resample_spectra",
]
