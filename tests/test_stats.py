"""kerasx.stats: intervals and paired comparisons against independent references.

Wilson against statsmodels; the vectorised metrics against scikit-learn on the same resamples;
bootstrap_ci against ``scipy.stats.bootstrap`` on the very same resamples (scipy resamples an
index vector, and the statistic records the indices it is given), by rows and by whole groups;
McNemar against statsmodels; DeLong against a double-loop implementation and scikit-learn's
AUC; the cluster bootstrap's coverage by simulation, next to the row bootstrap's.
"""

import numpy as np
import pytest
import scipy.stats
from sklearn import metrics as skm

from kerasx import InvalidArgument
from kerasx.functional import expected_calibration_error
from kerasx.stats import (
    BootstrapInterval,
    Interval,
    bootstrap_ci,
    compare,
    delong_test,
    mcnemar,
    wilson_interval,
)
from kerasx.stats._bootstrap import Resampler
from kerasx.stats._metrics import METRICS

INVALID = "Invalid value for argument `{}`"


def _binary_data(n, seed, *, ties=True, signal=0.3):
    """Labels and scores in [0, 1] that carry some signal; rounded to 2 decimals for ties."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = np.clip(signal * y + (1 - signal) * rng.random(n), 0, 1)
    return y, (np.round(score, 2) if ties else score)


def _counts(indices, n_units):
    return np.stack([np.bincount(row, minlength=n_units) for row in indices])


# ------------------------------------------------------------------------------- Wilson


@pytest.mark.parametrize("n", [1, 2, 7, 30, 250, 1001])
@pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
def test_wilson_interval_equals_statsmodels(n, level):
    from statsmodels.stats.proportion import proportion_confint

    for k in sorted({0, 1, n // 3, n // 2, n - 1, n} & set(range(n + 1))):
        expected = proportion_confint(k, n, alpha=1 - level, method="wilson")
        result = wilson_interval(k, n, level)
        assert (result.low, result.high) == pytest.approx(expected, abs=1e-12)
        assert result.estimate == k / n


# ----------------------------------------------------------- the vectorised metrics, per resample


def _sklearn_metric(name, y, score, threshold=0.5):
    """The reference, on rows listed as often as drawn; ``nan`` where the metric is undefined."""
    predicted = (score > threshold).astype(int)
    has = {c: bool((y == c).any()) for c in (0, 1)}
    if name == "accuracy":
        return skm.accuracy_score(y, predicted)
    if name == "sensitivity":
        return skm.recall_score(y, predicted, pos_label=1) if has[1] else np.nan
    if name == "specificity":
        return skm.recall_score(y, predicted, pos_label=0) if has[0] else np.nan
    if name == "roc_auc":
        return skm.roc_auc_score(y, score) if has[0] and has[1] else np.nan
    if name == "mcc":
        return skm.matthews_corrcoef(y, predicted) if has[0] and has[1] else np.nan
    if name == "brier":
        return skm.brier_score_loss(y, score)
    if name == "ece":
        return expected_calibration_error(y, score, n_bins=10)
    raise AssertionError(name)


@pytest.mark.parametrize("name", sorted(METRICS))
@pytest.mark.parametrize("threshold", [0.5, 0.37])
def test_vectorised_metrics_equal_sklearn_on_each_resample(name, threshold):
    """Scores on a 0.01 grid (many ties, some at the threshold), 60 resamples of 40 rows: some
    resamples hold one class only (the metric is nan there, in both). Exact to 1e-12."""
    y, score = _binary_data(40, seed=3)
    score[:4] = threshold  # ties at the threshold: predicted 0
    indices = np.random.default_rng(4).integers(0, 40, (60, 40))
    indices[0] = np.flatnonzero(y == 1)[0]  # one resample of a single positive row
    got = METRICS[name].prepare(y, score, threshold)(_counts(indices, 40).astype(float))
    expected = [_sklearn_metric(name, y[i], score[i], threshold) for i in indices]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert np.isnan(got[0]) == (name in ("specificity", "roc_auc", "mcc"))


def test_vectorised_auc_with_all_scores_tied_is_one_half():
    y, score = np.array([0, 1, 0, 1, 1]), np.full(5, 0.3)
    assert METRICS["roc_auc"].prepare(y, score)(np.ones((1, 5)))[0] == 0.5


def test_group_weights_take_every_row_of_each_drawn_group():
    """Resampler by groups: a row's weight is how often its group was drawn."""
    codes = np.array([0, 0, 1, 2, 2, 2])
    drawn = np.array([[2, 2, 0], [1, 1, 1]])
    resampler = Resampler(6, codes, 3)
    weights = resampler.bootstrap([lambda W: W[:, 0], lambda W: W[:, 3]], 2, None, drawn)
    assert weights.tolist() == [[1, 2], [0, 0]]
    left_out = resampler.jackknife([lambda W: W.sum(axis=1)])
    assert left_out[:, 0].tolist() == [4, 5, 3]


