"""Screen generalisation levers of the CNN, paired per fold against the default.

Each lever is a named configuration of the main job's pipeline (the same
cleaning, a :class:`~raman_sk.classifier.RamanCNNCommittee` over grouped
5-fold by molecule, ``precision="auto"``), fitted once on every spectrum with
its molecules as groups: the committee's out-of-fold probabilities give the
score of every spectrum by the member that never saw its molecule, on exactly
the folds of the default (``StratifiedGroupKFold(5, shuffle=True,
random_state=seed)``). The 1-NN cosine library search and the standard-scaled
logistic regression are scored on the same folds. Every number is out of fold;
nothing is tuned on a test fold.

Results are cached per lever (one JSON file: out-of-fold probabilities, folds,
seconds, sample-passes, CPU), so an interrupted screen resumes where it
stopped and a lever already cached is never retrained. Writes
``results/generalisation.json`` and ``results/generalisation.md``.

Usage::

    python benchmarks/bench_levers.py                      # every lever, in order
    python benchmarks/bench_levers.py --levers default epochs-12
    python benchmarks/bench_levers.py --quick --out /tmp/x  # smoke run
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_fingerprint  # noqa: E402

from raman_sk import evaluation  # noqa: E402
from raman_sk.utils._files import atomic_write, json_bytes, write_text  # noqa: E402
from raman_sk.utils._versions import cpu_info, versions  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
#: The main job's recipe (label smoothing 0.1 won the first screen).
REFERENCE = "label-smoothing-0.1"
#: The lever that changes only the members' seeds: the noise floor.
NOISE = "ls+member-seed-1"
#: The screen's cleaning: every cached lever was fitted before the cosmic-ray
#: removal joined the main job's cleaning, so the screen keeps that cleaning
#: (its cache keys hold no pipeline) and all its rows stay comparable.
DESPIKE = False
#: Label smoothing of the reference, carried by the levers built on it.
_LS = {"criterion__label_smoothing": 0.1}
#: Training sample-passes of the whole default main job (issue 15, item 6).
BUDGET = 75_000
#: The main job trains the committee plus one refit on all spectra (5 folds).
MAIN_JOB_FACTOR = 5 / 4
#: Copies of each held-out spectrum averaged by test-time augmentation.
TTA_COPIES = 10


#: The classifier changes of ``ls+mixup-0.4+bin-2`` and of the dropout-low
#: recipe (``ls+mixup-0.4+bin-2+dropout-low``, the main job's for one stop; the
#: ``current+`` levers were measured on it).
_BINNED = {**_LS, "module__input_binning": 2}
_CURRENT = {**_BINNED, "module__dropout": 0.1, "module__head_dropout": 0.2}


def _step(source, base, classifier=None, **changes):
    """Return the changes of a lever one step from the mixup lever ``source``."""
    return {
        "classifier": {**base, **(classifier or {})},
        "mixup": 0.4,
        **changes,
        "source": source,
    }


def _on_binned(classifier=None, **changes):
    """Return the changes of a lever one step from ``ls+mixup-0.4+bin-2``."""
    return _step("ls+mixup-0.4+bin-2", _BINNED, classifier, **changes)


def _on_current(classifier=None, **changes):
    """Return the changes of a lever one step from the dropout-low recipe."""
    return _step("ls+mixup-0.4+bin-2+dropout-low", _CURRENT, classifier, **changes)


#: name -> (description, changes to the default recipe). Keys: ``epochs``,
#: ``n_copies``, ``augmenter`` (extra SpectralAugmenter parameters),
#: ``classifier`` (extra RamanCNNClassifier parameters), ``member_seed`` (seed
#: of the members and the augmenter; the folds stay those of ``--seed``),
#: ``steps`` (extra cleaning steps), ``cleaning`` (make_raman_pipeline
#: options), ``pretrained``/``freeze_body``, ``head``, ``mixup``,
#: ``mixup_mode`` and ``masking`` (see _lever_nets), ``molecule_fraction``
#: (see MoleculeSubsample) and
#: ``batch_size`` (default 32), ``weight_average`` (decay of
#: _lever_nets.WeightAverage). Not part of
#: the cache key: ``source`` (the lever it is paired against besides the
#: reference) and ``cost`` (a cheaper variant of ``source``, adopted if it keeps
#: its scores rather than if it wins).
LEVERS = {
    "default": ("the recipe before label smoothing (6 epochs, 11 copies)", {}),
    "member-seed-1": (
        "the default with other member/augmenter seeds on the same folds: "
        "the seed-to-seed noise of one committee",
        {"member_seed": 1},
    ),
    "epochs-12": ("12 epochs, 11 copies", {"epochs": 12}),
    "epochs-20": ("20 epochs, 11 copies", {"epochs": 20}),
    "epochs-3": ("3 epochs, 11 copies", {"epochs": 3}),
    "shift-drift": (
        "augmentation + integer shifts up to 3 points + baseline drift 0.05",
        {"augmenter": {"shift_max": 3, "baseline_drift": 0.05}},
    ),
    "no-balanced-sampler": (
        "plain shuffling instead of the class-balanced sampler",
        {"classifier": {"balance_classes": False}},
    ),
    "label-smoothing-0.1": (
        "cross-entropy with label smoothing 0.1",
        {"classifier": {"criterion__label_smoothing": 0.1}},
    ),
    "copies-5-epochs-12": (
        "5 copies x 12 epochs (the default's cost)",
        {"n_copies": 5, "epochs": 12},
    ),
    "shift-drift-epochs-12": (
        "shifts + drift (as shift-drift) with 12 epochs",
        {"epochs": 12, "augmenter": {"shift_max": 3, "baseline_drift": 0.05}},
    ),
    "label-smoothing-0.1+shift-drift": (
        "label smoothing 0.1 and shifts + drift (as shift-drift)",
        {
            "classifier": {"criterion__label_smoothing": 0.1},
            "augmenter": {"shift_max": 3, "baseline_drift": 0.05},
        },
    ),
    "label-smoothing-0.1+no-balanced-sampler": (
        "label smoothing 0.1 and plain shuffling",
        {"classifier": {"criterion__label_smoothing": 0.1, "balance_classes": False}},
    ),
    "ls+member-seed-1": (
        "the current recipe with other member/augmenter seeds on the same folds: "
        "its seed-to-seed noise",
        {"classifier": _LS, "member_seed": 1},
    ),
    "ls+mixup-0.5": (
        "label smoothing + each copy mixed with another spectrum of its class "
        "(weight up to 0.5)",
        {"classifier": _LS, "augmenter": {"mix_within_class": 0.5}},
    ),
    "ls+broaden-3": (
        "label smoothing + Gaussian band broadening (sigma up to 3 points)",
        {"classifier": _LS, "augmenter": {"broaden_max": 3.0}},
    ),
    "ls+epochs-3": (
        "label smoothing, 3 epochs (half the cost)",
        {"classifier": _LS, "epochs": 3},
    ),
    "ls-0.2": (
        "cross-entropy with label smoothing 0.2",
        {"classifier": {"criterion__label_smoothing": 0.2}},
    ),
    "ls+derivative": (
        "label smoothing + the network sees the first derivative (Savitzky-Golay, "
        "11 points) of the cleaned spectrum, standard-normal-variate scaled",
        {"classifier": _LS, "steps": ["derivative", "snv"]},
    ),
    "ls+snv": (
        "label smoothing + standard normal variate after the min-max scaling",
        {"classifier": _LS, "steps": ["snv"]},
    ),
    "ls+dropout-high": (
        "label smoothing + more dropout (0.4 in the body, 0.6 in the head)",
        {"classifier": {**_LS, "module__dropout": 0.4, "module__head_dropout": 0.6}},
    ),
    "ls+weight-decay-1e-3": (
        "label smoothing + weight decay 1e-3 (10x the recipe's)",
        {"classifier": {**_LS, "weight_decay": 1e-3}},
    ),
    "ls+class-weighted-loss": (
        "label smoothing + cross-entropy weighted by inverse class frequency "
        "instead of the class-balanced sampler",
        {
            "classifier": {
                **_LS,
                "balance_classes": False,
                # 194 / (6 x count) for AminoAcids 13, Lipids 57, NucleicAcids 8,
                # PrimaryMetabolites 10, Proteins 76, Saccharides 30 (sorted)
                "criterion__weight": [2.487, 0.567, 4.042, 3.233, 0.425, 1.078],
            }
        },
    ),
    "ls+lr-3e-3": (
        "label smoothing + learning rate 3e-3 (3x the recipe's)",
        {"classifier": {**_LS, "lr": 3e-3}},
    ),
    "ls+copies-20-epochs-3": (
        "label smoothing, 20 copies x 3 epochs (more augmented variety, a little "
        "less cost)",
        {"classifier": _LS, "n_copies": 20, "epochs": 3},
    ),
    "ls+noise-0.03": (
        "label smoothing + noise 3x the recipe's (0.03 of the intensity range)",
        {"classifier": _LS, "augmenter": {"noise_std": 0.03}},
    ),
    "ls+hidden-64": (
        "label smoothing + a head of 64 hidden units instead of 256",
        {"classifier": {**_LS, "module__hidden": 64}},
    ),
    "ls+narrow": (
        "label smoothing + half the channels per block (16, 32, 64)",
        {"classifier": {**_LS, "module__channels": (16, 32, 64)}},
    ),
    "ls+power-1.5": (
        "label smoothing + non-linear intensity: each copy's scaled intensities "
        "raised to a power in [1/1.5, 1.5]",
        {"classifier": _LS, "augmenter": {"power_max": 1.5}},
    ),
    "ls+response-0.3": (
        "label smoothing + a smooth multiplicative spectral response within "
        "+-30 % per copy",
        {"classifier": _LS, "augmenter": {"response_drift": 0.3}},
    ),
    "ls+pretrained": (
        "label smoothing, the body and first head layer initialised from "
        "band-localisation pretraining on synthetic band mixtures "
        "(pretrain_synthetic.py), then the recipe",
        {"classifier": _LS, "pretrained": ("bands", ["features.", "classifier.1."])},
    ),
    "ls+pretrained-templates": (
        "label smoothing, the body and first head layer initialised from "
        "pretraining to tell 512 synthetic molecules apart under band "
        "perturbations (pretrain_synthetic.py --task templates), then the recipe",
        {
            "classifier": _LS,
            "pretrained": ("templates", ["features.", "classifier.1."]),
        },
    ),
    "ls+pretrained-linear-body": (
        "label smoothing, the convolutional body initialised from the band "
        "localisation pretraining with a linear head (pretrain_synthetic.py "
        "--head linear), then the recipe",
        {"classifier": _LS, "pretrained": ("bands-linear", ["features."])},
    ),
    "ls+frozen-linear-body": (
        "label smoothing, the convolutional body from the linear-head band "
        "localisation pretraining kept frozen (only the head trains), then the "
        "recipe",
        {
            "classifier": _LS,
            "pretrained": ("bands-linear", ["features."]),
            "freeze_body": True,
        },
    ),
    "ls+pretrained-body": (
        "label smoothing, only the convolutional body initialised from the "
        "synthetic pretraining, then the recipe",
        {"classifier": _LS, "pretrained": ("bands", ["features."])},
    ),
    "ls+cosine-head": (
        "label smoothing + a metric head: logits are 10 x the cosine between the "
        "embedding and one learnt prototype per class",
        {"classifier": _LS, "head": "cosine"},
    ),
    "ls+smooth-21": (
        "label smoothing + Savitzky-Golay window 21 points instead of 11 (the "
        "network sees broader, smoother bands)",
        {"classifier": _LS, "cleaning": {"smoothing_window": 21}},
    ),
    "ls+kernels-31-21-11": (
        "label smoothing + convolution kernels of 31, 21, 11 points instead of "
        "15, 11, 7 (each layer sees about twice the spectral range)",
        {"classifier": {**_LS, "module__kernel_sizes": (31, 21, 11)}},
    ),
    "ls+molecules-0.5": (
        "the recipe trained on half of each fold's training molecules per class "
        "(test parts unchanged): the learning curve in database entries",
        {"classifier": _LS, "molecule_fraction": 0.5},
    ),
    "ls+molecules-0.75": (
        "the recipe trained on three quarters of each fold's training molecules "
        "per class (test parts unchanged)",
        {"classifier": _LS, "molecule_fraction": 0.75},
    ),
    "ls+mixup-0.4": (
        "label smoothing + mixup across classes: each batch mixed with a "
        "shuffle of itself (weight ~ Beta(0.4, 0.4)), targets mixed alike",
        {"classifier": _LS, "mixup": 0.4},
    ),
    "ls+mixup-1.0": (
        "label smoothing + mixup across classes with weights ~ Beta(1, 1) "
        "(uniform: stronger mixing than 0.4)",
        {"classifier": _LS, "mixup": 1.0},
    ),
    "ls+mixup-0.4+bin-2": (
        "the current recipe (label smoothing + mixup 0.4) with the network's "
        "input binned to 2 cm-1 (pairs of points averaged before the first "
        "convolution: about half the cost of every layer)",
        {"classifier": {**_LS, "module__input_binning": 2}, "mixup": 0.4,
         "source": "ls+mixup-0.4", "cost": True},
    ),
    "ls+mixup-0.4+bin-4": (
        "the current recipe with the network's input binned to 4 cm-1 (four "
        "points averaged before the first convolution)",
        {"classifier": {**_LS, "module__input_binning": 4}, "mixup": 0.4,
         "source": "ls+mixup-0.4+bin-2", "cost": True},
    ),
    "mixup-0.4+bin-2": (
        "the current recipe without label smoothing (mixup already softens the "
        "targets)",
        {"classifier": {"module__input_binning": 2}, "mixup": 0.4,
         "source": "ls+mixup-0.4+bin-2"},
    ),
    "ls+mixup-0.4+bin-2+copies-8-epochs-8": (
        "the current recipe with 8 copies x 8 epochs (the same sample-passes as "
        "11 x 6: mixed batches may need more epochs)",
        _on_binned(n_copies=8, epochs=8),
    ),
    "ls+mixup-0.4+bin-2+batch-16": (
        "the current recipe with batches of 16 (the same sample-passes, twice "
        "the optimiser steps)",
        _on_binned(batch_size=16),
    ),
    "ls+mixup-0.4+bin-2+dropout-low": (
        "the current recipe with less dropout (0.1 in the body, 0.2 in the head: "
        "mixup already regularises)",
        _on_binned({"module__dropout": 0.1, "module__head_dropout": 0.2}),
    ),
    "ls+mixup-0.4+bin-2+hidden-512": (
        "the current recipe with a head of 512 hidden units instead of 256",
        _on_binned({"module__hidden": 512}),
    ),
    "current+no-body-dropout": (
        "the dropout-low recipe without dropout in the body (head 0.2): less "
        "dropout won once, mixup regularises every batch",
        _on_current({"module__dropout": 0.0}),
    ),
    "current+mixup-0.2": (
        "the dropout-low recipe with milder mixing, Beta(0.2, 0.2) instead of "
        "Beta(0.4, 0.4)",
        {**_on_current(), "mixup": 0.2},
    ),
    "current+ema-0.99": (
        "the dropout-low recipe, its members ending on an exponential moving "
        "average of their weights (decay 0.99 per step: about the last two "
        "epochs) instead of the last step's weights",
        _on_current(weight_average=0.99),
    ),
    "current+epochs-12": (
        "the dropout-low recipe trained 12 epochs instead of 6 (twice the "
        "compute: a point of the accuracy-vs-compute frontier)",
        _on_current(epochs=12),
    ),
    "current+member-seed-11": (
        "the dropout-low recipe with member/augmenter seed 11 on the same folds "
        "(the second member of current+seed-committee-2)",
        _on_current(member_seed=11),
    ),
    "current+member-seed-12": (
        "the dropout-low recipe with member/augmenter seed 12 on the same folds "
        "(how far one recipe's score moves with its training seeds alone)",
        _on_current(member_seed=12),
    ),
    "current+member-seed-13": (
        "the dropout-low recipe with member/augmenter seed 13 on the same folds",
        _on_current(member_seed=13),
    ),
    "ls+mixup-0.4+bin-2+member-seed-11": (
        "ls+mixup-0.4+bin-2 with member/augmenter seed 11 (with "
        "current+member-seed-11: the dropout change replicated on fresh seeds)",
        _on_binned(member_seed=11),
    ),
    "ls+mixup-0.4+bin-2+copies-5": (
        "ls+mixup-0.4+bin-2 with 5 augmented copies instead of 11 (half the "
        "sample-passes: one of two members per fold)",
        _on_binned(n_copies=5),
    ),
    "ls+mixup-0.4+bin-2+copies-5+member-seed-11": (
        "as ls+mixup-0.4+bin-2+copies-5 with member/augmenter seed 11 (the other "
        "member of two-seeds-half-copies)",
        _on_binned(n_copies=5, member_seed=11),
    ),
    "ls+mixup-0.4+bin-2+mixup-per-sample": (
        "the shipped recipe with one mixing weight per spectrum instead of one "
        "per batch (each batch's loss averages many weights: less depends on "
        "one draw)",
        _on_binned(mixup_mode="sample"),
    ),
    "ls+mixup-0.4+bin-2+mixup-within-class": (
        "the shipped recipe mixing each spectrum with one of its own class "
        "(within-class mixtures of molecules, hard targets) instead of any",
        _on_binned(mixup_mode="class"),
    ),
    "ls+mixup-0.4+bin-2+mixup-per-sample+member-seed-11": (
        "as ls+mixup-0.4+bin-2+mixup-per-sample with member/augmenter seed 11, "
        "paired with ls+mixup-0.4+bin-2+member-seed-11 (the same seeds): the "
        "lever replicated, and whether one weight per spectrum makes a fold's "
        "score depend less on the training seeds",
        {**_on_binned(mixup_mode="sample", member_seed=11),
         "source": "ls+mixup-0.4+bin-2+member-seed-11"},
    ),
    "ls+mixup-0.4+bin-2+mask-2x100": (
        "the shipped recipe with 2 windows of up to 100 cm-1 per training "
        "spectrum bridged by a straight line before mixing (bands missing: "
        "a new molecule shares only some of its class's bands)",
        _on_binned(masking=(2, 100)),
    ),
    "ls+mixup-0.4+bin-2+mask-2x100+member-seed-11": (
        "as ls+mixup-0.4+bin-2+mask-2x100 with member/augmenter seed 11 (with "
        "ls+mixup-0.4+bin-2+member-seed-11: the masking replicated on fresh "
        "seeds)",
        {**_on_binned(masking=(2, 100), member_seed=11),
         "source": "ls+mixup-0.4+bin-2+mask-2x100"},
    ),
    "ls+mixup-0.4+bin-2+member-seed-12": (
        "ls+mixup-0.4+bin-2 with member/augmenter seed 12 (the masking's second "
        "replication pairs with it)",
        _on_binned(member_seed=12),
    ),
    "ls+mixup-0.4+bin-2+mask-2x100+member-seed-12": (
        "as ls+mixup-0.4+bin-2+mask-2x100 with member/augmenter seed 12 (with "
        "ls+mixup-0.4+bin-2+member-seed-12: the masking replicated a second "
        "time)",
        {**_on_binned(masking=(2, 100), member_seed=12),
         "source": "ls+mixup-0.4+bin-2+mask-2x100"},
    ),
    "ls+mixup-0.4+bin-2+mask-4x100": (
        "the shipped recipe with 4 windows of up to 100 cm-1 per training "
        "spectrum bridged (twice the masking of mask-2x100)",
        _on_binned(masking=(4, 100)),
    ),
    "ls+mixup-0.4+bin-2+mask-2x100+noise-0.05": (
        "the shipped recipe (masked) with augmenter noise 0.05 of the intensity "
        "range instead of 0.01 (raw spectra of other instruments are noisier "
        "than the database's)",
        _step("ls+mixup-0.4+bin-2+mask-2x100", _BINNED, masking=(2, 100),
              augmenter={"noise_std": 0.05}),
    ),
    "ls+pooled-head": (
        "label smoothing + the head sees each channel's mean and maximum over the "
        "spectral axis instead of the flattened map (position-free, ~10x fewer "
        "head parameters)",
        {"classifier": _LS, "head": "pooled"},
    ),
}
#: Weights written by pretrain_synthetic.py (the ``pretrained`` levers):
#: name -> (file, the script's options that write it).
PRETRAINED = {
    "bands": ("synthetic_body.safetensors", ""),
    "templates": ("synthetic_templates.safetensors", " --task templates"),
    "bands-linear": ("synthetic_body_linear.safetensors", " --head linear"),
}
#: Extra steps a lever puts between the cleaning and the network.
STEPS = {
    "derivative": lambda: ("derivative", _savgol(deriv=1)),
    "snv": lambda: ("snv", _normalizer("snv")),
}


def _savgol(**kwargs):
    from raman_sk.preprocessing import SavitzkyGolay

    return SavitzkyGolay(window_length=11, polyorder=3, **kwargs)


def _normalizer(method):
    from raman_sk.preprocessing import SpectrumNormalizer

    return SpectrumNormalizer(method)


#: Rows derived from cached levers without training: name -> (description, how).
DERIVED = {
    "default+TTA": (
        f"the default's members, each held-out spectrum averaged over itself and "
        f"{TTA_COPIES} augmented copies (noise + scale)",
        ("tta", "default"),
    ),
    "shift-drift+TTA": (
        f"the shift-drift lever's members, each held-out spectrum averaged over "
        f"itself and {TTA_COPIES} copies with its own augmentation",
        ("tta", "shift-drift"),
    ),
    "seed-committee-2": (
        "mean probabilities of default and member-seed-1 (2 members per fold, "
        "twice the cost)",
        ("mean", "default", "member-seed-1"),
    ),
    "current+seed-committee-2": (
        "mean probabilities of the dropout-low recipe and current+member-seed-11 "
        "(2 members per fold, twice the compute: a point of the "
        "accuracy-vs-compute frontier)",
        ("mean", "ls+mixup-0.4+bin-2+dropout-low", "current+member-seed-11"),
    ),
    "two-seeds-half-copies": (
        "mean probabilities of two members per fold, each with 5 copies and its "
        "own seed (the folds' and 11): the same sample-passes as one member with "
        "11 copies, averaging out part of the training-seed noise",
        ("mean", "ls+mixup-0.4+bin-2+copies-5",
         "ls+mixup-0.4+bin-2+copies-5+member-seed-11"),
    ),
    "ls+mixup-0.4+bin-2+TTA": (
        f"the shipped recipe's members, each held-out spectrum averaged over "
        f"itself and {TTA_COPIES} augmented copies (noise + scale)",
        ("tta", "ls+mixup-0.4+bin-2"),
    ),
    "ls+mixup-0.4+bin-2+library-search-blend": (
        "the shipped recipe's probabilities, weight 0.75, averaged with the "
        "1-NN cosine library search's (one-hot) on the same folds",
        ("blend", "ls+mixup-0.4+bin-2", "1-NN cosine (library search)", 0.25),
    ),
    "ls+mixup-0.4+bin-2+class-weights": (
        "the shipped recipe's probabilities times one weight per class, chosen "
        "to maximise macro-F1 on the other folds' rows, cross-fitted (as "
        "ls+class-weights)",
        ("weights", "ls+mixup-0.4+bin-2"),
    ),
    "ls+mixup-0.4+bin-2+embedding-5nn-blend": (
        "the shipped recipe's probabilities averaged with the class shares of "
        "the 5 nearest training spectra in the member's embedding",
        ("embedding", "ls+mixup-0.4+bin-2", 5, 0.5),
    ),
    "ls+embedding-1nn": (
        "the current recipe's members (seed 1) as a metric head: the class of "
        "the nearest training spectrum in the member's normalised penultimate "
        "embedding",
        ("embedding", "ls+member-seed-1", 1, 0.0),
    ),
    "ls+library-search-blend": (
        "the current recipe's probabilities, weight 0.75, averaged with the "
        "1-NN cosine library search's (one-hot) on the same folds",
        ("blend", REFERENCE, "1-NN cosine (library search)", 0.25),
    ),
    "ls+logistic-blend": (
        "the current recipe's probabilities averaged (0.5 / 0.5) with the "
        "standard-scaled logistic regression's, fitted on the same folds",
        ("blend", REFERENCE, "logistic regression (standard-scaled)", 0.5),
    ),
    "ls+class-weights": (
        "the current recipe's probabilities times one weight per class, chosen "
        "to maximise macro-F1 on the other folds' rows (coordinate search over "
        "e^-1.5 .. e^1.5), cross-fitted: a decision rule, no training",
        ("weights", REFERENCE),
    ),
    "ls+embedding-5nn-blend": (
        "the current recipe's probabilities (seed 1) averaged with the class "
        "shares of the 5 nearest training spectra in the member's embedding",
        ("embedding", "ls+member-seed-1", 5, 0.5),
    ),
}
#: Derived rows paired against a lever other than the first they derive from.
DERIVED_AGAINST = {"two-seeds-half-copies": "ls+mixup-0.4+bin-2"}
#: lever -> its replications, each (rerun of the lever, rerun of what it is
#: paired against): the same change measured again with other member/augmenter
#: seeds on the same folds. Confirmed on the seeds both have; a lever holds
#: only if its replications, pooled over their folds, do not contradict it
#: (mean paired macro-F1 above 0, no more folds lost than won).
REPLICATIONS = {
    "ls+mixup-0.4+bin-2+dropout-low": (
        ("current+member-seed-11", "ls+mixup-0.4+bin-2+member-seed-11"),
    ),
    "ls+mixup-0.4+bin-2+mask-2x100": (
        ("ls+mixup-0.4+bin-2+mask-2x100+member-seed-11",
         "ls+mixup-0.4+bin-2+member-seed-11"),
        ("ls+mixup-0.4+bin-2+mask-2x100+member-seed-12",
         "ls+mixup-0.4+bin-2+member-seed-12"),
    ),
}
#: A recipe (the main job's when they ran) and its reruns with other
#: member/augmenter seeds.
RECIPE = "ls+mixup-0.4+bin-2+dropout-low"
RECIPE_RERUNS = (
    "current+member-seed-11", "current+member-seed-12", "current+member-seed-13",
)
#: The quick run's network and schedule.
QUICK = {
    "epochs": 2,
    "n_copies": 1,
    "cv": 3,
    "module": {
        "module__channels": (4, 8),
        "module__kernel_sizes": (5, 3),
        "module__convs_per_block": 1,
        "module__hidden": 16,
    },
}


# ------------------------------------------------------------------ config
def lever_config(name, *, seed, quick):
    """Return the full settings of a lever (what its cache key hashes)."""
    changes = LEVERS[name][1]
    base = QUICK if quick else {"epochs": 6, "n_copies": 11, "cv": 5, "module": {}}
    classifier = {**base["module"], **changes.get("classifier", {})}
    if quick and "module__kernel_sizes" in changes.get("classifier", {}):
        # the quick network has fewer blocks: one kernel per block
        n_blocks = len(QUICK["module"]["module__channels"])
        kernels = classifier["module__kernel_sizes"][:n_blocks]
        classifier["module__kernel_sizes"] = kernels
    return {
        "lever": name,
        "epochs": changes.get("epochs", base["epochs"]),
        "n_copies": changes.get("n_copies", base["n_copies"]),
        "cv": base["cv"],
        "augmenter": dict(changes.get("augmenter", {})),
        "classifier": classifier,
        "member_seed": changes.get("member_seed", seed),
        "seed": seed,
        **({"steps": list(changes["steps"])} if "steps" in changes else {}),
        **(
            {"pretrained": _pretrained_config(changes["pretrained"], quick)}
            if "pretrained" in changes
            else {}
        ),
        **({"freeze_body": True} if changes.get("freeze_body") else {}),
        **({"head": changes["head"]} if "head" in changes else {}),
        **({"cleaning": dict(changes["cleaning"])} if "cleaning" in changes else {}),
        **({"molecule_fraction": changes["molecule_fraction"]}
           if "molecule_fraction" in changes else {}),
        **({"mixup": changes["mixup"]} if "mixup" in changes else {}),
        **({"mixup_mode": changes["mixup_mode"]} if "mixup_mode" in changes else {}),
        **({"masking": list(changes["masking"])} if "masking" in changes else {}),
        **({"weight_average": changes["weight_average"]}
           if "weight_average" in changes else {}),
        "batch_size": changes.get("batch_size", 32),
    }


@functools.lru_cache(maxsize=8)
def _sha256(path, mtime_ns):
    """SHA-256 of a file, read once per version (every lever config asks)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _pretrained_config(spec, quick):
    """Which weights a pretrained lever loads: parts, file and its SHA-256."""
    task, parts = spec
    folder = PRETRAINED_QUICK if quick else RESULTS / "cache" / "pretrained"
    name, options = PRETRAINED[task]
    path = folder / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: run benchmarks/pretrain_synthetic.py{options}"
            + (f" --quick --out {folder}" if quick else "")
            + " first."
        )
    sha = _sha256(path, path.stat().st_mtime_ns)
    # relative to benchmarks/, so that the cache key is the same in every clone
    shown = path.relative_to(HERE) if path.is_relative_to(HERE) else path
    return {"parts": list(parts), "path": shown.as_posix(), "sha256": sha}


