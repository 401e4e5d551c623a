"""The MLP search space: range checks, ``build_mlp`` and the KerasTuner ``MLPHyperModel``.

Private module; the public names are re-exported by :mod:`kerasx.tuning`.
"""

import math

import keras
import keras_tuner
import numpy as np
from scipy import stats
from sklearn.utils import check_random_state

from kerasx._validation import check_int, check_one_of, invalid_value
from kerasx.recipes._models import hidden_stack

__all__ = [
    "MLP_PARAMS",
    "MLPHyperModel",
    "build_mlp",
    "check_range",
    "log_uniform_int",
    "malaria_search_space",
    "zero_or_log_uniform",
]

# The hyperparameters of ``build_mlp`` a search may vary (``optimizer`` is not one: scikeras
# reserves that name for its own compile argument).
MLP_PARAMS = ("n_hidden", "n_neurons", "learning_rate", "dropout", "l2", "activation")
_OPTIMIZERS = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}
# When an l2 range starts at 0, its nonzero part is searched on a log scale over this many
# decades below the upper bound (a log scale cannot reach 0).
L2_DECADES = 3


def check_range(name, value, *, minimum=None, maximum=None, integer=False, log=False):
    """Returns ``(low, high)`` for a range given as a pair or as one fixed value.

    Raises the standard ``ValueError`` when low > high, a bound is out of
    ``[minimum, maximum]``, a bound is not a (finite) number, or ``log`` and low <= 0.
    """
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2:
        raise invalid_value(name, "a number or a (low, high) pair", value)
    for bound in pair:
        ok = isinstance(bound, (int, float, np.integer, np.floating)) and not isinstance(
            bound, bool
        )
        ok = ok and math.isfinite(bound) and (not integer or float(bound).is_integer())
        ok = ok and (minimum is None or bound >= minimum) and (maximum is None or bound <= maximum)
        if not ok or (log and bound <= 0):
            kind = "integers" if integer else "numbers"
            bounds = f" >= {minimum}" if minimum is not None else ""
            bounds += f" and <= {maximum}" if maximum is not None else ""
            bounds = " > 0" if log else bounds
            raise invalid_value(name, f"a (low, high) pair of {kind}{bounds}", value)
    low, high = (int(b) for b in pair) if integer else (float(b) for b in pair)
    if low > high:
        raise invalid_value(name, "a (low, high) pair with low <= high", value)
    return low, high


def _check_output(output):
    if output == "binary":
        return output
    return check_int("output", output, minimum=2)


def _infer_shapes(input_shape, output, meta, X, y):
    """Fills ``input_shape`` and ``output`` from the wrapper's data (scikeras ``meta`` or X/y).

    Returns ``(input_shape, output, one_hot)``; ``one_hot`` is True when ``y`` arrives one-hot
    encoded (``keras.wrappers.SKLearnClassifier`` does that, even for two classes).
    """
    one_hot = False
    if input_shape is None:
        if meta is not None:
            input_shape = (meta["n_features_in_"],)
        elif X is not None:
            input_shape = tuple(np.shape(X)[1:])
        else:
            raise invalid_value("input_shape", "a shape tuple (or X or meta to infer it)", None)
    if output is None:
        output = "binary"
        if meta is not None and meta.get("n_classes_", 2) > 2:
            output = int(meta["n_classes_"])
        elif y is not None and np.ndim(y) == 2 and np.shape(y)[1] > 1:
            output, one_hot = int(np.shape(y)[1]), True
    return tuple(input_shape), _check_output(output), one_hot


