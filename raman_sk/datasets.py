"""Datasets: the bundled ramanbiolib database and readers for users' spectra files.

Two jobs live here:

* :func:`load_ramanbiolib` and :func:`load_ramanbiolib_peaks` read the CSV files of
  the ramanbiolib reference database (ODbL data shipped in the GPLv3 ``ramanbiolib``
  wheel). The files are read as data through :mod:`importlib.resources`; none of
  the package's code is imported or copied. Users without the wheel (it declares
  ``Requires-Python <3.12``) pass ``path=``, a directory holding the same CSV files.
* :func:`read_spectra` reads the text files that Raman instruments export
  (two-column text, Renishaw WiRE map exports, BWTek BWSpec/BWRam CSV files and
  wide tables) into a list of ``(wavenumbers, intensities)`` pairs, each on its own
  axis, ready for :class:`raman_sk.preprocessing.WavenumberResampler`.
"""

from __future__ import annotations

import codecs
import importlib.metadata
import importlib.resources
import json
import math
import os
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from numbers import Real
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

__all__ = ["load_ramanbiolib", "load_ramanbiolib_peaks", "read_spectra"]

# --------------------------------------------------------------------------------
# The ramanbiolib database
# --------------------------------------------------------------------------------

_DB_PACKAGE = "ramanbiolib"
_METADATA_FILE = "metadata_db.csv"
_SPECTRA_FILE = "raman_spectra_db.csv"
_PEAKS_FILE = "raman_peaks_db.csv"
_REQUIRED_COLUMNS = {
    _METADATA_FILE: ("id", "component", "type"),
    _SPECTRA_FILE: ("id", "wavenumbers", "intensity"),
    _PEAKS_FILE: ("id", "component", "peaks", "intensity"),
}
_DB_URL = "https://github.com/mteranm/ramanbiolib"
_DB_CITATION = (
    "M Terán, JJ Ruiz, P Loza-Alvarez, D Masip, D Merino, Open Raman spectral "
    "library for biomolecule identification, Chemometrics and Intelligent "
    "Laboratory Systems, Volume 264, 2025, 105476, ISSN 0169-7439, "
    "https://doi.org/10.1016/j.chemolab.2025.105476."
)


def _ramanbiolib_db_root():
    """Return the directory (a Traversable) of the CSV files in the ramanbiolib wheel.

    Kept as a separate function so that tests can simulate a missing package.
    """
    return importlib.resources.files(_DB_PACKAGE) / "db"


def _db_root(path, needed: Sequence[str]):
    """Resolve the directory holding the database CSV files.

    Returns the directory (a Path or a Traversable) and a short description of
    where it came from, used in error messages and in ``DESCR``.
    """
    if path is None:
        try:
            root = _ramanbiolib_db_root()
        except ImportError as exc:  # ModuleNotFoundError included
            raise ModuleNotFoundError(
                "The ramanbiolib package is not installed (its wheel requires "
                "Python < 3.12), so the database cannot be read from it. Download "
                f"{', '.join(needed)} from {_DB_URL} (folder ramanbiolib/db) and "
                "pass the directory holding them as path=..."
            ) from exc
        where = f"the installed {_DB_PACKAGE} package"
    else:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                "path must be None or a directory path (str or os.PathLike), got "
                f"{type(path).__name__}"
            )
        root = Path(path)
        if not root.is_dir():
            raise FileNotFoundError(
                f"path={str(path)!r} is not an existing directory; give the "
                f"directory holding {', '.join(needed)}"
            )
        where = f"path={str(path)!r}"
    missing = [name for name in needed if not (root / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{where} lacks the database file(s) {missing}; expected "
            f"{', '.join(needed)} (from {_DB_URL}, folder ramanbiolib/db)"
        )
    return root, where


def _read_db_csv(root, name: str, where: str) -> pd.DataFrame:
    """Read one database CSV file and check that it has the columns we use."""
    try:
        with (root / name).open("rb") as handle:
            frame = pd.read_csv(handle)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{name} ({where}) is not a readable CSV file: {exc}") from exc
    required = _REQUIRED_COLUMNS[name]
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} ({where}) lacks the column(s) {missing}; it needs "
            f"{list(required)} and has {[str(c) for c in frame.columns]}"
        )
    if frame["id"].isna().any() or frame["id"].duplicated().any():
        bad = frame["id"][frame["id"].isna() | frame["id"].duplicated()].tolist()
        raise ValueError(
            f"{name} ({where}): the id column must be unique and complete; "
            f"missing or repeated ids: {bad[:10]}"
        )
    return frame


def _parse_list(text, name: str, row_id, column: str) -> np.ndarray:
    """Parse a string-encoded list such as ``"[450, 451]"`` (JSON, never eval)."""
    try:
        values = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name}: the {column!r} cell of id={row_id} is not a list of numbers "
            f"such as '[450, 451, 452]': {str(text)[:40]!r}"
        ) from exc
    if not isinstance(values, list):
        raise ValueError(
            f"{name}: the {column!r} cell of id={row_id} is not a list of numbers "
            f"such as '[450, 451, 452]': {str(text)[:40]!r}"
        )
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name}: the {column!r} cell of id={row_id} holds non-numeric values"
        ) from exc
    if array.ndim != 1 or not np.all(np.isfinite(array)):
        raise ValueError(
            f"{name}: the {column!r} cell of id={row_id} must be a flat list of "
            "finite numbers (found a nested list, NaN or infinity)"
        )
    return array


