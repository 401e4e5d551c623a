"""What both scikit-learn wrappers share: ``decision_function`` from probabilities, and the
check of a fixed ``validation_data`` (see :mod:`kerasx.tuning.estimators`)."""

import numpy as np

from kerasx._validation import check_data, invalid_value

__all__ = ["check_validation_data", "decision_from_proba"]


def decision_from_proba(proba):
    """scikit-learn's ``decision_function`` from class probabilities ``(n, n_classes)``.

    Two classes: the log-odds of the second, shape ``(n,)`` (positive where it is predicted);
    more: the log-probability of each class, whose arg-max is the prediction.

    >>> decision_from_proba(np.array([[0.2, 0.8], [0.5, 0.5]])).round(4).tolist()
    [1.3863, 0.0]
    """
    log_proba = np.log(np.clip(np.asarray(proba, dtype=np.float64), 1e-12, 1.0))
    return log_proba[:, 1] - log_proba[:, 0] if log_proba.shape[1] == 2 else log_proba


def check_validation_data(validation_data):
    """``(X_val, y_val)`` as checked arrays, or None.

    Raises:
        ValueError: not a pair, or data no model can validate on (empty, NaN, lengths).
    """
    if validation_data is None:
        return None
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise invalid_value("validation_data", "an (X_val, y_val) pair", validation_data)
    return check_data(*validation_data, x_name="validation_data[0]", y_name="validation_data[1]")
