"""Reader of Renishaw WiRE map text exports (header ``#X #Y #Wave #Intensity``).

One spectrum per consecutive (X, Y, ...) position, in file order. The table
reader finds the data block and hands it here when the line above it is a
WiRE header.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._base import record
from ._text import to_floats


def position_columns(line: str) -> list[str] | None:
    """Return the position columns of a WiRE header ``#X #Y #Wave #Intensity``."""
    tokens = line.split()
    if (
        len(tokens) >= 2
        and all(token.startswith("#") and len(token) > 1 for token in tokens)
        and [t.lower() for t in tokens[-2:]] == ["#wave", "#intensity"]
    ):
        return [token[1:] for token in tokens[:-2]]
    return None


def read_blocks(
    first_lineno, first, rows, positions, header, path: Path, decimal_comma: bool
) -> list[dict[str, Any]]:
    """Split a WiRE export into one spectrum per consecutive (X, Y, ...) position."""
    width = len(first)
    n_pos = len(positions)
    blocks: list[tuple[tuple[str, ...], list[list[float]]]] = []
    for number, cells in [(first_lineno, first), *rows]:
        if len(cells) != width:
            raise ValueError(
                f"{path}: line {number} has {len(cells)} values but the WiRE header "
                f"{['#' + p for p in positions] + ['#Wave', '#Intensity']} has {width}"
            )
        values = to_floats(cells, path, number, decimal_comma, "data block")
        key = tuple(cells[:n_pos])
        if not blocks or blocks[-1][0] != key:
            blocks.append((key, []))
        blocks[-1][1].append(values)
    records = []
    for index, (key, values) in enumerate(blocks):
        array = np.asarray(values, dtype=np.float64)
        position = {name: float(array[0, k]) for k, name in enumerate(positions)}
        if n_pos:
            where = ",".join(
                f"{name}={text}" for name, text in zip(positions, key, strict=True)
            )
            source = f"{path.name}#{index} {where}"
        else:
            source = path.name
        meta = {"format": "renishaw-wire", "header": dict(header), "block": index,
                "position": position}  # fmt: skip
        records.append(record(array[:, -2], array[:, -1], source, meta))
    return records
