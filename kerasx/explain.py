"""See what an image classifier sees: Grad-CAM heatmaps and its most confident mistakes.

- :func:`grad_cam`: where in each image the evidence for a class lies (Selvaraju et al., 2017),
  for any Functional or Sequential Keras model with a convolutional layer, nested models
  included. Works under the TensorFlow and JAX backends.
- :func:`overlay`: a heatmap blended over its image, as RGB.
- :func:`top_errors`: the most confident mistakes, as fastai's ``plot_top_losses`` shows them.
- :func:`plot_top_errors` and :func:`plot_grad_cam` write those galleries as PNG files.

>>> import numpy as np
>>> top_errors([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.3], k=3)
array([2, 1])
"""

import types
import warnings

import keras
import numpy as np
from keras import ops

from kerasx._plotting import labels_and_scores, name_classes, new_figure, save_figure
from kerasx._validation import check_in_range, check_int, invalid_value

__all__ = [
    "grad_cam",
    "grad_cam_examples",
    "overlay",
    "plot_grad_cam",
    "plot_top_errors",
    "top_errors",
]

_CONV_LAYERS = (
    keras.layers.Conv2D,
    keras.layers.Conv2DTranspose,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv2D,
)
_BACKENDS = ("tensorflow", "jax")


# ----------------------------------------------------------------------------- finding layers


