"""kerasx.conformal: split conformal sets against MAPIE 1.6, brute force and coverage bounds."""

import json
import math
import warnings

import numpy as np
import pytest
from scipy.stats import betabinom

from kerasx import InvalidArgument
from kerasx.conformal import SplitConformalClassifier, coverage_report

mapie_classification = pytest.importorskip("mapie.classification")
from mapie.conformity_scores import APSConformityScore  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

# --------------------------------------------------------------------------------------------
# Data and the MAPIE reference


def sample(n_rows, n_classes, rng, *, spread=1.5, prior=None, sharpness=1.0):
    """Softmax probabilities of random logits, and labels drawn from them (calibrated), or,
    with ``sharpness`` > 1, from the softmax of ``sharpness`` × the logits (an under-confident
    model, which errs on few rows)."""
    logits = rng.normal(0, spread, (n_rows, n_classes))
    if prior is not None:
        logits += np.log(prior)

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    truth = softmax(sharpness * logits)
    y = (rng.random((n_rows, 1)) > np.cumsum(truth, axis=1)).sum(axis=1)
    return softmax(logits), np.minimum(y, n_classes - 1)


def rounded(p, decimals=1):
    """Probabilities rounded to a grid: many tied classes within a row."""
    q = np.round(p, decimals)
    q[:, -1] = np.clip(1 - q[:, :-1].sum(axis=1), 0, 1)
    return q / q.sum(axis=1, keepdims=True)


class FixedProbabilities(ClassifierMixin, BaseEstimator):
    """A 'fitted' classifier whose predict_proba returns its input: MAPIE sees our scores."""

    def __init__(self, n_classes=2):
        self.n_classes = n_classes

    def fit(self, X, y=None):
        self.classes_ = np.arange(self.n_classes)
        return self

    def predict_proba(self, X):
        return np.asarray(X, dtype=np.float64)

    def predict(self, X):
        return np.argmax(X, axis=1)


class NonRandomizedAPS(APSConformityScore):
    """MAPIE's APS score without its random term ``- u * p_y`` (u = 0)."""

    def get_conformity_scores(self, y, y_pred, y_enc=None, **kwargs):
        scores, self.cutoff = self.get_true_label_cumsum_proba(y, y_pred, self.classes)
        return scores


@pytest.fixture
def allow_mapie_aps(monkeypatch):
    # MAPIE 1.6 refuses APS when the calibration labels hold <= 2 values ("binary"), which
    # every per-class (Mondrian) fit does; the check guards nothing in the math used here.
    monkeypatch.setattr(mapie_classification, "check_target", lambda score, y: None)


