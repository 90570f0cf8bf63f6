"""The scikit-learn classifier of raman_sk and its skorch callbacks."""

from ._classifier import RamanCNNClassifier
from .callbacks import BestWeights, EpochProgress, FinalWeights, ValidAccuracy

__all__ = [
    "BestWeights",
    "EpochProgress",
    "FinalWeights",
    "RamanCNNClassifier",
    "ValidAccuracy",
]
