"""Writing files so that a crash or Ctrl-C never leaves half a file or half a run."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np


def atomic_write(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling and :func:`os.replace`.

    The parent directory is created if missing. Readers see either the old file
    or the complete new one, never a partial write.

    Parameters
    ----------
    path : str or path-like
        The file to write.
    data : bytes
        Its complete content.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def jsonable(value):
    """Plain-JSON form of ``value``: numpy scalars and arrays, tuples and paths.

    Non-finite floats become None (strict JSON has no NaN); objects that JSON
    cannot hold raise ``TypeError`` when dumped rather than being stringified.

    Examples
    --------
    >>> jsonable({"a": np.float32(0.5), "b": (1, np.nan), 2: np.arange(2)})
    {'a': 0.5, 'b': [1, None], '2': [0, 1]}
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def json_bytes(obj) -> bytes:
    """``obj`` (made :func:`jsonable`) as indented UTF-8 JSON with a final newline."""
    return (json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n").encode()


def write_text(path, text: str) -> Path:
    """Write UTF-8 ``text`` atomically."""
    return atomic_write(path, text.encode("utf-8"))


def write_json(path, obj) -> Path:
    """Write ``obj`` as JSON atomically (see :func:`json_bytes`)."""
    return atomic_write(path, json_bytes(obj))


def write_csv(path, frame) -> Path:
    """Write a DataFrame as CSV without its index, atomically."""
    return write_text(path, frame.to_csv(index=False))


def npz_bytes(arrays: dict) -> bytes:
    """Return the bytes of an uncompressed NPZ archive of ``arrays``."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def write_npz(path, arrays: dict) -> Path:
    """Write ``arrays`` as an NPZ archive atomically."""
    return atomic_write(path, npz_bytes(arrays))


def write_png(path, obj, *, dpi: int = 150) -> Path:
    """Save the figure of ``obj`` (Figure, Axes or array of Axes) as PNG, then close it.

    The PNG is rendered to memory and written atomically.
    """
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    if isinstance(obj, Figure):
        fig = obj
    elif isinstance(obj, np.ndarray):
        fig = obj.flat[0].figure
    else:
        fig = obj.figure
    try:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return atomic_write(path, buf.getvalue())


def check_output_dir(out: str | os.PathLike, overwrite: bool) -> Path:
    """Refuse to write into a non-empty ``out`` unless ``overwrite`` is true.

    Raises
    ------
    FileExistsError
        If ``out`` is a file, or a non-empty directory and ``overwrite`` is false.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {str(out)!r} exists and is not a directory.")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(
            f"--out {str(out)!r} is not empty; refusing to overwrite an earlier run "
            "(give --overwrite to replace it, or choose another directory)."
        )
    return out


@contextlib.contextmanager
def staged_directory(out: str | os.PathLike):
    """Build a directory in a temporary sibling and move it into place at the end.

    Yields the temporary directory. On an error or an interrupt it is removed
    and ``out`` (an earlier run included) is left as it was; on success an
    earlier ``out`` is replaced as a whole.
    """
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
        os.replace(out, old / "previous")
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old / "previous", out)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
