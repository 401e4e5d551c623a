"""One search in this process: the folder's record, the KerasTuner or scikit-learn run, the outputs.

A search folder holds ``search.json`` (what identifies the search, its ``split`` included, so that
another one is not resumed into it), ``trials.csv``, ``best.json`` (with ``validation``: how the
trials validated) and ``best_model.keras``.
"""

import json
import os

import keras

from kerasx import _io
from kerasx._validation import invalid_value
from kerasx.recipes import load_trained_model
from kerasx.tuning._table import read_trials
from kerasx.tuning.sklearn_search import search_with_sklearn
from kerasx.tuning.tuners import is_worker, search_with_keras_tuner

__all__ = ["read_results", "record_search", "search_in_process"]


def record_search(config, X):
    """Writes ``config.out/search.json``, refusing a folder that holds a different search.

    The record is the config's :meth:`~kerasx.tuning.TuneConfig.identity` plus the data's shape
    and the hypermodel's ranges (for a ``keras_tuner.HyperModel`` of one's own without
    ``ranges``: its class).

    Raises:
        ValueError: when the folder holds another search and ``config.overwrite`` is False.
    """
    os.makedirs(config.out, exist_ok=True)
    record = config.identity()
    record.update(input_shape=list(X.shape[1:]), n_samples=len(X))
    hypermodel = config.hypermodel
    record["space"] = getattr(hypermodel, "ranges", None) or {
        "hypermodel": f"{type(hypermodel).__module__}.{type(hypermodel).__qualname__}"
    }
    record = json.loads(json.dumps(record))  # tuples become lists, as in the file
    path = os.path.join(config.out, "search.json")
    previous = _io.read_json(path)
    if previous and "split" not in previous:  # recorded before `split`: always by cell
        previous["split"] = "cell"
    if previous and previous != record and not config.overwrite:
        expected = f"a folder holding the same search ({previous}) or overwrite=True"
        raise invalid_value("out", expected, config.out)
    if not is_worker():
        _io.write_json(path, record)


def search_in_process(X, y, config, X_test=None, y_test=None, groups=None):
    """Runs the search of ``config`` here and writes its outputs (see :func:`kerasx.tuning.tune`).

    Args:
        X: training inputs.
        y: integer class labels.
        config: a :class:`~kerasx.tuning.TuneConfig` whose ``hypermodel`` is set and whose
            ``split`` is resolved; its folder is recorded already (:func:`record_search`).
        X_test: optional test inputs.
        y_test: optional test labels.
        groups: one patient id per row of ``X`` (``split="patient"``), or None.

    Returns:
        ``tune``'s result dict.
    """
    keras.utils.set_random_seed(config.seed)
    run = search_with_sklearn if config.tuner == "sklearn" else search_with_keras_tuner
    trials, best_hps, best_score, model, validation = run(X, y, config, groups)
    result = {
        "trials": trials,
        "best_hyperparameters": best_hps,
        "best_score": best_score,
        "model": model,
        "test_accuracy": None,
        "validation": validation,
    }
    if model is None:  # a distributed worker: the chief writes the results
        return result
    if X_test is not None:
        metrics = model.evaluate(X_test, y_test, verbose=0, return_dict=True)
        if "accuracy" in metrics:  # a model of one's own may compile other metrics
            result["test_accuracy"] = float(metrics["accuracy"])
    if not model.optimizer.built:  # KerasTuner reloads weights only: save a complete model
        model.optimizer.build(model.trainable_variables)
    _io.save_model(os.path.join(config.out, "best_model.keras"), model)
    keys = ("best_hyperparameters", "best_score", "test_accuracy", "validation")
    _io.write_json(os.path.join(config.out, "best.json"), {key: result[key] for key in keys})
    message = (
        f"best score {best_score:.4f} on {validation['method']} with {best_hps}; "
        f"model in {config.out}"
    )
    _io.progress("tune", message, enabled=config.progress)
    if result["test_accuracy"] is not None:
        message = f"test accuracy of the best model: {result['test_accuracy']:.4f}"
        _io.progress("tune", message, enabled=config.progress)
    return result


def read_results(out):
    """``tune``'s result dict, read back from the files of a finished search in ``out``."""
    best = _io.read_json(os.path.join(out, "best.json"))
    trials_csv = os.path.join(out, "trials.csv")
    return {
        "trials": read_trials(trials_csv),
        "best_hyperparameters": best["best_hyperparameters"],
        "best_score": best["best_score"],
        "model": load_trained_model(os.path.join(out, "best_model.keras")),
        "test_accuracy": best["test_accuracy"],
        "validation": best["validation"],
    }