# --------------------------------------------------- bootstrap_ci against scipy.stats.bootstrap


def _scipy_reference(statistic_of_rows, rows_of_unit, *, n_resamples, level, method, seed):
    """``scipy.stats.bootstrap`` of the unit numbers ``0 … U−1``: its statistic maps each
    resample of unit numbers to the rows of those units and records the resamples drawn.

    Returns ``(scipy's result, the (n_resamples, U) unit numbers it drew)``.
    """
    n_units = len(rows_of_unit)
    drawn = []

    def statistic(units, axis=-1):
        flat = units.reshape(-1, units.shape[-1])
        if flat.shape == (n_resamples, n_units):
            drawn.append(flat.copy())
        values = [statistic_of_rows(np.concatenate([rows_of_unit[u] for u in r])) for r in flat]
        return np.array(values).reshape(units.shape[:-1])

    result = scipy.stats.bootstrap(
        (np.arange(n_units),),
        statistic,
        vectorized=True,
        n_resamples=n_resamples,
        confidence_level=level,
        method="BCa" if method == "bca" else "percentile",
        rng=np.random.default_rng(seed),
    )
    assert len(drawn) == 1
    return result, drawn[0]


_REFERENCE_CASES = [  # metric, its reference on rows, level, method
    ("accuracy", "accuracy", 0.95, "percentile"),
    ("accuracy", "accuracy", 0.9, "bca"),
    ("roc_auc", "roc_auc", 0.95, "percentile"),
    ("roc_auc", "roc_auc", 0.95, "bca"),
    ("mcc", "mcc", 0.8, "bca"),
    ("brier", "brier", 0.95, "bca"),
]


