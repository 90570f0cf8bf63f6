"""Accuracy vs epochs of the main job's recipe, grouped out of fold, up to 40 epochs.

One committee (the recipe of :mod:`bench_levers`' reference — cleaning,
label smoothing, class-balanced sampling, grouped ``StratifiedGroupKFold(5)``
by molecule, seed 0 — or of the lever given by ``--lever``) is trained for
``--epochs`` epochs with its cosine schedule; after every epoch each member
predicts the fold it never saw, so one run gives the out-of-fold accuracy and
macro-F1 after each epoch. That is the
curve *within* a long schedule; the separately trained short schedules of the
lever screen (3, 6, 12, 20 epochs, each with its own cosine schedule) are drawn
next to it from ``results/generalisation.json``.

Writes ``results/epochs.json``, ``results/epochs.md`` and
``results/figures/accuracy_vs_epochs.png``; the per-epoch probabilities are
cached (``results/cache/epochs``), so a rerun only redraws.

    python benchmarks/bench_epochs.py                 # 40 epochs, seed 0
    python benchmarks/bench_epochs.py --lever ls+mixup-0.4+bin-2
    python benchmarks/bench_epochs.py --quick --out /tmp/x
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from skorch.callbacks import Callback

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_levers  # noqa: E402

from raman_sk.utils._files import atomic_write, json_bytes, write_text  # noqa: E402
from raman_sk.utils._versions import cpu_info, versions  # noqa: E402

HERE = Path(__file__).resolve().parent


class EpochPredictions(Callback):
    """After every epoch, store the network's probabilities of fixed spectra.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Spectra on the network's input grid (every database spectrum; the
        member's held-out rows are picked afterwards).
    """

    def __init__(self, X):
        self.X = X

    def initialize(self):
        """Forget earlier epochs."""
        self.proba_ = []
        return self

    def on_epoch_end(self, net, **kwargs):
        """Predict every spectrum with the current weights."""
        self.proba_.append(np.asarray(net.predict_proba(self.X), dtype=np.float32))


def curve(pipe, X_grid, classes):
    """Out-of-fold probabilities after each epoch: shape (epochs, n, classes)."""
    committee = pipe[-1]
    order = [list(map(str, committee.classes_)).index(c) for c in classes]
    out = None
    for k, member in enumerate(committee.estimators_):
        cb = dict(member.callbacks_)["epoch_predictions"]
        stack = np.stack(cb.proba_)[:, :, order]
        if out is None:
            out = np.zeros_like(stack)
        rows = committee.oof_fold_ == k
        out[:, rows] = stack[:, rows]
    return out


def scores(y, proba_by_epoch, folds):
    """Pooled and per-fold accuracy and macro-F1 after each epoch."""
    rows = []
    classes = np.unique(y)
    for e, proba in enumerate(proba_by_epoch, start=1):
        pred = classes[np.argmax(proba, axis=1)]
        per_fold = [
            float(f1_score(y[folds == k], pred[folds == k], average="macro"))
            for k in np.unique(folds)
        ]
        rows.append({
            "epoch": e,
            "accuracy": float(accuracy_score(y, pred)),
            "macro_f1": float(f1_score(y, pred, average="macro")),
            "fold_macro_f1": per_fold,
        })  # fmt: skip
    return rows


#: Legend labels of the separately trained schedules, in drawing order.
OWN = "own schedule, this recipe"
SMOOTHING = "own schedule, label smoothing"
PLAIN = "own schedule, no label smoothing"


def separate_runs(path, lever=bench_levers.REFERENCE):
    """Short schedules of the lever screen: (label, epochs, accuracy, macro-F1).

    For a ``lever`` other than the reference, its own 6-epoch row is drawn as
    "this recipe" and the reference's schedules are labelled as the earlier
    recipe they are.
    """
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    earlier = "" if lever == bench_levers.REFERENCE else " (earlier recipe)"
    out = []
    for r in data["levers"]:
        name = r["lever"]
        smoothing = name in ("label-smoothing-0.1", "ls+epochs-3")
        plain = name == "default" or (name.startswith("epochs-"))
        if name == lever and earlier:
            out.append((OWN, r["epochs"], r["accuracy"], r["macro_f1"]))
        elif smoothing or plain:
            label = (SMOOTHING if smoothing else PLAIN) + earlier
            out.append((label, r["epochs"], r["accuracy"], r["macro_f1"]))
    baselines = [(b["lever"], b["accuracy"], b["macro_f1"]) for b in data["baselines"]]
    return out, baselines


def plot(rows, runs, baselines, path, meta):
    """Out-of-fold macro-F1 and accuracy against the epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True)
    epochs = [r["epoch"] for r in rows]
    for ax, key, title in (
        (axes[0], "macro_f1", "macro-F1"),
        (axes[1], "accuracy", "accuracy"),
    ):
        ax.plot(
            epochs,
            [r[key] for r in rows],
            "-",
            color="C0",
            label=f"within one {meta['epochs']}-epoch cosine schedule",
        )
        markers = {OWN: ("D", "C3"), SMOOTHING: ("o", "C1"), PLAIN: ("s", "C7")}
        for label in dict.fromkeys(lab for lab, *_ in runs):
            m, c = markers[label.removesuffix(" (earlier recipe)")]
            pts = [
                (e, a if key == "accuracy" else f)
                for lab, e, a, f in runs
                if lab == label
            ]
            if pts:
                ax.plot(*zip(*sorted(pts), strict=True), m, color=c, label=label)
        for (name, acc, f1), ls in zip(baselines, ("--", ":"), strict=False):
            ax.axhline(
                acc if key == "accuracy" else f1, ls=ls, color="0.4", lw=1, label=name
            )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"out-of-fold {title} (194 spectra)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(
        f"{meta.get('lever', 'the reference')}: grouped 5-fold by molecule "
        f"(seed 0), {meta['precision']}", fontsize=10,
    )  # fmt: skip
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    """Train (or load) the long schedule and write the curve."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lever", default=bench_levers.REFERENCE,
                   choices=list(bench_levers.LEVERS),
                   help="whose recipe (default: the lever screen's reference)")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", type=Path, default=HERE / "results")
    args = p.parse_args(argv)
    from raman_sk.utils._torch import auto_precision

    precision = auto_precision("cpu")
    data = bench_levers.load(args.quick, args.seed)
    config = bench_levers.lever_config(args.lever, seed=args.seed, quick=args.quick)
    config = {**config, "epochs": args.epochs, "lever": "epoch-curve"}
    path = bench_levers.cache_path(
        args.out / "cache" / "epochs", config, data["fingerprint"]
    ).with_suffix(".npz")
    pipe = bench_levers.make_pipeline(config, data["wavenumbers"], precision)
    X_grid = pipe[:-1].fit_transform(data["X"]).astype(np.float32)
    if path.is_file():
        with np.load(path) as f:
            proba, folds, seconds = f["proba"], f["folds"], float(f["seconds"])
            last_diff = float(f["last_diff"])
    else:
        pipe.set_params(ramancnncommittee__estimator__callbacks=[
            ("epoch_predictions", EpochPredictions(X_grid))
        ])  # fmt: skip
        t0 = time.perf_counter()
        pipe.fit(data["X"], data["y"], ramancnncommittee__groups=data["groups"])
        seconds = time.perf_counter() - t0
        proba = curve(pipe, X_grid, data["classes"])
        folds = pipe[-1].oof_fold_
        path.parent.mkdir(parents=True, exist_ok=True)
        order = [list(map(str, pipe[-1].classes_)).index(c) for c in data["classes"]]
        # the last epoch's predictions are the committee's own out-of-fold ones,
        # up to bf16 rounding of batches of another size: recorded, not asserted
        last_diff = float(np.abs(proba[-1] - pipe[-1].oof_proba_[:, order]).max())
        np.savez_compressed(
            path,
            proba=proba.astype(np.float16),
            folds=folds,
            seconds=seconds,
            last_diff=last_diff,
        )
    rows = scores(data["y"], proba.astype(np.float64), folds)
    found = separate_runs(args.out / "generalisation.json", args.lever)
    runs, baselines = found if found else ([], [])
    meta = {
        "epochs": args.epochs, "seed": args.seed, "precision": precision,
        "lever": args.lever,
        "cpu": cpu_info()["summary"], "seconds": seconds, "quick": args.quick,
        "last_epoch_vs_oof_max_abs_diff": last_diff,
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "versions": versions(),
    }  # fmt: skip
    plot(rows, runs, baselines, args.out / "figures" / "accuracy_vs_epochs.png", meta)
    best = max(rows, key=lambda r: r["macro_f1"])
    lines = [
        "# Accuracy vs epochs (grouped out of fold, main job's recipe)",
        "",
        f"One committee of `{args.lever}` ({bench_levers.LEVERS[args.lever][0]}) "
        f"trained {args.epochs} epochs (cosine schedule over "
        f"{args.epochs}), seed {args.seed}, {precision}, {meta['cpu']}, "
        f"{seconds:.0f} s; after each epoch every member predicts the fold it never "
        "saw (the last epoch's probabilities differ from the committee's own "
        f"out-of-fold ones by at most {last_diff:.4f}: bf16 rounding). Figure: "
        "`figures/accuracy_vs_epochs.png` (with the separately trained short "
        "schedules of the lever screen).",
        "",
        "| epoch | accuracy | macro-F1 |",
        "|---|---|---|",
        *[f"| {r['epoch']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} |"
          for r in rows],
        "",
        f"Highest macro-F1 {best['macro_f1']:.3f} after epoch {best['epoch']} "
        f"(epoch 6: {rows[min(5, len(rows) - 1)]['macro_f1']:.3f}; last: "
        f"{rows[-1]['macro_f1']:.3f}).",
    ]  # fmt: skip
    atomic_write(
        args.out / "epochs.json",
        json_bytes({"meta": meta, "epochs": rows, "separate_runs": runs}),
    )
    write_text(args.out / "epochs.md", "\n".join(lines) + "\n")
    return rows


if __name__ == "__main__":
    main()