def build_mlp(
    n_hidden=1,
    n_neurons=30,
    learning_rate=1e-3,
    *,
    input_shape=None,
    output=None,
    activation="relu",
    dropout=0.0,
    l2=0.0,
    optimizer="adam",
    clear_session=True,
    meta=None,
    X=None,
    y=None,
):
    """Builds and compiles the course's MLP: ``n_hidden`` Dense layers of ``n_neurons`` units.

    A plain build function: give it to scikeras (``KerasClassifier(model=build_mlp, ...)``, which
    passes ``meta``) or to ``keras.wrappers.SKLearnClassifier(model=build_mlp)`` (which passes
    ``X`` and ``y``); the input shape and the output layer are then inferred from the data.
    Each call starts from a clean Keras session (``keras.backend.clear_session()``): Keras's
    global state (layer names, uids) does not pile up across the trials of a search.

    Layers: ``Input`` → ``Flatten`` (only for inputs with more than one axis) →
    ``n_hidden`` × [``Dense(n_neurons, activation, kernel_regularizer=L2(l2))`` named
    ``hidden_1``…, then ``Dropout(dropout)`` when ``dropout > 0``] → ``Dense`` named ``output``:
    1 sigmoid unit and binary cross-entropy for ``output="binary"``, else ``output`` softmax units
    and sparse categorical cross-entropy (categorical when ``y`` comes one-hot encoded).
    Metric: accuracy.

    Args:
        n_hidden: number of hidden layers (>= 0).
        n_neurons: units per hidden layer (>= 1).
        learning_rate: the optimizer's learning rate (> 0).
        input_shape: shape of one sample; inferred from ``meta`` or ``X`` when None.
        output: ``"binary"`` or a number of classes >= 2; inferred when None (default binary).
        activation: hidden-layer activation, any Keras activation name.
        dropout: dropout rate after each hidden layer, in [0, 1).
        l2: L2 penalty factor on each hidden kernel (>= 0; 0 means none).
        optimizer: ``"adam"`` or ``"sgd"``.
        clear_session: call ``keras.backend.clear_session()`` first.
        meta: scikeras' metadata dict (passed by scikeras).
        X: training inputs (passed by ``keras.wrappers.SKLearnClassifier``).
        y: training targets (passed by ``keras.wrappers.SKLearnClassifier``).

    Returns:
        A compiled ``keras.Sequential``.

    Raises:
        ValueError: for an invalid argument.

    >>> model = build_mlp(2, 8, input_shape=(4,))
    >>> [layer.units for layer in model.layers]
    [8, 8, 1]
    """
    input_shape, output, one_hot = _infer_shapes(input_shape, output, meta, X, y)
    n_hidden = check_int("n_hidden", n_hidden, minimum=0)
    n_neurons = check_int("n_neurons", n_neurons, minimum=1)
    check_range("learning_rate", learning_rate, log=True)
    check_range("dropout", dropout, minimum=0.0, maximum=0.999)
    check_range("l2", l2, minimum=0.0)
    check_one_of("optimizer", optimizer, tuple(_OPTIMIZERS))
    if clear_session:
        keras.backend.clear_session()
    layers = [keras.Input(input_shape)]
    if len(input_shape) > 1:
        layers.append(keras.layers.Flatten())
    regularizer = keras.regularizers.L2(l2) if l2 > 0 else None
    layers += hidden_stack((n_neurons,) * n_hidden, activation, dropout, regularizer)
    binary = output == "binary"
    layers.append(
        keras.layers.Dense(
            1 if binary else output, activation="sigmoid" if binary else "softmax", name="output"
        )
    )
    loss = "binary_crossentropy" if binary else "sparse_categorical_crossentropy"
    loss = "categorical_crossentropy" if one_hot else loss
    model = keras.Sequential(layers, name="mlp")
    model.compile(
        optimizer=_OPTIMIZERS[optimizer](learning_rate=float(learning_rate)),
        loss=loss,
        metrics=["accuracy"],
    )
    return model


class _LogUniformInt:
    """Integers in [low, high] whose logarithm is uniform (what ``hp.Int(sampling="log")`` does)."""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def rvs(self, size=None, random_state=None):
        rng = np.random.default_rng(random_state) if not hasattr(random_state, "uniform") else None
        source = rng if rng is not None else random_state
        draw = np.exp(source.uniform(np.log(self.low), np.log(self.high + 1), size=size))
        return np.clip(np.floor(draw), self.low, self.high).astype(int)

    def __repr__(self):
        return f"log_uniform_int({self.low}, {self.high})"


class _ZeroOrLogUniform:
    """0 with probability 1/2, else log-uniform on [low, high] (the ``use_l2`` + ``l2`` pair)."""

    def __init__(self, low, high):
        self.low, self.high = low, high
        self._log_uniform = stats.loguniform(low, high)

    def rvs(self, size=None, random_state=None):
        # One generator for both draws: an integer seed given to each would replay the same
        # uniforms, so "use" would follow the value instead of being independent of it.
        random_state = check_random_state(random_state)
        values = self._log_uniform.rvs(size=size, random_state=random_state)
        use = stats.bernoulli(0.5).rvs(size=size, random_state=random_state)
        return np.where(use == 1, values, 0.0) if size is not None else float(values * use)

    def __repr__(self):
        return f"zero_or_log_uniform({self.low}, {self.high})"


