"""ORB (orb-py, the Open Resource Broker) as the benchmark's peer: found, or installed in
a virtual environment of its own. Never a dependency of Templar, never imported.

Where the ``orb`` command comes from, first found wins:

1. ``--orb PATH``, a virtual environment directory or the ``orb`` executable;
2. ``$TEMPLAR_BENCH_ORB``, the same;
3. the benchmark's own environment, ``<user cache dir>/templar/bench/orb-py-1.8.5``,
   which ``--install-orb`` creates (``python -m venv`` and ``pip install orb-py==1.8.5``).

Without one, the ORB figures say so instead of failing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

ORB_VERSION = "1.8.5"
ENV_VAR = "TEMPLAR_BENCH_ORB"


@dataclass(frozen=True)
class Orb:
    """An ``orb`` executable, or why there is none."""

    executable: Path | None
    version: str
    why_not: str = ""

    def list_command(self) -> list[str]:
        """``orb templates list``, as the issue and a HostFactory user run it (it prints
        the first page, 50 by default, after reading and validating every template)."""
        assert self.executable is not None
        return [str(self.executable), "templates", "list"]


def default_venv() -> Path:
    """The virtual environment ``--install-orb`` creates."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("templar")) / "bench" / f"orb-py-{ORB_VERSION}"


def _executable(candidate: Path) -> Path | None:
    bin_dir = "Scripts" if sys.platform == "win32" else "bin"
    for path in (candidate, candidate / bin_dir / "orb", candidate / bin_dir / "orb.exe"):
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def find_orb(explicit: str | None, install: bool) -> Orb:
    """The ``orb`` to compare with (see the module docstring for the order)."""
    for source, value in (("--orb", explicit), (f"${ENV_VAR}", os.environ.get(ENV_VAR))):
        if value:
            found = _executable(Path(value).expanduser())
            if found is None:
                return Orb(None, "", f"{source} {value}: no orb executable there")
            return Orb(found, _version(found))
    target = default_venv()
    found = _executable(target)
    if found is None and install:
        found = install_orb(target)
    if found is None:
        return Orb(
            None,
            "",
            f"ORB not found: pass --orb VENV_OR_EXECUTABLE, set ${ENV_VAR}, or --install-orb "
            f"to create {target}",
        )
    return Orb(found, _version(found))


def install_orb(target: Path) -> Path | None:
    """Create ``target`` and install orb-py in it; the ``orb`` executable, or None."""
    print(f"installing orb-py=={ORB_VERSION} into {target}", file=sys.stderr)
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    bin_dir = "Scripts" if sys.platform == "win32" else "bin"
    done = subprocess.run(
        [str(target / bin_dir / "python"), "-m", "pip", "install", "-q", f"orb-py=={ORB_VERSION}"],
        check=False,
    )
    return _executable(target) if done.returncode == 0 else None


def _version(executable: Path) -> str:
    done = subprocess.run(
        [str(executable), "--version"], capture_output=True, text=True, check=False, timeout=120
    )
    words = (done.stdout or done.stderr).split()
    return words[-1] if words else "unknown"


def orb_environment(config_dir: Path) -> dict[str, str]:
    """The environment ``orb`` reads its config dir from."""
    return {**os.environ, "ORB_CONFIG_DIR": str(config_dir)}
