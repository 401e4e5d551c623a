"""What a run folder records, and the rule that two different runs never share one.

``run.json`` holds the whole :class:`~kerasx.malaria.MalariaConfig`, a fingerprint of the data
(:func:`data_fingerprint`) and the split's membership (:func:`split_record`). Before a run
writes anything to a folder that holds another run's files, :func:`check_folder` compares them:
a different model, split, seed, image size, data folder or data content stops the run with one
line (:class:`RunMismatch`) and leaves every file as it was; settings that only extend training
(``epochs``, ``patience``) continue it, and say so.

``metrics.json`` has one schema, written by :func:`metrics_document` and read back by
:func:`read_metrics`; its ``schema`` field says which version wrote it.

This module imports neither Keras nor TensorFlow.

>>> from kerasx.malaria.config import MalariaConfig
>>> data_fingerprint(MalariaConfig(data="synthetic"))["kind"]
'synthetic'
"""

import dataclasses
import hashlib
import json
import os
import shutil

import numpy as np

from kerasx import _io
from kerasx._validation import InvalidArgument

__all__ = [
    "BACKUP_DIR",
    "METRICS_SCHEMA",
    "RUN_FILES",
    "RunMismatch",
    "SplitLeak",
    "audit_run",
    "check_folder",
    "check_split",
    "clear_folder",
    "data_fingerprint",
    "metrics_document",
    "read_metrics",
    "read_run",
    "run_identity",
    "split_record",
]

#: Folder under the output folder where each model's training is backed up until it ends.
BACKUP_DIR = "backup"
#: The version of metrics.json's layout (1: before it had a ``schema`` field; 3: intervals,
#: the comparison with the baseline, patients, operating point and conformal sets per model).
METRICS_SCHEMA = 3
#: Files (besides :data:`BACKUP_DIR`) that belong to a run; any of them marks a folder as used.
RUN_FILES = (
    "run.json", "metrics.json", "history.csv", "history_mlp.csv", "history_cnn.csv",
    "summary.txt", "report.html", "model.keras", "model.h5", "cnn.keras", "confusion_matrix.png",
    "roc.png", "calibration.png", "errors.png", "gradcam.png", "curves_mlp.png", "curves_cnn.png",
)  # fmt: skip


class SplitLeak(InvalidArgument):
    """The split audit found what an honest evaluation must not have: byte-identical images on
    both sides, or patients on both sides of a split meant to keep them apart."""


class RunMismatch(InvalidArgument):
    """The output folder holds a run with other settings or other data: it is not resumed.

    The message names each setting that differs, as ``--out run1 holds a run with seed=0, this
    one has seed=1``; the hint says how to go on (another ``--out``, or ``--restart``).
    """


def _digest(value):
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def _relative(folder, files):
    return [os.path.relpath(file, folder) for file in files]


def data_fingerprint(config):
    """What identifies a run's data: the kind, and for a folder its files' names and sizes.

    Cheap (no image is decoded), so it is checked before any data loads. For a folder: the
    number of PNGs of both classes and a SHA-256 of their sorted names below the folder with
    their sizes (the whole folder: which of them a run uses is set by ``fraction``, ``seed``
    and ``split``, checked as settings); the same for ``test_data``. TFDS and the synthetic
    images are named (their content is pinned by :func:`split_record` once loaded).

    Args:
        config: a :class:`~kerasx.malaria.MalariaConfig`.

    Returns:
        A JSON-ready dict.
    """
    fingerprint = {"kind": config.data if config.data in ("tfds", "synthetic") else "folder"}
    folders = {"data": config.data, "test_data": config.test_data}
    for key, folder in folders.items():
        if folder is None or folder in ("tfds", "synthetic"):
            continue
        from kerasx.data import split_files

        train, test = split_files(folder, fraction=1.0, split="cell")
        files = sorted(_relative(folder, train + test))
        sizes = [os.path.getsize(os.path.join(folder, name)) for name in files]
        fingerprint[key] = {"files": len(files), "sha256": _digest([files, sizes])}
    return fingerprint


