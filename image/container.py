"""Commands run inside a root file system, and the root booted, with systemd-nspawn.

nspawn rather than chroot: it mounts /proc, /sys and /dev inside its own mount namespace, so nothing of
the host's stays mounted in a root this check later removes. The network is the host's: an agent in the
container listens on this machine's loopback, where the host's clients reach it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil

from .emulation import EMULATED_CPU, provide_cpuinfo

NSPAWN = ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit"]
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
CONTAINER_CA_BUNDLE = "/run/host-ca-bundle.pem"


@dataclass
class Container:
    root: Path
    read_only: dict[str, Path] = field(default_factory=dict)
    """Host paths bound read-only, by their path in the container."""
    environment: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # pip in the container trusts what the host trusts (a site's proxy CA, for one).
        if HOST_CA_BUNDLE.is_file():
            self.read_only.setdefault(CONTAINER_CA_BUNDLE, HOST_CA_BUNDLE)
            self.environment.setdefault("PIP_CERT", CONTAINER_CA_BUNDLE)
        for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
            value = os.environ.get(name, "")
            if value.startswith(("http://", "https://")):
                self.environment.setdefault(name, value)
        self.environment.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        self.environment.setdefault("QEMU_CPU", EMULATED_CPU)
        self._cpuinfo = provide_cpuinfo(self.root)

    def _binds(self) -> list[str]:
        return [f"--bind-ro={host}:{inside}" for inside, host in self.read_only.items()]

    def command(
        self,
        args: list[str],
        *,
        chdir: str | None = None,
        environment: Mapping[str, str] | None = None,
        kill_signal: str | None = None,
    ) -> list[str]:
        """The host command that runs ``args`` in the container, its output on our stdout and stderr."""
        command = [*NSPAWN, f"--directory={self.root}", "--pipe", *self._binds()]
        for name, value in {**self.environment, **(environment or {})}.items():
            command.append(f"--setenv={name}={value}")
        if chdir:
            command.append(f"--chdir={chdir}")
        if kill_signal:
            command.append(f"--kill-signal={kill_signal}")
        # /proc is the container's own once it runs: the emulated cpuinfo is bound over it from inside.
        bind_cpuinfo = f'mount --bind {self._cpuinfo} /proc/cpuinfo && exec "$@"'
        return [*command, "--", "/bin/sh", "-c", bind_cpuinfo, "sh", *args]

    def boot(self, console: IO[bytes]) -> subprocess.Popen[bytes]:
        """Boot the root's init (systemd) in the container; its console goes to ``console``."""
        command = [*NSPAWN, f"--directory={self.root}", "--boot", "--console=read-only", *self._binds()]
        command.append(f"--setenv=QEMU_CPU={EMULATED_CPU}")
        return subprocess.Popen(command, stdout=console, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def descendant(process_id: int, *words: str) -> psutil.Process | None:
    """The first process below ``process_id`` whose command line holds all of ``words``."""
    try:
        children = psutil.Process(process_id).children(recursive=True)
    except psutil.NoSuchProcess:
        return None
    for child in children:
        try:
            command_line = child.cmdline()
        except psutil.Error:
            continue
        if all(any(word in part for part in command_line) for word in words):
            return child
    return None


def inside(init_pid: int, args: list[str], *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``args`` in a booted container's namespaces, as a command on its console would run."""
    return subprocess.run(
        ["nsenter", f"--target={init_pid}", "--all", *args],
        env={**os.environ, "QEMU_CPU": EMULATED_CPU},
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
