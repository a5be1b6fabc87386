"""Shared fixtures: a config directory in tmp_path and a way to write layer files."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from templar import TemplateEngine
from templar.testing import write_layer

WriteFile = Callable[[str, Any], Path]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Core tests see only the built-in plugins unless they opt in, no user config,
    and a cache directory of their own (never the user's)."""
    for name in ("TEMPLAR_CONFIG_DIR", "ORB_CONFIG_DIR", "TEMPLAR_STRICT_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEMPLAR_PLUGINS", "")
    monkeypatch.setenv("TEMPLAR_CACHE_DIR", str(tmp_path / "templar-cache"))


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    path = tmp_path / "config"
    path.mkdir()
    return path


@pytest.fixture
def write(config_dir: Path) -> WriteFile:
    """Write a file into the config dir with the plugin author kit's helper: text as
    is (dedented), bytes as is, other data as JSON or YAML by suffix."""
    return functools.partial(write_layer, config_dir)


@pytest.fixture
def engine(config_dir: Path) -> Callable[..., TemplateEngine]:
    def _engine(**kwargs: Any) -> TemplateEngine:
        return TemplateEngine(config_dir, **kwargs)

    return _engine
