"""Starting the real `edge-agent` command in a subprocess and waiting for it to serve."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.support.ports import free_port

SERVING = re.compile(r"serving OPC UA at (opc\.tcp://\S+)")
PUMP = re.compile(r"simulated pump: Modbus TCP 127\.0\.0\.1:(\d+)")


class AgentProcess:
    """The agent as a user runs it: a child process, its stdout read line by line, stderr to a file."""

    def __init__(self, args: list[str], log_file: Path) -> None:
        self.log_file = log_file
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._stderr = log_file.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "edge_agent", *args],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            text=True,
        )
        self.stdout_lines: list[str] = []
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.stdout_lines.append(line)

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float = 30.0) -> re.Match[str]:
        """The first stdout line matching ``pattern``, waiting for it to be printed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.stdout_lines):
                if match := pattern.search(line):
                    return match
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern.pattern!r}; stderr:\n{self.log()}")

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def send(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    def stop(self, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)
        self._stderr.close()
        return self.process.returncode


def wait_for_log(process: AgentProcess, pattern: str, *, after: int = 0, timeout: float = 30.0) -> str:
    """Wait until the agent's log, past character ``after``, matches ``pattern``; returns that part."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = process.log()[after:]
        if re.search(pattern, text):
            return text
        if process.process.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"log never matched {pattern!r}:\n{process.log()[after:]}")


def demo_arguments(state_dir: str) -> list[str]:
    """`edge-agent demo`'s arguments on free ports (OPC UA, the pump, the HTTP API: the README's defaults may
    be taken), keeping its state in ``state_dir``."""
    return [
        "demo",
        "--endpoint",
        f"opc.tcp://127.0.0.1:{free_port()}",
        "--modbus-port",
        "0",
        "--aas-api-port",
        "0",
        "--state-dir",
        state_dir,
    ]


def demo_process(state: Path, *options: str) -> AgentProcess:
    """`edge-agent demo` as a user starts it (demo_arguments), keeping its state and log in ``state``;
    ``options`` are added."""
    return AgentProcess([*demo_arguments(str(state)), *options], state / "agent.log")
