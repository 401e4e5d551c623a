"""The course's logistic regression and MLP, forward and backward by hand, in NumPy.

This module is the independent reference that the Keras side of kerasx is checked against, so it
imports NumPy only (plus kerasx's pure-Python argument checks).

Loss convention: the **sum** of the negative log-likelihood (NLL) over rows, as in the course::

    NLL(β) = −Σᵢ [yᵢ log p̂ᵢ + (1 − yᵢ) log(1 − p̂ᵢ)],   p̂ = σ(Xβ)
    ∇NLL(β) = Xᵀ(p̂ − y)

``alpha`` is the step on the gradient of that sum (of one mini-batch's sum in mini-batch SGD):
``β ← β − alpha · Xᵀ(p̂ − y)``. Keras's ``SGD(learning_rate=lr)`` on the *mean* binary
cross-entropy over a batch of ``b`` rows takes the same step when ``alpha = lr / b``.

The MLP reference (:class:`MLP`) defaults to the same sum convention and offers
``reduction="mean"`` for the Keras convention (mean cross-entropy over rows plus the penalties,
which Keras adds once per batch, not per row).

>>> X, y = simulate_logistic(1000, (1.0, 2.0), seed=0)
>>> beta_hat, history = lr_nn(X, y, epochs=200, alpha=0.002)
>>> np.round(beta_hat, 1)  # the true β is (1, 2)
array([1.1, 2. ])
"""

import itertools

import numpy as np

from kerasx._validation import (
    check_int,
    check_non_negative,
    check_one_of,
    check_positive,
    invalid_value,
)

__all__ = [
    "MLP",
    "backward",
    "forward",
    "gradient_descent",
    "lr_nn",
    "numerical_gradient",
    "optimize",
    "sigmoid",
    "simulate_logistic",
]

HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
OUTPUT_ACTIVATIONS = ("sigmoid", "softmax")
REDUCTIONS = ("sum", "mean")


# --------------------------------------------------------------------------- input checks


def _describe(a):
    """A short text for an array in an error message."""
    text = np.array2string(np.asarray(a), threshold=6, edgeitems=2)
    return f"array of shape {np.shape(a)}: {text}"


def _array_error(name, expected, a):
    """The standard ``ValueError``, with the array summarized instead of printed in full."""
    return invalid_value(name, expected, a, describe=_describe)


def _as_finite(name, a, ndim):
    """Converts ``a`` to a float64 array of ``ndim`` dimensions with finite values, or raises."""
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        expected = f"a {ndim}-D array of finite numbers"
        raise _array_error(name, expected, np.asarray(a, dtype=object)) from None
    if arr.ndim != ndim or arr.size == 0:
        raise _array_error(name, f"a non-empty {ndim}-D array", arr)
    if not np.all(np.isfinite(arr)):
        raise _array_error(name, "finite values (no NaN or inf)", arr)
    return arr


def _check_binary(name, y):
    if not np.all((y == 0) | (y == 1)):
        raise _array_error(name, "labels in {0, 1}", y)
    return y


def _check_lengths(X, y, y_name="y"):
    if y.shape[0] != X.shape[0]:
        raise _array_error(y_name, f"as many rows as X ({X.shape[0]})", y)


def _check_xy(X, y):
    X = _as_finite("X", X, 2)
    y = _check_binary("y", _as_finite("y", y, 1))
    _check_lengths(X, y)
    return X, y


def _check_beta(beta, q, name="beta"):
    beta = _as_finite(name, np.atleast_1d(beta), 1)
    if beta.shape[0] != q:
        raise _array_error(name, f"a vector of length {q} (one weight per column of X)", beta)
    return beta


# --------------------------------------------------------------------------- logistic regression


