"""The ``raman-sk`` argument parser: subcommands, options and their help.

Kept apart from :mod:`raman_sk.cli`, which runs the commands; the parser gets
the command functions from there.
"""

from __future__ import annotations

import argparse
from pathlib import Path

PROG = "raman-sk"
COVERAGES = ("raise", "fill", "edge")


def _parent(*adders) -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    for add in adders:
        add(parent)
    return parent


def _training_options(p: argparse.ArgumentParser) -> None:
    from raman_sk.utils._torch import PRECISIONS

    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="training epochs (default: reproduce 6 with the cv-committee recipe, "
        "80 with seed; train and evaluate 80; 2 with --quick)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=32,
        help="training batch size (default 32, the reference recipe; see "
        "benchmarks/README.md for other sizes)",
    )
    p.add_argument(
        "--precision",
        choices=("auto", *PRECISIONS),
        default="auto",
        help="arithmetic of the network for training and prediction (bfloat16: "
        "autocast). auto (default): bfloat16 on a CPU with native bf16 "
        "(AMX or AVX512-BF16), float32 elsewhere; see benchmarks/README.md. "
        "Integrated Gradients always run in float32",
    )
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda, ...)")
    p.add_argument(
        "--pretrained",
        default=None,
        metavar="NAME|FILE",
        help="where the network's convolutional body starts: none (random, the "
        "default), synthetic (the body bundled with raman_sk, pretrained on "
        "synthetic band mixtures) or a safetensors file of a RamanCNN1D body",
    )
    p.add_argument(
        "--mixup",
        type=float,
        default=None,
        metavar="ALPHA",
        help="mixup across classes while training: each batch mixed with a "
        "shuffle of itself, weights ~ Beta(ALPHA, ALPHA), targets alike; 0: off "
        "(default: the recipe's)",
    )
    p.add_argument(
        "--input-binning",
        type=int,
        default=None,
        metavar="N",
        help="the network averages every N adjacent points of its 1 cm-1 input "
        "before the first convolution (cheaper; 1: none; default: the recipe's)",
    )
    p.add_argument(
        "--mask-windows",
        type=int,
        default=None,
        metavar="N",
        help="while training, N windows of each spectrum (up to --mask-width "
        "input points each) are bridged by a straight line, as if the molecule "
        "had no band there; 0: off (default: the recipe's)",
    )
    p.add_argument(
        "--mask-width",
        type=int,
        default=None,
        metavar="POINTS",
        help="widest masked window in input points (default: the recipe's)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads for training and inference (default: torch's "
        "setting; 1 suits a machine busy with other jobs)",
    )


def _quiet_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary")


def _overwrite_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")


def _excitation_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--excitation-nm",
        type=float,
        default=None,
        metavar="NM",
        help="laser wavelength in nm, for files whose axis is in nm and that do "
        "not record it",
    )


def _labelled_spectra(p: argparse.ArgumentParser) -> None:
    p.add_argument("spectra", nargs="+", type=Path, metavar="SPECTRA")
    _excitation_option(p)
    p.add_argument("--labels", type=Path, required=True, help="labels CSV")
    p.add_argument(
        "--n-copies",
        type=int,
        default=None,
        help="augmented copies per training spectrum (default 15; 11 with "
        "train --committee)",
    )
    p.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)


def _model_and_spectra(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=Path, metavar="MODEL_DIR")
    p.add_argument("spectra", nargs="+", type=Path, metavar="SPECTRA")
    _excitation_option(p)


def _coverage_option(default):
    """``--coverage``; ``default=None`` keeps the saved model's setting."""
    keeps = " (default: the model's setting, normally raise)" if default is None else ""

    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--coverage",
            choices=COVERAGES,
            default=default,
            help="what to do where a spectrum does not cover the network's grid: "
            "raise an error naming the missing range, repeat the edge intensity "
            "(edge: no band there, for raw spectra too) or put 0 there (fill: "
            "only for spectra whose baseline is already at 0)"
            + (keeps or f" (default {default})"),
        )

    return add


