"""labels.csv: read the labels of users' spectra and match them to the spectra read.

A labels file has a ``label`` column and a ``file`` column (the file name of
each spectra file) and/or a ``source`` column (the source of one spectrum of a
multi-spectrum file, as in :attr:`read_spectra(...).sources`); an optional
``group`` column holds the group of each row for grouped cross-validation.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["match_labels", "read_labels"]


def read_labels(path: str | os.PathLike) -> pd.DataFrame:
    r"""Read a labels CSV file into a table of stripped strings.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file: columns ``file`` (or ``source``) and ``label``, optionally
        ``group``; column names are matched case-insensitively. Bytes are
        decoded as UTF-8 (with or without a byte-order mark), else Latin-1.

    Returns
    -------
    labels : pandas.DataFrame
        One row per line, columns lower-cased, every cell a stripped ``str``
        (empty where the file has none).

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ValueError
        If the file is not a readable CSV, lacks the columns or has an empty
        label; the message names the file (and the lines).

    See Also
    --------
    match_labels : The label of each spectrum read.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from raman_sk.datasets import read_labels
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "labels.csv"
    ...     _ = path.write_text("File,Label\na.txt, lipid\nb.txt,protein\n")
    ...     labels = read_labels(path)
    >>> labels.to_dict("list")
    {'file': ['a.txt', 'b.txt'], 'label': ['lipid', 'protein']}
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"labels file {str(path)!r} does not exist.")
    raw = Path(path).read_bytes()
    # like read_spectra: UTF-8 (with or without BOM), else Latin-1 (never fails)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise ValueError(f"labels file {str(path)!r} is not a readable CSV: {e}") from e
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "label" not in frame.columns or not ({"file", "source"} & set(frame.columns)):
        raise ValueError(
            f"labels file {str(path)!r} needs the columns 'file' (or 'source') and "
            f"'label' (optional: 'group'); it has {list(frame.columns)}."
        )
    for col in frame.columns:
        frame[col] = frame[col].astype(object).map(lambda v: str(v).strip())
    if (frame["label"] == "").any():
        rows = (np.flatnonzero(frame["label"] == "") + 2).tolist()
        raise ValueError(
            f"labels file {str(path)!r} has empty labels on line(s) {rows}."
        )
    return frame


def match_labels(
    spectra, labels: pd.DataFrame, labels_path: str | os.PathLike
) -> tuple[np.ndarray, np.ndarray]:
    """Give each spectrum read its label (and group), by source or by file name.

    A row whose ``source`` equals a spectrum's source labels that spectrum;
    otherwise the row whose ``file`` is the name of the spectrum's file does.
    Every spectrum needs a row and every row must label some spectrum.

    Parameters
    ----------
    spectra : :class:`~sklearn.utils.Bunch`
        As returned by :func:`read_spectra` (``sources`` and ``metadata``
        with each spectrum's ``path``).
    labels : pandas.DataFrame
        As returned by :func:`read_labels`.
    labels_path : str or os.PathLike
        The labels file, named in the messages.

    Returns
    -------
    y : ndarray of shape (n_spectra,), dtype object
        The label of each spectrum.
    groups : ndarray of shape (n_spectra,), dtype object
        The ``group`` of each spectrum when every matched row has one, else
        the path of its file (replicates in one file stay together).

    Raises
    ------
    ValueError
        If a file is listed twice, a spectrum has no label or a row labels no
        spectrum.

    See Also
    --------
    read_labels : Read the labels file.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.utils import Bunch
    >>> from raman_sk.datasets import match_labels
    >>> spectra = Bunch(sources=["a.txt", "b.txt"],
    ...                 metadata=[{"path": "d/a.txt"}, {"path": "d/b.txt"}])
    >>> labels = pd.DataFrame({"file": ["b.txt", "a.txt"], "label": ["y", "x"]})
    >>> y, groups = match_labels(spectra, labels, "labels.csv")
    >>> y.tolist(), groups.tolist()
    (['x', 'y'], ['d/a.txt', 'd/b.txt'])
    """
    sources = list(spectra.sources)
    paths = [Path(m["path"]) for m in spectra.metadata]
    by_source, by_file = {}, {}
    if "source" in labels.columns:
        for i, row in labels.iterrows():
            if row["source"]:
                by_source[row["source"]] = i
    if "file" in labels.columns:
        for i, row in labels.iterrows():
            if row.get("file", ""):
                by_file.setdefault(Path(row["file"]).name, []).append(i)
    for name, rows in by_file.items():
        if len(rows) > 1:
            raise ValueError(
                f"labels file {str(labels_path)!r} lists the file {name!r} "
                f"{len(rows)} times; give one row per file (or use a 'source' "
                "column for multi-spectrum files)."
            )
    chosen, missing = [], []
    for src, path in zip(sources, paths, strict=True):
        if src in by_source:
            chosen.append(by_source[src])
        elif path.name in by_file:
            chosen.append(by_file[path.name][0])
        else:
            chosen.append(None)
            missing.append(src)
    if missing:
        raise ValueError(
            f"no label for {len(missing)} spectrum(s) in {str(labels_path)!r}: "
            f"{missing[:5]}{' ...' if len(missing) > 5 else ''}; add rows whose "
            "'file' is the file name (or whose 'source' is the spectrum's source)."
        )
    unused = sorted(set(range(len(labels))) - set(chosen))
    if unused:
        show = labels.iloc[unused[:5]]
        names = (show["file"] if "file" in show else show["source"]).tolist()
        raise ValueError(
            f"{len(unused)} row(s) of {str(labels_path)!r} match no spectra file "
            f"given: {names}{' ...' if len(unused) > 5 else ''}."
        )
    rows = labels.iloc[chosen]
    y = rows["label"].to_numpy(dtype=object)
    if "group" in labels.columns and (rows["group"] != "").all():
        groups = rows["group"].to_numpy(dtype=object)
    else:  # replicates in one file stay together
        groups = np.asarray([str(p) for p in paths], dtype=object)
    return y, groups