def sigmoid(z):
    """The logistic function σ(z) = 1 / (1 + e^(−z)), numerically stable for large |z|.

    ``exp`` is only ever taken of a non-positive number, so nothing overflows: for z ≥ 0 it uses
    1 / (1 + e^(−z)); for z < 0 the equal form e^z / (1 + e^z).

    Args:
        z: a number or array.

    Returns:
        σ(z) as float64, same shape as ``z``.

    >>> sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    array([0. , 0.5, 1. ])
    """
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def simulate_logistic(n=1000, beta=(1.0, 2.0), seed=0, *, X=None):
    """Simulates the course's data: y | x ~ Bernoulli(σ(x·β)), no intercept.

    Args:
        n: number of rows (ignored when ``X`` is given).
        beta: the true coefficients; their number is the number of columns q.
        seed: seed of the NumPy generator.
        X: optional design matrix (n, q); by default standard normal.

    Returns:
        ``(X, y)``: X float64 of shape (n, q), y float64 of 0s and 1s of shape (n,).

    Raises:
        ValueError: ``n < 1``, non-finite ``beta``, or ``X`` with the wrong number of columns.

    >>> X, y = simulate_logistic(5, (1.0, 2.0), seed=0)
    >>> X.shape, y.shape, set(y) <= {0.0, 1.0}
    ((5, 2), (5,), True)
    """
    beta = _as_finite("beta", np.atleast_1d(beta), 1)
    rng = np.random.default_rng(seed)
    if X is None:
        n = check_int("n", n, minimum=1)
        X = rng.standard_normal((n, beta.shape[0]))
    else:
        X = _as_finite("X", X, 2)
        _check_beta(beta, X.shape[1])
    y = rng.binomial(1, sigmoid(X @ beta)).astype(np.float64)
    return X, y


def forward(X, y, beta):
    """Forward propagation: z = Xβ, p̂ = σ(z), and the NLL (a sum over rows).

    Args:
        X: design matrix (n, q).
        y: labels in {0, 1}, shape (n,).
        beta: coefficients, shape (q,).

    Returns:
        ``(p_hat, nll)``: the predicted probabilities (n,) and the summed NLL (a float).

    Raises:
        ValueError: mismatched lengths, labels outside {0, 1}, non-finite values, wrong beta length.

    >>> p_hat, nll = forward(np.array([[0.0], [1.0]]), np.array([0.0, 1.0]), np.array([0.0]))
    >>> p_hat, round(nll, 4)  # two rows with p̂ = 0.5: NLL = 2 log 2
    (array([0.5, 0.5]), 1.3863)
    """
    X, y = _check_xy(X, y)
    beta = _check_beta(beta, X.shape[1])
    z = X @ beta
    p_hat = sigmoid(z)
    # NLL from the logits: −[y log σ(z) + (1 − y) log(1 − σ(z))] = log(1 + e^z) − y·z, which stays
    # finite where p̂ rounds to exactly 0 or 1.
    nll = float(np.sum(np.logaddexp(0.0, z) - y * z))
    return p_hat, nll


def backward(X, y, p_hat):
    """Backward propagation: the gradient of the summed NLL with respect to β.

    Written as the course's three chain-rule factors, per row::

        dL/dp̂ = −(y/p̂ − (1 − y)/(1 − p̂)),   dp̂/dz = p̂(1 − p̂),   dz/dβ = x

    whose product, summed over rows, simplifies to ∇NLL(β) = Xᵀ(p̂ − y).

    Args:
        X: design matrix (n, q).
        y: labels in {0, 1}, shape (n,).
        p_hat: predicted probabilities in [0, 1], shape (n,), from :func:`forward`.

    Returns:
        The gradient, shape (q,).

    Raises:
        ValueError: mismatched lengths, labels outside {0, 1}, ``p_hat`` outside [0, 1] or
            non-finite.

    >>> backward(np.array([[1.0, 2.0]]), np.array([1.0]), np.array([0.25]))
    array([-0.75, -1.5 ])
    """
    X, y = _check_xy(X, y)
    p_hat = _as_finite("p_hat", p_hat, 1)
    _check_lengths(X, p_hat, "p_hat")
    if np.any((p_hat < 0) | (p_hat > 1)):
        raise _array_error("p_hat", "probabilities in [0, 1]", p_hat)
    # dL/dp̂ has 1/p̂ and 1/(1 − p̂), which overflow when p̂ rounds to 0 (or to a subnormal) or
    # to 1; there use the product of the three factors simplified by hand, p̂ − y.
    if not np.all((p_hat >= np.finfo(np.float64).tiny) & (p_hat < 1.0)):
        return X.T @ (p_hat - y)
    dL_dp = -(y / p_hat - (1.0 - y) / (1.0 - p_hat))  # NLL per row, w.r.t. p̂
    dp_dz = p_hat * (1.0 - p_hat)  # σ'(z) = σ(z)(1 − σ(z))
    dz_dbeta = X  # z = Xβ
    # Chain rule, summed over rows: Xᵀ (dL/dp · dp/dz) = Xᵀ(p̂ − y).
    return dz_dbeta.T @ (dL_dp * dp_dz)


