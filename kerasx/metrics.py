"""Streaming classification metrics that Keras lacks: confusion matrix, MCC, kappa, calibration.

Every metric is a ``keras.metrics.Metric`` written with ``keras.ops`` only, so it runs under
the TensorFlow and the JAX backend and can be passed to ``compile(metrics=[...])``. The
threshold metrics share one private core, in the torchmetrics style: ``_format_classes`` turns
``(y_true, y_pred)`` into class indices, ``_update_confusion`` returns a batch's (weighted)
confusion matrix, and one ``_*_from_confusion`` function per metric computes the result from
the accumulated matrix. Rows of the matrix are the true class, columns the predicted class.

Inputs:

* Binary: labels and scores of shape ``(n,)`` or ``(n, 1)``; a prediction is positive when
  ``y_pred > threshold`` (as in Keras), after a sigmoid when ``from_logits=True``.
* Multiclass (``num_classes > 2``, or 2 with two score columns): scores ``(n, C)``, the predicted
  class is the arg-max; labels sparse ``(n,)`` / ``(n, 1)`` or one-hot ``(n, C)``.
* ``sample_weight`` of shape ``()``, ``(n,)`` or ``(n, 1)``.

Edge cases return scikit-learn's values (MCC and Cohen's kappa 0 when undefined, a recall of 0
when a class has no samples), never NaN.

Checks: shapes are checked when the metric is traced (static shapes). Label values (integers in
``[0, C)``) and probabilities (in ``[0, 1]``, calibration metrics only) can only be checked when
the metric runs eagerly (``metric.update_state(...)`` called directly, ``run_eagerly=True``);
inside a compiled ``fit``/``evaluate`` the values are unknown at trace time, and a label outside
``[0, C)`` then adds nothing to the confusion matrix. Weighted counts are kept in the metric's
dtype (float32 by default: exact up to 2**24 samples).

>>> import numpy as np
>>> m = MatthewsCorrelation()
>>> m.update_state(np.array([0, 1, 1, 0]), np.array([0.2, 0.9, 0.4, 0.1]))
>>> round(float(m.result()), 4)
0.5774
"""

import keras
import numpy as np
from keras import ops

from kerasx import _compat
from kerasx._validation import check_in_range, check_int, check_one_of, invalid_value

__all__ = [
    "BalancedAccuracy",
    "BrierScore",
    "CohenKappa",
    "ConfusionMatrix",
    "ExpectedCalibrationError",
    "MatthewsCorrelation",
    "Sensitivity",
    "Specificity",
]

KAPPA_WEIGHTS = (None, "linear", "quadratic")


# --------------------------------------------------------------------------------------------
# Shared core: formatting and checks
# --------------------------------------------------------------------------------------------


def _concrete(x):
    """The NumPy value of ``x``, or ``None`` while tracing (tf.function, jax.jit).

    There is no public backend-agnostic "is this tensor symbolic?" test: converting a symbolic
    TensorFlow tensor or a JAX tracer raises, and that is how a traced call is recognized.
    """
    try:
        return np.asarray(ops.convert_to_numpy(x))
    except Exception:
        return None


def _first(values, bad):
    value = values[bad].flat[0]
    return int(value) if float(value).is_integer() else float(value)


def _check_labels(labels, num_classes):
    """Raises if concrete ``labels`` are not integers in ``[0, num_classes)``."""
    values = _concrete(labels)
    if values is None or values.size == 0:
        return
    bad = (values != np.round(values)) | (values < 0) | (values >= num_classes)
    if bad.any():
        raise invalid_value(
            "y_true", f"class labels (integers) in [0, {num_classes})", _first(values, bad)
        )


def _check_probabilities(probs):
    """Raises if concrete ``probs`` are outside ``[0, 1]``."""
    values = _concrete(probs)
    if values is None or values.size == 0:
        return
    bad = ~((values >= 0) & (values <= 1))
    if bad.any():
        raise invalid_value(
            "y_pred", "probabilities in [0, 1] (or pass from_logits=True)", _first(values, bad)
        )


