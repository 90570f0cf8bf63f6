"""Tests of raman_sk.datasets.read_spectra and its readers of instrument files."""

import json
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raman_sk.datasets import read_spectra

# ---------------------------------------------------------------- read_spectra

X_UP = [400.0, 401.5, 403.0]
Y = [1.25, 2.5, -0.75]


def _write(directory, name, content):
    path = Path(directory) / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


TWO_COLUMN_CASES = {
    "tab_lf": "400\t1.25\n401.5\t2.5\n403\t-0.75\n",
    "comma_csv_header": "wavenumber,intensity\n400,1.25\n401.5,2.5\n403,-0.75\n",
    "comma_space": "400, 1.25\n401.5, 2.5\n403, -0.75",
    "quoted_csv": (
        '"Raman shift","Counts"\n"400","1.25"\n"401.5","2.5"\n"403","-0.75"\n'
    ),
    "semicolon_decimal_comma": (
        "Raman Shift;Intensity\n400;1,25\n401,5;2,5\n403;-0,75\n"
    ),
    "space_decimal_comma": "400  1,25\n401,5  2,5\n403  -0,75\n",
    "tab_decimal_comma": "400\t1,25\n401,5\t2,5\n403\t-0,75\n",
    "whitespace_sci": "  4.00e2   1.25E0\n 4.015e+02 2.5\n403 -7.5e-1\n",
    "crlf": "# comment\r\n400\t1.25\r\n401.5\t2.5\r\n403\t-0.75\r\n",
    "cr_only": "400\t1.25\r401.5\t2.5\r403\t-0.75\r",
    "mixed_line_ends": "% comment\r\n400\t1.25\n401.5\t2.5\r\n403\t-0.75\r\n\r\n",
    "trailing_delimiter": "400;1,25;\n401,5;2,5;\n403;-0,75;\n",
    "comments_and_text_header": (
        "Sample: polystyrene\nOperator=me\n% free text\n\n# x\ty\n"
        "400\t1.25\n# a comment inside the data block\n401.5\t2.5\n\n403\t-0.75\n"
    ),
}


@pytest.mark.parametrize("case", sorted(TWO_COLUMN_CASES))
def test_two_column_variants(tmp_path, case):
    path = _write(tmp_path, f"{case}.txt", TWO_COLUMN_CASES[case])
    s = read_spectra(path)
    assert s.sources == [f"{case}.txt"]
    ((x, y),) = s.spectra
    assert x.dtype == np.float64 and y.dtype == np.float64
    np.testing.assert_allclose(x, X_UP)
    np.testing.assert_allclose(y, Y)
    assert s.metadata[0]["format"] == "two-column"
    assert s.metadata[0]["path"] == str(path)


def test_encodings_latin1_bom_utf16(tmp_path):
    body = "400\t1.25\r\n401.5\t2.5\r\n403\t-0.75\r\n"
    header = "#Detector temperature (°C)=\t-49.97\r\n#Laser (nm)=\t532 \r\n"
    files = [
        _write(tmp_path, "a_latin1.txt", (header + body).encode("latin-1")),
        _write(tmp_path, "b_utf8bom.txt", (header + body).encode("utf-8-sig")),
        _write(tmp_path, "c_utf16.txt", (header + body).encode("utf-16")),
    ]
    s = read_spectra(tmp_path)  # a directory: its files, sorted by name
    assert s.sources == ["a_latin1.txt", "b_utf8bom.txt", "c_utf16.txt"]
    for (x, y), meta in zip(s.spectra, s.metadata, strict=True):
        np.testing.assert_allclose(x, X_UP)
        np.testing.assert_allclose(y, Y)
        assert meta["header"]["Detector temperature (°C)"] == "-49.97"
        assert meta["excitation_nm"] == 532.0
    s = read_spectra(files[0], encoding="cp1252")
    assert "Detector temperature (°C)" in s.metadata[0]["header"]
    with pytest.raises(ValueError, match="cannot be decoded with encoding='utf-8'"):
        read_spectra(files[0], encoding="utf-8")
    with pytest.raises(ValueError, match="encoding='no-such-codec' is not a known"):
        read_spectra(files[0], encoding="no-such-codec")


