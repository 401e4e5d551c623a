"""Where an epoch of ``kerasx malaria`` goes, next to a bare ``fit`` of the same model.

The command's own training code runs, whatever it currently is: the settings come from the command's parser
(``kerasx.commands.malaria.add_arguments`` and ``config_from_args``), the model from
``kerasx.malaria.train.build_model`` and the training from ``kerasx.malaria.train.fit_network``
(in a fresh ``--out`` each time), which builds the callbacks (backup, early stopping,
HistoryFrame, LearningCurves) and calls ``model.fit(..., verbose=2)`` with the validation rows. The benchmark only wraps that ``model.fit`` to
time every hook each callback overrides, the progress lines (Keras's ``ProgbarLogger``) and the
validation pass, and times the PNG rendering thread (``kerasx.callbacks._render.save_png``),
which runs beside training rather than inside a hook. That one is private and another change
may rename it: this file then fails at once (AttributeError), it does not measure a copy.

The bare ``fit`` trains a second model from ``build_model`` (same seed) on the same training rows
(the ones ``validation_split`` leaves), epochs and batch size: no validation, no callbacks,
``verbose=0``. Both are warmed up (traced, XLA-compiled) first and then run alternating
(A B B A ...) in one process, so drifts in machine load hit both alike. The overhead is the
median over rounds of command fit time / bare fit time. Targets: ≤ 1.10 (10 % overhead), and
the backup (every hook of ``BackupAndResume``: the saves, the final one included) ≤ 5 % of the bare fit
time; a full run exits 1 when one is missed, ``--quick`` only reports them. Each fit runs 6
epochs, the fewest a run at the command's defaults trains (patience 5), so the once-per-fit
costs (the final save, the last drawing) weigh as in the shortest real run. The same ratio in
process CPU time (all threads, the PNG thread included) is printed beside it: on a shared
machine it moves less with other processes' load than wall time (not a target).

Usage::

    python benchmarks/bench_command.py            # MLP at 100x100, 1,120 synthetic images
    python benchmarks/bench_command.py --model cnn
    python benchmarks/bench_command.py --quick    # 32x32, a few seconds of training
"""

import argparse
import collections
import contextlib
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import keras
from _targets import Targets, machine

from kerasx.callbacks import _render
from kerasx.commands.malaria import add_arguments, config_from_args
from kerasx.malaria import train

#: The hooks a callback may override, grouped by the part of the epoch they run in.
HOOKS = {
    "on_train_begin": "begin/end",
    "on_train_end": "begin/end",
    "on_epoch_begin": "epoch",
    "on_epoch_end": "epoch",
    "on_train_batch_begin": "batches",
    "on_train_batch_end": "batches",
    "on_test_begin": "validation",
    "on_test_end": "validation",
    "on_test_batch_begin": "validation",
    "on_test_batch_end": "validation",
}
#: What each callback of the command stands for, by a word in its class name.
ROLES = {
    "BackupAndResume": "backup",
    "EarlyStopping": "early stopping",
    "HistoryFrame": "history",
    "LearningCurves": "plotting",
}
LOGGING = "ProgbarLogger (logging, verbose=2)"
PNG = "PNG thread (CPU s, beside training)"


