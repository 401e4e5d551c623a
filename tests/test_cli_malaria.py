"""``kerasx malaria`` end to end: outputs, scores, external test folders, errors, crash resume.

Runs in-process through :func:`kerasx.cli.main` on tiny synthetic images (8×8, a quarter of the
synthetic set, two epochs), so the whole module stays cheap; the run that checks accuracy is
marked slow.
"""

import contextlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, matthews_corrcoef, roc_auc_score
from test_report import assert_table_matches, parse_page

from kerasx.cli import main
from kerasx.malaria import BACKUP_DIR, METRICS_SCHEMA, output_files

TINY = ["--data", "synthetic", "--image-size", "8", "--fraction", "0.25", "--seed", "1", "--no-xla"]


def _run(argv):
    """Runs ``kerasx malaria`` in-process; returns (status, stdout)."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = main(["malaria", *argv])
    return status, stdout.getvalue()


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    """Both models and the baseline; the CNN at 16×16, the MLP and the baseline at 8×8."""
    out = tmp_path_factory.mktemp("malaria_run")
    status, stdout = _run([*TINY, "--cnn-image-size", "16", "--epochs", "2", "--out", str(out)])
    return status, stdout, out


def _split(image_size):
    from kerasx.data import load_malaria

    return load_malaria("synthetic", fraction=0.25, image_size=image_size, seed=1, flatten=False)


def test_writes_every_output(synthetic_run):
    status, stdout, out = synthetic_run
    assert status == 0
    for name in output_files(("mlp", "cnn")):
        assert (out / name).stat().st_size > 0, name
    assert output_files(("mlp",))[:5] == output_files(("mlp", "cnn"))[:5]
    assert "gradcam.png" not in output_files(("mlp",))  # Grad-CAM needs a convolution
    for png in (*(name for name in output_files(("mlp", "cnn")) if name.endswith(".png")),):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    assert "[kerasx malaria] training the MLP" in stdout  # progress
    assert "[kerasx malaria] training the CNN" in stdout
    header = next(line for line in stdout.splitlines() if line.strip().startswith("MLP"))
    assert header.split() == ["MLP", "CNN", "logistic"]
    interval = r"\d\.\d{3} \[-?\d\.\d{3}, -?\d\.\d{3}\]"
    for title in ("accuracy", "sensitivity", "specificity", "MCC", "ROC AUC", "ECE", "Brier score"):
        line = next(line for line in stdout.splitlines() if line.startswith(title))
        assert len(re.findall(interval, line)) == 3, line  # every model, with its interval
    line = next(line for line in stdout.splitlines() if line.startswith("train time (s)"))
    assert len(line.split()) == 3 + 3
    assert "[brackets]: 95% interval, by image" in stdout
    assert "the MLP is " in stdout and " than the logistic baseline: accuracy " in stdout
    assert "Test set: held-out SYNTHETIC images" in stdout
    assert not (out / BACKUP_DIR).exists()  # removed after a normal end


def test_metrics_json_has_one_entry_per_model(synthetic_run):
    """Catches a report keyed by the table's titles ("MLP", "logistic"), or one that keeps only
    the last model trained (a dict overwritten in the loop)."""
    _, _, out = synthetic_run
    report = json.loads((out / "metrics.json").read_text())
    assert {"mlp", "cnn", "baseline"} <= set(report)
    assert set(report) - {"mlp", "cnn", "baseline"} == {"schema", "run", "data", "settings"}
    assert report["schema"] == METRICS_SCHEMA
    assert report["run"] == json.loads((out / "run.json").read_text())["run"]
    import keras

    assert report["settings"]["backend"] == {
        "name": keras.backend.backend(),
        "dtype_policy": keras.config.dtype_policy().name,
    }
    for name in ("mlp", "cnn", "baseline"):
        calibration = report[name]["calibration"]
        for key in ("ece", "brier", "nll"):
            assert calibration["before"][key] >= 0
        assert calibration["before"]["accuracy"] == pytest.approx(report[name]["accuracy"])
    for name in ("mlp", "cnn"):  # scaling by T > 0 keeps every predicted class
        calibration = report[name]["calibration"]
        assert calibration["temperature"] > 0 and calibration["n_validation"] == 56
        assert calibration["after"]["accuracy"] == calibration["before"]["accuracy"]
    assert report["baseline"]["calibration"]["temperature"] is None  # no held-out rows
    assert report["data"]["synthetic"] is True and report["data"]["split"] == "cell"
    assert report["data"]["external_validation"] is False
    assert report["mlp"]["image_size"] == 8 and report["cnn"]["image_size"] == 16
    for name in ("mlp", "cnn", "baseline"):
        assert report[name]["n"] == report["data"]["n_test"] == 140
        for key in ("accuracy", "sensitivity", "specificity", "roc_auc"):
            assert 0 <= report[name][key] <= 1
        assert -1 <= report[name]["mcc"] <= 1 and report[name]["train_time_s"] > 0


def test_network_scores_are_the_saved_models_on_the_test_rows(synthetic_run):
    """The reported scores are those of the saved models on the held-out rows, each model at its
    own image size. Catches scoring on the training rows or on a different split seed, and
    scoring the CNN on the MLP's images (a shape error) or with the MLP's predictions."""
    import keras

    _, _, out = synthetic_run
    report = json.loads((out / "metrics.json").read_text())
    for name, file, size in (("mlp", "model.keras", 8), ("cnn", "cnn.keras", 16)):
        _, (X_test, y_test) = _split(size)
        scores = keras.models.load_model(out / file).predict(X_test, verbose=0).ravel()
        assert report[name]["accuracy"] == pytest.approx(accuracy_score(y_test, scores > 0.5))
        assert report[name]["roc_auc"] == pytest.approx(roc_auc_score(y_test, scores))
    mlp = keras.models.load_model(out / "model.keras")
    # the command's MLP: standardized inputs, Adam(1e-4), L2 1e-3 on the hidden kernels
    assert mlp.get_layer("standardize") is not None
    assert np.isclose(float(mlp.optimizer.learning_rate), 1e-4)
    kernel = mlp.get_layer("my_dense_layer").kernel.numpy()
    assert np.isclose(float(mlp.losses[0]), 1e-3 * np.sum(kernel**2), rtol=1e-4)


def test_baseline_is_sklearn_on_exactly_the_test_rows(synthetic_run):
    """The baseline's row equals scikit-learn's LogisticRegression fitted on every training row
    (validation share included) and scored on the test rows. Catches scoring it on the training
    rows (it separates them: accuracy 1.0), fitting it on the MLP's training part only, or
    swapping the predicted class columns."""
    _, _, out = synthetic_run
    report = json.loads((out / "metrics.json").read_text())["baseline"]
    (X_train, y_train), (X_test, y_test) = _split(8)
    flat = LogisticRegression(C=1.0, max_iter=1000, random_state=0)
    flat.fit(X_train.reshape(len(X_train), -1), y_train.astype(int))
    scores = flat.predict_proba(X_test.reshape(len(X_test), -1))[:, 1]
    # The job minimises the same objective with the same L-BFGS options on 8-bit pixels in
    # chunks (kerasx.malaria.train.fit_baseline); its stopping point differs within lbfgs's
    # tolerance: on these 140 test rows the probabilities differ by at most 0.0026 and one
    # row near 0.5 changes class (measured). Scoring the training rows (accuracy 1.0), other
    # rows or swapped columns moves the figures by far more.
    one_row = 1.5 / len(y_test)
    assert report["accuracy"] == pytest.approx(accuracy_score(y_test, scores > 0.5), abs=one_row)
    assert report["mcc"] == pytest.approx(matthews_corrcoef(y_test, scores > 0.5), abs=0.03)
    assert report["roc_auc"] == pytest.approx(roc_auc_score(y_test, scores), abs=0.005)
    train_accuracy = flat.score(X_train.reshape(len(X_train), -1), y_train.astype(int))
    assert abs(train_accuracy - report["accuracy"]) > 0.05  # the two can be told apart


def test_history_and_summary(synthetic_run):
    _, _, out = synthetic_run
    report = json.loads((out / "metrics.json").read_text())
    history = pd.read_csv(out / "history.csv")
    assert set(history["data"]) == {"SYNTHETIC"}
    for name in ("mlp", "cnn"):
        assert (history["model"] == name).sum() == report[name]["epochs_run"] <= 2
    assert {"loss", "val_loss", "accuracy", "val_sensitivity", "val_mcc"} <= set(history.columns)
    summary = (out / "summary.txt").read_text()
    assert "SYNTHETIC" in summary and "my_dense_layer" in summary and "conv_1" in summary
    hand = (8 * 8 * 3 + 1) * 300 + 301 * 100 + 101 * 50 + 51
    assert f"{hand:,} trainable" in summary


def test_the_cnn_trains_on_a_one_cycle_schedule_and_the_mlp_at_a_constant_rate(synthetic_run):
    """history.csv's learning rate at each epoch's end is the one-cycle rate of that epoch's
    last step for the CNN (504 rows fit: 16 steps an epoch, a cycle of 2 epochs peaking at
    ``CNN_MAX_LR``), and Adam's 1e-4 throughout for the MLP; metrics.json says so. Catches a
    cycle over the MLP too, one that spans another number of epochs (100, the old ceiling), and
    a schedule the outputs do not name."""
    from kerasx.callbacks import one_cycle_schedule
    from kerasx.malaria.train import CNN_MAX_LR

    _, _, out = synthetic_run
    report = json.loads((out / "metrics.json").read_text())
    history = pd.read_csv(out / "history.csv")
    steps, epochs = 16, report["cnn"]["epochs"]
    assert (
        epochs == 2 and report["cnn"]["learning_rate"] == f"one-cycle, peak {CNN_MAX_LR:g} (Adam)"
    )
    cnn = history[history["model"] == "cnn"]
    expected = [
        one_cycle_schedule(steps * (epoch + 1) - 1, steps * epochs, CNN_MAX_LR)[0]
        for epoch in cnn["epoch"]
    ]
    np.testing.assert_allclose(cnn["learning_rate"], expected, rtol=1e-6)
    mlp = history[history["model"] == "mlp"]
    np.testing.assert_allclose(mlp["learning_rate"], 1e-4, rtol=1e-6)
    assert report["mlp"]["learning_rate"] == "constant 0.0001 (Adam)"


def test_temperature_is_fitted_on_kerass_validation_rows(synthetic_run):
    """Each network's temperature is fitted on the rows ``validation_split`` held out: the last
    56 of the 560 training rows. Pinned twice: the saved model's loss on those rows equals the
    ``val_loss`` Keras logged at the best epoch (whose weights EarlyStopping restored), and
    ``fit_temperature`` on its predictions there gives the reported temperature. Catches
    fitting T on the first rows, on every training row, or on the test rows (each gives another
    loss or another T), and an off-by-one slice (the loss of 55 or 57 rows differs)."""
    import keras

    from kerasx.calibration import fit_temperature

    _, _, out = synthetic_run
    report = json.loads((out / "metrics.json").read_text())
    history = pd.read_csv(out / "history.csv")
    for name, file, size in (("mlp", "model.keras", 8), ("cnn", "cnn.keras", 16)):
        (X_train, y_train), _ = _split(size)
        X_val, y_val = X_train[504:], y_train[504:]
        model = keras.models.load_model(out / file)
        logged = history[history["model"] == name]["val_loss"].to_numpy()
        loss = model.evaluate(X_val, y_val, batch_size=32, verbose=0, return_dict=True)["loss"]
        assert loss == pytest.approx(logged[report[name]["best_epoch"]], rel=1e-5), name
        expected = fit_temperature(y_val, model.predict(X_val, verbose=0).ravel())
        assert report[name]["calibration"]["temperature"] == pytest.approx(expected, rel=1e-6)


def test_report_html_shows_the_runs_numbers(synthetic_run):
    """report.html is written last, from the folder: its tables equal metrics.json and it
    carries the synthetic banner and the command of run.json."""
    _, _, out = synthetic_run
    report = json.loads((out / "metrics.json").read_text())
    run = json.loads((out / "run.json").read_text())
    text = (out / "report.html").read_text()
    assert_table_matches(parse_page(text).tables, report)
    assert "synthetic-banner" in text
    assert shlex.split(run["command"])[:2] == ["kerasx", "malaria"]
    assert run["featured_model"] == "cnn" and run["argv"] is None  # in-process: not typed
    assert run["models"]["cnn"]["parameters"] == report["cnn"]["parameters"]
    assert "Param #" in run["models"]["cnn"]["summary"]  # the summary's last column is there


@pytest.mark.parametrize(
    "argv",
    [
        ["--data", "synthetic", "--quick"],
        ["--data", "synthetic", "--model", "cnn", "--xla", "--patience", "2", "--epochs", "3"],
        ["--data", "MALARIA", "--model", "mlp", "--no-xla", "--out", "a dir/with 'quotes'"],
        ["--data", "MALARIA", "--test-data", "MALARIA", "--fraction", "0.3", "--seed", "4"],
        ["--data", "tfds", "--split", "cell", "--batch-size", "64", "--image-size", "50"],
        ["--data", "synthetic", "--model", "mlp", "--batch-size", "128", "--backend", "jax"],
        ["--data", "synthetic", "--model", "mlp", "--batch-size", "128"],  # auto: jax
        ["--data", "MALARIA", "--model", "mlp", "--cache-dir", "a cache"],
    ],
)
def test_the_recorded_command_repeats_the_settings(argv, tmp_path):
    """Parsing run.json's command gives back every setting of the run (``--quick`` expanded).
    Catches a command that leaves out an option that was given, one that omits ``--split``
    (the validation rows of an external run depend on it) and unquoted paths."""
    from kerasx.cli import build_parser
    from kerasx.commands.malaria import config_from_args

    (tmp_path / "Parasitized").mkdir()
    argv = [str(tmp_path) if arg == "MALARIA" else arg for arg in argv]
    parser = build_parser()
    config = config_from_args(parser.parse_args(["malaria", *argv]))
    command = shlex.split(config.command_line("runs/x"))
    assert command[:2] == ["kerasx", "malaria"] and "--quick" not in command
    again = config_from_args(parser.parse_args(command[1:]))
    assert again == config.replace(quick=False)


def test_grad_cam_runs_on_a_few_chosen_cells_only(monkeypatch, tmp_path):
    """gradcam.png costs a Grad-CAM pass over at most 12 images (3 right and 3 wrong of each
    class), with the predicted class's evidence, whatever the size of the test set. Catches a
    pass over every test image (seconds on a real test set) and the default class (1)."""
    import keras

    from kerasx import explain
    from kerasx.malaria import report as _malaria_report

    calls = []
    original = explain.grad_cam

    def spy(model, images, *args, **kwargs):
        calls.append((len(images), kwargs.get("class_index")))
        return original(model, images, *args, **kwargs)

    monkeypatch.setattr(explain, "grad_cam", spy)
    inputs = keras.Input((6, 6, 3))
    features = keras.layers.Conv2D(2, 3, activation="relu")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(pooled))
    rng = np.random.default_rng(0)
    images, y = rng.random((200, 6, 6, 3)), np.arange(200) % 2
    scores = rng.random(200)  # every group has plenty of rows
    _malaria_report.draw_grad_cam(tmp_path / "gradcam.png", model, images, y, scores)
    assert calls == [(12, "predicted")]
    assert (tmp_path / "gradcam.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


RELOAD_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import keras
    import kerasx.metrics  # registers the kerasx metrics the models were compiled with
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
    keras.models.load_model(f"{out}/cnn.keras")  # no custom_objects
    np.save(f"{out}/reloaded_keras.npy", predictions["keras"])
    np.save(f"{out}/reloaded_h5.npy", predictions["h5"])
    print("ok")
    """
)