def _check_not_nan(scores):
    """Raises if concrete ``scores`` hold a NaN (``NaN > threshold`` is False: a silent
    negative)."""
    values = _concrete(scores)
    if values is not None and values.size and np.isnan(values).any():
        raise invalid_value("y_pred", "scores without NaN", float("nan"))


def _check_batch(name, x, reference):
    """Raises if the static batch sizes of ``x`` and ``reference`` are known and differ."""
    n, n_ref = tuple(x.shape)[:1], tuple(reference.shape)[:1]
    if n and n_ref and n[0] is not None and n_ref[0] is not None and n[0] != n_ref[0]:
        raise invalid_value(f"{name}.shape", f"a batch size of {n_ref[0]}", tuple(x.shape))


def _column(x, name):
    """Flattens a ``(n,)`` or ``(n, 1)`` tensor to ``(n,)``; any other shape raises."""
    shape = tuple(x.shape)
    if len(shape) == 2 and shape[1] == 1:
        return ops.reshape(x, (-1,))
    if len(shape) != 1:
        raise invalid_value(f"{name}.shape", "(batch,) or (batch, 1)", shape)
    return x


def _format_weight(sample_weight, reference, dtype):
    """``sample_weight`` as a ``(n,)`` (or scalar ``(1,)``) tensor of ``dtype``, or ``None``."""
    if sample_weight is None:
        return None
    weight = ops.cast(ops.convert_to_tensor(sample_weight), dtype)
    if len(weight.shape) > 0:
        weight = _column(weight, "sample_weight")
        _check_batch("sample_weight", weight, reference)
    return ops.reshape(weight, (-1,))


def _sparse_labels(y_true, num_classes, reference):
    """Sparse ``(n,)`` / ``(n, 1)`` or one-hot ``(n, C)`` labels as ``(n,)`` int32 indices."""
    shape = tuple(y_true.shape)
    if num_classes > 1 and len(shape) == 2 and shape[1] == num_classes:
        labels = ops.argmax(y_true, axis=-1)
    else:
        if len(shape) == 2 and shape[1] not in (1, num_classes):
            expected = f"(batch,), (batch, 1) or (batch, {num_classes})"
            raise invalid_value("y_true.shape", expected, shape)
        labels = _column(y_true, "y_true")
        _check_labels(labels, num_classes)
    _check_batch("y_true", labels, reference)
    return ops.cast(labels, "int32")


def _float_scores(y_pred):
    """``y_pred`` as a float tensor: hard integer or boolean predictions are cast to floatx.

    Comparing an integer tensor with a float threshold raised a ``TypeError``.
    """
    y_pred = ops.convert_to_tensor(y_pred)
    if not keras.backend.is_float_dtype(y_pred.dtype):
        y_pred = ops.cast(y_pred, keras.config.floatx())
    return y_pred


def _is_binary_scores(y_pred):
    shape = tuple(y_pred.shape)
    return len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)


def _format_classes(y_true, y_pred, *, num_classes, threshold, from_logits):
    """Turns labels and scores into ``(true, predicted)`` int32 class indices of shape ``(n,)``.

    Two classes with one score column: predicted positive when the probability (sigmoid of the
    logit when ``from_logits``) is ``> threshold``. Otherwise ``y_pred`` must be ``(n, C)`` and
    the prediction is its arg-max (the same for logits and probabilities).
    """
    y_true = ops.convert_to_tensor(y_true)
    y_pred = _float_scores(y_pred)
    _check_not_nan(y_pred)
    if num_classes == 2 and _is_binary_scores(y_pred):
        scores = _column(y_pred, "y_pred")
        probs = ops.sigmoid(scores) if from_logits else scores
        predicted = ops.cast(probs > threshold, "int32")
    else:
        shape = tuple(y_pred.shape)
        if len(shape) != 2 or shape[1] != num_classes:
            expected = f"(batch, {num_classes})"
            if num_classes == 2:
                expected = "(batch,), (batch, 1) or (batch, 2)"
            raise invalid_value("y_pred.shape", expected, shape)
        predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
    return _sparse_labels(y_true, num_classes, predicted), predicted