@pytest.mark.parametrize(("metric", "reference", "level", "method"), _REFERENCE_CASES)
@pytest.mark.parametrize("grouped", [False, True], ids=["rows", "groups"])
def test_bootstrap_ci_equals_scipy_bootstrap_on_the_same_resamples(
    metric, reference, level, method, grouped
):
    """Same drawn rows (or groups), so the intervals agree to 1e-12: the quantile rule, BCa's
    bias correction and its acceleration from a leave-one-row-out (or, by groups,
    leave-one-group-out: scipy's jackknife of the group numbers) jackknife."""
    y, score = _binary_data(120, seed=5)
    groups = np.random.default_rng(6).integers(0, 25, 120) if grouped else np.arange(120)
    codes = np.unique(groups, return_inverse=True)[1]
    rows_of_unit = [np.flatnonzero(codes == u) for u in range(codes.max() + 1)]
    expected, drawn = _scipy_reference(
        lambda rows: _sklearn_metric(reference, y[rows], score[rows]),
        rows_of_unit,
        n_resamples=499,
        level=level,
        method=method,
        seed=7,
    )
    result = bootstrap_ci(
        metric, y, score, groups=groups if grouped else None, level=level, method=method,
        _indices=drawn,
    )  # fmt: skip
    low, high = expected.confidence_interval
    assert (result.low, result.high) == pytest.approx((low, high), abs=1e-12)
    assert result.estimate == pytest.approx(_sklearn_metric(reference, y, score), abs=1e-12)
    assert (result.n, result.n_groups) == (120, len(rows_of_unit) if grouped else None)
    assert (result.n_resamples, result.n_dropped, result.method) == (499, 0, method)


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_a_users_metric_runs_in_a_loop_and_equals_scipy(method):
    """A plain function (the median score of the positives) goes through the loop."""
    y, score = _binary_data(80, seed=8, ties=False)

    def median_positive(labels, scores):
        return float(np.median(scores[labels == 1])) if (labels == 1).any() else np.nan

    expected, drawn = _scipy_reference(
        lambda rows: median_positive(y[rows], score[rows]),
        [np.array([i]) for i in range(80)],
        n_resamples=500,
        level=0.95,
        method=method,
        seed=9,
    )
    result = bootstrap_ci(median_positive, y, score, method=method, _indices=drawn)
    assert (result.low, result.high) == pytest.approx(
        tuple(expected.confidence_interval), abs=1e-12
    )


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_bootstrap_ci_agrees_with_scipys_own_resamples_within_monte_carlo_error(method):
    """Independent random streams, 20,000 resamples each: the ends of the accuracy interval
    (n = 400, SE ≈ 0.023) agree within 0.005 (their Monte Carlo SD is ≈ 0.001)."""
    y, score = _binary_data(400, seed=10)
    correct = ((score > 0.5) == y).astype(float)
    expected = scipy.stats.bootstrap(
        (correct,), np.mean, n_resamples=20_000, method="BCa" if method == "bca" else method,
        rng=np.random.default_rng(11),
    ).confidence_interval  # fmt: skip
    result = bootstrap_ci("accuracy", y, score, n_resamples=20_000, method=method, seed=12)
    assert (result.low, result.high) == pytest.approx(tuple(expected), abs=0.005)


def test_sklearn_functions_are_recognised_and_the_loop_gives_the_same_numbers():
    y, score = _binary_data(150, seed=13)
    by_name = bootstrap_ci("roc_auc", y, score, seed=0, n_resamples=200)
    assert bootstrap_ci(skm.roc_auc_score, y, score, seed=0, n_resamples=200) == by_name
    looped = bootstrap_ci(lambda a, b: skm.roc_auc_score(a, b), y, score, seed=0, n_resamples=200)
    assert (looped.low, looped.high) == pytest.approx((by_name.low, by_name.high), abs=1e-12)

    def moduleless(a, b):  # as a function defined by exec() is
        return skm.roc_auc_score(a, b)

    moduleless.__module__ = None
    assert bootstrap_ci(moduleless, y, score, seed=0, n_resamples=200) == looped
    predictions = (score > 0.5).astype(int)
    assert bootstrap_ci(skm.accuracy_score, y, predictions, seed=0) == bootstrap_ci(
        "accuracy", y, predictions, seed=0
    )


def test_one_group_per_row_is_the_row_bootstrap_and_group_labels_may_be_strings():
    y, score = _binary_data(60, seed=14)
    rows = bootstrap_ci("accuracy", y, score, seed=3)
    assert bootstrap_ci("accuracy", y, score, groups=np.arange(60), seed=3).low == rows.low
    patients = np.random.default_rng(15).integers(0, 12, 60)
    as_ints = bootstrap_ci("accuracy", y, score, groups=patients, seed=3)
    as_text = bootstrap_ci("accuracy", y, score, groups=[f"P{p:02d}" for p in patients], seed=3)
    assert (as_text.low, as_text.high, as_text.n_groups) == (as_ints.low, as_ints.high, 12)
    mixed = np.array([p if p % 2 else f"P{p}" for p in patients], dtype=object)
    assert bootstrap_ci("accuracy", y, score, groups=mixed, seed=3).n_groups == 12


