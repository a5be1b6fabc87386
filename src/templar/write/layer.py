"""Choosing where a write goes: the layer names users pick and the provider instance a
write is for."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from templar.errors import StorageError
from templar.models import LayerKind
from templar.state import ProviderInstance

if TYPE_CHECKING:
    pass


#: The layer names users pick, and the kind each is.
LAYER_KINDS = {
    "instance": LayerKind.INSTANCE,
    "type": LayerKind.TYPE,
    "provider": LayerKind.PROVIDER,
    "shared": LayerKind.SHARED,
}


def parse_layer(layer: str | None) -> LayerKind | None:
    """``"instance"`` -> :attr:`LayerKind.INSTANCE`, ...; ``None`` stays ``None``."""
    if layer is None:
        return None
    try:
        return LAYER_KINDS[layer]
    except KeyError:
        raise StorageError(
            f"unknown layer '{layer}'; choose one of {', '.join(LAYER_KINDS)}", field="layer"
        ) from None


def instance_of(
    instances: list[ProviderInstance],
    holding: list[ProviderInstance],
    template_id: str,
    provider: str | None,
    body: Mapping[str, Any] | None,
    installed: set[str],
) -> ProviderInstance:
    """The provider instance a write is for: ``provider``, else the one whose layers
    hold the template, else the one the body names, else the only one. With no
    instance declared, a provider type no file names yet has its implicit instance."""
    implicit = not instances or all(i.name == i.type for i in instances)
    if provider is not None:
        found = next((i for i in instances if i.name == provider), None)
        if found is not None:
            return found
        if implicit and provider in installed:
            return ProviderInstance(provider, provider)
        raise StorageError(
            f"unknown provider instance '{provider}'; known: "
            + (", ".join(i.name for i in instances) or "none"),
            field="provider",
        )
    if len(holding) == 1:
        return holding[0]
    if len(holding) > 1:
        raise StorageError(
            f"template '{template_id}' is defined for several provider instances "
            f"({', '.join(i.name for i in holding)}); say which with provider=/--provider",
            field="provider",
        )
    named = str((body or {}).get("provider_name") or (body or {}).get("provider_type") or "")
    if named:
        match = [i for i in instances if named in (i.name, i.type)]
        if match:
            return match[0]
        if implicit and named in installed:
            return ProviderInstance(named, named)
    if len(instances) == 1:
        return instances[0]
    if not instances and "generic" in installed:
        return ProviderInstance("generic", "generic")
    raise StorageError(
        f"say which provider instance template '{template_id}' is for (provider=/--provider); "
        f"known: {', '.join(i.name for i in instances) or 'none'}",
        field="provider",
    )


def head_matches(location: str, pattern: re.Pattern[bytes]) -> bool:
    """Whether the first 64 kB of the file at ``location`` (if it is one) match ``pattern``."""
    try:
        with open(location, "rb") as f:
            return pattern.search(f.read(65536)) is not None
    except OSError:
        return False


def head_mentions(location: str, word: bytes) -> bool:
    """Whether the first 64 kB of the file at ``location`` (if it is one) hold ``word``."""
    try:
        with open(location, "rb") as f:
            return word in f.read(65536)
    except OSError:
        return False
