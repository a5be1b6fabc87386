"""The ``configuration`` of a ``k8s`` template: one container workload, validated.

Field names are snake_case; the engine reads ORB's camelCase (``imageId``,
``nodeSelector``, ``maxNumber``) through :data:`templar_k8s.plugin.K8S_KEY_STYLE` first.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from templar_k8s.values import (
    Count,
    Env,
    HostFactoryAttributes,
    LabelKey,
    LabelValue,
    Probe,
    ResourceQuantities,
    Resources,
    SecurityContext,
    Toleration,
    Volume,
    as_toleration_list,
    as_volume_list,
    check_image,
    check_namespace,
)


class K8sConfiguration(BaseModel):
    """The provider configuration of a ``k8s`` template."""

    model_config = ConfigDict(extra="forbid", title="K8sConfiguration", defer_build=True)

    max_number: Annotated[Count, Field(ge=-1, le=10000)] = Field(
        description="Most pods (replicas, completions) this template may create."
    )
    image: Annotated[str, AfterValidator(check_image)] | None = Field(
        default=None, description="Container image reference (ORB writes it as imageId)."
    )
    namespace: Annotated[str, AfterValidator(check_namespace)] | None = Field(
        default=None, description="Namespace (a DNS-1123 label)."
    )
    command: list[str] | None = Field(default=None, description="Entrypoint, as a list.")
    args: list[str] | None = Field(default=None, description="Arguments to the entrypoint.")
    env: Env | None = Field(
        default=None, description="Environment: {NAME: value} or [{name, value}]."
    )
    node_selector: dict[LabelKey, LabelValue] | None = Field(
        default=None, description="Node labels the pods must match."
    )
    resources: Resources | None = Field(default=None, description="Requests and limits.")
    native_spec_path: Annotated[str, Field(min_length=1)] | None = Field(
        default=None, description="ORB: a manifest file used instead of the generated one."
    )
    # ORB writes its scheduler-wide fields on every template, k8s ones included.
    price_type: Literal["ondemand"] | None = Field(
        default=None, description="ORB compatibility: always ondemand (no spot pods)."
    )
    allocation_strategy: str | None = Field(
        default=None, description="ORB compatibility: kept for round trips, not used."
    )

    # --- Symphony HostFactory for Kubernetes (Morgan Stanley's symphony-hostfactory) ---
    attributes: HostFactoryAttributes | None = Field(
        default=None,
        description="HostFactory attributes: type, ncpus, nram required, ncores optional; "
        "each [kind, value] or [value].",
    )
    pod_spec: Annotated[str, Field(min_length=1)] | None = Field(
        default=None, description="Symphony for Kubernetes: the file holding the pod spec."
    )

    # --- ORB's k8s provider (K8sTemplate) ---
    namespaces: list[Annotated[str, AfterValidator(check_namespace)]] | None = Field(
        default=None, description="ORB: namespaces the pods may go to."
    )
    tolerations: Annotated[list[Toleration], BeforeValidator(as_toleration_list)] | None = Field(
        default=None, description="Pod tolerations (one mapping or a list)."
    )
    runtime_class: Annotated[str, Field(min_length=1)] | None = Field(
        default=None, description="The pod's RuntimeClass."
    )
    image_pull_secret: Annotated[str, Field(min_length=1)] | None = Field(
        default=None, description="The Secret used to pull the image."
    )
    resource_requests: ResourceQuantities | None = Field(
        default=None, description="ORB: the container's requests (cpu, memory, ...)."
    )
    resource_limits: ResourceQuantities | None = Field(
        default=None, description="ORB: the container's limits (cpu, memory, ...)."
    )
    volume_mounts: list[dict[str, Any]] | None = Field(
        default=None, description="The container's volume mounts."
    )
    volumes: Annotated[list[Volume], BeforeValidator(as_volume_list)] | None = Field(
        default=None, description="Pod volumes: {name, configMap|secret|emptyDir|...}."
    )
    annotations: dict[str, str] | None = Field(default=None, description="Annotations of the pods.")
    completions: Annotated[Count, Field(gt=0)] | None = Field(
        default=None, description="Job: completions needed."
    )
    parallelism: Annotated[Count, Field(gt=0)] | None = Field(
        default=None, description="Job: pods run at once."
    )
    service_account: Annotated[str, Field(min_length=1)] | None = Field(
        default=None, description="The pods' service account (ORB: machine_role too)."
    )
    service_name: Annotated[str, Field(min_length=1)] | None = Field(
        default=None, description="StatefulSet: the governing headless Service."
    )
    priority_class_name: Annotated[str, Field(min_length=1)] | None = Field(
        default=None, description="The pods' PriorityClass."
    )
    termination_grace_period_seconds: Annotated[Count, Field(ge=0)] | None = Field(
        default=None, description="Seconds a pod gets to stop."
    )
    restart_policy: Literal["Always", "OnFailure", "Never"] | None = Field(
        default=None, description="Always, OnFailure or Never (per workload kind)."
    )
    readiness_probe: Probe | None = Field(default=None, description="Readiness probe.")
    liveness_probe: Probe | None = Field(default=None, description="Liveness probe.")
    security_context: SecurityContext | None = Field(
        default=None, description="The pod's security context."
    )
    ttl_seconds_after_finished: Annotated[Count, Field(ge=0)] | None = Field(
        default=None, description="Job: seconds to keep it after it finishes."
    )
    active_deadline_seconds: Annotated[Count, Field(gt=0)] | None = Field(
        default=None, description="Job: seconds it may run."
    )
    pod_spec_override: dict[str, Any] | None = Field(
        default=None, description="ORB: a partial pod spec merged onto the generated one."
    )
    native_spec: dict[str, Any] | None = Field(
        default=None, description="ORB: the whole API body, inline (Jinja allowed)."
    )
    provider_config: dict[str, Any] | None = Field(
        default=None, description="ORB: provider settings carried by the template DTO."
    )

    @model_validator(mode="before")
    @classmethod
    def _empty_means_not_set(cls, data: Any) -> Any:
        # As for aws: ORB reads an empty string, list or mapping as "not set".
        if isinstance(data, dict):
            return {
                k: v for k, v in data.items() if not (isinstance(v, (str, list, dict)) and not v)
            }
        return data
