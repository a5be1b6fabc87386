"""Which layer each file of an ORB dir is, by ORB's ``template.filename_patterns``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from templar.models import LayerKind
from templar.orb.packaged import CONFIG_FILE, DEFAULTS_FILE, TEMPLATE_EXTENSIONS

if TYPE_CHECKING:
    from templar.storage import LayerSource


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