def test_descending_axis_keeps_file_order(tmp_path):
    path = _write(tmp_path, "desc.txt", "403\t-0.75\n401.5\t2.5\n400\t1.25\n")
    ((x, y),) = read_spectra(path).spectra
    np.testing.assert_array_equal(x, X_UP[::-1])
    np.testing.assert_array_equal(y, Y[::-1])


def test_directory_skips_hidden_files_and_list_keeps_order(tmp_path):
    _write(tmp_path, "b.txt", "1\t2\n3\t4\n")
    _write(tmp_path, "a.txt", "5\t6\n7\t8\n")
    _write(tmp_path, "._a.txt", b"\x00\x05\x16\x07binary macOS resource fork")
    assert read_spectra(tmp_path).sources == ["a.txt", "b.txt"]
    s = read_spectra([tmp_path / "b.txt", str(tmp_path / "a.txt")])
    assert s.sources == ["b.txt", "a.txt"]
    np.testing.assert_array_equal(s.spectra[1][1], [6.0, 8.0])


def test_multi_column_file_gives_one_spectrum_per_column(tmp_path):
    path = _write(
        tmp_path, "multi.txt", "shift\ta\tb\n400\t1\t10\n401\t2\t20\n402\t3\t30\n"
    )
    s = read_spectra(path)
    assert s.sources == ["multi.txt#0 a", "multi.txt#1 b"]
    np.testing.assert_array_equal(s.spectra[1][0], [400, 401, 402])
    np.testing.assert_array_equal(s.spectra[1][1], [10, 20, 30])
    assert s.metadata[0]["format"] == "multi-column"


# --- Renishaw WiRE


def test_renishaw_map_one_spectrum_per_position(tmp_path):
    text = (
        "#X\t\t#Y\t\t#Wave\t\t#Intensity\r\n"
        "1.5\t-2\t1000.5\t10\r\n1.5\t-2\t999.5\t11\r\n1.5\t-2\t998.5\t12\r\n"
        "3.25\t-2\t1000.5\t20\r\n3.25\t-2\t999.5\t21\r\n3.25\t-2\t998.5\t22\r\n"
        "1.5\t-2\t1000.5\t30\r\n1.5\t-2\t999.5\t31\r\n1.5\t-2\t998.5\t32\r\n"
    )
    s = read_spectra(_write(tmp_path, "map.txt", text))
    assert s.sources == [
        "map.txt#0 X=1.5,Y=-2",
        "map.txt#1 X=3.25,Y=-2",
        "map.txt#2 X=1.5,Y=-2",
    ]
    for k, (x, y) in enumerate(s.spectra):
        np.testing.assert_array_equal(x, [1000.5, 999.5, 998.5])
        np.testing.assert_array_equal(y, np.array([10, 11, 12]) + 10 * k)
    assert s.metadata[1]["position"] == {"X": 3.25, "Y": -2.0}
    assert s.metadata[1]["block"] == 1
    assert s.metadata[1]["format"] == "renishaw-wire"
    assert s.metadata[1]["header"] == {}  # the column line is not a key/value pair


def test_renishaw_single_spectrum_and_bad_row(tmp_path):
    s = read_spectra(_write(tmp_path, "one.txt", "#Wave\t#Intensity\n500\t1\n501\t2\n"))
    assert s.sources == ["one.txt"]
    np.testing.assert_array_equal(s.spectra[0][1], [1.0, 2.0])
    bad = "#X\t#Y\t#Wave\t#Intensity\n1\t2\t500\t1\n1\t2\t501\n"
    with pytest.raises(
        ValueError,
        match=r"bad.txt: line 3 has 3 values but the WiRE "
        "header",
    ):
        read_spectra(_write(tmp_path, "bad.txt", bad))