def _class_labels(types: pd.Series, level: int, where: str) -> list[str]:
    """Truncate the slash-separated ``type`` tree to its first ``level`` parts."""
    labels = []
    for row_id, value in types.items():
        parts = [] if pd.isna(value) else [p.strip() for p in str(value).split("/")]
        parts = [p for p in parts if p]
        if not parts:
            raise ValueError(
                f"{_METADATA_FILE} ({where}): the spectrum with id={row_id} has an "
                f"empty type ({value!r}); every spectrum needs a class"
            )
        labels.append("/".join(parts[:level]))
    return labels


def _check_level(level) -> int:
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)):
        raise TypeError(f"level must be the int 1 or 2, got {level!r}")
    if level not in (1, 2):
        raise ValueError(
            f"level must be 1 (top-level class, e.g. 'Lipids') or 2 (two levels, "
            f"e.g. 'Lipids/FattyAcids'), got {level!r}"
        )
    return int(level)


def _check_min_class_size(min_class_size) -> int:
    if isinstance(min_class_size, bool) or not isinstance(
        min_class_size, (int, np.integer)
    ):
        raise TypeError(
            f"min_class_size must be an int >= 1, got {type(min_class_size).__name__}"
            f" {min_class_size!r}"
        )
    if min_class_size < 1:
        raise ValueError(f"min_class_size must be >= 1, got {min_class_size}")
    return int(min_class_size)


def _check_classes(classes) -> list[str] | None:
    if classes is None:
        return None
    if isinstance(classes, str) or not isinstance(classes, Iterable):
        raise TypeError(
            "classes must be None or a list of class names, e.g. "
            f"['Lipids', 'Proteins'], got {classes!r}"
        )
    names = list(dict.fromkeys(classes))
    bad = [name for name in names if not isinstance(name, str)]
    if bad:
        raise TypeError(f"classes must hold class names (str), got {bad!r}")
    return names


def _citation() -> str:
    """Return the reference to cite, from the package metadata when installed."""
    try:
        meta = importlib.metadata.metadata(_DB_PACKAGE)
        text = meta.get("Description") or meta.get_payload() or ""
    except (importlib.metadata.PackageNotFoundError, AttributeError, TypeError):
        return _DB_CITATION
    match = re.search(r"#+ How to cite.*?\n>\s*(.+?)\n", str(text), re.S)
    if match is None:
        return _DB_CITATION
    return re.sub(r"\*", "", match.group(1)).strip()


