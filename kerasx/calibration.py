"""Can the probabilities be trusted? Temperature scaling, reliability diagrams, ECE and Brier.

Temperature scaling (Guo et al., 2017) divides a classifier's logits by one number ``T > 0``
fitted on validation data by minimizing the negative log-likelihood. ``T > 1`` softens an
over-confident model, ``T < 1`` sharpens an under-confident one. Dividing by a positive number
keeps the sign of a logit and the order of logits, so the predicted classes, and hence the
accuracy, do not change; only the confidence does.

- :func:`fit_temperature`: the fit, on labels and scores (NumPy and SciPy).
- :class:`TemperatureScaling`: a Keras layer that applies ``T`` (and can fit it).
- :func:`calibrate`: a trained model → a model with calibrated probabilities, which saves
  and reloads as ``.keras`` without ``custom_objects``.
- :func:`calibration_report`: ECE, Brier score, NLL and accuracy before and after, with the
  NumPy functions of :mod:`kerasx.functional`; :func:`reliability_diagram` draws them as a PNG.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> z = rng.normal(0, 2, 20_000)
>>> y = rng.random(20_000) < 1 / (1 + np.exp(-z))   # labels drawn from sigmoid(z)
>>> over_confident = 1 / (1 + np.exp(-3 * z))        # the model says sigmoid(3 z)
>>> round(fit_temperature(y, over_confident), 1)
3.0
"""

import keras
import numpy as np
from keras import ops

from kerasx._plotting import labels_and_scores, name_classes, new_figure, save_figure
from kerasx._validation import check_int, check_one_of, check_positive, invalid_value
from kerasx.functional import (
    EPSILON,
    _calibration_bins,
    _logits_from_probabilities,
    _nll_per_row,
    brier_score,
    expected_calibration_error,
    log_loss,
)

__all__ = [
    "TemperatureScaling",
    "calibrate",
    "calibration_report",
    "fit_temperature",
    "reliability_diagram",
]

# The search interval for T. The NLL is convex in 1 / T, so it has one minimum in log T.
_LOG_T_BOUNDS = (np.log(1e-2), np.log(1e2))


def _probabilities_from_logits(logits):
    if logits.ndim == 1:
        return 1 / (1 + np.exp(-logits))
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _nll(logits, labels, temperature):
    """Mean negative log-likelihood of ``labels`` under ``logits / temperature``."""
    return float(np.mean(_nll_per_row(logits / temperature, labels)))


def _labels_and_logits(y_true, scores, from_logits):
    from_logits = check_one_of("from_logits", from_logits, (False, True))
    if from_logits:
        logits = np.asarray(scores, dtype=np.float64)
        if logits.ndim == 2 and logits.shape[1] == 1:
            logits = logits[:, 0]
        if not np.all(np.isfinite(logits)):
            raise invalid_value("scores", "finite logits", logits[~np.isfinite(logits)].flat[0])
        labels, _ = labels_and_scores(y_true, _probabilities_from_logits(logits))
        return labels, logits
    labels, scores = labels_and_scores(y_true, scores)
    return labels, _logits_from_probabilities(scores)


