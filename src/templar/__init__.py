"""Templar: layered provider templates with provenance, validation, caching and hot reload.

The public API is what this module exports. The names are imported when first used
(PEP 562), so that ``import templar`` (and the ``templates`` command answering from
its cache) costs no pydantic, engine or plugin import; ``from templar import
TemplateEngine`` works as it always did, and type checkers and IDEs read the
``TYPE_CHECKING`` imports below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from templar.engine import TemplateEngine
    from templar.errors import (
        AmbiguousTemplateError,
        ConcurrencyError,
        ConfigurationError,
        PluginError,
        StorageError,
        TemplarCacheWarning,
        TemplarError,
        TemplarPluginWarning,
        TemplarStaleWarning,
        TemplarWatchWarning,
        TemplateNotFoundError,
        TemplateParseError,
    )
    from templar.hookspecs import hookimpl
    from templar.models import (
        ChangeEvent,
        FieldProvenance,
        LayerKind,
        Severity,
        SourceLocation,
        TemplateCacheEntryDTO,
        TemplateDTO,
        TemplateExplanation,
        TemplateValidationResultDTO,
        ValidationIssueDTO,
        ValidationReport,
    )
    from templar.providers import CamelCaseKeyStyle, KeyStyle, ProviderSpec
    from templar.settings import EngineSettings
    from templar.state import ProviderInstance
    from templar.storage import LayerSource, RawLayer, RawTemplate, StorageBackend, StorageSpec

    __version__: str

#: where each public name lives: the module imported the first time it is asked for
_HOMES = {
    "TemplateEngine": "templar.engine",
    **dict.fromkeys(
        [
            "AmbiguousTemplateError",
            "ConcurrencyError",
            "ConfigurationError",
            "PluginError",
            "StorageError",
            "TemplarCacheWarning",
            "TemplarError",
            "TemplarPluginWarning",
            "TemplarStaleWarning",
            "TemplarWatchWarning",
            "TemplateNotFoundError",
            "TemplateParseError",
        ],
        "templar.errors",
    ),
    "hookimpl": "templar.hookspecs",
    **dict.fromkeys(
        [
            "ChangeEvent",
            "FieldProvenance",
            "LayerKind",
            "Severity",
            "SourceLocation",
            "TemplateCacheEntryDTO",
            "TemplateDTO",
            "TemplateExplanation",
            "TemplateValidationResultDTO",
            "ValidationIssueDTO",
            "ValidationReport",
        ],
        "templar.models",
    ),
    **dict.fromkeys(["CamelCaseKeyStyle", "KeyStyle", "ProviderSpec"], "templar.providers"),
    "EngineSettings": "templar.settings",
    "ProviderInstance": "templar.state",
    **dict.fromkeys(
        ["LayerSource", "RawLayer", "RawTemplate", "StorageBackend", "StorageSpec"],
        "templar.storage",
    ),
}


def _distribution_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("templar-engine")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def __getattr__(name: str) -> Any:
    """A public name, imported on first use and then kept in this module's namespace."""
    if name == "__version__":
        value: Any = _distribution_version()
    elif name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
    else:
        raise AttributeError(f"module 'templar' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "AmbiguousTemplateError",
    "CamelCaseKeyStyle",
    "ChangeEvent",
    "ConcurrencyError",
    "ConfigurationError",
    "EngineSettings",
    "FieldProvenance",
    "KeyStyle",
    "LayerKind",
    "LayerSource",
    "PluginError",
    "ProviderInstance",
    "ProviderSpec",
    "RawLayer",
    "RawTemplate",
    "Severity",
    "SourceLocation",
    "StorageBackend",
    "StorageError",
    "StorageSpec",
    "TemplarCacheWarning",
    "TemplarError",
    "TemplarPluginWarning",
    "TemplarStaleWarning",
    "TemplarWatchWarning",
    "TemplateCacheEntryDTO",
    "TemplateDTO",
    "TemplateEngine",
    "TemplateExplanation",
    "TemplateNotFoundError",
    "TemplateParseError",
    "TemplateValidationResultDTO",
    "ValidationIssueDTO",
    "ValidationReport",
    "__version__",
    "hookimpl",
]
