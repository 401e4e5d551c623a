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
# This step is the command `kerasx malaria --model mlp`: it loads the images (held-out
# *patients* for a folder in the NIH layout, so no patient's cells are on both sides; held-out
# cells otherwise), trains, prints the table and writes the curves, the confusion matrices and
# both saved models to `--out`. `--quick` runs on small synthetic images (offline, **not real
# data**) unless `--data` is given. Step 9 goes on to the network made for images.
#
# As a script: `python recipes/06_malaria_mlp_vs_baseline.py [--quick]
# [--data tfds|DIR|synthetic] [--image-size N] [--epochs N] [--out DIR] [--seed S]`.

# %%
import argparse
import os
import sys

import pandas as pd

from kerasx.cli import main as kerasx_main

# %% [markdown]
# ## Options
#
# As a script the options come from the command line; a notebook takes the defaults (and
# `--quick` when `KERASX_QUICK=1` is set) and shows the figures the command writes.

# %%
IN_NOTEBOOK = "ipykernel" in sys.modules


def show(path):
    """Shows a PNG file in a notebook; a script has written it and says where."""
    if IN_NOTEBOOK:
        from IPython.display import Image, display

        display(Image(filename=path))


parser = argparse.ArgumentParser(
    description="Real data: the malaria MLP against the logistic-regression baseline (step 6)."
)
parser.add_argument("--quick", action="store_true", help="small synthetic images, few epochs")
parser.add_argument("--data", default=None, help="tfds (default), a folder, or synthetic")
parser.add_argument("--image-size", default=None)
parser.add_argument("--epochs", default=None)
parser.add_argument("--out", default="runs/malaria")
parser.add_argument("--seed", default="0")
args = parser.parse_args(
    (["--quick"] if os.environ.get("KERASX_QUICK") == "1" else []) if IN_NOTEBOOK else None
)

# %% [markdown]
# ## Train and score: `kerasx malaria --model mlp`
#
# What to look at in the table: the MLP is not much better than logistic regression, sometimes
# worse. Flattening throws away where each pixel is, and 9 million weights are a lot to learn
# from about 2,000 images. The train times show what those weights cost.

# %%
command = ["malaria", "--model", "mlp", "--out", args.out, "--seed", args.seed]
command += ["--data", args.data or ("synthetic" if args.quick else "tfds")]
if args.quick:
    command.append("--quick")
for option, value in (("--image-size", args.image_size), ("--epochs", args.epochs)):
    if value is not None:
        command += [option, value]
status = kerasx_main(command)
if status:
    sys.exit(status)

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