def test_models_reload_in_a_fresh_process(synthetic_run, tmp_path):
    import keras

    _, _, out = synthetic_run
    _, (X_test, _) = _split(8)
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


# --- external validation -------------------------------------------------------------------


def _write_folder(root, n_parasitized, n_uninfected, size=10):
    import tensorflow as tf

    rng = np.random.default_rng(7)
    for folder, count in (("Parasitized", n_parasitized), ("Uninfected", n_uninfected)):
        os.makedirs(root / folder)
        for i in range(count):
            pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
            png = tf.io.encode_png(pixels).numpy()
            (root / folder / f"C{i}P{i}ThinF_IMG_{folder}_{i}.png").write_bytes(png)


def test_test_data_scores_exactly_the_images_of_that_folder(tmp_path):
    """Trains on all of --data (a quarter of synthetic: 700 images) and scores the 10 PNGs of
    DIR. Catches scoring the held-out part of --data instead (140 images), applying --fraction
    to DIR (2 or 3 images), training without --data's test part (560) or outputs that do not
    say the evaluation is external."""
    import keras

    from kerasx.data import load_folder

    external = tmp_path / "other_patients"
    _write_folder(external, 6, 4)
    out = tmp_path / "out"
    argv = [*TINY, "--model", "mlp", "--epochs", "1", "--test-data", str(external)]
    status, stdout = _run([*argv, "--out", str(out)])
    assert status == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["data"]["n_test"] == report["mlp"]["n"] == report["baseline"]["n"] == 10
    assert report["data"]["n_train"] == 700
    assert report["data"]["external_validation"] is True
    assert report["data"]["test_data"] == str(external)
    assert "EXTERNAL validation" in stdout and "EXTERNAL validation" in report["data"]["evaluation"]
    X, y, _ = load_folder(external, image_size=8, flatten=False)
    scores = keras.models.load_model(out / "model.keras").predict(X, verbose=0).ravel()
    assert report["mlp"]["accuracy"] == pytest.approx(accuracy_score(y, scores > 0.5))
    assert report["mlp"]["sensitivity"] == pytest.approx(np.mean(scores[y == 1] > 0.5))