def _describe_db(
    *, where: str, level: int, counts: Counter, n_groups: int, n_points: int, axis
) -> str:
    """Build the DESCR text of the loaded database."""
    try:
        version = importlib.metadata.version(_DB_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        version = "not installed"
    class_lines = "\n".join(
        f"    {name:<32s} {count:4d}" for name, count in sorted(counts.items())
    )
    return f"""\
.. _ramanbiolib_dataset:

ramanbiolib Raman spectral database of biomolecules
---------------------------------------------------

**Data Set Characteristics:**

:Number of spectra: {sum(counts.values())}
:Number of molecules (groups): {n_groups}
:Number of points: {n_points} ({axis[0]:g} to {axis[-1]:g} cm-1, step 1)
:Classes (level={level}): {len(counts)}

{class_lines}

:Read from: {where} (ramanbiolib version: {version})
:Source: {_DB_URL}

The ramanbiolib database holds Raman spectra of pure biological molecules
(lipids, proteins, saccharides, amino acids, metabolites, nucleic acids, ...),
digitised from figures of published articles. Its authors standardised every
spectrum: smoothing with a Savitzky-Golay filter, baseline removal with the
airPLS algorithm, linear interpolation onto 450-1800 cm-1 with a step of
1 cm-1 and min-max normalisation to [0, 1]. The class of a spectrum is its
``type`` truncated to the first ``level`` parts of the slash-separated tree
(level=1: ``Lipids``; level=2: ``Lipids/FattyAcids``). Several spectra may show
the same molecule (``component``): use ``groups`` for grouped cross-validation
so that one molecule never sits on both sides of a split.

**Licence and attribution.** The database files (metadata_db.csv,
raman_spectra_db.csv, raman_peaks_db.csv) are licensed by the ramanbiolib
authors under the Open Database License (ODbL) v1.0; the ramanbiolib code is
GPLv3.
raman_sk reads the data files and neither copies nor imports that code. Any
adapted database you share must stay under the ODbL and attribute the source.

.. topic:: References

   - {_citation()}
"""


def load_ramanbiolib(
    *,
    level: int = 1,
    min_class_size: int = 8,
    classes: Sequence[str] | None = None,
    path: str | os.PathLike | None = None,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load the ramanbiolib Raman spectra of biomolecules as a classification set.

    The CSV files shipped in the ``ramanbiolib`` wheel (``metadata_db.csv`` and
    ``raman_spectra_db.csv``) are read with :mod:`importlib.resources`, their
    string-encoded lists are parsed as JSON (never evaluated) and the metadata
    are joined on ``id``. With the defaults the result holds 194 spectra of 136
    molecules in 6 classes: Proteins 76, Lipids 57, Saccharides 30,
    AminoAcids 13, PrimaryMetabolites 10, NucleicAcids 8.

    Parameters
    ----------
    level : {1, 2}, default=1
        Depth of the class labels in the ``type`` tree: 1 gives the top-level
        class (``"Lipids"``), 2 the first two levels joined by ``"/"``
        (``"Lipids/FattyAcids"``; types with a single level stay as they are).
    min_class_size : int, default=8
        Classes with fewer spectra are dropped. Not applied when ``classes``
        is given.
    classes : list of str, default=None
        Keep exactly these classes (names at the chosen ``level``), whatever
        their size.
    path : str or os.PathLike, default=None
        A directory holding ``metadata_db.csv`` and ``raman_spectra_db.csv``
        (e.g. the ``ramanbiolib/db`` folder of the ramanbiolib repository), for
        Pythons where the ramanbiolib wheel cannot be installed. ``None`` reads
        the files of the installed package.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        data : ndarray of shape (n_spectra, 1351), dtype float64
            The spectra (min-max normalised by the database authors).
        target : ndarray of shape (n_spectra,), dtype object
            Class name (str) of each spectrum.
        target_names : ndarray of shape (n_classes,), dtype object
            Sorted unique class names.
        wavenumbers : ndarray of shape (1351,), dtype float64
            The shared axis, 450 to 1800 cm-1 in steps of 1.
        groups : ndarray of shape (n_spectra,), dtype object
            Molecule (``component``) of each spectrum, for grouped splits.
        frame : pandas.DataFrame of shape (n_spectra, n_metadata_columns + 1)
            The metadata rows (``id``, ``component``, ``type``, ...), aligned
            with ``data``, plus the class in a ``target`` column.
        DESCR : str
            Description of the database, its preprocessing and its licence
            (ODbL) with the reference to cite.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    ModuleNotFoundError
        If ``path`` is None and the ramanbiolib package is not installed.
    FileNotFoundError
        If ``path`` is not a directory or lacks the CSV files.
    ValueError
        If a CSV file lacks a column, holds malformed lists or spectra on
        different axes, if ``classes`` names an unknown class, or if fewer than
        two classes are left.

    See Also
    --------
    load_ramanbiolib_peaks : The peak table of the same database.
    read_spectra : Read your own spectra files.

    Examples
    --------
    >>> from raman_sk.datasets import load_ramanbiolib
    >>> bunch = load_ramanbiolib()
    >>> bunch.data.shape, bunch.wavenumbers[[0, -1]]
    ((194, 1351), array([ 450., 1800.]))
    >>> bunch.target_names.tolist()
    ['AminoAcids', 'Lipids', 'NucleicAcids', 'PrimaryMetabolites', 'Proteins', 'Saccharides']
    >>> len(set(bunch.groups))
    136
    >>> X, y = load_ramanbiolib(classes=["Lipids", "Saccharides"], return_X_y=True)
    >>> X.shape
    (87, 1351)
    """  # noqa: E501
    level = _check_level(level)
    min_class_size = _check_min_class_size(min_class_size)
    classes = _check_classes(classes)
    root, where = _db_root(path, (_METADATA_FILE, _SPECTRA_FILE))
    metadata = _read_db_csv(root, _METADATA_FILE, where)
    spectra = _read_db_csv(root, _SPECTRA_FILE, where)

    spectra = spectra[["id", "wavenumbers", "intensity"]].rename(
        columns={"wavenumbers": "_wavenumbers", "intensity": "_intensity"}
    )
    orphans = sorted(set(spectra["id"]) - set(metadata["id"]))
    if orphans:
        warnings.warn(
            f"{_SPECTRA_FILE} ({where}): {len(orphans)} spectra have no metadata "
            f"row in {_METADATA_FILE} and are left out (ids {orphans[:10]})",
            UserWarning,
            stacklevel=2,
        )
    merged = spectra.merge(metadata, on="id", how="inner", validate="one_to_one")
    merged = merged.set_index(merged["id"].to_numpy())
    labels = _class_labels(merged["type"], level, where)
    counts = Counter(labels)

    if classes is not None:
        unknown = [name for name in classes if name not in counts]
        if unknown:
            raise ValueError(
                f"classes contains unknown class(es) {unknown} at level={level}; "
                f"available: {sorted(counts)}"
            )
        keep = set(classes)
        if len(keep) < 2:
            raise ValueError(f"classes must name at least two classes, got {classes!r}")
    else:
        keep = {name for name, count in counts.items() if count >= min_class_size}
        if len(keep) < 2:
            raise ValueError(
                f"min_class_size={min_class_size} leaves {len(keep)} class(es) at "
                f"level={level} ({sorted(keep)}); at least two are needed. Class "
                f"sizes: {dict(counts.most_common())}"
            )
    mask = np.array([label in keep for label in labels])
    merged = merged[mask]
    target = np.asarray([lab for lab, m in zip(labels, mask, strict=True) if m], object)

    axis = None
    axis_id = None
    rows = []
    for row_id, axis_text, intensity_text in zip(
        merged["id"], merged["_wavenumbers"], merged["_intensity"], strict=True
    ):
        row_axis = _parse_list(axis_text, _SPECTRA_FILE, row_id, "wavenumbers")
        if axis is None:
            axis, axis_id = row_axis, row_id
        elif not np.array_equal(row_axis, axis):
            raise ValueError(
                f"{_SPECTRA_FILE} ({where}): the spectrum with id={row_id} has a "
                f"different wavenumber axis ({row_axis.size} points, "
                f"{row_axis.min():g}..{row_axis.max():g}) than id={axis_id} "
                f"({axis.size} points, {axis.min():g}..{axis.max():g}); all spectra "
                "must share one axis"
            )
        values = _parse_list(intensity_text, _SPECTRA_FILE, row_id, "intensity")
        if values.size != axis.size:
            raise ValueError(
                f"{_SPECTRA_FILE} ({where}): the spectrum with id={row_id} has "
                f"{values.size} intensities for {axis.size} wavenumbers"
            )
        rows.append(values)
    data = np.vstack(rows).astype(np.float64, copy=False)

    if return_X_y:
        return data, target

    frame = merged.drop(columns=["_wavenumbers", "_intensity"]).reset_index(drop=True)
    frame["target"] = target
    groups = np.asarray([str(c).strip() for c in frame["component"]], dtype=object)
    kept_counts = Counter(target.tolist())
    return Bunch(
        data=data,
        target=target,
        target_names=np.asarray(sorted(kept_counts), dtype=object),
        wavenumbers=axis.copy(),
        groups=groups,
        frame=frame,
        DESCR=_describe_db(
            where=where,
            level=level,
            counts=kept_counts,
            n_groups=len(set(groups)),
            n_points=axis.size,
            axis=axis,
        ),
    )


def load_ramanbiolib_peaks(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Load the peak table of the ramanbiolib database in long format.

    ``raman_peaks_db.csv`` lists, for each spectrum, the positions of its most
    relevant bands and their min-max normalised intensities. The class tree
    (``type``) comes from ``metadata_db.csv``, joined on ``id``.

    Parameters
    ----------
    path : str or os.PathLike, default=None
        A directory holding ``raman_peaks_db.csv`` and ``metadata_db.csv``;
        ``None`` reads the files of the installed ramanbiolib package.

    Returns
    -------
    peaks : pandas.DataFrame
        One row per (spectrum, peak), in file order, with the columns ``id``
        (int), ``component`` (str), ``type`` (str, missing when the spectrum
        has no metadata row), ``peak`` (float, position in cm-1) and
        ``intensity`` (float, min-max normalised; NaN where the file's lists
        disagree, see Warns).

    Raises
    ------
    ModuleNotFoundError
        If ``path`` is None and the ramanbiolib package is not installed.
    FileNotFoundError
        If ``path`` is not a directory or lacks the CSV files.
    ValueError
        If a file lacks a column or holds malformed lists.

    Warns
    -----
    UserWarning
        If a row lists more or fewer intensities than peaks (id=182 of the
        released database does): its intensities are set to NaN.

    See Also
    --------
    load_ramanbiolib : The spectra of the same database.

    Examples
    --------
    >>> import warnings
    >>> from raman_sk.datasets import load_ramanbiolib_peaks
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     peaks = load_ramanbiolib_peaks()
    >>> len(caught)  # the released file's row id=182: 17 peaks, 15 intensities
    1
    >>> peaks.columns.tolist()
    ['id', 'component', 'type', 'peak', 'intensity']
    >>> row = peaks.iloc[0]
    >>> row["component"], float(row["peak"]), round(float(row["intensity"]), 4)
    ('12-methyltetradecanoic acid', 669.0, 0.0663)
    >>> int(peaks["intensity"].isna().sum())
    17
    """
    root, where = _db_root(path, (_PEAKS_FILE, _METADATA_FILE))
    table = _read_db_csv(root, _PEAKS_FILE, where)
    metadata = _read_db_csv(root, _METADATA_FILE, where)
    types = dict(zip(metadata["id"], metadata["type"], strict=True))
    ids, components, positions, heights = [], [], [], []
    for row_id, component, peaks_text, intensity_text in zip(
        table["id"],
        table["component"],
        table["peaks"],
        table["intensity"],
        strict=True,
    ):
        peak = _parse_list(peaks_text, _PEAKS_FILE, row_id, "peaks")
        height = _parse_list(intensity_text, _PEAKS_FILE, row_id, "intensity")
        if peak.size != height.size:
            # The released database has one such row (id=182: 17 peaks, 15
            # intensities); which intensity belongs to which peak is unknown, so
            # the positions are kept and the intensities of that row left missing.
            warnings.warn(
                f"{_PEAKS_FILE} ({where}): the row with id={row_id} lists "
                f"{peak.size} peaks but {height.size} intensities; its peak "
                "intensities are set to NaN",
                UserWarning,
                stacklevel=2,
            )
            height = np.full(peak.size, np.nan)
        ids.extend([row_id] * peak.size)
        components.extend([str(component).strip()] * peak.size)
        positions.append(peak)
        heights.append(height)
    return pd.DataFrame(
        {
            "id": np.asarray(ids, dtype=np.int64),
            "component": pd.Series(components, dtype="str"),
            "type": pd.Series([types.get(i) for i in ids], dtype="str"),
            "peak": np.concatenate(positions) if positions else np.empty(0),
            "intensity": np.concatenate(heights) if heights else np.empty(0),
        }
    )


# --------------------------------------------------------------------------------
# Readers for users' spectra files
# --------------------------------------------------------------------------------

_COMMENT_PREFIXES = ("#", "%")
_AXIS_UNITS = ("auto", "cm-1", "nm")
_NM_WORDS = {"nm", "nanometer", "nanometers", "nanometre", "nanometres", "wavelength"}
_CM_WORDS = {
    "1/cm", "cm-1", "cm^-1", "cm⁻¹", "rcm", "raman shift", "wavenumber",
    "wavenumbers", "ramanshift", "cm**-1",
}  # fmt: skip
_NUMBER_IN_TEXT = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def _is_number(cell: str, decimal_comma: bool) -> bool:
    try:
        float(cell.replace(",", ".") if decimal_comma else cell)
    except ValueError:
        return False
    return True


def _split(line: str, delimiter: str | None) -> list[str]:
    """Split a line into stripped cells; trailing empty cells are dropped."""
    if delimiter is None:
        cells = line.split()
    else:
        cells = [cell.strip().strip('"').strip() for cell in line.split(delimiter)]
    while cells and cells[-1] == "":
        cells.pop()
    return cells


def _decode(raw: bytes, path: Path, encoding: str | None) -> str:
    """Decode file bytes: utf-16 by BOM, else utf-8 (BOM stripped), else latin-1."""
    if encoding is not None:
        try:
            text = raw.decode(encoding)
        except LookupError as exc:
            raise ValueError(
                f"encoding={encoding!r} is not a known text encoding"
            ) from exc
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{path}: cannot be decoded with encoding={encoding!r}: {exc}"
            ) from exc
        return text.lstrip("\ufeff")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16").lstrip("\ufeff")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{path}: starts with a UTF-16 byte-order mark but is not valid "
                f"UTF-16 (truncated?): {exc}"
            ) from exc
    if b"\x00" in raw[:4096]:
        raise ValueError(
            f"{path}: looks like a binary file; read_spectra reads text exports "
            "(two-column text, Renishaw WiRE, BWTek BWSpec, wide tables)"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _key_values(lines: Iterable[str]) -> dict[str, str]:
    """Collect `key=value`, `key;value`, `key: value` or `key<TAB>value` pairs."""
    header: dict[str, str] = {}
    for line in lines:
        text = line.strip().lstrip("#%").strip()
        for separator in ("=", ";", ":", "\t"):
            if separator in text:
                key, value = text.split(separator, 1)
                key = key.strip()
                value = value.strip().rstrip(";").strip()
                if key and key not in header:
                    header[key] = value
                break
    return header


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


def _raise_cell(path: Path, lineno: int, column: int, cell: str, what: str) -> NoReturn:
    text = cell.lower().lstrip("+-")
    if cell == "":
        problem = "a missing (empty) value"
    elif text in ("nan", "na", "n/a", "null", "none"):
        problem = "a missing value (NaN)"
    elif text in ("inf", "infinity"):
        problem = f"an infinite value ({cell!r})"
    else:
        problem = f"the non-numeric value {cell[:30]!r}"
    raise ValueError(
        f"{path}: line {lineno}, column {column}: {problem} in the {what}; every "
        "row of the data block must hold finite numbers"
    )


def _to_floats(
    cells: Sequence[str],
    path: Path,
    lineno: int,
    decimal_comma: bool,
    what: str,
    first_column: int = 1,
) -> list[float]:
    """Parse cells as finite floats or raise a ValueError naming file, line and cell."""
    values = []
    for offset, cell in enumerate(cells):
        try:
            value = float(cell.replace(",", ".") if decimal_comma else cell)
        except ValueError:
            _raise_cell(path, lineno, first_column + offset, cell, what)
        if not math.isfinite(value):
            _raise_cell(path, lineno, first_column + offset, cell, what)
        values.append(value)
    return values


def _detect_delimiter(candidates: Sequence[str]) -> str | None:
    """Pick the delimiter of the data lines: tab, semicolon, comma or whitespace."""
    if any("\t" in line for line in candidates):
        return "\t"
    if any(";" in line for line in candidates):
        return ";"
    with_comma = [line for line in candidates if "," in line]
    # With whitespace-separated decimal commas ("450,5 0,25") a comma split never
    # leaves two numbers at the end of a line, so one such line decides.
    if any(_numeric_suffix(_split(line, ","), False) >= 2 for line in with_comma):
        return ","
    return None


def _numeric_suffix(cells: Sequence[str], decimal_comma: bool) -> int:
    """Count the numeric cells at the end of a row (after any label cells)."""
    count = 0
    for cell in reversed(cells):
        if not _is_number(cell, decimal_comma):
            break
        count += 1
    return count


def _strictly_monotonic(values: np.ndarray) -> bool:
    steps = np.diff(values)
    return values.size >= 2 and (bool(np.all(steps > 0)) or bool(np.all(steps < 0)))


def _record(x, y, source: str, meta: dict[str, Any]) -> dict[str, Any]:
    return {"x": np.asarray(x, dtype=np.float64), "y": np.asarray(y, np.float64),
            "source": source, "meta": meta}  # fmt: skip


def _read_bwtek(
    lines: list[str], header_index: int, path: Path, bwtek_column: str
) -> list[dict[str, Any]]:
    """Read a BWTek BWSpec/BWRam export (semicolon CSV with decimal commas)."""
    header = _key_values(lines[:header_index])
    header_line = lines[header_index]
    delimiter = ";" if ";" in header_line else "\t" if "\t" in header_line else ","
    decimal_comma = delimiter != ","
    columns = _split(header_line, delimiter)
    lookup = {name.lower(): index for index, name in enumerate(columns)}
    if bwtek_column.strip().lower() not in lookup:
        raise ValueError(
            f"{path}: bwtek_column={bwtek_column!r} is not a column of this BWTek "
            f"file; available columns: {columns}"
        )
    value_index = lookup[bwtek_column.strip().lower()]
    shift_index = lookup.get("raman shift")
    wavelength_index = lookup.get("wavelength")
    needed = max(
        i for i in (value_index, shift_index, wavelength_index) if i is not None
    )
    raw_rows = []
    for offset, line in enumerate(lines[header_index + 1 :], start=header_index + 2):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(delimiter)]
        if len(cells) <= needed:
            raise ValueError(
                f"{path}: line {offset} has {len(cells)} cells but the table header "
                f"has {len(columns)} columns ({columns})"
            )
        raw_rows.append((offset, cells))
    if not raw_rows:
        raise ValueError(
            f"{path}: the BWTek table below line {header_index + 1} is empty"
        )
    # The Raman shift is the axis; pixels without one (outside the calibrated
    # range) are dropped. Without any Raman shift, fall back to the wavelength.
    axis_index, axis_unit = shift_index, "cm-1"
    if shift_index is None or all(cells[shift_index] == "" for _, cells in raw_rows):
        if wavelength_index is None or all(
            cells[wavelength_index] == "" for _, cells in raw_rows
        ):
            raise ValueError(
                f"{path}: the BWTek table has no 'Raman Shift' or 'Wavelength' values"
            )
        axis_index, axis_unit = wavelength_index, "nm"
    x, y = [], []
    for lineno, cells in raw_rows:
        if cells[axis_index] == "":
            continue
        (xv,) = _to_floats(
            [cells[axis_index]],
            path,
            lineno,
            decimal_comma,
            f"{columns[axis_index]!r} column",
            axis_index + 1,
        )
        (yv,) = _to_floats(
            [cells[value_index]],
            path,
            lineno,
            decimal_comma,
            f"{columns[value_index]!r} column",
            value_index + 1,
        )
        x.append(xv)
        y.append(yv)
    if len(x) < 2:
        raise ValueError(
            f"{path}: only {len(x)} pixel(s) of the BWTek table have a "
            f"{columns[axis_index]!r} value; a spectrum needs at least two points"
        )
    meta = {
        "format": "bwtek",
        "header": header,
        "columns": columns,
        "intensity_column": columns[value_index],
        "n_dropped_pixels": len(raw_rows) - len(x),
        "axis_unit": axis_unit,
    }
    return [_record(x, y, path.name, meta)]


