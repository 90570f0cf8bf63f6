"""Reader of Bruker OPUS files (``.0``, ``.1``, ...) through brukeropus.

A file with Raman data blocks gives those (the Raman spectrum, on its Raman
shift axis, with the laser from the ``RLW`` parameter). A file without them
(FT-IR: absorbance, sample and reference spectra) gives its spectral blocks on
their own axes as non-Raman content; interferograms and phase blocks are left
out.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._base import ReadOptions, SpectrumFile, record
from ._vendor import call, import_library, laser_nm, text_header

WHAT = "Bruker OPUS"
_MAGIC = b"\n\n\xfe\xfe"
_NOT_SPECTRA = ("ig", "ph", "pw")  # interferograms, phase, power spectra
_X_UNITS = {"WN": ("wavenumber", "cm-1"), "MI": ("wavelength", "um")}


def detect(file: SpectrumFile) -> bool:
    """Whether the file starts with the OPUS signature."""
    return file.raw[:4] == _MAGIC


def _open(brukeropus, path):
    opus = brukeropus.read_opus(str(path))
    blocks = {
        key: {
            "x": np.asarray(getattr(opus, key).x, dtype=np.float64),
            "y": np.asarray(getattr(opus, key).y, dtype=np.float64),
            "label": str(getattr(opus, key).label),
            "unit": str(getattr(opus, key).dxu),
            "points": int(getattr(opus, key).params["npt"]),
        }
        for key in opus.all_data_keys
        if not key.startswith(_NOT_SPECTRA)
    }
    return opus.is_opus, blocks, dict(opus.params.items())


def read(file: SpectrumFile, options: ReadOptions) -> list[dict[str, Any]]:
    """Read the Raman blocks of an OPUS file (else its spectral blocks)."""
    path = file.path
    brukeropus = import_library("brukeropus", "brukeropus", WHAT, path)
    is_opus, blocks, params = call(path, WHAT, _open, brukeropus, path)
    if not is_opus or not blocks:
        raise ValueError(
            f"{path}: is not a readable {WHAT} file: no spectrum data block could "
            "be read (truncated or corrupt?)"
        )
    raman_keys = [key for key in blocks if key.startswith("ra")]
    keys = raman_keys or list(blocks)
    header = text_header(params.items())
    wavenumber = params.get("rlw")
    excitation = laser_nm(1e7 / wavenumber) if wavenumber else None
    instrument = next(
        (str(params[k]) for k in ("ins", "sfm") if params.get(k)), None
    )
    records = []
    for key in keys:
        block = blocks[key]
        if len(block["y"]) != block["points"] or len(block["x"]) != len(block["y"]):
            raise ValueError(
                f"{path}: the {block['label']} block holds {len(block['y'])} values "
                f"for {block['points']} points; the file is truncated or corrupt"
            )
        raman = bool(raman_keys)
        if raman:
            kind, unit = "raman shift", "cm-1"
        else:
            kind, unit = _X_UNITS.get(block["unit"], (block["unit"].lower(), None))
        meta = {
            "format": "opus",
            "header": header,
            "axis_kind": kind,
            "axis_unit": unit,
            "raman": raman,
            "excitation_nm": excitation,
            "instrument": instrument,
            "accumulations": int(params["nss"]) if params.get("nss") else None,
            "block": key,
            "label": block["label"],
        }
        source = path.name if len(keys) == 1 else f"{path.name}#{key} {block['label']}"
        records.append(record(block["x"], block["y"], source, meta))
    return records