def test_the_same_seed_gives_the_same_interval_and_a_generator_is_accepted():
    y, score = _binary_data(100, seed=16)
    assert bootstrap_ci("mcc", y, score, seed=4) == bootstrap_ci("mcc", y, score, seed=4)
    result = bootstrap_ci("mcc", y, score, seed=np.random.default_rng(4))
    assert isinstance(result, Interval) and result.low < result.estimate < result.high


def test_resamples_with_one_class_are_dropped_and_counted():
    """5 positives in 100 rows: a resample holds none with probability 0.95^100 ≈ 0.6%; those
    are exactly the dropped ones, and the interval is that of the others."""
    y = np.zeros(100, int)
    y[:5] = 1
    score = np.random.default_rng(17).random(100)
    drawn = np.random.default_rng(18).integers(0, 100, (1000, 100))
    no_positive = ~(drawn < 5).any(axis=1)
    result = bootstrap_ci("roc_auc", y, score, _indices=drawn)
    assert result.n_dropped == no_positive.sum() > 0
    kept = [skm.roc_auc_score(y[i], score[i]) for i in drawn[~no_positive]]
    assert (result.low, result.high) == pytest.approx(tuple(np.quantile(kept, [0.025, 0.975])))
    assert f"{result.n_dropped} of 1000 resamples dropped" in repr(result)
    assert result.to_dict()["n_dropped"] == result.n_dropped


def test_too_many_resamples_with_one_class_raise():
    """2 positives in 60 rows: ≈ 13% of resamples hold none (over the 5% allowed)."""
    y = np.zeros(60, int)
    y[:2] = 1
    score = np.linspace(0, 1, 60)
    with pytest.raises(InvalidArgument, match=INVALID.format("y_true") + ".* at least 95%"):
        bootstrap_ci("sensitivity", y, score, seed=0)
    with pytest.raises(InvalidArgument, match=INVALID.format("metric")):
        bootstrap_ci(lambda a, b: np.nan if a.sum() < 2 else 1.0, y, score, seed=0)


def test_a_class_in_a_single_group_raises():
    """Every positive in one of 20 patients: ≈ (19/20)^20 = 36% of resamples hold none."""
    groups = np.repeat(np.arange(20), 4)
    y = (groups == 0).astype(int)
    with pytest.raises(InvalidArgument, match=INVALID.format("y_true")):
        bootstrap_ci("roc_auc", y, np.linspace(0, 1, 80), groups=groups, seed=0)


def test_bca_that_cannot_be_made_raises_naming_method():
    """BCa needs the metric with each row left out (here: undefined without row 0), and the
    estimate inside the bootstrap distribution (here: the share of distinct rows is 1 on the
    data and below 1 on every resample)."""
    y, s = _binary_data(50, seed=29, ties=False)
    drawn = np.random.default_rng(30).integers(0, 50, (100, 50))
    drawn[:, 0] = 0  # every resample holds row 0

    def needs_row_0(labels, scores):
        return float(scores.mean()) if (scores == s[0]).any() else np.nan

    assert bootstrap_ci(needs_row_0, y, s, _indices=drawn).n_dropped == 0
    with pytest.raises(InvalidArgument, match=INVALID.format("method") + ".* out leaves"):
        bootstrap_ci(needs_row_0, y, s, method="bca", _indices=drawn)
    with pytest.raises(InvalidArgument, match=INVALID.format("method") + ".* outside"):
        bootstrap_ci(lambda a, b: len(np.unique(b)) / len(b), y, s, method="bca", seed=0)


# ------------------------------------------------------------------------------ McNemar


