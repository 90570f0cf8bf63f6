"""Regenerate the README's honest-evaluation table from ``results/accuracy.json``.

The README shows the grouped-CV rows of ``bench_accuracy`` (mean ± std over
seeds x folds) and the main job's paired wins over the library search and
MiniRocket; this script writes that block between the README's markers, so the
table is never edited by hand.

    python benchmarks/readme_table.py          # rewrite the block in README.md
    python benchmarks/readme_table.py --check  # exit 1 when the README differs
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
START = "<!-- accuracy-table:start (benchmarks/readme_table.py) -->"
END = "<!-- accuracy-table:end -->"
#: The shipped recipe's row and the baselines its paired wins are counted against.
MAIN_JOB = "raman_sk main job fp32 (cv-committee)"
AGAINST = ("kNN-1 cosine", "MiniRocket + ridge")
#: Grouped rows shown, in this order when present (the rest are in accuracy.md).
SHOWN = (
    MAIN_JOB,
    "raman_sk CNN bf16 (30 ep)",
    "MiniRocket + ridge",
    "SVM-RBF (scaled)",
    "LogReg (scaled)",
    "kNN-1 cosine",
    "PLS-DA",
)
NAMES = {
    MAIN_JOB: "CNN committee, the shipped recipe (fp32)",
    "raman_sk CNN bf16 (30 ep)": "CNN, reference recipe on each fold (30 epochs)",
    "kNN-1 cosine": "1-NN cosine (library search)",
    "LogReg (scaled)": "logistic regression (standard-scaled)",
}


def _pm(row, metric):
    return f"{row[f'{metric}_mean']:.3f} ± {row[f'{metric}_std']:.3f}"


def table(rows, pairs) -> str:
    """Return the README block (without the markers)."""
    grouped = {r["model"]: r for r in rows if r["protocol"] == "grouped"}
    lines = [
        "| model (grouped 5-fold by molecule) | accuracy | macro-F1 | seeds × folds |",
        "|---|---|---|---|",
    ]
    for name in SHOWN:
        r = grouped.get(name)
        if r is None:
            continue
        n = f"{r['n_seeds']} × {r['n_scores'] // max(r['n_seeds'], 1)}"
        lines.append(
            f"| {NAMES.get(name, name)} | {_pm(r, 'accuracy')} | "
            f"{_pm(r, 'macro_f1')} | {n} |"
        )
    wins = [p for p in pairs if p["cnn"] == MAIN_JOB and p["baseline"] in AGAINST]
    if wins:
        parts = [
            f"{NAMES.get(p['baseline'], p['baseline'])} in "
            f"{p['wins'] + 0.5 * p['ties']:g} of {p['n_pairs']} folds "
            f"(macro-F1 {p['mean_diff']:+.3f} ± {p['std_diff']:.3f})"
            for p in wins
        ]
        lines += [
            "",
            "Paired on the same folds, the shipped recipe's macro-F1 is higher "
            "than that of "
            + " and than that of ".join(parts)
            + " (a tie counts half).",
        ]
    return "\n".join(lines)


def render(readme_text: str, block: str) -> str:
    """Return the README text with the block between the markers replaced."""
    head, sep, rest = readme_text.partition(START)
    _, sep2, tail = rest.partition(END)
    if not (sep and sep2):
        raise ValueError(f"README.md lacks the markers {START!r} ... {END!r}.")
    return f"{head}{START}\n{block}\n{END}{tail}"


def main(argv=None) -> int:
    """Write (or check) the README block; return the exit status."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true")
    p.add_argument("--results", type=Path, default=HERE / "results")
    p.add_argument("--readme", type=Path, default=README)
    args = p.parse_args(argv)
    rows = json.loads((args.results / "accuracy.json").read_text(encoding="utf-8"))
    pairs = json.loads(
        (args.results / "accuracy_paired.json").read_text(encoding="utf-8")
    )
    text = args.readme.read_text(encoding="utf-8")
    new = render(text, table(rows, pairs))
    if args.check:
        return int(new != text)
    args.readme.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
