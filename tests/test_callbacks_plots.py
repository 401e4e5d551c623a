"""Tests of kerasx.callbacks.plots (LearningCurves, ConfusionMatrixLogger)."""

import os
import warnings

import keras
import numpy as np
import pytest
from callback_helpers import assert_png, small_model, tf_dataset
from helpers import binary_data
from sklearn.metrics import confusion_matrix

from kerasx import callbacks as cb

agnostic = pytest.mark.backend_agnostic

# --------------------------------------------------------------------------- LearningCurves


@agnostic
class TestLearningCurves:
    def test_writes_png_with_one_panel_per_metric(self, tmp_path):
        X, y = binary_data(n=64)
        model = small_model(metrics=("accuracy", "mae"))
        path = tmp_path / "sub" / "curves.png"
        curves = cb.LearningCurves(path, panel_size=(3, 2), dpi=50)
        history = model.fit(
            X, y, epochs=3, batch_size=16, validation_data=(X, y), verbose=0, callbacks=[curves]
        )
        names = sorted({key.removeprefix("val_") for key in history.history})
        assert sorted(curves.panels) == names == ["accuracy", "loss", "mae"]
        image = assert_png(path)
        # Each panel is 3 x 2 inches at 50 dpi, side by side.
        assert image.shape[:2] == (2 * 50, 3 * 50 * len(names))
        best = int(np.argmin(history.history["val_loss"])) + 1
        assert curves.best_epoch()[:2] == (best, "val_loss")

    def test_matrix_metrics_are_left_out(self, tmp_path):
        from kerasx.metrics import ConfusionMatrix

        X, y = binary_data(n=32)
        model = small_model(metrics=("accuracy", ConfusionMatrix()))
        curves = cb.LearningCurves(tmp_path / "curves.png")
        model.fit(X, y, epochs=2, validation_data=(X, y), verbose=0, callbacks=[curves])
        assert sorted(curves.panels) == ["accuracy", "loss"]
        assert assert_png(tmp_path / "curves.png").shape[1] == 2 * 4 * 80

    def test_missing_monitor_warns_and_still_draws(self, tmp_path):
        X, y = binary_data(n=32)
        model = small_model(metrics=())
        path = tmp_path / "curves.png"
        curves = cb.LearningCurves(path)  # val_loss is missing: no validation data
        with pytest.warns(UserWarning, match="'val_loss' is not in the logs"):
            model.fit(X, y, epochs=2, verbose=0, callbacks=[curves])
        assert curves.best_epoch() is None
        assert assert_png(path).shape[1] == 4 * 80  # one panel: loss

    def test_seven_metrics_wrap_into_a_grid_of_three_columns(self, tmp_path):
        """Seven panels used to go in one row (2240 x 240 pixels); now 3 x 3, 960 x 720."""
        X, y = binary_data(n=32)
        metrics = ("accuracy", "mae", "mse", "auc", "precision", "recall")
        model = small_model(metrics=metrics)
        path = tmp_path / "curves.png"
        curves = cb.LearningCurves(path, monitor="loss")
        model.fit(X, y, epochs=2, verbose=0, callbacks=[curves])
        assert len(curves.panels) == 7
        assert assert_png(path).shape[:2] == (3 * 3 * 80, 3 * 4 * 80)
        curves = cb.LearningCurves(tmp_path / "wide.png", monitor="loss", max_columns=7)
        model.fit(X, y, epochs=1, verbose=0, callbacks=[curves])
        assert assert_png(tmp_path / "wide.png").shape[:2] == (3 * 80, 7 * 4 * 80)

    def test_best_epoch_is_counted_from_1_and_the_plot_says_so(self, tmp_path):
        """Keras prints ``Epoch 1/4`` first; history lists and EarlyStopping count from 0."""
        from matplotlib.figure import Figure

        X, y = binary_data(n=64)
        model = small_model(metrics=())
        curves = cb.LearningCurves(tmp_path / "curves.png", monitor="val_loss")
        history = model.fit(X, y, epochs=4, validation_data=(X, y), verbose=0, callbacks=[curves])
        epoch, monitor, value = curves.best_epoch()
        losses = history.history["val_loss"]
        assert epoch == int(np.argmin(losses)) + 1
        assert value == pytest.approx(losses[epoch - 1])
        figure = Figure(figsize=(4, 3))  # one panel: the title takes two lines
        epochs, series = cb.plots.read_curves(curves.path)
        cb.plots._draw_curves(figure, epochs, series, curves.panels, (epoch, monitor, value), 3)
        assert " ".join(figure.get_suptitle().split()).startswith(
            f"best epoch {epoch} (epochs counted from 1, as Keras prints them): val_loss = "
        )
        assert figure.axes[0].get_xlabel() == "epoch (from 1)"
        assert list(figure.axes[0].lines[0].get_xdata()) == [1, 2, 3, 4]

    def test_state_reset_on_train_begin(self, tmp_path):
        X, y = binary_data(n=32)
        model = small_model(metrics=())
        curves = cb.LearningCurves(tmp_path / "c.png", monitor="loss", mode="min")
        model.fit(X, y, epochs=3, verbose=0, callbacks=[curves])
        model.fit(X, y, epochs=1, verbose=0, callbacks=[curves])
        assert curves.best_epoch()[0] == 1


