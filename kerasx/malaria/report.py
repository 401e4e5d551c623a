"""What the malaria job prints and draws: the side-by-side table, plots, model summaries.

Everything here works on predictions and trained models; nothing trains or loads data.

>>> from kerasx.malaria.scores import score_predictions
>>> scores = {"mlp": score_predictions([0, 1], [0.2, 0.9]), "baseline": score_predictions(
...     [0, 1], [0.7, 0.8])}
>>> print(comparison_table(scores, "Test set"))  # doctest: +NORMALIZE_WHITESPACE
Test set
                         MLP    logistic
accuracy               1.000       0.500
sensitivity            1.000       1.000
specificity            1.000       0.000
MCC                    1.000       0.000
ROC AUC                1.000       1.000
"""

import os

import numpy as np

__all__ = [
    "CLASS_NAMES",
    "MODEL_TITLES",
    "comparison_table",
    "draw_calibration",
    "draw_confusion",
    "draw_errors",
    "draw_grad_cam",
    "draw_roc",
    "model_summaries",
    "summary",
]

#: Column titles of the models ``kerasx malaria`` compares, in the order they are shown.
MODEL_TITLES = {"mlp": "MLP", "cnn": "CNN", "baseline": "logistic"}

#: Label 0 and label 1 of every kerasx malaria loader.
CLASS_NAMES = ("uninfected", "parasitized")

#: How many mistakes errors.png shows, and Grad-CAM examples per (class, right or wrong) group:
#: at most 4 x 3 = 12 images go through Grad-CAM, which keeps it to a fraction of a second.
N_ERRORS = 16
GRAD_CAM_PER_GROUP = 3

# Characters per line of a model's summary (summary.txt, the report page).
_SUMMARY_WIDTH = 96

_ROWS = (
    ("accuracy", "accuracy"),
    ("sensitivity", "sensitivity"),
    ("specificity", "specificity"),
    ("mcc", "MCC"),
    ("roc_auc", "ROC AUC"),
    ("train_time_s", "train time (s)"),
)


def comparison_table(results, title):
    """The models side by side, one row per score, one column per model in ``results``' order.

    Args:
        results: ``{model name: scores}`` (scores as :func:`score_predictions` returns, plus
            optionally ``train_time_s``); names are keys of :data:`MODEL_TITLES`.
        title: the first line, e.g. which test set and how many images.

    Returns:
        The table as one string.
    """
    names = list(results)
    lines = [title, f"{'':16s}" + "".join(f"{MODEL_TITLES[n]:>12s}" for n in names)]
    for key, row_title in _ROWS:
        if not all(key in results[n] for n in names):
            continue
        fmt = "{:12.1f}" if key == "train_time_s" else "{:12.3f}"
        lines.append(f"{row_title:16s}" + "".join(fmt.format(results[n][key]) for n in names))
    return "\n".join(lines)


