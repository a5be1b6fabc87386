"""The write figures: ``templates set ID FIELD=VALUE`` on one big file, whole processes.

Each size gets the benchmark's one-file HostFactory corpus (``awsprov_templates``,
camelCase, comments in the YAML one) in YAML and in JSON. The timed process changes one field of
the template in the middle; the figure is its median wall time beside ``python -c
pass``, with the target of at most one second, and the run checks that exactly one
line of the file changed (the rest byte-identical).
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

from templar.bench import corpus, measure
from templar.bench.report import Row

#: the target of issue 10: a whole ``templates set`` process on a 10,000-template file
TARGET_SECONDS = 1.0


def set_rows(workdir: Path, size: int, repeat: int) -> list[Row]:
    """The ``templates set`` figures for one YAML and one JSON file of ``size`` templates."""
    env = measure.process_environment()
    bare = measure.Command([sys.executable, "-c", "pass"], env)
    template_id = f"tpl-{size // 2:05d}"
    rows = []
    for fmt in ("yaml", "json"):
        directory = workdir / f"set-{size}-{fmt}"
        path = corpus.write_single_file(directory, size, fmt)
        before = path.read_text()

        def set_to(value: int, directory: Path = directory) -> measure.Command:
            argv = [*measure.templates_command(), "--config-dir", str(directory), "--no-cache"]
            return measure.Command(
                [*argv, "set", template_id, f"configuration.max_number={value}"], env
            )

        measure.run_process(set_to(7))  # bytecode written, the file edited once
        (first, rss), (second, _), (bare_seconds, _) = measure.processes_in_turn(
            [set_to(8), set_to(9), bare], max(2, repeat)
        )
        after = path.read_text()
        changed = [
            line
            for line in difflib.unified_diff(before.splitlines(), after.splitlines(), n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ]
        one_line = len(changed) == 2 and "9" in changed[1]
        seconds = (first + second) / 2
        rows.append(
            Row(
                size,
                f"CLI set FIELD=VALUE, one {fmt.upper()} file",
                seconds,
                "python -c pass",
                bare_seconds,
                f"<= {TARGET_SECONDS:.0f} s, 1 line changed",
                seconds <= TARGET_SECONDS and one_line,
                peak_rss_mb=None if rss is None else rss / 2**20,
                note="" if one_line else f"{len(changed)} lines changed",
            )
        )
    return rows
