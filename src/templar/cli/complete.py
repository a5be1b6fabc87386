"""Shell completion of the values only a config directory knows: template ids, provider
instance names and provider types (click's ``shell_complete``; see the CLI reference).

A completion must never fail or print: an unreadable config offers nothing.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import click
from click.shell_completion import CompletionItem

if TYPE_CHECKING:
    from templar.engine import TemplateEngine


def _engine(ctx: click.Context) -> TemplateEngine:
    from templar.cli.app import CONFIG_DIR_AFTER_COMMAND
    from templar.engine import TemplateEngine

    # ``templates show --config-dir DIR <TAB>`` wins over ``templates --config-dir DIR``
    # (or its envvar), as it does when the command runs
    config_dir = ctx.meta.get(CONFIG_DIR_AFTER_COMMAND) or ctx.find_root().params.get("config_dir")
    return TemplateEngine(config_dir)


def _completer(
    values: Callable[[TemplateEngine], Iterable[str | tuple[str, str]]],
) -> Callable[[click.Context, click.Parameter, str], list[CompletionItem]]:
    """A ``shell_complete`` offering ``values`` of the engine: names, or (name, help)
    pairs whose help zsh and fish show beside the name."""

    def complete(
        ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found: dict[str, str | None] = {}
                for value in values(_engine(ctx)):
                    name, help_text = value if isinstance(value, tuple) else (value, None)
                    if found.get(name) is None:
                        found[name] = help_text or None
        except Exception:  # a broken config: offer nothing rather than a traceback
            return []
        return [
            CompletionItem(name, help=found[name])
            for name in sorted(found)
            if name.startswith(incomplete)
        ]

    return complete


#: ``show TEMPLATE_ID``: every template id, inactive ones included.
template_ids = _completer(
    lambda engine: (t.template_id for t in engine.list_templates(active_only=False))
)
#: ``--provider NAME``: the provider instances of the config directory.
provider_instances = _completer(lambda engine: (i.name for i in engine.instances))
#: ``--type TYPE``: the installed provider types (with their descriptions) and those the
#: config directory uses.
provider_types = _completer(
    lambda engine: [
        *((name, spec.description) for name, spec in engine.providers.items()),
        *(i.type for i in engine.instances),
    ]
)
