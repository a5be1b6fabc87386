#!/usr/bin/env bash
# The README's first command: set up from a clean clone, then validate and list the
# templates of sample_configs/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/install.sh"
cd "$ROOT"
echo "+ templates --config-dir sample_configs validate"
.venv/bin/templates --config-dir sample_configs validate
echo
echo "+ templates --config-dir sample_configs list"
.venv/bin/templates --config-dir sample_configs list
echo
echo "+ templates --config-dir sample_configs show hf-ondemand --provider aws-prod --explain"
.venv/bin/templates --config-dir sample_configs show hf-ondemand --provider aws-prod --explain
