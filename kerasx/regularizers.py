"""Weight penalties in the statistician's parametrization: elastic net and group lasso.

Both are ``keras.regularizers.Regularizer`` subclasses written with ``keras.ops``: pass one as
``kernel_regularizer=`` to a layer and Keras adds its value to the loss.

>>> import keras
>>> from kerasx.regularizers import GroupLasso
>>> layer = keras.layers.Dense(3, kernel_regularizer=GroupLasso(0.01))
"""

import keras
from keras import ops

from kerasx._validation import check_in_range, check_non_negative

__all__ = ["ElasticNet", "GroupLasso"]


@keras.saving.register_keras_serializable(package="kerasx")
class ElasticNet(keras.regularizers.Regularizer):
    """The elastic-net penalty in scikit-learn's parametrization.

    The same penalty as ``sklearn.linear_model.ElasticNet(alpha, l1_ratio)``::

        penalty = alpha · (l1_ratio · ‖W‖₁ + ½ · (1 − l1_ratio) · ‖W‖₂²)

    ``l1_ratio=1`` is the lasso (``keras.regularizers.L1(alpha)``), ``l1_ratio=0`` ridge
    (``keras.regularizers.L2(alpha / 2)``: Keras's L2 has no ½).

    Args:
        alpha: overall strength, a float >= 0.
        l1_ratio: the share of the L1 term, a float in [0, 1].

    Raises:
        ValueError: for a negative ``alpha`` or an ``l1_ratio`` outside [0, 1].

    >>> import numpy as np
    >>> penalty = ElasticNet(alpha=0.1, l1_ratio=0.5)
    >>> round(float(penalty(np.array([[1.0, -2.0], [0.0, 2.0]]))), 4)
    0.475
    """

    def __init__(self, alpha=0.01, l1_ratio=0.5):
        self.alpha = float(check_non_negative("alpha", alpha))
        self.l1_ratio = float(check_in_range("l1_ratio", l1_ratio, 0, 1))

    def __call__(self, x):
        l1 = ops.sum(ops.abs(x))
        l2 = ops.sum(ops.square(x))
        penalty = self.l1_ratio * l1 + 0.5 * (1.0 - self.l1_ratio) * l2
        return ops.cast(self.alpha, x.dtype) * penalty

    def get_config(self):
        return {"alpha": self.alpha, "l1_ratio": self.l1_ratio}


def _safe_norm(squared_norm):
    """``sqrt`` with gradient 0 (a valid subgradient) instead of ∞ where the norm is 0."""
    positive = squared_norm > 0
    return ops.where(positive, ops.sqrt(ops.where(positive, squared_norm, 1.0)), 0.0)


@keras.saving.register_keras_serializable(package="kerasx")
class GroupLasso(keras.regularizers.Regularizer):
    """The group-lasso penalty on the rows of a weight matrix: whole inputs switch off.

    The rows of a ``Dense`` kernel (shape ``(inputs, units)``) hold every weight leaving one
    input feature, so penalizing their Euclidean norms drives entire features to zero::

        penalty = strength · Σ_rows ‖W_row‖₂

    There is no √(group size) scaling (all rows of a kernel have the same size). For kernels
    of rank > 2 (convolutions) a group is one input channel, i.e. everything sharing an index
    on the second-to-last axis; for a vector each entry is its own group (the lasso). At a
    zero row the gradient is taken as 0, a valid subgradient, instead of ∞. Gradient-based
    optimizers only bring rows *near* zero (there is no proximal step).

    Args:
        strength: the penalty's factor, a float >= 0.

    Raises:
        ValueError: for a negative ``strength``.

    >>> import numpy as np
    >>> penalty = GroupLasso(strength=0.1)
    >>> round(float(penalty(np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0]]))), 4)
    0.6
    """

    def __init__(self, strength=0.01):
        self.strength = float(check_non_negative("strength", strength))

    def __call__(self, x):
        x = ops.convert_to_tensor(x)
        rank = len(x.shape)
        if rank == 1:
            norms = ops.abs(x)
        else:
            other_axes = tuple(axis for axis in range(rank) if axis != rank - 2)
            norms = _safe_norm(ops.sum(ops.square(x), axis=other_axes))
        return ops.cast(self.strength, x.dtype) * ops.sum(norms)

    def get_config(self):
        return {"strength": self.strength}
