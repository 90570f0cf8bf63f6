"""``raman-sk predict`` on files whose axis is in nm: ``--excitation-nm``."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raman_sk.cli import main

MODEL = Path(__file__).parent / "data" / "legacy_v0_1" / "train_model"
LASER_NM = 785.0


def _spectrum(shift):
    return np.exp(-(((shift - 1000.0) / 8.0) ** 2)) + 0.02


def _write(path, axis, values, header):
    rows = "".join(f"{a:.6f}\t{v:.6f}\n" for a, v in zip(axis, values, strict=True))
    path.write_text(f"{header}\tIntensity\n{rows}")
    return path


@pytest.fixture
def files(tmp_path):
    shift = np.arange(440.0, 1812.0, 1.0)
    nm = 1e7 / (1e7 / LASER_NM - shift)
    values = _spectrum(shift)
    return (
        _write(tmp_path / "shift.txt", shift, values, "Raman shift (cm-1)"),
        _write(tmp_path / "nm.txt", nm, values, "Wavelength (nm)"),
    )


def _predict(tmp_path, name, *argv):
    out = tmp_path / f"{name}.csv"
    code = main(["predict", str(MODEL), *map(str, argv), "--out", str(out)])
    return code, (pd.read_csv(out) if code == 0 else None)


def test_nm_axis_with_excitation_predicts_like_the_raman_shift_file(files, tmp_path):
    shift_file, nm_file = files
    code, by_shift = _predict(tmp_path, "shift", shift_file)
    assert code == 0
    code, by_nm = _predict(tmp_path, "nm", nm_file, "--excitation-nm", LASER_NM)
    assert code == 0
    probs = [c for c in by_shift.columns if c.startswith("prob_")]
    assert probs == ["prob_a", "prob_b"]
    assert by_nm["label"].tolist() == by_shift["label"].tolist() == ["b"]
    np.testing.assert_allclose(by_nm[probs], by_shift[probs], atol=1e-3)


def test_nm_axis_without_excitation_names_the_option(files, tmp_path, capsys):
    code, _ = _predict(tmp_path, "nm", files[1])
    assert code == 2
    err = capsys.readouterr().err
    assert "nm.txt" in err and "excitation" in err
