"""Save and load fitted models without pickle: one tagged-JSON codec, four kinds.

A classifier (safetensors weights + ``config.json``), a committee of
classifiers (``config.json`` + ``arrays.npz`` + a classifier directory per
member), a pipeline (``pipeline.json`` + ``arrays.npz`` + a directory per
classifier or committee step) and a
single estimator such as the out-of-domain checker (``<name>.json`` +
``<name>.npz``). Classes are rebuilt only from an allow-list of packages;
classes that moved are found through :data:`LEGACY_NAMES`. This package sits
below the classifier: it never imports it, and rebuilds a classifier through
the class named in its files and that class's own ``load`` (the same for
the committee).
"""

from ._classifier import load_classifier, save_classifier, stored_class
from ._codec import ALLOWED_PACKAGES, FORMAT_VERSION, LEGACY_NAMES
from ._committee import load_committee, save_committee
from ._estimator import load_estimator, save_estimator
from ._pipeline import load_pipeline, save_pipeline

__all__ = [
    "ALLOWED_PACKAGES",
    "FORMAT_VERSION",
    "LEGACY_NAMES",
    "load_classifier",
    "load_committee",
    "load_estimator",
    "load_pipeline",
    "save_classifier",
    "save_committee",
    "save_estimator",
    "save_pipeline",
    "stored_class",
]
