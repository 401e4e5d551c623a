"""``kerasx.malaria``: the typed job, and a rerun that can never mix two runs.

The refusal tests interrupt a run after its first epoch (a crash raised from a callback), then
run into the same ``--out`` with other settings: the command must stop before training with
one line and exit status 2, leaving every file as it was. Tiny synthetic images (8×8) keep each
run to seconds; the real-cells versions use the shared cell images and skip without them.
"""

import contextlib
import io
import json
import os

import pytest
from helpers import folder_snapshot

from kerasx import InvalidArgument
from kerasx.cli import main
from kerasx.malaria import BACKUP_DIR, MalariaConfig, RunMismatch, run_malaria

TINY = ["--data", "synthetic", "--image-size", "8", "--fraction", "0.25", "--no-xla"]
MLP = [*TINY, "--model", "mlp", "--epochs", "3", "--patience", "10"]


def _snapshot_of(folder):
    return folder_snapshot(folder, mtimes=True)


def _main(argv):
    """``kerasx malaria`` in-process: (status, stdout)."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = main(["malaria", *argv])
    return status, stdout.getvalue()


@pytest.fixture
def crash_after_second_epoch(monkeypatch):
    """Makes every ``fit`` raise after its second epoch (once the history row is written)."""
    from kerasx.callbacks import HistoryFrame

    original = HistoryFrame.on_epoch_end

    def crash(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 1:
            raise RuntimeError("simulated crash")

    monkeypatch.setattr(HistoryFrame, "on_epoch_end", crash)
    yield
    monkeypatch.setattr(HistoryFrame, "on_epoch_end", original)


def _interrupted(out, argv):
    from kerasx.callbacks import _render

    with pytest.raises(RuntimeError, match="simulated crash"):
        _main([*argv, "--out", str(out)])
    _render.flush()  # the crashed run's learning curves, drawn beside training, are written
    assert (out / BACKUP_DIR / "mlp").is_dir()
    assert json.loads((out / "run.json").read_text())["state"] == "failed"
    return _snapshot_of(out)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (["--seed", "1"], "seed=0, this one has seed=1"),
        (["--image-size", "10"], "image_size=8, this one has image_size=10"),
        pytest.param(["--fraction", "0.3"], "fraction=0.25", marks=pytest.mark.slow),
        pytest.param(["--model", "all"], "model='mlp'", marks=pytest.mark.slow),
        pytest.param(["--batch-size", "16"], "batch_size=32", marks=pytest.mark.slow),
    ],
)
def test_a_rerun_with_other_settings_is_refused_before_training(
    tmp_path, capsys, monkeypatch, crash_after_second_epoch, change, named
):
    """The mixed-run scenario of the issue: interrupted with seed 0, rerun with seed 1 (or
    another image size, fraction, model, batch size). Catches a command that resumes the old
    backup (the seed-1 test cells were training cells of the resumed weights), one that
    refuses only after loading and writing run.json (files changed), and a message that does
    not name the setting."""
    out = tmp_path / "run1"
    before = _interrupted(out, MLP)
    capsys.readouterr()
    monkeypatch.undo()  # no crash from here on; a refused run must not train anyway
    status, stdout = _main([*MLP, *change, "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith(f"kerasx malaria: --out {out} holds a run with")
    assert named in err and "--restart" in err
    assert "training the" not in stdout
    assert _snapshot_of(out) == before


def test_restart_starts_over_in_place_and_same_settings_resume(
    tmp_path, monkeypatch, crash_after_second_epoch
):
    """``--restart`` removes the other run's files and trains afresh; the same settings resume
    (every epoch once in the history). Catches a --restart that keeps the old backup (the run
    would resume it: epochs_run 2 instead of 3 counted from a fresh start is not enough, so the
    recorded config is checked too)."""
    out = tmp_path / "run"
    _interrupted(out, MLP)
    monkeypatch.undo()
    assert _main([*MLP, "--seed", "1", "--restart", "--out", str(out)])[0] == 0
    record = json.loads((out / "run.json").read_text())
    assert record["state"] == "finished" and record["config"]["seed"] == 1
    assert not (out / BACKUP_DIR).exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mlp"]["epochs_run"] == 3 and metrics["run"] == record["run"]


def test_more_epochs_continue_the_run_and_say_so(tmp_path, monkeypatch, crash_after_second_epoch):
    """Settings that only extend training continue the interrupted run, in one line. Catches a
    refusal of --epochs (a user could never give a run more time) and a silent continuation."""
    out = tmp_path / "run"
    _interrupted(out, MLP)
    monkeypatch.undo()
    argv = [arg if arg != "3" else "4" for arg in MLP]  # --epochs 4
    status, stdout = _main([*argv, "--out", str(out)])
    assert status == 0
    assert "continuing it with epochs 3 -> 4" in stdout
    history = [line for line in (out / "history.csv").read_text().splitlines()[1:]]
    assert len(history) == 4  # the two epochs before the crash, then two more


def test_a_folder_without_a_record_is_refused(tmp_path, capsys):
    """A backup with no run.json (an earlier kerasx wrote no settings) may be another run's.
    Catches a command that resumes any backup it finds."""
    out = tmp_path / "old"
    (out / BACKUP_DIR / "mlp").mkdir(parents=True)
    (out / BACKUP_DIR / "mlp" / "state.json").write_text("{}")
    before = _snapshot_of(out)
    status, _ = _main([*MLP, "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2 and "no record of its settings" in err
    assert _snapshot_of(out) == before


def test_other_data_in_the_same_folder_is_refused(tmp_path, capsys, malaria_dir, monkeypatch):
    """Real cells: a run interrupted on one folder, rerun on a copy with one image removed
    (same settings, other data). Catches a check of the settings alone."""
    import shutil

    data = tmp_path / "cells"
    for folder in ("Parasitized", "Uninfected"):
        (data / folder).mkdir(parents=True)
        for name in sorted(os.listdir(os.path.join(malaria_dir, folder)))[:40]:
            shutil.copy(os.path.join(malaria_dir, folder, name), data / folder / name)
    argv = ["--data", str(data), "--image-size", "8", "--model", "mlp", "--epochs", "2",
            "--no-xla"]  # fmt: skip
    out = tmp_path / "run"
    assert _main([*argv, "--out", str(out)])[0] == 0
    record = json.loads((out / "run.json").read_text())
    assert record["split"]["patients_on_two_sides"] == 0 and record["data"]["kind"] == "folder"
    assert record["split"]["validation"] == "held-out patients"
    sides = record["split"]["sides"]
    for a, b in (("train", "validation"), ("train", "test"), ("validation", "test")):
        assert not set(sides[a]["patients"]) & set(sides[b]["patients"]), (a, b)
    assert sum(side["rows"] for side in sides.values()) == 80
    metrics = json.loads((out / "metrics.json").read_text())["mlp"]
    # early stopping and the temperature were judged on those patients' rows
    assert metrics["validation"] == "held-out patients"
    assert metrics["n_validation"] == sides["validation"]["rows"]
    assert metrics["calibration"]["n_validation"] == sides["validation"]["rows"]
    page = (out / "report.html").read_text()
    counts = f"training {sides['train']['n_patients']}, validation "
    assert 'id="patients"' in page and counts in page and "on more than one side: 0" in page
    audit = record["split"]["audit"]
    assert audit["shared_patients"] == 0 and audit["exact_duplicates"] == 0
    assert 'id="audit"' in page
    os.remove(data / "Parasitized" / sorted(os.listdir(data / "Parasitized"))[0])
    before = _snapshot_of(out)
    capsys.readouterr()
    status, _ = _main([*argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2 and "data=" in err and "79 images" in err
    assert _snapshot_of(out) == before


def test_a_copied_cell_stops_the_run_before_training(tmp_path, capsys, malaria_dir):
    """One test cell copied under a new name into the training side: the audit stops the run
    with one line and exit 2 before anything is written; --allow-overlap trains and records
    it. Catches a command that trains on a leaky split without a word."""
    import shutil

    from kerasx.data import split_files

    data = tmp_path / "cells"
    for folder in ("Parasitized", "Uninfected"):
        (data / folder).mkdir(parents=True)
        for name in sorted(os.listdir(os.path.join(malaria_dir, folder)))[:40]:
            shutil.copy(os.path.join(malaria_dir, folder, name), data / folder / name)
    train, test = split_files(data, split="patient", seed=0)
    original = test[0]
    for donor in train:  # the copy takes a training patient's name: it stays on that side
        prefix = os.path.basename(donor).split("_IMG")[0]
        copy = os.path.join(os.path.dirname(original), f"{prefix}_IMG_copy_cell_1.png")
        shutil.copy(original, copy)
        train, test = split_files(data, split="patient", seed=0)
        if copy in train and original in test:
            break
        os.remove(copy)
    else:
        pytest.fail("no training patient kept the copy apart from its original")
    argv = ["--data", str(data), "--image-size", "8", "--model", "mlp", "--epochs", "1",
            "--no-xla"]  # fmt: skip
    status, stdout = _main([*argv, "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert "1 identical image(s) on both sides" in err and "--allow-overlap" in err
    assert not (tmp_path / "run").exists() and "training the" not in stdout
    assert _main([*argv, "--allow-overlap", "--out", str(tmp_path / "run")])[0] == 0
    audit = json.loads((tmp_path / "run" / "run.json").read_text())["split"]["audit"]
    assert audit["exact_duplicates"] == 1 and audit["allowed"] is True


def test_real_cells_other_seed_is_refused(
    tmp_path, capsys, malaria_dir, monkeypatch, crash_after_second_epoch
):
    """The issue's scenario on real cells (patient split): interrupted with seed 0, rerun with
    seed 1 is refused and nothing changes."""
    argv = ["--data", malaria_dir, "--fraction", "0.1", "--image-size", "8", "--model", "mlp",
            "--epochs", "3", "--no-xla"]  # fmt: skip
    out = tmp_path / "run1"
    before = _interrupted(out, argv)
    monkeypatch.undo()
    capsys.readouterr()
    status, _ = _main([*argv, "--seed", "1", "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2 and "seed=0, this one has seed=1" in err
    assert _snapshot_of(out) == before


def test_report_refuses_files_of_two_runs(tmp_path, capsys):
    """``kerasx report`` on a folder whose metrics.json is not of run.json's run. Catches a
    page that shows one run's numbers under another's settings."""
    out = tmp_path / "run"
    assert _main([*MLP, "--out", str(out)])[0] == 0
    record = json.loads((out / "run.json").read_text())
    record["run"] = "0123456789abcdef"
    (out / "run.json").write_text(json.dumps(record))
    status = main(["report", str(out)])
    assert status == 2 and "files of two runs" in capsys.readouterr().err


def test_a_kerasx_bug_shows_its_traceback(tmp_path, monkeypatch):
    """A plain ``ValueError`` inside the job is a bug, not a user error: it propagates (the
    command line prints the traceback). Catches a command that turns every ValueError into one
    line and exit 2."""
    from kerasx.malaria import train

    def broken(*args, **kwargs):
        raise ValueError("a bug inside kerasx")

    monkeypatch.setattr(train, "build_model", broken)
    with pytest.raises(ValueError, match="a bug inside kerasx"):
        _main([*MLP, "--out", str(tmp_path / "run")])


def test_run_malaria_returns_a_typed_result(tmp_path):
    """The Python API returns the scores it wrote; the same config again resumes nothing
    (the run finished) and a different one raises RunMismatch with the CLI's words."""
    config = MalariaConfig(data="synthetic", image_size=8, fraction=0.25, model="mlp", epochs=2,
                           xla=False)  # fmt: skip
    run = run_malaria(config, tmp_path / "run", verbose=False)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert run.scores["mlp"]["accuracy"] == metrics["mlp"]["accuracy"] == run.accuracy("mlp")
    assert set(run.scores) == {"mlp", "baseline"} and run.evaluation.startswith("held-out SYN")
    assert all(os.path.exists(path) for path in run.files.values())
    with pytest.raises(RunMismatch, match="seed=0, this one has seed=3"):
        run_malaria(config.replace(seed=3), tmp_path / "run", verbose=False)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("epochs", 0, "an integer >= 1"),
        ("model", "rnn", "one of ('mlp', 'cnn', 'all')"),
        ("fraction", 1.5, "a float in (0, 1]"),
        ("split", "patient", "'cell' for 'tfds' and 'synthetic'"),
        ("data", "/no/such/folder", "or an existing folder (no such folder)"),
        ("deterministic", "yes", "True or False"),
    ],
)
def test_config_checks_every_field(field, value, expected):
    values = {"data": "synthetic", field: value}
    with pytest.raises(InvalidArgument, match=f"`{field}`") as error:
        MalariaConfig(**values)
    assert expected in str(error.value)


def test_the_options_are_the_config_fields_with_their_defaults():
    """``--help`` shows each default and --quick value from the config itself. Catches help
    text that repeats a default by hand (it would drift)."""
    from kerasx.cli import build_parser

    parser = build_parser()
    malaria = parser._subparsers._group_actions[0].choices["malaria"]
    text = malaria.format_help()
    assert "(default: 32)" in text  # --batch-size
    assert "--quick: 10" in text  # --epochs and --patience
    assert "--restart" in text
