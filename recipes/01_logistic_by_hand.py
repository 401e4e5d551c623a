# %% [markdown]
# # Step 1 · Logistic regression by hand
#
# > **בעברית:** רגרסיה לוגיסטית "ביד" ב-NumPy: מעבר קדימה, גרדיאנט, וירידה במורד הגרדיאנט.
#
# A binary $y$ and $q$ explanatory variables $x$: $y \mid x \sim \text{Bernoulli}(p)$, with
# the log odds modelled linearly, $\text{logit}(p) = x^\top\beta$, so
# $\hat p = \sigma(x^\top\hat\beta) = 1 / (1 + e^{-x^\top\hat\beta})$.
# There is no closed form for $\hat\beta$: we minimize the negative log-likelihood, a sum over
# the rows,
#
# $$\text{NLL}(\beta) = -\sum_i \big[y_i \log \hat p_i + (1 - y_i)\log(1 - \hat p_i)\big],
# \qquad \nabla\text{NLL}(\beta) = X^\top(\hat p - y),$$
#
# by gradient descent, $\hat\beta \leftarrow \hat\beta - \alpha\,\nabla\text{NLL}(\hat\beta)$.
# The NLL is convex, so the minimum it reaches is the global one: the maximum-likelihood
# estimate (MLE).
#
# This step simulates the course's data (N = 1000 rows, two standard-normal inputs, no
# intercept, true $\beta = (1, 2)$), fits $\hat\beta$ with `kerasx.backprop.lr_nn` from the
# course's start $(-2.5, -2.5)$, and compares it with the true $\beta$ and scikit-learn's
# unpenalized MLE.
#
# `alpha` is the step on the gradient of the NLL *summed* over the rows of a batch: Keras's
# `SGD(learning_rate=lr)` on the *mean* cross-entropy of a batch of $b$ rows is
# $\alpha = \text{lr} / b$.
#
# As a script: `python recipes/01_logistic_by_hand.py [--quick] [--epochs N] [--alpha A]
# [--batch-size B] [--seed S]`.

# %%
import time

import numpy as np
from matplotlib.figure import Figure
from sklearn.linear_model import LogisticRegression

from kerasx._course import parse_options, show, step_parser
from kerasx.backprop import forward, lr_nn, simulate_logistic

N = 1000
TRUE_BETA = (1.0, 2.0)
INIT = -2.5

# %% [markdown]
# ## Options
#
# As a script the options come from the command line. Inside a notebook kernel `sys.argv`
# holds the kernel's own arguments, so the notebook takes the defaults (and `--quick` when
# the environment variable `KERASX_QUICK=1` is set); `parse_options` does both, as in every
# step. Figures are shown in a notebook (`show`); the script only prints.


# %%
def build_parser():
    parser = step_parser(
        "The course's logistic regression by hand: forward, backward, gradient descent, in NumPy.",
        quick="fewer epochs (200), for a smoke run",
    )
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default 1000)")
    parser.add_argument(
        "--alpha", type=float, default=0.002, help="step on the summed-NLL gradient (0.002)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="mini-batch SGD batch size (default: full)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulation and shuffles")
    return parser


parser = build_parser()
args = parse_options(parser)
epochs = args.epochs if args.epochs is not None else (200 if args.quick else 1000)

# %% [markdown]
# ## Simulate and fit
#
# `simulate_logistic` draws $X$ and $y \sim \text{Bernoulli}(\sigma(X\beta))$. `lr_nn` runs one
# forward pass ($z = X\hat\beta$, $\hat p = \sigma(z)$, the NLL), one backward pass
# ($\partial\text{NLL}/\partial\hat p \cdot \partial\hat p/\partial z \cdot \partial z/\partial\hat\beta
# = X^\top(\hat p - y)$) and one step per epoch. With `--batch-size` each epoch shuffles the
# rows into mini-batches and steps once per batch (valid because the NLL is a sum over rows).

# %%
X, y = simulate_logistic(N, TRUE_BETA, seed=args.seed)

start = time.perf_counter()
try:
    beta_hat, history = lr_nn(
        X, y, epochs, alpha=args.alpha, batch_size=args.batch_size, init=INIT, seed=args.seed
    )
except ValueError as error:
    parser.error(str(error))  # exits with status 2 and the usage line
seconds = time.perf_counter() - start
# C=np.inf is the unpenalized fit (penalty=None warns in scikit-learn 1.9).
mle = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-12, max_iter=10_000)
mle = mle.fit(X, y).coef_.ravel()

# %% [markdown]
# ## $\hat\beta$ next to the truth and the MLE
#
# What to look at: `beta_hat` equals scikit-learn's MLE (`max |beta_hat - MLE|` is tiny: the
# same estimator, found by a different optimizer), and both sit near the true $(1, 2)$ but not
# on it: with 1000 rows the MLE has sampling error. The final NLL equals the NLL at the MLE, far
# below the NLL at the starting guess.

# %%
method = (
    "full-batch gradient descent"
    if args.batch_size is None
    else (f"mini-batch SGD, batch size {args.batch_size}")
)
print("Logistic regression by hand (kerasx.backprop.lr_nn)")
print(f"  data: N={N}, true beta={TRUE_BETA}, no intercept, seed {args.seed}")
print(f"  fit:  {method}, {epochs} epochs, alpha={args.alpha:g}, init ({INIT}, {INIT})")
print(f"  time: {seconds:.2f} s")
print()
print(f"{'':<12}{'beta_1':>12}{'beta_2':>12}")
for label, values in (("true", TRUE_BETA), ("beta_hat", beta_hat), ("sklearn MLE", mle)):
    print(f"{label:<12}" + "".join(f"{v:>12.6f}" for v in values))
print()
print(f"max |beta_hat - MLE| = {np.max(np.abs(beta_hat - mle)):.2e}")
print(
    f"final NLL (summed over {N} rows): {history[-1]:.6f}"
    f"   (at the MLE: {forward(X, y, mle)[1]:.6f};"
    f" at the start: {forward(X, y, np.full(2, INIT))[1]:.6f})"
)

# %% [markdown]
# ## The NLL, epoch by epoch
#
# What to look at: the curve falls steeply for the first few epochs, then flattens onto the
# dashed line, the NLL at the MLE: gradient descent has converged. A larger `alpha` gets there
# in fewer epochs, until it overshoots and the NLL oscillates.

# %%
figure = Figure(figsize=(5, 3))
axes = figure.subplots()
axes.plot(np.arange(1, len(history) + 1), history, label="gradient descent")
axes.axhline(forward(X, y, mle)[1], color="gray", linestyle="--", label="at the MLE")
axes.set(xlabel="epoch", ylabel="NLL (summed)", xscale="log", title="NLL of the course's fit")
axes.legend()
show(figure)