class Profile:
    """Seconds spent in each callback's hooks, in validation, and on the PNG thread."""

    def __init__(self):
        self.seconds = collections.defaultdict(float)
        self.first, self.last = _Probe(self, "first"), _Probe(self, "last")

    def timed(self, label, method):
        def hook(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start

        return hook

    def wrap(self, callback):
        """Times each hook ``callback``'s class overrides (a default hook stays the default, so
        Keras's asynchronous batch dispatch is decided as without the benchmark)."""
        name = type(callback).__name__
        for hook in HOOKS:
            if getattr(type(callback), hook) is not getattr(keras.callbacks.Callback, hook):
                role = next((r for word, r in ROLES.items() if word in name), "callback")
                timed = self.timed(f"{name}.{hook} ({role})", getattr(callback, hook))
                setattr(callback, hook, timed)
                if HOOKS[hook] == "validation":  # inside the validation span: not validation
                    setattr(callback, hook, self.timed(f"in-validation {name}", timed))


class _Probe(keras.callbacks.Callback):
    """First and last callback: the validation pass runs between their on_test hooks."""

    def __init__(self, profile, where):
        super().__init__()
        self.profile, self.where = profile, where

    def on_test_begin(self, logs=None):
        if self.where == "first":
            self.profile.test_start = time.perf_counter()

    def on_test_end(self, logs=None):
        if self.where == "last":
            self.profile.seconds["validation"] += time.perf_counter() - self.profile.test_start


@contextlib.contextmanager
def instrumented(model, profile):
    """Makes ``model.fit`` (as ``_fit`` calls it) time its callbacks, logging and validation."""
    original_fit = model.fit
    progbar = keras.callbacks.ProgbarLogger
    saved = {hook: progbar.__dict__[hook] for hook in HOOKS if hook in progbar.__dict__}
    original_save_png = _render.save_png

    def fit(*args, callbacks=None, **kwargs):
        callbacks = list(callbacks or [])
        for callback in callbacks:
            profile.wrap(callback)
        return original_fit(*args, callbacks=[profile.first, *callbacks, profile.last], **kwargs)

    def save_png(*args, **kwargs):  # runs on the PNG thread: its CPU time, not wall
        start = time.thread_time()
        try:
            return original_save_png(*args, **kwargs)
        finally:
            profile.seconds[PNG] += time.thread_time() - start

    model.fit = fit
    for hook, method in saved.items():
        setattr(progbar, hook, profile.timed(LOGGING, method))
    _render.save_png = save_png
    try:
        yield
    finally:
        _render.save_png = original_save_png
        for hook, method in saved.items():
            setattr(progbar, hook, method)
        del model.fit


def command_config(args):
    """The command's config for this benchmark, through its own parser."""
    parser = argparse.ArgumentParser(prog="kerasx malaria")
    add_arguments(parser)
    size = "--image-size" if args.model == "mlp" else "--cnn-image-size"
    argv = ["--data", "synthetic", "--model", args.model, "--fraction", str(args.fraction)]
    argv += [size, str(args.image_size), "--epochs", str(args.epochs)]
    return config_from_args(parser.parse_args(argv))


def run_command(model, X, y, config, root, epochs):
    """One ``fit_network`` of the command, instrumented: (seconds, Profile)."""
    profile = Profile()
    with instrumented(model, profile):
        start, cpu = time.perf_counter(), time.process_time()
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            # A fresh --out each time: a backup left by the previous fit would resume it.
            out = tempfile.mkdtemp(dir=root)
            train.fit_network(config.models[0], model, X, y, config.replace(epochs=epochs), out)
        _render.flush()
        seconds = time.perf_counter() - start
    profile.cpu = time.process_time() - cpu
    return seconds, profile


def run_bare(model, X, y, config, epochs):
    """A bare ``fit`` on the rows the command trains on: (seconds, process CPU seconds)."""
    n_fit = train.validation_rows(len(X), config.validation_split)
    start, cpu = time.perf_counter(), time.process_time()
    from kerasx.data import scale_images

    x = scale_images(X[:n_fit])  # the command's 8-bit rows as the float32 the model sees
    model.fit(x, y[:n_fit], epochs=epochs, batch_size=config.batch_size, verbose=0)
    return time.perf_counter() - start, time.process_time() - cpu


def backup_share(command_runs, bare_runs):
    """The backup's hooks (every save, the restore check) as a share of a bare fit's time: the
    median over rounds, each command fit against the bare fit of its round."""
    shares = [
        sum(v for k, v in profile.seconds.items() if "(backup)" in k and "in-validation" not in k)
        / bare
        for (_, profile), bare in zip(command_runs, bare_runs, strict=True)
    ]
    return statistics.median(shares)


def print_breakdown(command_runs, bare_runs, epochs):
    """The table: each part's seconds per epoch (median over rounds) and share of a bare epoch."""
    bare = statistics.median(bare_runs) / epochs
    total = statistics.median(seconds for seconds, _ in command_runs) / epochs
    parts = collections.defaultdict(list)
    for seconds, profile in command_runs:
        run = dict(profile.seconds)
        inside = sum(run.pop(k) for k in list(run) if k.startswith("in-validation"))
        run["validation"] = run.get("validation", 0.0) - inside
        png = run.pop(PNG, 0.0)
        run["training steps (rest of fit)"] = seconds - sum(run.values())
        run[PNG] = png
        for key, value in run.items():
            parts[key].append(value / epochs)
    print(f"{'part of one epoch':<54}{'s/epoch':>9}{'% of bare':>11}")
    rows = sorted(parts.items(), key=lambda item: -statistics.median(item[1]))
    small = [key for key, values in rows if statistics.median(values) < 0.001 * bare]
    for key, values in rows:
        if key not in small:
            value = statistics.median(values)
            print(f"{key:<54}{value:>9.3f}{100 * value / bare:>10.1f}%")
    if small:
        print(f"{len(small)} more hooks under 0.1 % each: {', '.join(sorted(small))}")
    print(f"{'command epoch (whole fit / epochs)':<54}{total:>9.3f}{100 * total / bare:>10.1f}%")
    print(f"{'bare fit epoch':<54}{bare:>9.3f}{100.0:>10.1f}%")
    ends = statistics.median(
        seconds
        - sum(v for k, v in p.seconds.items() if "on_train_begin" in k or "on_train_end" in k)
        for seconds, p in command_runs
    )
    print(
        f"without the once-per-fit hooks (on_train_begin/end), the command's epoch is "
        f"{ends / epochs / bare:.2f}× a bare one (what a long run approaches)"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="32x32, 1 round; not enforced")
    parser.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    parser.add_argument("--fraction", type=float, default=0.5, help="of the 2,800 images")
    parser.add_argument("--image-size", type=int, default=None, help="100 (MLP), 80 (CNN)")
    parser.add_argument(
        "--epochs",
        type=int,
        default=6,
        help="epochs per timed fit; 6, the fewest a run at the command's defaults trains "
        "(patience 5), so the once-per-fit costs (the final save and drawing) weigh as in the "
        "shortest real run",
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    args = parser.parse_args(argv)
    if args.image_size is None:
        args.image_size = 100 if args.model == "mlp" else 80
    if args.quick:
        args.image_size, args.fraction, args.epochs, args.rounds = 32, 0.2, 2, 2

    print(machine())
    keras.utils.set_random_seed(0)
    with tempfile.TemporaryDirectory() as root:
        config = command_config(args)
        split = train.load_split(config, args.image_size)
        X, y = split.x_train, split.y_train
        name = config.models[0]
        models = [train.build_model(name, X, config) for _ in "cb"]
        print(
            f"kerasx malaria --model {name}: {len(X)} synthetic training images "
            f"{args.image_size}x{args.image_size}, validation_split "
            f"{config.validation_split}, batch {config.batch_size}, {args.epochs} "
            f"epoch(s) a fit, {args.rounds} alternating rounds, backend {keras.backend.backend()}"
        )
        run_command(models[0], X, y, config, root, 1)  # warm-up: tracing and XLA compilation
        run_bare(models[1], X, y, config, 1)
        command_runs, bare_runs, ratios, cpu_ratios = [], [], [], []
        for round_ in range(args.rounds):
            order = ("command", "bare") if round_ % 2 == 0 else ("bare", "command")
            for side in order:
                if side == "command":
                    command_runs.append(run_command(models[0], X, y, config, root, args.epochs))
                else:
                    seconds, cpu = run_bare(models[1], X, y, config, args.epochs)
                    bare_runs.append(seconds)
            ratios.append(command_runs[-1][0] / bare_runs[-1])
            cpu_ratios.append(command_runs[-1][1].cpu / cpu)
    print_breakdown(command_runs, bare_runs, args.epochs)
    print("command / bare per round: " + " ".join(f"{ratio:.2f}" for ratio in ratios))
    # CPU time (this process, all threads, the PNG thread included) is less moved by other
    # processes' load than wall time; shown beside it, not a target.
    print(
        "command / bare per round, process CPU time: "
        + " ".join(f"{ratio:.2f}" for ratio in cpu_ratios)
        + f" (median {statistics.median(cpu_ratios):.2f})"
    )
    targets = Targets(enforce=not args.quick)
    targets.at_most("command fit time / bare fit time", statistics.median(ratios), 1.10)
    targets.at_most(
        "backup time / bare fit time, %", 100 * backup_share(command_runs, bare_runs), 5.0
    )
    return targets.exit_status()


if __name__ == "__main__":
    raise SystemExit(main())
