"""The whole-process figures: ``templates list``/``validate``/``show`` on one file, and
``templates list`` against ``orb templates list``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from templar.bench import corpus, measure
from templar.bench.orb import Orb, find_orb, orb_environment
from templar.bench.report import Row
from templar.bench.run import RunSettings, Step, cache_directory, megabytes


class ProcessFigures(RunSettings):
    """The steps of the whole-process (``cli`` and ``orb``) figures."""

    def cli_list_rows(self, directory: Path, size: int) -> list[Row]:
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
        measure.settled(directory)
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
                peak_rss_mb=megabytes(rss),
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

    def file_steps(self, size: int) -> list[Step]:
        clean = self.workdir / f"file-{size}-yaml"
        error = self.workdir / f"file-{size}-yaml-error"
        cache = self.workdir / f"cache-file-{size}-yaml"
        templates = measure.templates_command()

        small = self.workdir / "file-10-yaml"

        def generate() -> None:
            corpus.write_single_file(clean, size, "yaml")
            corpus.write_single_file(error, size, "yaml", "error")
            corpus.write_single_file(small, 10, "yaml")

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
                    peak_rss_mb=megabytes(bad_rss),
                )
            )

        def explain() -> None:
            target = corpus.template_id(size // 2)
            with cache_directory(cache):
                env = measure.process_environment()
                argv = [*templates, "--config-dir", str(clean), "show", target, "--explain"]
                warm = measure.Command(argv, env)
                cold = measure.Command([argv[0], "--no-cache", *argv[1:]], env)
                # the same question of a file of ten templates, computed (no stored
                # answer): what the command costs whatever the file (starting,
                # importing, loading plugins)
                tiny_target = corpus.template_id(5)
                tiny_argv = [*templates, "--no-cache", "--config-dir", str(small), "show"]
                tiny = measure.Command([*tiny_argv, tiny_target, "--explain"], env)
                shown = measure.run_process(warm, capture=True).stdout.decode()
                assert target in shown, shown[-500:]
                assert tiny_target in measure.run_process(tiny, capture=True).stdout.decode()
                (warm_s, warm_rss), (cold_s, cold_rss), (tiny_s, _) = measure.processes_in_turn(
                    [warm, cold, tiny], self.repeat
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
                    peak_rss_mb=megabytes(warm_rss),
                )
            )
            self.rows.append(
                Row(
                    size,
                    "show ID --explain, --no-cache",
                    cold_s,
                    "the same, 10-template file",
                    tiny_s,
                    "(info)",
                    True,
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
                    peak_rss_mb=megabytes(cold_rss),
                )
            )

        return [
            (f"{size:,} templates in one YAML file: generate", generate),
            (f"{size:,} templates in one YAML file: validate, one error and none", validate),
            (f"{size:,} templates in one YAML file: show --explain", explain),
        ]

    # -- against ORB ---------------------------------------------------------------------

    def orb_steps(self, size: int) -> list[Step]:
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
                commands = [cold, warm]
                # ORB first: its first run creates logs/ in the config dir it is given,
                # a change to a directory Templar's stored answer depends on; primed
                # before it, timed "warm" runs recomputed (and their peak RSS was a cold one).
                orb_command = None
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
                floor = measure.list_floor_command(directory, env)
                listed_cold = measure.run_process(cold, capture=True).stdout
                assert measure.run_process(floor, capture=True).stdout == listed_cold, (
                    "the floor process does not print what Templar prints"
                )
                unvalidated = measure.list_floor_command(directory, env, validate=False)
                listed = json.loads(measure.run_process(unvalidated, capture=True).stdout)
                assert len(listed["templates"]) == size, "the unvalidated floor left some out"
                commands += [floor, unvalidated]
                measure.settled(directory)
                printed = json.loads(measure.run_process(warm, capture=True).stdout)
                measure.run_process(warm)  # warm: the second run with the cache on
                assert len(printed["templates"]) == size, "Templar did not list every template"
                if orb_command is not None:
                    commands.append(orb_command)
                timed = measure.processes_in_turn(commands, self.repeat)
            (cold_s, cold_rss), (warm_s, warm_rss), (floor_s, _), (unvalidated_s, _) = timed[:4]
            orb_s, orb_rss = timed[4] if len(timed) > 4 else (None, None)
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
                        peak_rss_mb=megabytes(rss),
                        note=note,
                    )
                )
            # What a list that validates each template once with these models cannot
            # beat: the floor process prints the same bytes and does nothing else.
            self.rows.append(
                Row(
                    size,
                    "CLI list --style hostfactory, no cache",
                    cold_s,
                    "floor process, same output",
                    floor_s,
                    "(info)",
                    True,
                )
            )
            for figure, seconds in (
                ("floor process, same output", floor_s),
                ("the floor without validation", unvalidated_s),
            ):
                self.rows.append(
                    Row(size, figure, seconds, versus, orb_s, "(info)", True, speed=True, note=note)
                )
            peak = max(megabytes(cold_rss) or 0.0, megabytes(warm_rss) or 0.0)
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
                        megabytes(orb_rss) or 0.0,
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
