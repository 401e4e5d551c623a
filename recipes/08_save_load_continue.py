# %% [markdown]
# # Step 8 · Saving: store the model, reload it, predict, keep training
#
# > **בעברית:** שמירה: שומרים את המודל לקובץ, טוענים אותו, חוזים וממשיכים לאמן.
#
# A model of 9 million parameters is trained once and then used: it must be stored. The course
# saves it with `model.save("model.h5")` (HDF5) and reads it back with
# `keras.models.load_model`; Keras's own format is `model.save("model.keras")`. A saved model
# holds the architecture, the weights $W$ and the optimizer's state (Adam's moment estimates
# $m_t, v_t$ and its step count $t$), so training can continue where it stopped.
#
# This step trains the malaria MLP a few epochs, saves it in both formats, reloads each with
# `keras.models.load_model` (no `custom_objects`: kerasx registers its components), checks
# that it predicts like the original, and continues training from the saved optimizer state
# with `kerasx.recipes.load_trained_model` (which also repairs Keras 3.15's `.h5` optimizer
# restore). `--quick` uses small synthetic images (offline, **not real data**).
#
# As a script: `python recipes/08_save_load_continue.py [--quick]
# [--data DIR|synthetic|tfds] [--epochs N] [--out DIR]`.

# %%
import logging
import os
import sys

import keras
import numpy as np

import kerasx.metrics  # noqa: F401  (registers the kerasx metrics the model is compiled with)
from kerasx._course import parse_options, step_parser
from kerasx.data import DatasetUnavailableError, load_malaria
from kerasx.recipes import load_trained_model, malaria_mlp

# %% [markdown]
# ## Options
#
# As a script the options come from the command line; a notebook takes the defaults (and
# `--quick` when `KERASX_QUICK=1` is set): `parse_options`, shared by every step.

# %%
parser = step_parser(
    "Saving: store the malaria MLP as .h5 and .keras, reload it, predict and keep training "
    "(step 8).",
    quick="synthetic 16 x 16 images",
)
parser.add_argument("--data", default=None, help="synthetic (default), a folder, or tfds")
parser.add_argument("--epochs", type=int, default=None)
parser.add_argument("--out", default="runs/saved_models")
args = parse_options(parser)
logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notes: 4 models

# %% [markdown]
# ## Train the malaria MLP a few epochs

# %%
size = 16 if args.quick else 100
try:
    (X, y), (X_test, _) = load_malaria(
        args.data or "synthetic",
        image_size=size,
        flatten=False,
        fraction=0.2 if args.quick else None,
    )
except DatasetUnavailableError as error:
    print(error, file=sys.stderr)
    sys.exit(2)
epochs = args.epochs or (2 if args.quick else 10)
keras.utils.set_random_seed(0)
model = malaria_mlp(X.shape[1:], learning_rate=1e-4, standardize=X)
model.fit(X, y, epochs=epochs, batch_size=32, verbose=0)
expected = model.predict(X_test, verbose=0)

# %% [markdown]
# ## Save in both formats
#
# `.keras` first: a legacy `.h5` save rewrites the live model's compile configuration, so a
# `.keras` save after it would reload with a different optimizer.

# %%
os.makedirs(args.out, exist_ok=True)
paths = [os.path.join(args.out, name) for name in ("model.keras", "model.h5")]
for path in paths:  # .keras first: a legacy .h5 save edits the live model's compile config
    model.save(path)
print(f"trained {epochs} epochs on {len(X)} images of {size} x {size}; saved {', '.join(paths)}")

# %% [markdown]
# ## Reload, predict, continue training
#
# What to look at: the `.keras` model predicts exactly like the original (difference 0); the
# `.h5` one within float rounding. Training continues from the saved optimizer step (the
# number of batches seen so far), not from step 0: Adam's moment estimates came back too.

# %%
for path in paths:
    reloaded = keras.models.load_model(path)
    difference = np.max(np.abs(reloaded.predict(X_test, verbose=0) - expected))
    resumed = load_trained_model(path)
    steps = int(resumed.optimizer.iterations)
    history = resumed.fit(X, y, epochs=1, batch_size=32, verbose=0)
    print(
        f"{os.path.basename(path):<12} max |prediction difference| = {difference:.1e}; "
        f"continued from optimizer step {steps} to {int(resumed.optimizer.iterations)}, "
        f"loss {history.history['loss'][-1]:.4f}"
    )
