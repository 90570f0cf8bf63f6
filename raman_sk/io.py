"""Save and load fitted classifiers and pipelines without pickle.

A classifier directory holds ``weights.safetensors`` (the module's state dict)
and ``config.json`` (versions, the class, its parameters, ``classes_``,
``n_features_in_``, the module's keyword arguments, the training history and
the SHA-256 of the weights). A pipeline directory holds ``pipeline.json``
(steps with their parameters and fitted scalars), ``arrays.npz`` (the steps'
fitted arrays, read with ``allow_pickle=False``) and one classifier directory
per :class:`~raman_sk.RamanCNNClassifier` step.

Parameters that are objects are stored by their qualified name and rebuilt on
load only from an allow-list of packages (``raman_sk``, ``sklearn``,
``skorch``, ``torch``): classes are resolved only if they are defined where
the name says, and only estimators, skorch callbacks/splits and torch modules
are instantiated. Anything else is refused with a ``ValueError`` naming it,
never imported. Parameters that only matter for training and cannot be
stored this way (e.g. ``train_split=predefined_split(dataset)``, callbacks
defined in a script, an augmenter class from outside the allow-list) are left
out, listed under ``"dropped_params"`` in the JSON, and get their default
value on load; predictions are unaffected. Every file is written to a
temporary name and moved into place with :func:`os.replace`.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import inspect
import io
import json
import os
import platform
import re
import tempfile
import types
import warnings
import zipfile
from os import PathLike
from pathlib import Path

import numpy as np

__all__ = [
    "ALLOWED_PACKAGES",
    "FORMAT_VERSION",
    "load_classifier",
    "load_pipeline",
    "save_classifier",
    "save_pipeline",
]

FORMAT_VERSION = 1
ALLOWED_PACKAGES = ("raman_sk", "sklearn", "skorch", "torch")
WEIGHTS_FILE = "weights.safetensors"
CONFIG_FILE = "config.json"
PIPELINE_FILE = "pipeline.json"
ARRAYS_FILE = "arrays.npz"

# Parameters that only shape training; when they cannot be stored safely they
# are dropped (and listed) instead of making the model unsavable.
_TRAINING_ONLY = {
    "train_split",
    "callbacks",
    "iterator_train",
    "iterator_valid",
    "dataset",
    "random_state",
    "augmenter",
    "memory",
}
_TRAINING_ONLY_PREFIXES = (
    "callbacks__",
    "iterator_train__",
    "iterator_valid__",
    "dataset__",
    "augmenter__",
)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_ARRAY_KINDS = "biufcU"


class _NotStorable(ValueError):
    pass


# ------------------------------------------------------------------ names
def _qualified_name(obj) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _check_allowed(name: str, what: str) -> None:
    if not isinstance(name, str) or name.split(".")[0] not in ALLOWED_PACKAGES:
        raise ValueError(
            f"{what} {name!r} is not from an allowed package "
            f"{ALLOWED_PACKAGES}; refusing to import it."
        )


def _resolve(name: str, what: str = "class"):
    """Import ``name`` ('pkg.module.Qual.Name') from the allow-list only."""
    _check_allowed(name, what)
    parts = name.split(".")
    if any(not p.isidentifier() for p in parts):
        raise ValueError(f"{what} {name!r} is not a valid qualified name.")
    for i in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:i])
        try:
            obj = importlib.import_module(module_name)
        except ImportError:
            continue
        qualname = ".".join(parts[i:])
        try:
            for part in parts[i:]:
                obj = getattr(obj, part)
        except AttributeError:
            break
        # only accept an object defined exactly where the name says (no
        # re-exported modules or functions such as 'raman_sk.io.os.system')
        if (
            getattr(obj, "__module__", None) == module_name
            and getattr(obj, "__qualname__", None) == qualname
        ):
            return obj
        break
    raise ValueError(f"{what} {name!r} cannot be resolved in an allowed package.")


def _instantiable(cls) -> bool:
    from sklearn.base import BaseEstimator
    from skorch.callbacks import Callback
    from skorch.dataset import ValidSplit
    from torch import nn

    return isinstance(cls, type) and issubclass(
        cls, (BaseEstimator, Callback, ValidSplit, nn.Module)
    )


# --------------------------------------------------------------- encoding
def _encode(value, where: str):
    """Turn a parameter value into JSON data; ``_NotStorable`` if impossible."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, np.generic):
        return value
    if isinstance(value, np.generic):
        if value.dtype.kind not in _ARRAY_KINDS:
            raise _NotStorable(f"{where}: numpy scalar of dtype {value.dtype}")
        return {"scalar": value.item(), "dtype": value.dtype.str}
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise _NotStorable(f"{where}: dict with non-string keys")
        return {"dict": {k: _encode(v, f"{where}[{k!r}]") for k, v in value.items()}}
    if isinstance(value, np.ndarray):
        return {"ndarray": _encode_array_values(value, where), **_array_meta(value)}
    if isinstance(value, type):
        name = _qualified_name(value)
        _storable_name(name, where, value)
        return {"type": name}
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)):
        name = _qualified_name(value)
        _storable_name(name, where, value)
        return {"function": name}
    cls = type(value)
    if _instantiable(cls):
        name = _qualified_name(cls)
        _storable_name(name, where, cls)
        return {"class": name, "params": _encode_params(_init_params(value), where)}
    raise _NotStorable(f"{where}: object of type {_qualified_name(cls)}")


