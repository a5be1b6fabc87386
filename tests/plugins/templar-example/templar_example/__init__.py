"""A provider type ``example``, a validation rule and a ``hello`` command."""

from __future__ import annotations

from typing import Any

import click
from pydantic import BaseModel, ConfigDict

from templar import ProviderSpec, Severity, ValidationIssueDTO, hookimpl


class ExampleConfiguration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    color: str = "red"


@hookimpl
def templar_register_providers(register: Any) -> None:
    register(ProviderSpec(name="example", configuration_model=ExampleConfiguration))


@hookimpl
def templar_validate_template(template: Any, provider: Any, instance: str) -> Any:
    if provider.name == "example" and template.configuration["color"] == "black":
        return [
            ValidationIssueDTO(
                code="example-no-black",
                severity=Severity.WARNING,
                message="black is hard to see",
                field="configuration.color",
            )
        ]
    return None


@hookimpl
def templar_register_commands(cli: Any) -> None:
    @cli.command("hello")
    def hello() -> None:
        """Say hello from the example plugin."""
        click.echo("hello from templar-example")
