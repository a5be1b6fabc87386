"""pytest fixtures and helpers for people who write Templar plugins.

This module is a pytest plugin, registered through the ``pytest11`` entry point
``templar`` of the ``templar`` distribution: with templar installed, its fixtures are
available in every test suite, with nothing to import. (With
``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` set, load it with ``-p templar.testing``.) It
defines fixtures only: no hook, nothing autouse, so it changes no one's test run.

Fixtures:

``templar_plugins``
    The plugin objects (modules or instances) the engine registers. Empty by default;
    override it in your ``conftest.py``::

        @pytest.fixture
        def templar_plugins():
            return [my_plugin]

``templar_config_dir``
    An empty config directory under ``tmp_path``.
``templar_cache_dir``
    A cache directory under ``tmp_path``, set as ``$TEMPLAR_CACHE_DIR`` for the test:
    the engines and CLI runs of these fixtures never touch the user's own cache.
``templar_write``
    ``templar_write(name, content)`` writes a layer file (or ``templar.yaml``) into the
    config directory; see :func:`write_layer`.
``templar_engine``
    A fresh :class:`~templar.TemplateEngine` on the config directory with
    ``templar_plugins`` registered and entry points *not* loaded, so the test sees the
    built-ins and your plugin only, whatever else is installed. Template files are
    read on the first query (write them first, or call ``reload()``); the engine config
    ``templar.yaml`` is read when the engine is created.
``templar_engine_factory``
    ``templar_engine_factory(settings=None)`` creates such an engine when called: write
    ``templar.yaml`` first, then call it. Settings may also be passed as a mapping.
``templar_cli``
    ``templar_cli(*args, entry_points=None)`` runs the ``templates`` command line in
    process on the config directory and returns click's ``Result``. The CLI loads
    plugins from entry points; ``entry_points=["aws"]`` allow-lists them
    (``TEMPLAR_PLUGINS``), so your plugin must be installed (``pip install -e .``).

The plain functions :func:`write_layer`, :func:`make_engine` and :func:`issue_codes`
work without pytest too.
"""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from click.testing import Result

    from templar.engine import TemplateEngine
    from templar.models import Severity, ValidationReport
    from templar.settings import EngineSettings

WriteLayer = Callable[[str, Any], Path]
RunCli = Callable[..., "Result"]
EngineFactory = Callable[..., "TemplateEngine"]


def write_layer(config_dir: str | os.PathLike[str], name: str, content: Any) -> Path:
    """Write one file into ``config_dir`` and return its path.

    ``content`` may be text (dedented, then written as is), bytes (written as is), or
    data: written as JSON for a ``.json`` name, as YAML otherwise. The name says which
    layer the file is (``awsprov_templates.yaml``, ``aws-prodinst_templates.json``,
    ``templates.yaml``, ``templar.yaml``).
    """
    path = Path(config_dir) / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(textwrap.dedent(content), encoding="utf-8")
    elif path.suffix == ".json":
        path.write_text(json.dumps(content, indent=2, default=str) + "\n", encoding="utf-8")
    else:
        from ruamel.yaml import YAML

        yaml = YAML(typ="safe", pure=True)
        yaml.default_flow_style = False
        yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
        with path.open("w", encoding="utf-8") as f:
            yaml.dump(content, f)
    return path


def make_engine(
    config_dir: str | os.PathLike[str],
    *plugins: object,
    settings: EngineSettings | dict[str, Any] | None = None,
    load_entrypoints: bool = False,
) -> TemplateEngine:
    """A :class:`~templar.TemplateEngine` on ``config_dir`` with ``plugins`` registered on
    its own plugin manager; entry points are not loaded unless asked."""
    from templar.engine import TemplateEngine

    return TemplateEngine(
        config_dir, settings=settings, plugins=plugins, load_entrypoints=load_entrypoints
    )


def issue_codes(
    report: ValidationReport,
    template_id: str | None = None,
    *,
    severity: Severity | str | None = None,
) -> list[str]:
    """The codes of a report's issues, in report order, optionally of one template or
    one severity: ``assert issue_codes(engine.validate(), "t1") == ["aws-image-required"]``."""
    return [
        issue.code
        for issue in report.issues
        if (template_id is None or issue.template_id == template_id)
        and (severity is None or issue.severity == severity)
    ]


@pytest.fixture
def templar_plugins() -> Sequence[object]:
    """The plugin objects ``templar_engine`` registers; override it in ``conftest.py``."""
    return ()


@pytest.fixture
def templar_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache directory for the test (``$TEMPLAR_CACHE_DIR``), so that engines
    and CLI runs of the fixtures never read or write the user's own cache."""
    path = tmp_path / "templar-cache"
    monkeypatch.setenv("TEMPLAR_CACHE_DIR", str(path))
    return path


@pytest.fixture
def templar_config_dir(tmp_path: Path) -> Path:
    """An empty config directory."""
    path = tmp_path / "templar-config"
    path.mkdir()
    return path


@pytest.fixture
def templar_write(templar_config_dir: Path) -> WriteLayer:
    """``templar_write(name, content)``: :func:`write_layer` into the config directory."""

    def write(name: str, content: Any) -> Path:
        return write_layer(templar_config_dir, name, content)

    return write


@pytest.fixture
def templar_engine_factory(
    templar_config_dir: Path, templar_plugins: Sequence[object], templar_cache_dir: Path
) -> Iterator[EngineFactory]:
    """``templar_engine_factory(settings=None)``: a new engine on the config directory
    with ``templar_plugins`` registered, created when called, so that it reads the
    ``templar.yaml`` the test wrote first."""
    created: list[tuple[TemplateEngine, list[str]]] = []

    def factory(settings: EngineSettings | dict[str, Any] | None = None) -> TemplateEngine:
        engine = make_engine(templar_config_dir, settings=settings)
        created.append((engine, [engine.register_plugin(p) for p in templar_plugins]))
        return engine

    yield factory
    for engine, names in created:
        for name in names:
            engine.unregister_plugin(name)


@pytest.fixture
def templar_engine(templar_engine_factory: EngineFactory) -> TemplateEngine:
    """A fresh engine on the config directory with ``templar_plugins`` registered.

    The engine config (``templar.yaml``) is read when the engine is created, so a test
    that writes one uses ``templar_engine_factory`` instead.
    """
    return templar_engine_factory()


@pytest.fixture
def templar_cli(templar_config_dir: Path, templar_cache_dir: Path) -> RunCli:
    """``templar_cli(*args, entry_points=None)``: run ``templates --config-dir DIR ARGS``."""
    from click.testing import CliRunner

    from templar.cli import cli

    def run(*args: str, entry_points: Sequence[str] | None = None) -> Result:
        env: dict[str, str | None] = {
            "TEMPLAR_CONFIG_DIR": None,
            "ORB_CONFIG_DIR": None,
            "TEMPLAR_STRICT_PLUGINS": None,
            "TEMPLAR_CACHE_DIR": str(templar_cache_dir),
        }
        if entry_points is not None:
            env["TEMPLAR_PLUGINS"] = ",".join(entry_points)
        return CliRunner().invoke(
            cli, ["--config-dir", str(templar_config_dir), *args], env=env, catch_exceptions=False
        )

    return run
