"""Preprocessing of Raman spectra: resampling, augmentation and cleaning.

Every step is a scikit-learn estimator with a plain function beside it doing
the maths (the ``normalize``/``Normalizer`` pattern). All transformers return
new float64 arrays and never modify their input; the one-to-one steps pass
column names through, so wavenumber columns from
``WavenumberResampler().set_output(transform="pandas")`` survive a Pipeline.
This subpackage never imports torch.
"""

from raman_sk.preprocessing._augment import SpectralAugmenter, augment_spectra
from raman_sk.preprocessing._baseline import BaselineRemover, remove_baseline
from raman_sk.preprocessing._crop import WavenumberCropper, crop_spectra
from raman_sk.preprocessing._normalize import SpectrumNormalizer, normalize_spectra
from raman_sk.preprocessing._resample import WavenumberResampler, resample_spectra
from raman_sk.preprocessing._smoothing import SavitzkyGolay, savgol_smooth
from raman_sk.preprocessing._spikes import SpikeRemover, remove_spikes

__all__ = [
    "BaselineRemover",
    "SavitzkyGolay",
    "SpectralAugmenter",
    "SpectrumNormalizer",
    "SpikeRemover",
    "WavenumberCropper",
    "WavenumberResampler",
    "augment_spectra",
    "crop_spectra",
    "normalize_spectra",
    "remove_baseline",
    "remove_spikes",
    "resample_spectra",
    "savgol_smooth",
]
