"""The agent on a Raspberry Pi's own architecture, emulated: `make arm64-check`.

Debian root file systems for arm64 (Raspberry Pi OS's base) made with debootstrap and run here under qemu's
user-mode emulation, through the kernel's binfmt_misc and systemd-nspawn: the agent installed the way the
README's Raspberry Pi section says, its demo read from this machine, a smoke subset of the tests, and an
image seeded by `edge-provision image` booting to a serving agent. Needs root, Debian's debootstrap,
qemu-user-static and systemd-container (`make arm64-tools`), and the Debian and PyPI registries.
"""
