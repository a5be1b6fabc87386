"""The ``templates`` command line.

Only this module knows about exit codes: 0 success, 1 a failure of the command
(invalid templates, unknown template id), 2 a usage or engine-config error.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from templar.engine import TemplateEngine
    from templar.models import ChangeEvent, TemplateDTO, TemplateExplanation, ValidationIssueDTO

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
F = TypeVar("F", bound=Callable[..., Any])


class CliContext:
    """What every command gets as ``ctx.obj``; plugin commands use :meth:`engine` too."""

    def __init__(self, config_dir: str | None, debug: bool, use_cache: bool = True) -> None:
        self.config_dir = config_dir
        self.debug = debug
        self.use_cache = use_cache
        self._engine: TemplateEngine | None = None

    def engine(self) -> TemplateEngine:
        """The engine of ``--config-dir`` (created once per command)."""
        if self._engine is None:
            from templar.engine import TemplateEngine

            self._engine = TemplateEngine(self.config_dir, use_cache=self.use_cache)
        return self._engine


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    click.echo(f"warning: {message}", err=True)


class TemplarGroup(click.Group):
    """The ``templates`` group: core commands, then those plugins add."""

    _plugins_loaded = False

    def _load_plugin_commands(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from templar.errors import PluginError
        from templar.plugins import PluginHost, register_commands

        core = set(self.commands)
        try:
            register_commands(PluginHost(), self, lambda name: name in core)
        except PluginError as e:  # strict mode: a broken plugin stops even --help
            _fail(type(e).__name__, e.message, e.context, False, EXIT_FAILURE)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            self._load_plugin_commands()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return super().list_commands(ctx)


@click.group(cls=TemplarGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config-dir",
    type=click.Path(file_okay=False),
    envvar="TEMPLAR_CONFIG_DIR",
    help="Config directory (default: $TEMPLAR_CONFIG_DIR, else the current directory).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.option(
    "--no-cache",
    is_flag=True,
    help="Read every file; neither use nor update the on-disk cache.",
)
@click.version_option(
    version=None, package_name="templar", prog_name="templates", message="%(prog)s %(version)s"
)
@click.pass_context
def cli(ctx: click.Context, config_dir: str | None, debug: bool, no_cache: bool) -> None:
    """Discover, merge, validate and inspect provider templates."""
    # Warnings (a plugin that failed to load, ...) as one line each; restored when the
    # command ends, so running the CLI in-process leaves the caller's settings alone.
    ctx.with_resource(warnings.catch_warnings())
    warnings.showwarning = _show_warning
    ctx.obj = CliContext(config_dir, debug, use_cache=not no_cache)


def handles_errors(f: F) -> F:
    """Turn Templar errors into one clear line (or a JSON error object) and an exit code."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from templar.errors import ConfigurationError, StorageError, TemplarError

        ctx = click.get_current_context()
        obj: CliContext = ctx.obj
        as_json = kwargs.get("output_format") == "json"
        try:
            return f(*args, **kwargs)
        except TemplarError as e:
            if obj.debug:
                traceback.print_exc()
            code = EXIT_USAGE if isinstance(e, (ConfigurationError, StorageError)) else EXIT_FAILURE
            _fail(type(e).__name__, e.message, e.context, as_json, code)
        except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt, BrokenPipeError):
            raise
        except Exception as e:
            if obj.debug:
                raise
            _fail(
                "InternalError",
                f"{type(e).__name__}: {e} (run with --debug for the traceback)",
                {},
                as_json,
                EXIT_FAILURE,
            )

    return wrapper  # type: ignore[return-value]


def _fail(error_type: str, message: str, context: dict[str, Any], as_json: bool, code: int) -> None:
    if as_json:
        payload = {
            "error": True,
            "error_type": error_type,
            "message": message,
            "context": context,
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        click.echo(json.dumps(payload, default=str))
    else:
        click.echo(f"error: {message}", err=True)
    sys.exit(code)


FORMAT = click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json", "yaml"]),
    default="table",
    show_default=True,
    help="Output format.",
)


TABLE_OR_JSON = click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)


