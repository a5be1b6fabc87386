"""The ``k8s`` provider type, registered through the ``templar`` entry-point group.

A second, smaller provider than ``aws``: the same hooks, its own configuration model,
key style, rules and features.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from templar import (
    CamelCaseKeyStyle,
    ProviderSpec,
    Severity,
    TemplateDTO,
    ValidationIssueDTO,
    hookimpl,
)
from templar.errors import did_you_mean

from templar_k8s.configuration import K8sConfiguration
from templar_k8s.values import PROVIDER_APIS, RESTART_POLICIES_BY_API, parse_quantity

#: ORB's camelCase: ``imageId`` is the container image, everything else is regular.
K8S_KEY_STYLE = CamelCaseKeyStyle(
    name="camel",
    overrides={"image": "imageId"},
    aliases={
        "image_id": "image",
        # ORB's generic Template names, old and current.
        "machine_image": "image",
        "max_instances": "max_number",
        "max_machines": "max_number",
        "machine_role": "service_account",
        "environment": "env",
        "environment_variables": "env",
        # Kubernetes' own spelling of the service account field.
        "serviceAccountName": "service_account",
    },
)


_K8S_API = "https://kubernetes.io/docs/reference/kubernetes-api/workload-resources"
_MS = "github.com/morganstanley/symphony-hostfactory src/hostfactory/validator.py"
#: Where each error rule comes from.
RULE_SOURCES = {
    "k8s-provider-api-invalid": "ORB: K8sTemplate providerApi (Pod, Deployment, StatefulSet, Job)",
    "k8s-image-required": f"Kubernetes: {_K8S_API}/pod-v1/ (containers[].image)",
    "k8s-request-exceeds-limit": "Kubernetes: https://kubernetes.io/docs/concepts/configuration/"
    "manage-resources-containers/ (a request may not exceed its limit)",
    "k8s-restart-policy-unsupported": f"Kubernetes: {_K8S_API}/deployment-v1/, job-v1/ "
    "(template.spec.restartPolicy)",
    "k8s-attributes-missing": f"Symphony for Kubernetes: {_MS} (HFTemplate.attributes)",
    "k8s-unrendered-placeholder": f"Symphony for Kubernetes: {_MS} (podSpec is a FilePath)",
}
#: Fields only a Job uses, and only a StatefulSet.
JOB_ONLY_FIELDS = (
    "completions",
    "parallelism",
    "ttl_seconds_after_finished",
    "active_deadline_seconds",
)


def check_template(template: TemplateDTO) -> list[ValidationIssueDTO]:
    """Every cross-field issue of one validated ``k8s`` template."""
    config = K8sConfiguration.model_validate(template.configuration)
    issues: list[ValidationIssueDTO] = []

    def report(code: str, field: str, message: str, severity: Severity = Severity.ERROR) -> None:
        source = RULE_SOURCES.get(code) if severity == Severity.ERROR else None
        if source:
            message = f"{message} (source: {source})"
        issues.append(
            ValidationIssueDTO(code=code, severity=severity, message=message, field=field)
        )

    api = template.provider_api
    if api is not None and api not in PROVIDER_APIS:
        report(
            "k8s-provider-api-invalid",
            "provider_api",
            f"providerApi '{api}' is not one of {', '.join(PROVIDER_APIS)}"
            + did_you_mean(api, PROVIDER_APIS),
        )
        api = None
    if not (config.image or config.native_spec_path or config.native_spec or config.pod_spec):
        report(
            "k8s-image-required",
            "configuration.image",
            "no container image: set imageId (or image), a native spec (nativeSpecPath, "
            "native_spec) or podSpec",
        )
    _check_resources(config, report)
    allowed = RESTART_POLICIES_BY_API.get(api or "")
    if config.restart_policy and allowed and config.restart_policy not in allowed:
        report(
            "k8s-restart-policy-unsupported",
            "configuration.restart_policy",
            f"a {api} accepts restartPolicy {' or '.join(allowed)}, not '{config.restart_policy}'",
        )
    if api is not None and api != "Job":
        for name in JOB_ONLY_FIELDS:
            if getattr(config, name) is not None:
                report(
                    "k8s-job-field-ignored",
                    f"configuration.{name}",
                    f"{name} applies to a Job; a {api} ignores it",
                    Severity.WARNING,
                )
    if api is not None and api != "StatefulSet" and config.service_name is not None:
        report(
            "k8s-service-name-ignored",
            "configuration.service_name",
            f"serviceName applies to a StatefulSet; a {api} ignores it",
            Severity.WARNING,
        )
    if config.pod_spec is not None:
        _check_pod_spec(template, config.pod_spec, report)
    return issues


class _Report(Protocol):
    def __call__(
        self, code: str, field: str, message: str, severity: Severity = Severity.ERROR
    ) -> None: ...


def _check_resources(config: K8sConfiguration, report: _Report) -> None:
    pairs = []
    if config.resources is not None:
        pairs.append(("resources.requests", config.resources.requests, config.resources.limits))
    requests = config.resource_requests.as_resources() if config.resource_requests else None
    limits = config.resource_limits.as_resources() if config.resource_limits else None
    pairs.append(("resource_requests", requests, limits))
    for prefix, wanted, capped in pairs:
        for name, request in (wanted or {}).items():
            limit = (capped or {}).get(name)
            if limit is not None and parse_quantity(request) > parse_quantity(limit):
                field = name if prefix == "resources.requests" else name.replace("-", "_")
                report(
                    "k8s-request-exceeds-limit",
                    f"configuration.{prefix}.{field}",
                    f"the {name} request ({request}) is above its limit ({limit})",
                )
    if config.resources is not None and (config.resource_requests or config.resource_limits):
        report(
            "k8s-resources-twice",
            "configuration.resource_requests",
            "both resources and resourceRequests/resourceLimits are set; ORB reads only "
            "resourceRequests/resourceLimits",
            Severity.WARNING,
        )


def _check_pod_spec(template: TemplateDTO, pod_spec: str, report: _Report) -> None:
    if "{{" in pod_spec or "{%" in pod_spec:
        report(
            "k8s-unrendered-placeholder",
            "configuration.pod_spec",
            f"podSpec '{pod_spec}' is an unrendered template placeholder, not a file",
        )
        return
    path = Path(pod_spec).expanduser()
    if not path.is_absolute() and template.source_file:
        path = Path(template.source_file).parent / path
    if not path.is_file():
        report(
            "k8s-pod-spec-not-found",
            "configuration.pod_spec",
            f"podSpec '{pod_spec}' is not a file beside the template file; Symphony for "
            "Kubernetes refuses a podSpec that is not a file where it runs",
            Severity.WARNING,
        )
    if not template.configuration.get("attributes"):
        report(
            "k8s-attributes-missing",
            "configuration.attributes",
            "a podSpec template (Symphony for Kubernetes) needs attributes: type, ncpus, nram",
        )


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
    if resources.get("requests") or config.get("resource_requests"):
        features.append("resource-requests")
    if resources.get("limits") or config.get("resource_limits"):
        features.append("resource-limits")
    if config.get("tolerations"):
        features.append("tolerations")
    if config.get("volumes"):
        features.append("volumes")
    if config.get("readiness_probe") or config.get("liveness_probe"):
        features.append("probes")
    if config.get("pod_spec"):
        features.append("pod-spec-file")
    if config.get("node_selector"):
        features.append("node-selector")
    if config.get("native_spec_path") or config.get("native_spec"):
        features.append("native-spec")
    return features


#: The ``k8s`` provider type as this plugin registers it.
K8S_PROVIDER = ProviderSpec(
    name="k8s",
    configuration_model=K8sConfiguration,
    supported_features=supported_features,
    key_style=K8S_KEY_STYLE,
    description="Kubernetes workloads (Pod, Deployment, StatefulSet, Job) of one container: "
    "ORB's k8s templates and Symphony HostFactory for Kubernetes (podSpec).",
)


@hookimpl
def templar_register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register the ``k8s`` provider type."""
    register(K8S_PROVIDER)


@hookimpl
def templar_validate_templates(
    templates: Sequence[TemplateDTO], provider: ProviderSpec
) -> list[list[ValidationIssueDTO]] | None:
    """Cross-field rules of ``k8s`` templates; one call for all the templates of an
    instance."""
    if provider.name != K8S_PROVIDER.name:
        return None
    return [check_template(template) for template in templates]