def split_record(config, split, rows):
    """Who is on each side: the training, validation and test patients (or rows), on record.

    For data with patients (a folder) each side lists its patients and counts its rows, and
    ``patients_on_two_sides`` counts the patients found on more than one side (0 for a patient
    split, by construction: anyone can check it from run.json alone). TFDS and the synthetic
    images have no patients: their validation and test sides list row numbers instead (rows of
    the loaded training arrays, and of the test arrays). ``test_sha256`` pins the test rows, so
    a resumed run can tell that its data did not change.

    Args:
        config: the run's :class:`~kerasx.malaria.MalariaConfig`.
        split: the :class:`~kerasx.malaria.train.Split` at ``config.image_size``.
        rows: the :class:`~kerasx.malaria.train.Rows` the networks fit and validate on.

    Returns:
        A JSON-ready dict.
    """
    import numpy as np

    from kerasx.data import scale_images

    digest = hashlib.sha256(np.ascontiguousarray(split.y_test).tobytes())
    # The float32 bytes the models see, as before images stayed 8-bit: folders of earlier runs
    # keep their digest. In chunks, without a float copy of the whole test side.
    for start in range(0, len(split.x_test), 256):
        chunk = split.x_test[start : start + 256]
        chunk = scale_images(chunk) if chunk.dtype == np.uint8 else np.ascontiguousarray(chunk)
        digest.update(chunk.tobytes())
    record = {
        "validation": "held-out patients" if rows.by_patient else "last rows of the training side",
        "test_sha256": digest.hexdigest(),
    }
    groups = {
        "train": split.groups_train[rows.fit],
        "validation": split.groups_train[rows.validation],
        "test": split.groups_test,
    }
    if config.data in ("tfds", "synthetic"):
        record["sides"] = {
            "train": {"rows": len(rows.fit)},
            "validation": {"rows": len(rows.validation), "row_numbers": rows.validation.tolist()},
            "test": {"rows": len(split.y_test), "row_numbers": list(range(len(split.y_test)))},
        }
        return record
    patients = {side: sorted({str(g) for g in values}) for side, values in groups.items()}
    record["sides"] = {
        side: {"rows": len(groups[side]), "n_patients": len(names), "patients": names}
        for side, names in patients.items()
    }
    counts = {}
    for names in patients.values():
        for name in names:
            counts[name] = counts.get(name, 0) + 1
    record["patients_on_two_sides"] = sum(1 for count in counts.values() if count > 1)
    return record


def _audited_sides(config, split):
    """The two sides the audit compares: file lists for a folder, else the loaded arrays."""
    from kerasx.data import split_files

    if config.data in ("tfds", "synthetic"):
        return split.x_train, split.x_test
    train, test = split_files(
        config.data, fraction=config.fraction, seed=config.seed, split=config.split
    )
    if config.test_data is None:
        return train, test
    external, rest = split_files(config.test_data, fraction=1.0, split="cell")
    return train + test, external + rest


def audit_run(config, split):
    """Audits the run's split (:func:`kerasx.data.audit_split`) and decides whether it may train.

    Byte-identical images on both sides always stop the run; patients on both sides stop it
    when the split is meant to keep them apart (``split="patient"``, or ``test_data``); a cell
    split has them by design, and says so in every output. ``allow_overlap`` trains anyway.

    Args:
        config: the run's :class:`~kerasx.malaria.MalariaConfig`.
        split: the :class:`~kerasx.malaria.train.Split` at ``config.image_size`` (the arrays are
            audited for TFDS and the synthetic images, which have no files).

    Returns:
        run.json's ``audit`` entry: the counts, the threshold and the first near-duplicates.

    Raises:
        SplitLeak: a finding that stops the run, unless ``config.allow_overlap``.
    """
    from kerasx.data import audit_split

    audit = audit_split(*_audited_sides(config, split))
    apart = config.split == "patient" or config.test_data is not None
    shared = len(audit.shared_patients or ())
    stop = []
    if audit.exact_duplicates:
        pair = audit.exact_duplicates[0]
        stop.append(
            f"{len(audit.exact_duplicates)} identical image(s) on both sides (e.g. train "
            f"{_short(pair.train)} = test {_short(pair.test)})"
        )
    if apart and shared:
        patient = audit.shared_patients[0].patient
        stop.append(f"{shared} patient(s) on both sides (e.g. {patient})")
    if stop and not config.allow_overlap:
        raise SplitLeak(
            f"The split audit found {' and '.join(stop)}: its scores would not be those of "
            "unseen cells.",
            hint="Remove the copies, or use --allow-overlap to train anyway.",
        )
    return {
        "near_distance": audit.near_distance,
        "shared_patients": None if audit.shared_patients is None else shared,
        "exact_duplicates": len(audit.exact_duplicates),
        "near_duplicates": len(audit.near_duplicates),
        "near_pairs": [
            [_short(pair.train), _short(pair.test), int(pair.distance)]
            for pair in audit.near_duplicates[:20]
        ],
        "allowed": bool(stop),
    }


def _short(item):
    return os.path.basename(item) if isinstance(item, str) else int(item)


def run_identity(config, fingerprint):
    """A short digest of what makes a run this run (its identifying settings and its data).

    metrics.json and run.json both carry it, so ``kerasx report`` can tell whether the files of
    a folder come from one run.
    """
    fields = {name: value for name, value in config.to_dict().items() if name in _identifying()}
    return _digest([fields, fingerprint])[:16]


def _identifying():
    from kerasx.malaria.config import MalariaConfig

    return {f.name for f in dataclasses.fields(MalariaConfig) if f.metadata["role"] == "identifies"}


def read_run(out):
    """run.json of folder ``out`` as a dict, ``{}`` when there is none.

    Raises:
        kerasx.InvalidArgument: run.json is not JSON.
    """
    path = os.path.join(out, "run.json")
    try:
        return _io.read_json(path, default={})
    except json.JSONDecodeError as error:
        raise InvalidArgument(f"{path!r} is not valid JSON ({error})") from None


