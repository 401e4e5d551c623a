"""Hidden layers: the MLP and counting its parameters by hand (step 4).

Builds the course's small MLP (2 inputs → 4 sigmoid neurons → 2 softmax outputs), prints
``model.summary()`` and the hand count (inputs + 1) × units per Dense layer, trains it on the
course's simulation, then counts the malaria MLP's 9,035,501 parameters the same way.

Usage::

    python recipes/04_mlp_parameters.py [--quick] [--epochs N] [--seed S]
"""

import argparse
import sys

import keras

from kerasx.backprop import simulate_logistic
from kerasx.recipes import malaria_mlp, mlp, parameter_breakdown


def show_count(model):
    table = parameter_breakdown(model)
    print(table[["layer", "inputs", "units", "params"]].to_string(index=False))
    terms = " + ".join(
        f"({r.inputs} + 1) x {r.units}" for r in table.itertuples() if r.type == "Dense"
    )
    total = int(table["params"].sum())
    print(f"by hand: {terms} = {total:,}; model.count_params() = {model.count_params():,}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 epochs instead of 100")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = args.epochs or (10 if args.quick else 100)

    keras.utils.set_random_seed(args.seed)
    model = mlp(2, hidden=(4,), n_classes=2, activation="sigmoid", learning_rate=0.5)
    model.summary()
    show_count(model)
    X, y = simulate_logistic(1000, (1.0, 2.0), seed=args.seed)
    history = model.fit(X, keras.utils.to_categorical(y, 2), epochs=epochs, verbose=0)
    print(f"trained {epochs} epochs: training accuracy {history.history['accuracy'][-1]:.3f}")
    print("\nThe malaria MLP (100 x 100 x 3 images, flattened inside the model):")
    show_count(malaria_mlp(metrics=["accuracy"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
