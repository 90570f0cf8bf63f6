"""Save and load a fitted scikit-learn Pipeline without pickle.

A pipeline directory holds ``pipeline.json`` (steps with their parameters and
fitted scalars), ``arrays.npz`` (the steps' fitted arrays, read with
``allow_pickle=False``) and one directory per step that saves itself (a
:class:`~raman_sk.RamanCNNClassifier` or a committee of them: its own
``save``/``load``).
"""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path

import numpy as np

from raman_sk.utils._files import write_npz

from ._codec import (
    NotStorable,
    check_storable,
    decode_params,
    encode_estimator_params,
    qualified_name,
    read_config,
    storable_class,
    write_config,
)
from ._committee import load_self_saved, safe_subdirectory
from ._estimator import decode_estimator, encode_estimator, read_npz

PIPELINE_FILE = "pipeline.json"
ARRAYS_FILE = "arrays.npz"
PIPELINE_FORMAT = "raman_sk.pipeline"


def _step_dir(index: int, name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", name)
    return f"step{index}_{safe}"


def _saves_itself(est) -> bool:
    """Tell whether ``est`` has its own ``save``: a classifier or a committee.

    A skorch net with ``save`` (the classifier), or an allow-listed class with
    a ``save`` method and a ``load`` classmethod (the committee).
    """
    from skorch import NeuralNet

    if not callable(getattr(est, "save", None)):
        return False
    if isinstance(est, NeuralNet):
        return True
    if not callable(getattr(type(est), "load", None)):
        return False
    try:
        check_storable(qualified_name(type(est)), "step", type(est))
    except NotStorable:
        return False
    return True


def save_pipeline(pipe, directory: str | PathLike) -> Path:
    """Save a fitted scikit-learn Pipeline as JSON, NPZ and safetensors.

    Each step is stored by its qualified class name, its parameters
    (``get_params(deep=False)``) as JSON, and its fitted attributes (public
    attributes ending in ``_``): arrays go to ``arrays.npz``, other values to
    JSON. :class:`~raman_sk.RamanCNNClassifier` and
    :class:`~raman_sk.classifier.RamanCNNCommittee` steps are saved with their
    own ``save`` into a subdirectory.

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

    if not isinstance(pipe, Pipeline):
        raise TypeError(
            f"pipe must be a sklearn.pipeline.Pipeline, got {type(pipe).__name__}."
        )
    directory = Path(directory)
    pipe_name = storable_class(type(pipe), "pipeline")
    arrays: dict[str, np.ndarray] = {}
    steps = []
    for index, (name, est) in enumerate(pipe.steps):
        if est is None or (isinstance(est, str) and est == "passthrough"):
            steps.append({"name": name, "passthrough": True})
        elif _saves_itself(est):
            sub = _step_dir(index, name)
            est.save(directory / sub)
            steps.append({"name": name, "classifier_dir": sub})
        else:
            entry = encode_estimator(
                est, f"step {name!r}", arrays, lambda attr, i=index: f"{i}.{attr}"
            )
            steps.append({"name": name, **entry})
    params, dropped = encode_estimator_params(
        {k: v for k, v in pipe.get_params(deep=False).items() if k != "steps"},
        "pipeline",
    )
    write_npz(directory / ARRAYS_FILE, arrays)
    body = {
        "class": pipe_name,
        "params": params,
        "dropped_params": dropped,
        "steps": steps,
        "arrays_file": ARRAYS_FILE,
    }
    write_config(directory / PIPELINE_FILE, PIPELINE_FORMAT, body)
    return directory


def load_pipeline(directory: str | PathLike, *, device=None):
    """Load a pipeline written by :func:`save_pipeline` (no pickle).

    Parameters
    ----------
    directory : str or path-like
        Directory with ``pipeline.json``.
    device : str or None, default=None
        Passed to the classifier steps' ``load``.

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
    config, pipe_cls = read_config(
        path, PIPELINE_FORMAT, Pipeline, what="pipeline", base_name="a Pipeline class"
    )
    arrays_path = directory / config.get("arrays_file", ARRAYS_FILE)
    if arrays_path.name != ARRAYS_FILE:
        raise ValueError(f"Unexpected arrays file name {arrays_path.name!r}.")
    arrays = read_npz(arrays_path)
    steps = []
    for entry in config.get("steps", []):
        name = entry.get("name")
        if not isinstance(name, str):
            raise ValueError(f"{str(path)!r}: a step has no name.")
        if entry.get("passthrough"):
            steps.append((name, "passthrough"))
        elif "classifier_dir" in entry:
            sub = safe_subdirectory(directory, entry["classifier_dir"])
            steps.append((name, load_self_saved(sub, device)))
        else:
            steps.append(
                (name, decode_estimator(entry, arrays, f"step {name!r}", ARRAYS_FILE))
            )
    params = decode_params(config.get("params", {}), "pipeline")
    return pipe_cls(steps, **params)