def gradient_descent(alpha, beta, grad):
    """One gradient-descent step: β ← β − α·∇.

    Args:
        alpha: step size (> 0), applied to the gradient of the summed NLL.
        beta: current coefficients (q,).
        grad: gradient at ``beta`` (q,).

    Returns:
        The new coefficients, a new array.

    Raises:
        ValueError: ``alpha <= 0``, non-finite values, or ``grad`` of another length than ``beta``.

    >>> gradient_descent(0.1, np.array([1.0, 2.0]), np.array([10.0, -10.0]))
    array([0., 3.])
    """
    check_positive("alpha", alpha)
    beta = _as_finite("beta", np.atleast_1d(beta), 1)
    grad = _check_beta(grad, beta.shape[0], name="grad")
    return beta - alpha * grad


def optimize(X, y, beta, alpha):
    """One iteration: forward, backward, and a gradient-descent step.

    Args:
        X: design matrix (n, q).
        y: labels in {0, 1}, shape (n,).
        beta: current coefficients (q,).
        alpha: step size (> 0) on the gradient of the summed NLL.

    Returns:
        ``(new_beta, nll)`` where ``nll`` is the summed NLL at the *input* ``beta``.

    Raises:
        ValueError: as :func:`forward` and :func:`gradient_descent`.

    >>> X, y = np.array([[1.0], [-1.0]]), np.array([1.0, 0.0])
    >>> optimize(X, y, np.array([0.0]), alpha=1.0)  # gradient −1: one step to β = 1
    (array([1.]), 1.3862943611198906)
    """
    check_positive("alpha", alpha)
    p_hat, nll = forward(X, y, beta)
    return gradient_descent(alpha, beta, backward(X, y, p_hat)), nll


def lr_nn(X, y, epochs, *, alpha, batch_size=None, init=-2.5, seed=0):
    """Fits logistic regression by gradient descent, the course's ``lr_nn``.

    ``batch_size=None`` is full-batch gradient descent: one step per epoch on the gradient of the
    NLL summed over all n rows. An integer ``b`` is mini-batch SGD: every epoch draws a fresh
    random permutation of the rows, cuts it into batches of ``b`` rows (the last one may be
    smaller) and steps once per batch on that batch's summed-NLL gradient, so each row is seen
    once per epoch. Keras's ``SGD(learning_rate=lr)`` on the mean cross-entropy is ``alpha = lr/b``.

    Args:
        X: design matrix (n, q).
        y: labels in {0, 1}, shape (n,).
        epochs: number of passes over the data (>= 1).
        alpha: step size (> 0) on the summed-NLL gradient.
        batch_size: ``None`` for full batch, else the mini-batch size (>= 1).
        init: initial β̂, a number (repeated q times, the course's −2.5) or a vector of length q.
        seed: seed of the shuffling generator (mini-batch only).

    Returns:
        ``(beta_hat, history)``: the final coefficients (q,) and an array (epochs,) whose entry
        k is the summed NLL over all n rows at β̂ at the end of epoch k + 1 (so ``history[-1]``
        is the NLL of ``beta_hat``).

    Raises:
        ValueError: bad ``X``/``y`` (see :func:`forward`), ``epochs < 1``, ``batch_size < 1``,
            ``alpha <= 0``, or ``init`` of the wrong length.

    >>> X, y = simulate_logistic(200, (1.0, 2.0), seed=1)
    >>> beta_hat, history = lr_nn(X, y, epochs=3, alpha=0.01)
    >>> bool(history[0] > history[1] > history[2])
    True
    """
    X, y = _check_xy(X, y)
    epochs = check_int("epochs", epochs, minimum=1)
    check_positive("alpha", alpha)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, minimum=1)
    q = X.shape[1]
    init = np.atleast_1d(np.asarray(init, dtype=np.float64))
    beta = _check_beta(np.repeat(init, q) if init.shape == (1,) else init, q, name="init")
    rng = np.random.default_rng(seed)
    history = np.empty(epochs)
    for epoch in range(epochs):
        if batch_size is None:
            beta, _ = optimize(X, y, beta, alpha)
        else:
            order = rng.permutation(X.shape[0])
            for start in range(0, X.shape[0], batch_size):
                rows = order[start : start + batch_size]
                beta, _ = optimize(X[rows], y[rows], beta, alpha)
        history[epoch] = forward(X, y, beta)[1]
    return beta, history