def _walk(model):
    """Every layer of ``model`` in graph order, the layers of nested models in their place."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _walk(layer)


def _target_layer(model, layer):
    layers = list(_walk(model))
    if layer is None:
        convolutions = [each for each in layers if isinstance(each, _CONV_LAYERS)]
        if not convolutions:
            raise invalid_value("model", "a model with a convolutional layer", model.name)
        return convolutions[-1]
    for each in layers:
        if each is layer or each.name == layer:
            if len(each.output.shape) != 4:
                expected = "a layer with image-shaped output (batch, height, width, channels)"
                raise invalid_value("layer", expected, each.name)
            return each
    names = [each.name for each in layers]
    raise invalid_value("layer", f"None or the name of a layer of the model, one of {names}", layer)


def _output_layer(model):
    """The layer that makes the (single) output: the last one in graph order, recursively."""
    last = model.layers[-1]
    return _output_layer(last) if isinstance(last, keras.Model) else last


# ------------------------------------------------------------------------ the probed clone


class _Probe(keras.layers.Layer):
    """Runs ``layer`` and keeps its output ``A`` (plus ``state.delta``, for JAX's gradient)."""

    def __init__(self, layer, state):
        super().__init__(name=f"{layer.name}_probe")
        self.layer = layer
        self.state = state

    def call(self, inputs):
        activation = self.layer(inputs)
        if self.state.delta is not None:
            activation = activation + self.state.delta
        self.state.activation = activation
        return activation


def _probed_clone(model, target):
    """A copy of ``model`` that shares its layers, with ``target`` probed and logits out.

    The output layer, if it ends in a sigmoid or softmax, is replaced by a linear copy with the
    same weights, so the class score is the logit (pre-activation), as in the Grad-CAM paper.
    """
    state = types.SimpleNamespace(activation=None, delta=None)
    output_layer = _output_layer(model)
    config = output_layer.get_config()
    linear = None
    if config.get("activation") in ("sigmoid", "softmax") and output_layer is not target:
        linear = type(output_layer).from_config({**config, "activation": "linear"})

    def clone_layer(layer):
        if layer is target:
            return _Probe(layer, state)
        if linear is not None and layer is output_layer:
            return linear
        return layer

    clone = keras.models.clone_model(model, clone_function=clone_layer, recursive=True)
    if linear is not None:
        linear.set_weights(output_layer.get_weights())
    return clone, state


def _class_scores(logits, class_index):
    """The sum over the batch of each image's logit for its class (``-z`` for class 0 of one)."""
    if logits.shape[-1] == 1:
        logits = ops.concatenate([-logits, logits], axis=-1)
    if class_index == "predicted":
        index = ops.argmax(ops.stop_gradient(logits), axis=-1)
    else:
        index = ops.full((logits.shape[0],), class_index, dtype="int32")
    return ops.sum(ops.take_along_axis(logits, ops.expand_dims(index, -1), axis=-1))


def _activations_and_gradients(clone, state, images, class_index):
    """``(A, dS/dA)`` for a batch, as NumPy arrays; ``S`` is the sum of the class scores."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            score = _class_scores(clone(images, training=False), class_index)
        _check_reached(state)
        gradients = tape.gradient(score, state.activation)
        return state.activation.numpy(), gradients.numpy()
    import jax

    clone(images, training=False)  # to learn A's shape
    _check_reached(state)

    def score_and_activation(delta):
        state.delta = delta
        return _class_scores(clone(images, training=False), class_index), state.activation

    try:
        zeros = jax.numpy.zeros(state.activation.shape, state.activation.dtype)
        gradients, activation = jax.grad(score_and_activation, has_aux=True)(zeros)
    finally:
        state.delta = None
    return np.asarray(activation), np.asarray(gradients)


def _check_reached(state):
    if state.activation is None:
        expected = "a layer that the model's graph calls (not one inside a subclassed model)"
        raise invalid_value("layer", expected, "unreachable")


# ---------------------------------------------------------------------------------- Grad-CAM


def _warn_if_0_to_255(images):
    """Warns when ``images`` look like 0-255 pixels: integers, or whole numbers above 1."""
    if images.size == 0 or images.dtype.kind not in "iuf":
        return
    high = images.max()
    looks_0_255 = images.dtype.kind in "iu" or (
        images.min() >= 0 and high > 1 and np.array_equal(images, np.round(images))
    )
    if looks_0_255 and high > 1:
        warnings.warn(
            f"grad_cam: the images hold whole numbers up to {high:g} ({images.dtype}), which "
            "look like 0-255 pixels, but kerasx's models (and the images kerasx.data loads) "
            "take floats in [0, 1]. Divide them by 255 first, unless the model rescales its "
            "input itself: the heatmaps are computed on the values as given.",
            UserWarning,
            stacklevel=3,
        )


def _check_images(model, images):
    inputs = getattr(model, "inputs", None)
    if not isinstance(model, keras.Model) or not inputs or len(inputs) != 1:
        expected = "a built Functional or Sequential keras.Model with one input"
        raise invalid_value("model", expected, type(model).__name__)
    _warn_if_0_to_255(np.asarray(images))
    images = np.asarray(images, dtype="float32")
    if images.ndim != 4 or images.shape[0] == 0:
        raise invalid_value(
            "images.shape", "(n, height, width, channels) with n >= 1", images.shape
        )
    expected = tuple(inputs[0].shape[1:])
    fits = len(expected) == 3 and all(
        e in (None, s) for e, s in zip(expected, images.shape[1:], strict=True)
    )
    if not fits:
        raise invalid_value("images.shape", f"(n, *{expected}) for the model's input", images.shape)
    return images


def grad_cam(model, images, layer=None, *, class_index=None, batch_size=32):
    """Grad-CAM heatmaps: where in each image the chosen class's evidence lies.

    With ``A_k`` the ``k``-th feature map of ``layer`` for one image and ``y`` the class
    score::

        α_k = mean over positions (i, j) of ∂y / ∂A_k[i, j]
        L   = ReLU(Σ_k α_k · A_k)                                  (layer resolution)
        H   = resize(L, input height × width, bilinear) / max(...)   (in [0, 1])

    The class score ``y`` is the **logit** (the pre-activation): if the model's output layer
    ends in a sigmoid or softmax, it is replaced by a linear copy for the computation, as in
    the Grad-CAM paper. Using the probability instead would give the same heatmap for one
    sigmoid unit, except where the probability saturates at 1.0 and its gradient vanishes;
    with a softmax it would also mix in the other classes. For one sigmoid unit the score of
    class 1 is the logit ``z`` and that of class 0 is ``-z``.

    The model runs in inference mode (``training=False``): dropout, batch-normalization
    updates and augmentation layers are inactive. The model is not changed; its layers are
    shared by a temporary copy with the layer probed.

    Args:
        model: a built Functional or Sequential ``keras.Model`` with one image input
            ``(height, width, channels)`` and one output (e.g. a trained classifier).
        images: array ``(n, height, width, channels)`` as the model takes it: for kerasx's
            models, floats in [0, 1]. Images that look like 0-255 pixels (an integer dtype
            such as uint8, or whole numbers above 1) give a warning: a model trained on [0, 1]
            sees them up to 255 times too bright, and its heatmaps explain that.
        layer: the layer whose feature maps are weighted: a name, a layer, or ``None`` for
            the last convolutional layer (``Conv2D``, ``Conv2DTranspose``,
            ``DepthwiseConv2D``, ``SeparableConv2D``), nested models included.
        class_index: the class whose evidence is shown: ``None`` for the positive class (1)
            of a one-unit output and the predicted class otherwise, ``"predicted"`` for each
            image's predicted class (one unit: class 1 when the logit is > 0), or an integer.
        batch_size: images per forward and backward pass.

    Returns:
        float32 array ``(n, height, width)`` in [0, 1]: each heatmap divided by its maximum
        (all zeros where no position has positive evidence).

    Raises:
        ValueError: for an unknown or non-image layer, a model without convolutional layer,
            images of the wrong shape, or other invalid arguments.
        NotImplementedError: under a Keras backend other than TensorFlow or JAX.

    >>> import keras, numpy as np
    >>> inputs = keras.Input((8, 8, 3))
    >>> features = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    >>> pooled = keras.layers.GlobalAveragePooling2D()(features)
    >>> model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(pooled))
    >>> heatmaps = grad_cam(model, np.random.default_rng(0).random((2, 8, 8, 3)))
    >>> heatmaps.shape, bool(heatmaps.min() >= 0), bool(heatmaps.max() <= 1)
    ((2, 8, 8), True, True)
    """
    backend = keras.backend.backend()
    if backend not in _BACKENDS:
        raise NotImplementedError(
            f"kerasx.explain.grad_cam needs the TensorFlow or JAX backend of Keras (it takes "
            f"gradients with respect to a layer's output); the backend is {backend!r}. Set "
            "KERAS_BACKEND=tensorflow or KERAS_BACKEND=jax before importing Keras to use it."
        )
    images = _check_images(model, images)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    target = _target_layer(model, layer)
    class_index = _resolve_class_index(model, class_index)
    clone, state = _probed_clone(model, target)
    maps = []
    for start in range(0, len(images), batch_size):
        activation, gradients = _activations_and_gradients(
            clone, state, images[start : start + batch_size], class_index
        )
        if getattr(target, "data_format", None) == "channels_first":
            activation, gradients = (np.moveaxis(a, 1, -1) for a in (activation, gradients))
        weights = gradients.mean(axis=(1, 2))
        maps.append(np.maximum(np.einsum("nijk,nk->nij", activation, weights), 0.0))
    return _upsample_and_scale(np.concatenate(maps), images.shape[1:3])


def _resolve_class_index(model, class_index):
    units = int(model.outputs[0].shape[-1])
    if class_index is None:
        return 1 if units == 1 else "predicted"
    if class_index == "predicted":
        return class_index
    num_classes = max(2, units)
    class_index = check_int("class_index", class_index, minimum=0)
    if class_index >= num_classes:
        expected = f"None, 'predicted' or an integer in [0, {num_classes})"
        raise invalid_value("class_index", expected, class_index)
    return class_index


def _upsample_and_scale(maps, size):
    resized = ops.image.resize(
        maps[..., None].astype("float32"),
        size,
        interpolation="bilinear",
        data_format="channels_last",
    )
    resized = np.maximum(ops.convert_to_numpy(resized)[..., 0], 0.0)
    peak = resized.max(axis=(1, 2), keepdims=True)
    return np.divide(resized, peak, out=np.zeros_like(resized), where=peak > 0)


# ------------------------------------------------------------------------------ overlay


def _as_rgb(images):
    """Images as float32 RGB ``(n, H, W, 3)`` in [0, 1], from floats in [0, 1] or uint8."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise invalid_value("images.shape", "(n, height, width, 1 or 3)", images.shape)
    if images.dtype == np.uint8:
        images = images / 255.0
    images = images.astype("float32")
    if images.size and not (images.min() >= 0 and images.max() <= 1):
        raise invalid_value("images", "pixel values in [0, 1] (or uint8)", float(images.max()))
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


