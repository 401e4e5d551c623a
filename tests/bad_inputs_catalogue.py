"""The bad-input catalogue: every public entry point, what it rejects, and the message.

One source for two things: ``tests/test_bad_inputs.py`` drives each row, and
``docs/bad-inputs.md`` is rendered from the same rows (a test checks that the page on disk is
the rendering; run ``python tests/bad_inputs_catalogue.py > docs/bad-inputs.md`` after an edit).

A row is either a Python call (``call(ctx)``) or a command line (``argv``). ``message`` is a
literal part of the error message the row expects; the page shows it as it is.
"""

import dataclasses
import errno
import os
import sys
from collections.abc import Callable

import numpy as np

from kerasx.malaria import RunMismatch

# --------------------------------------------------------------------------------------------
# The rows


@dataclasses.dataclass(frozen=True)
class Row:
    """One bad input of one entry point.

    Attributes:
        entry: the public name (``kerasx.losses.binary_nll``) or the command option
            (``kerasx malaria --epochs``).
        rejects: the bad input, in words.
        message: a literal part of the message (the page shows it).
        raises: the exception type a Python call raises (commands exit with status 2).
        call: for a Python entry point, ``call(ctx)`` makes the bad call.
        argv: for a command, its arguments; ``{inp}`` and ``{out}`` are replaced by the row's
            input folder and output folder.
        setup: ``setup(ctx)`` before the call: makes inputs, or simulates a full disk or a
            read-only folder (with ``ctx.monkeypatch``).
        xfail: the reason, while the row fails (the test is a strict xfail).
        xfail_raises: the exception that the strict xfail expects.
    """

    entry: str
    rejects: str
    message: str
    raises: type = ValueError
    call: Callable | None = None
    argv: tuple = ()
    setup: Callable | None = None
    xfail: str | None = None
    xfail_raises: type = AssertionError

    @property
    def id(self):
        words = "".join(c if c.isalnum() else "-" for c in self.rejects.lower())
        return f"{self.entry.replace('kerasx ', '').replace('kerasx.', '')}:{words}"[:90]

    @property
    def command(self):
        """The command's name for a command row, else None."""
        return self.entry.split()[1] if self.entry.startswith("kerasx ") else None


@dataclasses.dataclass
class Context:
    """What a row's call sees: an input folder, an output folder, and pytest's monkeypatch."""

    inp: str
    out: str
    monkeypatch: object = None


# --------------------------------------------------------------------------------------------
# Inputs the rows share (all tiny; built in the row's own temporary folder)


def _xy(n=8, features=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, features)).astype("float32")
    return X, (np.arange(n) % 2).astype("float32")


def _png_bytes(value, size=8):
    import tensorflow as tf

    return tf.io.encode_png(np.full((size, size, 3), value, np.uint8)).numpy()


def nih_folder(ctx, *, corrupt=False, layout=True, per_class=6, name="cells"):
    """A folder in the NIH layout (``Parasitized/``, ``Uninfected/``) with tiny PNGs.

    Args:
        ctx: the row's context; the folder is made under ``ctx.inp``.
        corrupt: add ``Parasitized/C9P9_IMG_corrupt.png`` holding bytes that are no PNG.
        layout: False puts the PNGs directly in the folder (the wrong layout).
        per_class: PNGs per class, from 3 patients.
        name: the folder's name.
    """
    root = os.path.join(ctx.inp, name)
    for label, value in (("Parasitized", 200), ("Uninfected", 40)):
        folder = os.path.join(root, label) if layout else root
        os.makedirs(folder, exist_ok=True)
        for i in range(per_class):
            file = os.path.join(folder, f"C{i % 3}P{i % 3}_IMG_{label}_cell_{i}.png")
            with open(file, "wb") as f:
                f.write(_png_bytes(value + i))
    if corrupt:
        with open(os.path.join(root, "Parasitized", "C9P9_IMG_corrupt.png"), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n this is not an image")
    return root


def plain_folder(ctx, per_class=4):
    """A folder in the NIH layout whose PNGs have no NIH names (``cell_0.png``): no patients."""
    root = os.path.join(ctx.inp, "plain")
    for label, value in (("Parasitized", 200), ("Uninfected", 40)):
        os.makedirs(os.path.join(root, label), exist_ok=True)
        for i in range(per_class):
            with open(os.path.join(root, label, f"cell_{i}.png"), "wb") as f:
                f.write(_png_bytes(value + i))
    return root


def _file(ctx, name="file.txt", text="not a folder"):
    path = os.path.join(ctx.inp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def _dense_model():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    return model


def _flat_model():
    import keras

    inputs = keras.Input((4, 4, 3))
    x = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))


