"""The installed distribution, found through its entry point by a separate process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from templar_aws import __version__


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPLAR_")}
    return subprocess.run(
        [sys.executable, "-m", "templar", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_templates_plugins_lists_the_installed_plugin(tmp_path: Path) -> None:
    result = _run("plugins", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    aws = plugins["aws"]
    assert aws["version"] == __version__
    assert aws["registered"] == ["aws"]
    assert aws["error"] is None
    assert aws["builtin"] is False
    assert aws["hooks"] == ["templar_register_providers", "templar_validate_templates"]


def test_templates_validates_an_orb_file_with_the_installed_plugin(
    orb_samples: Path, tmp_path: Path
) -> None:
    shutil.copyfile(orb_samples / "awsprov_templates.json", tmp_path / "awsprov_templates.json")
    result = _run("--config-dir", str(tmp_path), "validate", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "13 templates, 13 valid; 0 errors, 0 warnings" in result.stderr
