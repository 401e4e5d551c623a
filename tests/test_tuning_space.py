"""kerasx.tuning's search space: ranges, their distributions on both paths, built models."""

import itertools

import keras
import keras_tuner
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.model_selection import ParameterSampler
from tuning_helpers import declared_space, dense_layers, random_draws, separable_data

from kerasx.tuning import (
    MLPHyperModel,
    build_mlp,
    course_param_distributions,
    malaria_search_space,
    randomized_search,
    search,
)
from kerasx.tuning.distributions import (
    Choices,
    Sampled,
    SearchRange,
    search_dimension,
    search_range,
    zero_or_log_uniform,
)
from kerasx.tuning.estimators import make_estimator
from kerasx.tuning.sklearn_search import resolve_param_distributions
from kerasx.tuning.space import MLP_DEFAULTS, MLP_PARAMS

# ----------------------------------------------------------------------------------------------
# Search space


class TestSearchSpace:
    def test_draws_stay_inside_declared_ranges(self):
        hypermodel = MLPHyperModel((4,))
        _, draws = random_draws(hypermodel, 300)
        for values in draws:
            assert 1 <= values["n_hidden"] <= 4
            assert 16 <= values["n_neurons"] <= 512
            assert 1e-4 <= values["learning_rate"] <= 1e-1
            assert 0.0 <= values["dropout"] <= 0.5
            assert 1e-5 <= values["l2"] <= 1e-2
            assert values["activation"] in ("relu", "tanh")
            assert isinstance(values["use_l2"], bool)

    def test_log_scales_for_learning_rate_neurons_and_l2(self):
        _, draws = random_draws(MLPHyperModel((4,)), 400)
        # Log-uniform on [1e-4, 1e-1] has median ~3.2e-3; a linear scale would give ~0.05.
        assert 1e-3 < np.median([d["learning_rate"] for d in draws]) < 1e-2
        # Log-uniform on [16, 512]: median ~90; linear: ~264.
        assert 50 < np.median([d["n_neurons"] for d in draws]) < 150
        assert 1e-4 < np.median([d["l2"] for d in draws]) < 1e-3
        # Dropout is linear: median ~0.25.
        assert 0.2 < np.median([d["dropout"] for d in draws]) < 0.3

    @settings(max_examples=25, deadline=None)
    @given(
        st.floats(1e-6, 1.0),
        st.floats(1.0, 1e3),
        st.integers(0, 5),
        st.integers(0, 5),
    )
    def test_any_valid_range_is_respected(self, lr_low, lr_ratio, h_low, h_extra):
        lr_high = min(lr_low * lr_ratio, 10.0)
        hypermodel = MLPHyperModel(
            (3,), learning_rate=(lr_low, lr_high), n_hidden=(h_low, h_low + h_extra)
        )
        _, draws = random_draws(hypermodel, 20)
        for values in draws:
            assert lr_low * (1 - 1e-9) <= values["learning_rate"] <= lr_high * (1 + 1e-9)
            assert h_low <= values["n_hidden"] <= h_low + h_extra

    def test_fixed_values_and_l2_without_zero(self):
        hypermodel = MLPHyperModel((4,), n_hidden=2, dropout=0.0, l2=(1e-5, 1e-3))
        hp = declared_space(hypermodel)
        declared = {p.name: p for p in hp.space}
        assert isinstance(declared["n_hidden"], keras_tuner.engine.hyperparameters.Fixed)
        assert "use_l2" not in hp.values
        _, draws = random_draws(hypermodel, 50)
        assert all(1e-5 <= d["l2"] <= 1e-3 and d["n_hidden"] == 2 for d in draws)

    @pytest.mark.parametrize("l2", [(0.0, 1e-2), (1e-5, 1e-2), 0.0])
    def test_param_distributions_match_the_keras_tuner_space(self, l2):
        hypermodel = MLPHyperModel((4,), l2=l2)
        draws = list(ParameterSampler(hypermodel.param_distributions(), 400, random_state=0))
        l2_values = np.array([d["l2"] for d in draws])
        low, high = (l2, l2) if isinstance(l2, float) else l2
        assert np.all(
            (l2_values == 0) | ((l2_values >= max(low, high / 1000)) & (l2_values <= high))
        )
        for d in draws:
            assert 1 <= d["n_hidden"] <= 4 and 16 <= d["n_neurons"] <= 512
            assert 1e-4 <= d["learning_rate"] <= 1e-1 and 0 <= d["dropout"] <= 0.5
        assert 50 < np.median([d["n_neurons"] for d in draws]) < 150
        if l2 == (0.0, 1e-2):  # half the draws have no penalty, like use_l2=False
            assert 0.4 < np.mean(l2_values == 0) < 0.6

    def test_malaria_search_space(self):
        space = malaria_search_space()
        assert space.input_shape == (30000,) and space.output == "binary"
        assert space.ranges["n_neurons"] == (16, 300) and space.activations == ("relu",)
        assert malaria_search_space((300,)).input_shape == (300,)

    def test_course_param_distributions(self):
        dists = course_param_distributions()
        assert dists["n_hidden"] == [0, 1, 2, 3] and dists["n_neurons"] == list(range(1, 100))
        draws = dists["learning_rate"].rvs(size=500, random_state=0)
        assert draws.min() >= 3e-4 and draws.max() <= 3e-2