def test_cache_dir_decodes_once_and_gives_the_same_run(tmp_path):
    """A second run with the same --cache-dir reads the decoded images instead of the PNGs and
    ends on the same scores. Catches an option that is parsed but not passed to the loader, and
    a cache that changes the rows (order, labels, split)."""
    folder = tmp_path / "cells"
    _write_folder(folder, 12, 12, size=10)
    cache = tmp_path / "cache"
    argv = ["--data", str(folder), "--model", "mlp", "--image-size", "8", "--epochs", "1",
            "--no-xla", "--cache-dir", str(cache)]  # fmt: skip
    first_status, first = _run([*argv, "--out", str(tmp_path / "first")])
    assert (
        first_status == 0 and "cached the decoded images" in first and "from the cache" not in first
    )
    assert any(cache.iterdir())
    second_status, second = _run([*argv, "--out", str(tmp_path / "second")])
    assert second_status == 0 and "from the cache" in second
    runs = [
        json.loads((tmp_path / name / "metrics.json").read_text()) for name in ("first", "second")
    ]
    assert runs[0]["baseline"]["accuracy"] == runs[1]["baseline"]["accuracy"]
    assert runs[0]["data"]["n_test"] == runs[1]["data"]["n_test"]


def test_cache_dir_that_is_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    argv = [
        "--data",
        "synthetic",
        "--cache-dir",
        str(tmp_path / "file"),
        "--out",
        str(tmp_path / "o"),
    ]
    status, err = _status_and_stderr(argv, capsys)
    assert status == 2 and "--cache-dir: expected a folder path" in err


