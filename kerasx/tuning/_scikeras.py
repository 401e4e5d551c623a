"""scikeras' ``KerasClassifier`` as scikit-learn >= 1.6 expects a classifier (imported on use).

See :mod:`kerasx.tuning.estimators` for what is added and why.
"""

import numpy as np
from scikeras.wrappers import KerasClassifier
from sklearn.utils import ClassifierTags

from kerasx._validation import invalid_value
from kerasx.tuning._classifier import decision_from_proba

__all__ = ["ScikerasMLPClassifier"]


class ScikerasMLPClassifier(KerasClassifier):
    """scikeras' ``KerasClassifier`` with the ``classifier`` tag and a ``decision_function``.

    scikeras 0.13 declares ``_estimator_type = "classifier"``, which scikit-learn >= 1.6 no
    longer reads (it reads ``__sklearn_tags__``): without the tag an integer ``cv`` cuts
    unstratified folds and probability scorers fail. ``fit__validation_data`` reaches
    ``model.fit`` as given, so its labels must be what the model trains on: for labels
    ``0 … C-1`` (the only ones then accepted) scikeras leaves them as they are.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        return tags

    def fit(self, X, y, sample_weight=None, **kwargs):
        """scikeras' ``fit``; refuses labels other than ``0 … C-1`` with ``validation_data``."""
        if self.get_params().get("fit__validation_data") is not None:
            classes = np.unique(np.asarray(y))
            if not np.array_equal(classes, np.arange(len(classes))):
                expected = "training labels 0 ... C-1 with validation_data (scikeras)"
                raise invalid_value("y", expected, classes.tolist())
        return super().fit(X, y, sample_weight=sample_weight, **kwargs)

    def decision_function(self, X):
        """The log-odds of ``classes_[1]`` (two classes), else the log-probability of each."""
        return decision_from_proba(self.predict_proba(X))
