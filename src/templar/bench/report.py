"""The benchmark's rows, their wording, progress on stderr, and the printed report."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from typing import IO, Any

import click


@dataclass(frozen=True)
class Row:
    """One figure beside what it is measured against.

    ``value`` and ``baseline`` are in ``unit`` (``s`` or ``MB``). ``speed`` rows are worded
    as a speed-up (``12.3x faster``, or ``1.8x slower``: never a speed-up below one);
    the others as the ratio ``value / baseline`` (``1.25x``). ``baseline`` is None when
    there was nothing to measure against, and ``note`` says why.
    """

    templates: int
    figure: str
    value: float
    versus: str
    baseline: float | None
    target: str
    ok: bool
    unit: str = "s"
    speed: bool = False
    peak_rss_mb: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """``value / baseline``: below one means less time (or memory) than the baseline."""
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    @property
    def wording(self) -> str:
        """The ratio in words: ``1.25x``, ``12.3x faster``, ``1.8x slower``."""
        ratio = self.ratio
        if ratio is None:
            return self.note or "n/a"
        if not self.speed:
            return f"{ratio:.2f}x"
        if ratio <= 1:
            return f"{1 / ratio:.1f}x faster"
        return f"{ratio:.1f}x slower"

    def as_json(self) -> dict[str, Any]:
        """The row as the JSON and YAML reports print it."""
        data = asdict(self)
        data["ratio"] = self.ratio
        data["wording"] = self.wording
        if self.unit == "s":
            data["seconds"] = self.value
        return data


def _amount(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 10 else f"{value:.2f} s"
    return f"{value:.1f} {unit}"


def print_report(rows: list[Row], output_format: str, out: IO[str] = sys.stdout) -> None:
    """Print the rows as a table, JSON or YAML."""
    if output_format == "json":
        print(json.dumps([r.as_json() for r in rows], indent=2), file=out)
        return
    if output_format == "yaml":
        from ruamel.yaml import YAML

        yaml = YAML(typ="safe", pure=True)
        yaml.default_flow_style = False
        yaml.dump([r.as_json() for r in rows], out)
        return
    headers = ("templates", "figure", "templar", "versus", "", "ratio", "target", "peak RSS")
    table = [
        (
            f"{r.templates:,}",
            r.figure,
            _amount(r.value, r.unit),
            r.versus,
            _amount(r.baseline, r.unit),
            r.wording,
            r.target + ("" if r.ok else "  MISSED"),
            _amount(r.peak_rss_mb, "MB") if r.peak_rss_mb is not None else "",
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in table)) for i, h in enumerate(headers)]
    right = {0, 2, 4}
    for line in (headers, *table):
        cells = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        print("  ".join(cells).rstrip(), file=out)


class Progress:
    """Progress on stderr while the benchmark runs: a bar on a terminal (click's), one
    line per step otherwise (a CI log), nothing with ``--quiet``."""

    def __init__(self, total: int, quiet: bool = False) -> None:
        self.total = total
        self.done = 0
        self.quiet = quiet
        self.start = time.perf_counter()
        self._bar: Any = None
        if not quiet and sys.stderr.isatty():
            self._bar = click.progressbar(
                length=total,
                label="benchmark",
                file=sys.stderr,
                item_show_func=lambda item: item,
                show_eta=False,
            )
            self._bar.__enter__()

    def step(self, label: str) -> None:
        """Say that the step ``label`` starts."""
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.update(0 if self.done == 0 else 1, current_item=label)
        else:
            elapsed = time.perf_counter() - self.start
            print(f"[{self.done + 1}/{self.total} {elapsed:5.0f} s] {label}", file=sys.stderr)
        self.done += 1

    def finish(self) -> None:
        """Close the bar (a no-op without one)."""
        if self._bar is not None:
            self._bar.update(1, current_item="done")
            self._bar.__exit__(None, None, None)
            self._bar = None
