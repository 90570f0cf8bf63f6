"""Integrated Gradients explanations of a fitted raman_sk pipeline.

:class:`IGExplainer` attributes the network's class score to each point of its
input spectrum with captum's ``IntegratedGradients`` (Sundararajan et al.
2017), averages the attributions per class, finds the wavenumber regions that
carry them (:func:`find_regions`) and assigns those regions to known Raman
bands (:mod:`raman_sk.bands`). The randomisation checks of Adebayo et al.
(2018, "Sanity checks for saliency maps") tell whether a map depends on what
the network learned. A committee is explained as the mean of its members, and
:func:`map_stability` gives the rank correlation of each class map between
them. Measured results: benchmarks/README.md.

Which map answers which question
--------------------------------
``abs_ig`` (``saliency_``, the reference recipe's mean absolute IG)
    "Where is the signal large *and* the network sensitive?" Dominated by the
    spectrum's own shape (IG = gradient x (x - baseline)), it stays
    rank-correlated with the map of a randomly initialised network: it fails
    the model-randomisation check and must not be read as "what the network
    learned".
``signed_ig`` (``signed_saliency_``)
    "Which wavenumbers raise (positive) or lower (negative) the class's logit,
    compared with the baseline?" Passes the checks, but includes evidence
    common to all classes.
``contrastive_ig`` (``contrastive_saliency_``)
    "Which wavenumbers make this class win *over the others*?" IG of the
    class-contrastive score ``f_c - mean_{k != c} f_k``; shared evidence
    cancels. Passes the checks; ``regions_`` and the figures use it by default.
"""

from ._integrated_gradients import IGExplainer
from ._maps import MAP_NAMES
from ._regions import REGION_COLUMNS, find_regions, smooth_background
from ._sanity import (
    SANITY_COLUMNS,
    STABILITY_COLUMNS,
    data_randomization_check,
    map_stability,
    model_randomization_check,
    sanity_summary,
    seed_control_check,
)

__all__ = [
    "MAP_NAMES",
    "REGION_COLUMNS",
    "SANITY_COLUMNS",
    "STABILITY_COLUMNS",
    "IGExplainer",
    "data_randomization_check",
    "find_regions",
    "map_stability",
    "model_randomization_check",
    "sanity_summary",
    "seed_control_check",
    "smooth_background",
]