PRETRAINED_QUICK = Path(tempfile.gettempdir()) / "raman_sk_pretrained_quick"


def pretrained_cnn1d(
    n_classes, n_features=1351, *, weights, parts, freeze=False, **kwargs
):
    """Build a RamanCNN1D whose parameters named ``parts*`` start from ``weights``.

    The body (``features.``) loads through ``RamanCNN1D(pretrained=...)``; the
    head's first layer (``classifier.1.``) is the levers' own addition.
    ``freeze`` keeps the convolutional body's weights fixed (no gradient).
    """
    import safetensors.torch

    from raman_sk.models import RamanCNN1D

    net = RamanCNN1D(n_classes, n_features, pretrained=weights, **kwargs)
    head = tuple(p for p in parts if p != "features.")
    if head:
        state = safetensors.torch.load_file(weights)
        net.load_state_dict(
            {k: v for k, v in state.items() if k.startswith(head)}, strict=False
        )
    if freeze:
        net.features.requires_grad_(False)
    return net


class MoleculeSubsample:
    """Grouped folds whose training parts keep only a fraction of their molecules.

    Each fold's test part is unchanged; its training part keeps, per class,
    ``round(fraction x molecules)`` of its molecules (at least one), drawn with
    ``seed``, with all their spectra. A learning curve in molecules: what more
    database entries would be worth.
    """

    def __init__(self, cv, fraction, *, seed=0):
        self.cv, self.fraction, self.seed = cv, float(fraction), seed

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the wrapped splitter's number of folds."""
        return self.cv.get_n_splits(X, y, groups)

    def split(self, X, y, groups):
        """Yield (subsampled training rows, unchanged test rows) per fold."""
        rng = np.random.default_rng(self.seed)
        y, groups = np.asarray(y), np.asarray(groups)
        for train, test in self.cv.split(X, y, groups):
            keep = []
            for label in np.unique(y[train]):
                rows = train[y[train] == label]
                molecules = np.unique(groups[rows])
                n = max(1, round(self.fraction * molecules.size))
                chosen = rng.choice(molecules, n, replace=False)
                keep.append(rows[np.isin(groups[rows], chosen)])
            yield np.sort(np.concatenate(keep)), test