def mapie_fit(p_cal, y_cal, alpha, score):
    n_classes = p_cal.shape[1]
    conformity = NonRandomizedAPS() if score == "aps" else "lac"
    estimator = FixedProbabilities(n_classes).fit(p_cal)
    mapie = mapie_classification.SplitConformalClassifier(
        estimator, confidence_level=1 - alpha, conformity_score=conformity, prefit=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "fewer labels in the conformalization set" (Mondrian)
        return mapie.conformalize(p_cal, y_cal)


def mapie_sets(p_cal, y_cal, p_test, alpha, score):
    """MAPIE's sets; two-class APS through a third class of probability 0 (MAPIE's APS
    needs three columns), which MAPIE never puts in a set."""
    if score == "aps" and p_cal.shape[1] == 2:

        def pad(p):
            return np.column_stack([p, np.zeros(len(p))])

        return mapie_sets(pad(p_cal), y_cal, pad(p_test), alpha, score)[:, :2]
    return mapie_fit(p_cal, y_cal, alpha, score).predict_set(p_test)[1][:, :, 0]


def mapie_mondrian_sets(p_cal, y_cal, p_test, alpha, score):
    """Mondrian by hand: class k's column from a MAPIE fit on the calibration rows of class k."""
    columns = []
    for k in range(p_cal.shape[1]):
        rows = y_cal == k
        columns.append(mapie_sets(p_cal[rows], y_cal[rows], p_test, alpha, score)[:, k])
    return np.column_stack(columns)


def kerasx_sets(p_cal, y_cal, p_test, alpha, score, mondrian):
    conformal = SplitConformalClassifier(alpha=alpha, score=score, mondrian=mondrian)
    return conformal.fit(y_cal, p_cal).predict(p_test)


def covered_count(sets, y):
    return int(sets[np.arange(len(y)), y].sum())


def coverage_bounds(n_cal, n_test, alpha, tail=1e-4):
    """Where the number of covered test rows falls with probability 1 − 2·tail.

    For continuous scores, the coverage given the calibration rows is Beta(k, n + 1 − k)
    with k = ceil((n + 1)(1 − alpha)), so the covered count of n_test new rows is
    beta-binomial: this is both the calibration's and the test rows' randomness.
    """
    k = math.ceil((n_cal + 1) * (1 - alpha))
    law = betabinom(n_test, k, n_cal + 1 - k)
    return law.ppf(tail), law.ppf(1 - tail)


# --------------------------------------------------------------------------------------------
# Against MAPIE 1.6


@pytest.mark.parametrize("score", ["lac", "aps"])
@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_sets_equal_mapie(score, n_classes, allow_mapie_aps):
    rng = np.random.default_rng(n_classes)
    for sharpness in (1, 4):
        p, y = sample(3000, n_classes, rng, sharpness=sharpness)
        for alpha in (0.05, 0.1, 0.2):
            ours = kerasx_sets(p[:1000], y[:1000], p[1000:], alpha, score, mondrian=False)
            theirs = mapie_sets(p[:1000], y[:1000], p[1000:], alpha, score)
            assert ours.shape == theirs.shape == (2000, n_classes)
            assert (ours != theirs).any(axis=1).sum() == 0  # not a single row differs
    size = ours.sum(axis=1)  # the sets at sharpness 4, alpha 0.2 are not all alike
    assert 0.05 < (size == 1).mean() < 0.95


@pytest.mark.parametrize("score", ["lac", "aps"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_mondrian_sets_equal_mapie_fitted_per_class(score, n_classes, allow_mapie_aps):
    rng = np.random.default_rng(10 + n_classes)
    p, y = sample(3000, n_classes, rng, prior=np.linspace(1, 3, n_classes), sharpness=3)
    for alpha in (0.05, 0.2):
        ours = kerasx_sets(p[:1200], y[:1200], p[1200:], alpha, score, mondrian=True)
        theirs = mapie_mondrian_sets(p[:1200], y[:1200], p[1200:], alpha, score)
        assert (ours != theirs).any(axis=1).sum() == 0


def test_binary_scores_of_class_one_equal_two_columns():
    rng = np.random.default_rng(3)
    p, y = sample(600, 2, rng)
    for score in ("lac", "aps"):
        one = SplitConformalClassifier(0.1, score).fit(y, p[:, 1])
        two = SplitConformalClassifier(0.1, score).fit(y, np.column_stack([1 - p[:, 1], p[:, 1]]))
        np.testing.assert_array_equal(one.quantiles_, two.quantiles_)
        np.testing.assert_array_equal(one.predict(p[:, 1:]), two.predict(1 - p[:, :1]))


def test_lac_equals_mapie_on_tied_probabilities():
    rng = np.random.default_rng(4)
    p, y = sample(4000, 5, rng)
    p = rounded(p)
    for alpha in (0.05, 0.1, 0.2):
        ours = kerasx_sets(p[:1500], y[:1500], p[1500:], alpha, "lac", mondrian=False)
        theirs = mapie_sets(p[:1500], y[:1500], p[1500:], alpha, "lac")
        assert (ours != theirs).any(axis=1).sum() == 0


@pytest.mark.parametrize("n_classes", [3, 5])
def test_aps_on_tied_probabilities_differs_from_mapie_only_by_the_quantile(n_classes):
    """With ties, MAPIE's calibration score depends on argsort's order of the tie; kerasx puts
    the true class first (the smaller score). Given MAPIE's quantile, every set is MAPIE's."""
    rng = np.random.default_rng(5)
    p, y = sample(4000, n_classes, rng)
    p = rounded(p)
    p_cal, y_cal, p_test = p[:1500], y[:1500], p[1500:]
    for alpha in (0.05, 0.1, 0.2):
        mapie = mapie_fit(p_cal, y_cal, alpha, "aps")
        theirs = mapie.predict_set(p_test)[1][:, :, 0]
        scores = mapie.conformity_scores.ravel()  # MAPIE's quantile, as MAPIE computes it
        rank = math.ceil((len(scores) + 1) * (1 - alpha))
        q_mapie = np.quantile(scores, rank / len(scores), method="lower")
        ours = SplitConformalClassifier(alpha, "aps", mondrian=False).fit(y_cal, p_cal)
        assert ours.quantiles_[0] <= q_mapie + 1e-12
        ours.quantiles_[:] = q_mapie
        assert (ours.predict(p_test) != theirs).any(axis=1).sum() == 0


# --------------------------------------------------------------------------------------------
# Brute force


def test_quantile_is_the_finite_sample_order_statistic():
    rng = np.random.default_rng(6)
    for n in (19, 20, 57, 400):
        p, y = sample(n, 2, rng)
        for alpha in (0.05, 0.1, 0.3):
            conformal = SplitConformalClassifier(alpha, "lac", mondrian=False).fit(y, p)
            scores = 1 - p[np.arange(n), y]
            # the smallest calibration score with at least ceil((n + 1)(1 − alpha)) scores <= it
            need = math.ceil((n + 1) * (1 - alpha))
            expected = min((s for s in scores if (scores <= s).sum() >= need), default=math.inf)
            assert conformal.quantiles_[0] == expected


def brute_force_aps_set(p, q):
    """A row's APS set by a loop: classes in decreasing probability until the total reaches
    q (all of them if it never does), plus the classes tied with the last one."""
    order = sorted(range(len(p)), key=lambda k: -p[k])
    total, last = 0.0, None
    for k in order:
        total += p[k]
        last = k
        if total >= q - 1e-8:
            break
    else:
        return [True] * len(p)
    return [p[k] >= p[last] - 1e-8 for k in range(len(p))]


def test_aps_mondrian_against_a_loop():
    rng = np.random.default_rng(7)
    p, y = sample(900, 4, rng)
    conformal = SplitConformalClassifier(0.1, "aps", mondrian=True).fit(y[:600], p[:600])
    for k in range(4):  # class k's quantile: the order statistic of its own rows' scores
        rows = np.flatnonzero(y[:600] == k)
        scores = sorted(sum(p[i][p[i] >= p[i, k]]) for i in rows)
        rank = math.ceil((len(rows) + 1) * 0.9)
        assert conformal.quantiles_[k] == pytest.approx(scores[rank - 1], abs=1e-12)
    sets = conformal.predict(p[600:])
    for row, s in zip(p[600:], sets, strict=True):
        expected = [brute_force_aps_set(row, conformal.quantiles_[k])[k] for k in range(4)]
        assert s.tolist() == expected


# --------------------------------------------------------------------------------------------
# Coverage


@pytest.mark.parametrize(("n_classes", "alpha"), [(2, 0.05), (2, 0.1), (3, 0.1)])
def test_lac_coverage_is_within_the_beta_binomial_bounds(n_classes, alpha):
    rng = np.random.default_rng(8)
    p, y = sample(22_000, n_classes, rng)
    conformal = SplitConformalClassifier(alpha, "lac", mondrian=False).fit(y[:2000], p[:2000])
    sets = conformal.predict(p[2000:])
    low, high = coverage_bounds(2000, 20_000, alpha)
    assert low <= covered_count(sets, y[2000:]) <= high
    report = conformal.evaluate(y[2000:], p[2000:])
    assert report.coverage.estimate == covered_count(sets, y[2000:]) / 20_000


def test_aps_coverage_is_at_least_the_beta_binomial_bound():
    rng = np.random.default_rng(9)
    p, y = sample(22_000, 4, rng)
    conformal = SplitConformalClassifier(0.1, "aps", mondrian=False).fit(y[:2000], p[:2000])
    low, _ = coverage_bounds(2000, 20_000, 0.1)
    assert covered_count(conformal.predict(p[2000:]), y[2000:]) >= low


def test_mondrian_covers_the_rare_class_where_one_quantile_does_not():
    """95 % class 0, 5 % class 1, and the model is less sure of class 1."""
    rng = np.random.default_rng(10)
    n = 44_000
    y = (rng.random(n) < 0.05).astype(int)
    p1 = 1 / (1 + np.exp(-(rng.normal(-2.5, 1.0, n) + 1.5 * y)))
    cal, test = slice(0, 24_000), slice(24_000, None)
    alpha = 0.1
    marginal = SplitConformalClassifier(alpha, "lac", mondrian=False).fit(y[cal], p1[cal])
    mondrian = SplitConformalClassifier(alpha, "lac", mondrian=True).fit(y[cal], p1[cal])
    by_class_marginal = marginal.evaluate(y[test], p1[test]).coverage_by_class
    assert by_class_marginal[1].high < 1 - alpha - 0.1  # the rare class is traded away
    sets = mondrian.predict(p1[test])
    for k in (0, 1):
        rows = y[test] == k
        low, high = coverage_bounds(int((y[cal] == k).sum()), int(rows.sum()), alpha)
        assert low <= covered_count(sets[rows], y[test][rows]) <= high


# --------------------------------------------------------------------------------------------
# Too few calibration rows


def test_too_few_rows_warns_and_every_set_is_full():
    rng = np.random.default_rng(11)
    p, y = sample(200, 2, rng)
    y[:10] = 1
    y[10:] = 0  # class 1 has 10 rows; alpha = 0.05 needs 19
    conformal = SplitConformalClassifier(0.05, "lac", mondrian=True)
    with pytest.warns(UserWarning, match=r"needs at least 19 calibration rows per class"):
        conformal.fit(y, p)
    assert math.isinf(conformal.quantiles_[1]) and math.isfinite(conformal.quantiles_[0])
    assert conformal.predict(p)[:, 1].all()
    assert conformal.to_dict()["quantiles"][1] is None


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.2, 0.3, 0.01])
def test_minimum_rows_is_where_the_quantile_becomes_finite(alpha):
    rng = np.random.default_rng(12)
    finite = []
    for n in range(1, 120):
        p, y = sample(n, 2, rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q = SplitConformalClassifier(alpha, mondrian=False).fit(y, p).quantiles_[0]
        finite.append(math.isfinite(q))
    first = finite.index(True) + 1
    assert all(finite[first - 1 :])
    with pytest.warns(UserWarning, match=rf"needs at least {first} calibration rows"):
        SplitConformalClassifier(alpha, mondrian=False).fit([0] * (first - 1), [0.3] * (first - 1))


# --------------------------------------------------------------------------------------------
# Reports, models, saving


def test_coverage_report_against_counts():
    rng = np.random.default_rng(13)
    y = rng.integers(0, 2, 500)
    sets = rng.random((500, 2)) < 0.6
    report = coverage_report(y, sets, alpha=0.1)
    size = sets.sum(axis=1)
    for key, rows in [("all", np.ones(500, bool)), (0, y == 0), (1, y == 1)]:
        row = report.table.loc[key]
        assert row["n"] == rows.sum()
        assert row["coverage"] == pytest.approx(sets[rows, y[rows]].mean())
        assert row["empty"] == pytest.approx((size[rows] == 0).mean())
        assert row["{0}"] == pytest.approx((sets[rows, 0] & ~sets[rows, 1]).mean())
        assert row["{1}"] == pytest.approx((sets[rows, 1] & ~sets[rows, 0]).mean())
        assert row["several"] == pytest.approx(sets[rows].all(axis=1).mean())
    from statsmodels.stats.proportion import proportion_confint

    k = covered_count(sets, y)
    assert (report.coverage.low, report.coverage.high) == pytest.approx(
        proportion_confint(k, 500, alpha=0.05, method="wilson")
    )
    json.dumps(report.to_dict())  # JSON-ready
    mapie_shaped = coverage_report(y, sets[:, :, None])  # (n, C, 1) as MAPIE returns
    assert mapie_shaped.coverage == report.coverage


def test_keras_model_convenience_equals_fit_on_its_predictions():
    import keras

    rng = np.random.default_rng(14)
    x = rng.normal(size=(400, 3)).astype("float32")
    y = (x[:, 0] + rng.normal(size=400) > 0).astype(int)
    for units, activation in ((1, "sigmoid"), (3, "softmax")):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units, activation)])
        labels = y if units == 1 else np.minimum(y + (x[:, 1] > 1), 2)
        scores = model.predict(x, verbose=0)
        direct = SplitConformalClassifier(0.1, "aps").fit(labels[:300], scores[:300])
        via_model = SplitConformalClassifier(0.1, "aps").fit_model(model, x[:300], labels[:300])
        np.testing.assert_array_equal(direct.quantiles_, via_model.quantiles_)
        np.testing.assert_array_equal(
            via_model.predict_model(model, x[300:]), direct.predict(scores[300:])
        )