# ------------------------------------------------------------------ ConfusionMatrixLogger


@agnostic
class TestConfusionMatrixLogger:
    def test_binary_matches_sklearn_and_logs_counts(self, tmp_path):
        X, y = binary_data(n=80)
        model = small_model()
        path = tmp_path / "cm.png"
        logger = cb.ConfusionMatrixLogger((X, y), path=path, batch_size=32, class_names=["a", "b"])
        history = model.fit(X, y, epochs=2, verbose=0, callbacks=[logger])
        predicted = (model.predict(X, verbose=0).reshape(-1) > 0.5).astype(int)
        expected = confusion_matrix(y.astype(int), predicted, labels=[0, 1])
        np.testing.assert_array_equal(logger.matrices[-1], expected)
        (tn, fp), (fn, tp) = expected
        last = {key: values[-1] for key, values in history.history.items()}
        assert (last["val_tn"], last["val_fp"], last["val_fn"], last["val_tp"]) == (tn, fp, fn, tp)
        assert len(logger.matrices) == 2
        assert_png(path)

    def test_multiclass_one_hot(self, rng):
        X = rng.standard_normal((60, 4)).astype("float32")
        labels = rng.integers(0, 3, 60)
        y = keras.utils.to_categorical(labels, 3)
        model = small_model(units=3)
        logger = cb.ConfusionMatrixLogger((X, y), batch_size=7)
        history = model.fit(X, y, epochs=1, verbose=0, callbacks=[logger])
        expected = confusion_matrix(
            labels, model.predict(X, verbose=0).argmax(-1), labels=[0, 1, 2]
        )
        np.testing.assert_array_equal(logger.matrices[-1], expected)
        assert "val_tp" not in history.history

    def test_tf_data_and_threshold(self):
        if keras.backend.backend() != "tensorflow":
            pytest.skip("tf.data input")
        X, y = binary_data(n=50)
        model = small_model()
        logger = cb.ConfusionMatrixLogger(tf_dataset(X, y, 16), threshold=0.3, prefix="cm_")
        history = model.fit(
            tf_dataset(X, y), epochs=1, shuffle=False, verbose=0, callbacks=[logger]
        )
        predicted = (model.predict(X, verbose=0).reshape(-1) > 0.3).astype(int)
        expected = confusion_matrix(y.astype(int), predicted, labels=[0, 1])
        np.testing.assert_array_equal(logger.matrices[-1], expected)
        assert history.history["cm_tp"] == [expected[1, 1]]

    def test_from_logs_matches_sklearn_on_the_validation_data(self, tmp_path):
        from kerasx.metrics import ConfusionMatrix

        X, y = binary_data(n=80)
        Xv, yv = binary_data(n=37, seed=1)
        model = small_model(metrics=(ConfusionMatrix(),))
        path = tmp_path / "cm.png"
        logger = cb.ConfusionMatrixLogger(path=path, from_logs="val_confusion_matrix")
        history = model.fit(X, y, epochs=2, validation_data=(Xv, yv), verbose=0, callbacks=[logger])
        predicted = (model.predict(Xv, verbose=0).reshape(-1) > 0.5).astype(int)
        expected = confusion_matrix(yv.astype(int), predicted, labels=[0, 1])
        np.testing.assert_array_equal(logger.matrices[-1], expected)
        assert logger.matrices[-1].dtype == np.int64 and len(logger.matrices) == 2
        (tn, fp), (fn, tp) = expected
        last = {key: values[-1] for key, values in history.history.items()}
        assert (last["val_tn"], last["val_fp"], last["val_fn"], last["val_tp"]) == (tn, fp, fn, tp)
        assert_png(path)

    def test_from_logs_missing_key_warns_once(self):
        X, y = binary_data(n=40)
        logger = cb.ConfusionMatrixLogger(from_logs="val_confusion_matrix")
        with pytest.warns(UserWarning, match="'val_confusion_matrix' is not in the logs") as caught:
            history = small_model().fit(X, y, epochs=2, verbose=0, callbacks=[logger])
        assert len([w for w in caught if "val_confusion_matrix" in str(w.message)]) == 1
        assert logger.matrices == [] and "val_tp" not in history.history