@cli.command("list")
@click.option("--provider", help="Only this provider instance.")
@click.option("--type", "provider_type", help="Only instances of this provider type.")
@click.option(
    "--filter",
    "filters",
    multiple=True,
    metavar="FIELD=VALUE",
    help="Only templates whose FIELD equals VALUE (dotted paths reach into configuration). Repeatable.",
)
@click.option("--all", "show_all", is_flag=True, help="Include inactive templates.")
@click.option(
    "--style",
    metavar="NAME",
    help='Print the document a provider\'s key style writes, {"templates": [...]}, such as '
    "HostFactory's getAvailableTemplates with 'hostfactory'; JSON unless --format yaml. "
    "Templates of providers without that style are left out.",
)
@FORMAT
@click.pass_obj
@handles_errors
def list_command(
    obj: CliContext,
    provider: str | None,
    provider_type: str | None,
    filters: Sequence[str],
    show_all: bool,
    style: str | None,
    output_format: str,
) -> None:
    """List effective templates."""
    criteria = {}
    for item in filters:
        field, sep, value = item.partition("=")
        if not sep or not field:
            raise click.BadParameter(f"'{item}' is not FIELD=VALUE", param_hint="--filter")
        criteria[field.strip()] = value
    engine = obj.engine()
    templates = engine.search_templates(
        criteria, provider=provider, provider_type=provider_type, active_only=not show_all
    )
    if style is not None:
        _echo_styled(engine, templates, style, output_format)
        return
    if output_format == "table":
        rows = [
            [
                t.template_id,
                t.provider_name,
                t.provider_type,
                t.provider_api or "",
                t.name or "",
                "" if t.is_active else "no",
                f"{_display_path(t.source_file)} ({t.file_priority})",
            ]
            for t in templates
        ]
        _echo_table(["ID", "PROVIDER", "TYPE", "API", "NAME", "ACTIVE", "SOURCE (PRIORITY)"], rows)
        return
    _echo_data([t.model_dump(mode="json") for t in templates], output_format)


def _echo_styled(
    engine: TemplateEngine, templates: Sequence[TemplateDTO], style: str, output_format: str
) -> None:
    """``list --style``: each template as its provider's key style exports it."""
    from templar.errors import did_you_mean

    ctx = click.get_current_context()
    if output_format == "table":
        if ctx.get_parameter_source("output_format") is not click.core.ParameterSource.DEFAULT:
            raise click.UsageError("--style prints a document: use --format json or yaml")
        output_format = "json"
    providers = engine.providers
    styles = {spec.key_style.name for spec in providers.values() if spec.key_style is not None}
    if style not in styles:
        raise click.BadParameter(
            f"no provider has the key style '{style}'{did_you_mean(style, styles)}; "
            f"installed: {', '.join(sorted(styles)) or 'none'}",
            param_hint="'--style'",
        )
    exported = []
    left_out: dict[str, int] = {}
    instances_of: dict[str, list[str]] = {}
    for template in templates:
        spec = providers.get(template.provider_type)
        key_style = spec.key_style if spec is not None else None
        if key_style is None or key_style.name != style:
            left_out[template.provider_type] = left_out.get(template.provider_type, 0) + 1
            continue
        exported.append(key_style.export_template(template))
        instances_of.setdefault(template.template_id, []).append(template.provider_name)
    repeated = {tid: names for tid, names in instances_of.items() if len(names) > 1}
    if repeated:
        listed = "; ".join(f"{tid} ({', '.join(names)})" for tid, names in sorted(repeated.items()))
        click.echo(
            f"note: ids exported more than once, one per provider instance: {listed}; "
            "choose an instance with --provider",
            err=True,
        )
    if left_out:
        counts = ", ".join(f"{n} {t}" for t, n in sorted(left_out.items()))
        click.echo(
            f"note: left out templates of providers without style '{style}': {counts}", err=True
        )
    _echo_data({"templates": exported}, output_format)


@cli.command("show")
@click.argument("template_id")
@click.option("--provider", help="The provider instance, when several define the id.")
@click.option("--explain", is_flag=True, help="Show where every value comes from.")
@FORMAT
@click.pass_obj
@handles_errors
def show_command(
    obj: CliContext, template_id: str, provider: str | None, explain: bool, output_format: str
) -> None:
    """Show one effective template."""
    from templar.errors import TemplateNotFoundError

    engine = obj.engine()
    if explain:
        explanation = engine.explain(template_id, provider)
        if output_format == "table":
            _echo_explanation(explanation)
        else:
            _echo_data(explanation.model_dump(mode="json"), output_format)
        return
    template = engine.get_template(template_id, provider)
    if template is None:
        known = [t.template_id for t in engine.list_templates(provider, active_only=False)]
        from templar.errors import did_you_mean

        invalid = [
            r for r in engine.validate().results if r.template_id == template_id and not r.is_valid
        ]
        why = " (it has validation errors: run 'templates validate')" if invalid else ""
        raise TemplateNotFoundError(
            f"no template '{template_id}'{did_you_mean(template_id, known)}{why}",
            template_id=template_id,
        )
    if output_format == "table":
        _echo_template(template)
    else:
        _echo_data(template.model_dump(mode="json"), output_format)


