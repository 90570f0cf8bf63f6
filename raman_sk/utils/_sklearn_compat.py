"""The private scikit-learn helpers raman_sk relies on, imported in one place.

scikit-learn keeps its parameter-validation machinery private; if it moves
between releases, only this module changes.
"""

from sklearn.utils._param_validation import (  # noqa: F401
    HasMethods,
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