def numerical_gradient(f, w, eps=1e-6):
    """Central finite differences, for gradient checking.

    ∂f/∂wᵢ ≈ (f(w + eps·eᵢ) − f(w − eps·eᵢ)) / (2·eps), with an error of order eps².

    Args:
        f: a function of an array shaped like ``w`` returning a number.
        w: the point (any shape); it is not modified.
        eps: the half-width of the difference (> 0).

    Returns:
        The float64 gradient estimate, shaped like ``w``.

    Raises:
        ValueError: ``eps <= 0`` or non-finite ``w``.

    >>> g = numerical_gradient(lambda w: np.sum(w**3), np.array([1.0, 2.0]))
    >>> np.round(g, 6)  # 3w²
    array([ 3., 12.])
    """
    check_positive("eps", eps)
    w = np.array(w, dtype=np.float64)
    if w.size == 0 or not np.all(np.isfinite(w)):
        raise _array_error("w", "a non-empty array of finite numbers", w)
    grad = np.empty_like(w)
    for i in np.ndindex(w.shape):
        original = w[i]
        w[i] = original + eps
        plus = f(w.copy())
        w[i] = original - eps
        minus = f(w.copy())
        w[i] = original
        grad[i] = (plus - minus) / (2.0 * eps)
    return grad


# --------------------------------------------------------------------------- MLP reference


def _activate(name, z):
    if name == "sigmoid":
        return sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    return z  # linear


def _activation_derivative(name, z, a):
    """da/dz given the pre-activation ``z`` and the activation ``a``."""
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "tanh":
        return 1.0 - a**2
    if name == "relu":
        return (z > 0.0).astype(np.float64)  # 0 at the kink, as TensorFlow
    return np.ones_like(z)


def _softmax(z):
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def _per_layer(name, value, n_layers, check):
    values = list(value) if np.ndim(value) else [value] * n_layers
    if len(values) != n_layers:
        raise _array_error(name, f"one value or {n_layers} values (one per layer)", values)
    return [check(name, v) for v in values]


