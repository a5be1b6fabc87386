"""Benchmarks: ``python -m templar.bench``.

Generates HostFactory-shaped corpora (``aws`` templates in camelCase, about 25 fields
each, comments in the YAML; see :mod:`templar.bench.corpus`) and prints, in one run,
each figure beside what it is measured against:

* ``load`` (for each of ``--sizes``, four layers of ``--corpus-format``): a cold load
  (a new engine, no cache) against the floor (the fastest correct reader plus pydantic
  validation, no merge); the same corpus with a warning on every template against the
  clean one; the first load with an empty cache; the warm load (a new engine served
  from the cache) against its floor (read the entry, decode it with orjson) and against
  the cold loads; once more in a fresh Python process; an incremental ``reload()`` and
  a new engine after editing the instance overlay;
* ``reload``: hot-reload latency, from writing a file to the change event;
* ``cli`` (whole processes): ``templates list --format json`` on a warm cache against
  ``python -c "import pydantic"``; and on one file of the largest size in YAML:
  ``templates validate`` with one error against the same run with none, and
  ``templates show ID --explain``;
* ``orb`` (whole processes, on one HostFactory JSON file of the largest size):
  ``templates list --style hostfactory --format json``, without and with the cache,
  against ``orb templates list`` (orb-py, found or installed as :mod:`templar.bench.orb`
  says), run in turn; with each process's peak RSS.

Figures are medians of ``--repeat`` runs; compare the ratios, not the seconds: the
machine this runs on is shared and noisy. ``--keep DIR`` keeps the generated corpora
and reuses them on the next run. The exit status is 0 when every figure was measured;
``--check`` makes a missed target exit 1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from templar.bench import corpus as corpus
from templar.bench import measure as measure
from templar.bench.loadfigures import LoadFigures
from templar.bench.report import Progress, print_report
from templar.bench.run import GROUPS as GROUPS
from templar.bench.run import Step as Step
from templar.bench.run import cache_directory as cache_directory


class Run(LoadFigures):
    """One benchmark run: the steps it will take, and the rows they produce."""

    def steps(self) -> list[Step]:
        """Every step, in order, so that progress knows the total."""
        steps: list[Step] = []
        for index, size in enumerate(self.sizes):
            steps += self.size_steps(index, size)
        largest = max(self.sizes)
        if "cli" in self.groups:
            steps += self.file_steps(largest)
        if "orb" in self.groups:
            steps += self.orb_steps(largest)
        if "set" in self.groups:
            steps.append((f"{largest:,} templates: templates set, one file", self._set_step))
        return steps

    def _set_step(self) -> None:
        """The write figures of issue 10 (:mod:`templar.bench.writes`)."""
        from templar.bench.writes import set_rows

        self.rows += set_rows(self.workdir, max(self.sizes), self.repeat)


def check_aws_plugin() -> str | None:
    """Why the corpus cannot be loaded here, or None: it needs the ``aws`` provider."""
    from templar.engine import TemplateEngine

    with tempfile.TemporaryDirectory() as empty:
        if "aws" in TemplateEngine(empty, use_cache=False).providers:
            return None
    allowed = os.environ.get("TEMPLAR_PLUGINS")
    hint = f" and $TEMPLAR_PLUGINS ({allowed!r}) to allow it" if allowed is not None else ""
    return (
        "the benchmark's HostFactory corpus needs the templar-aws plugin: "
        f"pip install -e plugins/templar-aws (./scripts/install.sh installs it){hint}"
    )


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    """The benchmark's command line."""
    parser = argparse.ArgumentParser(
        prog="python -m templar.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        default="1000,10000",
        help="comma-separated template counts (default 1000,10000); the one-file figures "
        "(cli, orb) use the largest",
    )
    parser.add_argument(
        "--corpus-format",
        choices=["yaml", "json"],
        default="yaml",
        help="the format of the four-layer corpus (default yaml)",
    )
    parser.add_argument(
        "--format",
        choices=["table", "json", "yaml"],
        default="table",
        help="how to print the figures (default table)",
    )
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # old spelling
    parser.add_argument(
        "--only",
        default=",".join(GROUPS),
        help=f"comma-separated groups of figures to measure: {', '.join(GROUPS)} (default all)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median kept)")
    parser.add_argument("--edits", type=int, default=25, help="hot-reload edits (>= 20)")
    parser.add_argument("--keep", type=Path, help="write the corpora here and keep them")
    parser.add_argument(
        "--orb",
        metavar="PATH",
        help="the orb-py virtual environment (or its orb executable) to compare with; "
        "also $TEMPLAR_BENCH_ORB",
    )
    parser.add_argument(
        "--install-orb",
        action="store_true",
        help="create the orb-py 1.8.5 environment under the user cache dir if none is found",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes: comma-separated integers, not {args.sizes!r}")
    if not args.sizes or min(args.sizes) < 4:
        parser.error("--sizes: at least one count, each at least 4")
    args.only = {g.strip() for g in args.only.split(",") if g.strip()}
    unknown = args.only - set(GROUPS)
    if unknown:
        parser.error(
            f"--only: unknown group {', '.join(sorted(unknown))}; choose from {', '.join(GROUPS)}"
        )
    if args.json:
        args.format = "json"
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every figure was measured (with ``--check``: and met)."""
    args = parse_arguments(argv)
    problem = check_aws_plugin()
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="templar-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    run = Run(args, workdir)
    steps = run.steps()
    progress = Progress(len(steps), quiet=args.quiet)
    try:
        for label, step in steps:
            progress.step(label)
            step()
    finally:
        progress.finish()
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print_report(run.rows, args.format)
    missed = [r for r in run.rows if not r.ok]
    return 1 if args.check and missed else 0
