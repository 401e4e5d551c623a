"""report.html: one self-contained page for a ``kerasx malaria`` run folder.

The page is built from the files of the folder only (``metrics.json``, ``run.json``, the PNGs,
``summary.txt``), so ``kerasx report RUN_DIR`` rebuilds exactly what ``kerasx malaria`` wrote.
It is rendered by Jinja2 with autoescaping on, from ``templates/report.html.j2``; images are
embedded as ``data:`` URIs and the page fetches nothing: it opens offline, on a phone and
printed.

>>> number(0.71234), number(12.345, "train_time_s"), number(94_209, "parameters"), number(None)
('0.712', '12.3', '94,209', '–')
"""

import base64
import json
import os

from kerasx._validation import InvalidArgument

__all__ = ["FIGURES", "REPORT_FILE", "load_run", "number", "render_report", "write_report"]

#: The page's file name inside a run folder.
REPORT_FILE = "report.html"

#: The figures the page shows, in order: ``(file, heading, caption)``; ``{model}`` is the
#: title of the model errors.png, calibration.png and gradcam.png show. Missing ones are skipped.
FIGURES = (
    (
        "confusion_matrix.png",
        "Confusion matrices",
        "Counts of right and wrong predictions of each model on the test rows (threshold 0.5).",
    ),
    (
        "roc.png",
        "ROC curves",
        "Sensitivity against 1 - specificity over every threshold, for every model on the same "
        "test rows; the area under each curve is in the legend.",
    ),
    (
        "calibration.png",
        "Calibration of the {model}",
        "Reliability diagram on the test rows: when the {model} says p, is it right a share p of "
        "the time? Before and after temperature scaling (T fitted on the validation rows that "
        "training held out).",
    ),
    (
        "errors.png",
        "The {model}'s most confident mistakes",
        "The test cells the {model} got wrong with the highest confidence, most confident "
        "first, with the true label and the predicted probability of parasitized.",
    ),
    (
        "gradcam.png",
        "Where the CNN looks (Grad-CAM)",
        "Each cell and its Grad-CAM heatmap for the class the CNN predicted (red: strongest "
        "evidence), for right and wrong cells of both classes.",
    ),
)

# The side-by-side table: (key in a model's metrics.json entry, row title).
_TABLE_ROWS = (
    ("accuracy", "accuracy"),
    ("sensitivity", "sensitivity (parasitized found)"),
    ("specificity", "specificity (uninfected found)"),
    ("mcc", "MCC"),
    ("roc_auc", "ROC AUC"),
    ("train_time_s", "train time (s)"),
    ("epochs_run", "epochs run"),
    ("best_epoch_1based", "best epoch (counted from 1)"),
    ("image_size", "image size (pixels a side)"),
    ("parameters", "parameters"),
    ("n", "test images"),
)
# The calibration table: (path in a model's "calibration" entry, row title).
_CALIBRATION_ROWS = (
    (("temperature",), "temperature T"),
    (("before", "ece"), "ECE before"),
    (("after", "ece"), "ECE after"),
    (("before", "brier"), "Brier score before"),
    (("after", "brier"), "Brier score after"),
    (("before", "nll"), "NLL before"),
    (("after", "nll"), "NLL after"),
)
_INTEGERS = {"epochs_run", "best_epoch_1based", "image_size", "parameters", "n"}
_MODEL_KEYS = ("mlp", "cnn", "baseline")


def number(value, key=None):
    """How the page writes a value of metrics.json: 3 decimals, times 1, counts in full.

    Args:
        value: a number, or ``None`` (a value metrics.json does not have).
        key: the metrics.json key it belongs to (decides the format).

    Returns:
        The text of the table cell.
    """
    if value is None:
        return "–"
    if key in _INTEGERS:
        return f"{int(value):,}"
    return f"{value:.1f}" if key == "train_time_s" else f"{value:.3f}"


def _read_json(path, required):
    if not os.path.exists(path):
        if required:
            raise FileNotFoundError(
                f"{path!r} not found: not a `kerasx malaria` run folder (make one with "
                f"`kerasx malaria --out {os.path.dirname(path)}`)"
            )
        return {}
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except json.JSONDecodeError as error:
        raise InvalidArgument(f"{path!r} is not valid JSON ({error})") from None


def _check_one_run(run_dir, metrics, run):
    """Refuses a folder whose metrics.json and run.json come from two different runs."""
    if run.get("state") not in (None, "finished"):
        raise InvalidArgument(
            f"{run_dir!r} holds a run that is {run.get('state')}: its metrics.json, if any, is "
            "from an earlier run. Finish the run (run its command again) or use --restart."
        )
    recorded, measured = run.get("run"), metrics.get("run")
    if (recorded or measured) and recorded != measured:
        raise InvalidArgument(
            f"{run_dir!r} holds files of two runs: metrics.json is of run {measured!r}, "
            f"run.json of run {recorded!r}. Run the command of run.json again to rebuild it."
        )


