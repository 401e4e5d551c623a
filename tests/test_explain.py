"""kerasx.explain: Grad-CAM against a hand computation and on a problem with a known answer,
the most confident mistakes against a hand-made example, overlays and the PNG galleries."""

import os
import re

import keras
import matplotlib
import matplotlib.image
import numpy as np
import pytest

from kerasx.explain import (
    grad_cam,
    grad_cam_examples,
    overlay,
    plot_grad_cam,
    plot_top_errors,
    top_errors,
)

agnostic = pytest.mark.backend_agnostic
INVALID = "Invalid value for argument `{}`"


# ------------------------------------------------------------------ independent references


def _conv_valid(x, kernel, bias):
    """A 'valid', stride-1 convolution (cross-correlation, as Keras) by loops over offsets."""
    kh, kw = kernel.shape[:2]
    h, w = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    out = np.zeros((x.shape[0], h, w, kernel.shape[3])) + bias
    for di in range(kh):
        for dj in range(kw):
            out += np.einsum("nijc,ck->nijk", x[:, di : di + h, dj : dj + w], kernel[di, dj])
    return out


def _bilinear_matrix(n_in, n_out):
    """Rows of weights of bilinear resizing with half-pixel centers and clamped edges."""
    source = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, n_in - 1)
    matrix = np.zeros((n_out, n_in))
    matrix[np.arange(n_out), low] += 1 - (source - low)
    matrix[np.arange(n_out), high] += source - low
    return matrix


def _hand_grad_cam(activations, gradients, size):
    """alpha_k = mean_ij dY/dA_k; ReLU(sum_k alpha_k A_k); bilinear resize; divide by max."""
    alpha = gradients.mean(axis=(1, 2))
    cam = np.maximum(np.einsum("nijk,nk->nij", activations, alpha), 0)
    rows, cols = (_bilinear_matrix(n, m) for n, m in zip(cam.shape[1:], size, strict=True))
    cam = np.einsum("Hh,nhw,Ww->nHW", rows, cam, cols)
    return cam / cam.max(axis=(1, 2), keepdims=True)


