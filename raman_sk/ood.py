"""Model-space evidence for the out-of-domain check, and its evaluation.

A network answers confidently for inputs unlike its training data, so the
out-of-domain check (:class:`raman_sk.domain.NearestSpectrumChecker`) also
looks at what the network itself makes of a spectrum:

* **embedding distance**: the distance to the ``k``-th nearest training
  spectrum in the L2-normalised penultimate embedding of each committee
  member (Sun et al., "Out-of-distribution detection with deep nearest
  neighbors", ICML 2022), averaged over the members;
* **energy**: ``-logsumexp(logits)`` (Liu et al., NeurIPS 2020), averaged over
  the members; high for inputs the network has no strong answer for;
* **disagreement**: mean Kullback-Leibler divergence of the members'
  probabilities from their mean. Reported, never flagged: every database
  spectrum was seen by all members but one, so there is no honest in-domain
  distribution of it to set a limit on.

Every limit is an upper quantile of *in-domain* scores: the grouped
out-of-fold database spectra, each scored by the member that never saw its
molecule. :func:`evaluate_ood` scores synthetic foreign families and raw
versions of held-out database spectra against those limits; it is an
evaluation only, nothing is tuned on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from raman_sk.models import penultimate
from raman_sk.utils._torch import module_device, torch_threads
from raman_sk.utils._validation import SATURATED_RUN, saturation

__all__ = [
    "FOREIGN_FAMILIES",
    "committee_scores",
    "energy",
    "evaluate_ood",
    "foreign_spectra",
    "knn_distance",
    "member_outputs",
    "ood_scores",
    "ood_table",
    "quantile_limit",
    "raw_in_domain",
    "score_held_out",
]


def member_outputs(member, X, *, batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """L2-normalised penultimate embedding and logits of one fitted network.

    Parameters
    ----------
    member : RamanCNNClassifier
        Fitted classifier whose ``module_`` is a
        :class:`~raman_sk.models.RamanCNN1D`.
    X : array-like of shape (n_samples, n_features)
        Spectra on the network's input grid.
    batch : int, default=512
        Rows per forward pass.

    Returns
    -------
    embedding : ndarray of shape (n_samples, hidden), float32
        Unit-length rows (a zero embedding stays zero).
    logits : ndarray of shape (n_samples, n_classes), float64
    """
    net = member.module_
    was_training = net.training
    net.eval()
    device = module_device(net)
    X = np.asarray(X, dtype=np.float32)
    embs, logits = [], []
    try:
        with torch_threads(getattr(member, "n_threads", None)), torch.inference_mode():
            for start in range(0, X.shape[0], batch):
                x = torch.as_tensor(X[start : start + batch], device=device)
                e, z = penultimate(net, x)
                embs.append(torch.nn.functional.normalize(e.float(), dim=1).cpu())
                logits.append(z.double().cpu())
    finally:
        net.train(was_training)
    hidden = net.classifier[-1].in_features
    if not embs:
        return np.zeros((0, hidden), np.float32), np.zeros((0, len(member.classes_)))
    return torch.cat(embs).numpy(), torch.cat(logits).numpy()


def knn_distance(query, reference, k: int = 5) -> np.ndarray:
    """Euclidean distance of each (unit-length) query row to its k-th nearest reference.

    Parameters
    ----------
    query : ndarray of shape (n_samples, d)
    reference : ndarray of shape (n_reference, d)
    k : int, default=5
        Which neighbour; clipped to ``n_reference``.

    Returns
    -------
    ndarray of shape (n_samples,)

    Examples
    --------
    >>> ref = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    >>> knn_distance(np.array([[1.0, 0.0]]), ref, k=2).round(4).tolist()
    [1.4142]
    """
    query = np.asarray(query, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    k = int(min(max(k, 1), reference.shape[0]))
    sq = (
        (query**2).sum(axis=1)[:, None]
        + (reference**2).sum(axis=1)[None, :]
        - 2.0 * query @ reference.T
    )
    dist = np.sqrt(np.maximum(sq, 0.0))
    return np.partition(dist, k - 1, axis=1)[:, k - 1]


def energy(logits) -> np.ndarray:
    """Energy score ``-logsumexp(logits)`` of each row (higher: less familiar).

    Examples
    --------
    >>> energy(np.array([[0.0, 0.0], [10.0, -10.0]])).round(3).tolist()
    [-0.693, -10.0]
    """
    z = np.asarray(logits, dtype=np.float64)
    top = z.max(axis=1, keepdims=True)
    return -(top[:, 0] + np.log(np.exp(z - top).sum(axis=1)))


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def committee_scores(members, X, embeddings, fold, *, k=5, use=None) -> dict:
    """Model-space scores of spectra, averaged over the chosen members.

    Parameters
    ----------
    members : list of RamanCNNClassifier
        The committee's members, in fold order.
    X : ndarray of shape (n_samples, n_features)
        Spectra on the network's input grid.
    embeddings : ndarray of shape (n_members, n_train, hidden)
        Each member's embedding of every training spectrum.
    fold : ndarray of shape (n_train,)
        Fold in which each training spectrum was held out; member ``m``'s
        neighbours are the rows it trained on (``fold != m``).
    k : int, default=5
        Neighbour of the embedding distance.
    use : sequence of int, default=None
        Members to average over; None: all.

    Returns
    -------
    dict
        ``embedding_distance``, ``energy`` and ``disagreement`` (NaN with
        fewer than two members), each of shape (n_samples,).
    """
    use = range(len(members)) if use is None else list(use)
    dist, eng, probs = [], [], []
    for m in use:
        emb, logits = member_outputs(members[m], X)
        dist.append(knn_distance(emb, embeddings[m][fold != m], k))
        eng.append(energy(logits))
        probs.append(_softmax(logits))
    n = np.asarray(X).shape[0]
    disagreement = np.full(n, np.nan)
    if len(probs) > 1:
        p = np.clip(np.stack(probs), 1e-12, 1.0)
        mean = p.mean(axis=0)
        disagreement = (p * np.log(p / mean)).sum(axis=2).mean(axis=0)
    return {
        "embedding_distance": np.mean(dist, axis=0),
        "energy": np.mean(eng, axis=0),
        "disagreement": disagreement,
    }


def quantile_limit(values, rate: float) -> float:
    """Upper limit that at most ``rate`` of ``values`` exceed (strictly).

    The ``1 - rate`` quantile with numpy's ``"higher"`` method: a value of
    ``values`` itself, so the fraction above it is at most ``rate``.

    Examples
    --------
    >>> quantile_limit(np.arange(1.0, 21.0), 0.1)  # 1 of 20 values above it
    19.0
    """
    values = np.asarray(values, dtype=np.float64)
    return float(np.quantile(values, 1.0 - float(rate), method="higher"))


# ------------------------------------------------------------ evaluation
#: The synthetic foreign families of :func:`foreign_spectra`, with what each is.
FOREIGN_FAMILIES = {
    "sharp_lines": "2-5 narrow Lorentzian lines (HWHM 1.5-4 cm-1) at random places",
    "emission_lines": "8-15 instrument-narrow lines (HWHM 0.4-1.2 cm-1), lamp-like",
    "fluorescence_hump": "one broad Gaussian hump (sigma 250-600 cm-1), no bands",
    "noise": "white noise around an offset",
    "flat_or_saturated": "a constant line (half) or a hump clipped at the detector "
    "maximum over a wide range (half)",
    "polymer_like": "a polyethylene-like band set (1062, 1130, 1296, 1440, 1460, "
    "2 small bands) with band widths of 4-8 cm-1",
    "biomolecule_plus_line": "a database spectrum with one line 2-5 times its "
    "strongest band added (HWHM 1-3 cm-1)",
    "minerals": "the strongest bands of one of 9 inorganic materials, in turn "
    "(anatase, rutile, hematite, amorphous carbon, graphite, hydroxyapatite, "
    "gypsum, barite, quartz; approximate literature positions +- 2 cm-1 and "
    "widths x 0.8-1.3)",
}

_POLYMER_BANDS = (1062.0, 1130.0, 1170.0, 1296.0, 1418.0, 1440.0, 1460.0)
#: (centre cm-1, FWHM cm-1, height) of each material's bands from 380 cm-1 up.
_MINERAL_BANDS = (
    ((399, 25, 0.45), (519, 25, 0.4), (639, 28, 1.0)),  # anatase
    ((447, 40, 1.0), (612, 45, 0.9)),  # rutile
    ((412, 20, 0.5), (497, 25, 0.15), (612, 30, 0.3), (1320, 80, 0.8)),  # hematite
    ((1350, 200, 0.8), (1590, 90, 1.0)),  # amorphous carbon
    ((1350, 45, 0.15), (1582, 18, 1.0)),  # graphite
    ((430, 20, 0.2), (590, 20, 0.15), (961, 10, 1.0), (1046, 15, 0.1)),  # apatite
    ((415, 12, 0.25), (493, 12, 0.2), (620, 10, 0.1), (1008, 8, 1.0),
     (1135, 10, 0.1)),  # gypsum
    ((462, 10, 0.2), (617, 8, 0.1), (988, 7, 1.0), (1140, 10, 0.05)),  # barite
    ((464, 8, 1.0), (806, 12, 0.05), (1082, 15, 0.03)),  # quartz
)


def _lorentz(axis, centre, hwhm, height=1.0):
    return height * hwhm**2 / ((axis - centre) ** 2 + hwhm**2)


def _raw_axis(rng, grid):
    lo, hi = float(grid[0]), float(grid[-1])
    step = rng.uniform(0.6, 1.8)
    start = lo - rng.uniform(1.0, 40.0)
    stop = hi + rng.uniform(1.0, 60.0)
    return np.linspace(start, stop, int((stop - start) / step) + 1)


def _hump(rng, axis):
    """Return a broad fluorescence-like Gaussian of height 1, placed at random."""
    t = (axis - axis[0]) / np.ptp(axis)
    centre, width = rng.uniform(-0.3, 1.3), rng.uniform(0.4, 1.5)
    return np.exp(-0.5 * ((t - centre) / width) ** 2)


def _raw(rng, axis, signal):
    """Put a clean signal on a raw instrument's scale: background, noise, offset."""
    hump = _hump(rng, axis)
    background = rng.uniform(0.5, 4.0) * hump
    background += rng.uniform(-0.3, 0.3) * ((axis - axis[0]) / np.ptp(axis))
    noise = rng.normal(0.0, rng.uniform(0.005, 0.02), size=axis.shape)
    scale, offset = 10 ** rng.uniform(2.0, 4.5), rng.uniform(0.0, 500.0)
    return scale * (signal + background + noise) + offset


