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
    "score_of",
    "score_text",
    "statistics_lines",
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
    ("ece", "ECE"),
    ("brier", "Brier score"),
    ("train_time_s", "train time (s)"),
)


def score_of(entry, key):
    """A model's score ``key`` from its metrics.json entry (ECE and Brier: before calibration).

    >>> score_of({"calibration": {"before": {"ece": 0.04}}}, "ece"), score_of({}, "mcc")
    (0.04, None)
    """
    if key in ("ece", "brier"):
        return ((entry.get("calibration") or {}).get("before") or {}).get(key)
    return entry.get(key)


def score_text(entry, key):
    """A score as the table writes it: ``0.966 [0.951, 0.978]`` with its interval, else
    ``0.966``; ``–`` when missing.

    >>> score_text({"mcc": 0.5, "intervals": {"mcc": {"low": 0.4, "high": 0.6}}}, "mcc")
    '0.500 [0.400, 0.600]'
    """
    value = score_of(entry, key)
    if value is None or value != value:
        return "–"
    if key == "train_time_s":
        return f"{value:.1f}"
    interval = (entry.get("intervals") or {}).get(key)
    if interval and interval.get("low") is not None:
        return f"{value:.3f} [{interval['low']:.3f}, {interval['high']:.3f}]"
    return f"{value:.3f}"


def comparison_table(results, title):
    """The models side by side, one row per score, one column per model in ``results``' order.

    A score with an interval in the entry (``intervals``, see
    :func:`kerasx.malaria.inference.add_statistics`) is written ``0.966 [0.951, 0.978]``.

    Args:
        results: ``{model name: scores}`` (as :func:`kerasx.malaria.scores.score_predictions`
            returns, plus
            optionally ``train_time_s``, ``calibration`` and ``intervals``); names are keys of
            :data:`MODEL_TITLES`.
        title: the first line, e.g. which test set and how many images.

    Returns:
        The table as one string.
    """
    names = list(results)
    rows = [
        (row_title, [score_text(results[n], key) for n in names])
        for key, row_title in _ROWS
        if not all(score_of(results[n], key) is None for n in names)
    ]
    width = max([12] + [len(text) + 2 for _, cells in rows for text in cells])
    lines = [title, f"{'':16s}" + "".join(f"{MODEL_TITLES[n]:>{width}s}" for n in names)]
    for row_title, cells in rows:
        lines.append(f"{row_title:16s}" + "".join(f"{text:>{width}s}" for text in cells))
    methods = {results[n].get("interval_method") for n in names} - {None}
    if methods:
        lines.append(f"[brackets]: 95% interval, {', '.join(sorted(methods))}")
    return "\n".join(lines)


def statistics_lines(results):
    """What the intervals say, in sentences: each network against the baseline (paired, by
    patient when the data names patients), the patients' diagnosis, the operating threshold and
    the conformal sets. Empty for entries without statistics.

    Args:
        results: ``{model name: metrics.json entry}``.

    Returns:
        A list of lines.
    """
    lines = []
    for name, entry in results.items():
        title = MODEL_TITLES.get(name, name)
        if "vs_baseline" in entry:
            lines.append(entry["vs_baseline"]["sentence"])
        if name == "mlp" and _not_above_zero(entry):
            lines.append(_why_the_mlp_loses(results))
        patients = entry.get("patients")
        if patients:
            sens, spec = patients["sensitivity"], patients["specificity"]
            lines.append(
                f"{title} per patient ({patients['n_patients']} patients, infected when "
                f"{patients['rule']}): sensitivity {_interval_text(sens)}, "
                f"specificity {_interval_text(spec)}" + _any_cell_text(patients)
            )
        point = entry.get("operating_point")
        if point:
            chosen, half = point["chosen"], point["0.5"]
            lines.append(
                f"{title} threshold {point['threshold']:.3f} ({point['criterion']}, fitted on the "
                f"validation rows): sensitivity {chosen['sensitivity']:.3f}, specificity "
                f"{chosen['specificity']:.3f} (at 0.5: {half['sensitivity']:.3f}, "
                f"{half['specificity']:.3f})"
            )
        lines += [f"{title}: {note}" for note in entry.get("statistics_notes", ())]
        sets = entry.get("conformal")
        if sets:
            lines.append(
                f"{title} conformal sets (alpha {sets['alpha']}): coverage "
                f"{sets['coverage']:.3f}, 'ask a human' (both classes) for "
                f"{sets['ask_a_human']:.1%} of the test cells"
            )
    return lines


def _any_cell_text(patients):
    """The "any cell above 0.5" figures next to a fitted rule, or why no rule was fitted."""
    if patients.get("rule_note"):
        return f" ({patients['rule_note']})"
    any_cell = patients.get("any_cell")
    if not any_cell:
        return ""
    return (
        f" (with 'any cell > 0.5' instead: sensitivity {_interval_text(any_cell['sensitivity'])},"
        f" specificity {_interval_text(any_cell['specificity'])})"
    )


def _not_above_zero(entry):
    difference = (entry.get("vs_baseline") or {}).get("difference") or {}
    return difference.get("low") is not None and difference["low"] <= 0


def _why_the_mlp_loses(results):
    """One line on why the course's MLP does not beat the baseline, and what does."""
    line = (
        "Why: the course's MLP learns one weight per pixel and neuron, with no weight sharing, "
        "so it needs far more images than these to beat a linear model on raw pixels"
    )
    cnn = results.get("cnn")
    if cnn is not None and not _not_above_zero(cnn) and "vs_baseline" in cnn:
        return line + "; the CNN, which slides the same 3x3 filters over the whole image, wins."
    return line + "; a network made for images does better (--model cnn)."


def _interval_text(entry):
    if entry.get("estimate") is None:
        return "n/a (no such patient on the test side)"
    return f"{entry['estimate']:.3f} [{entry['low']:.3f}, {entry['high']:.3f}]"


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
    reliability_diagram(path, y_true, before, after, names=names, class_names=CLASS_NAMES)


def draw_errors(path, images, y_true, scores):
    """The model's most confident mistakes on the test rows (:func:`kerasx.explain.top_errors`)."""
    from kerasx.explain import plot_top_errors, top_errors

    indices = np.asarray(top_errors(y_true, scores, k=N_ERRORS), dtype=int)
    # Only the shown rows go to the plot, which converts its images to float64 RGB: all the
    # test images would take 1.3 GB at full scale (4,138 cells of 100x100).
    shown = np.arange(len(indices))
    images, y_true = np.asarray(images)[indices], np.asarray(y_true).ravel()[indices]
    scores = np.asarray(scores).ravel()[indices]
    plot_top_errors(path, images, y_true, scores, shown, class_names=CLASS_NAMES)


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
    # The job keeps images as 8-bit pixels; the model takes them as the batches it trained on.
    from kerasx.data import scale_images

    inputs = scale_images(images) if images.dtype == np.uint8 else images.astype("float32")
    heatmaps = grad_cam(model, inputs, class_index="predicted")
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
        "Parameter breakdown (the formula column: (inputs + 1) x units for a Dense layer, "
        "(kernel height x width x input channels + 1) x filters for a convolution, without the "
        "+ 1 when the layer has no bias):",
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