# --- BWTek BWSpec


def _bwspec(rows, laser="532,1"):
    header = [
        "File Version;BWSpec4.11_1",
        "Date;2021-10-27 15:57:13",
        "pixel_start;0",
        "coefs_a0;769,442641318084",
        f"laser_wavelength;{laser}",
        "laser_powerlevel;100",
        "Pixel;Wavelength;Wavenumber;Raman Shift;Dark;Raw data #1;Dark Subtracted #1;",
    ]
    return "\r\n".join(header + rows) + "\r\n"


BW_ROWS = [
    "0;   ;   ;   ;1137,0000;1072,0000;-65,0000;",
    "1;540,05;18516,8;280,35;1000,0000;1100,5000;100,5000;",
    "2;540,20;18511,7;285,50;1000,0000;1200,0000;200,0000;",
    "3;540,35;18506,5;290,65;1000,0000;1050,2500;50,2500;",
    "4;   ;   ;   ;1145,0000;1082,0000;-63,0000;",
]


def test_bwtek_drops_pixels_without_raman_shift(tmp_path):
    path = _write(tmp_path, "bw.txt", _bwspec(BW_ROWS))
    s = read_spectra(path)
    ((x, y),) = s.spectra
    np.testing.assert_allclose(x, [280.35, 285.50, 290.65])
    np.testing.assert_allclose(y, [100.5, 200.0, 50.25])
    meta = s.metadata[0]
    assert meta["format"] == "bwtek"
    assert meta["n_dropped_pixels"] == 2
    assert meta["excitation_nm"] == pytest.approx(532.1)
    assert meta["header"]["coefs_a0"] == "769,442641318084"
    assert meta["intensity_column"] == "Dark Subtracted #1"
    assert not meta["converted_from_nm"]
    ((x, y),) = read_spectra(path, bwtek_column="raw data #1").spectra
    np.testing.assert_allclose(y, [1100.5, 1200.0, 1050.25])


def test_bwtek_unknown_column_lists_the_available_ones(tmp_path):
    path = _write(tmp_path, "bw.txt", _bwspec(BW_ROWS))
    with pytest.raises(
        ValueError,
        match=r"bw.txt: bwtek_column='Dark #1' is not a "
        r"column.*available columns: \['Pixel', 'Wavelength', "
        r"'Wavenumber', 'Raman Shift', 'Dark', 'Raw data #1', "
        r"'Dark Subtracted #1'\]",
    ):
        read_spectra(path, bwtek_column="Dark #1")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "2;540,20;18511,7;285,50;1000,0000;1200,0000;   ;",
            r"line 10, column 7: a missing \(empty\) value in the 'Dark Subtracted #1'",
        ),
        (
            "2;540,20;18511,7;285,50;1000,0000;1200,0000;abc;",
            r"line 10, column 7: the non-numeric value 'abc'",
        ),
        (
            "2;540,20;18511,7;nan;1000,0000;1200,0000;5;",
            r"line 10, column 4: a missing value \(NaN\) in the 'Raman Shift'",
        ),
        ("2;540,20;18511,7", "line 10 has 3 cells but the table header has 7"),
    ],
)
def test_bwtek_bad_rows(tmp_path, row, message):
    rows = [*BW_ROWS[:2], row, *BW_ROWS[3:]]
    with pytest.raises(ValueError, match=message):
        read_spectra(_write(tmp_path, "bw.txt", _bwspec(rows)))


def test_bwtek_without_raman_shift_converts_the_wavelength(tmp_path):
    rows = [r.split(";") for r in BW_ROWS]
    for cells in rows:
        cells[3] = "   "
    s = read_spectra(
        _write(tmp_path, "bw.txt", _bwspec([";".join(r) for r in rows], laser="532"))
    )
    ((x, _),) = s.spectra
    # 1e7/532 - 1e7/540.05, ... computed by hand:
    # 18796.9925 - 18516.8040, 18796.9925 - 18511.6623, 18796.9925 - 18506.5236
    np.testing.assert_allclose(x, [280.1885, 285.3302, 290.4689], atol=1e-3)
    assert s.metadata[0]["converted_from_nm"]


