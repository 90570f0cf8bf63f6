"""Tagged JSON codec of raman_sk's model files, and the checks every reader shares.

Parameters that are objects are stored by their qualified name and rebuilt on
load only from an allow-list of packages (``raman_sk``, ``sklearn``,
``skorch``, ``torch``): classes are resolved only if they are defined where
the name says (or where :data:`LEGACY_NAMES` says a moved class now lives),
and only estimators, skorch callbacks/splits and torch modules are
instantiated. Anything else is refused with a ``ValueError`` naming it, never
imported. Non-finite floats are tagged so that the files are strict JSON.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import math
import types
import warnings
from pathlib import Path

import numpy as np

from raman_sk.utils._files import atomic_write, json_bytes
from raman_sk.utils._versions import versions

FORMAT_VERSION = 1
ALLOWED_PACKAGES = ("raman_sk", "sklearn", "skorch", "torch")
WEIGHTS_FILE = "weights.safetensors"
CONFIG_FILE = "config.json"

#: Qualified names written by earlier raman_sk versions -> where the class is now.
LEGACY_NAMES = {
    "raman_sk.classifier.RamanCNNClassifier": (
        "raman_sk.classifier._classifier.RamanCNNClassifier"
    ),
    "raman_sk.classifier.ValidAccuracy": "raman_sk.classifier.callbacks.ValidAccuracy",
    "raman_sk.classifier.BestWeights": "raman_sk.classifier.callbacks.BestWeights",
    "raman_sk.pipeline.FinalWeights": "raman_sk.classifier.callbacks.FinalWeights",
    "raman_sk.pipeline.EpochProgress": "raman_sk.classifier.callbacks.EpochProgress",
}

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
ARRAY_KINDS = "biufcU"


class NotStorable(ValueError):
    pass


# ------------------------------------------------------------------ names
def qualified_name(obj) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _check_allowed(name: str, what: str) -> None:
    if not isinstance(name, str) or name.split(".")[0] not in ALLOWED_PACKAGES:
        raise ValueError(
            f"{what} {name!r} is not from an allowed package "
            f"{ALLOWED_PACKAGES}; refusing to import it."
        )


def resolve(name: str, what: str = "class"):
    """Import ``name`` ('pkg.module.Qual.Name') from the allow-list only."""
    _check_allowed(name, what)
    name = LEGACY_NAMES.get(name, name)
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


def instantiable(cls) -> bool:
    from sklearn.base import BaseEstimator
    from skorch.callbacks import Callback
    from skorch.dataset import ValidSplit
    from torch import nn

    return isinstance(cls, type) and issubclass(
        cls, (BaseEstimator, Callback, ValidSplit, nn.Module)
    )


# --------------------------------------------------------------- encoding
def encode(value, where: str):
    """Turn a parameter value into JSON data; ``NotStorable`` if impossible."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, np.generic):
        return _tag_floats(value)
    if isinstance(value, np.generic):
        if value.dtype.kind not in ARRAY_KINDS:
            raise NotStorable(f"{where}: numpy scalar of dtype {value.dtype}")
        return {"scalar": _tag_floats(value.item()), "dtype": value.dtype.str}
    if isinstance(value, tuple):
        return {"tuple": [encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise NotStorable(f"{where}: dict with non-string keys")
        return {"dict": {k: encode(v, f"{where}[{k!r}]") for k, v in value.items()}}
    if isinstance(value, np.ndarray):
        return {"ndarray": encode_array_values(value, where), **array_meta(value)}
    if isinstance(value, type):
        name = qualified_name(value)
        check_storable(name, where, value)
        return {"type": name}
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType)):
        name = qualified_name(value)
        check_storable(name, where, value)
        return {"function": name}
    cls = type(value)
    if instantiable(cls):
        name = qualified_name(cls)
        check_storable(name, where, cls)
        return {"class": name, "params": encode_params(init_params(value), where)}
    raise NotStorable(f"{where}: object of type {qualified_name(cls)}")