def test_zero_or_log_uniform_draws_are_independent_with_an_integer_seed():
    low, high = 1e-5, 1e-2
    draws = zero_or_log_uniform(low, high).rvs(size=4000, random_state=0)
    nonzero = draws[draws > 0]
    assert abs(len(nonzero) / len(draws) - 0.5) < 0.05
    # Log-uniform over the whole range: half the values below the geometric midpoint.
    assert abs(np.mean(nonzero < np.sqrt(low * high)) - 0.5) < 0.05
    assert nonzero.min() >= low and nonzero.max() <= high


# ----------------------------------------------------------------------------------------------
# One range → distribution rule for KerasTuner and scikit-learn


def keras_tuner_values(hypermodel, n):
    """The values a KerasTuner trial would build with (``l2`` is 0 when ``use_l2`` is False)."""
    _, draws = random_draws(hypermodel, n)
    for values in draws:
        if values.pop("use_l2", True) is False:
            values["l2"] = 0.0
    return draws


def sklearn_values(hypermodel, n, ranges=None):
    """The values ``RandomizedSearchCV`` draws: from the hypermodel, or from ``ranges`` tuples."""
    distributions = hypermodel.param_distributions()
    if ranges is not None:
        distributions = resolve_param_distributions(ranges)
    return list(ParameterSampler(distributions, n, random_state=0))


RANGES = [
    {"l2": (0.0, 1e-2)},
    {"l2": (1e-5, 1e-2)},
    {"l2": 0.0},
    {"n_neurons": (16, 512)},
    {"n_hidden": (0, 3)},
    {"learning_rate": (1e-4, 1e-1)},
    {"dropout": (0.0, 0.5)},
]


