"""JSON Schema of templates, for ``templates schema`` and editors."""

from __future__ import annotations

from typing import Any

from pydantic import create_model

from templar.models import TemplateDTO
from templar.providers import ProviderSpec


def template_schema(spec: ProviderSpec) -> dict[str, Any]:
    """The JSON Schema of one effective template of provider type ``spec.name``."""
    model = create_model(
        f"{spec.name.title().replace('-', '')}Template",
        __base__=TemplateDTO,
        configuration=(spec.configuration_model, ...),
    )
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"Templar template ({spec.name})"
    return schema