def load_run(run_dir):
    """Reads what the page needs from a run folder.

    Args:
        run_dir: a folder written by ``kerasx malaria``.

    Returns:
        ``(metrics, run, files)``: metrics.json's dict, run.json's (``{}`` for a folder written
        before run.json existed) and the sorted names of the folder's files.

    Raises:
        FileNotFoundError: a missing folder or a folder without metrics.json.
        kerasx.InvalidArgument: a metrics.json that is not JSON or not a run's (no ``data``
            entry), or files that disagree with run.json (another run, or one not finished).
    """
    from kerasx.malaria.record import read_metrics

    run_dir = os.fspath(run_dir)
    if not os.path.isdir(run_dir):
        raise FileNotFoundError(f"run folder {run_dir!r} not found")
    path = os.path.join(run_dir, "metrics.json")
    _read_json(path, required=True)  # a clear error for a folder without it
    metrics = read_metrics(path)
    run = _read_json(os.path.join(run_dir, "run.json"), required=False)
    _check_one_run(run_dir, metrics, run)
    files = sorted(
        f
        for f in os.listdir(run_dir)
        if os.path.isfile(os.path.join(run_dir, f)) and f != REPORT_FILE
    )
    return metrics, run, files


def _data_uri(path):
    with open(path, "rb") as file:
        return "data:image/png;base64," + base64.b64encode(file.read()).decode("ascii")


def _split_statement(data):
    """Which rows the numbers come from, in one sentence."""
    if data.get("external_validation"):
        return (
            f"External test folder: every image of {data.get('test_data')!r} (other patients); "
            "the models were trained on the whole of the training data."
        )
    if data.get("split") == "patient":
        return (
            "Held-out patients: no patient has cells on both sides, so the numbers estimate "
            "how the models do on new patients."
        )
    if data.get("synthetic"):
        return "Held-out synthetic images (a cell-level split of generated images)."
    return (
        "Held-out cells: cells of one patient can be on both sides, so the numbers are "
        "optimistic for new patients (use --split patient or --test-data)."
    )


def _text(entry, key):
    """A table cell: the score with its interval when metrics.json has one."""
    from kerasx.malaria.report import score_text

    if (entry.get("intervals") or {}).get(key):
        return score_text(entry, key)
    return number(entry.get(key), key)


def _table(models, metrics):
    rows = []
    for key, title in _TABLE_ROWS:
        values = [metrics[name].get(key) for name in models]
        if all(value is None for value in values):
            continue
        cells = [{"model": name, "text": _text(metrics[name], key)} for name in models]
        rows.append({"key": key, "title": title, "cells": cells})
    return rows


def _interval(entry):
    """``0.950 [0.900, 0.980]`` from an interval of metrics.json, ``–`` for none."""
    if not entry or entry.get("estimate") is None:
        return "–"
    return f"{entry['estimate']:.3f} [{entry['low']:.3f}, {entry['high']:.3f}]"


def _statistics(models, metrics, titles):
    """The report's statistics: how the intervals were made, each network against the baseline,
    the operating threshold, the conformal sets and the diagnosis per patient."""
    entries = {name: metrics[name] for name in models}
    methods = sorted({e["interval_method"] for e in entries.values() if "interval_method" in e})
    comparisons = [e["vs_baseline"]["sentence"] for e in entries.values() if "vs_baseline" in e]
    points = [
        {"model": name, "title": titles[name], **e["operating_point"]}
        for name, e in entries.items()
        if "operating_point" in e
    ]
    conformal = [
        {"model": name, "title": titles[name], **e["conformal"]}
        for name, e in entries.items()
        if "conformal" in e
    ]
    with_patients = [name for name in models if entries[name].get("patients")]
    patients = None
    if with_patients:
        first = entries[with_patients[0]]["patients"]
        verdicts = {
            name: {row["patient"]: row for row in entries[name]["patients"]["table"]}
            for name in with_patients
        }
        patients = {
            "models": with_patients,
            "rule": first["rule"],
            "n_patients": first["n_patients"],
            "summary": [
                {
                    "model": name,
                    "title": titles[name],
                    "rule": entries[name]["patients"]["rule"],
                    "rule_note": entries[name]["patients"].get("rule_note"),
                    **{
                        key: _interval(entries[name]["patients"][key])
                        for key in ("sensitivity", "specificity", "accuracy")
                    },
                    **{
                        f"any_{key}": _interval(any_cell[key]) if any_cell else "same rule"
                        for key in ("sensitivity", "specificity")
                    },
                }
                for name in with_patients
                for any_cell in [entries[name]["patients"].get("any_cell")]
            ],
            "rows": [
                {
                    "patient": row["patient"],
                    "n_cells": row["n_cells"],
                    "truth": row["truth"],
                    "verdicts": [verdicts[name][row["patient"]] for name in with_patients],
                }
                for row in first["table"]
            ],
        }
    return {
        "interval_methods": methods,
        "comparisons": comparisons,
        "operating_points": points,
        "conformal": conformal,
        "patients": patients,
    }