@pytest.mark.filterwarnings("ignore:The total space of parameters")
@pytest.mark.parametrize(
    "ranges", RANGES, ids=lambda r: f"{next(iter(r))}={next(iter(r.values()))}"
)
def test_keras_tuner_and_sklearn_draw_from_the_same_distribution(ranges):
    """Both paths give the same support, share of zeros and median (on the range's scale).

    Catches two range rules that disagree, e.g. an ``l2`` range starting at 0 searched as
    "0 or log-uniform" by KerasTuner but as plain log-uniform (or refused) by scikit-learn, or
    ``n_neurons`` on a linear scale on one side only.
    """
    ((name, value),) = ranges.items()
    hypermodel = MLPHyperModel((4,), **ranges)
    low, high = (value, value) if np.isscalar(value) else value
    n = 1500
    paths = {
        "keras_tuner": [d[name] for d in keras_tuner_values(hypermodel, n)],
        "sklearn": [d[name] for d in sklearn_values(hypermodel, n)],
        "sklearn tuples": [d[name] for d in sklearn_values(hypermodel, n, ranges)],
    }
    log_scale = name in ("n_neurons", "learning_rate", "l2")  # the documented scales
    summaries, pooled = {}, []
    for path, draws in paths.items():
        draws = np.asarray(draws, dtype=float)
        assert draws.min() >= low and draws.max() <= high, path
        nonzero = draws[draws != 0]
        nonzero = np.log(nonzero) if log_scale else nonzero
        pooled.extend(nonzero)
        summaries[path] = (np.mean(draws == 0), np.median(nonzero) if nonzero.size else 0.0)
    zeros, centres = zip(*summaries.values(), strict=True)
    assert max(zeros) - min(zeros) < 0.06, summaries
    spread = np.ptp(pooled) if pooled else 0.0
    assert max(centres) - min(centres) <= 0.06 * spread, summaries


def test_an_l2_range_from_zero_is_accepted_by_both_paths():
    """``l2=(0, 1e-2)`` is "no penalty, or log-uniform on [1e-5, 1e-2]" on both paths.

    Catches the old scikit-learn rule, which required ``low > 0`` for ``l2`` (log-uniform) and
    so refused a range the KerasTuner path accepted.
    """
    from_tuple = resolve_param_distributions({"l2": (0.0, 1e-2)})["l2"]
    from_space = MLPHyperModel((4,), l2=(0.0, 1e-2)).param_distributions()["l2"]
    assert repr(from_tuple) == repr(from_space) == "zero_or_log_uniform(1e-05, 0.01)"
    hp = declared_space(MLPHyperModel((4,), l2=(0.0, 1e-2)))
    l2 = {p.name: p for p in hp.space}["l2"]
    assert (l2.min_value, l2.max_value, l2.sampling) == (1e-5, 1e-2, "log")


@pytest.mark.parametrize(
    ("name", "value"),
    [("learning_rate", (0.0, 1e-2)), ("l2", (-1e-3, 1e-2)), ("dropout", (0.2, 1.0)),
     ("n_neurons", (0, 8)), ("n_hidden", (3, 1)), ("n_hidden", (0.5, 2))],
)  # fmt: skip
def test_both_paths_refuse_a_range_with_the_same_message(name, value):
    """One check serves both: a range one path refuses, the other refuses in the same words.

    Catches a second, drifting copy of the domain rules in the scikit-learn path.
    """
    with pytest.raises(ValueError) as keras_tuner_error:
        MLPHyperModel((4,), **{name: value})
    with pytest.raises(ValueError) as sklearn_error:
        resolve_param_distributions({name: value})
    assert str(keras_tuner_error.value) == str(sklearn_error.value)
    assert str(sklearn_error.value).startswith(f"Invalid value for argument `{name}`.")


def test_search_range_refuses_unknown_names():
    with pytest.raises(ValueError, match="argument `name`"):
        search_range("momentum", (0.1, 0.9))


def test_build_mlp_defaults_are_the_wrappers_defaults():
    """Both scikit-learn wrappers start from ``build_mlp``'s own defaults.

    Catches a hand-written copy of the defaults (as ``_DEFAULTS`` and the wrapper's ``__init__``
    were) that no longer matches the build function.
    """
    import inspect

    signature = inspect.signature(build_mlp).parameters
    assert MLP_DEFAULTS == {name: signature[name].default for name in MLP_PARAMS}
    for wrapper in ("scikeras", "keras"):
        params = make_estimator(wrapper, epochs=1, batch_size=8).get_params()
        assert {name: params[name] for name in MLP_PARAMS} == MLP_DEFAULTS, wrapper


