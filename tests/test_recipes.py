"""Builders of kerasx.recipes against hand counts, scikit-learn and Keras built-ins."""

import itertools

import keras
import numpy as np
import pytest
from helpers import save_and_reload
from sklearn.linear_model import LogisticRegression

from kerasx.recipes import (
    load_trained_model,
    logistic_baseline,
    logistic_regression,
    malaria_cnn,
    malaria_mlp,
    mlp,
    parameter_breakdown,
    softmax_regression,
)
from kerasx.regularizers import L2


def hand_count(sizes):
    """(inputs + 1) x units summed over a chain of Dense layers."""
    return sum((n_in + 1) * n_out for n_in, n_out in itertools.pairwise(sizes))


class TestMalariaMLP:
    def test_course_parameter_count(self):
        model = malaria_mlp(metrics=["accuracy"])
        assert hand_count([30_000, 300, 100, 50, 1]) == 9_035_501
        assert model.count_params() == 9_035_501
        layer = model.get_layer("my_dense_layer")
        kernel, bias = layer.get_weights()
        assert kernel.shape == (30_000, 300) and bias.shape == (300,)
        assert model.layers[1].name == "flatten"

    def test_compiled_with_adam_and_bce(self):
        model = malaria_mlp((4, 4, 3), hidden=(5,), metrics=["accuracy"], learning_rate=3e-4)
        assert isinstance(model.optimizer, keras.optimizers.Adam)
        assert np.isclose(float(model.optimizer.learning_rate), 3e-4)
        assert model.loss == "binary_crossentropy"

    def test_default_metrics_match_sklearn(self, rng):
        from sklearn.metrics import matthews_corrcoef, recall_score

        images = rng.random((64, 3, 3, 3)).astype("float32")
        labels = images.mean(axis=(1, 2, 3)) + 0.1 * rng.standard_normal(64) > 0.5
        labels = labels.astype("float32")
        model = malaria_mlp((3, 3, 3), hidden=(4,), seed=0)
        model.fit(images, labels, epochs=2, verbose=0)
        results = model.evaluate(images, labels, batch_size=16, verbose=0, return_dict=True)
        predicted = (model.predict(images, verbose=0).ravel() > 0.5).astype(int)
        assert set(results) == {"loss", "accuracy", "sensitivity", "specificity", "mcc"}
        assert np.isclose(results["sensitivity"], recall_score(labels, predicted), atol=1e-6)
        assert np.isclose(
            results["specificity"], recall_score(labels, predicted, pos_label=0), atol=1e-6
        )
        assert np.isclose(results["mcc"], matthews_corrcoef(labels, predicted), atol=1e-5)

    def test_tape_builds_a_tape_model(self, rng):
        from kerasx.training import TapeModel

        model = malaria_mlp((4, 4, 3), hidden=(5,), metrics=["accuracy"], tape=True)
        assert isinstance(model, TapeModel)
        assert model.count_params() == hand_count([48, 5, 1])
        images = rng.random((16, 4, 4, 3)).astype("float32")
        history = model.fit(images, np.ones(16, "float32"), epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])

    def test_jit_compile_default_on_and_switchable(self):
        assert malaria_mlp((4, 4, 3), hidden=(3,), metrics=[]).jit_compile is True
        assert (
            malaria_mlp((4, 4, 3), hidden=(3,), metrics=[], jit_compile=False).jit_compile is False
        )

    def test_standardize_keeps_trainable_count_and_scales(self, rng):
        images = rng.random((50, 6, 6, 3)).astype("float32") * [0.2, 0.5, 1.0]
        model = malaria_mlp((6, 6, 3), hidden=(7, 2), metrics=[], standardize=images)
        trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        assert trainable == hand_count([108, 7, 2, 1])
        assert model.count_params() == trainable + 7  # 3 means, 3 variances, 1 count
        standardized = model.get_layer("standardize")(images).numpy()
        expected = (images - images.mean(axis=(0, 1, 2))) / images.std(axis=(0, 1, 2))
        np.testing.assert_allclose(standardized, expected, atol=1e-4)

    def test_standardize_statistics_are_exact_on_many_pixels(self, rng):
        """3.6 million pixels per channel near 0.7: the layer's mean and variance equal NumPy's
        float64 ones to float32 rounding. Catches float32 sums (``Normalization.adapt`` was off
        by 0.37 % in the means here, and by 10 % on the 2,249 training cells at 100x100)."""
        images = (0.5 + 0.4 * rng.random((1000, 60, 60, 3))).astype("float32")
        model = malaria_mlp((60, 60, 3), hidden=(2,), metrics=[], standardize=images)
        layer = model.get_layer("standardize")
        exact = images.astype(np.float64)
        np.testing.assert_allclose(
            layer.mean.numpy().ravel(), exact.mean(axis=(0, 1, 2)), rtol=1e-6
        )
        np.testing.assert_allclose(
            layer.variance.numpy().ravel(), exact.var(axis=(0, 1, 2)), rtol=1e-6
        )

    def test_standardize_uint8_images_gives_the_statistics_of_their_values(self, rng):
        images = rng.integers(0, 256, (30, 5, 5, 3), dtype=np.uint8)
        model = malaria_mlp((5, 5, 3), hidden=(2,), metrics=[], standardize=images)
        layer = model.get_layer("standardize")
        np.testing.assert_allclose(
            layer.mean.numpy().ravel(), images.mean(axis=(0, 1, 2)), rtol=1e-6
        )

    def test_standardize_of_the_wrong_shape_is_refused(self, rng):
        with pytest.raises(ValueError, match="Invalid value for argument `standardize`"):
            malaria_mlp((5, 5, 3), hidden=(2,), metrics=[], standardize=rng.random((4, 7)))

    def test_dropout_and_l2(self):
        model = malaria_mlp((4, 4, 1), hidden=(6, 3), dropout=0.5, l2=0.01, metrics=[])
        dropouts = [la for la in model.layers if isinstance(la, keras.layers.Dropout)]
        assert [la.rate for la in dropouts] == [0.5, 0.5]
        assert len(model.losses) == 2  # one L2 penalty per hidden kernel
        kernel = model.get_layer("my_dense_layer").kernel.numpy()
        assert np.isclose(float(model.losses[0]), 0.01 * np.sum(kernel**2), rtol=1e-5)

    def test_seed_makes_builds_repeatable(self):
        a = malaria_mlp((4, 4, 3), hidden=(3,), metrics=[], seed=3)
        b = malaria_mlp((4, 4, 3), hidden=(3,), metrics=[], seed=3)
        for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
            np.testing.assert_array_equal(wa, wb)

    def test_save_reload_predicts_identically(self, rng, tmp_path):
        images = rng.random((20, 5, 5, 3)).astype("float32")
        labels = (images.mean(axis=(1, 2, 3)) > 0.5).astype("float32")
        model = malaria_mlp((5, 5, 3), hidden=(4,), metrics=["accuracy"], standardize=images)
        model.fit(images, labels, epochs=1, verbose=0)
        expected = model.predict(images, verbose=0)
        for fmt, reloaded in save_and_reload(model, tmp_path).items():
            # Legacy .h5 does not store jit_compile: the reload predicts without XLA (rounding).
            atol = 0 if fmt == "keras" else 1e-6
            np.testing.assert_allclose(
                reloaded.predict(images, verbose=0), expected, rtol=0, atol=atol, err_msg=fmt
            )

    @pytest.mark.parametrize("fmt", ["keras", "h5"])
    def test_reload_continues_training_where_it_stopped(self, rng, tmp_path, fmt):
        images = rng.random((32, 4, 4, 3)).astype("float32")
        labels = (images.mean(axis=(1, 2, 3)) > 0.5).astype("float32")
        model = malaria_mlp((4, 4, 3), hidden=(5,), metrics=["accuracy"], jit_compile=False)
        model.fit(images, labels, batch_size=8, epochs=2, shuffle=False, verbose=0)
        path = tmp_path / f"model.{fmt}"
        model.save(path)
        reloaded = load_trained_model(path)
        assert int(reloaded.optimizer.iterations) == 8
        for m in (model, reloaded):  # Adam's moments must carry over for these to agree
            m.fit(images, labels, batch_size=8, epochs=1, shuffle=False, verbose=0)
        for expected, actual in zip(model.get_weights(), reloaded.get_weights(), strict=True):
            np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"dropout": 1.0}, "dropout"),
            ({"l2": -1.0}, "l2"),
            ({"learning_rate": 0}, "learning_rate"),
            ({"hidden": ()}, "hidden"),
            ({"hidden": (3, 0)}, "hidden"),
            ({"input_shape": (0, 4, 3)}, "input_shape"),
        ],
    )
    def test_invalid_arguments(self, kwargs, match):
        kwargs = {"input_shape": (4, 4, 3), "metrics": [], **kwargs}
        with pytest.raises(ValueError, match=f"Invalid value for argument `{match}`"):
            malaria_mlp(**kwargs)


