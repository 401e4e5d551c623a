# %% [markdown]
# # Step 2 · The same model as a neural network
#
# > **בעברית:** אותה רגרסיה לוגיסטית כרשת נוירונים ב-Keras: נוירון אחד עם סיגמואיד.
#
# Step 1's model under its neural-network names: the NLL is the *binary cross-entropy*,
# $g^{-1} = \sigma$ is the *activation*, computing $\hat p$ and the loss is *forward
# propagation*, computing the gradient by the chain rule is *backward propagation*, $\beta$ is
# a weight matrix $W$ with one column, and the intercept would be the *bias*.
#
# In Keras that is one `Dense(1, activation="sigmoid", use_bias=False)` neuron trained by
# plain SGD on the *mean* cross-entropy of each batch of $b$ rows,
#
# $$\mathcal{L}(W) = -\frac{1}{b}\sum_{i \in \text{batch}} \big[y_i \log \sigma(x_i^\top W)
# + (1 - y_i)\log(1 - \sigma(x_i^\top W))\big], \qquad W \leftarrow W - \text{lr}\,\nabla\mathcal{L}(W).$$
#
# This step simulates the course's data (N = 1000, q = 2, no intercept, true $\beta = (1, 2)$),
# starts the neuron at the course's $(-2.5, -2.5)$, trains it and prints its weights next to
# the true $\beta$ and scikit-learn's unpenalized MLE: the weights approach the MLE.
#
# As a script: `python recipes/02_keras_logistic.py [--quick] [--epochs N] [--learning-rate LR]
# [--batch-size B] [--seed S]`.

# %%
import keras
import numpy as np
from matplotlib.figure import Figure
from sklearn.linear_model import LogisticRegression

from kerasx._course import parse_options, show, step_parser
from kerasx.backprop import forward, simulate_logistic
from kerasx.recipes import logistic_regression

TRUE_BETA = (1.0, 2.0)

# %% [markdown]
# ## Options
#
# As a script the options come from the command line; a notebook takes the defaults (and
# `--quick` when `KERASX_QUICK=1` is set) and shows the figure (`parse_options` and `show`,
# shared by every step).

# %%
parser = step_parser(
    "The course's logistic regression as a one-neuron Keras network (step 2).",
    quick="50 epochs instead of 200",
)
parser.add_argument("--epochs", type=int, default=None)
parser.add_argument("--learning-rate", type=float, default=0.5)
parser.add_argument("--batch-size", type=int, default=100)
parser.add_argument("--seed", type=int, default=0)
args = parse_options(parser)
epochs = args.epochs or (50 if args.quick else 200)

# %% [markdown]
# ## Build, start at the course's guess, train
#
# `kerasx.recipes.logistic_regression(2)` is `Sequential([Input((2,)), Dense(1, "sigmoid",
# use_bias=False)])` compiled with `SGD(learning_rate)` and `binary_crossentropy`.
# `set_weights` puts the course's starting guess into the kernel $W$ (shape $2 \times 1$).

# %%
X, y = simulate_logistic(1000, TRUE_BETA, seed=args.seed)
keras.utils.set_random_seed(args.seed)
model = logistic_regression(2, learning_rate=args.learning_rate)
model.layers[0].set_weights([np.full((2, 1), -2.5)])  # the course's initial guess
history = model.fit(X, y, batch_size=args.batch_size, epochs=epochs, verbose=0)
weights = model.get_weights()[0].ravel()
mle = LogisticRegression(C=np.inf, fit_intercept=False).fit(X, y).coef_.ravel()

# %% [markdown]
# ## The weights next to the truth and the MLE
#
# What to look at: the Keras weights agree with scikit-learn's MLE to about two decimals. SGD
# on mini-batches does not settle exactly on the minimum (each step sees 100 rows, not all
# 1000), so the last digits wander; step 1's full-batch descent matched the MLE to many more.

# %%
print("Logistic regression as a Keras network: Dense(1, sigmoid, use_bias=False), SGD")
print(f"  {epochs} epochs, batch size {args.batch_size}, learning rate {args.learning_rate}")
print(
    f"  binary cross-entropy: {history.history['loss'][0]:.4f} -> {history.history['loss'][-1]:.4f}"
)
print()
print(f"{'':<14}{'beta_1':>10}{'beta_2':>10}")
for label, values in (("true", TRUE_BETA), ("keras weights", weights), ("sklearn MLE", mle)):
    print(f"{label:<14}" + "".join(f"{v:>10.4f}" for v in values))
print(f"\nmax |keras - MLE| = {np.max(np.abs(weights - mle)):.4f}")

# %% [markdown]
# ## The loss curve
#
# `history.history["loss"]` holds the mean cross-entropy of each epoch. What to look at: it
# falls onto the dashed line, the mean NLL at the MLE (step 1's summed NLL divided by N).

# %%
figure = Figure(figsize=(5, 3))
axes = figure.subplots()
axes.plot(np.arange(1, epochs + 1), history.history["loss"], label="Keras, SGD")
axes.axhline(forward(X, y, mle)[1] / len(y), color="gray", linestyle="--", label="at the MLE")
axes.set(xlabel="epoch", ylabel="binary cross-entropy (mean)", title="Training loss")
axes.legend()
show(figure)
