"""Losses that Keras lacks, each a pure function plus a thin ``keras.losses.Loss`` class.

The functions do the math with ``keras.ops`` only (so they run under every backend) and return
one value per sample, like ``keras.losses.binary_crossentropy``; the classes only hold the
configuration and leave reduction, sample weights and dtype handling to ``keras.losses.Loss``.

Two of the losses, :func:`soft_fbeta` and :func:`weighted_kappa`, are properties of a whole
batch rather than sums over samples: their functions return one scalar per batch (see their
docstrings for what that means for ``reduction`` and ``sample_weight``).

>>> import numpy as np
>>> from kerasx.losses import BinaryNLL
>>> loss = BinaryNLL()
>>> round(float(loss(np.array([[1.0], [0.0]]), np.array([[0.9], [0.2]]))), 4)
0.1643
"""

import functools
import math

import keras
from keras import ops

from kerasx._validation import (
    check_in_range,
    check_int,
    check_non_negative,
    check_one_of,
    check_positive,
    invalid_value,
)

__all__ = [
    "BinaryNLL",
    "PolyLoss",
    "SoftFBetaLoss",
    "WeightedKappaLoss",
    "binary_nll",
    "poly1_crossentropy",
    "soft_fbeta",
    "weighted_kappa",
]

_POLY_MODES = ("binary", "categorical", "sparse_categorical")
_KAPPA_WEIGHTS = ("linear", "quadratic")


def _in_float32_at_least(loss_fn):
    """Runs ``loss_fn`` on ``y_pred`` of at least float32, casting a half-precision result back.

    float16 and bfloat16 cannot hold the clip bound ``1 − ε`` (it rounds to 1, so a
    probability of exactly 1 gave ``log(0)``: an infinite loss, NaN once multiplied by a zero
    label) and lose the soft counts of batch-level losses; integer predictions cannot be
    clipped at all. Keras computes losses in float32 under mixed precision for these reasons.
    """

    @functools.wraps(loss_fn)
    def wrapper(y_true, y_pred, **kwargs):
        y_pred = ops.convert_to_tensor(y_pred)
        dtype = keras.backend.standardize_dtype(y_pred.dtype)
        if not (keras.backend.is_float_dtype(dtype) or keras.backend.is_int_dtype(dtype)):
            if dtype != "bool":  # text, complex: the backend's cast error would not say which
                raise invalid_value(
                    "y_pred", "a float, integer or bool tensor", dtype, describe=str
                )
        if dtype not in ("float16", "bfloat16") and keras.backend.is_float_dtype(dtype):
            return loss_fn(y_true, y_pred, **kwargs)
        value = loss_fn(y_true, ops.cast(y_pred, "float32"), **kwargs)
        return ops.cast(value, dtype) if keras.backend.is_float_dtype(dtype) else value

    return wrapper


def _check_shape(name, x, expected):
    """Raises the standard error when static shapes differ (``None`` matches anything)."""
    shape, expected = tuple(x.shape), tuple(expected)
    if len(shape) != len(expected) or any(
        a is not None and b is not None and a != b for a, b in zip(shape, expected, strict=True)
    ):
        raise invalid_value(f"{name}.shape", f"a shape of {expected}", shape)