def make_pipeline(config, wavenumbers, precision):
    """Return the main job's committee pipeline with the lever's changes."""
    from sklearn.model_selection import StratifiedGroupKFold

    from raman_sk.classifier import RamanCNNClassifier, RamanCNNCommittee
    from raman_sk.pipeline import make_raman_pipeline
    from raman_sk.preprocessing import SpectralAugmenter

    seed, member_seed = config["seed"], config["member_seed"]
    augmenter = None
    if config["n_copies"]:
        augmenter = SpectralAugmenter(
            n_copies=config["n_copies"], random_state=member_seed, **config["augmenter"]
        )
    params = dict(config["classifier"])
    if "pretrained" in config:
        params["module"] = pretrained_cnn1d
        params["module__weights"] = str(HERE / config["pretrained"]["path"])
        params["module__parts"] = tuple(config["pretrained"]["parts"])
        if config.get("freeze_body"):
            params["module__freeze"] = True
    if "head" in config:
        from _lever_nets import HEADS

        params["module"] = HEADS[config["head"]]
    if "weight_average" in config:
        from _lever_nets import WeightAverage

        params["callbacks"] = [("ema", WeightAverage(config["weight_average"]))]
    if "criterion__weight" in params:  # stored as a list so that it hashes
        import torch

        params["criterion__weight"] = torch.tensor(params["criterion__weight"])
    member_class = RamanCNNClassifier
    if "mixup" in config:
        from _lever_nets import mixup_classifier

        member_class = mixup_classifier(
            config["mixup"], config.get("mixup_mode", "batch"),
            config.get("masking"))
    member = member_class(
        max_epochs=config["epochs"],
        batch_size=config["batch_size"],
        augmenter=augmenter,
        precision=precision,
        device="cpu",
        random_state=member_seed,
        restore_best=False,
        **params,
    )
    # the folds of ``seed`` whatever the members' seed
    cv = StratifiedGroupKFold(config["cv"], shuffle=True, random_state=seed)
    if "molecule_fraction" in config:
        cv = MoleculeSubsample(cv, config["molecule_fraction"], seed=seed)
    committee = RamanCNNCommittee(estimator=member, cv=cv, random_state=member_seed)
    pipe = make_raman_pipeline(wavenumbers, classifier=committee, despike=DESPIKE,
                               **config.get("cleaning", {}))
    for name in config.get("steps", []):
        pipe.steps.insert(len(pipe.steps) - 1, STEPS[name]())
    return pipe