def simulate(n=1000, beta=(1.0, 2.0), seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, len(beta))).astype("float32")
    p = 1 / (1 + np.exp(-X @ np.asarray(beta)))
    return X, (rng.random(n) < p).astype("float32")


class TestSmallBuilders:
    def test_logistic_regression_reaches_the_mle(self):
        X, y = simulate()
        mle = LogisticRegression(C=np.inf, fit_intercept=False).fit(X, y).coef_.ravel()
        keras.utils.set_random_seed(0)
        model = logistic_regression(2, learning_rate=0.5)
        model.fit(X, y, batch_size=100, epochs=60, verbose=0)
        weights = model.get_weights()[0].ravel()
        np.testing.assert_allclose(weights, mle, atol=0.05)
        np.testing.assert_allclose(weights, [1.0, 2.0], atol=0.35)

    def test_logistic_regression_with_bias(self):
        model = logistic_regression(3, use_bias=True)
        assert model.count_params() == 4
        assert isinstance(model.optimizer, keras.optimizers.SGD)

    def test_softmax_regression_is_multinomial_regression(self, rng):
        X = rng.standard_normal((300, 2)).astype("float32")
        labels = (X @ [1.0, -1.0] + 0.5 * rng.standard_normal(300) > 0).astype(int)
        reference = LogisticRegression(C=np.inf).fit(X, labels)
        keras.utils.set_random_seed(0)
        model = softmax_regression(2, 2, learning_rate=0.5)
        Y = keras.utils.to_categorical(labels)
        # 500 full-batch gradient steps in one epoch (per-epoch overhead dominates otherwise)
        model.fit(
            np.tile(X, (500, 1)), np.tile(Y, (500, 1)), batch_size=300, shuffle=False, verbose=0
        )
        np.testing.assert_allclose(
            model.predict(X, verbose=0), reference.predict_proba(X), atol=0.03
        )

    def test_softmax_regression_shape(self):
        model = softmax_regression(4, 3)
        assert model.count_params() == (4 + 1) * 3
        assert model.output_shape == (None, 3)

    def test_mlp_parameter_count_and_heads(self):
        model = mlp(3, hidden=(4,), n_classes=2)
        assert model.count_params() == hand_count([3, 4, 2])
        assert model.layers[-1].activation.__name__ == "softmax"
        binary = mlp(3, hidden=(5, 2), n_classes=1, activation="relu")
        assert binary.count_params() == hand_count([3, 5, 2, 1])
        assert binary.layers[-1].activation.__name__ == "sigmoid"
        assert binary.loss == "binary_crossentropy"

    def test_mlp_regularization(self):
        model = mlp(3, hidden=(4, 4), l1=0.1, l2=0.2, dropout=0.3)
        kernel = model.get_layer("hidden_1").kernel.numpy()
        expected = 0.1 * np.abs(kernel).sum() + 0.2 * (kernel**2).sum()
        assert np.isclose(float(model.losses[0]), expected, rtol=1e-5)
        assert sum(isinstance(la, keras.layers.Dropout) for la in model.layers) == 2

    def test_l2_alone_is_kerasx_l2_with_keras_l2_value(self):
        # Without L1 the recipes take kerasx's L2 (Keras's penalty, summed faster under XLA).
        model = mlp(3, hidden=(4,), l2=0.2)
        layer = model.get_layer("hidden_1")
        assert isinstance(layer.kernel_regularizer, L2)
        reference = keras.regularizers.L2(0.2)(layer.kernel)
        assert np.isclose(float(model.losses[0]), float(reference), rtol=1e-6)
        malaria = malaria_mlp((4, 4, 3), hidden=(5,), l2=1e-3, metrics=["accuracy"])
        assert isinstance(malaria.get_layer("my_dense_layer").kernel_regularizer, L2)

    def test_linear_layers_collapse(self, rng):
        model = mlp(3, hidden=(4, 5), n_classes=1, activation="linear")
        X = rng.standard_normal((8, 3)).astype("float32")
        (w1, b1), (w2, b2), (w3, b3) = (la.get_weights() for la in model.layers)
        z = X @ (w1 @ w2 @ w3) + ((b1 @ w2 + b2) @ w3 + b3)
        np.testing.assert_allclose(model.predict(X, verbose=0), 1 / (1 + np.exp(-z)), rtol=1e-4)

    @pytest.mark.parametrize(
        ("builder", "kwargs", "match"),
        [
            (logistic_regression, {"q": 0}, "q"),
            (softmax_regression, {"q": 2, "n_classes": 1}, "n_classes"),
            (mlp, {"q": 2, "l1": -1}, "l1"),
            (mlp, {"q": 2, "dropout": -0.1}, "dropout"),
            (mlp, {"q": 2, "learning_rate": -1}, "learning_rate"),
        ],
    )
    def test_invalid_arguments(self, builder, kwargs, match):
        with pytest.raises(ValueError, match=f"Invalid value for argument `{match}`"):
            builder(**kwargs)


