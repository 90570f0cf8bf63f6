"""Save and load a fitted skorch classifier: safetensors weights + JSON config.

A classifier directory holds ``weights.safetensors`` (the module's state dict)
and ``config.json`` (versions, the class, its parameters, ``classes_``,
``n_features_in_``, the module's keyword arguments, the training history and
the SHA-256 of the weights). Only the classifier's public interface is used:
its parameters, fitted attributes, ``initialize()`` and the module's state
dict. Parameters that only shape training and cannot be stored (e.g.
``train_split=predefined_split(dataset)``, callbacks defined in a script) are
listed under ``"dropped_params"`` and get their default value on load;
predictions are unaffected.
"""

from __future__ import annotations

import json
from os import PathLike
from pathlib import Path

import numpy as np

from raman_sk.utils._files import jsonable

from ._codec import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    decode_labels,
    decode_params,
    encode,
    encode_estimator_params,
    encode_labels,
    qualified_name,
    read_config,
    read_json,
    read_weights,
    write_config,
    write_weights,
)

CLASSIFIER_FORMAT = "raman_sk.classifier"


def _history_rows(history) -> list[dict]:
    rows = []
    for row in history:
        clean = {}
        for key, value in row.items():
            if key == "batches":
                continue
            value = jsonable(value)
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                value = repr(value)  # a user callback's record: kept for reading
            clean[str(key)] = value
        rows.append(clean)
    return rows


def save_classifier(clf, directory: str | PathLike) -> Path:
    """Write a fitted :class:`~raman_sk.RamanCNNClassifier` to ``directory``.

    Parameters
    ----------
    clf : RamanCNNClassifier
        A fitted classifier (any fitted skorch classifier with ``classes_``
        and ``n_features_in_``).
    directory : str or path-like
        Created if missing. ``weights.safetensors`` and ``config.json`` are
        written atomically (temporary file + :func:`os.replace`).

    Returns
    -------
    directory : pathlib.Path
        The directory written.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``clf`` is not fitted.
    ValueError
        If a parameter that matters for prediction cannot be stored safely.

    See Also
    --------
    load_classifier : The reverse.
    save_pipeline : Save a whole fitted pipeline.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(clf)
    directory = Path(directory)
    params, dropped = encode_estimator_params(
        clf.get_params(deep=False), type(clf).__name__
    )
    module_kwargs = {
        **clf.get_params_for("module"),
        "n_features": int(clf.n_features_in_),
        "n_classes": len(clf.classes_),
    }
    sha256 = write_weights(directory / WEIGHTS_FILE, clf.module_.state_dict())
    names = getattr(clf, "feature_names_in_", None)
    body = {
        "class": qualified_name(type(clf)),
        "params": params,
        "dropped_params": dropped,
        "module_class": qualified_name(type(clf.module_)),
        "module_kwargs": encode(module_kwargs, "module_kwargs"),
        "n_parameters": int(sum(p.numel() for p in clf.module_.parameters())),
        "fitted": {
            "classes_": encode_labels(clf.classes_),
            "n_features_in_": int(clf.n_features_in_),
            "feature_names_in_": None if names is None else [str(f) for f in names],
            "best_epoch_": getattr(clf, "best_epoch_", None),
        },
        "history": _history_rows(clf.history),
        "weights_file": WEIGHTS_FILE,
        "weights_sha256": sha256,
    }
    write_config(directory / CONFIG_FILE, CLASSIFIER_FORMAT, body)
    return directory


def stored_class(directory: str | PathLike):
    """Return the class named in a classifier directory's ``config.json``.

    Resolved through the allow-list (and the table of moved class names);
    it must be a skorch ``NeuralNet``.
    """
    from skorch import NeuralNet

    return read_config(
        Path(directory) / CONFIG_FILE,
        CLASSIFIER_FORMAT,
        NeuralNet,
        what="classifier",
        base_name="a skorch classifier class",
    )[1]


def load_classifier(directory: str | PathLike, *, cls=None, device=None):
    """Load a classifier written by :func:`save_classifier` (no pickle).

    Parameters
    ----------
    directory : str or path-like
        Directory with ``config.json`` and ``weights.safetensors``.
    cls : type or None, default=None
        If given, the stored class must be this class or a subclass.
    device : str or None, default=None
        Torch device for the module; None uses the saved device when it is
        available here, else "cpu".

    Returns
    -------
    clf : RamanCNNClassifier
        The fitted classifier, in eval mode.

    Raises
    ------
    FileNotFoundError
        If a file is missing.
    ValueError
        On a tampered, truncated or foreign weights file, a config of another
        format version, an architecture that does not match the weights, or a
        class outside the allow-list.

    See Also
    --------
    save_classifier : The reverse.
    """
    import torch
    from skorch.history import History

    directory = Path(directory)
    config_path = directory / CONFIG_FILE
    klass = stored_class(directory)
    if cls is not None and not issubclass(klass, cls):
        raise ValueError(f"{str(directory)!r} holds a {klass.__name__}, not a {cls}.")
    config = read_json(config_path, "classifier config.json")
    params = decode_params(config.get("params", {}), "params")
    if device is None:
        device = params.get("device", "cpu")
        if device is not None and str(device).startswith("cuda"):
            device = device if torch.cuda.is_available() else "cpu"
    params["device"] = device
    # the saved weights replace a pretrained body: build without reading its
    # file (a user's file may be gone), then keep the parameter as it was
    pretrained = params.pop("module__pretrained", None)
    clf = klass(**params)
    fitted = config.get("fitted", {})
    try:
        clf.classes_inferred_ = decode_labels(fitted["classes_"])
        clf.n_features_in_ = int(fitted["n_features_in_"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{str(config_path)!r} lacks the fitted state.") from exc
    if fitted.get("feature_names_in_") is not None:
        clf.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
    clf.best_epoch_ = fitted.get("best_epoch_")
    state = read_weights(directory / WEIGHTS_FILE, config.get("weights_sha256"))
    try:
        with torch.random.fork_rng(devices=[]):  # leave the global RNG alone
            clf.initialize()
        clf.module_.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(
            f"The weights in {str(directory)!r} do not fit the architecture "
            f"described by its config.json (incompatible architecture): {exc}"
        ) from exc
    if pretrained is not None:
        vars(clf)["module__pretrained"] = pretrained
    clf.history_ = History(config.get("history", []))
    clf.module_.eval()
    return clf