# --------------------------------------------------------------------------- arguments


INVALID = [
    (lambda: cb.LearningCurves(3), "path", "a file path"),
    (lambda: cb.LearningCurves("a.png", mode="up"), "mode", "one of"),
    (lambda: cb.LearningCurves("a.png", dpi=0), "dpi", "an integer >= 1"),
    (lambda: cb.LearningCurves("a.png", panel_size=(4, -1)), "panel_size", "a float > 0"),
    (lambda: cb.LearningCurves("a.png", render_budget=0), "render_budget", "a float in \\(0, 1\\]"),
    (lambda: cb.LearningCurves("a.png", render_budget=1.5), "render_budget", "a float in"),
    (lambda: cb.LearningCurves("a.png", max_columns=0), "max_columns", "an integer"),
    (lambda: cb.ConfusionMatrixLogger(5), "validation_data", "an \\(x, y\\) pair"),
    (
        lambda: cb.ConfusionMatrixLogger(([1], [1]), threshold=1.5),
        "threshold",
        r"a float in \[0, 1\]",
    ),
    (lambda: cb.ConfusionMatrixLogger(([1], [1]), batch_size=0), "batch_size", "an integer"),
    (lambda: cb.ConfusionMatrixLogger(from_logs=""), "from_logs", "a non-empty str or None"),
    (
        lambda: cb.ConfusionMatrixLogger(([1], [1]), from_logs="val_confusion_matrix"),
        "validation_data",
        "None when from_logs",
    ),
]


@agnostic
@pytest.mark.parametrize(("make", "name", "expected"), INVALID)
def test_invalid_arguments(make, name, expected):
    with pytest.raises(
        ValueError, match=f"Invalid value for argument `{name}`. Expected {expected}"
    ):
        make()


@agnostic
def test_config_holds_the_arguments(tmp_path):
    curves = cb.LearningCurves(
        tmp_path / "a.png", monitor="loss", dpi=60, render_budget=None, max_columns=2
    )
    assert cb.LearningCurves(**curves.get_config()).get_config() == curves.get_config()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cb.HistoryFrame().get_config() == {"path": None}
    assert os.fspath(tmp_path / "a.png") == curves.get_config()["path"]


# ----------------------------------------------------------------------------------------------
# Whole files and resuming


