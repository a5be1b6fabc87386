"""ORB config dirs: a directory holding Open Resource Broker's ``config.json``, read as ORB reads it.

ORB (``orb-py``, finos/open-resource-broker) merges, lowest first, its packaged
``default_config.json`` (and here the copy ``orb init`` leaves beside ``config.json``),
each provider's packaged defaults (``aws_defaults.json``) and the user's ``config.json``;
mappings merge key by key and lists are replaced. From the result Templar takes:

- the provider instances, ``provider.providers[]`` (``name``, ``type``, ``enabled``;
  disabled ones are skipped);
- the template file names, ``template.filename_patterns`` (by default
  ``{provider_name}_templates.json``, ``{provider_type}_templates.json`` and
  ``templates.json``; ``.yaml`` and ``.yml`` are read too);
- the template defaults: ``template.max_number`` / ``default_price_type`` /
  ``default_provider_api`` for every type, ``provider.provider_defaults.{type}.template_defaults``
  and ``provider.providers[i].template_defaults``, as Templar's type-defaults and
  instance-defaults layers, each value traced to the file and line that set it;
- ORB's rule that, in a template file, an empty string, list or mapping is "not set"
  (:func:`without_empty`), so that the defaults fill it.

A template id found in several of these files is taken whole from the highest one, as
ORB does (``merge: replace``). Templar's own file names keep working beside ORB's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from templar.errors import ConfigurationError, TemplateParseError
from templar.models import CORE_FIELDS, LayerKind

if TYPE_CHECKING:
    from pydantic import BaseModel

    from templar.merge import TemplateVersion
    from templar.providers import ProviderSpec
    from templar.settings import EngineSettings
    from templar.storage import LayerSource

#: ORB's own config file; a config dir holding it (and no ``templar.yaml``) is an ORB dir.
CONFIG_FILE = "config.json"
#: The copy of ORB's packaged defaults that ``orb init`` writes beside ``config.json``.
DEFAULTS_FILE = "default_config.json"
#: The extensions a template file named by an ORB pattern may have (ORB itself reads JSON).
TEMPLATE_EXTENSIONS = ("json", "yaml", "yml")
#: Label of ORB's packaged defaults in provenance: they are in no file of the config dir.
PACKAGED = "ORB packaged defaults"

#: What ORB 1.8.5 ships beneath every config.json, reduced to what decides templates:
#: ``orb/config/default_config.json`` (Apache-2.0, finos/open-resource-broker).
PACKAGED_DEFAULT_CONFIG: dict[str, Any] = {
    "scheduler": {"type": "default"},
    "provider": {"providers": [], "provider_defaults": {}},
    "template": {
        "max_number": 10,
        "filename_patterns": {
            "provider_specific": "{provider_name}_templates.json",
            "provider_type": "{provider_type}_templates.json",
            "generic": "templates.json",
        },
        "default_price_type": "ondemand",
    },
}
#: ``orb/providers/aws/config/aws_defaults.json`` of ORB 1.8.5, reduced likewise: ORB
#: merges it over ``default_config.json``, so without ``provider.providers`` in
#: ``config.json`` ORB has one instance, ``aws-default``.
PACKAGED_PROVIDER_DEFAULTS: dict[str, Any] = {
    "provider": {
        "providers": [{"name": "aws-default", "type": "aws", "enabled": True}],
        "provider_defaults": {
            "aws": {
                "template_defaults": {
                    "machine_image": "/aws/service/ami-amazon-linux-latest/"
                    "al2023-ami-kernel-6.1-x86_64",
                    "machine_type": "t2.micro",
                    "machine_ssh_key": "",
                    "provider_api": "EC2Fleet",
                    "price_type": "ondemand",
                    "tags": {"Environment": "development", "Project": "hostfactory"},
                }
            }
        },
    }
}
#: ``template.*`` keys ORB applies to every template, and the template field each sets.
GLOBAL_DEFAULT_KEYS = {
    "max_number": "max_number",
    "default_price_type": "price_type",
    "default_provider_api": "provider_api",
}
_PATTERN_KEYS = ("provider_specific", "provider_type", "generic")
_FIELD_OF_PLACEHOLDER = {"provider_name": "name", "provider_type": "type"}


@dataclass(frozen=True)
class OrbFile:
    """One of the config files ORB merges: its label, its path (``None`` for ORB's
    packaged defaults) and its data."""

    label: str
    path: Path | None
    data: Mapping[str, Any]


@dataclass(frozen=True)
class OrbProvider:
    """One entry of ``provider.providers[]``, and where it is written."""

    name: str
    type: str
    enabled: bool
    file: OrbFile
    index: int

    @property
    def doc_path(self) -> tuple[Any, ...]:
        """The entry's path in :attr:`file`."""
        return ("provider", "providers", self.index)


