"""templar.validate: one template's versions merged, validated into a DTO, located issues."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from templar.locate import Locator
from templar.merge import LayerRef, TemplateVersion, normalize
from templar.models import LayerKind, Severity
from templar.plugins import PluginHost
from templar.providers import CamelCaseKeyStyle, ProviderSpec
from templar.state import ProviderInstance
from templar.storage import FileStorage, LayerSource
from templar.validate import Validator


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_number: int
    image_id: str | None = None


SPEC = ProviderSpec(name="acme", configuration_model=Config, key_style=CamelCaseKeyStyle())
INSTANCE = ProviderInstance("acme", "acme")


def versions(tmp_path: Path, shared: dict[str, Any], inst: dict[str, Any]) -> list[TemplateVersion]:
    import json

    out = []
    for kind, name, body in [
        (LayerKind.SHARED, "templates.json", shared),
        (LayerKind.INSTANCE, "acmeinst_templates.json", inst),
    ]:
        path = tmp_path / name
        path.write_text(json.dumps([body], indent=2))
        source = LayerSource(kind, "acme" if kind is LayerKind.INSTANCE else None, str(path))
        out.append(normalize(body, SPEC, LayerRef(kind, source, kind.label), (0,)))
    return out


def validator(tmp_path: Path) -> Validator:
    return Validator(
        "deep", PluginHost(load_entrypoints=False), Locator(FileStorage(tmp_path), None)
    )


def test_the_merged_template_validates_into_a_dto(tmp_path: Path) -> None:
    found = versions(tmp_path, {"template_id": "t", "maxNumber": 2}, {"imageId": "ami-1"})
    dto, (tid, instance, issues, _features) = validator(tmp_path).validate(
        INSTANCE, SPEC, "t", found
    )
    assert dto is not None and issues == []
    assert dto.configuration == {"max_number": 2, "image_id": "ami-1"}
    assert (tid, instance, dto.provider_name, dto.file_priority) == ("t", INSTANCE, "acme", 1)


def test_an_issue_points_at_the_layer_that_set_the_field(tmp_path: Path) -> None:
    found = versions(
        tmp_path, {"template_id": "t", "maxNumber": 2}, {"maxNumber": "many", "imagId": "x"}
    )
    dto, (_, _, issues, _) = validator(tmp_path).validate(INSTANCE, SPEC, "t", found)
    assert dto is None
    by_code = {i.code: i for i in issues}
    invalid, unknown = by_code["invalid-field"], by_code["unknown-key"]
    assert Path(invalid.file or "").name == "acmeinst_templates.json"
    assert (invalid.field, invalid.line, invalid.severity) == (
        "configuration.max_number",
        3,
        Severity.ERROR,
    )
    assert "(got 'many')" in invalid.message
    assert unknown.message == "unknown key 'imagId' (did you mean 'imageId'?)"


def test_a_provider_name_that_is_not_the_instance_warns(tmp_path: Path) -> None:
    found = versions(tmp_path, {"template_id": "t", "maxNumber": 1, "providerName": "other"}, {})
    dto, (_, _, issues, _) = validator(tmp_path).validate(INSTANCE, SPEC, "t", found)
    assert dto is not None and dto.provider_name == "acme"
    assert [(i.code, i.severity, i.line) for i in issues] == [
        ("provider-name-mismatch", Severity.WARNING, 5)  # the line of "providerName"
    ]


def test_an_unchanged_template_without_issues_is_not_validated_again(tmp_path: Path) -> None:
    checker = validator(tmp_path)
    found = versions(tmp_path, {"template_id": "t", "maxNumber": 1}, {})
    first = checker.validated(INSTANCE, SPEC, "t", found)
    checker.verdicts.roll()
    assert checker.validated(INSTANCE, SPEC, "t", found) is first
    checker.verdicts.roll()
    fresh = versions(tmp_path, {"template_id": "t", "maxNumber": 1}, {})
    assert checker.validated(INSTANCE, SPEC, "t", fresh) is not first
