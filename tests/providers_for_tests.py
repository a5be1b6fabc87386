"""Small provider plugins the core tests register on an engine (never installed)."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from templar import CamelCaseKeyStyle, ProviderSpec, Severity, ValidationIssueDTO, hookimpl


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cpu: int = 1
    memory: str = "1Gi"


class SizedConfiguration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: int = Field(ge=1)
    descriptor: str = ""  # close to the core field 'description': not a typo here
    limits: Limits | None = None
    max_number: int = 1
    color: str = "red"
    labels: dict[str, str] = Field(default_factory=dict)


SIZED = ProviderSpec(
    name="sized",
    configuration_model=SizedConfiguration,
    defaults={"configuration": {"color": "blue"}},
    supported_features=lambda t: ["big"] if t.configuration["size"] > 10 else ["small"],
    key_style=CamelCaseKeyStyle("hostfactory"),
    description="A test provider with a required field",
)


class SizedPlugin:
    """Registers the ``sized`` provider and one cross-field rule."""

    @hookimpl
    def templar_register_providers(self, register: Callable[[ProviderSpec], None]) -> None:
        register(SIZED)

    @hookimpl
    def templar_validate_template(
        self, template: object, provider: ProviderSpec, instance: str
    ) -> list[ValidationIssueDTO] | None:
        if provider.name != "sized":
            return None
        configuration = template.configuration  # type: ignore[attr-defined]
        if configuration["max_number"] > configuration["size"]:
            return [
                ValidationIssueDTO(
                    code="sized-max-over-size",
                    severity=Severity.ERROR,
                    message="max_number may not exceed size",
                    field="configuration.max_number",
                )
            ]
        return None