def test_mcnemar_equals_statsmodels_exact():
    from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

    rng = np.random.default_rng(19)
    cases = [(np.ones(5, bool), np.ones(5, bool))]  # no discordant pair: p = 1
    cases.append((np.array([1, 0, 1, 0]), np.array([0, 1, 0, 1])))  # b = c
    for n, p_a, p_b in [(10, 0.5, 0.5), (50, 0.9, 0.7), (300, 0.8, 0.78), (2000, 0.95, 0.9)]:
        cases.append((rng.random(n) < p_a, rng.random(n) < p_b))
    for a, b in cases:
        a, b = np.asarray(a, bool), np.asarray(b, bool)
        table = [[(a & b).sum(), (a & ~b).sum()], [(~a & b).sum(), (~a & ~b).sum()]]
        result = mcnemar(a, b)
        assert (result.b, result.c) == (table[0][1], table[1][0])
        expected = sm_mcnemar(np.array(table), exact=True).pvalue
        assert result.p_value == pytest.approx(expected, rel=1e-12, abs=1e-300)


# ------------------------------------------------------------------------------- DeLong


def _delong_by_double_loops(y, a, b):
    """DeLong et al. (1988) as written: ψ(X, Y) = 1, 1/2, 0 over every (positive, negative)
    pair, V10 and V01 by explicit loops, S10 and S01 as sample covariances."""
    positives, negatives = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    m, n = len(positives), len(negatives)

    def psi(x, z):
        return 1.0 if x > z else 0.5 if x == z else 0.0

    v10 = np.zeros((2, m))
    v01 = np.zeros((2, n))
    for r, s in enumerate((a, b)):
        for i, p in enumerate(positives):
            v10[r, i] = sum(psi(s[p], s[q]) for q in negatives) / n
        for j, q in enumerate(negatives):
            v01[r, j] = sum(psi(s[p], s[q]) for p in positives) / m
    auc = v10.mean(axis=1)
    s10 = (v10 - auc[:, None]) @ (v10 - auc[:, None]).T / (m - 1)
    s01 = (v01 - auc[:, None]) @ (v01 - auc[:, None]).T / (n - 1)
    s = s10 / m + s01 / n
    se = np.sqrt(s[0, 0] + s[1, 1] - 2 * s[0, 1])
    z = (auc[0] - auc[1]) / se
    return auc, se, z, 2 * scipy.stats.norm.sf(abs(z))


@pytest.mark.parametrize(("n", "seed", "ties"), [(12, 0, True), (60, 1, True), (150, 2, False)])
def test_delong_equals_the_double_loop_definition_and_sklearns_auc(n, seed, ties):
    y, a = _binary_data(n, seed, ties=ties)
    _, b = _binary_data(n, seed + 100, ties=ties)
    b = np.where(y == 1, np.clip(b + 0.1, 0, 1), b)
    auc, se, z, p = _delong_by_double_loops(y, a, b)
    result = delong_test(y, a, b)
    assert (result.auc_a, result.auc_b) == pytest.approx(
        (skm.roc_auc_score(y, a), skm.roc_auc_score(y, b)), abs=1e-12
    )
    assert (result.auc_a, result.auc_b) == pytest.approx(tuple(auc), abs=1e-12)
    assert result.difference == pytest.approx(auc[0] - auc[1], abs=1e-12)
    assert result.standard_error == pytest.approx(se, rel=1e-10)
    assert (result.z, result.p_value) == pytest.approx((z, p), rel=1e-10)


def test_delong_rejects_at_its_level_under_the_null():
    """Two exchangeable scores (same signal, independent noise), n = 200, 400 replications:
    DeLong rejects at 5% in 0.05 ± 3 Monte Carlo SE (0.011) of them."""
    rng = np.random.default_rng(20)
    rejections = 0
    for _ in range(400):
        y = rng.integers(0, 2, 200)
        a, b = (y + rng.normal(0, 1.2, 200) for _ in range(2))
        rejections += delong_test(y, a, b).p_value < 0.05
    assert abs(rejections / 400 - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 400)


def test_delong_of_identically_ranked_scores_is_no_difference():
    y, a = _binary_data(50, seed=21)
    result = delong_test(y, a, a**2)
    assert (result.difference, result.standard_error, result.z, result.p_value) == (0, 0, 0, 1)


# ------------------------------------------------------------------------------ compare