def _cnn():
    import keras

    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(2, 3, name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    return model


def _fit(callbacks, ctx, X=None, y=None):
    X, y = _xy() if X is None else (X, y)
    _dense_model().fit(X, y, epochs=1, batch_size=4, verbose=0, callbacks=callbacks)


def full_disk(ctx):
    """Simulates a full disk: every write through ``kerasx._io`` fails midway with ENOSPC.

    ``write_bytes`` gets half its bytes out and the rest raises; a library writing to an
    ``atomic_path`` (savefig, to_csv, ``model.save``) writes its file, then ENOSPC is raised
    before the replace, as a write-back error of a full disk would be. The temporary file is
    on disk when the error comes: the test checks that nothing of it is left.
    """
    from kerasx import _io

    real_atomic_path = _io.atomic_path

    def no_space(what):
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), what)

    import contextlib

    @contextlib.contextmanager
    def atomic_path(path):
        with real_atomic_path(path) as temporary:
            yield temporary
            raise no_space(os.fspath(path))

    def write_bytes(path, data):
        with real_atomic_path(path) as temporary, open(temporary, "wb") as f:
            f.write(data[: len(data) // 2])
            f.flush()
            raise no_space(os.fspath(path))

    ctx.monkeypatch.setattr(_io, "atomic_path", atomic_path)
    ctx.monkeypatch.setattr(_io, "write_bytes", write_bytes)
    import kerasx.data

    real_save = np.save

    def save(file, array, *args, **kwargs):
        real_save(file, array[: len(array) // 2], *args, **kwargs)
        raise no_space(os.fspath(file))

    ctx.monkeypatch.setattr(kerasx.data.cache.np, "save", save)


def read_only(ctx):
    """Makes ``ctx.out`` a read-only folder (mode 0o555).

    Root ignores the mode, so as root the refusal is simulated: ``os.access`` says no for the
    folder, and creating a file in it raises ``PermissionError`` (EACCES), as it would for
    any other user.
    """
    import tempfile

    os.makedirs(ctx.out, exist_ok=True)
    os.chmod(ctx.out, 0o555)
    if os.geteuid() != 0:
        return
    folder = os.path.realpath(ctx.out)

    def inside(path):
        path = os.path.realpath(os.fspath(path))
        return path == folder or path.startswith(folder + os.sep)

    def denied(path):
        return PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))

    real_access, real_mkstemp, real_open = os.access, tempfile.mkstemp, os.open

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK and inside(path):
            return False
        return real_access(path, mode, *args, **kwargs)

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and inside(dir):
            raise denied(os.path.join(dir, "tmp"))
        return real_mkstemp(*args, dir=dir, **kwargs)

    def os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and inside(os.path.dirname(path)):
            raise denied(path)
        return real_open(path, flags, *args, **kwargs)

    ctx.monkeypatch.setattr(os, "access", access)
    ctx.monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    ctx.monkeypatch.setattr(os, "open", os_open)


def _existing_out(ctx):
    os.makedirs(os.path.dirname(ctx.out), exist_ok=True)
    with open(ctx.out, "w") as f:
        f.write("a file where the output folder should be")


def _run_folder(ctx):
    """A whole run folder, as ``kerasx malaria`` writes it (without its figures)."""
    from test_report import make_run_folder

    make_run_folder(ctx.out, images=())


def _metrics_run_folder(ctx):
    """A run folder with the metrics.json and run.json that ``kerasx report`` reads."""
    import json

    os.makedirs(ctx.out, exist_ok=True)
    with open(os.path.join(ctx.out, "metrics.json"), "w") as f:
        json.dump({"models": {}}, f)


# --------------------------------------------------------------------------------------------
# Python entry points

NAN = float("nan")
INF = float("inf")


def _bp():
    from kerasx import backprop

    return backprop


def _losses():
    from kerasx import losses

    return losses


def _metrics():
    from kerasx import metrics

    return metrics


def _callbacks():
    from kerasx import callbacks

    return callbacks


def _data():
    from kerasx import data

    return data


def _recipes():
    from kerasx import recipes

    return recipes


def _explain():
    from kerasx import explain

    return explain


def _distribution():
    from kerasx import distribution

    return distribution


_DIST = "KERAS_DISTRIBUTION_"


def _dist_env(**values):
    env = {f"{_DIST}JOB_ADDRESSES": "localhost:1234", f"{_DIST}NUM_PROCESSES": "2"}
    env[f"{_DIST}PROCESS_ID"] = "0"
    env.update({f"{_DIST}{key.upper()}": value for key, value in values.items()})
    return env


def _calibration():
    from kerasx import calibration

    return calibration


def _tuning():
    from kerasx import tuning

    return tuning


def _malaria():
    from kerasx import malaria

    return malaria


def _x3():
    return np.ones((4, 3))


BACKPROP = [
    Row(
        "kerasx.backprop.MLP",
        "weights and biases of different layer counts",
        "Invalid value for argument `biases`. Expected 2 bias vectors (one per layer).",
        call=lambda ctx: _bp().MLP([np.ones((3, 2)), np.ones((2, 1))], [np.ones(2)]),
    ),
    Row(
        "kerasx.backprop.MLP",
        "negative l2",
        "Invalid value for argument `l2`. Expected a float >= 0. Received: l2=-1.0",
        call=lambda ctx: _bp().MLP([np.ones((3, 1))], [np.ones(1)], l2=-1.0),
    ),
    Row(
        "kerasx.backprop.backward",
        "y of another length than X",
        "Invalid value for argument `y`. Expected as many rows as X (4).",
        call=lambda ctx: _bp().backward(_x3(), np.ones(3), np.ones(4)),
    ),
    Row(
        "kerasx.backprop.forward",
        "beta of the wrong shape",
        "Invalid value for argument `beta`. Expected a vector of length 3 (one weight per column of X).",
        call=lambda ctx: _bp().forward(_x3(), np.ones(4), np.ones(5)),
    ),
    Row(
        "kerasx.backprop.forward",
        "NaN in X",
        "Invalid value for argument `X`. Expected finite values (no NaN or inf).",
        call=lambda ctx: _bp().forward(np.full((4, 3), NAN), np.ones(4), np.ones(3)),
    ),
    Row(
        "kerasx.backprop.gradient_descent",
        "a negative learning rate",
        "Invalid value for argument `alpha`. Expected a float > 0. Received: alpha=-0.1",
        call=lambda ctx: _bp().gradient_descent(-0.1, np.ones(3), np.ones(3)),
    ),
    Row(
        "kerasx.backprop.lr_nn",
        "zero epochs",
        "Invalid value for argument `epochs`. Expected an integer >= 1. Received: epochs=0",
        call=lambda ctx: _bp().lr_nn(_x3(), np.ones(4), 0, alpha=0.1),
    ),
    Row(
        "kerasx.backprop.lr_nn",
        "empty X",
        "Invalid value for argument `X`. Expected a non-empty 2-D array.",
        call=lambda ctx: _bp().lr_nn(np.ones((0, 3)), np.ones(0), 1, alpha=0.1),
    ),
    Row(
        "kerasx.backprop.numerical_gradient",
        "eps = 0",
        "Invalid value for argument `eps`. Expected a float > 0. Received: eps=0",
        call=lambda ctx: _bp().numerical_gradient(np.sum, np.ones(3), eps=0),
    ),
    Row(
        "kerasx.backprop.optimize",
        "a NaN learning rate",
        "Invalid value for argument `alpha`. Expected a float > 0. Received: alpha=nan",
        call=lambda ctx: _bp().optimize(_x3(), np.ones(4), np.ones(3), NAN),
    ),
    Row(
        "kerasx.backprop.sigmoid",
        "text instead of numbers",
        "could not convert string to float",
        call=lambda ctx: _bp().sigmoid(np.array(["a", "b"])),
    ),
    Row(
        "kerasx.backprop.simulate_logistic",
        "n = 0",
        "Invalid value for argument `n`. Expected an integer >= 1. Received: n=0",
        call=lambda ctx: _bp().simulate_logistic(n=0),
    ),
    Row(
        "kerasx.backprop.simulate_logistic",
        "inf in X",
        "Invalid value for argument `X`. Expected finite values (no NaN or inf).",
        call=lambda ctx: _bp().simulate_logistic(X=np.full((4, 1), INF)),
    ),
]

LOSSES = [
    Row(
        "kerasx.losses.BinaryNLL",
        "an unknown reduction",
        "Invalid value for argument `reduction`. Expected one of",
        call=lambda ctx: _losses().BinaryNLL(reduction="average"),
    ),
    Row(
        "kerasx.losses.PolyLoss",
        "an unknown mode",
        "Invalid value for argument `mode`. Expected one of ('binary', 'categorical', 'sparse_categorical'). Received: mode='multilabel'",
        call=lambda ctx: _losses().PolyLoss(mode="multilabel"),
    ),
    Row(
        "kerasx.losses.PolyLoss",
        "a NaN epsilon",
        "Invalid value for argument `epsilon`. Expected a float in [-1, inf). Received: epsilon=nan",
        call=lambda ctx: _losses().PolyLoss(epsilon=NAN),
    ),
    Row(
        "kerasx.losses.SoftFBetaLoss",
        "beta = 0",
        "Invalid value for argument `beta`. Expected a float > 0. Received: beta=0",
        call=lambda ctx: _losses().SoftFBetaLoss(beta=0),
    ),
    Row(
        "kerasx.losses.WeightedKappaLoss",
        "one class",
        "Invalid value for argument `num_classes`. Expected an integer >= 2. Received: num_classes=1",
        call=lambda ctx: _losses().WeightedKappaLoss(num_classes=1),
    ),
    Row(
        "kerasx.losses.WeightedKappaLoss",
        "unknown weights",
        "Invalid value for argument `weights`. Expected one of ('linear', 'quadratic'). Received: weights='cubic'",
        call=lambda ctx: _losses().WeightedKappaLoss(num_classes=3, weights="cubic"),
    ),
    Row(
        "kerasx.losses.binary_nll",
        "y_true and y_pred of different shapes",
        "Invalid value for argument `y_true.shape`. Expected a shape of (3, 1). Received: y_true.shape=(4, 1)",
        call=lambda ctx: _losses().binary_nll(np.ones((4, 1)), np.full((3, 1), 0.5)),
    ),
    Row(
        "kerasx.losses.binary_nll",
        "text as y_pred (wrong dtype)",
        "Invalid value for argument `y_pred`. Expected a float, integer or bool tensor. Received: y_pred=string",
        call=lambda ctx: _losses().binary_nll(np.ones((1, 1)), np.array([["0.5"]])),
    ),
    Row(
        "kerasx.losses.poly1_crossentropy",
        "an unknown mode",
        "Invalid value for argument `mode`. Expected one of ('binary', 'categorical', 'sparse_categorical'). Received: mode='ranking'",
        call=lambda ctx: _losses().poly1_crossentropy(
            np.ones((2, 2)), np.full((2, 2), 0.5), mode="ranking"
        ),
    ),
    Row(
        "kerasx.losses.soft_fbeta",
        "a negative beta",
        "Invalid value for argument `beta`. Expected a float > 0. Received: beta=-1.0",
        call=lambda ctx: _losses().soft_fbeta(np.ones((2, 1)), np.full((2, 1), 0.5), beta=-1.0),
    ),
    Row(
        "kerasx.losses.weighted_kappa",
        "num_classes = 0",
        "Invalid value for argument `num_classes`. Expected an integer >= 2. Received: num_classes=0",
        call=lambda ctx: _losses().weighted_kappa(
            np.ones((2, 2)), np.full((2, 2), 0.5), num_classes=0
        ),
    ),
]

METRICS = [
    Row(
        "kerasx.metrics.BalancedAccuracy",
        "one class",
        "Invalid value for argument `num_classes`. Expected an integer >= 2. Received: num_classes=1",
        call=lambda ctx: _metrics().BalancedAccuracy(num_classes=1),
    ),
    Row(
        "kerasx.metrics.BalancedAccuracy",
        "y_true and y_pred of different lengths",
        "Invalid value for argument `y_true.shape`. Expected a batch size of 3. Received: y_true.shape=(4,)",
        call=lambda ctx: _metrics().BalancedAccuracy().update_state(np.ones(4), np.ones(3)),
    ),
    Row(
        "kerasx.metrics.BrierScore",
        "from_logits that is not a bool",
        "Invalid value for argument `from_logits`. Expected one of (False, True). Received: from_logits='yes'",
        call=lambda ctx: _metrics().BrierScore(from_logits="yes"),
    ),
    Row(
        "kerasx.metrics.CohenKappa",
        "unknown weights",
        "Invalid value for argument `weights`. Expected one of (None, 'linear', 'quadratic'). Received: weights='cubic'",
        call=lambda ctx: _metrics().CohenKappa(weights="cubic"),
    ),
    Row(
        "kerasx.metrics.ConfusionMatrix",
        "a threshold above 1",
        "Invalid value for argument `threshold`. Expected a float in [0, 1]. Received: threshold=1.5",
        call=lambda ctx: _metrics().ConfusionMatrix(threshold=1.5),
    ),
    Row(
        "kerasx.metrics.ExpectedCalibrationError",
        "zero bins",
        "Invalid value for argument `n_bins`. Expected an integer >= 1. Received: n_bins=0",
        call=lambda ctx: _metrics().ExpectedCalibrationError(n_bins=0),
    ),
    Row(
        "kerasx.metrics.MatthewsCorrelation",
        "a NaN threshold",
        "Invalid value for argument `threshold`. Expected a float in [0, 1]. Received: threshold=nan",
        call=lambda ctx: _metrics().MatthewsCorrelation(threshold=NAN),
    ),
    Row(
        "kerasx.metrics.Sensitivity",
        "a negative threshold",
        "Invalid value for argument `threshold`. Expected a float in [0, 1]. Received: threshold=-0.1",
        call=lambda ctx: _metrics().Sensitivity(threshold=-0.1),
    ),
    Row(
        "kerasx.metrics.Sensitivity",
        "a NaN score",
        "Invalid value for argument `y_pred`. Expected scores without NaN. Received: y_pred=nan",
        call=lambda ctx: (
            _metrics().Sensitivity().update_state(np.array([0.0, 1.0]), np.array([NAN, 0.9]))
        ),
    ),
    Row(
        "kerasx.metrics.Specificity",
        "a threshold that is text",
        "Invalid value for argument `threshold`. Expected a float in [0, 1]. Received: threshold='0.5'",
        call=lambda ctx: _metrics().Specificity(threshold="0.5"),
    ),
]

REGULARIZERS = [
    Row(
        "kerasx.regularizers.L2",
        "a negative factor",
        "Invalid value for argument `l2`. Expected a float >= 0. Received: l2=-0.01",
        call=lambda ctx: __import__("kerasx.regularizers").regularizers.L2(-0.01),
    ),
    Row(
        "kerasx.regularizers.ElasticNet",
        "l1_ratio above 1",
        "Invalid value for argument `l1_ratio`. Expected a float in [0, 1]. Received: l1_ratio=1.5",
        call=lambda ctx: __import__("kerasx.regularizers").regularizers.ElasticNet(l1_ratio=1.5),
    ),
    Row(
        "kerasx.regularizers.ElasticNet",
        "a negative alpha",
        "Invalid value for argument `alpha`. Expected a float >= 0. Received: alpha=-1.0",
        call=lambda ctx: __import__("kerasx.regularizers").regularizers.ElasticNet(alpha=-1.0),
    ),
    Row(
        "kerasx.regularizers.GroupLasso",
        "an infinite strength",
        "Invalid value for argument `strength`. Expected a float >= 0. Received: strength=inf",
        call=lambda ctx: __import__("kerasx.regularizers").regularizers.GroupLasso(strength=INF),
    ),
]


def _tape_from_unbuilt(ctx):
    import keras

    from kerasx.training import TapeModel

    TapeModel.from_model(keras.Sequential([keras.layers.Dense(1)]))


TRAINING = [
    Row(
        "kerasx.training.TapeModel",
        "an unbuilt Sequential model (from_model)",
        "Invalid value for argument `model`. Expected a functional or built Sequential model with symbolic `inputs` and `outputs`",
        call=_tape_from_unbuilt,
    ),
]


def _keras_early_stopping():
    import keras

    return keras.callbacks.EarlyStopping()


CALLBACKS = [
    Row(
        "kerasx.callbacks.BackupAndResume",
        "a Keras EarlyStopping as stopping (its state is not backed up)",
        "Invalid value for argument `stopping`. Expected a ResumableEarlyStopping or None.",
        call=lambda ctx: _callbacks().BackupAndResume(ctx.out, stopping=_keras_early_stopping()),
    ),
    Row(
        "kerasx.callbacks.BackupAndResume",
        "a negative ratio",
        "Invalid value for argument `ratio`. Expected a float >= 0. Received: ratio=-1.0",
        call=lambda ctx: _callbacks().BackupAndResume(ctx.out, ratio=-1.0),
    ),
    Row(
        "kerasx.callbacks.ConfusionMatrixLogger",
        "a threshold above 1",
        "Invalid value for argument `threshold`. Expected a float in [0, 1]. Received: threshold=2.0",
        call=lambda ctx: _callbacks().ConfusionMatrixLogger(validation_data=_xy(), threshold=2.0),
    ),
    Row(
        "kerasx.callbacks.GradientNorm",
        "a probe tuple of 4 arrays",
        "Invalid value for argument `probe_data`. Expected an (x, y) or (x, y, sample_weight) tuple.",
        call=lambda ctx: _callbacks().GradientNorm(probe_data=(*_xy(), np.ones(8), np.ones(8))),
    ),
    Row(
        "kerasx.callbacks.GradientNorm",
        "per_batch that is not a bool",
        "Invalid value for argument `per_batch`. Expected one of (False, True). Received: "
        "per_batch='yes'",
        call=lambda ctx: _callbacks().GradientNorm(per_batch="yes"),
    ),
    Row(
        "kerasx.callbacks.HistoryFrame",
        "a path that is a folder",
        "Is a directory",
        raises=IsADirectoryError,
        call=lambda ctx: _callbacks().HistoryFrame(path=ctx.inp),
    ),
    Row(
        "kerasx.callbacks.HistoryFrame",
        "a full disk (simulated) while writing history.csv",
        "No space left on device",
        raises=OSError,
        setup=full_disk,
        call=lambda ctx: _fit([_callbacks().HistoryFrame(os.path.join(ctx.out, "h.csv"))], ctx),
    ),
    Row(
        "kerasx.callbacks.LRFinder",
        "min_lr above max_lr",
        "Invalid value for argument `max_lr`. Expected a float > min_lr=1.0. Received: max_lr=0.1",
        call=lambda ctx: _callbacks().LRFinder(min_lr=1.0, max_lr=0.1),
    ),
    Row(
        "kerasx.callbacks.LearningCurves",
        "an unknown mode",
        "Invalid value for argument `mode`. Expected one of ('auto', 'min', 'max'). Received: mode='up'",
        call=lambda ctx: _callbacks().LearningCurves(os.path.join(ctx.out, "c.png"), mode="up"),
    ),
    Row(
        "kerasx.callbacks.NaNGuard",
        "an unknown method",
        "Invalid value for argument `method`. Expected one of ('auto', 'skip', 'snapshot'). Received: method='retry'",
        call=lambda ctx: _callbacks().NaNGuard(method="retry"),
    ),
    Row(
        "kerasx.callbacks.OneCycle",
        "max_lr = 0",
        "Invalid value for argument `max_lr`. Expected a float > 0. Received: max_lr=0.0",
        call=lambda ctx: _callbacks().OneCycle(max_lr=0.0),
    ),
    Row(
        "kerasx.callbacks.TimeLimit",
        "negative seconds",
        "Invalid value for argument `seconds`. Expected a float > 0. Received: seconds=-1",
        call=lambda ctx: _callbacks().TimeLimit(seconds=-1),
    ),
    Row(
        "kerasx.callbacks.epoch_batches",
        "x and y of different lengths",
        "Invalid value for argument `y`. Expected one target per row of x (8 rows, at least 1). "
        "Received: y=5 targets",
        call=lambda ctx: _callbacks().epoch_batches(_xy()[0], np.ones(5), 4, 0, 0, 2),
    ),
    Row(
        "kerasx.callbacks.epoch_batches",
        "empty x and y",
        "Invalid value for argument `y`. Expected one target per row of x (0 rows, at least 1). "
        "Received: y=0 targets",
        call=lambda ctx: _callbacks().epoch_batches(np.ones((0, 3)), np.ones(0), 4, 0, 0, 2),
    ),
    Row(
        "kerasx.callbacks.epoch_batches",
        "batch_size = 0",
        "Invalid value for argument `batch_size`. Expected an integer >= 1. Received: batch_size=0",
        call=lambda ctx: _callbacks().epoch_batches(*_xy(), 0, 0, 0, 2),
    ),
    Row(
        "kerasx.callbacks.epoch_batches",
        "a negative seed",
        "Invalid value for argument `seed`. Expected an integer >= 0. Received: seed=-1",
        call=lambda ctx: _callbacks().epoch_batches(*_xy(), 4, -1, 0, 2),
    ),
    Row(
        "kerasx.callbacks.epoch_order",
        "a negative seed (NumPy's message)",
        "expected non-negative integer",
        call=lambda ctx: _callbacks().epoch_order(-1, 0, 4),
    ),
    Row(
        "kerasx.callbacks.one_cycle_schedule",
        "a negative step",
        "Invalid value for argument `step`. Expected an integer >= 0. Received: step=-1",
        call=lambda ctx: _callbacks().one_cycle_schedule(-1, 10, 0.1),
    ),
    Row(
        "kerasx.callbacks.LearningCurves",
        "max_columns below 1",
        "Invalid value for argument `max_columns`. Expected an integer >= 1. Received: max_columns=0",
        call=lambda ctx: _callbacks().LearningCurves(os.path.join(ctx.out, "c.png"), max_columns=0),
    ),
    Row(
        "kerasx.callbacks.TimeLimit",
        "verbose other than 0 or 1",
        "Invalid value for argument `verbose`. Expected one of (0, 1). Received: verbose=2",
        call=lambda ctx: _callbacks().TimeLimit(seconds=60, verbose=2),
    ),
]


def _audit_images(shape=(2, 8, 8, 3), value=0.0, dtype="uint8"):
    return np.full(shape, value, dtype)


DATA = [
    Row(
        "kerasx.data.audit_split",
        "a file list against an array",
        "Invalid value for argument `test`. Expected the same kind of input as train (files). "
        "Received: test=arrays",
        call=lambda ctx: _data().audit_split(["a.png"], _audit_images()),
    ),
    Row(
        "kerasx.data.audit_split",
        "an empty file list",
        "Invalid value for argument `train`. Expected a non-empty list of image files or an "
        "array of images (N, H, W, 3). Received: train=list of 0 items",
        call=lambda ctx: _data().audit_split([], ["a.png"]),
    ),
    Row(
        "kerasx.data.audit_split",
        "images of shape (N, H, W), without the colour axis",
        "Invalid value for argument `train`. Expected a non-empty list of image files or an "
        "array of images (N, H, W, 3), uint8 or float. Received: train=array of shape (2, 8, 8)",
        call=lambda ctx: _data().audit_split(_audit_images((2, 8, 8)), _audit_images()),
    ),
    Row(
        "kerasx.data.audit_split",
        "float images above 1 (0-255 floats)",
        "Invalid value for argument `test`. Expected float pixel values in [0, 1]. Received: "
        "test=array of shape (2, 8, 8, 3) and dtype float32",
        call=lambda ctx: _data().audit_split(
            _audit_images(), _audit_images(value=255.0, dtype="float32")
        ),
    ),
    Row(
        "kerasx.data.audit_split",
        "near_distance = 65 (more than a quarter of the 256 pHash bits)",
        "Invalid value for argument `near_distance`. Expected an integer in [0, 64] (bits of "
        "the 256-bit pHash; distinct NIH cells start at 26). Received: near_distance=65",
        call=lambda ctx: _data().audit_split(_audit_images(), _audit_images(), near_distance=65),
    ),
    Row(
        "kerasx.data.audit_split",
        "a corrupt PNG",
        "C9P9_IMG_corrupt.png' as an image (not an image format that PIL reads). Remove or "
        "replace the file.",
        call=lambda ctx: _data().audit_split(
            [os.path.join(nih_folder(ctx, corrupt=True), "Parasitized", "C9P9_IMG_corrupt.png")],
            [os.path.join(ctx.inp, "cells", "Uninfected", "C0P0_IMG_Uninfected_cell_0.png")],
        ),
    ),
    Row(
        "kerasx.data.audit_split",
        "a missing file",
        "No such file or directory",
        raises=FileNotFoundError,
        call=lambda ctx: _data().audit_split(
            [os.path.join(nih_folder(ctx), "Parasitized", "C0P0_IMG_Parasitized_cell_0.png")],
            [os.path.join(ctx.inp, "missing.png")],
        ),
    ),
    Row(
        "kerasx.data.describe_source",
        "a number as source",
        "Invalid value for argument `source`. Expected 'tfds', 'synthetic' or a folder in the NIH layout",
        call=lambda ctx: _data().describe_source(3),
    ),
    Row(
        "kerasx.data.grouped_validation_split",
        "y and groups of different lengths",
        "Invalid value for argument `groups`. Expected one group per row of `y` (shape (4,)). "
        "Received: groups=an array of shape (3,)",
        call=lambda ctx: _data().grouped_validation_split([0, 1, 0, 1], ["P1", "P1", "P2"]),
    ),
    Row(
        "kerasx.data.grouped_validation_split",
        "a single group",
        "Invalid value for argument `groups`. Expected at least 2 distinct groups. "
        "Received: groups=1 distinct group",
        call=lambda ctx: _data().grouped_validation_split([0, 1, 0, 1], ["P1"] * 4),
    ),
    Row(
        "kerasx.data.grouped_validation_split",
        "validation_split = 0",
        "Invalid value for argument `validation_split`. Expected a float in (0, 1). "
        "Received: validation_split=0",
        call=lambda ctx: _data().grouped_validation_split(
            [0, 1, 0, 1], ["P1", "P1", "P2", "P2"], validation_split=0
        ),
    ),
    Row(
        "kerasx.data.load_folder",
        "a missing folder",
        "Malaria image folder not found",
        raises=FileNotFoundError,
        call=lambda ctx: _data().load_folder(os.path.join(ctx.inp, "missing")),
    ),
    Row(
        "kerasx.data.load_folder",
        "the wrong folder layout (PNGs without class folders)",
        "has no class subfolder(s) ['Parasitized', 'Uninfected']",
        raises=FileNotFoundError,
        call=lambda ctx: _data().load_folder(nih_folder(ctx, layout=False)),
    ),
    Row(
        "kerasx.data.load_folder",
        "a corrupt PNG",
        "C9P9_IMG_corrupt.png' as a PNG image (Invalid PNG. Failed to initialize decoder.). "
        "Remove or replace the file.",
        call=lambda ctx: _data().load_folder(nih_folder(ctx, corrupt=True), image_size=4),
    ),
    Row(
        "kerasx.data.load_folder",
        "image_size = 0",
        "Invalid value for argument `image_size`. Expected an integer >= 1. Received: image_size=0",
        call=lambda ctx: _data().load_folder(nih_folder(ctx), image_size=0),
    ),
    Row(
        "kerasx.data.load_folder",
        "return_groups for file names without patients",
        "Cannot return the groups (patients) of the rows: Invalid value for argument `filename`",
        call=lambda ctx: _data().load_folder(plain_folder(ctx), image_size=4, return_groups=True),
    ),
    Row(
        "kerasx.data.load_malaria",
        "an unknown source name",
        "Malaria image folder not found: 'mnist'. Expected a folder in the NIH layout",
        raises=FileNotFoundError,
        call=lambda ctx: _data().load_malaria("mnist"),
    ),
    Row(
        "kerasx.data.load_malaria",
        "an empty folder",
        "is empty",
        raises=FileNotFoundError,
        call=lambda ctx: _data().load_malaria(ctx.inp),
    ),
    Row(
        "kerasx.data.load_malaria",
        "a corrupt PNG",
        "C9P9_IMG_corrupt.png' as a PNG image (Invalid PNG. Failed to initialize decoder.). "
        "Remove or replace the file.",
        call=lambda ctx: _data().load_malaria(
            nih_folder(ctx, corrupt=True), image_size=4, split="cell"
        ),
    ),
    Row(
        "kerasx.data.load_malaria",
        "fraction = 0",
        "Invalid value for argument `fraction`. Expected a float in (0, 1]. Received: fraction=0",
        call=lambda ctx: _data().load_malaria("synthetic", fraction=0),
    ),
    Row(
        "kerasx.data.load_malaria",
        "a patient split of synthetic images",
        "Invalid value for argument `split`. Expected 'cell' for source='synthetic'",
        call=lambda ctx: _data().load_malaria("synthetic", split="patient"),
    ),
    Row(
        "kerasx.data.load_malaria",
        "the default (patient) split of a folder without NIH names",
        "Cannot split 8 images by patient with fraction=1.0 and test_size=0.2: Invalid value for "
        "argument `filename`",
        call=lambda ctx: _data().load_malaria(plain_folder(ctx), image_size=4),
    ),
    Row(
        "kerasx.data.load_malaria",
        "return_groups = 'yes'",
        "Invalid value for argument `return_groups`. Expected one of (True, False). "
        "Received: return_groups='yes'",
        call=lambda ctx: _data().load_malaria("synthetic", return_groups="yes"),
    ),
    Row(
        "kerasx.data.load_malaria",
        "a full disk (simulated) while writing the cache",
        "No space left on device",
        raises=OSError,
        setup=full_disk,
        call=lambda ctx: _data().load_malaria(
            nih_folder(ctx), image_size=4, split="cell", cache_dir=ctx.out
        ),
    ),
    Row(
        "kerasx.data.make_synthetic_malaria",
        "n = 0",
        "Invalid value for argument `n`. Expected an integer >= 1. Received: n=0",
        call=lambda ctx: _data().make_synthetic_malaria(0),
    ),
    Row(
        "kerasx.data.malaria_dataset",
        "an unknown split",
        "Invalid value for argument `split`. Expected one of (None, 'cell', 'patient'). "
        "Received: split='validation' The side of the split is `subset`: 'train' or 'test'.",
        call=lambda ctx: _data().malaria_dataset("synthetic", split="validation"),
    ),
    Row(
        "kerasx.data.malaria_dataset",
        "an unknown subset",
        "Invalid value for argument `subset`. Expected one of ('train', 'test'). "
        "Received: subset='validation'",
        call=lambda ctx: _data().malaria_dataset("synthetic", subset="validation"),
    ),
    Row(
        "kerasx.data.patient_id",
        "a file name without '_IMG'",
        "Invalid value for argument `filename`. Expected an NIH cell image name with the patient before '_IMG'",
        call=lambda ctx: _data().patient_id("cell_1.png"),
    ),
    Row(
        "kerasx.data.patient_id",
        "a name with '_IMG' but neither a 'P<n>' nor a leading 'C<n>'",
        "Invalid value for argument `filename`. Expected an NIH cell image name with the patient "
        "before '_IMG': a 'P<n>', or a leading 'C<n>' for an uninfected-only patient",
        call=lambda ctx: _data().patient_id("X3_IMG_20150918_cell_1.png"),
    ),
    Row(
        "kerasx.data.split_files",
        "test_size = 1",
        "Invalid value for argument `test_size`. Expected a float in (0, 1). Received: test_size=1.0",
        call=lambda ctx: _data().split_files(nih_folder(ctx), test_size=1.0),
    ),
    Row(
        "kerasx.data.split_files",
        "'synthetic' (no file names)",
        "only a folder has file names. Received: source='synthetic'",
        call=lambda ctx: _data().split_files("synthetic"),
    ),
    Row(
        "kerasx.data.load_folder",
        "dtype other than float32 or uint8",
        "Invalid value for argument `dtype`. Expected one of ('float32', 'uint8'). "
        "Received: dtype='float64'",
        call=lambda ctx: _data().load_folder(nih_folder(ctx), image_size=4, dtype="float64"),
    ),
    Row(
        "kerasx.data.load_malaria",
        "dtype other than float32 or uint8",
        "Invalid value for argument `dtype`. Expected one of ('float32', 'uint8'). "
        "Received: dtype='int'",
        call=lambda ctx: _data().load_malaria("synthetic", image_size=2, dtype="int"),
    ),
    Row(
        "kerasx.data.load_malaria",
        "verbose neither a bool nor a prefix",
        "Invalid value for argument `verbose`. Expected True, False or a line prefix "
        "(a non-empty string). Received: verbose=1",
        call=lambda ctx: _data().load_malaria("synthetic", image_size=2, verbose=1),
    ),
    Row(
        "kerasx.data.scale_images",
        "float images (it scales 8-bit ones)",
        "Invalid value for argument `images`. Expected a uint8 NumPy array with one row per "
        "image. Received: images=ndarray of dtype float32",
        call=lambda ctx: _data().scale_images(np.zeros((2, 4, 4, 3), np.float32)),
    ),
]


def _save_lambda_model(ctx):
    import keras

    inputs = keras.Input((3,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)
    path = os.path.join(ctx.inp, "lambda.keras")
    keras.Model(inputs, outputs).save(path)
    return path


RECIPES = [
    Row(
        "kerasx.recipes.load_trained_model",
        "a missing file",
        "Model file not found:",
        raises=(ValueError, FileNotFoundError),
        call=lambda ctx: _recipes().load_trained_model(os.path.join(ctx.inp, "missing.keras")),
    ),
    Row(
        "kerasx.recipes.load_trained_model",
        "a file that is no model",
        "Invalid value for argument `path`. Expected a `.keras` (zip) or `.h5` (HDF5) file written by `model.save`.",
        call=lambda ctx: _recipes().load_trained_model(_file(ctx, "model.keras")),
    ),
    Row(
        "kerasx.recipes.load_trained_model",
        "a model with a Lambda layer",
        "Invalid value for argument `path`. Expected a model file without Python code; it holds a `Lambda` layer",
        call=lambda ctx: _recipes().load_trained_model(_save_lambda_model(ctx)),
    ),
    Row(
        "kerasx.recipes.logistic_baseline",
        "C = 0",
        "Invalid value for argument `C`. Expected a float > 0. Received: C=0",
        call=lambda ctx: _recipes().logistic_baseline(C=0),
    ),
    Row(
        "kerasx.recipes.logistic_regression",
        "q = 0 inputs",
        "Invalid value for argument `q`. Expected an integer >= 1. Received: q=0",
        call=lambda ctx: _recipes().logistic_regression(0),
    ),
    Row(
        "kerasx.recipes.malaria_cnn",
        "an input shape without channels",
        "Invalid value for argument `input_shape`. Expected a shape (height, width, channels). Received: input_shape=(100, 100)",
        call=lambda ctx: _recipes().malaria_cnn((100, 100)),
    ),
    Row(
        "kerasx.recipes.malaria_cnn",
        "images too small for the pooling blocks",
        "Invalid value for argument `input_shape`. Expected a height and width >= 16 for 4 pooling blocks. Received: input_shape=(12, 12, 3)",
        call=lambda ctx: _recipes().malaria_cnn((12, 12, 3)),
    ),
    Row(
        "kerasx.recipes.malaria_mlp",
        "dropout = 1.5",
        "Invalid value for argument `dropout`. Expected a float in [0, 1). Received: dropout=1.5",
        call=lambda ctx: _recipes().malaria_mlp((4, 4, 3), dropout=1.5),
    ),
    Row(
        "kerasx.recipes.mlp",
        "zero classes",
        "Invalid value for argument `n_classes`. Expected an integer >= 1. Received: n_classes=0",
        call=lambda ctx: _recipes().mlp(3, n_classes=0),
    ),
    Row(
        "kerasx.recipes.parameter_breakdown",
        "something that is not a model",
        "Invalid value for argument `model`. Expected a built keras.Model. Received: model='model'",
        call=lambda ctx: _recipes().parameter_breakdown("model"),
    ),
    Row(
        "kerasx.recipes.softmax_regression",
        "a negative learning rate",
        "Invalid value for argument `learning_rate`. Expected a float > 0. Received: learning_rate=-1.0",
        call=lambda ctx: _recipes().softmax_regression(3, learning_rate=-1.0),
    ),
]

EXPLAIN = [
    Row(
        "kerasx.explain.grad_cam",
        "a model without a convolutional layer",
        "Invalid value for argument `model`. Expected a model with a convolutional layer",
        call=lambda ctx: _explain().grad_cam(_flat_model(), np.ones((2, 4, 4, 3), "float32")),
    ),
    Row(
        "kerasx.explain.grad_cam",
        "images of the wrong shape",
        "Invalid value for argument `images.shape`. Expected (n, *(8, 8, 3)) for the model's input. Received: images.shape=(2, 9, 9, 3)",
        call=lambda ctx: _explain().grad_cam(_cnn(), np.ones((2, 9, 9, 3), "float32")),
    ),
    Row(
        "kerasx.explain.grad_cam_examples",
        "y_true and scores of different lengths",
        "Invalid value for argument `y_true.shape`. Expected (3,) to match scores. Received: y_true.shape=(4,)",
        call=lambda ctx: _explain().grad_cam_examples(np.ones(4), np.full(3, 0.5)),
    ),
    Row(
        "kerasx.explain.overlay",
        "alpha above 1",
        "Invalid value for argument `alpha`. Expected a float in [0, 1]. Received: alpha=2",
        call=lambda ctx: _explain().overlay(np.ones((1, 4, 4, 3)), np.ones((1, 4, 4)), alpha=2),
    ),
    Row(
        "kerasx.explain.overlay",
        "pixel values above 1",
        "Invalid value for argument `images`. Expected pixel values in [0, 1] (or uint8). Received: images=255.0",
        call=lambda ctx: _explain().overlay(np.full((1, 4, 4, 3), 255.0), np.ones((1, 4, 4))),
    ),
    Row(
        "kerasx.explain.plot_grad_cam",
        "heatmaps that do not match the images",
        "Invalid value for argument `heatmaps.shape`. Expected (4, 4, 4) to match images. Received: heatmaps.shape=(4, 5, 5)",
        call=lambda ctx: _explain().plot_grad_cam(
            os.path.join(ctx.out, "cam.png"),
            np.ones((4, 4, 4, 3)),
            np.ones((4, 5, 5)),
            np.array([0, 1, 0, 1]),
            np.array([0.1, 0.9, 0.8, 0.2]),
        ),
    ),
    Row(
        "kerasx.explain.plot_grad_cam",
        "a full disk (simulated)",
        "No space left on device",
        raises=OSError,
        setup=full_disk,
        call=lambda ctx: _explain().plot_grad_cam(
            os.path.join(ctx.out, "cam.png"),
            np.ones((4, 4, 4, 3)),
            np.ones((4, 4, 4)),
            np.array([0, 1, 0, 1]),
            np.array([0.1, 0.9, 0.8, 0.2]),
        ),
    ),
    Row(
        "kerasx.explain.plot_top_errors",
        "an index past the last image",
        "Invalid value for argument `indices`. Expected row indices in [0, 2) of images.",
        call=lambda ctx: _explain().plot_top_errors(
            os.path.join(ctx.out, "errors.png"),
            np.ones((2, 4, 4, 3)),
            np.array([0, 1]),
            np.array([0.9, 0.1]),
            [5],
        ),
    ),
    Row(
        "kerasx.explain.top_errors",
        "k = 0",
        "Invalid value for argument `k`. Expected an integer >= 1. Received: k=0",
        call=lambda ctx: _explain().top_errors(np.array([0, 1]), np.array([0.9, 0.1]), k=0),
    ),
    Row(
        "kerasx.explain.top_errors",
        "NaN scores",
        "Invalid value for argument `scores`. Expected probabilities in [0, 1]. Received: scores=nan",
        call=lambda ctx: _explain().top_errors(np.array([0, 1]), np.array([NAN, 0.1])),
    ),
]


def _functional():
    from kerasx import functional

    return functional


FUNCTIONAL = [
    Row(
        "kerasx.functional.expected_calibration_error",
        "n_bins = 0",
        "Invalid value for argument `n_bins`. Expected an integer >= 1. Received: n_bins=0",
        call=lambda ctx: _functional().expected_calibration_error([0, 1], [0.1, 0.9], n_bins=0),
    ),
    Row(
        "kerasx.functional.brier_score",
        "negative sample weights",
        "Invalid value for argument `sample_weight`. Expected finite weights >= 0. Received: sample_weight=-1.0",
        call=lambda ctx: _functional().brier_score([0, 1], [0.1, 0.9], sample_weight=[1, -1]),
    ),
    Row(
        "kerasx.functional.log_loss",
        "NaN scores",
        "Invalid value for argument `scores`. Expected probabilities in [0, 1]. Received: scores=nan",
        call=lambda ctx: _functional().log_loss(np.array([0, 1]), np.array([NAN, 0.5])),
    ),
]


CALIBRATION = [
    Row(
        "kerasx.calibration.TemperatureScaling",
        "temperature = 0",
        "Invalid value for argument `temperature`. Expected a float > 0. Received: temperature=0.0",
        call=lambda ctx: _calibration().TemperatureScaling(temperature=0.0),
    ),
    Row(
        "kerasx.calibration.calibrate",
        "empty validation data",
        "Invalid value for argument `X_val`. Expected at least one validation sample. Received: X_val=no samples",
        call=lambda ctx: _calibration().calibrate(
            _dense_model(), np.ones((0, 3), "float32"), np.ones(0)
        ),
    ),
    Row(
        "kerasx.calibration.calibration_report",
        "NaN scores",
        "Invalid value for argument `scores`. Expected probabilities in [0, 1]. Received: scores=nan",
        call=lambda ctx: _calibration().calibration_report(np.array([0, 1]), np.array([NAN, 0.5])),
    ),
    Row(
        "kerasx.calibration.fit_temperature",
        "probabilities outside [0, 1]",
        "Invalid value for argument `scores`. Expected probabilities in [0, 1]. Received: scores=-0.5",
        call=lambda ctx: _calibration().fit_temperature(np.array([0, 1]), np.array([-0.5, 1.5])),
    ),
    Row(
        "kerasx.calibration.fit_temperature",
        "labels other than 0 and 1",
        "Invalid value for argument `y_true`. Expected class labels (integers) in [0, 2). Received: y_true=2",
        call=lambda ctx: _calibration().fit_temperature(np.array([0, 2]), np.array([0.2, 0.7])),
    ),
    Row(
        "kerasx.calibration.reliability_diagram",
        "zero bins",
        "Invalid value for argument `n_bins`. Expected an integer >= 1. Received: n_bins=0",
        call=lambda ctx: _calibration().reliability_diagram(
            os.path.join(ctx.out, "r.png"), np.array([0, 1]), np.array([0.2, 0.7]), n_bins=0
        ),
    ),
    Row(
        "kerasx.calibration.reliability_diagram",
        "a full disk (simulated)",
        "No space left on device",
        raises=OSError,
        setup=full_disk,
        call=lambda ctx: _calibration().reliability_diagram(
            os.path.join(ctx.out, "r.png"), np.array([0, 1]), np.array([0.2, 0.7])
        ),
    ),
    Row(
        "kerasx.calibration.reliability_diagram",
        "class_names without one name per class",
        "Invalid value for argument `class_names`. Expected 2 names. Received: "
        "class_names=('parasitized',)",
        call=lambda ctx: _calibration().reliability_diagram(
            os.path.join(ctx.out, "r.png"), [0, 1], [0.2, 0.7], class_names=("parasitized",)
        ),
    ),
]


def _tuned_by_cell(ctx):
    """A finished one-trial search by cell in ctx.out (for the split-mismatch row)."""
    _tuning().tune(*_xy(), out=ctx.out, tuner="random", max_trials=1, epochs=1, progress=False)


OBJECTIVE_NAMES = (
    "('accuracy', 'auc', 'loss', 'matthews_correlation', 'val_accuracy', 'val_auc', "
    "'val_loss', 'val_matthews_correlation')"
)

TUNING = [
    Row(
        "kerasx.tuning.MLPHyperModel",
        "a range with low > high",
        "Invalid value for argument `n_hidden`. Expected a (low, high) pair with low <= high. Received: n_hidden=(4, 1)",
        call=lambda ctx: _tuning().MLPHyperModel((3,), n_hidden=(4, 1)),
    ),
    Row(
        "kerasx.tuning.TuneConfig",
        "epochs = 0",
        "Invalid value for argument `epochs`. Expected an integer >= 1. Received: epochs=0",
        call=lambda ctx: _tuning().TuneConfig(out=ctx.out, epochs=0),
    ),
    Row(
        "kerasx.tuning.TuneConfig",
        "an existing file as out",
        "Invalid value for argument `out`. Expected a folder (new or existing), not a file.",
        setup=_existing_out,
        call=lambda ctx: _tuning().TuneConfig(out=ctx.out),
    ),
    Row(
        "kerasx.tuning.build_mlp",
        "a negative number of hidden layers",
        "Invalid value for argument `n_hidden`. Expected an integer >= 0. Received: n_hidden=-1",
        call=lambda ctx: _tuning().build_mlp(n_hidden=-1, input_shape=(3,)),
    ),
    Row(
        "kerasx.tuning.make_tuner",
        "an unknown tuner",
        "Invalid value for argument `tuner`. Expected one of ('hyperband', 'random', 'bayesian'). Received: tuner='grid'",
        call=lambda ctx: _tuning().make_tuner(
            _tuning().MLPHyperModel((3,)), tuner="grid", directory=ctx.out
        ),
    ),
    Row(
        "kerasx.tuning.malaria_search_space",
        "an empty input shape",
        "Invalid value for argument `input_shape`. Expected a non-empty shape such as (30000,). Received: input_shape=()",
        call=lambda ctx: _tuning().malaria_search_space(input_shape=()),
    ),
    Row(
        "kerasx.tuning.randomized_search",
        "cv = 1",
        "Invalid value for argument `cv`. Expected an integer >= 2. Received: cv=1",
        call=lambda ctx: _tuning().randomized_search(*_xy(), cv=1),
    ),
    Row(
        "kerasx.tuning.randomized_search",
        "X and y of different lengths",
        "Invalid value for argument `y`. Expected one label per sample of X (8). Received: "
        "y=array of shape (5,)",
        call=lambda ctx: _tuning().randomized_search(_xy()[0], np.ones(5), n_iter=1, cv=2),
    ),
    Row(
        "kerasx.tuning.randomized_search",
        "NaN in X",
        "Invalid value for argument `X`. Expected finite values (no NaN or inf). Received: "
        "X=array of shape (8, 3)",
        call=lambda ctx: _tuning().randomized_search(np.full((8, 3), NAN), _xy()[1], cv=2),
    ),
    Row(
        "kerasx.tuning.randomized_search",
        "fewer groups than folds",
        "Invalid value for argument `groups`. Expected at least as many groups as folds (3). "
        "Received: groups=2 groups",
        call=lambda ctx: _tuning().randomized_search(*_xy(), groups=np.arange(8) % 2, cv=3),
    ),
    Row(
        "kerasx.tuning.trials_table",
        "something that is not a tuner",
        "Invalid value for argument `tuner`. Expected a KerasTuner tuner. Received: tuner='tuner'",
        call=lambda ctx: _tuning().trials_table("tuner"),
    ),
    Row(
        "kerasx.tuning.tune",
        "an unknown option",
        "got an unexpected keyword argument 'max_trails'",
        raises=TypeError,
        call=lambda ctx: _tuning().tune(*_xy(), out=ctx.out, max_trails=3),
    ),
    Row(
        "kerasx.tuning.tune",
        "NaN in X",
        "Invalid value for argument `X`. Expected finite values (no NaN or inf). Received: X=array of shape (8, 3)",
        call=lambda ctx: _tuning().tune(np.full((8, 3), NAN), _xy()[1], out=ctx.out),
    ),
    Row(
        "kerasx.tuning.tune",
        "split='patient' without groups",
        "Invalid value for argument `groups`. Expected one patient id per row with "
        "split='patient'. Received: groups=None",
        call=lambda ctx: _tuning().tune(*_xy(), out=ctx.out, split="patient"),
    ),
    Row(
        "kerasx.tuning.tune",
        "groups with split='cell'",
        "Invalid value for argument `groups`. Expected None with split='cell' (it validates on "
        "held-out rows, not patients). Received: groups=array of shape (8,)",
        call=lambda ctx: _tuning().tune(*_xy(), groups=np.arange(8) % 4, out=ctx.out, split="cell"),
    ),
    Row(
        "kerasx.tuning.tune",
        "groups not one per row",
        "Invalid value for argument `groups`. Expected one id per row of y (8). "
        "Received: groups=array of shape (5,)",
        call=lambda ctx: _tuning().tune(*_xy(), groups=np.arange(5), out=ctx.out),
    ),
    Row(
        "kerasx.tuning.tune",
        "a folder holding a search with another split",
        "Invalid value for argument `out`. Expected a folder holding the same search",
        setup=_tuned_by_cell,
        call=lambda ctx: _tuning().tune(
            *_xy(),
            groups=np.arange(8) % 4,
            out=ctx.out,
            tuner="random",
            max_trials=1,
            epochs=1,
            progress=False,
        ),
    ),
    Row(
        "kerasx.tuning.TuneConfig",
        "cross-validation with Hyperband",
        "Invalid value for argument `cv`. Expected None with tuner='hyperband' (it continues a "
        "trial's model in the next, which cross-validation cannot do); use 'random' or "
        "'bayesian'. Received: cv=3",
        call=lambda ctx: _tuning().TuneConfig(out=ctx.out, tuner="hyperband", cv=3),
    ),
    Row(
        "kerasx.tuning.make_tuner",
        "an objective the MLP does not log",
        f"Invalid value for argument `objective`. Expected one of {OBJECTIVE_NAMES}. "
        "Received: objective='val_mcc'",
        call=lambda ctx: _tuning().make_tuner(
            _tuning().MLPHyperModel((3,)), tuner="random", objective="val_mcc", directory=ctx.out
        ),
    ),
    Row(
        "kerasx.tuning.search",
        "an objective the model does not log (checked on the model built once)",
        f"Invalid value for argument `objective`. Expected one of {OBJECTIVE_NAMES}. "
        "Received: objective='val_mcc'",
        call=lambda ctx: _tuning().search(
            _tuning().build_mlp,
            *_xy(),
            space={"n_neurons": [2, 4]},
            objective="val_mcc",
            out=ctx.out,
        ),
    ),
    Row(
        "kerasx.tuning.search",
        "a keyword build function without a space",
        "Invalid value for argument `model`. Expected a build function build(hp), or a space "
        "for one with keyword hyperparameters. Received: model=kerasx.tuning.space:build_mlp",
        call=lambda ctx: _tuning().search(_tuning().build_mlp, *_xy(), out=ctx.out),
    ),
    Row(
        "kerasx.tuning.search",
        "a space entry the build function does not take",
        "Invalid value for argument `space`. Expected names of parameters of "
        "kerasx.tuning.space:build_mlp. Received: space='n_layers'",
        call=lambda ctx: _tuning().search(
            _tuning().build_mlp, *_xy(), space={"n_layers": [1, 2]}, out=ctx.out
        ),
    ),
    Row(
        "kerasx.tuning.search",
        "tuner='sklearn' for a model of one's own",
        "Invalid value for argument `tuner`. Expected a KerasTuner tuner for a model of one's "
        "own ('sklearn' searches build_mlp). Received: tuner='sklearn'",
        call=lambda ctx: _tuning().search(lambda hp: None, *_xy(), tuner="sklearn", out=ctx.out),
    ),
    Row(
        "kerasx.tuning.MLPHyperModel",
        "a dict as a search range",
        "Invalid value for argument `n_neurons`. Expected a list, tuple, range, 1-D NumPy array, "
        "scipy.stats distribution, (low, high) pair or one value. Received: n_neurons={'low': 16}",
        call=lambda ctx: _tuning().MLPHyperModel((3,), n_neurons={"low": 16}),
    ),
    Row(
        "kerasx.tuning.MLPHyperModel",
        "an empty list as a search range",
        "Invalid value for argument `n_neurons`. Expected at least one value. Received: n_neurons=[]",
        call=lambda ctx: _tuning().MLPHyperModel((3,), n_neurons=[]),
    ),
    Row(
        "kerasx.tuning.MLPHyperModel",
        "an array of neurons out of the domain",
        "Invalid value for argument `n_neurons`. Expected a (low, high) pair of integers >= 1. "
        "Received: n_neurons=(0, 3)",
        call=lambda ctx: _tuning().MLPHyperModel((3,), n_neurons=np.arange(0, 4)),
    ),
    Row(
        "kerasx.tuning.randomized_search",
        "validation_data that is not a pair",
        "Invalid value for argument `validation_data`. Expected an (X_val, y_val) pair.",
        call=lambda ctx: _tuning().randomized_search(*_xy(), validation_data=_xy()[0], cv=2),
    ),
    Row(
        "kerasx.tuning.randomized_search",
        "validation rows of another width",
        "Invalid value for argument `validation_data`. Expected rows of the shape of X's ((3,)). "
        "Received: validation_data=validation_data[0] of shape (8, 2)",
        call=lambda ctx: _tuning().randomized_search(
            *_xy(), validation_data=(_xy()[0][:, :2], _xy()[1]), cv=2
        ),
    ),
]

DISTRIBUTION = [
    Row(
        "kerasx.distribution.parse_env",
        "0 processes",
        f"Invalid value for argument `{_DIST}NUM_PROCESSES`. Expected an integer >= 1. "
        f"Received: {_DIST}NUM_PROCESSES='0'",
        call=lambda ctx: _distribution().parse_env(_dist_env(num_processes="0")),
    ),
    Row(
        "kerasx.distribution.parse_env",
        "one variable set without the others",
        f"Invalid value for argument `{_DIST}JOB_ADDRESSES`. Expected to be set with "
        f"{_DIST}NUM_PROCESSES (all three or none). Received: {_DIST}JOB_ADDRESSES=None",
        call=lambda ctx: _distribution().parse_env({f"{_DIST}NUM_PROCESSES": "2"}),
    ),
    Row(
        "kerasx.distribution.parse_env",
        "an address without a port",
        f"Received: {_DIST}JOB_ADDRESSES='10.0.0.1'",
        call=lambda ctx: _distribution().parse_env(_dist_env(job_addresses="10.0.0.1")),
    ),
    Row(
        "kerasx.distribution.initialize_from_env",
        "the variables set under the TensorFlow backend",
        "Invalid value for argument `KERAS_BACKEND`. Expected 'jax' when KERAS_DISTRIBUTION_* "
        "are set (Keras 3 trains across processes on JAX only). Received: "
        "KERAS_BACKEND='tensorflow'",
        call=lambda ctx: _distribution().initialize_from_env(_dist_env()),
    ),
    Row(
        "kerasx.distribution.process_share",
        "a process index past the last process",
        "Invalid value for argument `index`. Expected an integer from 0 to 1. Received: index=2",
        call=lambda ctx: _distribution().process_share([np.ones((4, 2))], 2, 2),
    ),
]

_TINY_RUN = {"image_size": 8, "fraction": 0.25, "model": "mlp", "epochs": 1, "xla": False}


def _tiny_run(ctx):
    """A finished ``kerasx.malaria`` run in ``ctx.out``: synthetic data, seed 0 (seconds)."""
    malaria = _malaria()
    config = malaria.MalariaConfig(data="synthetic", **_TINY_RUN)
    malaria.run_malaria(config, ctx.out, verbose=False)


def _json_file(ctx, name, document):
    import json

    path = os.path.join(ctx.inp, name)
    with open(path, "w") as f:
        json.dump(document, f)
    return path


MALARIA_API = [
    Row(
        "kerasx.malaria.MalariaConfig",
        "epochs = 0",
        "Invalid value for argument `epochs`. Expected an integer >= 1. Received: epochs=0",
        call=lambda ctx: _malaria().MalariaConfig(data="synthetic", epochs=0),
    ),
    Row(
        "kerasx.malaria.MalariaConfig",
        "a missing data folder",
        "Invalid value for argument `data`. Expected 'tfds', 'synthetic' or an existing folder "
        "(no such folder). Received: data=",
        call=lambda ctx: _malaria().MalariaConfig(data=os.path.join(ctx.inp, "missing")),
    ),
    Row(
        "kerasx.malaria.MalariaConfig",
        "an unknown model",
        "Invalid value for argument `model`. Expected one of ('mlp', 'cnn', 'all'). Received: "
        "model='svm'",
        call=lambda ctx: _malaria().MalariaConfig(data="synthetic", model="svm"),
    ),
    Row(
        "kerasx.malaria.MalariaConfig",
        "a patient split of synthetic images",
        "Invalid value for argument `split`. Expected 'cell' for 'tfds' and 'synthetic' data "
        "(they have no patient ids). Received: split='patient'",
        call=lambda ctx: _malaria().MalariaConfig(data="synthetic", split="patient"),
    ),
    Row(
        "kerasx.malaria.MalariaConfig",
        "xla that is not a bool",
        "Invalid value for argument `xla`. Expected True or False. Received: xla='yes'",
        call=lambda ctx: _malaria().MalariaConfig(data="synthetic", xla="yes"),
    ),
    Row(
        "kerasx.malaria.MalariaConfig",
        "allow_overlap that is not a bool",
        "Invalid value for argument `allow_overlap`. Expected True or False. Received: "
        "allow_overlap='yes'",
        call=lambda ctx: _malaria().MalariaConfig(data="synthetic", allow_overlap="yes"),
    ),
    Row(
        "kerasx.malaria.read_metrics",
        "a missing file",
        "No such file or directory",
        raises=FileNotFoundError,
        call=lambda ctx: _malaria().read_metrics(os.path.join(ctx.inp, "metrics.json")),
    ),
    Row(
        "kerasx.malaria.read_metrics",
        "a file that is not JSON",
        "is not valid JSON (Expecting value: line 1 column 1 (char 0))",
        call=lambda ctx: _malaria().read_metrics(_file(ctx, "metrics.json")),
    ),
    Row(
        "kerasx.malaria.read_metrics",
        "JSON that is not a run's metrics",
        "is not a `kerasx malaria` metrics.json (it has no 'data' entry)",
        call=lambda ctx: _malaria().read_metrics(_json_file(ctx, "metrics.json", [0.9])),
    ),
    Row(
        "kerasx.malaria.read_metrics",
        "a newer schema",
        "has schema 99; this kerasx reads up to 3. Update kerasx.",
        call=lambda ctx: _malaria().read_metrics(
            _json_file(ctx, "metrics.json", {"schema": 99, "data": {}})
        ),
    ),
    Row(
        "kerasx.malaria.run_malaria",
        "a dict as config",
        "Invalid value for argument `config`. Expected a kerasx.malaria.MalariaConfig. "
        "Received: config={'data': 'synthetic'}",
        call=lambda ctx: _malaria().run_malaria({"data": "synthetic"}, ctx.out),
    ),
    Row(
        "kerasx.malaria.run_malaria",
        "an existing file as out",
        "Invalid value for argument `out`. Expected a folder (new or existing), not a file.",
        setup=_existing_out,
        call=lambda ctx: _malaria().run_malaria(
            _malaria().MalariaConfig(data="synthetic"), ctx.out
        ),
    ),
    Row(
        "kerasx.malaria.run_malaria",
        "a folder that holds another run (another seed)",
        "holds a run with seed=0, this one has seed=1. Use another --out, or --restart to start "
        "over in it.",
        raises=RunMismatch,
        setup=_tiny_run,
        call=lambda ctx: _malaria().run_malaria(
            _malaria().MalariaConfig(data="synthetic", seed=1, **_TINY_RUN), ctx.out
        ),
    ),
    Row(
        "kerasx.malaria.run_malaria",
        "a folder of run files with no record of their settings",
        "holds files of a run (run.json, metrics.json, summary.txt) with no record of its "
        "settings, so resuming it could mix two runs.",
        raises=RunMismatch,
        setup=_run_folder,
        call=lambda ctx: _malaria().run_malaria(
            _malaria().MalariaConfig(data="synthetic", **_TINY_RUN), ctx.out
        ),
    ),
]

#: Public names that take no user input, so there is nothing to reject.
NO_INPUT = {
    "kerasx.InvalidArgument": "an exception class, raised by kerasx",
    "kerasx.__version__": "a string",
    "kerasx.backprop": "a module (its functions have rows)",
    "kerasx.stats.BootstrapInterval": "the result of bootstrap_ci and compare (built by them)",
    "kerasx.stats.Comparison": "the result of compare (built by it)",
    "kerasx.stats.DeLongTest": "the result of delong_test (built by it)",
    "kerasx.stats.McNemarTest": "the result of mcnemar (built by it)",
    "kerasx.stats": "a module (its functions have rows)",
    "kerasx.stats.Interval": "a result (built by the functions of kerasx.stats)",
    "kerasx.stats.PatientDiagnosis": "the result of patient_diagnosis (built by it)",
    "kerasx.stats.ThresholdChoice": "the result of choose_threshold (built by it)",
    "kerasx.conformal.CoverageReport": "the result of coverage_report (built by it)",
    "kerasx.conformal": "a module (its functions have rows)",
    "kerasx.calibration": "a module (its functions have rows)",
    "kerasx.callbacks": "a module (its functions have rows)",
    "kerasx.data": "a module (its functions have rows)",
    "kerasx.distribution": "a module (its functions have rows)",
    "kerasx.distribution.ENV_VARIABLES": "a constant",
    "kerasx.distribution.ProcessShard": "built by process_share, which checks its arguments",
    "kerasx.distribution.is_chief": "takes no arguments",
    "kerasx.distribution.process_count": "takes no arguments",
    "kerasx.distribution.process_index": "takes no arguments",
    "kerasx.distribution.local_scope": "takes no arguments",
    "kerasx.distribution.local_copy": "any Keras model; with one process it returns it as is",
    "kerasx.distribution.process_values": "any number; with one process it returns it as is",
    "kerasx.explain": "a module (its functions have rows)",
    "kerasx.functional": "a module (its functions have rows)",
    "kerasx.losses": "a module (its functions have rows)",
    "kerasx.malaria": "a module (its functions have rows)",
    "kerasx.metrics": "a module (its functions have rows)",
    "kerasx.recipes": "a module (its functions have rows)",
    "kerasx.regularizers": "a module (its functions have rows)",
    "kerasx.training": "a module (its functions have rows)",
    "kerasx.tuning": "a module (its functions have rows)",
    "kerasx.data.CLASS_NAMES": "a constant",
    "kerasx.data.DatasetUnavailableError": "an exception class, raised by kerasx",
    "kerasx.data.SplitAudit": "the result of audit_split (built by it)",
    "kerasx.tuning.TUNERS": "a constant",
    "kerasx.tuning.course_param_distributions": "takes no arguments",
    "kerasx.callbacks.ResumableEarlyStopping": "EarlyStopping's arguments, as Keras takes them "
    "(an unknown mode is Keras's warning)",
    "kerasx.callbacks.read_backup_state": "any folder; one without a backup gives None",
    "kerasx.malaria.BACKENDS": "a constant",
    "kerasx.malaria.BACKUP_DIR": "a constant",
    "kerasx.malaria.METRICS_SCHEMA": "a constant",
    "kerasx.malaria.MODELS": "a constant",
    "kerasx.malaria.MalariaRun": "built by run_malaria, which checks its arguments",
    "kerasx.malaria.RunMismatch": "an exception class, raised by kerasx",
    "kerasx.malaria.SplitLeak": "an exception class, raised by kerasx",
    "kerasx.malaria.auto_backend": "the models and batch size of a MalariaConfig, which "
    "checks them",
    "kerasx.malaria.featured_model": "the models of a MalariaConfig, which checks them",
    "kerasx.malaria.output_files": "the models of a MalariaConfig, which checks them",
}

# --------------------------------------------------------------------------------------------
# Command options

_SYN = ("--data", "synthetic")


MALARIA = [
    Row(
        "kerasx malaria --data",
        "a missing folder",
        "kerasx malaria: argument --data: expected 'tfds', 'synthetic' or an existing folder.",
        argv=("--data", "{inp}/missing"),
    ),
    Row(
        "kerasx malaria --data",
        "a file",
        "kerasx malaria: argument --data: expected 'tfds', 'synthetic' or an existing folder.",
        setup=_file,
        argv=("--data", "{inp}/file.txt"),
    ),
    Row(
        "kerasx malaria --data",
        "the wrong folder layout",
        "has no class subfolder(s) ['Parasitized', 'Uninfected']. Expected a folder in the NIH layout",
        setup=lambda ctx: nih_folder(ctx, layout=False),
        argv=("--data", "{inp}/cells", "--epochs", "1", "--model", "mlp"),
    ),
    Row(
        "kerasx malaria --data",
        "a corrupt PNG",
        "C9P9_IMG_corrupt.png' as a PNG image (Invalid PNG. Failed to initialize decoder.). Remove or replace the file.",
        setup=lambda ctx: nih_folder(ctx, corrupt=True),
        argv=("--data", "{inp}/cells", "--image-size", "4", "--epochs", "1", "--model", "mlp"),
    ),
    Row(
        "kerasx malaria --backend",
        "an unknown backend",
        "kerasx malaria: argument --backend: invalid choice: 'torch' (choose from 'auto', "
        "'tensorflow', 'jax')",
        argv=("--backend", "torch"),
    ),
    Row(
        "kerasx malaria --model",
        "an unknown model",
        "kerasx malaria: argument --model: invalid choice: 'svm' (choose from 'mlp', 'cnn', 'all')",
        argv=("--model", "svm"),
    ),
    Row(
        "kerasx malaria --split",
        "an unknown split",
        "kerasx malaria: argument --split: invalid choice: 'slide' (choose from 'cell', 'patient')",
        argv=("--split", "slide"),
    ),
    Row(
        "kerasx malaria --split",
        "patient with synthetic data",
        "kerasx malaria: Invalid value for argument `split`. Expected 'cell' for 'tfds' and "
        "'synthetic' data (they have no patient ids). Received: split='patient'",
        argv=(*_SYN, "--split", "patient", "--epochs", "1"),
    ),
    Row(
        "kerasx malaria --test-data",
        "a missing folder",
        "kerasx malaria: argument --test-data: expected a folder of Parasitized/ and Uninfected/ PNGs.",
        argv=("--test-data", "{inp}/no"),
    ),
    Row(
        "kerasx malaria --fraction",
        "0",
        "kerasx malaria: argument --fraction: expected a float in (0, 1]. Received: '0'",
        argv=("--fraction", "0"),
    ),
    Row(
        "kerasx malaria --fraction",
        "1.5",
        "kerasx malaria: argument --fraction: expected a float in (0, 1]. Received: '1.5'",
        argv=("--fraction", "1.5"),
    ),
    Row(
        "kerasx malaria --fraction",
        "nan",
        "kerasx malaria: argument --fraction: expected a float in (0, 1]. Received: 'nan'",
        argv=("--fraction", "nan"),
    ),
    Row(
        "kerasx malaria --image-size",
        "0",
        "kerasx malaria: argument --image-size: expected an integer >= 1. Received: '0'",
        argv=("--image-size", "0"),
    ),
    Row(
        "kerasx malaria --cache-dir",
        "an existing file",
        "kerasx malaria: argument --cache-dir: expected a folder path (created when missing).",
        setup=_existing_out,
        argv=(*_SYN, "--cache-dir", "{out}"),
    ),
    Row(
        "kerasx malaria --cnn-image-size",
        "text",
        "kerasx malaria: argument --cnn-image-size: expected an integer >= 16. Received: 'big'",
        argv=("--cnn-image-size", "big"),
    ),
    Row(
        "kerasx malaria --epochs",
        "0",
        "kerasx malaria: argument --epochs: expected an integer >= 1. Received: '0'",
        argv=("--epochs", "0"),
    ),
    Row(
        "kerasx malaria --batch-size",
        "-1",
        "kerasx malaria: argument --batch-size: expected an integer >= 1. Received: '-1'",
        argv=("--batch-size", "-1"),
    ),
    Row(
        "kerasx malaria --patience",
        "1.5",
        "kerasx malaria: argument --patience: expected an integer >= 1. Received: '1.5'",
        argv=("--patience", "1.5"),
    ),
    Row(
        "kerasx malaria --seed",
        "-1",
        "kerasx malaria: argument --seed: expected an integer >= 0. Received: '-1'",
        argv=("--seed", "-1"),
    ),
    Row(
        "kerasx malaria --out",
        "an existing file",
        "kerasx malaria: argument --out: expected a folder (new or existing).",
        setup=_existing_out,
        argv=(*_SYN, "--out", "{out}"),
    ),
    Row(
        "kerasx malaria --out",
        "a read-only folder",
        "kerasx malaria: argument --out: expected a folder you can write to.",
        setup=read_only,
        argv=(*_SYN, "--quick", "--model", "mlp", "--out", "{out}"),
    ),
    Row(
        "kerasx malaria --out",
        "a full disk (simulated)",
        "No space left on device",
        setup=full_disk,
        argv=(*_SYN, "--quick", "--model", "mlp", "--out", "{out}"),
    ),
    Row(
        "kerasx malaria --model",
        "a misspelt option (--modle)",
        "kerasx malaria: unrecognized argument --modle (did you mean --model?)",
        argv=("--modle", "cnn"),
    ),
]

TUNE = [
    Row(
        "kerasx tune --data",
        "a missing folder",
        "kerasx tune: argument --data: expected 'tfds', 'synthetic' or an existing folder.",
        argv=("--data", "{inp}/missing"),
    ),
    Row(
        "kerasx tune --data",
        "a corrupt PNG",
        "C9P9_IMG_corrupt.png' as a PNG image (Invalid PNG. Failed to initialize decoder.). Remove or replace the file.",
        setup=lambda ctx: nih_folder(ctx, corrupt=True),
        argv=("--data", "{inp}/cells", "--image-size", "4", "--epochs", "1", "--out", "{out}"),
    ),
    Row(
        "kerasx tune --fraction",
        "1.5",
        "kerasx tune: argument --fraction: expected a float in (0, 1]. Received: '1.5'",
        argv=("--fraction", "1.5"),
    ),
    Row(
        "kerasx tune --image-size",
        "0",
        "kerasx tune: argument --image-size: expected an integer >= 1. Received: '0'",
        argv=("--image-size", "0"),
    ),
    Row(
        "kerasx tune --out",
        "an existing file",
        "kerasx tune: argument --out: expected a folder (new or existing).",
        setup=_existing_out,
        argv=("--out", "{out}"),
    ),
    Row(
        "kerasx tune --out",
        "a read-only folder",
        "kerasx tune: argument --out: expected a folder you can write to.",
        setup=read_only,
        argv=("--tuner", "random", "--max-trials", "1", "--epochs", "1", "--out", "{out}"),
    ),
    Row(
        "kerasx tune --out",
        "a full disk (simulated)",
        "No space left on device",
        setup=full_disk,
        argv=("--tuner", "random", "--max-trials", "1", "--epochs", "1", "--out", "{out}"),
    ),
    Row(
        "kerasx tune --tuner",
        "an unknown tuner",
        "kerasx tune: argument --tuner: expected one of ('hyperband', 'random', 'bayesian', 'sklearn'). Received: 'grid'",
        argv=("--tuner", "grid"),
    ),
    Row(
        "kerasx tune --max-trials",
        "0",
        "kerasx tune: argument --max-trials: expected an integer >= 1. Received: '0'",
        argv=("--max-trials", "0"),
    ),
    Row(
        "kerasx tune --epochs",
        "text",
        "kerasx tune: argument --epochs: expected an integer >= 1. Received: 'ten'",
        argv=("--epochs", "ten"),
    ),
    Row(
        "kerasx tune --validation-split",
        "1",
        "kerasx tune: argument --validation-split: expected a float in (0, 1). Received: '1'",
        argv=("--validation-split", "1"),
    ),
    Row(
        "kerasx tune --split",
        "an unknown split",
        "kerasx tune: argument --split: expected one of ('patient', 'cell'). Received: 'row'",
        argv=("--split", "row"),
    ),
    Row(
        "kerasx tune --split",
        "patient for data without patient ids",
        "kerasx tune: Invalid value for argument `split`. Expected 'cell' for 'tfds', "
        "'synthetic' and the built-in data (they have no patient ids). Received: split='patient'",
        argv=("--data", "synthetic", "--split", "patient", "--out", "{out}"),
    ),
    Row(
        "kerasx tune --batch-size",
        "0",
        "kerasx tune: argument --batch-size: expected an integer >= 1. Received: '0'",
        argv=("--batch-size", "0"),
    ),
    Row(
        "kerasx tune --cv",
        "1",
        "kerasx tune: argument --cv: expected an integer >= 2. Received: '1'",
        argv=("--cv", "1"),
    ),
    Row(
        "kerasx tune --wrapper",
        "an unknown wrapper",
        "kerasx tune: argument --wrapper: expected one of ('scikeras', 'keras'). Received: 'skorch'",
        argv=("--wrapper", "skorch"),
    ),
    Row(
        "kerasx tune --seed",
        "-1",
        "kerasx tune: argument --seed: expected an integer >= 0. Received: '-1'",
        argv=("--seed", "-1"),
    ),
    Row(
        "kerasx tune --trials-per-process",
        "0",
        "kerasx tune: argument --trials-per-process: expected an integer >= 1. Received: '0'",
        argv=("--trials-per-process", "0"),
    ),
    Row(
        "kerasx tune --objective",
        "an unknown metric",
        f"kerasx tune: Invalid value for argument `objective`. Expected one of {OBJECTIVE_NAMES}. "
        "Received: objective='val_mcc'",
        argv=("--objective", "val_mcc"),
    ),
    Row(
        "kerasx tune --objective",
        "val_loss with --tuner sklearn",
        "kerasx tune: Invalid value for argument `objective`. Expected one of ('val_accuracy', "
        "'val_auc', 'val_matthews_correlation') with tuner='sklearn' (its cross-validated "
        "scores). Received: objective='val_loss'",
        argv=("--tuner", "sklearn", "--objective", "val_loss"),
    ),
    Row(
        "kerasx tune --model",
        "no module:function form",
        "kerasx tune: argument --model: expected MODULE:FUNCTION, e.g. my_models:build_model. "
        "Received: 'my_models'",
        argv=("--model", "my_models"),
    ),
    Row(
        "kerasx tune --model",
        "a module that cannot be imported",
        "kerasx tune: Invalid value for argument `model`. Expected an importable module (no "
        "module named 'kerasx_no_such_module'). Received: model='kerasx_no_such_module:build'",
        argv=("--model", "kerasx_no_such_module:build", "--out", "{out}"),
    ),
    Row(
        "kerasx tune --model",
        "a model of one's own with --tuner sklearn",
        "kerasx tune: Invalid value for argument `tuner`. Expected a KerasTuner tuner with "
        "--model (--tuner sklearn searches the MLP). Received: tuner='sklearn'",
        argv=("--model", "kerasx.tuning.space:MLPHyperModel", "--tuner", "sklearn"),
    ),
    Row(
        "kerasx tune --cv",
        "cross-validation with Hyperband",
        "kerasx tune: Invalid value for argument `cv`. Expected None with tuner='hyperband'",
        argv=("--tuner", "hyperband", "--cv", "3"),
    ),
]

REPORT = [
    Row(
        "kerasx report RUN_DIR",
        "a missing folder",
        "kerasx report: argument RUN_DIR: expected the folder of a `kerasx malaria` run.",
        argv=("{inp}/missing",),
    ),
    Row(
        "kerasx report RUN_DIR",
        "a folder without metrics.json",
        "metrics.json' not found: not a `kerasx malaria` run folder",
        argv=("{inp}",),
    ),
    Row(
        "kerasx report --output",
        "a folder",
        "kerasx report: argument --output: expected a file name.",
        setup=_metrics_run_folder,
        argv=("{out}", "--output", "{inp}"),
    ),
    Row(
        "kerasx report --output",
        "a file in a missing folder",
        "kerasx report: argument --output: expected a file in an existing folder.",
        setup=_metrics_run_folder,
        argv=("{out}", "--output", "{inp}/no/report.html"),
    ),
    Row(
        "kerasx report --output",
        "a full disk (simulated)",
        "No space left on device",
        setup=lambda ctx: (_run_folder(ctx), full_disk(ctx)),
        argv=("{out}",),
    ),
]

AUDIT = [
    Row(
        "kerasx audit DIR",
        "no folder",
        "kerasx audit: the following arguments are required: DIR",
        argv=(),
    ),
    Row(
        "kerasx audit DIR",
        "a missing folder",
        "kerasx audit: argument DIR: expected a folder of Parasitized/ and Uninfected/ PNGs. "
        "Received:",
        argv=("{inp}/missing",),
    ),
    Row(
        "kerasx audit DIR",
        "the wrong folder layout (PNGs without class folders)",
        "has no class subfolder(s) ['Parasitized', 'Uninfected']",
        setup=lambda ctx: nih_folder(ctx, layout=False),
        argv=("{inp}/cells",),
    ),
    Row(
        "kerasx audit DIR",
        "a corrupt PNG",
        "C9P9_IMG_corrupt.png' as an image (not an image format that PIL reads). Remove or "
        "replace the file.",
        setup=lambda ctx: nih_folder(ctx, corrupt=True),
        argv=("{inp}/cells", "--split", "cell"),
    ),
    Row(
        "kerasx audit --test-data",
        "a missing folder",
        "kerasx audit: argument --test-data: expected a folder of Parasitized/ and Uninfected/ "
        "PNGs.",
        setup=nih_folder,
        argv=("{inp}/cells", "--test-data", "{inp}/missing"),
    ),
    Row(
        "kerasx audit --test-data",
        "the wrong folder layout (PNGs without class folders)",
        "has no class subfolder(s) ['Parasitized', 'Uninfected']",
        setup=lambda ctx: (nih_folder(ctx), nih_folder(ctx, layout=False, name="flat")),
        argv=("{inp}/cells", "--test-data", "{inp}/flat"),
    ),
    Row(
        "kerasx audit --split",
        "an unknown split",
        "kerasx audit: argument --split: invalid choice: 'group'",
        argv=("{inp}", "--split", "group"),
    ),
    Row(
        "kerasx audit --split",
        "a split with --test-data (nothing to split)",
        "kerasx audit: Invalid value for argument `split`. Expected no value with --test-data "
        "(all of DIR is audited against all of DIR2). Received: split='cell'",
        setup=nih_folder,
        argv=("{inp}/cells", "--test-data", "{inp}/cells", "--split", "cell"),
    ),
    Row(
        "kerasx audit --seed",
        "-1",
        "kerasx audit: argument --seed: expected an integer >= 0. Received: '-1'",
        argv=("{inp}", "--seed", "-1"),
    ),
    Row(
        "kerasx audit --fraction",
        "0",
        "kerasx audit: argument --fraction: expected a float in (0, 1]. Received: '0'",
        argv=("{inp}", "--fraction", "0"),
    ),
    Row(
        "kerasx audit --near-distance",
        "-1",
        "kerasx audit: argument --near-distance: expected an integer >= 0. Received: '-1'",
        argv=("{inp}", "--near-distance", "-1"),
    ),
    Row(
        "kerasx audit --near-distance",
        "65 (more than a quarter of the 256 pHash bits)",
        "kerasx audit: Invalid value for argument `near_distance`. Expected an integer in [0, 64]",
        setup=nih_folder,
        argv=("{inp}/cells", "--near-distance", "65"),
    ),
]

#: Command options that take no value to reject (flags).
FLAGS = {
    "--help": "every command: argparse's help",
    "-h": "every command: argparse's help",
    "--debug": "every command: a flag (show the traceback)",
    "--quick": "kerasx malaria: a flag",
    "--xla": "kerasx malaria: a flag (with --no-xla)",
    "--no-xla": "kerasx malaria: a flag (with --xla)",
    "--deterministic": "kerasx malaria: a flag",
    "--restart": "kerasx malaria: a flag (start over in --out)",
    "--allow-overlap": "kerasx malaria: a flag (train even when the split audit finds identical "
    "images or patients on both sides)",
    "--overwrite": "kerasx tune: a flag",
}


def _stats():
    from kerasx import stats

    return stats


def _labels(n=20):
    return np.tile([0, 1], n // 2)


def _probs(n=20):
    return np.linspace(0.05, 0.95, n)


STATS_A = [
    Row(
        "kerasx.stats.bootstrap_ci",
        "an unknown metric name",
        "Invalid value for argument `metric`. Expected one of ('accuracy', 'sensitivity', 'specificity', 'roc_auc', 'mcc', 'brier', 'ece') or a function metric(y_true, y_score) -> float. Received: metric='auc'",
        call=lambda ctx: _stats().bootstrap_ci("auc", _labels(), _probs()),
    ),
    Row(
        "kerasx.stats.bootstrap_ci",
        "an unknown method",
        "Invalid value for argument `method`. Expected one of ('percentile', 'bca'). Received: method='basic'",
        call=lambda ctx: _stats().bootstrap_ci("accuracy", _labels(), _probs(), method="basic"),
    ),
    Row(
        "kerasx.stats.bootstrap_ci",
        "scores of another length than the labels",
        "Invalid value for argument `y_score`. Expected one score per row of y_true (20). Received: y_score=array of shape (19,)",
        call=lambda ctx: _stats().bootstrap_ci("accuracy", _labels(), _probs()[:-1]),
    ),
    Row(
        "kerasx.stats.bootstrap_ci",
        "NaN in the scores",
        "Invalid value for argument `y_score`. Expected finite values (no NaN or inf). Received: y_score=array of shape (20,) with 1 NaN or inf",
        call=lambda ctx: _stats().bootstrap_ci("roc_auc", _labels(), np.r_[NAN, _probs()[1:]]),
    ),
    Row(
        "kerasx.stats.bootstrap_ci",
        "scores outside [0, 1] for the Brier score",
        "Invalid value for argument `y_score`. Expected probabilities in [0, 1] for this metric.",
        call=lambda ctx: _stats().bootstrap_ci("brier", _labels(), _probs() + 1),
    ),
    Row(
        "kerasx.stats.bootstrap_ci",
        "labels that are not 0/1",
        "Invalid value for argument `y_true`. Expected 0/1 labels. Received: y_true=array with values [1, 2]",
        call=lambda ctx: _stats().bootstrap_ci("accuracy", _labels() + 1, _probs()),
    ),
    Row(
        "kerasx.stats.bootstrap_ci",
        "one class only, for an AUC",
        "Invalid value for argument `y_true`. Expected both classes (0 and 1) for metric='roc_auc'. Received: y_true=20 labels, 20 of class 1",
        call=lambda ctx: _stats().bootstrap_ci("roc_auc", np.ones(20, int), _probs()),
    ),
    Row(
        "kerasx.stats.bootstrap_ci",
        "no positive row, for a sensitivity",
        "Invalid value for argument `y_true`. Expected rows of class 1 for metric='sensitivity'. Received: y_true=20 labels, 0 of class 1",
        call=lambda ctx: _stats().bootstrap_ci("sensitivity", np.zeros(20, int), _probs()),
    ),
    Row(
        "kerasx.stats.bootstrap_ci",
        "so few rows of a class that most resamples lack it",
        "Invalid value for argument `y_true`. Expected enough rows of each class that metric='roc_auc' is defined on at least 95% of resamples.",
        call=lambda ctx: _stats().bootstrap_ci(
            "roc_auc", np.r_[1, np.zeros(19, int)], _probs(), seed=0
        ),
    ),
    Row(
        "kerasx.stats.bootstrap_ci",
        "a single group",
        "Invalid value for argument `groups`. Expected at least 2 distinct groups. Received: groups=20 rows in 1 group",
        call=lambda ctx: _stats().bootstrap_ci("accuracy", _labels(), _probs(), groups=["P1"] * 20),
    ),
    Row(
        "kerasx.stats.bootstrap_ci",
        "groups of another length than the labels",
        "Invalid value for argument `groups`. Expected one group label per row of y_true (20). Received: groups=array of shape (10,)",
        call=lambda ctx: _stats().bootstrap_ci(
            "accuracy", _labels(), _probs(), groups=np.arange(10)
        ),
    ),
    Row(
        "kerasx.stats.bootstrap_ci",
        "level = 1",
        "Invalid value for argument `level`. Expected a float in (0, 1). Received: level=1.0",
        call=lambda ctx: _stats().bootstrap_ci("accuracy", _labels(), _probs(), level=1.0),
    ),
    Row(
        "kerasx.stats.bootstrap_ci",
        "zero resamples",
        "Invalid value for argument `n_resamples`. Expected an integer >= 1. Received: n_resamples=0",
        call=lambda ctx: _stats().bootstrap_ci("accuracy", _labels(), _probs(), n_resamples=0),
    ),
    Row(
        "kerasx.stats.bootstrap_ci",
        "too few resamples for the tails of the interval",
        "Invalid value for argument `n_resamples`. Expected an integer >= 40 (2 / (1 - level): a resample in each tail). Received: n_resamples=39",
        call=lambda ctx: _stats().bootstrap_ci("accuracy", _labels(), _probs(), n_resamples=39),
    ),
    Row(
        "kerasx.stats.bootstrap_ci",
        "a NaN threshold",
        "Invalid value for argument `threshold`. Expected a finite float. Received: threshold=nan",
        call=lambda ctx: _stats().bootstrap_ci("accuracy", _labels(), _probs(), threshold=NAN),
    ),
    Row(
        "kerasx.stats.bootstrap_ci",
        "a negative seed",
        "Invalid value for argument `seed`. Expected None, an integer >= 0 or a numpy.random.Generator. Received: seed=-1",
        call=lambda ctx: _stats().bootstrap_ci("accuracy", _labels(), _probs(), seed=-1),
    ),
    Row(
        "kerasx.stats.bootstrap_ci",
        "a BCa interval the data cannot give",
        "Invalid value for argument `method`. Expected 'percentile' here: the estimate lies outside the bootstrap distribution. Received: method='bca'",
        call=lambda ctx: _stats().bootstrap_ci(
            lambda y, s: len(np.unique(s)) / len(s), _labels(), _probs(), method="bca", seed=0
        ),
    ),
    Row(
        "kerasx.stats.compare",
        "an unknown metric name",
        "Invalid value for argument `metric`. Expected one of ('accuracy', 'sensitivity', 'specificity', 'roc_auc', 'mcc', 'brier', 'ece')",
        call=lambda ctx: _stats().compare(_labels(), _probs(), _probs(), metric="f1"),
    ),
    Row(
        "kerasx.stats.compare",
        "an unknown method",
        "Invalid value for argument `method`. Expected one of ('percentile', 'bca'). Received: method='BCa'",
        call=lambda ctx: _stats().compare(_labels(), _probs(), _probs(), method="BCa"),
    ),
    Row(
        "kerasx.stats.compare",
        "B's scores of another length than the labels",
        "Invalid value for argument `score_b`. Expected one score per row of y_true (20). Received: score_b=array of shape (5,)",
        call=lambda ctx: _stats().compare(_labels(), _probs(), _probs()[:5]),
    ),
    Row(
        "kerasx.stats.compare",
        "inf in A's scores",
        "Invalid value for argument `score_a`. Expected finite values (no NaN or inf). Received: score_a=array of shape (20,) with 1 NaN or inf",
        call=lambda ctx: _stats().compare(_labels(), np.r_[INF, _probs()[1:]], _probs()),
    ),
    Row(
        "kerasx.stats.compare",
        "labels that are not 0/1",
        "Invalid value for argument `y_true`. Expected 0/1 labels. Received: y_true=array with values [0, 2]",
        call=lambda ctx: _stats().compare(2 * _labels(), _probs(), _probs()),
    ),
    Row(
        "kerasx.stats.compare",
        "one class only, for an AUC",
        "Invalid value for argument `y_true`. Expected both classes (0 and 1) for metric='roc_auc'. Received: y_true=20 labels, 0 of class 1",
        call=lambda ctx: _stats().compare(np.zeros(20, int), _probs(), _probs(), metric="roc_auc"),
    ),
    Row(
        "kerasx.stats.compare",
        "a single group",
        "Invalid value for argument `groups`. Expected at least 2 distinct groups. Received: groups=20 rows in 1 group",
        call=lambda ctx: _stats().compare(_labels(), _probs(), _probs(), groups=np.zeros(20)),
    ),
    Row(
        "kerasx.stats.compare",
        "level = 0",
        "Invalid value for argument `level`. Expected a float in (0, 1). Received: level=0",
        call=lambda ctx: _stats().compare(_labels(), _probs(), _probs(), level=0),
    ),
    Row(
        "kerasx.stats.compare",
        "a negative number of resamples",
        "Invalid value for argument `n_resamples`. Expected an integer >= 1. Received: n_resamples=-5",
        call=lambda ctx: _stats().compare(_labels(), _probs(), _probs(), n_resamples=-5),
    ),
    Row(
        "kerasx.stats.compare",
        "too few resamples for a 99% interval",
        "Invalid value for argument `n_resamples`. Expected an integer >= 200 (2 / (1 - level): a resample in each tail). Received: n_resamples=150",
        call=lambda ctx: _stats().compare(
            _labels(), _probs(), _probs(), n_resamples=150, level=0.99
        ),
    ),
    Row(
        "kerasx.stats.mcnemar",
        "correctness that is not bools or 0/1",
        "Invalid value for argument `correct_a`. Expected 0/1 labels. Received: correct_a=array with values [0, 1, 2]",
        call=lambda ctx: _stats().mcnemar([0, 2, 1], [1, 1, 1]),
    ),
    Row(
        "kerasx.stats.mcnemar",
        "vectors of different lengths",
        "Invalid value for argument `correct_b`. Expected one value per row of correct_a (3). Received: correct_b=array of shape (2,)",
        call=lambda ctx: _stats().mcnemar([0, 1, 1], [1, 1]),
    ),
    Row(
        "kerasx.stats.delong_test",
        "a single row of a class",
        "Invalid value for argument `y_true`. Expected at least 2 rows of each class for DeLong's test. Received: y_true=20 labels, 1 of class 1",
        call=lambda ctx: _stats().delong_test(np.r_[1, np.zeros(19, int)], _probs(), _probs()),
    ),
    Row(
        "kerasx.stats.delong_test",
        "NaN in A's scores",
        "Invalid value for argument `score_a`. Expected finite values (no NaN or inf). Received: score_a=array of shape (20,) with 1 NaN or inf",
        call=lambda ctx: _stats().delong_test(_labels(), np.r_[NAN, _probs()[1:]], _probs()),
    ),
]


def _conformal():
    from kerasx import conformal

    return conformal


STATS_PATIENTS = [
    Row(
        "kerasx.stats.patient_diagnosis",
        "one patient only",
        "Invalid value for argument `groups`. Expected at least 2 distinct groups. Received: groups=2 rows in 1 group",
        call=lambda ctx: _stats().patient_diagnosis([0, 1], [0.2, 0.8], ["P1", "P1"]),
    ),
    Row(
        "kerasx.stats.patient_diagnosis",
        "NaN scores",
        "Invalid value for argument `y_score`. Expected finite values (no NaN or inf). Received: y_score=array of shape (2,) with 1 NaN or inf",
        call=lambda ctx: _stats().patient_diagnosis([0, 1], [0.2, NAN], ["P1", "P2"]),
    ),
    Row(
        "kerasx.stats.patient_diagnosis",
        "patient ids of another length than the labels",
        "Invalid value for argument `groups`. Expected one group label per row of y_true (2).",
        call=lambda ctx: _stats().patient_diagnosis([0, 1], [0.2, 0.8], ["P1", "P2", "P3"]),
    ),
    Row(
        "kerasx.stats.patient_diagnosis",
        "an unknown rule",
        "Invalid value for argument `rule`. Expected one of ('any', 'fraction'). Received: rule='all'",
        call=lambda ctx: _stats().patient_diagnosis([0, 1], [0.2, 0.8], ["P1", "P2"], rule="all"),
    ),
    Row(
        "kerasx.stats.patient_diagnosis",
        "rule='fraction' without a fraction",
        "Invalid value for argument `fraction`. Expected a float in (0, 1] with rule='fraction'. Received: fraction=None",
        call=lambda ctx: _stats().patient_diagnosis(
            [0, 1], [0.2, 0.8], ["P1", "P2"], rule="fraction"
        ),
    ),
    Row(
        "kerasx.stats.patient_diagnosis",
        "a fraction with rule='any'",
        "Invalid value for argument `fraction`. Expected None with rule='any' (use rule='fraction'). Received: fraction=0.5",
        call=lambda ctx: _stats().patient_diagnosis([0, 1], [0.2, 0.8], ["P1", "P2"], fraction=0.5),
    ),
    Row(
        "kerasx.stats.patient_diagnosis",
        "min_cells = 0",
        "Invalid value for argument `min_cells`. Expected an integer >= 1. Received: min_cells=0",
        call=lambda ctx: _stats().patient_diagnosis([0, 1], [0.2, 0.8], ["P1", "P2"], min_cells=0),
    ),
    Row(
        "kerasx.stats.choose_threshold",
        "labels of one class only",
        "Invalid value for argument `y_true`. Expected both classes (0 and 1) for choosing a threshold. Received: y_true=3 labels, 3 of class 1",
        call=lambda ctx: _stats().choose_threshold([1, 1, 1], [0.2, 0.8, 0.5]),
    ),
    Row(
        "kerasx.stats.choose_threshold",
        "an unknown criterion",
        "Invalid value for argument `criterion`. Expected 'youden', 'sensitivity>=x' or 'specificity>=x' with x in [0, 1]. Received: criterion='sensitivity>0.9'",
        call=lambda ctx: _stats().choose_threshold([0, 1], [0.2, 0.8], criterion="sensitivity>0.9"),
    ),
    Row(
        "kerasx.stats.choose_threshold",
        "a floor outside [0, 1]",
        "Invalid value for argument `criterion`. Expected 'youden', 'sensitivity>=x' or 'specificity>=x' with x in [0, 1]. Received: criterion='specificity>=95'",
        call=lambda ctx: _stats().choose_threshold([0, 1], [0.2, 0.8], criterion="specificity>=95"),
    ),
    Row(
        "kerasx.stats.choose_threshold",
        "scores of another length than the labels",
        "Invalid value for argument `y_score`. Expected one score per row of y_true (3). Received: y_score=array of shape (2,)",
        call=lambda ctx: _stats().choose_threshold([0, 1, 1], [0.2, 0.8]),
    ),
]


CONFORMAL = [
    Row(
        "kerasx.conformal.SplitConformalClassifier",
        "alpha = 1",
        "Invalid value for argument `alpha`. Expected a float in (0, 1). Received: alpha=1",
        call=lambda ctx: _conformal().SplitConformalClassifier(alpha=1),
    ),
    Row(
        "kerasx.conformal.SplitConformalClassifier",
        "an unknown score",
        "Invalid value for argument `score`. Expected one of ('lac', 'aps'). Received: score='raps'",
        call=lambda ctx: _conformal().SplitConformalClassifier(score="raps"),
    ),
    Row(
        "kerasx.conformal.SplitConformalClassifier",
        "labels of another length than the scores",
        "Invalid value for argument `y_cal`. Expected one class index per row of scores_cal (2), shape (n,). Received: y_cal=array of shape (3,)",
        call=lambda ctx: _conformal().SplitConformalClassifier().fit([0, 1, 1], [0.2, 0.9]),
    ),
    Row(
        "kerasx.conformal.SplitConformalClassifier",
        "NaN scores",
        "Invalid value for argument `scores_cal`. Expected finite values (no NaN or inf). Received: scores_cal=array of shape (2,) with 1 NaN or inf",
        call=lambda ctx: _conformal().SplitConformalClassifier().fit([0, 1], [0.2, NAN]),
    ),
    Row(
        "kerasx.conformal.SplitConformalClassifier",
        "logits instead of probabilities",
        "Invalid value for argument `scores_cal`. Expected probabilities in [0, 1]. Received: scores_cal=values in [-1.2, 2.5] Scores outside [0, 1] are usually logits: apply a sigmoid or a softmax first.",
        call=lambda ctx: _conformal().SplitConformalClassifier().fit([0, 1], [-1.2, 2.5]),
    ),
    Row(
        "kerasx.conformal.SplitConformalClassifier",
        "a label outside [0, C)",
        "Invalid value for argument `y_cal`. Expected class indices (integers) in [0, 2). Received: y_cal=array with values [2]",
        call=lambda ctx: _conformal().SplitConformalClassifier().fit([0, 2], [0.2, 0.7]),
    ),
    Row(
        "kerasx.conformal.SplitConformalClassifier",
        "a class without calibration rows (mondrian=True)",
        "Invalid value for argument `y_cal`. Expected calibration rows of every class 0..1 (mondrian=True). Received: y_cal=3 labels, per class [3, 0] Add rows of the missing class, or use mondrian=False.",
        call=lambda ctx: _conformal().SplitConformalClassifier().fit([0, 0, 0], [0.2, 0.3, 0.4]),
    ),
    Row(
        "kerasx.conformal.SplitConformalClassifier",
        "class probabilities whose rows do not sum to 1",
        "Invalid value for argument `scores_cal`. Expected rows of class probabilities that sum to 1 (a softmax output). Received: scores_cal=a row summing to 0.9",
        call=lambda ctx: (
            _conformal().SplitConformalClassifier().fit([0, 1], [[0.2, 0.7], [0.5, 0.5]])
        ),
    ),
    Row(
        "kerasx.conformal.SplitConformalClassifier",
        "predict before fit",
        "This SplitConformalClassifier is not fitted yet: call fit(y_cal, scores_cal) or fit_model(model, x_cal, y_cal) first.",
        call=lambda ctx: _conformal().SplitConformalClassifier().predict([0.3]),
    ),
    Row(
        "kerasx.stats.wilson_interval",
        "more successes than trials",
        "Invalid value for argument `k`. Expected an int in [0, n] = [0, 3]. Received: k=5",
        call=lambda ctx: _stats().wilson_interval(5, 3),
    ),
    Row(
        "kerasx.stats.wilson_interval",
        "no trials",
        "Invalid value for argument `n`. Expected an integer >= 1. Received: n=0",
        call=lambda ctx: _stats().wilson_interval(0, 0),
    ),
    Row(
        "kerasx.stats.wilson_interval",
        "a level of 1",
        "Invalid value for argument `level`. Expected a float in (0, 1). Received: level=1.0",
        call=lambda ctx: _stats().wilson_interval(1, 3, level=1.0),
    ),
    Row(
        "kerasx.conformal.coverage_report",
        "sets that are not booleans",
        "Invalid value for argument `sets`. Expected an (n, C) array of booleans with C >= 2. Received: sets=array of shape (2, 2)",
        call=lambda ctx: _conformal().coverage_report([0, 1], [[2, 0], [0, 1]]),
    ),
    Row(
        "kerasx.conformal.coverage_report",
        "labels of another length than the sets",
        "Invalid value for argument `y_true`. Expected one class index per row of sets (1), shape (n,). Received: y_true=array of shape (2,)",
        call=lambda ctx: _conformal().coverage_report([0, 1], [[1, 0]]),
    ),
]


API_ROWS = (
    BACKPROP
    + LOSSES
    + METRICS
    + REGULARIZERS
    + TRAINING
    + CALLBACKS
    + DATA
    + DISTRIBUTION
    + RECIPES
    + EXPLAIN
    + CALIBRATION
    + FUNCTIONAL
    + STATS_A
    + STATS_PATIENTS
    + CONFORMAL
    + TUNING
    + MALARIA_API
)
COMMAND_ROWS = MALARIA + TUNE + REPORT + AUDIT
ROWS = API_ROWS + COMMAND_ROWS

# --------------------------------------------------------------------------------------------
# The page


def _cell(text):
    return text.replace("|", "\\|")


def _code(text):
    return f"`` {text} ``" if text else ""


def _error_name(raises):
    kinds = raises if isinstance(raises, tuple) else (raises,)
    return " or ".join(f"`{kind.__name__}`" for kind in kinds)


def render():
    """The Markdown of ``docs/bad-inputs.md``."""
    lines = [
        "# Bad inputs",
        "",
        "What every public entry point of kerasx refuses, and the message it gives. Every row "
        "is a test (`tests/test_bad_inputs.py`) that makes the bad call and checks the error, "
        "its message, and that nothing was written: no output file, no temporary file, no "
        "half-written folder. This page is generated from `tests/bad_inputs_catalogue.py`; a "
        "test fails when they differ.",
        "",
        "Python functions and classes raise the error in the *Error* column; the messages of "
        "argument checks have one form, ``Invalid value for argument `x`. Expected ... "
        "Received: x=...``. Commands print one line, `kerasx <command>: <message>` (for an "
        "option refused when the command line is parsed, `kerasx <command>: argument --option: "
        "expected ...`), and exit with status 2; `--debug` shows the traceback instead.",
        "",
        "A *full disk* is simulated: each write through kerasx's file writer fails midway "
        "with `OSError(ENOSPC)` after part of the file is on disk. A *read-only* folder is "
        "mode 0555; as root, which ignores the mode, the refusal is simulated (`os.access` "
        "says no and creating a file in it raises `PermissionError`).",
        "",
        "The *Message* column holds a literal part of the message.",
        "",
    ]
    sections = [
        ("Python API", API_ROWS, ("Entry point", "Rejects", "Error", "Message")),
        ("Commands", COMMAND_ROWS, ("Option", "Rejects", "Exit", "Message")),
    ]
    for title, rows, header in sections:
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |", "| --- " * 4 + "|"]
        for row in rows:
            error = "2" if row.command else _error_name(row.raises)
            pending = " (open: see the note)" if row.xfail else ""
            cells = (f"`{row.entry}`", row.rejects + pending, error, _code(row.message))
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        lines.append("")
    lines += [
        "## Nothing to reject",
        "",
        "| Name | Why |",
        "| --- | --- |",
        *(f"| `{name}` | {why} |" for name, why in sorted(NO_INPUT.items())),
        *(f"| `{flag}` | {why} |" for flag, why in FLAGS.items()),
        "",
    ]
    open_rows = [row for row in ROWS if row.xfail]
    if open_rows:
        lines += ["## Open", ""]
        lines += [f"- `{row.entry}`, {row.rejects}: {row.xfail}" for row in open_rows]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render())
