"""The MLP a search tunes (:func:`build_mlp`) and its search spaces.

:class:`MLPHyperModel` holds one :class:`~kerasx.tuning.distributions.SearchRange` per
hyperparameter and hands it to KerasTuner (:meth:`MLPHyperModel.build`) or to scikit-learn
(:meth:`MLPHyperModel.param_distributions`): one space, two searches.
"""

import inspect

import keras
import keras_tuner
import numpy as np
from scipy import stats

from kerasx._validation import check_int, check_one_of, check_range, invalid_value
from kerasx.metrics import MatthewsCorrelation
from kerasx.recipes._models import hidden_stack
from kerasx.tuning.config import MLP_METRICS, objective_names
from kerasx.tuning.distributions import RANGE_RULES, SearchRange, mlp_dimension

__all__ = [
    "MLP_DEFAULTS",
    "MLP_PARAMS",
    "MLPHyperModel",
    "build_mlp",
    "course_param_distributions",
    "malaria_search_space",
    "mlp_metric_names",
]

#: The hyperparameters of ``build_mlp`` a search may vary (``optimizer`` is not one: scikeras
#: reserves that name for its own compile argument).
MLP_PARAMS = (*RANGE_RULES, "activation")
_OPTIMIZERS = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}


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
    Metrics: accuracy, AUC (not for integer labels of more than two classes) and kerasx's
    Matthews correlation (:func:`mlp_metric_names`), each a possible objective of a search.

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
    for name, value in (("learning_rate", learning_rate), ("dropout", dropout), ("l2", l2)):
        check_range(name, value, **RANGE_RULES[name][0])
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
        metrics=_mlp_metrics(output, one_hot),
    )
    return model


def mlp_metric_names(output="binary"):
    """The metrics :func:`build_mlp` compiles for ``output`` (integer labels), by name.

    >>> mlp_metric_names(), mlp_metric_names(3)
    (('accuracy', 'auc', 'matthews_correlation'), ('accuracy', 'matthews_correlation'))
    """
    return MLP_METRICS if output == "binary" else ("accuracy", "matthews_correlation")


def _mlp_metrics(output, one_hot):
    """Accuracy, kerasx's Matthews correlation and, when the labels allow it, Keras's AUC.

    AUC needs one score per label column: a sigmoid output, or one-hot labels (as
    ``keras.wrappers.SKLearnClassifier`` gives them); not integer labels of several classes.
    """
    num_classes = 2 if output == "binary" else output
    metrics = ["accuracy", MatthewsCorrelation(num_classes=num_classes)]
    if output == "binary" or one_hot:
        metrics.insert(1, keras.metrics.AUC(name="auc"))
    return metrics


#: ``build_mlp``'s defaults for :data:`MLP_PARAMS`, read from its signature (the one place they
#: are written): the scikit-learn wrappers start from them.
MLP_DEFAULTS = {
    name: parameter.default
    for name, parameter in inspect.signature(build_mlp).parameters.items()
    if name in MLP_PARAMS
}


def course_param_distributions():
    """The course's search space for ``RandomizedSearchCV``.

    ``n_hidden`` in {0, 1, 2, 3}, ``n_neurons`` in 1..99, ``learning_rate`` log-uniform on
    [3e-4, 3e-2] (``reciprocal`` in the course).

    >>> sorted(course_param_distributions())
    ['learning_rate', 'n_hidden', 'n_neurons']
    """
    return {
        "n_hidden": [0, 1, 2, 3],
        "n_neurons": list(range(1, 100)),
        "learning_rate": stats.loguniform(3e-4, 3e-2),
    }


class MLPHyperModel(keras_tuner.HyperModel):
    """A KerasTuner search space over the course's MLP (see :func:`build_mlp`).

    Every range is an argument: a ``(low, high)`` pair, or one value to hold it fixed, or any
    other form :func:`~kerasx.tuning.distributions.search_dimension` reads (the course's
    ``n_neurons=np.arange(4, 33)``, a list, a scipy distribution), bounded by the
    hyperparameter's domain. A pair's scale follows :mod:`kerasx.tuning.distributions` (log
    scales for ``n_neurons``, ``learning_rate`` and a positive ``l2``; an ``l2`` range that
    starts at 0, the default, is "no penalty half of the time, else log scale on
    ``[high / 1000, high]``": the hyperparameters ``use_l2`` and ``l2``); the other forms are
    searched as written. ``activation`` is a choice among ``activations``. All hidden layers
    share ``n_neurons``, as in the course. Usable with ``RandomSearch``, ``Hyperband`` and
    ``BayesianOptimization``; :func:`kerasx.tuning.make_tuner` also checks the objective name
    before anything runs. Each ``build`` starts from a clean Keras session.

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
    kerasx.InvalidArgument: Invalid value for argument `learning_rate`. Expected a (low, high) pair with low <= high. Received: learning_rate=(0.1, 0.001)
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
        if isinstance(input_shape, str) or not np.iterable(input_shape) or not tuple(input_shape):
            raise invalid_value("input_shape", "a non-empty shape such as (30000,)", input_shape)
        self.input_shape = tuple(check_int("input_shape", d, minimum=1) for d in input_shape)
        self.output = _check_output(output)
        given = dict(
            n_hidden=n_hidden, n_neurons=n_neurons, learning_rate=learning_rate, dropout=dropout,
            l2=l2,
        )  # fmt: skip
        self.search_ranges = {name: mlp_dimension(name, value) for name, value in given.items()}
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

    #: What :func:`kerasx.tuning.tune` needs to search it with ``tuner="sklearn"`` too.
    builds_mlp = True

    @property
    def ranges(self):
        """``{name: (low, high)}`` for every ranged hyperparameter (a list of values, or the
        range's scale and step, for one given in another form)."""
        return {
            name: (r.low, r.high) if _plain_range(r) else r.describe()
            for name, r in self.search_ranges.items()
        }

    @property
    def metric_names(self):
        """The names a tuner's objective may use: the compiled loss and metrics, plain and val_."""
        return objective_names(mlp_metric_names(self.output))

    def draw(self, hp):
        """Declares the hyperparameters on ``hp`` and returns the values for :func:`build_mlp`."""
        values = {name: r.declare(hp) for name, r in self.search_ranges.items()}
        if len(self.activations) == 1:
            values["activation"] = hp.Fixed("activation", self.activations[0])
        else:
            values["activation"] = hp.Choice("activation", list(self.activations))
        return values

    def build(self, hp):
        """Builds the compiled model for the hyperparameters drawn on ``hp``."""
        return build_mlp(**self.draw(hp), input_shape=self.input_shape, output=self.output)

    def param_distributions(self):
        """The same space for scikit-learn's ``RandomizedSearchCV`` (lists and distributions).

        >>> sorted(MLPHyperModel((4,)).param_distributions())
        ['activation', 'dropout', 'l2', 'learning_rate', 'n_hidden', 'n_neurons']
        """
        distributions = {name: r.sampler() for name, r in self.search_ranges.items()}
        return {**distributions, "activation": list(self.activations)}


def _plain_range(dimension):
    """A range given as a ``(low, high)`` pair (recorded as one, as before other forms)."""
    plain = isinstance(dimension, SearchRange) and dimension.source is None
    return plain and dimension.step is None


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
