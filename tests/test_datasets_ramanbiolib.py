"""Tests of raman_sk.datasets: the ramanbiolib loader (_ramanbiolib)."""

import importlib.util
import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from raman_sk import datasets
from raman_sk.datasets import load_ramanbiolib, load_ramanbiolib_peaks

# Class sizes of the released database (ramanbiolib 1.0.0.post5).
LEVEL1_DEFAULT = {
    "Proteins": 76,
    "Lipids": 57,
    "Saccharides": 30,
    "AminoAcids": 13,
    "PrimaryMetabolites": 10,
    "NucleicAcids": 8,
}
LEVEL2_DEFAULT = {
    "Proteins": 69,
    "Lipids/FattyAcids": 21,
    "Lipids/Triglycerides": 20,
    "Saccharides/Monosaccharides": 14,  # 12 + 2 'Saccharides/Monosaccharides/Glucose'
    "AminoAcids": 13,
    "PrimaryMetabolites": 10,
    "NucleicAcids": 8,
}


# ---------------------------------------------------------------- ramanbiolib

# The ramanbiolib wheel installs only on Python < 3.12; without it the tests on the
# real database skip (the loader's own error is tested with a monkeypatch).
requires_db = pytest.mark.skipif(
    importlib.util.find_spec("ramanbiolib") is None,
    reason="the ramanbiolib package (Python < 3.12) is not installed",
)


def _skip_without_db():
    if importlib.util.find_spec("ramanbiolib") is None:
        pytest.skip("the ramanbiolib package (Python < 3.12) is not installed")


@pytest.fixture(scope="module")
def bunch():
    _skip_without_db()
    return load_ramanbiolib()


@pytest.fixture(scope="module")
def db_tables():
    _skip_without_db()
    root = datasets._ramanbiolib._ramanbiolib_db_root()
    return {
        name: pd.read_csv(root / name)
        for name in ("metadata_db.csv", "raman_spectra_db.csv", "raman_peaks_db.csv")
    }


@pytest.fixture
def db_copy(tmp_path, db_tables):
    """A small copy of the database: ids 1-24 (Lipids and Proteins) + 3 Pigments."""
    meta = db_tables["metadata_db.csv"]
    top = meta["type"].str.split("/").str[0]
    ids = set(meta["id"][top.eq("Lipids")][:12]) | set(
        meta["id"][top.eq("Proteins")][:9]
    )
    ids |= set(meta["id"][top.eq("Pigments")][:3])
    for name, table in db_tables.items():
        table[table["id"].isin(ids)].to_csv(tmp_path / name, index=False)
    return tmp_path


def _edit_csv(directory, name, edit):
    table = pd.read_csv(directory / name)
    table = edit(table)
    table.to_csv(directory / name, index=False)


