"""How a provider reads keys: ``ProviderSpec.core_keys`` and key-style aliases."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from templar import CamelCaseKeyStyle, ProviderSpec, TemplateEngine, hookimpl


class TaggedConfiguration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_number: int = 1
    instance_tags: dict[str, str] | None = None
    aws_like: str | None = None


TAGGED = ProviderSpec(
    name="tagged",
    configuration_model=TaggedConfiguration,
    key_style=CamelCaseKeyStyle(
        "camel", aliases={"tags": "instance_tags", "max_instances": "max_number"}
    ),
    core_keys={"handler": "provider_api", "tags": None},
)


class TaggedPlugin:
    @hookimpl
    def templar_register_providers(self, register: Callable[[ProviderSpec], None]) -> None:
        register(TAGGED)


def _engine(config_dir: Path, templates: list[dict[str, object]]) -> TemplateEngine:
    (config_dir / "taggedprov_templates.json").write_text(json.dumps(templates))
    return TemplateEngine(config_dir, plugins=[TaggedPlugin()], load_entrypoints=False)


def test_core_keys_read_a_key_as_a_core_field_and_a_core_name_as_configuration(
    config_dir: Path,
) -> None:
    engine = _engine(config_dir, [{"templateId": "t", "handler": "Fleet", "tags": {"a": "b"}}])
    assert engine.validate().issues == []
    template = engine.get_template("t")
    assert template is not None
    assert template.provider_api == "Fleet"
    assert template.tags == {}
    assert template.configuration["instance_tags"] == {"a": "b"}
    explained = {f.field: f for f in engine.explain("t").fields}
    assert explained["provider_api"].source.line == 1


def test_core_keys_change_nothing_for_other_providers(config_dir: Path) -> None:
    (config_dir / "templates.json").write_text(
        json.dumps([{"templateId": "g", "tags": {"a": "b"}}])
    )
    engine = TemplateEngine(config_dir, plugins=[TaggedPlugin()], load_entrypoints=False)
    template = engine.get_template("g")
    assert template is not None
    assert (template.provider_type, template.tags) == ("generic", {"a": "b"})


def test_an_alias_matches_after_the_camel_case_conversion(config_dir: Path) -> None:
    engine = _engine(config_dir, [{"templateId": "t", "maxInstances": 4}])
    assert engine.validate().issues == []
    template = engine.get_template("t")
    assert template is not None
    assert template.configuration["max_number"] == 4
    style = TAGGED.key_style
    assert style is not None
    assert style.to_canonical("maxInstances") == style.to_canonical("max_instances") == "max_number"