@agnostic
def test_learning_curves_continue_a_fit_that_starts_later(tmp_path):
    """A second LearningCurves on the same path, in a fit starting at epoch 3 (as one resumed by
    BackupAndRestore does), draws epochs 1-5; one that resets in on_train_begin draws 4-5."""
    X, y = binary_data(n=32)
    model = small_model(metrics=())
    path = tmp_path / "c.png"
    model.fit(X, y, epochs=3, verbose=0, callbacks=[cb.LearningCurves(path, monitor="loss")])
    curves = cb.LearningCurves(path, monitor="loss")
    history = model.fit(X, y, initial_epoch=3, epochs=5, verbose=0, callbacks=[curves])
    epochs, series = cb.plots.read_curves(path)
    assert epochs == [1, 2, 3, 4, 5]
    assert series["loss"][3:] == history.history["loss"]
    assert curves.best_epoch()[0] in epochs
    assert sorted(os.listdir(tmp_path)) == ["c.png", "c.png.json"]  # no temporary left


def test_a_reader_never_sees_a_partial_png(tmp_path):
    """Every PNG the callbacks draw goes through ``_render.save_png``. A reader polling the file
    while large PNGs are rewritten sees only whole ones (ending in the IEND chunk); a plain
    ``savefig(path)`` onto the target lets it read a truncated file."""
    import threading

    from kerasx.callbacks import _render

    path = tmp_path / "big.png"
    noise = np.random.default_rng(0).random((600, 600))

    def draw(figure, shift):
        figure.subplots().imshow(np.roll(noise, shift))

    _render.save_png(str(path), draw, (0,), (6, 6), 100)
    seen, stop = [], threading.Event()

    def read():
        while not stop.is_set():
            data = path.read_bytes()
            seen.append(data.endswith(b"IEND\xaeB`\x82"))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for shift in range(1, 6):
            _render.save_png(str(path), draw, (shift,), (6, 6), 100)
    finally:
        stop.set()
        reader.join()
    assert len(seen) > 10 and all(seen)
    assert os.listdir(tmp_path) == ["big.png"]


def _drawn_epochs(monkeypatch, tmp_path, epochs, **kwargs):
    """The last epoch of each figure LearningCurves hands to the PNG thread, and the curves."""
    from kerasx.callbacks import _render

    drawn = []
    submit = _render.submit

    def record(path, draw, args, *rest):
        drawn.append(args[0][-1])  # args = (epochs, series, panels, best)
        return submit(path, draw, args, *rest)

    monkeypatch.setattr(_render, "submit", record)
    X, y = binary_data(n=32)
    path = tmp_path / "c.png"
    curves = cb.LearningCurves(path, monitor="loss", **kwargs)
    small_model(metrics=()).fit(X, y, epochs=epochs, verbose=0, callbacks=[curves])
    return drawn, cb.plots.read_curves(path)[0]


@agnostic
def test_redraws_stay_within_the_render_budget(monkeypatch, tmp_path):
    """With a budget no drawing fits in, the first epoch is drawn (nothing spent yet) and the
    last one (always), nothing between; the numbers of every epoch are still kept. Catches a
    throttle that never draws the last epoch (a stale PNG after fit) and one that skips the
    numbers with the drawing."""
    drawn, kept = _drawn_epochs(monkeypatch, tmp_path, 5, render_budget=1e-12)
    assert drawn == [1, 5]
    assert kept == [1, 2, 3, 4, 5]
    assert_png(tmp_path / "c.png")


@agnostic
def test_no_budget_redraws_every_epoch(monkeypatch, tmp_path):
    drawn, _ = _drawn_epochs(monkeypatch, tmp_path, 3, render_budget=None)
    assert drawn == [1, 2, 3]


@agnostic
def test_render_time_is_counted_per_file(tmp_path):
    """``_render.spent`` grows by the drawing's CPU time for its file only."""
    from kerasx.callbacks import _render

    def draw(figure):
        figure.subplots().plot(np.arange(10))

    path = str(tmp_path / "a.png")
    before, other = _render.spent(path), _render.spent(str(tmp_path / "b.png"))
    _render.submit(path, draw, (), (4, 3), 80)
    _render.flush()
    assert _render.spent(path) > before
    assert _render.spent(str(tmp_path / "b.png")) == other
