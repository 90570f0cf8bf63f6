"""The versions of raman_sk and the libraries that shape its results."""

from __future__ import annotations

import importlib.metadata
import platform

#: Distributions whose versions are recorded next to every model and run.
DISTRIBUTIONS = (
    "torch",
    "skorch",
    "captum",
    "scikit-learn",
    "numpy",
    "scipy",
    "pandas",
    "pybaselines",
    "ramanbiolib",
)


def versions() -> dict:
    """Return the versions of Python, raman_sk and its main dependencies.

    A distribution that is not installed maps to None.

    Examples
    --------
    >>> v = versions()
    >>> sorted(k for k in ("raman_sk", "torch", "python") if k in v)
    ['python', 'raman_sk', 'torch']
    """
    from raman_sk import __version__

    out = {
        "raman_sk": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    for dist in DISTRIBUTIONS:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    return out