def overlay(images, heatmaps, alpha=0.4, *, colormap="jet"):
    """Blends each heatmap, colored by a matplotlib colormap, over its image.

    ``result = (1 − alpha) · image + alpha · colormap(heatmap)``

    Args:
        images: ``(n, H, W, 3)``, ``(n, H, W, 1)`` or ``(n, H, W)``: floats in [0, 1] or
            uint8.
        heatmaps: ``(n, H, W)`` in [0, 1], e.g. from :func:`grad_cam`.
        alpha: the heatmap's weight, in [0, 1].
        colormap: a matplotlib colormap name.

    Returns:
        float32 RGB images ``(n, H, W, 3)`` in [0, 1].

    Raises:
        ValueError: for shapes that do not match or values out of range.

    >>> import numpy as np
    >>> blended = overlay(np.zeros((1, 2, 2, 3)), np.ones((1, 2, 2)), alpha=0.5)
    >>> blended.shape, blended[0, 0, 0].round(3).tolist()  # half of jet's dark red
    ((1, 2, 2, 3), [0.25, 0.0, 0.0])
    """
    import matplotlib

    images = _as_rgb(images)
    alpha = check_in_range("alpha", alpha, 0, 1)
    heatmaps = np.asarray(heatmaps, dtype="float32")
    if heatmaps.shape != images.shape[:3]:
        raise invalid_value("heatmaps.shape", f"{images.shape[:3]} to match images", heatmaps.shape)
    if heatmaps.size and not (heatmaps.min() >= 0 and heatmaps.max() <= 1):
        raise invalid_value("heatmaps", "values in [0, 1]", float(heatmaps.max()))
    colors = matplotlib.colormaps[colormap](heatmaps)[..., :3].astype("float32")
    return np.clip((1 - alpha) * images + alpha * colors, 0.0, 1.0)