def test_compare_is_a_paired_bootstrap_of_the_difference():
    """The difference's interval is scipy's bootstrap of metric(A) − metric(B) over the same
    patients; each model's interval is bootstrap_ci on the same resamples; McNemar and DeLong
    are the public tests on the thresholded correctness and on the scores."""
    y, a = _binary_data(150, seed=22)
    _, b = _binary_data(150, seed=23, signal=0.15)
    patients = np.random.default_rng(24).integers(0, 30, 150)
    rows_of_unit = [np.flatnonzero(patients == u) for u in range(30)]

    def difference(rows):
        return _sklearn_metric("accuracy", y[rows], a[rows]) - _sklearn_metric(
            "accuracy", y[rows], b[rows]
        )

    for method in ("percentile", "bca"):
        expected, drawn = _scipy_reference(
            difference, rows_of_unit, n_resamples=800, level=0.9, method=method, seed=25
        )
        result = compare(y, a, b, groups=patients, level=0.9, method=method, _indices=drawn)
        ends = (result.difference.low, result.difference.high)
        assert ends == pytest.approx(tuple(expected.confidence_interval), abs=1e-12)
        alone = bootstrap_ci(
            "accuracy", y, b, groups=patients, level=0.9, method=method, _indices=drawn
        )
        assert result.metric_b == alone
    assert result.difference.estimate == pytest.approx(
        result.metric_a.estimate - result.metric_b.estimate, abs=1e-15
    )
    assert result.mcnemar == mcnemar((a > 0.5) == y, (b > 0.5) == y)
    assert result.mcnemar_p == result.mcnemar.p_value
    assert result.delong == delong_test(y, a, b)
    assert result.difference.n_groups == 30


def _two_models(shift, n=400, seed=26):
    y, a = _binary_data(n, seed=seed)
    b = np.clip(a - shift * (2 * y - 1) + 0.01 * np.random.default_rng(seed).random(n), 0, 1)
    return y, a, b


def test_summary_says_which_is_better_and_how_the_test_treats_rows():
    y, a, b = _two_models(0.2)
    groups = np.repeat(np.arange(40), 10)
    sentence = compare(y, a, b, groups=groups, seed=0).summary("the CNN", "the MLP", unit="patient")
    assert sentence.startswith("the CNN is better than the MLP: accuracy +0.")
    assert (
        "(95% bootstrap CI by patient, 40 patients); McNemar p < 0.001 treats the 400 rows as independent."
        in sentence
    )
    worse = compare(y, b, a, seed=0, metric="roc_auc").summary("B", "A")
    assert (
        worse.startswith("B is worse than A: roc_auc -0.") and "over 400 rows), DeLong p" in worse
    )
    same = compare(y, a, a, seed=0).summary()
    assert same.startswith("A is not clearly better or worse than B: accuracy +0.00 [+0.00, +0.00]")

    def mean_score(labels, scores):
        return float(scores.mean())

    own = compare(y, a, b, seed=0, metric=mean_score, n_resamples=100).summary("A", "B")
    assert own.startswith("A minus B: mean_score ") and own.endswith("over 400 rows).")
    lower_brier = compare(y, a, b, seed=0, metric="brier")
    assert lower_brier.difference.high < 0
    assert lower_brier.summary().startswith("A is better than B: brier -0.")
    assert lower_brier.summary().endswith("over 400 rows).")


def test_compare_without_two_rows_of_each_class_has_no_delong():
    y = np.array([1] + [0] * 39)
    result = compare(y, np.linspace(0, 1, 40), np.linspace(1, 0, 40), seed=0)
    assert result.delong is None and result.metric == "accuracy"


# ---------------------------------------------------------------------- coverage of the bootstrap


