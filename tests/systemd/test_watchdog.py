"""The systemd watchdog is fed while the agent works, and starves when its loop, a poller or a model hangs."""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import drivers.modbus.device
from drivers.modbus.device import MAX_BACKOFF_S
from edge_agent.agent_config import load_config
from edge_agent.runtime import health
from edge_agent.runtime.agent import AgentRuntime
from edge_agent.runtime.health import RETRY_PAUSE_MAX_S, HealthCheck
from edge_agent.runtime.systemd_notify import Notifier, SystemdService
from tests.support.ports import free_port
from tests.support.waiting import eventually

from .notify_socket import NotifySocket, has

SLOW_MODEL = Path(__file__).resolve().parent.parent / "inference" / "slow.tflite"  # ~100 ms an invocation
PING_EVERY_S = 0.05
NOT_FED = "not feeding the systemd watchdog"

# A Modbus device that is not there (nothing listens on its port), a simulated GPIO counter, and a model
# slower than its period (it always overruns, and still finishes invocations) over that counter.
CONFIG = """\
asset:
  id: urn:example:aas:watchdog-test
  global_asset_id: urn:example:asset:watchdog-test
opcua:
  endpoint: opc.tcp://127.0.0.1:{opcua_port}
  pki: {pki}
  insecure: {{none_policy: true, anonymous_read: true}}
sources:
  - name: plc
    driver: modbus
    host: 127.0.0.1
    port: {modbus_port}
    poll: 100ms
    timeout: 100ms
    retries: 0
    points:
      - {{name: temperature, kind: input, address: 0, type: uint16}}
  - name: panel
    driver: gpio
    pin_factory: mock
    points:
      - {{name: pulses, kind: counter, pin: GPIO5}}
models:
  - name: slow
    file: {model}
    every: 50ms
    inputs: {{tags: [pulses]}}
    outputs: [{{name: y}}]
"""


def service_for(notify: NotifySocket, check: HealthCheck | None = None) -> SystemdService:
    return SystemdService(
        Notifier(notify.address), watchdog_every=PING_EVERY_S, health=check, status_every=0.1
    )


def pings(notify: NotifySocket, after: int = 0) -> int:
    return sum(1 for message in notify.received()[after:] if message.get("WATCHDOG") == "1")


@pytest.fixture
def notify() -> AsyncIterator[NotifySocket]:
    receiver = NotifySocket()
    yield receiver  # type: ignore[misc]
    receiver.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pki")  # the device's key is made once for all these tests


