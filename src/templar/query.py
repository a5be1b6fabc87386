"""Queries on a load: list, get and search templates, by instance and provider type."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from templar.errors import (
    AmbiguousTemplateError,
    TemplarError,
    did_you_mean,
    unknown_provider_type,
)
from templar.models import TemplateDTO, ValidationReport
from templar.state import EngineState


def check_scope(
    state: EngineState,
    installed: Collection[str],
    provider: str | None,
    provider_type: str | None,
) -> None:
    """A provider instance or type that does not exist is a typo, not an empty answer."""
    names = [i.name for i in state.instances]
    if provider is not None and provider not in names:
        raise TemplarError(
            f"unknown provider instance '{provider}'{did_you_mean(provider, names)}; "
            f"instances: {', '.join(names) or 'none'}",
            provider=provider,
        )
    types = {i.type for i in state.instances} | set(installed)
    if provider_type is not None and provider_type not in types:
        raise TemplarError(
            unknown_provider_type(provider_type, installed), provider_type=provider_type
        )


def list_templates(
    state: EngineState,
    provider: str | None = None,
    provider_type: str | None = None,
    active_only: bool = True,
) -> list[TemplateDTO]:
    """Every valid effective template, instance by instance, in file order."""
    out: list[TemplateDTO] = []
    for instance in state.instances:
        if provider is not None and instance.name != provider:
            continue
        if provider_type is not None and instance.type != provider_type:
            continue
        for template in state.templates.get(instance.name, {}).values():
            if active_only and not template.is_active:
                continue
            out.append(template)
    return out


def get_template(
    state: EngineState, template_id: str, provider: str | None = None
) -> TemplateDTO | None:
    """One template by id, or ``None``; an id that several instances define is an error
    naming them (unless ``provider`` chooses one)."""
    found = [
        (instance.name, templates[template_id])
        for instance in state.instances
        if (provider is None or instance.name == provider)
        and template_id in (templates := state.templates.get(instance.name, {}))
    ]
    if len(found) > 1:
        names = [name for name, _ in found]
        raise AmbiguousTemplateError(template_id, names)
    return found[0][1] if found else None


def validation_report(state: EngineState) -> ValidationReport:
    """The results of every template of ``state`` and the issues of every file, as
    :meth:`templar.TemplateEngine.validate` returns them."""
    return ValidationReport(results=list(state.results), file_issues=list(state.file_issues))


def search_templates(
    state: EngineState,
    installed: Collection[str],
    criteria: Mapping[str, Any],
    provider: str | None = None,
    provider_type: str | None = None,
    active_only: bool | None = None,
) -> list[TemplateDTO]:
    """:meth:`templar.TemplateEngine.search_templates`: the templates of ``state`` in
    scope (checked as by :func:`check_scope`) that meet every criterion (:func:`search`).
    Inactive ones are left out unless ``active_only`` is false, or, when it is not
    given, a criterion is on ``is_active`` itself."""
    if active_only is None:
        active_only = "is_active" not in criteria
    check_scope(state, installed, provider, provider_type)
    return search(list_templates(state, provider, provider_type, active_only), criteria)


def search(templates: list[TemplateDTO], criteria: Mapping[str, Any]) -> list[TemplateDTO]:
    """The templates whose fields equal every criterion (see
    :meth:`templar.TemplateEngine.search_templates`)."""
    if not criteria:
        return templates
    return [t for t in templates if matches_all(t.model_dump(mode="json"), criteria)]


def matches_all(data: dict[str, Any], criteria: Mapping[str, Any]) -> bool:
    """Whether a template, dumped once, meets every criterion."""
    return all(_matches(data, key, expected) for key, expected in criteria.items())


def _matches(data: dict[str, Any], key: str, expected: Any) -> bool:
    path = key.split(".")
    if path[0] not in data:
        path = ["configuration", *path]
    value: Any = data
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    candidates = value if isinstance(value, list) else [value]
    for candidate in candidates:
        if candidate == expected or _as_text(candidate) == _as_text(expected):
            return True
    return False


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
