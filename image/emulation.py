"""qemu's user-mode emulator registered with binfmt_misc, so that this kernel runs another architecture's
programs, inside a root file system too."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

BINFMT = Path("/proc/sys/fs/binfmt_misc")
# Debian's qemu-user-static ships one registration line per architecture here (for systemd-binfmt).
BINFMT_CONFIGS = Path("/usr/lib/binfmt.d")


# The CPU qemu emulates (its QEMU_CPU variable): the Raspberry Pi 4's. qemu's default, "max", has pointer
# authentication, whose emulation is slow, and Debian 13 builds every program with it (Debian 12 does not):
# Python ran 7 times slower. On a Cortex-A72, which has none, those instructions are no-ops, as on a Pi 4.
EMULATED_CPU = "cortex-a72"


# qemu 7.2's user-mode emulation shows an aarch64 program the host's x86 /proc/cpuinfo, and ai-edge-litert's
# CPU detection crashes on it (SIGSEGV in Interpreter()); on a Pi it reads the Pi's. So the emulated systems
# get a Cortex-A72's, bound over /proc/cpuinfo inside them, one entry per core the host has.
CPUINFO_IN_ROOT = "etc/qemu-user-emulation/cpuinfo"
_CORE = """\
processor\t: {number}
BogoMIPS\t: 108.00
Features\t: fp asimd evtstrm crc32 cpuid
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x0
CPU part\t: 0xd08
CPU revision\t: 3
"""


def emulated_cpuinfo(cores: int) -> str:
    """/proc/cpuinfo of a Cortex-A72 (the Raspberry Pi 4's CPU) with ``cores`` cores."""
    return "\n".join(_CORE.format(number=number) for number in range(cores)) + (
        "\nModel\t\t: Raspberry Pi 4 Model B (emulated by qemu)\n"
    )


def provide_cpuinfo(root: Path) -> str:
    """Write the emulated /proc/cpuinfo into ``root``; its path there."""
    path = root / CPUINFO_IN_ROOT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(emulated_cpuinfo(os.cpu_count() or 1))
    return "/" + CPUINFO_IN_ROOT


class EmulationError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Architecture:
    debian: str
    """Debian's name: arm64, armhf."""
    qemu: str
    """qemu's name: aarch64, arm."""

    @property
    def binfmt_entry(self) -> Path:
        return BINFMT / f"qemu-{self.qemu}"


ARM64 = Architecture("arm64", "aarch64")


def ensure_registered(architecture: Architecture) -> str:
    """Make this kernel run ``architecture``'s programs through qemu; says what it found or did."""
    if not (BINFMT / "register").exists():
        mounted = subprocess.run(
            ["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)],
            check=False,
            capture_output=True,
            text=True,
        )
        if mounted.returncode != 0:
            raise EmulationError(f"cannot mount binfmt_misc on {BINFMT}: {mounted.stderr.strip()}")
    entry = architecture.binfmt_entry
    if not entry.exists():
        config = BINFMT_CONFIGS / f"qemu-{architecture.qemu}.conf"
        if not config.is_file():
            raise EmulationError(f"{config} is missing: install Debian's qemu-user-static (make arm64-tools)")
        (BINFMT / "register").write_text(config.read_text().strip())
        done = "registered"
    else:
        done = "already registered"
    fields = dict(line.split(" ", 1) for line in entry.read_text().splitlines()[1:] if " " in line)
    if not entry.read_text().startswith("enabled"):
        raise EmulationError(f"{entry} is disabled: `echo 1 > {entry}` enables it")
    # F (fix binary): the kernel opens the interpreter now, so it need not exist inside the root file system.
    if "F" not in fields.get("flags:", ""):
        raise EmulationError(
            f"{entry} is registered without the F flag, so programs inside a root file system cannot reach "
            f"{fields.get('interpreter', 'the interpreter')}: `echo -1 > {entry}` removes it, and this check "
            "registers Debian's qemu-user-static entry"
        )
    return f"qemu-{architecture.qemu} {done} ({fields.get('interpreter', '?')}, flags {fields.get('flags:')})"
