"""The scores of the malaria job's models on the test rows, and their temperature scaling.

NumPy and scikit-learn on predicted probabilities: no Keras metric object holds state here.

>>> score_predictions([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.9])["specificity"]
0.5
"""

import numpy as np

__all__ = ["calibrate_scores", "scale_by_temperature", "score_predictions"]


def score_predictions(y_true, scores, threshold=0.5):
    """One model's scores on the test images, with scikit-learn.

    Args:
        y_true: 0/1 labels (1 = parasitized).
        scores: predicted probabilities of label 1.
        threshold: predict 1 when the score is ``> threshold``.

    Returns:
        A dict with ``accuracy``, ``sensitivity``, ``specificity``, ``mcc`` and ``roc_auc``
        (``nan`` when the test images hold one class only) and ``n`` (the number of images).

    >>> score_predictions([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.9])["specificity"]
    0.5
    """
    from sklearn import metrics

    y_true = np.asarray(y_true).ravel().astype(int)
    scores = np.asarray(scores, dtype="float64").ravel()
    y_pred = (scores > threshold).astype(int)
    both_classes = len(np.unique(y_true)) == 2
    return {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "sensitivity": float(metrics.recall_score(y_true, y_pred, pos_label=1, zero_division=0)),
        "specificity": float(metrics.recall_score(y_true, y_pred, pos_label=0, zero_division=0)),
        "mcc": float(metrics.matthews_corrcoef(y_true, y_pred)),
        "roc_auc": float(metrics.roc_auc_score(y_true, scores)) if both_classes else float("nan"),
        "n": len(y_true),
    }


def calibrate_scores(y_val, val_scores, y_test, test_scores):
    """Temperature scaling fitted on validation rows and measured on the test rows.

    Args:
        y_val: labels of the validation rows, or ``None`` for a model without held-out rows
            (then only the calibration before is measured).
        val_scores: the model's probabilities on them.
        y_test: labels of the test rows.
        test_scores: the model's probabilities on them.

    Returns:
        ``(calibrated test scores, entry)``: ``entry`` holds ``temperature``,
        ``n_validation`` and :func:`kerasx.calibration.calibration_report`'s ``before`` and
        ``after`` (ECE, Brier, NLL, accuracy on the test rows).

    Two validation rows right and sure, two wrong and unsure: the NLL is lowest at T = 1.050
    (a grid search over T agrees), which softens 0.2 to sigmoid(logit(0.2) / 1.05) = 0.211:

    >>> after, entry = calibrate_scores([0, 1, 0, 1], [0.1, 0.9, 0.6, 0.4], [0, 1], [0.2, 0.7])
    >>> round(entry["temperature"], 3), entry["n_validation"], after.round(3).tolist()
    (1.05, 4, [0.211, 0.691])
    """
    from kerasx.calibration import calibration_report, fit_temperature

    test_scores = np.asarray(test_scores, dtype="float64").ravel()
    if y_val is None:
        report = calibration_report(y_test, test_scores)
        return test_scores, {"temperature": None, "n_validation": 0, **report}
    temperature = fit_temperature(y_val, val_scores)
    after = scale_by_temperature(test_scores, temperature)
    report = calibration_report(y_test, test_scores, after)
    return after, {"temperature": temperature, "n_validation": len(y_val), **report}


def scale_by_temperature(scores, temperature):
    """Probabilities of class 1 after dividing their logits by ``temperature``, through
    :class:`kerasx.calibration.TemperatureScaling` (float32, as the layer computes).

    >>> scale_by_temperature([0.2], 1.05).round(3).tolist()
    [0.211]
    """
    from keras import ops

    from kerasx.calibration import TemperatureScaling

    layer = TemperatureScaling(temperature=temperature)
    scores = np.asarray(scores, dtype="float32").reshape(-1, 1)
    return ops.convert_to_numpy(layer(scores)).ravel().astype("float64")
