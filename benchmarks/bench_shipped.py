"""Ship the K fold members as a committee, or one network refitted on everything.

Nested grouped CV on one seed (issue 15, item 2): the outer
``StratifiedGroupKFold(5, shuffle=True, random_state=seed)`` by molecule holds
out a fold; on the other four folds the main job is run as it runs on the whole
database, giving both candidates:

* **committee**: a :class:`~raman_sk.classifier.RamanCNNCommittee` over an
  inner grouped ``--inner``-fold split (each member trained on the inner
  folds but one), probabilities averaged over the members;
* **refit**: one network trained on all of the outer training spectra with the
  same fixed schedule (the main job's ``final_model``).

Both are scored on the outer held-out fold, whose molecules neither saw, and
compared fold by fold (paired). Settings are the main job's defaults
(:class:`raman_sk.reproduce._settings.Settings`), so the comparison is of the
recipe that ships. Each outer fold is cached as one JSON file (predictions,
seconds, sample-passes, CPU); an interrupted run resumes.

    python benchmarks/bench_shipped.py                       # seed 0, 5 x 4
    python benchmarks/bench_shipped.py --quick --out /tmp/x  # smoke run
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.utils import Bunch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

from raman_sk.utils._files import atomic_write, json_bytes, write_text  # noqa: E402
from raman_sk.utils._versions import cpu_info, versions  # noqa: E402

HERE = Path(__file__).resolve().parent
CANDIDATES = ("committee", "refit")


def subset(data: Bunch, rows) -> Bunch:
    """Return rows of the main job's data Bunch (the class list is kept)."""
    return Bunch(
        X=data.X[rows], y=data.y[rows], groups=data.groups[rows],
        sources=data.sources[rows], wavenumbers=data.wavenumbers,
        classes=data.classes,
    )  # fmt: skip


def fit_outer_fold(data, train, test, settings):
    """Fit both candidates on ``train`` and return their predictions on ``test``."""
    from raman_sk.reproduce._committee import fit_committee, fit_final

    inner = subset(data, train)
    out = {}
    for name, fit in (("committee", fit_committee), ("refit", fit_final)):
        t0 = time.perf_counter()
        pipe = fit(inner, settings)
        seconds = time.perf_counter() - t0
        proba = np.asarray(pipe.predict_proba(data.X[test]), dtype=np.float64)
        classes = [str(c) for c in pipe[-1].classes_]
        order = [classes.index(c) for c in data.classes]
        out[name] = {
            "proba": np.round(proba[:, order], 6).tolist(),
            "seconds": seconds,
        }
    return out


def scores(y, proba, classes):
    """Accuracy and macro-F1 of the argmax of ``proba``."""
    pred = np.asarray(classes)[np.argmax(proba, axis=1)]
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "macro_f1": float(f1_score(y, pred, average="macro")),
    }


def paired(a, b):
    """Mean and std of a - b over folds, wins/ties/losses of a."""
    d = np.asarray(a) - np.asarray(b)
    return {
        "mean": float(d.mean()), "std": float(d.std()),
        "wins": int((d > 1e-12).sum()), "ties": int((abs(d) <= 1e-12).sum()),
        "losses": int((d < -1e-12).sum()),
    }  # fmt: skip


def _with_refit(record, inner):
    """Return the committee with the refit as one more member (no extra training)."""
    committee = np.asarray(record["committee"]["proba"])
    refit = np.asarray(record["refit"]["proba"])
    return {
        "proba": (inner * committee + refit) / (inner + 1),
        "seconds": record["committee"]["seconds"] + record["refit"]["seconds"],
    }


def summarise(records, data, folds, inner=4):
    """Per-candidate per-fold scores, pooled scores and the paired differences."""
    y = np.asarray(data.y).astype(str)
    records = [{**r, "committee + refit": _with_refit(r, inner)} for r in records]
    rows = {}
    for name in (*CANDIDATES, "committee + refit"):
        per_fold = [
            scores(y[folds[k][1]], np.asarray(r[name]["proba"]), data.classes)
            for k, r in enumerate(records)
        ]
        pooled = np.zeros((len(y), len(data.classes)))
        for k, r in enumerate(records):
            pooled[folds[k][1]] = r[name]["proba"]
        rows[name] = {
            "fold_accuracy": [s["accuracy"] for s in per_fold],
            "fold_macro_f1": [s["macro_f1"] for s in per_fold],
            **scores(y, pooled, data.classes),
            "seconds": float(sum(r[name]["seconds"] for r in records)),
        }
    def pair(a, b):
        return {m: paired(rows[a][f"fold_{m}"], rows[b][f"fold_{m}"])
                for m in ("macro_f1", "accuracy")}

    return rows, pair("committee", "refit"), pair("committee + refit", "committee")


