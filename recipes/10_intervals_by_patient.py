# %% [markdown]
# # Step 10 · Intervals by patient: how sure is a test accuracy?
#
# > **בעברית:** כמה בטוח ציון המבחן? תאים של אותו מטופל אינם בלתי תלויים: רווח סמך לפי מטופל, והשוואה הוגנת בין שני מודלים.
#
# Steps 6 and 9 report a test accuracy as one number. How sure is it? The textbook interval of a
# proportion, Wilson's, treats the $n$ test cells as $n$ independent trials. They are not: the
# cells come from patients, a dozen or more each, and the cells of one patient share a smear, a
# stain, a microscope and a stage of the parasite. A model that misreads one of them tends to
# misread its neighbours. The independent units are the patients, and the test side has only a
# few dozen.
#
# How much that matters is the *design effect* of survey sampling. With $m$ cells per patient
# and $\rho$ the correlation between two cells of one patient (here: between *the model got
# this cell right* and *it got that one right*),
#
# $$\text{deff} = \frac{\operatorname{Var}(\hat p)\ \text{when patients are drawn}}
# {\operatorname{Var}(\hat p)\ \text{when cells are drawn}} = 1 + (m - 1)\,\rho ,$$
#
# so the $n$ cells carry the information of $n / \text{deff}$ independent ones, and an honest
# interval is $\sqrt{\text{deff}}$ times wider. A small $\rho = 0.1$ with $m = 20$ already
# doubles the variance.
#
# This step fits the course's logistic baseline and MLP on training patients and scores them on
# held-out test patients; gives the MLP's accuracy three intervals (Wilson, the bootstrap of
# cells, the bootstrap of whole patients: `kerasx.stats.bootstrap_ci`); estimates $\rho$ and
# the design effect; checks by simulation, where the true accuracy is known, how often each
# interval holds it; compares the two models by patient (`kerasx.stats.compare`); and turns
# cells into one verdict per patient (`kerasx.stats.patient_diagnosis`).
#
# The data: `--data DIR`, a folder in the NIH layout (`Parasitized/`, `Uninfected/`), whose file
# names name each cell's patient. Without it, synthetic cells (**not real data**) dealt into
# simulated patients, each patient's smear with its own stain; `--quick` takes fewer and smaller
# ones and few epochs.
#
# As a script: `python recipes/10_intervals_by_patient.py [--quick] [--data DIR|synthetic]
# [--image-size N] [--epochs N] [--resamples N] [--replications N] [--out DIR] [--seed S]`;
# it writes the figure to `--out`.

# %%
import os
import sys

import keras
import numpy as np
from matplotlib.figure import Figure

from kerasx._course import parse_options, show, step_parser
from kerasx.conformal import SplitConformalClassifier
from kerasx.data import (
    describe_source,
    grouped_validation_split,
    load_malaria,
    make_synthetic_malaria,
)
from kerasx.recipes import logistic_baseline, malaria_mlp
from kerasx.stats import bootstrap_ci, compare, patient_diagnosis, wilson_interval

# %% [markdown]
# ## Options
#
# As a script the options come from the command line; a notebook takes the defaults (and
# `--quick` when `KERASX_QUICK=1` is set) and shows the figure (`parse_options` and `show`,
# shared by every step).

# %%
parser = step_parser(
    "Intervals by patient, and an honest comparison of two models (step 10).",
    quick="fewer, smaller synthetic cells, few epochs, 200 simulated test sets",
)
parser.add_argument("--data", default=None, help="a folder in the NIH layout, or synthetic")
parser.add_argument("--image-size", type=int, default=None, help="default 64 (quick: 24)")
parser.add_argument("--epochs", type=int, default=None, help="default 60 (quick: 5)")
parser.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples")
parser.add_argument("--replications", type=int, default=None, help="default 1000 (quick: 200)")
parser.add_argument("--out", default="runs/intervals_by_patient")
parser.add_argument("--seed", type=int, default=0)
args = parse_options(parser)
source = args.data or "synthetic"
size = args.image_size or (24 if args.quick else 64)
args.epochs = args.epochs or (5 if args.quick else 60)
args.replications = args.replications or (200 if args.quick else 1000)
os.makedirs(args.out, exist_ok=True)

