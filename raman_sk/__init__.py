"""raman_sk: scikit-learn compatible Raman spectra classification with a 1D CNN.

The heavy submodules (torch, skorch, captum) are imported lazily, so that
``import raman_sk.preprocessing`` or ``raman_sk.datasets`` stays light.
"""

import os as _os
from importlib import import_module

# OpenMP's busy-waiting stalls torch on machines whose cores are shared (see
# benchmarks/README.md); the policy must be set before torch loads OpenMP, so it is
# set here, once, and only when the user has not chosen one.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

_LAZY = {
    "RamanCNNClassifier": "raman_sk.classifier",
    "RamanCNNCommittee": "raman_sk.classifier",
    "RamanCNN1D": "raman_sk.models",
    "IGExplainer": "raman_sk.explain",
    "save_pipeline": "raman_sk.persistence",
    "load_pipeline": "raman_sk.persistence",
    "load_ramanbiolib": "raman_sk.datasets",
    "read_spectra": "raman_sk.datasets",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'raman_sk' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
