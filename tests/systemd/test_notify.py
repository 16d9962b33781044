"""`edge-agent run` started by systemd (Type=notify, WatchdogSec=): what it tells the service manager."""

from __future__ import annotations

import re
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.runtime.systemd_notify import monotonic_usec
from tests.support.agent_process import AgentProcess
from tests.support.ports import free_port

from .notify_socket import Message, NotifySocket, has
from .service import CONFIG

WATCHDOG_USEC = 400_000  # pings every 0.2 s


def accepts_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


class Agent:
    def __init__(self, process: AgentProcess, notify: NotifySocket, port: int) -> None:
        self.process, self.notify, self.port = process, notify, port
        self.listening_at_ready: list[bool] = []


@pytest.fixture
def agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Agent]:
    port = free_port()
    listening_at_ready: list[bool] = []

    def on_message(message: Message) -> None:
        if message.get("READY") == "1":  # checked the moment READY=1 arrives
            listening_at_ready.append(accepts_connections(port))

    notify = NotifySocket(on_message=on_message)
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(port=port, pki=tmp_path / "pki"))
    monkeypatch.setenv("NOTIFY_SOCKET", notify.address)
    monkeypatch.setenv("WATCHDOG_USEC", str(WATCHDOG_USEC))
    process = AgentProcess(["run", str(config)], tmp_path / "agent.log")
    running = Agent(process, notify, port)
    running.listening_at_ready = listening_at_ready
    yield running
    process.stop()
    notify.close()


def test_ready_arrives_once_the_opc_ua_port_accepts_connections(agent: Agent) -> None:
    agent.notify.wait_for(has("READY", "1"))
    assert agent.listening_at_ready == [True]


def test_the_status_line_says_what_is_served(agent: Agent) -> None:
    index = agent.notify.wait_for(has("READY", "1"))
    status = agent.notify.received()[index]["STATUS"]
    assert re.fullmatch(r"serving \d+ tags, 0 models, 0 sources down", status), status


def test_watchdog_pings_keep_coming_while_the_agent_runs(agent: Agent) -> None:
    ready = agent.notify.wait_for(has("READY", "1"))
    first = agent.notify.wait_for(has("WATCHDOG", "1"), after=ready + 1)
    for _ in range(5):
        first = agent.notify.wait_for(has("WATCHDOG", "1"), after=first + 1, timeout=5)


def test_sighup_reports_reloading_then_ready(agent: Agent) -> None:
    ready = agent.notify.wait_for(has("READY", "1"))
    before = monotonic_usec()
    agent.process.send(signal.SIGHUP)
    reloading = agent.notify.wait_for(has("RELOADING", "1"), after=ready + 1)
    assert int(agent.notify.received()[reloading]["MONOTONIC_USEC"]) >= before
    agent.notify.wait_for(has("READY", "1"), after=reloading + 1)


def test_sigterm_reports_stopping(agent: Agent) -> None:
    ready = agent.notify.wait_for(has("READY", "1"))
    agent.process.send(signal.SIGTERM)
    agent.notify.wait_for(has("STOPPING", "1"), after=ready + 1)
    assert agent.process.process.wait(timeout=15) == 0
