#!/usr/bin/env bash
# Migrates, loads the demo festival (once) and serves Guichet on 127.0.0.1:$PORT.
# The demo staff passwords are made once and kept in .data/demo-staff-passwords, so the ones
# printed last time still work; RESET_ADMIN=1 makes new ones.
set -euo pipefail
cd "$(dirname "$0")/.."
reset=()
[ "${RESET_ADMIN:-0}" = 0 ] || reset=(--reset-admin)
.venv/bin/python -m server.cli migrate
.venv/bin/python -m server.cli demo --password-file .data/demo-staff-passwords "${reset[@]}"
exec .venv/bin/python -m server.cli serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