# --- errors ---------------------------------------------------------------------------------


def _status_and_stderr(argv, capsys):
    try:
        status = main(["malaria", *argv])
    except SystemExit as exit_:
        status = exit_.code
    return status, capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--epochs", "0"],
        ["--fraction", "2"],
        ["--fraction", "0"],
        ["--image-size", "x"],
        ["--model", "rnn"],
        ["--seed", "-1"],
        ["--out", "EXISTING_FILE"],
        ["--data", "MISSING"],
        ["--test-data", "MISSING"],
        ["--split", "patient", "--data", "synthetic"],
        ["--split", "patient"],  # tfds has no file names either
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, capsys, tmp_path):
    """Every bad input ends as one line ``kerasx malaria: ...`` and status 2, before any
    training. Catches a traceback, argparse's usage block before the message, and a check made
    only after the output folder was created."""
    (tmp_path / "file.txt").write_text("not a folder")
    replace = {"EXISTING_FILE": str(tmp_path / "file.txt"), "MISSING": str(tmp_path / "nope")}
    argv = [replace.get(arg, arg) for arg in argv]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    status, err = _status_and_stderr(argv, capsys)
    assert status == 2
    assert err.startswith("kerasx malaria: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "usage:" not in err
    assert not (tmp_path / "out").exists()


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(ValueError, match="patient"):
        main(["malaria", "--data", "synthetic", "--split", "patient", "--debug",
              "--out", str(tmp_path / "out")])  # fmt: skip


def test_offline_without_data_names_the_choices(monkeypatch, capsys, tmp_path):
    """TFDS unreachable: one line that says why and names the offline choices (the hint is part
    of the exception the data module raises). Catches a hint lost on the way to the user."""
    import tensorflow_datasets as tfds

    import kerasx.data.sources

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(tfds, "load", offline)
    monkeypatch.setattr(kerasx.data.sources, "_download_host_reachable", lambda *a: False)
    status, err = _status_and_stderr(["--out", str(tmp_path / "out")], capsys)
    assert status == 2 and err.count("\n") == 1
    assert err.startswith("kerasx malaria: TFDS could not provide the 'malaria' data set")
    assert "--data synthetic" in err and "--data DIR" in err
    assert not (tmp_path / "out").exists()


def test_real_images_default_to_the_patient_split(malaria_dir, tmp_path, capsys):
    args = ["--data", malaria_dir, "--image-size", "8", "--fraction", "0.2", "--epochs", "1"]
    status, stdout = _run([*args, "--model", "mlp", "--out", str(tmp_path)])
    assert status == 0
    report = json.loads((tmp_path / "metrics.json").read_text())
    assert report["data"]["synthetic"] is False and report["data"]["split"] == "patient"
    assert "held-out patients" in stdout and "SYNTHETIC" not in stdout
    # Intervals by patient, and the diagnosis per test patient (sensitivity and specificity).
    run = json.loads((tmp_path / "run.json").read_text())
    test_patients = run["split"]["sides"]["test"]["patients"]
    for name in ("mlp", "baseline"):
        entry = report[name]
        assert entry["interval_method"] == "by patient (cluster bootstrap)"
        assert entry["intervals"]["accuracy"]["n_groups"] == len(test_patients)
        patients = entry["patients"]
        assert sorted(row["patient"] for row in patients["table"]) == sorted(test_patients)
        for key in ("sensitivity", "specificity"):
            interval = patients[key]
            assert interval["method"] == "wilson" and interval["low"] <= interval["high"]
    assert "MLP per patient (" in stdout
    assert 'id="per-patient"' in (tmp_path / "report.html").read_text()


# --- crash and resume ------------------------------------------------------------------------


def _final_weights(out):
    import keras

    return keras.models.load_model(out / "model.keras").get_weights()


def test_a_crash_resumes_to_the_same_weights_as_an_uninterrupted_run(tmp_path, monkeypatch):
    """Crash after epoch 2 of 4, run the same command again: epochs 3 and 4 run from the backup
    and end on the weights of an uninterrupted run.

    Catches a resume that continues from fresh weights, or from the right weights without
    Adam's moments and step count (Adam moves each weight by up to ~1e-4 per step at learning
    rate 1e-4, 100x the tolerance), one that runs every epoch again, and a history that
    loses the epochs before the crash (2 rows in history.csv, not 4) or repeats them (6).
    Exactness: every run seeds Keras (``keras.utils.set_random_seed`` in the recipe), the MLP
    has no dropout, each epoch's order depends on (seed, epoch) only, and on CPU the same
    kernels on the same inputs give the same bits (measured: identical weights); the
    tolerance 1e-6 only allows for a platform whose kernels are not bitwise repeatable. The
    SIGKILL version, with early stopping and the CNN, is in test_cli_malaria_crash.py.
    """
    from kerasx.callbacks import HistoryFrame

    argv = [*TINY, "--model", "mlp", "--epochs", "4", "--patience", "10"]
    assert _run([*argv, "--out", str(tmp_path / "whole")])[0] == 0
    assert json.loads((tmp_path / "whole" / "metrics.json").read_text())["mlp"]["best_epoch"] == 3

    original = HistoryFrame.on_epoch_end

    def crash_after_second_epoch(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 1:
            raise RuntimeError("simulated crash")

    out = tmp_path / "crashed"
    monkeypatch.setattr(HistoryFrame, "on_epoch_end", crash_after_second_epoch)
    with pytest.raises(RuntimeError, match="simulated crash"):
        _run([*argv, "--out", str(out)])
    assert (out / BACKUP_DIR / "mlp").is_dir()  # what the two finished epochs left behind
    record = json.loads((out / "run.json").read_text())
    assert record["state"] == "failed" and record["error"] == "RuntimeError: simulated crash"

    monkeypatch.setattr(HistoryFrame, "on_epoch_end", original)
    assert _run([*argv, "--out", str(out)])[0] == 0
    history = pd.read_csv(out / "history.csv")
    assert history["epoch"].tolist() == [0, 1, 2, 3]  # the epochs before the crash included
    np.testing.assert_allclose(
        history["loss"], pd.read_csv(tmp_path / "whole" / "history.csv")["loss"], rtol=1e-6
    )
    assert not (out / BACKUP_DIR).exists()
    assert json.loads((out / "run.json").read_text())["state"] == "finished"
    whole, resumed = _final_weights(tmp_path / "whole"), _final_weights(out)
    for expected, got in zip(whole, resumed, strict=True):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


# --- accuracy (slow) -----------------------------------------------------------------------


@pytest.mark.slow
def test_quick_run_mlp_beats_chance_and_cnn_beats_both(tmp_path):
    """The README's first command (``--data synthetic --quick``, ~70 s on 2 cores).

    The MLP must reach 0.55 on the 280 test images: a model at chance (0.5) gets there with
    probability 5 % (0.05 is 1.7 standard errors of 0.03); it scores 0.568 at seed 0, and on
    these synthetic cells it does not beat the logistic baseline (0.657), as in the course.
    The CNN must reach 0.85 and beat both. Catches an MLP trained on shuffled labels or scored against misaligned labels (about
    0.5), the CNN's batch normalization stuck in inference mode (0.5: Keras's default BatchNormalization momentum), and
    swapped columns in the table.
    """
    status, stdout = _run(["--data", "synthetic", "--quick", "--out", str(tmp_path)])
    assert status == 0
    report = json.loads((tmp_path / "metrics.json").read_text())
    assert report["data"]["n_test"] == 280
    assert report["mlp"]["accuracy"] >= 0.55
    assert report["cnn"]["accuracy"] >= 0.85
    assert report["cnn"]["accuracy"] > max(
        report["mlp"]["accuracy"], report["baseline"]["accuracy"]
    )
    accuracy_line = next(line for line in stdout.splitlines() if line.startswith("accuracy"))
    expected = [report[name]["accuracy"] for name in ("mlp", "cnn", "baseline")]
    shown = re.findall(r"(\d\.\d{3}) \[", accuracy_line)  # each "0.586 [0.527, 0.642]"
    np.testing.assert_allclose([float(v) for v in shown], expected, atol=5e-4)
    assert "Why: the course's MLP" in stdout  # it loses here, and the table says why


def test_the_recorded_command_names_the_backend_auto_chose():
    """run.json's command spells out the backend ``auto`` resolved to, so a rerun trains with
    the same backend after the rule changes. Catches a command that records ``--backend auto``
    (or nothing)."""
    from kerasx.cli import build_parser
    from kerasx.commands.malaria import choose_backend, config_from_args

    parser = build_parser()
    for options, backend in (
        ([], "tensorflow"),
        (["--model", "mlp", "--batch-size", "128"], "jax"),
    ):
        args = parser.parse_args(["malaria", "--data", "synthetic", *options])
        args.backend = choose_backend(args)  # what kerasx's main does before Keras is imported
        command = shlex.split(config_from_args(args).command_line("runs/x"))
        assert command[command.index("--backend") + 1] == backend


@pytest.mark.slow
def test_runs_end_to_end_under_jax(tmp_path):
    """``kerasx malaria --backend jax`` in a fresh process (a process has one backend): both
    networks train with JAX (TensorFlow only loads the images), the outputs are written, run.json
    and metrics.json say JAX, and TensorFlow's start-up (imported for loading) says nothing about
    CUDA on stderr. Catches a command that sets the backend after Keras is imported (run.json
    would say tensorflow) and a recipe or callback that only works on TensorFlow."""
    out = tmp_path / "run"
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "MPLBACKEND": "Agg"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    options = [*TINY, "--cnn-image-size", "16", "--epochs", "2", "--backend", "jax"]
    result = subprocess.run(
        [sys.executable, "-m", "kerasx", "malaria", *options, "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name in output_files(("mlp", "cnn")):
        assert (out / name).stat().st_size > 0, name
    run = json.loads((out / "run.json").read_text())
    report = json.loads((out / "metrics.json").read_text())
    assert run["backend"] == "jax" and report["settings"]["backend"]["name"] == "jax"
    assert "--backend jax" in run["command"]
    assert not [line for line in result.stderr.splitlines() if "cuInit" in line or "cuda" in line]