# --- wide tables


def test_wide_table_with_sample_names(tmp_path):
    text = "sample,450,451.5,453\ns1,1,2,3\ns2,4,5,6\n"
    s = read_spectra(_write(tmp_path, "wide.csv", text))
    assert s.sources == ["wide.csv#0 s1", "wide.csv#1 s2"]
    for (x, _), meta in zip(s.spectra, s.metadata, strict=True):
        np.testing.assert_array_equal(x, [450.0, 451.5, 453.0])
        assert meta["format"] == "wide-table"
    np.testing.assert_array_equal(s.spectra[1][1], [4.0, 5.0, 6.0])


@pytest.mark.parametrize(
    ("text", "sources"),
    [
        ("450;451;452;453\n1;2;3;4\n5;6;7;8\n", ["w.txt#0", "w.txt#1"]),
        (";450;451;452;453\nA;1;2;3;4\nB;5;6;7;8\n", ["w.txt#0 A", "w.txt#1 B"]),
        ("450 451 452 453\nA 1 2 3 4\nB 5 6 7 8\n", ["w.txt#0 A", "w.txt#1 B"]),
        (
            "\t\t450\t451\t452\t453\n0\t1\t1\t2\t3\t4\n0\t2\t5\t6\t7\t8\n",
            ["w.txt#0 0,1", "w.txt#1 0,2"],
        ),
        (
            "X;Y;450;451;452;453\n0;1;1;2;3;4\n0;2;5;6;7;8\n",
            ["w.txt#0 X=0,Y=1", "w.txt#1 X=0,Y=2"],
        ),
    ],
    ids=[
        "numeric",
        "empty_corner",
        "whitespace_labels",
        "two_unnamed_labels",
        "named_positions",
    ],
)
def test_wide_table_layouts(tmp_path, text, sources):
    s = read_spectra(_write(tmp_path, "w.txt", text))
    assert s.sources == sources
    np.testing.assert_array_equal(s.spectra[0][0], [450, 451, 452, 453])
    np.testing.assert_array_equal(s.spectra[1][1], [5, 6, 7, 8])


def test_wide_table_errors(tmp_path):
    with pytest.raises(
        ValueError, match=r"line 3, column 3: the non-numeric value 'x'"
    ):
        read_spectra(_write(tmp_path, "w.csv", "id,450,451,452\na,1,2,3\nb,4,x,6\n"))
    with pytest.raises(ValueError, match="line 3 has 3 cells but the header row"):
        read_spectra(_write(tmp_path, "w.csv", "id,450,451,452\na,1,2,3\nb,4,5\n"))


# --- axes in nm


def test_nm_axis_from_column_name_is_converted(tmp_path):
    path = _write(tmp_path, "nm.txt", "Wavelength (nm)\tIntensity\n800\t1\n850\t2\n")
    s = read_spectra(path, excitation_nm=785)
    ((x, y),) = s.spectra
    # 1e7/785 - 1e7/800 = 12738.8535 - 12500 ; 1e7/785 - 1e7/850 = ... - 11764.7059
    np.testing.assert_allclose(x, [238.8535032, 974.1476208])
    np.testing.assert_array_equal(y, [1, 2])
    assert s.metadata[0]["axis_unit"] == "nm" and s.metadata[0]["converted_from_nm"]
    with pytest.raises(
        ValueError,
        match=r"nm.txt: the axis is in nm .*pass "
        r"excitation_nm=",
    ):
        read_spectra(path)