# ------------------------------------------------------------------------------- mistakes


def _predictions(labels, scores, threshold):
    """``(predicted class, probability of the predicted class)`` per row."""
    if scores.ndim == 1:
        predicted = (scores > threshold).astype(np.int64)
        return predicted, np.where(predicted == 1, scores, 1.0 - scores)
    predicted = scores.argmax(axis=1)
    return predicted, scores[np.arange(len(scores)), predicted]


def _most_confident_first(indices, confidence):
    """``indices`` sorted by decreasing ``confidence``, ties by increasing index (stable)."""
    order = np.argsort(-confidence[indices], kind="stable")
    return indices[order]


def top_errors(y_true, scores, k=16, threshold=0.5):
    """Indices of the ``k`` most confident mistakes, most confident first.

    A row is a mistake when its predicted class differs from its label: for binary scores the
    prediction is positive when ``score > threshold`` (as :mod:`kerasx.metrics`), otherwise
    the arg-max. Mistakes are ranked by the probability the model gave its (wrong) predicted
    class, i.e. by their cross-entropy loss; equal probabilities keep the order of their
    indices. Correct rows are never returned, so fewer than ``k`` indices come back when there
    are fewer mistakes.

    Args:
        y_true: labels ``(n,)``: 0/1, or integers in ``[0, C)`` for ``(n, C)`` scores.
        scores: predicted probabilities ``(n,)`` / ``(n, 1)`` of the positive class, or
            ``(n, C)`` of each class.
        k: at most this many indices (``>= 1``).
        threshold: the decision threshold for binary scores, in [0, 1].

    Returns:
        int64 array of at most ``k`` row indices.

    Raises:
        ValueError: for invalid arguments.

    Rows 0, 2 and 4 are wrong with probability 0.9 (a tie: by index), row 3 with 0.6, row 1
    is right:

    >>> top_errors([0, 1, 1, 1, 0], [0.9, 0.6, 0.1, 0.4, 0.9], k=3)
    array([0, 2, 4])
    >>> top_errors([0, 1, 1, 1, 0], [0.9, 0.6, 0.1, 0.4, 0.9])
    array([0, 2, 4, 3])
    """
    labels, scores = labels_and_scores(y_true, scores)
    k = check_int("k", k, minimum=1)
    threshold = check_in_range("threshold", threshold, 0, 1)
    predicted, confidence = _predictions(labels, scores, threshold)
    mistakes = np.flatnonzero(predicted != labels)
    return _most_confident_first(mistakes, confidence)[:k].astype(np.int64)


