"""Save and load a fitted committee of classifiers, and any self-saving model.

A committee directory holds ``config.json`` (the class, its parameters, its
fitted scalars and the member directories), ``arrays.npz`` (its fitted
arrays, e.g. the out-of-fold probabilities) and one classifier directory per
member (``member0``, ``member1``, ...), written by the member's own ``save``.
The committee class is resolved by its stored name through the allow-list and
rebuilt through its parameters and fitted attributes; this module never
imports it.
"""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path

from raman_sk.utils._files import write_npz

from ._classifier import CLASSIFIER_FORMAT, load_classifier, stored_class
from ._codec import (
    CONFIG_FILE,
    NotStorable,
    check_format,
    decode_params,
    encode,
    encode_estimator_params,
    read_config,
    read_json,
    storable_class,
    write_config,
)
from ._estimator import decode_fitted, encode_fitted, read_npz

COMMITTEE_FORMAT = "raman_sk.committee"
ARRAYS_FILE = "arrays.npz"
SAFE_DIR_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")

__all__ = [
    "COMMITTEE_FORMAT",
    "load_committee",
    "load_self_saved",
    "safe_subdirectory",
    "save_committee",
]


def safe_subdirectory(directory: Path, name) -> Path:
    """``directory / name`` for a plain directory name; ``ValueError`` otherwise."""
    if not isinstance(name, str) or not SAFE_DIR_NAME.match(name) or ".." in name:
        raise ValueError(f"Unsafe classifier directory name {name!r}.")
    return directory / name


def _encode_params(committee) -> tuple[dict, dict]:
    """Encode the committee's parameters; the member template like a class.

    A ``cv`` splitter object only shapes ``fit``: it is dropped (and listed)
    when it cannot be stored, like the members' training-only parameters.
    """
    where = type(committee).__name__
    params = committee.get_params(deep=False)
    template = params.pop("estimator", None)
    cv = params.pop("cv", None)
    encoded, dropped = encode_estimator_params(params, where)
    try:
        encoded["cv"] = encode(cv, f"{where}.cv")
    except NotStorable as exc:
        dropped["cv"] = str(exc)
    if template is None:
        encoded["estimator"] = None
        return encoded, dropped
    name = storable_class(type(template), "estimator", "the committee's estimator")
    inner, inner_dropped = encode_estimator_params(
        template.get_params(deep=False), f"{where}.estimator"
    )
    encoded["estimator"] = {"class": name, "params": inner}
    dropped.update({f"estimator__{k}": v for k, v in inner_dropped.items()})
    return encoded, dropped


def save_committee(committee, directory: str | PathLike) -> Path:
    """Write a fitted committee (members in ``estimators_``) to ``directory``.

    Parameters
    ----------
    committee : RamanCNNCommittee
        A fitted committee whose members have a ``save(directory)`` method.
    directory : str or path-like
        Created if missing; ``config.json`` is written last.

    Returns
    -------
    directory : pathlib.Path
        The directory written.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the committee is not fitted.
    ValueError
        If a parameter or fitted attribute cannot be stored safely.

    See Also
    --------
    load_committee : The reverse.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(committee, "estimators_")
    directory = Path(directory)
    name = storable_class(type(committee), "committee")
    params, dropped = _encode_params(committee)
    members = []
    for k, member in enumerate(committee.estimators_):
        sub = f"member{k}"
        member.save(directory / sub)
        members.append(sub)
    arrays: dict = {}
    fitted, array_refs = encode_fitted(
        committee, "committee", arrays, skip=("estimators_",)
    )
    write_npz(directory / ARRAYS_FILE, arrays)
    body = {
        "class": name,
        "params": params,
        "dropped_params": dropped,
        "fitted": fitted,
        "arrays": array_refs,
        "arrays_file": ARRAYS_FILE,
        "members": members,
    }
    write_config(directory / CONFIG_FILE, COMMITTEE_FORMAT, body)
    return directory


def _committee_config(path: Path):
    from sklearn.base import BaseEstimator

    return read_config(
        path, COMMITTEE_FORMAT, BaseEstimator, what="committee",
        base_name="an estimator class",
    )


def load_committee(directory: str | PathLike, *, cls=None, device=None):
    """Load a committee written by :func:`save_committee` (no pickle).

    Parameters
    ----------
    directory : str or path-like
        Directory with ``config.json``, ``arrays.npz`` and the members.
    cls : type or None, default=None
        If given, the stored class must be this class or a subclass.
    device : str or None, default=None
        Passed to each member's ``load``.

    Returns
    -------
    committee : RamanCNNCommittee
        The fitted committee.

    Raises
    ------
    FileNotFoundError
        If a file is missing.
    ValueError
        On a class outside the allow-list, another format version, an unsafe
        member directory name or a tampered member.

    See Also
    --------
    save_committee : The reverse.
    """
    directory = Path(directory)
    path = directory / CONFIG_FILE
    config, klass = _committee_config(path)
    if cls is not None and not issubclass(klass, cls):
        raise ValueError(f"{str(directory)!r} holds a {klass.__name__}, not a {cls}.")
    committee = klass(**decode_params(config.get("params", {}), "committee"))
    if config.get("arrays_file", ARRAYS_FILE) != ARRAYS_FILE:
        raise ValueError(f"Unexpected arrays file name {config['arrays_file']!r}.")
    arrays = read_npz(directory / ARRAYS_FILE)
    decode_fitted(committee, config, arrays, "committee", ARRAYS_FILE)
    names = config.get("members")
    if not isinstance(names, list) or not names:
        raise ValueError(f"{str(path)!r} lists no members.")
    committee.estimators_ = [
        load_self_saved(safe_subdirectory(directory, sub), device) for sub in names
    ]
    return committee


def load_self_saved(directory: Path, device=None):
    """Load a classifier or committee directory through its stored class's ``load``."""
    config = read_json(directory / CONFIG_FILE, "config.json")
    if config.get("format") == COMMITTEE_FORMAT:
        klass = _committee_config(directory / CONFIG_FILE)[1]
        load = getattr(klass, "load", None)
        if callable(load):
            return load(directory, device=device)
        return load_committee(directory, device=device)
    if config.get("format") != CLASSIFIER_FORMAT:
        check_format(config, CLASSIFIER_FORMAT, directory / CONFIG_FILE)
    klass = stored_class(directory)
    load = getattr(klass, "load", None)
    if callable(load):
        return load(directory, device=device)
    return load_classifier(directory, device=device)

