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
    from templar.engine import TemplateEngine

    config_dir = ctx.find_root().params.get("config_dir")  # --config-dir or its envvar
    return TemplateEngine(config_dir)


def _completer(
    values: Callable[[TemplateEngine], Iterable[str]],
) -> Callable[[click.Context, click.Parameter, str], list[CompletionItem]]:
    def complete(
        ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = sorted(set(values(_engine(ctx))))
        except Exception:  # a broken config: offer nothing rather than a traceback
            return []
        return [CompletionItem(value) for value in found if value.startswith(incomplete)]

    return complete


#: ``show TEMPLATE_ID``: every template id, inactive ones included.
template_ids = _completer(
    lambda engine: (t.template_id for t in engine.list_templates(active_only=False))
)
#: ``--provider NAME``: the provider instances of the config directory.
provider_instances = _completer(lambda engine: (i.name for i in engine.instances))
#: ``--type TYPE``: the installed provider types and those the config directory uses.
provider_types = _completer(lambda engine: [*engine.providers, *(i.type for i in engine.instances)])