def fit_temperature(y_true, scores, *, from_logits=False):
    """The temperature ``T`` that minimizes the NLL of ``y_true`` under ``scores`` at ``T``.

    ::

        binary:      NLL(T) = mean( log(1 + exp(z / T)) − y · z / T )
        multiclass:  NLL(T) = mean( logsumexp(z / T) − z_y / T )

    with ``z`` the logits: given (``from_logits=True``), or recovered from probabilities as
    ``log(p / (1 − p))`` (binary) or ``log p`` (multiclass), ``p`` clipped to
    ``[1e-7, 1 − 1e-7]``. The NLL is convex in ``1 / T``; it is minimized over ``log T`` in
    ``[log 0.01, log 100]`` by bounded Brent search (``scipy.optimize.minimize_scalar``).
    Separable data (every row right with margin) has no finite optimum: ``T`` then ends at
    the lower bound, 0.01.

    Args:
        y_true: labels ``(n,)``: 0/1 for binary scores, integers in ``[0, C)`` for ``C``
            columns.
        scores: probabilities (or logits) ``(n,)`` / ``(n, 1)`` of the positive class, or
            ``(n, C)`` of each class.
        from_logits: whether ``scores`` are logits.

    Returns:
        ``T`` as a float.

    Raises:
        ValueError: for labels or scores that do not fit.

    >>> round(fit_temperature([1, 0, 1, 0], [0.99, 0.01, 0.01, 0.99]), 2)  # wrong half the time
    100.0
    """
    from scipy.optimize import minimize_scalar

    labels, logits = _labels_and_logits(y_true, scores, from_logits)
    result = minimize_scalar(
        lambda log_t: _nll(logits, labels, np.exp(log_t)),
        bounds=_LOG_T_BOUNDS,
        method="bounded",
        options={"xatol": 1e-9},
    )
    return float(np.exp(result.x))


@keras.saving.register_keras_serializable(package="kerasx")
class TemperatureScaling(keras.layers.Layer):
    """Divides a classifier's logits by a temperature and returns probabilities.

    Placed after a model's output: ``sigmoid(z / T)`` for one column, ``softmax(z / T)`` for
    several, where ``z`` are the inputs (``from_logits=True``) or the logits recovered from
    input probabilities (clipped to ``[1e-7, 1 − 1e-7]``, see :func:`fit_temperature`).
    Computed in float32. :meth:`fit` sets the temperature from validation data.

    Args:
        temperature: ``T > 0``; 1 leaves probabilities unchanged (up to the clipping).
        from_logits: whether the inputs are logits rather than probabilities.
        **kwargs: passed to ``keras.layers.Layer`` (``name``, ``dtype`` …).

    Attributes:
        temperature_: the temperature in use (set by the constructor or :meth:`fit`).

    >>> layer = TemperatureScaling(temperature=2.0)
    >>> [round(float(p), 4) for p in layer(np.array([[0.5], [0.9]]))[:, 0]]
    [0.5, 0.75]
    """

    def __init__(self, temperature=1.0, from_logits=False, **kwargs):
        super().__init__(**kwargs)
        self.temperature_ = float(check_positive("temperature", temperature))
        self.from_logits = bool(check_one_of("from_logits", from_logits, (False, True)))

    def fit(self, y_true, scores):
        """Sets ``temperature_`` by :func:`fit_temperature` and returns the layer.

        Args:
            y_true: validation labels.
            scores: the model's outputs on the same rows (probabilities, or logits when
                ``from_logits``).

        Returns:
            ``self``.
        """
        self.temperature_ = fit_temperature(y_true, scores, from_logits=self.from_logits)
        return self

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        binary = len(x.shape) == 1 or x.shape[-1] == 1
        if not self.from_logits:
            if binary:
                x = ops.clip(x, EPSILON, 1 - EPSILON)
                x = ops.log(x) - ops.log1p(-x)
            else:
                x = ops.log(ops.clip(x, EPSILON, 1.0))
        x = x / self.temperature_
        probabilities = ops.sigmoid(x) if binary else ops.softmax(x, axis=-1)
        return ops.cast(probabilities, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "temperature": self.temperature_,
            "from_logits": self.from_logits,
        }