def log_uniform_int(low, high):
    """A distribution (``rvs``) of integers in [low, high] with a log-uniform spread."""
    return _LogUniformInt(low, high)


def zero_or_log_uniform(low, high):
    """A distribution (``rvs``): 0 half of the time, else log-uniform on [low, high]."""
    return _ZeroOrLogUniform(low, high)


class MLPHyperModel(keras_tuner.HyperModel):
    """A KerasTuner search space over the course's MLP (see :func:`build_mlp`).

    Every range is an argument: a ``(low, high)`` pair, or one value to hold it fixed. Scales:
    ``n_hidden`` uniform integers; ``n_neurons`` integers on a log scale (16 → 32 is as big a
    step as 256 → 512); ``learning_rate`` log scale; ``dropout`` linear. ``l2`` is log scale
    when ``low > 0``; a range that starts at 0 (the default) cannot be searched on a log scale,
    so it becomes two hyperparameters: ``use_l2`` (a boolean) and ``l2``, log scale on
    ``[high / 1000, high]``, used only when ``use_l2`` is True (the model then has no penalty).
    ``activation`` is a choice among ``activations``. All hidden layers share ``n_neurons``, as in
    the course. Usable with ``RandomSearch``, ``Hyperband`` and ``BayesianOptimization``;
    :func:`kerasx.tuning.make_tuner` also checks the objective name before anything runs.

    Each ``build`` starts from a clean Keras session.

    Args:
        input_shape: shape of one sample, e.g. ``(30000,)``.
        output: ``"binary"`` (1 sigmoid unit) or a number of classes (softmax).
        n_hidden: range of the number of hidden layers (>= 0).
        n_neurons: range of units per hidden layer (>= 1).
        learning_rate: range of Adam's learning rate (> 0).
        dropout: range of the dropout rate, within [0, 1).
        l2: range of the L2 penalty factor (>= 0).
        activations: the hidden activations to choose from.
        name: the hypermodel's name.

    Raises:
        ValueError: for a range with low > high, a bound out of its domain, or an unknown
            activation — before any model is built.

    >>> hypermodel = MLPHyperModel((8,), n_hidden=(1, 2), n_neurons=(4, 16))
    >>> model = hypermodel.build(keras_tuner.HyperParameters())
    >>> model.layers[0].units, model.layers[-1].units
    (4, 1)
    >>> MLPHyperModel((8,), learning_rate=(0.1, 0.001))
    Traceback (most recent call last):
    ...
    ValueError: Invalid value for argument `learning_rate`. Expected a (low, high) pair with low <= high. Received: learning_rate=(0.1, 0.001)
    """

    def __init__(
        self,
        input_shape,
        *,
        output="binary",
        n_hidden=(1, 4),
        n_neurons=(16, 512),
        learning_rate=(1e-4, 1e-1),
        dropout=(0.0, 0.5),
        l2=(0.0, 1e-2),
        activations=("relu", "tanh"),
        name="mlp_hypermodel",
    ):
        super().__init__(name=name, tunable=True)
        self.input_shape = tuple(check_int("input_shape", d, minimum=1) for d in input_shape)
        self.output = _check_output(output)
        self.ranges = {
            "n_hidden": check_range("n_hidden", n_hidden, minimum=0, integer=True),
            "n_neurons": check_range("n_neurons", n_neurons, minimum=1, integer=True),
            "learning_rate": check_range("learning_rate", learning_rate, log=True),
            "dropout": check_range("dropout", dropout, minimum=0.0, maximum=0.999),
            "l2": check_range("l2", l2, minimum=0.0),
        }
        if isinstance(activations, str) or not activations:
            raise invalid_value(
                "activations", "a non-empty sequence of activation names", activations
            )
        for activation in activations:
            try:
                keras.activations.get(activation)
            except ValueError:
                raise invalid_value("activations", "Keras activation names", activations) from None
        self.activations = tuple(activations)

    @property
    def metric_names(self):
        """The names a tuner's objective may use: the compiled loss and metrics, plain and val_."""
        names = ("loss", "accuracy")
        return tuple(sorted(names + tuple(f"val_{name}" for name in names)))

    def draw(self, hp):
        """Declares the hyperparameters on ``hp`` and returns the values for :func:`build_mlp`."""
        values = {
            "n_hidden": _int_hp(hp, "n_hidden", self.ranges["n_hidden"], "linear"),
            "n_neurons": _int_hp(hp, "n_neurons", self.ranges["n_neurons"], "log"),
            "learning_rate": _float_hp(hp, "learning_rate", self.ranges["learning_rate"], "log"),
            "dropout": _float_hp(hp, "dropout", self.ranges["dropout"], "linear"),
            "l2": self._draw_l2(hp),
        }
        if len(self.activations) == 1:
            values["activation"] = hp.Fixed("activation", self.activations[0])
        else:
            values["activation"] = hp.Choice("activation", list(self.activations))
        return values

    def _draw_l2(self, hp):
        low, high = self.ranges["l2"]
        if high == 0 or low > 0:
            return _float_hp(hp, "l2", (low, high), "log" if low > 0 else "linear")
        use_l2 = hp.Boolean("use_l2")
        value = hp.Float("l2", high / 10**L2_DECADES, high, sampling="log")
        return value if use_l2 else 0.0

    def build(self, hp):
        """Builds the compiled model for the hyperparameters drawn on ``hp``."""
        return build_mlp(**self.draw(hp), input_shape=self.input_shape, output=self.output)

    def param_distributions(self):
        """The same space for scikit-learn's ``RandomizedSearchCV`` (scipy distributions).

        >>> sorted(MLPHyperModel((4,)).param_distributions())
        ['activation', 'dropout', 'l2', 'learning_rate', 'n_hidden', 'n_neurons']
        """
        (h_low, h_high), (n_low, n_high) = self.ranges["n_hidden"], self.ranges["n_neurons"]
        lr_low, lr_high = self.ranges["learning_rate"]
        d_low, d_high = self.ranges["dropout"]
        l2_low, l2_high = self.ranges["l2"]
        if l2_high == 0:
            l2 = [0.0]
        elif l2_low == 0:
            l2 = zero_or_log_uniform(l2_high / 10**L2_DECADES, l2_high)
        else:
            l2 = _continuous(stats.loguniform, l2_low, l2_high)
        return {
            "n_hidden": list(range(h_low, h_high + 1)),
            "n_neurons": [n_low] if n_low == n_high else log_uniform_int(n_low, n_high),
            "learning_rate": _continuous(stats.loguniform, lr_low, lr_high),
            "dropout": [d_low] if d_low == d_high else stats.uniform(d_low, d_high - d_low),
            "l2": l2,
            "activation": list(self.activations),
        }


