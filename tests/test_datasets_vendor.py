"""read_spectra on instrument (vendor) files: SPC, WDF, WITec, SIF, OPUS, SPE, JCAMP-DX.

Small real files in tests/data/vendor cover each reader in the default run; the
full collection under ../shared/data/vendor_formats (skipped when absent) is
checked file by file against the spectra counts, points and axis ranges its
README lists. Corrupt copies (truncated, header zeroed, empty, random bytes)
must give a clear error naming the file, quickly.
"""

import struct
import sys
import time
import warnings

import numpy as np
import pytest

from raman_sk.datasets import read_spectra

# file extension -> (import name of the reading library, or None for none needed)
LIBRARY = {
    ".spc": "spc_io",
    ".wdf": "wdf",
    ".wip": "witio",
    ".wid": "witio",
    ".sif": "sif_parser",
    ".0": "brukeropus",
    ".jdx": "jcamp",
    ".spe": None,
    ".l6s": None,
}


def _needs(path):
    module = LIBRARY[path.suffix]
    if module is not None:
        pytest.importorskip(module)


def _read_quietly(path, **kwargs):
    """read_spectra, with its warnings recorded instead of shown."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = read_spectra(path, **kwargs)
    return data, [str(w.message) for w in caught]


# (file under vendor_formats/, spectra, points, axis min, axis max) as listed
# in the folder READMEs; axes in nm are listed after conversion to Raman shift.
SHARED_CASES = [
    ("spc/PST10_iR532_Probe_100_3000msx7.spc", 1, 3808, 175.0, 3982.0),
    ("spc/PST_Reflex532_Z050_010_10000msx2.spc", 1, 2578, 100.27, 3501.06),
    ("spc/nCal_Qontor785_z005H12_100_1x3s.spc", 1, 1021, -154.50, 1111.11),
    (
        "spc/PST_WITEcAlpha532_100x_075_10000ms_000_Spec.Data_1.spc",
        1, 1600, -37.89, 3731.93,
    ),
    ("spc/specio_LabRAM_HR_Evolution_spectra.spc", 1, 1911, 400.62, 3799.82),
    ("wdf/Si-map.wdf", 88, 575, 53.36, 957.44),
    ("wdf/nCal_Qontor785_z005H12_100_1x3s.wdf", 1, 1021, -154.50, 1111.11),
    ("wdf/py-wdf-reader_ex1_single.wdf", 1, 1015, 1226.28, 2787.51),
    ("wdf/py-wdf-reader_test1_single.wdf", 1, 1015, 1226.27, 2787.51),
    ("wdf/py-wdf-reader_depth_series.wdf", 40, 1015, 1226.61, 2787.78),
    ("sif/DD58_785_1_Fe2O3_5x10s.sif", 1, 1024, 77.99, 1562.69),
    ("sif/rubpy3_in_ethanolpulsed.sif", 1, 1024, 252.88, 1830.21),
    ("sif/raman1.sif", 1, 1024, -980.47, 1697.06),  # relative to the stored 422 nm
    ("opus/test_opus.0", 1, 4096, 51.89, 4000.66),
    ("witec/automatic_masking_example.wip", 598, 1600, -37.31, 3726.71),
    ("spe/S0N_50x.spe", 1, 1340, 70.84, 855.53),  # with the file's laserLine
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "n_spectra", "n_points", "low", "high"),
    SHARED_CASES,
    ids=[case[0] for case in SHARED_CASES],
)
def test_shared_raman_file(shared_data, name, n_spectra, n_points, low, high):
    path = shared_data / "vendor_formats" / name
    if not path.is_file():
        pytest.skip(f"{name} is not in this copy of the shared data")
    _needs(path)
    data, messages = _read_quietly(path)
    assert not any("not Raman" in m for m in messages), messages
    assert len(data.spectra) == n_spectra
    assert len(set(data.sources)) == n_spectra
    for x, y in data.spectra:
        assert x.shape == y.shape == (n_points,)
        assert np.isfinite(x).all() and np.isfinite(y).all()
    assert min(x.min() for x, _ in data.spectra) == pytest.approx(low, abs=0.01)
    assert max(x.max() for x, _ in data.spectra) == pytest.approx(high, abs=0.01)
    for meta in data.metadata:
        assert meta["raman"] is True
        assert meta["format"] == name.split("/")[0]


@pytest.mark.parametrize(
    "name",
    [
        "nCal_Qontor785_z005H12_100_1x3s.spc",
        "py-wdf-reader_ex1_single.wdf",
        "witec_scan_3x2.wip",
        "DD58_785_1_Fe2O3_5x10s.sif",
        "test_opus.0",
        "jtpolysd.jdx",
    ],
)
def test_missing_library_names_the_extra(data_dir, monkeypatch, name):
    path = data_dir / "vendor" / name
    monkeypatch.setitem(sys.modules, LIBRARY[path.suffix], None)  # not installed
    with pytest.raises(ImportError, match=r"raman-sk\[formats\]") as info:
        read_spectra(path)
    assert path.name in str(info.value)


def test_text_files_and_spe_need_no_reader_library(data_dir, monkeypatch):
    for module in {m for m in LIBRARY.values() if m}:
        monkeypatch.setitem(sys.modules, module, None)
    assert len(read_spectra(data_dir / "vendor" / "S0N_50x.spe").spectra) == 1
    folder = data_dir / "charisma_ramanchada2"
    text = folder / "FMNT-M_Ho785__PST10_iR785_OP02_50000msx2.txt"
    assert len(read_spectra(text).spectra) == 1


# ---------------------------------------------------------------- SPC


def test_spc_renishaw_descending_axis_and_log_metadata(data_dir):
    pytest.importorskip("spc_io")
    path = data_dir / "vendor" / "nCal_Qontor785_z005H12_100_1x3s.spc"
    data, messages = _read_quietly(path)
    assert messages == []  # spc-io's notes on the odd date do not leak out
    (x, y), meta = data.spectra[0], data.metadata[0]
    assert data.sources == [path.name]
    assert x.shape == y.shape == (1021,)
    assert x[0] > x[-1]  # descending, as stored
    assert meta["format"] == "spc"
    assert meta["axis_kind"] == "raman shift"
    assert meta["excitation_nm"] == 785.0  # from the log block's "Laser: 785 nm edge"
    assert meta["accumulations"] == 1
    assert "µ" in meta["header"]["Slit_opening"]  # a Latin-1 byte, decoded


def test_spc_prints_nothing(data_dir, capsys):
    pytest.importorskip("spc_io")
    read_spectra(data_dir / "vendor" / "nCal_Qontor785_z005H12_100_1x3s.spc")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# Thermo Galactic SPC main header and subfile header (published layout)
SPC_HEADER = "<BBBbIddIBBBBI9s9sH32s130s30sIIBBHf48sfIfB187s"
SPC_SUBHEADER = "<BbHfffIIf4s"
TMULTI, TXYXYS, TXVALS = 0x04, 0x40, 0x80


def _spc_bytes(flags, subs, first=0.0, last=0.0, xtype=13, experiment=11, x=None):
    """A float SPC file; ``subs`` holds (x or None, y) per subfile."""
    n_points = len(x) if x is not None else len(subs[0][1]) if flags < TXYXYS else 0
    out = struct.pack(
        SPC_HEADER, flags, 0x4B, experiment, -128, n_points, first, last, len(subs),
        xtype, 4, 0, 0, 0, b"", b"test", 0, b"", b"", b"", 0, 0, 0, 0, 0, 0.0, b"",
        0.0, 0, 0.0, 0, b"",
    )  # fmt: skip
    if x is not None:
        out += np.asarray(x, "<f4").tobytes()
    for index, (sub_x, y) in enumerate(subs):
        out += struct.pack(
            SPC_SUBHEADER, 0, -128, index, float(index), float(index + 1), 0.0,
            len(y) if sub_x is not None else 0, 0, 0.0, b"",
        )  # fmt: skip
        if sub_x is not None:
            out += np.asarray(sub_x, "<f4").tobytes()
        out += np.asarray(y, "<f4").tobytes()
    return out


def test_spc_every_subfile_on_an_even_descending_axis(tmp_path):
    pytest.importorskip("spc_io")
    path = tmp_path / "multi.spc"
    ys = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]
    path.write_bytes(_spc_bytes(TMULTI, [(None, y) for y in ys], 700.0, 400.0))
    data = read_spectra(path)
    assert data.sources == ["multi.spc#0", "multi.spc#1", "multi.spc#2"]
    for (x, y), expected in zip(data.spectra, ys, strict=True):
        np.testing.assert_array_equal(x, [700, 600, 500, 400])
        np.testing.assert_array_equal(y, expected)
    assert [m["z"] for m in data.metadata] == [0.0, 1.0, 2.0]


def test_spc_explicit_x_axes(tmp_path):
    pytest.importorskip("spc_io")
    path = tmp_path / "xy.spc"
    subs = [([810, 805, 800], [1, 2, 3]), ([900, 890], [4, 5])]
    path.write_bytes(_spc_bytes(TMULTI | TXYXYS | TXVALS, subs))
    data = read_spectra(path)
    np.testing.assert_array_equal(data.spectra[0][0], [810, 805, 800])
    np.testing.assert_array_equal(data.spectra[1][0], [900, 890])
    path = tmp_path / "x.spc"
    path.write_bytes(_spc_bytes(TXVALS, [(None, [1, 2, 3])], x=[100, 150, 300]))
    np.testing.assert_array_equal(read_spectra(path).spectra[0][0], [100, 150, 300])


def test_spc_wavelength_axis_and_non_raman_experiments(tmp_path):
    pytest.importorskip("spc_io")
    path = tmp_path / "nm.spc"
    path.write_bytes(_spc_bytes(0, [(None, [1, 2, 3])], 800.0, 820.0, xtype=3))
    with pytest.raises(ValueError, match="nm.spc.*excitation_nm="):
        read_spectra(path)
    x, _ = read_spectra(path, excitation_nm=785.0).spectra[0]
    np.testing.assert_allclose(x, 1e7 / 785.0 - 1e7 / np.array([800.0, 810, 820]))
    path = tmp_path / "uvvis.spc"  # technique code 7: UV-VIS
    path.write_bytes(
        _spc_bytes(0, [(None, [1, 2, 3])], 800.0, 820.0, xtype=3, experiment=7)
    )
    with pytest.warns(UserWarning, match="uvvis.spc: holds content that is not Raman"):
        data = read_spectra(path)
    np.testing.assert_array_equal(data.spectra[0][0], [800, 810, 820])
    assert data.metadata[0]["raman"] is False


# ---------------------------------------------------------------- WDF


def test_wdf_single_scan(data_dir):
    pytest.importorskip("wdf")
    path = data_dir / "vendor" / "py-wdf-reader_ex1_single.wdf"
    data = read_spectra(path)
    (x, y), meta = data.spectra[0], data.metadata[0]
    assert data.sources == [path.name]
    assert x.shape == y.shape == (1015,)
    assert meta["format"] == "wdf"
    assert meta["excitation_nm"] == pytest.approx(532.25, abs=0.01)
    assert meta["accumulations"] == 3
    assert meta["instrument"].startswith("WiRE 4.1")


def test_wdf_map_gives_one_spectrum_per_position(shared_data):
    path = shared_data / "vendor_formats" / "wdf" / "Si-map.wdf"
    if not path.is_file():
        pytest.skip("Si-map.wdf is not in this copy of the shared data")
    pytest.importorskip("wdf")
    data = read_spectra(path)
    positions = [(m["position"]["X"], m["position"]["Y"]) for m in data.metadata]
    assert len(set(positions)) == 88 == len(data.spectra)
    assert data.sources[0] == "Si-map.wdf#0 X=-7.09,Y=-8.93"
    assert [m["block"] for m in data.metadata] == list(range(88))


# ---------------------------------------------------------------- SIF


def test_sif_wavelength_axis_converted_with_the_file_excitation(data_dir):
    pytest.importorskip("sif_parser")
    path = data_dir / "vendor" / "DD58_785_1_Fe2O3_5x10s.sif"
    data = read_spectra(path)
    (x, y), meta = data.spectra[0], data.metadata[0]
    assert x.shape == y.shape == (1024,)
    assert meta["converted_from_nm"] is True
    assert meta["excitation_nm"] == 785.0
    assert meta["exposure_s"] == pytest.approx(10.0, abs=1e-3)
    assert meta["accumulations"] == 5
    assert meta["instrument"] == "DU420_BX2DD"
    assert x[0] == pytest.approx(77.99, abs=0.01)
    # a user-given excitation wins over the file's, with a warning
    with pytest.warns(UserWarning, match="differs from the 785 nm"):
        other = read_spectra(path, excitation_nm=780.0)
    assert other.metadata[0]["excitation_nm"] == 780.0


# ---------------------------------------------------------------- OPUS


def test_opus_ft_raman_block(data_dir):
    pytest.importorskip("brukeropus")
    path = data_dir / "vendor" / "test_opus.0"
    data, messages = _read_quietly(path)
    assert messages == []
    (x, y), meta = data.spectra[0], data.metadata[0]
    assert data.sources == [path.name]
    assert x.shape == y.shape == (4096,)
    assert x[0] > x[-1]  # stored descending
    assert meta["block"] == "ra" and meta["axis_kind"] == "raman shift"
    assert meta["excitation_nm"] == pytest.approx(1e7 / 9394.9, abs=0.01)
    assert meta["accumulations"] == 50
    assert meta["instrument"] == "VERTEX 70"


def test_opus_infrared_file_comes_out_on_its_own_axis_with_a_warning(shared_data):
    path = shared_data / "vendor_formats" / "opus" / "brukeropus_example_file.0"
    if not path.is_file():
        pytest.skip("the OPUS FT-IR file is not in this copy of the shared data")
    pytest.importorskip("brukeropus")
    with pytest.warns(UserWarning, match="not Raman.*not a Raman shift"):
        data = read_spectra(path)
    assert [m["block"] for m in data.metadata] == ["rf", "a", "sm"]
    assert {m["axis_kind"] for m in data.metadata} == {"wavenumber"}
    assert not any(m["raman"] for m in data.metadata)
    assert [len(x) for x, _ in data.spectra] == [4933, 4927, 4927]
    assert max(x.max() for x, _ in data.spectra) == pytest.approx(10005.43, abs=0.01)


# ---------------------------------------------------------------- JCAMP-DX

RAMAN_JCAMP = """##TITLE= synthetic Raman spectrum
##JCAMP-DX= 4.24
##DATA TYPE= RAMAN SPECTRUM
{laser}##XUNITS= {unit}
##YUNITS= ARBITRARY UNITS
##XFACTOR= 1.0
##YFACTOR= 1.0  $$ a comment the standard allows here
##FIRSTX= {first}
##LASTX= {last}
##NPOINTS= 4
##XYDATA= (X++(Y..Y))
{first} 10 20
{third} 30 40
##END=
"""


def _raman_jcamp(tmp_path, unit="1/CM", laser="", first=800, step=100):
    text = RAMAN_JCAMP.format(
        unit=unit, laser=laser, first=first, last=first + 3 * step,
        third=first + 2 * step,
    )
    path = tmp_path / "raman.jdx"
    path.write_text(text)
    return path


def test_jcamp_raman_spectrum_is_read_as_raman_shift(tmp_path):
    pytest.importorskip("jcamp")
    data, messages = _read_quietly(_raman_jcamp(tmp_path))
    assert messages == []
    (x, y), meta = data.spectra[0], data.metadata[0]
    np.testing.assert_allclose(x, [800, 900, 1000, 1100])
    np.testing.assert_allclose(y, [10, 20, 30, 40])
    assert meta["format"] == "jcamp" and meta["raman"] is True
    assert meta["axis_kind"] == "raman shift"


def test_jcamp_raman_wavelength_axis_needs_an_excitation(tmp_path):
    pytest.importorskip("jcamp")
    path = _raman_jcamp(tmp_path, unit="NANOMETERS", first=800, step=10)
    with pytest.raises(ValueError, match="raman.jdx.*excitation_nm=.*--excitation-nm"):
        read_spectra(path)
    x, _ = read_spectra(path, excitation_nm=785.0).spectra[0]
    np.testing.assert_allclose(x, 1e7 / 785.0 - 1e7 / np.array([800, 810, 820, 830]))
    path = _raman_jcamp(
        tmp_path, unit="NANOMETERS", laser="##$LASER WAVELENGTH= 785\n", step=10
    )
    data = read_spectra(path)
    assert data.metadata[0]["excitation_nm"] == 785.0
    assert data.metadata[0]["converted_from_nm"] is True


def test_jcamp_infrared_file_warns_that_its_axis_is_not_a_raman_shift(data_dir):
    pytest.importorskip("jcamp")
    path = data_dir / "vendor" / "jtpolysd.jdx"
    with pytest.warns(UserWarning, match="jtpolysd.jdx: holds content that is not"):
        data = read_spectra(path)
    (x, y), meta = data.spectra[0], data.metadata[0]
    assert x.shape == y.shape == (1844,)
    assert (meta["raman"], meta["axis_kind"]) == (False, "wavenumber")
    assert meta["data_type"] == "INFRARED SPECTRUM"
    assert x.min() == pytest.approx(447.48, abs=0.01)


def _shared_jcamp(shared_data, name):
    path = shared_data / "vendor_formats" / "jcamp" / name
    if not path.is_file():
        pytest.skip(f"{name} is not in this copy of the shared data")
    pytest.importorskip("jcamp")
    return path


@pytest.mark.parametrize(
    ("name", "points", "low", "high"),
    [
        ("jtpolysd.jdx", [1844], 447.48, 4002.28),
        ("pacdec1.jdx", [3301], 700.0, 4000.0),
        ("compound.jdx", [1976, 1976, 3951, 1976, 3951], 450.0, 4400.0),
        # jcamp itself fails on the "$$" comment after ##YFACTOR=; removed first
        ("jtpolys.jdx", [1844], 447.48, 4002.28),
    ],
)
def test_shared_jcamp_infrared_files(shared_data, name, points, low, high):
    path = _shared_jcamp(shared_data, name)
    data, messages = _read_quietly(path)
    assert any("not Raman" in m for m in messages)
    assert [len(x) for x, _ in data.spectra] == points
    assert min(x.min() for x, _ in data.spectra) == pytest.approx(low, abs=0.01)
    assert max(x.max() for x, _ in data.spectra) == pytest.approx(high, abs=0.01)
    assert not any(m["raman"] for m in data.metadata)


def test_jcamp_fix_form_matches_its_dif_dup_twin(shared_data):
    fix = _read_quietly(_shared_jcamp(shared_data, "jtpolys.jdx"))[0].spectra[0]
    dif = _read_quietly(_shared_jcamp(shared_data, "jtpolysd.jdx"))[0].spectra[0]
    np.testing.assert_allclose(fix[0], dif[0], atol=1e-3)
    np.testing.assert_allclose(fix[1], dif[1], atol=5e-3)


def test_jcamp_file_the_reader_cannot_decode_gives_a_clear_error(shared_data):
    path = _shared_jcamp(shared_data, "sqzdupd1.jdx")
    with pytest.raises(ValueError, match="sqzdupd1.jdx: the JCAMP-DX reader"):
        read_spectra(path)


# ---------------------------------------------------------------- WITec


def _shared_witec(shared_data, name):
    path = shared_data / "vendor_formats" / "witec" / name
    if not path.is_file():
        pytest.skip(f"{name} is not in this copy of the shared data")
    pytest.importorskip("witio")
    return path


def test_witec_small_area_scan(data_dir):
    pytest.importorskip("witio")
    path = data_dir / "vendor" / "witec_scan_3x2.wip"
    data, messages = _read_quietly(path)
    assert messages == []
    assert len(data.spectra) == 6
    assert data.sources[0] == "witec_scan_3x2.wip#0 Scan X=-9.87886,Y=13.6355"
    assert data.sources[3] == "witec_scan_3x2.wip#3 Scan X=-9.88933,Y=12.6356"
    assert len({(m["position"]["X"], m["position"]["Y"]) for m in data.metadata}) == 6
    x, y = data.spectra[0]
    assert x.shape == y.shape == (1600,)
    assert (x.min(), x.max()) == pytest.approx((-37.31, 3726.71), abs=0.01)
    meta = data.metadata[0]
    assert (meta["format"], meta["raman"], meta["axis_kind"]) == (
        "witec", True, "wavelength",
    )
    assert meta["excitation_nm"] == pytest.approx(532.07, abs=0.01)
    assert meta["converted_from_nm"] is True


def test_witec_area_scan_gives_one_spectrum_per_position(shared_data):
    data = read_spectra(_shared_witec(shared_data, "automatic_masking_example.wip"))
    positions = np.array([[m["position"][k] for k in "XY"] for m in data.metadata])
    assert len({tuple(p) for p in positions}) == 598
    assert positions[:, 0].min() == pytest.approx(-10.1, abs=0.05)
    assert positions[:, 0].max() == pytest.approx(15.1, abs=0.05)
    assert positions[:, 1].min() == pytest.approx(-8.6, abs=0.05)
    assert positions[:, 1].max() == pytest.approx(13.6, abs=0.05)
    meta = data.metadata[0]
    assert meta["excitation_nm"] == pytest.approx(532.07, abs=0.01)
    assert meta["converted_from_nm"] is True
    assert data.sources[0].startswith("automatic_masking_example.wip#0 Scan X=")


def test_witec_led_spectra_stay_in_nm_with_a_warning(shared_data):
    path = _shared_witec(shared_data, "D_stitch_spectra_v7.wip")
    with pytest.warns(UserWarning, match="not Raman.*wavelength"):
        data = read_spectra(path)
    assert len(data.spectra) == 26
    assert all(x.shape == (1600,) for x, _ in data.spectra)
    assert min(x.min() for x, _ in data.spectra) == pytest.approx(381.86, abs=0.01)
    assert max(x.max() for x, _ in data.spectra) == pytest.approx(764.71, abs=0.01)
    meta = data.metadata[0]
    assert (meta["raman"], meta["axis_kind"], meta["axis_unit"]) == (
        False, "wavelength", "nm",
    )
    # the measurement's Information text gives exposure and accumulations
    assert meta["exposure_s"] == pytest.approx(0.5, abs=1e-3)
    assert meta["accumulations"] == 60
    assert meta["header"]["Configuration"] == "Raman"


def test_witec_data_file_with_a_lookup_table_axis(shared_data):
    path = _shared_witec(shared_data, "test_wid_ref.wid")
    data, messages = _read_quietly(path)
    assert any("not Raman" in m for m in messages)
    (x, y), meta = data.spectra[0], data.metadata[0]
    assert x.shape == y.shape == (41600,)
    assert (x.min(), x.max()) == pytest.approx((381.86, 764.71), abs=0.01)
    assert meta["axis_kind"] == "unknown" and meta["raman"] is False


# ---------------------------------------------------------------- SPE


def test_spe_real_file(data_dir):
    path = data_dir / "vendor" / "S0N_50x.spe"
    data, messages = _read_quietly(path)
    assert messages == []
    (x, y), meta = data.spectra[0], data.metadata[0]
    assert data.sources == [path.name]
    assert x.shape == y.shape == (1340,)
    assert (y.min(), y.max()) == (623.0, 23399.0)
    assert meta["excitation_nm"] == 531.988  # the calibration's laserLine
    assert x[0] == pytest.approx(1e7 / 531.988 - 1e7 / 534.0005, abs=0.01)
    assert meta["instrument"] == "PyLoN: 400BR eXcelon"
    assert meta["exposure_s"] == pytest.approx(30.0)


def _spe_bytes(frames, laser=None, pixel="MonochromeFloating32", dtype="<f4"):
    """A minimal SPE 3.0 file: binary header, frames of one region, XML footer."""
    frames = np.asarray(frames, dtype=dtype)
    n_frames, height, width = frames.shape
    data = frames.tobytes()
    wavelengths = ",".join(f"{800 + i:g}" for i in range(width))
    laser_attribute = f' laserLine="{laser}"' if laser else ""
    size = height * width * frames.itemsize
    footer = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<SpeFormat version="3.0" xmlns="http://www.princetoninstruments.com/spe/2009">'
        f'<DataFormat><DataBlock type="Frame" count="{n_frames}" '
        f'pixelFormat="{pixel}" size="{size}" stride="{size}">'
        f'<DataBlock type="Region" count="1" width="{width}" height="{height}" '
        f'size="{size}" stride="{size}" /></DataBlock></DataFormat>'
        f'<Calibrations><WavelengthMapping id="1"{laser_attribute}>'
        f"<Wavelength>{wavelengths}</Wavelength></WavelengthMapping></Calibrations>"
        "</SpeFormat>"
    ).encode()
    header = bytearray(4100)
    struct.pack_into("<f", header, 1992, 3.0)
    struct.pack_into("<Q", header, 678, 4100 + len(data))
    return bytes(header) + data + footer


def test_spe_frames_and_rows_each_give_a_spectrum(tmp_path):
    frames = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    path = tmp_path / "multi.spe"
    path.write_bytes(_spe_bytes(frames, laser=785))
    data = read_spectra(path)
    assert len(data.spectra) == 6
    assert data.sources[4] == "multi.spe#4 frame=1,region=0,row=1"
    np.testing.assert_array_equal(data.spectra[4][1], frames[1, 1])
    expected_axis = 1e7 / 785 - 1e7 / np.arange(800, 804)
    np.testing.assert_allclose(data.spectra[0][0], expected_axis)
    assert data.metadata[5]["frame"] == 1 and data.metadata[5]["row"] == 2


def test_spe_without_laser_line_asks_for_the_excitation(tmp_path):
    path = tmp_path / "nolaser.spe"
    path.write_bytes(_spe_bytes(np.ones((1, 1, 5)), pixel="MonochromeUnsigned16",
                                dtype="<u2"))  # fmt: skip
    with pytest.raises(ValueError, match="nolaser.spe.*excitation_nm=.*excitation-nm"):
        read_spectra(path)
    data = read_spectra(path, excitation_nm=785.0)
    assert data.metadata[0]["excitation_nm"] == 785.0
    assert data.spectra[0][0].shape == (5,)


def test_spe_older_than_version_3_is_refused_clearly(tmp_path):
    raw = bytearray(_spe_bytes(np.ones((1, 1, 5))))
    struct.pack_into("<f", raw, 1992, 2.5)
    path = tmp_path / "winspec.spe"
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="winspec.spe: is an SPE file of version 2.5"):
        read_spectra(path)


# ---------------------------------------------------------------- LabSpec 6


def test_labspec6_file_is_refused_with_what_to_do(data_dir):
    path = data_dir / "vendor" / "PST10_iR785_OP01_8000msx8.l6s"
    with pytest.raises(ValueError, match="l6s: is a HORIBA LabSpec 6.*export") as info:
        read_spectra(path)
    assert str(path) in str(info.value)


# ---------------------------------------------------------------- corrupt files

SMALL_FILES = [
    "nCal_Qontor785_z005H12_100_1x3s.spc",
    "py-wdf-reader_ex1_single.wdf",
    "DD58_785_1_Fe2O3_5x10s.sif",
    "test_opus.0",
    "jtpolysd.jdx",
    "S0N_50x.spe",
    "PST10_iR785_OP01_8000msx8.l6s",
    "witec_scan_3x2.wip",
]


def _corruptions(raw, header_size=512):
    """The damaged copies every reader must refuse with a clear error."""
    rng = np.random.default_rng(0)
    return {
        "truncated": raw[: len(raw) // 2],
        "header-zeroed": bytes(min(header_size, len(raw))) + raw[header_size:],
        "empty": b"",
        "random": rng.bytes(len(raw)),
    }


def _check_corrupt_copy(source, tmp_path, damage):
    _needs(source)
    if source.suffix != ".l6s":  # a LabSpec 6 file is refused even when intact
        _read_quietly(source)  # the intact file reads (and the library is imported)
    path = tmp_path / f"{damage}{source.suffix}"
    # SPE's binary header is 4100 bytes, its first 512 unused by SPE 3.0 readers
    header_size = 4100 if source.suffix == ".spe" else 512
    path.write_bytes(_corruptions(source.read_bytes(), header_size)[damage])
    start = time.process_time()
    with pytest.raises(ValueError) as info:
        _read_quietly(path)
    assert time.process_time() - start < 1.0
    assert path.name in str(info.value)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name", ["D_stitch_spectra_v7.wip", "test_wid_ref.wid"])
@pytest.mark.parametrize("damage", ["truncated", "header-zeroed", "empty", "random"])
def test_corrupt_witec_copy_gives_clear_error(shared_data, tmp_path, name, damage):
    _check_corrupt_copy(_shared_witec(shared_data, name), tmp_path, damage)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name", SMALL_FILES)
@pytest.mark.parametrize("damage", ["truncated", "header-zeroed", "empty", "random"])
def test_corrupt_copy_gives_clear_error_naming_the_file(
    data_dir, tmp_path, name, damage
):
    _check_corrupt_copy(data_dir / "vendor" / name, tmp_path, damage)