def test_config_and_json_round_trip():
    rng = np.random.default_rng(15)
    p, y = sample(300, 3, rng)
    conformal = SplitConformalClassifier(alpha=0.2, score="aps", mondrian=True).fit(y, p)
    config = conformal.get_config()
    assert config == {"alpha": 0.2, "score": "aps", "mondrian": True}
    assert SplitConformalClassifier.from_config(config).get_config() == config
    restored = SplitConformalClassifier.from_dict(json.loads(json.dumps(conformal.to_dict())))
    np.testing.assert_array_equal(restored.quantiles_, conformal.quantiles_)
    np.testing.assert_array_equal(restored.predict(p), conformal.predict(p))


# --------------------------------------------------------------------------------------------
# Bad inputs


@pytest.mark.parametrize("alpha", [0, 1, 1.5, -0.1, float("nan"), "0.1", True])
def test_alpha_outside_zero_one(alpha):
    with pytest.raises(InvalidArgument, match=r"argument `alpha`. Expected a float in \(0, 1\)"):
        SplitConformalClassifier(alpha=alpha)


def test_unknown_score_and_mondrian():
    with pytest.raises(
        InvalidArgument, match=r"argument `score`. Expected one of \('lac', 'aps'\)"
    ):
        SplitConformalClassifier(score="raps")
    with pytest.raises(InvalidArgument, match=r"argument `mondrian`. Expected True or False"):
        SplitConformalClassifier(mondrian="yes")


