"""The demo's own MQTT broker: a mosquitto on loopback, so that the demo shows Sparkplug B as well.

Only when mosquitto is installed; the demo must run on a machine without it too. The broker lives as long
as the demo does, listens on 127.0.0.1 only, keeps nothing on disk, and takes anyone: the demo is the one
place where the agent's loopback plaintext opt-in is switched on for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from edge_agent.config.sparkplug import SparkplugConfig

log = logging.getLogger(__name__)

GROUP_ID = "demo"
EDGE_NODE_ID = "pump-skid"
# Debian installs the broker in /usr/sbin, which a normal user's PATH often lacks.
_SBIN = "/usr/sbin:/usr/local/sbin"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


def find_mosquitto() -> str | None:
    """The mosquitto executable, on PATH or where Debian puts it; None when it is not installed."""
    return shutil.which("mosquitto") or shutil.which("mosquitto", path=_SBIN)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class DemoBroker:
    """mosquitto started by the demo in ``directory`` (its config, log and the edge node's outbox)."""

    def __init__(self, executable: str, directory: Path) -> None:
        self.executable = executable
        self.directory = directory
        self.port = _free_port()
        self.log_file = directory / "mosquitto.log"
        self.config_file = directory / "mosquitto.conf"
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _config(self) -> str:
        # Started as root, mosquitto would switch to the user `mosquitto`, who cannot read a private
        # temporary directory; naming the current user keeps it as it is (ignored for anyone else).
        user = pwd.getpwuid(os.geteuid()).pw_name
        return "\n".join(
            [
                f"user {user}",
                "persistence false",
                f"log_dest file {self.log_file}",
                f"listener {self.port} 127.0.0.1",
                "allow_anonymous true",
                "",
            ]
        )

    async def start(self) -> None:
        """Start mosquitto and return once it takes connections; OSError or RuntimeError if it does not."""
        self.config_file.write_text(self._config(), encoding="utf-8")
        self._process = await asyncio.create_subprocess_exec(
            self.executable,
            "-c",
            str(self.config_file),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own process group: Ctrl-C in the terminal reaches the demo, which then stops the
            # broker after the edge node has said goodbye, not before.
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not await asyncio.to_thread(_accepts, self.port):
            if self._process.returncode is not None:
                raise RuntimeError(f"mosquitto exited with {self._process.returncode} ({self._log_tail()})")
            if time.monotonic() > deadline:
                await self.stop()
                raise RuntimeError(f"mosquitto did not listen within {START_TIMEOUT_S:g} s")
            await asyncio.sleep(0.05)

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1] if lines else "no log"

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()

    def sparkplug_config(self) -> SparkplugConfig:
        """The demo's `sparkplug:` section: this broker, plaintext on loopback, commands on."""
        data: dict[str, Any] = {
            "brokers": [self.url],
            "group_id": GROUP_ID,
            "edge_node_id": EDGE_NODE_ID,
            "commands": True,
            "store_and_forward": {"database": str(self.directory / "sparkplug-outbox.sqlite")},
            "insecure": {"plaintext": True},
        }
        return SparkplugConfig.model_validate(data)


async def start_demo_broker(directory: Path) -> DemoBroker | None:
    """A started broker in ``directory``, or None (with a warning) when mosquitto fails to start."""
    executable = find_mosquitto()
    if executable is None:
        return None
    broker = DemoBroker(executable, directory)
    try:
        await broker.start()
    except (OSError, RuntimeError) as error:
        log.warning("the demo's mosquitto did not start, Sparkplug B is off: %s", error)
        with contextlib.suppress(OSError):
            await broker.stop()
        return None
    return broker


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the broker's process before it runs: end it when the demo ends, however the demo ends.

    Its own session keeps Ctrl-C away from it, so a demo killed outright (kill -9, a closed terminal's
    SIGHUP) would leave it running for ever; Linux's parent-death signal ends it then. Elsewhere the demo's
    own stop is all there is.
    """
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
