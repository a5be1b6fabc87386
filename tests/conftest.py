"""Shared fixtures: a config directory in tmp_path and a way to write layer files."""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import subprocess
import sys
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


def as_unprivileged() -> list[str]:
    """The command prefix that runs a process as a user file modes apply to: ``nobody``
    through ``setpriv`` when the tests run as root (root ignores file and directory modes)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        setpriv = None
    if setpriv is None:
        pytest.skip("running as root, with no setpriv or no 'nobody' user to drop to")
    prefix = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    probe = [*prefix, sys.executable, "-c", "import templar.cli"]
    if subprocess.run(probe, capture_output=True, timeout=60, check=False).returncode != 0:
        pytest.skip("'nobody' cannot run this checkout's interpreter (a private home?)")
    return prefix