def _find_bwtek_header(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        head = line.lstrip()[:6].lower()
        if head.startswith("pixel") and re.match(r"pixel\s*[;\t,]", line.strip(), re.I):
            lowered = line.lower()
            if "raman shift" in lowered or "wavelength" in lowered:
                return index
    return None


def _renishaw_columns(line: str) -> list[str] | None:
    """Return the position columns of a WiRE header ``#X #Y #Wave #Intensity``."""
    tokens = line.split()
    if (
        len(tokens) >= 2
        and all(token.startswith("#") and len(token) > 1 for token in tokens)
        and [t.lower() for t in tokens[-2:]] == ["#wave", "#intensity"]
    ):
        return [token[1:] for token in tokens[:-2]]
    return None


def _read_table(lines: list[str], path: Path) -> list[dict[str, Any]]:
    """Read every non-BWTek text format: two-column, WiRE maps, wide and long tables."""
    content = [
        (number, line.strip())
        for number, line in enumerate(lines, start=1)
        if line.strip()
    ]
    if not content:
        raise ValueError(f"{path}: the file is empty (no data lines)")
    is_comment = [text.startswith(_COMMENT_PREFIXES) for _, text in content]
    table = [item for item, comment in zip(content, is_comment, strict=True)
             if not comment]  # fmt: skip
    sample = []
    for _, text in reversed(table):
        if any(char.isdigit() for char in text):
            sample.append(text)
            if len(sample) == 10:
                break
    delimiter = _detect_delimiter(sample)
    decimal_comma = delimiter != ","

    # Find the first line of the data block.
    start = None
    for position, (_, text) in enumerate(content):
        if is_comment[position]:
            continue
        cells = _split(text, delimiter)
        n_numbers = _numeric_suffix(cells, decimal_comma)
        n_labels = len(cells) - n_numbers
        if n_labels == 0 and n_numbers >= 2:
            start = position
            break
        if n_labels >= 1 and n_numbers >= 3:
            following = next(
                (i for i in range(position + 1, len(content)) if not is_comment[i]),
                None,
            )
            if following is not None and len(
                _split(content[following][1], delimiter)
            ) == len(cells):
                start = position
                break
    if start is None:
        raise ValueError(
            f"{path}: no data block found: expected rows of at least two numbers "
            "(wavenumber and intensity) or a wide table with wavenumbers as column "
            "headers"
        )

    header_texts = [text for _, text in content[:start]]
    names_line = header_texts[-1] if header_texts else None
    first_lineno, first_text = content[start]
    first = _split(first_text, delimiter)
    # The line just above the data holds column names when it splits like the
    # data (or is a WiRE header); it is not a key/value pair then.
    names = _split(names_line.lstrip("#%"), delimiter) if names_line else []
    if (
        len(names) != len(first)
        or any(_is_number(n, decimal_comma) or "=" in n for n in names)
        or (names and names[0].endswith(":"))
    ):
        names = []
    is_names_line = bool(names) or (
        names_line is not None and _renishaw_columns(names_line) is not None
    )
    header = _key_values(header_texts[:-1] if is_names_line else header_texts)
    rows = [
        (number, _split(text, delimiter))
        for (number, text), comment in zip(
            content[start + 1 :], is_comment[start + 1 :], strict=True
        )
        if not comment
    ]

    # Renishaw WiRE export: '#X #Y #Wave #Intensity', one block per position.
    positions = _renishaw_columns(names_line) if names_line else None
    if positions is not None and len(first) == len(positions) + 2:
        return _read_renishaw(
            first_lineno, first, rows, positions, header, path, decimal_comma
        )

    n_labels = len(first) - _numeric_suffix(first, decimal_comma)
    if n_labels > 0:
        return _read_wide(
            first_lineno, first, n_labels, rows, header, path, decimal_comma
        )

    width = len(first)
    if (
        width >= 3
        and rows
        and len({len(cells) for _, cells in rows}) == 1
        and len(rows[0][1]) > width
        and _strictly_monotonic(
            np.asarray(_to_floats(first, path, first_lineno, decimal_comma, "data"))
        )
    ):
        # a numeric header row of wavenumbers above rows with unnamed labels
        return _read_wide(first_lineno, first, 0, rows, header, path, decimal_comma)
    matrix_rows = [_to_floats(first, path, first_lineno, decimal_comma, "data block")]
    for number, cells in rows:
        if len(cells) != width:
            # a non-numeric cell is the clearer message (e.g. a footer line)
            _to_floats(cells, path, number, decimal_comma, "data block")
            raise ValueError(
                f"{path}: line {number} has {len(cells)} values but the data block "
                f"starting at line {first_lineno} has {width} columns"
            )
        matrix_rows.append(_to_floats(cells, path, number, decimal_comma, "data block"))
    matrix = np.asarray(matrix_rows, dtype=np.float64)
    axis_name = names[0] if names else None

    if width == 2:
        if matrix.shape[0] < 2:
            raise ValueError(
                f"{path}: the data block holds a single row (line {first_lineno}); a "
                "spectrum needs at least two points"
            )
        meta = {"format": "two-column", "header": header, "columns": names,
                "axis_name": axis_name}  # fmt: skip
        return [_record(matrix[:, 0], matrix[:, 1], path.name, meta)]

    # Three or more numeric columns: either a wide table whose first row is the
    # axis, or a long table whose first column is the axis.
    first_row_axis = _strictly_monotonic(matrix[0])
    first_col_axis = _strictly_monotonic(matrix[:, 0])
    if names or (first_col_axis and not (first_row_axis and width > matrix.shape[0])):
        records = []
        for j in range(1, width):
            label = names[j] if names else f"column {j + 1}"
            meta = {"format": "multi-column", "header": header, "columns": names,
                    "axis_name": axis_name, "block": j - 1, "label": label}  # fmt: skip
            records.append(
                _record(
                    matrix[:, 0], matrix[:, j], f"{path.name}#{j - 1} {label}", meta
                )
            )
        return records
    if first_row_axis:
        return _read_wide(first_lineno, first, 0, rows, header, path, decimal_comma)
    raise ValueError(
        f"{path}: a table of {width} numeric columns without column names, whose "
        "first row and first column are both not monotonic: cannot tell which holds "
        "the wavenumber axis"
    )


def _read_renishaw(first_lineno, first, rows, positions, header, path, decimal_comma):
    """Split a WiRE export into one spectrum per consecutive (X, Y, ...) position."""
    width = len(first)
    n_pos = len(positions)
    blocks: list[tuple[tuple[str, ...], list[list[float]]]] = []
    for number, cells in [(first_lineno, first), *rows]:
        if len(cells) != width:
            raise ValueError(
                f"{path}: line {number} has {len(cells)} values but the WiRE header "
                f"{['#' + p for p in positions] + ['#Wave', '#Intensity']} has {width}"
            )
        values = _to_floats(cells, path, number, decimal_comma, "data block")
        key = tuple(cells[:n_pos])
        if not blocks or blocks[-1][0] != key:
            blocks.append((key, []))
        blocks[-1][1].append(values)
    records = []
    for index, (key, values) in enumerate(blocks):
        array = np.asarray(values, dtype=np.float64)
        position = {name: float(array[0, k]) for k, name in enumerate(positions)}
        if n_pos:
            where = ",".join(
                f"{name}={text}" for name, text in zip(positions, key, strict=True)
            )
            source = f"{path.name}#{index} {where}"
        else:
            source = path.name
        meta = {"format": "renishaw-wire", "header": dict(header), "block": index,
                "position": position}  # fmt: skip
        records.append(_record(array[:, -2], array[:, -1], source, meta))
    return records


def _read_wide(first_lineno, first, n_labels, rows, header, path, decimal_comma):
    """Read a wide table: wavenumbers as column headers, one spectrum per row."""
    label_names = first[:n_labels]
    axis = np.asarray(
        _to_floats(
            first[n_labels:],
            path,
            first_lineno,
            decimal_comma,
            "wavenumber header row",
            n_labels + 1,
        ),
        dtype=np.float64,
    )
    if not rows:
        raise ValueError(
            f"{path}: the wide table has a header row of wavenumbers (line "
            f"{first_lineno}) but no spectra below it"
        )
    records = []
    for index, (number, cells) in enumerate(rows):
        k = len(cells) - axis.size
        if k < 0 or (n_labels and k != n_labels):
            raise ValueError(
                f"{path}: line {number} has {len(cells)} cells but the header row "
                f"(line {first_lineno}) has {n_labels} label and {axis.size} "
                "wavenumber columns"
            )
        values = _to_floats(
            cells[k:], path, number, decimal_comma, "intensities", k + 1
        )
        labels = cells[:k]
        names = label_names if len(label_names) == k else [""] * k
        if k == 1:  # a single label column: the sample name
            label = labels[0]
        else:  # several (e.g. X, Y positions): name=value pairs when named
            label = ",".join(
                f"{name}={value}" if name and value else value or name
                for name, value in zip(names, labels, strict=True)
            )
        source = f"{path.name}#{index}" + (f" {label}" if label else "")
        meta = {"format": "wide-table", "header": dict(header), "block": index,
                "label": label}  # fmt: skip
        records.append(_record(axis, values, source, meta))
    return records


def _read_file(path: Path, bwtek_column: str, encoding: str | None):
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"spectra file {str(path)!r} does not exist") from exc
    text = _decode(raw, path, encoding)
    lines = re.split(r"\r\n|\r|\n", text)
    if not any(line.strip() for line in lines):
        raise ValueError(f"{path}: the file is empty")
    bwtek_header = _find_bwtek_header(lines)
    if bwtek_header is not None:
        return _read_bwtek(lines, bwtek_header, path, bwtek_column)
    return _read_table(lines, path)


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


