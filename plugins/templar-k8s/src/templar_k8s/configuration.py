"""The ``configuration`` of a ``k8s`` template: one container workload, validated.

Field names are snake_case; the engine reads ORB's camelCase (``imageId``,
``nodeSelector``, ``maxNumber``) through :data:`templar_k8s.plugin.K8S_KEY_STYLE` first.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

#: The Kubernetes workload kinds a template can create (the core ``provider_api`` field).
PROVIDER_APIS = ("Pod", "Deployment", "StatefulSet", "Job")

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


def _check_image(value: str) -> str:
    match = IMAGE_REFERENCE.match(value)
    if match is None or len(match["path"]) + len(match["registry"] or "") > 255:
        raise _fail(
            "image",
            "not a container image reference ([registry/]name[:tag][@digest], name in "
            "lowercase, for example registry.k8s.io/pause:3.9)",
        )
    return value


def _check_namespace(value: str) -> str:
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
    """``[{"name": N, "value": V}]`` (the Kubernetes form) or ``{N: V}`` -> ``{N: V}``."""
    if isinstance(value, list):
        out: dict[str, Any] = {}
        for item in value:
            if not isinstance(item, dict) or set(item) - {"name", "value"} or "name" not in item:
                raise _fail("env", "an env list holds {{name, value}} mappings")
            out[str(item["name"])] = item.get("value", "")
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

Env = Annotated[
    dict[EnvName, str],
    BeforeValidator(
        _env_mapping,
        json_schema_input_type=dict[str, str | int | float | bool] | list[dict[str, str]],
    ),
]


class Resources(BaseModel):
    """Container resource requests and limits, as Kubernetes quantities."""

    model_config = ConfigDict(extra="forbid")

    requests: dict[str, Quantity] | None = Field(
        default=None, description="Resources the scheduler reserves: cpu: 500m, memory: 256Mi."
    )
    limits: dict[str, Quantity] | None = Field(
        default=None, description="Most the container may use: cpu: '1', memory: 1Gi."
    )


class K8sConfiguration(BaseModel):
    """The provider configuration of a ``k8s`` template."""

    model_config = ConfigDict(extra="forbid", title="K8sConfiguration")

    max_number: Annotated[Count, Field(ge=-1, le=10000)] = Field(
        description="Most pods (replicas, completions) this template may create."
    )
    image: Annotated[str, AfterValidator(_check_image)] | None = Field(
        default=None, description="Container image reference (ORB writes it as imageId)."
    )
    namespace: Annotated[str, AfterValidator(_check_namespace)] | None = Field(
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
