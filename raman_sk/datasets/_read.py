"""read_spectra: expand the paths, pick a reader per file, finish axis and excitation.

Each file goes to the first reader in :data:`READERS` whose detector accepts
its content (never its extension). A new format joins with one
``(name, detect, read)`` entry, binary formats ahead of the text readers (see
:mod:`raman_sk.datasets._base` for the two functions' contract). Every record
is then finished the same way: the excitation wavelength and the axis unit are
resolved and axes in nm are converted to Raman shift.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterable
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils import Bunch

from . import (
    _bwtek,
    _jcamp,
    _labspec,
    _opus,
    _sif,
    _spc,
    _spe,
    _table,
    _wdf,
    _witec,
)
from ._base import ReadOptions, SpectrumFile

__all__ = ["READERS", "read_spectra"]

Detector = Callable[[SpectrumFile], bool]
Reader = Callable[[SpectrumFile, ReadOptions], list[dict[str, Any]]]

#: (name, detect, read) per file format, tried in order; the text table reader,
#: which accepts any text, comes last.
READERS: tuple[tuple[str, Detector, Reader], ...] = (
    ("spc", _spc.detect, _spc.read),
    ("wdf", _wdf.detect, _wdf.read),
    ("witec", _witec.detect, _witec.read),
    ("sif", _sif.detect, _sif.read),
    ("opus", _opus.detect, _opus.read),
    ("spe", _spe.detect, _spe.read),
    ("labspec6", _labspec.detect, _labspec.read),
    ("jcamp-dx", _jcamp.detect, _jcamp.read),
    ("bwtek", _bwtek.detect, _bwtek.read),
    ("text table", _table.detect, _table.read),
)

_AXIS_UNITS = ("auto", "cm-1", "nm")
_NM_WORDS = {"nm", "nanometer", "nanometers", "nanometre", "nanometres", "wavelength"}
_CM_WORDS = {
    "1/cm", "cm-1", "cm^-1", "cm⁻¹", "rcm", "raman shift", "wavenumber",
    "wavenumbers", "ramanshift", "cm**-1",
}  # fmt: skip
_NUMBER_IN_TEXT = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def _excitation_from_header(header: dict[str, str]) -> float | None:
    """Find the excitation wavelength (nm) among header keys such as ``Laser (nm)``."""
    for key, value in header.items():
        name = key.lower()
        if "power" in name or not ("laser" in name or "excitation" in name):
            continue
        if not (
            any(word in name for word in ("wave", "nm", "lambda"))
            or name in ("laser", "excitation")
        ):
            continue
        match = _NUMBER_IN_TEXT.search(value)
        if match:
            wavelength = float(match.group().replace(",", "."))
            if 150.0 <= wavelength <= 3000.0:
                return wavelength
    return None


def _unit_from_text(text: str | None) -> str | None:
    """Classify a column name or unit value as "nm", "cm-1" or unknown (None)."""
    if not text:
        return None
    name = text.strip().lstrip("#%").strip().lower()
    if name in _CM_WORDS or re.search(r"cm|shift|wavenumber|raman", name):
        return "cm-1"
    if name in _NM_WORDS or re.search(r"\bnm\b|wavelength|wave length|λ", name):
        return "nm"
    return None


def _unit_from_header(header: dict[str, str]) -> str | None:
    """Read the x-axis unit from header keys such as ``AxisUnit[1]=1/cm``."""
    for key, value in header.items():
        if "unit" not in key.lower():
            continue
        word = value.strip().lower()
        if word in _NM_WORDS:
            return "nm"
        if word in _CM_WORDS:
            return "cm-1"
    return None


def _expand_paths(paths) -> list[Path]:
    if isinstance(paths, (str, os.PathLike)):
        items = [paths]
    elif isinstance(paths, (bytes, bytearray)) or not isinstance(paths, Iterable):
        raise TypeError(
            "paths must be a file or directory path (str or os.PathLike) or a list "
            f"of them, got {type(paths).__name__}"
        )
    else:
        items = list(paths)
    if not items:
        raise ValueError("paths is empty; give at least one file or directory")
    files = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise TypeError(
                f"paths must hold str or os.PathLike items, got {type(item).__name__} "
                f"{item!r}"
            )
        path = Path(item)
        if path.is_dir():
            found = sorted(
                (
                    p
                    for p in path.iterdir()
                    if p.is_file() and not p.name.startswith(".")
                ),
                key=lambda p: p.name,
            )
            if not found:
                raise FileNotFoundError(f"directory {str(path)!r} holds no files")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"spectra file {str(path)!r} does not exist")
    return files


def _check_excitation(excitation_nm) -> float | None:
    if excitation_nm is None:
        return None
    if isinstance(excitation_nm, bool) or not isinstance(excitation_nm, Real):
        raise TypeError(
            f"excitation_nm must be None or a number (laser wavelength in nm), got "
            f"{excitation_nm!r}"
        )
    if not np.isfinite(excitation_nm) or excitation_nm <= 0:
        raise ValueError(
            f"excitation_nm must be a positive laser wavelength in nm (e.g. 785), got "
            f"{excitation_nm!r}"
        )
    return float(excitation_nm)


def _finish(record, path, excitation_nm, axis_unit) -> None:
    """Resolve excitation and axis unit; convert nm axes to Raman shift in place."""
    meta = record["meta"]
    meta["path"] = str(path)
    found = meta.get("excitation_nm")
    if found is None:
        found = _excitation_from_header(meta.get("header", {}))
    if (
        excitation_nm is not None
        and found is not None
        and abs(found - excitation_nm) > 1
    ):
        warnings.warn(
            f"{path}: excitation_nm={excitation_nm:g} differs from the "
            f"{found:g} nm in the file header; using {excitation_nm:g}",
            UserWarning,
            stacklevel=3,
        )
    excitation = excitation_nm if excitation_nm is not None else found
    meta["excitation_nm"] = excitation
    if "axis_kind" in meta:
        _to_raman_shift(record, path, excitation)
        return
    unit = meta.get("axis_unit")
    if axis_unit != "auto":
        unit = axis_unit
    elif unit is None:
        unit = _unit_from_text(meta.get("axis_name")) or _unit_from_header(
            meta.get("header", {})
        )
        if unit is None and excitation_nm is not None:
            # Only a user-given excitation triggers the guess from the values:
            # all values above the laser line and shifts within 0..5000 cm-1.
            shift = 1e7 / excitation_nm - 1e7 / record["x"]
            if np.all(record["x"] > excitation_nm) and np.all(shift <= 5000):
                warnings.warn(
                    f"{path}: the axis ({record['x'].min():g}..{record['x'].max():g})"
                    f" looks like wavelengths in nm above excitation_nm="
                    f"{excitation_nm:g}; converted to Raman shift. Pass "
                    "axis_unit='cm-1' if it already is a Raman shift.",
                    UserWarning,
                    stacklevel=3,
                )
                unit = "nm"
    meta["axis_unit"] = unit or "cm-1"
    meta["converted_from_nm"] = unit == "nm"
    if unit == "nm":
        if excitation is None:
            raise ValueError(
                f"{path}: the axis is in nm (wavelength) and no excitation wavelength "
                "was found in the header; pass excitation_nm=... (laser wavelength in "
                "nm) to convert it to Raman shift"
            )
        record["x"] = 1e7 / excitation - 1e7 / record["x"]


def _to_raman_shift(record, path, excitation) -> None:
    """Convert the axis an instrument file records (``axis_kind``) to Raman shift."""
    meta = record["meta"]
    kind = meta["axis_kind"]
    meta["converted_from_nm"] = False
    if not meta.get("raman", True) or kind == "raman shift":
        return
    if excitation is None:
        raise ValueError(
            f"{path}: the Raman axis is recorded as {kind} and the file holds no "
            "excitation (laser) wavelength; pass excitation_nm=... (command line: "
            "--excitation-nm) to convert it to Raman shift"
        )
    if kind == "wavelength":
        record["x"] = 1e7 / excitation - 1e7 / record["x"]
        meta["converted_from_nm"] = True
    elif kind == "wavenumber":
        record["x"] = 1e7 / excitation - record["x"]
    else:  # pragma: no cover - the readers only record the three kinds above
        raise AssertionError(f"unknown axis kind {kind!r}")


def _warn_not_raman(path: Path, records) -> None:
    """Warn once per file about spectra that are not Raman (kept on their own axis)."""
    kinds = sorted(
        {r["meta"]["axis_kind"] for r in records if not r["meta"].get("raman", True)}
    )
    if kinds:
        count = sum(not r["meta"].get("raman", True) for r in records)
        warnings.warn(
            f"{path}: holds content that is not Raman ({count} of {len(records)} "
            "spectra, marked raman=False in their metadata); their axis "
            f"({', '.join(kinds)}) is kept as recorded and is not a Raman shift",
            UserWarning,
            stacklevel=3,
        )


def _read_file(path: Path, options: ReadOptions, encoding: str | None):
    """Read one file with the first reader in READERS whose detector accepts it."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"spectra file {str(path)!r} does not exist") from exc
    file = SpectrumFile(path, raw, encoding)
    for _, detect, read in READERS:
        if detect(file):
            return read(file, options)
    raise AssertionError("the text table reader accepts every file")  # pragma: no cover


