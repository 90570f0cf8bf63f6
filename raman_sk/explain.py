r"""Integrated Gradients explanations of a fitted raman_sk pipeline.

:class:`IGExplainer` attributes the network's class score to each point of its
input spectrum with captum's ``IntegratedGradients`` (Sundararajan et al.
2017), averages the attributions per class, finds the wavenumber regions that
carry them and assigns those regions to known Raman bands
(:mod:`raman_sk.bands`). :meth:`IGExplainer.sanity_check` runs the
randomisation tests of Adebayo et al. (2018, "Sanity checks for saliency
maps") so that a map is only trusted when it depends on what the network
learned.

Which map answers which question
--------------------------------
``abs_ig`` (``saliency_``, SEED.md's mean absolute IG)
    "Where is the signal large *and* the network sensitive?" It is dominated by
    the spectrum's own shape (IG = gradient x (x - baseline)) and stays highly
    rank-correlated with the map of a *randomly initialised* network: it fails
    the model-randomisation check and must not be read as "what the network
    learned". Kept for continuity with SEED.md's artefacts.
``signed_ig`` (``signed_saliency_``)
    "Which wavenumbers raise (positive) or lower (negative) the class's logit,
    compared with the baseline?" Passes the randomisation checks, but includes
    evidence common to all classes (e.g. a shared band that raises every logit).
``contrastive_ig`` (``contrastive_saliency_``)
    "Which wavenumbers make this class win *over the others*?" IG of the
    class-contrastive score ``f_c - mean_{k != c} f_k``; shared evidence cancels.
    Passes the checks and is what ``regions_`` and the headline figures use by
    default (``region_map="contrastive_ig"``).

Measured on the ramanbiolib database (SEED.md network, 80 epochs, zero
baseline, 15 spectra per class; ``benchmarks/bench_ig.py`` ``sanity_study``),
mean Spearman correlation with the trained map over the six classes:

================  ===========  ===============  ===============
map               second seed  random network   shuffled labels
================  ===========  ===============  ===============
abs_ig            0.91         0.76             0.78
signed_ig         0.74         0.01             -0.10
contrastive_ig    0.74         -0.01            -0.07
================  ===========  ===============  ===============

("random network": every layer re-initialised; "mean" and "smooth" baselines
gave the same picture.) Mean \|IG\| rank-correlates 0.85 with the mean \|x\|
of the spectra it explains.
"""

from __future__ import annotations

import copy
import logging
import warnings
from contextlib import contextmanager, nullcontext
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from scipy.ndimage import gaussian_filter1d, grey_opening, uniform_filter1d
from scipy.signal import find_peaks, peak_widths
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from torch import nn

from raman_sk.utils import check_wavenumbers, wavenumbers_from_feature_names

__all__ = [
    "MAP_NAMES",
    "REGION_COLUMNS",
    "SANITY_COLUMNS",
    "IGExplainer",
    "data_randomization_check",
    "find_regions",
    "model_randomization_check",
    "sanity_summary",
    "seed_control_check",
    "smooth_background",
]

logger = logging.getLogger(__name__)

#: Names of the class maps an :class:`IGExplainer` computes (keys of ``maps_``).
MAP_NAMES = ("abs_ig", "signed_ig", "contrastive_ig")
#: Columns of ``IGExplainer.regions_`` and :func:`find_regions`.
REGION_COLUMNS = ("class", "start", "end", "peak", "score", "assignment", "map")
#: Columns of the sanity-check reports.
SANITY_COLUMNS = (
    "check", "stage", "n_randomized", "map", "class", "spearman", "spearman_abs",
    "pearson",
)

_BASELINES = ("zeros", "mean", "smooth")
_OUTPUTS = ("logits", "proba")
_PRECISIONS = ("float32", "bfloat16")
_METHODS = (
    "gausslegendre", "riemann_trapezoid", "riemann_left", "riemann_right",
    "riemann_middle",
)
_SMOOTH_WINDOW_CM = 100.0


# --------------------------------------------------------------------------- #
# small helpers
# --------------------------------------------------------------------------- #
def _is_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool | np.bool_)


def _is_real(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool | np.bool_)


def _check_int(name, value, low, *, allow_none=False):
    if value is None and allow_none:
        return None
    if not _is_int(value):
        raise TypeError(
            f"{name} must be an integer >= {low}, got {value!r} "
            f"({type(value).__name__})."
        )
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}.")
    return int(value)


def _check_real(name, value, low, *, strict=False):
    if not _is_real(value):
        raise TypeError(
            f"{name} must be a number, got {value!r} ({type(value).__name__})."
        )
    if not np.isfinite(value) or value < low or (strict and value == low):
        op = ">" if strict else ">="
        raise ValueError(f"{name} must be a finite number {op} {low}, got {value}.")
    return float(value)


def _check_choice(name, value, allowed):
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(
            f"{name} must be one of {list(allowed)}, got {value!r}."
        )
    return value


def _classifier_class():
    """Return the RamanCNNClassifier class (imported lazily: skorch is heavy)."""
    from raman_sk.classifier import RamanCNNClassifier

    return RamanCNNClassifier


def _split_pipeline(pipeline):
    """Return (preprocessing pipeline or None, classifier); check their types."""
    if isinstance(pipeline, Pipeline):
        if len(pipeline.steps) == 0:
            raise ValueError("pipeline has no steps; give a fitted pipeline.")
        clf = pipeline.steps[-1][1]
        pre = pipeline[:-1] if len(pipeline.steps) > 1 else None
    else:
        clf, pre = pipeline, None
    if not isinstance(clf, _classifier_class()):
        raise TypeError(
            "pipeline must be a fitted RamanCNNClassifier or a Pipeline whose last "
            f"step is one; its last step is {type(clf).__name__}."
        )
    try:
        module = clf.module_
        classes = clf.classes_
    except (AttributeError, NotFittedError) as exc:
        raise NotFittedError(
            f"This {type(clf).__name__} is not fitted yet: fit the pipeline before "
            "building an IGExplainer on it."
        ) from exc
    except Exception as exc:  # skorch's NotInitializedError and friends
        raise NotFittedError(
            f"This {type(clf).__name__} is not fitted yet ({exc}): fit the "
            "pipeline before building an IGExplainer on it."
        ) from exc
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"the classifier's module_ must be a torch.nn.Module, got "
            f"{type(module).__name__}."
        )
    return pre, clf, module, np.asarray(classes)


def _n_features(clf, module):
    n = getattr(clf, "n_features_in_", None)
    if n is None:
        n = getattr(module, "n_features", None)
    return None if n is None else int(n)


def _device(module):
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def _fuse_sequential(seq: nn.Sequential) -> nn.Sequential:
    """Fold eval-mode BatchNorm1d into the Conv1d before it (same function)."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    layers, out, i = list(seq), [], 0
    while i < len(layers):
        a = layers[i]
        b = layers[i + 1] if i + 1 < len(layers) else None
        if (
            isinstance(a, nn.Conv1d)
            and isinstance(b, nn.BatchNorm1d)
            and b.track_running_stats
            and b.running_mean is not None
        ):
            out.append(fuse_conv_bn_eval(a, b))
            i += 2
        else:
            out.append(_fuse_module(a))
            i += 1
    return nn.Sequential(*out)


def _fuse_module(module: nn.Module) -> nn.Module:
    if isinstance(module, nn.Sequential):
        return _fuse_sequential(module)
    for name, child in list(module.named_children()):
        setattr(module, name, _fuse_module(child))
    return module


@contextmanager
def _torch_threads(n_threads):
    """Set torch's intra-op threads for the block (None: leave as is)."""
    if n_threads is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(old)


