"""IGExplainer: Integrated Gradients class maps and per-spectrum attributions."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from raman_sk.utils._sklearn_compat import (
    Interval,
    StrOptions,
)
from raman_sk.utils._torch import PRECISIONS, torch_threads

from ._attribution import (
    METHODS,
    OUTPUTS,
    integrated_gradients,
    predicted_classes,
    relative_error,
    warn_incomplete,
)
from ._inputs import (
    BASELINES,
    baselines_for,
    check_baseline_array,
    explained_networks,
    label_indices,
    network_input,
    resolve_precision,
    resolve_wavenumbers,
    target_indices,
)
from ._maps import (
    MAP_NAMES,
    mean_attribution,
    member_class_maps,
    npz_arrays,
    select_per_class,
)
from ._regions import find_regions
from ._sanity import SANITY_CHECKS, run_sanity_checks

_positive_int = Interval(Integral, 1, None, closed="left")
_non_negative = Interval(Real, 0, None, closed="left")


class IGExplainer(BaseEstimator):
    """Integrated Gradients saliency per class and per spectrum.

    Explains a fitted pipeline whose last step is a
    :class:`~raman_sk.classifier.RamanCNNClassifier` or a
    :class:`~raman_sk.classifier.RamanCNNCommittee` (or that step alone) with
    captum's ``IntegratedGradients``. ``fit(X, y)`` passes ``X`` through
    the steps before the network (attributions live on the network's input
    grid ``wavenumbers_``), attributes up to ``n_per_class`` spectra of each
    class to their own class and averages per class. The network is
    attributed on an eval-mode copy, because BatchNorm and Dropout in train
    mode break completeness; the pipeline's own module is never modified.
    Attribution runs on the classifier's ``device`` with its ``n_threads``.

    A committee is explained as the mean of its members: every member's
    attributions are computed as for a single classifier, on the same spectra
    and targets, and the maps and attributions are the means over members
    (``member_maps_`` keeps each member's maps). Since IG is linear in the
    function explained, the mean attribution is the IG of the members' mean
    score, and its completeness is checked against that score.

    Parameters
    ----------
    pipeline : Pipeline, RamanCNNClassifier or RamanCNNCommittee
        A fitted pipeline whose last step is a RamanCNNClassifier or a
        RamanCNNCommittee, or that fitted step alone.
    n_steps : int, default=50
        Points of the path integral.
    baseline : {"zeros", "mean", "smooth"} or array-like, default="zeros"
        Reference input: zeros (no signal, for min-max scaled spectra), the
        mean network input of the fitted ``X``, a smooth background under each
        spectrum (:func:`smooth_background`; attributions then concern the
        bands, not the background), or an array of shape (n_wavenumbers,) on
        the network's input grid.
    n_per_class : int, default=15
        Largest number of spectra of each class explained by ``fit``.
    output : {"logits", "proba"}, default="logits"
        Score explained. Logits are the network's additive class evidence; a
        softmax probability saturates for confident predictions (its gradient
        vanishes along most of the path) and mixes in the other classes.
    method : str, default="gausslegendre"
        captum's integration rule ("gausslegendre", "riemann_trapezoid",
        "riemann_left", "riemann_right", "riemann_middle").
    internal_batch_size : int, default=None
        Largest number of network evaluations (spectra x steps) in one
        forward/backward pass; bounds memory. None: ``n_steps`` on a CPU (one
        spectrum per pass) and 1024 on a GPU.
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
        Arithmetic of the attribution passes; None uses the classifier's
        ``precision``. Completeness is always checked on the float32 network.
    tolerance : float, default=0.01
        Largest relative completeness error ``|sum(IG) - (F(x) - F(b))| /
        |F(x) - F(b)|`` accepted without a warning.
    n_regions : int, default=5
        Regions kept per class in ``regions_``.
    region_tolerance : float, default=10.0
        Distance in cm-1 within which a region's peak is matched to a band.
    region_map : {"contrastive_ig", "signed_ig", "abs_ig"}, default="contrastive_ig"
        Map the regions are found on (see :mod:`raman_sk.explain` for what each
        map answers; ``abs_ig`` fails the model-randomisation check).
    region_smoothing : float, default=4.0
        Gaussian smoothing in cm-1 applied before finding region peaks.
    wavenumbers : array-like of shape (n_wavenumbers,), default=None
        Axis of the network input; None reads it from the preprocessing steps'
        ``get_feature_names_out()`` (or a DataFrame's columns) and falls back
        to point indices with a warning.
    verbose : int, default=0
        Show a tqdm progress bar over batches when > 0.
    max_members : int or None, default=None
        For a committee, explain only its first ``max_members`` members
        (``estimators_[:max_members]``; IG's cost grows with each member).
        None uses all of them. Ignored for a single classifier.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels of the classifier.
    wavenumbers_ : ndarray of shape (n_wavenumbers,)
        Axis of the network input (cm-1).
    saliency_ : ndarray of shape (n_classes, n_wavenumbers)
        Mean absolute IG per class (the reference recipe's map). NaN rows for
        classes without spectra.
    signed_saliency_ : ndarray of shape (n_classes, n_wavenumbers)
        Mean signed IG per class.
    contrastive_saliency_ : ndarray of shape (n_classes, n_wavenumbers)
        Mean signed IG of the class-contrastive score.
    maps_ : dict of str to ndarray
        ``{"abs_ig": saliency_, "signed_ig": ..., "contrastive_ig": ...}``.
    member_maps_ : dict of str to ndarray
        Each map per member explained, of shape (n_members, n_classes,
        n_wavenumbers); ``maps_`` is their mean over axis 0. One member for a
        single classifier.
    member_saliency_ : ndarray of shape (n_members, n_classes, n_wavenumbers)
        ``member_maps_["abs_ig"]``.
    n_members_ : int
        Number of networks explained (1 for a single classifier).
    regions_ : DataFrame
        Top regions per class of ``maps_[region_map]``: columns ``class, start,
        end, peak, score, assignment, map``.
    sample_indices_ : ndarray of shape (n_explained,)
        Rows of ``X`` explained by ``fit``, grouped by class.
    sample_targets_ : ndarray of shape (n_explained,)
        Their labels (the class each was attributed to).
    convergence_delta_ : ndarray of shape (n_explained,)
        Absolute completeness error ``|sum(IG) - (F(x) - F(b))|`` of each
        explained spectrum (the ``abs_ig``/``signed_ig`` pass; for a committee,
        of the mean attribution against the members' mean score).
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
    map_stability : Rank correlation of each class map between members.
    raman_sk.plotting.plot_class_saliency : Figure of one class's map.

    Notes
    -----
    Completeness: IG satisfies ``sum(IG) = F(x) - F(baseline)``; the integral
    is approximated with ``n_steps`` points and its error is reported per
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

    _parameter_constraints: dict = {
        "pipeline": "no_validation",  # checked by split_explained, with its own errors
        "n_steps": [_positive_int],
        "baseline": [StrOptions(set(BASELINES)), "array-like"],
        "n_per_class": [_positive_int],
        "output": [StrOptions(set(OUTPUTS))],
        "method": [StrOptions(set(METHODS))],
        "internal_batch_size": [_positive_int, None],
        "smoothgrad": ["boolean"],
        "nt_samples": [_positive_int],
        "nt_stdev": [_non_negative],
        "random_state": ["random_state"],
        "precision": [StrOptions(set(PRECISIONS)), None],
        "tolerance": [Interval(Real, 0, None, closed="neither")],
        "n_regions": [_positive_int],
        "region_tolerance": [_non_negative],
        "region_map": [StrOptions(set(MAP_NAMES))],
        "region_smoothing": [_non_negative],
        "wavenumbers": "no_validation",  # check_wavenumbers in fit
        "verbose": ["verbose"],
        "max_members": [_positive_int, None],
    }

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
        max_members: int | None = None,
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
        self.max_members = max_members

    # ------------------------------------------------------------- attribution
    def _baselines(self, Xt):
        return baselines_for(
            Xt,
            self.baseline,
            mean_input=self.mean_input_,
            wavenumbers=self.wavenumbers_,
            array=self._baseline_array_,
        )

    def _attribute(self, module, Xt, B, targets, *, contrastive, precision, seed):
        """(attributions, delta, dF) of rows ``Xt`` with this explainer's settings."""
        clf = explained_networks(self.pipeline, 1)[2][0]
        with torch_threads(getattr(clf, "n_threads", None)):
            return integrated_gradients(
                module,
                Xt,
                B,
                targets,
                output=self.output,
                contrastive=contrastive,
                n_steps=self.n_steps,
                method=self.method,
                internal_batch_size=self.internal_batch_size,
                nt_samples=int(self.nt_samples) if self.smoothgrad else None,
                nt_stdev=float(self.nt_stdev) * self.input_range_,
                precision=precision,
                seed=seed,
                verbose=self.verbose,
            )

    def _mean_attribution(self, modules, Xt, B, targets, **kw):
        """Each network's attributions, their mean, its delta and the mean dF."""
        runs = [self._attribute(m, Xt, B, targets, **kw) for m in modules]
        return mean_attribution(runs, smoothgrad=self.smoothgrad)

    def _compute_maps(self, modules, Xt_sel, targets, precision, *, warn=True):
        """Mean and per-network class maps for rows ``Xt_sel`` and ``targets``."""
        modules = modules if isinstance(modules, (list, tuple)) else [modules]
        B = self._baselines(Xt_sel)
        kw = {"precision": precision, "seed": self._seed_}
        As, _, delta, dF = self._mean_attribution(
            modules, Xt_sel, B, targets, contrastive=False, **kw
        )
        Acs, _, delta_c, dF_c = self._mean_attribution(
            modules, Xt_sel, B, targets, contrastive=True, **kw
        )
        checks = ((delta, dF, "class scores"), (delta_c, dF_c, "contrastive scores"))
        for d, f, what in checks if warn else ():
            warn_incomplete(d, f, what, tolerance=self.tolerance,
                            n_steps=self.n_steps, stacklevel=4)
        maps, member_maps = member_class_maps(As, Acs, targets, len(self.classes_))
        return maps, member_maps, delta, relative_error(delta, dF)

    def _maps_for(self, modules, Xt):
        """Class maps of other networks on the spectra ``fit`` explained.

        ``modules`` is a network or a list of them (a committee's members);
        ``Xt`` is the network input of the fitted ``X``. Used by the sanity
        checks to compare re-initialised or retrained networks' maps.
        """
        targets = label_indices(self.sample_targets_, self.classes_, "target")
        member = explained_networks(self.pipeline, 1)[2][0]
        precision = resolve_precision(self.precision, member)
        maps, _, _, _ = self._compute_maps(
            modules, Xt[self.sample_indices_], targets, precision, warn=False
        )
        return maps

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
        pre, final, members, modules, classes = explained_networks(
            self.pipeline, self.max_members
        )
        Xt = network_input(pre, final, modules[0], X)
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
        self._baseline_array_ = check_baseline_array(self.baseline, n)
        self.wavenumbers_ = resolve_wavenumbers(self.wavenumbers, pre, X, n)
        self.classes_ = classes
        self.n_fit_samples_ = int(Xt.shape[0])
        self.mean_input_ = Xt.mean(axis=0, dtype=np.float64).astype(np.float32)
        self.input_range_ = float(Xt.max() - Xt.min())
        precision = resolve_precision(self.precision, members[0])
        rng = check_random_state(self.random_state)
        lookup = {str(c): k for k, c in enumerate(classes)}
        y_int = np.asarray([lookup[str(v)] for v in y], dtype=np.int64)
        idx, targets = select_per_class(y_int, len(classes), self.n_per_class, rng)
        missing = [str(c) for k, c in enumerate(classes) if not np.any(targets == k)]
        if missing:
            warnings.warn(
                f"no spectra of class(es) {missing} in y: their saliency rows are NaN.",
                UserWarning,
                stacklevel=2,
            )
        self._seed_ = int(rng.randint(0, 2**31 - 1))
        self.sample_indices_ = idx
        self.sample_targets_ = classes[targets]
        maps, member_maps, delta, rel = self._compute_maps(
            modules, Xt[idx], targets, precision
        )
        self.n_members_ = len(modules)
        self.member_maps_ = member_maps
        self.member_saliency_ = member_maps["abs_ig"]
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

    def explain(self, X, target=None, *, contrastive=False, return_delta=False):
        """Integrated Gradients of each spectrum of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_points)
            Spectra, as given to the pipeline.
        target : label, array-like of labels or None, default=None
            Class explained for every spectrum (one label) or for each (one
            per spectrum); None explains each spectrum's predicted class (for
            a committee: the committee's prediction, by all its members).
        contrastive : bool, default=False
            Explain the class-contrastive score ``f_c - mean_{k != c} f_k``
            instead of the class score.
        return_delta : bool, default=False
            Also return the absolute completeness error of each spectrum.

        Returns
        -------
        attributions : ndarray of shape (n_samples, n_wavenumbers)
            On the network's grid ``wavenumbers_``; each row sums to
            ``F(x) - F(baseline)`` up to the completeness error. For a
            committee, the mean over the members explained (see
            ``max_members``) and ``F`` is their mean score.
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
        pre, final, members, modules, _ = explained_networks(self.pipeline)
        Xt = network_input(pre, final, modules[0], X)
        predicted = predicted_classes(modules, Xt) if target is None else None
        targets = target_indices(target, self.classes_, Xt.shape[0], predicted)
        seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        _, A, delta, dF = self._mean_attribution(
            modules[: self.max_members or None],
            Xt,
            self._baselines(Xt),
            targets,
            contrastive=bool(contrastive),
            precision=resolve_precision(self.precision, members[0]),
            seed=seed,
        )
        warn_incomplete(
            delta, dF, "explain", tolerance=self.tolerance, n_steps=self.n_steps
        )
        return (A, delta) if return_delta else A

    def to_npz_dict(self) -> dict:
        """Arrays for ``saliency_maps.npz`` (``np.savez(path, **ig.to_npz_dict())``).

        Returns
        -------
        arrays : dict of str to ndarray
            ``"wavenumbers"``; one 1-D mean absolute IG array per class, named by
            the class (the reference recipe's layout); ``"classes"``; and each
            map of ``maps_`` as a (n_classes, n_wavenumbers) array named
            ``"<map>_maps"`` (e.g. ``"contrastive_ig_maps"``).

        Raises
        ------
        ValueError
            If a class name collides with one of the other keys.
        """
        check_is_fitted(self, "saliency_")
        return npz_arrays(self.wavenumbers_, self.classes_, self.maps_)

    def sanity_check(
        self, X, y, *, checks=SANITY_CHECKS, cascade=True, random_state=None
    ) -> pd.DataFrame:
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
            class, spearman, spearman_abs, pearson``). A map passes when its
            ``spearman`` is high for the control and low after randomisation.
        """
        return run_sanity_checks(
            self, X, y, checks=checks, cascade=cascade, random_state=random_state
        )