def _storable_name(name, where, obj) -> None:
    try:
        ok = _resolve(name) is obj
    except ValueError:
        ok = False
    if not ok:
        raise _NotStorable(
            f"{where}: {name} (only names from {ALLOWED_PACKAGES} that can be "
            "imported back are stored)"
        )


def _init_params(obj) -> dict:
    if hasattr(obj, "get_params"):
        return {
            k: v for k, v in obj.get_params(deep=False).items() if not k.startswith("_")
        }
    sig = inspect.signature(type(obj).__init__)
    params = {}
    for name, p in sig.parameters.items():
        if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if not hasattr(obj, name):
            raise _NotStorable(
                f"{_qualified_name(type(obj))} does not keep its argument {name!r}"
            )
        params[name] = getattr(obj, name)
    return params


def _encode_params(params: dict, where: str) -> dict:
    return {k: _encode(v, f"{where}.{k}") for k, v in params.items()}


def _array_meta(arr: np.ndarray) -> dict:
    return {"dtype": arr.dtype.str, "shape": list(arr.shape)}


def _encode_array_values(arr: np.ndarray, where: str) -> list:
    if arr.dtype.kind == "O":
        if not all(isinstance(v, str) for v in arr.ravel()):
            raise _NotStorable(f"{where}: object array that is not all strings")
    elif arr.dtype.kind not in _ARRAY_KINDS:
        raise _NotStorable(f"{where}: array of dtype {arr.dtype}")
    if arr.dtype.kind == "c":
        raise _NotStorable(f"{where}: complex array")
    return arr.tolist()


def _decode(data, where: str = "config"):
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [_decode(v, where) for v in data]
    if not isinstance(data, dict):
        raise ValueError(f"{where}: unexpected JSON value {data!r}.")
    if set(data) == {"tuple"}:
        return tuple(_decode(v, where) for v in data["tuple"])
    if set(data) == {"dict"}:
        return {k: _decode(v, f"{where}.{k}") for k, v in data["dict"].items()}
    if set(data) == {"scalar", "dtype"}:
        dtype = _safe_dtype(data["dtype"], where)
        return dtype.type(data["scalar"])
    if set(data) == {"ndarray", "dtype", "shape"}:
        dtype = _safe_dtype(data["dtype"], where)
        arr = np.array(data["ndarray"], dtype=dtype)
        return arr.reshape(data["shape"])
    if set(data) == {"type"}:
        return _resolve(data["type"], f"{where}: class")
    if set(data) == {"function"}:
        obj = _resolve(data["function"], f"{where}: function")
        if not callable(obj) or isinstance(obj, type):
            raise ValueError(f"{where}: {data['function']!r} is not a function.")
        return obj
    if set(data) == {"class", "params"}:
        cls = _resolve(data["class"], f"{where}: class")
        if not _instantiable(cls):
            raise ValueError(
                f"{where}: class {data['class']!r} is not an estimator, skorch "
                "callback/split or torch module; refusing to instantiate it."
            )
        return cls(**_decode_params(data["params"], where))
    raise ValueError(f"{where}: unexpected JSON object with keys {sorted(data)}.")