def check_storable(name, where, obj) -> None:
    try:
        ok = resolve(name) is obj
    except ValueError:
        ok = False
    if not ok:
        raise NotStorable(
            f"{where}: {name} (only names from {ALLOWED_PACKAGES} that can be "
            "imported back are stored)"
        )



def storable_class(cls: type, where: str, what: str | None = None) -> str:
    """Return the qualified name of ``cls``; ``ValueError`` if it cannot be stored.

    ``what`` names the object in the message (default: ``"a <name>"``).
    """
    name = qualified_name(cls)
    try:
        check_storable(name, where, cls)
    except NotStorable as exc:
        raise ValueError(f"Cannot save {what or 'a ' + name}: {exc}.") from None
    return name


def init_params(obj) -> dict:
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
            raise NotStorable(
                f"{qualified_name(type(obj))} does not keep its argument {name!r}"
            )
        params[name] = getattr(obj, name)
    return params


def encode_params(params: dict, where: str) -> dict:
    return {k: encode(v, f"{where}.{k}") for k, v in params.items()}


def array_meta(arr: np.ndarray) -> dict:
    return {"dtype": arr.dtype.str, "shape": list(arr.shape)}


def encode_array_values(arr: np.ndarray, where: str) -> list:
    if arr.dtype.kind == "O":
        if not all(isinstance(v, str) for v in arr.ravel()):
            raise NotStorable(f"{where}: object array that is not all strings")
    elif arr.dtype.kind not in ARRAY_KINDS:
        raise NotStorable(f"{where}: array of dtype {arr.dtype}")
    if arr.dtype.kind == "c":
        raise NotStorable(f"{where}: complex array")
    return _tag_floats(arr.tolist())


def _tag_floats(value):
    """Replace non-finite floats (also nested in lists) by ``{"float": repr}``."""
    if isinstance(value, list):
        return [_tag_floats(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}
    return value


def decode(data, where: str = "config"):
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v, where) for v in data]
    if not isinstance(data, dict):
        raise ValueError(f"{where}: unexpected JSON value {data!r}.")
    if set(data) == {"float"}:
        if data["float"] not in ("nan", "inf", "-inf"):
            raise ValueError(f"{where}: {data['float']!r} is not a non-finite float.")
        return float(data["float"])
    if set(data) == {"tuple"}:
        return tuple(decode(v, where) for v in data["tuple"])
    if set(data) == {"dict"}:
        return {k: decode(v, f"{where}.{k}") for k, v in data["dict"].items()}
    if set(data) == {"scalar", "dtype"}:
        dtype = safe_dtype(data["dtype"], where)
        return dtype.type(decode(data["scalar"], where))
    if set(data) == {"ndarray", "dtype", "shape"}:
        dtype = safe_dtype(data["dtype"], where)
        arr = np.array(decode(data["ndarray"], where), dtype=dtype)
        return arr.reshape(data["shape"])
    if set(data) == {"type"}:
        return resolve(data["type"], f"{where}: class")
    if set(data) == {"function"}:
        obj = resolve(data["function"], f"{where}: function")
        if not callable(obj) or isinstance(obj, type):
            raise ValueError(f"{where}: {data['function']!r} is not a function.")
        return obj
    if set(data) == {"class", "params"}:
        cls = resolve(data["class"], f"{where}: class")
        if not instantiable(cls):
            raise ValueError(
                f"{where}: class {data['class']!r} is not an estimator, skorch "
                "callback/split or torch module; refusing to instantiate it."
            )
        return cls(**decode_params(data["params"], where))
    raise ValueError(f"{where}: unexpected JSON object with keys {sorted(data)}.")


def decode_params(data, where: str) -> dict:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: parameters must be a JSON object.")
    return {k: decode(v, f"{where}.{k}") for k, v in data.items()}


def safe_dtype(text, where) -> np.dtype:
    try:
        dtype = np.dtype(text)
    except TypeError as exc:
        raise ValueError(f"{where}: unknown dtype {text!r}.") from exc
    if dtype.kind not in ARRAY_KINDS + "O":
        raise ValueError(f"{where}: dtype {text!r} is not allowed.")
    return dtype


