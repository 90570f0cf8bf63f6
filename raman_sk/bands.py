"""Raman band assignments: the reference recipe's tables and the database's peaks.

Two sources are combined in one table (:func:`band_table`):

* the band assignments of the reference recipe, per top-level molecular class
  (region in cm-1, assignment, notes), kept verbatim as data in this module;
* the peak positions of ramanbiolib's ``raman_peaks_db.csv`` (one row per
  component and peak), which say which database spectra have a band near a
  given wavenumber.

:func:`assign_band` turns a wavenumber (e.g. the peak of a saliency region) into
a short text: the reference recipe's assignment(s) within a tolerance,
preferring the given class; otherwise a summary of the database peaks found
there; otherwise ``"unassigned"``.
"""

from __future__ import annotations

import re
import warnings
from numbers import Real

import numpy as np
import pandas as pd

__all__ = ["BAND_COLUMNS", "SEED_BANDS", "assign_band", "band_table"]

#: Columns of :func:`band_table`, in order.
BAND_COLUMNS = (
    "class",
    "center",
    "low",
    "high",
    "assignment",
    "notes",
    "source",
    "component",
    "intensity",
)

# (class, low, high, assignment, notes): the reference recipe's "Spectral windows
# consistently used per class". A single value "~1650" is stored as low == high.
SEED_BANDS: tuple[tuple[str, float, float, str, str], ...] = (
    ("Proteins", 1650, 1650, "Amide I (C=O stretch)",
     "Dominant protein marker; secondary structure sensitive"),
    ("Proteins", 1550, 1550, "Amide II (N–H bend + C–N)",
     "α-helix / β-sheet differentiation"),
    ("Proteins", 1250, 1250, "Amide III (C–N + N–H)", "Backbone conformation"),
    ("Proteins", 1003, 1003, "Phenylalanine ring breathing",
     "Present in many proteins"),
    ("Proteins", 850, 900, "Hydroxyproline / C–C stretch", "Collagen-type proteins"),
    ("Lipids", 1440, 1460, "CH₂ scissoring", "Alkyl chain length indicator"),
    ("Lipids", 1300, 1300, "CH₂ twisting/wagging", "Saturated vs. unsaturated chains"),
    ("Lipids", 1660, 1660, "C=C stretch", "Unsaturated (olefinic) lipids"),
    ("Lipids", 1740, 1740, "C=O ester stretch", "Triglycerides / phospholipids"),
    ("Lipids", 1080, 1080, "C–C / C–O stretch", "Backbone"),
    ("Saccharides", 930, 950, "C–O–C ring breathing", "Pyranose/furanose rings"),
    ("Saccharides", 1050, 1100, "C–O stretching",
     "Distinguishes mono- vs. poly-saccharides"),
    ("Saccharides", 1340, 1380, "C–H bending", "Methylene and methyl groups"),
    ("Saccharides", 1460, 1460, "CH₂ scissoring",
     "Shared with lipids but lower intensity"),
    ("AminoAcids", 1670, 1670, "C=O stretch (free carboxyl/amide)",
     "Free amino acids vs. peptide-bound"),
    ("AminoAcids", 1200, 1200, "C–N stretch", "Amine group"),
    ("AminoAcids", 850, 850, "C–C stretch / ring modes",
     "Aromatic amino acids (Trp, Tyr, Phe)"),
    ("AminoAcids", 1580, 1600, "Asymmetric COO⁻ stretch", "Charged side chains"),
    ("PrimaryMetabolites", 1620, 1640, "C=C / C=O stretch",
     "Organic acid / keto groups"),
    ("PrimaryMetabolites", 1380, 1380, "Symmetric CH₃ bend",
     "Small organic molecules"),
    ("PrimaryMetabolites", 750, 750, "Ring/backbone deformation",
     "Varied metabolite fingerprint"),
    ("NucleicAcids", 785, 800, "Ring breathing (cytosine/uracil)",
     "DNA/RNA pyrimidine marker"),
    ("NucleicAcids", 1090, 1090, "PO₂⁻ symmetric stretch",
     "Phosphate backbone — strongest DNA/RNA marker"),
    ("NucleicAcids", 1580, 1580, "Base C=N stretch (adenine)",
     "Purine base vibrations"),
    ("NucleicAcids", 1340, 1340, "Guanine C8–H", "Purine identification"),
    ("NucleicAcids", 668, 668, "Thymine ring breathing", "DNA-specific"),
)

_REFERENCE_SOURCE = "reference recipe"
_DB_SOURCE = "ramanbiolib raman_peaks_db.csv"


