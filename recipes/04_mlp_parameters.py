# %% [markdown]
# # Step 4 · Hidden layers: the MLP and its parameters
#
# > **בעברית:** שכבות חבויות: רשת MLP וספירת הפרמטרים שלה ביד.
#
# Between the $q$ inputs and the $C$ softmax outputs sits a layer of $H$ hidden neurons with
# a nonlinear activation $a$ (sigmoid, tanh with range $(-1, 1)$, or relu $\max(0, z)$):
#
# $$h = a(x^\top W^{(1)} + b^{(1)}), \qquad \hat p = \text{softmax}(h^\top W^{(2)} + b^{(2)}).$$
#
# With a linear $a$ the whole model would stay linear: two stacked linear maps are one linear
# map. Each `Dense` layer has one weight per (input, unit) pair plus one bias per unit,
#
# $$\text{parameters} = (\text{inputs} + 1) \times \text{units}.$$
#
# This step builds the course's small MLP (2 inputs → 4 sigmoid neurons → 2 softmax outputs),
# prints `model.summary()` and the hand count, trains it on the course's simulation, then counts
# the malaria MLP's 9,035,501 parameters the same way.
#
# As a script: `python recipes/04_mlp_parameters.py [--quick] [--epochs N] [--seed S]`.

# %%
import keras

from kerasx._course import parse_options, step_parser
from kerasx.backprop import simulate_logistic
from kerasx.recipes import malaria_mlp, mlp, parameter_breakdown

# %% [markdown]
# ## Options and the counting helper
#
# As a script the options come from the command line; a notebook takes the defaults (and
# `--quick` when `KERASX_QUICK=1` is set): `parse_options`, shared by every step.
# `parameter_breakdown` lists each layer's inputs, units and parameters; `show_count` writes
# the sum out by hand.

# %%
parser = step_parser(
    "Hidden layers: the MLP and counting its parameters by hand (step 4).",
    quick="10 epochs instead of 100",
)
parser.add_argument("--epochs", type=int, default=None)
parser.add_argument("--seed", type=int, default=0)
args = parse_options(parser)
epochs = args.epochs or (10 if args.quick else 100)


def show_count(model):
    table = parameter_breakdown(model)
    print(table[["layer", "inputs", "units", "params"]].to_string(index=False))
    terms = " + ".join(
        f"({r.inputs} + 1) x {r.units}" for r in table.itertuples() if r.type == "Dense"
    )
    total = int(table["params"].sum())
    print(f"by hand: {terms} = {total:,}; model.count_params() = {model.count_params():,}")


# %% [markdown]
# ## The course's small MLP
#
# What to look at: Keras's summary and the hand count agree,
# $(2 + 1) \times 4 + (4 + 1) \times 2 = 22$.

# %%
keras.utils.set_random_seed(args.seed)
model = mlp(2, hidden=(4,), n_classes=2, activation="sigmoid", learning_rate=0.5)
model.summary()
show_count(model)

# %% [markdown]
# ## Train it on the course's simulation
#
# The data of steps 1–3; the hidden layer is not needed for this linear boundary, so the
# accuracy is about that of the logistic regression.

# %%
X, y = simulate_logistic(1000, (1.0, 2.0), seed=args.seed)
history = model.fit(X, keras.utils.to_categorical(y, 2), epochs=epochs, verbose=0)
print(f"trained {epochs} epochs: training accuracy {history.history['accuracy'][-1]:.3f}")

# %% [markdown]
# ## The malaria MLP of step 6
#
# $100 \times 100 \times 3 = 30{,}000$ inputs → 300 → 100 → 50 relu units → 1 sigmoid output.
# What to look at: the first layer, `my_dense_layer`, holds
# $(30{,}000 + 1) \times 300 = 9{,}000{,}300$ of the 9,035,501 parameters: one weight per
# pixel and neuron. Step 9 shows the network that avoids this.

# %%
print("\nThe malaria MLP (100 x 100 x 3 images, flattened inside the model):")
show_count(malaria_mlp(metrics=["accuracy"]))
