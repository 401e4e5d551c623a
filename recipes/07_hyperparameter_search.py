# %% [markdown]
# # Step 7 · Hyperparameter search
#
# > **בעברית:** חיפוש היפר-פרמטרים: עומק, רוחב וקצב למידה, עם RandomizedSearchCV ו-cross-validation.
#
# How many hidden layers, how many neurons, which learning rate? These *hyperparameters* are
# not learned by `fit`; we choose them by how well the fitted model generalizes. As in the
# course, a Keras classifier wraps a build function with `n_hidden`, `n_neurons` and
# `learning_rate` (`kerasx.tuning.randomized_search`), and scikit-learn's `RandomizedSearchCV`
# draws 10 combinations at random and scores each by 5-fold cross-validation on the flattened
# malaria images:
#
# $$\text{CV}(\theta) = \frac{1}{K}\sum_{k=1}^{K} \text{accuracy}\big(\text{model}_\theta
# \text{ fitted without fold } k,\ \text{fold } k\big).$$
#
# The best $\theta$ is refitted on all training rows and scored once on the test images.
# `--quick` runs 2 draws × 2 folds on small synthetic images (offline, **not real data**).
# KerasTuner is the alternative (`kerasx tune`).
#
# As a script: `python recipes/07_hyperparameter_search.py [--quick]
# [--data tfds|DIR|synthetic] [--n-iter N] [--cv K] [--epochs N] [--image-size N]`.

# %%
import sys

import numpy as np
import pandas as pd

from kerasx._course import parse_options, step_parser
from kerasx.data import DatasetUnavailableError, describe_source, load_malaria
from kerasx.tuning import randomized_search

# %% [markdown]
# ## Options
#
# As a script the options come from the command line; a notebook takes the defaults (and
# `--quick` when `KERASX_QUICK=1` is set): `parse_options`, shared by every step.

# %%
parser = step_parser(
    "Hyperparameter search: RandomizedSearchCV over the MLP's depth, width and learning rate "
    "(step 7).",
    quick="2 draws, 2 folds, 8 x 8 synthetic",
)
parser.add_argument("--data", default=None, help="tfds (default), a folder, or synthetic")
parser.add_argument("--n-iter", type=int, default=None)
parser.add_argument("--cv", type=int, default=None)
parser.add_argument("--epochs", type=int, default=None)
parser.add_argument("--image-size", type=int, default=None)
args = parse_options(parser)

# %% [markdown]
# ## The data
#
# Flattened images (one row of pixels per image) and their labels, split into training and
# test rows; the search sees only the training rows.

# %%
source = args.data or ("synthetic" if args.quick else "tfds")
size = args.image_size or (8 if args.quick else 100)
try:
    (X, y), (X_test, y_test) = load_malaria(
        source, image_size=size, fraction=0.2 if args.quick else None
    )
except DatasetUnavailableError as error:
    print(error, file=sys.stderr)
    sys.exit(2)

# %% [markdown]
# ## The search
#
# Each draw trains $K$ models (one per held-out fold), so the search trains
# `n_iter` × `cv` + 1 models in all.

# %%
n_iter, cv = args.n_iter or (2 if args.quick else 10), args.cv or (2 if args.quick else 5)
epochs = args.epochs or (3 if args.quick else 20)
print(f"Data: {describe_source(source)}; {len(X)} training rows of {X.shape[1]} pixels")
print(f"RandomizedSearchCV: {n_iter} draws x {cv}-fold CV, {epochs} epochs per fit")
search = randomized_search(X, y.astype(int), n_iter=n_iter, cv=cv, epochs=epochs)
test_accuracy = np.mean(search.best_estimator_.predict(X_test) == y_test.astype(int))

# %% [markdown]
# ## What the search found
#
# `cv_results_` holds every draw with its mean and spread over the folds; `best_params_` is
# the draw with the best mean. What to look at: the spread over folds is often as large as the
# differences between draws, so "best" is partly luck; the test accuracy of the refitted best
# model (about 69% in the course) is the honest figure.

# %%
results = pd.DataFrame(search.cv_results_)
columns = ["rank_test_score", "mean_test_score", "std_test_score", "params"]
print(results[columns].sort_values("rank_test_score").to_string(index=False))
best = {k: v.item() if isinstance(v, np.generic) else v for k, v in search.best_params_.items()}
print(f"best_params_: {best}")
print(f"best cross-validated accuracy: {search.best_score_:.3f}")
print(f"test accuracy of the refitted best model: {test_accuracy:.3f}")
