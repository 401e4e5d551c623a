"""The benchmarks: each runs with ``--quick`` (slow suite), and its targets set the exit status.

A full benchmark run takes minutes to hours and its speeds depend on the machine, so the suite
never runs one. It checks instead that every ``benchmarks/bench_*.py`` runs end to end with
``--quick`` and exits 0 there, that it prints its targets through ``benchmarks/_targets.py``,
and that ``_targets`` turns a missed target into exit status 1 when targets are enforced (every
run without ``--quick``).
"""

import ast
import importlib.util
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