def _used(out):
    """The run files (and backup) present in ``out``."""
    if not os.path.isdir(out):
        return []
    present = [name for name in RUN_FILES if os.path.exists(os.path.join(out, name))]
    if os.path.isdir(os.path.join(out, BACKUP_DIR)):
        present.append(BACKUP_DIR)
    return present


_HINT = "Use another --out, or --restart to start over in it."


def _say(differences):
    return (
        ", ".join(f"{name}={old!r}" for name, old, _ in differences),
        ", ".join(f"{name}={new!r}" for name, _, new in differences),
    )


def check_folder(config, out, fingerprint):
    """Whether a run of ``config`` may write to ``out``; raises before anything is written.

    Args:
        config: the run's :class:`~kerasx.malaria.MalariaConfig`.
        out: the output folder.
        fingerprint: :func:`data_fingerprint` of ``config``.

    Returns:
        ``None`` for an unused folder, else ``(previous run.json, notes)``: ``notes`` are the
        settings that only extend training (e.g. ``["epochs 10 -> 20"]``), which the caller
        says in one line.

    Raises:
        RunMismatch: the folder holds files of a run with other identifying settings, other
            data, or no record of its settings (an earlier kerasx, or an unknown folder).
    """
    from kerasx.malaria.config import MalariaConfig

    used = _used(out)
    if not used:
        return None
    previous = read_run(out)
    if "config" not in previous:
        raise RunMismatch(
            f"--out {out} holds files of a run ({', '.join(used[:3])}) with no record of its "
            "settings, so resuming it could mix two runs.",
            hint=_HINT,
        )
    recorded, now = previous["config"], config.to_dict()
    roles = {field.name: field.metadata["role"] for field in dataclasses.fields(MalariaConfig)}

    def differing(role):
        return [
            (name, recorded.get(name), now[name])
            for name in roles
            if roles[name] == role and recorded.get(name) != now[name]
        ]

    differences = differing("identifies")
    if previous.get("data") != fingerprint:
        differences.append(("data", _data_words(previous.get("data")), _data_words(fingerprint)))
    if differences:
        before, now = _say(differences)
        raise RunMismatch(f"--out {out} holds a run with {before}, this one has {now}.", hint=_HINT)
    notes = [f"{name} {old!r} -> {new!r}" for name, old, new in differing("extends")]
    return previous, notes


def _data_words(fingerprint):
    if not isinstance(fingerprint, dict):
        return "unrecorded data"
    if fingerprint.get("kind") != "folder":
        return fingerprint.get("kind")
    data = fingerprint.get("data", {})
    return f"a folder of {data.get('files')} images (sha256 {str(data.get('sha256'))[:12]})"


def check_split(previous, split):
    """Raises :class:`RunMismatch` when a resumed run's rows are not the recorded ones."""
    recorded = previous.get("split")
    if recorded and recorded.get("test_sha256") != split.get("test_sha256"):
        raise RunMismatch(
            f"the test rows differ from those of the run recorded in run.json "
            f"({recorded.get('n_test')} rows, now {split.get('n_test')}): the data changed.",
            hint=_HINT,
        )


def clear_folder(out):
    """Removes every run file and the backup from ``out`` (``--restart``); other files stay."""
    for name in _used(out):
        path = os.path.join(out, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


def metrics_document(*, identity, data, settings, results):
    """metrics.json's content: the one place its layout is defined.

    Args:
        identity: :func:`run_identity`.
        data: the data entry (source, split, evaluation, row counts).
        settings: the training settings and the backend.
        results: ``{model name: entry}`` (scores, training facts, calibration).

    Returns:
        The dict to write: ``schema``, ``run``, ``data``, ``settings`` and one entry per model.
    """
    return _json_safe(
        {"schema": METRICS_SCHEMA, "run": identity, "data": data, "settings": settings, **results}
    )


def _json_safe(value):
    """NaN (e.g. ROC AUC on one class) as ``null``: metrics.json stays strict JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    if isinstance(value, float) and value != value:
        return None
    return value


def read_metrics(path):
    """metrics.json as written by :func:`metrics_document` (or by a kerasx before ``schema``).

    Raises:
        FileNotFoundError: no such file.
        kerasx.InvalidArgument: not JSON, not a run's metrics, or a newer schema than this
            kerasx reads.
    """
    with open(path, encoding="utf-8") as file:
        try:
            metrics = json.load(file)
        except json.JSONDecodeError as error:
            raise InvalidArgument(f"{path!r} is not valid JSON ({error})") from None
    if not isinstance(metrics, dict) or not isinstance(metrics.get("data"), dict):
        raise InvalidArgument(
            f"{path!r} is not a `kerasx malaria` metrics.json (it has no 'data' entry)"
        )
    if metrics.get("schema", 1) > METRICS_SCHEMA:
        raise InvalidArgument(
            f"{path!r} has schema {metrics['schema']}; this kerasx reads up to "
            f"{METRICS_SCHEMA}. Update kerasx."
        )
    return metrics


def write_json(out, name, document):
    """Writes ``document`` to ``out/name`` whole."""
    _io.write_json(os.path.join(out, name), document)
