# %% [markdown]
# # Step 9 · From the MLP to a convolutional network: the malaria CNN
#
# > **בעברית:** מ-MLP לרשת קונבולוציה: CNN קטנה לתמונות המלריה, ו-Grad-CAM שמראה היכן היא מסתכלת.
#
# The course's MLP (step 6) flattens each image into one long vector, so its first layer learns
# one weight per pixel and neuron (9 million weights) and must learn a parasite again at every
# position. A *convolution* slides one small $3 \times 3$ filter $K$ over the whole image,
#
# $$(X * K)_{i,j} = \sum_{u,v,c} X_{i+u,\,j+v,\,c}\,K_{u,v,c} + b,$$
#
# so the same $3 \times 3 \times c$ weights find a stain wherever it is, and pooling makes the
# answer insensitive to small shifts. Flips and rotations, inside the model and active in
# training only, add what the ~2,000 images lack.
#
# This step prints both models' parameter counts side by side, trains both on the same split
# (the MLP as `kerasx malaria` does; `kerasx.recipes.malaria_cnn` at its defaults), scores them
# next to the logistic baseline, and shows the learning curves, the confusion matrices and the
# CNN's Grad-CAM. With a folder in the NIH layout the test images are held-out *patients*
# (`split="patient"`): no patient's cells are on both sides. `--quick` runs on small synthetic
# images (offline, **not real data**) unless `--data` is given.
#
# As a script: `python recipes/09_malaria_cnn.py [--quick] [--data tfds|DIR|synthetic]
# [--epochs N] [--image-size N] [--out DIR] [--seed S]`; it writes the curves and the Grad-CAM
# gallery to `--out`.

# %%
import os
import sys

import keras
import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay

from kerasx._course import parse_options, show, step_parser
from kerasx.callbacks import HistoryFrame, LearningCurves, OneCycle
from kerasx.data import DatasetUnavailableError, describe_source, load_malaria
from kerasx.explain import grad_cam, grad_cam_examples, plot_grad_cam
from kerasx.malaria.config import EPOCHS
from kerasx.malaria.train import CNN_MAX_LR
from kerasx.recipes import logistic_baseline, malaria_cnn, malaria_mlp, parameter_breakdown

CLASS_NAMES = ("uninfected", "parasitized")  # labels 0 and 1
ROWS = (
    ("accuracy", "accuracy"),
    ("sensitivity", "sensitivity"),
    ("specificity", "specificity"),
    ("mcc", "MCC"),
    ("roc_auc", "ROC AUC"),
)

# %% [markdown]
# ## Options
#
# As a script the options come from the command line; a notebook takes the defaults (and
# `--quick` when `KERASX_QUICK=1` is set) and shows the figures (`parse_options` and `show`,
# shared by every step).

# %%
parser = step_parser(
    "From the MLP to a convolutional network: the malaria CNN (after step 6).",
    quick="synthetic 24 x 24 images, 3 epochs",
)
parser.add_argument("--data", default=None, help="tfds (default), a folder, or synthetic")
parser.add_argument("--image-size", type=int, default=None, help="default 80 (quick: 24)")
parser.add_argument("--epochs", type=int, default=None, help="default: MLP 100, CNN 12")
parser.add_argument("--out", default="runs/malaria_cnn")
parser.add_argument("--seed", type=int, default=0)
args = parse_options(parser)
source = args.data or ("synthetic" if args.quick else "tfds")
size = args.image_size or (24 if args.quick else 80)
epochs = {"mlp": args.epochs or (3 if args.quick else EPOCHS["mlp"]),
          "cnn": args.epochs or (3 if args.quick else EPOCHS["cnn"])}  # fmt: skip
args.patience = 2 if args.quick else 8
os.makedirs(args.out, exist_ok=True)

# %% [markdown]
# ## The data
#
# Images stay images here ($h \times w \times 3$, values in $[0, 1]$): the MLP flattens them
# inside the model, the CNN needs their shape.

# %%
folder = source not in ("tfds", "synthetic")
try:
    (X, y), (X_test, y_test) = load_malaria(
        source,
        image_size=size,
        flatten=False,
        fraction=0.2 if args.quick and source == "synthetic" else None,
        split="patient" if folder else "cell",
        seed=args.seed,
    )
except DatasetUnavailableError as error:
    print(error, file=sys.stderr)
    sys.exit(2)
print(f"Data: {describe_source(source)}, {size} x {size}")
held_out = "held-out patients" if folder else "held-out cells"
print(f"{len(X)} training and {len(X_test)} test images ({held_out})\n")

# %% [markdown]
# ## Two models, their parameters
#
# A convolution with $c_\text{in}$ input and $c_\text{out}$ output channels has
# $(3 \cdot 3 \cdot c_\text{in} + 1) \times c_\text{out}$ parameters, whatever the image size.
# What to look at: the CNN has a small fraction of the MLP's parameters, and global average
# pooling makes its count independent of the image size, while the MLP's first layer grows with
# the number of pixels.


# %%
def show_parameters(mlp, cnn):
    print("The CNN, layer by layer (a convolution: kernel height x width x input channels")
    print("weights per filter, +1 with a bias; a batch normalization: 4 per channel):")
    table = parameter_breakdown(cnn)
    print(table[table["params"] > 0][["layer", "type", "formula", "params"]].to_string(index=False))
    print(f"parameters: MLP {mlp.count_params():,}, CNN {cnn.count_params():,}")
    course = malaria_mlp(metrics=["accuracy"]).count_params()
    print(
        f"At 100 x 100 the MLP has {course:,} (its first layer grows with the pixels); the "
        "CNN's count does not depend on the image size (global pooling)."
    )


