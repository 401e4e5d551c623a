"""``kerasx malaria`` end to end: outputs, reloads in a fresh process, offline behaviour."""

import contextlib
import io
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from kerasx.cli import main
from kerasx.recipes._malaria_job import OUTPUT_FILES

SYNTHETIC_ARGS = ["--data", "synthetic", "--image-size", "8", "--fraction", "0.25", "--epochs", "3"]


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("malaria_run")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = main(["malaria", *SYNTHETIC_ARGS, "--out", str(out), "--seed", "1"])
    return status, stdout.getvalue(), out


def _test_split():
    from kerasx.data import load_malaria

    _, (X_test, y_test) = load_malaria(
        "synthetic", fraction=0.25, image_size=8, seed=1, flatten=False
    )
    return X_test, y_test


def test_writes_every_output(synthetic_run):
    status, stdout, out = synthetic_run
    assert status == 0
    for name in OUTPUT_FILES:
        assert (out / name).stat().st_size > 0, name
    for png in ("curves.png", "confusion_matrix.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "[kerasx malaria] training the MLP" in stdout  # progress
    for title in ("accuracy", "sensitivity", "specificity", "MCC", "ROC AUC", "train time (s)"):
        assert title in stdout
    assert "SYNTHETIC" in stdout


def test_metrics_json_matches_the_saved_model(synthetic_run):
    import keras

    _, _, out = synthetic_run
    report = json.loads((out / "metrics.json").read_text())
    assert report["data"]["synthetic"] is True
    assert "SYNTHETIC" in report["data"]["description"]
    X_test, y_test = _test_split()
    assert report["data"]["n_test"] == len(y_test)
    model = keras.models.load_model(out / "model.keras")
    scores = model.predict(X_test, verbose=0).ravel()
    # the command's defaults: standardized inputs, Adam(1e-4), L2 1e-3 on the hidden kernels
    assert model.get_layer("standardize") is not None
    assert np.isclose(float(model.optimizer.learning_rate), 1e-4)
    kernel = model.get_layer("my_dense_layer").kernel.numpy()
    assert np.isclose(float(model.losses[0]), 1e-3 * np.sum(kernel**2), rtol=1e-4)
    assert report["mlp"]["accuracy"] == pytest.approx(accuracy_score(y_test, scores > 0.5))
    assert report["mlp"]["roc_auc"] == pytest.approx(roc_auc_score(y_test, scores))
    for model in ("mlp", "baseline"):
        for key in ("accuracy", "sensitivity", "specificity", "roc_auc"):
            assert 0 <= report[model][key] <= 1
        assert -1 <= report[model]["mcc"] <= 1 and report[model]["train_time_s"] > 0


def test_history_and_summary(synthetic_run):
    _, _, out = synthetic_run
    report = json.loads((out / "metrics.json").read_text())
    history = pd.read_csv(out / "history.csv")
    assert len(history) == report["epochs_run"] <= 3
    assert {"loss", "val_loss", "accuracy", "val_sensitivity", "val_mcc"} <= set(history.columns)
    assert set(history["data"]) == {"SYNTHETIC"}
    summary = (out / "summary.txt").read_text()
    assert "SYNTHETIC" in summary and "my_dense_layer" in summary
    hand = (8 * 8 * 3 + 1) * 300 + 301 * 100 + 101 * 50 + 51
    assert f"{hand:,} trainable" in summary


RELOAD_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import keras
    import kerasx.metrics  # registers the kerasx metrics the model was compiled with
    from kerasx.recipes import load_trained_model

    out, x_path = sys.argv[1], sys.argv[2]
    X = np.load(x_path)
    y = (np.arange(len(X)) % 2).astype("float32")
    predictions = {}
    for fmt in ("keras", "h5"):
        plain = keras.models.load_model(f"{out}/model.{fmt}")  # no custom_objects
        predictions[fmt] = plain.predict(X, verbose=0)
        model = load_trained_model(f"{out}/model.{fmt}")
        steps = int(model.optimizer.iterations)
        history = model.fit(X, y, epochs=1, batch_size=8, verbose=0)
        assert int(model.optimizer.iterations) > steps > 0
        assert np.isfinite(history.history["loss"][0])
    np.save(f"{out}/reloaded_keras.npy", predictions["keras"])
    np.save(f"{out}/reloaded_h5.npy", predictions["h5"])
    print("ok")
    """
)


def test_models_reload_in_a_fresh_process(synthetic_run, tmp_path):
    import keras

    _, _, out = synthetic_run
    X_test, _ = _test_split()
    x_path = tmp_path / "x.npy"
    np.save(x_path, X_test)
    result = subprocess.run(
        [sys.executable, "-c", RELOAD_SCRIPT, str(out), str(x_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    expected = keras.models.load_model(out / "model.keras").predict(X_test, verbose=0)
    np.testing.assert_array_equal(np.load(out / "reloaded_keras.npy"), expected)
    # Legacy .h5 keeps no jit_compile flag, so it predicts without XLA: equal up to rounding.
    np.testing.assert_allclose(np.load(out / "reloaded_h5.npy"), expected, rtol=0, atol=1e-6)


def test_offline_without_data_names_the_choices(monkeypatch, capsys, tmp_path):
    import kerasx.data

    def offline(*args, **kwargs):
        raise kerasx.data.DatasetUnavailableError("no network")

    monkeypatch.setattr(kerasx.data, "load_malaria", offline)
    status = main(["malaria", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert status != 0
    assert "--data synthetic" in captured.err and "--data DIR" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_bad_folder_is_a_message(capsys, tmp_path):
    status = main(["malaria", "--data", str(tmp_path / "missing"), "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert status == 2
    assert "kerasx malaria:" in captured.err and "Traceback" not in captured.err


@pytest.mark.parametrize(
    "args", [["--fraction", "0"], ["--fraction", "1.5"], ["--epochs", "0"], ["--image-size", "x"]]
)
def test_invalid_options_exit_with_usage(args, capsys):
    with pytest.raises(SystemExit) as info:
        main(["malaria", *args])
    assert info.value.code == 2
    assert "usage: kerasx malaria" in capsys.readouterr().err


def test_real_images(malaria_dir, tmp_path, capsys):
    args = ["--data", malaria_dir, "--image-size", "8", "--fraction", "0.2", "--epochs", "2"]
    assert main(["malaria", *args, "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "metrics.json").read_text())
    assert report["data"]["synthetic"] is False
    assert report["data"]["n_train"] + report["data"]["n_test"] == pytest.approx(560, abs=2)
    assert "SYNTHETIC" not in capsys.readouterr().out
    for name in OUTPUT_FILES:
        assert (tmp_path / name).exists(), name


def test_a_crash_mid_training_resumes_from_the_last_epoch(tmp_path, monkeypatch):
    from kerasx.callbacks import HistoryFrame
    from kerasx.recipes._malaria_job import BACKUP_DIR, run_malaria

    original = HistoryFrame.on_epoch_end

    def crash_after_second_epoch(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 1:
            raise RuntimeError("simulated crash")

    settings = dict(out=str(tmp_path), fraction=0.25, image_size=8, epochs=4, patience=10)
    monkeypatch.setattr(HistoryFrame, "on_epoch_end", crash_after_second_epoch)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_malaria("synthetic", **settings)
    assert (tmp_path / BACKUP_DIR).is_dir()  # what the two finished epochs left behind

    monkeypatch.setattr(HistoryFrame, "on_epoch_end", original)
    run_malaria("synthetic", **settings)
    history = pd.read_csv(tmp_path / "history.csv")
    assert len(history) == 2  # only epochs 3 and 4 ran again
    assert not (tmp_path / BACKUP_DIR).exists()  # removed after a normal end
