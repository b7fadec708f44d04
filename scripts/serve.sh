#!/usr/bin/env bash
# Migrates, loads the demo festival (once) and serves Guichet on 127.0.0.1:$PORT.
# The demo admin's password is made once and kept in .data/demo-admin-password, so the one
# printed last time still works; RESET_ADMIN=1 makes a new one.
set -euo pipefail
cd "$(dirname "$0")/.."
reset=()
[ "${RESET_ADMIN:-0}" = 0 ] || reset=(--reset-admin)
.venv/bin/python -m server.cli migrate
.venv/bin/python -m server.cli demo --password-file .data/demo-admin-password "${reset[@]}"
exec .venv/bin/python -m server.cli serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