def _update_confusion(true, predicted, num_classes, sample_weight, dtype):
    """The batch's ``(C, C)`` confusion matrix (rows = true class), weighted when asked.

    One-hot products instead of a bincount: the same on every backend, static shapes under
    ``jax.jit``, and an out-of-range index (one-hot row of zeros) adds nothing.
    """
    true_hot = ops.one_hot(true, num_classes, dtype=dtype)
    predicted_hot = ops.one_hot(predicted, num_classes, dtype=dtype)
    if sample_weight is not None:
        true_hot = true_hot * ops.expand_dims(sample_weight, -1)
    return ops.matmul(ops.transpose(true_hot), predicted_hot)


# --------------------------------------------------------------------------------------------
# Shared core: results from an accumulated confusion matrix
# --------------------------------------------------------------------------------------------


def _safe_divide(numerator, denominator):
    """``numerator / denominator``, and 0 where ``denominator`` is 0 (scikit-learn's choice)."""
    nonzero = ops.not_equal(denominator, 0)
    safe = ops.where(nonzero, denominator, ops.ones_like(denominator))
    return ops.where(nonzero, numerator / safe, ops.zeros_like(numerator))


def _recall_from_confusion(confusion, cls):
    """Recall of class ``cls``: ``C[cls, cls] / sum(C[cls, :])`` (0 without such samples)."""
    return _safe_divide(confusion[cls, cls], ops.sum(confusion[cls, :]))


def _balanced_accuracy_from_confusion(confusion):
    """Mean recall over the classes present in ``y_true`` (scikit-learn's definition)."""
    support = ops.sum(confusion, axis=1)
    recalls = _safe_divide(ops.diagonal(confusion), support)
    present = ops.cast(support > 0, confusion.dtype)
    return _safe_divide(ops.sum(recalls * present), ops.sum(present))


def _matthews_from_confusion(confusion):
    """Multiclass Matthews correlation (Gorodkin's R_K), 0 when undefined as in scikit-learn.

    With ``c = C / n``, ``t`` / ``p`` the true / predicted class proportions::

        MCC = (trace(c) - t·p) / sqrt((1 - t·t) (1 - p·p))

    The denominator is 0 exactly when all samples share one true class or one predicted
    class; that is tested by counting classes (rounding could leave a tiny non-zero there).
    Proportions instead of counts avoid the cancellation of ``n**2 - p·p`` in float32.
    """
    total = ops.sum(confusion)
    true_sum = ops.sum(confusion, axis=1)
    pred_sum = ops.sum(confusion, axis=0)
    defined = ops.logical_and(
        ops.sum(ops.cast(true_sum != 0, "int32")) > 1,
        ops.sum(ops.cast(pred_sum != 0, "int32")) > 1,
    )
    scale = ops.where(total != 0, total, ops.ones_like(total))
    t, p = true_sum / scale, pred_sum / scale
    covariance = ops.trace(confusion) / scale - ops.sum(t * p)
    variance = ops.sum(t * (1 - t)) * ops.sum(p * (1 - p))
    safe_variance = ops.where(defined, variance, ops.ones_like(variance))
    return ops.where(defined, covariance / ops.sqrt(safe_variance), ops.zeros_like(covariance))


def _kappa_weight_matrix(num_classes, weights):
    """Disagreement weights: 1 off the diagonal, ``|i - j|`` or ``(i - j)**2``."""
    index = np.arange(num_classes)
    distance = np.abs(index[:, None] - index[None, :]).astype("float64")
    if weights is None:
        return (distance > 0).astype("float64")
    return distance if weights == "linear" else distance**2