@cli.command("validate")
@click.option("--strict", is_flag=True, help="Warnings fail too.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.pass_obj
@handles_errors
def validate_command(obj: CliContext, strict: bool, output_format: str) -> None:
    """Validate every template; exit 1 on errors (and on warnings with --strict)."""
    report = obj.engine().validate()
    errors, warns = report.errors, report.warnings
    failed = bool(errors) or (strict and bool(warns))
    if output_format == "json":
        payload = {
            "valid": not failed,
            "templates": len(report.results),
            "error_count": len(errors),
            "warning_count": len(warns),
            "issues": [i.model_dump(mode="json") for i in report.issues],
            "results": [r.model_dump(mode="json") for r in report.results],
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        for issue in report.issues:
            click.echo(_issue_line(issue))
        valid = sum(r.is_valid for r in report.results)
        click.echo(
            f"{len(report.results)} template{'s' * (len(report.results) != 1)}, {valid} valid; "
            f"{len(errors)} error{'s' * (len(errors) != 1)}, "
            f"{len(warns)} warning{'s' * (len(warns) != 1)}",
            err=True,
        )
    sys.exit(EXIT_FAILURE if failed else EXIT_OK)


@cli.command("plugins")
@TABLE_OR_JSON
@click.pass_obj
@handles_errors
def plugins_command(obj: CliContext, output_format: str) -> None:
    """List loaded plugins: name, version, hooks, load time and failures."""
    from templar.plugins import PluginHost

    infos = PluginHost().plugin_infos()
    if output_format == "json":
        click.echo(json.dumps([i.model_dump(mode="json") for i in infos], indent=2))
        return
    rows = [
        [
            i.name + (" (builtin)" if i.builtin else ""),
            i.version or "",
            ", ".join(i.registered),
            ", ".join(h.removeprefix("templar_") for h in i.hooks),
            f"{i.load_time_ms:.1f} ms",
            i.error or "ok",
        ]
        for i in infos
    ]
    _echo_table(["PLUGIN", "VERSION", "REGISTERS", "HOOKS", "LOAD", "STATUS"], rows)


@cli.command("schema")
@click.option(
    "--type", "provider_type", default="generic", show_default=True, help="Provider type."
)
@click.option(
    "--effective",
    is_flag=True,
    help="Schema of one effective template as the engine hands it out (list --format "
    "json), instead of a layer file as written.",
)
@click.pass_obj
@handles_errors
def schema_command(obj: CliContext, provider_type: str, effective: bool) -> None:
    """Print the JSON Schema of a provider type's templates.

    By default, the schema of a layer file as people write it (awsprov_templates.yaml
    and friends: the three file shapes, flat keys in the provider's spelling), for
    editor completion and checking; with --effective, of one effective template.
    """
    from templar.errors import TemplarError, unknown_provider_type
    from templar.plugins import PluginHost
    from templar.schema import layer_file_schema, template_schema

    providers = PluginHost().providers
    entry = providers.get(provider_type)
    if entry is None:
        raise TemplarError(
            unknown_provider_type(provider_type, providers),
            provider_type=provider_type,
        )
    schema = template_schema(entry.spec) if effective else layer_file_schema(entry.spec)
    click.echo(json.dumps(schema, indent=2))


@cli.group("cache")
def cache_group() -> None:
    """Inspect or empty the on-disk cache."""


@cache_group.command("info")
@TABLE_OR_JSON
@click.pass_obj
@handles_errors
def cache_info_command(obj: CliContext, output_format: str) -> None:
    """Directory, size, entries, hits, misses, and the age of this directory's entry."""
    info = obj.engine().cache_info()
    if output_format == "json":
        click.echo(info.model_dump_json(indent=2))
        return
    ttl = f"ttl {info.ttl_seconds:g} s"
    rows = [
        ["directory", info.directory],
        ["enabled", f"yes ({ttl})" if info.enabled else f"no ({ttl})"],
        ["size", _human_size(info.size_bytes)],
        [
            "entries",
            f"{info.entries} ({_plural(info.loads, 'load')}, "
            f"{_plural(info.parsed_files, 'parsed file')})",
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
                f"{current.age_seconds:.1f} s ({state}, served {_plural(current.hit_count, 'time')})",
            ]
        )
    for name, value in rows:
        click.echo(f"{name:<10} {value}")


@cache_group.command("clear")
@click.pass_obj
@handles_errors
def cache_clear_command(obj: CliContext) -> None:
    """Remove every entry of the cache directory."""
    from templar.cache import resolve_cache_dir

    engine = obj.engine()
    removed = engine.clear_cache()
    directory = resolve_cache_dir(engine.settings.cache, engine.config_dir)
    click.echo(f"removed {removed} entr{'y' if removed == 1 else 'ies'} from {directory}")


@cli.command("watch")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="One line per change: a summary, or a JSON object (JSON lines).",
)
@click.option(
    "--debounce",
    "debounce_ms",
    type=click.IntRange(min=0),
    help="Quiet time in milliseconds before reloading (default: watch.debounce_ms, 50).",
)
@click.pass_obj
@handles_errors
def watch_command(obj: CliContext, output_format: str, debounce_ms: int | None) -> None:
    """Reload whenever a template file or templar.yaml changes; print each change.

    Runs until interrupted (Ctrl-C), then exits 0. A template whose new version is
    invalid stays in service as it last was and is listed as stale.
    """
    engine = obj.engine()
    count = len(engine.list_templates(active_only=False))
    report = engine.validate()

    def ready() -> None:
        # What is already wrong, once, so a watch started on a broken file says so.
        for issue in report.issues:
            click.echo(_issue_line(issue), err=True)
        errors = len(report.errors)
        problems = f", {errors} error{'s' * (errors != 1)}" if errors else ""
        click.echo(
            f"watching {_display_path(str(engine.config_dir))}: {count} templates{problems} "
            "(Ctrl-C to stop)",
            err=True,
        )

    watcher = engine.watch(debounce_ms=debounce_ms)
    watcher.on_ready = ready
    try:
        for event in watcher:
            if output_format == "json":
                click.echo(event.model_dump_json())
            else:
                click.echo(_event_line(event))
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
    click.echo("stopped", err=True)


def _event_line(event: ChangeEvent) -> str:
    """One change event as one line: what moved, per provider instance, then new issues."""
    parts = ["full reload"] if event.full_reload else []
    for label, by_instance in (
        ("added", event.added),
        ("changed", event.changed),
        ("removed", event.removed),
        ("stale", event.stale),
    ):
        parts += [f"{label} {name}: {', '.join(ids)}" for name, ids in by_instance.items()]
    if event.issues:
        count = len(event.issues)
        parts.append(
            f"{count} new issue{'s' * (count != 1)}: "
            + " | ".join(_issue_line(issue) for issue in event.issues)
        )
    when = event.timestamp.astimezone().strftime("%H:%M:%S")
    return f"{when} " + ("; ".join(parts) or "no change")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' * (count != 1)}"


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


# -- output helpers -------------------------------------------------------------------


def _display_path(path: str | None) -> str:
    if not path:
        return "-"
    try:
        return os.path.relpath(path)
    except ValueError:
        return path


def _issue_line(issue: ValidationIssueDTO) -> str:
    if issue.file:
        return issue.model_copy(update={"file": _display_path(issue.file)}).format_line()
    return issue.format_line()


def _echo_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    rows = [list(map(str, r)) for r in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    click.echo(line.rstrip())
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if not rows:
        click.echo("(no templates)", err=True)


def _echo_data(data: Any, output_format: str) -> None:
    if output_format == "json":
        import orjson

        # The standard library's indenting encoder is pure Python: 0.1 s for 1,000
        # templates, more than the whole warm load. orjson writes the same JSON.
        options = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
        click.echo(orjson.dumps(data, option=options).decode())
        return
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.dump(data, sys.stdout)


def _echo_template(template: TemplateDTO) -> None:
    data = template.model_dump(mode="json", exclude_none=True)
    _echo_data(data, "yaml")


def _echo_explanation(explanation: TemplateExplanation) -> None:
    click.echo(
        f"template {explanation.template_id}  (provider instance {explanation.provider_instance}, "
        f"type {explanation.provider_type}, merge {explanation.merge})"
    )
    click.echo("layers, highest priority first:")
    for layer in explanation.layers:
        click.echo(
            f"  {layer.priority}  {layer.layer:<18} {_where(layer.file, layer.line, layer.column)}"
        )
    click.echo("fields:")
    for field in explanation.fields:
        where = _where(field.source.file, field.source.line, field.source.column)
        if field.unset:
            click.echo(f"  {field.field} unset by null    <- {field.source.layer} {where}")
        else:
            value = json.dumps(field.value, default=str)
            click.echo(f"  {field.field} = {value}    <- {field.source.layer} {where}")
        for old in field.shadowed:
            click.echo(
                f"      shadows {json.dumps(old.value, default=str)} from {old.layer} "
                f"{_where(old.file, old.line, old.column)}"
            )


def _where(file: str | None, line: int | None, column: int | None) -> str:
    if not file:
        return "(plugin)"
    where = _display_path(file)
    return f"{where}:{line}:{column}" if line else where


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``templates`` console script."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="templates")
    except BrokenPipeError:
        # The reader went away (``templates list | head``): stop quietly, as cat does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_FAILURE)


if __name__ == "__main__":  # pragma: no cover
    main()
