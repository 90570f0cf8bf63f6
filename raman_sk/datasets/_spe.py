"""Reader of Princeton Instruments LightField ``.spe`` files (SPE 3.0).

Written by hand after the published SPE 3.0 format specification (a 4100-byte
binary header, the frames, then an XML footer that describes them): the one
registry reader, spe2py, has had no release for years and pulls in a plotting
stack, and the layout is small. One spectrum per frame, region and row; the
axis is the footer's wavelength calibration (nm), converted to Raman shift
with its ``laserLine`` where LightField recorded one (otherwise pass
``excitation_nm``). Files older than SPE 3.0 (WinSpec) give a clear error.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ElementTree
from typing import Any

import numpy as np

from ._base import ReadOptions, SpectrumFile, record
from ._vendor import laser_nm

WHAT = "Princeton Instruments SPE"
_HEADER_SIZE = 4100
_VERSION_AT, _FOOTER_AT = 1992, 678  # float32 version, uint64 footer offset
_PIXEL_FORMATS = {
    "MonochromeUnsigned16": "<u2",
    "MonochromeUnsigned32": "<u4",
    "MonochromeFloating32": "<f4",
}


def _version(raw: bytes) -> float | None:
    if len(raw) < _HEADER_SIZE:
        return None
    (version,) = struct.unpack_from("<f", raw, _VERSION_AT)
    return version if np.isfinite(version) else None


def detect(file: SpectrumFile) -> bool:
    """Whether the file has an SPE header: a version at byte 1992 and an XML footer.

    SPE has no magic string; an SPE 3.0 file is recognised by its version and
    the XML footer its header points to, an older one by its version and the
    ``.spe`` extension.
    """
    version = _version(file.raw)
    if version is None:
        return False
    if version >= 3.0:
        (offset,) = struct.unpack_from("<Q", file.raw, _FOOTER_AT)
        return file.raw[offset : offset + 5] == b"<?xml" or file.raw[
            offset : offset + 10
        ].startswith(b"<SpeFormat")
    return file.path.suffix.lower() == ".spe" and 1.0 <= version < 3.0


def _error(path, why: str) -> ValueError:
    return ValueError(f"{path}: is not a readable {WHAT} file: {why}")


def _footer(raw: bytes, path) -> ElementTree.Element:
    (offset,) = struct.unpack_from("<Q", raw, _FOOTER_AT)
    try:
        return ElementTree.fromstring(raw[offset:])
    except ElementTree.ParseError as exc:
        why = f"its XML footer does not parse ({exc}); truncated?"
        raise _error(path, why) from exc


def _find(root, path: str):
    """Find an element by a ``/``-separated path of tag names, any namespace."""
    return root.find("/".join(f"{{*}}{name}" for name in path.split("/")))


def _text(root, path: str) -> str | None:
    element = _find(root, path)
    return element.text.strip() if element is not None and element.text else None


def _wavelengths(root, region, width: int, path) -> np.ndarray:
    mapping = _find(root, "Calibrations/WavelengthMapping")
    values = _text(mapping, "Wavelength") if mapping is not None else None
    if values is None:
        raise ValueError(
            f"{path}: the SPE file holds no wavelength calibration (pixel axis "
            "only); calibrate the spectrometer in LightField or export as text"
        )
    wavelength = np.array([float(v) for v in values.split(",") if v.strip()])
    if len(wavelength) == width:
        return wavelength
    # a region of interest: the calibration covers the sensor mapping
    ids = (region.get("calibrations") or "").split(",")
    for sensor in root.iterfind("{*}Calibrations/{*}SensorMapping"):
        if sensor.get("id") in ids:
            start, binning = int(sensor.get("x", 0)), int(sensor.get("xBinning", 1))
            chosen = wavelength[start : start + width * binning : binning]
            if len(chosen) == width:
                return chosen
    raise _error(path, f"its calibration has {len(wavelength)} values for {width}")


def read(file: SpectrumFile, options: ReadOptions) -> list[dict[str, Any]]:
    """Read every frame, region and row of an SPE 3.0 file."""
    path, raw = file.path, file.raw
    version = _version(raw)
    if version is None or version < 3.0:
        raise ValueError(
            f"{path}: is an SPE file of version {version} (WinSpec); only SPE 3.0 "
            "(LightField) is read: open it in LightField and save it again, or "
            "export it as text"
        )
    root = _footer(raw, path)
    frame = _find(root, "DataFormat/DataBlock")
    if frame is None or frame.get("type") != "Frame":
        raise _error(path, "its XML footer describes no frames")
    try:
        n_frames, frame_stride = int(frame.get("count")), int(frame.get("stride"))
        dtype = np.dtype(_PIXEL_FORMATS[frame.get("pixelFormat")])
        regions = [
            (r, int(r.get("width")), int(r.get("height")), int(r.get("stride")))
            for r in frame.iterfind("{*}DataBlock")
        ]
    except (TypeError, ValueError, KeyError) as exc:
        raise _error(path, f"its frame description is incomplete ({exc!r})") from exc
    if _HEADER_SIZE + n_frames * frame_stride > len(raw) or not regions:
        raise _error(path, "its frames end beyond the file; truncated?")
    mapping = _find(root, "Calibrations/WavelengthMapping")
    camera = _find(root, "DataHistories/DataHistory/Origin/Experiment/System/Cameras")
    camera = camera[0].get("model") if camera is not None and len(camera) else None
    exposure = _text(root, "DataHistories/DataHistory/Origin/Experiment/Devices/"
                     "Cameras/Camera/ShutterTiming/ExposureTime")  # fmt: skip
    base = {
        "format": "spe",
        "header": {"version": f"{version:g}", **dict(frame.attrib)},
        "axis_kind": "wavelength",
        "axis_unit": "nm",
        "raman": True,
        "excitation_nm": laser_nm(mapping.get("laserLine"))
        if mapping is not None
        else None,
        "instrument": camera,
        "exposure_s": float(exposure) / 1000.0 if exposure else None,
    }
    records, offset = [], _HEADER_SIZE
    n_total = n_frames * sum(height for _, _, height, _ in regions)
    for index_frame in range(n_frames):
        start = offset + index_frame * frame_stride
        for index_region, (region, width, height, stride) in enumerate(regions):
            x = _wavelengths(root, region, width, path)
            count = width * height
            if start + count * dtype.itemsize > len(raw):
                raise _error(path, "a frame ends beyond the file; truncated?")
            block = np.frombuffer(raw, dtype, count, start).astype(np.float64)
            for row, y in enumerate(block.reshape(height, width)):
                meta = dict(base)
                source = path.name
                if n_total > 1:
                    meta.update(frame=index_frame, region=index_region, row=row)
                    source = (
                        f"{path.name}#{len(records)} frame={index_frame},"
                        f"region={index_region},row={row}"
                    )
                records.append(record(x, y, source, meta))
            start += stride
    return records
