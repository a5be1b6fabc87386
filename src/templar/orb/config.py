"""An ORB config dir as ORB reads it: which dirs are ORB dirs, the files merged for
one, and what Templar takes from the result (its engine settings and file names)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from templar.orb.files import OrbConfigProblem, OrbFile, read_config_file
from templar.orb.naming import LayerNamer
from templar.orb.packaged import (
    CONFIG_FILE,
    DEFAULTS_FILE,
    PACKAGED,
    PACKAGED_DEFAULT_CONFIG,
    PACKAGED_PROVIDER_DEFAULTS,
)
from templar.orb.sections import (
    OrbDefaults,
    OrbProvider,
    read_filename_patterns,
    read_providers,
    read_template_defaults,
)

if TYPE_CHECKING:
    from templar.settings import EngineSettings


@dataclass(frozen=True)
class OrbConfig:
    """An ORB config dir as ORB reads it (see :mod:`templar.orb`)."""

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

    Raises :class:`~templar.errors.ConfigurationError` naming the file, line and field
    when ``config.json`` or ``default_config.json`` does not parse or says something ORB
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
        *([OrbFile(DEFAULTS_FILE, beside, read_config_file(beside))] if beside.is_file() else []),
        OrbFile(PACKAGED, None, PACKAGED_PROVIDER_DEFAULTS),
        OrbFile(CONFIG_FILE, config_path, read_config_file(config_path)),
    )
    providers = read_providers(files)
    return OrbConfig(
        config_dir=config_dir,
        files=files,
        providers=providers,
        filename_patterns=read_filename_patterns(files),
        defaults=read_template_defaults(files, providers),
    )