def _coverage(replications, *, method, seed=2024, patients=40, cells=10, sigma=1.0):
    """Cells of each patient right with probability expit(logit(0.8) + u), u ~ N(0, σ²) per
    patient. The true accuracy E[expit(logit(0.8) + u)] comes from Gauss–Hermite quadrature.
    Returns the share of 95% intervals, by patient and by row, that hold it."""
    location = np.log(0.8 / 0.2)
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    truth = (weights / (1 + np.exp(-(location + sigma * nodes)))).sum() / weights.sum()
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(patients), cells)
    hits = {"patient": 0, "row": 0}
    for _ in range(replications):
        p = 1 / (1 + np.exp(-(location + sigma * rng.standard_normal(patients))))
        correct = rng.random(patients * cells) < p[groups]
        y = rng.integers(0, 2, patients * cells)
        score = np.where(correct, y, 1 - y).astype(float)
        for kind, g in (("patient", groups), ("row", None)):
            ci = bootstrap_ci(
                "accuracy", y, score, groups=g, n_resamples=500, method=method, seed=rng
            )
            hits[kind] += ci.low <= truth <= ci.high
    return {kind: count / replications for kind, count in hits.items()}


def _check_coverage(coverage, replications):
    """By patient: within 3 Monte Carlo SE of 0.95 (with 40 patients the percentile interval is
    expected a little low, ≈ 0.940: P(|t₃₉| < 1.96 √(39/40))). By row: the cells of a patient
    are alike (design effect ≈ 2), the interval too narrow, its coverage ≈ 0.80."""
    se = np.sqrt(0.95 * 0.05 / replications)
    assert abs(coverage["patient"] - 0.95) < 3 * se, coverage
    assert coverage["row"] < 0.88 and coverage["row"] < coverage["patient"] - 0.08, coverage


def test_bootstrap_by_patient_covers_and_by_row_undercovers():
    """400 replications (≈ 5 s): measured by patient 0.940, by row 0.80 (MC SE 0.012, 0.020)."""
    _check_coverage(_coverage(400, method="percentile"), 400)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_bootstrap_by_patient_covers_and_by_row_undercovers_2000_replications(method):
    """Measured: percentile 0.9385 by patient, 0.8065 by row; BCa 0.940 and 0.8085 (MC SE
    0.0054 and 0.0088)."""
    _check_coverage(_coverage(2000, method=method), 2000)


# -------------------------------------------------------------------------- bad inputs


def _y_score():
    return _binary_data(20, seed=27)


def _bad_bootstrap_calls():
    y, s = _y_score()
    nan = s.copy()
    nan[3] = np.nan
    ones = np.ones(20, int)
    return [
        ("y_score", lambda: bootstrap_ci("accuracy", y, s[:-1])),
        ("y_score", lambda: bootstrap_ci("accuracy", y, nan)),
        ("y_score", lambda: bootstrap_ci("roc_auc", y, np.full(20, np.inf))),
        ("y_score", lambda: bootstrap_ci("brier", y, s + 1)),
        ("y_true", lambda: bootstrap_ci("accuracy", y + 1, s)),
        ("y_true", lambda: bootstrap_ci("accuracy", [], [])),
        ("y_true", lambda: bootstrap_ci("roc_auc", ones, s)),
        ("y_true", lambda: bootstrap_ci("sensitivity", 1 - ones, s)),
        ("y_true", lambda: bootstrap_ci("specificity", ones, s)),
        ("y_true", lambda: bootstrap_ci("mcc", ones, s)),
        ("groups", lambda: bootstrap_ci("accuracy", y, s, groups=np.zeros(20))),
        ("groups", lambda: bootstrap_ci("accuracy", y, s, groups=np.arange(19))),
        ("level", lambda: bootstrap_ci("accuracy", y, s, level=1.0)),
        ("level", lambda: bootstrap_ci("accuracy", y, s, level=0)),
        ("n_resamples", lambda: bootstrap_ci("accuracy", y, s, n_resamples=0)),
        ("n_resamples", lambda: bootstrap_ci("accuracy", y, s, n_resamples=39)),
        ("n_resamples", lambda: bootstrap_ci("accuracy", y, s, n_resamples=150, level=0.99)),
        ("n_resamples", lambda: bootstrap_ci("accuracy", y, s, n_resamples=100.0)),
        ("method", lambda: bootstrap_ci("accuracy", y, s, method="BCa")),
        ("metric", lambda: bootstrap_ci("auc", y, s)),
        ("metric", lambda: bootstrap_ci(None, y, s)),
        ("threshold", lambda: bootstrap_ci("accuracy", y, s, threshold=np.nan)),
        ("seed", lambda: bootstrap_ci("accuracy", y, s, seed=-1)),
        ("seed", lambda: bootstrap_ci("accuracy", y, s, seed="0")),
        ("metric", lambda: bootstrap_ci(lambda a, b: np.nan, y, s)),
    ]


