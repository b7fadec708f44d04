#!/usr/bin/env bash
# Installs what `make run` / `make test` need on a fresh Debian or Ubuntu machine:
# redis-server, PostgreSQL, Chromium and HAProxy from apt when absent, then the venv. Writes the
# stamp .venv/.installed last, only once all of it succeeded: a failed or interrupted
# install leaves no stamp, so the next make runs this again.
set -euo pipefail
cd "$(dirname "$0")/.."
STAMP=.venv/.installed
rm -f "$STAMP"

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# HAProxy: the load balancer of deploy/haproxy.cfg, which tests/platform/test_balancer.py runs.
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
if [ ${#need[@]} -gt 0 ]; then
  # Say what and why before apt starts: it downloads a lot (Chromium most of it) for minutes.
  echo "bootstrap: installing ${need[*]} with apt (up to about 340 MB, a few minutes):" \
    "Redis and Postgres for the private services, Chromium for the browser tests," \
    "HAProxy for the load-balancer test" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  # -q keeps apt's per-package lines (Get:, Unpacking, Setting up) as progress, not its bars.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}"
fi

PYTHON=${PYTHON:-python3}
# A venv left by a failed first try (python3-venv missing, so no pip; or a deleted Python)
# would break every later run: rebuild it unless its pip answers.
if [ -e .venv ] && ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  echo "bootstrap: .venv is incomplete (no working python or pip); rebuilding it" >&2
  rm -rf .venv
fi
if [ ! -e .venv ]; then
  echo "bootstrap: creating .venv with $PYTHON" >&2
  if ! "$PYTHON" -m venv .venv; then
    rm -rf .venv
    echo "bootstrap: '$PYTHON -m venv' failed. On Debian/Ubuntu its ensurepip comes with" \
      "python3-venv: apt-get install -y python3-venv, then run make again." >&2
    exit 1
  fi
fi
echo "bootstrap: installing the Python packages of pyproject.toml into .venv" >&2
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
touch "$STAMP"