def markdown(rows, comparison, with_refit, meta):
    """Return the results page."""
    lines = [
        "# Shipped model: committee of the fold members vs one refit "
        "(nested grouped CV)",
        "",
        f"Outer StratifiedGroupKFold({meta['outer']}, shuffle, seed {meta['seed']}) by "
        f"molecule; inside each outer training part the main job's recipe "
        f"({meta['recipe']}) as it runs on the whole database: a committee over "
        f"{meta['inner']} inner grouped folds, and one network refitted on the whole "
        "outer training part with the same schedule. Scored on the outer held-out "
        "molecules, which neither saw. "
        f"Precision {meta['precision']}; {meta['cpu']}; {meta['generated']}.",
        "",
        "| candidate | accuracy (pooled) | macro-F1 (pooled) | per-fold macro-F1 | "
        "fit seconds (all folds) |",
        "|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        folds = ", ".join(f"{v:.3f}" for v in r["fold_macro_f1"])
        lines.append(
            f"| {name} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | "
            f"{folds} | {r['seconds']:.0f} |"
        )
    for title, pairs in (
        ("committee − refit", comparison),
        ("committee + refit (the refit as one more member) − committee", with_refit),
    ):
        lines += ["", f"Paired, {title}, over the outer folds:", ""]
        for m, p in pairs.items():
            lines.append(
                f"- {m}: {p['mean']:+.3f} ± {p['std']:.3f} "
                f"(wins/ties/losses {p['wins']}/{p['ties']}/{p['losses']})"
            )
    return "\n".join(lines) + "\n"


def main(argv=None):
    """Run (or resume) the nested comparison and write shipped.json/.md."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--outer", type=int, default=5)
    p.add_argument("--inner", type=int, default=4)
    p.add_argument(
        "--precision", default="auto", choices=["auto", "float32", "bfloat16"]
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="tiny network, ~60 spectra")
    p.add_argument("--out", type=Path, default=HERE / "results")
    args = p.parse_args(argv)

    from raman_sk.reproduce._settings import Settings
    from raman_sk.reproduce._steps import load_data

    data = load_data()
    data.y = np.asarray(data.y).astype(str)
    if args.quick:
        _, _, groups, _ = _common.load_data(quick=True)
        data = subset(data, np.flatnonzero(np.isin(data.groups, groups)))
        args.outer, args.inner = min(args.outer, 3), min(args.inner, 2)
    settings = Settings.make(
        seed=args.seed,
        precision=args.precision,
        quick=args.quick,
        threads=args.threads,
        cv=args.inner,
    )
    folds = _common.grouped_folds(data.y, data.groups, args.outer, args.seed)
    config = _common.main_job_key(settings)
    key = hashlib.sha256(
        json.dumps(
            {
                **config,
                "outer": args.outer,
                "data": _common.data_fingerprint(data.X, data.y),
            },
            sort_keys=True,
            default=str,
        ).encode()
    ).hexdigest()[:12]
    cache = args.out / "cache" / "shipped"
    records = []
    for k, (train, test) in enumerate(folds):
        path = cache / f"s{args.seed}-outer{k}-{key}.json"
        if path.is_file():
            records.append(json.loads(path.read_text(encoding="utf-8")))
            continue
        t0 = time.perf_counter()
        rec = fit_outer_fold(data, train, test, settings)
        rec.update(cpu=cpu_info()["summary"], fold=k, wall_s=time.perf_counter() - t0)
        atomic_write(path, json_bytes(rec))
        print(
            f"[{time.strftime('%H:%M:%S')}] outer fold {k}: {rec['wall_s']:.0f} s",
            flush=True,
        )
        records.append(rec)
    rows, comparison, with_refit = summarise(records, data, folds, args.inner)
    meta = {
        "seed": args.seed, "outer": args.outer, "inner": args.inner,
        "recipe": f"{settings.epochs} epochs, {settings.n_copies} copies, "
                  f"label smoothing {settings.label_smoothing}"
                  + _common.recipe_extras(dataclasses.asdict(settings)),
        "precision": settings.precision, "cpu": cpu_info()["summary"],
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "versions": versions(), "quick": args.quick,
    }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    out = {"meta": meta, "candidates": rows, "committee_minus_refit": comparison,
           "committee_with_refit_minus_committee": with_refit}
    atomic_write(args.out / "shipped.json", json_bytes(out))
    page = markdown(rows, comparison, with_refit, meta)
    write_text(args.out / "shipped.md", page)
    print(page)
    return out


if __name__ == "__main__":
    main()
