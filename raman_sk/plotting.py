"""Every figure of raman_sk (the only module that imports matplotlib).

Single-panel functions take ``ax=None`` (a new figure is made) and return the
Axes they drew on; multi-panel ones return the Figure. Spectral axes are Raman
shifts in cm⁻¹. Nothing is shown or saved here: call ``fig.savefig(...)`` and
``plt.close(fig)`` (figures are made with :func:`matplotlib.pyplot.subplots`,
so notebooks display them).

Figures of the reference recipe: :func:`plot_class_distribution`,
:func:`plot_training_curves` (:func:`plot_training_losses` for several
networks, e.g. a committee's members), :func:`plot_confusion_matrix`,
:func:`plot_class_saliency` (one per class), :func:`plot_saliency_heatmap`;
per spectrum: :func:`plot_attribution`. :func:`plot_explainer_saliency` and
:func:`plot_explainer_heatmap` draw the same figures straight from a fitted
:class:`~raman_sk.explain.IGExplainer`.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import confusion_matrix

__all__ = [
    "plot_attribution",
    "plot_class_distribution",
    "plot_class_saliency",
    "plot_confusion_matrix",
    "plot_explainer_heatmap",
    "plot_explainer_saliency",
    "plot_saliency_heatmap",
    "plot_training_curves",
    "plot_training_losses",
]

SHIFT_LABEL = "Raman shift (cm⁻¹)"
_POS, _NEG, _ABS = "#c0392b", "#2e6fad", "#e67e22"
_REGION = "#f4d03f"
_MAP_LABELS = {
    "abs_ig": "mean |IG|",
    "signed_ig": "mean signed IG",
    "contrastive_ig": "class-contrastive IG",
}


# --------------------------------------------------------------------- helpers
def _new_ax(ax, figsize):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _vector(name, value, n=None):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a 1-D numeric array, got {value!r}.") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {arr.shape}.")
    if n is not None and arr.shape[0] != n:
        raise ValueError(
            f"{name} has {arr.shape[0]} values but wavenumbers has {n}; give one "
            "value per wavenumber."
        )
    return arr


def _shorten(text, width=30):
    text = str(text)
    first = text.split("; ")[0]
    if first.startswith("db peak") and ": " in first:
        first = "db: " + first.split(": ", 1)[1].split(" (e.g.")[0]
    return textwrap.shorten(first, width=width, placeholder="…")


def _draw_map(ax, w, values, signed, label):
    """Draw a saliency/attribution map on ``ax`` (filled, signed or not)."""
    if signed:
        ax.fill_between(w, 0, values, where=values >= 0, color=_POS, alpha=0.45,
                        lw=0, interpolate=True, label=f"{label} > 0 (for)")
        ax.fill_between(w, 0, values, where=values < 0, color=_NEG, alpha=0.45,
                        lw=0, interpolate=True, label=f"{label} < 0 (against)")
        ax.axhline(0, color="0.4", lw=0.6)
        lim = np.nanmax(np.abs(values)) if np.any(np.isfinite(values)) else 1.0
        lim = lim if lim > 0 else 1.0
        ax.set_ylim(-1.15 * lim, 1.15 * lim)
    else:
        ax.fill_between(w, 0, values, color=_ABS, alpha=0.5, lw=0, label=label)
        top = np.nanmax(values) if np.any(np.isfinite(values)) else 1.0
        ax.set_ylim(0, 1.15 * top if top > 0 else 1.0)


def _spectrum_and_map(ax, w, spectrum, values, *, signed, map_label, spec_label):
    order = np.argsort(w, kind="stable")
    w, spectrum, values = w[order], spectrum[order], values[order]
    if signed is None:
        signed = bool(np.nanmin(values) < 0)
    twin = ax.twinx()
    _draw_map(twin, w, values, signed, map_label)
    twin.set_ylabel(map_label)
    ax.plot(w, spectrum, color="k", lw=1.1, label=spec_label, zorder=3)
    ax.set_zorder(twin.get_zorder() + 1)  # spectrum above the filled map
    ax.patch.set_visible(False)
    ax.set_xlabel(SHIFT_LABEL)
    ax.set_ylabel("Intensity (a.u.)")
    ax.set_xlim(w[0], w[-1])
    return twin


def _legend(ax, twin):
    """One legend for the spectrum and its map, under the plot (never on data)."""
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    if h1 or h2:
        ax.legend(h1 + h2, l1 + l2, fontsize="small", loc="upper center",
                  bbox_to_anchor=(0.5, -0.13), ncol=3, frameon=False)


# ------------------------------------------------------------------ figures
def plot_class_distribution(y, ax=None):
    """Draw a bar chart of the number of spectra per class.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> from raman_sk.plotting import plot_class_distribution
    >>> ax = plot_class_distribution(["Lipids", "Proteins", "Proteins"])
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['Lipids', 'Proteins']
    """
    labels = np.asarray(y, dtype=object).ravel()
    if labels.size == 0:
        raise ValueError("y is empty; give one label per spectrum.")
    counts = pd.Series(labels.astype(str)).value_counts()
    counts = counts.sort_values(ascending=True, kind="stable")  # largest on top
    ax = _new_ax(ax, (6.4, 0.45 * len(counts) + 1.6))
    bars = ax.barh(counts.index, counts.to_numpy(), color="#4c72b0")
    ax.bar_label(bars, padding=3, fontsize="small")
    ax.set_xlabel("Number of spectra")
    ax.set_title(f"Spectra per class (n = {labels.size})")
    ax.set_xlim(0, counts.max() * 1.15)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def _history_frame(history) -> pd.DataFrame:
    if isinstance(history, pd.DataFrame):
        frame = history.copy()
    else:
        try:
            rows = [dict(row) for row in history]
        except (TypeError, ValueError):
            raise TypeError(
                "history must be a skorch History, a list of dicts or a DataFrame, "
                f"got {type(history).__name__}."
            ) from None
        frame = pd.DataFrame(rows)
    if frame.empty or "train_loss" not in frame.columns:
        raise ValueError(
            "history needs a 'train_loss' entry per epoch (keys epoch, train_loss "
            f"and optionally valid_loss, valid_acc, train_acc); got columns "
            f"{list(frame.columns)}."
        )
    if "epoch" not in frame.columns:
        frame["epoch"] = np.arange(1, len(frame) + 1)
    return frame


def plot_training_curves(history, ax=None):
    """Draw the loss and accuracy per epoch (two panels).

    Parameters
    ----------
    history : skorch History, list of dict or DataFrame
        One entry per epoch with ``train_loss`` and optionally ``epoch``,
        ``valid_loss``, ``valid_acc`` and ``train_acc``.
    ax : pair of matplotlib Axes, default=None
        Where to draw the loss and accuracy panels; None makes a new figure.

    Returns
    -------
    fig : matplotlib Figure

    Examples
    --------
    >>> from raman_sk.plotting import plot_training_curves
    >>> fig = plot_training_curves([
    ...     {"epoch": 1, "train_loss": 1.0, "valid_loss": 1.1, "valid_acc": 0.5},
    ...     {"epoch": 2, "train_loss": 0.5, "valid_loss": 0.7, "valid_acc": 0.8}])
    >>> [a.get_title() for a in fig.axes]
    ['Loss', 'Accuracy']
    """
    frame = _history_frame(history)
    if ax is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    else:
        axes = np.asarray(ax, dtype=object).ravel()
        if axes.size != 2:
            raise ValueError(
                f"ax must be None or two Axes (loss, accuracy), got {axes.size}."
            )
        fig = axes[0].figure
    epoch = frame["epoch"].to_numpy()
    loss_ax, acc_ax = axes
    loss_ax.plot(epoch, frame["train_loss"], label="train", color="#4c72b0")
    has_valid = "valid_loss" in frame and frame["valid_loss"].notna().any()
    if has_valid:
        loss_ax.plot(epoch, frame["valid_loss"], label="validation", color="#dd8452")
        best = int(np.nanargmin(frame["valid_loss"].to_numpy(dtype=float)))
        for a in axes:
            a.axvline(epoch[best], color="0.5", ls="--", lw=0.8,
                      label=f"lowest validation loss (epoch {epoch[best]})")
    loss_ax.set_title("Loss")
    loss_ax.set_ylabel("Cross-entropy loss")
    plotted = False
    for key, label, color in (("train_acc", "train", "#4c72b0"),
                              ("valid_acc", "validation", "#dd8452")):
        if key in frame and frame[key].notna().any():
            acc_ax.plot(epoch, frame[key], label=label, color=color)
            plotted = True
    if plotted:
        acc_ax.set_ylim(0, 1.02)
        acc_ax.legend(loc="lower right", fontsize="small")
    else:
        acc_ax.text(0.5, 0.5, "no accuracy recorded\n(train without a validation "
                    "split)", ha="center", va="center", transform=acc_ax.transAxes,
                    color="0.4")
    acc_ax.set_title("Accuracy")
    acc_ax.set_ylabel("Accuracy")
    loss_ax.legend(loc="upper right", fontsize="small")
    for a in axes:
        a.set_xlabel("Epoch")
        a.grid(alpha=0.3)
    return fig


def plot_training_losses(histories, *, by="model", ax=None):
    """Draw the training loss per epoch of several networks in one panel.

    Parameters
    ----------
    histories : dict of str to history, or DataFrame
        Name -> history (as :func:`plot_training_curves` takes it), or one
        DataFrame whose column ``by`` names the network of each row.
    by : str, default="model"
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> from raman_sk.plotting import plot_training_losses
    >>> ax = plot_training_losses({
    ...     "member 0": [{"train_loss": 1.0}, {"train_loss": 0.4}],
    ...     "member 1": [{"train_loss": 1.1}, {"train_loss": 0.5}]})
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['member 0', 'member 1']
    """
    if isinstance(histories, pd.DataFrame):
        histories = dict(list(histories.groupby(by, sort=False)))
    ax = _new_ax(ax, (8, 4.4))
    colors, losses = plt.get_cmap("tab10"), []
    for k, (name, history) in enumerate(histories.items()):
        frame = _history_frame(history)
        losses.append(frame["train_loss"].to_numpy(dtype=float))
        ax.plot(frame["epoch"].to_numpy(), losses[-1], marker="o", ms=3, lw=1.3,
                color=colors(k % 10), label=str(name))
    values = np.concatenate(losses)
    log = bool(np.all(values > 0) and values.max() > 10 * values.min())
    ax.set_yscale("log" if log else "linear")  # log only where losses span decades
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Training cross-entropy loss" + (" (log scale)" if log else ""))
    ax.set_title(f"Training loss of {len(histories)} networks")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small", loc="upper right")
    return ax


def plot_confusion_matrix(y_true, y_pred=None, labels=None, normalize=None,
                          ax=None):
    """Draw a confusion matrix with counts (and row/column fractions if normalised).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_labels, n_labels)
        True labels; or, when ``y_pred`` is None, a confusion matrix already
        computed (rows: true class, columns: predicted class).
    y_pred : array-like of shape (n_samples,), default=None
        Predicted labels.
    labels : array-like, default=None
        Class order; None uses the sorted labels (required names for a
        precomputed matrix, else 0..n-1).
    normalize : {"true", "pred", "all"} or None, default=None
        Colour and annotate by fractions of each true class, each predicted
        class or all spectra (the counts stay in brackets).
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> from raman_sk.plotting import plot_confusion_matrix
    >>> ax = plot_confusion_matrix(["a", "a", "b"], ["a", "b", "b"], normalize="true")
    >>> sorted(t.get_text().replace(chr(10), " ") for t in ax.texts)
    ['0.00 (0)', '0.50 (1)', '0.50 (1)', '1.00 (1)']
    """
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(
            "normalize must be one of None, 'true', 'pred', 'all', got "
            f"{normalize!r}."
        )
    if y_pred is None:
        counts = np.asarray(y_true)
        if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
            raise ValueError(
                "without y_pred, y_true must be a square confusion matrix, got "
                f"shape {counts.shape}."
            )
        counts = counts.astype(np.float64)
        names = (list(range(len(counts))) if labels is None else list(labels))
        if len(names) != len(counts):
            raise ValueError(
                f"labels has {len(names)} entries for a {len(counts)}-class matrix."
            )
    else:
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"y_true and y_pred must have the same shape, got {y_true.shape} "
                f"and {y_pred.shape}."
            )
        names = (sorted(set(y_true.tolist()) | set(y_pred.tolist()))
                 if labels is None else list(labels))
        counts = confusion_matrix(y_true, y_pred, labels=names).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if normalize == "true":
            shown = counts / counts.sum(axis=1, keepdims=True)
        elif normalize == "pred":
            shown = counts / counts.sum(axis=0, keepdims=True)
        elif normalize == "all":
            shown = counts / counts.sum()
        else:
            shown = counts
    shown = np.nan_to_num(shown)
    n = len(names)
    ax = _new_ax(ax, (1.0 * n + 2.6, 0.9 * n + 2.0))
    vmax = 1.0 if normalize else max(shown.max(), 1.0)
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=vmax)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04,
                       label="fraction" if normalize else "spectra")
    for i in range(n):
        for j in range(n):
            text = (f"{shown[i, j]:.2f}\n({int(counts[i, j])})" if normalize
                    else f"{int(counts[i, j])}")
            ax.text(j, i, text, ha="center", va="center", fontsize="small",
                    color="white" if shown[i, j] > 0.6 * vmax else "black")
    ticks = [str(v) for v in names]
    ax.set_xticks(range(n), ticks, rotation=40, ha="right")
    ax.set_yticks(range(n), ticks)
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    total = int(counts.sum())
    acc = np.trace(counts) / total if total else float("nan")
    ax.set_title(f"Confusion matrix (accuracy {acc:.1%}, n = {total})")
    return ax


def plot_class_saliency(wavenumbers, mean_spectrum, saliency, *, regions=None,
                        class_name=None, signed=None, ax=None):
    """Draw one class's saliency over its mean spectrum, top regions shaded.

    Parameters
    ----------
    wavenumbers : array-like of shape (n_wavenumbers,)
        Raman shifts in cm⁻¹.
    mean_spectrum : array-like of shape (n_wavenumbers,)
        The class's mean spectrum (left axis).
    saliency : array-like of shape (n_wavenumbers,)
        The class's saliency map (right axis, filled).
    regions : DataFrame, default=None
        Regions to shade and label (columns ``start``, ``end``, ``peak`` and
        optionally ``assignment``, ``class``, ``score``, ``map``), e.g.
        ``IGExplainer.regions_``; rows of other classes are skipped when it
        has a ``class`` column and ``class_name`` is given.
    class_name : str, default=None
        Used in the title and to select regions.
    signed : bool, default=None
        Draw positive and negative parts in two colours; None: when the map
        has negative values.
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes
        The spectrum's Axes; the map is on its twin (``ax.figure.axes``).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from raman_sk.plotting import plot_class_saliency
    >>> w = np.arange(600.0, 1100.0)
    >>> spectrum = np.exp(-0.5 * ((w - 700) / 5) ** 2)
    >>> regions = pd.DataFrame({"start": [690.0], "end": [710.0], "peak": [700.0],
    ...                         "assignment": ["demo band"]})
    >>> ax = plot_class_saliency(w, spectrum, 0.5 * spectrum, regions=regions,
    ...                          class_name="demo")
    >>> ax.get_xlabel(), ax.get_title()
    ('Raman shift (cm⁻¹)', 'demo: saliency on the mean spectrum')
    """
    map_label = "saliency"
    if regions is not None and "map" in getattr(regions, "columns", []) and len(
        regions
    ):
        map_label = _MAP_LABELS.get(str(regions["map"].iloc[0]), map_label)
    return _class_saliency(wavenumbers, mean_spectrum, saliency, regions=regions,
                           class_name=class_name, signed=signed, ax=ax,
                           map_label=map_label)


def _class_saliency(wavenumbers, mean_spectrum, saliency, *, regions, class_name,
                    signed, ax, map_label):
    w = _vector("wavenumbers", wavenumbers)
    spectrum = _vector("mean_spectrum", mean_spectrum, len(w))
    values = _vector("saliency", saliency, len(w))
    ax = _new_ax(ax, (11, 4.8))
    twin = _spectrum_and_map(ax, w, spectrum, values, signed=signed,
                             map_label=map_label, spec_label="mean spectrum")
    levels = 0
    if regions is not None:
        levels = _shade_regions(ax, regions, class_name)
    title = "saliency on the mean spectrum"
    ax.set_title(f"{class_name}: {title}" if class_name is not None else
                 title.capitalize(), pad=6 + 11 * levels)
    _legend(ax, twin)
    return ax


def _shade_regions(ax, regions, class_name):
    """Shade each region, mark it "#rank" on top, list them under the plot."""
    required = {"start", "end", "peak"}
    if not isinstance(regions, pd.DataFrame) or not required <= set(regions.columns):
        raise ValueError(
            "regions must be a DataFrame with columns start, end, peak (e.g. "
            "IGExplainer.regions_)."
        )
    rows = regions
    if class_name is not None and "class" in regions.columns:
        rows = regions[regions["class"].astype(str) == str(class_name)]
    rows = rows.reset_index(drop=True)
    lo, hi = ax.get_xlim()
    span = abs(hi - lo) or 1.0
    placed: dict[int, list[float]] = {}
    lines = []
    for rank, r in enumerate(rows.itertuples(index=False), start=1):
        r = r._asdict()
        ax.axvspan(r["start"], r["end"], color=_REGION, alpha=0.4, lw=0, zorder=0)
        text = f"#{rank}  {r['start']:.0f}–{r['end']:.0f} cm⁻¹ (peak {r['peak']:.0f})"
        if "assignment" in r:
            text += f": {_shorten(r['assignment'], 70)}"
        if "score" in r:
            text += f"  [{r['score']:.0%} of the class's positive saliency]"
        lines.append(text)
        if not min(lo, hi) <= r["peak"] <= max(lo, hi):
            continue
        level = 0  # stack labels that would touch
        while any(abs(r["peak"] - p) < 0.035 * span for p in placed.get(level, [])):
            level += 1
        placed.setdefault(level, []).append(r["peak"])
        ax.annotate(f"#{rank}", xy=(r["peak"], 1.0),
                    xycoords=("data", "axes fraction"),
                    xytext=(0, 2 + 10 * level), textcoords="offset points",
                    ha="center", va="bottom", fontsize=8, fontweight="bold")
    if lines:
        ax.text(0.0, -0.24, "Top regions:\n" + "\n".join(lines),
                transform=ax.transAxes, va="top", ha="left", fontsize=8,
                family="DejaVu Sans")
    return max(placed, default=-1) + 1


def plot_saliency_heatmap(wavenumbers, saliency, class_names, ax=None):
    """Draw a heat map of the saliency of every class (rows) along the spectrum.

    Each row is scaled by its largest absolute value, so the pattern of every
    class is visible whatever its magnitude. A map with negative values is
    drawn with a diverging colour scale centred on 0.

    Parameters
    ----------
    wavenumbers : array-like of shape (n_wavenumbers,)
        Raman shifts in cm⁻¹.
    saliency : array-like of shape (n_classes, n_wavenumbers)
        One map per class.
    class_names : array-like of shape (n_classes,)
        Row labels.
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk.plotting import plot_saliency_heatmap
    >>> ax = plot_saliency_heatmap(np.arange(600.0, 700.0), np.ones((2, 100)),
    ...                            ["a", "b"])
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['a', 'b']
    """
    w = _vector("wavenumbers", wavenumbers)
    values = np.atleast_2d(np.asarray(saliency, dtype=np.float64))
    names = [str(c) for c in np.asarray(class_names, dtype=object).ravel()]
    if values.shape != (len(names), len(w)):
        raise ValueError(
            f"saliency has shape {values.shape}; expected ({len(names)}, {len(w)}) "
            "(one row per class name, one column per wavenumber)."
        )
    order = np.argsort(w, kind="stable")
    w, values = w[order], values[:, order]
    scale = np.nanmax(np.abs(values), axis=1, keepdims=True)
    scaled = values / np.where(scale > 0, scale, 1.0)
    signed = bool(np.nanmin(values) < 0)
    ax = _new_ax(ax, (11, 0.55 * len(names) + 1.8))
    if len(w) > 1:
        mid = (w[1:] + w[:-1]) / 2
        edges = np.concatenate([[w[0] - (mid[0] - w[0])], mid,
                                [w[-1] + (w[-1] - mid[-1])]])
    else:
        edges = np.array([w[0] - 0.5, w[0] + 0.5])
    kw = ({"cmap": "RdBu_r", "norm": TwoSlopeNorm(0.0, -1.0, 1.0)} if signed
          else {"cmap": "magma_r", "vmin": 0.0, "vmax": 1.0})
    mesh = ax.pcolormesh(edges, np.arange(len(names) + 1), scaled, shading="flat",
                         **kw)
    ax.set_yticks(np.arange(len(names)) + 0.5, names)
    ax.invert_yaxis()
    ax.set_xlabel(SHIFT_LABEL)
    ax.figure.colorbar(mesh, ax=ax, pad=0.01,
                       label="saliency / class maximum" + (" (signed)" if signed
                                                           else ""))
    ax.set_title("Saliency per class")
    return ax


def plot_attribution(wavenumbers, spectrum, attribution, *, title=None, ax=None):
    """Draw the Integrated Gradients of one spectrum under the spectrum.

    Parameters
    ----------
    wavenumbers : array-like of shape (n_wavenumbers,)
        Raman shifts in cm⁻¹.
    spectrum : array-like of shape (n_wavenumbers,)
        The spectrum explained (as the network saw it).
    attribution : array-like of shape (n_wavenumbers,)
        Its attributions (e.g. a row of ``IGExplainer.explain``); positive
        values (red) push towards the explained class, negative ones (blue)
        away from it.
    title : str, default=None
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from raman_sk.plotting import plot_attribution
    >>> w = np.arange(600.0, 700.0)
    >>> ax = plot_attribution(w, np.ones(100), np.linspace(-1, 1, 100), title="x")
    >>> ax.get_title(), len(ax.figure.axes)
    ('x', 2)
    """
    w = _vector("wavenumbers", wavenumbers)
    spec = _vector("spectrum", spectrum, len(w))
    attr = _vector("attribution", attribution, len(w))
    ax = _new_ax(ax, (11, 4.2))
    twin = _spectrum_and_map(ax, w, spec, attr, signed=True, map_label="IG",
                             spec_label="spectrum")
    total = float(np.sum(attr))
    ax.set_title(title if title is not None else
                 f"Integrated Gradients (sum = {total:.3g})")
    _legend(ax, twin)
    return ax


# ------------------------------------------------------- from an IGExplainer
def _explainer_map(explainer, map):
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(explainer, "maps_")
    name = explainer.region_map if map is None else map
    if name not in explainer.maps_:
        raise ValueError(
            f"map must be one of {sorted(explainer.maps_)}, got {name!r}."
        )
    return name, explainer.maps_[name]


def _class_index(explainer, class_name):
    names = [str(c) for c in explainer.classes_]
    if str(class_name) not in names:
        raise ValueError(
            f"class_name {class_name!r} is not a class of the explainer; its "
            f"classes are {names}."
        )
    return names.index(str(class_name))


def plot_explainer_saliency(explainer, class_name, X, y, *, map=None,
                            n_regions=None, ax=None):
    """Draw :func:`plot_class_saliency` for one class of a fitted IGExplainer.

    Parameters
    ----------
    explainer : IGExplainer
        A fitted explainer.
    class_name : str
        The class drawn.
    X : array-like of shape (n_samples, n_wavenumbers)
        Spectra on the network's grid (``explainer.wavenumbers_``), e.g.
        ``pipeline[:-1].transform(X_raw)``; their class mean is drawn.
    y : array-like of shape (n_samples,)
        Their labels.
    map : str, default=None
        Which map of ``explainer.maps_``; None uses ``explainer.region_map``
        (the map ``regions_`` came from). Regions are shaded only for that map.
    n_regions : int, default=None
        Shade only the best ``n_regions`` regions; None shades all of them.
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes
    """
    name, maps = _explainer_map(explainer, map)
    k = _class_index(explainer, class_name)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).astype(str)
    w = np.asarray(explainer.wavenumbers_, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != len(w):
        raise ValueError(
            f"X must have one column per wavenumber of the explainer ({len(w)}), "
            f"got shape {X.shape}; transform raw spectra with pipeline[:-1]."
        )
    rows = y == str(class_name)
    if not np.any(rows):
        raise ValueError(f"y has no spectrum of class {class_name!r}.")
    regions = None
    if name == explainer.region_map:
        regions = explainer.regions_[explainer.regions_["class"].astype(str)
                                     == str(class_name)]
        if n_regions is not None:
            regions = regions.head(int(n_regions))
    return _class_saliency(w, X[rows].mean(axis=0), maps[k], regions=regions,
                           class_name=class_name, signed=None, ax=ax,
                           map_label=_MAP_LABELS.get(name, name))


def plot_explainer_heatmap(explainer, *, map=None, ax=None):
    """Draw :func:`plot_saliency_heatmap` of a fitted IGExplainer's map.

    Parameters
    ----------
    explainer : IGExplainer
        A fitted explainer.
    map : str, default=None
        Which map of ``explainer.maps_``; None uses ``explainer.region_map``.
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes
    """
    name, maps = _explainer_map(explainer, map)
    ax = plot_saliency_heatmap(explainer.wavenumbers_, maps, explainer.classes_,
                               ax=ax)
    ax.set_title(f"Saliency per class: {_MAP_LABELS.get(name, name)}")
    return ax
