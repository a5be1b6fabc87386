"""HostFactory ``attributes`` of a template that writes none, from its instance type.

ORB's files carry no ``attributes``; ORB's HostFactory output derives them from the
instance type (``AWSFieldMapping.derive_attributes``): ``type`` ``X86_64``, ``ncpus`` the
vCPUs and ``nram`` the memory in MiB, looked up from EC2 when ORB has a client and
estimated from the family and size otherwise. Templar never calls AWS, so it makes the
same estimate ORB makes offline: burstable ``t2``/``t3``/``t3a``/``t4g`` sizes are known
exactly; other types get the vCPUs of their size and a memory ratio per family letter.
"""

from __future__ import annotations

from typing import Any

#: vCPUs of each size of the standard families.
VCPUS_BY_SIZE = {
    "nano": 2,
    "micro": 2,
    "small": 2,
    "medium": 2,
    "large": 2,
    "xlarge": 4,
    "2xlarge": 8,
    "4xlarge": 16,
    "8xlarge": 32,
    "9xlarge": 36,
    "12xlarge": 48,
    "16xlarge": 64,
    "18xlarge": 72,
    "24xlarge": 96,
    "32xlarge": 128,
    "48xlarge": 192,
    "56xlarge": 224,
    "96xlarge": 384,
    "112xlarge": 448,
    "metal": 96,
}
#: GiB of memory per vCPU, by the family's first letter (4 for any other).
GIB_PER_VCPU = {"c": 2, "m": 4, "r": 8, "i": 8, "d": 8, "z": 8, "x": 16, "p": 12, "g": 4}
_T2 = {
    "nano": (1, 512),
    "micro": (1, 1024),
    "small": (1, 2048),
    "medium": (2, 4096),
    "large": (2, 8192),
    "xlarge": (4, 16384),
    "2xlarge": (8, 32768),
}
_T3 = {**_T2, "nano": (2, 512), "micro": (2, 1024), "small": (2, 2048)}
#: Burstable types: (vCPUs, MiB) by generation and size.
BURSTABLE = {"t2": _T2, "t3": _T3, "t3a": _T3, "t4g": _T3}


def cpus_and_memory(instance_type: str) -> tuple[int, int]:
    """(vCPUs, memory in MiB) of ``instance_type``, estimated as ORB estimates it."""
    family, _, size = instance_type.partition(".")
    if not size:
        return 1, 1024
    known = BURSTABLE.get(family, {}).get(size)
    if known is not None:
        return known
    vcpus = VCPUS_BY_SIZE.get(size, 2)
    return vcpus, vcpus * GIB_PER_VCPU.get(family[:1].lower(), 4) * 1024


def derived_attributes(configuration: dict[str, Any]) -> dict[str, list[str]] | None:
    """The ``attributes`` ORB would print for a validated configuration without any.

    From the first of ``vmTypes`` (the type ORB makes primary; ORB provisions ``vmTypes``
    when both are set), else ``vmType`` (its first type if it lists several), else the
    minimums of ``abisInstanceRequirements``; ``None`` when the template names no instance
    type (a launch template may).
    """
    if configuration.get("vm_types"):
        instance_type = next(iter(configuration["vm_types"]))
    else:
        instance_type = (configuration.get("vm_type") or "").split(",")[0].strip()
    if instance_type:
        vcpus, memory = cpus_and_memory(instance_type)
    elif configuration.get("abis_instance_requirements"):
        requirements = configuration["abis_instance_requirements"]
        vcpus = max(1, int(requirements["vcpu_count"]["min"]))
        memory = max(1, int(requirements["memory_mib"]["min"]))
    else:
        return None
    return {
        "type": ["String", "X86_64"],
        "ncpus": ["Numeric", str(vcpus)],
        "nram": ["Numeric", str(memory)],
    }