def read_spectra(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    excitation_nm: float | None = None,
    bwtek_column: str = "Dark Subtracted #1",
    encoding: str | None = None,
    axis_unit: str = "auto",
) -> Bunch:
    r"""Read Raman spectra from the text files instruments export.

    The format of each file is detected from its content, not its extension:

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
        it is read from the file header (e.g. ``laser_wavelength``,
        ``Laser (nm)``). When given, an axis without unit information whose
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
        ``excitation_nm``).

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
            "renishaw-wire", "bwtek", "wide-table"), ``path``, ``header``
            (key/value pairs found), ``excitation_nm`` (float or None),
            ``axis_unit`` (unit as recorded) and ``converted_from_nm``, plus
            ``block``/``position``/``label`` for multi-spectrum files and
            ``intensity_column``/``n_dropped_pixels`` for BWTek files.

    Raises
    ------
    FileNotFoundError
        If a path does not exist or a directory holds no files.
    ValueError
        If a file is empty or binary, has non-numeric or missing (NaN) values
        inside its data block, rows of unequal length, an unknown
        ``bwtek_column``, or an axis in nm without a known excitation
        wavelength. The message names the file and the line.
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
    spectra, sources, metadata = [], [], []
    for path in files:
        for record in _read_file(path, bwtek_column, encoding):
            _finish(record, path, excitation_nm, axis_unit)
            spectra.append((record["x"], record["y"]))
            sources.append(record["source"])
            metadata.append(record["meta"])
    return Bunch(spectra=spectra, sources=sources, metadata=metadata)