mlp = malaria_mlp(X.shape[1:], learning_rate=1e-4, l2=1e-3, standardize=X, seed=args.seed)
cnn = malaria_cnn(X.shape[1:], seed=args.seed)
show_parameters(mlp, cnn)
print()

# %% [markdown]
# ## Train both the same way
#
# Early stopping on `val_loss` over a 10% validation split, best weights restored;
# `LearningCurves` draws the curves after every epoch. The MLP trains at Adam's constant rate
# for up to 100 epochs; the CNN, as `kerasx malaria` trains it, for 12 epochs on a *one-cycle*
# learning rate (`OneCycle`: it rises to a peak of 0.003 over the first 30% of the steps, then
# anneals to almost zero), which reached a lower validation loss in fewer epochs than a
# constant rate on the whole NIH set.
# What to look at in the curves: on the real cells the CNN's validation accuracy climbs well
# above the MLP's; the dashed line marks the best epoch of each.


# %%
def train(name, model, X, y, args):
    frame = HistoryFrame()
    schedule = [OneCycle(max_lr=CNN_MAX_LR)] if name == "cnn" else []
    callbacks = [
        *schedule,
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=args.patience, restore_best_weights=True
        ),
        frame,
        LearningCurves(os.path.join(args.out, f"curves_{name}.png")),
    ]
    model.fit(
        X,
        y,
        epochs=epochs[name],
        batch_size=32,
        validation_split=0.1,
        callbacks=callbacks,
        verbose=0,
    )
    print(f"{name}: trained {len(frame.frame)} epochs; curves in {args.out}/curves_{name}.png")


train("mlp", mlp, X, y, args)
show(os.path.join(args.out, "curves_mlp.png"))
train("cnn", cnn, X, y, args)
show(os.path.join(args.out, "curves_cnn.png"))

# %% [markdown]
# ## Scores on the test images
#
# Accuracy, sensitivity (parasitized cells found), specificity (uninfected cells cleared),
# Matthews' correlation and ROC AUC, each model in a column. What to look at: on the real cells
# the CNN is far ahead of the MLP and the logistic baseline, on held-out patients too.


# %%
def scores(y_true, probabilities):
    from sklearn import metrics

    y_pred = (probabilities > 0.5).astype(int)
    return {
        "accuracy": metrics.accuracy_score(y_true, y_pred),
        "sensitivity": metrics.recall_score(y_true, y_pred, zero_division=0),
        "specificity": metrics.recall_score(y_true, y_pred, pos_label=0, zero_division=0),
        "mcc": metrics.matthews_corrcoef(y_true, y_pred),
        "roc_auc": metrics.roc_auc_score(y_true, probabilities),
    }


baseline = logistic_baseline().fit(X, y.astype(int))
probabilities = {
    "MLP": mlp.predict(X_test, verbose=0).ravel(),
    "CNN": cnn.predict(X_test, verbose=0).ravel(),
    "logistic": baseline.predict_proba(X_test)[:, 1],
}
results = {name: scores(y_test, p) for name, p in probabilities.items()}
synthetic = "  (SYNTHETIC data, not real cells)" if source == "synthetic" else ""
print(f"\nTest set ({held_out}, n={len(y_test)}){synthetic}")
print(f"{'':14s}" + "".join(f"{name:>10s}" for name in results))
for key, title in ROWS:
    print(f"{title:14s}" + "".join(f"{r[key]:10.3f}" for r in results.values()))

# %% [markdown]
# ## Confusion matrices
#
# Rows: the true class; columns: the class predicted at the 0.5 threshold. The off-diagonal
# cells are the mistakes: a missed parasitized cell (bottom left) is the costly one in a clinic.

# %%
figure = Figure(figsize=(4.5 * len(probabilities), 4), layout="constrained")
figure.suptitle(f"Test set ({held_out}, n={len(y_test)}){synthetic}")
panels = figure.subplots(1, len(probabilities), sharey=True)
for axes, (name, p) in zip(panels, probabilities.items(), strict=True):
    ConfusionMatrixDisplay.from_predictions(
        y_test.astype(int),
        (p > 0.5).astype(int),
        labels=[0, 1],
        display_labels=CLASS_NAMES,
        ax=axes,
        colorbar=False,
    )
    axes.set_title(name)
    axes.label_outer()  # the class names once, at the left
show(figure)

# %% [markdown]
# ## Where the CNN looks: Grad-CAM
#
# For the class the CNN predicted, Grad-CAM weights each feature map $A_k$ of the last
# convolution by the mean gradient of the class's logit $z$ over its positions,
# $\alpha_k = \overline{\partial z / \partial A_k}$, and keeps the positive part of the
# weighted sum, $\text{ReLU}(\sum_k \alpha_k A_k)$, scaled up to the image. Shown for right and
# wrong cells of each class (the most confident first), each as the image and its heatmap
# overlay. What to look at: on a right *parasitized* cell the heat sits on the stained
# parasite, not on the background or the cell's edge; on a mistake it shows what misled the
# model. (`--quick`'s synthetic cells are drawn, not real: there the map only shows the
# mechanics.)

# %%
cnn_scores = probabilities["CNN"]
groups = grad_cam_examples(y_test, cnn_scores, per_group=2)
shown = np.concatenate([np.asarray(rows, dtype=int) for rows in groups.values()])
heatmaps = grad_cam(cnn, X_test[shown], class_index="predicted")
gallery = plot_grad_cam(
    os.path.join(args.out, "gradcam.png"),
    X_test[shown],
    heatmaps,
    y_test[shown],
    cnn_scores[shown],
    class_names=CLASS_NAMES,
    per_group=2,
)
print(f"Grad-CAM of {len(shown)} test images in {gallery}")
show(gallery)
