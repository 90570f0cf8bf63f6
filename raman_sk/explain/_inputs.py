"""What the explainer attributes: the fitted network, its input, baselines, targets."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import NotFittedError
from torch import nn

from raman_sk.pipeline import split_pipeline
from raman_sk.utils import (
    check_magnitude,
    check_wavenumbers,
    wavenumbers_from_feature_names,
)
from raman_sk.utils._sklearn_compat import StrOptions, validate_parameter_constraints
from raman_sk.utils._torch import PRECISIONS

from ._regions import smooth_background

#: Named baselines of ``IGExplainer(baseline=...)``.
BASELINES = ("zeros", "mean", "smooth")


def _fitted_network(clf):
    """Return the ``module_`` of a fitted classifier; NotFittedError otherwise."""
    try:
        module = clf.module_
        clf.classes_  # noqa: B018 - skorch raises here when not fitted
    except (AttributeError, NotFittedError) as exc:
        raise NotFittedError(
            f"This {type(clf).__name__} is not fitted yet: fit the pipeline before "
            "building an IGExplainer on it."
        ) from exc
    except Exception as exc:  # skorch's NotInitializedError and friends
        raise NotFittedError(
            f"This {type(clf).__name__} is not fitted yet ({exc}): fit the "
            "pipeline before building an IGExplainer on it."
        ) from exc
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"the classifier's module_ must be a torch.nn.Module, got "
            f"{type(module).__name__}."
        )
    return module


def explained_networks(pipeline, max_members=None):
    """Return (preprocessing or None, final step, members, modules, classes_).

    The final step is a RamanCNNClassifier (one member: itself) or a
    RamanCNNCommittee (its ``estimators_``; the first ``max_members`` of them
    when given). ``modules`` are the members' ``module_``.

    Raises
    ------
    TypeError
        If the final step is neither, or a ``module_`` is not a torch module.
    NotFittedError
        If the classifier or committee is not fitted.
    """
    from raman_sk.classifier import (  # skorch: heavy, import late
        RamanCNNClassifier,
        RamanCNNCommittee,
    )

    pre, final = split_pipeline(pipeline)
    if isinstance(final, RamanCNNCommittee):
        members = getattr(final, "estimators_", None)
        if not members:
            raise NotFittedError(
                "This RamanCNNCommittee is not fitted yet: fit the pipeline before "
                "building an IGExplainer on it."
            )
        members = list(members)[: max_members or None]
        classes = final.classes_
    elif isinstance(final, RamanCNNClassifier):
        members = [final]
        classes = None
    else:
        raise TypeError(
            "pipeline must be a fitted RamanCNNClassifier or RamanCNNCommittee, or "
            "a Pipeline whose last step is one; its last step is "
            f"{type(final).__name__}."
        )
    modules = [_fitted_network(member) for member in members]
    if classes is None:
        classes = final.classes_
    return pre, final, members, modules, np.asarray(classes)


def split_explained(pipeline):
    """Return (preprocessing or None, classifier, module_, classes_) of ``pipeline``.

    For a pipeline ending in one RamanCNNClassifier; see
    :func:`explained_networks` for committees.

    Raises
    ------
    TypeError
        If the final step is not a RamanCNNClassifier or its ``module_`` is not
        a torch module.
    NotFittedError
        If the classifier is not fitted.
    """
    from raman_sk.classifier import RamanCNNClassifier

    final = split_pipeline(pipeline)[1]
    if not isinstance(final, RamanCNNClassifier):
        raise TypeError(
            "pipeline must be a fitted RamanCNNClassifier or a Pipeline whose last "
            f"step is one; its last step is {type(final).__name__}."
        )
    pre, clf, _, modules, classes = explained_networks(pipeline)
    return pre, clf, modules[0], classes


def _n_features(clf, module):
    n = getattr(clf, "n_features_in_", None)
    if n is None:
        n = getattr(module, "n_features", None)
    return None if n is None else int(n)


def network_input(pre, clf, module, X) -> np.ndarray:
    """Return ``X`` after the preprocessing steps as validated float32 rows."""
    n_expected = _n_features(clf, module)
    if pre is not None:
        n_in = getattr(pre, "n_features_in_", None)
        shape = getattr(X, "shape", None)
        if (
            n_in is not None
            and shape is not None
            and len(shape) == 2
            and shape[1] != n_in
        ):
            raise ValueError(
                f"X has {shape[1]} points per spectrum, but the pipeline was "
                f"fitted on spectra of {n_in} points."
            )
        X = pre.transform(X)
    try:
        Xt = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"X must be numeric spectra (n_samples, n_points): {exc}"
        ) from None
    if Xt.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_points), got shape {Xt.shape}.")
    if n_expected is not None and Xt.shape[1] != n_expected:
        raise ValueError(
            f"X has {Xt.shape[1]} points per spectrum (after preprocessing) "
            f"but the network expects {n_expected}."
        )
    if Xt.shape[0] == 0:
        raise ValueError("X holds no spectra (0 rows).")
    if not np.all(np.isfinite(Xt)):
        raise ValueError("X contains NaN or inf after preprocessing.")
    check_magnitude(Xt, "X (after preprocessing)")
    return Xt


def resolve_wavenumbers(wavenumbers, pre, X, n) -> np.ndarray:
    """Axis of the network input: given, read from feature names, or indices."""
    if wavenumbers is not None:
        return check_wavenumbers(wavenumbers, n, name="wavenumbers")
    names = None
    try:
        if pre is not None:
            names = pre.get_feature_names_out()
        elif hasattr(X, "columns"):
            names = X.columns
    except (AttributeError, NotFittedError, ValueError, TypeError):
        names = None
    if names is not None and len(names) == n:
        w = wavenumbers_from_feature_names(names, strict=False)
        if w is not None:
            return w
    warnings.warn(
        "IGExplainer could not read the wavenumbers of the network input "
        "(the preprocessing steps give no numeric get_feature_names_out()); "
        f"using point indices 0..{n - 1}. Pass wavenumbers= to IGExplainer.",
        UserWarning,
        stacklevel=3,
    )
    return np.arange(n, dtype=np.float64)


def resolve_precision(precision, clf) -> str:
    """Precision of the attribution passes: given, else the classifier's."""
    if precision is None:
        precision = getattr(clf, "precision", None) or "float32"
    validate_parameter_constraints(
        {"precision": [StrOptions(set(PRECISIONS))]},
        {"precision": precision},
        caller_name="IGExplainer",
    )
    return precision