#: Rows per gradient-free forward pass (predicted classes, completeness
#: targets): bounds activation memory whatever the number of spectra.
FORWARD_BATCH = 64


def _forward_rows(fn, X, device, batch: int | None = None) -> torch.Tensor:
    """``fn`` over the rows of ``X`` in batches, without gradients; outputs stacked."""
    batch = FORWARD_BATCH if batch is None else batch
    out = []
    with torch.no_grad():
        for start in range(0, len(X), batch):
            out.append(fn(torch.as_tensor(X[start : start + batch], device=device)))
    return torch.cat(out)


def _freeze(module: nn.Module) -> nn.Module:
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def _prepare_modules(module: nn.Module, probe: torch.Tensor):
    """Return (reference, fast) eval-mode copies of ``module``.

    The original module is never touched (its train/eval mode and weights stay
    as they are). ``fast`` has BatchNorm folded into the convolutions when that
    gives the same outputs on ``probe``; otherwise it is the reference itself.
    """
    ref = _freeze(copy.deepcopy(module))
    try:
        fast = _freeze(_fuse_module(copy.deepcopy(ref)))
        with torch.no_grad():
            a, b = ref(probe), fast(probe)
        if a.shape != b.shape or not torch.allclose(
            a, b, rtol=1e-4, atol=1e-4 * (1 + float(a.abs().max()))
        ):
            fast = ref
    except Exception:  # any module the fusion does not understand
        fast = ref
    return ref, fast


class _Score(nn.Module):
    """Class scores explained: logits or probabilities, optionally contrastive."""

    def __init__(self, net: nn.Module, output: str, contrastive: bool):
        super().__init__()
        self.net = net
        self.output = output
        self.contrastive = contrastive

    def forward(self, x):  # noqa: D102
        s = self.net(x).float()
        if self.output == "proba":
            s = torch.softmax(s, dim=1)
        if self.contrastive:
            n = s.shape[1]
            s = (n * s - s.sum(dim=1, keepdim=True)) / (n - 1)
        return s


def smooth_background(
    X: np.ndarray, wavenumbers: np.ndarray, window: float = _SMOOTH_WINDOW_CM
) -> np.ndarray:
    """Estimate a smooth background under each spectrum (the "smooth" baseline).

    A grey-scale opening (a rolling minimum followed by a rolling maximum) over
    ``window`` cm-1 removes every band narrower than the window; a moving
    average of the same width smooths the result, which is finally clipped so
    that it never exceeds the spectrum.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_wavenumbers)
        Spectra on the axis ``wavenumbers``.
    wavenumbers : array-like of shape (n_wavenumbers,)
        Their axis in cm-1 (its median step converts ``window`` to points).
    window : float, default=100.0
        Width in cm-1 of the structures removed.

    Returns
    -------
    background : ndarray of shape (n_samples, n_wavenumbers)
        A new array; ``X`` is not modified.

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk.explain import smooth_background
    >>> w = np.arange(600.0, 1000.0, 2.0)
    >>> x = 0.5 + 0.001 * (w - 600) + np.exp(-0.5 * ((w - 800) / 5) ** 2)
    >>> bg = smooth_background(x[None], w)
    >>> bool(np.all(bg <= x)), round(float(bg[0, 100]), 2)
    (True, 0.7)
    """
    X = np.asarray(X, dtype=np.float64)
    wavenumbers = np.asarray(wavenumbers, dtype=np.float64)
    steps = np.abs(np.diff(wavenumbers))
    step = float(np.median(steps)) if steps.size else 1.0
    size = int(max(3, round(window / max(step, 1e-12))))
    size = min(size, X.shape[1])
    opened = grey_opening(X, size=(1, size), mode="nearest")
    smooth = uniform_filter1d(opened, size=size, axis=1, mode="nearest")
    return np.minimum(smooth, X)


# --------------------------------------------------------------------------- #
# regions
# --------------------------------------------------------------------------- #
def _regions_one(values, n_regions, sigma_pts, min_prominence=0.05):
    """Top regions of one map on an increasing axis: (lo, hi, peak, score)."""
    pos = np.clip(values, 0.0, None)
    total = pos.sum()
    if not total > 0:
        return []
    sm = gaussian_filter1d(pos, sigma_pts, mode="nearest") if sigma_pts > 0 else pos
    # pad so that maxima at the ends of the axis are found too
    padded = np.concatenate([[0.0], sm, [0.0]])
    peaks, props = find_peaks(padded, prominence=min_prominence * float(sm.max()))
    if peaks.size == 0:
        return []
    _, _, left, right = peak_widths(padded, peaks, rel_height=0.5,
                                    prominence_data=(props["prominences"],
                                                     props["left_bases"],
                                                     props["right_bases"]))
    n = len(sm)
    regions = []
    for p, lo, hi in zip(peaks - 1, left - 1, right - 1, strict=True):
        lo = int(np.clip(np.ceil(lo), 0, n - 1))
        hi = int(np.clip(np.floor(hi), 0, n - 1))
        regions.append([min(lo, p), max(hi, p), int(p)])
    # merge overlapping intervals, keeping the higher peak
    regions.sort(key=lambda r: r[0])
    merged = [regions[0]]
    for reg in regions[1:]:
        last = merged[-1]
        if reg[0] <= last[1]:
            keep = last[2] if sm[last[2]] >= sm[reg[2]] else reg[2]
            merged[-1] = [last[0], max(last[1], reg[1]), keep]
        else:
            merged.append(reg)
    out = [(lo, hi, p, float(pos[lo:hi + 1].sum() / total)) for lo, hi, p in merged]
    out.sort(key=lambda r: -r[3])
    return out[:n_regions]


