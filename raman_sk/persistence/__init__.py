"""Save and load fitted models without pickle: one tagged-JSON codec, three kinds.

A classifier (safetensors weights + ``config.json``), a pipeline
(``pipeline.json`` + ``arrays.npz`` + a directory per classifier step) and a
single estimator such as the out-of-domain checker (``<name>.json`` +
``<name>.npz``). Classes are rebuilt only from an allow-list of packages;
classes that moved are found through :data:`LEGACY_NAMES`. This package sits
below the classifier: it never imports it, and rebuilds a classifier through
the class named in its files and that class's own ``load``.
"""

from ._classifier import load_classifier, save_classifier, stored_class
from ._codec import ALLOWED_PACKAGES, FORMAT_VERSION, LEGACY_NAMES
from ._estimator import load_estimator, save_estimator
from ._pipeline import load_pipeline, save_pipeline

__all__ = [
    "ALLOWED_PACKAGES",
    "FORMAT_VERSION",
    "LEGACY_NAMES",
    "load_classifier",
    "load_estimator",
    "load_pipeline",
    "save_classifier",
    "save_estimator",
    "save_pipeline",
    "stored_class",
]