def test_default_load_matches_the_published_counts(bunch):
    assert bunch.data.shape == (194, 1351)
    assert bunch.data.dtype == np.float64
    assert dict(Counter(bunch.target)) == LEVEL1_DEFAULT
    assert bunch.target.dtype == object and isinstance(bunch.target[0], str)
    assert bunch.target_names.tolist() == sorted(LEVEL1_DEFAULT)
    assert len(set(bunch.groups)) == 136
    assert bunch.groups.shape == (194,)
    np.testing.assert_array_equal(bunch.wavenumbers, np.arange(450.0, 1801.0))
    assert bunch.wavenumbers.dtype == np.float64
    # every spectrum is min-max normalised by the database authors
    np.testing.assert_allclose(bunch.data.min(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(bunch.data.max(axis=1), 1.0, atol=1e-12)


def test_frame_is_row_aligned_metadata(bunch, db_tables):
    frame = bunch.frame
    assert len(frame) == 194
    assert {"id", "component", "type", "target"} <= set(frame.columns)
    assert frame["target"].tolist() == bunch.target.tolist()
    assert frame["component"].str.strip().tolist() == bunch.groups.tolist()
    assert [t.split("/")[0] for t in frame["type"]] == bunch.target.tolist()
    # row i of data is the spectrum whose id is frame.id[i]
    spectra = db_tables["raman_spectra_db.csv"].set_index("id")
    for i in (0, 100, 193):
        row_id = frame["id"].iloc[i]
        expected = json.loads(spectra.loc[row_id, "intensity"])
        np.testing.assert_array_equal(bunch.data[i], expected)


def test_descr_describes_preprocessing_and_odbl_attribution(bunch):
    text = bunch.DESCR
    for needle in (
        "Open Database License (ODbL)",
        "Savitzky-Golay",
        "airPLS",
        "min-max",
        "https://github.com/mteranm/ramanbiolib",
        "10.1016/j.chemolab.2025.105476",
        "Number of spectra: 194",
        "Number of molecules (groups): 136",
    ):
        assert needle in text


@requires_db
def test_level_2_gives_the_sub_classes():
    data, target = load_ramanbiolib(level=2, return_X_y=True)
    assert dict(Counter(target)) == LEVEL2_DEFAULT
    assert data.shape == (155, 1351)


@requires_db
def test_min_class_size_and_explicit_classes():
    b = load_ramanbiolib(min_class_size=1)
    assert b.data.shape == (202, 1351)
    assert Counter(b.target) == {
        **LEVEL1_DEFAULT,
        "Pigments": 5,
        "Vitamins": 2,
        "Peptides": 1,
    }
    # explicit classes are kept whatever min_class_size says
    X, y = load_ramanbiolib(classes=["Vitamins", "Pigments"], return_X_y=True)
    assert X.shape == (7, 1351)
    assert Counter(y) == {"Pigments": 5, "Vitamins": 2}


def test_path_reads_a_directory_of_csv_files(db_copy):
    b = load_ramanbiolib(path=db_copy, min_class_size=5)
    assert dict(Counter(b.target)) == {"Lipids": 12, "Proteins": 9}
    assert b.data.shape == (21, 1351)
    assert "path=" in b.DESCR
    b = load_ramanbiolib(path=str(db_copy), min_class_size=3)
    assert b.target_names.tolist() == ["Lipids", "Pigments", "Proteins"]


def test_unknown_class_lists_the_available_ones(db_copy):
    with pytest.raises(
        ValueError,
        match=r"unknown class\(es\) \['Lipid'\].*available: "
        r"\['Lipids', 'Pigments', 'Proteins'\]",
    ):
        load_ramanbiolib(path=db_copy, classes=["Lipids", "Lipid"])
    with pytest.raises(ValueError, match="at least two classes"):
        load_ramanbiolib(path=db_copy, classes=["Lipids"])


def test_min_class_size_leaving_fewer_than_two_classes(db_copy):
    with pytest.raises(
        ValueError,
        match=r"min_class_size=10 leaves 1 class\(es\).*"
        r"\['Lipids'\]",
    ):
        load_ramanbiolib(path=db_copy, min_class_size=10)
    with pytest.raises(ValueError, match="min_class_size=13 leaves 0 class"):
        load_ramanbiolib(path=db_copy, min_class_size=13)


@pytest.mark.parametrize(
    ("name", "column"),
    [("metadata_db.csv", "type"), ("raman_spectra_db.csv", "intensity")],
)
def test_missing_csv_columns_name_file_and_column(db_copy, name, column):
    _edit_csv(db_copy, name, lambda t: t.drop(columns=[column]))
    with pytest.raises(
        ValueError,
        match=rf"{name} \(path=.*lacks the column\(s\) "
        rf"\['{column}'\]",
    ):
        load_ramanbiolib(path=db_copy)


def test_path_without_the_files(tmp_path, db_copy):
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        FileNotFoundError,
        match=r"lacks the database file\(s\) "
        r"\['metadata_db.csv', 'raman_spectra_db.csv'\]",
    ):
        load_ramanbiolib(path=tmp_path / "empty")  # a directory without the CSVs
    (db_copy / "raman_spectra_db.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"\['raman_spectra_db.csv'\]"):
        load_ramanbiolib(path=db_copy)
    with pytest.raises(FileNotFoundError, match="is not an existing directory"):
        load_ramanbiolib(path=db_copy / "metadata_db.csv")


def test_missing_package_error_names_path(monkeypatch):
    def no_package():
        raise ModuleNotFoundError("No module named 'ramanbiolib'")

    monkeypatch.setattr(datasets._ramanbiolib, "_ramanbiolib_db_root", no_package)
    with pytest.raises(
        ModuleNotFoundError,
        match=r"not installed.*pass the "
        r"directory holding them as path=",
    ):
        load_ramanbiolib()
    with pytest.raises(ModuleNotFoundError, match="path="):
        load_ramanbiolib_peaks()


def test_spectra_on_different_axes_raise(db_copy):
    def shift_axis(table):
        axis = json.loads(table.loc[3, "wavenumbers"])
        table.loc[3, "wavenumbers"] = json.dumps([v + 1 for v in axis])
        return table

    _edit_csv(db_copy, "raman_spectra_db.csv", shift_axis)
    with pytest.raises(
        ValueError,
        match=r"id=\d+ has a different wavenumber axis "
        r"\(1351 points, 451\.\.1801\)",
    ):
        load_ramanbiolib(path=db_copy)


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("[450, 451", "is not a list of numbers"),
        ("__import__('os').getcwd()", "is not a list of numbers"),  # never eval'd
        ('{"a": 1}', "is not a list of numbers"),
        ("[0.5, NaN]", "finite numbers"),
        ('[0.5, "x"]', "non-numeric"),
        ("[0.5, 0.25]", "2 intensities for 1351 wavenumbers"),
    ],
)
def test_malformed_intensity_lists_raise(db_copy, cell, message):
    def corrupt(table):
        table["intensity"] = table["intensity"].astype(object)
        table.loc[0, "intensity"] = cell
        return table

    _edit_csv(db_copy, "raman_spectra_db.csv", corrupt)
    with pytest.raises(ValueError, match=message):
        load_ramanbiolib(path=db_copy)


