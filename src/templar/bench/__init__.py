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
import json
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from templar.bench import corpus, measure
from templar.bench.orb import Orb, find_orb, orb_environment
from templar.bench.report import Progress, Row, print_report

GROUPS = ("load", "reload", "cli", "orb", "set")
Step = tuple[str, Callable[[], None]]


@contextmanager
def cache_directory(path: Path) -> Iterator[Path]:
    """Point ``$TEMPLAR_CACHE_DIR`` at an empty ``path`` for the duration."""
    shutil.rmtree(path, ignore_errors=True)
    before = os.environ.get("TEMPLAR_CACHE_DIR")
    os.environ["TEMPLAR_CACHE_DIR"] = str(path)
    try:
        yield path
    finally:
        if before is None:
            os.environ.pop("TEMPLAR_CACHE_DIR", None)
        else:
            os.environ["TEMPLAR_CACHE_DIR"] = before


class Run:
    """One benchmark run: the steps it will take, and the rows they produce."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.sizes: list[int] = args.sizes
        self.fmt: str = args.corpus_format
        self.repeat: int = args.repeat
        self.edits: int = args.edits
        self.groups: set[str] = args.only
        self.workdir = workdir
        self.orb_arg: str | None = args.orb
        self.install_orb: bool = args.install_orb
        self.rows: list[Row] = []

    def steps(self) -> list[Step]:
        """Every step, in order, so that progress knows the total."""
        steps: list[Step] = []
        for index, size in enumerate(self.sizes):
            steps += self._size_steps(index, size)
        largest = max(self.sizes)
        if "cli" in self.groups:
            steps += self._file_steps(largest)
        if "orb" in self.groups:
            steps += self._orb_steps(largest)
        if "set" in self.groups:
            steps.append((f"{largest:,} templates: templates set, one file", self._set_step))
        return steps

    def _set_step(self) -> None:
        """The write figures of issue 10 (:mod:`templar.bench.writes`)."""
        from templar.bench.writes import set_rows

        self.rows += set_rows(self.workdir, max(self.sizes), self.repeat)

    # -- four layers, each size ----------------------------------------------------------

    def _size_steps(self, index: int, size: int) -> list[Step]:
        fmt, work = self.fmt, self.workdir
        clean = work / f"layers-{size}-{fmt}"
        warn = work / f"layers-{size}-{fmt}-warn"
        overlay = clean / f"{corpus.OVERLAY}.{fmt}"
        full = clean / f"{corpus.FULL}.{fmt}"
        cache = work / f"cache-{size}-{fmt}"
        shared: dict[str, float] = {}

        def generate() -> None:
            corpus.write_layers(clean, size, fmt)
            if "load" in self.groups:
                corpus.write_layers(warn, size, fmt, "warn")
            with cache_directory(cache):
                assert measure.engine_cold_load(clean) == size

        def loads() -> None:
            assert measure.floor_cold_load(clean) == size
            assert measure.engine_cold_load(warn) == size
            first_cache = work / f"first-load-cache-{size}-{fmt}"
            with cache_directory(cache):
                entry = measure.cached_entry_file(clean)
                assert measure.engine_warm_load(clean) == size
                floor, cold, cold_warn, first, warm_floor, warm = measure.measure_in_turn(
                    [
                        (lambda: measure.floor_cold_load(clean), self.repeat),
                        (lambda: measure.engine_cold_load(clean), self.repeat),
                        (lambda: measure.engine_cold_load(warn), self.repeat),
                        (
                            lambda: measure.engine_first_load(clean, first_cache),
                            self.repeat,
                            lambda: measure.empty_cache(clean, first_cache),
                        ),
                        (lambda: measure.floor_warm_load(entry), 5 * self.repeat),
                        (lambda: measure.engine_warm_load(clean), 5 * self.repeat),
                    ]
                )
            shutil.rmtree(first_cache, ignore_errors=True)
            shared.update(cold=cold, warm_floor=warm_floor)
            add = self.rows.append
            add(Row(size, "cold load", cold, "cold floor", floor, "<= 1.5x", cold <= 1.5 * floor))
            add(
                Row(
                    size,
                    "cold load, every template warns",
                    cold_warn,
                    "cold load, no warning",
                    cold,
                    "<= 1.3x",
                    cold_warn <= 1.3 * cold,
                )
            )
            add(Row(size, "cold load, empty cache", first, "cold load", cold, "(info)", True))
            add(
                Row(
                    size,
                    "warm load",
                    warm,
                    "warm floor",
                    warm_floor,
                    "<= 3x",
                    warm <= 3 * warm_floor,
                )
            )
            # The cold load a user meets with the cache on is the first, which fills it;
            # beside it, for the record, the cold load of an engine without a cache.
            add(
                Row(
                    size,
                    "warm load",
                    warm,
                    "cold, empty cache",
                    first,
                    ">= 5x faster",
                    first >= 5 * warm,
                    speed=True,
                )
            )
            add(Row(size, "warm load", warm, "cold, no cache", cold, "(info)", True, speed=True))

        def new_process() -> None:
            with cache_directory(cache):
                measure.cached_entry_file(clean)
                fresh = statistics.median(
                    measure.warm_load_in_a_new_process(clean) for _ in range(3 * self.repeat)
                )
            floor = shared["warm_floor"]
            self.rows.append(
                Row(
                    size,
                    "warm load, new process",
                    fresh,
                    "warm floor",
                    floor,
                    "<= 3x",
                    fresh <= 3 * floor,
                )
            )

        def incremental() -> None:
            with cache_directory(cache):
                reload_seconds = measure.incremental_reload(overlay, max(self.repeat, 5))
                # information: a new process re-merges and re-validates every template
                # (the memo lives in the engine), so only reading is saved
                new_engine = measure.incremental_new_engine(overlay, max(self.repeat, 3))
            cold = shared["cold"]
            self.rows.append(
                Row(
                    size,
                    "incremental reload()",
                    reload_seconds,
                    "cold load",
                    cold,
                    ">= 3x faster",
                    cold >= 3 * reload_seconds,
                    speed=True,
                )
            )
            self.rows.append(
                Row(
                    size,
                    "incremental, new engine",
                    new_engine,
                    "cold load",
                    cold,
                    "(info)",
                    True,
                    speed=True,
                )
            )

        def hot_reload() -> None:
            with cache_directory(cache):
                latencies = sorted(measure.hot_reload_latencies(overlay, self.edits))
                big = measure.hot_reload_latencies(full, max(3, self.edits // 5))
            median = statistics.median(latencies)
            p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
            add = self.rows.append
            add(Row(size, "hot reload median", median, "budget", 0.150, "(info)", True))
            add(Row(size, "hot reload p95", p95, "budget", 0.150, "< 1x", p95 < 0.150))
            add(
                Row(
                    size,
                    "hot reload, full-template file",
                    statistics.median(big),
                    "budget",
                    0.150,
                    "(info)",
                    True,
                )
            )

        def cli_list() -> None:
            with cache_directory(cache):
                self.rows += self._cli_list_rows(clean, size)

        steps: list[Step] = [(f"{size:,} templates: generate the corpora", generate)]
        if "load" in self.groups:
            steps += [
                (f"{size:,} templates: cold and warm loads, with and without warnings", loads),
                (f"{size:,} templates: warm load in a new process", new_process),
                (f"{size:,} templates: incremental reload", incremental),
            ]
        if "reload" in self.groups:
            steps.append((f"{size:,} templates: hot-reload latency", hot_reload))
        if "cli" in self.groups and index == 0:
            steps.append((f"{size:,} templates: templates list, whole process", cli_list))
        return steps

    def _cli_list_rows(self, directory: Path, size: int) -> list[Row]:
        env = measure.process_environment()
        command = measure.Command(
            [
                *measure.templates_command(),
                "--config-dir",
                str(directory),
                "list",
                "--format",
                "json",
            ],
            env,
        )
        for _ in range(2):  # warm the cache, write the bytecode
            measure.run_process(command)
        pydantic = measure.Command([sys.executable, "-c", "import pydantic"], env)
        bare = measure.Command([sys.executable, "-c", "pass"], env)
        (cli, rss), (pydantic_seconds, _), (bare_seconds, _) = measure.processes_in_turn(
            [command, pydantic, bare], 3 * self.repeat + 2
        )
        return [
            Row(
                size,
                "CLI list --format json, warm",
                cli,
                "import pydantic",
                pydantic_seconds,
                "<= +0.25 s",
                cli - pydantic_seconds <= 0.25,
                peak_rss_mb=_mb(rss),
            ),
            Row(
                size,
                "CLI list --format json, warm",
                cli,
                "python -c pass",
                bare_seconds,
                "(info)",
                True,
            ),
        ]

    # -- one file of the largest size ----------------------------------------------------

    def _file_steps(self, size: int) -> list[Step]:
        clean = self.workdir / f"file-{size}-yaml"
        error = self.workdir / f"file-{size}-yaml-error"
        cache = self.workdir / f"cache-file-{size}-yaml"
        templates = measure.templates_command()

        def generate() -> None:
            corpus.write_single_file(clean, size, "yaml")
            corpus.write_single_file(error, size, "yaml", "error")

        def validate() -> None:
            env = measure.process_environment()
            ok, bad = (
                measure.Command(
                    [*templates, "--no-cache", "--config-dir", str(d), "validate"], env, None, rc
                )
                for d, rc in ((clean, 0), (error, 1))
            )
            done = measure.run_process(bad, capture=True)
            found = (done.stdout + done.stderr).decode()
            assert "1 error" in found and f"{size} templates" in found, found[-500:]
            (ok_seconds, _), (bad_seconds, bad_rss) = measure.processes_in_turn(
                [ok, bad], self.repeat
            )
            self.rows.append(
                Row(
                    size,
                    "validate, one error",
                    bad_seconds,
                    "validate, no error",
                    ok_seconds,
                    "<= 1.3x",
                    bad_seconds <= 1.3 * ok_seconds,
                    peak_rss_mb=_mb(bad_rss),
                )
            )

        def explain() -> None:
            target = corpus.template_id(size // 2)
            with cache_directory(cache):
                env = measure.process_environment()
                argv = [*templates, "--config-dir", str(clean), "show", target, "--explain"]
                warm = measure.Command(argv, env)
                cold = measure.Command([argv[0], "--no-cache", *argv[1:]], env)
                shown = measure.run_process(warm, capture=True).stdout.decode()
                assert target in shown, shown[-500:]
                (warm_s, warm_rss), (cold_s, cold_rss) = measure.processes_in_turn(
                    [warm, cold], self.repeat
                )
            self.rows.append(
                Row(
                    size,
                    "show ID --explain",
                    warm_s,
                    "budget",
                    0.5,
                    "<= 1x (0.5 s)",
                    warm_s <= 0.5,
                    peak_rss_mb=_mb(warm_rss),
                )
            )
            self.rows.append(
                Row(
                    size,
                    "show ID --explain, --no-cache",
                    cold_s,
                    "budget",
                    0.5,
                    "(info)",
                    True,
                    peak_rss_mb=_mb(cold_rss),
                )
            )

        return [
            (f"{size:,} templates in one YAML file: generate", generate),
            (f"{size:,} templates in one YAML file: validate, one error and none", validate),
            (f"{size:,} templates in one YAML file: show --explain", explain),
        ]

    # -- against ORB ---------------------------------------------------------------------

    def _orb_steps(self, size: int) -> list[Step]:
        directory = self.workdir / f"file-{size}-json"
        cache = self.workdir / f"cache-file-{size}-json"
        orb_cwd = self.workdir / "orb-cwd"  # ORB writes logs/ and work/ where it runs
        found: list[Orb] = []

        def prepare() -> None:
            corpus.write_single_file(directory, size, "json")
            found.append(find_orb(self.orb_arg, self.install_orb))

        def compare() -> None:
            orb = found[0]
            templates = measure.templates_command()
            with cache_directory(cache):
                env = measure.process_environment()
                argv = [*templates, "--config-dir", str(directory)]
                listing = ["list", "--style", "hostfactory", "--format", "json"]
                cold = measure.Command([*argv, "--no-cache", *listing], env)
                warm = measure.Command([*argv, *listing], env)
                printed = json.loads(measure.run_process(warm, capture=True).stdout)
                assert len(printed["templates"]) == size, "Templar did not list every template"
                commands = [cold, warm]
                if orb.executable is not None:
                    orb_cwd.mkdir(exist_ok=True)
                    orb_command = measure.Command(
                        orb.list_command(),
                        orb_environment(corpus.orb_config_dir(directory)),
                        orb_cwd,
                    )
                    listed = json.loads(measure.run_process(orb_command, capture=True).stdout)
                    assert listed.get("total_count") == size, (
                        f"ORB listed {listed.get('total_count')}"
                    )
                    commands.append(orb_command)
                timed = measure.processes_in_turn(commands, self.repeat)
            (cold_s, cold_rss), (warm_s, warm_rss) = timed[:2]
            orb_s, orb_rss = timed[2] if len(timed) > 2 else (None, None)
            versus = (
                f"orb templates list ({orb.version})" if orb.executable else "orb templates list"
            )
            note = orb.why_not
            for figure, seconds, rss, times in (
                ("CLI list --style hostfactory, no cache", cold_s, cold_rss, 10),
                ("CLI list --style hostfactory, warm", warm_s, warm_rss, 20),
            ):
                self.rows.append(
                    Row(
                        size,
                        figure,
                        seconds,
                        versus,
                        orb_s,
                        f">= {times}x faster",
                        orb_s is None or orb_s >= times * seconds,
                        speed=True,
                        peak_rss_mb=_mb(rss),
                        note=note,
                    )
                )
            peak = max(_mb(cold_rss) or 0.0, _mb(warm_rss) or 0.0)
            self.rows.append(
                Row(
                    size,
                    "peak RSS, CLI list --style hostfactory",
                    peak,
                    "budget",
                    150.0,
                    "<= 150 MB",
                    peak <= 150.0,
                    unit="MB",
                )
            )
            if orb_rss is not None:
                self.rows.append(
                    Row(
                        size,
                        "peak RSS, orb templates list",
                        _mb(orb_rss) or 0.0,
                        "budget",
                        150.0,
                        "(info)",
                        True,
                        unit="MB",
                    )
                )

        return [
            (f"{size:,} templates in one JSON file: generate, find ORB", prepare),
            (f"{size:,} templates in one JSON file: templates list against ORB", compare),
        ]


def _mb(peak: int | None) -> float | None:
    return None if peak is None else peak / 1024 / 1024


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