@dataclass(frozen=True)
class OrbDefaults:
    """Template defaults one file sets at one level (``global``, ``type`` or ``instance``).

    ``values`` maps the field as the template spells it to its value; ``written`` maps
    it to the key as the file writes it (``default_price_type`` sets ``price_type``),
    below ``doc_path``.
    """

    level: str
    scope: str | None
    values: Mapping[str, Any]
    file: OrbFile
    doc_path: tuple[Any, ...]
    written: Mapping[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> LayerKind:
        """The Templar defaults layer these values take part in."""
        return LayerKind.INSTANCE_DEFAULTS if self.level == "instance" else LayerKind.TYPE_DEFAULTS

    @property
    def label(self) -> str:
        """How ``--explain`` names this layer: its kind, file and section."""
        section = ".".join(str(p) for p in self.doc_path)
        return f"{self.kind.label} ({self.file.label}: {section})"


@dataclass(frozen=True)
class OrbConfig:
    """An ORB config dir as ORB reads it (see the module docstring)."""

    config_dir: Path
    files: tuple[OrbFile, ...]
    providers: tuple[OrbProvider, ...]
    filename_patterns: Mapping[str, str]
    defaults: tuple[OrbDefaults, ...]

    @property
    def config_file(self) -> Path:
        """The ``config.json`` of the dir."""
        return self.config_dir / CONFIG_FILE

    @property
    def enabled_providers(self) -> list[OrbProvider]:
        """The provider instances ORB uses: enabled ones, in declaration order."""
        return [p for p in self.providers if p.enabled]

    def watched_files(self) -> list[Path]:
        """The config files whose change changes the templates."""
        return [f.path for f in self.files if f.path is not None]

    def provider(self, name: str) -> OrbProvider | None:
        """The ``provider.providers[]`` entry of that name, enabled or not."""
        return next((p for p in self.providers if p.name == name), None)

    def defaults_for(self, instance: str, provider_type: str) -> list[OrbDefaults]:
        """The template defaults of one instance, lowest priority first: every
        ``template.*`` default, then the type's, then the instance's (ORB's order)."""
        order = {"global": 0, "type": 1, "instance": 2}
        wanted = [
            d
            for d in self.defaults
            if d.level == "global"
            or (d.level == "type" and d.scope == provider_type)
            or (d.level == "instance" and d.scope == instance)
        ]
        return sorted(wanted, key=lambda d: order[d.level])  # stable: file order within

    def engine_settings(self) -> EngineSettings:
        """Templar's engine settings for this dir: the enabled instances, and ORB's
        rule that the highest file defining a template id gives all of it."""
        from templar.settings import EngineSettings, ProviderInstanceSettings

        providers = []
        for provider in self.enabled_providers:
            try:
                providers.append(ProviderInstanceSettings(name=provider.name, type=provider.type))
            except ValueError:
                raise OrbConfigProblem(
                    provider.file,
                    (*provider.doc_path, "name"),
                    f"provider instance name '{provider.name}' cannot name template files; "
                    "use letters, digits, '-', '_' and '.'",
                ) from None
        settings = EngineSettings(providers=providers, merge="replace")
        settings._orb = self
        return settings

    def template_file_names(self) -> list[str]:
        """The template file names ORB reads in this dir: each enabled instance's, each
        of their types', and the shared one, by ``template.filename_patterns``."""
        names: list[str] = []
        for provider in self.enabled_providers:
            names.append(
                self.filename_patterns["provider_specific"].format(
                    provider_name=provider.name, provider_type=provider.type
                )
            )
            names.append(
                self.filename_patterns["provider_type"].format(
                    provider_name=provider.name, provider_type=provider.type
                )
            )
        names.append(self.filename_patterns["generic"])
        return list(dict.fromkeys(names))

    def layer_namer(self, instances: Sequence[tuple[str, str]]) -> LayerNamer:
        """What each file name of the dir is, for these (name, type) instances."""
        return LayerNamer(self.filename_patterns, instances, [p.name for p in self.providers])


class LayerNamer:
    """Names the layers of an ORB dir: ``{provider_name}_templates.*`` is an instance
    layer, ``{provider_type}_templates.*`` a type layer, ``templates.*`` the shared one
    (or whatever ``template.filename_patterns`` says); Templar's own names still count."""

    def __init__(
        self,
        patterns: Mapping[str, str],
        instances: Sequence[tuple[str, str]],
        declared: Sequence[str] = (),
    ) -> None:
        self.instance_names = {name for name, _ in instances}
        self.types = {type_ for _, type_ in instances}
        #: every declared instance, disabled ones too: their files are reported, not read
        self.declared = set(declared) | self.instance_names
        self._instance = _pattern_regex(patterns["provider_specific"])
        self._type = _pattern_regex(patterns["provider_type"])
        self._shared = _pattern_regex(patterns["generic"])

    def __call__(self, path: Path) -> LayerSource | None:
        """The layer ``path`` is, or ``None`` if it is no template file."""
        from templar.storage import LayerSource
        from templar.storage.files import layer_source_for

        name = path.name
        if name in (CONFIG_FILE, DEFAULTS_FILE):
            return None
        if self._shared.fullmatch(name):
            return LayerSource(LayerKind.SHARED, None, str(path))
        instance = _captured(self._instance, name)
        if instance is not None and instance in self.declared and instance not in self.types:
            return LayerSource(LayerKind.INSTANCE, instance, str(path))
        own = layer_source_for(path)
        if own is not None:
            return own
        provider_type = _captured(self._type, name)
        if provider_type is not None:
            return LayerSource(LayerKind.TYPE, provider_type, str(path))
        if instance is not None:
            # neither an instance nor a type ORB knows: an instance layer, which the
            # engine reports as undeclared rather than leaving the file unmentioned
            return LayerSource(LayerKind.INSTANCE, instance, str(path))
        return None


def find_orb_config(config_dir: Path) -> Path | None:
    """``config.json`` of ``config_dir`` when it is an ORB dir: it holds one and no
    Templar engine config (``templar.yaml`` wins where both are present)."""
    from templar.settings import SETTINGS_FILE_NAMES

    path = config_dir / CONFIG_FILE
    if not path.is_file() or any((config_dir / n).exists() for n in SETTINGS_FILE_NAMES):
        return None
    return path


def load_orb_config(config_dir: Path) -> OrbConfig | None:
    """The ORB config of ``config_dir``, or ``None`` when it is not an ORB dir.

    Raises :class:`ConfigurationError` naming the file, line and field when
    ``config.json`` or ``default_config.json`` does not parse or says something ORB
    would refuse (a provider without a name, a filename pattern with an unknown
    placeholder).
    """
    config_path = find_orb_config(config_dir)
    if config_path is None:
        return None
    beside = config_dir / DEFAULTS_FILE
    files = (
        OrbFile(PACKAGED, None, PACKAGED_DEFAULT_CONFIG),
        # the copy ``orb init`` writes: what it says overrides the packaged original
        *([OrbFile(DEFAULTS_FILE, beside, _read(beside))] if beside.is_file() else []),
        OrbFile(PACKAGED, None, PACKAGED_PROVIDER_DEFAULTS),
        OrbFile(CONFIG_FILE, config_path, _read(config_path)),
    )
    providers = _providers(files)
    return OrbConfig(
        config_dir=config_dir,
        files=files,
        providers=providers,
        filename_patterns=_filename_patterns(files),
        defaults=_defaults(files, providers),
    )


def without_empty(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` without the empty strings, lists and mappings of its mappings, at every
    depth (a mapping emptied so goes too): ORB reads them as "not set". Lists are kept
    as written, inside and out, so the positions of everything left stay true."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        if type(value) is dict:
            value = without_empty(value)
        if value == "" or value == [] or value == {}:
            continue
        out[key] = value
    return out


def defaults_versions(
    orb: OrbConfig, instance: str, provider_type: str, spec: ProviderSpec
) -> list[TemplateVersion]:
    """ORB's template defaults for one instance as Templar defaults layers, lowest
    first, each traced to its file (``source.location``) and its key there.

    ORB's packaged defaults and its ``template.*`` defaults are written for every
    provider type: of those, only the fields ``spec`` has are applied (ORB's own models
    ignore the others). What a user wrote for a type or an instance is applied whole,
    so that a misspelt field is reported at its line.
    """
    from templar.merge import LayerRef, normalize
    from templar.storage import LayerSource

    known = _known_fields(spec)
    out = []
    for defaults in orb.defaults_for(instance, provider_type):
        path = defaults.file.path
        source = LayerSource(defaults.kind, defaults.scope, str(path)) if path else None
        ref = LayerRef(defaults.kind, source, defaults.label)
        version = normalize(dict(defaults.values), spec, ref, defaults.doc_path)
        for canonical, written in list(version.origins.items()):
            # ``default_price_type`` is written for ``price_type``: point at what is written
            name = written[-1]
            if name in defaults.written:
                version.origins[canonical] = (*written[:-1], defaults.written[name])
        for name, as_written in defaults.written.items():
            if name in CORE_FIELDS and name != as_written:
                version.origins[(name,)] = (as_written,)
        if path is None or defaults.level == "global":
            _keep_known(version.body, known)
        if version.body:
            out.append(version)
    return out


def _known_fields(spec: ProviderSpec) -> set[str] | None:
    model: type[BaseModel] = spec.configuration_model
    if model.model_config.get("extra") != "forbid":
        return None  # the provider takes any field
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(name)
        for alias in (info.alias, info.validation_alias):
            if isinstance(alias, str):
                names.add(alias)
            elif alias is not None and hasattr(alias, "choices"):
                names.update(c for c in alias.choices if isinstance(c, str))
    return names


def _keep_known(body: dict[str, Any], known: set[str] | None) -> None:
    configuration = body.get("configuration")
    if known is None or not isinstance(configuration, dict):
        return
    for key in [k for k in configuration if k not in known]:
        del configuration[key]
    if not configuration:
        del body["configuration"]


def _read(path: Path) -> dict[str, Any]:
    from templar.reader import read_document

    try:
        data = read_document(path)
    except TemplateParseError as e:
        raise ConfigurationError(e.message, **e.context) from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{path}:1:1: an ORB config must be a mapping, not {type(data).__name__}",
            file=str(path),
            line=1,
            column=1,
        )
    return data


def _section(file: OrbFile, *path: str) -> Any:
    data: Any = file.data
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data


def _mapping_at(file: OrbFile, *path: str) -> Mapping[str, Any] | None:
    """The mapping at ``path`` of ``file``; anything else there is an error, as in ORB."""
    value = _section(file, *path)
    if value is None or isinstance(value, Mapping):
        return value
    raise OrbConfigProblem(file, path, f"must be a mapping, not {_kind(value)}")


class OrbConfigProblem(ConfigurationError):
    """A config file ORB would refuse, located (raised by :func:`load_orb_config`)."""

    def __init__(self, file: OrbFile, doc_path: Sequence[Any], reason: str) -> None:
        if file.path is None:
            super().__init__(f"ORB packaged defaults: {reason}")
            return
        line, column = _position(file.path, tuple(doc_path))
        where = f"{file.path}:{line}:{column}" if line else str(file.path)
        dotted = ".".join(str(p) for p in doc_path)
        super().__init__(
            f"{where}: {dotted}: {reason}",
            file=str(file.path),
            line=line,
            column=column,
            field=dotted,
        )


def _providers(files: Sequence[OrbFile]) -> tuple[OrbProvider, ...]:
    # ORB replaces lists: the providers are those of the highest file that lists them.
    owner = next(f for f in reversed(files) if _section(f, "provider", "providers") is not None)
    entries = _section(owner, "provider", "providers")
    if not isinstance(entries, list):
        raise OrbConfigProblem(
            owner, ("provider", "providers"), f"must be a list, not {_kind(entries)}"
        )
    out: list[OrbProvider] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        at = ("provider", "providers", index)
        if not isinstance(entry, Mapping):
            raise OrbConfigProblem(owner, at, f"a provider must be a mapping, not {_kind(entry)}")
        values = {}
        for key in ("name", "type"):
            value = entry.get(key)
            if key not in entry:
                raise OrbConfigProblem(owner, at, f"a provider needs a '{key}'")
            if not isinstance(value, str) or not value.strip():
                raise OrbConfigProblem(
                    owner, (*at, key), f"must be a non-empty string, not {_kind(value)}"
                )
            values[key] = value.strip()
        enabled = entry.get("enabled", True)
        if not isinstance(enabled, bool):
            raise OrbConfigProblem(
                owner, (*at, "enabled"), f"must be true or false, not {enabled!r}"
            )
        if values["name"] in seen:
            raise OrbConfigProblem(
                owner,
                (*at, "name"),
                f"provider '{values['name']}' is declared twice (first as providers[{seen[values['name']]}])",
            )
        seen[values["name"]] = index
        out.append(OrbProvider(values["name"], values["type"], enabled, owner, index))
    return tuple(out)


def _filename_patterns(files: Sequence[OrbFile]) -> dict[str, str]:
    patterns: dict[str, str] = {}
    for file in files:
        written: Mapping[str, Any] = _mapping_at(file, "template", "filename_patterns") or {}
        for key in _PATTERN_KEYS:
            if key not in written:
                continue
            value = written[key]
            at = ("template", "filename_patterns", key)
            if not isinstance(value, str) or not value:
                raise OrbConfigProblem(file, at, f"must be a file name, not {_kind(value)}")
            allowed = {"generic": set()}.get(key, set(_FIELD_OF_PLACEHOLDER))
            for placeholder in re.findall(r"{([^{}]*)}", value):
                if placeholder not in allowed:
                    names = ", ".join(f"{{{p}}}" for p in sorted(allowed)) or "none"
                    raise OrbConfigProblem(
                        file, at, f"unknown placeholder {{{placeholder}}} (allowed: {names})"
                    )
            if "/" in value or os.sep in value:
                raise OrbConfigProblem(
                    file, at, "must be a file name in the config dir, not a path"
                )
            patterns[key] = value
    return patterns


def _defaults(
    files: Sequence[OrbFile], providers: Sequence[OrbProvider]
) -> tuple[OrbDefaults, ...]:
    out: list[OrbDefaults] = []
    for file in files:
        template = _mapping_at(file, "template") or {}
        values = {
            GLOBAL_DEFAULT_KEYS[k]: v
            for k, v in template.items()
            if k in GLOBAL_DEFAULT_KEYS and v is not None
        }
        if values:
            written = {GLOBAL_DEFAULT_KEYS[k]: k for k in template if k in GLOBAL_DEFAULT_KEYS}
            out.append(OrbDefaults("global", None, values, file, ("template",), written))
    for file in files:
        by_type = _mapping_at(file, "provider", "provider_defaults") or {}
        for provider_type in by_type:
            written_defaults = _mapping_at(
                file, "provider", "provider_defaults", str(provider_type), "template_defaults"
            )
            if written_defaults:
                at = ("provider", "provider_defaults", provider_type, "template_defaults")
                out.append(
                    OrbDefaults("type", str(provider_type), dict(written_defaults), file, at)
                )
    for provider in providers:
        entry = _section(provider.file, "provider", "providers")[provider.index]
        values = entry.get("template_defaults")
        at = (*provider.doc_path, "template_defaults")
        if values is None:
            continue
        if not isinstance(values, Mapping):
            raise OrbConfigProblem(provider.file, at, f"must be a mapping, not {_kind(values)}")
        if values:
            out.append(OrbDefaults("instance", provider.name, dict(values), provider.file, at))
    return tuple(out)


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A filename pattern as a regular expression; a ``.json`` pattern matches
    ``.yaml`` and ``.yml`` too."""
    stem, dot, ext = pattern.rpartition(".")
    if dot and ext in TEMPLATE_EXTENSIONS:
        pattern, suffix = stem, r"\.(?:" + "|".join(TEMPLATE_EXTENSIONS) + ")"
    else:
        suffix = ""
    parts = re.split(r"({provider_name}|{provider_type})", pattern)
    regex = "".join(
        "(?P<scope>.+?)" if part in ("{provider_name}", "{provider_type}") else re.escape(part)
        for part in parts
    )
    return re.compile(regex + suffix)


def _captured(regex: re.Pattern[str], name: str) -> str | None:
    match = regex.fullmatch(name)
    if match is None or "scope" not in regex.groupindex:
        return None
    return match["scope"]


def _position(path: Path, doc_path: tuple[Any, ...]) -> tuple[int | None, int | None]:
    from templar.positions import PositionIndex

    index = PositionIndex.build(path)
    position = index.locate(doc_path) if index else None
    return position if position else (None, None)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}"
    )


__all__ = [
    "CONFIG_FILE",
    "DEFAULTS_FILE",
    "LayerNamer",
    "OrbConfig",
    "OrbConfigProblem",
    "OrbDefaults",
    "OrbFile",
    "OrbProvider",
    "defaults_versions",
    "find_orb_config",
    "load_orb_config",
    "without_empty",
]
