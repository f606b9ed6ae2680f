# Sourced by the scripts: make sure .venv exists with pyiii installed, and put it first on PATH.
#   source scripts/_env.sh        pyiii and its dev tools (the `dev` extra: tests, linters, benchmarks)
#   PYIII_ENV=run source ...      pyiii alone (what running needs); a .venv that has the dev
#                                 tools already keeps them
# .venv/.pyiii-installed records which set is installed ("run" or "dev"); "dev" includes "run",
# so running the example after the tests installs nothing and the tests after the example
# add the dev tools.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
WANT="${PYIII_ENV:-dev}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
STAMP=.venv/.pyiii-installed
HAVE="$(cat "$STAMP" 2>/dev/null || true)"
case "$HAVE" in run|dev) ;; *) HAVE="" ;; esac  # a stamp from before it said which: install again
if [ -z "$HAVE" ] || [ pyproject.toml -nt "$STAMP" ] || { [ "$WANT" = dev ] && [ "$HAVE" = run ]; }; then
  # Never downgrade: a .venv with the dev tools keeps them when only running is asked for.
  [ "$HAVE" = dev ] && WANT=dev
  .venv/bin/python -m pip install -q --upgrade pip
  if [ "$WANT" = dev ]; then
    .venv/bin/python -m pip install -q -e ".[dev]"
  else
    .venv/bin/python -m pip install -q -e .
  fi
  echo "$WANT" > "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"
