"""Cell parsing shared by the text readers: cells, numbers, ``key=value`` headers."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NoReturn


def is_number(cell: str, decimal_comma: bool) -> bool:
    """Whether the cell parses as a float (with a decimal comma if asked)."""
    try:
        float(cell.replace(",", ".") if decimal_comma else cell)
    except ValueError:
        return False
    return True


def split_cells(line: str, delimiter: str | None) -> list[str]:
    """Split a line into stripped cells; trailing empty cells are dropped."""
    if delimiter is None:
        cells = line.split()
    else:
        cells = [cell.strip().strip('"').strip() for cell in line.split(delimiter)]
    while cells and cells[-1] == "":
        cells.pop()
    return cells


def key_values(lines: Iterable[str]) -> dict[str, str]:
    """Collect `key=value`, `key;value`, `key: value` or `key<TAB>value` pairs."""
    header: dict[str, str] = {}
    for line in lines:
        text = line.strip().lstrip("#%").strip()
        for separator in ("=", ";", ":", "\t"):
            if separator in text:
                key, value = text.split(separator, 1)
                key = key.strip()
                value = value.strip().rstrip(";").strip()
                if key and key not in header:
                    header[key] = value
                break
    return header


def _raise_cell(path: Path, lineno: int, column: int, cell: str, what: str) -> NoReturn:
    text = cell.lower().lstrip("+-")
    if cell == "":
        problem = "a missing (empty) value"
    elif text in ("nan", "na", "n/a", "null", "none"):
        problem = "a missing value (NaN)"
    elif text in ("inf", "infinity"):
        problem = f"an infinite value ({cell!r})"
    else:
        problem = f"the non-numeric value {cell[:30]!r}"
    raise ValueError(
        f"{path}: line {lineno}, column {column}: {problem} in the {what}; every "
        "row of the data block must hold finite numbers"
    )


def to_floats(
    cells: Sequence[str],
    path: Path,
    lineno: int,
    decimal_comma: bool,
    what: str,
    first_column: int = 1,
) -> list[float]:
    """Parse cells as finite floats or raise a ValueError naming file, line and cell."""
    values = []
    for offset, cell in enumerate(cells):
        try:
            value = float(cell.replace(",", ".") if decimal_comma else cell)
        except ValueError:
            _raise_cell(path, lineno, first_column + offset, cell, what)
        if not math.isfinite(value):
            _raise_cell(path, lineno, first_column + offset, cell, what)
        values.append(value)
    return values
