"""Datasets: the bundled ramanbiolib database and readers for users' spectra files.

* :func:`load_ramanbiolib` and :func:`load_ramanbiolib_peaks` read the
  ramanbiolib reference database (``_ramanbiolib``).
* :func:`read_spectra` reads the files Raman instruments write or export into
  ``(wavenumbers, intensities)`` pairs, each on its own axis, ready for
  :class:`raman_sk.preprocessing.WavenumberResampler` (``_read`` dispatches
  each file to one reader module per format; the instrument-file readers call
  the optional libraries of the ``formats`` extra, see ``_vendor``).
* :func:`read_labels` and :func:`match_labels` read a labels CSV and give each
  spectrum read its label and group (``_labels``).
"""

from ._labels import match_labels, read_labels
from ._ramanbiolib import load_ramanbiolib, load_ramanbiolib_peaks
from ._read import read_spectra

__all__ = [
    "load_ramanbiolib",
    "load_ramanbiolib_peaks",
    "match_labels",
    "read_labels",
    "read_spectra",
]