def foreign_spectra(grid, n_per_family: int = 20, *, database=None, seed: int = 0):
    """Synthetic spectra of materials the model never saw, on raw axes.

    Parameters
    ----------
    grid : ndarray of shape (n_points,)
        The network's input grid; each raw axis covers it.
    n_per_family : int, default=20
        Spectra per family of :data:`FOREIGN_FAMILIES`.
    database : tuple of (axis, X), default=None
        Clean database spectra for ``biomolecule_plus_line``; without it that
        family is left out.
    seed : int, default=0
        Seed of the generator.

    Returns
    -------
    spectra : list of (axis, intensities) pairs
    family : ndarray of str
    """
    rng = np.random.default_rng(seed)
    lo, hi = float(grid[0]), float(grid[-1])
    spectra, family = [], []
    for name in FOREIGN_FAMILIES:
        if name == "biomolecule_plus_line" and database is None:
            continue
        for i in range(n_per_family):
            axis = _raw_axis(rng, grid)
            if name == "sharp_lines":
                s = sum(_lorentz(axis, rng.uniform(lo, hi), rng.uniform(1.5, 4.0),
                                 rng.uniform(0.3, 1.0))
                        for _ in range(rng.integers(2, 6)))
            elif name == "emission_lines":
                s = sum(_lorentz(axis, rng.uniform(lo, hi), rng.uniform(0.4, 1.2),
                                 rng.uniform(0.1, 1.0))
                        for _ in range(rng.integers(8, 16)))
            elif name == "fluorescence_hump":
                s = np.exp(-0.5 * ((axis - rng.uniform(lo, hi)) /
                                   rng.uniform(250, 600)) ** 2)
            elif name == "noise":
                s = np.zeros_like(axis)
            elif name == "flat_or_saturated":
                if i % 2 == 0:
                    spectra.append((axis, np.full(axis.shape, rng.uniform(0, 6e4))))
                    family.append(name)
                    continue
                hump = 3.0 * np.exp(-0.5 * ((axis - rng.uniform(lo, hi)) / 400.0) ** 2)
                raw = _raw(rng, axis, hump)
                spectra.append((axis, np.minimum(raw, np.quantile(raw, 0.4))))
                family.append(name)
                continue
            elif name == "polymer_like":
                shift = rng.normal(0.0, 2.0)
                s = sum(_lorentz(axis, c + shift, rng.uniform(4.0, 8.0),
                                 rng.uniform(0.2, 1.0)) for c in _POLYMER_BANDS)
            elif name == "minerals":
                bands = _MINERAL_BANDS[i % len(_MINERAL_BANDS)]
                s = sum(_lorentz(axis, c + rng.uniform(-2.0, 2.0),
                                 fwhm / 2 * rng.uniform(0.8, 1.3), h)
                        for c, fwhm, h in bands)
            else:  # biomolecule_plus_line
                db_axis, X = database
                base = np.interp(axis, db_axis, X[rng.integers(len(X))])
                base = (base - base.min()) / max(np.ptp(base), 1e-12)
                s = base + _lorentz(axis, rng.uniform(lo, hi), rng.uniform(1.0, 3.0),
                                    rng.uniform(2.0, 5.0))
            spectra.append((axis, _raw(rng, axis, s)))
            family.append(name)
    return spectra, np.asarray(family, dtype=str)


