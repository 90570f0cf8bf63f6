"""Reader of delimited text tables: two-column and multi-column text (e.g. LabSpec).

It finds the data block (the first row of numbers after any header and comment
lines), the delimiter and the decimal mark, reads two-column and long
multi-column layouts itself and hands Renishaw WiRE maps and wide tables to
their readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _renishaw, _wide
from ._base import ReadOptions, SpectrumFile, record
from ._text import is_number, key_values, split_cells, to_floats

_COMMENT_PREFIXES = ("#", "%")


def _detect_delimiter(candidates: Sequence[str]) -> str | None:
    """Pick the delimiter of the data lines: tab, semicolon, comma or whitespace."""
    if any("\t" in line for line in candidates):
        return "\t"
    if any(";" in line for line in candidates):
        return ";"
    with_comma = [line for line in candidates if "," in line]
    # With whitespace-separated decimal commas ("450,5 0,25") a comma split never
    # leaves two numbers at the end of a line, so one such line decides.
    if any(_numeric_suffix(split_cells(line, ","), False) >= 2 for line in with_comma):
        return ","
    return None


def _numeric_suffix(cells: Sequence[str], decimal_comma: bool) -> int:
    """Count the numeric cells at the end of a row (after any label cells)."""
    count = 0
    for cell in reversed(cells):
        if not is_number(cell, decimal_comma):
            break
        count += 1
    return count


def _strictly_monotonic(values: np.ndarray) -> bool:
    steps = np.diff(values)
    return values.size >= 2 and (bool(np.all(steps > 0)) or bool(np.all(steps < 0)))


def detect(file: SpectrumFile) -> bool:
    """Accept every text file: the fallback reader, listed last."""
    return True


def read(file: SpectrumFile, options: ReadOptions) -> list[dict[str, Any]]:
    """Read a delimited text table: two-column, multi-column, WiRE map or wide."""
    lines, path = file.lines, file.path
    content = [
        (number, line.strip())
        for number, line in enumerate(lines, start=1)
        if line.strip()
    ]
    if not content:
        raise ValueError(f"{path}: the file is empty (no data lines)")
    is_comment = [text.startswith(_COMMENT_PREFIXES) for _, text in content]
    table = [item for item, comment in zip(content, is_comment, strict=True)
             if not comment]  # fmt: skip
    sample = []
    for _, text in reversed(table):
        if any(char.isdigit() for char in text):
            sample.append(text)
            if len(sample) == 10:
                break
    delimiter = _detect_delimiter(sample)
    decimal_comma = delimiter != ","

    # Find the first line of the data block.
    start = None
    for position, (_, text) in enumerate(content):
        if is_comment[position]:
            continue
        cells = split_cells(text, delimiter)
        n_numbers = _numeric_suffix(cells, decimal_comma)
        n_labels = len(cells) - n_numbers
        if n_labels == 0 and n_numbers >= 2:
            start = position
            break
        if n_labels >= 1 and n_numbers >= 3:
            following = next(
                (i for i in range(position + 1, len(content)) if not is_comment[i]),
                None,
            )
            if following is not None and len(
                split_cells(content[following][1], delimiter)
            ) == len(cells):
                start = position
                break
    if start is None:
        raise ValueError(
            f"{path}: no data block found: expected rows of at least two numbers "
            "(wavenumber and intensity) or a wide table with wavenumbers as column "
            "headers"
        )

    header_texts = [text for _, text in content[:start]]
    names_line = header_texts[-1] if header_texts else None
    first_lineno, first_text = content[start]
    first = split_cells(first_text, delimiter)
    # The line just above the data holds column names when it splits like the
    # data (or is a WiRE header); it is not a key/value pair then.
    names = split_cells(names_line.lstrip("#%"), delimiter) if names_line else []
    if (
        len(names) != len(first)
        or any(is_number(n, decimal_comma) or "=" in n for n in names)
        or (names and names[0].endswith(":"))
    ):
        names = []
    is_names_line = bool(names) or (
        names_line is not None and _renishaw.position_columns(names_line) is not None
    )
    header = key_values(header_texts[:-1] if is_names_line else header_texts)
    rows = [
        (number, split_cells(text, delimiter))
        for (number, text), comment in zip(
            content[start + 1 :], is_comment[start + 1 :], strict=True
        )
        if not comment
    ]

    # Renishaw WiRE export: '#X #Y #Wave #Intensity', one block per position.
    positions = _renishaw.position_columns(names_line) if names_line else None
    if positions is not None and len(first) == len(positions) + 2:
        return _renishaw.read_blocks(
            first_lineno, first, rows, positions, header, path, decimal_comma
        )

    n_labels = len(first) - _numeric_suffix(first, decimal_comma)
    if n_labels > 0:
        return _wide.read_rows(
            first_lineno, first, n_labels, rows, header, path, decimal_comma
        )

    width = len(first)
    if (
        width >= 3
        and rows
        and len({len(cells) for _, cells in rows}) == 1
        and len(rows[0][1]) > width
        and _strictly_monotonic(
            np.asarray(to_floats(first, path, first_lineno, decimal_comma, "data"))
        )
    ):
        # a numeric header row of wavenumbers above rows with unnamed labels
        return _wide.read_rows(
            first_lineno, first, 0, rows, header, path, decimal_comma
        )
    matrix_rows = [to_floats(first, path, first_lineno, decimal_comma, "data block")]
    for number, cells in rows:
        if len(cells) != width:
            # a non-numeric cell is the clearer message (e.g. a footer line)
            to_floats(cells, path, number, decimal_comma, "data block")
            raise ValueError(
                f"{path}: line {number} has {len(cells)} values but the data block "
                f"starting at line {first_lineno} has {width} columns"
            )
        matrix_rows.append(to_floats(cells, path, number, decimal_comma, "data block"))
    matrix = np.asarray(matrix_rows, dtype=np.float64)
    axis_name = names[0] if names else None

    if width == 2:
        if matrix.shape[0] < 2:
            raise ValueError(
                f"{path}: the data block holds a single row (line {first_lineno}); a "
                "spectrum needs at least two points"
            )
        meta = {"format": "two-column", "header": header, "columns": names,
                "axis_name": axis_name}  # fmt: skip
        return [record(matrix[:, 0], matrix[:, 1], path.name, meta)]

    # Three or more numeric columns: either a wide table whose first row is the
    # axis, or a long table whose first column is the axis.
    first_row_axis = _strictly_monotonic(matrix[0])
    first_col_axis = _strictly_monotonic(matrix[:, 0])
    if names or (first_col_axis and not (first_row_axis and width > matrix.shape[0])):
        records = []
        for j in range(1, width):
            label = names[j] if names else f"column {j + 1}"
            meta = {"format": "multi-column", "header": header, "columns": names,
                    "axis_name": axis_name, "block": j - 1, "label": label}  # fmt: skip
            records.append(
                record(matrix[:, 0], matrix[:, j], f"{path.name}#{j - 1} {label}", meta)
            )
        return records
    if first_row_axis:
        return _wide.read_rows(
            first_lineno, first, 0, rows, header, path, decimal_comma
        )
    raise ValueError(
        f"{path}: a table of {width} numeric columns without column names, whose "
        "first row and first column are both not monotonic: cannot tell which holds "
        "the wavenumber axis"
    )
