"""Shared validators and helpers of raman_sk (wavenumber axes, default grid)."""

from raman_sk.utils._validation import (
    check_wavenumbers,
    default_grid,
    format_wavenumber,
    wavenumbers_from_feature_names,
)

__all__ = [
    "check_wavenumbers",
    "default_grid",
    "format_wavenumber",
    "wavenumbers_from_feature_names",
]
