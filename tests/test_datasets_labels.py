"""Tests of raman_sk.datasets.read_labels and match_labels (the labels CSV)."""

import codecs
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.utils import Bunch

from raman_sk.datasets import match_labels, read_labels, read_spectra

HORIBA = "arcadia_chlamy/CC-124-MN-1.txt"
RENISHAW = "arcadia_chlamy/2024-11-12_CC-124_MN_slide_10_cells_2_first3cells.txt"


def _spectra(*paths, sources=None):
    """A read_spectra-like Bunch: one spectrum per path unless sources say more."""
    sources = sources or [Path(p).name for p in paths]
    return Bunch(sources=list(sources), metadata=[{"path": str(p)} for p in paths])


# ---------------------------------------------------------------- read_labels


def test_read_labels_strips_cells_and_lowercases_columns(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text(" File , Label ,Group\n a.txt , x ,g1\nb.txt,y,\n")
    labels = read_labels(path)
    assert labels.columns.tolist() == ["file", "label", "group"]
    assert labels.to_dict("list") == {
        "file": ["a.txt", "b.txt"],
        "label": ["x", "y"],
        "group": ["g1", ""],
    }
    assert read_labels(str(path)).equals(labels)  # str paths too


@pytest.mark.parametrize(
    ("encoding", "newline", "bom"),
    [("utf-8", "\r\n", codecs.BOM_UTF8), ("latin-1", "\n", b""), ("utf-8", "\r", b"")],
)
def test_read_labels_encodings_and_line_ends(tmp_path, encoding, newline, bom):
    rows = ["file,label", "a.txt,äb", "b.txt,b"]
    path = tmp_path / "labels.csv"
    path.write_bytes(bom + newline.join(rows).encode(encoding) + newline.encode())
    labels = read_labels(path)
    assert labels.columns.tolist() == ["file", "label"]
    assert labels["label"].tolist() == ["äb", "b"]


def test_read_labels_source_column_alone(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("source,label\nmap.txt#0 X=1,a\n")
    assert read_labels(path)["source"].tolist() == ["map.txt#0 X=1"]


def test_read_labels_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"labels file .*none.csv' does not"):
        read_labels(tmp_path / "none.csv")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_labels(tmp_path)  # a directory is not a labels file
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("name,class\nspec_00.txt,alpha\n")
    with pytest.raises(ValueError, match=r"needs the columns 'file' \(or 'source'\)"):
        read_labels(wrong)
    no_label = tmp_path / "no_label.csv"
    no_label.write_text("file,group\na.txt,g\n")
    with pytest.raises(ValueError, match=r"it has \['file', 'group'\]"):
        read_labels(no_label)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="is not a readable CSV"):
        read_labels(empty)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("file,label\na.txt,x\nb.txt,y,z,w\n")
    with pytest.raises(ValueError, match="is not a readable CSV"):
        read_labels(ragged)
    blank = tmp_path / "blank.csv"
    blank.write_text("file,label\na.txt,x\nb.txt, \nc.txt,y\nd.txt,\n")
    with pytest.raises(ValueError, match=r"has empty labels on line\(s\) \[3, 5\]"):
        read_labels(blank)


# --------------------------------------------------------------- match_labels


def test_match_by_file_name_in_spectra_order(tmp_path):
    spectra = _spectra(tmp_path / "a.txt", tmp_path / "sub" / "b.txt")
    labels = pd.DataFrame({"file": ["dir/b.txt", "a.txt"], "label": ["y", "x"]})
    y, groups = match_labels(spectra, labels, tmp_path / "l.csv")
    assert y.tolist() == ["x", "y"] and y.dtype == object
    # no group column: one group per file
    assert groups.tolist() == [str(tmp_path / "a.txt"), str(tmp_path / "sub/b.txt")]


def test_group_column_used_only_when_complete(tmp_path):
    spectra = _spectra(tmp_path / "a.txt", tmp_path / "b.txt")
    labels = pd.DataFrame(
        {"file": ["a.txt", "b.txt"], "label": ["x", "y"], "group": ["g", "g"]}
    )
    _, groups = match_labels(spectra, labels, "l.csv")
    assert groups.tolist() == ["g", "g"] and groups.dtype == object
    labels["group"] = ["g", ""]
    _, groups = match_labels(spectra, labels, "l.csv")
    assert groups.tolist() == [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]


def test_source_wins_over_file(tmp_path):
    path = tmp_path / "map.txt"
    spectra = _spectra(path, path, sources=["map.txt#0 X=1", "map.txt#1 X=2"])
    labels = pd.DataFrame(
        {"source": ["map.txt#1 X=2", ""], "file": ["", "map.txt"], "label": ["b", "a"]}
    )
    y, groups = match_labels(spectra, labels, "l.csv")
    assert y.tolist() == ["a", "b"]
    assert len(set(groups)) == 1  # replicates in one file stay together


def test_labels_by_source_for_multi_spectrum_files(data_dir, tmp_path):
    spectra = read_spectra([data_dir / RENISHAW, data_dir / HORIBA])
    labels = pd.DataFrame(
        {
            "source": [*spectra.sources[:3], ""],
            "file": ["", "", "", Path(HORIBA).name],
            "label": ["a", "b", "a", "b"],
        }
    )
    y, groups = match_labels(spectra, labels, tmp_path / "l.csv")
    assert y.tolist() == ["a", "b", "a", "b"]
    assert len(set(groups[:3])) == 1  # no group column: one group per file


def test_match_errors(tmp_path):
    names = [f"spec_{i:02d}.txt" for i in range(7)]
    spectra = _spectra(*(tmp_path / n for n in names))
    labels = pd.DataFrame({"file": names, "label": ["x"] * 7})
    where = tmp_path / "labels.csv"
    with pytest.raises(ValueError, match=r"no label for 1 spectrum\(s\) in .*labels"):
        match_labels(spectra, labels.iloc[1:].reset_index(drop=True), where)
    with pytest.raises(ValueError, match=r"\['spec_00.txt'\]; add rows whose 'file'"):
        match_labels(spectra, labels.iloc[1:].reset_index(drop=True), where)
    with pytest.raises(ValueError, match=r"no label for 6 .*spec_05.txt'\] \.\.\."):
        match_labels(spectra, labels.iloc[:1], where)
    fewer = _spectra(*(tmp_path / n for n in names[1:]))
    with pytest.raises(
        ValueError, match=r"1 row\(s\) of .* match no spectra file given: \['spec_00"
    ):
        match_labels(fewer, labels, where)
    dup = pd.concat([labels, labels.iloc[:1]], ignore_index=True)
    with pytest.raises(ValueError, match="lists the file 'spec_00.txt' 2 times"):
        match_labels(spectra, dup, where)
    sources = pd.DataFrame({"source": ["nowhere#0", *names], "label": ["x"] * 8})
    with pytest.raises(ValueError, match=r"match no spectra file given: \['nowhere#0"):
        match_labels(_spectra(*(tmp_path / n for n in names)), sources, where)


def test_read_then_match_round_trip(tmp_path):
    for name in ("a.txt", "b.txt"):
        np.savetxt(tmp_path / name, [[400.0, 1.0], [401.0, 2.0]], delimiter="\t")
    (tmp_path / "labels.csv").write_text("file,label,group\na.txt,x,1\nb.txt,y,2\n")
    spectra = read_spectra([tmp_path / "a.txt", tmp_path / "b.txt"])
    y, groups = match_labels(spectra, read_labels(tmp_path / "labels.csv"), "l.csv")
    assert y.tolist() == ["x", "y"] and groups.tolist() == ["1", "2"]
