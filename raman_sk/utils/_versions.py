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


#: /proc/cpuinfo flags -> the name of the vector extension they stand for.
_CPU_FLAGS = (
    ("avx2", ("avx2",)),
    ("avx512", ("avx512f",)),
    ("avx512_bf16", ("avx512_bf16",)),
    ("amx", ("amx_bf16", "amx_tile")),
)
_CPU_NAMES = {
    "avx2": "AVX2",
    "avx512": "AVX-512",
    "avx512_bf16": "AVX512-BF16",
    "amx": "AMX",
}


def cpu_info(cpuinfo: str | None = None) -> dict:
    r"""Return the CPU model and the vector extensions that set its speed.

    Parameters
    ----------
    cpuinfo : str, default=None
        Text in the format of ``/proc/cpuinfo``; None reads that file (absent
        outside Linux: then only ``platform.processor()`` is known).

    Returns
    -------
    dict
        ``model`` (str), ``avx2``, ``avx512``, ``avx512_bf16``, ``amx`` (bool
        or None when unknown) and ``summary``, e.g. ``"<model> (AVX2, AVX-512)"``.

    Examples
    --------
    >>> info = cpu_info("model name : Demo CPU\nflags : fpu avx2 avx512f\n")
    >>> info["model"], info["amx"], info["summary"]
    ('Demo CPU', False, 'Demo CPU (AVX2, AVX-512)')
    """
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                cpuinfo = f.read()
        except OSError:
            cpuinfo = ""
    model, flags = None, None
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model is None:
            model = value.strip()
        elif key == "flags" and flags is None:
            flags = set(value.split())
    model = model or platform.processor() or platform.machine() or "unknown CPU"
    info: dict = {"model": model}
    for name, needed in _CPU_FLAGS:
        info[name] = None if flags is None else any(f in flags for f in needed)
    found = [_CPU_NAMES[name] for name, _ in _CPU_FLAGS if info[name]]
    if flags is None:
        extensions = "vector extensions unknown"
    else:
        extensions = ", ".join(found) or "no AVX2"
    info["summary"] = f"{model} ({extensions})"
    return info