def _ordered(committee, classes):
    order = [list(map(str, committee.classes_)).index(c) for c in classes]
    return order


def tta_proba(pipe, X, config, classes):
    """Out-of-fold probabilities averaged over augmented copies of each spectrum.

    The copies are made as in training (the lever's augmentation), on the
    network's input, and each goes to the member that never saw its molecule.
    """
    from raman_sk.preprocessing import SpectralAugmenter

    committee = pipe[-1]
    X_grid = pipe[:-1].transform(X)
    order = _ordered(committee, classes)
    out = np.zeros((X_grid.shape[0], len(classes)))
    for k, member in enumerate(committee.estimators_):
        rows = np.flatnonzero(committee.oof_fold_ == k)
        # mixing needs the labels, which a test spectrum does not have
        options = {
            k: v for k, v in config["augmenter"].items() if k != "mix_within_class"
        }
        aug = SpectralAugmenter(
            n_copies=TTA_COPIES, random_state=config["seed"] + 7, **options
        )
        X_aug, _ = aug.fit_resample(X_grid[rows])
        idx = aug.sample_indices_
        proba = np.asarray(member.predict_proba(X_aug), dtype=np.float64)[:, order]
        sums = np.zeros((rows.size, len(classes)))
        np.add.at(sums, idx, proba)
        out[rows] = sums / np.bincount(idx, minlength=rows.size)[:, None]
    return out


def sample_passes(committee):
    """Training rows times epochs, summed over the members."""
    total = 0
    for member in committee.estimators_:
        for epoch in member.history_:
            total += sum(b.get("train_batch_size", 0) for b in epoch["batches"])
    return int(total)


# ------------------------------------------------------------------- cache
def cache_path(cache_dir, config, fingerprint):
    text = json.dumps({**config, "data": fingerprint}, sort_keys=True, default=str)
    key = hashlib.sha256(text.encode()).hexdigest()[:12]
    return Path(cache_dir) / f"{config['lever']}-s{config['seed']}-{key}.json"


