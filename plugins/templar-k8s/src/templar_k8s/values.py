"""The values of ``k8s`` fields: image references, quantities, labels, env, and the
nested Kubernetes structures (tolerations, probes, volumes, security context, attributes).

:mod:`templar_k8s.configuration` puts them together into the model.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic_core import PydanticCustomError

#: The Kubernetes workload kinds a template can create (the core ``provider_api`` field).
PROVIDER_APIS = ("Pod", "Deployment", "StatefulSet", "Job")
#: Pod restart policies (``PodSpec.restartPolicy``), and those each workload accepts.
RESTART_POLICIES = ("Always", "OnFailure", "Never")
RESTART_POLICIES_BY_API = {
    "Deployment": ("Always",),
    "StatefulSet": ("Always",),
    "Job": ("OnFailure", "Never"),
}
#: The HostFactory attributes the Symphony-for-Kubernetes format requires.
REQUIRED_ATTRIBUTES = ("type", "ncpus", "nram")

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
#: An OCI image reference: [registry[:port]/]path[:tag][@digest] (distribution/reference).
IMAGE_REFERENCE = re.compile(
    rf"^(?:(?P<registry>{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?)/)?"
    rf"(?P<path>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$"
)
_DNS1123_LABEL = re.compile(r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$"
)
_LABEL_NAME = re.compile(r"^[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
#: A Kubernetes quantity: a non-negative number and an optional SI, binary or exponent suffix.
QUANTITY = re.compile(
    r"^\+?(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?P<suffix>[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?$"
)
_SUFFIX_FACTORS = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    **{f"{p}i": Decimal(1024) ** (i + 1) for i, p in enumerate("KMGTPE")},
}


def _fail(error_type: str, message: str, /, **context: Any) -> PydanticCustomError:
    return PydanticCustomError(f"k8s_{error_type}", message, context or None)


def _reject_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise _fail("int", "expected an integer, not a boolean")
    return value


def parse_quantity(text: str) -> Decimal:
    """The value of a Kubernetes quantity (``500m`` -> 0.5, ``1Gi`` -> 1073741824)."""
    match = QUANTITY.match(text)
    if match is None:
        raise ValueError(f"'{text}' is not a Kubernetes quantity")
    suffix = match["suffix"] or ""
    if suffix[:1] in ("e", "E"):
        return Decimal(match["number"]) * Decimal(10) ** int(suffix[1:])
    return Decimal(match["number"]) * _SUFFIX_FACTORS[suffix]


def _quantity(value: Any) -> Any:
    if isinstance(value, bool):
        raise _fail("quantity", "a quantity is text such as '500m' or '1Gi', not a boolean")
    if isinstance(value, (int, float)):
        value = str(value)
    if isinstance(value, str) and not QUANTITY.match(value.strip()):
        raise _fail(
            "quantity",
            "not a Kubernetes quantity (a number with an optional suffix: 500m, 2, 1.5, "
            "512Mi, 1Gi, 1e3)",
        )
    return value.strip() if isinstance(value, str) else value


def check_image(value: str) -> str:
    """An OCI image reference, else a ``k8s_image`` error."""
    match = IMAGE_REFERENCE.match(value)
    if match is None or len(match["path"]) + len(match["registry"] or "") > 255:
        raise _fail(
            "image",
            "not a container image reference ([registry/]name[:tag][@digest], name in "
            "lowercase, for example registry.k8s.io/pause:3.9)",
        )
    return value


def check_namespace(value: str) -> str:
    """A DNS-1123 label, else a ``k8s_namespace`` error."""
    if len(value) > 63 or not _DNS1123_LABEL.match(value):
        raise _fail(
            "namespace",
            "not a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting "
            "and ending with a letter or digit)",
        )
    return value


def _check_label_key(key: str) -> str:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)):
        raise _fail("label", "label key prefix '{prefix}' is not a DNS subdomain", prefix=prefix)
    if len(name) > 63 or not _LABEL_NAME.match(name):
        raise _fail(
            "label",
            "not a label key: [prefix/]name, the name at most 63 letters, digits, '-', '_' or '.'",
        )
    return key


def _check_label_value(value: str) -> str:
    if value and (len(value) > 63 or not _LABEL_NAME.match(value)):
        raise _fail("label", "not a label value: at most 63 letters, digits, '-', '_' or '.'")
    return value


def _env_mapping(value: Any) -> Any:
    """``[{"name": N, "value": V}]`` (the Kubernetes form) or ``{N: V}`` -> ``{N: V}``; an
    entry ``{"name": N, "valueFrom": {...}}`` (a ConfigMap or Secret reference) becomes
    ``{N: {...}}``."""
    if isinstance(value, list):
        out: dict[str, Any] = {}
        for item in value:
            keys = set(item) if isinstance(item, dict) else set()
            if "name" not in keys or keys - {"name", "value", "valueFrom", "value_from"}:
                raise _fail("env", "an env list holds {{name, value}} or {{name, valueFrom}}")
            if len(keys) > 2:
                raise _fail("env", "an env entry has value or valueFrom, not both")
            reference = item.get("valueFrom", item.get("value_from"))
            out[str(item["name"])] = reference if reference is not None else item.get("value", "")
        value = out
    if isinstance(value, dict):
        return {k: _env_value(v) for k, v in value.items()}
    return value


def _env_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _check_env_name(name: str) -> str:
    if not _ENV_NAME.match(name):
        raise _fail("env", "not a valid environment variable name")
    return name


Count = Annotated[int, BeforeValidator(_reject_bool)]
Quantity = Annotated[str, BeforeValidator(_quantity, json_schema_input_type=str | int | float)]
LabelKey = Annotated[str, AfterValidator(_check_label_key)]
LabelValue = Annotated[str, AfterValidator(_check_label_value)]
EnvName = Annotated[str, AfterValidator(_check_env_name)]


def _alias(name: str) -> Any:
    """Both spellings of a nested Kubernetes key: ``tolerationSeconds`` and snake_case."""
    head, *rest = name.split("_")
    camel = head + "".join(part.title() for part in rest)
    return Field(default=None, validation_alias=AliasChoices(name, camel))


class EnvVarSource(BaseModel):
    """``valueFrom`` of an environment variable: one Kubernetes reference."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    config_map_key_ref: dict[str, Any] | None = _alias("config_map_key_ref")
    secret_key_ref: dict[str, Any] | None = _alias("secret_key_ref")
    field_ref: dict[str, Any] | None = _alias("field_ref")
    resource_field_ref: dict[str, Any] | None = _alias("resource_field_ref")

    @model_validator(mode="after")
    def _one_source(self) -> EnvVarSource:
        if len(self.model_dump(exclude_none=True)) != 1:
            raise _fail(
                "env",
                "valueFrom names exactly one of configMapKeyRef, secretKeyRef, fieldRef, "
                "resourceFieldRef",
            )
        return self