# ----------------------------------------------------------------------------------------------
# Built models


class TestBuild:
    def test_models_match_drawn_hyperparameters(self):
        hypermodel = MLPHyperModel((6,), n_hidden=(0, 3), n_neurons=(2, 40))
        hp, draws = random_draws(hypermodel, 6)
        for values in draws:
            trial_hp = hp.copy()
            trial_hp.values = values
            model = hypermodel.build(trial_hp)
            dense = dense_layers(model)
            assert len(dense) == values["n_hidden"] + 1
            assert [layer.units for layer in dense[:-1]] == [values["n_neurons"]] * values[
                "n_hidden"
            ]
            assert dense[-1].units == 1 and dense[-1].activation.__name__ == "sigmoid"
            for layer in dense[:-1]:
                assert layer.activation.__name__ == values["activation"]
                if values["use_l2"]:
                    assert layer.kernel_regularizer.l2 == pytest.approx(values["l2"])
                else:
                    assert layer.kernel_regularizer is None
            dropouts = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
            expected = values["n_hidden"] if values["dropout"] > 0 else 0
            assert len(dropouts) == expected
            assert all(layer.rate == pytest.approx(values["dropout"]) for layer in dropouts)
            lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
            assert lr == pytest.approx(values["learning_rate"], rel=1e-6)
            # (inputs + 1) × units parameters per Dense layer, as counted in the course.
            sizes = [6] + [values["n_neurons"]] * values["n_hidden"] + [1]
            expected_params = sum((a + 1) * b for a, b in itertools.pairwise(sizes))
            assert model.count_params() == expected_params

    def test_build_mlp_image_input_and_classes(self):
        model = build_mlp(2, 5, input_shape=(3, 3, 2), output=4)
        assert isinstance(model.layers[0], keras.layers.Flatten)
        assert dense_layers(model)[-1].units == 4
        assert model.loss == "sparse_categorical_crossentropy"
        out = model.predict(np.zeros((2, 3, 3, 2), "float32"), verbose=0)
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)

    def test_build_mlp_infers_shapes_from_either_wrapper(self):
        from_meta = build_mlp(meta={"n_features_in_": 7, "n_classes_": 3})
        assert from_meta.input_shape == (None, 7) and from_meta.output_shape == (None, 3)
        one_hot = np.eye(2)[[0, 1, 1]]
        from_xy = build_mlp(X=np.zeros((3, 5)), y=one_hot)
        assert from_xy.input_shape == (None, 5) and from_xy.output_shape == (None, 2)
        assert from_xy.loss == "categorical_crossentropy"

    def test_build_clears_the_session(self):
        build_mlp(1, 4, input_shape=(2,))
        # A fresh session restarts Keras's automatic names.
        assert keras.layers.Dense(1).name == "dense"
        build_mlp(1, 4, input_shape=(2,))
        assert keras.layers.Dense(1).name == "dense"

    def test_course_malaria_mlp_parameter_count(self):
        model = build_mlp(1, 300, input_shape=(30000,))
        assert model.count_params() == 30001 * 300 + 301


# ----------------------------------------------------------------------------------------------
# Any space as people write it: one mapping (search_dimension), two searches


def keras_tuner_dimension_draws(dimension, n):
    """``n`` values KerasTuner's own samplers draw for ``dimension`` (text choices mapped back)."""
    hp = keras_tuner.HyperParameters()
    dimension.declare(hp)
    (declared,) = hp.space
    draws = [declared.random_sample(seed * 7919) for seed in range(n)]
    if isinstance(dimension, Choices) and dimension._as_text():
        by_text = {repr(value): value for value in dimension.values}
        draws = [by_text[d] for d in draws]
    return draws


def sklearn_dimension_draws(dimension, n):
    return [d["x"] for d in ParameterSampler({"x": dimension.sampler()}, n, random_state=0)]