def test_spectra_without_metadata_are_dropped_with_a_warning(db_copy):
    _edit_csv(db_copy, "metadata_db.csv", lambda t: t.iloc[1:])
    with pytest.warns(UserWarning, match="1 spectra have no metadata row"):
        b = load_ramanbiolib(path=db_copy, min_class_size=1)
    assert b.data.shape == (23, 1351)


def test_duplicate_ids_and_empty_types_raise(db_copy):
    _edit_csv(
        db_copy,
        "metadata_db.csv",
        lambda t: t.assign(type=t["type"].where(t.index != 2, " / ")),
    )
    with pytest.raises(ValueError, match="has an empty type"):
        load_ramanbiolib(path=db_copy)
    _edit_csv(db_copy, "metadata_db.csv", lambda t: pd.concat([t, t.iloc[:1]]))
    with pytest.raises(ValueError, match="id column must be unique"):
        load_ramanbiolib(path=db_copy)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"level": 3}, ValueError, r"level must be 1 .* or 2 .*got 3"),
        ({"level": "1"}, TypeError, "level must be the int 1 or 2"),
        ({"min_class_size": 0}, ValueError, "min_class_size must be >= 1, got 0"),
        ({"min_class_size": 2.5}, TypeError, "min_class_size must be an int"),
        ({"classes": "Lipids"}, TypeError, "classes must be None or a list"),
        ({"classes": ["Lipids", 3]}, TypeError, r"class names \(str\), got \[3\]"),
        ({"path": 3}, TypeError, "path must be None or a directory path"),
    ],
)
def test_loader_parameter_validation(kwargs, error, message):
    with pytest.raises(error, match=message):
        load_ramanbiolib(**kwargs)


@requires_db
def test_peaks_long_format():
    with pytest.warns(UserWarning, match="id=182 lists 17 peaks but 15 intensities"):
        peaks = load_ramanbiolib_peaks()
    assert peaks.columns.tolist() == ["id", "component", "type", "peak", "intensity"]
    assert peaks.shape == (3250, 5)
    assert peaks["id"].nunique() == 197
    first = peaks.iloc[0]
    assert (first["id"], first["component"], first["type"], first["peak"]) == (
        1,
        "12-methyltetradecanoic acid",
        "Lipids/FattyAcids",
        669.0,
    )
    assert first["intensity"] == pytest.approx(0.0663058511210542)
    assert peaks["peak"].dtype == np.float64 and peaks["id"].dtype == np.int64
    assert peaks["intensity"].isna().sum() == 17  # only the broken row
    assert peaks["type"].notna().all()


def test_peaks_from_path_and_missing_file(db_copy):
    peaks = load_ramanbiolib_peaks(path=db_copy)
    # the peak table has no rows for ids 172-175 and 190 (two of them are copied)
    assert peaks["id"].nunique() == 22
    assert peaks["type"].notna().all()
    assert not peaks["intensity"].isna().any()
    (db_copy / "raman_peaks_db.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"\['raman_peaks_db.csv'\]"):
        load_ramanbiolib_peaks(path=db_copy)