class TestParameterBreakdown:
    def test_matches_count_params_and_hand_formula(self):
        model = malaria_mlp(metrics=[])
        table = parameter_breakdown(model)
        assert {"layer", "inputs", "units", "params"} <= set(table.columns)
        assert int(table["params"].sum()) == model.count_params() == 9_035_501
        dense = table[table["type"] == "Dense"]
        assert dense["inputs"].tolist() == [30_000, 300, 100, 50]
        assert dense["units"].tolist() == [300, 100, 50, 1]
        assert (dense["params"] == (dense["inputs"] + 1) * dense["units"]).all()

    def test_no_bias_and_non_trainable_weights(self, rng):
        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Normalization(mean=0.0, variance=1.0),
                keras.layers.Dense(3, use_bias=False),
                keras.layers.BatchNormalization(),
            ]
        )
        table = parameter_breakdown(model)
        assert int(table["params"].sum()) == model.count_params()
        assert table["params"].tolist() == [0, 4 * 3, 4 * 3]
        assert table["trainable"].tolist() == [0, 12, 6]  # gamma, beta trainable; moments not

    def test_standardized_model(self, rng):
        images = rng.random((10, 4, 4, 3)).astype("float32")
        model = malaria_mlp((4, 4, 3), hidden=(5,), metrics=[], standardize=images)
        table = parameter_breakdown(model)
        assert int(table["params"].sum()) == model.count_params()
        assert int(table["trainable"].sum()) == hand_count([48, 5, 1])
        assert table.loc[table["layer"] == "standardize", "params"].item() == 7

    def test_a_convolution_counts_the_inputs_of_one_filter(self):
        """A Conv layer's unit is a filter seeing kernel h × w × input channels values, not the
        feature map (which gave "inputs 32768" for conv_2 of the CNN at 64 × 64)."""
        model = keras.Sequential(
            [
                keras.Input((64, 64, 3)),
                keras.layers.Conv2D(32, 3, use_bias=False, name="c1"),
                keras.layers.BatchNormalization(name="bn"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Conv2D(64, (3, 5), name="c2"),
                keras.layers.Flatten(),
                keras.layers.Dense(2, name="d"),
            ]
        )
        table = parameter_breakdown(model).set_index("layer")
        assert table.loc["c1", ["inputs", "units", "params"]].tolist() == [27, 32, 27 * 32]
        assert table.loc["c1", "formula"] == "3×3×3 × 32"
        assert table.loc["c2", ["inputs", "units"]].tolist() == [3 * 5 * 32, 64]
        assert table.loc["c2", "formula"] == "(3×5×32 + 1) × 64"
        assert table.loc["c2", "params"] == (3 * 5 * 32 + 1) * 64
        assert table.loc["bn", "formula"] == "4 × 32"
        for row in table.itertuples():  # every formula is the layer's own count
            written = eval(row.formula.replace("×", "*")) if row.formula else 0
            assert written == row.params == model.get_layer(row.Index).count_params()

    def test_a_1d_convolution_and_the_malaria_cnn(self):
        sequence = keras.Sequential([keras.Input((50, 6)), keras.layers.Conv1D(4, 5)])
        row = parameter_breakdown(sequence).iloc[0]
        assert (row["inputs"], row["units"], row["formula"]) == (30, 4, "(5×6 + 1) × 4")
        cnn = malaria_cnn((64, 64, 3), metrics=[])
        table = parameter_breakdown(cnn).set_index("layer")
        assert table.loc["conv_2", ["inputs", "units"]].tolist() == [3 * 3 * 32, 64]
        assert int(table["params"].sum()) == cnn.count_params()

    def test_rejects_a_non_model(self):
        with pytest.raises(ValueError, match="Invalid value for argument `model`"):
            parameter_breakdown("model")


class TestLogisticBaseline:
    def test_equals_sklearn_on_flattened_pixels(self, rng):
        images = rng.random((60, 3, 3, 2))
        labels = (images[:, 0, 0, 0] + 0.3 * rng.random(60) > 0.6).astype(int)
        baseline = logistic_baseline().fit(images, labels)
        reference = LogisticRegression(max_iter=1000, random_state=0).fit(
            images.reshape(60, -1), labels
        )
        np.testing.assert_allclose(
            baseline.predict_proba(images), reference.predict_proba(images.reshape(60, -1))
        )
        np.testing.assert_allclose(baseline[-1].coef_, reference.coef_)

    def test_unpenalized_option(self, rng):
        X = rng.standard_normal((200, 2))
        y = (X @ [1.0, 2.0] + rng.logistic(size=200) > 0).astype(int)
        baseline = logistic_baseline(C=np.inf).fit(X, y)
        reference = LogisticRegression(C=np.inf, max_iter=1000).fit(X, y)
        np.testing.assert_allclose(baseline[-1].coef_, reference.coef_, rtol=1e-4)

    @pytest.mark.parametrize(("kwargs", "match"), [({"C": 0}, "C"), ({"max_iter": 0}, "max_iter")])
    def test_invalid_arguments(self, kwargs, match):
        with pytest.raises(ValueError, match=f"Invalid value for argument `{match}`"):
            logistic_baseline(**kwargs)


# The recipes package builds models and nothing else (issue 10): the command line loads data,
# attaches callbacks and writes files.
_NOT_IN_RECIPES = ("argparse", "kerasx.data", "kerasx.callbacks", "kerasx.commands", "kerasx.cli")


def _imports(path):
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_recipes_import_no_data_callbacks_or_command_line():
    """Catches a command (argparse, output files) or a data loader living in ``kerasx.recipes``,
    as ``kerasx/recipes/_malaria_job.py`` did: it imported argparse, kerasx.data and
    kerasx.callbacks and wrote files."""
    import pathlib

    import kerasx.recipes

    files = sorted(pathlib.Path(kerasx.recipes.__file__).parent.glob("*.py"))
    assert len(files) >= 5
    for path in files:
        imported = _imports(path)
        bad = {n for n in imported if any(n == m or n.startswith(m + ".") for m in _NOT_IN_RECIPES)}
        assert not bad, f"{path.name} imports {sorted(bad)}"
        text = path.read_text(encoding="utf-8")
        for call in ("open(", ".to_csv(", ".savefig(", "json.dump("):
            assert call not in text, f"{path.name} writes files ({call})"