def build_parser(commands: dict) -> argparse.ArgumentParser:
    """Build the ``raman-sk`` argument parser.

    Parameters
    ----------
    commands : dict
        Subcommand name -> function of the parsed arguments (set as ``func``).

    Returns
    -------
    argparse.ArgumentParser
        The parser with the ``reproduce``, ``train``, ``evaluate``,
        ``predict`` and ``explain`` subcommands.
    """
    from raman_sk import __version__
    from raman_sk.reproduce import RECIPES

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Classify Raman spectra with a 1D CNN and explain it with "
        "Integrated Gradients.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    training, quiet = _parent(_training_options), _parent(_quiet_option)
    overwrite = _parent(_overwrite_option)
    own_data = _parent(_labelled_spectra, _coverage_option("raise"))
    saved_model = _parent(_model_and_spectra, _coverage_option(None))

    p = sub.add_parser(
        "reproduce",
        parents=[training, quiet, overwrite],
        help="evaluate, train and explain the CNN on the bundled ramanbiolib "
        "database",
        description="Evaluate the CNN on the ramanbiolib database by grouped "
        "K-fold out-of-fold predictions over every spectrum (next to the library "
        "search and a logistic regression on the same folds), ship a model "
        "trained on all of it and explain it; write figures/, model/, logs/, "
        "evaluation.json and REPORT.md under --out. --recipe seed runs the "
        "reference recipe instead (one grouped train/valid/test split, best "
        "checkpoint by validation accuracy).",
    )
    p.add_argument(
        "--recipe",
        choices=RECIPES,
        default=RECIPES[0],
        help="cv-committee (default): a committee of networks over grouped K-fold "
        "by molecule, fixed schedule, scored out of fold and trained on every "
        "spectrum; seed: the reference recipe",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("outputs"),
        help="output directory (default: outputs); must be empty or absent "
        "unless --overwrite",
    )
    p.add_argument(
        "--cv",
        type=int,
        default=None,
        metavar="K",
        help="folds of the grouped K-fold: the committee's (default 5); with "
        "--recipe seed, an extra cross-validation of the CNN pipeline (K more "
        "fits; off by default)",
    )
    p.add_argument(
        "--leaky-cnn",
        action="store_true",
        help="also train the CNN under the leaky augment-then-split protocol "
        "(a second training run)",
    )
    p.add_argument(
        "--monitor",
        choices=("valid_loss", "valid_acc"),
        default="valid_acc",
        help="--recipe seed: score that picks the best checkpoint: highest "
        "validation accuracy (the reference recipe's best_model; earliest epoch "
        "on ties, the default) or lowest validation loss",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny smoke-test run (small net, 2 epochs) producing every artefact",
    )
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="PATH",
        help="directory with the ramanbiolib CSV files (needed where the "
        "ramanbiolib package cannot be installed, e.g. Python >= 3.12)",
    )
    p.set_defaults(func=commands["reproduce"])

    p = sub.add_parser(
        "train",
        parents=[own_data, training, quiet, overwrite],
        help="train the pipeline on your spectra files",
        description="Fit resampling + cleaning + CNN on spectra files labelled by "
        "a CSV (columns file or source, label, optional group); save the pipeline "
        "and its out-of-domain checker under --out.",
    )
    p.add_argument("--out", type=Path, required=True, help="model directory")
    p.add_argument(
        "--committee",
        type=int,
        default=0,
        metavar="K",
        help="train a committee of K networks over grouped K-fold by the labels' "
        "groups, with the main job's recipe (6 epochs, 11 copies, label "
        "smoothing 0.1 unless set): its out-of-fold predictions give a "
        "calibration, prediction sets and the model-space out-of-domain check, "
        "as reproduce's best_model has. 0 (default): one network, 80 epochs, "
        "no calibration",
    )
    p.set_defaults(func=commands["train"])

    p = sub.add_parser(
        "evaluate",
        parents=[own_data, training, quiet],
        help="grouped cross-validation report on your spectra",
        description="Grouped, stratified K-fold cross-validation of the pipeline "
        "on labelled spectra files (mean and std of accuracy, macro-F1, "
        "weighted-F1).",
    )
    p.add_argument("--cv", type=int, default=5, metavar="K", help="folds (default 5)")
    p.add_argument("--out", type=Path, default=None, help="write the report as JSON")
    p.set_defaults(func=commands["evaluate"])

    p = sub.add_parser(
        "predict",
        parents=[saved_model],
        help="classify spectra files with a saved model",
        description="Predict labels, calibrated probabilities and a prediction set "
        "(classes that cannot be ruled out), name the most similar library "
        "molecule (nearest_*), and check each spectrum against the training "
        "spectra (similarity, band widths and count, the library residual, the "
        "network's own view and their combination; out_of_domain and "
        "ood_reason).",
    )
    p.add_argument("--out", type=Path, default=None, help="CSV file (default stdout)")
    p.add_argument(
        "--ood-threshold",
        type=float,
        default=None,
        metavar="R",
        help="flag spectra whose correlation with the nearest training spectrum "
        "is below R (default: the threshold saved with the model)",
    )
    p.add_argument("--device", default=None, help="torch device (default cpu)")
    p.set_defaults(func=commands["predict"])

    p = sub.add_parser(
        "explain",
        parents=[saved_model, overwrite, quiet],
        help="Integrated Gradients attributions of spectra files",
        description="Attribute each spectrum's predicted class (or --target) to "
        "wavenumbers; write attributions.csv and one figure per spectrum.",
    )
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument(
        "--target", default=None, help="class to explain (default: predicted)"
    )
    p.add_argument("--n-steps", type=int, default=50, help="IG steps (default 50)")
    p.set_defaults(func=commands["explain"])
    return parser