def _flatten_model(units, activation, seed=0):
    """Input 6×6×2 → Conv2D(3, 3×3, 'valid') → Flatten → Dense(units, activation)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6, 6, 2))
    features = keras.layers.Conv2D(3, 3, name="conv")(inputs)
    flat = keras.layers.Flatten()(features)
    outputs = keras.layers.Dense(units, activation=activation, name="out")(flat)
    return keras.Model(inputs, outputs)


def _hand_inputs(model, x):
    """A by a NumPy convolution, and dz_c/dA: with a Flatten head, the Dense kernel reshaped."""
    kernel, bias = model.get_layer("conv").get_weights()
    activations = _conv_valid(x.astype(np.float64), kernel, bias)
    dense = model.get_layer("out").get_weights()[0]
    return activations, dense.reshape(4, 4, 3, -1)


# ------------------------------------------------------------------------ Grad-CAM: formula


@agnostic
def test_grad_cam_equals_a_hand_computation_of_the_formula(rng):
    """Grad-CAM of a sigmoid unit, class 1, equals the formula computed by hand in NumPy.

    The Flatten head makes dz/dA vary with position, so it catches: the gradient at each
    position instead of its spatial mean (gradient × activation), no ReLU, nearest or
    corner-aligned upsampling (4 → 6 is not a whole factor), rows and columns swapped, and a
    scale other than the maximum.
    """
    model = _flatten_model(1, "sigmoid")
    x = rng.normal(size=(5, 6, 6, 2)).astype("float32")
    activations, d_logit = _hand_inputs(model, x)
    gradients = np.broadcast_to(d_logit[..., 0], activations.shape)
    expected = _hand_grad_cam(activations, gradients, (6, 6))
    np.testing.assert_allclose(grad_cam(model, x), expected, atol=2e-5)
    np.testing.assert_allclose(grad_cam(model, x, batch_size=2), expected, atol=2e-5)


@agnostic
def test_grad_cam_uses_the_logit_so_saturated_probabilities_still_give_heatmaps(rng):
    """With weights so large that float32 sigmoid outputs are exactly 0 or 1, the heatmap is
    still the logit's. Catches: the gradient of the probability, which is exactly 0 there (all
    heatmaps zero); also class 0 must be the evidence for -z and "predicted" per row."""
    model = _flatten_model(1, "sigmoid")
    dense = model.get_layer("out")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel * 1e3, bias])
    x = rng.normal(size=(6, 6, 6, 2)).astype("float32")
    probabilities = np.asarray(model.predict(x, verbose=0))[:, 0]
    assert np.all((probabilities == 0.0) | (probabilities == 1.0))
    assert 0 < probabilities.sum() < len(x), "want both classes predicted"
    activations, d_logit = _hand_inputs(model, x)
    positive = np.broadcast_to(d_logit[..., 0], activations.shape)
    np.testing.assert_allclose(
        grad_cam(model, x), _hand_grad_cam(activations, positive, (6, 6)), atol=2e-5
    )
    negative = _hand_grad_cam(activations, -positive, (6, 6))
    np.testing.assert_allclose(grad_cam(model, x, class_index=0), negative, atol=2e-5)
    predicted = np.where(probabilities[:, None, None, None] == 1.0, positive, -positive)
    np.testing.assert_allclose(
        grad_cam(model, x, class_index="predicted"),
        _hand_grad_cam(activations, predicted, (6, 6)),
        atol=2e-5,
    )
    # The model itself is left as it was: still a sigmoid.
    np.testing.assert_array_equal(model.predict(x, verbose=0)[:, 0], probabilities)


@agnostic
def test_grad_cam_softmax_uses_the_chosen_logit(rng):
    """Softmax output: the score is the logit of the chosen class (the Dense kernel's column).
    Catches: the gradient of the softmax probability (which mixes in every class's column) and
    the wrong column."""
    model = _flatten_model(3, "softmax", seed=1)
    x = rng.normal(size=(4, 6, 6, 2)).astype("float32")
    activations, d_logit = _hand_inputs(model, x)
    for cls in range(3):
        gradients = np.broadcast_to(d_logit[..., cls], activations.shape)
        np.testing.assert_allclose(
            grad_cam(model, x, class_index=cls),
            _hand_grad_cam(activations, gradients, (6, 6)),
            atol=2e-5,
        )
    predicted = np.asarray(model.predict(x, verbose=0)).argmax(axis=1)
    gradients = np.moveaxis(d_logit[..., predicted], -1, 0)
    expected = _hand_grad_cam(activations, np.broadcast_to(gradients, activations.shape), (6, 6))
    np.testing.assert_allclose(grad_cam(model, x), expected, atol=2e-5)


# ---------------------------------------------------------- Grad-CAM: models of every shape


def _blocks(seed=0):
    keras.utils.set_random_seed(seed)
    return (
        keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv_a"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(5, 3, padding="same", name="conv_b"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(1, activation="sigmoid", name="head"),
    )


@agnostic
def test_grad_cam_finds_the_last_conv_layer_in_nested_models_and_ignores_augmentation(rng):
    """A Sequential holding augmentation layers and a nested Functional base, sharing the
    weights of a flat model, gives the flat model's heatmaps. Catches: looking for conv layers
    at the top level only, running augmentation (random flips) at inference, and picking the
    first conv layer instead of the last."""
    conv_a, pool, conv_b, gap, head = _blocks()
    inputs = keras.Input((8, 8, 3))
    flat = keras.Model(inputs, head(gap(conv_b(pool(conv_a(inputs))))))
    base_inputs = keras.Input((8, 8, 3))
    base = keras.Model(base_inputs, conv_b(pool(conv_a(base_inputs))), name="base")
    nested = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.RandomFlip("horizontal_and_vertical", seed=1),
            keras.layers.RandomRotation(0.5, seed=1),
            base,
            gap,
            head,
        ]
    )
    x = rng.random((4, 8, 8, 3)).astype("float32")
    expected = grad_cam(flat, x, layer="conv_b")
    np.testing.assert_allclose(grad_cam(flat, x), expected, atol=1e-6)
    np.testing.assert_allclose(grad_cam(nested, x), expected, atol=1e-6)
    np.testing.assert_allclose(grad_cam(nested, x, layer=conv_b), expected, atol=1e-6)
    first = grad_cam(flat, x, layer="conv_a")
    assert np.abs(first - expected).max() > 0.05


def _spot_images(n, rng):
    """16×16 gray images: noise, a bright 1×5 bar anywhere (both classes), and for class 1 a
    bright 3×3 square in the top-right quadrant (rows 0–7, columns 8–15), the only sign of
    the class."""
    x = np.clip(rng.normal(0.3, 0.08, (n, 16, 16, 1)), 0, 1)
    y = rng.integers(0, 2, n)
    for i in range(n):
        row, col = rng.integers(0, 16), rng.integers(0, 12)
        x[i, row, col : col + 5] = 1.0
        if y[i]:
            row, col = rng.integers(0, 6), rng.integers(8, 14)
            x[i, row : row + 3, col : col + 3] = 1.0
    return x.astype("float32"), y


def test_grad_cam_mass_lies_where_the_class_is():
    """After training a tiny CNN, on average more than half of a positive image's heatmap mass
    lies in the quadrant that carries the class: twice what a uniform map puts there (25 %).
    Measured with seeds 0, 1, 2: means 0.63, 0.65, 0.76 (about 8 s each on a 2-core AMD).
    Catches: the gradient's sign flipped, heatmaps transposed or flipped (the quadrant moves),
    an unweighted sum of the feature maps (which also lights up the bar present in both
    classes), and the first conv layer."""
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(0)
    x, y = _spot_images(800, rng)
    model = keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(keras.optimizers.Adam(1e-2), "binary_crossentropy", metrics=["accuracy"])
    model.fit(x[:600], y[:600], epochs=15, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x[600:], y[600:], verbose=0)
    assert accuracy > 0.95, "the test needs a model that learned the problem"
    positives = x[600:][y[600:] == 1]
    heatmaps = grad_cam(model, positives)
    total = heatmaps.sum(axis=(1, 2))
    assert np.all(total > 0)
    share = heatmaps[:, :8, 8:].sum(axis=(1, 2)) / total
    assert share.mean() > 0.5, share.mean()
    assert np.median(share) > 0.5


# ---------------------------------------------------------------------- Grad-CAM: arguments


@agnostic
def test_grad_cam_rejects_bad_arguments(rng):
    """Unknown layers, non-image layers, models without convolution and wrong images all
    raise the standard message (not a KeyError deep in Keras)."""
    model = _flatten_model(1, "sigmoid")
    x = rng.normal(size=(2, 6, 6, 2)).astype("float32")
    with pytest.raises(ValueError, match=INVALID.format("layer")):
        grad_cam(model, x, layer="nope")
    with pytest.raises(ValueError, match=INVALID.format("layer")):
        grad_cam(model, x, layer="out")
    with pytest.raises(ValueError, match=INVALID.format("images.shape")):
        grad_cam(model, x[0])
    with pytest.raises(ValueError, match=INVALID.format("images.shape")):
        grad_cam(model, np.zeros((2, 7, 6, 2)))
    with pytest.raises(ValueError, match=INVALID.format("class_index")):
        grad_cam(model, x, class_index=2)
    with pytest.raises(ValueError, match=INVALID.format("batch_size")):
        grad_cam(model, x, batch_size=0)
    inputs = keras.Input((6, 6, 2))
    dense = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(inputs)))
    with pytest.raises(ValueError, match=INVALID.format("model")):
        grad_cam(dense, x)
    with pytest.raises(ValueError, match=INVALID.format("model")):
        grad_cam("model", x)


@agnostic
def test_grad_cam_warns_on_0_to_255_pixels(rng):
    """uint8 images, or floats holding 0-255 whole numbers, are what a model trained on [0, 1]
    must not get silently; [0, 1] floats and standardized (negative) values give no warning."""
    import warnings

    model = _flatten_model(1, "sigmoid")
    pixels = rng.integers(0, 256, size=(2, 6, 6, 2))
    for images in (pixels.astype("uint8"), pixels.astype("float32")):
        with pytest.warns(UserWarning, match=r"whole numbers up to 255 .* look like 0-255 pixels"):
            heatmaps = grad_cam(model, images)
        assert heatmaps.shape == (2, 6, 6)  # a warning, not an error: computed as given
    with warnings.catch_warnings():
        # UserWarning only: under JAX, Keras's get_weights itself raises a NumPy 2
        # DeprecationWarning (np.array of a JAX variable), which is not ours.
        warnings.simplefilter("error", UserWarning)
        grad_cam(model, (pixels / 255.0).astype("float32"))
        grad_cam(model, rng.normal(size=(2, 6, 6, 2)).astype("float32") * 3)
        grad_cam(model, (pixels > 128).astype("uint8"))  # a 0/1 mask is in [0, 1]


# ------------------------------------------------------------------------------ top_errors


@agnostic
def test_top_errors_on_a_hand_made_example_with_ties():
    """Ranks mistakes by the probability of the wrong class, ties by index, mistakes only.

    Row: label, score → prediction, probability of the predicted class:
    0: 1, 0.05 → 0, 0.95 (wrong)      4: 1, 0.95 → 1 (right, as confident as rows 0 and 5)
    1: 0, 0.70 → 1, 0.70 (wrong)      5: 0, 0.95 → 1, 0.95 (wrong, ties with 0)
    2: 0, 0.50 → 0 (right: 0.5 is not > 0.5)
    3: 1, 0.30 → 0, 0.70 (wrong, ties with 1)
    Catches: sorting by the score rather than by the wrong class's probability (puts 0 last),
    an unstable sort (ties in either order), returning right rows (4) to fill up to ``k``,
    and ``>=`` at the threshold (row 2).
    """
    y = [1, 0, 0, 1, 1, 0]
    p = [0.05, 0.70, 0.50, 0.30, 0.95, 0.95]
    np.testing.assert_array_equal(top_errors(y, p), [0, 5, 1, 3])
    np.testing.assert_array_equal(top_errors(y, p, k=3), [0, 5, 1])
    np.testing.assert_array_equal(
        top_errors(np.array(y)[:, None], np.array(p)[:, None]), [0, 5, 1, 3]
    )
    # At threshold 0.8, row 1 (0.70) is predicted 0: right.
    np.testing.assert_array_equal(top_errors(y, p, threshold=0.8), [0, 5, 3])
    assert top_errors([0, 1], [0.1, 0.9]).size == 0


@agnostic
def test_top_errors_multiclass_and_bad_arguments():
    """Multiclass: the arg-max is the prediction, ranked by its probability. Bad arguments
    raise the standard message."""
    y = [0, 1, 2, 2]
    p = [[0.2, 0.5, 0.3], [0.1, 0.8, 0.1], [0.6, 0.1, 0.3], [0.1, 0.5, 0.4]]
    np.testing.assert_array_equal(top_errors(y, p), [2, 0, 3])
    for kwargs, name in [
        ({"k": 0}, "k"),
        ({"threshold": 1.5}, "threshold"),
        ({"scores": [0.2, 1.2]}, "scores"),
        ({"y_true": [0, 2]}, "y_true"),
        ({"y_true": [0, 1, 1]}, "y_true.shape"),
    ]:
        arguments = {"y_true": [0, 1], "scores": [0.2, 0.6], **kwargs}
        with pytest.raises(ValueError, match=INVALID.format(name)):
            top_errors(**arguments)


@agnostic
def test_grad_cam_examples_groups_right_and_wrong_rows_of_each_class():
    """Each (class, right/wrong) group holds its most confident rows. Catches grouping by the
    predicted class instead of the true one."""
    y = [0, 0, 0, 1, 1, 1]
    p = [0.1, 0.3, 0.9, 0.6, 0.2, 0.45]
    groups = grad_cam_examples(y, p, per_group=2)
    assert list(groups) == [(0, True), (0, False), (1, True), (1, False)]
    expected = {(0, True): [0, 1], (0, False): [2], (1, True): [3], (1, False): [4, 5]}
    assert {key: value.tolist() for key, value in groups.items()} == expected


# -------------------------------------------------------------------------------- overlay


@agnostic
def test_overlay_blends_the_colormap(rng):
    """alpha = 0 gives the image, alpha = 1 the colormap, in between the convex mix; gray and
    uint8 images become RGB in [0, 1]. Catches swapping the weights of image and heatmap."""
    images = rng.random((2, 4, 5, 3)).astype("float32")
    heatmaps = rng.random((2, 4, 5)).astype("float32")
    colors = matplotlib.colormaps["jet"](heatmaps)[..., :3]
    np.testing.assert_allclose(overlay(images, heatmaps, alpha=0.0), images, atol=1e-6)
    np.testing.assert_allclose(overlay(images, heatmaps, alpha=1.0), colors, atol=1e-6)
    np.testing.assert_allclose(
        overlay(images, heatmaps, alpha=0.3), 0.7 * images + 0.3 * colors, atol=1e-6
    )
    gray = (images[..., :1] * 255).astype(np.uint8)
    blended = overlay(gray, heatmaps, alpha=0.0)
    assert blended.shape == (2, 4, 5, 3)
    np.testing.assert_allclose(blended[..., 2], gray[..., 0] / 255, atol=1e-6)
    with pytest.raises(ValueError, match=INVALID.format("heatmaps.shape")):
        overlay(images, heatmaps[:, :3])
    with pytest.raises(ValueError, match=INVALID.format("images")):
        overlay(images * 255, heatmaps)
    with pytest.raises(ValueError, match=INVALID.format("alpha")):
        overlay(images, heatmaps, alpha=2)


# -------------------------------------------------------------------------------- figures


def _read_png(path):
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 50
    return image


@agnostic
def test_galleries_write_whole_pngs(tmp_path, rng):
    """Both galleries write a readable PNG and leave no temporary file, also without any
    mistake. Catches: an empty index list that fails or writes nothing."""
    images = rng.random((6, 12, 12, 3))
    heatmaps = rng.random((6, 12, 12))
    y = [0, 0, 1, 1, 0, 1]
    p = [0.2, 0.8, 0.9, 0.3, 0.1, 0.7]
    names = ("uninfected", "parasitized")
    errors = plot_top_errors(
        tmp_path / "errors.png", images, y, p, top_errors(y, p), class_names=names
    )
    _read_png(errors)
    _read_png(plot_top_errors(tmp_path / "none.png", images, y, p, [], class_names=names))
    _read_png(plot_grad_cam(tmp_path / "gradcam.png", images, heatmaps, y, p, class_names=names))
    assert sorted(os.listdir(tmp_path)) == ["errors.png", "gradcam.png", "none.png"]
    with pytest.raises(ValueError, match=INVALID.format("class_names")):
        plot_top_errors(tmp_path / "x.png", images, y, p, [1], class_names=("one",))
    with pytest.raises(ValueError, match=INVALID.format("indices")):
        plot_top_errors(tmp_path / "x.png", images, y, p, [6])


@agnostic
def test_a_failed_write_keeps_the_old_file(tmp_path, rng, monkeypatch):
    """A figure that fails half-way leaves the previous PNG intact and no temporary file.
    Catches writing straight to the target path."""
    from matplotlib.figure import Figure

    target = tmp_path / "errors.png"
    target.write_bytes(b"old")

    def broken(self, file, **kwargs):
        if hasattr(file, "write"):
            file.write(b"half a png")
        else:  # a path: the temporary file beside the target
            with open(file, "wb") as f:
                f.write(b"half a png")
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        plot_top_errors(target, rng.random((2, 8, 8, 3)), [0, 1], [0.9, 0.1], [0, 1])
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["errors.png"]


# -------------------------------------------------------------- what the galleries show

# The malaria loaders' convention: label 1 is a parasitized cell.
MALARIA_CLASS_NAMES = ("uninfected", "parasitized")


def _solid_images(n, size=6):
    """``n`` RGB images, each one solid colour that no other image has."""
    shades = (np.arange(n) + 1) / (n + 1)
    colours = np.stack([shades, np.full(n, 0.5), 1 - shades], axis=1)
    return np.broadcast_to(colours[:, None, None, :], (n, size, size, 3)).astype("float32")


def _shown(axes):
    """The one image an axes shows, as a float array."""
    assert len(axes.images) == 1, f"expected one image, found {len(axes.images)}"
    return np.asarray(axes.images[0].get_array(), dtype=np.float64)


def _binary_score_in(title):
    """``(class name, probability)`` from a title line ``P(name) = 0.123``."""
    match = re.search(r"P\((\w+)\) = ([0-9.]+)", title)
    assert match, title
    return match.group(1), float(match.group(2))


@agnostic
def test_top_errors_gallery_pairs_each_image_with_its_own_label_and_score(tmp_path, drawn):
    """Slot ``s`` shows row ``indices[s]``: its image (each row a distinct solid colour), its
    true class name (label 1 = "parasitized") and its P(parasitized). The rows are shown out
    of their order (2, 3, 5, 1), so a gallery indexed by the slot shows other images. Catches:
    ``images[slot]`` instead of ``images[row]``, the score of the slot's row, the name of the
    other class (``names[1 - label]``) and P(uninfected) in place of P(parasitized)."""
    y = np.array([0, 1, 1, 0, 1, 0, 1])
    p = np.array([0.20, 0.35, 0.02, 0.91, 0.88, 0.74, 0.60])
    images = _solid_images(len(y))
    indices = [2, 3, 5, 1]
    plot_top_errors(
        tmp_path / "e.png", images, y, p, indices, class_names=MALARIA_CLASS_NAMES, columns=3
    )
    (figure,) = drawn
    assert len(figure.axes) == 6
    for slot, row in enumerate(indices):
        axes = figure.axes[slot]
        np.testing.assert_allclose(_shown(axes), images[row], atol=1e-6, err_msg=f"slot {slot}")
        true_line, score_line = axes.get_title().split("\n")
        assert true_line == f"true: {MALARIA_CLASS_NAMES[y[row]]}", (slot, row)
        name, probability = _binary_score_in(score_line)
        assert name == "parasitized"
        assert probability == pytest.approx(p[row], abs=5e-4), (slot, row)
    assert all(not axes.images for axes in figure.axes[len(indices) :])


@agnostic
def test_top_errors_gallery_multiclass_names_the_predicted_class(tmp_path, drawn):
    """Three classes: each slot's image is its row's, the title names the row's true class and
    its arg-max class with that probability. Catches: the image or text of another row, and
    the predicted class's name taken from the label or a column off by one."""
    y = np.array([0, 1, 2, 2])
    p = np.array([[0.2, 0.5, 0.3], [0.1, 0.8, 0.1], [0.6, 0.1, 0.3], [0.1, 0.5, 0.4]])
    names = ("ant", "bee", "cat")
    images = _solid_images(len(y))
    indices = [2, 0, 3]
    plot_top_errors(tmp_path / "m.png", images, y, p, indices, class_names=names)
    (figure,) = drawn
    for slot, row in enumerate(indices):
        axes = figure.axes[slot]
        np.testing.assert_allclose(_shown(axes), images[row], atol=1e-6, err_msg=f"slot {slot}")
        true_line, score_line = axes.get_title().split("\n")
        assert true_line == f"true: {names[y[row]]}"
        best = int(p[row].argmax())
        match = re.fullmatch(r"pred\. (\w+) \(([0-9.]+)\)", score_line)
        assert match, score_line
        assert match.group(1) == names[best]
        assert float(match.group(2)) == pytest.approx(p[row, best], abs=5e-4)


@agnostic
def test_grad_cam_gallery_pairs_image_heatmap_and_score_of_one_row(tmp_path, rng, drawn):
    """Each gallery row is one (true class, right/wrong) group, headed by its class name
    (label 1 = "parasitized") and holding, most confident first, the rows worked out by hand
    below. For each example: the image cell shows that row's image and P(parasitized); the
    next cell shows that same row's image blended with that row's heatmap, computed here as
    ``(1 − alpha) · image + alpha · jet(heatmap)``. Catches: ``images[slot]``/``blended[slot]``
    instead of ``[row]``, heatmaps paired with other images (``heatmaps[::-1]``), the score of
    another row, the heading of the other class or right/wrong swapped.

    Row: label, P(parasitized) → group (confidence)
    0: 0, 0.10 → uninfected right (0.90)       4: 1, 0.95 → parasitized right (0.95)
    1: 0, 0.30 → uninfected right (0.70, 3rd)  5: 1, 0.40 → parasitized wrong (0.60)
    2: 0, 0.05 → uninfected right (0.95)       6: 1, 0.15 → parasitized wrong (0.85)
    3: 0, 0.80 → uninfected wrong (0.80)       7: 1, 0.70 → parasitized right (0.70)
    """
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    p = np.array([0.10, 0.30, 0.05, 0.80, 0.95, 0.40, 0.15, 0.70])
    images = _solid_images(len(y))
    heatmaps = rng.random((len(y), 6, 6)).astype("float32")
    alpha = 0.4
    expected = [
        ("uninfected, right", [2, 0]),
        ("uninfected, wrong", [3]),
        ("parasitized, right", [4, 7]),
        ("parasitized, wrong", [6, 5]),
    ]
    plot_grad_cam(
        tmp_path / "g.png",
        images,
        heatmaps,
        y,
        p,
        class_names=MALARIA_CLASS_NAMES,
        per_group=2,
        alpha=alpha,
    )
    (figure,) = drawn
    grid = np.array(figure.axes).reshape(4, 4)
    jet = matplotlib.colormaps["jet"]
    for axes_row, (heading, rows) in zip(grid, expected, strict=True):
        assert axes_row[0].texts[0].get_text() == heading
        for slot, row in enumerate(rows):
            picture, blended = axes_row[2 * slot], axes_row[2 * slot + 1]
            where = f"{heading}, slot {slot}, row {row}"
            np.testing.assert_allclose(_shown(picture), images[row], atol=1e-6, err_msg=where)
            name, probability = _binary_score_in(picture.get_title())
            assert name == "parasitized", where
            assert probability == pytest.approx(p[row], abs=5e-4), where
            mix = (1 - alpha) * images[row] + alpha * jet(heatmaps[row])[..., :3]
            np.testing.assert_allclose(_shown(blended), mix, atol=1e-5, err_msg=where)
            assert blended.get_title() == "Grad-CAM"
        assert all(not axes.images for axes in axes_row[2 * len(rows) :]), heading
