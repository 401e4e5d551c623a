# %% [markdown]
# # Step 6 · Real data: the malaria MLP against logistic regression
#
# > **בעברית:** נתונים אמיתיים: תאי דם עם ובלי מלריה; MLP עמוק מול רגרסיה לוגיסטית.
#
# The course's real data: RGB images of single blood cells, *parasitized* or *uninfected*,
# the goal a model small and reliable enough for a phone in a low-resource clinic. Each image is
# resized to $100 \times 100 \times 3$ and flattened to 30,000 features.
#
# - **Baseline**: scikit-learn's `LogisticRegression` on the flattened pixels.
# - **Deep MLP**: 30,000 → 300 → 100 → 50 relu units → 1 sigmoid, about 9 million parameters
#   (step 4), Adam on binary cross-entropy, early stopping on a 10% validation split
#   (patience 5, best weights restored).
#
# Both are scored on the same test images. Besides accuracy: *sensitivity*
# $= \text{TP}/(\text{TP} + \text{FN})$ (parasitized cells found), *specificity*
# $= \text{TN}/(\text{TN} + \text{FP})$, Matthews' correlation
# $\text{MCC} = \frac{\text{TP}\cdot\text{TN} - \text{FP}\cdot\text{FN}}
# {\sqrt{(\text{TP}+\text{FP})(\text{TP}+\text{FN})(\text{TN}+\text{FP})(\text{TN}+\text{FN})}}$,
# and the ROC AUC.
#
# First the `fit` itself, as you would write it: load the images, build the MLP, `fit` with
# early stopping, `evaluate` on the test images. Then the same step as one call,
# `kerasx.malaria.run_malaria` (the command `kerasx malaria --model mlp`): it loads the images
# (held-out *patients* for a folder in the NIH layout, so no patient's cells are on both sides;
# held-out cells otherwise), trains crash-safe, fits the baseline on the same rows, prints the
# table and writes the curves, the confusion matrices and both saved models to `--out`.
# `--quick` runs on small synthetic images (offline, **not real
# data**) unless `--data` is given. Step 9 goes on to the network made for images.
#
# As a script: `python recipes/06_malaria_mlp_vs_baseline.py [--quick]
# [--data tfds|DIR|synthetic] [--image-size N] [--epochs N] [--out DIR] [--seed S]`.

# %%
import os
import sys

import keras
import pandas as pd

from kerasx._course import parse_options, show, step_parser
from kerasx.malaria import MalariaConfig, RunMismatch, run_malaria
from kerasx.malaria.train import build_model, load_split

# %% [markdown]
# ## Options
#
# As a script the options come from the command line; a notebook takes the defaults (and
# `--quick` when `KERASX_QUICK=1` is set) and shows the figures the command writes
# (`parse_options` and `show`, shared by every step).

# %%
parser = step_parser(
    "Real data: the malaria MLP against the logistic-regression baseline (step 6).",
    quick="small synthetic images, few epochs",
)
parser.add_argument("--data", default=None, help="tfds (default), a folder, or synthetic")
parser.add_argument("--image-size", default=None)
parser.add_argument("--epochs", default=None)
parser.add_argument("--out", default="runs/malaria")
parser.add_argument("--seed", default="0")
args = parse_options(parser)

# %% [markdown]
# ## The settings, checked once
#
# `MalariaConfig` holds every setting of the step (its fields are the command's options) and
# checks them when it is made: a fraction of 1.5 or an image size of 0 stops here, not after
# minutes of loading. `--quick` takes small synthetic images (not real data) and few epochs.

# %%
options = {"seed": int(args.seed), "quick": args.quick, "model": "mlp"}
options["data"] = args.data or ("synthetic" if args.quick else "tfds")
for name, value in (("image_size", args.image_size), ("epochs", args.epochs)):
    if value is not None:
        options[name] = int(value)
config = MalariaConfig(**options)
print(config)

# %% [markdown]
# ## The fit
#
# The images come flattened inside the model (its first layer), standardized per channel;
# Adam at 1e-4 with an L2 penalty of 1e-3 on the hidden kernels. Early stopping watches the
# validation loss on the last 10% of the training rows and restores the best epoch's weights.

# %%
split = load_split(config, config.image_size)
model = build_model("mlp", split.x_train, config)
stopping = keras.callbacks.EarlyStopping(
    monitor="val_loss", patience=config.patience_for("mlp"), restore_best_weights=True
)
history = model.fit(
    split.x_train,
    split.y_train,
    validation_split=config.validation_split,
    epochs=config.epochs,
    batch_size=config.batch_size,
    callbacks=[stopping],
    verbose=0,
)
print(f"{len(history.history['loss'])} epochs, best {stopping.best_epoch + 1} (1-based)")
test = model.evaluate(split.x_test, split.y_test, verbose=0, return_dict=True)
print({name: round(value, 3) for name, value in test.items()})

# %% [markdown]
# ## Against the baseline: `run_malaria`
#
# What to look at in the table: the MLP is not much better than logistic regression, sometimes
# worse. Flattening throws away where each pixel is, and 9 million weights are a lot to learn
# from about 2,000 images. The train times show what those weights cost. (`run_malaria` trains
# the MLP again, crash-safe and in an epoch order drawn from the seed, so its numbers can
# differ a little from the fit above.) Running it again into the same `--out` resumes an
# interrupted run; a folder holding another run is refused.

# %%
try:
    run = run_malaria(config, args.out)
except RunMismatch as error:
    sys.exit(f"step 6: {error}")
print(run.evaluation)

# %% [markdown]
# ## The training history
#
# `history.history` as a pandas DataFrame, one row per epoch (the command writes it to
# `history.csv`), and the learning curves: loss and accuracy, training against validation.
# What to look at: the training loss keeps falling while the validation loss stops improving;
# the dashed line marks the best epoch, whose weights early stopping restored.

# %%
history = pd.read_csv(os.path.join(args.out, "history.csv"))
print(history.tail().to_string(index=False))
show(os.path.join(args.out, "curves_mlp.png"))

# %% [markdown]
# ## Confusion matrix and ROC curve
#
# `predict` gives scores in $[0, 1]$; thresholded at 0.5 they give the confusion matrix (rows:
# the true class, columns: the predicted one). The ROC curve shows every threshold at once:
# the further toward the top left, the better; the diagonal is guessing.

# %%
show(os.path.join(args.out, "confusion_matrix.png"))
show(os.path.join(args.out, "roc.png"))