def calibrate(model, X_val, y_val, *, from_logits=False, batch_size=256):
    """A copy of ``model`` with calibrated probabilities: its output, temperature-scaled.

    The temperature is fitted on ``model.predict(X_val)`` against ``y_val``. The returned
    Functional model shares ``model``'s layers (and weights) and ends in a
    :class:`TemperatureScaling` layer; it saves to ``.keras`` and reloads without
    ``custom_objects``. It is not compiled (``compile`` it to ``evaluate`` or train further).

    Args:
        model: a built Functional or Sequential ``keras.Model`` with one output of
            probabilities (one sigmoid column, or softmax columns), or of logits.
        X_val: validation inputs, as ``model.predict`` takes them.
        y_val: validation labels ``(n,)``.
        from_logits: whether the model outputs logits; the calibrated model outputs
            probabilities either way.
        batch_size: passed to ``model.predict``.

    Returns:
        A ``keras.Model``; the fitted temperature is its last layer's ``temperature_``.

    Raises:
        ValueError: for a model that is not Functional/Sequential with one output, no
            validation samples, or labels that do not fit the predictions.

    >>> import keras, numpy as np
    >>> inputs = keras.Input((1,))
    >>> three = keras.initializers.Constant(3.0)
    >>> dense = keras.layers.Dense(1, "sigmoid", kernel_initializer=three)
    >>> model = keras.Model(inputs, dense(inputs))       # says sigmoid(3 x) ...
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(0, 2, (20_000, 1)).astype("float32")
    >>> y = rng.random(20_000) < 1 / (1 + np.exp(-x[:, 0]))  # ... where the truth is sigmoid(x)
    >>> calibrated = calibrate(model, x, y)
    >>> round(calibrated.layers[-1].temperature_, 1)
    3.0
    """
    outputs = getattr(model, "outputs", None)
    if not isinstance(model, keras.Model) or not outputs or len(outputs) != 1:
        expected = "a built Functional or Sequential keras.Model with one output"
        raise invalid_value("model", expected, type(model).__name__)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if hasattr(X_val, "__len__") and len(X_val) == 0:  # Keras's predict fails obscurely
        raise invalid_value(
            "X_val", "at least one validation sample", X_val, describe=lambda x: "no samples"
        )
    scores = model.predict(X_val, batch_size=batch_size, verbose=0)
    layer = TemperatureScaling(from_logits=from_logits).fit(y_val, scores)
    # One input as a bare tensor, not a list of one: Keras warns when a list-input model is
    # called on a tensor.
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, layer(outputs[0]), name=f"{model.name}_calibrated")


# ------------------------------------------------------------------------- measuring it


def _scores_summary(labels, scores, n_bins):
    predicted = (scores > 0.5).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
    return {
        "ece": expected_calibration_error(labels, scores, n_bins=n_bins),
        "brier": brier_score(labels, scores),
        "nll": log_loss(labels, scores),
        "accuracy": float(np.mean(predicted == labels)),
    }


def calibration_report(y_true, scores_before, scores_after=None, *, n_bins=10):
    """ECE, Brier score, NLL and accuracy of the scores before (and after) calibration.

    In NumPy (float64), with :func:`kerasx.functional.expected_calibration_error` (``n_bins``
    equal-width bins), :func:`kerasx.functional.brier_score` and
    :func:`kerasx.functional.log_loss` (the NLL; probabilities clipped to
    ``[1e-7, 1 − 1e-7]``); accuracy predicts positive when ``p > 0.5`` (binary) or the
    arg-max.

    Args:
        y_true: labels ``(n,)``.
        scores_before: probabilities ``(n,)`` / ``(n, 1)`` / ``(n, C)`` before calibration.
        scores_after: the same rows' probabilities after calibration, or ``None``.
        n_bins: bins of the ECE (``>= 1``).

    Returns:
        ``{"before": {"ece", "brier", "nll", "accuracy"}, "after": {...}}`` of floats
        (``"after"`` only when ``scores_after`` is given).

    >>> report = calibration_report([1, 0], [0.8, 0.4], n_bins=2)
    >>> {name: round(value, 4) for name, value in report["before"].items()}
    {'ece': 0.3, 'brier': 0.1, 'nll': 0.367, 'accuracy': 1.0}
    """
    n_bins = check_int("n_bins", n_bins, minimum=1)
    labels, before = labels_and_scores(y_true, scores_before)
    report = {"before": _scores_summary(labels, before, n_bins)}
    if scores_after is not None:
        _, after = labels_and_scores(labels, scores_after)
        report["after"] = _scores_summary(labels, after, n_bins)
    return report


