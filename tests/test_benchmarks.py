"""The benchmarks: each runs with ``--quick`` (slow suite), and its targets set the exit status.

A full benchmark run takes minutes to hours and its speeds depend on the machine, so the suite
never runs one. It checks instead that every ``benchmarks/bench_*.py`` runs end to end with
``--quick`` and exits 0 there, that it prints its targets through ``benchmarks/_targets.py``,
and that ``_targets`` turns a missed target into exit status 1 when targets are enforced (every
run without ``--quick``).
"""

import ast
import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(BENCHMARKS.glob("bench_*.py"))
TARGET_LINE = re.compile(
    r"^target  (?P<what>.+): (?P<value>\S+) \((?:>=|<=) \S+\) (?P<verdict>.+)$"
)


def _load_targets():
    spec = importlib.util.spec_from_file_location("_targets", BENCHMARKS / "_targets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_benchmarks():
    assert len(SCRIPTS) >= 5, SCRIPTS


def test_missed_target_fails_a_full_run_only(capsys):
    """Catches a target checker that only prints (exit 0 either way, as the benchmarks did
    with "BELOW TARGET"), and one that fails ``--quick`` smoke runs on noise."""
    targets = _load_targets()
    full = targets.Targets(enforce=True)
    assert full.at_least("speed-up", 1.5, 1.4) and full.at_most("overhead", 2.0, 3.0)
    assert full.exit_status() == 0
    assert not full.at_least("speed-up", 1.39, 1.4)
    assert full.exit_status() == 1
    assert not full.at_most("overhead", 3.01, 3.0)
    assert full.missed == ["speed-up", "overhead"]
    assert full.exit_status() == 1

    quick = targets.Targets(enforce=False)
    assert not quick.at_least("speed-up", 1.0, 1.4)
    assert quick.exit_status() == 0
    captured = capsys.readouterr()
    verdicts = [TARGET_LINE.match(line)["verdict"] for line in captured.out.splitlines()]
    assert verdicts == ["ok", "ok", "MISSED", "MISSED", "missed (not enforced: --quick)"]
    assert "2 target(s) missed: speed-up, overhead" in captured.err


def _exits_with_target_status(tree):
    """Whether the module's exit status comes from ``Targets.exit_status()``: either
    ``raise SystemExit(main())`` with ``main`` returning it, or ``raise SystemExit(....exit_status())``."""
    raises = [node for node in ast.walk(tree) if isinstance(node, ast.Raise) and node.exc]
    returns = [node for node in ast.walk(tree) if isinstance(node, ast.Return) and node.value]

    def calls(node, name):
        return (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == name
        )

    for node in raises:
        if calls(node.exc, "SystemExit") and node.exc.args:
            argument = node.exc.args[0]
            if calls(argument, "exit_status"):
                return True
            if calls(argument, "main"):
                return any(calls(r.value, "exit_status") for r in returns)
    return False


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_benchmark_has_quick_and_exits_with_its_targets(script):
    """Static check, no run: catches a benchmark without ``--quick``, one whose targets are
    printed by hand (and so never fail a run), and one that drops ``main()``'s status
    (``main()`` instead of ``raise SystemExit(main())``, as bench_train_step had it)."""
    source = script.read_text(encoding="utf-8")
    assert '"--quick"' in source
    assert "Targets(enforce=not args.quick)" in source
    assert "BELOW TARGET" not in source
    assert _exits_with_target_status(ast.parse(source)), script.name


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_quick_run_exits_0_and_reports_its_targets(script):
    """Runs ``python benchmarks/bench_*.py --quick`` as a user would: it must finish (exit 0)
    and print each target with its verdict, and, not being enforced, never say MISSED."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, str(script), "--quick"],
        cwd=BENCHMARKS.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    lines = result.stdout.splitlines()
    assert any(line.startswith("machine: ") for line in lines), result.stdout[-2000:]
    verdicts = [m["verdict"] for m in map(TARGET_LINE.match, lines) if m]
    assert verdicts, f"no target line printed:\n{result.stdout[-2000:]}"
    assert set(verdicts) <= {"ok", "missed (not enforced: --quick)"}, verdicts


FULL_SCALE = BENCHMARKS / "bench_full_scale.py"


def _full_scale(monkeypatch):
    """The full-scale benchmark as a module (its ``_targets`` import needs the folder)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("bench_full_scale", FULL_SCALE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_full_scale_without_its_folder_exits_0_and_says_so(tmp_path):
    result = subprocess.run(
        [sys.executable, str(FULL_SCALE), str(tmp_path / "nih")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "nothing to measure" in result.stdout and "nih" in result.stdout


def test_full_scale_reads_each_childs_own_peak_memory(tmp_path):
    """From a small parent (as the benchmark is: Linux counts the parent's resident memory at
    the child's start in the child's peak), a child holding 300 MB reports >= 300 MB, and a
    second, small child its own small peak, not the first one's (as RUSAGE_CHILDREN would)."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import bench_full_scale as b\n"
        "big = [sys.executable, '-c', 'b = bytearray(300_000_000); b[::4096] = b\"x\" * "
        "len(b[::4096])']\n"
        "small = [sys.executable, '-c', 'print(1)']\n"
        "runs = [b.run_measured(argv, sys.argv[2], echo=None)[:3] for argv in (big, small)]\n"
        "print(json.dumps(runs))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(BENCHMARKS), str(tmp_path / "log")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (status, seconds, big_mb), (status_small, _, small_mb) = json.loads(result.stdout)
    assert status == status_small == 0 and seconds > 0
    assert big_mb >= 300e6 / 2**20 and small_mb < 100


def _run_folder(root, name, accuracy, intervals):
    import pandas as pd

    out = root / name
    out.mkdir()
    entry = {"accuracy": accuracy, "n": 4000, "roc_auc": 0.99, "train_time_s": 1500.0}
    entry.update(image_size=80, epochs_run=12, best_epoch=3, best_epoch_1based=4)
    entry["n_validation"] = 1600
    if intervals:
        interval = {"estimate": accuracy, "low": 0.95, "high": 0.97, "method": "bootstrap"}
        entry["intervals"] = {"accuracy": interval}
    baseline = {"accuracy": 0.6, "n": 4000, "roc_auc": 0.64, "train_time_s": 500.0}
    metrics = {"data": {"n_train": 16600}, name: entry, "baseline": {**baseline, "image_size": 100}}
    (out / "metrics.json").write_text(json.dumps(metrics))
    history = {"model": [name] * 3 + ["other"], "epoch_time": [140.0, 100.0, 110.0, 1.0]}
    pd.DataFrame(history).to_csv(out / "history.csv", index=False)
    return out, metrics


@pytest.mark.parametrize("intervals", [True, False])
def test_full_scale_table_interval_and_targets(tmp_path, monkeypatch, capsys, intervals):
    from kerasx.stats import wilson_interval

    bench = _full_scale(monkeypatch)
    out, metrics = _run_folder(tmp_path, "cnn", 0.96, intervals)
    rows = [
        {**bench.model_row(name, out, metrics), "command": "cnn"} for name in ("cnn", "baseline")
    ]
    cnn = rows[0]
    assert cnn["epoch_s"] == 110.0 and cnn["train_images_per_s"] == pytest.approx(15000 / 110)
    wilson = wilson_interval(3840, 4000)
    expected = (0.95, 0.97) if intervals else (wilson.low, wilson.high)
    assert (cnn["accuracy_low"], cnn["accuracy_high"]) == pytest.approx(expected)
    assert cnn["interval"] == ("bootstrap" if intervals else "wilson (computed here)")
    assert "epoch_s" not in rows[1]
    commands = {"cnn": {"wall_s": 1800.0, "peak_rss_mb": 3.5 * 1024}}
    loading = {80: {"first": {"load_s": 21.0}, "cached": {"load_s": 1.2}}}
    text = bench.table(rows, loading, commands)
    assert "| CNN | 80x80 | 21 / 1.2 | 110.0 | 12 (4) | 25.0 min | 30.0 min | 3.50 GB |" in text
    assert "| logistic | 100x100 |  |  |  | 8.3 min |" in text
    targets = bench.Targets(enforce=True)
    bench.check_targets(targets, rows, commands)
    assert targets.missed == ["CNN training time (min)", "CNN accuracy on held-out patients"]
    assert targets.exit_status() == 1
