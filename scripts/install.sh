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
plugin_args=()
for plugin in plugins/*/; do
    [ -f "$plugin/pyproject.toml" ] && plugin_args+=(-e "$plugin")
done
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]" "${plugin_args[@]}"