def grad_cam_examples(y_true, scores, *, per_group=2, threshold=0.5):
    """Rows to show in a Grad-CAM gallery: right and wrong ones of every class.

    Args:
        y_true: labels, as for :func:`top_errors`.
        scores: predicted probabilities, as for :func:`top_errors`.
        per_group: at most this many rows per (class, right or wrong) group.
        threshold: the decision threshold for binary scores.

    Returns:
        A dict ``{(true class, correct): indices}`` in class order, correct before wrong; each
        holds up to ``per_group`` indices, the most confident predictions first (ties by
        index).

    >>> groups = grad_cam_examples([0, 0, 1, 1], [0.2, 0.7, 0.9, 0.6], per_group=1)
    >>> {key: value.tolist() for key, value in groups.items()}
    {(0, True): [0], (0, False): [1], (1, True): [2], (1, False): []}
    """
    labels, scores = labels_and_scores(y_true, scores)
    per_group = check_int("per_group", per_group, minimum=1)
    threshold = check_in_range("threshold", threshold, 0, 1)
    predicted, confidence = _predictions(labels, scores, threshold)
    num_classes = 2 if scores.ndim == 1 else scores.shape[1]
    groups = {}
    for cls in range(num_classes):
        for correct in (True, False):
            rows = np.flatnonzero((labels == cls) & ((predicted == labels) == correct))
            groups[(cls, correct)] = _most_confident_first(rows, confidence)[:per_group]
    return groups


# ------------------------------------------------------------------------------- figures


def _score_text(scores, row, names):
    """``P(positive) = 0.97`` for binary scores, ``predicted name (0.97)`` otherwise."""
    if scores.ndim == 1:
        return f"P({names[1]}) = {scores[row]:.3f}"
    best = int(scores[row].argmax())
    return f"pred. {names[best]} ({scores[row, best]:.3f})"


def _show(axes, image, title=None):
    axes.imshow(image, interpolation="nearest")
    axes.set_axis_off()
    if title:
        axes.set_title(title, fontsize=8)