# %% [markdown]
# ## The data: cells, and the patient of each
#
# From a folder, `load_malaria(..., split="patient", return_groups=True)` puts each patient's
# cells on one side of the split and returns the patient of every cell (read from its file
# name). The synthetic cells have no patients, so the step makes some: a third of the patients
# uninfected (all cells uninfected), the others with a mix of parasitized and uninfected cells,
# and each patient's images tinted by its own stain, a random factor per colour channel. The
# stain is what the cells of a patient share, as on real smears.


# %%
def synthetic_patients(n_patients, cells, image_size, seed):
    """Synthetic cells (NOT real data) in simulated patients: ``(X, y, patient)``."""
    rng = np.random.default_rng(seed)
    images, labels = make_synthetic_malaria(n_patients * cells, image_size=image_size, seed=seed)
    uninfected = n_patients // 3
    negatives = rng.permutation(np.flatnonzero(labels == 0))
    first = negatives[: uninfected * cells]  # the uninfected patients' cells
    rest = rng.permutation(np.concatenate([negatives[uninfected * cells :], labels.nonzero()[0]]))
    order = np.concatenate([first, rest])
    patient = np.repeat(np.arange(n_patients), cells)
    stain = np.exp(rng.normal(0.0, 0.25, (n_patients, 1, 1, 3)))  # one tint per smear
    X = np.clip(images[order] / 255.0 * stain[patient], 0.0, 1.0).astype(np.float32)
    return X, labels[order], np.array([f"S{p:03d}" for p in patient])