class MLP:
    """A dense network in NumPy: forward pass, loss, and every weight and bias gradient.

    Layer l computes ``a_l = act_l(a_{l−1} W_l + b_l)`` with ``a_0 = X``; the hidden activations
    are sigmoid, tanh, relu or linear, the output is sigmoid (one unit, binary cross-entropy) or
    softmax (C ≥ 2 units, categorical cross-entropy on one-hot labels). The loss is::

        loss = CE + Σ_l (l1_l · Σ|W_l| + l2_l · Σ W_l²)

    where CE is the cross-entropy summed over rows (``reduction="sum"``, the course's NLL) or
    averaged over rows (``reduction="mean"``, Keras's ``compile(loss=...)`` convention). The
    penalties act on the weight matrices only, never on biases, exactly as Keras's
    ``kernel_regularizer=keras.regularizers.L1L2(l1, l2)`` on each ``Dense`` layer.

    The weights are the lists (of copies of the arrays given) ``mlp.weights (W_l of shape (inputs, units)) and ``mlp.biases``
    (b_l of shape (units,)), the layout of Keras's ``Dense``: a Keras model's
    ``get_weights()`` is ``[W_1, b_1, W_2, b_2, ...]``, so ``MLP(ws[0::2], ws[1::2], ...)``.

    Args:
        weights: list of weight matrices, one per layer.
        biases: list of bias vectors, one per layer.
        activations: hidden activation, one name for every hidden layer or a list of one per
            hidden layer; each one of ``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"linear"``.
        output: ``"sigmoid"`` or ``"softmax"``.
        l1: L1 penalty factor (>= 0), one for all layers or a list of one per layer.
        l2: L2 penalty factor (>= 0), one for all layers or a list of one per layer.
        reduction: ``"sum"`` or ``"mean"`` of the cross-entropy over rows.

    Raises:
        ValueError: shapes that do not chain, unknown activation/output/reduction, negative
            penalties, a sigmoid output with more than one unit or a softmax one with fewer than 2.

    >>> mlp = MLP.initialize([2, 4, 1], "tanh", seed=0)
    >>> X, y = simulate_logistic(8, (1.0, 2.0), seed=0)
    >>> grad_weights, grad_biases = mlp.backward(X, y)
    >>> [g.shape for g in grad_weights], [g.shape for g in grad_biases]
    ([(2, 4), (4, 1)], [(4,), (1,)])
    """

    def __init__(
        self,
        weights,
        biases,
        activations="sigmoid",
        *,
        output="sigmoid",
        l1=0.0,
        l2=0.0,
        reduction="sum",
    ):
        # Copies, so that the caller's arrays and this network never change each other.
        self.weights = [_as_finite(f"weights[{i}]", w, 2).copy() for i, w in enumerate(weights)]
        self.biases = [_as_finite(f"biases[{i}]", b, 1).copy() for i, b in enumerate(biases)]
        n_layers = len(self.weights)
        if n_layers == 0 or len(self.biases) != n_layers:
            raise _array_error("biases", f"{n_layers} bias vectors (one per layer)", self.biases)
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            if i and w.shape[0] != self.weights[i - 1].shape[1]:
                expected = f"{self.weights[i - 1].shape[1]} rows (the previous layer's units)"
                raise _array_error(f"weights[{i}]", expected, w)
            if b.shape != (w.shape[1],):
                raise _array_error(f"biases[{i}]", f"shape ({w.shape[1]},)", b)
        self.activations = _per_layer(
            "activations",
            [activations] * (n_layers - 1) if isinstance(activations, str) else activations,
            n_layers - 1,
            lambda name, a: check_one_of(name, a, HIDDEN_ACTIVATIONS),
        )
        self.output = check_one_of("output", output, OUTPUT_ACTIVATIONS)
        units = self.weights[-1].shape[1]
        if (output == "sigmoid" and units != 1) or (output == "softmax" and units < 2):
            expected = "1 unit" if output == "sigmoid" else "at least 2 units"
            last = f"weights[{n_layers - 1}]"
            raise _array_error(last, f"{expected} for a {output} output", self.weights[-1])
        self.l1 = _per_layer("l1", l1, n_layers, check_non_negative)
        self.l2 = _per_layer("l2", l2, n_layers, check_non_negative)
        self.reduction = check_one_of("reduction", reduction, REDUCTIONS)

    @classmethod
    def initialize(cls, layer_sizes, activations="sigmoid", *, seed=0, **kwargs):
        """Builds an MLP with Keras's default initialization (Glorot uniform, zero biases).

        Args:
            layer_sizes: ``[inputs, units_1, ..., units_L]``.
            activations: hidden activation(s), as in :class:`MLP`.
            seed: seed of the NumPy generator.
            **kwargs: ``output``, ``l1``, ``l2``, ``reduction``, as in :class:`MLP`.

        Returns:
            A new :class:`MLP`.

        >>> MLP.initialize([3, 5, 2], "relu", output="softmax").weights[0].shape
        (3, 5)
        """
        sizes = [check_int("layer_sizes", s, minimum=1) for s in layer_sizes]
        if len(sizes) < 2:
            raise _array_error("layer_sizes", "at least 2 sizes (inputs and outputs)", sizes)
        rng = np.random.default_rng(seed)
        weights, biases = [], []
        for fan_in, fan_out in itertools.pairwise(sizes):
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            weights.append(rng.uniform(-limit, limit, size=(fan_in, fan_out)))
            biases.append(np.zeros(fan_out))
        return cls(weights, biases, activations, **kwargs)

    def _check_X(self, X):
        X = _as_finite("X", X, 2)
        if X.shape[1] != self.weights[0].shape[0]:
            raise _array_error("X", f"{self.weights[0].shape[0]} columns", X)
        return X

    def _check_y(self, X, y):
        if self.output == "sigmoid":
            if np.ndim(y) == 2 and np.shape(y)[1] == 1:
                y = np.ravel(y)
            y = _check_binary("y", _as_finite("y", y, 1)).reshape(-1, 1)
        else:
            y = _as_finite("y", y, 2)
            units = self.weights[-1].shape[1]
            one_hot = y.shape[1] == units and np.all((y == 0) | (y == 1)) and np.all(y.sum(1) == 1)
            if not one_hot:
                raise _array_error("y", f"one-hot rows of {units} classes", y)
        _check_lengths(X, y)
        return y

    def _forward(self, X):
        """Returns the pre-activations ``zs`` and activations ``activations`` of every layer."""
        zs, outs = [], [X]
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = outs[-1] @ w + b
            hidden = i < len(self.weights) - 1
            name = self.activations[i] if hidden else self.output
            zs.append(z)
            outs.append(_activate(name, z) if name != "softmax" else _softmax(z))
        return zs, outs

    def logits(self, X):
        """The output layer's pre-activation z_L (n, units), before sigmoid/softmax.

        >>> MLP([np.eye(2)], [np.ones(2)], output="softmax").logits(np.array([[1.0, 2.0]]))
        array([[2., 3.]])
        """
        return self._forward(self._check_X(X))[0][-1]

    def predict(self, X):
        """The output probabilities (n, units): σ(z_L) or softmax(z_L).

        >>> MLP([np.zeros((2, 1))], [np.zeros(1)]).predict(np.ones((1, 2)))
        array([[0.5]])
        """
        return self._forward(self._check_X(X))[1][-1]

    def penalty(self):
        """Σ_l (l1_l Σ|W_l| + l2_l Σ W_l²), the regularization part of the loss.

        >>> MLP([np.array([[1.0], [-2.0]])], [np.zeros(1)], l1=0.1, l2=1.0).penalty()
        5.3
        """
        return float(
            sum(
                l1 * np.sum(np.abs(w)) + l2 * np.sum(w**2)
                for w, l1, l2 in zip(self.weights, self.l1, self.l2, strict=True)
            )
        )

    def loss(self, X, y):
        """Cross-entropy (summed or averaged over rows, see ``reduction``) plus the penalty.

        Args:
            X: inputs (n, inputs).
            y: labels: 0/1 of shape (n,) or (n, 1) for a sigmoid output, one-hot (n, C) for
                softmax.

        Returns:
            The loss, a float.

        Raises:
            ValueError: bad shapes, non-finite values, labels not in {0, 1} or not one-hot.

        >>> mlp = MLP([np.zeros((2, 1))], [np.zeros(1)], reduction="mean")
        >>> round(mlp.loss(np.ones((3, 2)), np.array([0, 1, 1])), 6)  # log 2
        0.693147
        """
        X = self._check_X(X)
        y = self._check_y(X, y)
        z = self._forward(X)[0][-1]
        if self.output == "sigmoid":
            per_row = np.logaddexp(0.0, z) - y * z  # from logits, as in forward()
        else:
            log_p = z - np.max(z, axis=1, keepdims=True)
            log_p -= np.log(np.sum(np.exp(log_p), axis=1, keepdims=True))
            per_row = -y * log_p
        total = np.sum(per_row)
        if self.reduction == "mean":
            total /= X.shape[0]
        return float(total) + self.penalty()

    def backward(self, X, y):
        """The gradient of :meth:`loss` with respect to every weight matrix and bias.

        With the matching cross-entropy, both outputs give dCE/dz_L = P − Y per row (÷ n for
        ``reduction="mean"``). Going down, layer by layer::

            dW_l = a_{l−1}ᵀ δ_l + l1_l sign(W_l) + 2 l2_l W_l,   db_l = Σ_rows δ_l,
            δ_{l−1} = (δ_l W_lᵀ) ⊙ act'_{l−1}(z_{l−1})

        Args:
            X: inputs (n, inputs).
            y: labels, as in :meth:`loss`.

        Returns:
            ``(grad_weights, grad_biases)``: lists shaped like ``weights`` and ``biases``.

        Raises:
            ValueError: as :meth:`loss`.

        >>> mlp = MLP([np.zeros((1, 1))], [np.zeros(1)])
        >>> mlp.backward(np.array([[2.0]]), np.array([1.0]))  # (p̂ − y)·x = −0.5·2
        ([array([[-1.]])], [array([-0.5])])
        """
        X = self._check_X(X)
        y = self._check_y(X, y)
        zs, outs = self._forward(X)
        delta = outs[-1] - y
        if self.reduction == "mean":
            delta = delta / X.shape[0]
        grad_weights, grad_biases = [], []
        for i in reversed(range(len(self.weights))):
            w = self.weights[i]
            grad_weights.append(outs[i].T @ delta + self.l1[i] * np.sign(w) + 2.0 * self.l2[i] * w)
            grad_biases.append(np.sum(delta, axis=0))
            if i:
                name = self.activations[i - 1]
                delta = (delta @ w.T) * _activation_derivative(name, zs[i - 1], outs[i])
        return grad_weights[::-1], grad_biases[::-1]
