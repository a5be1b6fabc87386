"""The engine configuration: ``templar.yaml`` (or ``.yml`` / ``.json``) in the config directory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from templar.errors import ConfigurationError

if TYPE_CHECKING:
    from templar.orb.config import OrbConfig

SETTINGS_FILE_NAMES = ("templar.yaml", "templar.yml", "templar.json")


class ProviderInstanceSettings(BaseModel):
    """One declared provider instance, such as ``aws-prod`` of type ``aws``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    type: str = Field(min_length=1)
    defaults: dict[str, Any] = Field(default_factory=dict)


class StorageSettings(BaseModel):
    """Which storage backend holds the layers; backends read their own extra options."""

    model_config = ConfigDict(extra="allow")

    backend: str = "file"


class CacheSettings(BaseModel):
    """The on-disk cache of loaded templates (see docs/cache-and-hot-reload.md).

    ``dir`` defaults to the user cache directory (``~/.cache/templar`` on Linux); a
    relative ``dir`` is relative to the config directory; ``$TEMPLAR_CACHE_DIR``
    overrides both. An entry older than ``ttl_seconds`` is not served: the storage is
    consulted again.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    ttl_seconds: float = Field(default=300.0, ge=0)
    dir: Path | None = None


class WatchSettings(BaseModel):
    """Hot reload (``templates watch``, :meth:`templar.TemplateEngine.watch`)."""

    model_config = ConfigDict(extra="forbid")

    #: Quiet time after the last change before reloading. An editor's save (write,
    #: rename, touch) lands within a few milliseconds, so 50 ms folds each save, and a
    #: burst of saves, into one reload while still feeling instant.
    debounce_ms: int = Field(default=50, ge=0, le=60_000)


class EngineSettings(BaseModel):
    """Everything ``templar.yaml`` may say. Unknown keys are errors with a did-you-mean."""

    model_config = ConfigDict(extra="forbid")

    providers: list[ProviderInstanceSettings] = Field(default_factory=list)
    provider_defaults: dict[str, dict[str, Any]] = Field(default_factory=dict)
    merge: Literal["deep", "replace"] = "deep"
    storage: StorageSettings = Field(default_factory=StorageSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    watch: WatchSettings = Field(default_factory=WatchSettings)
    #: set when these settings were read from an ORB config dir (see :mod:`templar.orb`)
    _orb: OrbConfig | None = PrivateAttr(default=None)

    @property
    def orb(self) -> OrbConfig | None:
        """The ORB config these settings come from, or ``None`` (``templar.yaml``, code)."""
        return self._orb

    @field_validator("providers")
    @classmethod
    def _unique_instance_names(
        cls, providers: list[ProviderInstanceSettings]
    ) -> list[ProviderInstanceSettings]:
        seen: set[str] = set()
        for provider in providers:
            if provider.name in seen:
                raise ValueError(f"provider instance '{provider.name}' is declared twice")
            seen.add(provider.name)
        return providers


def resolve_config_dir(config_dir: str | os.PathLike[str] | None) -> Path:
    """``config_dir`` if given, else ``$TEMPLAR_CONFIG_DIR``, else ORB's
    ``$ORB_CONFIG_DIR``, else the current directory."""
    if config_dir is None:
        config_dir = os.environ.get("TEMPLAR_CONFIG_DIR") or os.environ.get("ORB_CONFIG_DIR") or "."
    path = Path(config_dir).expanduser()
    if not path.is_dir():
        reason = "is not a directory" if path.exists() else "does not exist"
        raise ConfigurationError(f"config directory {path} {reason}", file=str(path))
    return path.resolve()


def find_settings_file(config_dir: Path) -> Path | None:
    """The engine config file in ``config_dir``, if there is one."""
    found = [config_dir / name for name in SETTINGS_FILE_NAMES if (config_dir / name).is_file()]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise ConfigurationError(
            f"{config_dir}: more than one engine config file ({names}); keep one",
            file=str(config_dir),
        )
    return found[0] if found else None


def load_settings(config_dir: Path) -> tuple[EngineSettings, Path | None]:
    """Read and validate the engine config of ``config_dir`` (defaults when it has none).

    An ORB config dir (``config.json``, no ``templar.yaml``) gives the settings ORB's
    config implies, and ``config.json`` as the file (see :mod:`templar.orb`).
    """
    from templar.orb.config import load_orb_config
    from templar.reader import read_config_mapping

    path = find_settings_file(config_dir)
    if path is None:
        orb = load_orb_config(config_dir)
        if orb is not None:
            return orb.engine_settings(), orb.config_file
        return EngineSettings(), None
    data = read_config_mapping(path, "the engine config")
    if data is None:
        return EngineSettings(), path
    return validate_settings(data, path), path


def settings_for(
    config_dir: Path, settings: EngineSettings | Mapping[str, Any] | None
) -> tuple[EngineSettings, Path | None]:
    """The settings an engine of ``config_dir`` runs with, and the file they were read
    from: ``settings`` when given (a mapping is validated; no file), else the engine
    config of ``config_dir`` (:func:`load_settings`)."""
    if settings is None:
        return load_settings(config_dir)
    if isinstance(settings, EngineSettings):
        return settings, None
    return validate_settings(dict(settings)), None


def validate_settings(data: dict[str, Any], path: Path | None = None) -> EngineSettings:
    """Validate a settings mapping, naming the file, line and field of the first problem."""
    try:
        return EngineSettings.model_validate(data)
    except ValidationError as e:
        raise _settings_error(e, path) from e


def _settings_error(error: ValidationError, path: Path | None) -> ConfigurationError:
    from templar.locate import field_problems
    from templar.positions import PositionIndex

    problems = field_problems(error, EngineSettings)
    # A misspelt key also makes the real key "missing": report the typo, which has
    # the did-you-mean that fixes both.
    first = min(problems, key=lambda p: p.code != "unknown-key")
    field = first.dotted
    where = "engine config"
    line = column = None
    if path is not None:
        index = PositionIndex.build(path)
        position = index.locate(first.path, value=first.at_value) if index else None
        line, column = position if position else (None, None)
        where = f"{path}:{line}:{column}" if line else str(path)
    more = len(problems) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return ConfigurationError(
        f"{where}: {field}: {first.message}{suffix}",
        file=str(path) if path else None,
        line=line,
        column=column,
        field=field,
    )
