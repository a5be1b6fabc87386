"""The keys of the cache: every input that can change what an entry holds, hashed.

A load's key covers the storage fingerprint, the engine settings, the config
directory, the names, versions and code of the loaded plugins, and Templar's own
version and code; a parsed file's key covers its path and content hash and Templar's
code. Upgrading Templar or a plugin, or editing an editable install, therefore never
serves a result the new code would not produce.
"""

from __future__ import annotations

import hashlib
import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from templar.plugins import PluginHost

#: Bumped whenever the layout of an entry changes; older entries are then foreign.
FORMAT_VERSION = 2

#: the prefixes of the kinds of entries
STATE, LAYER, META, HITS, FILES = "state:", "layer:", "meta:", "hits:", "files:"
#: the key of the last load stored for a config (see ``TemplateCache.load_last_state``)
LAST = "last:"
#: the counters of ``templates cache info``
STATS_HITS, STATS_MISSES = "stats:hits", "stats:misses"


def state_key(material: dict[str, Any]) -> str:
    """The key of a load: a hash of every input that can change its result."""
    base = {"format": FORMAT_VERSION, "code": code_fingerprint("templar")}
    blob = orjson.dumps({**base, **material}, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(blob).hexdigest()


def files_key(config_dir: Path) -> str:
    """The key of what the layer reader saw of the files of ``config_dir``."""
    text = f"{FORMAT_VERSION}\0{config_dir}"
    return FILES + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def layer_key(location: str, digest: str) -> str:
    """The key of the parsed layer at ``location`` whose bytes hash to ``digest``."""
    text = f"{FORMAT_VERSION}\0{code_fingerprint('templar')}\0{location}\0{digest}"
    return LAYER + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@lru_cache(maxsize=64)
def code_fingerprint(package: str) -> str:
    """``__version__`` and source files (names, sizes, mtimes) of an imported package
    (plugin versions come from their distributions, in the plugin signature)."""
    module = sys.modules.get(package)
    digest = hashlib.sha256(package.encode())
    digest.update(str(getattr(module, "__version__", "")).encode())
    origin = getattr(module, "__file__", None)
    if origin:
        path = Path(origin)
        files = sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]
        for file in files:
            try:
                st = file.stat()
            except OSError:
                continue
            digest.update(f"{file}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def plugins_fingerprint(host: PluginHost) -> list[tuple[str, str | None, str]]:
    """Name, version and code fingerprint of every plugin registered on ``host``."""
    versions = dict(host.signature())
    out = []
    for name, plugin in host.pm.list_name_plugin():
        module_name = getattr(plugin, "__name__", None) or type(plugin).__module__
        if not isinstance(module_name, str):
            module_name = type(plugin).__module__
        package = module_name.split(".")[0]
        out.append((name, versions.get(name), code_fingerprint(package)))
    return sorted(out)
