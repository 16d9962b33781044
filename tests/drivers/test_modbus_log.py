"""What a misbehaving device puts in the agent's log: one line per event, in the driver's words, a few
lines per device however long it misbehaves; no frame dumps of pymodbus, no tracebacks."""

from __future__ import annotations

import logging

import pytest

from edge_agent.quality import Quality
from tests.support.waiting import eventually

from .modbus_peers import Tables, pymodbus_tcp
from .modbus_running import source, start, stop
from .rogue_modbus import rogue_server

POINTS = [
    {"name": "level", "kind": "input", "address": 3},
    {"name": "pressure", "kind": "holding", "address": 7},
]
HEALTHY_POINTS = [{"name": "healthy", "kind": "holding", "address": 0}]
CYCLES = 5
# Connected, down or wrong answer, answers again: whatever else happens is news for nobody.
MAX_LINES_PER_DEVICE = 4


@pytest.mark.parametrize(
    "mode",
    [
        "garbage",
        "wrong_tid",
        "truncated",
        "oversized",
        "wrong_function",
        "swapped_function",
        "more_values",
        "wrong_unit",
        "exception",
        "silent",
    ],
)
async def test_a_misbehaving_device_logs_a_few_one_line_reasons(
    mode: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The backoff only spaces out the faulty device's cycles: capped low, the cycles counted below and
    # the recovery come sooner, and the log has the same events to tell.
    monkeypatch.setattr("drivers.modbus.device.MAX_BACKOFF_S", 0.2)
    caplog.set_level(logging.INFO)
    async with rogue_server("good") as rogue, pymodbus_tcp({1: Tables()}) as healthy_port:
        faulty = source(
            {"name": "faulty", "host": "127.0.0.1", "port": rogue.port, "timeout": "100ms", "points": POINTS}
        )
        healthy = source({"name": "healthy", "host": "127.0.0.1", "port": healthy_port,
                          "points": HEALTHY_POINTS})  # fmt: skip
        faulty_store, faulty_task = await start(faulty)
        healthy_store, healthy_task = await start(healthy)
        try:
            await eventually(lambda: faulty_store.current("level").quality == Quality.Good, within=10)
            # Lines are counted from here: on a loaded machine the first connection may take a retry,
            # which is news of its own and not this misbehaviour's.
            first_good = len(caplog.records)
            rogue.mode = mode
            await eventually(lambda: faulty_store.current("level").quality.is_bad, within=10)
            (faulty_poller,), (healthy_poller,) = faulty.pollers, healthy.pollers
            cycles = faulty_poller.cycles
            await eventually(lambda: faulty_poller.cycles >= cycles + CYCLES, within=60)
            assert healthy_poller.cycles >= CYCLES
            rogue.mode = "good"
            await eventually(lambda: faulty_store.current("level").quality == Quality.Good, within=10)
        finally:
            await stop(faulty_task)
            await stop(healthy_task)
        assert healthy_store.current("healthy").quality == Quality.Good

    records = caplog.records
    shown = "\n".join(f"{r.name} {r.levelname}: {r.getMessage()}" for r in records)
    assert all("\n" not in record.getMessage() for record in records), shown
    assert all(record.exc_info is None and not record.exc_text for record in records), shown
    assert not [record for record in records if record.name.startswith("pymodbus")], shown
    assert not [record for record in records if record.name.startswith("asyncio")], shown
    for device in ("faulty", "healthy"):
        lines = [record for record in records[first_good:] if record.getMessage().startswith(device)]
        assert len(lines) <= MAX_LINES_PER_DEVICE, shown
    assert any(record.getMessage().startswith("faulty") for record in records), shown