def test_nm_axis_with_excitation_in_the_header(tmp_path):
    text = "#Laser Wavelength (nm)=785.0\n#AxisUnit[1]=nm\n800\t1\n850\t2\n"
    ((x, _),) = read_spectra(_write(tmp_path, "h.txt", text)).spectra
    np.testing.assert_allclose(x, [238.8535032, 974.1476208])


def test_nm_axis_guessed_from_values_only_with_given_excitation(tmp_path):
    path = _write(tmp_path, "plain.txt", "800\t1\n850\t2\n")
    ((x, _),) = read_spectra(path).spectra  # no excitation: taken as cm-1
    np.testing.assert_array_equal(x, [800, 850])
    with pytest.warns(UserWarning, match="looks like wavelengths in nm"):
        ((x, _),) = read_spectra(path, excitation_nm=785).spectra
    np.testing.assert_allclose(x, [238.8535032, 974.1476208])
    ((x, _),) = read_spectra(path, excitation_nm=785, axis_unit="cm-1").spectra
    np.testing.assert_array_equal(x, [800, 850])
    # below the laser line it cannot be a Stokes wavelength: left alone
    ((x, _),) = read_spectra(
        _write(tmp_path, "low.txt", "600\t1\n700\t2\n"), excitation_nm=785
    ).spectra
    np.testing.assert_array_equal(x, [600, 700])


def test_axis_unit_nm_forced_and_excitation_mismatch_warns(tmp_path):
    path = _write(tmp_path, "f.txt", "#Laser (nm)=\t532\n550\t1\n560\t2\n")
    ((x, _),) = read_spectra(path, axis_unit="nm").spectra
    np.testing.assert_allclose(x, [1e7 / 532 - 1e7 / 550, 1e7 / 532 - 1e7 / 560])
    with pytest.warns(UserWarning, match="excitation_nm=785 differs from the 532"):
        read_spectra(path, excitation_nm=785)


# --- bad input


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("", ValueError, "the file is empty"),
        (" \r\n\n\t\n", ValueError, "the file is empty"),
        ("only text\nno numbers here\n", ValueError, "no data block found"),
        (
            "400\t1\n401\tabc\n402\t3\n",
            ValueError,
            r"line 2, column 2: the non-numeric value 'abc' in the data block",
        ),
        (
            "400\t1\n401\t2\nEND OF FILE\n",
            ValueError,
            r"line 3, column 1: the non-numeric value 'END OF FILE'",
        ),
        (
            "# h\n400\t1\nnan\t2\n402\t3\n",
            ValueError,
            r"line 3, column 1: a missing value \(NaN\)",
        ),
        (
            "400\t1\n401\tNaN\n",
            ValueError,
            r"line 2, column 2: a missing value \(NaN\)",
        ),
        (
            "400\t1\n401\t-inf\n",
            ValueError,
            r"line 2, column 2: an infinite value \('-inf'\)",
        ),
        ("400;1\n401;NA\n", ValueError, r"line 2, column 2: a missing value \(NaN\)"),
        (
            "400;1;5\n401;;6\n",
            ValueError,
            r"line 2, column 2: a missing \(empty\) value",
        ),
        (
            "400\t1\n401\t2\t3\n",
            ValueError,
            "line 2 has 3 values but the data block starting at line 1 has 2 columns",
        ),
        ("400\t1\n", ValueError, "a single row"),
        ("1\t3\t2\n3\t1\t2\n2\t3\t1\n", ValueError, "cannot tell which holds the"),
    ],
    ids=[
        "empty",
        "blank",
        "no_numbers",
        "text_cell",
        "footer",
        "nan_axis",
        "nan_intensity",
        "inf_intensity",
        "na_string",
        "empty_cell",
        "ragged",
        "one_row",
        "ambiguous",
    ],
)
def test_bad_files(tmp_path, text, error, message):
    path = _write(tmp_path, "bad.txt", text)
    with pytest.raises(error, match=message) as info:
        read_spectra(path)
    assert "bad.txt" in str(info.value)


