"""The nearest library molecule: which training spectrum a new spectrum resembles most.

The classifier answers with one of a few classes; a spectroscopist also wants
a named reference to check the label against, as a library search gives it.
:class:`MoleculeLibrary` keeps the training spectra on the network's input
grid with each one's molecule and class, and returns for a new spectrum the
molecule of the most similar one (Pearson correlation, as the out-of-domain
check computes it). It is saved as ``library.npz`` in a model directory
(plain numeric and text arrays, read without pickle).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from raman_sk._evidence import nearest_similarity
from raman_sk.utils._files import write_npz

__all__ = ["LIBRARY_FILE", "MoleculeLibrary", "load_library", "save_library"]

#: File name of a saved library inside a model directory.
LIBRARY_FILE = "library.npz"
_KEYS = ("reference", "molecules", "classes")


class MoleculeLibrary:
    """Reference spectra with their molecule and class, searched by correlation.

    Parameters
    ----------
    reference : array-like of shape (n_reference, n_points)
        Spectra on the network's input grid (after the pipeline's cleaning).
    molecules : array-like of shape (n_reference,)
        Molecule (or group) name of each spectrum.
    classes : array-like of shape (n_reference,)
        Class of each spectrum.
    wavenumbers : array-like of shape (n_points,), default=None
        The grid, kept for the record.

    Examples
    --------
    >>> ref = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    >>> lib = MoleculeLibrary(ref, ["glycine", "oleic acid"], ["AA", "Lipid"])
    >>> lib.query(np.array([[0.0, 0.1, 0.0, 2.0]]))["nearest_molecule"].tolist()
    ['oleic acid']
    """

    def __init__(self, reference, molecules, classes, wavenumbers=None):
        self.reference = np.asarray(reference, dtype=np.float64)
        self.molecules = np.asarray([str(m) for m in molecules])
        self.classes = np.asarray([str(c) for c in classes])
        self.wavenumbers = None if wavenumbers is None else np.asarray(
            wavenumbers, dtype=np.float64
        )
        n = self.reference.shape[0] if self.reference.ndim == 2 else -1
        if n < 1 or self.molecules.shape != (n,) or self.classes.shape != (n,):
            raise ValueError(
                f"the library needs 2-D reference spectra and one molecule and class "
                f"per spectrum; got reference {self.reference.shape}, "
                f"{self.molecules.shape[0]} molecules, {self.classes.shape[0]} classes."
            )
        if not np.isfinite(self.reference).all():
            raise ValueError("the library's reference spectra contain NaN or inf.")

    @property
    def n_features_in_(self) -> int:
        """Points of each reference spectrum."""
        return int(self.reference.shape[1])

    def query(self, X) -> pd.DataFrame:
        """Most similar reference spectrum of each row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_points)
            Spectra on the same grid as the reference.

        Returns
        -------
        DataFrame
            ``nearest_molecule``, ``nearest_class`` and ``nearest_similarity``
            (Pearson correlation in [-1, 1]; 0 for a constant spectrum).
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has shape {X.shape}; the library's spectra have "
                f"{self.n_features_in_} points."
            )
        sim, idx = nearest_similarity(X, self.reference)
        return pd.DataFrame(
            {
                "nearest_molecule": self.molecules[idx],
                "nearest_class": self.classes[idx],
                "nearest_similarity": sim,
            }
        )


def save_library(library: MoleculeLibrary, directory) -> Path:
    """Write ``library.npz`` (spectra, molecule and class names, grid) atomically.

    Examples
    --------
    >>> import tempfile
    >>> lib = MoleculeLibrary(np.eye(3), ["a", "b", "c"], ["x", "x", "y"])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     same = load_library(save_library(lib, tmp).parent)
    >>> same.molecules.tolist(), same.classes.tolist()
    (['a', 'b', 'c'], ['x', 'x', 'y'])
    """
    arrays = {
        "reference": library.reference,
        "molecules": library.molecules,
        "classes": library.classes,
    }
    if library.wavenumbers is not None:
        arrays["wavenumbers"] = library.wavenumbers
    return write_npz(Path(directory) / LIBRARY_FILE, arrays)


def load_library(directory) -> MoleculeLibrary | None:
    """Read ``library.npz`` from a model directory (no pickle).

    Returns
    -------
    MoleculeLibrary or None
        None when the directory has no ``library.npz`` (a model saved by an
        older raman_sk).

    Raises
    ------
    ValueError
        If the file is not a library or its arrays disagree.
    """
    path = Path(directory) / LIBRARY_FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in _KEYS if k not in data.files]
            if missing:
                raise ValueError(f"missing arrays {missing}")
            arrays = {k: data[k] for k in data.files}
        if arrays["molecules"].dtype.kind != "U" or arrays["classes"].dtype.kind != "U":
            raise ValueError("molecules and classes must be text arrays")
        return MoleculeLibrary(
            arrays["reference"], arrays["molecules"], arrays["classes"],
            arrays.get("wavenumbers"),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"cannot read the library in {str(path)!r}: {exc}") from exc
