"""Reader of BWTek BWSpec/BWRam exports.

A long ``key;value`` header, then a ``Pixel;...;Raman Shift;...`` table in
semicolon CSV with decimal commas; one spectrum per file.
"""

from __future__ import annotations

import re
from typing import Any

from ._base import ReadOptions, SpectrumFile, record
from ._text import key_values, split_cells, to_floats


def _table_header(lines: list[str]) -> int | None:
    """Index of the ``Pixel;...;Raman Shift;...`` line, or None if there is none."""
    for index, line in enumerate(lines):
        head = line.lstrip()[:6].lower()
        if head.startswith("pixel") and re.match(r"pixel\s*[;\t,]", line.strip(), re.I):
            lowered = line.lower()
            if "raman shift" in lowered or "wavelength" in lowered:
                return index
    return None


def detect(file: SpectrumFile) -> bool:
    """Whether the file is a BWTek export: text with a ``Pixel;...`` table header."""
    return _table_header(file.lines) is not None


def read(file: SpectrumFile, options: ReadOptions) -> list[dict[str, Any]]:
    """Read a BWTek BWSpec/BWRam export (semicolon CSV with decimal commas)."""
    lines, path, bwtek_column = file.lines, file.path, options.bwtek_column
    header_index = _table_header(lines)
    header = key_values(lines[:header_index])
    header_line = lines[header_index]
    delimiter = ";" if ";" in header_line else "\t" if "\t" in header_line else ","
    decimal_comma = delimiter != ","
    columns = split_cells(header_line, delimiter)
    lookup = {name.lower(): index for index, name in enumerate(columns)}
    if bwtek_column.strip().lower() not in lookup:
        raise ValueError(
            f"{path}: bwtek_column={bwtek_column!r} is not a column of this BWTek "
            f"file; available columns: {columns}"
        )
    value_index = lookup[bwtek_column.strip().lower()]
    shift_index = lookup.get("raman shift")
    wavelength_index = lookup.get("wavelength")
    needed = max(
        i for i in (value_index, shift_index, wavelength_index) if i is not None
    )
    raw_rows = []
    for offset, line in enumerate(lines[header_index + 1 :], start=header_index + 2):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(delimiter)]
        if len(cells) <= needed:
            raise ValueError(
                f"{path}: line {offset} has {len(cells)} cells but the table header "
                f"has {len(columns)} columns ({columns})"
            )
        raw_rows.append((offset, cells))
    if not raw_rows:
        raise ValueError(
            f"{path}: the BWTek table below line {header_index + 1} is empty"
        )
    # The Raman shift is the axis; pixels without one (outside the calibrated
    # range) are dropped. Without any Raman shift, fall back to the wavelength.
    axis_index, axis_unit = shift_index, "cm-1"
    if shift_index is None or all(cells[shift_index] == "" for _, cells in raw_rows):
        if wavelength_index is None or all(
            cells[wavelength_index] == "" for _, cells in raw_rows
        ):
            raise ValueError(
                f"{path}: the BWTek table has no 'Raman Shift' or 'Wavelength' values"
            )
        axis_index, axis_unit = wavelength_index, "nm"
    x, y = [], []
    for lineno, cells in raw_rows:
        if cells[axis_index] == "":
            continue
        (xv,) = to_floats(
            [cells[axis_index]],
            path,
            lineno,
            decimal_comma,
            f"{columns[axis_index]!r} column",
            axis_index + 1,
        )
        (yv,) = to_floats(
            [cells[value_index]],
            path,
            lineno,
            decimal_comma,
            f"{columns[value_index]!r} column",
            value_index + 1,
        )
        x.append(xv)
        y.append(yv)
    if len(x) < 2:
        raise ValueError(
            f"{path}: only {len(x)} pixel(s) of the BWTek table have a "
            f"{columns[axis_index]!r} value; a spectrum needs at least two points"
        )
    meta = {
        "format": "bwtek",
        "header": header,
        "columns": columns,
        "intensity_column": columns[value_index],
        "n_dropped_pixels": len(raw_rows) - len(x),
        "axis_unit": axis_unit,
    }
    return [record(x, y, path.name, meta)]