def _same_rank(y_true, y_pred):
    """Converts both to tensors (labels in the prediction dtype) of the same shape.

    ``(n,)`` next to ``(n, 1)`` becomes ``(n, 1)``, as Keras's own losses align them: one loss
    per sample, so that sample weights weigh samples (squeezing to ``(n,)`` instead averaged
    the whole batch into one number before the weights were applied).
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    true_rank, pred_rank = len(y_true.shape), len(y_pred.shape)
    if true_rank == pred_rank + 1 and y_true.shape[-1] == 1:
        if pred_rank == 1:
            y_pred = ops.expand_dims(y_pred, axis=-1)
        else:
            y_true = ops.squeeze(y_true, axis=-1)
    elif pred_rank == true_rank + 1 and y_pred.shape[-1] == 1:
        if true_rank == 1:
            y_true = ops.expand_dims(y_true, axis=-1)
        else:
            y_pred = ops.squeeze(y_pred, axis=-1)
    _check_shape("y_true", y_true, y_pred.shape)
    return y_true, y_pred


def _elementwise_bce(y_true, y_pred, from_logits):
    """−[y log p + (1 − y) log(1 − p)] element by element, written to stay finite."""
    if from_logits:
        # The line below with p = σ(z), rearranged: −[y log σ(z) + (1 − y) log(1 − σ(z))]
        # = log(1 + e^z) − y·z. The backends' softplus never overflows, and its gradient is
        # σ(z) everywhere (a max(z, 0) + log1p(e^{−|z|}) form gets the wrong one at z = 0).
        return ops.softplus(y_pred) - y_true * y_pred
    # Probabilities of exactly 0 or 1 would give log(0): clip to [ε, 1 − ε] as Keras does.
    eps = keras.config.epsilon()
    p = ops.clip(y_pred, eps, 1.0 - eps)
    return -(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))


@_in_float32_at_least
def binary_nll(y_true, y_pred, *, from_logits=False):
    """The Bernoulli negative log-likelihood (binary cross-entropy), written out.

    For one observation with label ``y`` and predicted probability ``p = σ(z)``::

        nll = −[y·log(p) + (1 − y)·log(1 − p)]

    With ``from_logits=True`` the same value is computed from the logit ``z`` as
    ``log(1 + exp(z)) − y·z`` with a stable softplus, finite for any finite ``z``, with
    gradient ``σ(z) − y``. Probabilities are clipped to ``[ε, 1 − ε]``
    (``ε = keras.config.epsilon()``), exactly as ``keras.losses.binary_crossentropy`` does, so
    ``p = 0`` or ``p = 1`` gives a finite loss and a finite gradient (zero where clipped:
    prefer ``from_logits=True`` for training).

    Args:
        y_true: labels in {0, 1} (or soft labels in [0, 1]), shape ``(n,)`` or ``(n, k)``.
        y_pred: predicted probabilities, or logits when ``from_logits=True``; same shape
            (``(n,)`` and ``(n, 1)`` are interchangeable).
        from_logits: whether ``y_pred`` holds logits.

    Returns:
        The NLL averaged over the last axis: shape ``(n,)`` for ``(n, k)`` inputs, as
        ``keras.losses.binary_crossentropy``.

    >>> import numpy as np
    >>> y = np.array([[1.0], [0.0]])
    >>> np.round(binary_nll(y, np.array([[0.9], [0.2]])), 4).tolist()
    [0.1054, 0.2231]
    >>> nll = binary_nll(y, np.array([[1e4], [-1e4]]), from_logits=True)
    >>> print(f"{float(np.abs(nll).max()):.6f}")
    0.000000
    """
    y_true, y_pred = _same_rank(y_true, y_pred)
    return ops.mean(_elementwise_bce(y_true, y_pred, from_logits), axis=-1)


def _sparse_to_one_hot(y_true, y_pred):
    y_true = ops.convert_to_tensor(y_true)
    if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, axis=-1)
    _check_shape("y_true", y_true, y_pred.shape[:-1])
    num_classes = y_pred.shape[-1]
    return ops.one_hot(ops.cast(y_true, "int32"), num_classes, dtype=y_pred.dtype)


def _categorical_ce_and_pt(y_true, y_pred, from_logits):
    """Per-sample categorical cross-entropy and the probability ``p_t`` of the true class."""
    if from_logits:
        log_p = ops.log_softmax(y_pred, axis=-1)
        p = ops.exp(log_p)
    else:
        # As keras.losses.categorical_crossentropy: renormalize, then clip away log(0).
        p = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
        eps = keras.config.epsilon()
        log_p = ops.log(ops.clip(p, eps, 1.0 - eps))
    cross_entropy = -ops.sum(y_true * log_p, axis=-1)
    return cross_entropy, ops.sum(y_true * p, axis=-1)


@_in_float32_at_least
def poly1_crossentropy(y_true, y_pred, *, epsilon=1.0, from_logits=False, mode="categorical"):
    """Poly-1 cross-entropy (Leng et al., "PolyLoss", ICLR 2022).

    The cross-entropy plus ``epsilon`` times the first term of its Taylor expansion in
    ``1 − p_t``, where ``p_t`` is the predicted probability of the true class::

        poly1 = CE + epsilon · (1 − p_t)

    ``epsilon = 0`` gives back the plain cross-entropy; ``epsilon > 0`` pushes harder on
    samples the model already gets right (the paper uses ``epsilon = 1`` on ImageNet and
    ``epsilon = −1`` for detection).

    Args:
        y_true: labels. ``mode="binary"``: 0/1 labels shaped like ``y_pred``;
            ``"categorical"``: one-hot ``(n, C)``; ``"sparse_categorical"``: integer class
            indices ``(n,)`` or ``(n, 1)``.
        y_pred: probabilities (sigmoid / softmax outputs), or logits when ``from_logits``.
        epsilon: weight of the polynomial term, a float >= −1.
        from_logits: whether ``y_pred`` holds logits.
        mode: ``"binary"`` (element-wise sigmoid, averaged over the last axis, as
            ``binary_crossentropy``), ``"categorical"`` or ``"sparse_categorical"`` (softmax
            over the last axis).

    Returns:
        One loss per sample, shape ``(n,)`` for ``(n, C)`` predictions.

    Raises:
        ValueError: if ``epsilon < −1`` or ``mode`` is unknown.

    >>> import numpy as np
    >>> y = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> p = np.array([[0.2, 0.8], [0.6, 0.4]])
    >>> np.round(poly1_crossentropy(y, p, epsilon=1.0), 4).tolist()
    [0.4231, 0.9108]
    """
    check_in_range("epsilon", epsilon, -1, math.inf, high_open=True)
    check_one_of("mode", mode, _POLY_MODES)
    if mode == "binary":
        y_true, y_pred = _same_rank(y_true, y_pred)
        cross_entropy = _elementwise_bce(y_true, y_pred, from_logits)
        p = ops.sigmoid(y_pred) if from_logits else y_pred
        p_t = y_true * p + (1.0 - y_true) * (1.0 - p)
        return ops.mean(cross_entropy + epsilon * (1.0 - p_t), axis=-1)
    y_pred = ops.convert_to_tensor(y_pred)
    if mode == "sparse_categorical":
        y_true = _sparse_to_one_hot(y_true, y_pred)
    else:
        y_true = ops.cast(y_true, y_pred.dtype)
        _check_shape("y_true", y_true, y_pred.shape)
    cross_entropy, p_t = _categorical_ce_and_pt(y_true, y_pred, from_logits)
    return cross_entropy + epsilon * (1.0 - p_t)


def _batch_weights(y_true, sample_weight):
    """Sample weights as a ``(n, 1)`` column (ones when ``None``)."""
    if sample_weight is None:
        return ops.ones_like(y_true[:, :1])
    weights = ops.cast(ops.convert_to_tensor(sample_weight), y_true.dtype)
    if len(weights.shape) > 0:
        _check_shape("sample_weight", ops.reshape(weights, (-1,)), y_true.shape[:1])
    return ops.reshape(weights, (-1, 1))


@_in_float32_at_least
def soft_fbeta(y_true, y_pred, *, beta=1.0, from_logits=False, sample_weight=None):
    """A differentiable F-beta loss: one minus the F-beta score computed from soft counts.

    Each class (last axis) gets soft counts over the batch — ``TP = Σ w·y·p``,
    ``FP = Σ w·(1 − y)·p``, ``FN = Σ w·y·(1 − p)`` with probabilities ``p`` in place of hard
    0/1 predictions — and::

        F_beta = (1 + β²)·TP / ((1 + β²)·TP + β²·FN + FP + ε)
        loss   = 1 − mean over classes of F_beta

    With hard 0/1 predictions this is one minus scikit-learn's ``fbeta_score`` (macro average
    for several columns). ``β > 1`` weighs recall more, ``β < 1`` precision.

    It is a property of the whole batch, not a sum over samples, so it returns a scalar:
    Keras's reductions leave it unchanged, and a ``sample_weight`` given to the
    :class:`SoftFBetaLoss` *class* only rescales it (by the mean of the weights under
    ``"sum_over_batch_size"``, by their sum under ``"sum"``) — the same behaviour as TensorFlow
    Addons' batch-level losses. To weight samples inside the counts, pass ``sample_weight`` to
    this function. Use batches large enough to contain positives.

    Args:
        y_true: 0/1 labels, shape ``(n,)``, ``(n, 1)`` or ``(n, C)`` (one-hot or multi-label).
        y_pred: probabilities (or logits when ``from_logits``), same shape.
        beta: the F-beta ``β``, a float > 0.
        from_logits: whether ``y_pred`` holds logits (a sigmoid is applied).
        sample_weight: optional weights ``(n,)`` for the soft counts.

    Returns:
        A scalar in ``[0, 1]``.

    Raises:
        ValueError: if ``beta <= 0``.

    >>> import numpy as np
    >>> y = np.array([1.0, 1.0, 0.0, 0.0])
    >>> print(f"{float(soft_fbeta(y, np.array([1.0, 0.0, 1.0, 0.0]))):.4f}")
    0.5000
    >>> print(f"{float(soft_fbeta(y, np.array([0.9, 0.8, 0.1, 0.2]))):.4f}")
    0.1500
    """
    check_positive("beta", beta)
    y_true, y_pred = _same_rank(y_true, y_pred)
    if len(y_pred.shape) == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    p = ops.sigmoid(y_pred) if from_logits else y_pred
    weights = _batch_weights(y_true, sample_weight)
    true_pos = ops.sum(weights * y_true * p, axis=0)
    false_pos = ops.sum(weights * (1.0 - y_true) * p, axis=0)
    false_neg = ops.sum(weights * y_true * (1.0 - p), axis=0)
    b2 = beta**2
    fbeta = (1.0 + b2) * true_pos
    fbeta = fbeta / ((1.0 + b2) * true_pos + b2 * false_neg + false_pos + keras.config.epsilon())
    return 1.0 - ops.mean(fbeta)


def _kappa_weight_matrix(num_classes, weights, dtype):
    classes = ops.arange(num_classes, dtype=dtype)
    distance = classes[:, None] - classes[None, :]
    return ops.abs(distance) if weights == "linear" else ops.square(distance)


@_in_float32_at_least
def weighted_kappa(
    y_true, y_pred, *, num_classes, weights="quadratic", epsilon=1e-6, sample_weight=None
):
    """Cohen's weighted-kappa loss (de la Torre et al., 2018; as TensorFlow Addons had it).

    From the soft confusion matrix ``O = Σᵢ wᵢ·yᵢ·pᵢᵀ`` (true class × predicted class, with
    predicted probabilities in place of hard predictions), its chance counterpart
    ``E = (Σᵢ wᵢ·yᵢ)·(column sums of O)ᵀ / Σ wᵢ`` (the weighted label counts equal O's row
    sums when every row of ``y_pred`` sums to 1; as in TensorFlow Addons) and the disagreement
    weights ``W_jk = |j − k|`` (linear) or ``(j − k)²`` (quadratic)::

        κ    = 1 − Σ W∘O / Σ W∘E
        loss = log(Σ W∘O / Σ W∘E + epsilon) = log(1 − κ + epsilon)

    so the loss runs from ``log(epsilon)`` (perfect agreement) to about ``log 2``. With hard
    one-hot predictions, ``1 − exp(loss)`` is scikit-learn's ``cohen_kappa_score`` (up to
    ``epsilon``). A ratio 0/0 (all labels and predictions in one class) counts as 0.

    It is a property of the whole batch, not a sum over samples, so it returns a scalar:
    Keras's reductions leave it unchanged, and a ``sample_weight`` given to the
    :class:`WeightedKappaLoss` *class* only rescales it (by the mean of the weights under
    ``"sum_over_batch_size"``, by their sum under ``"sum"``), as in TensorFlow Addons. To
    weight samples inside ``O`` and ``E``, pass ``sample_weight`` to this function. Its
    gradient depends on the batch's composition: use large batches.

    Args:
        y_true: one-hot labels ``(n, C)``, or integer class indices ``(n,)`` / ``(n, 1)``.
        y_pred: predicted class probabilities ``(n, C)`` (softmax outputs).
        num_classes: ``C``, an integer >= 2.
        weights: ``"linear"`` or ``"quadratic"`` disagreement weights.
        epsilon: a float >= 0 added inside the log.
        sample_weight: optional weights ``(n,)`` for ``O`` and ``E``.

    Returns:
        A scalar.

    Raises:
        ValueError: for ``num_classes < 2``, an unknown ``weights``, a negative ``epsilon``,
            or ``y_pred`` without ``num_classes`` columns.

    >>> import numpy as np
    >>> y = np.array([0, 1, 2, 2])
    >>> p = np.eye(3)[[0, 1, 2, 1]]
    >>> print(f"{1 - float(np.exp(weighted_kappa(y, p, num_classes=3, epsilon=0.0))):.4f}")
    0.8000
    """
    check_int("num_classes", num_classes, minimum=2)
    check_one_of("weights", weights, _KAPPA_WEIGHTS)
    check_non_negative("epsilon", epsilon)
    y_true, y_pred = ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred)
    if len(y_pred.shape) != 2 or y_pred.shape[-1] != num_classes:
        expected = f"(batch, {num_classes}), one column per class (num_classes={num_classes})"
        raise invalid_value("y_pred.shape", expected, tuple(y_pred.shape))
    if len(y_true.shape) < len(y_pred.shape) or y_true.shape[-1] != num_classes:
        y_true = _sparse_to_one_hot(y_true, y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    _check_shape("y_true", y_true, y_pred.shape)
    w = _batch_weights(y_true, sample_weight)
    observed = ops.matmul(ops.transpose(w * y_true), y_pred)
    # divide_no_nan: all-zero weights (or an empty batch) make E and O zero, a ratio 0/0 → 0.
    expected = ops.divide_no_nan(
        ops.outer(ops.sum(w * y_true, axis=0), ops.sum(w * y_pred, axis=0)), ops.sum(w)
    )
    disagreement = _kappa_weight_matrix(num_classes, weights, y_pred.dtype)
    ratio = ops.divide_no_nan(ops.sum(disagreement * observed), ops.sum(disagreement * expected))
    return ops.log(ratio + epsilon)


def _with_loss_config(loss, config):
    """The base ``Loss`` config (name, reduction, dtype) plus the loss's own arguments."""
    base = keras.losses.Loss.get_config(loss)
    base["dtype"] = loss.dtype
    base.update(config)
    return base