AS_WRITTEN = {
    "np.arange(4, 33)": np.arange(4, 33),
    "range(1, 4)": range(1, 4),
    "[32, 64, 96]": [32, 64, 96],
    "np.arange(4, 33, 4)": np.arange(4, 33, 4),
    "['relu', 'tanh']": ["relu", "tanh"],
    "np.arange(0.0, 0.5, 0.1)": np.arange(0.0, 0.5, 0.1),
    "[None, (64, 32)]": [None, (64, 32)],
    "(2, 9)": (2, 9),
    "(0.1, 0.5)": (0.1, 0.5),
    "(1e-4, 1e-1, 'log')": (1e-4, 1e-1, "log"),
    "(16, 512, 'log')": (16, 512, "log"),
    "loguniform(3e-4, 3e-2)": stats.loguniform(3e-4, 3e-2),
    "reciprocal(3e-4, 3e-2)": stats.reciprocal(3e-4, 3e-2),
    "uniform(0.1, 0.4)": stats.uniform(0.1, 0.4),
    "randint(1, 5)": stats.randint(1, 5),
}


@pytest.mark.filterwarnings("ignore:The total space of parameters")
@pytest.mark.parametrize("written", AS_WRITTEN)
def test_both_searches_draw_the_same_distribution_from_any_form(written):
    """KerasTuner's draws and RandomizedSearchCV's come from one distribution: the same values
    in the same shares (discrete), or a two-sample Kolmogorov–Smirnov test that does not tell
    them apart (continuous, on the log scale for a log range).

    Catches a form one search reads differently, e.g. ``np.arange`` refused by one side, or a
    ``loguniform`` searched on a linear scale by KerasTuner."""
    dimension = search_dimension("x", AS_WRITTEN[written])
    n = 2000
    keras_tuner_draws = keras_tuner_dimension_draws(dimension, n)
    sklearn_draws = sklearn_dimension_draws(dimension, n)
    discrete = isinstance(dimension, Choices) or dimension.integer
    if discrete:
        values = sorted(set(map(repr, keras_tuner_draws)) | set(map(repr, sklearn_draws)))
        for value in values:
            shares = [np.mean([repr(d) == value for d in draws])
                      for draws in (keras_tuner_draws, sklearn_draws)]  # fmt: skip
            assert abs(shares[0] - shares[1]) < 0.05, (value, shares)
        if isinstance(AS_WRITTEN[written], (list, range, np.ndarray)):  # as written, nothing else
            assert set(map(repr, sklearn_draws)) == set(map(repr, dimension.sampler()))
    else:
        kt, sk = np.asarray(keras_tuner_draws), np.asarray(sklearn_draws)
        for draws in (kt, sk):
            assert (
                dimension.low * (1 - 1e-9)
                <= draws.min()
                <= draws.max()
                <= dimension.high * (1 + 1e-9)
            )
        if dimension.scale == "log":
            kt, sk = np.log(kt), np.log(sk)
        assert stats.ks_2samp(kt, sk).pvalue > 0.001


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (np.arange(4, 33), SearchRange("x", 4, 32, "linear", True, 1)),
        ([32, 64, 96], SearchRange("x", 32, 96, "linear", True, 32)),
        ((2, 9), SearchRange("x", 2, 9, "linear", True)),
        ((1e-4, 1e-1, "log"), SearchRange("x", 1e-4, 1e-1, "log")),
        (stats.reciprocal(3e-4, 3e-2), SearchRange("x", 3e-4, 3e-2, "log")),
        (stats.randint(1, 5), SearchRange("x", 1, 4, "linear", True)),
        ([3, 1, 2], Choices("x", (3, 1, 2))),
        ((16, 64, 32), Choices("x", (16, 64, 32))),  # three numbers: a choice, not a range
        (np.float64(0.5), Choices("x", (0.5,))),
        ("relu", Choices("x", ("relu",))),
    ],
    ids=repr,
)
def test_search_dimension_reads_each_form(written, expected):
    assert search_dimension("x", written) == expected


