"""`edge-agent install-service`: put the service's files in place, idempotently.

It installs the unit, the sysusers.d and tmpfiles.d snippets, a default config when there is none (a
config is never overwritten) and the directories with their modes. On a running system it then has
systemd pick them up (daemon-reload, systemd-sysusers, systemd-tmpfiles); into an image (--root) or
without systemd, it says what to run instead. A second run finds nothing to do and says so.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from edge_agent.identity.layout import write_atomically

SERVICE = "edge-agent"
USER = "edge-agent"
CONFIG = Path("/etc/edge-agent/config.yaml")
UNIT = Path("/etc/systemd/system/edge-agent.service")
SYSUSERS = Path("/etc/sysusers.d/edge-agent.conf")
TMPFILES = Path("/etc/tmpfiles.d/edge-agent.conf")
# Where each snippet goes, and the name it ships under (in the package, and beside a unit given instead).
SNIPPETS = ((SYSUSERS, "edge-agent.sysusers.conf"), (TMPFILES, "edge-agent.tmpfiles.conf"))
FILE_MODE = 0o644
CONFIG_MODE = 0o640
# (directory, mode, owned by the service's user): the same as the tmpfiles.d snippet says.
DIRECTORIES = (
    (Path("/etc/edge-agent"), 0o755, False),
    (Path("/var/lib/edge-agent"), 0o750, True),
    (Path("/var/lib/edge-agent/pki"), 0o700, True),
    (Path("/var/log/edge-agent"), 0o750, True),
)
# Where ProtectHome=yes hides files from the service: an agent installed there cannot start.
HIDDEN_FROM_SERVICE = (Path("/home"), Path("/root"), Path("/run/user"))


def bundled(name: str) -> bytes:
    """One of the service files shipped with the package (edge-agent.service, config.yaml, ...)."""
    return resources.files("edge_agent.service").joinpath(name).read_bytes()


def exec_start_command() -> list[str]:
    """How systemd starts this installation of the agent: its `edge-agent` script, else its Python."""
    script = Path(sys.executable).parent / "edge-agent"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "edge_agent"]


def render_unit(command: list[str], config: Path = CONFIG) -> bytes:
    """The bundled unit with ExecStart running ``command`` on ``config``."""
    exec_start = f"ExecStart={shlex.join([*command, 'run', str(config)])}"
    lines = bundled("edge-agent.service").decode().split("\n")
    (index,) = [i for i, line in enumerate(lines) if line.startswith("ExecStart=")]
    lines[index] = exec_start
    return "\n".join(lines).encode()


def service_files(command: list[str]) -> dict[Path, bytes]:
    """Where the unit (starting ``command``) and the sysusers.d and tmpfiles.d snippets go, with their
    content: what `install-service` writes and `edge-provision image` seeds an image with."""
    return {UNIT: render_unit(command)} | {path: bundled(name) for path, name in SNIPPETS}


def hidden_from_service(program: Path) -> Path | None:
    """The directory that hides ``program`` from the service (so that it cannot start), if one does."""
    return next((hidden for hidden in HIDDEN_FROM_SERVICE if program.is_relative_to(hidden)), None)


@dataclass(frozen=True)
class Step:
    """One thing to make true on disk: ``verb`` says what it takes ("unchanged" when nothing)."""

    verb: str
    path: Path
    note: str = ""
    apply: Callable[[], None] | None = None

    @property
    def changes(self) -> bool:
        return self.apply is not None

    def line(self) -> str:
        return f"{self.verb:<9} {self.path}" + (f" ({self.note})" if self.note else "")


class Installer:
    """The steps that install the service under ``root`` ("/" for this machine)."""

    def __init__(self, root: Path, *, command: list[str], config: Path | None = None) -> None:
        self.root = root
        self.command = command
        self.config = config
        self.owner = _lookup(root / "etc/passwd", USER), _lookup(root / "etc/group", USER)

    def at(self, path: Path) -> Path:
        return self.root / path.relative_to("/")

    @property
    def user_exists(self) -> bool:
        return self.owner[0] is not None and self.owner[1] is not None

    def steps(self) -> list[Step]:
        steps = [self._directory(path, mode, owned) for path, mode, owned in DIRECTORIES]
        for path, content in service_files(self.command).items():
            steps.append(self._file(path, content, FILE_MODE))
        steps.append(self._config())
        return steps

    def _directory(self, path: Path, mode: int, owned: bool) -> Step:
        target = self.at(path)
        uid, gid = self.owner if owned else (None, None)
        who = USER if owned else "root"
        note = f"{mode:04o}, {who}" + ("" if uid is not None or not owned else " once it exists")
        if not target.is_dir():

            def create() -> None:
                target.mkdir(parents=True, exist_ok=True)
                _set_mode_and_owner(target, mode, uid, gid)

            return Step("create", target, note, create)
        found = target.stat()
        if (found.st_mode & 0o7777) == mode and (uid is None or (found.st_uid, found.st_gid) == (uid, gid)):
            return Step("unchanged", target, note)
        return Step("fix", target, note, lambda: _set_mode_and_owner(target, mode, uid, gid))

    def _file(self, path: Path, content: bytes, mode: int, gid: int | None = None) -> Step:
        target = self.at(path)
        note = f"{mode:04o}"

        def write() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(target, content, mode)
            if gid is not None:
                _set_mode_and_owner(target, mode, None, gid)

        if not target.is_file():
            return Step("write", target, note, write)
        if target.read_bytes() != content or (target.stat().st_mode & 0o7777) != mode:
            return Step("update", target, note, write)
        return Step("unchanged", target, note)

    def _config(self) -> Step:
        target = self.at(CONFIG)
        if target.exists():
            note = "a config is never overwritten"
            if self.config is not None and target.read_bytes() != self.config.read_bytes():
                note += f"; to use {self.config} instead, copy it there yourself"
            return Step("keep", target, note)
        content = self.config.read_bytes() if self.config is not None else bundled("config.yaml")
        step = self._file(CONFIG, content, CONFIG_MODE, gid=self.owner[1])
        source = str(self.config) if self.config is not None else "the default config: edit it"
        return Step(step.verb, step.path, f"{step.note}, {source}", step.apply)

    def commands(self, steps: list[Step]) -> list[list[str]]:
        """What systemd must do to take up the steps' changes (nothing if nothing changed)."""
        changed = {step.path for step in steps if step.changes}
        commands = []
        if self.at(UNIT) in changed:
            commands.append(["systemctl", "daemon-reload"])
        if self.at(SYSUSERS) in changed or not self.user_exists:
            commands.append(["systemd-sysusers", str(SYSUSERS)])
        if changed - {self.at(UNIT), self.at(SYSUSERS)} or not self.user_exists:
            commands.append(["systemd-tmpfiles", "--create", str(TMPFILES)])
        return commands