def _reliability_bins(labels, scores, n_bins):
    """Per equal-width bin: ``(count, mean confidence, accuracy)``; NaN means for empty bins.

    Binary: confidence is ``p`` and accuracy the label (the observed frequency of class 1);
    multiclass: the top probability and whether that class is right. The bins of
    :func:`kerasx.functional.expected_calibration_error`: closed on the left, 1.0 in the last.
    """
    count, confidence, hit = _calibration_bins(labels, scores, n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return count, confidence / count, hit / count


def reliability_diagram(
    path,
    y_true,
    scores_before,
    scores_after=None,
    *,
    n_bins=10,
    names=("before", "after"),
    class_names=None,
):
    """Writes a reliability diagram (PNG): observed frequency against predicted probability.

    Top: per bin, the mean predicted probability (x) against the observed frequency of the
    positive class (y; for multiclass scores, top-class confidence against accuracy), one
    line per set of scores, with the diagonal of perfect calibration and each set's ECE in the
    legend. Bottom: how many rows fall in each bin. For binary scores the axes and the title
    name the positive class: ``class_names=("uninfected", "parasitized")`` gives "observed
    frequency of parasitized" where the default says "class 1".

    Args:
        path: the PNG file to write (written whole: temporary file, then ``os.replace``).
        y_true: labels ``(n,)``.
        scores_before: probabilities before calibration.
        scores_after: the same rows' probabilities after calibration, or ``None``.
        n_bins: number of equal-width bins (``>= 1``).
        names: the legend's names of the two sets of scores.
        class_names: one name per class (label 0 first), or ``None`` for the class numbers.

    Returns:
        ``path``.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "calibration.png")
    >>> reliability_diagram(path, [0, 1, 1], [0.2, 0.9, 0.4], [0.3, 0.7, 0.45],
    ...                     class_names=("uninfected", "parasitized")) == path
    True
    """
    report = calibration_report(y_true, scores_before, scores_after, n_bins=n_bins)
    labels, before = labels_and_scores(y_true, scores_before)
    binary = before.ndim == 1
    classes = name_classes(class_names, 2 if binary else before.shape[1])
    positive = classes[1] if class_names is not None else "class 1"
    sets = [(names[0], before, report["before"])]
    if scores_after is not None:
        sets.append((names[1], labels_and_scores(labels, scores_after)[1], report["after"]))
    figure = new_figure(5.0, 6.0)
    top, bottom = figure.subplots(2, 1, height_ratios=(3, 1), sharex=True)
    top.plot([0, 1], [0, 1], linestyle="--", color="gray", label="perfect calibration")
    edges = np.linspace(0, 1, n_bins + 1)
    width = 0.9 / (n_bins * len(sets))
    for offset, (name, scores, summary) in enumerate(sets):
        count, confidence, accuracy = _reliability_bins(labels, scores, n_bins)
        filled = count > 0
        label = f"{name} (ECE {summary['ece']:.3f}, Brier {summary['brier']:.3f})"
        top.plot(confidence[filled], accuracy[filled], marker="o", label=label)
        bottom.bar(
            edges[:-1] + 0.05 / n_bins + offset * width, count, width, align="edge", label=name
        )
    top.set_ylabel(f"observed frequency of {positive}" if binary else "accuracy")
    top.set_xlim(0, 1)
    top.set_ylim(-0.02, 1.02)  # room for the markers of bins at 0 and 1
    top.set_title(f"Reliability diagram: {positive}" if binary else "Reliability diagram")
    top.legend(loc="upper left", fontsize=8)
    bottom.set_xlabel(f"predicted probability of {positive}" if binary else "top-class confidence")
    bottom.set_ylabel("rows")
    return save_figure(figure, path)