Env = Annotated[
    dict[EnvName, str | EnvVarSource],
    BeforeValidator(
        _env_mapping,
        json_schema_input_type=dict[str, str | int | float | bool] | list[dict[str, Any]],
    ),
]


class Resources(BaseModel):
    """Container resource requests and limits, as Kubernetes quantities."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    requests: dict[str, Quantity] | None = Field(
        default=None, description="Resources the scheduler reserves: cpu: 500m, memory: 256Mi."
    )
    limits: dict[str, Quantity] | None = Field(
        default=None, description="Most the container may use: cpu: '1', memory: 1Gi."
    )


class ResourceQuantities(BaseModel):
    """ORB's ``resourceRequests`` / ``resourceLimits``: cpu, memory, ephemeral storage, GPUs."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    cpu: Quantity | None = None
    memory: Quantity | None = None
    ephemeral_storage: Quantity | None = _alias("ephemeral_storage")
    gpu_count: Annotated[Count, Field(ge=0)] | None = _alias("gpu_count")
    gpu_type: Annotated[str, Field(min_length=1)] | None = _alias("gpu_type")

    def as_resources(self) -> dict[str, str]:
        """The Kubernetes ``resources`` map these quantities make (ORB's mapping)."""
        out = {"cpu": self.cpu, "memory": self.memory, "ephemeral-storage": self.ephemeral_storage}
        if self.gpu_type and self.gpu_count is not None:
            out[self.gpu_type] = str(self.gpu_count)
        return {k: v for k, v in out.items() if v is not None}