def test_missing_file_binary_file_and_empty_directory(tmp_path):
    with pytest.raises(
        FileNotFoundError,
        match=r"spectra file '.*nope.txt' does not "
        "exist",
    ):
        read_spectra(tmp_path / "nope.txt")
    binary = _write(tmp_path, "x.spc", bytes(range(256)))
    with pytest.raises(ValueError, match=r"x.spc: looks like a binary file"):
        read_spectra(binary)
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="holds no files"):
        read_spectra(empty)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"paths": []}, ValueError, "paths is empty"),
        ({"paths": 3}, TypeError, "paths must be a file or directory path"),
        ({"paths": [3]}, TypeError, "paths must hold str or os.PathLike items"),
        ({"excitation_nm": "785"}, TypeError, "excitation_nm must be None or a number"),
        ({"excitation_nm": -785}, ValueError, "excitation_nm must be a positive"),
        ({"axis_unit": "um"}, ValueError, "axis_unit must be one of"),
        ({"bwtek_column": 7}, TypeError, "bwtek_column must be a str"),
    ],
)
def test_read_spectra_parameter_validation(tmp_path, kwargs, error, message):
    kwargs.setdefault("paths", _write(tmp_path, "ok.txt", "1\t2\n3\t4\n"))
    with pytest.raises(error, match=message):
        read_spectra(**kwargs)


# --- small real exports in tests/data


def test_horiba_export(data_dir):
    s = read_spectra(data_dir / "arcadia_chlamy" / "CC-124-MN-1.txt")
    ((x, y),) = s.spectra
    assert x.shape == y.shape == (2048,)
    assert (x[0], x[-1], y[0], y[-1]) == (3513.15, 87.8957, 10.5, 615.5)
    assert np.all(np.diff(x) < 0)  # descending, as recorded
    meta = s.metadata[0]
    assert meta["excitation_nm"] == 785.0
    assert meta["header"]["Laser (nm)"] == "785"
    assert meta["header"]["Detector temperature (°C)"] == "-49.97"  # latin-1 byte
    assert (meta["axis_unit"], meta["converted_from_nm"]) == ("cm-1", False)
    # the header says 1/cm: a given excitation does not trigger a conversion
    ((x2, _),) = read_spectra(
        data_dir / "arcadia_chlamy" / "CC-124-MN-1.txt", excitation_nm=785
    ).spectra
    np.testing.assert_array_equal(x2, x)


def test_renishaw_export_cut_to_three_cells(data_dir):
    path = (
        data_dir
        / "arcadia_chlamy"
        / "2024-11-12_CC-124_MN_slide_10_cells_2_first3cells.txt"
    )
    s = read_spectra(path)
    assert len(s.spectra) == 3
    assert s.sources[0] == f"{path.name}#0 X=49.374293,Y=-3368.661151"
    assert [m["position"]["X"] for m in s.metadata] == [49.374293, 59.507627, 53.174293]
    for x, y in s.spectra:
        assert x.shape == y.shape == (1015,)
        assert (x[0], x[-1]) == (1808.186523, 712.416016)
    assert (s.spectra[0][1][0], s.spectra[2][1][-1]) == (195501.203125, 206522.703125)


@pytest.fixture
def charisma_dir(data_dir, tmp_path):
    """The CHARISMA examples without their LICENSE file (not a spectrum)."""
    for path in (data_dir / "charisma_ramanchada2").iterdir():
        if path.suffix == ".txt":
            (tmp_path / path.name).write_bytes(path.read_bytes())
    return tmp_path


