"""What the instrument-file readers share: the optional libraries and their errors.

Each vendor format has its own module (``_spc``, ``_wdf``, ...) with a
content-based ``detect`` and a ``read`` that calls a maintained reading
library. The libraries are imported inside ``read`` (:func:`import_library`),
so the default install stays lean; they come with the ``formats`` extra.
:func:`call` runs one library call quietly and turns whatever it raises on a
corrupt file into a :class:`ValueError` that names the file.

Records of these readers carry ``axis_kind`` (what the file's axis records:
``"raman shift"``, ``"wavelength"`` in nm or absolute ``"wavenumber"`` in
cm-1) and ``raman`` (whether the content is a Raman spectrum);
:func:`raman_sk.datasets.read_spectra` converts Raman wavelength and absolute
wavenumber axes to Raman shift and warns about non-Raman content.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import math
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "EXTRA", "acquisition", "call", "import_library", "laser_nm", "text_header",
]  # fmt: skip

#: How to install every instrument-file reader at once.
EXTRA = 'pip install "raman-sk[formats]"'


def import_library(module: str, package: str, what: str, path: Path):
    """Import a reading library, or say which extra installs it.

    Parameters
    ----------
    module : str
        Import name, e.g. ``"spc_io"``.
    package : str
        Distribution name, e.g. ``"spc-io"``.
    what : str
        The format, for the message (e.g. ``"Thermo Galactic SPC"``).
    path : pathlib.Path
        The file being read, for the message.

    Returns
    -------
    module : module
        The imported library.

    Raises
    ------
    ImportError
        If the library is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{path}: reading {what} files needs the optional package {package!r}; "
            f"install the instrument-file readers with {EXTRA}"
        ) from exc


@contextlib.contextmanager
def _quiet(loggers: tuple[str, ...]) -> Iterator[None]:
    """Silence a library's prints, log records and deprecation warnings."""
    saved = []
    for name in loggers:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.CRITICAL + 1)
    try:
        with (
            contextlib.redirect_stdout(io.StringIO()),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)


def call(
    path: Path,
    what: str,
    function: Callable[..., Any],
    *args,
    loggers: tuple[str, ...] = (),
    **kwargs,
) -> Any:
    """Run one library call; a failure becomes a ValueError naming the file.

    Parameters
    ----------
    path : pathlib.Path
        The file being read, for the message.
    what : str
        The format, for the message.
    function : callable
        The library call; ``*args`` and ``**kwargs`` are passed on.
    loggers : tuple of str, default=()
        Names of the library's loggers to silence during the call (library
        code never prints; its notes on odd but readable files are noise).

    Returns
    -------
    result : object
        What ``function`` returned.

    Raises
    ------
    ValueError
        If the call raised (a corrupt, truncated or unsupported file).
    """
    try:
        with _quiet(loggers):
            return function(*args, **kwargs)
    except ImportError:
        raise
    except Exception as exc:  # a reader library may raise anything on bad bytes
        raise ValueError(
            f"{path}: is not a readable {what} file; it may be truncated or "
            f"corrupt ({type(exc).__name__}: {exc})"
        ) from exc


def laser_nm(value) -> float | None:
    """Return a plausible laser wavelength in nm, else None (missing or garbage)."""
    try:
        wavelength = float(value)
    except (TypeError, ValueError):
        return None
    if math.isfinite(wavelength) and 150.0 <= wavelength <= 3000.0:
        return wavelength
    return None


def _text(value) -> str:
    """Decode bytes (UTF-8, else Latin-1) and undo surrogate escapes of stray bytes."""
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape")
    elif not isinstance(value, bytes):
        return str(value).strip()
    try:
        return value.decode("utf-8").strip()
    except UnicodeDecodeError:
        return value.decode("latin-1").strip()


def text_header(items) -> dict[str, str]:
    """Keep the short ``key: value`` pairs of a file's metadata as clean strings."""
    header = {}
    for key, value in items:
        text = _text(value).replace("\x00", "")
        if len(text) <= 500:
            header[_text(key)] = text
    return header


_SECONDS = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "msec": 1e-3, "min": 60.0}
_NUMBER_UNIT = re.compile(r"([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*([a-zA-Z]*)")


def acquisition(header: dict[str, str]) -> dict[str, float | int]:
    """Find exposure time (s) and accumulations among header entries, where stated.

    An exposure counts only with its unit in the key (``ACQ. TIME (S)``) or
    after the number (``Time: 10s``): a bare number is ambiguous.
    """
    found: dict[str, float | int] = {}
    for key, value in header.items():
        name = key.lower()
        match = _NUMBER_UNIT.search(value.split(":")[-1])
        if match is None:
            continue
        number, unit = float(match.group(1)), match.group(2).lower()
        if "accumulation" in name and "accumulations" not in found:
            if number.is_integer() and number >= 1:
                found["accumulations"] = int(number)
        elif ("exposure" in name or "acq. time" in name or "integration" in name) and (
            "exposure_s" not in found
        ):
            key_unit = re.search(r"[(\[](m?s)[)\]]", name)
            factor = _SECONDS.get(unit) or (
                _SECONDS.get(key_unit.group(1)) if key_unit else None
            )
            if factor is not None and number > 0:
                found["exposure_s"] = number * factor
    return found
