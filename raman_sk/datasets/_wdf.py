"""Reader of Renishaw WiRE ``.wdf`` files through renishaw-wdf (Renishaw's own).

Single spectra, maps and depth or time series all give one spectrum per
collected position, in file order, with the spatial origins (X, Y, Z, ...)
in ``sources`` and in each spectrum's ``position``, as the WiRE map text
reader does. The laser wavenumber of the header gives the excitation.
"""

from __future__ import annotations

import io
import struct
from typing import Any

from ._base import ReadOptions, SpectrumFile, record
from ._vendor import call, import_library, laser_nm

WHAT = "Renishaw WDF"
_MAGIC = b"WDF1"
_BLOCK = struct.Struct("<IIQ")  # block id, uid, size (header included)
_DATA, _XLIST = b"DATA", b"XLST"
_POSITION_NAMES = {
    "Spatial_X": "X", "Spatial_Y": "Y", "Spatial_Z": "Z", "Spatial_R": "R",
    "Spatial_Theta": "Theta", "Spatial_Phi": "Phi",
}  # fmt: skip
_AXIS_KINDS = {
    "RamanShift": ("raman shift", "cm-1"),
    "Nanometre": ("wavelength", "nm"),
    "Wavenumber": ("wavenumber", "cm-1"),
}


def detect(file: SpectrumFile) -> bool:
    """Whether the file starts with the WDF signature ``WDF1``."""
    return file.raw[:4] == _MAGIC


def _check_blocks(raw: bytes, path) -> None:
    """Walk the block chain first: renishaw-wdf loops forever on a zero block size."""
    position, found = 0, set()
    while position + _BLOCK.size <= len(raw):
        block_id, _, size = _BLOCK.unpack_from(raw, position)
        if size < _BLOCK.size:
            raise ValueError(
                f"{path}: is not a readable {WHAT} file: a block at byte "
                f"{position} has an invalid size {size}; the file is corrupt"
            )
        found.add(block_id.to_bytes(4, "little"))
        position += size
    missing = [name.decode() for name in (_DATA, _XLIST) if name not in found]
    if missing or position > len(raw):
        raise ValueError(
            f"{path}: is not a readable {WHAT} file: "
            + (f"no {' or '.join(missing)} block" if missing else "the last block")
            + " is cut short; the file is truncated or corrupt"
        )


def _read_all(wdf_module, raw: bytes) -> dict[str, Any]:
    """Everything read_spectra needs from the file, read in one library session."""
    with wdf_module.Wdf() as data:
        data.open_fd(io.BytesIO(raw))
        hdr = data.hdr
        if hdr.nspectra < 1 or hdr.npoints < 1:
            raise ValueError(f"the header lists {hdr.nspectra} spectra")
        xlist = data.xlist()
        spectra = data[0 : hdr.nspectra]
        if hdr.nspectra == 1:
            spectra = (spectra,)
        origins = {}
        try:
            for datatype, origin in data.origins.items():
                name = _POSITION_NAMES.get(datatype.name)
                if name is not None:
                    origins[name] = [float(v) for v in origin[0 : hdr.nspectra]]
        except EOFError:  # files without an origin block
            pass
        return {
            "hdr": hdr, "x": list(xlist), "x_unit": xlist.units.name,
            "spectra": spectra, "origins": origins,
        }  # fmt: skip


def read(file: SpectrumFile, options: ReadOptions) -> list[dict[str, Any]]:
    """Read every spectrum of a WDF file with renishaw-wdf."""
    path, raw = file.path, file.raw
    _check_blocks(raw, path)
    wdf_module = import_library("wdf", "renishaw-wdf", WHAT, path)
    content = call(path, WHAT, _read_all, wdf_module, raw)
    hdr, x, origins = content["hdr"], content["x"], content["origins"]
    kind, unit = _AXIS_KINDS.get(
        content["x_unit"], (content["x_unit"].lower(), None)
    )
    excitation = (
        laser_nm(1e7 / hdr.laser_wavenumber) if hdr.laser_wavenumber > 0 else None
    )
    header = {
        "title": hdr.title, "application": f"{hdr.appname} {hdr.appversion}",
        "measurement type": str(hdr.type.name), "user": hdr.user,
    }  # fmt: skip
    records = []
    n_spectra = len(content["spectra"])
    for index, y in enumerate(content["spectra"]):
        position = {name: values[index] for name, values in origins.items()}
        meta = {
            "format": "wdf",
            "header": header,
            "axis_kind": kind,
            "axis_unit": unit,
            "raman": kind in ("raman shift", "wavelength", "wavenumber"),
            "excitation_nm": excitation,
            "instrument": header["application"],
            "accumulations": int(hdr.naccum) if hdr.naccum > 0 else None,
        }
        source = path.name
        if n_spectra > 1 or position:
            where = ",".join(f"{name}={value:g}" for name, value in position.items())
            source = f"{path.name}#{index}" + (f" {where}" if where else "")
            meta.update(block=index, position=position)
        records.append(record(x, y, source, meta))
    return records
