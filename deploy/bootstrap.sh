#!/usr/bin/env bash
# Sets up everything `make demo` and `make test` need on a fresh clone, reusing caches:
#   1. a shared dependency venv installed from requirements.lock and requirements-nodeps.lock
#      (every version and hash pinned) and keyed by them (heavy: torch, pyspark, ...),
#   2. a small per-clone .venv layered on it, with this clone installed in editable mode,
#   3. the JVM jars (Kafka broker, Spark's Kafka connector) resolved by Maven into ~/.m2,
#      with their classpaths written under build/,
#   4. (with --system) the Debian packages the integration tests drive (prometheus, chromium) and
#      the shell linter that `make lint` runs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SCOUT_CACHE:-$HOME/.cache/influencer-scout}"
PYTHON="${PYTHON:-python3}"
WITH_SYSTEM=0
for arg in "$@"; do
  case "$arg" in
    --system) WITH_SYSTEM=1 ;;
    *) echo "bootstrap: unknown argument $arg (known: --system)" >&2; exit 2 ;;
  esac
done

log() { echo "[bootstrap] $*" >&2; }
cd "$ROOT"

# --- 1. shared dependency venv -------------------------------------------------------------
# Exactly the versions of requirements.lock and requirements-nodeps.lock (made by deploy/lock.sh
# from pyproject.toml), each checked against its hash, the second installed without dependencies;
# the venv is keyed by both locks, so a new lock means a new venv.
mkdir -p "$CACHE" build
LOCK="$ROOT/requirements.lock"
NODEPS_LOCK="$ROOT/requirements-nodeps.lock"
if ! PYTHON="$PYTHON" bash deploy/lock.sh --check; then
  log "pyproject.toml's dependencies changed since the locks were made: run deploy/lock.sh"
  exit 1
fi
PYVER="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
HASH="$( (cat "$LOCK" "$NODEPS_LOCK"; echo "$PYVER") | sha256sum | cut -c1-16)"
DEPS="$CACHE/deps-py$PYVER-lock-$HASH"
if [ ! -f "$DEPS/.complete" ]; then
  log "creating dependency environment $DEPS from the locks (first run on this machine: a few minutes)"
  rm -rf "$DEPS"
  "$PYTHON" -m venv "$DEPS"
  "$DEPS/bin/pip" install --quiet --require-hashes -r "$LOCK"
  "$DEPS/bin/pip" install --quiet --no-deps --require-hashes -r "$NODEPS_LOCK"
  touch "$DEPS/.complete"
else
  log "reusing dependency environment $DEPS"
fi

# --- 2. per-clone venv layered on the shared one ------------------------------------------
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.deps 2>/dev/null)" != "$DEPS" ]; then
  rm -rf .venv
  "$PYTHON" -m venv --without-pip .venv
  SITE="$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  DEPS_SITE="$("$DEPS/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  echo "$DEPS_SITE" > "$SITE/_scout_deps.pth"
  echo "$DEPS" > .venv/.deps
fi
.venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e . 2>&1 | grep -v "^$" >&2 || true
.venv/bin/python -c "import streaming, training" || { log "editable install failed"; exit 1; }

# --- 3. JVM jars through Maven (cached in ~/.m2) --------------------------------------------
for part in kafka spark; do
  if [ ! -s "build/$part.classpath" ] || [ "deploy/$part/pom.xml" -nt "build/$part.classpath" ]; then
    log "resolving $part jars with Maven"
    mvn -q -B -f "deploy/$part/pom.xml" dependency:build-classpath \
      -Dmdep.outputFile="$ROOT/build/$part.classpath" -Dmdep.includeScope=runtime >&2
  fi
done

# --- 4. system packages for the integration tests ------------------------------------------
if [ "$WITH_SYSTEM" = 1 ]; then
  missing=()
  command -v prometheus >/dev/null || missing+=(prometheus)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v shellcheck >/dev/null || missing+=(shellcheck)
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      log "installing Debian packages: ${missing[*]}"
      apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    else
      log "missing ${missing[*]}: install them with apt-get (tests that need them will be skipped)"
    fi
  fi
fi
log "ready: $(.venv/bin/python --version), deps in $DEPS"
