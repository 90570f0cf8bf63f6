"""scikit-learn's estimator checks on RamanCNNClassifier (tiny settings)."""

import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from raman_sk import RamanCNNClassifier
from raman_sk.classifier import RamanCNNCommittee

# The sklearn checks use 1-10 features: one block with pool=1 accepts any
# length. A tiny net, single-threaded (fastest for it), no dropout so that the
# few epochs learn the easy check data sets.
CHECKED = RamanCNNClassifier(
    max_epochs=5,
    lr=1e-2,
    batch_size=16,
    random_state=0,
    n_threads=1,
    module__channels=(4,),
    module__kernel_sizes=(3,),
    module__convs_per_block=1,
    module__pool=1,
    module__hidden=8,
    module__dropout=0.0,
    module__head_dropout=0.0,
)

EXPECTED_FAILURES = {
    "check_no_attributes_set_in_init": (
        "skorch's NeuralNet.__init__ sets history_, initialized_ and "
        "virtual_params_, and keeps prefixed parameters (module__channels, ...) "
        "as attributes; they are skorch's documented parameter mechanism."
    ),
}


# check_set_params sets callbacks=<garbage>; skorch initialises callbacks
# eagerly in set_params, so that call and the following ones raise TypeError,
# which the check tolerates with these warnings.
@pytest.mark.filterwarnings("ignore:TypeError occurred during set_params")
@pytest.mark.filterwarnings("ignore:Estimator's parameters changed after set_params")
@parametrize_with_checks(
    [CHECKED], expected_failed_checks=lambda est: EXPECTED_FAILURES
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# A committee of two such members (2-fold CV) under the same checks. It is a
# plain BaseEstimator holding its members, so it passes every check: no
# expected failures.
COMMITTEE = RamanCNNCommittee(clone(CHECKED), cv=2, random_state=0)


@parametrize_with_checks([COMMITTEE])
def test_committee_sklearn_compatible(estimator, check):
    check(estimator)
