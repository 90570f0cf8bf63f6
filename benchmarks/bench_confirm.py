"""Confirm a lever of the screen on more seeds: grouped out-of-fold, paired per fold.

Fits the main job's committee (``raman_sk.reproduce``'s cv-committee recipe) on
all 194 spectra for each seed (the seed sets the grouped folds, the members and
the augmenter), once with the default settings and once with the lever, and
stores the out-of-fold accuracy and macro-F1 per fold. Resumable: finished
(lever, seed) pairs in the results file are not refitted.

    python benchmarks/bench_confirm.py --seeds 1 2 \
        --out benchmarks/results/confirm_label_smoothing.json
    python benchmarks/bench_confirm.py --seeds 1 2 --levers ls+epochs-3 \
        --out benchmarks/results/confirm_label_smoothing.json
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from raman_sk.reproduce._committee import fit_committee
from raman_sk.reproduce._settings import Settings
from raman_sk.reproduce._steps import load_data
from raman_sk.utils._files import write_json

LEVERS = {
    "default": {},
    "label-smoothing-0.1": {"label_smoothing": 0.1},
    "ls+epochs-3": {"label_smoothing": 0.1, "epochs": 3},
}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--levers", nargs="+", default=list(LEVERS), choices=list(LEVERS))
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    data = load_data()
    for seed in args.seeds:
        for name in args.levers:
            options = LEVERS[name]
            key = f"{name}/seed{seed}"
            if key in results:
                continue
            options = {"label_smoothing": 0.0, **options}
            settings = Settings.make(seed=seed, threads=args.threads, **options)
            t0 = time.perf_counter()
            committee = fit_committee(data, settings)[-1]
            pred = committee.classes_[committee.oof_proba_.argmax(1)]
            folds = []
            for k in np.unique(committee.oof_fold_):
                m = committee.oof_fold_ == k
                folds.append(
                    [
                        float(accuracy_score(data.y[m], pred[m])),
                        float(f1_score(data.y[m], pred[m], average="macro")),
                    ]
                )
            results[key] = {
                "accuracy": float(accuracy_score(data.y, pred)),
                "macro_f1": float(f1_score(data.y, pred, average="macro")),
                "folds": folds,
                "seconds": time.perf_counter() - t0,
                "precision": settings.precision,
            }
            write_json(args.out, results)
    return results


if __name__ == "__main__":
    main()
