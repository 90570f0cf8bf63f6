"""Networks and explainers shared by the raman_sk.explain test modules."""

import re

from sklearn.pipeline import make_pipeline

from raman_sk.classifier import RamanCNNClassifier
from raman_sk.explain import IGExplainer
from raman_sk.preprocessing import WavenumberResampler
from tests._helpers import TINY_NET

#: Enough epochs for the tiny network to find the synthetic classes' bands.
TRAIN = {"max_epochs": 25, "lr": 1e-2, "batch_size": 8, "n_threads": 1, **TINY_NET}


def train_cnn(synthetic, **params):
    """Return a small CNN trained on the synthetic spectra (identity resampler)."""
    w = synthetic.wavenumbers
    clf = RamanCNNClassifier(random_state=0, **{**TRAIN, **params})
    pipe = make_pipeline(WavenumberResampler(wavenumbers=w, target_wavenumbers=w), clf)
    return pipe.fit(synthetic.data, synthetic.target)


def fit_explainer(cnn, synthetic):
    """Return the explainer most tests read: 4 spectra per class, 32 steps."""
    return IGExplainer(
        cnn, n_steps=32, n_per_class=4, random_state=0, tolerance=0.05
    ).fit(synthetic.data, synthetic.target)


def invalid(name, bad, caller="IGExplainer"):
    """Return the regex of sklearn's message for ``name=bad`` of ``caller``."""
    return rf"'{name}' parameter of {caller} .* Got {re.escape(repr(bad))} instead"
