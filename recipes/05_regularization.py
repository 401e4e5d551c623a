# %% [markdown]
# # Step 5 · Regularization: penalties, dropout, early stopping
#
# > **בעברית:** רגולריזציה: קנסות L2 ו-L1, dropout ועצירה מוקדמת נגד התאמת-יתר.
#
# A network with many more parameters than rows can fit the noise of its training data
# (*overfitting*): high training accuracy, lower test accuracy. Three remedies from the course:
#
# - **A penalty** added to the loss, per layer with `kernel_regularizer`:
#   $\mathcal{L} + \lambda\lVert W\rVert_2^2$ (L2, ridge-like: shrinks every weight),
#   $\mathcal{L} + \lambda\lVert W\rVert_1$ (L1, lasso-like: drives weights to exactly zero),
#   or both (elastic net).
# - **Dropout**: in training each unit's output is zeroed with probability $p$ (and the others
#   scaled by $1/(1-p)$, Keras's inverted dropout); at prediction time every unit is active.
#   One network averages over many thinned ones, like an ensemble.
# - **Early stopping**: hold out 20% of the training rows (`validation_split=0.2`), watch
#   `val_loss`, stop after `patience=5` epochs without improvement and restore the best weights.
#
# The problem: the course's $\beta = (1, 2)$ plus 28 noise inputs with zero effect, only 300
# training rows (2,000 test rows), and an MLP 30 → 64 → 64 → 1.
#
# As a script: `python recipes/05_regularization.py [--quick] [--epochs N] [--seed S]`.

# %%
import keras
import numpy as np
from matplotlib.figure import Figure

from kerasx._course import parse_options, show, step_parser
from kerasx.backprop import simulate_logistic
from kerasx.recipes import mlp

VARIANTS = {
    "plain": {},
    "L2 (lambda=0.01)": {"l2": 0.01},
    "L1 (lambda=0.01)": {"l1": 0.01},
    "dropout 0.5": {"dropout": 0.5},
    "early stopping": {},
}

# %% [markdown]
# ## Options
#
# As a script the options come from the command line; a notebook takes the defaults (and
# `--quick` when `KERASX_QUICK=1` is set) and shows the figure (`parse_options` and `show`,
# shared by every step).

# %%
parser = step_parser(
    "Regularization: L2 and L1 penalties, dropout and early stopping (step 5).",
    quick="15 epochs instead of 200",
)
parser.add_argument("--epochs", type=int, default=None)
parser.add_argument("--seed", type=int, default=0)
args = parse_options(parser)
epochs = args.epochs or (15 if args.quick else 200)

# %% [markdown]
# ## The data and one fit per variant
#
# `fit_variant` trains one variant from the same seed and returns the epochs it ran, its
# training and test accuracy, and the mean norm of the first layer's weight rows on the 2 real
# inputs and on the 28 noise inputs: $\lVert W^{(1)}_{j,:}\rVert_2$ for input $j$.


# %%
def simulate(seed):
    beta = np.r_[1.0, 2.0, np.zeros(28)]
    X, y = simulate_logistic(2300, beta, seed=seed)
    return (X[:300], y[:300]), (X[300:], y[300:])


def fit_variant(name, kwargs, data, epochs, seed):
    (X, y), _ = data
    keras.utils.set_random_seed(seed)
    model = mlp(
        30,
        hidden=(64, 64),
        n_classes=1,
        activation="relu",
        optimizer="adam",
        **kwargs,
        learning_rate=3e-3,
    )
    fit_args = {"epochs": epochs, "batch_size": 32, "verbose": 0}
    if name == "early stopping":
        stop = keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)
        fit_args |= {"validation_split": 0.2, "callbacks": [stop]}
    history = model.fit(X, y, **fit_args)
    train, test = (np.mean((model(x).numpy().ravel() > 0.5) == t) for x, t in data)
    kernel = model.get_layer("hidden_1").get_weights()[0]
    norms = np.linalg.norm(kernel, axis=1)
    return len(history.history["loss"]), train, test, norms[:2].mean(), norms[2:].mean()


# %% [markdown]
# ## The five variants side by side
#
# What to look at: the plain model's training accuracy is above its test accuracy (it has
# learned the noise). Every remedy narrows that gap. The last two columns show *how*: L1 all
# but zeroes the weights of the 28 noise inputs while keeping those of the 2 real ones; L2
# shrinks all of them. Early stopping ends before the last epoch and keeps the best weights.

# %%
data = simulate(args.seed)

print(f"MLP 30 -> 64 -> 64 -> 1 on 300 rows (2 real inputs, 28 noise), up to {epochs} epochs")
header = f"{'variant':<18}{'epochs':>7}{'train acc':>10}{'test acc':>10}"
print(header + f"{'|W| real':>10}{'|W| noise':>10}")
rows = {}
for name, kwargs in VARIANTS.items():
    run, train, test, real, noise = fit_variant(name, kwargs, data, epochs, args.seed)
    print(f"{name:<18}{run:>7}{train:>10.3f}{test:>10.3f}{real:>10.3f}{noise:>10.3f}")
    rows[name] = (train, test)

# %% [markdown]
# ## Training against test accuracy
#
# The gap between each pair of bars is the overfitting that variant leaves.

# %%
figure = Figure(figsize=(8, 3.2))
axes = figure.subplots()
positions = np.arange(len(rows))
axes.bar(positions - 0.2, [r[0] for r in rows.values()], width=0.4, label="train")
axes.bar(positions + 0.2, [r[1] for r in rows.values()], width=0.4, label="test")
axes.set_xticks(positions, [name.replace(" (", "\n(") for name in rows], fontsize=8)
axes.set(ylabel="accuracy", ylim=(0.5, 1.0), title="Overfitting and its remedies")
axes.legend()
show(figure)
