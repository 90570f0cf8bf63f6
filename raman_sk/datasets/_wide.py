"""Reader of wide tables: wavenumbers as column headers, one spectrum per row.

Leading non-numeric columns hold sample names or positions. The table reader
finds the header row and hands the table here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._base import record
from ._text import to_floats


def read_rows(
    first_lineno, first, n_labels, rows, header, path: Path, decimal_comma: bool
) -> list[dict[str, Any]]:
    """Read a wide table: wavenumbers as column headers, one spectrum per row."""
    label_names = first[:n_labels]
    axis = np.asarray(
        to_floats(
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
        values = to_floats(cells[k:], path, number, decimal_comma, "intensities", k + 1)
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
        records.append(record(axis, values, source, meta))
    return records