def _kappa_from_confusion(confusion, weight_matrix):
    """Cohen's (weighted) kappa ``1 - sum(W * O) / sum(W * E)``, 0 when undefined.

    ``O`` is the observed joint distribution, ``E`` the outer product of its margins. The
    denominator is exactly 0 only when both raters put everything in one and the same class
    (scikit-learn then returns ``replace_undefined_by``; here 0).
    """
    total = ops.sum(confusion)
    scale = ops.where(total != 0, total, ops.ones_like(total))
    observed = confusion / scale
    expected = ops.outer(ops.sum(observed, axis=1), ops.sum(observed, axis=0))
    weight_matrix = ops.cast(weight_matrix, confusion.dtype)
    numerator = ops.sum(weight_matrix * observed)
    denominator = ops.sum(weight_matrix * expected)
    return ops.where(denominator > 0, 1 - _safe_divide(numerator, denominator), 0.0)


# --------------------------------------------------------------------------------------------
# Metrics built on the confusion matrix
# --------------------------------------------------------------------------------------------


class _ConfusionMatrixMetric(keras.metrics.Metric):
    """Accumulates a ``(C, C)`` confusion matrix; subclasses only define ``result``."""

    def __init__(self, num_classes=2, threshold=0.5, from_logits=False, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = check_int("num_classes", num_classes, minimum=2)
        self.threshold = float(check_in_range("threshold", threshold, 0, 1))
        self.from_logits = bool(check_one_of("from_logits", from_logits, (False, True)))
        self.confusion = self.add_variable(
            shape=(self.num_classes, self.num_classes),
            initializer="zeros",
            dtype=self.dtype,
            name="confusion",
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the batch's (weighted) confusion matrix to the state."""
        true, predicted = _format_classes(
            y_true,
            y_pred,
            num_classes=self.num_classes,
            threshold=self.threshold,
            from_logits=self.from_logits,
        )
        weight = _format_weight(sample_weight, predicted, self.dtype)
        self.confusion.assign_add(
            _update_confusion(true, predicted, self.num_classes, weight, self.dtype)
        )

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "threshold": self.threshold,
            "from_logits": self.from_logits,
        }


class _BinaryConfusionMetric(_ConfusionMatrixMetric):
    """A two-class confusion metric whose constructor has no ``num_classes``."""

    def __init__(self, threshold=0.5, from_logits=False, name=None, dtype=None):
        super().__init__(
            num_classes=2, threshold=threshold, from_logits=from_logits, name=name, dtype=dtype
        )

    def get_config(self):
        config = super().get_config()
        del config["num_classes"]
        return config


@keras.saving.register_keras_serializable(package="kerasx")
class ConfusionMatrix(_ConfusionMatrixMetric):
    """The streaming ``(C, C)`` confusion matrix: rows are the true class, columns the predicted.

    Entries are (weighted) counts, as ``sklearn.metrics.confusion_matrix`` with
    ``labels=range(num_classes)``. In ``fit``/``evaluate`` results it is a matrix; the progress
    bar shows the mean of its entries.

    Args:
        num_classes: number of classes ``C >= 2``.
        threshold: binary scores (one column) are predicted positive when ``> threshold``.
        from_logits: whether binary scores are logits (a sigmoid is applied first).
        name: metric name.
        dtype: dtype of the state and the result.

    Raises:
        ValueError: for invalid arguments, and in ``update_state`` for labels outside
            ``[0, num_classes)`` (when run eagerly) or shapes that do not fit.

    >>> m = ConfusionMatrix()
    >>> m.update_state([0, 1, 1, 1], [0.7, 0.8, 0.2, 0.9])
    >>> ops.convert_to_numpy(m.result()).tolist()
    [[0.0, 1.0], [1.0, 2.0]]
    """

    direction = None  # a matrix: no better or worse

    def __init__(
        self, num_classes=2, threshold=0.5, from_logits=False, name="confusion_matrix", dtype=None
    ):
        super().__init__(num_classes, threshold, from_logits, name=name, dtype=dtype)

    def result(self):
        return ops.copy(self.confusion)


@keras.saving.register_keras_serializable(package="kerasx")
class MatthewsCorrelation(_ConfusionMatrixMetric):
    """Streaming Matthews correlation coefficient (binary or multiclass).

    As ``sklearn.metrics.matthews_corrcoef``; 0 when all samples share one true or one
    predicted class::

        MCC = (TP·TN − FP·FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN))        (binary)

    Args:
        num_classes: number of classes ``C >= 2``.
        threshold: binary scores are predicted positive when ``> threshold``.
        from_logits: whether binary scores are logits.
        name: metric name.
        dtype: dtype of the state and the result.

    Raises:
        ValueError: for invalid arguments, labels outside ``[0, num_classes)`` (eagerly) or
            shapes that do not fit.

    >>> m = MatthewsCorrelation()
    >>> m.update_state([0, 1, 1, 0], [0.2, 0.9, 0.4, 0.1])
    >>> round(float(m.result()), 4)
    0.5774
    """

    direction = "max"

    def __init__(
        self,
        num_classes=2,
        threshold=0.5,
        from_logits=False,
        name="matthews_correlation",
        dtype=None,
    ):
        super().__init__(num_classes, threshold, from_logits, name=name, dtype=dtype)

    def result(self):
        return _matthews_from_confusion(ops.copy(self.confusion))


@keras.saving.register_keras_serializable(package="kerasx")
class CohenKappa(_ConfusionMatrixMetric):
    """Streaming Cohen's kappa, unweighted or with linear / quadratic disagreement weights.

    As ``sklearn.metrics.cohen_kappa_score(y_true, y_pred, labels=range(C), weights=...)``;
    0 where scikit-learn's value is undefined (both put every sample in one and the same
    class)::

        kappa = 1 − Σ W_ij O_ij / Σ W_ij E_ij,   E = outer(row margins, column margins)

    Args:
        num_classes: number of classes ``C >= 2`` (ordered, for weighted kappa).
        weights: ``None``, ``"linear"`` (``|i − j|``) or ``"quadratic"`` (``(i − j)²``).
        threshold: binary scores are predicted positive when ``> threshold``.
        from_logits: whether binary scores are logits.
        name: metric name.
        dtype: dtype of the state and the result.

    Raises:
        ValueError: for invalid arguments, labels outside ``[0, num_classes)`` (eagerly) or
            shapes that do not fit.

    >>> import numpy as np
    >>> m = CohenKappa(num_classes=3, weights="quadratic")
    >>> m.update_state(np.array([0, 1, 2, 2]), np.eye(3)[[0, 2, 2, 1]])
    >>> round(float(m.result()), 4)
    0.6364
    """

    direction = "max"

    def __init__(
        self,
        num_classes=2,
        weights=None,
        threshold=0.5,
        from_logits=False,
        name="cohen_kappa",
        dtype=None,
    ):
        super().__init__(num_classes, threshold, from_logits, name=name, dtype=dtype)
        self.weights_name = check_one_of("weights", weights, KAPPA_WEIGHTS)
        self._weight_matrix = _kappa_weight_matrix(self.num_classes, weights)

    def result(self):
        return _kappa_from_confusion(ops.copy(self.confusion), self._weight_matrix)

    def get_config(self):
        return {**super().get_config(), "weights": self.weights_name}


@keras.saving.register_keras_serializable(package="kerasx")
class Sensitivity(_BinaryConfusionMetric):
    """Streaming sensitivity (recall, true positive rate): ``TP / (TP + FN)``.

    As ``sklearn.metrics.recall_score``; 0 when there is no positive sample.

    Args:
        threshold: predicted positive when the score is ``> threshold``.
        from_logits: whether scores are logits.
        name: metric name.
        dtype: dtype of the state and the result.

    Raises:
        ValueError: for a threshold outside ``[0, 1]``, labels other than 0/1 (eagerly) or
            shapes that do not fit.

    >>> m = Sensitivity()
    >>> m.update_state([1, 1, 1, 0], [0.9, 0.6, 0.3, 0.8])
    >>> round(float(m.result()), 4)
    0.6667
    """

    direction = "max"

    def __init__(self, threshold=0.5, from_logits=False, name="sensitivity", dtype=None):
        super().__init__(threshold, from_logits, name=name, dtype=dtype)

    def result(self):
        return _recall_from_confusion(ops.copy(self.confusion), 1)


@keras.saving.register_keras_serializable(package="kerasx")
class Specificity(_BinaryConfusionMetric):
    """Streaming specificity (true negative rate): ``TN / (TN + FP)``.

    As ``sklearn.metrics.recall_score(..., pos_label=0)``; 0 when there is no negative sample.

    Args:
        threshold: predicted positive when the score is ``> threshold``.
        from_logits: whether scores are logits.
        name: metric name.
        dtype: dtype of the state and the result.

    Raises:
        ValueError: for a threshold outside ``[0, 1]``, labels other than 0/1 (eagerly) or
            shapes that do not fit.

    >>> m = Specificity()
    >>> m.update_state([0, 0, 0, 1], [0.9, 0.4, 0.1, 0.8])
    >>> round(float(m.result()), 4)
    0.6667
    """

    direction = "max"

    def __init__(self, threshold=0.5, from_logits=False, name="specificity", dtype=None):
        super().__init__(threshold, from_logits, name=name, dtype=dtype)

    def result(self):
        return _recall_from_confusion(ops.copy(self.confusion), 0)


@keras.saving.register_keras_serializable(package="kerasx")
class BalancedAccuracy(_ConfusionMatrixMetric):
    """Streaming balanced accuracy: the mean recall over the classes present in ``y_true``.

    As ``sklearn.metrics.balanced_accuracy_score`` (not adjusted); 0 before any sample.
    For two classes it is (sensitivity + specificity) / 2.

    Args:
        num_classes: number of classes ``C >= 2``.
        threshold: binary scores are predicted positive when ``> threshold``.
        from_logits: whether binary scores are logits.
        name: metric name.
        dtype: dtype of the state and the result.

    Raises:
        ValueError: for invalid arguments, labels outside ``[0, num_classes)`` (eagerly) or
            shapes that do not fit.

    >>> m = BalancedAccuracy()
    >>> m.update_state([1, 1, 1, 0], [0.9, 0.6, 0.3, 0.8])
    >>> round(float(m.result()), 4)
    0.3333
    """

    direction = "max"

    def __init__(
        self, num_classes=2, threshold=0.5, from_logits=False, name="balanced_accuracy", dtype=None
    ):
        super().__init__(num_classes, threshold, from_logits, name=name, dtype=dtype)

    def result(self):
        return _balanced_accuracy_from_confusion(ops.copy(self.confusion))


# --------------------------------------------------------------------------------------------
# Probability metrics: calibration and Brier score
# --------------------------------------------------------------------------------------------


def _format_probabilities(y_true, y_pred, from_logits):
    """``(probs, targets)``: ``(n,)`` and ``(n,)`` when binary, ``(n, C)`` and one-hot otherwise."""
    y_true = ops.convert_to_tensor(y_true)
    y_pred = _float_scores(y_pred)
    if _is_binary_scores(y_pred):
        scores = _column(y_pred, "y_pred")
        probs = ops.sigmoid(scores) if from_logits else scores
        labels = _sparse_labels(y_true, 2, probs)
        targets = ops.cast(labels, probs.dtype)
    else:
        shape = tuple(y_pred.shape)
        if len(shape) != 2 or shape[1] is None:
            raise invalid_value("y_pred.shape", "(batch,), (batch, 1) or (batch, C)", shape)
        probs = ops.softmax(y_pred, axis=-1) if from_logits else y_pred
        labels = _sparse_labels(y_true, shape[1], probs)
        targets = ops.one_hot(labels, shape[1], dtype=probs.dtype)
    if not from_logits:
        _check_probabilities(probs)
    return probs, targets


def _calibration_update(probs, targets, n_bins, sample_weight, dtype):
    """Per-bin ``(weight, confidence sum, accuracy sum)`` of a batch, equal-width bins.

    Binary: confidence = probability of the positive class, accuracy = the label.
    Multiclass: confidence = top-class probability, accuracy = whether that class is right.
    Bin ``b`` holds confidences in ``[b / n_bins, (b + 1) / n_bins)``; 1.0 goes in the last bin.
    """
    multiclass = len(probs.shape) == 2
    # The top class in the scores' own precision: rounding to the state's dtype first could tie
    # two classes that differ (a float64 softmax 1e-15 apart) and pick the wrong one.
    top = ops.argmax(probs, axis=-1) if multiclass else None
    probs, targets = ops.cast(probs, dtype), ops.cast(targets, dtype)
    if multiclass:
        # The top probability read at the arg-max, not ops.max: that refuses an empty batch.
        confidence = ops.take_along_axis(probs, top[:, None], axis=-1)[:, 0]
        accuracy = ops.cast(ops.take_along_axis(targets, top[:, None], axis=-1)[:, 0], dtype)
    else:
        confidence, accuracy = probs, targets
    index = ops.clip(ops.cast(ops.floor(confidence * n_bins), "int32"), 0, n_bins - 1)
    in_bin = ops.one_hot(index, n_bins, dtype=dtype)
    if sample_weight is not None:
        in_bin = in_bin * ops.expand_dims(sample_weight, -1)
    return (
        ops.sum(in_bin, axis=0),
        ops.matmul(confidence, in_bin),
        ops.matmul(accuracy, in_bin),
    )


@keras.saving.register_keras_serializable(package="kerasx")
class ExpectedCalibrationError(keras.metrics.Metric):
    """Streaming expected calibration error with equal-width bins::

        ECE = Σ_b (n_b / N) · |accuracy_b − confidence_b|

    Binary scores (one column): confidence is the predicted probability of the positive class
    and accuracy the label, as torchmetrics' ``BinaryCalibrationError``. Multiclass scores
    ``(n, C)``: confidence is the top-class probability and accuracy whether that class is
    the label (sparse or one-hot). 0 before any sample.

    Args:
        n_bins: number of equal-width bins on ``[0, 1]`` (``>= 1``).
        from_logits: whether scores are logits (sigmoid / softmax applied first).
        name: metric name.
        dtype: dtype of the state and the result.

    Raises:
        ValueError: for ``n_bins < 1``, labels out of range or probabilities outside
            ``[0, 1]`` (eagerly), or shapes that do not fit.

    >>> m = ExpectedCalibrationError(n_bins=2)
    >>> m.update_state([1, 0, 1, 1], [0.9, 0.2, 0.7, 0.4])
    >>> print(f"{float(m.result()):.4f}")
    0.2000

    Bins are closed on the left: 0.5 falls in ``[0.5, 1]`` with 0.9, so the gap is
    ``|1/2 − 1.4/2| = 0.2`` (right-closed bins would give ``(0.5 + 0.1) / 2 = 0.3``):

    >>> m = ExpectedCalibrationError(n_bins=2)
    >>> m.update_state([0, 1], [0.5, 0.9])
    >>> print(f"{float(m.result()):.4f}")
    0.2000
    """

    direction = "min"

    def __init__(self, n_bins=10, from_logits=False, name="expected_calibration_error", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.n_bins = check_int("n_bins", n_bins, minimum=1)
        self.from_logits = bool(check_one_of("from_logits", from_logits, (False, True)))
        shape = (self.n_bins,)
        self.bin_weight = self.add_variable(
            shape=shape, initializer="zeros", dtype=self.dtype, name="bin_weight"
        )
        self.bin_confidence = self.add_variable(
            shape=shape, initializer="zeros", dtype=self.dtype, name="bin_confidence"
        )
        self.bin_accuracy = self.add_variable(
            shape=shape, initializer="zeros", dtype=self.dtype, name="bin_accuracy"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the batch's per-bin weights, confidences and accuracies to the state."""
        probs, targets = _format_probabilities(y_true, y_pred, self.from_logits)
        weight = _format_weight(sample_weight, probs, self.dtype)
        counts, confidence, accuracy = _calibration_update(
            probs, targets, self.n_bins, weight, self.dtype
        )
        self.bin_weight.assign_add(counts)
        self.bin_confidence.assign_add(confidence)
        self.bin_accuracy.assign_add(accuracy)

    def result(self):
        gaps = ops.abs(ops.copy(self.bin_accuracy) - ops.copy(self.bin_confidence))
        return _safe_divide(ops.sum(gaps), ops.sum(ops.copy(self.bin_weight)))

    def get_config(self):
        return {**super().get_config(), "n_bins": self.n_bins, "from_logits": self.from_logits}


@keras.saving.register_keras_serializable(package="kerasx")
class BrierScore(keras.metrics.Metric):
    """Streaming Brier score: the (weighted) mean squared error of predicted probabilities.

    As ``sklearn.metrics.brier_score_loss`` (``scale_by_half="auto"``): binary scores give
    ``mean((p − y)²)``; multiclass scores ``(n, C)`` give ``mean(Σ_c (p_c − y_c)²)`` with
    one-hot ``y`` (range [0, 2]), halved for two columns (then the binary score of the second
    column). 0 before any sample.

    Args:
        from_logits: whether scores are logits (sigmoid / softmax applied first).
        name: metric name.
        dtype: dtype of the state and the result.

    Raises:
        ValueError: for labels out of range or probabilities outside ``[0, 1]`` (eagerly),
            or shapes that do not fit.

    >>> m = BrierScore()
    >>> m.update_state([1, 0], [0.8, 0.4])
    >>> print(f"{float(m.result()):.4f}")
    0.1000
    """

    direction = "min"

    def __init__(self, from_logits=False, name="brier_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.from_logits = bool(check_one_of("from_logits", from_logits, (False, True)))
        self.total = self.add_variable(
            shape=(), initializer="zeros", dtype=self.dtype, name="total"
        )
        self.weight = self.add_variable(
            shape=(), initializer="zeros", dtype=self.dtype, name="weight"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the batch's (weighted) sum of squared errors and its total weight."""
        probs, targets = _format_probabilities(y_true, y_pred, self.from_logits)
        probs, targets = ops.cast(probs, self.dtype), ops.cast(targets, self.dtype)
        squared = ops.square(probs - targets)
        if len(squared.shape) == 2:
            # two columns are one binary problem counted twice: halve, as scikit-learn does
            squared = ops.sum(squared, axis=-1) / (2.0 if squared.shape[1] == 2 else 1.0)
        weight = _format_weight(sample_weight, probs, self.dtype)
        if weight is None:
            weight = ops.ones_like(squared)
        else:
            weight = ops.broadcast_to(weight, ops.shape(squared))
        self.total.assign_add(ops.sum(weight * squared))
        self.weight.assign_add(ops.sum(weight))

    def result(self):
        return _safe_divide(ops.copy(self.total), ops.copy(self.weight))

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}


for _name in __all__:  # Keras's EarlyStopping(mode="auto") reads its own hint, set from `direction`
    _compat.set_keras_direction_hint(globals()[_name])
