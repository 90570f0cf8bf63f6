"""Settings and helpers shared by the test modules."""

import importlib.util
import json
import sys
from pathlib import Path

from raman_sk.reproduce._settings import QUICK_MODULE

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"

#: The smallest network the tests train (the one of ``raman-sk ... --quick``):
#: two one-conv blocks, a 16-unit head.
TINY_NET = dict(QUICK_MODULE)

#: Classifier settings for a tiny, fast, deterministic fit on the synthetic data.
TINY_FIT = {
    **TINY_NET,
    "lr": 1e-2,
    "batch_size": 8,
    "random_state": 0,
    "n_threads": 1,  # tiny nets: one thread is fastest and robust to busy CPUs
}

#: The out-of-domain scores of the prediction table, before ``out_of_domain``.
OOD_SCORES = ["residual", "embedding_distance", "energy", "disagreement", "combined",
              "ood_score"]


def load_benchmark(name):
    """Import benchmarks/<name>.py as a module (the folder is no package)."""
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    spec = importlib.util.spec_from_file_location(name, BENCH_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def save_checker_with(checker, directory, section, key, value):
    """Save an out-of-domain checker with one entry of its JSON replaced."""
    from raman_sk.domain import save_domain_checker

    save_domain_checker(checker, directory)
    path = Path(directory) / "domain.json"
    saved = json.loads(path.read_text())
    saved[section][key] = value
    path.write_text(json.dumps(saved))