def fit_lever(name, data, *, seed, quick, precision, cache_dir, log):
    """Return the cached record of a lever, fitting it first if absent."""
    config = lever_config(name, seed=seed, quick=quick)
    path = cache_path(cache_dir, config, data["fingerprint"])
    if path.is_file():
        log(f"{name}: cached ({path.name})")
        return _load_embeddings(json.loads(path.read_text(encoding="utf-8")), path)
    log(f"{name}: fitting {LEVERS[name][0]}")
    pipe = make_pipeline(config, data["wavenumbers"], precision)
    start = time.perf_counter()
    pipe.fit(data["X"], data["y"], ramancnncommittee__groups=data["groups"])
    seconds = time.perf_counter() - start
    committee = pipe[-1]
    folds = evaluation.check_folds(committee.oof_fold_, data["groups"])
    order = _ordered(committee, data["classes"])
    proba = np.asarray(committee.oof_proba_, dtype=np.float64)[:, order]
    start = time.perf_counter()
    tta = tta_proba(pipe, data["X"], config, data["classes"])
    record = {
        "lever": name,
        "description": LEVERS[name][0],
        "config": config,
        "precision": precision,
        "seconds": seconds,
        "tta_seconds": time.perf_counter() - start,
        "sample_passes": sample_passes(committee),
        "folds": folds.tolist(),
        "classes": list(data["classes"]),
        "proba": np.round(proba, 6).tolist(),
        "tta_proba": np.round(tta, 6).tolist(),
        "cpu": cpu_info()["summary"],
        "versions": versions(),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    atomic_write(path, json_bytes(record))
    from raman_sk.ood import member_outputs

    X_grid = pipe[:-1].transform(data["X"])
    emb = np.stack([member_outputs(m, X_grid)[0] for m in committee.estimators_])
    np.savez_compressed(path.with_suffix(".npz"), embeddings=emb.astype(np.float16))
    record["embeddings"] = emb
    log(f"{name}: {seconds:.0f} s, {record['sample_passes']} sample-passes")
    return record


def _load_embeddings(record, path):
    """Attach the members' cached embeddings of every spectrum, when stored."""
    npz = path.with_suffix(".npz")
    if npz.is_file():
        with np.load(npz) as f:
            record["embeddings"] = f["embeddings"].astype(np.float32)
    return record


def embedding_head_proba(record, y, classes, k, blend):
    """Out-of-fold class shares of the k nearest training spectra in embedding space.

    Member ``f`` (trained without fold ``f``) embeds every spectrum; each
    held-out spectrum of fold ``f`` is compared with the spectra outside it
    (cosine: the rows are unit length). ``blend`` mixes in the CNN's own
    probabilities (0: the neighbours alone).
    """
    emb, folds = record["embeddings"], np.asarray(record["folds"])
    classes = np.asarray(classes)
    shares = np.zeros((len(y), len(classes)))
    for f in np.unique(folds):
        test, train = folds == f, folds != f
        sim = emb[f][test] @ emb[f][train].T
        nearest = np.argsort(-sim, axis=1)[:, :k]
        onehot = (y[train][:, None] == classes[None, :]).astype(float)
        shares[test] = onehot[nearest].mean(axis=1)
    return (1 - blend) * shares + blend * np.asarray(record["proba"])


# ----------------------------------------------------------------- scoring
def fold_scores(y, pred, folds):
    """Per-fold accuracy and macro-F1 (F1 over the labels present in the fold)."""
    from sklearn.metrics import accuracy_score, f1_score

    out = {"accuracy": [], "macro_f1": []}
    for k in np.unique(folds):
        t = folds == k
        out["accuracy"].append(float(accuracy_score(y[t], pred[t])))
        out["macro_f1"].append(float(f1_score(y[t], pred[t], average="macro")))
    return out


def paired(a, b):
    """Mean ± std of a - b over folds, and wins/ties/losses of a."""
    d = np.asarray(a) - np.asarray(b)
    return {
        "mean": float(d.mean()),
        "std": float(d.std()),
        "wins": int(np.sum(d > 1e-12)),
        "ties": int(np.sum(np.abs(d) <= 1e-12)),
        "losses": int(np.sum(d < -1e-12)),
    }


def score_row(name, description, pred, y, folds, classes, **extra):
    whole = evaluation.score_predictions(y, pred, labels=classes)
    per_fold = fold_scores(y, pred, folds)
    return {
        "lever": name,
        "description": description,
        "accuracy": whole["accuracy"],
        "macro_f1": whole["macro_f1"],
        "weighted_f1": whole["weighted_f1"],
        "per_class_recall": whole["per_class_recall"],
        "fold_accuracy": per_fold["accuracy"],
        "fold_macro_f1": per_fold["macro_f1"],
        **extra,
    }


def baseline_proba(data, name, folds):
    """Out-of-fold class probabilities of a baseline of the main job's report."""
    from sklearn.base import clone

    # the report and the confirmation both ask for seed 0's folds: fit once
    memo = data.setdefault("_baseline_proba", {})
    key = (name, np.asarray(folds).tobytes())
    if key in memo:
        return memo[key]
    y, classes = data["y"], list(data["classes"])
    proba = np.zeros((len(y), len(classes)))
    for k in np.unique(folds):
        train, test = folds != k, folds == k
        model = clone(evaluation.baselines()[name]).fit(data["X_grid"][train], y[train])
        order = [list(map(str, model.classes_)).index(c) for c in classes]
        proba[test] = model.predict_proba(data["X_grid"][test])[:, order]
    memo[key] = proba
    return proba


#: Weights tried per class by ``class_weight_proba`` (coordinate search).
WEIGHT_GRID = np.exp(np.linspace(-1.5, 1.5, 13))


def class_weight_proba(proba, y, classes, folds, *, rounds=3):
    """Cross-fitted per-class weights on out-of-fold probabilities.

    Each fold's rows are multiplied by weights chosen on the other folds' rows
    to maximise their macro-F1 (each class in turn over :data:`WEIGHT_GRID`,
    ``rounds`` times; ties keep the weight nearest 1), then renormalised.
    """
    from sklearn.metrics import f1_score

    out = np.empty_like(proba)
    for k in np.unique(folds):
        train = folds != k
        P, yy = proba[train], y[train]
        w = np.ones(len(classes))
        for _ in range(rounds):
            for c in range(len(classes)):
                scores = []
                for v in WEIGHT_GRID:
                    w[c] = v
                    pred = classes[(P * w).argmax(axis=1)]
                    f1 = f1_score(yy, pred, average="macro")
                    scores.append((f1, -abs(np.log(v))))
                w[c] = WEIGHT_GRID[max(range(len(WEIGHT_GRID)), key=scores.__getitem__)]
        adjusted = proba[folds == k] * w
        out[folds == k] = adjusted / adjusted.sum(axis=1, keepdims=True)
    return out


def derived_proba(how, records, data):
    """Probabilities, sample-passes and seconds of a derived row, or None.

    ``records`` maps lever names to cached records; None when a source
    lever (or the embeddings an embedding head needs) is not cached.
    """
    names = list(how[1:]) if how[0] == "mean" else [how[1]]  # cached levers
    if not all(src in records for src in names):
        return None
    srcs = [records[s] for s in names]
    cost, seconds = srcs[0]["sample_passes"], srcs[0]["seconds"]
    if how[0] == "blend":
        other = baseline_proba(data, how[2], np.asarray(srcs[0]["folds"]))
        proba = (1 - how[3]) * np.asarray(srcs[0]["proba"]) + how[3] * other
    elif how[0] == "embedding":
        if "embeddings" not in srcs[0]:
            return None
        proba = embedding_head_proba(
            srcs[0], data["y"], np.asarray(data["classes"]), how[2], how[3]
        )
    elif how[0] == "weights":
        proba = class_weight_proba(
            np.asarray(srcs[0]["proba"]), data["y"], np.asarray(data["classes"]),
            np.asarray(srcs[0]["folds"]),
        )
    elif how[0] == "tta":
        proba = np.asarray(srcs[0]["tta_proba"])
        seconds += srcs[0]["tta_seconds"]
    else:
        proba = np.mean([np.asarray(s["proba"]) for s in srcs], axis=0)
        cost = sum(s["sample_passes"] for s in srcs)
        seconds = sum(s["seconds"] for s in srcs)
    return proba, cost, seconds, srcs


def lever_rows(records, data, baseline_rows):
    """Score every lever (and the derived rows), paired against the reference."""
    y, classes = data["y"], np.asarray(data["classes"])
    rows = []

    def add(name, description, proba, folds, **extra):
        pred = classes[np.argmax(proba, axis=1)]
        rows.append(score_row(name, description, pred, y, folds, classes, **extra))

    for name, rec in records.items():
        add(
            name,
            # the code's description: a cached one may predate an edit of it
            LEVERS[name][0] if name in LEVERS else rec["description"],
            np.asarray(rec["proba"]),
            np.asarray(rec["folds"]),
            sample_passes=rec["sample_passes"],
            seconds=rec["seconds"],
            precision=rec["precision"],
            epochs=rec["config"]["epochs"],
            n_copies=rec["config"]["n_copies"],
            **_source(name),
        )
    for name, (description, how) in DERIVED.items():
        got = derived_proba(how, records, data)
        if got is None:
            continue
        proba, cost, seconds, srcs = got
        add(
            name,
            description,
            proba,
            np.asarray(srcs[0]["folds"]),
            sample_passes=cost,
            seconds=seconds,
            precision=srcs[0]["precision"],
            source=_source(name).get("source", REFERENCE),
        )
    ref = next((r for r in rows if r["lever"] == REFERENCE), None)
    for row in rows:
        if ref is not None:
            row["paired_macro_f1"] = paired(row["fold_macro_f1"], ref["fold_macro_f1"])
            row["paired_accuracy"] = paired(row["fold_accuracy"], ref["fold_accuracy"])
        row["vs_baselines"] = {
            b["lever"]: paired(row["fold_macro_f1"], b["fold_macro_f1"])
            for b in baseline_rows
        }
    noise = seed_noise(rows)
    by = {r["lever"]: r for r in rows}
    for row in rows:
        row["verdict"] = verdict(row, ref, noise)
        base = row["lever"].split("+")[0]
        if "source" not in row and base != row["lever"] and base in by:
            row["source"] = base  # a combination, against its first component
        if "source" in row and row["source"] != REFERENCE:
            p = paired(row["fold_macro_f1"], by[row["source"]]["fold_macro_f1"])
            row["paired_macro_f1_vs_source"] = p
            row["verdict"] += f" Against `{row['source']}` alone: {_pm(p)} ({_wtl(p)})."
    return rows


def _changes(name):
    """Return a lever's changes ({} for a derived row)."""
    return LEVERS.get(name, ("", {}))[1]


def _source(name):
    """``{"source": lever}`` for a row measured against another lever.

    A derived row is measured against the first lever it is derived from.
    """
    if name in DERIVED:
        source = DERIVED_AGAINST.get(name, DERIVED[name][1][1])
    else:
        source = _changes(name).get("source")
    return {"source": source} if source and source != REFERENCE else {}


def seed_noise(rows):
    """Root-mean-square per-fold macro-F1 change from the members' seeds alone."""
    ref = next((r for r in rows if r["lever"] == REFERENCE), None)
    other = next((r for r in rows if r["lever"] == NOISE), None)
    if ref is None or other is None:
        return None
    d = np.subtract(other["fold_macro_f1"], ref["fold_macro_f1"])
    return float(np.sqrt(np.mean(d**2)))


def verdict(row, ref, noise=None):
    """One sentence: adopt only on a paired macro-F1 win without losing accuracy."""
    if ref is None or row["lever"] == REFERENCE:
        return "reference row."
    pm, pa = row["paired_macro_f1"], row["paired_accuracy"]
    wins = pm["mean"] > 0 and pm["wins"] > pm["losses"]
    keeps_acc = pa["mean"] >= 0
    head = (
        f"paired macro-F1 {pm['mean']:+.3f} ± {pm['std']:.3f} "
        f"({pm['wins']}/{pm['ties']}/{pm['losses']}), accuracy {pa['mean']:+.3f}"
    )
    notes = []
    if noise is not None and row["lever"] != NOISE and abs(pm["mean"]) <= noise:
        notes.append(f"within the seed noise ({noise:.3f})")
    main_job = row["sample_passes"] * MAIN_JOB_FACTOR
    if main_job > BUDGET:
        notes.append(f"main job {main_job:,.0f} sample-passes, over the {BUDGET:,}")
    tail = f" ({'; '.join(notes)})" if notes else ""
    if row["lever"] == NOISE:
        return f"the seed-noise reference: {head}."
    if wins and keeps_acc and notes:
        return f"nominal win only{tail}: {head}."
    if wins and keeps_acc:
        return f"wins: {head}."
    if wins:
        return f"not adopted, loses accuracy{tail}: {head}."
    return f"does not win{tail}: {head}."


def baselines_on_folds(data, X_grid, folds):
    rows = []
    for name, est in evaluation.baselines().items():
        pred, seconds = evaluation.fold_predictions(est, X_grid, data["y"], folds)
        rows.append(
            score_row(
                name, name, pred, data["y"], folds, data["classes"], seconds=seconds
            )
        )
    return rows


def _cached_record(name, seed, data, cache_dir, quick):
    """Return the cached record of a lever for a seed, or None."""
    try:
        config = lever_config(name, seed=seed, quick=quick)
    except FileNotFoundError:  # pretrained weights not made: never run
        return None
    path = cache_path(cache_dir, config, data["fingerprint"])
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def confirmations(data, cache_dir, quick, seeds=range(10)):
    """Levers cached on two or more seeds, paired per fold against the reference.

    Each seed has its own folds; the lever and the reference of a seed share
    them, so the per-fold differences pool over the seeds.
    """
    y, classes = data["y"], np.asarray(data["classes"])
    rows = []

    def seed_proba(name, seed):
        if name in LEVERS:
            rec = _cached_record(name, seed, data, cache_dir, quick)
            return None if rec is None else (rec["proba"], rec["folds"])
        how = DERIVED[name][1]
        names = list(how[1:]) if how[0] == "mean" else [how[1]]
        recs = {n: _cached_record(n, seed, data, cache_dir, quick) for n in names}
        if any(r is None for r in recs.values()):
            return None
        if how[0] == "embedding":
            recs = {
                n: _load_embeddings(r, cache_path(
                    cache_dir, lever_config(n, seed=seed, quick=quick),
                    data["fingerprint"],
                ))
                for n, r in recs.items()
            }
        got = derived_proba(how, recs, data)
        return None if got is None else (got[0], got[3][0]["folds"])

    pairs = [(name, _source(name).get("source", REFERENCE), False)
             for name in [*LEVERS, *DERIVED] if name != REFERENCE]
    pairs += [(*pair, lever) for lever, reps in REPLICATIONS.items()
              for pair in reps]
    for name, against, replication in pairs:
        scores = {"lever": [], "reference": []}
        used = []
        for seed in seeds:
            got = [seed_proba(n, seed) for n in (name, against)]
            if any(g is None for g in got):
                continue
            used.append(seed)
            for key, (proba, folds) in zip(scores, got, strict=True):
                pred = classes[np.argmax(np.asarray(proba), axis=1)]
                scores[key].append(fold_scores(y, pred, np.asarray(folds)))
        if len(used) < 2:
            continue

        def pooled(key, metric, scores=scores):
            return [v for s in scores[key] for v in s[metric]]

        rows.append({
            "lever": name,
            "against": against,
            "replication": replication or None,
            "seeds": used,
            "n_folds": len(pooled("lever", "macro_f1")),
            **{
                f"mean_{m}": float(np.mean(pooled("lever", m)))
                for m in ("macro_f1", "accuracy")
            },
            **{
                f"reference_mean_{m}": float(np.mean(pooled("reference", m)))
                for m in ("macro_f1", "accuracy")
            },
            **{
                f"paired_{m}": paired(pooled("lever", m), pooled("reference", m))
                for m in ("macro_f1", "accuracy")
            },
        })  # fmt: skip
    return rows


def mixup_runs(data, cache_dir, quick, seeds=range(10)):
    """Out-of-fold predicted labels of every cached run of a mixup lever.

    Returns ``(names, predictions)``: one ``"lever seed N"`` and one label array
    per run, for every lever that trains with mixup (the shipped recipe and
    its variants).
    """
    classes = np.asarray(data["classes"])
    names, preds = [], []
    for name in LEVERS:
        if "mixup" not in _changes(name):
            continue
        for seed in seeds:
            rec = _cached_record(name, seed, data, cache_dir, quick)
            if rec is not None:
                names.append(f"{name} seed {seed}")
                preds.append(classes[np.argmax(np.asarray(rec["proba"]), axis=1)])
    return names, preds


def hard_spectra(preds, data, *, share=0.9):
    """Spectra that at least ``share`` of the runs classify wrongly.

    Per spectrum: its molecule and class, the share of runs that got it wrong,
    the class they answered most and the nearest library spectrum of another
    molecule (cosine on the network's input grid ``data["X_grid"]``), as a
    library search that never saw the molecule would answer. Sorted by share,
    then molecule.
    """
    y, groups = data["y"], data["groups"]
    preds = np.asarray(preds)
    wrong = (preds != y[None, :]).mean(axis=0)
    X = np.asarray(data["X_grid"], dtype=np.float64)
    X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    rows = []
    for i in np.flatnonzero(wrong >= share - 1e-12):
        answers, counts = np.unique(preds[:, i][preds[:, i] != y[i]],
                                    return_counts=True)
        sim = X @ X[i]
        sim[groups == groups[i]] = -np.inf
        j = int(np.argmax(sim))
        rows.append({
            "molecule": str(groups[i]),
            "class": str(y[i]),
            "share_wrong": float(wrong[i]),
            "answered": str(answers[np.argmax(counts)]),
            "nearest_molecule": str(groups[j]),
            "nearest_class": str(y[j]),
            "nearest_similarity": float(sim[j]),
        })  # fmt: skip
    return sorted(rows, key=lambda r: (-r["share_wrong"], r["molecule"]))


def hard_spectra_lines(rows, n_runs, n_spectra, accuracy_goal=0.91):
    """Markdown for :func:`hard_spectra`: the errors no recipe has fixed."""
    if not rows:
        return []
    allowed = int(np.floor((1.0 - accuracy_goal) * n_spectra + 1e-9))
    same = sum(r["nearest_class"] == r["answered"] for r in rows)
    lines = [
        "",
        "## Spectra every recipe gets wrong",
        "",
        f"{len(rows)} of {n_spectra} spectra are wrong in at least 90 % of the "
        f"{n_runs} cached runs of the mixup recipes (every seed and lever "
        f"above). Accuracy {accuracy_goal:.2f} allows {allowed} wrong "
        f"spectra. For {same} of them the nearest library spectrum of another "
        "molecule (cosine on the network's input) is of the class the network "
        "answers: the spectrum looks like that class, whatever its label.",
        "",
        "| molecule | class | runs wrong | answered most | nearest other "
        "molecule (class, cosine) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['molecule']} | {r['class']} | {100 * r['share_wrong']:.0f} % | "
            f"{r['answered']} | {r['nearest_molecule']} ({r['nearest_class']}, "
            f"{r['nearest_similarity']:.2f}) |"
        )
    return lines


def confirmation_lines(rows):
    if not rows:
        return []
    lines = [
        "",
        "## Confirmation on more seeds",
        "",
        f"Levers cached on several seeds (each seed its own grouped folds), "
        f"paired per fold against `{REFERENCE}` (or the lever named) on the same "
        "folds; means over all folds of those seeds.",
        "",
        "| lever | seeds | folds | macro-F1 (reference) | paired Δ macro-F1 | W/T/L "
        "| accuracy (reference) | paired Δ accuracy | W/T/L |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        pm, pa = r["paired_macro_f1"], r["paired_accuracy"]
        lever = r["lever"] if r.get("against", REFERENCE) == REFERENCE else (
            f"{r['lever']} (against `{r['against']}`)"
        )
        lines.append(
            f"| {lever} | {' '.join(map(str, r['seeds']))} | {r['n_folds']} | "
            f"{r['mean_macro_f1']:.3f} ({r['reference_mean_macro_f1']:.3f}) | "
            f"{_pm(pm)} | {_wtl(pm)} | {r['mean_accuracy']:.3f} "
            f"({r['reference_mean_accuracy']:.3f}) | {_pm(pa)} | {_wtl(pa)} |"
        )
    return lines + recipe_rerun_lines(rows)


def _pooled(reps):
    """Paired macro-F1 of replications pooled over their folds.

    Returns (mean over every fold, wins, losses, folds).
    """
    n = [r.get("n_folds", 1) for r in reps]
    mean = sum(k * r["paired_macro_f1"]["mean"] for k, r in zip(n, reps, strict=True))
    wins = sum(r["paired_macro_f1"]["wins"] for r in reps)
    losses = sum(r["paired_macro_f1"]["losses"] for r in reps)
    return mean / sum(n), wins, losses, sum(n)


def _replicates(reps):
    """Whether replications agree, pooled over their folds.

    Paired macro-F1 up on average over every replication fold and no more folds
    lost than won. Pooled, not one by one: requiring each to agree alone would
    make a lever less likely to hold the more replications it gets.
    """
    mean, wins, losses, _ = _pooled(reps)
    return mean > 0 and wins >= losses


def _replications_text(reps):
    """Each replication's paired scores, then their pooled macro-F1."""
    text = "; ".join(
        f"`{r['lever']}` against `{r['against']}` on {r['n_folds']} folds, paired "
        f"macro-F1 {_pm(r['paired_macro_f1'])} ({_wtl(r['paired_macro_f1'])}), "
        f"accuracy {_pm(r['paired_accuracy'])} ({_wtl(r['paired_accuracy'])})"
        for r in reps
    )
    if len(reps) > 1:
        mean, wins, losses, n = _pooled(reps)
        text += (f" (pooled over the {n} folds: {mean:+.3f}, {wins} won, "
                 f"{losses} lost)")
    return text


def _recipe_reruns(rows):
    """Return the confirmation rows of ``RECIPE``'s reruns on their shared seeds."""
    reruns = [r for r in rows if r["lever"] in RECIPE_RERUNS
              and r["against"] == RECIPE and not r.get("replication")]
    seeds = sorted({s for r in reruns for s in r["seeds"]})
    return [r for r in reruns if r["seeds"] == seeds]


def recipe_rerun_lines(rows):
    """Return the table of the recipe against its reruns with other seeds."""
    reruns = _recipe_reruns(rows)
    if not reruns:
        return []
    seeds = reruns[0]["seeds"]
    means = [reruns[0]["reference_mean_macro_f1"]]
    means += [r["mean_macro_f1"] for r in reruns]
    lines = [
        "",
        "## One recipe with other training seeds",
        "",
        f"`{RECIPE}` (its members and augmenter seeded with the folds' seed) "
        "against reruns with other member/augmenter seeds on the same folds "
        f"(seeds {' '.join(map(str, seeds))}): the spread of one recipe's mean "
        "over these folds from its training seeds alone.",
        "",
        "| run | macro-F1 | paired Δ macro-F1 | W/T/L | accuracy "
        "| paired Δ accuracy | W/T/L |",
        "|---|---|---|---|---|---|---|",
        f"| {RECIPE} | {reruns[0]['reference_mean_macro_f1']:.3f} | – | – | "
        f"{reruns[0]['reference_mean_accuracy']:.3f} | – | – |",
    ]
    for r in reruns:
        pm, pa = r["paired_macro_f1"], r["paired_accuracy"]
        lines.append(
            f"| {r['lever']} | {r['mean_macro_f1']:.3f} | {_pm(pm)} | {_wtl(pm)} | "
            f"{r['mean_accuracy']:.3f} | {_pm(pa)} | {_wtl(pa)} |"
        )
    lines += [
        "",
        f"Mean macro-F1 of the {len(means)} runs {np.mean(means):.3f}, standard "
        f"deviation between runs {np.std(means, ddof=1):.3f}, range "
        f"{min(means):.3f}-{max(means):.3f}.",
    ]
    return lines


# ----------------------------------------------------------------- output
def _pm(p):
    return f"{p['mean']:+.3f} ± {p['std']:.3f}"


def _wtl(p):
    return f"{p['wins']}/{p['ties']}/{p['losses']}"


def summary_lines(rows, confirmed=None):
    """Accuracy vs epochs, the seed-noise floor and the levers that won."""
    by = {r["lever"]: r for r in rows}
    lines = []
    # separately trained schedules: without label smoothing, and with it
    curves = {
        "no label smoothing": ("default", "epochs-"),
        "label smoothing 0.1": (REFERENCE, "ls+epochs-"),
    }
    table = []
    for label, (six, prefix) in curves.items():
        for r in rows:
            if r["lever"] == six or r["lever"].startswith(prefix):
                table.append((label, r))
    if len(table) > 1:
        lines += [
            "",
            "## Accuracy vs epochs (11 copies, each its own schedule, out of fold)",
            "",
            "| loss | epochs | accuracy | macro-F1 | paired Δ macro-F1 "
            "| sample-passes |",
            "|---|---|---|---|---|---|",
        ]
        for label, r in sorted(table, key=lambda t: (t[0], t[1]["epochs"])):
            lines.append(
                f"| {label} | {r['epochs']} | {r['accuracy']:.3f} | "
                f"{r['macro_f1']:.3f} | {_pm(r['paired_macro_f1'])} | "
                f"{r['sample_passes']:,} |"
            )
    lines += ["", "## Recommendation", ""]
    noise = by.get(NOISE)
    if noise is not None:
        p = noise["paired_macro_f1"]
        lines.append(
            f"Seed noise: `{REFERENCE}` (before mixup) with other member seeds moves "
            f"macro-F1 by {_pm(p)} per fold ({_wtl(p)}) and accuracy by "
            f"{_pm(noise['paired_accuracy'])}; a lever whose paired difference is "
            "not clearly beyond that is not distinguishable from noise on 1 x 5."
        )
        shifts = [abs(c["paired_macro_f1"]["mean"])
                  for c in _recipe_reruns(confirmed or [])]
        if shifts:
            lines.append(
                f"With mixup each batch draws its own mixing: `{RECIPE}` rerun with "
                "other member seeds on the same folds moves its mean macro-F1 by up "
                f"to {max(shifts):.3f} (section below), so a gain measured on one "
                "draw of the training seeds is a measurement of the lever only if "
                "it replicates on another."
            )
        lines.append("")
    # seeds, not levers
    reruns = set(RECIPE_RERUNS).union(*(p for v in REPLICATIONS.values() for p in v))
    won = [
        r["lever"]
        for r in rows
        if r["lever"] not in (REFERENCE, NOISE) and r["lever"] not in reruns
        and r["verdict"].startswith("wins:")
        and r.get("paired_macro_f1_vs_source", {"mean": 1})["mean"] > 0
    ]
    # a screen winner checked on more seeds stays a winner only if it holds there
    checked = {c["lever"]: c for c in confirmed or [] if not c.get("replication")}
    replications = {}  # lever -> its confirmed replications
    for c in confirmed or []:
        if c.get("replication"):
            replications.setdefault(c["replication"], []).append(c)
    noise_level = seed_noise(rows) or 0.0
    for name in [n for n in checked if _changes(n).get("cost")]:
        if name in won:
            won.remove(name)  # judged on keeping its source's scores, below
        lines += [_cost_line(name, checked[name], by, noise_level), ""]
    # a step from a named lever is decided by its confirmation, whatever its
    # seed-0 screen said
    screen_won = set(won)
    won += [n for n in checked if _source(n) and n not in won
            and not _changes(n).get("cost") and n not in reruns]
    for name in [w for w in won if w in checked]:
        c = checked[name]
        pm, pa = c["paired_macro_f1"], c["paired_accuracy"]
        # beyond the seed noise and twice its own standard error over the folds
        margin = _margin(pm, c["n_folds"], noise_level)
        holds = pm["mean"] > margin and pm["wins"] > pm["losses"] and pa["mean"] >= 0
        reps = replications.get(name, [])
        if holds and reps and not _replicates(reps):
            won.remove(name)
            lines += [
                f"`{name}` holds on {c['n_folds']} folds of {len(c['seeds'])} seeds "
                f"(paired macro-F1 {_pm(pm)}, {_wtl(pm)}) but does not replicate "
                f"with other member seeds: {_replications_text(reps)}; its gain was "
                "a draw of the training seeds, the recipe before it stays.",
                "",
            ]
        elif not holds:
            won.remove(name)
            lines.append(
                f"`{name}`"
                + (" won the screen but" if name in screen_won else "")
                + f" does not hold on {c['n_folds']} folds "
                f"of {len(c['seeds'])} seeds"
                + ("" if c.get("against", REFERENCE) == REFERENCE
                   else f" against `{c['against']}`")
                + f": paired macro-F1 {_pm(pm)} ({_wtl(pm)}; "
                f"needs more than {margin:+.3f}), accuracy {_pm(pa)} ({_wtl(pa)}); "
                "the recipe stays."
            )
            lines.append("")
    unchecked = [w for w in won if w not in checked]
    if unchecked:
        lines.append(
            "Won the screen (paired macro-F1 up beyond the seed noise, accuracy not "
            "down, within the budget), not yet checked on more seeds: "
            + ", ".join(f"`{w}`" for w in unchecked)
            + ". Confirm on 3 seeds x 5 folds before changing a default."
        )
        lines.append("")
    held = [by[w] for w in won if w in checked]
    for r in [r for r in held if _source(r["lever"])]:
        c = checked[r["lever"]]
        pm, pa = c["paired_macro_f1"], c["paired_accuracy"]
        reps = replications.get(r["lever"], [])
        lines += [
            f"**Adopt `{r['lever']}`** on top of `{c['against']}` "
            f"({r['description']}): it holds on {c['n_folds']} folds of "
            f"{len(c['seeds'])} seeds, paired macro-F1 {_pm(pm)} ({_wtl(pm)}), "
            f"accuracy {_pm(pa)} ({_wtl(pa)})"
            + ("." if not reps else
               f", and replicates with other member seeds: "
               f"{_replications_text(reps)}."),
            "",
        ]
    held = [r for r in held if not _source(r["lever"])]
    if held:
        lines += adoption_lines(held, seed_noise(rows))
    elif not won:
        lines.append("No lever won the screen and held: keep the current recipe.")
    return lines


def _margin(paired_macro_f1, n_folds, noise_level):
    """Return the bar: the seed noise or twice the paired mean's standard error."""
    return max(noise_level, 2 * paired_macro_f1["std"] / np.sqrt(n_folds))


def _cost_line(name, c, by, noise_level):
    """Verdict of a cost lever: cheaper, and its source's scores kept."""
    pm, pa = c["paired_macro_f1"], c["paired_accuracy"]
    margin = _margin(pm, c["n_folds"], noise_level)
    keeps = (pm["mean"] >= -margin and pm["wins"] >= pm["losses"]
             and pa["mean"] >= -noise_level)
    row, source = by.get(name), by.get(c["against"])
    time = ""
    if row is not None and source is not None and source["seconds"]:
        time = f" in {row['seconds'] / source['seconds']:.2f} of its time (seed 0)"
    head = (
        f"`{name}` (a cost lever) against `{c['against']}` on {c['n_folds']} folds "
        f"of {len(c['seeds'])} seeds: paired macro-F1 {_pm(pm)} ({_wtl(pm)}; a "
        f"loss beyond {-margin:+.3f} or more lost folds than won would count), "
        f"accuracy {_pm(pa)} "
        f"({_wtl(pa)}){time}: "
    )
    if keeps:
        return head + "keeps the scores at a lower cost; adopt it for its cost."
    return head + "does not keep the scores; keep the more expensive recipe."


def adoption_lines(won, noise):
    """Name the lever to adopt: the largest paired single win.

    A combination replaces it only if it beats that lever by more than the
    seed noise, in more folds than it loses.
    """
    singles = [r for r in won if "source" not in r]
    if not singles:
        return []
    best = max(singles, key=lambda r: r["paired_macro_f1"]["mean"])
    lines = []
    for r in won:
        p = r.get("paired_macro_f1_vs_source")
        if p is None or r["source"] != best["lever"]:
            continue
        beyond = (noise is None or p["mean"] > noise) and p["wins"] > p["losses"]
        lines.append(
            f"`{r['lever']}` against `{best['lever']}` alone: {_pm(p)} per fold "
            f"({_wtl(p)}), accuracy {r['accuracy'] - best['accuracy']:+.3f} over "
            "the database: "
            + (
                "a win beyond the seed noise."
                if beyond
                else "no win beyond the seed noise (mean within it or W <= L)."
            )
        )
        if beyond and r["paired_macro_f1"]["mean"] > best["paired_macro_f1"]["mean"]:
            best = r
    pm, pa = best["paired_macro_f1"], best["paired_accuracy"]
    lines += [
        "",
        f"**Adopt `{best['lever']}`** ({best['description']}): macro-F1 "
        f"{best['macro_f1']:.3f} and accuracy {best['accuracy']:.3f} over the "
        f"database, paired {_pm(pm)} macro-F1 ({_wtl(pm)}) and {_pm(pa)} accuracy "
        "per fold against the default, at the default's cost.",
    ]
    return lines


def markdown(rows, baseline_rows, meta, confirmed=None, hard=None):
    b_names = [b["lever"] for b in baseline_rows]
    short = {b_names[0]: "1-NN", b_names[1]: "LogReg"} if len(b_names) == 2 else {}
    lines = [
        "# Generalisation levers of the CNN (issue 15, item 4)",
        "",
        f"Grouped {meta['cv']}-fold by molecule over all {meta['n_spectra']} spectra "
        f"(seed {meta['seed']}: `StratifiedGroupKFold({meta['cv']}, shuffle=True, "
        f"random_state={meta['seed']})`, exactly the committee's folds), every "
        "number out of fold. Each lever is the main job's pipeline (same cleaning, a "
        "committee of one network per fold) with one change, fitted once; "
        f"precision `{meta['precision']}`. Paired differences are lever minus "
        f"`{REFERENCE}` (the main job's recipe), per fold (mean ± std over the "
        "folds; W/T/L = folds won, tied, lost on macro-F1). Per-fold macro-F1 "
        "averages the classes present in the fold; the whole-database columns "
        "use all classes. Sample-passes: training rows x epochs summed over the "
        "committee's members (the main job adds one refit on all spectra, +25 % "
        "for 5 folds; its budget is 75,000 in all). "
        "Adopt a lever only if it wins on paired macro-F1 and does not lose "
        "accuracy; 1 seed x 5 folds is a screen, winners need the 3 x 5 check.",
        "",
        f"CPU: {meta['cpu']}. Generated by `python benchmarks/bench_levers.py` "
        f"({meta['generated']}).",
        "",
        "| lever | accuracy | macro-F1 | weighted-F1 | per-fold macro-F1 | "
        "paired Δ macro-F1 | W/T/L | paired Δ accuracy | "
        + " | ".join(f"W/T/L vs {short.get(n, n)}" for n in b_names)
        + " | sample-passes | seconds |",
        "|---|---|---|---|---|---|---|---|" + "---|" * len(b_names) + "---|---|",
    ]
    for r in rows:
        pm = r.get("paired_macro_f1")
        pa = r.get("paired_accuracy")
        folds = " ".join(f"{v:.2f}" for v in r["fold_macro_f1"])
        vs = " | ".join(_wtl(r["vs_baselines"][n]) for n in b_names)
        lines.append(
            f"| {r['lever']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | "
            f"{r['weighted_f1']:.3f} | {folds} | {_pm(pm) if pm else ''} | "
            f"{_wtl(pm) if pm else ''} | {_pm(pa) if pa else ''} | {vs} | "
            f"{r['sample_passes']:,} | {r['seconds']:.0f} |"
        )
    for b in baseline_rows:
        folds = " ".join(f"{v:.2f}" for v in b["fold_macro_f1"])
        lines.append(
            f"| {b['lever']} | {b['accuracy']:.3f} | {b['macro_f1']:.3f} | "
            f"{b['weighted_f1']:.3f} | {folds} | | | | "
            + " | ".join("" for _ in b_names)
            + f" | 0 | {b['seconds']:.1f} |"
        )
    lines += ["", "## Levers", ""]
    for r in rows:
        lines.append(f"- **{r['lever']}** ({r['description']}): {r['verdict']}")
    lines += summary_lines(rows, confirmed)
    lines += confirmation_lines(confirmed or [])
    if hard:
        lines += hard_spectra_lines(hard["spectra"], hard["n_runs"],
                                    meta["n_spectra"])
    lines += ["", "## Per-class recall (whole database)", ""]
    classes = list(rows[0]["per_class_recall"]) if rows else []
    lines.append("| lever | " + " | ".join(classes) + " |")
    lines.append("|---|" + "---|" * len(classes))
    for r in [*rows, *baseline_rows]:
        rec = " | ".join(f"{r['per_class_recall'][c]:.2f}" for c in classes)
        lines.append(f"| {r['lever']} | {rec} |")
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--levers",
        nargs="*",
        default=None,
        help=f"levers to run, in order (default: all: {', '.join(LEVERS)})",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the folds")
    p.add_argument(
        "--quick",
        action="store_true",
        help="~60 spectra, tiny network, 2 epochs, 3 folds",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=RESULTS,
        help="folder of generalisation.json/.md (default: results/)",
    )
    p.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="cache folder (default: <out>/cache/levers)",
    )
    p.add_argument(
        "--stop-after",
        default=None,
        help="stop once this lever is cached (one lever per call)",
    )
    p.add_argument(
        "--report-only",
        action="store_true",
        help="write the tables from the cache, train nothing",
    )
    return p.parse_args(argv)


def load(quick, seed):
    from raman_sk.datasets import load_ramanbiolib

    bunch = load_ramanbiolib()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target).astype(str)
    groups = np.asarray(bunch.groups).astype(str)
    if quick:
        from _common import load_data

        X, y, groups, _ = load_data(quick=True, seed=seed)
    return {
        "X": X,
        "y": y,
        "groups": groups,
        "wavenumbers": np.asarray(bunch.wavenumbers, dtype=np.float64),
        "classes": [str(c) for c in np.unique(y)],
        "fingerprint": data_fingerprint(X, y),
    }