def _bad_compare_calls():
    y, s = _y_score()
    nan = s.copy()
    nan[0] = np.inf
    return [
        ("score_a", lambda: compare(y, s[:5], s)),
        ("score_b", lambda: compare(y, s, s[:5])),
        ("score_b", lambda: compare(y, s, nan)),
        ("y_true", lambda: compare(y * 2, s, s)),
        ("y_true", lambda: compare(np.ones(20), s, s, metric="roc_auc")),
        ("groups", lambda: compare(y, s, s, groups=["p"] * 20)),
        ("level", lambda: compare(y, s, s, level=1.5)),
        ("n_resamples", lambda: compare(y, s, s, n_resamples=-5)),
        ("method", lambda: compare(y, s, s, method="basic")),
        ("metric", lambda: compare(y, s, s, metric="f1")),
    ]


def _bad_test_calls():
    y, s = _y_score()
    return [
        ("correct_a", lambda: mcnemar([0, 2, 1], [1, 1, 1])),
        ("correct_b", lambda: mcnemar([0, 1, 1], [1, 1])),
        ("y_true", lambda: delong_test(np.r_[1, np.zeros(19)], s, s)),
        ("y_true", lambda: delong_test(np.zeros(20), s, s)),
        ("score_a", lambda: delong_test(y, np.r_[np.nan, s[1:]], s)),
        ("score_b", lambda: delong_test(y, s, s[:3])),
    ]


@pytest.mark.parametrize(
    ("argument", "call"),
    [
        pytest.param(argument, call, id=f"{group}-{i}-{argument}")
        for group, calls in (
            ("bootstrap_ci", _bad_bootstrap_calls()),
            ("compare", _bad_compare_calls()),
            ("tests", _bad_test_calls()),
        )
        for i, (argument, call) in enumerate(calls)
    ],
)
def test_bad_inputs_raise_invalid_argument_naming_the_argument(argument, call):
    with pytest.raises(InvalidArgument, match=INVALID.format(argument) + r"\. Expected "):
        call()


def test_error_messages_say_what_was_received():
    y, s = _y_score()
    with pytest.raises(InvalidArgument) as info:
        bootstrap_ci("roc_auc", np.ones(20, int), s)
    assert str(info.value) == (
        "Invalid value for argument `y_true`. Expected both classes (0 and 1) for "
        "metric='roc_auc'. Received: y_true=20 labels, 20 of class 1"
    )
    with pytest.raises(InvalidArgument) as info:
        bootstrap_ci("accuracy", y, np.r_[np.nan, s[1:]])
    assert str(info.value).endswith("Received: y_score=array of shape (20,) with 1 NaN or inf")
    with pytest.raises(InvalidArgument) as info:
        bootstrap_ci("accuracy", y, s, groups=np.zeros(20))
    assert str(info.value).endswith(
        "at least 2 distinct groups. Received: groups=20 rows in 1 group"
    )


def test_results_are_frozen_and_json_ready():
    y, s = _binary_data(50, seed=28)
    result = bootstrap_ci("accuracy", y, s, seed=0)
    assert isinstance(result, BootstrapInterval)
    with pytest.raises(AttributeError):
        result.low = 0
    assert set(result.to_dict()) == {
        "estimate", "low", "high", "level", "method", "n", "n_groups", "n_resamples", "n_dropped",
    }  # fmt: skip
