"""Helpers shared by the modules that check labels and scores and write figures.

Figures are drawn on a bare ``matplotlib.figure.Figure`` (no ``pyplot``, so no global state and
no display needed) and written whole: to a temporary file in the target folder, then moved over
the target with ``os.replace``, so a reader never sees half a PNG.

>>> y, p = labels_and_scores([0, 1], [[0.2], [0.9]])
>>> y.tolist(), p.tolist()
([0, 1], [0.2, 0.9])
"""

import os

import numpy as np

from kerasx import _io
from kerasx._validation import invalid_value

__all__ = ["labels_and_scores", "name_classes", "new_figure", "save_figure"]


def labels_and_scores(y_true, scores):
    """Checks and returns ``(labels, scores)`` as NumPy arrays.

    Args:
        y_true: class labels, shape ``(n,)`` or ``(n, 1)``: 0/1 for binary scores, integers in
            ``[0, C)`` for ``C`` score columns.
        scores: predicted probabilities: of the positive class, shape ``(n,)`` or ``(n, 1)``,
            or of each class, shape ``(n, C)`` with ``C >= 2``.

    Returns:
        ``(labels, scores)``: int64 ``(n,)`` and float64 ``(n,)`` (binary) or ``(n, C)``.

    Raises:
        ValueError: shapes that do not fit, labels out of range, scores outside [0, 1].
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if scores.ndim not in (1, 2) or scores.shape[0] == 0:
        raise invalid_value("scores.shape", "(n,), (n, 1) or (n, C) with n >= 1", scores.shape)
    if not np.all((scores >= 0) & (scores <= 1)):
        bad = scores[~((scores >= 0) & (scores <= 1))].flat[0]
        raise invalid_value("scores", "probabilities in [0, 1]", float(bad))
    labels = np.asarray(y_true)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.shape != scores.shape[:1]:
        raise invalid_value("y_true.shape", f"({scores.shape[0]},) to match scores", labels.shape)
    num_classes = 2 if scores.ndim == 1 else scores.shape[1]
    valid = np.isin(labels, np.arange(num_classes))
    if not np.all(valid):
        expected = f"class labels (integers) in [0, {num_classes})"
        raise invalid_value("y_true", expected, labels[~valid][0].item())
    return labels.astype(np.int64), scores


def name_classes(names, num_classes):
    """One display name per class: ``names`` as strings, or the class numbers when ``None``.

    >>> name_classes(None, 2), name_classes(("uninfected", "parasitized"), 2)
    (['0', '1'], ['uninfected', 'parasitized'])

    Raises:
        ValueError: ``names`` does not hold ``num_classes`` names.
    """
    if names is None:
        return [str(cls) for cls in range(num_classes)]
    if isinstance(names, str) or not hasattr(names, "__len__"):
        raise invalid_value("class_names", f"a sequence of {num_classes} names", names)
    out = [str(name) for name in names]
    if len(out) != num_classes:
        raise invalid_value("class_names", f"{num_classes} names", tuple(names))
    return out


def new_figure(width, height):
    """A new matplotlib ``Figure`` of ``width`` × ``height`` inches, not tied to any display."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def save_figure(figure, path, dpi=100):
    """Writes ``figure`` to ``path`` as PNG, whole: a temporary file, then ``os.replace``.

    Args:
        figure: a matplotlib ``Figure``.
        path: the PNG file to write (its folder is created if needed).
        dpi: resolution in dots per inch.

    Returns:
        ``path``.
    """
    path = os.fspath(path)
    with _io.atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=dpi)
    return path
