"""Shared helpers of raman_sk: validation, atomic file writing, versions.

torch helpers live in :mod:`raman_sk.utils._torch`, imported only by modules
that need torch anyway, so that this package stays torch-free.
"""

from raman_sk.utils._validation import (
    MAX_ABS_INPUT,
    check_label_types,
    check_magnitude,
    check_spectra,
    check_wavenumbers,
    default_grid,
    format_wavenumber,
    wavenumbers_from_feature_names,
)

__all__ = [
    "MAX_ABS_INPUT",
    "check_label_types",
    "check_magnitude",
    "check_spectra",
    "check_wavenumbers",
    "default_grid",
    "format_wavenumber",
    "wavenumbers_from_feature_names",
]