def raw_in_domain(
    db_axis,
    X,
    grid,
    *,
    seed: int = 0,
    broaden: float = 0.0,
    response: float = 0.0,
    spike: float = 0.0,
    noise: float = 0.0,
    fluorescence: float = 0.0,
    shift: float = 0.0,
    missing: float = 0.0,
    water: float = 0.0,
) -> list:
    """Database spectra made raw: another axis, fluorescence, noise, raw scale.

    The options add what another instrument would change; each is off at 0
    and then draws nothing, so the default spectra do not depend on them.

    Parameters
    ----------
    db_axis : ndarray of shape (n_points,)
        Axis of the clean database spectra ``X``.
    X : ndarray of shape (n_samples, n_points)
    grid : ndarray
        The network's input grid; each new axis covers it.
    seed : int, default=0
    broaden : float, default=0.0
        Standard deviation, in cm-1, of a Gaussian instrument line shape the
        bands are convolved with (a lower resolution).
    response : float, default=0.0
        Largest relative change of a smooth multiplicative spectral response
        (a random quadratic Legendre polynomial): other relative band heights.
    spike : float, default=0.0
        Height of a one-point cosmic-ray spike at a random position, relative
        to the spectrum's band range.
    noise : float, default=0.0
        Standard deviation of extra white noise, relative to the band range
        (0.05 is a signal-to-noise ratio of 20).
    fluorescence : float, default=0.0
        Height of an extra broad fluorescence background (a Gaussian hump as
        wide as the raw one), relative to the band range.
    shift : float, default=0.0
        Largest offset, in cm-1, of the axis calibration: each spectrum's bands
        sit at wavenumbers moved by one offset drawn uniformly in
        [-shift, shift].
    missing : float, default=0.0
        Width, in cm-1, of the start of the grid the raw axis leaves out (an
        instrument whose range starts higher): its points below
        ``grid[0] + missing`` are dropped. The spectra then need a pipeline
        whose resampler fills the gap (``coverage``).
    water : float, default=0.0
        Height, relative to the band range, of liquid water's bending band
        (a Gaussian at 1640 cm-1, FWHM 90 cm-1): the sample in solution.

    Returns
    -------
    list of (axis, intensities) pairs, one per row of ``X``
    """
    from scipy.ndimage import gaussian_filter1d

    rng = np.random.default_rng(seed)
    out = []
    for x in np.asarray(X, dtype=np.float64):
        axis = _raw_axis(rng, grid)
        offset = rng.uniform(-shift, shift) if shift > 0 else 0.0
        s = np.interp(axis - offset, db_axis, x)  # a band at v is read at v + offset
        if broaden > 0:
            s = gaussian_filter1d(s, broaden / float(np.mean(np.diff(axis))))
        s = (s - s.min()) / max(np.ptp(s), 1e-12)
        if response > 0:
            u = np.linspace(-1.0, 1.0, axis.size)
            curve = np.polynomial.legendre.legval(u, rng.uniform(-1.0, 1.0, 3))
            s = s * (1.0 + curve * response / 3)  # |P_k| <= 1 on [-1, 1]
        if spike > 0:
            s[rng.integers(0, axis.size)] += spike
        if water > 0:  # FWHM 90 cm-1: sigma 38.2
            s = s + water * np.exp(-0.5 * ((axis - 1640.0) / 38.2) ** 2)
        if fluorescence > 0:
            s = s + fluorescence * _hump(rng, axis)
        if noise > 0:
            s = s + rng.normal(0.0, noise, size=axis.shape)
        raw = _raw(rng, axis, s)
        if missing > 0:
            kept = axis >= grid[0] + missing
            axis, raw = axis[kept], raw[kept]
        out.append((axis, raw))
    return out