def systemd_is_running() -> bool:
    """Whether this machine was booted with systemd (sd_booted(3))."""
    return Path("/run/systemd/system").is_dir()


def install_service(
    *,
    root: Path | None = None,
    dry_run: bool = False,
    config: Path | None = None,
    command: list[str] | None = None,
    say: Callable[[str], None] = print,
    run: Callable[[list[str]], None] | None = None,
) -> None:
    """Install (or with ``dry_run`` only list) everything the service needs; see the module's doc."""
    installer = Installer(root or Path("/"), command=command or exec_start_command(), config=config)
    steps = installer.steps()
    say("dry run: nothing is changed; installing would do this:" if dry_run else "installing edge-agent:")
    for step in steps:
        say(f"  {step.line()}")
        if step.apply is not None and not dry_run:
            step.apply()
    _warn_if_hidden(installer.command, say)
    commands = installer.commands(steps)
    if not any(step.changes for step in steps):
        say("nothing to change: the edge-agent service is installed")
    if root is not None:
        if commands:
            say("the target creates the user and fixes the owners at its first boot; or, now:")
            say(f"  systemd-sysusers --root={shlex.quote(str(root))}")
            say(f"  systemd-tmpfiles --create --root={shlex.quote(str(root))}")
    elif commands and (dry_run or not systemd_is_running()):
        say("then systemd needs:" if dry_run else "systemd is not running here; once it is, run:")
        for needed in commands:
            say(f"  {shlex.join(needed)}")
    else:
        for needed in commands:
            say(f"  run       {shlex.join(needed)}")
            (run or _run)(needed)
    if any(step.changes for step in steps) or commands:
        say(f"to start it now and at every boot: systemctl enable --now {SERVICE}")


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True)


def _warn_if_hidden(command: list[str], say: Callable[[str], None]) -> None:
    program = Path(command[0])
    if hidden_from_service(program) is not None:
        say(
            f"warning: the service cannot start {program}: ProtectHome=yes hides "
            f"{program.parents[-2]} from it. Install edge-agent outside home directories "
            "(python3 -m venv /opt/edge-agent, or pipx install --global) and run install-service from there."
        )


def _lookup(database: Path, name: str) -> int | None:
    """The numeric id of ``name`` in a passwd or group file (its third field); None if it is not there."""
    try:
        lines = database.read_text().splitlines()
    except FileNotFoundError:
        return None
    for line in lines:
        parts = line.split(":")
        if len(parts) > 2 and parts[0] == name and parts[2].isdigit():
            return int(parts[2])
    return None


def _set_mode_and_owner(path: Path, mode: int, uid: int | None, gid: int | None) -> None:
    if uid is not None or gid is not None:
        os.chown(path, -1 if uid is None else uid, -1 if gid is None else gid)
    os.chmod(path, mode)  # after chown, which may clear set-id bits; and not filtered by the umask
