"""Band-assignment table (reference recipe + ramanbiolib peaks) and assign_band."""

import shutil

import numpy as np
import pandas as pd
import pytest

from raman_sk.bands import BAND_COLUMNS, SEED_BANDS, assign_band, band_table


@pytest.fixture(scope="module")
def seed_table():
    return band_table(database=False)


@pytest.fixture(scope="module")
def full_table():
    pytest.importorskip("ramanbiolib")
    return band_table()


def test_seed_table_content(seed_table):
    assert tuple(seed_table.columns) == BAND_COLUMNS
    assert len(seed_table) == len(SEED_BANDS) == 26
    counts = seed_table["class"].value_counts().to_dict()
    assert counts == {"Proteins": 5, "Lipids": 5, "NucleicAcids": 5,
                      "Saccharides": 4, "AminoAcids": 4, "PrimaryMetabolites": 3}
    row = seed_table[seed_table["assignment"] == "CH₂ scissoring"].iloc[0]
    assert (row["class"], row["low"], row["high"], row["center"]) == (
        "Lipids", 1440.0, 1460.0, 1450.0)
    assert set(seed_table["source"]) == {"reference recipe"}
    assert seed_table["component"].isna().all()
    assert (seed_table["low"] <= seed_table["high"]).all()


def test_database_rows(full_table, seed_table):
    db = full_table[full_table["source"] != "reference recipe"]
    assert len(full_table) == len(seed_table) + len(db)
    assert len(db) == 3250
    first = db.iloc[0]
    assert first["component"] == "12-methyltetradecanoic acid"
    assert first["center"] == first["low"] == first["high"] == 669.0
    assert first["assignment"] == "12-methyltetradecanoic acid peak"
    assert first["class"] == first["notes"].split("/")[0]
    assert set(db["class"]) >= {"Proteins", "Lipids", "Saccharides", "AminoAcids",
                                "PrimaryMetabolites", "NucleicAcids"}
    assert db["center"].between(100, 3500).all()


def test_database_rows_come_from_the_dataset_loader(full_table):
    from raman_sk.datasets import load_ramanbiolib_peaks

    with pytest.warns(UserWarning, match="id=182"):
        loaded = load_ramanbiolib_peaks()
    db = full_table[full_table["source"] != "reference recipe"]
    np.testing.assert_array_equal(db["center"], loaded["peak"])
    np.testing.assert_array_equal(db["intensity"], loaded["intensity"])
    assert db["component"].tolist() == loaded["component"].tolist()
    assert db["notes"].tolist() == loaded["type"].astype(str).tolist()


def test_path_parameter_and_missing_database(full_table, tmp_path):
    from importlib.resources import files

    src = files("ramanbiolib") / "db"
    for name in ("raman_peaks_db.csv", "metadata_db.csv"):
        with (src / name).open("rb") as fh, open(tmp_path / name, "wb") as out:
            shutil.copyfileobj(fh, out)
    copy = band_table(path=tmp_path)
    pd.testing.assert_frame_equal(copy, full_table)
    with pytest.warns(UserWarning, match="only the reference recipe's assignments"):
        only_seed = band_table(path=tmp_path / "missing")
    assert len(only_seed) == 26


def test_assign_band_rules(seed_table):
    t = seed_table
    assert assign_band(1450, cls="Lipids", table=t) == "CH₂ scissoring"  # in range
    assert assign_band(1659, cls="Proteins", table=t) == "Amide I (C=O stretch)"
    # 11 cm-1 from Amide I: other classes' bands within 10 cm-1, closest first
    assert assign_band(1661, cls="Proteins", tolerance=10, table=t) == (
        "C=C stretch [Lipids]; C=O stretch (free carboxyl/amide) [AminoAcids]")
    # preferred class first; otherwise every class, closest first, with its class
    assert assign_band(1460, cls="Saccharides", table=t) == "CH₂ scissoring"
    assert assign_band(1585, table=t) == (
        "Asymmetric COO⁻ stretch [AminoAcids]; Base C=N stretch (adenine) "
        "[NucleicAcids]"
    )
    assert assign_band(940, cls="gamma", table=t) == (
        "C–O–C ring breathing [Saccharides]")
    # level-2 class names match their top level, case-insensitively
    assert assign_band(1300, cls="Lipids/FattyAcids", table=t) == (
        "CH₂ twisting/wagging")
    assert assign_band(1300, cls="lipids", table=t) == "CH₂ twisting/wagging"
    # tolerance 0: only exact positions or inside a range
    assert assign_band(1090, tolerance=0, table=t) == (
        "C–O stretching [Saccharides]; PO₂⁻ symmetric stretch [NucleicAcids]")
    assert assign_band(1091, cls="NucleicAcids", tolerance=0, table=t) == (
        "C–O stretching [Saccharides]")
    assert assign_band(500, table=t) == "unassigned"
    assert assign_band(np.float32(668.0), cls="NucleicAcids", table=t) == (
        "Thymine ring breathing")


def test_assign_band_database_summary():
    table = pd.DataFrame(
        {
            "class": ["Lipids", "Lipids", "Proteins", "Lipids"],
            "center": [501.0, 503.0, 505.0, 900.0],
            "low": [501.0, 503.0, 505.0, 900.0],
            "high": [501.0, 503.0, 505.0, 900.0],
            "assignment": ["a peak", "b peak", "c peak", "d peak"],
            "source": ["ramanbiolib raman_peaks_db.csv"] * 4,
            "component": ["a", "b", "c", "d"],
        }
    )
    assert assign_band(502, tolerance=5, cls="Lipids", table=table) == (
        "db peak ~502 cm⁻¹: 2 Lipids spectra (e.g. a, b)")
    assert assign_band(502, tolerance=5, table=table) == (
        "db peak ~503 cm⁻¹: 3 database spectra (e.g. a, b, …)")
    # a class without peaks there falls back to every class
    assert assign_band(505, tolerance=1, cls="Lipids", table=table) == (
        "db peak ~505 cm⁻¹: 1 Proteins spectra (e.g. c)")


def test_assign_band_real_database(full_table):
    text = assign_band(1236, cls="NucleicAcids", table=full_table)
    assert text.startswith("db peak ~") and "NucleicAcids spectra" in text
    # the reference recipe's bands win over database peaks
    assert assign_band(1003, cls="Proteins", table=full_table) == (
        "Phenylalanine ring breathing")


def test_assign_band_bad_input(seed_table):
    with pytest.raises(TypeError, match="wavenumber must be a real number"):
        assign_band("1650", table=seed_table)
    with pytest.raises(TypeError, match="wavenumber must be a real number"):
        assign_band(True, table=seed_table)
    with pytest.raises(ValueError, match="wavenumber must be finite, got nan"):
        assign_band(float("nan"), table=seed_table)
    with pytest.raises(ValueError, match="tolerance must be >= 0 cm-1, got -1"):
        assign_band(1000, tolerance=-1, table=seed_table)
    with pytest.raises(TypeError, match="tolerance must be a number"):
        assign_band(1000, tolerance="5", table=seed_table)
    with pytest.raises(ValueError, match=r"table lacks the column\(s\) \['source'\]"):
        assign_band(1000, table=seed_table.drop(columns="source"))
