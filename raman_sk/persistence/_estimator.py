"""A fitted scikit-learn estimator as JSON (parameters, fitted scalars) + NPZ arrays.

Used for the steps of a saved pipeline and, as ``<name>.json`` +
``<name>.npz`` (fitted arrays stored under their attribute name without the
trailing underscore), for a single estimator such as the out-of-domain checker.
"""

from __future__ import annotations

import zipfile
from os import PathLike
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

from raman_sk.utils._files import write_npz

from ._codec import (
    ARRAY_KINDS,
    NotStorable,
    check_format,
    decode,
    decode_params,
    encode,
    encode_params,
    instantiable,
    read_json,
    resolve,
    storable_class,
    write_config,
)

ESTIMATOR_FORMAT = "raman_sk.estimator"


def encode_estimator(est, where: str, arrays: dict, array_key=str) -> dict:
    """JSON entry of a fitted estimator; its array attributes go into ``arrays``.

    ``array_key(attr)`` names the NPZ entry of the fitted array ``attr``.
    """
    cls_name = storable_class(type(est), where, where)
    if not instantiable(type(est)):
        raise ValueError(f"Cannot save {where}: {cls_name} is not an estimator.")
    check_is_fitted(est)
    try:
        params = encode_params(
            {
                k: v
                for k, v in est.get_params(deep=False).items()
                if not k.startswith("_")
            },
            where,
        )
    except NotStorable as exc:
        raise ValueError(f"Cannot save a parameter of {where}: {exc}.") from None
    fitted, array_refs = encode_fitted(est, where, arrays, array_key)
    return {"class": cls_name, "params": params, "fitted": fitted, "arrays": array_refs}


def encode_fitted(est, where: str, arrays: dict, array_key=str, skip=()):
    """(JSON scalars, NPZ references) of the public fitted attributes of ``est``.

    Attributes ending in ``_`` are stored, except those in ``skip``; arrays go
    into ``arrays`` under ``array_key(attr)``.
    """
    fitted, array_refs = {}, []
    for attr, value in vars(est).items():
        if not attr.endswith("_") or attr.startswith("_") or attr in skip:
            continue
        if isinstance(value, np.ndarray):
            if value.dtype.kind == "O":
                if not all(isinstance(v, str) for v in value.ravel()):
                    raise ValueError(
                        f"Cannot save {where}.{attr}: object array that is not "
                        "all strings."
                    )
                stored = value.astype(str)
            elif value.dtype.kind in ARRAY_KINDS:
                stored = value
            else:
                raise ValueError(f"Cannot save {where}.{attr}: dtype {value.dtype}.")
            key = array_key(attr)
            arrays[key] = stored
            array_refs.append(
                {"attr": attr, "key": key, "object": value.dtype.kind == "O"}
            )
            continue
        if hasattr(value, "get_params") or hasattr(value, "fit"):
            raise ValueError(
                f"Cannot save {where}.{attr}: fitted sub-estimators are not "
                "supported; use flat pipeline steps."
            )
        try:
            fitted[attr] = encode(value, f"{where}.{attr}")
        except NotStorable as exc:
            raise ValueError(f"Cannot save fitted attribute {exc}.") from None
    return fitted, array_refs


def decode_estimator(entry: dict, arrays: dict, where: str, arrays_name: str):
    """Rebuild the fitted estimator of an :func:`encode_estimator` entry."""
    cls = resolve(entry.get("class"), f"{where}: class")
    if not instantiable(cls):
        raise ValueError(f"{where}: {entry['class']!r} is not an estimator class.")
    est = cls(**decode_params(entry.get("params", {}), where))
    return decode_fitted(est, entry, arrays, where, arrays_name)


def decode_fitted(est, entry: dict, arrays: dict, where: str, arrays_name: str):
    """Set on ``est`` the fitted attributes stored by :func:`encode_fitted`."""
    for attr, value in entry.get("fitted", {}).items():
        if not (attr.endswith("_") and attr.isidentifier()):
            raise ValueError(f"{where}: {attr!r} is not a fitted attribute name.")
        setattr(est, attr, decode(value, f"{where}.{attr}"))
    for ref in entry.get("arrays", []):
        attr, key = ref.get("attr"), ref.get("key")
        if not (isinstance(attr, str) and attr.endswith("_") and attr.isidentifier()):
            raise ValueError(f"{where}: {attr!r} is not a fitted attribute name.")
        if key not in arrays:
            raise ValueError(f"{where}: array {key!r} missing from {arrays_name}.")
        value = arrays[key]
        setattr(est, attr, value.astype(object) if ref.get("object") else value)
    return est


def read_npz(path: Path) -> dict:
    """All arrays of an NPZ file, never unpickling; ``ValueError`` if unreadable."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(
            f"{str(path)!r} is not a valid NPZ file (truncated?): {exc}"
        ) from exc


def save_estimator(est, directory: str | PathLike, name: str, *, extra_arrays=None):
    """Write a fitted estimator as ``<name>.json`` + ``<name>.npz`` in ``directory``.

    Parameters
    ----------
    est : estimator
        Fitted, allow-listed estimator with flat fitted attributes.
    directory : str or path-like
        Existing directory.
    name : str
        Stem of both file names.
    extra_arrays : dict of str to ndarray, default=None
        Arrays stored alongside for the record (not read back).

    Returns
    -------
    directory : pathlib.Path
        The directory.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{str(directory)!r} is not an existing directory.")
    arrays: dict[str, np.ndarray] = {}
    entry = encode_estimator(est, name, arrays, lambda attr: attr.rstrip("_"))
    for key, value in (extra_arrays or {}).items():
        if key in arrays:
            raise ValueError(f"extra array {key!r} would overwrite a fitted array.")
        arrays[key] = np.asarray(value)
    write_npz(directory / f"{name}.npz", arrays)
    write_config(
        directory / f"{name}.json",
        ESTIMATOR_FORMAT,
        {**entry, "arrays_file": f"{name}.npz"},
    )
    return directory


def load_estimator(directory: str | PathLike, name: str, *, config=None):
    """Read an estimator written by :func:`save_estimator` (no pickle).

    Parameters
    ----------
    directory : str or path-like
        Directory holding ``<name>.json`` and ``<name>.npz``.
    name : str
        Stem of both file names.
    config : dict or None, default=None
        The already read ``<name>.json``.

    Returns
    -------
    estimator
        The fitted estimator.
    """
    directory = Path(directory)
    path = directory / f"{name}.json"
    if config is None:
        config = read_json(path, f"{name}.json")
    check_format(config, ESTIMATOR_FORMAT, path)
    arrays = read_npz(directory / f"{name}.npz")
    return decode_estimator(config, arrays, name, f"{name}.npz")


__all__ = [
    "decode_estimator",
    "decode_fitted",
    "encode_estimator",
    "encode_fitted",
    "load_estimator",
    "read_npz",
    "save_estimator",
]
