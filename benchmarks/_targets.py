"""The targets a benchmark prints, the exit status they give, and the machine it ran on.

Every ``bench_*.py`` reports each of its targets through :class:`Targets` and ends with
``raise SystemExit(targets.exit_status())``: a full run exits 1 when a target it printed was
missed; a ``--quick`` run (a smoke test, too short to measure anything) prints the same lines but
always exits 0.

>>> targets = Targets(enforce=True)
>>> targets.at_least("speed-up", 1.2, 1.4)
target  speed-up: 1.20 (>= 1.40) MISSED
False
>>> targets.exit_status()
1
>>> Targets(enforce=False).at_most("overhead %", 7.0, 5.0)
target  overhead %: 7.00 (<= 5.00) missed (not enforced: --quick)
False
"""

import os
import platform
import sys


def machine():
    """One line naming the CPU (as ``lscpu`` does), the core count and the load average: speeds
    differ by 4× between the machines, so a benchmark's output says where it ran."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            names = [
                line.split(":", 1)[1].strip() for line in file if line.startswith("model name")
            ]
        model = names[0] if names else model
    except OSError:
        pass
    try:  # a shared machine inflates absolute times: say how busy it was
        load = "load average " + ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        load = "load average unknown"
    return (
        f"machine: {model}, {os.cpu_count()} logical cores, {load}, "
        f"Python {platform.python_version()}"
    )


class Targets:
    """Collects the targets a benchmark checks.

    Args:
        enforce: whether a missed target makes :meth:`exit_status` non-zero (False for
            ``--quick`` runs).
    """

    def __init__(self, *, enforce):
        self.enforce = bool(enforce)
        self.missed = []

    def _report(self, description, value, bound, op, met, fmt):
        if met:
            verdict = "ok"
        elif self.enforce:
            verdict = "MISSED"
        else:
            verdict = "missed (not enforced: --quick)"
        print(f"target  {description}: {value:{fmt}} ({op} {bound:{fmt}}) {verdict}")
        if not met:
            self.missed.append(description)
        return met

    def at_least(self, description, value, bound, fmt=".2f"):
        """Prints and records the target ``value >= bound``; returns whether it is met."""
        return self._report(description, value, bound, ">=", bool(value >= bound), fmt)

    def at_most(self, description, value, bound, fmt=".2f"):
        """Prints and records the target ``value <= bound``; returns whether it is met."""
        return self._report(description, value, bound, "<=", bool(value <= bound), fmt)

    def exit_status(self):
        """0 when every target was met (or none is enforced), else 1 (with a line on stderr)."""
        if self.missed and self.enforce:
            print(f"{len(self.missed)} target(s) missed: {', '.join(self.missed)}", file=sys.stderr)
            return 1
        return 0