def check_baseline_array(baseline, n):
    """Return an array baseline as float32 of shape (n,); None for a named one."""
    if isinstance(baseline, str):
        return None
    try:
        arr = np.asarray(baseline, dtype=np.float32)
    except (TypeError, ValueError):
        raise TypeError(
            f"baseline must be one of {list(BASELINES)} or a numeric array, "
            f"got {baseline!r}."
        ) from None
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.shape != (n,):
        raise ValueError(
            f"baseline has shape {arr.shape}, but the network input has {n} "
            f"points: give an array of shape ({n},) on the network's grid."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("baseline contains NaN or inf.")
    return arr


def baselines_for(Xt, baseline, *, mean_input, wavenumbers, array=None):
    """Baseline rows (float32, shape of ``Xt``) for the named or array baseline."""
    if not isinstance(baseline, str):
        return np.broadcast_to(array, Xt.shape).astype(np.float32)
    if baseline == "zeros":
        return np.zeros_like(Xt)
    if baseline == "mean":
        return np.broadcast_to(mean_input, Xt.shape).astype(np.float32)
    return smooth_background(Xt, wavenumbers).astype(np.float32)


def label_indices(labels, classes, what) -> np.ndarray:
    """Positions in ``classes`` of ``labels`` (compared as strings)."""
    lookup = {str(c): k for k, c in enumerate(classes)}
    out = np.empty(len(labels), dtype=np.int64)
    for i, v in enumerate(labels):
        if str(v) not in lookup:
            raise ValueError(
                f"{what} {v!r} is not a class of the classifier; its classes "
                f"are {[str(c) for c in classes]}."
            )
        out[i] = lookup[str(v)]
    return out


def target_indices(target, classes, n, predicted) -> np.ndarray:
    """Class index explained for each of ``n`` rows; None: the predicted ones."""
    if target is None:
        return predicted
    values = np.asarray(target, dtype=object)
    if values.ndim == 0:
        values = np.full(n, values.item(), dtype=object)
    if values.shape != (n,):
        raise ValueError(
            f"target must be None, one label or one label per spectrum ({n}), "
            f"got shape {values.shape}."
        )
    return label_indices(values, classes, "target")