def find_regions(
    wavenumbers,
    saliency,
    class_names,
    *,
    n_regions: int = 5,
    smoothing: float = 4.0,
    tolerance: float = 10.0,
    map_name: str = "contrastive_ig",
    table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Find the top wavenumber regions of class saliency maps.

    For each class, the positive part of its map (evidence *for* the class) is
    smoothed with a Gaussian of standard deviation ``smoothing`` cm-1. Every
    local maximum whose prominence is at least 5 % of the largest value gives
    an interval: its width at half prominence. Overlapping intervals are
    merged (keeping the higher peak). Each region is scored by the fraction of
    the class's total positive attribution (unsmoothed) that lies inside it,
    and the ``n_regions`` best are kept, best first.

    Parameters
    ----------
    wavenumbers : array-like of shape (n_wavenumbers,)
        Axis of the maps in cm-1 (any order; sorted internally).
    saliency : array-like of shape (n_classes, n_wavenumbers)
        One map per class.
    class_names : array-like of shape (n_classes,)
        Name of each row, also used to prefer that class's bands.
    n_regions : int, default=5
        Regions kept per class.
    smoothing : float, default=4.0
        Standard deviation in cm-1 of the Gaussian smoothing before peak
        finding (0 disables it).
    tolerance : float, default=10.0
        Largest distance in cm-1 between a region's peak and a band for
        :func:`raman_sk.bands.assign_band`.
    map_name : str, default="contrastive_ig"
        Written to the ``map`` column.
    table : DataFrame, default=None
        Band table (:func:`raman_sk.bands.band_table`); None builds one.

    Returns
    -------
    regions : DataFrame
        Columns ``class, start, end, peak, score, assignment, map``; ``start``,
        ``end`` and ``peak`` are in cm-1, ``score`` in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk.bands import band_table
    >>> from raman_sk.explain import find_regions
    >>> w = np.arange(600.0, 1100.0, 1.0)
    >>> s = np.exp(-0.5 * ((w - 700) / 4) ** 2)
    >>> s += 0.5 * np.exp(-0.5 * ((w - 940) / 4) ** 2)
    >>> r = find_regions(w, s[None], ["demo"], table=band_table(database=False))
    >>> records = r[["class", "peak", "assignment"]].to_dict("records")
    >>> records  # doctest: +NORMALIZE_WHITESPACE
    [{'class': 'demo', 'peak': 700.0, 'assignment': 'unassigned'},
     {'class': 'demo', 'peak': 940.0,
      'assignment': 'C–O–C ring breathing [Saccharides]'}]
    """
    from raman_sk.bands import assign_band, band_table

    n_regions = _check_int("n_regions", n_regions, 1)
    smoothing = _check_real("smoothing", smoothing, 0.0)
    tolerance = _check_real("tolerance", tolerance, 0.0)
    saliency = np.atleast_2d(np.asarray(saliency, dtype=np.float64))
    w = check_wavenumbers(wavenumbers, saliency.shape[1], name="wavenumbers")
    names = list(np.asarray(class_names, dtype=object).ravel())
    if len(names) != saliency.shape[0]:
        raise ValueError(
            f"class_names has {len(names)} entries but saliency has "
            f"{saliency.shape[0]} rows; give one name per row."
        )
    order = np.argsort(w, kind="stable")
    w, saliency = w[order], saliency[:, order]
    steps = np.diff(w)
    step = float(np.median(steps)) if steps.size else 1.0
    sigma = smoothing / step if step > 0 else 0.0
    if table is None:
        table = band_table()
    rows = []
    for name, values in zip(names, saliency, strict=True):
        if not np.all(np.isfinite(values)):
            continue
        for lo, hi, p, score in _regions_one(values, n_regions, sigma):
            rows.append(
                (
                    name,
                    float(w[lo]),
                    float(w[hi]),
                    float(w[p]),
                    score,
                    assign_band(float(w[p]), tolerance, str(name), table=table),
                    map_name,
                )
            )
    out = pd.DataFrame(rows, columns=list(REGION_COLUMNS))
    return out.astype(
        {"start": np.float64, "end": np.float64, "peak": np.float64,
         "score": np.float64}
    )


# --------------------------------------------------------------------------- #
# the explainer
# --------------------------------------------------------------------------- #
class IGExplainer(BaseEstimator):
    """Integrated Gradients saliency per class and per spectrum.

    Explains a fitted pipeline whose last step is a
    :class:`~raman_sk.classifier.RamanCNNClassifier` (or the classifier
    alone). ``fit(X, y)`` passes ``X`` through the steps before the network, so
    attributions live on the network's input grid (``wavenumbers_``), picks up
    to ``n_per_class`` spectra of each class, attributes each to its own class,
    and averages per class. The network is attributed on an eval-mode copy
    (BatchNorm/Dropout in train mode break completeness), so the pipeline's
    own module is never modified and its train/eval mode is left as it was.
    Attribution runs on the classifier's ``device``, with its ``n_threads``
    torch threads when that is set.

    Parameters
    ----------
    pipeline : Pipeline or RamanCNNClassifier
        A fitted pipeline whose last step is a RamanCNNClassifier, or a fitted
        classifier.
    n_steps : int, default=50
        Points of the path integral.
    baseline : {"zeros", "mean", "smooth"} or array-like, default="zeros"
        Reference input: zeros (the natural "no signal" for min-max scaled
        spectra), the mean network input of the ``X`` given to ``fit``, a
        smooth background under each spectrum (:func:`smooth_background`,
        100 cm-1 window: attributions then concern the bands, not the
        background), or an array of shape (n_wavenumbers,) on the network's
        input grid.
    n_per_class : int, default=15
        Largest number of spectra of each class explained by ``fit``.
    output : {"logits", "proba"}, default="logits"
        Score explained. Logits by default: they are the network's additive
        class evidence, whereas a softmax probability saturates near 1 for a
        confident prediction (its gradient vanishes along most of the path, so
        IG needs more steps for the same completeness and attributes to
        whatever moved the path out of saturation) and mixes in the evidence
        against every other class.
    method : str, default="gausslegendre"
        captum's integration rule ("gausslegendre", "riemann_trapezoid",
        "riemann_left", "riemann_right", "riemann_middle"). Gauss-Legendre
        reaches a given completeness with fewer steps on these networks.
    internal_batch_size : int, default=None
        Largest number of network evaluations (spectra x steps) in one
        forward/backward pass; bounds memory. None: ``n_steps`` on a CPU (one
        spectrum per pass, the fastest there: larger passes leave the caches)
        and 1024 on a GPU (full-size network: about 2 GB; 4-6x faster than one
        spectrum per call).
    smoothgrad : bool, default=False
        Average IG over ``nt_samples`` noisy copies of each spectrum (captum's
        ``NoiseTunnel``, SmoothGrad).
    nt_samples : int, default=10
        Noisy copies per spectrum with ``smoothgrad=True``.
    nt_stdev : float, default=0.02
        Noise standard deviation, as a fraction of the value range (max - min)
        of the network inputs seen by ``fit``.
    random_state : int, RandomState instance or None, default=None
        Chooses the spectra explained per class and seeds SmoothGrad's noise
        (without touching the global torch or numpy generators).
    precision : {"float32", "bfloat16"} or None, default=None
        Arithmetic of the attribution passes (bfloat16 runs under
        ``torch.autocast``); None uses the classifier's ``precision``.
        Completeness is always checked against the float32 network.
    tolerance : float, default=0.01
        Largest relative completeness error ``|sum(IG) - (F(x) - F(b))| /
        |F(x) - F(b)|`` accepted without a warning.
    n_regions : int, default=5
        Regions kept per class in ``regions_``.
    region_tolerance : float, default=10.0
        Distance in cm-1 within which a region's peak is matched to a band.
    region_map : {"contrastive_ig", "signed_ig", "abs_ig"}, default="contrastive_ig"
        Map the regions are found on (see the module docstring for what each
        map answers; ``abs_ig`` fails the randomisation check).
    region_smoothing : float, default=4.0
        Gaussian smoothing in cm-1 applied before finding region peaks.
    wavenumbers : array-like of shape (n_wavenumbers,), default=None
        Axis of the network input; None reads it from the preprocessing steps'
        ``get_feature_names_out()`` (or the column names of a DataFrame given
        to a classifier without preprocessing) and falls back to point indices
        with a warning.
    verbose : int, default=0
        Show a tqdm progress bar over batches when > 0.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels of the classifier.
    wavenumbers_ : ndarray of shape (n_wavenumbers,)
        Axis of the network input (cm-1).
    saliency_ : ndarray of shape (n_classes, n_wavenumbers)
        Mean absolute IG per class (SEED.md). NaN rows for classes without spectra.
    signed_saliency_ : ndarray of shape (n_classes, n_wavenumbers)
        Mean signed IG per class.
    contrastive_saliency_ : ndarray of shape (n_classes, n_wavenumbers)
        Mean signed IG of the class-contrastive score.
    maps_ : dict of str to ndarray
        ``{"abs_ig": saliency_, "signed_ig": ..., "contrastive_ig": ...}``.
    regions_ : DataFrame
        Top regions per class of ``maps_[region_map]``: columns ``class, start,
        end, peak, score, assignment, map``.
    sample_indices_ : ndarray of shape (n_explained,)
        Rows of ``X`` explained by ``fit``, grouped by class.
    sample_targets_ : ndarray of shape (n_explained,)
        Their labels (the class each was attributed to).
    convergence_delta_ : ndarray of shape (n_explained,)
        Absolute completeness error ``|sum(IG) - (F(x) - F(b))|`` of each
        explained spectrum (the ``abs_ig``/``signed_ig`` pass).
    relative_delta_ : ndarray of shape (n_explained,)
        The same divided by ``|F(x) - F(b)|``.
    mean_input_ : ndarray of shape (n_wavenumbers,)
        Mean network input of the fitted ``X`` (the "mean" baseline).
    input_range_ : float
        max - min of the fitted network inputs (scales SmoothGrad's noise).
    n_fit_samples_ : int
        Number of spectra in the fitted ``X``.

    See Also
    --------
    find_regions : The region finder behind ``regions_``.
    raman_sk.plotting.plot_class_saliency : Figure of one class's map.

    Notes
    -----
    Completeness: IG satisfies ``sum(IG) = F(x) - F(baseline)``; the integral
    is approximated with ``n_steps`` points, and the error is reported per
    spectrum. A ``UserWarning`` is emitted when a relative error exceeds
    ``tolerance``; raise ``n_steps`` to reduce it.

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk.classifier import RamanCNNClassifier
    >>> from raman_sk.explain import IGExplainer
    >>> rng = np.random.default_rng(0)
    >>> X = 0.1 * rng.random((20, 64))
    >>> y = np.array(["lipid", "protein"] * 10)
    >>> X[y == "protein", 20:30] += 1.0
    >>> X[y == "lipid", 40:50] += 1.0
    >>> clf = RamanCNNClassifier(max_epochs=10, lr=1e-2, batch_size=4, random_state=0,
    ...                          module__channels=(4, 8), module__kernel_sizes=(5, 3),
    ...                          module__convs_per_block=1, module__hidden=16,
    ...                          n_threads=1)
    >>> clf = clf.fit(X, y)
    >>> ig = IGExplainer(clf, n_steps=128, n_per_class=5, random_state=0,
    ...                  wavenumbers=np.arange(1000.0, 1064.0)).fit(X, y)
    >>> ig.saliency_.shape, ig.convergence_delta_.shape
    ((2, 64), (10,))
    >>> ig.explain(X[:3]).shape
    (3, 64)
    >>> top = ig.regions_.groupby("class").head(1)  # best region of each class
    >>> records = top[["class", "start", "end"]].to_dict("records")
    >>> records  # doctest: +NORMALIZE_WHITESPACE
    [{'class': 'lipid', 'start': 1037.0, 'end': 1048.0},
     {'class': 'protein', 'start': 1018.0, 'end': 1029.0}]
    """

    def __init__(
        self,
        pipeline,
        *,
        n_steps: int = 50,
        baseline="zeros",
        n_per_class: int = 15,
        output: str = "logits",
        method: str = "gausslegendre",
        internal_batch_size: int | None = None,
        smoothgrad: bool = False,
        nt_samples: int = 10,
        nt_stdev: float = 0.02,
        random_state=None,
        precision: str | None = None,
        tolerance: float = 0.01,
        n_regions: int = 5,
        region_tolerance: float = 10.0,
        region_map: str = "contrastive_ig",
        region_smoothing: float = 4.0,
        wavenumbers=None,
        verbose: int = 0,
    ):
        self.pipeline = pipeline
        self.n_steps = n_steps
        self.baseline = baseline
        self.n_per_class = n_per_class
        self.output = output
        self.method = method
        self.internal_batch_size = internal_batch_size
        self.smoothgrad = smoothgrad
        self.nt_samples = nt_samples
        self.nt_stdev = nt_stdev
        self.random_state = random_state
        self.precision = precision
        self.tolerance = tolerance
        self.n_regions = n_regions
        self.region_tolerance = region_tolerance
        self.region_map = region_map
        self.region_smoothing = region_smoothing
        self.wavenumbers = wavenumbers
        self.verbose = verbose

    # ------------------------------------------------------------------ checks
    def _validate_params(self):
        _check_int("n_steps", self.n_steps, 1)
        _check_int("n_per_class", self.n_per_class, 1)
        _check_choice("output", self.output, _OUTPUTS)
        _check_choice("method", self.method, _METHODS)
        _check_int("internal_batch_size", self.internal_batch_size, 1,
                   allow_none=True)
        if not isinstance(self.smoothgrad, bool | np.bool_):
            raise TypeError(
                f"smoothgrad must be True or False, got {self.smoothgrad!r}."
            )
        _check_int("nt_samples", self.nt_samples, 1)
        _check_real("nt_stdev", self.nt_stdev, 0.0)
        if self.precision is not None:
            _check_choice("precision", self.precision, _PRECISIONS)
        _check_real("tolerance", self.tolerance, 0.0, strict=True)
        _check_int("n_regions", self.n_regions, 1)
        _check_real("region_tolerance", self.region_tolerance, 0.0)
        _check_choice("region_map", self.region_map, MAP_NAMES)
        _check_real("region_smoothing", self.region_smoothing, 0.0)
        _check_int("verbose", int(self.verbose) if isinstance(self.verbose, bool)
                   else self.verbose, 0)
        b = self.baseline
        if isinstance(b, str):
            _check_choice("baseline", b, _BASELINES)
        elif b is None or not hasattr(b, "__len__"):
            raise TypeError(
                f"baseline must be one of {list(_BASELINES)} or an array of shape "
                f"(n_wavenumbers,), got {b!r}."
            )

    def _resolve_precision(self, clf):
        precision = self.precision
        if precision is None:
            precision = getattr(clf, "precision", None) or "float32"
        return _check_choice("precision", precision, _PRECISIONS)

    def _network_input(self, pre, clf, module, X):
        """X -> float32 network input of shape (n, n_features), validated."""
        n_expected = _n_features(clf, module)
        if pre is not None:
            n_in = getattr(pre, "n_features_in_", None)
            shape = getattr(X, "shape", None)
            if (
                n_in is not None
                and shape is not None
                and len(shape) == 2
                and shape[1] != n_in
            ):
                raise ValueError(
                    f"X has {shape[1]} points per spectrum, but the pipeline was "
                    f"fitted on spectra of {n_in} points."
                )
            Xt = pre.transform(X)
        else:
            Xt = X
        try:
            Xt = np.asarray(Xt, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"X must be numeric spectra (n_samples, n_points): {exc}"
            ) from None
        if Xt.ndim != 2:
            raise ValueError(
                f"X must be 2-D (n_samples, n_points), got shape {Xt.shape}."
            )
        if n_expected is not None and Xt.shape[1] != n_expected:
            raise ValueError(
                f"X has {Xt.shape[1]} points per spectrum (after preprocessing) "
                f"but the network expects {n_expected}."
            )
        if Xt.shape[0] == 0:
            raise ValueError("X holds no spectra (0 rows).")
        if not np.all(np.isfinite(Xt)):
            raise ValueError("X contains NaN or inf after preprocessing.")
        from .classifier import _check_magnitude

        _check_magnitude(Xt, "X (after preprocessing)")
        return Xt

    def _resolve_wavenumbers(self, pre, X, n):
        if self.wavenumbers is not None:
            return check_wavenumbers(self.wavenumbers, n, name="wavenumbers")
        names = None
        try:
            if pre is not None:
                names = pre.get_feature_names_out()
            elif hasattr(X, "columns"):
                names = X.columns
        except (AttributeError, NotFittedError, ValueError, TypeError):
            names = None
        if names is not None and len(names) == n:
            w = wavenumbers_from_feature_names(names, strict=False)
            if w is not None:
                return w
        warnings.warn(
            "IGExplainer could not read the wavenumbers of the network input "
            "(the preprocessing steps give no numeric get_feature_names_out()); "
            f"using point indices 0..{n - 1}. Pass wavenumbers= to IGExplainer.",
            UserWarning,
            stacklevel=3,
        )
        return np.arange(n, dtype=np.float64)

    def _baselines(self, Xt):
        """Baseline array for the rows Xt (float32, same shape)."""
        b = self.baseline
        if isinstance(b, str):
            if b == "zeros":
                return np.zeros_like(Xt)
            if b == "mean":
                return np.broadcast_to(self.mean_input_, Xt.shape).astype(np.float32)
            return smooth_background(Xt, self.wavenumbers_).astype(np.float32)
        return np.broadcast_to(self._baseline_array_, Xt.shape).astype(np.float32)

    def _check_baseline_array(self, n):
        if isinstance(self.baseline, str):
            return None
        try:
            arr = np.asarray(self.baseline, dtype=np.float32)
        except (TypeError, ValueError):
            raise TypeError(
                f"baseline must be one of {list(_BASELINES)} or a numeric array, "
                f"got {self.baseline!r}."
            ) from None
        if arr.ndim == 2 and arr.shape[0] == 1:
            arr = arr[0]
        if arr.shape != (n,):
            raise ValueError(
                f"baseline has shape {arr.shape}, but the network input has {n} "
                f"points: give an array of shape ({n},) on the network's grid."
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError("baseline contains NaN or inf.")
        return arr

    # ------------------------------------------------------------- attribution
    def _attribute(self, module, Xt, B, targets, *, contrastive, precision, seed):
        """IG of rows Xt against baselines B for class indices ``targets``.

        Runs with the classifier's ``n_threads`` torch threads, if it sets any.
        Returns (attributions float64 (n, L), delta float64 (n,), dF (n,)).
        """
        n_threads = getattr(_split_pipeline(self.pipeline)[1], "n_threads", None)
        with _torch_threads(n_threads):
            return self._attribute_impl(
                module, Xt, B, targets, contrastive=contrastive,
                precision=precision, seed=seed,
            )

    def _attribute_impl(self, module, Xt, B, targets, *, contrastive, precision,
                        seed):
        from captum.attr import IntegratedGradients, NoiseTunnel

        device = _device(module)
        probe = torch.as_tensor(Xt[: min(len(Xt), 4)], device=device)
        ref, fast = _prepare_modules(module, probe)
        score_fast = _Score(fast, self.output, contrastive)
        score_ref = _Score(ref, self.output, contrastive)
        ig = IntegratedGradients(score_fast)
        n_steps = int(self.n_steps)
        ibs = self.internal_batch_size or (
            1024 if device.type == "cuda" else n_steps
        )
        per_row = n_steps * (int(self.nt_samples) if self.smoothgrad else 1)
        chunk = max(1, ibs // per_row)
        use_bf16 = precision == "bfloat16"
        n = len(Xt)
        starts = range(0, n, chunk)
        if self.verbose:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="Integrated Gradients", unit="batch")
        # outputs preallocated: small long-lived arrays allocated between the
        # large transient tensors of each captum call fragment the heap (peak
        # RSS grew ~130 kB per spectrum with a list of per-chunk arrays)
        A = np.empty(Xt.shape, dtype=np.float64)
        nt_delta = np.empty(n, dtype=np.float64) if self.smoothgrad else None
        rng_ctx = (
            torch.random.fork_rng(
                devices=[device] if device.type == "cuda" else []
            )
            if self.smoothgrad
            else nullcontext()
        )
        with rng_ctx:
            if self.smoothgrad:
                torch.manual_seed(int(seed))
            for start in starts:
                sl = slice(start, start + chunk)
                x = torch.as_tensor(Xt[sl], device=device)
                b = torch.as_tensor(B[sl], device=device)
                t = torch.as_tensor(targets[sl], dtype=torch.long, device=device)
                ctx = (
                    torch.autocast(device_type=device.type, dtype=torch.bfloat16)
                    if use_bf16
                    else nullcontext()
                )
                with ctx:
                    if self.smoothgrad:
                        nt = NoiseTunnel(ig)
                        a, d = nt.attribute(
                            x,
                            nt_type="smoothgrad",
                            nt_samples=int(self.nt_samples),
                            stdevs=float(self.nt_stdev) * self.input_range_,
                            baselines=b,
                            target=t,
                            n_steps=n_steps,
                            method=self.method,
                            internal_batch_size=ibs,
                            return_convergence_delta=True,
                        )
                        nt_delta[sl] = (
                            d.detach().float().abs().reshape(len(x), -1).mean(1)
                            .cpu().numpy()
                        )
                    else:
                        a = ig.attribute(
                            x,
                            baselines=b,
                            target=t,
                            n_steps=n_steps,
                            method=self.method,
                            internal_batch_size=ibs,
                        )
                A[sl] = a.detach().float().cpu().numpy().reshape(len(x), -1)
        t = torch.as_tensor(targets, dtype=torch.long, device=device)
        rows = torch.arange(n, device=device)
        fx = _forward_rows(score_ref, Xt, device)[rows, t]
        fb = _forward_rows(score_ref, B, device)[rows, t]
        dF = (fx - fb).double().cpu().numpy()
        if self.smoothgrad:
            delta = nt_delta
        else:
            delta = np.abs(A.sum(axis=1) - dF)
        return A, delta, dF

    def _check_completeness(self, delta, dF, what, stacklevel=3):
        rel = delta / np.maximum(np.abs(dF), np.finfo(np.float64).tiny)
        bad = rel > self.tolerance
        if np.any(bad):
            warnings.warn(
                f"Integrated Gradients completeness ({what}): {int(bad.sum())} of "
                f"{len(rel)} attributions have a relative error |sum(IG) - "
                f"(F(x) - F(baseline))| / |F(x) - F(baseline)| above tolerance="
                f"{self.tolerance:g} (largest {float(rel.max()):.3g}). Raise n_steps "
                f"(now {self.n_steps}) for a more accurate integral.",
                UserWarning,
                stacklevel=stacklevel,
            )
        return rel

    def _select(self, y_int, n_classes, rng):
        """Up to n_per_class rows per class, sorted, grouped by class order."""
        idx, tgt = [], []
        for k in range(n_classes):
            rows = np.flatnonzero(y_int == k)
            if rows.size > self.n_per_class:
                rows = np.sort(rng.choice(rows, size=self.n_per_class, replace=False))
            idx.append(rows)
            tgt.append(np.full(rows.size, k, dtype=np.int64))
        return np.concatenate(idx), np.concatenate(tgt)

    def _class_means(self, A, targets, n_classes, absolute):
        out = np.full((n_classes, A.shape[1]), np.nan)
        for k in range(n_classes):
            rows = targets == k
            if np.any(rows):
                vals = np.abs(A[rows]) if absolute else A[rows]
                out[k] = vals.mean(axis=0)
        return out

    def _compute_maps(self, module, Xt_sel, targets, precision, seed, *, warn=True):
        """All class maps of ``module`` for the rows Xt_sel attributed to targets."""
        B = self._baselines(Xt_sel)
        n_classes = len(self.classes_)
        A, delta, dF = self._attribute(
            module, Xt_sel, B, targets, contrastive=False, precision=precision,
            seed=seed,
        )
        Ac, delta_c, dF_c = self._attribute(
            module, Xt_sel, B, targets, contrastive=True, precision=precision,
            seed=seed,
        )
        rel = np.abs(delta) / np.maximum(np.abs(dF), np.finfo(np.float64).tiny)
        if warn:
            self._check_completeness(delta, dF, "class scores", stacklevel=4)
            self._check_completeness(delta_c, dF_c, "contrastive scores",
                                     stacklevel=4)
        maps = {
            "abs_ig": self._class_means(A, targets, n_classes, True),
            "signed_ig": self._class_means(A, targets, n_classes, False),
            "contrastive_ig": self._class_means(Ac, targets, n_classes, False),
        }
        return maps, delta, rel

    # ----------------------------------------------------------------- public
    def fit(self, X, y):
        """Explain up to ``n_per_class`` spectra of each class of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_points)
            Spectra, as given to the pipeline (before preprocessing).
        y : array-like of shape (n_samples,)
            Their labels; each explained spectrum is attributed to its label.

        Returns
        -------
        self : IGExplainer
            The fitted explainer.

        Raises
        ------
        NotFittedError
            If the pipeline is not fitted.
        TypeError
            If the pipeline's last step is not a RamanCNNClassifier.
        ValueError
            For invalid parameters, X with the wrong number of points, a label
            the classifier does not know, or a baseline of the wrong shape.
        """
        self._validate_params()
        pre, clf, module, classes = _split_pipeline(self.pipeline)
        Xt = self._network_input(pre, clf, module, X)
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != Xt.shape[0]:
            raise ValueError(
                f"y must be 1-D with one label per spectrum ({Xt.shape[0]}), got "
                f"shape {y.shape}."
            )
        unknown = sorted({str(v) for v in np.unique(y)} - {str(c) for c in classes})
        if unknown:
            raise ValueError(
                f"y contains label(s) {unknown} that the classifier does not know; "
                f"its classes are {[str(c) for c in classes]}."
            )
        n = Xt.shape[1]
        self._baseline_array_ = self._check_baseline_array(n)
        self.wavenumbers_ = self._resolve_wavenumbers(pre, X, n)
        self.classes_ = classes
        self.n_fit_samples_ = int(Xt.shape[0])
        self.mean_input_ = Xt.mean(axis=0, dtype=np.float64).astype(np.float32)
        self.input_range_ = float(Xt.max() - Xt.min())
        precision = self._resolve_precision(clf)
        rng = check_random_state(self.random_state)
        lookup = {str(c): k for k, c in enumerate(classes)}
        y_int = np.asarray([lookup[str(v)] for v in y], dtype=np.int64)
        idx, targets = self._select(y_int, len(classes), rng)
        missing = [str(c) for k, c in enumerate(classes) if not np.any(targets == k)]
        if missing:
            warnings.warn(
                f"no spectra of class(es) {missing} in y: their saliency rows are "
                "NaN.",
                UserWarning,
                stacklevel=2,
            )
        seed = int(rng.randint(0, 2**31 - 1))
        self._seed_ = seed
        self.sample_indices_ = idx
        self.sample_targets_ = classes[targets]
        maps, delta, rel = self._compute_maps(module, Xt[idx], targets, precision,
                                              seed)
        self.maps_ = maps
        self.saliency_ = maps["abs_ig"]
        self.signed_saliency_ = maps["signed_ig"]
        self.contrastive_saliency_ = maps["contrastive_ig"]
        self.convergence_delta_ = delta
        self.relative_delta_ = rel
        self.regions_ = find_regions(
            self.wavenumbers_,
            maps[self.region_map],
            [str(c) for c in classes],
            n_regions=self.n_regions,
            smoothing=self.region_smoothing,
            tolerance=self.region_tolerance,
            map_name=self.region_map,
        )
        return self

    def _target_indices(self, target, n, predicted):
        if target is None:
            return predicted
        classes = self.classes_
        lookup = {str(c): k for k, c in enumerate(classes)}
        values = np.asarray(target, dtype=object)
        if values.ndim == 0:
            values = np.full(n, values.item(), dtype=object)
        if values.shape != (n,):
            raise ValueError(
                f"target must be None, one label or one label per spectrum ({n}), "
                f"got shape {values.shape}."
            )
        out = np.empty(n, dtype=np.int64)
        for i, v in enumerate(values):
            if str(v) not in lookup:
                raise ValueError(
                    f"target {v!r} is not a class of the classifier; its classes "
                    f"are {[str(c) for c in classes]}."
                )
            out[i] = lookup[str(v)]
        return out

    def explain(self, X, target=None, *, contrastive=False, return_delta=False):
        """Integrated Gradients of each spectrum of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_points)
            Spectra, as given to the pipeline.
        target : label, array-like of labels or None, default=None
            Class explained for every spectrum (one label) or for each (one
            per spectrum); None explains each spectrum's predicted class.
        contrastive : bool, default=False
            Explain the class-contrastive score ``f_c - mean_{k != c} f_k``
            instead of the class score.
        return_delta : bool, default=False
            Also return the absolute completeness error of each spectrum.

        Returns
        -------
        attributions : ndarray of shape (n_samples, n_wavenumbers)
            On the network's grid ``wavenumbers_``; each row sums to
            ``F(x) - F(baseline)`` up to the completeness error.
        delta : ndarray of shape (n_samples,)
            Only with ``return_delta=True``.

        Raises
        ------
        NotFittedError
            If the explainer is not fitted.
        ValueError
            For X with the wrong number of points or an unknown target label.
        """
        check_is_fitted(self, "saliency_")
        pre, clf, module, classes = _split_pipeline(self.pipeline)
        Xt = self._network_input(pre, clf, module, X)
        predicted = None
        if target is None:
            device = _device(module)
            ref = _freeze(copy.deepcopy(module))
            logits = _forward_rows(ref, Xt, device)
            predicted = logits.argmax(dim=1).cpu().numpy().astype(np.int64)
        targets = self._target_indices(target, Xt.shape[0], predicted)
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        A, delta, dF = self._attribute(
            module, Xt, self._baselines(Xt), targets, contrastive=bool(contrastive),
            precision=self._resolve_precision(clf), seed=seed,
        )
        self._check_completeness(delta, dF, "explain")
        return (A, delta) if return_delta else A

    def to_npz_dict(self) -> dict:
        """Arrays for ``saliency_maps.npz`` (``np.savez(path, **ig.to_npz_dict())``).

        Returns
        -------
        arrays : dict of str to ndarray
            ``"wavenumbers"``; one 1-D mean absolute IG array per class, named by
            the class (SEED.md's layout); ``"classes"``; and each map of
            ``maps_`` as a (n_classes, n_wavenumbers) array named
            ``"<map>_maps"`` (e.g. ``"contrastive_ig_maps"``).

        Raises
        ------
        ValueError
            If a class name collides with one of the other keys.
        """
        check_is_fitted(self, "saliency_")
        out = {"wavenumbers": np.asarray(self.wavenumbers_, dtype=np.float64)}
        others = {f"{name}_maps": m for name, m in self.maps_.items()}
        others["classes"] = np.asarray([str(c) for c in self.classes_])
        for k, c in enumerate(self.classes_):
            key = str(c)
            if key in others or key == "wavenumbers":
                raise ValueError(
                    f"class name {key!r} collides with the npz key {key!r}; rename "
                    "the class."
                )
            out[key] = self.saliency_[k].copy()
        out.update(others)
        return out

    # --------------------------------------------------------- sanity checks
    def sanity_check(self, X, y, *, checks=("model", "data", "control"),
                     cascade=True, random_state=None) -> pd.DataFrame:
        """Run the randomisation sanity checks of Adebayo et al. (2018).

        Parameters
        ----------
        X, y : array-like
            The spectra and labels this explainer was fitted on.
        checks : sequence of {"model", "data", "control"}, default=all
            ``"model"``: :func:`model_randomization_check`; ``"data"``:
            :func:`data_randomization_check`; ``"control"``:
            :func:`seed_control_check`.
        cascade : bool, default=True
            Passed to :func:`model_randomization_check`.
        random_state : int, RandomState instance or None, default=None
            Seeds the re-initialisation, the label permutation and the control
            seed.

        Returns
        -------
        report : DataFrame
            The rows of each check (columns ``check, stage, n_randomized, map,
            class, spearman, spearman_abs``). A map passes when its
            ``spearman`` is high for the control and low after randomisation.
        """
        allowed = ("model", "data", "control")
        checks = [checks] if isinstance(checks, str) else list(checks)
        for c in checks:
            _check_choice("checks", c, allowed)
        rng = check_random_state(random_state)
        parts = []
        if "control" in checks:
            parts.append(seed_control_check(self, X, y, random_state=rng))
        if "model" in checks:
            parts.append(
                model_randomization_check(self, X, y, cascade=cascade,
                                          random_state=rng)
            )
        if "data" in checks:
            parts.append(data_randomization_check(self, X, y, random_state=rng))
        return pd.concat(parts, ignore_index=True) if parts else _empty_sanity()


# --------------------------------------------------------------------------- #
# sanity checks
# --------------------------------------------------------------------------- #
def _empty_sanity():
    return pd.DataFrame(columns=list(SANITY_COLUMNS))


def _spearman(a, b):
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return np.nan
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return np.nan
    return float(spearmanr(a, b).statistic)


def _pearson(a, b):
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return np.nan
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return np.nan
    return float(np.corrcoef(a, b)[0, 1])


def _compare(reference, other, check, stage, n_randomized, classes):
    rows = []
    for name in MAP_NAMES:
        for k, c in enumerate(classes):
            a, b = reference[name][k], other[name][k]
            rows.append(
                (check, stage, n_randomized, name, str(c), _spearman(a, b),
                 _spearman(np.abs(a), np.abs(b)), _pearson(a, b))
            )
    return rows


def sanity_summary(report: pd.DataFrame, metric: str = "spearman") -> pd.DataFrame:
    """Average a sanity-check report over classes: one row per check and stage.

    Parameters
    ----------
    report : DataFrame
        As returned by :meth:`IGExplainer.sanity_check` or the ``*_check``
        functions.
    metric : {"spearman", "spearman_abs", "pearson"}, default="spearman"
        Column averaged.

    Returns
    -------
    summary : DataFrame
        Index ``(check, stage)`` in report order, one column per map.

    Examples
    --------
    >>> import pandas as pd
    >>> from raman_sk.explain import sanity_summary
    >>> report = pd.DataFrame({
    ...     "check": ["control"] * 4, "stage": ["seed 2"] * 4,
    ...     "n_randomized": [float("nan")] * 4,
    ...     "map": ["abs_ig", "abs_ig", "signed_ig", "signed_ig"],
    ...     "class": ["a", "b", "a", "b"], "spearman": [0.8, 0.6, 0.9, 0.7],
    ...     "spearman_abs": [0.8, 0.6, 0.9, 0.7], "pearson": [0.8, 0.6, 0.9, 0.7]})
    >>> sanity_summary(report).round(2).to_dict("records")
    [{'abs_ig': 0.7, 'signed_ig': 0.8}]
    """
    _check_choice("metric", metric, ("spearman", "spearman_abs", "pearson"))
    missing = {"check", "stage", "map", metric} - set(report.columns)
    if missing:
        raise ValueError(
            f"report lacks the column(s) {sorted(missing)}; give a sanity-check "
            "report."
        )
    table = report.pivot_table(
        index=["check", "stage"], columns="map", values=metric, aggfunc="mean",
        sort=False,
    )
    table.columns.name = None
    maps = [m for m in MAP_NAMES if m in table.columns]
    return table[maps + [c for c in table.columns if c not in maps]]


def _check_explainer(explainer, X):
    if not isinstance(explainer, IGExplainer):
        raise TypeError(
            f"explainer must be an IGExplainer, got {type(explainer).__name__}."
        )
    check_is_fitted(explainer, "saliency_")
    pre, clf, module, _ = _split_pipeline(explainer.pipeline)
    Xt = explainer._network_input(pre, clf, module, X)
    if Xt.shape[0] != explainer.n_fit_samples_:
        raise ValueError(
            f"X has {Xt.shape[0]} spectra, but the explainer was fitted on "
            f"{explainer.n_fit_samples_}; give the X and y used for fit."
        )
    return pre, clf, module, Xt


def _maps_of(explainer, module, Xt):
    lookup = {str(c): k for k, c in enumerate(explainer.classes_)}
    targets = np.asarray([lookup[str(c)] for c in explainer.sample_targets_])
    precision = explainer._resolve_precision(
        _split_pipeline(explainer.pipeline)[1]
    )
    maps, _, _ = explainer._compute_maps(
        module, Xt[explainer.sample_indices_], targets, precision,
        explainer._seed_, warn=False,
    )
    return maps


def _reinit_stages(module: nn.Module):
    """Leaf layers with parameters, in order, a BatchNorm merged with its conv."""
    leaves = [
        (name, m)
        for name, m in module.named_modules()
        if len(list(m.children())) == 0
        and any(True for _ in m.parameters(recurse=False))
    ]
    stages: list[list[tuple[str, nn.Module]]] = []
    for name, m in leaves:
        if (
            isinstance(m, nn.modules.batchnorm._BatchNorm)
            and stages
            and isinstance(stages[-1][-1][1], nn.modules.conv._ConvNd)
        ):
            stages[-1].append((name, m))
        else:
            stages.append([(name, m)])
    return stages


def _reset(m: nn.Module):
    if hasattr(m, "reset_parameters"):
        m.reset_parameters()
    if hasattr(m, "reset_running_stats"):
        m.reset_running_stats()


def model_randomization_check(
    explainer: IGExplainer, X, y=None, *, cascade: bool = True, random_state=None
) -> pd.DataFrame:
    """Run the model-parameter randomisation test (Adebayo et al. 2018).

    Re-initialises the trained network's layers (on a deep copy; the pipeline
    is untouched), from the output layer down, and recomputes every class map
    on the spectra the explainer was fitted on. A map that explains what the
    network learned must change: its rank correlation with the trained map
    should fall towards 0 as layers are randomised.

    Parameters
    ----------
    explainer : IGExplainer
        A fitted explainer.
    X : array-like of shape (n_samples, n_points)
        The spectra it was fitted on.
    y : ignored
        Accepted for a uniform signature.
    cascade : bool, default=True
        Randomise cumulatively from the top layer (one stage per layer; a
        BatchNorm goes with its convolution). If False, only the fully random
        network is evaluated.
    random_state : int, RandomState instance or None, default=None
        Seeds the re-initialisation (without touching torch's global
        generator).

    Returns
    -------
    report : DataFrame
        Columns ``check, stage, n_randomized, map, class, spearman,
        spearman_abs``: ``stage`` names the last layer randomised,
        ``spearman`` is the Spearman rank correlation between the trained and
        the randomised map of that class, ``spearman_abs`` the same between
        their absolute values.
    """
    _, _, module, Xt = _check_explainer(explainer, X)
    rng = check_random_state(random_state)
    seed = int(rng.randint(0, 2**31 - 1))
    device = _device(module)
    # re-initialise on a CPU copy so that only a forked CPU generator is used
    rand = copy.deepcopy(module).cpu()
    order = list(reversed(_reinit_stages(rand)))
    rows = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if cascade:
            for k, stage in enumerate(order, start=1):
                for _, m in stage:
                    _reset(m)
                maps = _maps_of(explainer, copy.deepcopy(rand).to(device), Xt)
                rows += _compare(
                    explainer.maps_, maps, "model_randomization",
                    "+".join(n for n, _ in stage), k, explainer.classes_,
                )
        else:
            for stage in order:
                for _, m in stage:
                    _reset(m)
            maps = _maps_of(explainer, rand.to(device), Xt)
            rows += _compare(explainer.maps_, maps, "model_randomization",
                             "all layers", len(order), explainer.classes_)
    return pd.DataFrame(rows, columns=list(SANITY_COLUMNS))


def _refit_pipeline(explainer, X, y, *, seed=None):
    pipe = clone(explainer.pipeline)
    if seed is not None:
        last = pipe.steps[-1][0] if isinstance(pipe, Pipeline) else None
        key = f"{last}__random_state" if last else "random_state"
        if key in pipe.get_params():
            pipe.set_params(**{key: seed})
    return pipe.fit(X, y)


def data_randomization_check(
    explainer: IGExplainer, X, y, *, pipeline=None, random_state=None
) -> pd.DataFrame:
    """Run the data randomisation test (Adebayo et al. 2018).

    Trains a clone of the explainer's pipeline on randomly permuted labels
    (``clone(pipeline).fit(X, rng.permutation(y))``) and compares its class maps
    with the trained ones on the same spectra. A map that reflects the
    relation between spectra and labels must not survive the permutation.

    Parameters
    ----------
    explainer : IGExplainer
        A fitted explainer.
    X, y : array-like
        The spectra and labels it was fitted on.
    pipeline : fitted pipeline, default=None
        A pipeline already trained on permuted labels; None trains a clone of
        the explainer's pipeline on ``y`` permuted with ``random_state``.
    random_state : int, RandomState instance or None, default=None
        Seeds the permutation.

    Returns
    -------
    report : DataFrame
        Columns as :func:`model_randomization_check`, with ``check ==
        "data_randomization"``.
    """
    _check_explainer(explainer, X)
    rng = check_random_state(random_state)
    if pipeline is None:
        y = np.asarray(y)
        pipeline = _refit_pipeline(explainer, X, y[rng.permutation(len(y))])
    pre, clf, module, _ = _split_pipeline(pipeline)
    Xt = explainer._network_input(pre, clf, module, X)
    maps = _maps_of(explainer, module, Xt)
    rows = _compare(explainer.maps_, maps, "data_randomization", "shuffled labels",
                    np.nan, explainer.classes_)
    return pd.DataFrame(rows, columns=list(SANITY_COLUMNS))


def seed_control_check(
    explainer: IGExplainer, X, y, *, pipeline=None, random_state=None
) -> pd.DataFrame:
    """Run the control of the sanity checks: the same training, another seed.

    Shows that the rank correlation can see agreement: two networks trained
    the same way (different initialisation) should give similar maps.

    Parameters
    ----------
    explainer : IGExplainer
        A fitted explainer.
    X, y : array-like
        The spectra and labels it was fitted on.
    pipeline : fitted pipeline, default=None
        A second trained pipeline to compare with; None trains a clone of the
        explainer's pipeline with the classifier's ``random_state`` drawn from
        ``random_state``.
    random_state : int, RandomState instance or None, default=None
        Seeds the second training.

    Returns
    -------
    report : DataFrame
        Columns as :func:`model_randomization_check`, with ``check ==
        "control"``.
    """
    _check_explainer(explainer, X)
    rng = check_random_state(random_state)
    if pipeline is None:
        pipeline = _refit_pipeline(
            explainer, X, np.asarray(y), seed=int(rng.randint(0, 2**31 - 1))
        )
    pre, clf, module, _ = _split_pipeline(pipeline)
    Xt = explainer._network_input(pre, clf, module, X)
    maps = _maps_of(explainer, module, Xt)
    rows = _compare(explainer.maps_, maps, "control", "second trained seed", np.nan,
                    explainer.classes_)
    return pd.DataFrame(rows, columns=list(SANITY_COLUMNS))