class Toleration(BaseModel):
    """A pod toleration (``Toleration``)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    key: str | None = None
    operator: Literal["Exists", "Equal"] | None = None
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: Count | None = _alias("toleration_seconds")


def as_toleration_list(value: Any) -> Any:
    """One toleration mapping is a list of one, as ORB reads it."""
    return [value] if isinstance(value, dict) else value


def as_volume_list(value: Any) -> Any:
    """ORB's ``{name, source: {...}}`` and Kubernetes' ``{name, configMap: {...}}`` alike."""
    if not isinstance(value, list):
        return value
    out = []
    for entry in value:
        if isinstance(entry, dict) and "source" not in entry and "name" in entry:
            entry = {
                "name": entry["name"],
                "source": {k: v for k, v in entry.items() if k != "name"},
            }
        out.append(entry)
    return out


class Volume(BaseModel):
    """A pod volume: its name and its source (``configMap``, ``secret``, ``emptyDir``, ...)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: Annotated[str, Field(min_length=1)]
    source: dict[str, Any] = Field(default_factory=dict)


class Probe(BaseModel):
    """A container readiness or liveness probe (``Probe``)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    http_get: dict[str, Any] | None = _alias("http_get")
    exec: dict[str, Any] | None = None
    tcp_socket: dict[str, Any] | None = _alias("tcp_socket")
    grpc: dict[str, Any] | None = None
    initial_delay_seconds: Annotated[Count, Field(ge=0)] | None = _alias("initial_delay_seconds")
    period_seconds: Annotated[Count, Field(ge=1)] | None = _alias("period_seconds")
    timeout_seconds: Annotated[Count, Field(ge=1)] | None = _alias("timeout_seconds")
    success_threshold: Annotated[Count, Field(ge=1)] | None = _alias("success_threshold")
    failure_threshold: Annotated[Count, Field(ge=1)] | None = _alias("failure_threshold")
    termination_grace_period_seconds: Annotated[Count, Field(ge=0)] | None = _alias(
        "termination_grace_period_seconds"
    )

    @model_validator(mode="after")
    def _one_handler(self) -> Probe:
        handlers = [h for h in (self.http_get, self.exec, self.tcp_socket, self.grpc) if h]
        if len(handlers) != 1:
            raise _fail("probe", "a probe has exactly one of httpGet, exec, tcpSocket, grpc")
        return self


class SecurityContext(BaseModel):
    """The pod's ``securityContext`` (``PodSecurityContext``); other keys pass through."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    run_as_user: Annotated[Count, Field(ge=0)] | None = _alias("run_as_user")
    run_as_group: Annotated[Count, Field(ge=0)] | None = _alias("run_as_group")
    fs_group: Annotated[Count, Field(ge=0)] | None = _alias("fs_group")
    run_as_non_root: bool | None = _alias("run_as_non_root")
    seccomp_profile: dict[str, Any] | None = _alias("seccomp_profile")


def _attribute_pair(value: Any) -> Any:
    """``["Numeric", "4"]``, or ``["4"]`` as the Symphony-for-Kubernetes files write it."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = ["Numeric", value[0]] if _is_number(value[0]) else ["String", value[0]]
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise _fail("attribute", "an attribute is [kind, value] or [value], such as ['8']")
    kind, raw = value
    if kind not in ("String", "Numeric", "Boolean"):
        raise _fail("attribute", "attribute kind must be 'String', 'Numeric' or 'Boolean'")
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise _fail("attribute", "attribute value must be text or a number")
    if kind == "Numeric" and not _is_number(raw):
        raise _fail("attribute", "'{raw}' is not a number", raw=str(raw))
    return [kind, str(raw).strip()]


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        Decimal(str(value).strip())
    except ArithmeticError:
        return False
    return True


def _check_attributes(attributes: dict[str, list[str]]) -> dict[str, list[str]]:
    missing = [name for name in REQUIRED_ATTRIBUTES if name not in attributes]
    if missing:
        raise _fail(
            "attributes",
            "attributes must define {missing} (the Symphony-for-Kubernetes template schema)",
            missing=", ".join(missing),
        )
    return attributes


HostFactoryAttributes = Annotated[
    dict[str, Annotated[list[str], BeforeValidator(_attribute_pair)]],
    AfterValidator(_check_attributes),
]
