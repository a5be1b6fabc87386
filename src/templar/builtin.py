"""Templar's own plugin: the ``file`` storage and the ``generic`` provider.

Registered through the same hooks as third-party plugins, first in every engine.
"""

from __future__ import annotations

from collections.abc import Callable

from templar.hookspecs import hookimpl
from templar.providers import GenericConfiguration, ProviderSpec
from templar.storage import FileStorage, StorageSpec

GENERIC = ProviderSpec(
    name="generic",
    configuration_model=GenericConfiguration,
    description="Any mapping as configuration; the provider of templates that name no type.",
)


@hookimpl
def templar_register_providers(register: Callable[[ProviderSpec], None]) -> None:
    """Register the ``generic`` provider type."""
    register(GENERIC)


@hookimpl
def templar_register_storage(register: Callable[[StorageSpec], None]) -> None:
    """Register the ``file`` storage backend."""
    register(
        StorageSpec(
            name="file",
            factory=FileStorage.from_settings,
            description="Layer files named by the hierarchy in the config directory.",
        )
    )
