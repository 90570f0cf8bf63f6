"""raman_sk: scikit-learn compatible Raman spectra classification with a 1D CNN.

The heavy submodules (torch, skorch, captum) are imported lazily, so that
``import raman_sk.preprocessing`` or ``raman_sk.datasets`` stays light.
"""

import os as _os
from importlib import import_module

# OpenMP's default busy-waiting makes torch 10x slower on a machine whose cores are
# shared (measured in benchmarks/results/speed.md). Passive waiting costs nothing
# measurable; it must be set before torch loads its OpenMP runtime, so it is set
# here, and only when the user has not chosen a policy.
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