@pytest.fixture
async def runtime(tmp_path: Path, pki: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AgentRuntime]:
    # The device's retries pause at most half a second, and the health check knows it: the same rule as
    # in production (5 s), on a time scale a test can wait for.
    monkeypatch.setattr(drivers.modbus.device, "MAX_BACKOFF_S", 0.5)
    monkeypatch.setattr(health, "RETRY_PAUSE_MAX_S", 0.6)
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        CONFIG.format(opcua_port=free_port(), modbus_port=free_port(), model=SLOW_MODEL, pki=pki),
        encoding="utf-8",
    )
    running = AgentRuntime(load_config(config_file))
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def watched(runtime: AgentRuntime, notify: NotifySocket) -> AsyncIterator[SystemdService]:
    # Stuck means: no progress for twice the longest cycle, and for two seconds at least (not a minute).
    service = service_for(notify, HealthCheck(stall_min_s=2, stall_cycles=2))
    service.ready(runtime)
    task = asyncio.create_task(service.watch())
    yield service
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_blocked_event_loop_sends_no_pings_until_it_runs_again(notify: NotifySocket) -> None:
    task = asyncio.create_task(service_for(notify).watch())
    await eventually(lambda: pings(notify) >= 2)
    marker = Notifier(notify.address)

    def block_the_loop() -> None:
        marker.send(STALL="begin")
        time.sleep(1.0)
        marker.send(STALL="end")

    asyncio.get_running_loop().call_soon(block_the_loop)
    await eventually(lambda: any(m.get("STALL") == "end" for m in notify.received()))
    end = notify.wait_for(has("STALL", "end"), timeout=1)
    await eventually(lambda: pings(notify, after=end) >= 2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    begin = notify.wait_for(has("STALL", "begin"), timeout=1)
    assert pings(notify, after=begin) - pings(notify, after=end) == 0


async def test_a_blocked_event_loop_is_logged_once_it_runs_again(
    notify: NotifySocket, caplog: pytest.LogCaptureFixture
) -> None:
    task = asyncio.create_task(service_for(notify).watch())
    await eventually(lambda: pings(notify) >= 1)
    asyncio.get_running_loop().call_soon(time.sleep, 1.5)
    await eventually(lambda: "event loop was blocked" in caplog.text)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_device_that_is_down_keeps_the_watchdog_fed(
    runtime: AgentRuntime, watched: SystemdService, notify: NotifySocket, caplog: pytest.LogCaptureFixture
) -> None:
    (poller,) = runtime.sources[0].pollers  # type: ignore[attr-defined]
    # Long enough for the retries to reach their longest pause, several times over.
    await eventually(lambda: poller.failures >= 12, within=15)
    assert poller.failures == poller.cycles  # it never answered
    assert NOT_FED not in caplog.text
    latest = len(notify.received())
    await eventually(lambda: pings(notify, after=latest) >= 1)


async def test_a_poller_that_hangs_starves_the_watchdog(
    runtime: AgentRuntime, watched: SystemdService, notify: NotifySocket, caplog: pytest.LogCaptureFixture
) -> None:
    source = runtime.sources[0]
    caplog.set_level(logging.ERROR, logger="edge_agent.runtime.systemd_notify")

    async def never_answers(*_args: object, **_kwargs: object) -> None:
        await asyncio.Event().wait()  # a request whose answer got lost, with no timeout to end it

    source.link.transact = never_answers  # type: ignore[attr-defined]
    await eventually(lambda: NOT_FED in caplog.text, within=10)
    assert "source plc unit 1 has finished no poll cycle" in caplog.text
    latest = len(notify.received())
    await asyncio.sleep(10 * PING_EVERY_S)
    assert pings(notify, after=latest) == 0


async def test_a_model_slower_than_its_period_keeps_the_watchdog_fed(
    runtime: AgentRuntime, watched: SystemdService, notify: NotifySocket, caplog: pytest.LogCaptureFixture
) -> None:
    (model,) = runtime.pipelines
    await eventually(lambda: model.invocations >= 10 and model.overruns >= 10, within=15)
    assert NOT_FED not in caplog.text
    latest = len(notify.received())
    await eventually(lambda: pings(notify, after=latest) >= 1)


async def test_a_model_whose_inference_hangs_starves_the_watchdog(
    runtime: AgentRuntime, watched: SystemdService, notify: NotifySocket, caplog: pytest.LogCaptureFixture
) -> None:
    (model,) = runtime.pipelines
    await eventually(lambda: model.invocations >= 1, within=10)
    assert model.model is not None
    released = threading.Event()

    def never_returns() -> list[object]:
        released.wait()
        raise RuntimeError("released at the end of the test")

    model.model.run = never_returns  # type: ignore[method-assign]
    try:
        await eventually(lambda: NOT_FED in caplog.text, within=10)
        assert "model slow has finished no invocation" in caplog.text
    finally:
        released.set()


async def test_the_status_line_follows_the_agent_and_is_sent_when_it_changes(
    runtime: AgentRuntime, watched: SystemdService, notify: NotifySocket
) -> None:
    def statuses() -> list[str]:
        return [m["STATUS"] for m in notify.received() if "STATUS" in m]

    await eventually(lambda: bool(statuses()) and statuses()[-1].endswith(", 1 model, 1 sources down"))
    await asyncio.sleep(0.5)  # five more chances to send the same line again
    sent = statuses()
    assert all(line != previous for previous, line in itertools.pairwise(sent)), sent


def test_the_health_check_knows_the_longest_pause_between_retries() -> None:
    assert RETRY_PAUSE_MAX_S >= MAX_BACKOFF_S * 1.2  # the poller's backoff cap and its jitter
