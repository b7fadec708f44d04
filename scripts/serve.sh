#!/usr/bin/env bash
# Migrates, loads the demo festival (once) and serves Guichet on 127.0.0.1:$PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m server.cli migrate
.venv/bin/python -m server.cli demo
exec .venv/bin/python -m server.cli serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
