#!/usr/bin/env bash
# Create .venv (if needed) and install the core with its dev tools and every bundled
# plugin under plugins/, all editable. Sourced by demo.sh and test.sh; safe to re-run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip setuptools wheel
# The core distribution was renamed templar -> templar-engine (the name `templar` on the
# package index is another project): drop a stale editable install of the old name.
old_core="$(.venv/bin/python -m pip show templar 2>/dev/null || true)"
if grep -qx "Editable project location: $ROOT" <<<"$old_core"; then
    .venv/bin/python -m pip uninstall --quiet --yes templar
fi
rm -rf src/templar.egg-info  # its metadata would still say `templar` is installed
plugin_args=()
for plugin in plugins/*/; do
    [ -f "$plugin/pyproject.toml" ] || continue
    # A plugin's `postgres` extra (templar-sql: psycopg) is installed too: the tests
    # run against a real PostgreSQL.
    if grep -q '^postgres *=' "$plugin/pyproject.toml"; then
        plugin_args+=(-e "${plugin%/}[postgres]")
    else
        plugin_args+=(-e "$plugin")
    fi
done
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]" "${plugin_args[@]}"
# With PYTHONDONTWRITEBYTECODE set (as on this project's CI machines) the interpreter
# never caches the bytecode of the editable sources, so every command would compile
# them again (about 50 ms of each `templates` run); compile them once here. A source
# edited later is recompiled in memory, as usual: a stale .pyc is never used.
.venv/bin/python -m compileall -q src plugins/*/src