def _class_key(name) -> str:
    """Top-level class of ``name`` ("Lipids/FattyAcids" -> "lipids")."""
    top = str(name).split("/")[0]
    return re.sub(r"[^0-9a-z]", "", top.lower())


def _load_peaks(path=None) -> pd.DataFrame:
    # imported here: datasets pulls in scikit-learn, which the reference rows
    # alone (band_table(database=False), assign_band) do not need
    from raman_sk.datasets import load_ramanbiolib_peaks

    with warnings.catch_warnings():
        # The released table has one row whose intensities do not match its
        # peaks; only the positions are used here, so that warning is noise.
        warnings.filterwarnings(
            "ignore", message=".*intensities", category=UserWarning
        )
        return load_ramanbiolib_peaks(path=path)


def band_table(*, database: bool = True, path=None) -> pd.DataFrame:
    """Return the band-assignment table (reference recipe bands plus database peaks).

    Parameters
    ----------
    database : bool, default=True
        Append one row per peak of ramanbiolib's ``raman_peaks_db.csv``. If the
        database cannot be found, a ``UserWarning`` says so and only the
        reference recipe's rows are returned.
    path : str or path-like, default=None
        The folder holding ``raman_peaks_db.csv`` and ``metadata_db.csv``; None
        uses the installed ``ramanbiolib`` package.

    Returns
    -------
    table : DataFrame
        Columns ``class, center, low, high, assignment, notes, source,
        component, intensity``. ``class`` is the top-level molecular class
        ("Proteins", "Lipids", ...); ``low``/``high`` bound the band in cm-1
        (equal for a single position) and ``center`` is their mean. The
        reference recipe's rows have ``source == "reference recipe"`` and no
        component; database rows have the
        component's name, its peak's relative intensity and the assignment
        ``"<component> peak"``.

    See Also
    --------
    assign_band : The text assigned to a wavenumber.

    Examples
    --------
    >>> from raman_sk.bands import band_table
    >>> table = band_table(database=False)
    >>> table.shape
    (26, 9)
    >>> row = table.iloc[0]
    >>> row["class"], float(row["center"]), row["assignment"]
    ('Proteins', 1650.0, 'Amide I (C=O stretch)')
    """
    reference = pd.DataFrame(
        [
            (cls, (lo + hi) / 2.0, float(lo), float(hi), text, notes,
             _REFERENCE_SOURCE, None, np.nan)
            for cls, lo, hi, text, notes in SEED_BANDS
        ],
        columns=list(BAND_COLUMNS),
    )
    if not database:
        return reference
    try:
        peaks = _load_peaks(path)
    except (ImportError, ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        warnings.warn(
            f"the ramanbiolib peak table could not be read ({exc}); the band "
            "table holds only the reference recipe's assignments. Install "
            "ramanbiolib or pass path= to the folder of raman_peaks_db.csv.",
            UserWarning,
            stacklevel=2,
        )
        return reference
    peak = peaks["peak"].to_numpy(dtype=np.float64)
    types = ["" if pd.isna(t) else str(t) for t in peaks["type"]]
    db = pd.DataFrame(
        {
            "class": [t.split("/")[0] for t in types],
            "center": peak,
            "low": peak,
            "high": peak,
            "assignment": [f"{c} peak" for c in peaks["component"]],
            "notes": types,
            "source": _DB_SOURCE,
            "component": peaks["component"].astype(str).to_numpy(dtype=object),
            "intensity": peaks["intensity"].to_numpy(dtype=np.float64),
        }
    )
    return pd.concat([reference, db], ignore_index=True)


def _check_wavenumber(wavenumber) -> float:
    if isinstance(wavenumber, bool | np.bool_) or not isinstance(
        wavenumber, Real | np.integer | np.floating
    ):
        raise TypeError(
            f"wavenumber must be a real number in cm-1, got {wavenumber!r} "
            f"({type(wavenumber).__name__})."
        )
    value = float(wavenumber)
    if not np.isfinite(value):
        raise ValueError(f"wavenumber must be finite, got {value}.")
    return value


def _distance(value: float, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.maximum(np.maximum(low - value, value - high), 0.0)


def assign_band(
    wavenumber: float,
    tolerance: float = 10.0,
    cls: str | None = None,
    *,
    table: pd.DataFrame | None = None,
) -> str:
    """Assign a wavenumber to the known Raman bands within a tolerance.

    Rules, in order:

    1. The reference recipe's bands of class ``cls`` whose region lies within
       ``tolerance`` cm-1 of ``wavenumber`` (distance 0 inside the region),
       closest first, joined with ``"; "``.
    2. Otherwise its bands of any class within the tolerance, each followed by
       its class in brackets, e.g. ``"C–O–C ring breathing [Saccharides]"``.
    3. Otherwise the database peaks within the tolerance, summarised as
       ``"db peak ~1452 cm⁻¹: 40 Lipids spectra (e.g. ...)"`` (restricted to
       ``cls`` when it has such peaks).
    4. Otherwise ``"unassigned"``.

    Parameters
    ----------
    wavenumber : float
        Position in cm-1, e.g. the peak of a saliency region.
    tolerance : float, default=10.0
        Largest distance in cm-1 between ``wavenumber`` and a band.
    cls : str, default=None
        Class whose bands are preferred. Matched on the top level,
        case-insensitively ("Lipids/FattyAcids" matches "Lipids"). A class
        without reference bands (e.g. a synthetic one) falls through to rule 2.
    table : DataFrame, default=None
        A table as returned by :func:`band_table`; None builds one (reading the
        database each time: pass a table when assigning many wavenumbers).

    Returns
    -------
    assignment : str
        The assignment text.

    Raises
    ------
    TypeError
        If ``wavenumber`` or ``tolerance`` is not a real number.
    ValueError
        If ``wavenumber`` is not finite or ``tolerance`` is negative.

    See Also
    --------
    band_table : The table searched here.

    Examples
    --------
    >>> from raman_sk.bands import assign_band, band_table
    >>> table = band_table(database=False)
    >>> assign_band(1652, cls="Proteins", table=table)
    'Amide I (C=O stretch)'
    >>> assign_band(1745, tolerance=10, table=table)
    'C=O ester stretch [Lipids]'
    >>> assign_band(500, table=table)
    'unassigned'
    """
    value = _check_wavenumber(wavenumber)
    if isinstance(tolerance, bool | np.bool_) or not isinstance(
        tolerance, Real | np.integer | np.floating
    ):
        raise TypeError(
            f"tolerance must be a number of cm-1, got {tolerance!r} "
            f"({type(tolerance).__name__})."
        )
    if not tolerance >= 0:
        raise ValueError(f"tolerance must be >= 0 cm-1, got {tolerance!r}.")
    if table is None:
        table = band_table()
    missing = {"class", "low", "high", "assignment", "source"} - set(table.columns)
    if missing:
        raise ValueError(
            f"table lacks the column(s) {sorted(missing)}; give a table made by "
            "band_table()."
        )
    dist = _distance(
        value, table["low"].to_numpy(np.float64), table["high"].to_numpy(np.float64)
    )
    near = dist <= float(tolerance)
    is_reference = (table["source"] == _REFERENCE_SOURCE).to_numpy(dtype=bool)
    if cls is not None:
        keys = (
            table["class"].astype(str).str.split("/").str[0].str.lower()
            .str.replace(r"[^0-9a-z]", "", regex=True)
        )
        same = (keys == _class_key(cls)).to_numpy(dtype=bool)
    else:
        same = np.zeros(len(table), dtype=bool)

    def _texts(mask, with_class):
        idx = np.flatnonzero(mask)
        idx = idx[np.argsort(dist[idx], kind="stable")]
        out = []
        for i in idx:
            text = str(table["assignment"].iloc[i])
            if with_class:
                text = f"{text} [{table['class'].iloc[i]}]"
            if text not in out:
                out.append(text)
        return "; ".join(out)

    if cls is not None and np.any(near & is_reference & same):
        return _texts(near & is_reference & same, with_class=False)
    if np.any(near & is_reference):
        return _texts(near & is_reference, with_class=True)
    db = near & ~is_reference
    if cls is not None and np.any(db & same):
        db = db & same
    if np.any(db):
        comps = table["component"].to_numpy(dtype=object)[db]
        classes = table["class"].to_numpy(dtype=object)[db]
        centers = table["low"].to_numpy(np.float64)[db]
        unique = list(dict.fromkeys(str(c) for c in comps))
        cls_names = sorted({str(c) for c in classes if str(c)})
        what = "/".join(cls_names) if len(cls_names) == 1 else "database"
        examples = ", ".join(unique[:2]) + (", …" if len(unique) > 2 else "")
        return (
            f"db peak ~{np.median(centers):.0f} cm⁻¹: {len(unique)} {what} spectra "
            f"(e.g. {examples})"
        )
    return "unassigned"