@keras.saving.register_keras_serializable(package="kerasx")
class BinaryNLL(keras.losses.Loss):
    """The Bernoulli negative log-likelihood of the course, as a Keras loss.

    See :func:`binary_nll`. Equals ``keras.losses.BinaryCrossentropy`` with the same
    ``from_logits``, for every reduction and sample weight.

    Args:
        from_logits: whether predictions are logits.
        reduction: any reduction ``keras.losses.Loss`` accepts.
        name: the loss's name.
        dtype: the computation dtype (``None``: ``keras.config.floatx()``).

    >>> import numpy as np
    >>> loss = BinaryNLL(from_logits=True, reduction="sum")
    >>> round(float(loss(np.array([[1.0], [0.0]]), np.array([[2.0], [-1.0]]))), 4)
    0.4402
    """

    def __init__(
        self, from_logits=False, reduction="sum_over_batch_size", name="binary_nll", dtype=None
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        return binary_nll(y_true, y_pred, from_logits=self.from_logits)

    def get_config(self):
        return _with_loss_config(self, {"from_logits": self.from_logits})


@keras.saving.register_keras_serializable(package="kerasx")
class PolyLoss(keras.losses.Loss):
    """Poly-1 cross-entropy (Leng et al., ICLR 2022), binary or categorical.

    See :func:`poly1_crossentropy`; ``epsilon=0`` is ``BinaryCrossentropy``,
    ``CategoricalCrossentropy`` or ``SparseCategoricalCrossentropy`` depending on ``mode``.

    Args:
        epsilon: weight of the polynomial term, a float >= −1.
        from_logits: whether predictions are logits.
        mode: ``"binary"``, ``"categorical"`` or ``"sparse_categorical"``.
        reduction: any reduction ``keras.losses.Loss`` accepts.
        name: the loss's name.
        dtype: the computation dtype.

    Raises:
        ValueError: if ``epsilon < −1`` or ``mode`` is unknown.

    >>> import numpy as np
    >>> loss = PolyLoss(epsilon=2.0, mode="sparse_categorical")
    >>> round(float(loss(np.array([1, 0]), np.array([[0.2, 0.8], [0.6, 0.4]]))), 4)
    0.9669
    """

    def __init__(
        self,
        epsilon=1.0,
        from_logits=False,
        mode="categorical",
        reduction="sum_over_batch_size",
        name="poly_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.epsilon = float(check_in_range("epsilon", epsilon, -1, math.inf, high_open=True))
        self.from_logits = bool(from_logits)
        self.mode = check_one_of("mode", mode, _POLY_MODES)

    def call(self, y_true, y_pred):
        return poly1_crossentropy(
            y_true, y_pred, epsilon=self.epsilon, from_logits=self.from_logits, mode=self.mode
        )

    def get_config(self):
        return _with_loss_config(
            self, {"epsilon": self.epsilon, "from_logits": self.from_logits, "mode": self.mode}
        )


@keras.saving.register_keras_serializable(package="kerasx")
class SoftFBetaLoss(keras.losses.Loss):
    """One minus a soft (differentiable) F-beta score, for imbalanced data.

    See :func:`soft_fbeta`. A batch-level loss: ``call`` returns one scalar per batch, which
    every reduction leaves unchanged; a ``sample_weight`` passed to this class rescales that
    scalar (by the weights' mean under ``"sum_over_batch_size"``) instead of weighting samples.

    Args:
        beta: the F-beta ``β``, a float > 0.
        from_logits: whether predictions are logits.
        reduction: any reduction ``keras.losses.Loss`` accepts.
        name: the loss's name.
        dtype: the computation dtype.

    Raises:
        ValueError: if ``beta <= 0``.

    >>> import numpy as np
    >>> loss = SoftFBetaLoss(beta=2.0)
    >>> round(float(loss(np.array([1.0, 1.0, 0.0]), np.array([0.9, 0.5, 0.3]))), 4)
    0.2784
    """

    def __init__(
        self,
        beta=1.0,
        from_logits=False,
        reduction="sum_over_batch_size",
        name="soft_fbeta",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.beta = float(check_positive("beta", beta))
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        return soft_fbeta(y_true, y_pred, beta=self.beta, from_logits=self.from_logits)

    def get_config(self):
        return _with_loss_config(self, {"beta": self.beta, "from_logits": self.from_logits})


@keras.saving.register_keras_serializable(package="kerasx")
class WeightedKappaLoss(keras.losses.Loss):
    """Cohen's weighted-kappa loss ``log(1 − κ + epsilon)`` for ordinal classes.

    See :func:`weighted_kappa`. A batch-level loss, as in TensorFlow Addons: ``call`` returns
    one scalar per batch, which every reduction leaves unchanged; a ``sample_weight`` passed
    to this class rescales that scalar (by the weights' mean under ``"sum_over_batch_size"``)
    instead of weighting samples.

    Args:
        num_classes: the number of classes, an integer >= 2.
        weights: ``"linear"`` or ``"quadratic"``.
        epsilon: a float >= 0 added inside the log.
        reduction: any reduction ``keras.losses.Loss`` accepts.
        name: the loss's name.
        dtype: the computation dtype.

    Raises:
        ValueError: for ``num_classes < 2``, an unknown ``weights`` or a negative ``epsilon``.

    >>> import numpy as np
    >>> loss = WeightedKappaLoss(num_classes=3, weights="linear")
    >>> p = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.2, 0.7]])
    >>> round(float(loss(np.array([0, 1, 2]), p)), 4)
    -1.0736
    """

    def __init__(
        self,
        num_classes,
        weights="quadratic",
        epsilon=1e-6,
        reduction="sum_over_batch_size",
        name="weighted_kappa",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.num_classes = check_int("num_classes", num_classes, minimum=2)
        self.weights = check_one_of("weights", weights, _KAPPA_WEIGHTS)
        self.epsilon = float(check_non_negative("epsilon", epsilon))

    def call(self, y_true, y_pred):
        return weighted_kappa(
            y_true,
            y_pred,
            num_classes=self.num_classes,
            weights=self.weights,
            epsilon=self.epsilon,
        )

    def get_config(self):
        return _with_loss_config(
            self,
            {"num_classes": self.num_classes, "weights": self.weights, "epsilon": self.epsilon},
        )