def read_spectra(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    excitation_nm: float | None = None,
    bwtek_column: str = "Dark Subtracted #1",
    encoding: str | None = None,
    axis_unit: str = "auto",
) -> Bunch:
    r"""Read Raman spectra from instrument files and the text files they export.

    The format of each file is detected from its content, not its extension.
    Text exports:

    * **two-column text**: wavenumber and intensity, separated by tabs,
      semicolons, commas or whitespace; header and comment lines (``#``, ``%``
      or any non-numeric lines before the data) are skipped and their
      ``key=value`` / ``key;value`` / ``key: value`` pairs kept; decimal commas
      are read when the delimiter is not a comma. Files with three or more
      numeric columns whose first column is the axis give one spectrum per
      further column.
    * **Renishaw WiRE exports** with the header ``#X #Y #Wave #Intensity``:
      one spectrum per consecutive (X, Y) position, in file order.
    * **BWTek BWSpec/BWRam** files (semicolon CSV, decimal commas, a long
      ``key;value`` header, then a ``Pixel;...;Raman Shift;...`` table): pixels
      without a Raman shift are dropped; ``bwtek_column`` picks the intensity.
    * **wide tables**: wavenumbers as column headers, one spectrum per row; a
      leading non-numeric column may hold sample names.

    Instrument files, read through maintained libraries that the ``formats``
    extra installs (``pip install "raman-sk[formats]"``; without it such a
    file raises an ImportError that names the extra):

    * **Thermo Galactic SPC** (spc-io): every subfile.
    * **Renishaw WiRE WDF** (renishaw-wdf): single spectra, maps and depth
      series, one spectrum per position.
    * **WITec WIP/WID** (witio): every spectral graph, one spectrum per scan
      position.
    * **Andor SIF** (sif_parser): every frame and track.
    * **Bruker OPUS** (brukeropus): the Raman data block.
    * **JCAMP-DX** (jcamp): every block, plain and compressed (ASDF) forms.
    * **Princeton Instruments SPE 3.0** (no extra needed).

    A HORIBA LabSpec 6 (``.l6s``) file is recognised and refused with a
    ValueError asking for its text export. Positions of maps and series go
    into ``sources`` and the metadata. Non-Raman content (an infrared JCAMP-DX
    or OPUS file, a lamp spectrum in a WITec file) keeps its own axis, is
    marked ``raman=False`` and raises one UserWarning per file.

    Bytes are decoded as UTF-8 (a byte-order mark is ignored), else Latin-1
    (UTF-16 with a byte-order mark is recognised); CR, LF and CRLF line ends
    may be mixed. Axes are returned as recorded, in file order (descending axes
    stay descending). An axis in nm is converted to Raman shift
    ``1e7 / excitation_nm - 1e7 / wavelength`` (cm-1).

    Parameters
    ----------
    paths : str, os.PathLike or list of them
        Files to read. A directory stands for its (non-hidden) files, sorted by
        name.
    excitation_nm : float, default=None
        Laser wavelength in nm, used to convert axes recorded in nm. If None,
        it is read from the file (e.g. ``laser_wavelength``, ``Laser (nm)``,
        or an instrument file's own laser field). When given, an axis without
        unit information whose
        values all lie above it (and give shifts up to 5000 cm-1) is taken to be
        in nm, with a warning; ``axis_unit`` overrides this guess.
    bwtek_column : str, default="Dark Subtracted #1"
        Intensity column of BWTek files (case-insensitive), e.g.
        ``"Raw data #1"``.
    encoding : str, default=None
        Text encoding of the files; None detects UTF-8/Latin-1 as above.
    axis_unit : {"auto", "cm-1", "nm"}, default="auto"
        Unit of the recorded axes. "auto" reads it from the column name
        (e.g. ``Wavelength (nm)``, ``Raman shift``) or the header (e.g.
        ``AxisUnit[1]=1/cm``) and otherwise assumes cm-1 (see
        ``excitation_nm``). Text files only: instrument files record their
        axis kind.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        spectra : list of tuple of (ndarray, ndarray)
            ``(wavenumbers, intensities)`` float64 pairs, each spectrum on its
            own axis in cm-1, in file order.
        sources : list of str
            The file name of each spectrum, followed for multi-spectrum files
            by ``#<block>`` and the position or sample name, e.g.
            ``"map.txt#0 X=49.37,Y=-3368.66"``.
        metadata : list of dict
            Per spectrum: ``format`` ("two-column", "multi-column",
            "renishaw-wire", "bwtek", "wide-table", "spc", "wdf", "witec",
            "sif", "opus", "jcamp", "spe"), ``path``, ``header`` (key/value
            pairs found), ``excitation_nm`` (float or None), ``axis_unit``
            (unit as recorded) and ``converted_from_nm``, plus
            ``block``/``position``/``label`` for multi-spectrum files and
            ``intensity_column``/``n_dropped_pixels`` for BWTek files.
            Instrument files add ``axis_kind`` (the recorded axis: "raman
            shift", "wavelength", absolute "wavenumber" or another kind),
            ``raman`` (False for non-Raman content, kept on its own axis) and,
            where the file has them, ``instrument``, ``exposure_s`` and
            ``accumulations``.

    Raises
    ------
    FileNotFoundError
        If a path does not exist or a directory holds no files.
    ImportError
        If an instrument file needs a reading library that is not installed.
    ValueError
        If a file is empty, binary of no known format, truncated or corrupt,
        has non-numeric or missing (NaN) values inside its data block, rows of
        unequal length, an unknown ``bwtek_column``, or a Raman axis in nm
        without a known excitation wavelength. The message names the file
        (and the line, for text files).
    TypeError
        If ``paths`` or ``excitation_nm`` has the wrong type.

    See Also
    --------
    raman_sk.preprocessing.WavenumberResampler : Put the spectra on one grid.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from raman_sk.datasets import read_spectra
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     file = Path(tmp) / "sample.txt"
    ...     text = "# Raman shift\tcounts\n402\t1.5\n401\t2.5\n400\t1.0\n"
    ...     _ = file.write_text(text)
    ...     s = read_spectra(file)
    >>> s.sources
    ['sample.txt']
    >>> wavenumbers, intensities = s.spectra[0]
    >>> wavenumbers, intensities
    (array([402., 401., 400.]), array([1.5, 2.5, 1. ]))
    >>> s.metadata[0]["format"]
    'two-column'
    """
    files = _expand_paths(paths)
    excitation_nm = _check_excitation(excitation_nm)
    if not isinstance(bwtek_column, str):
        raise TypeError(f"bwtek_column must be a str, got {bwtek_column!r}")
    if encoding is not None and not isinstance(encoding, str):
        raise TypeError(f"encoding must be None or a str, got {encoding!r}")
    if axis_unit not in _AXIS_UNITS:
        raise ValueError(f"axis_unit must be one of {_AXIS_UNITS}, got {axis_unit!r}")
    options = ReadOptions(bwtek_column=bwtek_column)
    spectra, sources, metadata = [], [], []
    for path in files:
        records = _read_file(path, options, encoding)
        if not records:
            raise ValueError(f"{path}: the file holds no spectra")
        for record in records:
            _finish(record, path, excitation_nm, axis_unit)
        _warn_not_raman(path, records)
        for record in records:
            spectra.append((record["x"], record["y"]))
            sources.append(record["source"])
            metadata.append(record["meta"])
    return Bunch(spectra=spectra, sources=sources, metadata=metadata)
