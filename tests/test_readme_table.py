"""The README's honest-evaluation table is generated from the benchmark results."""

import json

import pytest

from tests._helpers import load_benchmark


def test_readme_table_matches_the_committed_results():
    bench = load_benchmark("readme_table")
    assert bench.main(["--check"]) == 0, "run: python benchmarks/readme_table.py"


def test_table_counts_ties_as_half_and_replaces_only_the_block(tmp_path):
    bench = load_benchmark("readme_table")
    row = {
        "protocol": "grouped",
        "n_seeds": 1,
        "n_scores": 5,
        "accuracy_mean": 0.9,
        "accuracy_std": 0.01,
        "macro_f1_mean": 0.8,
        "macro_f1_std": 0.02,
    }
    rows = [
        {**row, "model": bench.MAIN_JOB},
        {**row, "model": "kNN-1 cosine", "macro_f1_mean": 0.7},
    ]
    pairs = [
        {
            "cnn": bench.MAIN_JOB,
            "baseline": "kNN-1 cosine",
            "wins": 3,
            "ties": 1,
            "losses": 1,
            "n_pairs": 5,
            "mean_diff": 0.1,
            "std_diff": 0.05,
        }
    ]
    (tmp_path / "accuracy.json").write_text(json.dumps(rows))
    (tmp_path / "accuracy_paired.json").write_text(json.dumps(pairs))
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{bench.START}\nold\n{bench.END}\noutro\n")
    argv = ["--results", str(tmp_path), "--readme", str(readme)]
    assert bench.main([*argv, "--check"]) == 1
    assert bench.main(argv) == 0
    text = readme.read_text()
    assert (
        text.startswith("intro\n")
        and text.endswith("outro\n")
        and "\nold\n" not in text
    )
    assert "| 0.900 ± 0.010 | 0.800 ± 0.020 | 1 × 5 |" in text
    assert "than that of 1-NN cosine (library search) in 3.5 of 5 folds" in text
    assert bench.main([*argv, "--check"]) == 0
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="lacks the markers"):
        bench.main(argv)