def score_held_out(pipeline, checker, pairs) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-domain score and flag of raw database spectra, each held out.

    Row ``i`` of ``pairs`` is database spectrum ``i`` in another form; it is
    scored as an unseen molecule: by the committee member that held out its
    fold and against reference spectra of the other folds only. Bad input
    is flagged with score inf.

    Parameters
    ----------
    pipeline : Pipeline
        Fitted pipeline ending in the committee ``checker`` was fitted with.
    checker : NearestSpectrumChecker
        Fitted with ``model=`` that committee on the database spectra.
    pairs : list of (axis, intensities)
        One per database spectrum, in the checker's row order.

    Returns
    -------
    score, flag : ndarray of shape (n_samples,)
    """
    pre, model = pipeline[:-1], pipeline[-1]
    score = np.empty(len(pairs))
    flag = np.zeros(len(pairs), dtype=bool)
    for k in np.unique(checker.fold_):
        rows = np.flatnonzero(checker.fold_ == k)
        s, f = _table_scores(checker, pre, [pairs[i] for i in rows], model, int(k))
        score[rows], flag[rows] = s, f
    return score, flag


def _auroc(scores_in, scores_out) -> float:
    y = np.r_[np.zeros(len(scores_in)), np.ones(len(scores_out))]
    s = np.nan_to_num(np.r_[scores_in, scores_out], nan=np.inf, posinf=1e12)
    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else float("nan")


def _table_scores(checker, pre, pairs, model, held_out_fold=None):
    """(ood_score, flagged) of raw spectra as ``predict_table`` gives them.

    Bad input (NaN, inf, flat) and saturated spectra (a plateau of
    ``SATURATED_RUN`` raw points at the maximum) are flagged with score inf.
    """
    n = len(pairs)
    score, flagged = np.full(n, np.inf), np.ones(n, dtype=bool)
    ok = np.array([np.isfinite(v).all() and np.ptp(v) > 0
                   and saturation(v) < SATURATED_RUN for _, v in pairs])
    idx = np.flatnonzero(ok)
    if idx.size:
        Xg = pre.transform([pairs[i] for i in idx])
        table = checker.check(Xg, model=model, held_out_fold=held_out_fold)
        score[idx] = table["ood_score"].to_numpy()
        flagged[idx] = table["out_of_domain"].to_numpy()
    return score, flagged


def ood_scores(pipeline, checker, db_axis, X, grid, *, n_per_family=20, seed=0):
    """Score every spectrum of the raw in-domain and synthetic foreign sets.

    The in-domain check set is every database spectrum made raw
    (:func:`raw_in_domain`), scored as an unseen molecule: by the member that
    held out its fold and against reference spectra of the other folds only.
    Foreign spectra (:func:`foreign_spectra`) are scored by the whole
    committee, as a user's spectrum is. Bad input is flagged with score inf.

    Parameters
    ----------
    pipeline : Pipeline
        Fitted pipeline ending in the committee ``checker`` was fitted with.
    checker : NearestSpectrumChecker
        Fitted with ``model=`` that committee on the database spectra ``X``.
    db_axis : ndarray of shape (n_points,)
        Axis of ``X``.
    X : ndarray of shape (n_samples, n_points)
        The database spectra, in the rows the checker was fitted on.
    grid : ndarray
        The network's input grid.
    n_per_family : int, default=20
    seed : int, default=0

    Returns
    -------
    dict
        ``raw_score``, ``raw_flag`` (one per database spectrum),
        ``foreign_score``, ``foreign_flag`` and ``foreign_family`` (one per
        foreign spectrum).
    """
    pre, model = pipeline[:-1], pipeline[-1]
    grid = np.asarray(grid, dtype=np.float64)
    raw = raw_in_domain(db_axis, X, grid, seed=seed)
    in_score, in_flag = score_held_out(pipeline, checker, raw)
    foreign, family = foreign_spectra(grid, n_per_family, database=(db_axis, X),
                                      seed=seed + 1)
    f_score, f_flag = _table_scores(checker, pre, foreign, model)
    return {"raw_score": in_score, "raw_flag": in_flag, "foreign_score": f_score,
            "foreign_flag": f_flag, "foreign_family": family}


def ood_table(checker, scores) -> pd.DataFrame:
    """Summarise :func:`ood_scores` per family (see :func:`evaluate_ood`)."""
    in_score, in_flag = scores["raw_score"], scores["raw_flag"]
    f_score, f_flag = scores["foreign_score"], scores["foreign_flag"]
    family = scores["foreign_family"]
    rows = [{"family": "database_oof", "n": len(checker.fold_),
             "flagged": float(checker.database_flag_rate_), "auroc": np.nan,
             "description": "database spectra, out of fold (the limits were set "
             "on these)"},
            {"family": "raw_in_domain", "n": len(in_flag),
             "flagged": float(in_flag.mean()),
             "auroc": np.nan, "description": "held-out database spectra on another "
             "axis with fluorescence, noise and a raw intensity scale"}]
    for name, text in FOREIGN_FAMILIES.items():
        sel = family == name
        if sel.any():
            rows.append({"family": name, "n": int(sel.sum()),
                         "flagged": float(f_flag[sel].mean()),
                         "auroc": _auroc(in_score, f_score[sel]),
                         "description": text})
    rows.append({"family": "all_foreign", "n": len(family),
                 "flagged": float(f_flag.mean()), "auroc": _auroc(in_score, f_score),
                 "description": "every synthetic foreign spectrum"})
    return pd.DataFrame(rows)


def evaluate_ood(pipeline, checker, db_axis, X, grid, *, n_per_family=20, seed=0):
    """Score the out-of-domain check on synthetic foreign and raw in-domain spectra.

    Evaluation only: the checker's limits were set on the database's
    out-of-fold scores before this runs. The spectra are scored by
    :func:`ood_scores` (which takes the same parameters) and summarised per
    family by :func:`ood_table`.

    Returns
    -------
    DataFrame
        One row per family plus ``raw_in_domain`` and ``database_oof``:
        ``family``, ``n``, ``flagged`` (fraction), ``auroc`` (the family's
        ``ood_score`` against the raw in-domain set's; NaN for the in-domain
        rows) and ``description``.
    """
    scores = ood_scores(pipeline, checker, db_axis, X, grid,
                        n_per_family=n_per_family, seed=seed)
    return ood_table(checker, scores)
