"""JSON Schema of templates, for ``templates schema`` and editors.

Two schemas per provider type:

* :func:`layer_file_schema`: one *layer file* as a person writes it
  (``templates schema --type T``), for editor completion and checking: the
  file shapes, core fields in snake_case or HostFactory camelCase, provider keys flat or
  under ``configuration`` in every spelling the provider's key style reads. The
  provider's own spelling is suggested; the others are accepted but marked
  ``doNotSuggest`` so completion lists each key once. No key is required, since a
  higher layer may be partial; a listed template needs its id.
* :func:`template_schema`: one *effective* template, as the engine hands it out
  (``templates schema --type T --effective``): snake_case, provider keys under
  ``configuration``, the read-only fields the engine adds.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, create_model

from templar.models import CORE_FIELD_ALIASES, TemplateDTO
from templar.providers import ProviderSpec

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
#: Fields the engine fills in; a file cannot set them.
_READ_ONLY_FIELDS = ("source_file", "file_priority")


def template_schema(spec: ProviderSpec) -> dict[str, Any]:
    """The JSON Schema of one effective template of provider type ``spec.name``."""
    model = create_model(
        f"{spec.name.title().replace('-', '')}Template",
        __base__=TemplateDTO,
        configuration=(spec.configuration_model, ...),
    )
    schema = model.model_json_schema()
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["title"] = f"Templar template ({spec.name})"
    return schema


def layer_file_schema(spec: ProviderSpec) -> dict[str, Any]:
    """The JSON Schema of a template file of provider type ``spec.name`` as written,
    such as ``awsprov_templates.yaml``; see the module docstring."""
    defs: dict[str, Any] = {}
    core = _schema_of(TemplateDTO, defs)
    configuration = _schema_of(spec.configuration_model, defs)
    closed = spec.configuration_model.model_config.get("extra") == "forbid"

    core_properties: dict[str, Any] = {}
    camel_core = {canonical: camel for camel, canonical in CORE_FIELD_ALIASES.items()}
    for name, field_schema in core["properties"].items():
        if name in _READ_ONLY_FIELDS or name == "configuration":
            continue
        spellings = [name]
        if name in camel_core:
            camel_first = spec.key_style is not None
            spellings = [camel_core[name], name] if camel_first else [name, camel_core[name]]
        _add_spellings(core_properties, spellings, field_schema)

    provider_properties: dict[str, Any] = {}
    for name, field_schema in configuration.get("properties", {}).items():
        _add_spellings(provider_properties, _spellings(spec, name), field_schema)

    template: dict[str, Any] = {
        "type": "object",
        "description": f"One {spec.name} template, or the part of it this layer overrides.",
        "properties": {
            **core_properties,
            **provider_properties,
            "configuration": {
                "type": "object",
                "description": f"The {spec.name} provider's keys, if not written flat.",
                "properties": provider_properties,
                "additionalProperties": not closed,
            },
            "_merge": {
                "enum": ["deep", "replace"],
                "description": "replace: this layer replaces the lower versions of the template.",
            },
        },
        "patternProperties": {"^_": {"description": "A comment or directive; ignored."}},
        "additionalProperties": not closed,
    }
    listed = {
        "allOf": [{"$ref": "#/$defs/Template"}],
        "anyOf": [{"required": ["template_id"]}, {"required": ["templateId"]}],
    }
    defs["Template"] = template
    defs["ListedTemplate"] = listed
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": f"Templar {spec.name} template file",
        "description": (
            f"A layer file of {spec.name} templates ({spec.name}prov_templates.yaml, "
            f"{spec.name}type_templates.yaml, <instance>inst_templates.yaml, templates.yaml): "
            "a list of templates, a mapping with a 'templates' list, one template with "
            "its id, or a mapping of template id to template."
        ),
        "anyOf": [
            {
                "type": "object",
                "required": ["templates"],
                "properties": {
                    "templates": {
                        "anyOf": [
                            {"type": "array", "items": {"$ref": "#/$defs/ListedTemplate"}},
                            {
                                "type": "object",
                                "additionalProperties": {"$ref": "#/$defs/Template"},
                            },
                        ]
                    }
                },
                "additionalProperties": True,
            },
            {"type": "array", "items": {"$ref": "#/$defs/ListedTemplate"}},
            {"$ref": "#/$defs/ListedTemplate"},  # one template object, with its id
            {
                "type": "object",
                "not": {"required": ["templates"]},
                "additionalProperties": {"$ref": "#/$defs/Template"},
            },
        ],
        "$defs": defs,
    }


def _schema_of(model: type[BaseModel], defs: dict[str, Any]) -> dict[str, Any]:
    """The validation schema of ``model`` with its ``$defs`` moved into ``defs``."""
    schema = model.model_json_schema(mode="validation", ref_template="#/$defs/{model}")
    defs.update(schema.pop("$defs", {}))
    return schema


def _spellings(spec: ProviderSpec, name: str) -> list[str]:
    style = spec.key_style
    if style is None:
        return [name]
    spellings = getattr(style, "spellings", None)
    if callable(spellings):
        return list(spellings(name))
    return list(dict.fromkeys([style.to_external(name), name]))


def _add_spellings(properties: dict[str, Any], spellings: list[str], schema: Any) -> None:
    for index, spelling in enumerate(spellings):
        if spelling in properties:
            continue
        if index == 0 or not isinstance(schema, dict):
            properties[spelling] = schema
        else:
            properties[spelling] = {**schema, "doNotSuggest": True}
