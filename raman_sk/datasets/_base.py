"""What every spectra-file reader shares: its input file, its options, its output.

A reader of :func:`raman_sk.datasets.read_spectra` is a pair of functions
``detect(file) -> bool`` and ``read(file, options) -> list of records`` listed
in ``raman_sk.datasets._read.READERS``. ``file`` is a :class:`SpectrumFile`
(the raw bytes, and the decoded text lines on first use); a record is the dict
made by :func:`record`.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

#: The instrument-file extensions, for the message about a binary file whose
#: content matched no reader.
BINARY_EXTENSIONS = {
    ".spc": "a Thermo Galactic SPC file",
    ".wdf": "a Renishaw WiRE WDF file",
    ".wip": "a WITec project file",
    ".wid": "a WITec data file",
    ".sif": "an Andor SIF file",
    ".spe": "a Princeton Instruments SPE file",
    ".0": "a Bruker OPUS file",
    ".l6s": "a HORIBA LabSpec 6 file",
}


@dataclass(frozen=True)
class ReadOptions:
    """Reader options of :func:`~raman_sk.datasets.read_spectra`, one field each.

    A format whose reader needs an option of its own adds a field here.
    """

    bwtek_column: str = "Dark Subtracted #1"


class SpectrumFile:
    """One file handed to the readers: its bytes, and its text lines on demand.

    Parameters
    ----------
    path : pathlib.Path
        The file, for messages and for its name in the sources.
    raw : bytes
        Its content.
    encoding : str, default=None
        Text encoding; None detects it (see :func:`decode`).
    """

    def __init__(self, path: Path, raw: bytes, encoding: str | None = None):
        self.path = path
        self.raw = raw
        self.encoding = encoding

    @cached_property
    def lines(self) -> list[str]:
        """The decoded text split on CR, LF or CRLF; a blank file raises."""
        text = decode(self.raw, self.path, self.encoding)
        lines = re.split(r"\r\n|\r|\n", text)
        if not any(line.strip() for line in lines):
            raise ValueError(f"{self.path}: the file is empty")
        return lines


def decode(raw: bytes, path: Path, encoding: str | None) -> str:
    """Decode file bytes: utf-16 by BOM, else utf-8 (BOM stripped), else latin-1."""
    if encoding is not None:
        try:
            text = raw.decode(encoding)
        except LookupError as exc:
            raise ValueError(
                f"encoding={encoding!r} is not a known text encoding"
            ) from exc
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{path}: cannot be decoded with encoding={encoding!r}: {exc}"
            ) from exc
        return text.lstrip("\ufeff")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16").lstrip("\ufeff")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{path}: starts with a UTF-16 byte-order mark but is not valid "
                f"UTF-16 (truncated?): {exc}"
            ) from exc
    if b"\x00" in raw[:4096]:
        expected = BINARY_EXTENSIONS.get(path.suffix.lower())
        hint = (
            f"; its extension suggests {expected}, but its content does not start like "
            "one (corrupt, truncated or another format?)"
            if expected
            else ""
        )
        raise ValueError(
            f"{path}: looks like a binary file of none of the instrument formats "
            f"read_spectra knows{hint}. Text exports (two-column text, Renishaw "
            "WiRE, BWTek BWSpec, wide tables) and the instrument files listed in "
            "read_spectra's documentation are read"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def record(x, y, source: str, meta: dict[str, Any]) -> dict[str, Any]:
    """Return one spectrum as read: float64 axis and values, source name, metadata."""
    return {"x": np.asarray(x, dtype=np.float64), "y": np.asarray(y, np.float64),
            "source": source, "meta": meta}  # fmt: skip
