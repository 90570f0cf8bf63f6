"""Reader of Andor Solis ``.sif`` files through sif_parser.

One spectrum per frame and track, on the file's wavelength calibration (nm),
converted to Raman shift with the file's Raman excitation wavelength.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from ._base import ReadOptions, SpectrumFile, record
from ._vendor import call, import_library, laser_nm

WHAT = "Andor SIF"
_MAGIC = b"Andor Technology Multi-Channel File"


def detect(file: SpectrumFile) -> bool:
    """Whether the file starts with the Andor multi-channel signature."""
    return file.raw.startswith(_MAGIC)


class _StrictReader(io.BufferedReader):
    """A file whose reads past the end raise: sif_parser loops forever on EOF."""

    def read(self, size=-1, /):
        data = super().read(size)
        if size is not None and size > 0 and not data:
            raise EOFError("unexpected end of file")
        return data


def _open(sif_parser, path):
    with _StrictReader(io.FileIO(path)) as handle:
        data, info = sif_parser.np_open(handle)
    calibration = sif_parser.utils.extract_calibration(info)
    return np.asarray(data, dtype=np.float64), info, calibration


def read(file: SpectrumFile, options: ReadOptions) -> list[dict[str, Any]]:
    """Read every frame and track of a SIF file with sif_parser."""
    path = file.path
    sif_parser = import_library("sif_parser", "sif_parser", WHAT, path)
    data, info, calibration = call(path, WHAT, _open, sif_parser, path)
    if calibration is None:
        raise ValueError(
            f"{path}: the SIF file holds no wavelength calibration (pixel axis only); "
            "calibrate it in Andor Solis or export it as text with a wavelength axis"
        )
    n_frames, n_tracks, n_pixels = data.shape
    calibration = np.atleast_2d(calibration)
    if n_frames == 0 or calibration.shape[-1] != n_pixels:
        raise ValueError(
            f"{path}: the SIF file holds {n_frames} frames of {n_pixels} pixels "
            f"for a calibration of {calibration.shape[-1]}; it may be corrupt"
        )
    header = {
        key: str(value.decode("latin-1") if isinstance(value, bytes) else value)
        for key, value in info.items()
        if not key.startswith(("timestamp_of_", "tile", "Calibration_data_old"))
    }
    base = {
        "format": "sif",
        "header": header,
        "axis_kind": "wavelength",
        "axis_unit": "nm",
        "raman": True,
        "excitation_nm": laser_nm(info.get("RamanExWavelength")),
        "instrument": info.get("DetectorType") or None,
        "exposure_s": float(info["ExposureTime"]) if "ExposureTime" in info else None,
        "accumulations": int(info["AccumulatedCycles"])
        if info.get("AccumulatedCycles")
        else None,
    }
    records = []
    for frame in range(n_frames):
        x = calibration[min(frame, len(calibration) - 1)]
        for track in range(n_tracks):
            meta = dict(base)
            source = path.name
            if n_frames * n_tracks > 1:
                index = frame * n_tracks + track
                meta.update(block=index, frame=frame, track=track)
                source = f"{path.name}#{index} frame={frame},track={track}"
            records.append(record(x, data[frame, track], source, meta))
    return records