def _decode_params(data, where: str) -> dict:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: parameters must be a JSON object.")
    return {k: _decode(v, f"{where}.{k}") for k, v in data.items()}


def _safe_dtype(text, where) -> np.dtype:
    try:
        dtype = np.dtype(text)
    except TypeError as exc:
        raise ValueError(f"{where}: unknown dtype {text!r}.") from exc
    if dtype.kind not in _ARRAY_KINDS + "O":
        raise ValueError(f"{where}: dtype {text!r} is not allowed.")
    return dtype


def _encode_estimator_params(params: dict, where: str) -> tuple[dict, dict]:
    """Encode ``get_params(deep=False)``; drop unstorable training-only ones."""
    encoded, dropped = {}, {}
    for key, value in params.items():
        if key.startswith("_"):
            continue
        try:
            encoded[key] = _encode(value, f"{where}.{key}")
        except _NotStorable as exc:
            if key in _TRAINING_ONLY or key.startswith(_TRAINING_ONLY_PREFIXES):
                dropped[key] = str(exc)
            else:
                raise ValueError(
                    f"Cannot save parameter {key!r} of {where}: {exc}. Only JSON "
                    f"values and objects from {ALLOWED_PACKAGES} can be stored."
                ) from None
    if "augmenter" in dropped:  # its sub-parameters make no sense alone
        for key in [k for k in encoded if k.startswith("augmenter__")]:
            dropped[key] = "augmenter was dropped"
            del encoded[key]
    return encoded, dropped


# ------------------------------------------------------------------ files
def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _json_bytes(obj) -> bytes:
    return (json.dumps(obj, indent=2, allow_nan=True) + "\n").encode("utf-8")


def _read_json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"No {what} file at {str(path)!r}.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{str(path)!r} is not valid JSON: {exc}.") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{str(path)!r} does not hold a JSON object.")
    return data


def _check_format(config: dict, expected: str, path: Path) -> None:
    from . import __version__

    if config.get("format") != expected:
        raise ValueError(
            f"{str(path)!r} is not a {expected} file (format={config.get('format')!r})."
        )
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{str(path)!r} has format version {version!r}, written by raman_sk "
            f"{config.get('versions', {}).get('raman_sk', '?')}; this raman_sk "
            f"({__version__}) reads format version {FORMAT_VERSION} only."
        )
    written_by = config.get("versions", {}).get("raman_sk")
    if written_by != __version__:
        warnings.warn(
            f"{str(path)!r} was written by raman_sk {written_by}; this is raman_sk "
            f"{__version__}. The file format is the same (version {FORMAT_VERSION}), "
            "but predictions may differ if the model code changed between releases.",
            UserWarning,
            stacklevel=3,
        )