def _dig(entry, path):
    for part in path:
        entry = entry.get(part) if isinstance(entry, dict) else None
    return entry


def _calibration_table(models, metrics):
    calibrations = {name: metrics[name].get("calibration") for name in models}
    models = [name for name in models if isinstance(calibrations[name], dict)]
    rows = []
    for path, title in _CALIBRATION_ROWS:
        values = [_dig(calibrations[name], path) for name in models]
        if path[0] == "before" and path[1] in ("ece", "brier"):
            values = [
                _interval(interval) if (interval := _dig(metrics[name], ("intervals", path[1])))
                else number(value)
                for name, value in zip(models, values, strict=True)
            ]  # fmt: skip
        else:
            values = [number(v) for v in values]
        cells = [{"model": name, "text": v} for name, v in zip(models, values, strict=True)]
        rows.append({"key": ".".join(("calibration", *path)), "title": title, "cells": cells})
    return models, rows


def _figures(run_dir, files, featured):
    figures = []
    for file, heading, caption in FIGURES:
        if file in files:
            figures.append(
                {
                    "file": file,
                    "heading": heading.format(model=featured),
                    "caption": caption.format(model=featured),
                    "uri": _data_uri(os.path.join(run_dir, file)),
                }
            )
    return figures


def _settings_rows(settings, models, metrics, titles):
    rows = [(key, "default" if value is None else value) for key, value in settings.items()]
    for name in models:
        if "patience" in metrics[name]:
            rows.append((f"{titles[name]} early-stopping patience", metrics[name]["patience"]))
    return rows


def _model_sections(run_dir, run, files, models, titles):
    """The learning curves of each network, and the model summaries (run.json, else
    summary.txt for a folder written before run.json existed)."""
    curves = [
        {"model": name, "title": titles[name], "uri": _data_uri(os.path.join(run_dir, file))}
        for name in models
        if (file := f"curves_{name}.png") in files
    ]
    summaries = [
        {**entry, "one_line": "\n" not in entry["summary"]}
        for entry in (run.get("models") or {}).values()
    ]
    summary = None
    if not summaries and "summary.txt" in files:
        with open(os.path.join(run_dir, "summary.txt"), encoding="utf-8") as file:
            summary = file.read()
    return {"curves": curves, "model_summaries": summaries, "summary": summary}


def _context(run_dir):
    from kerasx.malaria.report import MODEL_TITLES

    metrics, run, files = load_run(run_dir)
    models = [k for k in _MODEL_KEYS if isinstance(metrics.get(k), dict)]
    titles = {name: MODEL_TITLES[name] for name in models}
    featured = run.get("featured_model") or ("cnn" if "cnn" in models else models[0])
    calibrated, calibration_rows = _calibration_table(models, metrics)
    settings = metrics.get("settings", {})
    share = settings.get("validation_split")
    split = run.get("split") or {}
    return {
        "data": metrics["data"],
        "validation_share": f"{share:.0%}" if share else "",
        "sides": split.get("sides"),
        "validation_kind": split.get("validation", ""),
        "patients_on_two_sides": split.get("patients_on_two_sides"),
        "audit": split.get("audit"),
        "settings_rows": _settings_rows(settings, models, metrics, titles),
        "split_statement": _split_statement(metrics["data"]),
        "models": models,
        "titles": titles,
        "table": _table(models, metrics),
        **_statistics(models, metrics, titles),
        "calibrated": calibrated,
        "calibration_rows": calibration_rows,
        "figures": _figures(run_dir, files, MODEL_TITLES.get(featured, featured)),
        **_model_sections(run_dir, run, files, models, titles),
        "run": run,
        "files": [(f, os.path.getsize(os.path.join(run_dir, f))) for f in files],
    }


def render_report(run_dir):
    """The page of a run folder, as one HTML string (images embedded).

    Args:
        run_dir: a folder written by ``kerasx malaria``.

    Returns:
        The HTML text.

    Raises:
        FileNotFoundError, ValueError: as :func:`load_run`.
    """
    from importlib import resources

    import jinja2

    template = (resources.files("kerasx.commands") / "templates" / "report.html.j2").read_text(
        encoding="utf-8"
    )
    environment = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    return environment.from_string(template).render(**_context(run_dir))


def write_report(run_dir, path=None):
    """Writes the page of ``run_dir`` (whole: temporary file, then ``os.replace``).

    Args:
        run_dir: a folder written by ``kerasx malaria``.
        path: where to write; default ``run_dir/report.html``.

    Returns:
        The path written.
    """
    from kerasx._io import write_text

    path = os.path.join(run_dir, REPORT_FILE) if path is None else path
    write_text(path, render_report(run_dir))
    return path
