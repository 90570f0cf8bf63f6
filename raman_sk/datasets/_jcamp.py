"""Reader of JCAMP-DX files (``.jdx``, ``.dx``) through jcamp.

The ASDF forms (FIX, PAC, SQZ, DIF, DUP) and LINK files with several blocks
(one spectrum per block) are decoded by jcamp. ``$$`` comments are removed
before the text reaches it: the standard allows them at the end of any line,
and jcamp keeps them in header values (a ``##YFACTOR=`` followed by a comment
then fails). A file jcamp still cannot decode, or whose point count differs
from its ``##NPOINTS=`` (a truncated file), gives a ValueError naming the file.

Only a ``RAMAN SPECTRUM`` data type is Raman: its ``1/CM`` axis is the Raman
shift. Other data types (infrared, UV/VIS, ...) keep their axis as recorded
and are flagged as non-Raman content.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ._base import ReadOptions, SpectrumFile, record
from ._vendor import call, import_library, text_header

WHAT = "JCAMP-DX"
_SIGNATURE = re.compile(rb"^##\s*JCAMP-?DX\s*=", re.IGNORECASE | re.MULTILINE)
_X_UNITS = {
    "1/cm": ("wavenumber", "cm-1", 1.0),
    "nanometers": ("wavelength", "nm", 1.0),
    "nm": ("wavelength", "nm", 1.0),
    "micrometers": ("wavelength", "nm", 1000.0),
}


def detect(file: SpectrumFile) -> bool:
    """Whether the file is JCAMP-DX text: ``##`` labels with a ``##JCAMP-DX=``."""
    head = file.raw[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"##") and _SIGNATURE.search(head) is not None


def _blocks(parsed: dict) -> list[dict]:
    """Return the data blocks: the file itself, or the children of a LINK file."""
    children = parsed.get("children") or []
    return [block for block in children if len(block.get("y", ()))] or [parsed]


def _spectrum(block: dict, path, index: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(block.get("x", ()), dtype=np.float64)
    y = np.asarray(block.get("y", ()), dtype=np.float64)
    expected = block.get("npoints")
    if len(y) == 0 or len(x) != len(y) or (
        isinstance(expected, int) and len(y) != expected
    ):
        raise ValueError(
            f"{path}: block {index} of the JCAMP-DX file has {len(y)} values for "
            f"{len(x)} axis points (##NPOINTS={expected}); the file is truncated or "
            "corrupt"
        )
    return x, y


def read(file: SpectrumFile, options: ReadOptions) -> list[dict[str, Any]]:
    """Read every spectrum block of a JCAMP-DX file with jcamp."""
    path = file.path
    jcamp = import_library("jcamp", "jcamp", WHAT, path)
    lines = [line.split("$$", 1)[0] + "\n" for line in file.lines]
    try:
        parsed = call(path, WHAT, jcamp.read, lines)
    except ValueError as exc:
        raise ValueError(
            f"{path}: the JCAMP-DX reader (jcamp) could not decode this file "
            f"({exc.__cause__!r}); its compressed data may use an ASDF form the "
            "reader mishandles, or the file is truncated or corrupt. Save it as "
            "uncompressed (AFFN) JCAMP-DX or as a text table"
        ) from exc.__cause__
    blocks = _blocks(parsed)
    records = []
    for index, block in enumerate(blocks):
        x, y = _spectrum(block, path, index)
        data_type = str(block.get("data type", block.get("datatype", ""))).upper()
        x_unit = str(block.get("xunits", "")).strip().lower()
        kind, unit, scale = _X_UNITS.get(x_unit, (x_unit or "unknown", None, 1.0))
        raman = "RAMAN" in data_type and unit is not None
        if raman and kind == "wavenumber":
            kind = "raman shift"
        header = text_header(
            (key, value)
            for key, value in block.items()
            if key not in ("x", "y", "children") and not isinstance(value, list)
        )
        meta = {
            "format": "jcamp",
            "header": header,
            "axis_kind": kind,
            "axis_unit": unit,
            "raman": raman,
            "data_type": data_type or None,
            "instrument": header.get("spectrometer/data system") or None,
        }
        source = path.name
        if len(blocks) > 1:
            title = header.get("title", "")
            meta["block"] = index
            source = f"{path.name}#{index} {title}".rstrip()
        records.append(record(x * scale, y, source, meta))
    return records
