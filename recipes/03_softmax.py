# %% [markdown]
# # Step 3 · C classes: the softmax output layer
#
# > **בעברית:** C מחלקות: שכבת פלט softmax, תוויות one-hot ו-categorical cross-entropy.
#
# With $C$ classes the output layer has $C$ neurons and $W$ has one column per class
# ($q + 1$ rows with a bias). The *softmax* turns the $C$ scores $z_c = x^\top W_{:,c}$ into
# probabilities,
#
# $$\hat p_c = \frac{e^{z_c}}{\sum_{k=1}^{C} e^{z_k}}, \qquad
# \mathcal{L} = -\sum_{c=1}^{C} y_c \log \hat p_c \quad\text{(categorical cross-entropy)},$$
#
# with $y$ one-hot (`keras.utils.to_categorical`): this is multinomial logistic regression.
#
# With two classes only the *difference* of the two columns matters:
# $\hat p_1 = \sigma(x^\top(W_{:,1} - W_{:,0}))$. So two softmax neurons estimate the same
# $\beta$ as step 2's one sigmoid neuron: $W_{:,1} - W_{:,0} \approx (1, 2)$ on the course's
# simulation. A three-class model then shows the $(q + 1) \times C$ parameter count.
#
# As a script: `python recipes/03_softmax.py [--quick] [--epochs N] [--seed S]`.

# %%
import keras
import numpy as np
from sklearn.linear_model import LogisticRegression

from kerasx._course import parse_options, step_parser
from kerasx.backprop import simulate_logistic
from kerasx.recipes import softmax_regression

# %% [markdown]
# ## Options
#
# As a script the options come from the command line; a notebook takes the defaults (and
# `--quick` when `KERASX_QUICK=1` is set): `parse_options`, shared by every step.

# %%
parser = step_parser(
    "C classes: the softmax output layer (step 3), on the course's two-class simulation.",
    quick="50 epochs instead of 200",
)
parser.add_argument("--epochs", type=int, default=None)
parser.add_argument("--seed", type=int, default=0)
args = parse_options(parser)
epochs = args.epochs or (50 if args.quick else 200)

# %% [markdown]
# ## One-hot labels and two softmax neurons
#
# `to_categorical(y, 2)` turns $y = 1$ into $(0, 1)$ and $y = 0$ into $(1, 0)$.
# `softmax_regression(2, 2, use_bias=False)` is one `Dense(2, activation="softmax")` compiled
# with `categorical_crossentropy` and SGD.

# %%
X, y = simulate_logistic(1000, (1.0, 2.0), seed=args.seed)
Y = keras.utils.to_categorical(y, 2)
keras.utils.set_random_seed(args.seed)
model = softmax_regression(2, 2, use_bias=False, learning_rate=0.5)
model.fit(X, Y, batch_size=100, epochs=epochs, verbose=0)
W = model.get_weights()[0]
mle = LogisticRegression(C=np.inf, fit_intercept=False).fit(X, y).coef_.ravel()
accuracy = np.mean(model.predict(X, verbose=0).argmax(axis=1) == y)

# %% [markdown]
# ## The weights
#
# What to look at: each column of $W$ on its own is not identified (adding the same vector to
# both columns leaves every softmax probability unchanged), but their difference
# $W_{:,1} - W_{:,0}$ matches scikit-learn's MLE of $\beta$. The predicted class is the
# argmax of the two probabilities. Last line: $(4 + 1) \times 3 = 15$ parameters for three
# classes on four inputs with a bias.

# %%
print("Softmax regression: Dense(2, softmax, use_bias=False), one-hot labels, SGD")
print(f"  {epochs} epochs; training accuracy {accuracy:.3f}")
print("W (rows: inputs, columns: classes):")
print(np.array2string(W, precision=4))
diff = W[:, 1] - W[:, 0]
print(f"W[:, 1] - W[:, 0] = ({diff[0]:.4f}, {diff[1]:.4f})")
print(f"sklearn MLE beta  = ({mle[0]:.4f}, {mle[1]:.4f})   true beta = (1, 2)")
three = softmax_regression(4, 3)
print(f"\n3 classes on q = 4 inputs: (4 + 1) x 3 = {three.count_params()} parameters")
