#!/usr/bin/env bash
# The README's second command: set up from a clean clone, then run the whole test
# suite: the core's tests, then each bundled plugin's own tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/install.sh"
cd "$ROOT"
for plugin in plugins/*/; do
    if [ -d "$plugin/tests" ]; then
        echo "+ pytest $plugin"
        (cd "$plugin" && "$ROOT/.venv/bin/python" -m pytest -q "$@")
    fi
done
echo "+ pytest tests"
.venv/bin/python -m pytest -q "$@"