def _versions() -> dict:
    import sklearn
    import skorch
    import torch

    from . import __version__

    return {
        "raman_sk": __version__,
        "torch": torch.__version__,
        "skorch": skorch.__version__,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _encode_labels(classes: np.ndarray) -> dict:
    classes = np.asarray(classes)
    try:
        values = _encode_array_values(classes, "classes_")
    except _NotStorable as exc:
        raise ValueError(
            f"Cannot save classes_ of dtype {classes.dtype}: {exc}."
        ) from None
    return {"values": _jsonable(values), "dtype": classes.dtype.str}


def _decode_labels(data: dict) -> np.ndarray:
    dtype = _safe_dtype(data["dtype"], "classes_")
    if dtype.kind == "O":
        arr = np.empty(len(data["values"]), dtype=object)
        arr[:] = data["values"]
        return arr
    return np.asarray(data["values"], dtype=dtype)


# ------------------------------------------------------------- classifier
def save_classifier(clf, directory: str | PathLike) -> Path:
    """Write a fitted :class:`~raman_sk.RamanCNNClassifier` to ``directory``.

    Parameters
    ----------
    clf : RamanCNNClassifier
        A fitted classifier.
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
    import safetensors.torch
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(clf)
    directory = Path(directory)
    tensors = {
        k: v.detach().to("cpu").contiguous().clone()
        for k, v in clf.module_.state_dict().items()
    }
    weights = safetensors.torch.save(tensors, metadata={"format": "raman_sk"})
    params, dropped = _encode_estimator_params(
        clf.get_params(deep=False), type(clf).__name__
    )
    history = [
        {k: _jsonable(v) for k, v in row.items() if k != "batches"}
        for row in clf.history
    ]
    module_kwargs = {**clf.get_params_for("module"), **clf._data_module_kwargs()}
    config = {
        "format": "raman_sk.classifier",
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        "class": _qualified_name(type(clf)),
        "params": params,
        "dropped_params": dropped,
        "module_class": _qualified_name(type(clf.module_)),
        "module_kwargs": _encode(module_kwargs, "module_kwargs"),
        "n_parameters": int(sum(p.numel() for p in clf.module_.parameters())),
        "fitted": {
            "classes_": _encode_labels(clf.classes_),
            "n_features_in_": int(clf.n_features_in_),
            "feature_names_in_": (
                [str(f) for f in clf.feature_names_in_]
                if hasattr(clf, "feature_names_in_")
                else None
            ),
            "best_epoch_": getattr(clf, "best_epoch_", None),
        },
        "history": history,
        "weights_file": WEIGHTS_FILE,
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
    }
    _atomic_write(directory / WEIGHTS_FILE, weights)
    _atomic_write(directory / CONFIG_FILE, _json_bytes(config))
    return directory


def _read_weights(path: Path, sha256: str | None) -> dict:
    import safetensors.torch

    if not path.is_file():
        raise FileNotFoundError(f"No weights file at {str(path)!r}.")
    data = path.read_bytes()
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(
            f"{str(path)!r} does not match the SHA-256 recorded in config.json: "
            "the weights file was modified, truncated or replaced."
        )
    try:
        return safetensors.torch.load(data)
    except Exception as exc:  # SafetensorError and friends: never unpickle
        raise ValueError(
            f"{str(path)!r} is not a valid safetensors file ({exc}); it may be "
            "truncated or tampered with."
        ) from exc


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

    from .classifier import RamanCNNClassifier

    directory = Path(directory)
    config_path = directory / CONFIG_FILE
    config = _read_json(config_path, "classifier config.json")
    _check_format(config, "raman_sk.classifier", config_path)
    klass = _resolve(config.get("class"), "classifier class")
    if not (isinstance(klass, type) and issubclass(klass, RamanCNNClassifier)):
        raise ValueError(f"{config['class']!r} is not a RamanCNNClassifier (sub)class.")
    if cls is not None and not issubclass(klass, cls):
        raise ValueError(f"{str(directory)!r} holds a {klass.__name__}, not a {cls}.")
    params = _decode_params(config.get("params", {}), "params")
    if device is None:
        device = params.get("device", "cpu")
        if device is not None and str(device).startswith("cuda"):
            device = device if torch.cuda.is_available() else "cpu"
    params["device"] = device
    clf = klass(**params)
    clf._check_params()
    fitted = config.get("fitted", {})
    try:
        clf.classes_inferred_ = _decode_labels(fitted["classes_"])
        clf.n_features_in_ = int(fitted["n_features_in_"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{str(config_path)!r} lacks the fitted state.") from exc
    if fitted.get("feature_names_in_") is not None:
        clf.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
    clf.best_epoch_ = fitted.get("best_epoch_")
    state = _read_weights(directory / WEIGHTS_FILE, config.get("weights_sha256"))
    try:
        with torch.random.fork_rng(devices=[]):  # leave the global RNG alone
            clf.initialize()
        clf.module_.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(
            f"The weights in {str(directory)!r} do not fit the architecture "
            f"described by its config.json (incompatible architecture): {exc}"
        ) from exc
    clf.history_ = History(config.get("history", []))
    clf.module_.eval()
    return clf


# --------------------------------------------------------------- pipeline
def _step_dir(index: int, name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    return f"step{index}_{safe}"


def save_pipeline(pipe, directory: str | PathLike) -> Path:
    """Save a fitted scikit-learn Pipeline as JSON, NPZ and safetensors.

    Each step is stored by its qualified class name, its parameters
    (``get_params(deep=False)``) as JSON, and its fitted attributes (public
    attributes ending in ``_``): arrays go to ``arrays.npz``, other values to
    JSON. :class:`~raman_sk.RamanCNNClassifier` steps are saved with their own
    :meth:`~raman_sk.RamanCNNClassifier.save` into a subdirectory.

    Parameters
    ----------
    pipe : sklearn.pipeline.Pipeline
        A fitted pipeline of allow-listed estimators (see the module notes).
    directory : str or path-like
        Created if missing; ``pipeline.json`` is written last.

    Returns
    -------
    directory : pathlib.Path
        The directory written.

    Raises
    ------
    TypeError
        If ``pipe`` is not a Pipeline.
    ValueError
        If a step, parameter or fitted attribute cannot be stored safely.

    See Also
    --------
    load_pipeline : The reverse.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from raman_sk import RamanCNNClassifier, load_pipeline, save_pipeline
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(12, 16)), np.array(["a", "b", "c"] * 4)
    >>> clf = RamanCNNClassifier(max_epochs=1, random_state=0, module__channels=(4,),
    ...                          module__kernel_sizes=3, module__convs_per_block=1,
    ...                          module__hidden=8)
    >>> pipe = make_pipeline(StandardScaler(), clf).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = save_pipeline(pipe, tmp)
    ...     pipe2 = load_pipeline(tmp)
    >>> bool((pipe2.predict_proba(X) == pipe.predict_proba(X)).all())
    True
    """
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import check_is_fitted

    from .classifier import RamanCNNClassifier

    if not isinstance(pipe, Pipeline):
        raise TypeError(
            f"pipe must be a sklearn.pipeline.Pipeline, got {type(pipe).__name__}."
        )
    directory = Path(directory)
    pipe_name = _qualified_name(type(pipe))
    try:
        _storable_name(pipe_name, "pipeline", type(pipe))
    except _NotStorable as exc:
        raise ValueError(f"Cannot save a {pipe_name}: {exc}.") from None
    arrays: dict[str, np.ndarray] = {}
    steps = []
    for index, (name, est) in enumerate(pipe.steps):
        if est is None or (isinstance(est, str) and est == "passthrough"):
            steps.append({"name": name, "passthrough": True})
            continue
        if isinstance(est, RamanCNNClassifier):
            sub = _step_dir(index, name)
            save_classifier(est, directory / sub)
            steps.append({"name": name, "classifier_dir": sub})
            continue
        steps.append(_save_step(index, name, est, arrays, check_is_fitted))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    params, dropped = _encode_estimator_params(
        {k: v for k, v in pipe.get_params(deep=False).items() if k != "steps"},
        "pipeline",
    )
    config = {
        "format": "raman_sk.pipeline",
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        "class": pipe_name,
        "params": params,
        "dropped_params": dropped,
        "steps": steps,
        "arrays_file": ARRAYS_FILE,
    }
    _atomic_write(directory / ARRAYS_FILE, buf.getvalue())
    _atomic_write(directory / PIPELINE_FILE, _json_bytes(config))
    return directory


def _save_step(index, name, est, arrays, check_is_fitted) -> dict:
    where = f"step {name!r}"
    cls_name = _qualified_name(type(est))
    try:
        _storable_name(cls_name, where, type(est))
    except _NotStorable as exc:
        raise ValueError(f"Cannot save {where}: {exc}.") from None
    if not _instantiable(type(est)):
        raise ValueError(f"Cannot save {where}: {cls_name} is not an estimator.")
    check_is_fitted(est)
    try:
        params = _encode_params(
            {
                k: v
                for k, v in est.get_params(deep=False).items()
                if not k.startswith("_")
            },
            where,
        )
    except _NotStorable as exc:
        raise ValueError(f"Cannot save a parameter of {where}: {exc}.") from None
    fitted, array_refs = {}, []
    for attr, value in vars(est).items():
        if not attr.endswith("_") or attr.startswith("_"):
            continue
        if isinstance(value, np.ndarray):
            if value.dtype.kind == "O":
                if not all(isinstance(v, str) for v in value.ravel()):
                    raise ValueError(
                        f"Cannot save {where}.{attr}: object array that is not "
                        "all strings."
                    )
                stored = value.astype(str)
            elif value.dtype.kind in _ARRAY_KINDS:
                stored = value
            else:
                raise ValueError(f"Cannot save {where}.{attr}: dtype {value.dtype}.")
            key = f"{index}.{attr}"
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
            fitted[attr] = _encode(value, f"{where}.{attr}")
        except _NotStorable as exc:
            raise ValueError(f"Cannot save fitted attribute {exc}.") from None
    return {
        "name": name,
        "class": cls_name,
        "params": params,
        "fitted": fitted,
        "arrays": array_refs,
    }


def load_pipeline(directory: str | PathLike, *, device=None):
    """Load a pipeline written by :func:`save_pipeline` (no pickle).

    Parameters
    ----------
    directory : str or path-like
        Directory with ``pipeline.json``.
    device : str or None, default=None
        Passed to :func:`load_classifier` for classifier steps.

    Returns
    -------
    pipe : sklearn.pipeline.Pipeline
        The fitted pipeline; its predictions equal the saved pipeline's.

    Raises
    ------
    FileNotFoundError
        If a file is missing.
    ValueError
        On a class outside the allow-list, another format version, or a
        tampered classifier directory.

    See Also
    --------
    save_pipeline : The reverse.
    """
    from sklearn.pipeline import Pipeline

    directory = Path(directory)
    path = directory / PIPELINE_FILE
    config = _read_json(path, "pipeline.json")
    _check_format(config, "raman_sk.pipeline", path)
    pipe_cls = _resolve(config.get("class"), "pipeline class")
    if not (isinstance(pipe_cls, type) and issubclass(pipe_cls, Pipeline)):
        raise ValueError(f"{config['class']!r} is not a Pipeline class.")
    arrays_path = directory / config.get("arrays_file", ARRAYS_FILE)
    if arrays_path.name != ARRAYS_FILE:
        raise ValueError(f"Unexpected arrays file name {arrays_path.name!r}.")
    try:
        with np.load(arrays_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(
            f"{str(arrays_path)!r} is not a valid NPZ file (truncated?): {exc}"
        ) from exc
    steps = []
    for entry in config.get("steps", []):
        name = entry.get("name")
        if not isinstance(name, str):
            raise ValueError(f"{str(path)!r}: a step has no name.")
        if entry.get("passthrough"):
            steps.append((name, "passthrough"))
        elif "classifier_dir" in entry:
            sub = entry["classifier_dir"]
            if not isinstance(sub, str) or not _SAFE_NAME.match(sub) or ".." in sub:
                raise ValueError(f"Unsafe classifier directory name {sub!r}.")
            steps.append((name, load_classifier(directory / sub, device=device)))
        else:
            steps.append((name, _load_step(entry, arrays)))
    params = _decode_params(config.get("params", {}), "pipeline")
    return pipe_cls(steps, **params)


def _load_step(entry: dict, arrays: dict):
    where = f"step {entry.get('name')!r}"
    cls = _resolve(entry.get("class"), f"{where}: class")
    if not _instantiable(cls):
        raise ValueError(f"{where}: {entry['class']!r} is not an estimator class.")
    est = cls(**_decode_params(entry.get("params", {}), where))
    for attr, value in entry.get("fitted", {}).items():
        if not (attr.endswith("_") and attr.isidentifier()):
            raise ValueError(f"{where}: {attr!r} is not a fitted attribute name.")
        setattr(est, attr, _decode(value, f"{where}.{attr}"))
    for ref in entry.get("arrays", []):
        attr, key = ref.get("attr"), ref.get("key")
        if not (isinstance(attr, str) and attr.endswith("_") and attr.isidentifier()):
            raise ValueError(f"{where}: {attr!r} is not a fitted attribute name.")
        if key not in arrays:
            raise ValueError(f"{where}: array {key!r} missing from {ARRAYS_FILE}.")
        value = arrays[key]
        setattr(est, attr, value.astype(object) if ref.get("object") else value)
    return est
