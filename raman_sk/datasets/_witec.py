"""Reader of WITec project (``.wip``) and data (``.wid``) files through witio.

Every spectral graph (``TDGraph`` on a spectral or lookup-table axis) gives one
spectrum per position: a single spectrum, or each point of a line or area scan
with its stage position (X, Y, in µm) in ``sources`` and ``position``. The
axis is read in nm. A graph the file displays as a Raman shift (its spectral
interpretation's unit is ``rel. 1/cm``) is Raman and is converted with the
file's excitation wavelength; any other graph (for example a lamp or LED
spectrum shown in nm) comes out in nm as non-Raman content. The measurement's
``Information`` text, where present, fills the header (exposure,
accumulations).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from ._base import ReadOptions, SpectrumFile, record
from ._vendor import acquisition, call, import_library, laser_nm, text_header

WHAT = "WITec"
_MAGICS = (b"WIT_PRCT", b"WIT_DATA", b"WIT_PR06", b"WIT_DA06")
_SPECTRAL_AXES = ("TDSpectralTransformation", "TDLUTTransformation")


def detect(file: SpectrumFile) -> bool:
    """Whether the file starts with a WIT-tag signature (``WIT_PRCT``, ...)."""
    return file.raw[:8] in _MAGICS


def _check_length(raw: bytes, path) -> None:
    """Check the root tag ends within the file: witio reads a cut tree silently."""
    try:
        (name_length,) = struct.unpack_from("<I", raw, 8)
        _, _, end = struct.unpack_from("<IQQ", raw, 12 + name_length)
    except struct.error:
        end = None
    if end is None or end > len(raw):
        raise ValueError(
            f"{path}: is not a readable {WHAT} file: it ends before its root tag "
            f"does ({len(raw)} bytes); the file is truncated or corrupt"
        )


def _information(project) -> dict[str, dict[str, str]]:
    """Return the ``Information`` texts by caption prefix, as ``key: value`` pairs."""
    texts = {}
    for item in project.find(class_name="TDText"):
        caption = item.caption or ""
        if not caption.endswith("Information"):
            continue
        try:
            lines = item.text().splitlines()
        except (NotImplementedError, ValueError):  # a layout witio cannot decode
            continue
        pairs = [line.split(":", 1) for line in lines if ":" in line]
        texts[caption[: -len("Information")].strip()] = text_header(
            (key, value) for key, value in pairs if key.strip()
        )
    return texts


def _graph(project, graph) -> dict[str, Any] | None:
    """Return a graph's spectra, axis and interpretation; None if not spectral."""
    payload = graph.payload
    transform_id = payload.find("XTransformationID")
    transform = (
        project.find_by_id(transform_id.scalar()) if transform_id is not None else None
    )
    if transform is None or transform.class_name not in _SPECTRAL_AXES:
        return None
    interpretation_id = payload.find("XInterpretationID")
    interpretation = (
        project.find_by_id(interpretation_id.scalar())
        if interpretation_id is not None
        else None
    )
    spectral = (
        interpretation is not None
        and interpretation.class_name == "TDSpectralInterpretation"
    )
    if spectral:
        x, _ = graph.x_axis("nm")
        shown = graph.x_axis()[1]
        excitation = float(interpretation.payload["ExcitationWaveLength"].scalar())
    elif transform.class_name == "TDSpectralTransformation":
        x, shown, excitation = graph.x_axis("nm")[0], "nm", None
    else:  # a lookup table without interpretation: unit unknown
        x, shown, excitation = transform.apply_transform(
            np.arange(int(payload["SizeGraph"].scalar()), dtype=float)
        )[0], None, None
    grid_x, grid_y = graph.position_grid()
    return {
        "caption": graph.caption or "",
        "spectra": np.asarray(graph.array(), dtype=np.float64),
        "x": np.asarray(x, dtype=np.float64),
        "kind": "wavelength" if spectral or shown == "nm" else "unknown",
        "raman": bool(spectral and str(shown).startswith("rel.")),
        "excitation": excitation,
        "grid": (np.asarray(grid_x), np.asarray(grid_y)),
    }


def _open(witio, raw: bytes):
    project = witio.read_bytes(raw)
    graphs = [_graph(project, g) for g in project.find(class_name="TDGraph")]
    return [g for g in graphs if g is not None], _information(project), dict(
        project.system_metadata
    )


def _information_for(caption: str, texts: dict[str, dict[str, str]]):
    matches = [prefix for prefix in texts if prefix and caption.startswith(prefix)]
    return texts[max(matches, key=len)] if matches else {}


def read(file: SpectrumFile, options: ReadOptions) -> list[dict[str, Any]]:
    """Read every spectral graph of a WITec file with witio."""
    path, raw = file.path, file.raw
    _check_length(raw, path)
    witio = import_library("witio", "witio", WHAT, path)
    graphs, texts, system = call(path, WHAT, _open, witio, raw)
    if not graphs:
        raise ValueError(f"{path}: the WITec file holds no spectral data (TDGraph)")
    n_total = sum(g["spectra"].shape[0] * g["spectra"].shape[1] for g in graphs)
    records, index = [], 0
    for graph in graphs:
        spectra, (grid_x, grid_y) = graph["spectra"], graph["grid"]
        size_x, size_y, n_points = spectra.shape
        if n_points != len(graph["x"]):
            raise ValueError(
                f"{path}: graph {graph['caption']!r} has {n_points} values per "
                f"spectrum for {len(graph['x'])} axis points; the file is corrupt"
            )
        header = {
            "caption": graph["caption"],
            "software": system.get("application_version", ""),
            **_information_for(graph["caption"], texts),
        }
        base = {
            "format": "witec",
            "header": header,
            "axis_kind": graph["kind"],
            "axis_unit": "nm" if graph["kind"] == "wavelength" else None,
            "raman": graph["raman"],
            "excitation_nm": laser_nm(graph["excitation"]),
            **acquisition(header),
        }
        for iy in range(size_y):
            for ix in range(size_x):
                y = spectra[ix, iy]
                meta = dict(base)
                source = path.name
                if n_total > 1:
                    source = f"{path.name}#{index} {graph['caption']}".rstrip()
                    meta["block"] = index
                if size_x * size_y > 1:
                    position = {
                        "X": float(grid_x[ix, iy]), "Y": float(grid_y[ix, iy])
                    }  # fmt: skip
                    meta["position"] = position
                    source += f" X={position['X']:g},Y={position['Y']:g}"
                index += 1
                if np.isnan(y).all():  # a scan line WITec marks invalid
                    continue
                records.append(record(graph["x"], y, source, meta))
    return records