def plot_top_errors(path, images, y_true, scores, indices, *, class_names=None, columns=4):
    """Writes a PNG gallery of mistakes: each image with its true label and predicted probability.

    Args:
        path: the PNG file to write (written whole: temporary file, then ``os.replace``).
        images: all images ``(n, H, W, 3 or 1)``, floats in [0, 1] or uint8.
        y_true: their labels ``(n,)``.
        scores: their predicted probabilities, as for :func:`top_errors`.
        indices: the rows to show in order, e.g. from :func:`top_errors` (may be empty: the
            figure then says that there is no mistake).
        class_names: one name per class, e.g. ``("uninfected", "parasitized")``.
        columns: images per row.

    Returns:
        ``path``.

    >>> import numpy as np, os, tempfile
    >>> images, y, p = np.zeros((3, 8, 8, 3)), [0, 1, 1], [0.9, 0.2, 0.8]
    >>> path = os.path.join(tempfile.mkdtemp(), "errors.png")
    >>> plot_top_errors(path, images, y, p, top_errors(y, p)) == path
    True
    """
    images = _as_rgb(images)
    labels, scores = labels_and_scores(y_true, scores)
    names = name_classes(class_names, 2 if scores.ndim == 1 else scores.shape[1])
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    if len(images) != len(labels) or np.any((indices < 0) | (indices >= len(labels))):
        raise invalid_value("indices", f"row indices in [0, {len(labels)}) of images", indices)
    columns = check_int("columns", columns, minimum=1)
    rows = max(1, -(-len(indices) // columns))
    figure = new_figure(2.0 * columns, 2.2 * rows)
    grid = figure.subplots(rows, columns, squeeze=False)
    for slot, axes in enumerate(grid.flat):
        axes.set_axis_off()
        if slot < len(indices):
            row = indices[slot]
            _show(
                axes, images[row], f"true: {names[labels[row]]}\n{_score_text(scores, row, names)}"
            )
    if not len(indices):
        grid[0, 0].text(0.5, 0.5, "no mistakes", ha="center", va="center")
    return save_figure(figure, path)


def plot_grad_cam(
    path,
    images,
    heatmaps,
    y_true,
    scores,
    *,
    class_names=None,
    per_group=2,
    threshold=0.5,
    alpha=0.4,
):
    """Writes a PNG Grad-CAM gallery: image and overlay for right and wrong rows of each class.

    One row per (true class, right or wrong) group, chosen by :func:`grad_cam_examples`; each
    example takes two cells, the image and its heatmap overlay (:func:`overlay`).

    Args:
        path: the PNG file to write (written whole).
        images: images ``(n, H, W, 3 or 1)``, floats in [0, 1] or uint8.
        heatmaps: their heatmaps ``(n, H, W)``, e.g. from :func:`grad_cam`.
        y_true: their labels ``(n,)``.
        scores: their predicted probabilities, as for :func:`top_errors`.
        class_names: one name per class.
        per_group: at most this many examples per group.
        threshold: the decision threshold for binary scores.
        alpha: the heatmap's weight in the overlay.

    Returns:
        ``path``.

    >>> import numpy as np, os, tempfile
    >>> images, maps = np.zeros((2, 8, 8, 3)), np.ones((2, 8, 8))
    >>> path = os.path.join(tempfile.mkdtemp(), "gradcam.png")
    >>> plot_grad_cam(path, images, maps, [0, 1], [0.3, 0.4]) == path
    True
    """
    blended = overlay(images, heatmaps, alpha)
    images = _as_rgb(images)
    labels, scores = labels_and_scores(y_true, scores)
    if len(images) != len(labels):
        raise invalid_value("y_true.shape", f"({len(images)},) to match images", labels.shape)
    groups = grad_cam_examples(labels, scores, per_group=per_group, threshold=threshold)
    names = name_classes(class_names, 2 if scores.ndim == 1 else scores.shape[1])
    figure = new_figure(3.6 * per_group, 2.0 * len(groups))
    grid = figure.subplots(len(groups), 2 * per_group, squeeze=False)
    for axes_row, ((cls, correct), rows) in zip(grid, groups.items(), strict=True):
        for axes in axes_row:
            axes.set_axis_off()
        heading = f"{names[cls]}, {'right' if correct else 'wrong'}"
        axes_row[0].text(
            -0.1,
            0.5,
            heading,
            transform=axes_row[0].transAxes,
            rotation=90,
            ha="right",
            va="center",
            fontsize=9,
        )
        if not len(rows):
            axes_row[0].text(0.5, 0.5, "none", ha="center", va="center")
        for slot, row in enumerate(rows):
            _show(axes_row[2 * slot], images[row], _score_text(scores, row, names))
            _show(axes_row[2 * slot + 1], blended[row], "Grad-CAM")
    return save_figure(figure, path)
