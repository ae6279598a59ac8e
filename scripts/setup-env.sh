#!/usr/bin/env bash
# Creates .venv and installs paperscope with everything its service (and, with "dev", its
# tests) needs.  The service runs the packaged int8 ONNX model and needs no torch; the dev
# install adds the "st" extra (torch + sentence-transformers) because tests/test_embed.py and
# tests/test_vectors.py compare against the fp32 sentence-transformers model.  Idempotent and quick on a second run: it reinstalls only when pyproject.toml
# changed.  Usage: scripts/setup-env.sh [dev]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
extras=""
if [ "${1:-}" = "dev" ]; then extras="st,dev,postgres"; fi
hash=$(sha256sum pyproject.toml | cut -c1-16)
stamp=".venv/.installed-$hash-${extras//,/_}"
if [ -f "$stamp" ]; then exit 0; fi
# A dev install already holds everything the service needs.
if [ -z "$extras" ] && [ -f ".venv/.installed-$hash-st_dev_postgres" ]; then exit 0; fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
echo "setting up .venv (extras: $extras)..." >&2
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if [ -n "$extras" ]; then
  # torch first and pinned: anything unpinned would pull a multi-GB CUDA build.
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[${extras}]"
else
  .venv/bin/python -m pip install -q -e .
fi
rm -f .venv/.installed-*
touch "$stamp"