def main(argv=None):
    args = parse_args(argv)
    from raman_sk.utils._torch import auto_precision

    def log(msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    precision = auto_precision("cpu")
    data = load(args.quick, args.seed)
    cache_dir = args.cache or args.out / "cache" / "levers"
    names = list(LEVERS) if args.levers is None else args.levers
    unknown = sorted(set(names) - set(LEVERS))
    if unknown:
        raise SystemExit(f"unknown levers {unknown}; known: {list(LEVERS)}")
    if REFERENCE not in names:
        names = [REFERENCE, *names]
    records = {}
    for name in names:
        if args.report_only:
            break  # the loop below reads every cached lever
        records[name] = fit_lever(
            name,
            data,
            seed=args.seed,
            quick=args.quick,
            precision=precision,
            cache_dir=cache_dir,
            log=log,
        )
        if name == args.stop_after:
            break
    # the report always covers every lever cached for this seed, not only the
    # ones asked for in this run
    for name in LEVERS:
        try:
            config = lever_config(name, seed=args.seed, quick=args.quick)
        except FileNotFoundError:  # pretrained weights not made yet: not run
            continue
        path = cache_path(cache_dir, config, data["fingerprint"])
        if name not in records and path.is_file():
            records[name] = _load_embeddings(
                json.loads(path.read_text(encoding="utf-8")), path
            )
    return write_results(records, data, args, precision)


def write_results(records, data, args, precision):
    """Score what is cached so far and write the JSON and Markdown tables."""
    from raman_sk.pipeline import make_raman_pipeline

    if not records:
        return None
    folds = np.asarray(next(iter(records.values()))["folds"])
    prep = make_raman_pipeline(data["wavenumbers"], despike=DESPIKE)[:-1]
    X_grid = prep.fit_transform(data["X"])
    data = {**data, "X_grid": X_grid}
    baseline_rows = baselines_on_folds(data, X_grid, folds)
    rows = lever_rows(records, data, baseline_rows)
    meta = {
        "seed": args.seed,
        "cv": next(iter(records.values()))["config"]["cv"],
        "n_spectra": int(len(data["y"])),
        "precision": precision,
        "cpu": cpu_info()["summary"],
        "quick": bool(args.quick),
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "versions": versions(),
    }
    cache_dir = args.cache or args.out / "cache" / "levers"
    confirmed = confirmations(data, cache_dir, args.quick, seeds=range(10))
    runs, preds = mixup_runs(data, cache_dir, args.quick)
    hard = {"n_runs": len(runs),
            "spectra": hard_spectra(preds, data) if runs else []}
    out = {
        "meta": meta,
        "levers": rows,
        "baselines": baseline_rows,
        "confirmations": confirmed,
        "hard_spectra": hard,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write(args.out / "generalisation.json", json_bytes(out))
    write_text(
        args.out / "generalisation.md",
        markdown(rows, baseline_rows, meta, confirmed, hard),
    )
    return out


if __name__ == "__main__":
    main()