def load_cells(source, size, args):
    """``(X, y, patient)`` of the training side and of the test side, and the words to print."""
    if source == "tfds":
        sys.exit("step 10: the TFDS images have no patient; pass --data DIR (NIH layout).")
    if source != "synthetic":
        train, test = load_malaria(
            source,
            image_size=size,
            flatten=False,
            split="patient",
            return_groups=True,
            seed=args.seed,
        )
        return train, test, describe_source(source)
    X, y, patient = synthetic_patients(120 if args.quick else 240, 10, size, args.seed)
    names = np.unique(patient)
    test = np.isin(patient, np.random.default_rng(args.seed).permutation(names)[: len(names) // 3])
    words = "SYNTHETIC cells in simulated patients (not real data)"
    return (X[~test], y[~test], patient[~test]), (X[test], y[test], patient[test]), words


train, test, words = load_cells(source, size, args)
(X, y, patient), (X_test, y_test, patient_test) = train, test
print(f"Data: {words}, {size} x {size}")
for side, p in (("training", patient), ("test", patient_test)):
    counts = np.unique(p, return_counts=True)[1]
    low, high = counts.min(), counts.max()
    each = f"{low}" if low == high else f"{low} to {high}"
    print(f"{side}: {len(p)} cells of {len(counts)} patients, {each} cells each")

# %% [markdown]
# ## The two models
#
# The baseline is step 6's `LogisticRegression` on the flattened pixels. The MLP is the course's
# (300 → 100 → 50 relu units), on standardized inputs, with Adam at 1e-4 and an L2 penalty of
# 1e-3; early stopping watches the loss on a tenth of the training *patients*
# (`grouped_validation_split`), so the epoch is chosen on patients the model does not train on.

# %%
fit_rows, validation_rows = grouped_validation_split(y, patient, seed=args.seed)
baseline = logistic_baseline().fit(X, y.astype(int))
mlp = malaria_mlp(
    X.shape[1:], learning_rate=1e-4, l2=1e-3, metrics=["accuracy"], standardize=X, seed=args.seed
)
stopping = keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)
mlp.fit(
    X[fit_rows],
    y[fit_rows],
    validation_data=(X[validation_rows], y[validation_rows]),
    epochs=args.epochs,
    batch_size=32,
    callbacks=[stopping],
    verbose=0,
)
score = {
    "MLP": mlp.predict(X_test, verbose=0).ravel(),
    "logistic": baseline.predict_proba(X_test)[:, 1],
}
print(f"MLP: best epoch {stopping.best_epoch + 1} of {args.epochs} at most")

# %% [markdown]
# ## One accuracy, three intervals
#
# - **Wilson**: $k$ right out of $n$ cells, as if each cell were a coin toss of its own.
# - **Bootstrap by cell**: draw $n$ cells with replacement, 2,000 times; the 2.5% and 97.5%
#   quantiles of the accuracy over the draws. It assumes the same as Wilson, and agrees with it.
# - **Bootstrap by patient** (the *cluster* bootstrap): draw as many *patients* as there are,
#   with replacement, and take all their cells. It copies how the test set came about: patients
#   arrive, each with their cells.
#
# What to look at: the interval by patient is the wider one; its width over Wilson's is the
# price of pretending the cells are independent.


# %%
def three_intervals(y_true, p, groups, args):
    right = int(((p > 0.5) == y_true).sum())
    return {
        "Wilson (cells independent)": wilson_interval(right, len(y_true)),
        "bootstrap by cell": bootstrap_ci(
            "accuracy", y_true, p, n_resamples=args.resamples, seed=args.seed
        ),
        "bootstrap by patient": bootstrap_ci(
            "accuracy", y_true, p, groups=groups, n_resamples=args.resamples, seed=args.seed
        ),
    }


intervals = {name: three_intervals(y_test, p, patient_test, args) for name, p in score.items()}
n_patients = len(np.unique(patient_test))
print(f"Test accuracy, 95% intervals ({len(y_test)} cells of {n_patients} patients)")
for model, rows in intervals.items():
    for how, interval in rows.items():
        width = interval.high - interval.low
        print(f"{model:9s} {how:28s} {interval.format()}  width {width:.3f}")
widths = {how: i.high - i.low for how, i in intervals["MLP"].items()}
ratio = widths["bootstrap by patient"] / widths["Wilson (cells independent)"]
print(f"MLP: the interval by patient is {ratio:.2f} times as wide as Wilson's")

# %% [markdown]
# ## The design effect, estimated
#
# Let $c_{ij} = 1$ when the model is right on cell $j$ of patient $i$ ($k$ patients,
# $m_i$ cells each, $n$ in all). The one-way ANOVA estimator of the intra-patient correlation
# compares the spread of the patients' accuracies $\bar c_i$ with the spread inside patients:
#
# $$\text{MSB} = \frac{\sum_i m_i (\bar c_i - \bar c)^2}{k - 1}, \qquad
# \text{MSW} = \frac{\sum_{i,j} (c_{ij} - \bar c_i)^2}{n - k}, \qquad
# \hat\rho = \frac{\text{MSB} - \text{MSW}}{\text{MSB} + (m_0 - 1)\,\text{MSW}},$$
#
# with $m_0 = \bigl(n - \sum_i m_i^2 / n\bigr) / (k - 1)$, nearly the average patient size ($m$
# when all patients have $m$ cells). With unequal patients the $m$ of the design effect is the
# size *as a cell sees it*, $\tilde m = \sum_i m_i^2 / n$: a big patient weighs on many cells.
# What to look at: $\sqrt{\text{deff}}$ predicts the ratio of the widths by patient and by cell,
# and $n / \text{deff}$ says how many independent cells the test set is worth.


# %%
def intraclass_correlation(values, groups):
    """The one-way ANOVA estimate of rho, and the patients' sizes."""
    codes = np.unique(groups, return_inverse=True)[1]
    sizes = np.bincount(codes)
    k, n = len(sizes), len(values)
    means = np.bincount(codes, weights=values) / sizes
    msb = (sizes * (means - values.mean()) ** 2).sum() / (k - 1)
    msw = ((values - means[codes]) ** 2).sum() / (n - k)
    m0 = (n - (sizes**2).sum() / n) / (k - 1)
    return (msb - msw) / (msb + (m0 - 1) * msw), sizes


correct = ((score["MLP"] > 0.5) == y_test).astype(float)
rho, sizes = intraclass_correlation(correct, patient_test)
m_tilde = (sizes**2).sum() / sizes.sum()
deff = 1 + (m_tilde - 1) * rho
measured = widths["bootstrap by patient"] / widths["bootstrap by cell"]
print(f"intra-patient correlation of correctness rho = {rho:.3f}")
print(f"cells per patient: mean {sizes.mean():.1f}, as a cell sees it m = {m_tilde:.1f}")
n_cells, worth = len(correct), len(correct) / deff
print(f"design effect 1 + (m - 1) rho = {deff:.2f}: {n_cells} cells, worth {worth:.0f} independent")
print(
    f"width ratio by patient / by cell: predicted sqrt(deff) = {np.sqrt(deff):.2f}, "
    f"measured {measured:.2f}"
)

# %% [markdown]
# ## Coverage, where the answer is known
#
# A simulated test set of 40 patients of 10 cells, where each patient's cells are right with
# probability $\operatorname{expit}(\operatorname{logit}(0.8) + u_i)$, $u_i \sim N(0, 1)$ one
# per patient. The true accuracy, $E[\operatorname{expit}(\operatorname{logit}(0.8) + u)]$, comes
# from Gauss–Hermite quadrature. Each replication draws new patients and makes the three 95%
# intervals; the coverage is the share of them that hold the truth (± its Monte Carlo standard
# error). What to look at: by patient close to 0.95; Wilson and the bootstrap by cell near 0.8,
# one interval in five misses.


# %%
def coverage(replications, rng, patients=40, cells=10, sigma=1.0):
    location = np.log(0.8 / 0.2)
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    truth = (weights / (1 + np.exp(-(location + sigma * nodes)))).sum() / weights.sum()
    groups = np.repeat(np.arange(patients), cells)
    hits = np.zeros(3)
    for _ in range(replications):
        p = 1 / (1 + np.exp(-(location + sigma * rng.standard_normal(patients))))
        right = rng.random(patients * cells) < p[groups]
        y_sim = rng.integers(0, 2, patients * cells)
        score_sim = np.where(right, y_sim, 1 - y_sim).astype(float)
        found = (
            wilson_interval(int(right.sum()), len(right)),
            bootstrap_ci("accuracy", y_sim, score_sim, n_resamples=500, seed=rng),
            bootstrap_ci("accuracy", y_sim, score_sim, groups=groups, n_resamples=500, seed=rng),
        )
        hits += [i.low <= truth <= i.high for i in found]
    return truth, hits / replications


truth, covered = coverage(args.replications, np.random.default_rng(args.seed))
print(f"Simulation: {args.replications} test sets of 40 patients x 10 cells, truth {truth:.3f}")
for how, share in zip(widths, covered, strict=True):
    se = np.sqrt(share * (1 - share) / args.replications)
    print(f"coverage of the 95% interval, {how:28s} {share:.3f} +- {se:.3f}")

# %% [markdown]
# ## The MLP against the baseline, honestly
#
# Both models are scored on the same cells, so the question is the *paired* difference: each
# bootstrap resample takes the same patients for both, and what the two share (an easy patient,
# a hard one) cancels. `compare` gives the interval of the difference and one sentence.
# McNemar's test (on the cells one model gets right and the other wrong) comes with it, and it
# treats the cells as independent, as Wilson does (DeLong's test of the AUCs too). What to look
# at: the interval by patient is wider than the one by cell, and it is the one to report; the
# p-values, from cells counted as independent, overstate the evidence when patients differ.

# %%
by = {"patient": patient_test, "cell": None}
for unit, groups in by.items():
    for metric in ("accuracy", "roc_auc"):
        result = compare(
            y_test,
            score["MLP"],
            score["logistic"],
            groups=groups,
            metric=metric,
            n_resamples=args.resamples,
            seed=args.seed,
        )
        print(f"by {unit}: " + result.summary("the MLP", "the baseline", unit="patient"))

# %% [markdown]
# ## One verdict per patient
#
# A clinic decides per patient, not per cell. `patient_diagnosis` calls a patient infected when
# at least one of their cells scores above 0.5 (`rule="any"`), or, more cautiously, at least
# three (`min_cells=3`); the truth is "at least one cell labelled parasitized". The sensitivity
# and the specificity are then shares of *patients*, with Wilson intervals over patients, the
# independent units. What to look at: how few patients stand behind each figure, and how wide
# that makes the intervals; asking for three cells can only lose sensitivity and gain
# specificity. Choose such a rule on validation patients, never on the test ones.

# %%
for min_cells in (1, 3):
    diagnosis = patient_diagnosis(y_test, score["MLP"], patient_test, min_cells=min_cells)
    print(f"{diagnosis.rule}:")
    n_infected = diagnosis.n_infected
    print(f"  sensitivity {diagnosis.sensitivity.format()} ({n_infected} infected patients)")
    healthy = diagnosis.n_patients - n_infected
    print(f"  specificity {diagnosis.specificity.format()} ({healthy} uninfected patients)")

# %% [markdown]
# ## Prediction sets: calibrated on patients
#
# A split conformal prediction set (`kerasx.conformal.SplitConformalClassifier`) holds every
# class the MLP's probability cannot rule out: $\{0\}$, $\{1\}$, or both ("ask a human"). Its
# guarantee, the true class in the set for at least $1 - \alpha$ of new cells, needs the
# calibration cells to be exchangeable with the new ones; with patients, that means
# calibration *patients* held out like the test ones. Here: the validation patients (they chose
# the epoch, nothing else) with $\alpha = 0.1$, one quantile per class. What to look at: the
# coverage on the test patients, near $1 - \alpha = 0.9$, with its interval by patient; and the
# share of cells the model leaves to a human.


# %%
def share_covered(y_true, covered):
    return float(np.mean(covered))


p_validation = mlp.predict(X[validation_rows], verbose=0).ravel()
conformal = SplitConformalClassifier(alpha=0.1).fit(y[validation_rows].astype(int), p_validation)
report = conformal.evaluate(y_test.astype(int), score["MLP"])
sets = conformal.predict(score["MLP"])
in_set = sets[np.arange(len(y_test)), y_test.astype(int)]
by_patient = bootstrap_ci(
    share_covered, y_test, in_set, groups=patient_test, n_resamples=args.resamples, seed=args.seed
)
print(f"prediction sets at alpha = 0.1, calibrated on {len(validation_rows)} validation cells")
print(f"coverage on the test cells {report.coverage.format()} (Wilson over cells)")
print(f"coverage by patient        {by_patient.format()} (bootstrap by patient)")
both = report.table.loc["all", "several"]
print(f"sets holding both classes ('ask a human'): {both:.1%} of the test cells")

# %% [markdown]
# ## The picture
#
# Left: each model's test accuracy with its three intervals. Right: the simulation's coverage,
# with the nominal 95% dashed. What to look at: the patients' intervals are the wide ones, and
# the only ones that hold the truth 95% of the time.


# %%
def plot(intervals, covered, replications, title):
    figure = Figure(figsize=(11, 4), layout="constrained")
    figure.suptitle(title)
    left, right = figure.subplots(1, 2)
    colours = ("tab:blue", "tab:orange", "tab:green")
    for row, rows in enumerate(intervals.values()):
        for column, (how, i) in enumerate(rows.items()):
            x = row + (column - 1) * 0.22
            error = [[i.estimate - i.low], [i.high - i.estimate]]
            label = how if row == 0 else None
            left.errorbar(
                x, i.estimate, yerr=error, fmt="o", capsize=4, color=colours[column], label=label
            )
    left.set_xticks(range(len(intervals)), list(intervals))
    left.set_ylabel("test accuracy, 95% interval")
    left.set_title("the test patients")
    left.legend(fontsize="small")
    se = np.sqrt(covered * (1 - covered) / replications)
    right.barh(list(next(iter(intervals.values()))), covered, xerr=1.96 * se, color=colours)
    right.axvline(0.95, color="black", linestyle="--")
    right.set_xlim(0.5, 1.0)
    right.set_title("simulation: the true accuracy is known")
    right.set_xlabel(f"coverage in {replications} simulated test sets (± 1.96 Monte Carlo SE)")
    return figure


synthetic = "  (SYNTHETIC data, not real cells)" if source == "synthetic" else ""
figure = plot(
    intervals,
    covered,
    args.replications,
    f"{len(y_test)} test cells of {n_patients} patients{synthetic}",
)
path = os.path.join(args.out, "intervals.png")
figure.savefig(path, dpi=100)
print(f"figure in {path}")
show(figure)