def test_charisma_raw_examples(charisma_dir):
    s = read_spectra(charisma_dir)
    assert s.sources == [
        "FMNT-M_Ho785__PST10_iR785_OP02_50000msx2.txt",
        "ICV_BW785__PST02_iRPlus785_Z050_100_3200ms.txt",
        "TOP_Ho633__Pol_HLR633_Z010_100_15sx5.txt",
    ]
    summary = [(x.size, x[0], x[-1], y[0]) for x, y in s.spectra]
    assert summary == [
        (2132, 120.038, 3199.35, 2216.0),
        (1743, -42.14, 3000.64, 69.0),
        (6034, 101.384, 4499.54, 20261.8),
    ]
    bw = s.metadata[1]
    assert (bw["format"], bw["n_dropped_pixels"], bw["excitation_nm"]) == (
        "bwtek",
        305,
        784.82,
    )


# ---------------------------------------------------------------- full shared data


def _reference(csv_path):
    table = pd.read_csv(csv_path)
    return {
        (row.source_file, getattr(row, "cell", 0)): (
            np.asarray(json.loads(row.wavenumbers)),
            np.asarray(json.loads(row.intensity)),
        )
        for row in table.itertuples()
    }


def test_arcadia_raw_folders_match_spectra_csv(shared_data):
    root = shared_data / "arcadia_chlamy"
    s = read_spectra(
        [root / "raw" / "Horiba_MacroRAM", root / "raw" / "Renishaw_Qontor"]
    )
    assert len(s.spectra) == 77
    formats = Counter(m["format"] for m in s.metadata)
    assert formats == {"two-column": 18, "renishaw-wire": 59}
    assert len({m["path"] for m in s.metadata if m["format"] == "renishaw-wire"}) == 6
    reference = _reference(root / "spectra.csv")
    assert len(reference) == 77
    seen = set()
    for (x, y), meta in zip(s.spectra, s.metadata, strict=True):
        key = (Path(meta["path"]).relative_to(root).as_posix(), meta.get("block", 0))
        axis, intensity = reference[key]
        assert x.shape == axis.shape
        np.testing.assert_allclose(x, axis)
        np.testing.assert_allclose(y, intensity)
        seen.add(key)
    assert len(seen) == 77
    lengths = Counter(x.size for x, _ in s.spectra)
    assert lengths == {2048: 18, 1015: 59}


def test_charisma_raw_examples_match_spectra_csv(shared_data):
    root = shared_data / "charisma_ramanchada2"
    s = read_spectra(root / "raw_examples")
    reference = pd.read_csv(root / "spectra.csv").set_index("source_file")
    assert len(s.spectra) == 3
    for (x, y), source in zip(s.spectra, s.sources, strict=True):
        row = reference.loc[source.replace("__", "/", 1)]
        assert x.size == row["n_points"]
        np.testing.assert_allclose(x, json.loads(row["wavenumbers"]))
        np.testing.assert_allclose(y, json.loads(row["intensity"]))


def test_warnings_are_not_raised_on_clean_files(data_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_spectra(data_dir / "arcadia_chlamy" / "CC-124-MN-1.txt")


def test_a_new_reader_joins_the_dispatch_table(tmp_path, monkeypatch):
    from raman_sk.datasets import _read
    from raman_sk.datasets._base import record

    def detect(file):
        return file.raw.startswith(b"FAKE")  # content, not the extension

    def read(file, options):
        meta = {"format": "fake", "header": {"Laser (nm)": "785"}, "axis_unit": "nm"}
        return [record([800.0, 810.0], [1.0, 2.0], file.path.name, meta)]

    monkeypatch.setattr(_read, "READERS", (("fake", detect, read), *_read.READERS))
    fake = _write(tmp_path, "a.txt", b"FAKE\x00\x01")
    text = _write(tmp_path, "b.fake", "400\t1\n401\t2\n")
    s = read_spectra([fake, text])
    assert [m["format"] for m in s.metadata] == ["fake", "two-column"]
    # every reader's records are finished alike: nm converted with the excitation
    np.testing.assert_allclose(s.spectra[0][0], 1e7 / 785 - 1e7 / np.array([800, 810]))
    assert s.metadata[0]["converted_from_nm"] and s.metadata[0]["path"] == str(fake)
