"""Reader of Thermo Galactic / GRAMS ``.spc`` files through spc-io.

Every subfile is one spectrum; even and explicit x axes come as the file
stores them (descending axes stay descending). The log block's ``key=value``
entries become the header, where the laser wavelength, exposure and
accumulations are looked up.
"""

from __future__ import annotations

import io
from typing import Any

from ._base import ReadOptions, SpectrumFile, record
from ._vendor import acquisition, call, import_library, text_header

WHAT = "Thermo Galactic SPC"

# fversn: 0x4B new format LSB first (the one spc-io reads), 0x4C new format
# MSB first, 0x4D old format; fexper (byte 2) is a technique code 0..14.
_VERSIONS = (0x4B, 0x4C, 0x4D)
_HEADER_SIZE = 512
_RAMAN_EXPERIMENTS = (0, 11)  # general SPC, Raman
_AXIS_KINDS = {
    "XRAMANS": ("raman shift", "cm-1", 1.0),
    "XNMETR": ("wavelength", "nm", 1.0),
    "XUMETR": ("wavelength", "nm", 1000.0),
    "XWAVEN": ("wavenumber", "cm-1", 1.0),
}


def detect(file: SpectrumFile) -> bool:
    """Whether the file starts with an SPC header (version byte, technique code)."""
    raw = file.raw
    return (
        len(raw) >= 4
        and raw[1] in _VERSIONS
        and raw[2] <= 14
        and b"\x00" in raw[:_HEADER_SIZE]
    )


def _cstring(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("latin-1").strip()


def read(file: SpectrumFile, options: ReadOptions) -> list[dict[str, Any]]:
    """Read every subfile of an SPC file with spc-io."""
    path, raw = file.path, file.raw
    if raw[1] != 0x4B:
        raise ValueError(
            f"{path}: is a {'big-endian' if raw[1] == 0x4C else 'old-format'} SPC "
            "file, which spc-io does not read; save it from GRAMS or the instrument "
            "software as a new-format (little-endian) SPC file or as text"
        )
    if len(raw) < _HEADER_SIZE:
        raise ValueError(f"{path}: is shorter than an SPC header; truncated?")
    spc_io = import_library("spc_io", "spc-io", WHAT, path)
    spc = call(
        path, WHAT, spc_io.SPC.from_bytes_io, io.BytesIO(raw), loggers=("spc_io",)
    )
    if len(spc) == 0:
        raise ValueError(f"{path}: the SPC file holds no subfiles (no spectra)")
    xtype = str(spc.xtype)
    kind, unit, scale = _AXIS_KINDS.get(xtype, (xtype.lower(), None, 1.0))
    experiment = raw[2]
    raman = xtype == "XRAMANS" or (
        experiment in _RAMAN_EXPERIMENTS and xtype in _AXIS_KINDS
    )
    log = spc.log_book.text if spc.log_book is not None else {}
    header = text_header(log.items())
    source_name, comment = _cstring(raw[45:54]), _cstring(raw[88:218])
    if source_name:
        header.setdefault("fsource", source_name)
    if comment:
        header.setdefault("fcmnt", comment)
    instrument = next(
        (v for k, v in header.items() if k.lower() in ("instrument", "fsource") and v),
        None,
    )
    records = []
    for index, sub in enumerate(spc):
        x = call(path, WHAT, lambda s=sub: s.xarray) * scale
        y = sub.yarray
        if len(x) == 0 or len(x) != len(y):
            raise ValueError(
                f"{path}: subfile {index} has {len(y)} values for {len(x)} axis points"
            )
        meta = {
            "format": "spc",
            "header": header,
            "axis_kind": kind,
            "axis_unit": unit,
            "raman": raman,
            "instrument": instrument,
            "y_unit": str(spc.ytype),
            **acquisition(header),
        }
        source = path.name
        if len(spc) > 1:
            for axis, value in (("z", sub.z), ("w", sub.w)):
                if value is not None and not isinstance(value, bool):
                    meta[axis] = float(value)
            meta["block"] = index
            source = f"{path.name}#{index}"
        records.append(record(x, y, source, meta))
    return records
