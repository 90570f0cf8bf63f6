"""The scikit-learn classifier of raman_sk, its committee and its skorch callbacks."""

from ._classifier import RamanCNNClassifier
from ._committee import RamanCNNCommittee
from .callbacks import BestWeights, EpochProgress, FinalWeights, ValidAccuracy

__all__ = [
    "BestWeights",
    "EpochProgress",
    "FinalWeights",
    "RamanCNNClassifier",
    "RamanCNNCommittee",
    "ValidAccuracy",
]