def encode_estimator_params(params: dict, where: str) -> tuple[dict, dict]:
    """Encode ``get_params(deep=False)``; drop unstorable training-only ones."""
    encoded, dropped = {}, {}
    for key, value in params.items():
        if key.startswith("_"):
            continue
        try:
            encoded[key] = encode(value, f"{where}.{key}")
        except NotStorable as exc:
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


def encode_labels(classes: np.ndarray) -> dict:
    classes = np.asarray(classes)
    try:
        values = encode_array_values(classes, "classes_")
    except NotStorable as exc:
        raise ValueError(
            f"Cannot save classes_ of dtype {classes.dtype}: {exc}."
        ) from None
    return {"values": values, "dtype": classes.dtype.str}


def decode_labels(data: dict) -> np.ndarray:
    dtype = safe_dtype(data["dtype"], "classes_")
    data = {**data, "values": decode(data["values"], "classes_")}
    if dtype.kind == "O":
        arr = np.empty(len(data["values"]), dtype=object)
        arr[:] = data["values"]
        return arr
    return np.asarray(data["values"], dtype=dtype)


def read_weights(path: Path, sha256: str | None) -> dict:
    """Read the state dict in a safetensors file whose SHA-256 is ``sha256``."""
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


def write_weights(path: Path, state_dict) -> str:
    """Write a state dict as safetensors; return the file's SHA-256."""
    import safetensors.torch

    tensors = {
        k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items()
    }
    data = safetensors.torch.save(tensors, metadata={"format": "raman_sk"})
    atomic_write(path, data)
    return hashlib.sha256(data).hexdigest()


def write_config(path: Path, kind: str, body: dict) -> Path:
    """Write ``body`` as the JSON file of format ``kind``, with the versions."""
    config = {
        "format": kind,
        "format_version": FORMAT_VERSION,
        "versions": versions(),
        **body,
    }
    return atomic_write(path, json_bytes(config))


def read_json(path: Path, what: str) -> dict:
    """Read the JSON object in ``path``; ``ValueError`` for anything else."""
    if not path.is_file():
        raise FileNotFoundError(f"No {what} file at {str(path)!r}.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{str(path)!r} is not valid JSON: {exc}.") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{str(path)!r} does not hold a JSON object.")
    return data


def check_format(config: dict, expected: str, path: Path) -> None:
    """Refuse another kind of file or format version; warn on another release."""
    from raman_sk import __version__

    if config.get("format") != expected:
        raise ValueError(
            f"{str(path)!r} is not a {expected} file (format={config.get('format')!r})."
        )
    written = config.get("versions")
    written_by = written.get("raman_sk") if isinstance(written, dict) else None
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{str(path)!r} has format version {version!r}, written by raman_sk "
            f"{written_by or '?'}; this raman_sk ({__version__}) reads format "
            f"version {FORMAT_VERSION} only."
        )
    if written_by != __version__:
        warnings.warn(
            f"{str(path)!r} was written by raman_sk {written_by}; this is raman_sk "
            f"{__version__}. The file format is the same (version {FORMAT_VERSION}), "
            "but predictions may differ if the model code changed between releases.",
            UserWarning,
            stacklevel=3,
        )


def read_config(path: Path, kind: str, base: type, *, what: str, base_name: str):
    """Read the JSON file of format ``kind`` at ``path`` and resolve its class.

    Returns ``(config, class)``; the class must be a subclass of ``base``.
    ``what`` names the kind of file ("pipeline" reads "pipeline class" in
    errors), ``base_name`` the base class.
    """
    config = read_json(path, f"{what} {path.name}")
    check_format(config, kind, path)
    klass = resolve(config.get("class"), f"{what} class")
    if not (isinstance(klass, type) and issubclass(klass, base)):
        raise ValueError(f"{config['class']!r} is not {base_name}.")
    return config, klass
