"""The ``aws`` provider type, registered through the ``templar`` entry-point group.

``pyproject.toml`` declares ``[project.entry-points.templar] aws = "templar_aws.plugin"``:
installing this distribution is all it takes for every engine to load it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel
from templar import ProviderSpec, TemplateDTO, ValidationIssueDTO, hookimpl

from templar_aws.configuration import AwsConfiguration
from templar_aws.keystyle import HOSTFACTORY
from templar_aws.rules import check_template, supported_features

#: The ``aws`` provider type as this plugin registers it.
AWS_PROVIDER = ProviderSpec(
    name="aws",
    configuration_model=AwsConfiguration,
    # ORB's default: a template that names no price type asks for on-demand capacity.
    defaults={"price_type": "ondemand"},
    supported_features=supported_features,
    key_style=HOSTFACTORY,
    description="AWS EC2 templates in the IBM HostFactory / Open Resource Broker format.",
    core_keys={
        # The legacy handler key of ORB's predecessor (open-hostfactory-plugin) names the API.
        "awsHandler": "provider_api",
        "awshandler": "provider_api",
        "aws_handler": "provider_api",
        # ORB's tags are the instance tags; Templar's core tags stay for other providers.
        "tags": None,
    },
)


@hookimpl
def templar_register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register the ``aws`` provider type."""
    register(AWS_PROVIDER)


@hookimpl
def templar_validate_templates(
    templates: Sequence[TemplateDTO],
    provider: ProviderSpec,
    configurations: Sequence[BaseModel | None],
) -> list[list[ValidationIssueDTO]] | None:
    """Cross-field rules of ``aws`` templates (see :mod:`templar_aws.rules`), on the
    configuration models the engine validated; one call for all the templates of an
    instance."""
    if provider.name != AWS_PROVIDER.name:
        return None
    return [
        check_template(template, model if isinstance(model, AwsConfiguration) else None)
        for template, model in zip(templates, configurations, strict=True)
    ]
