#!/usr/bin/env bash
# The locked dependency set: requirements.lock pins every package (transitive ones included) of
# pyproject.toml's dependencies, its dev extra and the build requirements, each with its sha256
# hashes, as resolved for Linux x86_64 and Python 3.11. deploy/bootstrap.sh installs exactly that
# (`pip install --require-hashes`). The lock's header records the sha256 of the requirement set it
# was made from, so a change to pyproject.toml without a new lock is caught (tests/test_lock.py).
#   deploy/lock.sh            regenerate requirements.lock (needs PyPI; about half a minute)
#   deploy/lock.sh --inputs   print the requirement set, then its sha256 (no network)
#   deploy/lock.sh --check    exit 1 when the lock was made from another requirement set
# The resolver is uv (`uv pip compile --generate-hashes`) at a fixed version, installed on first
# use into a venv of its own under the cache (SCOUT_CACHE, default ~/.cache/influencer-scout).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SCOUT_CACHE:-$HOME/.cache/influencer-scout}"
PYTHON="${PYTHON:-python3}"
UV_VERSION=0.13.9
LOCK="$ROOT/requirements.lock"
TARGET=(--python-version 3.11 --python-platform x86_64-unknown-linux-gnu)

# The requirement set, one per line, in pyproject order: dependencies, the dev extra, then the
# build requirements (the editable install of the project runs without build isolation).
inputs() {
  "$PYTHON" - "$ROOT/pyproject.toml" <<'PY'
import sys
import tomllib

with open(sys.argv[1], "rb") as handle:
    data = tomllib.load(handle)
project = data["project"]
for requirement in (
    project["dependencies"]
    + project["optional-dependencies"]["dev"]
    + data["build-system"]["requires"]
):
    print(requirement)
PY
}

inputs_hash() { inputs | sha256sum | cut -d' ' -f1; }

locked_hash() { sed -n 's/^# inputs-sha256: \([0-9a-f]*\)$/\1/p' "$LOCK" 2>/dev/null | head -n1; }

case "${1:-}" in
  --inputs)
    inputs
    inputs_hash
    exit 0
    ;;
  --check)
    if [ "$(locked_hash)" != "$(inputs_hash)" ]; then
      echo "lock: requirements.lock was not made from pyproject.toml's current dependencies;" \
        "run deploy/lock.sh and commit requirements.lock" >&2
      exit 1
    fi
    exit 0
    ;;
  "") ;;
  *)
    echo "lock: unknown argument $1 (known: --inputs, --check)" >&2
    exit 2
    ;;
esac

TOOL="$CACHE/uv-$UV_VERSION"
if [ ! -x "$TOOL/bin/uv" ]; then
  echo "[lock] installing uv $UV_VERSION into $TOOL" >&2
  rm -rf "$TOOL"
  "$PYTHON" -m venv "$TOOL"
  "$TOOL/bin/pip" install --quiet "uv==$UV_VERSION"
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
inputs > "$WORK/pyproject-requirements.txt"
(cd "$WORK" && "$TOOL/bin/uv" pip compile --quiet --generate-hashes --no-header "${TARGET[@]}" \
  pyproject-requirements.txt -o resolved.txt)
{
  echo "# The locked dependency set of pyproject.toml (dependencies, dev extra, build requirements)"
  echo "# for Linux x86_64 and Python 3.11, every package pinned with its hashes. Do not edit:"
  echo "# regenerate with deploy/lock.sh (uv $UV_VERSION: uv pip compile --generate-hashes"
  echo "# ${TARGET[*]})."
  echo "# deploy/bootstrap.sh installs it with pip install --require-hashes."
  echo "# inputs-sha256: $(inputs_hash)"
  cat "$WORK/resolved.txt"
} > "$LOCK.tmp"
mv "$LOCK.tmp" "$LOCK"
echo "[lock] $(grep -c '^[a-z0-9]' "$LOCK") packages pinned in $LOCK" >&2