def test_the_sklearn_side_draws_from_what_was_written():
    """The course's distribution and lists reach ``RandomizedSearchCV`` as they are."""
    course = stats.reciprocal(3e-4, 3e-2)
    assert search_dimension("lr", course).sampler() is course
    assert search_dimension("n", np.arange(4, 8)).sampler() == [4, 5, 6, 7]
    norm = stats.norm(0, 1)
    dimension = search_dimension("x", norm)
    assert isinstance(dimension, Sampled) and dimension.sampler() is norm
    message = r"Expected for KerasTuner a list.*Received: x=norm\(0, 1\)"
    with pytest.raises(ValueError, match=message):
        dimension.declare(keras_tuner.HyperParameters())


@pytest.mark.parametrize(
    ("name", "written", "message"),
    [
        ("x", [], "Expected at least one value"),
        ("x", np.zeros((2, 2)), "Expected a 1-D array of values. Received: x=an array of shape (2, 2)"),
        ("x", {"low": 1}, "Expected a list, tuple, range, 1-D NumPy array, scipy.stats distribution"),
        ("x", (5, 1), "Expected a (low, high) pair with low <= high"),
        ("x", (0.0, 1.0, "log"), "Expected a (low, high) pair of numbers > 0"),
    ],
)  # fmt: skip
def test_search_dimension_refuses_what_it_cannot_read(name, written, message):
    with pytest.raises(ValueError) as error:
        search_dimension(name, written)
    assert message in str(error.value)


def test_the_mlp_takes_any_form_within_its_domain():
    hypermodel = MLPHyperModel((4,), n_neurons=np.arange(4, 33), n_hidden=[1, 2],
                               learning_rate=stats.loguniform(1e-3, 1e-2))  # fmt: skip
    assert hypermodel.ranges["n_neurons"] == [4, 32]
    assert hypermodel.ranges["learning_rate"] == {"low": 1e-3, "high": 1e-2, "scale": "log"}
    _, draws = random_draws(hypermodel, 200)
    assert {d["n_neurons"] for d in draws} <= set(range(4, 33))
    assert {d["n_hidden"] for d in draws} == {1, 2}
    for name, written in (("dropout", [0.0, 0.2, 1.5]), ("n_neurons", np.arange(0, 4))):
        with pytest.raises(ValueError, match=f"argument `{name}`"):
            MLPHyperModel((4,), **{name: written})
        with pytest.raises(ValueError, match=f"argument `{name}`"):
            resolve_param_distributions({name: written})


@pytest.mark.filterwarnings("ignore:The total space of parameters")
def test_the_course_space_runs_unchanged_in_the_sklearn_search():
    """The course's ``param_distributions`` (``np.arange``, a list, ``reciprocal``) as
    ``RandomizedSearchCV`` gets it, and the same dict through ``search(tuner="sklearn")``
    (KerasTuner's side: ``tests/test_tuning_models.py``)."""
    X, y = separable_data(80)
    course = {"n_hidden": [0, 1, 2, 3], "n_neurons": np.arange(4, 33),
              "learning_rate": stats.reciprocal(3e-4, 3e-2)}  # fmt: skip
    fitted = randomized_search(X, y, param_distributions=course, n_iter=2, cv=2, epochs=1,
                               wrapper="keras", refit=False)  # fmt: skip
    expected = list(ParameterSampler(course, 2, random_state=0))
    assert [p["n_neurons"] for p in fitted.cv_results_["params"]] == [
        p["n_neurons"] for p in expected
    ]
    result = search(build_mlp, X, y, space=course, tuner="sklearn", wrapper="keras", cv=2,
                    max_trials=1, epochs=1)  # fmt: skip
    assert 4 <= result["best_hyperparameters"]["n_neurons"] <= 32
