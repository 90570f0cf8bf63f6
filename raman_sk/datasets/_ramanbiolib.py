"""The ramanbiolib reference database: spectra and peak table as data.

The CSV files shipped in the ``ramanbiolib`` wheel (ODbL data in a GPLv3
package) are read through :mod:`importlib.resources`; none of its code is
imported or copied. Users without the wheel (it declares
``Requires-Python <3.12``) pass ``path=``, a directory holding the same files.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import os
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

__all__ = ["load_ramanbiolib", "load_ramanbiolib_peaks"]

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
    except (TypeError, ValueError):
        values = None
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
