"""The ``k8s`` provider type, registered through the ``templar`` entry-point group.

A second, smaller provider than ``aws``: the same hooks, its own configuration model,
key style, rules and features.
"""

from __future__ import annotations

from collections.abc import Callable

from templar import (
    CamelCaseKeyStyle,
    ProviderSpec,
    Severity,
    TemplateDTO,
    ValidationIssueDTO,
    hookimpl,
)
from templar.errors import did_you_mean

from templar_k8s.configuration import PROVIDER_APIS, K8sConfiguration, parse_quantity

#: ORB's camelCase: ``imageId`` is the container image, everything else is regular.
K8S_KEY_STYLE = CamelCaseKeyStyle(
    name="camel", overrides={"image": "imageId"}, aliases={"image_id": "image"}
)


def check_template(template: TemplateDTO) -> list[ValidationIssueDTO]:
    """Every cross-field issue of one validated ``k8s`` template."""
    config = K8sConfiguration.model_validate(template.configuration)
    issues = []
    api = template.provider_api
    if api is not None and api not in PROVIDER_APIS:
        issues.append(
            ValidationIssueDTO(
                code="k8s-provider-api-invalid",
                severity=Severity.ERROR,
                message=f"providerApi '{api}' is not one of {', '.join(PROVIDER_APIS)}"
                + did_you_mean(api, PROVIDER_APIS),
                field="provider_api",
            )
        )
    if config.image is None and config.native_spec_path is None:
        issues.append(
            ValidationIssueDTO(
                code="k8s-image-required",
                severity=Severity.ERROR,
                message="no container image: set imageId (or image), or nativeSpecPath",
                field="configuration.image",
            )
        )
    resources = config.resources
    if resources is not None and resources.requests and resources.limits:
        for name, request in resources.requests.items():
            limit = resources.limits.get(name)
            if limit is not None and parse_quantity(request) > parse_quantity(limit):
                issues.append(
                    ValidationIssueDTO(
                        code="k8s-request-exceeds-limit",
                        severity=Severity.ERROR,
                        message=f"the {name} request ({request}) is above its limit ({limit})",
                        field=f"configuration.resources.requests.{name}",
                    )
                )
    return issues


def supported_features(template: TemplateDTO) -> list[str]:
    """The features one validated ``k8s`` template uses."""
    config = template.configuration
    features = []
    if template.provider_api in ("Deployment", "StatefulSet"):
        features.append("replicas")
    if template.provider_api == "StatefulSet":
        features.append("stable-identity")
    if template.provider_api == "Job":
        features.append("run-to-completion")
    resources = config.get("resources") or {}
    if resources.get("requests"):
        features.append("resource-requests")
    if resources.get("limits"):
        features.append("resource-limits")
    if config.get("node_selector"):
        features.append("node-selector")
    if config.get("native_spec_path"):
        features.append("native-spec")
    return features


#: The ``k8s`` provider type as this plugin registers it.
K8S_PROVIDER = ProviderSpec(
    name="k8s",
    configuration_model=K8sConfiguration,
    supported_features=supported_features,
    key_style=K8S_KEY_STYLE,
    description="Kubernetes workloads (Pod, Deployment, StatefulSet, Job) of one container.",
)


@hookimpl
def templar_register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register the ``k8s`` provider type."""
    register(K8S_PROVIDER)


@hookimpl
def templar_validate_template(
    template: TemplateDTO, provider: ProviderSpec
) -> list[ValidationIssueDTO] | None:
    """Cross-field rules of ``k8s`` templates."""
    if provider.name != K8S_PROVIDER.name:
        return None
    return check_template(template)
