"""Debian root file systems made with debootstrap, kept in a cache, and copied for each use."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .emulation import Architecture
from .record import Record

MIRROR = "http://deb.debian.org/debian"
# What the README's Raspberry Pi section installs with apt (python3-venv), what Raspberry Pi OS Lite has
# anyway (systemd, dbus, openssl, ca-certificates), and Python itself. python3-lgpio is Raspberry Pi OS's
# own package, in an archive this check does not reach; the demo's GPIO is simulated.
PACKAGES = ("python3", "python3-venv", "ca-certificates", "openssl", "systemd", "systemd-sysv", "dbus")
# Changing what a root is made of (not only PACKAGES) must change this, so that cached roots are remade.
RECIPE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Suite:
    name: str
    cannot_boot: str = ""
    """Why its systemd cannot boot under qemu's user-mode emulation, if it cannot."""


SUITES = {
    # The bases of Raspberry Pi OS Bookworm (Python 3.11) and Trixie (Python 3.13).
    "bookworm": Suite("bookworm"),
    "trixie": Suite(
        "trixie",
        cannot_boot="systemd 257 starts every unit through systemd-executor, which qemu 7.2's user-mode "
        "emulation cannot spawn ('Failed to spawn executor: Invalid argument'), so no service starts",
    ),
}


def base_root(cache: Path, suite: Suite, architecture: Architecture, record: Record) -> tuple[Path, bool]:
    """The cached root file system of ``suite`` for ``architecture``, made first if missing; True if made."""
    recipe = json.dumps([suite.name, architecture.debian, PACKAGES, MIRROR, RECIPE_VERSION])
    key = hashlib.sha256(recipe.encode()).hexdigest()[:12]
    root = cache / "roots" / f"{suite.name}-{architecture.debian}-{key}"
    complete = root.with_name(root.name + ".complete")
    if complete.exists() and (root / "usr/bin/python3").exists():
        return root, False
    partial = root.with_name(root.name + ".partial")
    for leftover in (partial, root):
        remove_tree(leftover)
    partial.parent.mkdir(parents=True, exist_ok=True)
    record.run(
        [
            "debootstrap",
            f"--arch={architecture.debian}",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            suite.name,
            str(partial),
            MIRROR,
        ],
        log_name=f"debootstrap-{suite.name}",
    )
    partial.rename(root)
    complete.write_text(recipe + "\n")
    return root, True


def copy_root(base: Path, copy: Path) -> Path:
    """A fresh copy of ``base`` at ``copy`` (an earlier copy there is removed first)."""
    remove_tree(copy)
    copy.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", "--reflink=auto", str(base), str(copy)], check=True)
    return copy


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below ``path`` in this mount namespace."""
    resolved = str(path.resolve())
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mount_point = line.split()[4].replace("\\040", " ")
        if mount_point == resolved or mount_point.startswith(resolved + "/"):
            found.append(mount_point)
    return found


def remove_tree(path: Path) -> None:
    """Remove a root file system, refusing while anything is mounted in it: removing a root with the host's
    /dev or /proc bound into it would remove the host's files."""
    if not path.exists() and not path.is_symlink():
        return
    mounted = mounts_under(path)
    if mounted:
        raise RuntimeError(f"not removing {path}: {', '.join(mounted)} still mounted there")
    shutil.rmtree(path)
