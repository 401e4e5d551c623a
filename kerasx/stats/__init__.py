"""Numbers a statistician can trust: intervals, paired comparisons, patient-level verdicts.

NumPy and SciPy functions of labels and predicted scores, for after training (the malaria job's
report calls them; so can anyone with a model's predictions):

* :func:`wilson_interval`: the interval of a proportion (accuracy, sensitivity, specificity).
* :func:`bootstrap_ci` and :func:`compare`: the bootstrap interval of any metric, by row or by
  whole patient, and two models' paired difference (with :func:`mcnemar`, :func:`delong_test`).
* :func:`patient_diagnosis`: one verdict per patient from per-cell scores, with the patients'
  sensitivity and specificity; :func:`choose_threshold`: a threshold by Youden's J or a floor
  on the sensitivity or the specificity.

Every interval is an :class:`Interval` (``estimate``, ``low``, ``high``).

>>> from kerasx.stats import wilson_interval
>>> wilson_interval(90, 100).format()
'0.900 [0.826, 0.945]'
"""

from kerasx.stats._bootstrap import BootstrapInterval, bootstrap_ci
from kerasx.stats._compare import Comparison, compare
from kerasx.stats._paired import DeLongTest, McNemarTest, delong_test, mcnemar
from kerasx.stats._patients import PatientDiagnosis, patient_diagnosis
from kerasx.stats._proportions import wilson_interval
from kerasx.stats._result import Interval
from kerasx.stats._threshold import ThresholdChoice, choose_threshold

__all__ = [
    "BootstrapInterval",
    "Comparison",
    "DeLongTest",
    "Interval",
    "McNemarTest",
    "PatientDiagnosis",
    "ThresholdChoice",
    "bootstrap_ci",
    "choose_threshold",
    "compare",
    "delong_test",
    "mcnemar",
    "patient_diagnosis",
    "wilson_interval",
]
