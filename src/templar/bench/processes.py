"""Whole processes the benchmark times: a command, one run of it with its peak RSS, and
runs of several in turn."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Command:
    """A whole process to time, and the exit status it must end with."""

    argv: Sequence[str]
    env: dict[str, str] | None = None
    cwd: Path | None = None
    returncode: int = 0


@dataclass(frozen=True)
class ProcessRun:
    """One finished process: wall time, peak resident set size (bytes; None where the
    platform does not say), and what it printed when asked to capture."""

    seconds: float
    peak_rss: int | None
    stdout: bytes = b""
    stderr: bytes = b""


#: Times one process and reports its peak RSS. The benchmark cannot ask the kernel for a
#: child's own peak directly: on Linux a child's ``ru_maxrss`` starts at the parent's
#: resident size when it forks (the benchmark is over 100 MB by then). This launcher is
#: a bare interpreter of a few MB: its child's peak is the command's own, within that.
_LAUNCHER = """
import os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
peak = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
with open(report, "w") as f:
    f.write(f"{seconds!r} {peak}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_process(command: Command, capture: bool = False) -> ProcessRun:
    """Run ``command`` to its end: its wall time and, where the platform has
    ``posix_spawn`` and ``wait4``, its own peak RSS; or what it printed, with ``capture``."""
    if capture or not hasattr(os, "wait4"):
        out = subprocess.PIPE if capture else subprocess.DEVNULL
        start = time.perf_counter()
        done = subprocess.run(
            command.argv, stdout=out, stderr=out, env=command.env, cwd=command.cwd, check=False
        )
        seconds = time.perf_counter() - start
        return _checked(
            command, done.returncode, seconds, None, done.stdout or b"", done.stderr or b""
        )
    with tempfile.TemporaryDirectory(prefix="templar-bench-run-") as scratch:
        report = Path(scratch) / "report"
        launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(report), *command.argv]
        done = subprocess.run(
            launcher,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=command.env,
            cwd=command.cwd,
            check=False,
        )
        seconds_text, peak_text = report.read_text().split()
    return _checked(
        command, done.returncode, float(seconds_text), int(peak_text), b"", done.stderr or b""
    )


def _checked(
    command: Command,
    returncode: int | None,
    seconds: float,
    peak: int | None,
    stdout: bytes,
    stderr: bytes,
) -> ProcessRun:
    if returncode != command.returncode:
        raise RuntimeError(
            f"{' '.join(command.argv)} exited {returncode}, expected {command.returncode}\n"
            + stderr.decode(errors="replace")[-2000:]
        )
    return ProcessRun(seconds, peak, stdout, stderr)


def processes_in_turn(commands: list[Command], repeat: int) -> list[tuple[float, int | None]]:
    """Median wall time and highest peak RSS of whole processes, run in turn (``repeat``
    rounds, each command once per round) so that each sees the same load."""
    runs: list[list[ProcessRun]] = [[] for _ in commands]
    for _ in range(repeat):
        for command, done in zip(commands, runs, strict=True):
            done.append(run_process(command))
    results = []
    for done in runs:
        peaks = [r.peak_rss for r in done if r.peak_rss is not None]
        results.append((statistics.median(r.seconds for r in done), max(peaks, default=None)))
    return results


def templates_command() -> list[str]:
    """The ``templates`` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("templates")
    return [str(script)] if script.exists() else [sys.executable, "-m", "templar"]


def process_environment() -> dict[str, str]:
    """The environment of the timed processes: as installed, with bytecode written (pip
    compiles it, as pydantic's was; forbidding it would time Templar's compilation)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
