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

The package follows those steps: :mod:`~templar.orb.packaged` (ORB's file names and
packaged defaults), :mod:`~templar.orb.files` (reading a config file, located problems),
:mod:`~templar.orb.sections` (providers, filename patterns, template defaults),
:mod:`~templar.orb.config` (the dir as a whole), :mod:`~templar.orb.naming` (which
layer a file is) and :mod:`~templar.orb.defaults` (the defaults as Templar layers).
"""

from __future__ import annotations

from templar.orb.config import OrbConfig, find_orb_config, load_orb_config
from templar.orb.defaults import defaults_versions, without_empty
from templar.orb.files import OrbConfigProblem, OrbFile
from templar.orb.naming import LayerNamer
from templar.orb.packaged import CONFIG_FILE, DEFAULTS_FILE
from templar.orb.sections import OrbDefaults, OrbProvider

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
