"""The files of a finished malaria run: the table, figures, models, metrics.json, run.json and
report.html, written after training (:func:`write_outputs`)."""

import contextlib
import os
import shutil

from kerasx.malaria import record as records
from kerasx.malaria.train import progress

__all__ = ["evaluation", "featured_model", "output_files", "write_outputs"]

_MODEL_FILES = {"mlp": ("model.keras", "model.h5"), "cnn": ("cnn.keras",)}


def output_files(models):
    """The files a run writes to its folder when it trains ``models``.

    Args:
        models: names among ``("mlp", "cnn")``.

    Returns:
        A tuple of file names; ``report.html`` (built from all the others) comes last.

    >>> output_files(("mlp", "cnn"))[:4]
    ('history.csv', 'confusion_matrix.png', 'roc.png', 'calibration.png')
    """
    files = ["history.csv", "confusion_matrix.png", "roc.png", "calibration.png", "errors.png"]
    if "cnn" in models:
        files.append("gradcam.png")
    files += ["metrics.json", "run.json", "summary.txt"]
    for name in models:
        files += [f"curves_{name}.png", *_MODEL_FILES[name]]
    return (*files, "report.html")


def featured_model(models):
    """The model errors.png and calibration.png show: the CNN when it was trained, else the MLP.

    The CNN is the one Grad-CAM explains and the one meant for use (it beats the MLP and the
    baseline on the synthetic cells and on the NIH cells), so its mistakes and probabilities are
    the ones worth a look; the side-by-side table, the calibration table and roc.png still cover
    every model.

    >>> featured_model(("mlp", "cnn")), featured_model(("mlp",))
    ('cnn', 'mlp')
    """
    return "cnn" if "cnn" in models else models[0]


def evaluation(config, n_test):
    """What the test rows are, for the table's title and metrics.json."""
    if config.test_data is not None:
        return (
            f"EXTERNAL validation: every image of {config.test_data!r} (other patients), "
            f"n={n_test}; trained on the whole of --data"
        )
    if config.synthetic:
        return f"held-out SYNTHETIC images (not real cells), n={n_test}"
    if config.split == "patient":
        return f"held-out patients (no patient on both sides), n={n_test}"
    if config.data == "tfds":
        return f"held-out cells (TFDS has no patient ids), n={n_test}"
    return f"held-out cells (cells of one patient can be on both sides), n={n_test}"


def _save_models(results, out):
    from kerasx._io import atomic_path

    for name, files in _MODEL_FILES.items():
        if name not in results:
            continue
        for file in files:
            # .keras first: a legacy .h5 save rewrites the live model's compile config.
            with atomic_path(os.path.join(out, file)) as tmp:
                results[name].model.save(tmp)


def _draw_figures(config, out, splits, results, title):
    """confusion_matrix.png, roc.png, calibration.png, errors.png and (CNN) gradcam.png."""
    from kerasx.malaria import report

    y_test = splits[config.image_size].y_test
    predictions = {name: result.scores > 0.5 for name, result in results.items()}
    report.draw_confusion(os.path.join(out, "confusion_matrix.png"), y_test, predictions, title)
    scores = {name: result.scores for name, result in results.items()}
    report.draw_roc(os.path.join(out, "roc.png"), y_test, scores, title)
    featured = results[featured_model(config.models)]
    report.draw_calibration(
        os.path.join(out, "calibration.png"),
        featured.name,
        y_test,
        featured.scores,
        featured.calibrated,
        featured.entry["calibration"]["temperature"],
    )
    images = splits[config.image_size_for(featured.name)].x_test
    report.draw_errors(os.path.join(out, "errors.png"), images, y_test, featured.scores)
    if "cnn" in results:
        cnn = results["cnn"]
        images = splits[config.cnn_image_size].x_test
        report.draw_grad_cam(
            os.path.join(out, "gradcam.png"), cnn.model, images, y_test, cnn.scores
        )


def _metrics(folder, description, splits, results, described):
    import keras

    config = folder.config
    main = splits[config.image_size]
    data = {
        "source": os.fspath(config.data),
        "description": description,
        "synthetic": config.synthetic,
        "split": None if config.test_data else config.split,
        "test_data": config.test_data,
        "external_validation": config.test_data is not None,
        "evaluation": described,
        "fraction": config.fraction,
        "n_train": len(main.y_train),
        "n_test": len(main.y_test),
        "split_seed": config.seed,
    }
    settings = {
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "validation_split": config.validation_split,
        "seed": config.seed,
        "quick": config.quick,
        "xla": config.xla,
        "backend": {
            "name": keras.backend.backend(),
            "dtype_policy": keras.config.dtype_policy().name,
        },
    }
    return records.metrics_document(
        identity=records.run_identity(config, folder.fingerprint),
        data=data,
        settings=settings,
        results={name: result.entry for name, result in results.items()},
    )


def write_outputs(folder, description, splits, results, verbose=True):
    """Prints the table and writes every output file; returns metrics.json's dict.

    Args:
        folder: the run's record (config, output folder, data fingerprint, split).
        description: one line about the data.
        splits: ``{image size: Split}``.
        results: ``{name: ModelResult}`` of :func:`kerasx.malaria.train.train_and_score`.
        verbose: print the table and the last progress line.
    """
    import pandas as pd

    from kerasx import _io
    from kerasx.commands import _html
    from kerasx.malaria import report

    config, out = folder.config, folder.out
    described = evaluation(config, len(splits[config.image_size].y_test))
    title = f"Test set: {described}"
    entries = {name: r.entry for name, r in results.items()}
    table = "\n".join([report.comparison_table(entries, title), *report.statistics_lines(entries)])
    if verbose:
        print(table, flush=True)
    histories = [r.history for r in results.values() if r.history is not None]
    history = pd.concat(histories, ignore_index=True)
    if config.synthetic:
        history.insert(0, "data", "SYNTHETIC")  # every output says so
    _io.write_text(os.path.join(out, "history.csv"), history.to_csv(index=False))
    _draw_figures(config, out, splits, results, title)
    networks = {name: r.model for name, r in results.items() if name != "baseline"}
    _io.write_text(os.path.join(out, "summary.txt"), report.summary(networks, table, description))
    _save_models(results, out)
    metrics = _metrics(folder, description, splits, results, described)
    records.write_json(out, "metrics.json", metrics)
    folder.write(
        "finished",
        featured_model=featured_model(config.models),
        models=report.model_summaries(networks, entries),
    )
    _html.write_report(out)
    # Every output is written: the resume state goes (the backups first).
    shutil.rmtree(os.path.join(out, records.BACKUP_DIR), ignore_errors=True)
    for name in config.models:
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(out, f"history_{name}.csv"))
    progress(f"wrote {', '.join(output_files(config.models))} to {out}", verbose)
    return metrics
