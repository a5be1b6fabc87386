"""The plugin author guide's example plugin, built as a plugin author would: in a fresh
venv, against this checkout's core, listed by ``templates plugins``.

The files are taken from the guide itself, so the guide cannot drift from what works.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "plugin-author-guide.md"


def _guide_block(language: str, after: str) -> str:
    """The first ``language`` code block of the guide that follows the text ``after``."""
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index(after)
    match = re.compile(rf"^```{language}\n(.*?)^```$", re.M | re.S).search(text, start)
    assert match is not None, f"no ```{language} block after {after!r} in {GUIDE}"
    return match.group(1)


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPLAR_", "VIRTUAL_ENV"))}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done


def test_the_guide_depends_on_the_core_distribution_by_its_name() -> None:
    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    example = tomllib.loads(_guide_block("toml", "`pyproject.toml`: the entry point"))
    dependencies = [re.split(r"[<>=!~ \[;]", d)[0] for d in example["project"]["dependencies"]]
    assert core in dependencies
    # `templar` on the package index is an unrelated project: depending on it would
    # install that, not this engine.
    assert core != "templar"
    for plugin in (ROOT / "plugins").glob("*/pyproject.toml"):
        deps = tomllib.loads(plugin.read_text())["project"]["dependencies"]
        assert core in [re.split(r"[<>=!~ \[;]", d)[0] for d in deps], plugin


def test_the_guide_example_plugin_installs_in_a_fresh_venv_and_is_listed(tmp_path: Path) -> None:
    # The core, copied so that building it leaves no build/ or egg-info in the checkout.
    core = tmp_path / "core"
    core.mkdir()
    shutil.copy(ROOT / "pyproject.toml", core)
    shutil.copy(ROOT / "README.md", core)
    shutil.copytree(ROOT / "src", core / "src", ignore=shutil.ignore_patterns("*.egg-info"))

    plugin = tmp_path / "templar-acme"
    package = plugin / "src" / "templar_acme"
    package.mkdir(parents=True)
    (plugin / "pyproject.toml").write_text(_guide_block("toml", "`pyproject.toml`: the entry"))
    (package / "__init__.py").write_text('"""The acme provider for Templar."""\n')
    (package / "plugin.py").write_text(_guide_block("python", "`src/templar_acme/plugin.py`"))
    (package / "py.typed").write_text("")

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bindir = env_dir / ("Scripts" if sys.platform == "win32" else "bin")
    python = bindir / "python"
    pip = (python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check")
    _run(*pip, core)
    # The plugin alone: its dependency on the core must be met by the core just installed.
    _run(*pip, plugin)

    listed = _run(bindir / "templates", "plugins", "--format", "json", cwd=tmp_path)
    plugins = {p["name"]: p for p in json.loads(listed.stdout)}
    assert plugins["acme"]["version"] == "0.1.0"
    assert plugins["acme"]["registered"] == ["acme"]
    assert plugins["acme"]["error"] is None
    installed = _run(python, "-m", "pip", "list", "--format", "json").stdout
    names = {d["name"].lower() for d in json.loads(installed)}
    assert {"templar-engine", "templar-acme"} <= names
    assert "templar" not in names
