"""What ``kerasx malaria`` prints and writes: scores, the side-by-side table, plots, summary.

Everything here works on predictions and trained models; nothing trains or loads data.

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

import numpy as np

__all__ = ["MODEL_TITLES", "comparison_table", "draw_confusion", "score_predictions", "summary"]

#: Column titles of the models ``kerasx malaria`` compares, in the order they are shown.
MODEL_TITLES = {"mlp": "MLP", "cnn": "CNN", "baseline": "logistic"}

_ROWS = (
    ("accuracy", "accuracy"),
    ("sensitivity", "sensitivity"),
    ("specificity", "specificity"),
    ("mcc", "MCC"),
    ("roc_auc", "ROC AUC"),
    ("train_time_s", "train time (s)"),
)


def score_predictions(y_true, scores, threshold=0.5):
    """One model's scores on the test images, with scikit-learn.

    Args:
        y_true: 0/1 labels (1 = parasitized).
        scores: predicted probabilities of label 1.
        threshold: predict 1 when the score is ``> threshold``.

    Returns:
        A dict with ``accuracy``, ``sensitivity``, ``specificity``, ``mcc`` and ``roc_auc``
        (``nan`` when the test images hold one class only) and ``n`` (the number of images).

    >>> score_predictions([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.9])["specificity"]
    0.5
    """
    from sklearn import metrics

    y_true = np.asarray(y_true).ravel().astype(int)
    scores = np.asarray(scores, dtype="float64").ravel()
    y_pred = (scores > threshold).astype(int)
    both_classes = len(np.unique(y_true)) == 2
    return {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "sensitivity": float(metrics.recall_score(y_true, y_pred, pos_label=1, zero_division=0)),
        "specificity": float(metrics.recall_score(y_true, y_pred, pos_label=0, zero_division=0)),
        "mcc": float(metrics.matthews_corrcoef(y_true, y_pred)),
        "roc_auc": float(metrics.roc_auc_score(y_true, scores)) if both_classes else float("nan"),
        "n": len(y_true),
    }


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
    """One confusion matrix per model, side by side, to a PNG file.

    Args:
        path: the PNG file to write.
        y_true: 0/1 labels.
        predictions: ``{model name: 0/1 predictions}``.
        title: the figure's title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    figure, axes = plt.subplots(1, len(predictions), figsize=(4.5 * len(predictions), 4))
    for ax, (name, y_pred) in zip(np.atleast_1d(axes), predictions.items(), strict=True):
        ConfusionMatrixDisplay.from_predictions(
            np.asarray(y_true).astype(int),
            np.asarray(y_pred).astype(int),
            labels=[0, 1],
            display_labels=["uninfected", "parasitized"],
            ax=ax,
            colorbar=False,
        )
        ax.set_title(MODEL_TITLES.get(name, name))
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def _model_summary(model):
    from kerasx.recipes import parameter_breakdown

    lines = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line), line_length=110)
    breakdown = parameter_breakdown(model)
    total, trainable = int(breakdown["params"].sum()), int(breakdown["trainable"].sum())
    lines += [
        "",
        "Parameter breakdown ((inputs + 1) x units for each Dense layer):",
        breakdown.to_string(index=False),
        f"total: {total:,} parameters, {trainable:,} trainable"
        + (" (batch-norm and standardization statistics are not)" if total > trainable else ""),
    ]
    return lines


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
        lines += [f"== {MODEL_TITLES.get(name, name)} ==", *_model_summary(model), ""]
    lines += [table, ""]
    return "\n".join(lines)