def draw_confusion(path, y_true, predictions, title):
    """One confusion matrix per model, side by side, to a PNG file (written whole).

    Args:
        path: the PNG file to write.
        y_true: 0/1 labels.
        predictions: ``{model name: 0/1 predictions}``.
        title: the figure's title.
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    from kerasx._plotting import new_figure, save_figure

    figure = new_figure(4.5 * len(predictions), 4)
    axes = figure.subplots(1, len(predictions), squeeze=False)[0]
    for ax, (name, y_pred) in zip(axes, predictions.items(), strict=True):
        ConfusionMatrixDisplay.from_predictions(
            np.asarray(y_true).astype(int),
            np.asarray(y_pred).astype(int),
            labels=[0, 1],
            display_labels=CLASS_NAMES,
            ax=ax,
            colorbar=False,
        )
        ax.set_title(MODEL_TITLES.get(name, name))
    figure.suptitle(title)
    save_figure(figure, path, dpi=80)


def draw_roc(path, y_true, scores, title):
    """The ROC curve of every model on the same rows, AUC in the legend, to a PNG file.

    Args:
        path: the PNG file to write (written whole).
        y_true: 0/1 labels.
        scores: ``{model name: probabilities of class 1}``.
        title: the figure's title.
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    from kerasx._plotting import new_figure, save_figure

    y_true = np.asarray(y_true).astype(int).ravel()
    figure = new_figure(5.5, 5.0)
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1], linestyle="--", color="gray", label="chance (AUC 0.500)")
    if len(np.unique(y_true)) == 2:
        for name, values in scores.items():
            fpr, tpr, _ = roc_curve(y_true, values)
            auc = roc_auc_score(y_true, values)
            ax.plot(fpr, tpr, label=f"{MODEL_TITLES.get(name, name)} (AUC {auc:.3f})")
    else:
        ax.text(0.5, 0.5, "the test rows hold one class: no ROC curve", ha="center")
    ax.set_xlabel("false positive rate (1 - specificity)")
    ax.set_ylabel("true positive rate (sensitivity)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_title(title, fontsize=9)
    ax.legend(loc="lower right", fontsize=8)
    save_figure(figure, path, dpi=80)


def draw_calibration(path, name, y_true, before, after, temperature):
    """The reliability diagram of one model before and after temperature scaling."""
    from kerasx.calibration import reliability_diagram

    title = MODEL_TITLES.get(name, name)
    names = (f"{title} before", f"{title} after (T = {temperature:.2f})")
    reliability_diagram(path, y_true, before, after, names=names)


def draw_errors(path, images, y_true, scores):
    """The model's most confident mistakes on the test rows (:func:`kerasx.explain.top_errors`)."""
    from kerasx.explain import plot_top_errors, top_errors

    indices = top_errors(y_true, scores, k=N_ERRORS)
    plot_top_errors(path, images, y_true, scores, indices, class_names=CLASS_NAMES)


def draw_grad_cam(path, model, images, y_true, scores):
    """Grad-CAM of the predicted class on right and wrong test cells of both classes.

    ``class_index="predicted"``: each heatmap shows the evidence for the class the model chose,
    so a correct *uninfected* cell shows what made it say uninfected (the evidence for
    *parasitized* there is mostly nothing, an empty map), and a mistake shows what misled it.
    Only the at most ``4 x GRAD_CAM_PER_GROUP`` images shown go through Grad-CAM.
    """
    from kerasx.explain import grad_cam, grad_cam_examples, plot_grad_cam

    groups = grad_cam_examples(y_true, scores, per_group=GRAD_CAM_PER_GROUP)
    rows = np.concatenate([np.asarray(v, dtype=int) for v in groups.values()])
    images, y_true, scores = np.asarray(images)[rows], np.asarray(y_true)[rows], scores[rows]
    heatmaps = grad_cam(model, images.astype("float32"), class_index="predicted")
    plot_grad_cam(
        path,
        images,
        heatmaps,
        y_true,
        scores,
        class_names=CLASS_NAMES,
        per_group=GRAD_CAM_PER_GROUP,
    )


def _model_summary(model):
    """``(lines, total parameters, trainable parameters)`` of a Keras model."""
    from kerasx.recipes import parameter_breakdown

    lines = []
    # Keras prints through rich, whose console is 80 columns wide when it is not a terminal: the
    # table's last column (Param #) was cut off. rich and Keras both read COLUMNS.
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(_SUMMARY_WIDTH + 4)
    try:
        model.summary(print_fn=lambda line, *a, **k: lines.append(line), line_length=_SUMMARY_WIDTH)
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    breakdown = parameter_breakdown(model)
    total, trainable = int(breakdown["params"].sum()), int(breakdown["trainable"].sum())
    lines += [
        "",
        "Parameter breakdown ((inputs + 1) x units for each Dense layer):",
        breakdown.to_string(index=False),
        f"total: {total:,} parameters, {trainable:,} trainable"
        + (" (batch-norm and standardization statistics are not)" if total > trainable else ""),
    ]
    return lines, total, trainable


def model_summaries(models, results):
    """Each model's layers and parameter counts, for run.json and the report page.

    Args:
        models: ``{model name: trained keras.Model}``.
        results: metrics.json's per-model entries (the baseline's ``parameters`` and
            ``image_size`` are read from there).

    Returns:
        ``{model name: {"title", "summary", "parameters", "trainable"}}``, baseline included
        when ``results`` has it.
    """
    summaries = {}
    for name, model in models.items():
        lines, total, trainable = _model_summary(model)
        summaries[name] = {
            "title": MODEL_TITLES.get(name, name),
            "summary": "\n".join(lines),
            "parameters": total,
            "trainable": trainable,
        }
    if "baseline" in results:
        size, count = results["baseline"]["image_size"], results["baseline"]["parameters"]
        summaries["baseline"] = {
            "title": MODEL_TITLES["baseline"],
            "summary": (
                "scikit-learn LogisticRegression(C=1.0, lbfgs, max_iter=1000) on the flattened "
                f"pixels of {size}x{size}x3 images: {count - 1:,} weights and 1 intercept"
            ),
            "parameters": count,
            "trainable": count,
        }
    return summaries


def summary(models, table, description):
    """The text of ``summary.txt``: the data, each model's layers and parameters, the table.

    Args:
        models: ``{model name: trained keras.Model}``.
        table: the side-by-side table (:func:`comparison_table`).
        description: one line about the data (e.g. :func:`kerasx.data.describe_source`).

    Returns:
        The text.
    """
    lines = [f"Data: {description}", ""]
    for name, model in models.items():
        lines += [f"== {MODEL_TITLES.get(name, name)} ==", *_model_summary(model)[0], ""]
    lines += [table, ""]
    return "\n".join(lines)
