"""``templates cache info|clear``: the on-disk cache."""

from __future__ import annotations

import click

from templar.cli.context import CliContext, handles_errors
from templar.cli.options import FORMAT
from templar.cli.render import display_path, echo_data, human_size, plural


@click.group("cache")
def cache_group() -> None:
    """Inspect or empty the on-disk cache."""


@cache_group.command("info")
@FORMAT
@click.pass_obj
@handles_errors
def cache_info_command(obj: CliContext, output_format: str) -> None:
    """Directory, size, entries, hits, misses, and the age of this directory's entry."""
    info = obj.engine().cache_info()
    if output_format == "json":
        click.echo(info.model_dump_json(indent=2))
        return
    if output_format == "yaml":
        echo_data(info.model_dump(mode="json"), "yaml")
        return
    ttl = f"ttl {info.ttl_seconds:g} s"
    rows = [
        ["directory", info.directory],
        ["enabled", f"yes ({ttl})" if info.enabled else f"no ({ttl})"],
        ["size", human_size(info.size_bytes)],
        [
            "entries",
            f"{info.entries} ({plural(info.loads, 'load')}, "
            f"{plural(info.parsed_files, 'parsed file')}, {plural(info.answers, 'answer')})",
        ],
        ["hits", str(info.hits)],
        ["misses", str(info.misses)],
    ]
    current = info.current
    if current is None:
        rows.append(["age", "- (this config directory is not cached)"])
    else:
        state = "expired" if current.expired else f"{current.templates} templates"
        rows.append(
            [
                "age",
                f"{current.age_seconds:.1f} s ({state}, served {plural(current.hit_count, 'time')})",
            ]
        )
    for name, value in rows:
        click.echo(f"{name:<10} {value}")


@cache_group.command("clear")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Empty the whole cache directory, every config directory's entries.",
)
@click.pass_obj
@handles_errors
def cache_clear_command(obj: CliContext, everything: bool) -> None:
    """Remove this config directory's entries (--all: every entry) from the cache."""
    from templar.cache import resolve_cache_dir

    engine = obj.engine()
    removed = engine.clear_cache(everything=everything)
    directory = resolve_cache_dir(engine.settings.cache, engine.config_dir)
    of = "" if everything else f" of {display_path(str(engine.config_dir))}"
    click.echo(f"removed {removed} entr{'y' if removed == 1 else 'ies'}{of} from {directory}")