def _continuous(dist, low, high):
    return [low] if low == high else dist(low, high)


def _int_hp(hp, name, bounds, sampling):
    low, high = bounds
    if low == high:
        return hp.Fixed(name, low)
    return hp.Int(name, low, high, sampling=sampling)


def _float_hp(hp, name, bounds, sampling):
    low, high = bounds
    if low == high:
        return hp.Fixed(name, low)
    return hp.Float(name, low, high, sampling=sampling)


def malaria_search_space(input_shape=(30000,)):
    """The search space for the course's malaria MLP (100×100×3 images flattened).

    1–3 hidden relu layers of 16–300 units (the course's deep MLP is 300 → 100 → 50), Adam's
    learning rate on [1e-4, 1e-2] (log), dropout on [0, 0.5], an optional L2 penalty up to 1e-3.

    Args:
        input_shape: shape of one sample; ``(image_size * image_size * 3,)`` for other sizes.

    Returns:
        An :class:`MLPHyperModel` for binary output.

    >>> malaria_search_space().ranges["n_neurons"]
    (16, 300)
    """
    return MLPHyperModel(
        input_shape,
        output="binary",
        n_hidden=(1, 3),
        n_neurons=(16, 300),
        learning_rate=(1e-4, 1e-2),
        dropout=(0.0, 0.5),
        l2=(0.0, 1e-3),
        activations=("relu",),
    )