@pytest.mark.parametrize(
    ("y", "scores", "match"),
    [
        ([0, 1, 1], [0.2, 0.9], r"`y_cal`. Expected one class index per row of scores_cal \(2\)"),
        ([0, 1], [0.2, float("nan")], r"`scores_cal`. Expected finite values .* 1 NaN or inf"),
        ([0, 1], [0.2, 1.7], r"`scores_cal`. Expected probabilities in \[0, 1\].*logits"),
        ([0, 2], [0.2, 0.7], r"`y_cal`. Expected class indices \(integers\) in \[0, 2\)"),
        ([0, 0.5], [0.2, 0.7], r"`y_cal`. Expected class indices"),
        ([0, 1], [[0.2, 0.7], [0.5, 0.5]], r"`scores_cal`. Expected rows .* sum to 1"),
        ([0, 1], [[[0.2, 0.8]]] * 2, r"`scores_cal`. Expected probabilities of shape"),
        ([0, 0, 0], [0.2, 0.3, 0.4], r"`y_cal`. Expected calibration rows of every class"),
    ],
)
def test_fit_rejects(y, scores, match):
    with pytest.raises(InvalidArgument, match=match):
        SplitConformalClassifier(0.1).fit(y, scores)


def test_predict_rejects():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        SplitConformalClassifier().predict([0.3])
    fitted = SplitConformalClassifier(0.3, mondrian=False).fit([0, 1, 0, 1], [0.2, 0.7, 0.4, 0.9])
    with pytest.raises(InvalidArgument, match=r"`scores`. Expected probabilities of the 2 classes"):
        fitted.predict([[0.2, 0.3, 0.5]])
    with pytest.raises(InvalidArgument, match=r"`scores`. Expected finite values"):
        fitted.predict([float("nan")])
    with pytest.raises(InvalidArgument, match=r"`y_true`. Expected one class index per row"):
        fitted.evaluate([0, 1, 1], [0.2, 0.3])
    with pytest.raises(InvalidArgument, match=r"`sets`. Expected an \(n, C\) array of booleans"):
        coverage_report([0, 1], [[0.5, 1], [1, 0]])
