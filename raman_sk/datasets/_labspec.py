"""HORIBA LabSpec 6 ``.l6s`` files: recognised, refused with what to do instead.

No maintained open reader of the LabSpec 6 binary format exists and its layout
is not published, so raman_sk does not guess at it: the file is recognised by
its ``LabSpec6`` signature and refused with a message that asks for the text
export LabSpec writes of the same measurement, which read_spectra reads.
"""

from __future__ import annotations

from typing import Any

from ._base import ReadOptions, SpectrumFile

_MAGIC = b"LabSpec6"


def detect(file: SpectrumFile) -> bool:
    """Whether the file starts with the LabSpec 6 signature."""
    return file.raw.startswith(_MAGIC)


def read(file: SpectrumFile, options: ReadOptions) -> list[dict[str, Any]]:
    """Refuse the file: its binary layout is undocumented and no reader exists."""
    raise ValueError(
        f"{file.path}: is a HORIBA LabSpec 6 (.l6s) file, whose binary layout is "
        "not published and which no maintained open reader reads; export the "
        "spectrum from LabSpec as text (.txt) or as SPC (.spc) and read that file "
        "instead"
    )
